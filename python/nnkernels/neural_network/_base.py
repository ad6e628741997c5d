"""What MLPClassifier and MLPRegressor share: parameter checks, the network, fit and
partial_fit over :meth:`nnkernels.Sequential.fit`, scikit-learn's stopping rules."""
import numbers
import warnings

import numpy as np
from scipy import sparse
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split
from sklearn.utils.validation import check_is_fitted, validate_data

from nnkernels import optimizers
from nnkernels.activations import SIGMOID, SKLEARN_NAMES, from_sklearn
from nnkernels._checks import hyperparameter, learning_rate, positive_int
from nnkernels._random import random_generator
from nnkernels.callbacks import Callback
from nnkernels.formats import onnx_export
from nnkernels.layers import Dense
from nnkernels.optimizers import SGD, Adam, RMSProp
from nnkernels.sequential import Sequential


_SOLVERS = ("adam", "rmsprop", "sgd")


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
        known = isinstance(self.activation, str) and self.activation in SKLEARN_NAMES
        if not known:
            expected = f"one of {tuple(SKLEARN_NAMES)}"
            if self.activation == "tanh":
                expected += " ('tanh' has no nnkernels kernel)"
            raise self._error("activation", expected, self.activation)
        if self.solver not in _SOLVERS:
            raise self._error("solver", f"one of {_SOLVERS}", self.solver)
        hyperparameter(name, "alpha", self.alpha, low=0)
        learning_rate(name, self.learning_rate_init, "learning_rate_init")
        hyperparameter(name, "tol", self.tol, low=0)
        hyperparameter(name, "momentum", self.momentum, low=0, high=1, high_open=True)
        hyperparameter(name, "validation_fraction", self.validation_fraction, low=0,
                       high=1, low_open=True, high_open=True)
        for beta in ("beta_1", "beta_2"):
            hyperparameter(name, beta, getattr(self, beta), low=0, high=1, high_open=True)
        hyperparameter(name, "epsilon", self.epsilon, low=0, low_open=True)
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
        hidden = from_sklearn(self.activation).name
        inits = self._layer_inits(len(sizes) - 1)
        layers = [Dense(a, b, activation=hidden if i < len(sizes) - 2 else None,
                        init=inits[i], dtype=X.dtype, seed=rng)
                  for i, (a, b) in enumerate(zip(sizes, sizes[1:]))]
        if from_sklearn(self.activation) is SIGMOID and inits[0] == "glorot_uniform":
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
            hidden = from_sklearn(self.activation).name
            layers = [Dense(w.shape[0], w.shape[1], activation=hidden, dtype=w.dtype)
                      for w in self.coefs_]
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
            optimizer = optimizers.from_type(state["type"])(**state["hyperparameters"])
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
        rng = random_generator(self.random_state)
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


def _export_onnx(onnx, estimator):
    """The graph of the estimator's network; classifiers add label = classes_[argmax]."""
    check_is_fitted(estimator, "coefs_")
    network = estimator.model_
    graph = onnx_export.Graph(onnx, network.dtype)
    out, name = onnx_export.sequential(graph, network)
    graph.output(name, onnx_export.ELEM_TYPES[graph.dtype], ["batch", network.out_features])
    if hasattr(estimator, "classes_"):
        onnx_export.label(graph, onnx_export.argmax(graph, out), estimator.classes_)
    return graph, network.in_features, {"estimator": type(estimator).__name__,
                                        **network.get_config()}


onnx_export.register_exporter(_BaseMLP, _export_onnx)
