// THRESHOLD_TABLE: [TP, FP, FN, TN] over a table of thresholds of any length and spacing, as
// keras/src/metrics/metrics_utils.py update_confusion_matrix_variables (its unoptimized path:
// y_pred > threshold in float32, predictions not clipped). Per column and label class, the
// table's n + 1 buckets count the predictions above exactly b thresholds (the layout of
// HISTOGRAMS), so cumulative sums give every threshold's counts and Python picks columns
// (class_id, multi_label). The table is sorted (Python keeps the user's order); it lives in the
// plan, set once (ptc_plan_set_metric_table), so a batch allocates nothing.
// k = n | flags << 32 | top_k << 40; threshold = the metric's first entry in the plan's table.
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "metrics.h"
#include "ops.h"

enum { TABLE_SIGMOID = 1 };  // AUC(from_logits=True): the sigmoid of each prediction

#define TABLE_N(k) ((k) & 0xffffffffLL)
#define TABLE_FLAGS(k) (((k) >> 32) & 0xff)
#define TABLE_TOP_K(k) ((k) >> 40)

int64_t ptc_metric_table_slots(const ptc_metric *m, int64_t D) {
    return 2 * (TABLE_N(m->k) + 1) * D;
}

ptc_status ptc_metric_table_shape_check(const ptc_metric *m, int64_t D, int64_t ys) {
    const int64_t n = TABLE_N(m->k), flags = TABLE_FLAGS(m->k), top_k = TABLE_TOP_K(m->k);
    return n >= 1 && n <= 10000000 && (flags & ~TABLE_SIGMOID) == 0 && top_k >= 0 && top_k <= 1000000 && ys == D
               ? PTC_OK
               : PTC_ERR_VALUE;
}

ptc_status ptc_plan_set_metric_table(ptc_plan *p, const float *table, int64_t n) {
    if (n < 0 || n > INT32_MAX || (n > 0 && !table)) return PTC_ERR_VALUE;
    for (int64_t i = 0; i < n; i++)
        if (isnan(table[i])) return PTC_ERR_VALUE;
    float *copy = NULL;
    if (n > 0) {
        copy = malloc((size_t)n * sizeof(float));
        if (!copy) return PTC_ERR_NOMEM;
        memcpy(copy, table, (size_t)n * sizeof(float));
    }
    free(p->metric_table);
    p->metric_table = copy;
    p->n_metric_table = n;
    p->n_metrics = 0;  // the metrics read the old table: ptc_plan_set_metrics sets them again
    ptc_plan_layout(p);
    return PTC_OK;
}

ptc_status ptc_metric_table_check(const ptc_plan *p, const ptc_metric *m) {
    if (m->kind != PTC_METRIC_THRESHOLD_TABLE) return PTC_OK;
    const double start = m->threshold;
    const int64_t n = TABLE_N(m->k);
    if (!(start >= 0.0) || start != floor(start) || start + (double)n > (double)p->n_metric_table) return PTC_ERR_VALUE;
    for (int64_t i = (int64_t)start + 1; i < (int64_t)start + n; i++)
        if (p->metric_table[i - 1] > p->metric_table[i]) return PTC_ERR_VALUE;  // sorted
    return PTC_OK;
}

void ptc_metric_table_resolve(ptc_plan *p) {
    for (int i = 0; i < p->n_metrics; i++)
        if (p->metrics[i].kind == PTC_METRIC_THRESHOLD_TABLE)
            p->metrics[i].table = p->metric_table + (int64_t)p->metrics[i].threshold;
}

// How many of the n sorted thresholds lie strictly below v (0 for NaN: v > t is false).
static int64_t below(const float *table, int64_t n, float v) {
    if (v != v) return 0;
    int64_t lo = 0, hi = n;
    while (lo < hi) {
        const int64_t mid = lo + (hi - lo) / 2;
        if (table[mid] < v)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

// Keras's _filter_top_k: outside the row's top_k (ties to the first) a prediction becomes -1e10.
static float top_k_value(const float *p, int64_t d, int64_t k, int64_t D) {
    int64_t higher = 0;
    for (int64_t e = 0; e < D && higher < k; e++) higher += ptc_metric_beats(p[e], p[d]) || (e < d && p[e] == p[d]);
    return higher < k ? p[d] : -1e10f;
}

void ptc_metric_table_accumulate(const ptc_metric *m, const float *p, const float *t, double wn, int64_t D,
                                 double *acc) {
    const int64_t n = TABLE_N(m->k), flags = TABLE_FLAGS(m->k), top_k = TABLE_TOP_K(m->k);
    for (int64_t d = 0; d < D; d++) {
        float v = top_k > 0 ? top_k_value(p, d, top_k, D) : p[d];
        if (flags & TABLE_SIGMOID) v = 1.0f / (1.0f + expf(-v));
        acc[(2 * d + (t[d] != 0.0f ? 0 : 1)) * (n + 1) + below(m->table, n, v)] += wn;
    }
}
