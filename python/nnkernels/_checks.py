"""Argument checks of the Python layer, in one place: each raises a ValueError that
names the function or class, the argument, what was expected and what came. (The
kernels' own checks are compiled, in nnkernels/_validation.pyx.)"""
import numbers

import numpy as np

FLOAT_DTYPES = (np.dtype(np.float32), np.dtype(np.float64))


def positive_int(owner, name, value, low=1):
    """`value` as an int >= low (bools and non-integers refused).

    >>> positive_int("fit", "epochs", 0)
    Traceback (most recent call last):
    ValueError: fit: 'epochs' must be an int >= 1; got 0
    """
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < low:
        raise ValueError(f"{owner}: '{name}' must be an int >= {low}; got {value!r}")
    return int(value)


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
