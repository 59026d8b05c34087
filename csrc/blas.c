// BLAS backend selection. scipy-openblas32 (the default) ships a cblas.h whose
// declarations already carry its `scipy_` symbol prefix; that prefix keeps its
// symbols apart from any other OpenBLAS loaded in the same process (NumPy's
// own, a system one). -DPTC_SYSTEM_OPENBLAS selects a system OpenBLAS with
// the plain names. setup.py puts the matching cblas.h on the include path,
// ahead of the system directories.
#include <stdint.h>

#include <cblas.h>

#include "blas.h"

#ifdef PTC_SYSTEM_OPENBLAS
#define PTC_CBLAS(name) cblas_##name
#define PTC_OPENBLAS(name) openblas_##name
#else
#define PTC_CBLAS(name) scipy_cblas_##name
#define PTC_OPENBLAS(name) scipy_openblas_##name
#endif

void ptc_blas_sgemm(int transa, int transb, int M, int N, int K, float alpha, const float *A, int lda, const float *B,
                    int ldb, float beta, float *C, int ldc) {
    // op(A) (M, K), op(B) (K, N), C (M, N)
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

void ptc_blas_set_num_threads(int n) {
    PTC_OPENBLAS(set_num_threads)(n);
}

int ptc_blas_get_num_threads(void) {
    return PTC_OPENBLAS(get_num_threads)();
}

const char *ptc_blas_info(void) {
    const char *config = PTC_OPENBLAS(get_config)();
    return config ? config : "";
}
