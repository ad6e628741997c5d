"""Atomic file writing: the one way every file of the package is written (model files,
pictures, CSV histories, metrics, fetched data sets)."""
import contextlib
import io
import os
import tempfile
from pathlib import Path

def user_cache_dir():
    """nnkernels' folder in the user cache (it may not exist yet): data sets and the
    measured GEMM choice live under it.

    Returns
    -------
    pathlib.Path
        ``$XDG_CACHE_HOME/nnkernels``, or ``~/.cache/nnkernels`` when ``XDG_CACHE_HOME``
        is unset or not absolute (as the XDG base directory specification asks).
    """
    xdg = os.environ.get("XDG_CACHE_HOME", "")
    base = Path(xdg) if xdg and os.path.isabs(xdg) else Path.home() / ".cache"
    return base / "nnkernels"


#: Temporary files are named ``.<dest name>.<writer pid>.<random>.part`` beside dest.
TEMP_SUFFIX = ".part"


def new_file_mode(path):
    """Permission bits for a file written at `path`: those of the file it replaces,
    else what ``open()`` would give a new file under the current umask."""
    try:
        return os.stat(path).st_mode & 0o7777
    except OSError:
        umask = os.umask(0o022)
        os.umask(umask)
        return 0o666 & ~umask


def fsync_dir(folder):
    """Best-effort fsync of `folder`, so that a rename in it is durable (not on Windows)."""
    with contextlib.suppress(OSError):
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def _pid_alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # EPERM: alive, another user's
        return True
    return True


def remove_stale_temporaries(dest):
    """Remove the temporary files that writers of `dest` killed mid-write (SIGKILL,
    power loss) left beside it; returns their number.

    A temporary file names its writer's pid; only those of processes that no longer
    exist are removed (a live writer's, this process's included, is left alone).
    POSIX only: elsewhere nothing is removed. A reused pid merely keeps a stale file.
    """
    if os.name != "posix":
        return 0
    dest = Path(dest)
    prefix = f".{dest.name}."
    removed = 0
    try:
        entries = list(os.scandir(dest.parent))
    except OSError:
        return 0
    for entry in entries:
        name = entry.name
        if not (name.startswith(prefix) and name.endswith(TEMP_SUFFIX)):
            continue
        pid = name[len(prefix):-len(TEMP_SUFFIX)].split(".", 1)[0]
        if not pid.isdigit() or int(pid) == os.getpid() or _pid_alive(int(pid)):
            continue
        with contextlib.suppress(OSError):
            os.unlink(entry.path)
            removed += 1
    return removed


@contextlib.contextmanager
def atomic_output(dest, *, text=False, check=None, make_parents=True):
    """Write `dest` atomically: a temporary file in the same folder, then a rename.

    Yields a file object (binary, or text with UTF-8 and ``newline=""`` when `text`).
    When the ``with`` block ends without an exception, the data are flushed and
    fsynced, the file gets the permission bits of :func:`new_file_mode`, ``check(tmp)``
    is called with the complete temporary file's :class:`pathlib.Path` (it may raise to
    reject the content), and the file is moved onto `dest` with :func:`os.replace`. On
    any exception (Ctrl-C included) the temporary file is removed and `dest` is left as
    it was: never a half-written file. An OSError that names no file (a full disk
    while writing) is raised again naming `dest`. A writer killed outright (SIGKILL)
    cannot clean up: its temporary file names its pid, and the next write of `dest`
    removes it (:func:`remove_stale_temporaries`); temporary names never collide.

    Parameters
    ----------
    dest : path-like
    text : bool
    check : callable, optional
    make_parents : bool
        Create missing parent folders (otherwise a missing folder is an OSError).
    """
    dest = Path(dest)
    if make_parents:
        dest.parent.mkdir(parents=True, exist_ok=True)
    mode = new_file_mode(dest)
    remove_stale_temporaries(dest)
    fd, tmp = tempfile.mkstemp(dir=dest.parent, prefix=f".{dest.name}.{os.getpid()}.",
                               suffix=TEMP_SUFFIX)
    done = False
    try:
        with os.fdopen(fd, "wb") as raw:
            if text:
                wrapper = io.TextIOWrapper(raw, encoding="utf-8", newline="")
                yield wrapper
                wrapper.flush()
                wrapper.detach()
            else:
                yield raw
            raw.flush()
            os.fsync(raw.fileno())
        os.chmod(tmp, mode)
        if check is not None:
            check(Path(tmp))
        os.replace(tmp, dest)
        done = True
        fsync_dir(dest.parent)
    except OSError as exc:
        if exc.errno is None or exc.filename is not None:
            raise
        # a failed write or fsync (disk full, file too large) names no file: name dest
        raise OSError(exc.errno, exc.strerror, str(dest)) from exc
    finally:
        if not done:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
