# cython: language_level=3, boundscheck=False, wraparound=False, initializedcheck=False, cdivision=True
"""Online (per-sample) gradient descent kernels; see _online.pxd."""
from cython cimport floating

from nnkernels._common cimport sigmoid


cdef void online_sigmoid_sgd(const floating[:, ::1] x, const floating[::1] t,
                             floating[::1] w, floating[::1] bias, double lr,
                             Py_ssize_t epochs) noexcept nogil:
    cdef Py_ssize_t epoch, i, j, n = x.shape[0], k = x.shape[1]
    cdef floating z, p, step, f_lr = <floating>lr
    for epoch in range(epochs):
        for i in range(n):
            z = bias[0]
            for j in range(k):
                z = z + x[i, j] * w[j]
            p = sigmoid(z)
            step = f_lr * (t[i] - p) * p * (1 - p)
            for j in range(k):
                w[j] += step * x[i, j]
            bias[0] += step


# Unchecked entry point; nnkernels.kernels validates first.

def _online_sigmoid_sgd(const floating[:, ::1] x, const floating[::1] t, floating[::1] w,
                        floating[::1] bias, double lr, Py_ssize_t epochs):
    with nogil:
        online_sigmoid_sgd(x, t, w, bias, lr, epochs)
