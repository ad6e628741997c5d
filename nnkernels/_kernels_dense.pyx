# cython: language_level=3, boundscheck=False, wraparound=False, initializedcheck=False, cdivision=True
"""The checked entry points of the dense layer's kernels: GEMM and the fused bias +
activation passes (nnkernels.kernels has the overview)."""
from cython cimport floating

cimport numpy as cnp

from nnkernels._activations cimport (Activation, IDENTITY, RELU, SIGMOID, bias_act_rows,
                                     bias_act_backward_rows)
from nnkernels._blas cimport gemm_threads
from nnkernels._validation cimport (check_float_array, check_hyperparameter, check_matrix,
                                    check_output, check_positive_threads, check_shape, data)

cnp.import_array()

cdef enum:
    F32 = cnp.NPY_FLOAT32

# Each entry checks its arguments, then runs a body fused over `floating`; the checked
# dtype picks the body's specialization once, by a typed NULL tag, as _plan.pyx does:
# body(<float*>NULL, ...). Not Cython's own dispatch (a fused def over memoryviews, as
# scikit-learn's _loss has): on a 4x8 ReLU it took 10.7 us a call against 0.9 us for
# the same body reached this way, most of it in acquiring the memoryviews.


cdef void _gemm(floating* tag, bint ta, bint tb, double alpha, object a, Py_ssize_t s_a,
                object b, Py_ssize_t s_b, double beta, object out, Py_ssize_t m,
                Py_ssize_t n, Py_ssize_t k, int threads) noexcept:
    cdef const floating* pa = <const floating*>data(a)
    cdef const floating* pb = <const floating*>data(b)
    cdef floating* pc = <floating*>data(out)
    with nogil:
        gemm_threads(ta, tb, <floating>alpha, pa, s_a, pb, s_b, <floating>beta, pc, n, m, n,
                     k, threads)


def gemm(a, b, out=None, *, trans_a=False, trans_b=False, alpha=1.0, beta=0.0,
         n_threads=None):
    """out = alpha * op(a) @ op(b) + beta * out, through BLAS sgemm/dgemm.

    With the kernels' own OpenBLAS (pinned to one thread), `n_threads` threads each
    compute a block of out's columns (or rows, when out is taller than wide); products
    under about 2 MFLOP per thread run on one.

    Parameters
    ----------
    a : array of shape (m, k), or (k, m) with trans_a, float32 or float64
    b : array of shape (k, n), or (n, k) with trans_b, same dtype
    out : array of shape (m, n), same dtype, optional
        Must not overlap `a` or `b`. Required when beta != 0.
    trans_a, trans_b : bool
        Use the transpose of `a` / `b` (no copy is made).
    alpha, beta : float
    n_threads : int >= 1, optional

    Returns
    -------
    out : array of shape (m, n)
    """
    f = "gemm"
    cdef Py_ssize_t a_shape[2], b_shape[2], shape[2]
    cdef int t = check_matrix(f, "a", a, a_shape)
    check_matrix(f, "b", b, b_shape, t)
    cdef bint ta = bool(trans_a), tb = bool(trans_b)
    cdef Py_ssize_t m = a_shape[1 if ta else 0], k = a_shape[0 if ta else 1]
    cdef Py_ssize_t kb = b_shape[1 if tb else 0], n = b_shape[0 if tb else 1]
    if k != kb:
        raise ValueError(f"gemm: inner dimensions differ: op(a) has shape {(m, k)} and "
                         f"op(b) has shape {(kb, n)} (trans_a={trans_a}, trans_b={trans_b})")
    cdef double c_alpha = check_hyperparameter(f, "alpha", alpha)
    cdef double c_beta = check_hyperparameter(f, "beta", beta)
    if out is None and c_beta != 0:
        raise ValueError(f"gemm: beta={c_beta} accumulates into 'out', so 'out' is required")
    shape[0], shape[1] = m, n
    out = check_output(f, "out", out, 2, shape, t, False, "a", a, "b", b)
    cdef int threads = check_positive_threads(f, n_threads)
    if t == F32:
        _gemm(<float*>NULL, ta, tb, c_alpha, a, a_shape[1], b, b_shape[1], c_beta, out, m,
              n, k, threads)
    else:
        _gemm(<double*>NULL, ta, tb, c_alpha, a, a_shape[1], b, b_shape[1], c_beta, out, m,
              n, k, threads)
    return out


cdef void _bias_act(floating* tag, object x, object bias, object out, Py_ssize_t n,
                    Py_ssize_t m, Activation act, int threads) noexcept:
    cdef const floating* px = <const floating*>data(x)
    cdef const floating* pb = <const floating*>data(bias)
    cdef floating* po = <floating*>data(out)
    with nogil:
        bias_act_rows(px, m, pb, po, m, n, m, act, threads)


cdef object _forward(str func, Activation act, object x, object bias, object out,
                     object n_threads):
    cdef Py_ssize_t shape[2]
    cdef int t = check_matrix(func, "x", x, shape)
    check_float_array(func, "bias", bias, 1, t)
    check_shape(func, "bias", bias, 1, &shape[1], "x", x)
    out = check_output(func, "out", out, 2, shape, t, True, "x", x, "bias", bias)
    cdef int threads = check_positive_threads(func, n_threads)
    if t == F32:
        _bias_act(<float*>NULL, x, bias, out, shape[0], shape[1], act, threads)
    else:
        _bias_act(<double*>NULL, x, bias, out, shape[0], shape[1], act, threads)
    return out


def bias_relu(x, bias, out=None, *, n_threads=None):
    """out = max(x + bias, 0), bias broadcast over rows.

    Parameters
    ----------
    x : array of shape (n, m), float32 or float64
    bias : array of shape (m,), same dtype
    out : array of shape (n, m), optional (may be `x` itself)

    Returns
    -------
    out : array of shape (n, m)
    """
    return _forward("bias_relu", RELU, x, bias, out, n_threads)


def bias_sigmoid(x, bias, out=None, *, n_threads=None):
    """out = 1 / (1 + exp(-(x + bias))), overflow-free; shapes as :func:`bias_relu`."""
    return _forward("bias_sigmoid", SIGMOID, x, bias, out, n_threads)


def bias_add(x, bias, out=None, *, n_threads=None):
    """out = x + bias; shapes as :func:`bias_relu`."""
    return _forward("bias_add", IDENTITY, x, bias, out, n_threads)


cdef void _bias_act_backward(floating* tag, object dy, object y, object dx, object dbias,
                             Py_ssize_t n, Py_ssize_t m, Activation act,
                             int threads) noexcept:
    # IDENTITY: y and dx are None, and unused.
    cdef const floating* pdy = <const floating*>data(dy)
    cdef const floating* py = <const floating*>data(y) if y is not None else NULL
    cdef floating* pdx = <floating*>data(dx) if dx is not None else NULL
    cdef floating* pdb = <floating*>data(dbias)
    with nogil:
        bias_act_backward_rows(pdy, m, py, m, pdx, m, pdb, n, m, act, threads)


cdef tuple _backward(str func, Activation act, object dy, object y, object dx,
                     object dbias, object n_threads):
    cdef Py_ssize_t shape[2]
    cdef int t = check_matrix(func, "dy", dy, shape)
    check_float_array(func, "y", y, 2, t)
    check_shape(func, "y", y, 2, shape, "dy", dy)
    dx = check_output(func, "dx", dx, 2, shape, t, True, "dy", dy, "y", y)
    dbias = check_output(func, "dbias", dbias, 1, &shape[1], t, False, "dy", dy, "y", y,
                         "dx", dx)
    cdef int threads = check_positive_threads(func, n_threads)
    if t == F32:
        _bias_act_backward(<float*>NULL, dy, y, dx, dbias, shape[0], shape[1], act, threads)
    else:
        _bias_act_backward(<double*>NULL, dy, y, dx, dbias, shape[0], shape[1], act, threads)
    return dx, dbias


def bias_relu_backward(dy, y, dx=None, dbias=None, *, n_threads=None):
    """dx = dy * (y > 0) and dbias = dx.sum(axis=0), in one pass.

    Parameters
    ----------
    dy : array of shape (n, m), float32 or float64
        Gradient of the loss with respect to the forward output.
    y : array of shape (n, m), same dtype
        The forward output ``bias_relu(x, bias)``.
    dx : array of shape (n, m), optional (may be `dy` or `y` itself)
    dbias : array of shape (m,), optional

    Returns
    -------
    dx : array of shape (n, m)
        Gradient with respect to x (and to x + bias).
    dbias : array of shape (m,)
    """
    return _backward("bias_relu_backward", RELU, dy, y, dx, dbias, n_threads)


def bias_sigmoid_backward(dy, y, dx=None, dbias=None, *, n_threads=None):
    """dx = dy * y * (1 - y) and dbias = dx.sum(axis=0); as :func:`bias_relu_backward`."""
    return _backward("bias_sigmoid_backward", SIGMOID, dy, y, dx, dbias, n_threads)


def bias_backward(dy, dbias=None, *, n_threads=None):
    """dbias = dy.sum(axis=0), the backward of :func:`bias_add` (whose dx is dy).

    Parameters
    ----------
    dy : array of shape (n, m), float32 or float64
    dbias : array of shape (m,), optional

    Returns
    -------
    dbias : array of shape (m,)
    """
    f = "bias_backward"
    cdef Py_ssize_t shape[2]
    cdef int t = check_matrix(f, "dy", dy, shape)
    dbias = check_output(f, "dbias", dbias, 1, &shape[1], t, False, "dy", dy)
    cdef int threads = check_positive_threads(f, n_threads)
    if t == F32:
        _bias_act_backward(<float*>NULL, dy, None, None, dbias, shape[0], shape[1],
                           IDENTITY, threads)
    else:
        _bias_act_backward(<double*>NULL, dy, None, None, dbias, shape[0], shape[1],
                           IDENTITY, threads)
    return dbias
