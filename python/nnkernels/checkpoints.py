"""Checkpoints of a training run: :class:`ModelCheckpoint` saves the model, its
optimizer state and its position in the run; :func:`resume_arguments` reads that
position back as the arguments of the fit that continues bit for bit.

A checkpoint is an ordinary model file (:func:`nnkernels.save`); its caller metadata
holds 'checkpoint' (the position, :data:`POSITION_KEYS` and more) and 'history'.
"""
import os

from nnkernels._checks import positive_int
from nnkernels._threads import get_num_threads
from nnkernels.callbacks import TIMING_LOGS, Callback
from nnkernels.formats.model_file import load, save

#: What resume_arguments needs from a checkpoint's 'checkpoint' metadata.
POSITION_KEYS = ("epochs", "batch_size", "seed", "shuffle", "epochs_completed",
                 "steps_into_epoch")


class ModelCheckpoint(Callback):
    """Save the model, its optimizer state and its training position to `path`
    every `every` epochs, and when training is interrupted (Ctrl-C, SIGTERM: the
    weights of the last completed step).

    The file is an ordinary model file (nnkernels.load reads it); its metadata
    (``load(path, with_metadata=True)``) holds 'checkpoint' (epochs_completed,
    steps_into_epoch, epochs, batch_size, samples, seed, shuffle, every, threads,
    interrupted) and 'history' (the logs of the epochs so far). :func:`resume_arguments`
    turns it into the arguments of the fit that continues bit for bit (on the same
    number of threads: products split across threads round differently).

    Parameters
    ----------
    path : str or os.PathLike
    every : int >= 1, epochs between saves
    history : dict of str -> list, optional
        The 'history' of the checkpoint a fit resumes from (kept up to its
        initial_epoch), so that later checkpoints hold the whole run's.
    """

    root_only = True

    def __init__(self, path, every=1, history=None):
        self.path = os.fspath(path)
        self.every = positive_int("ModelCheckpoint", "every", every)
        self.initial_history = history or {}

    def on_train_begin(self, logs):
        self.params = dict(logs)
        first = logs.get("initial_epoch", 0)
        self.history = {k: list(v[:first]) for k, v in self.initial_history.items()}

    def on_epoch_end(self, epoch, logs):
        for key, value in logs.items():
            self.history.setdefault(key, []).append(value)
        if (epoch + 1) % self.every == 0:
            self._save(epoch + 1, 0, False)

    def on_train_end(self, logs):
        if logs.get("interrupted"):
            self._save(logs["epochs_completed"], logs["steps_into_epoch"], True)

    def _save(self, epochs_completed, steps, interrupted):
        p = self.params
        position = {"epochs_completed": epochs_completed, "steps_into_epoch": steps,
                    "epochs": p["epochs"], "batch_size": p["batch_size"],
                    "samples": p["samples"], "seed": p["seed"], "shuffle": p["shuffle"],
                    "every": self.every, "threads": get_num_threads(),
                    "interrupted": interrupted}
        history = {k: [float(v) for v in values] for k, values in self.history.items()
                   if k not in TIMING_LOGS}
        save(self.model, self.path, metadata={"checkpoint": position, "history": history})


def resume_arguments(metadata):
    """The keyword arguments of the ``fit`` that continues the run a
    :class:`ModelCheckpoint` saved: epochs, batch_size, seed, shuffle, initial_epoch,
    initial_step (with the same data, callbacks and learning-rate schedule, the
    result is bit for bit that of the uninterrupted run).

    Parameters
    ----------
    metadata : dict, the second value of ``nnkernels.load(path, with_metadata=True)``
    """
    position = metadata.get("checkpoint") if isinstance(metadata, dict) else None
    if not isinstance(position, dict) or any(k not in position for k in POSITION_KEYS):
        raise ValueError("resume_arguments: the file is not a ModelCheckpoint (no "
                         "'checkpoint' with " + ", ".join(POSITION_KEYS) + " in its "
                         "metadata)")
    return {"epochs": position["epochs"], "batch_size": position["batch_size"],
            "seed": position["seed"], "shuffle": position["shuffle"],
            "initial_epoch": position["epochs_completed"],
            "initial_step": position["steps_into_epoch"]}


def read_checkpoint(path):
    """(model, metadata) of the checkpoint at `path`, read once: the model with its
    optimizer state, and the caller metadata whose 'checkpoint' resume_arguments reads
    (ValueError if it has none; ModelFileError for a bad file)."""
    model, metadata = load(path, with_metadata=True)
    resume_arguments(metadata)
    return model, metadata
