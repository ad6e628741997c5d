"""Layers: Parameter and Dense.

A Dense layer stores its weight as (in_features, out_features), as Keras does, so the
forward pass is ``x @ W`` with no transpose (PyTorch's Linear stores (out, in) and
computes ``x @ W.T``). Activations and gradients live in buffers reused from batch to
batch: after the first batch of a given size, forward and backward allocate nothing.
"""
import numpy as np

import nnkernels.activations as activations
import nnkernels.kernels as kernels
from nnkernels._checks import float_dtype, positive_int
from nnkernels._compiled import why_not

INITIALIZERS = ("glorot_normal", "glorot_uniform", "he_normal", "zeros")


class Parameter:
    """A trainable array and the gradient the last backward pass wrote for it.

    Attributes
    ----------
    data : ndarray, float32 or float64, C-contiguous (updated in place by optimizers)
    grad : ndarray of the same shape and dtype
    name : str
    """

    __slots__ = ("data", "grad", "name")

    def __init__(self, data, name=""):
        self.data = np.ascontiguousarray(data)
        self.grad = np.zeros_like(self.data)
        self.name = name

    @property
    def shape(self):
        return self.data.shape

    def __repr__(self):
        return f"Parameter({self.name!r}, shape={self.data.shape}, dtype={self.data.dtype})"


def initial_weights(init, shape, dtype, rng):
    """Draw a (fan_in, fan_out) weight matrix.

    glorot_normal: N(0, 2 / (fan_in + fan_out)); glorot_uniform: U(-a, a) with
    a = sqrt(6 / (fan_in + fan_out)); he_normal: N(0, 2 / fan_in); zeros.
    """
    fan_in, fan_out = shape
    if init == "glorot_normal":
        w = rng.normal(0.0, np.sqrt(2.0 / (fan_in + fan_out)), shape)
    elif init == "glorot_uniform":
        limit = np.sqrt(6.0 / (fan_in + fan_out))
        w = rng.uniform(-limit, limit, shape)
    elif init == "he_normal":
        w = rng.normal(0.0, np.sqrt(2.0 / fan_in), shape)
    elif init == "zeros":
        w = np.zeros(shape)
    else:
        raise ValueError(f"init must be one of {INITIALIZERS}; got {init!r}")
    return w.astype(dtype)


class Dense:
    """Fully connected layer: y = activation(x @ W + b).

    Parameters
    ----------
    in_features, out_features : int
    activation : None, "relu" or "sigmoid" (:mod:`nnkernels.activations`)
    init : "glorot_normal" (default), "glorot_uniform", "he_normal" or "zeros"
        Initialisation of W; b starts at zero.
    dtype : "float32" (default) or "float64"
    seed : int, numpy Generator or None

    Attributes
    ----------
    weight : Parameter of shape (in_features, out_features)
    bias : Parameter of shape (out_features,)

    A subclass that keeps ``forward`` and ``backward`` trains and predicts in the
    compiled step as Dense does; one that redefines them runs layer by layer.
    """

    compiled = True   # the compiled step computes this class's forward and backward

    def __init__(self, in_features, out_features, activation="relu", init="glorot_normal",
                 dtype="float32", seed=None):
        self.in_features = positive_int("Dense", "in_features", in_features)
        self.out_features = positive_int("Dense", "out_features", out_features)
        record = activations.get(activation, "Dense: activation")
        if init not in INITIALIZERS:
            raise ValueError(f"Dense: init must be one of {INITIALIZERS}; got {init!r}")
        self.activation = record.name
        self.init = init
        self.dtype = float_dtype("Dense", dtype)
        self._forward, self._backward = record.forward, record.backward
        self.weight = Parameter(np.zeros((in_features, out_features), self.dtype), "weight")
        self.bias = Parameter(np.zeros(out_features, self.dtype), "bias")
        self._buffers = {}  # batch size -> (y, dz, dx)
        self._x = self._y = None
        self.reset_parameters(seed)

    def reset_parameters(self, seed=None):
        """Redraw W from the initializer and zero b (seeded: the same weights every run)."""
        rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
        self.weight.data[...] = initial_weights(self.init, self.weight.shape, self.dtype, rng)
        self.bias.data[...] = 0

    def parameters(self):
        return [self.weight, self.bias]

    def zero_grad(self):
        for p in self.parameters():
            p.grad[...] = 0

    def why_not_compiled(self):
        """None when the compiled step computes this layer; else why not."""
        return why_not(self, ("forward", "backward"), "the layer")

    def get_config(self):
        return {"type": "Dense", "in_features": self.in_features,
                "out_features": self.out_features, "activation": self.activation,
                "init": self.init, "dtype": self.dtype.name}

    def _buffers_for(self, n):
        buffers = self._buffers.get(n)
        if buffers is None:
            if len(self._buffers) >= 4:  # a full batch, a last partial one, evaluation...
                self._buffers.clear()
            shape = (n, self.out_features)
            buffers = (np.empty(shape, self.dtype), np.empty(shape, self.dtype),
                       np.empty((n, self.in_features), self.dtype))
            self._buffers[n] = buffers
        return buffers

    def forward(self, x):
        """y = activation(x @ W + b).

        Parameters
        ----------
        x : array of shape (n, in_features), the layer's dtype, C-contiguous
            (the kernels check it and raise naming the argument).

        Returns
        -------
        y : array of shape (n, out_features); a buffer reused by the next call with
            the same n (copy it to keep it).
        """
        y = self._buffers_for(x.shape[0])[0]
        kernels.gemm(x, self.weight.data, y)
        self._forward(y, self.bias.data, y)
        self._x, self._y = x, y
        return y

    def backward(self, dy, need_input_grad=True):
        """Write the gradients of W and b for the last forward pass; return dL/dx.

        Parameters
        ----------
        dy : array of shape (n, out_features), dL/dy
        need_input_grad : bool
            False for the first layer: dL/dx is then not computed (None is returned).

        Returns
        -------
        dx : array of shape (n, in_features) or None (a reused buffer).
        """
        if self._y is None or self._y.shape[0] != dy.shape[0]:
            raise RuntimeError("Dense.backward: call forward on the same batch first")
        _, dz, dx = self._buffers_for(dy.shape[0])
        if self._backward is None:  # the identity: dz is dy
            kernels.bias_backward(dy, self.bias.grad)
            dz = dy
        else:
            self._backward(dy, self._y, dz, self.bias.grad)
        kernels.gemm(self._x, dz, self.weight.grad, trans_a=True)
        if not need_input_grad:
            return None
        kernels.gemm(dz, self.weight.data, dx, trans_b=True)
        return dx

    __call__ = forward

    def __repr__(self):
        return (f"Dense({self.in_features}, {self.out_features}, "
                f"activation={self.activation!r}, dtype={self.dtype.name})")
