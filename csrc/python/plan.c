// The Plan type: a compiled model the engine runs, with the arrays it borrows.
#include "plan.h"

// ---------------------------------------------------------------------------
// Plan object

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
    Py_XDECREF(self->ema);
    Py_XDECREF(self->acc);
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
    if (!PyArg_ParseTuple(args, "OOOiiOOLL", &ops_o, &fargs_o, &sizes_o, &input_buf, &output_buf, &params_o, &grads_o,
                          &max_batch, &n_trainable))
        return -1;
    PyArrayObject *opsa = ptc_py_check_array(ops_o, NPY_INT64, 2, 0, "ops");
    PyArrayObject *fa = opsa ? ptc_py_check_array(fargs_o, NPY_FLOAT64, 2, 0, "fargs") : NULL;
    PyArrayObject *sa = fa ? ptc_py_check_array(sizes_o, NPY_INT64, 1, 0, "buf_size") : NULL;
    PyArrayObject *pa = sa ? ptc_py_check_array(params_o, NPY_FLOAT32, 1, 1, "params") : NULL;
    PyArrayObject *ga = pa ? ptc_py_check_array(grads_o, NPY_FLOAT32, 1, 1, "grads") : NULL;
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
    if (ptc_py_raise_plan_status(st, &self->plan, "Plan")) goto cleanup;
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
    st = ptc_plan_check_params(&self->plan);
    if (st != PTC_OK) {
        PyErr_Format(PyExc_ValueError, "Plan: op %d is malformed or its parameters lie outside the parameter array",
                     self->plan.bad_op);
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

// set_loss(kind, loss_buf, last_dim, head=0, weight=1.0, pred_buf=-1)
static PyObject *Plan_set_loss(PlanObject *self, PyObject *args) {
    int kind, loss_buf, head = 0, pred_buf = -1;
    long long last_dim;
    double weight = 1.0;
    if (!plan_usable(self) ||
        !PyArg_ParseTuple(args, "iiL|idi", &kind, &loss_buf, &last_dim, &head, &weight, &pred_buf))
        return NULL;
    if (ptc_py_raise_status(
            ptc_plan_set_head_loss(&self->plan, head, kind, loss_buf, pred_buf, (int64_t)last_dim, weight), "set_loss"))
        return NULL;
    Py_RETURN_NONE;
}

// set_traced_loss(loss_buf, y_buf, last_dim, head=0, weight=1.0, pred_buf=-1)
static PyObject *Plan_set_traced_loss(PlanObject *self, PyObject *args) {
    int loss_buf, y_buf, head = 0, pred_buf = -1;
    long long last_dim;
    double weight = 1.0;
    if (!plan_usable(self) ||
        !PyArg_ParseTuple(args, "iiL|idi", &loss_buf, &y_buf, &last_dim, &head, &weight, &pred_buf))
        return NULL;
    if (ptc_py_raise_status(
            ptc_plan_set_head_traced_loss(&self->plan, head, loss_buf, y_buf, pred_buf, (int64_t)last_dim, weight),
            "set_traced_loss"))
        return NULL;
    Py_RETURN_NONE;
}

// set_targets_buf(y_buf, head=0)

// set_loss_params(params float64 (len(_C.LOSS_PARAMS),), head=0): a built-in loss's parameters.
static PyObject *Plan_set_loss_params(PlanObject *self, PyObject *args) {
    PyObject *po = NULL;
    int head = 0;
    if (!plan_usable(self) || !PyArg_ParseTuple(args, "O|i", &po, &head)) return NULL;
    PyArrayObject *a = ptc_py_check_array(po, NPY_FLOAT64, 1, 0, "params");
    if (!a) return NULL;
    if (PyArray_DIM(a, 0) != PTC_LOSS_N_PARAMS) {
        PyErr_Format(PyExc_ValueError, "loss params must hold %d values (_C.LOSS_PARAMS). Received: %zd",
                     PTC_LOSS_N_PARAMS, (Py_ssize_t)PyArray_DIM(a, 0));
        return NULL;
    }
    if (ptc_py_raise_status(ptc_plan_set_loss_params(&self->plan, head, PyArray_DATA(a)), "set_loss_params"))
        return NULL;
    Py_RETURN_NONE;
}

static PyObject *Plan_set_targets_buf(PlanObject *self, PyObject *args) {
    int y_buf, head = 0;
    if (!plan_usable(self) || !PyArg_ParseTuple(args, "i|i", &y_buf, &head)) return NULL;
    if (ptc_py_raise_status(ptc_plan_set_head_targets_buf(&self->plan, head, y_buf), "set_targets_buf")) return NULL;
    Py_RETURN_NONE;
}

// set_metric_targets(y_buf, head=0): the targets the head's metrics read (ptc.h's
// ptc_plan_set_head_metric_targets), after its set_loss.
static PyObject *Plan_set_metric_targets(PlanObject *self, PyObject *args) {
    int y_buf, head = 0;
    if (!plan_usable(self) || !PyArg_ParseTuple(args, "i|i", &y_buf, &head)) return NULL;
    if (ptc_py_raise_status(ptc_plan_set_head_metric_targets(&self->plan, head, y_buf), "set_metric_targets"))
        return NULL;
    Py_RETURN_NONE;
}

// set_mask(mask_buf, head=0): Keras's mask of the head's output (-1: none), after its set_loss.
static PyObject *Plan_set_mask(PlanObject *self, PyObject *args) {
    int mask_buf, head = 0;
    if (!plan_usable(self) || !PyArg_ParseTuple(args, "i|i", &mask_buf, &head)) return NULL;
    if (ptc_py_raise_status(ptc_plan_set_head_mask(&self->plan, head, mask_buf), "set_mask")) return NULL;
    Py_RETURN_NONE;
}

// Parses a sequence of buffer ids (int64 (n,), 1 <= n <= PTC_MAX_IO) into bufs.
static int buf_list(PyObject *o, const char *what, int *bufs, int *n) {
    PyArrayObject *a = ptc_py_check_array(o, NPY_INT64, 1, 0, what);
    if (!a) return -1;
    const npy_intp len = PyArray_DIM(a, 0);
    if (len < 1 || len > PTC_MAX_IO) {
        PyErr_Format(PyExc_ValueError, "%s: expected 1 to %d buffers. Received: %zd", what, PTC_MAX_IO,
                     (Py_ssize_t)len);
        return -1;
    }
    const int64_t *d = PyArray_DATA(a);
    for (npy_intp i = 0; i < len; i++) bufs[i] = d[i] < 0 || d[i] > INT_MAX ? -1 : (int)d[i];
    *n = (int)len;
    return 0;
}

// set_inputs(bufs int64 (n,)): each row of x holds the inputs' rows side by side.
static PyObject *Plan_set_inputs(PlanObject *self, PyObject *args) {
    PyObject *o = NULL;
    int bufs[PTC_MAX_IO], n;
    if (!plan_usable(self) || !PyArg_ParseTuple(args, "O", &o) || buf_list(o, "inputs", bufs, &n)) return NULL;
    if (ptc_py_raise_status(ptc_plan_set_inputs(&self->plan, bufs, n), "set_inputs")) return NULL;
    Py_RETURN_NONE;
}

// set_outputs(bufs int64 (n,)): predict writes the outputs' rows side by side; drops the losses and metrics.
static PyObject *Plan_set_outputs(PlanObject *self, PyObject *args) {
    PyObject *o = NULL;
    int bufs[PTC_MAX_IO], n;
    if (!plan_usable(self) || !PyArg_ParseTuple(args, "O", &o) || buf_list(o, "outputs", bufs, &n)) return NULL;
    if (ptc_py_raise_status(ptc_plan_set_outputs(&self->plan, bufs, n), "set_outputs")) return NULL;
    Py_RETURN_NONE;
}

// Parses (int64 (n, 2), float64 (n,) or (n, 2)) from args, the two tables the
// metric and regularizer setters take; 0, or -1 with a ValueError naming them.
static int table_pair(PyObject *args, const char *name_a, PyArrayObject **a, const char *name_b, int ndim_b,
                      PyArrayObject **b, npy_intp *n) {
    PyObject *ao = NULL, *bo = NULL;
    if (!PyArg_ParseTuple(args, "OO", &ao, &bo)) return -1;
    *a = ptc_py_check_array(ao, NPY_INT64, 2, 0, name_a);
    *b = *a ? ptc_py_check_array(bo, NPY_FLOAT64, ndim_b, 0, name_b) : NULL;
    if (!*b) return -1;
    *n = PyArray_DIM(*a, 0);
    if (PyArray_DIM(*a, 1) != 2 || PyArray_DIM(*b, 0) != *n || (ndim_b == 2 && PyArray_DIM(*b, 1) != 2)) {
        PyErr_Format(PyExc_ValueError, "%s must be (n, 2) and %s (n%s). Received: (%zd, %zd) and %zd rows", name_a,
                     name_b, ndim_b == 2 ? ", 2)" : ",)", (Py_ssize_t)*n, (Py_ssize_t)PyArray_DIM(*a, 1),
                     (Py_ssize_t)PyArray_DIM(*b, 0));
        return -1;
    }
    return 0;
}

// set_metrics(spec int64 (n, 2) [kind, k], thresholds float64 (n,), heads_unweighted int64 (n, 2) = zeros,
// table float32 (m,)):
// per metric, the head it scores and whether sample weights are left out (Keras's `metrics=`).
static PyObject *Plan_set_metrics(PlanObject *self, PyObject *args) {
    PyArrayObject *s = NULL, *t = NULL, *hu = NULL;
    PyObject *huo = NULL;
    npy_intp n;
    if (!plan_usable(self)) return NULL;
    if (PyTuple_Check(args) && PyTuple_GET_SIZE(args) == 4) {  // table float32 (m,): THRESHOLD_TABLE's thresholds
        PyArrayObject *tab = ptc_py_check_array(PyTuple_GET_ITEM(args, 3), NPY_FLOAT32, 1, 0, "table");
        if (!tab) return NULL;
        if (ptc_plan_set_metric_table(&self->plan, PyArray_DATA(tab), PyArray_DIM(tab, 0)) != PTC_OK) {
            PyErr_SetString(PyExc_ValueError, "the metric table must be finite or infinite floats, not NaN");
            return NULL;
        }
        PyObject *rest = PyTuple_GetSlice(args, 0, 3), *r = rest ? Plan_set_metrics(self, rest) : NULL;
        Py_XDECREF(rest);
        return r;
    }
    if (PyTuple_Check(args) && PyTuple_GET_SIZE(args) == 3) {
        huo = PyTuple_GET_ITEM(args, 2);
        args = PyTuple_GetSlice(args, 0, 2);
        if (!args) return NULL;
        const int bad = table_pair(args, "metrics", &s, "thresholds", 1, &t, &n);
        Py_DECREF(args);
        if (bad || !(hu = ptc_py_check_array(huo, NPY_INT64, 2, 0, "heads"))) return NULL;
        if (PyArray_DIM(hu, 0) != n || PyArray_DIM(hu, 1) != 2) {
            PyErr_Format(PyExc_ValueError, "heads must be (%zd, 2)", (Py_ssize_t)n);
            return NULL;
        }
    } else if (table_pair(args, "metrics", &s, "thresholds", 1, &t, &n)) {
        return NULL;
    }
    if (n > PTC_MAX_METRICS) {
        PyErr_Format(PyExc_ValueError, "at most %d metrics. Received: %zd", PTC_MAX_METRICS, (Py_ssize_t)n);
        return NULL;
    }
    ptc_metric ms[PTC_MAX_METRICS];
    const int64_t *sd = PyArray_DATA(s);
    const double *td = PyArray_DATA(t);
    const int64_t *hd = hu ? PyArray_DATA(hu) : NULL;
    for (npy_intp i = 0; i < n; i++)
        ms[i] = (ptc_metric){(int)sd[2 * i],
                             sd[2 * i + 1],
                             td[i],
                             0,
                             hd ? (int)hd[2 * i] : 0,
                             hd ? (hd[2 * i + 1] & 1) != 0 : 0,
                             hd ? (hd[2 * i + 1] & 2) != 0 : 0};
    if (ptc_plan_set_metrics(&self->plan, ms, (int)n) != PTC_OK) {
        PyErr_SetString(PyExc_ValueError, "a metric does not fit the model's output or targets");
        return NULL;
    }
    Py_RETURN_NONE;
}

// set_regularizers(slices int64 (n, 2) [offset, size], coefs float64 (n, 2) [l1, l2])
static PyObject *Plan_set_regularizers(PlanObject *self, PyObject *args) {
    PyArrayObject *s = NULL, *c = NULL;
    npy_intp n;
    if (!plan_usable(self) || table_pair(args, "slices", &s, "coefs", 2, &c, &n)) return NULL;
    ptc_regularizer *regs = PyMem_Calloc((size_t)(n > 0 ? n : 1), sizeof(ptc_regularizer));
    if (!regs) return PyErr_NoMemory();
    const int64_t *sd = PyArray_DATA(s);
    const double *cd = PyArray_DATA(c);
    for (npy_intp i = 0; i < n; i++) regs[i] = (ptc_regularizer){sd[2 * i], sd[2 * i + 1], cd[2 * i], cd[2 * i + 1]};
    ptc_status st = ptc_plan_set_regularizers(&self->plan, regs, (int)n);
    PyMem_Free(regs);
    if (ptc_py_raise_status(st, "set_regularizers")) return NULL;
    if (ptc_plan_check_params(&self->plan) != PTC_OK) {
        ptc_plan_set_regularizers(&self->plan, NULL, 0);
        PyErr_SetString(PyExc_ValueError, "a regularized slice lies outside the parameter array");
        return NULL;
    }
    Py_RETURN_NONE;
}

// set_constraints(rows int64 (n, CONSTRAINT_ROW width), values float64 (n, 3)): applied after each
// optimizer step to variables in the trainable prefix (copied).
static PyObject *Plan_set_constraints(PlanObject *self, PyObject *args) {
    PyObject *ro = NULL, *co = NULL;
    npy_intp n;
    if (!plan_usable(self) || !PyArg_ParseTuple(args, "OO", &ro, &co)) return NULL;
    ptc_constraint *cs = ptc_py_parse_constraints(ro, co, &n);
    if (!cs) return NULL;
    ptc_status st = ptc_plan_set_constraints(&self->plan, cs, (int)n);
    PyMem_Free(cs);
    if (st == PTC_ERR_VALUE) {
        PyErr_SetString(PyExc_ValueError, "a constrained variable lies outside the trainable parameters");
        return NULL;
    }
    if (ptc_py_raise_status(st, "set_constraints")) return NULL;
    Py_RETURN_NONE;
}

// set_optimizer(kind, hyper, m, v, u, iterations, slices=None, ema=None, acc=None): the plan
// keeps references to the state arrays and the slices.
static PyObject *Plan_set_optimizer(PlanObject *self, PyObject *args) {
    ptc_optimizer o;
    int kind;
    PyObject *ho = NULL, *mo = NULL, *vo = NULL, *uo = NULL, *io = NULL, *so = Py_None, *eo = Py_None, *ao = Py_None;
    if (!plan_usable(self) || !PyArg_ParseTuple(args, "iOOOOO|OOO", &kind, &ho, &mo, &vo, &uo, &io, &so, &eo, &ao))
        return NULL;
    if (ptc_py_parse_optimizer(&o, kind, ho, mo, vo, uo, eo, ao, io, so, (npy_intp)self->plan.n_trainable)) return NULL;
    Py_INCREF(eo);
    Py_XSETREF(self->ema, eo);
    Py_INCREF(ao);
    Py_XSETREF(self->acc, ao);
    Py_INCREF(mo);
    Py_XSETREF(self->m, mo);
    Py_INCREF(vo);
    Py_XSETREF(self->v, vo);
    Py_INCREF(uo);
    Py_XSETREF(self->u, uo);
    Py_INCREF(io);
    Py_XSETREF(self->iterations, io);
    Py_INCREF(so);
    Py_XSETREF(self->slices, so);
    self->plan.opt = o;
    Py_RETURN_NONE;
}

// set_schedule(kind, params, table): the learning rate of every later step.
static PyObject *Plan_set_schedule(PlanObject *self, PyObject *args) {
    int kind;
    PyObject *po = NULL, *to = NULL;
    ptc_schedule s;
    if (!plan_usable(self) || !PyArg_ParseTuple(args, "iOO", &kind, &po, &to)) return NULL;
    if (ptc_py_parse_schedule(&s, kind, po, to)) return NULL;
    Py_INCREF(to);
    Py_XSETREF(self->sched_table, to);
    self->plan.opt.schedule = s;
    Py_RETURN_NONE;
}

// set_rngs(states uint64 (n, 4)): the RNGs dropout ops draw masks from; kept by reference.
static PyObject *Plan_set_rngs(PlanObject *self, PyObject *args) {
    PyObject *so = NULL;
    if (!plan_usable(self) || !PyArg_ParseTuple(args, "O", &so)) return NULL;
    PyArrayObject *s = ptc_py_check_array(so, NPY_UINT64, 2, 1, "rng states");
    if (!s) return NULL;
    if (PyArray_DIM(s, 1) != 4) {
        PyErr_SetString(PyExc_ValueError, "rng states must be (n, 4) uint64");
        return NULL;
    }
    for (npy_intp i = 0; i < PyArray_DIM(s, 0); i++)
        if (ptc_py_rng_is_zero((const uint64_t *)PyArray_DATA(s) + 4 * i)) {
            PyErr_Format(PyExc_ValueError, "rng state %zd is all zeros: seed it with rng_seed first", (Py_ssize_t)i);
            return NULL;
        }
    if (ptc_py_raise_status(ptc_plan_set_rngs(&self->plan, (ptc_rng *)PyArray_DATA(s), (int64_t)PyArray_DIM(s, 0)),
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
    if (ptc_py_raise_status(ptc_plan_reserve(&self->plan, (int64_t)n), "reserve")) return NULL;
    Py_RETURN_NONE;
}

// train(x, y, perm int64 (n,), batch_size, b0, b1, interruptible, stop_on_nonfinite=False,
//       sample_weight=None, sums=None) -> (sums, batches_done, last_batch_loss, stopped_on_nonfinite)
// With sums (float64 (n_sums,)), the pass adds into it in place: the same
// additions in the same order however an epoch is split into calls.
static PyObject *Plan_train(PlanObject *self, PyObject *args) {
    PyObject *xo = NULL, *yo = NULL, *po = NULL, *sums = NULL, *wo = NULL, *so = NULL, *result = NULL;
    long long batch_size, b0, b1;
    int interruptible, stop_on_nonfinite = 0;
    double last_loss = 0.0;
    const float *w = NULL;
    PyArrayObject *x = NULL, *y = NULL;
    if (!plan_usable(self) || !PyArg_ParseTuple(args, "OOOLLLp|pOO", &xo, &yo, &po, &batch_size, &b0, &b1,
                                                &interruptible, &stop_on_nonfinite, &wo, &so))
        return NULL;
    if (ptc_py_plan_check_data(self, xo, yo, &x, &y)) return NULL;
    if (ptc_py_plan_weights(self, wo, PyArray_DIM(x, 0), &w)) return NULL;
    PyArrayObject *perm = ptc_py_check_array(po, NPY_INT64, 1, 0, "perm");
    if (!perm) return NULL;
    npy_intp n = PyArray_DIM(x, 0);
    if (PyArray_DIM(perm, 0) != n) {
        PyErr_SetString(PyExc_ValueError, "perm must have one index per sample");
        return NULL;
    }
    if (ptc_py_plan_check_batch_size(self, batch_size)) return NULL;
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
            PyErr_Format(PyExc_ValueError, "perm[%zd] = %lld is out of range [0, %zd)", (Py_ssize_t)i, (long long)pd[i],
                         (Py_ssize_t)n);
            return NULL;
        }
    if (!self->plan.opt.kind) {
        PyErr_SetString(PyExc_RuntimeError, "Plan has no optimizer: call set_optimizer first");
        return NULL;
    }
    if (!(sums = ptc_py_plan_caller_sums(self, so))) return NULL;
    double *s = PyArray_DATA((PyArrayObject *)sums);
    int64_t done = 0;
    ptc_status st;
    ptc_py_stop stop;
    if (ptc_py_stop_begin(&stop, interruptible)) goto cleanup;
    self->busy = 1;
    self->plan.sample_weight = w;
    Py_BEGIN_ALLOW_THREADS
    st = ptc_plan_train(&self->plan, PyArray_DATA(x), PyArray_DATA(y), pd, (int64_t)n, (int64_t)batch_size, (int64_t)b0,
                        (int64_t)b1, &stop.token, stop_on_nonfinite, s, &done, &last_loss);
    Py_END_ALLOW_THREADS
    ptc_py_stop_end(&stop);
    self->plan.sample_weight = NULL;
    self->busy = 0;
    int stopped = st == PTC_STOPPED_NONFINITE;
    if (stopped) st = PTC_OK;
    if (ptc_py_raise_plan_status(st, &self->plan, "train")) goto cleanup;
    result = Py_BuildValue("OLdO", sums, (long long)done, last_loss, stopped ? Py_True : Py_False);
cleanup:
    Py_XDECREF(sums);
    return result;
}

// evaluate(x, y, batch_size, interruptible, sample_weight=None, sums=None) -> sums
// With sums, the pass adds into it in place, as train's: batches fed in chunks
// give the same sums as one call over their concatenation.
static PyObject *Plan_evaluate(PlanObject *self, PyObject *args) {
    PyObject *xo = NULL, *yo = NULL, *sums = NULL, *wo = NULL, *so = NULL, *result = NULL;
    long long batch_size;
    int interruptible;
    const float *w = NULL;
    PyArrayObject *x = NULL, *y = NULL;
    if (!plan_usable(self) || !PyArg_ParseTuple(args, "OOLp|OO", &xo, &yo, &batch_size, &interruptible, &wo, &so))
        return NULL;
    if (ptc_py_plan_check_data(self, xo, yo, &x, &y)) return NULL;
    if (ptc_py_plan_weights(self, wo, PyArray_DIM(x, 0), &w)) return NULL;
    if (ptc_py_plan_check_batch_size(self, batch_size)) return NULL;
    if (!(sums = ptc_py_plan_caller_sums(self, so))) return NULL;
    ptc_status st;
    ptc_py_stop stop;
    if (ptc_py_stop_begin(&stop, interruptible)) goto cleanup;
    self->busy = 1;
    self->plan.sample_weight = w;
    Py_BEGIN_ALLOW_THREADS
    st = ptc_plan_evaluate(&self->plan, PyArray_DATA(x), PyArray_DATA(y), (int64_t)PyArray_DIM(x, 0),
                           (int64_t)batch_size, &stop.token, PyArray_DATA((PyArrayObject *)sums));
    Py_END_ALLOW_THREADS
    ptc_py_stop_end(&stop);
    self->plan.sample_weight = NULL;
    self->busy = 0;
    if (ptc_py_raise_plan_status(st, &self->plan, "evaluate")) goto cleanup;
    result = sums;
    sums = NULL;
cleanup:
    Py_XDECREF(sums);
    return result;
}

// predict(x, batch_size, interruptible, check_finite=False) -> float32 (n, out size); check_finite:
// refuse NaN and inf in x here (the message of pytrainc's _check_finite) instead of in NumPy: the
// engine checks each batch as it comes, and the count is taken only when it finds one.
static PyObject *Plan_predict(PlanObject *self, PyObject *args) {
    PyObject *xo = NULL, *out = NULL, *result = NULL;
    long long batch_size;
    int interruptible, check_finite = 0, training = 0;
    PyArrayObject *x = NULL;
    if (!plan_usable(self) ||
        !PyArg_ParseTuple(args, "OLp|pp", &xo, &batch_size, &interruptible, &check_finite, &training))
        return NULL;
    if (ptc_py_plan_check_data(self, xo, NULL, &x, NULL)) return NULL;
    if (ptc_py_plan_check_batch_size(self, batch_size)) return NULL;
    npy_intp dims[2] = {PyArray_DIM(x, 0), (npy_intp)self->plan.out_size};
    if (!(out = PyArray_EMPTY(2, dims, NPY_FLOAT32, 0))) return NULL;
    ptc_status st;
    ptc_py_stop stop;
    if (ptc_py_stop_begin(&stop, interruptible)) goto cleanup;
    self->busy = 1;
    Py_BEGIN_ALLOW_THREADS
    st = ptc_plan_predict(&self->plan, PyArray_DATA(x), (int64_t)dims[0], (int64_t)batch_size, training, check_finite,
                          &stop.token, PyArray_DATA((PyArrayObject *)out));
    Py_END_ALLOW_THREADS
    ptc_py_stop_end(&stop);
    self->busy = 0;
    if (st == PTC_ERR_NONFINITE) {
        PyErr_Format(PyExc_ValueError, "x contains %lld NaN or infinite value(s); expected finite numbers",
                     (long long)ptc_count_nonfinite(PyArray_DATA(x), (int64_t)PyArray_SIZE(x)));
        goto cleanup;
    }
    if (ptc_py_raise_plan_status(st, &self->plan, "predict")) goto cleanup;
    result = out;
    out = NULL;
cleanup:
    Py_XDECREF(out);
    return result;
}

static PyObject *Plan_get_max_batch(PlanObject *self, void *closure) {
    return PyLong_FromLongLong((long long)self->plan.max_batch);
}

static PyObject *Plan_get_n_sums(PlanObject *self, void *closure) {
    return PyLong_FromLongLong((long long)self->plan.n_sums);
}

static PyMethodDef Plan_methods[] = {
    {"set_loss", (PyCFunction)Plan_set_loss, METH_VARARGS,
     "set_loss(kind, loss_buf, last_dim, head=0, weight=1.0, pred_buf=-1)"},
    {"set_targets_buf", (PyCFunction)Plan_set_targets_buf, METH_VARARGS, "set_targets_buf(y_buf, head=0)"},
    {"set_metric_targets", (PyCFunction)Plan_set_metric_targets, METH_VARARGS, "set_metric_targets(y_buf, head=0)"},
    {"set_traced_loss", (PyCFunction)Plan_set_traced_loss, METH_VARARGS,
     "set_traced_loss(loss_buf, y_buf, last_dim, head=0, weight=1.0, pred_buf=-1)"},
    {"set_metrics", (PyCFunction)Plan_set_metrics, METH_VARARGS,
     "set_metrics(spec (n, 2), thresholds (n,), heads_flags (n, 2)=zeros: [head, unweighted | masked << 1], "
     "table float32 (m,)=unchanged: the THRESHOLD_TABLE metrics' thresholds)"},
    {"set_mask", (PyCFunction)Plan_set_mask, METH_VARARGS, "set_mask(mask_buf, head=0)"},
    {"set_inputs", (PyCFunction)Plan_set_inputs, METH_VARARGS, "set_inputs(bufs int64 (n,))"},
    {"set_outputs", (PyCFunction)Plan_set_outputs, METH_VARARGS, "set_outputs(bufs int64 (n,))"},
    {"set_regularizers", (PyCFunction)Plan_set_regularizers, METH_VARARGS, "set_regularizers(slices, coefs)"},
    {"set_constraints", (PyCFunction)Plan_set_constraints, METH_VARARGS, "set_constraints(rows, values)"},
    {"set_optimizer", (PyCFunction)Plan_set_optimizer, METH_VARARGS,
     "set_optimizer(kind, hyper, m, v, u, iterations, slices=None, ema=None, acc=None)"},
    {"set_learning_rate", (PyCFunction)Plan_set_learning_rate, METH_VARARGS, "set_learning_rate(lr)"},
    {"set_schedule", (PyCFunction)Plan_set_schedule, METH_VARARGS, "set_schedule(kind, params, table)"},
    {"set_rngs", (PyCFunction)Plan_set_rngs, METH_VARARGS, "set_rngs(states uint64 (n, 4))"},
    {"reserve", (PyCFunction)Plan_reserve, METH_VARARGS, "reserve(max_batch)"},
    {"train", (PyCFunction)Plan_train, METH_VARARGS,
     "train(x, y, perm, batch_size, b0, b1, interruptible, stop_on_nonfinite=False) -> "
     "(sums, batches_done, last_batch_loss, stopped_on_nonfinite)"},
    {"evaluate", (PyCFunction)Plan_evaluate, METH_VARARGS, "evaluate(x, y, batch_size, interruptible) -> sums"},
    {"predict", (PyCFunction)Plan_predict, METH_VARARGS,
     "predict(x, batch_size, interruptible, check_finite=False, training=False) -> array"},
    {"set_loss_params", (PyCFunction)Plan_set_loss_params, METH_VARARGS, "set_loss_params(params float64, head=0)"},
    {NULL, NULL, 0, NULL},
};

static PyGetSetDef Plan_getset[] = {
    {"max_batch", (getter)Plan_get_max_batch, NULL, "largest batch the workspaces hold", NULL},
    {"n_sums", (getter)Plan_get_n_sums, NULL, "length of the sums a pass returns", NULL},
    {NULL, NULL, NULL, NULL, NULL},
};

// clang-format off: PyVarObject_HEAD_INIT ends in a comma clang-format cannot see.
PyTypeObject ptc_py_PlanType = {
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
// clang-format on
