// The recurrent kernels on their own (rnn.c), with the BLAS gemm or the naive one,
// for tests that compare the two (the naive reference shares the cell code; torch
// and Keras check the cells themselves).
#include "common.h"

#include <string.h>

#include "../blas.h"

// rnn_run(cell "simple_rnn" | "lstm" | "gru", inp float32 (N, T, IN), kernel (IN, G), rkernel (U, G),
//         bias (G,) or, for the GRU, (2, G), or None, dout float32 (N, U) or (N, T, U),
//         act, ract, go_backwards, return_sequences, ref, mask float32 (N, T) or None = None)
//         -> (out, dinp, dkernel, drkernel, dbias or None)
static PyObject *py_rnn_run(PyObject *mod, PyObject *args) {
    const char *name;
    PyObject *io = NULL, *ko = NULL, *ro = NULL, *bo = NULL, *go = NULL, *mo = Py_None, *result = NULL;
    PyObject *out = NULL, *dinp = NULL, *dk = NULL, *dr = NULL, *db = NULL;
    int act, ract, back, seqs, ref;
    float *work = NULL;
    if (!PyArg_ParseTuple(args, "sOOOOOiippp|O", &name, &io, &ko, &ro, &bo, &go, &act, &ract, &back, &seqs, &ref, &mo))
        return NULL;
    const int cell = !strcmp(name, "lstm")         ? PTC_CELL_LSTM
                     : !strcmp(name, "gru")        ? PTC_CELL_GRU
                     : !strcmp(name, "simple_rnn") ? PTC_CELL_SIMPLE
                                                   : 0;
    if (!cell || !ptc_rnn_act_ok(act) || !ptc_rnn_act_ok(ract)) {
        PyErr_Format(PyExc_ValueError, "rnn_run: unknown cell %s or activation kinds %d, %d", name, act, ract);
        return NULL;
    }
    PyArrayObject *in = ptc_py_check_array(io, NPY_FLOAT32, 3, 0, "inp");
    PyArrayObject *k = in ? ptc_py_check_array(ko, NPY_FLOAT32, 2, 0, "kernel") : NULL;
    PyArrayObject *r = k ? ptc_py_check_array(ro, NPY_FLOAT32, 2, 0, "rkernel") : NULL;
    PyArrayObject *g = r ? ptc_py_check_array(go, NPY_FLOAT32, seqs ? 3 : 2, 0, "dout") : NULL;
    PyArrayObject *b = NULL;
    if (!g) return NULL;
    const npy_intp N = PyArray_DIM(in, 0), T = PyArray_DIM(in, 1), IN = PyArray_DIM(in, 2), U = PyArray_DIM(r, 0);
    const npy_intp G = cell * U, BG = cell == PTC_CELL_GRU ? 2 * G : G;
    if (N < 1 || T < 1 || IN < 1 || U < 1 || N * T * (IN + G) > INT_MAX || PyArray_DIM(k, 0) != IN ||
        PyArray_DIM(k, 1) != G || PyArray_DIM(r, 1) != G || PyArray_DIM(g, 0) != N ||
        PyArray_DIM(g, seqs ? 2 : 1) != U || (seqs && PyArray_DIM(g, 1) != T)) {
        PyErr_SetString(PyExc_ValueError, "rnn_run: the shapes do not agree (see the signature) or are too large");
        return NULL;
    }
    if (bo != Py_None) {
        if (!(b = ptc_py_check_array(bo, NPY_FLOAT32, -1, 0, "bias"))) return NULL;
        if (PyArray_SIZE(b) != BG) {
            PyErr_Format(PyExc_ValueError, "rnn_run: bias must hold %zd floats. Received: %zd", (Py_ssize_t)BG,
                         (Py_ssize_t)PyArray_SIZE(b));
            return NULL;
        }
    }
    PyArrayObject *m = NULL;
    if (mo != Py_None) {
        if (!(m = ptc_py_check_array(mo, NPY_FLOAT32, 2, 0, "mask"))) return NULL;
        if (PyArray_DIM(m, 0) != N || PyArray_DIM(m, 1) != T) {
            PyErr_SetString(PyExc_ValueError, "rnn_run: mask must be (N, T)");
            return NULL;
        }
    }
    const ptc_rnn_shape s = {
        N,    T,    IN, U,    act, ract, back, seqs, ref ? ptc_gemm_ref : ptc_blas_sgemm, m ? PyArray_DATA(m) : NULL,
        0.0f, 0.0f, 0,  NULL, 0,   0};
    npy_intp odims[3] = {N, seqs ? T : U, U}, bdims[1] = {BG};
    if (!(out = PyArray_ZEROS(seqs ? 3 : 2, odims, NPY_FLOAT32, 0)) ||
        !(dinp = PyArray_ZEROS(3, PyArray_DIMS(in), NPY_FLOAT32, 0)) ||
        !(dk = PyArray_ZEROS(2, PyArray_DIMS(k), NPY_FLOAT32, 0)) ||
        !(dr = PyArray_ZEROS(2, PyArray_DIMS(r), NPY_FLOAT32, 0)) || !(db = PyArray_ZEROS(1, bdims, NPY_FLOAT32, 0)))
        goto cleanup;
    if (!(work = PyMem_Calloc((size_t)ptc_rnn_work_size(cell, &s), sizeof(float)))) {
        PyErr_NoMemory();
        goto cleanup;
    }
    const float *bias = b ? PyArray_DATA(b) : NULL;
    ptc_rnn_forward(cell, PyArray_DATA((PyArrayObject *)out), work, PyArray_DATA(in), PyArray_DATA(k), PyArray_DATA(r),
                    bias, &s);
    ptc_rnn_backward(cell, PyArray_DATA((PyArrayObject *)dinp), PyArray_DATA((PyArrayObject *)dk),
                     PyArray_DATA((PyArrayObject *)dr), b ? PyArray_DATA((PyArrayObject *)db) : NULL, PyArray_DATA(g),
                     PyArray_DATA(in), PyArray_DATA(k), PyArray_DATA(r), work, &s);
    result = Py_BuildValue("OOOOO", out, dinp, dk, dr, b ? db : Py_None);
cleanup:
    PyMem_Free(work);
    Py_XDECREF(out);
    Py_XDECREF(dinp);
    Py_XDECREF(dk);
    Py_XDECREF(dr);
    Py_XDECREF(db);
    return result;
}

PyMethodDef ptc_py_kernel_seq_methods[] = {
    {"rnn_run", py_rnn_run, METH_VARARGS,
     "rnn_run(cell, inp, kernel, rkernel, bias, dout, act, ract, go_backwards, return_sequences, ref, mask=None) -> "
     "(out, dinp, dkernel, drkernel, dbias)"},
    {NULL, NULL, 0, NULL},
};
