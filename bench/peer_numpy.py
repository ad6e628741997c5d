"""The hand-written NumPy peer: in-place ufuncs with ``out=``, every buffer allocated
once, one scratch buffer per parameter for the RMSProp update."""
import numpy as np

from peer_common import EPS, LR, MODELS, RHO, Peer, glorot_weights


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
