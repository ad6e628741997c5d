"""`import nnkernels` stays light: its OpenBLAS loaded directly, nothing of
scipy.linalg, no import hook, the version only when asked; a scipy.linalg imported
afterwards (or before) works as usual."""
import subprocess
import sys
import textwrap


def _run(code):
    result = subprocess.run([sys.executable, "-c", textwrap.dedent(code)],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_import_loads_no_scipy_linalg_and_installs_no_hook():
    out = _run("""
        import os, sys
        hooks = list(sys.meta_path), list(sys.path_hooks)
        environ = dict(os.environ)
        import nnkernels
        print(sorted(k for k in sys.modules if k.startswith("scipy.linalg")))
        print("importlib.metadata" in sys.modules)
        print(hooks == (list(sys.meta_path), list(sys.path_hooks)))
        print(nnkernels._blas_loader.library_path() is not None)
        print(environ == dict(os.environ))
    """)
    assert out.splitlines() == ["[]", "False", "True", "True", "True"]


def test_a_layer_by_layer_step_needs_no_thread_pool_environment():
    # With OMP_WAIT_POLICY and OPENBLAS_THREAD_TIMEOUT unset, 2-thread train_step calls
    # (OpenMP kernels alternating with products) must not fight a second pool: the
    # kernels' OpenBLAS stays on one thread however the count changes.
    out = _run("""
        import os
        for k in ("OMP_WAIT_POLICY", "OPENBLAS_THREAD_TIMEOUT", "GOMP_SPINCOUNT"):
            os.environ.pop(k, None)
        import numpy as np, nnkernels
        from nnkernels import _threads
        nnkernels.set_num_threads(2)
        model = nnkernels.models.mnist_classifier(seed=0)
        x = np.random.default_rng(0).random((100, 784), dtype=np.float32)
        y = np.arange(100) % 10
        for _ in range(5):
            model.train_step(x, y)
        print(nnkernels._blas_loader.pinned(), _threads.blas_num_threads())
    """)
    assert out.split() == ["True", "1"]


def test_cython_blas_is_the_last_resort():
    out = _run("""
        import os
        os.environ["NNKERNELS_BLAS"] = "cython_blas"
        import numpy as np
        import nnkernels
        a = np.random.default_rng(0).random((30, 20)).astype(np.float32)
        assert nnkernels._blas_loader.library_path() is None
        assert np.allclose(nnkernels.kernels.gemm(a, a, trans_b=True), a @ a.T, rtol=1e-5)
        assert np.allclose(nnkernels.kernels.gemm(a[:1], a, trans_b=True), a[:1] @ a.T,
                           rtol=1e-5)
        print("ok")
    """)
    assert out.strip() == "ok"


def test_scipy_linalg_imported_afterwards_is_complete():
    out = _run("""
        import sys
        import numpy as np
        import nnkernels
        import scipy.linalg
        from scipy.linalg import blas, cython_blas
        a = np.random.default_rng(0).random((5, 5))
        assert scipy.linalg.cython_blas is sys.modules["scipy.linalg.cython_blas"] is cython_blas
        assert np.allclose(blas.dgemm(1.0, a, a), a @ a)
        q, r = scipy.linalg.qr(a)
        q1, r1 = scipy.linalg.qr_update(q, r, np.ones(5), np.ones(5))  # cimports cython_blas
        assert np.allclose(q1 @ r1, a + 1)
        assert np.allclose(nnkernels.kernels.gemm(a, a), a @ a)
        print("ok")
    """)
    assert out.strip() == "ok"


def test_scipy_linalg_imported_first_is_left_alone():
    out = _run("""
        import sys
        import scipy.linalg
        import nnkernels
        import numpy as np
        a = np.eye(3)
        assert np.allclose(nnkernels.kernels.gemm(a, a), a)
        print("ok")
    """)
    assert out.strip() == "ok"


def test_version_is_computed_on_first_use():
    out = _run("""
        import nnkernels
        print(nnkernels.__version__ == nnkernels.build_info()["version"] != "")
    """)
    assert out.strip() == "True"


def test_the_core_does_not_import_the_workshop():
    out = _run("""
        import sys
        import nnkernels
        for name in ("datasets", "metrics", "models", "plots", "linear_model",
                     "neural_network"):
            getattr(nnkernels, name)
        print("nnkernels.workshop" in sys.modules)
    """)
    assert out.split() == ["False"]


def test_star_import_needs_no_extra():
    # Every optional dependency hidden, as in `pip install nnkernels` without extras:
    # `from nnkernels import *` still works, and the estimators say which extra they need.
    out = _run("""
        import sys
        EXTRAS = ("sklearn", "onnx", "onnxruntime", "safetensors", "h5py", "keras",
                  "mpi4py", "torch")

        class NoExtras:
            def find_spec(self, name, path=None, target=None):
                if name.split(".")[0] in EXTRAS:
                    raise ImportError(f"{name} is hidden")

        sys.meta_path.insert(0, NoExtras())
        from nnkernels import *
        import nnkernels
        assert set(nnkernels.__all__) <= set(dir()), set(nnkernels.__all__) - set(dir())
        print(sorted(k for k in sys.modules if k.split(".")[0] in EXTRAS))
        try:
            import nnkernels.neural_network
        except ImportError as error:
            print(error)
    """)
    assert out.splitlines() == [
        "[]", 'nnkernels.neural_network needs sklearn; install it with pip install '
              '"nnkernels[sklearn]"']
