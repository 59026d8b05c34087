// pytrainc's thread pool: both cores for the work outside sgemm (and for sgemm
// itself, split by blas.c). Plain C11 + pthreads; never includes Python.h.
//
// One process-wide pool of ptc_threads_get() threads, the caller included,
// started on first use and kept: a parallel region costs a wake-up, never an
// allocation. OpenBLAS is told to run single-threaded (blas.c): its idle
// threads would otherwise spin on the cores this pool works on (issue 15).
//
// Reproducibility: ptc_parallel_for splits [0, n) into a partition that depends
// only on n, grain and the thread count, and a caller that reduces adds its
// per-part results in part order. When the pool is busy (another thread's
// region, or a region nested in one) the parts run one after the other on the
// caller: same partition, same results.
#ifndef PTC_THREADS_H
#define PTC_THREADS_H

#include <stdint.h>

#define PTC_MAX_THREADS 64

// Work (in floats touched, or multiply-adds for sgemm) below which a region
// stays on the calling thread: a wake-up costs a few microseconds.
#define PTC_PARALLEL_MIN_WORK ((int64_t)1 << 15)

// fn processes items [lo, hi) of a region; part is the index of that range.
typedef void (*ptc_range_fn)(void *ctx, int64_t lo, int64_t hi, int part);

// Threads of the pool (the caller included), clamped to [1, PTC_MAX_THREADS].
// Not to be called while a region runs on another thread (the binding holds the GIL).
void ptc_threads_set(int n);
int ptc_threads_get(void);
// The cores this process may run on (sched_getaffinity), at least 1.
int ptc_threads_available(void);

// Parts the region [0, n) splits into: 1 when work < PTC_PARALLEL_MIN_WORK or
// n < 2 * grain, else min(threads, n / grain).
int ptc_parallel_parts(int64_t n, int64_t grain, int64_t work);
// fn over [0, n) in ptc_parallel_parts(n, grain, work) contiguous parts whose
// boundaries are multiples of grain; part 0 on the caller. Returns the parts.
int ptc_parallel_for(int64_t n, int64_t grain, int64_t work, ptc_range_fn fn, void *ctx);

// memset(x, 0, n floats) over the pool.
void ptc_parallel_zero(float *x, int64_t n);

#endif  // PTC_THREADS_H
