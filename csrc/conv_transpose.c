// Conv2DTranspose / Conv1DTranspose, channels_last: the adjoint of a Conv2D.
//
// Keras stores a transposed convolution's kernel (KH, KW, F, C) for input channels C and
// F filters: exactly the kernel of the Conv2D from (OH, OW, F) to (H, W, C) whose
// gradient with respect to its input is this layer's forward pass (TensorFlow's
// conv2d_transpose, and Keras 3's JAX/torch formulas, which pad the dilated input by
// (left, right) and correlate with the flipped kernel: the same sums). So with
// that Conv2D's geometry t (H = OH, W = OW, C = F, F = C, OH = H, OW = W, padding
// before PT = span - 1 - left):
//   forward:  dcol (rows, K) = x (rows, C) @ kernel^T, out += col2im(dcol), plus bias,
//   backward: col = im2col(dout); dx += col @ kernel; dkernel += col^T @ x,
// K = KH*KW*F, rows = N*H*W, sharing conv.c's im2col/col2im (kernels2d.h). The
// conv's own workspace rule does not apply: a 1x1 conv has no im2col there but
// needs one here.
#include <limits.h>
#include <string.h>

#include "blas.h"
#include "kernels2d.h"
#include "ops.h"
#include "reduce.h"

// The Conv2D whose input gradient this op's forward is: inp (N, H, W, C) is its output.
static ptc_conv2d_shape adjoint_shape(const ptc_op *op, int64_t N) {
    const int64_t *a = op->iarg;
    ptc_conv2d_shape s = {N,
                          a[PTC_CONV2D_TRANSPOSE_OH],
                          a[PTC_CONV2D_TRANSPOSE_OW],
                          a[PTC_CONV2D_TRANSPOSE_F],
                          a[PTC_CONV2D_TRANSPOSE_KH],
                          a[PTC_CONV2D_TRANSPOSE_KW],
                          a[PTC_CONV2D_TRANSPOSE_C],
                          a[PTC_CONV2D_TRANSPOSE_SH],
                          a[PTC_CONV2D_TRANSPOSE_SW],
                          a[PTC_CONV2D_TRANSPOSE_DH],
                          a[PTC_CONV2D_TRANSPOSE_DW],
                          a[PTC_CONV2D_TRANSPOSE_PT],
                          a[PTC_CONV2D_TRANSPOSE_PL],
                          a[PTC_CONV2D_TRANSPOSE_H],
                          a[PTC_CONV2D_TRANSPOSE_W]};
    return s;
}

// Samples per chunk: the im2col matrix of a chunk holds at most PTC_CONV_WORK_FLOATS (one sample at least).
static int64_t transpose_chunk(const ptc_conv2d_shape *t) {
    const int64_t per_sample = t->OH * t->OW * (t->KH * t->KW * t->C + 1);
    if (per_sample == 0) return t->N;
    int64_t n = PTC_CONV_WORK_FLOATS / per_sample;
    if (n < 1) n = 1;
    return t->N < n ? t->N : n;
}

// out (N, OH, OW, F) = conv_transpose(inp (N, H, W, C), kernel (KH, KW, F, C)) + bias (F,) or NULL.
// work: chunk * H*W * (K + 1) floats.
void ptc_conv2d_transpose_forward(float *out, const float *inp, const float *kernel, const float *bias,
                                  const ptc_conv2d_shape *t, float *work) {
    const int64_t K = t->KH * t->KW * t->C, LD = K + 1, C = t->F, F = t->C;
    const int64_t P = t->OH * t->OW, OUT = t->H * t->W * F;  // input pixels, output floats per sample
    for (int64_t n = 0; n < t->N; n++)
        for (int64_t r = 0; r < t->H * t->W; r++) {
            float *o = out + n * OUT + r * F;
            if (bias)
                memcpy(o, bias, (size_t)F * sizeof(float));
            else
                memset(o, 0, (size_t)F * sizeof(float));
        }
    const int64_t chunk = transpose_chunk(t);
    if (chunk <= 0 || K == 0) return;
    for (int64_t n0 = 0; n0 < t->N; n0 += chunk) {
        const int64_t nb = t->N - n0 < chunk ? t->N - n0 : chunk, rows = nb * P;
        ptc_blas_sgemm(0, 1, (int)rows, (int)K, (int)C, 1.0f, inp + n0 * P * C, (int)C, kernel, (int)C, 0.0f, work,
                       (int)LD);
        ptc_conv2d_col2im(out + n0 * OUT, work, nb, t);
    }
}

// Accumulates (+=) dinp (N, H, W, C) (may be NULL), dkernel (KH, KW, F, C) and dbias (F,) (may be NULL).
void ptc_conv2d_transpose_backward(float *dinp, float *dkernel, float *dbias, const float *dout, const float *inp,
                                   const float *kernel, const ptc_conv2d_shape *t, float *work) {
    const int64_t K = t->KH * t->KW * t->C, LD = K + 1, C = t->F, F = t->C;
    const int64_t P = t->OH * t->OW, OUT = t->H * t->W * F;
    if (dbias) ptc_sum_rows(dbias, dout, t->N * t->H * t->W, F, F, 1);
    const int64_t chunk = transpose_chunk(t);
    if (chunk <= 0 || K == 0) return;
    for (int64_t n0 = 0; n0 < t->N; n0 += chunk) {
        const int64_t nb = t->N - n0 < chunk ? t->N - n0 : chunk, rows = nb * P;
        ptc_conv2d_im2col(work, dout + n0 * OUT, nb, t);
        ptc_blas_sgemm(1, 0, (int)K, (int)C, (int)rows, 1.0f, work, (int)LD, inp + n0 * P * C, (int)C, 1.0f, dkernel,
                       (int)C);
        if (dinp)
            ptc_blas_sgemm(0, 0, (int)rows, (int)C, (int)K, 1.0f, work, (int)LD, kernel, (int)C, 1.0f,
                           dinp + n0 * P * C, (int)C);
    }
}

// ---------------------------------------------------------------------------
// The plan's op adapters (ops.def, dispatched through ops.c's table).
ptc_status ptc_op_conv2d_transpose_check(const ptc_plan *p, const ptc_op *op, int64_t need[PTC_MAX_PARAM]) {
    const int64_t *a = op->iarg;
    for (int k = 0; k < PTC_CONV2D_TRANSPOSE_N_IARGS; k++)
        if (a[k] < (k == PTC_CONV2D_TRANSPOSE_PT || k == PTC_CONV2D_TRANSPOSE_PL ? 0 : 1)) return PTC_ERR_OP;
    ptc_conv2d_shape t = adjoint_shape(op, p->max_batch > 0 ? p->max_batch : 1);
    if (!ptc_conv2d_shape_valid(&t)) return PTC_ERR_OP;
    if (t.OH * t.OW * t.F != ptc_op_in_size(p, op, 0) || t.H * t.W * t.C != ptc_op_out_size(p, op) ||
        op->param[PTC_CONV2D_TRANSPOSE_KERNEL] < 0)
        return PTC_ERR_OP;
    need[PTC_CONV2D_TRANSPOSE_KERNEL] = t.KH * t.KW * t.C * t.F;
    need[PTC_CONV2D_TRANSPOSE_BIAS] = t.C;
    return PTC_OK;
}

int64_t ptc_op_conv2d_transpose_scratch(const ptc_plan *p, const ptc_op *op, int64_t N) {
    (void)p;
    ptc_conv2d_shape t = adjoint_shape(op, N);
    if (!ptc_conv2d_shape_valid(&t)) return -1;
    int64_t n;
    return ptc_mul_ok(transpose_chunk(&t), t.OH * t.OW * (t.KH * t.KW * t.C + 1), &n) ? n : -1;
}

void ptc_op_conv2d_transpose_forward(ptc_plan *p, int i, int64_t N, int training) {
    (void)training;
    const ptc_op *op = &p->ops[i];
    ptc_conv2d_shape t = adjoint_shape(op, N);
    ptc_conv2d_transpose_forward(ptc_plan_act(p, op->out), ptc_plan_act(p, op->in[0]),
                                 ptc_plan_param(p, op, PTC_CONV2D_TRANSPOSE_KERNEL),
                                 ptc_plan_param(p, op, PTC_CONV2D_TRANSPOSE_BIAS), &t, ptc_plan_scratch(p, i));
}

void ptc_op_conv2d_transpose_backward(ptc_plan *p, int i, int64_t N) {
    const ptc_op *op = &p->ops[i];
    ptc_conv2d_shape t = adjoint_shape(op, N);
    ptc_conv2d_transpose_backward(ptc_op_din(p, op, 0), ptc_plan_grad(p, op, PTC_CONV2D_TRANSPOSE_KERNEL),
                                  ptc_plan_grad(p, op, PTC_CONV2D_TRANSPOSE_BIAS), ptc_plan_dact(p, op->out),
                                  ptc_plan_act(p, op->in[0]), ptc_plan_param(p, op, PTC_CONV2D_TRANSPOSE_KERNEL), &t,
                                  ptc_plan_scratch(p, i));
}
