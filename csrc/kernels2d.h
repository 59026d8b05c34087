// Convolution, pooling and batch-normalization kernels (conv.c, pool.c, norm.c).
// Plain C11; never includes Python.h. Self-contained (needs only <stdint.h>),
// so it can be included from ptc.h at any point.
//
// All tensors are channels_last, Keras's default data_format. Dimension letters:
//   N  samples            H W   input height / width      C   input channels
//   KH KW kernel or pool window                            F   filters
//   SH SW strides         DH DW dilation                   PT PL zero padding before
//   OH OW output height / width                           S   spatial positions (H * W)
//   R  rows of a batch normalization (N * spatial positions)
//
// Shapes are trusted: the caller (the plan builder, or module.c for tests)
// checks them with the *_shape_valid predicates below. Given a valid shape,
// any OH/OW is memory-safe: window cells outside [0, H) x [0, W) count as
// padding, so the padding after the last row/column ('same' puts the odd
// extra cell there, as TF does) is implied by OH/OW.
#ifndef PTC_KERNELS2D_H
#define PTC_KERNELS2D_H

#include <stdint.h>

// ---------------------------------------------------------------------------
// Conv2D (Conv1D is the H = 1, KH = 1, SH = 1, DH = 1, PT = 0 case).
typedef struct {
    int64_t N, H, W, C;  // input (N, H, W, C)
    int64_t KH, KW, F;   // kernel (KH, KW, C, F) as Keras stores it
    int64_t SH, SW;      // strides
    int64_t DH, DW;      // dilation
    int64_t PT, PL;      // zero padding before the first row / column
    int64_t OH, OW;      // output (N, OH, OW, F), computed by the caller
} ptc_conv2d_shape;

// 1 if every size is >= 0, kernel, strides and dilation >= 1, pads >= 0 and
// the sizes handed to sgemm fit in an int; 0 otherwise.
int ptc_conv2d_shape_valid(const ptc_conv2d_shape *s);

// Bound on the im2col part of the workspace, in floats: the batch is processed
// in chunks of samples whose im2col matrix holds at most this many floats (a
// single sample may exceed it: then chunks of one sample).
#define PTC_CONV_WORK_FLOATS ((int64_t)1 << 21)

// Samples per chunk. With K = KH*KW*C:
//   pointwise (below): min(N, INT_MAX / (H*W)), only sgemm's int row count bounds it;
//   otherwise: min(N, max(1, PTC_CONV_WORK_FLOATS / (OH*OW*(K + 1)))).
int64_t ptc_conv2d_chunk(const ptc_conv2d_shape *s);

// Floats of workspace forward and backward need for a batch of s->N samples:
//   0 for a pointwise conv (1x1, stride 1, no padding, OH == H, OW == W: no im2col),
//   else chunk * OH*OW * (K + 1) + (K + 1) * F
// (the im2col matrix with a ones column for the bias, then [weight; bias]).
// It is non-decreasing in N, so a workspace sized for the largest batch serves
// every smaller one. Its contents need not survive between calls.
int64_t ptc_conv2d_workspace(const ptc_conv2d_shape *s);

// out (N, OH, OW, F) = conv(inp (N, H, W, C), weight (KH, KW, C, F)) + bias (F,) or NULL.
// work: ptc_conv2d_workspace(s) floats.
void ptc_conv2d_forward(float *out, const float *inp, const float *weight, const float *bias, const ptc_conv2d_shape *s,
                        float *work);
// Accumulates (+=) dinp (N, H, W, C) (may be NULL: the model input), dweight
// (KH, KW, C, F) and dbias (F,) (may be NULL) from dout (N, OH, OW, F).
void ptc_conv2d_backward(float *dinp, float *dweight, float *dbias, const float *dout, const float *inp,
                         const float *weight, const ptc_conv2d_shape *s, float *work);
// Naive direct loops of the same pair, accumulating in double, for tests.
void ptc_conv2d_forward_ref(float *out, const float *inp, const float *weight, const float *bias,
                            const ptc_conv2d_shape *s);
void ptc_conv2d_backward_ref(float *dinp, float *dweight, float *dbias, const float *dout, const float *inp,
                             const float *weight, const ptc_conv2d_shape *s);

// ---------------------------------------------------------------------------
// 2D pooling. Padded cells are ignored (TF/Keras 'same'): max over the real
// cells, average over the real cells only. A window with no real cell (only
// possible with pads >= the window) outputs 0 and passes no gradient.
typedef struct {
    int64_t N, H, W, C;      // input (N, H, W, C)
    int64_t KH, KW, SH, SW;  // pool size and strides
    int64_t PT, PL;          // padding before
    int64_t OH, OW;          // output (N, OH, OW, C)
    int64_t relu;            // max pooling only: 1 pools relu(inp) (outputs relu(max), routes where max > 0)
} ptc_pool2d_shape;

// 1 if sizes >= 0, window and strides >= 1, pads >= 0; 0 otherwise.
int ptc_pool2d_shape_valid(const ptc_pool2d_shape *s);

void ptc_maxpool2d_forward(float *out, const float *inp, const ptc_pool2d_shape *s);
// Routes each output gradient to the first maximal input cell of its window in
// row-major window order (recomputed from inp; no stored indices), as PyTorch does.
void ptc_maxpool2d_backward(float *dinp, const float *dout, const float *inp, const ptc_pool2d_shape *s);
void ptc_avgpool2d_forward(float *out, const float *inp, const ptc_pool2d_shape *s);
void ptc_avgpool2d_backward(float *dinp, const float *dout, const ptc_pool2d_shape *s);

// Global pooling over the spatial axes: inp (N, S, C) -> out (N, C).
void ptc_global_avgpool_forward(float *out, const float *inp, int64_t N, int64_t S, int64_t C);
void ptc_global_avgpool_backward(float *dinp, const float *dout, int64_t N, int64_t S, int64_t C);
void ptc_global_maxpool_forward(float *out, const float *inp, int64_t N, int64_t S, int64_t C);
// The first maximal position of each (n, c) gets the gradient.
void ptc_global_maxpool_backward(float *dinp, const float *dout, const float *inp, int64_t N, int64_t S, int64_t C);

// ---------------------------------------------------------------------------
// Batch normalization over the rows of inp (R, C), per channel, as Keras 3's
// BatchNormalization(axis=-1).
// training != 0: normalizes with the batch mean and biased variance and, when
// moving_mean/moving_var are not NULL, updates them in place:
//   moving = moving * momentum + batch_stat * (1 - momentum).
// training == 0: normalizes with moving_mean/moving_var (must not be NULL).
// gamma/beta may be NULL (scale=False / center=False).
// work (2, C): the mean and 1/sqrt(var + epsilon) used, written for backward.
void ptc_batchnorm_forward(float *out, const float *inp, const float *gamma, const float *beta, float *moving_mean,
                           float *moving_var, int64_t R, int64_t C, float momentum, float epsilon, int training,
                           float *work);
// Training-mode backward (through the batch statistics). Accumulates dinp
// (R, C), dgamma (C,) and dbeta (C,); dinp, dgamma and dbeta may each be NULL.
void ptc_batchnorm_backward(float *dinp, float *dgamma, float *dbeta, const float *dout, const float *inp,
                            const float *gamma, int64_t R, int64_t C, const float *work);
// Inference-mode backward (statistics are constants: a frozen layer, Keras's
// trainable=False). Same arguments and accumulation as above.
void ptc_batchnorm_backward_inference(float *dinp, float *dgamma, float *dbeta, const float *dout, const float *inp,
                                      const float *gamma, int64_t R, int64_t C, const float *work);

// ---------------------------------------------------------------------------
// im2col and its adjoint (conv.c), shared by the transposed and grouped convolutions:
// col (nb*OH*OW, K + 1) <- the patches of inp (nb, H, W, C) with a 1 in the last column;
// dinp (nb, H, W, C) += the adjoint applied to col (its last column ignored). Split by
// sample over the thread pool (any split gives the same floats).
void ptc_conv2d_im2col(float *col, const float *inp, int64_t nb, const ptc_conv2d_shape *s);
void ptc_conv2d_col2im(float *dinp, const float *col, int64_t nb, const ptc_conv2d_shape *s);

#endif  // PTC_KERNELS2D_H
