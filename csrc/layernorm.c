// Layer normalization over the last axis (Keras 3's LayerNormalization, axis=-1,
// keras/src/ops/nn.py _layer_normalization): per row of C channels
//   out = gamma * (x - mean) / sqrt(var + epsilon) + beta,
// with the biased variance, as torch's nn.LayerNorm. Means and inverse deviations of
// each row are kept for backward; sums run in double (C is small, rows are many).
#include <math.h>

#include "ptc.h"
#include "ops.h"

void ptc_layernorm_forward(float *out, float *stats, const float *inp, const float *gamma, const float *beta, int64_t R,
                           int64_t C, float epsilon) {
    // out, inp (R, C), gamma, beta (C,) or NULL, stats (R, 2): mean, inverse deviation
    for (int64_t r = 0; r < R; r++) {
        const float *x = inp + r * C;
        float *o = out + r * C;
        double sum = 0.0, sq = 0.0;
        for (int64_t c = 0; c < C; c++) sum += x[c];
        const double mean = sum / (double)C;
        for (int64_t c = 0; c < C; c++) sq += (x[c] - mean) * (x[c] - mean);  // two passes: no cancellation
        const float m = (float)mean, inv = (float)(1.0 / sqrt(sq / (double)C + (double)epsilon));
        stats[2 * r] = m;
        stats[2 * r + 1] = inv;
        for (int64_t c = 0; c < C; c++) o[c] = (x[c] - m) * inv * (gamma ? gamma[c] : 1.0f) + (beta ? beta[c] : 0.0f);
    }
}

void ptc_layernorm_backward(float *dinp, float *dgamma, float *dbeta, const float *dout, const float *inp,
                            const float *gamma, const float *stats, int64_t R, int64_t C) {
    // With xhat = (x - mean) * inv and g = dout * gamma:
    //   dx = inv * (g - mean_c(g) - xhat * mean_c(g * xhat))
    for (int64_t r = 0; r < R; r++) {
        const float *x = inp + r * C, *d = dout + r * C;
        const float m = stats[2 * r], inv = stats[2 * r + 1];
        double sg = 0.0, sgx = 0.0;
        for (int64_t c = 0; c < C; c++) {
            const float xh = (x[c] - m) * inv, g = d[c] * (gamma ? gamma[c] : 1.0f);
            if (dgamma) dgamma[c] += d[c] * xh;
            if (dbeta) dbeta[c] += d[c];
            sg += g;
            sgx += (double)g * xh;
        }
        if (!dinp) continue;
        const float a = (float)(sg / (double)C), b = (float)(sgx / (double)C);
        float *dx = dinp + r * C;
        for (int64_t c = 0; c < C; c++) {
            const float xh = (x[c] - m) * inv, g = d[c] * (gamma ? gamma[c] : 1.0f);
            dx[c] += inv * (g - a - xh * b);
        }
    }
}

// ---------------------------------------------------------------------------
// The plan's op adapters (ops.def, dispatched through ops.c's table).
ptc_status ptc_op_layernorm_check(const ptc_plan *p, const ptc_op *op, int64_t need[PTC_MAX_PARAM]) {
    const int64_t C = op->iarg[PTC_LAYERNORM_C];
    if (C <= 0 || ptc_op_in_size(p, op, 0) != ptc_op_out_size(p, op) || ptc_op_out_size(p, op) % C != 0 ||
        !(op->farg[PTC_LAYERNORM_EPSILON] > 0.0))
        return PTC_ERR_OP;
    need[PTC_LAYERNORM_GAMMA] = need[PTC_LAYERNORM_BETA] = C;
    return PTC_OK;
}

int64_t ptc_op_layernorm_scratch(const ptc_plan *p, const ptc_op *op, int64_t N) {
    int64_t rows;  // a mean and an inverse deviation per row of the batch
    if (!ptc_mul_ok(N, ptc_op_out_size(p, op) / op->iarg[PTC_LAYERNORM_C], &rows) || rows > INT64_MAX / 2) return -1;
    return 2 * rows;
}

void ptc_op_layernorm_forward(ptc_plan *p, int i, int64_t N, int training) {
    const ptc_op *op = &p->ops[i];
    const int64_t C = op->iarg[PTC_LAYERNORM_C];
    (void)training;
    ptc_layernorm_forward(ptc_plan_act(p, op->out), ptc_plan_scratch(p, i), ptc_plan_act(p, op->in[0]),
                          ptc_plan_param(p, op, PTC_LAYERNORM_GAMMA), ptc_plan_param(p, op, PTC_LAYERNORM_BETA),
                          N * ptc_op_out_size(p, op) / C, C, (float)op->farg[PTC_LAYERNORM_EPSILON]);
}

void ptc_op_layernorm_backward(ptc_plan *p, int i, int64_t N) {
    const ptc_op *op = &p->ops[i];
    const int64_t C = op->iarg[PTC_LAYERNORM_C];
    ptc_layernorm_backward(ptc_op_din(p, op, 0), ptc_plan_grad(p, op, PTC_LAYERNORM_GAMMA),
                           ptc_plan_grad(p, op, PTC_LAYERNORM_BETA), ptc_plan_dact(p, op->out),
                           ptc_plan_act(p, op->in[0]), ptc_plan_param(p, op, PTC_LAYERNORM_GAMMA),
                           ptc_plan_scratch(p, i), N * ptc_op_out_size(p, op) / C, C);
}
