"""The PyTorch eager peer: ``torch.nn.Sequential`` and ``torch.optim.RMSprop``."""
import numpy as np

from peer_common import EPS, LR, MODELS, RHO, Peer, glorot_weights


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
