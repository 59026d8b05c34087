// L1/L2 penalties, Keras's formulas: l1 * sum|x| + l2 * sum x^2 (regularizers.py),
// used for weight regularizers and activity regularization. Sums in double.
#include <math.h>

#include "ptc.h"

double ptc_penalty_value(const float *x, int64_t n, double l1, double l2) {
    double s1 = 0.0, s2 = 0.0;
    for (int64_t i = 0; i < n; i++) {
        s1 += fabsf(x[i]);
        s2 += (double)x[i] * x[i];
    }
    return l1 * s1 + l2 * s2;
}

// g += l1 * sign(x) + 2 * l2 * x. g may alias x's gradient buffer, never x.
void ptc_penalty_grad(float *g, const float *x, int64_t n, double l1, double l2) {
    const float a = (float)l1, b = (float)(2.0 * l2);
    for (int64_t i = 0; i < n; i++) g[i] += a * (float)((x[i] > 0.0f) - (x[i] < 0.0f)) + b * x[i];
}
