// Every registered op's check, scratch size, forward and backward, and the table
// the engine dispatches through. An adapter unpacks the op's named arguments
// (PTC_<ID>_<NAME>, from ops.def) and calls the op's kernels; the kernels live in
// their family files (dense.c, conv.c, pool.c, norm.c, merge.c, dropout.c, ...).
#include <limits.h>
#include <stddef.h>

#include "ops.h"

#define BAD PTC_ERR_OP

// a * b into *r unless it overflows int64 (a, b >= 0); 0 on overflow.
static int mul_ok(int64_t a, int64_t b, int64_t *r) {
    if (a < 0 || b < 0 || (a != 0 && b > INT64_MAX / a)) return 0;
    *r = a * b;
    return 1;
}

static int64_t in_size(const ptc_plan *p, const ptc_op *op, int k) { return p->buf_size[op->in[k]]; }
static int64_t out_size(const ptc_plan *p, const ptc_op *op) { return p->buf_size[op->out]; }
static int64_t no_scratch(const ptc_plan *p, const ptc_op *op, int64_t N) { return 0; }
// Gradient of input k, or NULL for the model input (nothing upstream needs it).
static float *din_of(const ptc_plan *p, const ptc_op *op, int k) {
    return op->in[k] == p->input_buf ? NULL : ptc_plan_dact(p, op->in[k]);
}

// ---------------------------------------------------------------------------
// dense
static ptc_status dense_check(const ptc_plan *p, const ptc_op *op, int64_t need[PTC_MAX_PARAM]) {
    const int64_t R = op->iarg[PTC_DENSE_ROWS], IN = op->iarg[PTC_DENSE_UNITS_IN], OUT = op->iarg[PTC_DENSE_UNITS_OUT];
    int64_t ri, ro;
    if (R <= 0 || IN <= 0 || OUT <= 0 || IN > INT_MAX || OUT > INT_MAX || !mul_ok(R, IN, &ri) ||
        !mul_ok(R, OUT, &ro) || !mul_ok(IN, OUT, &need[PTC_DENSE_KERNEL]) || ri != in_size(p, op, 0) ||
        ro != out_size(p, op) || op->param[PTC_DENSE_KERNEL] < 0)
        return BAD;
    need[PTC_DENSE_BIAS] = OUT;
    return PTC_OK;
}

static int64_t dense_scratch(const ptc_plan *p, const ptc_op *op, int64_t N) {
    int64_t rows;  // sgemm takes int sizes: the batch's rows must fit one
    return mul_ok(op->iarg[PTC_DENSE_ROWS], N, &rows) && rows <= INT_MAX ? 0 : -1;
}

static void dense_forward(ptc_plan *p, int i, int64_t N, int training) {
    const ptc_op *op = &p->ops[i];
    ptc_dense_forward(ptc_plan_act(p, op->out), ptc_plan_act(p, op->in[0]), ptc_plan_param(p, op, PTC_DENSE_KERNEL),
                      ptc_plan_param(p, op, PTC_DENSE_BIAS), N * op->iarg[PTC_DENSE_ROWS],
                      op->iarg[PTC_DENSE_UNITS_IN], op->iarg[PTC_DENSE_UNITS_OUT]);
}

static void dense_backward(ptc_plan *p, int i, int64_t N) {
    const ptc_op *op = &p->ops[i];
    ptc_dense_backward(din_of(p, op, 0), ptc_plan_grad(p, op, PTC_DENSE_KERNEL), ptc_plan_grad(p, op, PTC_DENSE_BIAS),
                       ptc_plan_dact(p, op->out), ptc_plan_act(p, op->in[0]), ptc_plan_param(p, op, PTC_DENSE_KERNEL),
                       N * op->iarg[PTC_DENSE_ROWS], op->iarg[PTC_DENSE_UNITS_IN], op->iarg[PTC_DENSE_UNITS_OUT]);
}

// ---------------------------------------------------------------------------
// activation
static ptc_status activation_check(const ptc_plan *p, const ptc_op *op, int64_t need[PTC_MAX_PARAM]) {
    const int64_t kind = op->iarg[PTC_ACTIVATION_KIND], D = op->iarg[PTC_ACTIVATION_WIDTH];
    if (kind < 0 || kind >= PTC_ACT_COUNT || D <= 0 || out_size(p, op) % D != 0 || in_size(p, op, 0) != out_size(p, op))
        return BAD;
    return PTC_OK;
}

static void activation_forward(ptc_plan *p, int i, int64_t N, int training) {
    const ptc_op *op = &p->ops[i];
    const int64_t D = op->iarg[PTC_ACTIVATION_WIDTH], n = N * out_size(p, op);
    ptc_act_forward((int)op->iarg[PTC_ACTIVATION_KIND], ptc_plan_act(p, op->out), ptc_plan_act(p, op->in[0]), n / D, D,
                    (float)op->farg[PTC_ACTIVATION_ALPHA]);
}

static void activation_backward(ptc_plan *p, int i, int64_t N) {
    const ptc_op *op = &p->ops[i];
    float *din = din_of(p, op, 0);
    if (!din) return;
    const int64_t D = op->iarg[PTC_ACTIVATION_WIDTH], n = N * out_size(p, op);
    ptc_act_backward((int)op->iarg[PTC_ACTIVATION_KIND], din, ptc_plan_dact(p, op->out), ptc_plan_act(p, op->in[0]),
                     ptc_plan_act(p, op->out), n / D, D, (float)op->farg[PTC_ACTIVATION_ALPHA]);
}

// ---------------------------------------------------------------------------
// conv2d
static ptc_conv2d_shape conv_shape(const ptc_op *op, int64_t N) {
    const int64_t *a = op->iarg;
    ptc_conv2d_shape s = {N, a[PTC_CONV2D_H], a[PTC_CONV2D_W], a[PTC_CONV2D_C], a[PTC_CONV2D_KH], a[PTC_CONV2D_KW],
                          a[PTC_CONV2D_F], a[PTC_CONV2D_SH], a[PTC_CONV2D_SW], a[PTC_CONV2D_DH], a[PTC_CONV2D_DW],
                          a[PTC_CONV2D_PT], a[PTC_CONV2D_PL], a[PTC_CONV2D_OH], a[PTC_CONV2D_OW]};
    return s;
}

static ptc_status conv2d_check(const ptc_plan *p, const ptc_op *op, int64_t need[PTC_MAX_PARAM]) {
    const int64_t *a = op->iarg;
    for (int k = 0; k < PTC_CONV2D_N_IARGS; k++)
        if (a[k] < (k == PTC_CONV2D_PT || k == PTC_CONV2D_PL ? 0 : 1)) return BAD;
    ptc_conv2d_shape s = conv_shape(op, p->max_batch > 0 ? p->max_batch : 1);
    if (!ptc_conv2d_shape_valid(&s)) return BAD;
    if (s.H * s.W * s.C != in_size(p, op, 0) || s.OH * s.OW * s.F != out_size(p, op) || op->param[PTC_CONV2D_KERNEL] < 0)
        return BAD;
    need[PTC_CONV2D_KERNEL] = s.KH * s.KW * s.C * s.F;
    need[PTC_CONV2D_BIAS] = s.F;
    return PTC_OK;
}

static int64_t conv2d_scratch(const ptc_plan *p, const ptc_op *op, int64_t N) {
    ptc_conv2d_shape s = conv_shape(op, N);
    return ptc_conv2d_shape_valid(&s) ? ptc_conv2d_workspace(&s) : -1;
}

static void conv2d_forward(ptc_plan *p, int i, int64_t N, int training) {
    const ptc_op *op = &p->ops[i];
    ptc_conv2d_shape s = conv_shape(op, N);
    ptc_conv2d_forward(ptc_plan_act(p, op->out), ptc_plan_act(p, op->in[0]), ptc_plan_param(p, op, PTC_CONV2D_KERNEL),
                       ptc_plan_param(p, op, PTC_CONV2D_BIAS), &s, ptc_plan_scratch(p, i));
}

static void conv2d_backward(ptc_plan *p, int i, int64_t N) {
    const ptc_op *op = &p->ops[i];
    ptc_conv2d_shape s = conv_shape(op, N);
    ptc_conv2d_backward(din_of(p, op, 0), ptc_plan_grad(p, op, PTC_CONV2D_KERNEL), ptc_plan_grad(p, op, PTC_CONV2D_BIAS),
                        ptc_plan_dact(p, op->out), ptc_plan_act(p, op->in[0]), ptc_plan_param(p, op, PTC_CONV2D_KERNEL),
                        &s, ptc_plan_scratch(p, i));
}

// ---------------------------------------------------------------------------
// maxpool2d, avgpool2d: the same arguments (ops.def's PTC_POOL2D_IARGS), so the
// MAXPOOL2D slots serve both.
static ptc_pool2d_shape pool_shape(const ptc_op *op, int64_t N) {
    const int64_t *a = op->iarg;
    ptc_pool2d_shape s = {N, a[PTC_MAXPOOL2D_H], a[PTC_MAXPOOL2D_W], a[PTC_MAXPOOL2D_C], a[PTC_MAXPOOL2D_KH],
                          a[PTC_MAXPOOL2D_KW], a[PTC_MAXPOOL2D_SH], a[PTC_MAXPOOL2D_SW], a[PTC_MAXPOOL2D_PT],
                          a[PTC_MAXPOOL2D_PL], a[PTC_MAXPOOL2D_OH], a[PTC_MAXPOOL2D_OW]};
    return s;
}

static ptc_status pool2d_check(const ptc_plan *p, const ptc_op *op, int64_t need[PTC_MAX_PARAM]) {
    for (int k = 0; k < PTC_MAXPOOL2D_N_IARGS; k++)
        if (op->iarg[k] < (k == PTC_MAXPOOL2D_PT || k == PTC_MAXPOOL2D_PL ? 0 : 1)) return BAD;
    ptc_pool2d_shape s = pool_shape(op, 1);
    if (!ptc_pool2d_shape_valid(&s)) return BAD;
    if (s.H * s.W * s.C != in_size(p, op, 0) || s.OH * s.OW * s.C != out_size(p, op)) return BAD;
    return PTC_OK;
}

static void maxpool2d_forward(ptc_plan *p, int i, int64_t N, int training) {
    const ptc_op *op = &p->ops[i];
    ptc_pool2d_shape s = pool_shape(op, N);
    ptc_maxpool2d_forward(ptc_plan_act(p, op->out), ptc_plan_act(p, op->in[0]), &s);
}

static void maxpool2d_backward(ptc_plan *p, int i, int64_t N) {
    const ptc_op *op = &p->ops[i];
    float *din = din_of(p, op, 0);
    if (!din) return;
    ptc_pool2d_shape s = pool_shape(op, N);
    ptc_maxpool2d_backward(din, ptc_plan_dact(p, op->out), ptc_plan_act(p, op->in[0]), &s);
}

static void avgpool2d_forward(ptc_plan *p, int i, int64_t N, int training) {
    const ptc_op *op = &p->ops[i];
    ptc_pool2d_shape s = pool_shape(op, N);
    ptc_avgpool2d_forward(ptc_plan_act(p, op->out), ptc_plan_act(p, op->in[0]), &s);
}

static void avgpool2d_backward(ptc_plan *p, int i, int64_t N) {
    const ptc_op *op = &p->ops[i];
    float *din = din_of(p, op, 0);
    if (!din) return;
    ptc_pool2d_shape s = pool_shape(op, N);
    ptc_avgpool2d_backward(din, ptc_plan_dact(p, op->out), &s);
}

// ---------------------------------------------------------------------------
// global_avgpool, global_maxpool: (S, C) -> (C,), the same slots.
static ptc_status global_pool_check(const ptc_plan *p, const ptc_op *op, int64_t need[PTC_MAX_PARAM]) {
    const int64_t S = op->iarg[PTC_GLOBAL_AVGPOOL_S], C = op->iarg[PTC_GLOBAL_AVGPOOL_C];
    if (S <= 0 || C <= 0 || S * C != in_size(p, op, 0) || C != out_size(p, op)) return BAD;
    return PTC_OK;
}

static void global_avgpool_forward(ptc_plan *p, int i, int64_t N, int training) {
    const ptc_op *op = &p->ops[i];
    ptc_global_avgpool_forward(ptc_plan_act(p, op->out), ptc_plan_act(p, op->in[0]), N, op->iarg[PTC_GLOBAL_AVGPOOL_S],
                               op->iarg[PTC_GLOBAL_AVGPOOL_C]);
}

static void global_avgpool_backward(ptc_plan *p, int i, int64_t N) {
    const ptc_op *op = &p->ops[i];
    float *din = din_of(p, op, 0);
    if (din)
        ptc_global_avgpool_backward(din, ptc_plan_dact(p, op->out), N, op->iarg[PTC_GLOBAL_AVGPOOL_S],
                                    op->iarg[PTC_GLOBAL_AVGPOOL_C]);
}

static void global_maxpool_forward(ptc_plan *p, int i, int64_t N, int training) {
    const ptc_op *op = &p->ops[i];
    ptc_global_maxpool_forward(ptc_plan_act(p, op->out), ptc_plan_act(p, op->in[0]), N, op->iarg[PTC_GLOBAL_MAXPOOL_S],
                               op->iarg[PTC_GLOBAL_MAXPOOL_C]);
}

static void global_maxpool_backward(ptc_plan *p, int i, int64_t N) {
    const ptc_op *op = &p->ops[i];
    float *din = din_of(p, op, 0);
    if (din)
        ptc_global_maxpool_backward(din, ptc_plan_dact(p, op->out), ptc_plan_act(p, op->in[0]), N,
                                    op->iarg[PTC_GLOBAL_MAXPOOL_S], op->iarg[PTC_GLOBAL_MAXPOOL_C]);
}

// ---------------------------------------------------------------------------
// batchnorm
static ptc_status batchnorm_check(const ptc_plan *p, const ptc_op *op, int64_t need[PTC_MAX_PARAM]) {
    const int64_t C = op->iarg[PTC_BATCHNORM_C];
    if (C <= 0 || in_size(p, op, 0) != out_size(p, op) || out_size(p, op) % C != 0 ||
        op->param[PTC_BATCHNORM_MOVING_MEAN] < 0 || op->param[PTC_BATCHNORM_MOVING_VAR] < 0)
        return BAD;
    for (int k = 0; k < PTC_BATCHNORM_N_PARAMS; k++) need[k] = C;
    return PTC_OK;
}

static int64_t batchnorm_scratch(const ptc_plan *p, const ptc_op *op, int64_t N) {
    return 2 * op->iarg[PTC_BATCHNORM_C];  // the batch's mean and inverse deviation
}

static void batchnorm_forward(ptc_plan *p, int i, int64_t N, int training) {
    const ptc_op *op = &p->ops[i];
    const int64_t C = op->iarg[PTC_BATCHNORM_C];
    // A frozen layer normalizes with its moving statistics, as Keras 3.
    ptc_batchnorm_forward(ptc_plan_act(p, op->out), ptc_plan_act(p, op->in[0]), ptc_plan_param(p, op, PTC_BATCHNORM_GAMMA),
                          ptc_plan_param(p, op, PTC_BATCHNORM_BETA), p->params + op->param[PTC_BATCHNORM_MOVING_MEAN],
                          p->params + op->param[PTC_BATCHNORM_MOVING_VAR], N * out_size(p, op) / C, C,
                          (float)op->farg[PTC_BATCHNORM_MOMENTUM], (float)op->farg[PTC_BATCHNORM_EPSILON],
                          training && !op->iarg[PTC_BATCHNORM_FROZEN], ptc_plan_scratch(p, i));
}

static void batchnorm_backward(ptc_plan *p, int i, int64_t N) {
    const ptc_op *op = &p->ops[i];
    const int64_t C = op->iarg[PTC_BATCHNORM_C], rows = N * out_size(p, op) / C;
    float *din = din_of(p, op, 0);
    const float *dout = ptc_plan_dact(p, op->out), *in = ptc_plan_act(p, op->in[0]);
    float *dgamma = ptc_plan_grad(p, op, PTC_BATCHNORM_GAMMA), *dbeta = ptc_plan_grad(p, op, PTC_BATCHNORM_BETA);
    const float *gamma = ptc_plan_param(p, op, PTC_BATCHNORM_GAMMA);
    if (op->iarg[PTC_BATCHNORM_FROZEN])  // the moving statistics are constants
        ptc_batchnorm_backward_inference(din, dgamma, dbeta, dout, in, gamma, rows, C, ptc_plan_scratch(p, i));
    else  // through the batch statistics; runs even without din, for gamma and beta
        ptc_batchnorm_backward(din, dgamma, dbeta, dout, in, gamma, rows, C, ptc_plan_scratch(p, i));
}

// ---------------------------------------------------------------------------
// dropout
static ptc_status dropout_check(const ptc_plan *p, const ptc_op *op, int64_t need[PTC_MAX_PARAM]) {
    const double rate = op->farg[PTC_DROPOUT_RATE];
    if (in_size(p, op, 0) != out_size(p, op) || op->iarg[PTC_DROPOUT_RNG] < 0 || !(rate >= 0.0 && rate < 1.0))
        return BAD;
    return PTC_OK;
}

static int64_t dropout_scratch(const ptc_plan *p, const ptc_op *op, int64_t N) {
    int64_t n;  // the mask
    return mul_ok(N, out_size(p, op), &n) ? n : -1;
}

static void dropout_forward(ptc_plan *p, int i, int64_t N, int training) {
    const ptc_op *op = &p->ops[i];
    ptc_dropout_forward(ptc_plan_act(p, op->out), ptc_plan_scratch(p, i), ptc_plan_act(p, op->in[0]),
                        N * out_size(p, op), (float)op->farg[PTC_DROPOUT_RATE], &p->rngs[op->iarg[PTC_DROPOUT_RNG]],
                        training);
}

static void dropout_backward(ptc_plan *p, int i, int64_t N) {
    const ptc_op *op = &p->ops[i];
    float *din = din_of(p, op, 0);
    if (din)
        ptc_dropout_backward(din, ptc_plan_dact(p, op->out), ptc_plan_scratch(p, i), N * out_size(p, op),
                             (float)op->farg[PTC_DROPOUT_RATE]);
}

// ---------------------------------------------------------------------------
// add, subtract, multiply, average, concat: several inputs.
static ptc_status merge_check(const ptc_plan *p, const ptc_op *op, int64_t need[PTC_MAX_PARAM]) {
    for (int k = 0; k < op->n_in; k++)
        if (in_size(p, op, k) != out_size(p, op)) return BAD;
    return PTC_OK;
}

static void gather_ins(const ptc_plan *p, const ptc_op *op, const float **ins, float **dins) {
    for (int k = 0; k < op->n_in; k++) {
        if (ins) ins[k] = ptc_plan_act(p, op->in[k]);
        if (dins) dins[k] = din_of(p, op, k);
    }
}

static void add_forward(ptc_plan *p, int i, int64_t N, int training) {
    const ptc_op *op = &p->ops[i];
    const float *ins[PTC_MAX_IN];
    gather_ins(p, op, ins, NULL);
    ptc_add_forward(ptc_plan_act(p, op->out), ins, op->n_in, N * out_size(p, op));
}

static void add_backward(ptc_plan *p, int i, int64_t N) {
    const ptc_op *op = &p->ops[i];
    float *dins[PTC_MAX_IN];
    gather_ins(p, op, NULL, dins);
    ptc_add_backward(dins, ptc_plan_dact(p, op->out), op->n_in, N * out_size(p, op));
}

static void subtract_forward(ptc_plan *p, int i, int64_t N, int training) {
    const ptc_op *op = &p->ops[i];
    ptc_subtract_forward(ptc_plan_act(p, op->out), ptc_plan_act(p, op->in[0]), ptc_plan_act(p, op->in[1]),
                         N * out_size(p, op));
}

static void subtract_backward(ptc_plan *p, int i, int64_t N) {
    const ptc_op *op = &p->ops[i];
    ptc_subtract_backward(din_of(p, op, 0), din_of(p, op, 1), ptc_plan_dact(p, op->out), N * out_size(p, op));
}

static void multiply_forward(ptc_plan *p, int i, int64_t N, int training) {
    const ptc_op *op = &p->ops[i];
    const float *ins[PTC_MAX_IN];
    gather_ins(p, op, ins, NULL);
    ptc_multiply_forward(ptc_plan_act(p, op->out), ins, op->n_in, N * out_size(p, op));
}

static void multiply_backward(ptc_plan *p, int i, int64_t N) {
    const ptc_op *op = &p->ops[i];
    const float *ins[PTC_MAX_IN];
    float *dins[PTC_MAX_IN];
    gather_ins(p, op, ins, dins);
    ptc_multiply_backward(dins, ptc_plan_dact(p, op->out), ins, op->n_in, N * out_size(p, op));
}

static void average_forward(ptc_plan *p, int i, int64_t N, int training) {
    const ptc_op *op = &p->ops[i];
    const float *ins[PTC_MAX_IN];
    gather_ins(p, op, ins, NULL);
    ptc_average_forward(ptc_plan_act(p, op->out), ins, op->n_in, N * out_size(p, op));
}

static void average_backward(ptc_plan *p, int i, int64_t N) {
    const ptc_op *op = &p->ops[i];
    float *dins[PTC_MAX_IN];
    gather_ins(p, op, NULL, dins);
    ptc_average_backward(dins, ptc_plan_dact(p, op->out), op->n_in, N * out_size(p, op));
}

static ptc_status concat_check(const ptc_plan *p, const ptc_op *op, int64_t need[PTC_MAX_PARAM]) {
    int64_t total = 0;
    const int64_t outer = op->iarg[PTC_CONCAT_OUTER];
    if (outer <= 0) return BAD;
    for (int k = 0; k < op->n_in; k++) {
        if (in_size(p, op, k) % outer != 0) return BAD;
        total += in_size(p, op, k);
    }
    return total == out_size(p, op) ? PTC_OK : BAD;
}

static void concat_widths(const ptc_plan *p, const ptc_op *op, int64_t *widths) {
    for (int k = 0; k < op->n_in; k++) widths[k] = in_size(p, op, k) / op->iarg[PTC_CONCAT_OUTER];
}

static void concat_forward(ptc_plan *p, int i, int64_t N, int training) {
    const ptc_op *op = &p->ops[i];
    const float *ins[PTC_MAX_IN];
    int64_t widths[PTC_MAX_IN];
    gather_ins(p, op, ins, NULL);
    concat_widths(p, op, widths);
    ptc_concat_forward(ptc_plan_act(p, op->out), ins, widths, op->n_in, N * op->iarg[PTC_CONCAT_OUTER]);
}

static void concat_backward(ptc_plan *p, int i, int64_t N) {
    const ptc_op *op = &p->ops[i];
    float *dins[PTC_MAX_IN];
    int64_t widths[PTC_MAX_IN];
    gather_ins(p, op, NULL, dins);
    concat_widths(p, op, widths);
    ptc_concat_backward(dins, ptc_plan_dact(p, op->out), widths, op->n_in, N * op->iarg[PTC_CONCAT_OUTER]);
}

// ---------------------------------------------------------------------------
// activity_reg: in place (out is in[0]); Keras 3 adds the penalty of the whole batch.
static ptc_status activity_reg_check(const ptc_plan *p, const ptc_op *op, int64_t need[PTC_MAX_PARAM]) {
    return op->out == op->in[0] && op->n_in == 1 ? PTC_OK : BAD;
}

static void activity_reg_forward(ptc_plan *p, int i, int64_t N, int training) {
    const ptc_op *op = &p->ops[i];
    p->activity_penalty += ptc_penalty_value(ptc_plan_act(p, op->in[0]), N * out_size(p, op),
                                             op->farg[PTC_ACTIVITY_REG_L1], op->farg[PTC_ACTIVITY_REG_L2]);
}

static void activity_reg_backward(ptc_plan *p, int i, int64_t N) {
    const ptc_op *op = &p->ops[i];
    float *din = din_of(p, op, 0);  // aliases dout: the penalty's gradient is added in place
    if (din)
        ptc_penalty_grad(din, ptc_plan_act(p, op->in[0]), N * out_size(p, op), op->farg[PTC_ACTIVITY_REG_L1],
                         op->farg[PTC_ACTIVITY_REG_L2]);
}

// ---------------------------------------------------------------------------
// The table. Ops that share an adapter name it here; the rest follow the rule
// <name>_check / <name>_scratch (no_scratch when none) / <name>_forward / <name>_backward.
#define maxpool2d_check pool2d_check
#define avgpool2d_check pool2d_check
#define global_avgpool_check global_pool_check
#define global_maxpool_check global_pool_check
#define add_check merge_check
#define subtract_check merge_check
#define multiply_check merge_check
#define average_check merge_check
#define activation_scratch no_scratch
#define maxpool2d_scratch no_scratch
#define avgpool2d_scratch no_scratch
#define global_avgpool_scratch no_scratch
#define global_maxpool_scratch no_scratch
#define add_scratch no_scratch
#define subtract_scratch no_scratch
#define multiply_scratch no_scratch
#define average_scratch no_scratch
#define concat_scratch no_scratch
#define activity_reg_scratch no_scratch

// Names of an op's slots, NULL-terminated (a list may be empty).
#define NAME_STR(ID, NAME) #NAME,
#define OP_NAMES(ID, name, MIN_IN, MAX_IN)                                                  \
    static const char *const name##_param_names[] = {PTC_##ID##_PARAMS(NAME_STR, ID) NULL}; \
    static const char *const name##_iarg_names[] = {PTC_##ID##_IARGS(NAME_STR, ID) NULL};   \
    static const char *const name##_farg_names[] = {PTC_##ID##_FARGS(NAME_STR, ID) NULL};
PTC_OPS(OP_NAMES)

#define OP_ENTRY(ID, name, MIN_IN, MAX_IN)                                                               \
    [PTC_OP_##ID] = {#name, MIN_IN, MAX_IN, PTC_##ID##_N_PARAMS, PTC_##ID##_N_IARGS, PTC_##ID##_N_FARGS, \
                     name##_param_names, name##_iarg_names, name##_farg_names, name##_check,             \
                     name##_scratch, name##_forward, name##_backward},
const ptc_op_info ptc_op_table[PTC_OP_COUNT] = {PTC_OPS(OP_ENTRY)};
