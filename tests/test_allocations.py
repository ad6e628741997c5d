"""After the first batch of a given size, a training step allocates no array memory:
activations, gradients and optimizer state live in reused buffers."""
import tracemalloc

import numpy as np
import pytest

import nnkernels

ARRAY_BYTES = 100 * 10 * 4  # the smallest buffer a step uses (logits 100 x 10, float32)


@pytest.mark.parametrize("build,target", [
    (nnkernels.models.mnist_classifier, "labels"),
    (nnkernels.models.mnist_autoencoder, "inputs"),
])
def test_training_step_allocates_nothing_after_warm_up(build, target):
    model = build(seed=0)
    rng = np.random.default_rng(0)
    x = rng.random((100, 784), dtype=np.float32)
    y = rng.integers(0, 10, 100) if target == "labels" else x
    model.train_step(x, y)  # warm-up: buffers for batch size 100
    tracemalloc.start()
    try:
        before, _ = tracemalloc.get_traced_memory()
        tracemalloc.reset_peak()
        for _ in range(100):
            model.train_step(x, y)
        after, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert after - before < ARRAY_BYTES, after - before
    # Not even a transient array: the peak stays below the smallest buffer's size.
    assert peak - before < ARRAY_BYTES, peak - before
