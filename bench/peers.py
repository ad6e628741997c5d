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
import math
import os
import pickle
import sys
import time

import numpy as np

LR, RHO, EPS = 1e-3, 0.9, 1e-8

MODELS = {
    "classifier": {"sizes": [(784, 250, "relu"), (250, 100, "relu"), (100, 10, None)],
                   "loss": "softmax_cross_entropy"},
    "autoencoder": {"sizes": [(784, 250, "relu"), (250, 50, "relu"), (50, 250, "relu"),
                              (250, 784, "sigmoid")],
                    "loss": "mse"},
}
PEERS = ("nnkernels", "numpy", "torch", "jax", "gemm")


def gemm_shapes(model, batch):
    """(m, k, n, trans_a, trans_b) of every GEMM of one training step, in order."""
    sizes = MODELS[model]["sizes"]
    fwd = [(batch, i, o, False, False) for i, o, _ in sizes]
    dw = [(i, batch, o, True, False) for i, o, _ in reversed(sizes)]
    dx = [(batch, o, i, False, True) for i, o, _ in reversed(sizes[1:])]
    return fwd + dw + dx


def flops_per_sample(model):
    """GEMM FLOPs of one training sample (forward, weight and input gradients):
    classifier 0.94 M, autoencoder 2.11 M."""
    return sum(2 * m * k * n for m, k, n, _, _ in gemm_shapes(model, 1))


def glorot_weights(model, seed=0, dtype="float32"):
    """[(W (in, out), b (out,)), ...] drawn as nnkernels.models draws them: one
    Generator(seed) for all layers in order, N(0, 2 / (fan_in + fan_out)), zero bias."""
    rng = np.random.default_rng(seed)
    out = []
    for i, o, _ in MODELS[model]["sizes"]:
        w = rng.normal(0.0, np.sqrt(2.0 / (i + o)), (i, o)).astype(dtype)
        out.append((w, np.zeros(o, dtype)))
    return out


def random_data(n, model, seed=1, dtype="float32"):
    """MNIST-shaped stand-in: pixels in [0, 1), labels 0..9."""
    rng = np.random.default_rng(seed)
    x = rng.random((n, 784), dtype=np.float32).astype(dtype)
    y = rng.integers(0, 10, n).astype(np.int64)
    return x, (y if model == "classifier" else x)


def shuffled_order(n, seed):
    """The order nnkernels' fit uses for `seed` (a fresh Generator shuffling arange)."""
    order = np.arange(n)
    np.random.default_rng(seed).shuffle(order)
    return order


class Peer:
    """One training implementation of one model.

    x: (n, 784) training inputs; y: int64 labels (classifier) or the targets (the
    autoencoder's are x itself). Subclasses implement _step(xb, yb) -> loss (float) on
    gathered batches and predict(x).
    """

    name = ""

    def __init__(self, model, x, y, *, threads, batch=100, dtype="float32", seed=0):
        self.model, self.batch, self.threads = model, batch, threads
        self.dtype = np.dtype(dtype)
        self.classifier = MODELS[model]["loss"] == "softmax_cross_entropy"
        self.x = np.ascontiguousarray(x, self.dtype)
        self.y = self.x if y is x else np.ascontiguousarray(
            y, np.int64 if self.classifier else self.dtype)
        self.seed = seed
        self._gather = {}
        self._fixed = None

    # Batches gathered with np.take into buffers reused by every epoch.
    def _buffers(self, m):
        bufs = self._gather.get(m)
        if bufs is None:
            xb = np.empty((m, self.x.shape[1]), self.dtype)
            yb = xb if self.y is self.x else np.empty((m,) + self.y.shape[1:], self.y.dtype)
            bufs = self._gather[m] = (xb, yb)
        return bufs

    def _batch(self, idx):
        xb, yb = self._buffers(len(idx))
        np.take(self.x, idx, axis=0, out=xb)
        if yb is not xb:
            np.take(self.y, idx, axis=0, out=yb)
        return xb, yb

    def epoch(self, seed):
        """One epoch over shuffled minibatches; returns the mean training loss."""
        n = self.x.shape[0]
        order = shuffled_order(n, seed)
        total = 0.0
        for lo in range(0, n, self.batch):
            idx = order[lo:lo + self.batch]
            xb, yb = self._batch(idx)
            total += self._step(xb, yb) * len(idx)
        return total / n

    def fixed_batches(self, count=8):
        """`count` batches gathered once (copies), for timing steps without gathering."""
        if self._fixed is None:
            order = shuffled_order(self.x.shape[0], 12345)
            self._fixed = []
            for k in range(count):
                idx = order[k * self.batch:(k + 1) * self.batch]
                xb = np.ascontiguousarray(self.x[idx])
                yb = xb if self.y is self.x else np.ascontiguousarray(self.y[idx])
                self._fixed.append(self._prepare(xb, yb))
        return self._fixed

    def _prepare(self, xb, yb):
        """What step() takes for a fixed batch (torch wraps it in tensors)."""
        return xb, yb

    def step(self, batch):
        """One training step on a batch from fixed_batches(); returns the loss."""
        return self._step(*batch)

    def weights(self):
        """[(W (in, out), b), ...] as NumPy copies."""
        raise NotImplementedError

    def close(self):
        pass


# -- nnkernels --------------------------------------------------------------------------

class NnkernelsPeer(Peer):
    name = "nnkernels"

    def __init__(self, model, x, y, **kw):
        super().__init__(model, x, y, **kw)
        import nnkernels
        import nnkernels.models
        nnkernels.set_num_threads(self.threads)
        build = getattr(nnkernels.models, f"mnist_{model}")
        self.net = build(seed=self.seed, dtype=self.dtype.name)
        self.nnkernels = nnkernels

    def epoch(self, seed):
        history = self.net.fit(self.x, self.y, epochs=1, batch_size=self.batch, verbose=0,
                               seed=seed)
        return history.history["loss"][-1]

    def _step(self, xb, yb):
        return self.net.train_step(xb, yb)

    def predict(self, x):
        return self.net.predict(x, batch_size=max(1, x.shape[0]))

    def forward(self, x):
        return self.net.forward(x)

    def weights(self):
        return [(layer.weight.data.copy(), layer.bias.data.copy()) for layer in self.net.layers]


# -- NumPy ------------------------------------------------------------------------------

class NumpyPeer(Peer):
    """Hand-written NumPy: every array allocated once, ufuncs with out=, BLAS through
    np.matmul(..., out=). The reference the regression tracking divides by."""

    name = "numpy"

    def __init__(self, model, x, y, **kw):
        super().__init__(model, x, y, **kw)
        import threadpoolctl
        # NumPy's own OpenBLAS (and any other BLAS loaded) to the asked thread count;
        # the limit stays until changed.
        threadpoolctl.threadpool_limits(limits=self.threads, user_api="blas")
        self.sizes = MODELS[model]["sizes"]
        self.params = []   # [W, b, W, b, ...]
        for w, b in glorot_weights(model, self.seed, self.dtype):
            self.params += [w, b]
        self.grads = [np.zeros_like(p) for p in self.params]
        self.cache = [np.zeros_like(p) for p in self.params]
        self.scratch = [np.empty_like(p) for p in self.params]
        self._bufs = {}

    def _buf(self, m):
        bufs = self._bufs.get(m)
        if bufs is None:
            d = self.dtype
            h = [np.empty((m, o), d) for _, o, _ in self.sizes]      # activations
            dx = [np.empty((m, i), d) for i, _, _ in self.sizes]     # input gradients
            mask = [np.empty((m, o), d) for _, o, _ in self.sizes]   # ReLU' / sigmoid'
            out_dim = self.sizes[-1][1]
            loss = {"g": np.empty((m, out_dim), d), "col": np.empty((m, 1), d),
                    "sum": np.empty((m, 1), d), "rows": np.arange(m)}
            bufs = self._bufs[m] = (h, dx, mask, loss)
        return bufs

    def _forward(self, x, h):
        a = x
        for li, (_, _, act) in enumerate(self.sizes):
            w, b, z = self.params[2 * li], self.params[2 * li + 1], h[li]
            np.matmul(a, w, out=z)
            z += b
            if act == "relu":
                np.maximum(z, 0, out=z)
            elif act == "sigmoid":
                np.negative(z, out=z)
                np.exp(z, out=z)
                z += 1
                np.reciprocal(z, out=z)
            a = z
        return a

    def _step(self, xb, yb):
        m = xb.shape[0]
        h, dx, mask, lb = self._buf(m)
        out = self._forward(xb, h)
        g = lb["g"]
        if self.classifier:
            # stable softmax cross-entropy: shift by the row max
            col, s = lb["col"], lb["sum"]
            np.max(out, axis=1, keepdims=True, out=col)
            np.subtract(out, col, out=g)                        # shifted logits
            picked = g[lb["rows"], yb]                          # (m,) small
            np.exp(g, out=g)
            np.sum(g, axis=1, keepdims=True, out=s)
            loss = float(np.mean(np.log(s[:, 0]) - picked))
            np.divide(g, s, out=g)                              # softmax
            g[lb["rows"], yb] -= 1
            g *= 1.0 / m
        else:
            np.subtract(out, yb, out=g)
            loss = float(np.vdot(g, g)) / g.size
            # sigmoid'(z) = y (1 - y); dL/dy = 2 (y - t) / size
            sm = mask[-1]
            np.subtract(1, out, out=sm)
            sm *= out
            g *= sm
            g *= 2.0 / g.size
        d = g
        for li in range(len(self.sizes) - 1, -1, -1):
            if self.sizes[li][2] == "relu":
                np.sign(h[li], out=mask[li])   # ReLU': h >= 0, so its sign is 0 or 1
                d *= mask[li]
            a_prev = xb if li == 0 else h[li - 1]
            np.matmul(a_prev.T, d, out=self.grads[2 * li])
            np.sum(d, axis=0, out=self.grads[2 * li + 1])
            if li > 0:
                np.matmul(d, self.params[2 * li].T, out=dx[li])
                d = dx[li]
        self._rmsprop()
        return loss

    def _rmsprop(self):
        for p, gr, c, t in zip(self.params, self.grads, self.cache, self.scratch):
            c *= RHO
            np.multiply(gr, gr, out=t)
            t *= 1 - RHO
            c += t
            np.sqrt(c, out=t)
            t += EPS
            np.divide(gr, t, out=t)
            t *= LR
            p -= t

    def predict(self, x):
        m = x.shape[0]
        h = self._buf(m)[0]
        out = self._forward(x, h)
        if self.classifier:
            lb = self._buf(m)[3]
            p = np.empty_like(out)
            np.max(out, axis=1, keepdims=True, out=lb["col"])
            np.subtract(out, lb["col"], out=p)
            np.exp(p, out=p)
            np.sum(p, axis=1, keepdims=True, out=lb["sum"])
            p /= lb["sum"]
            return p
        return out.copy()

    def weights(self):
        return [(self.params[2 * i].copy(), self.params[2 * i + 1].copy())
                for i in range(len(self.sizes))]


# -- PyTorch ----------------------------------------------------------------------------

class TorchPeer(Peer):
    """PyTorch eager: nn.Sequential, the matching loss, optim.RMSprop (alpha = rho)."""

    name = "torch"

    def __init__(self, model, x, y, **kw):
        super().__init__(model, x, y, **kw)
        import torch
        self.torch = torch
        torch.set_num_threads(self.threads)
        dt = torch.float32 if self.dtype == np.float32 else torch.float64
        layers = []
        for (i, o, act), (w, b) in zip(MODELS[model]["sizes"],
                                       glorot_weights(model, self.seed, self.dtype)):
            lin = torch.nn.Linear(i, o, dtype=dt)
            with torch.no_grad():
                lin.weight.copy_(torch.from_numpy(w.T.copy()))
                lin.bias.copy_(torch.from_numpy(b))
            layers.append(lin)
            if act == "relu":
                layers.append(torch.nn.ReLU())
            elif act == "sigmoid":
                layers.append(torch.nn.Sigmoid())
        self.net = torch.nn.Sequential(*layers)
        self.loss_fn = torch.nn.CrossEntropyLoss() if self.classifier else torch.nn.MSELoss()
        self.opt = torch.optim.RMSprop(self.net.parameters(), lr=LR, alpha=RHO, eps=EPS)
        self._tensors = {}

    def _batch(self, idx):
        xb, yb = super()._batch(idx)
        return self._prepare(xb, yb)

    def _prepare(self, xb, yb):
        key = (xb.ctypes.data, xb.shape[0])
        t = self._tensors.get(key)
        if t is None:  # from_numpy shares the buffer: made once per buffer
            xt = self.torch.from_numpy(xb)
            t = self._tensors[key] = (xt, xt if yb is xb else self.torch.from_numpy(yb))
        return t

    def _step(self, xt, yt):
        self.opt.zero_grad()
        loss = self.loss_fn(self.net(xt), yt)
        loss.backward()
        self.opt.step()
        return loss.item()

    def predict(self, x):
        torch = self.torch
        with torch.inference_mode():
            out = self.net(torch.from_numpy(x))
            if self.classifier:
                out = torch.softmax(out, dim=1)
        return out.numpy()

    def weights(self):
        lins = [m for m in self.net if isinstance(m, self.torch.nn.Linear)]
        return [(m.weight.detach().numpy().T.copy(), m.bias.detach().numpy().copy())
                for m in lins]


# -- JAX --------------------------------------------------------------------------------

def jax_available():
    try:
        import jax  # noqa: F401
    except Exception:  # noqa: BLE001  (ImportError, or a broken install)
        return False
    return True


class JaxPeer(Peer):
    """jax.jit step; an epoch is one jitted lax.scan over the epoch's batches, each
    gathered inside the scan from the training set held on the device (as the reference
    peer ../shared/peers/jax_peer.py --scan does; gathering the epoch outside the jitted
    function and copying it in made this peer half as fast). Thread count: JAX has no
    runtime setting, so the worker process is pinned to `threads` cores
    (sched_setaffinity) before jax is imported (see serve())."""

    name = "jax"

    def __init__(self, model, x, y, **kw):
        super().__init__(model, x, y, **kw)
        import jax
        import jax.numpy as jnp
        self.jax, self.jnp = jax, jnp
        if self.dtype == np.float64:
            jax.config.update("jax_enable_x64", True)
        sizes = MODELS[model]["sizes"]
        acts = [a for _, _, a in sizes]
        classifier = self.classifier
        self.params = [(jnp.asarray(w), jnp.asarray(b))
                       for w, b in glorot_weights(model, self.seed, self.dtype)]
        self.cache = jax.tree_util.tree_map(jnp.zeros_like, self.params)

        def forward(params, x):
            for (w, b), act in zip(params, acts):
                x = x @ w + b
                if act == "relu":
                    x = jax.nn.relu(x)
                elif act == "sigmoid":
                    x = jax.nn.sigmoid(x)
            return x

        def loss_fn(params, x, y):
            out = forward(params, x)
            if classifier:
                logp = jax.nn.log_softmax(out, axis=1)
                return -jnp.mean(jnp.take_along_axis(logp, y[:, None], axis=1))
            return jnp.mean((out - y) ** 2)

        def step(carry, batch):
            params, cache = carry
            loss, grads = jax.value_and_grad(loss_fn)(params, *batch)
            cache = jax.tree_util.tree_map(lambda c, g: RHO * c + (1 - RHO) * g * g,
                                           cache, grads)
            params = jax.tree_util.tree_map(lambda p, g, c: p - LR * g / (jnp.sqrt(c) + EPS),
                                            params, grads, cache)
            return (params, cache), loss

        self._step_jit = jax.jit(lambda p, c, x, y: step((p, c), (x, y)), donate_argnums=(0, 1))

        def epoch(p, c, x_all, y_all, idx):
            return jax.lax.scan(lambda carry, i: step(carry, (x_all[i], y_all[i])), (p, c),
                                idx)

        self._epoch_jit = jax.jit(epoch, donate_argnums=(0, 1))
        self._x_dev = jnp.asarray(self.x)
        self._y_dev = self._x_dev if self.y is self.x else jnp.asarray(self.y)

        def predict(params, x):
            out = forward(params, x)
            return jax.nn.softmax(out, axis=1) if classifier else out

        self._predict_jit = jax.jit(predict)

    def _prepare(self, xb, yb):
        return self.jnp.asarray(xb), self.jnp.asarray(yb)

    def _step(self, xb, yb):
        (self.params, self.cache), loss = self._step_jit(self.params, self.cache, xb, yb)
        return float(loss)

    def epoch(self, seed):
        n = self.x.shape[0]
        steps = n // self.batch
        order = shuffled_order(n, seed)[:steps * self.batch]  # full batches only
        idx = order.astype(np.int32).reshape(steps, self.batch)
        (self.params, self.cache), losses = self._epoch_jit(self.params, self.cache,
                                                            self._x_dev, self._y_dev, idx)
        return float(losses.mean())

    def predict(self, x):
        return np.asarray(self._predict_jit(self.params, x).block_until_ready())

    def weights(self):
        return [(np.asarray(w), np.asarray(b)) for w, b in self.params]


# -- the GEMM-only ceiling --------------------------------------------------------------

class GemmPeer(Peer):
    """Only the GEMMs of each step, through nnkernels.kernels.gemm, on fixed buffers."""

    name = "gemm"

    def __init__(self, model, x, y, **kw):
        super().__init__(model, x, y, **kw)
        import nnkernels
        from nnkernels import kernels
        nnkernels.set_num_threads(self.threads)
        rng = np.random.default_rng(0)
        self.calls = []
        for m, k, n, ta, tb in gemm_shapes(model, self.batch):
            a = rng.standard_normal((k, m) if ta else (m, k)).astype(self.dtype)
            b = (rng.standard_normal((n, k) if tb else (k, n)) * 0.05).astype(self.dtype)
            self.calls.append((a, b, np.empty((m, n), self.dtype), ta, tb))
        self._gemm = kernels.gemm

    def _step(self, xb=None, yb=None):
        gemm = self._gemm
        for a, b, c, ta, tb in self.calls:
            gemm(a, b, c, trans_a=ta, trans_b=tb)
        return 0.0

    def epoch(self, seed):
        steps = math.ceil(self.x.shape[0] / self.batch)
        for _ in range(steps):
            self._step()
        return 0.0

    def fixed_batches(self, count=8):
        return [(None, None)] * count

    def predict(self, x):
        raise NotImplementedError("the GEMM ceiling has no inference")

    def weights(self):
        return None


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
