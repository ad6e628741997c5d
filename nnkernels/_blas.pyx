# cython: language_level=3, boundscheck=False, wraparound=False, initializedcheck=False, cdivision=True
"""Row-major GEMM: c = alpha * op(a) @ op(b) + beta * c, in float32 or float64.

BLAS is column-major. A row-major (m, n) matrix is the column-major (n, m) matrix
of its transpose, so c^T = op(b)^T op(a)^T is computed by passing b as BLAS's first
operand and a as its second: no copies.
"""
from cython cimport floating
from scipy.linalg.cython_blas cimport sgemm, dgemm


cdef inline blas_int _leading_dim(Py_ssize_t rows, Py_ssize_t cols, Py_ssize_t row_stride,
                                  Py_ssize_t itemsize) noexcept nogil:
    # From the stride, not the shape (a row slice of a wider array has ld > cols).
    # A single row may carry any stride; BLAS then needs ld >= max(1, cols).
    if rows <= 1:
        return <blas_int>(cols if cols > 1 else 1)
    return <blas_int>(row_stride // itemsize)


cdef void gemm(bint trans_a, bint trans_b, floating alpha,
               const floating[:, ::1] a,
               const floating[:, ::1] b,
               floating beta,
               floating[:, ::1] c) noexcept nogil:
    cdef blas_int m = <blas_int>c.shape[0]
    cdef blas_int n = <blas_int>c.shape[1]
    cdef blas_int k = <blas_int>(a.shape[0] if trans_a else a.shape[1])
    cdef Py_ssize_t i, j
    if m == 0 or n == 0:
        return  # BLAS rejects zero dimensions (xerbla aborts the process).
    if k == 0:
        for i in range(m):
            for j in range(n):
                c[i, j] = 0 if beta == 0 else beta * c[i, j]
        return
    cdef Py_ssize_t size = sizeof(floating)
    cdef blas_int lda = _leading_dim(a.shape[0], a.shape[1], a.strides[0], size)
    cdef blas_int ldb = _leading_dim(b.shape[0], b.shape[1], b.strides[0], size)
    cdef blas_int ldc = _leading_dim(c.shape[0], c.shape[1], c.strides[0], size)
    cdef char blas_ta = b'T' if trans_b else b'N'
    cdef char blas_tb = b'T' if trans_a else b'N'
    if floating is float:
        sgemm(&blas_ta, &blas_tb, &n, &m, &k, &alpha, <float*>&b[0, 0], &ldb,
              <float*>&a[0, 0], &lda, &beta, &c[0, 0], &ldc)
    else:
        dgemm(&blas_ta, &blas_tb, &n, &m, &k, &alpha, <double*>&b[0, 0], &ldb,
              <double*>&a[0, 0], &lda, &beta, &c[0, 0], &ldc)


def _gemm(const floating[:, ::1] a, const floating[:, ::1] b, floating[:, ::1] c,
          bint trans_a, bint trans_b, double alpha, double beta):
    """Unchecked entry point; nnkernels.kernels.gemm validates first."""
    with nogil:
        gemm(trans_a, trans_b, <floating>alpha, a, b, <floating>beta, c)
