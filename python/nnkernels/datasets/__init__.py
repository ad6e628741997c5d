"""Data sets for examples and tests: MNIST, Fashion-MNIST and the workshop data.

Everything here is pure Python and NumPy.  Loaders look for the files on disk
first (the ``path`` argument, ``$NNKERNELS_DATA/<name>/``, the user cache
``$XDG_CACHE_HOME/nnkernels/<name>/`` or ``~/.cache/nnkernels/<name>/``, and for
the MNIST-like sets ``/usr/share/datasets/<name>/``) and download them into the
user cache only when needed, verifying SHA-256 digests before anything is
stored.  Every failure raises :class:`DatasetError`, a subclass of both
:class:`OSError` and :class:`ValueError`.

Examples
--------
>>> from nnkernels.datasets import load_mnist
>>> (x_train, y_train), (x_test, y_test) = load_mnist()  # doctest: +SKIP
>>> x_train.shape, x_train.dtype, y_train.dtype          # doctest: +SKIP
((60000, 784), dtype('float32'), dtype('int64'))
"""

from ._errors import DatasetError
from ._fetch import DEFAULT_TIMEOUT
from ._idx import read_idx, write_idx
from ._images import MAX_IMAGE_SIDE, decode_picture, read_images
from ._mnist import (DATASETS, FASHION_MNIST_MIRRORS, IDX_FILES, MNIST_MIRRORS, DatasetInfo,
                     fetch_idx, load, load_fashion_mnist, load_mnist)
from ._csv import read_csv
from ._workshop import (WORKSHOP_FILES, WORKSHOP_URLS, Table, fetch_workshop, load_advertising,
                        load_iris, load_loan_data, parse_fico_range, parse_percent)

__all__ = [
    "MAX_IMAGE_SIDE", "decode_picture", "read_images",
    "DatasetError", "DatasetInfo", "DATASETS", "FETCHABLE", "IDX_FILES", "MNIST_MIRRORS",
    "FASHION_MNIST_MIRRORS", "WORKSHOP_FILES", "WORKSHOP_URLS", "Table",
    "fetch", "load", "load_mnist", "load_fashion_mnist", "load_advertising", "load_loan_data",
    "load_iris", "parse_fico_range", "parse_percent", "read_idx", "write_idx", "read_csv",
]

#: Names accepted by :func:`fetch`.
FETCHABLE = ("mnist", "fashion-mnist", "workshop")


def fetch(name, path=None, *, download=True, verify=True, timeout=DEFAULT_TIMEOUT):
    """Find or download a data set and return the folder holding its files.

    Parameters
    ----------
    name : {"mnist", "fashion-mnist", "workshop"}
    path : path-like, optional
        A folder to search first.
    download : bool, default True
        Allow downloads into the user cache when no folder has valid files.
    verify : bool, default True
        Require local files to match the canonical SHA-256 digests.
    timeout : float, default 30
        Seconds per network connection or read.

    Returns
    -------
    pathlib.Path
        The folder holding the four IDX files (``train-images-idx3-ubyte``
        and so on, possibly ``.gz``) or the four workshop CSV files.

    Raises
    ------
    DatasetError
        Unknown name, or the files could not be found or obtained; the message
        lists every place tried and how to supply the files.
    """
    if name == "workshop":
        return fetch_workshop(None, path, download=download, verify=verify, timeout=timeout)
    if name not in DATASETS:
        raise DatasetError(f"unknown data set {name!r}: expected one of "
                           f"{', '.join(FETCHABLE)}")
    return fetch_idx(name, path, download=download, verify=verify, timeout=timeout)
