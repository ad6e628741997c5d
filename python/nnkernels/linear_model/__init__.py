"""Linear and logistic regression: scikit-learn estimators computed by nnkernels'
kernels.

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

The SGD solvers train on standardised features (and, for regression, a
standardised target) and fold the scaling back into ``coef_`` and ``intercept_``:
the fitted model is the same affine function of the inputs, but the learning rate
no longer depends on the units of the data, and features of any magnitude (1e6,
say) train as well as features in [0, 1].
"""
from nnkernels._extras import require

require("sklearn", extra="sklearn", feature="nnkernels.linear_model")

from nnkernels.linear_model._linear import LinearRegression
from nnkernels.linear_model._logistic import LogisticRegression, logistic_loss_and_grad

__all__ = ["LinearRegression", "LogisticRegression", "logistic_loss_and_grad"]

#: Checks of sklearn.utils.estimator_checks expected to fail, per estimator, with the
#: reason (used by tests/test_linear_model.py through parametrize_with_checks).
EXPECTED_FAILED_CHECKS = {"LinearRegression": {}, "LogisticRegression": {}}
