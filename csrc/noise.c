// Noise layers, as Keras 3 (keras/src/layers/regularization/): GaussianNoise, GaussianDropout,
// AlphaDropout and SpatialDropout1D/2D/3D. All are the identity at inference. In training each
// draws from the op's own seeded generator, in order, so runs are bitwise reproducible; the
// factor each input was multiplied by is kept for backward (GaussianNoise adds, so its
// gradient is the identity).
//
// The input is (S, C) per sample: SpatialDropout draws one keep/drop per (sample, channel)
// and applies it at all S positions; the other kinds draw per value (S*C of them).
#include <math.h>
#include <string.h>

#include "ops.h"
#include "rng_mask.h"

enum { NOISE_GAUSSIAN = 0, NOISE_GAUSSIAN_DROPOUT = 1, NOISE_ALPHA_DROPOUT = 2, NOISE_SPATIAL_DROPOUT = 3 };

// inp, out (N, S, C, Q), Q = 1 but for spatial dropout; factor: (N, C) for spatial dropout, else
// (N, S*C) (unused by GaussianNoise).
static void noise_forward(float *out, float *factor, const float *inp, int64_t N, int64_t S, int64_t C, int64_t Q,
                          int kind, float rate, ptc_rng *rng) {
    const int64_t n = N * S * C * Q;
    switch (kind) {
        case NOISE_GAUSSIAN:  // x + N(0, stddev), RATE holding the stddev
            ptc_rng_fill_normal(rng, out, n, 0.0f, rate);
            for (int64_t i = 0; i < n; i++) out[i] += inp[i];
            return;
        case NOISE_GAUSSIAN_DROPOUT:  // x * N(1, sqrt(rate / (1 - rate)))
            ptc_rng_fill_normal(rng, factor, n, 1.0f, (float)sqrt((double)rate / (1.0 - (double)rate)));
            for (int64_t i = 0; i < n; i++) out[i] = inp[i] * factor[i];
            return;
        case NOISE_ALPHA_DROPOUT: {  // a * (x * keep + alpha_p * (1 - keep)) + b, keep = (uniform >= rate)
            const double alpha = 1.6732632423543772848170429916717, scale = 1.0507009873554804934193349852946;
            const double alpha_p = -alpha * scale;
            const double a = pow((1.0 - rate) * (1.0 + rate * alpha_p * alpha_p), -0.5), b = -a * alpha_p * rate;
            const float fa = (float)a, dropped = (float)(a * alpha_p + b), kept_shift = (float)b;
            ptc_rng_fill_mask(rng, factor, n, 1.0f - rate, fa);  // a where kept, 0 where dropped
            for (int64_t i = 0; i < n; i++) out[i] = factor[i] != 0.0f ? inp[i] * factor[i] + kept_shift : dropped;
            return;
        }
        default: {  // NOISE_SPATIAL_DROPOUT: Dropout with noise_shape (N, 1, C, 1), Q values per channel
            const float keep = 1.0f - rate;
            ptc_rng_fill_mask(rng, factor, N * C, keep, 1.0f / keep);
            for (int64_t b = 0; b < N; b++)
                for (int64_t s = 0; s < S; s++)
                    for (int64_t c = 0; c < C; c++) {
                        const int64_t i = ((b * S + s) * C + c) * Q;
                        const float f = factor[b * C + c];
                        for (int64_t q = 0; q < Q; q++) out[i + q] = inp[i + q] * f;
                    }
        }
    }
}

static void noise_backward(float *dinp, const float *dout, const float *factor, int64_t N, int64_t S, int64_t C,
                           int64_t Q, int kind) {
    const int64_t n = N * S * C * Q;
    if (kind == NOISE_GAUSSIAN) {
        for (int64_t i = 0; i < n; i++) dinp[i] += dout[i];
    } else if (kind == NOISE_SPATIAL_DROPOUT) {
        for (int64_t b = 0; b < N; b++)
            for (int64_t s = 0; s < S; s++)
                for (int64_t c = 0; c < C; c++) {
                    const int64_t i = ((b * S + s) * C + c) * Q;
                    const float f = factor[b * C + c];
                    for (int64_t q = 0; q < Q; q++) dinp[i + q] += dout[i + q] * f;
                }
    } else {
        for (int64_t i = 0; i < n; i++) dinp[i] += dout[i] * factor[i];
    }
}

// ---------------------------------------------------------------------------
// The plan's op adapters (ops.def, dispatched through ops.c's table). The four ops share one
// argument layout (PTC_NOISE_IARGS and one float: the stddev or the rate).
#define RNG_ARG PTC_SPATIAL_DROPOUT_RNG
#define S_ARG PTC_SPATIAL_DROPOUT_S
#define C_ARG PTC_SPATIAL_DROPOUT_C
#define SAME_LAYOUT(ID) \
    _Static_assert(     \
        PTC_##ID##_RNG == RNG_ARG && PTC_##ID##_S == S_ARG && PTC_##ID##_C == C_ARG && PTC_##ID##_N_FARGS == 1, #ID);
SAME_LAYOUT(GAUSSIAN_NOISE)
SAME_LAYOUT(GAUSSIAN_DROPOUT)
SAME_LAYOUT(ALPHA_DROPOUT)

static ptc_status noise_check(const ptc_plan *p, const ptc_op *op, int kind) {
    const int64_t *a = op->iarg;
    const double rate = op->farg[0];
    const int64_t q = kind == NOISE_SPATIAL_DROPOUT ? a[PTC_SPATIAL_DROPOUT_Q] : 1;
    int64_t sc, n;
    if (a[RNG_ARG] < 0 || a[S_ARG] < 1 || a[C_ARG] < 1 || q < 1 || !ptc_mul_ok(a[S_ARG], a[C_ARG], &sc) ||
        !ptc_mul_ok(sc, q, &n) || n != ptc_op_in_size(p, op, 0) || n != ptc_op_out_size(p, op))
        return PTC_ERR_OP;
    if (kind == NOISE_GAUSSIAN ? !(rate >= 0.0 && rate <= 1e30) : !(rate >= 0.0 && rate < 1.0)) return PTC_ERR_OP;
    return PTC_OK;
}

static int64_t noise_scratch(const ptc_plan *p, const ptc_op *op, int64_t N, int kind) {
    int64_t n;  // the factors
    const int64_t per = kind == NOISE_SPATIAL_DROPOUT ? op->iarg[C_ARG] : ptc_op_out_size(p, op);
    return ptc_mul_ok(N, per, &n) ? n : -1;
}

static void noise_op_forward(ptc_plan *p, int i, int64_t N, int training, int kind) {
    const ptc_op *op = &p->ops[i];
    const int64_t *a = op->iarg;
    float *out = ptc_plan_act(p, op->out);
    const float *inp = ptc_plan_act(p, op->in[0]);
    if (!training || op->farg[0] == 0.0) {  // nothing to draw: the identity
        memcpy(out, inp, (size_t)(N * ptc_op_out_size(p, op)) * sizeof(float));
        return;
    }
    const int64_t q = kind == NOISE_SPATIAL_DROPOUT ? a[PTC_SPATIAL_DROPOUT_Q] : 1;
    noise_forward(out, ptc_plan_scratch(p, i), inp, N, a[S_ARG], a[C_ARG], q, kind, (float)op->farg[0],
                  &p->rngs[a[RNG_ARG]]);
}

static void noise_op_backward(ptc_plan *p, int i, int64_t N, int kind) {
    const ptc_op *op = &p->ops[i];
    float *din = ptc_op_din(p, op, 0);
    if (!din) return;
    // Backward follows a training forward; with nothing drawn the op was the identity.
    const int64_t q = kind == NOISE_SPATIAL_DROPOUT ? op->iarg[PTC_SPATIAL_DROPOUT_Q] : 1;
    noise_backward(din, ptc_plan_dact(p, op->out), ptc_plan_scratch(p, i), N, op->iarg[S_ARG], op->iarg[C_ARG], q,
                   op->farg[0] == 0.0 ? NOISE_GAUSSIAN : kind);
}

// The checks are written out (tests/csrc/test_registry.py looks for each op's); the rest by macro.
ptc_status ptc_op_gaussian_noise_check(const ptc_plan *p, const ptc_op *op, int64_t need[PTC_MAX_PARAM]) {
    (void)need;
    return noise_check(p, op, NOISE_GAUSSIAN);
}
ptc_status ptc_op_gaussian_dropout_check(const ptc_plan *p, const ptc_op *op, int64_t need[PTC_MAX_PARAM]) {
    (void)need;
    return noise_check(p, op, NOISE_GAUSSIAN_DROPOUT);
}
ptc_status ptc_op_alpha_dropout_check(const ptc_plan *p, const ptc_op *op, int64_t need[PTC_MAX_PARAM]) {
    (void)need;
    return noise_check(p, op, NOISE_ALPHA_DROPOUT);
}
ptc_status ptc_op_spatial_dropout_check(const ptc_plan *p, const ptc_op *op, int64_t need[PTC_MAX_PARAM]) {
    (void)need;
    return noise_check(p, op, NOISE_SPATIAL_DROPOUT);
}

#define NOISE_OP(name, kind)                                                          \
    int64_t ptc_op_##name##_scratch(const ptc_plan *p, const ptc_op *op, int64_t N) { \
        return noise_scratch(p, op, N, kind);                                         \
    }                                                                                 \
    void ptc_op_##name##_forward(ptc_plan *p, int i, int64_t N, int training) {       \
        noise_op_forward(p, i, N, training, kind);                                    \
    }                                                                                 \
    void ptc_op_##name##_backward(ptc_plan *p, int i, int64_t N) {                    \
        noise_op_backward(p, i, N, kind);                                             \
    }
NOISE_OP(gaussian_noise, NOISE_GAUSSIAN)
NOISE_OP(gaussian_dropout, NOISE_GAUSSIAN_DROPOUT)
NOISE_OP(alpha_dropout, NOISE_ALPHA_DROPOUT)
NOISE_OP(spatial_dropout, NOISE_SPATIAL_DROPOUT)
