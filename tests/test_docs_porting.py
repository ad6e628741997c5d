"""docs/porting.md runs: its Python blocks in order in one namespace, and each of its
``$ nnkernels ...`` lines through the command line's main(), in a temporary folder.
The Go blocks are shown, not run. Needs MNIST (NNKERNELS_DATA), torch and Keras."""
import re
import shlex
from pathlib import Path

import pytest

from conftest import DATA_ROOT, require
from nnkernels.cli import main

DOC = Path(__file__).resolve().parents[1] / "docs" / "porting.md"


def blocks(text):
    """[(language, code)] of the fenced blocks, in order."""
    return re.findall(r"^```(\w+)\n(.*?)^```", text, flags=re.S | re.M)


def test_porting_doc_has_every_direction():
    text = DOC.read_text()
    languages = [lang for lang, _ in blocks(text)]
    assert languages.count("python") >= 8 and "go" in languages and "console" in languages
    for heading in ("nnkernels -> PyTorch", "PyTorch -> nnkernels", "nnkernels -> Keras",
                    "Keras -> nnkernels", "Gorgonia <-> nnkernels"):
        assert f"### {heading}" in text


@pytest.mark.skipif(not (DATA_ROOT / "mnist").is_dir(),
                    reason="set NNKERNELS_DATA to a folder holding mnist/")
def test_porting_doc_runs(tmp_path, monkeypatch, capsys):
    require("torch", "pip install torch==2.13.0")
    require("h5py", 'pip install "nnkernels[keras]"')
    monkeypatch.setenv("KERAS_BACKEND", "torch")
    require("keras", "pip install keras")
    monkeypatch.chdir(tmp_path)
    namespace = {"__name__": "porting"}
    for i, (language, code) in enumerate(blocks(DOC.read_text())):
        where = f"docs/porting.md block {i + 1} ({language})"
        if language == "python":
            try:
                exec(compile(code, where, "exec"), namespace)
            except Exception as error:  # noqa: BLE001 - name the block that failed
                pytest.fail(f"{where} failed: {error!r}\n{code}")
        elif language == "console":
            for line in code.splitlines():
                argv = shlex.split(line.removeprefix("$ "))
                assert line.startswith("$ nnkernels "), line
                code_ = main(argv[1:])
                out, err = capsys.readouterr()
                assert code_ == 0, f"{where}: {line}\n{err}"
                assert out, line
    assert (tmp_path / "from-torch.safetensors").is_file()


def test_the_error_the_doc_quotes_is_the_one_raised(tmp_path):
    import nnkernels
    from nnkernels.formats import safetensors_file, state_dict
    path = tmp_path / "state.safetensors"
    safetensors_file.write(path, state_dict.state_dict(nnkernels.models.mnist_classifier(
        seed=0)))
    with pytest.raises(nnkernels.ModelFileError) as info:
        nnkernels.import_weights(path, arch="784-300-100-10", activations="relu,relu,softmax")
    quoted = re.search(r'fails with "(.*?)"', " ".join(DOC.read_text().split())).group(1)
    assert quoted in str(info.value)
