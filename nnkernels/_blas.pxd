"""Row-major GEMM over the BLAS chosen at import (the scipy-openblas32 wheel's OpenBLAS,
else SciPy's), no GIL; float32 products may go to oneDNN's sgemm instead, where it
measured faster on this machine (python/nnkernels/_gemm_choice.py), held to the calling
thread like the pinned OpenBLAS."""
from cython cimport floating

# The 32-bit-integer (LP64) BLAS interface; SciPy is moving towards 64-bit integers:
# every BLAS integer goes through this one typedef.
ctypedef int blas_int

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

# float32 c (m, n) = op(a) op(b) on a library's own n_threads threads (0: OpenBLAS,
# 1: oneDNN, which must be loaded), from the calling thread; for measurements.
cdef void library_sgemm(int library, bint trans_a, bint trans_b, const float* a,
                        Py_ssize_t s_a, const float* b, Py_ssize_t s_b, float* c,
                        Py_ssize_t s_c, Py_ssize_t m, Py_ssize_t n, Py_ssize_t k,
                        int n_threads) noexcept nogil
