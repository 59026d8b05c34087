// Operands of the primitive ops (prim.c, prim_matmul.c, prim_index.c): an operand is a parameter (a weight
// or a hidden constant, no batch axis) or the next input of the op. Plain C11.
#ifndef PTC_PRIM_H
#define PTC_PRIM_H

#include "ops.h"

// Operand k of a binary/matmul/where op: its parameter (-1), or the index of its input (the
// operands that are not parameters come from the inputs, in order).
static inline int operand_input(const ptc_op *op, int k) {
    if (op->param[k] >= 0) return -1;
    int in = 0;
    for (int j = 0; j < k; j++) in += op->param[j] < 0;
    return in;
}

static inline int operands_fit(const ptc_op *op, int n_operands) {
    int n = 0;
    for (int k = 0; k < n_operands; k++) n += op->param[k] < 0;
    return n >= 1 && n == op->n_in;
}

static inline const float *operand(const ptc_plan *p, const ptc_op *op, int k) {
    const int in = operand_input(op, k);
    return in < 0 ? ptc_plan_param(p, op, k) : ptc_plan_act(p, op->in[in]);
}

static inline float *doperand(const ptc_plan *p, const ptc_op *op, int k) {
    const int in = operand_input(op, k);
    return in < 0 ? ptc_plan_grad(p, op, k) : ptc_op_din(p, op, in);
}

// PTC_OK if each of n operands has sizes[k] floats per sample; a parameter's size goes to need[k].
static inline ptc_status operand_sizes_fit(const ptc_plan *p, const ptc_op *op, const int64_t *sizes, int n,
                                           int64_t need[PTC_MAX_PARAM]) {
    for (int k = 0; k < n; k++) {
        const int in = operand_input(op, k);
        if (in < 0)
            need[k] = sizes[k];
        else if (ptc_op_in_size(p, op, in) != sizes[k])
            return PTC_ERR_OP;
    }
    return PTC_OK;
}

#endif  // PTC_PRIM_H
