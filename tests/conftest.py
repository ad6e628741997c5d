"""Shared fixtures: the dtypes, thread counts and a seeded RNG every kernel test crosses;
where the real data sets are."""
import os
from pathlib import Path

import numpy as np
import pytest

import nnkernels

from hypothesis import settings

settings.register_profile("ci", max_examples=40, deadline=None)
settings.register_profile("thorough", max_examples=300, deadline=None)
settings.load_profile("ci")


@pytest.fixture(params=[np.float32, np.float64], ids=["float32", "float64"])
def dtype(request):
    return np.dtype(request.param)


@pytest.fixture(params=[1, 2], ids=["1thread", "2threads"])
def n_threads(request):
    return request.param


@pytest.fixture
def rng():
    return np.random.default_rng(12345)


def tolerance(dtype):
    """rtol/atol for comparing a kernel against the float64 NumPy reference."""
    return dict(rtol=2e-5, atol=2e-6) if dtype == np.float32 else dict(rtol=1e-12, atol=1e-13)


def central_difference(f, x, eps=1e-6):
    """d f / d x by central differences, for a scalar function f of a float64 array x."""
    grad = np.zeros_like(x)
    flat, gflat = x.reshape(-1), grad.reshape(-1)
    for i in range(flat.size):
        saved = flat[i]
        flat[i] = saved + eps
        up = f()
        flat[i] = saved - eps
        down = f()
        flat[i] = saved
        gflat[i] = (up - down) / (2 * eps)
    return grad


def _find_data_root():
    """The folder of the real data sets (mnist/, workshop/): NNKERNELS_DATA when it is set,
    else wherever nnkernels.datasets finds them without downloading (the user cache
    after `nnkernels fetch` or a training run, or /usr/share/datasets). No machine's
    path is written here. Found elsewhere than NNKERNELS_DATA, the folder is exported
    as NNKERNELS_DATA for the tests (and their subprocesses) that read the variable."""
    env = os.environ.get("NNKERNELS_DATA")
    if env or os.environ.get("CI"):  # CI names its data; pytest_configure checks it
        return Path(env or "NNKERNELS_DATA-is-not-set")
    from nnkernels.datasets import fetch
    found = {}
    for name in ("mnist", "workshop"):
        try:
            found[name] = Path(fetch(name, download=False))
        except OSError:  # DatasetError included: not there, or not readable
            pass
    if not found:
        return Path("no-data-found-run-nnkernels-fetch")
    parents = {folder.parent for folder in found.values()}
    if len(parents) == 1 and all(folder.name == name for name, folder in found.items()):
        root = parents.pop()
    else:  # in different places: one folder of links, removed at exit
        import atexit
        import shutil
        import tempfile
        root = Path(tempfile.mkdtemp(prefix="nnkernels-test-data-"))
        atexit.register(shutil.rmtree, root, ignore_errors=True)
        for name, folder in found.items():
            (root / name).symlink_to(folder, target_is_directory=True)
    os.environ["NNKERNELS_DATA"] = str(root)
    return root


#: The folder of the real data sets (see _find_data_root). Tests that need it skip,
#: naming how to get the data; under CI=true a missing folder stops the run instead
#: (pytest_configure).
DATA_ROOT = _find_data_root()


def require(module, install):
    """Import `module` for a test; without it, skip naming what to install (`install`),
    except under CI=true, where CI installs every extra and a missing one fails."""
    if os.environ.get("CI"):
        import importlib
        return importlib.import_module(module)
    return pytest.importorskip(module, reason=f"needs {module}: {install}")


#: The folder holding the nnkernels package these tests import (site-packages after
#: `pip install .`, python/ in an editable or in-place build): put it on PYTHONPATH of a
#: subprocess so that it imports the same package, never the uncompiled source tree.
PACKAGE_PARENT = str(Path(nnkernels.__file__).resolve().parents[1])


def run_cli(capsys, *argv):
    """The command line in-process: main(argv) -> (status, stdout, stderr); a traceback
    on stderr fails the test (tests/test_cli_errors.py, which expects some, has its own)."""
    from nnkernels.cli import main
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    assert "Traceback" not in err
    return code, out, err


# What enables each kind of skipped test, for the summary at the end of the run. The
# first pattern found (case-insensitive) in a skip reason names its group.
SKIP_GROUPS = [
    ("workshop|iris_train", "workshop data", "nnkernels fetch workshop"),
    ("mnist|NNKERNELS_DATA", "MNIST data", "nnkernels fetch mnist"),
    ("keras", "Keras on torch", 'pip install "nnkernels[keras]" torch==2.13.0 '
                                "(and KERAS_BACKEND=torch)"),
    ("torch", "PyTorch", "pip install torch==2.13.0"),
    ("mpi4py|mpiexec", "MPI", 'pip install "nnkernels[mpi]"'),
    ("sklearn|scikit", "scikit-learn", 'pip install "nnkernels[sklearn]"'),
    ("pandas|cython|hypothesis", "test extras", 'pip install "nnkernels[test]"'),
    ("network test", "network", "NNKERNELS_TEST_NETWORK=1 python -m pytest -m network"),
    ("editable install", "non-editable install", "pip install . (not -e)"),
    ("SCIPY_ARRAY_API", "scikit-learn's array API checks",
     "SCIPY_ARRAY_API=1 python -m pytest (scikit-learn's array API support)"),
]


def _skip_reason(report):
    longrepr = report.longrepr
    reason = longrepr[2] if isinstance(longrepr, tuple) else str(longrepr)
    return reason.removeprefix("Skipped: ")


def pytest_terminal_summary(terminalreporter):
    """One line per group of skipped tests: how many, why, and the command that
    enables them."""
    import re
    skipped = terminalreporter.stats.get("skipped", [])
    if not skipped:
        return
    groups = {}
    for report in skipped:
        reason = _skip_reason(report)
        for pattern, name, command in SKIP_GROUPS:
            if re.search(pattern, reason, re.IGNORECASE):
                break
        else:
            name, command = None, None
        entry = groups.setdefault(name or reason, [0, name, reason, command])
        entry[0] += 1
    terminalreporter.section("skipped groups: what enables them")
    for count, name, reason, command in sorted(groups.values(), key=lambda g: -g[0]):
        what = f"{name}: {reason}" if name else reason
        enable = f"enable: {command}" if command else "no command enables it here"
        terminalreporter.write_line(f"{count:5d} skipped  {what}  ->  {enable}")
