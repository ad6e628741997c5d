"""Models to and from PyTorch: ``from_torch(module)`` and ``to_torch(model)``.

PyTorch is optional (``pip install torch``); it is imported inside these functions. The
modules that convert: ``nn.Sequential`` (nested ones are flattened) of ``Linear``,
``ReLU``, ``Sigmoid``, ``Softmax`` / ``LogSoftmax`` (last, over dim 1), ``Flatten``
(before the first Linear), ``Dropout`` and ``Identity`` (no-ops at inference). Weights
are transposed: ``Linear.weight`` is (out, in), ``Dense.weight`` (in, out).
"""
import numpy as np

_NO_OPS = ("Dropout", "Identity")


def _torch():
    try:
        import torch
    except ImportError:
        raise ImportError("PyTorch is needed for this: pip install torch") from None
    return torch


def _modules(module, torch):
    if not isinstance(module, torch.nn.Sequential):
        raise ValueError(f"from_torch: 'module' must be a torch.nn.Sequential; got "
                         f"{type(module).__name__}")
    for index, child in module.named_children():
        if isinstance(child, torch.nn.Sequential):
            for inner, grandchild in _modules(child, torch):
                yield f"{index}.{inner}", grandchild
        else:
            yield index, child


def _check_flatten(index, child, seen_linear):
    if seen_linear:
        raise ValueError(f"from_torch: module {index} (Flatten) comes after a Linear layer; "
                         f"only a Flatten of the input converts")
    if child.start_dim != 1 or child.end_dim != -1:
        raise ValueError(f"from_torch: module {index} is Flatten(start_dim={child.start_dim}, "
                         f"end_dim={child.end_dim}); only Flatten(1, -1) converts")


def from_torch(module, *, dtype=None):
    """A compiled Sequential with the weights of a PyTorch ``nn.Sequential``.

    Parameters
    ----------
    module : torch.nn.Sequential
        Linear layers, each optionally followed by ReLU or Sigmoid; a final Softmax or
        LogSoftmax (dim 1) makes the loss softmax cross-entropy (``predict`` then gives
        probabilities, the exponential of LogSoftmax's output), otherwise it is mean
        squared error. Flatten before the first Linear, Dropout and Identity are allowed.
    dtype : "float32" or "float64", optional
        Default: the first Linear's dtype if it is one of these, else float32.

    Returns
    -------
    Sequential (optimizer: RMSProp with its defaults)

    Raises
    ------
    ValueError naming the module (its index in the Sequential) that does not convert.
    """
    torch = _torch()
    from nnkernels.layers import Dense
    from nnkernels.model import Sequential
    specs, loss, seen_linear = [], "mse", False
    for index, child in _modules(module, torch):
        kind = type(child).__name__
        if loss != "mse":
            raise ValueError(f"from_torch: module {index} ({kind}) follows the final "
                             f"softmax; nothing may come after it")
        if isinstance(child, torch.nn.Linear):
            specs.append([index, child, None])
            seen_linear = True
        elif isinstance(child, (torch.nn.ReLU, torch.nn.Sigmoid)):
            if not specs or specs[-1][2] is not None:
                raise ValueError(f"from_torch: module {index} ({kind}) must follow a Linear "
                                 f"layer directly")
            specs[-1][2] = "relu" if isinstance(child, torch.nn.ReLU) else "sigmoid"
        elif isinstance(child, (torch.nn.Softmax, torch.nn.LogSoftmax)):
            if child.dim not in (1, -1) or not specs or specs[-1][2] is not None:
                raise ValueError(f"from_torch: module {index} ({kind}(dim={child.dim})) "
                                 f"converts only over dim 1, right after the last Linear")
            loss = "softmax_cross_entropy"
        elif isinstance(child, torch.nn.Flatten):
            _check_flatten(index, child, seen_linear)
        elif kind not in _NO_OPS:
            raise ValueError(f"from_torch: module {index} ({kind}) has no nnkernels "
                             f"counterpart; Linear, ReLU, Sigmoid, Softmax, LogSoftmax, "
                             f"Flatten, Dropout and Identity convert")
    if not specs:
        raise ValueError("from_torch: the module has no Linear layer")
    if dtype is None:
        first = specs[0][1].weight.dtype
        dtype = {torch.float32: "float32", torch.float64: "float64"}.get(first, "float32")
    layers = []
    for index, linear, activation in specs:
        layer = Dense(linear.in_features, linear.out_features, activation, init="zeros",
                      dtype=dtype)
        with torch.no_grad():
            layer.weight.data[...] = linear.weight.detach().cpu().double().numpy().T
            if linear.bias is not None:
                layer.bias.data[...] = linear.bias.detach().cpu().double().numpy()
        layers.append(layer)
    try:
        model = Sequential(layers)
    except ValueError as error:
        raise ValueError(f"from_torch: {error}") from None
    model.compile("rmsprop", loss)
    return model


def to_torch(model, *, probabilities=False):
    """A PyTorch ``nn.Sequential`` with `model`'s weights (copies), in the model's dtype.

    Each Dense becomes a Linear (weight transposed to (out, in)) followed by its ReLU or
    Sigmoid. A classifier (softmax cross-entropy) ends with the logits, what
    ``torch.nn.CrossEntropyLoss`` trains on; ``probabilities=True`` appends
    ``nn.Softmax(dim=1)``, giving what ``model.predict`` gives.
    """
    torch = _torch()
    dtype = torch.float64 if model.dtype == np.float64 else torch.float32
    modules = []
    for layer in model.layers:
        linear = torch.nn.Linear(layer.in_features, layer.out_features, dtype=dtype)
        with torch.no_grad():
            linear.weight.copy_(torch.from_numpy(np.ascontiguousarray(layer.weight.data.T)))
            linear.bias.copy_(torch.from_numpy(layer.bias.data.copy()))
        modules.append(linear)
        if layer.activation == "relu":
            modules.append(torch.nn.ReLU())
        elif layer.activation == "sigmoid":
            modules.append(torch.nn.Sigmoid())
    if probabilities:
        if model.loss is None or model.loss.name != "softmax_cross_entropy":
            raise ValueError("to_torch: probabilities=True needs a classifier (softmax "
                             "cross-entropy loss)")
        modules.append(torch.nn.Softmax(dim=1))
    return torch.nn.Sequential(*modules)
