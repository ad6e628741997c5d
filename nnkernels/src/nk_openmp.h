/* What the compiler gave the kernels: OpenMP or not, its version and thread count. */
#ifndef NK_OPENMP_H
#define NK_OPENMP_H

#include <stdio.h>

#ifdef _OPENMP
#include <omp.h>
static int nk_openmp_enabled(void) { return 1; }
static int nk_openmp_max_threads(void) { return omp_get_max_threads(); }
static const char *nk_openmp_version(void) {
    static char text[16];
    snprintf(text, sizeof text, "%d", _OPENMP);
    return text;
}
#else
static int nk_openmp_enabled(void) { return 0; }
static int nk_openmp_max_threads(void) { return 1; }
static const char *nk_openmp_version(void) { return ""; }
#endif

#endif /* NK_OPENMP_H */
