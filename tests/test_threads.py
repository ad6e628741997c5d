"""Thread control, build information, the GIL released in the kernels, and kernels
called from several Python threads at once."""
import sys
import threading

import numpy as np
import pytest

import nnkernels
from nnkernels import kernels


def test_build_info_reports_openmp_and_blas():
    info = nnkernels.build_info()
    assert info["version"] == nnkernels.__version__
    assert isinstance(info["openmp"], bool)
    assert info["num_threads"] >= 1 and info["openmp_max_threads"] >= 1
    assert info["blas"] and all(pool["internal_api"] for pool in info["blas"])
    assert info["blas_num_threads"] >= 1
    # exactly one of the pools is the one the kernels call: SciPy's, even after
    # NumPy's own OpenBLAS (listed too) has been used
    np.ones((64, 64)) @ np.ones((64, 64))
    ours = [p for p in nnkernels.build_info()["blas"] if p["used_by_kernels"]]
    assert len(ours) == 1 and "scipy" in ours[0]["filepath"]


def test_set_num_threads_governs_kernels_and_blas():
    previous = nnkernels.set_num_threads(1)
    try:
        assert nnkernels.get_num_threads() == 1
        assert nnkernels.build_info()["blas_num_threads"] == 1
    finally:
        nnkernels.set_num_threads(previous)
    assert nnkernels.get_num_threads() == previous


def test_num_threads_context_manager_restores():
    before = (nnkernels.get_num_threads(), nnkernels.build_info()["blas_num_threads"])
    with nnkernels.num_threads(1):
        assert nnkernels.get_num_threads() == 1
        assert nnkernels.build_info()["blas_num_threads"] == 1
    assert (nnkernels.get_num_threads(), nnkernels.build_info()["blas_num_threads"]) == before


@pytest.mark.parametrize("bad", [0, -2, 1.5, "2", True])
def test_set_num_threads_rejects(bad):
    # One error type for a bad thread count everywhere: the kernels' n_threads says
    # ValueError too.
    with pytest.raises(ValueError, match="'n_threads' must be an int >= 1"):
        nnkernels.set_num_threads(bad)
    with pytest.raises(ValueError, match="'n_threads' must be an int >= 1"):
        nnkernels.num_threads(bad)


def _another_thread_ran_during(call):
    """Whether another Python thread ran while `call` ran in this one: an outcome, not a
    count of ticks (which depends on how fast the machine is at the moment).

    A watcher blocks on an Event (without the GIL); this thread marks the call as under
    way, wakes the watcher and makes the call. If the call releases the GIL, the watcher
    takes it and records "under way". If the call holds the GIL, the watcher runs only
    after the mark is cleared: with a 1,000 s switch interval this thread never hands the
    GIL over by itself, so the watcher records "over".
    """
    state = {"under_way": False, "seen": None}
    wake = threading.Event()

    def watch():
        wake.wait()
        state["seen"] = state["under_way"]

    old = sys.getswitchinterval()
    sys.setswitchinterval(1000)
    watcher = threading.Thread(target=watch)
    try:
        watcher.start()
        state["under_way"] = True
        wake.set()
        call()
        state["under_way"] = False
    finally:
        wake.set()
        watcher.join()
        sys.setswitchinterval(old)
    return state["seen"]


@pytest.mark.parametrize("name", ["gemm", "bias_relu", "bias_relu_backward",
                                  "softmax_cross_entropy", "mse", "rmsprop_update",
                                  "online_sigmoid_sgd"])
def test_kernels_release_the_gil(name):
    rng = np.random.default_rng(0)
    big = rng.standard_normal((2500, 2500)).astype(np.float32)
    out, other = np.empty_like(big), np.empty_like(big)
    labels = np.zeros(2500, np.int64)
    calls = {  # one call each, of some tens of milliseconds
        "gemm": lambda: kernels.gemm(big, big, out),
        "bias_relu": lambda: kernels.bias_relu(big, big[0], out, n_threads=1),
        "bias_relu_backward": lambda: kernels.bias_relu_backward(big, big, out, big[:, 0].copy(),
                                                                 n_threads=1),
        "softmax_cross_entropy": lambda: kernels.softmax_cross_entropy(big, labels, out,
                                                                       n_threads=1),
        "mse": lambda: kernels.mse(big, other, out, n_threads=1),
        "rmsprop_update": lambda: kernels.rmsprop_update(out, big, other, lr=0.1, rho=0.9,
                                                         eps=1e-8, n_threads=1),
        "online_sigmoid_sgd": lambda: kernels.online_sigmoid_sgd(
            big, big[:, 0].copy(), np.zeros(2500, np.float32), np.zeros(1, np.float32),
            lr=0.1, epochs=2),
    }
    other[:] = 0
    # Had the call held the GIL, the watcher could not have run during it.
    assert _another_thread_ran_during(calls[name])


def test_concurrent_python_threads_get_correct_results():
    rng = np.random.default_rng(1)
    inputs = [rng.standard_normal((200, 130)) for _ in range(8)]
    bias = rng.standard_normal(130)
    expected = [np.maximum(x + bias, 0) for x in inputs]
    weights = rng.standard_normal((130, 40))
    results = [None] * len(inputs)

    def work(i):
        for _ in range(20):
            y = kernels.bias_relu(inputs[i], bias)
            z = kernels.gemm(y, weights)
            loss, _ = kernels.softmax_cross_entropy(z, np.arange(200) % 40)
        results[i] = (y, z, loss)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(len(inputs))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for i, (y, z, loss) in enumerate(results):
        np.testing.assert_array_equal(y, expected[i])
        np.testing.assert_allclose(z, expected[i] @ weights, rtol=1e-10)
        assert loss == kernels.softmax_cross_entropy(z, np.arange(200) % 40)[0]
