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
    CHUNK = 8192


cdef inline Py_ssize_t _chunks(Py_ssize_t n) noexcept nogil:
    return (n + CHUNK - 1) // CHUNK


cdef void rmsprop_update(floating[::1] param, const floating[::1] grad,
                         floating[::1] cache, double lr, double rho, double eps,
                         double weight_decay, bint eps_inside_sqrt,
                         int n_threads) noexcept nogil:
    cdef Py_ssize_t n = param.shape[0], chunk, lo, hi
    cdef floating f_lr = <floating>lr, f_rho = <floating>rho, f_eps = <floating>eps
    cdef floating f_wd = <floating>weight_decay, one_minus_rho = <floating>(1 - rho)
    for chunk in prange(_chunks(n), schedule="static", num_threads=n_threads,
                        use_threads_if=use_threads(n, n_threads, COST_SQRT)):
        lo = chunk * CHUNK
        hi = lo + CHUNK if lo + CHUNK < n else n
        if floating is float:
            nk_rmsprop_f(&param[lo], &grad[lo], &cache[lo], hi - lo, f_lr, f_rho,
                         one_minus_rho, f_eps, f_wd, eps_inside_sqrt)
        else:
            nk_rmsprop_d(&param[lo], &grad[lo], &cache[lo], hi - lo, f_lr, f_rho,
                         one_minus_rho, f_eps, f_wd, eps_inside_sqrt)


cdef void sgd_update(floating[::1] param, const floating[::1] grad,
                     floating[::1] velocity, double lr, double momentum,
                     double weight_decay, bint nesterov, int n_threads) noexcept nogil:
    cdef Py_ssize_t n = param.shape[0], chunk, lo, hi
    cdef floating f_lr = <floating>lr, f_mom = <floating>momentum
    cdef floating f_wd = <floating>weight_decay
    cdef floating* vel
    for chunk in prange(_chunks(n), schedule="static", num_threads=n_threads,
                        use_threads_if=use_threads(n, n_threads, COST_CHEAP)):
        lo = chunk * CHUNK
        hi = lo + CHUNK if lo + CHUNK < n else n
        vel = &velocity[lo] if momentum != 0 else NULL  # NULL: plain SGD
        if floating is float:
            nk_sgd_f(&param[lo], &grad[lo], vel, hi - lo, f_lr, f_mom, f_wd, nesterov)
        else:
            nk_sgd_d(&param[lo], &grad[lo], vel, hi - lo, f_lr, f_mom, f_wd, nesterov)


cdef void adam_update(floating[::1] param, const floating[::1] grad,
                      floating[::1] m, floating[::1] v, double lr, double beta1,
                      double beta2, double eps, double weight_decay,
                      bint decoupled_weight_decay, long step, int n_threads) noexcept nogil:
    cdef Py_ssize_t n = param.shape[0], chunk, lo, hi
    cdef floating f_b1 = <floating>beta1, f_b2 = <floating>beta2
    cdef floating one_minus_b1 = <floating>(1 - beta1), one_minus_b2 = <floating>(1 - beta2)
    cdef floating step_size = <floating>(lr / (1 - pow(beta1, step)))
    cdef floating inv_sqrt_bc2 = <floating>(1 / sqrt(1 - pow(beta2, step)))
    cdef floating f_eps = <floating>eps, f_wd = <floating>weight_decay
    cdef floating decay = <floating>(1 - lr * weight_decay)
    for chunk in prange(_chunks(n), schedule="static", num_threads=n_threads,
                        use_threads_if=use_threads(n, n_threads, COST_SQRT)):
        lo = chunk * CHUNK
        hi = lo + CHUNK if lo + CHUNK < n else n
        if floating is float:
            nk_adam_f(&param[lo], &grad[lo], &m[lo], &v[lo], hi - lo, f_b1, one_minus_b1,
                      f_b2, one_minus_b2, step_size, inv_sqrt_bc2, f_eps, f_wd, decay,
                      decoupled_weight_decay)
        else:
            nk_adam_d(&param[lo], &grad[lo], &m[lo], &v[lo], hi - lo, f_b1, one_minus_b1,
                      f_b2, one_minus_b2, step_size, inv_sqrt_bc2, f_eps, f_wd, decay,
                      decoupled_weight_decay)


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
