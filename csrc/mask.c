// Keras's masks over sequences (keras/src/layers/core/masking.py, Embedding's mask_zero):
// a mask is a plan buffer of (T,) floats per sample, 1 for a step that counts and 0 for
// padding, produced by seq_mask and read by the ops that honour it (the recurrent ops,
// rnn.c; global average pooling, below). Masks carry no gradient.
#include <string.h>

#include "ptc.h"
#include "ops.h"

// Whether step x (C floats) is kept: any value differs from value (Keras's
// any(not_equal(x, mask_value), axis=-1)); a NaN differs from everything.
static int step_kept(const float *x, int64_t C, float value) {
    for (int64_t c = 0; c < C; c++)
        if (x[c] != value) return 1;
    return 0;
}

void ptc_seq_mask_forward(float *mask, const float *inp, int64_t R, int64_t C, float value) {
    // mask (R,), inp (R, C): R = N * T steps
    for (int64_t r = 0; r < R; r++) mask[r] = step_kept(inp + r * C, C, value) ? 1.0f : 0.0f;
}

// Keras's Masking: where(kept, x, 0) per step; the gradient reaches the kept steps only.
void ptc_masking_forward(float *out, const float *inp, int64_t R, int64_t C, float value) {
    for (int64_t r = 0; r < R; r++) {
        const float *x = inp + r * C;
        if (step_kept(x, C, value))
            memcpy(out + r * C, x, (size_t)C * sizeof(float));
        else
            memset(out + r * C, 0, (size_t)C * sizeof(float));
    }
}

void ptc_masking_backward(float *dinp, const float *dout, const float *inp, int64_t R, int64_t C, float value) {
    for (int64_t r = 0; r < R; r++)
        if (step_kept(inp + r * C, C, value))
            for (int64_t c = 0; c < C; c++) dinp[r * C + c] += dout[r * C + c];
}

// Keras's GlobalAveragePooling1D with a mask: sum of the kept steps / their count, in
// double as the unmasked kernel (pool.c). No kept step gives 0 / 0 = NaN, as Keras.
void ptc_global_avgpool_masked_forward(float *out, const float *inp, const float *mask, int64_t N, int64_t S,
                                       int64_t C) {
    // out (N, C), inp (N, S, C), mask (N, S)
    for (int64_t n = 0; n < N; n++) {
        float *o = out + n * C;
        double count = 0.0;
        for (int64_t p = 0; p < S; p++) count += mask[n * S + p] != 0.0f;
        for (int64_t c = 0; c < C; c++) {
            double acc = 0.0;
            for (int64_t p = 0; p < S; p++)
                if (mask[n * S + p] != 0.0f) acc += inp[(n * S + p) * C + c];
            o[c] = (float)(acc / count);
        }
    }
}

void ptc_global_avgpool_masked_backward(float *dinp, const float *dout, const float *mask, int64_t N, int64_t S,
                                        int64_t C) {
    for (int64_t n = 0; n < N; n++) {
        double count = 0.0;
        for (int64_t p = 0; p < S; p++) count += mask[n * S + p] != 0.0f;
        const float scale = (float)(1.0 / count);
        const float *g = dout + n * C;
        for (int64_t p = 0; p < S; p++) {
            if (mask[n * S + p] == 0.0f) continue;
            float *d = dinp + (n * S + p) * C;
            for (int64_t c = 0; c < C; c++) d[c] += g[c] * scale;
        }
    }
}

// ---------------------------------------------------------------------------
// The plan's op adapters (ops.def, dispatched through ops.c's table). seq_mask and
// masking share their arguments, so the SEQ_MASK slots serve both.
_Static_assert(PTC_MASKING_T == PTC_SEQ_MASK_T && PTC_MASKING_C == PTC_SEQ_MASK_C &&
                   PTC_MASKING_VALUE == PTC_SEQ_MASK_VALUE,
               "seq_mask and masking share one argument layout");

static ptc_status mask_check(const ptc_plan *p, const ptc_op *op, int64_t need[PTC_MAX_PARAM]) {
    const int64_t T = op->iarg[PTC_SEQ_MASK_T], C = op->iarg[PTC_SEQ_MASK_C];
    int64_t tc;
    (void)need;
    if (T <= 0 || C <= 0 || !ptc_mul_ok(T, C, &tc) || tc != ptc_op_in_size(p, op, 0) ||
        ptc_op_out_size(p, op) != (op->kind == PTC_OP_SEQ_MASK ? T : tc))
        return PTC_ERR_OP;
    return PTC_OK;
}
PTC_OP_CHECK_AS(seq_mask, mask_check)
PTC_OP_CHECK_AS(masking, mask_check)
PTC_OP_NO_SCRATCH(seq_mask)
PTC_OP_NO_SCRATCH(masking)

void ptc_op_seq_mask_forward(ptc_plan *p, int i, int64_t N, int training) {
    const ptc_op *op = &p->ops[i];
    (void)training;
    ptc_seq_mask_forward(ptc_plan_act(p, op->out), ptc_plan_act(p, op->in[0]), N * op->iarg[PTC_SEQ_MASK_T],
                         op->iarg[PTC_SEQ_MASK_C], (float)op->farg[PTC_SEQ_MASK_VALUE]);
}

void ptc_op_seq_mask_backward(ptc_plan *p, int i, int64_t N) {
    (void)p, (void)i, (void)N;  // a mask has no gradient
}

void ptc_op_masking_forward(ptc_plan *p, int i, int64_t N, int training) {
    const ptc_op *op = &p->ops[i];
    (void)training;
    ptc_masking_forward(ptc_plan_act(p, op->out), ptc_plan_act(p, op->in[0]), N * op->iarg[PTC_MASKING_T],
                        op->iarg[PTC_MASKING_C], (float)op->farg[PTC_MASKING_VALUE]);
}

void ptc_op_masking_backward(ptc_plan *p, int i, int64_t N) {
    const ptc_op *op = &p->ops[i];
    float *din = ptc_op_din(p, op, 0);
    if (din)
        ptc_masking_backward(din, ptc_plan_dact(p, op->out), ptc_plan_act(p, op->in[0]), N * op->iarg[PTC_MASKING_T],
                             op->iarg[PTC_MASKING_C], (float)op->farg[PTC_MASKING_VALUE]);
}
