// Dropout, as Keras: in training, each value survives with probability 1 - rate and
// survivors are scaled by 1 / (1 - rate), so the expected sum is unchanged. The mask
// (0 or the scale) is kept for backward; masks are drawn from the op's own seeded
// generator, one uniform per value in order, so runs are bitwise reproducible.
#include <string.h>

#include "ptc.h"
#include "rng_mask.h"
#include "ops.h"

void ptc_dropout_forward(float *out, float *mask, const float *inp, int64_t n, float rate, ptc_rng *rng, int training) {
    if (!training || rate == 0.0f) {
        memcpy(out, inp, (size_t)n * sizeof(float));
        return;
    }
    const float keep = 1.0f - rate, scale = 1.0f / keep;
    ptc_rng_fill_mask(rng, mask, n, keep, scale);  // as ptc_rng_uniform(rng) < keep per element, in order
    for (int64_t i = 0; i < n; i++) out[i] = inp[i] * mask[i];
}

void ptc_dropout_backward(float *dinp, const float *dout, const float *mask, int64_t n, float rate) {
    if (rate == 0.0f)
        for (int64_t i = 0; i < n; i++) dinp[i] += dout[i];
    else
        for (int64_t i = 0; i < n; i++) dinp[i] += dout[i] * mask[i];
}

// ---------------------------------------------------------------------------
// The plan's op adapters (ops.def, dispatched through ops.c's table).
ptc_status ptc_op_dropout_check(const ptc_plan *p, const ptc_op *op, int64_t need[PTC_MAX_PARAM]) {
    const double rate = op->farg[PTC_DROPOUT_RATE];
    if (ptc_op_in_size(p, op, 0) != ptc_op_out_size(p, op) || op->iarg[PTC_DROPOUT_RNG] < 0 ||
        !(rate >= 0.0 && rate < 1.0))
        return PTC_ERR_OP;
    return PTC_OK;
}

int64_t ptc_op_dropout_scratch(const ptc_plan *p, const ptc_op *op, int64_t N) {
    int64_t n;  // the mask
    return ptc_mul_ok(N, ptc_op_out_size(p, op), &n) ? n : -1;
}

void ptc_op_dropout_forward(ptc_plan *p, int i, int64_t N, int training) {
    const ptc_op *op = &p->ops[i];
    ptc_dropout_forward(ptc_plan_act(p, op->out), ptc_plan_scratch(p, i), ptc_plan_act(p, op->in[0]),
                        N * ptc_op_out_size(p, op), (float)op->farg[PTC_DROPOUT_RATE],
                        &p->rngs[op->iarg[PTC_DROPOUT_RNG]], training);
}

void ptc_op_dropout_backward(ptc_plan *p, int i, int64_t N) {
    const ptc_op *op = &p->ops[i];
    float *din = ptc_op_din(p, op, 0);
    if (din)
        ptc_dropout_backward(din, ptc_plan_dact(p, op->out), ptc_plan_scratch(p, i), N * ptc_op_out_size(p, op),
                             (float)op->farg[PTC_DROPOUT_RATE]);
}
