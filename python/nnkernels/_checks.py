"""Argument checks of the Python layer, in one place. Each names the function or class,
the argument, what was expected and what came, and raises one error type per kind of
mistake: ValueError for a value of the right kind that is out of range or of the wrong
shape (a non-integer count included, as the compiled kernels do), TypeError for an
array of the wrong kind (text where numbers are needed) or a hyperparameter that is
not a number. The kernels' own checks are compiled, in nnkernels/_validation.pyx, and
cover what the kernels need; this module uses them where they fit.
"""
import numbers
import os
from pathlib import Path

import numpy as np

from nnkernels._validation import (FLOAT_DTYPES, all_finite, check_hyperparameter,
                                   check_label_range)

__all__ = ["FLOAT_DTYPES", "invalid", "positive_int", "thread_count", "hyperparameter",
           "learning_rate", "path_arg", "numeric_array", "vector", "float_dtype",
           "features", "targets", "all_finite"]

#: A hyperparameter: a finite real number within bounds (TypeError if not a number).
hyperparameter = check_hyperparameter


def invalid(owner, name, expected, received):
    """Raise the ValueError of a bad argument.

    >>> invalid("fit", "epochs", "an int >= 1", "0")
    Traceback (most recent call last):
    ValueError: fit: 'epochs' must be an int >= 1; got 0
    """
    where = f"{owner}: " if owner else ""
    raise ValueError(f"{where}'{name}' must be {expected}; got {received}")


def positive_int(owner, name, value, low=1):
    """`value` as an int >= low (bools and non-integers refused)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < low:
        invalid(owner, name, f"an int >= {low}", repr(value))
    return int(value)


def thread_count(owner, value):
    """A thread count: an int >= 1 (ValueError otherwise, as the kernels' n_threads)."""
    return positive_int(owner, "n_threads", value)


def learning_rate(owner, value, name="lr"):
    """The one rule for a learning rate: a finite number >= 0 (0 freezes the weights,
    as a schedule that decays to 0 does at its end)."""
    return check_hyperparameter(owner, name, value, low=0)


def path_arg(owner, name, value):
    """`value` (a non-empty str or os.PathLike) as a Path."""
    if not isinstance(value, (str, os.PathLike)) or not os.fspath(value):
        invalid(owner, name, "a non-empty str or os.PathLike", repr(value))
    return Path(value)


def numeric_array(owner, name, value, kinds="iuf"):
    """`value` as a rectangular NumPy array whose dtype kind is one of `kinds`."""
    try:
        arr = np.asarray(value)
    except ValueError:  # ragged nested sequences
        invalid(owner, name, "a rectangular numeric array", "ragged sequences")
    if arr.size and arr.dtype.kind not in kinds:
        invalid(owner, name, "of an integer dtype" if kinds == "iu" else "of a numeric dtype",
                f"dtype {arr.dtype}")
    return arr


def vector(owner, name, value, length=None, kinds="iuf"):
    """`value` as a 1-D numeric array, of `length` entries if given."""
    arr = numeric_array(owner, name, value, kinds)
    if arr.ndim != 1:
        invalid(owner, name, "a 1-D sequence", f"shape {arr.shape}")
    if length is not None and len(arr) != length:
        invalid(owner, name, f"of length {length}", f"length {len(arr)}")
    return arr


def float_dtype(owner, dtype):
    """`dtype` as a NumPy dtype, float32 or float64."""
    try:
        dt = np.dtype(dtype)
    except TypeError:
        dt = None
    if dt not in FLOAT_DTYPES:
        raise ValueError(f"{owner}: dtype must be 'float32' or 'float64'; got {dtype!r}")
    return dt


def features(func, x, in_features, dtype):
    """A model's input x as a C-contiguous (n_samples, in_features) array of `dtype`,
    non-empty and finite."""
    x = np.asarray(x)
    if x.dtype.kind not in "fiub":
        raise TypeError(f"{func}: 'x' must hold numbers; got dtype {x.dtype}")
    if x.ndim != 2 or x.shape[1] != in_features:
        raise ValueError(f"{func}: 'x' must have shape (n_samples, {in_features}); "
                         f"got {x.shape}")
    if x.shape[0] == 0:
        raise ValueError(f"{func}: 'x' is empty (shape {x.shape}); nothing to do")
    x = np.ascontiguousarray(x, dtype=dtype)
    if not all_finite(x):
        bad = np.argwhere(~np.isfinite(x))[0]
        raise ValueError(f"{func}: 'x' has a non-finite value {x[tuple(bad)]} at "
                         f"{tuple(int(i) for i in bad)}")
    return x


def targets(func, y, n, target_kind, out_features, dtype):
    """A model's targets for n samples: int64 class labels in [0, out_features) of shape
    (n,) when target_kind is "labels", else a (n, out_features) array of `dtype`."""
    y = np.asarray(y)
    if target_kind == "labels":
        if y.dtype.kind not in "iu":
            raise TypeError(f"{func}: 'y' must hold integer class labels; got dtype "
                            f"{y.dtype}")
        if y.shape != (n,):
            raise ValueError(f"{func}: 'y' must have shape ({n},) to match x; "
                             f"got {y.shape}")
        check_label_range(func, "y", y, out_features)
        return np.ascontiguousarray(y, dtype=np.int64)
    if y.dtype.kind not in "fiub":
        raise TypeError(f"{func}: 'y' must hold numbers; got dtype {y.dtype}")
    if y.shape != (n, out_features):
        raise ValueError(f"{func}: 'y' must have shape ({n}, {out_features}) to "
                         f"match x and the output layer; got {y.shape}")
    return np.ascontiguousarray(y, dtype=dtype)
