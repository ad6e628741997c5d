"""Argument checks at the Python boundary: one place, one style of message.

Each check names the function and the argument, what was expected and what came,
so that no user ever meets Cython's "Buffer dtype mismatch" or a segfault.
"""
import math

import numpy as np

FLOAT_DTYPES = (np.dtype(np.float32), np.dtype(np.float64))


def _describe(a):
    return f"{type(a).__name__}" if not isinstance(a, np.ndarray) else (
        f"array of shape {a.shape} and dtype {a.dtype}")


def as_1d_array(value, name, contents):
    """np.asarray(value), which must be 1-D; ValueError naming `name` and `contents`
    (what its entries are, e.g. "class labels") otherwise."""
    try:
        arr = np.asarray(value)
    except ValueError as exc:
        raise ValueError(f"{name} could not be converted to an array: {exc}") from None
    if arr.ndim != 1:
        what = "a scalar" if arr.ndim == 0 else f"an array of shape {arr.shape}"
        raise ValueError(f"{name} must be a 1-D array of {contents}, got {what}")
    return arr


def check_float_array(func, name, a, ndim, dtype=None):
    """`a` must be a C-contiguous float32/float64 ndarray with `ndim` dims.

    If `dtype` is given, `a` must have exactly that dtype (mixing is an error).
    Returns `a` unchanged: no copies are made here.
    """
    if not isinstance(a, np.ndarray):
        raise TypeError(f"{func}: '{name}' must be a numpy.ndarray; got {_describe(a)}")
    if a.dtype not in FLOAT_DTYPES:
        raise TypeError(f"{func}: '{name}' must have dtype float32 or float64; "
                        f"got {a.dtype}")
    if dtype is not None and a.dtype != dtype:
        raise TypeError(f"{func}: '{name}' has dtype {a.dtype} but the other arrays are "
                        f"{dtype}; all arrays must share one dtype")
    if a.ndim != ndim:
        raise ValueError(f"{func}: '{name}' must be {ndim}-D; got {a.ndim}-D "
                         f"with shape {a.shape}")
    if not a.flags.c_contiguous:
        raise ValueError(f"{func}: '{name}' must be C-contiguous (row-major); got strides "
                         f"{a.strides} for shape {a.shape} (use np.ascontiguousarray)")
    return a


def check_shape(func, name, a, shape, why=""):
    if a.shape != tuple(shape):
        raise ValueError(f"{func}: '{name}' must have shape {tuple(shape)}{why}; "
                         f"got {a.shape}")


def check_out(func, name, out, shape, dtype, inputs=None, allow_same=True):
    """Validate or allocate an output buffer.

    `out` None -> a new empty array. Otherwise it must be a writeable C-contiguous
    ndarray of that shape and dtype that does not overlap any of `inputs` (a mapping
    name -> array), except that being the very same array is allowed when
    `allow_same` (elementwise kernels work in place).
    """
    if out is None:
        return np.empty(shape, dtype=dtype)
    check_float_array(func, name, out, len(shape), dtype)
    check_shape(func, name, out, shape)
    if not out.flags.writeable:
        raise ValueError(f"{func}: '{name}' is read-only; an output buffer must be writeable")
    for in_name, a in (inputs or {}).items():
        # Every array here is C-contiguous, so overlapping address ranges mean shared
        # elements and the cheap bounds test is exact.
        if a is None or not np.may_share_memory(out, a):
            continue
        same = (out.__array_interface__["data"][0] == a.__array_interface__["data"][0]
                and out.shape == a.shape and out.strides == a.strides)
        if not (allow_same and same):
            what = "is the same memory as" if same else "overlaps"
            raise ValueError(f"{func}: '{name}' {what} '{in_name}'; this kernel needs "
                             f"'{name}' to be a separate buffer")
    return out


def check_labels(func, name, labels, n_rows):
    """Integer class indices of shape (n_rows,) -> a C-contiguous int64 array."""
    if not isinstance(labels, np.ndarray):
        raise TypeError(f"{func}: '{name}' must be a numpy.ndarray of integer class "
                        f"indices; got {_describe(labels)}")
    if labels.dtype.kind not in "iu":
        raise TypeError(f"{func}: '{name}' must have an integer dtype (class indices); "
                        f"got {labels.dtype}")
    if labels.ndim != 1:
        raise ValueError(f"{func}: '{name}' must be 1-D; got shape {labels.shape}")
    if labels.shape[0] != n_rows:
        raise ValueError(f"{func}: '{name}' has {labels.shape[0]} entries but there are "
                         f"{n_rows} rows")
    return np.ascontiguousarray(labels, dtype=np.int64)


def check_label_range(func, name, labels, n_classes):
    """Raise ValueError naming the first label outside [0, n_classes)."""
    bad = np.flatnonzero((labels < 0) | (labels >= n_classes))
    if bad.size:
        i = int(bad[0])
        raise ValueError(f"{func}: '{name}'[{i}] = {int(labels[i])} is outside "
                         f"[0, {n_classes}) ({bad.size} labels out of range)")


def check_positive_threads(func, n_threads):
    if n_threads is None:
        from nnkernels._threads import get_num_threads
        return get_num_threads()
    if isinstance(n_threads, bool) or not isinstance(n_threads, (int, np.integer)) \
            or n_threads < 1:
        raise ValueError(f"{func}: 'n_threads' must be an int >= 1; got {n_threads!r}")
    return int(n_threads)


def check_hyperparameter(func, name, value, *, low=None, high=None, low_open=False,
                         high_open=False):
    """A finite real number within [low, high] (or open ends); returns it as float."""
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise TypeError(f"{func}: '{name}' must be a real number; got {value!r}")
    value = float(value)
    too_low = low is not None and (value <= low if low_open else value < low)
    too_high = high is not None and (value >= high if high_open else value > high)
    if not math.isfinite(value) or too_low or too_high:
        lo = "-inf" if low is None else f"{low}"
        hi = "inf" if high is None else f"{high}"
        interval = f"{'(' if low_open or low is None else '['}{lo}, {hi}{')' if high_open or high is None else ']'}"
        raise ValueError(f"{func}: '{name}' must be in {interval}; got {value!r}")
    return value
