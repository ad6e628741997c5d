"""Inline helpers shared by the kernel modules (nothing here is a kernel)."""
from cython cimport floating
from libc.math cimport exp, expf, log1p, log1pf

cdef enum:
    # Deterministic reductions: rows are cut into at most MAX_ROW_BLOCKS blocks whose
    # size depends on the row count only, each summed in order, then the partial
    # sums are added in block order. The bits are the same for any thread count.
    MAX_ROW_BLOCKS = 256
    MIN_ROWS_PER_BLOCK = 8
    # Column blocks for bias gradients: each block owns its columns, so the sum of
    # a column is always taken over rows 0..n-1 in order.
    COLUMN_BLOCK = 64
    # Below this many elements a parallel region costs more than it saves.
    PARALLEL_MIN_ELEMENTS = 32768


cdef inline Py_ssize_t rows_per_block(Py_ssize_t n_rows) noexcept nogil:
    cdef Py_ssize_t size = (n_rows + MAX_ROW_BLOCKS - 1) // MAX_ROW_BLOCKS
    return size if size > MIN_ROWS_PER_BLOCK else MIN_ROWS_PER_BLOCK


cdef inline bint use_threads(Py_ssize_t n_elements, int n_threads) noexcept nogil:
    return n_threads > 1 and n_elements >= PARALLEL_MIN_ELEMENTS


cdef inline floating fexp(floating v) noexcept nogil:
    if floating is float:
        return expf(v)
    else:
        return exp(v)


cdef inline floating flog1p(floating v) noexcept nogil:
    if floating is float:
        return log1pf(v)
    else:
        return log1p(v)


cdef inline floating sigmoid(floating v) noexcept nogil:
    """1 / (1 + exp(-v)), without overflow for large |v|."""
    cdef floating e
    if v >= 0:
        return 1 / (1 + fexp(-v))
    e = fexp(v)
    return e / (1 + e)
