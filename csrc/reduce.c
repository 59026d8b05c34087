// Column sums and row broadcasts (reduce.h).
#include "reduce.h"

#include <string.h>

#include "isa.h"
#include "threads.h"

// Columns a thread keeps in registers per pass over the rows: 8 AVX2 or 4 AVX-512 vectors.
#define PTC_SUM_COLS 64

// acc (F,) columns [j0, j1) += the rows of x. The partial sums live in a local array (acc could
// alias x as far as the compiler knows, which would keep the loop scalar).
PTC_KERNEL(static, sum_rows_cols,
           (float *acc_out, const float *x, int64_t rows, int64_t ldx, int64_t j0, int64_t j1, int fresh),
           (acc_out, x, rows, ldx, j0, j1, fresh)) {
    float acc[PTC_SUM_COLS];
    for (int64_t f0 = j0; f0 < j1; f0 += PTC_SUM_COLS) {
        const int64_t fn = j1 - f0 < PTC_SUM_COLS ? j1 - f0 : PTC_SUM_COLS;
        for (int64_t f = 0; f < fn; f++) acc[f] = fresh ? 0.0f : acc_out[f0 + f];
        if (fn == PTC_SUM_COLS)
            for (int64_t r = 0; r < rows; r++)
                for (int64_t f = 0; f < PTC_SUM_COLS; f++) acc[f] += x[r * ldx + f0 + f];
        else
            for (int64_t r = 0; r < rows; r++)
                for (int64_t f = 0; f < fn; f++) acc[f] += x[r * ldx + f0 + f];
        if (fresh)
            for (int64_t f = 0; f < fn; f++) acc_out[f0 + f] += acc[f];
        else
            for (int64_t f = 0; f < fn; f++) acc_out[f0 + f] = acc[f];
    }
}

typedef struct {
    float *acc;
    const float *x;
    int64_t rows, ldx;
    int fresh;
} sum_job;

static void sum_part(void *ctx, int64_t lo, int64_t hi, int part) {
    const sum_job *j = ctx;
    (void)part;
    sum_rows_cols(j->acc, j->x, j->rows, j->ldx, lo, hi, j->fresh);
}

void ptc_sum_rows(float *acc, const float *x, int64_t rows, int64_t F, int64_t ldx, int fresh) {
    sum_job j = {acc, x, rows, ldx, fresh};
    if (rows <= 0 || F <= 0) return;
    ptc_parallel_for(F, 16, rows * F, sum_part, &j);  // 16 columns: a cache line of acc per part edge
}

typedef struct {
    float *dst;
    const float *v;
    int64_t F, ldd;
} bcast_job;

static void bcast_part(void *ctx, int64_t lo, int64_t hi, int part) {
    const bcast_job *b = ctx;
    (void)part;
    for (int64_t r = lo; r < hi; r++) memcpy(b->dst + r * b->ldd, b->v, (size_t)b->F * sizeof(float));
}

void ptc_parallel_broadcast(float *dst, const float *v, int64_t rows, int64_t F, int64_t ldd) {
    bcast_job b = {dst, v, F, ldd};
    if (rows <= 0 || F <= 0) return;
    ptc_parallel_for(rows, 1, rows * F / 4, bcast_part, &b);  // store-only, as ptc_parallel_zero
}
