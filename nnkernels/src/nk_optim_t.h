/* The optimizer updates, written once over the element type NK_T (included by
   nk_loops.h once per type: no include guard, see nk_base.h).

   Each updates a chunk of n elements of the flat arrays, which never
   overlap (the optimizer kernels' contract). The options are tested outside the
   loops, so that each loop vectorises. Same expressions, in the same order, as
   the formulas in _optim.pxd. */
NK_CLONED void NK_FN(nk_rmsprop)(NK_T *NK_RESTRICT p, const NK_T *NK_RESTRICT g0,
                                 NK_T *NK_RESTRICT c, Py_ssize_t n, NK_T lr, NK_T rho,
                                 NK_T one_minus_rho, NK_T eps, NK_T wd, int eps_inside) {
    Py_ssize_t i;
    if (eps_inside) {
        for (i = 0; i < n; i++) {
            NK_T g = g0[i] + wd * p[i];
            NK_T ci = rho * c[i] + one_minus_rho * g * g;
            c[i] = ci;
            p[i] -= lr * g / NK_FN(nk_sqrt)(ci + eps);
        }
    } else {
        for (i = 0; i < n; i++) {
            NK_T g = g0[i] + wd * p[i];
            NK_T ci = rho * c[i] + one_minus_rho * g * g;
            c[i] = ci;
            p[i] -= lr * g / (NK_FN(nk_sqrt)(ci) + eps);
        }
    }
}

NK_CLONED void NK_FN(nk_sgd)(NK_T *NK_RESTRICT p, const NK_T *NK_RESTRICT g0,
                             NK_T *NK_RESTRICT vel, Py_ssize_t n, NK_T lr, NK_T mom, NK_T wd,
                             int nesterov) {
    Py_ssize_t i;
    if (vel == NULL) {
        for (i = 0; i < n; i++) p[i] -= lr * (g0[i] + wd * p[i]);
    } else if (nesterov) {
        for (i = 0; i < n; i++) {
            NK_T g = g0[i] + wd * p[i];
            NK_T v = mom * vel[i] + g;
            vel[i] = v;
            p[i] -= lr * (g + mom * v);
        }
    } else {
        for (i = 0; i < n; i++) {
            NK_T v = mom * vel[i] + (g0[i] + wd * p[i]);
            vel[i] = v;
            p[i] -= lr * v;
        }
    }
}

NK_CLONED void NK_FN(nk_adam)(NK_T *NK_RESTRICT p, const NK_T *NK_RESTRICT g0,
                              NK_T *NK_RESTRICT m, NK_T *NK_RESTRICT v, Py_ssize_t n,
                              NK_T b1, NK_T one_minus_b1, NK_T b2, NK_T one_minus_b2,
                              NK_T step_size, NK_T inv_sqrt_bc2, NK_T eps, NK_T wd,
                              NK_T decay, int decoupled) {
    Py_ssize_t i;
    if (decoupled) {
        for (i = 0; i < n; i++) {
            NK_T g = g0[i];
            NK_T mi = b1 * m[i] + one_minus_b1 * g;
            NK_T vi = b2 * v[i] + one_minus_b2 * g * g;
            m[i] = mi;
            v[i] = vi;
            p[i] = p[i] * decay - step_size * mi / (NK_FN(nk_sqrt)(vi) * inv_sqrt_bc2 + eps);
        }
    } else {
        for (i = 0; i < n; i++) {
            NK_T g = g0[i] + wd * p[i];
            NK_T mi = b1 * m[i] + one_minus_b1 * g;
            NK_T vi = b2 * v[i] + one_minus_b2 * g * g;
            m[i] = mi;
            v[i] = vi;
            p[i] -= step_size * mi / (NK_FN(nk_sqrt)(vi) * inv_sqrt_bc2 + eps);
        }
    }
}
