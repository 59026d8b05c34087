// Embedding (Keras 3's keras.layers.Embedding): out[t] = embeddings[ids[t]]. The ids
// reach the plan as floats (every buffer is float32), so each is checked to be an
// integer in [0, V) before it indexes anything; float32 holds every integer up to
// 2^24 exactly, which bounds V (ptc_op_embedding_check).
#include <math.h>
#include <string.h>

#include "ptc.h"
#include "ops.h"

#define PTC_EMBEDDING_MAX_V (1 << 24)  // float32 represents every integer id below this

// PTC_OK, or PTC_ERR_INDEX with *bad set to the first id (in order) that is not an
// integer in [0, V); its row of out is then left as zeros.
ptc_status ptc_embedding_forward(float *out, const float *ids, const float *emb, int64_t R, int64_t V, int64_t D,
                                 double *bad) {
    // out (R, D), ids (R,), emb (V, D)
    ptc_status st = PTC_OK;
    for (int64_t r = 0; r < R; r++) {
        const float id = ids[r];
        // !(a && b) rather than (!a || !b): a NaN id fails every comparison.
        if (!(id >= 0.0f && id < (float)V && id == floorf(id))) {
            if (st == PTC_OK) *bad = id;
            st = PTC_ERR_INDEX;
            memset(out + r * D, 0, (size_t)D * sizeof(float));
            continue;
        }
        memcpy(out + r * D, emb + (int64_t)id * D, (size_t)D * sizeof(float));
    }
    return st;
}

// demb (V, D) += the rows of dout scattered to their ids, in row order: the same ids
// always sum in the same order, so the gradient is bitwise reproducible.
void ptc_embedding_backward(float *demb, const float *dout, const float *ids, int64_t R, int64_t V, int64_t D) {
    for (int64_t r = 0; r < R; r++) {
        const float id = ids[r];
        if (!(id >= 0.0f && id < (float)V && id == floorf(id))) continue;  // refused in forward
        float *row = demb + (int64_t)id * D;
        const float *g = dout + r * D;
        for (int64_t d = 0; d < D; d++) row[d] += g[d];
    }
}

// ---------------------------------------------------------------------------
// The plan's op adapters (ops.def, dispatched through ops.c's table).
ptc_status ptc_op_embedding_check(const ptc_plan *p, const ptc_op *op, int64_t need[PTC_MAX_PARAM]) {
    const int64_t T = op->iarg[PTC_EMBEDDING_T], V = op->iarg[PTC_EMBEDDING_V], D = op->iarg[PTC_EMBEDDING_D];
    int64_t td;
    if (T <= 0 || V <= 0 || D <= 0 || V > PTC_EMBEDDING_MAX_V || !ptc_mul_ok(T, D, &td) ||
        !ptc_mul_ok(V, D, &need[PTC_EMBEDDING_EMBEDDINGS]) || T != ptc_op_in_size(p, op, 0) ||
        td != ptc_op_out_size(p, op) || op->param[PTC_EMBEDDING_EMBEDDINGS] < 0)
        return PTC_ERR_OP;
    return PTC_OK;
}

PTC_OP_NO_SCRATCH(embedding)

void ptc_op_embedding_forward(ptc_plan *p, int i, int64_t N, int training) {
    const ptc_op *op = &p->ops[i];
    (void)training;
    const ptc_status st = ptc_embedding_forward(
        ptc_plan_act(p, op->out), ptc_plan_act(p, op->in[0]), ptc_plan_param(p, op, PTC_EMBEDDING_EMBEDDINGS),
        N * op->iarg[PTC_EMBEDDING_T], op->iarg[PTC_EMBEDDING_V], op->iarg[PTC_EMBEDDING_D], &p->bad_value);
    if (st != PTC_OK) {
        p->op_error = st;
        p->bad_op = i;
    }
}

void ptc_op_embedding_backward(ptc_plan *p, int i, int64_t N) {
    const ptc_op *op = &p->ops[i];
    // The ids have no gradient: their buffer's stays zero.
    ptc_embedding_backward(ptc_plan_grad(p, op, PTC_EMBEDDING_EMBEDDINGS), ptc_plan_dact(p, op->out),
                           ptc_plan_act(p, op->in[0]), N * op->iarg[PTC_EMBEDDING_T], op->iarg[PTC_EMBEDDING_V],
                           op->iarg[PTC_EMBEDDING_D]);
}
