// Learning-rate schedules evaluated per optimizer step inside the C epoch loop,
// with the formulas of keras/src/optimizers/schedules/learning_rate_schedule.py
// (computed in double; Keras computes in float32).
#include <math.h>

#include "ptc.h"

static const double PI = 3.14159265358979323846;

static double cosine_decay(double step, double decay_steps, double from_lr, double alpha) {
    double frac = step / decay_steps;
    double cosine = 0.5 * (1.0 + cos(PI * frac));
    return from_lr * ((1.0 - alpha) * cosine + alpha);
}

double ptc_schedule_value(const ptc_schedule *s, int64_t iteration) {
    const double step = (double)iteration;
    const double *p = s->p;
    switch (s->kind) {
        case PTC_SCHED_EXPONENTIAL: {  // p: initial, decay_steps, decay_rate, staircase
            double e = step / p[1];
            if (p[3] != 0.0) e = floor(e);
            return p[0] * pow(p[2], e);
        }
        case PTC_SCHED_INVERSE_TIME: {  // p: initial, decay_steps, decay_rate, staircase
            double e = step / p[1];
            if (p[3] != 0.0) e = floor(e);
            return p[0] / (1.0 + p[2] * e);
        }
        case PTC_SCHED_PIECEWISE: {  // table: n boundaries, then n + 1 values
            const double *bounds = s->table, *values = s->table + s->n;
            for (int64_t i = 0; i < s->n; i++)
                if (step <= bounds[i]) return values[i];
            return values[s->n];
        }
        case PTC_SCHED_POLYNOMIAL: {  // p: initial, decay_steps, end, power, cycle
            double decay_steps = p[1], t = step;
            if (p[4] != 0.0) {
                double mult = t == 0.0 ? 1.0 : ceil(t / decay_steps);
                decay_steps *= mult;
            } else if (t > decay_steps) {
                t = decay_steps;
            }
            return (p[0] - p[2]) * pow(1.0 - t / decay_steps, p[3]) + p[2];
        }
        case PTC_SCHED_COSINE: {  // p: initial, decay_steps, alpha, warmup_target (NaN: none), warmup_steps
            const double warmup_steps = p[4];
            double t = fmin(step, p[1] + warmup_steps);
            if (isnan(p[3])) return cosine_decay(t, p[1], p[0], p[2]);
            if (t < warmup_steps) return (p[3] - p[0]) * (t / warmup_steps) + p[0];
            return cosine_decay(t - warmup_steps, p[1], p[3], p[2]);
        }
        case PTC_SCHED_COSINE_RESTARTS: {  // p: initial, first_decay_steps, t_mul, m_mul, alpha
            double frac = step / p[1], i_restart;
            if (p[2] != 1.0) {  // geometric growth of the period
                i_restart = floor(log(1.0 - frac * (1.0 - p[2])) / log(p[2]));
                double sum_r = (1.0 - pow(p[2], i_restart)) / (1.0 - p[2]);
                frac = (frac - sum_r) / pow(p[2], i_restart);
            } else {
                i_restart = floor(frac);
                frac -= i_restart;
            }
            double cosine = 0.5 * pow(p[3], i_restart) * (1.0 + cos(PI * frac));
            return p[0] * ((1.0 - p[4]) * cosine + p[4]);
        }
        default:
            return p[0];
    }
}
