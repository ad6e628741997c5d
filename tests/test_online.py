"""online_sigmoid_sgd (the workshop's per-sample logistic training) against a plain
Python float64 loop, and its argument checks."""
import math

import numpy as np
import pytest

from nnkernels import kernels
from conftest import tolerance


def _reference(x, t, w, b, lr, epochs):
    w, b = [float(v) for v in w], float(b[0])
    for _ in range(epochs):
        for xi, ti in zip(x.astype(np.float64), t.astype(np.float64)):
            p = 1.0 / (1.0 + math.exp(-(b + sum(a * c for a, c in zip(xi, w)))))
            step = lr * (ti - p) * p * (1 - p)
            w = [wj + step * a for wj, a in zip(w, xi)]
            b += step
    return np.array(w), np.array([b])


@pytest.mark.parametrize("n,k,epochs", [(1, 1, 1), (7, 3, 5), (50, 2, 20), (0, 2, 3),
                                        (9, 1, 0)])
def test_matches_a_plain_loop(dtype, n, k, epochs):
    rng = np.random.default_rng(n * 10 + k)
    x = rng.standard_normal((n, k)).astype(dtype)
    t = (rng.random(n) > 0.5).astype(dtype)
    w0, b0 = rng.random(k).astype(dtype), rng.random(1).astype(dtype)
    w, b = w0.copy(), b0.copy()
    out = kernels.online_sigmoid_sgd(x, t, w, b, lr=0.3, epochs=epochs)
    assert out[0] is w and out[1] is b
    w_ref, b_ref = _reference(x, t, w0, b0, 0.3, epochs)
    tol = tolerance(dtype)
    np.testing.assert_allclose(w, w_ref, rtol=tol["rtol"] * 100, atol=tol["atol"] * 100)
    np.testing.assert_allclose(b, b_ref, rtol=tol["rtol"] * 100, atol=tol["atol"] * 100)


def test_order_matters_it_is_sequential():
    # One sample at a time: reversing the rows changes the result (minibatch or
    # parallel evaluation would not).
    rng = np.random.default_rng(0)
    x, t = rng.standard_normal((20, 2)), (rng.random(20) > 0.5).astype(float)
    a = kernels.online_sigmoid_sgd(x, t, np.zeros(2), np.zeros(1), lr=1.0, epochs=3)
    b = kernels.online_sigmoid_sgd(x[::-1].copy(), t[::-1].copy(), np.zeros(2), np.zeros(1),
                                   lr=1.0, epochs=3)
    assert not np.allclose(a[0], b[0])


def _args():
    return dict(x=np.ones((4, 2)), targets=np.zeros(4), weights=np.zeros(2),
                bias=np.zeros(1))


@pytest.mark.parametrize("change, error, message", [
    (dict(x=np.ones(4)), ValueError, "'x' must be 2-D"),
    (dict(targets=np.zeros(3)), ValueError, r"'targets' must have shape \(4,\)"),
    (dict(weights=np.zeros(3)), ValueError, r"'weights' must have shape \(2,\)"),
    (dict(bias=np.zeros(2)), ValueError, r"'bias' must have shape \(1,\)"),
    (dict(targets=np.zeros(4, np.float32)), TypeError, "'targets' has dtype float32"),
    (dict(x=np.ones((4, 2), np.int64)), TypeError, "'x' must have dtype float32 or float64"),
    (dict(x=np.ones((2, 4)).T), ValueError, "'x' must be C-contiguous"),
])
def test_bad_arrays(change, error, message):
    args = {**_args(), **change}
    with pytest.raises(error, match=message):
        kernels.online_sigmoid_sgd(args["x"], args["targets"], args["weights"],
                                   args["bias"], lr=0.1, epochs=1)


def test_read_only_and_overlapping_parameters():
    a = _args()
    a["weights"].flags.writeable = False
    with pytest.raises(ValueError, match="'weights' is read-only"):
        kernels.online_sigmoid_sgd(a["x"], a["targets"], a["weights"], a["bias"], lr=0.1,
                                   epochs=1)
    params = np.zeros(3)
    with pytest.raises(ValueError, match="'bias' overlaps 'weights'"):
        kernels.online_sigmoid_sgd(np.ones((4, 2)), np.zeros(4), params[:2], params[1:2],
                                   lr=0.1, epochs=1)
    x = np.ones((2, 2))
    with pytest.raises(ValueError, match="'x' overlaps the parameters"):
        kernels.online_sigmoid_sgd(x, np.zeros(2), x[0], np.zeros(1), lr=0.1, epochs=1)


@pytest.mark.parametrize("lr, epochs, message", [
    (0.0, 1, "'lr' must be in"), (float("nan"), 1, "'lr' must be in"),
    (0.1, -1, "'epochs' must be an int >= 0"), (0.1, 2.5, "'epochs' must be an int >= 0"),
])
def test_bad_hyperparameters(lr, epochs, message):
    a = _args()
    with pytest.raises(ValueError, match=message):
        kernels.online_sigmoid_sgd(a["x"], a["targets"], a["weights"], a["bias"], lr=lr,
                                   epochs=epochs)
