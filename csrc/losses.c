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

static inline float clipf(float p, float lo, float hi) { return p < lo ? lo : (p > hi ? hi : p); }

static double loss_mse(float *dp, const float *p, const float *y, int64_t N, int64_t D) {
    double sum = 0.0;
    const float scale = 2.0f / (float)(N * D);
    for (int64_t i = 0; i < N * D; i++) {
        float e = p[i] - y[i];
        sum += (double)e * e;
        if (dp) dp[i] = scale * e;
    }
    return sum / (double)(N * D);
}

static double loss_mae(float *dp, const float *p, const float *y, int64_t N, int64_t D) {
    double sum = 0.0;
    const float scale = 1.0f / (float)(N * D);
    for (int64_t i = 0; i < N * D; i++) {
        float e = p[i] - y[i];
        sum += fabsf(e);
        if (dp) dp[i] = e > 0.0f ? scale : (e < 0.0f ? -scale : 0.0f);
    }
    return sum / (double)(N * D);
}

static double loss_bce(float *dp, const float *p, const float *y, int64_t N, int64_t D) {
    const float lo = PTC_EPSILON, hi = 1.0f - PTC_EPSILON;
    const float scale = 1.0f / (float)(N * D);
    double sum = 0.0;
    for (int64_t i = 0; i < N * D; i++) {
        float o = clipf(p[i], lo, hi);
        sum -= (double)y[i] * log(o) + (1.0 - (double)y[i]) * log(1.0 - (double)o);
        // The clip passes no gradient where it is active (clamp's derivative).
        if (dp) dp[i] = (p[i] >= lo && p[i] <= hi) ? scale * (o - y[i]) / (o * (1.0f - o)) : 0.0f;
    }
    return sum / (double)(N * D);
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
        if (t != 0.0f) loss -= (double)t * log(qc);
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
static double softmax_cce_row(float *dz, const float *z, const float *ys, int64_t cls, int64_t D,
                              float scale) {
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

static double loss_sigmoid_bce(float *dz, const float *z, const float *y, int64_t N, int64_t D) {
    const float scale = 1.0f / (float)(N * D);
    double sum = 0.0;
    for (int64_t i = 0; i < N * D; i++) {
        double zi = z[i];
        // max(z, 0) - z y + log(1 + exp(-|z|)): stable for any z.
        sum += (zi > 0.0 ? zi : 0.0) - zi * y[i] + log1p(exp(-fabs(zi)));
        if (dz) {
            float s = zi >= 0.0 ? (float)(1.0 / (1.0 + exp(-zi))) : (float)(exp(zi) / (1.0 + exp(zi)));
            dz[i] = scale * (s - y[i]);
        }
    }
    return sum / (double)(N * D);
}

ptc_status ptc_loss_compute(int kind, double *loss, float *dpred, const float *pred,
                            const float *y, int64_t N, int64_t D) {
    if (N <= 0 || D <= 0) return PTC_ERR_VALUE;
    const float scale = 1.0f / (float)N;
    double sum = 0.0;
    switch (kind) {
    case PTC_LOSS_MSE: *loss = loss_mse(dpred, pred, y, N, D); return PTC_OK;
    case PTC_LOSS_MAE: *loss = loss_mae(dpred, pred, y, N, D); return PTC_OK;
    case PTC_LOSS_BCE: *loss = loss_bce(dpred, pred, y, N, D); return PTC_OK;
    case PTC_LOSS_SIGMOID_BCE: *loss = loss_sigmoid_bce(dpred, pred, y, N, D); return PTC_OK;
    case PTC_LOSS_CCE:
    case PTC_LOSS_SOFTMAX_CCE:
        for (int64_t n = 0; n < N; n++) {
            float *dp = dpred ? dpred + n * D : NULL;
            sum += kind == PTC_LOSS_CCE ? cce_row(dp, pred + n * D, y + n * D, 0, D, scale)
                                        : softmax_cce_row(dp, pred + n * D, y + n * D, 0, D, scale);
        }
        *loss = sum / (double)N;
        return PTC_OK;
    case PTC_LOSS_SPARSE_CCE:
    case PTC_LOSS_SOFTMAX_SPARSE_CCE:
        if (!sparse_labels_valid(y, N, D)) return PTC_ERR_VALUE;
        for (int64_t n = 0; n < N; n++) {
            float *dp = dpred ? dpred + n * D : NULL;
            int64_t c = (int64_t)y[n];
            sum += kind == PTC_LOSS_SPARSE_CCE ? cce_row(dp, pred + n * D, NULL, c, D, scale)
                                               : softmax_cce_row(dp, pred + n * D, NULL, c, D, scale);
        }
        *loss = sum / (double)N;
        return PTC_OK;
    }
    return PTC_ERR_VALUE;
}

static int64_t argmax(const float *x, int64_t D) {
    int64_t best = 0;  // first maximum wins, as numpy and Keras
    for (int64_t d = 1; d < D; d++)
        if (x[d] > x[best]) best = d;
    return best;
}

double ptc_metric_sum(int kind, const float *pred, const float *y, int64_t N, int64_t D) {
    double sum = 0.0;
    for (int64_t n = 0; n < N; n++) {
        const float *p = pred + n * D;
        double row = 0.0;
        switch (kind) {
        case PTC_METRIC_BINARY_ACCURACY:  // threshold 0.5, mean over the last axis
            for (int64_t d = 0; d < D; d++) row += ((p[d] > 0.5f ? 1.0f : 0.0f) == y[n * D + d]);
            row /= (double)D;
            break;
        case PTC_METRIC_CATEGORICAL_ACCURACY:
            row = argmax(p, D) == argmax(y + n * D, D);
            break;
        case PTC_METRIC_SPARSE_CATEGORICAL_ACCURACY:
            row = (float)argmax(p, D) == y[n];
            break;
        case PTC_METRIC_MSE:
            for (int64_t d = 0; d < D; d++) row += (double)(p[d] - y[n * D + d]) * (p[d] - y[n * D + d]);
            row /= (double)D;
            break;
        case PTC_METRIC_MAE:
            for (int64_t d = 0; d < D; d++) row += fabs((double)p[d] - y[n * D + d]);
            row /= (double)D;
            break;
        }
        sum += row;
    }
    return sum;
}
