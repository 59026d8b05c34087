// Optimizer steps over the flat parameter array, with Keras 3's formulas
// (keras/src/optimizers/sgd.py, adam.py) computed in float32 as Keras does.
#include <math.h>

#include "ptc.h"

static void sgd_step(ptc_optimizer *opt, double lr_now, float *w, const float *g, int64_t P) {
    const float lr = (float)lr_now;
    const float mom = (float)opt->momentum;
    if (opt->momentum == 0.0) {
        for (int64_t i = 0; i < P; i++) w[i] -= lr * g[i];
        return;
    }
    float *v = opt->m;
    // Keras: v = momentum * v - lr * g; w += v, or with Nesterov w += momentum * v - lr * g.
    // With a constant lr this equals PyTorch's SGD (its buffer is -v / lr).
    if (opt->nesterov)
        for (int64_t i = 0; i < P; i++) {
            v[i] = mom * v[i] - lr * g[i];
            w[i] += mom * v[i] - lr * g[i];
        }
    else
        for (int64_t i = 0; i < P; i++) {
            v[i] = mom * v[i] - lr * g[i];
            w[i] += v[i];
        }
}

static void adam_step(ptc_optimizer *opt, double lr_now, float *w, const float *g, int64_t P) {
    const double t = (double)(*opt->iterations + 1);
    const double b1 = opt->beta_1, b2 = opt->beta_2;
    // Keras folds both bias corrections into the step size and adds epsilon to
    // sqrt(v) uncorrected; PyTorch adds it to sqrt(v_hat). They agree when
    // sqrt(v) >> epsilon.
    const float alpha = (float)(lr_now * sqrt(1.0 - pow(b2, t)) / (1.0 - pow(b1, t)));
    const float c1 = (float)(1.0 - b1), c2 = (float)(1.0 - b2), eps = (float)opt->epsilon;
    float *m = opt->m, *v = opt->v;
    for (int64_t i = 0; i < P; i++) {
        m[i] += (g[i] - m[i]) * c1;
        v[i] += (g[i] * g[i] - v[i]) * c2;
        w[i] -= (m[i] * alpha) / (sqrtf(v[i]) + eps);
    }
}

static void rmsprop_step(ptc_optimizer *opt, double lr_now, float *w, const float *g, int64_t P) {
    // Keras 3 rmsprop.py: velocity = rho v + (1 - rho) g^2; centered subtracts the
    // squared running mean gradient; increment = lr g / sqrt(denominator + epsilon).
    const float lr = (float)lr_now, rho = (float)opt->rho, eps = (float)opt->epsilon;
    const float mom = (float)opt->momentum;
    float *vel = opt->v, *mbuf = opt->m, *avg = opt->u;
    for (int64_t i = 0; i < P; i++) {
        vel[i] = rho * vel[i] + (1.0f - rho) * g[i] * g[i];
        float denom = vel[i];
        if (opt->centered) {
            avg[i] = rho * avg[i] + (1.0f - rho) * g[i];
            denom -= avg[i] * avg[i];
        }
        float inc = lr * g[i] / sqrtf(denom + eps);
        if (opt->momentum > 0.0) {
            mbuf[i] = mom * mbuf[i] + inc;
            w[i] -= mbuf[i];
        } else {
            w[i] -= inc;
        }
    }
}

void ptc_optimizer_step(ptc_optimizer *opt, float *params, const float *grads, int64_t P) {
    const double lr = opt->schedule.kind == PTC_SCHED_CONSTANT
                          ? opt->learning_rate
                          : ptc_schedule_value(&opt->schedule, *opt->iterations);
    switch (opt->kind) {
    case PTC_OPT_SGD: sgd_step(opt, lr, params, grads, P); break;
    case PTC_OPT_ADAM: adam_step(opt, lr, params, grads, P); break;
    case PTC_OPT_RMSPROP: rmsprop_step(opt, lr, params, grads, P); break;
    default: return;
    }
    *opt->iterations += 1;
}
