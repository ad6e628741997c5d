"""What every peer of bench/peers.py shares: the two models' layer sizes, RMSProp's
settings, the step's GEMM shapes, the Glorot weights and shuffled order nnkernels uses,
MNIST-shaped random data, and the Peer base class (batches gathered into buffers)."""
import numpy as np

LR, RHO, EPS = 1e-3, 0.9, 1e-8

MODELS = {
    "classifier": {"sizes": [(784, 250, "relu"), (250, 100, "relu"), (100, 10, None)],
                   "loss": "softmax_cross_entropy"},
    "autoencoder": {"sizes": [(784, 250, "relu"), (250, 50, "relu"), (50, 250, "relu"),
                              (250, 784, "sigmoid")],
                    "loss": "mse"},
}


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
