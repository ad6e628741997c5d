"""ONNX export and import (needs the onnx extra: ``pip install "nnkernels[onnx]"``).

>>> nnkernels.onnx.export(model, "model.onnx")         # opset 17, dynamic batch
>>> model = nnkernels.onnx.load("exported_by_torch.onnx")  # a Sequential

See :mod:`nnkernels.formats.onnx_export` and :mod:`nnkernels.formats.onnx_import`
(what is exported, which graphs import) and docs/onnx.md. This module imports the
``onnx`` package only when a function is called.
"""
from nnkernels.formats.onnx_common import MAX_TOTAL_BYTES, OnnxFileError
from nnkernels.formats.onnx_export import DEFAULT_OPSET, export, to_proto
from nnkernels.formats.onnx_import import load

__all__ = ["DEFAULT_OPSET", "MAX_TOTAL_BYTES", "OnnxFileError", "export", "load", "to_proto"]
