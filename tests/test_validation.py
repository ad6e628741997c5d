"""Bad input gets a ValueError or TypeError naming the argument, what was expected
and what came; never a crash or a silently wrong answer. One test per case."""
import numpy as np
import pytest

from nnkernels import kernels

f32 = np.float32


def ones(*shape, dtype=f32):
    return np.ones(shape, dtype)


def test_wrong_ndim():
    with pytest.raises(ValueError, match=r"bias_relu: 'x' must be 2-D; got 1-D with shape \(4,\)"):
        kernels.bias_relu(ones(4), ones(4))


def test_bias_shape_mismatch():
    with pytest.raises(ValueError, match=r"'bias' must have shape \(5,\) to match x of shape "
                                         r"\(3, 5\); got \(4,\)"):
        kernels.bias_relu(ones(3, 5), ones(4))


def test_gemm_inner_dimension_mismatch():
    with pytest.raises(ValueError, match=r"inner dimensions differ: op\(a\) has shape \(3, 4\)"):
        kernels.gemm(ones(3, 4), ones(5, 2))


def test_gemm_out_shape_mismatch():
    with pytest.raises(ValueError, match=r"'out' must have shape \(3, 2\); got \(2, 3\)"):
        kernels.gemm(ones(3, 4), ones(4, 2), ones(2, 3))


def test_mixed_dtypes():
    with pytest.raises(TypeError, match=r"'bias' has dtype float64 but the other arrays are "
                                        r"float32"):
        kernels.bias_relu(ones(3, 5), ones(5, dtype=np.float64))


def test_integer_dtype():
    with pytest.raises(TypeError, match=r"'x' must have dtype float32 or float64; got int64"):
        kernels.bias_relu(np.ones((3, 5), dtype=np.int64), ones(5))


def test_not_an_array():
    with pytest.raises(TypeError, match=r"'a' must be a numpy.ndarray; got list"):
        kernels.gemm([[1.0]], ones(1, 1))


def test_non_contiguous_input():
    with pytest.raises(ValueError, match=r"'a' must be C-contiguous .*use np.ascontiguousarray"):
        kernels.gemm(ones(4, 3).T, ones(4, 2))


def test_non_contiguous_out():
    out = np.ones((2, 6), f32)[:, ::2]
    with pytest.raises(ValueError, match=r"'out' must be C-contiguous"):
        kernels.bias_relu(ones(2, 3), ones(3), out)


def test_read_only_out():
    out = ones(2, 3)
    out.flags.writeable = False
    with pytest.raises(ValueError, match=r"'out' is read-only"):
        kernels.bias_relu(ones(2, 3), ones(3), out)


def test_out_wrong_dtype():
    with pytest.raises(TypeError, match=r"'out' has dtype float64 but the other arrays are "
                                        r"float32"):
        kernels.bias_relu(ones(2, 3), ones(3), ones(2, 3, dtype=np.float64))


def test_label_out_of_range():
    with pytest.raises(ValueError, match=r"'labels'\[2\] = 10 is outside \[0, 10\)"):
        kernels.softmax_cross_entropy(ones(4, 10), np.array([0, 9, 10, 3]))


def test_negative_label():
    with pytest.raises(ValueError, match=r"'labels'\[0\] = -1 is outside \[0, 3\)"):
        kernels.softmax_cross_entropy(ones(2, 3), np.array([-1, 0]))


def test_float_labels():
    with pytest.raises(TypeError, match=r"'labels' must have an integer dtype .*got float64"):
        kernels.softmax_cross_entropy(ones(2, 3), np.array([0.0, 1.0]))


def test_label_count_mismatch():
    with pytest.raises(ValueError, match=r"'labels' has 3 entries but there are 2 rows"):
        kernels.softmax_cross_entropy(ones(2, 3), np.array([0, 1, 2]))


def test_empty_batch_loss():
    with pytest.raises(ValueError, match=r"'pred' is empty \(shape \(0, 3\)\)"):
        kernels.mse(ones(0, 3), ones(0, 3))


def test_gemm_out_aliases_input():
    a = ones(3, 3)
    with pytest.raises(ValueError, match=r"'out' is the same memory as 'a'"):
        kernels.gemm(a, ones(3, 3), a)


def test_partial_overlap_rejected():
    buf = ones(4, 3)
    with pytest.raises(ValueError, match=r"'out' overlaps 'x'"):
        kernels.bias_relu(buf[:3], ones(3), buf[1:])


def test_dbias_aliasing_dy_rejected():
    dy = ones(4, 3)
    with pytest.raises(ValueError, match=r"'dbias' overlaps 'dy'"):
        kernels.bias_backward(dy, dy[0])


def test_optimizer_state_overlap_rejected():
    p = ones(5)
    with pytest.raises(ValueError, match=r"'cache' overlaps 'param'"):
        kernels.rmsprop_update(p, ones(5), p, lr=0.1, rho=0.9, eps=1e-8)


def test_optimizer_shape_mismatch():
    with pytest.raises(ValueError, match=r"'grad' must have shape \(5,\) to match param"):
        kernels.sgd_update(ones(5), ones(4), lr=0.1)


@pytest.mark.parametrize("kwargs,match", [
    (dict(lr=-1.0, rho=0.9, eps=1e-8), r"'lr' must be in \[0, inf\); got -1.0"),
    (dict(lr=0.1, rho=1.0, eps=1e-8), r"'rho' must be in \[0, 1\); got 1.0"),
    (dict(lr=float("nan"), rho=0.9, eps=1e-8), r"'lr' must be in \[0, inf\); got nan"),
    (dict(lr="0.1", rho=0.9, eps=1e-8), r"'lr' must be a real number; got '0.1'"),
])
def test_bad_hyperparameters_quote_the_value(kwargs, match):
    with pytest.raises((ValueError, TypeError), match=match):
        kernels.rmsprop_update(ones(3), ones(3), ones(3), **kwargs)


def test_momentum_without_velocity():
    with pytest.raises(ValueError, match=r"momentum=0.9 needs a 'velocity' array"):
        kernels.sgd_update(ones(3), ones(3), lr=0.1, momentum=0.9)


def test_adam_step_must_be_positive():
    with pytest.raises(ValueError, match=r"'step' must be an int >= 1; got 0"):
        kernels.adam_update(ones(3), ones(3), ones(3), ones(3), lr=0.1, beta1=0.9,
                            beta2=0.99, eps=1e-8, step=0)


def test_bad_thread_count():
    with pytest.raises(ValueError, match=r"'n_threads' must be an int >= 1; got 0"):
        kernels.bias_relu(ones(2, 2), ones(2), n_threads=0)


def test_gemm_beta_without_out():
    with pytest.raises(ValueError, match=r"beta=0.5 accumulates into 'out'"):
        kernels.gemm(ones(2, 2), ones(2, 2), beta=0.5)


def test_byte_swapped_dtype():
    # Same type number as float32, other byte order: the kernels would read garbage.
    x = np.ones((2, 3), dtype=">f4" if np.little_endian else "<f4")
    with pytest.raises(TypeError, match=r"'x' must have dtype float32 or float64; got [<>]f4"):
        kernels.bias_relu(x, ones(3))


def test_labels_of_another_integer_type_are_converted():
    logits = ones(3, 4)
    loss64, _ = kernels.softmax_cross_entropy(logits, np.array([0, 3, 1]))
    loss8, _ = kernels.softmax_cross_entropy(logits, np.array([0, 3, 1], dtype=np.uint8)[::1])
    strided, _ = kernels.softmax_cross_entropy(logits, np.array([0, 9, 3, 9, 1, 9])[::2])
    assert loss64 == loss8 == strided


def test_overlap_is_exact_for_neighbouring_rows():
    # Adjacent, non-overlapping views of one buffer are accepted; one shared element
    # is not (the bounds test is exact for C-contiguous arrays).
    buf = ones(4, 3)
    kernels.bias_relu(buf[:2], ones(3), out=buf[2:])
    with pytest.raises(ValueError, match=r"'out' overlaps 'x'"):
        kernels.bias_relu(buf[:2], ones(3), out=buf.reshape(-1)[5:11].reshape(2, 3))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("size", [1, 7, 784, 70001])
def test_all_finite_finds_every_nan_and_infinity_as_numpy_does(dtype, size):
    from nnkernels._checks import all_finite
    rng = np.random.default_rng(size)
    x = (rng.uniform(-1, 1, size) * np.finfo(dtype).max).astype(dtype)
    x[rng.integers(size)] = np.finfo(dtype).max     # the largest finite values pass
    x[rng.integers(size)] = -np.finfo(dtype).tiny / 2   # and so do denormals
    assert all_finite(x) and np.isfinite(x).all()
    for bad in (np.nan, np.inf, -np.inf, -np.nan):
        y = x.copy()
        y[rng.integers(size)] = bad
        assert all_finite(y) is False and not np.isfinite(y).all()


def test_all_finite_refuses_what_it_cannot_scan():
    from nnkernels._checks import all_finite
    with pytest.raises(ValueError, match=r"'x' must be a C-contiguous float32 or float64 "
                                         r"array; got array of shape \(3,\) and dtype int64"):
        all_finite(np.arange(3))
    with pytest.raises(ValueError, match="C-contiguous"):
        all_finite(ones(4, 4)[:, ::2])
    with pytest.raises(TypeError):
        all_finite([1.0, 2.0])
