"""build_info(): what this installation of nnkernels is built with and runs on."""
import platform

from nnkernels import _gemm_choice, _openmp, _threads


def version():
    from importlib import metadata
    try:
        return metadata.version("nnkernels")
    except metadata.PackageNotFoundError:  # running from a source tree
        return "0+unknown"


def build_info():
    """Describe the build and the thread pools in use.

    Returns
    -------
    dict
        ``version``, ``openmp`` (bool: compiled with OpenMP), ``openmp_version``,
        ``num_threads`` (the count the kernels use, see :func:`set_num_threads`),
        ``openmp_max_threads``, ``blas_num_threads``, ``blas`` (one dict per BLAS
        library loaded: its internal API, version, threading layer, file path, and
        ``used_by_kernels``: whether it is the one the kernels call, SciPy's),
        ``gemm`` (the library of float32 products with several rows and of one-row
        products, how it was chosen, oneDNN's version, the measurement behind the choice
        and the cache file; see :func:`nnkernels.gemm_backend`), ``python``, ``numpy``,
        ``scipy``.
    """
    import numpy
    import scipy

    blas = [{**{key: pool.get(key) for key in
                ("internal_api", "version", "threading_layer", "architecture",
                 "num_threads", "filepath")},
             "used_by_kernels": _threads.is_kernels_blas(pool)}
            for pool in _threads.blas_info()]
    return {
        "version": version(),
        "openmp": _openmp.openmp_enabled(),
        "openmp_version": _openmp.openmp_version(),
        "num_threads": _threads.get_num_threads(),
        "openmp_max_threads": _openmp.openmp_max_threads(),
        "blas_num_threads": _threads.blas_num_threads(),
        "blas": blas,
        "gemm": _gemm_choice.describe(),
        "python": platform.python_version(),
        "numpy": numpy.__version__,
        "scipy": scipy.__version__,
    }
