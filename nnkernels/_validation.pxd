"""Argument checks for the kernels' Python entry points (nnkernels.kernels).

Internal: the array arguments are plain objects here, so that this contract needs
no NumPy headers; the implementations read them through NumPy's C API.
"""

# NPY_FLOAT32 or NPY_FLOAT64, for an array that passed check_float_array.
cdef int float_typenum(object a) noexcept
cdef int check_float_array(str func, str name, object a, int ndim,
                           int typenum=*) except -1
cdef int check_shape(str func, str name, object a, int ndim, const Py_ssize_t* shape,
                     str ref_name=*, object ref=*) except -1
cdef object check_out(str func, str name, object out, int ndim, const Py_ssize_t* shape,
                      int typenum)
cdef int overlap(object a, object b) noexcept
cdef int check_separate(str func, str name, object out, str in_name, object a,
                        bint allow_same) except -1
cdef object check_labels(str func, str name, object labels, Py_ssize_t n_rows)
cdef int check_positive_threads(str func, object n_threads) except -1
cpdef double check_hyperparameter(str func, str name, object value, object low=*,
                                  object high=*, bint low_open=*,
                                  bint high_open=*) except? -1
