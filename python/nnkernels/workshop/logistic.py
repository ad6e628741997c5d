"""Logistic regression on the loan data: is the interest rate at most 12 %?"""
from sklearn import metrics

from nnkernels import plots
from nnkernels.datasets import load_loan_data
from nnkernels.linear_model import LogisticRegression
from nnkernels.workshop._common import (LOAN_CLASSES, TRAIN_FRACTION, _classification_figures,
                                        _finish, _format_matrix, _loader_kwargs, _out)


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

