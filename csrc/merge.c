// Merge kernels (Keras's Add, Subtract, Multiply, Average, Concatenate) over
// n_in inputs of n floats each. Backward: dins[k] += d(loss)/d(in k); a NULL
// dins[k] (the model input) is skipped.
#include <string.h>

#include "ptc.h"

void ptc_add_forward(float *out, const float *const *ins, int n_in, int64_t n) {
    memcpy(out, ins[0], (size_t)n * sizeof(float));
    for (int k = 1; k < n_in; k++)
        for (int64_t i = 0; i < n; i++) out[i] += ins[k][i];
}

void ptc_add_backward(float *const *dins, const float *dout, int n_in, int64_t n) {
    for (int k = 0; k < n_in; k++)
        if (dins[k])
            for (int64_t i = 0; i < n; i++) dins[k][i] += dout[i];
}

void ptc_subtract_forward(float *out, const float *a, const float *b, int64_t n) {
    for (int64_t i = 0; i < n; i++) out[i] = a[i] - b[i];
}

void ptc_subtract_backward(float *da, float *db, const float *dout, int64_t n) {
    if (da)
        for (int64_t i = 0; i < n; i++) da[i] += dout[i];
    if (db)
        for (int64_t i = 0; i < n; i++) db[i] -= dout[i];
}

void ptc_multiply_forward(float *out, const float *const *ins, int n_in, int64_t n) {
    memcpy(out, ins[0], (size_t)n * sizeof(float));
    for (int k = 1; k < n_in; k++)
        for (int64_t i = 0; i < n; i++) out[i] *= ins[k][i];
}

// d/dx_k prod_j x_j = prod_{j != k} x_j, recomputed rather than out / x_k, which
// would divide by zero.
void ptc_multiply_backward(float *const *dins, const float *dout, const float *const *ins, int n_in, int64_t n) {
    for (int k = 0; k < n_in; k++) {
        if (!dins[k]) continue;
        for (int64_t i = 0; i < n; i++) {
            float g = dout[i];
            for (int j = 0; j < n_in; j++)
                if (j != k) g *= ins[j][i];
            dins[k][i] += g;
        }
    }
}

void ptc_average_forward(float *out, const float *const *ins, int n_in, int64_t n) {
    ptc_add_forward(out, ins, n_in, n);
    const float inv = 1.0f / (float)n_in;
    for (int64_t i = 0; i < n; i++) out[i] *= inv;
}

void ptc_average_backward(float *const *dins, const float *dout, int n_in, int64_t n) {
    const float inv = 1.0f / (float)n_in;
    for (int k = 0; k < n_in; k++)
        if (dins[k])
            for (int64_t i = 0; i < n; i++) dins[k][i] += dout[i] * inv;
}

// rows rows; input k contributes widths[k] floats to each row of out (rows, sum widths).
void ptc_concat_forward(float *out, const float *const *ins, const int64_t *widths, int n_in, int64_t rows) {
    int64_t wout = 0, col = 0;
    for (int k = 0; k < n_in; k++) wout += widths[k];
    for (int k = 0; k < n_in; k++) {
        const int64_t w = widths[k];
        for (int64_t r = 0; r < rows; r++) memcpy(out + r * wout + col, ins[k] + r * w, (size_t)w * sizeof(float));
        col += w;
    }
}

void ptc_concat_backward(float *const *dins, const float *dout, const int64_t *widths, int n_in, int64_t rows) {
    int64_t wout = 0, col = 0;
    for (int k = 0; k < n_in; k++) wout += widths[k];
    for (int k = 0; k < n_in; k++) {
        const int64_t w = widths[k];
        if (dins[k])
            for (int64_t r = 0; r < rows; r++)
                for (int64_t c = 0; c < w; c++) dins[k][r * w + c] += dout[r * wout + col + c];
        col += w;
    }
}
