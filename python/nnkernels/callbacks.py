"""Training callbacks in the Keras mould: each hook receives a plain ``logs`` dict.

Hooks: on_train_begin(logs), on_epoch_begin(epoch, logs), on_batch_end(batch, logs),
on_epoch_end(epoch, logs), on_train_end(logs). Epochs and batches count from 0.
``logs`` at epoch end holds 'loss', 'accuracy' (classifiers), 'val_loss',
'val_accuracy' (with validation data), 'lr', 'samples_per_second', 'seconds'.
on_train_begin's holds fit's 'epochs', 'steps', 'batch_size', 'samples', 'seed',
'shuffle', 'initial_epoch', 'initial_step'; on_train_end's 'epochs_completed',
'steps_into_epoch' (of the next epoch, when interrupted) and 'interrupted'.
A callback stops training by setting ``model.stop_training = True``.
"""
import csv
import math
import os
import sys
import time

from nnkernels._checks import learning_rate
from nnkernels._io import atomic_output

#: What fit logs that depends on the machine's speed: left out of model files and
#: checkpoints, so that the same data, seed and thread count give the same bytes.
TIMING_LOGS = ("samples_per_second", "seconds")


class Callback:
    """Base class. ``root_only = True`` (callbacks that print or write files): in a
    data-parallel fit, only rank 0 runs it; the others run every other callback, so
    that schedules and early stopping act alike on every rank."""

    model = None
    root_only = False

    def set_model(self, model):
        self.model = model

    def on_train_begin(self, logs):
        pass

    def on_epoch_begin(self, epoch, logs):
        pass

    def on_batch_end(self, batch, logs):
        pass

    def on_epoch_end(self, epoch, logs):
        pass

    def on_train_end(self, logs):
        pass


class History(Callback):
    """What fit returns: ``history`` maps each logged name to its per-epoch values.

    Attributes
    ----------
    history : dict of str -> list of float
    epoch : list of int (0-based epochs completed)
    params : dict (epochs, steps, batch_size, samples)
    interrupted : bool, True if Ctrl-C or SIGTERM ended training early
    stopped_by : str or None, the signal that did ("Ctrl-C", "SIGTERM")
    """

    def __init__(self):
        self.history = {}
        self.epoch = []
        self.params = {}
        self.interrupted = False
        self.stopped_by = None

    def on_train_begin(self, logs):
        self.params = dict(logs)

    def on_epoch_end(self, epoch, logs):
        self.epoch.append(epoch)
        for key, value in logs.items():
            self.history.setdefault(key, []).append(value)

    def __repr__(self):
        last = {k: round(v[-1], 5) for k, v in self.history.items()}
        return f"History(epochs={len(self.epoch)}, last={last})"


def _format_logs(logs, keys):
    parts = []
    for key in keys:
        if key in logs:
            value = logs[key]
            parts.append(f"{key} {value:,.0f}" if key == "samples_per_second"
                         else f"{key} {value:.4f}")
    return "  ".join(parts)


class ProgressBar(Callback):
    """A live progress line (loss, accuracy, samples/s, ETA) and one line per epoch.

    Parameters
    ----------
    stream : file, default sys.stderr for the live line; epoch lines go to `stream` too
    live : bool or None
        Redraw a progress line during the epoch; None: only if the stream is a terminal.
    """

    root_only = True

    def __init__(self, stream=None, live=None, every_seconds=0.2):
        self.stream = stream or sys.stderr
        self.live = self.stream.isatty() if live is None else live
        self.every = every_seconds

    def on_train_begin(self, logs):
        self.epochs = logs["epochs"]
        self.steps = logs["steps"]

    def on_epoch_begin(self, epoch, logs):
        self.epoch = epoch
        self.start = self.last = time.perf_counter()

    def on_batch_end(self, batch, logs):
        now = time.perf_counter()
        if not self.live or (now - self.last < self.every and batch + 1 < self.steps):
            return
        self.last = now
        done = (batch + 1) / self.steps
        elapsed = now - self.start
        eta = elapsed / done - elapsed
        bar = "#" * int(30 * done)
        self.stream.write(f"\rEpoch {self.epoch + 1}/{self.epochs} [{bar:<30}] "
                          f"{batch + 1}/{self.steps}  "
                          f"{_format_logs(logs, ('loss', 'accuracy', 'samples_per_second'))}"
                          f"  ETA {eta:.0f}s ")
        self.stream.flush()

    def on_epoch_end(self, epoch, logs):
        if self.live:
            self.stream.write("\r\033[K")
        keys = ("loss", "accuracy", "val_loss", "val_accuracy", "samples_per_second")
        self.stream.write(f"Epoch {epoch + 1}/{self.epochs}  {_format_logs(logs, keys)}  "
                          f"({logs['seconds']:.1f}s)\n")
        self.stream.flush()


class CSVLogger(Callback):
    """Append one row per epoch (epoch, then every logged value) to a CSV file.

    The file is rewritten at each epoch through a temporary file, so it is never
    half-written. With ``append=True`` a resumed fit keeps the rows of the epochs
    before its initial_epoch that the file already holds.
    """

    root_only = True

    def __init__(self, path, append=False):
        self.path = os.fspath(path)
        self.append = append
        self.rows = []

    def on_train_begin(self, logs):
        self.rows = []
        first = logs.get("initial_epoch", 0)
        if self.append and first and os.path.exists(self.path):
            with open(self.path, newline="", encoding="utf-8") as f:
                self.rows = [row for row in csv.DictReader(f)
                             if row.get("epoch", "").isdigit() and int(row["epoch"]) <= first]

    def on_epoch_end(self, epoch, logs):
        self.rows.append({"epoch": epoch + 1, **logs})
        fields = list(dict.fromkeys(k for row in self.rows for k in row))
        with atomic_output(self.path, text=True) as f:
            writer = csv.DictWriter(f, fieldnames=fields)
            writer.writeheader()
            writer.writerows(self.rows)


class EarlyStopping(Callback):
    """Stop when `monitor` has not improved by `min_delta` for `patience` epochs.

    Parameters
    ----------
    monitor : str, default 'val_loss' ('loss' when there is no validation data)
    mode : 'min' or 'max' (default: 'max' for accuracies, 'min' otherwise)
    restore_best_weights : bool
        Put back the weights of the best epoch when training stops.
    """

    def __init__(self, monitor="val_loss", patience=3, min_delta=0.0, mode=None,
                 restore_best_weights=False):
        if patience < 0:
            raise ValueError(f"EarlyStopping: patience must be >= 0; got {patience!r}")
        self.monitor = monitor
        self.patience = patience
        self.min_delta = abs(min_delta)
        self.mode = mode or ("max" if "acc" in monitor else "min")
        if self.mode not in ("min", "max"):
            raise ValueError(f"EarlyStopping: mode must be 'min' or 'max'; got {mode!r}")
        self.restore_best_weights = restore_best_weights

    def on_train_begin(self, logs):
        self.best = math.inf if self.mode == "min" else -math.inf
        self.best_epoch = None
        self.best_weights = None
        self.wait = 0
        self.stopped_epoch = None

    def _improved(self, value):
        if self.mode == "min":
            return value < self.best - self.min_delta
        return value > self.best + self.min_delta

    def on_epoch_end(self, epoch, logs):
        if self.monitor not in logs:
            raise KeyError(f"EarlyStopping: '{self.monitor}' is not among the logged values "
                           f"{sorted(logs)}")
        value = logs[self.monitor]
        if self._improved(value):
            self.best, self.best_epoch, self.wait = value, epoch, 0
            if self.restore_best_weights:
                self.best_weights = self.model.get_weights()
            return
        self.wait += 1
        if self.wait > self.patience:
            self.stopped_epoch = epoch
            self.model.stop_training = True

    def on_train_end(self, logs):
        if self.restore_best_weights and self.best_weights is not None \
                and self.stopped_epoch is not None:
            self.model.set_weights(self.best_weights)


class LearningRateScheduler(Callback):
    """Set the optimizer's learning rate at the start of each epoch.

    Parameters
    ----------
    schedule : callable (epoch, lr) -> new lr, epoch counting from 0
    """

    def __init__(self, schedule):
        self.schedule = schedule

    def on_epoch_begin(self, epoch, logs):
        lr = self.schedule(epoch, self.model.optimizer.lr)
        self.model.optimizer.lr = learning_rate("LearningRateScheduler", lr)


def step_decay(initial_lr, factor=0.5, every=5):
    """lr = initial_lr * factor ** (epoch // every), for LearningRateScheduler."""
    return lambda epoch, lr: initial_lr * factor ** (epoch // every)


def cosine_decay(initial_lr, epochs, final_lr=0.0):
    """lr falls from initial_lr to final_lr along half a cosine over `epochs` epochs."""
    def schedule(epoch, lr):
        t = min(epoch, max(epochs - 1, 1)) / max(epochs - 1, 1)
        return final_lr + 0.5 * (initial_lr - final_lr) * (1 + math.cos(math.pi * t))
    return schedule
