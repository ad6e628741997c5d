"""The peers built on nnkernels: nnkernels itself (``model.fit`` and ``train_step``) and
the GEMM-only ceiling (just the step's GEMMs through ``nnkernels.kernels.gemm``)."""
import math

import numpy as np

from peer_common import EPS, LR, RHO, Peer, gemm_shapes


# -- nnkernels --------------------------------------------------------------------------

class NnkernelsPeer(Peer):
    name = "nnkernels"

    def __init__(self, model, x, y, **kw):
        super().__init__(model, x, y, **kw)
        import nnkernels
        import nnkernels.models
        nnkernels.set_num_threads(self.threads)
        build = getattr(nnkernels.models, f"mnist_{model}")
        # The peers' RMSProp (the recipe's own learning rate is 2e-3).
        self.net = build(seed=self.seed, dtype=self.dtype.name,
                         optimizer=nnkernels.RMSProp(lr=LR, rho=RHO, eps=EPS))
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
