"""nnkernels.pretrained.mnist_classifier(): the shipped model loads, reaches the test
accuracy it states on real MNIST, is a plain safetensors state dict, and is package data
(setup.py build_py copies it)."""
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import nnkernels
from conftest import DATA_ROOT, require
from nnkernels import pretrained

ROOT = Path(__file__).resolve().parents[1]


def test_shipped_classifier_loads():
    model = pretrained.mnist_classifier()
    assert [(d.in_features, d.out_features, d.activation) for d in model.layers] == \
        [(784, 250, "relu"), (250, 100, "relu"), (100, 10, None)]
    assert model.dtype == np.float32 and model.loss.name == "softmax_cross_entropy"
    assert model.metadata["test_accuracy"] == pytest.approx(0.9852, abs=5e-5)
    assert model.metadata["made_by"].startswith("python bench/make_pretrained.py")
    x = np.random.default_rng(0).random((3, 784)).astype(np.float32)
    np.testing.assert_allclose(model.predict(x).sum(axis=1), 1, rtol=1e-5)
    wide = pretrained.mnist_classifier(dtype="float64")
    np.testing.assert_allclose(wide.predict(x), model.predict(x), rtol=1e-4, atol=1e-6)


@pytest.mark.skipif(not (DATA_ROOT / "mnist").is_dir(),
                    reason="set NNKERNELS_DATA to a folder holding mnist/")
def test_shipped_classifier_reaches_its_stated_accuracy():
    model = pretrained.mnist_classifier()
    _, (x_test, y_test) = nnkernels.datasets.load_mnist(DATA_ROOT / "mnist", download=False)
    accuracy = model.evaluate(x_test, y_test)["accuracy"]
    assert accuracy == pytest.approx(model.metadata["test_accuracy"], abs=1e-4)
    assert accuracy > 0.98


def test_shipped_file_is_a_float16_state_dict_for_other_readers():
    st_numpy = require("safetensors.numpy", 'pip install "nnkernels[keras]"')
    tensors = st_numpy.load_file(pretrained.path())
    assert {k: (v.shape, v.dtype.name) for k, v in tensors.items()} == {
        "0.weight": ((250, 784), "float16"), "0.bias": ((250,), "float16"),
        "2.weight": ((100, 250), "float16"), "2.bias": ((100,), "float16"),
        "4.weight": ((10, 100), "float16"), "4.bias": ((10,), "float16")}
    model = pretrained.mnist_classifier()
    np.testing.assert_array_equal(model.layers[0].weight.data,
                                  tensors["0.weight"].T.astype(np.float32))


def test_a_damaged_shipped_file_is_refused(tmp_path, monkeypatch):
    raw = bytearray(pretrained.path().read_bytes())
    raw[-3] ^= 0x10
    (tmp_path / "damaged.safetensors").write_bytes(bytes(raw))
    monkeypatch.setattr(pretrained, "path", lambda name=None: tmp_path / "damaged.safetensors")
    with pytest.raises(nnkernels.ModelFileError, match="content digest mismatch"):
        pretrained.mnist_classifier()


def test_the_model_is_package_data(tmp_path):
    """What `pip install .` copies: setup.py's build_py puts the file in the package."""
    result = subprocess.run([sys.executable, "setup.py", "-q", "build_py", "--build-lib",
                             str(tmp_path)], cwd=ROOT, capture_output=True, text=True,
                            timeout=600)
    assert result.returncode == 0, result.stderr[-2000:]
    built = tmp_path / "nnkernels" / "_data" / pretrained.MNIST_CLASSIFIER
    assert built.read_bytes() == pretrained.path().read_bytes()
