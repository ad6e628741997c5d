"""What ONNX export and import share: the error type, the optional-extra import, the
limits, and the bounded decoding of an ONNX tensor (inline or external data) into NumPy.

A tensor is decoded only after its declared shape has been checked against the bytes
actually present; external data must lie in the model's folder (no absolute paths, no
``..``, no symbolic link out of it) and inside the file it names.
"""
import math
import os
import stat
from pathlib import Path

import numpy as np

from nnkernels import activations
from nnkernels.formats.errors import ModelFileError
from nnkernels._extras import require

#: A .onnx file larger than this is refused before it is read (protobuf's own 2 GiB
#: limit); together with its external data a model may hold at most MAX_TOTAL_BYTES.
MAX_PROTO_BYTES = 2**31 - 1
MAX_TOTAL_BYTES = 4 * 2**30
#: Graphs of more nodes are refused (an MLP export has tens of nodes).
MAX_NODES = 100_000
MAX_TENSOR_RANK = 8

#: ONNX TensorProto data types the importer decodes, and the field of each.
DTYPES = {1: np.dtype("<f4"), 11: np.dtype("<f8"), 7: np.dtype("<i8"), 6: np.dtype("<i4"),
          9: np.dtype(np.bool_)}
_FIELDS = {1: "float_data", 11: "double_data", 7: "int64_data", 6: "int32_data",
           9: "int32_data"}
TYPE_NAMES = {1: "FLOAT", 2: "UINT8", 3: "INT8", 6: "INT32", 7: "INT64", 9: "BOOL",
              10: "FLOAT16", 11: "DOUBLE", 16: "BFLOAT16"}


class OnnxFileError(ModelFileError):
    """An ONNX file that cannot be read, or a graph that is not an MLP nnkernels can
    represent exactly (the message names the file and the operator or tensor)."""


def attributes(node):
    """{name: value} of a node's attributes: an int, float, list of ints or TensorProto
    by the attribute's type (others: a tuple that equals no valid value)."""
    values = {}
    for attr in node.attribute:
        values[attr.name] = {1: lambda a: a.f, 2: lambda a: a.i, 4: lambda a: a.t,
                             7: lambda a: list(a.ints)}.get(
                                 attr.type, lambda a: ("attribute type", a.type))(attr)
    return values


#: Inputs that the operators the importer reads require.
_REQUIRED_INPUTS = {"Gemm": 2, "MatMul": 2, "Add": 2, "Reshape": 2, "Gather": 2,
                    **dict.fromkeys((*activations.ONNX_OPS, "Softmax", "LogSoftmax",
                                     "Identity", "Dropout", "Cast", "Flatten", "Transpose",
                                     "Shape", "Unsqueeze", "Squeeze", "Concat"), 1)}


def has_required_inputs(node):
    """Whether the node names every input its operator requires (for the operators
    the importer reads; the others are refused or ignored later)."""
    count = _REQUIRED_INPUTS.get(node.op_type, 0)
    return len(node.input) >= count and all(node.input[:count])


def type_name(elem_type):
    return TYPE_NAMES.get(elem_type, f"type {elem_type}")


class TensorReader:
    """Decodes TensorProtos of one model file; counts the external bytes it reads."""

    def __init__(self, path, budget):
        self.path = Path(path)
        self.folder = Path(os.path.realpath(self.path.parent))
        self.budget = budget

    def fail(self, message):
        raise OnnxFileError(f"{self.path}: {message}")

    def decode(self, tensor, what):
        """The ndarray of a TensorProto (FLOAT, DOUBLE, INT64, INT32 or BOOL), read-only."""
        name = f"{what} {tensor.name!r}" if tensor.name else what
        if tensor.data_type not in DTYPES:
            self.fail(f"{name} has data type {type_name(tensor.data_type)}; supported: "
                      "FLOAT, DOUBLE (weights), INT64, INT32 (shapes), BOOL (flags)")
        if tensor.HasField("segment"):
            self.fail(f"{name} is a segmented tensor; not supported")
        dims = list(tensor.dims)
        if len(dims) > MAX_TENSOR_RANK or any(d < 0 for d in dims):
            self.fail(f"{name} has invalid dimensions {dims}")
        count = math.prod(dims)
        dtype = DTYPES[tensor.data_type]
        if tensor.data_location == 1:  # EXTERNAL
            data = self._external(tensor, name, count * dtype.itemsize)
            array = np.frombuffer(data, dtype)
        elif tensor.data_location != 0:
            self.fail(f"{name} has an unknown data_location {tensor.data_location}")
        elif tensor.raw_data:
            if len(tensor.raw_data) != count * dtype.itemsize:
                self.fail(f"{name} declares shape {dims} ({count * dtype.itemsize} bytes) "
                          f"but holds {len(tensor.raw_data)} bytes")
            array = np.frombuffer(tensor.raw_data, dtype)
        else:
            field = getattr(tensor, _FIELDS[tensor.data_type])
            if len(field) != count:
                self.fail(f"{name} declares shape {dims} ({count} values) but holds "
                          f"{len(field)} values")
            array = np.array(field, dtype=dtype)
        return array.reshape(dims).astype(dtype.newbyteorder("="), copy=False)

    def _external(self, tensor, name, nbytes):
        entries = {entry.key: entry.value for entry in tensor.external_data}
        location = entries.get("location", "")
        where = Path(location)
        if not location or where.is_absolute() or where.drive or ".." in where.parts \
                or "\0" in location:
            self.fail(f"{name}: external data location {location!r} must be a relative "
                      "path inside the model's folder")
        target = Path(os.path.realpath(self.folder / where))
        if os.path.commonpath([target, self.folder]) != str(self.folder):
            self.fail(f"{name}: external data {location!r} leads out of the model's folder")
        offset = self._int_entry(entries, "offset", name, 0)
        length = self._int_entry(entries, "length", name, nbytes)
        if length != nbytes:
            self.fail(f"{name}: external data length {length} does not match its shape "
                      f"({nbytes} bytes)")
        try:
            with open(target, "rb") as f:
                info = os.fstat(f.fileno())
                if not stat.S_ISREG(info.st_mode):
                    self.fail(f"{name}: external data {location!r} is not a regular file")
                if offset + nbytes > info.st_size:
                    self.fail(f"{name}: external data {location!r} holds {info.st_size} "
                              f"bytes; the tensor needs bytes {offset}..{offset + nbytes}")
                if nbytes > self.budget:
                    self.fail(f"{name}: external data exceeds the size limit "
                              f"(max_bytes); {nbytes} bytes more than allowed")
                self.budget -= nbytes
                f.seek(offset)
                data = f.read(nbytes)
        except OSError as error:
            self.fail(f"{name}: cannot read external data {location!r}: {error.strerror}")
        if len(data) != nbytes:
            self.fail(f"{name}: external data {location!r} ended early")
        return data

    def _int_entry(self, entries, key, name, default):
        value = entries.get(key)
        if value is None:
            return default
        if not value.isdigit() or len(value) > 18:
            self.fail(f"{name}: external data {key} {value!r} is not a byte count")
        return int(value)


def read_model(path, max_bytes=MAX_TOTAL_BYTES):
    """Parse the ModelProto in `path` (external data not loaded); OnnxFileError on
    anything that is not a readable ONNX protobuf of at most `max_bytes`."""
    onnx = require("onnx", extra="onnx", feature="nnkernels.onnx.load")
    path = Path(path)
    try:
        with open(path, "rb") as f:
            size = os.fstat(f.fileno()).st_size
            if size > min(max_bytes, MAX_PROTO_BYTES):
                raise OnnxFileError(f"{path}: {size} bytes; larger than the limit of "
                                    f"{min(max_bytes, MAX_PROTO_BYTES)} bytes (max_bytes)")
            data = f.read(size + 1)
    except OSError as error:
        raise OnnxFileError(f"{path}: cannot read the file: {error.strerror}") from None
    if len(data) != size:
        raise OnnxFileError(f"{path}: the file changed while it was read")
    model = onnx.ModelProto()
    try:
        model.ParseFromString(data)
    except Exception as error:  # noqa: BLE001 - protobuf's DecodeError and its kin
        raise OnnxFileError(f"{path}: not an ONNX model (protobuf: {error})") from None
    if not model.HasField("graph"):
        raise OnnxFileError(f"{path}: not an ONNX model (no graph)")
    if not _names_are_text(model):
        raise OnnxFileError(f"{path}: a name in the graph is not valid UTF-8")
    return model, max_bytes - size


def _names_are_text(model):
    """Whether every name the importer reads is a str (protobuf gives bytes for a
    string field that is not valid UTF-8)."""
    graph = model.graph
    names = [model.producer_name, model.producer_version,
             *(o.domain for o in model.opset_import),
             *(v.name for v in (*graph.input, *graph.output)),
             *(v.type.tensor_type.shape.dim[k].dim_param for v in graph.input
               for k in range(len(v.type.tensor_type.shape.dim)))]
    for tensor in graph.initializer:
        names += [tensor.name, *(e.key for e in tensor.external_data),
                  *(e.value for e in tensor.external_data)]
    for node in graph.node:
        names += [node.name, node.op_type, node.domain, *node.input, *node.output,
                  *(a.name for a in node.attribute)]
        for attr in node.attribute:
            if attr.type == 4:  # a Constant's tensor
                names += [attr.t.name, *(e.key for e in attr.t.external_data),
                          *(e.value for e in attr.t.external_data)]
    return all(isinstance(name, str) for name in names)
