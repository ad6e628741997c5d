"""The ``nnkernels`` command line: train, evaluate and use the talk's MNIST models.

Commands
--------
train classifier | train autoencoder
    Train a model on MNIST or Fashion-MNIST, evaluate it on the test set and write
    ``model.nnk``, ``metrics.json``, ``history.csv`` and PNG pictures into an output
    folder; ``mpiexec -n N nnkernels train ... --distributed`` trains on N MPI ranks.
evaluate MODEL
    Test loss and accuracy (classifier) or MSE (autoencoder) of a saved model;
    ``--min-accuracy A`` / ``--max-mse M`` make it a quality gate (exit status 3).
predict MODEL INPUT...
    Classify (or reconstruct) PNG or JPEG images, IDX image files, folders of them or
    ``-`` (stdin); ``--out DIR`` writes one result file per input file.
export MODEL OUT.onnx
    Write a saved model as an ONNX file (evaluate and predict also take ``.onnx`` models).
fetch mnist | fashion-mnist | workshop
    Find or download a data set and print where its files are.
info
    Version, OpenMP, thread pools and BLAS in use.

Every expected failure (missing data, a bad model file, an unreadable image, a
diverging training run, a bad option) prints one ``nnkernels: error: ...`` message on
stderr and exits with status 1 (runtime) or 2 (usage). A training run stopped with
Ctrl-C still evaluates and saves what it has, then exits with status 130.

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

    $ nnkernels evaluate runs/quick/model.nnk
    $ nnkernels predict runs/quick/model.nnk digit.png t10k-images-idx3-ubyte.gz
    $ nnkernels predict runs/quick/model.nnk --json digit.png
    $ nnkernels export runs/quick/model.nnk runs/quick/model.onnx
    $ nnkernels evaluate runs/quick/model.onnx

Data and installation::

    $ nnkernels fetch mnist
    $ nnkernels info

From Python, :func:`main` takes the argument list and returns the exit status::

    >>> from nnkernels.cli import main
    >>> main(["evaluate", "runs/quick/model.nnk"])  # doctest: +SKIP
    0

Each subcommand lives in its own module of this package (``train``, ``evaluate``,
``predict``, ``export``, ``fetch``, ``info``; ``workshop`` under ``train``), with ``add_parser(sub)``
and ``run(args)``; what they share is in ``_common``.
"""
import os
import sys

from nnkernels.cli import evaluate, export, fetch, info, predict, train
from nnkernels.cli._common import (EXIT_INTERRUPTED, EXIT_OK, EXIT_RUNTIME, EXIT_USAGE,
                                   CLIError, Parser, UsageError, err)
from nnkernels.models import TRAIN_DEFAULTS

__all__ = ["CLIError", "EXIT_INTERRUPTED", "EXIT_OK", "EXIT_RUNTIME", "EXIT_USAGE",
           "TRAIN_DEFAULTS", "UsageError", "build_parser", "main"]

#: the subcommands, in the order --help lists them; each module has add_parser and run
COMMANDS = (train, evaluate, predict, export, fetch, info)


def build_parser():
    """The argparse parser of the ``nnkernels`` command (built from TRAIN_DEFAULTS)."""
    from nnkernels import __version__
    parser = Parser(
        prog="nnkernels",
        description="Train and use small neural networks on the CPU (the MNIST classifier "
                    "and autoencoder of 'Getting started with deep learning in Go').",
        epilog="Run 'nnkernels COMMAND --help' for the options of a command. Exit status: "
               "0 success, 1 runtime error, 2 bad command line, 3 'evaluate' quality gate "
               "missed, 130 interrupted.")
    parser.add_argument("--version", action="version", version=f"nnkernels {__version__}")
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
        Exit status: 0 success, 1 runtime error, 2 bad command line, 130 interrupted.
    """
    from nnkernels import ModelFileError, NonFiniteLossError
    from nnkernels.datasets import DatasetError
    try:
        args = build_parser().parse_args(argv)
        return args.func(args)
    except SystemExit as exit_:  # --help and --version
        code = exit_.code
        return code if isinstance(code, int) else (0 if code is None else EXIT_USAGE)
    except CLIError as error:
        err(f"nnkernels: error: {error}")
        return error.exit_code
    except (DatasetError, ModelFileError, NonFiniteLossError) as error:
        err(f"nnkernels: error: {error}")
        return EXIT_RUNTIME
    except KeyboardInterrupt:
        err("nnkernels: interrupted")
        return EXIT_INTERRUPTED
    except BrokenPipeError:  # e.g. `nnkernels predict ... | head`
        try:  # and no second error when Python flushes stdout at exit
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        except (OSError, ValueError):
            pass
        return EXIT_RUNTIME
    except OSError as error:  # an output file or folder that cannot be written
        err(f"nnkernels: error: {error}")
        return EXIT_RUNTIME


if __name__ == "__main__":
    sys.exit(main())
