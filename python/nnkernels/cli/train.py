"""``nnkernels train classifier|autoencoder``: train the talk's models on MNIST (through
:func:`nnkernels.models.train_mnist`), evaluate once on the test set, write the model, the
history and the pictures. The workshop's tasks hang under ``train`` too (cli/workshop.py)."""
import secrets
import sys
import time
from pathlib import Path

import numpy as np

from nnkernels.cli import workshop
from nnkernels.cli._common import (DATASET_NAMES, EXIT_INTERRUPTED, EXIT_OK, CLIError,
                                   UsageError, add_data_options, class_names, err,
                                   int_at_least, load_data, non_negative_float, positive_float,
                                   thread_count, threads)
from nnkernels.models import (COSINE_FINAL_DIVISOR, LR_SCHEDULES, OPTIMIZERS, STEP_EVERY,
                              STEP_FACTOR, TRAIN_DEFAULTS)


def add_parser(sub):
    train = sub.add_parser("train", help="train the MNIST classifier or autoencoder, or a "
                                         "workshop model (linear, logistic, iris)",
                           description="Train a model; see 'nnkernels train MODEL --help'.")
    models = train.add_subparsers(dest="model", metavar="MODEL", required=True)
    for model in TRAIN_DEFAULTS:
        _add_model_parser(models, model)
    for task in workshop.TASKS:
        workshop.add_parser(models, task)


def _add_model_parser(sub, model):
    d = TRAIN_DEFAULTS[model]
    what = ("the 784-250-100-10 MNIST classifier (softmax cross-entropy)"
            if model == "classifier" else
            "the 784-250-50-250-784 MNIST autoencoder (mean squared error)")
    p = sub.add_parser(
        model, help=f"train {what}",
        description=f"Train {what}, evaluate it on the test set and write "
                    "model.safetensors, metrics.json, history.csv and PNG pictures into "
                    "the output folder (the same inputs, seed and --threads give the same "
                    "model.safetensors and metrics.json, byte for byte). Progress (one "
                    "line per epoch) goes to stderr; the results and the list of written "
                    "files to stdout. Ctrl-C or SIGTERM stops training after the current "
                    "batch; the model is still evaluated and saved (exit status 1).")
    p.add_argument("--epochs", type=int_at_least(1), default=d["epochs"],
                   help="passes over the training set (default: %(default)s)")
    p.add_argument("--batch-size", type=int_at_least(1), default=d["batch_size"],
                   metavar="N", help="minibatch size (default: %(default)s)")
    p.add_argument("--lr", type=positive_float, default=d["lr"],
                   help="(initial) learning rate (default: %(default)g)")
    p.add_argument("--lr-schedule", choices=LR_SCHEDULES, default=d["lr_schedule"],
                   help=f"constant; cosine: half a cosine from lr down to "
                        f"lr/{COSINE_FINAL_DIVISOR} at the last epoch; step: lr times "
                        f"{STEP_FACTOR} every {STEP_EVERY} epochs (default: %(default)s)")
    p.add_argument("--weight-decay", type=non_negative_float, default=d["weight_decay"],
                   metavar="L2", help="L2 penalty added to the gradients, weight_decay * w "
                                      "(default: %(default)g)")
    p.add_argument("--optimizer", choices=OPTIMIZERS, default=d["optimizer"],
                   help="rmsprop: rho 0.9, eps outside the square root (PyTorch's form); "
                        "rmsprop-gorgonia: the talk's solver, rho 0.999, eps inside; "
                        "sgd: plain SGD; adam (default: %(default)s)")
    p.add_argument("--dataset", choices=DATASET_NAMES, default="mnist",
                   help="(default: %(default)s)")
    add_data_options(p)
    p.add_argument("--seed", type=int_at_least(0),
                   help="seed of the initial weights and of the shuffling (default: a "
                        "random seed, printed and stored in the model's metadata)")
    p.add_argument("--threads", type=thread_count, metavar="N",
                   help="threads for the kernels and BLAS, at most the number of CPUs "
                        "(default: nnkernels' default, see 'nnkernels info')")
    p.add_argument("--dtype", choices=("float32", "float64"), default="float32",
                   help="floating-point type of the weights and the computation "
                        "(default: %(default)s)")
    p.add_argument("--output", metavar="DIR", type=Path,
                   help=f"output folder, created if needed (default: "
                        f"runs/{model}-<dataset>-<YYYYmmdd-HHMMSS>/)")
    p.add_argument("--limit", type=int_at_least(1), metavar="N",
                   help="train on the first N training images only, for quick tests "
                        "(default: all 60000); the test set is always complete")
    p.add_argument("--quiet", "-q", action="store_true",
                   help="no progress or per-epoch lines; print only the results")
    p.add_argument("--distributed", action="store_true",
                   help="data-parallel training on the ranks of 'mpiexec -n N nnkernels "
                        "train ...' (needs nnkernels[mpi]): --batch-size stays the global "
                        "batch, shared among the ranks; rank 0 writes the output; "
                        "--threads defaults to the cores / ranks on each machine; see "
                        "docs/distributed.md")
    p.add_argument("--checkpoint-every", type=int_at_least(1), metavar="N",
                   help="save checkpoint.safetensors in the output folder every N epochs and when "
                        "training is interrupted (Ctrl-C, SIGTERM): the weights, optimizer "
                        "state and training position, for --resume")
    p.add_argument("--resume", metavar="CHECKPOINT", type=Path,
                   help="continue the run that wrote this checkpoint.safetensors, bit for bit as if "
                        "it had not stopped; its settings are used (options that differ from "
                        "their defaults must agree with them, except --epochs), on its thread "
                        "count unless --threads is given; its folder is the default output")
    p.set_defaults(func=run, model=model)



def run(args):
    from nnkernels.distributed import launched_ranks
    comm = None
    if not args.distributed and launched_ranks() > 1:
        raise UsageError(f"started by mpiexec as {launched_ranks()} ranks without "
                         f"--distributed: each would train alone and write the same files; "
                         f"add --distributed, or run without mpiexec")
    if args.distributed and args.resume is not None:
        raise UsageError("--resume does not work with --distributed")
    if args.resume is not None and args.threads is None:
        args.threads = _checkpoint_threads(args.resume)
    if args.distributed:
        from nnkernels.distributed import DistributedError, communicator
        try:
            comm = communicator(True)
        except (ImportError, DistributedError) as error:
            raise CLIError(str(error)) from None
    with threads(args.threads or (comm.threads_per_rank() if comm else None)):
        if comm is None:
            return _train(args, None)
        with comm.abort_on_error():  # a failing rank must not leave the others waiting
            return _train(args, comm)


def _checkpoint_threads(path):
    """The thread count a checkpoint was written with (None: unknown or unreadable;
    _train reports the error)."""
    import nnkernels
    try:
        return nnkernels.load(path, with_metadata=True)[1]["checkpoint"]["threads"]
    except (ValueError, KeyError, TypeError, OSError):
        return None


def _resumed(args):
    """(settings, checkpoint position) of --resume, the settings given on the command
    line otherwise. Options left at their defaults take the checkpoint's values."""
    from nnkernels import models
    from nnkernels.callbacks import resume_arguments
    names = (*TRAIN_DEFAULTS[args.model], *models.RESUMED)
    given = {k: getattr(args, k, models.RESUMED.get(k)) for k in names}
    if args.resume is None:
        return given, None
    defaults = {**TRAIN_DEFAULTS[args.model], **models.RESUMED}
    asked = {k: v for k, v in given.items() if v != defaults[k]}
    try:
        _, settings, meta = models.resume_settings(args.resume, args.model, **asked)
    except ValueError as error:
        raise CLIError(f"--resume: {error}") from None
    return settings, {**resume_arguments(meta), "every": meta["checkpoint"].get("every", 1)}


def _train(args, comm):
    import nnkernels
    from nnkernels import callbacks, metrics, models, plots
    from nnkernels.datasets import DATASETS

    root = comm is None or comm.is_root  # with MPI, rank 0 alone prints and writes
    model_name = args.model
    say = err if root and not args.quiet else (lambda *a: None)
    run, position = _resumed(args)
    seed = run["seed"] if run["seed"] is not None else secrets.randbelow(2 ** 31)
    if comm is not None:
        seed = comm.agree_seed(seed)
    started = time.perf_counter()
    data = load_data(run["dataset"], args.data, args.download, quiet=args.quiet or not root)
    (x_test, y_test) = data[1]
    classifier = model_name == "classifier"

    out = args.output if args.output is not None else (
        args.resume.parent if args.resume is not None else default_output(model_name,
                                                                          run["dataset"]))
    if out.exists() and not out.is_dir():
        raise CLIError(f"--output {out} exists and is not a folder")
    created = not out.exists()
    try:
        if root:
            out.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise CLIError(f"cannot create the output folder {out}: "
                       f"{error.strerror or error}") from None

    n = min(len(data[0][0]), run["limit"] or len(data[0][0]))
    n_val = models.validation_split(n)
    _, schedule_text, _ = models.lr_scheduler(run["lr_schedule"], run["lr"], run["epochs"])
    title = DATASETS[run["dataset"]].title
    if position is not None:
        say(f"Resuming {args.resume} at epoch {position['initial_epoch'] + 1}, batch "
            f"{position['initial_step'] + 1}")
    say(f"Training the {model_name} on {title}: {n - n_val} images ({n_val} more held out "
        f"for validation), {run['epochs']} epoch(s) of batch {run['batch_size']}, "
        f"{run['optimizer']} lr {run['lr']:g} ({schedule_text}), {run['dtype']}, seed {seed}, "
        f"{nnkernels.get_num_threads()} thread(s)"
        f"{f' x {comm.size} ranks' if comm is not None else ''} -> {out}/")
    every = args.checkpoint_every or (position or {}).get("every")
    try:
        model, history, results = models.train_mnist(
            model_name, dataset=run["dataset"], arrays=data, seed=seed, dtype=run["dtype"],
            limit=run["limit"], verbose=0 if args.quiet else 1, distributed=comm,
            callbacks=[callbacks.CSVLogger(out / "history.csv", append=position is not None)],
            checkpoint=out / "checkpoint.safetensors" if every else None, checkpoint_every=every or 1,
            resume=args.resume, epochs=run["epochs"], batch_size=run["batch_size"],
            lr=run["lr"], lr_schedule=run["lr_schedule"], optimizer=run["optimizer"],
            weight_decay=run["weight_decay"])
    except nnkernels.NonFiniteLossError as error:
        if created and out.is_dir() and not any(out.iterdir()):
            out.rmdir()
        raise CLIError(f"training diverged: {error}") from None
    wall = time.perf_counter() - started
    epochs_done, interrupted = results["epochs_completed"], results["interrupted"]
    if not root:
        return EXIT_INTERRUPTED if interrupted else EXIT_OK
    train_seconds = results["train_seconds"]
    test = ({"loss": results["test_loss"], "accuracy": results["test_accuracy"]}
            if classifier else {"loss": results["test_mse"]})
    ranks = comm.size if comm is not None else 1
    model.metadata.update(threads=nnkernels.get_num_threads(), ranks=ranks)

    written = []
    model_path = out / "model.safetensors"
    nnkernels.save(model, model_path)
    written.append(model_path)
    written.append(write_metrics(out / "metrics.json", results, history, ranks))
    if every:
        written.append(out / "checkpoint.safetensors")
    if epochs_done:
        written.append(out / "history.csv")
    hist = history.history
    if classifier:
        y_pred = model.predict_classes(x_test)
        written += plots.classification_grids(x_test, y_test, y_pred, out, seed=0)
        names = class_names(run["dataset"])
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
        print(f"Training was interrupted ({history.stopped_by}) after {epochs_done} of "
              f"{run['epochs']} epoch(s); evaluated and saved the model as it was when "
              f"training stopped.")
        if every:
            print(f"Continue it with: nnkernels train {model_name} --resume "
                  f"{out / 'checkpoint.safetensors'}")
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



def metrics_record(results, history, ranks):
    """What metrics.json holds: the final train, validation and test figures, the
    settings, the seed, the sample counts and the versions; no timings, so that the
    same inputs, seed and thread count give the same bytes."""
    import platform

    import nnkernels
    import numpy
    hist = history.history
    classifier = results["model"] == "classifier"
    keys = ("loss", "accuracy") if classifier else ("loss",)
    settings = ("epochs", "batch_size", "lr", "lr_schedule", "optimizer", "weight_decay",
                "dtype", "limit")
    return {
        "model": results["model"], "dataset": results["dataset"], "seed": results["seed"],
        "settings": {**{k: results[k] for k in settings},
                     "threads": nnkernels.get_num_threads(), "ranks": ranks},
        "train": {k: hist[k][-1] for k in keys if hist.get(k)},
        "validation": {k: hist[f"val_{k}"][-1] for k in keys if hist.get(f"val_{k}")},
        "test": ({"loss": results["test_loss"], "accuracy": results["test_accuracy"]}
                 if classifier else {"mse": results["test_mse"]}),
        "samples": {"train": results["train_samples"],
                    "validation": results["validation_samples"]},
        "epochs_completed": results["epochs_completed"],
        "interrupted": results["interrupted"],
        "versions": {"nnkernels": nnkernels.__version__, "numpy": numpy.__version__,
                     "python": platform.python_version()},
    }


def write_metrics(path, results, history, ranks):
    """Write metrics_record(...) as sorted, indented JSON (atomically); returns path."""
    import json

    from nnkernels._io import atomic_output
    record = metrics_record(results, history, ranks)
    with atomic_output(path, text=True) as f:
        f.write(json.dumps(record, indent=2, sort_keys=True) + "\n")
    return path


def default_output(model, dataset):
    stamp = time.strftime("%Y%m%d-%H%M%S")
    base = Path("runs") / f"{model}-{dataset}-{stamp}"
    out, i = base, 2
    while out.exists():
        out, i = Path(f"{base}-{i}"), i + 1
    return out

