"""The JAX peer: a ``jax.jit`` step, and an epoch as one jitted ``lax.scan`` (only when
``import jax`` works)."""
import numpy as np

from peer_common import EPS, LR, MODELS, RHO, Peer, glorot_weights, shuffled_order


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
