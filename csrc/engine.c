// The training engine: runs a plan (ops over buffers) forward and backward
// over mini-batches. Everything a batch needs is allocated in ptc_plan_init /
// ptc_plan_reserve; the batch loops below never allocate.
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ptc.h"

static float *buf(const ptc_plan *p, float *base, int b) { return base + p->buf_off[b]; }

ptc_status ptc_plan_reserve(ptc_plan *p, int64_t max_batch) {
    if (max_batch <= 0) return PTC_ERR_VALUE;
    if (max_batch <= p->max_batch && p->acts) return PTC_OK;
    int64_t total = 0;
    for (int b = 0; b < p->n_bufs; b++) {
        p->buf_off[b] = total;
        total += p->buf_size[b] * max_batch;
    }
    float *acts = malloc((size_t)total * sizeof(float));
    float *dacts = calloc((size_t)total, sizeof(float));
    int64_t *idx = malloc((size_t)max_batch * sizeof(int64_t));
    float *ybatch = malloc((size_t)(max_batch * (p->y_size > 0 ? p->y_size : 1)) * sizeof(float));
    if (!acts || !dacts || !idx || !ybatch) {
        free(acts); free(dacts); free(idx); free(ybatch);
        return PTC_ERR_NOMEM;
    }
    free(p->acts); free(p->dacts); free(p->idx); free(p->ybatch);
    p->acts = acts; p->dacts = dacts; p->idx = idx; p->ybatch = ybatch;
    p->max_batch = max_batch;
    return PTC_OK;
}

ptc_status ptc_plan_init(ptc_plan *p, const ptc_op *ops, int n_ops, const int64_t *buf_size,
                         int n_bufs, int input_buf, int output_buf, int64_t max_batch) {
    memset(p, 0, sizeof(*p));
    if (n_ops < 0 || n_bufs <= 0 || input_buf < 0 || input_buf >= n_bufs || output_buf < 0 ||
        output_buf >= n_bufs)
        return PTC_ERR_VALUE;
    for (int b = 0; b < n_bufs; b++)
        if (buf_size[b] <= 0) return PTC_ERR_VALUE;
    for (int i = 0; i < n_ops; i++) {
        const ptc_op *op = &ops[i];
        if (op->out < 0 || op->out >= n_bufs || op->n_in < 1 || op->n_in > PTC_MAX_IN) return PTC_ERR_VALUE;
        for (int k = 0; k < op->n_in; k++)
            if (op->in[k] < 0 || op->in[k] >= n_bufs) return PTC_ERR_VALUE;
    }
    p->ops = malloc((size_t)(n_ops > 0 ? n_ops : 1) * sizeof(ptc_op));
    p->buf_size = malloc((size_t)n_bufs * sizeof(int64_t));
    p->buf_off = malloc((size_t)n_bufs * sizeof(int64_t));
    if (!p->ops || !p->buf_size || !p->buf_off) {
        ptc_plan_free(p);
        return PTC_ERR_NOMEM;
    }
    if (n_ops > 0) memcpy(p->ops, ops, (size_t)n_ops * sizeof(ptc_op));
    memcpy(p->buf_size, buf_size, (size_t)n_bufs * sizeof(int64_t));
    p->n_ops = n_ops;
    p->n_bufs = n_bufs;
    p->input_buf = input_buf;
    p->output_buf = output_buf;
    p->loss_buf = output_buf;
    p->loss_rows = 1;
    p->y_size = buf_size[output_buf];
    ptc_status st = ptc_plan_reserve(p, max_batch);
    if (st != PTC_OK) ptc_plan_free(p);
    return st;
}

void ptc_plan_free(ptc_plan *p) {
    free(p->ops); free(p->buf_size); free(p->buf_off);
    free(p->acts); free(p->dacts); free(p->idx); free(p->ybatch); free(p->regs);
    memset(p, 0, sizeof(*p));
}

ptc_status ptc_plan_set_loss(ptc_plan *p, int kind, int loss_buf, int64_t last_dim) {
    if (kind < PTC_LOSS_MSE || kind > PTC_LOSS_SOFTMAX_SPARSE_CCE) return PTC_ERR_VALUE;
    if (loss_buf < 0 || loss_buf >= p->n_bufs || p->buf_size[loss_buf] != p->buf_size[p->output_buf])
        return PTC_ERR_VALUE;
    if (last_dim <= 0 || p->buf_size[loss_buf] % last_dim != 0) return PTC_ERR_VALUE;
    const int64_t rows = p->buf_size[loss_buf] / last_dim;
    int64_t y_size = rows * ptc_loss_y_size(kind, last_dim);
    if (y_size > p->y_size) {
        float *yb = malloc((size_t)(p->max_batch * y_size) * sizeof(float));
        if (!yb) return PTC_ERR_NOMEM;
        free(p->ybatch);
        p->ybatch = yb;
    }
    p->loss_kind = kind;
    p->loss_buf = loss_buf;
    p->loss_rows = rows;
    p->y_size = y_size;
    return PTC_OK;
}

ptc_status ptc_plan_check_params(const ptc_plan *p) {
    for (int i = 0; i < p->n_ops; i++) {
        const ptc_op *op = &p->ops[i];
        int64_t need[PTC_MAX_PARAM] = {0};
        switch (op->kind) {
        case PTC_OP_DENSE: {
            const int64_t R = op->iarg[0], IN = op->iarg[1], OUT = op->iarg[2];
            if (R <= 0 || IN <= 0 || OUT <= 0 || R * IN != p->buf_size[op->in[0]] ||
                R * OUT != p->buf_size[op->out] || op->param[0] < 0)
                return PTC_ERR_VALUE;
            need[0] = IN * OUT;
            need[1] = OUT;
            break;
        }
        case PTC_OP_ACTIVATION:
            if (op->iarg[0] < 0 || op->iarg[0] >= PTC_ACT_COUNT || op->iarg[1] <= 0 ||
                p->buf_size[op->out] % op->iarg[1] != 0 ||
                p->buf_size[op->in[0]] != p->buf_size[op->out])
                return PTC_ERR_VALUE;
            break;
        default:
            return PTC_ERR_VALUE;
        }
        for (int k = 0; k < PTC_MAX_PARAM; k++)
            if (need[k] > 0 && op->param[k] >= 0 && op->param[k] + need[k] > p->n_params)
                return PTC_ERR_VALUE;
    }
    for (int r = 0; r < p->n_regs; r++)
        if (p->regs[r].offset < 0 || p->regs[r].size < 0 ||
            p->regs[r].offset + p->regs[r].size > p->n_params)
            return PTC_ERR_VALUE;
    return PTC_OK;
}

ptc_status ptc_plan_set_regularizers(ptc_plan *p, const ptc_regularizer *regs, int n_regs) {
    ptc_regularizer *copy = NULL;
    if (n_regs < 0) return PTC_ERR_VALUE;
    if (n_regs > 0) {
        copy = malloc((size_t)n_regs * sizeof(*copy));
        if (!copy) return PTC_ERR_NOMEM;
        memcpy(copy, regs, (size_t)n_regs * sizeof(*copy));
    }
    free(p->regs);
    p->regs = copy;
    p->n_regs = n_regs;
    return PTC_OK;
}

static void forward(ptc_plan *p, int64_t N, int training) {
    (void)training;  // dropout and batchnorm will read it
    for (int i = 0; i < p->n_ops; i++) {
        const ptc_op *op = &p->ops[i];
        float *out = buf(p, p->acts, op->out);
        const float *in = buf(p, p->acts, op->in[0]);
        switch (op->kind) {
        case PTC_OP_DENSE:  // iarg: rows per sample R, IN, OUT
            ptc_dense_forward(out, in, p->params + op->param[0],
                              op->param[1] >= 0 ? p->params + op->param[1] : NULL,
                              N * op->iarg[0], op->iarg[1], op->iarg[2]);
            break;
        case PTC_OP_ACTIVATION:  // iarg: kind, width of the last axis D
            ptc_act_forward((int)op->iarg[0], out, in, N * (p->buf_size[op->out] / op->iarg[1]),
                            op->iarg[1]);
            break;
        }
    }
}

static void backward(ptc_plan *p, int64_t N) {
    for (int i = p->n_ops - 1; i >= 0; i--) {
        const ptc_op *op = &p->ops[i];
        if (op->flags & PTC_OPF_NO_BACKWARD) continue;
        int from_input = op->in[0] == p->input_buf;
        const float *dout = buf(p, p->dacts, op->out);
        float *din = from_input ? NULL : buf(p, p->dacts, op->in[0]);
        const float *in = buf(p, p->acts, op->in[0]);
        switch (op->kind) {
        case PTC_OP_DENSE:
            ptc_dense_backward(din, p->grads + op->param[0],
                               op->param[1] >= 0 ? p->grads + op->param[1] : NULL, dout, in,
                               p->params + op->param[0], N * op->iarg[0], op->iarg[1], op->iarg[2]);
            break;
        case PTC_OP_ACTIVATION:
            if (din)
                ptc_act_backward((int)op->iarg[0], din, dout, in, buf(p, p->acts, op->out),
                                 N * (p->buf_size[op->out] / op->iarg[1]), op->iarg[1]);
            break;
        }
    }
}

// Regularization penalty on the current weights; adds its gradient when grads.
static double regularize(ptc_plan *p, float *grads) {
    double penalty = 0.0;
    for (int r = 0; r < p->n_regs; r++) {
        const ptc_regularizer *reg = &p->regs[r];
        const float *w = p->params + reg->offset;
        float *g = grads ? grads + reg->offset : NULL;
        const float l1 = (float)reg->l1, l2x2 = (float)(2.0 * reg->l2);
        double s1 = 0.0, s2 = 0.0;
        for (int64_t i = 0; i < reg->size; i++) {
            s1 += fabsf(w[i]);
            s2 += (double)w[i] * w[i];
            if (g) g[i] += l1 * (float)((w[i] > 0.0f) - (w[i] < 0.0f)) + l2x2 * w[i];
        }
        penalty += reg->l1 * s1 + reg->l2 * s2;
    }
    return penalty;
}

static void gather(ptc_plan *p, const float *x, const float *y, const int64_t *idx, int64_t N) {
    const int64_t dx = p->buf_size[p->input_buf], dy = p->y_size;
    float *xb = buf(p, p->acts, p->input_buf);
    for (int64_t n = 0; n < N; n++) {
        memcpy(xb + n * dx, x + idx[n] * dx, (size_t)dx * sizeof(float));
        if (y) memcpy(p->ybatch + n * dy, y + idx[n] * dy, (size_t)dy * sizeof(float));
    }
}

static ptc_status loss_and_metrics(ptc_plan *p, int64_t N, float *dloss, double *sums) {
    double loss = 0.0;
    // Outputs of shape (R, D) per sample are R rows of D: Keras takes the mean
    // over the last axis and then over everything else.
    const int64_t R = p->loss_rows, D = p->buf_size[p->loss_buf] / R;
    ptc_status st = ptc_loss_compute(p->loss_kind, &loss, dloss, buf(p, p->acts, p->loss_buf),
                                     p->ybatch, N * R, D);
    if (st != PTC_OK) return st;
    sums[0] += loss * (double)N;
    sums[1] += (double)N;
    for (int k = 0; k < p->n_metrics; k++)
        sums[2 + k] += ptc_metric_sum(p->metrics[k], buf(p, p->acts, p->output_buf), p->ybatch,
                                      N * R, D) / (double)R;
    return PTC_OK;
}

static ptc_status check_batch(const ptc_plan *p, int64_t batch_size) {
    if (batch_size <= 0 || batch_size > p->max_batch) return PTC_ERR_VALUE;
    if (p->loss_kind == 0) return PTC_ERR_VALUE;
    return PTC_OK;
}

static void zero_dacts(ptc_plan *p, int64_t N) {
    for (int b = 0; b < p->n_bufs; b++)
        if (b != p->input_buf)
            memset(buf(p, p->dacts, b), 0, (size_t)(N * p->buf_size[b]) * sizeof(float));
}

ptc_status ptc_plan_train(ptc_plan *p, const float *x, const float *y, const int64_t *perm,
                          int64_t n, int64_t batch_size, int64_t b0, int64_t b1,
                          volatile const int *stop, int stop_on_nonfinite, double *sums,
                          int64_t *done, double *last_loss) {
    ptc_status st = check_batch(p, batch_size);
    *done = 0;
    if (st != PTC_OK || !p->opt.kind) return PTC_ERR_VALUE;
    for (int64_t b = b0; b < b1; b++) {
        if (stop && *stop) return PTC_ERR_INTERRUPTED;
        int64_t start = b * batch_size;
        if (start >= n) break;
        int64_t N = n - start < batch_size ? n - start : batch_size;
        gather(p, x, y, perm + start, N);
        forward(p, N, 1);
        zero_dacts(p, N);
        memset(p->grads, 0, (size_t)p->n_params * sizeof(float));
        const double before = sums[0];
        st = loss_and_metrics(p, N, buf(p, p->dacts, p->loss_buf), sums);
        if (st != PTC_OK) return st;
        backward(p, N);
        sums[0] += regularize(p, p->grads) * (double)N;
        ptc_optimizer_step(&p->opt, p->params, p->grads, p->n_trainable);
        *done += 1;
        *last_loss = (sums[0] - before) / (double)N;
        // Keras's TerminateOnNaN acts after the batch's update, at the batch's end.
        if (stop_on_nonfinite && !isfinite(*last_loss)) return PTC_STOPPED_NONFINITE;
    }
    return PTC_OK;
}

ptc_status ptc_plan_evaluate(ptc_plan *p, const float *x, const float *y, int64_t n,
                             int64_t batch_size, volatile const int *stop, double *sums) {
    ptc_status st = check_batch(p, batch_size);
    if (st != PTC_OK) return st;
    const double penalty = regularize(p, NULL);  // weights do not change here
    for (int64_t start = 0; start < n; start += batch_size) {
        if (stop && *stop) return PTC_ERR_INTERRUPTED;
        int64_t N = n - start < batch_size ? n - start : batch_size;
        for (int64_t i = 0; i < N; i++) p->idx[i] = start + i;
        gather(p, x, y, p->idx, N);
        forward(p, N, 0);
        st = loss_and_metrics(p, N, NULL, sums);
        if (st != PTC_OK) return st;
        sums[0] += penalty * (double)N;
    }
    return PTC_OK;
}

ptc_status ptc_plan_predict(ptc_plan *p, const float *x, int64_t n, int64_t batch_size,
                            volatile const int *stop, float *out) {
    if (batch_size <= 0 || batch_size > p->max_batch) return PTC_ERR_VALUE;
    const int64_t dout = p->buf_size[p->output_buf];
    for (int64_t start = 0; start < n; start += batch_size) {
        if (stop && *stop) return PTC_ERR_INTERRUPTED;
        int64_t N = n - start < batch_size ? n - start : batch_size;
        for (int64_t i = 0; i < N; i++) p->idx[i] = start + i;
        gather(p, x, NULL, p->idx, N);
        forward(p, N, 0);
        memcpy(out + start * dout, buf(p, p->acts, p->output_buf), (size_t)(N * dout) * sizeof(float));
    }
    return PTC_OK;
}
