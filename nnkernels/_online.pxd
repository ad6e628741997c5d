"""Online gradient descent: one sample at a time, in order (no GIL)."""
from cython cimport floating

# The Go workshop's logistic regression training, for `epochs` passes over the rows
# in order: for each row i, p = sigmoid(x[i] . w + bias[0]), s = lr (t[i] - p) p (1 - p),
# then w += s x[i] and bias[0] += s: gradient descent on (t - p)^2 / 2, one sample
# at a time. Sequential by nature: one thread.
# Pointer form: row i of x starts at x + i * s_x.
cdef void online_sigmoid_sgd_rows(const floating* x, Py_ssize_t s_x,  # IN     (n, k)
                                  const floating* t,                  # IN     (n,)
                                  floating* w,                        # IN/OUT (k,)
                                  floating* bias,                     # IN/OUT (1,)
                                  Py_ssize_t n, Py_ssize_t k, double lr,
                                  Py_ssize_t epochs) noexcept nogil

# Memoryview form.
cdef void online_sigmoid_sgd(const floating[:, ::1] x,  # IN     (n, k)
                             const floating[::1] t,     # IN     (n,)
                             floating[::1] w,           # IN/OUT (k,)
                             floating[::1] bias,        # IN/OUT (1,)
                             double lr, Py_ssize_t epochs) noexcept nogil
