"""Loss kernels (loss and gradient in one pass), float32, against a straightforward
stable NumPy expression with its buffers preallocated.

Softmax cross-entropy on the classifier's 100x10 logits; MSE on the autoencoder's
100x784 reconstruction. Target: ratio >= 3 for each kernel.
"""
import numpy as np
import pytest

from nnkernels import kernels


def _numpy_softmax_cross_entropy(logits, labels, dlogits):
    # loss = mean(logsumexp(z) - z[label]); dlogits = (softmax(z) - onehot) / n
    n = logits.shape[0]
    rows = np.arange(n)
    top = np.empty((n, 1), logits.dtype)
    sum_exp = np.empty((n, 1), logits.dtype)
    log_sum = np.empty((n, 1), logits.dtype)

    def run():
        np.max(logits, axis=1, keepdims=True, out=top)
        np.subtract(logits, top, out=dlogits)  # shift by the row max: exp cannot overflow
        np.exp(dlogits, out=dlogits)
        np.sum(dlogits, axis=1, keepdims=True, out=sum_exp)
        np.log(sum_exp, out=log_sum)
        loss = (log_sum.sum() + top.sum() - logits[rows, labels].sum()) / n
        np.multiply(sum_exp, n, out=sum_exp)
        np.divide(dlogits, sum_exp, out=dlogits)
        dlogits[rows, labels] -= 1 / n
        return float(loss)
    return run


def _numpy_mse(pred, target, dpred):
    # loss = mean((pred - target)**2); dpred = 2 (pred - target) / size
    scale = 2 / pred.size

    def run():
        np.subtract(pred, target, out=dpred)
        flat = dpred.reshape(-1)
        loss = float(np.dot(flat, flat)) / pred.size
        np.multiply(dpred, scale, out=dpred)
        return loss
    return run


def test_softmax_cross_entropy(compare, rng, n_threads):
    n, m = 100, 10
    logits = rng.standard_normal((n, m), dtype=np.float32) * 3
    labels = rng.integers(0, m, n).astype(np.int64)
    grad, grad_ref = np.empty_like(logits), np.empty_like(logits)
    fn = kernels.softmax_cross_entropy
    ours = lambda: fn(logits, labels, grad, n_threads=n_threads)[0]  # noqa: E731
    ref = _numpy_softmax_cross_entropy(logits, labels, grad_ref)
    np.testing.assert_allclose(ours(), ref(), rtol=1e-5)
    np.testing.assert_allclose(grad, grad_ref, rtol=1e-5, atol=1e-7)
    compare(ours, ref, reference_name="numpy stable softmax cross-entropy", group="losses",
            target="fused", shape=f"{n}x{m}")


def test_mse(compare, rng, n_threads):
    shape = (100, 784)
    pred = rng.random(shape, dtype=np.float32)
    target = rng.random(shape, dtype=np.float32)
    grad, grad_ref = np.empty_like(pred), np.empty_like(pred)
    fn = kernels.mse
    ours = lambda: fn(pred, target, grad, n_threads=n_threads)[0]  # noqa: E731
    ref = _numpy_mse(pred, target, grad_ref)
    np.testing.assert_allclose(ours(), ref(), rtol=1e-4)
    np.testing.assert_allclose(grad, grad_ref, rtol=1e-5, atol=1e-9)
    # np.dot runs in NumPy's OpenBLAS, threaded at this size: another thread pool.
    compare(ours, ref, reference_name="numpy mse", group="losses",
            target="fused", same_pool=False, shape=f"{shape[0]}x{shape[1]}")
