// The op table: per registered op (ops.def) its check, scratch size, forward and
// backward, all in ops.c. The engine only loops over a plan's ops and calls these.
#ifndef PTC_OPS_H
#define PTC_OPS_H

#include "ptc.h"

// PTC_OK, or PTC_ERR_OP when the op does not fit the plan's buffers. need[k] is set
// to the floats parameter k spans (0: unused), which the caller bounds-checks.
typedef ptc_status (*ptc_op_check_fn)(const ptc_plan *p, const ptc_op *op, int64_t need[PTC_MAX_PARAM]);
// Floats of workspace the op needs for a batch of N samples, or -1 when its kernels
// cannot index N samples (sgemm's int sizes, addressable buffers).
typedef int64_t (*ptc_op_scratch_fn)(const ptc_plan *p, const ptc_op *op, int64_t N);
// Op i of the plan on a batch of N samples.
typedef void (*ptc_op_forward_fn)(ptc_plan *p, int i, int64_t N, int training);
typedef void (*ptc_op_backward_fn)(ptc_plan *p, int i, int64_t N);

typedef struct {
    const char *name;  // lower case, as Python names it
    int min_in, max_in;
    int n_params, n_iargs, n_fargs;
    const char *const *param_names;  // upper case, as ops.def spells them
    const char *const *iarg_names;
    const char *const *farg_names;
    ptc_op_check_fn check;
    ptc_op_scratch_fn scratch;
    ptc_op_forward_fn forward;
    ptc_op_backward_fn backward;
} ptc_op_info;

// Indexed by ptc_op_kind; entry 0 (no op) is all NULL.
extern const ptc_op_info ptc_op_table[PTC_OP_COUNT];

// Helpers the adapters share: buffer b of the activations or their gradients,
// parameter k of an op (NULL when absent) and its gradient, op i's workspace.
static inline float *ptc_plan_act(const ptc_plan *p, int b) { return p->acts + p->buf_off[b]; }
static inline float *ptc_plan_dact(const ptc_plan *p, int b) { return p->dacts + p->buf_off[b]; }
static inline const float *ptc_plan_param(const ptc_plan *p, const ptc_op *op, int k) {
    return op->param[k] >= 0 ? p->params + op->param[k] : NULL;
}
static inline float *ptc_plan_grad(const ptc_plan *p, const ptc_op *op, int k) {
    return op->param[k] >= 0 ? p->grads + op->param[k] : NULL;
}
static inline float *ptc_plan_scratch(const ptc_plan *p, int i) { return p->scratch + p->scratch_off[i]; }

#endif  // PTC_OPS_H
