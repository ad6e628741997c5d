# cython: language_level=3, boundscheck=False, wraparound=False, initializedcheck=False, cdivision=True
"""Probes of the GEMM wrapper (nnkernels/_blas.pyx): the libraries timed on a list of
products (python/nnkernels/_gemm_timing.py, bench/gemm_backends.py), the loops run here
without the GIL so that what is timed is the library and not the interpreter; and
gemm_rows on strided NumPy views, for tests."""
from cython.parallel cimport parallel, threadid
cimport openmp
from libc.stdlib cimport calloc, free

from nnkernels._blas cimport (blas_get_threads, blas_set_threads, gemm_block, gemm_rows,
                              library_sgemm)

import nnkernels._blas_loader as _blas_loader

cdef extern from *:
    """
    /* An orphaned barrier: every thread of the enclosing parallel region waits here. */
    static void nk_timing_barrier(void) {
    #ifdef _OPENMP
    #pragma omp barrier
    #endif
    }
    """
    void nk_timing_barrier() noexcept nogil

cdef struct _product:
    bint trans_a, trans_b
    const float* a
    Py_ssize_t s_a
    const float* b
    Py_ssize_t s_b
    float* c
    Py_ssize_t s_c
    Py_ssize_t m, n, k


def time_products(products, backend, int n_threads, mode, int repeats):
    """Seconds taken by `repeats` passes over `products`, float32, through `backend`
    ("openblas" or "onednn"), then restores the backends as they were.

    products : list of (trans_a, trans_b, a, b, c), C-contiguous float32 arrays with
        c (m, n) = op(a) @ op(b).
    mode : "one"    each product on the calling thread (gemm_rows);
           "split"  one parallel region of n_threads threads, each product split by
                    columns (rows when taller than wide) as gemm_threads and the plans
                    split it, a barrier after each product;
           "library" the library's own threads (OpenBLAS set to n_threads, oneDNN
                    given n_threads OpenMP threads), from the calling thread.
    """
    import time
    cdef Py_ssize_t count = len(products), i, r
    cdef _product* ps = <_product*>calloc(max(count, 1), sizeof(_product))
    if ps == NULL:
        raise MemoryError()
    cdef float[:, ::1] a, b
    cdef float[:, ::1] c
    for i, (ta, tb, a_arr, b_arr, c_arr) in enumerate(products):
        a, b, c = a_arr, b_arr, c_arr
        ps[i].trans_a, ps[i].trans_b = ta, tb
        ps[i].a, ps[i].s_a = &a[0, 0], a.shape[1]
        ps[i].b, ps[i].s_b = &b[0, 0], b.shape[1]
        ps[i].c, ps[i].s_c = &c[0, 0], c.shape[1]
        ps[i].m, ps[i].n = c.shape[0], c.shape[1]
        ps[i].k = a.shape[0] if ta else a.shape[1]
    saved = _blas_loader.float_backend()
    if mode not in ("one", "split", "library"):
        free(ps)
        raise ValueError(f"mode must be 'one', 'split' or 'library'; got {mode!r}")
    try:
        _blas_loader.set_float_backend(backend, backend)
    except Exception:
        free(ps)
        raise
    cdef int code = 0 if backend == "openblas" else 1
    cdef int m_code = ("one", "split", "library").index(mode)
    cdef int threads_before = blas_get_threads()
    try:
        start = time.perf_counter()
        with nogil:
            if m_code == 0:
                for r in range(repeats):
                    for i in range(count):
                        _run(&ps[i], 0, 1)
            elif m_code == 1:
                with parallel(num_threads=n_threads):
                    _run_split(ps, count, repeats)
            else:
                _run_library(ps, count, repeats, code, n_threads)
        elapsed = time.perf_counter() - start
    finally:
        _blas_loader.set_float_backend(*saved)
        if threads_before > 0:
            blas_set_threads(threads_before)
        free(ps)
    return elapsed


cdef inline void _run(_product* p, int t, int nt) noexcept nogil:
    gemm_block(t, nt, p.trans_a, p.trans_b, <float>1, p.a, p.s_a, p.b, p.s_b, <float>0,
                p.c, p.s_c, p.m, p.n, p.k)


cdef void _run_split(_product* ps, Py_ssize_t count, int repeats) noexcept nogil:
    cdef int t = threadid(), nt = openmp.omp_get_num_threads(), r
    cdef Py_ssize_t i
    for r in range(repeats):
        for i in range(count):
            _run(&ps[i], t, nt)
            nk_timing_barrier()


def gemm_view(bint trans_a, bint trans_b, double alpha, a, b, double beta, c,
               int n_threads=1):
    """gemm_rows on NumPy views whose rows may be strided (any row stride, elements
    contiguous), as the plans pass blocks of larger buffers; with n_threads > 1, inside
    one parallel region, each thread on its block of columns (rows when c is taller than
    wide), as the plans split a product. For tests. c (m, n) = alpha op(a) op(b) + beta c.
    """
    import numpy as np
    arrays = [np.asarray(x) for x in (a, b, c)]
    dt = arrays[2].dtype
    for name, x in zip("abc", arrays):
        if x.ndim != 2 or x.dtype != dt or dt not in (np.float32, np.float64):
            raise ValueError(f"gemm_view: {name} must be a 2-D float32/float64 array of "
                             f"c's dtype; got {x.dtype} with shape {x.shape}")
        if x.size and (x.shape[1] > 1 and x.strides[1] != x.itemsize or x.strides[0] < 0):
            raise ValueError(f"gemm_view: {name} needs contiguous elements in each row")
    if not arrays[2].flags.writeable:
        raise ValueError("gemm_view: c must be writeable")
    cdef Py_ssize_t m = arrays[2].shape[0], n = arrays[2].shape[1]
    cdef Py_ssize_t k = arrays[0].shape[0] if trans_a else arrays[0].shape[1]
    cdef Py_ssize_t s[3]
    cdef size_t p[3]
    for i, x in enumerate(arrays):
        s[i] = x.strides[0] // x.itemsize
        p[i] = x.ctypes.data
    cdef bint single = dt == np.float32
    with nogil:
        if n_threads <= 1:
            if single:
                gemm_rows(trans_a, trans_b, <float>alpha, <const float*>p[0], s[0],
                          <const float*>p[1], s[1], <float>beta, <float*>p[2], s[2], m, n, k)
            else:
                gemm_rows(trans_a, trans_b, alpha, <const double*>p[0], s[0],
                          <const double*>p[1], s[1], beta, <double*>p[2], s[2], m, n, k)
        else:
            with parallel(num_threads=n_threads):
                if single:
                    gemm_block(threadid(), openmp.omp_get_num_threads(), trans_a, trans_b,
                                <float>alpha, <const float*>p[0], s[0], <const float*>p[1],
                                s[1], <float>beta, <float*>p[2], s[2], m, n, k)
                else:
                    gemm_block(threadid(), openmp.omp_get_num_threads(), trans_a, trans_b,
                                alpha, <const double*>p[0], s[0], <const double*>p[1], s[1],
                                beta, <double*>p[2], s[2], m, n, k)
    return c


cdef void _run_library(_product* ps, Py_ssize_t count, int repeats, int code,
                       int n_threads) noexcept nogil:
    cdef int r
    cdef Py_ssize_t i
    for r in range(repeats):
        for i in range(count):
            library_sgemm(code, ps[i].trans_a, ps[i].trans_b, ps[i].a, ps[i].s_a, ps[i].b,
                          ps[i].s_b, ps[i].c, ps[i].s_c, ps[i].m, ps[i].n, ps[i].k,
                          n_threads)
