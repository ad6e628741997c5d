"""Linear and logistic regression and a small neural-network classifier: scikit-learn
estimators computed by nnkernels' kernels.

They are built on :class:`sklearn.base.BaseEstimator` with its mixins
(``RegressorMixin``, ``ClassifierMixin``) and :func:`sklearn.utils.validation.validate_data`,
so that they work in ``Pipeline``, ``GridSearchCV``, ``cross_val_score`` and with pandas
DataFrames, and they pass scikit-learn's ``check_estimator`` (tests/test_linear_model.py).
This module needs scikit-learn: ``pip install "nnkernels[sklearn]"``.

Parameters are stored unchanged by ``__init__`` and checked by ``fit`` (ValueError or
TypeError naming the parameter). Inputs are checked as scikit-learn checks them:
``X`` 2-D, numeric, finite and dense, ``y`` with one entry per row; ``predict`` before
``fit`` raises :class:`sklearn.exceptions.NotFittedError`. All computation is in float64.
Fitted attributes are scikit-learn's: ``coef_``, ``intercept_``, ``n_features_in_``,
``feature_names_in_`` (for DataFrames with string column names), ``n_iter_`` and, for
the classifier, ``classes_``.

Estimators
----------
:class:`LinearRegression`
    Least squares, by minibatch SGD through a ``Dense(k, 1)`` layer and the MSE
    kernel (``solver="sgd"``), or in closed form (``solver="lstsq"``). One target.
:class:`LogisticRegression`
    Unregularised logistic regression on the fused sigmoid + binary cross-entropy
    kernel: L-BFGS-B on the exact mean log-loss (``"lbfgs"``, the scikit-learn
    ``LogisticRegression(C=np.inf)`` solution for two classes), minibatch SGD
    (``"sgd"``) or the Go workshop's own per-sample training (``"workshop"``). More
    than two classes are fitted one-vs-rest.
:class:`MLPClassifier`
    ReLU hidden layers and a softmax output, trained by Adam (the workshop's iris
    network: 4 -> 32 ReLU -> 3): :class:`nnkernels.neural_network.MLPClassifier`
    under the workshop's parameter names.

The SGD solvers train on standardised features (and, for regression, a
standardised target) and fold the scaling back into ``coef_`` and ``intercept_``:
the fitted model is the same affine function of the inputs, but the learning rate
no longer depends on the units of the data, and features of any magnitude (1e6,
say) train as well as features in [0, 1].
"""
import warnings

import numpy as np
from scipy.optimize import minimize

try:
    from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.preprocessing import StandardScaler
    from sklearn.utils.multiclass import check_classification_targets
    from sklearn.utils.validation import check_is_fitted, validate_data
except ImportError as exc:  # scikit-learn is an optional extra
    raise ImportError('nnkernels.linear_model needs scikit-learn; install it with '
                      'pip install "nnkernels[sklearn]"') from exc

from nnkernels import kernels, neural_network
from nnkernels._validation import check_hyperparameter
from nnkernels.callbacks import LearningRateScheduler, cosine_decay
from nnkernels.layers import Dense
from nnkernels.losses import MeanSquaredError, SigmoidBinaryCrossEntropy
from nnkernels._checks import positive_int
from nnkernels.model import Sequential
from nnkernels.neural_network import _rng
from nnkernels.optimizers import SGD

__all__ = ["LinearRegression", "LogisticRegression", "MLPClassifier",
           "logistic_loss_and_grad", "EXPECTED_FAILED_CHECKS"]


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

    def _check_solver(self):
        if self.solver not in self._solvers:
            raise ValueError(f"{type(self).__name__}: 'solver' must be one of "
                             f"{self._solvers}; got {self.solver!r}")

    def _check_training_params(self, lr, epochs, minibatch=True):
        """Check lr and epochs and, for minibatch training, batch_size and momentum."""
        name = type(self).__name__
        check_hyperparameter(name, "lr", lr, low=0, low_open=True)
        positive_int(name, "epochs", epochs)
        if minibatch:
            check_hyperparameter(name, "momentum", self.momentum, low=0, high=1,
                                 high_open=True)
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

class LinearRegression(RegressorMixin, _LinearModel):
    """Ordinary least squares: y ~ X @ coef_ + intercept_ (one target).

    Parameters
    ----------
    solver : {"sgd", "lstsq"}, default "sgd"
        "sgd": minibatch SGD on the mean squared error through
        ``Sequential([Dense(k, 1, activation=None, dtype="float64")])``, the MSE
        kernel and :class:`nnkernels.SGD`, on standardised X and y (see the module
        notes), weights starting at zero. "lstsq": the closed form,
        ``numpy.linalg.lstsq`` on ``[X, 1]`` (scikit-learn's ``LinearRegression()``).
    lr : float > 0, default 0.05
        Initial learning rate (standardised units), decayed to 0 along a half cosine.
    epochs : int, default 200
    batch_size : int or None, default 32
        None: full batch.
    momentum : float in [0, 1), default 0.9
    random_state : int, numpy Generator, numpy RandomState or None, default None
        Shuffles the minibatches ("sgd"); the same value gives the same coef_.

    The defaults bring the SGD solution within about 2e-4 of the closed form on the
    workshop's advertising data (TV and radio, 160 rows, with or without their
    interaction term), for any seed.

    Attributes
    ----------
    coef_ : ndarray of shape (n_features,), float64
    intercept_ : float
    n_features_in_ : int
    feature_names_in_ : ndarray of str (DataFrame input with string column names)
    n_iter_ : int
        Epochs run ("sgd"; 1 for "lstsq").
    loss_curve_ : list of float
        "sgd": the mean training loss of each epoch (MSE in standardised units);
        "lstsq": empty.

    Notes
    -----
    scikit-learn's ``check_estimator`` passes except for the checks listed in
    ``EXPECTED_FAILED_CHECKS["LinearRegression"]`` (none today).
    """

    _solvers = ("sgd", "lstsq")

    def __init__(self, solver="sgd", lr=0.05, epochs=200, batch_size=32, momentum=0.9,
                 random_state=None):
        self.solver = solver
        self.lr = lr
        self.epochs = epochs
        self.batch_size = batch_size
        self.momentum = momentum
        self.random_state = random_state

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
        self._check_solver()
        if self.solver == "sgd":
            self._check_training_params(self.lr, self.epochs)
        X, y = validate_data(self, X, y, dtype=np.float64, order="C", y_numeric=True)
        y = y.astype(np.float64)
        if self.solver == "lstsq":
            design = np.column_stack([X, np.ones(X.shape[0])])
            solution = np.linalg.lstsq(design, y, rcond=None)[0]
            self.coef_, self.intercept_ = solution[:-1], float(solution[-1])
            self.n_iter_, self.loss_curve_ = 1, []
        else:
            self.coef_, self.intercept_, history = self._fit_sgd(X, y)
            self.loss_curve_ = [float(v) for v in history.history["loss"]]
            self.n_iter_ = len(history.epoch)
        return self

    def _fit_sgd(self, X, y):
        Z, mean, scale = _standardize(X)
        t, y_mean, y_scale = _standardize(y.reshape(-1, 1))
        w, b, history = _train_linear_unit(Z, t[:, 0], MeanSquaredError(), lr=self.lr,
                                           momentum=self.momentum, epochs=self.epochs,
                                           batch_size=self.batch_size,
                                           seed=_rng(self.random_state))
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
        return self._logits(X)[:, 0]


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


class LogisticRegression(ClassifierMixin, _LinearModel):
    """Logistic regression without regularisation; one-vs-rest for more than two classes.

    For two classes it minimises the mean log-loss ``mean(log(1 + exp(z)) - t z)``,
    z = X @ w + b, t = 1 for ``classes_[1]`` and 0 for ``classes_[0]``, the objective
    of scikit-learn's ``LogisticRegression(C=np.inf)`` (``penalty=None``). With k > 2
    classes it fits k such binary models, class c against the rest (scikit-learn's
    ``OneVsRestClassifier``, not its multinomial model): ``predict_proba`` normalises
    their k probabilities to sum to 1, ``predict`` takes the largest logit.

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
        "lbfgs": iteration limit (a :class:`sklearn.exceptions.ConvergenceWarning`
        says when it is reached, e.g. on separable data, where the weights grow
        without bound).
    lr : float > 0 or None
        "sgd": initial learning rate (standardised units), decayed to 0 along a half
        cosine; default 1.0. "workshop": the constant step size; default 0.3 (the
        workshop's).
    epochs : int or None
        "sgd": default 100; "workshop": default 1000 (the workshop's).
    batch_size : int or None, default 100
        "sgd" only; None: full batch.
    momentum : float in [0, 1), default 0.0
        "sgd" only.
    random_state : int, numpy Generator, numpy RandomState or None, default None
        "sgd": shuffles the minibatches; "workshop": draws the starting weights.
        "lbfgs" is deterministic.

    With the "sgd" defaults the probabilities on the workshop's loan data come
    within about 3e-4 of the "lbfgs" ones.

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
        The labels, sorted; for two classes ``classes_[1]`` is the positive class.
    coef_ : ndarray of shape (1, n_features) for two classes, else (n_classes, n_features)
    intercept_ : ndarray of shape (1,) or (n_classes,), float64
    n_features_in_ : int
    feature_names_in_ : ndarray of str (DataFrame input with string column names)
    n_iter_ : ndarray of shape (1,) or (n_classes,), int32
        L-BFGS-B iterations or epochs, per binary model.
    lr_, epochs_ : the learning rate and epochs used ("sgd" and "workshop")

    Notes
    -----
    scikit-learn's ``check_estimator`` passes except for the checks listed in
    ``EXPECTED_FAILED_CHECKS["LogisticRegression"]`` (none today).
    """

    _solvers = ("lbfgs", "sgd", "workshop")
    _DEFAULTS = {"sgd": {"lr": 1.0, "epochs": 100}, "workshop": {"lr": 0.3, "epochs": 1000}}

    def __init__(self, solver="lbfgs", tol=1e-10, max_iter=1000, lr=None, epochs=None,
                 batch_size=100, momentum=0.0, random_state=None):
        self.solver = solver
        self.tol = tol
        self.max_iter = max_iter
        self.lr = lr
        self.epochs = epochs
        self.batch_size = batch_size
        self.momentum = momentum
        self.random_state = random_state

    def fit(self, X, y):
        """Fit the coefficients.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features), real numbers
        y : array-like of shape (n_samples,)
            At least two distinct labels (numbers or strings).

        Returns
        -------
        self
        """
        self._check_params()
        X, y = validate_data(self, X, y, dtype=np.float64, order="C")
        check_classification_targets(y)
        self.classes_, indices = np.unique(y, return_inverse=True)
        if len(self.classes_) < 2:
            raise ValueError(f"LogisticRegression needs samples of at least two classes; "
                             f"y has 1 class, {self.classes_[0].item()!r}")
        positives = [1] if len(self.classes_) == 2 else range(len(self.classes_))
        if self.solver == "workshop":  # on raw X, as the workshop
            rng = _rng(self.random_state)
            fits = [self._fit_workshop(X, indices == c, rng) for c in positives]
        else:
            Z, mean, scale = _standardize(X)
            fit = self._fit_lbfgs if self.solver == "lbfgs" else self._fit_sgd
            fits = [fit(Z, indices == c) for c in positives]
            fits = [(*_unstandardize(w, b, mean, scale), n) for w, b, n in fits]
        coef, intercept, n_iter = zip(*fits)
        self.coef_, self.intercept_ = np.array(coef), np.array(intercept)
        self.n_iter_ = np.array(n_iter, dtype=np.int32)
        return self

    def _check_params(self):
        self._check_solver()
        if self.solver == "lbfgs":
            check_hyperparameter("LogisticRegression", "tol", self.tol, low=0, low_open=True)
            positive_int("LogisticRegression", "max_iter", self.max_iter)
        else:
            defaults = self._DEFAULTS[self.solver]
            self.lr_ = defaults["lr"] if self.lr is None else self.lr
            self.epochs_ = defaults["epochs"] if self.epochs is None else self.epochs
            self._check_training_params(self.lr_, self.epochs_,
                                        minibatch=self.solver == "sgd")

    def _fit_lbfgs(self, Z, positive):
        targets = np.ascontiguousarray(positive, dtype=np.float64).reshape(-1, 1)
        result = minimize(logistic_loss_and_grad, np.zeros(Z.shape[1] + 1),
                          args=(Z, targets), jac=True, method="L-BFGS-B",
                          options={"maxiter": self.max_iter, "gtol": self.tol, "ftol": 0.0})
        if result.status == 1:  # the iteration limit
            warnings.warn(f"LogisticRegression: L-BFGS-B stopped after {result.nit} "
                          f"iterations (max_iter={self.max_iter}) with gradient "
                          f"{np.abs(result.jac).max():.3g} > tol={self.tol}; the classes "
                          "may be separable", ConvergenceWarning, stacklevel=3)
        return result.x[:-1], float(result.x[-1]), int(result.nit)

    def _fit_workshop(self, X, positive, rng):
        start = rng.random(X.shape[1] + 1)
        w, b = start[:-1].copy(), start[-1:].copy()
        kernels.online_sigmoid_sgd(X, positive.astype(np.float64), w, b, lr=self.lr_,
                                   epochs=self.epochs_)
        return w, float(b[0]), self.epochs_

    def _fit_sgd(self, Z, positive):
        w, b, history = _train_linear_unit(Z, positive.astype(np.float64),
                                           SigmoidBinaryCrossEntropy(), lr=self.lr_,
                                           momentum=self.momentum, epochs=self.epochs_,
                                           batch_size=self.batch_size,
                                           seed=_rng(self.random_state))
        return w, b, len(history.epoch)

    def decision_function(self, X):
        """Logits X @ coef_.T + intercept_.

        Returns
        -------
        ndarray of shape (n_samples,) for two classes (positive: classes_[1]), else
        (n_samples, n_classes); float64
        """
        logits = self._logits(X)
        return logits[:, 0] if logits.shape[1] == 1 else logits

    def predict_proba(self, X):
        """Class probabilities, columns in the order of classes_.

        Returns
        -------
        ndarray of shape (n_samples, n_classes), float64, rows summing to 1
        """
        X = self._validate_X(X)
        p = _affine(X, self.coef_, self.intercept_, kernels.bias_sigmoid)
        if p.shape[1] == 1:
            return np.hstack([1.0 - p, p])
        return p / p.sum(axis=1, keepdims=True)

    def predict(self, X):
        """The class of the largest logit (two classes: classes_[1] where the logit is
        positive); shape (n_samples,), of classes_' dtype."""
        logits = self._logits(X)
        best = (logits[:, 0] > 0) if logits.shape[1] == 1 else logits.argmax(axis=1)
        return self.classes_[best.astype(np.intp)]


# -- a small classification network -------------------------------------------------

class MLPClassifier(neural_network.MLPClassifier):
    """Dense ReLU hidden layers and a softmax output, trained on the cross-entropy.

    :class:`nnkernels.neural_network.MLPClassifier` with the workshop's parameter names
    and defaults: the iris network, 4 -> 32 ReLU -> 3, trained full batch by Adam
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


#: Checks of sklearn.utils.estimator_checks expected to fail, per estimator, with the
#: reason (used by tests/test_linear_model.py through parametrize_with_checks).
EXPECTED_FAILED_CHECKS = {"LinearRegression": {}, "LogisticRegression": {}}
