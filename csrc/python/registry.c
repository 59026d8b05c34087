// The registries (ops.def, kinds.def) as Python dicts: _C.OPS, _C.ACTIVATIONS, ...
// Python reads every id and argument name from here and never writes one.
#include "common.h"

#include <ctype.h>
#include <string.h>
#include "../ops.h"

// A new str: name in lower case (the registries spell names in upper case).
static PyObject *lower(const char *name) {
    char buf[64];
    size_t n = strlen(name);
    if (n >= sizeof(buf)) n = sizeof(buf) - 1;
    for (size_t i = 0; i < n; i++) buf[i] = (char)tolower((unsigned char)name[i]);
    buf[n] = '\0';
    return PyUnicode_FromString(buf);
}

// A tuple of the lower-cased names of a NULL-terminated list.
static PyObject *name_tuple(const char *const *names) {
    Py_ssize_t n = 0;
    while (names[n]) n++;
    PyObject *t = PyTuple_New(n);
    if (!t) return NULL;
    for (Py_ssize_t i = 0; i < n; i++) {
        PyObject *s = lower(names[i]);
        if (!s) {
            Py_DECREF(t);
            return NULL;
        }
        PyTuple_SET_ITEM(t, i, s);
    }
    return t;
}

// Steals value; sets d[lower(key)] = value.
static int set_lower(PyObject *d, const char *key, PyObject *value) {
    PyObject *k = value ? lower(key) : NULL;
    int ret = k ? PyDict_SetItem(d, k, value) : -1;
    Py_XDECREF(k);
    Py_XDECREF(value);
    return ret;
}

static PyObject *ops_dict(void) {
    PyObject *d = PyDict_New();
    if (!d) return NULL;
    for (int id = PTC_OP_NONE + 1; id < PTC_OP_COUNT; id++) {
        const ptc_op_info *o = &ptc_op_table[id];
        PyObject *params = name_tuple(o->param_names), *iargs = name_tuple(o->iarg_names),
                 *fargs = name_tuple(o->farg_names);
        PyObject *entry = (params && iargs && fargs)
                              ? Py_BuildValue("{s:i,s:i,s:i,s:O,s:O,s:O}", "id", id, "min_in", o->min_in, "max_in",
                                              o->max_in, "params", params, "iargs", iargs, "fargs", fargs)
                              : NULL;
        Py_XDECREF(params);
        Py_XDECREF(iargs);
        Py_XDECREF(fargs);
        if (set_lower(d, o->name, entry) < 0) {
            Py_DECREF(d);
            return NULL;
        }
    }
    return d;
}

// {name: id} for a kind list; first is the id of the list's first entry.
static PyObject *kinds_dict(const char *const *names, int first) {
    PyObject *d = PyDict_New();
    for (int i = 0; d && names[i]; i++)
        if (set_lower(d, names[i], PyLong_FromLong(first + i)) < 0) Py_CLEAR(d);
    return d;
}

#define KIND_STR(NAME) #NAME,
static const char *const act_names[] = {PTC_ACTIVATIONS(KIND_STR) NULL};
static const char *const loss_names[] = {PTC_LOSSES(KIND_STR) NULL};
static const char *const metric_names[] = {PTC_METRICS(KIND_STR) NULL};
static const char *const opt_names[] = {PTC_OPTIMIZERS(KIND_STR) NULL};
static const char *const hyper_names[] = {PTC_OPTIMIZER_HYPER(KIND_STR) NULL};
static const char *const loss_param_names[] = {PTC_LOSS_PARAMS(KIND_STR) NULL};
static const char *const loss_reduction_names[] = {PTC_LOSS_REDUCTIONS(KIND_STR) NULL};
static const char *const sched_names[] = {PTC_SCHEDULES(KIND_STR) NULL};
static const char *const unary_names[] = {PTC_UNARY_KINDS(KIND_STR) NULL};
static const char *const binary_names[] = {PTC_BINARY_KINDS(KIND_STR) NULL};
static const char *const reduce_names[] = {PTC_REDUCE_KINDS(KIND_STR) NULL};
static const char *const constraint_names[] = {PTC_CONSTRAINTS(KIND_STR) NULL};
#define FLAG_STR(NAME, name, BIT) #NAME,
#define FLAG_BIT(NAME, name, BIT) BIT,
static const char *const flag_names[] = {PTC_OP_FLAGS(FLAG_STR) NULL};
static const int flag_bits[] = {PTC_OP_FLAGS(FLAG_BIT) 0};
#define SCHED_PARAM_STR(K, NAME) #NAME,
#define SCHED_PARAM_LIST(K) \
    static const char *const sched_##K##_params[] = {PTC_SCHED_##K##_PARAMS(SCHED_PARAM_STR, K) NULL};
PTC_SCHEDULES(SCHED_PARAM_LIST)
#define SCHED_PARAM_ROW(K) sched_##K##_params,
static const char *const *const sched_params[] = {PTC_SCHEDULES(SCHED_PARAM_ROW) NULL};

_Static_assert(sizeof(act_names) / sizeof(act_names[0]) == PTC_ACT_COUNT + 1, "activation table out of step");
_Static_assert(sizeof(loss_names) / sizeof(loss_names[0]) == PTC_LOSS_COUNT, "loss table out of step");
_Static_assert(sizeof(sched_names) / sizeof(sched_names[0]) == PTC_SCHED_COUNT + 1, "schedule table out of step");
_Static_assert(sizeof(hyper_names) / sizeof(hyper_names[0]) == PTC_HYPER_COUNT + 1, "hyper table out of step");
_Static_assert(sizeof(loss_param_names) / sizeof(loss_param_names[0]) == PTC_LOSS_N_PARAMS + 1,
               "loss parameter table out of step");

int ptc_py_add_registry(PyObject *m) {
    PyObject *flags = PyDict_New(), *sp = PyDict_New();
    for (int i = 0; flags && flag_names[i]; i++)
        if (set_lower(flags, flag_names[i], PyLong_FromLong(flag_bits[i])) < 0) Py_CLEAR(flags);
    for (int i = 0; sp && sched_names[i]; i++)
        if (set_lower(sp, sched_names[i], name_tuple(sched_params[i])) < 0) Py_CLEAR(sp);
    struct {
        const char *name;
        PyObject *value;
    } items[] = {
        {"OPS", ops_dict()},
        {"OP_FLAGS", flags},
        {"ACTIVATIONS", kinds_dict(act_names, 0)},
        {"LOSSES", kinds_dict(loss_names, PTC_LOSS_NONE + 1)},
        {"METRICS", kinds_dict(metric_names, PTC_METRIC_NONE + 1)},
        {"OPTIMIZERS", kinds_dict(opt_names, PTC_OPT_NONE + 1)},
        {"OPTIMIZER_HYPER", name_tuple(hyper_names)},
        {"SCHEDULES", kinds_dict(sched_names, 0)},
        {"SCHEDULE_PARAMS", sp},
        {"UNARY_KINDS", kinds_dict(unary_names, 0)},
        {"BINARY_KINDS", kinds_dict(binary_names, 0)},
        {"REDUCE_KINDS", kinds_dict(reduce_names, 0)},
        {"LOSS_PARAMS", name_tuple(loss_param_names)},
        // An optimizer's variable rows (ptc.h): their width and the flag bits of their last column.
        {"OPTIMIZER_SLICE", Py_BuildValue("{s:i,s:i}", "width", PTC_SLICE_WIDTH, "no_decay", PTC_SLICE_NO_DECAY)},
        // Weight constraints (csrc/python/constraints.c): rows [offset, kind, rank, axes, dims...].
        {"CONSTRAINTS", kinds_dict(constraint_names, 0)},
        {"CONSTRAINT_ROW",
         Py_BuildValue("{s:i,s:i}", "width", 4 + PTC_CONSTRAINT_MAX_RANK, "max_rank", PTC_CONSTRAINT_MAX_RANK)},
        {"LOSS_REDUCTIONS", kinds_dict(loss_reduction_names, 0)},
    };
    int ret = 0;
    for (size_t i = 0; i < sizeof(items) / sizeof(items[0]); i++) {
        if (ret == 0 && (!items[i].value || PyModule_AddObject(m, items[i].name, items[i].value) < 0)) {
            ret = -1;
            Py_XDECREF(items[i].value);
        } else if (ret != 0) {
            Py_XDECREF(items[i].value);
        }
    }
    return ret;
}
