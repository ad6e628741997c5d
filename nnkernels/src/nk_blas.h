/* The library routines the kernels' products call (nnkernels/_blas.pyx), as found by
   nnkernels/_blas_loader.pyx: in an OpenBLAS loaded with dlopen, in SciPy's cython_blas
   table, and (float32 only) in oneDNN. Declared here because the scipy-openblas32 and
   oneDNN wheels ship no headers a build could include. The loader fills an
   nk_blas_routines and hands it to _blas (use_routines): a Cython module's C variables
   are its own, so the table lives in _blas alone and the loader only writes it. */
#ifndef NK_BLAS_H
#define NK_BLAS_H

#include <stdint.h>

/* The Fortran interface with 32-bit integers (LP64), column-major. */
typedef void (*nk_sgemm_fn)(char *, char *, int *, int *, int *, float *, float *, int *,
                            float *, int *, float *, float *, int *);
typedef void (*nk_dgemm_fn)(char *, char *, int *, int *, int *, double *, double *, int *,
                            double *, int *, double *, double *, int *);
typedef void (*nk_sgemv_fn)(char *, int *, int *, float *, float *, int *, float *, int *,
                            float *, float *, int *);
typedef void (*nk_dgemv_fn)(char *, int *, int *, double *, double *, int *, double *,
                            int *, double *, double *, int *);
typedef void (*nk_set_threads_fn)(int);
typedef int (*nk_get_threads_fn)(void);

typedef struct {
    nk_sgemm_fn sgemm;
    nk_dgemm_fn dgemm;
    nk_sgemv_fn sgemv;
    nk_dgemv_fn dgemv;
    nk_set_threads_fn set_threads; /* NULL: the library's threads are not ours to set */
    nk_get_threads_fn get_threads;
} nk_blas_routines;

/* oneDNN: C(M, N) = alpha op(A) op(B) + beta C, row-major, lda..ldc the row strides;
   returns a dnnl_status_t (0: success). */
typedef int (*nk_dnnl_sgemm_fn)(char, char, int64_t, int64_t, int64_t, float,
                                const float *, int64_t, const float *, int64_t, float,
                                float *, int64_t);

/* Which library float32 products go to (set_float_backend), and library_sgemm's
   `library` argument. */
enum nk_gemm_library { NK_OPENBLAS = 0, NK_ONEDNN = 1 };

#endif
