// run_op: one registered op on its own, forward and (given dout) backward, through
// the same table the engine dispatches with. Tests use it to check every op against
// NumPy, finite differences and torch without building a model.
#include "common.h"

#include <string.h>
#include "../ops.h"

// run_op(kind, ins [float32 (N, size_k)], out_size, params float32 (P,), param int64 (MAX_PARAM,),
//        iargs int64 (MAX_IARG,), fargs float64 (MAX_FARG,), dout float32 (N, out_size) or None,
//        training, rng uint64 (4,) or None) -> (out, [din_k], dparams)
// out is in[0] itself for an in-place op (activity_reg): pass out_size 0 for it.
static PyObject *py_run_op(PyObject *mod, PyObject *args) {
    int kind, training;
    long long out_size;
    PyObject *ins_o = NULL, *params_o = NULL, *pidx_o = NULL, *iargs_o = NULL, *fargs_o = NULL, *dout_o = NULL,
             *rng_o = NULL, *result = NULL;
    PyObject *out = NULL, *dins = NULL, *dparams = NULL;
    ptc_plan plan;
    int planned = 0;
    memset(&plan, 0, sizeof(plan));
    if (!PyArg_ParseTuple(args, "iOLOOOOOpO", &kind, &ins_o, &out_size, &params_o, &pidx_o, &iargs_o, &fargs_o, &dout_o,
                          &training, &rng_o))
        return NULL;
    if (kind <= PTC_OP_NONE || kind >= PTC_OP_COUNT) {
        PyErr_Format(PyExc_ValueError, "op kind must be in [1, %d). Received: %d", PTC_OP_COUNT, kind);
        return NULL;
    }
    if (!PyList_Check(ins_o) || PyList_GET_SIZE(ins_o) < 1 || PyList_GET_SIZE(ins_o) > PTC_MAX_IN) {
        PyErr_Format(PyExc_ValueError, "ins must be a list of 1 to %d arrays", PTC_MAX_IN);
        return NULL;
    }
    const int n_in = (int)PyList_GET_SIZE(ins_o), in_place = out_size == 0;
    PyArrayObject *ins[PTC_MAX_IN] = {NULL};
    npy_intp N = -1;
    for (int k = 0; k < n_in; k++) {
        if (!(ins[k] = ptc_py_check_array(PyList_GET_ITEM(ins_o, k), NPY_FLOAT32, 2, 0, "ins[k]"))) return NULL;
        if (N >= 0 && PyArray_DIM(ins[k], 0) != N) {
            PyErr_SetString(PyExc_ValueError, "every input must have the same number of samples");
            return NULL;
        }
        N = PyArray_DIM(ins[k], 0);
    }
    PyArrayObject *pa = ptc_py_check_array(params_o, NPY_FLOAT32, 1, 0, "params");
    PyArrayObject *ia = pa ? ptc_py_check_array(pidx_o, NPY_INT64, 1, 0, "param") : NULL;
    PyArrayObject *aa = ia ? ptc_py_check_array(iargs_o, NPY_INT64, 1, 0, "iargs") : NULL;
    PyArrayObject *fa = aa ? ptc_py_check_array(fargs_o, NPY_FLOAT64, 1, 0, "fargs") : NULL;
    if (!fa) return NULL;
    if (PyArray_DIM(ia, 0) != PTC_MAX_PARAM || PyArray_DIM(aa, 0) != PTC_MAX_IARG ||
        PyArray_DIM(fa, 0) != PTC_MAX_FARG) {
        PyErr_Format(PyExc_ValueError, "param, iargs and fargs must hold %d, %d and %d values", PTC_MAX_PARAM,
                     PTC_MAX_IARG, PTC_MAX_FARG);
        return NULL;
    }
    if (N < 1 || out_size < 0) {
        PyErr_SetString(PyExc_ValueError, "run_op needs at least one sample and out_size >= 0");
        return NULL;
    }
    // Buffers: the inputs, the output (unless in place), and an unused model input,
    // so that every real input receives its gradient.
    int64_t sizes[PTC_MAX_IN + 2];
    ptc_op op;
    memset(&op, 0, sizeof(op));
    op.kind = kind;
    op.n_in = n_in;
    for (int k = 0; k < n_in; k++) {
        sizes[k] = (int64_t)PyArray_DIM(ins[k], 1);
        op.in[k] = k;
    }
    const int n_bufs = n_in + (in_place ? 1 : 2), out_buf = in_place ? 0 : n_in;
    if (!in_place) sizes[n_in] = (int64_t)out_size;
    sizes[n_bufs - 1] = 1;
    op.out = out_buf;
    memcpy(op.param, PyArray_DATA(ia), sizeof(op.param));
    memcpy(op.iarg, PyArray_DATA(aa), sizeof(op.iarg));
    memcpy(op.farg, PyArray_DATA(fa), sizeof(op.farg));
    ptc_status st = ptc_plan_init(&plan, &op, 1, sizes, n_bufs, n_bufs - 1, out_buf, (int64_t)N);
    if (ptc_py_raise_plan_status(st, &plan, "run_op")) return NULL;
    planned = 1;
    npy_intp P = PyArray_DIM(pa, 0);
    float *params = PyMem_Calloc((size_t)(P > 0 ? P : 1), sizeof(float));
    float *grads = PyMem_Calloc((size_t)(P > 0 ? P : 1), sizeof(float));
    ptc_rng rng;
    if (!params || !grads) {
        PyErr_NoMemory();
        goto cleanup;
    }
    if (P > 0) memcpy(params, PyArray_DATA(pa), (size_t)P * sizeof(float));
    plan.params = params;
    plan.grads = grads;
    plan.n_params = plan.n_trainable = (int64_t)P;
    if (ptc_py_raise_plan_status(ptc_plan_check_params(&plan), &plan, "run_op")) goto cleanup;
    if (rng_o != Py_None) {
        PyArrayObject *ra = ptc_py_check_array(rng_o, NPY_UINT64, 1, 0, "rng");
        if (!ra) goto cleanup;
        if (PyArray_DIM(ra, 0) != 4 || ptc_py_rng_is_zero(PyArray_DATA(ra))) {
            PyErr_SetString(PyExc_ValueError, "rng must be 4 uint64 words, not all zero");
            goto cleanup;
        }
        memcpy(rng.s, PyArray_DATA(ra), sizeof(rng.s));
        ptc_plan_set_rngs(&plan, &rng, 1);
    }
    if (ptc_py_raise_plan_status(ptc_plan_check_rngs(&plan), &plan, "run_op")) goto cleanup;
    for (int k = 0; k < n_in; k++)
        memcpy(ptc_plan_act(&plan, k), PyArray_DATA(ins[k]), (size_t)(N * sizes[k]) * sizeof(float));
    ptc_op_table[kind].forward(&plan, 0, (int64_t)N, training);
    if (ptc_py_raise_plan_status(plan.op_error, &plan, "run_op")) goto cleanup;
    npy_intp odims[2] = {N, (npy_intp)sizes[out_buf]};
    if (!(out = PyArray_EMPTY(2, odims, NPY_FLOAT32, 0))) goto cleanup;
    memcpy(PyArray_DATA((PyArrayObject *)out), ptc_plan_act(&plan, out_buf),
           (size_t)(N * sizes[out_buf]) * sizeof(float));
    if (!(dins = PyList_New(0))) goto cleanup;
    if (dout_o != Py_None) {
        PyArrayObject *da = ptc_py_check_array(dout_o, NPY_FLOAT32, 2, 0, "dout");
        if (!da) goto cleanup;
        if (PyArray_DIM(da, 0) != N || PyArray_DIM(da, 1) != (npy_intp)sizes[out_buf]) {
            PyErr_SetString(PyExc_ValueError, "dout must have the output's shape (N, out_size)");
            goto cleanup;
        }
        memset(plan.dacts, 0, (size_t)(plan.buf_off[n_bufs - 1] + N) * sizeof(float));
        memcpy(ptc_plan_dact(&plan, out_buf), PyArray_DATA(da), (size_t)(N * sizes[out_buf]) * sizeof(float));
        ptc_op_table[kind].backward(&plan, 0, (int64_t)N);
        for (int k = 0; k < n_in; k++) {
            npy_intp d[2] = {N, (npy_intp)sizes[k]};
            PyObject *g = PyArray_EMPTY(2, d, NPY_FLOAT32, 0);
            if (!g || PyList_Append(dins, g) < 0) {
                Py_XDECREF(g);
                goto cleanup;
            }
            memcpy(PyArray_DATA((PyArrayObject *)g), ptc_plan_dact(&plan, k), (size_t)(N * sizes[k]) * sizeof(float));
            Py_DECREF(g);
        }
    }
    npy_intp pd[1] = {P};
    if (!(dparams = PyArray_EMPTY(1, pd, NPY_FLOAT32, 0))) goto cleanup;
    if (P > 0) memcpy(PyArray_DATA((PyArrayObject *)dparams), grads, (size_t)P * sizeof(float));
    result = Py_BuildValue("OOO", out, dins, dparams);
cleanup:
    Py_XDECREF(out);
    Py_XDECREF(dins);
    Py_XDECREF(dparams);
    PyMem_Free(params);
    PyMem_Free(grads);
    if (planned) ptc_plan_free(&plan);
    return result;
}

PyMethodDef ptc_py_op_methods[] = {
    {"run_op", py_run_op, METH_VARARGS,
     "run_op(kind, ins, out_size, params, param, iargs, fargs, dout, training, rng) -> (out, dins, dparams)"},
    {NULL, NULL, 0, NULL},
};
