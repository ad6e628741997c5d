"""Optimizer classes: step over Parameters, state_dict round trip, the Gorgonia form."""
import numpy as np
import pytest

import nnkernels
from nnkernels import Dense, Parameter

from conftest import require


def _params(seed=0):
    rng = np.random.default_rng(seed)
    params = [Parameter(rng.standard_normal((4, 3)).astype(np.float32), "w"),
              Parameter(rng.standard_normal(3).astype(np.float32), "b")]
    for p in params:
        p.grad[...] = rng.standard_normal(p.shape)
    return params


@pytest.mark.parametrize("make", [lambda p: nnkernels.RMSProp(p, lr=0.01),
                                  lambda p: nnkernels.RMSProp.gorgonia(p, lr=0.01),
                                  lambda p: nnkernels.SGD(p, lr=0.1, momentum=0.9),
                                  lambda p: nnkernels.Adam(p, lr=0.01)])
def test_state_dict_round_trip_continues_identically(make):
    a_params, b_params = _params(), _params()
    a = make(a_params)
    for _ in range(3):
        a.step()
    b = make(b_params)
    for pa, pb in zip(a_params, b_params):
        pb.data[...] = pa.data
    b.load_state_dict(a.state_dict())
    assert b.iterations == 3
    a.step()
    b.step()
    for pa, pb in zip(a_params, b_params):
        np.testing.assert_array_equal(pa.data, pb.data)


def _gorgonia_rmsprop_step(w, g, cache, eta=0.001, decay=0.999, eps=1e-8):
    """A transliteration of Gorgonia's RMSPropSolver.Step, the *tensor.Dense case,
    without clipping or L2 regularisation (gorgonia/gorgonia, solvers.go): the same
    operations in the same order, in NumPy, written from that source and not from
    nnkernels. Its default decay is 0.999 and eps 1e-8 (NewRMSPropSolver)."""
    gt2 = np.square(g)                          # gt2 = Square(gt)
    cache *= decay                              # Mul(cw, decay, UseUnsafe)
    gt2 *= 1.0 - decay                          # Mul(gt2, omdecay, UseUnsafe)
    cache += gt2                                # Add(cw, gt2, UseUnsafe)
    upd = cache + eps                           # upd = Add(cw, eps)
    upd = 1.0 / np.sqrt(upd)                    # InvSqrt(upd, UseUnsafe)
    gt = g * -eta                               # Mul(gt, stepSize = -eta, UseUnsafe)
    upd *= gt                                   # Mul(upd, gt, UseUnsafe)
    w += upd                                    # Add(w, upd, UseUnsafe)


def test_gorgonia_rmsprop_against_gorgonia_s_solver():
    """Ten steps of RMSProp.gorgonia() against the transliteration of Gorgonia's solver
    above, in float64, from a zero cache (newCachedDV starts it at zeros)."""
    rng = np.random.default_rng(5)
    w0 = rng.standard_normal((6, 5))
    p = Parameter(w0.copy(), "w")
    opt = nnkernels.RMSProp.gorgonia([p], lr=0.01)
    w, cache = w0.copy(), np.zeros_like(w0)
    for _ in range(10):
        g = rng.standard_normal(w0.shape) * rng.choice([1e-3, 1.0, 30.0], w0.shape)
        p.grad[...] = g
        opt.step()
        _gorgonia_rmsprop_step(w, g.copy(), cache, eta=0.01)
    np.testing.assert_allclose(p.data, w, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(opt.state_dict()["state"][0]["cache"], cache, rtol=1e-12)


@pytest.mark.parametrize("momentum", [0.0, 0.9], ids=["plain", "momentum"])
def test_sgd_matches_torch(momentum):
    """nnkernels.SGD against torch.optim.SGD, five steps from the same weights and
    gradients (weight decay too)."""
    torch = require("torch", "pip install torch==2.13.0")
    rng = np.random.default_rng(6)
    w0 = rng.standard_normal((7, 4))
    grads = [rng.standard_normal(w0.shape) for _ in range(5)]
    p = Parameter(w0.copy(), "w")
    opt = nnkernels.SGD([p], lr=0.05, momentum=momentum, weight_decay=0.01)
    tp = torch.nn.Parameter(torch.tensor(w0.copy()))
    topt = torch.optim.SGD([tp], lr=0.05, momentum=momentum, weight_decay=0.01)
    for g in grads:
        p.grad[...] = g
        opt.step()
        tp.grad = torch.tensor(g.copy())
        topt.step()
    np.testing.assert_allclose(p.data, tp.detach().numpy(), rtol=1e-12, atol=1e-14)


def test_zero_grad_and_repr():
    params = _params()
    opt = nnkernels.RMSProp(params, lr=0.5)
    opt.zero_grad()
    assert all(not p.grad.any() for p in params)
    assert repr(opt) == ("RMSProp(lr=0.5, rho=0.9, eps=1e-08, weight_decay=0.0, "
                         "epsilon='outside')")


def test_load_state_dict_rejects_mismatch():
    opt = nnkernels.Adam(_params(), lr=0.01)
    state = opt.state_dict()
    state["state"][0]["m"] = np.zeros((2, 2), np.float32)
    with pytest.raises(ValueError, match=r"'m' has shape \(2, 2\); expected \(4, 3\)"):
        opt.load_state_dict(state)
    with pytest.raises(ValueError, match=r"state is for 'Adam'"):
        nnkernels.SGD(_params(), lr=0.1).load_state_dict(opt.state_dict())


def test_step_without_parameters():
    with pytest.raises(RuntimeError, match=r"no parameters"):
        nnkernels.SGD(lr=0.1).step()


def test_optimizer_by_name_in_compile():
    model = nnkernels.Sequential([Dense(3, 2)]).compile("sgd", "mse")
    assert isinstance(model.optimizer, nnkernels.SGD) and model.optimizer.params
    with pytest.raises(ValueError, match=r"optimizer must be an Optimizer or one of"):
        nnkernels.Sequential([Dense(3, 2)]).compile("lbfgs", "mse")
