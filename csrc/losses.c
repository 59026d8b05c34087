// Losses and metrics on (N, D) predictions. Losses follow Keras 3: the mean
// over the last axis, then over the batch. Probability inputs are clipped to
// [eps, 1 - eps] as keras/src/backend/torch/nn.py does; the fused kinds work
// on logits (log-sum-exp), which is what PyTorch's BCEWithLogitsLoss and
// CrossEntropyLoss compute.
#include <math.h>

#include "ptc.h"

static int is_sparse(int kind) {
    return kind == PTC_LOSS_SPARSE_CCE || kind == PTC_LOSS_SOFTMAX_SPARSE_CCE;
}

int64_t ptc_loss_y_size(int kind, int64_t D) {
    return is_sparse(kind) ? 1 : D;
}

// A kind's parameters as the kernels use them, from the float64 array (kinds.def).
typedef struct {
    float delta, alpha, beta, gamma;
    float ls_a, ls_b;  // smoothed target t * ls_a + ls_b
    int balance, ignore, per_row;
    float ignore_class;
    int hinge_pm1;  // HINGE, SQUARED_HINGE: the batch's targets are all 0 or 1, used as -1 or 1
    // DICE: 1 / the times the plan repeated the predictions to wider targets (Keras sums them once)
    double p_once;
} loss_args;

static loss_args args_init(int kind, const double *lp, int64_t D) {
    static const double zeros[PTC_LOSS_N_PARAMS] = {0};
    if (!lp) lp = zeros;
    const float ls = (float)lp[PTC_LOSS_P_LABEL_SMOOTHING];
    // Keras smooths binary targets towards 0.5 and categorical ones towards 1 / num_classes.
    const int categorical =
        kind == PTC_LOSS_CCE || kind == PTC_LOSS_SOFTMAX_CCE || kind == PTC_LOSS_CFCE || kind == PTC_LOSS_SOFTMAX_CFCE;
    loss_args a = {(float)lp[PTC_LOSS_P_DELTA],
                   (float)lp[PTC_LOSS_P_ALPHA],
                   (float)lp[PTC_LOSS_P_BETA],
                   (float)lp[PTC_LOSS_P_GAMMA],
                   1.0f - ls,
                   categorical ? ls / (float)D : 0.5f * ls,
                   lp[PTC_LOSS_P_CLASS_BALANCING] != 0.0,
                   lp[PTC_LOSS_P_IGNORE] != 0.0 && is_sparse(kind),
                   lp[PTC_LOSS_P_PER_ROW] != 0.0,
                   (float)lp[PTC_LOSS_P_IGNORE_CLASS],
                   0,
                   lp[PTC_LOSS_P_PRED_REPEAT] > 1.0 ? 1.0 / lp[PTC_LOSS_P_PRED_REPEAT] : 1.0};
    if (ls == 0.0f) a.ls_a = 1.0f, a.ls_b = 0.0f;  // exactly the targets
    return a;
}

static int ignored(const loss_args *a, float c) {
    return a->ignore && c == a->ignore_class;
}

static int sparse_labels_valid(const float *y, int64_t N, int64_t D, const loss_args *a) {
    for (int64_t n = 0; n < N; n++) {
        float c = y[n];
        if (ignored(a, c)) continue;
        if (!(c >= 0.0f && c < (float)D) || c != floorf(c)) return 0;
    }
    return 1;
}

// NaN-propagating max(x, 0), as torch.maximum (fmaxf would drop a NaN).
static inline float relu_nan(float x) {
    return x > 0.0f || x != x ? x : 0.0f;
}

// d max(x, lo) / dx as torch.maximum: 1 above, 0 below, 0.5 at a tie.
static inline float max_grad(float x, float lo) {
    return x > lo ? 1.0f : (x == lo ? 0.5f : 0.0f);
}

static inline double softplus(double z) {
    return (z > 0.0 ? z : 0.0) + log1p(exp(-fabs(z)));
}

static inline float sigmoidf_stable(float z) {
    return z >= 0.0f ? (float)(1.0 / (1.0 + exp(-(double)z))) : (float)(exp((double)z) / (1.0 + exp((double)z)));
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

static double bce_row(float *dp, const float *p, const float *y, int64_t D, float g, const loss_args *a) {
    const float lo = PTC_EPSILON, hi = 1.0f - PTC_EPSILON;
    const float scale = g / (float)D;
    double sum = 0.0;
    for (int64_t d = 0; d < D; d++) {
        const float t = y[d] * a->ls_a + a->ls_b;
        float o = clipf(p[d], lo, hi);
        sum -= (double)t * log(o) + (1.0 - (double)t) * log(1.0 - (double)o);
        // The clip passes no gradient where it is active (clamp's derivative).
        if (dp) dp[d] = (p[d] >= lo && p[d] <= hi) ? scale * (o - t) / (o * (1.0f - o)) : 0.0f;
    }
    return sum / (double)D;
}

static double sigmoid_bce_row(float *dz, const float *z, const float *y, int64_t D, float g, const loss_args *a) {
    const float scale = g / (float)D;
    double sum = 0.0;
    for (int64_t d = 0; d < D; d++) {
        double zi = z[d];
        const float t = y[d] * a->ls_a + a->ls_b;
        // max(z, 0) - z y + log(1 + exp(-|z|)): stable for any z.
        sum += (zi > 0.0 ? zi : 0.0) - zi * t + log1p(exp(-fabs(zi)));
        if (dz) dz[d] = scale * (sigmoidf_stable(z[d]) - t);
    }
    return sum / (double)D;
}

// Categorical cross-entropy on probabilities: q = p / sum(p), clipped, -sum y log q.
// ys is the target row (D,) or NULL with a class index cls for the sparse kind.
static double cce_row(float *dp, const float *p, const float *ys, int64_t cls, int64_t D, float scale,
                      const loss_args *a) {
    const float lo = PTC_EPSILON, hi = 1.0f - PTC_EPSILON;
    double s = 0.0;
    for (int64_t d = 0; d < D; d++) s += p[d];
    double loss = 0.0, dot = 0.0;
    for (int64_t d = 0; d < D; d++) {
        float t = ys ? ys[d] * a->ls_a + a->ls_b : (d == cls ? 1.0f : 0.0f);
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

static double log_sum_exp(const float *z, int64_t D) {
    float mx = z[0];
    for (int64_t d = 1; d < D; d++) mx = z[d] > mx ? z[d] : mx;
    double se = 0.0;
    for (int64_t d = 0; d < D; d++) se += exp((double)(z[d] - mx));
    return (double)mx + log(se);
}

// Fused softmax + cross-entropy on logits z: loss = sum_d t_d (lse(z) - z_d),
// gradient softmax(z) * sum(t) - t.
static double softmax_cce_row(float *dz, const float *z, const float *ys, int64_t cls, int64_t D, float scale,
                              const loss_args *a) {
    const double lse = log_sum_exp(z, D);
    double loss = 0.0, tsum = 0.0;
    for (int64_t d = 0; d < D; d++) {
        float t = ys ? ys[d] * a->ls_a + a->ls_b : (d == cls ? 1.0f : 0.0f);
        tsum += t;
        if (t != 0.0f) loss += (double)t * (lse - z[d]);
    }
    if (dz)
        for (int64_t d = 0; d < D; d++) {
            float t = ys ? ys[d] * a->ls_a + a->ls_b : (d == cls ? 1.0f : 0.0f);
            float sm = (float)exp((double)z[d] - lse);
            dz[d] = scale * (sm * (float)tsum - t);
        }
    return loss;
}

// keras.losses.huber: 0.5 e^2 within delta, delta (|e| - delta / 2) beyond, mean over the row.
static double huber_row(float *dp, const float *p, const float *y, int64_t D, float g, const loss_args *a) {
    const float dl = a->delta, scale = g / (float)D;
    double sum = 0.0;
    for (int64_t d = 0; d < D; d++) {
        const float e = p[d] - y[d], ae = fabsf(e);
        if (ae <= dl) {
            sum += 0.5 * (double)e * e;
            if (dp) dp[d] = scale * e;
        } else {
            sum += (double)dl * ae - 0.5 * (double)dl * dl;
            if (dp) dp[d] = scale * (e > 0.0f ? dl : (e < 0.0f ? -dl : e));
        }
    }
    return sum / (double)D;
}

// keras.losses.log_cosh: x + softplus(-2 x) - log 2, whose derivative is tanh(x).
static double log_cosh_row(float *dp, const float *p, const float *y, int64_t D, float g) {
    const float scale = g / (float)D;
    double sum = 0.0;
    for (int64_t d = 0; d < D; d++) {
        const double x = (double)(p[d] - y[d]);
        sum += x + softplus(-2.0 * x) - 0.69314718055994530942;  // log 2
        if (dp) dp[d] = scale * (float)tanh(x);
    }
    return sum / (double)D;
}

// keras.losses.kl_divergence: targets and predictions clipped to [eps, 1], summed over the row.
static double kld_row(float *dp, const float *p, const float *y, int64_t D, float g) {
    double sum = 0.0;
    for (int64_t d = 0; d < D; d++) {
        const float t = clipf(y[d], PTC_EPSILON, 1.0f), q = clipf(p[d], PTC_EPSILON, 1.0f);
        sum += (double)t * log((double)(t / q));
        if (dp) dp[d] = (p[d] >= PTC_EPSILON && p[d] <= 1.0f) ? -g * t / q : 0.0f;
    }
    return sum;
}

// keras.losses.poisson: mean of p - t log(p + eps).
static double poisson_row(float *dp, const float *p, const float *y, int64_t D, float g) {
    const float scale = g / (float)D;
    double sum = 0.0;
    for (int64_t d = 0; d < D; d++) {
        const float q = p[d] + PTC_EPSILON;
        sum += (double)p[d] - (double)y[d] * log(q);
        if (dp) dp[d] = scale * (1.0f - y[d] / q);
    }
    return sum / (double)D;
}

// keras.losses.hinge (squared: its square): mean of max(1 - t p, 0).
static double hinge_row(float *dp, const float *p, const float *y, int64_t D, float g, const loss_args *a,
                        int squared) {
    const float scale = g / (float)D;
    double sum = 0.0;
    for (int64_t d = 0; d < D; d++) {
        const float t = a->hinge_pm1 ? 2.0f * y[d] - 1.0f : y[d];
        const float m = relu_nan(1.0f - t * p[d]);
        sum += squared ? (double)m * m : (double)m;
        if (dp) dp[d] = m > 0.0f || m != m ? -scale * t * (squared ? 2.0f * m : 1.0f) : 0.0f;
    }
    return sum / (double)D;
}

// keras.losses.categorical_hinge: max(max((1 - t) p) - sum(t p) + 1, 0) per row.
static double categorical_hinge_row(float *dp, const float *p, const float *y, int64_t D, float g) {
    double pos = 0.0;
    float neg = (1.0f - y[0]) * p[0];
    int64_t at = 0;
    for (int64_t d = 0; d < D; d++) {
        pos += (double)y[d] * p[d];
        const float v = (1.0f - y[d]) * p[d];
        if (d > 0 && (v > neg || v != v) && neg == neg) neg = v, at = d;  // first maximum, NaN wins
    }
    const float loss = relu_nan((float)((double)neg - pos + 1.0));
    if (dp)
        for (int64_t d = 0; d < D; d++)
            dp[d] = loss > 0.0f || loss != loss ? g * ((d == at ? 1.0f - y[d] : 0.0f) - y[d]) : 0.0f;
    return loss;
}

// Keras's normalize: x * min(rsqrt(sum x^2), 1 / eps).
static double inv_norm(const float *x, int64_t D, int *clamped) {
    double ss = 0.0;
    for (int64_t d = 0; d < D; d++) ss += (double)x[d] * x[d];
    const double inv = 1.0 / sqrt(ss), cap = 1.0 / (double)PTC_EPSILON;
    *clamped = !(inv < cap) && inv == inv;
    return *clamped ? cap : inv;
}

// keras.losses.cosine_similarity: -sum(normalize(t) normalize(p)) over the row.
static double cosine_row(float *dp, const float *p, const float *y, int64_t D, float g) {
    int ct, cp;
    const double it = inv_norm(y, D, &ct), ip = inv_norm(p, D, &cp);
    double dot = 0.0;
    for (int64_t d = 0; d < D; d++) dot += (y[d] * it) * (p[d] * ip);
    if (dp)  // d/dp of p * ip: (I - p^ p^T) ip, or ip alone where the cap holds it constant
        for (int64_t d = 0; d < D; d++) dp[d] = (float)(-g * ip * (y[d] * it - (cp ? 0.0 : dot * p[d] * ip)));
    return -dot;
}

// keras.losses.mean_absolute_percentage_error: 100 mean |(t - p) / max(|t|, eps)|.
static double mape_row(float *dp, const float *p, const float *y, int64_t D, float g) {
    const float scale = 100.0f * g / (float)D;
    double sum = 0.0;
    for (int64_t d = 0; d < D; d++) {
        const float den = fmaxf(fabsf(y[d]), PTC_EPSILON), e = p[d] - y[d];
        sum += fabs((double)(e / den));
        if (dp) dp[d] = e > 0.0f ? scale / den : (e < 0.0f ? -scale / den : (e != e ? e : 0.0f));
    }
    return 100.0 * sum / (double)D;
}

// keras.losses.mean_squared_logarithmic_error: mean (log(max(p, eps) + 1) - log(max(t, eps) + 1))^2.
static double msle_row(float *dp, const float *p, const float *y, int64_t D, float g) {
    const float scale = 2.0f * g / (float)D;
    double sum = 0.0;
    for (int64_t d = 0; d < D; d++) {
        const float pp = (p[d] > PTC_EPSILON || p[d] != p[d] ? p[d] : PTC_EPSILON) + 1.0f;
        const float e = logf(pp) - logf((y[d] > PTC_EPSILON || y[d] != y[d] ? y[d] : PTC_EPSILON) + 1.0f);
        sum += (double)e * e;
        if (dp) dp[d] = scale * e / pp * max_grad(p[d], PTC_EPSILON);
    }
    return sum / (double)D;
}

// keras.losses.binary_focal_crossentropy on probabilities (or logits through a sigmoid):
// (1 - p_t)^gamma bce, p_t = t o + (1 - t)(1 - o), weighted alpha / 1 - alpha when balancing.
static double bfce_row(float *dp, const float *p, const float *y, int64_t D, float g, const loss_args *a, int logits) {
    const float lo = PTC_EPSILON, hi = 1.0f - PTC_EPSILON, scale = g / (float)D, gm = a->gamma;
    double sum = 0.0;
    for (int64_t d = 0; d < D; d++) {
        const float t = y[d] * a->ls_a + a->ls_b;
        const float o = logits ? sigmoidf_stable(p[d]) : p[d], oc = clipf(o, lo, hi);
        const float bce = (float)(-((double)t * log(oc) + (1.0 - (double)t) * log(1.0 - (double)oc)));
        const float pt = t * o + (1.0f - t) * (1.0f - o), f = powf(1.0f - pt, gm);
        const float wt = a->balance ? t * a->alpha + (1.0f - t) * (1.0f - a->alpha) : 1.0f;
        sum += (double)wt * f * bce;
        if (dp) {
            const float dbce = (o >= lo && o <= hi) ? (oc - t) / (oc * (1.0f - oc)) : 0.0f;
            const float df = gm != 0.0f ? -gm * powf(1.0f - pt, gm - 1.0f) * (2.0f * t - 1.0f) : 0.0f;
            const float dldo = wt * (df * bce + f * dbce);
            dp[d] = scale * (logits ? dldo * o * (1.0f - o) : dldo);
        }
    }
    return sum / (double)D;
}

// keras.losses.categorical_focal_crossentropy: q = o / sum(o) clipped (o: p, or softmax(z)),
// sum alpha (1 - q)^gamma (-t log q) over the row.
static double cfce_row(float *dp, const float *p, const float *y, int64_t D, float g, const loss_args *a, int logits) {
    const float lo = PTC_EPSILON, hi = 1.0f - PTC_EPSILON, gm = a->gamma, al = a->alpha;
    const double lse = logits ? log_sum_exp(p, D) : 0.0;
    double s = 0.0;
    for (int64_t d = 0; d < D; d++) s += logits ? (double)(float)exp((double)p[d] - lse) : (double)p[d];
    double loss = 0.0, dot = 0.0;
    for (int64_t d = 0; d < D; d++) {
        const float t = y[d] * a->ls_a + a->ls_b;
        const float o = logits ? (float)exp((double)p[d] - lse) : p[d];
        const float q = (float)(o / s), qc = clipf(q, lo, hi);
        const float ce = (float)(-(double)t * log(qc)), mod = powf(1.0f - qc, gm);
        loss += (double)al * mod * ce;
        if (dp) {
            const float dmod = gm != 0.0f ? -gm * powf(1.0f - qc, gm - 1.0f) : 0.0f;
            const float dq = (q >= lo && q <= hi) ? al * (dmod * ce - mod * t / qc) : 0.0f;
            dp[d] = dq;
            dot += (double)dq * q;
        }
    }
    if (!dp) return loss;
    double dot2 = 0.0;  // through q = o / s, then (logits) the softmax
    for (int64_t d = 0; d < D; d++) {
        dp[d] = (float)((dp[d] - dot) / s);
        if (logits) dot2 += (double)dp[d] * (float)exp((double)p[d] - lse);
    }
    for (int64_t d = 0; d < D; d++)
        dp[d] = g * (logits ? (float)exp((double)p[d] - lse) * (float)(dp[d] - dot2) : dp[d]);
    return loss;
}

// keras.losses.dice and tversky over n values (a row, or the whole batch for axis=None):
// 1 - 2 sum(t p) / (sum t + sum p + eps), and 1 - I / (I + alpha fp + beta fn + eps) with
// Keras's fp = sum((1 - p) t), fn = sum(p (1 - t)). Dice is Tversky with alpha = beta = 1/2.
// Predictions repeated to wider targets (loss_args p_once) count once in Dice's sum p, as in Keras.
static double overlap_loss(int tversky, float *dp, const float *p, const float *y, int64_t n, float g,
                           const loss_args *a) {
    double in = 0.0, fp = 0.0, fn = 0.0, st = 0.0, sp = 0.0;
    for (int64_t i = 0; i < n; i++) {
        in += (double)y[i] * p[i];
        st += y[i];
        sp += p[i];
        fp += (1.0 - (double)p[i]) * y[i];
        fn += (double)p[i] * (1.0 - (double)y[i]);
    }
    const double al = tversky ? a->alpha : 0.0, be = tversky ? a->beta : 0.0;
    const double den = tversky ? in + al * fp + be * fn + PTC_EPSILON : st + sp * a->p_once + PTC_EPSILON;
    const double num = tversky ? in : 2.0 * in;
    if (dp)
        for (int64_t i = 0; i < n; i++) {
            const double t = y[i];
            const double dnum = tversky ? t : 2.0 * t, dden = tversky ? t - al * t + be * (1.0 - t) : a->p_once;
            dp[i] = (float)(-g * (dnum * den - num * dden) / (den * den));
        }
    return 1.0 - num / den;
}

static int hinge_targets_binary(const float *y, int64_t n) {
    for (int64_t i = 0; i < n; i++)
        if (y[i] != 0.0f && y[i] != 1.0f) return 0;
    return 1;
}

// One row's loss for every kind but the traced one (PTC_LOSS_NONE: NaN, the caller refuses it).
static double row_loss(int kind, float *dp, const float *p, const float *t, int64_t D, float g, const loss_args *a) {
    switch (kind) {
        case PTC_LOSS_MSE:
            return mse_row(dp, p, t, D, g);
        case PTC_LOSS_MAE:
            return mae_row(dp, p, t, D, g);
        case PTC_LOSS_BCE:
            return bce_row(dp, p, t, D, g, a);
        case PTC_LOSS_SIGMOID_BCE:
            return sigmoid_bce_row(dp, p, t, D, g, a);
        case PTC_LOSS_CCE:
            return cce_row(dp, p, t, 0, D, g, a);
        case PTC_LOSS_SOFTMAX_CCE:
            return softmax_cce_row(dp, p, t, 0, D, g, a);
        case PTC_LOSS_SPARSE_CCE:
            return cce_row(dp, p, NULL, (int64_t)t[0], D, g, a);
        case PTC_LOSS_SOFTMAX_SPARSE_CCE:
            return softmax_cce_row(dp, p, NULL, (int64_t)t[0], D, g, a);
        case PTC_LOSS_HUBER:
            return huber_row(dp, p, t, D, g, a);
        case PTC_LOSS_LOG_COSH:
            return log_cosh_row(dp, p, t, D, g);
        case PTC_LOSS_KLD:
            return kld_row(dp, p, t, D, g);
        case PTC_LOSS_POISSON:
            return poisson_row(dp, p, t, D, g);
        case PTC_LOSS_HINGE:
            return hinge_row(dp, p, t, D, g, a, 0);
        case PTC_LOSS_SQUARED_HINGE:
            return hinge_row(dp, p, t, D, g, a, 1);
        case PTC_LOSS_CATEGORICAL_HINGE:
            return categorical_hinge_row(dp, p, t, D, g);
        case PTC_LOSS_COSINE:
            return cosine_row(dp, p, t, D, g);
        case PTC_LOSS_MAPE:
            return mape_row(dp, p, t, D, g);
        case PTC_LOSS_MSLE:
            return msle_row(dp, p, t, D, g);
        case PTC_LOSS_BFCE:
        case PTC_LOSS_SIGMOID_BFCE:
            return bfce_row(dp, p, t, D, g, a, kind == PTC_LOSS_SIGMOID_BFCE);
        case PTC_LOSS_CFCE:
        case PTC_LOSS_SOFTMAX_CFCE:
            return cfce_row(dp, p, t, D, g, a, kind == PTC_LOSS_SOFTMAX_CFCE);
        case PTC_LOSS_DICE:
        case PTC_LOSS_TVERSKY:
            return overlap_loss(kind == PTC_LOSS_TVERSKY, dp, p, t, D, g, a);
        default:
            return NAN;
    }
}

int ptc_loss_is_metric(int kind) {
    return kind > PTC_LOSS_NONE && kind < PTC_LOSS_COUNT && kind != PTC_LOSS_TRACED && kind != PTC_LOSS_HUBER &&
           kind != PTC_LOSS_BFCE && kind != PTC_LOSS_SIGMOID_BFCE && kind != PTC_LOSS_CFCE &&
           kind != PTC_LOSS_SOFTMAX_CFCE && kind != PTC_LOSS_DICE && kind != PTC_LOSS_TVERSKY;
}

double ptc_loss_row_sum(int kind, double smoothing, const float *pred, const float *y, const float *w, float scale,
                        int64_t N, int64_t D) {
    double lp[PTC_LOSS_N_PARAMS] = {0};
    lp[PTC_LOSS_P_LABEL_SMOOTHING] = smoothing;
    loss_args a = args_init(kind, lp, D);
    const int64_t ys = ptc_loss_y_size(kind, D);
    a.hinge_pm1 = hinge_targets_binary(y, N * ys);
    double sum = 0.0;
    for (int64_t n = 0; n < N; n++) {
        const float *t = y + n * ys;
        // A bad class id (the loss refuses it; this metric may sit beside another loss) is NaN.
        const double row = is_sparse(kind) && !sparse_labels_valid(t, 1, D, &a)
                               ? NAN
                               : row_loss(kind, NULL, pred + n * D, t, D, 0.0f, &a);
        sum += (w ? (double)w[n] : 1.0) * scale * row;
    }
    return sum;
}

double ptc_loss_divisor(int red, double rows, double wsum, int weighted) {
    if (red == PTC_REDUCTION_SUM) return 1.0;
    return red == PTC_REDUCTION_MEAN_WITH_SAMPLE_WEIGHT && weighted ? wsum : rows;
}

static int reduction_of(const double *params) {
    const double r = params ? params[PTC_LOSS_P_REDUCTION] : 0.0;
    return r == (double)PTC_REDUCTION_SUM || r == (double)PTC_REDUCTION_MEAN_WITH_SAMPLE_WEIGHT
               ? (int)r
               : PTC_REDUCTION_SUM_OVER_BATCH_SIZE;
}

ptc_status ptc_loss_compute(int kind, const double *params, double *loss, float *dpred, const float *pred,
                            const float *y, const float *w, int64_t N, int64_t D) {
    if (N <= 0 || D <= 0 || kind <= PTC_LOSS_NONE || kind >= PTC_LOSS_COUNT || kind == PTC_LOSS_TRACED)
        return PTC_ERR_VALUE;
    loss_args a = args_init(kind, params, D);
    const int red = reduction_of(params);
    const int sparse = is_sparse(kind);
    if (sparse && !sparse_labels_valid(y, N, D, &a)) return PTC_ERR_LABEL;
    const int64_t ys = sparse ? 1 : D;
    if (kind == PTC_LOSS_HINGE || kind == PTC_LOSS_SQUARED_HINGE) a.hinge_pm1 = hinge_targets_binary(y, N * D);
    // Keras's ignore_class masks the ignored rows out: their weights become 0 and the batch's
    // row count (sum_over_batch_size's divisor) the number of valid rows.
    double rows = (double)N, wsum = 0.0;
    if (a.ignore) {
        rows = 0.0;
        for (int64_t n = 0; n < N; n++) rows += !ignored(&a, y[n]);
    }
    for (int64_t n = 0; n < N; n++)
        if (w && !(a.ignore && ignored(&a, y[n]))) wsum += w[n];
    if ((kind == PTC_LOSS_DICE || kind == PTC_LOSS_TVERSKY) && !a.per_row) {
        // axis=None: one value v for the batch; Keras weighs it by each sample's weight, so the
        // batch loss is v sum(w) / divisor (v itself without weights, whatever the reduction).
        const double div = ptc_loss_divisor(red, (double)N, wsum, w != NULL);
        const double f = !w ? 1.0 : (div != 0.0 ? wsum / div : 0.0);
        *loss = f * overlap_loss(kind == PTC_LOSS_TVERSKY, dpred, pred, y, N * D, (float)f, &a);
        return PTC_OK;
    }
    const double div = ptc_loss_divisor(red, rows, wsum, w != NULL);
    double sum = 0.0;
    for (int64_t n = 0; n < N; n++) {
        // The sum of weighted row losses over the reduction's divisor (0 when it is 0, as
        // Keras's divide_no_nan).
        float *dp = dpred ? dpred + n * D : NULL;
        const float *p = pred + n * D, *t = y + n * ys;
        if (a.ignore && ignored(&a, t[0])) {
            if (dp)
                for (int64_t d = 0; d < D; d++) dp[d] = 0.0f;
            continue;
        }
        const float wn = w ? w[n] : 1.0f, g = div != 0.0 ? (float)(wn / div) : 0.0f;
        sum += (double)wn * row_loss(kind, dp, p, t, D, g, &a);
    }
    *loss = div != 0.0 ? sum / div : 0.0;
    return PTC_OK;
}
