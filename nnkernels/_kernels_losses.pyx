# cython: language_level=3, boundscheck=False, wraparound=False, initializedcheck=False, cdivision=True
"""The checked entry points of the loss kernels and the softmax (nnkernels.kernels has
the overview; _kernels_dense.pyx says how a body is picked by dtype)."""
import math

from cython cimport floating
from libc.stdint cimport int64_t

cimport numpy as cnp

from nnkernels._losses cimport Loss, MSE, SIGMOID_BCE, SOFTMAX_CE, loss_rows, softmax_rows
from nnkernels._validation cimport (check_float_array, check_label_range, check_labels,
                                    check_matrix, check_nonempty, check_output,
                                    check_positive_threads, check_shape, data, dim)

cnp.import_array()

cdef enum:
    F32 = cnp.NPY_FLOAT32


cdef double _loss_body(floating* tag, Loss loss, object a, object b, object labels,
                       object grad, int threads) noexcept:
    cdef Py_ssize_t n = dim(a, 0), m = dim(a, 1)
    cdef const floating* pa = <const floating*>data(a)
    cdef const floating* pb = <const floating*>data(b if b is not None else a)
    cdef const int64_t* pl = <const int64_t*>data(labels) if labels is not None else NULL
    cdef floating* pg = <floating*>data(grad)
    cdef double value
    with nogil:
        value = loss_rows(loss, pa, m, pb, m, pl, pg, m, n, m, threads)
    return value


cdef double _loss(Loss loss, int t, object a, object b, object labels, object grad,
                  int threads):
    """Runs loss_rows on checked arrays (b None for SOFTMAX_CE, labels None otherwise)."""
    if t == F32:
        return _loss_body(<float*>NULL, loss, a, b, labels, grad, threads)
    return _loss_body(<double*>NULL, loss, a, b, labels, grad, threads)


def softmax_cross_entropy(logits, labels, dlogits=None, *, n_threads=None):
    """Mean cross-entropy of softmax(logits) against class indices, and its gradient.

    loss = mean_i(logsumexp(logits[i]) - logits[i, labels[i]]);
    dlogits = (softmax(logits) - onehot(labels)) / n. Stable for logits of any
    finite magnitude.

    Parameters
    ----------
    logits : array of shape (n, m), float32 or float64
    labels : integer array of shape (n,), values in [0, m)
    dlogits : array of shape (n, m), optional (may be `logits` itself)

    Returns
    -------
    loss : float
    dlogits : array of shape (n, m)
    """
    f = "softmax_cross_entropy"
    cdef Py_ssize_t shape[2]
    cdef int t = check_matrix(f, "logits", logits, shape)
    check_nonempty(f, "logits", logits)
    labels = check_labels(f, "labels", labels, shape[0])
    dlogits = check_output(f, "dlogits", dlogits, 2, shape, t, True, "logits", logits,
                           "labels", labels)
    cdef double loss = _loss(SOFTMAX_CE, t, logits, None, labels, dlogits,
                             check_positive_threads(f, n_threads))
    if math.isnan(loss):
        check_label_range(f, "labels", labels, shape[1])
    return loss, dlogits


cdef void _softmax(floating* tag, object logits, object out, Py_ssize_t n, Py_ssize_t m,
                   int threads) noexcept:
    cdef const floating* pz = <const floating*>data(logits)
    cdef floating* po = <floating*>data(out)
    with nogil:
        softmax_rows(pz, m, po, m, n, m, threads)


def softmax(logits, out=None, *, n_threads=None):
    """out = exp(logits - max) / sum(exp(logits - max)), row by row.

    Parameters
    ----------
    logits : array of shape (n, m), float32 or float64
    out : array of shape (n, m), optional (may be `logits` itself)

    Returns
    -------
    out : array of shape (n, m), rows summing to 1
    """
    f = "softmax"
    cdef Py_ssize_t shape[2]
    cdef int t = check_matrix(f, "logits", logits, shape)
    out = check_output(f, "out", out, 2, shape, t, True, "logits", logits)
    cdef int threads = check_positive_threads(f, n_threads)
    if t == F32:
        _softmax(<float*>NULL, logits, out, shape[0], shape[1], threads)
    else:
        _softmax(<double*>NULL, logits, out, shape[0], shape[1], threads)
    return out


cdef tuple _pair_loss(str func, Loss loss, str a_name, object a, str b_name, object b,
                      str grad_name, object grad, object n_threads):
    cdef Py_ssize_t shape[2]
    cdef int t = check_matrix(func, a_name, a, shape)
    check_float_array(func, b_name, b, 2, t)
    check_shape(func, b_name, b, 2, shape, a_name, a)
    check_nonempty(func, a_name, a)
    grad = check_output(func, grad_name, grad, 2, shape, t, True, a_name, a, b_name, b)
    return _loss(loss, t, a, b, None, grad, check_positive_threads(func, n_threads)), grad


def mse(pred, target, dpred=None, *, n_threads=None):
    """Mean squared error over all elements and its gradient.

    loss = mean((pred - target) ** 2); dpred = 2 (pred - target) / pred.size.

    Parameters
    ----------
    pred, target : arrays of shape (n, m), float32 or float64
    dpred : array of shape (n, m), optional (may be `pred` or `target` itself)

    Returns
    -------
    loss : float
    dpred : array of shape (n, m)
    """
    return _pair_loss("mse", MSE, "pred", pred, "target", target, "dpred", dpred,
                      n_threads)


def sigmoid_binary_cross_entropy(logits, targets, dlogits=None, *, n_threads=None):
    """Binary cross-entropy of sigmoid(logits), mean over all elements, and its gradient.

    loss = mean(max(z, 0) - z t + log(1 + exp(-|z|))) (stable for any finite z);
    dlogits = (sigmoid(z) - t) / z.size.

    Parameters
    ----------
    logits : array of shape (n, m), float32 or float64
    targets : array of shape (n, m), same dtype, values in [0, 1]
    dlogits : array of shape (n, m), optional (may be `logits` itself)

    Returns
    -------
    loss : float
    dlogits : array of shape (n, m)
    """
    return _pair_loss("sigmoid_binary_cross_entropy", SIGMOID_BCE, "logits", logits,
                      "targets", targets, "dlogits", dlogits, n_threads)
