// The Plan type's object (plan.c) and its pass-argument checks (plan_args.c).
#ifndef PTC_PY_PLAN_H
#define PTC_PY_PLAN_H

#include "common.h"

typedef struct {
    PyObject_HEAD ptc_plan plan;
    int ready;
    int busy;  // a call is running without the GIL
    PyObject *params, *grads, *m, *v, *u, *iterations, *slices, *sched_table, *ema, *acc,
        *rngs;  // arrays whose memory the plan uses
} PlanObject;

// x (n, in size) float32 and, if yo is not NULL, y (n, y_size) float32; -1 with an exception.
int ptc_py_plan_check_data(PlanObject *self, PyObject *xo, PyObject *yo, PyArrayObject **x, PyArrayObject **y);
// A new float64 (n_sums,) array of zeros.
PyObject *ptc_py_plan_new_sums(const PlanObject *self);
// The caller's sums array (a new reference), or new zeros when so is NULL or None.
PyObject *ptc_py_plan_caller_sums(const PlanObject *self, PyObject *so);
// A pass's sample weights (None, (n,), (n, heads) or (n, rows)); sets plan.w_cols and w_rows.
int ptc_py_plan_weights(PlanObject *self, PyObject *wo, npy_intp n, const float **w);
// 0 if batch_size fits the reserved workspaces, else -1 with a ValueError.
int ptc_py_plan_check_batch_size(const PlanObject *self, long long batch_size);

#endif
