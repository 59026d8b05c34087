// Helpers shared by the metric kernels (metrics.c, metrics_confusion.c); not part of the
// library's interface (ptc.h).
#ifndef PTC_METRICS_H
#define PTC_METRICS_H

#include "ptc.h"

// NaN sorts above every number, as in numpy.argmax and torch.argmax/topk (Keras's
// ops on the torch backend): the first maximum, or the first NaN, wins.
static inline int ptc_metric_beats(float v, float best) {
    return v > best || (v != v && best == best);
}

// The kinds of metrics_confusion.c: ptc_metric_slots, _check and _accumulate defer to these.
int ptc_metric_is_confusion(int kind);
int64_t ptc_metric_confusion_slots(const ptc_metric *m, int64_t D);
ptc_status ptc_metric_confusion_check(const ptc_metric *m, int64_t D, int64_t ys);
void ptc_metric_confusion_accumulate(const ptc_metric *m, const float *pred, const float *y, int64_t ys, const float *w,
                                     int64_t N, int64_t D, double *acc);

// THRESHOLD_TABLE (metrics_table.c): per column counts over a sorted table of any thresholds.
int64_t ptc_metric_table_slots(const ptc_metric *m, int64_t D);
ptc_status ptc_metric_table_shape_check(const ptc_metric *m, int64_t D, int64_t ys);
void ptc_metric_table_accumulate(const ptc_metric *m, const float *p, const float *t, double wn, int64_t D,
                                 double *acc);

#endif
