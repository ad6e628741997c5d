# cython: language_level=3, boundscheck=False, wraparound=False, initializedcheck=False, cdivision=True
"""Loss kernels; see _losses.pxd for the contract."""
from cython cimport floating
from cython.parallel cimport prange
from libc.math cimport log, NAN
from libc.stdint cimport int64_t

from nnkernels._common cimport (MAX_ROW_BLOCKS, SUM_LANES, fexp_nonpos, flog1p, row_exp_shifted,
                                row_mse, row_stride, rows_per_block, use_threads,
                                COST_CHEAP, COST_EXP)


cdef double _softmax_ce_rows(const floating* logits, Py_ssize_t s_z, const int64_t* labels,
                             floating* dlogits, Py_ssize_t s_g, Py_ssize_t m,
                             Py_ssize_t lo, Py_ssize_t hi, double inv_n) noexcept nogil:
    cdef Py_ssize_t i, j
    cdef int64_t label
    cdef const floating* z
    cdef floating* g
    cdef floating top, picked
    cdef double total = 0, sum_exp, scale
    for i in range(lo, hi):
        label = labels[i]
        if label < 0 or label >= m:
            return NAN
        z, g = logits + i * s_z, dlogits + i * s_g
        # Shift by the row maximum so exp never overflows (log-sum-exp trick).
        top = z[0]
        for j in range(1, m):
            if z[j] > top:
                top = z[j]
        picked = z[label]  # read before dlogits (which may be logits) is written
        # g = exp(z - top) (a vectorised loop), sum_exp their sum in order.
        sum_exp = row_exp_shifted(z, top, g, m)
        total += top + log(sum_exp) - picked
        scale = inv_n / sum_exp
        for j in range(m):
            g[j] = <floating>(g[j] * scale)
        g[label] -= <floating>inv_n
    return total


cdef double _mse_rows(const floating* pred, Py_ssize_t s_p, const floating* target,
                      Py_ssize_t s_t, floating* dpred, Py_ssize_t s_g, Py_ssize_t m,
                      Py_ssize_t lo, Py_ssize_t hi, double inv_size) noexcept nogil:
    # SUM_LANES accumulators (element j of a row to lane j % SUM_LANES), so the sum
    # vectorises; they are added in a fixed order at the end of the block.
    cdef Py_ssize_t i, l
    cdef floating grad_scale = <floating>(2 * inv_size)
    cdef double acc[SUM_LANES]
    cdef double total = 0
    for l in range(SUM_LANES):
        acc[l] = 0
    for i in range(lo, hi):
        row_mse(pred + i * s_p, target + i * s_t, dpred + i * s_g, grad_scale, acc, m)
    for l in range(SUM_LANES):
        total += acc[l]
    return total


cdef double _sigmoid_bce_rows(const floating* logits, Py_ssize_t s_z,
                              const floating* targets, Py_ssize_t s_t, floating* dlogits,
                              Py_ssize_t s_g, Py_ssize_t m, Py_ssize_t lo, Py_ssize_t hi,
                              double inv_size) noexcept nogil:
    cdef Py_ssize_t i, j
    cdef floating z, t, e, r
    cdef floating grad_scale = <floating>inv_size
    cdef double total = 0
    for i in range(lo, hi):
        for j in range(m):
            z = logits[i * s_z + j]
            t = targets[i * s_t + j]
            # max(z, 0) - z t + log(1 + exp(-|z|)): finite for any finite z. The same
            # e = exp(-|z|) gives the sigmoid: 1 / (1 + e) for z >= 0, else e / (1 + e).
            e = fexp_nonpos(-z if z > 0 else z)
            total += (z if z > 0 else 0) - z * t + flog1p(e)
            r = 1 / (1 + e)
            dlogits[i * s_g + j] = grad_scale * ((r if z >= 0 else e * r) - t)
    return total


cdef double loss_sum_rows(Loss loss, const floating* a, Py_ssize_t s_a, const floating* b,
                          Py_ssize_t s_b, const int64_t* labels, floating* grad,
                          Py_ssize_t s_g, Py_ssize_t lo, Py_ssize_t hi, Py_ssize_t m,
                          double scale) noexcept nogil:
    if loss == SOFTMAX_CE:
        return _softmax_ce_rows(a, s_a, labels, grad, s_g, m, lo, hi, scale)
    elif loss == MSE:
        return _mse_rows(a, s_a, b, s_b, grad, s_g, m, lo, hi, scale)
    return _sigmoid_bce_rows(a, s_a, b, s_b, grad, s_g, m, lo, hi, scale)


cdef inline double _block_loss(Loss loss, const floating* a, Py_ssize_t s_a,
                               const floating* b, Py_ssize_t s_b, const int64_t* labels,
                               floating* grad, Py_ssize_t s_g, Py_ssize_t n, Py_ssize_t m,
                               Py_ssize_t block, Py_ssize_t block_rows) noexcept nogil:
    # The sum over rows lo..hi-1 of block `block`, in row order.
    cdef Py_ssize_t lo = block * block_rows
    cdef Py_ssize_t hi = lo + block_rows if lo + block_rows < n else n
    return loss_sum_rows(loss, a, s_a, b, s_b, labels, grad, s_g, lo, hi, m,
                         1.0 / n if loss == SOFTMAX_CE else 1.0 / (n * m))


cdef double loss_rows(Loss loss, const floating* a, Py_ssize_t s_a, const floating* b,
                      Py_ssize_t s_b, const int64_t* labels, floating* grad,
                      Py_ssize_t s_g, Py_ssize_t n, Py_ssize_t m,
                      int n_threads) noexcept nogil:
    cdef Py_ssize_t block_rows = rows_per_block(n)
    cdef Py_ssize_t n_blocks = (n + block_rows - 1) // block_rows
    cdef Py_ssize_t block
    cdef double partial[MAX_ROW_BLOCKS]
    cdef double total = 0
    if n == 0 or m == 0:
        return NAN
    if use_threads(n * m, n_threads, COST_CHEAP if loss == MSE else COST_EXP):
        for block in prange(n_blocks, schedule="static", num_threads=n_threads):
            partial[block] = _block_loss(loss, a, s_a, b, s_b, labels, grad, s_g, n, m,
                                         block, block_rows)
    else:  # the same blocks, without entering an OpenMP region (~0.7 us)
        for block in range(n_blocks):
            partial[block] = _block_loss(loss, a, s_a, b, s_b, labels, grad, s_g, n, m,
                                         block, block_rows)
    for block in range(n_blocks):
        total += partial[block]
    return total / n if loss == SOFTMAX_CE else total / (n * m)


cdef void _softmax_row(const floating* z, floating* out, Py_ssize_t m) noexcept nogil:
    cdef Py_ssize_t j
    cdef floating top = z[0]
    cdef double sum_exp
    for j in range(1, m):
        if z[j] > top:
            top = z[j]
    sum_exp = row_exp_shifted(z, top, out, m)
    for j in range(m):
        out[j] = <floating>(out[j] / sum_exp)


cdef void softmax_rows(const floating* logits, Py_ssize_t s_z, floating* out,
                       Py_ssize_t s_out, Py_ssize_t n, Py_ssize_t m,
                       int n_threads) noexcept nogil:
    cdef Py_ssize_t i
    if m == 0:
        return
    if use_threads(n * m, n_threads, COST_EXP):
        for i in prange(n, schedule="static", num_threads=n_threads):
            _softmax_row(logits + i * s_z, out + i * s_out, m)
    else:
        for i in range(n):
            _softmax_row(logits + i * s_z, out + i * s_out, m)


# The memoryview forms declared in _losses.pxd.

cdef inline double _pair_loss(Loss loss, const floating[:, ::1] a, const floating[:, ::1] b,
                              floating[:, ::1] grad, int n_threads) noexcept nogil:
    return loss_rows(loss, &a[0, 0], row_stride(a), &b[0, 0], row_stride(b), NULL,
                     &grad[0, 0], row_stride(grad), a.shape[0], a.shape[1], n_threads)


cdef double softmax_cross_entropy(const floating[:, ::1] logits, const int64_t[::1] labels,
                                  floating[:, ::1] dlogits, int n_threads) noexcept nogil:
    if labels.shape[0] == 0:
        return NAN
    return loss_rows(SOFTMAX_CE, &logits[0, 0], row_stride(logits), &logits[0, 0], 0,
                     &labels[0], &dlogits[0, 0], row_stride(dlogits), logits.shape[0],
                     logits.shape[1], n_threads)


cdef double mse(const floating[:, ::1] pred, const floating[:, ::1] target,
                floating[:, ::1] dpred, int n_threads) noexcept nogil:
    return _pair_loss(MSE, pred, target, dpred, n_threads)


cdef double sigmoid_binary_cross_entropy(const floating[:, ::1] logits,
                                         const floating[:, ::1] targets,
                                         floating[:, ::1] dlogits,
                                         int n_threads) noexcept nogil:
    return _pair_loss(SIGMOID_BCE, logits, targets, dlogits, n_threads)


cdef void softmax(const floating[:, ::1] logits, floating[:, ::1] out,
                  int n_threads) noexcept nogil:
    softmax_rows(&logits[0, 0], row_stride(logits), &out[0, 0], row_stride(out),
                 logits.shape[0], logits.shape[1], n_threads)
