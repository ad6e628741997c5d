"""The compiled kernels, with their arguments checked.

Every function takes C-contiguous float32 or float64 arrays (one dtype per call),
releases the GIL while it runs, and writes into optional preallocated outputs
(`out=`, `dx=`, ...), so that a caller that passes them allocates nothing. Without
them, new arrays are returned. Outputs of elementwise kernels may be the very same
array as an input (in place); any other overlap is rejected.

`n_threads` defaults to :func:`nnkernels.get_num_threads`. Losses and bias gradients
give the same bits for any thread count.
"""
import math

import numpy as np

from nnkernels import _activations, _blas, _losses, _online, _optim
from nnkernels._validation import (check_float_array, check_hyperparameter,
                                   check_label_range, check_labels, check_out,
                                   check_positive_threads, check_shape)

__all__ = [
    "gemm", "bias_relu", "bias_relu_backward", "bias_sigmoid", "bias_sigmoid_backward",
    "bias_add", "bias_backward", "softmax", "softmax_cross_entropy", "mse",
    "sigmoid_binary_cross_entropy", "rmsprop_update", "sgd_update", "adam_update",
]

_RELU = _activations.ACTIVATIONS["relu"]
_SIGMOID = _activations.ACTIVATIONS["sigmoid"]
_IDENTITY = _activations.ACTIVATIONS["identity"]


def gemm(a, b, out=None, *, trans_a=False, trans_b=False, alpha=1.0, beta=0.0):
    """out = alpha * op(a) @ op(b) + beta * out, through BLAS sgemm/dgemm.

    Parameters
    ----------
    a : array of shape (m, k), or (k, m) with trans_a, float32 or float64
    b : array of shape (k, n), or (n, k) with trans_b, same dtype
    out : array of shape (m, n), same dtype, optional
        Must not overlap `a` or `b`. Required when beta != 0.
    trans_a, trans_b : bool
        Use the transpose of `a` / `b` (no copy is made).
    alpha, beta : float

    Returns
    -------
    out : array of shape (m, n)
    """
    f = "gemm"
    check_float_array(f, "a", a, 2)
    check_float_array(f, "b", b, 2, a.dtype)
    m, k = (a.shape[1], a.shape[0]) if trans_a else a.shape
    kb, n = (b.shape[1], b.shape[0]) if trans_b else b.shape
    if k != kb:
        raise ValueError(f"gemm: inner dimensions differ: op(a) has shape {(m, k)} and "
                         f"op(b) has shape {(kb, n)} (trans_a={trans_a}, trans_b={trans_b})")
    alpha = check_hyperparameter(f, "alpha", alpha)
    beta = check_hyperparameter(f, "beta", beta)
    if out is None and beta != 0:
        raise ValueError(f"gemm: beta={beta} accumulates into 'out', so 'out' is required")
    out = check_out(f, "out", out, (m, n), a.dtype, {"a": a, "b": b}, allow_same=False)
    _blas._gemm(a, b, out, bool(trans_a), bool(trans_b), alpha, beta)
    return out


def _forward(func, activation, x, bias, out, n_threads):
    check_float_array(func, "x", x, 2)
    check_float_array(func, "bias", bias, 1, x.dtype)
    check_shape(func, "bias", bias, (x.shape[1],), f" to match x of shape {x.shape}")
    out = check_out(func, "out", out, x.shape, x.dtype, {"x": x, "bias": bias})
    _activations._bias_activation(x, bias, out, activation,
                                  check_positive_threads(func, n_threads))
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
    return _forward("bias_relu", _RELU, x, bias, out, n_threads)


def bias_sigmoid(x, bias, out=None, *, n_threads=None):
    """out = 1 / (1 + exp(-(x + bias))), overflow-free; shapes as :func:`bias_relu`."""
    return _forward("bias_sigmoid", _SIGMOID, x, bias, out, n_threads)


def bias_add(x, bias, out=None, *, n_threads=None):
    """out = x + bias; shapes as :func:`bias_relu`."""
    return _forward("bias_add", _IDENTITY, x, bias, out, n_threads)


def _check_dbias(func, dbias, m, dtype, inputs):
    return check_out(func, "dbias", dbias, (m,), dtype, inputs, allow_same=False)


def _backward(func, activation, dy, y, dx, dbias, n_threads):
    check_float_array(func, "dy", dy, 2)
    check_float_array(func, "y", y, 2, dy.dtype)
    check_shape(func, "y", y, dy.shape, f" to match dy of shape {dy.shape}")
    dx = check_out(func, "dx", dx, dy.shape, dy.dtype, {"dy": dy, "y": y})
    dbias = _check_dbias(func, dbias, dy.shape[1], dy.dtype, {"dy": dy, "y": y, "dx": dx})
    _activations._bias_activation_backward(dy, y, dx, dbias, activation,
                                           check_positive_threads(func, n_threads))
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
    return _backward("bias_relu_backward", _RELU, dy, y, dx, dbias, n_threads)


def bias_sigmoid_backward(dy, y, dx=None, dbias=None, *, n_threads=None):
    """dx = dy * y * (1 - y) and dbias = dx.sum(axis=0); as :func:`bias_relu_backward`."""
    return _backward("bias_sigmoid_backward", _SIGMOID, dy, y, dx, dbias, n_threads)


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
    check_float_array(f, "dy", dy, 2)
    dbias = _check_dbias(f, dbias, dy.shape[1], dy.dtype, {"dy": dy})
    _activations._bias_backward(dy, dbias, check_positive_threads(f, n_threads))
    return dbias


def _check_nonempty(func, name, a):
    if a.shape[0] == 0 or a.shape[1] == 0:
        raise ValueError(f"{func}: '{name}' is empty (shape {a.shape}); a mean over no "
                         f"elements is undefined")


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
    check_float_array(f, "logits", logits, 2)
    _check_nonempty(f, "logits", logits)
    labels = check_labels(f, "labels", labels, logits.shape[0])
    dlogits = check_out(f, "dlogits", dlogits, logits.shape, logits.dtype,
                        {"logits": logits, "labels": labels})
    loss = _losses._softmax_cross_entropy(logits, labels, dlogits,
                                          check_positive_threads(f, n_threads))
    if math.isnan(loss):
        check_label_range(f, "labels", labels, logits.shape[1])
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
    check_float_array(f, "logits", logits, 2)
    out = check_out(f, "out", out, logits.shape, logits.dtype, {"logits": logits})
    _losses._softmax(logits, out, check_positive_threads(f, n_threads))
    return out


def _pair_loss(func, kernel, a_name, a, b_name, b, grad_name, grad, n_threads):
    check_float_array(func, a_name, a, 2)
    check_float_array(func, b_name, b, 2, a.dtype)
    check_shape(func, b_name, b, a.shape, f" to match {a_name} of shape {a.shape}")
    _check_nonempty(func, a_name, a)
    grad = check_out(func, grad_name, grad, a.shape, a.dtype, {a_name: a, b_name: b})
    return kernel(a, b, grad, check_positive_threads(func, n_threads)), grad


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
    return _pair_loss("mse", _losses._mse, "pred", pred, "target", target, "dpred", dpred,
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
    return _pair_loss("sigmoid_binary_cross_entropy", _losses._sigmoid_binary_cross_entropy,
                      "logits", logits, "targets", targets, "dlogits", dlogits, n_threads)


def _flat_state(func, param, others):
    """Check param and its same-shaped companions; return 1-D views of each."""
    if not isinstance(param, np.ndarray) or param.ndim == 0:
        check_float_array(func, "param", param, 1)  # raises: not an array, or 0-D
    check_float_array(func, "param", param, param.ndim)
    if not param.flags.writeable:
        raise ValueError(f"{func}: 'param' is read-only; it is updated in place")
    flat = [param.reshape(-1)]
    seen = {"param": param}
    for name, a in others.items():
        check_float_array(func, name, a, param.ndim, param.dtype)
        check_shape(func, name, a, param.shape, f" to match param of shape {param.shape}")
        if name != "grad" and not a.flags.writeable:
            raise ValueError(f"{func}: '{name}' is read-only; it is updated in place")
        for seen_name, s in seen.items():
            if np.may_share_memory(a, s):  # exact for C-contiguous arrays
                raise ValueError(f"{func}: '{name}' overlaps '{seen_name}'; optimizer "
                                 f"state, parameters and gradients must be separate arrays")
        seen[name] = a
        flat.append(a.reshape(-1))
    return flat


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
    lr = check_hyperparameter(f, "lr", lr, low=0)
    rho = check_hyperparameter(f, "rho", rho, low=0, high=1, high_open=True)
    eps = check_hyperparameter(f, "eps", eps, low=0)
    weight_decay = check_hyperparameter(f, "weight_decay", weight_decay, low=0)
    p, g, c = _flat_state(f, param, {"grad": grad, "cache": cache})
    _optim._rmsprop_update(p, g, c, lr, rho, eps, weight_decay, bool(eps_inside_sqrt),
                           check_positive_threads(f, n_threads))


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
    lr = check_hyperparameter(f, "lr", lr, low=0)
    momentum = check_hyperparameter(f, "momentum", momentum, low=0, high=1, high_open=True)
    weight_decay = check_hyperparameter(f, "weight_decay", weight_decay, low=0)
    if nesterov and momentum == 0:
        raise ValueError(f"{f}: nesterov=True needs momentum > 0; got momentum={momentum}")
    if momentum == 0:
        p, g = _flat_state(f, param, {"grad": grad})
        v = p[:0]
    else:
        if velocity is None:
            raise ValueError(f"{f}: momentum={momentum} needs a 'velocity' array")
        p, g, v = _flat_state(f, param, {"grad": grad, "velocity": velocity})
    _optim._sgd_update(p, g, v, lr, momentum, weight_decay, bool(nesterov),
                       check_positive_threads(f, n_threads))


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
    lr = check_hyperparameter(f, "lr", lr, low=0)
    beta1 = check_hyperparameter(f, "beta1", beta1, low=0, high=1, high_open=True)
    beta2 = check_hyperparameter(f, "beta2", beta2, low=0, high=1, high_open=True)
    eps = check_hyperparameter(f, "eps", eps, low=0)
    weight_decay = check_hyperparameter(f, "weight_decay", weight_decay, low=0)
    if isinstance(step, bool) or not isinstance(step, (int, np.integer)) or step < 1:
        raise ValueError(f"{f}: 'step' must be an int >= 1; got {step!r}")
    p, g, m_, v_ = _flat_state(f, param, {"grad": grad, "m": m, "v": v})
    _optim._adam_update(p, g, m_, v_, lr, beta1, beta2, eps, weight_decay,
                        bool(decoupled_weight_decay), int(step),
                        check_positive_threads(f, n_threads))


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
    check_float_array(func, "x", x, 2)
    check_float_array(func, "targets", targets, 1, x.dtype)
    check_shape(func, "targets", targets, (x.shape[0],), f" to match x of shape {x.shape}")
    # weights and bias are updated in place: writeable, separate buffers
    check_out(func, "weights", weights, (x.shape[1],), x.dtype)
    check_out(func, "bias", bias, (1,), x.dtype, {"weights": weights}, allow_same=False)
    for name, a in (("x", x), ("targets", targets)):
        if np.may_share_memory(a, weights) or np.may_share_memory(a, bias):
            raise ValueError(f"{func}: '{name}' overlaps the parameters being updated")
    lr = check_hyperparameter(func, "lr", lr, low=0, low_open=True)
    if isinstance(epochs, bool) or not isinstance(epochs, (int, np.integer)) or epochs < 0:
        raise ValueError(f"{func}: 'epochs' must be an int >= 0; got {epochs!r}")
    _online._online_sigmoid_sgd(x, targets, weights, bias, lr, int(epochs))
    return weights, bias
