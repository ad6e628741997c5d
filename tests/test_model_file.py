"""nnkernels.save / nnkernels.load: a safetensors file that other readers open, round
trips (optimizer state and metadata included), atomic writes, bad files, and legacy .nnk
files that still load."""
import json
from pathlib import Path

import numpy as np
import pytest

import nnkernels
from conftest import require
from legacy_nnk_writer import save_arrays
from nnkernels.formats import safetensors_file

FIXTURES = Path(__file__).parent / "fixtures"


def _trained_model(seed=0):
    model = nnkernels.models.mnist_classifier(seed=seed)
    rng = np.random.default_rng(seed)
    model.fit(rng.random((200, 784)), rng.integers(0, 10, 200), epochs=1, verbose=0)
    model.metadata = {"dataset": "synthetic", "epochs": 1}
    return model


def test_round_trip_keeps_weights_optimizer_and_metadata(tmp_path):
    model = _trained_model()
    path = tmp_path / "model.safetensors"
    nnkernels.save(model, path)
    loaded = nnkernels.load(path)
    for a, b in zip(model.get_weights(), loaded.get_weights()):
        np.testing.assert_array_equal(a, b)
    assert loaded.get_config() == model.get_config()
    assert loaded.metadata == {"dataset": "synthetic", "epochs": 1}
    assert loaded.optimizer.iterations == model.optimizer.iterations
    x = np.random.default_rng(1).random((5, 784)).astype(np.float32)
    np.testing.assert_array_equal(model.predict(x), loaded.predict(x))
    # Training resumes identically from the saved optimizer state.
    rng = np.random.default_rng(2)
    xb, yb = rng.random((100, 784)).astype(np.float32), rng.integers(0, 10, 100)
    model.train_step(xb, yb)
    loaded.train_step(xb, yb)
    for a, b in zip(model.get_weights(), loaded.get_weights()):
        np.testing.assert_array_equal(a, b)


def test_autoencoder_float64_round_trip(tmp_path):
    model = nnkernels.models.mnist_autoencoder(seed=1, dtype="float64")
    nnkernels.save(model, tmp_path / "ae.safetensors", include_optimizer=False)
    loaded = nnkernels.load(tmp_path / "ae.safetensors")
    assert loaded.dtype == np.float64 and loaded.loss.name == "mse"
    np.testing.assert_array_equal(loaded.layers[3].weight.data, model.layers[3].weight.data)


def test_failed_save_leaves_existing_file_untouched(tmp_path, monkeypatch):
    path = tmp_path / "model.safetensors"
    nnkernels.save(_trained_model(), path)
    before = path.read_bytes()

    def broken_replace(*args):
        raise OSError("disk full")

    monkeypatch.setattr("os.replace", broken_replace)
    with pytest.raises(OSError, match="disk full"):
        nnkernels.save(_trained_model(seed=1), path)
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model.safetensors"]


def test_truncated_file(tmp_path):
    path = tmp_path / "model.safetensors"
    nnkernels.save(_trained_model(), path)
    path.write_bytes(path.read_bytes()[:-1000])
    with pytest.raises(nnkernels.ModelFileError, match="truncated"):
        nnkernels.load(path)


def test_tampered_file(tmp_path):
    path = tmp_path / "model.safetensors"
    nnkernels.save(_trained_model(), path)
    data = bytearray(path.read_bytes())
    data[-5] ^= 0x40
    path.write_bytes(bytes(data))
    with pytest.raises(nnkernels.ModelFileError, match="content digest mismatch"):
        nnkernels.load(path)


def test_foreign_file(tmp_path):
    path = tmp_path / "model.npz"
    np.savez(path, w=np.zeros(3))
    with pytest.raises(nnkernels.ModelFileError, match="not an nnkernels model file: neither "
                                                       "safetensors nor the legacy"):
        nnkernels.load(path)


def test_legacy_container_without_model_header_is_rejected(tmp_path):
    path = tmp_path / "other.nnk"
    save_arrays(path, {"w": np.zeros(3)}, {"format": "something-else"})
    with pytest.raises(nnkernels.ModelFileError, match="not a saved nnkernels model"):
        nnkernels.load(path)


def test_plain_safetensors_file_is_not_a_model(tmp_path):
    path = tmp_path / "state.safetensors"
    safetensors_file.write(path, {"0.weight": np.zeros((2, 3), np.float32)})
    with pytest.raises(nnkernels.ModelFileError, match="not a saved nnkernels model .*"
                                                       "nnkernels.import_weights"):
        nnkernels.load(path)


def _resave(path, tensors=None, **changes):
    """Rewrite a model file with changed tensors or metadata, digest recomputed."""
    old, meta = safetensors_file.read(path)
    meta.pop(safetensors_file.DIGEST_KEY)
    meta.update({k: v for k, v in changes.items() if v is not None})
    for k in [k for k, v in changes.items() if v is None]:
        meta.pop(k, None)
    safetensors_file.write(path, old if tensors is None else tensors, meta)


def test_inconsistent_architecture_is_rejected(tmp_path):
    path = tmp_path / "bad.safetensors"
    model = _trained_model()
    nnkernels.save(model, path)
    config = model.get_config()
    config["layers"][1]["in_features"] = 99
    _resave(path, architecture=json.dumps(config))
    with pytest.raises(nnkernels.ModelFileError, match="layer 0 gives 250 features but "
                                                       "layer 1 expects 99"):
        nnkernels.load(path)


@pytest.mark.parametrize("drop,message", [
    ("2.weight", "tensor '2.weight' is missing"),
    ("optimizer.4.bias.cache", "tensor 'optimizer.4.bias.cache' is missing")])
def test_missing_tensor_is_rejected(tmp_path, drop, message):
    path = tmp_path / "bad.safetensors"
    nnkernels.save(_trained_model(), path)
    tensors, _ = safetensors_file.read(path)
    del tensors[drop]
    _resave(path, tensors)
    with pytest.raises(nnkernels.ModelFileError, match=message):
        nnkernels.load(path)


def test_declared_size_larger_than_the_tensor_is_refused_before_allocating(tmp_path):
    path = tmp_path / "huge.safetensors"
    model = _trained_model()
    nnkernels.save(model, path)
    config = model.get_config()
    config["layers"][0]["out_features"] = 10**9  # would be 3 TB of weights
    config["layers"][1]["in_features"] = 10**9
    _resave(path, architecture=json.dumps(config))
    with pytest.raises(nnkernels.ModelFileError, match=r"tensor '0.weight' has shape "
                                                       r"\(250, 784\).*needs \(1000000000, 784\)"):
        nnkernels.load(path)


@pytest.mark.parametrize("changes,message", [
    ({"architecture": json.dumps({"layers": [{"type": "os.system"}]})},
     "must be a Dense layer config"),
    ({"architecture": '{"layers": NaN}'}, "non-standard JSON constant NaN"),
    ({"architecture": '{"a": 1, "a": 2}'}, "duplicate key 'a'"),
    ({"training": "[" * 50000}, "nests too deeply"),
    ({"format_version": "3"}, "from a newer nnkernels"),
    ({"format_version": "x"}, "format_version 'x'"),
    ({"format_version": "\u00b2"}, "format_version '\u00b2'"),
    ({"format_version": "9" * 5000}, "format_version '99999"),
    ({"format": "x" * 10**6}, "'format' is 'xxxxx"),
    ({"optimizer": json.dumps({"type": "eval", "hyperparameters": {}})},
     "unknown optimizer 'eval'"),
    ({"optimizer": json.dumps({"type": "RMSProp", "hyperparameters": {"lr": -1},
                               "iterations": 1})}, "bad loss or optimizer settings"),
])
def test_bad_metadata_is_rejected(tmp_path, changes, message):
    path = tmp_path / "bad.safetensors"
    nnkernels.save(_trained_model(), path)
    _resave(path, **changes)
    with pytest.raises(nnkernels.ModelFileError, match=message) as info:
        nnkernels.load(path)
    assert str(path) in str(info.value)


def test_file_without_digest_is_refused(tmp_path):
    path = tmp_path / "m.safetensors"
    nnkernels.save(_trained_model(), path)
    tensors, meta = safetensors_file.read(path)
    meta.pop(safetensors_file.DIGEST_KEY)
    safetensors_file.write(path, tensors, meta, digest=False)
    with pytest.raises(nnkernels.ModelFileError, match="no content digest"):
        nnkernels.load(path)


def test_metadata_change_is_detected_by_the_digest(tmp_path):
    path = tmp_path / "m.safetensors"
    nnkernels.save(_trained_model(), path)
    raw = path.read_bytes()
    tampered = raw.replace(b'\\"activation\\":\\"relu\\"', b'\\"activation\\":\\"sigm\\"', 1)
    assert tampered != raw
    path.write_bytes(tampered)
    with pytest.raises(nnkernels.ModelFileError, match="content digest mismatch"):
        nnkernels.load(path)


def test_file_is_read_by_the_safetensors_library(tmp_path):
    st_numpy = require("safetensors.numpy", 'pip install "nnkernels[keras]"')
    from safetensors import safe_open
    model = _trained_model()
    path = tmp_path / "model.safetensors"
    nnkernels.save(model, path, metadata={"run": "test"})
    tensors = st_numpy.load_file(path)
    assert list(tensors)[:6] == ["0.weight", "0.bias", "2.weight", "2.bias", "4.weight",
                                 "4.bias"]
    for layer, prefix in zip(model.layers, ["0", "2", "4"]):
        np.testing.assert_array_equal(tensors[f"{prefix}.weight"], layer.weight.data.T)
        np.testing.assert_array_equal(tensors[f"{prefix}.bias"], layer.bias.data)
        np.testing.assert_array_equal(tensors[f"optimizer.{prefix}.weight.cache"],
                                      model.optimizer.state[int(prefix)]["cache"].T)
    with safe_open(path, "np") as f:
        meta = f.metadata()
    assert meta["format"] == "nnkernels.Sequential" and meta["dtype"] == "float32"
    assert json.loads(meta["architecture"]) == model.get_config()
    assert json.loads(meta["training"]) == {"dataset": "synthetic", "epochs": 1}
    assert json.loads(meta["metadata"]) == {"run": "test"}  # the caller's, kept apart
    assert nnkernels.load(path, with_metadata=True)[1] == {"run": "test"}
    assert json.loads(meta["optimizer"])["iterations"] == model.optimizer.iterations


def test_torch_load_state_dict_takes_the_file_as_it_is(tmp_path):
    torch = require("torch", "pip install torch==2.13.0")
    st_torch = require("safetensors.torch", 'pip install "nnkernels[keras]"')
    model = _trained_model()
    path = tmp_path / "model.safetensors"
    nnkernels.save(model, path, include_optimizer=False)
    module = torch.nn.Sequential(torch.nn.Linear(784, 250), torch.nn.ReLU(),
                                 torch.nn.Linear(250, 100), torch.nn.ReLU(),
                                 torch.nn.Linear(100, 10))
    module.load_state_dict(st_torch.load_file(path))  # strict: every name and shape
    x = np.random.default_rng(3).random((20, 784)).astype(np.float32)
    with torch.no_grad():
        probs = torch.softmax(module(torch.from_numpy(x)), dim=1).numpy()
    np.testing.assert_allclose(probs, model.predict(x), atol=1e-6)


def test_legacy_nnk_fixture_still_loads():
    """tests/fixtures/legacy/classifier-small.nnk was written by nnkernels 0.1's save
    (tests/fixtures/make_legacy_nnk.py); its expected outputs sit beside it."""
    model = nnkernels.load(FIXTURES / "legacy" / "classifier-small.nnk")
    expected = np.load(FIXTURES / "legacy" / "classifier-small.expected.npz")
    np.testing.assert_allclose(model.predict(expected["x"]), expected["probabilities"],
                               rtol=1e-5, atol=1e-7)
    assert model.optimizer.iterations == int(expected["iterations"])
    assert model.metadata == {"made_by": "tests/fixtures/make_legacy_nnk.py"}


def test_legacy_file_resaved_as_safetensors_is_the_same_model(tmp_path):
    old = nnkernels.load(FIXTURES / "legacy" / "classifier-small.nnk")
    nnkernels.save(old, tmp_path / "new.safetensors")
    new = nnkernels.load(tmp_path / "new.safetensors")
    for a, b in zip(old.get_weights(), new.get_weights()):
        np.testing.assert_array_equal(a, b)
    for a, b in zip(old.optimizer.state, new.optimizer.state):
        np.testing.assert_array_equal(a["cache"], b["cache"])
    assert new.get_config() == old.get_config()


def test_save_refuses_metadata_that_is_not_strict_json(tmp_path):
    path = tmp_path / "m.safetensors"
    with pytest.raises(ValueError, match="not strict JSON"):
        nnkernels.save(_trained_model(), path, metadata={"loss": float("nan")})
    assert not path.exists()


def test_torch_fixture_imports_without_torch():
    """tests/fixtures/torch/ was made by tests/fixtures/make_torch_fixtures.py; reading
    it uses nnkernels' own safetensors reader only."""
    folder = FIXTURES / "torch"
    expected = np.load(folder / "mlp-20-16-8-3.expected.npz")
    model = nnkernels.import_weights(folder / "mlp-20-16-8-3.safetensors", arch="20-16-8-3",
                                     activations="relu,sigmoid,log_softmax")
    np.testing.assert_allclose(model.predict(expected["x"]), expected["probabilities"],
                               rtol=1e-5, atol=1e-6)


def test_import_nnkernels_imports_no_optional_dependency():
    import subprocess
    import sys
    code = ("import sys, nnkernels; print(sorted(m for m in ('torch', 'h5py', 'keras', "
            "'safetensors', 'onnx') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout
    assert out.strip() == "[]"


@pytest.mark.parametrize("module,call,message", [
    ("h5py", lambda: nnkernels.from_keras(FIXTURES / "keras" / "small.keras"),
     'pip install "nnkernels\\[keras\\]"'),
    ("torch", lambda: nnkernels.from_torch(None), "pip install torch"),
    ("torch", lambda: nnkernels.to_torch(nnkernels.models.mnist_classifier()),
     "pip install torch"),
    ("keras", lambda: nnkernels.to_keras(nnkernels.models.mnist_classifier()),
     "pip install keras"),
])
def test_a_missing_optional_dependency_says_what_to_install(monkeypatch, module, call,
                                                            message):
    import sys
    monkeypatch.setitem(sys.modules, module, None)  # import raises ImportError
    with pytest.raises(ImportError, match=message):
        call()
