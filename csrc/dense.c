// Dense (fully connected) layer: out = inp @ weight + bias, with the kernel
// stored (IN, OUT) as Keras stores it, so get_weights() needs no transpose.
#include <string.h>

#include "blas.h"
#include "ptc.h"
#include "ops.h"

void ptc_dense_forward(float *out, const float *inp, const float *weight, const float *bias, int64_t N, int64_t IN,
                       int64_t OUT) {
    // out (N, OUT), inp (N, IN), weight (IN, OUT), bias (OUT,)
    float beta = 0.0f;
    if (bias) {  // start from the broadcast bias and let sgemm accumulate onto it
        for (int64_t n = 0; n < N; n++) memcpy(out + n * OUT, bias, (size_t)OUT * sizeof(float));
        beta = 1.0f;
    }
    ptc_blas_sgemm(0, 0, (int)N, (int)OUT, (int)IN, 1.0f, inp, (int)IN, weight, (int)OUT, beta, out, (int)OUT);
}

void ptc_dense_backward(float *dinp, float *dweight, float *dbias, const float *dout, const float *inp,
                        const float *weight, int64_t N, int64_t IN, int64_t OUT) {
    // dweight (IN, OUT) += inp^T @ dout; dinp (N, IN) += dout @ weight^T; dbias += sum_n dout
    ptc_blas_sgemm(1, 0, (int)IN, (int)OUT, (int)N, 1.0f, inp, (int)IN, dout, (int)OUT, 1.0f, dweight, (int)OUT);
    if (dinp)
        ptc_blas_sgemm(0, 1, (int)N, (int)IN, (int)OUT, 1.0f, dout, (int)OUT, weight, (int)OUT, 1.0f, dinp, (int)IN);
    if (dbias)
        for (int64_t n = 0; n < N; n++) {
            const float *row = dout + n * OUT;
            for (int64_t o = 0; o < OUT; o++) dbias[o] += row[o];
        }
}

void ptc_dense_forward_ref(float *out, const float *inp, const float *weight, const float *bias, int64_t N, int64_t IN,
                           int64_t OUT) {
    for (int64_t n = 0; n < N; n++)
        for (int64_t o = 0; o < OUT; o++) {
            double acc = bias ? bias[o] : 0.0;
            for (int64_t i = 0; i < IN; i++) acc += (double)inp[n * IN + i] * weight[i * OUT + o];
            out[n * OUT + o] = (float)acc;
        }
}

void ptc_dense_backward_ref(float *dinp, float *dweight, float *dbias, const float *dout, const float *inp,
                            const float *weight, int64_t N, int64_t IN, int64_t OUT) {
    for (int64_t i = 0; i < IN; i++)
        for (int64_t o = 0; o < OUT; o++) {
            double acc = 0.0;
            for (int64_t n = 0; n < N; n++) acc += (double)inp[n * IN + i] * dout[n * OUT + o];
            dweight[i * OUT + o] += (float)acc;
        }
    if (dinp)
        for (int64_t n = 0; n < N; n++)
            for (int64_t i = 0; i < IN; i++) {
                double acc = 0.0;
                for (int64_t o = 0; o < OUT; o++) acc += (double)dout[n * OUT + o] * weight[i * OUT + o];
                dinp[n * IN + i] += (float)acc;
            }
    if (dbias)
        for (int64_t o = 0; o < OUT; o++) {
            double acc = 0.0;
            for (int64_t n = 0; n < N; n++) acc += dout[n * OUT + o];
            dbias[o] += (float)acc;
        }
}

// ---------------------------------------------------------------------------
// The plan's op adapters (ops.def, dispatched through ops.c's table).
ptc_status ptc_op_dense_check(const ptc_plan *p, const ptc_op *op, int64_t need[PTC_MAX_PARAM]) {
    const int64_t R = op->iarg[PTC_DENSE_ROWS], IN = op->iarg[PTC_DENSE_UNITS_IN], OUT = op->iarg[PTC_DENSE_UNITS_OUT];
    int64_t ri, ro;
    if (R <= 0 || IN <= 0 || OUT <= 0 || IN > INT_MAX || OUT > INT_MAX || !ptc_mul_ok(R, IN, &ri) ||
        !ptc_mul_ok(R, OUT, &ro) || !ptc_mul_ok(IN, OUT, &need[PTC_DENSE_KERNEL]) || ri != ptc_op_in_size(p, op, 0) ||
        ro != ptc_op_out_size(p, op) || op->param[PTC_DENSE_KERNEL] < 0)
        return PTC_ERR_OP;
    need[PTC_DENSE_BIAS] = OUT;
    return PTC_OK;
}

int64_t ptc_op_dense_scratch(const ptc_plan *p, const ptc_op *op, int64_t N) {
    int64_t rows;  // sgemm takes int sizes: the batch's rows must fit one
    return ptc_mul_ok(op->iarg[PTC_DENSE_ROWS], N, &rows) && rows <= INT_MAX ? 0 : -1;
}

void ptc_op_dense_forward(ptc_plan *p, int i, int64_t N, int training) {
    const ptc_op *op = &p->ops[i];
    ptc_dense_forward(ptc_plan_act(p, op->out), ptc_plan_act(p, op->in[0]), ptc_plan_param(p, op, PTC_DENSE_KERNEL),
                      ptc_plan_param(p, op, PTC_DENSE_BIAS), N * op->iarg[PTC_DENSE_ROWS], op->iarg[PTC_DENSE_UNITS_IN],
                      op->iarg[PTC_DENSE_UNITS_OUT]);
}

void ptc_op_dense_backward(ptc_plan *p, int i, int64_t N) {
    const ptc_op *op = &p->ops[i];
    ptc_dense_backward(ptc_op_din(p, op, 0), ptc_plan_grad(p, op, PTC_DENSE_KERNEL),
                       ptc_plan_grad(p, op, PTC_DENSE_BIAS), ptc_plan_dact(p, op->out), ptc_plan_act(p, op->in[0]),
                       ptc_plan_param(p, op, PTC_DENSE_KERNEL), N * op->iarg[PTC_DENSE_ROWS],
                       op->iarg[PTC_DENSE_UNITS_IN], op->iarg[PTC_DENSE_UNITS_OUT]);
}
