"""nnkernels.formats.isolation.run_isolated: a reader's crash, hang or exhausted memory in
its child process becomes a ModelFileError naming the file; its own errors come through."""
import ctypes
import os
import time

import pytest

from nnkernels.formats.errors import ModelFileError, fail
from nnkernels.formats.isolation import run_isolated

pytestmark = pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")


def _segfault():
    ctypes.string_at(0)


def _write(path, text):
    with open(path, "w") as f:
        f.write(text)


def _raise(exc):
    raise exc


def test_the_result_comes_back_through_the_files_the_child_writes(tmp_path):
    run_isolated("f", _write, tmp_path / "out.txt", "hello")
    assert (tmp_path / "out.txt").read_text() == "hello"


def test_a_crash_in_the_child_is_a_model_file_error():
    with pytest.raises(ModelFileError, match=r"^bad\.h5: the reader crashed \(SIGSEGV\)"):
        run_isolated("bad.h5", _segfault)


def test_a_hang_is_stopped():
    # The child would sleep 600 s; run_isolated must stop it after its 0.5 s timeout.
    # The bound is 10x below the child's sleep (only a stopped child passes) and 120x
    # above the timeout (a loaded machine's fork and kill stay far inside it).
    start = time.monotonic()
    with pytest.raises(ModelFileError, match="took more than 0.5 s"):
        run_isolated("slow.h5", time.sleep, 600, timeout=0.5)
    assert time.monotonic() - start < 60


@pytest.mark.parametrize("exc,expected,message", [
    (fail("x.h5", "damaged"), ModelFileError, "^x.h5: damaged$"),
    (ImportError('needs h5py: pip install "nnkernels[keras]"'), ImportError, "needs h5py"),
    (MemoryError(), ModelFileError, "ran out of memory"),
    (KeyError("a bug"), RuntimeError, "KeyError: 'a bug'"),
])
def test_the_child_s_exceptions(exc, expected, message):
    with pytest.raises(expected, match=message):
        run_isolated("x.h5", _raise, exc)
