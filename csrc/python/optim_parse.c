// Parsing an optimizer's and a schedule's arrays into the engine's structs, shared by the
// Plan type (set_optimizer, set_schedule) and the test-only kernel entry points.
#include "common.h"

#include <ctype.h>
#include <math.h>
#include <string.h>

// An optimizer's hyper-parameters come as float64 in kinds.def's PTC_OPTIMIZER_HYPER
// order; entries past the end of a shorter array (at least 8) read as 0 (off).
#define HYP_NAME(NAME) #NAME,
static const char *const hyp_names[PTC_HYPER_COUNT] = {PTC_OPTIMIZER_HYPER(HYP_NAME)};

static int check_slot(PyArrayObject *a, const char *name, npy_intp want, const char *what) {
    if (PyArray_DIM(a, 0) == want) return 0;
    PyErr_Format(PyExc_ValueError, "optimizer slot %s (%s) must hold %zd floats. Received: %zd", name, what,
                 (Py_ssize_t)want, (Py_ssize_t)PyArray_DIM(a, 0));
    return -1;
}

// The base optimizer's EMA and gradient accumulation (hyper USE_EMA, EMA_MOMENTUM in [0, 1],
// EMA_OVERWRITE_FREQUENCY and GRADIENT_ACCUMULATION_STEPS whole numbers >= 0, 0: off) with
// their (P,) float32 arrays, None when off.
static int parse_ema_accumulation(ptc_optimizer *o, const double *hd, PyObject *eo, PyObject *ao, npy_intp P) {
    const double mom = hd[PTC_HYPER_EMA_MOMENTUM], freq = hd[PTC_HYPER_EMA_OVERWRITE_FREQUENCY];
    const double steps = hd[PTC_HYPER_GRADIENT_ACCUMULATION_STEPS];
    if (!(mom >= 0.0 && mom <= 1.0) || !(freq >= 0.0 && freq < 9e15 && freq == floor(freq)) ||
        !(steps >= 0.0 && steps < 9e15 && steps == floor(steps))) {
        PyErr_SetString(PyExc_ValueError,
                        "optimizer ema_momentum must be in [0, 1], ema_overwrite_frequency and "
                        "gradient_accumulation_steps whole numbers >= 0");
        return -1;
    }
    o->use_ema = hd[PTC_HYPER_USE_EMA] != 0.0;
    o->ema_momentum = mom;
    o->ema_overwrite_frequency = (int64_t)freq;
    o->accumulation_steps = steps > 1.0 ? (int64_t)steps : 1;
    PyArrayObject *e = NULL, *a = NULL;
    if (o->use_ema && !(e = ptc_py_check_array(eo, NPY_FLOAT32, 1, 1, "ema"))) return -1;
    if (o->accumulation_steps > 1 && !(a = ptc_py_check_array(ao, NPY_FLOAT32, 1, 1, "acc"))) return -1;
    if ((e && check_slot(e, "ema", P, "moving average")) || (a && check_slot(a, "acc", P, "gradient accumulator")))
        return -1;
    o->ema = e ? PyArray_DATA(e) : NULL;
    o->acc = a ? PyArray_DATA(a) : NULL;
    return 0;
}

// Fills an optimizer from (kind, hyper float64 (>= 8,) laid out as HYP_*, m, v, u
// float32 (P,) or (0,) where unused (Nadam's u: (1,)), iterations int64 (1,),
// slices int64 (n_vars, 2) [offset, size] tiling [0, P) in order, or NULL / None
// for one variable). The optimizer borrows every array. Returns 0 or sets an exception.
int ptc_py_parse_optimizer(ptc_optimizer *o, int kind, PyObject *ho, PyObject *mo, PyObject *vo, PyObject *uo,
                           PyObject *eo, PyObject *ao, PyObject *io, PyObject *so, npy_intp P) {
    memset(o, 0, sizeof(*o));
    PyArrayObject *h = ptc_py_check_array(ho, NPY_FLOAT64, 1, 0, "hyper");
    PyArrayObject *m = h ? ptc_py_check_array(mo, NPY_FLOAT32, 1, 1, "m") : NULL;
    PyArrayObject *v = m ? ptc_py_check_array(vo, NPY_FLOAT32, 1, 1, "v") : NULL;
    PyArrayObject *u = v ? ptc_py_check_array(uo, NPY_FLOAT32, 1, 1, "u") : NULL;
    PyArrayObject *it = u ? ptc_py_check_array(io, NPY_INT64, 1, 1, "iterations") : NULL;
    PyArrayObject *sl = NULL;
    if (!it) return -1;
    if (so && so != Py_None && !(sl = ptc_py_check_array(so, NPY_INT64, 2, 0, "slices"))) return -1;
    if (kind < PTC_OPT_SGD || kind >= PTC_OPT_COUNT) {
        PyErr_Format(PyExc_ValueError, "unknown optimizer kind %d", kind);
        return -1;
    }
    if (PyArray_DIM(h, 0) < 8) {
        PyErr_Format(PyExc_ValueError, "hyper must hold at least 8 values. Received: %zd",
                     (Py_ssize_t)PyArray_DIM(h, 0));
        return -1;
    }
    double hd[PTC_HYPER_COUNT] = {0};
    memcpy(hd, PyArray_DATA(h),
           (size_t)(PyArray_DIM(h, 0) < PTC_HYPER_COUNT ? PyArray_DIM(h, 0) : PTC_HYPER_COUNT) * sizeof(double));
    // Rates, decay and clipping limits: finite and >= 0 (0 is "off" for the last four);
    // momentum, epsilon and rho too where the kind reads them; betas in [0, 1).
    int must[PTC_HYPER_COUNT] = {0};
    must[PTC_HYPER_LEARNING_RATE] = must[PTC_HYPER_WEIGHT_DECAY] = must[PTC_HYPER_CLIPNORM] =
        must[PTC_HYPER_CLIPVALUE] = must[PTC_HYPER_GLOBAL_CLIPNORM] = 1;
    must[PTC_HYPER_MOMENTUM] = kind == PTC_OPT_SGD || kind == PTC_OPT_RMSPROP;
    must[PTC_HYPER_EPSILON] =
        kind != PTC_OPT_SGD && kind != PTC_OPT_LION && kind != PTC_OPT_FTRL && kind != PTC_OPT_ADAFACTOR;
    must[PTC_HYPER_EPSILON_1] = must[PTC_HYPER_EPSILON_2] = must[PTC_HYPER_CLIP_THRESHOLD] = kind == PTC_OPT_ADAFACTOR;
    must[PTC_HYPER_RHO] = kind == PTC_OPT_RMSPROP || kind == PTC_OPT_ADADELTA;
    must[PTC_HYPER_BETA_1] = must[PTC_HYPER_BETA_2] = kind == PTC_OPT_ADAM || kind == PTC_OPT_NADAM ||
                                                      kind == PTC_OPT_ADAMAX || kind == PTC_OPT_LION ||
                                                      kind == PTC_OPT_LAMB;
    must[PTC_HYPER_L1] = must[PTC_HYPER_L2] = must[PTC_HYPER_L2_SHRINKAGE] = must[PTC_HYPER_FTRL_BETA] =
        kind == PTC_OPT_FTRL;
    // Ftrl divides by the rate; its power is <= 0 (checked below).
    if (kind == PTC_OPT_FTRL && !(hd[PTC_HYPER_LEARNING_RATE] > 0.0 && hd[PTC_HYPER_LEARNING_RATE_POWER] <= 0.0 &&
                                  isfinite(hd[PTC_HYPER_LEARNING_RATE_POWER]))) {
        PyErr_SetString(PyExc_ValueError, "Ftrl needs learning_rate > 0 and a finite learning_rate_power <= 0");
        return -1;
    }
    if (kind == PTC_OPT_ADAFACTOR && !(hd[PTC_HYPER_CLIP_THRESHOLD] > 0.0 && isfinite(hd[PTC_HYPER_BETA_2_DECAY]))) {
        PyErr_SetString(PyExc_ValueError, "Adafactor needs clip_threshold > 0 and a finite beta_2_decay");
        return -1;
    }
    for (int i = 0; i < PTC_HYPER_COUNT; i++) {
        // Lion's beta_1 may be 1 (Keras: (0, 1]); the others' betas are in [0, 1).
        const int unit = (i == PTC_HYPER_BETA_1 && kind != PTC_OPT_LION) || i == PTC_HYPER_BETA_2;
        if (must[i] && !(isfinite(hd[i]) && hd[i] >= 0.0 && (!unit || hd[i] < 1.0) &&
                         (i != PTC_HYPER_BETA_1 || kind != PTC_OPT_LION || hd[i] <= 1.0))) {
            PyObject *val = PyFloat_FromDouble(hd[i]);
            char name[32];
            size_t n = 0;
            for (; hyp_names[i][n] && n < sizeof(name) - 1; n++)
                name[n] = (char)tolower((unsigned char)hyp_names[i][n]);
            name[n] = '\0';
            if (val)
                PyErr_Format(PyExc_ValueError, "optimizer %s must be %s. Received: %s=%R", name,
                             unit ? "in [0, 1)" : "finite and >= 0", name, val);
            Py_XDECREF(val);
            return -1;
        }
    }
    if ((hd[PTC_HYPER_CLIPNORM] > 0) + (hd[PTC_HYPER_CLIPVALUE] > 0) + (hd[PTC_HYPER_GLOBAL_CLIPNORM] > 0) > 1) {
        PyErr_SetString(PyExc_ValueError, "Only one of clipnorm, clipvalue and global_clipnorm can be set");
        return -1;
    }
    o->kind = kind;
    // clang-format off
#define PTC_HYPER_FIELDS(X) \
    X(learning_rate, LEARNING_RATE) X(momentum, MOMENTUM) X(beta_1, BETA_1) X(beta_2, BETA_2) \
    X(epsilon, EPSILON) X(rho, RHO) X(weight_decay, WEIGHT_DECAY) X(clipnorm, CLIPNORM) \
    X(clipvalue, CLIPVALUE) X(global_clipnorm, GLOBAL_CLIPNORM) X(lr_power, LEARNING_RATE_POWER) \
    X(l1, L1) X(l2, L2) X(l2_shrinkage, L2_SHRINKAGE) X(ftrl_beta, FTRL_BETA) \
    X(beta_2_decay, BETA_2_DECAY) X(epsilon_1, EPSILON_1) X(epsilon_2, EPSILON_2) \
    X(clip_threshold, CLIP_THRESHOLD)
    // clang-format on
#define PTC_HYPER_COPY(field, NAME) o->field = hd[PTC_HYPER_##NAME];
    PTC_HYPER_FIELDS(PTC_HYPER_COPY)  // the fields read as they are; the flags below as != 0
#undef PTC_HYPER_COPY
#undef PTC_HYPER_FIELDS
    o->nesterov = hd[PTC_HYPER_NESTEROV] != 0.0;
    o->centered = hd[PTC_HYPER_CENTERED] != 0.0;
    o->amsgrad = hd[PTC_HYPER_AMSGRAD] != 0.0;
    if (parse_ema_accumulation(o, hd, eo, ao, P)) return -1;
    const int need_m = kind == PTC_OPT_ADAM || kind == PTC_OPT_NADAM || kind == PTC_OPT_ADAMAX ||
                       kind == PTC_OPT_LION || kind == PTC_OPT_FTRL || kind == PTC_OPT_LAMB ||
                       kind == PTC_OPT_ADAFACTOR ||
                       ((kind == PTC_OPT_SGD || kind == PTC_OPT_RMSPROP) && o->momentum > 0.0);
    const int need_v = kind != PTC_OPT_SGD && kind != PTC_OPT_LION;
    const npy_intp need_u = kind == PTC_OPT_NADAM ? 1
                            : (kind == PTC_OPT_ADAM && o->amsgrad) || (kind == PTC_OPT_RMSPROP && o->centered) ||
                                    kind == PTC_OPT_ADADELTA || kind == PTC_OPT_ADAFACTOR
                                ? P
                                : -1;
    if ((need_m && check_slot(m, "m", P, "first moment / momentum")) ||
        (need_v && check_slot(v, "v", P, "second moment / velocity / accumulator")) ||
        (need_u >= 0 &&
         check_slot(u, "u", need_u, kind == PTC_OPT_NADAM ? "Nadam's u_product" : "velocity_hat / average_gradient")))
        return -1;
    if (PyArray_DIM(it, 0) != 1) {
        PyErr_SetString(PyExc_ValueError, "iterations must hold one int64 counter");
        return -1;
    }
    if (sl) {
        const npy_intp n = PyArray_DIM(sl, 0);
        const int64_t *sd = PyArray_DATA(sl);
        int64_t next = 0;
        const npy_intp w = PyArray_DIM(sl, 1);
        if (w != 2 && w != PTC_SLICE_WIDTH) {
            PyErr_Format(PyExc_ValueError,
                         "slices must have shape (n_vars, 2) or (n_vars, %d): rows of [offset, size] or "
                         "[offset, size, R, C, flags]",
                         PTC_SLICE_WIDTH);
            return -1;
        }
        for (npy_intp j = 0; j < n; j++) {
            const int64_t *row = sd + j * w;
            if (row[0] != next || row[1] < 0 || row[1] > (int64_t)P - next) {
                PyErr_Format(PyExc_ValueError,
                             "slices must tile [0, %zd) in order; row %zd is [%lld, %lld], "
                             "expected offset %lld",
                             (Py_ssize_t)P, (Py_ssize_t)j, (long long)row[0], (long long)row[1], (long long)next);
                return -1;
            }
            // The last two axes (R, C) of a weight factor its size, or both are 0.
            if (w == PTC_SLICE_WIDTH &&
                (row[PTC_SLICE_DIM_R] < 0 || row[PTC_SLICE_DIM_C] < 0 ||
                 (row[PTC_SLICE_DIM_R] > 0) != (row[PTC_SLICE_DIM_C] > 0) ||
                 (row[PTC_SLICE_DIM_R] > 0 && row[1] % (row[PTC_SLICE_DIM_R] * row[PTC_SLICE_DIM_C]) != 0))) {
                PyErr_Format(PyExc_ValueError, "slices row %zd: R=%lld, C=%lld do not divide its size %lld",
                             (Py_ssize_t)j, (long long)row[PTC_SLICE_DIM_R], (long long)row[PTC_SLICE_DIM_C],
                             (long long)row[1]);
                return -1;
            }
            next += row[1];
        }
        if (next != (int64_t)P) {
            PyErr_Format(PyExc_ValueError, "slices must tile [0, %zd); they end at %lld", (Py_ssize_t)P,
                         (long long)next);
            return -1;
        }
        o->slices = sd;
        o->n_slices = (int64_t)n;
        o->slice_cols = (int)w;
    }
    o->m = PyArray_DATA(m);
    o->v = PyArray_DATA(v);
    o->u = PyArray_DATA(u);
    o->iterations = PyArray_DATA(it);
    return 0;
}

// Reads (kind, params float64 (8,), table float64 (2n + 1,) or (0,)) into s,
// checking each kind's parameters so that evaluation never divides by zero.
int ptc_py_parse_schedule(ptc_schedule *s, int kind, PyObject *po, PyObject *to) {
    memset(s, 0, sizeof(*s));
    PyArrayObject *p = ptc_py_check_array(po, NPY_FLOAT64, 1, 0, "schedule params");
    PyArrayObject *t = p ? ptc_py_check_array(to, NPY_FLOAT64, 1, 0, "schedule table") : NULL;
    if (!t) return -1;
    if (PyArray_DIM(p, 0) != PTC_SCHED_PARAMS) {
        PyErr_Format(PyExc_ValueError, "schedule params must hold %d values", PTC_SCHED_PARAMS);
        return -1;
    }
    s->kind = kind;
    memcpy(s->p, PyArray_DATA(p), sizeof(s->p));
    npy_intp nt = PyArray_DIM(t, 0);
    switch (kind) {
        case PTC_SCHED_CONSTANT:
            break;
        case PTC_SCHED_PIECEWISE:
            if (nt < 1 || nt % 2 != 1) {
                PyErr_SetString(PyExc_ValueError, "piecewise table must hold n boundaries and n + 1 values");
                return -1;
            }
            s->n = (int64_t)(nt / 2);
            s->table = PyArray_DATA(t);
            break;
        case PTC_SCHED_EXPONENTIAL:
        case PTC_SCHED_INVERSE_TIME:
        case PTC_SCHED_POLYNOMIAL:
        case PTC_SCHED_COSINE:
        case PTC_SCHED_COSINE_RESTARTS:
            // DECAY_STEPS (FIRST_DECAY_STEPS for restarts) has the same slot in every decaying kind.
            _Static_assert(PTC_SCHED_EXPONENTIAL_DECAY_STEPS == 1 && PTC_SCHED_INVERSE_TIME_DECAY_STEPS == 1 &&
                               PTC_SCHED_POLYNOMIAL_DECAY_STEPS == 1 && PTC_SCHED_COSINE_DECAY_STEPS == 1 &&
                               PTC_SCHED_COSINE_RESTARTS_FIRST_DECAY_STEPS == 1,
                           "decay_steps slot");
            if (!(s->p[PTC_SCHED_EXPONENTIAL_DECAY_STEPS] > 0.0)) {
                PyErr_SetString(PyExc_ValueError, "schedule decay_steps must be > 0");
                return -1;
            }
            if (kind == PTC_SCHED_COSINE && s->p[PTC_SCHED_COSINE_WARMUP_STEPS] < 0.0) {
                PyErr_SetString(PyExc_ValueError, "warmup_steps must be >= 0");
                return -1;
            }
            if (kind == PTC_SCHED_COSINE_RESTARTS && !(s->p[PTC_SCHED_COSINE_RESTARTS_T_MUL] > 0.0)) {
                PyErr_SetString(PyExc_ValueError, "t_mul must be > 0");
                return -1;
            }
            break;
        default:
            PyErr_Format(PyExc_ValueError, "unknown schedule kind %d", kind);
            return -1;
    }
    return 0;
}
