"""save(model, path) and load(path): weights plus a JSON header, never pickle.

The container (magic, version, checksummed JSON header and data) is
:mod:`nnkernels._fileformat`; this module maps a Sequential model onto it. The
header's metadata holds ``format`` ("nnkernels.Sequential"), ``architecture``
(model.get_config()), ``dtype``, ``nnkernels_version``, ``training`` (the model's
metadata: epochs, history, data set, ...), ``metadata`` (the caller's, e.g. a
checkpoint's training position) and, when saved, ``optimizer`` (its type,
hyperparameters and iteration count; its state arrays are tensors
``optimizer.<i>.<name>``). Weights are tensors ``layers.<i>.weight`` and
``layers.<i>.bias``.
"""

from nnkernels._fileformat import ModelFileError, load_arrays, save_arrays
from nnkernels.layers import ACTIVATIONS, INITIALIZERS, Dense

FORMAT = "nnkernels.Sequential"


def save(model, path, *, include_optimizer=True, metadata=None):
    """Write `model` to `path` atomically (a temporary file, then os.replace).

    Parameters
    ----------
    model : Sequential
    path : str or os.PathLike
    include_optimizer : bool
        Also store the optimizer's state, so training can resume where it stopped.
    metadata : dict, optional
        The caller's own JSON-compatible values (strict JSON: no NaN), returned by
        ``load(path, with_metadata=True)``.
    """
    from nnkernels import __version__
    arrays = {}
    for i, layer in enumerate(model.layers):
        arrays[f"layers.{i}.weight"] = layer.weight.data
        arrays[f"layers.{i}.bias"] = layer.bias.data
    header = {"format": FORMAT, "nnkernels_version": __version__,
              "architecture": model.get_config(), "dtype": model.dtype.name,
              "training": model.metadata}
    if metadata is not None:
        if not isinstance(metadata, dict):
            raise TypeError(f"save: 'metadata' must be a dict; got "
                            f"{type(metadata).__name__}")
        header["metadata"] = metadata
    if include_optimizer and model.optimizer is not None:
        state = model.optimizer.state_dict()
        header["optimizer"] = {"type": state["type"],
                               "hyperparameters": state["hyperparameters"],
                               "iterations": state["iterations"]}
        for j, entry in enumerate(state["state"]):
            for name, value in entry.items():
                arrays[f"optimizer.{j}.{name}"] = value
    save_arrays(path, arrays, header)


def _fail(path, message):
    raise ModelFileError(f"{path}: {message}")


def _layer_from_config(path, i, config):
    if not isinstance(config, dict) or config.get("type") != "Dense":
        _fail(path, f"layer {i} must be a Dense layer config; got {config!r}")
    for key in ("in_features", "out_features"):
        value = config.get(key)
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            _fail(path, f"layer {i} '{key}' must be an int >= 1; got {value!r}")
    if config.get("activation") not in ACTIVATIONS:
        _fail(path, f"layer {i} activation must be one of {ACTIVATIONS}; "
                    f"got {config.get('activation')!r}")
    if config.get("init", "glorot_normal") not in INITIALIZERS:
        _fail(path, f"layer {i} init {config.get('init')!r} is unknown")
    if config.get("dtype") not in ("float32", "float64"):
        _fail(path, f"layer {i} dtype must be float32 or float64; got {config.get('dtype')!r}")
    layer = Dense(config["in_features"], config["out_features"], config["activation"],
                  init="zeros", dtype=config["dtype"])  # the weights come from the file
    layer.init = config.get("init", "glorot_normal")
    return layer


def _take(path, arrays, name, shape, dtype):
    if name not in arrays:
        _fail(path, f"tensor '{name}' is missing")
    a = arrays[name]
    if a.shape != shape or a.dtype != dtype:
        _fail(path, f"tensor '{name}' has shape {a.shape} and dtype {a.dtype}; the "
                    f"architecture needs {shape} and {dtype}")
    return a


def load(path, *, with_metadata=False):
    """Read a model written by :func:`save`.

    Returns
    -------
    Sequential
        With its loss and optimizer (and optimizer state) when they were saved.
    dict
        Only with ``with_metadata=True``: the caller's metadata given to save ({} if
        none), as ``(model, metadata)``.

    Raises
    ------
    ModelFileError
        A truncated, tampered, foreign or inconsistent file; nothing in it is executed.
    """
    from nnkernels.model import Sequential
    arrays, meta = load_arrays(path)
    if meta.get("format") != FORMAT:
        _fail(path, f"not a saved nnkernels model (format {meta.get('format')!r}, "
                    f"expected {FORMAT!r})")
    arch = meta.get("architecture")
    if not isinstance(arch, dict) or not isinstance(arch.get("layers"), list) \
            or not arch["layers"]:
        _fail(path, "the header has no list of layers under 'architecture'")
    layers = [_layer_from_config(path, i, c) for i, c in enumerate(arch["layers"])]
    try:
        model = Sequential(layers)
    except ValueError as error:
        _fail(path, f"inconsistent architecture: {error}")
    for i, layer in enumerate(layers):
        layer.weight.data[...] = _take(path, arrays, f"layers.{i}.weight",
                                       layer.weight.shape, layer.dtype)
        layer.bias.data[...] = _take(path, arrays, f"layers.{i}.bias", layer.bias.shape,
                                     layer.dtype)
    model.metadata = meta.get("training") if isinstance(meta.get("training"), dict) else {}
    if "loss" in arch:
        _compile_from_header(path, model, arch["loss"], meta.get("optimizer"), arrays)
    if not with_metadata:
        return model
    caller = meta.get("metadata", {})
    if not isinstance(caller, dict):
        _fail(path, f"the header's 'metadata' must be an object; got "
                    f"{type(caller).__name__}")
    return model, caller


def _compile_from_header(path, model, loss, optimizer, arrays):
    from nnkernels import losses, optimizers
    try:
        if not isinstance(optimizer, dict):
            model.compile("rmsprop", losses.get(loss))
            return
        cls = optimizers.OPTIMIZERS.get(str(optimizer.get("type")).lower())
        if cls is None:
            _fail(path, f"unknown optimizer {optimizer.get('type')!r}")
        opt = cls(**optimizer["hyperparameters"])
        model.compile(opt, losses.get(loss))
        state = [{name: _take(path, arrays, f"optimizer.{j}.{name}", p.shape, p.data.dtype)
                  for name in opt._state_names}
                 for j, p in enumerate(opt.params)]
        opt.load_state_dict({"type": cls.__name__, "state": state,
                             "hyperparameters": optimizer["hyperparameters"],
                             "iterations": optimizer.get("iterations", 0)})
    except (TypeError, ValueError, KeyError) as error:
        if isinstance(error, ModelFileError):
            raise
        _fail(path, f"bad loss or optimizer settings: {error}")
