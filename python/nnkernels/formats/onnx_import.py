"""Import an MLP from an ONNX file as a :class:`nnkernels.Sequential`.

The graph is read as other tools export MLPs: PyTorch's TorchScript exporter (``Gemm``,
``transB=1``) and dynamo exporter (``Gemm``, or ``Transpose`` + ``MatMul`` + ``Add``),
Keras 3 ``model.export(format="onnx")`` and tf2onnx (``MatMul`` + ``Add``, ``Cast``,
``Flatten`` or ``Reshape``, including a shape computed by ``Shape``/``Gather``/
``Unsqueeze``/``Concat``), skl2onnx's ``MLPClassifier`` (``zipmap=False``; its ``label``
branch is ignored), and nnkernels' own export. Weights may be initializers, ``Constant``
nodes or external data (confined to the model's folder).

The path from the graph input to the chosen output must be a chain: every node on it
takes exactly one computed input. Its nodes must read as Dense layers
``act(x @ W + b)`` with act ``Relu``, ``Sigmoid`` or none, then optionally ``Softmax`` or
``LogSoftmax`` over the last axis; ``Identity``, ``Dropout`` (inference) and ``Cast`` to
the computation's dtype pass through, and an input of shape (batch, d1, d2, ...) may be
flattened first. Anything else raises :class:`OnnxFileError` naming the operator and the
node: an import is exact or refused.

A Softmax or LogSoftmax output gives a classifier (softmax cross-entropy): ``predict``
returns probabilities (for LogSoftmax, the exp of the ONNX output; same argmax). Other
outputs give a model compiled with the MSE loss whose ``predict`` is the ONNX output.
``model.metadata["onnx"]`` records the producer, opset, input shape and output.
"""
import numpy as np

from nnkernels import activations
from nnkernels.formats.onnx_common import (MAX_NODES, MAX_TOTAL_BYTES, OnnxFileError,
                                           TensorReader, attributes, has_required_inputs,
                                           read_model, type_name)
from nnkernels.formats.onnx_shapes import ShapeEvaluator
from nnkernels.layers import Dense
from nnkernels.sequential import Sequential

MIN_OPSET = 9
_FLOAT_TYPES = {1: np.dtype(np.float32), 11: np.dtype(np.float64)}
_PASS_THROUGH = ("Identity", "Dropout")
_LINEAR = ("Gemm", "MatMul", "Add")
_ACTIVATIONS = tuple(activations.ONNX_OPS)  # Relu, Sigmoid
# the classifier's output: the softmax cross-entropy loss, not a layer activation
_OUTPUTS = {"Softmax": "softmax", "LogSoftmax": "log_softmax"}
_RESHAPES = ("Flatten", "Reshape")
SUPPORTED = (*_LINEAR, *_ACTIVATIONS, *_OUTPUTS, *_PASS_THROUGH, "Cast", *_RESHAPES)


class _Graph:
    """The graph's tensors: which are constants, which are computed from the input."""

    def __init__(self, path, proto, reader):
        self.path, self.reader = path, reader
        graph = proto.graph
        self.opset = next((o.version for o in proto.opset_import
                           if o.domain in ("", "ai.onnx")), None)
        if self.opset is None or self.opset < MIN_OPSET:
            self.fail(f"default-domain opset {self.opset} is not supported (at least "
                      f"{MIN_OPSET})")
        if len(graph.node) > MAX_NODES:
            self.fail(f"{len(graph.node)} nodes; more than the limit of {MAX_NODES}")
        self.initializers = {}
        for tensor in graph.initializer:
            if tensor.name in self.initializers:
                self.fail(f"initializer {tensor.name!r} is defined twice")
            self.initializers[tensor.name] = tensor
        inputs = [v for v in graph.input if v.name not in self.initializers]
        if len(inputs) != 1:
            self.fail(f"the graph has {len(inputs)} inputs "
                      f"({', '.join(v.name for v in inputs)}); an MLP has one")
        self.input = inputs[0]
        self.kind = {name: "const" for name in self.initializers}
        self.kind[self.input.name] = "data"
        self.producer, self.constants = {}, {}
        for i, node in enumerate(graph.node):
            self._add_node(i, node)

    def fail(self, message):
        raise OnnxFileError(f"{self.path}: {message}")

    def _add_node(self, i, node):
        label = node_label(i, node)
        if not has_required_inputs(node):
            self.fail(f"{label} lacks a required input")
        for name in node.input:
            if name and name not in self.kind:
                self.fail(f"{label} reads {name!r}, which no earlier node, initializer or "
                          "input defines (the graph must be topologically sorted)")
        kinds = {self.kind[name] for name in node.input if name}
        if node.op_type == "Shape":
            kind = "shape"
        elif "data" in kinds:
            kind = "data"
        elif "shape" in kinds:
            kind = "shape"
        else:
            kind = "const"
        for name in node.output:
            if not name:
                continue
            if name in self.kind:
                self.fail(f"{label} writes {name!r}, which is already defined")
            self.kind[name] = kind
            self.producer[name] = (i, node)

    def constant(self, name, what):
        """The value of a constant tensor (initializer, Constant node or a folded
        Identity, Cast or Transpose of constants)."""
        if name in self.constants:
            return self.constants[name]
        if self.kind.get(name) != "const":
            self.fail(f"{what} {name!r} must be a constant (a weight); it is computed "
                      "from the input")
        if name in self.initializers:
            value = self.reader.decode(self.initializers[name], "initializer")
        else:
            value = self._fold(*self.producer[name], what)
        self.constants[name] = value
        return value

    def _fold(self, i, node, what):
        label = node_label(i, node)
        if node.domain not in ("", "ai.onnx"):
            self.fail(f"operator {node.domain}::{node.op_type} ({label}) is not supported")
        attrs = attributes(node)
        if node.op_type == "Constant":
            if not isinstance(attrs.get("value"), _tensor_proto()):
                self.fail(f"{label}: only Constant nodes with a 'value' tensor are supported")
            return self.reader.decode(attrs["value"], f"{label} value")
        if node.op_type not in ("Identity", "Cast", "Transpose"):
            self.fail(f"operator {node.op_type} ({label}) on constants is not supported")
        value = self.constant(node.input[0], what)
        if node.op_type == "Cast":
            to = attrs.get("to")
            if to not in _FLOAT_TYPES and to not in (6, 7):
                self.fail(f"{label}: Cast to {type_name(to)} is not supported")
            return value.astype({6: np.int32, 7: np.int64}.get(to) or _FLOAT_TYPES[to])
        if node.op_type == "Transpose":
            perm = attrs.get("perm")
            if value.ndim != 2 or perm not in (None, [1, 0], [0, 1]):
                self.fail(f"{label}: only 2-D transposes of weights are supported")
            return value if perm == [0, 1] else value.T
        return value

    def chain(self, output):
        """The nodes from the graph input to `output`, in order."""
        nodes, name = [], output
        while name != self.input.name:
            if self.kind.get(name) != "data":
                self.fail(f"output {output!r} does not depend on the input")
            i, node = self.producer[name]
            data = [x for x in node.input if x and self.kind[x] == "data"]
            if len(data) != 1:
                self.fail(f"the graph is not a chain: {node_label(i, node)} combines "
                          f"{len(data)} computed inputs ({', '.join(data)})")
            nodes.append((i, node, data[0], name))
            name = data[0]
        return nodes[::-1]


def _tensor_proto():
    import onnx
    return onnx.TensorProto


def node_label(i, node):
    return f"node {node.name or '#' + str(i)} ({node.op_type})"


def _pick_output(graph, proto, output):
    outputs = [v.name for v in proto.graph.output]
    if output is not None:
        if output not in outputs:
            graph.fail(f"no output {output!r}; the outputs are {outputs}")
        return output
    floats = [v.name for v in proto.graph.output
              if v.type.tensor_type.elem_type in _FLOAT_TYPES]
    if len(floats) == 1:
        return floats[0]
    if "probabilities" in floats:
        return "probabilities"
    graph.fail(f"{len(floats)} floating-point outputs {floats}; choose one with output=")


def _input_shape(graph):
    tensor_type = graph.input.type.tensor_type
    if tensor_type.elem_type not in _FLOAT_TYPES and tensor_type.elem_type not in (2, 3, 6, 7):
        graph.fail(f"input {graph.input.name!r} has type {type_name(tensor_type.elem_type)}")
    dims = [d.dim_value if d.HasField("dim_value") else None
            for d in tensor_type.shape.dim]
    if len(dims) < 2 or any(d is not None and d < 1 for d in dims[1:]) \
            or (len(dims) > 2 and None in dims[1:]):
        graph.fail(f"input {graph.input.name!r} must have shape (batch, features...) with "
                   f"fixed feature sizes; got {dims}")
    return ["N", *dims[1:]], tensor_type.elem_type


class _Builder:
    """Reads the chain's nodes one by one into Dense layers."""

    def __init__(self, graph, shape, elem_type):
        self.graph, self.shape = graph, shape
        self.dtype = _FLOAT_TYPES.get(elem_type)
        self.layers = []  # [weight (in, out), bias (out,) or None, activation]
        self.output = None  # "softmax", "log_softmax" or None
        self.shapes = {graph.input.name: list(shape)}
        self.last = None  # the last operator other than Identity, Dropout and Cast

    def fail(self, label, message):
        self.graph.fail(f"{label}: {message}")

    def step(self, i, node, data, out):
        label = node_label(i, node)
        op = node.op_type
        if node.domain not in ("", "ai.onnx") or op not in SUPPORTED:
            self.graph.fail(f"operator {(node.domain + '::') if node.domain else ''}{op} "
                            f"({label}) is not supported; supported: {', '.join(SUPPORTED)}")
        if out != node.output[0]:
            self.fail(label, f"the chain continues from its output {out!r}, not its first")
        attrs = attributes(node)
        if self.output is not None and op not in (*_PASS_THROUGH, "Cast", "Flatten"):
            self.fail(label, f"{op} after the {self.output} output cannot be represented")
        if op in _LINEAR:
            self._linear(label, op, node, data, attrs)
        elif op in _ACTIVATIONS or op in _OUTPUTS:
            self._activation(label, op, attrs)
        elif op == "Cast":
            self._cast(label, attrs)
        elif op == "Dropout":
            self._dropout(label, node)
        elif op in _RESHAPES:
            self._reshape(label, op, node, attrs)
        self.shapes[out] = list(self.shape)
        if op not in _PASS_THROUGH and op != "Cast":
            self.last = op

    def _features(self, label, op):
        if len(self.shape) != 2:
            self.fail(label, f"{op} of a {len(self.shape)}-D tensor {self.shape}; an MLP "
                             "takes (batch, features) here")
        return self.shape[1]

    def _weight(self, label, name, what):
        value = self.graph.constant(name, f"{label} {what}")
        if value.dtype not in _FLOAT_TYPES.values():
            self.fail(label, f"{what} {name!r} has dtype {value.dtype}")
        if self.dtype is not None and value.dtype != self.dtype:
            self.fail(label, f"{what} {name!r} is {value.dtype} but the computation is "
                             f"{self.dtype}")
        self.dtype = value.dtype
        return value

    def _bias(self, label, name, n_out, scale=1.0):
        b = self._weight(label, name, "bias")
        if b.size not in (1, n_out) or (b.ndim == 2 and b.shape[0] != 1) or b.ndim > 2:
            self.fail(label, f"bias {name!r} of shape {b.shape} does not broadcast to "
                             f"(batch, {n_out})")
        b = np.broadcast_to(b.reshape(-1), (n_out,))
        return b * b.dtype.type(scale) if scale != 1.0 else b

    def _linear(self, label, op, node, data, attrs):
        inputs = list(node.input)
        if op == "Add":
            if self.last not in ("MatMul", "Gemm") or self.layers[-1][1] is not None:
                self.fail(label, "an Add must follow a MatMul (or Gemm) that has no bias")
            other = inputs[1] if inputs[0] == data else inputs[0]
            self.layers[-1][1] = self._bias(label, other, self.layers[-1][0].shape[1])
            return
        if inputs[0] != data:
            self.fail(label, f"{op} must take the computed tensor as its first input")
        n_in = self._features(label, op)
        w = self._weight(label, inputs[1], "weight")
        if op == "Gemm":
            for key, allowed in (("transA", (0,)), ("alpha", (1.0,)), ("transB", (0, 1))):
                value = attrs.get(key, allowed[0])
                if value not in allowed:
                    self.fail(label, f"Gemm with {key}={value} is not supported")
            if attrs.get("transB") == 1:
                w = w.T if w.ndim == 2 else w
        if w.ndim != 2 or (n_in is not None and w.shape[0] != n_in):
            self.fail(label, f"weight {inputs[1]!r} of shape {w.shape} does not multiply "
                             f"(batch, {n_in})")
        bias = None
        if op == "Gemm" and len(inputs) > 2 and inputs[2]:
            beta = attrs.get("beta", 1.0)
            if not isinstance(beta, float):
                self.fail(label, f"Gemm beta {beta!r}")
            # beta = 0: C is not read (onnxruntime skips it; 0 * inf would be nan)
            bias = self._bias(label, inputs[2], w.shape[1], beta) if beta != 0 else None
        self.layers.append([w, bias, None])
        self.shape = ["N", w.shape[1]]

    def _activation(self, label, op, attrs):
        if op in _ACTIVATIONS:
            if not self.layers or self.last not in _LINEAR or self.layers[-1][2] is not None:
                self.fail(label, f"{op} must follow a linear layer (MatMul/Gemm + Add)")
            self.layers[-1][2] = activations.from_onnx_op(op).name
            return
        # the classifier's output: softmax of the last layer's output, as predict gives
        if not self.layers or self.last not in (*_LINEAR, *_ACTIVATIONS):
            self.fail(label, f"{op} must follow a layer (MatMul/Gemm + Add, activation)")
        axis = attrs.get("axis", 1 if self.graph.opset < 13 else -1)
        if axis not in (1, -1):
            self.fail(label, f"{op} over axis {axis}; only the class axis (1 or -1) is "
                             "supported")
        self.output = _OUTPUTS[op]

    def _cast(self, label, attrs):
        to = attrs.get("to")
        if not self.layers and to in _FLOAT_TYPES:
            self.dtype = _FLOAT_TYPES[to]  # the input's conversion, done by predict
        elif _FLOAT_TYPES.get(to) != self.dtype:
            self.fail(label, f"Cast to {type_name(to)} inside a {self.dtype} network "
                             "changes the computation; not supported")

    def _dropout(self, label, node):
        if len(node.input) > 2 and node.input[2]:
            mode = self.graph.constant(node.input[2], f"{label} training_mode")
            if mode.size != 1 or bool(mode.reshape(-1)[0]):
                self.fail(label, "Dropout in training mode")

    def _reshape(self, label, op, node, attrs):
        features = self.shape[1:]
        if None in features and len(features) > 1:
            self.fail(label, f"{op} of a tensor of unknown shape {self.shape}")
        flat = ["N", int(np.prod(features)) if None not in features else None]
        if op == "Flatten":
            axis = attrs.get("axis", 1)
            if axis not in (1, 1 - len(self.shape)):
                self.fail(label, f"Flatten with axis {axis} mixes the batch into the "
                                 "features")
        else:
            target = ShapeEvaluator(self.graph, self.shapes).vector(node.input[1], label)
            allowzero = attrs.get("allowzero", 0) == 1
            target = [self.shape[k] if t == 0 and not allowzero and k < len(self.shape)
                      else t for k, t in enumerate(target)]
            if len(target) != 2 or not (target[0] == "N" and target[1] in (flat[1], -1)
                                        or target[0] == -1 and target[1] == flat[1]):
                self.fail(label, f"Reshape of {self.shape} to {target}: only flattening "
                                 "to (batch, features) is supported")
        self.shape = flat


def load(path, *, output=None, max_bytes=MAX_TOTAL_BYTES):
    """Read the MLP of an ONNX file (see the module notes for what is accepted).

    Parameters
    ----------
    path : str or os.PathLike
    output : str, optional
        The graph output to import (default: the only floating-point output, else
        ``probabilities``).
    max_bytes : int
        Limit on the file plus its external data (default 4 GiB).

    Returns
    -------
    Sequential, float32 or float64 as the weights; input (batch, prod(d1, d2, ...)).

    Raises
    ------
    OnnxFileError (a ModelFileError, a ValueError)
        Unreadable file, or a graph that is not such an MLP; the message names the
        operator and the node.
    """
    proto, budget = read_model(path, max_bytes)
    graph = _Graph(path, proto, TensorReader(path, budget))
    name = _pick_output(graph, proto, output)
    shape, elem_type = _input_shape(graph)
    builder = _Builder(graph, shape, elem_type)
    for step in graph.chain(name):
        builder.step(*step)
    if not builder.layers:
        graph.fail(f"no linear layer between the input and output {name!r}")
    layers = []
    for k, (w, b, activation) in enumerate(builder.layers):
        layer = Dense(w.shape[0], w.shape[1], activation, init="zeros", dtype=w.dtype)
        layer.weight.data[...] = w
        if b is not None:
            layer.bias.data[...] = b
        layers.append(layer)
    try:
        model = Sequential(layers)
    except ValueError as error:
        graph.fail(f"the layers do not fit together: {error}")
    model.compile("rmsprop", "softmax_cross_entropy" if builder.output else "mse")
    dims = [d.dim_param or d.dim_value or None
            for d in graph.input.type.tensor_type.shape.dim]
    model.metadata = {"onnx": {"producer": f"{proto.producer_name} {proto.producer_version}"
                               .strip(), "opset": graph.opset, "input": graph.input.name,
                               "input_shape": dims, "output": name,
                               "output_kind": builder.output or "linear"}}
    return model
