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
from nnkernels._extras import require

require("sklearn", extra="sklearn", feature="nnkernels.neural_network")

from nnkernels.neural_network._estimators import (  # noqa: F401 (EXPECTED_FAILED_CHECKS)
    EXPECTED_FAILED_CHECKS, MLPClassifier, MLPRegressor)

# EXPECTED_FAILED_CHECKS (for the tests' check_estimator run) is importable but not
# public: it stays out of __all__.
__all__ = ["MLPClassifier", "MLPRegressor"]
