// Traced weight updates (issue #9): a custom layer's `call` that reduces over the batch axis and
// assigns the result to a non-trainable weight, as BatchNormalization's moving statistics.
//
// A per-batch value (ops.mean(x, axis=0)) lives in a per-sample buffer whose N rows all hold it,
// so the elementwise primitives (prim.c) combine it with per-sample tensors unchanged. An op on
// per-batch values alone (ops.transpose(self.kernel)) carries the PER_BATCH flag: the engine runs
// it on row 0 only, once per batch, and a batch_broadcast fills the rows for an op that reads
// them one by one. Row 0 always holds the value; the gradient is the sum of the rows' gradients. N is the
// batch's real row count: a mean over the last, smaller batch of an epoch divides by its size.
// Sums run in double, in a fixed order (blocks of columns, rows in order): bitwise reproducible.
#include <string.h>

#include "ops.h"

#define PTC_COLS_BLOCK 64

// acc[j] = sum over the N rows of x[r * S + j], for the columns j0 .. j0 + n - 1.
static void column_sums(const float *x, int64_t N, int64_t S, int64_t j0, int64_t n, double *acc) {
    for (int64_t j = 0; j < n; j++) acc[j] = 0.0;
    for (int64_t r = 0; r < N; r++) {
        const float *row = x + r * S + j0;
        for (int64_t j = 0; j < n; j++) acc[j] += row[j];
    }
}

// Naive reference: the same sums, column by column (tests compare the two).
static void column_sums_ref(const float *x, int64_t N, int64_t S, int64_t j0, int64_t n, double *acc) {
    for (int64_t j = 0; j < n; j++) {
        double s = 0.0;
        for (int64_t r = 0; r < N; r++) s += x[r * S + j0 + j];
        acc[j] = s;
    }
}

// out (N, S): every row = the (scaled) column sums of x (N, S).
static void ptc_batch_reduce(float *restrict out, const float *restrict x, int64_t N, int64_t S, double scale,
                             int ref) {
    double acc[PTC_COLS_BLOCK];
    for (int64_t j0 = 0; j0 < S; j0 += PTC_COLS_BLOCK) {
        const int64_t n = S - j0 < PTC_COLS_BLOCK ? S - j0 : PTC_COLS_BLOCK;
        (ref ? column_sums_ref : column_sums)(x, N, S, j0, n, acc);
        for (int64_t r = 0; r < N; r++)
            for (int64_t j = 0; j < n; j++) out[r * S + j0 + j] = (float)(acc[j] * scale);
    }
}

// Each of the `rows` rows of dst (rows, S) += the (scaled) column sums of src (N, S): a batch
// reduction's input gradient (rows = N) or a read weight's gradient (rows = 1).
static void add_column_sums(float *restrict dst, int64_t rows, const float *restrict src, int64_t N, int64_t S,
                            double scale) {
    double acc[PTC_COLS_BLOCK];
    for (int64_t j0 = 0; j0 < S; j0 += PTC_COLS_BLOCK) {
        const int64_t n = S - j0 < PTC_COLS_BLOCK ? S - j0 : PTC_COLS_BLOCK;
        column_sums(src, N, S, j0, n, acc);
        for (int64_t r = 0; r < rows; r++)
            for (int64_t j = 0; j < n; j++) dst[r * S + j0 + j] += (float)(acc[j] * scale);
    }
}

// -- batch_reduce --------------------------------------------------------------------------------
ptc_status ptc_op_batch_reduce_check(const ptc_plan *p, const ptc_op *op, int64_t need[PTC_MAX_PARAM]) {
    (void)need;
    const int64_t mean = op->iarg[PTC_BATCH_REDUCE_MEAN], ref = op->iarg[PTC_BATCH_REDUCE_REF];
    return (mean == 0 || mean == 1) && (ref == 0 || ref == 1) && ptc_op_in_size(p, op, 0) == ptc_op_out_size(p, op)
               ? PTC_OK
               : PTC_ERR_OP;
}

static double batch_reduce_scale(const ptc_op *op, int64_t N) {
    return op->iarg[PTC_BATCH_REDUCE_MEAN] && N > 0 ? 1.0 / (double)N : 1.0;
}

void ptc_op_batch_reduce_forward(ptc_plan *p, int i, int64_t N, int training) {
    (void)training;
    const ptc_op *op = &p->ops[i];
    // REF = 1: the naive reference kernel (tests).
    ptc_batch_reduce(ptc_plan_act(p, op->out), ptc_plan_act(p, op->in[0]), N, ptc_op_out_size(p, op),
                     batch_reduce_scale(op, N), (int)op->iarg[PTC_BATCH_REDUCE_REF]);
}

void ptc_op_batch_reduce_backward(ptc_plan *p, int i, int64_t N) {
    const ptc_op *op = &p->ops[i];
    float *din = ptc_op_din(p, op, 0);
    if (!din) return;
    add_column_sums(din, N, ptc_plan_dact(p, op->out), N, ptc_op_out_size(p, op), batch_reduce_scale(op, N));
}

PTC_OP_NO_SCRATCH(batch_reduce)

// -- read_weight ---------------------------------------------------------------------------------
ptc_status ptc_op_read_weight_check(const ptc_plan *p, const ptc_op *op, int64_t need[PTC_MAX_PARAM]) {
    if (op->param[PTC_READ_WEIGHT_W] < 0) return PTC_ERR_OP;
    need[PTC_READ_WEIGHT_W] = ptc_op_out_size(p, op);
    return PTC_OK;
}

void ptc_op_read_weight_forward(ptc_plan *p, int i, int64_t N, int training) {
    (void)training;
    const ptc_op *op = &p->ops[i];
    const int64_t S = ptc_op_out_size(p, op);
    const float *w = ptc_plan_param(p, op, PTC_READ_WEIGHT_W);
    float *out = ptc_plan_act(p, op->out);
    for (int64_t r = 0; r < N; r++) memcpy(out + r * S, w, (size_t)S * sizeof(float));
}

void ptc_op_read_weight_backward(ptc_plan *p, int i, int64_t N) {
    const ptc_op *op = &p->ops[i];
    float *gw = ptc_plan_grad(p, op, PTC_READ_WEIGHT_W);
    if (gw) add_column_sums(gw, 1, ptc_plan_dact(p, op->out), N, ptc_op_out_size(p, op), 1.0);  // one row
}

PTC_OP_NO_SCRATCH(read_weight)

// -- assign --------------------------------------------------------------------------------------
ptc_status ptc_op_assign_check(const ptc_plan *p, const ptc_op *op, int64_t need[PTC_MAX_PARAM]) {
    if (op->param[PTC_ASSIGN_W] < 0 || op->out != op->in[0]) return PTC_ERR_OP;
    need[PTC_ASSIGN_W] = ptc_op_out_size(p, op);
    return PTC_OK;
}

void ptc_op_assign_forward(ptc_plan *p, int i, int64_t N, int training) {
    const ptc_op *op = &p->ops[i];
    if (!training || N <= 0) return;  // an empty batch has no statistics to write
    memcpy(p->params + op->param[PTC_ASSIGN_W], ptc_plan_act(p, op->in[0]),
           (size_t)ptc_op_out_size(p, op) * sizeof(float));
}

void ptc_op_assign_backward(ptc_plan *p, int i, int64_t N) {
    (void)p, (void)i, (void)N;  // no gradient flows through an assignment (as Keras's)
}

PTC_OP_NO_SCRATCH(assign)

// -- mode_select ---------------------------------------------------------------------------------
ptc_status ptc_op_mode_select_check(const ptc_plan *p, const ptc_op *op, int64_t need[PTC_MAX_PARAM]) {
    (void)need;
    const int64_t S = ptc_op_out_size(p, op);
    return op->n_in == 2 && ptc_op_in_size(p, op, 0) == S && ptc_op_in_size(p, op, 1) == S ? PTC_OK : PTC_ERR_OP;
}

void ptc_op_mode_select_forward(ptc_plan *p, int i, int64_t N, int training) {
    const ptc_op *op = &p->ops[i];
    memcpy(ptc_plan_act(p, op->out), ptc_plan_act(p, op->in[training ? 0 : 1]),
           (size_t)(N * ptc_op_out_size(p, op)) * sizeof(float));
}

void ptc_op_mode_select_backward(ptc_plan *p, int i, int64_t N) {
    const ptc_op *op = &p->ops[i];  // backward runs in training: the gradient goes to the training branch
    float *din = ptc_op_din(p, op, 0);
    if (!din) return;
    const float *dout = ptc_plan_dact(p, op->out);
    const int64_t n = N * ptc_op_out_size(p, op);
    for (int64_t j = 0; j < n; j++) din[j] += dout[j];
}

PTC_OP_NO_SCRATCH(mode_select)

// -- batch_broadcast -----------------------------------------------------------------------------
ptc_status ptc_op_batch_broadcast_check(const ptc_plan *p, const ptc_op *op, int64_t need[PTC_MAX_PARAM]) {
    (void)need;
    return op->out != op->in[0] && ptc_op_in_size(p, op, 0) == ptc_op_out_size(p, op) ? PTC_OK : PTC_ERR_OP;
}

void ptc_op_batch_broadcast_forward(ptc_plan *p, int i, int64_t N, int training) {
    (void)training;
    const ptc_op *op = &p->ops[i];
    const int64_t S = ptc_op_out_size(p, op);
    const float *x = ptc_plan_act(p, op->in[0]);
    float *out = ptc_plan_act(p, op->out);
    for (int64_t r = 0; r < N; r++) memcpy(out + r * S, x, (size_t)S * sizeof(float));
}

void ptc_op_batch_broadcast_backward(ptc_plan *p, int i, int64_t N) {
    const ptc_op *op = &p->ops[i];
    float *din = ptc_op_din(p, op, 0);
    if (din) add_column_sums(din, 1, ptc_plan_dact(p, op->out), N, ptc_op_out_size(p, op), 1.0);  // into row 0
}

PTC_OP_NO_SCRATCH(batch_broadcast)
