// Kernels built for the CPU they run on. Plain C11 plus GCC/Clang attributes;
// never includes Python.h.
//
// PTC_KERNEL compiles one kernel body three times on x86-64 (baseline SSE2,
// x86-64-v3 = AVX2 + FMA, x86-64-v4 = AVX-512 F/BW/CD/DQ/VL) and dispatches
// each call on ptc_isa, chosen once when the library loads (isa.c). Written as
//
//   PTC_KERNEL(, ptc_foo_forward, (float *out, const float *inp, int64_t n), (out, inp, n)) {
//       ... the body, as in a plain function ...
//   }
//
// with the storage class first (empty, or `static`). Only void functions.
// Why not gcc's target_clones: it exports every cloned function and its
// resolver from the extension despite -fvisibility=hidden (gcc 12), needs ifunc
// (glibc), and cannot be capped for tests; one predictable switch per kernel
// call costs nothing next to the loop it dispatches.
//
// Results are bitwise identical across the three: setup.py compiles with
// -ffp-contract=off (no FMA contraction in the v3/v4 copies) and without
// -ffast-math (no reassociated reductions, no vector libm), so each copy performs
// the same float operations in the same order, only more of them per instruction.
//
// Helpers a kernel calls must be `static inline` (or PTC_ALWAYS_INLINE) so that
// they are compiled into each copy; a helper left out of line runs the baseline code.
#ifndef PTC_ISA_H
#define PTC_ISA_H

#include <stdint.h>
#include <string.h>

#if defined(__GNUC__)
#define PTC_ALWAYS_INLINE inline __attribute__((always_inline))
#else
#define PTC_ALWAYS_INLINE inline
#endif

typedef enum {
    PTC_ISA_BASELINE = 0,  // what the compiler targets by default (SSE2 on x86-64)
    PTC_ISA_AVX2 = 1,      // x86-64-v3
    PTC_ISA_AVX512 = 2,    // x86-64-v4
} ptc_isa_level;

// The level the kernels run, set once at load time: the best the CPU (and the
// OS, for the AVX register state) supports among those compiled in, capped by
// the environment variable PYTRAINC_ISA=baseline|avx2|avx512 when it is set.
extern int ptc_isa;

// "baseline", "avx2" or "avx512": the level kernels run (ptc_isa), and the best
// level compiled into this build (pytrainc.build_info() through the binding).
const char *ptc_isa_name(void);
const char *ptc_isa_compiled(void);

// GCC >= 11 knows the x86-64-v3/v4 levels; other compilers (Clang included, untested
// here) and other architectures build the baseline only, as does -DPTC_NO_MULTIVERSION.
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__) && __GNUC__ >= 11 && !defined(PTC_NO_MULTIVERSION)
#define PTC_MULTIVERSION 1
#define PTC_TARGET_AVX2 __attribute__((target("arch=x86-64-v3")))
#define PTC_TARGET_AVX512 __attribute__((target("arch=x86-64-v4")))

#define PTC_KERNEL(storage, name, params, args)          \
    static PTC_ALWAYS_INLINE void name##_impl params;    \
    PTC_TARGET_AVX2 static void name##_avx2 params {     \
        name##_impl args;                                \
    }                                                    \
    PTC_TARGET_AVX512 static void name##_avx512 params { \
        name##_impl args;                                \
    }                                                    \
    storage void name params {                           \
        switch (ptc_isa) {                               \
            case PTC_ISA_AVX512:                         \
                name##_avx512 args;                      \
                break;                                   \
            case PTC_ISA_AVX2:                           \
                name##_avx2 args;                        \
                break;                                   \
            default:                                     \
                name##_impl args;                        \
                break;                                   \
        }                                                \
    }                                                    \
    static PTC_ALWAYS_INLINE void name##_impl params
#else
#define PTC_MULTIVERSION 0
#define PTC_KERNEL(storage, name, params, args) storage void name params
#endif

// Branch-free selects for loops that must vectorize. GCC will not if-convert a
// float compare under the default -ftrapping-math (it treats the choice as control
// flow), but it does vectorize the compare's integer value and a bitwise blend of
// two values computed beforehand. ptc_select(c, a, b) is c ? a : b for c in {0, 1}.
static inline uint32_t ptc_bits_of(float v) {
    uint32_t u;
    memcpy(&u, &v, sizeof u);
    return u;
}

static inline float ptc_float_of(uint32_t u) {
    float v;
    memcpy(&v, &u, sizeof v);
    return v;
}

static inline float ptc_select(int c, float a, float b) {
    const uint32_t m = -(uint32_t)c;
    return ptc_float_of((ptc_bits_of(a) & m) | (ptc_bits_of(b) & ~m));
}

#endif  // PTC_ISA_H
