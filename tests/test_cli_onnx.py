"""``nnkernels export MODEL OUT.onnx``, and ``.onnx`` models in ``evaluate`` and
``predict``: a test per case, run in-process through ``main(argv)``."""
import json
import sys

import numpy as np
import pytest

from conftest import DATA_ROOT, run_cli
from onnx_support import FIXTURES, require, run_onnxruntime

onnx = require("onnx")
require("onnxruntime")

import nnkernels  # noqa: E402
from nnkernels.datasets import load_mnist, write_idx  # noqa: E402

HAVE_MNIST = (DATA_ROOT / "mnist").is_dir()
needs_mnist = pytest.mark.skipif(not HAVE_MNIST, reason="set NNKERNELS_DATA to a folder "
                                                         "holding mnist/")


@pytest.fixture(scope="module")
def mnist():
    if not HAVE_MNIST:
        pytest.skip("set NNKERNELS_DATA to a folder holding mnist/")
    return load_mnist(DATA_ROOT / "mnist", download=False)


@pytest.fixture(scope="module")
def saved(mnist, tmp_path_factory):
    """A briefly trained classifier and autoencoder saved by nnkernels.save: {kind: path}."""
    folder = tmp_path_factory.mktemp("models")
    paths = {}
    for kind in ("classifier", "autoencoder"):
        model, _, _ = nnkernels.models.train_mnist(kind, arrays=mnist, limit=2000, epochs=1,
                                                   seed=0, verbose=0)
        paths[kind] = folder / f"{kind}.safetensors"
        nnkernels.save(model, paths[kind])
    return paths


@pytest.fixture
def data_env(monkeypatch):
    monkeypatch.setenv("NNKERNELS_DATA", str(DATA_ROOT))


@needs_mnist
@pytest.mark.parametrize("kind", ["classifier", "autoencoder"])
def test_export_writes_a_checked_onnx_file(saved, mnist, tmp_path, capsys, kind):
    out = tmp_path / "sub" / f"{kind}.onnx"
    code, stdout, err = run_cli(capsys, "export", saved[kind], out)
    assert code == 0, err
    assert stdout.strip() == f"{out}: ONNX opset 17, 784 inputs -> " \
                             f"{10 if kind == 'classifier' else 784} outputs"
    onnx.checker.check_model(onnx.load(str(out)), full_check=True)
    x = mnist[1][0][:50]
    [got] = run_onnxruntime(out, x).values()
    np.testing.assert_allclose(got, nnkernels.load(saved[kind]).predict(x), rtol=1e-5,
                               atol=1e-6)


@needs_mnist
def test_export_opset(saved, tmp_path, capsys):
    code, _, err = run_cli(capsys, "export", saved["classifier"], tmp_path / "m.onnx",
                        "--opset", "21")
    assert code == 0, err
    assert onnx.load(str(tmp_path / "m.onnx")).opset_import[0].version == 21


@needs_mnist
@pytest.mark.parametrize("opset, message", [("12", "must be an integer >= 13"),
                                            ("999", "'opset' must be in [13, "),
                                            ("x", "expected an integer")])
def test_export_bad_opset_is_a_usage_error(saved, tmp_path, capsys, opset, message):
    code, _, err = run_cli(capsys, "export", saved["classifier"], tmp_path / "m.onnx",
                        "--opset", opset)
    assert code == 2 and message in err
    assert not (tmp_path / "m.onnx").exists()


@needs_mnist
def test_export_to_a_folder_is_a_usage_error(saved, tmp_path, capsys):
    code, _, err = run_cli(capsys, "export", saved["classifier"], tmp_path)
    assert code == 2 and f"{tmp_path}: is a folder" in err


def test_export_missing_or_bad_model(tmp_path, capsys):
    code, _, err = run_cli(capsys, "export", tmp_path / "none.safetensors", tmp_path / "m.onnx")
    assert code == 1 and "no such model file" in err
    (tmp_path / "bad.safetensors").write_bytes(b"not a model")
    code, _, err = run_cli(capsys, "export", tmp_path / "bad.safetensors", tmp_path / "m.onnx")
    assert code == 1 and str(tmp_path / "bad.safetensors") in err
    assert not (tmp_path / "m.onnx").exists()


def test_export_reads_an_onnx_model(tmp_path, capsys):
    """An .onnx model (here PyTorch's) is imported and written anew by nnkernels."""
    out = tmp_path / "again.onnx"
    code, _, err = run_cli(capsys, "export", FIXTURES / "torch_dynamo.onnx", out)
    assert code == 0, err
    x = np.random.default_rng(0).normal(size=(5, 12)).astype(np.float32)
    np.testing.assert_allclose(run_onnxruntime(out, x)["probabilities"],
                               run_onnxruntime(FIXTURES / "torch_dynamo.onnx", x)[
                                   "probabilities"], rtol=1e-5, atol=1e-6)


def test_missing_onnx_extra(tmp_path, capsys, monkeypatch):
    monkeypatch.setitem(sys.modules, "onnx", None)
    code, _, err = run_cli(capsys, "evaluate", FIXTURES / "torch_dynamo.onnx")
    assert code == 1 and 'pip install "nnkernels[onnx]"' in err


@needs_mnist
@pytest.mark.parametrize("kind", ["classifier", "autoencoder"])
def test_evaluate_onnx_gives_the_figures_of_the_saved_model(saved, tmp_path, capsys,
                                                            data_env, kind):
    onnx_file = tmp_path / f"{kind}.onnx"
    nnkernels.onnx.export(nnkernels.load(saved[kind]), onnx_file)
    code, from_nnk, err = run_cli(capsys, "evaluate", saved[kind])
    assert code == 0, err
    code, from_onnx, err = run_cli(capsys, "evaluate", onnx_file)
    assert code == 0, err
    figures = from_onnx.split(":", 1)[1]
    assert figures == from_nnk.split(":", 1)[1] and "10000 images" in figures
    assert ("accuracy" in figures) == (kind == "classifier")


@needs_mnist
def test_predict_onnx_gives_the_predictions_of_the_saved_model(saved, mnist, tmp_path,
                                                               capsys):
    onnx_file = tmp_path / "classifier.onnx"
    nnkernels.onnx.export(nnkernels.load(saved["classifier"]), onnx_file)
    images = (mnist[1][0][:5].reshape(5, 28, 28) * 255).round().astype(np.uint8)
    idx = write_idx(tmp_path / "five-images-idx3-ubyte", images)
    outputs = []
    for model_file in (saved["classifier"], onnx_file):
        code, out, err = run_cli(capsys, "predict", model_file, idx, "--json")
        assert code == 0, err
        outputs.append([json.loads(line) for line in out.splitlines()])
    assert len(outputs[0]) == 5 and outputs[0] == outputs[1]


def test_evaluate_onnx_that_is_not_an_mnist_model(capsys):
    code, _, err = run_cli(capsys, "evaluate", FIXTURES / "torch_script.onnx")
    assert code == 1 and "takes 12 inputs" in err


@pytest.mark.parametrize("command", ["evaluate", "predict"])
def test_bad_onnx_file(tmp_path, capsys, command):
    bad = tmp_path / "bad.onnx"
    bad.write_bytes(b"\x08\x07garbage")
    args = [command, bad] + ([tmp_path / "x.png"] if command == "predict" else [])
    code, _, err = run_cli(capsys, *args)
    assert code == 1 and f"{bad}: not an ONNX model" in err
    unsupported = tmp_path / "tanh.onnx"
    from onnx import TensorProto, helper, numpy_helper
    graph = helper.make_graph(
        [helper.make_node("MatMul", ["x", "W"], ["h"], name="mm"),
         helper.make_node("Tanh", ["h"], ["y"], name="squash")], "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 784])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", 10])],
        [numpy_helper.from_array(np.zeros((784, 10), np.float32), "W")])
    unsupported.write_bytes(helper.make_model(graph, ir_version=8, opset_imports=[
        helper.make_opsetid("", 17)]).SerializeToString())
    args[1] = unsupported
    code, _, err = run_cli(capsys, *args)
    assert code == 1 and "operator Tanh (node squash (Tanh)) is not supported" in err
