"""bench/vs_peers.py's load option and bench/inference.py (the tables themselves are
run by hand: they take minutes and need the peers beside the repository)."""
import importlib.util
import os
import sys

import pytest

BENCH = os.path.join(os.path.dirname(__file__), "..", "bench")


def _load(name):
    sys.path.insert(0, BENCH)
    try:
        spec = importlib.util.spec_from_file_location(name, os.path.join(BENCH, f"{name}.py"))
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
    finally:
        sys.path.remove(BENCH)
    return module


vs_peers = _load("vs_peers")
inference = _load("inference")

# Counts, from inside the measured process, the spinning processes its parent started.
COUNT_SPINNERS = """
import json, os
parent, found = os.getppid(), 0
for pid in filter(str.isdigit, os.listdir("/proc")):
    try:
        with open(f"/proc/{pid}/stat") as f:
            ppid = int(f.read().rsplit(")", 1)[1].split()[1])
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            cmd = f.read()
    except (OSError, IndexError, ValueError):
        continue
    found += ppid == parent and int(pid) != os.getpid() and b"while True: pass" in cmd
print(json.dumps({"spinners": found}))
"""


def _spinners_left():
    return vs_peers.run([sys.executable, "-c", COUNT_SPINNERS], dict(os.environ))


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
@pytest.mark.parametrize("busy", [0, 1, 3])
def test_every_measurement_runs_beside_the_asked_number_of_spinners(busy):
    out = vs_peers.run([sys.executable, "-c", COUNT_SPINNERS], dict(os.environ), busy)
    assert out == {"spinners": busy}
    assert _spinners_left() == {"spinners": 0}   # killed and reaped afterwards


@pytest.mark.parametrize("value", ["x", "-1", "1,,2", ""])
def test_a_bad_busy_value_is_a_usage_error(value, capsys):
    with pytest.raises(SystemExit) as stop:
        vs_peers.main(["--peers", ".", "--busy", value])
    assert stop.value.code == 2
    assert "--busy" in capsys.readouterr().err


def test_inference_measures_one_image_and_ten_thousand():
    out = inference.measure("nnkernels", 1)
    assert out["engine"] == "nnkernels" and out["threads"] == 1
    assert out["us_one"] > 0 and out["images_per_s"] > 0
