// The training engine: runs a plan (ops over buffers) forward and backward
// over mini-batches. Everything a batch needs is allocated in ptc_plan_init /
// ptc_plan_reserve; the batch loops below never allocate.
#include <limits.h>
#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fpenv.h"
#include "ops.h"
#include "threads.h"

static int add_ok(int64_t a, int64_t b, int64_t *r) {
    if (a < 0 || b < 0 || a > INT64_MAX - b) return 0;
    *r = a + b;
    return 1;
}

// Largest float count one workspace may hold: its byte size must fit size_t and ptrdiff_t.
#define PTC_MAX_FLOATS ((int64_t)(PTRDIFF_MAX / (ptrdiff_t)sizeof(float) / 2))

// Totals of a batch of max_batch samples, every product checked; the offsets
// are written only when off and scratch_off are given (after allocation succeeded,
// so a failed reserve leaves the plan as it was).
static ptc_status plan_sizes(const ptc_plan *p, int64_t max_batch, int64_t *total, int64_t *scratch_total, int64_t *off,
                             int64_t *scratch_off) {
    int64_t t;
    *total = 0;
    *scratch_total = 0;
    for (int b = 0; b < p->n_bufs; b++) {
        if (off) off[b] = *total;
        if (!ptc_mul_ok(p->buf_size[b], max_batch, &t) || !add_ok(*total, t, total)) return PTC_ERR_SIZE;
    }
    for (int i = 0; i < p->n_ops; i++) {
        const ptc_op *op = &p->ops[i];
        if (scratch_off) scratch_off[i] = *scratch_total;
        // -1: the op's kernels cannot index a batch this large.
        if (!add_ok(*scratch_total, ptc_op_table[op->kind].scratch(p, op, max_batch), scratch_total))
            return PTC_ERR_SIZE;
    }
    if (*total > PTC_MAX_FLOATS || *scratch_total > PTC_MAX_FLOATS) return PTC_ERR_SIZE;
    return PTC_OK;
}

ptc_status ptc_plan_reserve(ptc_plan *p, int64_t max_batch) {
    if (max_batch <= 0) return PTC_ERR_VALUE;
    if (max_batch <= p->max_batch && p->acts) return PTC_OK;
    int64_t total, scratch_total, ys, ws;
    ptc_status st = plan_sizes(p, max_batch, &total, &scratch_total, NULL, NULL);
    if (st != PTC_OK) return st;
    // Row weights: at most one per output float per sample, twice (sample weights, masked weights).
    if (max_batch > PTC_MAX_FLOATS / 2 || !ptc_mul_ok(max_batch, p->y_size > 0 ? p->y_size : 1, &ys) ||
        !ptc_mul_ok(2 * max_batch, p->out_size, &ws) || ys > PTC_MAX_FLOATS || ws > PTC_MAX_FLOATS)
        return PTC_ERR_SIZE;
    float *acts = malloc((size_t)total * sizeof(float));
    float *dacts = calloc((size_t)total, sizeof(float));
    int64_t *idx = malloc((size_t)max_batch * sizeof(int64_t));
    float *ybatch = malloc((size_t)ys * sizeof(float));
    float *scratch = calloc((size_t)(scratch_total > 0 ? scratch_total : 1), sizeof(float));
    float *wbatch = malloc((size_t)ws * sizeof(float));
    float **act_at = malloc((size_t)(p->n_bufs > 0 ? p->n_bufs : 1) * sizeof(float *));
    if (!acts || !dacts || !idx || !ybatch || !scratch || !wbatch || !act_at) {
        free(act_at);
        free(acts);
        free(dacts);
        free(idx);
        free(ybatch);
        free(scratch);
        free(wbatch);
        return PTC_ERR_NOMEM;
    }
    plan_sizes(p, max_batch, &total, &scratch_total, p->buf_off, p->scratch_off);
    for (int b = 0; b < p->n_bufs; b++) act_at[b] = acts + p->buf_off[b];
    free(p->act_at);
    free(p->acts);
    free(p->dacts);
    free(p->idx);
    free(p->ybatch);
    free(p->scratch);
    free(p->wbatch);
    p->acts = acts;
    p->act_at = act_at;
    p->dacts = dacts;
    p->idx = idx;
    p->ybatch = ybatch;
    p->scratch = scratch;
    p->wbatch = wbatch;
    p->y_cap = ys;
    p->w_cap = ws;
    p->max_batch = max_batch;
    return PTC_OK;
}

// The generator an op draws from, or -1 for an op that draws nothing.
static int64_t op_rng(const ptc_op *op) {
    switch (op->kind) {
        case PTC_OP_DROPOUT:
            return op->iarg[PTC_DROPOUT_RNG];
        case PTC_OP_RANDOM:
            return op->iarg[PTC_RANDOM_RNG];
        case PTC_OP_GAUSSIAN_NOISE:
            return op->iarg[PTC_GAUSSIAN_NOISE_RNG];
        case PTC_OP_GAUSSIAN_DROPOUT:
            return op->iarg[PTC_GAUSSIAN_DROPOUT_RNG];
        case PTC_OP_ALPHA_DROPOUT:
            return op->iarg[PTC_ALPHA_DROPOUT_RNG];
        case PTC_OP_SPATIAL_DROPOUT:
            return op->iarg[PTC_SPATIAL_DROPOUT_RNG];
        default:
            return ptc_rnn_op_rng(op);
    }
}

ptc_status ptc_plan_check_rngs(const ptc_plan *p) {
    for (int i = 0; i < p->n_ops; i++) {
        const int64_t rng = op_rng(&p->ops[i]);
        if (rng >= 0 && (rng >= p->n_rngs || !p->rngs)) return PTC_ERR_STATE;
    }
    return PTC_OK;
}

ptc_status ptc_plan_set_rngs(ptc_plan *p, ptc_rng *rngs, int64_t n) {
    if (n < 0) return PTC_ERR_VALUE;
    p->rngs = rngs;
    p->n_rngs = n;
    return PTC_OK;
}

// A fused op is never run (PTC_OPF_FUSED): only a ReLU whose output nothing reads, folded into
// a max pool that reads its input with RELU = 1 and so computes the same floats.
static int fused_ok(const ptc_op *ops, int n_ops, int i) {
    const ptc_op *a = &ops[i];
    if (a->kind != PTC_OP_ACTIVATION || a->iarg[PTC_ACTIVATION_KIND] != PTC_ACT_RELU) return 0;
    int pool = 0;
    for (int j = 0; j < n_ops; j++) {
        for (int k = 0; k < ops[j].n_in; k++)
            if (ops[j].in[k] == a->out) return 0;
        if (j != i && ops[j].out == a->out) return 0;
        pool |= ops[j].kind == PTC_OP_MAXPOOL2D && ops[j].iarg[PTC_MAXPOOL2D_RELU] == 1 && ops[j].in[0] == a->in[0];
    }
    return pool;
}

ptc_status ptc_plan_init(ptc_plan *p, const ptc_op *ops, int n_ops, const int64_t *buf_size, int n_bufs, int input_buf,
                         int output_buf, int64_t max_batch) {
    memset(p, 0, sizeof(*p));
    if (n_ops < 0 || n_bufs <= 0 || input_buf < 0 || input_buf >= n_bufs || output_buf < 0 || output_buf >= n_bufs)
        return PTC_ERR_VALUE;
    for (int b = 0; b < n_bufs; b++)
        if (buf_size[b] <= 0) return PTC_ERR_VALUE;
    for (int i = 0; i < n_ops; i++) {
        const ptc_op *op = &ops[i];
        p->bad_op = i;
        if (op->kind <= PTC_OP_NONE || op->kind >= PTC_OP_COUNT || op->out < 0 || op->out >= n_bufs ||
            op->n_in < ptc_op_table[op->kind].min_in || op->n_in > ptc_op_table[op->kind].max_in)
            return PTC_ERR_OP;
        for (int k = 0; k < op->n_in; k++)
            if (op->in[k] < 0 || op->in[k] >= n_bufs ||
                (op->in[k] == op->out && op->kind != PTC_OP_ACTIVITY_REG && op->kind != PTC_OP_ADD_LOSS &&
                 op->kind != PTC_OP_ASSIGN))
                return PTC_ERR_OP;
    }
    p->bad_op = -1;
    p->ops = malloc((size_t)(n_ops > 0 ? n_ops : 1) * sizeof(ptc_op));
    p->buf_size = malloc((size_t)n_bufs * sizeof(int64_t));
    p->buf_off = malloc((size_t)n_bufs * sizeof(int64_t));
    p->scratch_off = malloc((size_t)(n_ops > 0 ? n_ops : 1) * sizeof(int64_t));
    p->dact_rows = malloc((size_t)n_bufs);
    if (!p->ops || !p->buf_size || !p->buf_off || !p->scratch_off || !p->dact_rows) {
        ptc_plan_free(p);
        return PTC_ERR_NOMEM;
    }
    if (n_ops > 0) memcpy(p->ops, ops, (size_t)n_ops * sizeof(ptc_op));
    memcpy(p->buf_size, buf_size, (size_t)n_bufs * sizeof(int64_t));
    // What zero_dacts clears per buffer, decided once here rather than by a scan of the ops each step.
    memset(p->dact_rows, 1, (size_t)n_bufs);
    for (int i = 0; i < n_ops; i++)
        if (ops[i].out >= 0 && ops[i].out < n_bufs && (ops[i].flags & (PTC_OPF_FUSED | PTC_OPF_PER_BATCH)))
            p->dact_rows[ops[i].out] = (ops[i].flags & PTC_OPF_FUSED) ? 0 : -1;
    p->n_ops = n_ops;
    p->n_bufs = n_bufs;
    p->input_buf = input_buf;
    p->output_buf = output_buf;
    p->n_inputs = p->n_outputs = 1;
    p->inputs[0] = input_buf;
    p->outputs[0] = output_buf;
    p->x_size = buf_size[input_buf];
    p->out_size = buf_size[output_buf];
    p->y_size = buf_size[output_buf];
    p->n_sums = 3;
    // Each op's shapes against the buffers, before any workspace is sized from them.
    int64_t need[PTC_MAX_PARAM];
    for (int i = 0; i < n_ops; i++)
        if (ptc_op_table[ops[i].kind].check(p, &ops[i], need) != PTC_OK ||
            ((ops[i].flags & PTC_OPF_FUSED) && !fused_ok(ops, n_ops, i))) {
            ptc_plan_free(p);
            p->bad_op = i;
            return PTC_ERR_OP;
        }
    ptc_status st = ptc_plan_reserve(p, max_batch);
    if (st != PTC_OK) ptc_plan_free(p);
    return st;
}

void ptc_plan_free(ptc_plan *p) {
    free(p->ops);
    free(p->buf_size);
    free(p->buf_off);
    free(p->dact_rows);
    free(p->scratch_off);
    free(p->scratch);
    free(p->acts);
    free(p->act_at);
    free(p->dacts);
    free(p->idx);
    free(p->ybatch);
    free(p->regs);
    free(p->constraints);
    free(p->wbatch);
    free(p->metric_table);
    memset(p, 0, sizeof(*p));
}

// Room in ybatch and wbatch for the current heads' targets and row weights.
ptc_status ptc_plan_grow_rows(ptc_plan *p) {
    int64_t ys, ws;
    if (!ptc_mul_ok(p->max_batch, p->y_size > 0 ? p->y_size : 1, &ys) ||
        !ptc_mul_ok(2 * p->max_batch, p->out_size, &ws) || ys > PTC_MAX_FLOATS || ws > PTC_MAX_FLOATS)
        return PTC_ERR_SIZE;
    if (ys > p->y_cap) {
        float *yb = malloc((size_t)ys * sizeof(float));
        if (!yb) return PTC_ERR_NOMEM;
        free(p->ybatch);
        p->ybatch = yb;
        p->y_cap = ys;
    }
    if (ws > p->w_cap) {
        float *wb = malloc((size_t)ws * sizeof(float));
        if (!wb) return PTC_ERR_NOMEM;
        free(p->wbatch);
        p->wbatch = wb;
        p->w_cap = ws;
    }
    return PTC_OK;
}

static int is_input(const ptc_plan *p, int b) {
    for (int i = 0; i < p->n_inputs; i++)
        if (p->inputs[i] == b) return 1;
    return 0;
}

// A buffer no op writes to.
static int op_free(const ptc_plan *p, int b) {
    if (b < 0 || b >= p->n_bufs) return 0;
    for (int i = 0; i < p->n_ops; i++)
        if (p->ops[i].out == b) return 0;
    return 1;
}

// A buffer the engine alone writes (no op outputs to it), other than a model input.
int ptc_plan_engine_owned(const ptc_plan *p, int b) {
    return op_free(p, b) && !is_input(p, b);
}

// Buffers in [0, n_bufs), none twice; n in [1, PTC_MAX_IO].
static int distinct_bufs(const ptc_plan *p, const int *bufs, int n) {
    if (n < 1 || n > PTC_MAX_IO) return 0;
    for (int i = 0; i < n; i++) {
        if (bufs[i] < 0 || bufs[i] >= p->n_bufs) return 0;
        for (int j = 0; j < i; j++)
            if (bufs[j] == bufs[i]) return 0;
    }
    return 1;
}

ptc_status ptc_plan_set_inputs(ptc_plan *p, const int *bufs, int n) {
    if (!distinct_bufs(p, bufs, n)) return PTC_ERR_VALUE;
    int64_t x_size = 0;
    for (int i = 0; i < n; i++) {
        if (!op_free(p, bufs[i])) return PTC_ERR_VALUE;
        x_size += p->buf_size[bufs[i]];
    }
    for (int h = 0; h < p->n_heads; h++)  // a target buffer must not become an input
        for (int i = 0; i < n; i++)
            if (p->heads[h].y_buf == bufs[i]) return PTC_ERR_VALUE;
    memcpy(p->inputs, bufs, (size_t)n * sizeof(int));
    p->n_inputs = n;
    p->input_buf = bufs[0];
    p->x_size = x_size;
    return PTC_OK;
}

// Assigns the heads' target columns, row-weight blocks and sum slots, then the metrics' slots.
void ptc_plan_layout(ptc_plan *p) {
    int64_t y_off = 0, r_off = 0, slot = 2;
    for (int h = 0; h < p->n_heads; h++) {
        ptc_head *hd = &p->heads[h];
        hd->y_off = y_off;
        hd->r_off = r_off;
        y_off += hd->y_size;
        r_off += hd->rows;
        hd->loss_slot = p->n_heads > 1 ? slot++ : -1;
        hd->wsum_slot = slot++;
        hd->mwsum_slot = hd->mask_buf >= 0 ? slot++ : -1;
        hd->msum_slot = hd->mask_buf >= 0 ? slot++ : -1;
        const int64_t D = p->buf_size[hd->pred_buf] / hd->rows;
        for (int k = 0; k < p->n_metrics; k++)
            if (p->metrics[k].head == h) {
                p->metrics[k].offset = slot;
                slot += ptc_metric_slots(&p->metrics[k], D);
            }
    }
    p->y_size = p->n_heads > 0 ? y_off : p->buf_size[p->output_buf];
    p->n_sums = p->n_heads > 0 ? slot : 3;
}

ptc_status ptc_plan_set_outputs(ptc_plan *p, const int *bufs, int n) {
    if (!distinct_bufs(p, bufs, n)) return PTC_ERR_VALUE;
    int64_t out_size = 0;
    for (int i = 0; i < n; i++) out_size += p->buf_size[bufs[i]];
    const int64_t old = p->out_size;
    p->out_size = out_size;
    ptc_status st = ptc_plan_grow_rows(p);
    if (st != PTC_OK) {
        p->out_size = old;
        return st;
    }
    memcpy(p->outputs, bufs, (size_t)n * sizeof(int));
    p->n_outputs = n;
    p->output_buf = bufs[0];
    p->n_heads = 0;
    p->n_metrics = 0;
    ptc_plan_layout(p);
    return PTC_OK;
}

ptc_status ptc_plan_set_metrics(ptc_plan *p, const ptc_metric *metrics, int n) {
    if (n < 0 || n > PTC_MAX_METRICS) return PTC_ERR_VALUE;
    for (int i = 0; i < n; i++) {
        const int h = metrics[i].head;
        if (h < 0 || h >= (p->n_heads > 0 ? p->n_heads : 1)) return PTC_ERR_VALUE;
        const int64_t R = p->n_heads > 0 ? p->heads[h].rows : 1;
        const int64_t D = p->buf_size[p->n_heads > 0 ? p->heads[h].pred_buf : p->outputs[h]] / R;
        const ptc_head *hd = p->n_heads > 0 ? &p->heads[h] : NULL;
        const int64_t Y = !hd ? p->y_size : hd->metric_y_buf >= 0 ? p->buf_size[hd->metric_y_buf] : hd->y_size;
        const int64_t ys = Y / R;
        // A built-in metric reads R rows of targets beside the predictions' (a traced loss's may not).
        if (metrics[i].kind != PTC_METRIC_TRACED_MEAN && Y % R != 0) return PTC_ERR_VALUE;
        if (metrics[i].kind <= 0 || metrics[i].kind >= PTC_METRIC_COUNT ||
            ptc_metric_check(&metrics[i], D, ys) != PTC_OK || ptc_metric_table_check(p, &metrics[i]) != PTC_OK ||
            (metrics[i].kind == PTC_METRIC_TRACED_MEAN && (metrics[i].k < 0 || metrics[i].k >= p->n_bufs)))
            return PTC_ERR_VALUE;
        // A masked traced metric weighs each of its values by its row's mask: one value per row.
        if (metrics[i].kind == PTC_METRIC_TRACED_MEAN && metrics[i].masked && p->n_heads > 0 &&
            p->heads[h].mask_buf >= 0 && p->buf_size[metrics[i].k] != R)
            return PTC_ERR_VALUE;
    }
    memcpy(p->metrics, metrics, (size_t)n * sizeof(ptc_metric));
    p->n_metrics = n;
    ptc_metric_table_resolve(p);
    ptc_plan_layout(p);
    return PTC_OK;
}

ptc_status ptc_plan_check_params(ptc_plan *p) {
    for (int i = 0; i < p->n_ops; i++) {
        const ptc_op *op = &p->ops[i];
        int64_t need[PTC_MAX_PARAM] = {0};
        p->bad_op = i;
        if (ptc_op_table[op->kind].check(p, op, need) != PTC_OK) return PTC_ERR_OP;
        for (int k = 0; k < PTC_MAX_PARAM; k++) {
            if (k >= ptc_op_table[op->kind].n_params && op->param[k] != -1) return PTC_ERR_OP;
            if (op->param[k] < -1) return PTC_ERR_OP;
            if (need[k] > 0 && op->param[k] >= 0 && (need[k] > p->n_params || op->param[k] > p->n_params - need[k]))
                return PTC_ERR_OP;
        }
    }
    p->bad_op = -1;
    for (int r = 0; r < p->n_regs; r++)
        if (p->regs[r].offset < 0 || p->regs[r].size < 0 || p->regs[r].size > p->n_params ||
            p->regs[r].offset > p->n_params - p->regs[r].size)
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

// The rows op i runs on: N, or row 0 alone for a per-batch op (batch_stats.c).
static int64_t op_rows(const ptc_plan *p, int i, int64_t N) {
    return (p->ops[i].flags & PTC_OPF_PER_BATCH) && N > 1 ? 1 : N;
}

// Stops after an op that met bad data (an Embedding id out of range): its status.
static ptc_status forward(ptc_plan *p, int64_t N, int training) {
    p->activity_penalty = 0.0;
    p->op_error = PTC_OK;
    const int skip = PTC_OPF_FUSED | (training ? PTC_OPF_INFER_ONLY : PTC_OPF_TRAIN_ONLY);  // the other branch
    for (int i = 0; i < p->n_ops; i++) {
        if (p->ops[i].flags & skip) continue;
        ptc_op_table[p->ops[i].kind].forward(p, i, op_rows(p, i, N), training);
        if (p->op_error != PTC_OK) return p->op_error;
    }
    return PTC_OK;
}

static void backward(ptc_plan *p, int64_t N) {
    for (int i = p->n_ops - 1; i >= 0; i--)
        if (!(p->ops[i].flags & (PTC_OPF_NO_BACKWARD | PTC_OPF_INFER_ONLY | PTC_OPF_FUSED)))
            ptc_op_table[p->ops[i].kind].backward(p, i, op_rows(p, i, N));
}

// Regularization penalty on the current weights; adds its gradient when grads.
static double regularize(ptc_plan *p, float *grads) {
    double penalty = 0.0;
    for (int r = 0; r < p->n_regs; r++) {
        const ptc_regularizer *reg = &p->regs[r];
        const float *w = p->params + reg->offset;
        penalty += ptc_penalty_value(w, reg->size, reg->l1, reg->l2);
        if (grads) ptc_penalty_grad(grads + reg->offset, w, reg->size, reg->l1, reg->l2);
    }
    return penalty;
}

// Copies the batch's rows of x into the input buffers and, per head, its columns of y
// into its block of ybatch, its sample weights into its row weights and its targets
// into its target buffer (zeros when predicting).
// x NULL: the input buffers already hold the batch (predict lends them, plan_predict).
static void gather(ptc_plan *p, const float *x, const float *y, const int64_t *idx, int64_t N) {
    const int64_t dx = p->x_size;
    for (int i = 0, off = 0; x && i < p->n_inputs; off += (int)p->buf_size[p->inputs[i]], i++) {
        const int64_t d = p->buf_size[p->inputs[i]];
        float *xb = ptc_plan_act(p, p->inputs[i]);
        for (int64_t n = 0; n < N; n++) memcpy(xb + n * d, x + idx[n] * dx + off, (size_t)d * sizeof(float));
    }
    for (int h = 0, w_off = 0; h < p->n_heads; w_off += (int)p->heads[h].rows, h++) {
        const ptc_head *hd = &p->heads[h];
        const int64_t dy = hd->y_size, R = hd->rows;
        float *yb = ptc_head_y(p, hd), *wb = ptc_head_w(p, hd);
        if (y) {
            for (int64_t n = 0; n < N; n++)
                memcpy(yb + n * dy, y + idx[n] * p->y_size + hd->y_off, (size_t)dy * sizeof(float));
            if (wb && p->w_rows) {  // per-row weights: (n, sum of the heads' R), head h's R from w_off
                for (int64_t n = 0; n < N; n++)
                    memcpy(wb + n * R, p->sample_weight + idx[n] * p->w_cols + w_off, (size_t)R * sizeof(float));
            } else if (wb) {
                const int64_t cols = p->w_cols, col = cols > 1 ? h : 0;
                for (int64_t n = 0; n < N; n++)
                    for (int64_t r = 0; r < R; r++) wb[n * R + r] = p->sample_weight[idx[n] * cols + col];
            }
        }
        if (hd->y_buf >= 0) {  // a traced loss or metric reads the targets from a plan buffer
            float *t = ptc_plan_act(p, hd->y_buf);
            if (y)
                memcpy(t, yb, (size_t)(N * dy) * sizeof(float));
            else
                memset(t, 0, (size_t)(N * dy) * sizeof(float));
        }
    }
}

static ptc_status check_batch(const ptc_plan *p, int64_t batch_size) {
    if (batch_size <= 0 || batch_size > p->max_batch) return PTC_ERR_VALUE;
    if (p->n_heads < p->n_outputs) return PTC_ERR_STATE;  // an output without a loss
    return ptc_plan_check_rngs(p);
}

// The output of a fused op: nothing reads or writes its values or gradients.
static void zero_dacts(ptc_plan *p, int64_t N) {
    for (int b = 0; b < p->n_bufs; b++)
        if (p->dact_rows[b] && !is_input(p, b))
            ptc_parallel_zero(ptc_plan_dact(p, b), (p->dact_rows[b] < 0 ? 1 : N) * p->buf_size[b]);
}

static ptc_status plan_train(ptc_plan *p, const float *x, const float *y, const int64_t *perm, int64_t n,
                             int64_t batch_size, int64_t b0, int64_t b1, volatile const int *stop,
                             int stop_on_nonfinite, double *sums, int64_t *done, double *last_loss) {
    ptc_status st = check_batch(p, batch_size);
    *done = 0;
    if (st != PTC_OK) return st;
    if (p->opt.kind == PTC_OPT_NONE) return PTC_ERR_STATE;
    for (int64_t b = b0; b < b1; b++) {
        if (stop && *stop) return PTC_ERR_INTERRUPTED;
        int64_t start = b * batch_size;
        if (start >= n) break;
        int64_t N = n - start < batch_size ? n - start : batch_size;
        gather(p, x, y, perm + start, N);
        if ((st = forward(p, N, 1)) != PTC_OK) return st;
        zero_dacts(p, N);
        ptc_parallel_zero(p->grads, p->n_params);
        const double before = sums[0];
        st = ptc_plan_heads_loss(p, N, 1, sums);
        if (st != PTC_OK) return st;
        backward(p, N);
        sums[0] += (regularize(p, p->grads) + p->activity_penalty) * (double)N;
        ptc_optimizer_step(&p->opt, p->params, p->grads, p->n_trainable);
        ptc_plan_apply_constraints(p);  // Keras: right after the update, every step
        *done += 1;
        *last_loss = (sums[0] - before) / (double)N;
        // Keras's TerminateOnNaN acts after the batch's update, at the batch's end.
        if (stop_on_nonfinite && !isfinite(*last_loss)) return PTC_STOPPED_NONFINITE;
    }
    return PTC_OK;
}

// Inference on the *N samples from start, in order (evaluate, predict).
static ptc_status infer_batch(ptc_plan *p, const float *x, const float *y, int64_t n, int64_t start, int64_t batch_size,
                              int training, int64_t *N) {
    *N = n - start < batch_size ? n - start : batch_size;
    for (int64_t i = 0; i < *N; i++) p->idx[i] = start + i;
    gather(p, x, y, p->idx, *N);
    return forward(p, *N, training);
}

static ptc_status plan_evaluate(ptc_plan *p, const float *x, const float *y, int64_t n, int64_t batch_size,
                                volatile const int *stop, double *sums) {
    ptc_status st = check_batch(p, batch_size);
    if (st != PTC_OK) return st;
    const double penalty = regularize(p, NULL);  // weights do not change here
    for (int64_t start = 0; start < n; start += batch_size) {
        if (stop && *stop) return PTC_ERR_INTERRUPTED;
        int64_t N;
        if ((st = infer_batch(p, x, y, n, start, batch_size, 0, &N)) != PTC_OK) return st;
        st = ptc_plan_heads_loss(p, N, 0, sums);
        if (st != PTC_OK) return st;
        sums[0] += (penalty + p->activity_penalty) * (double)N;
    }
    return PTC_OK;
}

// The exponent bits first (a pass that vectorizes), the count only when some value is not finite.
int64_t ptc_count_nonfinite(const float *x, int64_t n) {
    uint32_t any = 0;
    for (int64_t i = 0; i < n; i++) {
        uint32_t u;
        memcpy(&u, x + i, sizeof u);
        any |= (u & 0x7f800000u) == 0x7f800000u;
    }
    if (!any) return 0;
    int64_t bad = 0;
    for (int64_t i = 0; i < n; i++) bad += !isfinite(x[i]);
    return bad;
}

// Predict reads a batch's rows of x where they are and writes the output's rows straight
// into out, when there is one input and one output: an input no op writes (set_inputs checks
// every input but the first) and an output some op writes, other than the input.
static ptc_status plan_predict_rows(ptc_plan *p, const float *x, int64_t n, int64_t batch_size, int training,
                                    int check_finite, volatile const int *stop, float *out, int lend_in, int lend_out) {
    const int64_t dout = p->out_size;
    for (int64_t start = 0; start < n; start += batch_size) {
        if (stop && *stop) return PTC_ERR_INTERRUPTED;
        int64_t N;
        const int64_t rows = n - start < batch_size ? n - start : batch_size;
        if (check_finite && ptc_count_nonfinite(x + start * p->x_size, rows * p->x_size)) return PTC_ERR_NONFINITE;
        if (lend_in) p->act_at[p->input_buf] = (float *)x + start * p->x_size;  // read only
        if (lend_out) p->act_at[p->output_buf] = out + start * dout;
        const ptc_status st = infer_batch(p, lend_in ? NULL : x, NULL, n, start, batch_size, training, &N);
        if (st != PTC_OK) return st;
        if (lend_out) continue;
        if (p->n_outputs == 1) {
            memcpy(out + start * dout, ptc_plan_act(p, p->output_buf), (size_t)(N * dout) * sizeof(float));
            continue;
        }
        for (int k = 0, off = 0; k < p->n_outputs; off += (int)p->buf_size[p->outputs[k]], k++) {
            const int64_t d = p->buf_size[p->outputs[k]];
            const float *o = ptc_plan_act(p, p->outputs[k]);
            for (int64_t i = 0; i < N; i++)
                memcpy(out + (start + i) * dout + off, o + i * d, (size_t)d * sizeof(float));
        }
    }
    return PTC_OK;
}

static ptc_status plan_predict(ptc_plan *p, const float *x, int64_t n, int64_t batch_size, int training,
                               int check_finite, volatile const int *stop, float *out) {
    if (batch_size <= 0 || batch_size > p->max_batch) return PTC_ERR_VALUE;
    const int in = p->input_buf, o = p->output_buf;
    const int lend_in = p->n_inputs == 1 && op_free(p, in);
    const int lend_out = p->n_outputs == 1 && o != in && !op_free(p, o);
    const ptc_status st = plan_predict_rows(p, x, n, batch_size, training, check_finite, stop, out, lend_in, lend_out);
    p->act_at[in] = p->acts + p->buf_off[in];
    p->act_at[o] = p->acts + p->buf_off[o];
    return st;
}

// The public calls run with denormals flushed (FTZ/DAZ, fpenv.h) and give the
// caller back its floating-point state.
ptc_status ptc_plan_train(ptc_plan *p, const float *x, const float *y, const int64_t *perm, int64_t n,
                          int64_t batch_size, int64_t b0, int64_t b1, volatile const int *stop, int stop_on_nonfinite,
                          double *sums, int64_t *done, double *last_loss) {
    ptc_fpenv fpe;
    ptc_fpenv_enter(&fpe);
    ptc_status st = plan_train(p, x, y, perm, n, batch_size, b0, b1, stop, stop_on_nonfinite, sums, done, last_loss);
    ptc_fpenv_leave(&fpe);
    return st;
}

ptc_status ptc_plan_evaluate(ptc_plan *p, const float *x, const float *y, int64_t n, int64_t batch_size,
                             volatile const int *stop, double *sums) {
    ptc_fpenv fpe;
    ptc_fpenv_enter(&fpe);
    ptc_status st = plan_evaluate(p, x, y, n, batch_size, stop, sums);
    ptc_fpenv_leave(&fpe);
    return st;
}

ptc_status ptc_plan_predict(ptc_plan *p, const float *x, int64_t n, int64_t batch_size, int training, int check_finite,
                            volatile const int *stop, float *out) {
    ptc_fpenv fpe;
    ptc_fpenv_enter(&fpe);
    ptc_status st = plan_predict(p, x, n, batch_size, training, check_finite, stop, out);
    ptc_fpenv_leave(&fpe);
    return st;
}
