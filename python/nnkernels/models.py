"""The talk's two MNIST models, built and compiled in one call."""
from nnkernels.layers import Dense
from nnkernels.model import Sequential
from nnkernels.optimizers import RMSProp


def mnist_classifier(*, lr=1e-3, dtype="float32", seed=None, optimizer=None):
    """784 -> Dense 250 ReLU -> Dense 100 ReLU -> Dense 10, softmax cross-entropy.

    Glorot-normal weights, zero biases, RMSProp (PyTorch's epsilon placement,
    rho=0.9) unless `optimizer` is given. A fixed `seed` gives the same weights every
    run.
    """
    sizes = [(784, 250, "relu"), (250, 100, "relu"), (100, 10, None)]
    return _build(sizes, "softmax_cross_entropy", lr, dtype, seed, optimizer)


def mnist_autoencoder(*, lr=1e-3, dtype="float32", seed=None, optimizer=None):
    """784 -> 250 ReLU -> 50 ReLU -> 250 ReLU -> 784 sigmoid, mean squared error."""
    sizes = [(784, 250, "relu"), (250, 50, "relu"), (50, 250, "relu"), (250, 784, "sigmoid")]
    return _build(sizes, "mse", lr, dtype, seed, optimizer)


def _build(sizes, loss, lr, dtype, seed, optimizer):
    import numpy as np
    rng = np.random.default_rng(seed)
    layers = [Dense(i, o, activation=a, dtype=dtype, seed=rng) for i, o, a in sizes]
    model = Sequential(layers)
    model.compile(optimizer if optimizer is not None else RMSProp(lr=lr), loss)
    return model
