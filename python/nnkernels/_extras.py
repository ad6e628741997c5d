"""Optional dependencies (the package's extras), imported where they are needed.

>>> onnx = require("onnx", extra="onnx", feature="nnkernels.onnx.export")  # doctest: +SKIP

A missing one raises an ImportError that names the feature and the extra to install.
"""
import importlib


def require(module, *, extra, feature):
    """Import and return `module`; if it is missing, an ImportError naming `feature` and
    ``pip install "nnkernels[<extra>]"``."""
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise ImportError(f'{feature} needs {module.split(".")[0]}; install it with '
                          f'pip install "nnkernels[{extra}]"') from exc
