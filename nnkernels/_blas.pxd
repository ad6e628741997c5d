"""Row-major GEMM over scipy.linalg.cython_blas (no GIL)."""
from cython cimport floating

# SciPy's cython_blas takes C int today and is moving towards 64-bit integers:
# every BLAS integer goes through this one typedef.
ctypedef int blas_int

cdef void gemm(bint trans_a, bint trans_b, floating alpha,
               const floating[:, ::1] a,  # IN  (m, k), or (k, m) if trans_a
               const floating[:, ::1] b,  # IN  (k, n), or (n, k) if trans_b
               floating beta,
               floating[:, ::1] c,        # OUT (m, n)
               ) noexcept nogil
