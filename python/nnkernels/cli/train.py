"""``nnkernels train classifier|autoencoder``: parse the options, resolve the run with
:func:`nnkernels.recipe.settings.resolve_run` (as :func:`nnkernels.models.train_mnist`
does), train it with :func:`nnkernels.recipe.train.train`, and print; what is written
besides the model is in cli/_run_files.py. The workshop's tasks hang under ``train``
too (cli/workshop.py)."""
import sys
import time
from pathlib import Path

from nnkernels import callbacks, optimizers
from nnkernels._threads import get_num_threads
from nnkernels.cli import workshop
from nnkernels.cli._common import (EXIT_INTERRUPTED, EXIT_OK, CLIError, UsageError,
                                   add_data_options, err, int_at_least, load_data,
                                   non_negative_float, thread_count, threads)
from nnkernels.cli._run_files import default_output, write_metrics, write_pictures
from nnkernels.datasets import DATASETS
from nnkernels.distributed import DistributedError, communicator, launched_ranks
from nnkernels.errors import NonFiniteLossError
from nnkernels.formats.model_file import save
from nnkernels.recipe.defaults import (COSINE_FINAL_DIVISOR, LR_SCHEDULES, RUN_DEFAULTS,
                                       STEP_EVERY, STEP_FACTOR, TRAIN_DEFAULTS)
from nnkernels.recipe.settings import lr_scheduler, resolve_run
from nnkernels.recipe.train import train


def add_parser(sub):
    train_parser = sub.add_parser(
        "train", help="train the MNIST classifier or autoencoder, or a workshop model "
                      "(linear, logistic, iris)",
        description="Train a model; see 'nnkernels train MODEL --help'.")
    models = train_parser.add_subparsers(dest="model", metavar="MODEL", required=True)
    for model in TRAIN_DEFAULTS:
        _add_model_parser(models, model)
    for task in workshop.TASKS:
        workshop.add_parser(models, task)


def _add_model_parser(sub, model):
    # Options default to None ("not given"): resolve_run fills in the recipe's
    # defaults, or a resumed checkpoint's settings. The help shows the defaults.
    d = {**TRAIN_DEFAULTS[model], **RUN_DEFAULTS}
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
    p.add_argument("--epochs", type=int_at_least(1),
                   help=f"passes over the training set (default: {d['epochs']})")
    p.add_argument("--batch-size", type=int_at_least(1), metavar="N",
                   help=f"minibatch size (default: {d['batch_size']})")
    p.add_argument("--lr", type=non_negative_float,
                   help=f"(initial) learning rate (default: {d['lr']:g})")
    p.add_argument("--lr-schedule", choices=LR_SCHEDULES,
                   help=f"constant; cosine: half a cosine from lr down to "
                        f"lr/{COSINE_FINAL_DIVISOR} at the last epoch; step: lr times "
                        f"{STEP_FACTOR} every {STEP_EVERY} epochs (default: "
                        f"{d['lr_schedule']})")
    p.add_argument("--weight-decay", type=non_negative_float, metavar="L2",
                   help=f"L2 penalty added to the gradients, weight_decay * w "
                        f"(default: {d['weight_decay']:g})")
    p.add_argument("--optimizer", choices=optimizers.NAMES,
                   help=f"rmsprop: rho 0.9, eps outside the square root (PyTorch's form); "
                        f"rmsprop-gorgonia: the talk's solver, rho 0.999, eps inside; "
                        f"sgd: plain SGD; adam (default: {d['optimizer']})")
    p.add_argument("--dataset", choices=tuple(DATASETS),
                   help=f"(default: {d['dataset']})")
    add_data_options(p)
    p.add_argument("--seed", type=int_at_least(0),
                   help="seed of the initial weights and of the shuffling (default: a "
                        "random seed, printed and stored in the model's metadata)")
    p.add_argument("--threads", type=thread_count, metavar="N",
                   help="threads for the kernels and BLAS, at most the number of CPUs "
                        "(default: nnkernels' default, see 'nnkernels info')")
    p.add_argument("--dtype", choices=("float32", "float64"),
                   help="floating-point type of the weights and the computation "
                        f"(default: {d['dtype']})")
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
                   help=_CHECKPOINT_HELP)
    p.add_argument("--resume", metavar="CHECKPOINT", type=Path, help=_RESUME_HELP)
    p.set_defaults(func=run, model=model)


_CHECKPOINT_HELP = (
    "save checkpoint.safetensors in the output folder every N epochs and when training is "
    "interrupted (Ctrl-C, SIGTERM): the weights, optimizer state and training position, "
    "for --resume")
_RESUME_HELP = (
    "continue the run that wrote this checkpoint.safetensors, bit for bit as if it had "
    "not stopped; its settings are used (options given must agree with them, except "
    "--epochs), on its thread count unless --threads is given; its folder is the default "
    "output")

#: The options that are settings of the run (resolve_run's keyword arguments).
_SETTINGS = ("epochs", "batch_size", "lr", "lr_schedule", "optimizer", "weight_decay",
             "dataset", "dtype", "limit")


def run(args):
    if not args.distributed and launched_ranks() > 1:
        raise UsageError(f"started by mpiexec as {launched_ranks()} ranks without "
                         f"--distributed: each would train alone and write the same files; "
                         f"add --distributed, or run without mpiexec")
    if args.distributed and args.resume is not None:
        raise UsageError("--resume does not work with --distributed")
    comm = None
    if args.distributed:
        try:
            comm = communicator(True)
        except (ImportError, DistributedError) as error:
            raise CLIError(str(error)) from None
    try:
        settings = resolve_run(args.model, resume=args.resume, seed=args.seed,
                               threads=args.threads, checkpoint_every=args.checkpoint_every,
                               comm=comm, **{k: getattr(args, k) for k in _SETTINGS})
    except ValueError as error:
        raise CLIError(f"--resume: {error}" if args.resume is not None else str(error)) \
            from None
    with threads(settings.threads):
        if comm is None:
            return _train(args, settings, None)
        with comm.abort_on_error():  # a failing rank must not leave the others waiting
            return _train(args, settings, comm)


def _output_folder(args, settings, root):
    """The output folder (created by rank 0), and whether this run created it."""
    out = args.output if args.output is not None else (
        args.resume.parent if args.resume is not None else default_output(settings.model,
                                                                          settings.dataset))
    if out.exists() and not out.is_dir():
        raise CLIError(f"--output {out} exists and is not a folder")
    created = not out.exists()
    try:
        if root:
            out.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise CLIError(f"cannot create the output folder {out}: "
                       f"{error.strerror or error}") from None
    return out, created


def _train(args, settings, comm):
    root = comm is None or comm.is_root  # with MPI, rank 0 alone prints and writes
    say = err if root and not args.quiet else (lambda *a: None)
    started = time.perf_counter()
    data = load_data(settings.dataset, args.data, args.download,
                     quiet=args.quiet or not root)
    out, created = _output_folder(args, settings, root)
    n_train, n_val = settings.holdout(len(data[0][0]))
    _, schedule_text, _ = lr_scheduler(settings.lr_schedule, settings.lr, settings.epochs)
    title = DATASETS[settings.dataset].title
    if settings.resume is not None:
        say(f"Resuming {settings.resume} at epoch {settings.initial_epoch + 1}, batch "
            f"{settings.initial_step + 1}")
    say(f"Training the {settings.model} on {title}: {n_train} images ({n_val} more held "
        f"out for validation), {settings.epochs} epoch(s) of batch {settings.batch_size}, "
        f"{settings.optimizer} lr {settings.lr:g} ({schedule_text}), {settings.dtype}, "
        f"seed {settings.seed}, {get_num_threads()} thread(s)"
        f"{f' x {comm.size} ranks' if comm is not None else ''} -> {out}/")
    every = settings.checkpoint_every
    try:
        model, history, results = train(
            settings, data, verbose=0 if args.quiet else 1, comm=comm,
            callbacks=[callbacks.CSVLogger(out / "history.csv",
                                           append=settings.resume is not None)],
            checkpoint=out / "checkpoint.safetensors" if every else None)
    except NonFiniteLossError as error:
        if created and out.is_dir() and not any(out.iterdir()):
            out.rmdir()
        raise CLIError(f"training diverged: {error}") from None
    wall = time.perf_counter() - started
    status = EXIT_INTERRUPTED if results["interrupted"] else EXIT_OK
    if root:
        _write_and_print(model, history, results, data[1], out, title, every,
                         comm.size if comm is not None else 1, wall)
    return status


def _write_and_print(model, history, results, test_set, out, title, every, ranks, wall):
    """Rank 0: save the model, metrics.json and the pictures; print the results."""
    model.metadata.update(threads=get_num_threads(), ranks=ranks)
    model_path = out / "model.safetensors"
    save(model, model_path)
    written = [model_path, write_metrics(out / "metrics.json", results, history, ranks)]
    epochs_done = results["epochs_completed"]
    if every:
        written.append(out / "checkpoint.safetensors")
    if epochs_done:
        written.append(out / "history.csv")
    written += write_pictures(model, results, history, test_set, out, title)
    kind = results["model"]
    if results["interrupted"]:
        print(f"Training was interrupted ({history.stopped_by}) after {epochs_done} of "
              f"{results['epochs']} epoch(s); evaluated and saved the model as it was when "
              f"training stopped.")
        if every:
            print(f"Continue it with: nnkernels train {kind} --resume "
                  f"{out / 'checkpoint.safetensors'}")
        if not epochs_done:
            print("No epoch was completed: no history.csv, loss.png or accuracy.png.")
    n_test = len(test_set[0])
    if kind == "classifier":
        print(f"test accuracy {results['test_accuracy']:.4f}  test loss "
              f"{results['test_loss']:.4f}  ({n_test} test images)")
    else:
        print(f"test MSE {results['test_mse']:.6f}  ({n_test} test images)")
    print(f"wall time {wall:.1f} s (training {results['train_seconds']:.1f} s, "
          f"{epochs_done} epoch(s))")
    print(f"wrote {len(written)} files in {out}/:")
    for path in written:
        print(f"  {path}")
    sys.stdout.flush()
