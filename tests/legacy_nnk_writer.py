"""The writer of the legacy ``.nnk`` format (version 1), as nnkernels 0.1 shipped it
(python/nnkernels/_fileformat.py at commit 828c59a). The package only reads that format
now (nnkernels.formats.legacy_nnk); the tests keep the writer to make files for it."""
import hashlib
import json
import os
from collections.abc import Mapping
from typing import Any

import numpy as np

from nnkernels._io import atomic_output
from nnkernels.formats.legacy_nnk import (_PREFIX, ALIGNMENT, ALLOWED_DTYPES, FORMAT_VERSION,
                                          MAGIC, MAX_HEADER_LENGTH, _DIGEST_SIZE)


def _align(n: int) -> int:
    """Round ``n`` up to the next multiple of :data:`ALIGNMENT`."""
    return -(-n // ALIGNMENT) * ALIGNMENT


def _as_bytes(arr: np.ndarray) -> np.ndarray:
    """Return a flat ``uint8`` view of the C-contiguous array ``arr``."""
    return arr.reshape(-1).view(np.uint8)


def _prepare_array(name: Any, value: Any) -> np.ndarray:
    """Return ``value`` as a C-contiguous little-endian array, or raise."""
    if not isinstance(name, str):
        raise TypeError(f"tensor names must be str, got {type(name).__name__}")
    arr = np.asarray(value)
    little = arr.dtype.newbyteorder("<")
    if little.str not in ALLOWED_DTYPES:
        raise TypeError(
            f"tensor {name!r}: dtype {arr.dtype.str!r} is not supported; "
            f"allowed: {sorted(ALLOWED_DTYPES)}")
    # astype(order="C") keeps 0-d arrays 0-d (np.ascontiguousarray does not).
    return arr.astype(little, order="C", copy=False)


def _build_table(arrays: list[tuple[str, np.ndarray]]) -> tuple[dict, int]:
    """Compute the tensor table and data length for prepared arrays."""
    table, end = {}, 0
    for name, arr in arrays:
        begin = _align(end)
        end = begin + arr.nbytes
        table[name] = {"dtype": arr.dtype.str, "shape": list(arr.shape),
                       "offsets": [begin, end]}
    return table, end


def _iter_data_chunks(arrays: list[tuple[str, np.ndarray]]):
    """Yield the data section as a sequence of buffers (data and padding)."""
    pos = 0
    for _, arr in arrays:
        pad = _align(pos) - pos
        if pad:
            yield bytes(pad)
        yield _as_bytes(arr)
        pos += pad + arr.nbytes


def _encode_header(header: dict) -> bytes:
    """Encode ``header`` as strict JSON, space-padded to keep alignment."""
    try:
        text = json.dumps(header, ensure_ascii=False, allow_nan=False,
                          separators=(",", ":"))
    except (TypeError, ValueError) as exc:
        raise ValueError(f"header metadata is not strict JSON: {exc}") from exc
    raw = text.encode("utf-8")
    padded = _align(_PREFIX.size + len(raw) + _DIGEST_SIZE)
    raw += b" " * (padded - _PREFIX.size - _DIGEST_SIZE - len(raw))
    if len(raw) > MAX_HEADER_LENGTH:
        raise ValueError(f"header is {len(raw)} bytes; the limit is "
                         f"{MAX_HEADER_LENGTH}")
    return raw


def _build_prefix(header: Mapping, arrays: list[tuple[str, np.ndarray]]) -> bytes:
    """Return every byte of the file that precedes the data section."""
    if not isinstance(header, Mapping):
        raise TypeError(f"header must be a dict, got {type(header).__name__}")
    table, data_length = _build_table(arrays)
    digest = hashlib.sha256()
    for chunk in _iter_data_chunks(arrays):
        digest.update(chunk)
    raw = _encode_header({"metadata": dict(header), "tensors": table,
                          "data_length": data_length,
                          "data_sha256": digest.hexdigest()})
    head = _PREFIX.pack(MAGIC, FORMAT_VERSION, len(raw)) + raw
    return head + hashlib.sha256(head).digest()


def _write_file(fileobj, prefix: bytes, arrays: list[tuple[str, np.ndarray]]) -> None:
    """Write the prefix and data section to ``fileobj`` (atomic_output fsyncs it)."""
    fileobj.write(prefix)
    for chunk in _iter_data_chunks(arrays):
        fileobj.write(chunk)


def save_arrays(path: str | os.PathLike, arrays: Mapping[str, Any],
                header: Mapping[str, Any]) -> None:
    """Atomically write named arrays and metadata to ``path``.

    Parameters
    ----------
    path : str or os.PathLike
        Destination file.  An existing file is replaced only once the new
        file has been completely written and fsync'ed.
    arrays : Mapping[str, array_like]
        Ordered mapping of tensor name to array.  Any shape (including 0-d
        and empty) and any dtype in :data:`ALLOWED_DTYPES` (in either byte
        order) is accepted; data is stored C-contiguous little-endian.
    header : Mapping[str, Any]
        Caller metadata, stored under ``"metadata"``; must be strict JSON
        (no NaN/Infinity, string keys).

    Raises
    ------
    TypeError
        If a name is not a ``str``, a dtype is not allowed or ``header`` is
        not a mapping.
    ValueError
        If ``header`` is not JSON-serialisable or too large.
    OSError
        If writing fails.  No partial file is left at ``path``.
    """
    path = os.fspath(path)
    prepared = [(name, _prepare_array(name, value))
                for name, value in arrays.items()]
    prefix = _build_prefix(header, prepared)
    with atomic_output(path, make_parents=False) as fileobj:
        _write_file(fileobj, prefix, prepared)


