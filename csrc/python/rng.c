// The RNG, for initializers and shuffling from Python.
#include "common.h"

// ---------------------------------------------------------------------------
// RNG

static ptc_rng *rng_state_any(PyObject *o) {
    PyArrayObject *a = ptc_py_check_array(o, NPY_UINT64, 1, 1, "rng state");
    if (!a) return NULL;
    if (PyArray_DIM(a, 0) != 4) {
        PyErr_Format(PyExc_ValueError, "rng state must hold 4 uint64 words. Received: %zd",
                     (Py_ssize_t)PyArray_DIM(a, 0));
        return NULL;
    }
    return (ptc_rng *)PyArray_DATA(a);
}

static ptc_rng *rng_state(PyObject *o) {
    ptc_rng *r = rng_state_any(o);
    if (r && ptc_py_rng_is_zero(r->s)) {
        PyErr_SetString(PyExc_ValueError, "rng state is all zeros: seed it with rng_seed first");
        return NULL;
    }
    return r;
}

static PyObject *py_rng_seed(PyObject *mod, PyObject *args) {
    PyObject *so = NULL;
    unsigned long long seed;
    if (!PyArg_ParseTuple(args, "OK", &so, &seed)) return NULL;
    ptc_rng *r = rng_state_any(so);
    if (!r) return NULL;
    ptc_rng_seed(r, (uint64_t)seed);
    Py_RETURN_NONE;
}

// rng_fill(state, out float32, dist, a, b): dist 0 uniform [a, b), 1 normal(a, b), 2 truncated normal(a, b)
static PyObject *py_rng_fill(PyObject *mod, PyObject *args) {
    PyObject *so = NULL, *oo = NULL;
    int dist;
    double a, b;
    if (!PyArg_ParseTuple(args, "OOidd", &so, &oo, &dist, &a, &b)) return NULL;
    ptc_rng *r = rng_state(so);
    PyArrayObject *out = r ? ptc_py_check_array(oo, NPY_FLOAT32, -1, 1, "out") : NULL;
    if (!out) return NULL;
    float *d = PyArray_DATA(out);
    int64_t n = (int64_t)PyArray_SIZE(out);
    switch (dist) {
        case 0:
            ptc_rng_fill_uniform(r, d, n, (float)a, (float)b);
            break;
        case 1:
            ptc_rng_fill_normal(r, d, n, (float)a, (float)b);
            break;
        case 2:
            ptc_rng_fill_truncated_normal(r, d, n, (float)a, (float)b);
            break;
        default:
            PyErr_Format(PyExc_ValueError, "unknown distribution %d", dist);
            return NULL;
    }
    Py_RETURN_NONE;
}

// rng_next(state) -> int: the next 64 random bits (used to seed per-layer generators)
static PyObject *py_rng_next(PyObject *mod, PyObject *args) {
    PyObject *so = NULL;
    if (!PyArg_ParseTuple(args, "O", &so)) return NULL;
    ptc_rng *r = rng_state(so);
    if (!r) return NULL;
    return PyLong_FromUnsignedLongLong((unsigned long long)ptc_rng_next(r));
}

static PyObject *py_permutation(PyObject *mod, PyObject *args) {
    PyObject *so = NULL;
    Py_ssize_t n;
    if (!PyArg_ParseTuple(args, "On", &so, &n)) return NULL;
    ptc_rng *r = rng_state(so);
    if (!r) return NULL;
    if (n < 0) {
        PyErr_Format(PyExc_ValueError, "n must be non-negative. Received: %zd", n);
        return NULL;
    }
    npy_intp dim = n;
    PyObject *perm = PyArray_EMPTY(1, &dim, NPY_INT64, 0);
    if (!perm) return NULL;
    ptc_rng_permutation(r, PyArray_DATA((PyArrayObject *)perm), (int64_t)n);
    return perm;
}

PyMethodDef ptc_py_rng_methods[] = {
    {"rng_seed", py_rng_seed, METH_VARARGS, "rng_seed(state uint64[4], seed)"},
    {"rng_fill", py_rng_fill, METH_VARARGS, "rng_fill(state, out, dist, a, b)"},
    {"permutation", py_permutation, METH_VARARGS, "permutation(state, n) -> int64 array"},
    {"rng_next", py_rng_next, METH_VARARGS, "rng_next(state) -> next 64 random bits"},
    {NULL, NULL, 0, NULL},
};
