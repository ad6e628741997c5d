# cython: language_level=3, boundscheck=False, wraparound=False, initializedcheck=False, cdivision=True
"""Row-major GEMM: c = alpha * op(a) @ op(b) + beta * c, in float32 or float64.

BLAS is column-major. A row-major (m, n) matrix is the column-major (n, m) matrix
of its transpose, so c^T = op(b)^T op(a)^T is computed by passing b as BLAS's first
operand and a as its second: no copies.

A product with one row or one column (m == 1 or n == 1: single-sample inference) goes
to gemv: OpenBLAS's gemm is about ten times slower than its gemv on those shapes.

Each thread's first sgemm is preceded by a small one that primes OpenBLAS's packing
buffer (see _prime_sgemm).

Which libraries are called is decided in nnkernels/_blas_loader.pyx, which loads them
and hands their routines to this module (use_routines, use_dnnl_sgemm, route_float).

Threads: the OpenBLAS of the scipy-openblas32 wheel is loaded for the kernels alone, so
it is pinned to one thread (_blas_loader.use_openblas(path, private=True)) and
gemm_threads splits a
product across the kernels' own OpenMP threads. A process then has one pool of worker
threads, not two that spin against each other between calls (OpenBLAS issue 3187,
scikit-learn issue 17334): without that, a layer-by-layer training step on 2 cores took
10-29 ms instead of 0.6 ms unless OMP_WAIT_POLICY and OPENBLAS_THREAD_TIMEOUT were set
before the libraries loaded. A shared BLAS (SciPy's) keeps its own threads.

float32 products may go to oneDNN's row-major dnnl_sgemm instead (_blas_loader's
use_onednn, then set_float_backend): python/nnkernels/_gemm_choice.py times both
libraries on the models' shapes and picks the faster, separately for products with one
row or column (OpenBLAS's gemv, or oneDNN's sgemm) and for the rest. float64 always
stays on OpenBLAS (oneDNN has no dgemm). oneDNN's GNU OpenMP build is the same OpenMP
runtime as the kernels: each call is held to the calling thread (its nthreads ICV set to
1 around the call), so it never starts threads of its own, inside a parallel region or
outside one.
"""
from cython cimport floating
from cython.parallel cimport parallel, threadid
cimport openmp
from libc.stdlib cimport calloc, free
from libc.signal cimport SIGABRT, SIGBUS, SIGFPE, SIGILL, SIGSEGV, SIGTRAP
from posix.signal cimport SIG_BLOCK, SIG_SETMASK, sigdelset, sigfillset
from posix.types cimport sigset_t

cdef extern from "<signal.h>" nogil:
    int pthread_sigmask(int how, const sigset_t* set, sigset_t* old)

from nnkernels._common cimport row_stride

# The routines every product goes through (src/nk_blas.h), set at import by
# nnkernels._blas_loader (use_routines): an OpenBLAS shared library found on disk, or
# else SciPy's cython_blas table.
cdef nk_blas_routines _lib
cdef bint _pinned = 0  # 1: the library is ours alone, on one thread; gemm_threads splits
cdef nk_dnnl_sgemm_fn _dnnl_sgemm = NULL  # oneDNN's, once loaded (use_dnnl_sgemm)
# Which library float32 products go to: _float_gemm for products with at least two rows
# and two columns, _float_gemv for one row or one column (single-sample inference).
cdef int _float_gemm = OPENBLAS
cdef int _float_gemv = OPENBLAS

# Below this many floating-point operations per thread, gemm_threads runs a product on
# the calling thread: waking a parallel region costs 15-50 us.
cdef double SPLIT_MIN_FLOPS_PER_THREAD = 2e6


cdef void use_routines(nk_blas_routines routines, bint pinned) noexcept nogil:
    global _lib, _pinned, nk_blas_one_thread
    _lib = routines
    _pinned = pinned and routines.set_threads != NULL  # only a library whose threads we set
    if _pinned:
        _lib.set_threads(1)
        nk_blas_one_thread = 1


cdef void use_dnnl_sgemm(nk_dnnl_sgemm_fn sgemm) noexcept nogil:
    global _dnnl_sgemm
    _dnnl_sgemm = sgemm


cdef void route_float(int gemm, int gemv) noexcept nogil:
    global _float_gemm, _float_gemv
    _float_gemm, _float_gemv = gemm, gemv


cdef int blas_get_threads() noexcept nogil:
    return _lib.get_threads() if _lib.get_threads != NULL else 0


cdef void blas_set_threads(int n) noexcept nogil:
    if _lib.set_threads != NULL:
        _lib.set_threads(n)


cdef inline blas_int _leading_dim(Py_ssize_t rows, Py_ssize_t cols,
                                  Py_ssize_t row_stride) noexcept nogil:
    # From the stride, not the shape (a row slice of a wider array has ld > cols).
    # A single row may carry any stride; BLAS then needs ld >= max(1, cols).
    if rows <= 1:
        return <blas_int>(cols if cols > 1 else 1)
    return <blas_int>row_stride


cdef extern from *:
    """
    static int nk_blas_one_thread = 0;
    static __thread int nk_sgemm_primed = 0;
    """
    int nk_blas_one_thread  # set_num_threads(1) sets it, any other count clears it
    int nk_sgemm_primed     # per thread: PRIMED | PRIMED_ONE_THREAD, as done so far

cdef enum:
    PRIMED = 1
    PRIMED_ONE_THREAD = 2


cdef inline int _priming_needed() noexcept nogil:
    # Once primed on one BLAS thread, a thread's buffer stays written; priming on
    # several BLAS threads (where OpenBLAS splits the product) writes less of it.
    return PRIMED | PRIMED_ONE_THREAD if nk_blas_one_thread else PRIMED


cdef inline bint _primed() noexcept nogil:
    cdef int needed = _priming_needed()
    return nk_sgemm_primed & needed == needed


cdef void _prime_sgemm() noexcept nogil:
    # OpenBLAS's single-threaded sgemm, when op(b) has at most GEMM_P columns (all
    # the MNIST layers), packs each panel of op(a) to the start of its per-thread
    # buffer, but its Haswell kernel (also used on Zen) prefetches where the next
    # panels would be: pages of the buffer that nothing has written yet. Each such
    # prefetch costs a page walk; measured on this 2-vCPU AMD EPYC VM, (100, 784) @
    # (784, 250) took 3.4 ms instead of 1.25 ms, for the life of the process, until
    # some larger product had written those pages. This product (OpenBLAS's column-
    # major m = 512 > GEMM_P: panels packed side by side) writes the first 192 KiB
    # of them. Priming costs about 50 MFLOP, once per thread, or twice if the thread
    # first primed on several BLAS threads and later runs on one.
    global nk_sgemm_primed
    cdef blas_int m = 512, n = 128, k = 384
    cdef float one = 1, zero = 0
    cdef char no = b'N'
    nk_sgemm_primed |= _priming_needed()
    cdef float* work = <float*>calloc(m * k + k * n + m * n, sizeof(float))
    if work == NULL:
        return  # only the speed of the next products is at stake
    _lib.sgemm(&no, &no, &m, &n, &k, &one, work, &m, work + m * k, &k, &zero,
               work + m * k + k * n, &m)
    free(work)


cdef void gemm_rows(bint trans_a, bint trans_b, floating alpha,
                    const floating* a, Py_ssize_t s_a, const floating* b, Py_ssize_t s_b,
                    floating beta, floating* c, Py_ssize_t s_c,
                    Py_ssize_t m, Py_ssize_t n, Py_ssize_t k) noexcept nogil:
    cdef Py_ssize_t i, j
    if m == 0 or n == 0:
        return  # BLAS rejects zero dimensions (xerbla aborts the process).
    if k == 0:
        for i in range(m):
            for j in range(n):
                c[i * s_c + j] = 0 if beta == 0 else beta * c[i * s_c + j]
        return
    # Stored shapes: a is (m, k), or (k, m) if trans_a; b is (k, n), or (n, k) if trans_b.
    cdef blas_int lda = _leading_dim(k if trans_a else m, m if trans_a else k, s_a)
    cdef blas_int ldb = _leading_dim(n if trans_b else k, k if trans_b else n, s_b)
    cdef blas_int ldc = _leading_dim(m, n, s_c)
    if m == 1 or n == 1:
        if floating is float:
            if _float_gemv == ONEDNN and _onednn_sgemm(trans_a, trans_b, alpha, a, lda, b,
                                                       ldb, beta, c, ldc, m, n, k):
                return
        _gemv(trans_a, trans_b, alpha, a, lda, s_a, b, ldb, s_b, beta, c, s_c,
              <blas_int>m, <blas_int>n, <blas_int>k)
        return
    if floating is float:
        if _float_gemm == ONEDNN and _onednn_sgemm(trans_a, trans_b, alpha, a, lda, b, ldb,
                                                   beta, c, ldc, m, n, k):
            return
    cdef blas_int bm = <blas_int>m, bn = <blas_int>n, bk = <blas_int>k
    cdef char blas_ta = b'T' if trans_b else b'N'
    cdef char blas_tb = b'T' if trans_a else b'N'
    if floating is float:
        if not _primed():
            _prime_sgemm()
        _lib.sgemm(&blas_ta, &blas_tb, &bn, &bm, &bk, &alpha, <float*>b, &ldb,
                   <float*>a, &lda, &beta, c, &ldc)
    else:
        _lib.dgemm(&blas_ta, &blas_tb, &bn, &bm, &bk, &alpha, <double*>b, &ldb,
                   <double*>a, &lda, &beta, c, &ldc)


cdef bint _onednn_sgemm(bint trans_a, bint trans_b, float alpha, const float* a,
                        blas_int lda, const float* b, blas_int ldb, float beta, float* c,
                        blas_int ldc, Py_ssize_t m, Py_ssize_t n,
                        Py_ssize_t k) noexcept nogil:
    # Row-major already: no operand swap. oneDNN's OpenMP build runs a product on
    # omp_get_max_threads() threads of the process's one GNU OpenMP runtime (the
    # kernels' own), or on the calling thread inside an active parallel region. Setting
    # the calling thread's nthreads ICV to 1 for the call keeps it on the calling thread
    # everywhere, as a pinned OpenBLAS is: gemm_threads and the plans split products
    # across the kernels' threads themselves. The ICV is per thread (a few ns to set).
    # False: oneDNN refused the arguments (a dnnl_status_t other than success); the
    # caller then computes the product with OpenBLAS.
    #
    # Asynchronous signals are blocked in the calling thread for the call (the kernel
    # delivers them to another thread, or when the call ends): a signal handled on a
    # thread inside dnnl_sgemm corrupted the heap (Ctrl-C during a product, 2023.2 wheel,
    # AMD Zen 1: "malloc(): unaligned tcache chunk detected" within seconds of a signal
    # every 5 ms; tests/test_gemm_choice.py sends them). Two system calls per product.
    cdef int saved = openmp.omp_get_max_threads()
    cdef sigset_t block, previous
    sigfillset(&block)
    sigdelset(&block, SIGSEGV)
    sigdelset(&block, SIGBUS)
    sigdelset(&block, SIGFPE)
    sigdelset(&block, SIGILL)
    sigdelset(&block, SIGTRAP)
    sigdelset(&block, SIGABRT)
    pthread_sigmask(SIG_BLOCK, &block, &previous)
    if saved != 1:
        openmp.omp_set_num_threads(1)
    cdef int status = _dnnl_sgemm(b'T' if trans_a else b'N', b'T' if trans_b else b'N',
                                  m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
    if saved != 1:
        openmp.omp_set_num_threads(saved)
    pthread_sigmask(SIG_SETMASK, &previous, NULL)
    return status == 0


cdef inline blas_int _step(blas_int length, Py_ssize_t stride) noexcept nogil:
    # BLAS increment of a vector; any positive value for a single element.
    return <blas_int>(stride if length > 1 else 1)


cdef void _gemv(bint trans_a, bint trans_b, floating alpha,
                const floating* a, blas_int lda, Py_ssize_t s_a,
                const floating* b, blas_int ldb, Py_ssize_t s_b, floating beta,
                floating* c, Py_ssize_t s_c, blas_int m, blas_int n,
                blas_int k) noexcept nogil:
    # m == 1: c[0, :] = alpha * op(b)^T op(a)[0, :] + beta * c[0, :]
    # n == 1: c[:, 0] = alpha * op(a) op(b)[:, 0] + beta * c[:, 0]
    # A row-major (r, s) matrix with leading dimension ld is BLAS's column-major
    # (s, r) matrix, so the row-major op is 'T' where no transpose is asked, and 'N'
    # where one is.
    cdef Py_ssize_t i, j
    cdef char op
    cdef blas_int rows, cols, ld, incx, incy
    cdef const floating* mat
    cdef const floating* x
    if beta == 0:
        # Some OpenBLAS versions compute 0 * y for beta == 0, which turns NaN left in
        # an uninitialised buffer into NaN results: start from zeros instead.
        for i in range(m):
            for j in range(n):
                c[i * s_c + j] = 0
    if m == 1:
        mat, x, ld = b, a, ldb
        incx = _step(k, s_a) if trans_a else 1
        incy = 1
        if trans_b:   # b is (n, k): BLAS's (k, n); y = B^T x
            op, rows, cols = b'T', k, n
        else:         # b is (k, n): BLAS's (n, k); y = B x
            op, rows, cols = b'N', n, k
    else:
        mat, x, ld = a, b, lda
        incx = 1 if trans_b else _step(k, s_b)
        incy = _step(m, s_c)
        if trans_a:   # a is (k, m): BLAS's (m, k); y = A x
            op, rows, cols = b'N', m, k
        else:         # a is (m, k): BLAS's (k, m); y = A^T x
            op, rows, cols = b'T', k, m
    if floating is float:
        _lib.sgemv(&op, &rows, &cols, &alpha, <float*>mat, &ld, <float*>x, &incx,
                   &beta, c, &incy)
    else:
        _lib.dgemv(&op, &rows, &cols, &alpha, <double*>mat, &ld, <double*>x, &incx,
                   &beta, c, &incy)


cdef void gemm(bint trans_a, bint trans_b, floating alpha,
               const floating[:, ::1] a,
               const floating[:, ::1] b,
               floating beta,
               floating[:, ::1] c) noexcept nogil:
    gemm_rows(trans_a, trans_b, alpha, &a[0, 0], row_stride(a), &b[0, 0], row_stride(b),
              beta, &c[0, 0], row_stride(c), c.shape[0], c.shape[1],
              a.shape[0] if trans_a else a.shape[1])


cdef void gemm_threads(bint trans_a, bint trans_b, floating alpha,
                       const floating* a, Py_ssize_t s_a, const floating* b, Py_ssize_t s_b,
                       floating beta, floating* c, Py_ssize_t s_c,
                       Py_ssize_t m, Py_ssize_t n, Py_ssize_t k,
                       int n_threads) noexcept nogil:
    cdef int nt = n_threads
    # oneDNN is held to the calling thread like a pinned OpenBLAS (_onednn_sgemm).
    cdef bint one_thread_library = (_pinned
                                    or (floating is float and _float_gemm == ONEDNN))
    if not one_thread_library or 2.0 * m * n * k < SPLIT_MIN_FLOPS_PER_THREAD * nt:
        nt = 1
    if nt <= 1:
        gemm_rows(trans_a, trans_b, alpha, a, s_a, b, s_b, beta, c, s_c, m, n, k)
        return
    with parallel(num_threads=nt):
        gemm_block(threadid(), openmp.omp_get_num_threads(), trans_a, trans_b, alpha, a, s_a,
                    b, s_b, beta, c, s_c, m, n, k)


cdef void gemm_block(int t, int nt, bint trans_a, bint trans_b, floating alpha,
                      const floating* a, Py_ssize_t s_a, const floating* b,
                      Py_ssize_t s_b, floating beta, floating* c, Py_ssize_t s_c,
                      Py_ssize_t m, Py_ssize_t n, Py_ssize_t k) noexcept nogil:
    # Thread t of nt computes a block of c's columns (a block of op(b)'s columns), or of
    # its rows (of op(a)'s rows) when c is taller than wide; blocks of 16 elements keep
    # each thread's columns on whole cache lines.
    cdef Py_ssize_t size = n if n >= m else m
    cdef Py_ssize_t block = ((size + nt - 1) // nt + 15) // 16 * 16
    cdef Py_ssize_t lo = t * block, hi = min(size, lo + block)
    if lo >= hi:
        return
    if n >= m:
        gemm_rows(trans_a, trans_b, alpha, a, s_a, b + (lo * s_b if trans_b else lo), s_b,
                  beta, c + lo, s_c, m, hi - lo, k)
    else:
        gemm_rows(trans_a, trans_b, alpha, a + (lo if trans_a else lo * s_a), s_a, b, s_b,
                  beta, c + lo * s_c, s_c, hi - lo, n, k)


def _blas_threads_set(int n):
    """Tell the priming how many threads BLAS now runs (set_num_threads); a pinned
    BLAS always runs one."""
    global nk_blas_one_thread
    nk_blas_one_thread = n == 1 or _pinned


def _sgemm_primed():
    """Whether the calling thread's sgemm is primed for the current BLAS thread count."""
    return _primed()


cdef void library_sgemm(int library, bint trans_a, bint trans_b, const float* a,
                        Py_ssize_t s_a, const float* b, Py_ssize_t s_b, float* c,
                        Py_ssize_t s_c, Py_ssize_t m, Py_ssize_t n, Py_ssize_t k,
                        int n_threads) noexcept nogil:
    """c (m, n) = op(a) op(b) on the library's own n_threads threads (OpenBLAS set to
    n_threads, oneDNN given n_threads OpenMP threads), from the calling thread: what the
    libraries do when left to thread themselves (bench/gemm_backends.py)."""
    cdef int saved = openmp.omp_get_max_threads(), before = blas_get_threads()
    cdef blas_int bm = <blas_int>m, bn = <blas_int>n, bk = <blas_int>k
    cdef blas_int lda = <blas_int>s_a, ldb = <blas_int>s_b, ldc = <blas_int>s_c
    cdef float one = 1, zero = 0
    cdef char ta = b'T' if trans_b else b'N', tb = b'T' if trans_a else b'N'
    if library == OPENBLAS:
        blas_set_threads(n_threads)
        _lib.sgemm(&ta, &tb, &bn, &bm, &bk, &one, <float*>b, &ldb, <float*>a, &lda, &zero,
                   c, &ldc)
        if before > 0:
            blas_set_threads(before)
    else:
        openmp.omp_set_num_threads(n_threads)
        _dnnl_sgemm(b'T' if trans_a else b'N', b'T' if trans_b else b'N', m, n, k, one, a,
                    lda, b, ldb, zero, c, ldc)
        openmp.omp_set_num_threads(saved)
