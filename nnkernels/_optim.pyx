# cython: language_level=3, boundscheck=False, wraparound=False, initializedcheck=False, cdivision=True
"""Optimizer update kernels; see _optim.pxd for the formulas."""
from cython cimport floating
from cython.parallel cimport prange
from libc.math cimport sqrt, sqrtf, pow

from nnkernels._common cimport use_threads


cdef inline floating _sqrt(floating v) noexcept nogil:
    if floating is float:
        return sqrtf(v)
    else:
        return sqrt(v)


cdef void rmsprop_update(floating[::1] param, const floating[::1] grad,
                         floating[::1] cache, double lr, double rho, double eps,
                         double weight_decay, bint eps_inside_sqrt,
                         int n_threads) noexcept nogil:
    cdef Py_ssize_t i, n = param.shape[0]
    cdef floating g, c
    cdef floating f_lr = <floating>lr, f_rho = <floating>rho, f_eps = <floating>eps
    cdef floating f_wd = <floating>weight_decay, one_minus_rho = <floating>(1 - rho)
    for i in prange(n, schedule="static", num_threads=n_threads,
                    use_threads_if=use_threads(n, n_threads)):
        g = grad[i] + f_wd * param[i]
        c = f_rho * cache[i] + one_minus_rho * g * g
        cache[i] = c
        if eps_inside_sqrt:
            param[i] -= f_lr * g / _sqrt(c + f_eps)
        else:
            param[i] -= f_lr * g / (_sqrt(c) + f_eps)


cdef void sgd_update(floating[::1] param, const floating[::1] grad,
                     floating[::1] velocity, double lr, double momentum,
                     double weight_decay, bint nesterov, int n_threads) noexcept nogil:
    cdef Py_ssize_t i, n = param.shape[0]
    cdef floating g, vel
    cdef floating f_lr = <floating>lr, f_mom = <floating>momentum
    cdef floating f_wd = <floating>weight_decay
    cdef bint has_momentum = momentum != 0
    for i in prange(n, schedule="static", num_threads=n_threads,
                    use_threads_if=use_threads(n, n_threads)):
        g = grad[i] + f_wd * param[i]
        if has_momentum:
            vel = f_mom * velocity[i] + g
            velocity[i] = vel
            g = g + f_mom * vel if nesterov else vel
        param[i] -= f_lr * g


cdef void adam_update(floating[::1] param, const floating[::1] grad,
                      floating[::1] m, floating[::1] v, double lr, double beta1,
                      double beta2, double eps, double weight_decay,
                      bint decoupled_weight_decay, long step, int n_threads) noexcept nogil:
    cdef Py_ssize_t i, n = param.shape[0]
    cdef floating g, mi, vi
    cdef floating f_b1 = <floating>beta1, f_b2 = <floating>beta2
    cdef floating one_minus_b1 = <floating>(1 - beta1), one_minus_b2 = <floating>(1 - beta2)
    cdef floating step_size = <floating>(lr / (1 - pow(beta1, step)))
    cdef floating inv_sqrt_bc2 = <floating>(1 / sqrt(1 - pow(beta2, step)))
    cdef floating f_eps = <floating>eps, f_wd = <floating>weight_decay
    cdef floating decay = <floating>(1 - lr * weight_decay)
    for i in prange(n, schedule="static", num_threads=n_threads,
                    use_threads_if=use_threads(n, n_threads)):
        g = grad[i]
        if decoupled_weight_decay:
            param[i] *= decay
        else:
            g = g + f_wd * param[i]
        mi = f_b1 * m[i] + one_minus_b1 * g
        vi = f_b2 * v[i] + one_minus_b2 * g * g
        m[i] = mi
        v[i] = vi
        param[i] -= step_size * mi / (_sqrt(vi) * inv_sqrt_bc2 + f_eps)


# Unchecked entry points; nnkernels.kernels validates first.

def _rmsprop_update(floating[::1] param, const floating[::1] grad, floating[::1] cache,
                    double lr, double rho, double eps, double weight_decay,
                    bint eps_inside_sqrt, int n_threads):
    with nogil:
        rmsprop_update(param, grad, cache, lr, rho, eps, weight_decay, eps_inside_sqrt,
                       n_threads)


def _sgd_update(floating[::1] param, const floating[::1] grad, floating[::1] velocity,
                double lr, double momentum, double weight_decay, bint nesterov,
                int n_threads):
    with nogil:
        sgd_update(param, grad, velocity, lr, momentum, weight_decay, nesterov, n_threads)


def _adam_update(floating[::1] param, const floating[::1] grad, floating[::1] m,
                 floating[::1] v, double lr, double beta1, double beta2, double eps,
                 double weight_decay, bint decoupled_weight_decay, long step,
                 int n_threads):
    with nogil:
        adam_update(param, grad, m, v, lr, beta1, beta2, eps, weight_decay,
                    decoupled_weight_decay, step, n_threads)
