// The matmul primitive (prim.c's family): `ops.matmul`/`dot`/`einsum` contractions through sgemm.
// Plain C11; operands as in prim.h (a parameter or the op's next input).

#include <limits.h>
#include <string.h>

#include "blas.h"
#include "ops.h"
#include "prim.h"

// matmul through sgemm: per sample and per batch matrix, or, when b is one matrix for every
// sample (a weight: x @ W, or a per-batch input's row 0), as one sgemm over all N * BATCH * M
// rows, as Dense does.
typedef struct {
    int64_t batch, m, k, cols, sa, sb;  // sa, sb: floats between consecutive a / b matrices
    int64_t na, nb;                     // floats per sample of a / b (0: a parameter)
} mm_dims;

static void mm_dims_of(const ptc_op *op, mm_dims *d) {
    d->batch = op->iarg[PTC_MATMUL_BATCH];
    d->m = op->iarg[PTC_MATMUL_M];
    d->k = op->iarg[PTC_MATMUL_K];
    d->cols = op->iarg[PTC_MATMUL_COLS];
    d->sa = op->iarg[PTC_MATMUL_BCAST_A] ? 0 : d->m * d->k;
    d->sb = op->iarg[PTC_MATMUL_BCAST_B] ? 0 : d->k * d->cols;
    d->na = op->param[0] >= 0 || op->iarg[PTC_MATMUL_PER_BATCH_A] ? 0 : (d->sa ? d->batch * d->sa : d->m * d->k);
    d->nb = op->param[1] >= 0 || op->iarg[PTC_MATMUL_PER_BATCH_B] ? 0 : (d->sb ? d->batch * d->sb : d->k * d->cols);
}

// Both operands per-batch inputs (a product of weights in a traced call): the product is per
// batch too, computed once from row 0 and copied to every row; its gradient is the sum of the
// rows' gradients (in the op's scratch), taken back once to row 0 of each operand.
static int mm_per_batch(const ptc_op *op) {
    return op->iarg[PTC_MATMUL_PER_BATCH_A] && op->iarg[PTC_MATMUL_PER_BATCH_B];
}

// b is the same matrix for every row of every sample: collapse to one sgemm.
static int mm_flat(const mm_dims *d) {
    return d->nb == 0 && (d->sb == 0 || d->batch == 1) && (d->sa != 0 || d->batch == 1) && d->na != 0;
}

ptc_status ptc_op_matmul_check(const ptc_plan *p, const ptc_op *op, int64_t need[PTC_MAX_PARAM]) {
    mm_dims d;
    int64_t t, o;
    mm_dims_of(op, &d);
    if (d.batch <= 0 || d.m <= 0 || d.k <= 0 || d.cols <= 0 || !operands_fit(op, 2)) return PTC_ERR_OP;
    for (int k = 0; k < 2; k++) {  // a per-batch operand is an input, and not both are
        const int64_t flag = op->iarg[k ? PTC_MATMUL_PER_BATCH_B : PTC_MATMUL_PER_BATCH_A];
        if ((flag != 0 && flag != 1) || (flag && op->param[k] >= 0)) return PTC_ERR_OP;
    }
    if (d.batch > INT_MAX || d.m > INT_MAX || d.k > INT_MAX || d.cols > INT_MAX) return PTC_ERR_OP;
    if (!ptc_mul_ok(d.batch, d.m, &t) || !ptc_mul_ok(t, d.cols, &o) || o != ptc_op_out_size(p, op)) return PTC_ERR_OP;
    const int64_t sizes[2] = {(op->iarg[PTC_MATMUL_BCAST_A] ? 1 : d.batch) * d.m * d.k,
                              (op->iarg[PTC_MATMUL_BCAST_B] ? 1 : d.batch) * d.k * d.cols};
    return operand_sizes_fit(p, op, sizes, 2, need);
}

int64_t ptc_op_matmul_scratch(const ptc_plan *p, const ptc_op *op, int64_t N) {
    mm_dims d;
    int64_t rows;
    mm_dims_of(op, &d);
    // The collapsed sgemm indexes N * BATCH * M rows with an int.
    if (!ptc_mul_ok(N, d.batch * d.m, &rows) || rows > INT_MAX) return -1;
    return mm_per_batch(op) ? ptc_op_out_size(p, op) : 0;
}

void ptc_op_matmul_forward(ptc_plan *p, int i, int64_t N, int training) {
    const ptc_op *op = &p->ops[i];
    mm_dims d;
    mm_dims_of(op, &d);
    const float *a = operand(p, op, 0), *b = operand(p, op, 1);
    float *out = ptc_plan_act(p, op->out);
    const int M = (int)d.m, K = (int)d.k, C = (int)d.cols;
    if (mm_flat(&d)) {
        ptc_blas_sgemm(0, 0, (int)(N * d.batch) * M, C, K, 1.0f, a, K, b, C, 0.0f, out, C);
        return;
    }
    const int64_t S = d.batch * d.m * d.cols;  // out's floats per row
    if (mm_per_batch(op)) {
        for (int64_t t = 0; t < d.batch && N > 0; t++)
            ptc_blas_sgemm(0, 0, M, C, K, 1.0f, a + t * d.sa, K, b + t * d.sb, C, 0.0f, out + t * d.m * d.cols, C);
        for (int64_t n = 1; n < N; n++) memcpy(out + n * S, out, (size_t)S * sizeof(float));
        return;
    }
    for (int64_t n = 0; n < N; n++)
        for (int64_t t = 0; t < d.batch; t++)
            ptc_blas_sgemm(0, 0, M, C, K, 1.0f, a + n * d.na + t * d.sa, K, b + n * d.nb + t * d.sb, C, 0.0f,
                           out + (n * d.batch + t) * d.m * d.cols, C);
}

void ptc_op_matmul_backward(ptc_plan *p, int i, int64_t N) {
    const ptc_op *op = &p->ops[i];
    mm_dims d;
    mm_dims_of(op, &d);
    const float *a = operand(p, op, 0), *b = operand(p, op, 1), *g = ptc_plan_dact(p, op->out);
    float *da = doperand(p, op, 0), *db = doperand(p, op, 1);
    const int M = (int)d.m, K = (int)d.k, C = (int)d.cols;
    if (mm_flat(&d)) {
        const int R = (int)(N * d.batch) * M;
        if (da) ptc_blas_sgemm(0, 1, R, K, C, 1.0f, g, C, b, C, 1.0f, da, K);  // da += g @ b^T
        if (db) ptc_blas_sgemm(1, 0, K, C, R, 1.0f, a, K, g, C, 1.0f, db, C);  // db += a^T @ g
        return;
    }
    int64_t rows = N;
    if (mm_per_batch(op)) {  // the rows' gradients summed, in row order, then one product back to row 0
        const int64_t S = d.batch * d.m * d.cols;
        float *sum = ptc_plan_scratch(p, i);
        memset(sum, 0, (size_t)S * sizeof(float));
        for (int64_t n = 0; n < N; n++)
            for (int64_t j = 0; j < S; j++) sum[j] += g[n * S + j];
        g = sum;
        rows = N > 0 ? 1 : 0;
    }
    for (int64_t n = 0; n < rows; n++)
        for (int64_t t = 0; t < d.batch; t++) {
            const float *gt = g + (n * d.batch + t) * d.m * d.cols;
            const int64_t oa = n * d.na + t * d.sa, ob = n * d.nb + t * d.sb;
            if (da) ptc_blas_sgemm(0, 1, M, K, C, 1.0f, gt, C, b + ob, C, 1.0f, da + oa, K);
            if (db) ptc_blas_sgemm(1, 0, K, C, M, 1.0f, a + oa, K, gt, C, 1.0f, db + ob, C);
        }
}
