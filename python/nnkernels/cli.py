"""The ``nnkernels`` command line: train, evaluate and use the talk's MNIST models.

Commands
--------
train classifier | train autoencoder
    Train a model on MNIST or Fashion-MNIST, evaluate it on the test set and write
    ``model.nnk``, ``history.csv`` and PNG pictures into an output folder.
evaluate MODEL
    Test loss and accuracy (classifier) or MSE (autoencoder) of a saved model.
predict MODEL IMAGE...
    Classify (or reconstruct) PNG images or IDX image files.
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

Data and installation::

    $ nnkernels fetch mnist
    $ nnkernels info

From Python, :func:`main` takes the argument list and returns the exit status::

    >>> from nnkernels.cli import main
    >>> main(["evaluate", "runs/quick/model.nnk"])  # doctest: +SKIP
    0
"""
import argparse
import datetime
import json
import math
import os
import secrets
import sys
import time
from pathlib import Path

import numpy as np

from nnkernels.models import (COSINE_FINAL_DIVISOR, LR_SCHEDULES, OPTIMIZERS, STEP_EVERY,
                              STEP_FACTOR, TRAIN_DEFAULTS)

__all__ = ["TRAIN_DEFAULTS", "main", "build_parser"]

DATASET_NAMES = ("mnist", "fashion-mnist")
FETCH_NAMES = ("mnist", "fashion-mnist", "workshop")

EXIT_OK, EXIT_RUNTIME, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130

_IMAGE_SIDE = 28


# ----------------------------------------------------------------------------- errors
class CLIError(Exception):
    """An expected failure: main prints 'nnkernels: error: <message>' and exits."""

    exit_code = EXIT_RUNTIME


class UsageError(CLIError):
    exit_code = EXIT_USAGE


class _Parser(argparse.ArgumentParser):
    """argparse that reports a bad command line as a UsageError instead of exiting."""

    def error(self, message):
        raise UsageError(f"{message} (see '{self.prog} --help')")


# --------------------------------------------------------------- option value checks
def _int_at_least(low):
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


def _float_above(low, inclusive):
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


_positive_float = _float_above(0, inclusive=False)
_non_negative_float = _float_above(0, inclusive=True)


# ----------------------------------------------------------------------------- parser
def _add_data_options(parser):
    parser.add_argument(
        "--data", metavar="PATH", type=Path,
        help="folder holding the four IDX files (gzipped or not); searched first, then "
             "$NNKERNELS_DATA/<dataset>/, the user cache (~/.cache/nnkernels/<dataset>/) "
             "and /usr/share/datasets/<dataset>/ (default: only those places)")
    parser.add_argument(
        "--no-download", dest="download", action="store_false",
        help="never download: fail when no folder holds the files (default: download "
             "into the user cache when needed)")


def _add_train_parser(sub, model):
    d = TRAIN_DEFAULTS[model]
    what = ("the 784-250-100-10 MNIST classifier (softmax cross-entropy)"
            if model == "classifier" else
            "the 784-250-50-250-784 MNIST autoencoder (mean squared error)")
    p = sub.add_parser(
        model, help=f"train {what}",
        description=f"Train {what}, evaluate it on the test set and write model.nnk, "
                    "history.csv and PNG pictures into the output folder. Progress (one "
                    "line per epoch) goes to stderr; the results and the list of written "
                    "files to stdout. Ctrl-C stops training after the current batch; the "
                    "model is still evaluated and saved (exit status 130).")
    p.add_argument("--epochs", type=_int_at_least(1), default=d["epochs"],
                   help="passes over the training set (default: %(default)s)")
    p.add_argument("--batch-size", type=_int_at_least(1), default=d["batch_size"],
                   metavar="N", help="minibatch size (default: %(default)s)")
    p.add_argument("--lr", type=_positive_float, default=d["lr"],
                   help="(initial) learning rate (default: %(default)g)")
    p.add_argument("--lr-schedule", choices=LR_SCHEDULES, default=d["lr_schedule"],
                   help=f"constant; cosine: half a cosine from lr down to "
                        f"lr/{COSINE_FINAL_DIVISOR} at the last epoch; step: lr times "
                        f"{STEP_FACTOR} every {STEP_EVERY} epochs (default: %(default)s)")
    p.add_argument("--weight-decay", type=_non_negative_float, default=d["weight_decay"],
                   metavar="L2", help="L2 penalty added to the gradients, weight_decay * w "
                                      "(default: %(default)g)")
    p.add_argument("--optimizer", choices=OPTIMIZERS, default=d["optimizer"],
                   help="rmsprop: rho 0.9, eps outside the square root (PyTorch's form); "
                        "rmsprop-gorgonia: the talk's solver, rho 0.999, eps inside; "
                        "sgd: plain SGD; adam (default: %(default)s)")
    p.add_argument("--dataset", choices=DATASET_NAMES, default="mnist",
                   help="(default: %(default)s)")
    _add_data_options(p)
    p.add_argument("--seed", type=_int_at_least(0),
                   help="seed of the initial weights and of the shuffling (default: a "
                        "random seed, printed and stored in the model's metadata)")
    p.add_argument("--threads", type=_int_at_least(1), metavar="N",
                   help="threads for the kernels and BLAS (default: nnkernels' default, "
                        "see 'nnkernels info')")
    p.add_argument("--dtype", choices=("float32", "float64"), default="float32",
                   help="floating-point type of the weights and the computation "
                        "(default: %(default)s)")
    p.add_argument("--output", metavar="DIR", type=Path,
                   help=f"output folder, created if needed (default: "
                        f"runs/{model}-<dataset>-<YYYYmmdd-HHMMSS>/)")
    p.add_argument("--limit", type=_int_at_least(1), metavar="N",
                   help="train on the first N training images only, for quick tests "
                        "(default: all 60000); the test set is always complete")
    p.add_argument("--quiet", "-q", action="store_true",
                   help="no progress or per-epoch lines; print only the results")
    p.set_defaults(func=_cmd_train, model=model)


WORKSHOP_TASKS = {
    "linear": "linear regression of sales on TV and radio advertising (SGD through the "
              "kernels, checked against the closed form)",
    "logistic": "logistic regression: is a loan's interest rate at most 12 % given its "
                "FICO score",
    "iris": "the iris network, 4 -> 32 ReLU -> 3 softmax",
}


def _add_workshop_parser(sub, task):
    p = sub.add_parser(
        task, help=WORKSHOP_TASKS[task],
        description=f"The Go workshop's {WORKSHOP_TASKS[task]}, on its data and split "
                    "(first 80 %% of rows train, last 20 %% test; iris as shipped): prints "
                    "the test figures and writes metrics.json and pictures into the "
                    "output folder.")
    if task != "iris":
        solvers = ("sgd", "lstsq") if task == "linear" else ("lbfgs", "sgd", "workshop")
        extra = ("; lbfgs: the maximum-likelihood fit, sgd: minibatch SGD on the same "
                 "objective, workshop: the workshop's own per-sample training"
                 if task == "logistic" else "")
        p.add_argument("--solver", choices=solvers, default=solvers[0],
                       help=f"(default: %(default)s{extra})")
    p.add_argument("--data", metavar="PATH", type=Path,
                   help="folder holding the workshop CSV files, read as they are (default: "
                        "$NNKERNELS_DATA/workshop/, the user cache, else download)")
    p.add_argument("--seed", type=_int_at_least(0), default=0, help="(default: %(default)s)")
    p.add_argument("--output", metavar="DIR", type=Path,
                   help=f"output folder (default: runs/{task}-<YYYYmmdd-HHMMSS>/)")
    p.add_argument("--quiet", "-q", action="store_true", help="print nothing")
    p.set_defaults(func=_cmd_workshop, task=task)


def _cmd_workshop(args):
    from nnkernels import workshop
    out = args.output or Path("runs") / f"{args.task}-{time.strftime('%Y%m%d-%H%M%S')}"
    extra = {"solver": args.solver} if args.task != "iris" else {}
    workshop.TASKS[args.task](out, seed=args.seed, data=args.data, verbose=not args.quiet,
                              **extra)
    return 0


def build_parser():
    """The argparse parser of the ``nnkernels`` command (built from TRAIN_DEFAULTS)."""
    from nnkernels import __version__
    parser = _Parser(
        prog="nnkernels",
        description="Train and use small neural networks on the CPU (the MNIST classifier "
                    "and autoencoder of 'Getting started with deep learning in Go').",
        epilog="Run 'nnkernels COMMAND --help' for the options of a command. Exit status: "
               "0 success, 1 runtime error, 2 bad command line, 130 interrupted.")
    parser.add_argument("--version", action="version", version=f"nnkernels {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    train = sub.add_parser("train", help="train the MNIST classifier or autoencoder, or a "
                                         "workshop model (linear, logistic, iris)",
                           description="Train a model; see 'nnkernels train MODEL --help'.")
    models = train.add_subparsers(dest="model", metavar="MODEL", required=True)
    for model in TRAIN_DEFAULTS:
        _add_train_parser(models, model)
    for task in WORKSHOP_TASKS:
        _add_workshop_parser(models, task)

    p = sub.add_parser("evaluate", help="evaluate a saved model on the test set",
                       description="Load a model saved by 'nnkernels train' (or "
                                   "nnkernels.save) and print its test loss and accuracy "
                                   "(classifier) or mean squared error (autoencoder).")
    p.add_argument("model_file", metavar="MODEL", type=Path, help="a .nnk model file")
    p.add_argument("--dataset", choices=DATASET_NAMES,
                   help="test set to use (default: the data set the model was trained on, "
                        "else mnist)")
    _add_data_options(p)
    p.set_defaults(func=_cmd_evaluate)

    p = sub.add_parser(
        "predict", help="classify or reconstruct images with a saved model",
        description="Run a saved model on images. A PNG (or any picture Pillow reads) is "
                    "converted to 28x28 grayscale; MNIST digits are light on a dark "
                    "background, so a picture whose mean brightness is above 0.5 is "
                    "inverted (and the output says so). An IDX image file (such as "
                    "t10k-images-idx3-ubyte[.gz]) contributes every image it holds, as is. "
                    "A classifier prints the predicted class, its probability and the top "
                    "3; an autoencoder the reconstruction MSE of each image.")
    p.add_argument("model_file", metavar="MODEL", type=Path, help="a .nnk model file")
    p.add_argument("images", metavar="IMAGE", type=Path, nargs="+",
                   help="PNG files or IDX image files")
    p.add_argument("--json", action="store_true",
                   help="print one JSON object per image instead of text")
    p.set_defaults(func=_cmd_predict)

    p = sub.add_parser("fetch", help="find or download a data set",
                       description="Find a data set (or download it into the user cache) "
                                   "and print the folder holding its files.")
    p.add_argument("name", choices=FETCH_NAMES, help="data set")
    _add_data_options(p)
    p.set_defaults(func=_cmd_fetch)

    p = sub.add_parser("info", help="show the build: version, OpenMP, threads, BLAS",
                       description="Print nnkernels.build_info() readably.")
    p.set_defaults(func=_cmd_info)
    return parser


# ----------------------------------------------------------------------- small helpers
def _err(message):
    print(message, file=sys.stderr, flush=True)


def _load_data(name, path, download, quiet=False):
    """((x_train, y_train), (x_test, y_test)) of data set `name`."""
    from nnkernels import datasets
    if path is not None and not quiet:
        folder = Path(path).expanduser()
        missing = [f for f in datasets.IDX_FILES
                   if not (folder / f).is_file() and not (folder / f"{f}.gz").is_file()]
        if missing:
            _err(f"note: --data {path} lacks {', '.join(missing)}; looking in the other "
                 "places")
    loader = datasets.load_mnist if name == "mnist" else datasets.load_fashion_mnist
    try:
        return loader(path, download=download)
    except datasets.DatasetError as error:
        raise CLIError(_data_hint(error, download)) from None


def _data_hint(error, download):
    """A DatasetError's message plus how to fix it with this command's options."""
    hint = "On the command line, give the folder with --data FOLDER"
    if not download:
        hint += ", or drop --no-download to let nnkernels download the files"
    return f"{error}\n{hint}."


def _class_names(dataset):
    from nnkernels.datasets import DATASETS
    info = DATASETS.get(dataset)
    return list(info.classes) if info is not None else [str(i) for i in range(10)]


def _default_output(model, dataset):
    stamp = time.strftime("%Y%m%d-%H%M%S")
    base = Path("runs") / f"{model}-{dataset}-{stamp}"
    out, i = base, 2
    while out.exists():
        out, i = Path(f"{base}-{i}"), i + 1
    return out


def _threads(n):
    """A context setting the thread count when n is given (restored on exit)."""
    import contextlib
    import nnkernels
    return nnkernels.num_threads(n) if n is not None else contextlib.nullcontext()


def _model_kind(model, path):
    """'classifier' or 'autoencoder' for a loaded model; CLIError if it is neither."""
    side = _IMAGE_SIDE * _IMAGE_SIDE
    if model.in_features != side:
        raise CLIError(f"{path}: the model takes {model.in_features} inputs; this command "
                       f"needs a model of {_IMAGE_SIDE}x{_IMAGE_SIDE} = {side} pixel images")
    if model.loss is not None and model.loss.target_kind == "labels":
        return "classifier"
    if model.out_features == side:
        return "autoencoder"
    raise CLIError(f"{path}: neither a classifier (softmax cross-entropy) nor an "
                   f"autoencoder ({side} outputs); it has {model.out_features} outputs and "
                   f"loss {getattr(model.loss, 'name', None)!r}")


def _load_model(path):
    import nnkernels
    if not Path(path).is_file():
        raise CLIError(f"{path}: no such model file" if not Path(path).exists()
                       else f"{path}: not a file")
    model = nnkernels.load(path)  # ModelFileError for a bad file
    return model, _model_kind(model, path)


# ------------------------------------------------------------------------------ train
def _cmd_train(args):
    with _threads(args.threads):
        return _train(args)


def _train(args):
    import nnkernels
    from nnkernels import callbacks, metrics, models, plots
    from nnkernels.datasets import DATASETS

    model_name, say = args.model, (lambda *a: None) if args.quiet else _err
    seed = args.seed if args.seed is not None else secrets.randbelow(2 ** 31)
    started = time.perf_counter()
    data = _load_data(args.dataset, args.data, args.download, quiet=args.quiet)
    (x_test, y_test) = data[1]
    classifier = model_name == "classifier"

    out = args.output if args.output is not None else _default_output(model_name,
                                                                      args.dataset)
    if out.exists() and not out.is_dir():
        raise CLIError(f"--output {out} exists and is not a folder")
    created = not out.exists()
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise CLIError(f"cannot create the output folder {out}: "
                       f"{error.strerror or error}") from None

    n = min(len(data[0][0]), args.limit or len(data[0][0]))
    n_val = models.validation_split(n)
    _, schedule_text, _ = models.lr_scheduler(args.lr_schedule, args.lr, args.epochs)
    title = DATASETS[args.dataset].title
    say(f"Training the {model_name} on {title}: {n - n_val} images ({n_val} more held out "
        f"for validation), {args.epochs} epoch(s) of batch {args.batch_size}, "
        f"{args.optimizer} lr {args.lr:g} ({schedule_text}), {args.dtype}, seed {seed}, "
        f"{nnkernels.get_num_threads()} thread(s) -> {out}/")
    try:
        model, history, results = models.train_mnist(
            model_name, dataset=args.dataset, arrays=data, seed=seed, dtype=args.dtype,
            limit=args.limit, callbacks=[callbacks.CSVLogger(out / "history.csv")],
            verbose=0 if args.quiet else 1, epochs=args.epochs,
            batch_size=args.batch_size, lr=args.lr, lr_schedule=args.lr_schedule,
            optimizer=args.optimizer, weight_decay=args.weight_decay)
    except nnkernels.NonFiniteLossError as error:
        if created and out.is_dir() and not any(out.iterdir()):
            out.rmdir()
        raise CLIError(f"training diverged: {error}") from None
    wall = time.perf_counter() - started
    epochs_done, interrupted = results["epochs_completed"], results["interrupted"]
    train_seconds = results["train_seconds"]
    test = ({"loss": results["test_loss"], "accuracy": results["test_accuracy"]}
            if classifier else {"loss": results["test_mse"]})
    model.metadata.update(threads=nnkernels.get_num_threads(), wall_time_seconds=wall,
                          created=datetime.datetime.now(datetime.timezone.utc).isoformat(
                              timespec="seconds"))

    written = []
    model_path = out / "model.nnk"
    nnkernels.save(model, model_path)
    written.append(model_path)
    if epochs_done:
        written.append(out / "history.csv")
    hist = history.history
    if classifier:
        y_pred = model.predict_classes(x_test)
        written += plots.classification_grids(x_test, y_test, y_pred, out, seed=0)
        names = _class_names(args.dataset)
        cm = metrics.confusion_matrix(y_test, y_pred, len(names))
        written.append(plots.confusion_matrix_image(
            cm, out / "confusion_matrix.png", class_names=names,
            title=f"{title} test set: confusion matrix (accuracy {test['accuracy']:.4f})"))
    else:
        n = 20
        recon = np.clip(model.predict(x_test[:n]), 0.0, 1.0)
        written.append(plots.reconstruction_grid(
            x_test[:n], recon, out / "reconstructions.png", n=n,
            heading=f"{title} test images and their reconstructions "
                    f"(test MSE {test['loss']:.4f})"))
    if epochs_done:
        loss_name = "cross-entropy" if classifier else "mean squared error"
        written.append(plots.line_plot(
            {"train": hist["loss"], "validation": hist["val_loss"]},
            out / "loss.png", title=f"{model_name} on {title}: loss", xlabel="epoch",
            ylabel=loss_name))
        if classifier:
            written.append(plots.line_plot(
                {"train": hist["accuracy"], "validation": hist["val_accuracy"]},
                out / "accuracy.png", title=f"classifier on {title}: accuracy",
                xlabel="epoch", ylabel="accuracy"))

    if interrupted:
        print(f"Training was interrupted (Ctrl-C) after {epochs_done} of {args.epochs} "
              f"epoch(s); evaluated and saved the model as it was when training stopped.")
        if not epochs_done:
            print("No epoch was completed: no history.csv, loss.png or accuracy.png.")
    if classifier:
        print(f"test accuracy {test['accuracy']:.4f}  test loss {test['loss']:.4f}  "
              f"({len(x_test)} test images)")
    else:
        print(f"test MSE {test['loss']:.6f}  ({len(x_test)} test images)")
    print(f"wall time {wall:.1f} s (training {train_seconds:.1f} s, {epochs_done} epoch(s))")
    print(f"wrote {len(written)} files in {out}/:")
    for path in written:
        print(f"  {path}")
    sys.stdout.flush()
    return EXIT_INTERRUPTED if interrupted else EXIT_OK


# --------------------------------------------------------------------------- evaluate
def _cmd_evaluate(args):
    model, kind = _load_model(args.model_file)
    dataset = args.dataset or model.metadata.get("dataset")
    if dataset not in DATASET_NAMES:
        dataset = "mnist"
    _, (x_test, y_test) = _load_data(dataset, args.data, args.download)
    result = model.evaluate(x_test, y_test if kind == "classifier" else x_test)
    if kind == "classifier":
        print(f"{args.model_file}: {dataset} test set ({len(x_test)} images): "
              f"loss {result['loss']:.4f}  accuracy {result['accuracy']:.4f}")
    else:
        print(f"{args.model_file}: {dataset} test set ({len(x_test)} images): "
              f"MSE {result['loss']:.6f}")
    return EXIT_OK


# ---------------------------------------------------------------------------- predict
def _cmd_predict(args):
    model, kind = _load_model(args.model_file)
    names = _class_names(model.metadata.get("dataset", "mnist"))
    if kind == "classifier" and len(names) != model.out_features:
        names = [str(i) for i in range(model.out_features)]
    digits = all(name == str(i) for i, name in enumerate(names))

    def label(c):
        return names[c] if digits else f"{c} ({names[c]})"

    # Read every image first, so a bad file fails before any output.
    from nnkernels.datasets import read_images
    entries = [(path, *item) for path in args.images for item in read_images(path)]
    x = np.stack([pixels for _, _, pixels, _ in entries])
    outputs = model.predict(x)
    for (path, index, pixels, inverted), out in zip(entries, outputs):
        where = f"{path}" if index is None else f"{path}[{index}]"
        record = {"file": str(path), "index": index, "inverted": inverted}
        if kind == "classifier":
            top = np.argsort(-out, kind="stable")[:3]
            c = int(top[0])
            record.update(
                {"class": c, "label": names[c], "probability": float(out[c]),
                 "top3": [{"class": int(t), "label": names[t], "probability": float(out[t])}
                          for t in top]})
            text = (f"{where}: {label(c)}  probability {out[c]:.4f}  top 3: "
                    + ", ".join(f"{label(int(t))} {out[t]:.4f}" for t in top))
        else:
            mse = float(np.mean((out.astype(np.float64) - pixels) ** 2))
            record["mse"] = mse
            text = f"{where}: reconstruction MSE {mse:.6f}"
        if inverted:
            text += "  (light background: inverted to light-on-dark)"
        print(json.dumps(record) if args.json else text)
    return EXIT_OK


# ------------------------------------------------------------------------ fetch, info
def _cmd_fetch(args):
    from nnkernels import datasets
    try:
        folder = datasets.fetch(args.name, args.data, download=args.download)
    except datasets.DatasetError as error:
        raise CLIError(_data_hint(error, args.download)) from None
    files = sorted(p.name for p in Path(folder).iterdir() if p.is_file()
                   and not p.name.startswith("."))
    print(f"{args.name}: {folder}")
    for name in files:
        print(f"  {name}")
    return EXIT_OK


def _cmd_info(args):
    import nnkernels
    info = nnkernels.build_info()
    openmp = (f"yes (version {info.get('openmp_version')}, max threads "
              f"{info.get('openmp_max_threads')})" if info.get("openmp") else "no")
    print(f"nnkernels {info.get('version')}")
    print(f"  python {info.get('python')}, numpy {info.get('numpy')}, "
          f"scipy {info.get('scipy')}")
    print(f"  OpenMP: {openmp}")
    print(f"  threads: {info.get('num_threads')} (kernels), "
          f"{info.get('blas_num_threads')} (BLAS)")
    blas = info.get("blas") or []
    if not blas:
        print("  BLAS: none found by threadpoolctl")
    for lib in blas:
        details = ", ".join(f"{k} {lib[k]}" for k in ("threading_layer", "architecture",
                                                      "num_threads") if lib.get(k))
        print(f"  BLAS: {lib.get('internal_api')} {lib.get('version') or ''} ({details})")
        print(f"        {lib.get('filepath')}")
    shown = {"version", "python", "numpy", "scipy", "openmp", "openmp_version",
             "openmp_max_threads", "num_threads", "blas_num_threads", "blas"}
    for key, value in info.items():
        if key not in shown:
            print(f"  {key}: {value}")
    return EXIT_OK


# ------------------------------------------------------------------------------- main
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
        _err(f"nnkernels: error: {error}")
        return error.exit_code
    except (DatasetError, ModelFileError, NonFiniteLossError) as error:
        _err(f"nnkernels: error: {error}")
        return EXIT_RUNTIME
    except KeyboardInterrupt:
        _err("nnkernels: interrupted")
        return EXIT_INTERRUPTED
    except BrokenPipeError:  # e.g. `nnkernels predict ... | head`
        try:  # and no second error when Python flushes stdout at exit
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        except (OSError, ValueError):
            pass
        return EXIT_RUNTIME
    except OSError as error:  # an output file or folder that cannot be written
        _err(f"nnkernels: error: {error}")
        return EXIT_RUNTIME


if __name__ == "__main__":
    sys.exit(main())
