// The op table: per registered op (ops.def) its check, scratch size, forward and
// backward, all in ops.c. The engine only loops over a plan's ops and calls these.
#ifndef PTC_OPS_H
#define PTC_OPS_H

#include <limits.h>

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

// Every op's four adapters, declared from the registry: ptc_op_<name>_check, _scratch,
// _forward and _backward. Each family file (dense.c, conv.c, merge.c, ...) defines
// those of its ops next to their kernels; the table in ops.c fails to link without them.
#define PTC_OP_DECLS(ID, name, MIN_IN, MAX_IN)                                                          \
    ptc_status ptc_op_##name##_check(const ptc_plan *p, const ptc_op *op, int64_t need[PTC_MAX_PARAM]); \
    int64_t ptc_op_##name##_scratch(const ptc_plan *p, const ptc_op *op, int64_t N);                    \
    void ptc_op_##name##_forward(ptc_plan *p, int i, int64_t N, int training);                          \
    void ptc_op_##name##_backward(ptc_plan *p, int i, int64_t N);
PTC_OPS(PTC_OP_DECLS)
#undef PTC_OP_DECLS

// The generator a recurrent op with dropout draws from (rnn.c), or -1 (another op, no dropout).
int64_t ptc_rnn_op_rng(const ptc_op *op);

// An op that needs no workspace.
#define PTC_OP_NO_SCRATCH(name)                                                       \
    int64_t ptc_op_##name##_scratch(const ptc_plan *p, const ptc_op *op, int64_t N) { \
        (void)p, (void)op, (void)N;                                                   \
        return 0;                                                                     \
    }
// An op whose check is a shared one (ops with the same arguments).
#define PTC_OP_CHECK_AS(name, shared)                                                                    \
    ptc_status ptc_op_##name##_check(const ptc_plan *p, const ptc_op *op, int64_t need[PTC_MAX_PARAM]) { \
        return shared(p, op, need);                                                                      \
    }

// Helpers the adapters share: buffer b of the activations or their gradients,
// parameter k of an op (NULL when absent) and its gradient, op i's workspace.
static inline float *ptc_plan_act(const ptc_plan *p, int b) {
    return p->act_at[b];
}
static inline float *ptc_plan_dact(const ptc_plan *p, int b) {
    return p->dacts + p->buf_off[b];
}
static inline const float *ptc_plan_param(const ptc_plan *p, const ptc_op *op, int k) {
    return op->param[k] >= 0 ? p->params + op->param[k] : NULL;
}
static inline float *ptc_plan_grad(const ptc_plan *p, const ptc_op *op, int k) {
    return op->param[k] >= 0 ? p->grads + op->param[k] : NULL;
}
static inline float *ptc_plan_scratch(const ptc_plan *p, int i) {
    return p->scratch + p->scratch_off[i];
}
static inline int64_t ptc_op_in_size(const ptc_plan *p, const ptc_op *op, int k) {
    return p->buf_size[op->in[k]];
}
static inline int64_t ptc_op_out_size(const ptc_plan *p, const ptc_op *op) {
    return p->buf_size[op->out];
}
// Gradient of input k, or NULL for a model input (nothing upstream needs it).
static inline float *ptc_op_din(const ptc_plan *p, const ptc_op *op, int k) {
    for (int i = 0; i < p->n_inputs; i++)
        if (op->in[k] == p->inputs[i]) return NULL;
    return ptc_plan_dact(p, op->in[k]);
}
// Pointers to the inputs' activations and (NULL for the model input) their gradients.
static inline void ptc_op_gather_ins(const ptc_plan *p, const ptc_op *op, const float **ins, float **dins) {
    for (int k = 0; k < op->n_in; k++) {
        if (ins) ins[k] = ptc_plan_act(p, op->in[k]);
        if (dins) dins[k] = ptc_op_din(p, op, k);
    }
}
// a * b into *r unless it overflows int64 (a, b >= 0); 0 on overflow.
static inline int ptc_mul_ok(int64_t a, int64_t b, int64_t *r) {
    if (a < 0 || b < 0 || (a != 0 && b > INT64_MAX / a)) return 0;
    *r = a * b;
    return 1;
}

// A head's block of gathered targets; of gathered sample weights (NULL without sample weights);
// of masked row weights (heads.c), in wbatch's second half.
static inline float *ptc_head_y(const ptc_plan *p, const ptc_head *hd) {
    return p->ybatch + p->max_batch * hd->y_off;
}
static inline float *ptc_head_w(const ptc_plan *p, const ptc_head *hd) {
    return p->sample_weight ? p->wbatch + p->max_batch * hd->r_off : NULL;
}
static inline float *ptc_head_mw(const ptc_plan *p, const ptc_head *hd) {
    return p->wbatch + p->w_cap / 2 + p->max_batch * hd->r_off;
}
// Lays the heads' targets, row weights and sum slots out again (engine.c).
void ptc_plan_layout(ptc_plan *p);
// Room in ybatch and wbatch for the current heads (engine.c); PTC_ERR_SIZE or PTC_ERR_NOMEM.
ptc_status ptc_plan_grow_rows(ptc_plan *p);
// A buffer no op writes and no model input (engine.c): the engine alone fills it.
int ptc_plan_engine_owned(const ptc_plan *p, int b);
// Each head's loss and metrics of a batch of N into sums; when train, the gradient of
// sum_h weight_h * loss_h into the heads' loss buffers' gradients (heads.c).
ptc_status ptc_plan_heads_loss(ptc_plan *p, int64_t N, int train, double *sums);

#endif  // PTC_OPS_H
