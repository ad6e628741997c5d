# cython: language_level=3, boundscheck=False, wraparound=False, initializedcheck=False, cdivision=True
"""The checked entry points of the optimizer updates and of the online SGD (nnkernels.
kernels has the overview; _kernels_dense.pyx says how a body is picked by dtype)."""
from cython cimport floating

cimport numpy as cnp

from nnkernels._online cimport online_sigmoid_sgd_rows
from nnkernels._optim cimport adam_flat, rmsprop_flat, sgd_flat
from nnkernels._validation cimport (check_float_array, check_hyperparameter, check_integer,
                                    check_matrix, check_out, check_output,
                                    check_positive_threads, check_shape, check_state, data,
                                    overlap, size)

cnp.import_array()

cdef enum:
    F32 = cnp.NPY_FLOAT32


cdef void _rmsprop(floating* tag, object param, object grad, object cache, double lr,
                   double rho, double eps, double wd, bint inside, int threads) noexcept:
    cdef floating* p = <floating*>data(param)
    cdef const floating* g = <const floating*>data(grad)
    cdef floating* c = <floating*>data(cache)
    cdef Py_ssize_t n = size(param)
    with nogil:
        rmsprop_flat(p, g, c, n, lr, rho, eps, wd, inside, threads)


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
    cdef int t = check_state(f, param, ("grad", "cache"), (grad, cache))
    cdef bint inside = bool(eps_inside_sqrt)
    cdef int threads = check_positive_threads(f, n_threads)
    if t == F32:
        _rmsprop(<float*>NULL, param, grad, cache, c_lr, c_rho, c_eps, wd, inside, threads)
    else:
        _rmsprop(<double*>NULL, param, grad, cache, c_lr, c_rho, c_eps, wd, inside, threads)


cdef void _sgd(floating* tag, object param, object grad, object velocity, double lr,
               double momentum, double wd, bint nesterov, int threads) noexcept:
    # velocity None: plain SGD
    cdef floating* p = <floating*>data(param)
    cdef const floating* g = <const floating*>data(grad)
    cdef floating* v = <floating*>data(velocity) if velocity is not None else NULL
    cdef Py_ssize_t n = size(param)
    with nogil:
        sgd_flat(p, g, v, n, lr, momentum, wd, nesterov, threads)


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
        t = check_state(f, param, ("grad",), (grad,))
        velocity = None
    else:
        if velocity is None:
            raise ValueError(f"{f}: momentum={c_mom} needs a 'velocity' array")
        t = check_state(f, param, ("grad", "velocity"), (grad, velocity))
    cdef int threads = check_positive_threads(f, n_threads)
    if t == F32:
        _sgd(<float*>NULL, param, grad, velocity, c_lr, c_mom, wd, c_nesterov, threads)
    else:
        _sgd(<double*>NULL, param, grad, velocity, c_lr, c_mom, wd, c_nesterov, threads)


cdef void _adam(floating* tag, object param, object grad, object m, object v, double lr,
                double b1, double b2, double eps, double wd, bint decoupled, long step,
                int threads) noexcept:
    cdef floating* pp = <floating*>data(param)
    cdef const floating* pg = <const floating*>data(grad)
    cdef floating* pm = <floating*>data(m)
    cdef floating* pv = <floating*>data(v)
    cdef Py_ssize_t n = size(param)
    with nogil:
        adam_flat(pp, pg, pm, pv, n, lr, b1, b2, eps, wd, decoupled, step, threads)


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
    cdef long c_step = check_integer(f, "step", step, 1)
    cdef bint decoupled = bool(decoupled_weight_decay)
    cdef int t = check_state(f, param, ("grad", "m", "v"), (grad, m, v))
    cdef int threads = check_positive_threads(f, n_threads)
    if t == F32:
        _adam(<float*>NULL, param, grad, m, v, c_lr, b1, b2, c_eps, wd, decoupled, c_step,
              threads)
    else:
        _adam(<double*>NULL, param, grad, m, v, c_lr, b1, b2, c_eps, wd, decoupled, c_step,
              threads)


cdef void _online(floating* tag, object x, object targets, object weights, object bias,
                  Py_ssize_t n, Py_ssize_t k, double lr, Py_ssize_t epochs) noexcept:
    cdef const floating* px = <const floating*>data(x)
    cdef const floating* pt = <const floating*>data(targets)
    cdef floating* pw = <floating*>data(weights)
    cdef floating* pb = <floating*>data(bias)
    with nogil:
        online_sigmoid_sgd_rows(px, k, pt, pw, pb, n, k, lr, epochs)


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
    cdef int t = check_matrix(func, "x", x, shape)
    check_float_array(func, "targets", targets, 1, t)
    check_shape(func, "targets", targets, 1, &shape[0], "x", x)
    # weights and bias are updated in place: writeable, separate buffers
    check_out(func, "weights", weights, 1, &shape[1], t)
    check_output(func, "bias", bias, 1, &one, t, False, "weights", weights)
    for name, a in (("x", x), ("targets", targets)):
        if overlap(a, weights) or overlap(a, bias):
            raise ValueError(f"{func}: '{name}' overlaps the parameters being updated")
    cdef double c_lr = check_hyperparameter(func, "lr", lr, 0, None, True)
    cdef Py_ssize_t c_epochs = check_integer(func, "epochs", epochs, 0)
    if t == F32:
        _online(<float*>NULL, x, targets, weights, bias, shape[0], shape[1], c_lr, c_epochs)
    else:
        _online(<double*>NULL, x, targets, weights, bias, shape[0], shape[1], c_lr, c_epochs)
    return weights, bias
