"""Where data sets live on disk, and how files are written there safely.

The search order for a data set ``name`` is

1. the folder given as ``path=`` to a loader;
2. ``$NNKERNELS_DATA/<name>/``;
3. the user cache, ``$XDG_CACHE_HOME/nnkernels/<name>/`` (``~/.cache`` when
   ``XDG_CACHE_HOME`` is unset or not absolute), which is also where downloads go;
4. for MNIST-like sets only, ``<d>/<name>/`` for each ``d`` in :data:`SYSTEM_DIRS`
   (Debian's ``dataset-fashion-mnist`` installs ``/usr/share/datasets/fashion-mnist/``).
"""

import hashlib
import os
from pathlib import Path

__all__ = ["DATA_ENV", "SYSTEM_DIRS", "cache_dir", "candidate_dirs", "sha256_hex",
           "sha256_file", "read_at_most"]

#: Environment variable naming a folder that holds one sub-folder per data set.
DATA_ENV = "NNKERNELS_DATA"

_CHUNK = 2**20

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
    from nnkernels._io import user_cache_dir
    return user_cache_dir() / name


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


def sha256_file(path):
    """Return the hexadecimal SHA-256 digest of the file at ``path``, read in chunks."""
    with open(path, "rb") as f:
        return hashlib.file_digest(f, "sha256").hexdigest()


def read_at_most(path, limit):
    """Return ``(data, complete)``: the file's first ``limit`` bytes, and whether that was
    all of it.  Read in chunks, so a device or a pipe costs what it yields, and a
    limit costs nothing until bytes arrive (``read(n)`` would allocate ``n`` at once).

    Raises
    ------
    OSError
        The file cannot be opened or read.
    """
    parts, total = [], 0
    with open(path, "rb") as f:
        while total <= limit:
            chunk = f.read(min(_CHUNK, limit + 1 - total))
            if not chunk:
                return b"".join(parts), True
            parts.append(chunk)
            total += len(chunk)
    return b"".join(parts)[:limit], False
