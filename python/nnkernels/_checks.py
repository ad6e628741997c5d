"""Argument checks of the Python layer, in one place: each raises a ValueError that
names the function or class, the argument, what was expected and what came. (The
kernels' own checks are compiled, in nnkernels/_validation.pyx.)"""
import numbers
import os
from pathlib import Path

import numpy as np

FLOAT_DTYPES = (np.dtype(np.float32), np.dtype(np.float64))


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


def random_generator(random_state):
    """A NumPy Generator from scikit-learn's random_state: an int, None, a Generator or
    a RandomState (which then draws the seed)."""
    if isinstance(random_state, np.random.RandomState):
        return np.random.default_rng(random_state.randint(np.iinfo(np.int32).max))
    return np.random.default_rng(random_state)
