"""Every Python example in README.md runs, in order, as a reader would paste them into
one session (in a temporary folder: the examples write model.safetensors). They train on real
MNIST, so they need NNKERNELS_DATA (see conftest.py)."""
import re
from pathlib import Path

import pytest

from conftest import DATA_ROOT

README = Path(__file__).resolve().parents[1] / "README.md"


def python_blocks(text):
    return re.findall(r"^```python\n(.*?)^```", text, flags=re.S | re.M)


def test_readme_has_python_examples():
    assert len(python_blocks(README.read_text())) >= 5


@pytest.mark.skipif(not (DATA_ROOT / "mnist").is_dir(),
                    reason="set NNKERNELS_DATA to a folder holding mnist/")
def test_readme_python_examples_run(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    namespace = {"__name__": "readme"}
    for i, block in enumerate(python_blocks(README.read_text())):
        try:
            exec(compile(block, f"README.md python block {i + 1}", "exec"), namespace)
        except Exception as error:  # noqa: BLE001 - name the block that failed
            pytest.fail(f"README python block {i + 1} failed: {error!r}\n{block}")
    assert (tmp_path / "model.safetensors").is_file()
    assert namespace["results"]["test_accuracy"] > 0.98
