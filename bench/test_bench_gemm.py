"""The eight GEMMs of one training step of the MNIST classifier 784-250-100-10 at
batch 100, float32, against calling BLAS directly on the same operands.

References:
  scipy_sgemm   scipy.linalg.blas.sgemm, the same OpenBLAS that nnkernels calls through
                scipy.linalg.cython_blas. It is Fortran-order, so it gets the transposed
                views (row-major C = A B is column-major C^T = B^T A^T): no copies, and
                out.T as `c` with overwrite_c=1, so nothing is allocated either.
                Target: ratio >= 0.95 (within 5 %).
  numpy_matmul  np.matmul(op(a), op(b), out=out), NumPy's own OpenBLAS. No target.
                A second BLAS thread pool: timed in blocks (same_pool=False), since two
                pools that alternate call by call spin against each other.
"""
import numpy as np
import pytest
import scipy.linalg.blas

from nnkernels import kernels

BATCH = 100
# name: (m, k, n, trans_a, trans_b) for out (m, n) = op(a) @ op(b)
CASES = {
    "fwd1_x@W1": (BATCH, 784, 250, False, False),
    "fwd2_h1@W2": (BATCH, 250, 100, False, False),
    "fwd3_h2@W3": (BATCH, 100, 10, False, False),
    "dW3_h2T@dz3": (100, BATCH, 10, True, False),
    "dW2_h1T@dz2": (250, BATCH, 100, True, False),
    "dW1_xT@dz1": (784, BATCH, 250, True, False),
    "dh2_dz3@W3T": (BATCH, 10, 100, False, True),
    "dh1_dz2@W2T": (BATCH, 100, 250, False, True),
}
STEP_FLOPS = sum(2 * m * k * n for m, k, n, _, _ in CASES.values())


def _operands(rng, m, k, n, trans_a, trans_b):
    a = rng.standard_normal((k, m) if trans_a else (m, k), dtype=np.float32)
    b = rng.standard_normal((n, k) if trans_b else (k, n), dtype=np.float32)
    return a, b


def _ours(a, b, out, trans_a, trans_b):
    gemm = kernels.gemm
    return lambda: gemm(a, b, out, trans_a=trans_a, trans_b=trans_b)


def _reference(reference, a, b, out, trans_a, trans_b):
    if reference == "scipy_sgemm":
        sgemm = scipy.linalg.blas.sgemm
        bt, at, ct = b.T, a.T, out.T  # Fortran-contiguous views of the same memory
        ta, tb = int(trans_b), int(trans_a)
        return lambda: sgemm(1.0, bt, at, beta=0.0, c=ct, trans_a=ta, trans_b=tb,
                             overwrite_c=1)
    opa = a.T if trans_a else a
    opb = b.T if trans_b else b
    matmul = np.matmul
    return lambda: matmul(opa, opb, out=out)


@pytest.mark.parametrize("reference", ["scipy_sgemm", "numpy_matmul"])
@pytest.mark.parametrize("case", list(CASES))
def test_gemm(compare, rng, case, reference):
    m, k, n, trans_a, trans_b = CASES[case]
    a, b = _operands(rng, m, k, n, trans_a, trans_b)
    out, out_ref = np.empty((m, n), np.float32), np.empty((m, n), np.float32)
    ours = _ours(a, b, out, trans_a, trans_b)
    ref = _reference(reference, a, b, out_ref, trans_a, trans_b)
    ours(), ref()
    np.testing.assert_allclose(out, out_ref, rtol=1e-4, atol=1e-4 * np.sqrt(k))
    compare(ours, ref, reference_name=reference, group=f"gemm {case}",
            target="gemm" if reference == "scipy_sgemm" else None,
            same_pool=reference == "scipy_sgemm",
            flops=2 * m * k * n, shape=f"({m}x{k}) @ ({k}x{n})",
            trans_a=trans_a, trans_b=trans_b)


@pytest.mark.parametrize("reference", ["scipy_sgemm", "numpy_matmul"])
def test_gemm_training_step(compare, rng, reference):
    """All eight GEMMs back to back, as in one step: the number that sets samples/s."""
    ours_calls, ref_calls = [], []
    for m, k, n, trans_a, trans_b in CASES.values():
        a, b = _operands(rng, m, k, n, trans_a, trans_b)
        ours_calls.append(_ours(a, b, np.empty((m, n), np.float32), trans_a, trans_b))
        ref_calls.append(_reference(reference, a, b, np.empty((m, n), np.float32),
                                    trans_a, trans_b))

    def ours():
        for call in ours_calls:
            call()

    def ref():
        for call in ref_calls:
            call()

    compare(ours, ref, reference_name=reference, group="gemm step (8 GEMMs)",
            target="gemm" if reference == "scipy_sgemm" else None,
            same_pool=reference == "scipy_sgemm",
            flops=STEP_FLOPS, samples=BATCH, shape="784-250-100-10, batch 100")
