"""Commands as pipeline stages (docs/pipelines.md): metrics.json, the quality gate's exit
status, one result file per input, byte-identical outputs, and the documented pipeline
run end to end on MNIST, as a shell script and as Pachyderm specifications."""
import csv
import io
import itertools
import json
import os
import re
import shutil
import subprocess
import sys
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path

import numpy as np
import pytest
from conftest import DATA_ROOT, PACKAGE_PARENT

import nnkernels
from nnkernels.cli import main

ROOT = Path(__file__).resolve().parents[1]
DOC = ROOT / "docs" / "pipelines.md"
MNIST = DATA_ROOT / "mnist"
needs_mnist = pytest.mark.skipif(not MNIST.is_dir(), reason="set NNKERNELS_DATA to a "
                                                            "folder holding mnist/")
QUICK = ["--limit", "1500", "--epochs", "1", "--seed", "3", "--data", str(MNIST),
         "--no-download"]


def cli(*argv, stdin=None):
    """(exit status, stdout, stderr) of `nnkernels argv` run in this process."""
    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        code = main([str(a) for a in argv])
    return code, out.getvalue(), err.getvalue()


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    if not MNIST.is_dir():
        pytest.skip("set NNKERNELS_DATA to a folder holding mnist/")
    out = tmp_path_factory.mktemp("train") / "run"
    code, stdout, stderr = cli("train", "classifier", *QUICK, "--threads", "1", "--quiet",
                               "--output", out)
    assert code == 0, stderr
    return out


@pytest.fixture(scope="module")
def images(tmp_path_factory):
    """A folder of 3 PNGs, a JPEG and a 5-image IDX file; with their pixels."""
    from PIL import Image

    from nnkernels.datasets import read_images
    from nnkernels.datasets._idx import idx_bytes
    if not MNIST.is_dir():
        pytest.skip("set NNKERNELS_DATA to a folder holding mnist/")
    _, (x, _) = nnkernels.datasets.load_mnist(MNIST, download=False)
    folder = tmp_path_factory.mktemp("images")
    digits = (x[:9].reshape(-1, 28, 28) * 255).round().astype(np.uint8)
    for i in range(3):
        Image.fromarray(digits[i]).save(folder / f"d{i}.png")
    Image.fromarray(digits[3]).save(folder / "e3.jpg", quality=95)
    (folder / "batch.idx3-ubyte").write_bytes(idx_bytes(digits[4:9]))
    return folder, read_images


@needs_mnist
def test_train_writes_metrics_json(trained):
    metrics = json.loads((trained / "metrics.json").read_text())
    model = nnkernels.load(trained / "model.safetensors")
    meta = model.metadata
    assert metrics["model"] == "classifier" and metrics["seed"] == 3
    defaults = nnkernels.models.TRAIN_DEFAULTS["classifier"]
    assert metrics["settings"] == {**defaults, "epochs": 1, "dtype": "float32",
                                   "limit": 1500, "threads": 1, "ranks": 1}
    assert metrics["samples"] == {"train": 1350, "validation": 150}
    assert metrics["train"]["loss"] == meta["history"]["loss"][-1]
    assert metrics["validation"]["accuracy"] == meta["val_accuracy"]
    assert metrics["test"] == {"loss": meta["test_loss"], "accuracy": meta["test_accuracy"]}
    assert metrics["versions"]["nnkernels"] == nnkernels.__version__
    assert metrics["epochs_completed"] == 1 and metrics["interrupted"] is False
    text = (trained / "metrics.json").read_text()
    assert text == json.dumps(metrics, indent=2, sort_keys=True) + "\n"


@needs_mnist
@pytest.mark.parametrize("threads", [1, 2])
def test_same_inputs_seed_and_threads_give_the_same_bytes(tmp_path, threads):
    runs = []
    for name in ("a", "b"):
        code, _, stderr = cli("train", "classifier", *QUICK, "--epochs", "2", "--threads",
                              threads, "--quiet", "--output", tmp_path / name)
        assert code == 0, stderr
        runs.append(tmp_path / name)
    for name in ("model.safetensors", "metrics.json"):
        assert (runs[0] / name).read_bytes() == (runs[1] / name).read_bytes(), name
    for name in ("c", "d"):
        code, _, stderr = cli("train", "autoencoder", *QUICK, "--threads", threads,
                              "--quiet", "--output", tmp_path / name)
        assert code == 0, stderr
    for name in ("model.safetensors", "metrics.json"):
        assert (tmp_path / "c" / name).read_bytes() == (tmp_path / "d" / name).read_bytes()


@needs_mnist
def test_evaluate_is_a_quality_gate(trained, tmp_path):
    model = trained / "model.safetensors"
    accuracy = json.loads((trained / "metrics.json").read_text())["test"]["accuracy"]
    data = ["--data", MNIST, "--no-download"]
    code, out, err = cli("evaluate", model, *data, "--min-accuracy", accuracy - 0.01,
                         "--out", tmp_path / "pass.json")
    assert code == 0 and err == ""
    verdict = json.loads((tmp_path / "pass.json").read_text())
    assert verdict["passed"] is True and verdict["accuracy"] == pytest.approx(accuracy)
    code, out, err = cli("evaluate", model, *data, "--min-accuracy", accuracy + 0.01,
                         "--out", tmp_path / "fail.json")
    assert code == 3 and "quality gate failed: test accuracy" in err
    assert json.loads((tmp_path / "fail.json").read_text())["passed"] is False
    code, _, err = cli("evaluate", model, *data, "--max-mse", "0.1")
    assert code == 2 and "--max-mse needs an autoencoder" in err


@needs_mnist
def test_evaluate_max_mse(tmp_path):
    code, _, err = cli("train", "autoencoder", *QUICK, "--quiet", "--output", tmp_path)
    assert code == 0, err
    mse = json.loads((tmp_path / "metrics.json").read_text())["test"]["mse"]
    model = tmp_path / "model.safetensors"
    data = ["--data", MNIST, "--no-download"]
    assert cli("evaluate", model, *data, "--max-mse", mse * 1.01)[0] == 0
    code, _, err = cli("evaluate", model, *data, "--max-mse", mse * 0.99)
    assert code == 3 and "test MSE" in err
    assert cli("evaluate", model, *data, "--min-accuracy", "0.5")[0] == 2


@needs_mnist
def test_predict_writes_one_result_per_input_file(trained, images, tmp_path):
    folder, read_images = images
    folder = shutil.copytree(folder, tmp_path / "in")
    (folder / ".hidden").write_text("not an image: hidden files are left out")
    out = tmp_path / "out"
    code, stdout, stderr = cli("predict", trained / "model.safetensors", folder, "--out", out)
    assert code == 0 and stdout == "" and "wrote 5 result file(s)" in stderr
    assert sorted(p.name for p in out.iterdir()) == ["batch.csv", "d0.csv", "d1.csv",
                                                      "d2.csv", "e3.csv"]
    model = nnkernels.load(trained / "model.safetensors")
    for name, source in [("d0", "d0.png"), ("e3", "e3.jpg"), ("batch", "batch.idx3-ubyte")]:
        with open(out / f"{name}.csv", newline="") as f:
            rows = list(csv.DictReader(f))
        pixels = np.stack([p for _, p, _ in read_images(folder / source)])
        probabilities = model.predict(pixels)
        assert len(rows) == len(pixels)
        for i, row in enumerate(rows):
            assert row["file"] == str(folder / source)
            assert row["index"] == ("" if name != "batch" else str(i))
            assert int(row["class"]) == probabilities[i].argmax()
            assert float(row["probability"]) == pytest.approx(probabilities[i].max())
    # JSON lines, and a second run replaces the files with the same bytes
    code, _, _ = cli("predict", trained / "model.safetensors", folder / "d1.png", "--json", "--out",
                     tmp_path / "json")
    record = json.loads((tmp_path / "json" / "d1.jsonl").read_text())
    assert code == 0 and record["file"] == str(folder / "d1.png") and len(record["top3"]) == 3
    before = (out / "batch.csv").read_bytes()
    assert cli("predict", trained / "model.safetensors", folder, "--out", out)[0] == 0
    assert (out / "batch.csv").read_bytes() == before
    # --csv: the same rows on stdout, one header, the files in name order
    code, stdout, _ = cli("predict", trained / "model.safetensors", folder, "--csv")
    assert code == 0
    expected = [row for name in ("batch", "d0", "d1", "d2", "e3")
                for row in csv.DictReader(open(out / f"{name}.csv", newline=""))]
    assert list(csv.DictReader(io.StringIO(stdout))) == expected
    assert cli("predict", trained / "model.safetensors", folder, "--csv", "--json")[0] == 2


@needs_mnist
def test_predict_reads_standard_input(trained, images, tmp_path):
    folder, _ = images
    env = {**os.environ, "PYTHONPATH": PACKAGE_PARENT}
    run = subprocess.run([sys.executable, "-m", "nnkernels", "predict",
                          str(trained / "model.safetensors"), "-", "--out", str(tmp_path)],
                         input=(folder / "d2.png").read_bytes(), capture_output=True,
                         env=env, timeout=120)
    assert run.returncode == 0, run.stderr
    with open(tmp_path / "stdin.csv", newline="") as f:
        (row,) = list(csv.DictReader(f))
    code, _, _ = cli("predict", trained / "model.safetensors", folder / "d2.png", "--out",
                     tmp_path / "file")
    with open(tmp_path / "file" / "d2.csv", newline="") as f:
        (expected,) = list(csv.DictReader(f))
    assert row["file"] == "-" and row["class"] == expected["class"]
    assert row["probability"] == expected["probability"]
    bad = subprocess.run([sys.executable, "-m", "nnkernels", "predict",
                          str(trained / "model.safetensors"), "-"], input=b"not an image",
                         capture_output=True, env=env, timeout=120)
    assert bad.returncode == 1 and b"- (standard input)" in bad.stderr


@needs_mnist
def test_predict_refuses_two_inputs_with_one_base_name(trained, images, tmp_path):
    folder, _ = images
    other = tmp_path / "other"
    other.mkdir()
    shutil.copy(folder / "d0.png", other / "d0.jpg")
    code, _, err = cli("predict", trained / "model.safetensors", folder / "d0.png", other / "d0.jpg",
                       "--out", tmp_path / "out")
    assert code == 1 and "would both write d0.csv" in err
    assert not (tmp_path / "out").exists()
    empty = tmp_path / "empty"
    empty.mkdir()
    code, _, err = cli("predict", trained / "model.safetensors", empty)
    assert code == 1 and "holds no files" in err


# -- the documented pipeline ---------------------------------------------------------

def doc_blocks(language):
    return re.findall(rf"^```{language}\n(.*?)^```", DOC.read_text(), flags=re.S | re.M)


def stage_env():
    """The environment of a stage: this checkout's package and its console script."""
    bin_dir = Path(sys.executable).parent
    return {**os.environ, "PYTHONPATH": PACKAGE_PARENT,
            "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}"}


@pytest.fixture(scope="module")
def nnkernels_script():
    if shutil.which("nnkernels", path=str(Path(sys.executable).parent)) is None:
        pytest.skip("the nnkernels console script is not installed beside this Python")


@needs_mnist
def test_the_shell_pipeline_runs_end_to_end(images, tmp_path, nnkernels_script):
    (script,) = doc_blocks("sh")
    path = tmp_path / "mnist-pipeline.sh"
    path.write_text(script)
    folder, _ = images
    env = {**stage_env(), "TRAIN_OPTIONS": "--limit 3000 --epochs 1", "MIN_ACCURACY": "0.8"}
    run = subprocess.run(["sh", str(path), str(MNIST), str(folder), str(tmp_path / "work")],
                         env=env, capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stderr
    work = tmp_path / "work"
    assert sorted(p.name for p in work.iterdir()) == ["gate", "predictions", "train"]
    assert json.loads((work / "gate" / "evaluation.json").read_text())["passed"] is True
    assert len(list((work / "predictions").iterdir())) == 5
    # The gate stops the pipeline: status 3, no predictions.
    env["MIN_ACCURACY"] = "0.9999"
    run = subprocess.run(["sh", str(path), str(MNIST), str(folder), str(tmp_path / "low")],
                         env=env, capture_output=True, text=True, timeout=600)
    assert run.returncode == 3 and "quality gate failed" in run.stderr
    assert not (tmp_path / "low" / "predictions").exists()


def run_pachyderm_spec(spec, repos, root, env, overrides):
    """Run one pipeline specification's transform the way Pachyderm schedules it: one
    run per datum (the cross product of the inputs' glob matches), each seeing its
    datum under /pfs/<repo> and writing to the shared /pfs/out (both mapped under
    `root`), with the environment variables `overrides` replacing the spec's."""
    name = spec["pipeline"]["name"]
    inputs = spec["input"].get("cross", [spec["input"]])
    out = root / name / "out"
    out.mkdir(parents=True)
    choices = []
    for item in inputs:
        repo, glob = item["pfs"]["repo"], item["pfs"]["glob"]
        assert glob in ("/", "/*"), glob
        entries = sorted(repos[repo].iterdir()) if glob == "/*" else [None]
        choices.append([(repo, entry) for entry in entries])
    transform = spec["transform"]
    for n, datum in enumerate(itertools.product(*choices)):
        pfs = root / name / f"datum{n}"
        for repo, entry in datum:
            if entry is None:
                (pfs / repo).parent.mkdir(parents=True, exist_ok=True)
                (pfs / repo).symlink_to(repos[repo], target_is_directory=True)
            else:
                (pfs / repo).mkdir(parents=True)
                (pfs / repo / entry.name).symlink_to(entry)
        (pfs / "out").symlink_to(out, target_is_directory=True)

        def local(text):
            return text.replace("/pfs/", f"{pfs}/")
        stdin = "\n".join(local(line) for line in transform.get("stdin", [])) + "\n"
        result = subprocess.run([local(a) for a in transform["cmd"]], input=stdin,
                                env={**env, **transform.get("env", {}), **overrides},
                                capture_output=True, text=True, timeout=600)
        if result.returncode != 0:
            return result
    repos[name] = out
    return None


@needs_mnist
def test_the_pachyderm_pipeline_runs_end_to_end(images, tmp_path, nnkernels_script):
    specs = [json.loads(block) for block in doc_blocks("json")]
    assert [s["pipeline"]["name"] for s in specs] == ["train", "gate", "predict"]
    folder, _ = images
    overrides = {"TRAIN_OPTIONS": "--limit 3000 --epochs 1", "MIN_ACCURACY": "0.8"}
    repos = {"mnist": MNIST, "images": folder}
    for spec in specs:
        failed = run_pachyderm_spec(spec, repos, tmp_path, stage_env(), overrides)
        assert failed is None, failed.stderr
    assert {"model.safetensors", "metrics.json"} <= {p.name for p in repos["train"].iterdir()}
    assert sorted(p.name for p in repos["gate"].iterdir()) == ["evaluation.json",
                                                                "model.safetensors"]
    # one datum per image file, one result file per datum
    results = sorted(p.name for p in repos["predict"].iterdir())
    assert results == ["batch.csv", "d0.csv", "d1.csv", "d2.csv", "e3.csv"]


@needs_mnist
def test_predict_with_an_autoencoder_writes_the_mse(images, tmp_path):
    folder, read_images = images
    code, _, err = cli("train", "autoencoder", *QUICK, "--quiet", "--output",
                       tmp_path / "ae")
    assert code == 0, err
    code, _, err = cli("predict", tmp_path / "ae" / "model.safetensors", folder / "e3.jpg", "--out",
                       tmp_path / "out")
    assert code == 0, err
    with open(tmp_path / "out" / "e3.csv", newline="") as f:
        (row,) = list(csv.DictReader(f))
    assert set(row) == {"file", "index", "mse", "inverted"}
    ((_, pixels, _),) = read_images(folder / "e3.jpg")
    model = nnkernels.load(tmp_path / "ae" / "model.safetensors")
    mse = np.mean((model.predict(pixels[None]).astype(np.float64) - pixels) ** 2)
    assert float(row["mse"]) == pytest.approx(mse, rel=1e-6)


@needs_mnist
def test_predict_caps_standard_input(trained, monkeypatch):
    from nnkernels.cli import predict
    monkeypatch.setattr(predict, "STDIN_MAX_BYTES", 1000)
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(b"\0" * 5000)))
    code, _, err = cli("predict", trained / "model.safetensors", "-")
    assert code == 1 and "- (standard input): more than 1000 bytes" in err
