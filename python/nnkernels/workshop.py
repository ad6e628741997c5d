"""The workshop's three tasks end to end: load, split, fit, print the figures, draw.

Each ``run_*`` function loads its data set with the workshop's split (the first 80 %
of the rows train, the last 20 % test: advertising 160/40, loan 2,000/500; iris
comes split, 120/30), fits the model of :mod:`nnkernels.linear_model`, prints the
figures on the test rows, writes its pictures and a ``metrics.json`` of the figures
into `output_dir` (created if needed), and returns the figures as a dict (the
content of ``metrics.json``, plus ``"files"``: name -> path of each file written).

They share the keyword arguments ``seed``, ``data`` and ``verbose``, so a command
line can call any of them the same way, through :data:`TASKS`::

    run = TASKS[args.task]                     # "linear", "logistic" or "iris"
    run(args.output_dir, seed=args.seed, data=args.data, verbose=not args.quiet)

Data
----
``data=None`` finds the workshop files as :mod:`nnkernels.datasets` does
(``$NNKERNELS_DATA/workshop/``, the user cache, else a verified download). A folder
given as ``data`` is searched first, its files are read as they are (no SHA-256
check, no download), so edited copies can be used. A malformed file raises the
loader's :class:`nnkernels.datasets.DatasetError`, naming the file, line and column,
unchanged.
"""
import json
import os
from pathlib import Path

import numpy as np
from sklearn import metrics

from nnkernels import plots
from nnkernels.datasets import load_advertising, load_iris, load_loan_data
from nnkernels._io import atomic_output
from nnkernels.linear_model import LinearRegression, LogisticRegression

__all__ = ["TASKS", "run_linear", "run_logistic", "run_iris"]

TRAIN_FRACTION = 0.8
LOAN_CLASSES = ("high rate (0)", "low rate (1)")


# -- helpers shared by the tasks ----------------------------------------------------

def _loader_kwargs(data):
    """Keyword arguments for a workshop loader: a given folder is read as it is."""
    return {} if data is None else {"path": data, "download": False, "verify": False}


def _out(output_dir):
    folder = Path(os.fspath(output_dir))
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def _finish(figures, folder, files, lines, verbose):
    """Write metrics.json, print `lines` and the files written; return the figures."""
    files["metrics"] = folder / "metrics.json"
    with atomic_output(files["metrics"]) as fh:
        fh.write((json.dumps(figures, indent=2) + "\n").encode())
    figures["files"] = {name: str(path) for name, path in files.items()}
    if verbose:
        print("\n".join(lines + [f"wrote {path}" for path in figures["files"].values()]))
    return figures


def _classification_figures(y_true, y_pred, labels, average):
    """Accuracy, precision, recall, F1 and the confusion matrix (rows: true labels)."""
    precision, recall, f1, _ = metrics.precision_recall_fscore_support(
        y_true, y_pred, average=average)
    return {"accuracy": metrics.accuracy_score(y_true, y_pred), "precision": precision,
            "recall": recall, "f1": f1,
            "confusion_matrix": metrics.confusion_matrix(y_true, y_pred, labels=labels).tolist()}


def _format_matrix(cm, names):
    """The confusion matrix as text lines: rows true classes, columns predicted."""
    rows = [["true \\ predicted", *names]] + [[name, *map(str, row)]
                                               for name, row in zip(names, cm)]
    first = max(len(row[0]) for row in rows)
    width = max(len(v) for row in rows for v in row[1:])
    return ["    " + row[0].ljust(first) + "".join(f"  {v:>{width}}" for v in row[1:])
            for row in rows]


# -- linear regression -------------------------------------------------------------

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


# -- logistic regression -----------------------------------------------------------

def run_logistic(output_dir, *, solver="lbfgs", seed=0, data=None, verbose=True):
    """Logistic regression on the loan data: is the interest rate at most 12 %?

    One input, the FICO score ((low end of the range - 640) / 190); class 1 when the
    rate is at most 12 %. Fitted on the first 2,000 loans, evaluated on the last 500.

    Parameters
    ----------
    output_dir : path-like
        Receives ``roc_curve.png``, ``confusion_matrix.png`` and ``metrics.json``.
    solver : {"lbfgs", "sgd", "workshop"}, default "lbfgs"
        See :class:`nnkernels.linear_model.LogisticRegression`: "lbfgs" is the
        maximum-likelihood fit (test accuracy 0.832), "workshop" the workshop's own
        per-sample training, which gives its sigmoid(13.65 x - 4.89) (0.834).
    seed : int or None, default 0
    data : path-like or None
        A folder holding loan_data.csv (see the module notes).
    verbose : bool

    Returns
    -------
    dict
        ``{"task", "solver", "seed", "n_train", "n_test", "coef", "intercept",
        "accuracy", "precision", "recall", "f1", "roc_auc", "confusion_matrix",
        "files"}``; the confusion matrix is a list of rows (true 0, 1) of counts
        (predicted 0, 1).
    """
    folder = _out(output_dir)
    train, test = load_loan_data(**_loader_kwargs(data)).split(TRAIN_FRACTION)
    model = LogisticRegression(solver=solver, random_state=seed).fit(
        train["fico_score"][:, None], train["class"])
    x_test, y_test = test["fico_score"][:, None], test["class"]
    score = model.predict_proba(x_test)[:, 1]
    figures = {"task": "logistic", "solver": solver, "seed": seed, "n_train": len(train),
               "n_test": len(test), "coef": float(model.coef_[0, 0]),
               "intercept": float(model.intercept_[0]),
               **_classification_figures(y_test, model.predict(x_test), [0.0, 1.0],
                                         "binary"),
               "roc_auc": metrics.roc_auc_score(y_test, score)}
    fpr, tpr, _ = metrics.roc_curve(y_test, score)
    files = {"roc_curve": plots.roc_curve_image(fpr, tpr, folder / "roc_curve.png",
                                                auc=figures["roc_auc"]),
             "confusion_matrix": plots.confusion_matrix_image(
                 figures["confusion_matrix"], folder / "confusion_matrix.png",
                 class_names=LOAN_CLASSES, title="Loans: interest rate <= 12 %")}
    lines = [f"Logistic regression on loan_data.csv ({len(train)} train / {len(test)} test "
             f"rows, solver {solver}, seed {seed})",
             f"  p(rate <= 12 %) = sigmoid({figures['coef']:.4f} fico_score "
             f"{figures['intercept']:+.4f})",
             "  test: " + "  ".join(f"{k} {figures[k]:.4f}" for k in
                                    ("accuracy", "precision", "recall", "f1", "roc_auc")),
             "  confusion matrix:"]
    lines += _format_matrix(figures["confusion_matrix"], ["0", "1"])
    return _finish(figures, folder, files, lines, verbose)


# -- the iris network --------------------------------------------------------------

def run_iris(output_dir, *, seed=0, data=None, verbose=True):
    """The iris network (:class:`MLPClassifier` defaults: 4 -> 32 ReLU -> 3 softmax,
    Adam) on the workshop's split.

    Parameters
    ----------
    output_dir : path-like
        Receives ``confusion_matrix.png``, ``loss.png`` (training loss per epoch) and
        ``metrics.json``.
    seed : int or None, default 0
    data : path-like or None
        A folder holding iris_train.csv and iris_test.csv (see the module notes).
    verbose : bool

    Returns
    -------
    dict
        ``{"task", "seed", "n_train", "n_test", "classes", "epochs", "final_loss",
        "accuracy", "precision", "recall", "f1", "confusion_matrix", "files"}``;
        precision, recall and F1 are macro averages over the three classes.
    """
    from nnkernels.linear_model import MLPClassifier  # needs scikit-learn

    folder = _out(output_dir)
    (x, y), (x_test, y_test), classes = load_iris(**_loader_kwargs(data))
    model = MLPClassifier(seed=seed).fit(x, y)
    figures = {"task": "iris", "seed": seed, "n_train": len(y), "n_test": len(y_test),
               "classes": list(classes), "epochs": len(model.loss_curve_),
               "final_loss": model.loss_curve_[-1],
               **_classification_figures(y_test, model.predict(x_test),
                                         list(range(len(classes))), "macro")}
    files = {"confusion_matrix": plots.confusion_matrix_image(
                 figures["confusion_matrix"], folder / "confusion_matrix.png",
                 class_names=classes, title="Iris: test set"),
             "loss": plots.line_plot({"training loss": model.loss_curve_},
                                     folder / "loss.png", title="Iris network",
                                     xlabel="epoch", ylabel="loss", logy=True)}
    widths = [layer.out_features for layer in model.model_.layers]
    shape = " -> ".join([str(x.shape[1])] + [f"{w} ReLU" for w in widths[:-1]]
                        + [f"{widths[-1]} softmax"])
    lines = [f"Iris network {shape} ({len(y)} train / {len(y_test)} test rows, seed {seed}, "
             f"final training loss {figures['final_loss']:.4f})",
             "  test: " + "  ".join(f"{k} {figures[k]:.4f}" for k in
                                    ("accuracy", "precision", "recall", "f1")),
             "  confusion matrix:"]
    lines += _format_matrix(figures["confusion_matrix"], list(classes))
    return _finish(figures, folder, files, lines, verbose)


#: The tasks by the name the command line uses.
TASKS = {"linear": run_linear, "logistic": run_logistic, "iris": run_iris}
