// Confusion-matrix metrics accumulated in C: Keras 3's IoU family (a num_classes^2 matrix),
// the threshold histograms of AUC and the sensitivity/specificity family (per column, so
// that class_id and multi_label pick columns in Python), and Precision/Recall with top_k.
// They count elements: each row weighs its sample weight as is (no 1/rows scale), as Keras
// counts every element of a multi-dimensional output.
#include <math.h>

#include "metrics.h"

#define LOW32(k) ((k) & 0xffffffffLL)
#define HIGH32(k) ((k) >> 32)

// CONFUSION_MATRIX flags (k >> 32).
enum { IOU_ONEHOT_TRUE = 1, IOU_ONEHOT_PRED = 2, IOU_INT_WEIGHTS = 4, IOU_BINARY = 8 };
// HISTOGRAMS flags (k >> 32).
enum { HIST_SIGMOID = 1, HIST_EXACT_ENDS = 2 };

int ptc_metric_is_confusion(int kind) {
    return kind == PTC_METRIC_CONFUSION_MATRIX || kind == PTC_METRIC_HISTOGRAMS || kind == PTC_METRIC_CONFUSION_TOP_K ||
           kind == PTC_METRIC_THRESHOLD_TABLE;
}

int64_t ptc_metric_confusion_slots(const ptc_metric *m, int64_t D) {
    switch (m->kind) {
        case PTC_METRIC_CONFUSION_MATRIX:
            return LOW32(m->k) * LOW32(m->k);
        case PTC_METRIC_HISTOGRAMS:
            return 2 * (LOW32(m->k) + 1) * D;
        case PTC_METRIC_THRESHOLD_TABLE:
            return ptc_metric_table_slots(m, D);
        default:  // CONFUSION_TOP_K
            return 4;
    }
}

ptc_status ptc_metric_confusion_check(const ptc_metric *m, int64_t D, int64_t ys) {
    const int64_t lo = LOW32(m->k), hi = HIGH32(m->k);
    switch (m->kind) {
        case PTC_METRIC_CONFUSION_MATRIX: {
            if (lo < 1 || lo > 4096 || hi < 0 || hi > 15) return PTC_ERR_VALUE;
            const int64_t positions_true = (hi & IOU_ONEHOT_TRUE) ? 1 : ys,
                          positions_pred = (hi & IOU_ONEHOT_PRED) ? 1 : D;
            return positions_true == positions_pred ? PTC_OK : PTC_ERR_VALUE;
        }
        case PTC_METRIC_HISTOGRAMS:
            return lo >= 1 && lo <= 1000000 && hi >= 0 && hi <= 3 && ys == D ? PTC_OK : PTC_ERR_VALUE;
        case PTC_METRIC_CONFUSION_TOP_K:
            return lo >= 1 && hi >= 0 && hi <= D && ys == D ? PTC_OK : PTC_ERR_VALUE;
        case PTC_METRIC_THRESHOLD_TABLE:
            return ptc_metric_table_shape_check(m, D, ys);
        default:
            return PTC_ERR_VALUE;
    }
}

// A class id as Keras's cast to int32 reads it (toward zero); -1 (out of range) for NaN or huge values.
static int64_t class_of(float v) {
    return (v == v && fabsf(v) < 2e9f) ? (int64_t)v : -1;
}

static int64_t argmax_of(const float *x, int64_t D) {
    int64_t best = 0;
    for (int64_t d = 1; d < D; d++)
        if (ptc_metric_beats(x[d], x[best])) best = d;
    return best;
}

// keras/src/metrics/iou_metrics.py _IoUBase.update_state: pairs (true class, predicted class)
// outside [0, C) or with the true class ignore_class add nothing; with Keras's default int
// dtype a sample weight is truncated to an integer.
static void iou_accumulate(const ptc_metric *m, const float *p, const float *t, int64_t ys, double wn, int64_t D,
                           double *acc) {
    const int64_t C = LOW32(m->k), flags = HIGH32(m->k);
    const int64_t positions = (flags & IOU_ONEHOT_PRED) ? 1 : D;
    if (flags & IOU_INT_WEIGHTS) wn = trunc(wn);
    for (int64_t i = 0; i < positions; i++) {
        const int64_t ct = (flags & IOU_ONEHOT_TRUE) ? argmax_of(t, ys) : class_of(t[i]);
        int64_t cp;
        if (flags & IOU_ONEHOT_PRED)
            cp = argmax_of(p, D);
        else if (flags & IOU_BINARY)
            cp = p[i] >= (float)m->threshold;
        else
            cp = class_of(p[i]);
        if (ct < 0 || ct >= C || cp < 0 || cp >= C) continue;
        if (!(flags & IOU_BINARY) && !isnan(m->threshold) && (double)ct == m->threshold) continue;
        acc[ct * C + cp] += wn;
    }
}

// keras/src/metrics/metrics_utils.py _update_confusion_matrix_variables_optimized: the bucket of
// clip(p, 0, 1) is ceil(p * (n - 1)) - 1 in float32 (0 at least with AUC's thresholds -eps and
// 1 + eps; -1, above no threshold, with the exact ends 0 and 1). One threshold (n = 1) is 0.5.
static int64_t bucket_of(float p, int64_t n, int exact_ends) {
    if (n == 1) return p > 0.5f ? 0 : -1;
    const float c = p < 0.0f ? 0.0f : (p > 1.0f ? 1.0f : p);
    int64_t b = (int64_t)ceilf(c * (float)(n - 1)) - 1;
    if (!exact_ends && b < 0) b = 0;
    return b;
}

static void histograms_accumulate(const ptc_metric *m, const float *p, const float *t, double wn, int64_t D,
                                  double *acc) {
    const int64_t n = LOW32(m->k), flags = HIGH32(m->k);
    for (int64_t d = 0; d < D; d++) {
        const float v = (flags & HIST_SIGMOID) ? 1.0f / (1.0f + expf(-p[d])) : p[d];
        const int64_t b = bucket_of(v, n, (int)(flags & HIST_EXACT_ENDS));
        acc[(2 * d + (t[d] != 0.0f ? 0 : 1)) * (n + 1) + b + 1] += wn;  // slot 0: below every threshold
    }
}

// Keras's _filter_top_k: outside the row's top_k a prediction becomes -1e10, then it is thresholded.
static void top_k_accumulate(const ptc_metric *m, const float *p, const float *t, double wn, int64_t D, double *acc) {
    const int64_t k = LOW32(m->k), class_id = HIGH32(m->k) - 1;
    for (int64_t d = class_id >= 0 ? class_id : 0; d < (class_id >= 0 ? class_id + 1 : D); d++) {
        int64_t higher = 0;
        for (int64_t e = 0; e < D; e++) higher += ptc_metric_beats(p[e], p[d]) || (e < d && p[e] == p[d]);
        const float v = higher < k ? p[d] : -1e10f;
        const int pp = v > (float)m->threshold, tp = t[d] != 0.0f;
        acc[pp ? (tp ? 0 : 1) : (tp ? 2 : 3)] += wn;
    }
}

void ptc_metric_confusion_accumulate(const ptc_metric *m, const float *pred, const float *y, int64_t ys, const float *w,
                                     int64_t N, int64_t D, double *acc) {
    for (int64_t n = 0; n < N; n++) {
        const float *p = pred + n * D, *t = y + n * ys;
        const double wn = w ? (double)w[n] : 1.0;
        if (m->kind == PTC_METRIC_CONFUSION_MATRIX)
            iou_accumulate(m, p, t, ys, wn, D, acc);
        else if (m->kind == PTC_METRIC_HISTOGRAMS)
            histograms_accumulate(m, p, t, wn, D, acc);
        else if (m->kind == PTC_METRIC_THRESHOLD_TABLE)
            ptc_metric_table_accumulate(m, p, t, wn, D, acc);
        else
            top_k_accumulate(m, p, t, wn, D, acc);
    }
}
