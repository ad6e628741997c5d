"""The run resolved once: :func:`resolve_run` turns the recipe's defaults, the options
given and a checkpoint into one :class:`RunSettings`. The command line and a Python
caller of ``train_mnist`` go through it alike, so that the same options give the same
run, bit for bit: the seed is drawn here once, the checkpoint read here once, and the
thread count of a resumed or data-parallel run decided here."""
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from nnkernels import optimizers
from nnkernels._checks import (float_dtype, hyperparameter, invalid, learning_rate,
                               positive_int, thread_count)
from nnkernels._random import draw_seed
from nnkernels.callbacks import LearningRateScheduler, cosine_decay, step_decay
from nnkernels.checkpoints import read_checkpoint, resume_arguments
from nnkernels.datasets import DATASETS
from nnkernels.recipe.defaults import (COSINE_FINAL_DIVISOR, LR_SCHEDULES, RUN_DEFAULTS,
                                       STEP_EVERY, STEP_FACTOR, TRAIN_DEFAULTS)


@dataclass(frozen=True)
class RunSettings:
    """Every setting of one run of the recipe, decided.

    model, dataset, epochs, batch_size, lr, lr_schedule, optimizer, weight_decay,
    seed, dtype, limit, validation_size : as for ``train_mnist``
    threads : int or None, the thread count of the run (None: the process's)
    checkpoint_every : int or None, epochs between checkpoints (given, or the resumed
        checkpoint's)
    resume : Path or None, the checkpoint the run continues
    initial_epoch, initial_step, shuffle_seed : where fit starts, and the seed of its
        shuffling (the checkpoint's; `seed` for a fresh run)
    history : dict, the checkpoint's history of the epochs before initial_epoch
    samples : int or None, the training images the checkpoint was trained on
    restored : the checkpoint's model (with its optimizer state), or None
    """

    model: str
    dataset: str
    epochs: int
    batch_size: int
    lr: float
    lr_schedule: str
    optimizer: str
    weight_decay: float
    seed: int
    dtype: str
    limit: Any
    validation_size: int
    threads: Any = None
    checkpoint_every: Any = None
    resume: Any = None
    initial_epoch: int = 0
    initial_step: int = 0
    shuffle_seed: Any = None
    history: dict = field(default_factory=dict, repr=False)
    samples: Any = None
    restored: Any = field(default=None, repr=False, compare=False)

    def hyperparameters(self):
        """The TRAIN_DEFAULTS settings of the run: epochs, batch_size, lr, ..."""
        return {key: getattr(self, key) for key in TRAIN_DEFAULTS[self.model]}

    def record(self):
        """What a model file and a checkpoint record of the run, to resume it."""
        return {"model": self.model, "dataset": self.dataset, **self.hyperparameters(),
                "seed": self.seed, "dtype": self.dtype, "limit": self.limit,
                "validation_size": self.validation_size}

    def holdout(self, n):
        """(training, validation) image counts of a training set of n images: the first
        `limit` of them, of which the last validation_size (at most a tenth) are held
        out."""
        n = min(n, self.limit) if self.limit is not None else n
        n_val = validation_split(n, self.validation_size)
        return n - n_val, n_val

    def make_optimizer(self):
        return optimizers.get(self.optimizer, lr=self.lr, weight_decay=self.weight_decay)


def validation_split(n, size=RUN_DEFAULTS["validation_size"]):
    """How many of n training images to hold out: `size`, at most n // 10."""
    return min(size, n // 10)


def lr_scheduler(schedule, lr, epochs):
    """(LearningRateScheduler or None, description, final lr) of a schedule name."""
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


def _checked(kind, options):
    """`options` (the run's settings, without None) checked: ValueError naming one."""
    owner = "train_mnist"
    checks = {
        "epochs": lambda v: positive_int(owner, "epochs", v),
        "batch_size": lambda v: positive_int(owner, "batch_size", v),
        "lr": lambda v: learning_rate(owner, v),
        "weight_decay": lambda v: hyperparameter(owner, "weight_decay", v, low=0),
        "limit": lambda v: positive_int(owner, "limit", v),
        "validation_size": lambda v: positive_int(owner, "validation_size", v, low=0),
        "dtype": lambda v: float_dtype(owner, v).name,
    }
    choices = {"lr_schedule": LR_SCHEDULES, "optimizer": optimizers.NAMES,
               "dataset": tuple(DATASETS)}
    checked = {}
    for key, value in options.items():
        if key in choices and value not in choices[key]:
            invalid(owner, key, f"one of {', '.join(choices[key])}", repr(value))
        checked[key] = checks[key](value) if key in checks else value
    return checked


def resolve_run(kind, *, resume=None, seed=None, threads=None, checkpoint_every=None,
                comm=None, **options):
    """The one RunSettings of a run of the recipe.

    Parameters
    ----------
    kind : "classifier" or "autoencoder"
    resume : path of a checkpoint to continue, optional. Its settings are the run's;
        options given must agree with them (ValueError naming the first that does
        not), except `epochs`. Its thread count is the run's unless `threads` is given.
    seed : int or None (None: drawn once here; the checkpoint's when resuming)
    threads : int or None; under MPI (`comm`) the default is the cores per rank
    checkpoint_every : int or None (resuming: the checkpoint's)
    comm : a distributed.Communicator, optional: the ranks agree on the seed
    **options : epochs, batch_size, lr, lr_schedule, optimizer, weight_decay (defaults:
        TRAIN_DEFAULTS[kind]), dataset, dtype, limit, validation_size (RUN_DEFAULTS);
        None means "not given"
    """
    if kind not in TRAIN_DEFAULTS:
        raise ValueError(f"kind must be 'classifier' or 'autoencoder'; got {kind!r}")
    names = (*TRAIN_DEFAULTS[kind], *RUN_DEFAULTS)
    unknown = set(options) - set(names)
    if unknown:
        raise TypeError(f"train_mnist: unknown setting(s) {sorted(unknown)}; expected "
                        f"{sorted(names)}")
    given = _checked(kind, {k: v for k, v in options.items() if v is not None})
    if seed is not None:
        given["seed"] = positive_int("train_mnist", "seed", seed, low=0)
    if threads is not None:
        threads = thread_count("train_mnist", threads)
    if checkpoint_every is not None:
        checkpoint_every = positive_int("train_mnist", "checkpoint_every", checkpoint_every)
    if resume is None:
        settings = {**TRAIN_DEFAULTS[kind], **RUN_DEFAULTS, "seed": None, **given}
        if settings["seed"] is None:
            settings["seed"] = draw_seed()
        if comm is not None:
            settings["seed"] = comm.agree_seed(settings["seed"])
            threads = threads or comm.threads_per_rank()
        return RunSettings(model=kind, **settings, threads=threads,
                           checkpoint_every=checkpoint_every, shuffle_seed=settings["seed"])
    if comm is not None:
        raise ValueError("resume: a run cannot be resumed with distributed training")
    return _resumed(kind, Path(resume), given, threads, checkpoint_every)


def _resumed(kind, path, given, threads, checkpoint_every):
    """The RunSettings that continue the checkpoint at `path`."""
    model, meta = read_checkpoint(path)
    position = resume_arguments(meta)
    saved = model.metadata
    if saved.get("model") != kind:
        raise ValueError(f"{path}: not a checkpoint of train_mnist's {kind} (its model is "
                         f"{saved.get('model')!r})")
    settings = {}
    for key in (*TRAIN_DEFAULTS[kind], *RUN_DEFAULTS, "seed"):
        if key not in saved:
            raise ValueError(f"{path}: the checkpoint does not record its '{key}'")
        settings[key] = saved[key]
        if key in given and given[key] != saved[key]:
            if key != "epochs":
                raise ValueError(f"{path}: the checkpoint was trained with {key}="
                                 f"{saved[key]!r}; got {key}={given[key]!r} (leave it out "
                                 f"to resume)")
            settings[key] = given[key]
    written = meta["checkpoint"]
    return RunSettings(
        model=kind, **settings, threads=threads or written.get("threads"),
        checkpoint_every=checkpoint_every or written.get("every"), resume=path,
        initial_epoch=position["initial_epoch"], initial_step=position["initial_step"],
        shuffle_seed=position["seed"], history=meta.get("history", {}),
        samples=written.get("samples"), restored=model)
