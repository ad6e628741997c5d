# cython: language_level=3, boundscheck=False, wraparound=False, initializedcheck=False, cdivision=True
"""Fused bias + activation kernels; see _activations.pxd for the contract."""
from cython cimport floating
from cython.parallel cimport prange

from nnkernels._common cimport (COLUMN_BLOCK, sigmoid, use_threads)

cdef enum Activation:
    IDENTITY = 0
    RELU = 1
    SIGMOID = 2


cdef void _bias_act(const floating[:, ::1] x, const floating[::1] bias,
                    floating[:, ::1] out, Activation act, int n_threads) noexcept nogil:
    cdef Py_ssize_t n = x.shape[0], m = x.shape[1], i, j
    cdef floating v
    for i in prange(n, schedule="static", num_threads=n_threads,
                    use_threads_if=use_threads(n * m, n_threads)):
        if act == RELU:
            for j in range(m):
                v = x[i, j] + bias[j]
                out[i, j] = v if v > 0 else 0
        elif act == SIGMOID:
            for j in range(m):
                out[i, j] = sigmoid(x[i, j] + bias[j])
        else:
            for j in range(m):
                out[i, j] = x[i, j] + bias[j]


cdef void _backward_columns(const floating[:, ::1] dy, const floating[:, ::1] y,
                            floating[:, ::1] dx, floating[::1] dbias, Activation act,
                            Py_ssize_t lo, Py_ssize_t hi) noexcept nogil:
    # One column block: dx for those columns and their sums, in double, rows in order.
    cdef double acc[COLUMN_BLOCK]
    cdef Py_ssize_t i, j, n = dy.shape[0]
    cdef floating g, yv
    for j in range(hi - lo):
        acc[j] = 0
    for i in range(n):
        if act == RELU:
            for j in range(lo, hi):
                g = dy[i, j] if y[i, j] > 0 else 0
                dx[i, j] = g
                acc[j - lo] += g
        else:
            for j in range(lo, hi):
                yv = y[i, j]
                g = dy[i, j] * yv * (1 - yv)
                dx[i, j] = g
                acc[j - lo] += g
    for j in range(lo, hi):
        dbias[j] = <floating>acc[j - lo]


cdef void _column_sums(const floating[:, ::1] g, floating[::1] sums,
                       Py_ssize_t lo, Py_ssize_t hi) noexcept nogil:
    cdef double acc[COLUMN_BLOCK]
    cdef Py_ssize_t i, j, n = g.shape[0]
    for j in range(hi - lo):
        acc[j] = 0
    for i in range(n):
        for j in range(lo, hi):
            acc[j - lo] += g[i, j]
    for j in range(lo, hi):
        sums[j] = <floating>acc[j - lo]


cdef void _bias_act_backward(const floating[:, ::1] dy, const floating[:, ::1] y,
                             floating[:, ::1] dx, floating[::1] dbias, Activation act,
                             int n_threads) noexcept nogil:
    cdef Py_ssize_t n = dy.shape[0], m = dy.shape[1], block, lo, hi
    cdef Py_ssize_t n_blocks = (m + COLUMN_BLOCK - 1) // COLUMN_BLOCK
    for block in prange(n_blocks, schedule="static", num_threads=n_threads,
                        use_threads_if=use_threads(n * m, n_threads)):
        lo = block * COLUMN_BLOCK
        hi = lo + COLUMN_BLOCK if lo + COLUMN_BLOCK < m else m
        _backward_columns(dy, y, dx, dbias, act, lo, hi)


cdef void bias_relu(const floating[:, ::1] x, const floating[::1] bias,
                    floating[:, ::1] out, int n_threads) noexcept nogil:
    _bias_act(x, bias, out, RELU, n_threads)


cdef void bias_sigmoid(const floating[:, ::1] x, const floating[::1] bias,
                       floating[:, ::1] out, int n_threads) noexcept nogil:
    _bias_act(x, bias, out, SIGMOID, n_threads)


cdef void bias_add(const floating[:, ::1] x, const floating[::1] bias,
                   floating[:, ::1] out, int n_threads) noexcept nogil:
    _bias_act(x, bias, out, IDENTITY, n_threads)


cdef void bias_relu_backward(const floating[:, ::1] dy, const floating[:, ::1] y,
                             floating[:, ::1] dx, floating[::1] dbias,
                             int n_threads) noexcept nogil:
    _bias_act_backward(dy, y, dx, dbias, RELU, n_threads)


cdef void bias_sigmoid_backward(const floating[:, ::1] dy, const floating[:, ::1] y,
                                floating[:, ::1] dx, floating[::1] dbias,
                                int n_threads) noexcept nogil:
    _bias_act_backward(dy, y, dx, dbias, SIGMOID, n_threads)


cdef void bias_backward(const floating[:, ::1] dy, floating[::1] dbias,
                        int n_threads) noexcept nogil:
    # The identity's dx is dy itself: only the column sums are computed.
    cdef Py_ssize_t n = dy.shape[0], m = dy.shape[1], block, lo, hi
    cdef Py_ssize_t n_blocks = (m + COLUMN_BLOCK - 1) // COLUMN_BLOCK
    for block in prange(n_blocks, schedule="static", num_threads=n_threads,
                        use_threads_if=use_threads(n * m, n_threads)):
        lo = block * COLUMN_BLOCK
        hi = lo + COLUMN_BLOCK if lo + COLUMN_BLOCK < m else m
        _column_sums(dy, dbias, lo, hi)


# Unchecked entry points; nnkernels.kernels validates first.

def _bias_activation(const floating[:, ::1] x, const floating[::1] bias,
                     floating[:, ::1] out, int activation, int n_threads):
    with nogil:
        _bias_act(x, bias, out, <Activation>activation, n_threads)


def _bias_activation_backward(const floating[:, ::1] dy, const floating[:, ::1] y,
                              floating[:, ::1] dx, floating[::1] dbias, int activation,
                              int n_threads):
    with nogil:
        _bias_act_backward(dy, y, dx, dbias, <Activation>activation, n_threads)


def _bias_backward(const floating[:, ::1] dy, floating[::1] dbias, int n_threads):
    with nogil:
        bias_backward(dy, dbias, n_threads)


ACTIVATIONS = {"identity": IDENTITY, "relu": RELU, "sigmoid": SIGMOID}
