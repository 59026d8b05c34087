// Dense (fully connected) layer: out = inp @ weight + bias, with the kernel
// stored (IN, OUT) as Keras stores it, so get_weights() needs no transpose.
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "blas.h"
#include "isa.h"
#include "ptc.h"
#include "reduce.h"
#include "ops.h"
#include "threads.h"

static void dense_rows(float *out, const float *inp, const float *weight, int64_t N, int64_t IN, int64_t OUT);
static int rows_q = 0, rows_u = 0;  // the K blocking dense_rows reproduces (ptc_dense_rows_init); 0: sgemm only

void ptc_dense_forward_sgemm(float *out, const float *inp, const float *weight, const float *bias, int64_t N,
                             int64_t IN, int64_t OUT) {
    // out (N, OUT), inp (N, IN), weight (IN, OUT), bias (OUT,)
    float beta = 0.0f;
    if (bias) {  // start from the broadcast bias and let sgemm accumulate onto it
        ptc_parallel_broadcast(out, bias, N, OUT, OUT);
        beta = 1.0f;
    }
    ptc_blas_sgemm(0, 0, (int)N, (int)OUT, (int)IN, 1.0f, inp, (int)IN, weight, (int)OUT, beta, out, (int)OUT);
}

void ptc_dense_forward(float *out, const float *inp, const float *weight, const float *bias, int64_t N, int64_t IN,
                       int64_t OUT) {
    // (a K split over the threads sums in another order: sgemm then, for the same bits at any rows)
    if (N > PTC_DENSE_FEW_ROWS || rows_q == 0 || IN <= 0 || ptc_blas_sgemm_splits_k((int)N, (int)OUT, (int)IN)) {
        ptc_dense_forward_sgemm(out, inp, weight, bias, N, IN, OUT);
        return;
    }
    for (int64_t n = 0; n < N; n++) {
        if (bias)
            memcpy(out + n * OUT, bias, (size_t)OUT * sizeof(float));
        else
            memset(out + n * OUT, 0, (size_t)OUT * sizeof(float));
    }
    dense_rows(out, inp, weight, N, IN, OUT);
}

// ---------------------------------------------------------------------------
// A few rows (a predict of one to three samples). sgemm packs the whole weight on every call:
// 52 us of a 784 x 256 product that takes 17 us read in place. These rows are summed here in the
// order of OpenBLAS's single-threaded sgemm on rows outside its 4-row panels (its edge kernels,
// which every row of a 1-3 row product takes), so the results are sgemm's bit for bit: K is cut
// into the blocks its level-3 driver takes (GEMM_Q while at least twice that is left, then half
// of what is left rounded up to GEMM_UNROLL_M, then the rest), each block is summed with FMA from
// zero in k order, and each block's sum is added to C. GEMM_Q and GEMM_UNROLL_M depend on the
// core OpenBLAS chose; ptc_dense_rows_init measures them once against sgemm itself and leaves
// the kernel off when no candidate reproduces it (another kernel, another order).
#define PTC_ROWS_COLS 32  // columns per pass: 4 AVX2 or 2 AVX-512 registers per row

static inline int64_t rows_k_block(int64_t rest, int64_t q, int64_t u) {
    if (rest >= 2 * q) return q;
    if (rest > q) return (rest / 2 + u - 1) / u * u;
    return rest;
}

// out (N, OUT) += inp (N, IN) @ weight (IN, OUT) for columns [j0, j1), N <= PTC_DENSE_FEW_ROWS.
PTC_KERNEL(static, dense_rows_cols,
           (float *out, const float *inp, const float *weight, int64_t N, int64_t IN, int64_t OUT, int64_t j0,
            int64_t j1, int64_t q, int64_t u),
           (out, inp, weight, N, IN, OUT, j0, j1, q, u)) {
    for (int64_t j = j0; j < j1; j += PTC_ROWS_COLS) {
        const int64_t w = j1 - j < PTC_ROWS_COLS ? j1 - j : PTC_ROWS_COLS;
        for (int64_t k0 = 0, kb; k0 < IN; k0 += kb) {
            kb = rows_k_block(IN - k0, q, u);
            float acc[PTC_DENSE_FEW_ROWS][PTC_ROWS_COLS] = {{0.0f}};
            for (int64_t k = k0; k < k0 + kb; k++) {
                const float *b = weight + k * OUT + j;
                for (int64_t n = 0; n < N; n++) {
                    const float a = inp[n * IN + k];
                    if (w == PTC_ROWS_COLS)
                        for (int c = 0; c < PTC_ROWS_COLS; c++) acc[n][c] = fmaf(a, b[c], acc[n][c]);
                    else
                        for (int64_t c = 0; c < w; c++) acc[n][c] = fmaf(a, b[c], acc[n][c]);
                }
            }
            for (int64_t n = 0; n < N; n++)
                for (int64_t c = 0; c < w; c++) out[n * OUT + j + c] += acc[n][c];
        }
    }
}

typedef struct {
    float *out;
    const float *inp, *weight;
    int64_t N, IN, OUT;
} rows_job;

static void rows_part(void *ctx, int64_t lo, int64_t hi, int part) {
    const rows_job *r = ctx;
    (void)part;
    dense_rows_cols(r->out, r->inp, r->weight, r->N, r->IN, r->OUT, lo, hi, rows_q, rows_u);
}

// Each column's sum is the same whichever thread computes it: the split over columns changes nothing.
// Under this many multiply-adds the wake-up costs more than the second core gains (sgemm's threshold:
// 1x784x256 took 39 us on one thread and 106 us on two, load 8).
#define PTC_ROWS_MIN_MACS ((int64_t)1 << 18)
static void dense_rows(float *out, const float *inp, const float *weight, int64_t N, int64_t IN, int64_t OUT) {
    rows_job r = {out, inp, weight, N, IN, OUT};
    const int64_t macs = N * IN * OUT;
    ptc_parallel_for(OUT, PTC_ROWS_COLS, macs >= PTC_ROWS_MIN_MACS ? macs : 0, rows_part, &r);
}

// GEMM_Q candidates (OpenBLAS's param.h across its x86 and ARM cores) and GEMM_UNROLL_M ones.
static const int64_t rows_qs[] = {64,  96,  120, 128, 144, 160, 168, 176, 192, 224, 240, 256, 288,
                                  320, 352, 384, 400, 432, 448, 480, 512, 576, 640, 768, 1024};
static const int64_t rows_us[] = {2, 4, 8, 16, 24, 32};

// Whether dense_rows_cols with blocking (q, u) gives sgemm's rows `want` (M, PN) of a (M, lda) @ b (K, PN)
// + 0.5: column 0 of each row first (most candidates fail there), then every column.
static int rows_match(const float *a, int64_t lda, const float *b, const float *want, int64_t M, int64_t K, int64_t PN,
                      int64_t q, int64_t u) {
    float row[64];
    for (int64_t cols = 1;; cols = PN) {
        for (int64_t m = 0; m < M; m++) {
            for (int64_t j = 0; j < cols; j++) row[j] = 0.5f;
            dense_rows_cols(row, a + m * lda, b, 1, K, PN, 0, cols, q, u);
            if (memcmp(row, want + m * PN, sizeof(float) * (size_t)cols) != 0) return 0;
        }
        if (cols == PN) return 1;
    }
}

void ptc_dense_rows_init(void) {
    // A probe crossing every kind of block boundary of any candidate (K over twice the largest GEMM_Q, then
    // shorter K down to a single block under 8), at 1 to 3 rows, with a column tail.
    enum { PM = PTC_DENSE_FEW_ROWS, PN = 37, PK = 2053 };
    float *a = malloc(sizeof(float) * PM * PK), *b = malloc(sizeof(float) * PK * PN), want[PM * PN];
    int64_t q = 0, u = 0;
    rows_q = rows_u = 0;
    if (!a || !b) goto cleanup;
    uint32_t s = 12345u;  // a fixed LCG: values in [-1, 1) with full mantissas
    for (int64_t i = 0; i < PM * PK; i++) a[i] = (float)((s = s * 1664525u + 1013904223u) >> 8) / 8388608.0f - 1.0f;
    for (int64_t i = 0; i < PK * PN; i++) b[i] = (float)((s = s * 1664525u + 1013904223u) >> 8) / 8388608.0f - 1.0f;
    for (int64_t K = PK; K > 0; K = K > 7 ? K / 3 : 0) {
        for (int64_t M = 1; M <= PM; M++) {
            for (int64_t i = 0; i < M * PN; i++) want[i] = 0.5f;
            ptc_blas_sgemm_serial(0, 0, (int)M, PN, (int)K, 1.0f, a, PK, b, PN, 1.0f, want, PN);
            if (q) {  // the blocking found on the first probe must hold on every other
                if (!rows_match(a, PK, b, want, M, K, PN, q, u)) goto cleanup;
                continue;
            }
            for (size_t qi = 0; qi < sizeof rows_qs / sizeof *rows_qs && !q; qi++)
                for (size_t ui = 0; ui < sizeof rows_us / sizeof *rows_us && !q; ui++)
                    if (rows_match(a, PK, b, want, M, K, PN, rows_qs[qi], rows_us[ui]))
                        q = rows_qs[qi], u = rows_us[ui];
            if (!q) goto cleanup;  // sgemm sums in another order here: the kernel stays off
        }
    }
    rows_q = (int)q, rows_u = (int)u;
cleanup:
    free(a);
    free(b);
}

void ptc_dense_rows_blocking(int64_t *q, int64_t *u) {
    *q = rows_q;
    *u = rows_u;
}

void ptc_dense_backward(float *dinp, float *dweight, float *dbias, const float *dout, const float *inp,
                        const float *weight, int64_t N, int64_t IN, int64_t OUT) {
    // dweight (IN, OUT) += inp^T @ dout; dinp (N, IN) += dout @ weight^T; dbias += sum_n dout
    ptc_blas_sgemm(1, 0, (int)IN, (int)OUT, (int)N, 1.0f, inp, (int)IN, dout, (int)OUT, 1.0f, dweight, (int)OUT);
    if (dinp)
        ptc_blas_sgemm(0, 1, (int)N, (int)IN, (int)OUT, 1.0f, dout, (int)OUT, weight, (int)OUT, 1.0f, dinp, (int)IN);
    if (dbias) ptc_sum_rows(dbias, dout, N, OUT, OUT, 0);
}

// acc + sum over k < K of a[k * sa] * b[k * sb], in double and in k order: the references' dot products.
static double dot_ref(double acc, const float *a, int64_t sa, const float *b, int64_t sb, int64_t K) {
    for (int64_t k = 0; k < K; k++) acc += (double)a[k * sa] * b[k * sb];
    return acc;
}

void ptc_dense_forward_ref(float *out, const float *inp, const float *weight, const float *bias, int64_t N, int64_t IN,
                           int64_t OUT) {
    for (int64_t n = 0; n < N; n++)
        for (int64_t o = 0; o < OUT; o++)
            out[n * OUT + o] = (float)dot_ref(bias ? bias[o] : 0.0, inp + n * IN, 1, weight + o, OUT, IN);
}

void ptc_dense_backward_ref(float *dinp, float *dweight, float *dbias, const float *dout, const float *inp,
                            const float *weight, int64_t N, int64_t IN, int64_t OUT) {
    for (int64_t i = 0; i < IN; i++)
        for (int64_t o = 0; o < OUT; o++) dweight[i * OUT + o] += (float)dot_ref(0.0, inp + i, IN, dout + o, OUT, N);
    if (dinp)
        for (int64_t n = 0; n < N; n++)
            for (int64_t i = 0; i < IN; i++)
                dinp[n * IN + i] += (float)dot_ref(0.0, dout + n * OUT, 1, weight + i * OUT, 1, OUT);
    if (dbias)
        for (int64_t o = 0; o < OUT; o++) {
            double acc = 0.0;
            for (int64_t n = 0; n < N; n++) acc += dout[n * OUT + o];
            dbias[o] += (float)acc;
        }
}

// ---------------------------------------------------------------------------
// The plan's op adapters (ops.def, dispatched through ops.c's table).
ptc_status ptc_op_dense_check(const ptc_plan *p, const ptc_op *op, int64_t need[PTC_MAX_PARAM]) {
    const int64_t R = op->iarg[PTC_DENSE_ROWS], IN = op->iarg[PTC_DENSE_UNITS_IN], OUT = op->iarg[PTC_DENSE_UNITS_OUT];
    int64_t ri, ro;
    if (R <= 0 || IN <= 0 || OUT <= 0 || IN > INT_MAX || OUT > INT_MAX || !ptc_mul_ok(R, IN, &ri) ||
        !ptc_mul_ok(R, OUT, &ro) || !ptc_mul_ok(IN, OUT, &need[PTC_DENSE_KERNEL]) || ri != ptc_op_in_size(p, op, 0) ||
        ro != ptc_op_out_size(p, op) || op->param[PTC_DENSE_KERNEL] < 0)
        return PTC_ERR_OP;
    need[PTC_DENSE_BIAS] = OUT;
    return PTC_OK;
}

int64_t ptc_op_dense_scratch(const ptc_plan *p, const ptc_op *op, int64_t N) {
    int64_t rows;  // sgemm takes int sizes: the batch's rows must fit one
    return ptc_mul_ok(op->iarg[PTC_DENSE_ROWS], N, &rows) && rows <= INT_MAX ? 0 : -1;
}

void ptc_op_dense_forward(ptc_plan *p, int i, int64_t N, int training) {
    const ptc_op *op = &p->ops[i];
    ptc_dense_forward(ptc_plan_act(p, op->out), ptc_plan_act(p, op->in[0]), ptc_plan_param(p, op, PTC_DENSE_KERNEL),
                      ptc_plan_param(p, op, PTC_DENSE_BIAS), N * op->iarg[PTC_DENSE_ROWS], op->iarg[PTC_DENSE_UNITS_IN],
                      op->iarg[PTC_DENSE_UNITS_OUT]);
}

void ptc_op_dense_backward(ptc_plan *p, int i, int64_t N) {
    const ptc_op *op = &p->ops[i];
    ptc_dense_backward(ptc_op_din(p, op, 0), ptc_plan_grad(p, op, PTC_DENSE_KERNEL),
                       ptc_plan_grad(p, op, PTC_DENSE_BIAS), ptc_plan_dact(p, op->out), ptc_plan_act(p, op->in[0]),
                       ptc_plan_param(p, op, PTC_DENSE_KERNEL), N * op->iarg[PTC_DENSE_ROWS],
                       op->iarg[PTC_DENSE_UNITS_IN], op->iarg[PTC_DENSE_UNITS_OUT]);
}
