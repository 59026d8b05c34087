// Index primitives of `pytrainc.ops` (issue #9): slicing (x[:, 1:3], ops.split), gathering
// (ops.take, ops.take_along_axis), argmax/argmin, prod and the keras.random draws.
//
// Each op sees its input as (OUTER, A, INNER): Python folds the axes before the one it works on
// into OUTER and those after into INNER, so a kernel is three loops and needs no box walker; an
// op over several axes is a chain of these (a product is associative, a multi-axis slice is one
// slice per axis). Indices reach the plan as floats (every buffer is float32): each is checked
// to be an integer before it indexes anything, as an Embedding id is (embedding.c).
#include <math.h>
#include <string.h>

#include "ops.h"
#include "prim.h"
#include "ptc.h"

// (OUTER, A, INNER) from iargs at first: 1 if all are positive and their product fits.
static int oai_of(const ptc_op *op, int first, int64_t d[3], int64_t *size) {
    *size = 1;
    for (int k = 0; k < 3; k++) {
        d[k] = op->iarg[first + k];
        if (d[k] <= 0 || !ptc_mul_ok(*size, d[k], size)) return 0;
    }
    return 1;
}

// ---------------------------------------------------------------------------
// slice: out (O, LEN, I) = in (O, A, I)[:, START + STEP * j, :].
void ptc_slice_forward(float *out, const float *inp, int64_t O, int64_t A, int64_t I, int64_t start, int64_t step,
                       int64_t len) {
    for (int64_t o = 0; o < O; o++)
        for (int64_t j = 0; j < len; j++)
            memcpy(out + (o * len + j) * I, inp + (o * A + start + step * j) * I, (size_t)I * sizeof(float));
}

void ptc_slice_backward(float *dinp, const float *dout, int64_t O, int64_t A, int64_t I, int64_t start, int64_t step,
                        int64_t len) {
    for (int64_t o = 0; o < O; o++)
        for (int64_t j = 0; j < len; j++) {
            float *d = dinp + (o * A + start + step * j) * I;
            const float *g = dout + (o * len + j) * I;
            for (int64_t i = 0; i < I; i++) d[i] += g[i];
        }
}

PTC_OP_NO_SCRATCH(slice)

ptc_status ptc_op_slice_check(const ptc_plan *p, const ptc_op *op, int64_t need[PTC_MAX_PARAM]) {
    int64_t d[3], size, out;
    const int64_t start = op->iarg[PTC_SLICE_START], step = op->iarg[PTC_SLICE_STEP], len = op->iarg[PTC_SLICE_LEN];
    if (!oai_of(op, PTC_SLICE_OUTER, d, &size) || step == 0 || len <= 0 || start < 0 || start >= d[1])
        return PTC_ERR_OP;
    const double last = (double)start + (double)step * (double)(len - 1);  // no int64 overflow on a bad step
    if (last < 0 || last >= (double)d[1] || !ptc_mul_ok(d[0] * d[2], len, &out)) return PTC_ERR_OP;
    return size == ptc_op_in_size(p, op, 0) && out == ptc_op_out_size(p, op) ? PTC_OK : PTC_ERR_OP;
}

void ptc_op_slice_forward(ptc_plan *p, int i, int64_t N, int training) {
    const ptc_op *op = &p->ops[i];
    (void)training;
    ptc_slice_forward(ptc_plan_act(p, op->out), ptc_plan_act(p, op->in[0]), N * op->iarg[PTC_SLICE_OUTER],
                      op->iarg[PTC_SLICE_EXTENT], op->iarg[PTC_SLICE_INNER], op->iarg[PTC_SLICE_START],
                      op->iarg[PTC_SLICE_STEP], op->iarg[PTC_SLICE_LEN]);
}

void ptc_op_slice_backward(ptc_plan *p, int i, int64_t N) {
    const ptc_op *op = &p->ops[i];
    float *din = ptc_op_din(p, op, 0);
    if (din)
        ptc_slice_backward(din, ptc_plan_dact(p, op->out), N * op->iarg[PTC_SLICE_OUTER], op->iarg[PTC_SLICE_EXTENT],
                           op->iarg[PTC_SLICE_INNER], op->iarg[PTC_SLICE_START], op->iarg[PTC_SLICE_STEP],
                           op->iarg[PTC_SLICE_LEN]);
}

// ---------------------------------------------------------------------------
// take: per sample, out (O, J, I) = x (O, A, I)[o, idx, i]. x_n, idx_n: floats between samples
// of x and of the indices (0 for a parameter, shared by the batch).
typedef struct {
    int64_t O, A, I, J, along, x_n, idx_n;
} take_dims;

static void take_dims_of(const ptc_plan *p, const ptc_op *op, take_dims *t) {
    t->O = op->iarg[PTC_TAKE_OUTER], t->A = op->iarg[PTC_TAKE_EXTENT], t->I = op->iarg[PTC_TAKE_INNER];
    t->J = op->iarg[PTC_TAKE_J], t->along = op->iarg[PTC_TAKE_ALONG];
    t->x_n = operand_input(op, 0) < 0 ? 0 : t->O * t->A * t->I;
    t->idx_n = operand_input(op, 1) < 0 ? 0 : (t->along ? t->O * t->J * t->I : t->J);
    (void)p;
}

// The index at idx as an offset in [0, A), or -1 (with *bad) if it is not an integer in [-A, A).
static int64_t take_index(float idx, int64_t A, double *bad) {
    if (!(idx >= -(float)A && idx < (float)A && idx == floorf(idx))) {
        *bad = idx;
        return -1;
    }
    return idx < 0 ? (int64_t)idx + A : (int64_t)idx;
}

static ptc_status take_walk(const take_dims *t, int64_t N, float *out, float *dx, const float *x, const float *idx,
                            const float *dout, double *bad) {
    ptc_status st = PTC_OK;
    for (int64_t n = 0; n < N; n++)
        for (int64_t o = 0; o < t->O; o++)
            for (int64_t j = 0; j < t->J; j++)
                for (int64_t i = 0; i < t->I; i++) {
                    const int64_t r = (o * t->J + j) * t->I + i;
                    const float v = idx[n * t->idx_n + (t->along ? r : j)];
                    const int64_t a = take_index(v, t->A, bad);
                    if (a < 0) {
                        st = PTC_ERR_INDEX;
                        if (out) out[n * t->O * t->J * t->I + r] = 0.0f;
                        continue;
                    }
                    const int64_t src = n * t->x_n + (o * t->A + a) * t->I + i;
                    if (out)
                        out[n * t->O * t->J * t->I + r] = x[src];
                    else
                        dx[src] += dout[n * t->O * t->J * t->I + r];
                }
    return st;
}

ptc_status ptc_op_take_check(const ptc_plan *p, const ptc_op *op, int64_t need[PTC_MAX_PARAM]) {
    int64_t d[3], size, out;
    const int64_t J = op->iarg[PTC_TAKE_J], along = op->iarg[PTC_TAKE_ALONG];
    if (!oai_of(op, PTC_TAKE_OUTER, d, &size) || J <= 0 || (along != 0 && along != 1) || !operands_fit(op, 2) ||
        !ptc_mul_ok(d[0] * d[2], J, &out) || out != ptc_op_out_size(p, op))
        return PTC_ERR_OP;
    const int64_t sizes[2] = {size, along ? out : J};
    return operand_sizes_fit(p, op, sizes, 2, need);
}

PTC_OP_NO_SCRATCH(take)

void ptc_op_take_forward(ptc_plan *p, int i, int64_t N, int training) {
    const ptc_op *op = &p->ops[i];
    take_dims t;
    (void)training;
    take_dims_of(p, op, &t);
    const ptc_status st =
        take_walk(&t, N, ptc_plan_act(p, op->out), NULL, operand(p, op, 0), operand(p, op, 1), NULL, &p->bad_value);
    if (st != PTC_OK) {
        p->op_error = st;
        p->bad_op = i;
    }
}

void ptc_op_take_backward(ptc_plan *p, int i, int64_t N) {
    const ptc_op *op = &p->ops[i];
    take_dims t;
    double bad;
    float *dx = doperand(p, op, 0);
    if (!dx) return;
    take_dims_of(p, op, &t);
    take_walk(&t, N, NULL, dx, operand(p, op, 0), operand(p, op, 1), ptc_plan_dact(p, op->out), &bad);
}

// ---------------------------------------------------------------------------
// arg_reduce: out (O, I) = the first index of the extreme along A (numpy.argmax, torch.argmax).
void ptc_arg_reduce_forward(float *out, const float *inp, int64_t O, int64_t A, int64_t I, int argmin) {
    for (int64_t o = 0; o < O; o++)
        for (int64_t i = 0; i < I; i++) {
            const float *x = inp + o * A * I + i;
            int64_t best = 0;
            for (int64_t a = 1; a < A && x[best * I] == x[best * I]; a++) {
                const float v = x[a * I];
                if (v != v || (argmin ? v < x[best * I] : v > x[best * I])) best = a;
            }
            out[o * I + i] = (float)best;
        }
}

ptc_status ptc_op_arg_reduce_check(const ptc_plan *p, const ptc_op *op, int64_t need[PTC_MAX_PARAM]) {
    int64_t d[3], size;
    const int64_t argmin = op->iarg[PTC_ARG_REDUCE_ARGMIN];
    // Indices are floats: every one must be exact (float32 holds each integer below 2^24).
    if (!oai_of(op, PTC_ARG_REDUCE_OUTER, d, &size) || (argmin != 0 && argmin != 1) || d[1] > (1 << 24))
        return PTC_ERR_OP;
    return size == ptc_op_in_size(p, op, 0) && d[0] * d[2] == ptc_op_out_size(p, op) ? PTC_OK : PTC_ERR_OP;
}

PTC_OP_NO_SCRATCH(arg_reduce)

void ptc_op_arg_reduce_forward(ptc_plan *p, int i, int64_t N, int training) {
    const ptc_op *op = &p->ops[i];
    (void)training;
    ptc_arg_reduce_forward(ptc_plan_act(p, op->out), ptc_plan_act(p, op->in[0]), N * op->iarg[PTC_ARG_REDUCE_OUTER],
                           op->iarg[PTC_ARG_REDUCE_EXTENT], op->iarg[PTC_ARG_REDUCE_INNER],
                           (int)op->iarg[PTC_ARG_REDUCE_ARGMIN]);
}

void ptc_op_arg_reduce_backward(ptc_plan *p, int i, int64_t N) {
    (void)p, (void)i, (void)N;  // an index has no gradient
}

// ---------------------------------------------------------------------------
// prod: out (O, I) = the product along A. Its gradient is out / x where no factor is 0; with one
// zero factor only that factor gets the product of the others; with two or more, none (torch.prod).
void ptc_prod_forward(float *out, const float *inp, int64_t O, int64_t A, int64_t I) {
    for (int64_t o = 0; o < O; o++)
        for (int64_t i = 0; i < I; i++) {
            float r = 1.0f;
            for (int64_t a = 0; a < A; a++) r *= inp[(o * A + a) * I + i];
            out[o * I + i] = r;
        }
}

void ptc_prod_backward(float *dinp, const float *dout, const float *inp, const float *out, int64_t O, int64_t A,
                       int64_t I) {
    for (int64_t o = 0; o < O; o++)
        for (int64_t i = 0; i < I; i++) {
            const float *x = inp + o * A * I + i;
            float *dx = dinp + o * A * I + i;
            const float g = dout[o * I + i];
            int64_t zeros = 0, zero_at = 0;
            float others = 1.0f;  // the product of the non-zero factors
            for (int64_t a = 0; a < A; a++) {
                if (x[a * I] == 0.0f)
                    zeros++, zero_at = a;
                else
                    others *= x[a * I];
            }
            if (zeros == 0)
                for (int64_t a = 0; a < A; a++) dx[a * I] += g * out[o * I + i] / x[a * I];
            else if (zeros == 1)
                dx[zero_at * I] += g * others;
        }
}

ptc_status ptc_op_prod_check(const ptc_plan *p, const ptc_op *op, int64_t need[PTC_MAX_PARAM]) {
    int64_t d[3], size;
    if (!oai_of(op, PTC_PROD_OUTER, d, &size)) return PTC_ERR_OP;
    return size == ptc_op_in_size(p, op, 0) && d[0] * d[2] == ptc_op_out_size(p, op) ? PTC_OK : PTC_ERR_OP;
}

PTC_OP_NO_SCRATCH(prod)

void ptc_op_prod_forward(ptc_plan *p, int i, int64_t N, int training) {
    const ptc_op *op = &p->ops[i];
    (void)training;
    ptc_prod_forward(ptc_plan_act(p, op->out), ptc_plan_act(p, op->in[0]), N * op->iarg[PTC_PROD_OUTER],
                     op->iarg[PTC_PROD_EXTENT], op->iarg[PTC_PROD_INNER]);
}

void ptc_op_prod_backward(ptc_plan *p, int i, int64_t N) {
    const ptc_op *op = &p->ops[i];
    float *din = ptc_op_din(p, op, 0);
    if (din)
        ptc_prod_backward(din, ptc_plan_dact(p, op->out), ptc_plan_act(p, op->in[0]), ptc_plan_act(p, op->out),
                          N * op->iarg[PTC_PROD_OUTER], op->iarg[PTC_PROD_EXTENT], op->iarg[PTC_PROD_INNER]);
}

// ---------------------------------------------------------------------------
// random: fresh draws from the op's seeded generator in every pass, training or not (as
// keras.random.normal / uniform are), in order, so runs are bitwise reproducible.
ptc_status ptc_op_random_check(const ptc_plan *p, const ptc_op *op, int64_t need[PTC_MAX_PARAM]) {
    const int64_t uniform = op->iarg[PTC_RANDOM_UNIFORM];
    const double a = op->farg[PTC_RANDOM_LOW_OR_MEAN], b = op->farg[PTC_RANDOM_HIGH_OR_STDDEV];
    if (op->iarg[PTC_RANDOM_RNG] < 0 || (uniform != 0 && uniform != 1) || !isfinite(a) || !isfinite(b) ||
        (uniform ? !(a < b) : !(b >= 0.0)))
        return PTC_ERR_OP;
    return PTC_OK;
}

PTC_OP_NO_SCRATCH(random)

void ptc_op_random_forward(ptc_plan *p, int i, int64_t N, int training) {
    const ptc_op *op = &p->ops[i];
    ptc_rng *rng = &p->rngs[op->iarg[PTC_RANDOM_RNG]];
    const float a = (float)op->farg[PTC_RANDOM_LOW_OR_MEAN], b = (float)op->farg[PTC_RANDOM_HIGH_OR_STDDEV];
    const int64_t n = N * ptc_op_out_size(p, op);
    (void)training;
    if (op->iarg[PTC_RANDOM_UNIFORM])
        ptc_rng_fill_uniform(rng, ptc_plan_act(p, op->out), n, a, b);
    else
        ptc_rng_fill_normal(rng, ptc_plan_act(p, op->out), n, a, b);
}

void ptc_op_random_backward(ptc_plan *p, int i, int64_t N) {
    (void)p, (void)i, (void)N;  // a draw depends on no input
}
