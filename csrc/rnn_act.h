// The recurrent layers' activations (rnn.c): branch-free exp, sigmoid and tanh and
// the derivatives from the activation's output. Included by rnn.c only.
#ifndef PTC_RNN_ACT_H
#define PTC_RNN_ACT_H

#include <math.h>
#include <stdint.h>
#include <string.h>

#include "isa.h"
#include "ptc.h"

// exp, sigmoid and tanh without libm calls or branches, so that the gate loops vectorize
// (PTC_KERNEL copies) and every copy performs the same float operations (bitwise equal).
// exp: Cephes's expf (range reduction by ln 2 in two parts, a degree-6 polynomial, 2^n
// from the exponent bits), within 2 ulp of libm's over [-87, 88] (clamped outside: exp(-87)
// is below FLT_MIN, flushed anyway); n is rounded with the 1.5 * 2^23 trick, NaN kept.
static PTC_ALWAYS_INLINE float ptc_exp_fast(float x) {
    x = ptc_select(x < -87.0f, -87.0f, x);  // bit selects (isa.h): a float ?: stays a branch
    x = ptc_select(x > 88.0f, 88.0f, x);
    const float n = (x * 1.44269504088896341f + 12582912.0f) - 12582912.0f;
    const float r = (x - n * 0.693359375f) - n * -2.12194440e-4f;
    float p = 1.9875691500e-4f;
    p = p * r + 1.3981999507e-3f;
    p = p * r + 8.3334519073e-3f;
    p = p * r + 4.1665795894e-2f;
    p = p * r + 1.6666665459e-1f;
    p = p * r + 5.0000001201e-1f;
    p = p * r * r + r + 1.0f;
    const float nn = ptc_select(n > -127.0f, n, -127.0f);  // a NaN n (NaN x) converts defined; p keeps NaN
    const int32_t e = ((int32_t)nn + 127) << 23;           // 2^n
    float scale;
    memcpy(&scale, &e, sizeof(scale));
    return p * scale;
}

static PTC_ALWAYS_INLINE float ptc_sigmoid_fast(float x) {
    return 1.0f / (1.0f + ptc_exp_fast(-x));
}

// tanh: Cephes's odd polynomial below |x| = 0.625 (no cancellation near 0), else
// 1 - 2 / (exp(2|x|) + 1) with the sign put back; both computed, one selected.
static PTC_ALWAYS_INLINE float ptc_tanh_fast(float x) {
    const float a = fabsf(x), z = x * x;
    float p = -5.70498872745e-3f;
    p = p * z + 2.06390887954e-2f;
    p = p * z - 5.37397155531e-2f;
    p = p * z + 1.33314422036e-1f;
    p = p * z - 3.33332819422e-1f;
    const float small = p * z * x + x;
    const float big = 1.0f - 2.0f / (ptc_exp_fast(2.0f * a) + 1.0f);
    return ptc_select(a < 0.625f, small, copysignf(big, x));
}

static PTC_ALWAYS_INLINE float act_f(int kind, float x) {
    switch (kind) {
        case PTC_ACT_RELU:
            return x > 0.0f ? x : 0.0f;
        case PTC_ACT_SIGMOID:
            return ptc_sigmoid_fast(x);
        case PTC_ACT_TANH:
            return ptc_tanh_fast(x);
        case PTC_ACT_HARD_SIGMOID: {  // Keras 3: relu6(x + 3) / 6
            const float y = x / 6.0f + 0.5f;
            return y < 0.0f ? 0.0f : (y > 1.0f ? 1.0f : y);
        }
        default:
            return x;
    }
}

// The derivative from the activation's output y (all kinds here allow it).
static PTC_ALWAYS_INLINE float act_d(int kind, float y) {
    switch (kind) {
        case PTC_ACT_RELU:
            return y > 0.0f ? 1.0f : 0.0f;
        case PTC_ACT_SIGMOID:
            return y * (1.0f - y);
        case PTC_ACT_TANH:
            return 1.0f - y * y;
        case PTC_ACT_HARD_SIGMOID:
            return y > 0.0f && y < 1.0f ? 1.0f / 6.0f : 0.0f;
        default:
            return 1.0f;
    }
}

#endif  // PTC_RNN_ACT_H
