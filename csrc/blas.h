// The one doorway from csrc/ to BLAS. Only blas.c includes an OpenBLAS/CBLAS
// header, so the kernels compile the same against PyPI's scipy-openblas32
// (symbols prefixed `scipy_`, the default) and a system OpenBLAS
// (unprefixed, built with -DPTC_SYSTEM_OPENBLAS; see setup.py).
// Plain C11; never includes Python.h.
#ifndef PTC_BLAS_H
#define PTC_BLAS_H

// Row-major single-precision GEMM: C = alpha * op(A) @ op(B) + beta * C,
// op(X) = X or X^T.
// transa/transb are 0 (no transpose) or 1 (transpose). M, N, K, lda, ldb, ldc
// as in cblas_sgemm with CblasRowMajor:
//   op(A) (M, K), op(B) (K, N), C (M, N) with row strides lda, ldb, ldc.
// M == 0 or N == 0 returns without touching C; K == 0 gives C = beta * C
// (C = 0 when beta == 0, as BLAS defines it) without calling BLAS, whose
// argument check would reject the zero leading dimensions such shapes carry.
void ptc_blas_sgemm(int transa, int transb, int M, int N, int K, float alpha, const float *A, int lda, const float *B,
                    int ldb, float beta, float *C, int ldc);

// Products of at least 2^18 multiply-adds are split over pytrainc's thread pool
// (threads.h) in a fixed partition per thread count: along M or N (each element
// of C computed as one call would), or along K for small M and N (partial sums
// added in part order, so results differ from one thread's in rounding only).

// The same product on the calling thread only, for a caller that already runs one part of
// a region of the pool (same results as ptc_blas_sgemm at one thread).
// Whether ptc_blas_sgemm(0, 0, M, N, K, ...) at the current thread count sums K in parts on
// several threads (a small C over a long K), which changes the order of its sums.
int ptc_blas_sgemm_splits_k(int M, int N, int K);
void ptc_blas_sgemm_serial(int transa, int transb, int M, int N, int K, float alpha, const float *A, int lda,
                           const float *B, int ldb, float beta, float *C, int ldc);

// Once at load: sizes pytrainc's pool from OpenBLAS's thread count and makes
// OpenBLAS single-threaded (its idle threads would spin on the pool's cores).
void ptc_blas_init(void);

// Threads of pytrainc's pool (process-wide, shared by every caller; threads.h),
// which runs both the split sgemm calls and the kernels outside BLAS.
void ptc_blas_set_num_threads(int n);
int ptc_blas_get_num_threads(void);

// OpenBLAS build configuration, e.g.
// "OpenBLAS 0.3.30 DYNAMIC_ARCH NO_AFFINITY Haswell MAX_THREADS=64".
// Static storage owned by OpenBLAS; never NULL.
const char *ptc_blas_info(void);

#endif  // PTC_BLAS_H
