"""Arrays that start on a cache line (the plan's block boundaries rely on it)."""
import numpy as np
import pytest
from hypothesis import given, strategies as st

import nnkernels
from nnkernels._memory import CACHE_LINE, aligned_empty


@given(shape=st.lists(st.integers(0, 40), min_size=0, max_size=3),
       dtype=st.sampled_from(["float32", "float64", "int64", "uint8"]))
def test_aligned_empty_is_a_writable_c_contiguous_array_on_a_cache_line(shape, dtype):
    a = aligned_empty(tuple(shape), dtype)
    assert a.shape == tuple(shape) and a.dtype == np.dtype(dtype)
    assert a.flags.c_contiguous and a.flags.writeable
    assert a.size == 0 or a.ctypes.data % CACHE_LINE == 0
    a[...] = 1
    assert (a == 1).all()


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_a_models_flat_buffers_start_on_a_cache_line(dtype):
    model = nnkernels.models.mnist_classifier(seed=0, dtype=dtype)
    x = np.random.default_rng(0).random((200, 784)).astype(dtype)
    model.fit(x, np.zeros(200, np.int64), epochs=1, batch_size=100, verbose=0)
    engine = model.engine
    for flat in (engine.data, engine.grad, *engine.states):
        assert flat.array.ctypes.data % CACHE_LINE == 0
    assert model.layers[0].weight.data.ctypes.data % CACHE_LINE == 0
