# cython: language_level=3, boundscheck=False, wraparound=False, initializedcheck=False, cdivision=True
"""Row-major GEMM: c = alpha * op(a) @ op(b) + beta * c, in float32 or float64.

BLAS is column-major. A row-major (m, n) matrix is the column-major (n, m) matrix
of its transpose, so c^T = op(b)^T op(a)^T is computed by passing b as BLAS's first
operand and a as its second: no copies.

A product with one row or one column (m == 1 or n == 1: single-sample inference) goes
to gemv: OpenBLAS's gemm is about ten times slower than its gemv on those shapes.
"""
from cython cimport floating
from scipy.linalg.cython_blas cimport dgemm, dgemv, sgemm, sgemv


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
    if m == 1 or n == 1:
        _gemv(trans_a, trans_b, alpha, a, b, beta, c, m, n, k)
        return
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


cdef inline blas_int _step(Py_ssize_t length, Py_ssize_t stride,
                           Py_ssize_t itemsize) noexcept nogil:
    # BLAS increment of a vector; any positive value for a single element.
    return <blas_int>(stride // itemsize if length > 1 else 1)


cdef void _gemv(bint trans_a, bint trans_b, floating alpha,
                const floating[:, ::1] a, const floating[:, ::1] b, floating beta,
                floating[:, ::1] c, blas_int m, blas_int n, blas_int k) noexcept nogil:
    # m == 1: c[0, :] = alpha * op(b)^T op(a)[0, :] + beta * c[0, :]
    # n == 1: c[:, 0] = alpha * op(a) op(b)[:, 0] + beta * c[:, 0]
    # A row-major (r, s) matrix with leading dimension ld is BLAS's column-major
    # (s, r) matrix, so the row-major op is 'T' where no transpose is asked, and 'N'
    # where one is.
    cdef Py_ssize_t size = sizeof(floating), i, j
    cdef char op
    cdef blas_int rows, cols, ld, incx, incy
    cdef const floating* mat
    cdef const floating* x
    if beta == 0:
        # Some OpenBLAS versions compute 0 * y for beta == 0, which turns NaN left in
        # an uninitialised buffer into NaN results: start from zeros instead.
        for i in range(c.shape[0]):
            for j in range(c.shape[1]):
                c[i, j] = 0
    if m == 1:
        mat, x = &b[0, 0], &a[0, 0]
        ld = _leading_dim(b.shape[0], b.shape[1], b.strides[0], size)
        incx = _step(k, a.strides[0], size) if trans_a else 1
        incy = 1
        if trans_b:   # b is (n, k): BLAS's (k, n); y = B^T x
            op, rows, cols = b'T', k, n
        else:         # b is (k, n): BLAS's (n, k); y = B x
            op, rows, cols = b'N', n, k
    else:
        mat, x = &a[0, 0], &b[0, 0]
        ld = _leading_dim(a.shape[0], a.shape[1], a.strides[0], size)
        incx = 1 if trans_b else _step(k, b.strides[0], size)
        incy = _step(m, c.strides[0], size)
        if trans_a:   # a is (k, m): BLAS's (m, k); y = A x
            op, rows, cols = b'N', m, k
        else:         # a is (m, k): BLAS's (k, m); y = A^T x
            op, rows, cols = b'T', k, m
    if floating is float:
        sgemv(&op, &rows, &cols, &alpha, <float*>mat, &ld, <float*>x, &incx, &beta,
              &c[0, 0], &incy)
    else:
        dgemv(&op, &rows, &cols, &alpha, <double*>mat, &ld, <double*>x, &incx, &beta,
              &c[0, 0], &incy)


def _gemm(const floating[:, ::1] a, const floating[:, ::1] b, floating[:, ::1] c,
          bint trans_a, bint trans_b, double alpha, double beta):
    """Unchecked entry point; nnkernels.kernels.gemm validates first."""
    with nogil:
        gemm(trans_a, trans_b, <floating>alpha, a, b, <floating>beta, c)
