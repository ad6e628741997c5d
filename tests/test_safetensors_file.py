"""nnkernels.formats.safetensors_file: our reader and writer against the safetensors
library (either direction), the byte layout, atomic writes, and malformed files."""
import json
import os
import struct

import numpy as np
import pytest

from conftest import require
from nnkernels.formats import safetensors_file
from nnkernels.formats.errors import ModelFileError

DTYPES = [np.bool_, np.uint8, np.int8, np.uint16, np.int16, np.uint32, np.int32, np.uint64,
          np.int64, np.float16, np.float32, np.float64]


def _arrays(rng):
    return {f"t{i}": (rng.standard_normal((3, i + 1)) * 50).astype(dt)
            for i, dt in enumerate(DTYPES)} | {"scalar": np.float32(2.5),
                                               "empty": np.zeros((0, 4), np.float32)}


def build(header, data=b"", *, length=None, pad=True):
    """A file from the format's definition: 8-byte LE length, JSON, data."""
    raw = header if isinstance(header, bytes) else json.dumps(header).encode()
    if pad:
        raw += b" " * (-len(raw) % 8)
    return struct.pack("<Q", len(raw) if length is None else length) + raw + data


def expect_error(tmp_path, raw, fragment):
    path = tmp_path / "crafted.safetensors"
    path.write_bytes(raw)
    with pytest.raises(ModelFileError) as info:
        safetensors_file.read(path)
    message = str(info.value)
    assert message.startswith(f"{path}: "), message
    assert fragment in message.replace(str(path), "<path>"), message


def test_round_trip_every_dtype(tmp_path, rng):
    arrays = _arrays(rng)
    safetensors_file.write(tmp_path / "a.safetensors", arrays, {"k": "v"})
    loaded, meta = safetensors_file.read(tmp_path / "a.safetensors")
    assert list(loaded) == list(arrays)
    for name, value in arrays.items():
        assert loaded[name].dtype == np.asarray(value).dtype
        assert loaded[name].shape == np.shape(value)
        np.testing.assert_array_equal(loaded[name], value)
        assert loaded[name].flags.writeable and loaded[name].flags.c_contiguous
    assert meta["k"] == "v" and len(meta[safetensors_file.DIGEST_KEY]) == 64


def test_big_endian_and_strided_input_stored_little_endian_contiguous(tmp_path):
    base = np.arange(24, dtype=">f8").reshape(4, 6)
    safetensors_file.write(tmp_path / "a.safetensors", {"x": base[::2, ::-3]}, digest=False)
    loaded, _ = safetensors_file.read(tmp_path / "a.safetensors")
    np.testing.assert_array_equal(loaded["x"], base[::2, ::-3])
    assert loaded["x"].dtype == np.float64 and loaded["x"].dtype.isnative


def test_the_library_reads_what_we_write(tmp_path, rng):
    st_numpy = require("safetensors.numpy", 'pip install "nnkernels[keras]"')
    from safetensors import safe_open
    arrays = _arrays(rng)
    path = tmp_path / "ours.safetensors"
    safetensors_file.write(path, arrays, {"note": "ünïcode ✓"})
    theirs = st_numpy.load_file(path)
    assert set(theirs) == set(arrays)
    for name, value in arrays.items():
        np.testing.assert_array_equal(theirs[name], value)
        assert theirs[name].dtype == np.asarray(value).dtype
    with safe_open(path, "np") as f:
        assert f.metadata()["note"] == "ünïcode ✓"


def test_we_read_what_the_library_writes(tmp_path, rng):
    st_numpy = require("safetensors.numpy", 'pip install "nnkernels[keras]"')
    arrays = {k: np.asarray(v) for k, v in _arrays(rng).items()}
    path = tmp_path / "theirs.safetensors"
    st_numpy.save_file(arrays, path, metadata={"format": "np"})
    loaded, meta = safetensors_file.read(path)
    assert meta == {"format": "np"}  # no digest: none was written, none is checked
    for name, value in arrays.items():
        np.testing.assert_array_equal(loaded[name], value)


def test_bf16_from_torch_reads_as_float32(tmp_path):
    torch = require("torch", "pip install torch==2.13.0")
    st_torch = require("safetensors.torch", 'pip install "nnkernels[keras]"')
    w = torch.randn(5, 7).to(torch.bfloat16)
    st_torch.save_file({"w": w}, tmp_path / "bf16.safetensors")
    loaded, _ = safetensors_file.read(tmp_path / "bf16.safetensors")
    assert loaded["w"].dtype == np.float32
    np.testing.assert_array_equal(loaded["w"], w.float().numpy())


def test_byte_layout(tmp_path):
    a = np.arange(3, dtype="<f4")
    safetensors_file.write(tmp_path / "a.safetensors", {"a": a}, {"m": "1"}, digest=False)
    raw = (tmp_path / "a.safetensors").read_bytes()
    (n,) = struct.unpack_from("<Q", raw)
    assert n % 8 == 0 and raw[8:9] == b"{"
    header = json.loads(raw[8:8 + n])
    assert header == {"__metadata__": {"m": "1"},
                      "a": {"dtype": "F32", "shape": [3], "data_offsets": [0, 12]}}
    assert raw[8 + n:] == a.tobytes()


@pytest.mark.parametrize("target", ["os.replace", "os.fsync"])
@pytest.mark.parametrize("pre_existing", [False, True])
def test_failed_write_leaves_nothing_behind(tmp_path, monkeypatch, target, pre_existing):
    path = tmp_path / "m.safetensors"
    if pre_existing:
        path.write_bytes(b"old contents")

    def boom(*args):
        raise OSError("simulated failure")

    monkeypatch.setattr(target, boom)
    with pytest.raises(OSError, match="simulated"):
        safetensors_file.write(path, {"x": np.ones(1000)})
    monkeypatch.undo()
    assert sorted(p.name for p in tmp_path.iterdir()) == (["m.safetensors"] if pre_existing
                                                           else [])
    if pre_existing:
        assert path.read_bytes() == b"old contents"


def test_interrupted_write_leaves_nothing_behind(tmp_path, monkeypatch):
    calls = []

    def interrupting(arr):
        calls.append(1)
        if len(calls) > 1:
            raise KeyboardInterrupt
        return arr.reshape(-1).view(np.uint8)

    monkeypatch.setattr(safetensors_file, "_bytes", interrupting)
    with pytest.raises(KeyboardInterrupt):
        safetensors_file.write(tmp_path / "m.safetensors", {"x": np.ones(3), "y": np.ones(2)},
                               digest=False)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("tensors,metadata", [
    ({"x": np.ones(2, np.complex64)}, None),
    ({"x": np.array(["text"])}, None),
    ({"x": np.array([object()])}, None),
    ({"x": np.ones(2)}, {"k": 1}),
])
def test_bad_input_to_write_is_refused_without_a_file(tmp_path, tensors, metadata):
    with pytest.raises(TypeError):
        safetensors_file.write(tmp_path / "m.safetensors", tensors, metadata)
    assert list(tmp_path.iterdir()) == []


F32_4 = {"dtype": "F32", "shape": [4], "data_offsets": [0, 16]}


@pytest.mark.parametrize("raw,fragment", [
    (b"", "shorter than the 8-byte header length"),
    (b"\x10\x00\x00", "shorter than the 8-byte header length"),
    (struct.pack("<Q", 2**63) + b"{}", "the header length field says 9223372036854775808"),
    (struct.pack("<Q", 64) + b"{}      ", "truncated: the header needs 72 bytes"),
    (struct.pack("<Q", 8) + b"PK\x03\x04    ", "does not start with '{'"),
    (build(b"[]"), "does not start with '{'"),
    (build(b"{]"), "not strict JSON"),
    (build({"x": [1]}), "the entry must be an object with keys"),
    (build({"x": {**F32_4, "extra": 1}}, bytes(16)), "the entry must be an object"),
    (build({"x": {**F32_4, "dtype": "F8_E4M3"}}, bytes(16)), "dtype 'F8_E4M3' is not"),
    (build({"x": {**F32_4, "shape": [-4]}}, bytes(16)), "shape must be a list"),
    (build({"x": {**F32_4, "shape": [1] * 33}}, bytes(16)), "shape must be a list"),
    (build({"x": {**F32_4, "shape": [True]}}, bytes(16)), "shape must be a list"),
    (build({"x": {**F32_4, "data_offsets": [16, 0]}}, bytes(16)), "0 <= begin <= end"),
    (build({"x": {**F32_4, "data_offsets": [0]}}, bytes(16)), "data_offsets must be"),
    (build({"x": {**F32_4, "shape": [2**40, 2**40]}}, bytes(16)),
     "needs 4835703278458516698824704 bytes"),
    (build({"x": F32_4}, bytes(12)), "truncated: the tensors need"),
    (build({"x": F32_4}, bytes(20)), "4 bytes after the last tensor"),
    (build({"x": F32_4, "y": F32_4}, bytes(32)),
     "tensor 'y': data_offsets begin at 0; expected 16"),
    (build({"x": {**F32_4, "data_offsets": [4, 20]}}, bytes(20)), "begin at 4; expected 0"),
    (build({"__metadata__": {"a": 1}}), "__metadata__ must be an object of string values"),
    (build({"__metadata__": {"nnkernels_sha256": "0" * 64}}), "content digest mismatch"),
    (build(b'{"x": 1, "x": 2}'), "duplicate key 'x'"),
])
def test_malformed_files(tmp_path, raw, fragment):
    expect_error(tmp_path, raw, fragment)


def test_every_flipped_byte_of_a_model_file_is_detected(tmp_path):
    """A model file's digest covers every byte; renaming the digest's own key makes it a
    file without one, which nnkernels.load refuses."""
    import nnkernels
    path = tmp_path / "small.safetensors"
    model = nnkernels.Sequential([nnkernels.Dense(3, 2, "relu", seed=0)])
    model.compile("sgd", "mse")
    nnkernels.save(model, path)
    raw = path.read_bytes()
    for pos in range(len(raw)):
        for mask in (0x01, 0xFF):
            corrupt = bytearray(raw)
            corrupt[pos] ^= mask
            path.write_bytes(bytes(corrupt))
            with pytest.raises(ModelFileError):
                nnkernels.load(path)


def test_missing_file_is_os_error(tmp_path):
    with pytest.raises(FileNotFoundError):
        safetensors_file.read(tmp_path / "nope.safetensors")


def test_a_huge_tensor_name_is_cut_in_the_message(tmp_path):
    name = "n" * 100000
    raw = build({name: {**F32_4, "dtype": "X"}}, bytes(16))
    path = tmp_path / "long.safetensors"
    path.write_bytes(raw)
    with pytest.raises(ModelFileError) as info:
        safetensors_file.read(path)
    assert len(str(info.value)) < 500 and "(100002 characters)" in str(info.value)


def test_header_limit_is_checked_before_reading(tmp_path, monkeypatch):
    monkeypatch.setattr(safetensors_file, "MAX_HEADER_BYTES", 64)
    raw = build({"__metadata__": {"k": "v" * 100}})
    expect_error(tmp_path, raw, "at most 64 accepted")
    assert os.path.getsize(tmp_path / "crafted.safetensors") == len(raw)
