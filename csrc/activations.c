// Elementwise and row-wise activations on (N, D) buffers.
#include <math.h>
#include <stdlib.h>

#include "isa.h"
#include "ptc.h"
#include "ops.h"
#include "threads.h"

// Subtracting the row max keeps exp() from overflowing; the result is unchanged.
static float row_max(const float *x, int64_t D) {
    float mx = x[0];
    for (int64_t d = 1; d < D; d++) mx = x[d] > mx ? x[d] : mx;
    return mx;
}

static void softmax_rows(float *out, const float *inp, int64_t N, int64_t D) {
    for (int64_t n = 0; n < N; n++) {
        const float *x = inp + n * D;
        float *y = out + n * D;
        const float mx = row_max(x, D);
        double sum = 0.0;
        for (int64_t d = 0; d < D; d++) {
            y[d] = expf(x[d] - mx);
            sum += y[d];
        }
        float inv = (float)(1.0 / sum);
        for (int64_t d = 0; d < D; d++) y[d] *= inv;
    }
}

static inline float sigmoidf(float x) {
    // Two branches so that exp() only sees non-positive arguments.
    if (x >= 0.0f) return 1.0f / (1.0f + expf(-x));
    float e = expf(x);
    return e / (1.0f + e);
}

// log(1 + e^x) = max(x, 0) + log1p(e^-|x|), stable for any x.
static inline float softplusf(float x) {
    return fmaxf(x, 0.0f) + log1pf(expf(-fabsf(x)));
}

static void log_softmax_rows(float *out, const float *inp, int64_t N, int64_t D) {
    for (int64_t n = 0; n < N; n++) {
        const float *x = inp + n * D;
        float *y = out + n * D;
        const float mx = row_max(x, D);
        double sum = 0.0;
        for (int64_t d = 0; d < D; d++) sum += exp((double)(x[d] - mx));
        const float lse = mx + (float)log(sum);
        for (int64_t d = 0; d < D; d++) y[d] = x[d] - lse;
    }
}

static int descending(const void *a, const void *b) {
    const float x = *(const float *)a, y = *(const float *)b;
    return (x < y) - (x > y);
}

// Sparsemax (Martins & Astudillo, 2016; Keras's ops.sparsemax): y = max(x - tau, 0) with tau such
// that the row sums to 1. The output row holds the sorted copy of the input while tau is found
// (k, the support size, is the largest with 1 + k z_k > z_1 + ... + z_k), so no workspace is needed.
static void sparsemax_rows(float *out, const float *inp, int64_t N, int64_t D) {
    for (int64_t n = 0; n < N; n++) {
        const float *x = inp + n * D;
        float *y = out + n * D;
        int undefined = 0;  // a NaN or +inf: no projection onto the simplex, the row is NaN (as softmax's)
        for (int64_t d = 0; d < D; d++) undefined |= isnan(x[d]) || x[d] == INFINITY;
        if (undefined) {
            for (int64_t d = 0; d < D; d++) y[d] = NAN;
            continue;
        }
        for (int64_t d = 0; d < D; d++) y[d] = x[d];
        qsort(y, (size_t)D, sizeof(float), descending);
        double cum = 0.0, tau_cum = 0.0;
        int64_t k = 0;
        for (int64_t d = 0; d < D; d++) {
            cum += y[d];
            if (1.0 + (double)(d + 1) * y[d] > cum) k = d + 1, tau_cum = cum;
        }
        const float tau = k > 0 ? (float)((tau_cum - 1.0) / (double)k) : 0.0f;
        for (int64_t d = 0; d < D; d++) y[d] = fmaxf(x[d] - tau, 0.0f);
    }
}

// SELU's constants (Klambauer et al., 2017), as Keras.
#define SELU_ALPHA 1.6732632423543772848170429916717f
#define SELU_SCALE 1.0507009873554804934193349852946f
#define SQRT_2_OVER_PI 0.79788456080286535587989211986876f
#define INV_SQRT_2 0.70710678118654752440084436210485f

PTC_KERNEL(, ptc_act_forward, (int kind, float *out_, const float *inp_, int64_t N, int64_t D, float alpha),
           (kind, out_, inp_, N, D, alpha)) {
    float *restrict out = out_;
    const float *restrict inp = inp_;
    int64_t n = N * D;
    switch (kind) {
        case PTC_ACT_LINEAR:
            for (int64_t i = 0; i < n; i++) out[i] = inp[i];
            break;
        case PTC_ACT_RELU:  // NaN stays NaN (!(NaN <= 0)), as torch.relu and tf.nn.relu
            for (int64_t i = 0; i < n; i++) out[i] = !(inp[i] <= 0.0f) ? inp[i] : 0.0f;
            break;
        case PTC_ACT_SIGMOID:
            for (int64_t i = 0; i < n; i++) out[i] = sigmoidf(inp[i]);
            break;
        case PTC_ACT_TANH:
            for (int64_t i = 0; i < n; i++) out[i] = tanhf(inp[i]);
            break;
        case PTC_ACT_SOFTMAX:
            softmax_rows(out, inp, N, D);
            break;
        case PTC_ACT_LEAKY_RELU:
            for (int64_t i = 0; i < n; i++) out[i] = ptc_select(inp[i] > 0.0f, inp[i], alpha * inp[i]);
            break;
        case PTC_ACT_ELU:
            for (int64_t i = 0; i < n; i++) out[i] = inp[i] > 0.0f ? inp[i] : alpha * expm1f(inp[i]);
            break;
        case PTC_ACT_SELU:
            for (int64_t i = 0; i < n; i++)
                out[i] = SELU_SCALE * (inp[i] > 0.0f ? inp[i] : SELU_ALPHA * expm1f(inp[i]));
            break;
        case PTC_ACT_GELU:
            for (int64_t i = 0; i < n; i++) out[i] = 0.5f * inp[i] * (1.0f + erff(inp[i] * INV_SQRT_2));
            break;
        case PTC_ACT_GELU_TANH:
            for (int64_t i = 0; i < n; i++) {
                float x = inp[i];
                out[i] = 0.5f * x * (1.0f + tanhf(SQRT_2_OVER_PI * (x + 0.044715f * x * x * x)));
            }
            break;
        case PTC_ACT_HARD_SIGMOID:
            for (int64_t i = 0; i < n; i++) {
                float y = inp[i] / 6.0f + 0.5f;
                out[i] = y < 0.0f ? 0.0f : (y > 1.0f ? 1.0f : y);
            }
            break;
        case PTC_ACT_SOFTPLUS:
            for (int64_t i = 0; i < n; i++) out[i] = softplusf(inp[i]);
            break;
        case PTC_ACT_SOFTSIGN:
            for (int64_t i = 0; i < n; i++) out[i] = inp[i] / (1.0f + fabsf(inp[i]));
            break;
        case PTC_ACT_SWISH:
            for (int64_t i = 0; i < n; i++) out[i] = inp[i] * sigmoidf(inp[i]);
            break;
        case PTC_ACT_LOG_SOFTMAX:
            log_softmax_rows(out, inp, N, D);
            break;
        case PTC_ACT_RELU6:  // comparisons, not fminf/fmaxf: NaN stays NaN, as torch
            for (int64_t i = 0; i < n; i++)
                out[i] = ptc_select(inp[i] < 0.0f, 0.0f, ptc_select(inp[i] > 6.0f, 6.0f, inp[i]));
            break;
        case PTC_ACT_MISH:  // x tanh(softplus(x))
            for (int64_t i = 0; i < n; i++) out[i] = inp[i] * tanhf(softplusf(inp[i]));
            break;
        case PTC_ACT_HARD_TANH:
            for (int64_t i = 0; i < n; i++)
                out[i] = ptc_select(inp[i] < -1.0f, -1.0f, ptc_select(inp[i] > 1.0f, 1.0f, inp[i]));
            break;
        case PTC_ACT_LOG_SIGMOID:  // -softplus(-x)
            for (int64_t i = 0; i < n; i++) out[i] = -softplusf(-inp[i]);
            break;
        case PTC_ACT_TANH_SHRINK:
            for (int64_t i = 0; i < n; i++) out[i] = inp[i] - tanhf(inp[i]);
            break;
        case PTC_ACT_EXPONENTIAL:
            for (int64_t i = 0; i < n; i++) out[i] = expf(inp[i]);
            break;
        case PTC_ACT_CELU:  // max(x, 0) + min(alpha (e^(x / alpha) - 1), 0)
            for (int64_t i = 0; i < n; i++) out[i] = inp[i] > 0.0f ? inp[i] : alpha * expm1f(inp[i] / alpha);
            break;
        case PTC_ACT_HARD_SILU:
            for (int64_t i = 0; i < n; i++) out[i] = inp[i] * fminf(fmaxf(inp[i] + 3.0f, 0.0f), 6.0f) / 6.0f;
            break;
        case PTC_ACT_SQUAREPLUS:  // (x + sqrt(x^2 + b)) / 2
            for (int64_t i = 0; i < n; i++) out[i] = 0.5f * (inp[i] + sqrtf(inp[i] * inp[i] + alpha));
            break;
        case PTC_ACT_SPARSE_PLUS:  // 0 below -1, x above 1, (x + 1)^2 / 4 between
            for (int64_t i = 0; i < n; i++) {
                const float x = inp[i], q = 0.25f * (x + 1.0f) * (x + 1.0f);
                out[i] = ptc_select(x <= -1.0f, 0.0f, ptc_select(x >= 1.0f, x, q));
            }
            break;
        case PTC_ACT_HARD_SHRINK:  // x where |x| > threshold, else 0 (NaN stays NaN, as torch)
            for (int64_t i = 0; i < n; i++) out[i] = ptc_select((inp[i] >= -alpha) & (inp[i] <= alpha), 0.0f, inp[i]);
            break;
        case PTC_ACT_SOFT_SHRINK:  // x -+ threshold beyond +-threshold, else 0
            for (int64_t i = 0; i < n; i++) {
                const float x = inp[i];
                out[i] = ptc_select((x >= -alpha) & (x <= alpha), 0.0f, x - copysignf(alpha, x));  // NaN stays NaN
            }
            break;
        case PTC_ACT_SPARSE_SIGMOID:  // comparisons, so NaN stays NaN
            for (int64_t i = 0; i < n; i++)
                out[i] = ptc_select(inp[i] <= -1.0f, 0.0f, ptc_select(inp[i] >= 1.0f, 1.0f, 0.5f * (inp[i] + 1.0f)));
            break;
        case PTC_ACT_SPARSEMAX:
            sparsemax_rows(out, inp, N, D);
            break;
    }
}

PTC_KERNEL(, ptc_act_backward,
           (int kind, float *dinp_, const float *dout_, const float *inp_, const float *out_, int64_t N, int64_t D,
            float alpha),
           (kind, dinp_, dout_, inp_, out_, N, D, alpha)) {
    // The engine never aliases these buffers (an op's output is not its input);
    // restrict lets the elementwise loops vectorize. The selects compute both sides
    // first: a load or a float operation under a condition is control flow to GCC,
    // which then vectorizes only with masked loads (AVX2/AVX-512) or not at all (SSE2);
    // ptc_select (isa.h) blends the two bitwise, so SSE2 vectorizes those too.
    float *restrict dinp = dinp_;
    const float *restrict dout = dout_, *restrict inp = inp_, *restrict out = out_;
    int64_t n = N * D;
    switch (kind) {
        case PTC_ACT_LINEAR:
            for (int64_t i = 0; i < n; i++) dinp[i] += dout[i];
            break;
        case PTC_ACT_RELU:  // derivative 0 at 0, as PyTorch and TensorFlow; 1 at NaN, as torch
            for (int64_t i = 0; i < n; i++) {
                const float g = dout[i];
                dinp[i] += !(inp[i] <= 0.0f) ? g : 0.0f;
            }
            break;
        case PTC_ACT_SIGMOID:
            for (int64_t i = 0; i < n; i++) dinp[i] += dout[i] * out[i] * (1.0f - out[i]);
            break;
        case PTC_ACT_TANH:
            for (int64_t i = 0; i < n; i++) dinp[i] += dout[i] * (1.0f - out[i] * out[i]);
            break;
        case PTC_ACT_SOFTMAX:
            // dx_i = y_i * (dy_i - sum_j dy_j y_j)
            for (int64_t r = 0; r < N; r++) {
                const float *y = out + r * D, *dy = dout + r * D;
                float *dx = dinp + r * D;
                double dot = 0.0;
                for (int64_t d = 0; d < D; d++) dot += (double)dy[d] * y[d];
                for (int64_t d = 0; d < D; d++) dx[d] += y[d] * (dy[d] - (float)dot);
            }
            break;
        case PTC_ACT_LEAKY_RELU:
            for (int64_t i = 0; i < n; i++) {
                const float g = dout[i];
                dinp[i] += ptc_select(inp[i] > 0.0f, g, alpha * g);
            }
            break;
        case PTC_ACT_ELU:  // for x <= 0: d/dx alpha (e^x - 1) = y + alpha
            for (int64_t i = 0; i < n; i++) {
                const float g = dout[i];
                dinp[i] += ptc_select(inp[i] > 0.0f, g, g * (out[i] + alpha));
            }
            break;
        case PTC_ACT_SELU:
            for (int64_t i = 0; i < n; i++)
                dinp[i] += dout[i] * ptc_select(inp[i] > 0.0f, SELU_SCALE, out[i] + SELU_SCALE * SELU_ALPHA);
            break;
        case PTC_ACT_GELU:  // Phi(x) + x phi(x)
            for (int64_t i = 0; i < n; i++) {
                float x = inp[i];
                float cdf = 0.5f * (1.0f + erff(x * INV_SQRT_2));
                float pdf = 0.39894228040143267794f * expf(-0.5f * x * x);
                dinp[i] += dout[i] * (cdf + x * pdf);
            }
            break;
        case PTC_ACT_GELU_TANH:
            for (int64_t i = 0; i < n; i++) {
                float x = inp[i];
                float u = SQRT_2_OVER_PI * (x + 0.044715f * x * x * x);
                float t = tanhf(u);
                float du = SQRT_2_OVER_PI * (1.0f + 3.0f * 0.044715f * x * x);
                dinp[i] += dout[i] * (0.5f * (1.0f + t) + 0.5f * x * (1.0f - t * t) * du);
            }
            break;
        case PTC_ACT_HARD_SIGMOID:  // slope 1/6 strictly inside (-3, 3)
            for (int64_t i = 0; i < n; i++)
                dinp[i] += ptc_select((inp[i] > -3.0f) & (inp[i] < 3.0f), dout[i] / 6.0f, 0.0f);
            break;
        case PTC_ACT_SOFTPLUS:
            for (int64_t i = 0; i < n; i++) dinp[i] += dout[i] * sigmoidf(inp[i]);
            break;
        case PTC_ACT_SOFTSIGN:
            for (int64_t i = 0; i < n; i++) {
                float d = 1.0f + fabsf(inp[i]);
                dinp[i] += dout[i] / (d * d);
            }
            break;
        case PTC_ACT_SWISH:
            for (int64_t i = 0; i < n; i++) {
                float s = sigmoidf(inp[i]);
                dinp[i] += dout[i] * (s + inp[i] * s * (1.0f - s));
            }
            break;
        case PTC_ACT_LOG_SOFTMAX:  // dx_i = dy_i - softmax_i * sum_j dy_j
            for (int64_t r = 0; r < N; r++) {
                const float *y = out + r * D, *dy = dout + r * D;
                float *dx = dinp + r * D;
                double sum = 0.0;
                for (int64_t d = 0; d < D; d++) sum += dy[d];
                for (int64_t d = 0; d < D; d++) dx[d] += dy[d] - expf(y[d]) * (float)sum;
            }
            break;
        case PTC_ACT_RELU6:  // slope 1 strictly inside (0, 6), with torch's mask: a NaN input passes g
            for (int64_t i = 0; i < n; i++) dinp[i] += ptc_select((inp[i] <= 0.0f) | (inp[i] >= 6.0f), 0.0f, dout[i]);
            break;
        case PTC_ACT_MISH:  // tanh(sp) + x sigmoid(x) (1 - tanh(sp)^2)
            for (int64_t i = 0; i < n; i++) {
                const float x = inp[i], t = tanhf(softplusf(x));
                dinp[i] += dout[i] * (t + x * sigmoidf(x) * (1.0f - t * t));
            }
            break;
        case PTC_ACT_HARD_TANH:
            for (int64_t i = 0; i < n; i++) dinp[i] += ptc_select((inp[i] <= -1.0f) | (inp[i] >= 1.0f), 0.0f, dout[i]);
            break;
        case PTC_ACT_LOG_SIGMOID:  // sigmoid(-x)
            for (int64_t i = 0; i < n; i++) dinp[i] += dout[i] * sigmoidf(-inp[i]);
            break;
        case PTC_ACT_TANH_SHRINK:  // tanh(x)^2
            for (int64_t i = 0; i < n; i++) {
                const float t = tanhf(inp[i]);
                dinp[i] += dout[i] * t * t;
            }
            break;
        case PTC_ACT_EXPONENTIAL:
            for (int64_t i = 0; i < n; i++) dinp[i] += dout[i] * out[i];
            break;
        case PTC_ACT_CELU:  // e^(x / alpha) = y / alpha + 1 below 0
            for (int64_t i = 0; i < n; i++) {
                const float g = dout[i];
                dinp[i] += ptc_select(inp[i] <= 0.0f, g * (out[i] / alpha + 1.0f), g);
            }
            break;
        case PTC_ACT_HARD_SILU:  // 0 to -3, 1 from 3, (2x + 3) / 6 between: torch's boundaries
            for (int64_t i = 0; i < n; i++) {
                const float x = inp[i], g = dout[i];
                dinp[i] += ptc_select(x <= -3.0f, 0.0f, ptc_select(x < 3.0f, g * (2.0f * x + 3.0f) / 6.0f, g));
            }
            break;
        case PTC_ACT_SQUAREPLUS:  // (1 + x / sqrt(x^2 + b)) / 2
            for (int64_t i = 0; i < n; i++) {
                const float x = inp[i];
                dinp[i] += dout[i] * 0.5f * (1.0f + x / sqrtf(x * x + alpha));
            }
            break;
        case PTC_ACT_SPARSE_PLUS:
            for (int64_t i = 0; i < n; i++) {
                const float x = inp[i], g = dout[i];
                dinp[i] += ptc_select(x <= -1.0f, 0.0f, ptc_select(x >= 1.0f, g, g * 0.5f * (x + 1.0f)));
            }
            break;
        case PTC_ACT_HARD_SHRINK:
        case PTC_ACT_SOFT_SHRINK:
            for (int64_t i = 0; i < n; i++)
                dinp[i] += ptc_select((inp[i] >= -alpha) & (inp[i] <= alpha), 0.0f, dout[i]);
            break;
        case PTC_ACT_SPARSE_SIGMOID:  // 1/2 strictly inside (-1, 1), 0 at and beyond the kinks
            for (int64_t i = 0; i < n; i++)
                dinp[i] += ptc_select((inp[i] > -1.0f) & (inp[i] < 1.0f), 0.5f * dout[i], 0.0f);
            break;
        case PTC_ACT_SPARSEMAX:  // on the support S (y > 0): dx_i = dy_i - mean of dy over S; 0 elsewhere
            for (int64_t r = 0; r < N; r++) {
                const float *y = out + r * D, *dy = dout + r * D;
                float *dx = dinp + r * D;
                double sum = 0.0;
                int64_t k = 0;
                for (int64_t d = 0; d < D; d++)
                    if (y[d] > 0.0f) sum += dy[d], k++;
                const float mean = k > 0 ? (float)(sum / (double)k) : 0.0f;
                for (int64_t d = 0; d < D; d++)
                    if (y[d] > 0.0f) dx[d] += dy[d] - mean;
            }
            break;
    }
}

// ---------------------------------------------------------------------------
// The plan's op adapters (ops.def, dispatched through ops.c's table).
ptc_status ptc_op_activation_check(const ptc_plan *p, const ptc_op *op, int64_t need[PTC_MAX_PARAM]) {
    const int64_t kind = op->iarg[PTC_ACTIVATION_KIND], D = op->iarg[PTC_ACTIVATION_WIDTH];
    if (kind < 0 || kind >= PTC_ACT_COUNT || D <= 0 || ptc_op_out_size(p, op) % D != 0 ||
        ptc_op_in_size(p, op, 0) != ptc_op_out_size(p, op))
        return PTC_ERR_OP;
    return PTC_OK;
}

// Rows split over the pool (threads.h): every kernel works row by row, so the parts
// give the same floats as one call.
typedef struct {
    int kind;
    float *out, *dinp;
    const float *inp, *dout, *y;
    int64_t D;
    float alpha;
} act_job;

static void act_forward_part(void *ctx, int64_t lo, int64_t hi, int part) {
    const act_job *a = ctx;
    ptc_act_forward(a->kind, a->out + lo * a->D, a->inp + lo * a->D, hi - lo, a->D, a->alpha);
}

static void act_backward_part(void *ctx, int64_t lo, int64_t hi, int part) {
    const act_job *a = ctx;
    const int64_t o = lo * a->D;
    ptc_act_backward(a->kind, a->dinp + o, a->dout + o, a->inp + o, a->y + o, hi - lo, a->D, a->alpha);
}

// Work of n floats: ReLU-like kinds are one compare each, the others call libm.
static int64_t act_work(int kind, int64_t n) {
    return kind == PTC_ACT_RELU || kind == PTC_ACT_LINEAR || kind == PTC_ACT_LEAKY_RELU ? n : 8 * n;
}

void ptc_op_activation_forward(ptc_plan *p, int i, int64_t N, int training) {
    const ptc_op *op = &p->ops[i];
    const int64_t D = op->iarg[PTC_ACTIVATION_WIDTH], n = N * ptc_op_out_size(p, op);
    act_job a = {
        (int)op->iarg[PTC_ACTIVATION_KIND],   ptc_plan_act(p, op->out), NULL, ptc_plan_act(p, op->in[0]), NULL, NULL, D,
        (float)op->farg[PTC_ACTIVATION_ALPHA]};
    ptc_parallel_for(n / D, 1, act_work(a.kind, n), act_forward_part, &a);
}

void ptc_op_activation_backward(ptc_plan *p, int i, int64_t N) {
    const ptc_op *op = &p->ops[i];
    float *din = ptc_op_din(p, op, 0);
    if (!din) return;
    const int64_t D = op->iarg[PTC_ACTIVATION_WIDTH], n = N * ptc_op_out_size(p, op);
    act_job a = {(int)op->iarg[PTC_ACTIVATION_KIND],
                 NULL,
                 din,
                 ptc_plan_act(p, op->in[0]),
                 ptc_plan_dact(p, op->out),
                 ptc_plan_act(p, op->out),
                 D,
                 (float)op->farg[PTC_ACTIVATION_ALPHA]};
    ptc_parallel_for(n / D, 1, 3 * act_work(a.kind, n), act_backward_part, &a);
}

PTC_OP_NO_SCRATCH(activation)
