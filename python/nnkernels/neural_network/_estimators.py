"""MLPClassifier and MLPRegressor (see the package's docstring)."""
import numpy as np
from sklearn.base import ClassifierMixin, RegressorMixin
from sklearn.metrics import r2_score
from sklearn.utils.multiclass import (_check_partial_fit_first_call,
                                      check_classification_targets)
from sklearn.utils.validation import column_or_1d, validate_data

from nnkernels.neural_network._base import _BaseMLP


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

