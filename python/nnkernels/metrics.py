"""Evaluation metrics for regression and classification.

Pure NumPy re-implementations of the most common scikit-learn metrics.  The
numerical results are meant to agree with scikit-learn (used as the test
oracle) to within ``1e-12``; differences in behaviour are listed below.

Regression
    :func:`mean_squared_error`, :func:`root_mean_squared_error`,
    :func:`mean_absolute_error`, :func:`r2_score`.
Classification
    :func:`accuracy_score`, :func:`precision_score`, :func:`recall_score`,
    :func:`f1_score`, :func:`confusion_matrix`, :func:`classification_report`.
Ranking (binary)
    :func:`roc_curve`, :func:`roc_auc_score`.

Conventions
-----------
* Inputs are validated at the boundary: mismatched lengths raise a
  ``ValueError`` naming both arguments and their lengths, empty inputs raise
  ``ValueError``, NaN/inf in numeric inputs raise ``ValueError`` and
  non-numeric values where numbers are required raise ``TypeError``.
* Scalar results are returned as Python ``float`` (``int`` for the count
  returned by ``accuracy_score(normalize=False)``).
* ``zero_division`` defaults to ``0.0`` (scikit-learn's default is ``"warn"``,
  which returns the same value ``0.0`` but also emits a warning).  ``"warn"``
  is accepted too and then behaves exactly like scikit-learn.

Differences from scikit-learn
-----------------------------
* :func:`roc_auc_score` raises ``ValueError`` when ``y_true`` contains a single
  class, as older scikit-learn releases did; recent ones (e.g. 1.9) emit an
  ``UndefinedMetricWarning`` and return NaN instead.
* No ``sample_weight`` support, and classification targets must be 1-D
  (no multilabel indicator matrices).
"""

from __future__ import annotations

import math
import numbers
import warnings

import numpy as np

from nnkernels._validation import as_1d_array

__all__ = [
    "UndefinedMetricWarning",
    "mean_squared_error",
    "root_mean_squared_error",
    "mean_absolute_error",
    "r2_score",
    "accuracy_score",
    "precision_score",
    "recall_score",
    "f1_score",
    "precision_recall_fscore_support",
    "confusion_matrix",
    "classification_report",
    "roc_curve",
    "roc_auc_score",
]


class UndefinedMetricWarning(UserWarning):
    """Warning emitted when a metric is ill-defined for the given input.

    Mirrors ``sklearn.exceptions.UndefinedMetricWarning``.
    """


# ---------------------------------------------------------------------------
# input validation helpers
# ---------------------------------------------------------------------------


def _check_consistent_length(y_true, y_pred, name_true, name_pred):
    n_true, n_pred = y_true.shape[0], y_pred.shape[0]
    if n_true != n_pred:
        raise ValueError(
            f"{name_true} and {name_pred} have inconsistent lengths: "
            f"len({name_true})={n_true}, len({name_pred})={n_pred}"
        )


def _as_numeric(y, name, allowed_ndim=(1, 2)):
    """Convert ``y`` to a finite float64 ndarray, raising clear errors."""
    try:
        arr = np.asarray(y)
    except ValueError as exc:  # ragged nested sequences
        raise ValueError(f"{name} could not be converted to an array: {exc}") from None
    kind = arr.dtype.kind
    if kind == "O":
        bad = next(
            (v for v in arr.ravel().tolist()
             if not isinstance(v, (numbers.Real, np.bool_))),
            None,
        )
        if bad is not None or None in arr.ravel().tolist():
            raise TypeError(
                f"{name} must contain only numbers; found {bad!r} "
                f"of type {type(bad).__name__}"
            )
        arr = arr.astype(np.float64)
        kind = "f"
    if kind not in "biuf":
        raise TypeError(
            f"{name} must be numeric, got an array of dtype {arr.dtype} "
            f"(e.g. {arr.ravel()[:1].tolist()!r})"
        )
    if arr.ndim not in allowed_ndim:
        dims = " or ".join(f"{d}-D" for d in allowed_ndim)
        what = "a scalar" if arr.ndim == 0 else f"an array of shape {arr.shape}"
        raise ValueError(f"{name} must be {dims}, got {what}")
    arr = arr.astype(np.float64, copy=False)
    if arr.size and not np.all(np.isfinite(arr)):
        what = "NaN" if np.isnan(arr).any() else "infinity"
        raise ValueError(f"{name} contains {what}; all values must be finite")
    return arr


def _check_regression(y_true, y_pred):
    """Validate regression targets, returning two 2-D float64 arrays."""
    y_true = _as_numeric(y_true, "y_true")
    y_pred = _as_numeric(y_pred, "y_pred")
    _check_consistent_length(y_true, y_pred, "y_true", "y_pred")
    if y_true.shape[0] == 0:
        raise ValueError("y_true and y_pred are empty; need at least one sample")
    if y_true.ndim == 1:
        y_true = y_true.reshape(-1, 1)
    if y_pred.ndim == 1:
        y_pred = y_pred.reshape(-1, 1)
    if y_true.shape[1] != y_pred.shape[1]:
        raise ValueError(
            f"y_true and y_pred have a different number of outputs: "
            f"y_true has {y_true.shape[1]}, y_pred has {y_pred.shape[1]}"
        )
    if y_true.shape[1] == 0:
        raise ValueError("y_true and y_pred have zero outputs (0 columns)")
    return y_true, y_pred


def _average_outputs(output_values, multioutput):
    if isinstance(multioutput, str):
        if multioutput == "raw_values":
            return output_values
        if multioutput == "uniform_average":
            return float(np.mean(output_values))
    raise ValueError(
        "multioutput must be 'uniform_average' or 'raw_values', "
        f"got multioutput={multioutput!r}"
    )


def _as_labels(y, name):
    """Convert ``y`` to a 1-D array of discrete class labels.

    Returns ``(array, kind)`` where ``kind`` is ``"number"`` or ``"string"``.
    """
    arr = as_1d_array(y, name, "class labels")
    kind = arr.dtype.kind
    if kind == "O":
        values = arr.tolist()
        n_str = sum(isinstance(v, str) for v in values)
        if n_str == len(values):
            arr = np.asarray(values, dtype=str) if values else np.asarray([], str)
            kind = "U"
        elif n_str:
            raise ValueError(
                f"{name} mixes string and non-string labels "
                "(Mix of label input types (string and number))"
            )
        else:
            bad = next(
                (v for v in values if not isinstance(v, numbers.Real)), None
            )
            if bad is not None or any(v is None for v in values):
                raise TypeError(
                    f"{name} must contain numbers or strings as class labels; "
                    f"found {bad!r} of type {type(bad).__name__}"
                )
            arr = np.asarray(values, dtype=np.float64)
            kind = "f"
    if kind in "US":
        return arr, "string"
    if kind in "biu":
        return arr, "number"
    if kind == "f":
        if not np.all(np.isfinite(arr)):
            raise ValueError(f"{name} contains NaN or infinity")
        non_int = arr != np.floor(arr)
        if np.any(non_int):
            raise ValueError(
                f"{name} contains non-integer float values (e.g. "
                f"{arr[non_int][0].item()!r}); classification metrics need discrete "
                "class labels, not continuous values"
            )
        return arr, "number"
    raise TypeError(f"{name} has unsupported dtype {arr.dtype} for class labels")


def _check_label_pair(y_true, y_pred):
    """Validate a pair of label vectors.

    Returns ``(y_true, y_pred, labels)`` where ``labels`` is the sorted union
    of the labels present in either array.
    """
    y_true, k_true = _as_labels(y_true, "y_true")
    y_pred, k_pred = _as_labels(y_pred, "y_pred")
    _check_consistent_length(y_true, y_pred, "y_true", "y_pred")
    if y_true.shape[0] == 0:
        raise ValueError("y_true and y_pred are empty; need at least one sample")
    if k_true != k_pred:
        raise ValueError(
            "Mix of label input types (string and number): y_true has "
            f"{k_true} labels and y_pred has {k_pred} labels"
        )
    labels = np.union1d(y_true, y_pred)
    return y_true, y_pred, labels


def _check_zero_division(zero_division):
    if isinstance(zero_division, str):
        if zero_division == "warn":
            return 0.0
    elif isinstance(zero_division, numbers.Real) and not isinstance(
        zero_division, (bool, np.bool_)
    ):
        if math.isnan(zero_division):
            return math.nan
        if zero_division in (0, 1):
            return float(zero_division)
    raise ValueError(
        "zero_division must be 0.0, 1.0, np.nan or 'warn', "
        f"got zero_division={zero_division!r}"
    )


_AVERAGES = ("binary", "micro", "macro", "weighted", None)


def _contains(labels, value):
    return any(v == value for v in labels.tolist())


def _prf_divide(num, den, zero_division, metric, warn):
    num = np.asarray(num, dtype=np.float64)
    den = np.asarray(den, dtype=np.float64)
    mask = den == 0
    out = num / np.where(mask, 1.0, den)
    if np.any(mask):
        out[mask] = _check_zero_division(zero_division)
        if warn and isinstance(zero_division, str):
            warnings.warn(
                f"{metric} is ill-defined and being set to 0.0 for "
                f"{int(mask.sum())} label(s) with a zero denominator. Use the "
                "`zero_division` parameter to control this behavior.",
                UndefinedMetricWarning,
                stacklevel=4,
            )
    return out


def _nanaverage(a, weights=None):
    if a.shape[0] == 0:
        return math.nan
    mask = np.isnan(a)
    if np.all(mask):
        return math.nan
    if weights is None:
        return float(np.nanmean(a))
    a, weights = a[~mask], np.asarray(weights, dtype=np.float64)[~mask]
    total = weights.sum()
    if total == 0:
        return float(np.mean(a))
    return float(np.sum(a * weights) / total)


def precision_recall_fscore_support(
    y_true, y_pred, *, average=None, pos_label=1, zero_division=0.0
):
    """Compute precision, recall, F1 and support.

    Parameters
    ----------
    y_true : array-like of shape (n_samples,)
        Ground-truth class labels (integers, integral floats, bools or strings).
    y_pred : array-like of shape (n_samples,)
        Predicted class labels, same label type as ``y_true``.
    average : {"binary", "micro", "macro", "weighted"} or None, default=None
        ``None`` (the default, as scikit-learn): per-class scores and support.
        ``"binary"``: report the class ``pos_label`` only (``y_true`` and
        ``y_pred`` together must contain at most two labels).
        ``"micro"``: pool TP/FP/FN over all classes.
        ``"macro"``: unweighted mean of the per-class scores.
        ``"weighted"``: per-class scores weighted by support (true count).
        Per-class results are in sorted label order.
    pos_label : int, float, bool or str, default=1
        The positive class when ``average="binary"``; ignored otherwise.
    zero_division : {0.0, 1.0, np.nan, "warn"}, default=0.0
        Value used where a ratio has a zero denominator.  ``"warn"`` uses 0.0
        and emits an :class:`UndefinedMetricWarning` (scikit-learn's default).
        NaN values are ignored when averaging (as in scikit-learn).

    Returns
    -------
    precision, recall, f1 : float or ndarray of shape (n_classes,), float64
    support : None or ndarray of shape (n_classes,), int64
        Per-class number of true samples, only when ``average is None``.
    """
    return _prfs(y_true, y_pred, average=average, pos_label=pos_label,
                 zero_division=zero_division)


def _prfs(y_true, y_pred, *, average, pos_label, zero_division,
          _warn_for=("precision", "recall", "f-score")):
    if average not in _AVERAGES:
        raise ValueError(
            "average must be one of 'binary', 'micro', 'macro', 'weighted' or "
            f"None, got average={average!r}"
        )
    _check_zero_division(zero_division)
    y_true, y_pred, labels = _check_label_pair(y_true, y_pred)
    k = labels.shape[0]
    ti = np.searchsorted(labels, y_true)
    pi = np.searchsorted(labels, y_pred)
    true_sum = np.bincount(ti, minlength=k)
    pred_sum = np.bincount(pi, minlength=k)
    tp_sum = np.bincount(ti[ti == pi], minlength=k)

    if average == "binary":
        if k > 2:
            raise ValueError(
                f"Target is multiclass ({k} distinct labels) but "
                "average='binary'. Please choose another average setting, one "
                "of ['micro', 'macro', 'weighted']."
            )
        if _contains(labels, pos_label):
            idx = [i for i, v in enumerate(labels.tolist()) if v == pos_label][0]
            sl = slice(idx, idx + 1)
            tp_sum, pred_sum, true_sum = tp_sum[sl], pred_sum[sl], true_sum[sl]
        elif k == 2:
            raise ValueError(
                f"pos_label={pos_label!r} is not a valid label. It should be "
                f"one of {labels.tolist()}"
            )
        else:  # single label present, pos_label absent: all counts are zero
            tp_sum = pred_sum = true_sum = np.zeros(1, dtype=np.int64)
    elif average == "micro":
        tp_sum = np.array([tp_sum.sum()])
        pred_sum = np.array([pred_sum.sum()])
        true_sum = np.array([true_sum.sum()])

    precision = _prf_divide(
        tp_sum, pred_sum, zero_division, "Precision", "precision" in _warn_for
    )
    recall = _prf_divide(
        tp_sum, true_sum, zero_division, "Recall", "recall" in _warn_for
    )
    f_score = _prf_divide(
        2.0 * tp_sum, true_sum + pred_sum, zero_division, "F-score",
        "f-score" in _warn_for,
    )

    if average is None:
        return precision, recall, f_score, true_sum.astype(np.int64)
    weights = true_sum if average == "weighted" else None
    return (
        _nanaverage(precision, weights),
        _nanaverage(recall, weights),
        _nanaverage(f_score, weights),
        None,
    )


# ---------------------------------------------------------------------------
# regression metrics
# ---------------------------------------------------------------------------


def mean_squared_error(y_true, y_pred, *, multioutput="uniform_average"):
    """Mean squared error regression loss.

    ``MSE = mean_i (y_true_i - y_pred_i) ** 2``

    Parameters
    ----------
    y_true : array-like of shape (n_samples,) or (n_samples, n_outputs)
        Ground-truth targets, any real numeric dtype (converted to float64).
    y_pred : array-like of shape (n_samples,) or (n_samples, n_outputs)
        Predicted targets, same shape as ``y_true``.
    multioutput : {"uniform_average", "raw_values"}, default="uniform_average"
        How to aggregate multiple outputs: their plain mean, or one value per
        output.

    Returns
    -------
    float or ndarray of shape (n_outputs,), float64
        Non-negative loss; 0.0 is a perfect fit.
    """
    y_true, y_pred = _check_regression(y_true, y_pred)
    errors = np.mean((y_true - y_pred) ** 2, axis=0)
    return _average_outputs(errors, multioutput)


def root_mean_squared_error(y_true, y_pred, *, multioutput="uniform_average"):
    """Root mean squared error regression loss.

    ``RMSE = sqrt(mean_i (y_true_i - y_pred_i) ** 2)`` (per output, then
    averaged over outputs, as scikit-learn does).

    Parameters
    ----------
    y_true : array-like of shape (n_samples,) or (n_samples, n_outputs)
        Ground-truth targets, any real numeric dtype (converted to float64).
    y_pred : array-like of shape (n_samples,) or (n_samples, n_outputs)
        Predicted targets, same shape as ``y_true``.
    multioutput : {"uniform_average", "raw_values"}, default="uniform_average"
        How to aggregate multiple outputs.

    Returns
    -------
    float or ndarray of shape (n_outputs,), float64
        Non-negative loss, in the units of the target.
    """
    y_true, y_pred = _check_regression(y_true, y_pred)
    errors = np.sqrt(np.mean((y_true - y_pred) ** 2, axis=0))
    return _average_outputs(errors, multioutput)


def mean_absolute_error(y_true, y_pred, *, multioutput="uniform_average"):
    """Mean absolute error regression loss.

    ``MAE = mean_i |y_true_i - y_pred_i|``

    Parameters
    ----------
    y_true : array-like of shape (n_samples,) or (n_samples, n_outputs)
        Ground-truth targets, any real numeric dtype (converted to float64).
    y_pred : array-like of shape (n_samples,) or (n_samples, n_outputs)
        Predicted targets, same shape as ``y_true``.
    multioutput : {"uniform_average", "raw_values"}, default="uniform_average"
        How to aggregate multiple outputs.

    Returns
    -------
    float or ndarray of shape (n_outputs,), float64
        Non-negative loss, in the units of the target.
    """
    y_true, y_pred = _check_regression(y_true, y_pred)
    errors = np.mean(np.abs(y_pred - y_true), axis=0)
    return _average_outputs(errors, multioutput)


def r2_score(y_true, y_pred, *, multioutput="uniform_average"):
    """Coefficient of determination R^2.

    ``R2 = 1 - sum_i (y_true_i - y_pred_i)**2 / sum_i (y_true_i - mean(y_true))**2``

    Matches scikit-learn's ``force_finite=True`` convention for a constant
    ``y_true`` (zero denominator): 1.0 for a perfect prediction, otherwise 0.0.
    With fewer than two samples R^2 is undefined: an
    :class:`UndefinedMetricWarning` is emitted and NaN returned (as
    scikit-learn).

    Parameters
    ----------
    y_true : array-like of shape (n_samples,) or (n_samples, n_outputs)
        Ground-truth targets, any real numeric dtype (converted to float64).
    y_pred : array-like of shape (n_samples,) or (n_samples, n_outputs)
        Predicted targets, same shape as ``y_true``.
    multioutput : {"uniform_average", "raw_values"}, default="uniform_average"
        How to aggregate multiple outputs.

    Returns
    -------
    float or ndarray of shape (n_outputs,), float64
        At most 1.0 (perfect fit); can be arbitrarily negative.
    """
    y_true, y_pred = _check_regression(y_true, y_pred)
    _average_outputs(np.zeros(1), multioutput)  # validate early
    if y_true.shape[0] < 2:
        warnings.warn(
            "R^2 score is not well-defined with less than two samples.",
            UndefinedMetricWarning,
            stacklevel=2,
        )
        return math.nan
    numerator = np.sum((y_true - y_pred) ** 2, axis=0)
    denominator = np.sum((y_true - np.mean(y_true, axis=0)) ** 2, axis=0)
    nonzero_num = numerator != 0
    nonzero_den = denominator != 0
    scores = np.ones(y_true.shape[1], dtype=np.float64)
    valid = nonzero_num & nonzero_den
    scores[valid] = 1.0 - numerator[valid] / denominator[valid]
    scores[nonzero_num & ~nonzero_den] = 0.0
    return _average_outputs(scores, multioutput)


# ---------------------------------------------------------------------------
# classification metrics
# ---------------------------------------------------------------------------


def accuracy_score(y_true, y_pred, *, normalize=True):
    """Fraction (or count) of exactly correct predictions.

    ``accuracy = (1 / n) * sum_i [y_pred_i == y_true_i]``

    Parameters
    ----------
    y_true : array-like of shape (n_samples,)
        Ground-truth class labels (integers, integral floats, bools or strings).
    y_pred : array-like of shape (n_samples,)
        Predicted class labels, same label type as ``y_true``.
    normalize : bool, default=True
        Return the fraction (float in [0, 1]) if True, else the count (int).

    Returns
    -------
    float or int
    """
    y_true, y_pred, _ = _check_label_pair(y_true, y_pred)
    correct = int(np.count_nonzero(y_true == y_pred))
    if normalize:
        return correct / y_true.shape[0]
    return correct


_PRF_DOC = """
    Parameters
    ----------
    y_true : array-like of shape (n_samples,)
        Ground-truth class labels (integers, integral floats, bools or strings).
    y_pred : array-like of shape (n_samples,)
        Predicted class labels, same label type as ``y_true``.
    average : {"binary", "micro", "macro", "weighted"} or None, default="binary"
        ``"binary"``: score of class ``pos_label`` only; ``y_true`` and
        ``y_pred`` together may hold at most two distinct labels.
        ``"micro"``: computed from TP/FP/FN pooled over all classes.
        ``"macro"``: unweighted mean over classes (sorted union of the labels
        in ``y_true`` and ``y_pred``).
        ``"weighted"``: mean over classes weighted by their support in
        ``y_true``.
        ``None``: ndarray of per-class scores, classes in sorted order.
    pos_label : int, float, bool or str, default=1
        Positive class for ``average="binary"``; ignored otherwise.  If only
        one label is present and it is not ``pos_label``, all counts are zero
        and the ``zero_division`` value is returned (as scikit-learn).
    zero_division : {0.0, 1.0, np.nan, "warn"}, default=0.0
        Value returned where the denominator is zero (e.g. a class that is
        never predicted, for precision).  ``"warn"`` gives 0.0 plus an
        :class:`UndefinedMetricWarning`, exactly like scikit-learn's default;
        the default here is the same value without the warning.  NaN entries
        are skipped when averaging.

    Returns
    -------
    float, or ndarray of shape (n_classes,) float64 when ``average=None``
    """


def precision_score(y_true, y_pred, *, average="binary", pos_label=1,
                    zero_division=0.0):
    p, _, _, _ = _prfs(
        y_true, y_pred, average=average, pos_label=pos_label,
        zero_division=zero_division, _warn_for=("precision",),
    )
    return p


precision_score.__doc__ = (
    """Precision: the fraction of predicted positives that are correct.

    ``precision = TP / (TP + FP)``
""" + _PRF_DOC
)


def recall_score(y_true, y_pred, *, average="binary", pos_label=1,
                 zero_division=0.0):
    _, r, _, _ = _prfs(
        y_true, y_pred, average=average, pos_label=pos_label,
        zero_division=zero_division, _warn_for=("recall",),
    )
    return r


recall_score.__doc__ = (
    """Recall (sensitivity): the fraction of actual positives that are found.

    ``recall = TP / (TP + FN)``
""" + _PRF_DOC
)


def f1_score(y_true, y_pred, *, average="binary", pos_label=1,
             zero_division=0.0):
    _, _, f, _ = _prfs(
        y_true, y_pred, average=average, pos_label=pos_label,
        zero_division=zero_division, _warn_for=("f-score",),
    )
    return f


f1_score.__doc__ = (
    """F1 score: harmonic mean of precision and recall.

    ``F1 = 2 * TP / (2 * TP + FP + FN)`` (= 2PR / (P + R); ``zero_division``
    applies only when TP + FP + FN == 0, as in scikit-learn >= 1.3)
""" + _PRF_DOC
)


def confusion_matrix(y_true, y_pred, labels=None):
    """Confusion matrix with true labels as rows and predictions as columns.

    ``C[i, j] = #{k : y_true_k == labels[i] and y_pred_k == labels[j]}``

    Parameters
    ----------
    y_true : array-like of shape (n_samples,)
        Ground-truth class labels (integers, integral floats, bools or strings).
    y_pred : array-like of shape (n_samples,)
        Predicted class labels, same label type as ``y_true``.
    labels : array-like of shape (n_classes,), default=None
        Label order of the rows/columns.  Defaults to the sorted union of the
        labels in ``y_true`` and ``y_pred``.  Samples whose true or predicted
        label is not listed are ignored.  At least one of ``labels`` must
        occur in ``y_true`` (as scikit-learn).

    Returns
    -------
    ndarray of shape (n_classes, n_classes), int64
    """
    y_true, y_pred, present = _check_label_pair(y_true, y_pred)
    if labels is None:
        labels = present
    else:
        labels, kind = _as_labels(labels, "labels")
        if labels.shape[0] == 0:
            raise ValueError("'labels' should contain at least one label")
        uniq = np.unique(labels)
        if uniq.shape[0] != labels.shape[0]:
            raise ValueError(f"'labels' contains duplicates: {labels.tolist()}")
        present_kind = "string" if present.dtype.kind in "US" else "number"
        if kind != present_kind:
            raise ValueError(
                f"'labels' are {kind}s but y_true/y_pred hold {present_kind} labels"
            )
        if not np.any(np.isin(labels, y_true)):
            raise ValueError("At least one label specified must be in y_true")
    k = labels.shape[0]
    sorter = np.argsort(labels, kind="stable")
    sorted_labels = labels[sorter]

    def _index(y):
        pos = np.clip(np.searchsorted(sorted_labels, y), 0, k - 1)
        found = sorted_labels[pos] == y
        return sorter[pos], found

    ti, t_ok = _index(y_true)
    pi, p_ok = _index(y_pred)
    keep = t_ok & p_ok
    flat = ti[keep].astype(np.int64) * k + pi[keep]
    return np.bincount(flat, minlength=k * k).reshape(k, k).astype(np.int64)


def classification_report(y_true, y_pred, *, target_names=None, digits=2,
                          zero_division=0.0):
    """Plain-text per-class precision / recall / F1 / support table.

    Same layout as ``sklearn.metrics.classification_report`` (per-class rows,
    then ``accuracy``, ``macro avg`` and ``weighted avg``).

    Parameters
    ----------
    y_true : array-like of shape (n_samples,)
        Ground-truth class labels.
    y_pred : array-like of shape (n_samples,)
        Predicted class labels.
    target_names : list of str of length n_classes, default=None
        Display names for the sorted labels.
    digits : int, default=2
        Number of decimals for the floating-point columns.
    zero_division : {0.0, 1.0, np.nan, "warn"}, default=0.0
        See :func:`precision_score`.

    Returns
    -------
    str
    """
    y_true, y_pred, labels = _check_label_pair(y_true, y_pred)
    if target_names is None:
        target_names = [f"{label}" for label in labels.tolist()]
    elif len(target_names) != labels.shape[0]:
        raise ValueError(
            f"Number of classes, {labels.shape[0]}, does not match size of "
            f"target_names, {len(target_names)}"
        )
    headers = ["precision", "recall", "f1-score", "support"]
    p, r, f1, s = precision_recall_fscore_support(
        y_true, y_pred, average=None, zero_division=zero_division
    )
    width = max(max(len(n) for n in target_names), len("weighted avg"), digits)
    report = ("{:>{width}s} " + " {:>9}" * 4).format("", *headers, width=width)
    report += "\n\n"
    row_fmt = "{:>{width}s} " + " {:>9.{digits}f}" * 3 + " {:>9}\n"
    for row in zip(target_names, p, r, f1, s):
        report += row_fmt.format(*row, width=width, digits=digits)
    report += "\n"
    total = int(np.sum(s))
    for average in ("micro", "macro", "weighted"):
        ap, ar, af, _ = precision_recall_fscore_support(
            y_true, y_pred, average=average, zero_division=zero_division
        )
        if average == "micro":
            fmt = ("{:>{width}s} " + " {:>9.{digits}}" * 2 + " {:>9.{digits}f}"
                   + " {:>9}\n")
            report += fmt.format("accuracy", "", "", af, total, width=width,
                                 digits=digits)
        else:
            report += row_fmt.format(f"{average} avg", ap, ar, af, total,
                                     width=width, digits=digits)
    return report


# ---------------------------------------------------------------------------
# ranking metrics
# ---------------------------------------------------------------------------


def _trapezoid(y, x):
    trap = getattr(np, "trapezoid", None) or np.trapz  # numpy < 2.0
    return float(trap(y, x))


def _check_binary_scores(y_true, y_score):
    y_true, _ = _as_labels(y_true, "y_true")
    y_score = _as_numeric(y_score, "y_score", allowed_ndim=(1,))
    _check_consistent_length(y_true, y_score, "y_true", "y_score")
    if y_true.shape[0] == 0:
        raise ValueError("y_true and y_score are empty; need at least one sample")
    return y_true, y_score


def _resolve_pos_label(y_true, pos_label):
    classes = np.unique(y_true)
    if pos_label is None:
        allowed = ([0, 1], [-1, 1], [0], [-1], [1])
        ok = classes.dtype.kind not in "USO" and any(
            classes.tolist() == a for a in allowed
        )
        if not ok:
            if classes.shape[0] > 2:
                raise ValueError(
                    f"y_true has {classes.shape[0]} classes (multiclass format is "
                    "not supported); pass pos_label to score one class vs rest"
                )
            classes_repr = ", ".join(repr(c) for c in classes.tolist())
            raise ValueError(
                f"y_true takes value in {{{classes_repr}}} and pos_label is not "
                "specified: either make y_true take value in {0, 1} or "
                "{-1, 1} or pass pos_label explicitly."
            )
        pos_label = 1
    return pos_label


def roc_curve(y_true, y_score, *, pos_label=None, drop_intermediate=True):
    """Receiver operating characteristic curve for a binary problem.

    ``fpr[k] = FP(t_k) / N``, ``tpr[k] = TP(t_k) / P``, where ``TP(t)``/``FP(t)``
    count positives/negatives with ``y_score >= t``.

    Matches ``sklearn.metrics.roc_curve`` (scikit-learn >= 1.3): thresholds are
    the distinct score values in decreasing order (tied scores form a single
    point) preceded by ``np.inf`` so the curve starts at (0, 0).

    Parameters
    ----------
    y_true : array-like of shape (n_samples,)
        True binary labels.  Without ``pos_label`` they must lie in {0, 1} or
        {-1, 1}; otherwise every label other than ``pos_label`` is negative.
    y_score : array-like of shape (n_samples,)
        Finite real scores (probabilities or decision values); higher means
        more likely positive.  NaN/inf raise ``ValueError``.
    pos_label : int, float, bool or str, default=None
        Label of the positive class (1 when ``None``).
    drop_intermediate : bool, default=True
        Drop thresholds whose point is collinear with its neighbours (same
        default and rule as scikit-learn); does not change the AUC.

    Returns
    -------
    fpr : ndarray of shape (n_thresholds,), float64
        Increasing false-positive rates.  All NaN (with an
        :class:`UndefinedMetricWarning`) when there are no negatives.
    tpr : ndarray of shape (n_thresholds,), float64
        Increasing true-positive rates.  All NaN (with a warning) when there
        are no positives.
    thresholds : ndarray of shape (n_thresholds,), float64
        Decreasing thresholds, ``thresholds[0] == np.inf``.
    """
    y_true, y_score = _check_binary_scores(y_true, y_score)
    pos_label = _resolve_pos_label(y_true, pos_label)
    label_is_str = y_true.dtype.kind in "US"
    if label_is_str == isinstance(pos_label, str):
        is_pos = np.asarray(y_true == pos_label, dtype=bool)
    else:  # incomparable types: no sample is positive
        is_pos = np.zeros(y_true.shape[0], dtype=bool)
    y = is_pos.astype(np.float64)

    order = np.argsort(y_score, kind="stable")[::-1]
    score = y_score[order]
    y = y[order]
    distinct = np.nonzero(np.diff(score))[0]
    idx = np.r_[distinct, score.shape[0] - 1]
    tps = np.cumsum(y)[idx]
    fps = 1.0 + idx - tps
    thresholds = score[idx]

    if drop_intermediate and fps.shape[0] > 2:
        keep = np.r_[True, np.logical_or(np.diff(fps, 2), np.diff(tps, 2)), True]
        keep = np.nonzero(keep)[0]
        fps, tps, thresholds = fps[keep], tps[keep], thresholds[keep]

    tps = np.r_[0.0, tps]
    fps = np.r_[0.0, fps]
    thresholds = np.r_[np.inf, thresholds].astype(np.float64)

    if fps[-1] <= 0:
        warnings.warn(
            "No negative samples in y_true, false positive value should be "
            "meaningless", UndefinedMetricWarning, stacklevel=2,
        )
        fpr = np.full(fps.shape, np.nan)
    else:
        fpr = fps / fps[-1]
    if tps[-1] <= 0:
        warnings.warn(
            "No positive samples in y_true, true positive value should be "
            "meaningless", UndefinedMetricWarning, stacklevel=2,
        )
        tpr = np.full(tps.shape, np.nan)
    else:
        tpr = tps / tps[-1]
    return fpr, tpr, thresholds


def roc_auc_score(y_true, y_score):
    """Area under the ROC curve for binary labels.

    ``AUC = trapezoid(tpr, fpr)`` over the ROC points of :func:`roc_curve`
    (tied scores grouped into one point, so a tie counts as half a correct
    ranking), i.e. ``P(score_pos > score_neg) + 0.5 * P(score_pos == score_neg)``.

    Parameters
    ----------
    y_true : array-like of shape (n_samples,)
        Binary labels (any two distinct values; the larger one in sorted order
        is the positive class, as scikit-learn's ``label_binarize``).
    y_score : array-like of shape (n_samples,)
        Finite real scores, higher meaning more likely the positive class.

    Returns
    -------
    float
        In [0, 1]; 0.5 is chance level.

    Raises
    ------
    ValueError
        If ``y_true`` contains only one class (AUC is undefined; recent
        scikit-learn releases warn and return NaN instead) or more than two.
    """
    y_true, y_score = _check_binary_scores(y_true, y_score)
    classes = np.unique(y_true)
    if classes.shape[0] < 2:
        raise ValueError(
            "Only one class is present in y_true (label "
            f"{classes.tolist()[0]!r}). ROC AUC score is not defined in that case."
        )
    if classes.shape[0] > 2:
        raise ValueError(
            f"roc_auc_score supports binary y_true only; got {classes.shape[0]} "
            f"classes: {classes.tolist()}"
        )
    fpr, tpr, _ = roc_curve(y_true, y_score, pos_label=classes.tolist()[1])
    return _trapezoid(tpr, fpr)
