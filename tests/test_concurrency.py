"""Eight Python threads training separate models and calling kernels at once give,
bit for bit, what running the same work one after another gives (same thread counts)."""
import threading

import numpy as np
import pytest

import nnkernels
from nnkernels import kernels
from nnkernels.layers import Dense
from nnkernels.optimizers import SGD, Adam, RMSProp


class _LayerByLayerRMSProp(RMSProp):
    """A user's subclass: the model then trains layer by layer, not by the plan."""


def _model(i):
    dtype = "float32" if i % 2 == 0 else "float64"
    rng = np.random.default_rng(i)
    if i % 4 == 3:  # an autoencoder-like regression with a sigmoid output
        layers = [Dense(196, 48, "relu", dtype=dtype, seed=rng),
                  Dense(48, 196, "sigmoid", dtype=dtype, seed=rng)]
        loss = "mse"
    else:
        layers = [Dense(196, 64, "relu", dtype=dtype, seed=rng),
                  Dense(64, 32, "relu", dtype=dtype, seed=rng),
                  Dense(32, 10, None, dtype=dtype, seed=rng)]
        loss = "softmax_cross_entropy"
    optimizer = [RMSProp(lr=1e-3), SGD(lr=0.05, momentum=0.9, nesterov=True),
                 Adam(lr=1e-3, weight_decay=1e-4), _LayerByLayerRMSProp(lr=1e-3)][i % 4]
    return nnkernels.Sequential(layers).compile(optimizer, loss)


def _train(i):
    """Train model i on its own synthetic data: its weights and loss history."""
    rng = np.random.default_rng(100 + i)
    x = rng.random((700, 196)).astype(np.float32)
    model = _model(i)
    y = x if model.loss.name == "mse" else (x[:, :10].argmax(axis=1) + (x[:, 10] > 0.5)) % 10
    history = model.fit(x, y, epochs=2, batch_size=64, seed=i, verbose=0,
                        validation_data=(x[:100], y[:100]))
    return model.get_weights() + [np.array(history.history["loss"]),
                                  np.array(history.history["val_loss"])]


def _kernels(i):
    """Direct kernel calls (forward, loss, backward, update): every output."""
    rng = np.random.default_rng(200 + i)
    x = rng.standard_normal((257, 131))
    w = rng.standard_normal((131, 67))
    bias = rng.standard_normal(67)
    labels = rng.integers(0, 67, 257)
    cache = np.zeros((131, 67))
    outs = []
    for _ in range(10):
        z = kernels.gemm(x, w)
        h = kernels.bias_relu(z, bias)
        loss, dh = kernels.softmax_cross_entropy(h, labels)
        dz, dbias = kernels.bias_relu_backward(dh, h)
        dw = kernels.gemm(x, dz, trans_a=True)
        kernels.rmsprop_update(w, dw, cache, lr=1e-2, rho=0.9, eps=1e-8)
        outs += [np.array([loss]), dbias]
    return outs + [w, cache]


JOBS = [(_train, i) for i in range(8)] + [(_kernels, i) for i in range(4)]


@pytest.mark.parametrize("threads", [1, 2])
def test_eight_threads_training_at_once_match_one_after_another(threads):
    with nnkernels.num_threads(threads):
        sequential = [job(i) for job, i in JOBS]
        results = [None] * len(JOBS)
        errors = []
        start = threading.Barrier(len(JOBS))

        def run(k):
            job, i = JOBS[k]
            try:
                start.wait()
                results[k] = job(i)
            except BaseException as error:  # reported below, not lost in the thread
                errors.append(error)

        workers = [threading.Thread(target=run, args=(k,)) for k in range(len(JOBS))]
        for t in workers:
            t.start()
        for t in workers:
            t.join()
    assert not errors, errors
    for k, (expected, got) in enumerate(zip(sequential, results)):
        assert len(expected) == len(got)
        for a, b in zip(expected, got):
            assert a.dtype == b.dtype and np.array_equal(a, b), f"job {JOBS[k]} differs"
