// Chooses, once at load time, which compiled copy of the kernels runs (isa.h).
#include <stdlib.h>
#include <string.h>

#include "isa.h"

int ptc_isa = PTC_ISA_BASELINE;

static const char *const isa_names[] = {"baseline", "avx2", "avx512"};

#if PTC_MULTIVERSION
// The features target("arch=x86-64-v3") and "v4" let the compiler use. libgcc's
// bits include the OS check (XGETBV) for the AVX and AVX-512 register state.
static int cpu_level(void) {
    __builtin_cpu_init();  // constructors may run before libgcc's own
    const int v3 = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") && __builtin_cpu_supports("bmi") &&
                   __builtin_cpu_supports("bmi2") && __builtin_cpu_supports("f16c") &&
                   __builtin_cpu_supports("movbe") && __builtin_cpu_supports("lzcnt");
    const int v4 = v3 && __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
                   __builtin_cpu_supports("avx512cd") && __builtin_cpu_supports("avx512dq") &&
                   __builtin_cpu_supports("avx512vl");
    return v4 ? PTC_ISA_AVX512 : v3 ? PTC_ISA_AVX2 : PTC_ISA_BASELINE;
}
#define PTC_ISA_BEST PTC_ISA_AVX512
#else
#define PTC_ISA_BEST PTC_ISA_BASELINE
#endif

#if PTC_MULTIVERSION
// PYTRAINC_ISA caps the level (tests compare the copies; users can rule one out);
// an unknown value is ignored here and reported by pytrainc.build_info().
__attribute__((constructor)) static void isa_init(void) {
    int level = cpu_level();
    const char *cap = getenv("PYTRAINC_ISA");
    for (int k = 0; cap && k <= PTC_ISA_AVX512; k++)
        if (strcmp(cap, isa_names[k]) == 0 && k < level) level = k;
    ptc_isa = level;
}
#endif

const char *ptc_isa_name(void) {
    return isa_names[ptc_isa];
}

const char *ptc_isa_compiled(void) {
    return isa_names[PTC_ISA_BEST];
}
