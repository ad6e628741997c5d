"""What the subcommands share: errors and exit statuses, option types, loading data
and models."""
import argparse
import contextlib
import math
import sys
from pathlib import Path

from nnkernels import datasets
from nnkernels._threads import available_cpus, num_threads
from nnkernels.datasets import DATASETS
from nnkernels.formats.model_file import is_model_file, load

DATASET_NAMES = tuple(DATASETS)
# Exit statuses (README, "Errors and exit statuses"). Ctrl-C has a name of its own but
# the status of a runtime failure, as documented (issue 14: 2 for usage errors, 1 for
# the rest); its one line on stderr, "nnkernels: interrupted", tells it apart.
EXIT_OK, EXIT_RUNTIME, EXIT_USAGE = 0, 1, 2
EXIT_INTERRUPTED = EXIT_RUNTIME
EXIT_QUALITY = 3  # evaluate: the model misses --min-accuracy / --max-mse
IMAGE_SIDE = 28


class CLIError(Exception):
    """An expected failure: main prints 'nnkernels: error: <message>' and exits."""

    exit_code = EXIT_RUNTIME


class UsageError(CLIError):
    exit_code = EXIT_USAGE


#: An environment variable that, set to anything but "" or "0", shows tracebacks.
DEBUG_ENV = "NNKERNELS_DEBUG"


class Parser(argparse.ArgumentParser):
    """argparse that reports a bad command line as a UsageError instead of exiting.

    Every parser and subparser takes ``--debug``, so that it may come anywhere on
    the command line (main reads it from the arguments, even when they do not parse).
    """

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.add_argument("--debug", action="store_true", default=argparse.SUPPRESS,
                          help=f"on an error, show the Python traceback too (or set "
                               f"{DEBUG_ENV}=1)")

    def error(self, message):
        raise UsageError(f"{message} (see '{self.prog} --help')")



def int_at_least(low):
    def convert(text):
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected an integer, got {text!r}") from None
        if value < low:
            raise argparse.ArgumentTypeError(f"must be an integer >= {low}, got {value}")
        return value
    convert.__name__ = "integer"
    return convert


def float_above(low, inclusive):
    def parse(text):
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
        if not math.isfinite(value) or value < low or (value == low and not inclusive):
            raise argparse.ArgumentTypeError(
                f"must be a finite number {'>=' if inclusive else '>'} {low:g}, got {text}")
        return value
    parse.__name__ = "number"
    return parse


def thread_count(text):
    """A thread count from 1 to the number of CPUs this process may run on: more
    threads than CPUs only make the kernels and BLAS wait for each other."""
    value = int_at_least(1)(text)
    cpus = available_cpus()
    if value > cpus:
        raise argparse.ArgumentTypeError(
            f"must be at most {cpus}, the number of CPUs this process may use; got {value}")
    return value


positive_float = float_above(0, inclusive=False)
non_negative_float = float_above(0, inclusive=True)



def add_data_options(parser):
    parser.add_argument(
        "--data", metavar="PATH", type=Path,
        help="folder holding the four IDX files (gzipped or not); searched first, then "
             "$NNKERNELS_DATA/<dataset>/, the user cache (~/.cache/nnkernels/<dataset>/) "
             "and /usr/share/datasets/<dataset>/ (default: only those places)")
    parser.add_argument(
        "--no-download", dest="download", action="store_false",
        help="never download: fail when no folder holds the files (default: download "
             "into the user cache when needed)")



def err(message):
    print(message, file=sys.stderr, flush=True)


def load_data(name, path, download, quiet=False):
    """((x_train, y_train), (x_test, y_test)) of data set `name`."""
    if path is not None and not quiet:
        folder = Path(path).expanduser()
        missing = [f for f in datasets.IDX_FILES
                   if not (folder / f).is_file() and not (folder / f"{f}.gz").is_file()]
        if missing:
            err(f"note: --data {path} lacks {', '.join(missing)}; looking in the other "
                 "places")
    try:
        return datasets.load(name, path, download=download)
    except datasets.DatasetError as error:
        raise CLIError(data_hint(error, download)) from None


def data_hint(error, download):
    """A DatasetError's message plus how to fix it with this command's options."""
    hint = "On the command line, give the folder with --data FOLDER"
    if not download:
        hint += ", or drop --no-download to let nnkernels download the files"
    return f"{error}\n{hint}."


def class_names(dataset):
    info = DATASETS.get(dataset)
    return list(info.classes) if info is not None else [str(i) for i in range(10)]




def threads(n):
    """A context setting the thread count when n is given (restored on exit)."""
    return num_threads(n) if n is not None else contextlib.nullcontext()


def model_kind(model, path):
    """'classifier' or 'autoencoder' for a loaded model; CLIError if it is neither."""
    side = IMAGE_SIDE * IMAGE_SIDE
    if model.in_features != side:
        raise CLIError(f"{path}: the model takes {model.in_features} inputs; this command "
                       f"needs a model of {IMAGE_SIDE}x{IMAGE_SIDE} = {side} pixel images")
    if model.loss is not None and model.loss.target_kind == "labels":
        return "classifier"
    if model.out_features == side:
        return "autoencoder"
    raise CLIError(f"{path}: neither a classifier (softmax cross-entropy) nor an "
                   f"autoencoder ({side} outputs); it has {model.out_features} outputs and "
                   f"loss {getattr(model.loss, 'name', None)!r}")


#: suffixes that mark a command's first path as a model file rather than an input
MODEL_SUFFIXES = (".safetensors", ".nnk", ".onnx")


def split_model_argument(paths):
    """(model path or None, the other paths): the first path is a model file when its
    suffix is one of MODEL_SUFFIXES or its first bytes are a model file's."""
    first = Path(paths[0])
    if first.suffix.lower() in MODEL_SUFFIXES or is_model_file(first):
        return first, list(paths[1:])
    return None, list(paths)


def read_model_file(path):
    """The Sequential in a model file: an ONNX file (``.onnx``, through
    nnkernels.onnx.load) or a file of nnkernels.save. ModelFileError for a bad file."""
    if not Path(path).is_file():
        raise CLIError(f"{path}: no such model file" if not Path(path).exists()
                       else f"{path}: not a file")
    if Path(path).suffix.lower() == ".onnx":
        try:
            from nnkernels import onnx
            return onnx.load(path)
        except ImportError as error:  # the onnx extra is missing
            raise CLIError(f"{path}: {error}") from None
    return load(path)


def load_model(path):
    """(model, 'classifier' or 'autoencoder') of an MNIST model file (.safetensors, a
    legacy .nnk, or .onnx); None: the pretrained MNIST classifier."""
    if path is None:
        from nnkernels import pretrained
        return pretrained.mnist_classifier(), "classifier"
    model = read_model_file(path)
    return model, model_kind(model, path)

