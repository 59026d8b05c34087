// Resampling ops over channels_last images (N, H, W, C): UpSampling1D/2D (nearest
// and bilinear) and ZeroPadding1D/2D / Cropping1D/2D (one shifted copy with zeros).
// The 1-D layers are the H = 1 case. Each output pixel is a run of C floats, so
// every kernel copies or blends whole channel runs.
#include <string.h>

#include "ops.h"

// Bilinear weights of one output coordinate, as torch's interpolate(mode="bilinear",
// align_corners=False) and so Keras 3's image.resize: half-pixel centres, the source
// clamped at 0 and the far neighbour at the last row.
static void bilinear_taps(int64_t o, int64_t scale, int64_t in, int64_t *i0, int64_t *i1, float *l0, float *l1) {
    float src = ((float)o + 0.5f) * (1.0f / (float)scale) - 0.5f;
    if (src < 0.0f) src = 0.0f;
    *i0 = (int64_t)src;
    if (*i0 > in - 1) *i0 = in - 1;
    *i1 = *i0 + (*i0 < in - 1);
    *l1 = src - (float)*i0;
    *l0 = 1.0f - *l1;
}

// out (N, H*SH, W*SW, C) from inp (N, H, W, C); bilinear != 0 blends the four neighbours.
void ptc_upsample2d_forward(float *out, const float *inp, int64_t N, int64_t H, int64_t W, int64_t C, int64_t SH,
                            int64_t SW, int bilinear) {
    const int64_t OH = H * SH, OW = W * SW;
    for (int64_t n = 0; n < N; n++)
        for (int64_t oh = 0; oh < OH; oh++)
            for (int64_t ow = 0; ow < OW; ow++) {
                float *o = out + ((n * OH + oh) * OW + ow) * C;
                if (!bilinear) {
                    memcpy(o, inp + ((n * H + oh / SH) * W + ow / SW) * C, (size_t)C * sizeof(float));
                    continue;
                }
                int64_t h0, h1, w0, w1;
                float a0, a1, b0, b1;
                bilinear_taps(oh, SH, H, &h0, &h1, &a0, &a1);
                bilinear_taps(ow, SW, W, &w0, &w1, &b0, &b1);
                const float *p00 = inp + ((n * H + h0) * W + w0) * C, *p01 = inp + ((n * H + h0) * W + w1) * C;
                const float *p10 = inp + ((n * H + h1) * W + w0) * C, *p11 = inp + ((n * H + h1) * W + w1) * C;
                for (int64_t c = 0; c < C; c++)
                    o[c] = a0 * (b0 * p00[c] + b1 * p01[c]) + a1 * (b0 * p10[c] + b1 * p11[c]);
            }
}

// Accumulates dinp (N, H, W, C) from dout (N, H*SH, W*SW, C): the adjoint of the forward.
void ptc_upsample2d_backward(float *dinp, const float *dout, int64_t N, int64_t H, int64_t W, int64_t C, int64_t SH,
                             int64_t SW, int bilinear) {
    const int64_t OH = H * SH, OW = W * SW;
    for (int64_t n = 0; n < N; n++)
        for (int64_t oh = 0; oh < OH; oh++)
            for (int64_t ow = 0; ow < OW; ow++) {
                const float *g = dout + ((n * OH + oh) * OW + ow) * C;
                if (!bilinear) {
                    float *d = dinp + ((n * H + oh / SH) * W + ow / SW) * C;
                    for (int64_t c = 0; c < C; c++) d[c] += g[c];
                    continue;
                }
                int64_t h0, h1, w0, w1;
                float a0, a1, b0, b1;
                bilinear_taps(oh, SH, H, &h0, &h1, &a0, &a1);
                bilinear_taps(ow, SW, W, &w0, &w1, &b0, &b1);
                float *d00 = dinp + ((n * H + h0) * W + w0) * C, *d01 = dinp + ((n * H + h0) * W + w1) * C;
                float *d10 = dinp + ((n * H + h1) * W + w0) * C, *d11 = dinp + ((n * H + h1) * W + w1) * C;
                for (int64_t c = 0; c < C; c++) {
                    d00[c] += a0 * b0 * g[c];
                    d01[c] += a0 * b1 * g[c];
                    d10[c] += a1 * b0 * g[c];
                    d11[c] += a1 * b1 * g[c];
                }
            }
}

// out (N, OH, OW, C)[oh, ow] = inp (N, H, W, C)[oh - PT, ow - PL], 0 outside: padding for
// PT, PL >= 0, cropping for negative ones.
void ptc_pad2d_forward(float *out, const float *inp, int64_t N, int64_t H, int64_t W, int64_t C, int64_t OH, int64_t OW,
                       int64_t PT, int64_t PL) {
    for (int64_t n = 0; n < N; n++)
        for (int64_t oh = 0; oh < OH; oh++) {
            float *o = out + (n * OH + oh) * OW * C;
            const int64_t ih = oh - PT;
            if (ih < 0 || ih >= H) {
                memset(o, 0, (size_t)(OW * C) * sizeof(float));
                continue;
            }
            for (int64_t ow = 0; ow < OW; ow++) {
                const int64_t iw = ow - PL;
                if (iw < 0 || iw >= W)
                    memset(o + ow * C, 0, (size_t)C * sizeof(float));
                else
                    memcpy(o + ow * C, inp + ((n * H + ih) * W + iw) * C, (size_t)C * sizeof(float));
            }
        }
}

void ptc_pad2d_backward(float *dinp, const float *dout, int64_t N, int64_t H, int64_t W, int64_t C, int64_t OH,
                        int64_t OW, int64_t PT, int64_t PL) {
    for (int64_t n = 0; n < N; n++)
        for (int64_t ih = 0; ih < H; ih++) {
            const int64_t oh = ih + PT;
            if (oh < 0 || oh >= OH) continue;
            for (int64_t iw = 0; iw < W; iw++) {
                const int64_t ow = iw + PL;
                if (ow < 0 || ow >= OW) continue;
                float *d = dinp + ((n * H + ih) * W + iw) * C;
                const float *g = dout + ((n * OH + oh) * OW + ow) * C;
                for (int64_t c = 0; c < C; c++) d[c] += g[c];
            }
        }
}

// ---------------------------------------------------------------------------
// The plan's op adapters (ops.def, dispatched through ops.c's table).
ptc_status ptc_op_upsample2d_check(const ptc_plan *p, const ptc_op *op, int64_t need[PTC_MAX_PARAM]) {
    (void)need;
    const int64_t *a = op->iarg;
    int64_t in, out;
    for (int k = 0; k < PTC_UPSAMPLE2D_N_IARGS; k++)
        if (a[k] < (k == PTC_UPSAMPLE2D_BILINEAR ? 0 : 1)) return PTC_ERR_OP;
    if (a[PTC_UPSAMPLE2D_BILINEAR] > 1 || !ptc_mul_ok(a[PTC_UPSAMPLE2D_H], a[PTC_UPSAMPLE2D_W], &in) ||
        !ptc_mul_ok(in, a[PTC_UPSAMPLE2D_C], &in) || !ptc_mul_ok(in, a[PTC_UPSAMPLE2D_SH], &out) ||
        !ptc_mul_ok(out, a[PTC_UPSAMPLE2D_SW], &out) || in != ptc_op_in_size(p, op, 0) || out != ptc_op_out_size(p, op))
        return PTC_ERR_OP;
    return PTC_OK;
}

PTC_OP_NO_SCRATCH(upsample2d)

void ptc_op_upsample2d_forward(ptc_plan *p, int i, int64_t N, int training) {
    (void)training;
    const ptc_op *op = &p->ops[i];
    const int64_t *a = op->iarg;
    ptc_upsample2d_forward(ptc_plan_act(p, op->out), ptc_plan_act(p, op->in[0]), N, a[PTC_UPSAMPLE2D_H],
                           a[PTC_UPSAMPLE2D_W], a[PTC_UPSAMPLE2D_C], a[PTC_UPSAMPLE2D_SH], a[PTC_UPSAMPLE2D_SW],
                           (int)a[PTC_UPSAMPLE2D_BILINEAR]);
}

void ptc_op_upsample2d_backward(ptc_plan *p, int i, int64_t N) {
    const ptc_op *op = &p->ops[i];
    const int64_t *a = op->iarg;
    float *din = ptc_op_din(p, op, 0);
    if (din)
        ptc_upsample2d_backward(din, ptc_plan_dact(p, op->out), N, a[PTC_UPSAMPLE2D_H], a[PTC_UPSAMPLE2D_W],
                                a[PTC_UPSAMPLE2D_C], a[PTC_UPSAMPLE2D_SH], a[PTC_UPSAMPLE2D_SW],
                                (int)a[PTC_UPSAMPLE2D_BILINEAR]);
}

ptc_status ptc_op_pad2d_check(const ptc_plan *p, const ptc_op *op, int64_t need[PTC_MAX_PARAM]) {
    (void)need;
    const int64_t *a = op->iarg;
    int64_t in, out;
    const int64_t H = a[PTC_PAD2D_H], W = a[PTC_PAD2D_W], OH = a[PTC_PAD2D_OH], OW = a[PTC_PAD2D_OW];
    const int64_t PT = a[PTC_PAD2D_PT], PL = a[PTC_PAD2D_PL];
    if (H < 1 || W < 1 || a[PTC_PAD2D_C] < 1 || OH < 1 || OW < 1) return PTC_ERR_OP;
    // Shifts within (-H, OH) and (-W, OW): at least one pixel of the input lands in the output.
    if (PT <= -H || PT >= OH || PL <= -W || PL >= OW) return PTC_ERR_OP;
    if (!ptc_mul_ok(H, W, &in) || !ptc_mul_ok(in, a[PTC_PAD2D_C], &in) || !ptc_mul_ok(OH, OW, &out) ||
        !ptc_mul_ok(out, a[PTC_PAD2D_C], &out) || in != ptc_op_in_size(p, op, 0) || out != ptc_op_out_size(p, op))
        return PTC_ERR_OP;
    return PTC_OK;
}

PTC_OP_NO_SCRATCH(pad2d)

void ptc_op_pad2d_forward(ptc_plan *p, int i, int64_t N, int training) {
    (void)training;
    const ptc_op *op = &p->ops[i];
    const int64_t *a = op->iarg;
    ptc_pad2d_forward(ptc_plan_act(p, op->out), ptc_plan_act(p, op->in[0]), N, a[PTC_PAD2D_H], a[PTC_PAD2D_W],
                      a[PTC_PAD2D_C], a[PTC_PAD2D_OH], a[PTC_PAD2D_OW], a[PTC_PAD2D_PT], a[PTC_PAD2D_PL]);
}

void ptc_op_pad2d_backward(ptc_plan *p, int i, int64_t N) {
    const ptc_op *op = &p->ops[i];
    const int64_t *a = op->iarg;
    float *din = ptc_op_din(p, op, 0);
    if (din)
        ptc_pad2d_backward(din, ptc_plan_dact(p, op->out), N, a[PTC_PAD2D_H], a[PTC_PAD2D_W], a[PTC_PAD2D_C],
                           a[PTC_PAD2D_OH], a[PTC_PAD2D_OW], a[PTC_PAD2D_PT], a[PTC_PAD2D_PL]);
}
