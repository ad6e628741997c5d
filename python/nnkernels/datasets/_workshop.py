"""The data sets of the 2019 GopherCon workshop "Machine Learning & AI with Go".

They come from the workshop's public repository ``dwhitena/gc-ml``
(Apache-2.0).  Files are searched in the folder ``path``, then
``$NNKERNELS_DATA/workshop/``, then the user cache
(``$XDG_CACHE_HOME/nnkernels/workshop/`` or ``~/.cache/nnkernels/workshop/``);
otherwise they are downloaded into the user cache, each verified by its SHA-256
digest before it is stored.
"""

import re
from dataclasses import dataclass

import numpy as np

from ._csv import read_csv
from ._errors import DatasetError
from ._fetch import DEFAULT_TIMEOUT, download_files, mirrors_from_env
from ._files import DATA_ENV, cache_dir, candidate_dirs, sha256_file

__all__ = ["WORKSHOP_FILES", "WORKSHOP_URLS", "Table", "parse_fico_range", "parse_percent",
           "load_advertising", "load_loan_data", "load_iris", "fetch_workshop"]

#: Local file name -> (path in the repository, SHA-256 of the file).
WORKSHOP_FILES = {
    "advertising.csv": ("linear_regression/data/advertising.csv",
                        "bac69620a49e4e8006d693683e7ddc6a85b2831420fa306a238a0bb6740f4073"),
    "loan_data.csv": ("logistic_regression/data/loan_data.csv",
                      "3edb9c3e7eceae2144a52d0c2b492c3ac512c98ffd1369b72f51b9aca3ba6f35"),
    "iris_train.csv": ("neural_networks/data/train.csv",
                       "c1f9adb3915c0fd472eef38362101e3d45498d34f3e0d04a2be7c7901ceb0849"),
    "iris_test.csv": ("neural_networks/data/test.csv",
                      "aeb3f782b16eaf89cccc43e990342f8641b9a446ec267fe1fca7110882909d58"),
}

#: Base URLs of the repository's raw files, tried in order.
WORKSHOP_URLS = ("https://raw.githubusercontent.com/dwhitena/gc-ml/master/",)

#: Environment variable overriding :data:`WORKSHOP_URLS` (whitespace or commas).
WORKSHOP_URLS_ENV = "NNKERNELS_WORKSHOP_URLS"

_NAME = "workshop"
_FICO = re.compile(r"^\s*(\d{3})\s*-\s*(\d{3})\s*$")


@dataclass(frozen=True, eq=False)
class Table:
    """Named float64 columns.

    Attributes
    ----------
    columns : tuple of str
        Column names, shape ``(k,)``.
    data : numpy.ndarray
        float64, shape ``(n, k)``.

    ``table["name"]`` is that column, a float64 array of shape ``(n,)``;
    ``len(table)`` is ``n``.
    """

    columns: tuple
    data: np.ndarray

    def __len__(self):
        return self.data.shape[0]

    def __getitem__(self, name):
        try:
            return self.data[:, self.columns.index(name)]
        except ValueError:
            raise KeyError(f"no column {name!r}; columns are {', '.join(self.columns)}") \
                from None

    def split(self, train_fraction=0.8):
        """Split as the workshop did: the first rows train, the rest test (no shuffle).

        Parameters
        ----------
        train_fraction : float, default 0.8

        Returns
        -------
        train, test : Table
            ``int(n * train_fraction)`` and the remaining rows.
        """
        k = int(len(self) * train_fraction)
        return Table(self.columns, self.data[:k]), Table(self.columns, self.data[k:])


def parse_fico_range(text):
    """Return the low end of a FICO score range.

    Parameters
    ----------
    text : str
        Like ``"735-739"``.

    Returns
    -------
    float
        ``735.0`` for ``"735-739"``.

    Raises
    ------
    ValueError
        The text is not two three-digit numbers ``low-high`` with low <= high.
    """
    match = _FICO.match(text)
    if not match or int(match[1]) > int(match[2]):
        raise ValueError(f"expected a FICO range like '735-739', found {text!r}")
    return float(match[1])


def parse_percent(text):
    """Return the number in a percentage string.

    Parameters
    ----------
    text : str
        Like ``"8.90%"``.

    Returns
    -------
    float
        ``8.9`` for ``"8.90%"``.

    Raises
    ------
    ValueError
        No trailing ``%`` or not a finite number before it.
    """
    stripped = text.strip()
    if not stripped.endswith("%"):
        raise ValueError(f"expected a percentage like '8.90%', found {text!r}")
    try:
        value = float(stripped[:-1])
    except ValueError:
        raise ValueError(f"expected a percentage like '8.90%', found {text!r}") from None
    if value != value or value in (float("inf"), float("-inf")):
        raise ValueError(f"expected a finite percentage, found {text!r}")
    return value


def _good(file, verify):
    """Why ``file`` does not count, or None if it does."""
    if not file.is_file():
        return "missing"
    if verify:
        try:
            actual = sha256_file(file)
        except OSError as exc:
            return f"cannot read: {exc.strerror or exc}"
        expected = WORKSHOP_FILES[file.name][1]
        if actual != expected:
            return f"SHA-256 is {actual}, expected {expected}"
    return None


def fetch_workshop(filenames=None, path=None, *, download=True, verify=True, urls=None,
                   timeout=DEFAULT_TIMEOUT):
    """Find or download workshop files; return the folder holding all of them.

    Parameters
    ----------
    filenames : sequence of str, optional
        Keys of :data:`WORKSHOP_FILES`; all four by default.
    path : path-like, optional
        A folder to search first.
    download : bool, default True
    verify : bool, default True
        Require each local file's SHA-256 to match; pass False to read
        modified files (downloads are always verified).
    urls : sequence of str, optional
        Base URLs instead of ``$NNKERNELS_WORKSHOP_URLS`` or
        :data:`WORKSHOP_URLS`.
    timeout : float, default 30
        Seconds per network connection or read.

    Returns
    -------
    pathlib.Path

    Raises
    ------
    DatasetError
        Listing every place tried and how to supply the files.
    """
    filenames = tuple(WORKSHOP_FILES) if filenames is None else tuple(filenames)
    tried = []
    for label, folder in candidate_dirs(_NAME, path, system=False):
        if not folder.is_dir():
            tried.append(f"{label} {folder}: no such folder")
            continue
        problems = [f"{f}: {why}" for f in filenames
                    if (why := _good(folder / f, verify)) is not None]
        if not problems:
            return folder
        tried.append(f"{label} {folder}: " + "; ".join(problems))
    if download:
        cache = cache_dir(_NAME)
        if urls is None:
            urls = mirrors_from_env(WORKSHOP_URLS_ENV, WORKSHOP_URLS)
        items = []
        for fname in filenames:
            if _good(cache / fname, True) is None:
                continue
            remote, digest = WORKSHOP_FILES[fname]

            def check(tmp, fname=fname, digest=digest):
                actual = sha256_file(tmp)
                if actual != digest:
                    raise DatasetError(f"{fname} (downloaded): SHA-256 is {actual}, "
                                       f"expected {digest}")

            items.append((fname, remote, check))
        if download_files(items, cache, urls, tried, timeout=timeout):
            return cache
    else:
        tried.append("downloads: not attempted (download=False)")
    raise DatasetError(
        f"workshop data ({', '.join(filenames)}) not found and could not be downloaded. "
        "Places tried:\n" + "\n".join(f"  - {t}" for t in tried)
        + f"\nTo supply the files, put them in a folder and pass path=FOLDER, or put them in "
        f"DIR/{_NAME}/ and set {DATA_ENV}=DIR (they are in the public repository "
        "dwhitena/gc-ml: " + ", ".join(f"{r} as {f}" for f, (r, _) in WORKSHOP_FILES.items()
                                        if f in filenames) + ").")


def load_advertising(path=None, *, download=True, verify=True, urls=None,
                     timeout=DEFAULT_TIMEOUT):
    """Load the advertising data: 200 markets, spending per medium and sales, as a
    Table of columns ``("tv", "radio", "newspaper", "sales")`` (``data`` float64 of
    shape ``(200, 4)``), all already scaled to [0, 1]. The workshop trained on the
    first 160 rows and tested on the last 40 (``table.split(0.8)``). The arguments
    are :func:`fetch_workshop`'s.
    """
    names, data = _read_workshop_csv("advertising.csv", path, download, verify, urls,
                                     timeout, columns=("tv", "radio", "newspaper", "sales"))
    return Table(names, data)


def _read_workshop_csv(name, path, download, verify, urls, timeout, **read_options):
    """read_csv(...) of the workshop file `name`, found or fetched by fetch_workshop."""
    folder = fetch_workshop([name], path, download=download, verify=verify, urls=urls,
                            timeout=timeout)
    return read_csv(folder / name, **read_options)


def load_loan_data(path=None, *, download=True, verify=True, urls=None,
                   timeout=DEFAULT_TIMEOUT):
    """Load the loan data, cleaned as in the workshop: 2,500 loans, as a Table of
    columns ``("fico_score", "class")`` (``data`` float64 of shape ``(2500, 2)``).

    ``fico_score = (low end of FICO.Range - 640) / 190`` and ``class = 1.0``
    when ``Interest.Rate`` is at most 12 %, else ``0.0``.  (The workshop's
    cleaned file rounded the score to 4 decimals; here it is not rounded.)
    The workshop trained on the first 2,000 rows and tested on the last 500.
    The arguments are :func:`fetch_workshop`'s.
    """
    _, raw = _read_workshop_csv("loan_data.csv", path, download, verify, urls, timeout,
                                columns=("FICO.Range", "Interest.Rate"),
                                converters={"FICO.Range": parse_fico_range,
                                            "Interest.Rate": parse_percent})
    data = np.empty_like(raw)
    data[:, 0] = (raw[:, 0] - 640.0) / 190.0
    data[:, 1] = raw[:, 1] <= 12.0
    return Table(("fico_score", "class"), data)


_IRIS_COLUMNS = ("sepal_length", "sepal_width", "petal_length", "petal_width",
                 "setosa", "virginica", "versicolor")


def _iris_split(file):
    names, data = read_csv(file, columns=_IRIS_COLUMNS)
    onehot = data[:, 4:]
    bad = ~(np.isin(onehot, (0.0, 1.0)).all(axis=1) & (onehot.sum(axis=1) == 1.0))
    if bad.any():
        row = int(np.argmax(bad))
        raise DatasetError(f"{file}: line {row + 2}: species columns "
                           f"{', '.join(names[4:])} are {onehot[row].tolist()}, expected "
                           "exactly one 1.0 and the rest 0.0")
    return np.ascontiguousarray(data[:, :4]), np.argmax(onehot, axis=1).astype(np.int64)


def load_iris(path=None, *, download=True, verify=True, urls=None, timeout=DEFAULT_TIMEOUT):
    """Load the workshop's iris data, already split and scaled to [0, 1]. The arguments
    are :func:`fetch_workshop`'s.

    Returns
    -------
    (x_train, y_train), (x_test, y_test), classes
        ``x_*`` float64 of shape ``(120, 4)`` and ``(30, 4)`` (sepal length,
        sepal width, petal length, petal width); ``y_*`` int64 class indices
        of shape ``(120,)`` and ``(30,)``; ``classes`` the tuple
        ``("setosa", "virginica", "versicolor")``, the CSV's one-hot order,
        so ``classes[y]`` names a class.
    """
    folder = fetch_workshop(["iris_train.csv", "iris_test.csv"], path, download=download,
                            verify=verify, urls=urls, timeout=timeout)
    train = _iris_split(folder / "iris_train.csv")
    test = _iris_split(folder / "iris_test.csv")
    return train, test, _IRIS_COLUMNS[4:]
