"""Tests for nnkernels.metrics, using scikit-learn as the oracle."""

import math
import warnings

import numpy as np
import pytest

hypothesis = pytest.importorskip("hypothesis")
sklearn_metrics = pytest.importorskip("sklearn.metrics")

from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from nnkernels import metrics as M  # noqa: E402

sk = sklearn_metrics

# database=None: do not write a .hypothesis/ directory into the repository.
FAST = settings(max_examples=30, deadline=None, database=None)

TOL = dict(rtol=1e-12, atol=1e-12)


def assert_close(actual, expected):
    np.testing.assert_allclose(actual, expected, equal_nan=True, **TOL)


def sk_quiet(fn, *args, **kwargs):
    """Call a scikit-learn function, silencing its UndefinedMetricWarnings."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return fn(*args, **kwargs)


def ours_quiet(fn, *args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", M.UndefinedMetricWarning)
        return fn(*args, **kwargs)


# ---------------------------------------------------------------------------
# strategies
# ---------------------------------------------------------------------------

finite = st.floats(-1e3, 1e3, allow_nan=False, allow_infinity=False)


@st.composite
def regression_pair(draw):
    n = draw(st.integers(1, 25))
    n_out = draw(st.sampled_from([None, 1, 2, 3]))
    shape = (n,) if n_out is None else (n, n_out)
    size = int(np.prod(shape))
    y_true = np.array(draw(st.lists(finite, min_size=size, max_size=size))).reshape(shape)
    y_pred = np.array(draw(st.lists(finite, min_size=size, max_size=size))).reshape(shape)
    return y_true, y_pred


@st.composite
def label_pair(draw, max_classes=5):
    n = draw(st.integers(1, 40))
    k = draw(st.integers(1, max_classes))
    lab = st.integers(0, k - 1)
    y_true = np.array(draw(st.lists(lab, min_size=n, max_size=n)))
    y_pred = np.array(draw(st.lists(lab, min_size=n, max_size=n)))
    return y_true, y_pred


@st.composite
def scored_binary(draw, both_classes=True):
    n = draw(st.integers(2 if both_classes else 1, 40))
    y = draw(st.lists(st.integers(0, 1), min_size=n, max_size=n))
    if both_classes and len(set(y)) < 2:
        y[0], y[-1] = 0, 1
    # Few distinct values -> many ties; or continuous scores.
    score_el = draw(st.sampled_from([
        st.integers(0, 3).map(float),
        st.floats(-5, 5, allow_nan=False, allow_infinity=False),
    ]))
    s = draw(st.lists(score_el, min_size=n, max_size=n))
    return np.array(y), np.array(s, dtype=np.float64)


ZERO_DIV = [0.0, 1.0, np.nan]


# ---------------------------------------------------------------------------
# regression metrics vs scikit-learn
# ---------------------------------------------------------------------------

REGRESSION = [
    ("mean_squared_error", sk.mean_squared_error),
    ("root_mean_squared_error", sk.root_mean_squared_error),
    ("mean_absolute_error", sk.mean_absolute_error),
    ("r2_score", sk.r2_score),
]


@FAST
@given(data=regression_pair())
def test_regression_matches_sklearn(data):
    y_true, y_pred = data
    for name, oracle in REGRESSION:
        ours = ours_quiet(getattr(M, name), y_true, y_pred)
        expected = sk_quiet(oracle, y_true, y_pred)
        assert isinstance(ours, float), name
        assert_close(ours, expected)


@pytest.mark.parametrize("name,oracle", REGRESSION, ids=[r[0] for r in REGRESSION])
def test_regression_raw_values_matches_sklearn(name, oracle):
    rng = np.random.default_rng(1)
    y_true = rng.normal(size=(30, 3))
    y_pred = y_true + rng.normal(scale=0.5, size=(30, 3))
    y_true[:, 1] = 4.0  # constant output column
    ours = getattr(M, name)(y_true, y_pred, multioutput="raw_values")
    assert ours.shape == (3,)
    assert_close(ours, oracle(y_true, y_pred, multioutput="raw_values"))


def test_regression_known_values():
    y_true = [3.0, -0.5, 2.0, 7.0]
    y_pred = [2.5, 0.0, 2.0, 8.0]
    assert M.mean_squared_error(y_true, y_pred) == pytest.approx(0.375, abs=1e-12)
    assert M.root_mean_squared_error(y_true, y_pred) == pytest.approx(
        math.sqrt(0.375), abs=1e-12)
    assert M.mean_absolute_error(y_true, y_pred) == pytest.approx(0.5, abs=1e-12)
    assert M.r2_score(y_true, y_pred) == pytest.approx(0.9486081370449679, abs=1e-12)


def test_regression_accepts_column_vector_against_1d():
    y_true = np.arange(5.0)
    y_pred = (np.arange(5.0) + 0.5).reshape(-1, 1)
    assert M.mean_squared_error(y_true, y_pred) == pytest.approx(0.25, abs=1e-12)
    assert_close(M.r2_score(y_true, y_pred), sk.r2_score(y_true, y_pred))


def test_regression_accepts_ints_and_bools():
    assert M.mean_absolute_error([1, 2, 3], [True, False, True]) == pytest.approx(
        sk.mean_absolute_error([1, 2, 3], [1, 0, 1]), abs=1e-12)


@pytest.mark.parametrize("y_pred,expected", [([5, 5, 5], 1.0), ([5, 5, 6], 0.0)])
def test_r2_constant_y_true_matches_sklearn(y_pred, expected):
    y_true = [5.0, 5.0, 5.0]
    assert M.r2_score(y_true, y_pred) == expected
    assert sk.r2_score(y_true, y_pred) == expected


def test_r2_constant_float_y_true_matches_sklearn_bit_for_bit():
    # mean(0.1, 0.1, 0.1) != 0.1 in floating point: scikit-learn then gets a
    # tiny non-zero denominator and a huge negative score; we reproduce it.
    y_true, y_pred = [0.1, 0.1, 0.1], [0.1, 0.1, 0.2]
    assert M.r2_score(y_true, y_pred) == sk.r2_score(y_true, y_pred)


def test_r2_single_sample_is_nan_with_warning_like_sklearn():
    with pytest.warns(M.UndefinedMetricWarning, match="less than two samples"):
        ours = M.r2_score([1.0], [2.0])
    assert math.isnan(ours)
    assert math.isnan(sk_quiet(sk.r2_score, [1.0], [2.0]))


# ---------------------------------------------------------------------------
# classification metrics vs scikit-learn
# ---------------------------------------------------------------------------

PRF = [
    ("precision_score", sk.precision_score),
    ("recall_score", sk.recall_score),
    ("f1_score", sk.f1_score),
]
PRF_IDS = [p[0] for p in PRF]


def check_prf_against_sklearn(y_true, y_pred, **kwargs):
    """Compare precision/recall/f1 with one sklearn call for all three."""
    expected = sk.precision_recall_fscore_support(y_true, y_pred, **kwargs)
    for (name, _), exp in zip(PRF, expected[:3]):
        assert_close(getattr(M, name)(y_true, y_pred, **kwargs), exp)
    if kwargs["average"] is None:
        np.testing.assert_array_equal(
            M.precision_recall_fscore_support(y_true, y_pred, **kwargs)[3],
            expected[3])


@FAST
@given(data=label_pair())
def test_accuracy_and_confusion_matrix_match_sklearn(data):
    y_true, y_pred = data
    assert_close(M.accuracy_score(y_true, y_pred), sk.accuracy_score(y_true, y_pred))
    assert M.accuracy_score(y_true, y_pred, normalize=False) == int(
        sk.accuracy_score(y_true, y_pred, normalize=False))
    ours = M.confusion_matrix(y_true, y_pred)
    np.testing.assert_array_equal(ours, sk_quiet(sk.confusion_matrix, y_true, y_pred))
    assert ours.dtype == np.int64


@FAST
@given(data=label_pair(), zero_division=st.sampled_from(ZERO_DIV))
def test_prf_multiclass_matches_sklearn(data, zero_division):
    y_true, y_pred = data
    for average in ("macro", "micro", "weighted", None):
        check_prf_against_sklearn(y_true, y_pred, average=average,
                                  zero_division=zero_division)


@FAST
@given(data=label_pair(max_classes=2), zero_division=st.sampled_from(ZERO_DIV),
       pos_label=st.sampled_from([0, 1]))
def test_prf_binary_matches_sklearn(data, zero_division, pos_label):
    y_true, y_pred = data
    check_prf_against_sklearn(y_true, y_pred, average="binary", pos_label=pos_label,
                              zero_division=zero_division)


@pytest.mark.parametrize("zero_division", ZERO_DIV)
def test_prf_class_never_predicted(zero_division):
    # class 2 is never predicted -> its precision is 0/0.
    y_true = [0, 1, 2, 2, 1, 0]
    y_pred = [0, 1, 1, 0, 1, 0]
    for average in ("macro", "weighted", "micro", None):
        check_prf_against_sklearn(y_true, y_pred, average=average,
                                  zero_division=zero_division)


@pytest.mark.parametrize("zero_division", ZERO_DIV)
def test_precision_positive_never_predicted_binary(zero_division):
    y_true, y_pred = [0, 1, 1, 0], [0, 0, 0, 0]
    ours = M.precision_score(y_true, y_pred, zero_division=zero_division)
    assert_close(ours, sk.precision_score(y_true, y_pred, zero_division=zero_division))
    assert M.recall_score(y_true, y_pred, zero_division=zero_division) == 0.0
    assert M.f1_score(y_true, y_pred, zero_division=zero_division) == 0.0


def test_default_zero_division_is_warning_free_zero_like_sklearn_warn():
    y_true, y_pred = [0, 1, 1, 0], [0, 0, 0, 0]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        ours = M.precision_score(y_true, y_pred)
    from sklearn.exceptions import UndefinedMetricWarning as SkUndefined

    with pytest.warns(SkUndefined):
        expected = sk.precision_score(y_true, y_pred)
    assert ours == expected == 0.0


def test_zero_division_warn_warns_like_sklearn():
    with pytest.warns(M.UndefinedMetricWarning, match="ill-defined"):
        assert M.precision_score([0, 1], [0, 0], zero_division="warn") == 0.0


@pytest.mark.parametrize("zero_division", ZERO_DIV)
@pytest.mark.parametrize("labels", [[0, 0, 0], [1, 1, 1], [3, 3, 3]])
def test_prf_only_one_class_present(zero_division, labels):
    for average in ("binary", "macro", "micro", "weighted"):
        check_prf_against_sklearn(labels, labels, average=average,
                                  zero_division=zero_division)


@pytest.mark.parametrize("name,oracle", PRF, ids=PRF_IDS)
def test_prf_all_correct(name, oracle):
    y = [0, 1, 2, 2, 1, 0, 3]
    for average in ("macro", "micro", "weighted"):
        assert getattr(M, name)(y, y, average=average) == 1.0
        assert oracle(y, y, average=average) == 1.0
    assert getattr(M, name)([0, 1, 1], [0, 1, 1]) == 1.0
    assert M.accuracy_score(y, y) == 1.0


@pytest.mark.parametrize("name,oracle", PRF, ids=PRF_IDS)
def test_prf_string_labels(name, oracle):
    y_true = ["cat", "dog", "dog", "bird", "cat", "dog"]
    y_pred = ["cat", "cat", "dog", "dog", "cat", "bird"]
    for average in ("macro", "micro", "weighted"):
        assert_close(getattr(M, name)(y_true, y_pred, average=average),
                     oracle(y_true, y_pred, average=average))
    yb_true, yb_pred = ["no", "yes", "yes", "no"], ["no", "yes", "no", "yes"]
    assert_close(getattr(M, name)(yb_true, yb_pred, pos_label="yes"),
                 oracle(yb_true, yb_pred, pos_label="yes"))


def test_prf_per_class_support():
    p, r, f, s = M.precision_recall_fscore_support([0, 1, 1, 2], [0, 1, 0, 2],
                                                   average=None)
    ep, er, ef, es = sk.precision_recall_fscore_support([0, 1, 1, 2], [0, 1, 0, 2],
                                                        average=None)
    assert_close(p, ep)
    assert_close(r, er)
    assert_close(f, ef)
    np.testing.assert_array_equal(s, es)


def test_confusion_matrix_orientation_rows_true_cols_pred():
    cm = M.confusion_matrix([0, 0, 1], [1, 1, 1])
    np.testing.assert_array_equal(cm, [[0, 2], [0, 1]])


@pytest.mark.parametrize("labels", [[2, 0, 1], [1, 0], [0, 1, 2, 7], [2]])
def test_confusion_matrix_labels_matches_sklearn(labels):
    y_true = [0, 1, 2, 2, 1, 0, 1]
    y_pred = [0, 2, 2, 1, 1, 0, 7]
    np.testing.assert_array_equal(
        M.confusion_matrix(y_true, y_pred, labels=labels),
        sk_quiet(sk.confusion_matrix, y_true, y_pred, labels=labels))


def test_confusion_matrix_string_labels():
    y_true = ["a", "b", "c", "a"]
    y_pred = ["a", "c", "c", "b"]
    np.testing.assert_array_equal(M.confusion_matrix(y_true, y_pred),
                                  sk.confusion_matrix(y_true, y_pred))
    np.testing.assert_array_equal(
        M.confusion_matrix(y_true, y_pred, labels=["c", "a"]),
        sk.confusion_matrix(y_true, y_pred, labels=["c", "a"]))


@pytest.mark.parametrize("digits", [2, 4])
def test_classification_report_matches_sklearn_text(digits):
    rng = np.random.default_rng(3)
    y_true = rng.integers(0, 4, 80)
    y_pred = rng.integers(0, 4, 80)
    assert M.classification_report(y_true, y_pred, digits=digits) == \
        sk.classification_report(y_true, y_pred, digits=digits)
    names = ["zero", "one", "two", "three-long-name"]
    assert M.classification_report(y_true, y_pred, target_names=names) == \
        sk.classification_report(y_true, y_pred, target_names=names)


# ---------------------------------------------------------------------------
# ROC
# ---------------------------------------------------------------------------


@FAST
@given(data=scored_binary(), drop_intermediate=st.booleans())
def test_roc_curve_matches_sklearn(data, drop_intermediate):
    y, s = data
    fpr, tpr, thr = M.roc_curve(y, s, drop_intermediate=drop_intermediate)
    efpr, etpr, ethr = sk.roc_curve(y, s, drop_intermediate=drop_intermediate)
    assert fpr.shape == efpr.shape
    assert_close(fpr, efpr)
    assert_close(tpr, etpr)
    np.testing.assert_array_equal(thr, ethr)
    assert thr[0] == np.inf


@FAST
@given(data=scored_binary())
def test_roc_auc_matches_sklearn_and_mann_whitney(data):
    y, s = data
    ours = M.roc_auc_score(y, s)
    assert ours == pytest.approx(sk.roc_auc_score(y, s), abs=1e-12)
    pos, neg = s[y == 1], s[y == 0]
    diff = pos[:, None] - neg[None, :]
    mann_whitney = ((diff > 0).sum() + 0.5 * (diff == 0).sum()) / diff.size
    assert ours == pytest.approx(mann_whitney, abs=1e-12)


def test_roc_auc_ties_known_value():
    # all scores tied -> a single diagonal segment -> AUC 0.5
    assert M.roc_auc_score([0, 1, 0, 1], [0.3, 0.3, 0.3, 0.3]) == 0.5
    y, s = [0, 0, 1, 1, 1], [0.1, 0.5, 0.5, 0.5, 0.9]
    assert M.roc_auc_score(y, s) == pytest.approx(sk.roc_auc_score(y, s), abs=1e-12)
    assert M.roc_auc_score(y, s) == pytest.approx(5 / 6, abs=1e-12)


def test_roc_auc_perfect_and_inverted():
    assert M.roc_auc_score([0, 0, 1, 1], [0.1, 0.2, 0.8, 0.9]) == 1.0
    assert M.roc_auc_score([0, 0, 1, 1], [0.9, 0.8, 0.2, 0.1]) == 0.0


@pytest.mark.parametrize("y", [[1, 2, 2, 1], [-1, 1, 1, -1], ["neg", "pos", "pos", "neg"],
                               [False, True, True, False]])
def test_roc_auc_other_binary_label_sets(y):
    s = [0.2, 0.7, 0.4, 0.5]
    assert M.roc_auc_score(y, s) == pytest.approx(sk.roc_auc_score(y, s), abs=1e-12)


def test_roc_curve_pos_label():
    y, s = [1, 1, 2, 2], [0.1, 0.4, 0.35, 0.8]
    for ours, expected in zip(M.roc_curve(y, s, pos_label=2),
                              sk.roc_curve(y, s, pos_label=2)):
        assert_close(ours, expected)
    for ours, expected in zip(M.roc_curve(["a", "b", "b"], s[:3], pos_label="b"),
                              sk.roc_curve(["a", "b", "b"], s[:3], pos_label="b")):
        assert_close(ours, expected)


def test_roc_curve_single_class_warns_and_nans_like_sklearn():
    with pytest.warns(M.UndefinedMetricWarning, match="No negative samples"):
        fpr, tpr, thr = M.roc_curve([1, 1, 1], [0.2, 0.4, 0.4])
    efpr, etpr, ethr = sk_quiet(sk.roc_curve, [1, 1, 1], [0.2, 0.4, 0.4])
    assert_close(fpr, efpr)
    assert_close(tpr, etpr)
    assert_close(thr, ethr)


# ---------------------------------------------------------------------------
# bad inputs: each its own test, asserting the message
# ---------------------------------------------------------------------------

TWO_ARG = [
    M.mean_squared_error, M.root_mean_squared_error, M.mean_absolute_error,
    M.r2_score, M.accuracy_score, M.precision_score, M.recall_score, M.f1_score,
    M.confusion_matrix, M.classification_report,
]
TWO_ARG_IDS = [f.__name__ for f in TWO_ARG]


@pytest.mark.parametrize("fn", TWO_ARG, ids=TWO_ARG_IDS)
def test_mismatched_lengths_names_both_arguments(fn):
    with pytest.raises(ValueError, match=r"y_true and y_pred.*len\(y_true\)=3, "
                                         r"len\(y_pred\)=2"):
        fn([0, 1, 1], [0, 1])


@pytest.mark.parametrize("fn", [M.roc_curve, M.roc_auc_score],
                         ids=["roc_curve", "roc_auc_score"])
def test_roc_mismatched_lengths_names_both_arguments(fn):
    with pytest.raises(ValueError, match=r"len\(y_true\)=4, len\(y_score\)=3"):
        fn([0, 1, 1, 0], [0.1, 0.2, 0.3])


@pytest.mark.parametrize("fn", TWO_ARG + [M.roc_curve, M.roc_auc_score],
                         ids=TWO_ARG_IDS + ["roc_curve", "roc_auc_score"])
def test_empty_input_raises(fn):
    with pytest.raises(ValueError, match="empty"):
        fn([], [])


@pytest.mark.parametrize("fn", [M.roc_curve, M.roc_auc_score],
                         ids=["roc_curve", "roc_auc_score"])
def test_nan_in_scores_raises(fn):
    with pytest.raises(ValueError, match="y_score contains NaN"):
        fn([0, 1, 1], [0.1, np.nan, 0.3])


def test_inf_in_scores_raises():
    with pytest.raises(ValueError, match="y_score contains infinity"):
        M.roc_auc_score([0, 1, 1], [0.1, np.inf, 0.3])


def test_nan_in_regression_input_raises():
    with pytest.raises(ValueError, match="y_pred contains NaN"):
        M.mean_squared_error([1.0, 2.0], [1.0, np.nan])


def test_non_numeric_regression_input_raises_type_error():
    with pytest.raises(TypeError, match="y_true must be numeric"):
        M.mean_absolute_error(["a", "b"], [1.0, 2.0])


def test_non_numeric_object_regression_input_raises_type_error():
    with pytest.raises(TypeError, match="y_pred must contain only numbers.*'x'"):
        M.r2_score([1.0, 2.0], np.array([1.0, "x"], dtype=object))


def test_non_numeric_scores_raise_type_error():
    with pytest.raises(TypeError, match="y_score must be numeric"):
        M.roc_auc_score([0, 1], ["low", "high"])


def test_regression_output_count_mismatch():
    with pytest.raises(ValueError, match="y_true has 2, y_pred has 3"):
        M.mean_squared_error(np.zeros((4, 2)), np.zeros((4, 3)))


def test_regression_3d_input_raises():
    with pytest.raises(ValueError, match=r"y_true must be 1-D or 2-D.*\(2, 2, 2\)"):
        M.mean_squared_error(np.zeros((2, 2, 2)), np.zeros((2, 2, 2)))


def test_invalid_multioutput_raises():
    with pytest.raises(ValueError, match="multioutput.*'variance_weighted'"):
        M.r2_score([1.0, 2.0], [1.0, 2.0], multioutput="variance_weighted")


def test_continuous_labels_raise():
    with pytest.raises(ValueError, match=r"y_pred contains non-integer float values.*0\.7"):
        M.accuracy_score([0, 1], [0.0, 0.7])


def test_mixed_string_and_number_labels_raise():
    with pytest.raises(ValueError, match="Mix of label input types"):
        M.f1_score([0, 1], ["0", "1"], average="macro")


def test_2d_labels_raise():
    with pytest.raises(ValueError, match=r"y_true must be a 1-D array.*\(2, 2\)"):
        M.accuracy_score([[0, 1], [1, 0]], [[0, 1], [1, 0]])


def test_invalid_average_raises():
    with pytest.raises(ValueError, match="average=.samples."):
        M.precision_score([0, 1], [0, 1], average="samples")


@pytest.mark.parametrize("zd", [0.5, "ignore", True])
def test_invalid_zero_division_raises(zd):
    with pytest.raises(ValueError, match="zero_division"):
        M.recall_score([0, 1], [0, 1], zero_division=zd)


def test_binary_average_on_multiclass_raises():
    with pytest.raises(ValueError, match=r"multiclass \(3 distinct labels\).*average='binary'"):
        M.f1_score([0, 1, 2], [0, 1, 2])


def test_invalid_pos_label_raises():
    with pytest.raises(ValueError, match=r"pos_label=5 is not a valid label.*\[0, 1\]"):
        M.precision_score([0, 1, 1], [0, 1, 0], pos_label=5)


def test_roc_auc_single_class_raises():
    # scikit-learn >= 1.6 warns and returns NaN; we raise a clear error.
    with pytest.raises(ValueError, match="Only one class is present in y_true"):
        M.roc_auc_score([1, 1, 1], [0.1, 0.5, 0.9])


def test_roc_auc_multiclass_raises():
    with pytest.raises(ValueError, match="binary y_true only; got 3 classes"):
        M.roc_auc_score([0, 1, 2], [0.1, 0.5, 0.9])


def test_roc_curve_needs_pos_label_for_other_labels():
    with pytest.raises(ValueError, match=r"y_true takes value in \{1, 2\} and pos_label"):
        M.roc_curve([1, 2, 2], [0.1, 0.5, 0.9])


def test_roc_curve_multiclass_without_pos_label_raises():
    with pytest.raises(ValueError, match="multiclass format is not supported"):
        M.roc_curve([0, 1, 2], [0.1, 0.5, 0.9])


def test_roc_scores_must_be_1d():
    with pytest.raises(ValueError, match=r"y_score must be 1-D.*\(3, 2\)"):
        M.roc_auc_score([0, 1, 1], np.zeros((3, 2)))


def test_confusion_matrix_labels_not_in_y_true_raises():
    with pytest.raises(ValueError, match="At least one label specified must be in y_true"):
        M.confusion_matrix([0, 1], [0, 1], labels=[5, 6])


def test_confusion_matrix_empty_labels_raises():
    with pytest.raises(ValueError, match="at least one label"):
        M.confusion_matrix([0, 1], [0, 1], labels=[])


def test_confusion_matrix_duplicate_labels_raises():
    with pytest.raises(ValueError, match="duplicates"):
        M.confusion_matrix([0, 1], [0, 1], labels=[0, 1, 0])


def test_classification_report_target_names_mismatch():
    with pytest.raises(ValueError, match="Number of classes, 2, does not match size "
                                         "of target_names, 3"):
        M.classification_report([0, 1], [0, 1], target_names=["a", "b", "c"])
