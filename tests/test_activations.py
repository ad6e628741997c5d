"""Fused bias + activation kernels: NumPy float64 reference, finite differences,
bitwise determinism across thread counts, in-place use."""
import numpy as np
import pytest
from hypothesis import example, given, strategies as st

from nnkernels import Dense, kernels
from conftest import central_difference, tolerance


def _sigmoid(v):
    return 0.5 * (1 + np.tanh(0.5 * v))  # overflow-free reference


FORWARD = {
    "relu": (kernels.bias_relu, lambda v: np.maximum(v, 0)),
    "sigmoid": (kernels.bias_sigmoid, _sigmoid),
    "identity": (kernels.bias_add, lambda v: v),
}
BACKWARD = {
    "relu": (kernels.bias_relu_backward, lambda dy, y: dy * (y > 0)),
    "sigmoid": (kernels.bias_sigmoid_backward, lambda dy, y: dy * y * (1 - y)),
}
shapes = st.tuples(st.integers(1, 140), st.integers(1, 140))


@pytest.mark.parametrize("act", FORWARD)
@given(shape=shapes, dtype=st.sampled_from([np.float32, np.float64]))
@example(shape=(1, 1), dtype=np.float32)
@example(shape=(1000, 250), dtype=np.float32)
@example(shape=(100, 784), dtype=np.float64)
def test_forward_matches_numpy(act, shape, dtype):
    kernel, ref = FORWARD[act]
    rng = np.random.default_rng(shape[0] * 1000 + shape[1])
    x = (3 * rng.standard_normal(shape)).astype(dtype)
    bias = rng.standard_normal(shape[1]).astype(dtype)
    out = kernel(x, bias)
    assert out.dtype == dtype
    np.testing.assert_allclose(out, ref(x.astype(np.float64) + bias), **tolerance(np.dtype(dtype)))


def test_sigmoid_extremes_do_not_overflow(dtype):
    x = np.array([[-1e30, -800, -100, 0, 100, 800, 1e30]], dtype=dtype)
    with np.errstate(all="raise"):
        out = kernels.bias_sigmoid(x, np.zeros(7, dtype))
    np.testing.assert_allclose(out, [[0, 0, _sigmoid(-100.0), 0.5, 1, 1, 1]], atol=1e-30)


@pytest.mark.parametrize("act", BACKWARD)
@given(shape=shapes, dtype=st.sampled_from([np.float32, np.float64]))
@example(shape=(1, 1), dtype=np.float32)
@example(shape=(1000, 250), dtype=np.float32)
def test_backward_matches_numpy(act, shape, dtype):
    kernel, ref = BACKWARD[act]
    forward = FORWARD[act][0]
    rng = np.random.default_rng(shape[0] * 1000 + shape[1])
    x = rng.standard_normal(shape).astype(dtype)
    y = forward(x, rng.standard_normal(shape[1]).astype(dtype))
    dy = rng.standard_normal(shape).astype(dtype)
    dx, dbias = kernel(dy, y)
    expected = ref(dy.astype(np.float64), y.astype(np.float64))
    np.testing.assert_allclose(dx, expected, **tolerance(np.dtype(dtype)))
    tol = tolerance(np.dtype(dtype))
    np.testing.assert_allclose(dbias, expected.sum(axis=0), rtol=tol["rtol"],
                               atol=tol["atol"] * shape[0] * 10)


@given(shape=shapes)
def test_bias_backward_is_column_sum(shape):
    rng = np.random.default_rng(shape[0] * 7 + shape[1])
    dy = rng.standard_normal(shape)
    np.testing.assert_allclose(kernels.bias_backward(dy), dy.sum(axis=0), rtol=1e-12,
                               atol=1e-12)


@pytest.mark.parametrize("act", ["relu", "sigmoid", "identity"])
@pytest.mark.parametrize("shape", [(1, 1), (3, 5), (7, 66)])
def test_backward_against_finite_differences(act, shape):
    rng = np.random.default_rng(0)
    # Keep x away from the ReLU kink so the central difference is exact there.
    x = rng.uniform(0.1, 1.0, shape) * rng.choice([-1, 1], shape)
    bias = rng.uniform(-0.05, 0.05, shape[1])
    w = rng.standard_normal(shape)  # loss = sum(w * act(x + bias)), so dy = w
    forward = FORWARD[act][0]

    def loss():
        return float(np.sum(w * forward(x, bias)))

    y = forward(x, bias)
    if act == "identity":
        # Through the kernels the identity's backward takes in a layer: a Dense layer
        # with an identity weight computes act(x @ I + bias) = x + bias, and its backward
        # gives dx = dy @ I^T (gemm) and dbias (bias_backward).
        layer = Dense(shape[1], shape[1], activation=None, dtype=np.float64)
        layer.weight.data[...] = np.eye(shape[1])
        layer.bias.data[...] = bias
        np.testing.assert_array_equal(layer.forward(x), y)
        dx, dbias = layer.backward(w).copy(), layer.bias.grad
    else:
        dx, dbias = BACKWARD[act][0](w, y)
    np.testing.assert_allclose(dx, central_difference(loss, x), rtol=1e-6, atol=1e-8)
    np.testing.assert_allclose(dbias, central_difference(loss, bias), rtol=1e-6, atol=1e-8)


@pytest.mark.parametrize("act", ["relu", "sigmoid"])
@pytest.mark.parametrize("shape", [(1000, 250), (513, 77), (100, 784), (1000, 784),
                                   (600, 1500)])
def test_same_bits_for_one_and_two_threads(act, shape, dtype):
    # (1000, 784) is above the size from which even the cheap loops (ReLU, the
    # backward passes) run on two threads (PARALLEL_MIN_WORK in _common.pxd). The bias
    # gradient's columns are then cut differently (one block of 784 on one thread, two
    # of 392 on two; (600, 1500): 1024 + 476 against 752 + 748).
    rng = np.random.default_rng(1)
    x = rng.standard_normal(shape).astype(dtype)
    bias = rng.standard_normal(shape[1]).astype(dtype)
    fwd, bwd = FORWARD[act][0], BACKWARD[act][0]
    y1, y2 = fwd(x, bias, n_threads=1), fwd(x, bias, n_threads=2)
    assert y1.tobytes() == y2.tobytes()
    dx1, db1 = bwd(x, y1, n_threads=1)
    dx2, db2 = bwd(x, y1, n_threads=2)
    assert dx1.tobytes() == dx2.tobytes() and db1.tobytes() == db2.tobytes()
    assert (kernels.bias_backward(x, n_threads=1).tobytes()
            == kernels.bias_backward(x, n_threads=2).tobytes())


def test_in_place_forward_and_backward(rng, dtype, n_threads):
    x = rng.standard_normal((50, 40)).astype(dtype)
    bias = rng.standard_normal(40).astype(dtype)
    expected = kernels.bias_relu(x, bias)
    buf = x.copy()
    assert kernels.bias_relu(buf, bias, buf, n_threads=n_threads) is buf
    np.testing.assert_array_equal(buf, expected)
    dy = rng.standard_normal((50, 40)).astype(dtype)
    dx_ref, db_ref = kernels.bias_relu_backward(dy, expected)
    dx, db = kernels.bias_relu_backward(dy, expected, dx=dy, n_threads=n_threads)
    assert dx is dy
    np.testing.assert_array_equal(dx, dx_ref)
    np.testing.assert_array_equal(db, db_ref)


def test_preallocated_outputs_are_used(rng, dtype):
    x = rng.standard_normal((6, 4)).astype(dtype)
    bias = rng.standard_normal(4).astype(dtype)
    out = np.empty_like(x)
    dx, db = np.empty_like(x), np.empty(4, dtype)
    assert kernels.bias_sigmoid(x, bias, out) is out
    rdx, rdb = kernels.bias_sigmoid_backward(x, out, dx, db)
    assert rdx is dx and rdb is db


def test_read_only_inputs(rng, dtype):
    x = rng.standard_normal((6, 4)).astype(dtype)
    bias = rng.standard_normal(4).astype(dtype)
    expected = (kernels.bias_relu(x, bias), )
    expected += (kernels.bias_relu_backward(x, expected[0]), kernels.bias_backward(x))
    x.flags.writeable = bias.flags.writeable = False
    y = kernels.bias_relu(x, bias)
    y.flags.writeable = False
    got = (y, kernels.bias_relu_backward(x, y), kernels.bias_backward(x))
    for g, e in zip(got, expected):  # the same results as from writeable inputs
        for a, b in zip(g if isinstance(g, tuple) else (g,), e if isinstance(e, tuple) else (e,)):
            np.testing.assert_array_equal(a, b)
