/* The loops of the fused bias + activation kernels and of their backward passes,
   written once over the element type NK_T (included by nk_loops.h once per type:
   no include guard, see nk_base.h for NK_FN). */

/* out = x + b, max(x + b, 0) or sigmoid(x + b) over one row of m; out may be x. */
NK_INLINE void NK_FN(nk_bias_add)(const NK_T *x, const NK_T *NK_RESTRICT b, NK_T *out,
                                  Py_ssize_t m) {
    Py_ssize_t j;
    NK_VECTORIZE
    for (j = 0; j < m; j++) out[j] = x[j] + b[j];
}

NK_INLINE void NK_FN(nk_bias_relu)(const NK_T *x, const NK_T *NK_RESTRICT b, NK_T *out,
                                   Py_ssize_t m) {
    Py_ssize_t j;
    NK_VECTORIZE
    for (j = 0; j < m; j++) {
        NK_T v = x[j] + b[j];
        out[j] = NK_FN(nk_pass_if_positive)(v, v); /* v > 0 ? v : 0 */
    }
}

NK_CLONED void NK_FN(nk_bias_sigmoid)(const NK_T *x, const NK_T *NK_RESTRICT b, NK_T *out,
                                      Py_ssize_t m) {
    Py_ssize_t j;
    NK_VECTORIZE
    for (j = 0; j < m; j++) out[j] = NK_FN(nk_sigmoid)(x[j] + b[j]);
}

NK_INLINE void NK_FN(nk_bias_act)(const NK_T *x, const NK_T *NK_RESTRICT b, NK_T *out,
                                  Py_ssize_t m, nk_activation act) {
    if (act == NK_RELU)
        NK_FN(nk_bias_relu)(x, b, out, m);
    else if (act == NK_SIGMOID)
        NK_FN(nk_bias_sigmoid)(x, b, out, m);
    else
        NK_FN(nk_bias_add)(x, b, out, m);
}

/* The gradient of the activation from its forward output y and dy. */
NK_INLINE NK_T NK_FN(nk_act_grad)(nk_activation act, NK_T y, NK_T dy) {
    if (act == NK_RELU) return NK_FN(nk_pass_if_positive)(y, dy);
    return dy * y * (1 - y); /* NK_SIGMOID */
}

/* Backward over n rows of a column block of width m: dx = g = grad(y, dy) and
   acc[j] += g over the rows in order (acc comes in zeroed). Row i of dy starts
   at dy + i * s_dy, likewise y and dx; dx may be dy or y (in place: an element
   is read and written in the same iteration only). Four rows per pass over the
   columns: their g are added in NK_T, pairwise, and that sum once to the double
   acc[j] (a conversion and a double add per four elements instead of per
   element; the error of the four-term sum is ~2 ulp of NK_T). Each column is still
   summed over rows 0..n-1 in one fixed order, so the bits do not depend on how
   the columns are cut or on the thread count. Always inlined, with act a
   constant (nk_act_backward below): one loop per activation. */
NK_ALWAYS_INLINE void NK_FN(nk_grad_backward)(const NK_T *dy, Py_ssize_t s_dy, const NK_T *y,
                                              Py_ssize_t s_y, NK_T *dx, Py_ssize_t s_dx,
                                              double *NK_RESTRICT acc, Py_ssize_t n,
                                              Py_ssize_t m, nk_activation act) {
    Py_ssize_t i = 0, j;
    for (; i + 4 <= n; i += 4) {
        const NK_T *dy0 = dy + i * s_dy, *y0 = y + i * s_y;
        NK_T *dx0 = dx + i * s_dx;
        NK_VECTORIZE
        for (j = 0; j < m; j++) {
            NK_T g0 = NK_FN(nk_act_grad)(act, y0[j], dy0[j]);
            NK_T g1 = NK_FN(nk_act_grad)(act, y0[j + s_y], dy0[j + s_dy]);
            NK_T g2 = NK_FN(nk_act_grad)(act, y0[j + 2 * s_y], dy0[j + 2 * s_dy]);
            NK_T g3 = NK_FN(nk_act_grad)(act, y0[j + 3 * s_y], dy0[j + 3 * s_dy]);
            dx0[j] = g0;
            dx0[j + s_dx] = g1;
            dx0[j + 2 * s_dx] = g2;
            dx0[j + 3 * s_dx] = g3;
            acc[j] += (double)((g0 + g1) + (g2 + g3));
        }
    }
    for (; i < n; i++) {
        const NK_T *dyi = dy + i * s_dy, *yi = y + i * s_y;
        NK_T *dxi = dx + i * s_dx;
        NK_VECTORIZE
        for (j = 0; j < m; j++) {
            NK_T g = NK_FN(nk_act_grad)(act, yi[j], dyi[j]);
            dxi[j] = g;
            acc[j] += g;
        }
    }
}

/* The column sums of g (the identity's backward: its dx is dy), as above. */
NK_INLINE void NK_FN(nk_column_sums)(const NK_T *g, Py_ssize_t s_g, double *NK_RESTRICT acc,
                                     Py_ssize_t n, Py_ssize_t m) {
    Py_ssize_t i = 0, j;
    for (; i + 4 <= n; i += 4) {
        const NK_T *g0 = g + i * s_g;
        NK_VECTORIZE
        for (j = 0; j < m; j++) {
            acc[j] += (double)((g0[j] + g0[j + s_g]) + (g0[j + 2 * s_g] + g0[j + 3 * s_g]));
        }
    }
    for (; i < n; i++) {
        const NK_T *gi = g + i * s_g;
        NK_VECTORIZE
        for (j = 0; j < m; j++) acc[j] += gi[j];
    }
}

/* NK_IDENTITY: the column sums of dy only (y and dx are not read). */
NK_INLINE void NK_FN(nk_act_backward)(const NK_T *dy, Py_ssize_t s_dy, const NK_T *y,
                                      Py_ssize_t s_y, NK_T *dx, Py_ssize_t s_dx,
                                      double *NK_RESTRICT acc, Py_ssize_t n, Py_ssize_t m,
                                      nk_activation act) {
    if (act == NK_RELU)
        NK_FN(nk_grad_backward)(dy, s_dy, y, s_y, dx, s_dx, acc, n, m, NK_RELU);
    else if (act == NK_SIGMOID)
        NK_FN(nk_grad_backward)(dy, s_dy, y, s_y, dx, s_dx, acc, n, m, NK_SIGMOID);
    else
        NK_FN(nk_column_sums)(dy, s_dy, acc, n, m);
}
