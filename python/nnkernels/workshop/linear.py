"""Linear regression of sales on the advertising data."""
import numpy as np
from sklearn import metrics

from nnkernels import plots
from nnkernels.datasets import load_advertising
from nnkernels.linear_model import LinearRegression
from nnkernels.workshop._common import (TRAIN_FRACTION, _finish, _loader_kwargs, _out)


def _column(table, name):
    """A column, or the product of columns for an interaction term such as "tv*radio"."""
    return np.prod([table[part] for part in name.split("*")], axis=0)


def _columns(table, names):
    return np.column_stack([_column(table, name) for name in names])


def _fit_regression(train, test, features, solver, seed):
    """Fit sales on `features`; the model and its figures on the test rows."""
    X, y = _columns(train, features), train["sales"]
    X_test, y_test = _columns(test, features), test["sales"]
    model = LinearRegression(solver=solver, random_state=seed).fit(X, y)
    pred = model.predict(X_test)
    figures = {"features": list(features), "coef": model.coef_.tolist(),
               "intercept": model.intercept_,
               "rmse": metrics.root_mean_squared_error(y_test, pred),
               "mae": metrics.mean_absolute_error(y_test, pred),
               "r2": metrics.r2_score(y_test, pred)}
    if solver != "lstsq":
        exact = LinearRegression(solver="lstsq").fit(X, y)
        figures["max_abs_diff_from_lstsq"] = float(np.max(np.abs(
            np.append(model.coef_ - exact.coef_, model.intercept_ - exact.intercept_))))
    return model, figures


def _formula(fig):
    terms = " + ".join(f"{c:.4f} {name}" for c, name in zip(fig["coef"], fig["features"]))
    return f"sales = {terms} + {fig['intercept']:.4f}"


def _regression_lines(name, fig):
    line = f"    RMSE {fig['rmse']:.4f}  MAE {fig['mae']:.4f}  R2 {fig['r2']:.4f}"
    if "max_abs_diff_from_lstsq" in fig:
        line += f"  (max |SGD - closed form| {fig['max_abs_diff_from_lstsq']:.1e})"
    return [f"  {name}: {_formula(fig)}", line]


def run_linear(output_dir, *, features=("tv", "radio"), solver="sgd", seed=0, data=None,
               verbose=True):
    """Linear regression of sales on the advertising data: one input, then several.

    Fits ``sales ~ features[0]`` (the single-input regression, TV by default),
    ``sales ~ features`` (the multiple regression) and, with two or more features,
    ``sales ~ features + features[0]*features[1]`` (the multiple regression with the
    interaction of the first two inputs: still linear in its coefficients, fitted by
    the same SGD and closed form; TV and radio advertising reinforce each other, so
    it fits these data far better) on the first 160 rows and evaluates each on the
    last 40, in the CSV's units (already scaled to [0, 1]).
    With ``solver="sgd"`` the closed-form solution is fitted too, for comparison.

    Parameters
    ----------
    output_dir : path-like
        Receives ``fit_line.png`` (the data and the single-input line) and
        ``metrics.json``.
    features : sequence of str, default ("tv", "radio")
        Columns among "tv", "radio", "newspaper".
    solver : {"sgd", "lstsq"}, default "sgd"
    seed : int or None, default 0
    data : path-like or None
        A folder holding advertising.csv (see the module notes).
    verbose : bool
        Print the figures and the files written.

    Returns
    -------
    dict
        ``{"task", "solver", "seed", "n_train", "n_test", "single", "multiple",
        "interaction", "files"}``; "single", "multiple" and "interaction" (absent
        with one feature) hold features, coef, intercept, rmse, mae, r2 (and
        max_abs_diff_from_lstsq for "sgd").
    """
    features = _check_features(features)
    folder = _out(output_dir)
    table = load_advertising(**_loader_kwargs(data))
    train, test = table.split(TRAIN_FRACTION)
    single_model, single = _fit_regression(train, test, features[:1], solver, seed)
    _, multiple = _fit_regression(train, test, features, solver, seed)
    interaction = None
    if len(features) > 1:
        _, interaction = _fit_regression(train, test, features + (f"{features[0]}*{features[1]}",),
                                         solver, seed)
    x = table[features[0]]
    ends = np.array([[x.min()], [x.max()]])
    files = {"fit_line": plots.scatter_with_line(
        x, table["sales"], folder / "fit_line.png", line_x=ends[:, 0],
        line_y=single_model.predict(ends), title=_formula(single), xlabel=features[0],
        ylabel="sales")}
    figures = {"task": "linear", "solver": solver, "seed": seed, "n_train": len(train),
               "n_test": len(test), "single": single, "multiple": multiple}
    if interaction is not None:
        figures["interaction"] = interaction
    lines = [f"Linear regression on advertising.csv ({len(train)} train / {len(test)} test "
             f"rows, solver {solver}, seed {seed}); test figures:"]
    lines += _regression_lines("single", single) + _regression_lines("multiple", multiple)
    if interaction is not None:
        lines += _regression_lines("with interaction", interaction)
    return _finish(figures, folder, files, lines, verbose)


def _check_features(features):
    allowed = ("tv", "radio", "newspaper")
    features = (features,) if isinstance(features, str) else tuple(features)
    bad = [f for f in features if f not in allowed]
    if not features or bad or len(set(features)) != len(features):
        raise ValueError(f"features must be distinct names among {allowed}; got "
                         f"{features!r}")
    return features

