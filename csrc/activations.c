// Elementwise and row-wise activations on (N, D) buffers.
#include <math.h>

#include "ptc.h"

static void softmax_rows(float *out, const float *inp, int64_t N, int64_t D) {
    for (int64_t n = 0; n < N; n++) {
        const float *x = inp + n * D;
        float *y = out + n * D;
        // Subtracting the row max keeps exp() from overflowing; the result is unchanged.
        float mx = x[0];
        for (int64_t d = 1; d < D; d++) mx = x[d] > mx ? x[d] : mx;
        double sum = 0.0;
        for (int64_t d = 0; d < D; d++) {
            y[d] = expf(x[d] - mx);
            sum += y[d];
        }
        float inv = (float)(1.0 / sum);
        for (int64_t d = 0; d < D; d++) y[d] *= inv;
    }
}

static inline float sigmoidf(float x) {
    // Two branches so that exp() only sees non-positive arguments.
    if (x >= 0.0f) return 1.0f / (1.0f + expf(-x));
    float e = expf(x);
    return e / (1.0f + e);
}

void ptc_act_forward(int kind, float *out, const float *inp, int64_t N, int64_t D) {
    int64_t n = N * D;
    switch (kind) {
    case PTC_ACT_LINEAR:
        for (int64_t i = 0; i < n; i++) out[i] = inp[i];
        break;
    case PTC_ACT_RELU:
        for (int64_t i = 0; i < n; i++) out[i] = inp[i] > 0.0f ? inp[i] : 0.0f;
        break;
    case PTC_ACT_SIGMOID:
        for (int64_t i = 0; i < n; i++) out[i] = sigmoidf(inp[i]);
        break;
    case PTC_ACT_TANH:
        for (int64_t i = 0; i < n; i++) out[i] = tanhf(inp[i]);
        break;
    case PTC_ACT_SOFTMAX:
        softmax_rows(out, inp, N, D);
        break;
    }
}

void ptc_act_backward(int kind, float *dinp, const float *dout, const float *inp,
                      const float *out, int64_t N, int64_t D) {
    int64_t n = N * D;
    switch (kind) {
    case PTC_ACT_LINEAR:
        for (int64_t i = 0; i < n; i++) dinp[i] += dout[i];
        break;
    case PTC_ACT_RELU:  // derivative 0 at 0, as PyTorch and TensorFlow
        for (int64_t i = 0; i < n; i++) dinp[i] += inp[i] > 0.0f ? dout[i] : 0.0f;
        break;
    case PTC_ACT_SIGMOID:
        for (int64_t i = 0; i < n; i++) dinp[i] += dout[i] * out[i] * (1.0f - out[i]);
        break;
    case PTC_ACT_TANH:
        for (int64_t i = 0; i < n; i++) dinp[i] += dout[i] * (1.0f - out[i] * out[i]);
        break;
    case PTC_ACT_SOFTMAX:
        // dx_i = y_i * (dy_i - sum_j dy_j y_j)
        for (int64_t r = 0; r < N; r++) {
            const float *y = out + r * D, *dy = dout + r * D;
            float *dx = dinp + r * D;
            double dot = 0.0;
            for (int64_t d = 0; d < D; d++) dot += (double)dy[d] * y[d];
            for (int64_t d = 0; d < D; d++) dx[d] += y[d] * (dy[d] - (float)dot);
        }
        break;
    }
}
