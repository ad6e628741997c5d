"""Optimizer update kernels against their formulas (NumPy float64) and PyTorch."""
import numpy as np
import pytest

from nnkernels import kernels
from conftest import tolerance

SHAPES = [(1,), (1, 1), (7,), (784, 250), (33, 17)]


def _state(rng, shape, dtype, n=3):
    return [rng.standard_normal(shape).astype(dtype) for _ in range(n)]


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("eps_inside_sqrt", [False, True])
def test_rmsprop_matches_formula(shape, eps_inside_sqrt, dtype, n_threads):
    rng = np.random.default_rng(0)
    param, grad, cache = _state(rng, shape, dtype)
    cache = np.abs(cache)
    p64, g64, c64 = (a.astype(np.float64) for a in (param, grad, cache))
    lr, rho, eps, wd = 1e-3, 0.9, 1e-6, 0.01
    kernels.rmsprop_update(param, grad, cache, lr=lr, rho=rho, eps=eps, weight_decay=wd,
                           eps_inside_sqrt=eps_inside_sqrt, n_threads=n_threads)
    g64 = g64 + wd * p64
    c64 = rho * c64 + (1 - rho) * g64 ** 2
    denom = np.sqrt(c64 + eps) if eps_inside_sqrt else np.sqrt(c64) + eps
    np.testing.assert_allclose(cache, c64, **tolerance(dtype))
    np.testing.assert_allclose(param, p64 - lr * g64 / denom, **tolerance(dtype))


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("momentum,nesterov", [(0.0, False), (0.9, False), (0.9, True)])
def test_sgd_matches_formula(shape, momentum, nesterov, dtype):
    rng = np.random.default_rng(1)
    param, grad, vel = _state(rng, shape, dtype)
    p64, g64, v64 = (a.astype(np.float64) for a in (param, grad, vel))
    kernels.sgd_update(param, grad, vel if momentum else None, lr=0.1, momentum=momentum,
                       weight_decay=0.001, nesterov=nesterov)
    g64 = g64 + 0.001 * p64
    if momentum:
        v64 = momentum * v64 + g64
        g64 = g64 + momentum * v64 if nesterov else v64
        np.testing.assert_allclose(vel, v64, **tolerance(dtype))
    np.testing.assert_allclose(param, p64 - 0.1 * g64, **tolerance(dtype))


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("decoupled", [False, True])
def test_adam_matches_formula(shape, decoupled, dtype):
    rng = np.random.default_rng(2)
    param, grad, m = _state(rng, shape, dtype)
    v = np.abs(rng.standard_normal(shape)).astype(dtype)
    p64, g64, m64, v64 = (a.astype(np.float64) for a in (param, grad, m, v))
    lr, b1, b2, eps, wd, step = 1e-3, 0.9, 0.999, 1e-8, 0.01, 3
    kernels.adam_update(param, grad, m, v, lr=lr, beta1=b1, beta2=b2, eps=eps, step=step,
                        weight_decay=wd, decoupled_weight_decay=decoupled)
    if decoupled:
        p64 = p64 * (1 - lr * wd)
    else:
        g64 = g64 + wd * p64
    m64 = b1 * m64 + (1 - b1) * g64
    v64 = b2 * v64 + (1 - b2) * g64 ** 2
    update = lr / (1 - b1 ** step) * m64 / (np.sqrt(v64) / np.sqrt(1 - b2 ** step) + eps)
    np.testing.assert_allclose(m, m64, **tolerance(dtype))
    np.testing.assert_allclose(v, v64, **tolerance(dtype))
    np.testing.assert_allclose(param, p64 - update, rtol=1e-4 if dtype == np.float32 else 1e-10)


@pytest.mark.parametrize("name", ["rmsprop", "sgd", "adam"])
@pytest.mark.parametrize("shape", [(784, 250), (1024, 520)])
def test_updates_same_bits_for_one_and_two_threads(dtype, name, shape):
    # Both shapes are above the size from which RMSProp and Adam run on two threads;
    # (1024, 520) also for SGD (PARALLEL_MIN_WORK in _common.pxd).
    results = []
    for n_threads in (1, 2):
        param, grad, state = _state(np.random.default_rng(3), shape, dtype)
        state = np.abs(state)
        if name == "rmsprop":
            kernels.rmsprop_update(param, grad, state, lr=1e-3, rho=0.9, eps=1e-8,
                                   n_threads=n_threads)
        elif name == "sgd":
            kernels.sgd_update(param, grad, state, lr=1e-2, momentum=0.9, nesterov=True,
                               n_threads=n_threads)
        else:
            second = state[::-1].copy()
            kernels.adam_update(param, grad, state, second, lr=1e-3, beta1=0.9,
                                beta2=0.999, eps=1e-8, step=3,
                                n_threads=n_threads)
            state = np.concatenate([state, second])
        results.append(param.tobytes() + state.tobytes())
    assert results[0] == results[1]



@pytest.mark.parametrize("name", ["rmsprop", "sgd", "adam", "adamw"])
def test_five_steps_match_torch(name):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(4)
    param = rng.standard_normal((20, 30)).astype(np.float32)
    grads = [rng.standard_normal((20, 30)).astype(np.float32) for _ in range(5)]
    tp = torch.nn.Parameter(torch.tensor(param))
    opt = {
        "rmsprop": lambda: torch.optim.RMSprop([tp], lr=1e-2, alpha=0.9, eps=1e-6,
                                               weight_decay=0.01),
        "sgd": lambda: torch.optim.SGD([tp], lr=0.1, momentum=0.9, nesterov=True,
                                       weight_decay=0.01),
        "adam": lambda: torch.optim.Adam([tp], lr=1e-2, weight_decay=0.01),
        "adamw": lambda: torch.optim.AdamW([tp], lr=1e-2, weight_decay=0.01),
    }[name]()
    s1, s2 = np.zeros_like(param), np.zeros_like(param)
    for step, g in enumerate(grads, start=1):
        tp.grad = torch.tensor(g)
        opt.step()
        if name == "rmsprop":
            kernels.rmsprop_update(param, g, s1, lr=1e-2, rho=0.9, eps=1e-6, weight_decay=0.01)
        elif name == "sgd":
            kernels.sgd_update(param, g, s1, lr=0.1, momentum=0.9, nesterov=True,
                               weight_decay=0.01)
        else:
            kernels.adam_update(param, g, s1, s2, lr=1e-2, beta1=0.9, beta2=0.999, eps=1e-8,
                                step=step, weight_decay=0.01,
                                decoupled_weight_decay=name == "adamw")
    np.testing.assert_allclose(param, tp.detach().numpy(), rtol=1e-5, atol=1e-6)
