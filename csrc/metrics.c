// Metric statistics accumulated in C inside the epoch loop. Each metric owns a
// few slots of the pass's sums (weighted counts or weighted sums); Python turns
// them into Keras's values once per epoch (pytrainc/metrics.py).
#include <math.h>

#include "metrics.h"

#define beats ptc_metric_beats

static int64_t argmax(const float *x, int64_t D) {
    int64_t best = 0;
    for (int64_t d = 1; d < D; d++)
        if (beats(x[d], x[best])) best = d;
    return best;
}

// tf.math.in_top_k: the target is in the top k unless k or more classes score strictly higher.
// A NaN target score is never in the top k (TensorFlow, and Keras's torch in_top_k); a NaN
// elsewhere scores higher than any number (torch.topk's order).
static int in_top_k(const float *p, int64_t target, int64_t D, int64_t k) {
    if (p[target] != p[target]) return 0;
    int64_t higher = 0;
    for (int64_t d = 0; d < D; d++) higher += beats(p[d], p[target]);
    return higher < k;
}

// Keras's AUC thresholds: -eps, 1/(n-1), ..., (n-2)/(n-1), 1 + eps (as float32).
static float auc_threshold(int64_t i, int64_t n) {
    if (i == 0) return -PTC_EPSILON;
    if (i == n - 1) return 1.0f + PTC_EPSILON;
    return (float)((double)i / (double)(n - 1));
}

// Number of thresholds strictly below p, in [0, n]: the bucket of p.
static int64_t auc_bucket(float p, int64_t n) {
    int64_t lo = 0, hi = n;  // invariant: thresholds [0, lo) are < p, [hi, n) are >= p
    while (lo < hi) {
        int64_t mid = (lo + hi) / 2;
        if (p > auc_threshold(mid, n))
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

// keras/src/metrics/correlation_metrics.py over one row of D: Pearson's mean of the standardized
// products (population std), or the concordance coefficient with Keras's covariance term
// (y_true - mean(y_pred)) * (y_pred - mean(y_pred)) and epsilon in the denominator.
static double row_correlation(const float *p, const float *t, int64_t D, int64_t concordance) {
    double mt = 0.0, mp = 0.0, vt = 0.0, vp = 0.0, cov = 0.0;
    for (int64_t d = 0; d < D; d++) mt += t[d], mp += p[d];
    mt /= (double)D;
    mp /= (double)D;
    for (int64_t d = 0; d < D; d++) {
        vt += (t[d] - mt) * (t[d] - mt);
        vp += (p[d] - mp) * (p[d] - mp);
        cov += concordance ? (t[d] - mp) * (p[d] - mp) : (t[d] - mt) * (p[d] - mp);
    }
    vt /= (double)D;
    vp /= (double)D;
    if (!concordance) return cov / (double)D / (sqrt(vt) * sqrt(vp));
    return 2.0 * cov / (double)D / (vt + vp + (mt - mp) * (mt - mp) + PTC_EPSILON);
}

int64_t ptc_metric_slots(const ptc_metric *m, int64_t D) {
    if (ptc_metric_is_confusion(m->kind)) return ptc_metric_confusion_slots(m, D);
    switch (m->kind) {
        case PTC_METRIC_R2:
            return 4 * D + 1;
        case PTC_METRIC_LOSS_MEAN_IGNORE:
        case PTC_METRIC_LOSS_BATCH_MEAN:
            return 2;
        case PTC_METRIC_CONFUSION:
            return 4;
        case PTC_METRIC_CLASS_CONFUSION:
            return 3 * D;
        case PTC_METRIC_AUC:
            return 2 * (m->k + 1);
        default:
            return 1;
    }
}

ptc_status ptc_metric_check(const ptc_metric *m, int64_t D, int64_t ys) {
    if (ptc_metric_is_confusion(m->kind)) return ptc_metric_confusion_check(m, D, ys);
    switch (m->kind) {
        case PTC_METRIC_ACCURACY:
        case PTC_METRIC_R2:
            return ys == D ? PTC_OK : PTC_ERR_VALUE;
        case PTC_METRIC_CORRELATION:
            return ys == D && (m->k == 0 || m->k == 1) ? PTC_OK : PTC_ERR_VALUE;
        case PTC_METRIC_SPARSE_TOP_K_IDS:
            return ys == 1 && m->k >= 1 ? PTC_OK : PTC_ERR_VALUE;
        case PTC_METRIC_LOSS_MEAN_IGNORE:
            return m->k <= INT32_MAX && ptc_loss_is_metric((int)m->k) && ys == 1 && ptc_loss_y_size((int)m->k, D) == 1
                       ? PTC_OK
                       : PTC_ERR_VALUE;
        case PTC_METRIC_SPARSE_CATEGORICAL_ACCURACY:
        case PTC_METRIC_SPARSE_TOP_K:
            return ys == 1 ? PTC_OK : PTC_ERR_VALUE;
        case PTC_METRIC_TOP_K:
            return ys == D && m->k >= 1 ? PTC_OK : PTC_ERR_VALUE;
        case PTC_METRIC_CONFUSION:
            return ys == D && m->k < D ? PTC_OK : PTC_ERR_VALUE;
        case PTC_METRIC_CLASS_CONFUSION:
            return (ys == D || ys == 1) ? PTC_OK : PTC_ERR_VALUE;
        case PTC_METRIC_AUC:
            return ys == D && m->k >= 2 ? PTC_OK : PTC_ERR_VALUE;
        case PTC_METRIC_BINARY_ACCURACY:
        case PTC_METRIC_CATEGORICAL_ACCURACY:
        case PTC_METRIC_MSE:
        case PTC_METRIC_MAE:
            return ys == D ? PTC_OK : PTC_ERR_VALUE;
        case PTC_METRIC_TRACED_MEAN:  // reads its own buffer (k), checked by ptc_plan_set_metrics
            return PTC_OK;
        case PTC_METRIC_LOSS_BATCH_MEAN: {
            const int64_t kind = m->k & 0xffffffff, mode = m->k >> 32;
            return m->k >= 0 && ptc_loss_is_metric((int)kind) && ys == ptc_loss_y_size((int)kind, D) && mode <= 2 &&
                           isfinite(m->threshold)
                       ? PTC_OK
                       : PTC_ERR_VALUE;
        }
        case PTC_METRIC_LOSS_MEAN:
            return m->k <= INT32_MAX && ptc_loss_is_metric((int)m->k) && ys == ptc_loss_y_size((int)m->k, D) &&
                           isfinite(m->threshold)
                       ? PTC_OK
                       : PTC_ERR_VALUE;
        default:
            return PTC_ERR_VALUE;
    }
}

void ptc_metric_accumulate(const ptc_metric *m, const float *pred, const float *y, int64_t ys, const float *w,
                           float scale, int64_t N, int64_t D, double *acc) {
    if (m->kind == PTC_METRIC_LOSS_MEAN) {  // Keras's loss metrics: the weighted mean of the rows' losses
        acc[0] += ptc_loss_row_sum((int)m->k, m->threshold, pred, y, w, scale, N, D);
        return;
    }
    if (m->kind == PTC_METRIC_LOSS_BATCH_MEAN) {
        // A built-in Loss given as a metric (Keras's MeanMetricWrapper of it): the loss reduces the
        // batch, unweighted, to one value (mode 0: its mean, sum_over_batch_size; 1: its sum), which a
        // Mean averages over the batches, each counting once or by the batch's weight sum; mode 2
        // (reduction "none") keeps the per-sample values, a weighted mean over the samples.
        const int mode = (int)(m->k >> 32);
        const double samples = (double)N * (double)scale;
        double wsum = samples;
        if (w) {
            wsum = 0.0;
            for (int64_t n = 0; n < N; n++) wsum += (double)w[n] * (double)scale;
        }
        if (mode == 2) {
            acc[0] += ptc_loss_row_sum((int)(m->k & 0xffffffff), m->threshold, pred, y, w, scale, N, D);
            acc[1] += wsum;
            return;
        }
        const double sum = ptc_loss_row_sum((int)(m->k & 0xffffffff), m->threshold, pred, y, NULL, scale, N, D);
        const double value = mode == 1 ? sum : (samples > 0.0 ? sum / samples : 0.0);
        acc[0] += value * (w ? wsum : 1.0);
        acc[1] += w ? wsum : 1.0;
        return;
    }
    if (m->kind == PTC_METRIC_LOSS_MEAN_IGNORE) {
        // Keras's sparse cross-entropy with ignore_class: an ignored row's loss is 0; its weight leaves the
        // denominator only when there are sample weights (reduce_to_samplewise_values masks the weights).
        for (int64_t n = 0; n < N; n++) {
            const double wn = (w ? (double)w[n] : 1.0) * scale;
            if (y[n] == (float)m->threshold) {
                if (!w) acc[1] += wn;
                continue;
            }
            acc[0] += ptc_loss_row_sum((int)m->k, 0.0, pred + n * D, y + n, w ? w + n : NULL, scale, 1, D);
            acc[1] += wn;
        }
        return;
    }
    if (ptc_metric_is_confusion(m->kind)) {
        ptc_metric_confusion_accumulate(m, pred, y, ys, w, N, D, acc);
        return;
    }
    for (int64_t n = 0; n < N; n++) {
        const float *p = pred + n * D, *t = y + n * ys;
        const double wn = (w ? (double)w[n] : 1.0) * scale;
        double row = 0.0;
        switch (m->kind) {
            case PTC_METRIC_BINARY_ACCURACY:  // mean over the last axis of (p > threshold) == y
                for (int64_t d = 0; d < D; d++) row += ((p[d] > (float)m->threshold ? 1.0f : 0.0f) == t[d]);
                acc[0] += wn * row / (double)D;
                break;
            case PTC_METRIC_CATEGORICAL_ACCURACY:
                acc[0] += wn * (argmax(p, D) == argmax(t, D));
                break;
            case PTC_METRIC_SPARSE_CATEGORICAL_ACCURACY:
                acc[0] += wn * ((float)argmax(p, D) == t[0]);
                break;
            case PTC_METRIC_MSE:
                for (int64_t d = 0; d < D; d++) row += (double)(p[d] - t[d]) * (p[d] - t[d]);
                acc[0] += wn * row / (double)D;
                break;
            case PTC_METRIC_MAE:
                for (int64_t d = 0; d < D; d++) row += fabs((double)p[d] - t[d]);
                acc[0] += wn * row / (double)D;
                break;
            case PTC_METRIC_TOP_K:
                acc[0] += wn * in_top_k(p, argmax(t, D), D, m->k);
                break;
            case PTC_METRIC_SPARSE_TOP_K: {
                int64_t c = (int64_t)t[0];
                acc[0] += wn * (c >= 0 && c < D && in_top_k(p, c, D, m->k));
                break;
            }
            case PTC_METRIC_ACCURACY:  // keras.metrics.Accuracy: mean over the last axis of y_true == y_pred
                for (int64_t d = 0; d < D; d++) row += p[d] == t[d];
                acc[0] += wn * row / (double)D;
                break;
            case PTC_METRIC_SPARSE_TOP_K_IDS:  // from_sorted_ids: y_pred holds class ids, best first
                for (int64_t d = 0; d < (m->k < D ? m->k : D); d++) row += p[d] == t[0];
                acc[0] += wn * (row > 0.0);
                break;
            case PTC_METRIC_CORRELATION:
                acc[0] += wn * row_correlation(p, t, D, m->k);
                break;
            case PTC_METRIC_R2:  // keras.metrics.R2Score's sums; the last slot counts elements, unweighted
                for (int64_t d = 0; d < D; d++) {
                    const double wt = (w ? (double)w[n] : 1.0) * t[d], e = (double)t[d] - p[d];
                    acc[4 * d] += wt;
                    acc[4 * d + 1] += wt * t[d];
                    acc[4 * d + 2] += (w ? (double)w[n] : 1.0) * e * e;
                    acc[4 * d + 3] += w ? (double)w[n] : 1.0;
                }
                acc[4 * D] += (double)D;
                break;
            case PTC_METRIC_CONFUSION:  // [TP, FP, FN, TN] over elements (one column when k >= 0)
                // Counts (TruePositives...): every row of a multi-dimensional output counts whole, as in Keras.
                for (int64_t d = m->k >= 0 ? m->k : 0; d < (m->k >= 0 ? m->k + 1 : D); d++) {
                    int pp = p[d] > (float)m->threshold, tp = t[d] != 0.0f;
                    acc[pp ? (tp ? 0 : 1) : (tp ? 2 : 3)] += w ? (double)w[n] : 1.0;
                }
                break;
            case PTC_METRIC_CLASS_CONFUSION: {  // per class [TP, FP, FN]; F1Score
                // Keras 3's FBetaScore: without a threshold a class is predicted where its value is the
                // row's maximum and not zero (so an all-zero row predicts nothing); a single column is
                // the positive class, its target 0 or 1 (integer class ids only with D > 1).
                const int by_argmax = isnan(m->threshold), sparse = ys == 1 && D > 1;
                const int64_t pa = by_argmax ? argmax(p, D) : -1, ta = sparse ? (int64_t)t[0] : -1;
                for (int64_t d = 0; d < D; d++) {
                    int pp = by_argmax ? p[d] == p[pa] && fabsf(p[d]) > 1e-9f : p[d] > (float)m->threshold;
                    int tp = sparse ? d == ta : t[d] != 0.0f;
                    if (pp && tp)
                        acc[3 * d] += wn;
                    else if (pp)
                        acc[3 * d + 1] += wn;
                    else if (tp)
                        acc[3 * d + 2] += wn;
                }
                break;
            }
            case PTC_METRIC_AUC:  // histograms of buckets: positives in [0, k], negatives in [k+1, 2k+1]
                for (int64_t d = 0; d < D; d++) {
                    int64_t b = auc_bucket(p[d], m->k);
                    acc[(t[d] != 0.0f ? 0 : m->k + 1) + b] += wn;
                }
                break;
        }
    }
}
