"""Dense and Sequential: forward against NumPy, gradients against finite differences
and PyTorch, buffer reuse, seeding."""
import numpy as np
import pytest

import nnkernels
from nnkernels import Dense, Sequential
from conftest import central_difference


def _numpy_forward(model, x):
    for layer in model.layers:
        z = x @ layer.weight.data.astype(np.float64) + layer.bias.data
        x = {"relu": lambda v: np.maximum(v, 0), "sigmoid": lambda v: 1 / (1 + np.exp(-v)),
             None: lambda v: v}[layer.activation](z)
    return x


@pytest.mark.parametrize("activation", ["relu", "sigmoid", None])
def test_dense_forward_matches_numpy(activation, dtype):
    layer = Dense(13, 7, activation=activation, dtype=dtype, seed=0)
    layer.bias.data[...] = np.linspace(-1, 1, 7)
    x = np.random.default_rng(1).standard_normal((5, 13)).astype(dtype)
    model = Sequential([layer])
    tol = 1e-5 if dtype == np.float32 else 1e-12
    np.testing.assert_allclose(layer.forward(x), _numpy_forward(model, x.astype(np.float64)),
                               rtol=tol, atol=tol)


@pytest.mark.parametrize("loss", ["softmax_cross_entropy", "mse", "binary_cross_entropy"])
def test_sequential_gradients_match_finite_differences(loss):
    rng = np.random.default_rng(2)
    last = None if loss != "mse" else "sigmoid"
    model = Sequential([Dense(6, 5, "relu", dtype="float64", seed=3),
                        Dense(5, 4, "sigmoid", dtype="float64", seed=4),
                        Dense(4, 3, last, dtype="float64", seed=5)])
    model.compile("sgd", loss)
    for layer in model.layers:
        layer.bias.data[...] = rng.uniform(-0.1, 0.1, layer.bias.shape)
    x = rng.standard_normal((7, 6))
    y = rng.integers(0, 3, 7) if loss == "softmax_cross_entropy" else rng.random((7, 3))

    def loss_value():
        return model.loss.forward(model.forward(x), y)

    loss_value()
    model.backward(model.loss.backward())
    analytic = [p.grad.copy() for p in model.parameters()]
    for p, g in zip(model.parameters(), analytic):
        np.testing.assert_allclose(g, central_difference(loss_value, p.data), rtol=1e-5,
                                   atol=1e-8, err_msg=p.name)


def test_seed_gives_identical_weights():
    a = nnkernels.models.mnist_classifier(seed=7)
    b = nnkernels.models.mnist_classifier(seed=7)
    c = nnkernels.models.mnist_classifier(seed=8)
    for pa, pb, pc in zip(a.parameters(), b.parameters(), c.parameters()):
        np.testing.assert_array_equal(pa.data, pb.data)
    assert not np.array_equal(a.layers[0].weight.data, c.layers[0].weight.data)


def test_glorot_normal_statistics():
    w = Dense(784, 250, seed=0).weight.data
    assert w.dtype == np.float32 and w.shape == (784, 250)
    assert abs(w.mean()) < 2e-3
    assert w.std() == pytest.approx(np.sqrt(2 / (784 + 250)), rel=0.02)
    assert np.all(Dense(784, 250, seed=0).bias.data == 0)


def test_buffers_are_reused_between_batches():
    layer = Dense(8, 4, seed=0)
    x = np.ones((3, 8), np.float32)
    y1 = layer.forward(x)
    y2 = layer.forward(x * 2)
    assert y1 is y2  # the same buffer: no allocation after the first batch of a size


def test_parameters_zero_grad_and_repr():
    layer = Dense(3, 2, activation="sigmoid", dtype="float64")
    assert [p.name for p in layer.parameters()] == ["weight", "bias"]
    layer.weight.grad[...] = 1
    layer.zero_grad()
    assert not layer.weight.grad.any()
    assert repr(layer) == "Dense(3, 2, activation='sigmoid', dtype=float64)"
    model = Sequential([layer])
    assert "Dense(3, 2" in repr(model) and "total parameters: 8" in model.summary()


@pytest.mark.parametrize("kwargs,match", [
    (dict(in_features=0, out_features=3), r"'in_features' must be an int >= 1; got 0"),
    (dict(in_features=3, out_features=2, activation="tanh"), r"activation must be one of"),
    (dict(in_features=3, out_features=2, init="magic"), r"init must be one of"),
    (dict(in_features=3, out_features=2, dtype="float16"), r"dtype must be 'float32' or"),
])
def test_dense_rejects_bad_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        Dense(**kwargs)


def test_sequential_rejects_mismatched_layers():
    with pytest.raises(ValueError, match=r"layer 0 gives 4 features but layer 1 expects 5"):
        Sequential([Dense(3, 4), Dense(5, 2)])
    with pytest.raises(ValueError, match=r"all layers must share one dtype"):
        Sequential([Dense(3, 4), Dense(4, 2, dtype="float64")])


@pytest.mark.parametrize("dtype_name", ["float64", "float32"])
def test_five_steps_match_pytorch(dtype_name):
    """The same classifier in PyTorch, same weights, five RMSProp steps (PyTorch's form).

    float64: every parameter within 1e-5 relative. float32: RMSProp's first steps move
    a weight by about lr * sign(g), so where g is near zero float32 rounding flips the
    step of a few single elements; there each whole tensor agrees within 1e-5 relative
    (in norm).
    """
    torch = pytest.importorskip("torch")
    dtype = np.dtype(dtype_name)
    model = nnkernels.models.mnist_classifier(seed=0, lr=1e-3, dtype=dtype_name)
    rng = np.random.default_rng(0)
    net = torch.nn.Sequential(torch.nn.Linear(784, 250), torch.nn.ReLU(),
                              torch.nn.Linear(250, 100), torch.nn.ReLU(),
                              torch.nn.Linear(100, 10)).to(getattr(torch, dtype_name))
    linears = [m for m in net if isinstance(m, torch.nn.Linear)]
    with torch.no_grad():
        for lin, layer in zip(linears, model.layers):
            lin.weight.copy_(torch.from_numpy(layer.weight.data.T.copy()))  # torch: (out, in)
            lin.bias.copy_(torch.from_numpy(layer.bias.data))
    opt = torch.optim.RMSprop(net.parameters(), lr=1e-3, alpha=0.9, eps=1e-8)
    for _ in range(5):
        x = rng.random((100, 784)).astype(dtype)
        y = rng.integers(0, 10, 100)
        model.train_step(x, y)
        opt.zero_grad()
        torch.nn.functional.cross_entropy(net(torch.from_numpy(x)), torch.from_numpy(y)).backward()
        opt.step()
    for lin, layer in zip(linears, model.layers):
        for ours, theirs in ((layer.weight.data, lin.weight.detach().numpy().T),
                             (layer.bias.data, lin.bias.detach().numpy())):
            if dtype == np.float64:
                np.testing.assert_allclose(ours, theirs, rtol=1e-5, atol=1e-12)
            else:
                assert np.linalg.norm(ours - theirs) <= 1e-5 * np.linalg.norm(theirs)
