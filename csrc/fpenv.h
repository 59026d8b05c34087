// The floating-point environment of the engine's calls. Plain C11; never includes Python.h.
//
// Denormal (subnormal) floats cost 10-100x a normal operation on x86 when an
// instruction meets one: Adam's first moment m of a unit whose gradient stays 0
// decays by beta_1 per step into the denormal range and stays there for about
// 100 steps, and then the whole optimizer loop slows down several times
// (issue 15). The engine's public calls therefore run with FTZ (results that
// would be denormal are 0) and DAZ (denormal inputs read as 0), as TensorFlow
// runs its CPU threads, and give the caller back its own state on return.
// Values that differ are below 1.2e-38 in magnitude.
//
// Only the calling thread's MXCSR changes: OpenBLAS's worker threads keep theirs.
#ifndef PTC_FPENV_H
#define PTC_FPENV_H

typedef struct {
    unsigned int mxcsr;  // x86: the caller's MXCSR; unused elsewhere
} ptc_fpenv;

// Saves the caller's state into *saved and sets FTZ and DAZ (x86-64; a no-op elsewhere).
void ptc_fpenv_enter(ptc_fpenv *saved);
// Restores the state ptc_fpenv_enter saved: rounding, masks, FTZ/DAZ and exception flags.
void ptc_fpenv_leave(const ptc_fpenv *saved);
// ptc_fpenv_leave, then status, for every return of a call that entered:
//   return ptc_fpenv_return(&saved, PTC_OK);
static inline int ptc_fpenv_return(const ptc_fpenv *saved, int status) {
    ptc_fpenv_leave(saved);
    return status;
}

#endif  // PTC_FPENV_H
