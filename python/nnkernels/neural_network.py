"""scikit-learn's MLPClassifier and MLPRegressor, trained by nnkernels' compiled plan.

Drop-in replacements for :mod:`sklearn.neural_network`'s estimators: the same
parameter names, defaults and fitted attributes, built on :class:`sklearn.base.BaseEstimator`
and :func:`sklearn.utils.validation.validate_data`, so that they work in ``Pipeline``,
``GridSearchCV``, ``cross_val_score`` and with pandas DataFrames. The network is a
:class:`nnkernels.Sequential` of :class:`nnkernels.Dense` layers; ``fit`` runs
:meth:`nnkernels.Sequential.fit`.

Shapes and dtypes
-----------------
X : array-like or sparse matrix of shape (n_samples, n_features)
    Real numbers. As in scikit-learn, float32 input is computed in float32 and
    everything else in float64 (the network's dtype is fixed by the first ``fit``;
    later inputs are converted to it). Sparse input is densified.
y : MLPClassifier: shape (n_samples,), any labels; MLPRegressor: shape (n_samples,)
    or (n_samples, n_outputs), real numbers.
coefs_[i] : ndarray of shape (layer_units[i], layer_units[i + 1]); intercepts_[i] :
    ndarray of shape (layer_units[i + 1],); both of the network's dtype and views of
    its parameters.

How they differ from scikit-learn's
-----------------------------------
- ``solver`` is "adam", "rmsprop" or "sgd" (constant learning rate; SGD with
  ``momentum`` and ``nesterovs_momentum``); "lbfgs", ``learning_rate``, ``power_t``,
  ``max_fun`` and ``sample_weight`` are not supported. ``activation`` is "relu",
  "logistic" or "identity" ("tanh" has no kernel).
- ``alpha``: scikit-learn adds ``alpha * W / n_batch`` to the gradient of each
  weight matrix W. Here the compiled plan applies one weight decay to every
  parameter: ``alpha / batch_size`` (``batch_size`` the nominal size, also for the
  last, smaller batch of an epoch) to the weights *and to the intercepts*. With
  the default alpha=1e-4 and batch 200 that shrinks an intercept by at most 5e-7 of
  its value per step (Adam, RMSProp: of the normalised step).
- The classifier has a softmax output also for two classes (scikit-learn: one
  logistic unit); ``predict_proba`` has the same (n_samples, 2) shape either way.
- Weights start Glorot-uniform as in scikit-learn (the bound sqrt(6 / (fan_in +
  fan_out)), sqrt(2 / ...) for "logistic"), intercepts at zero (scikit-learn:
  drawn like the weights).
- ``loss_curve_`` holds what scikit-learn's holds: the mean over the epoch's
  batches of the data loss (cross-entropy; regressor: squared error / 2, that is
  the MSE / 2) plus ``0.5 * alpha * sum(||W||^2) / batch_size``, the penalty
  computed with the weights at the end of the epoch.
- Early stopping, ``tol``, ``n_iter_no_change``, ``warm_start``, ``partial_fit``
  and ``random_state`` follow scikit-learn's rules; the random streams differ.
"""
import numbers
import warnings

import numpy as np

try:
    from scipy import sparse
    from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.metrics import r2_score
    from sklearn.model_selection import train_test_split
    from sklearn.utils.multiclass import (_check_partial_fit_first_call,
                                          check_classification_targets)
    from sklearn.utils.validation import check_is_fitted, column_or_1d, validate_data
except ImportError as exc:  # scikit-learn is an optional extra
    raise ImportError('nnkernels.neural_network needs scikit-learn; install it with '
                      'pip install "nnkernels[sklearn]"') from exc

from nnkernels._checks import positive_int
from nnkernels._validation import check_hyperparameter
from nnkernels.callbacks import Callback
from nnkernels.layers import Dense
from nnkernels.model import Sequential
from nnkernels.optimizers import SGD, Adam, RMSProp

__all__ = ["MLPClassifier", "MLPRegressor"]

_ACTIVATIONS = {"relu": "relu", "logistic": "sigmoid", "identity": None}
_SOLVERS = ("adam", "rmsprop", "sgd")
_OPTIMIZER_TYPES = {cls.__name__: cls for cls in (Adam, RMSProp, SGD)}


def _rng(random_state):
    """A numpy Generator from an int, None, a Generator or a RandomState."""
    if isinstance(random_state, np.random.RandomState):
        return np.random.default_rng(random_state.randint(np.iinfo(np.int32).max))
    return np.random.default_rng(random_state)


class _SklearnStopping(Callback):
    """scikit-learn's end-of-epoch bookkeeping and stopping rule, on the estimator.

    Not :class:`nnkernels.callbacks.EarlyStopping`: scikit-learn tracks the best value
    even when it improves by less than ``tol`` and saves the best weights on any
    improvement, and its loss curve adds the L2 penalty.
    """

    def __init__(self, estimator, validation, n_samples, incremental):
        self.est, self.validation = estimator, validation
        self.n_samples, self.incremental = n_samples, incremental
        self.best_weights = None

    def on_epoch_end(self, epoch, logs):
        est = self.est
        est.loss_ = logs["loss"] * est._loss_factor + est._penalty()
        est.loss_curve_.append(est.loss_)
        est.n_iter_ += 1
        est.t_ += self.n_samples
        if est.verbose:
            print(f"Iteration {est.n_iter_}, loss = {est.loss_:.8f}")
        if self.validation is not None:
            improved = self._validation_step(est)
        else:
            improved = est.loss_ <= est.best_loss_ - est.tol
            est.best_loss_ = min(est.best_loss_, est.loss_)
        est._no_improvement_count = 0 if improved else est._no_improvement_count + 1
        if est._no_improvement_count > est.n_iter_no_change and not self.incremental:
            what = "Validation score" if self.validation is not None else "Training loss"
            if est.verbose:
                print(f"{what} did not improve more than tol={est.tol:f} for "
                      f"{est.n_iter_no_change} consecutive epochs. Stopping.")
            self.model.stop_training = True

    def _validation_step(self, est):
        score = est._validation_score(*self.validation)
        est.validation_scores_.append(score)
        if est.verbose:
            print(f"Validation score: {score:f}")
        improved = score >= est.best_validation_score_ + est.tol
        if score > est.best_validation_score_:
            est.best_validation_score_ = score
            self.best_weights = self.model.get_weights()
        return improved


class _BaseMLP(BaseEstimator):
    """What MLPClassifier and MLPRegressor share; see the module notes."""

    _loss = None         # the nnkernels loss of the output layer
    _loss_factor = 1.0   # loss_curve_ = factor * the nnkernels loss + the penalty
    _warn_at_max_iter = True  # ConvergenceWarning when max_iter epochs ran

    def __init__(self, hidden_layer_sizes=(100,), activation="relu", *, solver="adam",
                 alpha=0.0001, batch_size="auto", learning_rate_init=0.001, max_iter=200,
                 shuffle=True, random_state=None, tol=1e-4, verbose=False,
                 warm_start=False, momentum=0.9, nesterovs_momentum=True,
                 early_stopping=False, validation_fraction=0.1, beta_1=0.9, beta_2=0.999,
                 epsilon=1e-8, n_iter_no_change=10):
        self.hidden_layer_sizes = hidden_layer_sizes
        self.activation = activation
        self.solver = solver
        self.alpha = alpha
        self.batch_size = batch_size
        self.learning_rate_init = learning_rate_init
        self.max_iter = max_iter
        self.shuffle = shuffle
        self.random_state = random_state
        self.tol = tol
        self.verbose = verbose
        self.warm_start = warm_start
        self.momentum = momentum
        self.nesterovs_momentum = nesterovs_momentum
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.beta_1 = beta_1
        self.beta_2 = beta_2
        self.epsilon = epsilon
        self.n_iter_no_change = n_iter_no_change

    # -- parameters --------------------------------------------------------------------

    def _error(self, name, expected, value):
        return ValueError(f"{type(self).__name__}: '{name}' must be {expected}; "
                          f"got {value!r}")

    def _positive_int(self, name, value):
        return positive_int(type(self).__name__, name, value)

    def _hidden_sizes(self):
        """hidden_layer_sizes as a list of ints >= 1."""
        sizes = self.hidden_layer_sizes
        if isinstance(sizes, numbers.Integral):
            sizes = (sizes,)
        try:
            sizes = list(sizes)
        except TypeError:
            raise self._error("hidden_layer_sizes", "an int or a sequence of ints >= 1",
                              self.hidden_layer_sizes) from None
        if not all(isinstance(s, numbers.Integral) and not isinstance(s, bool) and s >= 1
                   for s in sizes):
            raise self._error("hidden_layer_sizes", "an int or a sequence of ints >= 1",
                              self.hidden_layer_sizes)
        return [int(s) for s in sizes]

    def _check_params(self):
        name = type(self).__name__
        self._hidden_sizes()
        if self.activation not in _ACTIVATIONS:
            expected = f"one of {tuple(_ACTIVATIONS)}"
            if self.activation == "tanh":
                expected += " ('tanh' has no nnkernels kernel)"
            raise self._error("activation", expected, self.activation)
        if self.solver not in _SOLVERS:
            raise self._error("solver", f"one of {_SOLVERS}", self.solver)
        check_hyperparameter(name, "alpha", self.alpha, low=0)
        check_hyperparameter(name, "learning_rate_init", self.learning_rate_init, low=0,
                             low_open=True)
        check_hyperparameter(name, "tol", self.tol, low=0)
        check_hyperparameter(name, "momentum", self.momentum, low=0, high=1, high_open=True)
        check_hyperparameter(name, "validation_fraction", self.validation_fraction, low=0,
                             high=1, low_open=True, high_open=True)
        for beta in ("beta_1", "beta_2"):
            check_hyperparameter(name, beta, getattr(self, beta), low=0, high=1,
                                 high_open=True)
        check_hyperparameter(name, "epsilon", self.epsilon, low=0, low_open=True)
        self._positive_int("max_iter", self.max_iter)
        self._positive_int("n_iter_no_change", self.n_iter_no_change)

    def _batch_rows(self, n_samples):
        """The batch size for n_samples rows: "auto" is min(200, n_samples)."""
        if isinstance(self.batch_size, str) and self.batch_size == "auto":
            return min(200, n_samples)
        size = self._positive_int("batch_size", self.batch_size)
        if size > n_samples:
            warnings.warn("Got `batch_size` less than 1 or larger than sample size. It is "
                          "going to be clipped", UserWarning, stacklevel=4)
        return min(size, n_samples)

    def _layer_inits(self, n_layers):
        """The Dense initializer of each layer (scikit-learn's Glorot-uniform)."""
        return ["glorot_uniform"] * n_layers

    def _optimizer(self, batch):
        """A fresh optimizer for `batch` rows per step; see the module notes on alpha."""
        scale = self._gradient_scale()
        decay = self.alpha / batch * scale
        if self.solver == "adam":
            return Adam(lr=self.learning_rate_init, beta1=self.beta_1, beta2=self.beta_2,
                        eps=self.epsilon, weight_decay=decay)
        if self.solver == "rmsprop":
            return RMSProp(lr=self.learning_rate_init, eps=self.epsilon, weight_decay=decay)
        nesterov = bool(self.nesterovs_momentum) and self.momentum > 0
        return SGD(lr=self.learning_rate_init / scale, momentum=self.momentum,
                   weight_decay=decay, nesterov=nesterov)

    def _gradient_scale(self):
        """How much larger nnkernels' loss gradient is than scikit-learn's."""
        return 1.0

    # -- the network -------------------------------------------------------------------

    def _initialize(self, X, n_outputs, rng):
        """A new network for X (n_samples, n_features) and n_outputs outputs."""
        sizes = [X.shape[1], *self._hidden_sizes(), n_outputs]
        hidden = _ACTIVATIONS[self.activation]
        inits = self._layer_inits(len(sizes) - 1)
        layers = [Dense(a, b, activation=hidden if i < len(sizes) - 2 else None,
                        init=inits[i], dtype=X.dtype, seed=rng)
                  for i, (a, b) in enumerate(zip(sizes, sizes[1:]))]
        if self.activation == "logistic" and inits[0] == "glorot_uniform":
            for layer in layers:  # scikit-learn's bound sqrt(2 / (fan_in + fan_out))
                layer.weight.data *= np.sqrt(1 / 3)
        self._model = Sequential(layers)
        self._adopt_parameters()
        self.n_layers_ = len(sizes)
        self.n_outputs_ = n_outputs
        self.n_iter_ = self.t_ = 0
        self.loss_curve_ = []
        self._no_improvement_count = 0
        self.validation_scores_ = [] if self.early_stopping else None
        self.best_validation_score_ = -np.inf if self.early_stopping else None
        self.best_loss_ = None if self.early_stopping else np.inf

    def _adopt_parameters(self):
        self.coefs_ = [layer.weight.data for layer in self._model.layers]
        self.intercepts_ = [layer.bias.data for layer in self._model.layers]

    def _network(self):
        """The Sequential behind coefs_ and intercepts_ (rebuilt after unpickling; a
        replaced coefs_ or intercepts_ array is copied in)."""
        check_is_fitted(self, "coefs_")
        model = self.__dict__.get("_model")
        if model is None:
            layers = [Dense(w.shape[0], w.shape[1], activation=_ACTIVATIONS[self.activation],
                            dtype=w.dtype) for w in self.coefs_]
            layers[-1] = Dense(*self.coefs_[-1].shape, activation=None,
                               dtype=self.coefs_[-1].dtype)
            model = self._model = Sequential(layers)
        stale = False
        for layer, w, b in zip(model.layers, self.coefs_, self.intercepts_):
            for param, value in ((layer.weight, w), (layer.bias, b)):
                if value is not param.data:
                    param.data[...] = value
                    stale = True
        if stale:
            self._adopt_parameters()
        state = self.__dict__.pop("_optimizer_state", None)
        if state is not None:
            optimizer = _OPTIMIZER_TYPES[state["type"]](**state["hyperparameters"])
            model.compile(optimizer, self._loss)
            model.optimizer.load_state_dict(state)
        return model

    @property
    def model_(self):
        """The trained :class:`nnkernels.Sequential` (its weights are coefs_ and
        intercepts_)."""
        return self._network()

    def __getstate__(self):
        state = dict(super().__getstate__())  # a copy: self keeps its network
        model = state.pop("_model", None)
        if model is not None and model.optimizer is not None:
            state["_optimizer_state"] = model.optimizer.state_dict()
        return state

    def _penalty(self):
        """scikit-learn's L2 term of the loss: 0.5 * alpha * sum ||W||^2 / batch_size."""
        squares = sum(float(np.dot(w.ravel(), w.ravel())) for w in self.coefs_)
        return 0.5 * self.alpha * squares / self._batch

    # -- training ----------------------------------------------------------------------

    def _fit(self, X, y, incremental, classes=None):
        self._check_params()
        first = not hasattr(self, "coefs_") or (not self.warm_start and not incremental)
        X, targets = self._validate_input(X, y, first, incremental, classes)
        if sparse.issparse(X):
            X = X.toarray()
        rng = _rng(self.random_state)
        if first:
            self._initialize(X, self._n_outputs(targets), rng)
        model = self._network()
        validation = None
        if self.early_stopping and not incremental:
            validation, X, targets = self._split(X, targets, rng)
        self._batch = self._batch_rows(X.shape[0])
        if not incremental or model.optimizer is None:
            model.compile(self._optimizer(self._batch), self._loss)
        else:  # partial_fit: the same optimizer state, the current settings
            settings = self._optimizer(self._batch)
            model.optimizer.lr = settings.lr
            model.optimizer.weight_decay = settings.weight_decay
        stopping = _SklearnStopping(self, validation, X.shape[0], incremental)
        if not incremental:
            self.n_iter_ = 0
        model.fit(X, targets, epochs=1 if incremental else self.max_iter,
                  batch_size=self._batch, shuffle=bool(self.shuffle), seed=rng,
                  callbacks=[stopping], verbose=0)
        if stopping.best_weights is not None:
            model.set_weights(stopping.best_weights)
        if (self._warn_at_max_iter and not incremental and self.n_iter_ == self.max_iter
                and not model.stop_training):
            warnings.warn(f"Stochastic Optimizer: Maximum iterations ({self.max_iter}) "
                          "reached and the optimization hasn't converged yet.",
                          ConvergenceWarning, stacklevel=3)
        return self

    def _split(self, X, targets, rng):
        """((X_val, y_val), X_train, y_train): scikit-learn's validation split."""
        stratify = targets if isinstance(self, ClassifierMixin) else None
        X, X_val, targets, t_val = train_test_split(
            X, targets, test_size=self.validation_fraction, stratify=stratify,
            random_state=int(rng.integers(np.iinfo(np.int32).max)))
        return (X_val, t_val), X, targets

    def _forward(self, X):
        """The network's output for X: (n_samples, n_outputs_) of its dtype."""
        model = self._network()
        X = validate_data(self, X, accept_sparse=["csr", "csc"],
                          dtype=(np.float64, np.float32), reset=False)
        if sparse.issparse(X):
            X = X.toarray()
        return model.predict(X)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        return tags


class MLPClassifier(ClassifierMixin, _BaseMLP):
    """Multi-layer perceptron classifier: scikit-learn's, on nnkernels' kernels.

    Parameters and attributes are scikit-learn's
    (:class:`sklearn.neural_network.MLPClassifier`); see the module notes for how
    they differ. The output layer is a softmax over ``classes_`` (also for two
    classes), trained on the mean cross-entropy.

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
    coefs_, intercepts_ : lists of ndarrays (see the module notes for shapes)
    loss_, loss_curve_, best_loss_, validation_scores_, best_validation_score_
    n_iter_, t_, n_layers_, n_outputs_ (= n_classes), out_activation_ ("softmax")
    n_features_in_, feature_names_in_ (for DataFrames with string column names)
    model_ : the trained :class:`nnkernels.Sequential`

    Notes
    -----
    scikit-learn's ``check_estimator`` passes except for the checks listed in
    ``EXPECTED_FAILED_CHECKS`` (none today).
    """

    _loss = "softmax_cross_entropy"
    out_activation_ = "softmax"

    def fit(self, X, y):
        """Train from the start (or from the current weights with warm_start).

        X : (n_samples, n_features) real numbers; y : (n_samples,) labels. Returns self.
        """
        return self._fit(X, y, incremental=False)

    def partial_fit(self, X, y, classes=None):
        """One epoch over (X, y) from the current weights and optimizer state.

        classes : array-like, required on the first call: every label y may hold.
        """
        _check_partial_fit_first_call(self, classes)  # sets classes_ on the first call
        return self._fit(X, y, incremental=True)

    def _validate_input(self, X, y, reset, incremental, classes):
        X, y = validate_data(self, X, y, accept_sparse=["csr", "csc"],
                             dtype=(np.float64, np.float32), reset=reset)
        check_classification_targets(y)
        labels = np.unique(y)
        if incremental or not reset:  # classes_ known (the first partial_fit sets them)
            self._check_same_classes(labels, incremental)
        else:
            self.classes_ = labels
        return X, np.searchsorted(self.classes_, y).astype(np.int64)

    def _check_same_classes(self, labels, incremental):
        if not incremental and set(labels) != set(self.classes_):
            raise ValueError("warm_start can only be used where `y` has the same classes "
                             f"as in the previous call to fit. Previously got "
                             f"{self.classes_}, `y` has {labels}")
        if incremental and np.setdiff1d(labels, self.classes_).size:
            raise ValueError(f"`y` has classes not in `self.classes_`. `self.classes_` has "
                             f"{self.classes_}. 'y' has {labels}.")

    def _n_outputs(self, targets):
        return len(self.classes_)

    def _validation_score(self, X_val, t_val):
        return float(np.mean(self._model.predict(X_val).argmax(axis=1) == t_val))

    def predict_proba(self, X):
        """Class probabilities: (n_samples, n_classes) of the network's dtype, columns in
        the order of classes_."""
        return self._forward(X)

    def predict_log_proba(self, X):
        """log(predict_proba(X))."""
        with np.errstate(divide="ignore"):
            return np.log(self.predict_proba(X))

    def predict(self, X):
        """The most probable class of each sample: (n_samples,) of classes_' dtype."""
        best = self.predict_proba(X).argmax(axis=1)  # checks first that self is fitted
        return self.classes_[best]


class MLPRegressor(RegressorMixin, _BaseMLP):
    """Multi-layer perceptron regressor: scikit-learn's, on nnkernels' kernels.

    Parameters and attributes are scikit-learn's
    (:class:`sklearn.neural_network.MLPRegressor`); see the module notes for how
    they differ. Identity output, trained on the mean squared error; ``loss_curve_``
    holds half the MSE (plus the penalty), as scikit-learn's does. One or several
    outputs.

    Notes
    -----
    scikit-learn's ``check_estimator`` passes except for the checks listed in
    ``EXPECTED_FAILED_CHECKS`` (none today).
    """

    _loss = "mse"
    _loss_factor = 0.5
    out_activation_ = "identity"

    def fit(self, X, y):
        """Train from the start (or from the current weights with warm_start).

        X : (n_samples, n_features); y : (n_samples,) or (n_samples, n_outputs). Returns
        self.
        """
        return self._fit(X, y, incremental=False)

    def partial_fit(self, X, y):
        """One epoch over (X, y) from the current weights and optimizer state."""
        return self._fit(X, y, incremental=True)

    def _validate_input(self, X, y, reset, incremental, classes):
        X, y = validate_data(self, X, y, accept_sparse=["csr", "csc"], multi_output=True,
                             y_numeric=True, dtype=(np.float64, np.float32), reset=reset)
        if y.ndim == 2 and y.shape[1] == 1:
            y = column_or_1d(y, warn=True)
        return X, y.reshape(len(y), -1)

    def _n_outputs(self, targets):
        return targets.shape[1]

    def _gradient_scale(self):
        # nnkernels' MSE is mean((pred - y)^2) over all n * m entries: its gradient is
        # 2 / m times scikit-learn's (of sum((pred - y)^2) / (2 n)).
        return 2.0 / self.n_outputs_

    def _validation_score(self, X_val, t_val):
        return float(r2_score(t_val, self._model.predict(X_val)))

    def predict(self, X):
        """(n_samples,) for one output, else (n_samples, n_outputs); the network's dtype."""
        out = self._forward(X)
        return out.ravel() if out.shape[1] == 1 else out

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        tags.target_tags.single_output = True
        return tags


#: Checks of sklearn.utils.estimator_checks expected to fail, with the reason
#: (used by tests/test_neural_network.py through parametrize_with_checks).
EXPECTED_FAILED_CHECKS = {}
