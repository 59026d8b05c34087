// Module init: the Plan type, every file's functions, the registry and constants.
#define PTC_PY_MODULE
#include "common.h"
#include "../blas.h"
#include "../isa.h"

// ---------------------------------------------------------------------------
// BLAS

static PyObject *py_blas_info(PyObject *mod, PyObject *noargs) {
    const char *cfg = ptc_blas_info();
    return Py_BuildValue("si", cfg ? cfg : "", ptc_blas_get_num_threads());
}

// set_num_threads(n): any Python int; out of [1, INT_MAX] is a ValueError, never an OverflowError.
static PyObject *py_set_num_threads(PyObject *mod, PyObject *args) {
    PyObject *no = NULL;
    int overflow = 0;
    if (!PyArg_ParseTuple(args, "O!", &PyLong_Type, &no)) return NULL;
    long long n = PyLong_AsLongLongAndOverflow(no, &overflow);
    if (n == -1 && PyErr_Occurred()) return NULL;
    if (overflow || n < 1 || n > INT_MAX) {
        PyErr_Format(PyExc_ValueError, "num_threads must be >= 1 and <= %d. Received: %R", INT_MAX, no);
        return NULL;
    }
    ptc_blas_set_num_threads((int)n);
    Py_RETURN_NONE;
}

static PyObject *py_build_info(PyObject *mod, PyObject *noargs) {
    return Py_BuildValue("{s:s,s:s}", "kernel_isa", ptc_isa_name(), "kernel_isa_compiled", ptc_isa_compiled());
}

static PyMethodDef module_methods[] = {
    {"build_info", py_build_info, METH_NOARGS, "build_info() -> {'kernel_isa': ..., 'kernel_isa_compiled': ...}"},
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
    ptc_blas_init();
    ptc_dense_rows_init();  // after OpenBLAS is single-threaded: it measures sgemm as the plans run it
    if (PyType_Ready(&ptc_py_PlanType) < 0) return NULL;
    if (!(m = PyModule_Create(&module_def))) return NULL;
    Py_INCREF(&ptc_py_PlanType);
    if (PyModule_AddObject(m, "Plan", (PyObject *)&ptc_py_PlanType) < 0) goto fail;
    if (PyModule_AddFunctions(m, ptc_py_rng_methods) < 0 || PyModule_AddFunctions(m, ptc_py_kernel_methods) < 0 ||
        PyModule_AddFunctions(m, ptc_py_kernel2d_methods) < 0 || PyModule_AddFunctions(m, ptc_py_op_methods) < 0 ||
        ptc_py_add_registry(m) < 0)
        goto fail;
    if (PyModule_AddFunctions(m, ptc_py_kernel_seq_methods) < 0) goto fail;
    if (PyModule_AddFunctions(m, ptc_py_constraint_methods) < 0) goto fail;
    if (PyModule_AddIntConstant(m, "OP_ROW", PTC_OP_ROW) < 0 ||
        PyModule_AddIntConstant(m, "MAX_FARG", PTC_MAX_FARG) < 0 ||
        PyModule_AddIntConstant(m, "MAX_IN", PTC_MAX_IN) < 0 ||
        PyModule_AddIntConstant(m, "MAX_PARAM", PTC_MAX_PARAM) < 0 ||
        PyModule_AddIntConstant(m, "MAX_IARG", PTC_MAX_IARG) < 0 ||
        PyModule_AddIntConstant(m, "MAX_METRICS", PTC_MAX_METRICS) < 0 ||
        PyModule_AddIntConstant(m, "MAX_IO", PTC_MAX_IO) < 0)
        goto fail;
    return m;
fail:
    Py_DECREF(&ptc_py_PlanType);
    Py_DECREF(m);
    return NULL;
}
