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
// Channels are processed in blocks of PTC_BN_CBLOCK so that the per-channel
// sums live in double on the stack (R can be N * H * W, tens of thousands of
// terms) while each row's block of channels is read contiguously.
#include <math.h>

#include "kernels2d.h"

#define PTC_BN_CBLOCK 64

void ptc_batchnorm_forward(float *out, const float *inp, const float *gamma, const float *beta,
                           float *moving_mean, float *moving_var, int64_t R, int64_t C,
                           float momentum, float epsilon, int training, float *work) {
    // out (R, C), inp (R, C), gamma, beta, moving_mean, moving_var (C,), work (2, C): mean, inv std
    float *mean_out = work, *inv_out = work + C;
    double sum[PTC_BN_CBLOCK], sq[PTC_BN_CBLOCK];
    float scale[PTC_BN_CBLOCK], shift[PTC_BN_CBLOCK];
    for (int64_t c0 = 0; c0 < C; c0 += PTC_BN_CBLOCK) {
        const int64_t cn = C - c0 < PTC_BN_CBLOCK ? C - c0 : PTC_BN_CBLOCK;
        if (training) {
            // Two passes (mean, then squared deviations): no cancellation when |mean| >> std.
            for (int64_t j = 0; j < cn; j++) sum[j] = sq[j] = 0.0;
            for (int64_t r = 0; r < R; r++) {
                const float *x = inp + r * C + c0;
                for (int64_t j = 0; j < cn; j++) sum[j] += x[j];
            }
            for (int64_t j = 0; j < cn; j++) sum[j] = R > 0 ? sum[j] / (double)R : 0.0;
            for (int64_t r = 0; r < R; r++) {
                const float *x = inp + r * C + c0;
                for (int64_t j = 0; j < cn; j++) {
                    const double d = x[j] - sum[j];
                    sq[j] += d * d;
                }
            }
            for (int64_t j = 0; j < cn; j++) {
                const double var = R > 0 ? sq[j] / (double)R : 0.0;
                mean_out[c0 + j] = (float)sum[j];
                inv_out[c0 + j] = (float)(1.0 / sqrt(var + (double)epsilon));
                if (R > 0 && moving_mean)  // an empty batch has no statistics to average in
                    moving_mean[c0 + j] = moving_mean[c0 + j] * momentum + (float)sum[j] * (1.0f - momentum);
                if (R > 0 && moving_var)
                    moving_var[c0 + j] = moving_var[c0 + j] * momentum + (float)var * (1.0f - momentum);
            }
        } else {
            for (int64_t j = 0; j < cn; j++) {
                mean_out[c0 + j] = moving_mean[c0 + j];
                inv_out[c0 + j] = (float)(1.0 / sqrt((double)moving_var[c0 + j] + (double)epsilon));
            }
        }
        for (int64_t j = 0; j < cn; j++) {
            scale[j] = (gamma ? gamma[c0 + j] : 1.0f) * inv_out[c0 + j];
            shift[j] = beta ? beta[c0 + j] : 0.0f;
        }
        for (int64_t r = 0; r < R; r++) {
            const float *x = inp + r * C + c0;
            float *o = out + r * C + c0;
            for (int64_t j = 0; j < cn; j++) o[j] = (x[j] - mean_out[c0 + j]) * scale[j] + shift[j];
        }
    }
}

// Shared by both backward modes: sums of dout and of dout * xhat per channel.
static void bn_sums(double *sg, double *sgx, const float *dout, const float *inp, const float *work,
                    int64_t R, int64_t C, int64_t c0, int64_t cn) {
    const float *mean = work + c0, *inv = work + C + c0;
    for (int64_t j = 0; j < cn; j++) sg[j] = sgx[j] = 0.0;
    for (int64_t r = 0; r < R; r++) {
        const float *g = dout + r * C + c0, *x = inp + r * C + c0;
        for (int64_t j = 0; j < cn; j++) {
            sg[j] += g[j];
            sgx[j] += (double)g[j] * ((x[j] - mean[j]) * inv[j]);
        }
    }
}

void ptc_batchnorm_backward(float *dinp, float *dgamma, float *dbeta, const float *dout,
                            const float *inp, const float *gamma, int64_t R, int64_t C,
                            const float *work) {
    // With xhat = (x - mean) * inv and the batch statistics depending on x:
    //   dx = gamma * inv * (dout - mean_r(dout) - xhat * mean_r(dout * xhat))
    double sg[PTC_BN_CBLOCK], sgx[PTC_BN_CBLOCK];
    float k[PTC_BN_CBLOCK], a[PTC_BN_CBLOCK], b[PTC_BN_CBLOCK];
    for (int64_t c0 = 0; c0 < C; c0 += PTC_BN_CBLOCK) {
        const int64_t cn = C - c0 < PTC_BN_CBLOCK ? C - c0 : PTC_BN_CBLOCK;
        const float *mean = work + c0, *inv = work + C + c0;
        bn_sums(sg, sgx, dout, inp, work, R, C, c0, cn);
        for (int64_t j = 0; j < cn; j++) {
            if (dgamma) dgamma[c0 + j] += (float)sgx[j];
            if (dbeta) dbeta[c0 + j] += (float)sg[j];
        }
        if (!dinp || R == 0) continue;
        for (int64_t j = 0; j < cn; j++) {
            k[j] = (gamma ? gamma[c0 + j] : 1.0f) * inv[j];
            a[j] = (float)(sg[j] / (double)R);
            b[j] = (float)(sgx[j] / (double)R);
        }
        for (int64_t r = 0; r < R; r++) {
            const float *g = dout + r * C + c0, *x = inp + r * C + c0;
            float *d = dinp + r * C + c0;
            for (int64_t j = 0; j < cn; j++) {
                const float xhat = (x[j] - mean[j]) * inv[j];
                d[j] += k[j] * (g[j] - a[j] - xhat * b[j]);
            }
        }
    }
}

void ptc_batchnorm_backward_inference(float *dinp, float *dgamma, float *dbeta, const float *dout,
                                      const float *inp, const float *gamma, int64_t R, int64_t C,
                                      const float *work) {
    // Constant statistics: dx = gamma * inv * dout.
    double sg[PTC_BN_CBLOCK], sgx[PTC_BN_CBLOCK];
    for (int64_t c0 = 0; c0 < C; c0 += PTC_BN_CBLOCK) {
        const int64_t cn = C - c0 < PTC_BN_CBLOCK ? C - c0 : PTC_BN_CBLOCK;
        const float *inv = work + C + c0;
        if (dgamma || dbeta) {
            bn_sums(sg, sgx, dout, inp, work, R, C, c0, cn);
            for (int64_t j = 0; j < cn; j++) {
                if (dgamma) dgamma[c0 + j] += (float)sgx[j];
                if (dbeta) dbeta[c0 + j] += (float)sg[j];
            }
        }
        if (!dinp) continue;
        for (int64_t r = 0; r < R; r++) {
            const float *g = dout + r * C + c0;
            float *d = dinp + r * C + c0;
            for (int64_t j = 0; j < cn; j++) d[j] += (gamma ? gamma[c0 + j] : 1.0f) * inv[j] * g[j];
        }
    }
}
