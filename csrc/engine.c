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
#include "ptc.h"
#include "rng_mask.h"

static float *buf(const ptc_plan *p, float *base, int b) { return base + p->buf_off[b]; }

static ptc_conv2d_shape conv_shape(const ptc_op *op, int64_t N) {
    const int64_t *a = op->iarg;  // H W C KH KW F SH SW DH DW PT PL OH OW
    ptc_conv2d_shape s = {N, a[0], a[1], a[2], a[3], a[4], a[5], a[6], a[7], a[8], a[9], a[10], a[11], a[12], a[13]};
    return s;
}

static ptc_pool2d_shape pool_shape(const ptc_op *op, int64_t N) {
    const int64_t *a = op->iarg;  // H W C KH KW SH SW PT PL OH OW
    ptc_pool2d_shape s = {N, a[0], a[1], a[2], a[3], a[4], a[5], a[6], a[7], a[8], a[9], a[10]};
    return s;
}

// Floats of workspace an op needs for a batch of N samples.
static int64_t op_scratch(const ptc_plan *p, const ptc_op *op, int64_t N) {
    switch (op->kind) {
    case PTC_OP_CONV2D: {
        ptc_conv2d_shape s = conv_shape(op, N);
        return ptc_conv2d_workspace(&s);
    }
    case PTC_OP_BATCHNORM: return 2 * op->iarg[0];
    case PTC_OP_DROPOUT: return N * p->buf_size[op->out];
    default: return 0;
    }
}

// a * b into *r unless it overflows int64 (a, b >= 0); 0 on overflow.
static int mul_ok(int64_t a, int64_t b, int64_t *r) {
    if (a < 0 || b < 0 || (a != 0 && b > INT64_MAX / a)) return 0;
    *r = a * b;
    return 1;
}

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
static ptc_status plan_sizes(const ptc_plan *p, int64_t max_batch, int64_t *total, int64_t *scratch_total,
                             int64_t *off, int64_t *scratch_off) {
    int64_t t;
    *total = 0;
    *scratch_total = 0;
    for (int b = 0; b < p->n_bufs; b++) {
        if (off) off[b] = *total;
        if (!mul_ok(p->buf_size[b], max_batch, &t) || !add_ok(*total, t, total)) return PTC_ERR_SIZE;
    }
    for (int i = 0; i < p->n_ops; i++) {
        const ptc_op *op = &p->ops[i];
        // sgemm takes int sizes: a dense's rows for the whole batch must fit one.
        if (op->kind == PTC_OP_DENSE && (!mul_ok(op->iarg[0], max_batch, &t) || t > INT_MAX))
            return PTC_ERR_SIZE;
        if (op->kind == PTC_OP_CONV2D) {
            ptc_conv2d_shape s = conv_shape(op, max_batch);
            if (!ptc_conv2d_shape_valid(&s)) return PTC_ERR_SIZE;
        }
        if (op->kind == PTC_OP_DROPOUT && !mul_ok(p->buf_size[op->out], max_batch, &t)) return PTC_ERR_SIZE;
        if (scratch_off) scratch_off[i] = *scratch_total;
        if (!add_ok(*scratch_total, op_scratch(p, op, max_batch), scratch_total)) return PTC_ERR_SIZE;
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
    if (!mul_ok(max_batch, p->y_size > 0 ? p->y_size : 1, &ys) ||
        !mul_ok(max_batch, p->buf_size[p->output_buf], &ws) || ys > PTC_MAX_FLOATS || ws > PTC_MAX_FLOATS ||
        max_batch > PTC_MAX_FLOATS / 2)
        return PTC_ERR_SIZE;
    float *acts = malloc((size_t)total * sizeof(float));
    float *dacts = calloc((size_t)total, sizeof(float));
    int64_t *idx = malloc((size_t)max_batch * sizeof(int64_t));
    float *ybatch = malloc((size_t)ys * sizeof(float));
    float *scratch = calloc((size_t)(scratch_total > 0 ? scratch_total : 1), sizeof(float));
    // Row weights: at most one per output float per sample.
    float *wbatch = malloc((size_t)ws * sizeof(float));
    if (!acts || !dacts || !idx || !ybatch || !scratch || !wbatch) {
        free(acts); free(dacts); free(idx); free(ybatch); free(scratch); free(wbatch);
        return PTC_ERR_NOMEM;
    }
    plan_sizes(p, max_batch, &total, &scratch_total, p->buf_off, p->scratch_off);
    free(p->acts); free(p->dacts); free(p->idx); free(p->ybatch); free(p->scratch); free(p->wbatch);
    p->acts = acts; p->dacts = dacts; p->idx = idx; p->ybatch = ybatch; p->scratch = scratch;
    p->wbatch = wbatch;
    p->max_batch = max_batch;
    return PTC_OK;
}

ptc_status ptc_plan_check_rngs(const ptc_plan *p) {
    for (int i = 0; i < p->n_ops; i++)
        if (p->ops[i].kind == PTC_OP_DROPOUT && (p->ops[i].iarg[0] >= p->n_rngs || !p->rngs)) return PTC_ERR_VALUE;
    return PTC_OK;
}

ptc_status ptc_plan_set_rngs(ptc_plan *p, ptc_rng *rngs, int64_t n) {
    if (n < 0) return PTC_ERR_VALUE;
    p->rngs = rngs;
    p->n_rngs = n;
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
    p->scratch_off = malloc((size_t)(n_ops > 0 ? n_ops : 1) * sizeof(int64_t));
    if (!p->ops || !p->buf_size || !p->buf_off || !p->scratch_off) {
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
    p->n_sums = 3;
    ptc_status st = ptc_plan_reserve(p, max_batch);
    if (st != PTC_OK) ptc_plan_free(p);
    return st;
}

void ptc_plan_free(ptc_plan *p) {
    free(p->ops); free(p->buf_size); free(p->buf_off); free(p->scratch_off); free(p->scratch);
    free(p->acts); free(p->dacts); free(p->idx); free(p->ybatch); free(p->regs); free(p->wbatch);
    memset(p, 0, sizeof(*p));
}

ptc_status ptc_plan_set_loss(ptc_plan *p, int kind, int loss_buf, int64_t last_dim) {
    if (kind < PTC_LOSS_MSE || kind > PTC_LOSS_SOFTMAX_SPARSE_CCE) return PTC_ERR_VALUE;
    if (loss_buf < 0 || loss_buf >= p->n_bufs || p->buf_size[loss_buf] != p->buf_size[p->output_buf])
        return PTC_ERR_VALUE;
    if (last_dim <= 0 || p->buf_size[loss_buf] % last_dim != 0) return PTC_ERR_VALUE;
    const int64_t rows = p->buf_size[loss_buf] / last_dim;
    int64_t y_size, ys;
    if (!mul_ok(rows, ptc_loss_y_size(kind, last_dim), &y_size) || !mul_ok(p->max_batch, y_size, &ys) ||
        ys > PTC_MAX_FLOATS)
        return PTC_ERR_SIZE;
    if (y_size > p->y_size) {
        float *yb = malloc((size_t)ys * sizeof(float));
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

ptc_status ptc_plan_set_metrics(ptc_plan *p, const ptc_metric *metrics, int n) {
    if (n < 0 || n > PTC_MAX_METRICS) return PTC_ERR_VALUE;
    const int64_t R = p->loss_rows, D = p->buf_size[p->output_buf] / R, ys = p->y_size / R;
    int64_t offset = 0;
    for (int i = 0; i < n; i++)
        if (metrics[i].kind <= 0 || metrics[i].kind >= PTC_METRIC_COUNT ||
            ptc_metric_check(&metrics[i], D, ys) != PTC_OK)
            return PTC_ERR_VALUE;
    for (int i = 0; i < n; i++) {
        p->metrics[i] = metrics[i];
        p->metrics[i].offset = offset;
        offset += ptc_metric_slots(&metrics[i], D);
    }
    p->n_metrics = n;
    p->n_sums = 3 + offset;
    return PTC_OK;
}

ptc_status ptc_plan_check_params(const ptc_plan *p) {
    for (int i = 0; i < p->n_ops; i++) {
        const ptc_op *op = &p->ops[i];
        int64_t need[PTC_MAX_PARAM] = {0};
        switch (op->kind) {
        case PTC_OP_DENSE: {
            const int64_t R = op->iarg[0], IN = op->iarg[1], OUT = op->iarg[2];
            int64_t ri, ro;
            if (R <= 0 || IN <= 0 || OUT <= 0 || IN > INT_MAX || OUT > INT_MAX || !mul_ok(R, IN, &ri) ||
                !mul_ok(R, OUT, &ro) || !mul_ok(IN, OUT, &need[0]) || ri != p->buf_size[op->in[0]] ||
                ro != p->buf_size[op->out] || op->param[0] < 0)
                return PTC_ERR_VALUE;
            need[1] = OUT;
            break;
        }
        case PTC_OP_ACTIVATION:
            if (op->iarg[0] < 0 || op->iarg[0] >= PTC_ACT_COUNT || op->iarg[1] <= 0 ||
                p->buf_size[op->out] % op->iarg[1] != 0 ||
                p->buf_size[op->in[0]] != p->buf_size[op->out])
                return PTC_ERR_VALUE;
            break;
        case PTC_OP_CONV2D: {
            const int64_t *a = op->iarg;  // H W C KH KW F SH SW DH DW PT PL OH OW
            for (int k = 0; k < 14; k++)
                if (a[k] < (k == 10 || k == 11 ? 0 : 1)) return PTC_ERR_VALUE;
            ptc_conv2d_shape s = conv_shape(op, p->max_batch > 0 ? p->max_batch : 1);
            if (!ptc_conv2d_shape_valid(&s)) return PTC_ERR_VALUE;
            if (a[0] * a[1] * a[2] != p->buf_size[op->in[0]] || a[12] * a[13] * a[5] != p->buf_size[op->out] ||
                op->param[0] < 0)
                return PTC_ERR_VALUE;
            need[0] = a[3] * a[4] * a[2] * a[5];
            need[1] = a[5];
            break;
        }
        case PTC_OP_MAXPOOL2D:
        case PTC_OP_AVGPOOL2D: {
            const int64_t *a = op->iarg;  // H W C KH KW SH SW PT PL OH OW
            for (int k = 0; k < 11; k++)
                if (a[k] < (k == 7 || k == 8 ? 0 : 1)) return PTC_ERR_VALUE;
            ptc_pool2d_shape s = pool_shape(op, 1);
            if (!ptc_pool2d_shape_valid(&s)) return PTC_ERR_VALUE;
            if (a[0] * a[1] * a[2] != p->buf_size[op->in[0]] || a[9] * a[10] * a[2] != p->buf_size[op->out])
                return PTC_ERR_VALUE;
            break;
        }
        case PTC_OP_GLOBAL_AVGPOOL:
        case PTC_OP_GLOBAL_MAXPOOL:
            if (op->iarg[0] <= 0 || op->iarg[1] <= 0 || op->iarg[0] * op->iarg[1] != p->buf_size[op->in[0]] ||
                op->iarg[1] != p->buf_size[op->out])
                return PTC_ERR_VALUE;
            break;
        case PTC_OP_BATCHNORM:
            if (op->iarg[0] <= 0 || p->buf_size[op->in[0]] != p->buf_size[op->out] ||
                p->buf_size[op->out] % op->iarg[0] != 0 || op->param[2] < 0 || op->param[3] < 0)
                return PTC_ERR_VALUE;
            for (int k = 0; k < 4; k++) need[k] = op->iarg[0];
            break;
        case PTC_OP_DROPOUT:
            if (p->buf_size[op->in[0]] != p->buf_size[op->out] || op->iarg[0] < 0 ||
                !(op->farg[0] >= 0.0 && op->farg[0] < 1.0))
                return PTC_ERR_VALUE;
            break;
        case PTC_OP_ADD:
        case PTC_OP_SUBTRACT:
        case PTC_OP_MULTIPLY:
        case PTC_OP_AVERAGE:
            if (op->kind == PTC_OP_SUBTRACT && op->n_in != 2) return PTC_ERR_VALUE;
            for (int k = 0; k < op->n_in; k++)
                if (p->buf_size[op->in[k]] != p->buf_size[op->out] || op->in[k] == op->out) return PTC_ERR_VALUE;
            break;
        case PTC_OP_CONCAT: {
            int64_t total = 0, outer = op->iarg[0];
            if (outer <= 0) return PTC_ERR_VALUE;
            for (int k = 0; k < op->n_in; k++) {
                if (p->buf_size[op->in[k]] % outer != 0 || op->in[k] == op->out) return PTC_ERR_VALUE;
                total += p->buf_size[op->in[k]];
            }
            if (total != p->buf_size[op->out]) return PTC_ERR_VALUE;
            break;
        }
        case PTC_OP_ACTIVITY_REG:
            if (op->out != op->in[0] || op->n_in != 1) return PTC_ERR_VALUE;
            break;
        default:
            return PTC_ERR_VALUE;
        }
        if (op->kind != PTC_OP_ACTIVITY_REG)
            for (int k = 0; k < op->n_in; k++)
                if (op->in[k] == op->out) return PTC_ERR_VALUE;
        for (int k = 0; k < PTC_MAX_PARAM; k++)
            if (need[k] > 0 && op->param[k] >= 0 && (need[k] > p->n_params || op->param[k] > p->n_params - need[k]))
                return PTC_ERR_VALUE;
    }
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

static float *scratch(const ptc_plan *p, int i) { return p->scratch + p->scratch_off[i]; }
static const float *param(const ptc_plan *p, const ptc_op *op, int k) {
    return op->param[k] >= 0 ? p->params + op->param[k] : NULL;
}
static float *grad(const ptc_plan *p, const ptc_op *op, int k) {
    return op->param[k] >= 0 ? p->grads + op->param[k] : NULL;
}

static void merge_forward(const ptc_plan *p, const ptc_op *op, float *out, int64_t n) {
    memcpy(out, buf(p, p->acts, op->in[0]), (size_t)n * sizeof(float));
    for (int k = 1; k < op->n_in; k++) {
        const float *x = buf(p, p->acts, op->in[k]);
        switch (op->kind) {
        case PTC_OP_SUBTRACT: for (int64_t i = 0; i < n; i++) out[i] -= x[i]; break;
        case PTC_OP_MULTIPLY: for (int64_t i = 0; i < n; i++) out[i] *= x[i]; break;
        default: for (int64_t i = 0; i < n; i++) out[i] += x[i]; break;  // add, average
        }
    }
    if (op->kind == PTC_OP_AVERAGE) {
        const float inv = 1.0f / (float)op->n_in;
        for (int64_t i = 0; i < n; i++) out[i] *= inv;
    }
}

static void merge_backward(const ptc_plan *p, const ptc_op *op, const float *dout, int64_t n) {
    for (int k = 0; k < op->n_in; k++) {
        if (op->in[k] == p->input_buf) continue;
        float *dx = buf(p, p->dacts, op->in[k]);
        switch (op->kind) {
        case PTC_OP_ADD: for (int64_t i = 0; i < n; i++) dx[i] += dout[i]; break;
        case PTC_OP_SUBTRACT:
            if (k == 0) for (int64_t i = 0; i < n; i++) dx[i] += dout[i];
            else for (int64_t i = 0; i < n; i++) dx[i] -= dout[i];
            break;
        case PTC_OP_AVERAGE: {
            const float inv = 1.0f / (float)op->n_in;
            for (int64_t i = 0; i < n; i++) dx[i] += dout[i] * inv;
            break;
        }
        case PTC_OP_MULTIPLY:  // d/dx_k prod_j x_j = prod_{j != k} x_j, recomputed (no division by x_k)
            for (int64_t i = 0; i < n; i++) {
                float g = dout[i];
                for (int j = 0; j < op->n_in; j++)
                    if (j != k) g *= buf(p, p->acts, op->in[j])[i];
                dx[i] += g;
            }
            break;
        }
    }
}

// Concatenation: per sample, `outer` rows; input k contributes w_k floats per row.
static void concat_pass(const ptc_plan *p, const ptc_op *op, int64_t N, int backward) {
    const int64_t outer = op->iarg[0], rows = N * outer, wout = p->buf_size[op->out] / outer;
    int64_t col = 0;
    for (int k = 0; k < op->n_in; k++) {
        const int64_t w = p->buf_size[op->in[k]] / outer;
        if (!backward) {
            const float *x = buf(p, p->acts, op->in[k]);
            float *y = buf(p, p->acts, op->out);
            for (int64_t r = 0; r < rows; r++) memcpy(y + r * wout + col, x + r * w, (size_t)w * sizeof(float));
        } else if (op->in[k] != p->input_buf) {
            float *dx = buf(p, p->dacts, op->in[k]);
            const float *dy = buf(p, p->dacts, op->out);
            for (int64_t r = 0; r < rows; r++)
                for (int64_t c = 0; c < w; c++) dx[r * w + c] += dy[r * wout + col + c];
        }
        col += w;
    }
}

static void dropout_forward(ptc_plan *p, const ptc_op *op, float *mask, float *out, const float *in,
                            int64_t n, int training) {
    const float rate = (float)op->farg[0];
    if (!training || rate == 0.0f) {
        memcpy(out, in, (size_t)n * sizeof(float));
        return;
    }
    // Keras: survivors are scaled by 1 / (1 - rate) so the expected sum is unchanged.
    ptc_rng *rng = &p->rngs[op->iarg[0]];
    const float keep = 1.0f - rate, scale = 1.0f / keep;
    ptc_rng_fill_mask(rng, mask, n, keep, scale);  // as ptc_rng_uniform(rng) < keep per element
    for (int64_t i = 0; i < n; i++) out[i] = in[i] * mask[i];
}

static void forward(ptc_plan *p, int64_t N, int training) {
    p->activity_penalty = 0.0;
    for (int i = 0; i < p->n_ops; i++) {
        const ptc_op *op = &p->ops[i];
        float *out = buf(p, p->acts, op->out);
        const float *in = buf(p, p->acts, op->in[0]);
        const int64_t n_out = N * p->buf_size[op->out];
        switch (op->kind) {
        case PTC_OP_DENSE:  // iarg: rows per sample R, IN, OUT
            ptc_dense_forward(out, in, param(p, op, 0), param(p, op, 1), N * op->iarg[0], op->iarg[1],
                              op->iarg[2]);
            break;
        case PTC_OP_ACTIVATION:  // iarg: kind, width of the last axis D
            ptc_act_forward((int)op->iarg[0], out, in, n_out / op->iarg[1], op->iarg[1], (float)op->farg[0]);
            break;
        case PTC_OP_CONV2D: {
            ptc_conv2d_shape s = conv_shape(op, N);
            ptc_conv2d_forward(out, in, param(p, op, 0), param(p, op, 1), &s, scratch(p, i));
            break;
        }
        case PTC_OP_MAXPOOL2D: {
            ptc_pool2d_shape s = pool_shape(op, N);
            ptc_maxpool2d_forward(out, in, &s);
            break;
        }
        case PTC_OP_AVGPOOL2D: {
            ptc_pool2d_shape s = pool_shape(op, N);
            ptc_avgpool2d_forward(out, in, &s);
            break;
        }
        case PTC_OP_GLOBAL_AVGPOOL:
            ptc_global_avgpool_forward(out, in, N, op->iarg[0], op->iarg[1]);
            break;
        case PTC_OP_GLOBAL_MAXPOOL:
            ptc_global_maxpool_forward(out, in, N, op->iarg[0], op->iarg[1]);
            break;
        case PTC_OP_BATCHNORM:
            // A frozen layer (iarg[1]) normalizes with its moving statistics, as Keras 3.
            ptc_batchnorm_forward(out, in, param(p, op, 0), param(p, op, 1), p->params + op->param[2],
                                  p->params + op->param[3], n_out / op->iarg[0], op->iarg[0],
                                  (float)op->farg[0], (float)op->farg[1], training && !op->iarg[1],
                                  scratch(p, i));
            break;
        case PTC_OP_DROPOUT:
            dropout_forward(p, op, scratch(p, i), out, in, n_out, training);
            break;
        case PTC_OP_ADD:
        case PTC_OP_SUBTRACT:
        case PTC_OP_MULTIPLY:
        case PTC_OP_AVERAGE:
            merge_forward(p, op, out, n_out);
            break;
        case PTC_OP_CONCAT:
            concat_pass(p, op, N, 0);
            break;
        case PTC_OP_ACTIVITY_REG: {  // Keras 3 adds the penalty of the whole batch, not its mean
            double s1 = 0.0, s2 = 0.0;
            for (int64_t k = 0; k < n_out; k++) {
                s1 += fabsf(in[k]);
                s2 += (double)in[k] * in[k];
            }
            p->activity_penalty += op->farg[0] * s1 + op->farg[1] * s2;
            break;
        }
        }
    }
}

static void backward(ptc_plan *p, int64_t N) {
    for (int i = p->n_ops - 1; i >= 0; i--) {
        const ptc_op *op = &p->ops[i];
        if (op->flags & PTC_OPF_NO_BACKWARD) continue;
        const int from_input = op->in[0] == p->input_buf;
        const float *dout = buf(p, p->dacts, op->out);
        float *din = from_input ? NULL : buf(p, p->dacts, op->in[0]);
        const float *in = buf(p, p->acts, op->in[0]);
        const int64_t n_out = N * p->buf_size[op->out];
        switch (op->kind) {
        case PTC_OP_DENSE:
            ptc_dense_backward(din, grad(p, op, 0), grad(p, op, 1), dout, in, param(p, op, 0), N * op->iarg[0],
                               op->iarg[1], op->iarg[2]);
            break;
        case PTC_OP_ACTIVATION:
            if (din)
                ptc_act_backward((int)op->iarg[0], din, dout, in, buf(p, p->acts, op->out), n_out / op->iarg[1],
                                 op->iarg[1], (float)op->farg[0]);
            break;
        case PTC_OP_CONV2D: {
            ptc_conv2d_shape s = conv_shape(op, N);
            ptc_conv2d_backward(din, grad(p, op, 0), grad(p, op, 1), dout, in, param(p, op, 0), &s, scratch(p, i));
            break;
        }
        case PTC_OP_MAXPOOL2D:
            if (din) {
                ptc_pool2d_shape s = pool_shape(op, N);
                ptc_maxpool2d_backward(din, dout, in, &s);
            }
            break;
        case PTC_OP_AVGPOOL2D:
            if (din) {
                ptc_pool2d_shape s = pool_shape(op, N);
                ptc_avgpool2d_backward(din, dout, &s);
            }
            break;
        case PTC_OP_GLOBAL_AVGPOOL:
            if (din) ptc_global_avgpool_backward(din, dout, N, op->iarg[0], op->iarg[1]);
            break;
        case PTC_OP_GLOBAL_MAXPOOL:
            if (din) ptc_global_maxpool_backward(din, dout, in, N, op->iarg[0], op->iarg[1]);
            break;
        case PTC_OP_BATCHNORM:
            if (op->iarg[1]) {  // frozen: the moving statistics are constants
                ptc_batchnorm_backward_inference(din, grad(p, op, 0), grad(p, op, 1), dout, in, param(p, op, 0),
                                                 n_out / op->iarg[0], op->iarg[0], scratch(p, i));
            } else {
                // Through the batch statistics; runs even without din, for gamma and beta.
                ptc_batchnorm_backward(din, grad(p, op, 0), grad(p, op, 1), dout, in, param(p, op, 0),
                                       n_out / op->iarg[0], op->iarg[0], scratch(p, i));
            }
            break;
        case PTC_OP_DROPOUT:
            if (din) {
                const float *mask = scratch(p, i);
                if (op->farg[0] == 0.0)
                    for (int64_t k = 0; k < n_out; k++) din[k] += dout[k];
                else
                    for (int64_t k = 0; k < n_out; k++) din[k] += dout[k] * mask[k];
            }
            break;
        case PTC_OP_ADD:
        case PTC_OP_SUBTRACT:
        case PTC_OP_MULTIPLY:
        case PTC_OP_AVERAGE:
            merge_backward(p, op, dout, n_out);
            break;
        case PTC_OP_CONCAT:
            concat_pass(p, op, N, 1);
            break;
        case PTC_OP_ACTIVITY_REG:
            if (din) {  // din aliases dout: add the penalty's gradient in place
                const float l1 = (float)op->farg[0], l2x2 = (float)(2.0 * op->farg[1]);
                for (int64_t k = 0; k < n_out; k++)
                    din[k] += l1 * (float)((in[k] > 0.0f) - (in[k] < 0.0f)) + l2x2 * in[k];
            }
            break;
        }
    }
}

// Regularization penalty on the current weights; adds its gradient when grads.
// The gradient pass is elementwise and vectorizes. The sums run in PTC_REG_LANES
// double accumulators (weight i into lane i % PTC_REG_LANES), combined in a fixed
// order: one running sum is bound by the add latency (about 3 cycles per weight,
// 250 us of a W5 step), the lanes vectorize. Deterministic, and the same in every
// build, but the penalty's last bits differ from a single running sum's.
#define PTC_REG_LANES 8

static double regularize(ptc_plan *p, float *grads) {
    double penalty = 0.0;
    for (int r = 0; r < p->n_regs; r++) {
        const ptc_regularizer *reg = &p->regs[r];
        const float *restrict w = p->params + reg->offset;
        const int64_t n = reg->size;
        const float l1 = (float)reg->l1, l2x2 = (float)(2.0 * reg->l2);
        if (grads) {
            float *restrict g = grads + reg->offset;
            for (int64_t i = 0; i < n; i++) g[i] += l1 * (float)((w[i] > 0.0f) - (w[i] < 0.0f)) + l2x2 * w[i];
        }
        double s1[PTC_REG_LANES] = {0.0}, s2[PTC_REG_LANES] = {0.0};
        int64_t i = 0;
        for (; i + PTC_REG_LANES <= n; i += PTC_REG_LANES)
            for (int j = 0; j < PTC_REG_LANES; j++) {
                s1[j] += fabsf(w[i + j]);
                s2[j] += (double)w[i + j] * w[i + j];
            }
        for (int j = 0; i < n; i++, j++) {
            s1[j] += fabsf(w[i]);
            s2[j] += (double)w[i] * w[i];
        }
        for (int h = PTC_REG_LANES / 2; h > 0; h /= 2)
            for (int j = 0; j < h; j++) {
                s1[j] += s1[j + h];
                s2[j] += s2[j + h];
            }
        penalty += reg->l1 * s1[0] + reg->l2 * s2[0];
    }
    return penalty;
}

static void gather(ptc_plan *p, const float *x, const float *y, const int64_t *idx, int64_t N) {
    const int64_t dx = p->buf_size[p->input_buf], dy = p->y_size, R = p->loss_rows;
    float *xb = buf(p, p->acts, p->input_buf);
    for (int64_t n = 0; n < N; n++) {
        memcpy(xb + n * dx, x + idx[n] * dx, (size_t)dx * sizeof(float));
        if (y) memcpy(p->ybatch + n * dy, y + idx[n] * dy, (size_t)dy * sizeof(float));
        if (y && p->sample_weight)
            for (int64_t r = 0; r < R; r++) p->wbatch[n * R + r] = p->sample_weight[idx[n]];
    }
}

static ptc_status loss_and_metrics(ptc_plan *p, int64_t N, float *dloss, double *sums) {
    double loss = 0.0;
    // Outputs of shape (R, D) per sample are R rows of D: Keras takes the mean
    // over the last axis and then over everything else.
    const int64_t R = p->loss_rows, D = p->buf_size[p->loss_buf] / R, ys = p->y_size / R;
    const float *w = p->sample_weight ? p->wbatch : NULL;
    ptc_status st = ptc_loss_compute(p->loss_kind, &loss, dloss, buf(p, p->acts, p->loss_buf),
                                     p->ybatch, w, N * R, D);
    if (st != PTC_OK) return st;
    double wsum = (double)N;
    if (w) {
        wsum = 0.0;
        for (int64_t r = 0; r < N * R; r++) wsum += w[r];
        wsum /= (double)R;
    }
    sums[0] += loss * (double)N;
    sums[1] += (double)N;
    sums[2] += wsum;
    for (int k = 0; k < p->n_metrics; k++)
        ptc_metric_accumulate(&p->metrics[k], buf(p, p->acts, p->output_buf), p->ybatch, ys, w,
                              1.0f / (float)R, N * R, D, sums + 3 + p->metrics[k].offset);
    return PTC_OK;
}

static ptc_status check_batch(const ptc_plan *p, int64_t batch_size) {
    if (batch_size <= 0 || batch_size > p->max_batch) return PTC_ERR_VALUE;
    if (p->loss_kind == 0) return PTC_ERR_VALUE;
    return ptc_plan_check_rngs(p);
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
    ptc_fpenv fpe;  // FTZ/DAZ for the call, the caller's state back on return (fpenv.h)
    ptc_fpenv_enter(&fpe);
    ptc_status st = check_batch(p, batch_size);
    *done = 0;
    if (st != PTC_OK || !p->opt.kind) return ptc_fpenv_return(&fpe, PTC_ERR_VALUE);
    for (int64_t b = b0; b < b1; b++) {
        if (stop && *stop) return ptc_fpenv_return(&fpe, PTC_ERR_INTERRUPTED);
        int64_t start = b * batch_size;
        if (start >= n) break;
        int64_t N = n - start < batch_size ? n - start : batch_size;
        gather(p, x, y, perm + start, N);
        forward(p, N, 1);
        zero_dacts(p, N);
        memset(p->grads, 0, (size_t)p->n_params * sizeof(float));
        const double before = sums[0];
        st = loss_and_metrics(p, N, buf(p, p->dacts, p->loss_buf), sums);
        if (st != PTC_OK) return ptc_fpenv_return(&fpe, st);
        backward(p, N);
        sums[0] += (regularize(p, p->grads) + p->activity_penalty) * (double)N;
        ptc_optimizer_step(&p->opt, p->params, p->grads, p->n_trainable);
        *done += 1;
        *last_loss = (sums[0] - before) / (double)N;
        // Keras's TerminateOnNaN acts after the batch's update, at the batch's end.
        if (stop_on_nonfinite && !isfinite(*last_loss)) return ptc_fpenv_return(&fpe, PTC_STOPPED_NONFINITE);
    }
    return ptc_fpenv_return(&fpe, PTC_OK);
}

ptc_status ptc_plan_evaluate(ptc_plan *p, const float *x, const float *y, int64_t n,
                             int64_t batch_size, volatile const int *stop, double *sums) {
    ptc_fpenv fpe;  // FTZ/DAZ for the call, the caller's state back on return (fpenv.h)
    ptc_fpenv_enter(&fpe);
    ptc_status st = check_batch(p, batch_size);
    if (st != PTC_OK) return ptc_fpenv_return(&fpe, st);
    const double penalty = regularize(p, NULL);  // weights do not change here
    for (int64_t start = 0; start < n; start += batch_size) {
        if (stop && *stop) return ptc_fpenv_return(&fpe, PTC_ERR_INTERRUPTED);
        int64_t N = n - start < batch_size ? n - start : batch_size;
        for (int64_t i = 0; i < N; i++) p->idx[i] = start + i;
        gather(p, x, y, p->idx, N);
        forward(p, N, 0);
        st = loss_and_metrics(p, N, NULL, sums);
        if (st != PTC_OK) return ptc_fpenv_return(&fpe, st);
        sums[0] += (penalty + p->activity_penalty) * (double)N;
    }
    return ptc_fpenv_return(&fpe, PTC_OK);
}

ptc_status ptc_plan_predict(ptc_plan *p, const float *x, int64_t n, int64_t batch_size,
                            volatile const int *stop, float *out) {
    ptc_fpenv fpe;  // FTZ/DAZ for the call, the caller's state back on return (fpenv.h)
    ptc_fpenv_enter(&fpe);
    if (batch_size <= 0 || batch_size > p->max_batch) return ptc_fpenv_return(&fpe, PTC_ERR_VALUE);
    const int64_t dout = p->buf_size[p->output_buf];
    for (int64_t start = 0; start < n; start += batch_size) {
        if (stop && *stop) return ptc_fpenv_return(&fpe, PTC_ERR_INTERRUPTED);
        int64_t N = n - start < batch_size ? n - start : batch_size;
        for (int64_t i = 0; i < N; i++) p->idx[i] = start + i;
        gather(p, x, NULL, p->idx, N);
        forward(p, N, 0);
        memcpy(out + start * dout, buf(p, p->acts, p->output_buf), (size_t)(N * dout) * sizeof(float));
    }
    return ptc_fpenv_return(&fpe, PTC_OK);
}
