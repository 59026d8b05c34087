// The one file that touches the CPython and NumPy C APIs. It checks every
// array's dtype, shape and contiguity, releases the GIL around the pure-C
// engine, and maps ptc_status codes to Python exceptions.
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#define NPY_NO_DEPRECATED_API NPY_1_7_API_VERSION
#include <numpy/arrayobject.h>

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

static int raise_status(ptc_status st, const char *what) {
    switch (st) {
    case PTC_OK: return 0;
    case PTC_ERR_NOMEM: PyErr_Format(PyExc_MemoryError, "%s: out of memory", what); return -1;
    case PTC_ERR_INTERRUPTED:
        // The signal handler below chained to Python's, so this usually raises
        // KeyboardInterrupt (or whatever the user's SIGINT handler raises).
        if (PyErr_CheckSignals() == 0) PyErr_SetNone(PyExc_KeyboardInterrupt);
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
    PyObject *params, *grads, *m, *v, *u, *iterations, *sched_table;  // arrays whose memory the plan uses
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

static PyObject *Plan_set_metrics(PlanObject *self, PyObject *args) {
    PyObject *o;
    if (!plan_usable(self) || !PyArg_ParseTuple(args, "O", &o)) return NULL;
    PyArrayObject *a = check_array(o, NPY_INT64, 1, 0, "metrics");
    if (!a) return NULL;
    npy_intp n = PyArray_DIM(a, 0);
    if (n > PTC_MAX_METRICS) {
        PyErr_Format(PyExc_ValueError, "at most %d metrics are supported. Received: %zd", PTC_MAX_METRICS, (Py_ssize_t)n);
        return NULL;
    }
    const int64_t *k = PyArray_DATA(a);
    for (npy_intp i = 0; i < n; i++) {
        if (k[i] < PTC_METRIC_BINARY_ACCURACY || k[i] > PTC_METRIC_MAE) {
            PyErr_Format(PyExc_ValueError, "unknown metric kind %lld", (long long)k[i]);
            return NULL;
        }
        self->plan.metrics[i] = (int)k[i];
    }
    self->plan.n_metrics = (int)n;
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

// Fills an optimizer from (kind, hyper float64 (8,) [learning_rate, momentum,
// nesterov, beta_1, beta_2, epsilon, rho, centered], m, v, u float32 (P,) or
// (0,) where unused, iterations int64 (1,)). Returns 0 or sets an exception.
static int parse_optimizer(ptc_optimizer *o, int kind, PyObject *ho, PyObject *mo, PyObject *vo, PyObject *uo,
                           PyObject *io, npy_intp P) {
    memset(o, 0, sizeof(*o));
    PyArrayObject *h = check_array(ho, NPY_FLOAT64, 1, 0, "hyper");
    PyArrayObject *m = h ? check_array(mo, NPY_FLOAT32, 1, 1, "m") : NULL;
    PyArrayObject *v = m ? check_array(vo, NPY_FLOAT32, 1, 1, "v") : NULL;
    PyArrayObject *u = v ? check_array(uo, NPY_FLOAT32, 1, 1, "u") : NULL;
    PyArrayObject *it = u ? check_array(io, NPY_INT64, 1, 1, "iterations") : NULL;
    if (!it) return -1;
    if (kind != PTC_OPT_SGD && kind != PTC_OPT_ADAM && kind != PTC_OPT_RMSPROP) {
        PyErr_Format(PyExc_ValueError, "unknown optimizer kind %d", kind);
        return -1;
    }
    if (PyArray_DIM(h, 0) < 8) {
        PyErr_SetString(PyExc_ValueError, "hyper must hold at least 8 values");
        return -1;
    }
    const double *hd = PyArray_DATA(h);
    o->kind = kind;
    o->learning_rate = hd[0];
    o->momentum = hd[1];
    o->nesterov = hd[2] != 0.0;
    o->beta_1 = hd[3];
    o->beta_2 = hd[4];
    o->epsilon = hd[5];
    o->rho = hd[6];
    o->centered = hd[7] != 0.0;
    int need_m = kind == PTC_OPT_ADAM || o->momentum != 0.0;
    int need_v = kind == PTC_OPT_ADAM || kind == PTC_OPT_RMSPROP;
    int need_u = kind == PTC_OPT_RMSPROP && o->centered;
    if ((need_m && PyArray_DIM(m, 0) != P) || (need_v && PyArray_DIM(v, 0) != P) ||
        (need_u && PyArray_DIM(u, 0) != P) || PyArray_DIM(it, 0) != 1) {
        PyErr_Format(PyExc_ValueError, "optimizer state must have %zd floats per slot and one iteration counter",
                     (Py_ssize_t)P);
        return -1;
    }
    o->m = PyArray_DATA(m);
    o->v = PyArray_DATA(v);
    o->u = PyArray_DATA(u);
    o->iterations = PyArray_DATA(it);
    return 0;
}

// set_optimizer(kind, hyper, m, v, u, iterations): the plan keeps references to the state arrays.
static PyObject *Plan_set_optimizer(PlanObject *self, PyObject *args) {
    ptc_optimizer o;
    int kind;
    PyObject *ho, *mo, *vo, *uo, *io;
    if (!plan_usable(self) || !PyArg_ParseTuple(args, "iOOOOO", &kind, &ho, &mo, &vo, &uo, &io)) return NULL;
    if (parse_optimizer(&o, kind, ho, mo, vo, uo, io, (npy_intp)self->plan.n_trainable)) return NULL;
    Py_INCREF(mo); Py_XSETREF(self->m, mo);
    Py_INCREF(vo); Py_XSETREF(self->v, vo);
    Py_INCREF(uo); Py_XSETREF(self->u, uo);
    Py_INCREF(io); Py_XSETREF(self->iterations, io);
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

static PyObject *new_sums(void) {
    npy_intp n = PTC_SUMS_MAX;
    return PyArray_ZEROS(1, &n, NPY_FLOAT64, 0);
}

// train(x, y, perm int64 (n,), batch_size, b0, b1, interruptible, stop_on_nonfinite=False)
//   -> (sums, batches_done, last_batch_loss, stopped_on_nonfinite)
static PyObject *Plan_train(PlanObject *self, PyObject *args) {
    PyObject *xo, *yo, *po, *sums = NULL;
    long long batch_size, b0, b1;
    int interruptible, stop_on_nonfinite = 0;
    double last_loss = 0.0;
    PyArrayObject *x, *y = NULL;
    if (!plan_usable(self) || !PyArg_ParseTuple(args, "OOOLLLp|p", &xo, &yo, &po, &batch_size, &b0, &b1,
                                                &interruptible, &stop_on_nonfinite))
        return NULL;
    if (check_data(self, xo, yo, &x, &y)) return NULL;
    PyArrayObject *perm = check_array(po, NPY_INT64, 1, 0, "perm");
    if (!perm) return NULL;
    npy_intp n = PyArray_DIM(x, 0);
    if (PyArray_DIM(perm, 0) != n) {
        PyErr_SetString(PyExc_ValueError, "perm must have one index per sample");
        return NULL;
    }
    const int64_t *pd = PyArray_DATA(perm);
    for (npy_intp i = 0; i < n; i++)
        if (pd[i] < 0 || pd[i] >= n) {
            PyErr_Format(PyExc_ValueError, "perm[%zd] = %lld is out of range [0, %zd)", (Py_ssize_t)i,
                         (long long)pd[i], (Py_ssize_t)n);
            return NULL;
        }
    if (batch_size <= 0 || batch_size > self->plan.max_batch) {
        PyErr_Format(PyExc_ValueError, "batch_size must be in [1, %lld]. Received: %lld",
                     (long long)self->plan.max_batch, batch_size);
        return NULL;
    }
    if (!self->plan.opt.kind) {
        PyErr_SetString(PyExc_RuntimeError, "Plan has no optimizer: call set_optimizer first");
        return NULL;
    }
    if (!(sums = new_sums())) return NULL;
    double *s = PyArray_DATA((PyArrayObject *)sums);
    int64_t done = 0;
    ptc_status st;
    self->busy = 1;
    watch_sigint(interruptible);
    Py_BEGIN_ALLOW_THREADS
    st = ptc_plan_train(&self->plan, PyArray_DATA(x), PyArray_DATA(y), pd, (int64_t)n, (int64_t)batch_size,
                        (int64_t)b0, (int64_t)b1, &stop_flag, stop_on_nonfinite, s, &done, &last_loss);
    Py_END_ALLOW_THREADS
    unwatch_sigint();
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

// evaluate(x, y, batch_size, interruptible) -> sums
static PyObject *Plan_evaluate(PlanObject *self, PyObject *args) {
    PyObject *xo, *yo, *sums;
    long long batch_size;
    int interruptible;
    PyArrayObject *x, *y = NULL;
    if (!plan_usable(self) || !PyArg_ParseTuple(args, "OOLp", &xo, &yo, &batch_size, &interruptible)) return NULL;
    if (check_data(self, xo, yo, &x, &y)) return NULL;
    if (batch_size <= 0 || batch_size > self->plan.max_batch) {
        PyErr_Format(PyExc_ValueError, "batch_size must be in [1, %lld]. Received: %lld",
                     (long long)self->plan.max_batch, batch_size);
        return NULL;
    }
    if (!(sums = new_sums())) return NULL;
    ptc_status st;
    self->busy = 1;
    watch_sigint(interruptible);
    Py_BEGIN_ALLOW_THREADS
    st = ptc_plan_evaluate(&self->plan, PyArray_DATA(x), PyArray_DATA(y), (int64_t)PyArray_DIM(x, 0),
                           (int64_t)batch_size, &stop_flag, PyArray_DATA((PyArrayObject *)sums));
    Py_END_ALLOW_THREADS
    unwatch_sigint();
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

static PyMethodDef Plan_methods[] = {
    {"set_loss", (PyCFunction)Plan_set_loss, METH_VARARGS, "set_loss(kind, loss_buf, last_dim)"},
    {"set_metrics", (PyCFunction)Plan_set_metrics, METH_VARARGS, "set_metrics(kinds)"},
    {"set_regularizers", (PyCFunction)Plan_set_regularizers, METH_VARARGS, "set_regularizers(slices, coefs)"},
    {"set_optimizer", (PyCFunction)Plan_set_optimizer, METH_VARARGS,
     "set_optimizer(kind, hyper, m, v, u, iterations)"},
    {"set_learning_rate", (PyCFunction)Plan_set_learning_rate, METH_VARARGS, "set_learning_rate(lr)"},
    {"set_schedule", (PyCFunction)Plan_set_schedule, METH_VARARGS, "set_schedule(kind, params, table)"},
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

static ptc_rng *rng_state(PyObject *o) {
    PyArrayObject *a = check_array(o, NPY_UINT64, 1, 1, "rng state");
    if (!a) return NULL;
    if (PyArray_DIM(a, 0) != 4) {
        PyErr_SetString(PyExc_ValueError, "rng state must hold 4 uint64 words");
        return NULL;
    }
    return (ptc_rng *)PyArray_DATA(a);
}

static PyObject *py_rng_seed(PyObject *mod, PyObject *args) {
    PyObject *so;
    unsigned long long seed;
    if (!PyArg_ParseTuple(args, "OK", &so, &seed)) return NULL;
    ptc_rng *r = rng_state(so);
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

// act_forward(kind, x (N, D)) -> y
static PyObject *py_act_forward(PyObject *mod, PyObject *args) {
    int kind;
    PyObject *xo;
    if (!PyArg_ParseTuple(args, "iO", &kind, &xo) || !act_kind_ok(kind)) return NULL;
    PyArrayObject *x = check_array(xo, NPY_FLOAT32, 2, 0, "x");
    if (!x) return NULL;
    PyObject *y = PyArray_EMPTY(2, PyArray_DIMS(x), NPY_FLOAT32, 0);
    if (!y) return NULL;
    ptc_act_forward(kind, PyArray_DATA((PyArrayObject *)y), PyArray_DATA(x), PyArray_DIM(x, 0), PyArray_DIM(x, 1));
    return y;
}

// act_backward(kind, dout, x, y) -> dx
static PyObject *py_act_backward(PyObject *mod, PyObject *args) {
    int kind;
    PyObject *go, *xo, *yo;
    if (!PyArg_ParseTuple(args, "iOOO", &kind, &go, &xo, &yo) || !act_kind_ok(kind)) return NULL;
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
                     PyArray_DIM(x, 0), PyArray_DIM(x, 1));
    return dx;
}

// loss(kind, pred (N, D), y (N, y_size)) -> (loss, dpred)
static PyObject *py_loss(PyObject *mod, PyObject *args) {
    int kind;
    PyObject *po, *yo;
    if (!PyArg_ParseTuple(args, "iOO", &kind, &po, &yo)) return NULL;
    PyArrayObject *p = check_array(po, NPY_FLOAT32, 2, 0, "pred");
    PyArrayObject *y = p ? check_array(yo, NPY_FLOAT32, 2, 0, "y") : NULL;
    if (!y) return NULL;
    npy_intp N = PyArray_DIM(p, 0), D = PyArray_DIM(p, 1);
    if (PyArray_DIM(y, 0) != N || PyArray_DIM(y, 1) != ptc_loss_y_size(kind, D)) {
        PyErr_SetString(PyExc_ValueError, "y has the wrong shape for this loss");
        return NULL;
    }
    PyObject *dp = PyArray_ZEROS(2, PyArray_DIMS(p), NPY_FLOAT32, 0);
    if (!dp) return NULL;
    double loss = 0.0;
    ptc_status st = ptc_loss_compute(kind, &loss, PyArray_DATA((PyArrayObject *)dp), PyArray_DATA(p), PyArray_DATA(y), N, D);
    if (raise_status(st, "loss")) {
        Py_DECREF(dp);
        return NULL;
    }
    return Py_BuildValue("dN", loss, dp);
}

// metric_sum(kind, pred (N, D), y) -> float
static PyObject *py_metric_sum(PyObject *mod, PyObject *args) {
    int kind;
    PyObject *po, *yo;
    if (!PyArg_ParseTuple(args, "iOO", &kind, &po, &yo)) return NULL;
    PyArrayObject *p = check_array(po, NPY_FLOAT32, 2, 0, "pred");
    PyArrayObject *y = p ? check_array(yo, NPY_FLOAT32, 2, 0, "y") : NULL;
    if (!y) return NULL;
    npy_intp N = PyArray_DIM(p, 0), D = PyArray_DIM(p, 1);
    npy_intp ys = kind == PTC_METRIC_SPARSE_CATEGORICAL_ACCURACY ? 1 : D;
    if (PyArray_DIM(y, 0) != N || PyArray_DIM(y, 1) != ys || kind < PTC_METRIC_BINARY_ACCURACY || kind > PTC_METRIC_MAE) {
        PyErr_SetString(PyExc_ValueError, "bad metric kind or y shape");
        return NULL;
    }
    return PyFloat_FromDouble(ptc_metric_sum(kind, PyArray_DATA(p), PyArray_DATA(y), N, D));
}

// optimizer_step(kind, hyper, params, grads, m, v, u, iterations): one step on flat arrays.
static PyObject *py_optimizer_step(PyObject *mod, PyObject *args) {
    ptc_optimizer o;
    int kind;
    PyObject *ho, *po, *go, *mo, *vo, *uo, *io;
    if (!PyArg_ParseTuple(args, "iOOOOOOO", &kind, &ho, &po, &go, &mo, &vo, &uo, &io)) return NULL;
    PyArrayObject *p = check_array(po, NPY_FLOAT32, 1, 1, "params");
    PyArrayObject *g = p ? check_array(go, NPY_FLOAT32, 1, 0, "grads") : NULL;
    if (!g) return NULL;
    npy_intp P = PyArray_DIM(p, 0);
    if (PyArray_DIM(g, 0) != P) {
        PyErr_SetString(PyExc_ValueError, "params and grads must have the same length");
        return NULL;
    }
    if (parse_optimizer(&o, kind, ho, mo, vo, uo, io, P)) return NULL;
    ptc_optimizer_step(&o, PyArray_DATA(p), PyArray_DATA(g), P);
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
    {"dense_forward", py_dense_forward, METH_VARARGS, "dense_forward(inp, weight, bias, ref)"},
    {"dense_backward", py_dense_backward, METH_VARARGS, "dense_backward(dout, inp, weight, ref)"},
    {"act_forward", py_act_forward, METH_VARARGS, "act_forward(kind, x)"},
    {"act_backward", py_act_backward, METH_VARARGS, "act_backward(kind, dout, x, y)"},
    {"loss", py_loss, METH_VARARGS, "loss(kind, pred, y) -> (loss, dpred)"},
    {"metric_sum", py_metric_sum, METH_VARARGS, "metric_sum(kind, pred, y)"},
    {"optimizer_step", py_optimizer_step, METH_VARARGS, "optimizer_step(kind, hyper, params, grads, m, v, u, iterations)"},
    {"schedule_value", py_schedule_value, METH_VARARGS, "schedule_value(kind, params, table, steps)"},
    {"blas_info", py_blas_info, METH_NOARGS, "blas_info() -> (config, num_threads)"},
    {"set_num_threads", py_set_num_threads, METH_VARARGS, "set_num_threads(n)"},
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
        PyModule_AddIntConstant(m, "MAX_METRICS", PTC_MAX_METRICS) < 0 ||
        PyModule_AddIntConstant(m, "SUMS_MAX", PTC_SUMS_MAX) < 0)
        goto fail;
    return m;
fail:
    Py_DECREF(&PlanType);
    Py_DECREF(m);
    return NULL;
}
