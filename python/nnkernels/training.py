"""The training loop behind Sequential.fit: batches, the steps of an epoch, callbacks,
the NaN stop and Ctrl-C."""
import math
import sys
import time

import numpy as np

from nnkernels._random import draw_seed
from nnkernels._signals import signal_name as _signal_name, stop_signals as _stop_signals
from nnkernels.callbacks import History, ProgressBar
from nnkernels.errors import NonFiniteLossError

__all__ = ["History", "NonFiniteLossError", "fit_loop"]


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

    def skip_epochs(self, epochs):
        """Draw the orders of `epochs` epochs without training them (a resumed fit
        continues with the order an uninterrupted one would have used)."""
        for _ in range(epochs):
            self.next_order()

    def epoch(self, first_step=0, stop=None):
        """Yields (step, x batch, y batch) from `first_step` on, until `stop['hit']`."""
        order = self.next_order()
        if order is not None and self.x_buf is None:
            self.x_buf = np.empty((self.rows,) + self.x.shape[1:], self.x.dtype)
            self.y_buf = (self.x_buf if self.y is self.x else
                          np.empty((self.rows,) + self.y.shape[1:], self.y.dtype))
        for step in range(first_step, self.steps):
            if stop is not None and stop["hit"]:
                return
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


def _layer_steps(model, batches, first_step=0, stop=None):
    """One epoch layer by layer, from `first_step` until stop['hit']: yields (step,
    rows, loss, correct) after each step."""
    for step, xb, yb in batches.epoch(first_step, stop):
        loss = model.train_step(xb, yb)
        yield step, xb.shape[0], loss, model.loss.correct(model.last_output, yb)


# The plan runs this many seconds of steps per call (callbacks, the progress line and
# Ctrl-C are served between calls); the first call of a fit runs FIRST_CHUNK steps.
CHUNK_SECONDS = 0.05
FIRST_CHUNK = 4


def _plan_steps(run, batches, chunk, first_step=0, stop=None):
    """One epoch by the compiled plan, in chunks of steps; yields as _layer_steps.
    `chunk` is a one-element list: the chunk size, adapted to CHUNK_SECONDS."""
    order = batches.next_order()
    step = first_step
    while step < batches.steps and not (stop is not None and stop["hit"]):
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
             callbacks, verbose, comm=None, initial_epoch=0, initial_step=0):
    """Run epochs [initial_epoch, epochs); see Sequential.fit. x, y are already checked
    and converted. The first epoch starts at step `initial_step` (a resumed fit).
    comm: a distributed.Communicator for data-parallel training, or None."""
    args = (model, x, y, epochs, batch_size, validation_data, shuffle, seed, callbacks,
            verbose, comm, initial_epoch, initial_step)
    if comm is None:
        return _fit_loop(*args)
    if initial_epoch or initial_step:
        raise ValueError("fit: resuming (initial_epoch, initial_step) is not supported "
                         "with distributed training")
    with comm.abort_on_error():
        return _fit_loop(*args)


def _until(stop, steps):
    """The steps of `steps` (each applied when yielded) until stop['hit']."""
    for item in steps:
        yield item
        if stop["hit"]:
            return


def _fit_loop(model, x, y, epochs, batch_size, validation_data, shuffle, seed, callbacks,
              verbose, comm, initial_epoch, initial_step):
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
    elif seed is None:  # drawn here so that a checkpoint can record it
        seed = draw_seed()
    batches = _Batches(x, y, batch_size, shuffle, np.random.default_rng(seed))
    if initial_step > batches.steps:
        raise ValueError(f"fit: 'initial_step' must be at most {batches.steps} (steps per "
                         f"epoch); got {initial_step}")
    batches.skip_epochs(initial_epoch)
    # Each generator runs an epoch's steps from `first` until stop['hit'], and yields
    # only steps it has applied: a stop takes effect between the plan's calls.
    if comm is not None:
        steps = lambda first: _until(stop, distributed.epoch_steps(  # noqa: E731
            comm, batches, shard, ctrl_c, stop))
    elif plan.uses_plan(model):
        run, chunk = plan.TrainingRun(model, x, y, batch_size), [FIRST_CHUNK]
        steps = lambda first: _plan_steps(run, batches, chunk, first, stop)  # noqa: E731
    else:
        steps = lambda first: _layer_steps(model, batches, first, stop)  # noqa: E731
    classifier = model.loss.target_kind == "labels"
    history = History()
    callbacks = [history] + ([ProgressBar()] if verbose else []) + list(callbacks)
    for cb in callbacks:
        cb.set_model(model)
    params = {"epochs": epochs, "steps": batches.steps, "batch_size": batch_size,
              "samples": batches.n, "seed": seed, "shuffle": bool(shuffle),
              "initial_epoch": initial_epoch, "initial_step": initial_step}
    for cb in callbacks:
        cb.on_train_begin(params)
    model.stop_training = False
    epoch, done = initial_epoch, initial_step  # done: steps of `epoch` applied
    with _stop_signals(ctrl_c):
        for epoch in range(initial_epoch, epochs):
            logs, batch_logs = {}, {}
            for cb in callbacks:
                cb.on_epoch_begin(epoch, logs)
            start = time.perf_counter()
            seen = correct = 0
            total_loss = 0.0
            first, done = (initial_step, initial_step) if epoch == initial_epoch else (0, 0)
            for step, m, loss, hits in steps(first):
                if not math.isfinite(loss):
                    raise NonFiniteLossError(
                        f"the training loss became {loss} at epoch {epoch + 1}, batch "
                        f"{step + 1} of {batches.steps} (learning rate "
                        f"{model.optimizer.lr:g}); lower the learning rate or check the "
                        f"input for NaN or huge values")
                done = step + 1
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
            seconds = time.perf_counter() - start
            logs.update(batch_logs)
            logs["samples_per_second"] = seen / max(seconds, 1e-9)
            logs["seconds"] = seconds
            logs["lr"] = model.optimizer.lr
            if stop["hit"] and done < batches.steps:
                history.interrupted = True
                if comm is None or comm.is_root:
                    print(f"Interrupted ({_signal_name(ctrl_c)}) at epoch {epoch + 1}/"
                          f"{epochs}, batch {done}/{batches.steps}: "
                          f"{epoch * batches.n + seen} samples trained; the model keeps "
                          f"the weights of the last completed step.", file=sys.stderr)
                break
            if validation_data is not None:
                for key, value in model.evaluate(*validation_data).items():
                    logs[f"val_{key}"] = value
            for cb in callbacks:
                cb.on_epoch_end(epoch, logs)
            epoch, done = epoch + 1, 0
            if model.stop_training or stop["hit"]:
                history.interrupted = bool(stop["hit"])
                break
    history.stopped_by = _signal_name(ctrl_c) if history.interrupted else None
    end = {"epochs_completed": epoch, "steps_into_epoch": done,
           "interrupted": history.interrupted}
    for cb in callbacks:
        cb.on_train_end(end)
    return history
