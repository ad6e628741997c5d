"""The talk's two MNIST models, built and compiled in one call."""
import numpy as np

from nnkernels.layers import Dense
from nnkernels.optimizers import RMSProp
from nnkernels.recipe.defaults import TRAIN_DEFAULTS
from nnkernels.sequential import Sequential

#: (in_features, out_features, activation) of each layer, and the loss, of each model.
ARCHITECTURES = {
    "classifier": ([(784, 250, "relu"), (250, 100, "relu"), (100, 10, None)],
                   "softmax_cross_entropy"),
    "autoencoder": ([(784, 250, "relu"), (250, 50, "relu"), (50, 250, "relu"),
                     (250, 784, "sigmoid")], "mse"),
}


def mnist_classifier(*, lr=TRAIN_DEFAULTS["classifier"]["lr"], dtype="float32", seed=None,
                     optimizer=None):
    """784 -> Dense 250 ReLU -> Dense 100 ReLU -> Dense 10, softmax cross-entropy.

    Glorot-normal weights, zero biases, RMSProp (PyTorch's epsilon placement,
    rho=0.9) at the recipe's learning rate (``TRAIN_DEFAULTS["classifier"]["lr"]``)
    unless `lr` or `optimizer` is given. A fixed `seed` gives the same weights every
    run.
    """
    return build("classifier", lr=lr, dtype=dtype, seed=seed, optimizer=optimizer)


def mnist_autoencoder(*, lr=TRAIN_DEFAULTS["autoencoder"]["lr"], dtype="float32", seed=None,
                      optimizer=None):
    """784 -> 250 ReLU -> 50 ReLU -> 250 ReLU -> 784 sigmoid, mean squared error."""
    return build("autoencoder", lr=lr, dtype=dtype, seed=seed, optimizer=optimizer)


def build(kind, *, lr, dtype, seed, optimizer):
    """The model of ARCHITECTURES[kind], compiled with `optimizer` (default: RMSProp(lr))."""
    sizes, loss = ARCHITECTURES[kind]
    rng = np.random.default_rng(seed)
    layers = [Dense(i, o, activation=a, dtype=dtype, seed=rng) for i, o, a in sizes]
    model = Sequential(layers)
    model.compile(optimizer if optimizer is not None else RMSProp(lr=lr), loss)
    return model
