# cython: language_level=3, boundscheck=False, wraparound=False, initializedcheck=False, cdivision=True
"""Optimizer update kernels; see _optim.pxd for the formulas."""
from cython cimport floating
from cython.parallel cimport prange
from libc.math cimport pow, sqrt

from nnkernels._common cimport (adam_chunk, rmsprop_chunk, sgd_chunk, use_threads,
                                COST_CHEAP, COST_SQRT)


cdef enum:
    # Elements per task of the parallel loops: the update of one chunk is a vectorised
    # C loop (see _common.pxd); elementwise, so the result does not depend on the cut.
    # Unthreaded, the whole array is one chunk (and no OpenMP region is entered).
    CHUNK = 8192


cdef inline Py_ssize_t _chunks(Py_ssize_t n) noexcept nogil:
    return (n + CHUNK - 1) // CHUNK


cdef void rmsprop_flat(floating* param, const floating* grad, floating* cache,
                       Py_ssize_t n, double lr, double rho, double eps,
                       double weight_decay, bint eps_inside_sqrt,
                       int n_threads) noexcept nogil:
    cdef Py_ssize_t chunk, lo, hi
    cdef floating f_lr = <floating>lr, f_rho = <floating>rho, f_eps = <floating>eps
    cdef floating f_wd = <floating>weight_decay, one_minus_rho = <floating>(1 - rho)
    if not use_threads(n, n_threads, COST_SQRT):
        rmsprop_chunk(param, grad, cache, n, f_lr, f_rho, one_minus_rho, f_eps, f_wd,
                      eps_inside_sqrt)
        return
    for chunk in prange(_chunks(n), schedule="static", num_threads=n_threads):
        lo = chunk * CHUNK
        hi = lo + CHUNK if lo + CHUNK < n else n
        rmsprop_chunk(param + lo, grad + lo, cache + lo, hi - lo, f_lr, f_rho,
                      one_minus_rho, f_eps, f_wd, eps_inside_sqrt)


cdef void sgd_flat(floating* param, const floating* grad, floating* velocity,
                   Py_ssize_t n, double lr, double momentum, double weight_decay,
                   bint nesterov, int n_threads) noexcept nogil:
    cdef Py_ssize_t chunk, lo, hi
    cdef floating f_lr = <floating>lr, f_mom = <floating>momentum
    cdef floating f_wd = <floating>weight_decay
    if momentum == 0:
        velocity = NULL
    if not use_threads(n, n_threads, COST_CHEAP):
        sgd_chunk(param, grad, velocity, n, f_lr, f_mom, f_wd, nesterov)
        return
    for chunk in prange(_chunks(n), schedule="static", num_threads=n_threads):
        lo = chunk * CHUNK
        hi = lo + CHUNK if lo + CHUNK < n else n
        sgd_chunk(param + lo, grad + lo, velocity + lo if velocity != NULL else NULL,
                  hi - lo, f_lr, f_mom, f_wd, nesterov)


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
        adam_chunk(param, grad, m, v, n, f_b1, one_minus_b1, f_b2, one_minus_b2,
                   step_size, inv_sqrt_bc2, f_eps, f_wd, decay, decoupled_weight_decay)
        return
    for chunk in prange(_chunks(n), schedule="static", num_threads=n_threads):
        lo = chunk * CHUNK
        hi = lo + CHUNK if lo + CHUNK < n else n
        adam_chunk(param + lo, grad + lo, m + lo, v + lo, hi - lo, f_b1, one_minus_b1,
                   f_b2, one_minus_b2, step_size, inv_sqrt_bc2, f_eps, f_wd, decay,
                   decoupled_weight_decay)


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
