"""LinearRegression: least squares by minibatch SGD through the kernels, or closed form."""
import numpy as np
from sklearn.base import RegressorMixin
from sklearn.utils.validation import check_is_fitted, validate_data

from nnkernels._random import random_generator
from nnkernels.formats import onnx_export
from nnkernels.losses import MeanSquaredError
from nnkernels.linear_model._base import (_LinearModel, _standardize, _train_linear_unit,
                                         _unstandardize)


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
    lr : float >= 0, default 0.05
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
        super().__init__(solver=solver, lr=lr, epochs=epochs, batch_size=batch_size,
                         momentum=momentum, random_state=random_state)

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
                                           seed=random_generator(self.random_state))
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


def _export_onnx(onnx, model):
    """predictions (batch, 1) = Gemm(input, coef_, intercept_)."""
    check_is_fitted(model)
    graph = onnx_export.Graph(onnx, np.float64)
    graph.node("Identity", [graph.dense("input", np.reshape(model.coef_, (1, -1)),
                                        [model.intercept_], "0")], "predictions")
    graph.output("predictions", onnx.TensorProto.DOUBLE, ["batch", 1])
    return graph, model.n_features_in_, {"estimator": "LinearRegression"}


onnx_export.register_exporter(LinearRegression, _export_onnx)
