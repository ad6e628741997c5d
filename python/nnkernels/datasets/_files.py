"""Where data sets live on disk, and how files are written there safely.

The search order for a data set ``name`` is

1. the folder given as ``path=`` to a loader;
2. ``$NNKERNELS_DATA/<name>/``;
3. the user cache, ``$XDG_CACHE_HOME/nnkernels/<name>/`` (``~/.cache`` when
   ``XDG_CACHE_HOME`` is unset or not absolute), which is also where downloads go;
4. for MNIST-like sets only, ``<d>/<name>/`` for each ``d`` in :data:`SYSTEM_DIRS`
   (Debian's ``dataset-fashion-mnist`` installs ``/usr/share/datasets/fashion-mnist/``).
"""

import contextlib
import hashlib
import os
import tempfile
from pathlib import Path

__all__ = ["DATA_ENV", "SYSTEM_DIRS", "cache_dir", "candidate_dirs", "atomic_output",
           "sha256_hex"]

#: Environment variable naming a folder that holds one sub-folder per data set.
DATA_ENV = "NNKERNELS_DATA"

#: System-wide data folders, searched last (read-only; nothing is written there).
SYSTEM_DIRS = ("/usr/share/datasets",)


def cache_dir(name):
    """Return the user cache folder of data set ``name`` (it may not exist yet).

    Parameters
    ----------
    name : str
        Data set name, e.g. ``"mnist"``.

    Returns
    -------
    pathlib.Path
        ``$XDG_CACHE_HOME/nnkernels/<name>`` or ``~/.cache/nnkernels/<name>``.
    """
    xdg = os.environ.get("XDG_CACHE_HOME", "")
    base = Path(xdg) if xdg and os.path.isabs(xdg) else Path.home() / ".cache"
    return base / "nnkernels" / name


def candidate_dirs(name, path=None, *, system=True):
    """List the folders to search for data set ``name``, in order.

    Returns
    -------
    list of (str, pathlib.Path)
        A human-readable label for each place and its folder.
    """
    places = []
    if path is not None:
        places.append(("path argument", Path(path).expanduser()))
    env = os.environ.get(DATA_ENV)
    if env:
        places.append((f"${DATA_ENV}/{name}", Path(env).expanduser() / name))
    places.append(("user cache", cache_dir(name)))
    if system:
        for root in SYSTEM_DIRS:
            places.append(("system data folder", Path(root) / name))
    return places


def sha256_hex(data):
    """Return the hexadecimal SHA-256 digest of the bytes ``data``."""
    return hashlib.sha256(data).hexdigest()


@contextlib.contextmanager
def atomic_output(dest, check=None):
    """Write a file atomically: a temporary file in the same folder, then rename.

    Yields a binary file object.  When the ``with`` block ends without an
    exception, the data are flushed and fsynced, ``check(tmp_path)`` is called
    (it may raise to reject the content), and the temporary file is moved onto
    ``dest`` with :func:`os.replace`.  On any exception the temporary file is
    removed and ``dest`` is left untouched.

    Parameters
    ----------
    dest : path-like
        Final file name; its folder is created if needed.
    check : callable, optional
        Called with the :class:`pathlib.Path` of the complete temporary file.
    """
    dest = Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=dest.parent, prefix=f".{dest.name}.", suffix=".part")
    done = False
    try:
        with os.fdopen(fd, "wb") as f:
            yield f
            f.flush()
            os.fsync(f.fileno())
        if check is not None:
            check(Path(tmp))
        os.replace(tmp, dest)
        done = True
        _fsync_dir(dest.parent)
    finally:
        if not done:
            with contextlib.suppress(OSError):
                os.unlink(tmp)


def _fsync_dir(folder):
    # Make the rename durable where the platform allows it (not on Windows).
    with contextlib.suppress(OSError):
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
