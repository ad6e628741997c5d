"""Reading and writing IDX files (the MNIST file format), raw or gzip-compressed.

An IDX file is a 4-byte magic number ``00 00 TT NN`` (``TT`` the element type,
``NN`` the number of dimensions), ``NN`` big-endian uint32 dimension sizes, then
the elements in C order.  Only unsigned bytes (``TT == 0x08``) with one
dimension (labels, magic ``0x00000801``) or three (images, ``0x00000803``) are
supported.  Compression is detected from the gzip magic bytes ``1f 8b``, not
from the file name.
"""

import gzip
import zlib
from pathlib import Path

import numpy as np

from ._errors import DatasetError
from nnkernels._io import atomic_output

from ._files import sha256_hex

__all__ = ["read_idx", "write_idx", "idx_bytes", "decompressed_bytes", "parse_idx"]

LABELS_MAGIC = 0x00000801
IMAGES_MAGIC = 0x00000803
_UBYTE = 0x08
_GZIP_MAGIC = b"\x1f\x8b"


def decompressed_bytes(path, data=None):
    """Return the content of ``path``, gunzipped if it starts with ``1f 8b``.

    Parameters
    ----------
    path : path-like
        The file (also used to name it in error messages).
    data : bytes, optional
        The file's bytes, if already read.

    Returns
    -------
    bytes
    """
    if data is None:
        try:
            data = Path(path).read_bytes()
        except OSError as exc:
            raise DatasetError(f"{path}: cannot read file: {exc.strerror or exc}") from exc
    if data[:2] == _GZIP_MAGIC:
        try:
            data = gzip.decompress(data)
        except (OSError, EOFError, zlib.error) as exc:
            raise DatasetError(f"{path}: corrupt gzip data: {exc}") from exc
    return data


def parse_idx(data, name="<bytes>", *, sha256=None):
    """Parse decompressed IDX bytes into an array.

    Parameters
    ----------
    data : bytes
        Uncompressed IDX content.
    name : str
        How to name the source in error messages.
    sha256 : str, optional
        Expected hexadecimal SHA-256 of ``data``; checked after the structure.

    Returns
    -------
    numpy.ndarray
        dtype uint8, shape ``(n,)`` for a label file or ``(n, rows, cols)`` for
        an image file, as declared by the header.  It is a read-only view of
        ``data``.

    Raises
    ------
    DatasetError
        Short header, wrong magic number or element type, declared size not
        matching the file size (truncated or overlong), or digest mismatch.
    """
    if len(data) < 4:
        raise DatasetError(f"{name}: {len(data)} bytes is too short for an IDX header "
                           "(expected at least 4)")
    magic = int.from_bytes(data[:4], "big")
    if data[0] or data[1] or data[3] not in (1, 3):
        raise DatasetError(
            f"{name}: bad IDX magic number 0x{magic:08x}: expected 0x{LABELS_MAGIC:08x} "
            f"(labels) or 0x{IMAGES_MAGIC:08x} (images)")
    if data[2] != _UBYTE:
        raise DatasetError(f"{name}: IDX element type 0x{data[2]:02x} is not supported: "
                           f"expected 0x{_UBYTE:02x} (unsigned byte)")
    ndim = data[3]
    header = 4 + 4 * ndim
    if len(data) < header:
        raise DatasetError(f"{name}: truncated IDX header: expected {header} bytes, "
                           f"found {len(data)}")
    shape = tuple(int(d) for d in np.frombuffer(data, ">u4", ndim, 4))
    expected = header + int(np.prod(shape, dtype=np.int64))
    if len(data) != expected:
        what = "truncated" if len(data) < expected else "overlong"
        raise DatasetError(
            f"{name}: {what} IDX file: the header declares shape {shape}, i.e. "
            f"{expected} bytes, but the file holds {len(data)} bytes")
    if sha256 is not None:
        actual = sha256_hex(data)
        if actual != sha256:
            raise DatasetError(f"{name}: SHA-256 of the decompressed content is {actual}, "
                               f"expected {sha256}")
    return np.frombuffer(data, np.uint8, expected - header, header).reshape(shape)


def read_idx(path, *, sha256=None):
    """Read an IDX file of unsigned bytes, raw or gzip-compressed.

    This low-level reader checks only the file's structure (and the digest if
    ``sha256`` is given), so it can read custom IDX files.

    Parameters
    ----------
    path : path-like
        The file.  gzip compression is detected from its first two bytes.
    sha256 : str, optional
        Expected SHA-256 (hex) of the *decompressed* content.

    Returns
    -------
    numpy.ndarray
        dtype uint8, shape ``(n,)`` (labels) or ``(n, rows, cols)`` (images).

    Raises
    ------
    DatasetError
        See :func:`parse_idx`; also when the file cannot be read or un-gzipped.
    """
    return parse_idx(decompressed_bytes(path), str(path), sha256=sha256)


def idx_bytes(array):
    """Encode a uint8 array of 1 or 3 dimensions as uncompressed IDX bytes.

    Parameters
    ----------
    array : array_like of uint8, shape (n,) or (n, rows, cols)

    Returns
    -------
    bytes
    """
    array = np.asarray(array)
    if array.dtype != np.uint8 or array.ndim not in (1, 3):
        raise ValueError(f"expected a uint8 array of 1 or 3 dimensions, got "
                         f"{array.dtype} of {array.ndim} dimensions")
    magic = LABELS_MAGIC if array.ndim == 1 else IMAGES_MAGIC
    header = np.array((magic,) + array.shape, ">u4").tobytes()
    return header + np.ascontiguousarray(array).tobytes()


def write_idx(path, array, *, compress=None):
    """Write a uint8 array as an IDX file, atomically.

    Parameters
    ----------
    path : path-like
        Destination.
    array : array_like of uint8, shape (n,) or (n, rows, cols)
    compress : bool, optional
        gzip the file; by default when ``path`` ends with ``.gz``.

    Returns
    -------
    pathlib.Path
        ``path``.
    """
    path = Path(path)
    data = idx_bytes(array)
    if compress is None:
        compress = path.name.endswith(".gz")
    if compress:
        data = gzip.compress(data, compresslevel=6, mtime=0)
    with atomic_output(path) as f:
        f.write(data)
    return path
