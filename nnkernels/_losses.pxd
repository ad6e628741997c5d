"""Loss kernels: the mean loss and its gradient in one pass (no GIL).

Each returns the loss as a double, summed in a fixed order (the same bits for any
thread count), and writes the gradient of that mean loss. The gradient may be the
very same array as an input (in place); partial overlap is unsafe.
"""
from cython cimport floating
from libc.stdint cimport int64_t

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
