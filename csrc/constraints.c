// Weight constraints, Keras 3's keras/src/constraints/constraints.py: each projects a trainable
// variable right after the optimizer updated it (Keras's BaseOptimizer.apply), every step of the
// epoch's C call. Norms are taken over the axes of `axes` with keepdims and broadcast back, in
// float32 as Keras computes them (sums in double), with backend.epsilon() = 1e-7 added to the
// norm in the denominator only.
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ptc.h"
#include "ops.h"
#include "threads.h"

#define PTC_CONSTRAINT_EPS 1e-7f
#define PTC_CONSTRAINT_CHUNK 64  // columns whose norms one pass keeps on the stack

ptc_status ptc_constraint_check(const ptc_constraint *c, int64_t *size) {
    if (c->kind < 0 || c->kind >= PTC_CONSTRAINT_COUNT || c->rank < 0 || c->rank > PTC_CONSTRAINT_MAX_RANK)
        return PTC_ERR_VALUE;
    if ((c->axes & ~((1 << c->rank) - 1)) != 0 || c->offset < 0) return PTC_ERR_VALUE;
    if (!isfinite(c->min_value) || !isfinite(c->max_value) || !isfinite(c->rate)) return PTC_ERR_VALUE;
    int64_t n = 1;
    for (int k = 0; k < c->rank; k++)
        if (c->dims[k] <= 0 || !ptc_mul_ok(n, c->dims[k], &n)) return PTC_ERR_VALUE;
    *size = n;
    return PTC_OK;
}

// The factor of a norm n: w * q, or w / q for UnitNorm (Keras divides there).
static inline float norm_factor(const ptc_constraint *c, float n) {
    switch (c->kind) {
        case PTC_CONSTRAINT_MAX_NORM:
            return fminf(fmaxf(n, 0.0f), (float)c->max_value) / (PTC_CONSTRAINT_EPS + n);
        case PTC_CONSTRAINT_MIN_MAX_NORM: {
            const float clipped = fminf(fmaxf(n, (float)c->min_value), (float)c->max_value);
            return ((float)c->rate * clipped + (float)(1.0 - c->rate) * n) / (PTC_CONSTRAINT_EPS + n);
        }
        default:  // UNIT_NORM
            return PTC_CONSTRAINT_EPS + n;
    }
}

static inline float project(int unit, float w, float q) {
    return unit ? w / q : w * q;
}

static void non_neg(float *restrict w, int64_t n) {
    for (int64_t i = 0; i < n; i++) w[i] = w[i] < 0.0f ? 0.0f : w[i];  // NaN stays NaN, as torch.maximum
}

#define PTC_CONSTRAINT_LANES 8
// sum x^2 over n contiguous floats in PTC_CONSTRAINT_LANES double lanes (a single running sum is
// bound by the add latency), combined in a fixed order.
static double sum_squares(const float *restrict x, int64_t n) {
    double s[PTC_CONSTRAINT_LANES] = {0.0};
    int64_t i = 0;
    for (; i + PTC_CONSTRAINT_LANES <= n; i += PTC_CONSTRAINT_LANES)
        for (int j = 0; j < PTC_CONSTRAINT_LANES; j++) s[j] += (double)x[i + j] * x[i + j];
    for (int j = 0; i < n; i++, j++) s[j] += (double)x[i] * x[i];
    for (int h = PTC_CONSTRAINT_LANES / 2; h > 0; h /= 2)
        for (int j = 0; j < h; j++) s[j] += s[j + h];
    return s[0];
}

// Norms over the middle axis of w viewed as (A, R, B): items are A rows of R when B = 1 (the
// trailing axes reduced), else A * chunks blocks of at most PTC_CONSTRAINT_CHUNK columns. Each
// norm lies in one item, so the results do not depend on how the pool splits them.
typedef struct {
    const ptc_constraint *c;
    float *w;
    int64_t R, B, chunks;
} arb_job;

static void arb_part(void *ctx, int64_t lo, int64_t hi, int part) {
    (void)part;
    const arb_job *j = ctx;
    const int unit = j->c->kind == PTC_CONSTRAINT_UNIT_NORM;
    const int64_t R = j->R, B = j->B;
    double ss[PTC_CONSTRAINT_CHUNK];
    float q[PTC_CONSTRAINT_CHUNK];
    for (int64_t item = lo; item < hi; item++) {
        if (B == 1) {
            float *restrict row = j->w + item * R;
            const float f = norm_factor(j->c, sqrtf((float)sum_squares(row, R)));
            if (unit)
                for (int64_t r = 0; r < R; r++) row[r] /= f;
            else
                for (int64_t r = 0; r < R; r++) row[r] *= f;
            continue;
        }
        const int64_t a = item / j->chunks, b0 = item % j->chunks * PTC_CONSTRAINT_CHUNK;
        const int64_t m = B - b0 < PTC_CONSTRAINT_CHUNK ? B - b0 : PTC_CONSTRAINT_CHUNK;
        float *base = j->w + a * R * B + b0;  // (R, m) with row stride B
        for (int64_t k = 0; k < m; k++) ss[k] = 0.0;
        for (int64_t r = 0; r < R; r++)
            for (int64_t k = 0; k < m; k++) ss[k] += (double)base[r * B + k] * base[r * B + k];
        for (int64_t k = 0; k < m; k++) q[k] = norm_factor(j->c, sqrtf((float)ss[k]));
        for (int64_t r = 0; r < R; r++)
            for (int64_t k = 0; k < m; k++) base[r * B + k] = project(unit, base[r * B + k], q[k]);
    }
}

static void norms_arb(const ptc_constraint *c, float *w, int64_t A, int64_t R, int64_t B) {
    arb_job j = {c, w, R, B, B == 1 ? 1 : (B + PTC_CONSTRAINT_CHUNK - 1) / PTC_CONSTRAINT_CHUNK};
    const int64_t items = A * j.chunks;
    ptc_parallel_for(items, 1, 2 * A * R * B, arb_part, &j);  // two passes over w
}

static void non_neg_part(void *ctx, int64_t lo, int64_t hi, int part) {
    (void)part;
    non_neg((float *)ctx + lo, hi - lo);
}

// Any set of reduced axes: for each kept index, an odometer over the reduced axes' strides.
static void norms_strided(const ptc_constraint *c, float *w) {
    const int unit = c->kind == PTC_CONSTRAINT_UNIT_NORM;
    int64_t stride[PTC_CONSTRAINT_MAX_RANK], kd[PTC_CONSTRAINT_MAX_RANK], ks[PTC_CONSTRAINT_MAX_RANK];
    int64_t rd[PTC_CONSTRAINT_MAX_RANK], rs[PTC_CONSTRAINT_MAX_RANK], kept = 1, red = 1;
    int nk = 0, nr = 0;
    for (int64_t k = c->rank - 1, s = 1; k >= 0; s *= c->dims[k], k--) stride[k] = s;
    for (int k = c->rank - 1; k >= 0; k--) {
        if (c->axes >> k & 1) {
            rd[nr] = c->dims[k], rs[nr++] = stride[k];
            red *= c->dims[k];
        } else {
            kd[nk] = c->dims[k], ks[nk++] = stride[k];
            kept *= c->dims[k];
        }
    }
    for (int64_t i = 0; i < kept; i++) {
        int64_t base = 0, rest = i;
        for (int k = 0; k < nk; k++) base += (rest % kd[k]) * ks[k], rest /= kd[k];
        double ss = 0.0;
        for (int pass = 0; pass < 2; pass++) {
            const float q = pass ? norm_factor(c, sqrtf((float)ss)) : 0.0f;
            for (int64_t j = 0; j < red; j++) {
                int64_t off = base, r = j;
                for (int k = 0; k < nr; k++) off += (r % rd[k]) * rs[k], r /= rd[k];
                if (pass)
                    w[off] = project(unit, w[off], q);
                else
                    ss += (double)w[off] * w[off];
            }
        }
    }
}

void ptc_constraint_apply(const ptc_constraint *c, float *w) {
    int64_t n;
    if (ptc_constraint_check(c, &n) != PTC_OK) return;
    if (c->kind == PTC_CONSTRAINT_NON_NEG) {
        ptc_parallel_for(n, 16, n, non_neg_part, w);
        return;
    }
    // One run of reduced axes: w is (A, R, B) with A the kept axes before it, B those after.
    int first = -1, last = -1, runs = 0;
    for (int k = 0; k < c->rank; k++)
        if (c->axes >> k & 1) {
            if (last != k - 1 || first < 0) runs++, first = first < 0 ? k : first;
            last = k;
        }
    if (runs == 1 || c->axes == 0) {
        int64_t A = 1, R = 1, B = 1;
        for (int k = 0; k < c->rank; k++) {
            if (c->axes == 0 || k > last)
                B *= c->dims[k];
            else if (k < first)
                A *= c->dims[k];
            else
                R *= c->dims[k];
        }
        norms_arb(c, w, A, R, B);
    } else {
        norms_strided(c, w);
    }
}

// The reference: each float's kept index by division, sums in norms (kept size,).
void ptc_constraint_apply_naive(const ptc_constraint *c, float *w, double *norms) {
    int64_t n, kept = 1;
    if (ptc_constraint_check(c, &n) != PTC_OK) return;
    for (int k = 0; k < c->rank; k++)
        if (!(c->axes >> k & 1)) kept *= c->dims[k];
    for (int64_t i = 0; i < kept; i++) norms[i] = 0.0;
    for (int pass = 0; pass < 2; pass++)
        for (int64_t i = 0; i < n; i++) {
            int64_t rest = i, key = 0, scale = 1;
            for (int k = c->rank - 1; k >= 0; k--) {
                const int64_t idx = rest % c->dims[k];
                rest /= c->dims[k];
                if (!(c->axes >> k & 1)) key += idx * scale, scale *= c->dims[k];
            }
            if (c->kind == PTC_CONSTRAINT_NON_NEG) {
                if (pass) w[i] = w[i] < 0.0f ? 0.0f : w[i];
            } else if (!pass) {
                norms[key] += (double)w[i] * w[i];
            } else {
                const float q = norm_factor(c, sqrtf((float)norms[key]));
                w[i] = c->kind == PTC_CONSTRAINT_UNIT_NORM ? w[i] / q : w[i] * q;
            }
        }
}

ptc_status ptc_plan_set_constraints(ptc_plan *p, const ptc_constraint *cs, int n) {
    ptc_constraint *copy = NULL;
    if (n < 0) return PTC_ERR_VALUE;
    for (int i = 0; i < n; i++) {
        int64_t size;
        if (ptc_constraint_check(&cs[i], &size) != PTC_OK || size > p->n_trainable ||
            cs[i].offset > p->n_trainable - size)
            return PTC_ERR_VALUE;
    }
    if (n > 0) {
        copy = malloc((size_t)n * sizeof(*copy));
        if (!copy) return PTC_ERR_NOMEM;
        memcpy(copy, cs, (size_t)n * sizeof(*copy));
    }
    free(p->constraints);
    p->constraints = copy;
    p->n_constraints = n;
    return PTC_OK;
}

void ptc_plan_apply_constraints(ptc_plan *p) {
    for (int i = 0; i < p->n_constraints; i++)
        ptc_constraint_apply(&p->constraints[i], p->params + p->constraints[i].offset);
}
