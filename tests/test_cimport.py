"""Another project's Cython code can cimport the nogil kernels from the installed
package (the .pxd files ship with it) and call them without the GIL."""
import importlib.util
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

import nnkernels

USER_PYX = textwrap.dedent('''
    # cython: language_level=3
    from nnkernels._activations cimport bias_relu
    from nnkernels._blas cimport gemm

    def dense_relu(const double[:, ::1] x, const double[:, ::1] w, const double[::1] b,
                   double[:, ::1] out):
        with nogil:
            gemm(False, False, 1.0, x, w, 0.0, out)
            bias_relu(out, b, out, 1)
''')

USER_SETUP = textwrap.dedent('''
    import sys
    from setuptools import Extension, setup
    from Cython.Build import cythonize
    import nnkernels
    setup(ext_modules=cythonize([Extension("user_kernels", ["user_kernels.pyx"],
                                           include_dirs=[nnkernels.get_include()])],
                                include_path=[sys.argv.pop(1)]),
          script_args=["build_ext", "--inplace"])
''')


def _pxd_root():
    """The folder holding nnkernels/*.pxd: the installed package, else the source tree."""
    for location in importlib.util.find_spec("nnkernels").submodule_search_locations:
        if (Path(location) / "_activations.pxd").exists():
            return Path(location).parent, True
    return Path(__file__).resolve().parents[1], False


def test_installed_package_ships_pxd_files():
    root, installed = _pxd_root()
    if not installed:
        if os.environ.get("CI"):
            pytest.fail("the installed nnkernels has no .pxd files")
        pytest.skip("editable install: the .pxd files are read from the source tree")
    for name in ("__init__", "_blas", "_activations", "_losses", "_optim", "_online",
                 "_common", "_openmp"):
        assert (root / "nnkernels" / f"{name}.pxd").exists(), name
    for header in ("nk_loops.h", "nk_base.h", "nk_math.h", "nk_activations_t.h",
                   "nk_losses_t.h", "nk_optim_t.h", "nk_openmp.h", "nk_sync.h", "nk_blas.h"):
        assert (Path(nnkernels.get_include()) / header).exists(), header


def test_user_extension_cimports_and_calls_kernels_without_gil(tmp_path):
    try:
        import Cython  # noqa: F401
    except ImportError:
        if os.environ.get("CI"):
            pytest.fail("Cython is missing: the [test] extra installs it")
        pytest.skip("Cython is not installed (pip install '.[test]')")
    root, _ = _pxd_root()
    (tmp_path / "user_kernels.pyx").write_text(USER_PYX)
    (tmp_path / "setup.py").write_text(USER_SETUP)
    build = subprocess.run([sys.executable, "setup.py", str(root)], cwd=tmp_path,
                           capture_output=True, text=True, timeout=300)
    assert build.returncode == 0, build.stdout[-3000:] + build.stderr[-3000:]
    sys.path.insert(0, str(tmp_path))
    try:
        import user_kernels
    finally:
        sys.path.remove(str(tmp_path))
    rng = np.random.default_rng(0)
    x, w, b = rng.standard_normal((7, 5)), rng.standard_normal((5, 3)), rng.standard_normal(3)
    out = np.empty((7, 3))
    user_kernels.dense_relu(x, w, b, out)
    np.testing.assert_allclose(out, np.maximum(x @ w + b, 0), rtol=1e-12)
    assert nnkernels.kernels is not None
