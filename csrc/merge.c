// Merge kernels (Keras's Add, Subtract, Multiply, Average, Concatenate) over
// n_in inputs of n floats each. Backward: dins[k] += d(loss)/d(in k); a NULL
// dins[k] (the model input) is skipped.
#include <string.h>

#include "ptc.h"
#include "ops.h"

void ptc_add_forward(float *out, const float *const *ins, int n_in, int64_t n) {
    memcpy(out, ins[0], (size_t)n * sizeof(float));
    for (int k = 1; k < n_in; k++)
        for (int64_t i = 0; i < n; i++) out[i] += ins[k][i];
}

void ptc_add_backward(float *const *dins, const float *dout, int n_in, int64_t n) {
    for (int k = 0; k < n_in; k++)
        if (dins[k])
            for (int64_t i = 0; i < n; i++) dins[k][i] += dout[i];
}

void ptc_subtract_forward(float *out, const float *a, const float *b, int64_t n) {
    for (int64_t i = 0; i < n; i++) out[i] = a[i] - b[i];
}

void ptc_subtract_backward(float *da, float *db, const float *dout, int64_t n) {
    if (da)
        for (int64_t i = 0; i < n; i++) da[i] += dout[i];
    if (db)
        for (int64_t i = 0; i < n; i++) db[i] -= dout[i];
}

void ptc_multiply_forward(float *out, const float *const *ins, int n_in, int64_t n) {
    memcpy(out, ins[0], (size_t)n * sizeof(float));
    for (int k = 1; k < n_in; k++)
        for (int64_t i = 0; i < n; i++) out[i] *= ins[k][i];
}

// d/dx_k prod_j x_j = prod_{j != k} x_j, recomputed rather than out / x_k, which
// would divide by zero.
void ptc_multiply_backward(float *const *dins, const float *dout, const float *const *ins, int n_in, int64_t n) {
    for (int k = 0; k < n_in; k++) {
        if (!dins[k]) continue;
        for (int64_t i = 0; i < n; i++) {
            float g = dout[i];
            for (int j = 0; j < n_in; j++)
                if (j != k) g *= ins[j][i];
            dins[k][i] += g;
        }
    }
}

void ptc_average_forward(float *out, const float *const *ins, int n_in, int64_t n) {
    ptc_add_forward(out, ins, n_in, n);
    const float inv = 1.0f / (float)n_in;
    for (int64_t i = 0; i < n; i++) out[i] *= inv;
}

void ptc_average_backward(float *const *dins, const float *dout, int n_in, int64_t n) {
    const float inv = 1.0f / (float)n_in;
    for (int k = 0; k < n_in; k++)
        if (dins[k])
            for (int64_t i = 0; i < n; i++) dins[k][i] += dout[i] * inv;
}

// rows rows; input k contributes widths[k] floats to each row of out (rows, sum widths).
void ptc_concat_forward(float *out, const float *const *ins, const int64_t *widths, int n_in, int64_t rows) {
    int64_t wout = 0, col = 0;
    for (int k = 0; k < n_in; k++) wout += widths[k];
    for (int k = 0; k < n_in; k++) {
        const int64_t w = widths[k];
        for (int64_t r = 0; r < rows; r++) memcpy(out + r * wout + col, ins[k] + r * w, (size_t)w * sizeof(float));
        col += w;
    }
}

void ptc_concat_backward(float *const *dins, const float *dout, const int64_t *widths, int n_in, int64_t rows) {
    int64_t wout = 0, col = 0;
    for (int k = 0; k < n_in; k++) wout += widths[k];
    for (int k = 0; k < n_in; k++) {
        const int64_t w = widths[k];
        if (dins[k])
            for (int64_t r = 0; r < rows; r++)
                for (int64_t c = 0; c < w; c++) dins[k][r * w + c] += dout[r * wout + col + c];
        col += w;
    }
}

// ---------------------------------------------------------------------------
// The plan's op adapters (ops.def, dispatched through ops.c's table).
static ptc_status merge_check(const ptc_plan *p, const ptc_op *op, int64_t need[PTC_MAX_PARAM]) {
    for (int k = 0; k < op->n_in; k++)
        if (ptc_op_in_size(p, op, k) != ptc_op_out_size(p, op)) return PTC_ERR_OP;
    return PTC_OK;
}

// Merges over n_in inputs of equal size share these two shapes of adapter.
typedef void (*merge_fwd)(float *out, const float *const *ins, int n_in, int64_t n);
typedef void (*merge_bwd)(float *const *dins, const float *dout, int n_in, int64_t n);

static void merge_forward(ptc_plan *p, int i, int64_t N, merge_fwd kernel) {
    const ptc_op *op = &p->ops[i];
    const float *ins[PTC_MAX_IN];
    ptc_op_gather_ins(p, op, ins, NULL);
    kernel(ptc_plan_act(p, op->out), ins, op->n_in, N * ptc_op_out_size(p, op));
}

static void merge_backward(ptc_plan *p, int i, int64_t N, merge_bwd kernel) {
    const ptc_op *op = &p->ops[i];
    float *dins[PTC_MAX_IN];
    ptc_op_gather_ins(p, op, NULL, dins);
    kernel(dins, ptc_plan_dact(p, op->out), op->n_in, N * ptc_op_out_size(p, op));
}

void ptc_op_add_forward(ptc_plan *p, int i, int64_t N, int training) {
    merge_forward(p, i, N, ptc_add_forward);
}
void ptc_op_add_backward(ptc_plan *p, int i, int64_t N) {
    merge_backward(p, i, N, ptc_add_backward);
}
void ptc_op_multiply_forward(ptc_plan *p, int i, int64_t N, int training) {
    merge_forward(p, i, N, ptc_multiply_forward);
}
void ptc_op_average_forward(ptc_plan *p, int i, int64_t N, int training) {
    merge_forward(p, i, N, ptc_average_forward);
}
void ptc_op_average_backward(ptc_plan *p, int i, int64_t N) {
    merge_backward(p, i, N, ptc_average_backward);
}

void ptc_op_multiply_backward(ptc_plan *p, int i, int64_t N) {  // needs the inputs too
    const ptc_op *op = &p->ops[i];
    const float *ins[PTC_MAX_IN];
    float *dins[PTC_MAX_IN];
    ptc_op_gather_ins(p, op, ins, dins);
    ptc_multiply_backward(dins, ptc_plan_dact(p, op->out), ins, op->n_in, N * ptc_op_out_size(p, op));
}

void ptc_op_subtract_forward(ptc_plan *p, int i, int64_t N, int training) {
    const ptc_op *op = &p->ops[i];
    ptc_subtract_forward(ptc_plan_act(p, op->out), ptc_plan_act(p, op->in[0]), ptc_plan_act(p, op->in[1]),
                         N * ptc_op_out_size(p, op));
}

void ptc_op_subtract_backward(ptc_plan *p, int i, int64_t N) {
    const ptc_op *op = &p->ops[i];
    ptc_subtract_backward(ptc_op_din(p, op, 0), ptc_op_din(p, op, 1), ptc_plan_dact(p, op->out),
                          N * ptc_op_out_size(p, op));
}

ptc_status ptc_op_concat_check(const ptc_plan *p, const ptc_op *op, int64_t need[PTC_MAX_PARAM]) {
    int64_t total = 0;
    const int64_t outer = op->iarg[PTC_CONCAT_OUTER];
    if (outer <= 0) return PTC_ERR_OP;
    for (int k = 0; k < op->n_in; k++) {
        if (ptc_op_in_size(p, op, k) % outer != 0) return PTC_ERR_OP;
        total += ptc_op_in_size(p, op, k);
    }
    return total == ptc_op_out_size(p, op) ? PTC_OK : PTC_ERR_OP;
}

static void concat_widths(const ptc_plan *p, const ptc_op *op, int64_t *widths) {
    for (int k = 0; k < op->n_in; k++) widths[k] = ptc_op_in_size(p, op, k) / op->iarg[PTC_CONCAT_OUTER];
}

void ptc_op_concat_forward(ptc_plan *p, int i, int64_t N, int training) {
    const ptc_op *op = &p->ops[i];
    const float *ins[PTC_MAX_IN];
    int64_t widths[PTC_MAX_IN];
    ptc_op_gather_ins(p, op, ins, NULL);
    concat_widths(p, op, widths);
    ptc_concat_forward(ptc_plan_act(p, op->out), ins, widths, op->n_in, N * op->iarg[PTC_CONCAT_OUTER]);
}

void ptc_op_concat_backward(ptc_plan *p, int i, int64_t N) {
    const ptc_op *op = &p->ops[i];
    float *dins[PTC_MAX_IN];
    int64_t widths[PTC_MAX_IN];
    ptc_op_gather_ins(p, op, NULL, dins);
    concat_widths(p, op, widths);
    ptc_concat_backward(dins, ptc_plan_dact(p, op->out), widths, op->n_in, N * op->iarg[PTC_CONCAT_OUTER]);
}

PTC_OP_CHECK_AS(add, merge_check)
PTC_OP_CHECK_AS(subtract, merge_check)
PTC_OP_CHECK_AS(multiply, merge_check)
PTC_OP_CHECK_AS(average, merge_check)
PTC_OP_NO_SCRATCH(add)
PTC_OP_NO_SCRATCH(subtract)
PTC_OP_NO_SCRATCH(multiply)
PTC_OP_NO_SCRATCH(average)
PTC_OP_NO_SCRATCH(concat)

// maximum, minimum: Keras folds ops.maximum over the inputs. NaN propagates (as
// NumPy's and TensorFlow's maximum). The gradient goes to the first input holding
// the result, TensorFlow's rule for ties (torch splits a tie evenly).
static float pick(float best, float v, int is_max) {
    if (best != best) return best;
    if (v != v) return v;
    return is_max ? (v > best ? v : best) : (v < best ? v : best);
}

static void extremum_forward(ptc_plan *p, int i, int64_t N, int is_max) {
    const ptc_op *op = &p->ops[i];
    const float *ins[PTC_MAX_IN];
    ptc_op_gather_ins(p, op, ins, NULL);
    float *out = ptc_plan_act(p, op->out);
    const int64_t n = N * ptc_op_out_size(p, op);
    memcpy(out, ins[0], (size_t)n * sizeof(float));
    for (int k = 1; k < op->n_in; k++)
        for (int64_t j = 0; j < n; j++) out[j] = pick(out[j], ins[k][j], is_max);
}

static void extremum_backward(ptc_plan *p, int i, int64_t N) {
    const ptc_op *op = &p->ops[i];
    const float *ins[PTC_MAX_IN];
    float *dins[PTC_MAX_IN];
    ptc_op_gather_ins(p, op, ins, dins);
    const float *out = ptc_plan_act(p, op->out), *dout = ptc_plan_dact(p, op->out);
    const int64_t n = N * ptc_op_out_size(p, op);
    for (int64_t j = 0; j < n; j++) {
        int k = 0;  // the first input equal to the result (bitwise, so NaN finds its NaN)
        while (k < op->n_in - 1 && ins[k][j] != out[j] && !(ins[k][j] != ins[k][j] && out[j] != out[j])) k++;
        if (dins[k]) dins[k][j] += dout[j];
    }
}

void ptc_op_maximum_forward(ptc_plan *p, int i, int64_t N, int training) {
    extremum_forward(p, i, N, 1);
}
void ptc_op_maximum_backward(ptc_plan *p, int i, int64_t N) {
    extremum_backward(p, i, N);
}
void ptc_op_minimum_forward(ptc_plan *p, int i, int64_t N, int training) {
    extremum_forward(p, i, N, 0);
}
void ptc_op_minimum_backward(ptc_plan *p, int i, int64_t N) {
    extremum_backward(p, i, N);
}
PTC_OP_CHECK_AS(maximum, merge_check)
PTC_OP_CHECK_AS(minimum, merge_check)
PTC_OP_NO_SCRATCH(maximum)
PTC_OP_NO_SCRATCH(minimum)
