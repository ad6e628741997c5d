# cython: language_level=3, boundscheck=False, wraparound=False
"""The argument checks of the kernels' Python entry points: what the kernels need of
their arguments (dtype, shape, contiguity, separate or writeable memory, thread count,
hyperparameters), one style of message.

Each check names the function and the argument, what was expected and what came,
so that no user ever meets Cython's "Buffer dtype mismatch" or a segfault. Compiled,
and written against NumPy's C API, so that checking the arguments of a kernel costs
well under a microsecond: the array checks below read an array's type, flags, shape
and data pointer directly. Only a failing check builds a message.
"""
import numpy as np

cimport numpy as cnp
from libc.math cimport isfinite
from libc.stdint cimport uint32_t, uint64_t

cnp.import_array()

#: The dtypes the kernels compute in (the Python layer's checks read this one tuple).
FLOAT_DTYPES = (np.dtype(np.float32), np.dtype(np.float64))


def _describe(a):
    return f"{type(a).__name__}" if not isinstance(a, np.ndarray) else (
        f"array of shape {a.shape} and dtype {a.dtype}")


cdef inline bint _is_float(cnp.ndarray a) noexcept:
    cdef int t = cnp.PyArray_TYPE(a)
    return (t == cnp.NPY_FLOAT32 or t == cnp.NPY_FLOAT64) and cnp.PyArray_ISNOTSWAPPED(a)


cdef int check_float_array(str func, str name, object a, int ndim,
                           int typenum=-1) except -1:
    """`a` must be a C-contiguous float32/float64 ndarray with `ndim` dims.

    If `typenum` (NPY_FLOAT32 or NPY_FLOAT64) is given, `a` must have exactly that
    dtype (mixing is an error). No copies are made here. Returns a's dtype.
    """
    if not cnp.PyArray_Check(a):
        raise TypeError(f"{func}: '{name}' must be a numpy.ndarray; got {_describe(a)}")
    cdef cnp.ndarray arr = <cnp.ndarray>a
    if not _is_float(arr):
        raise TypeError(f"{func}: '{name}' must have dtype float32 or float64; "
                        f"got {a.dtype}")
    if typenum >= 0 and cnp.PyArray_TYPE(arr) != typenum:
        raise TypeError(f"{func}: '{name}' has dtype {a.dtype} but the other arrays are "
                        f"{cnp.PyArray_DescrFromType(typenum)}; all arrays must share "
                        f"one dtype")
    if cnp.PyArray_NDIM(arr) != ndim:
        raise ValueError(f"{func}: '{name}' must be {ndim}-D; got {a.ndim}-D "
                         f"with shape {a.shape}")
    if not cnp.PyArray_IS_C_CONTIGUOUS(arr):
        raise ValueError(f"{func}: '{name}' must be C-contiguous (row-major); got strides "
                         f"{a.strides} for shape {a.shape} (use np.ascontiguousarray)")
    return cnp.PyArray_TYPE(arr)


cdef int check_shape(str func, str name, object a, int ndim, const Py_ssize_t* shape,
                     str ref_name=None, object ref=None) except -1:
    """`a` (an ndarray with `ndim` dims) must have this shape, which comes from the
    array `ref` called `ref_name` if they are given (the message says so)."""
    cdef cnp.npy_intp* dims = cnp.PyArray_DIMS(<cnp.ndarray>a)
    cdef int d
    for d in range(ndim):
        if dims[d] != shape[d]:
            expected = tuple([shape[i] for i in range(ndim)])
            why = "" if ref_name is None else f" to match {ref_name} of shape {ref.shape}"
            raise ValueError(f"{func}: '{name}' must have shape {expected}{why}; "
                             f"got {a.shape}")
    return 0


cdef object check_out(str func, str name, object out, int ndim, const Py_ssize_t* shape,
                      int typenum):
    """Validate or allocate an output buffer.

    `out` None -> a new empty array. Otherwise it must be a writeable C-contiguous
    ndarray of that shape and dtype. Overlap with the inputs: check_separate.
    """
    if out is None:
        return cnp.PyArray_EMPTY(ndim, <cnp.npy_intp*>shape, typenum, 0)
    check_float_array(func, name, out, ndim, typenum)
    check_shape(func, name, out, ndim, shape)
    if not cnp.PyArray_ISWRITEABLE(<cnp.ndarray>out):
        raise ValueError(f"{func}: '{name}' is read-only; an output buffer must be writeable")
    return out


cdef int overlap(object a, object b) noexcept:
    """0 if the C-contiguous ndarrays a and b share no memory, 1 if they are the very
    same array (same data, shape and itemsize), 2 if they overlap otherwise."""
    cdef cnp.ndarray x = <cnp.ndarray>a, y = <cnp.ndarray>b
    cdef char* x_lo = <char*>cnp.PyArray_DATA(x)
    cdef char* y_lo = <char*>cnp.PyArray_DATA(y)
    cdef Py_ssize_t x_size = cnp.PyArray_NBYTES(x), y_size = cnp.PyArray_NBYTES(y)
    # C-contiguous arrays fill their address ranges: overlapping ranges mean shared
    # elements, so this bounds test is exact (as np.may_share_memory's would be).
    if x_size == 0 or y_size == 0 or x_lo + x_size <= y_lo or y_lo + y_size <= x_lo:
        return 0
    if (x_lo == y_lo and cnp.PyArray_NDIM(x) == cnp.PyArray_NDIM(y)
            and cnp.PyArray_CompareLists(cnp.PyArray_DIMS(x), cnp.PyArray_DIMS(y),
                                         cnp.PyArray_NDIM(x))
            and cnp.PyArray_ITEMSIZE(x) == cnp.PyArray_ITEMSIZE(y)):
        return 1
    return 2


cdef int check_separate(str func, str name, object out, str in_name, object a,
                        bint allow_same) except -1:
    """`out` must not overlap the input `a` (both C-contiguous ndarrays, or `a` None),
    except that being the very same array is allowed when `allow_same`
    (elementwise kernels work in place)."""
    if a is None:
        return 0
    cdef int kind = overlap(out, a)
    if kind == 0 or (kind == 1 and allow_same):
        return 0
    what = "is the same memory as" if kind == 1 else "overlaps"
    raise ValueError(f"{func}: '{name}' {what} '{in_name}'; this kernel needs "
                     f"'{name}' to be a separate buffer")


cdef int check_state(str func, object param, tuple names, tuple arrays) except -1:
    """param and its same-shaped companions (grad read-only allowed; the rest are
    updated in place): one dtype, one shape, writeable, pairwise separate memory."""
    if not cnp.PyArray_Check(param) or cnp.PyArray_NDIM(<cnp.ndarray>param) == 0:
        check_float_array(func, "param", param, 1)  # raises: not an array, or 0-D
    cdef int ndim = cnp.PyArray_NDIM(<cnp.ndarray>param)
    cdef int t = check_float_array(func, "param", param, ndim)
    if not cnp.PyArray_ISWRITEABLE(<cnp.ndarray>param):
        raise ValueError(f"{func}: 'param' is read-only; it is updated in place")
    cdef const Py_ssize_t* shape = <const Py_ssize_t*>cnp.PyArray_DIMS(<cnp.ndarray>param)
    cdef Py_ssize_t i, j
    for i in range(len(names)):
        name, a = names[i], arrays[i]
        check_float_array(func, name, a, ndim, t)
        check_shape(func, name, a, ndim, shape, "param", param)
        if name != "grad" and not cnp.PyArray_ISWRITEABLE(<cnp.ndarray>a):
            raise ValueError(f"{func}: '{name}' is read-only; it is updated in place")
        for j in range(-1, i):
            seen_name, seen = ("param", param) if j < 0 else (names[j], arrays[j])
            if overlap(a, seen):
                raise ValueError(f"{func}: '{name}' overlaps '{seen_name}'; optimizer "
                                 f"state, parameters and gradients must be separate arrays")
    return t


cdef object check_labels(str func, str name, object labels, Py_ssize_t n_rows):
    """Integer class indices of shape (n_rows,) -> a C-contiguous int64 array."""
    if not cnp.PyArray_Check(labels):
        raise TypeError(f"{func}: '{name}' must be a numpy.ndarray of integer class "
                        f"indices; got {_describe(labels)}")
    cdef cnp.ndarray arr = <cnp.ndarray>labels
    if not (cnp.PyArray_ISINTEGER(arr) and cnp.PyArray_TYPE(arr) != cnp.NPY_BOOL):
        raise TypeError(f"{func}: '{name}' must have an integer dtype (class indices); "
                        f"got {labels.dtype}")
    if cnp.PyArray_NDIM(arr) != 1:
        raise ValueError(f"{func}: '{name}' must be 1-D; got shape {labels.shape}")
    if cnp.PyArray_DIMS(arr)[0] != n_rows:
        raise ValueError(f"{func}: '{name}' has {labels.shape[0]} entries but there are "
                         f"{n_rows} rows")
    if (cnp.PyArray_TYPE(arr) == cnp.NPY_INT64 and cnp.PyArray_ISNOTSWAPPED(arr)
            and cnp.PyArray_IS_C_CONTIGUOUS(arr)):
        return arr
    return np.ascontiguousarray(arr, dtype=np.int64)


cpdef int check_label_range(str func, str name, object labels,
                            Py_ssize_t n_classes) except -1:
    """Raise ValueError naming the first label outside [0, n_classes)."""
    bad = np.flatnonzero((labels < 0) | (labels >= n_classes))
    if bad.size:
        i = int(bad[0])
        raise ValueError(f"{func}: '{name}'[{i}] = {int(labels[i])} is outside "
                         f"[0, {n_classes}) ({bad.size} labels out of range)")
    return 0


cdef long integer_arg(str func, str name, object value, long low) except? -1:
    """check_integer's whole rule: an int (Python or NumPy, not bool) >= low."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < low:
        raise ValueError(f"{func}: '{name}' must be an int >= {low}; got {value!r}")
    return value


cpdef double check_hyperparameter(str func, str name, object value, object low=None,
                                  object high=None, bint low_open=False,
                                  bint high_open=False) except? -1:
    """A finite real number within [low, high] (or open ends); returns it as float."""
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise TypeError(f"{func}: '{name}' must be a real number; got {value!r}")
    cdef double v = float(value)
    too_low = low is not None and (v <= low if low_open else v < low)
    too_high = high is not None and (v >= high if high_open else v > high)
    if not isfinite(v) or too_low or too_high:
        lo = "-inf" if low is None else f"{low}"
        hi = "inf" if high is None else f"{high}"
        interval = (f"{'(' if low_open or low is None else '['}{lo}, {hi}"
                    f"{')' if high_open or high is None else ']'}")
        raise ValueError(f"{func}: '{name}' must be in {interval}; got {v!r}")
    return v


def all_finite(cnp.ndarray x):
    """Whether every element of x (C-contiguous, float32 or float64, native byte order)
    is finite: no NaN or infinity. One pass over the exponent bits, without the GIL."""
    if not (_is_float(x) and cnp.PyArray_IS_C_CONTIGUOUS(x)):
        raise ValueError(f"all_finite: 'x' must be a C-contiguous float32 or "
                         f"float64 array; got {_describe(x)}")
    cdef Py_ssize_t i, n = cnp.PyArray_SIZE(x)
    cdef const uint32_t* f
    cdef const uint64_t* d
    cdef uint32_t bad32 = 0
    cdef uint64_t bad64 = 0
    if cnp.PyArray_TYPE(x) == cnp.NPY_FLOAT32:
        f = <const uint32_t*>cnp.PyArray_DATA(x)
        with nogil:
            for i in range(n):  # all exponent bits set: an infinity or a NaN
                bad32 |= (f[i] & 0x7f800000u) == 0x7f800000u
        return bad32 == 0
    d = <const uint64_t*>cnp.PyArray_DATA(x)
    with nogil:
        for i in range(n):
            bad64 |= (d[i] & 0x7ff0000000000000u) == 0x7ff0000000000000u
    return bad64 == 0
