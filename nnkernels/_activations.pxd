"""Fused bias + activation kernels and their backward passes (no GIL).

Forward:  out = act(x + bias), bias broadcast over rows.
Backward: dx = dy * act'(.) computed from the forward OUTPUT y, dbias = sum_rows(dx).
Outputs may be the very same arrays as inputs (in place); partial overlap is unsafe.
"""
from cython cimport floating

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
