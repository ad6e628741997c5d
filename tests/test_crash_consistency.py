"""Crash consistency: a writer killed with SIGKILL at random points while it saves a
model, a CSV history or a picture leaves the previous file intact and loadable, and no
temporary file that a later save trips over (nnkernels._io.atomic_output).

NNKERNELS_CRASH_KILLS sets the number of kills per writer (default 200; figures of a
longer run are in docs/robustness.md).
"""
import csv
import os
import signal
import sys
import time

import numpy as np
import pytest
from PIL import Image

import nnkernels
from nnkernels import plots
from nnkernels._io import TEMP_SUFFIX, atomic_output, remove_stale_temporaries
from nnkernels.callbacks import CSVLogger

pytestmark = pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork (POSIX)")

KILLS = int(os.environ.get("NNKERNELS_CRASH_KILLS", "200"))


def _temporaries(dest):
    return sorted(p.name for p in dest.parent.iterdir()
                  if p.name.startswith(f".{dest.name}.") and p.name.endswith(TEMP_SUFFIX))


def _writes_forever(write):
    """Fork a child that calls write(0), write(1), ... until it is killed."""
    pid = os.fork()
    if pid == 0:  # the child: never returns into pytest
        code = 0
        try:
            i = 0
            while True:
                write(i)
                i += 1
        except BaseException:
            code = 1
        finally:
            os._exit(code)
    return pid


def kill_while_writing(dest, write, verify, kills, seed=0):
    """Kill a child rewriting `dest` with write(i) at uniformly random times, `kills`
    times; after each kill verify(dest) must pass. Returns counts of what was found."""
    write(0)  # the previous file every kill must leave intact
    start = time.perf_counter()
    for i in range(3):
        write(i)
    seconds = (time.perf_counter() - start) / 3
    rng = np.random.default_rng(seed)
    found = {"kills": kills, "save_ms": round(1000 * seconds, 2), "temporary_left": 0,
             "max_temporaries": 0}
    for _ in range(kills):
        pid = _writes_forever(write)
        time.sleep(rng.uniform(0, 2 * seconds))  # within the first saves: any phase
        os.kill(pid, signal.SIGKILL)
        _, status = os.waitpid(pid, 0)
        assert os.WIFSIGNALED(status), f"the writer ended by itself ({status}): it failed"
        verify(dest)
        left = _temporaries(dest)
        found["temporary_left"] += bool(left)
        found["max_temporaries"] = max(found["max_temporaries"], len(left))
        # One at most: the killed save's own; each save removes those of dead writers.
        assert len(left) <= 1, left
    write(0)
    assert _temporaries(dest) == [], "a later save left the stale temporary behind"
    print(f"\n{dest.name}: {found}", file=sys.stderr)
    return found


def test_killed_model_saves_leave_a_loadable_model(tmp_path):
    models = [nnkernels.models.mnist_classifier(seed=s) for s in (0, 1)]
    expected = [m.get_weights() for m in models]
    dest = tmp_path / "model.safetensors"

    def verify(path):
        weights = nnkernels.load(path).get_weights()
        assert any(all(np.array_equal(a, b) for a, b in zip(weights, version))
                   for version in expected)

    found = kill_while_writing(dest, lambda i: nnkernels.save(models[i % 2], dest), verify,
                               KILLS)
    assert found["temporary_left"] > 0, "no kill landed inside a save: the test saw nothing"


def test_killed_history_writes_leave_a_complete_csv(tmp_path):
    dest = tmp_path / "history.csv"
    logger = CSVLogger(dest)
    logs = {f"metric_{k}": k / 7 for k in range(40)}

    def write(i):
        if i % 50 == 0:
            logger.on_train_begin({})
        logger.on_epoch_end(i % 50, logs)

    def verify(path):
        with open(path, newline="") as f:
            rows = list(csv.DictReader(f))
        assert rows and [int(r["epoch"]) for r in rows] == list(range(1, len(rows) + 1))
        assert all(float(r["metric_39"]) == 39 / 7 for r in rows)

    kill_while_writing(dest, write, verify, KILLS, seed=1)


def test_killed_picture_writes_leave_a_valid_png(tmp_path):
    rng = np.random.default_rng(0)
    images = [rng.random((12, 784)).astype(np.float32) for _ in range(2)]
    dest = tmp_path / "grid.png"
    pixels = []
    for version in images:
        plots.digit_grid(version, dest)
        with Image.open(dest) as img:
            pixels.append(np.asarray(img))

    def verify(path):
        with Image.open(path) as img:
            img.verify()
        with Image.open(path) as img:
            assert any(np.array_equal(np.asarray(img), p) for p in pixels)

    kill_while_writing(dest, lambda i: plots.digit_grid(images[i % 2], dest), verify,
                       KILLS, seed=2)


def test_stale_temporaries_of_live_writers_are_left_alone(tmp_path):
    dest = tmp_path / "f.bin"
    ours = tmp_path / f".f.bin.{os.getpid()}.abc{TEMP_SUFFIX}"
    parent = tmp_path / f".f.bin.{os.getppid()}.abc{TEMP_SUFFIX}"
    pid = os.fork()
    if pid == 0:
        os._exit(0)
    os.waitpid(pid, 0)
    dead = tmp_path / f".f.bin.{pid}.abc{TEMP_SUFFIX}"
    other = tmp_path / f".other.bin.{pid}.abc{TEMP_SUFFIX}"
    for p in (ours, parent, dead, other):
        p.write_bytes(b"x")
    assert remove_stale_temporaries(dest) == 1
    assert not dead.exists() and ours.exists() and parent.exists() and other.exists()
    with atomic_output(dest) as f:
        f.write(b"y")
    assert dest.read_bytes() == b"y"
