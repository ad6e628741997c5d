"""nnkernels.save / nnkernels.load: round trip, atomic writes, bad files."""
import json
import struct

import numpy as np
import pytest

import nnkernels


def _trained_model(seed=0):
    model = nnkernels.models.mnist_classifier(seed=seed)
    rng = np.random.default_rng(seed)
    model.fit(rng.random((200, 784)), rng.integers(0, 10, 200), epochs=1, verbose=0)
    model.metadata = {"dataset": "synthetic", "epochs": 1}
    return model


def test_round_trip_keeps_weights_optimizer_and_metadata(tmp_path):
    model = _trained_model()
    path = tmp_path / "model.nnk"
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
    nnkernels.save(model, tmp_path / "ae.nnk", include_optimizer=False)
    loaded = nnkernels.load(tmp_path / "ae.nnk")
    assert loaded.dtype == np.float64 and loaded.loss.name == "mse"
    np.testing.assert_array_equal(loaded.layers[3].weight.data, model.layers[3].weight.data)


def test_failed_save_leaves_existing_file_untouched(tmp_path, monkeypatch):
    path = tmp_path / "model.nnk"
    nnkernels.save(_trained_model(), path)
    before = path.read_bytes()

    def broken_replace(*args):
        raise OSError("disk full")

    monkeypatch.setattr("os.replace", broken_replace)
    with pytest.raises(OSError, match="disk full"):
        nnkernels.save(_trained_model(seed=1), path)
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model.nnk"]


def test_truncated_file(tmp_path):
    path = tmp_path / "model.nnk"
    nnkernels.save(_trained_model(), path)
    path.write_bytes(path.read_bytes()[:-1000])
    with pytest.raises(nnkernels.ModelFileError, match="truncated"):
        nnkernels.load(path)


def test_tampered_file(tmp_path):
    path = tmp_path / "model.nnk"
    nnkernels.save(_trained_model(), path)
    data = bytearray(path.read_bytes())
    data[-5] ^= 0x40
    path.write_bytes(bytes(data))
    with pytest.raises(nnkernels.ModelFileError, match="checksum mismatch"):
        nnkernels.load(path)


def test_foreign_file(tmp_path):
    path = tmp_path / "model.npz"
    np.savez(path, w=np.zeros(3))
    with pytest.raises(nnkernels.ModelFileError, match="not an nnkernels model file"):
        nnkernels.load(path)


def test_container_without_model_header_is_rejected(tmp_path):
    from nnkernels._fileformat import save_arrays
    path = tmp_path / "other.nnk"
    save_arrays(path, {"w": np.zeros(3)}, {"format": "something-else"})
    with pytest.raises(nnkernels.ModelFileError, match="not a saved nnkernels model"):
        nnkernels.load(path)


def test_inconsistent_architecture_is_rejected(tmp_path):
    from nnkernels._fileformat import save_arrays
    model = _trained_model()
    path = tmp_path / "bad.nnk"
    config = model.get_config()
    config["layers"][1]["in_features"] = 99
    save_arrays(path, {"layers.0.weight": model.layers[0].weight.data},
                {"format": "nnkernels.Sequential", "architecture": config})
    with pytest.raises(nnkernels.ModelFileError, match="layer 0 gives 250 features but "
                                                       "layer 1 expects 99"):
        nnkernels.load(path)


def test_missing_tensor_is_rejected(tmp_path):
    from nnkernels._fileformat import save_arrays
    path = tmp_path / "bad.nnk"
    config = _trained_model().get_config()
    save_arrays(path, {}, {"format": "nnkernels.Sequential", "architecture": config})
    with pytest.raises(nnkernels.ModelFileError, match="tensor 'layers.0.weight' is missing"):
        nnkernels.load(path)


def test_unknown_layer_type_is_rejected(tmp_path):
    from nnkernels._fileformat import save_arrays
    path = tmp_path / "bad.nnk"
    save_arrays(path, {}, {"format": "nnkernels.Sequential",
                           "architecture": {"layers": [{"type": "os.system"}]}})
    with pytest.raises(nnkernels.ModelFileError, match="must be a Dense layer config"):
        nnkernels.load(path)
