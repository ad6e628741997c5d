"""Arrays whose data starts on a cache line."""
import numpy as np

#: Bytes of a cache line on the CPUs nnkernels targets (x86-64, arm64).
CACHE_LINE = 64


def aligned_empty(shape, dtype):
    """An uninitialised C-contiguous array of `shape` and `dtype` whose first element
    starts at a multiple of CACHE_LINE bytes. The step plan cuts the flat parameter
    arrays, and each row of its matrices, at multiples of 64 bytes from the start, so
    that two threads writing neighbouring blocks do not share a cache line; that holds
    only from an aligned start (NumPy guarantees 16 bytes), and within a matrix only
    on rows that start on a cache line (all of them when a row is a multiple of 64
    bytes: 784 floats, not 250). An empty array has no data to align."""
    dtype = np.dtype(dtype)
    size = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    raw = np.empty(size + CACHE_LINE, np.uint8)
    start = -raw.ctypes.data % CACHE_LINE
    return raw[start:start + size].view(dtype).reshape(shape)
