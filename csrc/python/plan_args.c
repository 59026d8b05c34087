// The checks of a pass's arguments (data, sample weights, sums, batch size) for the Plan type
// (plan.c): each sets a Python exception that says what was expected and what was received.
#include "plan.h"

// Checks x (n, in size) float32 and, if yo is not NULL, y (n, y_size) float32.
int ptc_py_plan_check_data(PlanObject *self, PyObject *xo, PyObject *yo, PyArrayObject **x, PyArrayObject **y) {
    *x = ptc_py_check_array(xo, NPY_FLOAT32, 2, 0, "x");
    if (!*x) return -1;
    int64_t dx = self->plan.x_size;
    if (PyArray_DIM(*x, 1) != dx) {
        PyErr_Format(PyExc_ValueError, "x must have %lld features per sample. Received: %lld", (long long)dx,
                     (long long)PyArray_DIM(*x, 1));
        return -1;
    }
    if (!yo) return 0;
    *y = ptc_py_check_array(yo, NPY_FLOAT32, 2, 0, "y");
    if (!*y) return -1;
    if (PyArray_DIM(*y, 0) != PyArray_DIM(*x, 0) || PyArray_DIM(*y, 1) != self->plan.y_size) {
        PyErr_Format(PyExc_ValueError, "y must be (%lld, %lld). Received: (%lld, %lld)", (long long)PyArray_DIM(*x, 0),
                     (long long)self->plan.y_size, (long long)PyArray_DIM(*y, 0), (long long)PyArray_DIM(*y, 1));
        return -1;
    }
    if (self->plan.n_heads < self->plan.n_outputs) {
        PyErr_SetString(PyExc_RuntimeError, "Plan has no loss: call set_loss first");
        return -1;
    }
    return 0;
}

PyObject *ptc_py_plan_new_sums(const PlanObject *self) {
    npy_intp n = (npy_intp)self->plan.n_sums;
    return PyArray_ZEROS(1, &n, NPY_FLOAT64, 0);
}

// The sums a pass adds into: the caller's float64 (n_sums,) array (a new
// reference) when given, else new zeros.
PyObject *ptc_py_plan_caller_sums(const PlanObject *self, PyObject *so) {
    if (!so || so == Py_None) return ptc_py_plan_new_sums(self);
    PyArrayObject *sa = ptc_py_check_array(so, NPY_FLOAT64, 1, 1, "sums");
    if (!sa) return NULL;
    if (PyArray_DIM(sa, 0) != (npy_intp)self->plan.n_sums) {
        PyErr_Format(PyExc_ValueError, "sums must hold %lld values", (long long)self->plan.n_sums);
        return NULL;
    }
    Py_INCREF(so);
    return so;
}

// Sample weights for one pass: None, or float32 (n,) finite and >= 0.
int ptc_py_check_weights(PyObject *wo, npy_intp n, const float **w) {
    *w = NULL;
    if (wo == NULL || wo == Py_None) return 0;
    PyArrayObject *a = ptc_py_check_array(wo, NPY_FLOAT32, 1, 0, "sample_weight");
    if (!a) return -1;
    if (PyArray_DIM(a, 0) != n) {
        PyErr_Format(PyExc_ValueError, "sample_weight must have one weight per sample (%zd). Received: %zd",
                     (Py_ssize_t)n, (Py_ssize_t)PyArray_DIM(a, 0));
        return -1;
    }
    *w = PyArray_DATA(a);
    return 0;
}

// A pass's sample weights: None, float32 (n,) shared by every head, (n, n_heads) with several
// heads, or (n, rows summed over the heads) when some head has rows > 1 (one weight per row of
// each head's loss, head by head); sets w_cols and w_rows.
int ptc_py_plan_weights(PlanObject *self, PyObject *wo, npy_intp n, const float **w) {
    *w = NULL;
    self->plan.w_cols = 1;
    self->plan.w_rows = 0;
    if (wo == NULL || wo == Py_None) return 0;
    if (!PyArray_Check(wo) || PyArray_NDIM((PyArrayObject *)wo) != 2) return ptc_py_check_weights(wo, n, w);
    PyArrayObject *a = ptc_py_check_array(wo, NPY_FLOAT32, 2, 0, "sample_weight");
    if (!a) return -1;
    npy_intp rows = 0;
    for (int h = 0; h < self->plan.n_heads; h++) rows += (npy_intp)self->plan.heads[h].rows;
    const int per_row = PyArray_DIM(a, 1) == rows && rows > self->plan.n_heads;
    const npy_intp cols = per_row || self->plan.n_heads == 1 ? rows : self->plan.n_heads;
    if (PyArray_DIM(a, 0) != n || PyArray_DIM(a, 1) != cols || cols < 2 || cols > INT_MAX) {
        PyErr_Format(PyExc_ValueError, "sample_weight must be (%zd,) or (%zd, %zd), %s. Received: (%zd, %zd)",
                     (Py_ssize_t)n, (Py_ssize_t)n, (Py_ssize_t)cols,
                     self->plan.n_heads == 1 ? "one weight per row of the loss" : "one column per output",
                     (Py_ssize_t)PyArray_DIM(a, 0), (Py_ssize_t)PyArray_DIM(a, 1));
        return -1;
    }
    self->plan.w_cols = (int)cols;
    self->plan.w_rows = per_row || self->plan.n_heads == 1;
    *w = PyArray_DATA(a);
    return 0;
}

// 0 if batch_size fits the reserved workspaces, else -1 with a ValueError.
int ptc_py_plan_check_batch_size(const PlanObject *self, long long batch_size) {
    if (batch_size > 0 && batch_size <= self->plan.max_batch) return 0;
    PyErr_Format(PyExc_ValueError, "batch_size must be in [1, %lld]. Received: %lld", (long long)self->plan.max_batch,
                 batch_size);
    return -1;
}
