"""Activations: the one registry of what may follow a Dense layer's affine map.

Each :class:`Activation` holds the kernels that compute it (forward fused with the bias,
backward from the forward output, as scikit-learn's ``DERIVATIVES`` do), the code the
compiled step plan takes, and its name in each world the package converts to and from:
ONNX, Keras, PyTorch, scikit-learn and the architecture strings of plain state dicts.
Every module reads the names here (``Dense``, the model files, the formats, the
estimators, the plan).

A Dense layer holds the record's :attr:`~Activation.name`: ``None`` (the identity),
``"relu"`` or ``"sigmoid"``. Softmax is not an activation here: a final softmax (or
log-softmax) in another framework's model is the softmax cross-entropy loss, whose
``predict`` gives the probabilities; the formats map it to that loss.
"""
from dataclasses import dataclass
from typing import Callable, Optional

import nnkernels._activations as _codes
import nnkernels.kernels as kernels


@dataclass(frozen=True)
class Activation:
    """An activation and its names elsewhere.

    Attributes
    ----------
    name : None, "relu" or "sigmoid"
        What ``Dense(activation=...)`` takes and its ``get_config`` and model files hold.
    forward : kernel ``forward(x, bias, out)``: out = act(x + bias)
    backward : kernel ``backward(dy, y, dz, dbias)`` or None
        dz = dy * act'(z) computed from the forward output y, dbias = sum of dz over
        rows; None for the identity (dz is dy; the bias gradient is
        ``kernels.bias_backward``).
    code : int, the activation's code in the compiled kernels (``nnkernels._plan.Plan``)
    onnx : str or None, the ONNX operator after the layer's Gemm (None: no node)
    keras : str, Keras' activation name
    torch : str or None, the ``torch.nn`` module class after the Linear (None: none)
    sklearn : str, ``MLPClassifier``'s and ``MLPRegressor``'s ``activation``
    aliases : tuple of str, other lower-case spellings of the architecture strings
    """

    name: Optional[str]
    forward: Callable
    backward: Optional[Callable]
    code: int
    onnx: Optional[str]
    keras: str
    torch: Optional[str]
    sklearn: str
    aliases: tuple = ()

    def __repr__(self):
        return f"<activation {self.keras}>"


IDENTITY = Activation(None, kernels.bias_add, None, _codes.CODE_IDENTITY, onnx=None,
                      keras="linear", torch=None, sklearn="identity",
                      aliases=("identity", "none"))
RELU = Activation("relu", kernels.bias_relu, kernels.bias_relu_backward, _codes.CODE_RELU,
                  onnx="Relu", keras="relu", torch="ReLU", sklearn="relu")
SIGMOID = Activation("sigmoid", kernels.bias_sigmoid, kernels.bias_sigmoid_backward,
                     _codes.CODE_SIGMOID, onnx="Sigmoid", keras="sigmoid",
                     torch="Sigmoid", sklearn="logistic")

#: The registry: Dense's name (None, "relu", "sigmoid") -> record.
ACTIVATIONS = {a.name: a for a in (IDENTITY, RELU, SIGMOID)}
#: Every name Dense accepts, in the order messages list them.
NAMES = tuple(ACTIVATIONS)


def _lookup(table, value, argument, world):
    record = table.get(value) if isinstance(value, (str, type(None))) else None
    if record is None:
        raise ValueError(f"{argument} must be one of {list(table)} ({world}); "
                         f"got {value!r}")
    return record


def get(activation, argument="activation"):
    """The record of a Dense activation name (None, "relu", "sigmoid") or a record.

    Raises ValueError naming `argument`, the names expected and the value given."""
    if isinstance(activation, Activation):
        return activation
    if isinstance(activation, str) or activation is None:
        record = ACTIVATIONS.get(activation)
        if record is not None:
            return record
    raise ValueError(f"{argument} must be one of {NAMES}; got {activation!r}")


def from_onnx_op(op, argument="op_type"):
    """The record of an ONNX operator ("Relu", "Sigmoid")."""
    return _lookup(ONNX_OPS, op, argument, "ONNX operators")


def from_keras(name, argument="activation"):
    """The record of a Keras activation name ("linear", "relu", "sigmoid")."""
    return _lookup(KERAS_NAMES, name, argument, "Keras activations")


def from_torch(module_class, argument="module"):
    """The record of a ``torch.nn`` module class name ("ReLU", "Sigmoid")."""
    return _lookup(TORCH_MODULES, module_class, argument, "torch.nn modules")


def from_sklearn(name, argument="activation"):
    """The record of a scikit-learn MLP activation ("identity", "relu", "logistic")."""
    return _lookup(SKLEARN_NAMES, name, argument, "scikit-learn activations")


def from_text(name, argument="activations"):
    """The record of a name in an architecture string, any case: the Keras names and
    the aliases ("identity", "none" for "linear")."""
    key = name.strip().lower() if isinstance(name, str) else name
    return _lookup(TEXT_NAMES, key, argument, "architecture strings")


#: The names of each world -> record (derived from the records; read through the
#: functions above).
ONNX_OPS = {a.onnx: a for a in ACTIVATIONS.values() if a.onnx is not None}
KERAS_NAMES = {a.keras: a for a in ACTIVATIONS.values()}
TORCH_MODULES = {a.torch: a for a in ACTIVATIONS.values() if a.torch is not None}
SKLEARN_NAMES = {a.sklearn: a for a in ACTIVATIONS.values()}
TEXT_NAMES = {**KERAS_NAMES, **{alias: a for a in ACTIVATIONS.values()
                                for alias in a.aliases}}
