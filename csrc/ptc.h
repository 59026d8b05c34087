// pytrainc C core: kernels, optimizers, RNG and the training engine.
// Plain C11; never includes Python.h (the binding lives in module.c only).
//
// Dimension letters used in shape comments throughout csrc/:
//   N  samples in a batch          D  features per sample (flat)
//   IN input features of a dense   OUT output features of a dense
//   C  classes (softmax width)     P  number of parameters (flat)
#ifndef PTC_H
#define PTC_H

#include <stddef.h>
#include <stdint.h>

#include "kernels2d.h"  // convolution, pooling and batch normalization (conv.c, pool.c, norm.c)

typedef enum {
    PTC_OK = 0,
    PTC_ERR_VALUE = 1,          // a bad argument the binding checks for (ValueError)
    PTC_ERR_NOMEM = 2,          // allocation failed (MemoryError)
    PTC_ERR_INTERRUPTED = 3,    // a stop was requested (SIGINT): stopped at a batch boundary
    PTC_STOPPED_NONFINITE = 4,  // not an error: stopped after a batch whose loss is NaN or inf
    PTC_ERR_SIZE = 5,           // a size product overflows, or exceeds what a kernel can index (ValueError)
    PTC_ERR_LABEL = 6,          // a sparse label is not an integer class in [0, D) (ValueError)
    PTC_ERR_OP = 7,             // an op is malformed: plan->bad_op names it (ValueError)
    PTC_ERR_STATE = 8,          // the plan lacks what a call needs: loss, optimizer, a dropout's RNG
    PTC_ERR_INDEX = 9,          // an op's integer input (an Embedding id) is out of range: plan->bad_op names it
    PTC_ERR_NONFINITE = 10,     // predict's input holds NaN or inf (check_finite): the binding counts them
} ptc_status;

// Registries (ops.def, kinds.def) expand into the enums below.
#include "kinds.def"
#include "ops.def"

// ---------------------------------------------------------------------------
// RNG: xoshiro256** seeded with splitmix64. One state drives weight
// initialization, shuffling and dropout masks, so equal seeds give bitwise
// equal runs. https://prng.di.unimi.it/
typedef struct {
    uint64_t s[4];
} ptc_rng;

void ptc_rng_seed(ptc_rng *rng, uint64_t seed);
uint64_t ptc_rng_next(ptc_rng *rng);
float ptc_rng_uniform(ptc_rng *rng);               // [0, 1)
uint64_t ptc_rng_below(ptc_rng *rng, uint64_t n);  // [0, n), n > 0
double ptc_rng_normal(ptc_rng *rng);               // N(0, 1)
void ptc_rng_fill_uniform(ptc_rng *rng, float *out, int64_t n, float low, float high);
void ptc_rng_fill_normal(ptc_rng *rng, float *out, int64_t n, float mean, float stddev);
void ptc_rng_fill_truncated_normal(ptc_rng *rng, float *out, int64_t n, float mean, float stddev);
void ptc_rng_permutation(ptc_rng *rng, int64_t *perm, int64_t n);

// ---------------------------------------------------------------------------
// Dense: out = inp @ weight + bias, weight stored (IN, OUT) as in Keras.
void ptc_dense_forward(float *out, const float *inp, const float *weight, const float *bias, int64_t N, int64_t IN,
                       int64_t OUT);
// dinp may be NULL (no gradient needed, e.g. the model input); bias/dbias may be NULL.
void ptc_dense_backward(float *dinp, float *dweight, float *dbias, const float *dout, const float *inp,
                        const float *weight, int64_t N, int64_t IN, int64_t OUT);
// Rows up to this many run a kernel that sums in sgemm's order without packing the weight
// (dense.c), when ptc_dense_rows_init (at load, after ptc_blas_init) found that order.
#define PTC_DENSE_FEW_ROWS 3
void ptc_dense_rows_init(void);
void ptc_dense_rows_blocking(int64_t *q, int64_t *u);  // the K blocking it reproduces; 0, 0: off
// The forward through sgemm at any number of rows (the tests' reference for the few-rows kernel).
void ptc_dense_forward_sgemm(float *out, const float *inp, const float *weight, const float *bias, int64_t N,
                             int64_t IN, int64_t OUT);
// Naive triple-loop reference of the same pair, for tests.
void ptc_dense_forward_ref(float *out, const float *inp, const float *weight, const float *bias, int64_t N, int64_t IN,
                           int64_t OUT);
void ptc_dense_backward_ref(float *dinp, float *dweight, float *dbias, const float *dout, const float *inp,
                            const float *weight, int64_t N, int64_t IN, int64_t OUT);

// ---------------------------------------------------------------------------
// Activations, applied row-wise on (N, D) buffers.
#define PTC_ACT_ENUM(NAME) PTC_ACT_##NAME,
typedef enum { PTC_ACTIVATIONS(PTC_ACT_ENUM) PTC_ACT_COUNT } ptc_act_kind;
#undef PTC_ACT_ENUM

// alpha is the kind's parameter (leaky_relu's slope, elu's alpha), ignored by others.
void ptc_act_forward(int kind, float *out, const float *inp, int64_t N, int64_t D, float alpha);
// dinp += d(loss)/d(inp) given dout, the forward input and output.
void ptc_act_backward(int kind, float *dinp, const float *dout, const float *inp, const float *out, int64_t N,
                      int64_t D, float alpha);

// ---------------------------------------------------------------------------
// Losses. Each returns the batch mean loss (Keras: mean over the last axis,
// then over the batch) and, when dpred is not NULL, writes (=, not +=) its
// gradient with respect to the prediction (or, for the fused kinds, the logits).
#define PTC_LOSS_ENUM(NAME) PTC_LOSS_##NAME,
typedef enum { PTC_LOSS_NONE = 0, PTC_LOSSES(PTC_LOSS_ENUM) PTC_LOSS_COUNT } ptc_loss_kind;
#undef PTC_LOSS_ENUM

#define PTC_EPSILON 1e-7f  // Keras's backend.epsilon(), used for clipping

// A loss's parameters (kinds.def's PTC_LOSS_PARAMS): PTC_LOSS_P_<NAME> indexes the array.
#define PTC_LOSS_PARAM_ENUM(NAME) PTC_LOSS_P_##NAME,
typedef enum { PTC_LOSS_PARAMS(PTC_LOSS_PARAM_ENUM) PTC_LOSS_N_PARAMS } ptc_loss_param;
#undef PTC_LOSS_PARAM_ENUM

// A loss's reduction (kinds.def's PTC_LOSS_REDUCTIONS), its REDUCTION parameter.
#define PTC_LOSS_REDUCTION_ENUM(NAME) PTC_REDUCTION_##NAME,
typedef enum { PTC_LOSS_REDUCTIONS(PTC_LOSS_REDUCTION_ENUM) PTC_REDUCTION_COUNT } ptc_loss_reduction;
#undef PTC_LOSS_REDUCTION_ENUM

// The divisor of a batch's summed weighted row losses under reduction `red` (a PTC_LOSS_REDUCTIONS
// id): `rows` (the number of rows), 1 or `wsum` (the sum of the row weights; rows without weights).
double ptc_loss_divisor(int red, double rows, double wsum, int weighted);

// params: (PTC_LOSS_N_PARAMS,) or NULL for all zero. w: (N,) row weights or NULL; the loss
// is sum_n w_n loss_n / N (Keras's sum_over_batch_size; with IGNORE, over the rows whose
// label is not IGNORE_CLASS, Keras's mask). Returns PTC_ERR_LABEL (and *loss untouched) if a
// sparse label is not an integer in [0, D) (or IGNORE_CLASS).
ptc_status ptc_loss_compute(int kind, const double *params, double *loss, float *dpred, const float *pred,
                            const float *y, const float *w, int64_t N, int64_t D);
// Width of y per sample for a loss on predictions of width D.
int64_t ptc_loss_y_size(int kind, int64_t D);
// Whether a LOSS_MEAN metric can use the kind: a mean of row losses whose only parameter is
// LABEL_SMOOTHING.
int ptc_loss_is_metric(int kind);
// sum_n w_n * scale * loss_n over N rows of D (w NULL: 1) for such a kind, without gradient.
double ptc_loss_row_sum(int kind, double smoothing, const float *pred, const float *y, const float *w, float scale,
                        int64_t N, int64_t D);

// Metrics: weighted statistics accumulated over an epoch (metrics.c).
#define PTC_METRIC_ENUM(NAME) PTC_METRIC_##NAME,
typedef enum { PTC_METRIC_NONE = 0, PTC_METRICS(PTC_METRIC_ENUM) PTC_METRIC_COUNT } ptc_metric_kind;
#undef PTC_METRIC_ENUM

typedef struct {
    int kind;
    int64_t k;  // see the kinds above
    double threshold;
    int64_t offset;      // its first slot in the pass's sums (assigned by ptc_plan_set_metrics)
    int head;            // the output (loss head) it scores
    int unweighted;      // Keras's `metrics=`: sample weights do not count (`weighted_metrics=` do)
    int masked;          // a MeanMetricWrapper in Keras: reads its head's mask (as sample weights) if it has one
    const float *table;  // THRESHOLD_TABLE: its n sorted thresholds (in the plan's metric table)
} ptc_metric;

int64_t ptc_metric_slots(const ptc_metric *m, int64_t D);
// PTC_ERR_VALUE unless the metric fits predictions of width D and targets of width ys.
ptc_status ptc_metric_check(const ptc_metric *m, int64_t D, int64_t ys);
// Adds the statistics of N rows (pred (N, D), y (N, ys)), each weighted by w[n] * scale.
void ptc_metric_accumulate(const ptc_metric *m, const float *pred, const float *y, int64_t ys, const float *w,
                           float scale, int64_t N, int64_t D, double *acc);

// ---------------------------------------------------------------------------
// Optimizers: flat loops over the P trainable parameters, Keras 3's update formulas.
// AdamW is PTC_OPT_ADAM with weight_decay > 0 (Keras: a subclass of Adam).
#define PTC_OPT_ENUM(NAME) PTC_OPT_##NAME,
typedef enum { PTC_OPT_NONE = 0, PTC_OPTIMIZERS(PTC_OPT_ENUM) PTC_OPT_COUNT } ptc_opt_kind;
#undef PTC_OPT_ENUM
#define PTC_HYPER_ENUM(NAME) PTC_HYPER_##NAME,
typedef enum { PTC_OPTIMIZER_HYPER(PTC_HYPER_ENUM) PTC_HYPER_COUNT } ptc_hyper;
#undef PTC_HYPER_ENUM

// A learning-rate schedule: the rate as a function of the optimizer's
// iteration count, evaluated before each step (as Keras does).
#define PTC_SCHED_ENUM(NAME) PTC_SCHED_##NAME,
typedef enum { PTC_SCHEDULES(PTC_SCHED_ENUM) PTC_SCHED_COUNT } ptc_sched_kind;
#undef PTC_SCHED_ENUM
// Per kind, the index of each named parameter in ptc_schedule.p: PTC_SCHED_<KIND>_<NAME>.
#define PTC_SCHED_PARAM_ENUM(K, NAME) PTC_SCHED_##K##_##NAME,
#define PTC_SCHED_PARAM_ENUMS(K) enum { PTC_SCHED_##K##_PARAMS(PTC_SCHED_PARAM_ENUM, K) PTC_SCHED_##K##_N_PARAMS };
PTC_SCHEDULES(PTC_SCHED_PARAM_ENUMS)
#undef PTC_SCHED_PARAM_ENUMS
#undef PTC_SCHED_PARAM_ENUM

#define PTC_SCHED_PARAMS 8
#define PTC_SCHED_PARAMS_FIT(K) \
    _Static_assert(PTC_SCHED_##K##_N_PARAMS <= PTC_SCHED_PARAMS, #K " has too many parameters");
PTC_SCHEDULES(PTC_SCHED_PARAMS_FIT)
#undef PTC_SCHED_PARAMS_FIT
typedef struct {
    int kind;
    double p[PTC_SCHED_PARAMS];  // per kind, see schedules.c
    int64_t n;                   // piecewise: number of boundaries
    const double *table;         // piecewise: n boundaries then n + 1 values; borrowed
} ptc_schedule;

double ptc_schedule_value(const ptc_schedule *s, int64_t iteration);

// State slots per kind (Keras's variable names in parentheses):
//   SGD      m (momentum), only when momentum > 0
//   Adam     m (momentum), v (velocity), u (velocity_hat), only with amsgrad
//   RMSprop  v (velocity), m (momentum) when momentum > 0, u (average_gradient) when centered
//   Adagrad  v (accumulator), which the caller starts at initial_accumulator_value
//   Nadam    m (momentum), v (velocity), u (1,): the scalar u_product, starting at 1
//   Adamax   m (momentum), v (norm)
//   Adadelta v (accumulated_grad), u (accumulated_delta_var)
//   Lion     m (momentum)
//   Ftrl     v (accumulator), which the caller starts at initial_accumulator_value, m (linear)
//   Lamb     m (momentum), v (velocity)
//   Adafactor v (velocity); for a weight of shape (..., R, C) (rank >= 2) m holds r (..., R) and u
//            holds c (..., C), each from the weight's own offset (Keras's r and c)
//
// A variable's row in ptc_optimizer.slices: [offset, size] and, in rows of
// PTC_SLICE_WIDTH, the shape of its last two axes (R, C; 0, 0 below rank 2) and flags.
enum { PTC_SLICE_OFFSET, PTC_SLICE_SIZE, PTC_SLICE_DIM_R, PTC_SLICE_DIM_C, PTC_SLICE_FLAGS, PTC_SLICE_WIDTH };
#define PTC_SLICE_NO_DECAY 1  // flag: exclude_from_weight_decay
typedef struct {
    int kind;
    double learning_rate;
    double momentum;                 // SGD, RMSprop
    int nesterov;                    // SGD
    double beta_1, beta_2, epsilon;  // Adam, Nadam (epsilon also RMSprop, Adagrad)
    double rho;                      // RMSprop
    int centered;                    // RMSprop
    int amsgrad;                     // Adam
    // Common to all kinds, 0 meaning off (Keras's None). Keras applies at most
    // one of the three clippings, checked by the caller.
    double weight_decay;     // decoupled: w -= w * weight_decay * lr before the update
    double clipnorm;         // per variable: g *= clipnorm / max(||g||, clipnorm)
    double clipvalue;        // g = clip(g, -clipvalue, clipvalue)
    double global_clipnorm;  // over all P: g *= global_clipnorm / max(||g||, global_clipnorm)
    // Ftrl (Keras's names): learning_rate_power <= 0, l1/l2/l2_shrinkage_regularization_strength, beta.
    double lr_power, l1, l2, l2_shrinkage, ftrl_beta;
    // Adafactor (Keras's names).
    double beta_2_decay, epsilon_1, epsilon_2, clip_threshold;
    // Every kind (Keras's base optimizer): the moving average ema of the weights, updated after
    // each step and copied over them every ema_overwrite_frequency steps (0: never), and
    // gradient accumulation: acc sums the gradients of accumulation_steps - 1 batches, the
    // next one updates with their mean (1: every batch). The counter *iterations counts
    // batches; the steps (bias corrections, EMA) count updates: *iterations / accumulation_steps.
    int use_ema;
    double ema_momentum;
    int64_t ema_overwrite_frequency, accumulation_steps;
    float *ema;           // (P,) when use_ema, else NULL; borrowed
    float *acc;           // (P,) when accumulation_steps > 1, else NULL; borrowed
    float *m;             // (P,) see the slot table above; borrowed
    float *v;             // (P,) borrowed
    float *u;             // (P,), or (1,) for Nadam; borrowed
    int64_t *iterations;  // (1,) steps taken so far; borrowed
    // Variables as rows [offset, size, ...] tiling [0, P) in order: the units of
    // clipnorm. NULL: the P parameters are one variable. Borrowed.
    const int64_t *slices;  // (n_slices, slice_cols)
    int64_t n_slices;
    int slice_cols;         // 2 ([offset, size]) or PTC_SLICE_WIDTH
    ptc_schedule schedule;  // kind PTC_SCHED_CONSTANT: learning_rate is used as is
} ptc_optimizer;

void ptc_optimizer_step(ptc_optimizer *opt, float *params, const float *grads, int64_t P);

// ---------------------------------------------------------------------------
// Merges (merge.c): n_in inputs of n floats; a NULL dins[k] is skipped.
void ptc_add_forward(float *out, const float *const *ins, int n_in, int64_t n);
void ptc_add_backward(float *const *dins, const float *dout, int n_in, int64_t n);
void ptc_subtract_forward(float *out, const float *a, const float *b, int64_t n);
void ptc_subtract_backward(float *da, float *db, const float *dout, int64_t n);
void ptc_multiply_forward(float *out, const float *const *ins, int n_in, int64_t n);
void ptc_multiply_backward(float *const *dins, const float *dout, const float *const *ins, int n_in, int64_t n);
void ptc_average_forward(float *out, const float *const *ins, int n_in, int64_t n);
void ptc_average_backward(float *const *dins, const float *dout, int n_in, int64_t n);
// out (rows, sum widths) from inputs (rows, widths[k]).
void ptc_concat_forward(float *out, const float *const *ins, const int64_t *widths, int n_in, int64_t rows);
void ptc_concat_backward(float *const *dins, const float *dout, const int64_t *widths, int n_in, int64_t rows);

// Dropout (dropout.c): mask (n,) holds 0 or 1 / (1 - rate), drawn from rng in order.
void ptc_dropout_forward(float *out, float *mask, const float *inp, int64_t n, float rate, ptc_rng *rng, int training);
void ptc_dropout_backward(float *dinp, const float *dout, const float *mask, int64_t n, float rate);

// L1/L2 penalties (penalty.c): value l1 * sum|x| + l2 * sum x^2; grad g += its gradient.
double ptc_penalty_value(const float *x, int64_t n, double l1, double l2);
void ptc_penalty_grad(float *g, const float *x, int64_t n, double l1, double l2);

// ---------------------------------------------------------------------------
// Sequences (embedding.c, rnn.c, layernorm.c). R rows of ids (stored as floats) index
// embeddings (V, D); *bad receives the first id that is not an integer in [0, V).
ptc_status ptc_embedding_forward(float *out, const float *ids, const float *emb, int64_t R, int64_t V, int64_t D,
                                 double *bad);
void ptc_embedding_backward(float *demb, const float *dout, const float *ids, int64_t R, int64_t V, int64_t D);

// Recurrent layers over N sequences of T steps: inp (N, T, IN) -> out (N, U) or (N, T, U).
// G = k * U gate columns (SimpleRNN 1, GRU 3, LSTM 4). act/ract are elementwise
// ptc_act_kind values (linear, relu, sigmoid, tanh, hard_sigmoid). gemm is
// ptc_blas_sgemm, or a naive loop for the references tests compare against.
typedef void (*ptc_gemm_fn)(int transa, int transb, int M, int N, int K, float alpha, const float *A, int lda,
                            const float *B, int ldb, float beta, float *C, int ldc);
typedef struct {
    int64_t N, T, IN, U;
    int act, ract, go_backwards, return_sequences;
    ptc_gemm_fn gemm;
    // (N, T) by input time, or NULL: Keras's mask. A step whose entry is 0 is skipped (the
    // states carry over and its output repeats the previous one, zeros before the first).
    const float *mask;
    // Keras's dropout= and recurrent_dropout= rates, applied when training: masks of 0 or
    // 1 / (1 - rate) per sequence, the same at every step, drawn from rng by the forward pass.
    float dropout, recurrent_dropout;
    int training;
    ptc_rng *rng;
    // With return_sequences: the steps in input order rather than processing order, and
    // zeros (not the carried state) as the output of masked steps.
    int input_order, zero_masked;
    // Keras's initial_state: h0 and the LSTM's c0 (N, U), or NULL (zeros), and their gradients
    // (NULL: not needed). With return_state, each sample's row of out (and dout) holds its output
    // then the final h (U) and the LSTM's final c (U) (ptc_rnn_out_size floats).
    const float *h0, *c0;
    float *dh0, *dc0;
    int return_state;
} ptc_rnn_shape;
typedef enum { PTC_CELL_SIMPLE = 1, PTC_CELL_GRU = 3, PTC_CELL_LSTM = 4 } ptc_rnn_cell;  // gates per unit
// Floats of work (gates of every step, states) forward keeps for backward.
int64_t ptc_rnn_work_size(int cell, const ptc_rnn_shape *s);
// Floats of one sample's output: (T, U) or (U,), and with return_state the final states.
int64_t ptc_rnn_out_size(int cell, const ptc_rnn_shape *s);
// kernel (IN, G), rkernel (U, G), bias (G,) or for the GRU (2, G), or NULL.
void ptc_rnn_forward(int cell, float *out, float *work, const float *inp, const float *kernel, const float *rkernel,
                     const float *bias, const ptc_rnn_shape *s);
// Backpropagation through time from dout; overwrites work. dinp, dbias may be NULL.
void ptc_rnn_backward(int cell, float *dinp, float *dkernel, float *drkernel, float *dbias, const float *dout,
                      const float *inp, const float *kernel, const float *rkernel, float *work, const ptc_rnn_shape *s);
// The recurrent step's product on a kernel packed once per pass (rnn_gemm.c): packed holds
// ptc_rnn_packed_size(K, N) floats of B (K, N), or with trans of B^T stored (N, K). C (M, N) =
// A (M, K) @ B, or C += it with beta1; each element summed in k order from zero.
int64_t ptc_rnn_packed_size(int64_t K, int64_t N);
void ptc_rnn_pack(float *packed, const float *B, int64_t K, int64_t N, int trans);
void ptc_rnn_gemm_packed(int64_t M, int64_t N, int64_t K, const float *A, int64_t lda, const float *packed, int beta1,
                         float *C, int64_t ldc);
// Whether an activation kind is elementwise with a derivative from its output (the cells' kinds).
int ptc_rnn_act_ok(int kind);
// Layer normalization of R rows of C; stats (R, 2) keeps each row's mean and inverse deviation.
void ptc_layernorm_forward(float *out, float *stats, const float *inp, const float *gamma, const float *beta, int64_t R,
                           int64_t C, float epsilon);
void ptc_layernorm_backward(float *dinp, float *dgamma, float *dbeta, const float *dout, const float *inp,
                            const float *gamma, const float *stats, int64_t R, int64_t C);
// Keras's masks (mask.c) over R = N * T steps of C floats: mask (R,) is 1 where a step has a
// value other than value; Masking zeroes the other steps. Global average pooling over the
// kept steps of inp (N, S, C), mask (N, S).
void ptc_seq_mask_forward(float *mask, const float *inp, int64_t R, int64_t C, float value);
void ptc_masking_forward(float *out, const float *inp, int64_t R, int64_t C, float value);
void ptc_masking_backward(float *dinp, const float *dout, const float *inp, int64_t R, int64_t C, float value);
void ptc_global_avgpool_masked_forward(float *out, const float *inp, const float *mask, int64_t N, int64_t S,
                                       int64_t C);
void ptc_global_avgpool_masked_backward(float *dinp, const float *dout, const float *mask, int64_t N, int64_t S,
                                        int64_t C);
// Row-major naive C = alpha * op(A) @ op(B) + beta * C, in double: the references' gemm.
void ptc_gemm_ref(int transa, int transb, int M, int N, int K, float alpha, const float *A, int lda, const float *B,
                  int ldb, float beta, float *C, int ldc);

// ---------------------------------------------------------------------------
// The plan: an ordered list of ops over buffers whose per-sample sizes are fixed.
#define PTC_MAX_IN 8
#define PTC_MAX_PARAM 4
#define PTC_MAX_IARG 24  // conv3d has 21
#define PTC_MAX_FARG 8

// Op ids from ops.def, from 1 (0: no op).
#define PTC_OP_ENUM(ID, name, MIN_IN, MAX_IN) PTC_OP_##ID,
typedef enum { PTC_OP_NONE = 0, PTC_OPS(PTC_OP_ENUM) PTC_OP_COUNT } ptc_op_kind;
#undef PTC_OP_ENUM

// Per op, the slot of each named parameter and argument: PTC_<ID>_<NAME> indexes
// op->param, op->iarg or op->farg, and PTC_<ID>_N_PARAMS/_N_IARGS/_N_FARGS count them.
#define PTC_ARG_ENUM(ID, NAME) PTC_##ID##_##NAME,
#define PTC_OP_ARG_ENUMS(ID, name, MIN_IN, MAX_IN)                                                \
    enum { PTC_##ID##_PARAMS(PTC_ARG_ENUM, ID) PTC_##ID##_N_PARAMS };                             \
    enum { PTC_##ID##_IARGS(PTC_ARG_ENUM, ID) PTC_##ID##_N_IARGS };                               \
    enum { PTC_##ID##_FARGS(PTC_ARG_ENUM, ID) PTC_##ID##_N_FARGS };                               \
    _Static_assert(PTC_##ID##_N_PARAMS <= PTC_MAX_PARAM && PTC_##ID##_N_IARGS <= PTC_MAX_IARG &&  \
                       PTC_##ID##_N_FARGS <= PTC_MAX_FARG && MIN_IN >= 1 && MAX_IN <= PTC_MAX_IN, \
                   #ID " does not fit an op row");
PTC_OPS(PTC_OP_ARG_ENUMS)
#undef PTC_OP_ARG_ENUMS
#undef PTC_ARG_ENUM

#define PTC_FLAG_ENUM(NAME, name, BIT) PTC_OPF_##NAME = BIT,
enum { PTC_OP_FLAGS(PTC_FLAG_ENUM) };
#undef PTC_FLAG_ENUM
// Layout of one op row in the int64 table handed over by Python.
#define PTC_OP_ROW (4 + PTC_MAX_IN + PTC_MAX_PARAM + PTC_MAX_IARG)

typedef struct {
    int kind;
    int flags;
    int out;  // buffer id
    int n_in;
    int in[PTC_MAX_IN];            // buffer ids
    int64_t param[PTC_MAX_PARAM];  // offsets into the flat parameter array, -1 if none
    int64_t iarg[PTC_MAX_IARG];
    double farg[PTC_MAX_FARG];
} ptc_op;

typedef struct {
    int64_t offset, size;  // a slice of the flat parameters
    double l1, l2;         // penalty l1 * sum|w| + l2 * sum w^2 (Keras's formulas)
} ptc_regularizer;

#define PTC_MAX_METRICS 16
// Most inputs and most outputs of one plan.
#define PTC_MAX_IO 16

// The loss of one output. The total loss is sum_h weight_h * loss_h (Keras 3's compile(loss_weights=)).
typedef struct {
    int kind;           // ptc_loss_kind, PTC_LOSS_TRACED for a loss traced into the plan's ops
    int loss_buf;       // buffer the loss reads: the output, its logits when fused, a traced loss's values
    int y_buf;          // buffer the batch's targets are copied to (traced losses and metrics read it), or -1
    int64_t rows;       // rows of the output's last axis per sample (1 for (N, D) outputs)
    int64_t y_size;     // target floats per sample
    int64_t y_off;      // its first column in each row of y, and its block of ybatch is at max_batch * y_off
    int64_t r_off;      // its block of wbatch (rows row weights per sample) is at max_batch * r_off
    double weight;      // loss_weight
    int64_t loss_slot;  // sums[loss_slot] += loss * samples; -1 with one head (sums[0] is its loss)
    int64_t wsum_slot;  // sums[wsum_slot] += the batch's sample weights (samples when unweighted)
    double loss_params[PTC_LOSS_N_PARAMS];  // a built-in loss's parameters (PTC_LOSS_PARAMS); zero unless set
    // Keras's mask of the output (rows floats per sample, 1 for a row that counts) or -1
    // (ptc_plan_set_head_mask). Its loss and masked metrics weigh row r by w_n * mask_r,
    // rescaled by total / valid for sum_over_batch_size (Keras's losses.loss.apply_mask).
    int mask_buf;
    int64_t mwsum_slot;  // sums[mwsum_slot] += sum_r w_n mask_r / rows (weighted masked metrics' divisor)
    int64_t msum_slot;   // sums[msum_slot] += sum_r mask_r / rows (unweighted masked metrics' divisor)
    // The predictions its metrics (and a built-in loss) compare with the targets: the output, or
    // the output repeated by the plan's ops to the targets' wider shape (Keras broadcasts y_pred
    // against y_true, keras/src/losses/loss.py squeeze_or_expand_to_same_rank).
    int pred_buf;
    // The targets its metrics read when not the gathered ones (-1): a traced loss's narrower targets
    // repeated by the plan's ops to the predictions' shape (ptc_plan_set_head_metric_targets).
    int metric_y_buf;
} ptc_head;

typedef struct {
    int n_ops;
    ptc_op *ops;
    int n_bufs;
    int64_t *buf_size;          // (n_bufs,) floats per sample
    int64_t *buf_off;           // (n_bufs,) offset of each buffer in acts/dacts, per batch row count
    signed char *dact_rows;     // (n_bufs,) rows of its gradient a step zeroes: 1 all, 0 none (a fused
                                // op's output), -1 row 0 only (a per-batch op's); from the op flags
    int input_buf, output_buf;  // the first input and output
    // Several inputs: each row of x holds the inputs' rows side by side (x_size floats), gathered into
    // each input's buffer. Several outputs: predict writes their rows side by side (out_size floats).
    int n_inputs, n_outputs;
    int inputs[PTC_MAX_IO], outputs[PTC_MAX_IO];
    int64_t x_size, out_size;
    int64_t max_batch;
    float *acts;           // (max_batch * sum(buf_size),) activations
    float **act_at;        // (n_bufs,) where each buffer's activations are: acts + buf_off, except
                           // while predict lends the input and output rows of the caller's arrays
    float *dacts;          // same layout, gradients of the activations
    int64_t *idx;          // (max_batch,) sample indices of the current batch
    float *ybatch;         // per head, (max_batch, its y_size) gathered targets
    int64_t y_cap, w_cap;  // floats allocated in ybatch and wbatch
    // parameters, gradients (borrowed from Python): (P,)
    float *params, *grads;
    int64_t n_params;
    int64_t n_trainable;  // the optimizer updates params[:n_trainable]; the rest is frozen
    // losses: one head per output (n_heads == n_outputs once compiled)
    int n_heads;
    ptc_head heads[PTC_MAX_IO];
    int64_t y_size;  // target floats per sample: the heads' side by side
    // metrics, each computed on its head's output
    int n_metrics;
    ptc_metric metrics[PTC_MAX_METRICS];
    float *metric_table;  // the THRESHOLD_TABLE metrics' thresholds, side by side (metrics_table.c)
    int64_t n_metric_table;
    // [total loss * samples, samples, then per head: (its loss * samples when several heads),
    //  its weight sum, its metrics' slots...]; with one head: [loss * samples, samples, weight sum, ...]
    int64_t n_sums;
    const float *sample_weight;  // (n, w_cols) of the current pass or NULL; borrowed for one call
    int w_cols;                  // 1: every head reads column 0; else one column per head
    int w_rows;                  // 1: w_cols = the heads' rows summed: one weight per row (Keras's (n, steps))
    float *wbatch;               // per head, (max_batch * rows,) gathered row weights
    int n_regs;
    ptc_regularizer *regs;
    ptc_optimizer opt;
    int n_constraints;  // applied after each optimizer step (constraints.c)
    struct ptc_constraint *constraints;
    // per-op workspaces (im2col, dropout masks, batch statistics), sized in reserve
    float *scratch;
    int64_t *scratch_off;  // (n_ops,)
    // one RNG per dropout op (borrowed, Python owns and saves them)
    ptc_rng *rngs;
    int64_t n_rngs;
    double activity_penalty;  // activity regularization of the current batch
    int bad_op;               // with PTC_ERR_OP: the index of the malformed op
    // Set by a forward op that met bad data (PTC_ERR_INDEX): bad_op and bad_value
    // name the op and the value; the engine stops the pass after that op.
    ptc_status op_error;
    double bad_value;
} ptc_plan;

// Sets the RNG states dropout ops draw their masks from: (n, 4) uint64, borrowed.
ptc_status ptc_plan_set_rngs(ptc_plan *plan, ptc_rng *rngs, int64_t n);
// PTC_ERR_VALUE if a dropout op names an RNG the plan was not given.
ptc_status ptc_plan_check_rngs(const ptc_plan *plan);

// Several inputs (buffers no op writes) or outputs, in order; n in [1, PTC_MAX_IO]. Setting
// the outputs drops the heads and metrics. PTC_ERR_VALUE for a bad, repeated or written buffer.
ptc_status ptc_plan_set_inputs(ptc_plan *plan, const int *bufs, int n);
ptc_status ptc_plan_set_outputs(ptc_plan *plan, const int *bufs, int n);
// Sets the loss of output `head` (heads are set in order: head <= n_heads), with its loss_weight.
// pred_buf: the predictions the loss and metrics read (-1: the output; else the output repeated to
// the targets' shape, a multiple of its size, which loss_buf then is).
ptc_status ptc_plan_set_head_loss(ptc_plan *plan, int head, int kind, int loss_buf, int pred_buf, int64_t last_dim,
                                  double weight);
// A loss traced from Python (pytrainc.ops): loss_buf holds each sample's loss values, computed
// by the plan's ops from the output and from y_buf, which each batch's targets are copied to,
// reduced as the head's PTC_LOSS_P_REDUCTION says (default Keras's sum_over_batch_size:
// sum_n w_n sum_l v_nl / (N * L) over L values per sample). last_dim and pred_buf as in
// set_head_loss (for the metrics); y_buf holds the targets as they come (Keras hands a traced loss
// y_true of its own shape), so the head's targets are its size.
ptc_status ptc_plan_set_head_traced_loss(ptc_plan *plan, int head, int loss_buf, int y_buf, int pred_buf,
                                         int64_t last_dim, double weight);
// Copies each batch's targets (y_size floats per sample) to buffer y_buf too, for traced metrics
// under a built-in loss; call after set_head_loss. PTC_ERR_VALUE if the buffer does not fit.
ptc_status ptc_plan_set_head_targets_buf(ptc_plan *plan, int head, int y_buf);
// The targets head's metrics read instead of the gathered ones: buffer y_buf (written by the plan's
// ops), of its predictions' size. Call after the head's loss. PTC_ERR_VALUE if it does not fit.
ptc_status ptc_plan_set_head_metric_targets(ptc_plan *plan, int head, int y_buf);
// Keras's mask of head h's output: buffer mask_buf holds one float per row of the head's loss
// (1: counts, 0: masked), written by the plan's ops. Call after the head's loss (set_head_loss
// or set_head_traced_loss reset it) and before set_metrics; -1 removes it. Adds the head's two
// mask slots to the sums. PTC_ERR_VALUE if the buffer does not hold one float per row.
ptc_status ptc_plan_set_head_mask(ptc_plan *plan, int head, int mask_buf);
// Sets the metrics (copied; offsets assigned here). PTC_ERR_VALUE if one does not fit its head.
ptc_status ptc_plan_set_metrics(ptc_plan *plan, const ptc_metric *metrics, int n);
// Copies the thresholds the THRESHOLD_TABLE metrics read and drops the metrics: ptc_plan_set_metrics
// comes after it and points each at its part. Allocated once here, never per batch.
ptc_status ptc_plan_set_metric_table(ptc_plan *plan, const float *table, int64_t n);
// PTC_ERR_VALUE unless a THRESHOLD_TABLE metric's part lies in the plan's table; _resolve points them at it.
ptc_status ptc_metric_table_check(const ptc_plan *plan, const ptc_metric *m);
void ptc_metric_table_resolve(ptc_plan *plan);

// Takes ownership of nothing: copies ops and sizes. Workspaces sized for max_batch.
ptc_status ptc_plan_init(ptc_plan *plan, const ptc_op *ops, int n_ops, const int64_t *buf_size, int n_bufs,
                         int input_buf, int output_buf, int64_t max_batch);
ptc_status ptc_plan_reserve(ptc_plan *plan, int64_t max_batch);
void ptc_plan_free(ptc_plan *plan);
ptc_status ptc_plan_set_regularizers(ptc_plan *plan, const ptc_regularizer *regs, int n_regs);
// Sets head 0 with loss_weight 1.
// kind is a ptc_loss_kind; loss_buf is the output buffer or, for a fused loss, its logits.
// last_dim is the width D of the output's last axis (the loss sees rows of D).
ptc_status ptc_plan_set_loss(ptc_plan *plan, int kind, int loss_buf, int64_t last_dim);
// The built-in loss's parameters, (PTC_LOSS_N_PARAMS,) copied. PTC_ERR_VALUE if one is not finite.
ptc_status ptc_plan_set_loss_params(ptc_plan *plan, int head, const double *params);
// PTC_ERR_VALUE unless every op's parameters and every regularizer lie inside
// the n_params floats of plan->params (call after setting params and regs).
ptc_status ptc_plan_check_params(ptc_plan *plan);

// Trains on batches [b0, b1) of an epoch whose sample order is perm (n samples,
// batches of batch_size, the last one possibly smaller). x: (n_total, in size),
// y: (n_total, y_size). Adds into sums. Stops early at a batch boundary with
// PTC_ERR_INTERRUPTED when *stop becomes non-zero, and, when stop_on_nonfinite,
// with PTC_STOPPED_NONFINITE after a batch whose loss is not finite. *done
// counts batches run; *last_loss is the loss of the last one.
ptc_status ptc_plan_train(ptc_plan *plan, const float *x, const float *y, const int64_t *perm, int64_t n,
                          int64_t batch_size, int64_t b0, int64_t b1, volatile const int *stop, int stop_on_nonfinite,
                          double *sums, int64_t *done, double *last_loss);
// Loss and metrics over all n samples in order, no parameter change.
ptc_status ptc_plan_evaluate(ptc_plan *plan, const float *x, const float *y, int64_t n, int64_t batch_size,
                             volatile const int *stop, double *sums);
// Non-finite floats among x's n (0 for finite data after one vectorized pass over the exponent bits).
int64_t ptc_count_nonfinite(const float *x, int64_t n);
// Output buffer for all n samples: out (n, out size). training != 0 runs the forward pass as
// fit does (dropout drawn from the plan's RNGs, batch statistics, moving statistics updated):
// Keras's eager `model(x, training=True)`. check_finite: PTC_ERR_NONFINITE at the first batch of x
// holding NaN or inf, checked just before the batch is read (while it is in cache).
ptc_status ptc_plan_predict(ptc_plan *plan, const float *x, int64_t n, int64_t batch_size, int training,
                            int check_finite, volatile const int *stop, float *out);

// ---------------------------------------------------------------------------
// Weight constraints (constraints.c, kinds.def's PTC_CONSTRAINTS), Keras 3's formulas with
// epsilon 1e-7: MaxNorm w * clip(n, 0, max) / (eps + n), MinMaxNorm w * (rate * clip(n, min, max)
// + (1 - rate) * n) / (eps + n), UnitNorm w / (eps + n), NonNeg max(w, 0), n the norms over the
// axes whose bits are set in `axes` (kept as size-1 axes, broadcast back over w).
#define PTC_CONSTRAINT_ENUM(NAME) PTC_CONSTRAINT_##NAME,
typedef enum { PTC_CONSTRAINTS(PTC_CONSTRAINT_ENUM) PTC_CONSTRAINT_COUNT } ptc_constraint_kind;
#undef PTC_CONSTRAINT_ENUM
#define PTC_CONSTRAINT_MAX_RANK 6
typedef struct ptc_constraint {
    int kind;        // ptc_constraint_kind
    int rank;        // of the variable, 0 to PTC_CONSTRAINT_MAX_RANK
    int axes;        // bit k set: axis k is reduced in the norms
    int64_t offset;  // of the variable in the flat parameters
    int64_t dims[PTC_CONSTRAINT_MAX_RANK];
    double min_value, max_value, rate;
} ptc_constraint;

// PTC_ERR_VALUE for a bad kind, rank, dimension, axis bit or value; *size receives the floats.
ptc_status ptc_constraint_check(const ptc_constraint *c, int64_t *size);
// Projects the variable w (c->dims) in place. The naive reference needs norms (kept size,).
void ptc_constraint_apply(const ptc_constraint *c, float *w);
void ptc_constraint_apply_naive(const ptc_constraint *c, float *w, double *norms);
// Copies the constraints (their variables must lie in params[:n_trainable]) and applies them
// after every optimizer step of ptc_plan_train.
ptc_status ptc_plan_set_constraints(ptc_plan *plan, const ptc_constraint *cs, int n);
void ptc_plan_apply_constraints(ptc_plan *plan);

#endif  // PTC_H
