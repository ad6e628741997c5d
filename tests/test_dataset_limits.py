"""The data readers' limits (issue 14): declared sizes are checked before anything is
allocated, decompression stops at the declared size, and each limit can be raised by
the caller. Hostile files run under a small memory cap, so a reader that believed a
header would fail with MemoryError instead of DatasetError."""
import gzip
import io
import struct
import zipfile
import zlib

import numpy as np
import pytest

from fuzzing import memory_cap

from nnkernels import datasets
from nnkernels.datasets import DatasetError, read_csv, read_idx, read_images, write_idx
from nnkernels.datasets import _fetch, _pypi
from nnkernels.datasets._idx import MAX_IDX_BYTES, idx_bytes

SMALL = 64 * 2**20
PILLOW_LIMIT = 89_478_485  # PIL.Image.MAX_IMAGE_PIXELS; Image.open refuses twice that  # memory the readers may take beyond what the process holds


def png_with_size(width, height):
    """A valid 1x1 grey PNG whose IHDR then declares width x height (CRC fixed)."""
    from PIL import Image
    buf = io.BytesIO()
    Image.new("L", (1, 1)).save(buf, format="PNG")
    data = bytearray(buf.getvalue())
    data[16:24] = struct.pack(">II", width, height)
    data[29:33] = zlib.crc32(bytes(data[12:29])).to_bytes(4, "big")
    return bytes(data)


# ------------------------------------------------------------------------------- IDX
@pytest.mark.parametrize("shape", [(2**32 - 1,) * 3, (2**31, 2**31, 2**31), (70000, 100, 200)])
def test_idx_huge_declared_shape_refused_before_reading(tmp_path, shape):
    header = struct.pack(">I3I", 0x803, *shape)
    for name, data in (("raw", header + b"\0" * 100), ("gz", gzip.compress(header + b"\0" * 100))):
        path = tmp_path / name
        path.write_bytes(data)
        with memory_cap(SMALL), pytest.raises(DatasetError) as info:
            read_idx(path)
        size = 16 + shape[0] * shape[1] * shape[2]  # Python ints: no overflow
        assert str(path) in str(info.value) and str(size) in str(info.value)
        assert f"limit of {MAX_IDX_BYTES} bytes" in str(info.value)


def test_idx_declared_size_within_limit_but_not_present(tmp_path):
    # 900 MB declared, 100 bytes present: refused without allocating the 900 MB
    header = struct.pack(">I3I", 0x803, 1000, 1000, 900)
    raw, gz = tmp_path / "raw", tmp_path / "gz"
    raw.write_bytes(header + b"\0" * 100)
    gz.write_bytes(gzip.compress(header + b"\0" * 100))
    for path in (raw, gz):
        with memory_cap(SMALL), pytest.raises(DatasetError, match="truncated IDX file"):
            read_idx(path)


def test_gzip_bomb_stops_at_the_declared_size(tmp_path):
    # 10 labels, then 256 MiB of zeros that compress to about 256 KB
    comp = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    parts = [comp.compress(idx_bytes(np.arange(10, dtype=np.uint8)))]
    zeros = bytes(2**20)
    parts += [comp.compress(zeros) for _ in range(256)]
    parts.append(comp.flush())
    path = tmp_path / "bomb.gz"
    path.write_bytes(b"".join(parts))
    assert path.stat().st_size < 2**20
    # The outcome, not a timing: under the memory cap (far below 256 MiB), the reader
    # stops at the declared size and names it.
    with memory_cap(SMALL), pytest.raises(DatasetError) as info:
        read_idx(path)
    assert "overlong IDX file" in str(info.value) and "more than 36 bytes" in str(info.value)


def test_gzip_members_and_padding(tmp_path):
    content = idx_bytes(np.arange(10, dtype=np.uint8))
    path = tmp_path / "two.gz"
    path.write_bytes(gzip.compress(content[:7]) + gzip.compress(content[7:]) + b"\0" * 10)
    np.testing.assert_array_equal(read_idx(path), np.arange(10))
    path.write_bytes(gzip.compress(content) + b"garbage")
    with pytest.raises(DatasetError, match="trailing bytes"):
        read_idx(path)
    path.write_bytes(gzip.compress(content) + b"\x1f\x8b" + b"\0" * 20)
    with pytest.raises(DatasetError, match="corrupt gzip data"):
        read_idx(path)
    good = gzip.compress(content)
    for bad in (good[:-8] + b"\0\0\0\0" + good[-4:], good[:-4] + b"\xff\0\0\0"):
        path.write_bytes(bad)  # a wrong CRC-32, then a wrong length in the trailer
        with pytest.raises(DatasetError, match="corrupt gzip data"):
            read_idx(path)


def test_idx_padded_gzip_input_capped(tmp_path):
    content = idx_bytes(np.arange(10, dtype=np.uint8))
    path = tmp_path / "padded.gz"
    path.write_bytes(gzip.compress(content) + b"\0" * (3 * 2**20))
    with pytest.raises(DatasetError, match="compressed file is larger than"):
        read_idx(path)


def test_idx_limit_can_be_raised(tmp_path):
    images = np.zeros((4, 28, 28), np.uint8)
    path = write_idx(tmp_path / "x.gz", images)
    with pytest.raises(DatasetError, match="pass a larger max_bytes="):
        read_idx(path, max_bytes=1000)
    assert read_idx(path, max_bytes=16 + 4 * 784).shape == (4, 28, 28)


def test_idx_from_a_device_or_a_folder(tmp_path):
    with pytest.raises(DatasetError, match="bad IDX magic number 0x00000000"):
        read_idx("/dev/zero")
    with pytest.raises(DatasetError, match="cannot read file"):
        read_idx(tmp_path)


# ------------------------------------------------------------------------------- CSV
def test_csv_limits(tmp_path):
    path = tmp_path / "t.csv"
    path.write_text("a,b\n1,2\n3,4\n\n5,6\n")
    assert read_csv(path)[1].shape == (3, 2)
    cases = [
        (dict(max_bytes=10), "larger than 10 bytes"),
        (dict(max_rows=4), "more than 4 lines"),
        (dict(max_columns=1), "the header has 2 columns, more than 1"),
        (dict(max_field_chars=0), "more than 0"),
    ]
    for kwargs, message in cases:
        with pytest.raises(DatasetError, match=message) as info:
            read_csv(path, **kwargs)
        assert str(path) in str(info.value)
        assert read_csv(path, **{k: v * 100 + 10 for k, v in kwargs.items()})[1].shape == (3, 2)


def test_csv_hostile_files(tmp_path):
    with memory_cap(2 * datasets._csv.MAX_CSV_BYTES + SMALL), \
            pytest.raises(DatasetError, match="larger than 67108864 bytes"):
        read_csv("/dev/zero")
    path = tmp_path / "t.csv"
    for content, message in [
        (b"a,b\n1," + b"9" * 200 + b"\n", "a cell of 200 characters"),
        (b"a,b\n1,\"" + b"9" * 200_000 + b"\"\n", "field larger than field limit"),
        (b"a,b\n1,1e999\n", "not a finite number"),
        (b"a,b\n1,\0\n", r"line 2, column 2 \('b'\): cannot read '\\x00'"),
        (b"a,b\n", "no data rows"),
        (b"a,b\n1,2,3\n", "3 columns, expected 2"),
    ]:
        path.write_bytes(content)
        with pytest.raises(DatasetError, match=message):
            read_csv(path)


# ---------------------------------------------------------------------------- images
@pytest.mark.parametrize("size", [(2**31 - 1, 1), (100_000, 100_000), (4097, 10)])
def test_picture_size_checked_before_decoding(tmp_path, size):
    path = tmp_path / "big.png"
    path.write_bytes(png_with_size(*size))
    with memory_cap(SMALL), pytest.raises(DatasetError) as info:
        read_images(path)
    if size[0] * size[1] > 2 * PILLOW_LIMIT:  # Pillow's own check comes first
        assert f"the picture is too large: Image size ({size[0] * size[1]} pixels) " \
            f"exceeds limit of {2 * PILLOW_LIMIT} pixels" in str(info.value)
    else:
        assert f"{size[0]}x{size[1]} pixels, larger than the limit of 4096 pixels a side" \
            in str(info.value)


def test_jpeg_size_checked_before_decoding(tmp_path):
    from PIL import Image
    buf = io.BytesIO()
    Image.new("L", (8, 8)).save(buf, format="JPEG")
    data = bytearray(buf.getvalue())
    sof = data.index(b"\xff\xc0")
    data[sof + 5:sof + 9] = struct.pack(">HH", 65535, 65535)
    path = tmp_path / "big.jpg"
    path.write_bytes(bytes(data))
    with memory_cap(SMALL), pytest.raises(DatasetError, match="too large"):
        read_images(path)
    data[sof + 5:sof + 9] = struct.pack(">HH", 5000, 50)  # height, then width
    path.write_bytes(bytes(data))
    with memory_cap(SMALL), pytest.raises(DatasetError, match="50x5000 pixels, larger"):
        read_images(path)


def test_picture_limit_can_be_raised(tmp_path):
    from PIL import Image
    path = tmp_path / "wide.png"
    Image.new("L", (5000, 3), 255).save(path)
    with pytest.raises(DatasetError, match="pass a larger max_side="):
        read_images(path)
    [(index, pixels, inverted)] = read_images(path, max_side=5000)
    assert index is None and inverted and pixels.shape == (784,)


def test_picture_formats_outside_the_list_refused(tmp_path):
    path = tmp_path / "x.eps"
    path.write_bytes(b"%!PS-Adobe-3.0 EPSF-3.0\n%%BoundingBox: 0 0 10 10\nshowpage\n")
    with pytest.raises(DatasetError, match="not a picture of a supported format"):
        read_images(path)


def test_png_chunk_longer_than_the_file(tmp_path):
    # an IDAT chunk declaring 4 GB: Pillow would read that at once from a file
    from PIL import Image
    buf = io.BytesIO()
    Image.new("L", (28, 28), 7).save(buf, format="PNG")
    data = bytearray(buf.getvalue())
    idat = data.index(b"IDAT") - 4
    data[idat:idat + 4] = (2**32 - 1).to_bytes(4, "big")
    path = tmp_path / "idat.png"
    path.write_bytes(bytes(data))
    with memory_cap(SMALL):
        [(_, pixels, _)] = read_images(path)  # zlib's stream ends before the file does
    np.testing.assert_allclose(pixels, 7 / 255, atol=1e-6)


def test_idx_images_limits(tmp_path):
    path = write_idx(tmp_path / "x", np.zeros((5, 28, 28), np.uint8))
    with pytest.raises(DatasetError, match="holds 5 images, more than the limit of 4"):
        read_images(path, max_images=4)
    assert len(read_images(path, max_images=5)) == 5
    path = write_idx(tmp_path / "y", np.zeros((1, 0, 28), np.uint8))
    with pytest.raises(DatasetError, match="0x28 pixels"):
        read_images(path)


# ------------------------------------------------------------------ downloaded archives
def test_wheel_member_declaring_too_much(tmp_path, monkeypatch):
    path = tmp_path / "w.whl"
    with zipfile.ZipFile(path, "w") as zf:
        for member in _pypi.WHEEL_MEMBERS:
            zf.writestr(member, "label,p\n" + "1,2\n" * 100)
    monkeypatch.setattr(_pypi, "MAX_MEMBER_BYTES", 50)
    with pytest.raises(DatasetError, match="declares 408 bytes, more than the limit of 50"):
        _pypi.wheel_to_idx(path, tmp_path / "out", {})


def test_wheel_csv_rows_checked_before_the_table_is_allocated():
    # a million one-field rows where 785 fields are expected: 785 MB if allocated first
    data = b"header\n" + b"1\n" * 1_000_000
    with memory_cap(SMALL), pytest.raises(DatasetError, match="line 2 has 1 fields, "
                                                              "expected 785"):
        _pypi.parse_uint8_csv(data, "x.csv", 785)


def test_download_refuses_an_announced_size_over_the_limit(tmp_path, monkeypatch):
    import http.server
    import threading

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            self.send_response(200)
            self.send_header("Content-Length", str(2**40))
            self.end_headers()
            self.wfile.write(b"x" * 100)

        def log_message(self, *args):
            pass

    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        url = f"http://127.0.0.1:{httpd.server_address[1]}/f.gz"
        monkeypatch.delenv("http_proxy", raising=False)
        with pytest.raises(DatasetError, match=f"announces {2**40} bytes"):
            _fetch.download(url, tmp_path / "f.gz", timeout=5)
        assert not list(tmp_path.iterdir())
    finally:
        httpd.shutdown()
        httpd.server_close()
