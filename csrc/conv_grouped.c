// Grouped and depthwise Conv2D, channels_last (Keras's `groups=`, DepthwiseConv2D and the
// depthwise half of SeparableConv2D).
//
// G groups of Cg = C / G input channels and Fg = F / G filters; the kernel (KH, KW, Cg, F)
// as Keras stores it, filter f reading group f / Fg. A depthwise kernel (KH, KW, C, M)
// has the same memory as (KH, KW, 1, C*M) with G = C (output channel c*M + m), so
// DepthwiseConv2D is this op with G = C.
// Per chunk of samples and per group: the group's channels are gathered into a
// contiguous (nb, H, W, Cg) image, conv.c's im2col (kernels2d.h) makes its
// (rows, Kg + 1) matrix with a ones column, and one sgemm against the group's
// columns of [kernel; bias] (row stride F) writes the group's columns of the
// output. Backward mirrors it: [dkernel; dbias] += col^T @ dout's columns, then
// dcol = dout @ kernel^T, col2im into the gathered image, scattered back.
#include <string.h>

#include "blas.h"
#include "kernels2d.h"
#include "ops.h"

typedef struct {
    ptc_conv2d_shape s;  // of one group: C = Cg input channels, F = Fg filters
    int64_t G, C, F;     // groups, all input channels, all filters
} grouped_shape;

static grouped_shape grouped(const ptc_op *op, int64_t N) {
    const int64_t *a = op->iarg;
    const int64_t G = a[PTC_CONV2D_GROUPED_G] > 0 ? a[PTC_CONV2D_GROUPED_G] : 1;
    grouped_shape g = {
        {N, a[PTC_CONV2D_GROUPED_H], a[PTC_CONV2D_GROUPED_W], a[PTC_CONV2D_GROUPED_C] / G, a[PTC_CONV2D_GROUPED_KH],
         a[PTC_CONV2D_GROUPED_KW], a[PTC_CONV2D_GROUPED_F] / G, a[PTC_CONV2D_GROUPED_SH], a[PTC_CONV2D_GROUPED_SW],
         a[PTC_CONV2D_GROUPED_DH], a[PTC_CONV2D_GROUPED_DW], a[PTC_CONV2D_GROUPED_PT], a[PTC_CONV2D_GROUPED_PL],
         a[PTC_CONV2D_GROUPED_OH], a[PTC_CONV2D_GROUPED_OW]},
        G,
        a[PTC_CONV2D_GROUPED_C],
        a[PTC_CONV2D_GROUPED_F]};
    return g;
}

static int64_t grouped_chunk(const grouped_shape *g) {
    const ptc_conv2d_shape *s = &g->s;
    const int64_t per_sample = s->OH * s->OW * (s->KH * s->KW * s->C + 1) + s->H * s->W * s->C;
    if (per_sample == 0) return s->N;
    int64_t n = PTC_CONV_WORK_FLOATS / per_sample;
    if (n < 1) n = 1;
    return s->N < n ? s->N : n;
}

// Floats of workspace: the gathered image and im2col matrix of a chunk, then [kernel; bias] (Kg + 1, F).
static int64_t grouped_workspace(const grouped_shape *g) {
    const ptc_conv2d_shape *s = &g->s;
    const int64_t K1 = s->KH * s->KW * s->C + 1;
    return grouped_chunk(g) * (s->OH * s->OW * K1 + s->H * s->W * s->C) + K1 * g->F;
}

// xg (pixels, Cg) <-> channels [c0, c0 + Cg) of x (pixels, C).
static void gather_channels(float *xg, const float *x, int64_t pixels, int64_t C, int64_t c0, int64_t Cg) {
    for (int64_t r = 0; r < pixels; r++) memcpy(xg + r * Cg, x + r * C + c0, (size_t)Cg * sizeof(float));
}

static void scatter_add_channels(float *x, const float *xg, int64_t pixels, int64_t C, int64_t c0, int64_t Cg) {
    for (int64_t r = 0; r < pixels; r++)
        for (int64_t c = 0; c < Cg; c++) x[r * C + c0 + c] += xg[r * Cg + c];
}

// out (N, OH, OW, F) = grouped conv of inp (N, H, W, C) with kernel (KH, KW, Cg, F) + bias (F,) or NULL.
static void conv2d_grouped_forward(float *out, const float *inp, const float *kernel, const float *bias,
                                   const grouped_shape *g, float *work) {
    const ptc_conv2d_shape *s = &g->s;
    const int64_t Kg = s->KH * s->KW * s->C, LD = Kg + 1, F = g->F, Fg = s->F, Cg = s->C;
    const int64_t HW = s->H * s->W, P = s->OH * s->OW, chunk = grouped_chunk(g);
    if (chunk <= 0 || F == 0) return;
    float *xg = work, *col = xg + chunk * HW * Cg, *wb = col + chunk * P * LD;  // wb (Kg + 1, F)
    memcpy(wb, kernel, (size_t)(Kg * F) * sizeof(float));
    if (bias)
        memcpy(wb + Kg * F, bias, (size_t)F * sizeof(float));
    else
        memset(wb + Kg * F, 0, (size_t)F * sizeof(float));
    for (int64_t n0 = 0; n0 < s->N; n0 += chunk) {
        const int64_t nb = s->N - n0 < chunk ? s->N - n0 : chunk, rows = nb * P;
        ptc_conv2d_shape sc = *s;
        sc.N = nb;
        for (int64_t k = 0; k < g->G; k++) {
            gather_channels(xg, inp + n0 * HW * g->C, nb * HW, g->C, k * Cg, Cg);
            ptc_conv2d_im2col(col, xg, nb, &sc);
            ptc_blas_sgemm(0, 0, (int)rows, (int)Fg, (int)LD, 1.0f, col, (int)LD, wb + k * Fg, (int)F, 0.0f,
                           out + n0 * P * F + k * Fg, (int)F);
        }
    }
}

// Accumulates (+=) dinp (may be NULL), dkernel and dbias (may be NULL) from dout (N, OH, OW, F).
static void conv2d_grouped_backward(float *dinp, float *dkernel, float *dbias, const float *dout, const float *inp,
                                    const float *kernel, const grouped_shape *g, float *work) {
    const ptc_conv2d_shape *s = &g->s;
    const int64_t Kg = s->KH * s->KW * s->C, LD = Kg + 1, F = g->F, Fg = s->F, Cg = s->C;
    const int64_t HW = s->H * s->W, P = s->OH * s->OW, chunk = grouped_chunk(g);
    if (chunk <= 0 || F == 0) return;
    float *xg = work, *col = xg + chunk * HW * Cg, *dwb = col + chunk * P * LD;  // dwb (Kg + 1, F)
    memset(dwb, 0, (size_t)(LD * F) * sizeof(float));
    for (int64_t n0 = 0; n0 < s->N; n0 += chunk) {
        const int64_t nb = s->N - n0 < chunk ? s->N - n0 : chunk, rows = nb * P;
        ptc_conv2d_shape sc = *s;
        sc.N = nb;
        for (int64_t k = 0; k < g->G; k++) {
            const float *gk = dout + n0 * P * F + k * Fg;  // (rows, Fg), row stride F
            gather_channels(xg, inp + n0 * HW * g->C, nb * HW, g->C, k * Cg, Cg);
            ptc_conv2d_im2col(col, xg, nb, &sc);
            ptc_blas_sgemm(1, 0, (int)LD, (int)Fg, (int)rows, 1.0f, col, (int)LD, gk, (int)F, 1.0f, dwb + k * Fg,
                           (int)F);
            if (!dinp) continue;
            ptc_blas_sgemm(0, 1, (int)rows, (int)Kg, (int)Fg, 1.0f, gk, (int)F, kernel + k * Fg, (int)F, 0.0f, col,
                           (int)LD);
            memset(xg, 0, (size_t)(nb * HW * Cg) * sizeof(float));
            ptc_conv2d_col2im(xg, col, nb, &sc);
            scatter_add_channels(dinp + n0 * HW * g->C, xg, nb * HW, g->C, k * Cg, Cg);
        }
    }
    for (int64_t i = 0; i < Kg * F; i++) dkernel[i] += dwb[i];
    if (dbias)
        for (int64_t f = 0; f < F; f++) dbias[f] += dwb[Kg * F + f];
}

// ---------------------------------------------------------------------------
// The plan's op adapters (ops.def, dispatched through ops.c's table).
ptc_status ptc_op_conv2d_grouped_check(const ptc_plan *p, const ptc_op *op, int64_t need[PTC_MAX_PARAM]) {
    const int64_t *a = op->iarg;
    for (int k = 0; k < PTC_CONV2D_GROUPED_N_IARGS; k++)
        if (a[k] < (k == PTC_CONV2D_GROUPED_PT || k == PTC_CONV2D_GROUPED_PL ? 0 : 1)) return PTC_ERR_OP;
    const int64_t G = a[PTC_CONV2D_GROUPED_G];
    if (a[PTC_CONV2D_GROUPED_C] % G != 0 || a[PTC_CONV2D_GROUPED_F] % G != 0) return PTC_ERR_OP;
    grouped_shape g = grouped(op, p->max_batch > 0 ? p->max_batch : 1);
    ptc_conv2d_shape whole = g.s;  // the sizes sgemm sees are bounded by the ungrouped conv's
    whole.C = g.C, whole.F = g.F;
    if (!ptc_conv2d_shape_valid(&g.s) || !ptc_conv2d_shape_valid(&whole)) return PTC_ERR_OP;
    const ptc_conv2d_shape *s = &g.s;
    if (s->H * s->W * g.C != ptc_op_in_size(p, op, 0) || s->OH * s->OW * g.F != ptc_op_out_size(p, op) ||
        op->param[PTC_CONV2D_GROUPED_KERNEL] < 0)
        return PTC_ERR_OP;
    need[PTC_CONV2D_GROUPED_KERNEL] = s->KH * s->KW * s->C * g.F;
    need[PTC_CONV2D_GROUPED_BIAS] = g.F;
    return PTC_OK;
}

int64_t ptc_op_conv2d_grouped_scratch(const ptc_plan *p, const ptc_op *op, int64_t N) {
    (void)p;
    grouped_shape g = grouped(op, N);
    return ptc_conv2d_shape_valid(&g.s) ? grouped_workspace(&g) : -1;
}

void ptc_op_conv2d_grouped_forward(ptc_plan *p, int i, int64_t N, int training) {
    (void)training;
    const ptc_op *op = &p->ops[i];
    grouped_shape g = grouped(op, N);
    conv2d_grouped_forward(ptc_plan_act(p, op->out), ptc_plan_act(p, op->in[0]),
                           ptc_plan_param(p, op, PTC_CONV2D_GROUPED_KERNEL),
                           ptc_plan_param(p, op, PTC_CONV2D_GROUPED_BIAS), &g, ptc_plan_scratch(p, i));
}

void ptc_op_conv2d_grouped_backward(ptc_plan *p, int i, int64_t N) {
    const ptc_op *op = &p->ops[i];
    grouped_shape g = grouped(op, N);
    conv2d_grouped_backward(ptc_op_din(p, op, 0), ptc_plan_grad(p, op, PTC_CONV2D_GROUPED_KERNEL),
                            ptc_plan_grad(p, op, PTC_CONV2D_GROUPED_BIAS), ptc_plan_dact(p, op->out),
                            ptc_plan_act(p, op->in[0]), ptc_plan_param(p, op, PTC_CONV2D_GROUPED_KERNEL), &g,
                            ptc_plan_scratch(p, i));
}
