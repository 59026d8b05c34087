// Seeded RNG (xoshiro256** by Blackman and Vigna, https://prng.di.unimi.it/).
// All randomness in pytrainc (initializers, shuffling, dropout) comes from here,
// so a run is a pure function of its seed on a given machine.
#include <math.h>

#include "ptc.h"
#include "rng_mask.h"

static inline uint64_t rotl(uint64_t x, int k) {
    return (x << k) | (x >> (64 - k));
}

static uint64_t splitmix64(uint64_t *x) {
    uint64_t z = (*x += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}

void ptc_rng_seed(ptc_rng *rng, uint64_t seed) {
    // splitmix64 expands the seed so that no state word is zero-correlated.
    for (int i = 0; i < 4; i++) rng->s[i] = splitmix64(&seed);
}

uint64_t ptc_rng_next(ptc_rng *rng) {
    uint64_t *s = rng->s;
    const uint64_t result = rotl(s[1] * 5, 7) * 9;
    const uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return result;
}

float ptc_rng_uniform(ptc_rng *rng) {
    // Top 24 bits: every float in [0, 1) on a 2^-24 grid, never 1.0.
    return (float)(ptc_rng_next(rng) >> 40) * 0x1.0p-24f;
}

#define PTC_RNG_BLOCK 256  // draws per block (a stack array)

void ptc_rng_fill_mask(ptc_rng *rng, float *mask, int64_t n, float keep, float scale) {
    int32_t top[PTC_RNG_BLOCK];  // the top 24 bits of each draw, as ptc_rng_uniform takes them
    for (int64_t i0 = 0; i0 < n; i0 += PTC_RNG_BLOCK) {
        const int64_t m = n - i0 < PTC_RNG_BLOCK ? n - i0 : PTC_RNG_BLOCK;
        for (int64_t j = 0; j < m; j++) top[j] = (int32_t)(ptc_rng_next(rng) >> 40);
        float *restrict mk = mask + i0;
        // (float)top * 2^-24 is exactly ptc_rng_uniform's value (top < 2^24 converts exactly).
        for (int64_t j = 0; j < m; j++) mk[j] = (float)top[j] * 0x1.0p-24f < keep ? scale : 0.0f;
    }
}

static double rng_uniform_double(ptc_rng *rng) {
    return (double)(ptc_rng_next(rng) >> 11) * 0x1.0p-53;
}

uint64_t ptc_rng_below(ptc_rng *rng, uint64_t n) {
    // Lemire's nearly divisionless method with rejection: exactly uniform.
    uint64_t x = ptc_rng_next(rng);
    __uint128_t m = (__uint128_t)x * n;
    uint64_t low = (uint64_t)m;
    if (low < n) {
        uint64_t threshold = -n % n;
        while (low < threshold) {
            x = ptc_rng_next(rng);
            m = (__uint128_t)x * n;
            low = (uint64_t)m;
        }
    }
    return (uint64_t)(m >> 64);
}

double ptc_rng_normal(ptc_rng *rng) {
    // Box-Muller; 1 - u keeps the log argument in (0, 1].
    double u1 = 1.0 - rng_uniform_double(rng);
    double u2 = rng_uniform_double(rng);
    return sqrt(-2.0 * log(u1)) * cos(2.0 * 3.14159265358979323846 * u2);
}

void ptc_rng_fill_uniform(ptc_rng *rng, float *out, int64_t n, float low, float high) {
    // low + (high - low) * u can round up to high in float; keep the interval half-open.
    const float below = nextafterf(high, low);
    for (int64_t i = 0; i < n; i++) {
        float v = low + (high - low) * ptc_rng_uniform(rng);
        out[i] = v < high ? v : below;
    }
}

void ptc_rng_fill_normal(ptc_rng *rng, float *out, int64_t n, float mean, float stddev) {
    for (int64_t i = 0; i < n; i++) out[i] = (float)(mean + stddev * ptc_rng_normal(rng));
}

void ptc_rng_fill_truncated_normal(ptc_rng *rng, float *out, int64_t n, float mean, float stddev) {
    // As Keras's truncated_normal: redraw values more than two stddevs out.
    for (int64_t i = 0; i < n; i++) {
        double z;
        do z = ptc_rng_normal(rng);
        while (z < -2.0 || z > 2.0);
        out[i] = (float)(mean + stddev * z);
    }
}

void ptc_rng_permutation(ptc_rng *rng, int64_t *perm, int64_t n) {
    for (int64_t i = 0; i < n; i++) perm[i] = i;
    for (int64_t i = n - 1; i > 0; i--) {  // Fisher-Yates
        int64_t j = (int64_t)ptc_rng_below(rng, (uint64_t)i + 1);
        int64_t t = perm[i];
        perm[i] = perm[j];
        perm[j] = t;
    }
}
