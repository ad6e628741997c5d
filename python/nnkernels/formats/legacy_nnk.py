"""The reader of the legacy ``.nnk`` model file (nnkernels 0.1, format version 1).

``nnkernels.save`` writes safetensors files now (:mod:`nnkernels.formats.model_file`);
``nnkernels.load`` still reads ``.nnk`` files through this module, for the whole 0.x
series. Version 1.0 drops it: convert old files before then with
``nnkernels.save(nnkernels.load("model.nnk"), "model.safetensors")``. Nothing is ever
pickled or evaluated.

Byte layout (format version 1)
------------------------------
All integers are unsigned little-endian.  ``N`` is the header length.

========================  =======  =============================================
offset                    size     content
========================  =======  =============================================
0                         8        magic ``b"NNKMODEL"``
8                         4        format version, uint32 (currently 1)
12                        8        ``N``, byte length of the JSON header, uint64
20                        N        JSON header, UTF-8, right-padded with ASCII
                                   spaces (0x20) so that ``52 + N`` is a
                                   multiple of 64
20 + N                    32       SHA-256 digest of bytes ``[0, 20 + N)``
                                   (magic, version, length and JSON header)
52 + N                    D        data section; ``D`` is ``data_length``
========================  =======  =============================================

The file is exactly ``52 + N + D`` bytes long; trailing bytes are an error.
``N`` is at most 16 MiB (:data:`MAX_HEADER_LENGTH`).

The JSON header is an object with exactly these keys:

``"metadata"``
    Object; arbitrary caller metadata (architecture, training info, ...).
    Strict JSON: no NaN or Infinity.
``"tensors"``
    Object mapping tensor name to ``{"dtype": str, "shape": [int, ...],
    "offsets": [begin, end]}``, in storage order.  Keys must be unique.
    ``dtype`` is a NumPy little-endian type string from :data:`ALLOWED_DTYPES`
    (e.g. ``"<f4"``, ``"|u1"``).  ``shape`` entries are non-negative integers
    (``[]`` for a scalar).  ``offsets`` are byte offsets relative to the start
    of the data section, with ``end - begin == itemsize * prod(shape)``.
``"data_length"``
    Integer ``D``, the byte length of the data section.
``"data_sha256"``
    Lower-case hex SHA-256 of the whole data section (including padding).

Tensor data is stored C-contiguous, little-endian.  The layout is canonical:
the first tensor begins at 0, every following tensor begins at the previous
tensor's ``end`` rounded up to a multiple of 64 (the gap is zero bytes), and
``D`` equals the last tensor's ``end`` (0 if there are no tensors).  Because
the data section itself starts at a multiple of 64, every tensor is 64-byte
aligned in the file.

Integrity: the prefix digest covers every byte before the data section and
``data_sha256`` (itself covered by the prefix digest) covers every byte of the
data section, so any modified byte anywhere in the file is detected.
"""

from __future__ import annotations

import hashlib
import math
import os
import struct
import sys
from typing import Any

import numpy as np

from nnkernels.formats import strict_json
from nnkernels.formats.errors import ModelFileError

__all__ = [
    "ALLOWED_DTYPES",
    "FORMAT_VERSION",
    "MAGIC",
    "MAX_HEADER_LENGTH",
    "ModelFileError",
    "load_arrays",
]

MAGIC = b"NNKMODEL"
FORMAT_VERSION = 1
ALIGNMENT = 64
MAX_HEADER_LENGTH = 16 * 1024 * 1024
_PREFIX = struct.Struct("<8sIQ")  # magic, version, header length
_DIGEST_SIZE = 32
_HEADER_KEYS = frozenset({"metadata", "tensors", "data_length", "data_sha256"})
_TENSOR_KEYS = frozenset({"dtype", "shape", "offsets"})
_CHUNK = 1 << 20
_MAX_NDIM = 32  # NumPy 1.x limit; NumPy 2 allows 64

#: Little-endian dtype strings that may appear in a file.
ALLOWED_DTYPES = frozenset({
    "|b1", "|i1", "|u1",
    "<i2", "<u2", "<i4", "<u4", "<i8", "<u8",
    "<f2", "<f4", "<f8", "<c8", "<c16",
})


# --------------------------------------------------------------------------
# helpers shared by reader and writer
# --------------------------------------------------------------------------

def _align(n: int) -> int:
    """Round ``n`` up to the next multiple of :data:`ALIGNMENT`."""
    return -(-n // ALIGNMENT) * ALIGNMENT


def _as_bytes(arr: np.ndarray) -> np.ndarray:
    """Return a flat ``uint8`` view of the C-contiguous array ``arr``."""
    return arr.reshape(-1).view(np.uint8)


# --------------------------------------------------------------------------
# reader
# --------------------------------------------------------------------------

class _Reader:
    """Validating reader for one open model file; every error names the path."""

    def __init__(self, fileobj, path: str):
        self.f = fileobj
        self.path = path
        self.size = os.fstat(fileobj.fileno()).st_size

    def fail(self, message: str) -> ModelFileError:
        """Return a :class:`ModelFileError` for ``message`` about this file."""
        return ModelFileError(f"{self.path}: {message}")

    def truncated(self, expected: int) -> ModelFileError:
        """Return a truncation error, ``expected`` bytes vs the actual size."""
        return self.fail(f"truncated: expected {expected} bytes, "
                         f"found {self.size}")

    def read_exact(self, n: int) -> bytes:
        """Read exactly ``n`` bytes or raise a truncation error."""
        data = self.f.read(n)
        if len(data) != n:
            raise self.truncated(self.f.tell() - len(data) + n)
        return data

    # -- prefix and header ---------------------------------------------------

    def read_prefix(self) -> tuple[bytes, int]:
        """Check magic and version; return the prefix bytes and header length."""
        start = self.f.read(_PREFIX.size)
        if not start:
            raise self.fail("empty file; not an nnkernels model file")
        if start[:len(MAGIC)] != MAGIC:
            if MAGIC.startswith(start):
                raise self.truncated(_PREFIX.size)
            raise ModelFileError(f"not an nnkernels model file: {self.path} "
                                 f"(starts with {start[:len(MAGIC)]!r})")
        if len(start) < _PREFIX.size:
            raise self.truncated(_PREFIX.size)
        _, version, length = _PREFIX.unpack(start)
        self.check_version(version)
        self.check_header_length(length)
        return start, length

    def check_version(self, version: int) -> None:
        """Reject format versions this reader does not understand."""
        if version > FORMAT_VERSION:
            raise self.fail(f"written by a newer nnkernels (format {version}); "
                            f"this version reads up to {FORMAT_VERSION}")
        if version < 1:
            raise self.fail(f"unsupported format version {version}; "
                            f"expected 1..{FORMAT_VERSION}")

    def check_header_length(self, length: int) -> None:
        """Validate the header length against the cap, alignment and size."""
        if length > MAX_HEADER_LENGTH:
            raise self.fail(f"header length {length} exceeds the limit of "
                            f"{MAX_HEADER_LENGTH} bytes")
        data_start = _PREFIX.size + length + _DIGEST_SIZE
        if data_start % ALIGNMENT:
            raise self.fail(f"header length {length} is invalid: data section "
                            f"would start at {data_start}, expected a "
                            f"multiple of {ALIGNMENT}")
        if data_start > self.size:
            raise self.truncated(data_start)

    def read_header(self, start: bytes, length: int) -> dict:
        """Read, checksum and parse the JSON header following ``start``."""
        raw = self.read_exact(length)
        stored = self.read_exact(_DIGEST_SIZE)
        computed = hashlib.sha256(start + raw).digest()
        if computed != stored:
            raise self.fail(f"checksum mismatch in header: stored "
                            f"{stored.hex()}, computed {computed.hex()}")
        return self.parse_json(raw)

    def parse_json(self, raw: bytes) -> dict:
        """Decode the header bytes as a strict JSON object."""
        return strict_json.loads(raw, self.path, "the header", limit=MAX_HEADER_LENGTH)

    # -- header validation ---------------------------------------------------

    def validate_header(self, header: dict) -> list[tuple[str, np.dtype, tuple, int, int]]:
        """Check the header's keys and types; return the tensor plan."""
        if set(header) != _HEADER_KEYS:
            raise self.fail(f"header keys must be {sorted(_HEADER_KEYS)}, "
                            f"found {sorted(header)}")
        if not isinstance(header["metadata"], dict):
            raise self.fail("header 'metadata' must be an object, found "
                            f"{type(header['metadata']).__name__}")
        if not isinstance(header["tensors"], dict):
            raise self.fail("header 'tensors' must be an object, found "
                            f"{type(header['tensors']).__name__}")
        digest = header["data_sha256"]
        if not (isinstance(digest, str) and len(digest) == 64
                and all(c in "0123456789abcdef" for c in digest)):
            raise self.fail(f"header 'data_sha256' must be 64 lower-case hex "
                            f"digits, found {digest!r}")
        plan = [self.validate_tensor(name, spec)
                for name, spec in header["tensors"].items()]
        self.check_offsets(plan, header["data_length"])
        return plan

    def validate_tensor(self, name: str, spec: Any) -> tuple:
        """Validate one tensor table entry; return (name, dtype, shape, begin, end)."""
        if not isinstance(spec, dict) or set(spec) != _TENSOR_KEYS:
            raise self.fail(f"tensor {name!r}: entry must be an object with "
                            f"keys {sorted(_TENSOR_KEYS)}, found {spec!r}")
        dtype = spec["dtype"]
        if not isinstance(dtype, str) or dtype not in ALLOWED_DTYPES:
            raise self.fail(f"tensor {name!r}: dtype {dtype!r} is not allowed; "
                            f"expected one of {sorted(ALLOWED_DTYPES)}")
        shape, offsets = spec["shape"], spec["offsets"]
        if not (isinstance(shape, list) and all(_is_uint(d) for d in shape)):
            raise self.fail(f"tensor {name!r}: shape must be a list of "
                            f"non-negative integers, found {shape!r}")
        if not (isinstance(offsets, list) and len(offsets) == 2
                and all(_is_uint(o) for o in offsets)):
            raise self.fail(f"tensor {name!r}: offsets must be [begin, end] "
                            f"non-negative integers, found {offsets!r}")
        dt = np.dtype(dtype)
        self.check_shape_fits(name, dt, shape)
        begin, end = offsets
        nbytes = dt.itemsize * math.prod(shape)
        if end - begin != nbytes:
            raise self.fail(f"tensor {name!r}: {dtype} {shape} needs {nbytes} "
                            f"bytes, offsets {offsets} span {end - begin}")
        return name, dt, tuple(shape), begin, end

    def check_shape_fits(self, name: str, dt: np.dtype, shape: list) -> None:
        """Reject shapes NumPy cannot represent (even when they hold no data)."""
        if len(shape) > _MAX_NDIM:
            raise self.fail(f"tensor {name!r}: {len(shape)} dimensions, at "
                            f"most {_MAX_NDIM} are supported")
        if math.prod(max(d, 1) for d in shape) * dt.itemsize > sys.maxsize:
            raise self.fail(f"tensor {name!r}: shape {shape} is too large "
                            f"for this platform")

    def check_offsets(self, plan: list, data_length: Any) -> None:
        """Check that tensors are ordered, aligned, disjoint and in range."""
        if not _is_uint(data_length):
            raise self.fail(f"header 'data_length' must be a non-negative "
                            f"integer, found {data_length!r}")
        prev_end, prev_name = 0, None
        for name, _, _, begin, end in plan:
            if begin < prev_end:
                raise self.fail(f"tensor {name!r}: offsets [{begin}, {end}] "
                                f"overlap or precede tensor {prev_name!r} "
                                f"ending at {prev_end}")
            if begin != _align(prev_end):
                raise self.fail(f"tensor {name!r}: begins at {begin}, "
                                f"expected {_align(prev_end)} (next "
                                f"{ALIGNMENT}-byte boundary)")
            prev_end, prev_name = end, name
        if data_length != prev_end:
            raise self.fail(f"header 'data_length' is {data_length}, expected "
                            f"{prev_end} (end of the last tensor)")

    # -- data ----------------------------------------------------------------

    def check_size(self, data_length: int) -> None:
        """Check that the file is exactly as long as the header says."""
        expected = self.f.tell() + data_length
        if self.size < expected:
            raise self.truncated(expected)
        if self.size > expected:
            raise self.fail(f"trailing bytes: expected {expected} bytes, "
                            f"found {self.size}")

    def skip_padding(self, n: int, digest) -> None:
        """Read ``n`` padding bytes into the running ``digest``."""
        while n:
            chunk = self.read_exact(min(n, _CHUNK))
            digest.update(chunk)
            n -= len(chunk)

    def read_arrays(self, plan: list, stored_hex: str) -> dict[str, np.ndarray]:
        """Read every tensor into fresh arrays and verify the data digest."""
        digest = hashlib.sha256()
        arrays, pos = {}, 0
        for name, dt, shape, begin, end in plan:
            self.skip_padding(begin - pos, digest)
            arr = np.empty(shape, dtype=dt)
            buf = _as_bytes(arr)
            if self.f.readinto(buf) != buf.size:
                raise self.truncated(self.f.tell() + buf.size)
            digest.update(buf)
            arrays[name] = arr
            pos = end
        if digest.hexdigest() != stored_hex:
            raise self.fail(f"checksum mismatch in data section: stored "
                            f"{stored_hex}, computed {digest.hexdigest()}")
        return {name: _to_native(arr) for name, arr in arrays.items()}


def _is_uint(value: Any) -> bool:
    """True for a non-negative ``int`` that is not a ``bool``."""
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def _to_native(arr: np.ndarray) -> np.ndarray:
    """Return ``arr`` in native byte order (a fresh copy if swapping)."""
    if arr.dtype.isnative:
        return arr
    return arr.astype(arr.dtype.newbyteorder("="))


def load_arrays(path: str | os.PathLike) -> tuple[dict[str, np.ndarray], dict]:
    """Read and fully validate a legacy ``.nnk`` file.

    Parameters
    ----------
    path : str or os.PathLike
        File to read.

    Returns
    -------
    arrays : dict[str, numpy.ndarray]
        Tensors in stored order; native byte order, C-contiguous, writeable
        and owning their memory.
    metadata : dict
        The header's ``"metadata"`` object.

    Raises
    ------
    ModelFileError
        If the file is not an nnkernels model file, was written by a newer
        format version, is truncated, fails a checksum or has an invalid
        header.  The message names the path and what was expected vs found.
    OSError
        If the file cannot be opened or read.
    """
    path = os.fspath(path)
    with open(path, "rb") as fileobj:
        reader = _Reader(fileobj, path)
        header = reader.read_header(*reader.read_prefix())
        plan = reader.validate_header(header)
        reader.check_size(header["data_length"])
        arrays = reader.read_arrays(plan, header["data_sha256"])
    return arrays, header["metadata"]
