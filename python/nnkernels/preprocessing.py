"""Data preparation: train/test splitting, feature scaling and one-hot coding.

Pure NumPy counterparts of ``sklearn.model_selection.train_test_split``,
``sklearn.preprocessing.MinMaxScaler`` / ``StandardScaler`` and a
``one_hot`` encoder for integer class labels.

Design choices (differences from scikit-learn)
----------------------------------------------
* ``train_test_split`` takes ``seed`` (fed to ``np.random.default_rng``)
  instead of ``random_state``; with ``shuffle=False`` the first rows are the
  training set and the last ``n_test`` rows the test set.
* Scalers accept 1-D input and treat it as a *single feature* (one column),
  returning a 1-D result; scikit-learn rejects 1-D input.  This makes scaling
  a regression target ``y`` of shape ``(n,)`` and un-scaling predictions
  straightforward.
* Scalers compute in float64 and return float64, except that float32 input
  gives float32 output (like scikit-learn).  Fitted attributes are always
  float64.  NaN or infinite values are rejected with ``ValueError``
  (scikit-learn ignores NaN during fit).
"""

from __future__ import annotations

import math
import numbers

import numpy as np

from nnkernels._validation import as_1d_array

__all__ = [
    "NotFittedError",
    "train_test_split",
    "MinMaxScaler",
    "StandardScaler",
    "one_hot",
]


class NotFittedError(ValueError, AttributeError):
    """Raised when a transformer is used before ``fit``.

    Subclasses both ``ValueError`` and ``AttributeError`` (as
    ``sklearn.exceptions.NotFittedError`` does) so either can be caught.
    """


# ---------------------------------------------------------------------------
# train_test_split
# ---------------------------------------------------------------------------


def _n_test_from(test_size, n_samples):
    """Number of test rows for ``test_size`` (validated) and ``n_samples``."""
    bad = ValueError(
        f"test_size must be a float in the open interval (0, 1) or an int in "
        f"[1, n_samples - 1] = [1, {n_samples - 1}]; got test_size={test_size!r}"
    )
    if isinstance(test_size, (bool, np.bool_)):
        raise bad
    if isinstance(test_size, numbers.Integral):
        n_test = int(test_size)
        if not 1 <= n_test <= n_samples - 1:
            raise bad
        return n_test
    if isinstance(test_size, numbers.Real):
        frac = float(test_size)
        if not (0.0 < frac < 1.0):  # also rejects NaN
            raise bad
        exact = frac * n_samples
        # scikit-learn uses ceil(test_size * n_samples).  Guard against binary
        # floating-point noise (e.g. 0.07 * 100 = 7.000000000000001, where
        # scikit-learn gives 8 test rows and we give 7) so that
        # "nice" fractions give the intended integer count.
        nearest = round(exact)
        if nearest >= 1 and abs(exact - nearest) <= 1e-9 * abs(exact):
            n_test = int(nearest)
        else:
            n_test = int(math.ceil(exact))
        n_train = n_samples - n_test
        if n_test < 1 or n_train < 1:
            raise ValueError(
                f"With n_samples={n_samples} and test_size={test_size!r} the "
                f"resulting {'train' if n_train < 1 else 'test'} set would be "
                "empty; adjust test_size or provide more samples"
            )
        return n_test
    raise bad


def train_test_split(*arrays, test_size=0.2, seed=None, shuffle=True):
    """Split arrays into random (or ordered) train and test subsets.

    Every array is indexed along its first axis with the same row indices.

    Parameters
    ----------
    *arrays : array-likes, each of shape (n_samples, ...)
        Features, targets, ... ; all must have the same number of rows.
        Converted with ``np.asarray`` (dtypes are preserved).
    test_size : float or int, default=0.2
        A float in (0, 1) is the fraction of rows in the test set
        (``n_test = ceil(test_size * n_samples)`` as in scikit-learn, except
        that a product within a relative 1e-9 of a positive integer is
        rounded to it, so float
        round-off never adds a row: 0.2 of 200 / 2500 rows gives exactly
        40 / 500, and 0.07 of 100 gives 7, where scikit-learn gives 8).
        An int is the absolute number of test rows, in [1, n_samples - 1].
    seed : int, numpy.random.Generator or None, default=None
        Seed for ``np.random.default_rng``; the same seed gives the same split.
        Ignored when ``shuffle=False``.
    shuffle : bool, default=True
        If True, rows are assigned by a random permutation.  If False, the
        first ``n_samples - n_test`` rows form the training set and the last
        ``n_test`` rows the test set, in their original order.

    Returns
    -------
    list of ndarray, length 2 * len(arrays)
        ``[a_train, a_test, b_train, b_test, ...]`` (scikit-learn's order),
        e.g. ``x_train, x_test, y_train, y_test = train_test_split(x, y)``.

    Raises
    ------
    ValueError
        No arrays, a 0-d array, arrays with different numbers of rows, fewer
        than two rows, or an invalid ``test_size``.
    """
    if not arrays:
        raise ValueError("train_test_split needs at least one array")
    arrs = []
    for i, a in enumerate(arrays):
        a = np.asarray(a)
        if a.ndim == 0:
            raise ValueError(
                f"arrays[{i}] is a scalar; every array needs a first (sample) axis"
            )
        arrs.append(a)
    lengths = [a.shape[0] for a in arrs]
    if len(set(lengths)) > 1:
        first_bad = next(i for i, n in enumerate(lengths) if n != lengths[0])
        raise ValueError(
            "Found input arrays with inconsistent numbers of samples: "
            f"arrays[0] has {lengths[0]} rows but arrays[{first_bad}] has "
            f"{lengths[first_bad]} rows (all lengths: {lengths})"
        )
    n_samples = lengths[0]
    if n_samples < 2:
        raise ValueError(
            f"train_test_split needs at least 2 samples, got n_samples={n_samples}"
        )
    n_test = _n_test_from(test_size, n_samples)
    n_train = n_samples - n_test
    if shuffle:
        perm = np.random.default_rng(seed).permutation(n_samples)
        train_idx, test_idx = perm[:n_train], perm[n_train:]
    else:
        train_idx = np.arange(n_train)
        test_idx = np.arange(n_train, n_samples)
    out = []
    for a in arrs:
        out.append(a[train_idx])
        out.append(a[test_idx])
    return out


# ---------------------------------------------------------------------------
# scalers
# ---------------------------------------------------------------------------


def _validate_2d(x, name="x"):
    """Return ``(x2d_float64, was_1d, out_dtype)`` for scaler input."""
    try:
        arr = np.asarray(x)
    except ValueError as exc:
        raise ValueError(f"{name} could not be converted to an array: {exc}") from None
    if arr.dtype.kind == "O":
        try:
            arr = arr.astype(np.float64)
        except (TypeError, ValueError):
            raise TypeError(f"{name} must be numeric, got non-numeric objects") from None
    if arr.dtype.kind not in "biuf":
        raise TypeError(f"{name} must be numeric, got an array of dtype {arr.dtype}")
    if arr.ndim not in (1, 2):
        what = "a scalar" if arr.ndim == 0 else f"an array of shape {arr.shape}"
        raise ValueError(
            f"{name} must be 2-D (n_samples, n_features) or 1-D (a single "
            f"feature), got {what}"
        )
    out_dtype = np.float32 if arr.dtype == np.float32 else np.float64
    was_1d = arr.ndim == 1
    x64 = arr.astype(np.float64)  # always a copy: the input is never modified
    if was_1d:
        x64 = x64.reshape(-1, 1)
    if x64.shape[0] == 0:
        raise ValueError(f"{name} has 0 samples; at least one is required")
    if x64.shape[1] == 0:
        raise ValueError(f"{name} has 0 features; at least one is required")
    if not np.all(np.isfinite(x64)):
        what = "NaN" if np.isnan(x64).any() else "infinity"
        raise ValueError(f"{name} contains {what}; all values must be finite")
    return x64, was_1d, out_dtype


class _BaseScaler:
    """Shared fit/transform plumbing for the scalers."""

    _fitted_attr = "n_features_in_"

    def _check_is_fitted(self):
        if not hasattr(self, self._fitted_attr):
            raise NotFittedError(
                f"This {type(self).__name__} instance is not fitted yet. Call "
                "'fit' with appropriate arguments before using this estimator."
            )

    def _prepare(self, x, method):
        self._check_is_fitted()
        x64, was_1d, out_dtype = _validate_2d(x)
        if x64.shape[1] != self.n_features_in_:
            raise ValueError(
                f"X has {x64.shape[1]} features, but {type(self).__name__} is "
                f"expecting {self.n_features_in_} features as input (fitted on "
                f"{self.n_features_in_}, got {x64.shape[1]} in {method})"
            )
        return x64, was_1d, out_dtype

    @staticmethod
    def _finish(x64, was_1d, out_dtype):
        out = x64.astype(out_dtype, copy=False)
        return out.ravel() if was_1d else out

    def fit(self, x, y=None):
        """Compute the statistics used for scaling.

        Parameters
        ----------
        x : array-like of shape (n_samples, n_features) or (n_samples,)
            Finite numeric data; 1-D input is one feature.
        y : None
            Ignored (for scikit-learn API compatibility).

        Returns
        -------
        self
        """
        self._check_params()
        x64, _, _ = _validate_2d(x)
        self._fit(x64)
        self.n_features_in_ = x64.shape[1]
        self.n_samples_seen_ = x64.shape[0]
        return self

    def fit_transform(self, x, y=None):
        """Fit to ``x``, then return ``transform(x)``.

        Parameters
        ----------
        x : array-like of shape (n_samples, n_features) or (n_samples,)
        y : None
            Ignored.

        Returns
        -------
        ndarray, same shape as ``x``; float32 if ``x`` is float32 else float64
        """
        return self.fit(x).transform(x)

    def __repr__(self):
        params = ", ".join(f"{k}={v!r}" for k, v in self._params().items())
        return f"{type(self).__name__}({params})"


def _handle_zeros_in_scale(scale, constant_mask=None):
    """Replace (near-)zero scales by 1.0, as scikit-learn does."""
    if constant_mask is None:
        constant_mask = scale < 10 * np.finfo(scale.dtype).eps
    scale = scale.copy()
    scale[constant_mask] = 1.0
    return scale


class MinMaxScaler(_BaseScaler):
    """Scale each feature linearly to ``feature_range``.

    ``x_scaled = (x - data_min_) / (data_max_ - data_min_) * (max - min) + min``,
    implemented as ``x * scale_ + min_``.

    A constant feature (``data_range_ == 0``) gets ``scale_ = max - min`` (the
    range is replaced by 1, as scikit-learn), so it maps to
    ``min + (x - data_min_) * (max - min)``, i.e. to ``min`` on the training
    data, without dividing by zero.

    Parameters
    ----------
    feature_range : tuple (min, max), default=(0, 1)
        Desired range of the transformed data; requires ``min < max``.
    clip : bool, default=False
        Clip transformed values of unseen data to ``feature_range``.

    Attributes
    ----------
    data_min_, data_max_, data_range_ : ndarray of shape (n_features,), float64
        Per-feature minimum, maximum and ``max - min`` seen in ``fit``.
    scale_ : ndarray of shape (n_features,), float64
        ``(max - min) / data_range_`` (range 0 replaced by 1).
    min_ : ndarray of shape (n_features,), float64
        ``min - data_min_ * scale_``.
    n_features_in_ : int
    n_samples_seen_ : int

    Notes
    -----
    1-D input is treated as a single feature and gives 1-D output.
    """

    _fitted_attr = "scale_"

    def __init__(self, feature_range=(0, 1), *, clip=False):
        self.feature_range = feature_range
        self.clip = clip

    def _params(self):
        return {"feature_range": self.feature_range, "clip": self.clip}

    def _check_params(self):
        try:
            lo, hi = self.feature_range
            lo, hi = float(lo), float(hi)
        except (TypeError, ValueError):
            raise ValueError(
                "feature_range must be a pair (min, max) of numbers, got "
                f"{self.feature_range!r}"
            ) from None
        if not (np.isfinite(lo) and np.isfinite(hi)) or lo >= hi:
            raise ValueError(
                "Minimum of desired feature range must be smaller than maximum. "
                f"Got {tuple(self.feature_range)!r}."
            )
        return lo, hi

    def _fit(self, x):
        lo, hi = self._check_params()
        data_min = np.min(x, axis=0)
        data_max = np.max(x, axis=0)
        data_range = data_max - data_min
        self.scale_ = (hi - lo) / _handle_zeros_in_scale(data_range)
        self.min_ = lo - data_min * self.scale_
        self.data_min_ = data_min
        self.data_max_ = data_max
        self.data_range_ = data_range

    def transform(self, x):
        """Scale ``x`` to ``feature_range`` using the fitted statistics.

        Parameters
        ----------
        x : array-like of shape (n_samples, n_features) or (n_samples,)
            Must have ``n_features_in_`` columns (1-D input: one feature).

        Returns
        -------
        ndarray, same shape as ``x``; float32 if ``x`` is float32 else float64

        Raises
        ------
        NotFittedError
            If called before ``fit``.
        ValueError
            On a feature-count mismatch (message names both counts).
        """
        x64, was_1d, out_dtype = self._prepare(x, "transform")
        x64 *= self.scale_
        x64 += self.min_
        if self.clip:
            lo, hi = self._check_params()
            np.clip(x64, lo, hi, out=x64)
        return self._finish(x64, was_1d, out_dtype)

    def inverse_transform(self, x):
        """Undo :meth:`transform`: ``x_orig = (x - min_) / scale_``.

        Parameters
        ----------
        x : array-like of shape (n_samples, n_features) or (n_samples,)

        Returns
        -------
        ndarray, same shape as ``x``; float32 if ``x`` is float32 else float64
        """
        x64, was_1d, out_dtype = self._prepare(x, "inverse_transform")
        x64 -= self.min_
        x64 /= self.scale_
        return self._finish(x64, was_1d, out_dtype)


class StandardScaler(_BaseScaler):
    """Standardize features to zero mean and unit variance.

    ``z = (x - mean_) / scale_`` with ``scale_ = sqrt(var_)`` (population
    variance, ``ddof=0``).

    Near-constant features (variance indistinguishable from 0 in float64, by
    scikit-learn's criterion ``var <= n*eps*var + (n*mean*eps)**2``) get
    ``scale_ = 1.0``: they are only centred, never divided by ~0.

    Parameters
    ----------
    with_mean : bool, default=True
        Subtract ``mean_`` in ``transform``.
    with_std : bool, default=True
        Divide by ``scale_`` in ``transform``.

    Attributes
    ----------
    mean_ : ndarray of shape (n_features,), float64
        Per-feature mean (``None`` if both ``with_mean`` and ``with_std`` are
        False, as scikit-learn).
    var_ : ndarray of shape (n_features,), float64 or None
        Per-feature population variance (``None`` if ``with_std=False``).
    scale_ : ndarray of shape (n_features,), float64 or None
        Per-feature scale (``None`` if ``with_std=False``).
    n_features_in_ : int
    n_samples_seen_ : int

    Notes
    -----
    1-D input is treated as a single feature and gives 1-D output.
    """

    def __init__(self, *, with_mean=True, with_std=True):
        self.with_mean = with_mean
        self.with_std = with_std

    def _params(self):
        return {"with_mean": self.with_mean, "with_std": self.with_std}

    def _check_params(self):
        pass

    def _fit(self, x):
        n = x.shape[0]
        if not self.with_mean and not self.with_std:
            self.mean_ = None
            self.var_ = None
            self.scale_ = None
            return
        # Corrected two-pass algorithm (same as scikit-learn's
        # _incremental_mean_and_var on a single batch).
        total = np.sum(x, axis=0)
        mean = total / n
        self.mean_ = mean
        if not self.with_std:
            self.var_ = None
            self.scale_ = None
            return
        temp = x - total / n
        correction = np.sum(temp, axis=0)
        var = (np.sum(temp**2, axis=0) - correction**2 / n) / n
        self.var_ = var
        eps = np.finfo(np.float64).eps
        constant = var <= n * eps * var + (n * mean * eps) ** 2
        self.scale_ = _handle_zeros_in_scale(np.sqrt(var), constant_mask=constant)

    def transform(self, x):
        """Standardize ``x`` with the fitted mean and scale.

        Parameters
        ----------
        x : array-like of shape (n_samples, n_features) or (n_samples,)
            Must have ``n_features_in_`` columns (1-D input: one feature).

        Returns
        -------
        ndarray, same shape as ``x``; float32 if ``x`` is float32 else float64

        Raises
        ------
        NotFittedError
            If called before ``fit``.
        ValueError
            On a feature-count mismatch (message names both counts).
        """
        x64, was_1d, out_dtype = self._prepare(x, "transform")
        if self.with_mean:
            x64 -= self.mean_
        if self.with_std:
            x64 /= self.scale_
        return self._finish(x64, was_1d, out_dtype)

    def inverse_transform(self, x):
        """Undo :meth:`transform`: ``x_orig = z * scale_ + mean_``.

        Parameters
        ----------
        x : array-like of shape (n_samples, n_features) or (n_samples,)

        Returns
        -------
        ndarray, same shape as ``x``; float32 if ``x`` is float32 else float64
        """
        x64, was_1d, out_dtype = self._prepare(x, "inverse_transform")
        if self.with_std:
            x64 *= self.scale_
        if self.with_mean:
            x64 += self.mean_
        return self._finish(x64, was_1d, out_dtype)


# ---------------------------------------------------------------------------
# one-hot encoding
# ---------------------------------------------------------------------------


def one_hot(labels, n_classes=None, dtype=np.float32):
    """One-hot encode integer class labels.

    ``out[i, j] = 1 if labels[i] == j else 0``

    Parameters
    ----------
    labels : array-like of shape (n_samples,)
        Class indices in ``[0, n_classes)``: integers, bools, or integral
        floats (e.g. ``1.0``, as read from a CSV file).
    n_classes : int, default=None
        Number of columns.  Inferred as ``max(labels) + 1`` when None.
    dtype : numpy dtype, default=np.float32
        dtype of the result.

    Returns
    -------
    ndarray of shape (n_samples, n_classes), ``dtype``

    Raises
    ------
    ValueError
        Negative, out-of-range or non-integer labels (the message names the
        offending value), non-1-D labels, an invalid ``n_classes``, or empty
        labels without ``n_classes``.
    TypeError
        Non-numeric labels.
    """
    arr = as_1d_array(labels, "labels", "class indices")
    if arr.dtype.kind == "O":
        bad = next((v for v in arr.tolist()
                    if not isinstance(v, (numbers.Real, np.bool_))), None)
        if bad is not None or None in arr.tolist():
            raise TypeError(
                f"labels must be integers, got {bad!r} of type {type(bad).__name__}"
            )
        arr = arr.astype(np.float64)
    kind = arr.dtype.kind
    if kind not in "biuf":
        raise TypeError(f"labels must be integers, got an array of dtype {arr.dtype}")
    if kind == "f":
        bad_mask = ~np.isfinite(arr) | (arr != np.floor(np.where(np.isfinite(arr), arr, 0)))
        if np.any(bad_mask):
            raise ValueError(
                f"labels must be integer class indices; got non-integer label "
                f"{arr[bad_mask][0].item()!r}"
            )
    if n_classes is not None:
        if isinstance(n_classes, (bool, np.bool_)) or not isinstance(
            n_classes, numbers.Integral
        ) or n_classes < 1:
            raise ValueError(f"n_classes must be a positive int, got {n_classes!r}")
        n_classes = int(n_classes)
    if arr.shape[0] == 0:
        if n_classes is None:
            raise ValueError("cannot infer n_classes from empty labels; pass n_classes")
        return np.zeros((0, n_classes), dtype=dtype)
    negative = arr < 0
    if np.any(negative):
        v = arr[negative][0]
        raise ValueError(
            f"labels must be non-negative class indices; got label {v.item()!r}"
        )
    idx = arr.astype(np.int64)
    if n_classes is None:
        n_classes = int(idx.max()) + 1
    too_big = idx >= n_classes
    if np.any(too_big):
        v = arr[too_big][0]
        raise ValueError(
            f"label {v.item()!r} is out of range for n_classes={n_classes} "
            f"(valid labels are 0..{n_classes - 1})"
        )
    out = np.zeros((arr.shape[0], n_classes), dtype=dtype)
    out[np.arange(arr.shape[0]), idx] = 1
    return out
