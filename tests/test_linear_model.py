"""nnkernels.linear_model: LinearRegression, LogisticRegression; and the workshop's
IrisNetwork, which shares their conventions.

scikit-learn's own estimator checks and tools (Pipeline, GridSearchCV,
cross_val_score, pandas), acceptance figures on the workshop's data and splits (read
from ``$NNKERNELS_DATA/workshop``; skipped when absent), scikit-learn as the oracle,
finite differences for the logistic objective, and the bad inputs each estimator must
reject. scikit-learn is an optional extra: without it these tests skip, except under
CI=true, where a missing scikit-learn fails the run.
"""
import os

import numpy as np
import pytest

if os.environ.get("CI"):
    import sklearn  # noqa: F401  (CI: a missing scikit-learn is an error, not a skip)
else:
    pytest.importorskip("sklearn", reason='needs scikit-learn: pip install "nnkernels[sklearn]"')

from sklearn import linear_model as sk
from sklearn.datasets import load_iris
from sklearn.exceptions import ConvergenceWarning, NotFittedError
from sklearn.model_selection import GridSearchCV, cross_val_score
from sklearn.multiclass import OneVsRestClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils.estimator_checks import parametrize_with_checks

from conftest import central_difference
from nnkernels import linear_model
from nnkernels.datasets import load_advertising, load_loan_data
from nnkernels.linear_model import LinearRegression, LogisticRegression, logistic_loss_and_grad
from nnkernels.workshop import IrisNetwork
from sklearn.metrics import root_mean_squared_error

from conftest import DATA_ROOT  # noqa: E402

WORKSHOP = DATA_ROOT / "workshop"
needs_data = pytest.mark.skipif(not (WORKSHOP / "loan_data.csv").is_file(),
                                reason=f"workshop data not in {WORKSHOP}")


def _load(loader):
    return loader(path=WORKSHOP, download=False).split(0.8)


@pytest.fixture(scope="module")
def advertising():
    """((X_train, y_train), (X_test, y_test)) with X = [tv, radio]: 160 and 40 rows."""
    train, test = _load(load_advertising)
    return tuple((np.column_stack([t["tv"], t["radio"]]), t["sales"]) for t in (train, test))


@pytest.fixture(scope="module")
def loans():
    """((X_train, y_train), (X_test, y_test)) with X = [fico_score]: 2000 and 500 rows."""
    train, test = _load(load_loan_data)
    return tuple((t["fico_score"][:, None], t["class"]) for t in (train, test))


@pytest.fixture(scope="module")
def closed_form(advertising):
    return LinearRegression(solver="lstsq").fit(*advertising[0])


@pytest.fixture(scope="module")
def lbfgs(loans):
    return LogisticRegression().fit(*loans[0])


def _params(model):
    return np.append(model.coef_, model.intercept_)


# -- linear regression: the acceptance figures -------------------------------------

@needs_data
def test_closed_form_equals_scikit_learn(advertising, closed_form):
    ref = sk.LinearRegression().fit(*advertising[0])
    np.testing.assert_allclose(closed_form.coef_, ref.coef_, rtol=0, atol=1e-6)
    assert closed_form.intercept_ == pytest.approx(ref.intercept_, rel=0, abs=1e-6)


@needs_data
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_sgd_within_1e_3_of_closed_form(advertising, closed_form, seed):
    sgd = LinearRegression(random_state=seed).fit(*advertising[0])
    assert np.max(np.abs(_params(sgd) - _params(closed_form))) < 1e-3


@needs_data
def test_multiple_regression_test_rmse(advertising, closed_form):
    """The SGD model's test RMSE is the least-squares one (measured 0.06580)."""
    (X, y), (X_test, y_test) = advertising
    rmse = root_mean_squared_error(y_test, LinearRegression(random_state=0).fit(X, y).predict(X_test))
    assert rmse <= 0.0660
    assert rmse == pytest.approx(root_mean_squared_error(y_test, closed_form.predict(X_test)),
                                 abs=1e-4)


@needs_data
def test_multiple_regression_with_interaction_meets_the_issue_threshold(advertising):
    """Plain least squares on TV and radio gives 0.06580 (above the issue's 0.0640: the
    workshop's printed 0.06 came from rounded coefficients and a test set that counted
    its CSV header). With the TV x radio interaction, still linear least squares on the
    two inputs, the test RMSE is 0.0245; SGD and scikit-learn agree with it."""
    from sklearn.linear_model import LinearRegression as SkLinearRegression
    (X, y), (X_test, y_test) = advertising
    expand = lambda a: np.column_stack([a, a[:, 0] * a[:, 1]])
    sgd = LinearRegression(random_state=0).fit(expand(X), y)
    exact = LinearRegression(solver="lstsq").fit(expand(X), y)
    assert root_mean_squared_error(y_test, sgd.predict(expand(X_test))) <= 0.0640
    assert np.max(np.abs(sgd.coef_ - exact.coef_)) < 1e-3
    sk = SkLinearRegression().fit(expand(X), y)
    np.testing.assert_allclose(exact.coef_, sk.coef_, atol=1e-6)


@needs_data
def test_single_input_regression(advertising):
    """sales ~ tv: a positive slope, SGD on the closed form, R² well below the multiple one."""
    (X, y), (X_test, y_test) = advertising
    single = LinearRegression(random_state=0).fit(X[:, :1], y)
    exact = LinearRegression(solver="lstsq").fit(X[:, :1], y)
    np.testing.assert_allclose(_params(single), [0.5697, 0.2167], atol=1e-3)
    assert np.max(np.abs(_params(single) - _params(exact))) < 1e-3
    assert single.coef_.shape == (1,) and isinstance(single.intercept_, float)
    assert 0.4 < single.score(X_test[:, :1], y_test) < LinearRegression(random_state=0).fit(
        X, y).score(X_test, y_test)


def test_linear_regression_recovers_a_known_plane():
    rng = np.random.default_rng(0)
    X = rng.normal(100.0, 30.0, (500, 3))  # far from [0, 1]: standardisation handles it
    y = X @ [2.0, -1.0, 0.5] + 7.0 + rng.normal(0, 0.01, 500)
    for solver in ("sgd", "lstsq"):
        model = LinearRegression(solver=solver, random_state=0).fit(X, y)
        np.testing.assert_allclose(model.coef_, [2.0, -1.0, 0.5], atol=1e-3)
        assert model.intercept_ == pytest.approx(7.0, abs=0.1)
        assert model.score(X, y) > 0.9999
        np.testing.assert_allclose(model.predict(X[:5]), X[:5] @ model.coef_ + model.intercept_)


# -- logistic regression -----------------------------------------------------------

def _sklearn_unregularised():
    return sk.LogisticRegression(C=np.inf, tol=1e-12, max_iter=10_000)


@needs_data
def test_logistic_probabilities_equal_scikit_learn(loans, lbfgs):
    (X, y), (X_test, _) = loans
    ref = _sklearn_unregularised().fit(X, y)
    np.testing.assert_allclose(lbfgs.predict_proba(X_test), ref.predict_proba(X_test),
                               rtol=0, atol=1e-4)
    np.testing.assert_allclose(lbfgs.coef_, ref.coef_, rtol=1e-4)
    assert lbfgs.coef_.shape == (1, 1) and lbfgs.intercept_.shape == (1,)


def _boundary_margin(model, X_test):
    """Distance from the decision boundary (the score where the probability is 0.5) to
    the nearest test score: how far the fit would have to move to change the accuracy."""
    boundary = -model.intercept_[0] / model.coef_[0, 0]
    return np.min(np.abs(np.unique(X_test) - boundary))


@needs_data
def test_logistic_test_accuracy(loans, lbfgs):
    """The maximum-likelihood model: 416 of the 500 test loans (0.832).

    Measured spread (random_state 0-5, and the workshop solver's seeds likewise): none;
    the optimum does not depend on the start. The test scores are discrete (FICO steps
    of 5 over the scaled range), and the boundary lies 0.010 (scaled) from the nearest
    one; the accuracy can change only if the fit moves that far, 2.7 % of the boundary,
    far beyond rounding or BLAS differences (the coefficients agree with scikit-learn
    to 1e-4 above). So the figure itself is the threshold, with its margin asserted."""
    assert lbfgs.score(*loans[1]) >= 0.832
    assert _boundary_margin(lbfgs, loans[1][0]) > 0.005


@needs_data
def test_logistic_workshop_solver_reproduces_the_workshop(loans):
    """The workshop's own training (one sample at a time, in order, squared error of
    the sigmoid, lr 0.3, 1000 epochs) gives its sigmoid(13.65 x - 4.89), from any start,
    and with it issue 4's test accuracy of 0.834 (417/500: threshold FICO 708)."""
    (X, y), (X_test, y_test) = loans
    for seed in (0, 1, 2):
        model = LogisticRegression(solver="workshop", random_state=seed).fit(X, y)
        assert model.coef_[0, 0] == pytest.approx(13.65, abs=0.005)
        assert model.intercept_[0] == pytest.approx(-4.89, abs=0.005)
        assert model.n_iter_ == 1000
        assert model.score(X_test, y_test) >= 0.834
        # spread over seeds 0-5: none; the boundary lies 0.016 from the nearest test score
        assert _boundary_margin(model, X_test) > 0.008


@needs_data
def test_logistic_workshop_solver_is_not_the_optimum_of_its_objective(loans):
    # The fixed-order steps circle a point off the least-squares optimum (13.34 x -
    # 5.01, test accuracy 0.832): what the workshop reported is that point.
    from scipy.optimize import minimize
    (X, y), _ = loans
    x = X[:, 0]

    def squared_error(p):
        s = 1 / (1 + np.exp(-(p[0] * x + p[1])))
        return np.mean((y - s) ** 2)

    best = minimize(squared_error, [13.65, -4.89], method="Nelder-Mead",
                    options={"xatol": 1e-8, "fatol": 1e-14}).x
    np.testing.assert_allclose(best, [13.336, -5.007], atol=2e-3)
    workshop = LogisticRegression(solver="workshop", random_state=0).fit(X, y)
    assert abs(workshop.coef_[0, 0] - best[0]) > 0.2


@needs_data
def test_logistic_sgd_approaches_lbfgs(loans, lbfgs):
    (X, y), (X_test, y_test) = loans
    sgd = LogisticRegression(solver="sgd", random_state=0).fit(X, y)
    np.testing.assert_allclose(sgd.predict_proba(X_test), lbfgs.predict_proba(X_test),
                               atol=2e-3)
    assert sgd.score(X_test, y_test) == lbfgs.score(X_test, y_test)


@pytest.mark.parametrize("targets", ["binary", "fractional"])
def test_logistic_objective_gradient_matches_finite_differences(targets):
    rng = np.random.default_rng(1)
    X = rng.standard_normal((40, 3))
    t = rng.integers(0, 2, (40, 1)) if targets == "binary" else rng.uniform(0, 1, (40, 1))
    t = np.ascontiguousarray(t, dtype=np.float64)
    params = rng.standard_normal(4)
    loss, grad = logistic_loss_and_grad(params, X, t)
    z = X @ params[:3] + params[3]
    expected = np.mean(np.logaddexp(0, z) - t[:, 0] * z)
    assert loss == pytest.approx(expected, rel=1e-12)
    numeric = central_difference(lambda: logistic_loss_and_grad(params, X, t)[0], params)
    np.testing.assert_allclose(grad, numeric, rtol=1e-6, atol=1e-9)


def test_logistic_objective_is_finite_for_huge_logits():
    X = np.array([[1e6], [-1e6], [2e6], [-3e6]])
    t = np.array([[1.0], [1.0], [0.0], [0.0]])
    loss, grad = logistic_loss_and_grad(np.array([1e3, 0.0]), X, t)
    # logits 1e9, -1e9, 2e9, -3e9: the loss is the mean of the wrong-side logits
    assert loss == pytest.approx((1e9 + 2e9) / 4, rel=1e-12)
    np.testing.assert_allclose(grad, [(-(-1e6) + 2e6) / 4, (-1 + 1) / 4], rtol=1e-12)


@needs_data
@pytest.mark.parametrize("solver", ["lbfgs", "sgd"])
def test_logistic_features_scaled_by_1e6(loans, lbfgs, solver):
    """Logits of size 1e6 * w stay finite, and the model is the same one, rescaled."""
    (X, y), (X_test, _) = loans
    big = LogisticRegression(solver=solver, random_state=0).fit(X * 1e6, y)
    proba = big.predict_proba(X_test * 1e6)
    assert np.isfinite(big.coef_).all() and np.isfinite(proba).all()
    np.testing.assert_allclose(proba, lbfgs.predict_proba(X_test),
                               atol=1e-6 if solver == "lbfgs" else 2e-3)
    assert np.isfinite(big.decision_function(X_test * 1e12)).all()


def test_logistic_keeps_any_two_labels():
    rng = np.random.default_rng(2)
    X = rng.standard_normal((200, 2))
    y = np.where(X[:, 0] + 0.5 * rng.standard_normal(200) > 0, "yes", "no")
    model = LogisticRegression().fit(X, y)
    assert model.classes_.tolist() == ["no", "yes"]
    assert set(model.predict(X)) <= {"no", "yes"}
    np.testing.assert_allclose(model.predict_proba(X).sum(axis=1), 1.0)
    ref = _sklearn_unregularised().fit(X, y)
    np.testing.assert_allclose(model.predict_proba(X), ref.predict_proba(X), atol=1e-4)
    assert (model.predict(X) == np.where(model.decision_function(X) > 0, "yes", "no")).all()


def test_logistic_separable_data_stays_finite_and_iteration_limit_warns():
    X = np.array([[0.0], [1.0], [2.0], [3.0]])
    model = LogisticRegression().fit(X, [0, 0, 1, 1])  # gradient ~exp(-|w|) < tol: stops
    assert np.isfinite(model.coef_).all() and np.isfinite(model.predict_proba(X)).all()
    assert model.predict(X).tolist() == [0, 0, 1, 1]
    with pytest.warns(ConvergenceWarning, match=r"stopped after 3 iterations \(max_iter=3\)"):
        LogisticRegression(max_iter=3).fit(X, [0, 0, 1, 1])


# -- multiclass: one-vs-rest ---------------------------------------------------------

@pytest.mark.parametrize("labels", ["int", "str"])
def test_logistic_multiclass_is_one_vs_rest(labels):
    """Three classes: k binary models, class c against the rest, as scikit-learn's
    OneVsRestClassifier fits them (probabilities normalised to sum to 1)."""
    rng = np.random.default_rng(5)
    X = rng.normal(3.0, 2.0, (300, 2))
    logits = X @ [[1.0, -1.0, 0.0], [0.0, 1.0, -1.0]] + rng.gumbel(0, 1.5, (300, 3))
    y = logits.argmax(axis=1)  # overlapping classes: a finite optimum
    if labels == "str":
        y = np.array(["setosa", "versicolor", "virginica"])[y]
    model = LogisticRegression().fit(X, y)
    ref = OneVsRestClassifier(_sklearn_unregularised()).fit(X, y)
    assert model.coef_.shape == (3, 2) and model.intercept_.shape == (3,)
    assert model.n_iter_.shape == (3,)
    np.testing.assert_allclose(model.coef_, [e.coef_[0] for e in ref.estimators_], atol=1e-4)
    np.testing.assert_allclose(model.predict_proba(X), ref.predict_proba(X), atol=1e-5)
    assert model.decision_function(X).shape == (300, 3)
    np.testing.assert_array_equal(model.predict(X), ref.predict(X))


# -- scikit-learn's estimator checks and tools ---------------------------------------
# No check is marked as an expected failure today: linear_model.EXPECTED_FAILED_CHECKS
# is empty for both estimators (a check added there must say why, and is listed in the
# estimator's docstring). Each solver is checked; default random_state (None) too,
# since the checks set random_state themselves.

@parametrize_with_checks(
    [LinearRegression(), LinearRegression(solver="lstsq"), LogisticRegression(),
     LogisticRegression(solver="sgd"), LogisticRegression(solver="workshop")],
    expected_failed_checks=lambda est: linear_model.EXPECTED_FAILED_CHECKS[type(est).__name__])
def test_sklearn_compatible_estimator(estimator, check):
    check(estimator)


def test_pipeline_grid_search_and_cross_val_score():
    X, y = load_iris(return_X_y=True)
    pipe = make_pipeline(StandardScaler(), LogisticRegression(max_iter=200))
    scores = cross_val_score(pipe, X, y, cv=3)
    assert scores.shape == (3,) and scores.min() > 0.85
    search = GridSearchCV(pipe, {"logisticregression__solver": ["lbfgs", "sgd"]},
                          cv=3).fit(X, y)
    assert search.best_score_ > 0.9
    assert search.best_estimator_[-1].coef_.shape == (3, 4)
    reg = GridSearchCV(LinearRegression(random_state=0),
                       {"solver": ["sgd", "lstsq"], "epochs": [50, 200]}, cv=3)
    X = X[np.random.default_rng(0).permutation(len(X))]  # iris is sorted by class
    assert reg.fit(X[:, :3], X[:, 3]).best_score_ > 0.9


def test_pandas_input_sets_feature_names():
    if os.environ.get("CI"):
        import pandas as pd  # CI: the test extra installs it; missing is an error
    else:
        pd = pytest.importorskip("pandas")
    X, y = load_iris(return_X_y=True, as_frame=True)
    target = pd.Series(X["petal length (cm)"])
    X = X.drop(columns=target.name)
    for model, labels in ((LogisticRegression(max_iter=50), y),
                          (LinearRegression(solver="lstsq"), target)):
        model.fit(X, labels)
        assert model.feature_names_in_.tolist() == list(X.columns)
        assert model.predict(X.iloc[:5]).shape == (5,)
        with pytest.warns(UserWarning, match="feature names"):
            model.predict(X.to_numpy()[:5])


# -- random_state and parameters ----------------------------------------------------

@pytest.mark.parametrize("make", [
    lambda seed: LinearRegression(random_state=seed, epochs=20),
    lambda seed: LogisticRegression(solver="sgd", random_state=seed, epochs=20),
    lambda seed: IrisNetwork(seed=seed, epochs=20),
], ids=["linear", "logistic", "mlp"])
def test_same_seed_same_model(make):
    rng = np.random.default_rng(3)
    X = rng.standard_normal((90, 3))
    y = (X[:, 0] > 0).astype(int)
    first, again, other = make(7).fit(X, y), make(7).fit(X, y), make(8).fit(X, y)
    if isinstance(first, IrisNetwork):
        np.testing.assert_array_equal(first.predict_proba(X), again.predict_proba(X))
        assert not np.array_equal(first.predict_proba(X), other.predict_proba(X))
    else:
        np.testing.assert_array_equal(first.coef_, again.coef_)
        assert not np.array_equal(first.coef_, other.coef_)


def test_get_params_and_set_params():
    model = LogisticRegression(solver="sgd", lr=0.3, random_state=4)
    params = model.get_params()
    assert params["solver"] == "sgd" and params["lr"] == 0.3 and params["random_state"] == 4
    assert set(params) == {"solver", "tol", "max_iter", "lr", "epochs", "batch_size",
                           "momentum", "random_state"}
    assert model.set_params(epochs=5) is model and model.epochs == 5
    with pytest.raises(ValueError, match="Invalid parameter 'alpha'"):
        model.set_params(alpha=1.0)
    assert LinearRegression().get_params()["solver"] == "sgd"
    assert IrisNetwork().get_params()["hidden"] == (32,)
    assert "LinearRegression(solver='lstsq')" in repr(LinearRegression(solver="lstsq"))


@pytest.mark.parametrize("make, message", [
    (lambda: LinearRegression(solver="normal"), "'solver' must be one of"),
    (lambda: LinearRegression(lr=-0.5), r"'lr' must be in \[0, inf\)"),
    (lambda: LinearRegression(epochs=0), "'epochs' must be an int >= 1"),
    (lambda: LinearRegression(batch_size=0), "'batch_size' must be an int >= 1"),
    (lambda: LogisticRegression(solver="newton"), "'solver' must be one of"),
    (lambda: LogisticRegression(tol=-1.0), "'tol' must be in"),
    (lambda: LogisticRegression(max_iter=0), "'max_iter' must be an int >= 1"),
    (lambda: LogisticRegression(solver="sgd", lr=-1.0), "'lr' must be in"),
    (lambda: LogisticRegression(solver="sgd", momentum=1.0), "'momentum' must be in"),
    (lambda: LogisticRegression(solver="workshop", lr=-0.3), r"'lr' must be in \[0, inf\)"),
    (lambda: LogisticRegression(solver="workshop", epochs=0), "'epochs' must be an int"),
    (lambda: IrisNetwork(hidden=(8, 0)), r"'hidden_layer_sizes' must be an int or a "
                                            r"sequence of ints >= 1; got \(8, 0\)"),
    (lambda: IrisNetwork(optimizer="lion"), "'solver' must be one of .*; got 'lion'"),
])
def test_bad_hyperparameters(make, message):
    with pytest.raises(ValueError, match=message):
        make().fit(np.eye(3), [0, 1, 1])


# -- bad input: checked as scikit-learn checks it -------------------------------------

X_OK = [[0.0, 1.0], [1.0, 0.0], [2.0, 1.0], [3.0, 0.0]]
Y_OK = [0, 1, 0, 1]


@pytest.mark.parametrize("make", [lambda: LinearRegression(epochs=2),
                                  lambda: LogisticRegression(), lambda: IrisNetwork(epochs=2)],
                         ids=["linear", "logistic", "mlp"])
@pytest.mark.parametrize("X, y, message", [
    (np.array([["0.5", "1"], ["0.2", "x"]]), [0, 1], "could not convert string to float"),
    (np.empty((0, 2)), [], "Found array with 0 sample"),
    (np.empty((3, 0)), [0, 1, 0], "Found array with 0 feature"),
    ([0.0, 1.0, 2.0], [0, 1, 0], "Expected 2D array, got 1D array"),
    (X_OK, Y_OK[:3], r"inconsistent numbers of samples: \[4, 3\]"),
    ([[np.nan, 1.0], [0.0, 1.0]], [0, 1], "Input X contains NaN"),
    (X_OK, [0.0, np.nan, 0.0, 1.0], "Input y contains NaN"),
], ids=["text", "no-rows", "no-columns", "1-D", "lengths", "nan-X", "nan-y"])
def test_bad_input(make, X, y, message):
    with pytest.raises(ValueError, match=message):
        make().fit(X, y)


@pytest.mark.parametrize("estimator", [LinearRegression, LogisticRegression, IrisNetwork])
def test_predict_before_fit_and_wrong_number_of_features(estimator):
    methods = [m for m in ("predict", "predict_proba", "decision_function")
               if hasattr(estimator, m)]
    for method in methods:
        with pytest.raises(NotFittedError, match=f"This {estimator.__name__} instance is "
                                                 "not fitted yet"):
            getattr(estimator(), method)(X_OK)
    model = estimator(epochs=2).fit(X_OK, Y_OK)
    for method in methods:
        with pytest.raises(ValueError, match=f"X has 3 features, but {estimator.__name__} "
                                             "is expecting 2"):
            getattr(model, method)(np.ones((2, 3)))


def test_text_in_regression_targets():
    with pytest.raises(ValueError, match="could not convert string to float"):
        LinearRegression().fit(X_OK, ["1.0", "2.0", "x", "4.0"])


@pytest.mark.parametrize("estimator", [LogisticRegression, IrisNetwork])
def test_classifiers_reject_continuous_targets(estimator):
    with pytest.raises(ValueError, match="Unknown label type"):
        estimator().fit(X_OK, [0.5, 1.5, 0.2, 3.1])


@pytest.mark.parametrize("label", [1, "yes"])
def test_logistic_regression_single_class(label):
    with pytest.raises(ValueError, match=f"1 class, {label!r}"):
        LogisticRegression().fit(X_OK, [label] * 4)
    assert IrisNetwork(epochs=2).fit(X_OK, [label] * 4).predict(X_OK).tolist() == [label] * 4


def test_import_without_scikit_learn_names_the_extra():
    import subprocess
    import sys
    code = ("import sys; sys.modules['sklearn'] = None\n"
            "try:\n    import nnkernels.linear_model\n"
            "except ImportError as e:\n    print(e)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=120)
    assert 'pip install "nnkernels[sklearn]"' in out.stdout, out.stderr
