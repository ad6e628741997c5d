"""Export a trained model to ONNX: the graph onnxruntime (or any ONNX runtime) runs.

Every graph has one input, ``input`` of shape (batch, n_features) with a dynamic batch
dimension, and computes what the model's ``predict`` computes:

- :class:`nnkernels.Sequential` (the MNIST classifier and autoencoder): one ``Gemm``
  per Dense layer, weights stored as PyTorch stores them ((out, in), named
  ``<i>.weight`` and ``<i>.bias``, ``transB=1``), ``Relu`` or ``Sigmoid`` after it; then
  ``Softmax`` for a softmax cross-entropy model (output ``probabilities``), ``Sigmoid``
  for a binary cross-entropy one (``probabilities``), nothing otherwise (``output``).
- Any other type that registered an exporter (:func:`register_exporter`): the
  scikit-learn estimators of :mod:`nnkernels.neural_network` (the workshop's iris
  network among them: the graph of their network; classifiers add ``label``,
  ``classes_[argmax]``) and of :mod:`nnkernels.linear_model` (``LinearRegression``:
  ``predictions`` (batch, 1); ``LogisticRegression``: ``probabilities`` as
  ``predict_proba`` and ``label`` as ``predict``) register theirs where they are
  defined, so that this format knows none of its callers.

Versions: opset 17 by default (13 to onnx's newest accepted), and the lowest IR version
that declares the opset (IR 8 for opset 17, 10 for 21), so that onnxruntime releases
since 1.13 load the default export. The architecture is stored as JSON in the model's
``metadata_props`` (``nnkernels.architecture``); no timestamp.
"""
import json
from pathlib import Path

import numpy as np

from nnkernels import activations, losses
from nnkernels._checks import positive_int
from nnkernels._extras import require
from nnkernels._info import version
from nnkernels._io import atomic_output
from nnkernels.layers import Dense
from nnkernels.sequential import Sequential

DEFAULT_OPSET = 17
MIN_OPSET = 13  # Softmax over one axis; ReduceSum with axes as an input
ELEM_TYPES = {np.dtype(np.float32): 1, np.dtype(np.float64): 11}


#: Exporters of the model types besides Sequential: type -> function(onnx, model)
#: returning (graph, input width, metadata); filled by register_exporter.
_EXPORTERS = {}


def register_exporter(model_type, build):
    """Make :func:`export` write instances of `model_type` with ``build(onnx, model)``,
    which returns (a :class:`Graph` with its outputs, the input width, the metadata
    dict stored in the file). The estimators call this where they are defined."""
    _EXPORTERS[model_type] = build


class Graph:
    """Nodes, initializers and outputs under construction."""

    def __init__(self, onnx, dtype):
        self.onnx, self.dtype = onnx, np.dtype(dtype)
        self.nodes, self.initializers, self.outputs = [], [], []

    def constant(self, name, array):
        self.initializers.append(self.onnx.numpy_helper.from_array(np.asarray(array), name))
        return name

    def node(self, op, inputs, output, **attributes):
        self.nodes.append(self.onnx.helper.make_node(op, inputs, [output], name=output,
                                                     **attributes))
        return output

    def output(self, name, elem_type, shape):
        self.outputs.append(self.onnx.helper.make_tensor_value_info(name, elem_type, shape))

    def dense(self, x, weight, bias, name):
        """Gemm(x, weight (out, in), bias (out,), transB=1): x @ weight.T + bias."""
        w = self.constant(f"{name}.weight", np.ascontiguousarray(weight, self.dtype))
        b = self.constant(f"{name}.bias", np.ascontiguousarray(bias, self.dtype))
        return self.node("Gemm", [x, w, b], f"gemm_{name}", transB=1)


def sequential(graph, model, x="input"):
    """The nodes of model.predict; returns (output tensor, output name)."""
    if model.loss is not None and type(model.loss) not in losses.LOSSES.values():
        raise ValueError(f"export: the loss {type(model.loss).__name__} has no ONNX form; "
                         f"the built-in losses {sorted(losses.LOSSES)} have")
    for i, layer in enumerate(model.layers):
        if type(layer) is not Dense:
            raise ValueError(f"export: layer {i} is a {type(layer).__name__}; only Dense "
                             "layers have an ONNX form")
        x = graph.dense(x, layer.weight.data.T, layer.bias.data, str(i))
        op = activations.get(layer.activation).onnx
        if op is not None:
            x = graph.node(op, [x], f"{layer.activation}_{i}")
    loss = getattr(model.loss, "name", None)
    if loss == "softmax_cross_entropy":
        return graph.node("Softmax", [x], "probabilities", axis=-1), "probabilities"
    if loss == "binary_cross_entropy":
        return graph.node(activations.SIGMOID.onnx, [x], "probabilities"), "probabilities"
    return graph.node("Identity", [x], "output"), "output"


def label(graph, index, classes):
    """Output label = classes[index], shape (batch,), from an int64 index (batch,)."""
    onnx = graph.onnx
    classes = np.asarray(classes)
    if classes.dtype.kind in "US" or classes.dtype == object:
        if not all(isinstance(c, str) for c in classes.tolist()):
            raise ValueError("export: classes_ must be all numbers or all strings; got "
                             f"{classes.tolist()!r}")
        graph.initializers.append(onnx.helper.make_tensor(
            "classes", onnx.TensorProto.STRING, [len(classes)],
            [c.encode() for c in classes.tolist()]))
        elem_type = onnx.TensorProto.STRING
    elif classes.dtype.kind in "biu":
        graph.constant("classes", classes.astype(np.int64))
        elem_type = onnx.TensorProto.INT64
    elif classes.dtype.kind == "f":
        graph.constant("classes", classes.astype(np.float64))
        elem_type = onnx.TensorProto.DOUBLE
    else:
        raise ValueError(f"export: classes_ of dtype {classes.dtype} cannot be stored")
    graph.node("Gather", ["classes", index], "label", axis=0)
    graph.output("label", elem_type, ["batch"])


def argmax(graph, scores):
    return graph.node("ArgMax", [scores], "class_index", axis=1, keepdims=0)


def _build(onnx, model):
    """(graph, input width, metadata) for any model kind the package trains."""
    if isinstance(model, Sequential):
        graph = Graph(onnx, model.dtype)
        out, name = sequential(graph, model)
        graph.output(name, ELEM_TYPES[graph.dtype], ["batch", model.out_features])
        return graph, model.in_features, model.get_config()
    for model_type, build in _EXPORTERS.items():
        if isinstance(model, model_type):
            return build(onnx, model)
    raise TypeError("export: 'model' must be a Sequential or a fitted nnkernels "
                    f"scikit-learn estimator; got {type(model).__name__}")


def to_proto(model, opset=DEFAULT_OPSET):
    """The checked onnx.ModelProto of `model` (see the module notes)."""
    onnx = require("onnx", extra="onnx", feature="nnkernels.onnx.export")
    newest = onnx.defs.onnx_opset_version()
    opset = positive_int("export", "opset", opset)
    if not MIN_OPSET <= opset <= newest:
        raise ValueError(f"export: 'opset' must be in [{MIN_OPSET}, {newest}]; got {opset}")
    graph, n_features, config = _build(onnx, model)
    inputs = [onnx.helper.make_tensor_value_info("input", ELEM_TYPES[graph.dtype],
                                                 ["batch", n_features])]
    proto_graph = onnx.helper.make_graph(graph.nodes, "nnkernels", inputs, graph.outputs,
                                         graph.initializers)
    opsets = [onnx.helper.make_opsetid("", opset)]
    proto = onnx.helper.make_model(
        proto_graph, opset_imports=opsets, producer_name="nnkernels",
        producer_version=version(),
        ir_version=onnx.helper.find_min_ir_version_for(opsets))
    onnx.helper.set_model_props(proto, {"nnkernels.architecture":
                                        json.dumps(config, sort_keys=True)})
    onnx.checker.check_model(proto, full_check=True)
    return proto


def export(model, path, opset=DEFAULT_OPSET):
    """Write `model` to `path` as an ONNX file (atomically; see the module notes).

    Parameters
    ----------
    model : Sequential, or a fitted MLPClassifier, MLPRegressor, LinearRegression or
        LogisticRegression of nnkernels
    path : str or os.PathLike
    opset : int, default 17
        ONNX operator set of the default domain, 13 to the newest onnx knows.

    Returns
    -------
    pathlib.Path of the file written.
    """
    data = to_proto(model, opset).SerializeToString(deterministic=True)
    with atomic_output(path) as f:
        f.write(data)
    return Path(path)
