"""Optimizer updates, in place and in one pass over flat parameter arrays (no GIL).

All arrays are 1-D views of the same length (a C-contiguous parameter reshaped with
reshape(-1)); param, grad and the state arrays must not overlap.
"""
from cython cimport floating

# Pointer forms, over n elements (the formulas below; velocity NULL for plain SGD).
cdef void rmsprop_flat(floating* param, const floating* grad, floating* cache,
                       Py_ssize_t n, double lr, double rho, double eps,
                       double weight_decay, bint eps_inside_sqrt,
                       int n_threads) noexcept nogil
cdef void sgd_flat(floating* param, const floating* grad, floating* velocity,
                   Py_ssize_t n, double lr, double momentum, double weight_decay,
                   bint nesterov, int n_threads) noexcept nogil
cdef void adam_flat(floating* param, const floating* grad, floating* m, floating* v,
                    Py_ssize_t n, double lr, double beta1, double beta2, double eps,
                    double weight_decay, bint decoupled_weight_decay, long step,
                    int n_threads) noexcept nogil

# Memoryview forms.

# cache = rho cache + (1 - rho) g^2, with g = grad + weight_decay param;
# param -= lr g / (sqrt(cache) + eps)       (PyTorch, eps_inside_sqrt=False)
# param -= lr g / sqrt(cache + eps)         (Gorgonia, eps_inside_sqrt=True)
cdef void rmsprop_update(floating[::1] param,       # IN/OUT (p,)
                         const floating[::1] grad,  # IN     (p,)
                         floating[::1] cache,       # IN/OUT (p,)
                         double lr, double rho, double eps, double weight_decay,
                         bint eps_inside_sqrt, int n_threads) noexcept nogil

# g = grad + weight_decay param; v = momentum v + g;
# param -= lr (g + momentum v) if nesterov else lr v. velocity unused if momentum == 0.
cdef void sgd_update(floating[::1] param,       # IN/OUT (p,)
                     const floating[::1] grad,  # IN     (p,)
                     floating[::1] velocity,    # IN/OUT (p,), or (0,) if momentum == 0
                     double lr, double momentum, double weight_decay, bint nesterov,
                     int n_threads) noexcept nogil

# m = b1 m + (1 - b1) g; v = b2 v + (1 - b2) g^2; with t = step (1-based):
# param -= lr / (1 - b1^t) m / (sqrt(v) / sqrt(1 - b2^t) + eps).
# Weight decay adds weight_decay param to g (Adam) or, if decoupled, first scales
# param by 1 - lr weight_decay (AdamW).
cdef void adam_update(floating[::1] param,       # IN/OUT (p,)
                      const floating[::1] grad,  # IN     (p,)
                      floating[::1] m,           # IN/OUT (p,)
                      floating[::1] v,           # IN/OUT (p,)
                      double lr, double beta1, double beta2, double eps,
                      double weight_decay, bint decoupled_weight_decay, long step,
                      int n_threads) noexcept nogil
