"""bench/regress.py, the regression gate: its verdicts and its refusals (building and
timing two revisions is left to bench/README.md's proof runs; it takes minutes)."""
import importlib.util
import math
import os
import shutil
import subprocess

import pytest

_PATH = os.path.join(os.path.dirname(__file__), os.pardir, "bench", "regress.py")
_spec = importlib.util.spec_from_file_location("regress", _PATH)
regress = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(regress)


def test_identical_times_are_no_regression():
    ratio, low, high, verdict = regress.judge([1.0, 1.1, 0.9], [1.0, 1.1, 0.9], 0.10)
    assert (ratio, low, high, verdict) == (1.0, 1.0, 1.0, "")


def test_a_consistent_slowdown_beyond_the_threshold_is_flagged():
    # every pair 1.5x slower, with a few per cent of scatter
    ratio, low, high, verdict = regress.judge([1.0, 2.0, 1.0], [1.52, 2.96, 1.5], 0.10)
    assert verdict == "SLOWER" and 1.1 < low < ratio < high
    assert ratio == pytest.approx(math.exp((math.log(1.52) + math.log(1.48)
                                            + math.log(1.5)) / 3))


def test_a_slowdown_within_the_threshold_is_not_flagged():
    # 5 % slower in every pair: real, but below the 10 % threshold
    assert regress.judge([1.0, 1.0, 1.0], [1.05, 1.05, 1.05], 0.10)[3] == ""
    assert regress.judge([1.0, 1.0, 1.0], [1.05, 1.05, 1.05], 0.01)[3] == "SLOWER"


def test_one_slow_pair_among_fast_ones_is_noise_not_a_regression():
    ratio, low, high, verdict = regress.judge([1.0, 1.0, 1.0], [1.0, 2.0, 1.0], 0.10)
    assert verdict == "noisy" and low < 1 < high


def test_faster():
    assert regress.judge([2.0, 2.0, 2.0], [1.0, 1.01, 0.99], 0.10)[3] == "faster"


def test_the_interval_uses_student_t():
    # log ratios 0, 0.2: mean 0.1, sd 0.1414, two pairs: t(1) = 12.706
    ratio, low, high, _ = regress.judge([1.0, 1.0], [1.0, math.exp(0.2)], 0.10)
    half = 12.706 * math.sqrt(0.02) / math.sqrt(2)
    assert (low, high) == pytest.approx((math.exp(0.1 - half), math.exp(0.1 + half)))


@pytest.mark.parametrize("base,new", [([1.0], [1.0]), ([1.0, 1.0], [1.0]), ([0.0, 1.0], [1, 1])])
def test_judge_rejects_what_it_cannot_judge(base, new):
    with pytest.raises(ValueError, match="judge:"):
        regress.judge(base, new, 0.1)


@pytest.mark.skipif(shutil.which("git") is None, reason="needs git")
def test_a_revision_missing_from_the_clone_is_exit_2(capsys):
    root = os.path.dirname(_PATH)
    if subprocess.run(["git", "-C", root, "rev-parse"], capture_output=True).returncode:
        pytest.skip("not a git checkout (an sdist): regress.py compares git revisions")
    assert regress.main(["no-such-revision-xyz", "--quick"]) == 2
    err = capsys.readouterr().err
    assert "cannot compare" in err and "'no-such-revision-xyz' is not in this clone" in err


@pytest.mark.parametrize("argv,message", [
    (["HEAD", "--pairs", "1"], "--pairs must be at least 2"),
    (["HEAD", "--threshold", "-0.1"], "--threshold must be >= 0"),
    (["HEAD", "HEAD", "--installed"], "--installed replaces NEW"),
])
def test_usage_errors(argv, message, capsys):
    with pytest.raises(SystemExit) as info:
        regress.main(argv)
    assert info.value.code == 2 and message in capsys.readouterr().err
