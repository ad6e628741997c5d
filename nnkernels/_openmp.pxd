"""OpenMP as compiled, and the thread count of the kernels' loops."""

# The thread count a kernel uses when its caller gives none: the last
# nnkernels.set_num_threads(n), else the cores this process may run on.
cdef int default_num_threads() except -1
