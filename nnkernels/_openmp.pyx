# cython: language_level=3
"""What the compiler gave us: OpenMP or not, and its thread count."""

cdef extern from *:
    """
    #include <stdio.h>
    #ifdef _OPENMP
    #include <omp.h>
    static int nnk_openmp_enabled(void) { return 1; }
    static int nnk_openmp_max_threads(void) { return omp_get_max_threads(); }
    static const char *nnk_openmp_version(void) {
        static char text[16];
        snprintf(text, sizeof text, "%d", _OPENMP);
        return text;
    }
    #else
    static int nnk_openmp_enabled(void) { return 0; }
    static int nnk_openmp_max_threads(void) { return 1; }
    static const char *nnk_openmp_version(void) { return ""; }
    #endif
    """
    int nnk_openmp_enabled() nogil
    int nnk_openmp_max_threads() nogil
    const char *nnk_openmp_version() nogil


def openmp_enabled():
    """True if the kernels were compiled with OpenMP."""
    return bool(nnk_openmp_enabled())


def openmp_max_threads():
    """omp_get_max_threads() of the OpenMP runtime the kernels use (1 without OpenMP)."""
    return nnk_openmp_max_threads()


def openmp_version():
    """The _OPENMP date macro (e.g. '201511'), or '' without OpenMP."""
    return nnk_openmp_version().decode()
