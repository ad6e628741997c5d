"""Data-parallel training from a normal pytest run: the MPI-less errors, one rank, and
launches of mpiexec (the two-rank suite in tests/distributed, a failing rank)."""
import json
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
from conftest import DATA_ROOT, PACKAGE_PARENT

import nnkernels
from nnkernels import distributed
from nnkernels.models import mnist_classifier

ROOT = Path(__file__).resolve().parents[1]
EXTRA = 'pip install "nnkernels[mpi]"'


def need_mpi():
    """The mpiexec beside this Python (the mpich wheel's), or another on PATH; skips
    (fails under CI=true) when mpi4py or mpiexec is missing."""
    found = shutil.which("mpiexec", path=str(Path(sys.executable).parent)) or \
        shutil.which("mpiexec")
    try:
        import mpi4py  # noqa: F401
    except ImportError:
        found = None
    if found is None:
        if os.environ.get("CI"):
            pytest.fail(f"CI=true: mpi4py and mpiexec are required: {EXTRA}")
        pytest.skip(f"needs mpi4py and mpiexec: {EXTRA}")
    return found


def run_mpi(args, timeout, n=2):
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(
        [PACKAGE_PARENT, os.environ.get("PYTHONPATH", "")]).rstrip(os.pathsep)}
    return subprocess.run([need_mpi(), "-n", str(n), sys.executable, *args], cwd=ROOT,
                          env=env, capture_output=True, text=True, timeout=timeout)


def test_missing_mpi4py_names_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "mpi4py", None)
    with pytest.raises(ImportError, match=r"distributed training needs mpi4py; install "
                                          r"it with pip install \"nnkernels\[mpi\]\""):
        distributed.communicator(True)
    model = mnist_classifier(seed=0)
    with pytest.raises(ImportError, match=r"nnkernels\[mpi\]"):
        model.fit(np.zeros((4, 784)), np.zeros(4, int), distributed=True, verbose=0)


def test_distributed_must_be_a_communicator():
    with pytest.raises(TypeError, match="'distributed' must be True, False"):
        distributed.communicator("yes")


def test_two_ranks_pass_the_distributed_suite():
    result = run_mpi(["-m", "mpi4py", "-m", "pytest", "-q", "-p", "no:cacheprovider",
                      "tests/distributed"], timeout=600)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert result.stdout.count(" passed") == 2 and "skipped" not in result.stdout


def test_one_rank_is_a_plain_fit():
    # With one process (no mpiexec), distributed=True trains exactly as fit does.
    result = run_mpi(["-c", textwrap.dedent("""
        import numpy as np
        from nnkernels.models import mnist_classifier
        rng = np.random.default_rng(0)
        x, y = rng.random((350, 784)), rng.integers(0, 10, 350)
        a, b = mnist_classifier(seed=1), mnist_classifier(seed=1)
        ha = a.fit(x, y, epochs=2, batch_size=64, seed=2, verbose=0)
        hb = b.fit(x, y, epochs=2, batch_size=64, seed=2, verbose=0, distributed=True)
        assert all(np.array_equal(p.data, q.data)
                   for p, q in zip(a.parameters(), b.parameters()))
        # the logged loss passes through the float32 reduced buffer
        np.testing.assert_allclose(ha.history["loss"], hb.history["loss"], rtol=1e-6)
        print("same")
        """)], timeout=120, n=1)
    assert result.returncode == 0 and "same" in result.stdout, result.stderr[-3000:]


def test_an_exception_on_one_rank_ends_the_job(tmp_path):
    script = tmp_path / "fails.py"
    script.write_text(textwrap.dedent("""
        import numpy as np
        from mpi4py import MPI
        from nnkernels.callbacks import Callback
        from nnkernels.models import mnist_classifier

        class FailOnRank1(Callback):
            def on_batch_end(self, batch, logs):
                if batch == 3 and MPI.COMM_WORLD.rank == 1:
                    raise OSError("disk full (a test's fault)")

        rng = np.random.default_rng(0)
        x, y = rng.random((2000, 784)), rng.integers(0, 10, 2000)
        mnist_classifier(seed=0).fit(x, y, epochs=50, batch_size=100, verbose=0,
                                     distributed=True, callbacks=[FailOnRank1()])
        print("finished")
        """))
    # Outcome: rank 0 does not wait forever for the failed rank. A hang is caught by the
    # timeout (subprocess.TimeoutExpired fails the test); it is generous because mpiexec's
    # start-up on a loaded 2-core machine alone has taken tens of seconds, while the whole
    # run takes a few seconds on an idle one.
    result = run_mpi([str(script)], timeout=300)
    assert result.returncode != 0
    assert "finished" not in result.stdout
    assert "rank 1 of 2 failed: OSError: disk full" in result.stderr, result.stderr


def test_train_distributed_without_mpi4py_names_the_extra(monkeypatch, capsys):
    from nnkernels.cli import main
    monkeypatch.setitem(sys.modules, "mpi4py", None)
    assert main(["train", "classifier", "--distributed", "--epochs", "1"]) == 1
    assert 'pip install "nnkernels[mpi]"' in capsys.readouterr().err


@pytest.mark.parametrize("kind", ["classifier", "autoencoder"])
def test_mpiexec_nnkernels_train_distributed(tmp_path, kind):
    if not (DATA_ROOT / "mnist").is_dir():
        pytest.skip("needs MNIST under NNKERNELS_DATA")
    common = ["-m", "nnkernels", "train", kind, "--limit", "2200", "--epochs", "1",
              "--seed", "3", "--data", str(DATA_ROOT / "mnist")]
    two = run_mpi([*common, "--distributed", "--output", str(tmp_path / "two")],
                  timeout=300)
    assert two.returncode == 0, two.stderr[-3000:]
    assert "1 thread(s) x 2 ranks" in two.stderr and two.stdout.count("wrote ") == 1
    one = run_mpi([*common, "--threads", "1", "--output", str(tmp_path / "one")],
                  timeout=300, n=1)
    assert one.returncode == 0, one.stderr[-3000:]
    a, b = nnkernels.load(tmp_path / "two" / "model.safetensors"), \
        nnkernels.load(tmp_path / "one" / "model.safetensors")
    for p, q in zip(a.parameters(), b.parameters()):
        assert np.linalg.norm(p.data - q.data) <= 1e-5 * np.linalg.norm(q.data), p.name
    assert json.loads((tmp_path / "two" / "metrics.json").read_text())["settings"][
        "ranks"] == 2
    if kind == "classifier":  # the same ranks, threads and seed: the same bytes
        again = run_mpi([*common, "--distributed", "--output", str(tmp_path / "again")],
                        timeout=300)
        assert again.returncode == 0, again.stderr[-3000:]
        for name in ("model.safetensors", "metrics.json"):
            assert (tmp_path / "two" / name).read_bytes() == \
                (tmp_path / "again" / name).read_bytes(), name


def test_the_documented_python_example_runs(tmp_path):
    """docs/distributed.md's example, as written, on 2 ranks in a fresh folder."""
    import re
    if not (DATA_ROOT / "mnist").is_dir():
        pytest.skip("needs MNIST under NNKERNELS_DATA")
    doc = (ROOT / "docs" / "distributed.md").read_text()
    (block,) = re.findall(r"^```python\n(.*?)^```", doc, flags=re.S | re.M)
    (tmp_path / "train_mpi.py").write_text(block)
    env = {**os.environ, "PYTHONPATH": PACKAGE_PARENT}
    result = subprocess.run([need_mpi(), "-n", "2", sys.executable, "train_mpi.py"],
                            cwd=tmp_path, env=env, capture_output=True, text=True,
                            timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.count("test accuracy") == 1
    assert float(result.stdout.split("test accuracy")[1]) > 0.8
    assert (tmp_path / "model.safetensors").is_file()


def test_an_mpi_library_that_does_not_load_is_named(monkeypatch):
    import types
    fake = types.ModuleType("mpi4py")
    fake.__path__ = []  # a package whose MPI submodule fails, as with a missing libmpi

    class Failing:
        def find_spec(self, name, path=None, target=None):
            if name == "mpi4py.MPI":
                raise ImportError("libmpi.so.12: cannot open shared object file")
            return None

    monkeypatch.setitem(sys.modules, "mpi4py", fake)
    monkeypatch.delitem(sys.modules, "mpi4py.MPI", raising=False)
    monkeypatch.setattr(sys, "meta_path", [Failing(), *sys.meta_path])
    with pytest.raises(distributed.DistributedError, match=r"libmpi\.so\.12.*"
                                                           r"nnkernels\[mpi\]"):
        distributed.communicator(True)


def test_ranks_that_pass_different_data_stop_together(tmp_path):
    # A fit whose ranks disagree (here: the row counts) must not hang in a collective:
    # every rank sees the same DistributedError, and the job ends, naming both values.
    script = tmp_path / "disagree.py"
    script.write_text(textwrap.dedent("""
        import numpy as np
        from mpi4py import MPI
        from nnkernels.models import mnist_classifier
        n = 300 + MPI.COMM_WORLD.rank
        mnist_classifier(seed=0).fit(np.zeros((n, 784)), np.zeros(n, int), verbose=0,
                                     distributed=True)
        """))
    result = run_mpi([str(script)], timeout=120)
    assert result.returncode != 0
    assert "DistributedError: distributed fit: the ranks disagree" in result.stderr
    assert "rank 0: ((300, 784)" in result.stderr and "rank 1: ((301, 784)" in result.stderr


@pytest.mark.parametrize("kind", ["classifier", "autoencoder"])
def test_plan_gradient_and_update_match_the_layer_path(kind):
    """The compiled plan's two data-parallel entry points, without MPI: gradients of a
    shard's rows scaled by the global row count, then one optimizer update."""
    from nnkernels import plan as _plan
    from nnkernels.models import mnist_autoencoder
    make = mnist_classifier if kind == "classifier" else mnist_autoencoder
    rng = np.random.default_rng(5)
    x = rng.random((60, 784))
    labels = rng.integers(0, 10, 60) if kind == "classifier" else None
    idx = rng.permutation(60)[:37].astype(np.int64)
    a, b = make(seed=2, dtype="float64"), make(seed=2, dtype="float64")
    plan = a.engine.plan(a, 40, training=True)
    loss, hits = np.empty(1), np.empty(1, np.int64)
    assert plan.gradient(x, None, labels, kind == "autoencoder", idx, 100, loss, hits)
    xb = x[idx]
    out = b.forward(xb)
    expected_loss = b.loss.forward(out, labels[idx] if labels is not None else xb)
    b.backward(b.loss.backward())
    assert loss[0] == pytest.approx(expected_loss, rel=1e-12)
    if labels is not None:
        assert hits[0] == np.count_nonzero(out.argmax(axis=1) == labels[idx])
    for p, q in zip(a.parameters(), b.parameters()):
        np.testing.assert_allclose(p.grad, q.grad * 37 / 100, rtol=1e-10, atol=1e-15)
    a.optimizer.iterations += 1
    plan.update(a.optimizer.iterations)
    for q in b.parameters():
        q.grad *= 37 / 100
    b.optimizer.step()
    for p, q in zip(a.parameters(), b.parameters()):  # RMSProp: g / |g| amplifies 1e-12
        np.testing.assert_allclose(p.data, q.data, rtol=1e-9, atol=1e-12)


def test_train_under_mpiexec_without_distributed_is_refused(tmp_path):
    result = run_mpi(["-m", "nnkernels", "train", "classifier", "--epochs", "1",
                      "--output", str(tmp_path / "run")], timeout=120)
    assert result.returncode != 0
    assert result.stderr.count("without --distributed") == 2  # each rank says so
    assert not (tmp_path / "run").exists()
