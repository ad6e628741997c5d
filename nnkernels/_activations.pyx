# cython: language_level=3, boundscheck=False, wraparound=False, initializedcheck=False, cdivision=True
"""Fused bias + activation kernels; see _activations.pxd for the contract."""
from cython cimport floating
from cython.parallel cimport prange

from nnkernels._common cimport (COLUMN_BLOCK, block_act_backward, row_bias_act,
                                use_threads, COST_CHEAP, COST_EXP)

cdef enum Activation:
    IDENTITY = 0
    RELU = 1
    SIGMOID = 2


cdef void _bias_act(const floating[:, ::1] x, const floating[::1] bias,
                    floating[:, ::1] out, Activation act, int n_threads) noexcept nogil:
    cdef Py_ssize_t n = x.shape[0], m = x.shape[1], i
    if n == 0 or m == 0:
        return
    for i in prange(n, schedule="static", num_threads=n_threads,
                    use_threads_if=use_threads(n * m, n_threads,
                                                   COST_EXP if act == SIGMOID else COST_CHEAP)):
        # One row per call: a vectorised C loop over raw pointers (see _common.pxd).
        row_bias_act(&x[i, 0], &bias[0], &out[i, 0], m, act)


cdef void _backward_block(const floating* dy, Py_ssize_t s_dy,
                          const floating* y, Py_ssize_t s_y,
                          floating* dx, Py_ssize_t s_dx, floating* dbias,
                          Py_ssize_t n, Py_ssize_t lo, Py_ssize_t hi,
                          Activation act) noexcept nogil:
    # One column block: dx for those columns and their sums, in double, rows in order.
    # (A function of its own: acc must be private to the thread running the block.)
    cdef double acc[COLUMN_BLOCK]
    cdef Py_ssize_t j
    for j in range(hi - lo):
        acc[j] = 0
    if act == IDENTITY:  # column sums of dy only; y and dx are not read (may be NULL)
        block_act_backward(dy + lo, s_dy, dy + lo, s_dy, NULL, 0, acc, n, hi - lo, act)
    else:
        block_act_backward(dy + lo, s_dy, y + lo, s_y, dx + lo, s_dx, acc, n, hi - lo,
                           act)
    for j in range(lo, hi):
        dbias[j] = <floating>acc[j - lo]


cdef void _bias_act_backward(const floating* dy, Py_ssize_t s_dy,
                             const floating* y, Py_ssize_t s_y,
                             floating* dx, Py_ssize_t s_dx, floating* dbias,
                             Py_ssize_t n, Py_ssize_t m, Activation act,
                             int n_threads) noexcept nogil:
    # Row i of dy starts at dy + i * s_dy (likewise y, dx). Column blocks: each owns
    # its columns and sums them over rows 0..n-1 in order, so the bits do not depend
    # on the thread count.
    cdef Py_ssize_t n_blocks = (m + COLUMN_BLOCK - 1) // COLUMN_BLOCK
    cdef Py_ssize_t block, lo, hi
    for block in prange(n_blocks, schedule="static", num_threads=n_threads,
                        use_threads_if=use_threads(n * m, n_threads, COST_CHEAP)):
        lo = block * COLUMN_BLOCK
        hi = lo + COLUMN_BLOCK if lo + COLUMN_BLOCK < m else m
        _backward_block(dy, s_dy, y, s_y, dx, s_dx, dbias, n, lo, hi, act)


cdef inline void _backward(const floating[:, ::1] dy, const floating[:, ::1] y,
                           floating[:, ::1] dx, floating[::1] dbias, Activation act,
                           int n_threads) noexcept nogil:
    _bias_act_backward(&dy[0, 0], dy.strides[0] // sizeof(floating),
                       &y[0, 0], y.strides[0] // sizeof(floating),
                       &dx[0, 0], dx.strides[0] // sizeof(floating),
                       &dbias[0], dy.shape[0], dy.shape[1], act, n_threads)


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
    _backward(dy, y, dx, dbias, RELU, n_threads)


cdef void bias_sigmoid_backward(const floating[:, ::1] dy, const floating[:, ::1] y,
                                floating[:, ::1] dx, floating[::1] dbias,
                                int n_threads) noexcept nogil:
    _backward(dy, y, dx, dbias, SIGMOID, n_threads)


cdef void bias_backward(const floating[:, ::1] dy, floating[::1] dbias,
                        int n_threads) noexcept nogil:
    # The identity's dx is dy itself: only the column sums are computed.
    _bias_act_backward(&dy[0, 0], dy.strides[0] // sizeof(floating), NULL, 0, NULL, 0,
                       &dbias[0], dy.shape[0], dy.shape[1], IDENTITY, n_threads)


# Unchecked entry points; nnkernels.kernels validates first.

def _bias_activation(const floating[:, ::1] x, const floating[::1] bias,
                     floating[:, ::1] out, int activation, int n_threads):
    with nogil:
        _bias_act(x, bias, out, <Activation>activation, n_threads)


def _bias_activation_backward(const floating[:, ::1] dy, const floating[:, ::1] y,
                              floating[:, ::1] dx, floating[::1] dbias, int activation,
                              int n_threads):
    with nogil:
        _backward(dy, y, dx, dbias, <Activation>activation, n_threads)


def _bias_backward(const floating[:, ::1] dy, floating[::1] dbias, int n_threads):
    with nogil:
        bias_backward(dy, dbias, n_threads)


ACTIVATIONS = {"identity": IDENTITY, "relu": RELU, "sigmoid": SIGMOID}
