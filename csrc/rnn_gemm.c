// The recurrent layers' per-step product, h (M, K) @ W (K, N) with W the recurrent kernel
// (or its transpose in backward), on a W packed once per pass (csrc/rnn.c).
// Plain C11 plus GCC vector types; never includes Python.h.
//
// Why not sgemm: a step's product is small (W7: M = 16 rows per thread, K = 128, N = 512)
// and sgemm packs all of W at every call, a copy about as long as the multiply-adds; the
// recurrence makes T such calls with the same W. Packing it once per forward (and once per
// backward, transposed) leaves each step its multiply-adds.
//
// Packed layout: panels of PTC_RNN_NR columns, each K rows of PTC_RNN_NR floats (zeros past
// column N), panel after panel. Each element of C sums its K products in k order from zero,
// then is stored (beta 0) or added to C (beta 1): the same result whatever the row count or
// the rows' split over threads. Written with GCC vector types and no FMA (isa.h: -ffp-contract=off
// keeps each multiply and add apart), so that the three ISA copies give the same bits.
#include <stdint.h>
#include <string.h>

#include "isa.h"
#include "ptc.h"

#define PTC_RNN_NR 16
#define PTC_RNN_MR 6

// One panel row (PTC_RNN_NR floats) per vector: one register in the AVX-512 copy, two in
// the AVX2 one, four in the baseline. Each lane's multiply and add are the same whatever the
// width, so the copies still give the same bits.
typedef float vnr __attribute__((vector_size(PTC_RNN_NR * sizeof(float))));

static PTC_ALWAYS_INLINE vnr vnr_load(const float *p) {
    vnr v;
    memcpy(&v, p, sizeof v);
    return v;
}

static PTC_ALWAYS_INLINE void vnr_store(float *p, vnr v) {
    memcpy(p, &v, sizeof v);
}

int64_t ptc_rnn_packed_size(int64_t K, int64_t N) {
    return K * ((N + PTC_RNN_NR - 1) / PTC_RNN_NR * PTC_RNN_NR);
}

void ptc_rnn_pack(float *packed, const float *B, int64_t K, int64_t N, int trans) {
    // B (K, N) row-major, or with trans B^T stored as (N, K)
    for (int64_t p0 = 0; p0 < N; p0 += PTC_RNN_NR) {
        const int64_t nc = N - p0 < PTC_RNN_NR ? N - p0 : PTC_RNN_NR;
        for (int64_t k = 0; k < K; k++) {
            float *dst = packed + p0 * K + k * PTC_RNN_NR;
            for (int64_t j = 0; j < nc; j++) dst[j] = trans ? B[(p0 + j) * K + k] : B[k * N + p0 + j];
            for (int64_t j = nc; j < PTC_RNN_NR; j++) dst[j] = 0.0f;
        }
    }
}

// One tile: mr rows against one panel, nc (<= NR) columns stored. The rows come from a (K, MR)
// copy of theirs (ap), or straight from A (ap NULL) when K is too long for the copy.
static PTC_ALWAYS_INLINE void tile(int mr, int64_t K, const float *restrict A, int64_t lda, const float *restrict ap,
                                   const float *restrict bp, float *restrict C, int64_t ldc, int64_t nc, int beta1) {
    vnr acc[PTC_RNN_MR];
    for (int r = 0; r < mr; r++) acc[r] = (vnr){0};
    for (int64_t k = 0; k < K; k++) {
        const vnr b = vnr_load(bp + k * PTC_RNN_NR);
        for (int r = 0; r < mr; r++) {
            const float a = ap ? ap[k * PTC_RNN_MR + r] : A[r * lda + k];
            acc[r] += a * b;
        }
    }
    for (int r = 0; r < mr; r++) {
        float *c = C + r * ldc;
        if (nc == PTC_RNN_NR) {
            vnr_store(c, beta1 ? vnr_load(c) + acc[r] : acc[r]);
        } else {
            float t[PTC_RNN_NR];
            vnr_store(t, acc[r]);
            for (int64_t j = 0; j < nc; j++) c[j] = beta1 ? c[j] + t[j] : t[j];
        }
    }
}

// mr rows against every panel. Their copy: the rows of a step's states or gate gradients lie
// T steps apart, a multiple of 4 KiB in many shapes, so that read in place they share a few
// L1 sets and evict each other.
static PTC_ALWAYS_INLINE void rows(int mr, int64_t N, int64_t K, const float *restrict A, int64_t lda,
                                   float *restrict ap, const float *restrict packed, int beta1, float *restrict C,
                                   int64_t ldc) {
    if (ap)
        for (int r = 0; r < mr; r++)
            for (int64_t k = 0; k < K; k++) ap[k * PTC_RNN_MR + r] = A[r * lda + k];
    for (int64_t p0 = 0; p0 < N; p0 += PTC_RNN_NR)
        tile(mr, K, A, lda, ap, packed + p0 * K, C + p0, ldc, N - p0 < PTC_RNN_NR ? N - p0 : PTC_RNN_NR, beta1);
}

// Longest K whose row copy (K * MR floats, 48 KiB) sits on the stack.
#define PTC_RNN_KCOPY 2048

PTC_KERNEL(, ptc_rnn_gemm_packed,
           (int64_t M, int64_t N, int64_t K, const float *restrict A, int64_t lda, const float *restrict packed,
            int beta1, float *restrict C, int64_t ldc),
           (M, N, K, A, lda, packed, beta1, C, ldc)) {
    // A (M, K) row stride lda, packed (K, N) as ptc_rnn_pack left it, C (M, N) row stride ldc
    float copy[PTC_RNN_KCOPY * PTC_RNN_MR];
    float *ap = K <= PTC_RNN_KCOPY ? copy : NULL;
    int64_t m = 0;
    for (; m + PTC_RNN_MR <= M; m += PTC_RNN_MR)
        rows(PTC_RNN_MR, N, K, A + m * lda, lda, ap, packed, beta1, C + m * ldc, ldc);
    switch (M - m) {  // the last rows: constant tile heights, so that each unrolls
#define PTC_RNN_TAIL(mr)                                                       \
    case mr:                                                                   \
        rows(mr, N, K, A + m * lda, lda, ap, packed, beta1, C + m * ldc, ldc); \
        break;
        PTC_RNN_TAIL(5)
        PTC_RNN_TAIL(4)
        PTC_RNN_TAIL(3)
        PTC_RNN_TAIL(2)
        PTC_RNN_TAIL(1)
#undef PTC_RNN_TAIL
        default:
            break;
    }
}
