// Array checks, status-to-exception mapping and Ctrl-C handling for the binding.
#include "common.h"  // first: Python.h sets the POSIX feature macros signal.h needs

#include <math.h>
#include <signal.h>
#include <string.h>

#include "../ops.h"

// Array checking

// Returns a borrowed PyArrayObject* if obj is an ndarray of the given dtype,
// C-contiguous and aligned (and writeable when asked), else sets TypeError/ValueError.
PyArrayObject *ptc_py_check_array(PyObject *obj, int typenum, int ndim, int writeable, const char *name) {
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
        PyErr_Format(PyExc_ValueError, "%s must have %d dimension(s). Received: ndim=%d", name, ndim, PyArray_NDIM(a));
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

// xoshiro256** never leaves the all-zero state (every draw would be 0, and
// rejection sampling would loop forever), so such a state is refused.
int ptc_py_rng_is_zero(const uint64_t *s) {
    return !(s[0] | s[1] | s[2] | s[3]);
}

int ptc_py_raise_status(ptc_status st, const char *what) {
    switch (st) {
        case PTC_OK:
        case PTC_STOPPED_NONFINITE:
            return 0;
        case PTC_ERR_NOMEM:
            PyErr_Format(PyExc_MemoryError, "%s: out of memory", what);
            return -1;
        case PTC_ERR_INTERRUPTED:
            // The signal handler below chained to Python's, so this usually raises
            // KeyboardInterrupt (or whatever the user's SIGINT handler raises).
            if (PyErr_CheckSignals() == 0) PyErr_SetNone(PyExc_KeyboardInterrupt);
            return -1;
        case PTC_ERR_SIZE:
            PyErr_Format(PyExc_ValueError,
                         "%s: the requested sizes overflow or exceed what the kernels can index "
                         "(a batch or layer too large for this machine)",
                         what);
            return -1;
        case PTC_ERR_LABEL:
            PyErr_Format(PyExc_ValueError,
                         "%s: a label is out of range for the loss (sparse labels must be integer "
                         "class indices in [0, number of classes))",
                         what);
            return -1;
        case PTC_ERR_OP:
            PyErr_Format(PyExc_ValueError, "%s: an op of the plan is malformed", what);
            return -1;
        case PTC_ERR_STATE:
            PyErr_Format(PyExc_RuntimeError, "%s: the plan lacks its loss, its optimizer or a dropout op's generator",
                         what);
            return -1;
        case PTC_ERR_VALUE:
            PyErr_Format(PyExc_ValueError, "%s: invalid argument", what);
            return -1;
        case PTC_ERR_INDEX:
            PyErr_Format(PyExc_ValueError, "%s: an index input (an Embedding id) is not an integer in range", what);
            return -1;
        case PTC_ERR_NONFINITE:
            PyErr_Format(PyExc_ValueError, "%s: x contains NaN or infinite value(s); expected finite numbers", what);
            return -1;
    }
    PyErr_Format(PyExc_SystemError, "%s: unknown status %d", what, (int)st);
    return -1;
}

// A ValueError naming op bad_op and the id it received; its op_index attribute
// lets Python name the layer that emitted the op.
static int raise_index_error(const ptc_plan *plan, const char *what) {
    const ptc_op *op = &plan->ops[plan->bad_op];
    PyObject *value = PyFloat_FromDouble(plan->bad_value);
    const int take = op->kind == PTC_OP_TAKE;  // ops.take: indices in [-A, A); an Embedding: ids in [0, V)
    const long long n = take ? (long long)op->iarg[PTC_TAKE_EXTENT] : (long long)op->iarg[PTC_EMBEDDING_V];
    PyObject *msg =
        value ? PyUnicode_FromFormat("%s: op %d (%s) expects integer %s in [%lld, %lld)%s. Received: a value of %R",
                                     what, plan->bad_op, ptc_op_table[op->kind].name, take ? "indices" : "ids",
                                     take ? -n : 0LL, n, take ? "" : " (input_dim)", value)
              : NULL;
    Py_XDECREF(value);
    PyObject *exc = msg ? PyObject_CallFunctionObjArgs(PyExc_ValueError, msg, NULL) : NULL;
    PyObject *index = exc ? PyLong_FromLong(plan->bad_op) : NULL;
    if (index && PyObject_SetAttrString(exc, "op_index", index) == 0) PyErr_SetObject(PyExc_ValueError, exc);
    Py_XDECREF(index);
    Py_XDECREF(exc);
    Py_XDECREF(msg);
    return -1;
}

int ptc_py_raise_plan_status(ptc_status st, const ptc_plan *plan, const char *what) {
    if (st == PTC_ERR_INDEX && plan->ops && plan->bad_op >= 0 && plan->bad_op < plan->n_ops &&
        (plan->ops[plan->bad_op].kind == PTC_OP_EMBEDDING || plan->ops[plan->bad_op].kind == PTC_OP_TAKE))
        return raise_index_error(plan, what);
    if (st != PTC_ERR_OP || plan->bad_op < 0) return ptc_py_raise_status(st, what);
    const ptc_op *op = plan->ops ? &plan->ops[plan->bad_op] : NULL;
    PyErr_Format(PyExc_ValueError,
                 "%s: op %d is malformed: its kind, inputs, arguments or parameters do not fit the plan's buffers",
                 what, plan->bad_op);
    (void)op;
    return -1;
}

// ---------------------------------------------------------------------------
// Ctrl-C while the GIL is released. Every engine call has its own stop token
// (a local int the engine reads between batches), so no call can reset or
// see another's. At most one call, the main thread's (Python delivers SIGINT
// to the main thread only), registers its token with the SIGINT handler; the
// handler sets that token, then calls the previous (Python's) handler so that
// Python's signal machinery also sees the signal. Calls in other threads are
// never stopped by Ctrl-C.

static volatile int *volatile sigint_token = NULL;  // the registered call's token, or NULL
static struct sigaction prev_sigint;

static void on_sigint(int sig) {
    volatile int *token = sigint_token;
    if (token) *token = 1;
    if (!(prev_sigint.sa_flags & SA_SIGINFO) && prev_sigint.sa_handler != SIG_DFL &&
        prev_sigint.sa_handler != SIG_IGN && prev_sigint.sa_handler != NULL)
        prev_sigint.sa_handler(sig);
}

// Whether the calling thread is Python's main thread (the one signals go to);
// -1 with an exception set if threading cannot tell.
static int in_main_thread(void) {
    PyObject *threading = NULL, *main = NULL, *ident = NULL;
    int ret = -1;
    if (!(threading = PyImport_ImportModule("threading"))) goto cleanup;
    if (!(main = PyObject_CallMethod(threading, "main_thread", NULL))) goto cleanup;
    if (!(ident = PyObject_GetAttrString(main, "ident"))) goto cleanup;
    unsigned long id = PyLong_AsUnsignedLong(ident);
    if (id == (unsigned long)-1 && PyErr_Occurred()) goto cleanup;
    ret = id == PyThread_get_thread_ident();
cleanup:
    Py_XDECREF(ident);
    Py_XDECREF(main);
    Py_XDECREF(threading);
    return ret;
}

int ptc_py_stop_begin(ptc_py_stop *stop, int interruptible) {
    stop->token = 0;
    stop->watching = 0;
    if (!interruptible || sigint_token) return 0;
    int is_main = in_main_thread();
    if (is_main < 0) return -1;
    if (!is_main) return 0;  // Ctrl-C never stops a call made by another thread
    // A Ctrl-C that arrived before this call is raised now, not swallowed.
    if (PyErr_CheckSignals() < 0) return -1;
    struct sigaction cur;
    if (sigaction(SIGINT, NULL, &cur) != 0) return 0;
    if (!(cur.sa_flags & SA_SIGINFO) && cur.sa_handler == SIG_IGN) return 0;  // respect an ignored SIGINT
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_sigint;
    sigemptyset(&sa.sa_mask);
    sigint_token = &stop->token;  // before the handler can run
    if (sigaction(SIGINT, &sa, &prev_sigint) == 0) {
        stop->watching = 1;
    } else {
        sigint_token = NULL;
    }
    return 0;
}

void ptc_py_stop_end(ptc_py_stop *stop) {
    if (!stop->watching) return;
    sigaction(SIGINT, &prev_sigint, NULL);
    sigint_token = NULL;
    stop->watching = 0;
}
