"""The ``nnkernels`` command line: train, evaluate and use the talk's MNIST models.

Commands
--------
train classifier | train autoencoder
    Train a model on MNIST or Fashion-MNIST, evaluate it on the test set and write
    ``model.safetensors``, ``metrics.json``, ``history.csv`` and PNG pictures into an
    output folder; ``mpiexec -n N nnkernels train ... --distributed`` trains on N MPI
    ranks.
evaluate MODEL
    Test loss and accuracy (classifier) or MSE (autoencoder) of a saved model;
    ``--min-accuracy A`` / ``--max-mse M`` make it a quality gate (exit status 3).
predict [MODEL] INPUT...
    Classify (or reconstruct) PNG or JPEG images, IDX image files, folders of them or
    ``-`` (stdin); ``--out DIR`` writes one result file per input file. Without MODEL,
    the pretrained MNIST classifier does it.
serve [MODEL ...]
    Serve models over HTTP (Open Inference Protocol / KServe v2), with dynamic batching
    (the ``serve`` extra; docs/serving.md).
export MODEL OUT.onnx
    Write a saved model as an ONNX file (evaluate and predict also take ``.onnx`` models).
import-weights FILE --arch A --activations ACTS -o OUT
    Make a model file from a state dict saved as safetensors (by PyTorch, say).
fetch mnist | fashion-mnist | workshop
    Find or download a data set and print where its files are.
info
    Version, OpenMP, thread pools and BLAS in use.

Every expected failure (a bad option or an out-of-range value, missing data, a
missing, malformed or unsupported model or image file, a diverging training run, a
file that cannot be written, a full disk) prints one ``nnkernels: error: ...`` line on
stderr and exits with status 2 (bad command line) or 1 (the rest). Ctrl-C prints
``nnkernels: interrupted`` and exits with status 1; a training run stopped with
Ctrl-C still evaluates and saves what it has first. ``--debug`` (anywhere on the
command line) or ``NNKERNELS_DEBUG=1`` prints the Python traceback before that line.
Anything else is a bug: its traceback is printed, then ``nnkernels: internal error:
...``, and the status is 1.

The default training settings live in :data:`nnkernels.models.TRAIN_DEFAULTS`; ``train``
runs :func:`nnkernels.models.train_mnist`, which a Python user calls too.

Examples
--------
Train the classifier (10 epochs, RMSProp, cosine learning-rate decay) and look at
the results::

    $ nnkernels train classifier
    $ nnkernels train classifier --epochs 5 --lr 3e-3 --output runs/quick
    $ nnkernels train autoencoder --dataset fashion-mnist --threads 2
    $ nnkernels train classifier --limit 2000 --epochs 1 --data ~/mnist --quiet

Evaluate and use a saved model::

    $ nnkernels evaluate runs/quick/model.safetensors
    $ nnkernels predict runs/quick/model.safetensors digit.png t10k-images-idx3-ubyte.gz
    $ nnkernels predict runs/quick/model.safetensors --json digit.png
    $ nnkernels export runs/quick/model.safetensors runs/quick/model.onnx
    $ nnkernels evaluate runs/quick/model.onnx

Data and installation::

    $ nnkernels fetch mnist
    $ nnkernels info

From Python, :func:`main` takes the argument list and returns the exit status::

    >>> from nnkernels.cli import main
    >>> main(["evaluate", "runs/quick/model.safetensors"])  # doctest: +SKIP
    0

Each subcommand lives in its own module of this package (``train``, ``evaluate``,
``predict``, ``export``, ``import_weights``, ``fetch``, ``info``; ``workshop`` under
``train``), with ``add_parser(sub)`` and ``run(args)``; what they share is in ``_common``.
"""
import errno
import os
import sys
import traceback
import warnings

from nnkernels.cli import evaluate, export, fetch, import_weights, info, predict, serve, train
from nnkernels.cli._common import (DEBUG_ENV, EXIT_INTERRUPTED, EXIT_OK, EXIT_RUNTIME,
                                   EXIT_USAGE, CLIError, Parser, UsageError, err)
from nnkernels._info import version
from nnkernels.datasets import DatasetError
from nnkernels.errors import NonFiniteLossError
from nnkernels.formats.errors import ModelFileError
from nnkernels.recipe.defaults import TRAIN_DEFAULTS

__all__ = ["CLIError", "EXIT_INTERRUPTED", "EXIT_OK", "EXIT_RUNTIME", "EXIT_USAGE",
           "TRAIN_DEFAULTS", "UsageError", "build_parser", "main"]

#: the subcommands, in the order --help lists them; each module has add_parser and run
COMMANDS = (train, evaluate, predict, serve, export, import_weights, fetch, info)


def build_parser():
    """The argparse parser of the ``nnkernels`` command (built from TRAIN_DEFAULTS)."""
    parser = Parser(
        prog="nnkernels",
        description="Train and use small neural networks on the CPU (the MNIST classifier "
                    "and autoencoder of 'Getting started with deep learning in Go').",
        epilog="Run 'nnkernels COMMAND --help' for the options of a command. Exit status: "
               "0 success, 1 runtime error, 2 bad command line, 3 'evaluate' quality gate "
               "missed; Ctrl-C: 1.")
    parser.add_argument("--version", action="version", version=f"nnkernels {version()}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for command in COMMANDS:
        command.add_parser(sub)
    return parser


def main(argv=None):
    """Run the ``nnkernels`` command line.

    Parameters
    ----------
    argv : list of str, optional
        The arguments after the program name (default: ``sys.argv[1:]``).

    Returns
    -------
    int
        Exit status: 0 success, 1 runtime error, 2 bad command line (Ctrl-C: 1).
        An expected failure prints one line, ``nnkernels: error: ...``, on stderr; with
        ``--debug`` (or ``NNKERNELS_DEBUG=1``) the traceback comes first. A bug prints
        its traceback and ``nnkernels: internal error: ...``.
    """
    argv = sys.argv[1:] if argv is None else list(argv)
    # nnkernels.datasets refuses such pictures with its own, smaller limit: Pillow's
    # warning, printed first, would only make the error more than one line
    warnings.filterwarnings("ignore", message=r"Image size \(\d+ pixels\) exceeds limit",
                            module="PIL")
    try:
        args = build_parser().parse_args(argv)
        status = args.func(args)
        try:  # a full disk behind stdout fails here, not at exit
            sys.stdout.flush()
        except OSError as error:
            if isinstance(error, BrokenPipeError):
                raise
            raise OSError(error.errno, error.strerror, "<standard output>") from error
        return status
    except SystemExit as exit_:  # --help and --version
        code = exit_.code
        return code if isinstance(code, int) else (0 if code is None else EXIT_USAGE)
    except (Exception, KeyboardInterrupt) as error:  # noqa: BLE001 - each gets a status
        return _report(error, _debug_requested(argv))


def _debug_requested(argv):
    """Whether --debug is among the options (it may not parse) or NNKERNELS_DEBUG is set."""
    if os.environ.get(DEBUG_ENV, "") not in ("", "0"):
        return True
    for arg in argv:
        if arg == "--":
            break
        if arg == "--debug":
            return True
    return False


def _user_errors():
    """The exceptions that report a problem with the user's input, not a bug."""
    return CLIError, DatasetError, ModelFileError, NonFiniteLossError


_WRITE_ERRNOS = {errno.ENOSPC, errno.EFBIG, errno.EDQUOT, errno.EIO}


def _describe_os_error(error):
    """'FILE: reason' for an OSError, as the shell would say it."""
    reason = error.strerror or str(error)
    if error.filename is None:
        # files written through nnkernels._io name themselves; this is stdout or alike
        return f"cannot write the output: {reason}" if error.errno in _WRITE_ERRNOS \
            else reason
    names = str(error.filename)
    if error.filename2 is not None:
        names += f" -> {error.filename2}"
    return f"{names}: {reason}"


def _report(error, debug):
    """Print what went wrong (one line, or the traceback first); return the exit status."""
    if isinstance(error, BrokenPipeError):  # e.g. `nnkernels predict ... | head`: quiet
        _release_stdout()
        return EXIT_RUNTIME
    expected = isinstance(error, (*_user_errors(), KeyboardInterrupt, OSError, MemoryError))
    if debug or not expected:
        traceback.print_exception(error, file=sys.stderr)
    if isinstance(error, KeyboardInterrupt):
        err("nnkernels: interrupted")
        return EXIT_INTERRUPTED
    if isinstance(error, _user_errors()):
        status, message = getattr(error, "exit_code", EXIT_RUNTIME), str(error)
    elif isinstance(error, OSError):
        status, message = EXIT_RUNTIME, _describe_os_error(error)
    elif isinstance(error, MemoryError):
        status, message = EXIT_RUNTIME, f"out of memory{f': {error}' if str(error) else ''}"
    else:
        err(f"nnkernels: internal error: {type(error).__name__}: {error} (this is a bug; "
            "please report it with the traceback above)")
        _release_stdout()
        return EXIT_RUNTIME
    err(f"nnkernels: error: {message}")
    _release_stdout()
    return status


def _stdout_flushes():
    try:
        sys.stdout.flush()
        return True
    except (OSError, ValueError):
        return False


def _release_stdout():
    """Make sure stdout can be flushed at exit: if it cannot (a closed pipe, a full
    disk), point it at /dev/null, so that Python does not print a second error."""
    if not _stdout_flushes():
        try:
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        except (OSError, ValueError, AttributeError):
            pass


if __name__ == "__main__":
    sys.exit(main())
