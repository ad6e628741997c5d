"""The command line's model-file parts: ``predict`` without a model uses the pretrained
classifier, ``import-weights`` turns a safetensors state dict into a model file, and
``train`` writes model.safetensors (tests/test_cli.py)."""
import numpy as np
import pytest
from PIL import Image

import nnkernels
from conftest import DATA_ROOT, run_cli
from nnkernels.datasets import read_idx, write_idx
from nnkernels.formats import safetensors_file, state_dict


@pytest.fixture(scope="module")
def mnist_test_images():
    folder = DATA_ROOT / "mnist"
    if not folder.is_dir():
        pytest.skip("set NNKERNELS_DATA to a folder holding mnist/")
    name = "t10k-images-idx3-ubyte"
    path = folder / name if (folder / name).is_file() else folder / f"{name}.gz"
    labels = folder / "t10k-labels-idx1-ubyte"
    labels = labels if labels.is_file() else folder / "t10k-labels-idx1-ubyte.gz"
    return np.array(read_idx(path)[:60]), np.array(read_idx(labels)[:60])


def test_predict_without_a_model_uses_the_pretrained_classifier(mnist_test_images, tmp_path,
                                                                 capsys):
    images, labels = mnist_test_images
    write_idx(tmp_path / "some-digits-idx3-ubyte", images)
    Image.fromarray(images[0]).save(tmp_path / "digit.png")
    code, out, err = run_cli(capsys, "predict", tmp_path / "digit.png",
                          tmp_path / "some-digits-idx3-ubyte", "--json")
    assert code == 0, err
    lines = out.splitlines()
    assert len(lines) == 1 + len(images)
    import json
    records = [json.loads(line) for line in lines]
    expected = nnkernels.pretrained.mnist_classifier().predict_classes(
        images.reshape(len(images), -1).astype(np.float32) / 255)
    assert [r["class"] for r in records[1:]] == expected.tolist()
    assert records[0]["class"] == expected[0]
    assert np.mean(expected == labels) > 0.95


def test_predict_with_a_model_file_still_takes_it_first(tmp_path, capsys):
    model = nnkernels.models.mnist_classifier(seed=0)
    nnkernels.save(model, tmp_path / "m.safetensors")
    digit = (np.arange(784).reshape(28, 28) % 200).astype(np.uint8)
    Image.fromarray(digit).save(tmp_path / "d.png")
    code, out, err = run_cli(capsys, "predict", tmp_path / "m.safetensors", tmp_path / "d.png",
                          "--json")
    assert code == 0, err
    import json
    record = json.loads(out)
    assert record["class"] == int(model.predict_classes(digit.reshape(1, -1) / 255.0)[0])
    code, out, err = run_cli(capsys, "predict", tmp_path / "m.safetensors")
    assert code == 2 and "the following arguments are required: INPUT (after the model" in err


def _state_dict_file(tmp_path, model):
    path = tmp_path / "state.safetensors"
    safetensors_file.write(path, state_dict.state_dict(model), digest=False)
    return path


def test_import_weights_writes_a_model_file(tmp_path, capsys):
    model = nnkernels.Sequential([nnkernels.Dense(12, 8, "relu", seed=0),
                                  nnkernels.Dense(8, 5, "sigmoid", seed=1),
                                  nnkernels.Dense(5, 3, None, seed=2)])
    model.compile("rmsprop", "softmax_cross_entropy")
    source = _state_dict_file(tmp_path, model)
    out = tmp_path / "imported.safetensors"
    code, stdout, err = run_cli(capsys, "import-weights", source, "--arch", "12-8-5-3",
                             "--activations", "relu,sigmoid,softmax", "-o", out)
    assert code == 0, err
    assert "167 parameters" in stdout and "softmax_cross_entropy" in stdout
    imported = nnkernels.load(out)
    for a, b in zip(model.get_weights(), imported.get_weights()):
        np.testing.assert_array_equal(a, b)
    assert imported.metadata["imported_from"] == "state.safetensors"
    x = np.random.default_rng(0).random((4, 12)).astype(np.float32)
    np.testing.assert_array_equal(imported.predict(x), model.predict(x))


@pytest.mark.parametrize("argv,code,message", [
    (["--arch", "12-8", "--activations", "relu,relu"], 2, "one activation per layer"),
    (["--arch", "12-9-5-3", "--activations", "relu,sigmoid,softmax"], 1,
     r"tensor '0.weight' \(layer 0\) has shape \(8, 12\); the architecture needs \(9, 12\)"),
    (["--arch", "12-8-5", "--activations", "relu,softmax"], 1,
     "the architecture has 2 layers but the file holds 3"),
])
def test_import_weights_errors(tmp_path, capsys, argv, code, message):
    import re
    model = nnkernels.Sequential([nnkernels.Dense(12, 8, "relu", seed=0),
                                  nnkernels.Dense(8, 5, "sigmoid", seed=1),
                                  nnkernels.Dense(5, 3, None, seed=2)])
    source = _state_dict_file(tmp_path, model)
    got, out, err = run_cli(capsys, "import-weights", source, *argv, "-o", tmp_path / "o.st")
    assert got == code and err.startswith("nnkernels: error: ")
    assert re.search(message, err), err
    assert not (tmp_path / "o.st").exists()
