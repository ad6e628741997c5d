"""Downloading files over HTTP(S) into a folder, verified and atomic.

Nothing here knows about a particular data set: callers pass the list of
files, the base URLs to try in order, and a function that checks a complete
download before it is moved into place.
"""

import http.client
import os
import socket
import sys
import urllib.error
import urllib.request

from ._errors import DatasetError
from nnkernels._io import atomic_output

__all__ = ["DEFAULT_TIMEOUT", "download", "download_files", "mirrors_from_env"]

#: Seconds to wait for a connection or for any read before giving up on a URL.
DEFAULT_TIMEOUT = 30.0

#: Refuse responses larger than this (the largest expected file is ~47 MB).
MAX_BYTES = 256 * 2**20

_CHUNK = 2**20


def mirrors_from_env(var, default):
    """Return the base URLs in ``$var`` (separated by whitespace or commas), or ``default``."""
    value = os.environ.get(var, "")
    urls = tuple(u for u in value.replace(",", " ").split() if u)
    return urls or tuple(default)


def _log(message):
    print(f"nnkernels: {message}", file=sys.stderr, flush=True)


def _describe(exc):
    if isinstance(exc, urllib.error.HTTPError):
        return f"HTTP {exc.code} {exc.reason}"
    if isinstance(exc, urllib.error.URLError):
        reason = exc.reason
        if isinstance(reason, (socket.timeout, TimeoutError)):
            return "timed out"
        return f"cannot connect: {reason}"
    if isinstance(exc, (socket.timeout, TimeoutError)):
        return "timed out"
    if isinstance(exc, DatasetError):
        return f"rejected: {exc}"
    return f"{type(exc).__name__}: {exc}"


def download(url, dest, *, check=None, timeout=DEFAULT_TIMEOUT, max_bytes=MAX_BYTES):
    """Download ``url`` to ``dest`` atomically, after ``check`` accepts it.

    Parameters
    ----------
    url : str
    dest : pathlib.Path
        Final file; a temporary file is written beside it and renamed.
    check : callable, optional
        Called with the path of the complete temporary file; raising rejects
        the download (the temporary file is removed, ``dest`` is untouched).
    timeout : float
        Seconds for connecting and for each read.
    max_bytes : int
        Larger responses are rejected.

    Raises
    ------
    OSError
        Any network error, :class:`DatasetError` from ``check``, or a size error.
    """
    _log(f"downloading {url}")
    request = urllib.request.Request(url, headers={"User-Agent": "nnkernels"})
    with urllib.request.urlopen(request, timeout=timeout) as response:
        declared = response.headers.get("Content-Length")
        if declared is not None and declared.strip().isdigit() \
                and int(declared) > max_bytes:
            raise DatasetError(f"{url}: the server announces {int(declared)} bytes, more "
                               f"than the limit of {max_bytes}")
        with atomic_output(dest, check=check) as out:
            total = 0
            while True:
                chunk = response.read(_CHUNK)
                if not chunk:
                    break
                total += len(chunk)
                if total > max_bytes:
                    raise DatasetError(f"{url}: response exceeds {max_bytes} bytes")
                out.write(chunk)
    _log(f"saved {dest} ({total} bytes, verified)")


def download_files(items, folder, base_urls, tried, *, timeout=DEFAULT_TIMEOUT):
    """Download each item from the first base URL that serves a good copy.

    Parameters
    ----------
    items : list of (str, str, callable)
        ``(dest_name, remote_path, check)``: the file name in ``folder``, its
        path relative to a base URL, and the check passed to :func:`download`.
    folder : pathlib.Path
        Destination folder (created if needed).
    base_urls : sequence of str
        Tried in order for each item.  A base URL that cannot be reached at all
        (no connection, time-out) is skipped for the remaining items.
    tried : list of str
        Receives one line per failed attempt: the URL and what went wrong.
    timeout : float

    Returns
    -------
    bool
        True when every item was downloaded.
    """
    dead = set()
    complete = True
    for dest_name, remote, check in items:
        for base in base_urls:
            url = base.rstrip("/") + "/" + remote.lstrip("/")
            if base in dead:
                tried.append(f"{url}: skipped, {base} could not be reached before")
                continue
            try:
                download(url, folder / dest_name, check=check, timeout=timeout)
                break
            except (OSError, ValueError, http.client.HTTPException) as exc:
                tried.append(f"{url}: {_describe(exc)}")
                unreachable = (isinstance(exc, (socket.timeout, TimeoutError))
                               or (isinstance(exc, urllib.error.URLError)
                                   and not isinstance(exc, urllib.error.HTTPError)))
                if unreachable:
                    dead.add(base)
        else:
            complete = False
    return complete
