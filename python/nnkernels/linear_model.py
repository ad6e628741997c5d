"""Linear and logistic regression and a small neural-network classifier, shaped like
scikit-learn estimators and computed by nnkernels' kernels.

Every estimator has ``fit(X, y) -> self``, ``predict``, ``score``, ``get_params`` /
``set_params`` and, once fitted, ``n_features_in_``; the linear ones also ``coef_``
and ``intercept_`` in scikit-learn's shapes. Inputs are checked once, at the
boundary: ``X`` must be 2-D and numeric (text -> TypeError), ``y`` 1-D with one
entry per row of ``X`` (the message names both lengths), neither empty nor NaN
(ValueError); ``predict`` before ``fit`` raises
:class:`nnkernels.preprocessing.NotFittedError`. All computation is in float64.

Estimators
----------
:class:`LinearRegression`
    Least squares, by minibatch SGD through a ``Dense(k, 1)`` layer and the MSE
    kernel (``solver="sgd"``), or in closed form (``solver="lstsq"``).
:class:`LogisticRegression`
    Unregularised binary logistic regression on the fused sigmoid + binary
    cross-entropy kernel: L-BFGS-B on the exact mean log-loss (``"lbfgs"``, the
    scikit-learn ``LogisticRegression(C=np.inf)`` solution), or minibatch SGD
    (``"sgd"``).
:class:`MLPClassifier`
    ReLU hidden layers and a softmax output, trained by Adam (the workshop's iris
    network: 4 -> 32 ReLU -> 3): :class:`nnkernels.neural_network.MLPClassifier`
    under the workshop's parameter names, which needs scikit-learn (it is built on
    first use; the rest of this module does not import scikit-learn) and checks
    its input as scikit-learn does.

The SGD solvers train on standardised features (and, for regression, a
standardised target) and fold the scaling back into ``coef_`` and ``intercept_``:
the fitted model is the same affine function of the inputs, but the learning rate
no longer depends on the units of the data, and features of any magnitude (1e6,
say) train as well as features in [0, 1].
"""
import inspect
import numbers
import warnings

import numpy as np
from scipy.optimize import minimize

from nnkernels import kernels
from nnkernels._validation import check_hyperparameter
from nnkernels.callbacks import LearningRateScheduler, cosine_decay
from nnkernels.layers import Dense
from nnkernels.losses import MeanSquaredError, SigmoidBinaryCrossEntropy
from nnkernels.metrics import _as_labels, _as_numeric, accuracy_score, r2_score
from nnkernels.model import Sequential
from nnkernels.optimizers import SGD
from nnkernels.preprocessing import NotFittedError, StandardScaler

__all__ = ["LinearRegression", "LogisticRegression", "MLPClassifier", "NotFittedError",
           "check_X", "check_X_y", "logistic_loss_and_grad"]


# -- input checks --------------------------------------------------------------------

def check_X(X, n_features=None, estimator="the estimator"):
    """Check a feature matrix and return it as float64.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features), real numbers
    n_features : int, optional
        The number of features the estimator was fitted with.
    estimator : str
        Named in the error messages.

    Returns
    -------
    ndarray of shape (n_samples, n_features), float64, C-contiguous

    Raises
    ------
    TypeError
        X holds text or other non-numbers.
    ValueError
        X is not 2-D, is empty, holds NaN or infinity, or has the wrong number of
        features.
    """
    X = _as_numeric(X, "X", allowed_ndim=(2,))
    if X.shape[0] == 0 or X.shape[1] == 0:
        raise ValueError(f"X is empty (shape {X.shape}); need at least one sample and one "
                         f"feature")
    if n_features is not None and X.shape[1] != n_features:
        raise ValueError(f"X has {X.shape[1]} features, but {estimator} was fitted with "
                         f"{n_features}")
    return np.ascontiguousarray(X)


def check_X_y(X, y, labels=False):
    """Check features and targets of one training set.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features), real numbers
    y : array-like of shape (n_samples,)
        Real numbers, or with ``labels=True`` class labels (numbers or strings).
    labels : bool

    Returns
    -------
    X : ndarray of shape (n_samples, n_features), float64
    y : ndarray of shape (n_samples,); float64, or the labels' own dtype

    Raises
    ------
    TypeError, ValueError
        As :func:`check_X`; y not 1-D, NaN in y, or a length that differs from X's.
    """
    X = check_X(X)
    y = _as_labels(y, "y")[0] if labels else _as_numeric(y, "y", allowed_ndim=(1,))
    if y.shape[0] != X.shape[0]:
        raise ValueError(f"X and y have inconsistent lengths: X has {X.shape[0]} samples "
                         f"but y has {y.shape[0]}")
    return X, y


def _encode_classes(y, estimator, binary=False):
    """Sorted distinct labels (at least two; exactly two if `binary`) and y's indices."""
    classes, indices = np.unique(y, return_inverse=True)
    if len(classes) < 2:
        raise ValueError(f"{estimator} needs samples of at least two classes; y has a "
                         f"single class, {classes[0].item()!r}")
    if binary and len(classes) > 2:
        raise ValueError(f"{estimator} is binary; y has {len(classes)} classes: "
                         f"{classes.tolist()}")
    return classes, indices.reshape(-1)


def _positive_int(estimator, name, value, allow_none=False):
    if value is None and allow_none:
        return None
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
        raise ValueError(f"{estimator}: '{name}' must be an int >= 1"
                         f"{' or None' if allow_none else ''}; got {value!r}")
    return int(value)


def _choice(estimator, name, value, allowed):
    if value not in allowed:
        raise ValueError(f"{estimator}: '{name}' must be one of {allowed}; got {value!r}")
    return value


# -- shared pieces -------------------------------------------------------------------

class _Estimator:
    """get_params/set_params from the constructor's signature, the fitted check, repr."""

    @classmethod
    def _param_names(cls):
        return [p for p in inspect.signature(cls.__init__).parameters if p != "self"]

    def get_params(self, deep=True):
        """The constructor's arguments, as a dict (scikit-learn's protocol)."""
        return {name: getattr(self, name) for name in self._param_names()}

    def set_params(self, **params):
        """Set constructor arguments; returns self. Unknown names raise ValueError."""
        valid = self._param_names()
        for name, value in params.items():
            if name not in valid:
                raise ValueError(f"{type(self).__name__}: invalid parameter {name!r}; "
                                 f"valid parameters are {valid}")
            setattr(self, name, value)
        return self

    def __repr__(self):
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_params().items())
        return f"{type(self).__name__}({args})"

    def _check_X_fitted(self, X):
        if not hasattr(self, "n_features_in_"):
            raise NotFittedError(f"This {type(self).__name__} instance is not fitted yet. "
                                 "Call 'fit' with appropriate arguments before using this "
                                 "estimator.")
        return check_X(X, self.n_features_in_, type(self).__name__)


class _Classifier(_Estimator):
    """An estimator whose predict returns class labels."""

    def score(self, X, y):
        """Accuracy of predict(X) against y (a float in [0, 1])."""
        X, y = check_X_y(X, y, labels=True)
        return accuracy_score(y, self.predict(X))


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


def _check_training_params(estimator, lr=None, epochs=None, minibatch=True):
    """Check lr and epochs (the estimator's own unless given) and, for minibatch
    training, batch_size and (if the estimator has one) momentum."""
    name = type(estimator).__name__
    check_hyperparameter(name, "lr", estimator.lr if lr is None else lr, low=0,
                         low_open=True)
    if minibatch and hasattr(estimator, "momentum"):
        check_hyperparameter(name, "momentum", estimator.momentum, low=0, high=1,
                             high_open=True)
    _positive_int(name, "epochs", estimator.epochs if epochs is None else epochs)
    if minibatch:
        _positive_int(name, "batch_size", estimator.batch_size, allow_none=True)


def _batch_size(batch_size, n):
    """None (full batch) -> n; never more than n."""
    return n if batch_size is None else min(batch_size, n)


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
    history = model.fit(Z, targets.reshape(-1, 1), epochs=epochs,
                        batch_size=_batch_size(batch_size, Z.shape[0]), seed=seed, verbose=0,
                        callbacks=[LearningRateScheduler(cosine_decay(lr, epochs))])
    layer = model.layers[0]
    return layer.weight.data[:, 0].copy(), float(layer.bias.data[0]), history


# -- linear regression ---------------------------------------------------------------

class LinearRegression(_Estimator):
    """Ordinary least squares: y ~ X @ coef_ + intercept_.

    Parameters
    ----------
    solver : {"sgd", "lstsq"}, default "sgd"
        "sgd": minibatch SGD on the mean squared error through
        ``Sequential([Dense(k, 1, activation=None, dtype="float64")])``, the MSE
        kernel and :class:`nnkernels.SGD`, on standardised X and y (see the module
        notes), weights starting at zero. "lstsq": the closed form,
        ``numpy.linalg.lstsq`` on ``[X, 1]``.
    lr : float > 0, default 0.05
        Initial learning rate (standardised units), decayed to 0 along a half cosine.
    epochs : int, default 200
    batch_size : int or None, default 32
        None: full batch.
    momentum : float in [0, 1), default 0.9
    seed : int, numpy Generator or None
        Shuffles the minibatches ("sgd"); the same seed gives the same coef_.

    The defaults bring the SGD solution within about 2e-4 of the closed form on the
    workshop's advertising data (TV and radio, 160 rows, with or without their
    interaction term), for any seed.

    Attributes
    ----------
    coef_ : ndarray of shape (n_features,), float64
    intercept_ : float
    n_features_in_ : int
    n_iter_ : int
        Epochs run ("sgd"; 1 for "lstsq").
    history_ : History or None
        The SGD training history (loss per epoch, standardised units).
    """

    def __init__(self, solver="sgd", lr=0.05, epochs=200, batch_size=32, momentum=0.9,
                 seed=None):
        self.solver = solver
        self.lr = lr
        self.epochs = epochs
        self.batch_size = batch_size
        self.momentum = momentum
        self.seed = seed

    def fit(self, X, y):
        """Fit the coefficients.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features), real numbers
        y : array-like of shape (n_samples,), real numbers

        Returns
        -------
        self
        """
        _choice("LinearRegression", "solver", self.solver, ("sgd", "lstsq"))
        if self.solver == "sgd":
            _check_training_params(self)
        X, y = check_X_y(X, y)
        if self.solver == "lstsq":
            design = np.column_stack([X, np.ones(X.shape[0])])
            solution = np.linalg.lstsq(design, y, rcond=None)[0]
            self.coef_, self.intercept_ = solution[:-1], float(solution[-1])
            self.n_iter_, self.history_ = 1, None
        else:
            self.coef_, self.intercept_, self.history_ = self._fit_sgd(X, y)
            self.n_iter_ = len(self.history_.epoch)
        self.n_features_in_ = X.shape[1]
        return self

    def _fit_sgd(self, X, y):
        Z, mean, scale = _standardize(X)
        t, y_mean, y_scale = _standardize(y.reshape(-1, 1))
        w, b, history = _train_linear_unit(Z, t[:, 0], MeanSquaredError(), lr=self.lr,
                                           momentum=self.momentum, epochs=self.epochs,
                                           batch_size=self.batch_size, seed=self.seed)
        # y = y_mean + y_scale * (z @ w + b): fold the target's scale into w and b.
        coef, intercept = _unstandardize(y_scale[0] * w, y_mean[0] + y_scale[0] * b,
                                         mean, scale)
        return coef, intercept, history

    def predict(self, X):
        """Predicted targets.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features_in_)

        Returns
        -------
        ndarray of shape (n_samples,), float64
        """
        X = self._check_X_fitted(X)
        return _affine(X, self.coef_[None, :], [self.intercept_])[:, 0]

    def score(self, X, y):
        """Coefficient of determination R² of predict(X) against y (a float <= 1)."""
        X, y = check_X_y(X, y)
        return r2_score(y, self.predict(X))


# -- logistic regression -------------------------------------------------------------

def logistic_loss_and_grad(params, X, targets):
    """Mean binary cross-entropy of sigmoid(X @ w + b) and its gradient, via the kernels.

    The loss and dL/dlogits come from one call of the fused kernel
    :func:`nnkernels.kernels.sigmoid_binary_cross_entropy` (stable for logits of
    any finite size); dL/dw = X^T dlogits by :func:`nnkernels.kernels.gemm` and
    dL/db = the column sum of dlogits by :func:`nnkernels.kernels.bias_backward`.

    Parameters
    ----------
    params : ndarray of shape (n_features + 1,), float64
        The weights w, then the intercept b.
    X : ndarray of shape (n_samples, n_features), float64, C-contiguous
    targets : ndarray of shape (n_samples, 1), float64, values in [0, 1]

    Returns
    -------
    loss : float
    grad : ndarray of shape (n_features + 1,), float64
    """
    params = np.ascontiguousarray(params, dtype=np.float64)
    logits = _affine(X, params[None, :-1], params[-1:])
    loss, dlogits = kernels.sigmoid_binary_cross_entropy(logits, targets, logits)
    grad = np.empty_like(params)
    kernels.gemm(X, dlogits, grad[:-1].reshape(-1, 1), trans_a=True)
    kernels.bias_backward(dlogits, grad[-1:])
    return loss, grad


class LogisticRegression(_Classifier):
    """Binary logistic regression without regularisation.

    Minimises the mean log-loss ``mean(log(1 + exp(z)) - t z)``, z = X @ w + b,
    t = 1 for ``classes_[1]`` and 0 for ``classes_[0]``, the objective of
    scikit-learn's ``LogisticRegression(C=np.inf)`` (``penalty=None``).

    Parameters
    ----------
    solver : {"lbfgs", "sgd", "workshop"}, default "lbfgs"
        "lbfgs": ``scipy.optimize.minimize(method="L-BFGS-B")`` on
        :func:`logistic_loss_and_grad` (in standardised coordinates, which is the same
        objective reparametrised), to a gradient below `tol`. "sgd": minibatch SGD
        through ``Sequential([Dense(k, 1, activation=None)])`` with the
        :class:`nnkernels.SigmoidBinaryCrossEntropy` loss on standardised X.
        "workshop": the Go workshop's own training, which minimises another objective:
        one sample at a time, in data order, gradient descent on the squared error
        ``(t - sigmoid(z))**2 / 2`` of raw X, from weights drawn uniformly in [0, 1)
        (:func:`nnkernels.kernels.online_sigmoid_sgd`). Its result is the point its
        fixed-order steps cycle around, not the optimum of that objective: on the
        loan data it gives the workshop's sigmoid(13.65 x - 4.89) whatever the start.
    tol : float > 0, default 1e-10
        "lbfgs": stop when every gradient component is below tol.
    max_iter : int, default 1000
        "lbfgs": iteration limit (a RuntimeWarning says when it is reached, e.g. on
        separable data, where the weights grow without bound).
    lr : float > 0 or None
        "sgd": initial learning rate (standardised units), decayed to 0 along a half
        cosine; default 1.0. "workshop": the constant step size; default 0.3 (the
        workshop's).
    epochs : int or None
        "sgd": default 100; "workshop": default 1000 (the workshop's).
    batch_size : int or None, default 100
        "sgd" only.
    momentum : float in [0, 1), default 0.0
        "sgd" only.
    seed : int, numpy Generator or None
        "sgd": shuffles the minibatches; "workshop": draws the starting weights.
        "lbfgs" is deterministic.

    With the "sgd" defaults the probabilities on the workshop's loan data come
    within about 3e-4 of the "lbfgs" ones.

    Attributes
    ----------
    classes_ : ndarray of shape (2,)
        The two labels, sorted; ``classes_[1]`` is the positive class.
    coef_ : ndarray of shape (1, n_features), float64
    intercept_ : ndarray of shape (1,), float64
    n_features_in_ : int
    n_iter_ : int
        L-BFGS-B iterations or SGD epochs.
    """

    _DEFAULTS = {"sgd": {"lr": 1.0, "epochs": 100}, "workshop": {"lr": 0.3, "epochs": 1000}}

    def __init__(self, solver="lbfgs", tol=1e-10, max_iter=1000, lr=None, epochs=None,
                 batch_size=100, momentum=0.0, seed=None):
        self.solver = solver
        self.tol = tol
        self.max_iter = max_iter
        self.lr = lr
        self.epochs = epochs
        self.batch_size = batch_size
        self.momentum = momentum
        self.seed = seed

    def fit(self, X, y):
        """Fit the coefficients.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features), real numbers
        y : array-like of shape (n_samples,)
            Exactly two distinct labels (numbers or strings).

        Returns
        -------
        self
        """
        _choice("LogisticRegression", "solver", self.solver, ("lbfgs", "sgd", "workshop"))
        if self.solver == "lbfgs":
            check_hyperparameter("LogisticRegression", "tol", self.tol, low=0, low_open=True)
            _positive_int("LogisticRegression", "max_iter", self.max_iter)
        else:
            defaults = self._DEFAULTS[self.solver]
            self.lr_ = defaults["lr"] if self.lr is None else self.lr
            self.epochs_ = defaults["epochs"] if self.epochs is None else self.epochs
            _check_training_params(self, self.lr_, self.epochs_,
                                   minibatch=self.solver == "sgd")
        X, y = check_X_y(X, y, labels=True)
        self.classes_, indices = _encode_classes(y, "LogisticRegression", binary=True)
        targets = indices.astype(np.float64)
        if self.solver == "workshop":  # on raw X, as the workshop
            coef, intercept, self.n_iter_ = self._fit_workshop(X, targets)
        else:
            Z, mean, scale = _standardize(X)
            fit = self._fit_lbfgs if self.solver == "lbfgs" else self._fit_sgd
            w, b, self.n_iter_ = fit(Z, targets)
            coef, intercept = _unstandardize(w, b, mean, scale)
        self.coef_, self.intercept_ = coef[None, :], np.array([intercept])
        self.n_features_in_ = X.shape[1]
        return self

    def _fit_lbfgs(self, Z, targets):
        result = minimize(logistic_loss_and_grad, np.zeros(Z.shape[1] + 1),
                          args=(Z, np.ascontiguousarray(targets.reshape(-1, 1))), jac=True,
                          method="L-BFGS-B",
                          options={"maxiter": self.max_iter, "gtol": self.tol, "ftol": 0.0})
        if result.status == 1:  # the iteration limit
            warnings.warn(f"LogisticRegression: L-BFGS-B stopped after {result.nit} "
                          f"iterations (max_iter={self.max_iter}) with gradient "
                          f"{np.abs(result.jac).max():.3g} > tol={self.tol}; the classes "
                          "may be separable", RuntimeWarning, stacklevel=3)
        return result.x[:-1], float(result.x[-1]), int(result.nit)

    def _fit_workshop(self, X, targets):
        start = np.random.default_rng(self.seed).random(X.shape[1] + 1)
        w, b = start[:-1].copy(), start[-1:].copy()
        kernels.online_sigmoid_sgd(np.ascontiguousarray(X, np.float64), targets, w, b,
                                   lr=self.lr_, epochs=self.epochs_)
        return w, float(b[0]), self.epochs_

    def _fit_sgd(self, Z, targets):
        w, b, history = _train_linear_unit(Z, targets, SigmoidBinaryCrossEntropy(),
                                           lr=self.lr_, momentum=self.momentum,
                                           epochs=self.epochs_, batch_size=self.batch_size,
                                           seed=self.seed)
        return w, b, len(history.epoch)

    def decision_function(self, X):
        """Logits X @ coef_.T + intercept_ (positive: classes_[1]).

        Returns
        -------
        ndarray of shape (n_samples,), float64
        """
        X = self._check_X_fitted(X)
        return _affine(X, self.coef_, self.intercept_)[:, 0]

    def predict_proba(self, X):
        """Class probabilities, columns in the order of classes_.

        Returns
        -------
        ndarray of shape (n_samples, 2), float64, rows summing to 1
        """
        X = self._check_X_fitted(X)
        p = _affine(X, self.coef_, self.intercept_, kernels.bias_sigmoid)
        return np.hstack([1.0 - p, p])

    def predict(self, X):
        """classes_[1] where the logit is positive, else classes_[0]; shape (n_samples,)."""
        positive = self.decision_function(X) > 0
        return self.classes_[positive.astype(np.intp)]


# -- a small classification network -------------------------------------------------

def _workshop_mlp_classifier():
    """The workshop's MLPClassifier: :class:`nnkernels.neural_network.MLPClassifier`
    with the workshop's parameter names and defaults (built on first use, since it
    needs scikit-learn)."""
    from nnkernels import neural_network

    class MLPClassifier(neural_network.MLPClassifier):
        """Dense ReLU hidden layers and a softmax output, trained on the cross-entropy.

        :class:`nnkernels.neural_network.MLPClassifier` (needs scikit-learn,
        ``pip install "nnkernels[sklearn]"``) with the workshop's parameter names and
        defaults: the iris network, 4 -> 32 ReLU -> 3, trained full batch by Adam
        (lr 0.02, exactly `epochs` epochs, no L2 penalty): He-normal hidden weights,
        Glorot-normal output weights, zero biases. On the workshop's iris split they
        classify all 30 test flowers for seeds 0-19, in about 0.1 s per fit.

        Parameters
        ----------
        hidden : int or tuple of int, default (32,)
            Width of each hidden layer (``hidden_layer_sizes``).
        lr : float > 0, default 0.02 (``learning_rate_init``)
        epochs : int, default 300 (``max_iter``; training never stops earlier)
        batch_size : int or None, default None
            None: full batch (one step per epoch).
        optimizer : {"adam", "rmsprop", "sgd"}, default "adam" (``solver``)
        seed : int, numpy Generator or None (``random_state``)

        Attributes
        ----------
        As :class:`nnkernels.neural_network.MLPClassifier`: classes_, coefs_,
        intercepts_, loss_curve_ (mean training loss per epoch), n_features_in_ and
        model_ (the :class:`nnkernels.Sequential`).
        """

        activation = "relu"
        alpha = 0.0
        shuffle = True
        tol = 0.0
        verbose = False
        warm_start = False
        early_stopping = False
        validation_fraction = 0.1
        momentum, nesterovs_momentum = 0.9, True
        beta_1, beta_2, epsilon = 0.9, 0.999, 1e-8
        _warn_at_max_iter = False  # it trains exactly `epochs` epochs, by design
        hidden_layer_sizes = property(lambda self: self.hidden)
        learning_rate_init = property(lambda self: self.lr)
        max_iter = property(lambda self: self.epochs)
        n_iter_no_change = property(lambda self: self.epochs)
        solver = property(lambda self: self.optimizer)
        random_state = property(lambda self: self.seed)

        def __init__(self, hidden=(32,), lr=0.02, epochs=300, batch_size=None,
                     optimizer="adam", seed=None):
            self.hidden = hidden
            self.lr = lr
            self.epochs = epochs
            self.batch_size = batch_size
            self.optimizer = optimizer
            self.seed = seed

        def _batch_rows(self, n_samples):
            return n_samples if self.batch_size is None else super()._batch_rows(n_samples)

        def _layer_inits(self, n_layers):
            return ["he_normal"] * (n_layers - 1) + ["glorot_normal"]

    MLPClassifier.__module__ = __name__
    return MLPClassifier


def __getattr__(name):
    if name == "MLPClassifier":
        cls = globals()["MLPClassifier"] = _workshop_mlp_classifier()
        return cls
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
