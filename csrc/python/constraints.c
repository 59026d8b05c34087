// Weight constraints' tables (constraints.c): rows of PTC_CONSTRAINT_ROW int64 [offset, kind, rank,
// axes, dims...] and float64 [min_value, max_value, rate], for Plan.set_constraints and eager calls.
#include "common.h"

enum { ROW_OFFSET, ROW_KIND, ROW_RANK, ROW_AXES, ROW_DIMS, ROW_WIDTH = ROW_DIMS + PTC_CONSTRAINT_MAX_RANK };

ptc_constraint *ptc_py_parse_constraints(PyObject *ro, PyObject *co, npy_intp *n) {
    PyArrayObject *r = ptc_py_check_array(ro, NPY_INT64, 2, 0, "constraint rows");
    PyArrayObject *c = r ? ptc_py_check_array(co, NPY_FLOAT64, 2, 0, "constraint values") : NULL;
    if (!c) return NULL;
    *n = PyArray_DIM(r, 0);
    if (PyArray_DIM(r, 1) != ROW_WIDTH || PyArray_DIM(c, 0) != *n || PyArray_DIM(c, 1) != 3 || *n > INT_MAX) {
        PyErr_Format(PyExc_ValueError,
                     "constraint rows must be (n, %d) and values (n, 3). Received: (%zd, %zd) and (%zd, %zd)",
                     ROW_WIDTH, (Py_ssize_t)*n, (Py_ssize_t)PyArray_DIM(r, 1), (Py_ssize_t)PyArray_DIM(c, 0),
                     (Py_ssize_t)PyArray_DIM(c, 1));
        return NULL;
    }
    ptc_constraint *cs = PyMem_Calloc((size_t)(*n > 0 ? *n : 1), sizeof(ptc_constraint));
    if (!cs) return (ptc_constraint *)PyErr_NoMemory();
    const int64_t *rd = PyArray_DATA(r);
    const double *cd = PyArray_DATA(c);
    for (npy_intp i = 0; i < *n; i++) {
        const int64_t *row = rd + i * ROW_WIDTH;
        int64_t size;
        cs[i] = (ptc_constraint){(int)row[ROW_KIND], (int)row[ROW_RANK], (int)row[ROW_AXES], row[ROW_OFFSET], {0},
                                 cd[3 * i],          cd[3 * i + 1],      cd[3 * i + 2]};
        for (int k = 0; k < PTC_CONSTRAINT_MAX_RANK; k++) cs[i].dims[k] = row[ROW_DIMS + k];
        if (row[ROW_KIND] != cs[i].kind || row[ROW_RANK] != cs[i].rank || row[ROW_AXES] != cs[i].axes ||
            ptc_constraint_check(&cs[i], &size) != PTC_OK) {
            PyErr_Format(PyExc_ValueError,
                         "constraint row %zd: a bad kind, rank (0 to %d), dimension, axis or value "
                         "(kind %lld, rank %lld, axes %lld)",
                         (Py_ssize_t)i, PTC_CONSTRAINT_MAX_RANK, (long long)row[ROW_KIND], (long long)row[ROW_RANK],
                         (long long)row[ROW_AXES]);
            PyMem_Free(cs);
            return NULL;
        }
    }
    return cs;
}

// constraint_apply(row int64 (1, width), values float64 (1, 3), w float32, naive=False): projects the
// whole array w in place (the row's offset must be 0 and its dims w's size).
static PyObject *py_constraint_apply(PyObject *mod, PyObject *args) {
    PyObject *ro = NULL, *co = NULL, *wo = NULL;
    int naive = 0;
    npy_intp n;
    if (!PyArg_ParseTuple(args, "OOO|p", &ro, &co, &wo, &naive)) return NULL;
    PyArrayObject *w = ptc_py_check_array(wo, NPY_FLOAT32, -1, 1, "w");
    if (!w) return NULL;
    ptc_constraint *c = ptc_py_parse_constraints(ro, co, &n);
    if (!c) return NULL;
    int64_t size = 0;
    ptc_constraint_check(c, &size);
    if (n != 1 || c->offset != 0 || size != (int64_t)PyArray_SIZE(w)) {
        PyErr_Format(PyExc_ValueError, "constraint_apply takes one row for the whole of w (%zd floats)",
                     (Py_ssize_t)PyArray_SIZE(w));
        PyMem_Free(c);
        return NULL;
    }
    int64_t kept = 1;
    for (int k = 0; k < c->rank; k++)
        if (!(c->axes >> k & 1)) kept *= c->dims[k];
    double *norms = naive ? PyMem_Malloc((size_t)kept * sizeof(double)) : NULL;
    if (naive && !norms) {
        PyMem_Free(c);
        return PyErr_NoMemory();
    }
    if (naive)
        ptc_constraint_apply_naive(c, PyArray_DATA(w), norms);
    else
        ptc_constraint_apply(c, PyArray_DATA(w));
    PyMem_Free(norms);
    PyMem_Free(c);
    Py_RETURN_NONE;
}

PyMethodDef ptc_py_constraint_methods[] = {
    {"constraint_apply", py_constraint_apply, METH_VARARGS, "constraint_apply(row, values, w, naive=False)"},
    {NULL, NULL, 0, NULL},
};
