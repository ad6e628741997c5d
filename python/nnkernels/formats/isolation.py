"""Running a reader of untrusted files in a child process.

A C library that parses a damaged or hostile file can crash the process that calls it
(fuzzing found HDF5 segfaulting on a damaged Keras ``.h5`` file while h5py read an
attribute). :func:`run_isolated` runs such a reader in a forked child: a crash, a hang
or an exhausted memory limit there becomes a :class:`ModelFileError` naming the file,
and the caller's process carries on. Where ``os.fork`` is missing (Windows) the reader
runs in-process.
"""
import os
import select
import signal
import time
import traceback

from nnkernels.formats.errors import ModelFileError, fail

#: seconds a reader may take before its child is stopped
TIMEOUT = 120.0
_MODEL_FILE, _IMPORT, _BUG = 3, 4, 5


def _child(func, args, pipe):
    import faulthandler
    faulthandler.disable()  # a crash here is reported by the parent, not dumped
    code, message = 0, ""
    try:
        func(*args)
    except ModelFileError as error:
        code, message = _MODEL_FILE, str(error)
    except ImportError as error:
        code, message = _IMPORT, str(error)
    except BaseException:  # noqa: BLE001 - reported to the parent as a bug
        code, message = _BUG, traceback.format_exc()
    try:
        os.write(pipe, message.encode("utf-8", "replace")[:60000])
    finally:
        os._exit(code)  # no atexit handlers, no flushing of the parent's buffers


def run_isolated(path, func, *args, timeout=None):
    """Call ``func(*args)`` in a forked child; it reports through files it writes.

    Raises
    ------
    ModelFileError
        What `func` raised, or, naming `path`, the child's crash (a signal), its
        running out of memory or its running longer than `timeout` (default TIMEOUT).
    ImportError
        What `func` raised (a missing optional dependency).
    RuntimeError
        Any other exception in the child (a bug), with its traceback.
    """
    if not hasattr(os, "fork"):
        return func(*args)
    timeout = TIMEOUT if timeout is None else timeout
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child leaves through os._exit
        os.close(read_end)
        _child(func, args, write_end)
    os.close(write_end)
    chunks, deadline = [], time.monotonic() + timeout
    try:
        while True:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([read_end], [], [], left)[0]:
                os.kill(pid, signal.SIGKILL)
                os.waitpid(pid, 0)
                raise fail(path, f"reading took more than {timeout:g} s; stopped")
            chunk = os.read(read_end, 65536)
            if not chunk:
                break
            chunks.append(chunk)
    finally:
        os.close(read_end)
    _, status = os.waitpid(pid, 0)
    message = b"".join(chunks).decode("utf-8", "replace")
    if os.WIFSIGNALED(status):
        name = signal.Signals(os.WTERMSIG(status)).name
        raise fail(path, f"the reader crashed ({name}) on this file: a damaged or hostile "
                         f"file")
    code = os.WEXITSTATUS(status)
    if code == _MODEL_FILE:
        raise ModelFileError(message)
    if code == _IMPORT:
        raise ImportError(message)
    if code != 0:
        if "MemoryError" in message:
            raise fail(path, "reading it ran out of memory: a damaged or hostile file")
        raise RuntimeError(f"reading {path} failed in the reader's child process:\n{message}")
    return None
