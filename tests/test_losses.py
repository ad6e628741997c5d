"""Loss kernels: NumPy float64 reference, finite differences, extreme logits,
bitwise determinism across thread counts."""
import numpy as np
import pytest
from hypothesis import example, given, strategies as st
from scipy.special import log_expit, logsumexp

from nnkernels import kernels
from conftest import central_difference, tolerance

shapes = st.tuples(st.integers(1, 300), st.integers(1, 40))


def _softmax_ce_reference(logits, labels):
    z = logits.astype(np.float64)
    n = z.shape[0]
    loss = np.mean(logsumexp(z, axis=1) - z[np.arange(n), labels])
    p = np.exp(z - logsumexp(z, axis=1, keepdims=True))
    p[np.arange(n), labels] -= 1
    return loss, p / n


@given(shape=shapes, dtype=st.sampled_from([np.float32, np.float64]),
       scale=st.sampled_from([1.0, 30.0]))
@example(shape=(1, 1), dtype=np.float32, scale=1.0)
@example(shape=(1000, 10), dtype=np.float32, scale=1.0)
@example(shape=(100, 10), dtype=np.float64, scale=1.0)
def test_softmax_cross_entropy_matches_numpy(shape, dtype, scale):
    rng = np.random.default_rng(shape[0] * 100 + shape[1])
    logits = (scale * rng.standard_normal(shape)).astype(dtype)
    labels = rng.integers(0, shape[1], shape[0])
    loss, dlogits = kernels.softmax_cross_entropy(logits, labels)
    ref_loss, ref_grad = _softmax_ce_reference(logits, labels)
    tol = tolerance(np.dtype(dtype))
    assert loss == pytest.approx(ref_loss, rel=tol["rtol"] * 10, abs=tol["atol"] * 10)
    np.testing.assert_allclose(dlogits, ref_grad, rtol=tol["rtol"] * 10, atol=tol["atol"])


@pytest.mark.parametrize("magnitude", [1e4, 1e30, 3e38])
def test_softmax_cross_entropy_is_stable_for_huge_logits(magnitude, dtype):
    big = min(magnitude, np.finfo(dtype).max / 2)
    logits = np.array([[big, 0, -big], [-big, -big, big]], dtype=dtype)
    with np.errstate(all="raise"):
        loss, grad = kernels.softmax_cross_entropy(logits, np.array([0, 0]))
    assert np.isfinite(loss) and np.all(np.isfinite(grad))
    assert loss == pytest.approx(float(2 * big) / 2, rel=1e-6)  # row 1 is wrong by 2*big
    np.testing.assert_allclose(grad, [[0, 0, 0], [-0.5, 0, 0.5]], atol=1e-7)


@pytest.mark.parametrize("label_dtype", [np.int8, np.uint8, np.int32, np.uint32, np.int64])
def test_any_integer_label_dtype(label_dtype, rng):
    logits = rng.standard_normal((5, 4))
    labels = np.array([0, 3, 1, 2, 3], dtype=label_dtype)
    loss, _ = kernels.softmax_cross_entropy(logits, labels)
    assert loss == pytest.approx(_softmax_ce_reference(logits, labels.astype(int))[0])


def test_softmax_cross_entropy_finite_differences():
    rng = np.random.default_rng(3)
    logits = rng.standard_normal((4, 7))
    labels = rng.integers(0, 7, 4)
    _, grad = kernels.softmax_cross_entropy(logits, labels)
    numeric = central_difference(lambda: kernels.softmax_cross_entropy(logits, labels)[0],
                                 logits)
    np.testing.assert_allclose(grad, numeric, rtol=1e-6, atol=1e-9)


def test_softmax_cross_entropy_in_place(rng, dtype):
    logits = rng.standard_normal((9, 5)).astype(dtype)
    labels = rng.integers(0, 5, 9)
    loss, grad = kernels.softmax_cross_entropy(logits, labels)
    buf = logits.copy()
    loss2, grad2 = kernels.softmax_cross_entropy(buf, labels, buf)
    assert grad2 is buf and loss2 == loss
    np.testing.assert_array_equal(grad2, grad)


@given(shape=shapes, dtype=st.sampled_from([np.float32, np.float64]))
@example(shape=(1, 1), dtype=np.float32)
@example(shape=(100, 784), dtype=np.float32)
def test_mse_matches_numpy(shape, dtype):
    rng = np.random.default_rng(shape[0] * 100 + shape[1])
    pred = rng.random(shape).astype(dtype)
    target = rng.random(shape).astype(dtype)
    loss, grad = kernels.mse(pred, target)
    diff = pred.astype(np.float64) - target
    tol = tolerance(np.dtype(dtype))
    assert loss == pytest.approx(np.mean(diff ** 2), rel=tol["rtol"] * 10)
    np.testing.assert_allclose(grad, 2 * diff / diff.size, rtol=tol["rtol"], atol=tol["atol"])


@pytest.mark.parametrize("shape", [(2, 5003), (1, 300_001), (7, 255)])
def test_mse_loss_is_accurate_on_long_rows(shape):
    # float32 squares are summed in runs of up to 32 groups of 8 before the double
    # accumulators: the loss stays within a few float32 ulp of the exact mean of the
    # float32 inputs (NumPy's own float32 dot is less accurate on rows this long).
    rng = np.random.default_rng(shape[1])
    pred = rng.random(shape, dtype=np.float32)
    target = rng.random(shape, dtype=np.float32)
    loss, _ = kernels.mse(pred, target)
    exact = np.mean((pred.astype(np.float64) - target) ** 2)
    assert loss == pytest.approx(exact, rel=3e-7)


def test_mse_finite_differences():
    rng = np.random.default_rng(4)
    pred, target = rng.random((3, 5)), rng.random((3, 5))
    _, grad = kernels.mse(pred, target)
    np.testing.assert_allclose(grad, central_difference(lambda: kernels.mse(pred, target)[0],
                                                        pred), rtol=1e-6, atol=1e-10)


def _bce_reference(z, t):
    z = z.astype(np.float64)
    return np.mean(-(t * log_expit(z) + (1 - t) * log_expit(-z)))


@given(shape=shapes, dtype=st.sampled_from([np.float32, np.float64]))
@example(shape=(1, 1), dtype=np.float64)
def test_sigmoid_bce_matches_numpy(shape, dtype):
    rng = np.random.default_rng(shape[0] * 100 + shape[1])
    z = (4 * rng.standard_normal(shape)).astype(dtype)
    t = rng.integers(0, 2, shape).astype(dtype)
    loss, grad = kernels.sigmoid_binary_cross_entropy(z, t)
    tol = tolerance(np.dtype(dtype))
    assert loss == pytest.approx(_bce_reference(z, t), rel=tol["rtol"] * 10, abs=tol["atol"])
    expit = 0.5 * (1 + np.tanh(0.5 * z.astype(np.float64)))
    np.testing.assert_allclose(grad, (expit - t) / z.size, rtol=tol["rtol"] * 10,
                               atol=tol["atol"])


def test_sigmoid_bce_stable_for_huge_logits(dtype):
    z = np.array([[1e30, -1e30, 80.0, -80.0]], dtype=dtype)
    t = np.array([[0.0, 1.0, 1.0, 0.0]], dtype=dtype)
    with np.errstate(all="raise"):
        loss, grad = kernels.sigmoid_binary_cross_entropy(z, t)
    assert loss == pytest.approx((1e30 + 1e30) / 4, rel=1e-6)
    np.testing.assert_allclose(grad, [[0.25, -0.25, 0, 0]], atol=1e-9)


def test_sigmoid_bce_finite_differences():
    rng = np.random.default_rng(5)
    z, t = rng.standard_normal((4, 3)), rng.random((4, 3))
    _, grad = kernels.sigmoid_binary_cross_entropy(z, t)
    numeric = central_difference(lambda: kernels.sigmoid_binary_cross_entropy(z, t)[0], z)
    np.testing.assert_allclose(grad, numeric, rtol=1e-6, atol=1e-10)


@pytest.mark.parametrize("n", [1, 100, 1000, 4099, 60000])
def test_losses_same_bits_for_one_and_two_threads(n, dtype):
    rng = np.random.default_rng(n)
    logits = rng.standard_normal((n, 10)).astype(dtype)
    labels = rng.integers(0, 10, n)
    a = kernels.softmax_cross_entropy(logits, labels, n_threads=1)
    b = kernels.softmax_cross_entropy(logits, labels, n_threads=2)
    assert a[0] == b[0] and a[1].tobytes() == b[1].tobytes()
    target = rng.random((n, 10)).astype(dtype)
    for loss in (kernels.mse, kernels.sigmoid_binary_cross_entropy):
        a, b = loss(logits, target, n_threads=1), loss(logits, target, n_threads=2)
        assert a[0] == b[0] and a[1].tobytes() == b[1].tobytes()


@given(shape=shapes, dtype=st.sampled_from([np.float32, np.float64]),
       scale=st.sampled_from([1.0, 100.0]))
@example(shape=(1, 1), dtype=np.float32, scale=1.0)
def test_softmax_matches_numpy(shape, dtype, scale):
    rng = np.random.default_rng(shape[0] * 31 + shape[1])
    logits = (scale * rng.standard_normal(shape)).astype(dtype)
    z = logits.astype(np.float64)
    expected = np.exp(z - logsumexp(z, axis=1, keepdims=True))
    tol = tolerance(np.dtype(dtype))
    np.testing.assert_allclose(kernels.softmax(logits), expected, rtol=tol["rtol"] * 10,
                               atol=tol["atol"])
    assert (kernels.softmax(logits, n_threads=1).tobytes()
            == kernels.softmax(logits, n_threads=2).tobytes())
