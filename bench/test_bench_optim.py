"""Optimizer updates on the classifier's largest weight (784x250, float32), in place,
against the NumPy in-place expression with one preallocated scratch buffer.

Each side updates its own copy of the state, call after call (as in training).
Target: ratio >= 3 for each kernel.
"""
import numpy as np
import pytest

from nnkernels import _optim, kernels

SHAPE = (784, 250)
LR, RHO, EPS = 1e-3, 0.9, 1e-8
BETA1, BETA2, STEP = 0.9, 0.999, 10


def _state(rng, n_moments):
    param = rng.standard_normal(SHAPE, dtype=np.float32)
    grad = rng.standard_normal(SHAPE, dtype=np.float32)
    moments = [np.abs(rng.standard_normal(SHAPE, dtype=np.float32)) * 0.1
               for _ in range(n_moments)]
    return param, grad, moments


def _copy(param, moments):
    return param.copy(), [m.copy() for m in moments]


def _numpy_rmsprop(param, grad, cache):
    # cache = rho cache + (1 - rho) g**2; param -= lr g / (sqrt(cache) + eps)
    tmp = np.empty_like(param)
    multiply, sqrt, add, divide = np.multiply, np.sqrt, np.add, np.divide

    def run():
        multiply(cache, RHO, out=cache)
        multiply(grad, grad, out=tmp)
        multiply(tmp, 1 - RHO, out=tmp)
        add(cache, tmp, out=cache)
        sqrt(cache, out=tmp)
        add(tmp, EPS, out=tmp)
        divide(grad, tmp, out=tmp)
        multiply(tmp, LR, out=tmp)
        np.subtract(param, tmp, out=param)
    return run


def _numpy_adam(param, grad, m, v):
    # m = b1 m + (1-b1) g; v = b2 v + (1-b2) g**2;
    # param -= lr / (1 - b1**t) * m / (sqrt(v) / sqrt(1 - b2**t) + eps)
    tmp = np.empty_like(param)
    multiply, sqrt, add, divide = np.multiply, np.sqrt, np.add, np.divide

    def run():
        step_size = LR / (1 - BETA1 ** STEP)
        inv_sqrt_bc2 = 1 / np.sqrt(1 - BETA2 ** STEP)
        multiply(m, BETA1, out=m)
        multiply(grad, 1 - BETA1, out=tmp)
        add(m, tmp, out=m)
        multiply(v, BETA2, out=v)
        multiply(grad, grad, out=tmp)
        multiply(tmp, 1 - BETA2, out=tmp)
        add(v, tmp, out=v)
        sqrt(v, out=tmp)
        multiply(tmp, inv_sqrt_bc2, out=tmp)
        add(tmp, EPS, out=tmp)
        divide(m, tmp, out=tmp)
        multiply(tmp, step_size, out=tmp)
        np.subtract(param, tmp, out=param)
    return run


def _ours_rmsprop(param, grad, cache, n_threads):
    fn = kernels.rmsprop_update
    return lambda: fn(param, grad, cache, lr=LR, rho=RHO, eps=EPS, n_threads=n_threads)


def _ours_adam(param, grad, m, v, n_threads):
    fn = kernels.adam_update
    return lambda: fn(param, grad, m, v, lr=LR, beta1=BETA1, beta2=BETA2, eps=EPS,
                      step=STEP, n_threads=n_threads)


def test_rmsprop(compare, rng, n_threads):
    param, grad, (cache,) = _state(rng, 1)
    p_ref, (c_ref,) = _copy(param, [cache])
    ours = _ours_rmsprop(param, grad, cache, n_threads)
    ref = _numpy_rmsprop(p_ref, grad, c_ref)
    ours(), ref()
    np.testing.assert_allclose(cache, c_ref, rtol=1e-5)
    np.testing.assert_allclose(param, p_ref, rtol=1e-5, atol=1e-6)
    compare(ours, ref, reference_name="numpy rmsprop in place", group="optim",
            target="fused", shape=f"{SHAPE[0]}x{SHAPE[1]}")


def test_adam(compare, rng, n_threads):
    param, grad, (m, v) = _state(rng, 2)
    p_ref, (m_ref, v_ref) = _copy(param, [m, v])
    ours = _ours_adam(param, grad, m, v, n_threads)
    ref = _numpy_adam(p_ref, grad, m_ref, v_ref)
    ours(), ref()
    np.testing.assert_allclose(m, m_ref, rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(v, v_ref, rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(param, p_ref, rtol=1e-5, atol=1e-6)
    compare(ours, ref, reference_name="numpy adam in place", group="optim",
            target="fused", shape=f"{SHAPE[0]}x{SHAPE[1]}")
