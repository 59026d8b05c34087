// Conv2D, channels_last, as im2col + one sgemm per chunk of samples.
//
// NHWC makes im2col cheap: for an output pixel, one kernel row's KW*C inputs
// are contiguous in memory (when unit dilation keeps them adjacent and the
// window lies inside the image), and the im2col row laid out (KH, KW, C)
// matches the (KH, KW, C, F) kernel Keras stores, so the kernel is used as a
// (K, F) matrix, K = KH*KW*C, without any transpose:
//   out (rows, F) = col (rows, K) @ weight (K, F) + bias, rows = N*OH*OW.
// Each col row carries a trailing 1 (row stride K + 1), so the bias is one more
// row of the kernel matrix and its gradient one more row of dweight: bias and
// dbias then cost no pass of their own over the (rows, F) output, which
// for a small-C first layer is as large as col itself.
// Backward reuses the same workspace: col for [dweight; dbias] += col^T @ dout,
// then dcol = dout @ weight^T overwrites it and col2im (the adjoint of im2col)
// adds it into dinp.
#include <limits.h>
#include <string.h>

#include "blas.h"
#include "isa.h"
#include "kernels2d.h"
#include "ops.h"
#include "reduce.h"
#include "threads.h"

// a * b without overflow into *r; 0 if it would overflow (a, b >= 0).
static int mul_ok(int64_t a, int64_t b, int64_t *r) {
    if (a != 0 && b > INT64_MAX / a) return 0;
    *r = a * b;
    return 1;
}

int ptc_conv2d_shape_valid(const ptc_conv2d_shape *s) {
    if (s->N < 0 || s->H < 0 || s->W < 0 || s->C < 0 || s->F < 0 || s->OH < 0 || s->OW < 0) return 0;
    if (s->KH < 1 || s->KW < 1 || s->SH < 1 || s->SW < 1 || s->DH < 1 || s->DW < 1) return 0;
    if (s->PT < 0 || s->PL < 0) return 0;
    int64_t a, b, k, ohw;
    // Buffers must be addressable and sgemm's int sizes must hold: K + 1, F, OH*OW
    // (a chunk's rows are at most max(OH*OW, PTC_CONV_WORK_FLOATS / (K + 1))).
    if (!mul_ok(s->N, s->H, &a) || !mul_ok(a, s->W, &a) || !mul_ok(a, s->C, &a)) return 0;
    if (!mul_ok(s->N, s->OH, &b) || !mul_ok(b, s->OW, &b) || !mul_ok(b, s->F, &b)) return 0;
    if (!mul_ok(s->KH, s->KW, &k) || !mul_ok(k, s->C, &k) || k >= INT_MAX || !mul_ok(k + 1, s->F, &a)) return 0;
    if (!mul_ok(s->OH, s->OW, &ohw) || !mul_ok(ohw, k + 1, &a)) return 0;
    if (!mul_ok(s->H, s->W, &a) || a > INT_MAX || s->F > INT_MAX || ohw > INT_MAX) return 0;
    // Window offsets (o - 1) * stride + (k - 1) * dilation must not overflow either.
    if (s->OH > 0 && (!mul_ok(s->OH, s->SH, &a) || !mul_ok(s->KH, s->DH, &b) || a > INT64_MAX / 4 - b)) return 0;
    if (s->OW > 0 && (!mul_ok(s->OW, s->SW, &a) || !mul_ok(s->KW, s->DW, &b) || a > INT64_MAX / 4 - b)) return 0;
    return 1;
}

// A 1x1, stride-1, unpadded conv whose output covers the input is a dense
// layer over the N*H*W pixels: inp is already the im2col matrix.
static int is_pointwise(const ptc_conv2d_shape *s) {
    return s->KH == 1 && s->KW == 1 && s->SH == 1 && s->SW == 1 && s->PT == 0 && s->PL == 0 && s->OH == s->H &&
           s->OW == s->W;
}

int64_t ptc_conv2d_chunk(const ptc_conv2d_shape *s) {
    if (is_pointwise(s)) {  // no im2col; only sgemm's int row count bounds the chunk
        int64_t hw = s->H * s->W > 0 ? s->H * s->W : 1;
        int64_t n = INT_MAX / hw;
        return s->N < n ? s->N : n;
    }
    int64_t per_sample = s->OH * s->OW * (s->KH * s->KW * s->C + 1);  // im2col floats per sample
    if (per_sample == 0) return s->N;
    int64_t n = PTC_CONV_WORK_FLOATS / per_sample;
    if (n < 1) n = 1;
    return s->N < n ? s->N : n;
}

int64_t ptc_conv2d_workspace(const ptc_conv2d_shape *s) {
    if (is_pointwise(s)) return 0;
    const int64_t K1 = s->KH * s->KW * s->C + 1;
    return ptc_conv2d_chunk(s) * s->OH * s->OW * K1 + K1 * s->F;  // col, then [weight; bias]
}

// Runs of a kernel row are short for small-C layers (9 floats for 3x3 RGB), where
// a memcpy call or a vectorized loop with a remainder costs more than the copy:
// copy 4-float blocks, the last one overlapping the previous (harmless for a copy).
static inline void copy_floats(float *restrict dst, const float *restrict src, int64_t n) {
    if (n < 4) {
        for (int64_t i = 0; i < n; i++) dst[i] = src[i];
        return;
    }
    if (n > 64) {
        memcpy(dst, src, (size_t)n * sizeof(float));
        return;
    }
    int64_t i = 0;
    for (; i + 4 <= n; i += 4) memcpy(dst + i, src + i, 4 * sizeof(float));
    if (i < n) memcpy(dst + n - 4, src + n - 4, 4 * sizeof(float));
}

static inline void zero_floats(float *dst, int64_t n) {
    memset(dst, 0, (size_t)n * sizeof(float));
}

// dst += src over n floats, in 4-float blocks and a scalar tail.
static inline void add_floats(float *restrict dst, const float *restrict src, int64_t n) {
    int64_t i = 0;
    for (; i + 4 <= n; i += 4) {
        dst[i] += src[i];
        dst[i + 1] += src[i + 1];
        dst[i + 2] += src[i + 2];
        dst[i + 3] += src[i + 3];
    }
    for (; i < n; i++) dst[i] += src[i];
}

// Output columns [*lo, *hi) whose window lies inside the image with its KW*C
// inputs contiguous (unit dilation): the run is one copy, no bounds checks.
static void interior_cols(const ptc_conv2d_shape *s, int64_t *lo, int64_t *hi) {
    *lo = *hi = 0;
    if (s->DW != 1 || s->W - s->KW + s->PL < 0) return;
    *lo = (s->PL + s->SW - 1) / s->SW;               // first ow with ow*SW - PL >= 0
    int64_t h = (s->W - s->KW + s->PL) / s->SW + 1;  // past the last ow with ow*SW - PL + KW <= W
    *hi = h < s->OW ? h : s->OW;
    if (*lo > *hi) *lo = *hi;
}

// col (nb*OH*OW, K + 1) <- patches of inp (nb, H, W, C), zeros where padded,
// and a 1 in the last column (the bias's input); KWC == KW * C. The loops run
// kernel row by kernel row over one output row, so the per-row work (ih,
// bounds) leaves the inner loop; the shape is read into locals because the
// copies' stores could otherwise alias *s.
static PTC_ALWAYS_INLINE void im2col_body(float *col, const float *inp, int64_t nb, const ptc_conv2d_shape *s,
                                          const int64_t KWC) {
    const int64_t H = s->H, W = s->W, C = s->C, KH = s->KH, KW = s->KW, K = s->KH * KWC, LD = K + 1;
    const int64_t OH = s->OH, OW = s->OW, SH = s->SH, SW = s->SW, DH = s->DH, DW = s->DW;
    const int64_t PT = s->PT, PL = s->PL;
    int64_t lo, hi;
    interior_cols(s, &lo, &hi);
    for (int64_t n = 0; n < nb; n++)
        for (int64_t oh = 0; oh < OH; oh++) {
            float *orow = col + (n * OH + oh) * OW * LD;  // (OW, K + 1)
            for (int64_t ow = 0; ow < OW; ow++) orow[ow * LD + K] = 1.0f;
            for (int64_t kh = 0; kh < KH; kh++) {
                const int64_t ih = oh * SH - PT + kh * DH;
                float *dst = orow + kh * KWC;
                if (ih < 0 || ih >= H) {
                    for (int64_t ow = 0; ow < OW; ow++) zero_floats(dst + ow * LD, KWC);
                    continue;
                }
                const float *row = inp + ((n * H + ih) * W) * C;  // (W, C)
                for (int64_t ow = lo; ow < hi; ow++) copy_floats(dst + ow * LD, row + (ow * SW - PL) * C, KWC);
                for (int64_t ow = 0; ow < OW; ow++) {
                    if (ow == lo) ow = hi;  // the interior is done
                    if (ow >= OW) break;
                    for (int64_t kw = 0; kw < KW; kw++) {
                        const int64_t iw = ow * SW - PL + kw * DW;
                        float *d = dst + ow * LD + kw * C;
                        if (iw >= 0 && iw < W)
                            copy_floats(d, row + iw * C, C);
                        else
                            zero_floats(d, C);
                    }
                }
            }
        }
}

// A copy whose length is a compile-time constant is a few moves instead of a
// loop, which matters for the short kernel rows of small-C layers (3x3 over
// RGB: 9 floats); other lengths take the generic copy.
PTC_KERNEL(static, im2col, (float *col, const float *inp, int64_t nb, const ptc_conv2d_shape *s), (col, inp, nb, s)) {
    switch (s->KW * s->C) {
        case 3:
            im2col_body(col, inp, nb, s, 3);
            break;  // 3 wide over one channel
        case 9:
            im2col_body(col, inp, nb, s, 9);
            break;  // 3 wide over RGB
        case 15:
            im2col_body(col, inp, nb, s, 15);
            break;  // 5 wide over RGB
        default:
            im2col_body(col, inp, nb, s, s->KW * s->C);
    }
}

// dinp (nb, H, W, C) += the adjoint of im2col applied to dcol (nb*OH*OW, K + 1),
// whose last column is ignored.
// Pixel by pixel (unlike im2col): consecutive adds then land in different input
// rows, where a kernel-row-major order would re-add the floats just stored by
// the previous, overlapping window and stall on store forwarding.
static PTC_ALWAYS_INLINE void col2im_body(float *dinp, const float *dcol, int64_t nb, const ptc_conv2d_shape *s,
                                          const int64_t KWC) {
    const int64_t H = s->H, W = s->W, C = s->C, KH = s->KH, KW = s->KW;
    const int64_t OH = s->OH, OW = s->OW, SH = s->SH, SW = s->SW, DH = s->DH, DW = s->DW;
    const int64_t PT = s->PT, PL = s->PL;
    int64_t lo, hi;
    interior_cols(s, &lo, &hi);
    const float *src = dcol;
    for (int64_t n = 0; n < nb; n++)
        for (int64_t oh = 0; oh < OH; oh++)
            for (int64_t ow = 0; ow < OW; ow++, src++) {  // src++: skip the bias column
                const int64_t iw0 = ow * SW - PL;
                const int interior = ow >= lo && ow < hi;
                for (int64_t kh = 0; kh < KH; kh++, src += KWC) {
                    const int64_t ih = oh * SH - PT + kh * DH;
                    if (ih < 0 || ih >= H) continue;
                    float *row = dinp + ((n * H + ih) * W) * C;  // (W, C)
                    if (interior) {
                        add_floats(row + iw0 * C, src, KWC);
                        continue;
                    }
                    for (int64_t kw = 0; kw < KW; kw++) {
                        const int64_t iw = iw0 + kw * DW;
                        if (iw >= 0 && iw < W) add_floats(row + iw * C, src + kw * C, C);
                    }
                }
            }
}

PTC_KERNEL(static, col2im, (float *dinp, const float *dcol, int64_t nb, const ptc_conv2d_shape *s),
           (dinp, dcol, nb, s)) {
    switch (s->KW * s->C) {  // as im2col
        case 3:
            col2im_body(dinp, dcol, nb, s, 3);
            break;
        case 9:
            col2im_body(dinp, dcol, nb, s, 9);
            break;
        case 15:
            col2im_body(dinp, dcol, nb, s, 15);
            break;
        default:
            col2im_body(dinp, dcol, nb, s, s->KW * s->C);
    }
}

// im2col and col2im split by sample over the pool (threads.h): samples own disjoint
// rows of col and of dinp, so any split gives the same floats.
typedef struct {
    float *dst;
    const float *src;
    const ptc_conv2d_shape *s;
    int backward;
} col_job;

static void col_part(void *ctx, int64_t lo, int64_t hi, int part) {
    const col_job *c = ctx;
    const int64_t col_rows = c->s->OH * c->s->OW * (c->s->KH * c->s->KW * c->s->C + 1),
                  img = c->s->H * c->s->W * c->s->C;
    if (c->backward)
        col2im(c->dst + lo * img, c->src + lo * col_rows, hi - lo, c->s);
    else
        im2col(c->dst + lo * col_rows, c->src + lo * img, hi - lo, c->s);
}

static void cols_parallel(float *dst, const float *src, int64_t nb, const ptc_conv2d_shape *s, int backward) {
    col_job c = {dst, src, s, backward};
    ptc_parallel_for(nb, 1, nb * s->OH * s->OW * (s->KH * s->KW * s->C + 1), col_part, &c);
}

void ptc_conv2d_forward(float *out, const float *inp, const float *weight, const float *bias, const ptc_conv2d_shape *s,
                        float *work) {
    // out (N*OH*OW, F), inp (N, H, W, C), weight (K, F), bias (F,),
    // work: col (chunk*OH*OW, K + 1), then [weight; bias] (K + 1, F)
    const int64_t K = s->KH * s->KW * s->C, F = s->F, P = s->OH * s->OW, HWC = s->H * s->W * s->C;
    const int64_t chunk = ptc_conv2d_chunk(s);
    if (chunk <= 0 || F == 0) return;
    if (is_pointwise(s)) {
        for (int64_t n0 = 0; n0 < s->N; n0 += chunk) {
            const int64_t rows = (s->N - n0 < chunk ? s->N - n0 : chunk) * P;
            float *o = out + n0 * P * F;  // (rows, F)
            float beta = 0.0f;
            if (bias) {  // start from the broadcast bias and let sgemm accumulate onto it
                ptc_parallel_broadcast(o, bias, rows, F, F);
                beta = 1.0f;
            }
            ptc_blas_sgemm(0, 0, (int)rows, (int)F, (int)K, 1.0f, inp + n0 * HWC, (int)K, weight, (int)F, beta, o,
                           (int)F);
        }
        return;
    }
    const int64_t LD = K + 1;
    float *wb = work + chunk * P * LD;  // (K + 1, F)
    const float *wmat = weight;
    int64_t kk = K;
    if (bias) {
        memcpy(wb, weight, (size_t)(K * F) * sizeof(float));
        memcpy(wb + K * F, bias, (size_t)F * sizeof(float));
        wmat = wb;
        kk = K + 1;
    }
    for (int64_t n0 = 0; n0 < s->N; n0 += chunk) {
        const int64_t nb = s->N - n0 < chunk ? s->N - n0 : chunk, rows = nb * P;
        cols_parallel(work, inp + n0 * HWC, nb, s, 0);
        ptc_blas_sgemm(0, 0, (int)rows, (int)F, (int)kk, 1.0f, work, (int)LD, wmat, (int)F, 0.0f, out + n0 * P * F,
                       (int)F);
    }
}

// cols_kept: work still holds the col of this batch's forward (its one chunk), which backward
// then uses rather than build again; the plan's op passes it (its forward ran just before,
// into its own scratch, which nothing else writes).
static void conv2d_backward(float *dinp, float *dweight, float *dbias, const float *dout, const float *inp,
                            const float *weight, const ptc_conv2d_shape *s, float *work, int cols_kept) {
    // dinp (N, H, W, C), dweight (K, F), dbias (F,), dout (N*OH*OW, F),
    // work: col / dcol (chunk*OH*OW, K + 1), then [dweight; dbias] of this call (K + 1, F)
    const int64_t K = s->KH * s->KW * s->C, F = s->F, P = s->OH * s->OW, HWC = s->H * s->W * s->C;
    const int64_t chunk = ptc_conv2d_chunk(s);
    if (chunk <= 0 || F == 0) return;
    if (is_pointwise(s)) {
        for (int64_t n0 = 0; n0 < s->N; n0 += chunk) {
            const int64_t rows = (s->N - n0 < chunk ? s->N - n0 : chunk) * P;
            const float *g = dout + n0 * P * F, *x = inp + n0 * HWC;  // (rows, F), (rows, C)
            ptc_blas_sgemm(1, 0, (int)K, (int)F, (int)rows, 1.0f, x, (int)K, g, (int)F, 1.0f, dweight, (int)F);
            if (dinp)
                ptc_blas_sgemm(0, 1, (int)rows, (int)K, (int)F, 1.0f, g, (int)F, weight, (int)F, 1.0f, dinp + n0 * HWC,
                               (int)K);
        }
        if (dbias) ptc_sum_rows(dbias, dout, s->N * P, F, F, 1);
        return;
    }
    const int64_t LD = K + 1;            // the dbias row is computed even when unwanted: a free extra row of sgemm
    float *dwb = work + chunk * P * LD;  // (K + 1, F)
    for (int64_t n0 = 0; n0 < s->N; n0 += chunk) {
        const int64_t nb = s->N - n0 < chunk ? s->N - n0 : chunk, rows = nb * P;
        const float *g = dout + n0 * P * F;  // (rows, F)
        if (!(cols_kept && nb == s->N)) cols_parallel(work, inp + n0 * HWC, nb, s, 0);
        ptc_blas_sgemm(1, 0, (int)LD, (int)F, (int)rows, 1.0f, work, (int)LD, g, (int)F, n0 == 0 ? 0.0f : 1.0f, dwb,
                       (int)F);
        if (dinp && K > 0) {
            ptc_blas_sgemm(0, 1, (int)rows, (int)K, (int)F, 1.0f, g, (int)F, weight, (int)F, 0.0f, work, (int)LD);
            cols_parallel(dinp + n0 * HWC, work, nb, s, 1);
        }
    }
    for (int64_t i = 0; i < K * F; i++) dweight[i] += dwb[i];
    if (dbias)
        for (int64_t f = 0; f < F; f++) dbias[f] += dwb[K * F + f];
}

void ptc_conv2d_backward(float *dinp, float *dweight, float *dbias, const float *dout, const float *inp,
                         const float *weight, const ptc_conv2d_shape *s, float *work) {
    conv2d_backward(dinp, dweight, dbias, dout, inp, weight, s, work, 0);
}

// ---------------------------------------------------------------------------
// Naive references: the convolution sum written out, one output at a time.

void ptc_conv2d_forward_ref(float *out, const float *inp, const float *weight, const float *bias,
                            const ptc_conv2d_shape *s) {
    const int64_t H = s->H, W = s->W, C = s->C, F = s->F;
    for (int64_t n = 0; n < s->N; n++)
        for (int64_t oh = 0; oh < s->OH; oh++)
            for (int64_t ow = 0; ow < s->OW; ow++)
                for (int64_t f = 0; f < F; f++) {
                    double acc = bias ? bias[f] : 0.0;
                    for (int64_t kh = 0; kh < s->KH; kh++) {
                        const int64_t ih = oh * s->SH - s->PT + kh * s->DH;
                        if (ih < 0 || ih >= H) continue;
                        for (int64_t kw = 0; kw < s->KW; kw++) {
                            const int64_t iw = ow * s->SW - s->PL + kw * s->DW;
                            if (iw < 0 || iw >= W) continue;
                            for (int64_t c = 0; c < C; c++)
                                acc += (double)inp[((n * H + ih) * W + iw) * C + c] *
                                       weight[((kh * s->KW + kw) * C + c) * F + f];
                        }
                    }
                    out[((n * s->OH + oh) * s->OW + ow) * F + f] = (float)acc;
                }
}

void ptc_conv2d_backward_ref(float *dinp, float *dweight, float *dbias, const float *dout, const float *inp,
                             const float *weight, const ptc_conv2d_shape *s) {
    const int64_t H = s->H, W = s->W, C = s->C, F = s->F;
    // dweight[kh, kw, c, f] = sum over n, oh, ow of inp[n, ih, iw, c] * dout[n, oh, ow, f]
    for (int64_t kh = 0; kh < s->KH; kh++)
        for (int64_t kw = 0; kw < s->KW; kw++)
            for (int64_t c = 0; c < C; c++)
                for (int64_t f = 0; f < F; f++) {
                    double acc = 0.0;
                    for (int64_t n = 0; n < s->N; n++)
                        for (int64_t oh = 0; oh < s->OH; oh++) {
                            const int64_t ih = oh * s->SH - s->PT + kh * s->DH;
                            if (ih < 0 || ih >= H) continue;
                            for (int64_t ow = 0; ow < s->OW; ow++) {
                                const int64_t iw = ow * s->SW - s->PL + kw * s->DW;
                                if (iw < 0 || iw >= W) continue;
                                acc += (double)inp[((n * H + ih) * W + iw) * C + c] *
                                       dout[((n * s->OH + oh) * s->OW + ow) * F + f];
                            }
                        }
                    dweight[((kh * s->KW + kw) * C + c) * F + f] += (float)acc;
                }
    // dinp[n, ih, iw, c] = sum over the (oh, ow, kh, kw) that read it of dout * weight
    if (dinp)
        for (int64_t n = 0; n < s->N; n++)
            for (int64_t ih = 0; ih < H; ih++)
                for (int64_t iw = 0; iw < W; iw++)
                    for (int64_t c = 0; c < C; c++) {
                        double acc = 0.0;
                        for (int64_t kh = 0; kh < s->KH; kh++) {
                            const int64_t th = ih + s->PT - kh * s->DH;  // = oh * SH
                            if (th < 0 || th % s->SH != 0 || th / s->SH >= s->OH) continue;
                            const int64_t oh = th / s->SH;
                            for (int64_t kw = 0; kw < s->KW; kw++) {
                                const int64_t tw = iw + s->PL - kw * s->DW;
                                if (tw < 0 || tw % s->SW != 0 || tw / s->SW >= s->OW) continue;
                                const int64_t ow = tw / s->SW;
                                for (int64_t f = 0; f < F; f++)
                                    acc += (double)dout[((n * s->OH + oh) * s->OW + ow) * F + f] *
                                           weight[((kh * s->KW + kw) * C + c) * F + f];
                            }
                        }
                        dinp[((n * H + ih) * W + iw) * C + c] += (float)acc;
                    }
    if (dbias)
        for (int64_t f = 0; f < F; f++) {
            double acc = 0.0;
            for (int64_t r = 0; r < s->N * s->OH * s->OW; r++) acc += dout[r * F + f];
            dbias[f] += (float)acc;
        }
}

// ---------------------------------------------------------------------------
// The plan's op adapters (ops.def, dispatched through ops.c's table).
static ptc_conv2d_shape conv_shape(const ptc_op *op, int64_t N) {
    const int64_t *a = op->iarg;
    ptc_conv2d_shape s = {N,
                          a[PTC_CONV2D_H],
                          a[PTC_CONV2D_W],
                          a[PTC_CONV2D_C],
                          a[PTC_CONV2D_KH],
                          a[PTC_CONV2D_KW],
                          a[PTC_CONV2D_F],
                          a[PTC_CONV2D_SH],
                          a[PTC_CONV2D_SW],
                          a[PTC_CONV2D_DH],
                          a[PTC_CONV2D_DW],
                          a[PTC_CONV2D_PT],
                          a[PTC_CONV2D_PL],
                          a[PTC_CONV2D_OH],
                          a[PTC_CONV2D_OW]};
    return s;
}

ptc_status ptc_op_conv2d_check(const ptc_plan *p, const ptc_op *op, int64_t need[PTC_MAX_PARAM]) {
    const int64_t *a = op->iarg;
    for (int k = 0; k < PTC_CONV2D_N_IARGS; k++)
        if (a[k] < (k == PTC_CONV2D_PT || k == PTC_CONV2D_PL ? 0 : 1)) return PTC_ERR_OP;
    ptc_conv2d_shape s = conv_shape(op, p->max_batch > 0 ? p->max_batch : 1);
    if (!ptc_conv2d_shape_valid(&s)) return PTC_ERR_OP;
    if (s.H * s.W * s.C != ptc_op_in_size(p, op, 0) || s.OH * s.OW * s.F != ptc_op_out_size(p, op) ||
        op->param[PTC_CONV2D_KERNEL] < 0)
        return PTC_ERR_OP;
    need[PTC_CONV2D_KERNEL] = s.KH * s.KW * s.C * s.F;
    need[PTC_CONV2D_BIAS] = s.F;
    return PTC_OK;
}

int64_t ptc_op_conv2d_scratch(const ptc_plan *p, const ptc_op *op, int64_t N) {
    ptc_conv2d_shape s = conv_shape(op, N);
    return ptc_conv2d_shape_valid(&s) ? ptc_conv2d_workspace(&s) : -1;
}

void ptc_op_conv2d_forward(ptc_plan *p, int i, int64_t N, int training) {
    const ptc_op *op = &p->ops[i];
    ptc_conv2d_shape s = conv_shape(op, N);
    ptc_conv2d_forward(ptc_plan_act(p, op->out), ptc_plan_act(p, op->in[0]), ptc_plan_param(p, op, PTC_CONV2D_KERNEL),
                       ptc_plan_param(p, op, PTC_CONV2D_BIAS), &s, ptc_plan_scratch(p, i));
}

void ptc_op_conv2d_backward(ptc_plan *p, int i, int64_t N) {
    const ptc_op *op = &p->ops[i];
    ptc_conv2d_shape s = conv_shape(op, N);
    conv2d_backward(ptc_op_din(p, op, 0), ptc_plan_grad(p, op, PTC_CONV2D_KERNEL),
                    ptc_plan_grad(p, op, PTC_CONV2D_BIAS), ptc_plan_dact(p, op->out), ptc_plan_act(p, op->in[0]),
                    ptc_plan_param(p, op, PTC_CONV2D_KERNEL), &s, ptc_plan_scratch(p, i), 1);
}

// im2col and its adjoint for the other convolution families (conv_transpose.c, conv_grouped.c).
void ptc_conv2d_im2col(float *col, const float *inp, int64_t nb, const ptc_conv2d_shape *s) {
    cols_parallel(col, inp, nb, s, 0);
}

void ptc_conv2d_col2im(float *dinp, const float *col, int64_t nb, const ptc_conv2d_shape *s) {
    cols_parallel(dinp, col, nb, s, 1);
}
