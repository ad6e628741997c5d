/* What every C loop of the kernels shares: portable spellings of inline, restrict,
   "these iterations are independent" and "compile for AVX2 and AVX-512 too", and how
   a loop written once over the element type NK_T is named for each type. */
#ifndef NK_BASE_H
#define NK_BASE_H

#include <Python.h> /* Py_ssize_t */
#include <stdint.h>
#include <string.h>
#include <math.h>

/* Loops marked NK_VECTORIZE have no dependence between iterations except
   out[j] = f(in[j]) at the same j, which stays correct when out is the very same
   array as an input (in-place use). Telling the compiler so replaces its runtime
   overlap test, which would send the in-place case to the scalar loop. Partial
   overlap of an output with an input is excluded by the kernels' contract.
   NK_ALWAYS_INLINE: a helper that takes the activation as an argument, called with
   a constant, so that each call compiles to the loop of that activation alone. */
#if defined(_MSC_VER)
#define NK_INLINE static __inline
#define NK_ALWAYS_INLINE static __forceinline
#define NK_RESTRICT __restrict
#define NK_VECTORIZE __pragma(loop(ivdep))
#elif defined(__clang__)
#define NK_INLINE static inline
#define NK_ALWAYS_INLINE static inline __attribute__((always_inline))
#define NK_RESTRICT __restrict__
#define NK_VECTORIZE _Pragma("clang loop vectorize(assume_safety)")
#elif defined(__GNUC__)
#define NK_INLINE static inline
#define NK_ALWAYS_INLINE static inline __attribute__((always_inline))
#define NK_RESTRICT __restrict__
#define NK_VECTORIZE _Pragma("GCC ivdep")
#else
#define NK_INLINE static inline
#define NK_ALWAYS_INLINE static inline
#define NK_RESTRICT
#define NK_VECTORIZE
#endif

/* The loops bound by exp, sqrt and division rather than by memory (the sigmoid row
   and the optimizer updates) are also compiled for AVX2 and AVX-512F, picked at load
   time (gcc's target_clones, an ifunc: glibc on x86-64). Without FMA (setup.py
   builds with -ffp-contract=off, so no a * b + c is fused): the same operations, so
   the same bits as the baseline SSE2 code (checked on sigmoid outputs), at 8 or 16
   lanes instead of 4. Measured on a Zen 3 VM, one thread: sigmoid forward 100x784
   191 -> 158 us, Adam 784x250 232 -> 196 us with AVX2; RMSProp gained nothing there
   (bench/README.md has the AVX-512 figure). The functions they call are static
   inline with the default target, which gcc inlines into an ISA-only clone (not
   into an arch= clone: no gain then). NK_NO_CLONES turns this off. */
#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && defined(__GLIBC__) \
    && !defined(NK_NO_CLONES)
#define NK_CLONED static __attribute__((target_clones("avx512f", "avx2", "default"), unused))
#else
#define NK_CLONED NK_INLINE
#endif

/* Independent double accumulators of a long sum (the MSE loss): element j of a row
   goes to accumulator j % NK_SUM_LANES, so the additions can run in vector registers
   while their order stays fixed by the code (not by the thread count, nor by the
   vector width the compiler picked). */
#define NK_SUM_LANES 8

/* A loop written once over the element type NK_T (the nk_*_t.h files) is compiled
   for float and for double by nk_loops.h, which sets NK_T and NK_SUFFIX (f or d)
   around each inclusion: NK_FN(nk_mse_row) is then nk_mse_row_f or nk_mse_row_d. */
#define NK_CAT_(name, suffix) name##_##suffix
#define NK_CAT(name, suffix) NK_CAT_(name, suffix)
#define NK_FN(name) NK_CAT(name, NK_SUFFIX)

#endif /* NK_BASE_H */
