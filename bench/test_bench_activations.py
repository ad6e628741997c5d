"""Fused bias + activation kernels, forward and backward, float32, against NumPy in its
best allocation-free form (every temporary preallocated, ufuncs with out=).

Shapes are those of the MNIST models at batch 100: ReLU on the 250-unit hidden layer
of the classifier, sigmoid on the 784-unit output of the autoencoder.
Target: ratio >= 3 for each kernel.
"""
import numpy as np
import pytest

from nnkernels import kernels

SHAPES = {"relu": (100, 250), "sigmoid": (100, 784)}


def _forward_inputs(rng, shape):
    x = rng.standard_normal(shape, dtype=np.float32)
    bias = rng.standard_normal(shape[1], dtype=np.float32)
    return x, bias


def _backward_inputs(rng, activation, shape):
    x, bias = _forward_inputs(rng, shape)
    y = kernels.bias_relu(x, bias) if activation == "relu" else kernels.bias_sigmoid(x, bias)
    dy = rng.standard_normal(shape, dtype=np.float32)
    return dy, y


def _numpy_relu(x, bias, out):
    add, maximum = np.add, np.maximum

    def run():
        add(x, bias, out=out)
        maximum(out, 0, out=out)
    return run


def _numpy_sigmoid(x, bias, out):
    # 1 / (1 + exp(-(x + b))); fine for these inputs (no overflow of exp).
    add, negative, exp, reciprocal = np.add, np.negative, np.exp, np.reciprocal

    def run():
        add(x, bias, out=out)
        negative(out, out=out)
        exp(out, out=out)
        add(out, 1, out=out)
        reciprocal(out, out=out)
    return run


def _numpy_relu_backward(dy, y, dx, dbias):
    # dx = dy * (y > 0); dbias = dx.sum(0)
    mask = np.empty(y.shape, dtype=bool)
    greater, multiply, sum_ = np.greater, np.multiply, np.sum

    def run():
        greater(y, 0, out=mask)
        multiply(dy, mask, out=dx)
        sum_(dx, axis=0, out=dbias)
    return run


def _numpy_sigmoid_backward(dy, y, dx, dbias):
    # dx = dy * y * (1 - y); dbias = dx.sum(0)
    subtract, multiply, sum_ = np.subtract, np.multiply, np.sum

    def run():
        subtract(1, y, out=dx)
        multiply(dx, y, out=dx)
        multiply(dx, dy, out=dx)
        sum_(dx, axis=0, out=dbias)
    return run


@pytest.mark.parametrize("activation", ["relu", "sigmoid"])
def test_bias_activation_forward(compare, rng, n_threads, activation):
    shape = SHAPES[activation]
    x, bias = _forward_inputs(rng, shape)
    out, out_ref = np.empty(shape, np.float32), np.empty(shape, np.float32)
    fn = kernels.bias_relu if activation == "relu" else kernels.bias_sigmoid
    ours = lambda: fn(x, bias, out, n_threads=n_threads)  # noqa: E731
    ref = (_numpy_relu if activation == "relu" else _numpy_sigmoid)(x, bias, out_ref)
    ours(), ref()
    np.testing.assert_allclose(out, out_ref, rtol=1e-5, atol=1e-6)
    compare(ours, ref, reference_name=f"numpy {activation} in place", group="activations",
            target="fused", shape=f"{shape[0]}x{shape[1]}")


@pytest.mark.parametrize("activation", ["relu", "sigmoid"])
def test_bias_activation_backward(compare, rng, n_threads, activation):
    shape = SHAPES[activation]
    dy, y = _backward_inputs(rng, activation, shape)
    dx, dbias = np.empty(shape, np.float32), np.empty(shape[1], np.float32)
    dx_ref, dbias_ref = np.empty(shape, np.float32), np.empty(shape[1], np.float32)
    fn = kernels.bias_relu_backward if activation == "relu" else kernels.bias_sigmoid_backward
    ours = lambda: fn(dy, y, dx, dbias, n_threads=n_threads)  # noqa: E731
    make_ref = _numpy_relu_backward if activation == "relu" else _numpy_sigmoid_backward
    ref = make_ref(dy, y, dx_ref, dbias_ref)
    ours(), ref()
    np.testing.assert_allclose(dx, dx_ref, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(dbias, dbias_ref, rtol=1e-4, atol=1e-4)
    compare(ours, ref, reference_name=f"numpy {activation} backward in place",
            group="activations", target="fused", shape=f"{shape[0]}x{shape[1]}")
