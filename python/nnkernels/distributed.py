"""Data-parallel training over MPI (mpi4py): the Horovod recipe.

Every rank holds the whole model and the whole training set. At the start of fit the
parameters (and the optimizer state) are broadcast from rank 0 and the shuffling seed
is agreed, so every rank draws the same row order. Each global minibatch of
``batch_size`` rows is cut into one contiguous shard per rank; each rank computes the
gradients of its shard's rows scaled by 1 / (rows of the global batch), so that the
sum over ranks is the gradient of the mean loss over the global batch (uneven and
empty shards included). That sum is taken by ONE in-place ``Allreduce`` per step over
one contiguous buffer: the model's flat gradient array with three more elements after
it (the shard's weighted loss, its correct count, and a stop flag for Ctrl-C; the
logged loss so passes through the model's dtype: float32 keeps about 7 digits); then
the optimizer runs identically on every rank. Only rank 0 prints progress and runs
the callbacks marked ``root_only`` (those that write files).

An exception on any rank ends the whole job: the rank prints what went wrong, naming
itself, and calls ``MPI_Abort`` (the other ranks would otherwise wait in the
Allreduce for ever).

Usage: ``mpiexec -n 4 python train.py`` with ``model.fit(x, y, distributed=True)``,
or ``mpiexec -n 4 nnkernels train classifier --distributed``. Needs the optional
extra: ``pip install "nnkernels[mpi]"`` (mpi4py and the mpich wheel's ``mpiexec``).
"""
import os
import secrets
import sys
import time
import traceback
from contextlib import contextmanager

import numpy as np

from nnkernels import plan as _plan

EXTRA = 'pip install "nnkernels[mpi]"'
# How long a failing rank waits between writing its error and MPI_Abort.
ABORT_GRACE_SECONDS = 0.5

# The slots after the gradients in the reduced buffer.
_LOSS, _HITS, _STOP = 0, 1, 2
_SLOTS = 3


class DistributedError(RuntimeError):
    """The MPI library does not load, or the ranks disagree about the training run."""


def _mpi():
    """mpi4py's MPI module; ImportError naming the extra when mpi4py is missing,
    DistributedError when the MPI library behind it does not load."""
    from nnkernels._extras import require
    require("mpi4py", extra="mpi", feature="distributed training")
    try:
        from mpi4py import MPI
    except (ImportError, RuntimeError) as exc:  # mpi4py found, its MPI library not
        raise DistributedError(f"distributed training: the MPI library could not be "
                               f"loaded ({exc}); {EXTRA} installs one that works (the "
                               f"mpich wheel)") from exc
    return MPI


class Communicator:
    """The ranks of a data-parallel fit.

    Parameters
    ----------
    comm : mpi4py communicator, optional (default MPI.COMM_WORLD)
    """

    def __init__(self, comm=None):
        self.MPI = _mpi()
        self.comm = self.MPI.COMM_WORLD if comm is None else comm
        self.rank = self.comm.Get_rank()
        self.size = self.comm.Get_size()

    @property
    def is_root(self):
        return self.rank == 0

    def __repr__(self):
        return f"Communicator(rank={self.rank}, size={self.size})"

    def broadcast_model(self, model):
        """Make every rank's parameters, optimizer state and step count rank 0's."""
        data = model.engine.flat(model, "data")
        self.comm.Bcast(data.array, root=0)
        if model.optimizer is not None:
            for flat in model.engine.optimizer_state(model.optimizer, model.dtype):
                self.comm.Bcast(flat.array, root=0)
            model.optimizer.iterations = self.comm.bcast(model.optimizer.iterations, root=0)

    def agree_seed(self, seed):
        """Rank 0's seed (a fresh random one if it has None), on every rank."""
        if self.is_root and seed is None:
            seed = secrets.randbelow(2 ** 63)
        return self.comm.bcast(seed, root=0)

    def check_same(self, what, value):
        """Raise DistributedError on every rank unless all ranks passed equal values."""
        values = self.comm.allgather(value)
        if any(v != values[0] for v in values):
            listing = ", ".join(f"rank {r}: {v}" for r, v in enumerate(values))
            raise DistributedError(f"distributed fit: the ranks disagree about {what} "
                                   f"({listing}); every rank must pass the same data and "
                                   f"settings")

    def parameter_checksums(self, model):
        """Every rank's float64 sum and sum of squares of its parameters, by rank."""
        data = model.engine.flat(model, "data")
        a = data.array.astype(np.float64)
        return self.comm.allgather((float(a.sum()), float(a @ a)))

    def threads_per_rank(self):
        """This machine's cores shared among the ranks running on it (at least 1)."""
        from nnkernels._threads import available_cpus
        local = self.comm.Split_type(self.MPI.COMM_TYPE_SHARED)
        try:
            return max(1, available_cpus() // local.Get_size())
        finally:
            local.Free()

    def shard(self, lo, hi):
        """This rank's contiguous part [a, b) of the global batch rows [lo, hi)."""
        m = hi - lo
        return lo + m * self.rank // self.size, lo + m * (self.rank + 1) // self.size

    @contextmanager
    def abort_on_error(self):
        """Within the block, an exception on this rank aborts every rank (after printing
        it with this rank's number). With one rank it propagates as usual."""
        try:
            yield
        except BaseException as exc:
            if self.size == 1:
                raise
            print(f"nnkernels.distributed: rank {self.rank} of {self.size} failed: "
                  f"{type(exc).__name__}: {exc}", file=sys.stderr)
            traceback.print_exc(file=sys.stderr)
            print(f"nnkernels.distributed: rank {self.rank} is aborting the job "
                  f"(MPI_Abort)", file=sys.stderr, flush=True)
            # A launcher may drop what a rank wrote just before MPI_Abort (seen with
            # MPICH's Hydra: an empty stderr, once in a CI run): let it forward first.
            time.sleep(ABORT_GRACE_SECONDS)
            self.comm.Abort(1)
            os._exit(1)  # MPICH's MPI_Abort may return before the launcher kills us


def launched_ranks():
    """The rank count an MPI launcher (MPICH's Hydra, Open MPI) gave this process, from
    its environment, without initialising MPI; 1 outside mpiexec."""
    for name in ("PMI_SIZE", "OMPI_COMM_WORLD_SIZE"):
        value = os.environ.get(name, "")
        if value.isdigit():
            return int(value)
    return 1


def communicator(distributed):
    """The Communicator meant by fit's `distributed` argument: True (COMM_WORLD), a
    Communicator or an mpi4py communicator; None for False/None."""
    if distributed is None or distributed is False:
        return None
    if distributed is True:
        return Communicator()
    if isinstance(distributed, Communicator):
        return distributed
    if hasattr(distributed, "Allreduce") and hasattr(distributed, "Get_rank"):
        return Communicator(distributed)
    raise TypeError(f"fit: 'distributed' must be True, False, a nnkernels.distributed."
                    f"Communicator or an mpi4py communicator; got {distributed!r}")


class _PlanShard:
    """Shard gradients by the compiled plan (gradient-only call), update by the plan.
    `buffer`: the reduced array (the model's flat gradients, then the slots)."""

    def __init__(self, model, x, y, rows, buffer):
        self.model, self.x, self.buffer = model, x, buffer
        self.targets_are_inputs = y is x
        labels = model.loss.target_kind == "labels"
        self.labels = y if labels else None
        self.y = None if labels or self.targets_are_inputs else y
        self.rows = rows
        self.loss = np.empty(1)
        self.hits = np.empty(1, np.int64)
        self.plan = None

    def gradient(self, idx, global_rows):
        self.plan = plan = self.model.engine.plan(self.model, self.rows, training=True)
        plan.gradient(self.x, self.y, self.labels, self.targets_are_inputs, idx,
                      global_rows, self.loss, self.hits)
        return float(self.loss[0]), int(self.hits[0])

    def update(self):
        opt = self.model.optimizer
        opt.iterations += 1
        self.plan.update(opt.iterations)


class _LayerShard:
    """Shard gradients layer by layer (any model fit can train), update by
    optimizer.step()."""

    def __init__(self, model, x, y, rows, buffer):
        self.model, self.x, self.y, self.buffer = model, x, y, buffer
        self.grads = buffer[:buffer.shape[0] - _SLOTS]

    def gradient(self, idx, global_rows):
        model = self.model
        xb = np.take(self.x, idx, axis=0)
        yb = xb if self.y is self.x else np.take(self.y, idx, axis=0)
        out = model.forward(xb)
        loss = model.loss.forward(out, yb)
        model.backward(model.loss.backward())
        self.grads *= idx.shape[0] / global_rows  # the shard's share of the global mean
        return loss, model.loss.correct(out, yb)

    def update(self):
        self.model.optimizer.step()


def epoch_steps(comm, batches, shard, raw_stop, stop):
    """One epoch of data-parallel steps; yields (step, global rows, global mean loss,
    global correct count) as training's other step generators do.

    batches : training._Batches (the same seed on every rank: the same order)
    shard : _PlanShard or _LayerShard of this rank
    raw_stop : {'hit': bool} set by this rank's Ctrl-C handler
    stop : {'hit': bool} set here when any rank saw Ctrl-C (after the same step)
    """
    order = batches.next_order()
    if order is None:
        order = np.arange(batches.n, dtype=np.int64)
    buf = shard.buffer
    slots = buf[buf.shape[0] - _SLOTS:]
    grads = buf[:buf.shape[0] - _SLOTS]
    for step in range(batches.steps):
        lo = step * batches.batch_size
        hi = min(lo + batches.batch_size, batches.n)
        a, b = comm.shard(lo, hi)
        if b > a:
            loss, hits = shard.gradient(order[a:b], hi - lo)
            slots[_LOSS] = loss * (b - a) / (hi - lo)
            slots[_HITS] = hits
        else:  # an uneven last batch left this rank nothing
            grads[...] = 0
            slots[_LOSS] = slots[_HITS] = 0
        slots[_STOP] = 1 if raw_stop["hit"] else 0
        comm.comm.Allreduce(comm.MPI.IN_PLACE, buf, op=comm.MPI.SUM)
        loss = float(slots[_LOSS])
        if np.isfinite(loss):
            shard.update()
        if slots[_STOP] > 0:
            stop["hit"] = True
        yield step, hi - lo, loss, int(round(float(slots[_HITS])))


def prepare(comm, model, x, y, batch_size, epochs, shuffle, seed):
    """Check that the ranks agree, broadcast the model from rank 0, and return (seed
    agreed by all ranks, the shard stepper of this rank)."""
    comm.check_same("the training set's shape, the batch size, the epochs, shuffle, and "
                    "the model's parameter count and dtype",
                    (x.shape, batch_size, epochs, bool(shuffle), model.count_params(),
                     model.dtype.name))
    seed = comm.agree_seed(seed)
    comm.broadcast_model(model)
    buffer = model.engine.gradients_with_room(model, _SLOTS)
    rows = -(-min(batch_size, x.shape[0]) // comm.size)  # the largest shard
    stepper = _PlanShard if _plan.uses_plan(model) else _LayerShard
    return seed, stepper(model, x, y, rows, buffer)
