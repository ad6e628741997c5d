# cython: language_level=3
"""The compiled kernels, with their arguments checked.

Every function takes C-contiguous float32 or float64 arrays (one dtype per call),
releases the GIL while it runs, and writes into optional preallocated outputs
(`out=`, `dx=`, ...), so that a caller that passes them allocates nothing. Without
them, new arrays are returned. Outputs of elementwise kernels may be the very same
array as an input (in place); any other overlap is rejected.

`n_threads` defaults to :func:`nnkernels.get_num_threads`. Losses and bias gradients
give the same bits for any thread count.

The checks (nnkernels/_validation.pyx) read the arrays through NumPy's C API and the
kernels get raw pointers, so a call costs well under a microsecond more than the loop
itself. The same kernels without the GIL, for other Cython code: the .pxd files of
nnkernels.

The entry points live by family: GEMM and the bias + activation passes in
_kernels_dense.pyx, the losses and the softmax in _kernels_losses.pyx, the optimizer
updates and the online SGD in _kernels_optim.pyx.
"""
from nnkernels._kernels_dense import (bias_add, bias_backward, bias_relu, bias_relu_backward,
                                      bias_sigmoid, bias_sigmoid_backward, gemm)
from nnkernels._kernels_losses import (mse, sigmoid_binary_cross_entropy, softmax,
                                       softmax_cross_entropy)
from nnkernels._kernels_optim import (adam_update, online_sigmoid_sgd, rmsprop_update,
                                      sgd_update)

__all__ = [
    "gemm", "bias_relu", "bias_relu_backward", "bias_sigmoid", "bias_sigmoid_backward",
    "bias_add", "bias_backward", "softmax", "softmax_cross_entropy", "mse",
    "sigmoid_binary_cross_entropy", "rmsprop_update", "sgd_update", "adam_update",
    "online_sigmoid_sgd",
]
