"""Argument checks of the kernels' Python entry points (nnkernels.kernels).

Internal. Each check names the function and the argument, what was expected and what
came. The arrays are plain objects here; once checked, the accessors below read them
through NumPy's C API.
"""
cimport numpy as cnp

from nnkernels._openmp cimport default_num_threads


cdef inline void* data(object a) noexcept:
    return cnp.PyArray_DATA(<cnp.ndarray>a)


cdef inline Py_ssize_t dim(object a, int d) noexcept:
    return cnp.PyArray_DIMS(<cnp.ndarray>a)[d]


cdef inline Py_ssize_t size(object a) noexcept:
    return cnp.PyArray_SIZE(<cnp.ndarray>a)


# Each returns the dtype of the arrays it checked: NPY_FLOAT32 or NPY_FLOAT64.
# `typenum` (when >= 0): the dtype the array must share with the others.
cdef int check_float_array(str func, str name, object a, int ndim,
                           int typenum=*) except -1
# param and its same-shaped, separate companions (names, arrays), for an update in place.
cdef int check_state(str func, object param, tuple names, tuple arrays) except -1

cdef int check_shape(str func, str name, object a, int ndim, const Py_ssize_t* shape,
                     str ref_name=*, object ref=*) except -1
cdef int check_separate(str func, str name, object out, str in_name, object a,
                        bint allow_same) except -1
cdef int overlap(object a, object b) noexcept
# An output buffer of this shape and dtype, writeable; allocated when out is None.
cdef object check_out(str func, str name, object out, int ndim, const Py_ssize_t* shape,
                      int typenum)

cdef object check_labels(str func, str name, object labels, Py_ssize_t n_rows)
cpdef int check_label_range(str func, str name, object labels, Py_ssize_t n_classes) except -1
cdef long integer_arg(str func, str name, object value, long low) except? -1
cpdef double check_hyperparameter(str func, str name, object value, object low=*,
                                  object high=*, bint low_open=*,
                                  bint high_open=*) except? -1


# Inline, so that an entry point's common case makes no call across modules.

cdef inline int check_matrix(str func, str name, object a, Py_ssize_t* shape,
                             int typenum=-1) except -1:
    """check_float_array for a 2-D array; its shape into `shape`; returns its dtype."""
    cdef int t = check_float_array(func, name, a, 2, typenum)
    shape[0], shape[1] = dim(a, 0), dim(a, 1)
    return t


cdef inline int check_nonempty(str func, str name, object a) except -1:
    if size(a) == 0:
        raise ValueError(f"{func}: '{name}' is empty (shape {a.shape}); a mean over no "
                         f"elements is undefined")
    return 0


cdef inline object check_output(str func, str name, object out, int ndim,
                                const Py_ssize_t* shape, int typenum, bint allow_same,
                                str name1, object a1, str name2=None, object a2=None,
                                str name3=None, object a3=None):
    """check_out, then check_separate against each input (name1, a1), ... (a None
    input is skipped). Separate arguments rather than a tuple of pairs: building
    those cost 0.2-0.4 us per call."""
    out = check_out(func, name, out, ndim, shape, typenum)
    check_separate(func, name, out, name1, a1, allow_same)
    check_separate(func, name, out, name2, a2, allow_same)
    check_separate(func, name, out, name3, a3, allow_same)
    return out


cdef inline long check_integer(str func, str name, object value, long low) except? -1:
    """An int (Python or NumPy, not bool) >= low."""
    cdef long v
    if type(value) is int:  # the common case, without a call
        v = value
        if v >= low:
            return v
    return integer_arg(func, name, value, low)


cdef inline int check_positive_threads(str func, object n_threads) except -1:
    """`n_threads` (None: nnkernels.get_num_threads()) as an int >= 1."""
    cdef int n
    if n_threads is None:
        return default_num_threads()
    if type(n_threads) is int:
        n = n_threads
        if n >= 1:
            return n
    integer_arg(func, "n_threads", n_threads, 1)
    return n_threads
