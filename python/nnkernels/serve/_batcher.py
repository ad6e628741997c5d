"""Dynamic batching: the rows of concurrent requests gathered into one predict call.

Every decision is taken on the event loop's thread (no locks); the predict call runs on
one worker thread, shared by every model of a server, so that the server never asks for
more cores than the event loop plus the kernels' threads (``nnkernels.num_threads``).

The rule: when the worker is free, the rows waiting go at once, up to ``max_batch``.
While the worker is busy, new requests queue, and they form the next batch. Waiting on
purpose (up to ``max_wait`` seconds) happens only while other requests are still being
read or decoded, the case where it pays: a lone client never waits for nobody. The
queue is bounded by ``max_queue`` rows: beyond, :class:`QueueFull` (a 503).
"""
import asyncio
import collections

import numpy as np

__all__ = ["Batcher", "QueueFull", "Closed"]


class QueueFull(Exception):
    """The queue holds as many rows as it may: try again later (HTTP 503)."""


class Closed(Exception):
    """The batcher is shutting down and takes no more requests (HTTP 503)."""


class Arrival:
    """A request being read: while any is, a batch may wait for it (see Batcher.arrive)."""

    __slots__ = ("_batcher", "_open")

    def __init__(self, batcher):
        self._batcher, self._open = batcher, True
        batcher._reading += 1

    def leave(self):
        """The request stops counting as 'being read' (submitted, or given up)."""
        if self._open:
            self._open = False
            self._batcher._reading -= 1
            self._batcher._maybe_dispatch()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.leave()


class Batcher:
    """Gathers the rows of concurrent requests into one call of `predict`.

    Parameters
    ----------
    predict : callable
        ``predict(x) -> y``: array (n, in_features) to array (n, out_features), row i of y
        depending on row i of x only (the model's ``predict``). Called on `executor`.
    executor : concurrent.futures.Executor
        Where predict runs (one worker thread: predicts of several models take turns).
    max_batch : int >= 1
        Most rows in one predict call (a request with more rows goes alone).
    max_wait : float >= 0
        Seconds a batch may wait for requests still being read.
    max_queue : int >= 1
        Most rows waiting for the worker; a request that would go beyond gets QueueFull
        (one request alone is always taken: its size is bounded by the body limit).
    on_batch : callable, optional
        ``on_batch(rows)`` after each predict call (metrics).

    Must be used from one event loop's thread.
    """

    def __init__(self, predict, executor, *, max_batch=64, max_wait=0.002, max_queue=1024,
                 on_batch=None):
        if max_batch < 1 or max_queue < 1 or max_wait < 0:
            raise ValueError(f"Batcher: max_batch and max_queue must be >= 1 and max_wait "
                             f">= 0; got {max_batch}, {max_queue}, {max_wait}")
        self._predict, self._executor = predict, executor
        self.max_batch, self.max_wait, self.max_queue = max_batch, max_wait, max_queue
        self._on_batch = on_batch
        self._pending = collections.deque()  # (x, future)
        self._pending_rows = 0
        self._reading = 0
        self._busy = False
        self._timer = None
        self._closed = False
        self._idle = None  # an asyncio.Event while close() waits

    @property
    def queued_rows(self):
        """Rows waiting for the worker (not counting the batch it runs)."""
        return self._pending_rows

    def arrive(self):
        """An Arrival for a request about to be read: ``with batcher.arrive() as a: ...;
        await batcher.predict(x, a)``."""
        return Arrival(self)

    async def predict(self, x, arrival=None):
        """The model's output for the rows `x`, computed in a batch with other requests.

        Raises QueueFull when the queue is full, Closed after close(), or what predict
        raised.
        """
        if arrival is not None:
            arrival._open = False  # it leaves below, after its rows are queued
            self._reading -= 1
        if self._closed:
            self._maybe_dispatch()
            raise Closed("the server is shutting down")
        n = len(x)
        if self._pending and self._pending_rows + n > self.max_queue:
            self._maybe_dispatch()
            raise QueueFull(f"the queue holds {self._pending_rows} rows; it takes at most "
                            f"{self.max_queue}")
        future = asyncio.get_running_loop().create_future()
        self._pending.append((x, future))
        self._pending_rows += n
        self._maybe_dispatch()
        return await future

    def _maybe_dispatch(self):
        if self._busy or not self._pending:
            return
        if self._pending_rows >= self.max_batch or self._reading == 0 or \
                self.max_wait == 0 or self._closed:
            self._dispatch()
        elif self._timer is None:
            self._timer = asyncio.get_running_loop().call_later(self.max_wait, self._on_timer)

    def _on_timer(self):
        self._timer = None
        if not self._busy and self._pending:
            self._dispatch()

    def _dispatch(self):
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        batch, rows = [], 0
        while self._pending and (not batch or rows + len(self._pending[0][0]) <= self.max_batch):
            x, future = self._pending.popleft()
            batch.append((x, future))
            rows += len(x)
        self._pending_rows -= rows
        self._busy = True
        xs = [x for x, _ in batch]
        done = asyncio.get_running_loop().run_in_executor(self._executor, self._run, xs)
        done.add_done_callback(lambda d: self._finish(batch, rows, d))

    def _run(self, xs):
        return self._predict(xs[0] if len(xs) == 1 else np.concatenate(xs))

    def _finish(self, batch, rows, done):
        self._busy = False
        error = done.exception() if not done.cancelled() else Closed("predict was cancelled")
        lo = 0
        for x, future in batch:
            if future.done():  # the caller went away
                lo += len(x)
                continue
            if error is not None:
                future.set_exception(error)
            else:
                future.set_result(done.result()[lo:lo + len(x)])
            lo += len(x)
        if self._on_batch is not None and error is None:
            self._on_batch(rows)
        self._maybe_dispatch()
        if self._idle is not None and not self._busy and not self._pending:
            self._idle.set()

    async def close(self):
        """Take no more requests; return once the queued ones have their answers."""
        self._closed = True
        self._maybe_dispatch()
        if self._busy or self._pending:
            self._idle = asyncio.Event()
            await self._idle.wait()
