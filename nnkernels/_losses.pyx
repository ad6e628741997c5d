# cython: language_level=3, boundscheck=False, wraparound=False, initializedcheck=False, cdivision=True
"""Loss kernels; see _losses.pxd for the contract."""
from cython cimport floating
from cython.parallel cimport prange
from libc.math cimport log, NAN
from libc.stdint cimport int64_t

from nnkernels._common cimport (MAX_ROW_BLOCKS, SUM_LANES, fexp_nonpos, flog1p, row_exp_shifted,
                                row_mse, rows_per_block, use_threads,
                                COST_CHEAP, COST_EXP)

cdef enum Loss:
    SOFTMAX_CE = 0
    MSE = 1
    SIGMOID_BCE = 2


cdef double _softmax_ce_rows(const floating[:, ::1] logits, const int64_t* labels,
                             floating[:, ::1] dlogits, Py_ssize_t lo, Py_ssize_t hi,
                             double inv_n) noexcept nogil:
    cdef Py_ssize_t i, j, m = logits.shape[1]
    cdef int64_t label
    cdef floating top, picked
    cdef double total = 0, sum_exp, scale
    for i in range(lo, hi):
        label = labels[i]
        if label < 0 or label >= m:
            return NAN
        # Shift by the row maximum so exp never overflows (log-sum-exp trick).
        top = logits[i, 0]
        for j in range(1, m):
            if logits[i, j] > top:
                top = logits[i, j]
        picked = logits[i, label]  # read before dlogits (which may be logits) is written
        # dlogits = exp(logits - top) (a vectorised loop), sum_exp their sum in order.
        sum_exp = row_exp_shifted(&logits[i, 0], top, &dlogits[i, 0], m)
        total += top + log(sum_exp) - picked
        scale = inv_n / sum_exp
        for j in range(m):
            dlogits[i, j] = <floating>(dlogits[i, j] * scale)
        dlogits[i, label] -= <floating>inv_n
    return total


cdef double _mse_rows(const floating[:, ::1] pred, const floating[:, ::1] target,
                      floating[:, ::1] dpred, Py_ssize_t lo, Py_ssize_t hi,
                      double inv_size) noexcept nogil:
    # SUM_LANES accumulators (element j of a row to lane j % SUM_LANES), so the sum
    # vectorises; they are added in a fixed order at the end of the block.
    cdef Py_ssize_t i, l, m = pred.shape[1]
    cdef floating grad_scale = <floating>(2 * inv_size)
    cdef double acc[SUM_LANES]
    cdef double total = 0
    for l in range(SUM_LANES):
        acc[l] = 0
    for i in range(lo, hi):
        row_mse(&pred[i, 0], &target[i, 0], &dpred[i, 0], grad_scale, acc, m)
    for l in range(SUM_LANES):
        total += acc[l]
    return total


cdef double _sigmoid_bce_rows(const floating[:, ::1] logits, const floating[:, ::1] targets,
                              floating[:, ::1] dlogits, Py_ssize_t lo, Py_ssize_t hi,
                              double inv_size) noexcept nogil:
    cdef Py_ssize_t i, j, m = logits.shape[1]
    cdef floating z, t, e, r
    cdef floating grad_scale = <floating>inv_size
    cdef double total = 0
    for i in range(lo, hi):
        for j in range(m):
            z = logits[i, j]
            t = targets[i, j]
            # max(z, 0) - z t + log(1 + exp(-|z|)): finite for any finite z. The same
            # e = exp(-|z|) gives the sigmoid: 1 / (1 + e) for z >= 0, else e / (1 + e).
            e = fexp_nonpos(-z if z > 0 else z)
            total += (z if z > 0 else 0) - z * t + flog1p(e)
            r = 1 / (1 + e)
            dlogits[i, j] = grad_scale * ((r if z >= 0 else e * r) - t)
    return total


cdef double _blocked_loss(const floating[:, ::1] a, const floating[:, ::1] b,
                          const int64_t* labels, floating[:, ::1] grad, Loss loss,
                          int n_threads) noexcept nogil:
    cdef Py_ssize_t n = a.shape[0], m = a.shape[1]
    cdef Py_ssize_t block_rows = rows_per_block(n)
    cdef Py_ssize_t n_blocks = (n + block_rows - 1) // block_rows
    cdef Py_ssize_t block, lo, hi
    cdef double partial[MAX_ROW_BLOCKS]
    cdef double total = 0
    if n == 0 or m == 0:
        return NAN
    for block in prange(n_blocks, schedule="static", num_threads=n_threads,
                        use_threads_if=use_threads(n * m, n_threads,
                                                       COST_CHEAP if loss == MSE else COST_EXP)):
        lo = block * block_rows
        hi = lo + block_rows if lo + block_rows < n else n
        if loss == SOFTMAX_CE:
            partial[block] = _softmax_ce_rows(a, labels, grad, lo, hi, 1.0 / n)
        elif loss == MSE:
            partial[block] = _mse_rows(a, b, grad, lo, hi, 1.0 / (n * m))
        else:
            partial[block] = _sigmoid_bce_rows(a, b, grad, lo, hi, 1.0 / (n * m))
    for block in range(n_blocks):
        total += partial[block]
    return total / n if loss == SOFTMAX_CE else total / (n * m)


cdef double softmax_cross_entropy(const floating[:, ::1] logits, const int64_t[::1] labels,
                                  floating[:, ::1] dlogits, int n_threads) noexcept nogil:
    if labels.shape[0] == 0:
        return NAN
    return _blocked_loss(logits, logits, &labels[0], dlogits, SOFTMAX_CE, n_threads)


cdef double mse(const floating[:, ::1] pred, const floating[:, ::1] target,
                floating[:, ::1] dpred, int n_threads) noexcept nogil:
    return _blocked_loss(pred, target, NULL, dpred, MSE, n_threads)


cdef double sigmoid_binary_cross_entropy(const floating[:, ::1] logits,
                                         const floating[:, ::1] targets,
                                         floating[:, ::1] dlogits,
                                         int n_threads) noexcept nogil:
    return _blocked_loss(logits, targets, NULL, dlogits, SIGMOID_BCE, n_threads)


cdef void _softmax_row(const floating[:, ::1] logits, floating[:, ::1] out,
                       Py_ssize_t i) noexcept nogil:
    cdef Py_ssize_t j, m = logits.shape[1]
    cdef floating top = logits[i, 0]
    cdef double sum_exp
    for j in range(1, m):
        if logits[i, j] > top:
            top = logits[i, j]
    sum_exp = row_exp_shifted(&logits[i, 0], top, &out[i, 0], m)
    for j in range(m):
        out[i, j] = <floating>(out[i, j] / sum_exp)


cdef void softmax(const floating[:, ::1] logits, floating[:, ::1] out,
                  int n_threads) noexcept nogil:
    cdef Py_ssize_t i, n = logits.shape[0], m = logits.shape[1]
    if m == 0:
        return
    for i in prange(n, schedule="static", num_threads=n_threads,
                    use_threads_if=use_threads(n * m, n_threads, COST_EXP)):
        _softmax_row(logits, out, i)


# Unchecked entry points; nnkernels.kernels validates first.

def _softmax(const floating[:, ::1] logits, floating[:, ::1] out, int n_threads):
    with nogil:
        softmax(logits, out, n_threads)


def _softmax_cross_entropy(const floating[:, ::1] logits, const int64_t[::1] labels,
                           floating[:, ::1] dlogits, int n_threads):
    cdef double loss
    with nogil:
        loss = softmax_cross_entropy(logits, labels, dlogits, n_threads)
    return loss


def _mse(const floating[:, ::1] pred, const floating[:, ::1] target,
         floating[:, ::1] dpred, int n_threads):
    cdef double loss
    with nogil:
        loss = mse(pred, target, dpred, n_threads)
    return loss


def _sigmoid_binary_cross_entropy(const floating[:, ::1] logits,
                                  const floating[:, ::1] targets,
                                  floating[:, ::1] dlogits, int n_threads):
    cdef double loss
    with nogil:
        loss = sigmoid_binary_cross_entropy(logits, targets, dlogits, n_threads)
    return loss
