"""bench/soak.py, short: 2,000 training steps with memory measured throughout; after the
warm-up the Python objects do not grow and resident memory stays within 5 %. (The
100,000-step run is ``python bench/soak.py``; its figures are in docs/robustness.md.)"""
import importlib.util
import os
import sys

import pytest

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"),
                                reason="reads /proc/self/statm")

_PATH = os.path.join(os.path.dirname(__file__), os.pardir, "bench", "soak.py")
_spec = importlib.util.spec_from_file_location("soak", _PATH)
soak = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(soak)


def test_two_thousand_steps_keep_memory_and_objects_flat():
    train, val, _ = soak.load(synthetic=True, n=2000)
    result = soak.soak(2000, 20, train, val, every=100, use_tracemalloc=True)
    assert result["steps"] == 2000 and len(result["samples"]) == 21
    assert result["ok"], result["why"]
    assert result["objects_growth"] <= 0 and result["rss_spread"] <= 0.05
    # what Python holds grows only by the per-epoch history rows (History, CSVLogger):
    # well under 1 KiB per step
    assert result["traced_growth_bytes"] < 200 * 1024


def test_the_verdict_sees_growth():
    samples = [{"step": s, "rss_bytes": 100 << 20, "objects": 1000 + s} for s in range(10)]
    assert soak.verdict(samples, warmup=2)["why"] == "Python objects grew by 6 after the warm-up"
    samples = [{"step": s, "rss_bytes": (100 + s) << 20, "objects": 1000} for s in range(10)]
    assert "resident memory varies by 5.8 %" in soak.verdict(samples, warmup=2)["why"]
