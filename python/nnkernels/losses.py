"""Losses: the mean loss of a batch and its gradient, from one fused kernel call.

Each loss keeps its gradient buffer between batches (no allocation after the first
batch of a given size). ``forward`` returns the loss; ``backward`` returns dL/d(output).
"""
import numpy as np

import nnkernels.kernels as kernels
from nnkernels._compiled import why_not


class Loss:
    name = ""
    compiled = False  # True on the losses the compiled step computes (by their name)

    def __init__(self):
        self._grad = None
        self._hits = None   # (predicted labels, hit flags) buffers of correct()

    def _grad_buffer(self, like):
        if self._grad is None or self._grad.shape != like.shape or self._grad.dtype != like.dtype:
            self._grad = np.empty_like(like)
        return self._grad

    def backward(self):
        """dL/d(output) of the last forward call, shape (n, m)."""
        if self._grad is None:
            raise RuntimeError(f"{type(self).__name__}.backward: call forward first")
        return self._grad

    def output(self, z, out=None):
        """What predict() returns for the network output z, written into `out` if given."""
        if out is None:
            return z.copy()
        out[...] = z
        return out

    def get_config(self):
        return {"type": type(self).__name__}

    def correct(self, output, targets):
        """How many rows of a batch's network output are right: for class labels, the
        rows whose largest output is at the label (the compiled step counts them the
        same way); 0 for other targets."""
        return 0

    def why_not_compiled(self):
        """None when the compiled step computes this loss; else why not."""
        return why_not(self, ("forward", "backward", "output"), "the loss")

    def __repr__(self):
        return f"{type(self).__name__}()"


class SoftmaxCrossEntropy(Loss):
    """mean_i(logsumexp(z_i) - z_i[y_i]) for logits z (n, classes), labels y (n,) int64.

    The network's last layer is linear; ``output`` gives softmax probabilities.
    """

    compiled = True
    name = "softmax_cross_entropy"
    target_kind = "labels"

    def forward(self, logits, labels):
        return kernels.softmax_cross_entropy(logits, labels, self._grad_buffer(logits))[0]

    def output(self, z, out=None):
        return kernels.softmax(z, out)

    def correct(self, output, targets):
        n = output.shape[0]
        if self._hits is None or self._hits[0].shape[0] < n:
            self._hits = (np.empty(n, np.int64), np.empty(n, bool))
        predicted, hit = self._hits[0][:n], self._hits[1][:n]
        np.argmax(output, axis=1, out=predicted)
        np.equal(predicted, targets, out=hit)
        return int(np.count_nonzero(hit))


class MeanSquaredError(Loss):
    """mean((pred - target)^2) over all elements; pred and target of shape (n, m)."""

    compiled = True
    name = "mse"
    target_kind = "values"

    def forward(self, pred, target):
        return kernels.mse(pred, target, self._grad_buffer(pred))[0]


class SigmoidBinaryCrossEntropy(Loss):
    """Binary cross-entropy of sigmoid(z) against targets in [0, 1], mean over elements.

    The network's last layer is linear; ``output`` gives probabilities.
    """

    compiled = True
    name = "binary_cross_entropy"
    target_kind = "values"

    def forward(self, logits, targets):
        return kernels.sigmoid_binary_cross_entropy(logits, targets,
                                                    self._grad_buffer(logits))[0]

    def output(self, z, out=None):
        return kernels.bias_sigmoid(z, np.zeros(z.shape[1], z.dtype), out)


LOSSES = {cls.name: cls for cls in (SoftmaxCrossEntropy, MeanSquaredError,
                                    SigmoidBinaryCrossEntropy)}


def get(loss):
    """A Loss from an instance or its name ('softmax_cross_entropy', 'mse', ...)."""
    if isinstance(loss, Loss):
        return loss
    if loss in LOSSES:
        return LOSSES[loss]()
    raise ValueError(f"loss must be a Loss or one of {sorted(LOSSES)}; got {loss!r}")
