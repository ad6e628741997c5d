"""The training loop behind Sequential.fit, its History and its errors."""
import math
import signal
import sys
import threading
import time
from contextlib import contextmanager

import numpy as np

from nnkernels.callbacks import Callback, ProgressBar


class NonFiniteLossError(FloatingPointError):
    """The training loss became NaN or infinite; the message names epoch and batch."""


class History(Callback):
    """What fit returns: ``history`` maps each logged name to its per-epoch values.

    Attributes
    ----------
    history : dict of str -> list of float
    epoch : list of int (0-based epochs completed)
    params : dict (epochs, steps, batch_size, samples)
    interrupted : bool, True if Ctrl-C ended training early
    """

    def __init__(self):
        self.history = {}
        self.epoch = []
        self.params = {}
        self.interrupted = False

    def on_train_begin(self, logs):
        self.params = dict(logs)

    def on_epoch_end(self, epoch, logs):
        self.epoch.append(epoch)
        for key, value in logs.items():
            self.history.setdefault(key, []).append(value)

    def __repr__(self):
        last = {k: round(v[-1], 5) for k, v in self.history.items()}
        return f"History(epochs={len(self.epoch)}, last={last})"


@contextmanager
def _ctrl_c_stops(flag):
    """During the block, Ctrl-C sets flag['hit'] (a second Ctrl-C interrupts at once)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(signum, frame):
        if flag["hit"]:
            raise KeyboardInterrupt
        flag["hit"] = True

    previous = signal.signal(signal.SIGINT, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


class _Batches:
    """Minibatches of (x, y), gathered into buffers reused across steps and epochs.

    When y is x (an autoencoder's fit(x, x)), one gather serves both: nothing
    writes into a batch. Rows are gathered with np.take(mode="clip"): the indices
    are a permutation, always in range, and mode="raise" (the default) buffers `out`
    (90 us instead of 65 us per batch of 100 MNIST rows here).
    """

    def __init__(self, x, y, batch_size, shuffle, rng):
        self.x, self.y, self.batch_size = x, y, batch_size
        self.shuffle, self.rng = shuffle, rng
        self.n = x.shape[0]
        self.rows = min(batch_size, self.n)
        self.steps = math.ceil(self.n / batch_size)
        self.order = np.arange(self.n, dtype=np.int64)
        self.x_buf = self.y_buf = None  # allocated by the first epoch() that gathers

    def next_order(self):
        """The row order of the next epoch (int64 permutation), or None unshuffled."""
        if not self.shuffle:
            return None
        self.rng.shuffle(self.order)
        return self.order

    def epoch(self):
        order = self.next_order()
        if order is not None and self.x_buf is None:
            self.x_buf = np.empty((self.rows,) + self.x.shape[1:], self.x.dtype)
            self.y_buf = (self.x_buf if self.y is self.x else
                          np.empty((self.rows,) + self.y.shape[1:], self.y.dtype))
        for step in range(self.steps):
            lo = step * self.batch_size
            hi = min(lo + self.batch_size, self.n)
            if order is None:
                yield step, self.x[lo:hi], self.y[lo:hi]
                continue
            idx = order[lo:hi]
            xb, yb = self.x_buf[:hi - lo], self.y_buf[:hi - lo]
            np.take(self.x, idx, axis=0, out=xb, mode="clip")
            if self.y is not self.x:
                np.take(self.y, idx, axis=0, out=yb, mode="clip")
            yield step, xb, yb


def _layer_steps(model, batches):
    """One epoch layer by layer: yields (step, rows, loss, correct) after each step."""
    classifier = model.loss.target_kind == "labels"
    pred_buf = np.empty(batches.rows, np.int64)
    hit_buf = np.empty(batches.rows, bool)
    for step, xb, yb in batches.epoch():
        m = xb.shape[0]
        loss = model.train_step(xb, yb)
        correct = 0
        if classifier:
            np.argmax(model.last_output, axis=1, out=pred_buf[:m])
            np.equal(pred_buf[:m], yb, out=hit_buf[:m])
            correct = int(np.count_nonzero(hit_buf[:m]))
        yield step, m, loss, correct


# The plan runs this many seconds of steps per call (callbacks, the progress line and
# Ctrl-C are served between calls); the first call of a fit runs FIRST_CHUNK steps.
CHUNK_SECONDS = 0.05
FIRST_CHUNK = 4


def _plan_steps(run, batches, chunk):
    """One epoch by the compiled plan, in chunks of steps; yields as _layer_steps.
    `chunk` is a one-element list: the chunk size, adapted to CHUNK_SECONDS."""
    order = batches.next_order()
    step = 0
    while step < batches.steps:
        n = min(chunk[0], batches.steps - step)
        start = time.perf_counter()
        done, losses, hits = run.run(order, step, n)
        seconds = time.perf_counter() - start
        if done == n:
            chunk[0] = max(1, min(4096, int(n * CHUNK_SECONDS / max(seconds, 1e-6))))
        for i in range(losses.shape[0]):
            lo = (step + i) * batches.batch_size
            yield step + i, min(batches.batch_size, batches.n - lo), float(losses[i]), \
                int(hits[i])
        step += n


def fit_loop(model, x, y, *, epochs, batch_size, validation_data, shuffle, seed,
             callbacks, verbose, comm=None):
    """Run the epochs; see Sequential.fit. x, y are already checked and converted.
    comm: a distributed.Communicator for data-parallel training, or None."""
    if comm is None:
        return _fit_loop(model, x, y, epochs, batch_size, validation_data, shuffle, seed,
                         callbacks, verbose, None)
    with comm.abort_on_error():
        return _fit_loop(model, x, y, epochs, batch_size, validation_data, shuffle, seed,
                         callbacks, verbose, comm)


def _fit_loop(model, x, y, epochs, batch_size, validation_data, shuffle, seed, callbacks,
              verbose, comm):
    from nnkernels import distributed, plan

    ctrl_c = {"hit": False}
    stop = ctrl_c  # the flag that ends the epoch: with MPI, set when any rank saw Ctrl-C
    if comm is not None:
        seed, shard = distributed.prepare(comm, model, x, y, batch_size, epochs, shuffle,
                                          seed)
        stop = {"hit": False}
        if not comm.is_root:
            verbose = 0
            callbacks = [cb for cb in callbacks if not cb.root_only]
    batches = _Batches(x, y, batch_size, shuffle, np.random.default_rng(seed))
    if comm is not None:
        steps = lambda: distributed.epoch_steps(comm, batches, shard, ctrl_c,  # noqa: E731
                                                stop)
    elif plan.uses_plan(model):
        run, chunk = plan.TrainingRun(model, x, y, batch_size), [FIRST_CHUNK]
        steps = lambda: _plan_steps(run, batches, chunk)  # noqa: E731
    else:
        steps = lambda: _layer_steps(model, batches)  # noqa: E731
    classifier = model.loss.target_kind == "labels"
    history = History()
    callbacks = [history] + ([ProgressBar()] if verbose else []) + list(callbacks)
    for cb in callbacks:
        cb.set_model(model)
    params = {"epochs": epochs, "steps": batches.steps, "batch_size": batch_size,
              "samples": batches.n}
    for cb in callbacks:
        cb.on_train_begin(params)
    model.stop_training = False
    epoch = step = 0
    with _ctrl_c_stops(ctrl_c):
        for epoch in range(epochs):
            logs = {}
            for cb in callbacks:
                cb.on_epoch_begin(epoch, logs)
            start = time.perf_counter()
            seen = correct = 0
            total_loss = 0.0
            for step, m, loss, hits in steps():
                if not math.isfinite(loss):
                    raise NonFiniteLossError(
                        f"the training loss became {loss} at epoch {epoch + 1}, batch "
                        f"{step + 1} of {batches.steps} (learning rate "
                        f"{model.optimizer.lr:g}); lower the learning rate or check the "
                        f"input for NaN or huge values")
                seen += m
                total_loss += loss * m
                batch_logs = {"loss": total_loss / seen}
                if classifier:
                    correct += hits
                    batch_logs["accuracy"] = correct / seen
                batch_logs["samples_per_second"] = seen / max(time.perf_counter() - start,
                                                              1e-9)
                for cb in callbacks:
                    cb.on_batch_end(step, batch_logs)
                if stop["hit"]:
                    break
            seconds = time.perf_counter() - start
            logs.update(batch_logs)
            logs["samples_per_second"] = seen / seconds
            logs["seconds"] = seconds
            logs["lr"] = model.optimizer.lr
            if stop["hit"]:
                history.interrupted = True
                if comm is None or comm.is_root:
                    print(f"Interrupted (Ctrl-C) at epoch {epoch + 1}/{epochs}, batch "
                          f"{step + 1}/{batches.steps}: {epoch * batches.n + seen} samples "
                          f"trained; the model keeps the weights of the last completed "
                          f"step.", file=sys.stderr)
                break
            if validation_data is not None:
                for key, value in model.evaluate(*validation_data).items():
                    logs[f"val_{key}"] = value
            for cb in callbacks:
                cb.on_epoch_end(epoch, logs)
            if model.stop_training:
                break
    for cb in callbacks:
        cb.on_train_end({})
    return history
