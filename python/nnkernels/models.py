"""The talk's two MNIST models, built and compiled in one call, and their training
recipe (train_mnist: what ``nnkernels train`` runs)."""
from nnkernels.callbacks import TIMING_LOGS
from nnkernels.layers import Dense
from nnkernels.model import Sequential
from nnkernels.optimizers import RMSProp


def mnist_classifier(*, lr=1e-3, dtype="float32", seed=None, optimizer=None):
    """784 -> Dense 250 ReLU -> Dense 100 ReLU -> Dense 10, softmax cross-entropy.

    Glorot-normal weights, zero biases, RMSProp (PyTorch's epsilon placement,
    rho=0.9) unless `optimizer` is given. A fixed `seed` gives the same weights every
    run.
    """
    sizes = [(784, 250, "relu"), (250, 100, "relu"), (100, 10, None)]
    return _build(sizes, "softmax_cross_entropy", lr, dtype, seed, optimizer)


def mnist_autoencoder(*, lr=1e-3, dtype="float32", seed=None, optimizer=None):
    """784 -> 250 ReLU -> 50 ReLU -> 250 ReLU -> 784 sigmoid, mean squared error."""
    sizes = [(784, 250, "relu"), (250, 50, "relu"), (50, 250, "relu"), (250, 784, "sigmoid")]
    return _build(sizes, "mse", lr, dtype, seed, optimizer)


def _build(sizes, loss, lr, dtype, seed, optimizer):
    import numpy as np
    rng = np.random.default_rng(seed)
    layers = [Dense(i, o, activation=a, dtype=dtype, seed=rng) for i, o, a in sizes]
    model = Sequential(layers)
    model.compile(optimizer if optimizer is not None else RMSProp(lr=lr), loss)
    return model


# -- the talk's recipe ------------------------------------------------------------------

#: Recommended training settings of each model; ``train_mnist`` and the command line's
#: ``nnkernels train`` take every setting not given from here.
TRAIN_DEFAULTS = {
    # 10 epochs, cosine from 2e-3 to 2e-5, L2 1e-4: the best 10-epoch setting of the
    # grid in bench/tune_defaults.py on the validation split (mean validation accuracy
    # 98.62 % over seeds 0-1; 20 epochs gained 0.05 points, noise). Test figures: README.
    "classifier": {
        "epochs": 10,
        "batch_size": 100,
        "lr": 2e-3,
        "lr_schedule": "cosine",
        "optimizer": "rmsprop",
        "weight_decay": 1e-4,
    },
    # 10 epochs, cosine from 1e-3 to 1e-5.
    "autoencoder": {
        "epochs": 10,
        "batch_size": 100,
        "lr": 1e-3,
        "lr_schedule": "cosine",
        "optimizer": "rmsprop",
        "weight_decay": 0.0,
    },
}

OPTIMIZERS = ("rmsprop", "rmsprop-gorgonia", "sgd", "adam")
LR_SCHEDULES = ("constant", "cosine", "step")

#: Cosine decay ends at lr / COSINE_FINAL_DIVISOR; step decay multiplies the learning
#: rate by STEP_FACTOR every STEP_EVERY epochs.
COSINE_FINAL_DIVISOR = 100
STEP_FACTOR, STEP_EVERY = 0.5, 5

#: Training images held out for validation: the last VALIDATION_SIZE of the training
#: set (as Keras' validation_split takes the last ones), at most a tenth of it.
VALIDATION_SIZE = 5000


def make_optimizer(name, lr, weight_decay=0.0):
    """The optimizer called `name` (one of OPTIMIZERS) with this learning rate and L2."""
    from nnkernels.optimizers import SGD, Adam, RMSProp
    if name == "rmsprop":
        return RMSProp(lr=lr, weight_decay=weight_decay)
    if name == "rmsprop-gorgonia":
        return RMSProp.gorgonia(lr=lr, weight_decay=weight_decay)
    if name == "sgd":
        return SGD(lr=lr, weight_decay=weight_decay)
    if name == "adam":
        return Adam(lr=lr, weight_decay=weight_decay)
    raise ValueError(f"optimizer must be one of {', '.join(OPTIMIZERS)}; got {name!r}")


def lr_scheduler(schedule, lr, epochs):
    """(LearningRateScheduler or None, description, final lr) of a schedule name."""
    from nnkernels.callbacks import LearningRateScheduler, cosine_decay, step_decay
    if schedule == "constant":
        return None, "constant", lr
    if schedule == "cosine":
        final = lr / COSINE_FINAL_DIVISOR
        return (LearningRateScheduler(cosine_decay(lr, epochs, final_lr=final)),
                f"cosine decay to {final:g}", final)
    if schedule == "step":
        fn = step_decay(lr, factor=STEP_FACTOR, every=STEP_EVERY)
        return (LearningRateScheduler(fn), f"x{STEP_FACTOR:g} every {STEP_EVERY} epochs",
                fn(epochs - 1, lr))
    raise ValueError(f"lr_schedule must be one of {', '.join(LR_SCHEDULES)}; got {schedule!r}")


def validation_split(n, size=VALIDATION_SIZE):
    """How many of n training images to hold out: `size`, at most n // 10."""
    return min(size, n // 10)


def train_mnist(kind, *, dataset="mnist", data=None, download=True, arrays=None,
                seed=None, dtype="float32", limit=None, validation_size=VALIDATION_SIZE,
                callbacks=(), verbose=1, distributed=False, checkpoint=None,
                checkpoint_every=1, resume=None, **overrides):
    """Train the talk's classifier or autoencoder with the recommended settings.

    The last ``validation_split(n)`` training images (5,000 of MNIST's 60,000) are
    held out and monitor training (``val_*`` in the history); the test set is used
    once, at the end. What ``nnkernels train`` runs, option for option.

    Parameters
    ----------
    kind : "classifier" or "autoencoder"
    dataset : "mnist" or "fashion-mnist"; data, download : as for datasets.load_mnist
    arrays : ((x_train, y_train), (x_test, y_test)) already loaded, optional
    seed : int or None (None: a random seed, reported in the results)
    dtype : "float32" or "float64"
    limit : int, optional: train on the first `limit` training images only
    callbacks : more Callbacks for fit
    distributed : as for Sequential.fit (True: data-parallel over the MPI ranks; the
        seed is rank 0's, and every rank ends with the same model)
    checkpoint : path, optional
        Save a :class:`~nnkernels.callbacks.ModelCheckpoint` there every
        `checkpoint_every` epochs and when training is interrupted (Ctrl-C, SIGTERM).
    resume : path, optional
        A checkpoint to continue from: its settings, seed and position are used, and
        the run ends with the bits of the uninterrupted one. Settings given here must
        agree with the checkpoint's, except `epochs` (a longer run; the learning-rate
        schedule then follows the new count). Not with `distributed`.
    **overrides : epochs, batch_size, lr, lr_schedule, optimizer, weight_decay
        (defaults: TRAIN_DEFAULTS[kind])

    Returns
    -------
    (model, history, results): results holds test_loss and test_accuracy (classifier)
    or test_mse, the validation figures of the last epoch, the settings, the seed,
    the sample counts and the training time; model.metadata holds the same and the
    history, without the timings.
    """
    import secrets
    import time

    from nnkernels import datasets
    from nnkernels.callbacks import ModelCheckpoint, resume_arguments
    if kind not in TRAIN_DEFAULTS:
        raise ValueError(f"kind must be 'classifier' or 'autoencoder'; got {kind!r}")
    unknown = set(overrides) - set(TRAIN_DEFAULTS[kind])
    if unknown:
        raise TypeError(f"train_mnist: unknown setting(s) {sorted(unknown)}; expected "
                        f"{sorted(TRAIN_DEFAULTS[kind])}")
    run = {"model": kind, "dataset": dataset, **TRAIN_DEFAULTS[kind], **overrides,
           "seed": seed, "dtype": dtype, "limit": limit, "validation_size": validation_size}
    restored, position, previous, samples = None, {}, {}, None
    if resume is not None:
        asked = {**overrides, **{k: run[k] for k, v in RESUMED.items() if run[k] != v}}
        restored, run, checkpoint_meta = resume_settings(resume, kind, **asked)
        position = resume_arguments(checkpoint_meta)
        previous = checkpoint_meta.get("history", {})
        samples = checkpoint_meta["checkpoint"].get("samples")
    settings = {key: run[key] for key in TRAIN_DEFAULTS[kind]}
    seed = run["seed"] if run["seed"] is not None else secrets.randbelow(2 ** 31)
    dataset, dtype, limit = run["dataset"], run["dtype"], run["limit"]
    if distributed:
        from nnkernels.distributed import communicator
        distributed = communicator(distributed)
        seed = distributed.agree_seed(seed)
    loader = {"mnist": datasets.load_mnist,
              "fashion-mnist": datasets.load_fashion_mnist}.get(dataset)
    if loader is None:
        raise ValueError(f"dataset must be 'mnist' or 'fashion-mnist'; got {dataset!r}")
    (x, y), (x_test, y_test) = arrays if arrays is not None else loader(data,
                                                                        download=download)
    if limit is not None:
        x, y = x[:limit], y[:limit]
    n_val = validation_split(len(x), run["validation_size"])
    x_train, x_val = x[:len(x) - n_val], x[len(x) - n_val:]
    y_train, y_val = y[:len(y) - n_val], y[len(y) - n_val:]
    if resume is not None and samples != len(x_train):
        raise ValueError(f"{resume}: the checkpoint was trained on {samples} images; "
                         f"this data set gives {len(x_train)}")
    classifier = kind == "classifier"
    build = mnist_classifier if classifier else mnist_autoencoder
    model = restored if restored is not None else build(
        dtype=dtype, seed=seed, optimizer=make_optimizer(
            settings["optimizer"], settings["lr"], settings["weight_decay"]))
    model.metadata = {**run, "seed": seed}  # what a checkpoint needs to resume
    scheduler, _, _ = lr_scheduler(settings["lr_schedule"], settings["lr"],
                                   settings["epochs"])
    saver = [ModelCheckpoint(checkpoint, every=checkpoint_every, history=previous)
             ] if checkpoint is not None else []
    started = time.perf_counter()
    history = model.fit(
        x_train, y_train if classifier else x_train, epochs=settings["epochs"],
        batch_size=settings["batch_size"], seed=position.get("seed", seed),
        verbose=verbose, distributed=distributed,
        initial_epoch=position.get("initial_epoch", 0),
        initial_step=position.get("initial_step", 0),
        validation_data=((x_val, y_val if classifier else x_val) if n_val else None),
        callbacks=[*([scheduler] if scheduler else []), *saver, *callbacks])
    train_seconds = time.perf_counter() - started
    _prepend_history(history, previous, position.get("initial_epoch", 0))
    test = model.evaluate(x_test, y_test if classifier else x_test)
    results = {"model": kind, "dataset": dataset, **settings, "seed": seed,
               "dtype": dtype, "limit": limit, "train_samples": len(x_train),
               "validation_samples": n_val, "epochs_completed": len(history.epoch),
               "interrupted": history.interrupted, "final_lr": model.optimizer.lr,
               "train_seconds": train_seconds}
    if resume is not None:
        results["resumed_from_epoch"] = position["initial_epoch"]
    for key in ("val_loss", "val_accuracy"):
        if history.history.get(key):
            results[key] = history.history[key][-1]
    results.update({"test_loss": test["loss"], "test_accuracy": test["accuracy"]}
                   if classifier else {"test_mse": test["loss"]})
    # The model file holds no timings: the same data, seed and thread count give the
    # same bytes.
    model.metadata = {**{k: v for k, v in results.items() if k != "train_seconds"},
                      "validation_size": run["validation_size"],
                      "history": {key: [float(v) for v in values]
                                  for key, values in history.history.items()
                                  if key not in TIMING_LOGS}}
    return model, history, results


#: train_mnist's settings besides TRAIN_DEFAULTS' that a checkpoint records, with their
#: defaults.
RESUMED = {"dataset": "mnist", "seed": None, "dtype": "float32", "limit": None,
           "validation_size": VALIDATION_SIZE}


def resume_settings(path, kind, **asked):
    """What continuing train_mnist's checkpoint at `path` takes: (model, settings,
    metadata). `asked` are settings given explicitly; each must agree with the
    checkpoint's (ValueError naming it), except `epochs` (a longer or shorter run).

    settings : the checkpoint's 'model', TRAIN_DEFAULTS keys and RESUMED keys
    metadata : the file's caller metadata (its 'checkpoint' position and 'history')
    """
    from nnkernels.callbacks import resume_arguments
    from nnkernels.formats.model_file import load
    model, meta = load(path, with_metadata=True)
    resume_arguments(meta)  # a ModelCheckpoint's file, or ValueError
    saved = model.metadata
    if saved.get("model") != kind:
        raise ValueError(f"{path}: not a checkpoint of train_mnist's {kind} (its model is "
                         f"{saved.get('model')!r})")
    settings = {"model": kind}
    for key in (*TRAIN_DEFAULTS[kind], *RESUMED):
        if key not in saved:
            raise ValueError(f"{path}: the checkpoint does not record its '{key}'")
        settings[key] = saved[key]
        if key in asked and asked[key] != saved[key]:
            if key != "epochs":
                raise ValueError(f"{path}: the checkpoint was trained with {key}="
                                 f"{saved[key]!r}; got {key}={asked[key]!r} (leave it out "
                                 f"to resume)")
            settings[key] = asked[key]
    return model, settings, meta


def _prepend_history(history, previous, initial_epoch):
    """Put the epochs before `initial_epoch` (a checkpoint's history) in front."""
    if not initial_epoch or not previous:
        return
    for key, values in previous.items():
        history.history[key] = list(values[:initial_epoch]) + history.history.get(key, [])
    history.epoch = list(range(initial_epoch)) + history.epoch
