"""Fuzz tests of every model-file reader (tests/fuzzing.py): mutated files give a model or
ModelFileError, never another exception, a hang or an allocation the file does not back.
NNKERNELS_FUZZ_CASES sets the number of random cases (default 200)."""
from pathlib import Path

import numpy as np
import pytest

import nnkernels
from fuzzing import check_case, memory_cap, mutations
from nnkernels.formats import safetensors_file
from nnkernels.formats.errors import ModelFileError

FIXTURES = Path(__file__).parent / "fixtures"


def _small_model_file(tmp_path):
    model = nnkernels.Sequential([nnkernels.Dense(6, 5, "relu", seed=0),
                                  nnkernels.Dense(5, 3, None, seed=1)])
    model.compile("adam", "softmax_cross_entropy")
    rng = np.random.default_rng(0)
    model.fit(rng.random((20, 6)), rng.integers(0, 3, 20), epochs=1, batch_size=10, verbose=0)
    path = tmp_path / "valid.safetensors"
    nnkernels.save(model, path, metadata={"note": "fuzz"})
    return path.read_bytes()


def _fuzz(tmp_path, data, read, name, **kwargs):
    path = tmp_path / name
    failures = []
    with memory_cap():
        for case, raw in mutations(data, **kwargs):
            path.write_bytes(raw)
            failure = check_case(lambda: read(path), case, ModelFileError)
            if failure:
                failures.append(failure)
    assert not failures, "\n".join(failures[:20])


def test_fuzz_safetensors_model_file(tmp_path):
    data = _small_model_file(tmp_path)
    _fuzz(tmp_path, data, nnkernels.load, "m.safetensors", seed=1, header_len=64,
          int_fields=[(0, 8, "little")])


def test_fuzz_safetensors_reader_without_digest(tmp_path):
    """The plain reader, on a file with no digest to catch the damage: every check of the
    header and the sizes must hold on its own."""
    path = tmp_path / "plain.safetensors"
    safetensors_file.write(path, {"a": np.arange(12, dtype=np.float32).reshape(3, 4),
                                  "b": np.arange(5, dtype=np.int64)}, {"k": "v"}, digest=False)
    _fuzz(tmp_path, path.read_bytes(), safetensors_file.read, "p.safetensors", seed=2,
          header_len=160, int_fields=[(0, 8, "little")])


def test_fuzz_legacy_nnk_model_file(tmp_path):
    data = (FIXTURES / "legacy" / "classifier-small.nnk").read_bytes()
    _fuzz(tmp_path, data, nnkernels.load, "m.nnk", seed=3, header_len=64,
          int_fields=[(8, 4, "little"), (12, 8, "little")])


@pytest.mark.parametrize("header_length", [2**31, 2**32 - 1, 2**63, 2**64 - 1])
def test_huge_declared_header_is_refused_under_the_memory_cap(tmp_path, header_length):
    data = bytearray(_small_model_file(tmp_path))
    data[:8] = header_length.to_bytes(8, "little")
    path = tmp_path / "huge.safetensors"
    path.write_bytes(bytes(data))
    with memory_cap(), pytest.raises(ModelFileError, match="header length field says"):
        nnkernels.load(path)
