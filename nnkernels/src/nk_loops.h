/* The C loops of the elementwise kernels, for float (suffix _f) and double (_d).
   Included by nnkernels/_common.pxd (the Cython declarations) and by nk_plan.h. */
#ifndef NK_LOOPS_H
#define NK_LOOPS_H

#include <Python.h>  /* Py_ssize_t */
#include <stdint.h>
#include <string.h>
#include <math.h>

/* Loops marked NK_VECTORIZE have no dependence between iterations except
   out[j] = f(in[j]) at the same j, which stays correct when out is the very same
   array as an input (in-place use). Telling the compiler so replaces its runtime
   overlap test, which would send the in-place case to the scalar loop. Partial
   overlap of an output with an input is excluded by the kernels' contract. */
#if defined(_MSC_VER)
  #define NK_INLINE static __inline
  #define NK_RESTRICT __restrict
  #define NK_VECTORIZE __pragma(loop(ivdep))
#elif defined(__clang__)
  #define NK_INLINE static inline
  #define NK_RESTRICT __restrict__
  #define NK_VECTORIZE _Pragma("clang loop vectorize(assume_safety)")
#elif defined(__GNUC__)
  #define NK_INLINE static inline
  #define NK_RESTRICT __restrict__
  #define NK_VECTORIZE _Pragma("GCC ivdep")
#else
  #define NK_INLINE static inline
  #define NK_RESTRICT
  #define NK_VECTORIZE
#endif
/* The loops bound by exp, sqrt and division rather than by memory (the sigmoid row
   and the optimizer updates) are also compiled for AVX2 and AVX-512F, picked at load
   time (gcc's target_clones, an ifunc: glibc on x86-64). Without FMA (setup.py
   builds with -ffp-contract=off, so no a * b + c is fused): the same operations, so
   the same bits as the baseline SSE2 code (checked on sigmoid outputs), at 8 or 16
   lanes instead of 4. Measured on a Zen 3 VM, one thread: sigmoid forward 100x784
   191 -> 158 us, Adam 784x250 232 -> 196 us with AVX2; RMSProp gained nothing there.
   On a Zen 5 VM (2026-11-27), RMSProp over the classifier's 222,360 float32
   parameters took 99 us with SSE2, compute-bound inside a step plan, where the data
   stay in cache (see bench/README.md for the AVX-512 figure). The functions they
   call are static inline with the default target, which gcc inlines into an
   ISA-only clone (not into an arch= clone: no gain then). NK_NO_CLONES turns this
   off. */
#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) \
    && defined(__GLIBC__) && !defined(NK_NO_CLONES)
  #define NK_CLONED static __attribute__((target_clones("avx512f", "avx2", "default"), unused))
#else
  #define NK_CLONED NK_INLINE
#endif
#define NK_SUM_LANES 8
#define NK_MSE_RUN 32

/* Why the code below selects with bit masks and never with `c ? a : b` on
   floating-point values: under gcc's default -ftrapping-math, a conditional
   expression lets gcc split the loop body into two paths (jump threading) and
   then refuse to if-convert them, because a floating-point operation that only
   one path executes "could trap"; the loop is then not vectorised at all. Masks
   computed with integer operations on the bits keep one path. (Compare with a
   float comparison turned into a 64-bit mask is not vectorisable with SSE2
   either, hence the sign-bit and subtraction tricks.) */

/* exp(x) for x <= 0 (every exp in these kernels has a non-positive argument:
   -|v| in the sigmoid, z - max(z) in the softmax), branch-free and vectorisable.
   x = k ln2 + r with |r| <= ln2/2: k is rounded by adding 1.5 * 2^23 (2^52), whose
   bits then hold k; ln2 is split in two so that k * ln2_hi is exact. exp(r) by a
   minimax polynomial, evaluated by Estrin's scheme (a shorter dependency chain
   than Horner's: these loops are bound by latency, not by the operation count).
   Then p * 2^k, built in the exponent bits as 2^(k + 64) * 2^-64: 2^(k + 64) stays
   a normal number down to the smallest k, so results that underflow into the
   subnormals are rounded once, correctly. x < -104 (-746), where exp already
   rounds to 0, and -inf give 0 through a mask; NaN gives NaN. x > 0: not
   supported (2^(k + 64) overflows its exponent field for k > 63).
   Coefficients: float, our own minimax fit of (exp(r) - 1 - r) / r^2 by a
   degree-4 polynomial on |r| <= 0.3471 (approximation error 0.05 ulp);
   double, SLEEF's exp (degree 10).
   Measured max error against exp in long double, 3e6 points per range:
     float:  0.99 ulp on [-20, 0], 0.86 on [-0.5, 0], 0.75 on the subnormal
             results [-103.9, -87.4]; glibc expf 0.50, NumPy's float32 np.exp 2.4.
     double: 0.98 ulp on [-40, 0] (at most 1 ulp from NumPy's float64 np.exp),
             0.77 on the subnormal results [-745, -708.5]. */
NK_INLINE float nk_exp_nonpos_f(float x) {
    const float magic = 12582912.0f;  /* 1.5 * 2^23, bits 0x4B400000 */
    float t, kf, r, r2, r4, p, s;
    uint32_t tb, sb, pb, under;
    t = x * 1.44269504088896341f + magic;   /* magic + k, k = round(x / ln2) */
    memcpy(&tb, &t, 4);
    kf = t - magic;
    r = x - kf * 0.693359375f;              /* exact: 9-bit ln2_hi times 8-bit k */
    r = r - kf * -2.12194440e-4f;
    r2 = r * r;
    r4 = r2 * r2;
    p = (0.49999994f + 0.1666652f * r) + r2 * (0.041668396f + 0.008368817f * r)
        + r4 * 0.0013814393f;
    p = 1.0f + (r2 * p + r);
    sb = (tb - 0x4B400000u + 127u + 64u) << 23;  /* 2^(k + 64) */
    memcpy(&s, &sb, 4);
    p = (p * s) * 5.42101086e-20f;               /* times 2^-64 */
    under = 0u - (uint32_t)(x < -104.0f);        /* all ones where exp(x) is 0 */
    memcpy(&pb, &p, 4);
    pb &= ~under;
    memcpy(&p, &pb, 4);
    return p;
}

NK_INLINE double nk_exp_nonpos_d(double x) {
    const double magic = 6755399441055744.0;  /* 1.5 * 2^52, bits 0x4338000000000000 */
    double t, kd, r, r2, r4, r8, p, s;
    uint64_t b, u, tb, sb, pb, under;
    t = x * 1.4426950408889634074 + magic;
    memcpy(&tb, &t, 8);
    kd = t - magic;
    r = x - kd * 0.69314718055966295651160180568695068359375;  /* 42-bit ln2_hi */
    r = r - kd * 0.28235290563031577122588448175013436025525412068e-12;
    r2 = r * r;
    r4 = r2 * r2;
    r8 = r4 * r4;
    p = ((0.5 + 0.166666666666666851703837 * r)
         + r2 * (0.0416666666666665047591422 + 0.00833333333331652721664984 * r))
        + r4 * ((0.00138888888889774492207962 + 0.000198412698960509205564975 * r)
                + r2 * (2.4801587159235472998791e-05 + 2.75572362911928827629423e-06 * r))
        + r8 * ((2.75573911234900471893338e-07 + 2.51112930892876518610661e-08 * r)
                + r2 * 2.08860621107283687536341e-09);
    p = 1.0 + (r2 * p + r);
    sb = (tb - 0x4338000000000000ull + 1023u + 64u) << 52;
    memcpy(&s, &sb, 8);
    p = (p * s) * 5.421010862427522e-20;
    /* x < -746 and not NaN, from the bits (a double comparison does not give a
       vectorisable 64-bit mask with SSE2): bits(-746) < b <= bits(-inf) as
       unsigned, i.e. u = b - bits(-746) - 1 < L with the trick of
       nk_pass_if_positive_d below. */
    memcpy(&b, &x, 8);
    u = b - 0xC087500000000001ull;
    under = 0u - (((u - (0xFFF0000000000000ull - 0xC087500000000000ull)) >> 63)
                  & ((u >> 63) ^ 1u));
    memcpy(&pb, &p, 8);
    pb &= ~under;
    memcpy(&p, &pb, 8);
    return p;
}

/* sigmoid(v) = num / (1 + e) with e = exp(-|v|) (never overflows) and num = 1 for
   v >= 0, e for v < 0: one rounding, in the division. num is chosen by the sign
   bit (a mask, see above); v = -0.0 gives e = 1, 1/2 either way; NaN gives NaN.
   Max error measured as for exp: 2.3 ulp (float and double). */
NK_INLINE float nk_sigmoid_f(float v) {
    float a, e, num;
    uint32_t vb, ab, eb, nb, neg;
    memcpy(&vb, &v, 4);
    ab = vb | 0x80000000u;                     /* -|v| */
    memcpy(&a, &ab, 4);
    e = nk_exp_nonpos_f(a);
    memcpy(&eb, &e, 4);
    neg = 0u - (vb >> 31);
    nb = (eb & neg) | (0x3F800000u & ~neg);    /* v < 0 ? e : 1.0f */
    memcpy(&num, &nb, 4);
    return num / (1.0f + e);
}

NK_INLINE double nk_sigmoid_d(double v) {
    double a, e, num;
    uint64_t vb, ab, eb, nb, neg;
    memcpy(&vb, &v, 8);
    ab = vb | 0x8000000000000000ull;
    memcpy(&a, &ab, 8);
    e = nk_exp_nonpos_d(a);
    memcpy(&eb, &e, 8);
    neg = 0u - (vb >> 63);
    nb = (eb & neg) | (0x3FF0000000000000ull & ~neg);
    memcpy(&num, &nb, 8);
    return num / (1.0 + e);
}

/* The ReLU gradient y > 0 ? d : 0, as a mask on the bits of d (see above).
   Select, not d * (y > 0): that would give NaN * 0 = NaN where the unit is off,
   where PyTorch gives 0. y NaN gives 0 (NaN > 0 is false). */
NK_INLINE float nk_pass_if_positive_f(float y, float d) {
    uint32_t m = 0u - (uint32_t)(y > 0.0f), db;
    memcpy(&db, &d, 4);
    db &= m;
    memcpy(&d, &db, 4);
    return d;
}

NK_INLINE double nk_pass_if_positive_d(double y, double d) {
    /* A double comparison turned into a 64-bit mask does not vectorise with SSE2:
       test the bits instead. y > 0 <=> bits(y) in [1, bits(inf)] (the sign bit
       clear, not +0, not NaN) <=> x = bits(y) - 1 < L = bits(inf) as unsigned,
       which is: x has its top bit clear and x - L has it set. */
    const uint64_t L = 0x7FF0000000000000ull;
    uint64_t x, m, db;
    memcpy(&x, &y, 8);
    x -= 1;
    m = 0u - (((x - L) >> 63) & ((x >> 63) ^ 1u));
    memcpy(&db, &d, 8);
    db &= m;
    memcpy(&d, &db, 8);
    return d;
}

/* The row loops, for T = float (suffix f) and T = double (suffix d). */
#define NK_DEFINE_ROW_LOOPS(T, S)                                                 \
/* out = act(x + b) over one row of m; out may be x. */                           \
NK_INLINE void nk_bias_add_##S(const T *x, const T *NK_RESTRICT b, T *out,        \
                               Py_ssize_t m) {                                    \
    Py_ssize_t j;                                                                 \
    NK_VECTORIZE                                                                  \
    for (j = 0; j < m; j++) out[j] = x[j] + b[j];                                 \
}                                                                                 \
NK_INLINE void nk_bias_relu_##S(const T *x, const T *NK_RESTRICT b, T *out,       \
                                Py_ssize_t m) {                                   \
    Py_ssize_t j;                                                                 \
    NK_VECTORIZE                                                                  \
    for (j = 0; j < m; j++) {                                                     \
        T v = x[j] + b[j];                                                        \
        out[j] = nk_pass_if_positive_##S(v, v);  /* v > 0 ? v : 0 */             \
    }                                                                             \
}                                                                                 \
NK_CLONED void nk_bias_sigmoid_##S(const T *x, const T *NK_RESTRICT b, T *out,    \
                                   Py_ssize_t m) {                                \
    Py_ssize_t j;                                                                 \
    NK_VECTORIZE                                                                  \
    for (j = 0; j < m; j++) out[j] = nk_sigmoid_##S(x[j] + b[j]);                 \
}                                                                                 \
/* One row of the MSE: g = scale * (p - t), acc[j % NK_SUM_LANES] += (p - t)^2.     \
   The squares are summed in T over runs of up to NK_MSE_RUN groups, each run     \
   then added to the double acc (relative error of a run <= NK_MSE_RUN ulp of T;   \
   ~30 % faster than converting every square). All loads of a group come before   \
   its stores, so g may be p or t. */                                              \
NK_INLINE void nk_mse_row_##S(const T *p, const T *t, T *g, T scale,              \
                              double *NK_RESTRICT acc, Py_ssize_t m) {            \
    T d[NK_SUM_LANES];                                                            \
    Py_ssize_t groups = m / NK_SUM_LANES, k, r, run, j;                           \
    int l;                                                                        \
    /* Counted loops: under -fwrapv (Python's CFLAGS) gcc cannot count a loop     \
       like `for (; j < stop; j += 8)`, and leaves it scalar (2.5x slower). */    \
    for (k = 0; k < groups; k += run) {                                           \
        T a[NK_SUM_LANES] = {0};                                                  \
        run = groups - k < NK_MSE_RUN ? groups - k : NK_MSE_RUN;                  \
        for (r = 0; r < run; r++) {                                               \
            j = (k + r) * NK_SUM_LANES;                                           \
            for (l = 0; l < NK_SUM_LANES; l++) d[l] = p[j + l] - t[j + l];        \
            for (l = 0; l < NK_SUM_LANES; l++) g[j + l] = scale * d[l];           \
            for (l = 0; l < NK_SUM_LANES; l++) a[l] += d[l] * d[l];               \
        }                                                                         \
        for (l = 0; l < NK_SUM_LANES; l++) acc[l] += a[l];                        \
    }                                                                             \
    j = groups * NK_SUM_LANES;                                                    \
    for (l = 0; j + l < m; l++) {                                                 \
        T dl = p[j + l] - t[j + l];                                               \
        g[j + l] = scale * dl;                                                    \
        acc[l] += (double)dl * dl;                                                \
    }                                                                             \
}                                                                                 \
/* out = exp(z - top) over a row of m; returns their sum, in double, in order.    \
   out may be z. */                                                               \
NK_INLINE double nk_exp_shifted_##S(const T *z, T top, T *out, Py_ssize_t m) {    \
    Py_ssize_t j;                                                                 \
    double total = 0;                                                             \
    NK_VECTORIZE                                                                  \
    for (j = 0; j < m; j++) out[j] = nk_exp_nonpos_##S(z[j] - top);               \
    for (j = 0; j < m; j++) total += out[j];                                      \
    return total;                                                                 \
}

NK_DEFINE_ROW_LOOPS(float, f)
NK_DEFINE_ROW_LOOPS(double, d)

/* Gradients of the activations from the forward output y and dy. */
#define NK_DEFINE_GRADIENTS(T, S)                                                 \
NK_INLINE T nk_grad_relu_##S(T y, T dy) { return nk_pass_if_positive_##S(y, dy); }  \
NK_INLINE T nk_grad_sigmoid_##S(T y, T dy) { return dy * y * (1 - y); }

/* Backward over n rows of a column block of width m: dx = g = grad(y, dy) and
   acc[j] += g over the rows in order (acc comes in zeroed). Row i of dy starts
   at dy + i * s_dy, likewise y and dx; dx may be dy or y (in place: an element
   is read and written in the same iteration only). Four rows per pass over the
   columns: their g are added in T, pairwise, and that sum once to the double
   acc[j] (a conversion and a double add per four elements instead of per
   element; the error of the four-term sum is ~2 ulp of T). Each column is still
   summed over rows 0..n-1 in one fixed order, so the bits do not depend on how
   the columns are cut or on the thread count. */
#define NK_DEFINE_BACKWARD(T, S, NAME)                                            \
NK_INLINE void nk_##NAME##_backward_##S(const T *dy, Py_ssize_t s_dy, const T *y, \
                                        Py_ssize_t s_y, T *dx, Py_ssize_t s_dx,   \
                                        double *NK_RESTRICT acc, Py_ssize_t n,    \
                                        Py_ssize_t m) {                           \
    Py_ssize_t i = 0, j;                                                          \
    for (; i + 4 <= n; i += 4) {                                                  \
        const T *dy0 = dy + i * s_dy, *y0 = y + i * s_y;                          \
        T *dx0 = dx + i * s_dx;                                                   \
        NK_VECTORIZE                                                              \
        for (j = 0; j < m; j++) {                                                 \
            T g0 = nk_grad_##NAME##_##S(y0[j], dy0[j]);                           \
            T g1 = nk_grad_##NAME##_##S(y0[j + s_y], dy0[j + s_dy]);              \
            T g2 = nk_grad_##NAME##_##S(y0[j + 2 * s_y], dy0[j + 2 * s_dy]);      \
            T g3 = nk_grad_##NAME##_##S(y0[j + 3 * s_y], dy0[j + 3 * s_dy]);      \
            dx0[j] = g0;                                                          \
            dx0[j + s_dx] = g1;                                                   \
            dx0[j + 2 * s_dx] = g2;                                               \
            dx0[j + 3 * s_dx] = g3;                                               \
            acc[j] += (double)((g0 + g1) + (g2 + g3));                            \
        }                                                                         \
    }                                                                             \
    for (; i < n; i++) {                                                          \
        const T *dyi = dy + i * s_dy, *yi = y + i * s_y;                          \
        T *dxi = dx + i * s_dx;                                                   \
        NK_VECTORIZE                                                              \
        for (j = 0; j < m; j++) {                                                 \
            T g = nk_grad_##NAME##_##S(yi[j], dyi[j]);                            \
            dxi[j] = g;                                                           \
            acc[j] += g;                                                          \
        }                                                                         \
    }                                                                             \
}

/* The column sums of g (the identity's backward: its dx is dy), as above. */
#define NK_DEFINE_COLUMN_SUMS(T, S)                                               \
NK_INLINE void nk_column_sums_##S(const T *g, Py_ssize_t s_g,                     \
                                  double *NK_RESTRICT acc, Py_ssize_t n,          \
                                  Py_ssize_t m) {                                 \
    Py_ssize_t i = 0, j;                                                          \
    for (; i + 4 <= n; i += 4) {                                                  \
        const T *g0 = g + i * s_g;                                                \
        NK_VECTORIZE                                                              \
        for (j = 0; j < m; j++) {                                                 \
            acc[j] += (double)((g0[j] + g0[j + s_g])                              \
                               + (g0[j + 2 * s_g] + g0[j + 3 * s_g]));            \
        }                                                                         \
    }                                                                             \
    for (; i < n; i++) {                                                          \
        const T *gi = g + i * s_g;                                                \
        NK_VECTORIZE                                                              \
        for (j = 0; j < m; j++) acc[j] += gi[j];                                  \
    }                                                                             \
}

NK_DEFINE_GRADIENTS(float, f)
NK_DEFINE_GRADIENTS(double, d)
NK_DEFINE_BACKWARD(float, f, relu)
NK_DEFINE_BACKWARD(double, d, relu)
NK_DEFINE_BACKWARD(float, f, sigmoid)
NK_DEFINE_BACKWARD(double, d, sigmoid)
NK_DEFINE_COLUMN_SUMS(float, f)
NK_DEFINE_COLUMN_SUMS(double, d)

/* What follows the bias add; Activation in Cython (_activations.pxd's contract). */
typedef enum { NK_IDENTITY = 0, NK_RELU = 1, NK_SIGMOID = 2 } nk_activation;

/* The row loop and the column-block backward for one activation. */
#define NK_DEFINE_ACTIVATION_DISPATCH(T, S)                                       \
NK_INLINE void nk_bias_act_##S(const T *x, const T *NK_RESTRICT b, T *out,        \
                               Py_ssize_t m, nk_activation act) {                 \
    if (act == NK_RELU) nk_bias_relu_##S(x, b, out, m);                           \
    else if (act == NK_SIGMOID) nk_bias_sigmoid_##S(x, b, out, m);                \
    else nk_bias_add_##S(x, b, out, m);                                           \
}                                                                                 \
/* NK_IDENTITY: the column sums of dy only (y and dx are not read). */            \
NK_INLINE void nk_act_backward_##S(const T *dy, Py_ssize_t s_dy, const T *y,      \
                                   Py_ssize_t s_y, T *dx, Py_ssize_t s_dx,        \
                                   double *NK_RESTRICT acc, Py_ssize_t n,         \
                                   Py_ssize_t m, nk_activation act) {             \
    if (act == NK_RELU) nk_relu_backward_##S(dy, s_dy, y, s_y, dx, s_dx, acc, n, m); \
    else if (act == NK_SIGMOID)                                                   \
        nk_sigmoid_backward_##S(dy, s_dy, y, s_y, dx, s_dx, acc, n, m);           \
    else nk_column_sums_##S(dy, s_dy, acc, n, m);                                 \
}

NK_DEFINE_ACTIVATION_DISPATCH(float, f)
NK_DEFINE_ACTIVATION_DISPATCH(double, d)

/* Optimizer updates over a chunk of n elements of the flat arrays, which never
   overlap (the optimizer kernels' contract). The options are tested outside the
   loops, so that each loop vectorises. Same expressions, in the same order, as
   the formulas in _optim.pxd. */
#define NK_DEFINE_OPTIM(T, S, SQRT)                                               \
NK_CLONED void nk_rmsprop_##S(T *NK_RESTRICT p, const T *NK_RESTRICT g0,          \
                              T *NK_RESTRICT c, Py_ssize_t n, T lr, T rho,        \
                              T one_minus_rho, T eps, T wd, int eps_inside) {     \
    Py_ssize_t i;                                                                 \
    if (eps_inside) {                                                             \
        for (i = 0; i < n; i++) {                                                 \
            T g = g0[i] + wd * p[i];                                              \
            T ci = rho * c[i] + one_minus_rho * g * g;                            \
            c[i] = ci;                                                            \
            p[i] -= lr * g / SQRT(ci + eps);                                      \
        }                                                                         \
    } else {                                                                      \
        for (i = 0; i < n; i++) {                                                 \
            T g = g0[i] + wd * p[i];                                              \
            T ci = rho * c[i] + one_minus_rho * g * g;                            \
            c[i] = ci;                                                            \
            p[i] -= lr * g / (SQRT(ci) + eps);                                    \
        }                                                                         \
    }                                                                             \
}                                                                                 \
NK_CLONED void nk_sgd_##S(T *NK_RESTRICT p, const T *NK_RESTRICT g0,              \
                          T *NK_RESTRICT vel, Py_ssize_t n, T lr, T mom, T wd,    \
                          int nesterov) {                                         \
    Py_ssize_t i;                                                                 \
    if (vel == NULL) {                                                            \
        for (i = 0; i < n; i++) p[i] -= lr * (g0[i] + wd * p[i]);                 \
    } else if (nesterov) {                                                        \
        for (i = 0; i < n; i++) {                                                 \
            T g = g0[i] + wd * p[i];                                              \
            T v = mom * vel[i] + g;                                               \
            vel[i] = v;                                                           \
            p[i] -= lr * (g + mom * v);                                           \
        }                                                                         \
    } else {                                                                      \
        for (i = 0; i < n; i++) {                                                 \
            T v = mom * vel[i] + (g0[i] + wd * p[i]);                             \
            vel[i] = v;                                                           \
            p[i] -= lr * v;                                                       \
        }                                                                         \
    }                                                                             \
}                                                                                 \
NK_CLONED void nk_adam_##S(T *NK_RESTRICT p, const T *NK_RESTRICT g0,             \
                           T *NK_RESTRICT m, T *NK_RESTRICT v, Py_ssize_t n,      \
                           T b1, T one_minus_b1, T b2, T one_minus_b2,            \
                           T step_size, T inv_sqrt_bc2, T eps, T wd, T decay,     \
                           int decoupled) {                                       \
    Py_ssize_t i;                                                                 \
    if (decoupled) {                                                              \
        for (i = 0; i < n; i++) {                                                 \
            T g = g0[i];                                                          \
            T mi = b1 * m[i] + one_minus_b1 * g;                                  \
            T vi = b2 * v[i] + one_minus_b2 * g * g;                              \
            m[i] = mi;                                                            \
            v[i] = vi;                                                            \
            p[i] = p[i] * decay - step_size * mi / (SQRT(vi) * inv_sqrt_bc2 + eps); \
        }                                                                         \
    } else {                                                                      \
        for (i = 0; i < n; i++) {                                                 \
            T g = g0[i] + wd * p[i];                                              \
            T mi = b1 * m[i] + one_minus_b1 * g;                                  \
            T vi = b2 * v[i] + one_minus_b2 * g * g;                              \
            m[i] = mi;                                                            \
            v[i] = vi;                                                            \
            p[i] -= step_size * mi / (SQRT(vi) * inv_sqrt_bc2 + eps);             \
        }                                                                         \
    }                                                                             \
}

NK_DEFINE_OPTIM(float, f, sqrtf)
NK_DEFINE_OPTIM(double, d, sqrt)

#endif /* NK_LOOPS_H */
