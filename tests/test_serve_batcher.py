"""The dynamic batcher of nnkernels.serve (no server): concurrent requests form one
predict call whose answer equals one predict of the same rows; the queue is bounded;
close() lets queued requests finish. Nothing here depends on timing: a model whose
predict waits on an Event holds the worker while requests queue."""
import asyncio
import concurrent.futures
import threading

import numpy as np
import pytest

import nnkernels
from nnkernels.serve._batcher import Batcher, Closed, QueueFull


class GatedModel:
    """model.predict that records its batches and, while `gate` is clear, blocks."""

    def __init__(self, model):
        self.model, self.calls = model, []
        self.gate, self.entered = threading.Event(), threading.Event()

    def predict(self, x):
        self.calls.append(len(x))
        self.entered.set()
        assert self.gate.wait(60), "the test never opened the gate"
        return self.model.predict(x)


@pytest.fixture
def model():
    return nnkernels.pretrained.mnist_classifier()


def run(coro):
    return asyncio.run(asyncio.wait_for(coro, 120))


async def _wait_entered(gated):
    loop = asyncio.get_running_loop()
    assert await loop.run_in_executor(None, gated.entered.wait, 60)


def test_queued_requests_form_one_predict_equal_to_predicting_their_rows(model, rng):
    gated = GatedModel(model)
    xs = [rng.random((n, 784), dtype=np.float32) for n in (1, 3, 2, 1, 5)]

    async def main():
        with concurrent.futures.ThreadPoolExecutor(1) as pool:
            batcher = Batcher(gated.predict, pool, max_batch=64, max_wait=0)
            first = asyncio.ensure_future(batcher.predict(np.zeros((1, 784), np.float32)))
            await _wait_entered(gated)  # the worker holds the first request
            rest = [asyncio.ensure_future(batcher.predict(x)) for x in xs]
            await asyncio.sleep(0)
            assert batcher.queued_rows == 12
            gated.gate.set()
            await first
            return await asyncio.gather(*rest)

    ys = run(main())
    assert gated.calls == [1, 12]  # the five queued requests went in one call
    expected = model.predict(np.concatenate(xs))
    np.testing.assert_array_equal(np.concatenate(ys), expected)
    for x, y in zip(xs, ys):
        assert y.shape == (len(x), 10)


def test_max_batch_splits_the_queue(model, rng):
    gated = GatedModel(model)
    xs = [rng.random((2, 784), dtype=np.float32) for _ in range(5)]

    async def main():
        with concurrent.futures.ThreadPoolExecutor(1) as pool:
            batcher = Batcher(gated.predict, pool, max_batch=4, max_wait=0)
            first = asyncio.ensure_future(batcher.predict(xs[0]))
            await _wait_entered(gated)
            rest = [asyncio.ensure_future(batcher.predict(x)) for x in xs[1:]]
            await asyncio.sleep(0)
            gated.gate.set()
            return [await first] + await asyncio.gather(*rest)

    ys = run(main())
    assert gated.calls == [2, 4, 4]
    for x, y in zip(xs, ys):
        np.testing.assert_allclose(y, model.predict(x), rtol=1e-5, atol=1e-6)


def test_a_full_queue_refuses_and_recovers(model):
    gated = GatedModel(model)
    x = np.zeros((3, 784), np.float32)

    async def main():
        with concurrent.futures.ThreadPoolExecutor(1) as pool:
            batcher = Batcher(gated.predict, pool, max_batch=64, max_wait=0, max_queue=6)
            first = asyncio.ensure_future(batcher.predict(x))
            await _wait_entered(gated)
            queued = [asyncio.ensure_future(batcher.predict(x)) for _ in range(2)]
            await asyncio.sleep(0)
            with pytest.raises(QueueFull, match="at most 6"):
                await batcher.predict(x)
            gated.gate.set()
            await asyncio.gather(first, *queued)
            return await batcher.predict(x)  # room again

    assert run(main()).shape == (3, 10)


def test_close_finishes_queued_requests_then_refuses(model):
    gated = GatedModel(model)
    x = np.zeros((1, 784), np.float32)

    async def main():
        with concurrent.futures.ThreadPoolExecutor(1) as pool:
            batcher = Batcher(gated.predict, pool, max_wait=0)
            first = asyncio.ensure_future(batcher.predict(x))
            await _wait_entered(gated)
            queued = asyncio.ensure_future(batcher.predict(x))
            await asyncio.sleep(0)
            closing = asyncio.ensure_future(batcher.close())
            await asyncio.sleep(0)
            assert not closing.done()
            gated.gate.set()
            await closing
            assert first.done() and queued.done()
            with pytest.raises(Closed):
                await batcher.predict(x)
            return queued.result()

    assert run(main()).shape == (1, 10)


def test_a_failing_predict_reaches_every_request_of_its_batch():
    def predict(x):
        raise ValueError("boom")

    async def main():
        with concurrent.futures.ThreadPoolExecutor(1) as pool:
            batcher = Batcher(predict, pool)
            results = await asyncio.gather(
                *(batcher.predict(np.zeros((1, 4))) for _ in range(3)), return_exceptions=True)
            return results

    assert all(isinstance(r, ValueError) for r in run(main()))


def test_bad_settings_are_refused():
    with pytest.raises(ValueError, match="max_batch"):
        Batcher(lambda x: x, None, max_batch=0)
