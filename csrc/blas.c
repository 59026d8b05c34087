// BLAS backend selection. scipy-openblas32 (the default) ships a cblas.h whose
// declarations already carry its `scipy_` symbol prefix; that prefix keeps its
// symbols apart from any other OpenBLAS loaded in the same process (NumPy's
// own, a system one). -DPTC_SYSTEM_OPENBLAS selects a system OpenBLAS with
// the plain names. setup.py puts the matching cblas.h on the include path,
// ahead of the system directories.
#include <stdint.h>

#include <cblas.h>

#include "blas.h"
#include "threads.h"

#ifdef PTC_SYSTEM_OPENBLAS
#define PTC_CBLAS(name) cblas_##name
#define PTC_OPENBLAS(name) openblas_##name
#else
#define PTC_CBLAS(name) scipy_cblas_##name
#define PTC_OPENBLAS(name) scipy_openblas_##name
#endif

// The direct call: op(A) (M, K), op(B) (K, N), C (M, N).
static void sgemm(int transa, int transb, int M, int N, int K, float alpha, const float *A, int lda, const float *B,
                  int ldb, float beta, float *C, int ldc) {
    if (M <= 0 || N <= 0) return;
    if (K <= 0) {
        // Empty sum. Such shapes carry lda or ldb == 0, which cblas rejects
        // (it prints an error and leaves C as is) where C = beta * C is meant.
        for (int m = 0; m < M; m++) {
            float *row = C + (int64_t)m * ldc;
            for (int n = 0; n < N; n++) row[n] = beta == 0.0f ? 0.0f : beta * row[n];
        }
        return;
    }
    PTC_CBLAS(sgemm)(CblasRowMajor, transa ? CblasTrans : CblasNoTrans, transb ? CblasTrans : CblasNoTrans, M, N, K,
                     alpha, A, lda, B, ldb, beta, C, ldc);
}

void ptc_blas_sgemm_serial(int transa, int transb, int M, int N, int K, float alpha, const float *A, int lda,
                           const float *B, int ldb, float beta, float *C, int ldc) {
    sgemm(transa, transb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
}

// Products smaller than this many multiply-adds run on one thread (about 5 us).
#define PTC_GEMM_MIN_MACS ((int64_t)1 << 18)
// Part boundaries: multiples of OpenBLAS's register blocking along M and N, of a cache-sized run along K.
#define PTC_GEMM_GRAIN_MN 16
#define PTC_GEMM_GRAIN_K 256
// Floats of the K split's partial products (32 KiB of stack).
#define PTC_GEMM_PARTIAL_FLOATS 8192

typedef struct {
    int ta, tb, M, N, K;
    float alpha;
    const float *A;
    int lda;
    const float *B;
    int ldb;
    float beta;
    float *C;
    int ldc;
    int dim;         // split along 0: M (rows of C), 1: N (columns of C), 2: K (partial products)
    float *partial;  // dim 2: (parts - 1) blocks of (M, N) for parts 1...
} gemm_split;

static void gemm_part(void *ctx, int64_t lo, int64_t hi, int part) {
    const gemm_split *g = ctx;
    const int n = (int)(hi - lo);
    const int64_t l = lo;
    switch (g->dim) {
        case 0:  // A's rows (its columns when transposed), C's rows
            sgemm(g->ta, g->tb, n, g->N, g->K, g->alpha, g->ta ? g->A + l : g->A + l * g->lda, g->lda, g->B, g->ldb,
                  g->beta, g->C + l * g->ldc, g->ldc);
            break;
        case 1:  // B's columns (its rows when transposed), C's columns
            sgemm(g->ta, g->tb, g->M, n, g->K, g->alpha, g->A, g->lda, g->tb ? g->B + l * g->ldb : g->B + l, g->ldb,
                  g->beta, g->C + l, g->ldc);
            break;
        default: {  // A's columns and B's rows; part 0 onto C, the others into their own block
            const float *A = g->ta ? g->A + l * g->lda : g->A + l, *B = g->tb ? g->B + l : g->B + l * g->ldb;
            if (part == 0)
                sgemm(g->ta, g->tb, g->M, g->N, n, g->alpha, A, g->lda, B, g->ldb, g->beta, g->C, g->ldc);
            else
                sgemm(g->ta, g->tb, g->M, g->N, n, g->alpha, A, g->lda, B, g->ldb, 0.0f,
                      g->partial + (int64_t)(part - 1) * g->M * g->N, g->N);
        }
    }
}

int ptc_blas_sgemm_splits_k(int M, int N, int K) {
    return (int64_t)M * N * K >= PTC_GEMM_MIN_MACS && ptc_threads_get() > 1 && M < 4 * PTC_GEMM_GRAIN_MN &&
           N < 4 * PTC_GEMM_GRAIN_MN && K >= 8 * PTC_GEMM_GRAIN_K;
}

void ptc_blas_sgemm(int transa, int transb, int M, int N, int K, float alpha, const float *A, int lda, const float *B,
                    int ldb, float beta, float *C, int ldc) {
    // op(A) (M, K), op(B) (K, N), C (M, N)
    const int64_t macs = (int64_t)M * N * (K > 0 ? K : 0);
    float partial[PTC_GEMM_PARTIAL_FLOATS];
    gemm_split g = {transa, transb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc, 0, NULL};
    int64_t len = 0, grain = PTC_GEMM_GRAIN_MN;
    if (macs >= PTC_GEMM_MIN_MACS && ptc_threads_get() > 1) {
        if (M >= N && M >= 4 * PTC_GEMM_GRAIN_MN) {
            g.dim = 0, len = M;
        } else if (N >= 4 * PTC_GEMM_GRAIN_MN) {
            g.dim = 1, len = N;
        } else if (ptc_blas_sgemm_splits_k(M, N, K)) {
            // Small M and N over a long K (a conv's weight gradient: (K, F) over every pixel of
            // the batch): each thread sums a run of K, and the partials are added in part order.
            // The partials live on the stack (no allocation, nothing shared between callers).
            g.dim = 2, len = K, grain = PTC_GEMM_GRAIN_K;
            if ((int64_t)M * N * (ptc_parallel_parts(len, grain, PTC_PARALLEL_MIN_WORK) - 1) > PTC_GEMM_PARTIAL_FLOATS)
                len = 0;
            else
                g.partial = partial;
        }
    }
    if (len == 0 || ptc_parallel_parts(len, grain, PTC_PARALLEL_MIN_WORK) == 1) {
        sgemm(transa, transb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
        return;
    }
    const int parts = ptc_parallel_for(len, grain, PTC_PARALLEL_MIN_WORK, gemm_part, &g);
    if (g.dim == 2) {
        for (int t = 1; t < parts; t++) {
            const float *w = g.partial + (int64_t)(t - 1) * M * N;
            for (int m = 0; m < M; m++)
                for (int n = 0; n < N; n++) C[(int64_t)m * ldc + n] += w[(int64_t)m * N + n];
        }
    }
}

void ptc_blas_init(void) {
    // OpenBLAS's thread count at load (OPENBLAS_NUM_THREADS, else the cores) sizes
    // pytrainc's pool; OpenBLAS itself then runs on the caller's thread only.
    ptc_threads_set(PTC_OPENBLAS(get_num_threads)());
    PTC_OPENBLAS(set_num_threads)(1);
}

void ptc_blas_set_num_threads(int n) {
    ptc_threads_set(n);
}

int ptc_blas_get_num_threads(void) {
    return ptc_threads_get();
}

const char *ptc_blas_info(void) {
    const char *config = PTC_OPENBLAS(get_config)();
    return config ? config : "";
}
