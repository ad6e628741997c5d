"""Which BLAS the kernels call.

The kernels call BLAS through function pointers (nnkernels/_blas.pyx), loaded by
nnkernels/_blas_loader.pyx as chosen here when nnkernels is imported: the OpenBLAS of
the ``scipy-openblas32`` wheel (a dependency: the build NumPy and SciPy themselves are
made with, newer than the copy inside SciPy wheels), loaded with dlopen; failing that,
the OpenBLAS inside SciPy's wheel; failing that (a SciPy built against another BLAS),
SciPy's ``cython_blas`` table, and plans then run their products on one thread of ours
(the BLAS threads itself). Nothing of scipy.linalg is imported unless that last resort
is needed.

The wheel's OpenBLAS is the newest of the three; bench/README.md has their speeds
on the MNIST models' products.

float32 products may go to oneDNN instead, chosen by measurement per machine
(nnkernels/_gemm_choice.py; ``NNKERNELS_GEMM`` overrides it): select() applies a cached
choice or the override, and measures nothing.

``NNKERNELS_BLAS`` chooses for measurements: ``openblas32`` (the wheel), ``scipy``
(SciPy's OpenBLAS), ``cython_blas`` (SciPy's table, no thread control), or a path to
an OpenBLAS shared library with the ``scipy_`` symbol prefix.
"""
import glob
import os
import sys

from nnkernels import _blas_loader


def _package_files(package, pattern):
    """Files matching pattern under an installed package's folder, without importing it
    (scipy_openblas32's __init__ imports importlib.metadata: 25 ms of `import nnkernels`)."""
    import importlib.util
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        return []
    return sorted(path for folder in spec.submodule_search_locations
                  for path in glob.glob(os.path.join(folder, pattern)))


def _wheel_library():
    suffix = {"win32": ".dll", "darwin": ".dylib"}.get(sys.platform, ".so")
    found = _package_files("scipy_openblas32", os.path.join("lib", f"libscipy_openblas{suffix}"))
    return found[0] if found else None


def _scipy_library():
    found = _package_files("scipy", os.path.join("..", "scipy.libs", "libscipy_openblas*.so*"))
    return found[0] if found else None


def select():
    """Point the kernels at the BLAS chosen above, then apply the float32 GEMM choice
    (cached or NNKERNELS_GEMM); returns the BLAS path (None: cython_blas)."""
    path = _select_blas()
    from nnkernels import _gemm_choice
    _gemm_choice.select_at_import()
    return path


def _select_blas():
    choice = os.environ.get("NNKERNELS_BLAS", "")
    if choice == "cython_blas":
        _blas_loader.use_cython_blas()
        return None
    if choice and choice not in ("openblas32", "scipy"):
        candidates = [choice]
    elif choice == "scipy":
        candidates = [_scipy_library()]
    else:
        candidates = [_wheel_library(), _scipy_library()]
    wheel = _wheel_library()
    for path in candidates:
        # The wheel's copy is loaded by nnkernels alone (NumPy and SciPy carry their own):
        # it is pinned to one thread and the kernels split products across theirs.
        if path and _blas_loader.use_openblas(path, private=path == wheel):
            return path
    _blas_loader.use_cython_blas()  # imports scipy.linalg (about 0.5 s): only as the last resort
    return None
