// The recurrent ops' plan adapters (ops.def, dispatched through ops.c's table): argument
// unpacking, checks, scratch sizes, and the calls into rnn.c's ptc_rnn_forward/backward.
#include <string.h>

#include "blas.h"
#include "ops.h"
#include "ptc.h"

// ---------------------------------------------------------------------------
// The plan's op adapters (ops.def, dispatched through ops.c's table). The three
// cells share their arguments (PTC_RNN_IARGS), so the SIMPLE_RNN slots serve all.
enum { KERNEL = PTC_SIMPLE_RNN_KERNEL, RKERNEL = PTC_SIMPLE_RNN_RECURRENT_KERNEL, BIAS = PTC_SIMPLE_RNN_BIAS };
_Static_assert((int)PTC_LSTM_BIAS == (int)BIAS && (int)PTC_GRU_BIAS == (int)BIAS &&
                   (int)PTC_GRU_GO_BACKWARDS == (int)PTC_SIMPLE_RNN_GO_BACKWARDS,
               "the cells share one argument layout");
static ptc_rnn_shape op_shape(const ptc_op *op, int64_t N) {
    ptc_rnn_shape s = {N,
                       op->iarg[PTC_SIMPLE_RNN_T],
                       op->iarg[PTC_SIMPLE_RNN_UNITS_IN],
                       op->iarg[PTC_SIMPLE_RNN_UNITS],
                       (int)op->iarg[PTC_SIMPLE_RNN_ACT],
                       (int)op->iarg[PTC_SIMPLE_RNN_RECURRENT_ACT],
                       (int)op->iarg[PTC_SIMPLE_RNN_GO_BACKWARDS],
                       (int)op->iarg[PTC_SIMPLE_RNN_RETURN_SEQUENCES],
                       ptc_blas_sgemm,
                       NULL,
                       (float)op->farg[PTC_SIMPLE_RNN_DROPOUT],
                       (float)op->farg[PTC_SIMPLE_RNN_RECURRENT_DROPOUT],
                       0,
                       NULL,
                       (int)op->iarg[PTC_SIMPLE_RNN_INPUT_ORDER],
                       (int)op->iarg[PTC_SIMPLE_RNN_ZERO_MASKED],
                       NULL,
                       NULL,
                       NULL,
                       NULL,
                       (int)op->iarg[PTC_SIMPLE_RNN_RETURN_STATE]};
    return s;
}

static int cell_of(int kind) {
    return kind == PTC_OP_LSTM ? PTC_CELL_LSTM : kind == PTC_OP_GRU ? PTC_CELL_GRU : PTC_CELL_SIMPLE;
}

// Inputs after the sequence that are initial states (h0, and c0 for the LSTM), 0 without.
static int op_n_states(const ptc_op *op) {
    return op->iarg[PTC_SIMPLE_RNN_INITIAL_STATE] ? (op->kind == PTC_OP_LSTM ? 2 : 1) : 0;
}

static ptc_status rnn_check(const ptc_plan *p, const ptc_op *op, int64_t need[PTC_MAX_PARAM]) {
    const ptc_rnn_shape s = op_shape(op, 1);
    const int64_t G = cell_of(op->kind) * s.U, init = op->iarg[PTC_SIMPLE_RNN_INITIAL_STATE];
    const int ns = op_n_states(op);
    int64_t tin, tout;
    if ((init != 0 && init != 1) || (s.return_state != 0 && s.return_state != 1) || op->n_in < 1 + ns ||
        op->n_in > 2 + ns)
        return PTC_ERR_OP;
    for (int k = 1; k <= ns; k++)
        if (ptc_op_in_size(p, op, k) != s.U) return PTC_ERR_OP;
    if (s.T <= 0 || s.IN <= 0 || s.U <= 0 || s.U > INT64_MAX / 4 || !ptc_rnn_act_ok(s.act) || !ptc_rnn_act_ok(s.ract) ||
        (s.go_backwards != 0 && s.go_backwards != 1) || (s.return_sequences != 0 && s.return_sequences != 1) ||
        (s.input_order != 0 && s.input_order != 1) || (s.zero_masked != 0 && s.zero_masked != 1) ||
        !ptc_mul_ok(s.T, s.IN, &tin) || !ptc_mul_ok(s.T, G, &tout) || tin != ptc_op_in_size(p, op, 0) ||
        ptc_op_out_size(p, op) != ptc_rnn_out_size(cell_of(op->kind), &s) || !ptc_mul_ok(s.IN, G, &need[KERNEL]) ||
        !ptc_mul_ok(s.U, G, &need[RKERNEL]) || op->param[KERNEL] < 0 || op->param[RKERNEL] < 0 ||
        (op->n_in > 1 + ns && ptc_op_in_size(p, op, 1 + ns) != s.T) ||  // the mask, (T,) per sample
        !(s.dropout >= 0.0f && s.dropout < 1.0f) || !(s.recurrent_dropout >= 0.0f && s.recurrent_dropout < 1.0f) ||
        op->iarg[PTC_SIMPLE_RNN_RNG] < 0)
        return PTC_ERR_OP;
    need[BIAS] = op->kind == PTC_OP_GRU ? 2 * G : G;
    return PTC_OK;
}
int64_t ptc_rnn_op_rng(const ptc_op *op) {
    if (op->kind != PTC_OP_SIMPLE_RNN && op->kind != PTC_OP_LSTM && op->kind != PTC_OP_GRU) return -1;
    const ptc_rnn_shape s = op_shape(op, 1);
    return s.dropout > 0.0f || s.recurrent_dropout > 0.0f ? op->iarg[PTC_SIMPLE_RNN_RNG] : -1;
}

PTC_OP_CHECK_AS(simple_rnn, rnn_check)
PTC_OP_CHECK_AS(lstm, rnn_check)
PTC_OP_CHECK_AS(gru, rnn_check)

static int64_t rnn_scratch(const ptc_plan *p, const ptc_op *op, int64_t N) {
    (void)p;
    const ptc_rnn_shape s = op_shape(op, N);
    const int64_t G = cell_of(op->kind) * s.U;
    int64_t rows, a, b, c, d;
    // sgemm's int sizes (the N * T rows of the input projection, T * G floats between
    // a sequence's rows of gates, IN and G columns), and the workspace's size.
    if (!ptc_mul_ok(N, s.T, &rows) || rows > INT_MAX || s.T * G > INT_MAX || s.IN > INT_MAX ||
        !ptc_mul_ok(rows, G + 2 * s.U, &a) || !ptc_mul_ok(N, G + 2 * s.U, &b) || a > INT64_MAX - b ||
        !ptc_mul_ok(rows, s.IN, &c) || !ptc_mul_ok(N, 4 * (s.IN + s.U), &d) || c > INT64_MAX / 4 - d)
        return -1;  // and dropout's copy and masks (up to 4 of each)
    return ptc_rnn_work_size(cell_of(op->kind), &s);
}

// The op's shape with its optional inputs, the initial states (N, U) and the mask (N, T), and
// its generator.
static ptc_rnn_shape op_masked_shape(const ptc_plan *p, const ptc_op *op, int64_t N, int training) {
    ptc_rnn_shape s = op_shape(op, N);
    const int ns = op_n_states(op);
    s.mask = op->n_in > 1 + ns ? ptc_plan_act(p, op->in[1 + ns]) : NULL;
    s.h0 = ns > 0 ? ptc_plan_act(p, op->in[1]) : NULL;
    s.c0 = ns > 1 ? ptc_plan_act(p, op->in[2]) : NULL;
    s.training = training;
    s.rng = s.dropout > 0.0f || s.recurrent_dropout > 0.0f ? &p->rngs[op->iarg[PTC_SIMPLE_RNN_RNG]] : NULL;
    return s;
}

static void rnn_forward(ptc_plan *p, int i, int64_t N, int training) {
    const ptc_op *op = &p->ops[i];
    const ptc_rnn_shape s = op_masked_shape(p, op, N, training);
    ptc_rnn_forward(cell_of(op->kind), ptc_plan_act(p, op->out), ptc_plan_scratch(p, i), ptc_plan_act(p, op->in[0]),
                    ptc_plan_param(p, op, KERNEL), ptc_plan_param(p, op, RKERNEL), ptc_plan_param(p, op, BIAS), &s);
}

static void rnn_backward(ptc_plan *p, int i, int64_t N) {
    const ptc_op *op = &p->ops[i];
    ptc_rnn_shape s = op_masked_shape(p, op, N, 1);  // backward follows a training pass
    const int ns = op_n_states(op);
    s.dh0 = ns > 0 ? ptc_op_din(p, op, 1) : NULL;
    s.dc0 = ns > 1 ? ptc_op_din(p, op, 2) : NULL;
    ptc_rnn_backward(cell_of(op->kind), ptc_op_din(p, op, 0), ptc_plan_grad(p, op, KERNEL),
                     ptc_plan_grad(p, op, RKERNEL), ptc_plan_grad(p, op, BIAS), ptc_plan_dact(p, op->out),
                     ptc_plan_act(p, op->in[0]), ptc_plan_param(p, op, KERNEL), ptc_plan_param(p, op, RKERNEL),
                     ptc_plan_scratch(p, i), &s);
}

#define RNN_ADAPTERS(name)                                                            \
    int64_t ptc_op_##name##_scratch(const ptc_plan *p, const ptc_op *op, int64_t N) { \
        return rnn_scratch(p, op, N);                                                 \
    }                                                                                 \
    void ptc_op_##name##_forward(ptc_plan *p, int i, int64_t N, int training) {       \
        rnn_forward(p, i, N, training);                                               \
    }                                                                                 \
    void ptc_op_##name##_backward(ptc_plan *p, int i, int64_t N) {                    \
        rnn_backward(p, i, N);                                                        \
    }
RNN_ADAPTERS(simple_rnn)
RNN_ADAPTERS(lstm)
RNN_ADAPTERS(gru)
