"""Data-parallel fit on 2 ranks against one process on the same sample order.

Run on two MPI ranks:

    mpiexec -n 2 python -m mpi4py -m pytest tests/distributed

(tests/test_distributed.py launches exactly that from a normal pytest run). Under plain
pytest, in one process, these tests skip without initialising MPI. Each rank uses one
thread: the ranks share the machine's cores. (No conftest.py here: a second module
named conftest would shadow tests/conftest.py for `from conftest import ...`.)
"""
import os

import numpy as np
import pytest

import nnkernels
from nnkernels import distributed
from nnkernels.callbacks import Callback, CSVLogger
from nnkernels.layers import Dense
from nnkernels import Sequential
from nnkernels.models import mnist_autoencoder, mnist_classifier

pytestmark = pytest.mark.skipif(
    distributed.launched_ranks() < 2,
    reason="runs on 2 ranks: mpiexec -n 2 python -m mpi4py -m pytest tests/distributed "
           "(tests/test_distributed.py launches it)")


@pytest.fixture(scope="module", autouse=True)
def one_thread_per_rank():
    previous = nnkernels.set_num_threads(1)
    yield
    nnkernels.set_num_threads(previous)


@pytest.fixture
def comm():
    from mpi4py import MPI
    assert MPI.COMM_WORLD.Get_size() == 2
    return MPI.COMM_WORLD


def data(n, kind, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.random((n, 784), dtype=np.float32)
    return x, (rng.integers(0, 10, n) if kind == "classifier" else x)


def build(kind, seed, dtype="float32", optimizer=None):
    # lr 1e-3, the tolerances' learning rate: on random labels a larger step makes
    # RMSProp amplify the ranks' float rounding beyond 1e-5 within two epochs.
    make = mnist_classifier if kind == "classifier" else mnist_autoencoder
    return make(seed=seed, dtype=dtype, lr=1e-3, optimizer=optimizer)


def relative_error(a, b):
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    return float(np.linalg.norm(a - b) / np.linalg.norm(b))


def assert_same_run(make_model, x, y, comm, **fit):
    """Train make_model() on 2 ranks and, on each rank, in one process: parameters
    within 1e-5 relative (every array), the same per-epoch loss and accuracy."""
    reference = make_model()
    ref_history = reference.fit(x, y, verbose=0, **fit)
    model = make_model()
    history = model.fit(x, y, verbose=0, distributed=comm, **fit)
    for p, q in zip(model.parameters(), reference.parameters()):
        assert relative_error(p.data, q.data) < 1e-5, p.name
    for key, values in ref_history.history.items():
        if key in ("loss", "accuracy", "val_loss", "val_accuracy"):
            np.testing.assert_allclose(history.history[key], values, rtol=1e-5)
    return model


@pytest.mark.parametrize("kind", ["classifier", "autoencoder"])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_two_ranks_reproduce_one_process(comm, kind, dtype):
    # 1,050 rows: ten batches of 100 (50 per rank) and an uneven last one of 50.
    x, y = data(1050, kind)
    assert_same_run(lambda: build(kind, 7, dtype), x, y, comm, epochs=1, batch_size=100,
                    seed=3)


def test_an_empty_shard_and_no_shuffle(comm):
    # 1,001 rows: the last global batch has one row, so rank 0's shard of it is empty.
    x, y = data(1001, "classifier")
    assert_same_run(lambda: build("classifier", 1), x, y, comm, epochs=2, batch_size=100,
                    seed=5, shuffle=False)


@pytest.mark.parametrize("optimizer", ["sgd", "adam"])
def test_other_optimizers_and_validation(comm, optimizer):
    x, y = data(600, "classifier")
    make = lambda: build("classifier", 2, optimizer=nnkernels.optimizers.get(  # noqa: E731
        optimizer, lr=1e-3, weight_decay=1e-4))
    assert_same_run(make, x[:500], y[:500], comm, epochs=2, batch_size=64, seed=1,
                    validation_data=(x[500:], y[500:]))


def test_the_layer_by_layer_path(comm, monkeypatch):
    # Models the compiled plan does not cover train layer by layer, then step.
    monkeypatch.setattr(distributed, "_PlanShard", distributed._LayerShard)
    x, y = data(450, "classifier")
    assert_same_run(lambda: build("classifier", 4, "float64"), x, y, comm, epochs=1,
                    batch_size=100, seed=2)


def test_every_rank_ends_with_identical_parameters(comm):
    x, y = data(800, "classifier")
    model = build("classifier", seed=100 + comm.rank)
    model.fit(x, y, epochs=2, batch_size=50, distributed=True, verbose=0)  # seed None
    sums = distributed.Communicator(comm).parameter_checksums(model)
    assert len(sums) == 2 and sums[0] == sums[1]
    flat = np.concatenate([p.data.ravel() for p in model.parameters()])
    everyone = comm.allgather(flat)
    assert np.array_equal(everyone[0], everyone[1])


def test_different_seeds_are_identical_after_the_broadcast(comm):
    model = build("classifier", seed=comm.rank)
    c = distributed.Communicator(comm)
    before = c.parameter_checksums(model)
    assert before[0] != before[1]
    c.broadcast_model(model)
    after = c.parameter_checksums(model)
    assert after[0] == after[1] == before[0]


def test_ranks_that_disagree_are_told_so(comm):
    c = distributed.Communicator(comm)
    with pytest.raises(distributed.DistributedError, match="rank 0: 100, rank 1: 101"):
        c.check_same("the rows", 100 + comm.rank)


def test_only_rank_0_runs_root_only_callbacks(comm, tmp_path_factory):
    folder = comm.bcast(str(tmp_path_factory.mktemp("logs")) if comm.rank == 0 else None)
    seen = []

    class Record(Callback):
        def on_epoch_end(self, epoch, logs):
            seen.append((logs["loss"], logs["lr"]))

    x, y = data(300, "classifier")
    model = build("classifier", 0)
    model.fit(x, y, epochs=2, batch_size=100, seed=0, distributed=True, verbose=0,
              callbacks=[CSVLogger(f"{folder}/rank{comm.rank}.csv"), Record()])
    comm.Barrier()
    assert sorted(os.listdir(folder)) == ["rank0.csv"]
    assert len(seen) == 2 and comm.allgather(seen)[0] == comm.allgather(seen)[1]


def test_a_plain_stack_of_dense_layers(comm):
    def make():
        rng = np.random.default_rng(9)
        model = Sequential([Dense(20, 8, "relu", seed=rng), Dense(8, 3, None, seed=rng)])
        return model.compile(nnkernels.RMSProp(lr=1e-2), "mse")
    rng = np.random.default_rng(0)
    x, y = rng.standard_normal((97, 20)), rng.standard_normal((97, 3))
    assert_same_run(make, x, y, comm, epochs=3, batch_size=10, seed=4)


def test_ctrl_c_on_one_rank_stops_every_rank_after_the_same_step(comm):
    import signal

    class CtrlCOnRank1(Callback):
        def __init__(self):
            self.batches = 0

        def on_batch_end(self, batch, logs):
            self.batches += 1
            if batch == 2 and comm.rank == 1:
                os.kill(os.getpid(), signal.SIGINT)  # fit's handler sets its flag

    x, y = data(1000, "classifier")
    model = build("classifier", 0)
    counter = CtrlCOnRank1()
    history = model.fit(x, y, epochs=3, batch_size=100, seed=0, distributed=comm,
                        verbose=0, callbacks=[counter])
    assert history.interrupted and history.epoch == []
    # rank 1 raised the flag after step 3; the Allreduce of step 4 told rank 0
    assert comm.allgather(counter.batches) == [4, 4]
    checksums = distributed.Communicator(comm).parameter_checksums(model)
    assert checksums[0] == checksums[1]
