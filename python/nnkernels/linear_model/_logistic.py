"""LogisticRegression: L-BFGS-B, minibatch SGD or the workshop's per-sample training on
the fused sigmoid + binary cross-entropy kernel."""
import warnings

import numpy as np
from scipy.optimize import minimize
from sklearn.base import ClassifierMixin
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted, validate_data

import nnkernels.kernels as kernels
from nnkernels._checks import hyperparameter, positive_int
from nnkernels._random import random_generator
from nnkernels.formats import onnx_export
from nnkernels.losses import SigmoidBinaryCrossEntropy
from nnkernels.linear_model._base import (_LinearModel, _affine, _standardize,
                                         _train_linear_unit, _unstandardize)


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
        super().__init__(solver=solver, lr=lr, epochs=epochs, batch_size=batch_size,
                         momentum=momentum, random_state=random_state)
        self.tol = tol
        self.max_iter = max_iter

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
            rng = random_generator(self.random_state)
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
            hyperparameter("LogisticRegression", "tol", self.tol, low=0, low_open=True)
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
                                           seed=random_generator(self.random_state))
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


def _onnx_graph(graph, model):
    """LogisticRegression: probabilities as predict_proba, label as predict."""
    logits = graph.dense("input", np.atleast_2d(model.coef_), np.atleast_1d(model.intercept_),
                         "0")
    p = graph.node("Sigmoid", [logits], "sigmoid")
    n_classes = len(model.classes_)
    if n_classes == 2:  # [1 - p, p]; the label where the logit is > 0, as predict
        one = graph.constant("one", np.ones((1, 1), graph.dtype))
        q = graph.node("Sub", [one, p], "complement")
        graph.node("Concat", [q, p], "probabilities", axis=1)
        zero = graph.constant("zero", np.zeros((1, 1), graph.dtype))
        positive = graph.node("Greater", [logits, zero], "positive")
        flat = graph.constant("flat", np.array([-1], np.int64))
        positive = graph.node("Reshape", [positive, flat], "positive_flat")
        index = graph.node("Cast", [positive], "class_index", to=graph.onnx.TensorProto.INT64)
    else:  # one-vs-rest: the sigmoids normalised; the label of the largest logit
        axes = graph.constant("axes", np.array([1], np.int64))
        total = graph.node("ReduceSum", [p, axes], "sigmoid_sum", keepdims=1)
        graph.node("Div", [p, total], "probabilities")
        index = onnx_export.argmax(graph, logits)
    graph.output("probabilities", onnx_export.ELEM_TYPES[graph.dtype], ["batch", n_classes])
    onnx_export.label(graph, index, model.classes_)


def _export_onnx(onnx, model):
    check_is_fitted(model)
    graph = onnx_export.Graph(onnx, np.float64)
    _onnx_graph(graph, model)
    return graph, model.n_features_in_, {"estimator": "LogisticRegression"}


onnx_export.register_exporter(LogisticRegression, _export_onnx)
