"""How many threads the kernels (OpenMP) and BLAS use.

One number governs both: the OpenMP loops of the kernels, the kernels' GEMM (split
across the same OpenMP threads when the kernels' OpenBLAS is their own, pinned to one
thread: nnkernels/_blas.pyx) and the thread pools of the other BLAS libraries loaded in
the process (NumPy's, SciPy's, through threadpoolctl), so that nothing asks for more
threads than the caller allowed. The default is the number of cores this process may
run on. The count itself lives in the compiled nnkernels._openmp, which the kernels
read.
"""
import os

import nnkernels._blas as _blas
import nnkernels._blas_loader as _blas_loader
import nnkernels._openmp as _openmp
from nnkernels._checks import thread_count

_controller = None


def available_cpus():
    """How many CPUs this process may run on (its affinity mask on Linux): the default
    thread count, kept by the compiled _openmp."""
    return _openmp.available_cores()


def _blas_controller():
    global _controller
    if _controller is None:
        # Imported here: importing threadpoolctl sets KMP_DUPLICATE_LIB_OK in
        # os.environ, and `import nnkernels` changes no process-wide state.
        from threadpoolctl import ThreadpoolController
        _controller = ThreadpoolController()  # sees the BLAS libraries loaded by now
    return _controller


def get_num_threads():
    """The thread count the kernels use (OpenMP loops and BLAS), an int >= 1."""
    return _openmp.get_num_threads()


def set_num_threads(n):
    """Use `n` threads in the kernels' OpenMP loops and in BLAS.

    Parameters
    ----------
    n : int >= 1

    Returns
    -------
    int
        The previous thread count. ``with nnkernels.num_threads(n):`` restores it
        on exit.
    """
    n = thread_count("set_num_threads", n)
    previous = get_num_threads()
    _openmp.set_num_threads(n)
    for pool in _other_pools():
        _blas_controller().select(filepath=pool["filepath"]).limit(limits=n)
    _blas._blas_threads_set(n)
    return previous


def _other_pools():
    """The BLAS pools of blas_info() that set_num_threads limits: all but a pinned one."""
    return [pool for pool in blas_info()
            if not (_blas_loader.pinned() and is_kernels_blas(pool))]


def blas_info():
    """threadpoolctl's description of the BLAS pools loaded in this process."""
    return _blas_controller().select(user_api="blas").info()


def is_kernels_blas(pool):
    """Whether a pool of blas_info() is the BLAS the kernels call."""
    path = _blas_loader.library_path()
    if path is not None:
        return os.path.realpath(pool["filepath"]) == os.path.realpath(path)
    import scipy
    scipy_dir = os.path.dirname(os.path.dirname(scipy.__file__))
    return pool["filepath"].startswith(os.path.join(scipy_dir, "scipy"))


def blas_num_threads():
    """The thread count of the BLAS library the kernels call (1 when pinned: the kernels
    then split products across their own threads), or None."""
    info = blas_info()
    ours = [pool for pool in info if is_kernels_blas(pool)] or info
    return ours[0]["num_threads"] if ours else None


class num_threads:
    """Context manager: ``with nnkernels.num_threads(1): ...`` then restore.

    Restores both the kernels' count and every BLAS pool's own count.
    """

    def __init__(self, n):
        self._n = thread_count("num_threads", n)

    def __enter__(self):
        self._saved_blas = _blas_controller().select(user_api="blas").info()
        self._previous = set_num_threads(self._n)
        return self

    def __exit__(self, *exc):
        _openmp.set_num_threads(self._previous)
        for pool in self._saved_blas:
            if not (_blas_loader.pinned() and is_kernels_blas(pool)):
                _blas_controller().select(filepath=pool["filepath"]).limit(
                    limits=pool["num_threads"])
        return False


def openmp_enabled():
    return _openmp.openmp_enabled()
