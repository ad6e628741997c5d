# cython: language_level=3, boundscheck=False, wraparound=False, initializedcheck=False, cdivision=True
"""The compiled kernels, with their arguments checked.

Every function takes C-contiguous float32 or float64 arrays (one dtype per call),
releases the GIL while it runs, and writes into optional preallocated outputs
(`out=`, `dx=`, ...), so that a caller that passes them allocates nothing. Without
them, new arrays are returned. Outputs of elementwise kernels may be the very same
array as an input (in place); any other overlap is rejected.

`n_threads` defaults to :func:`nnkernels.get_num_threads`. Losses and bias gradients
give the same bits for any thread count.

The checks read the arrays through NumPy's C API and the kernels get raw pointers, so
a call costs 0.3-0.7 us more than the loop itself (rmsprop_update, with its keyword
hyperparameters, 1.4 us; see nnkernels/_validation.pyx). The same kernels without the
GIL, for other Cython code: the .pxd files of nnkernels.
"""
import math

import numpy as np

cimport numpy as cnp
from libc.stdint cimport int64_t

from nnkernels._activations cimport (Activation, IDENTITY, RELU, SIGMOID, bias_act_rows,
                                     bias_act_backward_rows)
from nnkernels._blas cimport gemm_threads
from nnkernels._losses cimport Loss, MSE, SIGMOID_BCE, SOFTMAX_CE, loss_rows, softmax_rows
from nnkernels._online cimport online_sigmoid_sgd_rows
from nnkernels._optim cimport adam_flat, rmsprop_flat, sgd_flat
from nnkernels._validation cimport (check_float_array, check_hyperparameter, check_labels,
                                    check_out, check_positive_threads, check_separate,
                                    check_shape, float_typenum, overlap)

from nnkernels._validation import check_label_range

cnp.import_array()

__all__ = [
    "gemm", "bias_relu", "bias_relu_backward", "bias_sigmoid", "bias_sigmoid_backward",
    "bias_add", "bias_backward", "softmax", "softmax_cross_entropy", "mse",
    "sigmoid_binary_cross_entropy", "rmsprop_update", "sgd_update", "adam_update",
    "online_sigmoid_sgd",
]

cdef enum:
    F32 = cnp.NPY_FLOAT32


cdef inline void* _data(object a) noexcept:
    return cnp.PyArray_DATA(<cnp.ndarray>a)


cdef inline Py_ssize_t _dim(object a, int d) noexcept:
    return cnp.PyArray_DIMS(<cnp.ndarray>a)[d]


cdef inline Py_ssize_t _size(object a) noexcept:
    return cnp.PyArray_SIZE(<cnp.ndarray>a)


cdef int _matrix(str func, str name, object a, Py_ssize_t* shape, int typenum=-1) except -1:
    """check_float_array for a 2-D array; its shape into `shape`; returns its typenum."""
    check_float_array(func, name, a, 2, typenum)
    shape[0], shape[1] = _dim(a, 0), _dim(a, 1)
    return float_typenum(a)


cdef object _output(str func, str name, object out, int ndim, const Py_ssize_t* shape,
                    int typenum, bint allow_same, str name1, object a1, str name2=None,
                    object a2=None, str name3=None, object a3=None):
    """check_out (allocating when out is None), then check_separate against each
    input (name1, a1), ... (a None input is skipped). Separate arguments rather than
    a tuple of pairs: building those cost 0.2-0.4 us per call."""
    out = check_out(func, name, out, ndim, shape, typenum)
    check_separate(func, name, out, name1, a1, allow_same)
    check_separate(func, name, out, name2, a2, allow_same)
    check_separate(func, name, out, name3, a3, allow_same)
    return out


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
    cdef int t = _matrix(f, "a", a, a_shape)
    _matrix(f, "b", b, b_shape, t)
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
    out = _output(f, "out", out, 2, shape, t, False, "a", a, "b", b)
    cdef void* pa = _data(a)
    cdef void* pb = _data(b)
    cdef void* pc = _data(out)
    cdef Py_ssize_t s_a = a_shape[1], s_b = b_shape[1]
    cdef int threads = check_positive_threads(f, n_threads)
    with nogil:
        if t == F32:
            gemm_threads(ta, tb, <float>c_alpha, <const float*>pa, s_a, <const float*>pb,
                         s_b, <float>c_beta, <float*>pc, n, m, n, k, threads)
        else:
            gemm_threads(ta, tb, c_alpha, <const double*>pa, s_a, <const double*>pb, s_b,
                         c_beta, <double*>pc, n, m, n, k, threads)
    return out


cdef object _forward(str func, Activation act, object x, object bias, object out,
                     object n_threads):
    cdef Py_ssize_t shape[2]
    cdef int t = _matrix(func, "x", x, shape)
    check_float_array(func, "bias", bias, 1, t)
    check_shape(func, "bias", bias, 1, &shape[1], "x", x)
    out = _output(func, "out", out, 2, shape, t, True, "x", x, "bias", bias)
    cdef int threads = check_positive_threads(func, n_threads)
    cdef void* px = _data(x)
    cdef void* pb = _data(bias)
    cdef void* po = _data(out)
    cdef Py_ssize_t n = shape[0], m = shape[1]
    with nogil:
        if t == F32:
            bias_act_rows(<const float*>px, m, <const float*>pb, <float*>po, m, n, m, act,
                          threads)
        else:
            bias_act_rows(<const double*>px, m, <const double*>pb, <double*>po, m, n, m,
                          act, threads)
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


cdef tuple _backward(str func, Activation act, object dy, object y, object dx,
                     object dbias, object n_threads):
    cdef Py_ssize_t shape[2]
    cdef int t = _matrix(func, "dy", dy, shape)
    check_float_array(func, "y", y, 2, t)
    check_shape(func, "y", y, 2, shape, "dy", dy)
    dx = _output(func, "dx", dx, 2, shape, t, True, "dy", dy, "y", y)
    dbias = _output(func, "dbias", dbias, 1, &shape[1], t, False, "dy", dy, "y", y,
                    "dx", dx)
    cdef int threads = check_positive_threads(func, n_threads)
    cdef void* pdy = _data(dy)
    cdef void* py = _data(y)
    cdef void* pdx = _data(dx)
    cdef void* pdb = _data(dbias)
    cdef Py_ssize_t n = shape[0], m = shape[1]
    with nogil:
        if t == F32:
            bias_act_backward_rows(<const float*>pdy, m, <const float*>py, m, <float*>pdx,
                                   m, <float*>pdb, n, m, act, threads)
        else:
            bias_act_backward_rows(<const double*>pdy, m, <const double*>py, m,
                                   <double*>pdx, m, <double*>pdb, n, m, act, threads)
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
    cdef int t = _matrix(f, "dy", dy, shape)
    cdef Py_ssize_t n = shape[0], m = shape[1]
    dbias = _output(f, "dbias", dbias, 1, &m, t, False, "dy", dy)
    cdef int threads = check_positive_threads(f, n_threads)
    cdef void* pdy = _data(dy)
    cdef void* pdb = _data(dbias)
    with nogil:
        if t == F32:
            bias_act_backward_rows(<const float*>pdy, m, <const float*>NULL, 0,
                                   <float*>NULL, 0, <float*>pdb, n, m, IDENTITY, threads)
        else:
            bias_act_backward_rows(<const double*>pdy, m, <const double*>NULL, 0,
                                   <double*>NULL, 0, <double*>pdb, n, m, IDENTITY, threads)
    return dbias


cdef int _check_nonempty(str func, str name, object a) except -1:
    if _size(a) == 0:
        raise ValueError(f"{func}: '{name}' is empty (shape {a.shape}); a mean over no "
                         f"elements is undefined")
    return 0


cdef double _loss(Loss loss, int t, object a, object b, object labels, object grad,
                  int threads):
    """Runs loss_rows on checked arrays (b None for SOFTMAX_CE, labels None otherwise)."""
    cdef Py_ssize_t n = _dim(a, 0), m = _dim(a, 1)
    cdef void* pa = _data(a)
    cdef void* pb = _data(b if b is not None else a)
    cdef const int64_t* pl = <const int64_t*>_data(labels) if labels is not None else NULL
    cdef void* pg = _data(grad)
    cdef double value
    with nogil:
        if t == F32:
            value = loss_rows(loss, <const float*>pa, m, <const float*>pb, m, pl,
                              <float*>pg, m, n, m, threads)
        else:
            value = loss_rows(loss, <const double*>pa, m, <const double*>pb, m, pl,
                              <double*>pg, m, n, m, threads)
    return value


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
    cdef int t = _matrix(f, "logits", logits, shape)
    _check_nonempty(f, "logits", logits)
    labels = check_labels(f, "labels", labels, shape[0])
    dlogits = _output(f, "dlogits", dlogits, 2, shape, t, True, "logits", logits,
                      "labels", labels)
    cdef double loss = _loss(SOFTMAX_CE, t, logits, None, labels, dlogits,
                             check_positive_threads(f, n_threads))
    if math.isnan(loss):
        check_label_range(f, "labels", labels, shape[1])
    return loss, dlogits


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
    cdef int t = _matrix(f, "logits", logits, shape)
    out = _output(f, "out", out, 2, shape, t, True, "logits", logits)
    cdef int threads = check_positive_threads(f, n_threads)
    cdef void* pz = _data(logits)
    cdef void* po = _data(out)
    cdef Py_ssize_t n = shape[0], m = shape[1]
    with nogil:
        if t == F32:
            softmax_rows(<const float*>pz, m, <float*>po, m, n, m, threads)
        else:
            softmax_rows(<const double*>pz, m, <double*>po, m, n, m, threads)
    return out


cdef tuple _pair_loss(str func, Loss loss, str a_name, object a, str b_name, object b,
                      str grad_name, object grad, object n_threads):
    cdef Py_ssize_t shape[2]
    cdef int t = _matrix(func, a_name, a, shape)
    check_float_array(func, b_name, b, 2, t)
    check_shape(func, b_name, b, 2, shape, a_name, a)
    _check_nonempty(func, a_name, a)
    grad = _output(func, grad_name, grad, 2, shape, t, True, a_name, a, b_name, b)
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


cdef int _check_state(str func, object param, tuple names, tuple arrays) except -1:
    """param and its same-shaped companions (grad read-only allowed; the rest are
    updated in place): one dtype, one shape, writeable, pairwise separate memory."""
    if not cnp.PyArray_Check(param) or cnp.PyArray_NDIM(<cnp.ndarray>param) == 0:
        check_float_array(func, "param", param, 1)  # raises: not an array, or 0-D
    cdef int ndim = cnp.PyArray_NDIM(<cnp.ndarray>param)
    check_float_array(func, "param", param, ndim)
    if not cnp.PyArray_ISWRITEABLE(<cnp.ndarray>param):
        raise ValueError(f"{func}: 'param' is read-only; it is updated in place")
    cdef int t = float_typenum(param)
    cdef const Py_ssize_t* shape = <const Py_ssize_t*>cnp.PyArray_DIMS(<cnp.ndarray>param)
    cdef Py_ssize_t i, j
    for i in range(len(names)):
        name, a = names[i], arrays[i]
        check_float_array(func, name, a, ndim, t)
        check_shape(func, name, a, ndim, shape, "param", param)
        if name != "grad" and not cnp.PyArray_ISWRITEABLE(<cnp.ndarray>a):
            raise ValueError(f"{func}: '{name}' is read-only; it is updated in place")
        for j in range(-1, i):
            seen_name, seen = ("param", param) if j < 0 else (names[j], arrays[j])
            if overlap(a, seen):
                raise ValueError(f"{func}: '{name}' overlaps '{seen_name}'; optimizer "
                                 f"state, parameters and gradients must be separate arrays")
    return t


def rmsprop_update(param, grad, cache, *, lr, rho, eps, eps_inside_sqrt=False,
                   weight_decay=0.0, n_threads=None):
    """One RMSProp step, in place on `param` and `cache`.

    g = grad + weight_decay * param; cache = rho * cache + (1 - rho) * g**2;
    param -= lr * g / (sqrt(cache) + eps)      (PyTorch's form, the default), or
    param -= lr * g / sqrt(cache + eps)        (Gorgonia's, eps_inside_sqrt=True).

    Parameters
    ----------
    param, grad, cache : arrays of one shape, float32 or float64, separate memory
    lr : float >= 0
    rho : float in [0, 1)
    eps : float >= 0
    """
    f = "rmsprop_update"
    cdef double c_lr = check_hyperparameter(f, "lr", lr, 0)
    cdef double c_rho = check_hyperparameter(f, "rho", rho, 0, 1, False, True)
    cdef double c_eps = check_hyperparameter(f, "eps", eps, 0)
    cdef double wd = check_hyperparameter(f, "weight_decay", weight_decay, 0)
    cdef int t = _check_state(f, param, ("grad", "cache"), (grad, cache))
    cdef bint inside = bool(eps_inside_sqrt)
    cdef int threads = check_positive_threads(f, n_threads)
    cdef void* p = _data(param)
    cdef void* g = _data(grad)
    cdef void* c = _data(cache)
    cdef Py_ssize_t n = _size(param)
    with nogil:
        if t == F32:
            rmsprop_flat(<float*>p, <const float*>g, <float*>c, n, c_lr, c_rho, c_eps, wd,
                         inside, threads)
        else:
            rmsprop_flat(<double*>p, <const double*>g, <double*>c, n, c_lr, c_rho, c_eps,
                         wd, inside, threads)


def sgd_update(param, grad, velocity=None, *, lr, momentum=0.0, weight_decay=0.0,
               nesterov=False, n_threads=None):
    """One SGD step (PyTorch's momentum form), in place.

    g = grad + weight_decay * param; v = momentum * v + g;
    param -= lr * (g + momentum * v if nesterov else v); without momentum,
    param -= lr * g and `velocity` may be None.

    Parameters
    ----------
    param, grad : arrays of one shape, float32 or float64
    velocity : array of that shape, required when momentum != 0
    """
    f = "sgd_update"
    cdef double c_lr = check_hyperparameter(f, "lr", lr, 0)
    cdef double c_mom = check_hyperparameter(f, "momentum", momentum, 0, 1, False, True)
    cdef double wd = check_hyperparameter(f, "weight_decay", weight_decay, 0)
    cdef bint c_nesterov = bool(nesterov)
    if c_nesterov and c_mom == 0:
        raise ValueError(f"{f}: nesterov=True needs momentum > 0; got momentum={c_mom}")
    cdef int t
    if c_mom == 0:
        t = _check_state(f, param, ("grad",), (grad,))
        velocity = None
    else:
        if velocity is None:
            raise ValueError(f"{f}: momentum={c_mom} needs a 'velocity' array")
        t = _check_state(f, param, ("grad", "velocity"), (grad, velocity))
    cdef int threads = check_positive_threads(f, n_threads)
    cdef void* p = _data(param)
    cdef void* g = _data(grad)
    cdef void* v = _data(velocity) if velocity is not None else NULL
    cdef Py_ssize_t n = _size(param)
    with nogil:
        if t == F32:
            sgd_flat(<float*>p, <const float*>g, <float*>v, n, c_lr, c_mom, wd, c_nesterov,
                     threads)
        else:
            sgd_flat(<double*>p, <const double*>g, <double*>v, n, c_lr, c_mom, wd,
                     c_nesterov, threads)


def adam_update(param, grad, m, v, *, lr, beta1, beta2, eps, step, weight_decay=0.0,
                decoupled_weight_decay=False, n_threads=None):
    """One Adam (or AdamW) step, in place, in PyTorch's formulation.

    m = b1 m + (1 - b1) g; v = b2 v + (1 - b2) g**2;
    param -= lr / (1 - b1**step) * m / (sqrt(v) / sqrt(1 - b2**step) + eps).

    Parameters
    ----------
    param, grad, m, v : arrays of one shape, float32 or float64, separate memory
    step : int >= 1, the number of this step
    decoupled_weight_decay : bool
        AdamW: scale param by (1 - lr * weight_decay) instead of adding to g.
    """
    f = "adam_update"
    cdef double c_lr = check_hyperparameter(f, "lr", lr, 0)
    cdef double b1 = check_hyperparameter(f, "beta1", beta1, 0, 1, False, True)
    cdef double b2 = check_hyperparameter(f, "beta2", beta2, 0, 1, False, True)
    cdef double c_eps = check_hyperparameter(f, "eps", eps, 0)
    cdef double wd = check_hyperparameter(f, "weight_decay", weight_decay, 0)
    if isinstance(step, bool) or not isinstance(step, (int, np.integer)) or step < 1:
        raise ValueError(f"{f}: 'step' must be an int >= 1; got {step!r}")
    cdef long c_step = step
    cdef bint decoupled = bool(decoupled_weight_decay)
    cdef int t = _check_state(f, param, ("grad", "m", "v"), (grad, m, v))
    cdef int threads = check_positive_threads(f, n_threads)
    cdef void* pp = _data(param)
    cdef void* pg = _data(grad)
    cdef void* pm = _data(m)
    cdef void* pv = _data(v)
    cdef Py_ssize_t n = _size(param)
    with nogil:
        if t == F32:
            adam_flat(<float*>pp, <const float*>pg, <float*>pm, <float*>pv, n, c_lr, b1, b2,
                      c_eps, wd, decoupled, c_step, threads)
        else:
            adam_flat(<double*>pp, <const double*>pg, <double*>pm, <double*>pv, n, c_lr, b1,
                      b2, c_eps, wd, decoupled, c_step, threads)


def online_sigmoid_sgd(x, targets, weights, bias, *, lr, epochs):
    """The Go workshop's logistic-regression training, in place on weights and bias.

    For `epochs` passes over the rows in order (no shuffling), one row at a time:
    p = sigmoid(x[i] @ weights + bias[0]); s = lr * (targets[i] - p) * p * (1 - p);
    weights += s * x[i]; bias[0] += s. That is gradient descent on the squared error
    (targets - p)**2 / 2 of the sigmoid output, one sample at a time. Sequential by
    nature: one thread, without the GIL.

    Parameters
    ----------
    x : array of shape (n, k), float32 or float64
    targets : array of shape (n,), same dtype (0 and 1 for classification)
    weights : array of shape (k,), same dtype, updated in place
    bias : array of shape (1,), same dtype, updated in place
    lr : float > 0
    epochs : int >= 0

    Returns
    -------
    (weights, bias)
    """
    func = "online_sigmoid_sgd"
    cdef Py_ssize_t shape[2], one = 1
    cdef int t = _matrix(func, "x", x, shape)
    check_float_array(func, "targets", targets, 1, t)
    check_shape(func, "targets", targets, 1, &shape[0], "x", x)
    # weights and bias are updated in place: writeable, separate buffers
    check_out(func, "weights", weights, 1, &shape[1], t)
    _output(func, "bias", bias, 1, &one, t, False, "weights", weights)
    for name, a in (("x", x), ("targets", targets)):
        if overlap(a, weights) or overlap(a, bias):
            raise ValueError(f"{func}: '{name}' overlaps the parameters being updated")
    cdef double c_lr = check_hyperparameter(func, "lr", lr, 0, None, True)
    if isinstance(epochs, bool) or not isinstance(epochs, (int, np.integer)) or epochs < 0:
        raise ValueError(f"{func}: 'epochs' must be an int >= 0; got {epochs!r}")
    cdef Py_ssize_t c_epochs = epochs
    cdef void* px = _data(x)
    cdef void* pt = _data(targets)
    cdef void* pw = _data(weights)
    cdef void* pb = _data(bias)
    cdef Py_ssize_t n = shape[0], k = shape[1]
    with nogil:
        if t == F32:
            online_sigmoid_sgd_rows(<const float*>px, k, <const float*>pt, <float*>pw,
                                    <float*>pb, n, k, c_lr, c_epochs)
        else:
            online_sigmoid_sgd_rows(<const double*>px, k, <const double*>pt, <double*>pw,
                                    <double*>pb, n, k, c_lr, c_epochs)
    return weights, bias
