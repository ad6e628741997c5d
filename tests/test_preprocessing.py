"""Tests for nnkernels.preprocessing, using scikit-learn as the oracle."""

import math

import numpy as np
import pytest

hypothesis = pytest.importorskip("hypothesis")
sk_pre = pytest.importorskip("sklearn.preprocessing")

from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402
from hypothesis.extra import numpy as hnp  # noqa: E402

from nnkernels.preprocessing import (  # noqa: E402
    MinMaxScaler,
    NotFittedError,
    StandardScaler,
    one_hot,
    train_test_split,
)

# database=None: do not write a .hypothesis/ example database.
FAST = settings(max_examples=30, deadline=None, database=None)

TOL = dict(rtol=1e-12, atol=1e-12)


def assert_close(actual, expected, **tol):
    np.testing.assert_allclose(actual, expected, **(tol or TOL))


# ---------------------------------------------------------------------------
# train_test_split
# ---------------------------------------------------------------------------


def _xy(n, n_features=3):
    ids = np.arange(n)
    x = np.column_stack([ids * 10.0 + j for j in range(n_features)])
    return x, ids


def test_split_returns_sklearn_order_and_aligned_rows():
    x, y = _xy(50)
    out = train_test_split(x, y, test_size=0.2, seed=0)
    assert len(out) == 4
    x_train, x_test, y_train, y_test = out
    assert x_train.shape == (40, 3) and x_test.shape == (10, 3)
    assert y_train.shape == (40,) and y_test.shape == (10,)
    # the same permutation is applied to every array
    np.testing.assert_array_equal(x_train[:, 0], y_train * 10.0)
    np.testing.assert_array_equal(x_test[:, 0], y_test * 10.0)


def test_split_is_deterministic_for_a_seed():
    x, y = _xy(100)
    a = train_test_split(x, y, seed=123)
    b = train_test_split(x, y, seed=123)
    for u, v in zip(a, b):
        np.testing.assert_array_equal(u, v)
    c = train_test_split(x, y, seed=124)
    assert not np.array_equal(a[3], c[3])


def test_split_uses_default_rng_permutation():
    x, y = _xy(30)
    perm = np.random.default_rng(7).permutation(30)
    _, _, y_train, y_test = train_test_split(x, y, test_size=6, seed=7)
    np.testing.assert_array_equal(np.concatenate([y_train, y_test]), perm)


def test_split_accepts_generator_as_seed():
    x, y = _xy(30)
    a = train_test_split(y, seed=np.random.default_rng(5))
    b = train_test_split(y, seed=5)
    np.testing.assert_array_equal(a[0], b[0])


def test_split_shuffles_by_default():
    _, y = _xy(100)
    y_train, y_test = train_test_split(y, seed=0)
    assert not np.array_equal(np.concatenate([y_train, y_test]), y)


@FAST
@given(n=st.integers(2, 300), frac=st.floats(0.0, 1.0, exclude_min=True,
                                              exclude_max=True),
       seed=st.integers(0, 2**32 - 1), shuffle=st.booleans())
def test_split_is_disjoint_and_complete_partition(n, frac, seed, shuffle):
    exact = frac * n
    near = round(exact)
    expected_test = near if near >= 1 and abs(exact - near) <= 1e-9 * exact \
        else math.ceil(exact)
    if expected_test < 1 or expected_test > n - 1:
        with pytest.raises(ValueError, match="would be empty"):
            train_test_split(np.arange(n), test_size=frac, seed=seed)
        return
    train, test = train_test_split(np.arange(n), test_size=frac, seed=seed,
                                   shuffle=shuffle)
    assert len(test) == expected_test
    assert len(train) == n - expected_test
    assert np.intersect1d(train, test).size == 0
    np.testing.assert_array_equal(np.sort(np.concatenate([train, test])), np.arange(n))
    if not shuffle:
        np.testing.assert_array_equal(train, np.arange(n - expected_test))


@FAST
@given(n=st.integers(2, 300), frac=st.floats(0.01, 0.99))
def test_split_sizes_match_sklearn_except_float_noise(n, frac):
    from sklearn.model_selection._split import _validate_shuffle_split

    exact = frac * n
    if round(exact) >= 1 and abs(exact - round(exact)) <= 1e-9 * exact:
        return  # documented deviation: see test_split_ignores_float_noise
    try:
        sk_train, sk_test = _validate_shuffle_split(n, frac, None)
    except ValueError:
        with pytest.raises(ValueError):
            train_test_split(np.arange(n), test_size=frac)
        return
    train, test = train_test_split(np.arange(n), test_size=frac, seed=0)
    assert (len(train), len(test)) == (sk_train, sk_test)


def test_split_tiny_fraction_gives_one_test_row_like_sklearn():
    train, test = train_test_split(np.arange(10), test_size=1e-12, shuffle=False)
    assert (len(train), len(test)) == (9, 1)


def test_split_ignores_float_noise():
    # 0.07 * 100 == 7.000000000000001; scikit-learn's ceil() gives 8 test rows.
    train, test = train_test_split(np.arange(100), test_size=0.07, seed=0)
    assert (len(train), len(test)) == (93, 7)


@pytest.mark.parametrize("n,n_train,n_test", [(200, 160, 40), (2500, 2000, 500)])
def test_workshop_split_first_80_percent_train(n, n_train, n_test):
    x, y = _xy(n, n_features=4)
    x_train, x_test, y_train, y_test = train_test_split(x, y, shuffle=False)
    assert (len(x_train), len(x_test)) == (n_train, n_test)
    np.testing.assert_array_equal(x_train, x[:n_train])
    np.testing.assert_array_equal(x_test, x[n_train:])
    np.testing.assert_array_equal(y_train, y[:n_train])
    np.testing.assert_array_equal(y_test, y[n_train:])
    # also with explicit test_size and with shuffling: same sizes
    a = train_test_split(x, y, test_size=0.2, shuffle=False)
    np.testing.assert_array_equal(a[1], x_test)
    b = train_test_split(x, y, seed=0)
    assert (len(b[0]), len(b[1])) == (n_train, n_test)


def test_split_int_test_size():
    train, test = train_test_split(np.arange(10), test_size=3, shuffle=False)
    np.testing.assert_array_equal(train, np.arange(7))
    np.testing.assert_array_equal(test, [7, 8, 9])
    train, test = train_test_split(np.arange(10), test_size=np.int64(1), seed=0)
    assert len(test) == 1


def test_split_accepts_lists_and_keeps_dtype():
    x_train, x_test = train_test_split([[1, 2], [3, 4], [5, 6], [7, 8], [9, 10]],
                                       shuffle=False)
    assert isinstance(x_train, np.ndarray) and x_train.dtype.kind == "i"
    np.testing.assert_array_equal(x_test, [[9, 10]])
    f32 = np.ones((10, 2), dtype=np.float32)
    assert train_test_split(f32, seed=0)[0].dtype == np.float32


@pytest.mark.parametrize("bad", [0.0, 1.0, -0.1, 1.5, 0, -1, 10, 11, True,
                                 float("nan"), "0.2", None])
def test_split_invalid_test_size_quotes_value(bad):
    with pytest.raises(ValueError, match=f"got test_size={repr(bad).replace('.', '[.]')}"):
        train_test_split(np.arange(10), test_size=bad)


def test_split_mismatched_lengths():
    with pytest.raises(ValueError, match="inconsistent numbers of samples: arrays\\[0\\] "
                                         "has 200 rows but arrays\\[1\\] has 199 rows"):
        train_test_split(np.zeros((200, 3)), np.zeros(199))


def test_split_needs_an_array():
    with pytest.raises(ValueError, match="at least one array"):
        train_test_split()


def test_split_needs_two_samples():
    with pytest.raises(ValueError, match="at least 2 samples, got n_samples=1"):
        train_test_split(np.zeros((1, 3)))


def test_split_rejects_scalar():
    with pytest.raises(ValueError, match="arrays\\[1\\] is a scalar"):
        train_test_split(np.zeros(5), 3.0)


def test_split_fraction_leaving_empty_train_set():
    with pytest.raises(ValueError, match="train set would be empty"):
        train_test_split(np.arange(3), test_size=0.9)


# ---------------------------------------------------------------------------
# scalers
# ---------------------------------------------------------------------------


@st.composite
def matrices(draw):
    n = draw(st.integers(1, 25))
    d = draw(st.integers(1, 4))
    x = draw(hnp.arrays(np.float64, (n, d),
                        elements=st.floats(-1e3, 1e3, allow_nan=False,
                                           allow_subnormal=False)))
    # make some columns constant
    for j in range(d):
        if draw(st.booleans()) and draw(st.booleans()):
            x[:, j] = x[0, j]
    return x


FEATURE_RANGES = [(0, 1), (-1, 1), (-3.5, 2.0)]


@FAST
@given(x=matrices(), feature_range=st.sampled_from(FEATURE_RANGES))
def test_minmax_matches_sklearn(x, feature_range):
    ours = MinMaxScaler(feature_range)
    ref = sk_pre.MinMaxScaler(feature_range=feature_range)
    z = ours.fit_transform(x)
    z_ref = ref.fit_transform(x)
    assert z.dtype == np.float64 and z.shape == x.shape
    assert_close(z, z_ref)
    for attr in ("data_min_", "data_max_", "data_range_", "scale_", "min_"):
        assert_close(getattr(ours, attr), getattr(ref, attr))
    assert ours.n_features_in_ == ref.n_features_in_
    assert ours.n_samples_seen_ == ref.n_samples_seen_
    assert_close(ours.inverse_transform(z), ref.inverse_transform(z_ref))
    assert_close(ours.inverse_transform(z), x, rtol=1e-12, atol=1e-9)
    x_new = x[::-1] * 1.5 + 2.0
    assert_close(ours.transform(x_new), ref.transform(x_new))


@FAST
@given(x=matrices())
def test_standard_matches_sklearn(x):
    ours = StandardScaler()
    ref = sk_pre.StandardScaler()
    z = ours.fit_transform(x)
    z_ref = ref.fit_transform(x)
    assert z.dtype == np.float64 and z.shape == x.shape
    assert_close(z, z_ref)
    for attr in ("mean_", "var_", "scale_"):
        assert_close(getattr(ours, attr), getattr(ref, attr))
    assert ours.n_samples_seen_ == ref.n_samples_seen_
    assert_close(ours.inverse_transform(z), ref.inverse_transform(z_ref))
    assert_close(ours.inverse_transform(z), x, rtol=1e-12, atol=1e-9)
    x_new = x[::-1] * 1.5 + 2.0
    assert_close(ours.transform(x_new), ref.transform(x_new))


@pytest.mark.parametrize("with_mean,with_std", [(True, False), (False, True),
                                                (False, False)])
def test_standard_options_match_sklearn(with_mean, with_std):
    x = np.random.default_rng(0).normal(3.0, 2.0, size=(20, 3))
    ours = StandardScaler(with_mean=with_mean, with_std=with_std).fit(x)
    ref = sk_pre.StandardScaler(with_mean=with_mean, with_std=with_std).fit(x)
    assert_close(ours.transform(x), ref.transform(x))
    assert_close(ours.inverse_transform(ours.transform(x)), x)
    for attr in ("mean_", "var_", "scale_"):
        if getattr(ref, attr) is None:
            assert getattr(ours, attr) is None
        else:
            assert_close(getattr(ours, attr), getattr(ref, attr))


def test_constant_columns_match_sklearn():
    x = np.array([[1.0, 5.0, 0.1], [2.0, 5.0, 0.1], [4.0, 5.0, 0.1]])
    for ours, ref in ((MinMaxScaler(), sk_pre.MinMaxScaler()),
                      (MinMaxScaler((-2, 3)), sk_pre.MinMaxScaler((-2, 3))),
                      (StandardScaler(), sk_pre.StandardScaler())):
        with np.errstate(all="raise"):  # no division by zero anywhere
            z = ours.fit_transform(x)
        assert np.all(np.isfinite(z))
        assert_close(z, ref.fit_transform(x))
        assert_close(ours.scale_, ref.scale_)
        assert_close(ours.inverse_transform(z), x)
    std = StandardScaler().fit(x)
    assert_close(std.scale_[1:], [1.0, 1.0])
    assert_close(std.transform(x)[:, 1:], 0.0)


def test_minmax_known_values_and_clip():
    x = np.array([[0.0, 10.0], [5.0, 20.0], [10.0, 30.0]])
    s = MinMaxScaler().fit(x)
    assert_close(s.transform(x), [[0, 0], [0.5, 0.5], [1, 1]])
    assert_close(s.transform([[20.0, 0.0]]), [[2.0, -0.5]])
    clipped = MinMaxScaler(clip=True).fit(x).transform([[20.0, 0.0]])
    assert_close(clipped, sk_pre.MinMaxScaler(clip=True).fit(x).transform([[20.0, 0.0]]))
    assert_close(clipped, [[1.0, 0.0]])


def test_scalers_accept_1d_as_single_feature():
    y = np.array([3.0, 1.0, 4.0, 1.0, 5.0, 9.0])
    for ours, ref in ((MinMaxScaler(), sk_pre.MinMaxScaler()),
                      (StandardScaler(), sk_pre.StandardScaler())):
        z = ours.fit_transform(y)
        assert z.shape == (6,)
        assert ours.n_features_in_ == 1
        assert_close(z, ref.fit_transform(y.reshape(-1, 1)).ravel())
        assert ours.inverse_transform(z).shape == (6,)
        assert_close(ours.inverse_transform(z), y)
        # 2-D column input works with the same fitted scaler
        assert_close(ours.transform(y.reshape(-1, 1)), z.reshape(-1, 1))


@pytest.mark.parametrize("cls", [MinMaxScaler, StandardScaler])
def test_scalers_preserve_float32_else_float64(cls):
    x32 = np.random.default_rng(0).normal(size=(10, 2)).astype(np.float32)
    s = cls().fit(x32)
    z = s.transform(x32)
    assert z.dtype == np.float32
    assert s.scale_.dtype == np.float64
    assert s.inverse_transform(z).dtype == np.float32
    ref = getattr(sk_pre, cls.__name__)().fit(x32)
    np.testing.assert_allclose(z, ref.transform(x32), rtol=1e-5, atol=1e-6)
    assert cls().fit_transform(np.arange(6).reshape(3, 2)).dtype == np.float64
    assert cls().fit_transform(x32.astype(np.float16)).dtype == np.float64


@pytest.mark.parametrize("cls", [MinMaxScaler, StandardScaler])
def test_scalers_do_not_modify_input(cls):
    x = np.random.default_rng(0).normal(size=(10, 2))
    x_copy = x.copy()
    s = cls().fit(x)
    z = s.transform(x)
    s.inverse_transform(z)
    z_copy = z.copy()
    s.inverse_transform(z)
    np.testing.assert_array_equal(x, x_copy)
    np.testing.assert_array_equal(z, z_copy)


@pytest.mark.parametrize("cls", [MinMaxScaler, StandardScaler])
@pytest.mark.parametrize("method", ["transform", "inverse_transform"])
def test_not_fitted_error(cls, method):
    with pytest.raises(NotFittedError, match=f"This {cls.__name__} instance is not "
                                             "fitted yet"):
        getattr(cls(), method)(np.zeros((2, 2)))


def test_not_fitted_error_is_value_and_attribute_error():
    assert issubclass(NotFittedError, ValueError)
    assert issubclass(NotFittedError, AttributeError)
    with pytest.raises(AttributeError):
        StandardScaler().transform([[1.0]])
    with pytest.raises(ValueError):
        MinMaxScaler().transform([[1.0]])


@pytest.mark.parametrize("cls", [MinMaxScaler, StandardScaler])
@pytest.mark.parametrize("method", ["transform", "inverse_transform"])
def test_feature_count_mismatch_names_both_counts(cls, method):
    s = cls().fit(np.zeros((4, 2)))
    with pytest.raises(ValueError, match="X has 3 features, but .* is expecting 2 "
                                         "features"):
        getattr(s, method)(np.zeros((4, 3)))


def test_1d_input_on_multifeature_scaler_is_a_mismatch():
    s = StandardScaler().fit(np.zeros((4, 2)))
    with pytest.raises(ValueError, match="X has 1 features, but StandardScaler is "
                                         "expecting 2"):
        s.transform(np.zeros(2))


@pytest.mark.parametrize("fr", [(1, 0), (0, 0), (2, 1.5)])
def test_minmax_invalid_feature_range(fr):
    with pytest.raises(ValueError, match=r"Minimum of desired feature range must be "
                                         r"smaller than maximum. Got \(" + str(fr[0])):
        MinMaxScaler(fr).fit(np.zeros((2, 1)))


def test_minmax_malformed_feature_range():
    with pytest.raises(ValueError, match="feature_range must be a pair"):
        MinMaxScaler((0, 1, 2)).fit(np.zeros((2, 1)))


@pytest.mark.parametrize("cls", [MinMaxScaler, StandardScaler])
@pytest.mark.parametrize("value,word", [(np.nan, "NaN"), (np.inf, "infinity")])
def test_scalers_reject_non_finite(cls, value, word):
    x = np.array([[1.0, 2.0], [value, 3.0]])
    with pytest.raises(ValueError, match=f"x contains {word}"):
        cls().fit(x)


@pytest.mark.parametrize("cls", [MinMaxScaler, StandardScaler])
def test_scalers_reject_strings(cls):
    with pytest.raises(TypeError, match="x must be numeric"):
        cls().fit(np.array([["a", "b"], ["c", "d"]]))


@pytest.mark.parametrize("cls", [MinMaxScaler, StandardScaler])
def test_scalers_reject_3d(cls):
    with pytest.raises(ValueError, match=r"got an array of shape \(2, 2, 2\)"):
        cls().fit(np.zeros((2, 2, 2)))


@pytest.mark.parametrize("cls", [MinMaxScaler, StandardScaler])
def test_scalers_reject_empty(cls):
    with pytest.raises(ValueError, match="0 samples"):
        cls().fit(np.zeros((0, 3)))


def test_scaler_repr():
    assert repr(MinMaxScaler((-1, 1))) == "MinMaxScaler(feature_range=(-1, 1), clip=False)"
    assert repr(StandardScaler()) == "StandardScaler(with_mean=True, with_std=True)"


# ---------------------------------------------------------------------------
# one_hot
# ---------------------------------------------------------------------------


@FAST
@given(labels=st.lists(st.integers(0, 9), min_size=1, max_size=50),
       extra=st.integers(0, 3))
def test_one_hot_matches_eye(labels, extra):
    n_classes = max(labels) + 1 + extra
    out = one_hot(labels, n_classes)
    assert out.shape == (len(labels), n_classes)
    assert out.dtype == np.float32
    np.testing.assert_array_equal(out, np.eye(n_classes, dtype=np.float32)[labels])
    inferred = one_hot(np.array(labels))
    assert inferred.shape == (len(labels), max(labels) + 1)
    np.testing.assert_array_equal(inferred.argmax(axis=1), labels)


def test_one_hot_matches_sklearn_label_binarize():
    labels = [0, 2, 1, 3, 3, 0]
    np.testing.assert_array_equal(
        one_hot(labels, dtype=np.int64),
        sk_pre.label_binarize(labels, classes=[0, 1, 2, 3]))


def test_one_hot_dtypes_and_label_types():
    assert one_hot([1, 0], dtype=np.float64).dtype == np.float64
    np.testing.assert_array_equal(one_hot([1.0, 0.0]), [[0, 1], [1, 0]])
    np.testing.assert_array_equal(one_hot([True, False]), [[0, 1], [1, 0]])
    np.testing.assert_array_equal(one_hot(np.array([2], dtype=np.uint8)), [[0, 0, 1]])
    np.testing.assert_array_equal(one_hot([1], n_classes=np.int64(3)), [[0, 1, 0]])


def test_one_hot_empty_with_n_classes():
    out = one_hot([], n_classes=4)
    assert out.shape == (0, 4) and out.dtype == np.float32


def test_one_hot_empty_without_n_classes():
    with pytest.raises(ValueError, match="cannot infer n_classes from empty labels"):
        one_hot([])


def test_one_hot_negative_label_names_value():
    with pytest.raises(ValueError, match="non-negative.*got label -1"):
        one_hot([0, 2, -1, 1])


def test_one_hot_out_of_range_names_value():
    with pytest.raises(ValueError, match=r"label 5 is out of range for n_classes=3 "
                                         r"\(valid labels are 0\.\.2\)"):
        one_hot([0, 5, 1], n_classes=3)


def test_one_hot_non_integer_float_names_value():
    with pytest.raises(ValueError, match="non-integer label 1.5"):
        one_hot([0.0, 1.5])


def test_one_hot_nan_label():
    with pytest.raises(ValueError, match="non-integer label nan"):
        one_hot([0.0, np.nan])


@pytest.mark.parametrize("n_classes", [0, -2, 2.5, True, "3"])
def test_one_hot_invalid_n_classes(n_classes):
    with pytest.raises(ValueError, match=f"n_classes must be a positive int, got "
                                         f"{n_classes!r}"):
        one_hot([0, 1], n_classes=n_classes)


def test_one_hot_2d_labels():
    with pytest.raises(ValueError, match=r"labels must be a 1-D array.*\(2, 1\)"):
        one_hot(np.zeros((2, 1), dtype=int))


def test_one_hot_string_labels():
    with pytest.raises(TypeError, match="labels must be integers"):
        one_hot(["a", "b"])
