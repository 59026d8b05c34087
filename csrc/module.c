// The one file that touches the CPython and NumPy C APIs. It checks every
// array's dtype, shape and contiguity, releases the GIL around the pure-C
// engine, and maps ptc_status codes to Python exceptions.
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#define NPY_NO_DEPRECATED_API NPY_1_7_API_VERSION
#include <numpy/arrayobject.h>

#include <limits.h>
#include <signal.h>
#include <string.h>

#include "blas.h"
#include "ptc.h"

// ---------------------------------------------------------------------------
// Array checking

// Returns a borrowed PyArrayObject* if obj is an ndarray of the given dtype,
// C-contiguous and aligned (and writeable when asked), else sets TypeError/ValueError.
static PyArrayObject *check_array(PyObject *obj, int typenum, int ndim, int writeable, const char *name) {
    if (!PyArray_Check(obj)) {
        PyErr_Format(PyExc_TypeError, "%s must be a numpy array. Received: %s", name, Py_TYPE(obj)->tp_name);
        return NULL;
    }
    PyArrayObject *a = (PyArrayObject *)obj;
    if (PyArray_TYPE(a) != typenum) {
        PyArray_Descr *want = PyArray_DescrFromType(typenum);
        PyErr_Format(PyExc_TypeError, "%s must have dtype %S. Received: dtype=%S", name, (PyObject *)want,
                     (PyObject *)PyArray_DESCR(a));
        Py_XDECREF(want);
        return NULL;
    }
    if (ndim >= 0 && PyArray_NDIM(a) != ndim) {
        PyErr_Format(PyExc_ValueError, "%s must have %d dimension(s). Received: ndim=%d", name, ndim,
                     PyArray_NDIM(a));
        return NULL;
    }
    if (!PyArray_IS_C_CONTIGUOUS(a) || !PyArray_ISALIGNED(a)) {
        PyErr_Format(PyExc_ValueError, "%s must be C-contiguous and aligned", name);
        return NULL;
    }
    if (writeable && !PyArray_ISWRITEABLE(a)) {
        PyErr_Format(PyExc_ValueError, "%s must be writeable", name);
        return NULL;
    }
    return a;
}

// xoshiro256** never leaves the all-zero state (every draw would be 0, and
// rejection sampling would loop forever), so such a state is refused.
static int rng_is_zero(const uint64_t *s) { return !(s[0] | s[1] | s[2] | s[3]); }

static int raise_status(ptc_status st, const char *what) {
    switch (st) {
    case PTC_OK: return 0;
    case PTC_ERR_NOMEM: PyErr_Format(PyExc_MemoryError, "%s: out of memory", what); return -1;
    case PTC_ERR_INTERRUPTED:
        // The signal handler below chained to Python's, so this usually raises
        // KeyboardInterrupt (or whatever the user's SIGINT handler raises).
        if (PyErr_CheckSignals() == 0) PyErr_SetNone(PyExc_KeyboardInterrupt);
        return -1;
    case PTC_ERR_SIZE:
        PyErr_Format(PyExc_ValueError,
                     "%s: the requested sizes overflow or exceed what the kernels can index "
                     "(a batch or layer too large for this machine)", what);
        return -1;
    default: PyErr_Format(PyExc_ValueError, "%s: invalid argument or data", what); return -1;
    }
}

// ---------------------------------------------------------------------------
// Ctrl-C while the GIL is released: a SIGINT handler sets a flag the engine
// reads between batches, then calls the previous (Python's) handler so that
// Python's signal machinery also sees the signal.

static volatile int stop_flag = 0;
static struct sigaction prev_sigint;
static int sigint_installed = 0;

static void on_sigint(int sig) {
    stop_flag = 1;
    if (!(prev_sigint.sa_flags & SA_SIGINFO) && prev_sigint.sa_handler != SIG_DFL &&
        prev_sigint.sa_handler != SIG_IGN && prev_sigint.sa_handler != NULL)
        prev_sigint.sa_handler(sig);
}

static void watch_sigint(int enable) {
    stop_flag = 0;
    sigint_installed = 0;
    if (!enable) return;
    struct sigaction cur;
    if (sigaction(SIGINT, NULL, &cur) != 0) return;
    if (!(cur.sa_flags & SA_SIGINFO) && cur.sa_handler == SIG_IGN) return;  // respect an ignored SIGINT
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_sigint;
    sigemptyset(&sa.sa_mask);
    if (sigaction(SIGINT, &sa, &prev_sigint) == 0) sigint_installed = 1;
}

static void unwatch_sigint(void) {
    if (sigint_installed) sigaction(SIGINT, &prev_sigint, NULL);
    sigint_installed = 0;
}

// ---------------------------------------------------------------------------
// Plan object

typedef struct {
    PyObject_HEAD
    ptc_plan plan;
    int ready;
    int busy;  // a call is running without the GIL
    PyObject *params, *grads, *m, *v, *u, *iterations, *slices, *sched_table, *rngs;  // arrays whose memory the plan uses
} PlanObject;

static void Plan_dealloc(PlanObject *self) {
    ptc_plan_free(&self->plan);
    Py_XDECREF(self->params);
    Py_XDECREF(self->grads);
    Py_XDECREF(self->m);
    Py_XDECREF(self->v);
    Py_XDECREF(self->u);
    Py_XDECREF(self->iterations);
    Py_XDECREF(self->sched_table);
    Py_XDECREF(self->slices);
    Py_XDECREF(self->rngs);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

// Plan(ops int64 (n_ops, PTC_OP_ROW), fargs float64 (n_ops, PTC_MAX_FARG),
//      buf_size int64 (n_bufs,), input_buf, output_buf, params float32 (P,),
//      grads float32 (P,), max_batch, n_trainable): the optimizer updates params[:n_trainable]
static int Plan_init(PlanObject *self, PyObject *args, PyObject *kwds) {
    PyObject *ops_o = NULL, *fargs_o = NULL, *sizes_o = NULL, *params_o = NULL, *grads_o = NULL;
    int input_buf, output_buf;
    long long max_batch, n_trainable;
    ptc_op *ops = NULL;
    int ret = -1;
    if (self->ready) {
        PyErr_SetString(PyExc_RuntimeError, "Plan is already initialized");
        return -1;
    }
    if (!PyArg_ParseTuple(args, "OOOiiOOLL", &ops_o, &fargs_o, &sizes_o, &input_buf, &output_buf,
                          &params_o, &grads_o, &max_batch, &n_trainable))
        return -1;
    PyArrayObject *opsa = check_array(ops_o, NPY_INT64, 2, 0, "ops");
    PyArrayObject *fa = opsa ? check_array(fargs_o, NPY_FLOAT64, 2, 0, "fargs") : NULL;
    PyArrayObject *sa = fa ? check_array(sizes_o, NPY_INT64, 1, 0, "buf_size") : NULL;
    PyArrayObject *pa = sa ? check_array(params_o, NPY_FLOAT32, 1, 1, "params") : NULL;
    PyArrayObject *ga = pa ? check_array(grads_o, NPY_FLOAT32, 1, 1, "grads") : NULL;
    if (!ga) goto cleanup;
    npy_intp n_ops = PyArray_DIM(opsa, 0);
    if (PyArray_DIM(opsa, 1) != PTC_OP_ROW || PyArray_DIM(fa, 0) != n_ops || PyArray_DIM(fa, 1) != PTC_MAX_FARG) {
        PyErr_Format(PyExc_ValueError, "ops must be (n, %d) and fargs (n, %d)", PTC_OP_ROW, PTC_MAX_FARG);
        goto cleanup;
    }
    if (PyArray_DIM(pa, 0) != PyArray_DIM(ga, 0)) {
        PyErr_SetString(PyExc_ValueError, "params and grads must have the same length");
        goto cleanup;
    }
    ops = PyMem_Calloc((size_t)(n_ops > 0 ? n_ops : 1), sizeof(ptc_op));
    if (!ops) {
        PyErr_NoMemory();
        goto cleanup;
    }
    const int64_t *rows = (const int64_t *)PyArray_DATA(opsa);
    const double *fr = (const double *)PyArray_DATA(fa);
    for (npy_intp i = 0; i < n_ops; i++) {
        const int64_t *r = rows + i * PTC_OP_ROW;
        ptc_op *op = &ops[i];
        op->kind = (int)r[0];
        op->flags = (int)r[1];
        op->out = (int)r[2];
        op->n_in = (int)r[3];
        for (int k = 0; k < PTC_MAX_IN; k++) op->in[k] = (int)r[4 + k];
        for (int k = 0; k < PTC_MAX_PARAM; k++) op->param[k] = r[4 + PTC_MAX_IN + k];
        for (int k = 0; k < PTC_MAX_IARG; k++) op->iarg[k] = r[4 + PTC_MAX_IN + PTC_MAX_PARAM + k];
        for (int k = 0; k < PTC_MAX_FARG; k++) op->farg[k] = fr[i * PTC_MAX_FARG + k];
    }
    ptc_status st = ptc_plan_init(&self->plan, ops, (int)n_ops, (const int64_t *)PyArray_DATA(sa),
                                  (int)PyArray_DIM(sa, 0), input_buf, output_buf, (int64_t)max_batch);
    if (raise_status(st, "Plan")) goto cleanup;
    self->plan.params = (float *)PyArray_DATA(pa);
    self->plan.grads = (float *)PyArray_DATA(ga);
    self->plan.n_params = (int64_t)PyArray_DIM(pa, 0);
    if (n_trainable < 0 || n_trainable > self->plan.n_params) {
        PyErr_Format(PyExc_ValueError, "n_trainable must be in [0, %lld]. Received: %lld",
                     (long long)self->plan.n_params, n_trainable);
        ptc_plan_free(&self->plan);
        goto cleanup;
    }
    self->plan.n_trainable = (int64_t)n_trainable;
    if (ptc_plan_check_params(&self->plan) != PTC_OK) {
        PyErr_SetString(PyExc_ValueError, "Plan: an op's parameters lie outside the parameter array or an op is malformed");
        ptc_plan_free(&self->plan);
        goto cleanup;
    }
    Py_INCREF(params_o);
    self->params = params_o;
    Py_INCREF(grads_o);
    self->grads = grads_o;
    self->ready = 1;
    ret = 0;
cleanup:
    PyMem_Free(ops);
    return ret;
}

static int plan_usable(PlanObject *self) {
    if (!self->ready) {
        PyErr_SetString(PyExc_RuntimeError, "Plan is not initialized");
        return 0;
    }
    if (self->busy) {
        PyErr_SetString(PyExc_RuntimeError, "Plan is in use by another thread");
        return 0;
    }
    return 1;
}

static PyObject *Plan_set_loss(PlanObject *self, PyObject *args) {
    int kind, loss_buf;
    long long last_dim;
    if (!plan_usable(self) || !PyArg_ParseTuple(args, "iiL", &kind, &loss_buf, &last_dim)) return NULL;
    if (raise_status(ptc_plan_set_loss(&self->plan, kind, loss_buf, (int64_t)last_dim), "set_loss")) return NULL;
    Py_RETURN_NONE;
}

// set_metrics(spec int64 (n, 2) [kind, k], thresholds float64 (n,))
static PyObject *Plan_set_metrics(PlanObject *self, PyObject *args) {
    PyObject *so, *to;
    if (!plan_usable(self) || !PyArg_ParseTuple(args, "OO", &so, &to)) return NULL;
    PyArrayObject *s = check_array(so, NPY_INT64, 2, 0, "metrics");
    PyArrayObject *t = s ? check_array(to, NPY_FLOAT64, 1, 0, "thresholds") : NULL;
    if (!t) return NULL;
    npy_intp n = PyArray_DIM(s, 0);
    if (PyArray_DIM(s, 1) != 2 || PyArray_DIM(t, 0) != n || n > PTC_MAX_METRICS) {
        PyErr_Format(PyExc_ValueError, "metrics must be (n, 2) and thresholds (n,), n <= %d", PTC_MAX_METRICS);
        return NULL;
    }
    ptc_metric ms[PTC_MAX_METRICS];
    const int64_t *sd = PyArray_DATA(s);
    const double *td = PyArray_DATA(t);
    for (npy_intp i = 0; i < n; i++) ms[i] = (ptc_metric){(int)sd[2 * i], sd[2 * i + 1], td[i], 0};
    if (ptc_plan_set_metrics(&self->plan, ms, (int)n) != PTC_OK) {
        PyErr_SetString(PyExc_ValueError, "a metric does not fit the model's output or targets");
        return NULL;
    }
    Py_RETURN_NONE;
}

// set_regularizers(slices int64 (n, 2) [offset, size], coefs float64 (n, 2) [l1, l2])
static PyObject *Plan_set_regularizers(PlanObject *self, PyObject *args) {
    PyObject *so, *co;
    if (!plan_usable(self) || !PyArg_ParseTuple(args, "OO", &so, &co)) return NULL;
    PyArrayObject *s = check_array(so, NPY_INT64, 2, 0, "slices");
    PyArrayObject *c = s ? check_array(co, NPY_FLOAT64, 2, 0, "coefs") : NULL;
    if (!c) return NULL;
    npy_intp n = PyArray_DIM(s, 0);
    if (PyArray_DIM(s, 1) != 2 || PyArray_DIM(c, 0) != n || PyArray_DIM(c, 1) != 2) {
        PyErr_SetString(PyExc_ValueError, "slices and coefs must both be (n, 2)");
        return NULL;
    }
    ptc_regularizer *regs = PyMem_Calloc((size_t)(n > 0 ? n : 1), sizeof(ptc_regularizer));
    if (!regs) return PyErr_NoMemory();
    const int64_t *sd = PyArray_DATA(s);
    const double *cd = PyArray_DATA(c);
    for (npy_intp i = 0; i < n; i++)
        regs[i] = (ptc_regularizer){sd[2 * i], sd[2 * i + 1], cd[2 * i], cd[2 * i + 1]};
    ptc_status st = ptc_plan_set_regularizers(&self->plan, regs, (int)n);
    PyMem_Free(regs);
    if (raise_status(st, "set_regularizers")) return NULL;
    if (ptc_plan_check_params(&self->plan) != PTC_OK) {
        ptc_plan_set_regularizers(&self->plan, NULL, 0);
        PyErr_SetString(PyExc_ValueError, "a regularized slice lies outside the parameter array");
        return NULL;
    }
    Py_RETURN_NONE;
}

// Hyper-parameters of an optimizer, float64, in this order; entries past the
// end of a shorter array (at least 8) read as 0, which means off / unused.
enum {
    HYP_LR, HYP_MOMENTUM, HYP_NESTEROV, HYP_BETA_1, HYP_BETA_2, HYP_EPSILON, HYP_RHO, HYP_CENTERED,
    HYP_AMSGRAD, HYP_WEIGHT_DECAY, HYP_CLIPNORM, HYP_CLIPVALUE, HYP_GLOBAL_CLIPNORM, HYP_COUNT
};
static const char *const hyp_names[HYP_COUNT] = {
    "learning_rate", "momentum", "nesterov", "beta_1", "beta_2", "epsilon", "rho", "centered",
    "amsgrad", "weight_decay", "clipnorm", "clipvalue", "global_clipnorm",
};

static int check_slot(PyArrayObject *a, const char *name, npy_intp want, const char *what) {
    if (PyArray_DIM(a, 0) == want) return 0;
    PyErr_Format(PyExc_ValueError, "optimizer slot %s (%s) must hold %zd floats. Received: %zd", name, what,
                 (Py_ssize_t)want, (Py_ssize_t)PyArray_DIM(a, 0));
    return -1;
}

// Fills an optimizer from (kind, hyper float64 (>= 8,) laid out as HYP_*, m, v, u
// float32 (P,) or (0,) where unused (Nadam's u: (1,)), iterations int64 (1,),
// slices int64 (n_vars, 2) [offset, size] tiling [0, P) in order, or NULL / None
// for one variable). The optimizer borrows every array. Returns 0 or sets an exception.
static int parse_optimizer(ptc_optimizer *o, int kind, PyObject *ho, PyObject *mo, PyObject *vo, PyObject *uo,
                           PyObject *io, PyObject *so, npy_intp P) {
    memset(o, 0, sizeof(*o));
    PyArrayObject *h = check_array(ho, NPY_FLOAT64, 1, 0, "hyper");
    PyArrayObject *m = h ? check_array(mo, NPY_FLOAT32, 1, 1, "m") : NULL;
    PyArrayObject *v = m ? check_array(vo, NPY_FLOAT32, 1, 1, "v") : NULL;
    PyArrayObject *u = v ? check_array(uo, NPY_FLOAT32, 1, 1, "u") : NULL;
    PyArrayObject *it = u ? check_array(io, NPY_INT64, 1, 1, "iterations") : NULL;
    PyArrayObject *sl = NULL;
    if (!it) return -1;
    if (so && so != Py_None && !(sl = check_array(so, NPY_INT64, 2, 0, "slices"))) return -1;
    if (kind < PTC_OPT_SGD || kind > PTC_OPT_NADAM) {
        PyErr_Format(PyExc_ValueError, "unknown optimizer kind %d", kind);
        return -1;
    }
    if (PyArray_DIM(h, 0) < 8) {
        PyErr_Format(PyExc_ValueError, "hyper must hold at least 8 values. Received: %zd",
                     (Py_ssize_t)PyArray_DIM(h, 0));
        return -1;
    }
    double hd[HYP_COUNT] = {0};
    memcpy(hd, PyArray_DATA(h), (size_t)(PyArray_DIM(h, 0) < HYP_COUNT ? PyArray_DIM(h, 0) : HYP_COUNT) * sizeof(double));
    // Rates, decay and clipping limits: finite and >= 0 (0 is "off" for the last four);
    // momentum, epsilon and rho too where the kind reads them; betas in [0, 1).
    int must[HYP_COUNT] = {0};
    must[HYP_LR] = must[HYP_WEIGHT_DECAY] = must[HYP_CLIPNORM] = must[HYP_CLIPVALUE] = must[HYP_GLOBAL_CLIPNORM] = 1;
    must[HYP_MOMENTUM] = kind == PTC_OPT_SGD || kind == PTC_OPT_RMSPROP;
    must[HYP_EPSILON] = kind != PTC_OPT_SGD;
    must[HYP_RHO] = kind == PTC_OPT_RMSPROP;
    must[HYP_BETA_1] = must[HYP_BETA_2] = kind == PTC_OPT_ADAM || kind == PTC_OPT_NADAM;
    for (int i = 0; i < HYP_COUNT; i++) {
        const int unit = i == HYP_BETA_1 || i == HYP_BETA_2;
        if (must[i] && !(isfinite(hd[i]) && hd[i] >= 0.0 && (!unit || hd[i] < 1.0))) {
            PyObject *val = PyFloat_FromDouble(hd[i]);
            if (val)
                PyErr_Format(PyExc_ValueError, "optimizer %s must be %s. Received: %s=%R", hyp_names[i],
                             unit ? "in [0, 1)" : "finite and >= 0", hyp_names[i], val);
            Py_XDECREF(val);
            return -1;
        }
    }
    if ((hd[HYP_CLIPNORM] > 0) + (hd[HYP_CLIPVALUE] > 0) + (hd[HYP_GLOBAL_CLIPNORM] > 0) > 1) {
        PyErr_SetString(PyExc_ValueError, "Only one of clipnorm, clipvalue and global_clipnorm can be set");
        return -1;
    }
    o->kind = kind;
    o->learning_rate = hd[HYP_LR];
    o->momentum = hd[HYP_MOMENTUM];
    o->nesterov = hd[HYP_NESTEROV] != 0.0;
    o->beta_1 = hd[HYP_BETA_1];
    o->beta_2 = hd[HYP_BETA_2];
    o->epsilon = hd[HYP_EPSILON];
    o->rho = hd[HYP_RHO];
    o->centered = hd[HYP_CENTERED] != 0.0;
    o->amsgrad = hd[HYP_AMSGRAD] != 0.0;
    o->weight_decay = hd[HYP_WEIGHT_DECAY];
    o->clipnorm = hd[HYP_CLIPNORM];
    o->clipvalue = hd[HYP_CLIPVALUE];
    o->global_clipnorm = hd[HYP_GLOBAL_CLIPNORM];
    const int need_m = kind == PTC_OPT_ADAM || kind == PTC_OPT_NADAM ||
                       ((kind == PTC_OPT_SGD || kind == PTC_OPT_RMSPROP) && o->momentum > 0.0);
    const int need_v = kind != PTC_OPT_SGD;
    const npy_intp need_u = kind == PTC_OPT_NADAM ? 1
                            : (kind == PTC_OPT_ADAM && o->amsgrad) || (kind == PTC_OPT_RMSPROP && o->centered) ? P
                                                                                                              : -1;
    if ((need_m && check_slot(m, "m", P, "first moment / momentum")) ||
        (need_v && check_slot(v, "v", P, "second moment / velocity / accumulator")) ||
        (need_u >= 0 && check_slot(u, "u", need_u,
                                   kind == PTC_OPT_NADAM ? "Nadam's u_product" : "velocity_hat / average_gradient")))
        return -1;
    if (PyArray_DIM(it, 0) != 1) {
        PyErr_SetString(PyExc_ValueError, "iterations must hold one int64 counter");
        return -1;
    }
    if (sl) {
        const npy_intp n = PyArray_DIM(sl, 0);
        const int64_t *sd = PyArray_DATA(sl);
        int64_t next = 0;
        if (PyArray_DIM(sl, 1) != 2) {
            PyErr_SetString(PyExc_ValueError, "slices must have shape (n_vars, 2): rows of [offset, size]");
            return -1;
        }
        for (npy_intp j = 0; j < n; j++) {
            if (sd[2 * j] != next || sd[2 * j + 1] < 0 || sd[2 * j + 1] > (int64_t)P - next) {
                PyErr_Format(PyExc_ValueError, "slices must tile [0, %zd) in order; row %zd is [%lld, %lld], "
                             "expected offset %lld", (Py_ssize_t)P, (Py_ssize_t)j, (long long)sd[2 * j],
                             (long long)sd[2 * j + 1], (long long)next);
                return -1;
            }
            next += sd[2 * j + 1];
        }
        if (next != (int64_t)P) {
            PyErr_Format(PyExc_ValueError, "slices must tile [0, %zd); they end at %lld", (Py_ssize_t)P,
                         (long long)next);
            return -1;
        }
        o->slices = sd;
        o->n_slices = (int64_t)n;
    }
    o->m = PyArray_DATA(m);
    o->v = PyArray_DATA(v);
    o->u = PyArray_DATA(u);
    o->iterations = PyArray_DATA(it);
    return 0;
}

// set_optimizer(kind, hyper, m, v, u, iterations, slices=None): the plan keeps
// references to the state arrays and the slices.
static PyObject *Plan_set_optimizer(PlanObject *self, PyObject *args) {
    ptc_optimizer o;
    int kind;
    PyObject *ho, *mo, *vo, *uo, *io, *so = Py_None;
    if (!plan_usable(self) || !PyArg_ParseTuple(args, "iOOOOO|O", &kind, &ho, &mo, &vo, &uo, &io, &so)) return NULL;
    if (parse_optimizer(&o, kind, ho, mo, vo, uo, io, so, (npy_intp)self->plan.n_trainable)) return NULL;
    Py_INCREF(mo); Py_XSETREF(self->m, mo);
    Py_INCREF(vo); Py_XSETREF(self->v, vo);
    Py_INCREF(uo); Py_XSETREF(self->u, uo);
    Py_INCREF(io); Py_XSETREF(self->iterations, io);
    Py_INCREF(so); Py_XSETREF(self->slices, so);
    self->plan.opt = o;
    Py_RETURN_NONE;
}

// Reads (kind, params float64 (8,), table float64 (2n + 1,) or (0,)) into s,
// checking each kind's parameters so that evaluation never divides by zero.
static int parse_schedule(ptc_schedule *s, int kind, PyObject *po, PyObject *to) {
    memset(s, 0, sizeof(*s));
    PyArrayObject *p = check_array(po, NPY_FLOAT64, 1, 0, "schedule params");
    PyArrayObject *t = p ? check_array(to, NPY_FLOAT64, 1, 0, "schedule table") : NULL;
    if (!t) return -1;
    if (PyArray_DIM(p, 0) != PTC_SCHED_PARAMS) {
        PyErr_Format(PyExc_ValueError, "schedule params must hold %d values", PTC_SCHED_PARAMS);
        return -1;
    }
    s->kind = kind;
    memcpy(s->p, PyArray_DATA(p), sizeof(s->p));
    npy_intp nt = PyArray_DIM(t, 0);
    switch (kind) {
    case PTC_SCHED_CONSTANT: break;
    case PTC_SCHED_PIECEWISE:
        if (nt < 1 || nt % 2 != 1) {
            PyErr_SetString(PyExc_ValueError, "piecewise table must hold n boundaries and n + 1 values");
            return -1;
        }
        s->n = (int64_t)(nt / 2);
        s->table = PyArray_DATA(t);
        break;
    case PTC_SCHED_EXPONENTIAL: case PTC_SCHED_INVERSE_TIME: case PTC_SCHED_POLYNOMIAL:
    case PTC_SCHED_COSINE: case PTC_SCHED_COSINE_RESTARTS:
        if (!(s->p[1] > 0.0)) {
            PyErr_SetString(PyExc_ValueError, "schedule decay_steps must be > 0");
            return -1;
        }
        if (kind == PTC_SCHED_COSINE && s->p[4] < 0.0) {
            PyErr_SetString(PyExc_ValueError, "warmup_steps must be >= 0");
            return -1;
        }
        if (kind == PTC_SCHED_COSINE_RESTARTS && !(s->p[2] > 0.0)) {
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

// set_schedule(kind, params, table): the learning rate of every later step.
static PyObject *Plan_set_schedule(PlanObject *self, PyObject *args) {
    int kind;
    PyObject *po, *to;
    ptc_schedule s;
    if (!plan_usable(self) || !PyArg_ParseTuple(args, "iOO", &kind, &po, &to)) return NULL;
    if (parse_schedule(&s, kind, po, to)) return NULL;
    Py_INCREF(to);
    Py_XSETREF(self->sched_table, to);
    self->plan.opt.schedule = s;
    Py_RETURN_NONE;
}

// set_rngs(states uint64 (n, 4)): the RNGs dropout ops draw masks from; kept by reference.
static PyObject *Plan_set_rngs(PlanObject *self, PyObject *args) {
    PyObject *so;
    if (!plan_usable(self) || !PyArg_ParseTuple(args, "O", &so)) return NULL;
    PyArrayObject *s = check_array(so, NPY_UINT64, 2, 1, "rng states");
    if (!s) return NULL;
    if (PyArray_DIM(s, 1) != 4) {
        PyErr_SetString(PyExc_ValueError, "rng states must be (n, 4) uint64");
        return NULL;
    }
    for (npy_intp i = 0; i < PyArray_DIM(s, 0); i++)
        if (rng_is_zero((const uint64_t *)PyArray_DATA(s) + 4 * i)) {
            PyErr_Format(PyExc_ValueError, "rng state %zd is all zeros: seed it with rng_seed first", (Py_ssize_t)i);
            return NULL;
        }
    if (raise_status(ptc_plan_set_rngs(&self->plan, (ptc_rng *)PyArray_DATA(s), (int64_t)PyArray_DIM(s, 0)),
                     "set_rngs"))
        return NULL;
    Py_INCREF(so);
    Py_XSETREF(self->rngs, so);
    Py_RETURN_NONE;
}

static PyObject *Plan_set_learning_rate(PlanObject *self, PyObject *args) {
    double lr;
    if (!plan_usable(self) || !PyArg_ParseTuple(args, "d", &lr)) return NULL;
    self->plan.opt.learning_rate = lr;
    Py_RETURN_NONE;
}

static PyObject *Plan_reserve(PlanObject *self, PyObject *args) {
    long long n;
    if (!plan_usable(self) || !PyArg_ParseTuple(args, "L", &n)) return NULL;
    if (raise_status(ptc_plan_reserve(&self->plan, (int64_t)n), "reserve")) return NULL;
    Py_RETURN_NONE;
}

// Checks x (n, in size) float32 and, if yo is not NULL, y (n, y_size) float32.
static int check_data(PlanObject *self, PyObject *xo, PyObject *yo, PyArrayObject **x, PyArrayObject **y) {
    *x = check_array(xo, NPY_FLOAT32, 2, 0, "x");
    if (!*x) return -1;
    int64_t dx = self->plan.buf_size[self->plan.input_buf];
    if (PyArray_DIM(*x, 1) != dx) {
        PyErr_Format(PyExc_ValueError, "x must have %lld features per sample. Received: %lld", (long long)dx,
                     (long long)PyArray_DIM(*x, 1));
        return -1;
    }
    if (!yo) return 0;
    *y = check_array(yo, NPY_FLOAT32, 2, 0, "y");
    if (!*y) return -1;
    if (PyArray_DIM(*y, 0) != PyArray_DIM(*x, 0) || PyArray_DIM(*y, 1) != self->plan.y_size) {
        PyErr_Format(PyExc_ValueError, "y must be (%lld, %lld). Received: (%lld, %lld)",
                     (long long)PyArray_DIM(*x, 0), (long long)self->plan.y_size,
                     (long long)PyArray_DIM(*y, 0), (long long)PyArray_DIM(*y, 1));
        return -1;
    }
    if (self->plan.loss_kind == 0) {
        PyErr_SetString(PyExc_RuntimeError, "Plan has no loss: call set_loss first");
        return -1;
    }
    return 0;
}

static PyObject *new_sums(const PlanObject *self) {
    npy_intp n = (npy_intp)self->plan.n_sums;
    return PyArray_ZEROS(1, &n, NPY_FLOAT64, 0);
}

// Sample weights for one pass: None, or float32 (n,) finite and >= 0.
static int check_weights(PyObject *wo, npy_intp n, const float **w) {
    *w = NULL;
    if (wo == NULL || wo == Py_None) return 0;
    PyArrayObject *a = check_array(wo, NPY_FLOAT32, 1, 0, "sample_weight");
    if (!a) return -1;
    if (PyArray_DIM(a, 0) != n) {
        PyErr_Format(PyExc_ValueError, "sample_weight must have one weight per sample (%zd). Received: %zd",
                     (Py_ssize_t)n, (Py_ssize_t)PyArray_DIM(a, 0));
        return -1;
    }
    *w = PyArray_DATA(a);
    return 0;
}

// train(x, y, perm int64 (n,), batch_size, b0, b1, interruptible, stop_on_nonfinite=False,
//       sample_weight=None, sums=None) -> (sums, batches_done, last_batch_loss, stopped_on_nonfinite)
// With sums (float64 (n_sums,)), the pass adds into it in place: the same
// additions in the same order however an epoch is split into calls.
static PyObject *Plan_train(PlanObject *self, PyObject *args) {
    PyObject *xo, *yo, *po, *sums = NULL, *wo = NULL, *so = NULL;
    long long batch_size, b0, b1;
    int interruptible, stop_on_nonfinite = 0;
    double last_loss = 0.0;
    const float *w = NULL;
    PyArrayObject *x, *y = NULL;
    if (!plan_usable(self) || !PyArg_ParseTuple(args, "OOOLLLp|pOO", &xo, &yo, &po, &batch_size, &b0, &b1,
                                                &interruptible, &stop_on_nonfinite, &wo, &so))
        return NULL;
    if (check_data(self, xo, yo, &x, &y)) return NULL;
    if (check_weights(wo, PyArray_DIM(x, 0), &w)) return NULL;
    PyArrayObject *perm = check_array(po, NPY_INT64, 1, 0, "perm");
    if (!perm) return NULL;
    npy_intp n = PyArray_DIM(x, 0);
    if (PyArray_DIM(perm, 0) != n) {
        PyErr_SetString(PyExc_ValueError, "perm must have one index per sample");
        return NULL;
    }
    if (batch_size <= 0 || batch_size > self->plan.max_batch) {
        PyErr_Format(PyExc_ValueError, "batch_size must be in [1, %lld]. Received: %lld",
                     (long long)self->plan.max_batch, batch_size);
        return NULL;
    }
    if (b0 < 0 || b1 < b0) {
        PyErr_Format(PyExc_ValueError, "batches must satisfy 0 <= b0 <= b1. Received: b0=%lld, b1=%lld", b0, b1);
        return NULL;
    }
    // Check only the indices these batches read: an epoch run batch by batch
    // must not pay a pass over the whole permutation per batch.
    const int64_t *pd = PyArray_DATA(perm);
    const npy_intp lo = b0 >= (long long)n ? n : (npy_intp)(b0 * batch_size);
    const npy_intp hi = b1 >= (long long)n ? n : (npy_intp)(b1 * batch_size);
    for (npy_intp i = lo < n ? lo : n; i < (hi < n ? hi : n); i++)
        if (pd[i] < 0 || pd[i] >= n) {
            PyErr_Format(PyExc_ValueError, "perm[%zd] = %lld is out of range [0, %zd)", (Py_ssize_t)i,
                         (long long)pd[i], (Py_ssize_t)n);
            return NULL;
        }
    if (!self->plan.opt.kind) {
        PyErr_SetString(PyExc_RuntimeError, "Plan has no optimizer: call set_optimizer first");
        return NULL;
    }
    if (so && so != Py_None) {
        PyArrayObject *sa = check_array(so, NPY_FLOAT64, 1, 1, "sums");
        if (!sa) return NULL;
        if (PyArray_DIM(sa, 0) != (npy_intp)self->plan.n_sums) {
            PyErr_Format(PyExc_ValueError, "sums must hold %lld values", (long long)self->plan.n_sums);
            return NULL;
        }
        Py_INCREF(so);
        sums = so;
    } else if (!(sums = new_sums(self))) {
        return NULL;
    }
    double *s = PyArray_DATA((PyArrayObject *)sums);
    int64_t done = 0;
    ptc_status st;
    self->busy = 1;
    self->plan.sample_weight = w;
    watch_sigint(interruptible);
    Py_BEGIN_ALLOW_THREADS
    st = ptc_plan_train(&self->plan, PyArray_DATA(x), PyArray_DATA(y), pd, (int64_t)n, (int64_t)batch_size,
                        (int64_t)b0, (int64_t)b1, &stop_flag, stop_on_nonfinite, s, &done, &last_loss);
    Py_END_ALLOW_THREADS
    unwatch_sigint();
    self->plan.sample_weight = NULL;
    self->busy = 0;
    int stopped = st == PTC_STOPPED_NONFINITE;
    if (stopped) st = PTC_OK;
    if (st == PTC_ERR_VALUE) {
        Py_DECREF(sums);
        PyErr_SetString(PyExc_ValueError, "training failed: a label is out of range for the loss");
        return NULL;
    }
    if (raise_status(st, "train")) {
        Py_DECREF(sums);
        return NULL;
    }
    return Py_BuildValue("NLdO", sums, (long long)done, last_loss, stopped ? Py_True : Py_False);
}

// evaluate(x, y, batch_size, interruptible, sample_weight=None) -> sums
static PyObject *Plan_evaluate(PlanObject *self, PyObject *args) {
    PyObject *xo, *yo, *sums, *wo = NULL;
    long long batch_size;
    int interruptible;
    const float *w = NULL;
    PyArrayObject *x, *y = NULL;
    if (!plan_usable(self) || !PyArg_ParseTuple(args, "OOLp|O", &xo, &yo, &batch_size, &interruptible, &wo))
        return NULL;
    if (check_data(self, xo, yo, &x, &y)) return NULL;
    if (check_weights(wo, PyArray_DIM(x, 0), &w)) return NULL;
    if (batch_size <= 0 || batch_size > self->plan.max_batch) {
        PyErr_Format(PyExc_ValueError, "batch_size must be in [1, %lld]. Received: %lld",
                     (long long)self->plan.max_batch, batch_size);
        return NULL;
    }
    if (!(sums = new_sums(self))) return NULL;
    ptc_status st;
    self->busy = 1;
    self->plan.sample_weight = w;
    watch_sigint(interruptible);
    Py_BEGIN_ALLOW_THREADS
    st = ptc_plan_evaluate(&self->plan, PyArray_DATA(x), PyArray_DATA(y), (int64_t)PyArray_DIM(x, 0),
                           (int64_t)batch_size, &stop_flag, PyArray_DATA((PyArrayObject *)sums));
    Py_END_ALLOW_THREADS
    unwatch_sigint();
    self->plan.sample_weight = NULL;
    self->busy = 0;
    if (st == PTC_ERR_VALUE) {
        Py_DECREF(sums);
        PyErr_SetString(PyExc_ValueError, "evaluation failed: a label is out of range for the loss");
        return NULL;
    }
    if (raise_status(st, "evaluate")) {
        Py_DECREF(sums);
        return NULL;
    }
    return sums;
}

// predict(x, batch_size, interruptible) -> float32 (n, out size)
static PyObject *Plan_predict(PlanObject *self, PyObject *args) {
    PyObject *xo, *out;
    long long batch_size;
    int interruptible;
    PyArrayObject *x;
    if (!plan_usable(self) || !PyArg_ParseTuple(args, "OLp", &xo, &batch_size, &interruptible)) return NULL;
    if (check_data(self, xo, NULL, &x, NULL)) return NULL;
    if (batch_size <= 0 || batch_size > self->plan.max_batch) {
        PyErr_Format(PyExc_ValueError, "batch_size must be in [1, %lld]. Received: %lld",
                     (long long)self->plan.max_batch, batch_size);
        return NULL;
    }
    npy_intp dims[2] = {PyArray_DIM(x, 0), (npy_intp)self->plan.buf_size[self->plan.output_buf]};
    if (!(out = PyArray_EMPTY(2, dims, NPY_FLOAT32, 0))) return NULL;
    ptc_status st;
    self->busy = 1;
    watch_sigint(interruptible);
    Py_BEGIN_ALLOW_THREADS
    st = ptc_plan_predict(&self->plan, PyArray_DATA(x), (int64_t)dims[0], (int64_t)batch_size, &stop_flag,
                          PyArray_DATA((PyArrayObject *)out));
    Py_END_ALLOW_THREADS
    unwatch_sigint();
    self->busy = 0;
    if (raise_status(st, "predict")) {
        Py_DECREF(out);
        return NULL;
    }
    return out;
}

static PyObject *Plan_get_max_batch(PlanObject *self, void *closure) {
    return PyLong_FromLongLong((long long)self->plan.max_batch);
}

static PyObject *Plan_get_n_sums(PlanObject *self, void *closure) {
    return PyLong_FromLongLong((long long)self->plan.n_sums);
}

static PyMethodDef Plan_methods[] = {
    {"set_loss", (PyCFunction)Plan_set_loss, METH_VARARGS, "set_loss(kind, loss_buf, last_dim)"},
    {"set_metrics", (PyCFunction)Plan_set_metrics, METH_VARARGS, "set_metrics(spec (n, 2), thresholds (n,))"},
    {"set_regularizers", (PyCFunction)Plan_set_regularizers, METH_VARARGS, "set_regularizers(slices, coefs)"},
    {"set_optimizer", (PyCFunction)Plan_set_optimizer, METH_VARARGS,
     "set_optimizer(kind, hyper, m, v, u, iterations, slices=None)"},
    {"set_learning_rate", (PyCFunction)Plan_set_learning_rate, METH_VARARGS, "set_learning_rate(lr)"},
    {"set_schedule", (PyCFunction)Plan_set_schedule, METH_VARARGS, "set_schedule(kind, params, table)"},
    {"set_rngs", (PyCFunction)Plan_set_rngs, METH_VARARGS, "set_rngs(states uint64 (n, 4))"},
    {"reserve", (PyCFunction)Plan_reserve, METH_VARARGS, "reserve(max_batch)"},
    {"train", (PyCFunction)Plan_train, METH_VARARGS,
     "train(x, y, perm, batch_size, b0, b1, interruptible, stop_on_nonfinite=False) -> "
     "(sums, batches_done, last_batch_loss, stopped_on_nonfinite)"},
    {"evaluate", (PyCFunction)Plan_evaluate, METH_VARARGS, "evaluate(x, y, batch_size, interruptible) -> sums"},
    {"predict", (PyCFunction)Plan_predict, METH_VARARGS, "predict(x, batch_size, interruptible) -> array"},
    {NULL, NULL, 0, NULL},
};

static PyGetSetDef Plan_getset[] = {
    {"max_batch", (getter)Plan_get_max_batch, NULL, "largest batch the workspaces hold", NULL},
    {"n_sums", (getter)Plan_get_n_sums, NULL, "length of the sums a pass returns", NULL},
    {NULL, NULL, NULL, NULL, NULL},
};

static PyTypeObject PlanType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "pytrainc._C.Plan",
    .tp_basicsize = sizeof(PlanObject),
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_doc = "A compiled model: ops over buffers, run by the C engine.",
    .tp_new = PyType_GenericNew,
    .tp_init = (initproc)Plan_init,
    .tp_dealloc = (destructor)Plan_dealloc,
    .tp_methods = Plan_methods,
    .tp_getset = Plan_getset,
};

// ---------------------------------------------------------------------------
// RNG

static ptc_rng *rng_state_any(PyObject *o) {
    PyArrayObject *a = check_array(o, NPY_UINT64, 1, 1, "rng state");
    if (!a) return NULL;
    if (PyArray_DIM(a, 0) != 4) {
        PyErr_SetString(PyExc_ValueError, "rng state must hold 4 uint64 words");
        return NULL;
    }
    return (ptc_rng *)PyArray_DATA(a);
}

static ptc_rng *rng_state(PyObject *o) {
    ptc_rng *r = rng_state_any(o);
    if (r && rng_is_zero(r->s)) {
        PyErr_SetString(PyExc_ValueError, "rng state is all zeros: seed it with rng_seed first");
        return NULL;
    }
    return r;
}

static PyObject *py_rng_seed(PyObject *mod, PyObject *args) {
    PyObject *so;
    unsigned long long seed;
    if (!PyArg_ParseTuple(args, "OK", &so, &seed)) return NULL;
    ptc_rng *r = rng_state_any(so);
    if (!r) return NULL;
    ptc_rng_seed(r, (uint64_t)seed);
    Py_RETURN_NONE;
}

// rng_fill(state, out float32, dist, a, b): dist 0 uniform [a, b), 1 normal(a, b), 2 truncated normal(a, b)
static PyObject *py_rng_fill(PyObject *mod, PyObject *args) {
    PyObject *so, *oo;
    int dist;
    double a, b;
    if (!PyArg_ParseTuple(args, "OOidd", &so, &oo, &dist, &a, &b)) return NULL;
    ptc_rng *r = rng_state(so);
    PyArrayObject *out = r ? check_array(oo, NPY_FLOAT32, -1, 1, "out") : NULL;
    if (!out) return NULL;
    float *d = PyArray_DATA(out);
    int64_t n = (int64_t)PyArray_SIZE(out);
    switch (dist) {
    case 0: ptc_rng_fill_uniform(r, d, n, (float)a, (float)b); break;
    case 1: ptc_rng_fill_normal(r, d, n, (float)a, (float)b); break;
    case 2: ptc_rng_fill_truncated_normal(r, d, n, (float)a, (float)b); break;
    default: PyErr_Format(PyExc_ValueError, "unknown distribution %d", dist); return NULL;
    }
    Py_RETURN_NONE;
}

// rng_next(state) -> int: the next 64 random bits (used to seed per-layer generators)
static PyObject *py_rng_next(PyObject *mod, PyObject *args) {
    PyObject *so;
    if (!PyArg_ParseTuple(args, "O", &so)) return NULL;
    ptc_rng *r = rng_state(so);
    if (!r) return NULL;
    return PyLong_FromUnsignedLongLong((unsigned long long)ptc_rng_next(r));
}

static PyObject *py_permutation(PyObject *mod, PyObject *args) {
    PyObject *so;
    Py_ssize_t n;
    if (!PyArg_ParseTuple(args, "On", &so, &n)) return NULL;
    ptc_rng *r = rng_state(so);
    if (!r) return NULL;
    if (n < 0) {
        PyErr_SetString(PyExc_ValueError, "n must be non-negative");
        return NULL;
    }
    npy_intp dim = n;
    PyObject *perm = PyArray_EMPTY(1, &dim, NPY_INT64, 0);
    if (!perm) return NULL;
    ptc_rng_permutation(r, PyArray_DATA((PyArrayObject *)perm), (int64_t)n);
    return perm;
}

// ---------------------------------------------------------------------------
// Single kernels, for tests against references and finite differences.

// sgemm takes int sizes: refuse a dense whose N, IN or OUT does not fit one.
static int dense_dims_too_large(npy_intp N, npy_intp IN, npy_intp OUT) {
    if (N <= INT_MAX && IN <= INT_MAX && OUT <= INT_MAX) return 0;
    PyErr_Format(PyExc_ValueError,
                 "dense sizes must each be at most %d (sgemm's int). Received: N=%zd, IN=%zd, OUT=%zd", INT_MAX,
                 (Py_ssize_t)N, (Py_ssize_t)IN, (Py_ssize_t)OUT);
    return 1;
}

// dense_forward(inp (N, IN), weight (IN, OUT), bias (OUT,) or None, ref) -> out (N, OUT)
static PyObject *py_dense_forward(PyObject *mod, PyObject *args) {
    PyObject *io, *wo, *bo;
    int ref;
    if (!PyArg_ParseTuple(args, "OOOp", &io, &wo, &bo, &ref)) return NULL;
    PyArrayObject *in = check_array(io, NPY_FLOAT32, 2, 0, "inp");
    PyArrayObject *w = in ? check_array(wo, NPY_FLOAT32, 2, 0, "weight") : NULL;
    PyArrayObject *b = NULL;
    if (!w) return NULL;
    npy_intp N = PyArray_DIM(in, 0), IN = PyArray_DIM(in, 1), OUT = PyArray_DIM(w, 1);
    if (dense_dims_too_large(N, IN, OUT)) return NULL;
    if (PyArray_DIM(w, 0) != IN) {
        PyErr_SetString(PyExc_ValueError, "weight must be (IN, OUT)");
        return NULL;
    }
    if (bo != Py_None) {
        if (!(b = check_array(bo, NPY_FLOAT32, 1, 0, "bias"))) return NULL;
        if (PyArray_DIM(b, 0) != OUT) {
            PyErr_SetString(PyExc_ValueError, "bias must be (OUT,)");
            return NULL;
        }
    }
    npy_intp dims[2] = {N, OUT};
    PyObject *out = PyArray_ZEROS(2, dims, NPY_FLOAT32, 0);
    if (!out) return NULL;
    (ref ? ptc_dense_forward_ref : ptc_dense_forward)(PyArray_DATA((PyArrayObject *)out), PyArray_DATA(in),
                                                      PyArray_DATA(w), b ? PyArray_DATA(b) : NULL, N, IN, OUT);
    return out;
}

// dense_backward(dout (N, OUT), inp (N, IN), weight (IN, OUT), ref) -> (dinp, dweight, dbias)
static PyObject *py_dense_backward(PyObject *mod, PyObject *args) {
    PyObject *go, *io, *wo;
    int ref;
    if (!PyArg_ParseTuple(args, "OOOp", &go, &io, &wo, &ref)) return NULL;
    PyArrayObject *g = check_array(go, NPY_FLOAT32, 2, 0, "dout");
    PyArrayObject *in = g ? check_array(io, NPY_FLOAT32, 2, 0, "inp") : NULL;
    PyArrayObject *w = in ? check_array(wo, NPY_FLOAT32, 2, 0, "weight") : NULL;
    if (!w) return NULL;
    npy_intp N = PyArray_DIM(in, 0), IN = PyArray_DIM(in, 1), OUT = PyArray_DIM(w, 1);
    if (dense_dims_too_large(N, IN, OUT)) return NULL;
    if (PyArray_DIM(w, 0) != IN || PyArray_DIM(g, 0) != N || PyArray_DIM(g, 1) != OUT) {
        PyErr_SetString(PyExc_ValueError, "shapes must be dout (N, OUT), inp (N, IN), weight (IN, OUT)");
        return NULL;
    }
    npy_intp d1[2] = {N, IN}, d2[2] = {IN, OUT}, d3[1] = {OUT};
    PyObject *di = PyArray_ZEROS(2, d1, NPY_FLOAT32, 0), *dw = PyArray_ZEROS(2, d2, NPY_FLOAT32, 0),
             *db = PyArray_ZEROS(1, d3, NPY_FLOAT32, 0);
    if (!di || !dw || !db) {
        Py_XDECREF(di); Py_XDECREF(dw); Py_XDECREF(db);
        return NULL;
    }
    (ref ? ptc_dense_backward_ref : ptc_dense_backward)(
        PyArray_DATA((PyArrayObject *)di), PyArray_DATA((PyArrayObject *)dw), PyArray_DATA((PyArrayObject *)db),
        PyArray_DATA(g), PyArray_DATA(in), PyArray_DATA(w), N, IN, OUT);
    return Py_BuildValue("NNN", di, dw, db);
}

static int act_kind_ok(int kind) {
    if (kind >= 0 && kind < PTC_ACT_COUNT) return 1;
    PyErr_Format(PyExc_ValueError, "unknown activation kind %d", kind);
    return 0;
}

// act_forward(kind, x (N, D), alpha=0) -> y
static PyObject *py_act_forward(PyObject *mod, PyObject *args) {
    int kind;
    PyObject *xo;
    double alpha = 0.0;
    if (!PyArg_ParseTuple(args, "iO|d", &kind, &xo, &alpha) || !act_kind_ok(kind)) return NULL;
    PyArrayObject *x = check_array(xo, NPY_FLOAT32, 2, 0, "x");
    if (!x) return NULL;
    PyObject *y = PyArray_EMPTY(2, PyArray_DIMS(x), NPY_FLOAT32, 0);
    if (!y) return NULL;
    ptc_act_forward(kind, PyArray_DATA((PyArrayObject *)y), PyArray_DATA(x), PyArray_DIM(x, 0), PyArray_DIM(x, 1),
                    (float)alpha);
    return y;
}

// act_backward(kind, dout, x, y, alpha=0) -> dx
static PyObject *py_act_backward(PyObject *mod, PyObject *args) {
    int kind;
    PyObject *go, *xo, *yo;
    double alpha = 0.0;
    if (!PyArg_ParseTuple(args, "iOOO|d", &kind, &go, &xo, &yo, &alpha) || !act_kind_ok(kind)) return NULL;
    PyArrayObject *g = check_array(go, NPY_FLOAT32, 2, 0, "dout");
    PyArrayObject *x = g ? check_array(xo, NPY_FLOAT32, 2, 0, "x") : NULL;
    PyArrayObject *y = x ? check_array(yo, NPY_FLOAT32, 2, 0, "y") : NULL;
    if (!y) return NULL;
    if (!PyArray_SAMESHAPE(g, x) || !PyArray_SAMESHAPE(g, y)) {
        PyErr_SetString(PyExc_ValueError, "dout, x and y must have the same shape");
        return NULL;
    }
    PyObject *dx = PyArray_ZEROS(2, PyArray_DIMS(x), NPY_FLOAT32, 0);
    if (!dx) return NULL;
    ptc_act_backward(kind, PyArray_DATA((PyArrayObject *)dx), PyArray_DATA(g), PyArray_DATA(x), PyArray_DATA(y),
                     PyArray_DIM(x, 0), PyArray_DIM(x, 1), (float)alpha);
    return dx;
}

// loss(kind, pred (N, D), y (N, y_size), w=None) -> (loss, dpred)
static PyObject *py_loss(PyObject *mod, PyObject *args) {
    int kind;
    PyObject *po, *yo, *wo = NULL;
    const float *w = NULL;
    if (!PyArg_ParseTuple(args, "iOO|O", &kind, &po, &yo, &wo)) return NULL;
    PyArrayObject *p = check_array(po, NPY_FLOAT32, 2, 0, "pred");
    PyArrayObject *y = p ? check_array(yo, NPY_FLOAT32, 2, 0, "y") : NULL;
    if (!y) return NULL;
    npy_intp N = PyArray_DIM(p, 0), D = PyArray_DIM(p, 1);
    if (PyArray_DIM(y, 0) != N || PyArray_DIM(y, 1) != ptc_loss_y_size(kind, D)) {
        PyErr_SetString(PyExc_ValueError, "y has the wrong shape for this loss");
        return NULL;
    }
    if (check_weights(wo, N, &w)) return NULL;
    PyObject *dp = PyArray_ZEROS(2, PyArray_DIMS(p), NPY_FLOAT32, 0);
    if (!dp) return NULL;
    double loss = 0.0;
    ptc_status st = ptc_loss_compute(kind, &loss, PyArray_DATA((PyArrayObject *)dp), PyArray_DATA(p), PyArray_DATA(y),
                                     w, N, D);
    if (raise_status(st, "loss")) {
        Py_DECREF(dp);
        return NULL;
    }
    return Py_BuildValue("dN", loss, dp);
}

// metric_accumulate(kind, k, threshold, pred (N, D), y (N, ys), w=None) -> float64 slots
static PyObject *py_metric_accumulate(PyObject *mod, PyObject *args) {
    ptc_metric mt = {0, 0, 0.0, 0};
    PyObject *po, *yo, *wo = NULL;
    long long k;
    const float *w = NULL;
    if (!PyArg_ParseTuple(args, "iLdOO|O", &mt.kind, &k, &mt.threshold, &po, &yo, &wo)) return NULL;
    mt.k = (int64_t)k;
    PyArrayObject *p = check_array(po, NPY_FLOAT32, 2, 0, "pred");
    PyArrayObject *y = p ? check_array(yo, NPY_FLOAT32, 2, 0, "y") : NULL;
    if (!y) return NULL;
    npy_intp N = PyArray_DIM(p, 0), D = PyArray_DIM(p, 1), ys = PyArray_DIM(y, 1);
    if (PyArray_DIM(y, 0) != N || mt.kind <= 0 || mt.kind >= PTC_METRIC_COUNT || ptc_metric_check(&mt, D, ys) != PTC_OK) {
        PyErr_SetString(PyExc_ValueError, "bad metric kind, parameter or y shape");
        return NULL;
    }
    if (check_weights(wo, N, &w)) return NULL;
    npy_intp slots = (npy_intp)ptc_metric_slots(&mt, D);
    PyObject *acc = PyArray_ZEROS(1, &slots, NPY_FLOAT64, 0);
    if (!acc) return NULL;
    ptc_metric_accumulate(&mt, PyArray_DATA(p), PyArray_DATA(y), ys, w, 1.0f, N, D, PyArray_DATA((PyArrayObject *)acc));
    return acc;
}

// metric_sum(kind, pred, y) -> float: the single-slot metrics 1-5 with default parameters
static PyObject *py_metric_sum(PyObject *mod, PyObject *args) {
    int kind;
    PyObject *po, *yo;
    if (!PyArg_ParseTuple(args, "iOO", &kind, &po, &yo)) return NULL;
    if (kind < PTC_METRIC_BINARY_ACCURACY || kind > PTC_METRIC_MAE) {
        PyErr_SetString(PyExc_ValueError, "bad metric kind or y shape");
        return NULL;
    }
    PyObject *sub = Py_BuildValue("(iLdOO)", kind, 0LL, 0.5, po, yo);
    if (!sub) return NULL;
    PyObject *acc = py_metric_accumulate(mod, sub);
    Py_DECREF(sub);
    if (!acc) return NULL;
    double v = ((double *)PyArray_DATA((PyArrayObject *)acc))[0];
    Py_DECREF(acc);
    return PyFloat_FromDouble(v);
}

// optimizer_step(kind, hyper, params, grads, m, v, u, iterations, slices=None):
// one step on flat arrays, updating params, m, v, u and iterations in place
// (grads are read only: clipping scales them on the fly).
static PyObject *py_optimizer_step(PyObject *mod, PyObject *args) {
    ptc_optimizer o;
    int kind;
    PyObject *ho, *po, *go, *mo, *vo, *uo, *io, *so = Py_None;
    if (!PyArg_ParseTuple(args, "iOOOOOOO|O", &kind, &ho, &po, &go, &mo, &vo, &uo, &io, &so)) return NULL;
    PyArrayObject *p = check_array(po, NPY_FLOAT32, 1, 1, "params");
    PyArrayObject *g = p ? check_array(go, NPY_FLOAT32, 1, 0, "grads") : NULL;
    if (!g) return NULL;
    npy_intp P = PyArray_DIM(p, 0);
    if (PyArray_DIM(g, 0) != P) {
        PyErr_SetString(PyExc_ValueError, "params and grads must have the same length");
        return NULL;
    }
    if (parse_optimizer(&o, kind, ho, mo, vo, uo, io, so, P)) return NULL;
    Py_BEGIN_ALLOW_THREADS
    ptc_optimizer_step(&o, PyArray_DATA(p), PyArray_DATA(g), P);
    Py_END_ALLOW_THREADS
    Py_RETURN_NONE;
}

// schedule_value(kind, params, table, steps int64 (n,)) -> float64 (n,)
static PyObject *py_schedule_value(PyObject *mod, PyObject *args) {
    int kind;
    PyObject *po, *to, *so;
    ptc_schedule s;
    if (!PyArg_ParseTuple(args, "iOOO", &kind, &po, &to, &so)) return NULL;
    if (parse_schedule(&s, kind, po, to)) return NULL;
    PyArrayObject *steps = check_array(so, NPY_INT64, 1, 0, "steps");
    if (!steps) return NULL;
    PyObject *out = PyArray_EMPTY(1, PyArray_DIMS(steps), NPY_FLOAT64, 0);
    if (!out) return NULL;
    const int64_t *st = PyArray_DATA(steps);
    double *o = PyArray_DATA((PyArrayObject *)out);
    for (npy_intp i = 0; i < PyArray_DIM(steps, 0); i++) o[i] = ptc_schedule_value(&s, st[i]);
    return out;
}

// ---------------------------------------------------------------------------
// Conv2D, pooling and batch normalization kernels (csrc/kernels2d.h), one at a
// time, for tests. Backward bindings accumulate (+=) into caller-provided
// gradient arrays, as the kernels do; None stands for a NULL gradient.

#include "kernels2d.h"

// Sentinel floats after the conv workspace: a kernel that writes past
// ptc_conv2d_workspace() floats is reported instead of silently corrupting memory.
#define PTC_WS_GUARD 64
static const uint32_t ws_guard_bits = 0x7fc0dead;  // a NaN payload no kernel produces

// Optional float32 array: None gives *out = NULL.
static int opt_array(PyObject *o, int ndim, int writeable, const char *name, PyArrayObject **out) {
    *out = NULL;
    if (o == Py_None) return 0;
    *out = check_array(o, NPY_FLOAT32, ndim, writeable, name);
    return *out ? 0 : -1;
}

// ValueError unless a (already checked for ndim) has exactly the given dims.
static int check_dims(PyArrayObject *a, int ndim, const int64_t *dims, const char *name) {
    for (int i = 0; i < ndim; i++)
        if ((int64_t)PyArray_DIM(a, i) != dims[i]) {
            char want[160] = "", got[160] = "";
            size_t lw = 0, lg = 0;
            for (int j = 0; j < ndim; j++) {
                lw += (size_t)snprintf(want + lw, sizeof(want) - lw, j ? ", %lld" : "%lld", (long long)dims[j]);
                lg += (size_t)snprintf(got + lg, sizeof(got) - lg, j ? ", %lld" : "%lld",
                                       (long long)PyArray_DIM(a, j));
                if (lw >= sizeof(want) || lg >= sizeof(got)) break;
            }
            PyErr_Format(PyExc_ValueError, "%s must have shape (%s). Received: shape=(%s)", name, want, got);
            return -1;
        }
    return 0;
}

// The workspace: the caller's work array (float32, 1-D, at least `floats` long;
// a plan-owned workspace reused across calls, as the engine does) or, for None,
// a fresh guarded buffer. *owned tells conv_ws_release which it was.
static float *ws_alloc(int64_t floats);
static float *conv_ws_get(PyObject *wo, int64_t floats, int *owned) {
    *owned = 0;
    if (wo == NULL || wo == Py_None) {
        *owned = 1;
        return ws_alloc(floats);
    }
    PyArrayObject *w = check_array(wo, NPY_FLOAT32, 1, 1, "work");
    if (!w) return NULL;
    if ((int64_t)PyArray_DIM(w, 0) < floats) {
        PyErr_Format(PyExc_ValueError, "work must hold at least %lld floats. Received: %lld", (long long)floats,
                     (long long)PyArray_DIM(w, 0));
        return NULL;
    }
    return PyArray_DATA(w);
}

static float *ws_alloc(int64_t floats) {
    if (floats < 0 || floats > (int64_t)(PY_SSIZE_T_MAX / sizeof(float)) - PTC_WS_GUARD) {
        PyErr_NoMemory();
        return NULL;
    }
    float *w = PyMem_Malloc((size_t)(floats + PTC_WS_GUARD) * sizeof(float));
    if (!w) {
        PyErr_NoMemory();
        return NULL;
    }
    for (int i = 0; i < PTC_WS_GUARD; i++) memcpy(w + floats + i, &ws_guard_bits, sizeof(float));
    return w;
}

// Frees the workspace; -1 with RuntimeError if a kernel wrote past its end.
static int ws_free(float *w, int64_t floats) {
    int bad = 0;
    for (int i = 0; i < PTC_WS_GUARD; i++) bad |= memcmp(w + floats + i, &ws_guard_bits, sizeof(float)) != 0;
    PyMem_Free(w);
    if (bad) {
        PyErr_SetString(PyExc_RuntimeError, "conv2d kernel wrote past its workspace");
        return -1;
    }
    return 0;
}

static int conv_shape_ok(const ptc_conv2d_shape *s) {
    if (ptc_conv2d_shape_valid(s)) return 1;
    PyErr_Format(PyExc_ValueError,
                 "invalid conv2d shape: strides and dilation must be >= 1, pads >= 0, output size >= 0. "
                 "Received: strides=(%lld, %lld), dilation=(%lld, %lld), pads=(%lld, %lld), out_hw=(%lld, %lld)",
                 (long long)s->SH, (long long)s->SW, (long long)s->DH, (long long)s->DW, (long long)s->PT,
                 (long long)s->PL, (long long)s->OH, (long long)s->OW);
    return 0;
}

// conv2d_workspace((N, H, W, C), (KH, KW, C, F), strides, dilation, pads, out_hw) -> (floats, chunk)
static PyObject *py_conv2d_workspace(PyObject *mod, PyObject *args) {
    ptc_conv2d_shape s;
    long long c2;
    memset(&s, 0, sizeof(s));
    if (!PyArg_ParseTuple(args, "(LLLL)(LLLL)(LL)(LL)(LL)(LL)", &s.N, &s.H, &s.W, &s.C, &s.KH, &s.KW, &c2, &s.F,
                          &s.SH, &s.SW, &s.DH, &s.DW, &s.PT, &s.PL, &s.OH, &s.OW))
        return NULL;
    if (c2 != s.C) {
        PyErr_Format(PyExc_ValueError, "kernel channels %lld differ from input channels %lld", c2, (long long)s.C);
        return NULL;
    }
    if (!conv_shape_ok(&s)) return NULL;
    return Py_BuildValue("LL", (long long)ptc_conv2d_workspace(&s), (long long)ptc_conv2d_chunk(&s));
}

// Fills s from inp (N, H, W, C) and weight (KH, KW, C, F); ValueError on mismatch.
static int conv_shape_from(ptc_conv2d_shape *s, PyArrayObject *in, PyArrayObject *w) {
    s->N = PyArray_DIM(in, 0); s->H = PyArray_DIM(in, 1); s->W = PyArray_DIM(in, 2); s->C = PyArray_DIM(in, 3);
    s->KH = PyArray_DIM(w, 0); s->KW = PyArray_DIM(w, 1); s->F = PyArray_DIM(w, 3);
    if (PyArray_DIM(w, 2) != s->C) {
        PyErr_Format(PyExc_ValueError, "weight must be (KH, KW, C, F) with C = %lld input channels. "
                     "Received: weight C=%lld", (long long)s->C, (long long)PyArray_DIM(w, 2));
        return -1;
    }
    return conv_shape_ok(s) ? 0 : -1;
}

// conv2d_forward(inp (N, H, W, C), weight (KH, KW, C, F), bias (F,) or None, strides, dilation, pads,
//                out_hw, ref[, work]) -> out (N, OH, OW, F)
static PyObject *py_conv2d_forward(PyObject *mod, PyObject *args) {
    PyObject *io, *wo, *bo, *out = NULL, *wko = NULL;
    PyArrayObject *b;
    ptc_conv2d_shape s;
    int ref, owned = 0;
    float *work = NULL;
    int64_t ws = 0;
    memset(&s, 0, sizeof(s));
    if (!PyArg_ParseTuple(args, "OOO(LL)(LL)(LL)(LL)p|O", &io, &wo, &bo, &s.SH, &s.SW, &s.DH, &s.DW, &s.PT, &s.PL,
                          &s.OH, &s.OW, &ref, &wko))
        return NULL;
    PyArrayObject *in = check_array(io, NPY_FLOAT32, 4, 0, "inp");
    PyArrayObject *w = in ? check_array(wo, NPY_FLOAT32, 4, 0, "weight") : NULL;
    if (!w || opt_array(bo, 1, 0, "bias", &b) || conv_shape_from(&s, in, w)) return NULL;
    if (b && check_dims(b, 1, &s.F, "bias")) return NULL;
    npy_intp dims[4] = {s.N, s.OH, s.OW, s.F};
    if (!(out = PyArray_ZEROS(4, dims, NPY_FLOAT32, 0))) return NULL;
    if (!ref) {
        ws = ptc_conv2d_workspace(&s);
        if (!(work = conv_ws_get(wko, ws, &owned))) goto fail;
    }
    float *o = PyArray_DATA((PyArrayObject *)out);
    const float *x = PyArray_DATA(in), *wd = PyArray_DATA(w), *bd = b ? PyArray_DATA(b) : NULL;
    Py_BEGIN_ALLOW_THREADS
    if (ref) ptc_conv2d_forward_ref(o, x, wd, bd, &s);
    else ptc_conv2d_forward(o, x, wd, bd, &s, work);
    Py_END_ALLOW_THREADS
    if (owned && ws_free(work, ws)) goto fail;
    return out;
fail:
    Py_XDECREF(out);
    return NULL;
}

// conv2d_backward(dout (N, OH, OW, F), inp, weight, strides, dilation, pads, ref,
//                 dinp (N, H, W, C) or None, dweight (KH, KW, C, F), dbias (F,) or None[, work]): accumulates
static PyObject *py_conv2d_backward(PyObject *mod, PyObject *args) {
    PyObject *go, *io, *wo, *dio, *dwo, *dbo, *wko = NULL;
    PyArrayObject *di, *db;
    ptc_conv2d_shape s;
    int ref, owned = 0;
    memset(&s, 0, sizeof(s));
    if (!PyArg_ParseTuple(args, "OOO(LL)(LL)(LL)pOOO|O", &go, &io, &wo, &s.SH, &s.SW, &s.DH, &s.DW, &s.PT, &s.PL,
                          &ref, &dio, &dwo, &dbo, &wko))
        return NULL;
    PyArrayObject *g = check_array(go, NPY_FLOAT32, 4, 0, "dout");
    PyArrayObject *in = g ? check_array(io, NPY_FLOAT32, 4, 0, "inp") : NULL;
    PyArrayObject *w = in ? check_array(wo, NPY_FLOAT32, 4, 0, "weight") : NULL;
    PyArrayObject *dw = w ? check_array(dwo, NPY_FLOAT32, 4, 1, "dweight") : NULL;
    if (!dw || opt_array(dio, 4, 1, "dinp", &di) || opt_array(dbo, 1, 1, "dbias", &db)) return NULL;
    s.OH = PyArray_DIM(g, 1);
    s.OW = PyArray_DIM(g, 2);
    if (conv_shape_from(&s, in, w)) return NULL;
    int64_t gd[4] = {s.N, s.OH, s.OW, s.F}, xd[4] = {s.N, s.H, s.W, s.C}, wd[4] = {s.KH, s.KW, s.C, s.F};
    if (check_dims(g, 4, gd, "dout") || check_dims(dw, 4, wd, "dweight") || (di && check_dims(di, 4, xd, "dinp")) ||
        (db && check_dims(db, 1, &s.F, "dbias")))
        return NULL;
    int64_t ws = ref ? 0 : ptc_conv2d_workspace(&s);
    float *work = ref ? NULL : conv_ws_get(wko, ws, &owned);
    if (!ref && !work) return NULL;
    float *dip = di ? PyArray_DATA(di) : NULL, *dwp = PyArray_DATA(dw), *dbp = db ? PyArray_DATA(db) : NULL;
    const float *gp = PyArray_DATA(g), *xp = PyArray_DATA(in), *wp = PyArray_DATA(w);
    Py_BEGIN_ALLOW_THREADS
    if (ref) ptc_conv2d_backward_ref(dip, dwp, dbp, gp, xp, wp, &s);
    else ptc_conv2d_backward(dip, dwp, dbp, gp, xp, wp, &s, work);
    Py_END_ALLOW_THREADS
    if (owned && ws_free(work, ws)) return NULL;
    Py_RETURN_NONE;
}

static int pool_shape_ok(const ptc_pool2d_shape *s) {
    if (ptc_pool2d_shape_valid(s)) return 1;
    PyErr_Format(PyExc_ValueError,
                 "invalid pool2d shape: pool size and strides must be >= 1, pads >= 0, output size >= 0. "
                 "Received: pool=(%lld, %lld), strides=(%lld, %lld), pads=(%lld, %lld), out_hw=(%lld, %lld)",
                 (long long)s->KH, (long long)s->KW, (long long)s->SH, (long long)s->SW, (long long)s->PT,
                 (long long)s->PL, (long long)s->OH, (long long)s->OW);
    return 0;
}

static void pool_dims_from(ptc_pool2d_shape *s, PyArrayObject *in) {
    s->N = PyArray_DIM(in, 0); s->H = PyArray_DIM(in, 1); s->W = PyArray_DIM(in, 2); s->C = PyArray_DIM(in, 3);
}

// maxpool2d_forward / avgpool2d_forward(inp (N, H, W, C), pool, strides, pads, out_hw) -> (N, OH, OW, C)
static PyObject *pool2d_forward(PyObject *args, int is_max) {
    PyObject *io, *out;
    ptc_pool2d_shape s;
    memset(&s, 0, sizeof(s));
    if (!PyArg_ParseTuple(args, "O(LL)(LL)(LL)(LL)", &io, &s.KH, &s.KW, &s.SH, &s.SW, &s.PT, &s.PL, &s.OH, &s.OW))
        return NULL;
    PyArrayObject *in = check_array(io, NPY_FLOAT32, 4, 0, "inp");
    if (!in) return NULL;
    pool_dims_from(&s, in);
    if (!pool_shape_ok(&s)) return NULL;
    npy_intp dims[4] = {s.N, s.OH, s.OW, s.C};
    if (!(out = PyArray_ZEROS(4, dims, NPY_FLOAT32, 0))) return NULL;
    float *o = PyArray_DATA((PyArrayObject *)out);
    const float *x = PyArray_DATA(in);
    Py_BEGIN_ALLOW_THREADS
    (is_max ? ptc_maxpool2d_forward : ptc_avgpool2d_forward)(o, x, &s);
    Py_END_ALLOW_THREADS
    return out;
}

static PyObject *py_maxpool2d_forward(PyObject *mod, PyObject *args) { return pool2d_forward(args, 1); }
static PyObject *py_avgpool2d_forward(PyObject *mod, PyObject *args) { return pool2d_forward(args, 0); }

// maxpool2d_backward(dout (N, OH, OW, C), inp (N, H, W, C), pool, strides, pads, dinp): accumulates
// avgpool2d_backward(dout, pool, strides, pads, dinp (N, H, W, C)): accumulates
static PyObject *pool2d_backward(PyObject *args, int is_max) {
    PyObject *go, *io = NULL, *dio;
    PyArrayObject *in = NULL;
    ptc_pool2d_shape s;
    memset(&s, 0, sizeof(s));
    int ok = is_max ? PyArg_ParseTuple(args, "OO(LL)(LL)(LL)O", &go, &io, &s.KH, &s.KW, &s.SH, &s.SW, &s.PT, &s.PL, &dio)
                    : PyArg_ParseTuple(args, "O(LL)(LL)(LL)O", &go, &s.KH, &s.KW, &s.SH, &s.SW, &s.PT, &s.PL, &dio);
    if (!ok) return NULL;
    PyArrayObject *g = check_array(go, NPY_FLOAT32, 4, 0, "dout");
    if (g && is_max) in = check_array(io, NPY_FLOAT32, 4, 0, "inp");
    PyArrayObject *di = g && (in || !is_max) ? check_array(dio, NPY_FLOAT32, 4, 1, "dinp") : NULL;
    if (!di) return NULL;
    pool_dims_from(&s, di);
    s.OH = PyArray_DIM(g, 1);
    s.OW = PyArray_DIM(g, 2);
    if (!pool_shape_ok(&s)) return NULL;
    int64_t gd[4] = {s.N, s.OH, s.OW, s.C}, xd[4] = {s.N, s.H, s.W, s.C};
    if (check_dims(g, 4, gd, "dout") || (in && check_dims(in, 4, xd, "inp"))) return NULL;
    float *d = PyArray_DATA(di);
    const float *gp = PyArray_DATA(g), *xp = in ? PyArray_DATA(in) : NULL;
    Py_BEGIN_ALLOW_THREADS
    if (is_max) ptc_maxpool2d_backward(d, gp, xp, &s);
    else ptc_avgpool2d_backward(d, gp, &s);
    Py_END_ALLOW_THREADS
    Py_RETURN_NONE;
}

static PyObject *py_maxpool2d_backward(PyObject *mod, PyObject *args) { return pool2d_backward(args, 1); }
static PyObject *py_avgpool2d_backward(PyObject *mod, PyObject *args) { return pool2d_backward(args, 0); }

// global_{avg,max}pool_forward(inp (N, S, C)) -> (N, C)
static PyObject *global_pool_forward(PyObject *args, int is_max) {
    PyObject *io, *out;
    if (!PyArg_ParseTuple(args, "O", &io)) return NULL;
    PyArrayObject *in = check_array(io, NPY_FLOAT32, 3, 0, "inp");
    if (!in) return NULL;
    int64_t N = PyArray_DIM(in, 0), S = PyArray_DIM(in, 1), C = PyArray_DIM(in, 2);
    npy_intp dims[2] = {N, C};
    if (!(out = PyArray_ZEROS(2, dims, NPY_FLOAT32, 0))) return NULL;
    float *o = PyArray_DATA((PyArrayObject *)out);
    const float *x = PyArray_DATA(in);
    Py_BEGIN_ALLOW_THREADS
    (is_max ? ptc_global_maxpool_forward : ptc_global_avgpool_forward)(o, x, N, S, C);
    Py_END_ALLOW_THREADS
    return out;
}

static PyObject *py_global_avgpool_forward(PyObject *mod, PyObject *args) { return global_pool_forward(args, 0); }
static PyObject *py_global_maxpool_forward(PyObject *mod, PyObject *args) { return global_pool_forward(args, 1); }

// global_avgpool_backward(dout (N, C), dinp (N, S, C)); global_maxpool_backward(dout, inp, dinp): accumulate
static PyObject *global_pool_backward(PyObject *args, int is_max) {
    PyObject *go, *io = NULL, *dio;
    PyArrayObject *in = NULL;
    int ok = is_max ? PyArg_ParseTuple(args, "OOO", &go, &io, &dio) : PyArg_ParseTuple(args, "OO", &go, &dio);
    if (!ok) return NULL;
    PyArrayObject *g = check_array(go, NPY_FLOAT32, 2, 0, "dout");
    if (g && is_max) in = check_array(io, NPY_FLOAT32, 3, 0, "inp");
    PyArrayObject *di = g && (in || !is_max) ? check_array(dio, NPY_FLOAT32, 3, 1, "dinp") : NULL;
    if (!di) return NULL;
    int64_t N = PyArray_DIM(di, 0), S = PyArray_DIM(di, 1), C = PyArray_DIM(di, 2);
    int64_t gd[2] = {N, C}, xd[3] = {N, S, C};
    if (check_dims(g, 2, gd, "dout") || (in && check_dims(in, 3, xd, "inp"))) return NULL;
    float *d = PyArray_DATA(di);
    const float *gp = PyArray_DATA(g), *xp = in ? PyArray_DATA(in) : NULL;
    Py_BEGIN_ALLOW_THREADS
    if (is_max) ptc_global_maxpool_backward(d, gp, xp, N, S, C);
    else ptc_global_avgpool_backward(d, gp, N, S, C);
    Py_END_ALLOW_THREADS
    Py_RETURN_NONE;
}

static PyObject *py_global_avgpool_backward(PyObject *mod, PyObject *args) { return global_pool_backward(args, 0); }
static PyObject *py_global_maxpool_backward(PyObject *mod, PyObject *args) { return global_pool_backward(args, 1); }

// batchnorm_forward(inp (R, C), gamma, beta, moving_mean, moving_var (C,) or None, momentum, epsilon,
//                   training) -> (out (R, C), work (2, C)); the moving statistics are updated in place
static PyObject *py_batchnorm_forward(PyObject *mod, PyObject *args) {
    PyObject *io, *gmo, *bto, *mmo, *mvo, *out = NULL, *work = NULL;
    PyArrayObject *gm, *bt, *mm, *mv;
    float momentum, epsilon;
    int training;
    if (!PyArg_ParseTuple(args, "OOOOOffp", &io, &gmo, &bto, &mmo, &mvo, &momentum, &epsilon, &training))
        return NULL;
    PyArrayObject *in = check_array(io, NPY_FLOAT32, 2, 0, "inp");
    if (!in || opt_array(gmo, 1, 0, "gamma", &gm) || opt_array(bto, 1, 0, "beta", &bt) ||
        opt_array(mmo, 1, 1, "moving_mean", &mm) || opt_array(mvo, 1, 1, "moving_var", &mv))
        return NULL;
    int64_t R = PyArray_DIM(in, 0), C = PyArray_DIM(in, 1);
    if ((gm && check_dims(gm, 1, &C, "gamma")) || (bt && check_dims(bt, 1, &C, "beta")) ||
        (mm && check_dims(mm, 1, &C, "moving_mean")) || (mv && check_dims(mv, 1, &C, "moving_var")))
        return NULL;
    if (!training && (!mm || !mv)) {
        PyErr_SetString(PyExc_ValueError, "inference mode needs moving_mean and moving_var");
        return NULL;
    }
    if (!(epsilon > 0.0f)) {
        PyErr_Format(PyExc_ValueError, "epsilon must be > 0. Received: %g", (double)epsilon);
        return NULL;
    }
    npy_intp od[2] = {R, C}, wd[2] = {2, C};
    out = PyArray_ZEROS(2, od, NPY_FLOAT32, 0);
    work = out ? PyArray_ZEROS(2, wd, NPY_FLOAT32, 0) : NULL;
    if (!work) {
        Py_XDECREF(out);
        return NULL;
    }
    float *o = PyArray_DATA((PyArrayObject *)out), *wk = PyArray_DATA((PyArrayObject *)work);
    const float *x = PyArray_DATA(in), *gp = gm ? PyArray_DATA(gm) : NULL, *bp = bt ? PyArray_DATA(bt) : NULL;
    float *mmp = mm ? PyArray_DATA(mm) : NULL, *mvp = mv ? PyArray_DATA(mv) : NULL;
    Py_BEGIN_ALLOW_THREADS
    ptc_batchnorm_forward(o, x, gp, bp, mmp, mvp, R, C, momentum, epsilon, training, wk);
    Py_END_ALLOW_THREADS
    return Py_BuildValue("NN", out, work);
}

// batchnorm_backward(dout (R, C), inp (R, C), gamma (C,) or None, work (2, C), training,
//                    dinp (R, C) or None, dgamma (C,) or None, dbeta (C,) or None): accumulates
static PyObject *py_batchnorm_backward(PyObject *mod, PyObject *args) {
    PyObject *go, *io, *gmo, *wko, *dio, *dgo, *dbo;
    PyArrayObject *gm, *di, *dg, *db;
    int training;
    if (!PyArg_ParseTuple(args, "OOOOpOOO", &go, &io, &gmo, &wko, &training, &dio, &dgo, &dbo)) return NULL;
    PyArrayObject *g = check_array(go, NPY_FLOAT32, 2, 0, "dout");
    PyArrayObject *in = g ? check_array(io, NPY_FLOAT32, 2, 0, "inp") : NULL;
    PyArrayObject *wk = in ? check_array(wko, NPY_FLOAT32, 2, 0, "work") : NULL;
    if (!wk || opt_array(gmo, 1, 0, "gamma", &gm) || opt_array(dio, 2, 1, "dinp", &di) ||
        opt_array(dgo, 1, 1, "dgamma", &dg) || opt_array(dbo, 1, 1, "dbeta", &db))
        return NULL;
    int64_t R = PyArray_DIM(in, 0), C = PyArray_DIM(in, 1), xd[2] = {R, C}, wd[2] = {2, C};
    if (check_dims(g, 2, xd, "dout") || check_dims(wk, 2, wd, "work") || (gm && check_dims(gm, 1, &C, "gamma")) ||
        (di && check_dims(di, 2, xd, "dinp")) || (dg && check_dims(dg, 1, &C, "dgamma")) ||
        (db && check_dims(db, 1, &C, "dbeta")))
        return NULL;
    float *dip = di ? PyArray_DATA(di) : NULL, *dgp = dg ? PyArray_DATA(dg) : NULL, *dbp = db ? PyArray_DATA(db) : NULL;
    const float *gp = PyArray_DATA(g), *xp = PyArray_DATA(in), *gmp = gm ? PyArray_DATA(gm) : NULL,
                *wp = PyArray_DATA(wk);
    Py_BEGIN_ALLOW_THREADS
    (training ? ptc_batchnorm_backward : ptc_batchnorm_backward_inference)(dip, dgp, dbp, gp, xp, gmp, R, C, wp);
    Py_END_ALLOW_THREADS
    Py_RETURN_NONE;
}
// End of the Conv2D / pooling / batch normalization kernel bindings.

// ---------------------------------------------------------------------------
// BLAS

static PyObject *py_blas_info(PyObject *mod, PyObject *noargs) {
    const char *cfg = ptc_blas_info();
    return Py_BuildValue("si", cfg ? cfg : "", ptc_blas_get_num_threads());
}

static PyObject *py_set_num_threads(PyObject *mod, PyObject *args) {
    int n;
    if (!PyArg_ParseTuple(args, "i", &n)) return NULL;
    if (n < 1) {
        PyErr_Format(PyExc_ValueError, "num_threads must be >= 1. Received: %d", n);
        return NULL;
    }
    ptc_blas_set_num_threads(n);
    Py_RETURN_NONE;
}

static PyMethodDef module_methods[] = {
    {"rng_seed", py_rng_seed, METH_VARARGS, "rng_seed(state uint64[4], seed)"},
    {"rng_fill", py_rng_fill, METH_VARARGS, "rng_fill(state, out, dist, a, b)"},
    {"permutation", py_permutation, METH_VARARGS, "permutation(state, n) -> int64 array"},
    {"rng_next", py_rng_next, METH_VARARGS, "rng_next(state) -> next 64 random bits"},
    {"dense_forward", py_dense_forward, METH_VARARGS, "dense_forward(inp, weight, bias, ref)"},
    {"dense_backward", py_dense_backward, METH_VARARGS, "dense_backward(dout, inp, weight, ref)"},
    {"act_forward", py_act_forward, METH_VARARGS, "act_forward(kind, x)"},
    {"act_backward", py_act_backward, METH_VARARGS, "act_backward(kind, dout, x, y)"},
    {"loss", py_loss, METH_VARARGS, "loss(kind, pred, y) -> (loss, dpred)"},
    {"metric_sum", py_metric_sum, METH_VARARGS, "metric_sum(kind, pred, y)"},
    {"metric_accumulate", py_metric_accumulate, METH_VARARGS, "metric_accumulate(kind, k, threshold, pred, y, w=None)"},
    {"optimizer_step", py_optimizer_step, METH_VARARGS, "optimizer_step(kind, hyper, params, grads, m, v, u, iterations, slices=None)"},
    {"schedule_value", py_schedule_value, METH_VARARGS, "schedule_value(kind, params, table, steps)"},
    {"blas_info", py_blas_info, METH_NOARGS, "blas_info() -> (config, num_threads)"},
    {"set_num_threads", py_set_num_threads, METH_VARARGS, "set_num_threads(n)"},
    // Conv2D / pooling / batch normalization kernels (csrc/kernels2d.h)
    {"conv2d_workspace", py_conv2d_workspace, METH_VARARGS, "conv2d_workspace(inp_shape, kernel_shape, strides, dilation, pads, out_hw) -> (floats, chunk)"},
    {"conv2d_forward", py_conv2d_forward, METH_VARARGS, "conv2d_forward(inp, weight, bias, strides, dilation, pads, out_hw, ref[, work])"},
    {"conv2d_backward", py_conv2d_backward, METH_VARARGS, "conv2d_backward(dout, inp, weight, strides, dilation, pads, ref, dinp, dweight, dbias[, work])"},
    {"maxpool2d_forward", py_maxpool2d_forward, METH_VARARGS, "maxpool2d_forward(inp, pool, strides, pads, out_hw)"},
    {"maxpool2d_backward", py_maxpool2d_backward, METH_VARARGS, "maxpool2d_backward(dout, inp, pool, strides, pads, dinp)"},
    {"avgpool2d_forward", py_avgpool2d_forward, METH_VARARGS, "avgpool2d_forward(inp, pool, strides, pads, out_hw)"},
    {"avgpool2d_backward", py_avgpool2d_backward, METH_VARARGS, "avgpool2d_backward(dout, pool, strides, pads, dinp)"},
    {"global_avgpool_forward", py_global_avgpool_forward, METH_VARARGS, "global_avgpool_forward(inp)"},
    {"global_avgpool_backward", py_global_avgpool_backward, METH_VARARGS, "global_avgpool_backward(dout, dinp)"},
    {"global_maxpool_forward", py_global_maxpool_forward, METH_VARARGS, "global_maxpool_forward(inp)"},
    {"global_maxpool_backward", py_global_maxpool_backward, METH_VARARGS, "global_maxpool_backward(dout, inp, dinp)"},
    {"batchnorm_forward", py_batchnorm_forward, METH_VARARGS, "batchnorm_forward(inp, gamma, beta, moving_mean, moving_var, momentum, epsilon, training) -> (out, work)"},
    {"batchnorm_backward", py_batchnorm_backward, METH_VARARGS, "batchnorm_backward(dout, inp, gamma, work, training, dinp, dgamma, dbeta)"},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module_def = {
    PyModuleDef_HEAD_INIT, "_C", "pytrainc's C core.", -1, module_methods, NULL, NULL, NULL, NULL,
};

PyMODINIT_FUNC PyInit__C(void) {
    PyObject *m = NULL;
    import_array();
    if (PyType_Ready(&PlanType) < 0) return NULL;
    if (!(m = PyModule_Create(&module_def))) return NULL;
    Py_INCREF(&PlanType);
    if (PyModule_AddObject(m, "Plan", (PyObject *)&PlanType) < 0) goto fail;
    if (PyModule_AddIntConstant(m, "OP_ROW", PTC_OP_ROW) < 0 || PyModule_AddIntConstant(m, "MAX_FARG", PTC_MAX_FARG) < 0 ||
        PyModule_AddIntConstant(m, "MAX_IN", PTC_MAX_IN) < 0 || PyModule_AddIntConstant(m, "MAX_PARAM", PTC_MAX_PARAM) < 0 ||
        PyModule_AddIntConstant(m, "MAX_METRICS", PTC_MAX_METRICS) < 0)
        goto fail;
    return m;
fail:
    Py_DECREF(&PlanType);
    Py_DECREF(m);
    return NULL;
}
