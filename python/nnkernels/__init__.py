"""nnkernels: fast CPU training of small neural networks.

Cython kernels (nogil, OpenMP) over BLAS do the numerical work; this package
composes them into layers, losses, optimizers and a trainer.

>>> import nnkernels
>>> model = nnkernels.models.mnist_classifier(seed=0)
>>> (x, y), (x_test, y_test) = nnkernels.datasets.load_mnist()
>>> model.fit(x, y, epochs=10, batch_size=100)
>>> model.evaluate(x_test, y_test)
"""
import os as _os

from nnkernels import _blas_library  # noqa: E402

_blas_library.select()  # the OpenBLAS the kernels call (scipy-openblas32's, if installed)

from nnkernels import activations, callbacks, kernels, losses, optimizers  # noqa: E402
from nnkernels._info import build_info  # noqa: E402
from nnkernels._gemm_choice import gemm_backend  # noqa: E402
from nnkernels._threads import get_num_threads, num_threads, set_num_threads  # noqa: E402
from nnkernels.callbacks import History  # noqa: E402
from nnkernels.errors import NonFiniteLossError  # noqa: E402
from nnkernels.formats.errors import ModelFileError  # noqa: E402
from nnkernels.layers import Dense, Parameter  # noqa: E402
from nnkernels.losses import (MeanSquaredError, SigmoidBinaryCrossEntropy,  # noqa: E402
                              SoftmaxCrossEntropy)
from nnkernels.optimizers import SGD, Adam, RMSProp  # noqa: E402
from nnkernels.sequential import Sequential  # noqa: E402
from nnkernels.formats.keras import from_keras, to_keras  # noqa: E402
from nnkernels.formats.model_file import load, save  # noqa: E402
from nnkernels.formats.pytorch import from_torch, to_torch, to_torch_optimizer  # noqa: E402
from nnkernels.formats.state_dict import import_weights  # noqa: E402

# Imported on first use, to keep `import nnkernels` quick. The first ones need no
# extra and are in __all__; the others need scikit-learn and are left out of it, so that
# `from nnkernels import *` works in a bare install.
_LAZY_SUBMODULES = ("checkpoints", "cli", "datasets", "metrics", "models", "onnx", "plots",
                    "pretrained")
_LAZY_WITH_EXTRAS = ("linear_model", "neural_network")


def get_include():
    """The folder of the C headers that nnkernels' .pxd files include.

    Cython code that cimports nnkernels compiles with it on the include path, as with
    NumPy's: ``Extension(..., include_dirs=[nnkernels.get_include()])``.
    """
    here = _os.path.dirname(_os.path.abspath(__file__))
    installed = _os.path.join(here, "src")
    if _os.path.isdir(installed):
        return installed
    return _os.path.join(_os.path.dirname(_os.path.dirname(here)), "nnkernels", "src")


def __getattr__(name):
    if name == "__version__":  # importlib.metadata costs ~25 ms: only when asked
        from nnkernels._info import version
        globals()["__version__"] = value = version()
        return value
    if name in _LAZY_SUBMODULES or name in _LAZY_WITH_EXTRAS:
        import importlib
        return importlib.import_module(f"nnkernels.{name}")
    raise AttributeError(f"module 'nnkernels' has no attribute {name!r}")


__all__ = [
    "Adam", "Dense", "History", "MeanSquaredError", "ModelFileError", "NonFiniteLossError",
    "Parameter", "RMSProp", "SGD", "Sequential", "SigmoidBinaryCrossEntropy",
    "SoftmaxCrossEntropy", "activations", "build_info", "callbacks", "gemm_backend",
    "from_keras", "from_torch", "get_include",
    "get_num_threads", "import_weights", "kernels", "load", "losses", "num_threads",
    "optimizers", "save", "set_num_threads", "to_keras", "to_torch", "to_torch_optimizer",
    *_LAZY_SUBMODULES,
]  # linear_model and neural_network are left out: they need the sklearn extra
