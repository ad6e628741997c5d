"""nnkernels.onnx.export: for every kind of model the package trains, a graph that
passes onnx's full check, that onnxruntime runs at any batch size to the model's own
predictions, and that imports back to the same weights, bit for bit."""
import os
import sys

import numpy as np
import pytest
from hypothesis import given, strategies as st

from onnx_support import require, run_onnxruntime
from conftest import DATA_ROOT

onnx = require("onnx")
require("onnxruntime")

import nnkernels  # noqa: E402
from nnkernels import Dense, Sequential  # noqa: E402

ACTIVATIONS = [None, "relu", "sigmoid"]
LOSSES = [None, "softmax_cross_entropy", "mse", "binary_cross_entropy"]


def _check(path):
    proto = onnx.load(str(path))
    onnx.checker.check_model(proto, full_check=True)
    return proto


def _tolerance(dtype):
    return dict(rtol=1e-5, atol=1e-6) if dtype == np.float32 else dict(rtol=1e-12, atol=1e-13)


@given(sizes=st.lists(st.integers(1, 24), min_size=2, max_size=5),
       activations=st.lists(st.sampled_from(ACTIVATIONS), min_size=4, max_size=4),
       loss=st.sampled_from(LOSSES), dtype=st.sampled_from(["float32", "float64"]),
       batch=st.integers(1, 40), seed=st.integers(0, 2**16))
def test_sequential_round_trip(tmp_path_factory, sizes, activations, loss, dtype, batch,
                               seed):
    rng = np.random.default_rng(seed)
    if loss == "binary_cross_entropy":  # its last layer is linear (the loss's sigmoid)
        activations[len(sizes) - 2] = None
    layers = [Dense(a, b, activation=act, dtype=dtype, seed=rng)
              for a, b, act in zip(sizes, sizes[1:], activations)]
    for layer in layers:  # non-zero biases
        layer.bias.data[...] = rng.normal(size=layer.bias.shape)
    model = Sequential(layers)
    if loss is not None:
        model.compile("sgd", loss)
    path = tmp_path_factory.mktemp("export") / "m.onnx"
    nnkernels.onnx.export(model, path)
    proto = _check(path)
    assert (proto.ir_version, proto.opset_import[0].version) == (8, 17)
    [graph_input] = proto.graph.input
    assert graph_input.type.tensor_type.shape.dim[0].dim_param == "batch"
    x = rng.normal(size=(batch, sizes[0])).astype(dtype)
    [out] = run_onnxruntime(path, x).values()
    np.testing.assert_allclose(out, model.predict(x), **_tolerance(model.dtype))
    back = nnkernels.onnx.load(path)
    assert all(np.array_equal(a, b) for a, b in zip(back.get_weights(), model.get_weights()))
    if loss == "binary_cross_entropy":  # imported as a sigmoid layer: the same outputs
        activations[len(sizes) - 2] = "sigmoid"
    assert [(d.in_features, d.out_features, d.activation, d.dtype) for d in back.layers] \
        == [(a, b, act, model.dtype) for a, b, act in zip(sizes, sizes[1:], activations)]
    assert back.loss.name == ("softmax_cross_entropy" if loss == "softmax_cross_entropy"
                              else "mse")
    np.testing.assert_allclose(back.predict(x), model.predict(x), **_tolerance(model.dtype))
    if loss != "binary_cross_entropy":  # the same weights and kernels: the same bits
        np.testing.assert_array_equal(back.predict(x), model.predict(x))


@pytest.mark.parametrize("opset", [13, 17, 21])
def test_opsets_and_ir_versions(tmp_path, opset):
    model = nnkernels.models.mnist_classifier(seed=0)
    path = nnkernels.onnx.export(model, tmp_path / "m.onnx", opset=opset)
    proto = _check(path)
    assert proto.opset_import[0].version == opset
    assert proto.ir_version == {13: 7, 17: 8, 21: 10}[opset]
    x = np.random.default_rng(0).random((3, 784), dtype=np.float32)
    np.testing.assert_allclose(run_onnxruntime(path, x)["probabilities"], model.predict(x),
                               rtol=1e-5, atol=1e-6)


def test_bad_arguments(tmp_path):
    model = nnkernels.models.mnist_classifier(seed=0)
    with pytest.raises(ValueError, match=r"'opset' must be in \[13, "):
        nnkernels.onnx.export(model, tmp_path / "m.onnx", opset=12)
    with pytest.raises(TypeError, match="must be a Sequential or a fitted nnkernels"):
        nnkernels.onnx.export("model.nnk", tmp_path / "m.onnx")
    assert not list(tmp_path.iterdir())


def test_export_is_deterministic_and_atomic(tmp_path, monkeypatch):
    model = nnkernels.models.mnist_autoencoder(seed=1)
    a, b = tmp_path / "a.onnx", tmp_path / "b.onnx"
    nnkernels.onnx.export(model, a)
    nnkernels.onnx.export(model, b)
    assert a.read_bytes() == b.read_bytes()
    from nnkernels.formats import onnx_export
    monkeypatch.setattr(onnx_export, "atomic_output", _failing_output())
    with pytest.raises(OSError, match="disk full"):
        nnkernels.onnx.export(nnkernels.models.mnist_classifier(seed=0), a)
    assert a.read_bytes() == b.read_bytes()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.onnx", "b.onnx"]


def _failing_output():
    """atomic_output that fails halfway through writing."""
    import contextlib
    from nnkernels._io import atomic_output

    @contextlib.contextmanager
    def output(path, **kwargs):
        with atomic_output(path, **kwargs) as f:
            class Half:
                def write(self, data):
                    f.write(data[:len(data) // 2])
                    raise OSError("disk full")
            yield Half()
    return output


def test_missing_onnx_names_the_extra(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "onnx", None)
    with pytest.raises(ImportError, match=r'pip install "nnkernels\[onnx\]"'):
        nnkernels.onnx.export(nnkernels.models.mnist_classifier(), tmp_path / "m.onnx")


# -- the scikit-learn estimators -----------------------------------------------------------

sklearn = require("sklearn") if os.environ.get("CI") else pytest.importorskip("sklearn")


def _regression_data(rng, n=120, k=3):
    x = rng.normal(size=(n, k))
    return x, x @ rng.normal(size=k) + 0.3 + rng.normal(scale=0.1, size=n)


@pytest.mark.parametrize("solver", ["lstsq", "sgd"])
def test_linear_regression(tmp_path, solver):
    from nnkernels.linear_model import LinearRegression
    x, y = _regression_data(np.random.default_rng(0))
    est = LinearRegression(solver=solver, epochs=20, random_state=0).fit(x, y)
    path = nnkernels.onnx.export(est, tmp_path / "lin.onnx")
    _check(path)
    out = run_onnxruntime(path, x)["predictions"]
    assert out.shape == (len(x), 1)
    np.testing.assert_allclose(out[:, 0], est.predict(x), rtol=1e-12, atol=1e-12)
    back = nnkernels.onnx.load(path)  # a Dense(k, 1) of the coefficients
    assert np.array_equal(back.layers[0].weight.data[:, 0], est.coef_)
    assert back.layers[0].bias.data[0] == est.intercept_


@pytest.mark.parametrize("labels", [["no", "yes"], [3, 7], [-1.0, 2.0, 5.0], ["a", "b", "c", "d"]])
def test_logistic_regression(tmp_path, labels):
    from nnkernels.linear_model import LogisticRegression
    rng = np.random.default_rng(1)
    x = rng.normal(size=(200, 2))
    score = x[:, 0] + 0.5 * x[:, 1] + rng.normal(scale=0.5, size=200)
    y = np.asarray(labels)[np.digitize(score, np.linspace(-1, 1, len(labels) - 1))]
    est = LogisticRegression().fit(x, y)
    path = nnkernels.onnx.export(est, tmp_path / "logistic.onnx")
    _check(path)
    out = run_onnxruntime(path, x)
    np.testing.assert_allclose(out["probabilities"], est.predict_proba(x), rtol=1e-12,
                               atol=1e-12)
    assert (out["label"].astype(est.classes_.dtype) == est.predict(x)).all()


def _iris():
    from nnkernels.datasets import load_iris
    folder = DATA_ROOT / "workshop"
    if not (folder / "iris_train.csv").is_file():
        if os.environ.get("CI"):
            pytest.fail("CI=true: NNKERNELS_DATA/workshop must hold the iris CSVs")
        pytest.skip("set NNKERNELS_DATA to a folder holding workshop/")
    return load_iris(folder, download=False)


def test_iris_network(tmp_path):
    from nnkernels.workshop.iris import IrisNetwork
    (x, y), (x_test, y_test), classes = _iris()
    est = IrisNetwork(seed=0).fit(x, y)
    path = nnkernels.onnx.export(est, tmp_path / "iris.onnx")
    _check(path)
    for batch in (x_test[:1], x_test[:7], x_test):
        batch = np.ascontiguousarray(batch, dtype=est.model_.dtype)
        out = run_onnxruntime(path, batch)
        np.testing.assert_allclose(out["probabilities"], est.predict_proba(batch),
                                   **_tolerance(est.model_.dtype))
        assert (out["label"] == est.predict(batch)).all()


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
@pytest.mark.parametrize("kind", ["classifier", "regressor"])
def test_neural_network_estimators(tmp_path, kind):
    from nnkernels.neural_network import MLPClassifier, MLPRegressor
    x, y = _regression_data(np.random.default_rng(2))
    if kind == "classifier":
        est = MLPClassifier((6,), max_iter=30, random_state=0).fit(
            x, np.array(["low", "mid", "high"])[np.digitize(y, [-0.5, 0.5])])
    else:
        est = MLPRegressor((6, 4), max_iter=30, random_state=0).fit(x, y)
    path = nnkernels.onnx.export(est, tmp_path / "mlp.onnx")
    _check(path)
    out = run_onnxruntime(path, x)
    if kind == "classifier":
        np.testing.assert_allclose(out["probabilities"], est.predict_proba(x), rtol=1e-12)
        assert (out["label"] == est.predict(x)).all()
    else:
        np.testing.assert_allclose(out["output"][:, 0], est.predict(x), rtol=1e-12)


def test_unfitted_estimator(tmp_path):
    from sklearn.exceptions import NotFittedError
    from nnkernels.linear_model import LogisticRegression
    with pytest.raises(NotFittedError):
        nnkernels.onnx.export(LogisticRegression(), tmp_path / "m.onnx")


def test_custom_loss_is_refused(tmp_path):
    from nnkernels.losses import MeanSquaredError

    class Clipped(MeanSquaredError):
        def output(self, z, out=None):
            return np.clip(z, 0, 1, out=out)
    model = nnkernels.models.mnist_autoencoder(seed=0)
    model.compile("sgd", Clipped())
    with pytest.raises(ValueError, match="the loss Clipped has no ONNX form"):
        nnkernels.onnx.export(model, tmp_path / "m.onnx")
    assert not (tmp_path / "m.onnx").exists()


def test_nnkernels_onnx_imports_onnx_only_when_called():
    import subprocess
    code = ("import sys, nnkernels, nnkernels.onnx; "
            "print(sorted(m for m in ('onnx', 'onnxruntime') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout
    assert out.strip() == "[]"
