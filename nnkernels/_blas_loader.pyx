# cython: language_level=3
"""Which libraries the kernels' products call: loading them, and what is known of them.

The products (nnkernels/_blas.pyx) call BLAS through a table of function pointers that
this module fills, once at import (python/nnkernels/_blas_library.py chooses which
library): an OpenBLAS shared library found on disk, with the ``scipy_`` symbol prefix of
the scipy-openblas wheels (use_openblas), or else SciPy's cython_blas table
(use_cython_blas). float32 products may also go to oneDNN's row-major dnnl_sgemm
(use_onednn, then set_float_backend), where python/nnkernels/_gemm_choice.py measured it
faster. This module keeps what is known of the libraries (paths, versions, whether the
BLAS is pinned, where float32 products go); the table itself lives in _blas, which
alone reads it.
"""
from cpython.pycapsule cimport PyCapsule_GetName, PyCapsule_GetPointer
from posix.dlfcn cimport RTLD_LOCAL, RTLD_NOW, dlerror, dlopen, dlsym

from nnkernels._blas cimport (ONEDNN, OPENBLAS, nk_blas_routines, nk_dgemm_fn, nk_dgemv_fn,
                              nk_dnnl_sgemm_fn, nk_get_threads_fn, nk_set_threads_fn,
                              nk_sgemm_fn, nk_sgemv_fn, route_float, use_dnnl_sgemm,
                              use_routines)

cdef struct dnnl_version_t:  # dnnl_types.h
    int major
    int minor
    int patch
    const char* hash
    unsigned cpu_runtime
    unsigned gpu_runtime
ctypedef const dnnl_version_t* (*dnnl_version_fn)() noexcept nogil
ctypedef const char* (*get_config_t)() noexcept nogil

cdef get_config_t _openblas_config = NULL
_library_path = None  # None: SciPy's cython_blas (or nothing yet)
_pinned = False       # True: the library is ours alone, on one thread
_onednn_path = None
_onednn_version = None
_BACKENDS = ("openblas", "onednn")  # indexed by OPENBLAS, ONEDNN
_float_backend = ("openblas", "openblas")  # (gemm, gemv) of float32 products


def use_openblas(path, private=False):
    """Route every product through the OpenBLAS shared library at `path` (its symbols
    carry the ``scipy_`` prefix of the scipy-openblas wheels). Returns False, changing
    nothing, if the library or one of its routines cannot be found.

    private : bool
        The library is loaded for the kernels alone (no other module uses this copy):
        pin it to one thread and split products across the kernels' threads instead.
    """
    global _openblas_config, _library_path, _pinned
    cdef void* handle = dlopen(path.encode(), RTLD_NOW | RTLD_LOCAL)
    if handle == NULL:
        return False
    cdef void* found[6]
    names = (b"scipy_sgemm_", b"scipy_dgemm_", b"scipy_sgemv_", b"scipy_dgemv_",
             b"scipy_openblas_set_num_threads", b"scipy_openblas_get_num_threads")
    for i, name in enumerate(names):
        found[i] = dlsym(handle, name)
        if found[i] == NULL:
            return False  # the handle stays open: dlclose of a BLAS is not safe
    cdef nk_blas_routines routines
    routines.sgemm, routines.dgemm = <nk_sgemm_fn>found[0], <nk_dgemm_fn>found[1]
    routines.sgemv, routines.dgemv = <nk_sgemv_fn>found[2], <nk_dgemv_fn>found[3]
    routines.set_threads = <nk_set_threads_fn>found[4]
    routines.get_threads = <nk_get_threads_fn>found[5]
    _openblas_config = <get_config_t>dlsym(handle, b"scipy_openblas_get_config")
    _library_path = path
    _pinned = bool(private)
    use_routines(routines, _pinned)
    return True


def use_cython_blas():
    """Route every product through SciPy's cython_blas table (whatever BLAS SciPy was
    built with; its threads are then not ours to set)."""
    global _openblas_config, _library_path, _pinned
    from scipy.linalg import cython_blas
    capi = cython_blas.__pyx_capi__
    cdef void* found[4]
    for i, name in enumerate(("sgemm", "dgemm", "sgemv", "dgemv")):
        capsule = capi[name]
        found[i] = PyCapsule_GetPointer(capsule, PyCapsule_GetName(capsule))
    cdef nk_blas_routines routines
    routines.sgemm, routines.dgemm = <nk_sgemm_fn>found[0], <nk_dgemm_fn>found[1]
    routines.sgemv, routines.dgemv = <nk_sgemv_fn>found[2], <nk_dgemv_fn>found[3]
    routines.set_threads = NULL
    routines.get_threads = NULL
    _openblas_config = NULL
    _library_path = None
    _pinned = False
    use_routines(routines, False)


def openblas_config():
    """OpenBLAS's build string ("OpenBLAS 0.3.34 DYNAMIC_ARCH ... Zen MAX_THREADS=64"),
    or None for SciPy's cython_blas."""
    if _openblas_config == NULL:
        return None
    return (<bytes>_openblas_config()).decode("ascii", "replace")


def library_path():
    """The file of the OpenBLAS the kernels call, or None for SciPy's cython_blas."""
    return _library_path


def pinned():
    """Whether the kernels' BLAS is theirs alone, pinned to one thread (gemm_threads
    splits products across the kernels' threads)."""
    return _pinned


def use_onednn(path):
    """Make oneDNN's ``dnnl_sgemm`` in the shared library at `path` available for
    float32 products (set_float_backend chooses it). Returns None on success, else a
    sentence saying why the library cannot be used; nothing is changed then.

    Only a oneDNN on the GNU OpenMP or sequential runtime is taken: with OpenMP it is
    the kernels' own runtime, so it can be held to the calling thread. A TBB build
    would start a pool of its own beside the kernels' threads.
    """
    global _onednn_path, _onednn_version
    cdef void* handle = dlopen(path.encode(), RTLD_NOW | RTLD_LOCAL)
    if handle == NULL:
        error = _dlerror_text()
        return f"cannot load {path}: {error}"
    cdef void* gemm_fn = dlsym(handle, b"dnnl_sgemm")
    cdef void* version_fn = dlsym(handle, b"dnnl_version")
    if gemm_fn == NULL or version_fn == NULL:
        return f"{path} has no dnnl_sgemm or dnnl_version: not a oneDNN library"
    cdef const dnnl_version_t* v = (<dnnl_version_fn>version_fn)()
    # dnnl_runtime_seq = 1, dnnl_runtime_omp = 2 (dnnl_types.h); TBB 4, threadpool 8
    if v.cpu_runtime not in (1, 2):
        return (f"{path} is oneDNN {v.major}.{v.minor}.{v.patch} on CPU runtime "
                f"{v.cpu_runtime}, not OpenMP (2) or sequential (1): its threads would "
                "not be the kernels' threads")
    _onednn_version = f"{v.major}.{v.minor}.{v.patch}"
    use_dnnl_sgemm(<nk_dnnl_sgemm_fn>gemm_fn)
    _onednn_path = path
    return None


cdef str _dlerror_text():
    cdef const char* e = dlerror()
    return (<bytes>e).decode("utf-8", "replace") if e != NULL else "unknown error"


def onednn_path():
    """The oneDNN library loaded by use_onednn, or None."""
    return _onednn_path


def onednn_version():
    """oneDNN's version as "major.minor.patch", or None if not loaded."""
    return _onednn_version


def set_float_backend(gemm, gemv):
    """Send float32 products to "openblas" or "onednn": `gemm` for products with at
    least two rows and two columns, `gemv` for those with one row or one column."""
    global _float_backend
    cdef int g = _backend_code(gemm, "gemm"), v = _backend_code(gemv, "gemv")
    route_float(g, v)
    _float_backend = (_BACKENDS[g], _BACKENDS[v])


def float_backend():
    """(gemm, gemv): the libraries float32 products go to now."""
    return _float_backend


cdef int _backend_code(name, what) except -1:
    if name not in _BACKENDS:
        raise ValueError(f"{what} backend must be one of {_BACKENDS}; got {name!r}")
    if name == "onednn" and _onednn_path is None:
        raise RuntimeError(f"{what} backend 'onednn': oneDNN is not loaded (use_onednn)")
    return ONEDNN if name == "onednn" else OPENBLAS
