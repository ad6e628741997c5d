"""Loss kernels: the mean loss and its gradient in one pass (no GIL).

Each returns the loss as a double, summed in a fixed order (the same bits for any
thread count), and writes the gradient of that mean loss. The gradient may be the
very same array as an input (in place); partial overlap is unsafe.
"""
from cython cimport floating
from libc.stdint cimport int64_t

cdef enum Loss:
    SOFTMAX_CE = 0   # a: logits, labels: class indices (b unused)
    MSE = 1          # a: pred, b: target
    SIGMOID_BCE = 2  # a: logits, b: targets

# Pointer form of the three losses, over n rows of m elements; row i of a starts at
# a + i * s_a (likewise b and grad). labels is used by SOFTMAX_CE only.
cdef double loss_rows(Loss loss, const floating* a, Py_ssize_t s_a,  # IN  (n, m)
                      const floating* b, Py_ssize_t s_b,             # IN  (n, m)
                      const int64_t* labels,                         # IN  (n,)
                      floating* grad, Py_ssize_t s_g,                # OUT (n, m)
                      Py_ssize_t n, Py_ssize_t m, int n_threads) noexcept nogil

# The same losses' sum (not mean) over rows lo..hi-1 of a batch, summed in row order;
# the gradient rows are the elementwise gradients times `scale` (1 / n for SOFTMAX_CE
# and 1 / (n m) otherwise give those of the batch's mean loss).
cdef double loss_sum_rows(Loss loss, const floating* a, Py_ssize_t s_a,  # IN  (n, m)
                          const floating* b, Py_ssize_t s_b,             # IN  (n, m)
                          const int64_t* labels,                         # IN  (n,)
                          floating* grad, Py_ssize_t s_g,                # OUT (n, m)
                          Py_ssize_t lo, Py_ssize_t hi, Py_ssize_t m,
                          double scale) noexcept nogil

cdef void softmax_rows(const floating* logits, Py_ssize_t s_z,  # IN  (n, m)
                       floating* out, Py_ssize_t s_out,         # OUT (n, m)
                       Py_ssize_t n, Py_ssize_t m, int n_threads) noexcept nogil

# Memoryview forms.

# Mean over rows of -log softmax(logits)[label]; dlogits = (softmax - onehot) / n.
# Returns NaN, leaving that row's gradient unwritten, if a label is outside [0, m).
cdef double softmax_cross_entropy(const floating[:, ::1] logits,  # IN  (n, m)
                                  const int64_t[::1] labels,       # IN  (n,)
                                  floating[:, ::1] dlogits,        # OUT (n, m)
                                  int n_threads) noexcept nogil

# Mean over all elements of (pred - target)^2; dpred = 2 (pred - target) / (n m).
cdef double mse(const floating[:, ::1] pred,    # IN  (n, m)
                const floating[:, ::1] target,  # IN  (n, m)
                floating[:, ::1] dpred,         # OUT (n, m)
                int n_threads) noexcept nogil

# Mean over all elements of -[t log s(z) + (1 - t) log(1 - s(z))], s the sigmoid;
# dlogits = (s(z) - t) / (n m).
cdef double sigmoid_binary_cross_entropy(const floating[:, ::1] logits,   # IN  (n, m)
                                         const floating[:, ::1] targets,  # IN  (n, m)
                                         floating[:, ::1] dlogits,        # OUT (n, m)
                                         int n_threads) noexcept nogil

# out = softmax(logits) row by row (the classifier's probabilities); may be in place.
cdef void softmax(const floating[:, ::1] logits,  # IN  (n, m)
                  floating[:, ::1] out,           # OUT (n, m)
                  int n_threads) noexcept nogil
