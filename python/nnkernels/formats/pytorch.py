"""Models to and from PyTorch: ``from_torch(module)`` and ``to_torch(model)``.

PyTorch is optional (``pip install torch``); it is imported inside these functions. The
modules that convert: ``nn.Sequential`` (nested ones are flattened) of ``Linear``,
``ReLU``, ``Sigmoid``, ``Softmax`` / ``LogSoftmax`` (last, over dim 1), ``Flatten``
(before the first Linear), ``Dropout`` and ``Identity`` (no-ops at inference). Weights
are transposed: ``Linear.weight`` is (out, in), ``Dense.weight`` (in, out).
"""
import numpy as np

from nnkernels import activations, optimizers
from nnkernels.layers import Dense
from nnkernels.sequential import Sequential

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
    specs, loss, seen_linear = [], "mse", False
    activation_modules = {getattr(torch.nn, name): record
                          for name, record in activations.TORCH_MODULES.items()}
    for index, child in _modules(module, torch):
        kind = type(child).__name__
        if loss != "mse":
            raise ValueError(f"from_torch: module {index} ({kind}) follows the final "
                             f"softmax; nothing may come after it")
        if isinstance(child, torch.nn.Linear):
            specs.append([index, child, None])
            seen_linear = True
        elif isinstance(child, tuple(activation_modules)):
            if not specs or specs[-1][2] is not None:
                raise ValueError(f"from_torch: module {index} ({kind}) must follow a Linear "
                                 f"layer directly")
            specs[-1][2] = next(record.name for cls, record in activation_modules.items()
                                if isinstance(child, cls))
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
        module = activations.get(layer.activation).torch
        if module is not None:
            modules.append(getattr(torch.nn, module)())
    if probabilities:
        if model.loss is None or model.loss.name != "softmax_cross_entropy":
            raise ValueError("to_torch: probabilities=True needs a classifier (softmax "
                             "cross-entropy loss)")
        modules.append(torch.nn.Softmax(dim=1))
    return torch.nn.Sequential(*modules)


def to_torch_optimizer(model, module):
    """A PyTorch optimizer over `module`'s parameters (from :func:`to_torch`) carrying on
    where `model`'s optimizer stopped: the same hyperparameters, step count and state
    (RMSProp's cache as RMSprop's square_avg, SGD's velocity as momentum_buffer, Adam's m
    and v as exp_avg and exp_avg_sq; weight-shaped state transposed to (out, in)).

    Raises ValueError for an optimizer PyTorch lacks (RMSProp with epsilon="inside",
    the Gorgonia form) or a module whose parameters do not match the model's.
    """
    torch = _torch()
    opt = model.optimizer
    params = list(module.parameters())
    shapes = [tuple(p.shape) for p in params]
    expected = [p.shape[::-1] if p.data.ndim == 2 else p.shape for p in model.parameters()]
    if opt is None or shapes != expected:
        raise ValueError("to_torch_optimizer: needs a compiled model and the module "
                         "to_torch made of it")
    h = opt.hyperparameters()
    if isinstance(opt, optimizers.RMSProp):
        if opt.epsilon != "outside":
            raise ValueError("to_torch_optimizer: RMSProp with epsilon='inside' (Gorgonia's "
                             "form) has no PyTorch counterpart")
        result = torch.optim.RMSprop(params, lr=h["lr"], alpha=h["rho"], eps=h["eps"],
                                     weight_decay=h["weight_decay"])
        names = {"cache": "square_avg"}
    elif isinstance(opt, optimizers.SGD):
        result = torch.optim.SGD(params, lr=h["lr"], momentum=h["momentum"],
                                 weight_decay=h["weight_decay"], nesterov=h["nesterov"])
        names = {"velocity": "momentum_buffer"}
    elif isinstance(opt, optimizers.Adam):
        cls = torch.optim.AdamW if h["decoupled_weight_decay"] else torch.optim.Adam
        result = cls(params, lr=h["lr"], betas=(h["beta1"], h["beta2"]), eps=h["eps"],
                     weight_decay=h["weight_decay"])
        names = {"m": "exp_avg", "v": "exp_avg_sq"}
    else:
        raise ValueError(f"to_torch_optimizer: {type(opt).__name__} has no PyTorch "
                         f"counterpart here")
    if opt.iterations == 0:
        return result
    for p, state in zip(params, opt.state):
        entry = {theirs: torch.tensor(state[ours].T, dtype=p.dtype)  # copies
                 for ours, theirs in names.items()}
        if not isinstance(opt, optimizers.SGD):
            entry["step"] = torch.tensor(float(opt.iterations))
        elif h["momentum"] == 0:
            entry = {"momentum_buffer": None}
        result.state[p] = entry
    return result
