"""Every command (``$ nnkernels ...`` lines of console blocks) and Python block of
docs/onnx.md runs, in document order, in one temporary folder, as a reader would run
them (commands through ``nnkernels.cli.main``, Python blocks in one namespace)."""
import re
import shlex
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from conftest import DATA_ROOT
from onnx_support import require

DOC = Path(__file__).resolve().parents[1] / "docs" / "onnx.md"


def blocks(text):
    """[(language, body)] of the fenced blocks, in order."""
    return re.findall(r"^```(python|console)\n(.*?)^```", text, flags=re.S | re.M)


def test_doc_has_commands_and_python():
    kinds = [kind for kind, _ in blocks(DOC.read_text())]
    assert kinds.count("python") >= 2 and kinds.count("console") >= 4


def test_doc_runs(tmp_path, monkeypatch, capsys):
    require("onnx")
    require("onnxruntime")
    require("torch")
    if not (DATA_ROOT / "mnist").is_dir():
        pytest.skip("set NNKERNELS_DATA to a folder holding mnist/")
    from nnkernels.cli import main
    from nnkernels.datasets import load_mnist
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("NNKERNELS_DATA", str(DATA_ROOT))
    (_, _), (x_test, _) = load_mnist(DATA_ROOT / "mnist", download=False)
    Image.fromarray((x_test[0].reshape(28, 28) * 255).round().astype(np.uint8)).save(
        "digit.png")
    namespace = {"__name__": "docs_onnx"}
    for i, (kind, body) in enumerate(blocks(DOC.read_text())):
        if kind == "python":
            exec(compile(body, f"docs/onnx.md block {i + 1}", "exec"), namespace)
            continue
        for line in body.splitlines():
            argv = shlex.split(line[2:])
            if not line.startswith("$ ") or argv[0] == "pip":
                continue
            assert argv[0] == "nnkernels", line
            code = main(argv[1:])
            out, err = capsys.readouterr()
            assert code == 0, f"{line}: exit {code}\n{err}"
            assert "Traceback" not in err
    assert Path("run/model-opset21.onnx").is_file() and Path("from_torch.onnx").is_file()
