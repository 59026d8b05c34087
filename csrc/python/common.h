// Shared by the binding's files (csrc/python/), the only code that includes
// Python.h: array checks, status-to-exception mapping and Ctrl-C handling.
#ifndef PTC_PY_COMMON_H
#define PTC_PY_COMMON_H

#define PY_SSIZE_T_CLEAN
#include <Python.h>
#define NPY_NO_DEPRECATED_API NPY_1_7_API_VERSION
// One NumPy C-API table for the whole extension, imported in module.c.
#define PY_ARRAY_UNIQUE_SYMBOL ptc_py_ARRAY_API
#ifndef PTC_PY_MODULE
#define NO_IMPORT_ARRAY
#endif
#include <numpy/arrayobject.h>

#include <limits.h>
#include <stdint.h>

#include "../ptc.h"

// A borrowed PyArrayObject* if obj is an ndarray of the given dtype and ndim,
// C-contiguous and aligned (and writeable when asked); NULL with an exception set.
PyArrayObject *ptc_py_check_array(PyObject *obj, int typenum, int ndim, int writeable, const char *name);
int ptc_py_rng_is_zero(const uint64_t *s);
// 0 for PTC_OK; else sets the status's own exception (what names the call) and returns -1.
int ptc_py_raise_status(ptc_status st, const char *what);
// With PTC_ERR_OP, names the plan's malformed op.
int ptc_py_raise_plan_status(ptc_status st, const ptc_plan *plan, const char *what);

// Ctrl-C while the GIL is released (see common.c): each engine call owns one
// stop token, passed to the engine as &token. ptc_py_stop_begin(stop, 1)
// registers it with the SIGINT handler when no other call holds the handler
// (Python code passes interruptible=1 from the main thread only); returns -1
// with KeyboardInterrupt set for a Ctrl-C that is already pending.
typedef struct {
    volatile int token;
    int watching;
} ptc_py_stop;
int ptc_py_stop_begin(ptc_py_stop *stop, int interruptible);
void ptc_py_stop_end(ptc_py_stop *stop);

extern PyTypeObject ptc_py_PlanType;
// Shared by the Plan and the single-kernel entry points (plan.c): 0, or -1 with an exception.
int ptc_py_parse_optimizer(ptc_optimizer *o, int kind, PyObject *ho, PyObject *mo, PyObject *vo, PyObject *uo,
                           PyObject *eo, PyObject *ao, PyObject *io, PyObject *so, npy_intp P);
int ptc_py_parse_schedule(ptc_schedule *s, int kind, PyObject *po, PyObject *to);
// Sample weights: None, or float32 (n,) finite and >= 0.
int ptc_py_check_weights(PyObject *wo, npy_intp n, const float **w);
// Method tables each file contributes to the module (module.c adds them all).
extern PyMethodDef ptc_py_rng_methods[];
extern PyMethodDef ptc_py_kernel_methods[];
extern PyMethodDef ptc_py_kernel2d_methods[];
extern PyMethodDef ptc_py_op_methods[];
extern PyMethodDef ptc_py_kernel_seq_methods[];  // kernels_seq.c: recurrent kernels
extern PyMethodDef ptc_py_constraint_methods[];  // constraints.c: weight constraints
// constraints.c: the rows of a constraint table as a PyMem array of *n, or NULL with an exception.
ptc_constraint *ptc_py_parse_constraints(PyObject *rows, PyObject *values, npy_intp *n);
// Adds _C.OPS, _C.ACTIVATIONS, ... (registry.c).
int ptc_py_add_registry(PyObject *module);

#endif  // PTC_PY_COMMON_H
