"""The command line's failure contract (issue 14), case by case and subcommand by
subcommand: an expected failure prints ONE line ``nnkernels: error: ...`` on stderr and
exits with status 2 (bad command line) or 1 (the rest); Ctrl-C prints ``nnkernels:
interrupted`` and exits with 1; ``--debug`` or NNKERNELS_DEBUG=1 adds the traceback;
a bug shows its traceback and ``nnkernels: internal error``.

Most cases run in-process through ``main([...])``; the ones that need a real process
(a full disk behind stdout, a file-size limit, a real SIGINT) run ``python -m
nnkernels``.
"""
import errno
import gzip
import importlib.util
import os
import resource
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
from PIL import Image

import nnkernels
from nnkernels import datasets
from nnkernels.cli import main
from nnkernels.datasets import _files, _pypi, write_idx

from conftest import DATA_ROOT, PACKAGE_PARENT
from test_dataset_limits import png_with_size

HAVE_MNIST = (DATA_ROOT / "mnist").is_dir()
needs_mnist = pytest.mark.skipif(not HAVE_MNIST, reason="set NNKERNELS_DATA to a folder "
                                                        "holding mnist/")


@pytest.fixture(autouse=True)
def no_data_anywhere(monkeypatch, tmp_path):
    """No data set is found unless a test points at one; nothing is downloaded."""
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.delenv("XDG_CACHE_HOME", raising=False)
    monkeypatch.delenv("NNKERNELS_DATA", raising=False)
    monkeypatch.delenv("NNKERNELS_DEBUG", raising=False)
    monkeypatch.setattr(_files, "SYSTEM_DIRS", ())
    for var in ("NNKERNELS_MNIST_MIRRORS", "NNKERNELS_FASHION_MNIST_MIRRORS",
                "NNKERNELS_WORKSHOP_URLS"):
        monkeypatch.setenv(var, "http://127.0.0.1:1/")
    monkeypatch.setattr(_pypi, "pip_download", lambda *a, **k: (_ for _ in ()).throw(
        datasets.DatasetError("pip download: disabled in this test")))
    monkeypatch.chdir(tmp_path)


def run(capsys, *argv):
    """main(argv) -> (status, stdout, stderr)."""
    status = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return status, out, err


def assert_one_line(err, status, expected_status, *fragments):
    assert status == expected_status, err
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("nnkernels: error: "), err
    assert "Traceback" not in err
    for fragment in fragments:
        assert fragment in lines[0], err


@pytest.fixture
def model_file(tmp_path):
    path = tmp_path / "m.nnk"
    nnkernels.save(nnkernels.models.mnist_classifier(seed=0), path)
    return path


@pytest.fixture
def digit_png(tmp_path):
    path = tmp_path / "digit.png"
    Image.fromarray(np.zeros((28, 28), np.uint8)).save(path)
    return path


# ------------------------------------------------------------------- bad command lines
@pytest.mark.parametrize("argv, fragment", [
    (["--bogus", "info"], "unrecognized arguments: --bogus"),
    ([], "the following arguments are required: COMMAND"),
    (["frobnicate"], "invalid choice: 'frobnicate'"),
    (["train", "classifier", "--epochs", "x"], "argument --epochs: expected an integer"),
    (["train", "classifier", "--lr", "inf"], "argument --lr: must be a finite number >= 0"),
    (["train", "classifier", "--threads", "1000"],
     "argument --threads: must be at most"),
    (["train", "autoencoder", "--threads", "0"], "argument --threads: must be an integer >= 1"),
    (["train", "iris", "--seed", "-1"], "argument --seed: must be an integer >= 0"),
    (["train", "logistic", "--solver", "newton"], "argument --solver: invalid choice"),
    (["evaluate"], "the following arguments are required: MODEL"),
    (["evaluate", "m.nnk", "--dataset", "cifar"], "argument --dataset: invalid choice"),
    (["predict", "m.nnk"], "the following arguments are required: INPUT"),
    (["fetch", "cifar"], "argument name: invalid choice: 'cifar'"),
    (["export", "m.nnk"], "the following arguments are required: OUT"),
    (["export", "m.nnk", "m.onnx", "--opset", "5"], "argument --opset: must be an integer >= 13"),
    (["info", "--verbose"], "unrecognized arguments: --verbose"),
], ids=lambda v: " ".join(v) if isinstance(v, list) else None)
def test_usage_errors_exit_2(capsys, argv, fragment):
    status, out, err = run(capsys, *argv)
    assert_one_line(err, status, 2, fragment, "--help")
    assert out == ""


def test_threads_limit_is_the_cpu_count(capsys):
    cpus = len(os.sched_getaffinity(0))
    status, _, err = run(capsys, "train", "classifier", "--threads", cpus + 1)
    assert_one_line(err, status, 2, f"must be at most {cpus}, the number of CPUs",
                    f"got {cpus + 1}")


# ------------------------------------------------------------------------ missing files
def test_missing_files(capsys, tmp_path, model_file, digit_png):
    nowhere = tmp_path / "nowhere"
    cases = [
        (["evaluate", nowhere / "m.nnk"], "m.nnk: no such model file"),
        (["evaluate", tmp_path], f"{tmp_path}: not a file"),
        (["predict", nowhere / "m.nnk", digit_png], "m.nnk: no such model file"),
        (["predict", model_file, nowhere / "x.png"], "x.png: no such image file"),
        # a folder is read file by file: here it holds the model file, not a picture
        (["predict", model_file, tmp_path], "m.nnk: not a picture of a supported format"),
        (["export", nowhere / "m.nnk", tmp_path / "m.onnx"], "m.nnk: no such model file"),
    ]
    for argv, fragment in cases:
        status, out, err = run(capsys, *argv)
        assert_one_line(err, status, 1, fragment)
        assert out == ""


@pytest.mark.parametrize("argv", [
    ["train", "classifier", "--output", "run"],
    ["evaluate", "MODEL"],
    ["fetch", "mnist"],
    ["fetch", "workshop"],
])
def test_data_not_found(capsys, tmp_path, model_file, argv):
    """The data-set search reports every place it tried, one per line after the error
    line: the one exception to "one line", and it holds no traceback."""
    argv = [model_file if a == "MODEL" else a for a in argv]
    status, out, err = run(capsys, *argv, "--data", tmp_path / "nowhere", "--no-download")
    assert status == 1 and out == "" and "Traceback" not in err
    lines = err.strip().splitlines()
    first = [i for i, line in enumerate(lines) if line.startswith("nnkernels: error: ")]
    assert len(first) == 1 and "not found" in lines[first[0]]
    assert str(tmp_path / "nowhere") in err and "--data FOLDER" in lines[-1]
    assert not (tmp_path / "run").exists()


def test_workshop_data_missing(capsys, tmp_path):
    status, _, err = run(capsys, "train", "iris", "--data", tmp_path / "nowhere",
                         "--output", tmp_path / "out")
    assert status == 1 and "Traceback" not in err
    assert err.startswith("nnkernels: error: workshop data (iris_train.csv, iris_test.csv) "
                          "not found")


# ----------------------------------------------------------------------- malformed files
def test_malformed_model_files(capsys, tmp_path, model_file, digit_png):
    bad = tmp_path / "bad.nnk"
    for content in (b"", b"garbage" * 50, model_file.read_bytes()[:200]):
        bad.write_bytes(content)
        for argv in (["evaluate", bad], ["predict", bad, digit_png],
                     ["export", bad, tmp_path / "m.onnx"]):
            status, out, err = run(capsys, *argv)
            assert_one_line(err, status, 1, str(bad))
            assert out == ""
    assert not (tmp_path / "m.onnx").exists()


def test_malformed_images(capsys, tmp_path, model_file, digit_png):
    noise = tmp_path / "noise.png"
    Image.fromarray(np.random.default_rng(0).integers(0, 256, (28, 28), np.uint8)).save(noise)
    png = noise.read_bytes()
    bomb = gzip.compress(b"\0\0\x08\x03" + (1).to_bytes(4, "big") + (28).to_bytes(4, "big")
                         + (28).to_bytes(4, "big") + bytes(784 + 2**24))
    wide = tmp_path / "wide.png"
    Image.new("L", (5000, 2)).save(wide)
    big = tmp_path / "big.png"  # 100 megapixels: Pillow warns in open(), before our check
    big.write_bytes(png_with_size(10_000, 10_000))
    cases = {
        "truncated.png": (png[:len(png) // 2], "cannot decode the PNG picture"),
        "text.png": (b"not a picture", "not a picture of a supported format"),
        "bomb.gz": (bomb, "overlong IDX file"),
        "labels.idx": (None, "expected images"),
        "wide.png": (None, "larger than the limit of 4096 pixels a side"),
        "big.png": (None, "10000x10000 pixels, larger than the limit"),
    }
    write_idx(tmp_path / "labels.idx", np.arange(3, dtype=np.uint8))
    for name, (content, fragment) in cases.items():
        if content is not None:
            (tmp_path / name).write_bytes(content)
        status, out, err = run(capsys, "predict", model_file, digit_png, tmp_path / name)
        assert_one_line(err, status, 1, str(tmp_path / name), fragment)
        assert out == ""  # every image is read before anything is printed


def test_malformed_data_files(capsys, tmp_path, model_file):
    folder = tmp_path / "mnist"
    folder.mkdir()
    for name in datasets.IDX_FILES:
        (folder / f"{name}.gz").write_bytes(gzip.compress(b"\0\0\x08\x03" + b"\xff" * 12))
    for argv in (["train", "classifier", "--output", "run"], ["evaluate", model_file],
                 ["fetch", "mnist"]):
        status, out, err = run(capsys, *argv, "--data", folder, "--no-download")
        assert status == 1 and "Traceback" not in err
        assert "limit of 1073741824 bytes" in err and str(folder) in err
    workshop = tmp_path / "workshop"
    workshop.mkdir()
    (workshop / "iris_train.csv").write_text("sepal_length,oops\n1,2\n")
    (workshop / "iris_test.csv").write_text("sepal_length,oops\n1,2\n")
    status, _, err = run(capsys, "train", "iris", "--data", workshop, "--output", "out")
    assert_one_line(err, status, 1, "iris_train.csv: line 1: header is")


# -------------------------------------------------------------------- unsupported models
@pytest.mark.parametrize("sizes, loss, fragment", [
    ([(10, 4, None)], "mse", "the model takes 10 inputs"),
    ([(784, 5, None)], "mse", "neither a classifier"),
])
def test_unsupported_model_kinds(capsys, tmp_path, digit_png, sizes, loss, fragment):
    layers = [nnkernels.Dense(i, o, activation=a, seed=0) for i, o, a in sizes]
    model = nnkernels.Sequential(layers)
    model.compile(nnkernels.SGD(lr=0.1), loss)
    path = nnkernels.save(model, tmp_path / "odd.nnk") or tmp_path / "odd.nnk"
    for argv in (["evaluate", path], ["predict", path, digit_png]):
        status, out, err = run(capsys, *argv)
        assert_one_line(err, status, 1, str(path), fragment)


# ------------------------------------------------------------------------- a full disk
def full_disk(*args, **kwargs):
    raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))


def test_full_disk_while_writing_outputs(capsys, tmp_path, monkeypatch):
    """A write that fails for lack of space names the file; nothing half-written stays."""
    workshop = DATA_ROOT / "workshop"
    if not workshop.is_dir():
        pytest.skip("set NNKERNELS_DATA to a folder holding workshop/")
    monkeypatch.setattr(os, "fsync", full_disk)
    out = tmp_path / "out"
    status, _, err = run(capsys, "train", "iris", "--data", workshop, "--output", out,
                         "--quiet")
    assert_one_line(err, status, 1, "No space left on device", str(out))
    assert not [p for p in out.rglob("*") if p.is_file()]


def test_full_disk_while_exporting(capsys, tmp_path, monkeypatch, model_file):
    if importlib.util.find_spec("onnx") is None and not os.environ.get("CI"):
        pytest.skip('pip install "nnkernels[onnx]"')
    monkeypatch.setattr(os, "fsync", full_disk)
    status, out, err = run(capsys, "export", model_file, tmp_path / "m.onnx")
    assert_one_line(err, status, 1, "m.onnx", "No space left on device")
    assert out == "" and not list(tmp_path.glob("*onnx*"))


def run_process(*argv, stdout=subprocess.PIPE, limit_file_size=None, env=None):
    def limit():
        if limit_file_size is not None:
            resource.setrlimit(resource.RLIMIT_FSIZE, (limit_file_size, limit_file_size))

    env = {**os.environ, "PYTHONPATH": PACKAGE_PARENT, **(env or {})}
    return subprocess.run([sys.executable, "-m", "nnkernels", *map(str, argv)],
                          stdout=stdout, stderr=subprocess.PIPE, text=True, timeout=300,
                          env=env, preexec_fn=limit)


@pytest.mark.parametrize("argv", [
    ["info"],
    ["predict", "MODEL", "IMAGE"],
    ["fetch", "workshop", "--data", "WORKSHOP"],
    pytest.param(["export", "MODEL", "m.onnx"], marks=pytest.mark.skipif(
        importlib.util.find_spec("onnx") is None and not os.environ.get("CI"),
        reason='pip install "nnkernels[onnx]"')),
    pytest.param(["evaluate", "MODEL"], marks=needs_mnist),
    pytest.param(["train", "iris", "--data", "WORKSHOP", "--output", "out"],
                 marks=pytest.mark.skipif(not (DATA_ROOT / "workshop").is_dir(),
                                          reason="set NNKERNELS_DATA")),
], ids=lambda v: v[0] if v[0] != "train" else "train iris")
def test_stdout_on_a_full_disk(tmp_path, model_file, digit_png, argv):
    if "WORKSHOP" in argv and not (DATA_ROOT / "workshop").is_dir():
        pytest.skip("set NNKERNELS_DATA to a folder holding workshop/")
    subs = {"MODEL": model_file, "IMAGE": digit_png, "WORKSHOP": DATA_ROOT / "workshop"}
    argv = [subs.get(a, a) for a in argv]
    with open("/dev/full", "w") as full:
        result = run_process(*argv, stdout=full, env={"NNKERNELS_DATA": str(DATA_ROOT)})
    assert_one_line(result.stderr, result.returncode, 1,
                    "cannot write the output: No space left on device")


@needs_mnist
def test_train_past_the_file_size_limit(tmp_path):
    """RLIMIT_FSIZE: the model file cannot be written (EFBIG); it is named, no temporary
    file stays, and the history (small) is complete."""
    out = tmp_path / "run"
    result = run_process("train", "classifier", "--limit", "300", "--epochs", "1",
                         "--output", out, "--quiet", limit_file_size=100_000,
                         env={"NNKERNELS_DATA": str(DATA_ROOT)})
    assert_one_line(result.stderr, result.returncode, 1,
                    f"{out / 'model.safetensors'}: File too large")
    assert not (out / "model.safetensors").exists()
    assert not [p for p in out.iterdir() if p.name.startswith(".")]


# ----------------------------------------------------------------------------- Ctrl-C
def interrupt(*args, **kwargs):
    raise KeyboardInterrupt


@pytest.mark.parametrize("argv, target", [
    (["train", "classifier", "--output", "run"], "nnkernels.cli.train.load_data"),
    (["train", "iris", "--output", "out"], "nnkernels.workshop.run_iris"),
    (["evaluate", "MODEL"], "nnkernels.cli.evaluate.load_data"),
    (["predict", "MODEL", "IMAGE"], "nnkernels.datasets.read_images"),
    (["fetch", "mnist"], "nnkernels.datasets.fetch"),
    (["info"], "nnkernels.cli.info.build_info"),
    (["export", "MODEL", "m.onnx"], "nnkernels.cli.export.read_model_file"),
], ids=lambda v: " ".join(v[:2]) if isinstance(v, list) else None)
def test_ctrl_c(capsys, monkeypatch, model_file, digit_png, argv, target):
    if target == "nnkernels.workshop.run_iris":
        from nnkernels import workshop
        monkeypatch.setitem(workshop.TASKS, "iris", interrupt)
    else:
        monkeypatch.setattr(target, interrupt)
    argv = [{"MODEL": model_file, "IMAGE": digit_png}.get(a, a) for a in argv]
    status, _, err = run(capsys, *argv)
    assert status == 1 and err == "nnkernels: interrupted\n"


@needs_mnist
def test_real_sigint_during_training(tmp_path):
    """SIGINT to a real process: training stops after the batch, the model is saved,
    the status is 1 and no traceback is printed."""
    out = tmp_path / "run"
    env = {**os.environ, "PYTHONPATH": PACKAGE_PARENT, "NNKERNELS_DATA": str(DATA_ROOT)}
    proc = subprocess.Popen(
        [sys.executable, "-m", "nnkernels", "train", "classifier", "--limit", "2000",
         "--epochs", "1000", "--output", str(out)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    try:
        deadline = time.monotonic() + 120
        line = ""
        while "Training the classifier" not in line and time.monotonic() < deadline:
            line = proc.stderr.readline()
        time.sleep(0.5)
        proc.send_signal(signal.SIGINT)
        stdout, stderr = proc.communicate(timeout=120)
    finally:
        proc.kill()
    assert proc.returncode == 1, stderr
    assert "Traceback" not in stderr
    assert "interrupted" in stdout and (out / "model.safetensors").is_file()


# ------------------------------------------------------------------- --debug and bugs
def test_debug_shows_the_traceback(capsys, monkeypatch, tmp_path):
    for argv in (["--debug", "evaluate", tmp_path / "x.nnk"],
                 ["evaluate", tmp_path / "x.nnk", "--debug"]):
        status, _, err = run(capsys, *argv)
        assert status == 1 and err.startswith("Traceback (most recent call last):")
        assert err.strip().splitlines()[-1] == \
            f"nnkernels: error: {tmp_path / 'x.nnk'}: no such model file"
    monkeypatch.setenv("NNKERNELS_DEBUG", "1")
    status, _, err = run(capsys, "fetch", "cifar")
    assert status == 2 and "Traceback" in err and "UsageError" in err
    monkeypatch.setenv("NNKERNELS_DEBUG", "0")
    status, _, err = run(capsys, "fetch", "cifar")
    assert_one_line(err, status, 2, "invalid choice")


def test_debug_in_a_real_process(tmp_path):
    result = run_process("predict", tmp_path / "m.nnk", tmp_path / "x.png",
                         env={"NNKERNELS_DEBUG": "1"})
    assert result.returncode == 1 and "Traceback" in result.stderr
    assert result.stderr.strip().splitlines()[-1].endswith("m.nnk: no such model file")
    result = run_process("predict", tmp_path / "m.nnk", tmp_path / "x.png")
    assert_one_line(result.stderr, result.returncode, 1, "m.nnk: no such model file")


def test_a_bug_shows_its_traceback(capsys, monkeypatch):
    def broken():
        raise ZeroDivisionError("a bug")

    monkeypatch.setattr("nnkernels.cli.info.build_info", broken)
    status, _, err = run(capsys, "info")
    assert status == 1 and err.startswith("Traceback (most recent call last):")
    assert "nnkernels: internal error: ZeroDivisionError: a bug (this is a bug" in err


def test_out_of_memory_is_one_line(capsys, monkeypatch, model_file, digit_png):
    def no_memory(*args, **kwargs):
        raise MemoryError

    monkeypatch.setattr("nnkernels.datasets.read_images", no_memory)
    status, _, err = run(capsys, "predict", model_file, digit_png)
    assert_one_line(err, status, 1, "out of memory")


def test_huge_picture_in_a_real_process(tmp_path, model_file):
    """Pillow warns about a 100-megapixel picture before nnkernels' own limit refuses it:
    the command still prints one line."""
    big = tmp_path / "big.png"
    big.write_bytes(png_with_size(10_000, 10_000))
    result = run_process("predict", model_file, big)
    assert_one_line(result.stderr, result.returncode, 1, "10000x10000 pixels, larger than")
