"""nnkernels: fast CPU training of small neural networks.

Cython kernels (nogil, OpenMP) over BLAS do the numerical work; this package
composes them into layers, losses, optimizers and a trainer.

>>> import nnkernels
>>> model = nnkernels.models.mnist_classifier(seed=0)
>>> (x, y), (x_test, y_test) = nnkernels.datasets.load_mnist()
>>> model.fit(x, y, epochs=10, batch_size=100)
>>> model.evaluate(x_test, y_test)
"""
from nnkernels import callbacks, datasets, kernels, losses, metrics, models, optimizers
from nnkernels._fileformat import ModelFileError
from nnkernels._info import build_info, version as _version
from nnkernels._threads import get_num_threads, num_threads, set_num_threads
from nnkernels.layers import Dense, Parameter
from nnkernels.losses import MeanSquaredError, SigmoidBinaryCrossEntropy, SoftmaxCrossEntropy
from nnkernels.model import Sequential
from nnkernels.optimizers import SGD, Adam, RMSProp
from nnkernels.serialization import load, save
from nnkernels.training import History, NonFiniteLossError

__version__ = _version()

__all__ = [
    "Adam", "Dense", "History", "MeanSquaredError", "ModelFileError", "NonFiniteLossError",
    "Parameter", "RMSProp", "SGD", "Sequential", "SigmoidBinaryCrossEntropy",
    "SoftmaxCrossEntropy", "build_info", "callbacks", "datasets", "get_num_threads",
    "kernels", "load", "losses", "metrics", "models", "num_threads", "optimizers", "save",
    "set_num_threads",
]
