"""``nnkernels train ... --checkpoint-every N`` and ``--resume CHECKPOINT``: a training
run stopped by SIGTERM or SIGINT (a separate process) leaves a loadable checkpoint, and
the resumed run ends with the bits of the uninterrupted one."""
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

import nnkernels
from nnkernels.cli import main

from conftest import DATA_ROOT, PACKAGE_PARENT

pytestmark = pytest.mark.skipif(not (DATA_ROOT / "mnist").is_dir(),
                                reason="set NNKERNELS_DATA to a folder holding mnist/")

# Many short epochs: a signal sent when the first checkpoint appears lands mid-run.
RUN = ["train", "classifier", "--limit", "400", "--epochs", "40", "--batch-size", "40",
       "--seed", "5", "--optimizer", "adam", "--quiet", "--threads", "1"]


def _state(model):
    opt = model.optimizer
    return model.get_weights() + [s[k] for s in opt.state for k in opt.state_names] + [
        np.array([opt.iterations, opt.lr])]


def _same(a, b):
    return len(a) == len(b) and all(u.dtype == v.dtype and np.array_equal(u, v)
                                    for u, v in zip(a, b))


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory):
    out = tmp_path_factory.mktemp("whole")
    assert main([*RUN, "--output", str(out)]) == 0
    return nnkernels.load(out / "model.safetensors")


def _train_until_signal(out, signum):
    env = {**os.environ, "PYTHONPATH": PACKAGE_PARENT}
    proc = subprocess.Popen([sys.executable, "-m", "nnkernels", *RUN, "--output", str(out),
                             "--checkpoint-every", "2"], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 120
    while not (out / "checkpoint.safetensors").exists() and proc.poll() is None:
        assert time.monotonic() < deadline, "no checkpoint within 2 minutes"
        time.sleep(0.005)
    proc.send_signal(signum)
    stdout, stderr = proc.communicate(timeout=120)
    return proc.returncode, stdout, stderr


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_a_signal_leaves_a_checkpoint_that_resumes_bit_for_bit(tmp_path, signum,
                                                                uninterrupted, capsys):
    code, stdout, stderr = _train_until_signal(tmp_path, signum)
    assert "Traceback" not in stderr
    checkpoint, meta = nnkernels.load(tmp_path / "checkpoint.safetensors", with_metadata=True)
    position = meta["checkpoint"]
    if position["epochs_completed"] == 40:  # the signal came after training: say so
        pytest.skip("training ended before the signal arrived (a very fast machine)")
    assert code == 1 and position["interrupted"] is True, (code, stdout, stderr)
    name = {signal.SIGTERM: "SIGTERM", signal.SIGINT: "Ctrl-C"}[signum]
    assert f"Training was interrupted ({name}) after {position['epochs_completed']} of 40" \
        in stdout
    assert "--resume" in stdout
    # the checkpoint holds the last completed step: the saved model.safetensors' weights
    assert _same(_state(checkpoint), _state(nnkernels.load(tmp_path / "model.safetensors")))

    assert main(["train", "classifier", "--resume", str(tmp_path / "checkpoint.safetensors"),
                 "--quiet"]) == 0
    out = capsys.readouterr().out
    assert "wrote" in out and str(tmp_path) in out
    resumed = nnkernels.load(tmp_path / "model.safetensors")
    assert _same(_state(resumed), _state(uninterrupted))
    assert resumed.metadata["history"]["val_loss"] == \
        uninterrupted.metadata["history"]["val_loss"]
    rows = (tmp_path / "history.csv").read_text().splitlines()
    assert [r.split(",")[0] for r in rows[1:]] == [str(e) for e in range(1, 41)]


def test_resume_refuses_other_settings_and_other_files(tmp_path, uninterrupted, capsys):
    nnkernels.save(uninterrupted, tmp_path / "plain.nnk")
    assert main(["train", "classifier", "--resume", str(tmp_path / "plain.nnk")]) == 1
    assert "not a ModelCheckpoint" in capsys.readouterr().err
    assert main([*RUN, "--epochs", "2", "--checkpoint-every", "1", "--output",
                 str(tmp_path)]) == 0
    capsys.readouterr()
    ckpt = str(tmp_path / "checkpoint.safetensors")
    assert main(["train", "classifier", "--resume", ckpt, "--lr", "0.01"]) == 1
    assert "trained with lr=0.002; got lr=0.01" in capsys.readouterr().err
    assert main(["train", "autoencoder", "--resume", ckpt]) == 1
    assert "not a checkpoint of train_mnist's autoencoder (its model is 'classifier')" \
        in capsys.readouterr().err
    # a longer run: --epochs may grow
    assert main(["train", "classifier", "--resume", ckpt, "--epochs", "3", "--quiet"]) == 0
    assert nnkernels.load(tmp_path / "model.safetensors").metadata["epochs_completed"] == 3
