# cython: language_level=3, boundscheck=False, wraparound=False, initializedcheck=False, cdivision=True
"""Optimizer update kernels; see _optim.pxd for the formulas."""
from cython cimport floating
from cython.parallel cimport prange
from libc.math cimport pow, sqrt

from nnkernels._common cimport (nk_adam_d, nk_adam_f, nk_rmsprop_d, nk_rmsprop_f,
                                nk_sgd_d, nk_sgd_f, use_threads, COST_CHEAP,
                                COST_SQRT)


cdef enum:
    # Elements per task of the parallel loops: the update of one chunk is a vectorised
    # C loop (see _common.pxd); elementwise, so the result does not depend on the cut.
    # Unthreaded, the whole array is one chunk (and no OpenMP region is entered).
    CHUNK = 8192


cdef inline Py_ssize_t _chunks(Py_ssize_t n) noexcept nogil:
    return (n + CHUNK - 1) // CHUNK


cdef inline void _rmsprop_chunk(floating* param, const floating* grad, floating* cache,
                                Py_ssize_t lo, Py_ssize_t hi, floating lr, floating rho,
                                floating one_minus_rho, floating eps, floating wd,
                                bint eps_inside_sqrt) noexcept nogil:
    if floating is float:
        nk_rmsprop_f(param + lo, grad + lo, cache + lo, hi - lo, lr, rho, one_minus_rho,
                     eps, wd, eps_inside_sqrt)
    else:
        nk_rmsprop_d(param + lo, grad + lo, cache + lo, hi - lo, lr, rho, one_minus_rho,
                     eps, wd, eps_inside_sqrt)


cdef void rmsprop_flat(floating* param, const floating* grad, floating* cache,
                       Py_ssize_t n, double lr, double rho, double eps,
                       double weight_decay, bint eps_inside_sqrt,
                       int n_threads) noexcept nogil:
    cdef Py_ssize_t chunk, lo, hi
    cdef floating f_lr = <floating>lr, f_rho = <floating>rho, f_eps = <floating>eps
    cdef floating f_wd = <floating>weight_decay, one_minus_rho = <floating>(1 - rho)
    if not use_threads(n, n_threads, COST_SQRT):
        _rmsprop_chunk(param, grad, cache, 0, n, f_lr, f_rho, one_minus_rho, f_eps, f_wd,
                       eps_inside_sqrt)
        return
    for chunk in prange(_chunks(n), schedule="static", num_threads=n_threads):
        lo = chunk * CHUNK
        hi = lo + CHUNK if lo + CHUNK < n else n
        _rmsprop_chunk(param, grad, cache, lo, hi, f_lr, f_rho, one_minus_rho, f_eps,
                       f_wd, eps_inside_sqrt)


cdef inline void _sgd_chunk(floating* param, const floating* grad, floating* velocity,
                            Py_ssize_t lo, Py_ssize_t hi, floating lr, floating momentum,
                            floating wd, bint nesterov) noexcept nogil:
    cdef floating* vel = velocity + lo if velocity != NULL else NULL  # NULL: plain SGD
    if floating is float:
        nk_sgd_f(param + lo, grad + lo, vel, hi - lo, lr, momentum, wd, nesterov)
    else:
        nk_sgd_d(param + lo, grad + lo, vel, hi - lo, lr, momentum, wd, nesterov)


cdef void sgd_flat(floating* param, const floating* grad, floating* velocity,
                   Py_ssize_t n, double lr, double momentum, double weight_decay,
                   bint nesterov, int n_threads) noexcept nogil:
    cdef Py_ssize_t chunk, lo, hi
    cdef floating f_lr = <floating>lr, f_mom = <floating>momentum
    cdef floating f_wd = <floating>weight_decay
    if momentum == 0:
        velocity = NULL
    if not use_threads(n, n_threads, COST_CHEAP):
        _sgd_chunk(param, grad, velocity, 0, n, f_lr, f_mom, f_wd, nesterov)
        return
    for chunk in prange(_chunks(n), schedule="static", num_threads=n_threads):
        lo = chunk * CHUNK
        hi = lo + CHUNK if lo + CHUNK < n else n
        _sgd_chunk(param, grad, velocity, lo, hi, f_lr, f_mom, f_wd, nesterov)


cdef inline void _adam_chunk(floating* param, const floating* grad, floating* m,
                             floating* v, Py_ssize_t lo, Py_ssize_t hi, floating b1,
                             floating one_minus_b1, floating b2, floating one_minus_b2,
                             floating step_size, floating inv_sqrt_bc2, floating eps,
                             floating wd, floating decay, bint decoupled) noexcept nogil:
    if floating is float:
        nk_adam_f(param + lo, grad + lo, m + lo, v + lo, hi - lo, b1, one_minus_b1, b2,
                  one_minus_b2, step_size, inv_sqrt_bc2, eps, wd, decay, decoupled)
    else:
        nk_adam_d(param + lo, grad + lo, m + lo, v + lo, hi - lo, b1, one_minus_b1, b2,
                  one_minus_b2, step_size, inv_sqrt_bc2, eps, wd, decay, decoupled)


cdef void adam_flat(floating* param, const floating* grad, floating* m, floating* v,
                    Py_ssize_t n, double lr, double beta1, double beta2, double eps,
                    double weight_decay, bint decoupled_weight_decay, long step,
                    int n_threads) noexcept nogil:
    cdef Py_ssize_t chunk, lo, hi
    cdef floating f_b1 = <floating>beta1, f_b2 = <floating>beta2
    cdef floating one_minus_b1 = <floating>(1 - beta1), one_minus_b2 = <floating>(1 - beta2)
    cdef floating step_size = <floating>(lr / (1 - pow(beta1, step)))
    cdef floating inv_sqrt_bc2 = <floating>(1 / sqrt(1 - pow(beta2, step)))
    cdef floating f_eps = <floating>eps, f_wd = <floating>weight_decay
    cdef floating decay = <floating>(1 - lr * weight_decay)
    if not use_threads(n, n_threads, COST_SQRT):
        _adam_chunk(param, grad, m, v, 0, n, f_b1, one_minus_b1, f_b2, one_minus_b2,
                    step_size, inv_sqrt_bc2, f_eps, f_wd, decay, decoupled_weight_decay)
        return
    for chunk in prange(_chunks(n), schedule="static", num_threads=n_threads):
        lo = chunk * CHUNK
        hi = lo + CHUNK if lo + CHUNK < n else n
        _adam_chunk(param, grad, m, v, lo, hi, f_b1, one_minus_b1, f_b2, one_minus_b2,
                    step_size, inv_sqrt_bc2, f_eps, f_wd, decay, decoupled_weight_decay)


# The memoryview forms declared in _optim.pxd.

cdef void rmsprop_update(floating[::1] param, const floating[::1] grad,
                         floating[::1] cache, double lr, double rho, double eps,
                         double weight_decay, bint eps_inside_sqrt,
                         int n_threads) noexcept nogil:
    rmsprop_flat(&param[0], &grad[0], &cache[0], param.shape[0], lr, rho, eps,
                 weight_decay, eps_inside_sqrt, n_threads)


cdef void sgd_update(floating[::1] param, const floating[::1] grad,
                     floating[::1] velocity, double lr, double momentum,
                     double weight_decay, bint nesterov, int n_threads) noexcept nogil:
    sgd_flat(&param[0], &grad[0], &velocity[0] if momentum != 0 else NULL, param.shape[0],
             lr, momentum, weight_decay, nesterov, n_threads)


cdef void adam_update(floating[::1] param, const floating[::1] grad,
                      floating[::1] m, floating[::1] v, double lr, double beta1,
                      double beta2, double eps, double weight_decay,
                      bint decoupled_weight_decay, long step, int n_threads) noexcept nogil:
    adam_flat(&param[0], &grad[0], &m[0], &v[0], param.shape[0], lr, beta1, beta2, eps,
              weight_decay, decoupled_weight_decay, step, n_threads)
