"""nnkernels: fast CPU training of small neural networks.

Cython kernels (nogil, OpenMP) over BLAS do the numerical work; this package
composes them into layers, losses, optimizers and a trainer.
"""
from nnkernels import kernels
from nnkernels._info import build_info, version as _version
from nnkernels._threads import get_num_threads, num_threads, set_num_threads

__version__ = _version()

__all__ = ["build_info", "get_num_threads", "kernels", "num_threads", "set_num_threads"]
