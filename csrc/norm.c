// Batch normalization over the rows of (R, C), per channel, following Keras 3's
// BatchNormalization(axis=-1) (keras/src/layers/normalization/batch_normalization.py):
//   training:  mean, variance = ops.moments(x) (the biased variance: divided by R),
//              moving_mean     = moving_mean * momentum + mean * (1 - momentum),
//              moving_variance = moving_variance * momentum + variance * (1 - momentum);
//   inference: mean, variance = moving_mean, moving_variance;
//   out = gamma * (x - mean) / sqrt(variance + epsilon) + beta.
// PyTorch differs only in its running_var, which takes the unbiased variance
// (times R / (R - 1)) and its momentum convention (torch's m is Keras's 1 - momentum).
//
// Channels are processed in blocks of PTC_BN_CBLOCK, each row's block read
// contiguously; sums run in float over blocks of PTC_BN_RBLOCK rows and in
// double across blocks (R can be N * H * W, tens of thousands of terms).
#include <math.h>

#include "isa.h"
#include "kernels2d.h"
#include "ops.h"

#define PTC_BN_CBLOCK 64   // channels per block: per-channel state in stack arrays
#define PTC_BN_RBLOCK 256  // rows summed in float before adding into the double totals

// tot[j] += sum over rows r of f(r, j), in float partials of PTC_BN_RBLOCK rows
// (vectorizable) added into double totals (R can be tens of thousands of rows).
#define BN_BLOCKED_SUM(tot, R, cn, expr)                                            \
    do {                                                                            \
        float part_[PTC_BN_CBLOCK];                                                 \
        for (int64_t r0 = 0; r0 < (R); r0 += PTC_BN_RBLOCK) {                       \
            const int64_t r1 = (R) - r0 < PTC_BN_RBLOCK ? (R) : r0 + PTC_BN_RBLOCK; \
            for (int64_t j = 0; j < (cn); j++) part_[j] = 0.0f;                     \
            for (int64_t r = r0; r < r1; r++)                                       \
                for (int64_t j = 0; j < (cn); j++) part_[j] += (expr);              \
            for (int64_t j = 0; j < (cn); j++) (tot)[j] += part_[j];                \
        }                                                                           \
    } while (0)

PTC_KERNEL(, ptc_batchnorm_forward,
           (float *restrict out, const float *restrict inp, const float *gamma, const float *beta, float *moving_mean,
            float *moving_var, int64_t R, int64_t C, float momentum, float epsilon, int training, float *work),
           (out, inp, gamma, beta, moving_mean, moving_var, R, C, momentum, epsilon, training, work)) {
    // out (R, C), inp (R, C), gamma, beta, moving_mean, moving_var (C,), work (2, C): mean, inv std
    double sum[PTC_BN_CBLOCK], sq[PTC_BN_CBLOCK];
    float mean[PTC_BN_CBLOCK], scale[PTC_BN_CBLOCK], shift[PTC_BN_CBLOCK];
    for (int64_t c0 = 0; c0 < C; c0 += PTC_BN_CBLOCK) {
        const int64_t cn = C - c0 < PTC_BN_CBLOCK ? C - c0 : PTC_BN_CBLOCK;
        const float *xc = inp + c0;
        if (training) {
            // Two passes (mean, then squared deviations): no cancellation when |mean| >> std.
            for (int64_t j = 0; j < cn; j++) sum[j] = sq[j] = 0.0;
            BN_BLOCKED_SUM(sum, R, cn, xc[r * C + j]);
            for (int64_t j = 0; j < cn; j++) mean[j] = (float)(R > 0 ? sum[j] / (double)R : 0.0);
            BN_BLOCKED_SUM(sq, R, cn, (xc[r * C + j] - mean[j]) * (xc[r * C + j] - mean[j]));
            for (int64_t j = 0; j < cn; j++) {
                const double var = R > 0 ? sq[j] / (double)R : 0.0;
                work[c0 + j] = mean[j];
                work[C + c0 + j] = (float)(1.0 / sqrt(var + (double)epsilon));
                if (R > 0 && moving_mean)  // an empty batch has no statistics to average in
                    moving_mean[c0 + j] = moving_mean[c0 + j] * momentum + mean[j] * (1.0f - momentum);
                if (R > 0 && moving_var)
                    moving_var[c0 + j] = moving_var[c0 + j] * momentum + (float)var * (1.0f - momentum);
            }
        } else {
            for (int64_t j = 0; j < cn; j++) {
                mean[j] = work[c0 + j] = moving_mean[c0 + j];
                work[C + c0 + j] = (float)(1.0 / sqrt((double)moving_var[c0 + j] + (double)epsilon));
            }
        }
        for (int64_t j = 0; j < cn; j++) {
            scale[j] = (gamma ? gamma[c0 + j] : 1.0f) * work[C + c0 + j];
            shift[j] = beta ? beta[c0 + j] : 0.0f;
        }
        for (int64_t r = 0; r < R; r++) {
            const float *x = xc + r * C;
            float *o = out + r * C + c0;
            for (int64_t j = 0; j < cn; j++) o[j] = (x[j] - mean[j]) * scale[j] + shift[j];
        }
    }
}

// Per-channel state of one block for backward: mean, inv std, sums of dout and of dout * xhat.
typedef struct {
    float mean[PTC_BN_CBLOCK], inv[PTC_BN_CBLOCK];
    double sg[PTC_BN_CBLOCK], sgx[PTC_BN_CBLOCK];
} bn_block;

static PTC_ALWAYS_INLINE void bn_sums(bn_block *b, const float *restrict dout, const float *restrict inp,
                                      const float *work, int64_t R, int64_t C, int64_t c0, int64_t cn) {
    const float *g = dout + c0, *x = inp + c0;
    const float *mean = b->mean, *inv = b->inv;
    for (int64_t j = 0; j < cn; j++) {
        b->mean[j] = work[c0 + j];
        b->inv[j] = work[C + c0 + j];
        b->sg[j] = b->sgx[j] = 0.0;
    }
    BN_BLOCKED_SUM(b->sg, R, cn, g[r * C + j]);
    BN_BLOCKED_SUM(b->sgx, R, cn, g[r * C + j] * ((x[r * C + j] - mean[j]) * inv[j]));
}

PTC_KERNEL(, ptc_batchnorm_backward,
           (float *restrict dinp, float *dgamma, float *dbeta, const float *restrict dout, const float *restrict inp,
            const float *gamma, int64_t R, int64_t C, const float *work),
           (dinp, dgamma, dbeta, dout, inp, gamma, R, C, work)) {
    // With xhat = (x - mean) * inv and the batch statistics depending on x:
    //   dx = gamma * inv * (dout - mean_r(dout) - xhat * mean_r(dout * xhat))
    bn_block b;
    float k[PTC_BN_CBLOCK], a[PTC_BN_CBLOCK], m[PTC_BN_CBLOCK];
    for (int64_t c0 = 0; c0 < C; c0 += PTC_BN_CBLOCK) {
        const int64_t cn = C - c0 < PTC_BN_CBLOCK ? C - c0 : PTC_BN_CBLOCK;
        bn_sums(&b, dout, inp, work, R, C, c0, cn);
        for (int64_t j = 0; j < cn; j++) {
            if (dgamma) dgamma[c0 + j] += (float)b.sgx[j];
            if (dbeta) dbeta[c0 + j] += (float)b.sg[j];
        }
        if (!dinp || R == 0) continue;
        for (int64_t j = 0; j < cn; j++) {
            k[j] = (gamma ? gamma[c0 + j] : 1.0f) * b.inv[j];
            a[j] = (float)(b.sg[j] / (double)R);
            m[j] = (float)(b.sgx[j] / (double)R) * b.inv[j];  // xhat * m = (x - mean) * inv * m
        }
        for (int64_t r = 0; r < R; r++) {
            const float *g = dout + r * C + c0, *x = inp + r * C + c0;
            float *d = dinp + r * C + c0;
            for (int64_t j = 0; j < cn; j++) d[j] += k[j] * (g[j] - a[j] - (x[j] - b.mean[j]) * m[j]);
        }
    }
}

PTC_KERNEL(, ptc_batchnorm_backward_inference,
           (float *restrict dinp, float *dgamma, float *dbeta, const float *restrict dout, const float *restrict inp,
            const float *gamma, int64_t R, int64_t C, const float *work),
           (dinp, dgamma, dbeta, dout, inp, gamma, R, C, work)) {
    // Constant statistics: dx = gamma * inv * dout.
    bn_block b;
    float k[PTC_BN_CBLOCK];
    for (int64_t c0 = 0; c0 < C; c0 += PTC_BN_CBLOCK) {
        const int64_t cn = C - c0 < PTC_BN_CBLOCK ? C - c0 : PTC_BN_CBLOCK;
        if (dgamma || dbeta) {
            bn_sums(&b, dout, inp, work, R, C, c0, cn);
            for (int64_t j = 0; j < cn; j++) {
                if (dgamma) dgamma[c0 + j] += (float)b.sgx[j];
                if (dbeta) dbeta[c0 + j] += (float)b.sg[j];
            }
        }
        if (!dinp) continue;
        for (int64_t j = 0; j < cn; j++) k[j] = (gamma ? gamma[c0 + j] : 1.0f) * work[C + c0 + j];
        for (int64_t r = 0; r < R; r++) {
            const float *g = dout + r * C + c0;
            float *d = dinp + r * C + c0;
            for (int64_t j = 0; j < cn; j++) d[j] += k[j] * g[j];
        }
    }
}

// ---------------------------------------------------------------------------
// The plan's op adapters (ops.def, dispatched through ops.c's table).
ptc_status ptc_op_batchnorm_check(const ptc_plan *p, const ptc_op *op, int64_t need[PTC_MAX_PARAM]) {
    const int64_t C = op->iarg[PTC_BATCHNORM_C];
    if (C <= 0 || ptc_op_in_size(p, op, 0) != ptc_op_out_size(p, op) || ptc_op_out_size(p, op) % C != 0 ||
        op->param[PTC_BATCHNORM_MOVING_MEAN] < 0 || op->param[PTC_BATCHNORM_MOVING_VAR] < 0)
        return PTC_ERR_OP;
    for (int k = 0; k < PTC_BATCHNORM_N_PARAMS; k++) need[k] = C;
    return PTC_OK;
}

int64_t ptc_op_batchnorm_scratch(const ptc_plan *p, const ptc_op *op, int64_t N) {
    return 2 * op->iarg[PTC_BATCHNORM_C];  // the batch's mean and inverse deviation
}

void ptc_op_batchnorm_forward(ptc_plan *p, int i, int64_t N, int training) {
    const ptc_op *op = &p->ops[i];
    const int64_t C = op->iarg[PTC_BATCHNORM_C];
    // A frozen layer normalizes with its moving statistics, as Keras 3.
    ptc_batchnorm_forward(ptc_plan_act(p, op->out), ptc_plan_act(p, op->in[0]),
                          ptc_plan_param(p, op, PTC_BATCHNORM_GAMMA), ptc_plan_param(p, op, PTC_BATCHNORM_BETA),
                          p->params + op->param[PTC_BATCHNORM_MOVING_MEAN],
                          p->params + op->param[PTC_BATCHNORM_MOVING_VAR], N * ptc_op_out_size(p, op) / C, C,
                          (float)op->farg[PTC_BATCHNORM_MOMENTUM], (float)op->farg[PTC_BATCHNORM_EPSILON],
                          training && !op->iarg[PTC_BATCHNORM_FROZEN], ptc_plan_scratch(p, i));
}

void ptc_op_batchnorm_backward(ptc_plan *p, int i, int64_t N) {
    const ptc_op *op = &p->ops[i];
    const int64_t C = op->iarg[PTC_BATCHNORM_C], rows = N * ptc_op_out_size(p, op) / C;
    float *din = ptc_op_din(p, op, 0);
    const float *dout = ptc_plan_dact(p, op->out), *in = ptc_plan_act(p, op->in[0]);
    float *dgamma = ptc_plan_grad(p, op, PTC_BATCHNORM_GAMMA), *dbeta = ptc_plan_grad(p, op, PTC_BATCHNORM_BETA);
    const float *gamma = ptc_plan_param(p, op, PTC_BATCHNORM_GAMMA);
    if (op->iarg[PTC_BATCHNORM_FROZEN])  // the moving statistics are constants
        ptc_batchnorm_backward_inference(din, dgamma, dbeta, dout, in, gamma, rows, C, ptc_plan_scratch(p, i));
    else  // through the batch statistics; runs even without din, for gamma and beta
        ptc_batchnorm_backward(din, dgamma, dbeta, dout, in, gamma, rows, C, ptc_plan_scratch(p, i));
}
