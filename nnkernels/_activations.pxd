"""Fused bias + activation kernels and their backward passes (no GIL).

Forward:  out = act(x + bias), bias broadcast over rows.
Backward: dx = dy * act'(.) computed from the forward OUTPUT y, dbias = sum_rows(dx).
Outputs may be the very same arrays as inputs (in place); partial overlap is unsafe.
"""
from cython cimport floating

from nnkernels._common cimport Activation, IDENTITY, RELU, SIGMOID

# Pointer forms, over n rows of m elements; row i of x starts at x + i * s_x
# (likewise the other matrices).
cdef void bias_act_rows(const floating* x, Py_ssize_t s_x,   # IN  (n, m)
                        const floating* bias,                # IN  (m,)
                        floating* out, Py_ssize_t s_out,     # OUT (n, m)
                        Py_ssize_t n, Py_ssize_t m, Activation act,
                        int n_threads) noexcept nogil

# dy and dbias always; y and dx unused (may be NULL) for IDENTITY.
cdef void bias_act_backward_rows(const floating* dy, Py_ssize_t s_dy,  # IN  (n, m)
                                 const floating* y, Py_ssize_t s_y,    # IN  (n, m)
                                 floating* dx, Py_ssize_t s_dx,        # OUT (n, m)
                                 floating* dbias,                      # OUT (m,)
                                 Py_ssize_t n, Py_ssize_t m, Activation act,
                                 int n_threads) noexcept nogil

# Memoryview forms.

cdef void bias_relu(const floating[:, ::1] x,     # IN  (n, m)
                    const floating[::1] bias,     # IN  (m,)
                    floating[:, ::1] out,         # OUT (n, m)
                    int n_threads) noexcept nogil

cdef void bias_sigmoid(const floating[:, ::1] x,  # IN  (n, m)
                       const floating[::1] bias,  # IN  (m,)
                       floating[:, ::1] out,      # OUT (n, m)
                       int n_threads) noexcept nogil

cdef void bias_add(const floating[:, ::1] x,      # IN  (n, m)
                   const floating[::1] bias,      # IN  (m,)
                   floating[:, ::1] out,          # OUT (n, m)
                   int n_threads) noexcept nogil

cdef void bias_relu_backward(const floating[:, ::1] dy,  # IN  (n, m)
                             const floating[:, ::1] y,   # IN  (n, m) forward output
                             floating[:, ::1] dx,        # OUT (n, m)
                             floating[::1] dbias,        # OUT (m,)
                             int n_threads) noexcept nogil

cdef void bias_sigmoid_backward(const floating[:, ::1] dy,  # IN  (n, m)
                                const floating[:, ::1] y,   # IN  (n, m) forward output
                                floating[:, ::1] dx,        # OUT (n, m)
                                floating[::1] dbias,        # OUT (m,)
                                int n_threads) noexcept nogil

cdef void bias_backward(const floating[:, ::1] dy,  # IN  (n, m)
                        floating[::1] dbias,        # OUT (m,)
                        int n_threads) noexcept nogil
