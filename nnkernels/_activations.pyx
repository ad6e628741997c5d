# cython: language_level=3, boundscheck=False, wraparound=False, initializedcheck=False, cdivision=True
"""Fused bias + activation kernels; see _activations.pxd for the contract."""
from cython cimport floating
from cython.parallel cimport prange

from nnkernels._common cimport (COLUMN_BLOCK, block_act_backward, row_bias_act,
                                row_stride, use_threads, COST_CHEAP, COST_EXP)

# The codes of the activations (src/nk_loops.h), for Python: the registry
# (python/nnkernels/activations.py) gives each record its code, which the step plan takes.
CODE_IDENTITY = IDENTITY
CODE_RELU = RELU
CODE_SIGMOID = SIGMOID


cdef void bias_act_rows(const floating* x, Py_ssize_t s_x, const floating* bias,
                        floating* out, Py_ssize_t s_out, Py_ssize_t n, Py_ssize_t m,
                        Activation act, int n_threads) noexcept nogil:
    cdef Py_ssize_t i
    if n == 0 or m == 0:
        return
    # One row per call: a vectorised C loop over raw pointers (see _common.pxd). The
    # serial branch skips the OpenMP region, whose entry costs ~0.7 us even unthreaded.
    if use_threads(n * m, n_threads, COST_EXP if act == SIGMOID else COST_CHEAP):
        for i in prange(n, schedule="static", num_threads=n_threads):
            row_bias_act(x + i * s_x, bias, out + i * s_out, m, act)
    else:
        for i in range(n):
            row_bias_act(x + i * s_x, bias, out + i * s_out, m, act)


cdef void _backward_block(const floating* dy, Py_ssize_t s_dy,
                          const floating* y, Py_ssize_t s_y,
                          floating* dx, Py_ssize_t s_dx, floating* dbias,
                          Py_ssize_t n, Py_ssize_t m, Py_ssize_t block, Py_ssize_t width,
                          Activation act) noexcept nogil:
    # Column block `block` (columns lo..hi-1 of width `width`): dx for those columns
    # and their sums, rows in order. (A function of its own: acc must be private to
    # the thread running the block.)
    cdef double acc[COLUMN_BLOCK]
    cdef Py_ssize_t j, lo = block * width
    cdef Py_ssize_t hi = lo + width if lo + width < m else m
    for j in range(hi - lo):
        acc[j] = 0
    if act == IDENTITY:  # column sums of dy only; y and dx are not read (may be NULL)
        block_act_backward(dy + lo, s_dy, dy + lo, s_dy, NULL, 0, acc, n, hi - lo, act)
    else:
        block_act_backward(dy + lo, s_dy, y + lo, s_y, dx + lo, s_dx, acc, n, hi - lo,
                           act)
    for j in range(lo, hi):
        dbias[j] = <floating>acc[j - lo]


cdef void bias_act_backward_rows(const floating* dy, Py_ssize_t s_dy,
                                 const floating* y, Py_ssize_t s_y,
                                 floating* dx, Py_ssize_t s_dx, floating* dbias,
                                 Py_ssize_t n, Py_ssize_t m, Activation act,
                                 int n_threads) noexcept nogil:
    # Row i of dy starts at dy + i * s_dy (likewise y, dx). Column blocks: each owns
    # its columns and sums them over rows 0..n-1 in one order that depends on the row
    # index only, so the bits do not depend on how the columns are cut. Unthreaded,
    # blocks as wide as the accumulator allows (whole rows for m <= COLUMN_BLOCK:
    # contiguous streams, ~15 % faster than 64-wide blocks); threaded, one block per
    # thread if the accumulator allows.
    cdef bint threaded = use_threads(n * m, n_threads, COST_CHEAP)
    cdef Py_ssize_t width = COLUMN_BLOCK
    cdef Py_ssize_t n_blocks, block
    if threaded:
        width = ((m + n_threads - 1) // n_threads + 15) // 16 * 16
        width = width if width < COLUMN_BLOCK else COLUMN_BLOCK
    n_blocks = (m + width - 1) // width
    if threaded:
        for block in prange(n_blocks, schedule="static", num_threads=n_threads):
            _backward_block(dy, s_dy, y, s_y, dx, s_dx, dbias, n, m, block, width, act)
    else:  # the same blocks, without entering an OpenMP region (~0.7 us)
        for block in range(n_blocks):
            _backward_block(dy, s_dy, y, s_y, dx, s_dx, dbias, n, m, block, width, act)


cdef inline void _forward(const floating[:, ::1] x, const floating[::1] bias,
                          floating[:, ::1] out, Activation act, int n_threads) noexcept nogil:
    bias_act_rows(&x[0, 0], row_stride(x), &bias[0], &out[0, 0], row_stride(out),
                  x.shape[0], x.shape[1], act, n_threads)


cdef inline void _backward(const floating[:, ::1] dy, const floating[:, ::1] y,
                           floating[:, ::1] dx, floating[::1] dbias, Activation act,
                           int n_threads) noexcept nogil:
    bias_act_backward_rows(&dy[0, 0], row_stride(dy), &y[0, 0], row_stride(y),
                           &dx[0, 0], row_stride(dx), &dbias[0], dy.shape[0],
                           dy.shape[1], act, n_threads)


# The memoryview forms declared in _activations.pxd.

cdef void bias_relu(const floating[:, ::1] x, const floating[::1] bias,
                    floating[:, ::1] out, int n_threads) noexcept nogil:
    _forward(x, bias, out, RELU, n_threads)


cdef void bias_sigmoid(const floating[:, ::1] x, const floating[::1] bias,
                       floating[:, ::1] out, int n_threads) noexcept nogil:
    _forward(x, bias, out, SIGMOID, n_threads)


cdef void bias_add(const floating[:, ::1] x, const floating[::1] bias,
                   floating[:, ::1] out, int n_threads) noexcept nogil:
    _forward(x, bias, out, IDENTITY, n_threads)


cdef void bias_relu_backward(const floating[:, ::1] dy, const floating[:, ::1] y,
                             floating[:, ::1] dx, floating[::1] dbias,
                             int n_threads) noexcept nogil:
    _backward(dy, y, dx, dbias, RELU, n_threads)


cdef void bias_sigmoid_backward(const floating[:, ::1] dy, const floating[:, ::1] y,
                                floating[:, ::1] dx, floating[::1] dbias,
                                int n_threads) noexcept nogil:
    _backward(dy, y, dx, dbias, SIGMOID, n_threads)


cdef void bias_backward(const floating[:, ::1] dy, floating[::1] dbias,
                        int n_threads) noexcept nogil:
    # The identity's dx is dy itself: only the column sums are computed.
    bias_act_backward_rows(&dy[0, 0], row_stride(dy), <const floating*>NULL, 0,
                           <floating*>NULL, 0, &dbias[0], dy.shape[0], dy.shape[1],
                           IDENTITY, n_threads)
