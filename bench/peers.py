"""Reference implementations ("peers") of training the talk's two MNIST models, to time
nnkernels against side by side (bench/compare.py, bench/test_bench_training.py).

Every peer trains the same network the same way: float32 (or float64), batch 100,
Glorot-normal weights drawn exactly as ``nnkernels.models`` draws them (so all peers
start from identical weights for a given seed), zero biases, RMSProp in PyTorch's form
(rho 0.9, eps 1e-8 outside the square root, lr 1e-3), and shuffled minibatches gathered
with ``np.take`` into preallocated buffers.

  classifier   784 -> 250 ReLU -> 100 ReLU -> 10, softmax cross-entropy (mean)
  autoencoder  784 -> 250 ReLU -> 50 ReLU -> 250 ReLU -> 784 sigmoid, MSE (mean)

Peers (``PEERS``):
  nnkernels  ``nnkernels.models.mnist_*(seed=0)``; an epoch is ``model.fit(x, y,
             epochs=1, batch_size=100, verbose=0)``, a step ``model.train_step``.
  numpy      hand-written NumPy: in-place ufuncs with ``out=``, every buffer allocated
             once, one scratch buffer per parameter for the RMSProp update.
  torch      PyTorch eager: ``torch.nn.Sequential`` + ``torch.optim.RMSprop``,
             ``torch.set_num_threads(n)``.
  jax        ``jax.jit`` step, ``lax.scan`` over the batches of an epoch (only when
             ``import jax`` works).
  gemm       the GEMM-only ceiling: just the step's GEMMs (8 for the classifier, 11 for
             the autoencoder: forward, weight gradients, and input gradients of every
             layer but the first) through ``nnkernels.kernels.gemm`` on preallocated
             buffers. No activation, loss, bias or optimizer work: no implementation of
             this step on this BLAS can beat it.

Each peer takes its thread count explicitly. ``python bench/peers.py --serve SPEC``
runs one peer in a worker process that bench/compare.py drives through pickles on
stdin/stdout; that keeps each library's thread pools (and environment, e.g.
``OMP_WAIT_POLICY``) in a process of its own.
"""
import os
import pickle
import sys
import time

import numpy as np

# MODELS and the helpers bench/compare.py and bench/test_bench_training.py use as P.*.
from peer_common import MODELS, flops_per_sample, gemm_shapes, random_data  # noqa: F401
from peer_jax import JaxPeer, jax_available
from peer_nnkernels import GemmPeer, NnkernelsPeer
from peer_numpy import NumpyPeer
from peer_torch import TorchPeer

PEERS = ("nnkernels", "numpy", "torch", "jax", "gemm")
PEER_CLASSES = {"nnkernels": NnkernelsPeer, "numpy": NumpyPeer, "torch": TorchPeer,
                "jax": JaxPeer, "gemm": GemmPeer}


def peer_available(name):
    if name == "torch":
        try:
            import torch  # noqa: F401
        except ImportError:
            return False
    if name == "jax":
        return jax_available()
    return True


def make_peer(name, model, x, y, **kw):
    return PEER_CLASSES[name](model, x, y, **kw)


# -- worker process ---------------------------------------------------------------------

def _per_call(func, calls):
    timer, out = time.perf_counter, []
    for _ in range(calls):
        start = timer()
        func()
        out.append(timer() - start)
    return out


def _info(peer):
    """Thread pools and versions as this worker sees them."""
    import threadpoolctl
    info = {"pid": os.getpid(),
            "affinity": sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity")
            else None,
            "env": {k: os.environ.get(k) for k in ("OMP_WAIT_POLICY", "OPENBLAS_THREAD_TIMEOUT",
                                                   "OMP_NUM_THREADS", "XLA_FLAGS")},
            "threadpools": [f"{p['internal_api']} {p.get('version') or ''} x{p['num_threads']} "
                            f"({os.path.basename(p['filepath'])})"
                            for p in threadpoolctl.threadpool_info()]}
    if peer in ("nnkernels", "gemm"):
        import nnkernels
        info["build_info"] = nnkernels.build_info()
    elif peer == "torch":
        import torch
        info["torch"] = {"version": torch.__version__, "num_threads": torch.get_num_threads(),
                         "mkldnn": torch.backends.mkldnn.is_available()}
    elif peer == "jax":
        import jax
        info["jax"] = {"version": jax.__version__, "devices": [str(d) for d in jax.devices()]}
    return info


def serve(spec):
    """Worker loop: build the peer(s) of `spec`, then answer pickled commands.

    spec: {"peer", "threads", "batch", "dtype", "models", "data" (a .npz path holding
    x, y, x_test), "env" ({name: value or None} to set before importing anything)}.
    Commands (tuples): ("check", model, steps), ("epoch", model, seed),
    ("steps", model, count), ("predict", model, rows, calls), ("latency", model, calls),
    ("info",), ("quit",). The first command on a model builds its peer. Replies: ("ok", result) or ("error", text).
    """
    for key, value in spec.get("env", {}).items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value
    if spec["peer"] == "jax" and hasattr(os, "sched_setaffinity"):
        cpus = sorted(os.sched_getaffinity(0))
        os.sched_setaffinity(0, cpus[:spec["threads"]])
    stdin, stdout = sys.stdin.buffer, sys.stdout.buffer
    sys.stdout = sys.stderr  # nothing but replies on the pipe
    data = np.load(spec["data"])
    x, labels, x_test = data["x"], data["y"], data["x_test"]
    peers = {}
    kw = dict(threads=spec["threads"], batch=spec["batch"], dtype=spec["dtype"],
              seed=spec.get("seed", 0))

    def peer(model):
        if model not in peers:
            peers[model] = make_peer(spec["peer"], model, x,
                                     labels if model == "classifier" else x, **kw)
        return peers[model]

    def reply(obj):
        pickle.dump(obj, stdout, protocol=pickle.HIGHEST_PROTOCOL)
        stdout.flush()

    reply(("ok", os.getpid()))
    while True:
        try:
            cmd = pickle.load(stdin)
        except EOFError:
            return
        try:
            op = cmd[0]
            if op == "quit":
                reply(("ok", None))
                return
            if op == "info":
                reply(("ok", _info(spec["peer"])))
                continue
            p = peer(cmd[1])
            if op == "init":
                result = None
            elif op == "check":  # losses of `steps` steps on the first fixed batch
                batch = p.fixed_batches()[0]
                losses = [p.step(batch) for _ in range(cmd[2])]
                result = {"losses": losses, "weights": p.weights()}
            elif op == "epoch":
                start = time.perf_counter()
                loss = p.epoch(cmd[2])
                result = (time.perf_counter() - start, loss)
            elif op == "steps":
                batches = p.fixed_batches()
                it = iter(range(cmd[2]))
                k = len(batches)
                result = _per_call(lambda: p.step(batches[next(it) % k]), cmd[2])
            elif op == "predict":
                xt = np.ascontiguousarray(x_test[:cmd[2]], p.dtype)
                p.predict(xt)
                result = _per_call(lambda: p.predict(xt), cmd[3])
            elif op == "latency":
                x1 = np.ascontiguousarray(x_test[:1], p.dtype)
                p.predict(x1)
                result = {"predict": _per_call(lambda: p.predict(x1), cmd[2])}
                if hasattr(p, "forward"):
                    p.forward(x1)
                    result["forward"] = _per_call(lambda: p.forward(x1), cmd[2])
            else:
                raise ValueError(f"unknown command {op!r}")
            reply(("ok", result))
        except Exception as exc:  # noqa: BLE001  (reported to the parent)
            import traceback
            reply(("error", f"{type(exc).__name__}: {exc}\n{traceback.format_exc()}"))


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--serve":
        import json
        serve(json.loads(sys.argv[2]))
    else:
        print(__doc__)
        print("usage: python bench/peers.py --serve SPEC_JSON  (started by bench/compare.py)")
