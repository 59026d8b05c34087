// The loss heads of a batch: each output's loss (built-in or traced) and its metrics, with
// Keras 3's output masks (losses/loss.py apply_mask): their setup (a head's loss, the predictions
// and targets it reads) and, per batch, ptc_plan_heads_loss, which the engine's loops (engine.c)
// call after the forward pass and which allocates nothing.
#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "ops.h"

// ---------------------------------------------------------------------------
// Setting the heads up: each output's loss, the predictions and targets it and its metrics read.

// Installs head h (h <= n_heads) and lays the heads out again; on failure nothing changes.
static ptc_status set_head(ptc_plan *p, int h, const ptc_head *hd) {
    if (h < 0 || h >= p->n_outputs || h > p->n_heads || !isfinite(hd->weight) || hd->weight < 0.0) return PTC_ERR_VALUE;
    const ptc_head old = p->heads[h];
    const int old_n = p->n_heads;
    const int64_t old_y = p->y_size;
    p->heads[h] = *hd;
    p->heads[h].mask_buf = -1;  // set after the loss (ptc_plan_set_head_mask)
    if (h == p->n_heads) p->n_heads++;
    ptc_plan_layout(p);
    ptc_status st = ptc_plan_grow_rows(p);
    if (st != PTC_OK) {
        p->heads[h] = old;
        p->n_heads = old_n;
        ptc_plan_layout(p);
        p->y_size = old_y;
    }
    return st;
}

ptc_status ptc_plan_set_head_targets_buf(ptc_plan *p, int h, int y_buf) {
    if (h < 0 || h >= p->n_heads || !ptc_plan_engine_owned(p, y_buf) || p->buf_size[y_buf] != p->heads[h].y_size)
        return PTC_ERR_VALUE;
    p->heads[h].y_buf = y_buf;
    return PTC_OK;
}

// The predictions head h compares with its targets (pred_buf, or the output for -1): its buffer,
// or -1 unless it is the output or a copy repeated to a multiple of the output's size.
static int head_preds(const ptc_plan *p, int h, int pred_buf) {
    const int out = p->outputs[h];
    if (pred_buf < 0) return out;
    if (pred_buf >= p->n_bufs || pred_buf == out || p->buf_size[pred_buf] % p->buf_size[out] != 0) return -1;
    return pred_buf;
}

ptc_status ptc_plan_set_head_metric_targets(ptc_plan *p, int h, int y_buf) {
    if (h < 0 || h >= p->n_heads || y_buf < 0 || y_buf >= p->n_bufs ||
        p->buf_size[y_buf] != p->buf_size[p->heads[h].pred_buf])
        return PTC_ERR_VALUE;
    p->heads[h].metric_y_buf = y_buf;
    return PTC_OK;
}

ptc_status ptc_plan_set_head_traced_loss(ptc_plan *p, int h, int loss_buf, int y_buf, int pred_buf, int64_t last_dim,
                                         double weight) {
    if (h < 0 || h >= p->n_outputs) return PTC_ERR_VALUE;
    const int pred = head_preds(p, h, pred_buf);
    if (pred < 0 || loss_buf < 0 || loss_buf >= p->n_bufs || !ptc_plan_engine_owned(p, y_buf)) return PTC_ERR_VALUE;
    const int64_t out = p->buf_size[pred];
    if (last_dim <= 0 || out % last_dim != 0) return PTC_ERR_VALUE;
    const ptc_head hd = {.kind = PTC_LOSS_TRACED,
                         .loss_buf = loss_buf,
                         .y_buf = y_buf,
                         .rows = out / last_dim,
                         .y_size = p->buf_size[y_buf],
                         .weight = weight,
                         .loss_slot = -1,
                         .pred_buf = pred,
                         .metric_y_buf = -1};
    return set_head(p, h, &hd);
}

ptc_status ptc_plan_set_head_loss(ptc_plan *p, int h, int kind, int loss_buf, int pred_buf, int64_t last_dim,
                                  double weight) {
    if (kind <= PTC_LOSS_NONE || kind >= PTC_LOSS_COUNT || kind == PTC_LOSS_TRACED) return PTC_ERR_VALUE;
    if (h < 0 || h >= p->n_outputs) return PTC_ERR_VALUE;
    const int pred = head_preds(p, h, pred_buf);
    if (pred < 0 || loss_buf < 0 || loss_buf >= p->n_bufs || p->buf_size[loss_buf] != p->buf_size[pred] ||
        (pred_buf >= 0 && loss_buf != pred_buf))
        return PTC_ERR_VALUE;
    if (last_dim <= 0 || p->buf_size[loss_buf] % last_dim != 0) return PTC_ERR_VALUE;
    const int64_t rows = p->buf_size[loss_buf] / last_dim;
    int64_t y_size;
    if (!ptc_mul_ok(rows, ptc_loss_y_size(kind, last_dim), &y_size)) return PTC_ERR_SIZE;
    const ptc_head hd = {.kind = kind,
                         .loss_buf = loss_buf,
                         .y_buf = -1,
                         .rows = rows,
                         .y_size = y_size,
                         .weight = weight,
                         .loss_slot = -1,
                         .pred_buf = pred,
                         .metric_y_buf = -1};
    return set_head(p, h, &hd);
}

ptc_status ptc_plan_set_loss(ptc_plan *p, int kind, int loss_buf, int64_t last_dim) {
    return ptc_plan_set_head_loss(p, 0, kind, loss_buf, -1, last_dim, 1.0);
}

ptc_status ptc_plan_set_loss_params(ptc_plan *p, int h, const double *params) {
    if (h < 0 || h >= p->n_heads) return PTC_ERR_VALUE;  // after the head's set_loss
    for (int i = 0; i < PTC_LOSS_N_PARAMS; i++)
        if (!isfinite(params[i])) return PTC_ERR_VALUE;
    memcpy(p->heads[h].loss_params, params, sizeof(p->heads[h].loss_params));
    return PTC_OK;
}

ptc_status ptc_plan_set_head_mask(ptc_plan *p, int h, int mask_buf) {
    if (h < 0 || h >= p->n_heads || mask_buf < -1 || mask_buf >= p->n_bufs) return PTC_ERR_VALUE;
    const ptc_head *hd = &p->heads[h];
    // One mask value per row of the loss; a traced loss must give one value per row too.
    if (mask_buf >= 0 &&
        (p->buf_size[mask_buf] != hd->rows || (hd->kind == PTC_LOSS_TRACED && p->buf_size[hd->loss_buf] != hd->rows)))
        return PTC_ERR_VALUE;
    p->heads[h].mask_buf = mask_buf;
    ptc_plan_layout(p);
    return PTC_OK;
}

// Head hd's masked row weights of the batch, w_nr * mask_nr (mask_nr alone without sample
// weights: Keras's apply_mask with reduction "sum"), in its block of wbatch's second half;
// *valid counts the rows that count.
static float *mask_weights(const ptc_plan *p, const ptc_head *hd, int64_t N, double *valid) {
    const int64_t NR = N * hd->rows;
    const float *m = ptc_plan_act(p, hd->mask_buf), *w = ptc_head_w(p, hd);
    float *mw = ptc_head_mw(p, hd);
    double v = 0.0;
    for (int64_t i = 0; i < NR; i++) {
        const float on = m[i] != 0.0f ? 1.0f : 0.0f;
        mw[i] = w ? w[i] * on : on;
        v += (double)on;
    }
    *valid = v;
    return mw;
}

// Value l of sample n weighs w_row(n) * w_value(n, l): one weight per sample (w[n * R]), or one per
// value when per_value (a masked head, whose L values are its R rows); none without w.
static inline double w_row(const float *w, int per_value, int64_t n, int64_t R) {
    return w && !per_value ? (double)w[n * R] : 1.0;
}
static inline double w_value(const float *w, int per_value, int64_t n, int64_t l, int64_t L) {
    return per_value ? (double)w[n * L + l] : 1.0;
}

// A traced metric (Keras's MeanMetricWrapper): sum_n sum_l w_nl v_nl / L over buffer b's L values
// per sample; the result divides the epoch's sum by the sum of the weights over L.
static double traced_mean(const ptc_plan *p, int b, const float *w, int per_value, int64_t R, int64_t N) {
    const int64_t L = p->buf_size[b];
    const float *v = ptc_plan_act(p, b);
    per_value = per_value && w;
    double total = 0.0;
    for (int64_t n = 0; n < N; n++) {
        double row = 0.0;
        for (int64_t l = 0; l < L; l++) row += w_value(w, per_value, n, l, L) * (double)v[n * L + l];
        total += w_row(w, per_value, n, R) * row / (double)L;
    }
    return total;
}

// A head's traced loss of a batch (its loss's reduction, PTC_LOSS_P_REDUCTION, over the N * L
// values, times s) and, when dloss, its gradient (=) times the head's loss weight.
static double traced_loss(const ptc_plan *p, const ptc_head *hd, const float *w, int per_value, double s, int64_t N,
                          float *dloss) {
    const int64_t L = p->buf_size[hd->loss_buf], R = hd->rows;
    const float *v = ptc_plan_act(p, hd->loss_buf);
    per_value = per_value && w;
    double wsum = 0.0;
    for (int64_t n = 0; w && n < N; n++)
        if (per_value)
            for (int64_t l = 0; l < L; l++) wsum += (double)w[n * L + l];
        else
            wsum += (double)w[n * R] * (double)L;
    const int red = (int)hd->loss_params[PTC_LOSS_P_REDUCTION];
    const double div = ptc_loss_divisor(red, (double)N * (double)L, wsum, w != NULL);
    const double scale = div != 0.0 ? s / div : 0.0, dscale = hd->weight * scale;
    double total = 0.0;
    for (int64_t n = 0; n < N; n++) {
        const double wn = w_row(w, per_value, n, R);
        double row = 0.0;
        for (int64_t l = 0; l < L; l++) {
            const double wl = w_value(w, per_value, n, l, L);
            row += wl * (double)v[n * L + l];
            if (dloss) dloss[n * L + l] = (float)(wn * wl * dscale);
        }
        total += wn * row;
    }
    return total * scale;
}

// One head's loss of the batch; when dloss, the gradient of weight * loss (=).
static ptc_status head_loss(ptc_plan *p, const ptc_head *hd, int64_t N, float *dloss, double *loss, double *sums) {
    const int64_t R = hd->rows, D = p->buf_size[hd->loss_buf] / R;
    const float *w = ptc_head_w(p, hd);
    double s = 1.0;  // Keras's total / valid for sum_over_batch_size on a masked output
    if (hd->mask_buf >= 0) {
        double valid;
        w = mask_weights(p, hd, N, &valid);
        if ((int)hd->loss_params[PTC_LOSS_P_REDUCTION] == PTC_REDUCTION_SUM_OVER_BATCH_SIZE)
            s = valid > 0.0 ? (double)(N * R) / valid : 0.0;  // divide_no_nan: 0 when nothing counts
        double mwsum = 0.0;
        for (int64_t r = 0; r < N * R; r++) mwsum += (double)w[r];
        sums[hd->mwsum_slot] += mwsum / (double)R;
        sums[hd->msum_slot] += valid / (double)R;
    }
    if (hd->kind == PTC_LOSS_TRACED) {
        *loss = traced_loss(p, hd, w, hd->mask_buf >= 0, s, N, dloss);
        return PTC_OK;
    }
    ptc_status st = ptc_loss_compute(hd->kind, hd->loss_params, loss, dloss, ptc_plan_act(p, hd->loss_buf),
                                     ptc_head_y(p, hd), w, N * R, D);
    if (st != PTC_OK) return st;
    *loss *= s;
    const float f = (float)(hd->weight * s);
    if (dloss && f != 1.0f) {
        const int64_t L = N * p->buf_size[hd->loss_buf];
        for (int64_t l = 0; l < L; l++) dloss[l] *= f;
    }
    return PTC_OK;
}

ptc_status ptc_plan_heads_loss(ptc_plan *p, int64_t N, int train, double *sums) {
    double total = 0.0;
    for (int h = 0; h < p->n_heads; h++) {
        const ptc_head *hd = &p->heads[h];
        // Outputs of shape (R, D) per sample are R rows of D: Keras takes the mean
        // over the last axis and then over everything else.
        const int64_t R = hd->rows;
        const float *w = ptc_head_w(p, hd);
        double loss = 0.0;
        ptc_status st = head_loss(p, hd, N, train ? ptc_plan_dact(p, hd->loss_buf) : NULL, &loss, sums);
        if (st != PTC_OK) return st;
        double wsum = (double)N;
        if (w) {
            wsum = 0.0;
            for (int64_t r = 0; r < N * R; r++) wsum += w[r];
            wsum /= (double)R;
        }
        total += hd->weight * loss;
        if (hd->loss_slot >= 0) sums[hd->loss_slot] += loss * (double)N;
        sums[hd->wsum_slot] += wsum;
    }
    sums[0] += total * (double)N;
    sums[1] += (double)N;
    for (int k = 0; k < p->n_metrics; k++) {
        const ptc_metric *m = &p->metrics[k];
        const ptc_head *hd = &p->heads[m->head];
        const int64_t R = hd->rows, D = p->buf_size[hd->pred_buf] / R;
        // the gathered targets, or a traced loss's narrower ones repeated to the predictions' shape
        const int64_t ys = (hd->metric_y_buf >= 0 ? p->buf_size[hd->metric_y_buf] : hd->y_size) / R;
        const float *y = hd->metric_y_buf >= 0 ? ptc_plan_act(p, hd->metric_y_buf) : ptc_head_y(p, hd);
        // Keras's MeanMetricWrapper takes the output's mask as (a factor of) its sample weights.
        const int masked = m->masked && hd->mask_buf >= 0;
        const float *w = m->unweighted ? NULL : ptc_head_w(p, hd);
        if (masked) w = m->unweighted ? ptc_plan_act(p, hd->mask_buf) : ptc_head_mw(p, hd);
        if (m->kind == PTC_METRIC_TRACED_MEAN)
            sums[m->offset] += traced_mean(p, (int)m->k, w, masked, R, N);
        else
            ptc_metric_accumulate(m, ptc_plan_act(p, hd->pred_buf), y, ys, w, 1.0f / (float)R, N * R, D,
                                  sums + m->offset);
    }
    return PTC_OK;
}
