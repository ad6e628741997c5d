"""Training the talk's models by the recipe: :func:`train` runs one resolved
:class:`~nnkernels.recipe.settings.RunSettings`; :func:`train_mnist` resolves and runs
in one call (what ``nnkernels train`` runs, option for option)."""
import contextlib
import time

from nnkernels import datasets
from nnkernels._threads import num_threads
from nnkernels.callbacks import TIMING_LOGS
from nnkernels.checkpoints import ModelCheckpoint
from nnkernels.distributed import communicator
from nnkernels.recipe.architectures import build
from nnkernels.recipe.settings import lr_scheduler, resolve_run


def train_mnist(kind, *, dataset=None, data=None, download=True, arrays=None, seed=None,
                dtype=None, limit=None, validation_size=None, threads=None, callbacks=(),
                verbose=1, distributed=False, checkpoint=None, checkpoint_every=None,
                resume=None, **overrides):
    """Train the talk's classifier or autoencoder with the recommended settings.

    The last ``validation_split(n)`` training images (5,000 of MNIST's 60,000) are
    held out and monitor training (``val_*`` in the history); the test set is used
    once, at the end. What ``nnkernels train`` runs, option for option: both resolve
    the run with :func:`~nnkernels.recipe.settings.resolve_run`.

    Parameters
    ----------
    kind : "classifier" or "autoencoder"
    dataset : "mnist" (default) or "fashion-mnist"; data, download : as for
        datasets.load_mnist
    arrays : ((x_train, y_train), (x_test, y_test)) already loaded, optional
    seed : int or None (None: a random seed, reported in the results)
    dtype : "float32" (default) or "float64"
    limit : int, optional: train on the first `limit` training images only
    validation_size : int, default 5000: the most images held out
    threads : int, optional: the thread count of the run (default: the process's; a
        resumed run's is its checkpoint's, a data-parallel run's the cores per rank)
    callbacks : more Callbacks for fit
    distributed : as for Sequential.fit (True: data-parallel over the MPI ranks; the
        seed is rank 0's, and every rank ends with the same model)
    checkpoint : path, optional
        Save a :class:`~nnkernels.checkpoints.ModelCheckpoint` there every
        `checkpoint_every` epochs (default 1, or the resumed checkpoint's) and when
        training is interrupted (Ctrl-C, SIGTERM).
    resume : path, optional
        A checkpoint to continue from: its settings, seed, thread count and position
        are used, and the run ends with the bits of the uninterrupted one. Settings
        given here must agree with the checkpoint's, except `epochs` (a longer run;
        the learning-rate schedule then follows the new count). Not with `distributed`.
    **overrides : epochs, batch_size, lr, lr_schedule, optimizer, weight_decay
        (defaults: TRAIN_DEFAULTS[kind])

    Returns
    -------
    (model, history, results): results holds test_loss and test_accuracy (classifier)
    or test_mse, the validation figures of the last epoch, the settings, the seed,
    the sample counts and the training time; model.metadata holds the same and the
    history, without the timings.
    """
    comm = communicator(distributed) if distributed else None
    settings = resolve_run(kind, resume=resume, seed=seed, threads=threads,
                           checkpoint_every=checkpoint_every, comm=comm, dataset=dataset,
                           dtype=dtype, limit=limit, validation_size=validation_size,
                           **overrides)
    if arrays is None:
        arrays = datasets.load(settings.dataset, data, download=download)
    return train(settings, arrays, callbacks=callbacks, verbose=verbose, comm=comm,
                 checkpoint=checkpoint)


def train(settings, arrays, *, callbacks=(), verbose=1, comm=None, checkpoint=None):
    """Run `settings` (a RunSettings) on arrays ((x_train, y_train), (x_test, y_test));
    returns (model, history, results) as train_mnist does."""
    with (num_threads(settings.threads) if settings.threads is not None
          else contextlib.nullcontext()):
        return _train(settings, arrays, callbacks, verbose, comm, checkpoint)


def _train(settings, arrays, callbacks, verbose, comm, checkpoint):
    (x, y), (x_test, y_test) = arrays
    n_train, n_val = settings.holdout(len(x))
    x_train, x_val = x[:n_train], x[n_train:n_train + n_val]
    y_train, y_val = y[:n_train], y[n_train:n_train + n_val]
    if settings.resume is not None and settings.samples != n_train:
        raise ValueError(f"{settings.resume}: the checkpoint was trained on "
                         f"{settings.samples} images; this data set gives {n_train}")
    classifier = settings.model == "classifier"
    model = settings.restored if settings.restored is not None else build(
        settings.model, lr=settings.lr, dtype=settings.dtype, seed=settings.seed,
        optimizer=settings.make_optimizer())
    model.metadata = settings.record()  # what a checkpoint needs to resume
    scheduler, _, _ = lr_scheduler(settings.lr_schedule, settings.lr, settings.epochs)
    saver = [ModelCheckpoint(checkpoint, every=settings.checkpoint_every or 1,
                             history=settings.history)] if checkpoint is not None else []
    started = time.perf_counter()
    history = model.fit(
        x_train, y_train if classifier else x_train, epochs=settings.epochs,
        batch_size=settings.batch_size, seed=settings.shuffle_seed, verbose=verbose,
        distributed=comm if comm is not None else False,
        initial_epoch=settings.initial_epoch, initial_step=settings.initial_step,
        validation_data=((x_val, y_val if classifier else x_val) if n_val else None),
        callbacks=[*([scheduler] if scheduler else []), *saver, *callbacks])
    train_seconds = time.perf_counter() - started
    _prepend_history(history, settings.history, settings.initial_epoch)
    test = model.evaluate(x_test, y_test if classifier else x_test)
    results = {"model": settings.model, "dataset": settings.dataset,
               **settings.hyperparameters(), "seed": settings.seed, "dtype": settings.dtype,
               "limit": settings.limit, "train_samples": n_train, "validation_samples": n_val,
               "epochs_completed": len(history.epoch), "interrupted": history.interrupted,
               "final_lr": model.optimizer.lr, "train_seconds": train_seconds}
    if settings.resume is not None:
        results["resumed_from_epoch"] = settings.initial_epoch
    for key in ("val_loss", "val_accuracy"):
        if history.history.get(key):
            results[key] = history.history[key][-1]
    results.update({"test_loss": test["loss"], "test_accuracy": test["accuracy"]}
                   if classifier else {"test_mse": test["loss"]})
    # The model file holds no timings: the same data, seed and thread count give the
    # same bytes.
    model.metadata = {**{k: v for k, v in results.items() if k != "train_seconds"},
                      "validation_size": settings.validation_size,
                      "history": {key: [float(v) for v in values]
                                  for key, values in history.history.items()
                                  if key not in TIMING_LOGS}}
    return model, history, results


def _prepend_history(history, previous, initial_epoch):
    """Put the epochs before `initial_epoch` (a checkpoint's history) in front."""
    if not initial_epoch or not previous:
        return
    for key, values in previous.items():
        history.history[key] = list(values[:initial_epoch]) + history.history.get(key, [])
    history.epoch = list(range(initial_epoch)) + history.epoch
