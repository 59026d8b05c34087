// The op table: one row per registered op (ops.def), with its slot names and the
// four adapters its family file defines (ptc_op_<name>_check, _scratch, _forward,
// _backward, declared in ops.h). The engine dispatches through it and nothing else.
#include <stddef.h>

#include "ops.h"

// Names of an op's slots, NULL-terminated (a list may be empty).
#define NAME_STR(ID, NAME) #NAME,
#define OP_NAMES(ID, name, MIN_IN, MAX_IN)                                                  \
    static const char *const name##_param_names[] = {PTC_##ID##_PARAMS(NAME_STR, ID) NULL}; \
    static const char *const name##_iarg_names[] = {PTC_##ID##_IARGS(NAME_STR, ID) NULL};   \
    static const char *const name##_farg_names[] = {PTC_##ID##_FARGS(NAME_STR, ID) NULL};
PTC_OPS(OP_NAMES)

#define OP_ENTRY(ID, name, MIN_IN, MAX_IN)    \
    [PTC_OP_##ID] = {#name,                   \
                     MIN_IN,                  \
                     MAX_IN,                  \
                     PTC_##ID##_N_PARAMS,     \
                     PTC_##ID##_N_IARGS,      \
                     PTC_##ID##_N_FARGS,      \
                     name##_param_names,      \
                     name##_iarg_names,       \
                     name##_farg_names,       \
                     ptc_op_##name##_check,   \
                     ptc_op_##name##_scratch, \
                     ptc_op_##name##_forward, \
                     ptc_op_##name##_backward},
const ptc_op_info ptc_op_table[PTC_OP_COUNT] = {PTC_OPS(OP_ENTRY)};
