"""The ``nnkernels`` command line (nnkernels.cli), run in-process through ``main(argv)``.

Training runs are tiny (``--limit``, one or two epochs) on the real MNIST files in
``$NNKERNELS_DATA/mnist``; the tests that need them skip when it is absent (fail under
CI, see conftest.py)
"""
import csv
import json
import re
import signal
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

import nnkernels
from nnkernels import cli
from nnkernels.cli import main
from nnkernels.datasets import read_idx, write_idx

from conftest import DATA_ROOT, run_cli  # noqa: E402

SHARED = DATA_ROOT
HAVE_MNIST = (SHARED / "mnist" / "t10k-images-idx3-ubyte.gz").is_file() or \
    (SHARED / "mnist" / "t10k-images-idx3-ubyte").is_file()
needs_mnist = pytest.mark.skipif(not HAVE_MNIST, reason=f"MNIST not in {SHARED / 'mnist'}")


def _t10k(kind):
    folder = SHARED / "mnist"
    name = f"t10k-{kind}-idx{3 if kind == 'images' else 1}-ubyte"
    return read_idx(folder / name if (folder / name).is_file() else folder / f"{name}.gz")


@pytest.fixture(scope="module")
def test_images():
    """The first 20 MNIST test images (uint8, (20, 28, 28)) and their labels."""
    if not HAVE_MNIST:
        pytest.skip(f"MNIST not in {SHARED / 'mnist'}")
    return np.array(_t10k("images")[:20]), np.array(_t10k("labels")[:20])


@pytest.fixture
def data_env(monkeypatch):
    monkeypatch.setenv("NNKERNELS_DATA", str(SHARED))


@pytest.fixture(scope="module")
def classifier_run(tmp_path_factory):
    """One small classifier training run shared by the tests: (exit code, stdout, dir)."""
    if not HAVE_MNIST:
        pytest.skip(f"MNIST not in {SHARED / 'mnist'}")
    out_dir = tmp_path_factory.mktemp("classifier") / "run"
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("NNKERNELS_DATA", str(SHARED))
        import contextlib
        import io
        stdout, stderr = io.StringIO(), io.StringIO()
        with contextlib.redirect_stdout(stdout), contextlib.redirect_stderr(stderr):
            code = main(["train", "classifier", "--limit", "1000", "--epochs", "2",
                         "--batch-size", "50", "--seed", "3", "--output", str(out_dir)])
    return code, stdout.getvalue(), stderr.getvalue(), out_dir


# ------------------------------------------------------------------------------ train
@needs_mnist
def test_train_classifier_writes_everything(classifier_run):
    code, out, err, out_dir = classifier_run
    assert code == 0, err
    files = ["model.safetensors", "history.csv", "correct.png", "misclassified.png",
             "confusion_matrix.png", "loss.png", "accuracy.png"]
    for name in files:
        assert (out_dir / name).is_file(), name
        assert str(out_dir / name) in out  # the list of written files
    for name in files[2:]:
        with Image.open(out_dir / name) as img:
            img.verify()
            assert img.format == "PNG"
    with open(out_dir / "history.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    assert [int(r["epoch"]) for r in rows] == [1, 2]
    assert {"loss", "accuracy", "val_loss", "val_accuracy", "lr"} <= set(rows[0])
    # cosine schedule: the last epoch runs at lr / 100
    lr = cli.TRAIN_DEFAULTS["classifier"]["lr"]
    assert float(rows[0]["lr"]) == pytest.approx(lr)
    assert float(rows[1]["lr"]) == pytest.approx(lr / 100)

    model = nnkernels.load(out_dir / "model.safetensors")
    meta = model.metadata
    assert meta["dataset"] == "mnist" and meta["epochs"] == 2 and meta["batch_size"] == 50
    assert meta["optimizer"] == "rmsprop" and meta["lr_schedule"] == "cosine"
    # --limit 1000: the last tenth is held out for validation, the test set used once
    assert meta["seed"] == 3 and meta["train_samples"] == 900
    assert meta["validation_samples"] == 100 and len(meta["history"]["val_loss"]) == 2
    assert meta["val_accuracy"] == pytest.approx(meta["history"]["val_accuracy"][-1])
    assert meta["test_accuracy"] != pytest.approx(meta["val_accuracy"], abs=1e-9)
    assert meta["interrupted"] is False and meta["epochs_completed"] == 2
    assert len(meta["history"]["loss"]) == 2 and "wall_time_seconds" not in meta
    assert "seconds" not in meta["history"] and "train_seconds" not in meta  # no timings
    accuracy = re.search(r"test accuracy (\d\.\d{4})", out)
    assert accuracy and float(accuracy.group(1)) == pytest.approx(meta["test_accuracy"],
                                                                  abs=1e-4)
    assert meta["test_accuracy"] > 0.5  # learned something from 1000 images
    assert "wall time" in out
    assert err.count("Epoch 1/2") == 1 and "Epoch 2/2" in err  # the ProgressBar lines


@needs_mnist
def test_train_autoencoder(tmp_path, capsys, data_env):
    threads = nnkernels.get_num_threads()
    code, out, err = run_cli(capsys, "train", "autoencoder", "--limit", "300", "--epochs", "1",
                          "--output", tmp_path / "ae", "--threads", "1", "--quiet")
    assert code == 0, err
    assert nnkernels.get_num_threads() == threads  # --threads is restored afterwards
    assert err == ""  # --quiet
    for name in ("model.safetensors", "history.csv", "reconstructions.png", "loss.png"):
        assert (tmp_path / "ae" / name).is_file(), name
    for name in ("reconstructions.png", "loss.png"):
        with Image.open(tmp_path / "ae" / name) as img:
            img.verify()
    model = nnkernels.load(tmp_path / "ae" / "model.safetensors")
    assert model.out_features == 784
    assert model.metadata["lr_schedule"] == "cosine" and model.metadata["threads"] == 1
    mse = re.search(r"test MSE (\d\.\d+)", out)
    assert mse and float(mse.group(1)) == pytest.approx(model.metadata["test_mse"], abs=1e-6)
    with open(tmp_path / "ae" / "history.csv") as f:
        assert len(f.read().splitlines()) == 2  # header and one epoch


@needs_mnist
def test_ctrl_c_still_evaluates_and_saves(tmp_path, capsys, data_env, monkeypatch):
    """A SIGINT in epoch 2 ends training there; the CLI evaluates, saves and says so."""
    calls = []

    def on_batch_end(self, batch, logs):
        calls.append(batch)
        if len(calls) == 13:  # epoch 2 (10 batches per epoch), batch 3
            signal.raise_signal(signal.SIGINT)

    monkeypatch.setattr(nnkernels.callbacks.CSVLogger, "on_batch_end", on_batch_end,
                        raising=False)
    # One step per call of the plan: the signal then stops it inside epoch 2 (with
    # whole epochs per call, epoch 2 would be complete, and training stop after it).
    monkeypatch.setattr(nnkernels.training, "CHUNK_SECONDS", 1e-12)
    code, out, err = run_cli(capsys, "train", "classifier", "--limit", "500", "--epochs", "5",
                          "--batch-size", "50", "--output", tmp_path / "run")
    assert code == cli.EXIT_INTERRUPTED
    assert "Training was interrupted (Ctrl-C) after 1 of 5 epoch(s)" in out
    assert "test accuracy" in out and "Interrupted (Ctrl-C) at epoch 2/5" in err
    meta = nnkernels.load(tmp_path / "run" / "model.safetensors").metadata
    assert meta["interrupted"] is True and meta["epochs_completed"] == 1
    assert (tmp_path / "run" / "loss.png").is_file()
    assert (tmp_path / "run" / "confusion_matrix.png").is_file()


# ------------------------------------------------------------------ evaluate, predict
@needs_mnist
def test_evaluate(classifier_run, capsys, data_env):
    model_file = classifier_run[3] / "model.safetensors"
    code, out, err = run_cli(capsys, "evaluate", model_file)
    assert code == 0, err
    meta = nnkernels.load(model_file).metadata
    assert f"accuracy {meta['test_accuracy']:.4f}" in out
    assert f"loss {meta['test_loss']:.4f}" in out and "10000 images" in out


def _png(path, pixels_uint8, size=None, mode="L"):
    img = Image.fromarray(pixels_uint8)
    if size is not None:
        img = img.resize(size)
    img.convert(mode).save(path)
    return path


@needs_mnist
def test_predict_png_matches_model_predict(classifier_run, test_images, tmp_path, capsys):
    images, _ = test_images
    model_file = classifier_run[3] / "model.safetensors"
    model = nnkernels.load(model_file)
    png = _png(tmp_path / "digit.png", images[0])
    probs = model.predict(images[0].reshape(1, 784).astype(np.float32) / 255)[0]
    expected = int(np.argmax(probs))

    code, out, err = run_cli(capsys, "predict", model_file, png)
    assert code == 0, err
    line = out.strip()
    assert line.startswith(f"{png}: {expected}  probability {probs[expected]:.4f}  top 3: ")
    assert "inverted" not in line

    code, out, err = run_cli(capsys, "predict", model_file, png, "--json")
    assert code == 0, err
    record = json.loads(out)
    assert record["class"] == expected and record["label"] == str(expected)
    assert record["probability"] == pytest.approx(float(probs[expected]), rel=1e-6)
    top = [t["class"] for t in record["top3"]]
    assert top == list(np.argsort(-probs, kind="stable")[:3])
    assert record["index"] is None and record["inverted"] is False


@needs_mnist
def test_predict_inverted_png(classifier_run, test_images, tmp_path, capsys):
    """Dark-on-light RGB of another size: inverted, resized, and the output says so."""
    images, _ = test_images
    model_file = classifier_run[3] / "model.safetensors"
    plain = _png(tmp_path / "plain.png", images[1])
    dark_on_light = _png(tmp_path / "paper.png", 255 - images[1], mode="RGB")
    big = _png(tmp_path / "big.png", 255 - images[1], size=(112, 112), mode="RGB")
    code, out, err = run_cli(capsys, "predict", model_file, plain, dark_on_light, big, "--json")
    assert code == 0, err
    plain_rec, paper_rec, big_rec = (json.loads(line) for line in out.splitlines())
    assert not plain_rec["inverted"] and paper_rec["inverted"] and big_rec["inverted"]
    assert paper_rec["class"] == plain_rec["class"]
    assert paper_rec["probability"] == pytest.approx(plain_rec["probability"], rel=1e-5)
    code, out, err = run_cli(capsys, "predict", model_file, dark_on_light)
    assert code == 0 and "inverted" in out


@needs_mnist
def test_predict_idx_file(classifier_run, test_images, tmp_path, capsys):
    images, _ = test_images
    model_file = classifier_run[3] / "model.safetensors"
    idx = write_idx(tmp_path / "five-images-idx3-ubyte.gz", images[:5])
    expected = nnkernels.load(model_file).predict_classes(
        images[:5].reshape(5, 784).astype(np.float32) / 255)
    code, out, err = run_cli(capsys, "predict", model_file, idx)
    assert code == 0, err
    lines = out.splitlines()
    assert len(lines) == 5
    for i, line in enumerate(lines):
        assert line.startswith(f"{idx}[{i}]: {expected[i]}  probability ")
    code, out, err = run_cli(capsys, "predict", model_file, idx, "--json")
    records = [json.loads(line) for line in out.splitlines()]
    assert [r["index"] for r in records] == list(range(5))
    assert [r["class"] for r in records] == list(expected)


@needs_mnist
def test_predict_autoencoder_prints_mse(test_images, tmp_path, capsys):
    images, _ = test_images
    model = nnkernels.models.mnist_autoencoder(seed=0)
    nnkernels.save(model, tmp_path / "ae.safetensors")
    png = _png(tmp_path / "d.png", images[2])
    code, out, err = run_cli(capsys, "predict", tmp_path / "ae.safetensors", png, "--json")
    assert code == 0, err
    x = images[2].reshape(1, 784).astype(np.float32) / 255
    expected = float(np.mean((model.forward(x).astype(np.float64) - x) ** 2))
    assert json.loads(out)["mse"] == pytest.approx(expected, rel=1e-5)
    code, out, err = run_cli(capsys, "predict", tmp_path / "ae.safetensors", png)
    assert out.strip() == f"{png}: reconstruction MSE {expected:.6f}"


# ------------------------------------------------------------------------------ errors
def test_missing_data_folder(tmp_path, capsys, monkeypatch):
    monkeypatch.delenv("NNKERNELS_DATA", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.setattr("nnkernels.datasets._files.SYSTEM_DIRS", ())
    (tmp_path / "empty").mkdir()
    code, out, err = run_cli(capsys, "train", "classifier", "--data", tmp_path / "empty",
                          "--no-download", "--output", tmp_path / "run")
    assert code == 1
    assert err.count("nnkernels: error:") == 1
    assert "MNIST was not found" in err and str(tmp_path / "empty") in err
    assert "downloads: not attempted" in err and "--data FOLDER" in err
    assert not (tmp_path / "run").exists()


@needs_mnist
def test_diverging_training(tmp_path, capsys, data_env):
    code, out, err = run_cli(capsys, "train", "classifier", "--optimizer", "sgd", "--lr", "1e6",
                          "--limit", "1000", "--epochs", "1", "--output", tmp_path / "run",
                          "--quiet")
    assert code == 1
    assert re.search(r"nnkernels: error: training diverged: the training loss became "
                     r"\S+ at epoch 1, batch \d+ of 9 \(learning rate 1e\+06\)", err), err
    assert not (tmp_path / "run").exists()  # the empty output folder is removed


def test_corrupt_model_file(tmp_path, capsys):
    bad = tmp_path / "bad.safetensors"
    bad.write_bytes(b"this is not a model" * 10)
    for argv in (["evaluate", bad], ["predict", bad, tmp_path / "x.png"]):
        code, out, err = run_cli(capsys, *argv)
        assert code == 1 and out == ""
        assert err.startswith("nnkernels: error: ") and "not an nnkernels model file" in err
        assert str(bad) in err
    good = tmp_path / "good.safetensors"
    nnkernels.save(nnkernels.models.mnist_classifier(seed=0), good)
    bad.write_bytes(good.read_bytes()[:-100])  # truncated
    code, out, err = run_cli(capsys, "evaluate", bad)
    assert code == 1 and "nnkernels: error: " in err and str(bad) in err
    code, out, err = run_cli(capsys, "evaluate", tmp_path / "nothing.safetensors")
    assert code == 1 and "nothing.safetensors: no such model file" in err


def test_missing_and_bad_images(tmp_path, capsys):
    model_file = tmp_path / "m.safetensors"
    nnkernels.save(nnkernels.models.mnist_classifier(seed=0), model_file)
    code, out, err = run_cli(capsys, "predict", model_file, tmp_path / "nope.png")
    assert code == 1 and f"nnkernels: error: {tmp_path / 'nope.png'}: no such image file" in err
    (tmp_path / "text.png").write_text("not a picture")
    code, out, err = run_cli(capsys, "predict", model_file, tmp_path / "text.png")
    assert code == 1 and "not a picture of a supported format" in err
    labels = write_idx(tmp_path / "labels-idx1-ubyte", np.arange(3, dtype=np.uint8))
    code, out, err = run_cli(capsys, "predict", model_file, labels)
    assert code == 1 and "expected images" in err


@pytest.mark.parametrize("argv, message", [
    (["train", "classifier", "--epochs", "0"], "argument --epochs: must be an integer >= 1, got 0"),
    (["train", "autoencoder", "--lr", "-1"], "argument --lr: must be a finite number >= 0"),
    (["train", "classifier", "--batch-size", "ten"], "argument --batch-size: expected an integer"),
    (["train", "classifier", "--optimizer", "lbfgs"], "argument --optimizer: invalid choice"),
    (["train", "perceptron"], "invalid choice: 'perceptron'"),
    (["fetch", "cifar"], "invalid choice: 'cifar'"),
    ([], "the following arguments are required: COMMAND"),
])
def test_bad_options_exit_2(capsys, argv, message):
    code, out, err = run_cli(capsys, *argv)
    assert code == 2
    assert err.startswith("nnkernels: error: ") and message in err
    assert len(err.strip().splitlines()) == 1


# ------------------------------------------------------------------- help, info, fetch
def test_python_m_help():
    result = subprocess.run([sys.executable, "-m", "nnkernels", "--help"],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("usage: nnkernels")
    for command in ("train", "evaluate", "predict", "fetch", "info"):
        assert command in result.stdout


def test_train_help_shows_train_defaults(capsys, monkeypatch):
    monkeypatch.setitem(cli.TRAIN_DEFAULTS["autoencoder"], "epochs", 37)
    code, out, err = run_cli(capsys, "train", "autoencoder", "--help")
    assert code == 0
    assert "(default: 37)" in out and "(default: cosine)" in out
    assert "(default: 100)" in out and "(default: 0.001)" in out


def test_info(capsys):
    code, out, err = run_cli(capsys, "info")
    assert code == 0
    assert out.startswith(f"nnkernels {nnkernels.build_info()['version']}")
    assert "OpenMP:" in out and "threads:" in out


@needs_mnist
def test_fetch(capsys, data_env):
    code, out, err = run_cli(capsys, "fetch", "mnist", "--no-download")
    assert code == 0, err
    assert out.splitlines()[0] == f"mnist: {SHARED / 'mnist'}"
    assert any("t10k-images-idx3-ubyte" in line for line in out.splitlines()[1:])


# -- the workshop's models ------------------------------------------------------------

WORKSHOP = DATA_ROOT / "workshop"


@pytest.mark.parametrize("task,files", [
    ("linear", {"fit_line.png", "metrics.json"}),
    ("logistic", {"roc_curve.png", "confusion_matrix.png", "metrics.json"}),
    ("iris", {"confusion_matrix.png", "loss.png", "metrics.json"}),
])
def test_train_workshop_task(task, files, tmp_path, monkeypatch, capsys):
    if not WORKSHOP.is_dir():
        pytest.skip("no workshop data")
    monkeypatch.setenv("NNKERNELS_DATA", str(WORKSHOP.parent))
    out = tmp_path / task
    assert main(["train", task, "--output", str(out)]) == 0
    assert files <= {p.name for p in out.iterdir()}
    figures = json.loads((out / "metrics.json").read_text())
    assert figures["task"] == task
    assert "test" in capsys.readouterr().out


def test_train_workshop_task_missing_data(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.delenv("NNKERNELS_DATA", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.setenv("NNKERNELS_WORKSHOP_URLS", "http://127.0.0.1:1/")
    assert main(["train", "iris", "--data", str(tmp_path / "nowhere")]) == 1
    assert "nnkernels: error: workshop data (iris_train.csv, iris_test.csv) not found" in \
        capsys.readouterr().err


@needs_mnist
def test_train_mnist_is_what_the_command_line_trains(tmp_path, capsys, data_env):
    code, _, _ = run_cli(capsys, "train", "classifier", "--limit", "600", "--epochs", "2",
                      "--seed", "5", "--threads", "1", "--output", tmp_path / "run", "--quiet")
    assert code == 0
    from_cli = nnkernels.load(tmp_path / "run" / "model.safetensors")
    with nnkernels.num_threads(1):
        model, history, results = nnkernels.models.train_mnist(
            "classifier", limit=600, epochs=2, seed=5, verbose=0)
    for ours, theirs in zip(model.get_weights(), from_cli.get_weights()):
        np.testing.assert_array_equal(ours, theirs)
    assert results["train_samples"] == 540 and results["validation_samples"] == 60
    assert results["test_accuracy"] == from_cli.metadata["test_accuracy"]
    assert len(history.history["val_accuracy"]) == 2
    with pytest.raises(TypeError, match="unknown setting"):
        nnkernels.models.train_mnist("classifier", epoch=1)
    with pytest.raises(ValueError, match="kind"):
        nnkernels.models.train_mnist("regressor")
