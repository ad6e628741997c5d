"""The Open Inference Protocol (KServe v2) REST messages: decoding an inference request
(JSON tensors, or Triton's binary tensor data extension) into one array of rows, and
encoding the answer the same way the request asked for it.

Only this module knows the wire format; it needs NumPy and orjson (a JSON parser in
Rust: it reads a JSON image five times faster than the standard library's json, which
was the largest cost of a batch-1 request on the event loop), not a server, so that it
can be tested (and fuzzed) alone.
"""
import orjson
import numpy as np

__all__ = ["ProtocolError", "ModelSpec", "InferRequest", "decode_infer_request",
           "encode_infer_response", "HEADER_LENGTH"]

#: Triton's binary tensor data extension: the length of the JSON header that starts
#: the body; binary tensors follow it, in the order of the inputs that declare them.
HEADER_LENGTH = "inference-header-content-length"

#: The datatypes an input may come in: the model's floats. Integer pixels would need a
#: scale the protocol cannot say, so they are refused rather than guessed.
_FLOAT_TYPES = {"FP16": np.dtype("<f2"), "FP32": np.dtype("<f4"), "FP64": np.dtype("<f8")}
_NUMPY_TO_V2 = {np.dtype(np.float32): "FP32", np.dtype(np.float64): "FP64",
                np.dtype(np.int64): "INT64"}


_NUMBER_TYPES = {float, int}


class ProtocolError(Exception):
    """A request the server refuses: `status` (400, 404, 413, 503...) and a message
    that says what was expected and what came."""

    def __init__(self, status, message):
        super().__init__(message)
        self.status = status
        self.message = message


class ModelSpec:
    """What the protocol needs to know about a served model: its name, the name and
    width of its one input, the name and width of its one output, and its dtype."""

    def __init__(self, name, in_features, out_features, dtype, input_name="input",
                 output_name="output", version="1"):
        self.name, self.version = name, version
        self.in_features, self.out_features = int(in_features), int(out_features)
        self.dtype = np.dtype(dtype)
        self.input_name, self.output_name = input_name, output_name

    def metadata(self, platform):
        """The model metadata answer: -1 for the batch dimension."""
        v2 = _NUMPY_TO_V2.get(self.dtype, "FP32")
        return {"name": self.name, "versions": [self.version], "platform": platform,
                "inputs": [{"name": self.input_name, "datatype": v2,
                            "shape": [-1, self.in_features]}],
                "outputs": [{"name": self.output_name, "datatype": v2,
                             "shape": [-1, self.out_features]}]}


class InferRequest:
    """A decoded inference request: `x` (rows, in_features) of the model's dtype, the
    request's `id` (or None), and whether the output goes back as binary data."""

    __slots__ = ("x", "id", "binary_output")

    def __init__(self, x, id_, binary_output):
        self.x, self.id, self.binary_output = x, id_, binary_output


def _bad(message):
    return ProtocolError(400, message)


def _parse_json(data, what):
    # orjson refuses what is not JSON: NaN, Infinity, numbers beyond a double's range,
    # text that is not UTF-8, nesting deeper than 1024
    try:
        return orjson.loads(data)
    except orjson.JSONDecodeError as error:
        raise _bad(f"{what} is not valid JSON (UTF-8): {error}") from None


def _shape(value, where):
    if not isinstance(value, list) or not all(
            isinstance(d, int) and not isinstance(d, bool) for d in value):
        raise _bad(f"{where}: 'shape' must be a list of integers; got {_short(value)}")
    return value


def _short(value, limit=80):
    text = repr(value)
    return text if len(text) <= limit else text[:limit] + "..."


def _flat_numbers(data, count, dtype, where):
    """The JSON 'data' of an input (flat or nested lists of numbers) as a flat array."""
    if not isinstance(data, list):
        raise _bad(f"{where}: 'data' must be a list of numbers; got {_short(data)}")
    if data and isinstance(data[0], list):  # nested, row-major: flatten one level at a time
        flat = data
        while flat and isinstance(flat[0], list):
            if not all(isinstance(row, list) for row in flat):
                raise _bad(f"{where}: 'data' mixes lists and numbers")
            flat = [v for row in flat for v in row]
            if len(flat) > count:
                break
        data = flat
    if len(data) != count:
        raise _bad(f"{where}: 'data' holds {len(data)} values; the shape needs {count}")
    kinds = set(map(type, data))  # np.asarray would take strings, booleans and None
    if not kinds <= _NUMBER_TYPES:
        odd = next(v for v in data if type(v) not in _NUMBER_TYPES)
        raise _bad(f"{where}: 'data' must hold numbers only; got {_short(odd)}")
    try:
        with np.errstate(over="ignore"):  # an overflow is refused below, as infinity
            return np.asarray(data, dtype=np.float64).astype(dtype, copy=False)
    except (OverflowError, ValueError) as error:
        raise _bad(f"{where}: 'data' does not fit the datatype: {error}") from None


def decode_infer_request(body, spec, header_length=None, max_rows=None):
    """An InferRequest from the body of ``POST /v2/models/{name}/infer``.

    Parameters
    ----------
    body : bytes
        A JSON request, or with `header_length` a JSON header followed by the binary
        tensors it declares (``parameters.binary_data_size``).
    spec : ModelSpec
    header_length : str or None
        The ``Inference-Header-Content-Length`` header, when present.
    max_rows : int or None
        The most rows one request may hold.

    Returns
    -------
    InferRequest

    Raises
    ------
    ProtocolError
        400 for anything but one finite float tensor of shape (n, in_features), n >= 1,
        named as the model's input, with outputs the model has.
    """
    if header_length is not None:
        try:
            n_head = int(header_length)
        except ValueError:
            raise _bad(f"the Inference-Header-Content-Length header must be an integer; "
                       f"got {_short(header_length)}") from None
        if not 0 < n_head <= len(body):
            raise _bad(f"the Inference-Header-Content-Length header says {n_head} bytes; the "
                       f"body has {len(body)}")
        head, binary = body[:n_head], memoryview(body)[n_head:]
    else:
        head, binary = body, memoryview(b"")
    request = _parse_json(head, "the request" if header_length is None else
                          "the request's JSON header")
    if not isinstance(request, dict):
        raise _bad(f"the request must be a JSON object; got {type(request).__name__}")
    id_ = request.get("id")
    if id_ is not None and not isinstance(id_, str):
        raise _bad(f"'id' must be a string; got {_short(id_)}")
    params = request.get("parameters") or {}
    if not isinstance(params, dict):
        raise _bad(f"'parameters' must be an object; got {_short(params)}")
    inputs = request.get("inputs")
    if not isinstance(inputs, list) or len(inputs) != 1 or not isinstance(inputs[0], dict):
        raise _bad(f"'inputs' must be a list of one tensor object ({spec.input_name!r}); "
                   f"got {_short(inputs)}")
    tensor = inputs[0]
    name = tensor.get("name")
    if name != spec.input_name:
        raise _bad(f"model {spec.name!r} has one input, {spec.input_name!r}; got "
                   f"{_short(name)}")
    where = f"input {name!r}"
    datatype = tensor.get("datatype")
    if not isinstance(datatype, str) or datatype not in _FLOAT_TYPES:
        raise _bad(f"{where}: 'datatype' must be one of {', '.join(_FLOAT_TYPES)}; got "
                   f"{_short(datatype)}")
    shape = _shape(tensor.get("shape"), where)
    if len(shape) != 2 or shape[1] != spec.in_features or shape[0] < 1:
        raise _bad(f"{where}: 'shape' must be [n, {spec.in_features}] with n >= 1; got "
                   f"{shape}")
    rows = shape[0]
    if max_rows is not None and rows > max_rows:
        raise ProtocolError(413, f"{where}: {rows} rows; this server takes at most "
                                 f"{max_rows} in one request")
    count = rows * spec.in_features
    tparams = tensor.get("parameters") or {}
    if not isinstance(tparams, dict):
        raise _bad(f"{where}: 'parameters' must be an object; got {_short(tparams)}")
    size = tparams.get("binary_data_size")
    wire = _FLOAT_TYPES[datatype]
    if size is not None:
        if header_length is None:
            raise _bad(f"{where}: 'binary_data_size' needs the Inference-Header-Content-Length "
                       "header")
        if "data" in tensor:
            raise _bad(f"{where}: both 'data' and 'binary_data_size'")
        if isinstance(size, bool) or not isinstance(size, int) or \
                size != count * wire.itemsize:
            raise _bad(f"{where}: 'binary_data_size' must be {count * wire.itemsize} "
                       f"({datatype}, shape {shape}); got {_short(size)}")
        if len(binary) != size:
            raise _bad(f"{where}: the body holds {len(binary)} bytes after the JSON header; "
                       f"'binary_data_size' says {size}")
        with np.errstate(over="ignore"):
            x = np.frombuffer(binary, dtype=wire).astype(spec.dtype)
    else:
        if len(binary):
            raise _bad(f"{len(binary)} bytes follow the JSON header, but no input declares "
                       "'binary_data_size'")
        if "data" not in tensor:
            raise _bad(f"{where}: no 'data' (nor 'binary_data_size')")
        x = _flat_numbers(tensor["data"], count, spec.dtype, where)
    x = x.reshape(rows, spec.in_features)
    if not np.isfinite(x).all():
        raise _bad(f"{where}: holds NaN or infinite values (as {datatype}); the model "
                   "takes finite numbers only")
    binary_output = _binary_output(request, params, spec)
    return InferRequest(x, id_, binary_output)


def _binary_output(request, params, spec):
    """Whether the output goes back as binary data: the request's 'binary_data_output'
    parameter, or its output's 'binary_data' parameter."""
    binary = params.get("binary_data_output", False)
    if not isinstance(binary, bool):
        raise _bad(f"'binary_data_output' must be true or false; got {_short(binary)}")
    outputs = request.get("outputs")
    if outputs is None:
        return binary
    if not isinstance(outputs, list):
        raise _bad(f"'outputs' must be a list; got {_short(outputs)}")
    for out in outputs:
        if not isinstance(out, dict) or out.get("name") != spec.output_name:
            got = out.get("name") if isinstance(out, dict) else out
            raise _bad(f"model {spec.name!r} has one output, {spec.output_name!r}; "
                       f"'outputs' asks for {_short(got)}")
        oparams = out.get("parameters") or {}
        if not isinstance(oparams, dict):
            raise _bad(f"output {spec.output_name!r}: 'parameters' must be an object")
        flag = oparams.get("binary_data", binary)
        if not isinstance(flag, bool):
            raise _bad(f"output {spec.output_name!r}: 'binary_data' must be true or false; "
                       f"got {_short(flag)}")
        binary = flag
    return binary


def encode_infer_response(spec, request, y):
    """(body bytes, headers dict) answering `request` with the outputs `y` (rows,
    out_features): JSON, or a JSON header and the raw little-endian output."""
    y = np.ascontiguousarray(y, dtype=y.dtype.newbyteorder("<"))
    out = {"name": spec.output_name, "datatype": _NUMPY_TO_V2.get(spec.dtype, "FP32"),
           "shape": list(y.shape)}
    answer = {"model_name": spec.name, "model_version": spec.version}
    if request.id is not None:
        answer["id"] = request.id
    answer["outputs"] = [out]
    if request.binary_output:
        raw = y.tobytes()
        out["parameters"] = {"binary_data_size": len(raw)}
        head = orjson.dumps(answer)
        return head + raw, {HEADER_LENGTH: str(len(head)),
                            "content-type": "application/octet-stream"}
    if not np.isfinite(y).all():
        raise ProtocolError(500, "the model's output holds NaN or infinite values, which "
                                 "JSON cannot carry (ask for binary_data)")
    out["data"] = y.ravel()  # float32 as the shortest text that reads back the same
    return (orjson.dumps(answer, option=orjson.OPT_SERIALIZE_NUMPY),
            {"content-type": "application/json"})


def error_body(message):
    """The protocol's error answer, as bytes."""
    return orjson.dumps({"error": message})

