"""Reading and writing safetensors files without the ``safetensors`` package.

The format (https://github.com/huggingface/safetensors, "Format"): an unsigned 64-bit
little-endian ``N``, then ``N`` bytes of UTF-8 JSON (padded with spaces; ours to a
multiple of 8), then the data section. The JSON object maps each tensor name to
``{"dtype": "F32", "shape": [...], "data_offsets": [begin, end]}`` (offsets relative to
the data section, little-endian C-order bytes) and may hold ``"__metadata__"``, an
object of string values. The tensors cover the data section exactly, without gaps or
overlaps: the reader refuses anything else, as the reference implementation does.

Integrity: a file written with ``digest=True`` carries ``nnkernels_sha256`` in its
metadata, the SHA-256 of the canonical header (sorted keys, compact, ASCII, without
that entry) followed by the data section; :func:`read` checks it whenever present, so
a changed byte anywhere (tensor table, metadata, data) is detected.
"""
import hashlib
import json
import math
import os
import struct

import numpy as np

from nnkernels._io import atomic_output
from nnkernels.formats import strict_json
from nnkernels.formats.errors import ModelFileError, fail, shown

#: safetensors dtype name -> NumPy little-endian dtype (BF16 is read as float32)
DTYPES = {"BOOL": "|b1", "U8": "|u1", "I8": "|i1", "U16": "<u2", "I16": "<i2",
          "U32": "<u4", "I32": "<i4", "U64": "<u8", "I64": "<i8", "F16": "<f2",
          "F32": "<f4", "F64": "<f8", "BF16": "<u2"}
_NAMES = {np.dtype(v).str: k for k, v in DTYPES.items() if k != "BF16"}
#: the largest JSON header accepted (the reference reader's limit is 100 MB)
MAX_HEADER_BYTES = 16 << 20
DIGEST_KEY = "nnkernels_sha256"
_MAX_NDIM = 32
_ENTRY_KEYS = {"dtype", "shape", "data_offsets"}
_LENGTH = struct.Struct("<Q")


def _canonical(header):
    """The bytes the digest covers besides the data: the header without the digest."""
    header = dict(header)
    meta = {k: v for k, v in header.pop("__metadata__", {}).items() if k != DIGEST_KEY}
    return json.dumps({"__metadata__": meta, **header}, sort_keys=True,
                                  separators=(",", ":"), ensure_ascii=True).encode()


def _bytes(arr):
    """A flat uint8 view of the C-contiguous array `arr`."""
    return arr.reshape(-1).view(np.uint8)


def _as_little_endian(name, value):
    arr = np.asarray(value)
    little = arr.dtype.newbyteorder("<") if arr.dtype.byteorder != "|" else arr.dtype
    if little.str not in _NAMES:
        raise TypeError(f"tensor {shown(name)}: dtype {arr.dtype} cannot be stored; "
                        f"safetensors dtypes: {sorted(_NAMES.values())}")
    return arr.astype(little, order="C", copy=False)  # keeps 0-d arrays 0-d


def write(path, tensors, metadata=None, *, digest=True):
    """Write `tensors` ({name: array}) and `metadata` ({str: str}) to `path`, atomically.

    Tensors are stored in the given order, contiguous, little-endian. With `digest`, the
    metadata gets :data:`DIGEST_KEY`. Raises TypeError for a dtype safetensors lacks or a
    metadata value that is not a string.
    """
    arrays = [(str(name), _as_little_endian(name, value)) for name, value in tensors.items()]
    meta = dict(metadata or {})
    for key, value in meta.items():
        if not isinstance(key, str) or not isinstance(value, str):
            raise TypeError(f"safetensors metadata must map str to str; got {key!r}: "
                            f"{type(value).__name__}")
    header, offset = {}, 0
    for name, arr in arrays:
        header[name] = {"dtype": _NAMES[arr.dtype.str], "shape": list(arr.shape),
                        "data_offsets": [offset, offset + arr.nbytes]}
        offset += arr.nbytes
    if digest:
        sha = hashlib.sha256(_canonical({"__metadata__": meta, **header}))
        for _, arr in arrays:
            sha.update(_bytes(arr))
        meta[DIGEST_KEY] = sha.hexdigest()
    raw = strict_json.dumps({"__metadata__": meta, **header} if meta else header).encode()
    raw += b" " * (-len(raw) % 8)
    with atomic_output(path, make_parents=False) as f:
        f.write(_LENGTH.pack(len(raw)))
        f.write(raw)
        for _, arr in arrays:
            f.write(_bytes(arr))


def _uint(value):
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def _entry(path, name, spec):
    """(name, numpy dtype, shape, begin, end, is_bf16) of one header entry, checked."""
    if not isinstance(spec, dict) or set(spec) != _ENTRY_KEYS:
        raise fail(path, f"tensor {shown(name)}: the entry must be an object with keys "
                         f"{sorted(_ENTRY_KEYS)}; found {str(spec)[:200]}")
    dtype, shape, offsets = spec["dtype"], spec["shape"], spec["data_offsets"]
    if dtype not in DTYPES:
        raise fail(path, f"tensor {shown(name)}: dtype {str(dtype)[:40]!r} is not supported; "
                         f"expected one of {sorted(DTYPES)}")
    if not (isinstance(shape, list) and len(shape) <= _MAX_NDIM
            and all(_uint(d) for d in shape)):
        raise fail(path, f"tensor {shown(name)}: shape must be a list of at most {_MAX_NDIM} "
                         f"non-negative integers; found {str(shape)[:200]}")
    if not (isinstance(offsets, list) and len(offsets) == 2 and all(_uint(o) for o in offsets)
            and offsets[0] <= offsets[1]):
        raise fail(path, f"tensor {shown(name)}: data_offsets must be [begin, end] with "
                         f"0 <= begin <= end; found {str(offsets)[:200]}")
    dt = np.dtype(DTYPES[dtype])
    nbytes = dt.itemsize * math.prod(shape)  # Python ints: no overflow
    if offsets[1] - offsets[0] != nbytes:
        raise fail(path, f"tensor {shown(name)}: {dtype} of shape {shape} needs {nbytes} bytes; "
                         f"data_offsets {offsets} hold {offsets[1] - offsets[0]}")
    return name, dt, tuple(shape), offsets[0], offsets[1], dtype == "BF16"


def _read_header(f, path, size):
    if size < 8:
        raise fail(path, f"not a safetensors file: {size} bytes, shorter than the 8-byte "
                         f"header length")
    (n,) = _LENGTH.unpack(f.read(8))
    if n > MAX_HEADER_BYTES:
        raise fail(path, f"not a safetensors file, or a damaged one: the header length "
                         f"field says {n} bytes (at most {MAX_HEADER_BYTES} accepted)")
    if 8 + n > size:
        raise fail(path, f"truncated: the header needs {8 + n} bytes; the file has {size}")
    raw = f.read(n)
    if not raw.startswith(b"{"):
        raise fail(path, f"not a safetensors file: the header does not start with '{{' "
                         f"(starts with {raw[:8]!r})")
    return strict_json.loads(raw, path, "the safetensors header", limit=MAX_HEADER_BYTES)


def read(path):
    """Read a safetensors file: ``(tensors, metadata)``.

    Returns
    -------
    tensors : dict of name -> ndarray (native byte order, C-contiguous, writeable), in the
        header's order; BF16 tensors come as float32
    metadata : dict of str -> str (the digest entry removed once checked)

    Raises
    ------
    ModelFileError
        Truncated, tampered (digest mismatch), malformed or foreign files; sizes are
        checked against the file's length before anything is allocated.
    OSError
        The file cannot be opened or read.
    """
    path = os.fspath(path)
    with open(path, "rb") as f:
        size = os.fstat(f.fileno()).st_size
        header = _read_header(f, path, size)
        meta = header.pop("__metadata__", {})
        if not isinstance(meta, dict) or not all(isinstance(v, str) for v in meta.values()):
            raise fail(path, "__metadata__ must be an object of string values")
        entries = sorted((_entry(path, name, spec) for name, spec in header.items()),
                         key=lambda e: (e[3], e[4]))
        data_start, end = f.tell(), 0
        for name, _, _, begin, stop, _ in entries:
            if begin != end:
                raise fail(path, f"tensor {shown(name)}: data_offsets begin at {begin}; expected "
                                 f"{end} (tensors must cover the data section without gaps "
                                 f"or overlaps)")
            end = stop
        if data_start + end != size:
            raise fail(path, f"truncated: the tensors need {data_start + end} bytes; the "
                             f"file has {size}" if data_start + end > size else
                             f"{size - data_start - end} bytes after the last tensor")
        stored = meta.pop(DIGEST_KEY, None)
        sha = hashlib.sha256(_canonical({"__metadata__": meta, **header}))
        arrays = {}
        for name, dt, shape, begin, stop, _ in entries:
            arr = np.empty(shape, dt)
            if f.readinto(_bytes(arr)) != stop - begin:
                raise fail(path, f"truncated while reading tensor {shown(name)}")
            sha.update(_bytes(arr))
            arrays[name] = arr
    if stored is not None and sha.hexdigest() != stored:
        raise fail(path, f"content digest mismatch: the file says {str(stored)[:64]}, its "
                         f"content gives {sha.hexdigest()} (the file was changed or damaged)")
    bf16 = {e[0] for e in entries if e[5]}
    result = {}
    for name in header:  # the header's order
        arr = arrays[name]
        if name in bf16:
            arr = (arr.astype(np.uint32) << 16).view(np.float32)
        result[name] = arr if arr.dtype.isnative else arr.astype(arr.dtype.newbyteorder("="))
    if stored is not None:
        meta[DIGEST_KEY] = stored
    return result, meta


def looks_like_safetensors(head):
    """Whether the first bytes of a file (at least 9) could start a safetensors file."""
    return len(head) >= 9 and head[8:9] == b"{"


__all__ = ["DIGEST_KEY", "DTYPES", "MAX_HEADER_BYTES", "ModelFileError", "read", "write"]
