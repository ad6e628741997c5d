"""Inline helpers shared by the kernel modules (nothing here is a kernel).

The inner loops of the elementwise kernels are small C functions (src/nk_loops.h,
declared below) over raw row pointers: gcc vectorises them, which it does not do for the same
loops written over Cython memoryviews (strided indexing, and alias checks between an
output and an input that may be the very same array). Each comes in a float (`_f`) and
a double (`_d`) version; the fused wrappers at the end pick one with
`if floating is float:`.
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
    # Independent double accumulators of a long sum (the MSE loss): element j of a
    # row goes to accumulator j % SUM_LANES, so the additions can run in vector
    # registers while their order stays fixed by the code (not by the thread count,
    # nor by the vector width the compiler picked). Defined once, in the C above.
    enum: SUM_LANES "NK_SUM_LANES"
    float nk_exp_nonpos_f(float v) noexcept nogil
    double nk_exp_nonpos_d(double v) noexcept nogil
    float nk_sigmoid_f(float v) noexcept nogil
    double nk_sigmoid_d(double v) noexcept nogil
    ctypedef enum Activation "nk_activation":
        IDENTITY "NK_IDENTITY"
        RELU "NK_RELU"
        SIGMOID "NK_SIGMOID"
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
    void nk_mse_row_f(const float* p, const float* t, float* g, float scale, double* acc,
                      Py_ssize_t m) noexcept nogil
    void nk_mse_row_d(const double* p, const double* t, double* g, double scale,
                      double* acc, Py_ssize_t m) noexcept nogil
    double nk_exp_shifted_f(const float* z, float top, float* out, Py_ssize_t m) noexcept nogil
    double nk_exp_shifted_d(const double* z, double top, double* out,
                            Py_ssize_t m) noexcept nogil
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


cdef inline floating fexp_nonpos(floating v) noexcept nogil:
    """exp(v) for v <= 0 (the C nk_exp_nonpos_* above: within 1 ulp)."""
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


# Fused wrappers of the row loops (see the C block for what each computes).

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
