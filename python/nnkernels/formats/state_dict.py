"""A Sequential as PyTorch sees it: tensor names, layout, and the architecture strings.

A Sequential of Dense layers is, in PyTorch, an ``nn.Sequential`` of ``Linear`` modules,
each followed by its activation module (``ReLU``, ``Sigmoid``; none for a linear layer).
Its tensors are named by the Linear's index there: 784-250-100-10 with ReLU, ReLU and a
linear output gives ``0.weight``, ``0.bias``, ``2.weight``, ``2.bias``, ``4.weight``,
``4.bias``. Weights are stored ``(out_features, in_features)``, the layout of
``torch.nn.Linear``, so that ``module.load_state_dict(tensors)`` takes a model file's
tensors as they are; nnkernels' ``Dense`` holds the transpose ``(in_features,
out_features)`` (its forward pass is ``x @ W``, Keras' layout), and every conversion
here transposes.
"""
import os
import re

import numpy as np

from nnkernels import activations as _activations
from nnkernels.formats import safetensors_file
from nnkernels.formats.errors import fail, shown
from nnkernels.layers import Dense
from nnkernels.sequential import Sequential

#: A final softmax is no layer activation: the loss whose predict gives the same
#: probabilities, on a linear last layer. The activations are nnkernels.activations'
#: (their Keras names and aliases: relu, sigmoid, linear, identity, none); a model
#: without a softmax is trained on the mean squared error.
SOFTMAX_OUTPUTS = {"softmax": "softmax_cross_entropy", "log_softmax": "softmax_cross_entropy",
                   "logsoftmax": "softmax_cross_entropy"}


def prefixes(activations):
    """The nn.Sequential index of each Dense layer's Linear, from the layers'
    activations: [relu, relu, None] -> ['0', '2', '4']."""
    result, index = [], 0
    for activation in activations:
        result.append(str(index))
        index += 1 if activation is None else 2  # the identity has no module
    return result


def parameter_names(layers):
    """Tensor names of every parameter, in ``Sequential.parameters()`` order."""
    return [f"{p}.{kind}" for p in prefixes([layer.activation for layer in layers])
            for kind in ("weight", "bias")]


def is_weight(name):
    """Whether the tensor `name` is a weight (or a weight's optimizer state): transposed
    between the file's layout and nnkernels'."""
    return "weight" in name.split(".")


def to_file_layout(name, array):
    """An nnkernels array in the file's (PyTorch's) layout: weights transposed."""
    return np.ascontiguousarray(array.T) if is_weight(name) else array


def state_dict(model):
    """{name: array} of the model's weights in PyTorch's names and layout (copies)."""
    return {name: np.array(to_file_layout(name, p.data))
            for name, p in zip(parameter_names(model.layers), model.parameters())}


def take(path, tensors, name, shape, dtype):
    """tensors[name] in nnkernels' layout, which must be `shape` and `dtype` there;
    ModelFileError naming the tensor when it is missing or its shape or dtype differ."""
    if name not in tensors:
        raise fail(path, f"tensor {name!r} is missing")
    expected = tuple(shape)[::-1] if is_weight(name) else tuple(shape)
    array = tensors[name]
    if array.shape != expected or array.dtype != np.dtype(dtype):
        raise fail(path, f"tensor {name!r} has shape {array.shape} and dtype {array.dtype}; "
                         f"the architecture needs {expected} and {np.dtype(dtype)}")
    return array.T if is_weight(name) else array


def load_state_dict(model, tensors, path):
    """Copy the weights named by :func:`parameter_names` from `tensors` into `model`."""
    for name, p in zip(parameter_names(model.layers), model.parameters()):
        p.data[...] = take(path, tensors, name, p.shape, p.data.dtype)


# -- a plain state dict plus the architecture given in words -----------------------------

def parse_architecture(arch, activations):
    """``"784-250-10"``, ``"relu,softmax"`` -> ([(784, 250, 'relu'), (250, 10, None)], loss).

    `arch` lists the layer widths (a string joined by '-' or ',', or a sequence of ints);
    `activations` one name per layer (relu, sigmoid, linear; on the last layer also softmax
    and log_softmax, which become the softmax cross-entropy loss). Raises ValueError
    naming the argument.
    """
    if isinstance(arch, str):
        parts = [p.strip() for p in re.split(r"[-, ]+", arch.strip()) if p.strip()]
    else:
        parts = list(arch)
    try:
        sizes = [int(p) for p in parts]
    except (TypeError, ValueError):
        sizes = []
    if len(sizes) < 2 or any(s < 1 for s in sizes):
        raise ValueError(f"arch must list at least two layer widths >= 1, such as "
                         f"'784-250-100-10'; got {arch!r}")
    names = [a.strip().lower() for a in activations.split(",")] \
        if isinstance(activations, str) else [str(a).lower() for a in activations]
    if len(names) != len(sizes) - 1:
        raise ValueError(f"activations must name one activation per layer ({len(sizes) - 1} "
                         f"for arch {arch!r}); got {activations!r}")
    known = sorted(_activations.KERAS_NAMES)
    for i, a in enumerate(names[:-1]):
        if a not in _activations.TEXT_NAMES:
            raise ValueError(f"activations: layer {i} has {a!r}; hidden layers take one of "
                             f"{known}")
    last, loss = names[-1], SOFTMAX_OUTPUTS.get(names[-1], "mse")
    if last not in _activations.TEXT_NAMES and last not in SOFTMAX_OUTPUTS:
        raise ValueError(f"activations: the last layer has {last!r}; expected one of "
                         f"{sorted(known + ['softmax', 'log_softmax'])}")
    acts = [_activations.TEXT_NAMES[a].name for a in names[:-1]]
    acts.append(None if last in SOFTMAX_OUTPUTS else _activations.TEXT_NAMES[last].name)
    layers = [(i, o, a) for i, o, a in zip(sizes, sizes[1:], acts)]
    return layers, loss


def _natural_key(prefix):
    return [int(t) if t.isdigit() else t for t in re.split(r"(\d+)", prefix)]


def match_linear_tensors(tensors, n_layers, path):
    """Rename a state dict's Linear tensors to :func:`parameter_names` order.

    The ``<prefix>.weight`` / ``<prefix>.bias`` pairs are taken in the natural order of
    their prefixes (numbers compared as numbers: ``0, 2, 4``, ``fc1, fc2``, ``net.0,
    net.3``). Returns a list of (weight name, weight, bias name, bias) per layer.
    """
    weights = {n[:-len(".weight")]: n for n in tensors if n.endswith(".weight")}
    biases = {n[:-len(".bias")]: n for n in tensors if n.endswith(".bias")}
    others = sorted(set(tensors) - set(weights.values()) - set(biases.values()))
    if others:
        raise fail(path, f"tensor {shown(others[0])} is not a Linear layer's weight or bias "
                         f"(only MLPs of Linear layers import)")
    for prefix in sorted(set(weights) ^ set(biases)):
        what = "bias" if prefix in weights else "weight"
        raise fail(path, f"tensor {prefix[:80]}.{what} is missing (the layer has "
                         f"{shown(weights.get(prefix) or biases.get(prefix))})")
    order = sorted(weights, key=_natural_key)
    if len(order) != n_layers:
        raise fail(path, f"the architecture has {n_layers} layers but the file holds "
                         f"{len(order)} weight/bias pairs ({shown(order, 200)})")
    return [(weights[p], tensors[weights[p]], biases[p], tensors[biases[p]]) for p in order]


def from_state_dict(tensors, arch, activations, *, dtype=None, path="state dict"):
    """A compiled Sequential from `tensors` (PyTorch names and layout) and an architecture.

    Shapes are checked link by link: layer k's weight must be (out_k, in_k), its bias
    (out_k,); an error names the tensor. `dtype` (float32 or float64) defaults to the
    first weight's dtype when it is one of those, else float32; values are converted.
    """
    spec, loss = parse_architecture(arch, activations)
    pairs = match_linear_tensors(tensors, len(spec), path)
    if dtype is None:
        first = pairs[0][1].dtype
        dtype = first if first in (np.float32, np.float64) else np.float32
    layers = [Dense(i, o, a, init="zeros", dtype=dtype) for i, o, a in spec]
    for k, ((wname, w, bname, b), layer) in enumerate(zip(pairs, layers)):
        expected = (layer.out_features, layer.in_features)
        if w.shape != expected:
            raise fail(path, f"tensor {shown(wname)} (layer {k}) has shape {w.shape}; the "
                             f"architecture needs {expected} (out_features, in_features)")
        if b.shape != (layer.out_features,):
            raise fail(path, f"tensor {shown(bname)} (layer {k}) has shape {b.shape}; the "
                             f"architecture needs ({layer.out_features},)")
        for name, t in ((wname, w), (bname, b)):
            if t.dtype.kind != "f" or not np.isfinite(t).all():
                raise fail(path, f"tensor {shown(name)} must hold finite floats; it is {t.dtype}"
                                 f"{'' if t.dtype.kind != 'f' else ' with NaN or infinity'}")
        layer.weight.data[...] = w.T
        layer.bias.data[...] = b
    model = Sequential(layers)
    model.compile("rmsprop", loss)
    return model


def import_weights(path, arch, activations, *, dtype=None):
    """A Sequential from a plain state dict saved as safetensors, without PyTorch.

    Parameters
    ----------
    path : str or os.PathLike, a safetensors file of Linear weights (out, in) and biases,
        named ``<prefix>.weight`` / ``<prefix>.bias`` (taken in the natural order of the
        prefixes: ``0, 2, 4`` or ``fc1, fc2``)
    arch : str such as ``"784-250-100-10"``, or a sequence of ints
    activations : str such as ``"relu,relu,softmax"``, one per layer
    dtype : "float32" or "float64", optional (default: the weights' own, else float32)

    Raises
    ------
    ModelFileError naming the file and the tensor; ValueError for a bad `arch` or
    `activations`.
    """
    path = os.fspath(path)
    parse_architecture(arch, activations)  # a bad argument before reading the file
    tensors, _ = safetensors_file.read(path)
    return from_state_dict(tensors, arch, activations, dtype=dtype, path=path)
