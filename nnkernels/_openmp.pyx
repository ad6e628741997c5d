# cython: language_level=3
"""OpenMP as compiled, and the thread count of the kernels' loops.

The count is kept here, beside the loops that use it, so that the kernels read it
without importing the Python layer; nnkernels.set_num_threads (python/nnkernels/
_threads.py) sets it, together with the BLAS pools.
"""
import os

cdef extern from "nk_openmp.h":
    int nk_openmp_enabled() nogil
    int nk_openmp_max_threads() nogil
    const char *nk_openmp_version() nogil

cdef int _num_threads = 0  # 0: not set


def openmp_enabled():
    """True if the kernels were compiled with OpenMP."""
    return bool(nk_openmp_enabled())


def openmp_max_threads():
    """omp_get_max_threads() of the OpenMP runtime the kernels use (1 without OpenMP)."""
    return nk_openmp_max_threads()


def openmp_version():
    """The _OPENMP date macro (e.g. '201511'), or '' without OpenMP."""
    return nk_openmp_version().decode()


def available_cores():
    """The number of cores this process may run on (its CPU affinity), >= 1."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


cdef int default_num_threads() except -1:
    global _num_threads
    if _num_threads == 0:
        _num_threads = available_cores()
    return _num_threads


def get_num_threads():
    """The kernels' thread count when a call gives none, an int >= 1."""
    return default_num_threads()


def set_num_threads(int n):
    """Set that count (n >= 1); nnkernels.set_num_threads also sets the BLAS pools."""
    global _num_threads
    if n < 1:
        raise ValueError(f"n_threads must be >= 1; got {n}")
    _num_threads = n
