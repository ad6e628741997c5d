"""Inline helpers shared by the kernel modules (nothing here is a kernel).

The inner loops of the kernels are small C functions over raw row pointers
(src/nk_loops.h): gcc vectorises them, which it does not do for the same loops written
over Cython memoryviews (strided indexing, and alias checks between an output and an
input that may be the very same array), and it compiles some of them for AVX2 and
AVX-512 as well. C has no fused types: each loop is written once and compiled for float
(`_f`) and double (`_d`). This file is the one place that picks between the two, with
`if floating is float:`; the kernel modules call the fused names below.
"""
from cython cimport floating
from libc.math cimport log1p, log1pf

cdef enum:
    # Deterministic reductions: rows are cut into at most MAX_ROW_BLOCKS blocks whose
    # size depends on the row count only, each summed in order, then the partial
    # sums are added in block order. The bits are the same for any thread count.
    MAX_ROW_BLOCKS = 256
    MIN_ROWS_PER_BLOCK = 8
    # Column blocks for bias gradients: each block owns its columns, so the sum of
    # a column is always taken over rows 0..n-1 in order. At most this many columns
    # per block (its double accumulators live on the stack: 8 KiB).
    COLUMN_BLOCK = 1024
    # A loop runs in parallel from PARALLEL_MIN_WORK = elements x cost per element.
    # Waking the second thread of a passive OpenMP pool (nnkernels' default) costs
    # 25-50 us on the 2-vCPU machine it was measured on, and the two threads share
    # one core's worth of FPU there: at 100x784, ReLU forward took 29 us on 1 thread
    # and 51 us on 2, at 1000x784 469 and 301 us; sigmoid forward (exp, division)
    # 206 and 177 us at 100x784; RMSProp (sqrt, division) 199 and 164 us at 196,000.
    PARALLEL_MIN_WORK = 1 << 19
    COST_CHEAP = 1   # adds, multiplies, selects
    COST_SQRT = 4    # a square root and a division (optimizers)
    COST_EXP = 16    # an exp and a division (sigmoid, softmax, log-losses)


cdef extern from "nk_loops.h":
    # Element j of a row goes to accumulator j % SUM_LANES of a long sum (the MSE).
    enum: SUM_LANES "NK_SUM_LANES"
    ctypedef enum Activation "nk_activation":
        IDENTITY "NK_IDENTITY"
        RELU "NK_RELU"
        SIGMOID "NK_SIGMOID"
    # nk_math.h: written for each type
    float nk_exp_nonpos_f(float v) noexcept nogil
    double nk_exp_nonpos_d(double v) noexcept nogil
    float nk_sigmoid_f(float v) noexcept nogil
    double nk_sigmoid_d(double v) noexcept nogil
    # nk_activations_t.h
    void nk_bias_act_f(const float* x, const float* b, float* out, Py_ssize_t m,
                       Activation act) noexcept nogil
    void nk_bias_act_d(const double* x, const double* b, double* out, Py_ssize_t m,
                       Activation act) noexcept nogil
    void nk_act_backward_f(const float* dy, Py_ssize_t s_dy, const float* y, Py_ssize_t s_y,
                           float* dx, Py_ssize_t s_dx, double* acc, Py_ssize_t n,
                           Py_ssize_t m, Activation act) noexcept nogil
    void nk_act_backward_d(const double* dy, Py_ssize_t s_dy, const double* y,
                           Py_ssize_t s_y, double* dx, Py_ssize_t s_dx, double* acc,
                           Py_ssize_t n, Py_ssize_t m, Activation act) noexcept nogil
    # nk_losses_t.h
    void nk_mse_row_f(const float* p, const float* t, float* g, float scale, double* acc,
                      Py_ssize_t m) noexcept nogil
    void nk_mse_row_d(const double* p, const double* t, double* g, double scale,
                      double* acc, Py_ssize_t m) noexcept nogil
    double nk_exp_shifted_f(const float* z, float top, float* out, Py_ssize_t m) noexcept nogil
    double nk_exp_shifted_d(const double* z, double top, double* out,
                            Py_ssize_t m) noexcept nogil
    # nk_optim_t.h
    void nk_rmsprop_f(float* p, const float* g, float* c, Py_ssize_t n, float lr, float rho,
                      float one_minus_rho, float eps, float wd, int eps_inside) noexcept nogil
    void nk_rmsprop_d(double* p, const double* g, double* c, Py_ssize_t n, double lr,
                      double rho, double one_minus_rho, double eps, double wd,
                      int eps_inside) noexcept nogil
    void nk_sgd_f(float* p, const float* g, float* vel, Py_ssize_t n, float lr, float mom,
                  float wd, int nesterov) noexcept nogil
    void nk_sgd_d(double* p, const double* g, double* vel, Py_ssize_t n, double lr,
                  double mom, double wd, int nesterov) noexcept nogil
    void nk_adam_f(float* p, const float* g, float* m, float* v, Py_ssize_t n, float b1,
                   float one_minus_b1, float b2, float one_minus_b2, float step_size,
                   float inv_sqrt_bc2, float eps, float wd, float decay,
                   int decoupled) noexcept nogil
    void nk_adam_d(double* p, const double* g, double* m, double* v, Py_ssize_t n,
                   double b1, double one_minus_b1, double b2, double one_minus_b2,
                   double step_size, double inv_sqrt_bc2, double eps, double wd,
                   double decay, int decoupled) noexcept nogil


cdef inline Py_ssize_t rows_per_block(Py_ssize_t n_rows) noexcept nogil:
    cdef Py_ssize_t size = (n_rows + MAX_ROW_BLOCKS - 1) // MAX_ROW_BLOCKS
    return size if size > MIN_ROWS_PER_BLOCK else MIN_ROWS_PER_BLOCK


cdef inline Py_ssize_t row_stride(const floating[:, ::1] a) noexcept nogil:
    """Elements from one row of a C-contiguous memoryview to the next."""
    return a.strides[0] // sizeof(floating)


cdef inline bint use_threads(Py_ssize_t n_elements, int n_threads, int cost) noexcept nogil:
    """Whether a loop over n_elements of this cost (COST_*) should use n_threads."""
    return n_threads > 1 and n_elements * cost >= PARALLEL_MIN_WORK


# The fused names of the C routines (what each computes: the C source named above).

cdef inline floating fexp_nonpos(floating v) noexcept nogil:
    """exp(v) for v <= 0, within 1 ulp."""
    if floating is float:
        return nk_exp_nonpos_f(v)
    else:
        return nk_exp_nonpos_d(v)


cdef inline floating flog1p(floating v) noexcept nogil:
    if floating is float:
        return log1pf(v)
    else:
        return log1p(v)


cdef inline floating sigmoid(floating v) noexcept nogil:
    """1 / (1 + exp(-v)), without overflow for large |v|, branch-free."""
    if floating is float:
        return nk_sigmoid_f(v)
    else:
        return nk_sigmoid_d(v)


cdef inline void row_bias_act(const floating* x, const floating* b, floating* out,
                              Py_ssize_t m, Activation act) noexcept nogil:
    if floating is float:
        nk_bias_act_f(x, b, out, m, act)
    else:
        nk_bias_act_d(x, b, out, m, act)


cdef inline void block_act_backward(const floating* dy, Py_ssize_t s_dy,
                                    const floating* y, Py_ssize_t s_y,
                                    floating* dx, Py_ssize_t s_dx, double* acc,
                                    Py_ssize_t n, Py_ssize_t m, Activation act) noexcept nogil:
    """IDENTITY: column sums of dy only (y and dx unused)."""
    if floating is float:
        nk_act_backward_f(dy, s_dy, y, s_y, dx, s_dx, acc, n, m, act)
    else:
        nk_act_backward_d(dy, s_dy, y, s_y, dx, s_dx, acc, n, m, act)


cdef inline void row_mse(const floating* p, const floating* t, floating* g, floating scale,
                         double* acc, Py_ssize_t m) noexcept nogil:
    if floating is float:
        nk_mse_row_f(p, t, g, scale, acc, m)
    else:
        nk_mse_row_d(p, t, g, scale, acc, m)


cdef inline double row_exp_shifted(const floating* z, floating top, floating* out,
                                   Py_ssize_t m) noexcept nogil:
    if floating is float:
        return nk_exp_shifted_f(z, top, out, m)
    else:
        return nk_exp_shifted_d(z, top, out, m)


cdef inline void rmsprop_chunk(floating* p, const floating* g, floating* c, Py_ssize_t n,
                               floating lr, floating rho, floating one_minus_rho,
                               floating eps, floating wd, bint eps_inside) noexcept nogil:
    if floating is float:
        nk_rmsprop_f(p, g, c, n, lr, rho, one_minus_rho, eps, wd, eps_inside)
    else:
        nk_rmsprop_d(p, g, c, n, lr, rho, one_minus_rho, eps, wd, eps_inside)


cdef inline void sgd_chunk(floating* p, const floating* g, floating* vel, Py_ssize_t n,
                           floating lr, floating mom, floating wd,
                           bint nesterov) noexcept nogil:
    """vel NULL: plain SGD."""
    if floating is float:
        nk_sgd_f(p, g, vel, n, lr, mom, wd, nesterov)
    else:
        nk_sgd_d(p, g, vel, n, lr, mom, wd, nesterov)


cdef inline void adam_chunk(floating* p, const floating* g, floating* m, floating* v,
                            Py_ssize_t n, floating b1, floating one_minus_b1, floating b2,
                            floating one_minus_b2, floating step_size,
                            floating inv_sqrt_bc2, floating eps, floating wd,
                            floating decay, bint decoupled) noexcept nogil:
    if floating is float:
        nk_adam_f(p, g, m, v, n, b1, one_minus_b1, b2, one_minus_b2, step_size,
                  inv_sqrt_bc2, eps, wd, decay, decoupled)
    else:
        nk_adam_d(p, g, m, v, n, b1, one_minus_b1, b2, one_minus_b2, step_size,
                  inv_sqrt_bc2, eps, wd, decay, decoupled)
