/* The row loops of the loss kernels, written once over the element type NK_T
   (included by nk_loops.h once per type: no include guard, see nk_base.h). */

/* The MSE's squares are summed in NK_T over runs of up to NK_MSE_RUN groups of
   NK_SUM_LANES elements, each run then added to the double accumulators (relative
   error of a run <= NK_MSE_RUN ulp of NK_T; ~30 % faster than converting every
   square). */
#define NK_MSE_RUN 32

/* One row of the MSE: g = scale * (p - t), acc[j % NK_SUM_LANES] += (p - t)^2.
   All loads of a group come before its stores, so g may be p or t. */
NK_INLINE void NK_FN(nk_mse_row)(const NK_T *p, const NK_T *t, NK_T *g, NK_T scale,
                                 double *NK_RESTRICT acc, Py_ssize_t m) {
    NK_T d[NK_SUM_LANES];
    Py_ssize_t groups = m / NK_SUM_LANES, k, r, run, j;
    int l;
    /* Counted loops: under -fwrapv (Python's CFLAGS) gcc cannot count a loop
       like `for (; j < stop; j += 8)`, and leaves it scalar (2.5x slower). */
    for (k = 0; k < groups; k += run) {
        NK_T a[NK_SUM_LANES] = {0};
        run = groups - k < NK_MSE_RUN ? groups - k : NK_MSE_RUN;
        for (r = 0; r < run; r++) {
            j = (k + r) * NK_SUM_LANES;
            for (l = 0; l < NK_SUM_LANES; l++) d[l] = p[j + l] - t[j + l];
            for (l = 0; l < NK_SUM_LANES; l++) g[j + l] = scale * d[l];
            for (l = 0; l < NK_SUM_LANES; l++) a[l] += d[l] * d[l];
        }
        for (l = 0; l < NK_SUM_LANES; l++) acc[l] += a[l];
    }
    j = groups * NK_SUM_LANES;
    for (l = 0; j + l < m; l++) {
        NK_T dl = p[j + l] - t[j + l];
        g[j + l] = scale * dl;
        acc[l] += (double)dl * dl;
    }
}

/* out = exp(z - top) over a row of m; returns their sum, in double, in order.
   out may be z. */
NK_INLINE double NK_FN(nk_exp_shifted)(const NK_T *z, NK_T top, NK_T *out, Py_ssize_t m) {
    Py_ssize_t j;
    double total = 0;
    NK_VECTORIZE
    for (j = 0; j < m; j++) out[j] = NK_FN(nk_exp_nonpos)(z[j] - top);
    for (j = 0; j < m; j++) total += out[j];
    return total;
}
