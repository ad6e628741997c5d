"""Models between PyTorch and nnkernels: from_torch, to_torch, and a plain state dict
saved as safetensors imported without torch (nnkernels.import_weights). Under CI=true a
missing torch fails these tests (conftest.require)."""
import numpy as np
import pytest

import nnkernels
from conftest import require

torch = require("torch", "pip install torch==2.13.0")
st_torch = require("safetensors.torch", 'pip install "nnkernels[keras]"')


def _trained_torch_mlp(seed=0):
    """Flatten, Linear 20-16 ReLU, Dropout, Linear 16-8 Sigmoid, Linear 8-3, LogSoftmax,
    trained 30 Adam steps on random data (dropout active) in float32."""
    torch.manual_seed(seed)
    module = torch.nn.Sequential(
        torch.nn.Flatten(), torch.nn.Linear(20, 16), torch.nn.ReLU(), torch.nn.Dropout(0.2),
        torch.nn.Linear(16, 8), torch.nn.Sigmoid(), torch.nn.Linear(8, 3),
        torch.nn.LogSoftmax(dim=1))
    x = torch.randn(64, 4, 5)
    y = torch.randint(0, 3, (64,))
    opt = torch.optim.Adam(module.parameters(), lr=1e-2)
    for _ in range(30):
        opt.zero_grad()
        torch.nn.functional.nll_loss(module(x), y).backward()
        opt.step()
    return module.eval()


def _x(n=50, shape=(20,), seed=1):
    return np.random.default_rng(seed).standard_normal((n, *shape)).astype(np.float32)


def test_trained_in_torch_imported_predicts_what_torch_predicts():
    module = _trained_torch_mlp()
    model = nnkernels.from_torch(module)
    assert [(d.in_features, d.out_features, d.activation) for d in model.layers] == \
        [(20, 16, "relu"), (16, 8, "sigmoid"), (8, 3, None)]
    assert model.loss.name == "softmax_cross_entropy" and model.dtype == np.float32
    x = _x()
    with torch.no_grad():
        expected = module(torch.from_numpy(x).reshape(-1, 4, 5)).exp().numpy()
    np.testing.assert_allclose(model.predict(x), expected, rtol=1e-5, atol=1e-6)


def test_state_dict_as_safetensors_imports_without_torch(tmp_path):
    module = _trained_torch_mlp(seed=1)
    path = tmp_path / "state.safetensors"
    st_torch.save_file(module.state_dict(), path)  # names 1.weight, 4.weight, 6.weight
    model = nnkernels.import_weights(path, arch="20-16-8-3",
                                     activations="relu,sigmoid,log_softmax")
    x = _x(seed=2)
    with torch.no_grad():
        expected = module(torch.from_numpy(x)).exp().numpy()
    np.testing.assert_allclose(model.predict(x), expected, rtol=1e-5, atol=1e-6)


def test_float64_and_regression_output():
    torch.manual_seed(0)
    module = torch.nn.Sequential(torch.nn.Linear(5, 4), torch.nn.ReLU(),
                                 torch.nn.Linear(4, 2)).double()
    model = nnkernels.from_torch(module)
    assert model.dtype == np.float64 and model.loss.name == "mse"
    x = _x(shape=(5,)).astype(np.float64)
    with torch.no_grad():
        expected = module(torch.from_numpy(x)).numpy()
    np.testing.assert_allclose(model.predict(x), expected, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("make,message", [
    (lambda: torch.nn.Linear(3, 2), "must be a torch.nn.Sequential"),
    (lambda: torch.nn.Sequential(torch.nn.Linear(3, 2), torch.nn.Tanh()),
     r"module 1 \(Tanh\) has no nnkernels counterpart"),
    (lambda: torch.nn.Sequential(torch.nn.Conv1d(1, 1, 3)), r"module 0 \(Conv1d\)"),
    (lambda: torch.nn.Sequential(torch.nn.ReLU(), torch.nn.Linear(3, 2)),
     r"module 0 \(ReLU\) must follow a Linear"),
    (lambda: torch.nn.Sequential(torch.nn.Linear(3, 2), torch.nn.Softmax(dim=0)),
     r"Softmax\(dim=0\)\) converts only over dim 1"),
    (lambda: torch.nn.Sequential(torch.nn.Linear(3, 2), torch.nn.Softmax(dim=1),
                                 torch.nn.Linear(2, 2)), "follows the final softmax"),
    (lambda: torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.Linear(5, 2)),
     "layer 0 gives 4 features but layer 1 expects 5"),
    (lambda: torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.Flatten()),
     "comes after a Linear"),
    (lambda: torch.nn.Sequential(torch.nn.Dropout()), "has no Linear layer"),
])
def test_unsupported_modules_are_refused_by_name(make, message):
    with pytest.raises(ValueError, match=message):
        nnkernels.from_torch(make())


def test_trained_in_nnkernels_continues_training_in_torch():
    """to_torch's module, one SGD step in torch on the softmax cross-entropy, lands where
    one nnkernels SGD step lands; then torch keeps lowering the loss."""
    rng = np.random.default_rng(0)
    x, y = rng.standard_normal((100, 12)).astype(np.float32), rng.integers(0, 4, 100)
    model = nnkernels.Sequential([nnkernels.Dense(12, 10, "relu", seed=0),
                                  nnkernels.Dense(10, 6, "sigmoid", seed=1),
                                  nnkernels.Dense(6, 4, None, seed=2)])
    model.compile(nnkernels.SGD(lr=0.1), "softmax_cross_entropy")
    model.fit(x, y, epochs=3, batch_size=20, verbose=0, seed=0)
    module = nnkernels.to_torch(model)
    with torch.no_grad():
        np.testing.assert_allclose(torch.softmax(module(torch.from_numpy(x)), 1).numpy(),
                                   model.predict(x), rtol=1e-5, atol=1e-6)
    opt = torch.optim.SGD(module.parameters(), lr=0.1)
    loss_fn = torch.nn.CrossEntropyLoss()
    xt, yt = torch.from_numpy(x), torch.from_numpy(y)
    losses = []
    for _ in range(20):
        opt.zero_grad()
        loss = loss_fn(module(xt), yt)
        loss.backward()
        opt.step()
        losses.append(loss.item())
        if len(losses) == 1:
            model.train_step(x, y)
            linears = [m for m in module if isinstance(m, torch.nn.Linear)]
            for layer, linear in zip(model.layers, linears):
                np.testing.assert_allclose(linear.weight.detach().numpy().T,
                                           layer.weight.data, rtol=1e-5, atol=1e-6)
    assert losses[-1] < losses[0]


def test_to_torch_probabilities_and_float64():
    model = nnkernels.models.mnist_classifier(seed=0, dtype="float64")
    module = nnkernels.to_torch(model, probabilities=True)
    assert isinstance(module[-1], torch.nn.Softmax)
    assert module[0].weight.dtype == torch.float64
    x = _x(n=5, shape=(784,)).astype(np.float64)
    with torch.no_grad():
        np.testing.assert_allclose(module(torch.from_numpy(x)).numpy(), model.predict(x),
                                   rtol=1e-12, atol=1e-14)
    back = nnkernels.from_torch(module)
    for a, b in zip(model.get_weights(), back.get_weights()):
        np.testing.assert_array_equal(a, b)


def test_to_torch_probabilities_needs_a_classifier():
    with pytest.raises(ValueError, match="needs a classifier"):
        nnkernels.to_torch(nnkernels.models.mnist_autoencoder(seed=0), probabilities=True)


@pytest.mark.parametrize("tensors,arch,acts,message", [
    ({"0.weight": np.zeros((4, 3), np.float32), "0.bias": np.zeros(4, np.float32),
      "2.weight": np.zeros((2, 5), np.float32), "2.bias": np.zeros(2, np.float32)},
     "3-4-2", "relu,softmax", r"tensor '2.weight' \(layer 1\) has shape \(2, 5\); the "
                              r"architecture needs \(2, 4\)"),
    ({"0.weight": np.zeros((3, 4), np.float32), "0.bias": np.zeros(4, np.float32)},
     "3-4", "linear", r"tensor '0.weight' \(layer 0\) has shape \(3, 4\); .* \(4, 3\)"),
    ({"0.weight": np.zeros((4, 3), np.float32), "0.bias": np.zeros(3, np.float32)},
     "3-4", "linear", r"tensor '0.bias' \(layer 0\) has shape \(3,\)"),
    ({"0.weight": np.zeros((4, 3), np.float32)}, "3-4", "relu",
     "tensor 0.bias is missing"),
    ({"0.weight": np.zeros((4, 3), np.float32), "0.bias": np.zeros(4, np.float32),
      "0.running_mean": np.zeros(4, np.float32)}, "3-4", "relu",
     "tensor '0.running_mean' is not a Linear layer's weight or bias"),
    ({"0.weight": np.zeros((4, 3), np.float32), "0.bias": np.zeros(4, np.float32)},
     "3-4-2", "relu,softmax", "the architecture has 2 layers but the file holds 1"),
    ({"0.weight": np.full((4, 3), np.nan, np.float32), "0.bias": np.zeros(4, np.float32)},
     "3-4", "relu", "tensor '0.weight' must hold finite floats"),
    ({"0.weight": np.zeros((4, 3), np.int32), "0.bias": np.zeros(4, np.float32)},
     "3-4", "relu", "tensor '0.weight' must hold finite floats; it is int32"),
])
def test_import_weights_checks_link_by_link(tmp_path, tensors, arch, acts, message):
    from nnkernels.formats import safetensors_file
    path = tmp_path / "w.safetensors"
    safetensors_file.write(path, tensors)
    with pytest.raises(nnkernels.ModelFileError, match=message) as info:
        nnkernels.import_weights(path, arch=arch, activations=acts)
    assert str(path) in str(info.value)


@pytest.mark.parametrize("arch,acts,message", [
    ("784", "relu", "at least two layer widths"),
    ("784-x-10", "relu,relu", "at least two layer widths"),
    ("784-0-10", "relu,relu", "at least two layer widths"),
    ("784-250-10", "relu", "one activation per layer"),
    ("784-250-10", "tanh,softmax", "layer 0 has 'tanh'"),
    ("784-250-10", "softmax,softmax", "layer 0 has 'softmax'"),
    ("784-250-10", "relu,elu", "the last layer has 'elu'"),
])
def test_import_weights_checks_the_architecture_first(tmp_path, arch, acts, message):
    with pytest.raises(ValueError, match=message):
        nnkernels.import_weights(tmp_path / "not-read.safetensors", arch=arch,
                                 activations=acts)



@pytest.mark.parametrize("make", [
    lambda: nnkernels.RMSProp(lr=1e-2, rho=0.9, weight_decay=1e-3),
    lambda: nnkernels.SGD(lr=0.05, momentum=0.9, nesterov=True, weight_decay=1e-3),
    lambda: nnkernels.SGD(lr=0.05),
    lambda: nnkernels.Adam(lr=1e-2, weight_decay=1e-3),
    lambda: nnkernels.Adam(lr=1e-2, weight_decay=1e-2, decoupled_weight_decay=True),
], ids=["rmsprop", "sgd-nesterov", "sgd", "adam", "adamw"])
def test_training_continues_in_torch_where_nnkernels_stopped(make):
    """Five nnkernels steps, then the module and its optimizer in PyTorch: five more
    steps on each side land on the same weights (float64, 1e-10)."""
    rng = np.random.default_rng(0)
    x, y = rng.standard_normal((40, 9)), rng.integers(0, 4, 40)
    model = nnkernels.Sequential([nnkernels.Dense(9, 7, "relu", seed=0, dtype="float64"),
                                  nnkernels.Dense(7, 4, None, seed=1, dtype="float64")])
    model.compile(make(), "softmax_cross_entropy")
    for _ in range(5):
        model.train_step(x, y)
    module = nnkernels.to_torch(model)
    optimizer = nnkernels.to_torch_optimizer(model, module)
    loss_fn = torch.nn.CrossEntropyLoss()
    for _ in range(5):
        model.train_step(x, y)
        optimizer.zero_grad()
        loss_fn(module(torch.from_numpy(x)), torch.from_numpy(y)).backward()
        optimizer.step()
    linears = [m for m in module if isinstance(m, torch.nn.Linear)]
    for layer, linear in zip(model.layers, linears):
        np.testing.assert_allclose(linear.weight.detach().numpy().T, layer.weight.data,
                                   rtol=1e-10, atol=1e-12)
        np.testing.assert_allclose(linear.bias.detach().numpy(), layer.bias.data,
                                   rtol=1e-10, atol=1e-12)


def test_gorgonia_rmsprop_has_no_torch_optimizer():
    model = nnkernels.models.mnist_classifier(seed=0, optimizer=nnkernels.RMSProp.gorgonia())
    with pytest.raises(ValueError, match="epsilon='inside'"):
        nnkernels.to_torch_optimizer(model, nnkernels.to_torch(model))
