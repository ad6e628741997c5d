"""What the linear models share: standardisation, the affine map, minibatch training
of one linear unit, parameter checks."""
import numpy as np
from sklearn.base import BaseEstimator
from sklearn.preprocessing import StandardScaler
from sklearn.utils.validation import check_is_fitted, validate_data

import nnkernels.kernels as kernels
from nnkernels._checks import hyperparameter, learning_rate, positive_int
from nnkernels.callbacks import LearningRateScheduler, cosine_decay
from nnkernels.layers import Dense
from nnkernels.optimizers import SGD
from nnkernels.sequential import Sequential


# -- shared pieces -------------------------------------------------------------------

def _standardize(X):
    """(Z, mean, scale): Z = (X - mean) / scale, column by column (constant columns: 1)."""
    scaler = StandardScaler().fit(X)
    return np.ascontiguousarray(scaler.transform(X)), scaler.mean_, scaler.scale_


def _unstandardize(w, b, mean, scale):
    """Coefficients (k,) and intercept of z @ w + b rewritten for x, z = (x - mean) / scale."""
    coef = w / scale
    return coef, float(b - coef @ mean)


def _affine(X, coef, intercept, activation=kernels.bias_add):
    """activation(X @ coef.T + intercept) through the kernels: (n, m) float64.

    X (n, k) float64; coef (m, k); intercept (m,).
    """
    z = kernels.gemm(X, np.ascontiguousarray(coef, dtype=np.float64), trans_b=True)
    return activation(z, np.ascontiguousarray(intercept, dtype=np.float64), out=z)


def _train_linear_unit(Z, targets, loss, *, lr, momentum, epochs, batch_size, seed):
    """Train ``Sequential([Dense(k, 1, activation=None)])`` by minibatch SGD.

    Weights start at zero; the learning rate falls from `lr` to 0 along a half
    cosine over the epochs (:func:`nnkernels.callbacks.cosine_decay`), so the last
    epochs average out the minibatch noise.

    Parameters
    ----------
    Z : ndarray of shape (n, k), float64
    targets : ndarray of shape (n,), float64
    loss : Loss with target_kind "values" (MeanSquaredError, SigmoidBinaryCrossEntropy)
    batch_size : int or None (full batch); never more than n
    seed : int, Generator or None; shuffles the minibatches

    Returns
    -------
    w : ndarray of shape (k,), float64
    b : float
    history : History
    """
    model = Sequential([Dense(Z.shape[1], 1, activation=None, init="zeros",
                              dtype="float64")])
    model.compile(SGD(lr=lr, momentum=momentum), loss)
    n = Z.shape[0]
    history = model.fit(Z, targets.reshape(-1, 1), epochs=epochs,
                        batch_size=n if batch_size is None else min(batch_size, n),
                        seed=seed, verbose=0,
                        callbacks=[LearningRateScheduler(cosine_decay(lr, epochs))])
    layer = model.layers[0]
    return layer.weight.data[:, 0].copy(), float(layer.bias.data[0]), history


class _LinearModel(BaseEstimator):
    """Parameter checks and the affine map X @ coef_.T + intercept_ of both models."""

    _solvers = ()

    def __init__(self, *, solver, lr, epochs, batch_size, momentum, random_state):
        self.solver = solver
        self.lr = lr
        self.epochs = epochs
        self.batch_size = batch_size
        self.momentum = momentum
        self.random_state = random_state

    def _check_solver(self):
        if self.solver not in self._solvers:
            raise ValueError(f"{type(self).__name__}: 'solver' must be one of "
                             f"{self._solvers}; got {self.solver!r}")

    def _check_training_params(self, lr, epochs, minibatch=True):
        """Check lr and epochs and, for minibatch training, batch_size and momentum."""
        name = type(self).__name__
        learning_rate(name, lr)
        positive_int(name, "epochs", epochs)
        if minibatch:
            hyperparameter(name, "momentum", self.momentum, low=0, high=1, high_open=True)
            if self.batch_size is not None:
                positive_int(name, "batch_size", self.batch_size)

    def _validate_X(self, X):
        """X checked against the fit (fitted? same features?), as C-contiguous float64."""
        check_is_fitted(self)
        return validate_data(self, X, dtype=np.float64, order="C", reset=False)

    def _logits(self, X):
        """X @ coef_.T + intercept_: (n_samples, n_outputs) float64."""
        return _affine(self._validate_X(X), np.atleast_2d(self.coef_),
                       np.atleast_1d(self.intercept_))


# -- linear regression ---------------------------------------------------------------
