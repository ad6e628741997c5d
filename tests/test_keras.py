"""Keras models in and out: from_keras on the fixtures (h5py only), round trips with Keras 3
on the torch backend, and hostile files (links, external and virtual datasets, Lambda,
zip bombs) refused with ModelFileError naming the file."""
import json
import os
import zipfile
from pathlib import Path

import numpy as np
import pytest

import nnkernels
from conftest import require
from fuzzing import check_case, memory_cap, mutations
from nnkernels.formats import keras as keras_format

h5py = require("h5py", 'pip install "nnkernels[keras]"')
FIXTURES = Path(__file__).parent / "fixtures" / "keras"


def _keras():
    os.environ.setdefault("KERAS_BACKEND", "torch")
    keras = require("keras", "pip install keras (KERAS_BACKEND=torch)")
    if keras.backend.backend() != "torch":
        pytest.skip(f"Keras runs on {keras.backend.backend()} here; these tests use torch")
    return keras


@pytest.mark.parametrize("name", ["small.keras", "small.h5"])
def test_fixture_predicts_what_keras_predicted(name):
    expected = np.load(FIXTURES / "small.expected.npz")
    model = nnkernels.from_keras(FIXTURES / name)
    assert [(d.in_features, d.out_features, d.activation) for d in model.layers] == \
        [(20, 8, "relu"), (8, 6, "sigmoid"), (6, 3, None)]
    assert model.loss.name == "softmax_cross_entropy"
    np.testing.assert_allclose(model.predict(expected["x"].reshape(8, -1)),
                               expected["probabilities"], rtol=1e-5, atol=1e-6)


def test_trained_in_keras_imported_predicts_what_keras_predicts(tmp_path):
    keras = _keras()
    keras.utils.set_random_seed(1)
    km = keras.Sequential([keras.Input((12,)), keras.layers.Dense(10, activation="relu"),
                           keras.layers.Dense(7, activation="linear"),
                           keras.layers.Dense(4, activation="sigmoid")])
    km.compile("adam", "mse")
    rng = np.random.default_rng(1)
    x = rng.standard_normal((64, 12)).astype(np.float32)
    km.fit(x, rng.random((64, 4)), epochs=3, verbose=0)
    for name in ("m.keras", "m.h5"):
        km.save(tmp_path / name)
        model = nnkernels.from_keras(tmp_path / name)
        assert model.loss.name == "mse" and model.layers[-1].activation == "sigmoid"
        np.testing.assert_allclose(model.predict(x), km.predict(x, verbose=0), rtol=1e-5,
                                   atol=1e-6)


def test_trained_in_nnkernels_continues_training_in_keras(tmp_path):
    keras = _keras()
    rng = np.random.default_rng(0)
    x, y = rng.standard_normal((200, 16)).astype(np.float32), rng.integers(0, 3, 200)
    model = nnkernels.Sequential([nnkernels.Dense(16, 12, "relu", seed=0),
                                  nnkernels.Dense(12, 3, None, seed=1)])
    model.compile(nnkernels.RMSProp(lr=1e-2), "softmax_cross_entropy")
    model.fit(x, y, epochs=2, batch_size=20, verbose=0, seed=0)
    km = nnkernels.to_keras(model)
    np.testing.assert_allclose(km.predict(x, verbose=0), model.predict(x), rtol=1e-5,
                               atol=1e-6)
    km.compile(keras.optimizers.RMSprop(1e-2), "sparse_categorical_crossentropy")
    history = km.fit(x, y, epochs=5, batch_size=20, verbose=0)
    assert history.history["loss"][-1] < model.evaluate(x, y)["loss"]
    km.save(tmp_path / "continued.keras")
    back = nnkernels.from_keras(tmp_path / "continued.keras")
    for layer, dense in zip(back.layers, km.layers):
        kernel, bias = dense.get_weights()
        np.testing.assert_array_equal(layer.weight.data, kernel)
        np.testing.assert_array_equal(layer.bias.data, bias)


# -- hostile and unsupported files, made with h5py alone --------------------------------

def _config(layers):
    return {"class_name": "Sequential", "config": {"name": "s", "layers": layers}}


DENSE = {"class_name": "Dense", "config": {"name": "d", "units": 3, "activation": "softmax",
                                           "use_bias": True}}


def write_h5(path, layers=(DENSE,), mutate=None):
    """A legacy Keras .h5 model: model_config and model_weights/d/{kernel, bias}."""
    with h5py.File(path, "w") as f:
        f.attrs["model_config"] = json.dumps(_config(list(layers)))
        group = f.create_group("model_weights/d")
        group.attrs["weight_names"] = [b"d/kernel", b"d/bias"]
        group.create_dataset("d/kernel", data=np.ones((4, 3), np.float32))
        group.create_dataset("d/bias", data=np.zeros(3, np.float32))
        if mutate:
            mutate(f, group, path)
    return path


def _replace(group, name, **kwargs):
    del group[name]
    group.create_dataset(name, **kwargs)


def _virtual(f, group, path):
    layout = h5py.VirtualLayout(shape=(4, 3), dtype="f4")
    del group["d/kernel"]
    group.create_virtual_dataset("d/kernel", layout, fillvalue=0)


CASES = {
    "lambda": (dict(layers=[{"class_name": "Lambda", "config": {"name": "evil",
                                                                "function": "os.system"}},
                            DENSE]), "layer 0 is 'Lambda' ('evil')"),
    "conv": (dict(layers=[{"class_name": "Conv2D", "config": {"name": "c"}}, DENSE]),
             "layer 0 is 'Conv2D'"),
    "functional": (dict(mutate=lambda f, g, p: f.attrs.__setitem__(
        "model_config", json.dumps({"class_name": "Functional", "config": {}}))),
        "only Sequential models convert; this is 'Functional'"),
    "tanh": (dict(layers=[{**DENSE, "config": {**DENSE["config"], "activation": "tanh"}}]),
             "activation 'tanh' does not convert"),
    "soft link": (dict(mutate=lambda f, g, p: g.__setitem__("d/alias",
                                                             h5py.SoftLink("/model_weights"))),
                  "HDF5 soft link"),
    "external link": (dict(mutate=lambda f, g, p: g.__setitem__(
        "d/outside", h5py.ExternalLink("/etc/passwd", "/x"))), "HDF5 external link"),
    "external dataset": (dict(mutate=lambda f, g, p: _replace(
        g, "d/kernel", shape=(4, 3), dtype="f4",
        external=[(str(Path(p).with_suffix(".raw")), 0, 48)])),
        "stores its data in external files"),
    "virtual dataset": (dict(mutate=_virtual), "is virtual"),
    "compressed": (dict(mutate=lambda f, g, p: _replace(
        g, "d/kernel", data=np.ones((4, 3), np.float32), compression="gzip")),
        "compressed or filtered"),
    "declared beyond stored": (dict(mutate=lambda f, g, p: _replace(
        g, "d/kernel", shape=(4, 3), dtype="f4")), "declares 48 bytes but stores 0"),
    "wrong shape": (dict(mutate=lambda f, g, p: _replace(
        g, "d/bias", data=np.zeros(5, np.float32))), "has shape (5,); the architecture"),
    "integer weights": (dict(mutate=lambda f, g, p: _replace(
        g, "d/bias", data=np.zeros(3, np.int32))), "is int32; float16, 32 or 64"),
    "no config": (dict(mutate=lambda f, g, p: f.attrs.__delitem__("model_config")),
                  "without a model_config attribute"),
    "nan config": (dict(mutate=lambda f, g, p: f.attrs.__setitem__(
        "model_config", '{"class_name": NaN}')), "non-standard JSON constant NaN"),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_refused_h5_files(tmp_path, case):
    kwargs, message = CASES[case]
    path = write_h5(tmp_path / "m.h5", **kwargs)
    with pytest.raises(nnkernels.ModelFileError) as info:
        nnkernels.from_keras(path)
    assert str(info.value).startswith(f"{path}: ") and message in str(info.value), info.value


def test_valid_crafted_h5_file_loads(tmp_path):
    model = nnkernels.from_keras(write_h5(tmp_path / "m.h5"))
    np.testing.assert_array_equal(model.layers[0].weight.data, np.ones((4, 3)))


def _keras_zip(path, config, weights=b"", extra=None):
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("config.json", json.dumps(config))
        zf.writestr("model.weights.h5", weights)
        for name, data in (extra or {}).items():
            zf.writestr(name, data)
    return path


def test_refused_keras_zips(tmp_path, monkeypatch):
    good = (FIXTURES / "small.keras").read_bytes()
    lam = _keras_zip(tmp_path / "lambda.keras", _config([{"class_name": "Lambda",
                                                          "config": {"name": "l"}}]))
    with pytest.raises(nnkernels.ModelFileError, match="layer 0 is 'Lambda'"):
        nnkernels.from_keras(lam)
    with zipfile.ZipFile(tmp_path / "noconfig.keras", "w") as zf:
        zf.writestr("model.weights.h5", b"")
    with pytest.raises(nnkernels.ModelFileError, match="must hold one config.json"):
        nnkernels.from_keras(tmp_path / "noconfig.keras")
    monkeypatch.setattr(keras_format, "MAX_WEIGHTS_BYTES", 1000)
    (tmp_path / "big.keras").write_bytes(good)
    with pytest.raises(nnkernels.ModelFileError, match=r"model.weights.h5 declares \d+ "
                                                       r"bytes; at most 1000 are read"):
        nnkernels.from_keras(tmp_path / "big.keras")


def test_zip_member_inflating_beyond_its_declared_size(tmp_path):
    """A bomb whose headers understate the member's size: at most the declared size
    is inflated, and the lie is caught (CRC, or our own count)."""
    path = _keras_zip(tmp_path / "bomb.keras", _config([DENSE]), weights=bytes(1 << 20))
    raw = bytearray(path.read_bytes())
    with zipfile.ZipFile(path) as zf:
        info = zf.getinfo("model.weights.h5")
    for offset in (info.header_offset + 22, raw.rfind(b"PK\x01\x02") + 24):
        raw[offset:offset + 4] = (100).to_bytes(4, "little")  # "100 bytes"
    path.write_bytes(bytes(raw))
    with pytest.raises(nnkernels.ModelFileError, match="damaged .keras zip|inflates"):
        nnkernels.from_keras(path)


def test_foreign_files(tmp_path):
    (tmp_path / "x.keras").write_bytes(b"hello, not a model")
    with pytest.raises(nnkernels.ModelFileError, match="not a Keras model file"):
        nnkernels.from_keras(tmp_path / "x.keras")
    with pytest.raises(FileNotFoundError):
        nnkernels.from_keras(tmp_path / "missing.keras")


@pytest.mark.parametrize("name,fields", [
    ("small.keras", [(18, 4, "little"), (22, 4, "little")]),  # first member's sizes
    ("small.h5", [(8, 1, "little"), (40, 8, "little")]),  # superblock version, EOF address
])
def test_fuzz_keras_files(tmp_path, name, fields):
    data = (FIXTURES / name).read_bytes()
    path = tmp_path / name
    failures = []
    with memory_cap():
        for case, raw in mutations(data, seed=4, header_len=96, int_fields=fields):
            path.write_bytes(raw)
            failure = check_case(lambda: nnkernels.from_keras(path), case,
                                 nnkernels.ModelFileError)
            if failure:
                failures.append(failure)
    assert not failures, "\n".join(failures[:20])


def test_a_zip_directory_pointing_before_the_file_is_a_damaged_zip(tmp_path):
    """Found by the 10,000-case fuzz run: zipfile seeks to a negative offset (OSError
    EINVAL) for this damaged central directory."""
    data = (FIXTURES / "small.keras").read_bytes()
    cases = mutations(data, seed=4, header_len=96, cases=9449,
                      int_fields=[(18, 4, "little"), (22, 4, "little")])
    raw = next(raw for name, raw in cases if name.startswith("random 9448:"))
    (tmp_path / "damaged.keras").write_bytes(raw)
    with pytest.raises(nnkernels.ModelFileError, match="a damaged .keras zip"):
        nnkernels.from_keras(tmp_path / "damaged.keras")
