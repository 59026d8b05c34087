// Primitive ops: the kernels `pytrainc.ops` code is traced into (unary, binary, reduce,
// transpose, where; matmul is in prim_matmul.c), each a forward/backward pair dispatched
// from ops.c like the fused ops.
//
// Design note (issue #9: trace once, run in C).
// - Shapes. A plan buffer holds one sample's floats; every buffer is (N, size). A primitive
//   describes the sample's shape in its integer arguments as D1..D5: the per-sample axes,
//   left-padded with 1, so a tensor has rank <= 6 with its batch axis. Broadcasting follows
//   NumPy: Python aligns shapes to the right and passes, per operand, a bit mask of the axes on
//   which that operand has extent 1 (MASK_A, MASK_B); the kernel walks the output box with a
//   stride of 0 on those axes, so nothing is materialized. Reshape, expand_dims and squeeze
//   change no float and emit no op: the builder reuses the buffer with the new shape.
// - Operands that are not per sample (a layer weight from add_weight, a constant array) enter
//   through the op's parameter slots LHS and RHS, offsets into the flat parameter array, exactly
//   as a Dense kernel does: their batch stride is 0 (broadcast over the batch without copies),
//   and their gradient is accumulated (+=) into the flat gradients, where the optimizer finds
//   it. A constant is a hidden non-trainable slice of that array (after the trainable
//   weights, so the optimizer never moves it, and outside state_dict/weights): stored once,
//   allocated once. Python scalars are folded into the op as float arguments (unary's ALPHA, BETA).
// - Reductions over the batch axis are the loss's business (engine.c): a primitive reduces
//   over sample axes only, so a plan still runs any batch size without reallocation. A traced
//   layer's batch reduction or weight read is a per-batch tensor (batch_stats.c): its whole value
//   in row 0, so each primitive (transpose, concat, slice, take, ...) runs on it unchanged, on row
//   0 only (the op flag PER_BATCH), and gives a per-batch result; a batch_broadcast fills the
//   rows for a primitive that combines it with per-sample tensors.
// - No allocation in any kernel: reduce's tie counts live in the op's workspace.
#include <math.h>
#include <string.h>

#include "ops.h"
#include "prim.h"

#define KIND_ENUM(NAME) NAME,
enum { PTC_UNARY_KINDS(KIND_ENUM) UNARY_COUNT };
enum { PTC_BINARY_KINDS(KIND_ENUM) BINARY_COUNT };
enum { PTC_REDUCE_KINDS(KIND_ENUM) REDUCE_COUNT };
#undef KIND_ENUM

#define RANK 5  // per-sample axes D1..D5

#define ARRAYS 4  // arrays a box walks at once: the output and up to three operands

// A box of 6 axes (the batch, then D1..D5) walked row by row (the last axis is a row), with
// the offsets of up to four arrays: off[a] = sum_k idx[k] * s[a][k].
typedef struct {
    int64_t d[RANK + 1];
    int64_t s[ARRAYS][RANK + 1];
} box;

typedef void (*row_fn)(void *ctx, const int64_t off[ARRAYS], int64_t n, const int64_t inner[ARRAYS]);

static void box_walk(const box *b, row_fn f, void *ctx) {
    int64_t rows = 1, idx[RANK] = {0}, off[ARRAYS] = {0};
    for (int k = 0; k <= RANK; k++)
        if (b->d[k] <= 0) return;
    for (int k = 0; k < RANK; k++) rows *= b->d[k];
    int64_t inner[ARRAYS];
    for (int a = 0; a < ARRAYS; a++) inner[a] = b->s[a][RANK];
    for (int64_t r = 0; r < rows; r++) {
        f(ctx, off, b->d[RANK], inner);
        for (int k = RANK - 1; k >= 0; k--) {  // odometer over the outer axes
            idx[k]++;
            for (int a = 0; a < ARRAYS; a++) off[a] += b->s[a][k];
            if (idx[k] < b->d[k]) break;
            for (int a = 0; a < ARRAYS; a++) off[a] -= b->s[a][k] * b->d[k];
            idx[k] = 0;
        }
    }
}

// The sample dims D1..D5 from an op's iargs starting at first.
static int dims_of(const ptc_op *op, int first, int64_t d[RANK]) {
    for (int j = 0; j < RANK; j++) {
        d[j] = op->iarg[first + j];
        if (d[j] <= 0) return 0;
    }
    return 1;
}

// Contiguous strides over dims d, with 0 (and extent 1) on the axes of mask; returns the size.
static int64_t masked_strides(const int64_t d[RANK], int64_t mask, int64_t s[RANK]) {
    int64_t size = 1;
    for (int j = RANK - 1; j >= 0; j--) {
        const int one = (int)((mask >> j) & 1);
        s[j] = one ? 0 : size;
        size *= one ? 1 : d[j];
    }
    return size;
}

// ---------------------------------------------------------------------------
// unary: elementwise with scalars a, b. Gradients follow torch's (abs'(0) = 0, clip passes
// the gradient on its closed interval, as torch.clamp).
static float unary_value(int kind, float x, float a, float b) {
    switch (kind) {
        case IDENTITY:
            return x;
        case NEG:
            return -x;
        case EXP:
            return expf(x);
        case LOG:
            return logf(x);
        case LOG1P:
            return log1pf(x);
        case SQRT:
            return sqrtf(x);
        case RSQRT:
            return 1.0f / sqrtf(x);
        case SQUARE:
            return x * x;
        case ABS:
            return fabsf(x);
        case SIGN:
            return (float)((x > 0.0f) - (x < 0.0f));
        case RECIPROCAL:
            return 1.0f / x;
        case ADD_SCALAR:
            return x + a;
        case MUL_SCALAR:
            return x * a;
        case RSUB_SCALAR:
            return a - x;
        case RDIV_SCALAR:
            return a / x;
        case POW_SCALAR:
            return powf(x, a);
        case RPOW_SCALAR:
            return powf(a, x);
        case CLIP:
            return x < a ? a : (x > b ? b : x);
        case LOGICAL_NOT:
            return x == 0.0f ? 1.0f : 0.0f;
        case DIV_SCALAR:
            return x / a;
        case FILL:
            return a;
        case TRUNC:  // ops.cast to an integer dtype
            return truncf(x);
        default:
            return NAN;
    }
}

// d(out)/d(x) given x and out.
static float unary_slope(int kind, float x, float y, float a, float b) {
    switch (kind) {
        case IDENTITY:
        case ADD_SCALAR:
            return 1.0f;
        case NEG:
        case RSUB_SCALAR:
            return -1.0f;
        case EXP:
            return y;
        case LOG:
            return 1.0f / x;
        case LOG1P:
            return 1.0f / (1.0f + x);
        case SQRT:
            return 0.5f / y;
        case RSQRT:
            return -0.5f * y * y * y;
        case SQUARE:
            return 2.0f * x;
        case ABS:
            return (float)((x > 0.0f) - (x < 0.0f));
        case RECIPROCAL:
            return -y * y;
        case MUL_SCALAR:
            return a;
        case DIV_SCALAR:
            return 1.0f / a;
        case RDIV_SCALAR:
            return -y / x;
        case POW_SCALAR:
            return a == 0.0f ? 0.0f : a * powf(x, a - 1.0f);
        case RPOW_SCALAR:
            return y * logf(a);
        case CLIP:
            return (x >= a && x <= b) ? 1.0f : 0.0f;
        default:
            return 0.0f;  // SIGN, LOGICAL_NOT, FILL, TRUNC
    }
}

void ptc_unary_forward(int kind, float *out, const float *inp, int64_t n, float a, float b) {
    for (int64_t i = 0; i < n; i++) out[i] = unary_value(kind, inp[i], a, b);
}

void ptc_unary_backward(int kind, float *dinp, const float *dout, const float *inp, const float *out, int64_t n,
                        float a, float b) {
    for (int64_t i = 0; i < n; i++) dinp[i] += dout[i] * unary_slope(kind, inp[i], out[i], a, b);
}

ptc_status ptc_op_unary_check(const ptc_plan *p, const ptc_op *op, int64_t need[PTC_MAX_PARAM]) {
    const int64_t kind = op->iarg[PTC_UNARY_KIND];
    if (kind < 0 || kind >= UNARY_COUNT || ptc_op_in_size(p, op, 0) != ptc_op_out_size(p, op)) return PTC_ERR_OP;
    return PTC_OK;
}

void ptc_op_unary_forward(ptc_plan *p, int i, int64_t N, int training) {
    const ptc_op *op = &p->ops[i];
    ptc_unary_forward((int)op->iarg[PTC_UNARY_KIND], ptc_plan_act(p, op->out), ptc_plan_act(p, op->in[0]),
                      N * ptc_op_out_size(p, op), (float)op->farg[PTC_UNARY_ALPHA], (float)op->farg[PTC_UNARY_BETA]);
}

void ptc_op_unary_backward(ptc_plan *p, int i, int64_t N) {
    const ptc_op *op = &p->ops[i];
    float *din = ptc_op_din(p, op, 0);
    if (!din) return;
    ptc_unary_backward((int)op->iarg[PTC_UNARY_KIND], din, ptc_plan_dact(p, op->out), ptc_plan_act(p, op->in[0]),
                       ptc_plan_act(p, op->out), N * ptc_op_out_size(p, op), (float)op->farg[PTC_UNARY_ALPHA],
                       (float)op->farg[PTC_UNARY_BETA]);
}

// ---------------------------------------------------------------------------
// binary: a KIND b with broadcasting. maximum/minimum split a tie's gradient evenly and
// propagate NaN, as torch.maximum (Keras's ops.maximum on the torch backend).
static float binary_value(int kind, float a, float b) {
    switch (kind) {
        case ADD:
            return a + b;
        case SUBTRACT:
            return a - b;
        case MULTIPLY:
            return a * b;
        case DIVIDE:
            return a / b;
        case MAXIMUM:
            return (a != a || b != b) ? a + b : (a > b ? a : b);
        case MINIMUM:
            return (a != a || b != b) ? a + b : (a < b ? a : b);
        case POWER:
            return powf(a, b);
        case GREATER:
            return a > b;
        case GREATER_EQUAL:
            return a >= b;
        case LESS:
            return a < b;
        case LESS_EQUAL:
            return a <= b;
        case EQUAL:
            return a == b;
        case NOT_EQUAL:
            return a != b;
        case LOGICAL_AND:
            return a != 0.0f && b != 0.0f;
        case LOGICAL_OR:
            return a != 0.0f || b != 0.0f;
        default:
            return NAN;
    }
}

// d(out)/da and d(out)/db.
static void binary_slopes(int kind, float a, float b, float y, float *ga, float *gb) {
    switch (kind) {
        case ADD:
            *ga = 1.0f, *gb = 1.0f;
            return;
        case SUBTRACT:
            *ga = 1.0f, *gb = -1.0f;
            return;
        case MULTIPLY:
            *ga = b, *gb = a;
            return;
        case DIVIDE:
            *ga = 1.0f / b, *gb = -a / (b * b);
            return;
        case MAXIMUM:
            *ga = a > b ? 1.0f : (a == b ? 0.5f : 0.0f), *gb = 1.0f - *ga;
            return;
        case MINIMUM:
            *ga = a < b ? 1.0f : (a == b ? 0.5f : 0.0f), *gb = 1.0f - *ga;
            return;
        case POWER:
            *ga = b == 0.0f ? 0.0f : b * powf(a, b - 1.0f);
            *gb = a > 0.0f ? y * logf(a) : 0.0f;  // torch gives 0 at a == 0, NaN below: kept finite
            return;
        default:
            *ga = 0.0f, *gb = 0.0f;
            return;  // comparisons and logical ops
    }
}

typedef struct {
    int kind;
    float *out, *da, *db;
    const float *a, *b, *dout, *y;
} binary_ctx;

static void binary_row(void *c, const int64_t off[ARRAYS], int64_t n, const int64_t s[ARRAYS]) {
    const binary_ctx *x = c;
    float *out = x->out + off[0];
    const float *a = x->a + off[1], *b = x->b + off[2];
    for (int64_t i = 0; i < n; i++) out[i] = binary_value(x->kind, a[i * s[1]], b[i * s[2]]);
}

static void binary_grad_row(void *c, const int64_t off[ARRAYS], int64_t n, const int64_t s[ARRAYS]) {
    const binary_ctx *x = c;
    const float *g = x->dout + off[0], *y = x->y + off[0], *a = x->a + off[1], *b = x->b + off[2];
    float *da = x->da ? x->da + off[1] : NULL, *db = x->db ? x->db + off[2] : NULL;
    for (int64_t i = 0; i < n; i++) {
        float ga, gb;
        binary_slopes(x->kind, a[i * s[1]], b[i * s[2]], y[i], &ga, &gb);
        if (da) da[i * s[1]] += g[i] * ga;
        if (db) db[i * s[2]] += g[i] * gb;
    }
}

// The output box of an op on N samples over dims starting at iarg first, with the strides of
// the output and of n operands broadcast by masks (a parameter's batch stride is 0).
static void masked_box(const ptc_op *op, int first, const int64_t *masks, int n, int64_t N, box *bx) {
    int64_t d[RANK], s[RANK];
    dims_of(op, first, d);
    memset(bx, 0, sizeof(*bx));
    bx->d[0] = N;
    for (int a = 0; a <= n; a++) {
        const int64_t size = masked_strides(d, a > 0 ? masks[a - 1] : 0, s);
        bx->s[a][0] = (a > 0 && op->param[a - 1] >= 0) ? 0 : size;
        for (int j = 0; j < RANK; j++) bx->s[a][j + 1] = s[j];
    }
    for (int j = 0; j < RANK; j++) bx->d[j + 1] = d[j];
}

static void binary_box(const ptc_plan *p, const ptc_op *op, int64_t N, box *bx) {
    const int64_t masks[2] = {op->iarg[PTC_BINARY_MASK_A], op->iarg[PTC_BINARY_MASK_B]};
    masked_box(op, PTC_BINARY_D1, masks, 2, N, bx);
}

// Shapes of n masked operands against dims from iarg first: PTC_OK, with need[] of parameters.
static ptc_status masked_check(const ptc_plan *p, const ptc_op *op, int first, const int64_t *masks, int n,
                               int64_t need[PTC_MAX_PARAM]) {
    int64_t d[RANK], s[RANK], size = 1;
    if (!dims_of(op, first, d) || !operands_fit(op, n)) return PTC_ERR_OP;
    for (int j = 0; j < RANK; j++)
        if (!ptc_mul_ok(size, d[j], &size)) return PTC_ERR_OP;
    if (size != ptc_op_out_size(p, op)) return PTC_ERR_OP;
    for (int k = 0; k < n; k++) {
        if (masks[k] < 0 || masks[k] >= (1 << RANK)) return PTC_ERR_OP;
        const int64_t m = masked_strides(d, masks[k], s), in = operand_input(op, k);
        if (in < 0)
            need[k] = m;
        else if (ptc_op_in_size(p, op, (int)in) != m)
            return PTC_ERR_OP;
    }
    return PTC_OK;
}

ptc_status ptc_op_binary_check(const ptc_plan *p, const ptc_op *op, int64_t need[PTC_MAX_PARAM]) {
    const int64_t kind = op->iarg[PTC_BINARY_KIND];
    const int64_t masks[2] = {op->iarg[PTC_BINARY_MASK_A], op->iarg[PTC_BINARY_MASK_B]};
    if (kind < 0 || kind >= BINARY_COUNT) return PTC_ERR_OP;
    return masked_check(p, op, PTC_BINARY_D1, masks, 2, need);
}

void ptc_op_binary_forward(ptc_plan *p, int i, int64_t N, int training) {
    const ptc_op *op = &p->ops[i];
    box bx;
    binary_box(p, op, N, &bx);
    binary_ctx c = {(int)op->iarg[PTC_BINARY_KIND],
                    ptc_plan_act(p, op->out),
                    NULL,
                    NULL,
                    operand(p, op, 0),
                    operand(p, op, 1),
                    NULL,
                    NULL};
    box_walk(&bx, binary_row, &c);
}

void ptc_op_binary_backward(ptc_plan *p, int i, int64_t N) {
    const ptc_op *op = &p->ops[i];
    box bx;
    binary_box(p, op, N, &bx);
    binary_ctx c = {(int)op->iarg[PTC_BINARY_KIND],
                    NULL,
                    doperand(p, op, 0),
                    doperand(p, op, 1),
                    operand(p, op, 0),
                    operand(p, op, 1),
                    ptc_plan_dact(p, op->out),
                    ptc_plan_act(p, op->out)};
    if (c.kind >= GREATER || (!c.da && !c.db)) return;  // comparisons pass no gradient
    box_walk(&bx, binary_grad_row, &c);
}

// ---------------------------------------------------------------------------
// reduce over the sample axes of AXES. max/min: NaN propagates; the gradient is split evenly
// among ties (torch.amax, Keras's ops.max on the torch backend); the tie counts go to scratch.
typedef struct {
    int kind;
    float *out, *cnt, *din;
    const float *inp, *dout;
} reduce_ctx;

static void reduce_row(void *c, const int64_t off[ARRAYS], int64_t n, const int64_t s[ARRAYS]) {
    const reduce_ctx *x = c;
    const float *in = x->inp + off[0];
    float *out = x->out + off[1];
    for (int64_t i = 0; i < n; i++) {
        float *o = out + i * s[1];
        const float v = in[i];
        if (x->kind == SUM || x->kind == MEAN)
            *o += v;
        else if (v != v || (x->kind == MAX ? v > *o : v < *o))
            *o = *o != *o ? *o : v;
    }
}

static void reduce_count_row(void *c, const int64_t off[ARRAYS], int64_t n, const int64_t s[ARRAYS]) {
    const reduce_ctx *x = c;
    const float *in = x->inp + off[0], *out = x->out + off[1];
    float *cnt = x->cnt + off[1];
    for (int64_t i = 0; i < n; i++)
        if (in[i] == out[i * s[1]] || (in[i] != in[i] && out[i * s[1]] != out[i * s[1]])) cnt[i * s[1]] += 1.0f;
}

static void reduce_grad_row(void *c, const int64_t off[ARRAYS], int64_t n, const int64_t s[ARRAYS]) {
    const reduce_ctx *x = c;
    const float *in = x->inp + off[0], *out = x->out + off[1], *g = x->dout + off[1], *cnt = x->cnt + off[1];
    float *din = x->din + off[0];
    for (int64_t i = 0; i < n; i++) {
        const int64_t o = i * s[1];
        if (x->kind == SUM || x->kind == MEAN)
            din[i] += g[o] * cnt[o];
        else if (in[i] == out[o] || (in[i] != in[i] && out[o] != out[o]))
            din[i] += g[o] / cnt[o];
    }
}

// Input box of a reduce: strides of the input and of the output (0 on reduced axes).
static int64_t reduce_box(const ptc_op *op, int64_t N, box *bx) {
    int64_t d[RANK], s[RANK];
    dims_of(op, PTC_REDUCE_D1, d);
    const int64_t in_size = masked_strides(d, 0, s);
    bx->d[0] = N;
    bx->s[0][0] = in_size;
    for (int j = 0; j < RANK; j++) bx->d[j + 1] = d[j], bx->s[0][j + 1] = s[j];
    const int64_t out_size = masked_strides(d, op->iarg[PTC_REDUCE_AXES], s);
    bx->s[1][0] = out_size;
    for (int j = 0; j < RANK; j++) bx->s[1][j + 1] = s[j];
    memset(bx->s[2], 0, 2 * sizeof(bx->s[2]));  // s[2], s[3]: unused
    return in_size / out_size;                  // elements per output
}

ptc_status ptc_op_reduce_check(const ptc_plan *p, const ptc_op *op, int64_t need[PTC_MAX_PARAM]) {
    int64_t d[RANK], s[RANK], size = 1;
    const int64_t kind = op->iarg[PTC_REDUCE_KIND], axes = op->iarg[PTC_REDUCE_AXES];
    if (kind < 0 || kind >= REDUCE_COUNT || axes < 0 || axes >= (1 << RANK) || !dims_of(op, PTC_REDUCE_D1, d))
        return PTC_ERR_OP;
    for (int j = 0; j < RANK; j++)
        if (!ptc_mul_ok(size, d[j], &size)) return PTC_ERR_OP;
    if (size != ptc_op_in_size(p, op, 0) || masked_strides(d, axes, s) != ptc_op_out_size(p, op)) return PTC_ERR_OP;
    return PTC_OK;
}

int64_t ptc_op_reduce_scratch(const ptc_plan *p, const ptc_op *op, int64_t N) {
    int64_t n;
    return ptc_mul_ok(N, ptc_op_out_size(p, op), &n) ? n : -1;
}

void ptc_op_reduce_forward(ptc_plan *p, int i, int64_t N, int training) {
    const ptc_op *op = &p->ops[i];
    box bx;
    const int64_t per = reduce_box(op, N, &bx), n_out = N * ptc_op_out_size(p, op);
    reduce_ctx c = {
        (int)op->iarg[PTC_REDUCE_KIND], ptc_plan_act(p, op->out), NULL, NULL, ptc_plan_act(p, op->in[0]), NULL};
    const float init = c.kind == MAX ? -INFINITY : (c.kind == MIN ? INFINITY : 0.0f);
    for (int64_t j = 0; j < n_out; j++) c.out[j] = init;
    box_walk(&bx, reduce_row, &c);
    if (c.kind == MEAN)
        for (int64_t j = 0; j < n_out; j++) c.out[j] /= (float)per;
}

void ptc_op_reduce_backward(ptc_plan *p, int i, int64_t N) {
    const ptc_op *op = &p->ops[i];
    box bx;
    const int64_t per = reduce_box(op, N, &bx), n_out = N * ptc_op_out_size(p, op);
    reduce_ctx c = {(int)op->iarg[PTC_REDUCE_KIND], ptc_plan_act(p, op->out),   ptc_plan_scratch(p, i),
                    ptc_op_din(p, op, 0),           ptc_plan_act(p, op->in[0]), ptc_plan_dact(p, op->out)};
    if (!c.din) return;
    // cnt: the factor of sum and mean, or the number of ties of max and min.
    const float factor = c.kind == MEAN ? 1.0f / (float)per : 1.0f;
    for (int64_t j = 0; j < n_out; j++) c.cnt[j] = (c.kind == SUM || c.kind == MEAN) ? factor : 0.0f;
    if (c.kind == MAX || c.kind == MIN) box_walk(&bx, reduce_count_row, &c);
    box_walk(&bx, reduce_grad_row, &c);
}

// ---------------------------------------------------------------------------
// transpose: out axis j is input axis P(j+1), walked in output order.
typedef struct {
    float *dst;
    const float *src;
    int backward;
} copy_ctx;

static void transpose_row(void *c, const int64_t off[ARRAYS], int64_t n, const int64_t s[ARRAYS]) {
    const copy_ctx *x = c;
    if (x->backward)
        for (int64_t i = 0; i < n; i++) x->dst[off[1] + i * s[1]] += x->src[off[0] + i];
    else
        for (int64_t i = 0; i < n; i++) x->dst[off[0] + i] = x->src[off[1] + i * s[1]];
}

static int transpose_box(const ptc_op *op, int64_t N, box *bx) {
    int64_t d[RANK], s[RANK], os[RANK];
    int seen = 0;
    if (!dims_of(op, PTC_TRANSPOSE_D1, d)) return 0;
    const int64_t size = masked_strides(d, 0, s);
    int64_t od[RANK];
    for (int j = 0; j < RANK; j++) {
        const int64_t pj = op->iarg[PTC_TRANSPOSE_P1 + j];
        if (pj < 0 || pj >= RANK || (seen >> pj) & 1) return 0;
        seen |= 1 << pj;
        od[j] = d[pj];
    }
    masked_strides(od, 0, os);
    bx->d[0] = N;
    bx->s[0][0] = bx->s[1][0] = size;
    for (int j = 0; j < RANK; j++) {
        bx->d[j + 1] = od[j];
        bx->s[0][j + 1] = os[j];
        bx->s[1][j + 1] = s[op->iarg[PTC_TRANSPOSE_P1 + j]];
    }
    memset(bx->s[2], 0, 2 * sizeof(bx->s[2]));  // s[2], s[3]: unused
    return 1;
}

ptc_status ptc_op_transpose_check(const ptc_plan *p, const ptc_op *op, int64_t need[PTC_MAX_PARAM]) {
    box bx;
    int64_t size = 1;
    if (!transpose_box(op, 1, &bx)) return PTC_ERR_OP;
    for (int j = 1; j <= RANK; j++)
        if (!ptc_mul_ok(size, bx.d[j], &size)) return PTC_ERR_OP;
    return size == ptc_op_in_size(p, op, 0) && size == ptc_op_out_size(p, op) ? PTC_OK : PTC_ERR_OP;
}

void ptc_op_transpose_forward(ptc_plan *p, int i, int64_t N, int training) {
    const ptc_op *op = &p->ops[i];
    box bx;
    transpose_box(op, N, &bx);
    copy_ctx c = {ptc_plan_act(p, op->out), ptc_plan_act(p, op->in[0]), 0};
    box_walk(&bx, transpose_row, &c);
}

void ptc_op_transpose_backward(ptc_plan *p, int i, int64_t N) {
    const ptc_op *op = &p->ops[i];
    box bx;
    float *din = ptc_op_din(p, op, 0);
    if (!din) return;
    transpose_box(op, N, &bx);
    copy_ctx c = {din, ptc_plan_dact(p, op->out), 1};
    box_walk(&bx, transpose_row, &c);
}

// ---------------------------------------------------------------------------
// where: cond != 0 ? a : b; the gradient goes to the operand chosen, none to cond (as torch.where).
typedef struct {
    float *out, *da, *db;
    const float *c, *a, *b, *dout;
} where_ctx;

static void where_row(void *ctx, const int64_t off[ARRAYS], int64_t n, const int64_t s[ARRAYS]) {
    const where_ctx *x = ctx;
    const float *c = x->c + off[1], *a = x->a + off[2], *b = x->b + off[3];
    if (x->out) {
        float *out = x->out + off[0];
        for (int64_t i = 0; i < n; i++) out[i] = c[i * s[1]] != 0.0f ? a[i * s[2]] : b[i * s[3]];
        return;
    }
    const float *g = x->dout + off[0];
    for (int64_t i = 0; i < n; i++) {
        if (c[i * s[1]] != 0.0f) {
            if (x->da) x->da[off[2] + i * s[2]] += g[i];
        } else if (x->db) {
            x->db[off[3] + i * s[3]] += g[i];
        }
    }
}

static void where_box(const ptc_op *op, int64_t N, box *bx) {
    const int64_t masks[3] = {op->iarg[PTC_WHERE_MASK_C], op->iarg[PTC_WHERE_MASK_A], op->iarg[PTC_WHERE_MASK_B]};
    masked_box(op, PTC_WHERE_D1, masks, 3, N, bx);
}

ptc_status ptc_op_where_check(const ptc_plan *p, const ptc_op *op, int64_t need[PTC_MAX_PARAM]) {
    const int64_t masks[3] = {op->iarg[PTC_WHERE_MASK_C], op->iarg[PTC_WHERE_MASK_A], op->iarg[PTC_WHERE_MASK_B]};
    return masked_check(p, op, PTC_WHERE_D1, masks, 3, need);
}

void ptc_op_where_forward(ptc_plan *p, int i, int64_t N, int training) {
    const ptc_op *op = &p->ops[i];
    box bx;
    where_box(op, N, &bx);
    where_ctx c = {ptc_plan_act(p, op->out), NULL, NULL, operand(p, op, 0), operand(p, op, 1), operand(p, op, 2), NULL};
    box_walk(&bx, where_row, &c);
}

void ptc_op_where_backward(ptc_plan *p, int i, int64_t N) {
    const ptc_op *op = &p->ops[i];
    box bx;
    where_box(op, N, &bx);
    where_ctx c = {NULL,
                   doperand(p, op, 1),
                   doperand(p, op, 2),
                   operand(p, op, 0),
                   operand(p, op, 1),
                   operand(p, op, 2),
                   ptc_plan_dact(p, op->out)};
    if (c.da || c.db) box_walk(&bx, where_row, &c);
}

PTC_OP_NO_SCRATCH(where)
PTC_OP_NO_SCRATCH(unary)
PTC_OP_NO_SCRATCH(binary)
PTC_OP_NO_SCRATCH(transpose)
