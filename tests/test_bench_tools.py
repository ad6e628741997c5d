"""bench/check_regression.py: the ratio check that guards against speed regressions."""
import importlib.util
import json
import os

import pytest

_PATH = os.path.join(os.path.dirname(__file__), os.pardir, "bench", "check_regression.py")
_spec = importlib.util.spec_from_file_location("check_regression", _PATH)
check_regression = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(check_regression)


def _pytest_benchmark_json(path, ratios):
    benchmarks = [{"fullname": f"bench/test_x.py::{name}", "extra_info": {"ratio": r}}
                  for name, r in ratios.items()]
    benchmarks.append({"fullname": "bench/test_x.py::no_ratio", "extra_info": {}})
    path.write_text(json.dumps({"machine_info": {"node": "here"}, "benchmarks": benchmarks}))
    return str(path)


def test_a_drop_of_more_than_ten_percent_fails(tmp_path, capsys):
    base = _pytest_benchmark_json(tmp_path / "base.json", {"a": 2.0, "b": 1.0, "c": 3.0})
    baseline = str(tmp_path / "baseline.json")
    assert check_regression.main(["--baseline", baseline, "--update", base]) == 0
    assert json.loads(open(baseline).read())["ratios"] == {
        "test_x.py::a": 2.0, "test_x.py::b": 1.0, "test_x.py::c": 3.0}
    # a: -9 % (allowed), b: -11 % (regression), c: faster
    run = _pytest_benchmark_json(tmp_path / "run.json", {"a": 1.82, "b": 0.89, "c": 4.0})
    assert check_regression.main(["--baseline", baseline, run]) == 1
    out = capsys.readouterr().out
    assert "test_x.py::b: 0.890 vs baseline 1.000 (-11.0%)  <-- REGRESSION" in out
    assert "1 regression(s): test_x.py::b" in out
    ok = _pytest_benchmark_json(tmp_path / "ok.json", {"a": 1.82, "b": 0.95, "d": 1.0})
    assert check_regression.main(["--baseline", baseline, ok]) == 0
    out = capsys.readouterr().out
    assert "test_x.py::c: not in this run" in out and "test_x.py::d: no baseline" in out


def test_several_runs_are_combined_by_their_median(tmp_path, capsys):
    baseline = tmp_path / "baseline.json"
    baseline.write_text('{"ratios": {"test_x.py::a": 2.0}}')
    runs = [_pytest_benchmark_json(tmp_path / f"r{i}.json", {"a": r})
            for i, r in enumerate([1.5, 2.1, 1.95])]  # one noisy run, median 1.95
    assert check_regression.main(["--baseline", str(baseline), *runs]) == 0
    assert "test_x.py::a: 1.950 vs baseline 2.000" in capsys.readouterr().out
    assert check_regression.main(["--baseline", str(baseline), runs[0]]) == 1


def test_compare_py_output_is_read(tmp_path):
    path = tmp_path / "compare.json"
    path.write_text(json.dumps({"comparisons": [
        {"name": "compare/classifier/epoch/numpy", "reference": "numpy", "ratio": 1.3}]}))
    assert check_regression.ratios_from(str(path)) == {"compare/classifier/epoch/numpy": 1.3}


@pytest.mark.parametrize("content", ['{"benchmarks": []}', '{"other": 1}', "not json"])
def test_unusable_input_is_an_error_not_a_pass(tmp_path, capsys, content):
    path = tmp_path / "bad.json"
    path.write_text(content)
    baseline = tmp_path / "baseline.json"
    baseline.write_text('{"ratios": {"x": 1.0}}')
    assert check_regression.main(["--baseline", str(baseline), str(path)]) == 2
    assert "check_regression:" in capsys.readouterr().err


def test_committed_baseline_is_readable():
    with open(check_regression.BASELINE) as f:
        ratios = json.load(f)["ratios"]
    assert ratios and all(isinstance(v, float) and v > 0 for v in ratios.values())
