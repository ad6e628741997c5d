/* The scalar routines whose float and double versions differ (constants, bit
   layouts, polynomial degree), so each is written for each type, as BLAS has sgemm
   and dgemm: exp of a non-positive argument, the sigmoid, and the ReLU gradient's
   select. Cython picks one with `if floating is float:` (_common.pxd); the loops
   written once over NK_T pick one with NK_FN (nk_base.h). */
#ifndef NK_MATH_H
#define NK_MATH_H

#include "nk_base.h"

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

NK_INLINE float nk_sqrt_f(float x) { return sqrtf(x); }
NK_INLINE double nk_sqrt_d(double x) { return sqrt(x); }

#endif /* NK_MATH_H */
