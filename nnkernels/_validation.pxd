"""Argument checks of the kernels' Python entry points (nnkernels.kernels).

Internal. Each check names the function and the argument, what was expected and what
came. The arrays are plain objects here; once checked, the accessors below read them
through NumPy's C API.
"""
cimport numpy as cnp


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
cdef int check_matrix(str func, str name, object a, Py_ssize_t* shape,
                      int typenum=*) except -1
# param and its same-shaped, separate companions (names, arrays), for an update in place.
cdef int check_state(str func, object param, tuple names, tuple arrays) except -1

cdef int check_shape(str func, str name, object a, int ndim, const Py_ssize_t* shape,
                     str ref_name=*, object ref=*) except -1
cdef int check_nonempty(str func, str name, object a) except -1
cdef int check_separate(str func, str name, object out, str in_name, object a,
                        bint allow_same) except -1
cdef int overlap(object a, object b) noexcept
# An output (allocated when None), separate from up to three inputs (None: skipped).
cdef object check_out(str func, str name, object out, int ndim, const Py_ssize_t* shape,
                      int typenum)
cdef object check_output(str func, str name, object out, int ndim, const Py_ssize_t* shape,
                         int typenum, bint allow_same, str name1, object a1,
                         str name2=*, object a2=*, str name3=*, object a3=*)

cdef object check_labels(str func, str name, object labels, Py_ssize_t n_rows)
cdef int check_label_range(str func, str name, object labels, Py_ssize_t n_classes) except -1
cdef int check_positive_threads(str func, object n_threads) except -1
cdef long check_integer(str func, str name, object value, long low) except? -1
cpdef double check_hyperparameter(str func, str name, object value, object low=*,
                                  object high=*, bint low_open=*,
                                  bint high_open=*) except? -1
