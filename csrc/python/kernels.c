// Single kernels (dense, activations, losses, metrics, optimizers, schedules),
// for tests against references and finite differences.
#include "common.h"

#include <string.h>
#include "../blas.h"

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

// dense_forward(inp (N, IN), weight (IN, OUT), bias (OUT,) or None, ref) -> out (N, OUT);
// ref: False the plan's kernel, True the naive one, 2 through sgemm at any rows (ptc_dense_forward_sgemm).
static PyObject *py_dense_forward(PyObject *mod, PyObject *args) {
    PyObject *io = NULL, *wo = NULL, *bo = NULL;
    int ref;
    if (!PyArg_ParseTuple(args, "OOOi", &io, &wo, &bo, &ref)) return NULL;
    PyArrayObject *in = ptc_py_check_array(io, NPY_FLOAT32, 2, 0, "inp");
    PyArrayObject *w = in ? ptc_py_check_array(wo, NPY_FLOAT32, 2, 0, "weight") : NULL;
    PyArrayObject *b = NULL;
    if (!w) return NULL;
    npy_intp N = PyArray_DIM(in, 0), IN = PyArray_DIM(in, 1), OUT = PyArray_DIM(w, 1);
    if (dense_dims_too_large(N, IN, OUT)) return NULL;
    if (PyArray_DIM(w, 0) != IN) {
        PyErr_Format(PyExc_ValueError,
                     "weight must be (IN, OUT) with IN = %zd, inp's columns. Received: weight (%zd, %zd)",
                     (Py_ssize_t)IN, (Py_ssize_t)PyArray_DIM(w, 0), (Py_ssize_t)OUT);
        return NULL;
    }
    if (bo != Py_None) {
        if (!(b = ptc_py_check_array(bo, NPY_FLOAT32, 1, 0, "bias"))) return NULL;
        if (PyArray_DIM(b, 0) != OUT) {
            PyErr_Format(PyExc_ValueError, "bias must be (OUT,) = (%zd,). Received: (%zd,)", (Py_ssize_t)OUT,
                         (Py_ssize_t)PyArray_DIM(b, 0));
            return NULL;
        }
    }
    npy_intp dims[2] = {N, OUT};
    PyObject *out = PyArray_ZEROS(2, dims, NPY_FLOAT32, 0);
    if (!out) return NULL;
    (ref == 2 ? ptc_dense_forward_sgemm
     : ref    ? ptc_dense_forward_ref
              : ptc_dense_forward)(PyArray_DATA((PyArrayObject *)out), PyArray_DATA(in), PyArray_DATA(w),
                                b ? PyArray_DATA(b) : NULL, N, IN, OUT);
    return out;
}

// dense_rows_blocking() -> (GEMM_Q, GEMM_UNROLL_M) the few-rows dense kernel reproduces; (0, 0): it is off.
static PyObject *py_dense_rows_blocking(PyObject *mod, PyObject *args) {
    int64_t q, u;
    ptc_dense_rows_blocking(&q, &u);
    return Py_BuildValue("LL", (long long)q, (long long)u);
}

// dense_backward(dout (N, OUT), inp (N, IN), weight (IN, OUT), ref) -> (dinp, dweight, dbias)
static PyObject *py_dense_backward(PyObject *mod, PyObject *args) {
    PyObject *go = NULL, *io = NULL, *wo = NULL;
    int ref;
    if (!PyArg_ParseTuple(args, "OOOp", &go, &io, &wo, &ref)) return NULL;
    PyArrayObject *g = ptc_py_check_array(go, NPY_FLOAT32, 2, 0, "dout");
    PyArrayObject *in = g ? ptc_py_check_array(io, NPY_FLOAT32, 2, 0, "inp") : NULL;
    PyArrayObject *w = in ? ptc_py_check_array(wo, NPY_FLOAT32, 2, 0, "weight") : NULL;
    if (!w) return NULL;
    npy_intp N = PyArray_DIM(in, 0), IN = PyArray_DIM(in, 1), OUT = PyArray_DIM(w, 1);
    if (dense_dims_too_large(N, IN, OUT)) return NULL;
    if (PyArray_DIM(w, 0) != IN || PyArray_DIM(g, 0) != N || PyArray_DIM(g, 1) != OUT) {
        PyErr_Format(PyExc_ValueError,
                     "shapes must be dout (N, OUT), inp (N, IN), weight (IN, OUT). Received: "
                     "dout (%zd, %zd), inp (%zd, %zd), weight (%zd, %zd)",
                     (Py_ssize_t)PyArray_DIM(g, 0), (Py_ssize_t)PyArray_DIM(g, 1), (Py_ssize_t)N, (Py_ssize_t)IN,
                     (Py_ssize_t)PyArray_DIM(w, 0), (Py_ssize_t)OUT);
        return NULL;
    }
    npy_intp d1[2] = {N, IN}, d2[2] = {IN, OUT}, d3[1] = {OUT};
    PyObject *di = PyArray_ZEROS(2, d1, NPY_FLOAT32, 0), *dw = PyArray_ZEROS(2, d2, NPY_FLOAT32, 0),
             *db = PyArray_ZEROS(1, d3, NPY_FLOAT32, 0);
    if (!di || !dw || !db) {
        Py_XDECREF(di);
        Py_XDECREF(dw);
        Py_XDECREF(db);
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
    PyObject *xo = NULL;
    double alpha = 0.0;
    if (!PyArg_ParseTuple(args, "iO|d", &kind, &xo, &alpha) || !act_kind_ok(kind)) return NULL;
    PyArrayObject *x = ptc_py_check_array(xo, NPY_FLOAT32, 2, 0, "x");
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
    PyObject *go = NULL, *xo = NULL, *yo = NULL;
    double alpha = 0.0;
    if (!PyArg_ParseTuple(args, "iOOO|d", &kind, &go, &xo, &yo, &alpha) || !act_kind_ok(kind)) return NULL;
    PyArrayObject *g = ptc_py_check_array(go, NPY_FLOAT32, 2, 0, "dout");
    PyArrayObject *x = g ? ptc_py_check_array(xo, NPY_FLOAT32, 2, 0, "x") : NULL;
    PyArrayObject *y = x ? ptc_py_check_array(yo, NPY_FLOAT32, 2, 0, "y") : NULL;
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

// loss(kind, pred (N, D), y (N, y_size), w=None, params=None) -> (loss, dpred); params: float64
// (len(_C.LOSS_PARAMS),), None for all zero.
static PyObject *py_loss(PyObject *mod, PyObject *args) {
    int kind;
    PyObject *po = NULL, *yo = NULL, *wo = NULL, *lo = NULL;
    const float *w = NULL;
    const double *lp = NULL;
    if (!PyArg_ParseTuple(args, "iOO|OO", &kind, &po, &yo, &wo, &lo)) return NULL;
    if (lo && lo != Py_None) {
        PyArrayObject *la = ptc_py_check_array(lo, NPY_FLOAT64, 1, 0, "params");
        if (!la) return NULL;
        if (PyArray_DIM(la, 0) != PTC_LOSS_N_PARAMS) {
            PyErr_Format(PyExc_ValueError, "params must hold %d values (_C.LOSS_PARAMS). Received: %zd",
                         PTC_LOSS_N_PARAMS, (Py_ssize_t)PyArray_DIM(la, 0));
            return NULL;
        }
        lp = PyArray_DATA(la);
    }
    if (kind <= PTC_LOSS_NONE || kind >= PTC_LOSS_COUNT || kind == PTC_LOSS_TRACED) {
        PyErr_Format(PyExc_ValueError, "unknown loss kind %d: expected one of _C.LOSSES' values (not traced)", kind);
        return NULL;
    }
    PyArrayObject *p = ptc_py_check_array(po, NPY_FLOAT32, 2, 0, "pred");
    PyArrayObject *y = p ? ptc_py_check_array(yo, NPY_FLOAT32, 2, 0, "y") : NULL;
    if (!y) return NULL;
    npy_intp N = PyArray_DIM(p, 0), D = PyArray_DIM(p, 1);
    if (PyArray_DIM(y, 0) != N || PyArray_DIM(y, 1) != ptc_loss_y_size(kind, D)) {
        PyErr_Format(PyExc_ValueError,
                     "y has the wrong shape for this loss: expected (%zd, %lld) for pred (%zd, %zd). "
                     "Received: (%zd, %zd)",
                     (Py_ssize_t)N, (long long)ptc_loss_y_size(kind, D), (Py_ssize_t)N, (Py_ssize_t)D,
                     (Py_ssize_t)PyArray_DIM(y, 0), (Py_ssize_t)PyArray_DIM(y, 1));
        return NULL;
    }
    if (ptc_py_check_weights(wo, N, &w)) return NULL;
    PyObject *dp = PyArray_ZEROS(2, PyArray_DIMS(p), NPY_FLOAT32, 0);
    if (!dp) return NULL;
    double loss = 0.0;
    ptc_status st =
        ptc_loss_compute(kind, lp, &loss, PyArray_DATA((PyArrayObject *)dp), PyArray_DATA(p), PyArray_DATA(y), w, N, D);
    if (ptc_py_raise_status(st, "loss")) {
        Py_DECREF(dp);
        return NULL;
    }
    return Py_BuildValue("dN", loss, dp);
}

// metric_accumulate(kind, k, threshold, pred (N, D), y (N, ys), w=None, table=None) -> float64 slots
static PyObject *py_metric_accumulate(PyObject *mod, PyObject *args) {
    ptc_metric mt = {0, 0, 0.0, 0};
    PyObject *po = NULL, *yo = NULL, *wo = NULL, *to = NULL;
    long long k;
    const float *w = NULL;
    if (!PyArg_ParseTuple(args, "iLdOO|OO", &mt.kind, &k, &mt.threshold, &po, &yo, &wo, &to)) return NULL;
    mt.k = (int64_t)k;
    if (mt.kind == PTC_METRIC_THRESHOLD_TABLE) {  // its sorted thresholds: table, float32 (k & 0xffffffff,)
        PyArrayObject *tab = to ? ptc_py_check_array(to, NPY_FLOAT32, 1, 0, "table") : NULL;
        if (!tab || PyArray_DIM(tab, 0) != (npy_intp)(mt.k & 0xffffffffLL)) {
            if (!PyErr_Occurred())
                PyErr_Format(PyExc_ValueError, "a threshold table metric needs its %lld thresholds (float32)",
                             (long long)(mt.k & 0xffffffffLL));
            return NULL;
        }
        mt.table = PyArray_DATA(tab);
        mt.threshold = 0.0;
    }
    PyArrayObject *p = ptc_py_check_array(po, NPY_FLOAT32, 2, 0, "pred");
    PyArrayObject *y = p ? ptc_py_check_array(yo, NPY_FLOAT32, 2, 0, "y") : NULL;
    if (!y) return NULL;
    npy_intp N = PyArray_DIM(p, 0), D = PyArray_DIM(p, 1), ys = PyArray_DIM(y, 1);
    if (mt.kind <= 0 || mt.kind >= PTC_METRIC_COUNT) {
        PyErr_Format(PyExc_ValueError, "unknown metric kind %d: expected one of _C.METRICS' values", mt.kind);
        return NULL;
    }
    if (PyArray_DIM(y, 0) != N || ptc_metric_check(&mt, D, ys) != PTC_OK) {
        PyErr_Format(
            PyExc_ValueError,
            "metric kind %d with k=%lld does not fit the pred or y shape. Received: pred (%zd, %zd), y (%zd, %zd)",
            mt.kind, k, (Py_ssize_t)N, (Py_ssize_t)D, (Py_ssize_t)PyArray_DIM(y, 0), (Py_ssize_t)ys);
        return NULL;
    }
    if (ptc_py_check_weights(wo, N, &w)) return NULL;
    npy_intp slots = (npy_intp)ptc_metric_slots(&mt, D);
    PyObject *acc = PyArray_ZEROS(1, &slots, NPY_FLOAT64, 0);
    if (!acc) return NULL;
    ptc_metric_accumulate(&mt, PyArray_DATA(p), PyArray_DATA(y), ys, w, 1.0f, N, D, PyArray_DATA((PyArrayObject *)acc));
    return acc;
}

// metric_sum(kind, pred, y) -> float: the single-slot metrics 1-5 with default parameters
static PyObject *py_metric_sum(PyObject *mod, PyObject *args) {
    int kind;
    PyObject *po = NULL, *yo = NULL;
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

// optimizer_step(kind, hyper, params, grads, m, v, u, iterations, slices=None, ema=None, acc=None):
// one step on flat arrays, updating params, m, v, u and iterations in place
// (grads are read only: clipping scales them on the fly).
static PyObject *py_optimizer_step(PyObject *mod, PyObject *args) {
    ptc_optimizer o;
    int kind;
    PyObject *ho = NULL, *po = NULL, *go = NULL, *mo = NULL, *vo = NULL, *uo = NULL, *io = NULL, *so = Py_None;
    PyObject *eo = Py_None, *ao = Py_None;
    if (!PyArg_ParseTuple(args, "iOOOOOOO|OOO", &kind, &ho, &po, &go, &mo, &vo, &uo, &io, &so, &eo, &ao)) return NULL;
    PyArrayObject *p = ptc_py_check_array(po, NPY_FLOAT32, 1, 1, "params");
    PyArrayObject *g = p ? ptc_py_check_array(go, NPY_FLOAT32, 1, 0, "grads") : NULL;
    if (!g) return NULL;
    npy_intp P = PyArray_DIM(p, 0);
    if (PyArray_DIM(g, 0) != P) {
        PyErr_SetString(PyExc_ValueError, "params and grads must have the same length");
        return NULL;
    }
    if (ptc_py_parse_optimizer(&o, kind, ho, mo, vo, uo, eo, ao, io, so, P)) return NULL;
    Py_BEGIN_ALLOW_THREADS
    ptc_optimizer_step(&o, PyArray_DATA(p), PyArray_DATA(g), P);
    Py_END_ALLOW_THREADS
    Py_RETURN_NONE;
}

// schedule_value(kind, params, table, steps int64 (n,)) -> float64 (n,)
static PyObject *py_schedule_value(PyObject *mod, PyObject *args) {
    int kind;
    PyObject *po = NULL, *to = NULL, *so = NULL;
    ptc_schedule s;
    if (!PyArg_ParseTuple(args, "iOOO", &kind, &po, &to, &so)) return NULL;
    if (ptc_py_parse_schedule(&s, kind, po, to)) return NULL;
    PyArrayObject *steps = ptc_py_check_array(so, NPY_INT64, 1, 0, "steps");
    if (!steps) return NULL;
    PyObject *out = PyArray_EMPTY(1, PyArray_DIMS(steps), NPY_FLOAT64, 0);
    if (!out) return NULL;
    const int64_t *st = PyArray_DATA(steps);
    double *o = PyArray_DATA((PyArrayObject *)out);
    for (npy_intp i = 0; i < PyArray_DIM(steps, 0); i++) o[i] = ptc_schedule_value(&s, st[i]);
    return out;
}

PyMethodDef ptc_py_kernel_methods[] = {
    {"dense_forward", py_dense_forward, METH_VARARGS, "dense_forward(inp, weight, bias, ref)"},
    {"dense_rows_blocking", py_dense_rows_blocking, METH_NOARGS, "dense_rows_blocking() -> (q, u)"},
    {"dense_backward", py_dense_backward, METH_VARARGS, "dense_backward(dout, inp, weight, ref)"},
    {"act_forward", py_act_forward, METH_VARARGS, "act_forward(kind, x)"},
    {"act_backward", py_act_backward, METH_VARARGS, "act_backward(kind, dout, x, y)"},
    {"loss", py_loss, METH_VARARGS, "loss(kind, pred, y) -> (loss, dpred)"},
    {"metric_sum", py_metric_sum, METH_VARARGS, "metric_sum(kind, pred, y)"},
    {"metric_accumulate", py_metric_accumulate, METH_VARARGS,
     "metric_accumulate(kind, k, threshold, pred, y, w=None, table=None)"},
    {"optimizer_step", py_optimizer_step, METH_VARARGS,
     "optimizer_step(kind, hyper, params, grads, m, v, u, iterations, slices=None, ema=None, acc=None)"},
    {"schedule_value", py_schedule_value, METH_VARARGS, "schedule_value(kind, params, table, steps)"},
    {NULL, NULL, 0, NULL},
};
