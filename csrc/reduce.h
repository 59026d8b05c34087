// Column sums and row broadcasts for bias terms, over the thread pool (threads.h).
// Plain C11; never includes Python.h.
//
// Both split the F columns into parts that depend only on (rows, F) and the thread
// count, and each column is summed by one thread in row order: the results are the
// serial loops' bits at every thread count.
#ifndef PTC_REDUCE_H
#define PTC_REDUCE_H

#include <stdint.h>

// acc (F,) += the rows of x (rows, F), row stride ldx. fresh 0: each acc[f] takes the rows
// one by one (acc[f] += x[0][f]; acc[f] += x[1][f]; ...), the order of dense's and the
// recurrent layers' bias gradients; fresh 1: the rows are summed from zero and the sum added
// once (conv's order).
void ptc_sum_rows(float *acc, const float *x, int64_t rows, int64_t F, int64_t ldx, int fresh);

// Each of the rows of dst (rows, F), row stride ldd, set to v (F,): a bias broadcast
// before a gemm that accumulates onto it.
void ptc_parallel_broadcast(float *dst, const float *v, int64_t rows, int64_t F, int64_t ldd);

#endif  // PTC_REDUCE_H
