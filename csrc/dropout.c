// Dropout, as Keras: in training, each value survives with probability 1 - rate and
// survivors are scaled by 1 / (1 - rate), so the expected sum is unchanged. The mask
// (0 or the scale) is kept for backward; masks are drawn from the op's own seeded
// generator, one uniform per value in order, so runs are bitwise reproducible.
#include <string.h>

#include "ptc.h"

void ptc_dropout_forward(float *out, float *mask, const float *inp, int64_t n, float rate, ptc_rng *rng,
                         int training) {
    if (!training || rate == 0.0f) {
        memcpy(out, inp, (size_t)n * sizeof(float));
        return;
    }
    const float keep = 1.0f - rate, scale = 1.0f / keep;
    for (int64_t i = 0; i < n; i++) {
        mask[i] = ptc_rng_uniform(rng) < keep ? scale : 0.0f;
        out[i] = inp[i] * mask[i];
    }
}

void ptc_dropout_backward(float *dinp, const float *dout, const float *mask, int64_t n, float rate) {
    if (rate == 0.0f)
        for (int64_t i = 0; i < n; i++) dinp[i] += dout[i];
    else
        for (int64_t i = 0; i < n; i++) dinp[i] += dout[i] * mask[i];
}
