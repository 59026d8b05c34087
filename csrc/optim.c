// Optimizer steps over the flat trainable parameters with Keras 3's update
// formulas (keras/src/optimizers/{sgd,adam,rmsprop,adagrad,nadam}.py) and its
// base_optimizer.py order of operations: clip the gradients, decay the weights
// (`w -= w * weight_decay * lr`), then the optimizer's own update. Element-wise
// math is float32 as in Keras; per-step scalars (bias corrections) are computed
// in double and rounded once.
#include <math.h>

#include "isa.h"
#include "ptc.h"
#include "threads.h"

// Per-step constants shared by every variable of one step.
typedef struct {
    float lr;
    float wd;         // weight_decay, 0: none
    float clipvalue;  // INFINITY: none
    float a, b, c;    // per kind, see opt_coefs
} opt_coefs;

// The gradient the update sees: scaled by a clip-by-norm factor, then clipped
// by value. Comparisons are false for NaN, so a NaN gradient stays NaN.
static inline float clipped(float g, float scale, float cv) {
    g *= scale;
    return g > cv ? cv : (g < -cv ? -cv : g);
}

static double sum_squares(const float *g, int64_t n) {
    double s = 0.0;
    for (int64_t i = 0; i < n; i++) s += (double)g[i] * (double)g[i];
    return s;
}

// Keras's clip_by_norm and clip_by_global_norm both multiply by
// limit / max(norm, limit). Non-finite norms follow Keras too: a NaN norm makes
// every gradient NaN; an infinite one zeroes a variable's finite entries
// (clip_by_norm) or makes every gradient NaN (clip_by_global_norm).
static float norm_scale(double norm, double limit, int global) {
    if (isnan(norm) || (global && isinf(norm))) return NAN;
    return norm > limit ? (float)(limit / norm) : 1.0f;
}

static PTC_ALWAYS_INLINE void sgd_update(const ptc_optimizer *o, const opt_coefs *k, float *w, const float *g,
                                         int64_t off, int64_t n, float s) {
    const float lr = k->lr, cv = k->clipvalue, mom = (float)o->momentum;
    if (o->momentum == 0.0) {
        for (int64_t i = 0; i < n; i++) w[i] -= clipped(g[i], s, cv) * lr;
        return;
    }
    // v = momentum * v - lr * g; w += v, or with Nesterov w += momentum * v - lr * g.
    // With a constant lr this equals PyTorch's SGD (its buffer is -v / lr).
    float *restrict v = o->m + off, *restrict wr = w;
    const float *restrict gr = g;
    // Branches hoisted out of the loops and restrict pointers, so they vectorize.
    if (o->nesterov)
        for (int64_t i = 0; i < n; i++) {
            const float gi = clipped(gr[i], s, cv);
            v[i] = v[i] * mom - gi * lr;
            wr[i] += v[i] * mom - gi * lr;
        }
    else
        for (int64_t i = 0; i < n; i++) {
            v[i] = v[i] * mom - clipped(gr[i], s, cv) * lr;
            wr[i] += v[i];
        }
}

static PTC_ALWAYS_INLINE void adam_update(const ptc_optimizer *o, const opt_coefs *k, float *w, const float *g,
                                          int64_t off, int64_t n, float s) {
    // Keras folds both bias corrections into alpha = k->a and adds epsilon to
    // sqrt(v) uncorrected; PyTorch adds it to sqrt(v_hat). They agree when
    // sqrt(v) >> epsilon. AMSGrad divides by the running maximum of v instead.
    const float alpha = k->a, c1 = k->b, c2 = k->c, eps = (float)o->epsilon, cv = k->clipvalue;
    float *restrict m = o->m + off, *restrict v = o->v + off, *restrict wr = w;
    const float *restrict gr = g;
    if (!o->amsgrad) {  // the common case, one branch-free loop that vectorizes
        for (int64_t i = 0; i < n; i++) {
            const float gi = clipped(gr[i], s, cv);
            m[i] += (gi - m[i]) * c1;
            v[i] += (gi * gi - v[i]) * c2;
            wr[i] -= (m[i] * alpha) / (sqrtf(v[i]) + eps);
        }
        return;
    }
    float *restrict vmax = o->u + off;
    for (int64_t i = 0; i < n; i++) {
        const float gi = clipped(gr[i], s, cv);
        m[i] += (gi - m[i]) * c1;
        v[i] += (gi * gi - v[i]) * c2;
        vmax[i] = v[i] > vmax[i] ? v[i] : vmax[i];
        wr[i] -= (m[i] * alpha) / (sqrtf(vmax[i]) + eps);
    }
}

static PTC_ALWAYS_INLINE void rmsprop_update(const ptc_optimizer *o, const opt_coefs *k, float *w, const float *g,
                                             int64_t off, int64_t n, float s) {
    // velocity = rho v + (1 - rho) g^2; centered subtracts the squared running
    // mean gradient; increment = lr g / sqrt(denominator + epsilon).
    const float lr = k->lr, rho = (float)o->rho, one_rho = k->a, eps = (float)o->epsilon;
    const float mom = (float)o->momentum, cv = k->clipvalue;
    // The options in locals and restrict pointers: GCC then unswitches the loop into
    // branch-free copies that vectorize (read through o, they could change with any store).
    const int centered = o->centered, momentum = o->momentum > 0.0;
    float *restrict vel = o->v + off, *restrict wr = w;
    float *restrict avg = centered ? o->u + off : NULL, *restrict mb = momentum ? o->m + off : NULL;
    const float *restrict gr = g;
    for (int64_t i = 0; i < n; i++) {
        const float gi = clipped(gr[i], s, cv);
        vel[i] = rho * vel[i] + one_rho * (gi * gi);
        float denom = vel[i];
        if (centered) {
            avg[i] = rho * avg[i] + one_rho * gi;
            denom = denom - avg[i] * avg[i];
        }
        const float inc = lr * gi / sqrtf(denom + eps);
        if (momentum) {
            mb[i] = mom * mb[i] + inc;
            wr[i] -= mb[i];
        } else {
            wr[i] -= inc;
        }
    }
}

static PTC_ALWAYS_INLINE void adagrad_update(const ptc_optimizer *o, const opt_coefs *k, float *w, const float *g,
                                             int64_t off, int64_t n, float s) {
    // accumulator += g^2; w -= lr g / sqrt(accumulator + epsilon). PyTorch adds
    // its epsilon outside the square root instead.
    const float lr = k->lr, eps = (float)o->epsilon, cv = k->clipvalue;
    float *acc = o->v + off;
    for (int64_t i = 0; i < n; i++) {
        const float gi = clipped(g[i], s, cv);
        acc[i] += gi * gi;
        w[i] -= lr * gi / sqrtf(acc[i] + eps);
    }
}

static PTC_ALWAYS_INLINE void nadam_update(const ptc_optimizer *o, const opt_coefs *k, float *w, const float *g,
                                           int64_t off, int64_t n, float s) {
    // m_hat = u_{t+1} m / (1 - prod_{t+1}) + (1 - u_t) g / (1 - prod_t),
    // v_hat = v / (1 - beta_2^t), w -= lr m_hat / (sqrt(v_hat) + epsilon);
    // the coefficients are k->a, k->b, k->c (see opt_coefs).
    const float c1 = (float)(1.0 - o->beta_1), c2 = (float)(1.0 - o->beta_2), eps = (float)o->epsilon;
    const float lr = k->lr, cm = k->a, cg = k->b, cvh = k->c, cv = k->clipvalue;
    float *m = o->m + off, *v = o->v + off;
    for (int64_t i = 0; i < n; i++) {
        const float gi = clipped(g[i], s, cv);
        m[i] += (gi - m[i]) * c1;
        v[i] += (gi * gi - v[i]) * c2;
        const float m_hat = cm * m[i] + cg * gi;
        w[i] -= m_hat * lr / (sqrtf(v[i] * cvh) + eps);
    }
}

static PTC_ALWAYS_INLINE void adamax_update(const ptc_optimizer *o, const opt_coefs *k, float *w, const float *g,
                                            int64_t off, int64_t n, float s) {
    // keras/src/optimizers/adamax.py: m += (g - m)(1 - beta_1), u = max(beta_2 u, |g|),
    // w -= lr m / ((1 - beta_1^t)(u + epsilon)); k->a = 1 - beta_1^t.
    const float lr = k->lr, c1 = (float)(1.0 - o->beta_1), b2 = (float)o->beta_2, eps = (float)o->epsilon;
    const float bc = k->a, cv = k->clipvalue;
    float *restrict m = o->m + off, *restrict u = o->v + off, *restrict wr = w;
    const float *restrict gr = g;
    for (int64_t i = 0; i < n; i++) {
        const float gi = clipped(gr[i], s, cv), ag = fabsf(gi), bu = b2 * u[i];
        m[i] += (gi - m[i]) * c1;
        u[i] = bu > ag || bu != bu ? bu : ag;  // torch.maximum keeps a NaN
        wr[i] -= (lr * m[i]) / (bc * (u[i] + eps));
    }
}

static PTC_ALWAYS_INLINE void adadelta_update(const ptc_optimizer *o, const opt_coefs *k, float *w, const float *g,
                                              int64_t off, int64_t n, float s) {
    // keras/src/optimizers/adadelta.py: the accumulated squared gradient a, the step
    // delta = -sqrt(d + eps) g / sqrt(a + eps), the accumulated squared step d; w += lr delta.
    const float lr = k->lr, rho = (float)o->rho, one_rho = (float)(1.0 - o->rho), eps = (float)o->epsilon;
    const float cv = k->clipvalue;
    float *restrict a = o->v + off, *restrict dv = o->u + off, *restrict wr = w;
    const float *restrict gr = g;
    for (int64_t i = 0; i < n; i++) {
        const float gi = clipped(gr[i], s, cv);
        a[i] = rho * a[i] + one_rho * (gi * gi);
        const float delta = -(sqrtf(dv[i] + eps) * gi) / sqrtf(a[i] + eps);
        dv[i] = rho * dv[i] + one_rho * (delta * delta);
        wr[i] += lr * delta;
    }
}

static inline float signf(float x) {
    return x > 0.0f ? 1.0f : (x < 0.0f ? -1.0f : x);  // 0 and NaN stay, as torch.sign
}

static PTC_ALWAYS_INLINE void lion_update(const ptc_optimizer *o, const opt_coefs *k, float *w, const float *g,
                                          int64_t off, int64_t n, float s) {
    // keras/src/optimizers/lion.py: w -= lr sign(beta_1 m + (1 - beta_1) g), then
    // m = beta_2 m + (1 - beta_2) g.
    const float lr = k->lr, b1 = (float)o->beta_1, b2 = (float)o->beta_2, cv = k->clipvalue;
    const float c1 = (float)(1.0 - o->beta_1), c2 = (float)(1.0 - o->beta_2);
    float *restrict m = o->m + off, *restrict wr = w;
    const float *restrict gr = g;
    for (int64_t i = 0; i < n; i++) {
        const float gi = clipped(gr[i], s, cv);
        wr[i] -= lr * signf(m[i] * b1 + gi * c1);
        m[i] = m[i] * b2 + gi * c2;
    }
}

static PTC_ALWAYS_INLINE void ftrl_update(const ptc_optimizer *o, const opt_coefs *k, float *w, const float *g,
                                          int64_t off, int64_t n, float s) {
    // keras/src/optimizers/ftrl.py, with l2 = l2_regularization_strength + beta / (2 lr) (k->a):
    // the accumulator n_new = n + g^2, the linear term z += g + 2 l2_shrinkage w - (n_new^-p - n^-p) / lr w,
    // w = (clip(z, -l1, l1) - z) / (n_new^-p / lr + 2 l2), with p = learning_rate_power.
    const float lr = k->lr, l2 = k->a, np_ = (float)-o->lr_power, l1 = (float)o->l1;
    const float shrink2 = (float)(2.0 * o->l2_shrinkage), cv = k->clipvalue;
    float *restrict acc = o->v + off, *restrict z = o->m + off, *restrict wr = w;
    const float *restrict gr = g;
    for (int64_t i = 0; i < n; i++) {
        const float gi = clipped(gr[i], s, cv), na = acc[i] + gi * gi, pn = powf(na, np_);
        z[i] += (gi + shrink2 * wr[i]) - (pn - powf(acc[i], np_)) / lr * wr[i];
        const float quadratic = pn / lr + 2.0f * l2, zc = z[i] < -l1 ? -l1 : (z[i] > l1 ? l1 : z[i]);
        wr[i] = (zc - z[i]) / quadratic;
        acc[i] = na;
    }
}

// Keras's _apply_weight_decay on one variable, compiled per ISA (isa.h) as update_variable.
PTC_KERNEL(static, decay_variable, (const opt_coefs *k, float *w, int64_t n), (k, w, n)) {
    for (int64_t i = 0; i < n; i++) w[i] -= w[i] * k->wd * k->lr;
}

// Lamb's per-variable step r = m_hat / (sqrt(v_hat) + epsilon), after the updates of m and v; returns sum(r^2) and adds
// sum(w^2) to *w2 (keras/src/optimizers/lamb.py).
static double lamb_moments(const ptc_optimizer *o, const opt_coefs *k, const float *w, const float *g, int64_t off,
                           int64_t n, float s, double *w2) {
    const float c1 = (float)(1.0 - o->beta_1), c2 = (float)(1.0 - o->beta_2), eps = (float)o->epsilon;
    const float bc1 = k->b, bc2 = k->c, cv = k->clipvalue;
    float *m = o->m + off, *v = o->v + off;
    double r2 = 0.0, ww = 0.0;
    for (int64_t i = 0; i < n; i++) {
        const float gi = clipped(g[i], s, cv);
        m[i] += (gi - m[i]) * c1;
        v[i] += (gi * gi - v[i]) * c2;
        const float r = (m[i] / bc1) / (sqrtf(v[i] / bc2) + eps);
        r2 += (double)r * r;
        ww += (double)w[i] * w[i];
    }
    *w2 += ww;
    return r2;
}

// One Lamb variable: the moments, then w -= ratio lr r with ratio = ||w|| / ||r|| (1 when
// either is 0). Serial (the norms are sums), so the result does not depend on the threads.
static void lamb_variable(const ptc_optimizer *o, const opt_coefs *k, float *w, const float *g, int64_t off, int64_t n,
                          float s) {
    if (k->wd != 0.0f) decay_variable(k, w, n);
    double w2 = 0.0;
    const double r2 = lamb_moments(o, k, w, g, off, n, s, &w2);
    const float wn = (float)sqrt(w2), rn = (float)sqrt(r2);
    const float ratio = wn > 0.0f ? (rn > 0.0f ? wn / rn : 1.0f) : 1.0f, step = ratio * k->lr;
    const float eps = (float)o->epsilon, bc1 = k->b, bc2 = k->c;
    const float *m = o->m + off, *v = o->v + off;
    for (int64_t i = 0; i < n; i++) w[i] -= step * ((m[i] / bc1) / (sqrtf(v[i] / bc2) + eps));
}

// Adafactor's per-variable step (keras/src/optimizers/adafactor.py), with k->a = rho_t =
// min(lr, 1 / sqrt(t)), k->b = beta_2_t = 1 - t^beta_2_decay. A weight of shape (B, R, C)
// (R, C > 0: rank >= 2, B the product of the leading axes) keeps the running row means r (B, R)
// in o->m and column means c (B, C) in o->u from its offset, and v = r / mean(r) (x) c;
// below rank 2 (R = C = 0) v is the running mean of g^2 + epsilon_1 itself. Then
// u = g / sqrt(v), w -= max(epsilon_2, rms(w)) rho_t u / max(1, rms(u) / clip_threshold).
// Serial: the means and RMSs are sums (in double), so the result is thread-independent.
static void adafactor_variable(const ptc_optimizer *o, const opt_coefs *k, float *w, const float *g, int64_t off,
                               int64_t n, int64_t R, int64_t C, float s) {
    if (n == 0) return;
    if (k->wd != 0.0f) decay_variable(k, w, n);
    const float b2 = k->b, one_b2 = 1.0f - k->b, eps1 = (float)o->epsilon_1, cv = k->clipvalue;
    float *v = o->v + off;
    double w2 = 0.0;
    for (int64_t i = 0; i < n; i++) w2 += (double)w[i] * w[i];
    const float rms_w = (float)sqrt(w2 / (double)n);
    // torch.maximum keeps a NaN: a NaN weight or update makes the whole variable NaN, as in Keras.
    const float alpha = (rms_w > (float)o->epsilon_2 || rms_w != rms_w ? rms_w : (float)o->epsilon_2) * k->a;
    if (R > 0 && C > 0) {
        const int64_t B = n / (R * C);
        for (int64_t b = 0; b < B; b++) {
            const float *gb = g + b * R * C;
            float *r = o->m + off + b * R, *c = o->u + off + b * C, *vb = v + b * R * C;
            double rsum = 0.0;
            for (int64_t j = 0; j < C; j++) vb[j] = 0.0f;  // column sums, in v's first row until v is formed
            for (int64_t i = 0; i < R; i++) {
                double row = 0.0;
                for (int64_t j = 0; j < C; j++) {
                    const float gi = clipped(gb[i * C + j], s, cv), q = gi * gi + eps1;
                    row += q;
                    vb[j] += q;
                }
                r[i] = b2 * r[i] + one_b2 * (float)(row / (double)C);
                rsum += r[i];
            }
            for (int64_t j = 0; j < C; j++) c[j] = b2 * c[j] + one_b2 * (vb[j] / (float)R);
            const float rmean = (float)(rsum / (double)R);
            for (int64_t i = 0; i < R; i++)
                for (int64_t j = 0; j < C; j++) vb[i * C + j] = (r[i] / rmean) * c[j];
        }
    } else {
        for (int64_t i = 0; i < n; i++) {
            const float gi = clipped(g[i], s, cv);
            v[i] = b2 * v[i] + one_b2 * (gi * gi + eps1);
        }
    }
    double u2 = 0.0;
    for (int64_t i = 0; i < n; i++) {
        const float u = clipped(g[i], s, cv) / sqrtf(v[i]);
        u2 += (double)u * u;
    }
    const float rms_u = (float)sqrt(u2 / (double)n) / (float)o->clip_threshold;
    const float step = alpha / (rms_u > 1.0f || rms_u != rms_u ? rms_u : 1.0f);
    for (int64_t i = 0; i < n; i++) w[i] -= step * (clipped(g[i], s, cv) / sqrtf(v[i]));
}

// Scalars of step t = iterations + 1. Nadam's u_product (o->u[0]) advances here,
// once per step, as in Keras's Nadam._backend_update_step.
static opt_coefs opt_coefs_init(ptc_optimizer *o, double lr, int64_t step) {
    opt_coefs k = {(float)lr, (float)o->weight_decay, o->clipvalue > 0.0 ? (float)o->clipvalue : INFINITY, 0.0f, 0.0f,
                   0.0f};
    const double t = (double)(step + 1);
    switch (o->kind) {
        case PTC_OPT_ADAM:
            k.a = (float)(lr * sqrt(1.0 - pow(o->beta_2, t)) / (1.0 - pow(o->beta_1, t)));
            k.b = (float)(1.0 - o->beta_1);
            k.c = (float)(1.0 - o->beta_2);
            break;
        case PTC_OPT_RMSPROP:
            k.a = (float)(1.0 - o->rho);
            break;
        case PTC_OPT_ADAMAX:
            k.a = (float)(1.0 - pow(o->beta_1, t));
            break;
        case PTC_OPT_FTRL:
            k.a = (float)(o->l2 + o->ftrl_beta / (2.0 * lr));
            break;
        case PTC_OPT_LAMB:
            k.b = (float)(1.0 - pow(o->beta_1, t));
            k.c = (float)(1.0 - pow(o->beta_2, t));
            break;
        case PTC_OPT_ADAFACTOR: {
            // Keras computes these in float32; relative_step's min(lr, 1 / sqrt(t)) equals rho_t.
            const float tf = (float)t, inv = 1.0f / sqrtf(tf);
            k.a = (float)lr < inv ? (float)lr : inv;
            k.b = 1.0f - powf(tf, (float)o->beta_2_decay);
            break;
        }
        case PTC_OPT_NADAM: {
            const double u_t = o->beta_1 * (1.0 - 0.5 * pow(0.96, t));
            const double u_next = o->beta_1 * (1.0 - 0.5 * pow(0.96, t + 1.0));
            o->u[0] = (float)((double)o->u[0] * u_t);  // Keras keeps u_product in float32
            const double prod = (double)o->u[0], prod_next = prod * u_next;
            k.a = (float)(u_next / (1.0 - prod_next));
            k.b = (float)((1.0 - u_t) / (1.0 - prod));
            k.c = (float)(1.0 / (1.0 - pow(o->beta_2, t)));
            break;
        }
        default:
            break;
    }
    return k;
}

// The optimizers whose update is elementwise, each with its <name>_update above (Lamb and
// Adafactor need per-variable norms: lamb_variable, adafactor_variable).
// clang-format off
#define PTC_ELEMENTWISE_OPTIMIZERS(X) \
    X(SGD, sgd) X(ADAM, adam) X(RMSPROP, rmsprop) X(ADAGRAD, adagrad) X(NADAM, nadam) \
    X(ADAMAX, adamax) X(ADADELTA, adadelta) X(LION, lion) X(FTRL, ftrl)
// clang-format on

// One variable's update, compiled per ISA (isa.h) with the optimizers inlined.
PTC_KERNEL(static, update_variable,
           (const ptc_optimizer *o, const opt_coefs *k, float *w, const float *g, int64_t off, int64_t n, float s),
           (o, k, w, g, off, n, s)) {
    if (k->wd != 0.0f)  // Keras's _apply_weight_decay, before the update, with the same lr
        for (int64_t i = 0; i < n; i++) w[i] -= w[i] * k->wd * k->lr;
    switch (o->kind) {
#define PTC_UPDATE_CASE(KIND, name)           \
    case PTC_OPT_##KIND:                      \
        name##_update(o, k, w, g, off, n, s); \
        break;
        PTC_ELEMENTWISE_OPTIMIZERS(PTC_UPDATE_CASE)
#undef PTC_UPDATE_CASE
        default:
            break;
    }
}

// One variable's update split over the pool (threads.h): elementwise, so any split
// gives the same floats.
typedef struct {
    const ptc_optimizer *o;
    const opt_coefs *k;
    float *w;
    const float *g;
    int64_t off;
    float s;
} update_job;

static void update_part(void *ctx, int64_t lo, int64_t hi, int part) {
    const update_job *u = ctx;
    update_variable(u->o, u->k, u->w + lo, u->g + lo, u->off + lo, hi - lo, u->s);
}

static void update_parallel(const ptc_optimizer *o, const opt_coefs *k, float *w, const float *g, int64_t off,
                            int64_t n, float s) {
    if (o->kind == PTC_OPT_LAMB) {  // per variable, with norms: not split
        lamb_variable(o, k, w, g, off, n, s);
        return;
    }
    update_job u = {o, k, w, g, off, s};
    ptc_parallel_for(n, 16, 4 * n, update_part, &u);  // w, g and up to two moments per float
}

// Whether the step goes variable by variable: per-variable norms (clipnorm, Lamb's trust
// ratio, Adafactor's RMSs and factored moments) or a variable excluded from weight decay.
static int per_variable(const ptc_optimizer *o) {
    if (!o->slices) return 0;
    if (o->clipnorm > 0.0 || o->kind == PTC_OPT_LAMB || o->kind == PTC_OPT_ADAFACTOR) return 1;
    if (o->weight_decay == 0.0 || o->slice_cols != PTC_SLICE_WIDTH) return 0;
    for (int64_t j = 0; j < o->n_slices; j++)
        if (o->slices[j * PTC_SLICE_WIDTH + PTC_SLICE_FLAGS] & PTC_SLICE_NO_DECAY) return 1;
    return 0;
}

// One update with the gradients grads (P,) at update step `step`, the schedule read at `batch`.
static void optimizer_update(ptc_optimizer *opt, float *params, const float *grads, int64_t P, int64_t step,
                             int64_t batch) {
    const double lr =
        opt->schedule.kind == PTC_SCHED_CONSTANT ? opt->learning_rate : ptc_schedule_value(&opt->schedule, batch);
    const opt_coefs k = opt_coefs_init(opt, lr, step);
    // At most one clipping is set (checked by the caller); global_clipnorm scales every gradient alike.
    const float gs =
        opt->global_clipnorm > 0.0 ? norm_scale(sqrt(sum_squares(grads, P)), opt->global_clipnorm, 1) : 1.0f;
    if (per_variable(opt)) {
        // Keras clips each variable's gradient by its own norm; Lamb's trust ratio is per variable too.
        const int w = opt->slice_cols;
        for (int64_t j = 0; j < opt->n_slices; j++) {
            const int64_t *row = opt->slices + j * w, off = row[PTC_SLICE_OFFSET], n = row[PTC_SLICE_SIZE];
            const float s = opt->clipnorm > 0.0 ? norm_scale(sqrt(sum_squares(grads + off, n)), opt->clipnorm, 0) : gs;
            opt_coefs kv = k;
            if (w == PTC_SLICE_WIDTH && (row[PTC_SLICE_FLAGS] & PTC_SLICE_NO_DECAY)) kv.wd = 0.0f;
            if (opt->kind == PTC_OPT_ADAFACTOR) {
                const int64_t R = w == PTC_SLICE_WIDTH ? row[PTC_SLICE_DIM_R] : 0;
                const int64_t C = w == PTC_SLICE_WIDTH ? row[PTC_SLICE_DIM_C] : 0;
                adafactor_variable(opt, &kv, params + off, grads + off, off, n, R, C, s);
            } else {
                update_parallel(opt, &kv, params + off, grads + off, off, n, s);
            }
        }
    } else if (opt->kind == PTC_OPT_ADAFACTOR) {  // one variable of rank 1
        const float s = opt->clipnorm > 0.0 ? norm_scale(sqrt(sum_squares(grads, P)), opt->clipnorm, 0) : gs;
        adafactor_variable(opt, &k, params, grads, 0, P, 0, 0, s);
    } else {
        const float s = opt->clipnorm > 0.0 ? norm_scale(sqrt(sum_squares(grads, P)), opt->clipnorm, 0) : gs;
        update_parallel(opt, &k, params, grads, 0, P, s);
    }
}

// Keras's base_optimizer order (_backend_apply_gradients): accumulate, or update with the mean of
// the accumulated gradients and reset them; then the moving average (its momentum 0 at the first
// step), and the overwrite of the weights by it every ema_overwrite_frequency steps.
void ptc_optimizer_step(ptc_optimizer *opt, float *params, const float *grads, int64_t P) {
    if (opt->kind < PTC_OPT_SGD || opt->kind >= PTC_OPT_COUNT) return;
    const int64_t batch = *opt->iterations, n = opt->accumulation_steps > 1 && opt->acc ? opt->accumulation_steps : 1;
    const int64_t step = batch / n;  // Keras's optimizer.iterations
    if (n == 1) {
        optimizer_update(opt, params, grads, P, step, batch);
    } else if ((batch + 1) % n != 0) {
        for (int64_t i = 0; i < P; i++) opt->acc[i] += grads[i];
    } else {
        const float nf = (float)n;
        for (int64_t i = 0; i < P; i++) opt->acc[i] = (grads[i] + opt->acc[i]) / nf;
        optimizer_update(opt, params, opt->acc, P, step, batch);
        for (int64_t i = 0; i < P; i++) opt->acc[i] = 0.0f;
    }
    if (opt->use_ema && opt->ema) {
        const float mom = step != 0 ? (float)opt->ema_momentum : 0.0f, one_mom = 1.0f - mom;
        float *restrict e = opt->ema;
        const float *restrict w = params;
        for (int64_t i = 0; i < P; i++) e[i] = mom * e[i] + one_mom * w[i];
        if (opt->ema_overwrite_frequency > 0 && (step + 1) % opt->ema_overwrite_frequency == 0)
            for (int64_t i = 0; i < P; i++) params[i] = e[i];
    }
    *opt->iterations += 1;
}
