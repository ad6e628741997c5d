"""What the ONNX tests share: onnx and onnxruntime (a skip outside CI, naming the extra;
an error under CI=true), the fixture folder, and running a file in onnxruntime."""
import os
from pathlib import Path

import pytest

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "onnx"


def require(module):
    if os.environ.get("CI"):
        return __import__(module)  # CI installs the onnx extra: missing is an error
    return pytest.importorskip(module, reason='needs the onnx extra: '
                                              'pip install "nnkernels[onnx]"')


def run_onnxruntime(path, x, outputs=None):
    """{output name: array} of onnxruntime on the file's only input = x."""
    ort = require("onnxruntime")
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    names = [o.name for o in session.get_outputs()] if outputs is None else outputs
    return dict(zip(names, session.run(names, {session.get_inputs()[0].name: x})))
