"""Reading and writing IDX files (the MNIST file format), raw or gzip-compressed.

An IDX file is a 4-byte magic number ``00 00 TT NN`` (``TT`` the element type,
``NN`` the number of dimensions), ``NN`` big-endian uint32 dimension sizes, then
the elements in C order.  Only unsigned bytes (``TT == 0x08``) with one
dimension (labels, magic ``0x00000801``) or three (images, ``0x00000803``) are
supported.  Compression is detected from the gzip magic bytes ``1f 8b``, not
from the file name.
"""

import gzip
import math
from pathlib import Path

import numpy as np

from nnkernels._io import atomic_output

from ._errors import DatasetError
from ._files import sha256_hex
from ._gzip import ContentStream

__all__ = ["MAX_IDX_BYTES", "read_idx", "write_idx", "idx_bytes", "read_idx_content",
           "parse_idx"]

LABELS_MAGIC = 0x00000801
IMAGES_MAGIC = 0x00000803
_UBYTE = 0x08

#: Largest IDX content (header and elements, after decompression) read by default:
#: 1 GiB (MNIST's largest file is 47 MB). Pass ``max_bytes=`` to read larger files.
MAX_IDX_BYTES = 2**30


def _header(read, name, max_bytes):
    """Check the IDX header that ``read(n)`` yields; return (header length, shape, size).

    ``size`` (header plus elements) is computed with Python integers, so it cannot
    overflow, and is checked against ``max_bytes`` before anything is allocated.
    """
    magic = read(4)
    if len(magic) < 4:
        raise DatasetError(f"{name}: {len(magic)} bytes is too short for an IDX header "
                           "(expected at least 4)")
    if magic[0] or magic[1] or magic[3] not in (1, 3):
        raise DatasetError(
            f"{name}: bad IDX magic number 0x{int.from_bytes(magic, 'big'):08x}: expected "
            f"0x{LABELS_MAGIC:08x} (labels) or 0x{IMAGES_MAGIC:08x} (images)")
    if magic[2] != _UBYTE:
        raise DatasetError(f"{name}: IDX element type 0x{magic[2]:02x} is not supported: "
                           f"expected 0x{_UBYTE:02x} (unsigned byte)")
    header_len = 4 + 4 * magic[3]
    dims = read(header_len - 4)
    if len(dims) < header_len - 4:
        raise DatasetError(f"{name}: truncated IDX header: expected {header_len} bytes, "
                           f"found {4 + len(dims)}")
    shape = tuple(int.from_bytes(dims[i:i + 4], "big") for i in range(0, len(dims), 4))
    size = header_len + math.prod(shape)
    if size > max_bytes:
        raise DatasetError(
            f"{name}: the IDX header declares shape {shape}, i.e. {size} bytes, more than "
            f"the limit of {max_bytes} bytes (pass a larger max_bytes= to read it)")
    return header_len, shape, size


def _size_error(name, shape, size, found, where="the file holds"):
    what = "truncated" if found < size else "overlong"
    return DatasetError(f"{name}: {what} IDX file: the header declares shape {shape}, i.e. "
                        f"{size} bytes, but {where} {found} bytes")


def read_idx_content(path, *, max_bytes=MAX_IDX_BYTES):
    """Return the IDX content of ``path`` (gunzipped if it starts with ``1f 8b``).

    The header is read and checked first; the body is read (or decompressed) only up
    to the size the header declares, which must not exceed ``max_bytes``, and the
    compressed input is capped at twice that plus 1 MiB.

    Parameters
    ----------
    path : path-like
    max_bytes : int, default :data:`MAX_IDX_BYTES`

    Returns
    -------
    bytes
        The whole content, header included, of exactly the declared size.

    Raises
    ------
    DatasetError
        Unreadable file, corrupt gzip data, a bad header, or a content size that does
        not match the header (truncated or overlong) or exceeds ``max_bytes``.
    """
    try:
        f = open(path, "rb")
    except OSError as exc:
        raise DatasetError(f"{path}: cannot read file: {exc.strerror or exc}") from exc
    with f:
        stream = ContentStream(f, str(path))
        head = []

        def read(n):
            head.append(stream.read(n))
            return head[-1]

        header_len, shape, size = _header(read, path, max_bytes)
        if stream.compressed:
            stream.max_input = 2 * size + 2**20
            where = "the decompressed content holds"
        else:
            where = "the file holds"
            on_disk = stream.file_size()
            if on_disk is not None and on_disk != size:
                raise _size_error(path, shape, size, on_disk, where)
        body = stream.read_chunks(size - header_len)
        found = header_len + sum(map(len, body))
        if found < size:
            raise _size_error(path, shape, size, found, where)
        extra = stream.skip(size + 1)
        if extra > size:
            raise DatasetError(f"{path}: overlong IDX file: the header declares shape "
                               f"{shape}, i.e. {size} bytes, but {where} more than "
                               f"{2 * size} bytes")
        if extra:
            raise _size_error(path, shape, size, size + extra, where)
    return b"".join(head + body)


def parse_idx(data, name="<bytes>", *, sha256=None, max_bytes=MAX_IDX_BYTES):
    """Parse decompressed IDX bytes into an array.

    Parameters
    ----------
    data : bytes
        Uncompressed IDX content.
    name : str
        How to name the source in error messages.
    sha256 : str, optional
        Expected hexadecimal SHA-256 of ``data``; checked after the structure.
    max_bytes : int, default :data:`MAX_IDX_BYTES`
        Largest declared size accepted.

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
        matching the data (truncated or overlong) or above ``max_bytes``, or
        digest mismatch.
    """
    view = memoryview(data)
    offset = 0

    def read(n):
        nonlocal offset
        offset += n
        return bytes(view[offset - n:offset])

    header_len, shape, size = _header(read, name, max_bytes)
    if len(data) != size:
        raise _size_error(name, shape, size, len(data))
    if sha256 is not None:
        actual = sha256_hex(data)
        if actual != sha256:
            raise DatasetError(f"{name}: SHA-256 of the decompressed content is {actual}, "
                               f"expected {sha256}")
    return np.frombuffer(data, np.uint8, size - header_len, header_len).reshape(shape)


def read_idx(path, *, sha256=None, max_bytes=MAX_IDX_BYTES):
    """Read an IDX file of unsigned bytes, raw or gzip-compressed.

    This low-level reader checks only the file's structure (and the digest if
    ``sha256`` is given), so it can read custom IDX files.  Sizes are checked before
    anything is allocated: the size the header declares (computed without overflow)
    must match the bytes present and stay within ``max_bytes``, and a gzip file is
    decompressed only up to that size.

    Parameters
    ----------
    path : path-like
        The file.  gzip compression is detected from its first two bytes.
    sha256 : str, optional
        Expected SHA-256 (hex) of the *decompressed* content.
    max_bytes : int, default :data:`MAX_IDX_BYTES` (1 GiB)
        Largest content (header and elements, decompressed) accepted.

    Returns
    -------
    numpy.ndarray
        dtype uint8, shape ``(n,)`` (labels) or ``(n, rows, cols)`` (images).

    Raises
    ------
    DatasetError
        See :func:`read_idx_content` and :func:`parse_idx`.
    """
    return parse_idx(read_idx_content(path, max_bytes=max_bytes), str(path), sha256=sha256,
                     max_bytes=max_bytes)


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
