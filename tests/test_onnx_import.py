"""nnkernels.onnx.load: MLPs as other tools export them (fixtures made by
fixtures/onnx/make_fixtures.py) predict what onnxruntime computes; graphs it cannot
represent exactly, and malformed or hostile files, raise OnnxFileError naming the
operator, node, tensor or file."""
import os
import re
import shutil
import sys

import numpy as np
import pytest
from hypothesis import given, strategies as st

from onnx_support import FIXTURES, require, run_onnxruntime

onnx = require("onnx")
require("onnxruntime")
from onnx import TensorProto, helper, numpy_helper  # noqa: E402

import nnkernels  # noqa: E402
from nnkernels.onnx import OnnxFileError  # noqa: E402

import fuzzing  # noqa: E402

# fixture -> (input shape without the batch, architecture, output kind)
FIXTURE_MODELS = {
    "torch_script.onnx": ((12,), [(12, 8, "relu"), (8, 5, "sigmoid"), (5, 3, None)],
                          "log_softmax"),
    "torch_dynamo.onnx": ((12,), [(12, 8, "relu"), (8, 3, None)], "softmax"),
    "torch_dynamo_external.onnx": ((12,), [(12, 8, "relu"), (8, 3, None)], "softmax"),
    "torch_dynamo_matmul.onnx": ((12,), [(12, 8, "sigmoid"), (8, 3, None)], "linear"),
    "keras.onnx": ((4, 3), [(12, 6, "relu"), (6, 3, None)], "softmax"),
    "skl2onnx_mlp.onnx": ((5,), [(5, 7, "relu"), (7, 3, None)], "softmax"),
    "tf2onnx_shaped.onnx": ((3, 4), [(12, 6, "relu"), (6, 3, None)], "softmax"),
}


@pytest.mark.parametrize("name", sorted(FIXTURE_MODELS))
@pytest.mark.parametrize("batch", [1, 7, 300])
def test_fixture_predicts_what_onnxruntime_computes(name, batch):
    shape, architecture, kind = FIXTURE_MODELS[name]
    model = nnkernels.onnx.load(FIXTURES / name)
    assert [(d.in_features, d.out_features, d.activation) for d in model.layers] == \
        architecture
    assert model.dtype == np.float32
    assert model.metadata["onnx"]["output_kind"] == kind
    x = np.random.default_rng(batch).normal(size=(batch, *shape)).astype(np.float32)
    expected = next(iter(run_onnxruntime(FIXTURES / name, x, outputs=[
        model.metadata["onnx"]["output"]]).values()))
    got = model.predict(x.reshape(batch, -1))
    if kind == "log_softmax":  # a classifier: predict gives the probabilities
        got = np.log(got)
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-6)
    assert (got.argmax(axis=1) == expected.argmax(axis=1)).all()


def test_fixture_weights_are_the_initializers():
    proto = onnx.load(str(FIXTURES / "torch_script.onnx"))
    weights = {t.name: numpy_helper.to_array(t) for t in proto.graph.initializer}
    model = nnkernels.onnx.load(FIXTURES / "torch_script.onnx")
    for i, layer in zip((0, 3, 5), model.layers):  # nn.Sequential indices of the Linears
        assert np.array_equal(layer.weight.data, weights[f"{i}.weight"].T)
        assert np.array_equal(layer.bias.data, weights[f"{i}.bias"])


# -- graphs built here: what must be refused, and what must be read exactly --------------

def _model(nodes, inits, in_shape=("N", 4), out="y", opset=17, elem=TensorProto.FLOAT,
           inputs=None):
    graph = helper.make_graph(
        nodes, "g", inputs or [helper.make_tensor_value_info("x", elem, list(in_shape))],
        [helper.make_tensor_value_info(out, elem, None)], inits)
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)],
                             ir_version=8)


def _save(tmp_path, model, name="m.onnx"):
    path = tmp_path / name
    path.write_bytes(model.SerializeToString())
    return path


W = np.arange(12, dtype=np.float32).reshape(4, 3) / 10
B = np.array([0.5, -1.0, 2.0], np.float32)


def _dense_nodes(*extra, x="x", out="y"):
    return [helper.make_node("MatMul", [x, "W"], ["h"], name="mm"),
            helper.make_node("Add", ["h", "B"], ["z" if extra else out], name="add"),
            *extra]


def _inits(w=W, b=B):
    return [numpy_helper.from_array(w, "W"), numpy_helper.from_array(b, "B")]


def _load(tmp_path, model, **kwargs):
    return nnkernels.onnx.load(_save(tmp_path, model), **kwargs)


@pytest.mark.parametrize("op, attrs, message", [
    ("Tanh", {}, "operator Tanh (node act (Tanh)) is not supported"),
    ("Softmax", {"axis": 0}, "Softmax over axis 0"),
    ("LeakyRelu", {}, "operator LeakyRelu"),
    ("Transpose", {}, "operator Transpose (node act (Transpose)) is not supported"),
])
def test_unsupported_operators_are_named(tmp_path, op, attrs, message):
    model = _model(_dense_nodes(helper.make_node(op, ["z"], ["y"], name="act", **attrs)),
                   _inits())
    with pytest.raises(OnnxFileError, match=re.escape(message)) as info:
        _load(tmp_path, model)
    assert str(tmp_path / "m.onnx") in str(info.value)


@pytest.mark.parametrize("attrs, message", [
    ({"alpha": 2.0}, "Gemm with alpha=2.0"),
    ({"transA": 1}, "Gemm with transA=1"),
])
def test_gemm_attributes_that_change_the_result_are_refused(tmp_path, attrs, message):
    node = helper.make_node("Gemm", ["x", "W", "B"], ["y"], name="gemm", **attrs)
    with pytest.raises(OnnxFileError, match=message):
        _load(tmp_path, _model([node], _inits()))


def test_gemm_beta_scales_the_bias_and_transb_transposes(tmp_path):
    node = helper.make_node("Gemm", ["x", "W", "B"], ["y"], name="gemm", beta=0.5, transB=1)
    w = W.T.copy()
    path = _save(tmp_path, _model([node], _inits(w=w)))
    model = nnkernels.onnx.load(path)
    assert np.array_equal(model.layers[0].weight.data, W)
    assert np.array_equal(model.layers[0].bias.data, B * np.float32(0.5))
    x = np.random.default_rng(0).normal(size=(5, 4)).astype(np.float32)
    np.testing.assert_allclose(model.predict(x), run_onnxruntime(path, x)["y"], rtol=1e-6)


@pytest.mark.parametrize("bias, ok", [
    (B, True), (B.reshape(1, 3), True), (np.float32(1.5), True), (np.ones(1, np.float32), True),
    (np.ones((3, 1), np.float32), False), (np.ones((2, 3), np.float32), False),
    (np.ones((1, 1, 3), np.float32), False), (np.ones(4, np.float32), False),
])
def test_bias_must_broadcast_to_the_layer(tmp_path, bias, ok):
    path = _save(tmp_path, _model(_dense_nodes(), _inits(b=np.asarray(bias))))
    if ok:
        model = nnkernels.onnx.load(path)
        x = np.random.default_rng(0).normal(size=(3, 4)).astype(np.float32)
        np.testing.assert_allclose(model.predict(x), run_onnxruntime(path, x)["y"],
                                   rtol=1e-6)
    else:
        with pytest.raises(OnnxFileError, match="does not broadcast|does not match"):
            nnkernels.onnx.load(path)


def test_graph_that_is_not_a_chain_is_refused(tmp_path):
    # a residual connection: y = relu(x W + b) + x W'
    nodes = _dense_nodes(helper.make_node("Relu", ["z"], ["r"], name="relu"),
                         helper.make_node("MatMul", ["x", "W"], ["s"], name="skip"),
                         helper.make_node("Add", ["r", "s"], ["y"], name="residual"))
    with pytest.raises(OnnxFileError, match="not a chain: node residual .Add. combines 2"):
        _load(tmp_path, _model(nodes, _inits()))


def test_weights_computed_from_the_input_are_refused(tmp_path):
    nodes = [helper.make_node("MatMul", ["x", "x2"], ["y"], name="mm"),
             helper.make_node("Identity", ["x"], ["x2"], name="copy")]
    nodes = nodes[::-1]
    with pytest.raises(OnnxFileError, match="not a chain|must be a constant"):
        _load(tmp_path, _model(nodes, [], in_shape=("N", 4)))


@pytest.mark.parametrize("nodes, message", [
    ([helper.make_node("Relu", ["x"], ["y"], name="r")], "Relu must follow a linear layer"),
    (_dense_nodes(helper.make_node("Relu", ["z"], ["r"], name="r1"),
                  helper.make_node("Sigmoid", ["r"], ["y"], name="s")),
     "Sigmoid must follow a linear layer"),
    (_dense_nodes(helper.make_node("Relu", ["z"], ["r"], name="r1"),
                  helper.make_node("Flatten", ["r"], ["f"], name="fl"),
                  helper.make_node("Softmax", ["f"], ["y"], name="sm")),
     "Softmax must follow a layer"),
    (_dense_nodes(helper.make_node("Softmax", ["z"], ["s"], name="sm"),
                  helper.make_node("Relu", ["s"], ["y"], name="r2")),
     "Relu after the softmax output"),
    (_dense_nodes(helper.make_node("Add", ["z", "B"], ["y"], name="add2")),
     "an Add must follow a MatMul"),
    (_dense_nodes(helper.make_node("Cast", ["z"], ["y"], name="c", to=TensorProto.DOUBLE)),
     "Cast to DOUBLE inside a float32 network"),
])
def test_sequences_nnkernels_cannot_represent_are_refused(tmp_path, nodes, message):
    with pytest.raises(OnnxFileError, match=message):
        _load(tmp_path, _model(nodes, _inits()))


def test_reshape_that_moves_the_batch_is_refused(tmp_path):
    shape = numpy_helper.from_array(np.array([-1, 4], np.int64), "shape")
    nodes = [helper.make_node("Reshape", ["x", "shape"], ["f"], name="reshape"),
             *_dense_nodes(x="f")]
    with pytest.raises(OnnxFileError, match=r"Reshape of \['N', 2, 4\] to \[-1, 4\]"):
        _load(tmp_path, _model(nodes, [shape, *_inits()], in_shape=("N", 2, 4)))


def test_flatten_and_cast_of_an_image_input(tmp_path):
    nodes = [helper.make_node("Cast", ["x"], ["c"], name="cast", to=TensorProto.FLOAT),
             helper.make_node("Flatten", ["c"], ["f"], name="flatten", axis=1),
             *_dense_nodes(helper.make_node("LogSoftmax", ["z"], ["y"], name="ls"), x="f")]
    graph = helper.make_graph(nodes, "g", [helper.make_tensor_value_info(
        "x", TensorProto.UINT8, ["N", 2, 2])], [helper.make_tensor_value_info(
            "y", TensorProto.FLOAT, ["N", 3])], _inits())
    path = _save(tmp_path, helper.make_model(
        graph, opset_imports=[helper.make_opsetid("", 17)], ir_version=8))
    model = nnkernels.onnx.load(path)
    x = np.random.default_rng(0).integers(0, 4, size=(6, 2, 2), dtype=np.uint8)
    np.testing.assert_allclose(np.log(model.predict(x.reshape(6, 4))),
                               run_onnxruntime(path, x)["y"], rtol=1e-5, atol=1e-6)
    assert model.loss.name == "softmax_cross_entropy"


@pytest.mark.parametrize("mode, ok", [(False, True), (True, False)])
def test_dropout_only_in_inference_mode(tmp_path, mode, ok):
    nodes = _dense_nodes(helper.make_node("Dropout", ["z", "", "t"], ["y", "mask"], name="d"))
    inits = [*_inits(), numpy_helper.from_array(np.array(mode), "t")]
    if ok:
        assert _load(tmp_path, _model(nodes, inits)).layers[0].activation is None
    else:
        with pytest.raises(OnnxFileError, match="Dropout in training mode"):
            _load(tmp_path, _model(nodes, inits))


def test_constant_node_weights_and_float64(tmp_path):
    w, b = W.astype(np.float64), B.astype(np.float64)
    nodes = [helper.make_node("Constant", [], ["W"], name="cw",
                              value=numpy_helper.from_array(w)),
             helper.make_node("Constant", [], ["B"], name="cb",
                              value=numpy_helper.from_array(b)),
             *_dense_nodes(helper.make_node("Sigmoid", ["z"], ["y"], name="s"))]
    path = _save(tmp_path, _model(nodes, [], elem=TensorProto.DOUBLE))
    model = nnkernels.onnx.load(path)
    assert model.dtype == np.float64 and model.layers[0].activation == "sigmoid"
    assert np.array_equal(model.layers[0].weight.data, w)
    x = np.random.default_rng(0).normal(size=(4, 4))
    np.testing.assert_allclose(model.predict(x), run_onnxruntime(path, x)["y"], rtol=1e-12)


def test_float16_weights_are_refused_naming_the_tensor(tmp_path):
    model = _model(_dense_nodes(), _inits(w=W.astype(np.float16)))
    with pytest.raises(OnnxFileError, match="initializer 'W' has data type FLOAT16"):
        _load(tmp_path, model)


def test_several_inputs_or_outputs(tmp_path):
    nodes = _dense_nodes(helper.make_node("Softmax", ["z"], ["probabilities"], name="sm"),
                         out="logits")
    nodes[1].output[0] = "z"
    graph = helper.make_graph(
        [*nodes, helper.make_node("Identity", ["z"], ["logits"], name="id")], "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 4])],
        [helper.make_tensor_value_info(n, TensorProto.FLOAT, ["N", 3])
         for n in ("logits", "probabilities")], _inits())
    path = _save(tmp_path, helper.make_model(graph, opset_imports=[
        helper.make_opsetid("", 17)], ir_version=8))
    assert nnkernels.onnx.load(path).metadata["onnx"]["output_kind"] == "softmax"
    assert nnkernels.onnx.load(path, output="logits").loss.name == "mse"
    with pytest.raises(OnnxFileError, match="no output 'nope'"):
        nnkernels.onnx.load(path, output="nope")
    two = _model(_dense_nodes(), _inits(), inputs=[
        helper.make_tensor_value_info(n, TensorProto.FLOAT, ["N", 4]) for n in ("x", "x2")])
    with pytest.raises(OnnxFileError, match="the graph has 2 inputs"):
        _load(tmp_path, two)


def test_old_opset_is_refused(tmp_path):
    with pytest.raises(OnnxFileError, match="opset 8 is not supported"):
        _load(tmp_path, _model(_dense_nodes(), _inits(), opset=8))


# -- random MLPs in every exporter's style, against onnxruntime --------------------------

STYLES = ("gemm", "gemm_transposed", "matmul_add", "transpose_matmul_add", "matmul",
          "constant_nodes")


@given(sizes=st.lists(st.integers(1, 12), min_size=2, max_size=5),
       styles=st.lists(st.sampled_from(STYLES), min_size=4, max_size=4),
       activations=st.lists(st.sampled_from([None, "Relu", "Sigmoid"]), min_size=4,
                            max_size=4),
       head=st.sampled_from([None, "Softmax", "LogSoftmax"]),
       dtype=st.sampled_from([np.float32, np.float64]), seed=st.integers(0, 2**16))
def test_random_mlp_graphs(tmp_path_factory, sizes, styles, activations, head, dtype, seed):
    rng = np.random.default_rng(seed)
    nodes, inits, x = [], [], "x"
    weights = []
    for i, (n_in, n_out) in enumerate(zip(sizes, sizes[1:])):
        w = rng.normal(size=(n_in, n_out)).astype(dtype)
        b = rng.normal(size=n_out).astype(dtype)
        style = styles[i]
        weights.append((w, b if style != "matmul" else np.zeros_like(b)))
        if style == "constant_nodes":
            nodes += [helper.make_node("Constant", [], [name], value=numpy_helper.from_array(v))
                      for name, v in ((f"w{i}", w), (f"b{i}", b))]
        elif style in ("gemm_transposed", "transpose_matmul_add"):
            inits += [numpy_helper.from_array(np.ascontiguousarray(w.T), f"w{i}"),
                      numpy_helper.from_array(b, f"b{i}")]
        else:
            inits += [numpy_helper.from_array(w, f"w{i}"), numpy_helper.from_array(b, f"b{i}")]
        if style in ("gemm", "gemm_transposed"):
            nodes.append(helper.make_node("Gemm", [x, f"w{i}", f"b{i}"], [f"z{i}"],
                                          transB=int(style == "gemm_transposed")))
        else:
            w_name = f"w{i}"
            if style == "transpose_matmul_add":
                nodes.append(helper.make_node("Transpose", [w_name], [f"t{i}"], perm=[1, 0]))
                w_name = f"t{i}"
            mm = f"z{i}" if style == "matmul" else f"m{i}"
            nodes.append(helper.make_node("MatMul", [x, w_name], [mm]))
            if style != "matmul":
                nodes.append(helper.make_node("Add", [mm, f"b{i}"], [f"z{i}"]))
        x = f"z{i}"
        if activations[i]:
            nodes.append(helper.make_node(activations[i], [x], [f"a{i}"]))
            x = f"a{i}"
    if head:
        nodes.append(helper.make_node(head, [x], ["head"], axis=-1))
        x = "head"
    nodes.append(helper.make_node("Identity", [x], ["y"]))
    elem = TensorProto.FLOAT if dtype == np.float32 else TensorProto.DOUBLE
    path = _save(tmp_path_factory.mktemp("random"),
                 _model(nodes, inits, in_shape=("N", sizes[0]), elem=elem))
    model = nnkernels.onnx.load(path)
    for layer, (w, b), act in zip(model.layers, weights, activations):
        assert np.array_equal(layer.weight.data, w) and np.array_equal(layer.bias.data, b)
        assert layer.activation == {None: None, "Relu": "relu", "Sigmoid": "sigmoid"}[act]
    inputs = rng.normal(size=(5, sizes[0])).astype(dtype)
    expected = run_onnxruntime(path, inputs)["y"]
    got = model.predict(inputs)
    if head == "LogSoftmax":
        expected = np.exp(expected)
    tol = dict(rtol=1e-4, atol=1e-5) if dtype == np.float32 else dict(rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(got, expected, **tol)


# -- sizes and external data ----------------------------------------------------------------

def test_declared_shape_larger_than_the_data(tmp_path):
    big = TensorProto(name="W", data_type=TensorProto.FLOAT, dims=[2**31, 2**31],
                      raw_data=b"\0" * 16)
    with pytest.raises(OnnxFileError, match=r"'W' declares shape \[2147483648, 2147483648\]"):
        with fuzzing.memory_cap():
            _load(tmp_path, _model(_dense_nodes(), [big, _inits()[1]]))


def _external_model(tmp_path, location, offset=0, length=None, data=None):
    (tmp_path / "weights.bin").write_bytes(W.tobytes() if data is None else data)
    tensor = numpy_helper.from_array(W, "W")
    tensor.ClearField("raw_data")
    tensor.data_location = TensorProto.EXTERNAL
    for key, value in (("location", location), ("offset", str(offset)),
                       ("length", str(W.nbytes if length is None else length))):
        entry = tensor.external_data.add()
        entry.key, entry.value = key, value
    folder = tmp_path / "model"
    folder.mkdir(exist_ok=True)
    return _save(folder, _model(_dense_nodes(), [tensor, _inits()[1]]))


def test_external_data_in_the_models_folder(tmp_path):
    path = _external_model(tmp_path, "weights.bin")
    shutil.move(tmp_path / "weights.bin", path.parent / "weights.bin")
    model = nnkernels.onnx.load(path)
    assert np.array_equal(model.layers[0].weight.data, W)
    x = np.ones((2, 4), np.float32)
    np.testing.assert_allclose(model.predict(x), run_onnxruntime(path, x)["y"], rtol=1e-6)


@pytest.mark.parametrize("location, message", [
    ("../weights.bin", "must be a relative path inside the model's folder"),
    ("sub/../../weights.bin", "must be a relative path inside"),
    ("/etc/passwd", "must be a relative path inside"),
    ("link.bin", "leads out of the model's folder"),
    ("missing.bin", "cannot read external data 'missing.bin'"),
    (".", "not a regular file|cannot read"),
])
def test_external_data_outside_the_folder_is_refused(tmp_path, location, message):
    path = _external_model(tmp_path, location)
    os.symlink(tmp_path / "weights.bin", path.parent / "link.bin")
    with pytest.raises(OnnxFileError, match=message):
        nnkernels.onnx.load(path)


@pytest.mark.parametrize("offset, length, message", [
    (0, 8, "length 8 does not match its shape"),
    (40, None, "holds 48 bytes; the tensor needs bytes 40..88"),
    (2**40, None, "the tensor needs bytes"),
    (10**19, None, "offset '10000000000000000000' is not a byte count"),
])
def test_external_data_bounds(tmp_path, offset, length, message):
    path = _external_model(tmp_path, "weights.bin", offset, length)
    shutil.move(tmp_path / "weights.bin", path.parent / "weights.bin")
    with pytest.raises(OnnxFileError, match=message):
        nnkernels.onnx.load(path)


def test_size_limit(tmp_path):
    path = _save(tmp_path, _model(_dense_nodes(), _inits()))
    with pytest.raises(OnnxFileError, match="larger than the limit"):
        nnkernels.onnx.load(path, max_bytes=100)


@pytest.mark.parametrize("data, message", [
    (b"", "no graph"), (b"\x08" * 3, "not an ONNX model"), (b"PK\x03\x04zipzip", "not an ONNX"),
])
def test_foreign_files(tmp_path, data, message):
    (tmp_path / "x.onnx").write_bytes(data)
    with pytest.raises(OnnxFileError, match=message):
        nnkernels.onnx.load(tmp_path / "x.onnx")


def test_missing_onnx_names_the_extra(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "onnx", None)
    with pytest.raises(ImportError, match=r'pip install "nnkernels\[onnx\]"'):
        nnkernels.onnx.load(FIXTURES / "torch_script.onnx")


@pytest.mark.parametrize("name", ["torch_script.onnx", "keras.onnx", "skl2onnx_mlp.onnx",
                                  "torch_dynamo_external.onnx"])
def test_fuzz_onnx_import(name, tmp_path):
    """Mutated files load or raise OnnxFileError: nothing else, bounded in memory."""
    data = (FIXTURES / name).read_bytes()
    target = tmp_path / name
    if (FIXTURES / f"{name}.data").is_file():  # mutated references to the external data
        shutil.copy(FIXTURES / f"{name}.data", tmp_path / f"{name}.data")
    failures = []
    with fuzzing.memory_cap():
        for case, mutated in fuzzing.mutations(data, seed=len(name), header_len=64):
            target.write_bytes(mutated)
            failure = fuzzing.check_case(lambda: nnkernels.onnx.load(target), case,
                                         OnnxFileError)
            if failure:
                failures.append(failure)
    assert not failures, "\n".join(failures[:10])


def test_node_without_its_inputs(tmp_path):
    nodes = [helper.make_node("MatMul", ["x"], ["y"], name="mm")]
    with pytest.raises(OnnxFileError, match=r"node mm \(MatMul\) lacks a required input"):
        _load(tmp_path, _model(nodes, _inits()))


def test_gemm_with_beta_zero_ignores_c(tmp_path):
    node = helper.make_node("Gemm", ["x", "W", "B"], ["y"], name="gemm", beta=0.0)
    path = _save(tmp_path, _model([node], _inits(b=np.full(3, np.inf, np.float32))))
    model = nnkernels.onnx.load(path)
    x = np.ones((2, 4), np.float32)
    np.testing.assert_allclose(model.predict(x), run_onnxruntime(path, x)["y"], rtol=1e-6)
