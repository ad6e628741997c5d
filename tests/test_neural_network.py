"""nnkernels.neural_network: scikit-learn's own estimator checks, its tools (Pipeline,
GridSearchCV, cross_val_score, pandas), accuracy against scikit-learn's MLPClassifier,
partial_fit, warm_start, early stopping and the parameter errors.

scikit-learn is an optional extra: without it these tests skip, except under CI=true,
where a missing scikit-learn fails the run.
"""
import os
import pickle
import warnings

import numpy as np
import pytest

if os.environ.get("CI"):
    import sklearn  # noqa: F401  (CI: a missing scikit-learn is an error, not a skip)
else:
    pytest.importorskip("sklearn", reason='needs scikit-learn: pip install "nnkernels[sklearn]"')

from sklearn.datasets import load_digits, load_iris
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import GridSearchCV, cross_val_score, train_test_split
from sklearn.neural_network import MLPClassifier as SkMLPClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils.estimator_checks import parametrize_with_checks

from nnkernels import neural_network
from nnkernels._random import random_generator
from nnkernels.neural_network import MLPClassifier, MLPRegressor

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")


# -- scikit-learn's estimator checks -------------------------------------------------
# No check is marked as an expected failure today: EXPECTED_FAILED_CHECKS is empty (a
# check added there must say why, and is listed in the estimators' docstrings).

@parametrize_with_checks(
    [MLPClassifier(max_iter=100, random_state=0), MLPRegressor(max_iter=100, random_state=0)],
    expected_failed_checks=lambda est: neural_network.EXPECTED_FAILED_CHECKS)
def test_sklearn_compatible_estimator(estimator, check):
    check(estimator)


# -- scikit-learn's tools ------------------------------------------------------------

@pytest.fixture(scope="module")
def digits():
    X, y = load_digits(return_X_y=True)
    return train_test_split(X / 16.0, y, test_size=0.25, random_state=0, stratify=y)


def test_pipeline_grid_search_and_cross_val_score():
    X, y = load_iris(return_X_y=True)
    pipe = make_pipeline(StandardScaler(), MLPClassifier(learning_rate_init=0.01, random_state=0))
    scores = cross_val_score(pipe, X, y, cv=3)
    assert scores.shape == (3,) and scores.min() > 0.85
    search = GridSearchCV(pipe, {"mlpclassifier__hidden_layer_sizes": [(8,), (32,)],
                                 "mlpclassifier__alpha": [1e-4, 1e-2]}, cv=3).fit(X, y)
    assert search.best_score_ > 0.9
    assert search.best_estimator_[-1].coefs_[0].shape[1] in (8, 32)


def test_pandas_input_sets_feature_names():
    if os.environ.get("CI"):
        import pandas as pd  # CI: the test extra installs it; missing is an error
    else:
        pd = pytest.importorskip("pandas")
    X, y = load_iris(return_X_y=True, as_frame=True)
    model = MLPClassifier(max_iter=50, random_state=0).fit(X, y)
    assert model.feature_names_in_.tolist() == list(X.columns)
    assert model.predict(X.iloc[:5]).shape == (5,)
    with pytest.warns(UserWarning, match="feature names"):
        model.predict(X.to_numpy()[:5])
    target = pd.Series(X["petal length (cm)"])
    reg = MLPRegressor(max_iter=50, random_state=0).fit(X.drop(columns=target.name), target)
    assert reg.predict(X.drop(columns=target.name)).shape == (150,)


def test_accuracy_on_digits_comparable_to_scikit_learn(digits):
    X, X_test, y, y_test = digits
    settings = dict(hidden_layer_sizes=(64,), max_iter=30, random_state=0)
    ours = MLPClassifier(**settings).fit(X, y).score(X_test, y_test)
    theirs = SkMLPClassifier(**settings).fit(X, y).score(X_test, y_test)
    assert ours > 0.92 and ours >= theirs - 0.02, (ours, theirs)


def test_fitted_attributes_have_scikit_learn_shapes(digits):
    X, _, y, _ = digits
    model = MLPClassifier(hidden_layer_sizes=(20, 10), max_iter=3, random_state=0).fit(X, y)
    assert [w.shape for w in model.coefs_] == [(64, 20), (20, 10), (10, 10)]
    assert [b.shape for b in model.intercepts_] == [(20,), (10,), (10,)]
    assert model.coefs_[0].dtype == np.float64 and model.n_layers_ == 4
    assert model.n_iter_ == 3 == len(model.loss_curve_) and model.n_features_in_ == 64
    assert model.classes_.tolist() == list(range(10)) and model.out_activation_ == "softmax"
    assert model.loss_ == model.loss_curve_[-1] and model.best_loss_ == min(model.loss_curve_)
    assert model.validation_scores_ is None
    proba = model.predict_proba(X)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    f32 = MLPClassifier(max_iter=2, random_state=0).fit(X.astype(np.float32), y)
    assert f32.coefs_[0].dtype == np.float32 and f32.predict_proba(X).dtype == np.float32


def test_loss_curve_is_scikit_learns_definition():
    """Regressor: MSE / 2 plus 0.5 * alpha * sum ||W||^2 / batch_size (full batch here,
    SGD without momentum and lr tiny: the weights barely move in one epoch)."""
    rng = np.random.default_rng(0)
    X, y = rng.standard_normal((50, 3)), rng.standard_normal(50)
    model = MLPRegressor(hidden_layer_sizes=(4,), solver="sgd", momentum=0.0, alpha=0.5,
                         learning_rate_init=1e-12, batch_size=50, max_iter=1,
                         shuffle=False, random_state=0).fit(X, y)
    pred = model.predict(X)
    penalty = 0.5 * 0.5 * sum((w ** 2).sum() for w in model.coefs_) / 50
    assert model.loss_curve_[0] == pytest.approx(((pred - y) ** 2).mean() / 2 + penalty,
                                                 rel=1e-9)


def test_regressor_multi_output_and_pickle():
    rng = np.random.default_rng(1)
    X = rng.standard_normal((200, 4))
    Y = np.column_stack([X[:, 0] + X[:, 1], X[:, 2] - X[:, 3]])
    model = MLPRegressor(hidden_layer_sizes=(32,), max_iter=300, random_state=0).fit(X, Y)
    assert model.predict(X).shape == (200, 2) and model.score(X, Y) > 0.95
    again = pickle.loads(pickle.dumps(model))
    np.testing.assert_array_equal(again.predict(X), model.predict(X))
    again.partial_fit(X, Y)  # the optimizer state came along
    assert again.model_.optimizer.iterations == model.model_.optimizer.iterations + 1


# -- partial_fit, warm_start, early_stopping ------------------------------------------

def test_partial_fit_needs_classes_first_and_continues(digits):
    X, X_test, y, y_test = digits
    model = MLPClassifier(hidden_layer_sizes=(32,), learning_rate_init=0.01, random_state=0)
    with pytest.raises(ValueError, match="classes must be passed on the first call"):
        model.partial_fit(X[:10], y[:10])
    model.partial_fit(X[:100], y[:100], classes=np.arange(10))
    steps = model.model_.optimizer.iterations
    for _ in range(10):
        model.partial_fit(X, y)
    assert model.model_.optimizer.iterations > steps and model.n_iter_ == 11
    assert model.score(X_test, y_test) > 0.9
    with pytest.raises(ValueError, match="`y` has classes not in `self.classes_`"):
        model.partial_fit(X[:3], [0, 1, 11])


def test_warm_start_continues_from_the_fitted_weights(digits):
    X, _, y, _ = digits
    model = MLPClassifier(hidden_layer_sizes=(16,), max_iter=2, warm_start=True,
                          random_state=0).fit(X, y)
    before = [w.copy() for w in model.coefs_]
    first_curve = list(model.loss_curve_)
    model.fit(X, y)
    assert len(model.loss_curve_) == 4 and model.loss_curve_[:2] == first_curve
    assert model.loss_curve_[2] < first_curve[0]  # continued, not restarted
    assert not np.array_equal(before[0], model.coefs_[0])
    cold = MLPClassifier(hidden_layer_sizes=(16,), max_iter=2, random_state=0).fit(X, y)
    cold.fit(X, y)
    assert cold.loss_curve_ == first_curve  # without warm_start: a fresh start
    with pytest.raises(ValueError, match="warm_start can only be used where `y` has the "
                                         "same classes"):
        model.fit(X[y < 5], y[y < 5])


def test_early_stopping_restores_the_best_weights(digits):
    X, _, y, _ = digits
    model = MLPClassifier(hidden_layer_sizes=(32,), early_stopping=True, n_iter_no_change=3,
                          validation_fraction=0.2, learning_rate_init=0.05, max_iter=200,
                          random_state=0).fit(X, y)
    scores = model.validation_scores_
    assert model.n_iter_ == len(scores) < 200 and model.best_loss_ is None
    assert model.best_validation_score_ == max(scores)
    best_epoch = int(np.argmax(scores))
    assert model.n_iter_ - 1 - best_epoch >= 3  # stopped after 3+ epochs without gain
    assert scores[-1] < max(scores)
    # the weights kept are the best epoch's: they score best_validation_score_ on the
    # validation split fit made
    X_val, y_val = _split_like_fit(model, X, y)
    assert model.score(X_val, y_val) == pytest.approx(model.best_validation_score_)


def _split_like_fit(model, X, y):
    """The validation split fit made: rebuild the Generator and skip the init draws."""
    est = MLPClassifier(**model.get_params())
    rng = random_generator(est.random_state)
    est._initialize(np.asarray(X, np.float64), len(np.unique(y)), rng)
    (X_val, y_val), _, _ = est._split(np.asarray(X, np.float64),
                                      np.searchsorted(np.unique(y), y), rng)
    return X_val, np.unique(y)[y_val]


def test_training_loss_stopping_rule():
    X, y = load_iris(return_X_y=True)
    settings = dict(hidden_layer_sizes=(8,), tol=10.0, n_iter_no_change=2, max_iter=100,
                    random_state=0)
    model = MLPClassifier(**settings).fit(X, y)
    # tol so large that only the first epoch counts as an improvement (over inf)
    assert model.n_iter_ == 4 == SkMLPClassifier(**settings).fit(X, y).n_iter_
    with pytest.warns(ConvergenceWarning, match=r"Maximum iterations \(2\) reached"):
        MLPClassifier(max_iter=2, random_state=0).fit(X, y)


# -- parameters ---------------------------------------------------------------------

@pytest.mark.parametrize("params, message", [
    ({"hidden_layer_sizes": (8, 0)}, r"'hidden_layer_sizes' must be an int or a sequence "
                                     r"of ints >= 1; got \(8, 0\)"),
    ({"hidden_layer_sizes": "wide"}, "'hidden_layer_sizes' must be .*; got 'wide'"),
    ({"activation": "tanh"}, r"'activation' must be one of .*no nnkernels kernel.*"
                             r"; got 'tanh'"),
    ({"solver": "lbfgs"}, r"'solver' must be one of \('adam', 'rmsprop', 'sgd'\); got "
                          r"'lbfgs'"),
    ({"alpha": -1.0}, r"'alpha' must be in \[0, inf\); got -1.0"),
    ({"learning_rate_init": -0.1}, r"'learning_rate_init' must be in \[0, inf\); got -0.1"),
    ({"max_iter": 0}, "'max_iter' must be an int >= 1; got 0"),
    ({"batch_size": 0}, "'batch_size' must be an int >= 1; got 0"),
    ({"batch_size": "big"}, "'batch_size' must be an int >= 1; got 'big'"),
    ({"validation_fraction": 1.0}, r"'validation_fraction' must be in \(0, 1\); got 1.0"),
    ({"n_iter_no_change": 0}, "'n_iter_no_change' must be an int >= 1; got 0"),
    ({"momentum": 1.0}, r"'momentum' must be in \[0, 1\); got 1.0"),
])
@pytest.mark.parametrize("estimator", [MLPClassifier, MLPRegressor])
def test_bad_parameters_name_the_parameter_and_value(estimator, params, message):
    with pytest.raises(ValueError, match=f"{estimator.__name__}: {message}"):
        estimator(**params).fit([[0.0, 1.0], [1.0, 0.0], [1.0, 1.0]], [0, 1, 1])


def test_logistic_and_identity_activations():
    X, y = load_iris(return_X_y=True)
    X = StandardScaler().fit_transform(X)
    for activation in ("logistic", "identity"):
        model = MLPClassifier(activation=activation, max_iter=300, random_state=0).fit(X, y)
        assert model.model_.layers[0].activation == {"logistic": "sigmoid",
                                                     "identity": None}[activation]
        assert model.score(X, y) > 0.9


def test_import_without_scikit_learn_names_the_extra():
    import subprocess
    import sys
    code = ("import sys; sys.modules['sklearn'] = None\n"
            "import nnkernels\n"
            "try:\n    import nnkernels.neural_network\n"
            "except ImportError as e:\n    print(e)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=120)
    assert 'pip install "nnkernels[sklearn]"' in out.stdout, out.stderr
    light = subprocess.run([sys.executable, "-c", "import sys, nnkernels; "
                            "print('sklearn' in sys.modules)"], capture_output=True,
                           text=True, timeout=120)
    assert light.stdout.strip() == "False", light.stderr
