"""The kernels on odd shapes, row-strided views, outputs aliasing their inputs and
several Python threads at once, against NumPy float64. What tools/sanitize.sh runs
under AddressSanitizer and UndefinedBehaviorSanitizer: every read and write out of
bounds, every use of freed memory and every undefined operation ends the run."""
import threading

import numpy as np
from hypothesis import given, settings, strategies as st

from nnkernels import kernels
from conftest import tolerance

# Widths around the vector lengths of the clones (4, 8, 16 lanes) and the row blocks.
odd = st.sampled_from([1, 2, 3, 5, 7, 8, 9, 15, 16, 17, 31, 33, 63, 64, 65, 127, 129])
dtypes = st.sampled_from([np.float32, np.float64])
threads = st.integers(1, 3)


def _guarded(shape, dtype, guard=7):
    """A C-contiguous array of `shape` inside a NaN-filled buffer, `guard` elements
    either side: (array, buffer)."""
    size = int(np.prod(shape))
    buf = np.full(size + 2 * guard, np.nan, dtype)
    return buf[guard:guard + size].reshape(shape), buf


def _guards_intact(buf, guard=7):
    return np.isnan(buf[:guard]).all() and np.isnan(buf[-guard:]).all()


@given(n=odd, m=odd, dtype=dtypes, n_threads=threads, in_place=st.booleans(),
       act=st.sampled_from(["relu", "sigmoid", "add"]))
def test_forward_on_odd_shapes_and_in_place(n, m, dtype, n_threads, in_place, act):
    rng = np.random.default_rng(n * 1000 + m)
    x = (3 * rng.standard_normal((n, m))).astype(dtype)
    bias = rng.standard_normal(m).astype(dtype)
    z = x.astype(np.float64) + bias
    expected = {"relu": np.maximum(z, 0), "sigmoid": 0.5 * (1 + np.tanh(0.5 * z)),
                "add": z}[act]
    kernel = getattr(kernels, f"bias_{act}")
    target, buf = (x, None) if in_place else _guarded((n, m), dtype)
    out = kernel(x, bias, target, n_threads=n_threads)
    assert out is target
    np.testing.assert_allclose(out, expected, **tolerance(np.dtype(dtype)))
    assert buf is None or _guards_intact(buf)


@given(n=odd, m=odd, dtype=dtypes, n_threads=threads,
       alias=st.sampled_from(["none", "dy", "y"]), act=st.sampled_from(["relu", "sigmoid"]))
def test_backward_on_odd_shapes_and_aliased(n, m, dtype, n_threads, alias, act):
    rng = np.random.default_rng(n * 999 + m)
    y = getattr(kernels, f"bias_{act}")(rng.standard_normal((n, m)).astype(dtype),
                                        np.zeros(m, dtype))
    dy = rng.standard_normal((n, m)).astype(dtype)
    y64, dy64 = y.astype(np.float64), dy.astype(np.float64)
    expected = dy64 * (y64 > 0) if act == "relu" else dy64 * y64 * (1 - y64)
    dx = {"none": None, "dy": dy, "y": y}[alias]
    got, dbias = getattr(kernels, f"bias_{act}_backward")(dy, y, dx, n_threads=n_threads)
    tol = tolerance(np.dtype(dtype))
    np.testing.assert_allclose(got, expected, **tol)
    np.testing.assert_allclose(dbias, expected.sum(axis=0), rtol=tol["rtol"],
                               atol=tol["atol"] * n * 10)


@given(n=odd, m=odd, dtype=dtypes, n_threads=threads, in_place=st.booleans())
def test_losses_on_odd_shapes_and_in_place(n, m, dtype, n_threads, in_place):
    rng = np.random.default_rng(n * 77 + m)
    logits = (4 * rng.standard_normal((n, m))).astype(dtype)
    labels = rng.integers(0, m, n)
    z = logits.astype(np.float64)
    shifted = z - z.max(axis=1, keepdims=True)
    log_p = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    onehot = np.eye(m)[labels]
    target = rng.random((n, m)).astype(dtype)
    mse_grad = 2 * (z - target) / z.size
    tol = tolerance(np.dtype(dtype))

    loss, grad = kernels.softmax_cross_entropy(logits.copy() if not in_place else logits,
                                               labels, logits if in_place else None,
                                               n_threads=n_threads)
    np.testing.assert_allclose(loss, -log_p[np.arange(n), labels].mean(), **tol)
    np.testing.assert_allclose(grad, (np.exp(log_p) - onehot) / n, **tol)
    pred = z.astype(dtype)
    loss, grad = kernels.mse(pred, target, pred if in_place else None, n_threads=n_threads)
    np.testing.assert_allclose(loss, ((z - target) ** 2).mean(), **tol)
    np.testing.assert_allclose(grad, mse_grad, **tol)


@given(m=odd, k=odd, n=odd, dtype=dtypes, trans_a=st.booleans(), trans_b=st.booleans(),
       beta=st.sampled_from([0.0, 1.0, -0.5]))
def test_gemm_on_odd_shapes_writes_only_its_output(m, k, n, dtype, trans_a, trans_b, beta):
    rng = np.random.default_rng(m * 7919 + k * 31 + n)
    a = rng.standard_normal((k, m) if trans_a else (m, k)).astype(dtype)
    b = rng.standard_normal((n, k) if trans_b else (k, n)).astype(dtype)
    out, buf = _guarded((m, n), dtype)
    out[...] = rng.standard_normal((m, n))
    c0 = out.astype(np.float64)
    kernels.gemm(a, b, out, trans_a=trans_a, trans_b=trans_b, alpha=0.5, beta=beta)
    a64, b64 = a.astype(np.float64), b.astype(np.float64)
    ref = 0.5 * (a64.T if trans_a else a64) @ (b64.T if trans_b else b64) + beta * c0
    tol = tolerance(np.dtype(dtype))
    np.testing.assert_allclose(out, ref, rtol=tol["rtol"] * np.sqrt(k),
                               atol=tol["atol"] * np.sqrt(k) * 10)
    assert _guards_intact(buf)


@given(size=st.integers(1, 3000), dtype=dtypes, n_threads=threads,
       kind=st.sampled_from(["rmsprop", "sgd", "adam"]))
@settings(max_examples=30)
def test_optimizer_updates_on_odd_lengths(size, dtype, n_threads, kind):
    rng = np.random.default_rng(size)
    p, g = (rng.standard_normal(size).astype(dtype) for _ in range(2))
    s1, s2 = np.abs(rng.standard_normal(size)).astype(dtype), rng.standard_normal(size).astype(dtype)
    p64, g64, c64, v64 = (a.astype(np.float64) for a in (p, g, s1, s2))
    if kind == "rmsprop":
        kernels.rmsprop_update(p, g, s1, lr=0.01, rho=0.9, eps=1e-6, n_threads=n_threads)
        c64 = 0.9 * c64 + 0.1 * g64 ** 2
        p64 -= 0.01 * g64 / (np.sqrt(c64) + 1e-6)
    elif kind == "sgd":
        kernels.sgd_update(p, g, s2, lr=0.01, momentum=0.9, n_threads=n_threads)
        v64 = 0.9 * v64 + g64
        p64 -= 0.01 * v64
    else:
        kernels.adam_update(p, g, s2, s1, lr=0.01, beta1=0.9, beta2=0.99, eps=1e-6, step=3,
                            n_threads=n_threads)
        m64 = 0.9 * v64 + 0.1 * g64
        v2 = 0.99 * c64 + 0.01 * g64 ** 2
        p64 -= 0.01 / (1 - 0.9 ** 3) * m64 / (np.sqrt(v2) / np.sqrt(1 - 0.99 ** 3) + 1e-6)
    rtol = 1e-4 if dtype == np.float32 else 1e-10
    np.testing.assert_allclose(p, p64, rtol=rtol, atol=rtol)


def test_many_python_threads_on_odd_shapes():
    """Six Python threads, each calling every kernel family on its own odd shapes with
    2 OpenMP threads, get the bits of the same calls made one thread at a time."""
    def work(seed):
        rng = np.random.default_rng(seed)
        n, k, m = (int(v) for v in rng.choice([1, 3, 17, 33, 65, 129], 3))
        dtype = (np.float32, np.float64)[seed % 2]
        x = rng.standard_normal((n, k)).astype(dtype)
        w = rng.standard_normal((k, m)).astype(dtype)
        bias = rng.standard_normal(m).astype(dtype)
        labels = rng.integers(0, m, n)
        cache = np.zeros_like(w)
        outputs = []
        for _ in range(15):
            h = kernels.bias_relu(kernels.gemm(x, w), bias, n_threads=2)
            loss, dh = kernels.softmax_cross_entropy(h, labels, h, n_threads=2)
            dz, dbias = kernels.bias_relu_backward(dh, dh, dh, n_threads=2)
            dw = kernels.gemm(x, dz, trans_a=True)
            kernels.rmsprop_update(w, dw, cache, lr=1e-2, rho=0.9, eps=1e-8, n_threads=2)
            outputs += [loss, dbias.copy(), w.copy()]
        return outputs

    seeds = list(range(6))
    expected = [work(s) for s in seeds]
    got = [None] * len(seeds)
    barrier = threading.Barrier(len(seeds))

    def run(i):
        barrier.wait()
        got[i] = work(seeds[i])

    workers = [threading.Thread(target=run, args=(i,)) for i in range(len(seeds))]
    for t in workers:
        t.start()
    for t in workers:
        t.join()
    for e, g in zip(expected, got):
        assert g is not None and all(np.array_equal(a, b) for a, b in zip(e, g))
