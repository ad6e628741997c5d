"""The data-parallel tests run on two MPI ranks:

    mpiexec -n 2 python -m mpi4py -m pytest tests/distributed

(tests/test_distributed.py launches exactly that from a normal pytest run). Under plain
pytest, in one process, they skip without initialising MPI. Each rank uses one
thread: the ranks share the machine's cores."""
import os

import pytest

# The rank count as the launcher tells it (MPICH's Hydra, or Open MPI).
LAUNCHED_RANKS = int(os.environ.get("PMI_SIZE") or os.environ.get("OMPI_COMM_WORLD_SIZE")
                     or 1)


def pytest_collection_modifyitems(config, items):
    if LAUNCHED_RANKS >= 2:
        return
    skip = pytest.mark.skip(reason="runs on 2 ranks: mpiexec -n 2 python -m mpi4py -m "
                                   "pytest tests/distributed (tests/test_distributed.py "
                                   "launches it)")
    here = os.path.dirname(__file__)
    for item in items:
        if str(item.path).startswith(here):
            item.add_marker(skip)


@pytest.fixture(scope="session", autouse=True)
def one_thread_per_rank():
    import nnkernels
    previous = nnkernels.set_num_threads(1)
    yield
    nnkernels.set_num_threads(previous)


@pytest.fixture
def comm():
    from mpi4py import MPI
    assert MPI.COMM_WORLD.Get_size() == 2
    return MPI.COMM_WORLD
