// L1/L2 penalties, Keras's formulas: l1 * sum|x| + l2 * sum x^2 (regularizers.py),
// used for weight regularizers and activity regularization. Sums in double.
#include <math.h>

#include "ptc.h"
#include "ops.h"

// The sums run in PTC_PENALTY_LANES double accumulators (value i into lane i % lanes),
// combined in a fixed order: one running sum is bound by the add latency (about 3
// cycles per weight, 250 us of a W5 step), the lanes vectorize. Deterministic and the
// same in every build; the last bits differ from a single running sum's.
#define PTC_PENALTY_LANES 8

double ptc_penalty_value(const float *restrict x, int64_t n, double l1, double l2) {
    double s1[PTC_PENALTY_LANES] = {0.0}, s2[PTC_PENALTY_LANES] = {0.0};
    int64_t i = 0;
    for (; i + PTC_PENALTY_LANES <= n; i += PTC_PENALTY_LANES)
        for (int j = 0; j < PTC_PENALTY_LANES; j++) {
            s1[j] += fabsf(x[i + j]);
            s2[j] += (double)x[i + j] * x[i + j];
        }
    for (int j = 0; i < n; i++, j++) {
        s1[j] += fabsf(x[i]);
        s2[j] += (double)x[i] * x[i];
    }
    for (int h = PTC_PENALTY_LANES / 2; h > 0; h /= 2)
        for (int j = 0; j < h; j++) {
            s1[j] += s1[j + h];
            s2[j] += s2[j + h];
        }
    return l1 * s1[0] + l2 * s2[0];
}

// g += l1 * sign(x) + 2 * l2 * x. g may alias x's gradient buffer, never x.
void ptc_penalty_grad(float *restrict g, const float *restrict x, int64_t n, double l1, double l2) {
    const float a = (float)l1, b = (float)(2.0 * l2);
    for (int64_t i = 0; i < n; i++) g[i] += a * (float)((x[i] > 0.0f) - (x[i] < 0.0f)) + b * x[i];
}

// ---------------------------------------------------------------------------
// The plan's op adapters (ops.def, dispatched through ops.c's table).
ptc_status ptc_op_activity_reg_check(const ptc_plan *p, const ptc_op *op, int64_t need[PTC_MAX_PARAM]) {
    return op->out == op->in[0] && op->n_in == 1 ? PTC_OK : PTC_ERR_OP;
}

// Keras 3 (Layer.__call__) divides a layer's activity penalty by the batch size, so its strength
// does not grow with the batch; the gradient is scaled the same way.
void ptc_op_activity_reg_forward(ptc_plan *p, int i, int64_t N, int training) {
    const ptc_op *op = &p->ops[i];
    p->activity_penalty += ptc_penalty_value(ptc_plan_act(p, op->in[0]), N * ptc_op_out_size(p, op),
                                             op->farg[PTC_ACTIVITY_REG_L1], op->farg[PTC_ACTIVITY_REG_L2]) /
                           (double)N;
}

void ptc_op_activity_reg_backward(ptc_plan *p, int i, int64_t N) {
    const ptc_op *op = &p->ops[i];
    float *din = ptc_op_din(p, op, 0);  // aliases dout: the penalty's gradient is added in place
    if (din)
        ptc_penalty_grad(din, ptc_plan_act(p, op->in[0]), N * ptc_op_out_size(p, op),
                         op->farg[PTC_ACTIVITY_REG_L1] / (double)N, op->farg[PTC_ACTIVITY_REG_L2] / (double)N);
}

PTC_OP_NO_SCRATCH(activity_reg)

// Layer.add_loss (issue #9): Keras 3 adds ops.sum of each added loss to the batch's total loss
// (Model.compute_loss), so a traced value adds the sum over the batch and its sample axes;
// a mean over the batch axis divides that sum by N. Summed in double, in a fixed order.
static double add_loss_sum(const float *x, int64_t n) {
    double s = 0.0;
    for (int64_t i = 0; i < n; i++) s += x[i];
    return s;
}

ptc_status ptc_op_add_loss_check(const ptc_plan *p, const ptc_op *op, int64_t need[PTC_MAX_PARAM]) {
    (void)p;
    (void)need;
    const int64_t per_batch = op->iarg[PTC_ADD_LOSS_PER_BATCH];
    return op->out == op->in[0] && op->n_in == 1 && (per_batch == 0 || per_batch == 1) ? PTC_OK : PTC_ERR_OP;
}

static double add_loss_factor(const ptc_op *op, int64_t N) {
    return op->farg[PTC_ADD_LOSS_SCALE] / (op->iarg[PTC_ADD_LOSS_PER_BATCH] ? (double)N : 1.0);
}

void ptc_op_add_loss_forward(ptc_plan *p, int i, int64_t N, int training) {
    (void)training;
    const ptc_op *op = &p->ops[i];
    p->activity_penalty +=
        add_loss_factor(op, N) * add_loss_sum(ptc_plan_act(p, op->in[0]), N * ptc_op_out_size(p, op));
}

void ptc_op_add_loss_backward(ptc_plan *p, int i, int64_t N) {
    const ptc_op *op = &p->ops[i];
    float *din = ptc_op_din(p, op, 0);  // aliases dout: the loss's gradient is added in place
    if (!din) return;
    const float g = (float)add_loss_factor(op, N);
    const int64_t n = N * ptc_op_out_size(p, op);
    for (int64_t j = 0; j < n; j++) din[j] += g;
}

PTC_OP_NO_SCRATCH(add_loss)
