"""The float32 GEMM library chosen by measurement: oneDNN's products against a float64
NumPy reference, the cached choice, its overrides, and the threads oneDNN may start."""
import json
import os
import subprocess
import sys
import threading

import numpy as np
import pytest

import nnkernels
from nnkernels import _blas_loader, _blas_probe, _gemm_choice, _gemm_timing, kernels


@pytest.fixture(scope="module")
def onednn():
    """oneDNN loaded (the onednn extra, which the test extra installs); without it the
    tests skip, except under CI=true, where they fail."""
    why = _gemm_choice._load_onednn()
    if why is not None:
        if os.environ.get("CI"):
            pytest.fail(f"CI=true: oneDNN must be usable: {why}")
        pytest.skip(why)
    return _blas_loader.onednn_path()


@pytest.fixture
def keep_choice():
    """Restore the process's GEMM choice and the choice module's state after a test."""
    saved = _blas_loader.float_backend()
    state = {name: getattr(_gemm_choice, name)
             for name in ("_source", "_measurement", "_pending")}
    yield
    _blas_loader.set_float_backend(*saved)
    for name, value in state.items():
        setattr(_gemm_choice, name, value)


@pytest.fixture
def use_onednn(onednn, keep_choice):
    _blas_loader.set_float_backend("onednn", "onednn")
    yield


@pytest.fixture
def cache_home(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    monkeypatch.delenv(_gemm_choice.ENV, raising=False)
    return tmp_path / "xdg" / "nnkernels" / "gemm-choice.json"


@pytest.fixture
def quick_measure(monkeypatch):
    """A shorter measurement (three rounds): the tests check what is decided and
    written, not the timings."""
    measure = _gemm_choice.measure
    monkeypatch.setattr(_gemm_choice, "measure",
                        lambda **kw: measure(rounds=3, time_budget=0.0))


def _ref(a, b, trans_a, trans_b):
    return ((a.T if trans_a else a).astype(np.float64)
            @ (b.T if trans_b else b).astype(np.float64))


def _close(out, ref, k):
    # float32 rounding grows with the length of each dot product
    scale = np.sqrt(max(k, 1))
    np.testing.assert_allclose(out, ref, rtol=2e-6 * scale * 4, atol=1e-6 * scale * 40)


def _strided(rng, rows, cols, pad):
    """A (rows, cols) float32 view whose row stride is cols + pad elements."""
    base = rng.standard_normal((rows, cols + pad)).astype(np.float32)
    return base[:, :cols]


# ---- oneDNN's products --------------------------------------------------------------

SHAPES = [(100, 784, 250), (784, 100, 250), (100, 250, 784), (13, 9, 17), (1, 784, 250),
          (250, 100, 1), (1, 1, 1), (2, 3, 2), (37, 2000, 45)]


@pytest.mark.parametrize("m,k,n", SHAPES)
@pytest.mark.parametrize("trans_a", [False, True])
@pytest.mark.parametrize("trans_b", [False, True])
def test_onednn_every_transpose_matches_float64_reference(use_onednn, rng, m, k, n,
                                                          trans_a, trans_b):
    a = rng.standard_normal((k, m) if trans_a else (m, k)).astype(np.float32)
    b = rng.standard_normal((n, k) if trans_b else (k, n)).astype(np.float32)
    ref = _ref(a, b, trans_a, trans_b)
    out = np.full((m, n), np.nan, np.float32)  # beta = 0 must not read out
    kernels.gemm(a, b, out, trans_a=trans_a, trans_b=trans_b)
    _close(out, ref, k)
    c0 = rng.standard_normal((m, n)).astype(np.float32)
    acc = kernels.gemm(a, b, c0.copy(), trans_a=trans_a, trans_b=trans_b, alpha=-1.5,
                       beta=0.25)
    _close(acc, -1.5 * ref + 0.25 * c0.astype(np.float64), k)
    # the same product on two threads (split by columns, or rows when taller than wide)
    _close(kernels.gemm(a, b, trans_a=trans_a, trans_b=trans_b, n_threads=2), ref, k)


@pytest.mark.parametrize("trans_a", [False, True])
@pytest.mark.parametrize("trans_b", [False, True])
@pytest.mark.parametrize("n_threads", [1, 2])
@pytest.mark.parametrize("m,k,n", [(100, 784, 250), (784, 100, 250), (31, 17, 45),
                                   (1, 33, 40), (40, 33, 1)])
def test_onednn_strided_rows_and_column_split(use_onednn, rng, m, k, n, trans_a, trans_b,
                                               n_threads):
    # gemm_rows as the plans call it: operands and result are blocks of wider buffers
    # (row stride > row length), inside a parallel region of n_threads threads that
    # each compute a block of the result's columns.
    a = _strided(rng, *((k, m) if trans_a else (m, k)), pad=5)
    b = _strided(rng, *((n, k) if trans_b else (k, n)), pad=3)
    c_base = np.full((m, n + 7), 123.0, np.float32)
    c = c_base[:, :n]
    _blas_probe.gemm_view(trans_a, trans_b, 1.0, a, b, 0.0, c, n_threads)
    ref = _ref(a, b, trans_a, trans_b)
    _close(c, ref, k)
    np.testing.assert_array_equal(c_base[:, n:], 123.0)  # nothing beyond each row
    again = np.zeros_like(c_base)[:, :n]
    _blas_probe.gemm_view(trans_a, trans_b, 1.0, a, b, 0.0, again, n_threads)
    np.testing.assert_array_equal(again, c)  # the same bits on every call
    acc = c.copy()
    _blas_probe.gemm_view(trans_a, trans_b, 0.5, a, b, 2.0, acc, n_threads)
    _close(acc, 2.5 * ref, k)


@pytest.mark.parametrize("m,k,n", [(0, 3, 4), (3, 0, 4), (3, 4, 0), (0, 0, 0)])
def test_onednn_empty_shapes(use_onednn, m, k, n):
    a, b = np.ones((m, k), np.float32), np.ones((k, n), np.float32)
    out = np.full((m, n), 7, np.float32)
    kernels.gemm(a, b, out, beta=0.5)
    np.testing.assert_array_equal(out, np.full((m, n), 3.5, np.float32))
    assert kernels.gemm(a, b).shape == (m, n)
    _blas_probe.gemm_view(False, False, 1.0, a, b, 0.0, out, 2)
    np.testing.assert_array_equal(out, np.zeros((m, n), np.float32))


def test_float64_stays_on_openblas(use_onednn, rng):
    a, b = rng.standard_normal((50, 60)), rng.standard_normal((60, 70))
    np.testing.assert_allclose(kernels.gemm(a, b), a @ b, rtol=1e-12, atol=1e-12)
    assert _gemm_choice.describe()["float64"] == "openblas"


def test_onednn_refuses_a_non_onednn_library(onednn):
    why = _blas_loader.use_onednn(_blas_loader.library_path() or "/nonexistent/libdnnl.so.3")
    assert why is not None and ("dnnl_sgemm" in why or "cannot load" in why)
    assert _blas_loader.onednn_path() == onednn  # nothing changed


ONE_OPENMP = """
import numpy as np
from nnkernels import _blas_loader, _gemm_choice, kernels
assert _gemm_choice._load_onednn() is None
_blas_loader.set_float_backend("onednn", "onednn")
kernels.gemm(np.ones((100, 784), np.float32), np.ones((784, 250), np.float32), n_threads=2)
with open("/proc/self/maps") as f:
    print(sorted({line.split()[-1] for line in f if "libgomp" in line}))
"""


def test_one_openmp_runtime_and_no_threads_of_its_own(use_onednn, rng):
    # oneDNN's libgomp is the kernels' libgomp: one OpenMP runtime in a process that
    # loads nnkernels and oneDNN (this one may hold scikit-learn's copy as well).
    from conftest import PACKAGE_PARENT
    proc = subprocess.run([sys.executable, "-c", ONE_OPENMP], capture_output=True,
                          text=True, timeout=120,
                          env={**os.environ, "PYTHONPATH": PACKAGE_PARENT})
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert len(eval(proc.stdout.strip().splitlines()[-1])) == 1, proc.stdout
    # After the kernels' pool exists, oneDNN products on 1 and 2 threads (a plan-like
    # split) start no thread: held to the calling thread, it uses the kernels' pool.
    x = rng.standard_normal((100, 784)).astype(np.float32)
    w = rng.standard_normal((784, 250)).astype(np.float32)
    with nnkernels.num_threads(2):
        kernels.gemm(x, w, n_threads=2)
        before = len(os.listdir("/proc/self/task"))
        for _ in range(20):
            kernels.gemm(x, w, n_threads=2)
            kernels.gemm(x, w, n_threads=1)
            _blas_probe.gemm_view(False, False, 1.0, x, w, 0.0, np.empty((100, 250), np.float32), 2)
        after = len(os.listdir("/proc/self/task"))
    assert after == before


def test_onednn_from_another_thread(use_onednn, rng):
    # A Python thread that is not an OpenMP thread: its own ICVs, same results.
    a = rng.standard_normal((64, 80)).astype(np.float32)
    b = rng.standard_normal((80, 96)).astype(np.float32)
    got = {}
    worker = threading.Thread(target=lambda: got.setdefault("c", kernels.gemm(a, b, n_threads=2)))
    worker.start()
    worker.join()
    _close(got["c"], _ref(a, b, False, False), 80)


# ---- the measured choice, its cache and overrides -------------------------------------

def test_measure_times_both_libraries_and_picks_one(onednn, keep_choice):
    result = _gemm_choice.measure(n_threads=2, rounds=3, time_budget=0.0)
    # on a busy machine the split is left out after two rounds (a result, not a timing
    # assertion: either way the rule below must hold for what was measured)
    modes = {"one", "gemv"} | (set() if result["split_not_timed_busy"] else {"split"})
    assert set(result["seconds"]) == {"openblas", "onednn"}
    for lib in result["seconds"].values():
        assert set(lib) == modes
        assert all(v > 0 for v in lib.values())
    assert result["gemm"] in ("openblas", "onednn") and result["gemv"] in ("openblas", "onednn")
    assert result["rounds"] == 3
    # the rule: oneDNN only when the geometric mean over the modes of the median
    # round-by-round time ratios beats the margin
    r = result["onednn_over_openblas"]
    assert set(r) == modes and all(v > 0 for v in r.values())
    ratio = np.sqrt(r["one"] * r["split"]) if "split" in r else r["one"]
    assert result["gemm"] == ("onednn" if ratio < 1 - _gemm_choice.MARGIN else "openblas")
    assert result["gemv"] == ("onednn" if r["gemv"] < 1 - _gemm_choice.MARGIN else "openblas")


def test_first_use_measures_and_writes_the_cache_atomically(onednn, cache_home, keep_choice,
                                                            quick_measure, monkeypatch):
    monkeypatch.setattr(_gemm_timing, "_load_average", lambda: 0.1)  # a calm machine
    monkeypatch.setattr(_gemm_timing, "SPLIT_BUSY_FACTOR", float("inf"))
    replaced = []
    real_replace = os.replace
    monkeypatch.setattr(os, "replace", lambda src, dst: (replaced.append((src, dst)),
                                                         real_replace(src, dst)))
    _gemm_choice.select_at_import()
    assert _gemm_choice.describe()["chosen_by"].startswith("not measured")
    choice = nnkernels.gemm_backend()  # the first use
    assert replaced and replaced[-1][1] == cache_home  # a temporary file moved into place
    assert [p.name for p in cache_home.parent.iterdir()] == [cache_home.name]
    data = json.loads(cache_home.read_text())
    assert data["format"] == _gemm_choice.CACHE_FORMAT
    (entry,) = data["entries"].values()
    assert entry["key"] == _gemm_choice.machine_key()
    assert entry["gemm"] == choice == _blas_loader.float_backend()[0]
    assert _gemm_choice.describe()["chosen_by"] == "measured"
    # a later process (here: the import step again) takes it from the cache
    _blas_loader.set_float_backend("openblas", "openblas")
    _gemm_choice.select_at_import()
    assert _blas_loader.float_backend() == (entry["gemm"], entry["gemv"])
    assert _gemm_choice.describe()["chosen_by"] == "cache"
    _gemm_choice.ensure()  # nothing pending: no new measurement, no new write
    assert len(replaced) == 1


@pytest.mark.parametrize("load,provisional", [(0.1, False), (1e6, True)])
def test_a_measurement_under_heavy_load_is_provisional(onednn, cache_home, keep_choice,
                                                       quick_measure, monkeypatch, load,
                                                       provisional):
    monkeypatch.setattr(_gemm_timing, "_load_average", lambda: load)
    _gemm_choice.remeasure()
    entry = _gemm_choice.read_cache(_gemm_choice.machine_key())
    if entry["measurement"]["split_not_timed_busy"]:
        provisional = True  # this machine is busy right now: provisional whatever the load
    assert entry["provisional"] is provisional
    assert entry["measurement"]["load_average"] == load
    _gemm_choice.select_at_import()
    assert _blas_loader.float_backend() == (entry["gemm"], entry["gemv"])  # used either way
    assert _gemm_choice._pending is provisional  # and measured again if provisional
    assert _gemm_choice.describe()["chosen_by"].startswith("cache")


def test_failed_cache_write_leaves_the_old_file(onednn, cache_home, keep_choice, monkeypatch):
    _gemm_choice.write_cache({"cpu": "other"}, {"gemm": "openblas", "gemv": "openblas"})
    before = cache_home.read_bytes()

    def fail(src, dst):
        raise OSError(28, "No space left on device")
    monkeypatch.setattr(os, "replace", fail)
    with pytest.raises(OSError):
        _gemm_choice.write_cache(_gemm_choice.machine_key(),
                                 {"gemm": "onednn", "gemv": "onednn"})
    assert cache_home.read_bytes() == before
    assert [p.name for p in cache_home.parent.iterdir()] == [cache_home.name]


@pytest.mark.parametrize("content", [b"\x00\xff garbage", b"{\"format\": 1, \"entries\": ",
                                     b"[]", b"{\"format\": 99, \"entries\": {}}",
                                     b"{\"format\": 1, \"entries\": {\"x\": {\"gemm\": \"mkl\"}}}"])
def test_corrupt_cache_is_ignored_and_rewritten(onednn, cache_home, keep_choice,
                                                quick_measure, content):
    cache_home.parent.mkdir(parents=True)
    cache_home.write_bytes(content)
    assert _gemm_choice.read_cache(_gemm_choice.machine_key()) is None
    _gemm_choice.select_at_import()
    assert _gemm_choice._pending
    nnkernels.gemm_backend()
    entry = _gemm_choice.read_cache(_gemm_choice.machine_key())
    assert entry is not None and entry["gemm"] == _blas_loader.float_backend()[0]


def test_foreign_cache_entry_is_kept_but_not_used(onednn, cache_home, keep_choice,
                                                  quick_measure):
    foreign = {**_gemm_choice.machine_key(), "cpu": "Some Other CPU"}
    _gemm_choice.write_cache(foreign, {"gemm": "onednn", "gemv": "onednn"})
    # an entry filed under our key's id but holding another key is foreign too
    data = json.loads(cache_home.read_text())
    ours = _gemm_choice._key_id(_gemm_choice.machine_key())
    data["entries"][ours] = {"key": foreign, "gemm": "onednn", "gemv": "onednn"}
    cache_home.write_text(json.dumps(data))
    _blas_loader.set_float_backend("openblas", "openblas")
    _gemm_choice.select_at_import()
    assert _gemm_choice._pending and _blas_loader.float_backend() == ("openblas", "openblas")
    nnkernels.gemm_backend()
    entries = json.loads(cache_home.read_text())["entries"]
    assert entries[_gemm_choice._key_id(foreign)]["key"] == foreign
    assert entries[ours]["key"] == _gemm_choice.machine_key()


@pytest.mark.parametrize("value", ["openblas", "onednn"])
def test_environment_override(onednn, cache_home, keep_choice, monkeypatch, value):
    # a cache saying otherwise does not count when the variable names a library
    other = "onednn" if value == "openblas" else "openblas"
    _gemm_choice.write_cache(_gemm_choice.machine_key(), {"gemm": other, "gemv": other})
    monkeypatch.setenv("NNKERNELS_GEMM", value)
    _gemm_choice.select_at_import()
    assert _blas_loader.float_backend() == (value, value)
    assert _gemm_choice.describe()["chosen_by"] == "environment"
    assert nnkernels.gemm_backend() == value  # no measurement replaces it


def test_environment_auto_uses_the_cache(onednn, cache_home, keep_choice, monkeypatch):
    _gemm_choice.write_cache(_gemm_choice.machine_key(), {"gemm": "onednn", "gemv": "openblas"})
    monkeypatch.setenv("NNKERNELS_GEMM", "auto")
    _gemm_choice.select_at_import()
    assert _blas_loader.float_backend() == ("onednn", "openblas")


@pytest.mark.parametrize("value", ["mkl", "OpenBLAS", "1"])
def test_bad_environment_value_names_the_variable(cache_home, keep_choice, monkeypatch, value):
    monkeypatch.setenv("NNKERNELS_GEMM", value)
    with pytest.raises(ValueError, match=f"NNKERNELS_GEMM must be one of auto, openblas, "
                                         f"onednn; got '{value}'"):
        _gemm_choice.select_at_import()


def test_bad_environment_value_fails_the_import(tmp_path):
    from conftest import PACKAGE_PARENT
    env = {**os.environ, "NNKERNELS_GEMM": "fastest", "XDG_CACHE_HOME": str(tmp_path),
           "PYTHONPATH": PACKAGE_PARENT}
    proc = subprocess.run([sys.executable, "-c", "import nnkernels"], env=env,
                          capture_output=True, text=True, cwd=tmp_path)
    assert proc.returncode != 0
    assert "NNKERNELS_GEMM must be one of auto, openblas, onednn; got 'fastest'" in proc.stderr


def test_onednn_asked_for_but_missing_names_the_extra(cache_home, keep_choice, monkeypatch):
    monkeypatch.setattr(_gemm_choice, "_load_onednn",
                        lambda: f"oneDNN is not installed ({_gemm_choice.ONEDNN_EXTRA})")
    monkeypatch.setenv("NNKERNELS_GEMM", "onednn")
    with pytest.raises(_gemm_choice.GemmChoiceError, match=r"nnkernels\[onednn\]"):
        _gemm_choice.select_at_import()
    with pytest.raises(_gemm_choice.GemmChoiceError, match=r"gemm_backend\('onednn'\)"):
        nnkernels.gemm_backend("onednn")


def test_python_override(onednn, cache_home, keep_choice, quick_measure, rng):
    assert nnkernels.gemm_backend("onednn") == "onednn"
    assert _blas_loader.float_backend() == ("onednn", "onednn")
    assert _gemm_choice.describe()["chosen_by"] == "call"
    assert not cache_home.exists()  # an explicit library is not a measurement
    assert nnkernels.gemm_backend("openblas") == "openblas"
    assert _blas_loader.float_backend() == ("openblas", "openblas")
    assert nnkernels.gemm_backend("auto") in ("openblas", "onednn")  # measures again
    assert _gemm_choice.describe()["chosen_by"] == "measured" and cache_home.exists()
    with pytest.raises(ValueError, match=r"gemm_backend: name must be None or one of "
                                         r"auto, openblas, onednn; got 'blis'"):
        nnkernels.gemm_backend("blis")


def test_build_info_and_cli_show_the_choice(onednn, cache_home, keep_choice, quick_measure,
                                            capsys):
    from conftest import run_cli
    info = nnkernels.build_info()["gemm"]
    assert {"float32_gemm", "float32_gemv", "float64", "chosen_by", "onednn",
            "measurement", "cache"} <= set(info)
    code, out, _ = run_cli(capsys, "info")
    assert code == 0
    gemm = nnkernels.build_info()["gemm"]
    assert f"GEMM float32: {gemm['float32_gemm']}" in out
    assert f"oneDNN {_blas_loader.onednn_version()}" in out
    assert "measured openblas:" in out and "measured onednn:" in out


SIGNALS_DURING_PRODUCTS = """
import os, signal, sys, threading, time
from nnkernels import _blas, _blas_probe, _gemm_choice
caught = []
signal.signal(signal.SIGINT, lambda signum, frame: caught.append(signum))
products = _gemm_choice._products()[0]
assert _gemm_choice._load_onednn() is None

def shoot():
    for _ in range(150):
        time.sleep(0.005)
        os.kill(os.getpid(), signal.SIGINT)

threading.Thread(target=shoot, daemon=True).start()
for _ in range(40):
    _blas_probe.time_products(products, sys.argv[1], 2, "one", 2)
_gemm_choice.measure(rounds=3)
print(len(caught))
"""


@pytest.mark.parametrize("library", ["openblas", "onednn"])
def test_signals_during_products_are_handled_and_corrupt_nothing(onednn, library):
    """Ctrl-C arriving while a thread is inside a product (every 5 ms, on the thread
    that runs them): oneDNN corrupted the heap (abort or segfault within a second)
    before its calls blocked asynchronous signals."""
    from conftest import PACKAGE_PARENT
    env = {**os.environ, "PYTHONPATH": PACKAGE_PARENT, "NNKERNELS_GEMM": "openblas"}
    proc = subprocess.run([sys.executable, "-c", SIGNALS_DURING_PRODUCTS, library],
                          capture_output=True, text=True, env=env, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert int(proc.stdout.split()[-1]) > 0   # the handler ran: signals were not lost
