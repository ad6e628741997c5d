"""Row-major GEMM over the BLAS chosen at import (the scipy-openblas32 wheel's OpenBLAS,
else SciPy's), no GIL; float32 products may go to oneDNN's sgemm instead, where it
measured faster on this machine (python/nnkernels/_gemm_choice.py), held to the calling
thread like the pinned OpenBLAS."""
from cython cimport floating
from libc.stdint cimport int64_t

# The 32-bit-integer (LP64) BLAS interface; SciPy is moving towards 64-bit integers:
# every BLAS integer goes through this one typedef.
ctypedef int blas_int

# The library routines (src/nk_blas.h). nnkernels._blas_loader finds them and hands them
# over with the setters at the end of this file; the products below read them.
cdef extern from "nk_blas.h" nogil:
    ctypedef void (*nk_sgemm_fn)(char*, char*, int*, int*, int*, float*, float*, int*,
                                 float*, int*, float*, float*, int*) noexcept
    ctypedef void (*nk_dgemm_fn)(char*, char*, int*, int*, int*, double*, double*, int*,
                                 double*, int*, double*, double*, int*) noexcept
    ctypedef void (*nk_sgemv_fn)(char*, int*, int*, float*, float*, int*, float*, int*,
                                 float*, float*, int*) noexcept
    ctypedef void (*nk_dgemv_fn)(char*, int*, int*, double*, double*, int*, double*, int*,
                                 double*, double*, int*) noexcept
    ctypedef void (*nk_set_threads_fn)(int) noexcept
    ctypedef int (*nk_get_threads_fn)() noexcept
    ctypedef struct nk_blas_routines:
        nk_sgemm_fn sgemm
        nk_dgemm_fn dgemm
        nk_sgemv_fn sgemv
        nk_dgemv_fn dgemv
        nk_set_threads_fn set_threads  # NULL: the library's threads are not ours to set
        nk_get_threads_fn get_threads
    ctypedef int (*nk_dnnl_sgemm_fn)(char, char, int64_t, int64_t, int64_t, float,
                                     const float*, int64_t, const float*, int64_t, float,
                                     float*, int64_t) noexcept
    enum:
        OPENBLAS "NK_OPENBLAS"  # the routines of use_routines, whichever library
        ONEDNN "NK_ONEDNN"      # float32 only

# Pointer form: c (m, n) = alpha op(a) op(b) + beta c, op(a) (m, k), op(b) (k, n);
# row i of a starts at a + i * s_a (likewise b, c).
cdef void gemm_rows(bint trans_a, bint trans_b, floating alpha,
                    const floating* a, Py_ssize_t s_a,
                    const floating* b, Py_ssize_t s_b,
                    floating beta, floating* c, Py_ssize_t s_c,
                    Py_ssize_t m, Py_ssize_t n, Py_ssize_t k) noexcept nogil

# The pointer form split across n_threads of the caller's OpenMP threads when the BLAS
# is pinned to one thread (or float32 goes to oneDNN) and the product is large enough;
# else gemm_rows. Not to be called inside a parallel region.
cdef void gemm_threads(bint trans_a, bint trans_b, floating alpha,
                       const floating* a, Py_ssize_t s_a,
                       const floating* b, Py_ssize_t s_b,
                       floating beta, floating* c, Py_ssize_t s_c,
                       Py_ssize_t m, Py_ssize_t n, Py_ssize_t k,
                       int n_threads) noexcept nogil

# Memoryview form.
cdef void gemm(bint trans_a, bint trans_b, floating alpha,
               const floating[:, ::1] a,  # IN  (m, k), or (k, m) if trans_a
               const floating[:, ::1] b,  # IN  (k, n), or (n, k) if trans_b
               floating beta,
               floating[:, ::1] c,        # OUT (m, n)
               ) noexcept nogil

# The thread count of the BLAS library the kernels call (0: unknown, not settable: a
# BLAS other than OpenBLAS); setting it changes it for the whole process.
cdef int blas_get_threads() noexcept nogil
cdef void blas_set_threads(int n) noexcept nogil

# Thread t of nt threads of a parallel region: its block of c's columns (rows when c is
# taller than wide), as gemm_threads and the plans split a product.
cdef void gemm_block(int t, int nt, bint trans_a, bint trans_b, floating alpha,
                     const floating* a, Py_ssize_t s_a, const floating* b,
                     Py_ssize_t s_b, floating beta, floating* c, Py_ssize_t s_c,
                     Py_ssize_t m, Py_ssize_t n, Py_ssize_t k) noexcept nogil

# float32 c (m, n) = op(a) op(b) on a library's own n_threads threads (OPENBLAS, or
# ONEDNN, which must be loaded), from the calling thread; for measurements.
cdef void library_sgemm(int library, bint trans_a, bint trans_b, const float* a,
                        Py_ssize_t s_a, const float* b, Py_ssize_t s_b, float* c,
                        Py_ssize_t s_c, Py_ssize_t m, Py_ssize_t n, Py_ssize_t k,
                        int n_threads) noexcept nogil

# Set by nnkernels._blas_loader (not to be called while products run).
# routines: every product's BLAS; pinned: the library is the kernels' alone, pinned here
# to one thread (gemm_threads then splits products across the kernels' threads).
cdef void use_routines(nk_blas_routines routines, bint pinned) noexcept nogil
# oneDNN's sgemm (NULL: none); float32 products go to it only once route_float says so.
cdef void use_dnnl_sgemm(nk_dnnl_sgemm_fn sgemm) noexcept nogil
# The library (OPENBLAS or ONEDNN) of float32 products with at least two rows and two
# columns (gemm), and of those with one row or one column (gemv).
cdef void route_float(int gemm, int gemv) noexcept nogil
