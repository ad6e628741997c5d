"""The acceptance runs on real MNIST with the command line's default settings.

The data comes from $NNKERNELS_DATA/mnist (CI points it at ../shared/data); these tests
fail, rather than skip, when CI=true and the data is missing. One test checks the other
way a user gets the data: `nnkernels fetch mnist` into the user cache, where training
then finds it.
"""
import functools
import http.server
import os
import threading
from pathlib import Path

import pytest

import nnkernels
from nnkernels import cli


def _require_mnist():
    root = os.environ.get("NNKERNELS_DATA")
    if root and (Path(root) / "mnist").is_dir():
        return
    if os.environ.get("CI"):
        pytest.fail("NNKERNELS_DATA/mnist is missing; .ci/run must provide real MNIST")
    pytest.skip("set NNKERNELS_DATA to a folder holding mnist/ to run the MNIST acceptance")


def _train(model_name, tmp_path, *extra):
    _require_mnist()
    out = tmp_path / model_name
    code = cli.main(["train", model_name, "--seed", "0", "--output", str(out), "--quiet",
                     "--no-download", *extra])
    assert code == 0
    return nnkernels.load(out / "model.safetensors").metadata


def test_classifier_defaults_beat_the_talk(tmp_path):
    """98.16 % is the talk's Go figure; the defaults must reach 98.2 % in <= 20 epochs.

    The threshold comes from the spread over seeds, not from seed 0's figure: seeds 0-5
    on 1 thread gave 98.42, 98.36, 98.36, 98.49, 98.49, 98.39 % (issue 21, 2026-12-07)
    and seeds 0-4 on 2 threads 98.40, 98.47, 98.47, 98.44, 98.32 % (README): mean
    98.42 %, standard deviation 0.06 points; 98.2 % is the mean less 4 standard
    deviations, so a seed or thread count that lands low does not fail, and a recipe or
    kernel that costs a quarter of a point does."""
    meta = _train("classifier", tmp_path)
    assert meta["epochs_completed"] <= 20
    assert meta["test_accuracy"] >= 0.982, meta["test_accuracy"]


def test_autoencoder_defaults_reach_the_target_mse(tmp_path):
    """PyTorch, same architecture, RMSprop lr 1e-3, batch 100: 0.0099 after 4 epochs."""
    meta = _train("autoencoder", tmp_path)
    assert meta["test_mse"] <= 0.0095, meta["test_mse"]


def test_training_finds_what_fetch_put_in_the_cache(tmp_path, monkeypatch, capsys):
    """`nnkernels fetch mnist` downloads into the user cache (here from a local mirror
    serving the genuine files, checked against the digests); training then finds the
    data there with NNKERNELS_DATA unset and downloads switched off."""
    _require_mnist()
    source = Path(os.environ["NNKERNELS_DATA"]) / "mnist"
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(source))
    handler.log_message = lambda *args: None
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        monkeypatch.delenv("NNKERNELS_DATA")
        monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
        monkeypatch.setenv("NNKERNELS_MNIST_MIRRORS", f"http://127.0.0.1:{httpd.server_address[1]}/")
        monkeypatch.setattr("nnkernels.datasets._files.SYSTEM_DIRS", ())
        assert cli.main(["fetch", "mnist"]) == 0
    finally:
        httpd.shutdown()
        httpd.server_close()
    cached = tmp_path / "cache" / "nnkernels" / "mnist"
    assert str(cached) in capsys.readouterr().out
    assert sorted(p.name for p in cached.iterdir()) == sorted(p.name for p in source.iterdir())
    out = tmp_path / "run"
    assert cli.main(["train", "classifier", "--limit", "2000", "--epochs", "1", "--seed", "0",
                     "--output", str(out), "--quiet", "--no-download"]) == 0
    assert nnkernels.load(out / "model.safetensors").metadata["test_accuracy"] > 0.8
