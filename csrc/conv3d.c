// Conv3D, channels_last (keras.layers.Conv3D), as im2col + one sgemm per chunk of samples.
//
// Input (N, D, H, W, C), kernel (KD, KH, KW, C, F) as Keras stores it, output (N, OD, OH, OW, F);
// strides S*, dilation D*, zero padding before the first plane / row / column PF, PT, PL (the
// padding after is implied by OD/OH/OW: window cells outside the input count as zeros, as in
// conv.c). Dimension letters as kernels2d.h, with D the depth; P = OD*OH*OW, K = KD*KH*KW*C.
//
// The im2col matrix of a chunk is (nb*P, K + 1) with a ones column, so [kernel; bias] (K + 1, F)
// gives the output in one sgemm; backward is [dkernel; dbias] += col^T @ dout, then
// dcol = dout @ kernel^T scattered back (col2im) into dinp with +=.
#include <string.h>

#include "blas.h"
#include "isa.h"
#include "kernels2d.h"
#include "ops.h"

typedef struct {
    int64_t N, D, H, W, C;  // input (N, D, H, W, C)
    int64_t KD, KH, KW, F;  // kernel (KD, KH, KW, C, F)
    int64_t SD, SH, SW;     // strides
    int64_t DD, DH, DW;     // dilation
    int64_t PF, PT, PL;     // zero padding before the first plane / row / column
    int64_t OD, OH, OW;     // output (N, OD, OH, OW, F)
} conv3d_shape;

static conv3d_shape shape_of(const ptc_op *op, int64_t N) {
    const int64_t *a = op->iarg;
    conv3d_shape s = {N,
                      a[PTC_CONV3D_D],
                      a[PTC_CONV3D_H],
                      a[PTC_CONV3D_W],
                      a[PTC_CONV3D_C],
                      a[PTC_CONV3D_KD],
                      a[PTC_CONV3D_KH],
                      a[PTC_CONV3D_KW],
                      a[PTC_CONV3D_F],
                      a[PTC_CONV3D_SD],
                      a[PTC_CONV3D_SH],
                      a[PTC_CONV3D_SW],
                      a[PTC_CONV3D_DD],
                      a[PTC_CONV3D_DH],
                      a[PTC_CONV3D_DW],
                      a[PTC_CONV3D_PF],
                      a[PTC_CONV3D_PT],
                      a[PTC_CONV3D_PL],
                      a[PTC_CONV3D_OD],
                      a[PTC_CONV3D_OH],
                      a[PTC_CONV3D_OW]};
    return s;
}

static int64_t positions(const conv3d_shape *s) {
    return s->OD * s->OH * s->OW;
}

static int64_t taps(const conv3d_shape *s) {
    return s->KD * s->KH * s->KW * s->C;
}

// Samples per chunk: the chunk's im2col matrix holds at most PTC_CONV_WORK_FLOATS floats (or one sample).
static int64_t chunk_of(const conv3d_shape *s) {
    const int64_t per_sample = positions(s) * (taps(s) + 1);
    int64_t n = per_sample > 0 ? PTC_CONV_WORK_FLOATS / per_sample : s->N;
    if (n < 1) n = 1;
    return s->N < n ? s->N : n;
}

static int64_t workspace(const conv3d_shape *s) {
    return chunk_of(s) * positions(s) * (taps(s) + 1) + (taps(s) + 1) * s->F;
}

// Offset of the input cell read by tap (kd, kh, kw) of output cell (od, oh, ow) of sample n; -1 for padding.
static PTC_ALWAYS_INLINE int64_t cell(const conv3d_shape *s, int64_t n, int64_t od, int64_t oh, int64_t ow, int64_t kd,
                                      int64_t kh, int64_t kw) {
    const int64_t id = od * s->SD + kd * s->DD - s->PF, ih = oh * s->SH + kh * s->DH - s->PT,
                  iw = ow * s->SW + kw * s->DW - s->PL;
    if (id < 0 || id >= s->D || ih < 0 || ih >= s->H || iw < 0 || iw >= s->W) return -1;
    return (((n * s->D + id) * s->H + ih) * s->W + iw) * s->C;
}

// col (nb*P, K + 1) from inp (nb, D, H, W, C) (im2col, backward 0), or dinp += col2im(col) (backward 1).
static void im2col(float *col, float *img, int64_t nb, const conv3d_shape *s, int backward) {
    const int64_t K = taps(s), LD = K + 1, C = s->C;
    int64_t r = 0;
    for (int64_t n = 0; n < nb; n++)
        for (int64_t od = 0; od < s->OD; od++)
            for (int64_t oh = 0; oh < s->OH; oh++)
                for (int64_t ow = 0; ow < s->OW; ow++, r++) {
                    float *row = col + r * LD;
                    for (int64_t kd = 0; kd < s->KD; kd++)
                        for (int64_t kh = 0; kh < s->KH; kh++)
                            for (int64_t kw = 0; kw < s->KW; kw++) {
                                float *dst = row + ((kd * s->KH + kh) * s->KW + kw) * C;
                                const int64_t at = cell(s, n, od, oh, ow, kd, kh, kw);
                                if (backward) {
                                    if (at >= 0)
                                        for (int64_t c = 0; c < C; c++) img[at + c] += dst[c];
                                } else if (at >= 0) {
                                    memcpy(dst, img + at, (size_t)C * sizeof(float));
                                } else {
                                    memset(dst, 0, (size_t)C * sizeof(float));
                                }
                            }
                    if (!backward) row[K] = 1.0f;
                }
}

// out (N, OD, OH, OW, F) = conv3d(inp, kernel) + bias (F,) or NULL.
static void conv3d_forward(float *out, const float *inp, const float *kernel, const float *bias, const conv3d_shape *s,
                           float *work) {
    const int64_t K = taps(s), LD = K + 1, F = s->F, P = positions(s), chunk = chunk_of(s);
    const int64_t in_sample = s->D * s->H * s->W * s->C;
    if (F == 0 || P == 0) return;
    float *col = work, *wb = work + chunk * P * LD;  // wb (K + 1, F)
    memcpy(wb, kernel, (size_t)(K * F) * sizeof(float));
    if (bias)
        memcpy(wb + K * F, bias, (size_t)F * sizeof(float));
    else
        memset(wb + K * F, 0, (size_t)F * sizeof(float));
    for (int64_t n0 = 0; n0 < s->N; n0 += chunk) {
        const int64_t nb = s->N - n0 < chunk ? s->N - n0 : chunk;
        im2col(col, (float *)(inp + n0 * in_sample), nb, s, 0);  // read only when backward == 0
        ptc_blas_sgemm(0, 0, (int)(nb * P), (int)F, (int)LD, 1.0f, col, (int)LD, wb, (int)F, 0.0f, out + n0 * P * F,
                       (int)F);
    }
}

// Accumulates (+=) dinp (may be NULL), dkernel and dbias (may be NULL) from dout (N, OD, OH, OW, F).
static void conv3d_backward(float *dinp, float *dkernel, float *dbias, const float *dout, const float *inp,
                            const float *kernel, const conv3d_shape *s, float *work) {
    const int64_t K = taps(s), LD = K + 1, F = s->F, P = positions(s), chunk = chunk_of(s);
    const int64_t in_sample = s->D * s->H * s->W * s->C;
    if (F == 0 || P == 0) return;
    float *col = work, *dwb = work + chunk * P * LD;  // dwb (K + 1, F)
    memset(dwb, 0, (size_t)(LD * F) * sizeof(float));
    for (int64_t n0 = 0; n0 < s->N; n0 += chunk) {
        const int64_t nb = s->N - n0 < chunk ? s->N - n0 : chunk, rows = nb * P;
        const float *g = dout + n0 * P * F;  // (rows, F)
        im2col(col, (float *)(inp + n0 * in_sample), nb, s, 0);
        ptc_blas_sgemm(1, 0, (int)LD, (int)F, (int)rows, 1.0f, col, (int)LD, g, (int)F, 1.0f, dwb, (int)F);
        if (!dinp) continue;
        ptc_blas_sgemm(0, 1, (int)rows, (int)K, (int)F, 1.0f, g, (int)F, kernel, (int)F, 0.0f, col, (int)LD);
        im2col(col, dinp + n0 * in_sample, nb, s, 1);
    }
    for (int64_t i = 0; i < K * F; i++) dkernel[i] += dwb[i];
    if (dbias)
        for (int64_t f = 0; f < F; f++) dbias[f] += dwb[K * F + f];
}

// Naive reference (tests: _C.run_op with REF = 1): the sums written out, no workspace.
static void conv3d_forward_ref(float *out, const float *inp, const float *kernel, const float *bias,
                               const conv3d_shape *s) {
    const int64_t F = s->F, C = s->C, P = positions(s);
    for (int64_t n = 0; n < s->N; n++)
        for (int64_t p = 0; p < P; p++) {
            const int64_t od = p / (s->OH * s->OW), oh = p / s->OW % s->OH, ow = p % s->OW;
            for (int64_t f = 0; f < F; f++) {
                double acc = bias ? bias[f] : 0.0;
                for (int64_t kd = 0; kd < s->KD; kd++)
                    for (int64_t kh = 0; kh < s->KH; kh++)
                        for (int64_t kw = 0; kw < s->KW; kw++) {
                            const int64_t at = cell(s, n, od, oh, ow, kd, kh, kw);
                            if (at < 0) continue;
                            const float *w = kernel + ((kd * s->KH + kh) * s->KW + kw) * C * F + f;
                            for (int64_t c = 0; c < C; c++) acc += (double)inp[at + c] * w[c * F];
                        }
                out[(n * P + p) * F + f] = (float)acc;
            }
        }
}

static void conv3d_backward_ref(float *dinp, float *dkernel, float *dbias, const float *dout, const float *inp,
                                const float *kernel, const conv3d_shape *s) {
    const int64_t F = s->F, C = s->C, P = positions(s);
    for (int64_t n = 0; n < s->N; n++)
        for (int64_t p = 0; p < P; p++) {
            const int64_t od = p / (s->OH * s->OW), oh = p / s->OW % s->OH, ow = p % s->OW;
            for (int64_t f = 0; f < F; f++) {
                const float g = dout[(n * P + p) * F + f];
                if (dbias) dbias[f] += g;
                for (int64_t kd = 0; kd < s->KD; kd++)
                    for (int64_t kh = 0; kh < s->KH; kh++)
                        for (int64_t kw = 0; kw < s->KW; kw++) {
                            const int64_t at = cell(s, n, od, oh, ow, kd, kh, kw);
                            if (at < 0) continue;
                            const int64_t w0 = ((kd * s->KH + kh) * s->KW + kw) * C * F + f;
                            for (int64_t c = 0; c < C; c++) {
                                dkernel[w0 + c * F] += g * inp[at + c];
                                if (dinp) dinp[at + c] += g * kernel[w0 + c * F];
                            }
                        }
            }
        }
}

// ---------------------------------------------------------------------------
// The plan's op adapters (ops.def, dispatched through ops.c's table).
ptc_status ptc_op_conv3d_check(const ptc_plan *p, const ptc_op *op, int64_t need[PTC_MAX_PARAM]) {
    const int64_t *a = op->iarg;
    for (int k = 0; k < PTC_CONV3D_N_IARGS; k++) {
        const int pad = k == PTC_CONV3D_PF || k == PTC_CONV3D_PT || k == PTC_CONV3D_PL, flag = k == PTC_CONV3D_REF;
        if (a[k] < (pad || flag ? 0 : 1) || (flag && a[k] > 1)) return PTC_ERR_OP;
    }
    const conv3d_shape s = shape_of(op, p->max_batch > 0 ? p->max_batch : 1);
    int64_t in = 1, out = 1, kernel = 1, rows, cols, k1f;
    const int64_t dims_in[] = {s.D, s.H, s.W, s.C}, dims_out[] = {s.OD, s.OH, s.OW, s.F},
                  dims_kernel[] = {s.KD, s.KH, s.KW, s.C};
    for (int k = 0; k < 4; k++)
        if (!ptc_mul_ok(in, dims_in[k], &in) || !ptc_mul_ok(out, dims_out[k], &out) ||
            !ptc_mul_ok(kernel, dims_kernel[k], &kernel))
            return PTC_ERR_OP;
    if (!ptc_mul_ok(s.N, positions(&s), &rows) || !ptc_mul_ok(taps(&s) + 1, s.F, &k1f) ||
        !ptc_mul_ok(chunk_of(&s) * positions(&s), taps(&s) + 1, &cols) || rows > INT32_MAX || taps(&s) >= INT32_MAX ||
        k1f > INT32_MAX)
        return PTC_ERR_OP;
    if (in != ptc_op_in_size(p, op, 0) || out != ptc_op_out_size(p, op) || op->param[PTC_CONV3D_KERNEL] < 0)
        return PTC_ERR_OP;
    need[PTC_CONV3D_KERNEL] = taps(&s) * s.F;
    need[PTC_CONV3D_BIAS] = s.F;
    return PTC_OK;
}

int64_t ptc_op_conv3d_scratch(const ptc_plan *p, const ptc_op *op, int64_t N) {
    (void)p;
    const conv3d_shape s = shape_of(op, N);
    return op->iarg[PTC_CONV3D_REF] ? 0 : workspace(&s);
}

void ptc_op_conv3d_forward(ptc_plan *p, int i, int64_t N, int training) {
    (void)training;
    const ptc_op *op = &p->ops[i];
    const conv3d_shape s = shape_of(op, N);
    float *out = ptc_plan_act(p, op->out);
    const float *inp = ptc_plan_act(p, op->in[0]), *kernel = ptc_plan_param(p, op, PTC_CONV3D_KERNEL),
                *bias = ptc_plan_param(p, op, PTC_CONV3D_BIAS);
    if (op->iarg[PTC_CONV3D_REF])
        conv3d_forward_ref(out, inp, kernel, bias, &s);
    else
        conv3d_forward(out, inp, kernel, bias, &s, ptc_plan_scratch(p, i));
}

void ptc_op_conv3d_backward(ptc_plan *p, int i, int64_t N) {
    const ptc_op *op = &p->ops[i];
    const conv3d_shape s = shape_of(op, N);
    float *dinp = ptc_op_din(p, op, 0), *dkernel = ptc_plan_grad(p, op, PTC_CONV3D_KERNEL),
          *dbias = ptc_plan_grad(p, op, PTC_CONV3D_BIAS);
    const float *dout = ptc_plan_dact(p, op->out), *inp = ptc_plan_act(p, op->in[0]),
                *kernel = ptc_plan_param(p, op, PTC_CONV3D_KERNEL);
    if (op->iarg[PTC_CONV3D_REF])
        conv3d_backward_ref(dinp, dkernel, dbias, dout, inp, kernel, &s);
    else
        conv3d_backward(dinp, dkernel, dbias, dout, inp, kernel, &s, ptc_plan_scratch(p, i));
}
