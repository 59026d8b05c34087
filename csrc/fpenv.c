// FTZ/DAZ around the engine's calls (fpenv.h).
#include "fpenv.h"

#if defined(__x86_64__)
#include <immintrin.h>
#include <string.h>

#define PTC_MXCSR_DAZ (1u << 6)   // denormals are zero (inputs)
#define PTC_MXCSR_FTZ (1u << 15)  // flush to zero (results)

// The MXCSR bits this CPU implements (FXSAVE's MXCSR_MASK; 0 means the default
// 0xFFBF). Setting an unimplemented bit faults, and a few early x86-64 CPUs lack DAZ.
static unsigned int mxcsr_mask(void) {
    _Alignas(16) unsigned char area[512];
    unsigned int mask;
    memset(area, 0, sizeof area);
    _fxsave(area);
    memcpy(&mask, area + 28, sizeof mask);
    return mask ? mask : 0xFFBFu;
}

void ptc_fpenv_enter(ptc_fpenv *saved) {
    saved->mxcsr = _mm_getcsr();
    _mm_setcsr(saved->mxcsr | ((PTC_MXCSR_DAZ | PTC_MXCSR_FTZ) & mxcsr_mask()));
}

void ptc_fpenv_leave(const ptc_fpenv *saved) {
    _mm_setcsr(saved->mxcsr);
}
#else
void ptc_fpenv_enter(ptc_fpenv *saved) {
    saved->mxcsr = 0;
}

void ptc_fpenv_leave(const ptc_fpenv *saved) {
    (void)saved;
}
#endif
