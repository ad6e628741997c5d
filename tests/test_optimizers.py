"""Optimizer classes: step over Parameters, state_dict round trip, the Gorgonia form."""
import numpy as np
import pytest

import nnkernels
from nnkernels import Dense, Parameter


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


def test_gorgonia_rmsprop_formula():
    (p,) = _params()[:1]
    w0, g = p.data.astype(np.float64), p.grad.astype(np.float64)
    nnkernels.RMSProp.gorgonia([p], lr=0.01).step()
    cache = 0.001 * g ** 2
    np.testing.assert_allclose(p.data, w0 - 0.01 * g / np.sqrt(cache + 1e-8), rtol=1e-5)


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
