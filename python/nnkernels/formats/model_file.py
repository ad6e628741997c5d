"""``nnkernels.save`` and ``nnkernels.load``: a Sequential as a safetensors file.

The file is a plain safetensors file (:mod:`nnkernels.formats.safetensors_file`) that any
safetensors reader opens (``safetensors.numpy.load_file``, ``safetensors.torch``...):

- tensors: the weights in PyTorch's ``nn.Sequential`` names and layout
  (:mod:`nnkernels.formats.state_dict`: ``0.weight`` of shape (out, in), ``0.bias``,
  ``2.weight``...), so ``torch_module.load_state_dict(tensors)`` works; with the optimizer,
  its state as ``optimizer.<tensor>.<state>`` (``optimizer.0.weight.cache``, same layout
  as the tensor);
- ``__metadata__`` (strings; JSON text where marked): ``format`` ("nnkernels.Sequential"),
  ``format_version`` ("2"), ``nnkernels_version``, ``dtype``, ``architecture`` (JSON:
  ``model.get_config()``), ``training`` (JSON: ``model.metadata``), ``metadata`` (JSON:
  the caller's ``metadata=``, e.g. a checkpoint's training position), ``optimizer`` (JSON: type, hyperparameters, iterations; when saved) and
  ``nnkernels_sha256``, the content digest checked on load.

Writes are atomic (:func:`nnkernels._io.atomic_output`); nothing is pickled or evaluated.
Files of the legacy ``.nnk`` format (nnkernels 0.1) load too, through
:mod:`nnkernels.formats.legacy_nnk`, until 1.0.
"""
import os
import re

from nnkernels import activations, losses, optimizers
from nnkernels._info import version
from nnkernels.formats import legacy_nnk, safetensors_file, state_dict, strict_json
from nnkernels.formats.errors import ModelFileError, fail
from nnkernels.layers import INITIALIZERS, Dense
from nnkernels.sequential import Sequential

FORMAT = "nnkernels.Sequential"
FORMAT_VERSION = 2
#: the largest JSON text accepted in one metadata entry
MAX_METADATA_BYTES = 4 << 20


def save(model, path, *, include_optimizer=True, metadata=None):
    """Write `model` to `path` as a safetensors file, atomically.

    Parameters
    ----------
    model : Sequential
    path : str or os.PathLike (used as given; ``.safetensors`` is the usual suffix)
    include_optimizer : bool
        Also store the optimizer's state, so training can resume where it stopped.
    metadata : dict, optional
        The caller's own values (strict JSON: no NaN), returned by
        ``load(path, with_metadata=True)``.
    """
    if metadata is not None and not isinstance(metadata, dict):
        raise TypeError(f"save: 'metadata' must be a dict; got {type(metadata).__name__}")
    tensors = state_dict.state_dict(model)
    try:
        meta = {"format": FORMAT, "format_version": str(FORMAT_VERSION),
                "nnkernels_version": version(), "dtype": model.dtype.name,
                "architecture": strict_json.dumps(model.get_config()),
                "training": strict_json.dumps(model.metadata)}
        if metadata is not None:
            meta["metadata"] = strict_json.dumps(metadata)
    except (TypeError, ValueError) as error:
        raise ValueError(f"save: the model's metadata is not strict JSON: {error}") from None
    optimizer = model.optimizer
    if include_optimizer and optimizer is not None:
        params = model.parameters()
        if [id(p) for p in optimizer.params] != [id(p) for p in params]:
            raise ValueError("save: the optimizer does not hold exactly the model's "
                             "parameters; pass include_optimizer=False")
        state = optimizer.state_dict()
        meta["optimizer"] = strict_json.dumps({"type": state["type"],
                                               "hyperparameters": state["hyperparameters"],
                                               "iterations": state["iterations"]})
        for name, entry in zip(state_dict.parameter_names(model.layers), state["state"]):
            for key, value in entry.items():
                tensors[f"optimizer.{name}.{key}"] = state_dict.to_file_layout(name, value)
    safetensors_file.write(path, tensors, meta)


def load(path, *, with_metadata=False):
    """Read a model written by :func:`save` (or a legacy ``.nnk`` file).

    Returns
    -------
    Sequential
        With its loss, optimizer and optimizer state when they were saved, and
        ``metadata``.
    dict
        Only with ``with_metadata=True``: the caller's metadata given to save ({} if
        none), as ``(model, metadata)``.

    Raises
    ------
    ModelFileError
        A truncated, tampered, foreign or inconsistent file; nothing in it is executed.
    """
    path = os.fspath(path)
    with open(path, "rb") as f:
        head = f.read(9)
    kind = _kind(head)
    if kind is None:
        raise fail(path, f"not an nnkernels model file: neither safetensors nor the legacy "
                         f".nnk format (starts with {head[:8]!r})")
    tensors, meta = _from_legacy(path) if kind == "nnk" else _from_safetensors(path)
    model = _build(path, tensors, meta)
    if not with_metadata:
        return model
    caller = meta.get("metadata", {})
    if not isinstance(caller, dict):
        raise fail(path, f"the header's 'metadata' must be an object; got "
                         f"{type(caller).__name__}")
    return model, caller


def _kind(head):
    """'safetensors', 'nnk' or None for a file's first 9 bytes."""
    if head[:8] == legacy_nnk.MAGIC:
        return "nnk"
    return "safetensors" if safetensors_file.looks_like_safetensors(head) else None


def is_model_file(path):
    """Whether the file at `path` starts as a model file (safetensors or legacy .nnk);
    False for a missing or unreadable file."""
    try:
        with open(path, "rb") as f:
            return _kind(f.read(9)) is not None
    except OSError:
        return False


def _from_safetensors(path):
    tensors, strings = safetensors_file.read(path)
    if strings.get("format") != FORMAT:
        raise fail(path, f"a safetensors file, but not a saved nnkernels model (metadata "
                         f"'format' is {str(strings.get('format'))[:60]!r}, expected "
                         f"{FORMAT!r}); "
                         f"a plain state dict imports with nnkernels.import_weights(path, "
                         f"arch=..., activations=...)")
    if safetensors_file.DIGEST_KEY not in strings:
        raise fail(path, f"no content digest ({safetensors_file.DIGEST_KEY!r}) in its "
                         f"metadata: not written by nnkernels.save, or altered")
    version = strings.get("format_version", "")
    number = int(version) if re.fullmatch(r"[0-9]{1,9}", version) else None
    if number is None or not 2 <= number <= FORMAT_VERSION:
        raise fail(path, f"format_version {version[:20]!r}: this nnkernels reads version "
                         f"{FORMAT_VERSION}" + (" (the file is from a newer nnkernels)"
                                                if number and number > FORMAT_VERSION else ""))
    meta = {}
    for key in ("architecture", "training", "metadata", "optimizer"):
        if key in strings:
            meta[key] = strict_json.loads(strings[key], path, f"metadata {key!r}",
                                          limit=MAX_METADATA_BYTES, expect=object)
    return tensors, meta


def _from_legacy(path):
    """A legacy file's tensors renamed and laid out as the safetensors file has them."""
    arrays, meta = legacy_nnk.load_arrays(path)
    if meta.get("format") != FORMAT:
        raise fail(path, f"not a saved nnkernels model (format "
                         f"{str(meta.get('format'))[:60]!r}, expected {FORMAT!r})")
    layers = (meta.get("architecture") or {}).get("layers") \
        if isinstance(meta.get("architecture"), dict) else None
    if not isinstance(layers, list):
        raise fail(path, "the header has no list of layers under 'architecture'")
    prefixes = state_dict.prefixes([c.get("activation") if isinstance(c, dict) else None
                                    for c in layers])
    tensors = {}
    for i, prefix in enumerate(prefixes):
        for kind in ("weight", "bias"):
            old = f"layers.{i}.{kind}"
            if old in arrays:
                tensors[f"{prefix}.{kind}"] = state_dict.to_file_layout(kind, arrays[old])
    names = [f"{p}.{kind}" for p in prefixes for kind in ("weight", "bias")]
    for key, value in arrays.items():
        parts = key.split(".")
        if parts[0] == "optimizer" and len(parts) == 3 and parts[1].isdigit() \
                and int(parts[1]) < len(names):
            name = names[int(parts[1])]
            tensors[f"optimizer.{name}.{parts[2]}"] = state_dict.to_file_layout(name, value)
    return tensors, meta


def _layer_config(path, i, config):
    """(in_features, out_features, activation, init, dtype) of a layer config, checked."""
    if not isinstance(config, dict) or config.get("type") != "Dense":
        raise fail(path, f"layer {i} must be a Dense layer config; got {str(config)[:200]}")
    for key in ("in_features", "out_features"):
        value = config.get(key)
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise fail(path, f"layer {i} '{key}' must be an int >= 1; got {value!r}")
    try:
        activations.get(config.get("activation"), f"layer {i} activation")
    except ValueError as error:
        raise fail(path, str(error)) from None
    init = config.get("init", "glorot_normal")
    if init not in INITIALIZERS:
        raise fail(path, f"layer {i} init {str(init)[:40]!r} is unknown")
    if config.get("dtype") not in ("float32", "float64"):
        raise fail(path, f"layer {i} dtype must be float32 or float64; "
                         f"got {config.get('dtype')!r}")
    return (config["in_features"], config["out_features"], config["activation"], init,
            config["dtype"])


def _build(path, tensors, meta):
    arch = meta.get("architecture")
    if not isinstance(arch, dict) or not isinstance(arch.get("layers"), list) \
            or not arch["layers"]:
        raise fail(path, "the header has no list of layers under 'architecture'")
    configs = [_layer_config(path, i, c) for i, c in enumerate(arch["layers"])]
    for i, (a, b) in enumerate(zip(configs, configs[1:])):
        if a[1] != b[0]:
            raise fail(path, f"inconsistent architecture: layer {i} gives {a[1]} features "
                             f"but layer {i + 1} expects {b[0]}")
    # Every weight's declared size against the tensor read from the file, before any
    # layer is allocated: a header cannot make us allocate more than the file holds.
    for (n_in, n_out, _, _, dtype), prefix in zip(configs, state_dict.prefixes(
            [c[2] for c in configs])):
        state_dict.take(path, tensors, f"{prefix}.weight", (n_in, n_out), dtype)
    layers = []
    for n_in, n_out, activation, init, dtype in configs:
        layer = Dense(n_in, n_out, activation, init="zeros", dtype=dtype)
        layer.init = init
        layers.append(layer)
    try:
        model = Sequential(layers)
    except ValueError as error:
        raise fail(path, f"inconsistent architecture: {error}") from None
    state_dict.load_state_dict(model, tensors, path)
    training = meta.get("training")
    model.metadata = training if isinstance(training, dict) else {}
    if "loss" in arch:
        _compile(path, model, arch["loss"], meta.get("optimizer"), tensors)
    return model


def _compile(path, model, loss, optimizer, tensors):
    try:
        if not isinstance(optimizer, dict):
            model.compile("rmsprop", losses.get(loss))
            return
        cls = optimizers.from_type(optimizer.get("type"))
        if cls is None:
            raise fail(path, f"unknown optimizer {str(optimizer.get('type'))[:40]!r}")
        hyper = optimizer.get("hyperparameters")
        if not isinstance(hyper, dict):
            raise fail(path, "the optimizer's hyperparameters must be an object")
        opt = cls(**hyper)
        model.compile(opt, losses.get(loss))
        names = state_dict.parameter_names(model.layers)
        state = [{key: state_dict.take(path, tensors, f"optimizer.{name}.{key}", p.shape,
                                       p.data.dtype)
                  for key in opt.state_names} for name, p in zip(names, opt.params)]
        iterations = optimizer.get("iterations", 0)
        if isinstance(iterations, bool) or not isinstance(iterations, int) or iterations < 0:
            raise fail(path, f"optimizer iterations must be an int >= 0; got {iterations!r}")
        opt.load_state_dict({"type": cls.__name__, "state": state, "hyperparameters": hyper,
                             "iterations": iterations})
    except ModelFileError:
        raise
    except (TypeError, ValueError, KeyError) as error:
        raise fail(path, f"bad loss or optimizer settings: {error}") from None
