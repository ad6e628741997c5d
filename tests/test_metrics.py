"""nnkernels.metrics.confusion_matrix (what the pictures need without scikit-learn)
against scikit-learn's."""
import numpy as np
import pytest
from hypothesis import given, strategies as st

from nnkernels.metrics import confusion_matrix

sklearn_metrics = pytest.importorskip("sklearn.metrics")


@given(st.integers(1, 12).flatmap(lambda k: st.tuples(
    st.just(k), st.lists(st.tuples(st.integers(0, k - 1), st.integers(0, k - 1)),
                         max_size=60))))
def test_matches_scikit_learn(case):
    k, pairs = case
    y_true = np.array([t for t, _ in pairs], np.int64)
    y_pred = np.array([p for _, p in pairs], np.int64)
    ours = confusion_matrix(y_true, y_pred, k)
    assert ours.shape == (k, k) and ours.dtype == np.int64 and ours.sum() == len(pairs)
    if pairs and k > 1:  # scikit-learn warns about a single label
        np.testing.assert_array_equal(
            ours, sklearn_metrics.confusion_matrix(y_true, y_pred, labels=np.arange(k)))


@pytest.mark.parametrize("y_true,y_pred,match", [
    ([0, 1], [0], "one length"),
    ([0, 3], [0, 1], r"y_true must hold integer classes in \[0, 3\)"),
    ([0, 1], [0.5, 1.0], "y_pred must hold integer classes"),
    ([[0, 1]], [[0, 1]], "1-D"),
])
def test_bad_input_names_the_argument(y_true, y_pred, match):
    with pytest.raises(ValueError, match=match):
        confusion_matrix(y_true, y_pred, 3)
