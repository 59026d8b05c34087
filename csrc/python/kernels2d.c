// Conv2D, pooling and batch-normalization kernels, for tests.
#include "common.h"

#include <string.h>

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
    *out = ptc_py_check_array(o, NPY_FLOAT32, ndim, writeable, name);
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
                lg += (size_t)snprintf(got + lg, sizeof(got) - lg, j ? ", %lld" : "%lld", (long long)PyArray_DIM(a, j));
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
    PyArrayObject *w = ptc_py_check_array(wo, NPY_FLOAT32, 1, 1, "work");
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
    if (!PyArg_ParseTuple(args, "(LLLL)(LLLL)(LL)(LL)(LL)(LL)", &s.N, &s.H, &s.W, &s.C, &s.KH, &s.KW, &c2, &s.F, &s.SH,
                          &s.SW, &s.DH, &s.DW, &s.PT, &s.PL, &s.OH, &s.OW))
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
    s->N = PyArray_DIM(in, 0);
    s->H = PyArray_DIM(in, 1);
    s->W = PyArray_DIM(in, 2);
    s->C = PyArray_DIM(in, 3);
    s->KH = PyArray_DIM(w, 0);
    s->KW = PyArray_DIM(w, 1);
    s->F = PyArray_DIM(w, 3);
    if (PyArray_DIM(w, 2) != s->C) {
        PyErr_Format(PyExc_ValueError,
                     "weight must be (KH, KW, C, F) with C = %lld input channels. "
                     "Received: weight C=%lld",
                     (long long)s->C, (long long)PyArray_DIM(w, 2));
        return -1;
    }
    return conv_shape_ok(s) ? 0 : -1;
}

// conv2d_forward(inp (N, H, W, C), weight (KH, KW, C, F), bias (F,) or None, strides, dilation, pads,
//                out_hw, ref[, work]) -> out (N, OH, OW, F)
static PyObject *py_conv2d_forward(PyObject *mod, PyObject *args) {
    PyObject *io = NULL, *wo = NULL, *bo = NULL, *out = NULL, *wko = NULL;
    PyArrayObject *b = NULL;
    ptc_conv2d_shape s;
    int ref, owned = 0;
    float *work = NULL;
    int64_t ws = 0;
    memset(&s, 0, sizeof(s));
    if (!PyArg_ParseTuple(args, "OOO(LL)(LL)(LL)(LL)p|O", &io, &wo, &bo, &s.SH, &s.SW, &s.DH, &s.DW, &s.PT, &s.PL,
                          &s.OH, &s.OW, &ref, &wko))
        return NULL;
    PyArrayObject *in = ptc_py_check_array(io, NPY_FLOAT32, 4, 0, "inp");
    PyArrayObject *w = in ? ptc_py_check_array(wo, NPY_FLOAT32, 4, 0, "weight") : NULL;
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
    if (ref)
        ptc_conv2d_forward_ref(o, x, wd, bd, &s);
    else
        ptc_conv2d_forward(o, x, wd, bd, &s, work);
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
    PyObject *go = NULL, *io = NULL, *wo = NULL, *dio = NULL, *dwo = NULL, *dbo = NULL, *wko = NULL;
    PyArrayObject *di = NULL, *db = NULL;
    ptc_conv2d_shape s;
    int ref, owned = 0;
    memset(&s, 0, sizeof(s));
    if (!PyArg_ParseTuple(args, "OOO(LL)(LL)(LL)pOOO|O", &go, &io, &wo, &s.SH, &s.SW, &s.DH, &s.DW, &s.PT, &s.PL, &ref,
                          &dio, &dwo, &dbo, &wko))
        return NULL;
    PyArrayObject *g = ptc_py_check_array(go, NPY_FLOAT32, 4, 0, "dout");
    PyArrayObject *in = g ? ptc_py_check_array(io, NPY_FLOAT32, 4, 0, "inp") : NULL;
    PyArrayObject *w = in ? ptc_py_check_array(wo, NPY_FLOAT32, 4, 0, "weight") : NULL;
    PyArrayObject *dw = w ? ptc_py_check_array(dwo, NPY_FLOAT32, 4, 1, "dweight") : NULL;
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
    if (ref)
        ptc_conv2d_backward_ref(dip, dwp, dbp, gp, xp, wp, &s);
    else
        ptc_conv2d_backward(dip, dwp, dbp, gp, xp, wp, &s, work);
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
    s->N = PyArray_DIM(in, 0);
    s->H = PyArray_DIM(in, 1);
    s->W = PyArray_DIM(in, 2);
    s->C = PyArray_DIM(in, 3);
}

// maxpool2d_forward / avgpool2d_forward(inp (N, H, W, C), pool, strides, pads, out_hw) -> (N, OH, OW, C)
static PyObject *pool2d_forward(PyObject *args, int is_max) {
    PyObject *io = NULL, *out = NULL;
    ptc_pool2d_shape s;
    memset(&s, 0, sizeof(s));
    if (!PyArg_ParseTuple(args, "O(LL)(LL)(LL)(LL)", &io, &s.KH, &s.KW, &s.SH, &s.SW, &s.PT, &s.PL, &s.OH, &s.OW))
        return NULL;
    PyArrayObject *in = ptc_py_check_array(io, NPY_FLOAT32, 4, 0, "inp");
    if (!in) return NULL;
    pool_dims_from(&s, in);
    if (!pool_shape_ok(&s)) return NULL;
    npy_intp dims[4] = {s.N, s.OH, s.OW, s.C};
    if (!(out = PyArray_ZEROS(4, dims, NPY_FLOAT32, 0))) return NULL;
    float *o = PyArray_DATA((PyArrayObject *)out);
    const float *x = PyArray_DATA(in);
    Py_BEGIN_ALLOW_THREADS
    if (is_max)
        ptc_maxpool2d_forward(o, x, &s);
    else
        ptc_avgpool2d_forward(o, x, &s);
    Py_END_ALLOW_THREADS
    return out;
}

static PyObject *py_maxpool2d_forward(PyObject *mod, PyObject *args) {
    return pool2d_forward(args, 1);
}
static PyObject *py_avgpool2d_forward(PyObject *mod, PyObject *args) {
    return pool2d_forward(args, 0);
}

// The arrays of a pooling backward: dout (g_ndim dims), inp (only for max pooling: argmax
// needs it) and dinp (x_ndim dims, writeable). 0, or -1 with the exception set.
static int pool_backward_arrays(PyObject *go, PyObject *io, PyObject *dio, int is_max, int g_ndim, int x_ndim,
                                PyArrayObject **g, PyArrayObject **in, PyArrayObject **di) {
    *in = NULL;
    *di = NULL;
    *g = ptc_py_check_array(go, NPY_FLOAT32, g_ndim, 0, "dout");
    if (*g && is_max) *in = ptc_py_check_array(io, NPY_FLOAT32, x_ndim, 0, "inp");
    if (*g && (*in || !is_max)) *di = ptc_py_check_array(dio, NPY_FLOAT32, x_ndim, 1, "dinp");
    return *di ? 0 : -1;
}

// maxpool2d_backward(dout (N, OH, OW, C), inp (N, H, W, C), pool, strides, pads, dinp): accumulates
// avgpool2d_backward(dout, pool, strides, pads, dinp (N, H, W, C)): accumulates
static PyObject *pool2d_backward(PyObject *args, int is_max) {
    PyObject *go = NULL, *io = NULL, *dio = NULL;
    PyArrayObject *in = NULL;
    ptc_pool2d_shape s;
    memset(&s, 0, sizeof(s));
    int ok = is_max
                 ? PyArg_ParseTuple(args, "OO(LL)(LL)(LL)O", &go, &io, &s.KH, &s.KW, &s.SH, &s.SW, &s.PT, &s.PL, &dio)
                 : PyArg_ParseTuple(args, "O(LL)(LL)(LL)O", &go, &s.KH, &s.KW, &s.SH, &s.SW, &s.PT, &s.PL, &dio);
    if (!ok) return NULL;
    PyArrayObject *g = NULL, *di = NULL;
    if (pool_backward_arrays(go, io, dio, is_max, 4, 4, &g, &in, &di)) return NULL;
    pool_dims_from(&s, di);
    s.OH = PyArray_DIM(g, 1);
    s.OW = PyArray_DIM(g, 2);
    if (!pool_shape_ok(&s)) return NULL;
    int64_t gd[4] = {s.N, s.OH, s.OW, s.C}, xd[4] = {s.N, s.H, s.W, s.C};
    if (check_dims(g, 4, gd, "dout") || (in && check_dims(in, 4, xd, "inp"))) return NULL;
    float *d = PyArray_DATA(di);
    const float *gp = PyArray_DATA(g), *xp = in ? PyArray_DATA(in) : NULL;
    Py_BEGIN_ALLOW_THREADS
    if (is_max)
        ptc_maxpool2d_backward(d, gp, xp, &s);
    else
        ptc_avgpool2d_backward(d, gp, &s);
    Py_END_ALLOW_THREADS
    Py_RETURN_NONE;
}

static PyObject *py_maxpool2d_backward(PyObject *mod, PyObject *args) {
    return pool2d_backward(args, 1);
}
static PyObject *py_avgpool2d_backward(PyObject *mod, PyObject *args) {
    return pool2d_backward(args, 0);
}

// global_{avg,max}pool_forward(inp (N, S, C)) -> (N, C)
static PyObject *global_pool_forward(PyObject *args, int is_max) {
    PyObject *io = NULL, *out = NULL;
    if (!PyArg_ParseTuple(args, "O", &io)) return NULL;
    PyArrayObject *in = ptc_py_check_array(io, NPY_FLOAT32, 3, 0, "inp");
    if (!in) return NULL;
    int64_t N = PyArray_DIM(in, 0), S = PyArray_DIM(in, 1), C = PyArray_DIM(in, 2);
    npy_intp dims[2] = {N, C};
    if (!(out = PyArray_ZEROS(2, dims, NPY_FLOAT32, 0))) return NULL;
    float *o = PyArray_DATA((PyArrayObject *)out);
    const float *x = PyArray_DATA(in);
    Py_BEGIN_ALLOW_THREADS
    if (is_max)
        ptc_global_maxpool_forward(o, x, N, S, C);
    else
        ptc_global_avgpool_forward(o, x, N, S, C);
    Py_END_ALLOW_THREADS
    return out;
}

static PyObject *py_global_avgpool_forward(PyObject *mod, PyObject *args) {
    return global_pool_forward(args, 0);
}
static PyObject *py_global_maxpool_forward(PyObject *mod, PyObject *args) {
    return global_pool_forward(args, 1);
}

// global_avgpool_backward(dout (N, C), dinp (N, S, C)); global_maxpool_backward(dout, inp, dinp): accumulate
static PyObject *global_pool_backward(PyObject *args, int is_max) {
    PyObject *go = NULL, *io = NULL, *dio = NULL;
    PyArrayObject *in = NULL;
    int ok = is_max ? PyArg_ParseTuple(args, "OOO", &go, &io, &dio) : PyArg_ParseTuple(args, "OO", &go, &dio);
    if (!ok) return NULL;
    PyArrayObject *g = NULL, *di = NULL;
    if (pool_backward_arrays(go, io, dio, is_max, 2, 3, &g, &in, &di)) return NULL;
    int64_t N = PyArray_DIM(di, 0), S = PyArray_DIM(di, 1), C = PyArray_DIM(di, 2);
    int64_t gd[2] = {N, C}, xd[3] = {N, S, C};
    if (check_dims(g, 2, gd, "dout") || (in && check_dims(in, 3, xd, "inp"))) return NULL;
    float *d = PyArray_DATA(di);
    const float *gp = PyArray_DATA(g), *xp = in ? PyArray_DATA(in) : NULL;
    Py_BEGIN_ALLOW_THREADS
    if (is_max)
        ptc_global_maxpool_backward(d, gp, xp, N, S, C);
    else
        ptc_global_avgpool_backward(d, gp, N, S, C);
    Py_END_ALLOW_THREADS
    Py_RETURN_NONE;
}

static PyObject *py_global_avgpool_backward(PyObject *mod, PyObject *args) {
    return global_pool_backward(args, 0);
}
static PyObject *py_global_maxpool_backward(PyObject *mod, PyObject *args) {
    return global_pool_backward(args, 1);
}

// batchnorm_forward(inp (R, C), gamma, beta, moving_mean, moving_var (C,) or None, momentum, epsilon,
//                   training) -> (out (R, C), work (2, C)); the moving statistics are updated in place
static PyObject *py_batchnorm_forward(PyObject *mod, PyObject *args) {
    PyObject *io = NULL, *gmo = NULL, *bto = NULL, *mmo = NULL, *mvo = NULL, *out = NULL, *work = NULL;
    PyArrayObject *gm = NULL, *bt = NULL, *mm = NULL, *mv = NULL;
    float momentum, epsilon;
    int training;
    if (!PyArg_ParseTuple(args, "OOOOOffp", &io, &gmo, &bto, &mmo, &mvo, &momentum, &epsilon, &training)) return NULL;
    PyArrayObject *in = ptc_py_check_array(io, NPY_FLOAT32, 2, 0, "inp");
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
    PyObject *go = NULL, *io = NULL, *gmo = NULL, *wko = NULL, *dio = NULL, *dgo = NULL, *dbo = NULL;
    PyArrayObject *gm = NULL, *di = NULL, *dg = NULL, *db = NULL;
    int training;
    if (!PyArg_ParseTuple(args, "OOOOpOOO", &go, &io, &gmo, &wko, &training, &dio, &dgo, &dbo)) return NULL;
    PyArrayObject *g = ptc_py_check_array(go, NPY_FLOAT32, 2, 0, "dout");
    PyArrayObject *in = g ? ptc_py_check_array(io, NPY_FLOAT32, 2, 0, "inp") : NULL;
    PyArrayObject *wk = in ? ptc_py_check_array(wko, NPY_FLOAT32, 2, 0, "work") : NULL;
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
    if (training)
        ptc_batchnorm_backward(dip, dgp, dbp, gp, xp, gmp, R, C, wp);
    else
        ptc_batchnorm_backward_inference(dip, dgp, dbp, gp, xp, gmp, R, C, wp);
    Py_END_ALLOW_THREADS
    Py_RETURN_NONE;
}
// End of the Conv2D / pooling / batch normalization kernel bindings.

PyMethodDef ptc_py_kernel2d_methods[] = {
    {"conv2d_workspace", py_conv2d_workspace, METH_VARARGS,
     "conv2d_workspace(inp_shape, kernel_shape, strides, dilation, pads, out_hw) -> (floats, chunk)"},
    {"conv2d_forward", py_conv2d_forward, METH_VARARGS,
     "conv2d_forward(inp, weight, bias, strides, dilation, pads, out_hw, ref[, work])"},
    {"conv2d_backward", py_conv2d_backward, METH_VARARGS,
     "conv2d_backward(dout, inp, weight, strides, dilation, pads, ref, dinp, dweight, dbias[, work])"},
    {"maxpool2d_forward", py_maxpool2d_forward, METH_VARARGS, "maxpool2d_forward(inp, pool, strides, pads, out_hw)"},
    {"maxpool2d_backward", py_maxpool2d_backward, METH_VARARGS,
     "maxpool2d_backward(dout, inp, pool, strides, pads, dinp)"},
    {"avgpool2d_forward", py_avgpool2d_forward, METH_VARARGS, "avgpool2d_forward(inp, pool, strides, pads, out_hw)"},
    {"avgpool2d_backward", py_avgpool2d_backward, METH_VARARGS, "avgpool2d_backward(dout, pool, strides, pads, dinp)"},
    {"global_avgpool_forward", py_global_avgpool_forward, METH_VARARGS, "global_avgpool_forward(inp)"},
    {"global_avgpool_backward", py_global_avgpool_backward, METH_VARARGS, "global_avgpool_backward(dout, dinp)"},
    {"global_maxpool_forward", py_global_maxpool_forward, METH_VARARGS, "global_maxpool_forward(inp)"},
    {"global_maxpool_backward", py_global_maxpool_backward, METH_VARARGS, "global_maxpool_backward(dout, inp, dinp)"},
    {"batchnorm_forward", py_batchnorm_forward, METH_VARARGS,
     "batchnorm_forward(inp, gamma, beta, moving_mean, moving_var, momentum, epsilon, training) -> (out, work)"},
    {"batchnorm_backward", py_batchnorm_backward, METH_VARARGS,
     "batchnorm_backward(dout, inp, gamma, work, training, dinp, dgamma, dbeta)"},
    {NULL, NULL, 0, NULL},
};
