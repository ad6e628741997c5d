"""The ONNX acceptance on real MNIST: the classifier and the autoencoder, trained for
one epoch, exported; onnxruntime agrees with ``model.predict`` within 1e-5 (float32) on
the 10,000 test images, on every argmax, at batch sizes 1, 7 and 10,000; the file
imports back to the same weights, bit for bit."""
import os

import numpy as np
import pytest

from conftest import DATA_ROOT
from onnx_support import require

onnx = require("onnx")
ort = require("onnxruntime")

import nnkernels  # noqa: E402
from nnkernels import datasets, models  # noqa: E402


@pytest.fixture(scope="module")
def mnist():
    if not (DATA_ROOT / "mnist").is_dir():
        if os.environ.get("CI"):
            pytest.fail("CI=true: NNKERNELS_DATA/mnist is missing")
        pytest.skip("set NNKERNELS_DATA to a folder holding mnist/")
    return datasets.load_mnist(DATA_ROOT / "mnist", download=False)


def _onnxruntime_in_batches(path, x, batch):
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    name = session.get_inputs()[0].name
    return np.concatenate([session.run(None, {name: x[lo:lo + batch]})[0]
                           for lo in range(0, len(x), batch)])


@pytest.mark.parametrize("kind", ["classifier", "autoencoder"])
def test_exported_model_agrees_with_predict(mnist, tmp_path, kind):
    model, _, results = models.train_mnist(kind, arrays=mnist, epochs=1, seed=0, verbose=0)
    if kind == "classifier":
        assert results["test_accuracy"] > 0.9  # trained, not a random network
    path = nnkernels.onnx.export(model, tmp_path / f"{kind}.onnx")
    onnx.checker.check_model(onnx.load(str(path)), full_check=True)
    x_test = mnist[1][0]
    assert x_test.shape == (10_000, 784) and x_test.dtype == np.float32
    expected = model.predict(x_test)
    for batch in (1, 7, 10_000):
        got = _onnxruntime_in_batches(path, x_test, batch)
        assert got.shape == expected.shape and got.dtype == np.float32
        assert np.abs(got - expected).max() <= 1e-5, (batch, np.abs(got - expected).max())
        if kind == "classifier":
            assert (got.argmax(axis=1) == expected.argmax(axis=1)).all(), batch
    back = nnkernels.onnx.load(path)
    for a, b in zip(back.parameters(), model.parameters()):
        assert a.data.dtype == b.data.dtype and a.data.tobytes() == b.data.tobytes()
    np.testing.assert_array_equal(back.predict(x_test), expected)
