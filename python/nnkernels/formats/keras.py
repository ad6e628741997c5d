"""Keras models in and out: ``from_keras(path)`` and ``to_keras(model)``.

``from_keras`` reads Keras 3 ``.keras`` files (a zip of ``config.json`` and
``model.weights.h5``) and legacy ``.h5`` models (the ``model_config`` attribute and the
``model_weights`` group) of a ``Sequential`` of ``InputLayer``, ``Flatten`` (before the
first Dense), ``Dropout`` and ``Dense`` (activation relu, sigmoid, linear; the last may be
softmax). It needs h5py (``pip install "nnkernels[keras]"``), not Keras. The files are
data only, never code: refused are Lambda and every other layer, HDF5 soft and external
links, external and virtual datasets, compressed datasets, datasets whose storage is
smaller than their declared shape, and zip members larger than declared or than
:data:`MAX_WEIGHTS_BYTES`. Dense kernels are (in, out) in Keras as in nnkernels: no
transposition. ``to_keras`` needs Keras 3 itself (any backend; no TensorFlow needed
with ``KERAS_BACKEND=torch``).
"""
import io
import json
import os
import tempfile
import zipfile
import zlib

import numpy as np

from nnkernels import activations
from nnkernels._extras import require
from nnkernels.formats import safetensors_file, strict_json
from nnkernels.formats.errors import ModelFileError, fail, shown
from nnkernels.formats.isolation import run_isolated
from nnkernels.layers import Dense
from nnkernels.sequential import Sequential

#: the largest model.weights.h5 read from a .keras zip (it is read into memory)
MAX_WEIGHTS_BYTES = 1 << 30
#: the largest config.json or model_config accepted
MAX_CONFIG_BYTES = 16 << 20
_MAX_MEMBERS = 64
_HDF5_SIGNATURE = b"\x89HDF\r\n\x1a\n"
# What h5py and the HDF5 library raise on damaged files (never a bug of ours to hide).
_H5_ERRORS = (OSError, KeyError, ValueError, TypeError, RuntimeError, IndexError,
              OverflowError)


def _h5py():
    return require("h5py", extra="keras", feature="nnkernels.from_keras")


# -- the zip ---------------------------------------------------------------------------

def _read_member(path, zf, name, limit):
    """The bytes of zip member `name`, read in chunks up to its declared size (which must
    be at most `limit`): a member that inflates beyond its declared size is refused."""
    infos = [i for i in zf.infolist() if i.filename == name]
    if len(infos) != 1:
        raise fail(path, f"the .keras zip must hold one {name}; it holds {len(infos)}")
    info = infos[0]
    if info.file_size > limit:
        raise fail(path, f"{name} declares {info.file_size} bytes; at most {limit} are read")
    chunks, total = [], 0
    with zf.open(info) as member:
        while True:
            chunk = member.read(min(1 << 20, info.file_size + 1 - total))
            if not chunk:
                break
            total += len(chunk)
            if total > info.file_size:
                raise fail(path, f"{name} inflates beyond its declared {info.file_size} bytes")
            chunks.append(chunk)
    return b"".join(chunks)


def _open_keras_zip(path, fileobj):
    """(config dict, model.weights.h5 bytes) of the .keras file open as `fileobj`."""
    try:
        with zipfile.ZipFile(fileobj) as zf:
            if len(zf.infolist()) > _MAX_MEMBERS:
                raise fail(path, f"the .keras zip has {len(zf.infolist())} members; a "
                                 f"model has 3")
            config = _read_member(path, zf, "config.json", MAX_CONFIG_BYTES)
            weights = _read_member(path, zf, "model.weights.h5", MAX_WEIGHTS_BYTES)
    except (zipfile.BadZipFile, zlib.error, EOFError, NotImplementedError, RuntimeError,
            ValueError, OverflowError, OSError) as error:
        # OSError: zipfile seeking to an offset a damaged directory gives (EINVAL); the
        # file itself is open already.
        if isinstance(error, ModelFileError):
            raise
        raise fail(path, f"a damaged .keras zip: {error}") from None
    return strict_json.loads(config, path, "config.json", limit=MAX_CONFIG_BYTES), weights


# -- the layers ------------------------------------------------------------------------

def _layers(path, config):
    """[(layer name, units, activation, use_bias)] of the Dense layers, the input width
    declared by the InputLayer or Flatten (or None), and the loss."""
    if not isinstance(config, dict) or config.get("class_name") != "Sequential":
        found = config.get("class_name") if isinstance(config, dict) else config
        raise fail(path, f"only Sequential models convert; this is {str(found)[:60]!r}")
    inner = config.get("config")
    layers = inner.get("layers") if isinstance(inner, dict) else None
    if not isinstance(layers, list):
        raise fail(path, "the Sequential config has no list of layers")
    dense, width, loss = [], None, "mse"
    for i, layer in enumerate(layers):
        kind = layer.get("class_name") if isinstance(layer, dict) else None
        cfg = layer.get("config") if isinstance(layer, dict) else None
        if not isinstance(cfg, dict):
            raise fail(path, f"layer {i} ({str(kind)[:40]}) has no config object")
        if loss != "mse":
            raise fail(path, f"layer {i} ({shown(kind, 40)}) follows the softmax output layer")
        if kind == "InputLayer":
            shape = cfg.get("batch_shape", cfg.get("batch_input_shape"))
            width = _width(path, i, shape)
        elif kind == "Flatten":
            if dense:
                raise fail(path, f"layer {i} (Flatten) comes after a Dense layer")
        elif kind == "Dropout":
            continue
        elif kind == "Dense":
            dense.append(_dense(path, i, cfg))
            if dense[-1][2] == "softmax":
                dense[-1] = (*dense[-1][:2], None, dense[-1][3])
                loss = "softmax_cross_entropy"
        else:
            raise fail(path, f"layer {i} is {str(kind)[:40]!r} "
                             f"({str(cfg.get('name'))[:40]!r}); only InputLayer, Flatten, "
                             f"Dropout and Dense convert (never Lambda: no code is run)")
    if not dense:
        raise fail(path, "the model has no Dense layer")
    return dense, width, loss


def _width(path, i, shape):
    if not (isinstance(shape, list) and len(shape) >= 2 and shape[0] is None
            and all(isinstance(d, int) and not isinstance(d, bool) and 0 < d < 1 << 31
                    for d in shape[1:])):
        raise fail(path, f"layer {i} (InputLayer): batch_shape must be [null, d, ...]; "
                         f"got {str(shape)[:80]}")
    return int(np.prod(shape[1:], dtype=object))


def _dense(path, i, cfg):
    units, activation, use_bias = cfg.get("units"), cfg.get("activation"), \
        cfg.get("use_bias", True)
    name = cfg.get("name")
    if not isinstance(name, str) or not name or "/" in name:
        raise fail(path, f"layer {i} (Dense) has no usable name: {str(name)[:40]!r}")
    if isinstance(units, bool) or not isinstance(units, int) or not 0 < units < 1 << 31:
        raise fail(path, f"layer {i} (Dense {shown(name, 40)}): units must be an int >= 1; "
                         f"got {str(units)[:40]}")
    known = activation == "softmax" or (isinstance(activation, str)
                                        and activation in activations.KERAS_NAMES)
    if not known or not isinstance(use_bias, bool):
        raise fail(path, f"layer {i} (Dense {shown(name, 40)}): activation "
                         f"{str(activation)[:60]!r} "
                         f"does not convert; relu, sigmoid, linear and a final softmax do")
    # a final softmax is the softmax cross-entropy loss (_layers), not a layer activation
    return name, units, activation if activation == "softmax" else \
        activations.from_keras(activation).name, use_bias


# -- HDF5 ------------------------------------------------------------------------------

def _refuse_links(path, h5file, h5py):
    # The visit stops at the first non-None return (an exception raised inside the
    # HDF5 callback would come out as a SystemError).
    found = h5file.visititems_links(
        lambda name, link: None if isinstance(link, h5py.HardLink) else (name, link))
    if found is not None:
        name, link = found
        if isinstance(link, h5py.ExternalLink):
            raise fail(path, f"HDF5 external link {shown(name)} (to {shown(link.filename)}): "
                             f"refused")
        raise fail(path, f"HDF5 soft link {shown(name)}: refused")


def _dataset(path, group, where, shape, h5py):
    """The float array at group[where] of `shape`, after checking what it is."""
    obj = group.get(where)
    if not isinstance(obj, h5py.Dataset):
        raise fail(path, f"weights {group.name}/{where} are missing")
    name = obj.name
    if obj.is_virtual:
        raise fail(path, f"dataset {shown(name)} is virtual: refused")
    if obj.external:
        raise fail(path, f"dataset {shown(name)} stores its data in external files: refused")
    if obj.dtype.kind != "f" or obj.dtype.itemsize not in (2, 4, 8):
        raise fail(path, f"dataset {shown(name)} is {obj.dtype}; float16, 32 or 64 expected")
    if obj.shape != shape:
        raise fail(path, f"dataset {shown(name)} has shape {obj.shape}; the architecture needs "
                         f"{shape}")
    if obj.id.get_create_plist().get_nfilters():
        raise fail(path, f"dataset {shown(name)} is compressed or filtered: refused")
    nbytes = int(np.prod(shape, dtype=object)) * obj.dtype.itemsize
    stored = obj.id.get_storage_size()
    if stored < nbytes:
        raise fail(path, f"dataset {shown(name)} declares {nbytes} bytes but stores {stored}")
    return obj[()]


def _weight_sources(path, h5file, legacy, names):
    """[(group, [kernel path, bias path])] of each Dense, from the file's own layout: legacy
    files list each layer's datasets in its weight_names attribute; Keras 3 names each
    layer's group after its class, counted per class (dense, dense_1, ...), whatever the
    layer's own name."""
    sources = []
    for k, name in enumerate(names):
        if legacy:
            group = h5file.get(f"model_weights/{name}")
            wn = group.attrs.get("weight_names") if group is not None else None
            if wn is None:
                raise fail(path, f"no weights for layer {shown(name)} under model_weights/")
            sources.append((group, [w.decode() if isinstance(w, bytes) else str(w)
                                    for w in wn]))
            continue
        key = "dense" if k == 0 else f"dense_{k}"
        group = h5file.get(f"layers/{key}/vars")
        if group is None:  # the layout of the first Keras 3 releases
            group = h5file.get(f"_layer_checkpoint_dependencies/{key}/vars")
        if group is None:
            raise fail(path, f"no weights for layer {shown(name)} (layers/{key}/vars)")
        sources.append((group, ["0", "1"]))
    return sources


def _read_weights(path, h5file, config, legacy, h5py):
    """[(kernel, bias, activation)] of the Dense layers, and the loss."""
    _refuse_links(path, h5file, h5py)
    dense, width, loss = _layers(path, config)
    sources = _weight_sources(path, h5file, legacy, [d[0] for d in dense])
    arrays, n_in = [], width
    for (name, units, activation, use_bias), (group, where) in zip(dense, sources):
        if n_in is None:  # no InputLayer: the first kernel's rows give the width
            kernel = group.get(where[0]) if where else None
            if not isinstance(kernel, h5py.Dataset) or len(kernel.shape) != 2:
                raise fail(path, f"layer {shown(name)}: its kernel is missing or not 2-D")
            n_in = kernel.shape[0]
        if len(where) != (2 if use_bias else 1):
            raise fail(path, f"layer {shown(name)} lists {len(where)} weights; expected "
                             f"{2 if use_bias else 1}")
        w = _dataset(path, group, where[0], (n_in, units), h5py)
        b = _dataset(path, group, where[1], (units,), h5py) if use_bias else np.zeros(units)
        if not (np.isfinite(w).all() and np.isfinite(b).all()):
            raise fail(path, f"layer {shown(name)}: its weights hold NaN or infinity")
        arrays.append((w, b, activation))
        n_in = units
    return arrays, loss


def _read(path, out):
    """Read the Keras file at `path`; write its layers to `out` as a safetensors file
    (tensors <k>.kernel, <k>.bias; metadata loss and activations). Runs in the child
    process of :func:`~nnkernels.formats.isolation.run_isolated`."""
    h5py = _h5py()
    with open(path, "rb") as f:
        head = f.read(8)
        if head.startswith(b"PK"):
            config, weights = _open_keras_zip(path, f)
            _layers(path, config)  # an unsupported model is refused before HDF5 is read
            source, legacy = io.BytesIO(weights), False
        elif head == _HDF5_SIGNATURE:
            source, legacy = f, True
        else:
            raise fail(path, f"not a Keras model file: neither a .keras zip nor HDF5 "
                             f"(starts with {head!r})")
        try:
            with h5py.File(source, "r") as h5file:
                if legacy:
                    raw = h5file.attrs.get("model_config")
                    if raw is None:
                        raise fail(path, "an HDF5 file without a model_config attribute "
                                         "(weights only?): the architecture is missing")
                    config = strict_json.loads(raw if isinstance(raw, (str, bytes)) else
                                               str(raw), path, "model_config",
                                               limit=MAX_CONFIG_BYTES)
                arrays, loss = _read_weights(path, h5file, config, legacy, h5py)
        except ModelFileError:
            raise
        except SystemError as error:
            # h5py reports an error raised inside an HDF5 callback (a link visit over a
            # damaged file) as a SystemError caused by it.
            cause = error.__cause__ or error.__context__
            if not isinstance(cause, _H5_ERRORS):
                raise
            raise fail(path, f"a damaged or unreadable HDF5 file: "
                             f"{type(cause).__name__}: {str(cause)[:200]}") from None
        except _H5_ERRORS as error:
            raise fail(path, f"a damaged or unreadable HDF5 file: "
                             f"{type(error).__name__}: {str(error)[:200]}") from None
    tensors = {}
    for k, (w, b, _) in enumerate(arrays):
        tensors[f"{k}.kernel"], tensors[f"{k}.bias"] = w, b
    safetensors_file.write(out, tensors, {"loss": loss, "activations": strict_json.dumps(
        [a for _, _, a in arrays])})


def from_keras(path):
    """A compiled Sequential from a Keras ``.keras`` or legacy ``.h5`` model file.

    The last Dense's softmax becomes the softmax cross-entropy loss (``predict`` gives
    the same probabilities); otherwise the loss is mean squared error. The file is read
    in a child process (:mod:`nnkernels.formats.isolation`): a crash of the HDF5
    library on a damaged file is a ModelFileError here too.

    Raises
    ------
    ModelFileError naming the file and the layer or dataset that does not convert;
    ImportError without h5py; OSError when the file cannot be opened.
    """
    path = os.fspath(path)
    _h5py()  # a missing extra is said here, not from the child
    with open(path, "rb"):  # a missing file is an OSError of the caller's
        pass
    with tempfile.TemporaryDirectory(prefix="nnkernels-keras-") as tmp:
        out = os.path.join(tmp, "layers.safetensors")
        run_isolated(path, _read, path, out)
        tensors, meta = safetensors_file.read(out)
    layer_activations = json.loads(meta["activations"])
    dtype = np.float64 if tensors["0.kernel"].dtype == np.float64 else np.float32
    layers = []
    for k, activation in enumerate(layer_activations):
        w, b = tensors[f"{k}.kernel"], tensors[f"{k}.bias"]
        layer = Dense(w.shape[0], w.shape[1], activation, init="zeros", dtype=dtype)
        layer.weight.data[...] = w
        layer.bias.data[...] = b
        layers.append(layer)
    model = Sequential(layers)
    model.compile("rmsprop", meta["loss"])
    model.metadata = {"imported_from": os.path.basename(path)}
    return model


def to_keras(model):
    """A Keras 3 ``Sequential`` with `model`'s weights: an ``Input`` of the model's width,
    then one ``Dense`` per layer (relu, sigmoid or linear; a classifier's last layer gets
    softmax, so ``predict`` gives the same probabilities). Needs Keras 3 and a backend."""
    try:
        import keras
    except ImportError:
        raise ImportError("to_keras needs Keras 3: pip install keras (with "
                          "KERAS_BACKEND=torch, no TensorFlow is needed)") from None
    classifier = model.loss is not None and model.loss.name == "softmax_cross_entropy"
    layers = [keras.Input((model.in_features,), dtype=model.dtype.name)]
    for i, layer in enumerate(model.layers):
        last = i == len(model.layers) - 1
        activation = "softmax" if last and classifier else activations.get(
            layer.activation).keras
        layers.append(keras.layers.Dense(layer.out_features, activation=activation,
                                         dtype=model.dtype.name))
    module = keras.Sequential(layers)
    for dense, layer in zip(module.layers, model.layers):
        dense.set_weights([layer.weight.data.copy(), layer.bias.data.copy()])
    return module
