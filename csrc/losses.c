// Losses and metrics on (N, D) predictions. Losses follow Keras 3: the mean
// over the last axis, then over the batch. Probability inputs are clipped to
// [eps, 1 - eps] as keras/src/backend/torch/nn.py does; the fused kinds work
// on logits (log-sum-exp), which is what PyTorch's BCEWithLogitsLoss and
// CrossEntropyLoss compute.
#include <math.h>

#include "ptc.h"

int64_t ptc_loss_y_size(int kind, int64_t D) {
    return (kind == PTC_LOSS_SPARSE_CCE || kind == PTC_LOSS_SOFTMAX_SPARSE_CCE) ? 1 : D;
}

static int sparse_labels_valid(const float *y, int64_t N, int64_t D) {
    for (int64_t n = 0; n < N; n++) {
        float c = y[n];
        if (!(c >= 0.0f && c < (float)D) || c != floorf(c)) return 0;
    }
    return 1;
}

static inline float clipf(float p, float lo, float hi) {
    return p < lo ? lo : (p > hi ? hi : p);
}

// Row kernels: each returns the loss of one row of D predictions (the mean
// over the last axis) and, when dp is not NULL, writes g * d(row loss)/d(pred).

static double mse_row(float *dp, const float *p, const float *y, int64_t D, float g) {
    double sum = 0.0;
    const float scale = 2.0f * g / (float)D;
    for (int64_t d = 0; d < D; d++) {
        float e = p[d] - y[d];
        sum += (double)e * e;
        if (dp) dp[d] = scale * e;
    }
    return sum / (double)D;
}

static double mae_row(float *dp, const float *p, const float *y, int64_t D, float g) {
    double sum = 0.0;
    const float scale = g / (float)D;
    for (int64_t d = 0; d < D; d++) {
        float e = p[d] - y[d];
        sum += fabsf(e);
        if (dp) dp[d] = e > 0.0f ? scale : (e < 0.0f ? -scale : 0.0f);
    }
    return sum / (double)D;
}

static double bce_row(float *dp, const float *p, const float *y, int64_t D, float g) {
    const float lo = PTC_EPSILON, hi = 1.0f - PTC_EPSILON;
    const float scale = g / (float)D;
    double sum = 0.0;
    for (int64_t d = 0; d < D; d++) {
        float o = clipf(p[d], lo, hi);
        sum -= (double)y[d] * log(o) + (1.0 - (double)y[d]) * log(1.0 - (double)o);
        // The clip passes no gradient where it is active (clamp's derivative).
        if (dp) dp[d] = (p[d] >= lo && p[d] <= hi) ? scale * (o - y[d]) / (o * (1.0f - o)) : 0.0f;
    }
    return sum / (double)D;
}

static double sigmoid_bce_row(float *dz, const float *z, const float *y, int64_t D, float g) {
    const float scale = g / (float)D;
    double sum = 0.0;
    for (int64_t d = 0; d < D; d++) {
        double zi = z[d];
        // max(z, 0) - z y + log(1 + exp(-|z|)): stable for any z.
        sum += (zi > 0.0 ? zi : 0.0) - zi * y[d] + log1p(exp(-fabs(zi)));
        if (dz) {
            float s = zi >= 0.0 ? (float)(1.0 / (1.0 + exp(-zi))) : (float)(exp(zi) / (1.0 + exp(zi)));
            dz[d] = scale * (s - y[d]);
        }
    }
    return sum / (double)D;
}

// Categorical cross-entropy on probabilities: q = p / sum(p), clipped, -sum y log q.
// ys is the target row (D,) or NULL with a class index cls for the sparse kind.
static double cce_row(float *dp, const float *p, const float *ys, int64_t cls, int64_t D, float scale) {
    const float lo = PTC_EPSILON, hi = 1.0f - PTC_EPSILON;
    double s = 0.0;
    for (int64_t d = 0; d < D; d++) s += p[d];
    double loss = 0.0, dot = 0.0;
    for (int64_t d = 0; d < D; d++) {
        float t = ys ? ys[d] : (d == cls ? 1.0f : 0.0f);
        float q = (float)(p[d] / s);
        float qc = clipf(q, lo, hi);
        // Keras sums t * log(q) over every class for dense targets, so a NaN q (an inf in p)
        // makes the loss NaN even where t is 0; the sparse kind takes only the class's q.
        if (ys || t != 0.0f) loss -= (double)t * log(qc);
        if (dp) {
            float dq = (q >= lo && q <= hi) ? -t / q : 0.0f;  // d loss / d q
            dp[d] = dq;
            dot += (double)dq * q;
        }
    }
    if (dp)  // through the normalization: dp_j = (dq_j - sum_i dq_i q_i) / s
        for (int64_t d = 0; d < D; d++) dp[d] = scale * (float)((dp[d] - dot) / s);
    return loss;
}

// Fused softmax + cross-entropy on logits z: loss = sum_d t_d (lse(z) - z_d),
// gradient softmax(z) * sum(t) - t.
static double softmax_cce_row(float *dz, const float *z, const float *ys, int64_t cls, int64_t D, float scale) {
    float mx = z[0];
    for (int64_t d = 1; d < D; d++) mx = z[d] > mx ? z[d] : mx;
    double se = 0.0;
    for (int64_t d = 0; d < D; d++) se += exp((double)(z[d] - mx));
    double lse = (double)mx + log(se);
    double loss = 0.0, tsum = 0.0;
    for (int64_t d = 0; d < D; d++) {
        float t = ys ? ys[d] : (d == cls ? 1.0f : 0.0f);
        tsum += t;
        if (t != 0.0f) loss += (double)t * (lse - z[d]);
    }
    if (dz)
        for (int64_t d = 0; d < D; d++) {
            float t = ys ? ys[d] : (d == cls ? 1.0f : 0.0f);
            float sm = (float)exp((double)z[d] - lse);
            dz[d] = scale * (sm * (float)tsum - t);
        }
    return loss;
}

ptc_status ptc_loss_compute(int kind, double *loss, float *dpred, const float *pred, const float *y, const float *w,
                            int64_t N, int64_t D) {
    if (N <= 0 || D <= 0) return PTC_ERR_VALUE;
    const int sparse = kind == PTC_LOSS_SPARSE_CCE || kind == PTC_LOSS_SOFTMAX_SPARSE_CCE;
    if (sparse && !sparse_labels_valid(y, N, D)) return PTC_ERR_LABEL;
    const int64_t ys = sparse ? 1 : D;
    double sum = 0.0;
    for (int64_t n = 0; n < N; n++) {
        // Keras's default reduction: sum of weighted row losses over the number of rows.
        const float wn = w ? w[n] : 1.0f, g = wn / (float)N;
        float *dp = dpred ? dpred + n * D : NULL;
        const float *p = pred + n * D, *t = y + n * ys;
        double row;
        switch (kind) {
            case PTC_LOSS_MSE:
                row = mse_row(dp, p, t, D, g);
                break;
            case PTC_LOSS_MAE:
                row = mae_row(dp, p, t, D, g);
                break;
            case PTC_LOSS_BCE:
                row = bce_row(dp, p, t, D, g);
                break;
            case PTC_LOSS_SIGMOID_BCE:
                row = sigmoid_bce_row(dp, p, t, D, g);
                break;
            case PTC_LOSS_CCE:
                row = cce_row(dp, p, t, 0, D, g);
                break;
            case PTC_LOSS_SOFTMAX_CCE:
                row = softmax_cce_row(dp, p, t, 0, D, g);
                break;
            case PTC_LOSS_SPARSE_CCE:
                row = cce_row(dp, p, NULL, (int64_t)t[0], D, g);
                break;
            case PTC_LOSS_SOFTMAX_SPARSE_CCE:
                row = softmax_cce_row(dp, p, NULL, (int64_t)t[0], D, g);
                break;
            default:
                return PTC_ERR_VALUE;
        }
        sum += (double)wn * row;
    }
    *loss = sum / (double)N;
    return PTC_OK;
}
