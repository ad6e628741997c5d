"""gemm against NumPy float64, over shapes, transposes, alpha/beta and strides."""
import threading

import numpy as np
import pytest
from hypothesis import example, given, strategies as st

import nnkernels
from nnkernels import _blas, _blas_loader, kernels
from conftest import tolerance

dims = st.integers(min_value=1, max_value=67)


def _operands(rng, m, k, n, trans_a, trans_b, dtype):
    a = rng.standard_normal((k, m) if trans_a else (m, k)).astype(dtype)
    b = rng.standard_normal((n, k) if trans_b else (k, n)).astype(dtype)
    ref = (a.T if trans_a else a).astype(np.float64) @ (b.T if trans_b else b).astype(np.float64)
    return a, b, ref


@given(m=dims, k=dims, n=dims, trans_a=st.booleans(), trans_b=st.booleans(),
       dtype=st.sampled_from([np.float32, np.float64]))
@example(m=1, k=1, n=1, trans_a=False, trans_b=False, dtype=np.float32)
@example(m=1000, k=784, n=250, trans_a=False, trans_b=False, dtype=np.float32)
@example(m=784, k=100, n=250, trans_a=True, trans_b=False, dtype=np.float32)
@example(m=100, k=250, n=784, trans_a=False, trans_b=True, dtype=np.float64)
def test_gemm_matches_numpy(m, k, n, trans_a, trans_b, dtype):
    rng = np.random.default_rng(m * 10007 + k * 101 + n)
    a, b, ref = _operands(rng, m, k, n, trans_a, trans_b, dtype)
    out = kernels.gemm(a, b, trans_a=trans_a, trans_b=trans_b)
    assert out.dtype == dtype and out.shape == (m, n)
    scale = np.sqrt(k)  # float32 rounding grows with the length of each dot product
    np.testing.assert_allclose(out, ref, rtol=tolerance(np.dtype(dtype))["rtol"] * scale,
                               atol=tolerance(np.dtype(dtype))["atol"] * scale * 10)


def test_alpha_beta_accumulate(rng, dtype):
    a, b, ref = _operands(rng, 13, 9, 17, False, True, dtype)
    c0 = rng.standard_normal((13, 17)).astype(dtype)
    out = c0.copy()
    result = kernels.gemm(a, b, out, trans_b=True, alpha=0.5, beta=-2.0)
    assert result is out
    np.testing.assert_allclose(out, 0.5 * ref - 2.0 * c0.astype(np.float64), **tolerance(dtype))


def test_beta_zero_ignores_nan_in_out(rng, dtype):
    a, b, ref = _operands(rng, 4, 3, 5, False, False, dtype)
    out = np.full((4, 5), np.nan, dtype=dtype)
    kernels.gemm(a, b, out)
    np.testing.assert_allclose(out, ref, **tolerance(dtype))


@pytest.mark.parametrize("m,k,n", [(0, 3, 4), (3, 0, 4), (3, 4, 0), (0, 0, 0)])
def test_empty_shapes_never_reach_blas(m, k, n, dtype):
    a = np.ones((m, k), dtype)
    b = np.ones((k, n), dtype)
    out = np.full((m, n), 7, dtype)
    kernels.gemm(a, b, out, beta=0.5)
    np.testing.assert_array_equal(out, np.full((m, n), 3.5, dtype))  # k == 0: out = beta out
    assert kernels.gemm(a, b).shape == (m, n)


def test_leading_dimension_comes_from_strides(rng, dtype):
    # Row slices of a wider buffer are C-contiguous views with ld = row stride;
    # a single row may carry any stride at all.
    base = rng.standard_normal((9, 6)).astype(dtype)
    a = base[2:7]
    b = rng.standard_normal((6, 3)).astype(dtype)
    np.testing.assert_allclose(kernels.gemm(a, b), a.astype(np.float64) @ b, **tolerance(dtype))
    row = np.lib.stride_tricks.as_strided(base, shape=(1, 6), strides=(10**6, dtype.itemsize))
    assert row.flags.c_contiguous
    np.testing.assert_allclose(kernels.gemm(row, b), base[:1].astype(np.float64) @ b,
                               **tolerance(dtype))


def test_read_only_inputs(rng, dtype):
    a, b, ref = _operands(rng, 5, 4, 3, False, False, dtype)
    a.flags.writeable = False
    b.flags.writeable = False
    np.testing.assert_allclose(kernels.gemm(a, b), ref, **tolerance(dtype))



@pytest.mark.parametrize("m,k,n", [(1, 7, 5), (5, 7, 1), (1, 1, 9), (9, 1, 1), (1, 6, 1),
                                   (1, 784, 250), (250, 100, 1)])
@pytest.mark.parametrize("trans_a", [False, True])
@pytest.mark.parametrize("trans_b", [False, True])
def test_single_row_or_column_products(rng, dtype, m, k, n, trans_a, trans_b):
    # m == 1 or n == 1 goes to gemv: every transpose, NaN left in out (beta = 0), and
    # alpha with beta accumulating into out.
    a, b, ref = _operands(rng, m, k, n, trans_a, trans_b, dtype)
    tol = {key: v * np.sqrt(k) * 4 for key, v in tolerance(dtype).items()}
    out = np.full((m, n), np.nan, dtype)
    kernels.gemm(a, b, out, trans_a=trans_a, trans_b=trans_b)
    np.testing.assert_allclose(out, ref, **tol)
    c0 = rng.standard_normal((m, n)).astype(dtype)
    c = c0.copy()
    kernels.gemm(a, b, c, trans_a=trans_a, trans_b=trans_b, alpha=-1.5, beta=0.25)
    np.testing.assert_allclose(c, -1.5 * ref + 0.25 * c0.astype(np.float64), **tol)


def test_single_row_vector_with_any_row_stride(rng, dtype):
    # A (1, k) vector is C-contiguous whatever its row stride: the gemv path must not
    # read that stride as an increment or leading dimension.
    base = rng.standard_normal((3, 7)).astype(dtype)
    x = np.lib.stride_tricks.as_strided(base, shape=(1, 7), strides=(10**6, dtype.itemsize))
    w = rng.standard_normal((7, 9)).astype(dtype)
    np.testing.assert_allclose(kernels.gemm(x, w), base[:1].astype(np.float64) @ w,
                               **tolerance(dtype))
    wt = rng.standard_normal((9, 7)).astype(dtype)
    np.testing.assert_allclose(kernels.gemm(wt, x, trans_b=True),
                               wt.astype(np.float64) @ base[:1].T, **tolerance(dtype))
    np.testing.assert_allclose(kernels.gemm(x, wt, trans_b=True),
                               base[:1].astype(np.float64) @ wt.T, **tolerance(dtype))


@pytest.fixture
def openblas_float32():
    """float32 products on OpenBLAS for the test, whatever the measured choice is
    (the priming is OpenBLAS's; oneDNN's products are tested in test_gemm_choice.py)."""
    saved = _blas_loader.float_backend()
    _blas_loader.set_float_backend("openblas", "openblas")
    yield
    _blas_loader.set_float_backend(*saved)


@pytest.mark.parametrize("n_threads", [1, 2])
def test_each_thread_primes_sgemm_once_before_its_first_product(rng, n_threads,
                                                                openblas_float32):
    # The priming product (_prime_sgemm in nnkernels/_blas.pyx) is run once per thread,
    # on that thread's first float32 gemm; float64 and gemv products do not need it.
    a, b, ref = _operands(rng, 100, 784, 250, False, False, np.float32)
    seen = {}

    def first_products():
        seen["start"] = _blas._sgemm_primed()
        kernels.gemm(a.astype(np.float64), b.astype(np.float64))
        kernels.gemm(a[:1], b)  # one row: gemv
        seen["after float64 and gemv"] = _blas._sgemm_primed()
        seen["product"] = kernels.gemm(a, b)  # primes first, then multiplies
        seen["after sgemm"] = _blas._sgemm_primed()
        # Primed on several BLAS threads, a thread primes again for one, not back; a
        # pinned BLAS (the kernels' own, split by them) always runs one thread.
        with nnkernels.num_threads(3 - n_threads):
            seen["other count"] = _blas._sgemm_primed()
            kernels.gemm(a, b)
        seen["back"] = _blas._sgemm_primed()

    with nnkernels.num_threads(n_threads):
        worker = threading.Thread(target=first_products)
        worker.start()
        worker.join()
    product = seen.pop("product", None)  # absent if the worker raised
    assert seen == {"start": False, "after float64 and gemv": False, "after sgemm": True,
                    "other count": n_threads == 1 or _blas_loader.pinned(), "back": True}
    scale = np.sqrt(784)
    np.testing.assert_allclose(product, ref, rtol=tolerance(np.float32)["rtol"] * scale,
                               atol=tolerance(np.float32)["atol"] * scale * 10)


def test_kernels_blas_is_pinned_and_products_split_across_kernel_threads(rng, dtype):
    # The wheel's OpenBLAS is the kernels' alone: one thread, whatever set_num_threads
    # asks; a product large enough is split by columns (or rows) across the kernels'
    # threads and matches the one-thread product to rounding.
    from nnkernels import _threads
    if _blas_loader.library_path() is None or "scipy_openblas32" not in _blas_loader.library_path():
        pytest.skip("the kernels do not call the scipy-openblas32 wheel's OpenBLAS")
    assert _blas_loader.pinned()
    with nnkernels.num_threads(2):
        assert _threads.blas_num_threads() == 1
    for m, n, k, ta, tb in [(100, 250, 784, False, False), (784, 250, 100, True, False),
                            (100, 784, 250, False, True), (1000, 10, 300, False, False),
                            (37, 45, 2000, True, True)]:
        a, b, ref = _operands(rng, m, k, n, ta, tb, dtype)
        one = kernels.gemm(a, b, trans_a=ta, trans_b=tb, n_threads=1)
        two = kernels.gemm(a, b, trans_a=ta, trans_b=tb, n_threads=2)
        scale = np.sqrt(k)
        tol = tolerance(dtype)
        np.testing.assert_allclose(two, ref, rtol=tol["rtol"] * scale, atol=tol["atol"] * scale * 10)
        np.testing.assert_allclose(two, one, rtol=tol["rtol"] * scale, atol=tol["atol"] * scale * 10)
        c0 = rng.standard_normal((m, n)).astype(dtype)
        acc = kernels.gemm(a, b, c0.copy(), trans_a=ta, trans_b=tb, beta=0.5, n_threads=2)
        np.testing.assert_allclose(acc, ref + 0.5 * c0, rtol=tol["rtol"] * scale,
                                   atol=tol["atol"] * scale * 10)
