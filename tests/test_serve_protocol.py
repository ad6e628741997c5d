"""The Open Inference Protocol messages of nnkernels.serve (no server): decoding JSON and
binary requests, refusing bad ones with a 4xx ProtocolError and nothing else (fuzzed
with hypothesis), encoding answers that tritonclient reads."""
import json

import numpy as np
import pytest
from hypothesis import given, strategies as st

from conftest import require

require("orjson", 'pip install "nnkernels[serve]"')

from nnkernels.serve._protocol import (ModelSpec, ProtocolError,  # noqa: E402
                                       decode_infer_request, encode_infer_response)

SPEC = ModelSpec("m", 4, 3, np.float32, output_name="probabilities")


def body(data=None, shape=(2, 4), datatype="FP32", name="input", **extra):
    tensor = {"name": name, "shape": list(shape), "datatype": datatype}
    if data is not None:
        tensor["data"] = data
    return json.dumps({"inputs": [tensor], **extra}).encode()


def binary_body(x, datatype="FP32", outputs=None, size=None):
    head = json.dumps({"inputs": [{"name": "input", "shape": list(x.shape),
                                   "datatype": datatype,
                                   "parameters": {"binary_data_size":
                                                  x.nbytes if size is None else size}}],
                       **({"outputs": outputs} if outputs else {})}).encode()
    return head + x.tobytes(), str(len(head))


def test_json_flat_and_nested_decode_to_the_same_rows():
    x = np.arange(8, dtype=np.float32).reshape(2, 4) / 7
    flat = decode_infer_request(body(x.ravel().tolist()), SPEC)
    nested = decode_infer_request(body(x.tolist()), SPEC)
    np.testing.assert_array_equal(flat.x, x)
    np.testing.assert_array_equal(nested.x, x)
    assert flat.x.dtype == np.float32 and not flat.binary_output and flat.id is None


@pytest.mark.parametrize("datatype, wire", [("FP32", "<f4"), ("FP64", "<f8"), ("FP16", "<f2")])
def test_binary_tensors_decode_exactly(datatype, wire):
    x = (np.arange(12).reshape(3, 4) / 11).astype(wire)
    data, head = binary_body(x, datatype)
    request = decode_infer_request(data, SPEC, head)
    np.testing.assert_array_equal(request.x, x.astype(np.float32))


def test_binary_output_is_asked_per_output_or_for_the_request():
    x = np.zeros((1, 4), np.float32)
    data, head = binary_body(x, outputs=[{"name": "probabilities",
                                          "parameters": {"binary_data": True}}])
    assert decode_infer_request(data, SPEC, head).binary_output
    asked = body([0] * 4, shape=(1, 4), parameters={"binary_data_output": True})
    assert decode_infer_request(asked, SPEC).binary_output


def test_answers_round_trip_json_and_binary():
    y = np.array([[0.25, 0.5, 0.25]], np.float32)
    req = decode_infer_request(body([1, 2, 3, 4], shape=(1, 4), id="abc"), SPEC)
    content, headers = encode_infer_response(SPEC, req, y)
    answer = json.loads(content)
    assert answer["id"] == "abc" and answer["model_name"] == "m"
    assert answer["outputs"] == [{"name": "probabilities", "datatype": "FP32",
                                  "shape": [1, 3], "data": [0.25, 0.5, 0.25]}]
    req.binary_output = True
    content, headers = encode_infer_response(SPEC, req, y)
    n = int(headers["inference-header-content-length"])
    head = json.loads(content[:n])
    assert head["outputs"][0]["parameters"] == {"binary_data_size": 12}
    np.testing.assert_array_equal(np.frombuffer(content[n:], "<f4").reshape(1, 3), y)


BAD = {
    "not JSON": (b"{inputs", None, "not valid JSON"),
    "not UTF-8": (b"\xff\xfe", None, "UTF-8"),
    "a list": (b"[]", None, "JSON object"),
    "no inputs": (b"{}", None, "'inputs'"),
    "two inputs": (json.dumps({"inputs": [{}, {}]}).encode(), None, "one tensor"),
    "wrong name": (body([0] * 8, name="input-0"), None, "'input'"),
    "wrong datatype": (body([0] * 8, datatype="INT32"), None, "'datatype'"),
    "datatype a list": (body([0] * 8, datatype=[]), None, "'datatype'"),
    "datatype an object": (body([0] * 8, datatype={"FP32": 1}), None, "'datatype'"),
    "wrong width": (body([0] * 10, shape=(2, 5)), None, "[n, 4]"),
    "no rows": (body([], shape=(0, 4)), None, "n >= 1"),
    "three dims": (body([0] * 8, shape=(2, 4, 1)), None, "[n, 4]"),
    "shape of strings": (body([0] * 8, shape=("2", 4)), None, "integers"),
    "too few values": (body([0] * 7), None, "holds 7 values"),
    "too many values": (body([0] * 9), None, "holds 9 values"),
    "a string value": (body([0] * 7 + ["1"]), None, "numbers only"),
    "a boolean value": (body([True] * 8), None, "numbers only"),
    "a null value": (body([None] * 8), None, "numbers only"),
    "NaN": (b'{"inputs": [{"name": "input", "shape": [1, 4], "datatype": "FP32", '
            b'"data": [NaN, 0, 0, 0]}]}', None, "not valid JSON"),
    "overflow": (body([1e300] * 8), None, "NaN or infinite"),
    "huge integer": (body([10**400] * 8), None, "not valid JSON"),
    "no data": (body(None), None, "no 'data'"),
    "unknown output": (body([0] * 8, outputs=[{"name": "logits"}]), None, "'logits'"),
    "binary without header": (json.dumps({"inputs": [{"name": "input", "shape": [1, 4],
                                                      "datatype": "FP32", "parameters":
                                                      {"binary_data_size": 16}}]}).encode(),
                              None, "Inference-Header-Content-Length"),
    "header length not a number": (body([0] * 8), "ten", "must be an integer"),
    "header longer than body": (body([0] * 8), "100000", "says 100000 bytes"),
}


@pytest.mark.parametrize("case", list(BAD))
def test_bad_requests_are_400_naming_the_problem(case):
    data, head, words = BAD[case]
    with pytest.raises(ProtocolError) as error:
        decode_infer_request(data, SPEC, head)
    assert error.value.status == 400
    assert words in error.value.message


def test_binary_sizes_must_match():
    x = np.zeros((2, 4), np.float32)
    data, head = binary_body(x, size=31)
    with pytest.raises(ProtocolError, match="must be 32"):
        decode_infer_request(data, SPEC, head)
    data, head = binary_body(x)
    with pytest.raises(ProtocolError, match="holds 31 bytes"):
        decode_infer_request(data[:-1], SPEC, head)
    data, head = binary_body(np.full((2, 4), np.inf, np.float32))
    with pytest.raises(ProtocolError, match="NaN or infinite"):
        decode_infer_request(data, SPEC, head)


def test_too_many_rows_is_413():
    with pytest.raises(ProtocolError) as error:
        decode_infer_request(body([0] * 12, shape=(3, 4)), SPEC, max_rows=2)
    assert error.value.status == 413


def test_metadata_has_minus_one_for_the_batch():
    meta = SPEC.metadata("nnkernels")
    assert meta["inputs"] == [{"name": "input", "datatype": "FP32", "shape": [-1, 4]}]
    assert meta["outputs"] == [{"name": "probabilities", "datatype": "FP32", "shape": [-1, 3]}]


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=5),
    lambda children: st.lists(children, max_size=5) | st.dictionaries(
        st.sampled_from(["name", "shape", "datatype", "data", "parameters", "inputs",
                         "outputs", "id", "binary_data", "binary_data_size", "x"]),
        children, max_size=5),
    max_leaves=30)

TENSORS = st.fixed_dictionaries(
    {"name": st.sampled_from(["input", "input-0", 3]),
     "shape": st.lists(st.integers(-2, 5), max_size=3) | JSON_VALUES,
     "datatype": st.sampled_from(["FP32", "FP64", "FP16", "INT8", "BYTES", None]),
     "data": st.lists(st.floats(width=32) | st.integers(-3, 3), max_size=24)
     | st.lists(st.lists(st.floats(width=32), max_size=5), max_size=5) | JSON_VALUES},
    optional={"parameters": JSON_VALUES})


@given(st.fixed_dictionaries({"inputs": st.lists(TENSORS, max_size=2) | JSON_VALUES},
                             optional={"outputs": JSON_VALUES, "id": JSON_VALUES,
                                       "parameters": JSON_VALUES}))
def test_fuzzed_json_requests_decode_or_get_a_4xx(request):
    data = json.dumps(request).encode()
    try:
        decoded = decode_infer_request(data, SPEC)
    except ProtocolError as error:
        assert 400 <= error.status < 500 and error.message
        return
    # what decodes is exactly what was sent
    tensor = request["inputs"][0]
    assert decoded.x.shape == tuple(tensor["shape"]) and np.isfinite(decoded.x).all()
    np.testing.assert_array_equal(
        decoded.x.ravel(), np.asarray(_flatten(tensor["data"]), np.float64).astype(np.float32))


def _flatten(value):
    return [v for item in value for v in _flatten(item)] if isinstance(value, list) else [value]


@given(st.binary(max_size=200), st.none() | st.integers(-5, 300).map(str))
def test_fuzzed_bytes_decode_or_get_a_4xx(data, head):
    try:
        decode_infer_request(data, SPEC, head)
    except ProtocolError as error:
        assert 400 <= error.status < 500
