"""Whole training steps, epochs and inference of the talk's two MNIST models, against
the peers of bench/peers.py in the same process (issue 5).

Every peer starts from the same Glorot weights (seed 0) and trains with RMSProp in
PyTorch's form at batch 100, in the dtype of NNKERNELS_BENCH_DTYPE (float32 by
default), on MNIST-shaped random data (speed does not depend on the pixel values).

  step       one training step on fixed batches (forward, loss, backward, optimizer)
  epoch      shuffled minibatches over 6,000 samples: gathering, steps, the fit loop
  predict    the 10,000 test images in one batch
  latency    one image

Peers: hand-written NumPy (always), PyTorch eager (when installed), and the GEMM-only
ceiling (the step's GEMMs alone; its ratio is below 1 by construction and says how
close the whole step comes to it). References run in other thread pools than ours, so
they are timed in blocks before and after ours (conftest's same_pool=False).
bench/compare.py does the same side by side in separate processes, with JAX too.
"""
import os

import numpy as np
import pytest

import peers as P

DTYPE = os.environ.get("NNKERNELS_BENCH_DTYPE", "float32")
BATCH = 100
EPOCH_SAMPLES = 6000
TEST_SAMPLES = 10000
MODELS = ("classifier", "autoencoder")
STEP_PEERS = ("numpy", "torch", "gemm")
INFER_PEERS = ("numpy", "torch")
TARGET = {"numpy": "training_numpy", "torch": "training_torch", "gemm": "gemm_ceiling"}


def _peer(name, model, n_threads, n=EPOCH_SAMPLES):
    if not P.peer_available(name):
        pytest.skip(f"{name} is not installed")
    x, y = P.random_data(n, model, dtype=DTYPE)
    return P.make_peer(name, model, x, y, threads=n_threads, batch=BATCH, dtype=DTYPE)


def _cycle(peer):
    batches = peer.fixed_batches()
    state = {"i": 0}

    def step():
        state["i"] += 1
        return peer.step(batches[state["i"] % len(batches)])
    return step


@pytest.mark.parametrize("reference", STEP_PEERS)
@pytest.mark.parametrize("model", MODELS)
def test_training_step(compare, n_threads, model, reference):
    ours, ref = _peer("nnkernels", model, n_threads), _peer(reference, model, n_threads)
    if reference != "gemm":  # same weights, same batch: the same first losses
        batch_ours, batch_ref = ours.fixed_batches()[0], ref.fixed_batches()[0]
        for _ in range(2):
            a, b = ours.step(batch_ours), ref.step(batch_ref)
            assert abs(a - b) <= 2e-3 * max(1.0, abs(b)), (a, b)
    compare(_cycle(ours), _cycle(ref), reference_name=f"{reference} training step",
            group=f"training {model}", api="model", target=TARGET[reference],
            same_pool=False, samples=BATCH, flops=P.flops_per_sample(model) * BATCH,
            model=model, batch=BATCH, dtype=DTYPE)


@pytest.mark.parametrize("model", MODELS)
def test_training_epoch(compare, n_threads, model):
    ours, ref = _peer("nnkernels", model, n_threads), _peer("numpy", model, n_threads)
    seeds = iter(range(10**9))
    compare(lambda: ours.epoch(next(seeds)), lambda: ref.epoch(next(seeds)),
            reference_name=f"numpy epoch of {EPOCH_SAMPLES} samples",
            group=f"training {model}", api="model", target="training_numpy",
            same_pool=False, samples=EPOCH_SAMPLES,
            flops=P.flops_per_sample(model) * EPOCH_SAMPLES, model=model, batch=BATCH,
            dtype=DTYPE)


@pytest.mark.parametrize("reference", INFER_PEERS)
@pytest.mark.parametrize("model", MODELS)
def test_predict_10k(compare, n_threads, model, reference):
    ours, ref = _peer("nnkernels", model, n_threads), _peer(reference, model, n_threads)
    x = np.random.default_rng(2).random((TEST_SAMPLES, 784), dtype=np.float32).astype(DTYPE)
    np.testing.assert_allclose(ours.predict(x[:50]), ref.predict(x[:50]), rtol=1e-3,
                               atol=1e-4)
    compare(lambda: ours.predict(x), lambda: ref.predict(x),
            reference_name=f"{reference} predict", group=f"inference {model}",
            api="model", target="inference_torch" if reference == "torch" else None,
            same_pool=False, samples=TEST_SAMPLES, model=model, dtype=DTYPE)


@pytest.mark.parametrize("reference", INFER_PEERS)
@pytest.mark.parametrize("model", MODELS)
def test_predict_one_image(compare, n_threads, model, reference):
    ours, ref = _peer("nnkernels", model, n_threads), _peer(reference, model, n_threads)
    x1 = np.random.default_rng(3).random((1, 784), dtype=np.float32).astype(DTYPE)
    np.testing.assert_allclose(ours.predict(x1), ref.predict(x1), rtol=1e-3, atol=1e-4)
    compare(lambda: ours.predict(x1), lambda: ref.predict(x1),
            reference_name=f"{reference} one-image latency", group=f"inference {model}",
            api="model", target="latency_torch" if reference == "torch" else None,
            same_pool=False, samples=1, model=model, dtype=DTYPE)
