# cython: language_level=3, boundscheck=False, wraparound=False, initializedcheck=False, cdivision=True
"""Online (per-sample) gradient descent kernels; see _online.pxd."""
from cython cimport floating

from nnkernels._common cimport row_stride, sigmoid


cdef void online_sigmoid_sgd_rows(const floating* x, Py_ssize_t s_x, const floating* t,
                                  floating* w, floating* bias, Py_ssize_t n, Py_ssize_t k,
                                  double lr, Py_ssize_t epochs) noexcept nogil:
    cdef Py_ssize_t epoch, i, j
    cdef const floating* row
    cdef floating z, p, step, f_lr = <floating>lr
    for epoch in range(epochs):
        for i in range(n):
            row = x + i * s_x
            z = bias[0]
            for j in range(k):
                z = z + row[j] * w[j]
            p = sigmoid(z)
            step = f_lr * (t[i] - p) * p * (1 - p)
            for j in range(k):
                w[j] += step * row[j]
            bias[0] += step


cdef void online_sigmoid_sgd(const floating[:, ::1] x, const floating[::1] t,
                             floating[::1] w, floating[::1] bias, double lr,
                             Py_ssize_t epochs) noexcept nogil:
    online_sigmoid_sgd_rows(&x[0, 0], row_stride(x), &t[0], &w[0],
                            &bias[0], x.shape[0], x.shape[1], lr, epochs)
