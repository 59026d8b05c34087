// Dropout masks drawn in blocks from pytrainc's RNG (rng.c). Plain C11; never includes Python.h.
#ifndef PTC_RNG_MASK_H
#define PTC_RNG_MASK_H

#include <stdint.h>

#include "ptc.h"

// mask (n,) = scale where draw i < keep, else 0, with draw i the i-th of n
// ptc_rng_uniform(rng) calls: the same draws in the same order and the same
// values as that loop, and rng advances by n. The 64-bit outputs come in
// sequential blocks (xoshiro's state is one chain) and become masks in a loop
// that vectorizes; one call per element cost about 6 ns, most of a dropout layer.
void ptc_rng_fill_mask(ptc_rng *rng, float *mask, int64_t n, float keep, float scale);

#endif  // PTC_RNG_MASK_H
