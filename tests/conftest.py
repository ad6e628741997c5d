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


#: The folder of the real data sets (mnist/, workshop/), from NNKERNELS_DATA only: no
#: machine's path is written here. Tests that need it skip, naming the variable, when it
#: is not set; under CI=true a missing folder stops the run instead (pytest_configure).
DATA_ROOT = Path(os.environ.get("NNKERNELS_DATA") or "NNKERNELS_DATA-is-not-set")


def pytest_configure(config):
    if os.environ.get("CI"):
        missing = [name for name in ("mnist", "workshop") if not (DATA_ROOT / name).is_dir()]
        if missing:
            raise pytest.UsageError(
                f"CI=true: NNKERNELS_DATA ({os.environ.get('NNKERNELS_DATA')!r}) must hold "
                f"{', '.join(missing)}/; .ci/run points it at ../shared/data")


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
