// 2D and global pooling, channels_last. The channel axis is innermost, so
// every loop below runs over C contiguous floats per window cell.
//
// Padding follows TF/Keras 'same': padded cells take no part (the max is over
// real cells, the average divides by the count of real cells; PyTorch's
// count_include_pad=False). Max pooling picks the first maximal cell in
// row-major window order and lets a NaN win, as PyTorch's CPU kernel does
// (`val > max || isnan(val)`), so forward and backward agree on NaN inputs too.
#include <string.h>

#include "isa.h"
#include "kernels2d.h"
#include "ops.h"
#include "threads.h"

#define PTC_POOL_CBLOCK 64  // channels handled at once by the argmax scans (stack arrays)

int ptc_pool2d_shape_valid(const ptc_pool2d_shape *s) {
    if (s->N < 0 || s->H < 0 || s->W < 0 || s->C < 0 || s->OH < 0 || s->OW < 0) return 0;
    if (s->KH < 1 || s->KW < 1 || s->SH < 1 || s->SW < 1 || s->PT < 0 || s->PL < 0) return 0;
    // Keep window offsets far from overflow: sizes and offsets below 2^40.
    const int64_t lim = (int64_t)1 << 40;
    if (s->H > lim || s->W > lim || s->C > lim || s->OH > lim || s->OW > lim || s->KH > lim || s->KW > lim ||
        s->SH > lim || s->SW > lim || s->PT > lim || s->PL > lim)
        return 0;
    return 1;
}

// The real cells of output (oh, ow)'s window: rows [*h0, *h1), columns [*w0, *w1).
static void window(const ptc_pool2d_shape *s, int64_t oh, int64_t ow, int64_t *h0, int64_t *h1, int64_t *w0,
                   int64_t *w1) {
    int64_t a = oh * s->SH - s->PT, b = ow * s->SW - s->PL;
    *h0 = a < 0 ? 0 : a;
    *h1 = a + s->KH < s->H ? a + s->KH : s->H;
    *w0 = b < 0 ? 0 : b;
    *w1 = b + s->KW < s->W ? b + s->KW : s->W;
}

// Written as selects, not branches: on real data which cell wins is unpredictable,
// and a mispredicted branch per compare costs more than the compare (10x here).
static inline int beats(float v, float best) {
    return (v > best) | ((v != v) & (best == best));
}

// relu(v) as the activation computes it (NaN stays NaN); max(relu(x)) == relu(max(x)) bit for
// bit, so a max pool with relu (ops.def's MAXPOOL2D RELU) gives the floats of pooling a ReLU's output.
static inline float relu_of(float v) {
    return ptc_select(!(v <= 0.0f), v, 0.0f);
}

// The max of a full 2x2 window (cells x0..x3 in window order, C floats each) in one pass:
// the same order of beats as the general loop. ptc_select keeps GCC from folding the
// chained NaN tests into a select of booleans, which it cannot vectorize. relu is a
// constant at each call (inlined), so the plain pool pays nothing for it.
static PTC_ALWAYS_INLINE void max_2x2(float *restrict o, const float *restrict x0, const float *restrict x1,
                                      const float *restrict x2, const float *restrict x3, int64_t C, int relu) {
    for (int64_t j = 0; j < C; j++) {
        float best = x0[j];
        best = ptc_select(beats(x1[j], best), x1[j], best);
        best = ptc_select(beats(x2[j], best), x2[j], best);
        best = ptc_select(beats(x3[j], best), x3[j], best);
        o[j] = relu ? relu_of(best) : best;
    }
}

PTC_KERNEL(, ptc_maxpool2d_forward, (float *restrict out, const float *restrict inp, const ptc_pool2d_shape *s),
           (out, inp, s)) {
    // out (N, OH, OW, C), inp (N, H, W, C)
    const int64_t H = s->H, W = s->W, C = s->C;
    float *o = out;
    for (int64_t n = 0; n < s->N; n++)
        for (int64_t oh = 0; oh < s->OH; oh++)
            for (int64_t ow = 0; ow < s->OW; ow++, o += C) {
                int64_t h0, h1, w0, w1;
                window(s, oh, ow, &h0, &h1, &w0, &w1);
                if (h0 >= h1 || w0 >= w1) {
                    memset(o, 0, (size_t)C * sizeof(float));
                    continue;
                }
                if (h1 - h0 == 2 && w1 - w0 == 2) {
                    const float *x0 = inp + ((n * H + h0) * W + w0) * C, *x2 = x0 + W * C;
                    if (s->relu)
                        max_2x2(o, x0, x0 + C, x2, x2 + C, C, 1);
                    else
                        max_2x2(o, x0, x0 + C, x2, x2 + C, C, 0);
                    continue;
                }
                memcpy(o, inp + ((n * H + h0) * W + w0) * C, (size_t)C * sizeof(float));
                for (int64_t ih = h0; ih < h1; ih++)
                    for (int64_t iw = ih == h0 ? w0 + 1 : w0; iw < w1; iw++) {
                        const float *x = inp + ((n * H + ih) * W + iw) * C;
                        for (int64_t c = 0; c < C; c++) o[c] = beats(x[c], o[c]) ? x[c] : o[c];
                    }
                if (s->relu)
                    for (int64_t c = 0; c < C; c++) o[c] = relu_of(o[c]);
            }
}

// The backward pass finds the winner again by its bits: the max only changes on a
// strict `beats`, so the first cell whose bits equal the max's is the one forward
// picked (NaN included), and integer masks keep the loop branch-free and vectorized
// (GCC will not if-convert float compares under the default -ftrapping-math; isa.h).

// d += left where x is the winner (its bits are maxbits); left drops to 0 once delivered.
static inline void route(float *restrict d, const float *restrict x, const uint32_t *restrict maxbits,
                         float *restrict left, int64_t cn) {
    for (int64_t j = 0; j < cn; j++) {
        const uint32_t hit = -(uint32_t)(ptc_bits_of(x[j]) == maxbits[j]), l = ptc_bits_of(left[j]);
        d[j] += ptc_float_of(l & hit);
        left[j] = ptc_float_of(l & ~hit);
    }
}

// A full 2x2 window, MaxPooling2D(2)'s usual case: the max and the routing in one pass
// over the channels, kept in registers, making the same choices in the same cell order
// as the general loop below. One pointer per cell (C floats each, cells in window order),
// so that the compiler knows the four stores apart; the max as in max_2x2. With relu the
// gradient passes only where relu passes it (max > 0 or NaN, the activation's rule).
static PTC_ALWAYS_INLINE void route_2x2(float *restrict d0, float *restrict d1, float *restrict d2, float *restrict d3,
                                        const float *restrict x0, const float *restrict x1, const float *restrict x2,
                                        const float *restrict x3, const float *restrict g, int64_t C, int relu) {
    for (int64_t j = 0; j < C; j++) {
        const float a = x0[j], b = x1[j], c = x2[j], e = x3[j];
        float best = a;
        best = ptc_select(beats(b, best), b, best);
        best = ptc_select(beats(c, best), c, best);
        best = ptc_select(beats(e, best), e, best);
        const uint32_t mb = ptc_bits_of(best);
        uint32_t l = ptc_bits_of(g[j]) & (relu ? -(uint32_t)!(best <= 0.0f) : ~0u), hit;
        hit = -(uint32_t)(ptc_bits_of(a) == mb);
        d0[j] += ptc_float_of(l & hit);
        l &= ~hit;
        hit = -(uint32_t)(ptc_bits_of(b) == mb);
        d1[j] += ptc_float_of(l & hit);
        l &= ~hit;
        hit = -(uint32_t)(ptc_bits_of(c) == mb);
        d2[j] += ptc_float_of(l & hit);
        l &= ~hit;
        hit = -(uint32_t)(ptc_bits_of(e) == mb);
        d3[j] += ptc_float_of(l & hit);
    }
}

PTC_KERNEL(, ptc_maxpool2d_backward,
           (float *restrict dinp, const float *restrict dout, const float *restrict inp, const ptc_pool2d_shape *s),
           (dinp, dout, inp, s)) {
    // dinp (N, H, W, C) += dout (N, OH, OW, C) at each window's first maximal cell of inp.
    // Branch-free: recompute the window's max, then walk its cells in order handing the
    // gradient to the first cell equal to it (`left` drops to 0 once delivered).
    const int64_t H = s->H, W = s->W, C = s->C;
    float best[PTC_POOL_CBLOCK], left[PTC_POOL_CBLOCK];
    uint32_t maxbits[PTC_POOL_CBLOCK];
    const float *g = dout;
    for (int64_t n = 0; n < s->N; n++)
        for (int64_t oh = 0; oh < s->OH; oh++)
            for (int64_t ow = 0; ow < s->OW; ow++, g += C) {
                int64_t h0, h1, w0, w1;
                window(s, oh, ow, &h0, &h1, &w0, &w1);
                if (h0 >= h1 || w0 >= w1) continue;
                if (h1 - h0 == 2 && w1 - w0 == 2) {
                    const int64_t r0 = ((n * H + h0) * W + w0) * C, r1 = r0 + W * C;
                    float *d0 = dinp + r0, *d2 = dinp + r1;
                    const float *x0 = inp + r0, *x2 = inp + r1;
                    if (s->relu)
                        route_2x2(d0, d0 + C, d2, d2 + C, x0, x0 + C, x2, x2 + C, g, C, 1);
                    else
                        route_2x2(d0, d0 + C, d2, d2 + C, x0, x0 + C, x2, x2 + C, g, C, 0);
                    continue;
                }
                for (int64_t c0 = 0; c0 < C; c0 += PTC_POOL_CBLOCK) {
                    const int64_t cn = C - c0 < PTC_POOL_CBLOCK ? C - c0 : PTC_POOL_CBLOCK;
                    const float *x0 = inp + ((n * H + h0) * W + w0) * C + c0;
                    for (int64_t j = 0; j < cn; j++) {
                        best[j] = x0[j];
                        left[j] = g[c0 + j];
                    }
                    for (int64_t ih = h0; ih < h1; ih++)
                        for (int64_t iw = ih == h0 ? w0 + 1 : w0; iw < w1; iw++) {
                            const float *x = inp + ((n * H + ih) * W + iw) * C + c0;
                            for (int64_t j = 0; j < cn; j++) best[j] = beats(x[j], best[j]) ? x[j] : best[j];
                        }
                    for (int64_t j = 0; j < cn; j++) maxbits[j] = ptc_bits_of(best[j]);
                    if (s->relu)
                        for (int64_t j = 0; j < cn; j++) left[j] = !(best[j] <= 0.0f) ? left[j] : 0.0f;
                    for (int64_t ih = h0; ih < h1; ih++)
                        for (int64_t iw = w0; iw < w1; iw++) {
                            const int64_t off = ((n * H + ih) * W + iw) * C + c0;
                            route(dinp + off, inp + off, maxbits, left, cn);
                        }
                }
            }
}

PTC_KERNEL(, ptc_avgpool2d_forward, (float *out, const float *inp, const ptc_pool2d_shape *s), (out, inp, s)) {
    // out (N, OH, OW, C), inp (N, H, W, C)
    const int64_t H = s->H, W = s->W, C = s->C;
    float *o = out;
    for (int64_t n = 0; n < s->N; n++)
        for (int64_t oh = 0; oh < s->OH; oh++)
            for (int64_t ow = 0; ow < s->OW; ow++, o += C) {
                int64_t h0, h1, w0, w1;
                window(s, oh, ow, &h0, &h1, &w0, &w1);
                memset(o, 0, (size_t)C * sizeof(float));
                if (h0 >= h1 || w0 >= w1) continue;
                for (int64_t ih = h0; ih < h1; ih++)
                    for (int64_t iw = w0; iw < w1; iw++) {
                        const float *x = inp + ((n * H + ih) * W + iw) * C;
                        for (int64_t c = 0; c < C; c++) o[c] += x[c];
                    }
                const float scale = 1.0f / (float)((h1 - h0) * (w1 - w0));
                for (int64_t c = 0; c < C; c++) o[c] *= scale;
            }
}

PTC_KERNEL(, ptc_avgpool2d_backward, (float *dinp, const float *dout, const ptc_pool2d_shape *s), (dinp, dout, s)) {
    // dinp (N, H, W, C) += dout (N, OH, OW, C) / (real cells of the window), over the window
    const int64_t H = s->H, W = s->W, C = s->C;
    const float *g = dout;
    for (int64_t n = 0; n < s->N; n++)
        for (int64_t oh = 0; oh < s->OH; oh++)
            for (int64_t ow = 0; ow < s->OW; ow++, g += C) {
                int64_t h0, h1, w0, w1;
                window(s, oh, ow, &h0, &h1, &w0, &w1);
                if (h0 >= h1 || w0 >= w1) continue;
                const float scale = 1.0f / (float)((h1 - h0) * (w1 - w0));
                for (int64_t ih = h0; ih < h1; ih++)
                    for (int64_t iw = w0; iw < w1; iw++) {
                        float *d = dinp + ((n * H + ih) * W + iw) * C;
                        for (int64_t c = 0; c < C; c++) d[c] += g[c] * scale;
                    }
            }
}

// ---------------------------------------------------------------------------
// Global pooling: inp (N, S, C) -> out (N, C). S == 0 gives 0.

PTC_KERNEL(, ptc_global_avgpool_forward, (float *out, const float *inp, int64_t N, int64_t S, int64_t C),
           (out, inp, N, S, C)) {
    double acc[PTC_POOL_CBLOCK];  // double: S can be large (a 64x64 map is 4096 terms)
    for (int64_t n = 0; n < N; n++)
        for (int64_t c0 = 0; c0 < C; c0 += PTC_POOL_CBLOCK) {
            const int64_t cn = C - c0 < PTC_POOL_CBLOCK ? C - c0 : PTC_POOL_CBLOCK;
            for (int64_t j = 0; j < cn; j++) acc[j] = 0.0;
            for (int64_t p = 0; p < S; p++) {
                const float *x = inp + (n * S + p) * C + c0;
                for (int64_t j = 0; j < cn; j++) acc[j] += x[j];
            }
            for (int64_t j = 0; j < cn; j++) out[n * C + c0 + j] = S > 0 ? (float)(acc[j] / (double)S) : 0.0f;
        }
}

PTC_KERNEL(, ptc_global_avgpool_backward, (float *dinp, const float *dout, int64_t N, int64_t S, int64_t C),
           (dinp, dout, N, S, C)) {
    if (S == 0) return;
    const float scale = 1.0f / (float)S;
    for (int64_t n = 0; n < N; n++) {
        const float *g = dout + n * C;
        for (int64_t p = 0; p < S; p++) {
            float *d = dinp + (n * S + p) * C;
            for (int64_t c = 0; c < C; c++) d[c] += g[c] * scale;
        }
    }
}

PTC_KERNEL(, ptc_global_maxpool_forward,
           (float *restrict out, const float *restrict inp, int64_t N, int64_t S, int64_t C), (out, inp, N, S, C)) {
    for (int64_t n = 0; n < N; n++) {
        float *o = out + n * C;
        if (S == 0) {
            memset(o, 0, (size_t)C * sizeof(float));
            continue;
        }
        memcpy(o, inp + n * S * C, (size_t)C * sizeof(float));
        for (int64_t p = 1; p < S; p++) {
            const float *x = inp + (n * S + p) * C;
            for (int64_t c = 0; c < C; c++) o[c] = beats(x[c], o[c]) ? x[c] : o[c];
        }
    }
}

PTC_KERNEL(, ptc_global_maxpool_backward,
           (float *restrict dinp, const float *restrict dout, const float *restrict inp, int64_t N, int64_t S,
            int64_t C),
           (dinp, dout, inp, N, S, C)) {
    // As ptc_maxpool2d_backward with one window of S cells per sample.
    float best[PTC_POOL_CBLOCK], left[PTC_POOL_CBLOCK];
    uint32_t maxbits[PTC_POOL_CBLOCK];
    if (S == 0) return;
    for (int64_t n = 0; n < N; n++)
        for (int64_t c0 = 0; c0 < C; c0 += PTC_POOL_CBLOCK) {
            const int64_t cn = C - c0 < PTC_POOL_CBLOCK ? C - c0 : PTC_POOL_CBLOCK;
            const float *x = inp + n * S * C + c0;
            float *d = dinp + n * S * C + c0;
            for (int64_t j = 0; j < cn; j++) {
                best[j] = x[j];
                left[j] = dout[n * C + c0 + j];
            }
            for (int64_t p = 1; p < S; p++)
                for (int64_t j = 0; j < cn; j++) best[j] = beats(x[p * C + j], best[j]) ? x[p * C + j] : best[j];
            for (int64_t j = 0; j < cn; j++) maxbits[j] = ptc_bits_of(best[j]);
            for (int64_t p = 0; p < S; p++) route(d + p * C, x + p * C, maxbits, left, cn);
        }
}

// ---------------------------------------------------------------------------
// The plan's op adapters (ops.def, dispatched through ops.c's table).
// maxpool2d and avgpool2d take the same arguments (ops.def's PTC_POOL2D_IARGS), so
// the MAXPOOL2D slots serve both.
static ptc_pool2d_shape pool_shape(const ptc_op *op, int64_t N) {
    const int64_t *a = op->iarg;
    ptc_pool2d_shape s = {N,
                          a[PTC_MAXPOOL2D_H],
                          a[PTC_MAXPOOL2D_W],
                          a[PTC_MAXPOOL2D_C],
                          a[PTC_MAXPOOL2D_KH],
                          a[PTC_MAXPOOL2D_KW],
                          a[PTC_MAXPOOL2D_SH],
                          a[PTC_MAXPOOL2D_SW],
                          a[PTC_MAXPOOL2D_PT],
                          a[PTC_MAXPOOL2D_PL],
                          a[PTC_MAXPOOL2D_OH],
                          a[PTC_MAXPOOL2D_OW],
                          op->kind == PTC_OP_MAXPOOL2D ? a[PTC_MAXPOOL2D_RELU] : 0};
    return s;
}

static ptc_status pool2d_check(const ptc_plan *p, const ptc_op *op, int64_t need[PTC_MAX_PARAM]) {
    for (int k = 0; k < PTC_AVGPOOL2D_N_IARGS; k++)  // the geometry both kinds share
        if (op->iarg[k] < (k == PTC_MAXPOOL2D_PT || k == PTC_MAXPOOL2D_PL ? 0 : 1)) return PTC_ERR_OP;
    if (op->kind == PTC_OP_MAXPOOL2D && op->iarg[PTC_MAXPOOL2D_RELU] != 0 && op->iarg[PTC_MAXPOOL2D_RELU] != 1)
        return PTC_ERR_OP;
    ptc_pool2d_shape s = pool_shape(op, 1);
    if (!ptc_pool2d_shape_valid(&s)) return PTC_ERR_OP;
    if (s.H * s.W * s.C != ptc_op_in_size(p, op, 0) || s.OH * s.OW * s.C != ptc_op_out_size(p, op)) return PTC_ERR_OP;
    return PTC_OK;
}

typedef void (*pool_fwd)(float *out, const float *inp, const ptc_pool2d_shape *s);

// The pooling kernels split by sample over the pool (threads.h): samples own
// disjoint rows of out and dinp, so any split gives the same floats.
typedef struct {
    pool_fwd fwd;
    int max;  // backward: 1 max, 0 average
    float *out;
    const float *inp, *dout;
    ptc_pool2d_shape s;
} pool_job;

static void pool_part(void *ctx, int64_t lo, int64_t hi, int part) {
    const pool_job *j = ctx;
    ptc_pool2d_shape s = j->s;
    s.N = hi - lo;
    const int64_t in = lo * s.H * s.W * s.C, out = lo * s.OH * s.OW * s.C;
    if (j->fwd)
        j->fwd(j->out + out, j->inp + in, &s);
    else if (j->max)
        ptc_maxpool2d_backward(j->out + in, j->dout + out, j->inp + in, &s);
    else
        ptc_avgpool2d_backward(j->out + in, j->dout + out, &s);
}

static void pool_run(pool_job *j, int64_t N) {
    ptc_parallel_for(N, 1, N * j->s.H * j->s.W * j->s.C * (j->fwd ? 1 : 2), pool_part, j);
}

static void pool_forward(ptc_plan *p, int i, int64_t N, pool_fwd kernel) {
    const ptc_op *op = &p->ops[i];
    pool_job j = {kernel, 0, ptc_plan_act(p, op->out), ptc_plan_act(p, op->in[0]), NULL, pool_shape(op, N)};
    pool_run(&j, N);
}

static void pool_backward(ptc_plan *p, int i, int64_t N, int max) {
    const ptc_op *op = &p->ops[i];
    float *din = ptc_op_din(p, op, 0);
    if (!din) return;
    pool_job j = {NULL, max, din, ptc_plan_act(p, op->in[0]), ptc_plan_dact(p, op->out), pool_shape(op, N)};
    pool_run(&j, N);
}

void ptc_op_maxpool2d_forward(ptc_plan *p, int i, int64_t N, int training) {
    pool_forward(p, i, N, ptc_maxpool2d_forward);
}
void ptc_op_avgpool2d_forward(ptc_plan *p, int i, int64_t N, int training) {
    pool_forward(p, i, N, ptc_avgpool2d_forward);
}

void ptc_op_maxpool2d_backward(ptc_plan *p, int i, int64_t N) {
    pool_backward(p, i, N, 1);
}

void ptc_op_avgpool2d_backward(ptc_plan *p, int i, int64_t N) {
    pool_backward(p, i, N, 0);
}

// ---------------------------------------------------------------------------
// global_avgpool, global_maxpool: (S, C) -> (C,), the same slots.
static ptc_status global_pool_check(const ptc_plan *p, const ptc_op *op, int64_t need[PTC_MAX_PARAM]) {
    const int64_t S = op->iarg[PTC_GLOBAL_AVGPOOL_S], C = op->iarg[PTC_GLOBAL_AVGPOOL_C];
    if (S <= 0 || C <= 0 || S * C != ptc_op_in_size(p, op, 0) || C != ptc_op_out_size(p, op)) return PTC_ERR_OP;
    if (op->n_in > 1 && (op->kind != PTC_OP_GLOBAL_AVGPOOL || ptc_op_in_size(p, op, 1) != S))
        return PTC_ERR_OP;  // a mask (S,) per sample (mask.c)
    return PTC_OK;
}

typedef void (*global_fwd)(float *out, const float *inp, int64_t N, int64_t S, int64_t C);

static void global_forward(ptc_plan *p, int i, int64_t N, global_fwd kernel) {
    const ptc_op *op = &p->ops[i];  // the GLOBAL_AVGPOOL slots serve both kinds
    kernel(ptc_plan_act(p, op->out), ptc_plan_act(p, op->in[0]), N, op->iarg[PTC_GLOBAL_AVGPOOL_S],
           op->iarg[PTC_GLOBAL_AVGPOOL_C]);
}

void ptc_op_global_avgpool_forward(ptc_plan *p, int i, int64_t N, int training) {
    const ptc_op *op = &p->ops[i];
    if (op->n_in > 1)
        ptc_global_avgpool_masked_forward(ptc_plan_act(p, op->out), ptc_plan_act(p, op->in[0]),
                                          ptc_plan_act(p, op->in[1]), N, op->iarg[PTC_GLOBAL_AVGPOOL_S],
                                          op->iarg[PTC_GLOBAL_AVGPOOL_C]);
    else
        global_forward(p, i, N, ptc_global_avgpool_forward);
}
void ptc_op_global_maxpool_forward(ptc_plan *p, int i, int64_t N, int training) {
    global_forward(p, i, N, ptc_global_maxpool_forward);
}

void ptc_op_global_avgpool_backward(ptc_plan *p, int i, int64_t N) {
    const ptc_op *op = &p->ops[i];
    float *din = ptc_op_din(p, op, 0);
    if (din && op->n_in > 1)
        ptc_global_avgpool_masked_backward(din, ptc_plan_dact(p, op->out), ptc_plan_act(p, op->in[1]), N,
                                           op->iarg[PTC_GLOBAL_AVGPOOL_S], op->iarg[PTC_GLOBAL_AVGPOOL_C]);
    else if (din)
        ptc_global_avgpool_backward(din, ptc_plan_dact(p, op->out), N, op->iarg[PTC_GLOBAL_AVGPOOL_S],
                                    op->iarg[PTC_GLOBAL_AVGPOOL_C]);
}

void ptc_op_global_maxpool_backward(ptc_plan *p, int i, int64_t N) {
    const ptc_op *op = &p->ops[i];
    float *din = ptc_op_din(p, op, 0);
    if (din)
        ptc_global_maxpool_backward(din, ptc_plan_dact(p, op->out), ptc_plan_act(p, op->in[0]), N,
                                    op->iarg[PTC_GLOBAL_MAXPOOL_S], op->iarg[PTC_GLOBAL_MAXPOOL_C]);
}

PTC_OP_CHECK_AS(maxpool2d, pool2d_check)
PTC_OP_CHECK_AS(avgpool2d, pool2d_check)
PTC_OP_CHECK_AS(global_avgpool, global_pool_check)
PTC_OP_CHECK_AS(global_maxpool, global_pool_check)
PTC_OP_NO_SCRATCH(maxpool2d)
PTC_OP_NO_SCRATCH(avgpool2d)
PTC_OP_NO_SCRATCH(global_avgpool)
PTC_OP_NO_SCRATCH(global_maxpool)
