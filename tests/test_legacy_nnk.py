"""The legacy .nnk reader (nnkernels.formats.legacy_nnk): files of format version 1, made
here by the 0.1 writer kept in tests/legacy_nnk_writer.py, load; damaged ones raise
ModelFileError naming the file."""

from __future__ import annotations

import hashlib
import json
import os
import pickle
import struct
import zipfile

import numpy as np
import pytest

from legacy_nnk_writer import save_arrays
from nnkernels.formats.legacy_nnk import ModelFileError, load_arrays

# Spec constants, restated here so the tests check the documented layout
# rather than whatever the module happens to use.
MAGIC = b"NNKMODEL"
PREFIX = struct.Struct("<8sIQ")
ALIGN = 64

DTYPES = [np.bool_, np.int8, np.uint8, np.int16, np.uint16, np.int32,
          np.uint32, np.int64, np.uint64, np.float16, np.float32, np.float64,
          np.complex64, np.complex128]


# ---------------------------------------------------------------------------
# helpers
# ---------------------------------------------------------------------------

def _align(n):
    return -(-n // ALIGN) * ALIGN


def build_file(header, data=b"", *, version=1, magic=MAGIC, length=None):
    """Build raw file bytes from the documented layout, with valid checksums.

    ``header`` is a dict (``data_sha256``/``data_length`` filled in when
    missing) or raw JSON bytes.  The result is self-consistent at the
    checksum level, so readers must reject bad tables on their own merits.
    """
    if isinstance(header, dict):
        header = dict(header)
        header.setdefault("metadata", {})
        header.setdefault("data_length", len(data))
        header.setdefault("data_sha256", hashlib.sha256(data).hexdigest())
        raw = json.dumps(header).encode("utf-8")
    else:
        raw = header
    raw += b" " * (_align(PREFIX.size + len(raw) + 32) - PREFIX.size - 32 - len(raw))
    head = PREFIX.pack(magic, version, len(raw) if length is None else length) + raw
    return head + hashlib.sha256(head).digest() + data


def tensor(dtype, shape, begin):
    nbytes = np.dtype(dtype).itemsize * int(np.prod(shape))
    return {"dtype": dtype, "shape": list(shape), "offsets": [begin, begin + nbytes]}


def load_bytes(tmp_path, raw, name="crafted.nnk"):
    path = tmp_path / name
    path.write_bytes(raw)
    return load_arrays(path)


def expect_error(tmp_path, raw, *fragments):
    with pytest.raises(ModelFileError) as info:
        load_bytes(tmp_path, raw)
    message = str(info.value)
    path = str(tmp_path / "crafted.nnk")
    assert path in message
    # Match fragments against the message without the path: pytest's
    # tmp_path contains the test name, which could match by accident.
    rest = message.replace(path, "<path>")
    for fragment in fragments:
        assert fragment in rest, message
    return rest


def roundtrip(tmp_path, arrays, header=None):
    path = tmp_path / "model.nnk"
    save_arrays(path, arrays, header or {})
    return load_arrays(path)


def assert_same(loaded, original):
    original = np.asarray(original)
    assert loaded.shape == original.shape
    assert loaded.dtype == original.dtype.newbyteorder("=")
    assert loaded.dtype.isnative
    np.testing.assert_array_equal(loaded, original)


@pytest.fixture
def small_file(tmp_path):
    """A small valid file exercising several dtypes, shapes and padding."""
    path = tmp_path / "small.nnk"
    save_arrays(path, {"w": np.arange(6, dtype=np.float32).reshape(2, 3),
                       "s": np.int64(-7), "e": np.zeros(0, np.uint8),
                       "b": np.array([1, 2, 3], np.uint8)},
                {"arch": "mlp", "layers": [3, 2]})
    return path


def listing(folder):
    return sorted(p.name for p in folder.iterdir())


# ---------------------------------------------------------------------------
# round trips
# ---------------------------------------------------------------------------

@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: np.dtype(d).name)
def test_roundtrip_each_dtype(tmp_path, dtype):
    rng = np.random.default_rng(0)
    values = (rng.standard_normal((4, 3)) * 100).astype(dtype)
    arrays, _ = roundtrip(tmp_path, {"x": values})
    assert_same(arrays["x"], values)


@pytest.mark.parametrize("shape", [(), (0,), (1, 1), (3, 5, 7), (2, 0, 3)])
def test_roundtrip_shapes(tmp_path, shape):
    values = np.arange(int(np.prod(shape)), dtype=np.float64).reshape(shape) + 0.5
    arrays, _ = roundtrip(tmp_path, {"x": values, "y": values.astype(np.int64)})
    assert_same(arrays["x"], values)
    assert_same(arrays["y"], values.astype(np.int64))


def test_roundtrip_numpy_scalar_stays_0d(tmp_path):
    arrays, _ = roundtrip(tmp_path, {"lr": np.float32(0.25)})
    assert arrays["lr"].shape == () and arrays["lr"] == np.float32(0.25)


def test_roundtrip_non_contiguous(tmp_path):
    base = np.arange(120, dtype=np.float32).reshape(10, 12)
    views = {"strided": base[::2, 1::3], "transposed": base.T,
             "fortran": np.asfortranarray(base), "negative": base[::-1, ::-2]}
    assert not any(v.flags.c_contiguous for v in views.values())
    arrays, _ = roundtrip(tmp_path, views)
    for name, view in views.items():
        assert_same(arrays[name], view)


@pytest.mark.parametrize("dtype", [">f4", ">f8", ">i8", ">u2", ">c16", "<i4"])
def test_roundtrip_explicit_byte_order(tmp_path, dtype):
    values = np.array([[1, -2, 3], [40000, 5, 6]]).astype(dtype)
    arrays, _ = roundtrip(tmp_path, {"x": values})
    assert_same(arrays["x"], values)
    assert arrays["x"].dtype.byteorder in "=|"


def test_big_endian_input_stored_little_endian(tmp_path):
    values = np.arange(5, dtype=np.float32)
    save_arrays(tmp_path / "le.nnk", {"x": values}, {})
    save_arrays(tmp_path / "be.nnk", {"x": values.astype(">f4")}, {})
    assert (tmp_path / "le.nnk").read_bytes() == (tmp_path / "be.nnk").read_bytes()


def test_loaded_arrays_own_writeable_native_memory(tmp_path, small_file):
    arrays, _ = load_arrays(small_file)
    for arr in arrays.values():
        assert arr.flags.owndata and arr.flags.writeable and arr.flags.c_contiguous
        assert arr.dtype.isnative
    arrays["w"][0, 0] = 99.0
    again, _ = load_arrays(small_file)
    assert again["w"][0, 0] == 0.0


def test_metadata_roundtrip_unicode(tmp_path):
    header = {"architecture": {"layers": [784, 128, 10], "act": "relu"},
              "name": "Grüße, 模型 🚀", "\u00e9t\u00e9": None, "lr": 1e-3,
              "epochs": 3, "flags": [True, False], "nested": {"a": {"b": []}}}
    arrays, metadata = roundtrip(tmp_path, {"x": np.ones(2)}, header)
    assert metadata == header
    assert list(metadata) == list(header)


def test_order_preserved_and_empty_mapping(tmp_path):
    names = ["z", "a", "m", "layer.0.weight", ""]
    arrays, _ = roundtrip(tmp_path, {n: np.full(3, i) for i, n in enumerate(names)})
    assert list(arrays) == names
    empty, metadata = roundtrip(tmp_path, {}, {"k": "v"})
    assert empty == {} and metadata == {"k": "v"}


def test_accepts_str_path(tmp_path):
    path = str(tmp_path / "p.nnk")
    save_arrays(path, {"x": np.ones(1)}, {})
    assert load_arrays(path)[0]["x"][0] == 1


def test_overwrite_existing_file(tmp_path):
    path = tmp_path / "m.nnk"
    save_arrays(path, {"x": np.zeros(3)}, {"v": 1})
    save_arrays(path, {"y": np.ones(2)}, {"v": 2})
    arrays, metadata = load_arrays(path)
    assert list(arrays) == ["y"] and metadata == {"v": 2}
    assert listing(tmp_path) == ["m.nnk"]


# ---------------------------------------------------------------------------
# byte layout
# ---------------------------------------------------------------------------

def test_layout_matches_spec_builder(tmp_path):
    arrays = {"a": np.arange(3, dtype="<f4"), "b": np.array(7, dtype="<i8")}
    save_arrays(tmp_path / "m.nnk", arrays, {"arch": "x"})
    data = (arrays["a"].tobytes() + bytes(52) + arrays["b"].tobytes())
    header = {"metadata": {"arch": "x"},
              "tensors": {"a": tensor("<f4", [3], 0), "b": tensor("<i8", [], 64)},
              "data_length": len(data),
              "data_sha256": hashlib.sha256(data).hexdigest()}
    actual = (tmp_path / "m.nnk").read_bytes()
    magic, version, length = PREFIX.unpack_from(actual)
    assert (magic, version) == (MAGIC, 1)
    assert json.loads(actual[PREFIX.size:PREFIX.size + length]) == header
    assert (PREFIX.size + length + 32) % ALIGN == 0
    assert actual[PREFIX.size + length + 32:] == data
    # A file built independently from the documented layout must load too.
    built = build_file(header, data)
    loaded, metadata = load_bytes(tmp_path, built)
    assert metadata == {"arch": "x"}
    assert_same(loaded["a"], arrays["a"])
    assert_same(loaded["b"], arrays["b"])


def test_every_tensor_64_byte_aligned_in_file(tmp_path):
    arrays = {f"t{i}": np.ones(i, np.uint8) for i in range(1, 9)}
    save_arrays(tmp_path / "m.nnk", arrays, {})
    raw = (tmp_path / "m.nnk").read_bytes()
    _, _, length = PREFIX.unpack_from(raw)
    start = PREFIX.size + length + 32
    header = json.loads(raw[PREFIX.size:PREFIX.size + length])
    for spec in header["tensors"].values():
        assert (start + spec["offsets"][0]) % ALIGN == 0


# ---------------------------------------------------------------------------
# foreign, empty and truncated files
# ---------------------------------------------------------------------------

class _Exploit:
    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return (os.mkdir, (self.marker,))


def test_malicious_pickle_never_unpickled(tmp_path):
    # Sanity check: the payload really does act when unpickled.
    probe = tmp_path / "probe_marker"
    pickle.loads(pickle.dumps(_Exploit(probe)))
    assert probe.exists()
    marker = tmp_path / "marker"
    raw = pickle.dumps(_Exploit(marker))
    expect_error(tmp_path, raw, "not an nnkernels model file")
    assert not marker.exists()


def _zip_bytes(tmp_path):
    path = tmp_path / "x.zip"
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("a.txt", "hello")
    return path.read_bytes()


def _npz_bytes(tmp_path):
    path = tmp_path / "x.npz"
    np.savez(path, a=np.ones(3))
    return path.read_bytes()


@pytest.mark.parametrize("make", [
    lambda tmp: b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR" + bytes(40),
    lambda tmp: pickle.dumps({"w": [1.0, 2.0]}),
    _zip_bytes, _npz_bytes,
    lambda tmp: b"nnkmodel" + bytes(100),
    lambda tmp: b"hello world, just some text\n" * 10,
], ids=["png", "pickle", "zip", "npz", "wrong-case-magic", "text"])
def test_foreign_files_rejected(tmp_path, make):
    raw = make(tmp_path)
    message = expect_error(tmp_path, raw, "not an nnkernels model file")
    assert f"starts with {raw[:8]!r}" in message


def test_empty_file(tmp_path):
    expect_error(tmp_path, b"", "empty")


def test_missing_file_is_os_error(tmp_path):
    with pytest.raises(FileNotFoundError):
        load_arrays(tmp_path / "nope.nnk")


def test_truncated_at_every_cut_point(tmp_path, small_file):
    raw = small_file.read_bytes()
    for cut in range(1, len(raw)):
        message = expect_error(tmp_path, raw[:cut], "truncated: expected ")
        assert message.endswith(f"found {cut}"), (cut, message)


def test_truncated_data_reports_full_size(tmp_path, small_file):
    raw = small_file.read_bytes()
    expect_error(tmp_path, raw[:-1],
                 f"truncated: expected {len(raw)} bytes, found {len(raw) - 1}")


def test_trailing_bytes_rejected(tmp_path, small_file):
    raw = small_file.read_bytes()
    expect_error(tmp_path, raw + b"\x00", "trailing bytes")


# ---------------------------------------------------------------------------
# corruption
# ---------------------------------------------------------------------------

@pytest.mark.parametrize("mask", [0x01, 0xFF])
def test_every_flipped_byte_detected(tmp_path, small_file, mask):
    raw = bytearray(small_file.read_bytes())
    assert len(raw) < 1024
    for pos in range(len(raw)):
        corrupt = bytearray(raw)
        corrupt[pos] ^= mask
        with pytest.raises(ModelFileError):
            load_bytes(tmp_path, bytes(corrupt))


def test_flipped_byte_messages(tmp_path, small_file):
    raw = small_file.read_bytes()
    _, _, length = PREFIX.unpack_from(raw)
    for pos, expected in [(0, "not an nnkernels model file"),
                          (PREFIX.size + 3, "checksum mismatch in header"),
                          (PREFIX.size + length + 5, "checksum mismatch in header"),
                          (len(raw) - 1, "checksum mismatch in data")]:
        corrupt = bytearray(raw)
        corrupt[pos] ^= 0x04
        expect_error(tmp_path, bytes(corrupt), expected)


@pytest.mark.parametrize("length", [2**24 + 12, 2**40, 2**64 - 1])
def test_huge_header_length(tmp_path, length):
    raw = build_file({"tensors": {}}, length=length)
    expect_error(tmp_path, raw, f"header length {length} exceeds")


def test_header_length_beyond_file(tmp_path):
    raw = build_file({"tensors": {}}, length=4096 - 52)
    expect_error(tmp_path, raw, "truncated: expected 4096 bytes")


def test_misaligned_header_length(tmp_path):
    raw = build_file({"tensors": {}}, length=13)
    expect_error(tmp_path, raw, "header length 13 is invalid")


@pytest.mark.parametrize("version", [2, 7, 2**32 - 1])
def test_newer_format_version(tmp_path, version):
    raw = build_file({"tensors": {}}, version=version)
    expect_error(tmp_path, raw,
                 f"written by a newer nnkernels (format {version}); "
                 "this version reads up to 1")


def test_format_version_zero(tmp_path):
    expect_error(tmp_path, build_file({"tensors": {}}, version=0),
                 "unsupported format version 0")


def test_builder_produces_valid_files(tmp_path):
    """Guard: crafted negative cases differ from a valid file only as stated."""
    data = np.arange(4, dtype="<f4").tobytes() + bytes(48) + np.arange(2, dtype="<i8").tobytes()
    raw = build_file({"metadata": {"m": 1},
                      "tensors": {"a": tensor("<f4", [4], 0),
                                  "b": tensor("<i8", [2], 64)}}, data)
    arrays, metadata = load_bytes(tmp_path, raw)
    assert metadata == {"m": 1}
    assert_same(arrays["a"], np.arange(4, dtype=np.float32))
    assert_same(arrays["b"], np.arange(2, dtype=np.int64))


@pytest.mark.parametrize("dtype", ["|O", "<U4", "|V8", "|S4", ">f4", "float32",
                                   "<M8[ns]", "O", 4, None])
def test_disallowed_dtype(tmp_path, dtype):
    spec = {"dtype": dtype, "shape": [1], "offsets": [0, 8]}
    raw = build_file({"tensors": {"x": spec}}, bytes(8))
    expect_error(tmp_path, raw, "tensor 'x': dtype", "is not allowed")


def test_overlapping_offsets(tmp_path):
    raw = build_file({"tensors": {"a": {"dtype": "<f4", "shape": [4], "offsets": [0, 16]},
                                  "b": {"dtype": "<f4", "shape": [4], "offsets": [8, 24]}}},
                     bytes(24))
    expect_error(tmp_path, raw, "tensor 'b'", "overlap")


def test_out_of_order_offsets(tmp_path):
    raw = build_file({"tensors": {"a": tensor("<f4", [4], 64),
                                  "b": tensor("<f4", [4], 0)}}, bytes(80))
    expect_error(tmp_path, raw, "tensor 'a': begins at 64, expected 0")


def test_misaligned_offsets(tmp_path):
    raw = build_file({"tensors": {"a": tensor("<f4", [4], 0),
                                  "b": tensor("<f4", [4], 16)}}, bytes(32))
    expect_error(tmp_path, raw, "tensor 'b': begins at 16, expected 64")


@pytest.mark.parametrize("data_length", [15, 17, 10**12])
def test_offsets_out_of_range(tmp_path, data_length):
    raw = build_file({"tensors": {"a": tensor("<f4", [4], 0)},
                      "data_length": data_length}, bytes(16))
    expect_error(tmp_path, raw, f"'data_length' is {data_length}, expected 16")


@pytest.mark.parametrize("shape,offsets,fragment", [
    ([-1], [0, 4], "non-negative integers"),
    ([True], [0, 4], "non-negative integers"),
    ([1.0], [0, 4], "non-negative integers"),
    ("4", [0, 16], "non-negative integers"),
    ([4], [0, 12], "needs 16 bytes"),
    ([2, 3], [0, 16], "needs 24 bytes"),
    ([4], [0], "offsets must be"),
    ([4], [0, 16, 32], "offsets must be"),
    ([4], [-16, 0], "offsets must be"),
    ([4], None, "offsets must be"),
    ([1] * 40, [0, 4], "dimensions"),
    ([0, 2**62, 4], [0, 0], "too large"),
])
def test_bad_shape_or_offsets(tmp_path, shape, offsets, fragment):
    spec = {"dtype": "<f4", "shape": shape, "offsets": offsets}
    raw = build_file({"tensors": {"x": spec}}, bytes(16))
    expect_error(tmp_path, raw, fragment)


@pytest.mark.parametrize("header,fragment", [
    ({"tensors": {}, "extra": 1}, "header keys must be"),
    ({"metadata": [], "tensors": {}}, "'metadata' must be an object"),
    ({"tensors": []}, "'tensors' must be an object"),
    ({"tensors": {"x": [1]}}, "entry must be an object"),
    ({"tensors": {"x": {"dtype": "<f4", "shape": [0], "offsets": [0, 0],
                        "extra": 1}}}, "entry must be an object"),
    ({"tensors": {}, "data_sha256": "AB" * 32}, "'data_sha256' must be"),
    ({"tensors": {}, "data_sha256": 5}, "'data_sha256' must be"),
    ({"tensors": {}, "data_length": -1}, "'data_length' must be"),
    ({"tensors": {}, "data_length": "0"}, "'data_length' must be"),
])
def test_bad_header_structure(tmp_path, header, fragment):
    expect_error(tmp_path, build_file(header), fragment)


def test_missing_header_key(tmp_path):
    raw = json.dumps({"metadata": {}, "data_length": 0,
                      "data_sha256": hashlib.sha256(b"").hexdigest()}).encode()
    expect_error(tmp_path, build_file(raw), "header keys must be")


@pytest.mark.parametrize("raw,fragment", [
    (b"[1, 2, 3]", "must be a JSON object"),
    (b"\xff\xfe{}", "not valid UTF-8"),
    (b"{\"metadata\": {", "not strict JSON"),
    (b"", "not strict JSON"),
    (b"[" * 100000, "nests too deeply"),
    (b'{"metadata": {"x": NaN}, "tensors": {}}', "non-standard JSON constant"),
    (b'{"metadata": {"x": 1e999}, "tensors": {}}', "overflows a float"),
    (b'{"metadata": {"x": ' + b"9" * 5000 + b'}, "tensors": {}}', "digits"),
    (b'{"metadata": {}, "metadata": {}, "tensors": {}}', "duplicate key 'metadata'"),
], ids=["list", "bad-utf8", "unterminated", "empty", "deep-nesting", "nan", "overflow",
        "huge-int", "duplicate-key"])
def test_bad_header_json(tmp_path, raw, fragment):
    expect_error(tmp_path, build_file(raw), fragment)


def test_duplicate_tensor_names(tmp_path):
    data = bytes(64 + 4)
    entry = json.dumps(tensor("<f4", [1], 0))
    raw = (f'{{"metadata": {{}}, "tensors": {{"a": {entry}, "a": {entry}}}, '
           f'"data_length": 4, "data_sha256": "{hashlib.sha256(data[:4]).hexdigest()}"}}')
    expect_error(tmp_path, build_file(raw.encode(), data[:4]), "duplicate key 'a'")


def test_data_checksum_mismatch_with_valid_header(tmp_path):
    data = np.arange(4, dtype="<f4").tobytes()
    raw = build_file({"tensors": {"a": tensor("<f4", [4], 0)},
                      "data_sha256": hashlib.sha256(b"other").hexdigest()}, data)
    expect_error(tmp_path, raw, "checksum mismatch in data section")
