"""The plan's team of threads: every result is the same whatever the number of threads
that run it, which thread takes which block, and how busy the machine is; fit's
choice between all of a plan's threads and one."""
import subprocess
import sys

import numpy as np
import pytest

import nnkernels
from nnkernels import Dense, RMSProp, Sequential, _team, plan


def _classifier(dtype="float32", seed=0):
    model = Sequential([Dense(784, 64, "relu", dtype=dtype, seed=seed),
                        Dense(64, 32, "relu", dtype=dtype, seed=seed + 1),
                        Dense(32, 10, None, dtype=dtype, seed=seed + 2)])
    model.compile(RMSProp(lr=1e-3), "softmax_cross_entropy")
    return model


def _autoencoder(dtype="float32", seed=0):
    model = Sequential([Dense(196, 64, "relu", dtype=dtype, seed=seed),
                        Dense(64, 16, "relu", dtype=dtype, seed=seed + 1),
                        Dense(16, 64, "relu", dtype=dtype, seed=seed + 2),
                        Dense(64, 196, "sigmoid", dtype=dtype, seed=seed + 3)])
    model.compile(RMSProp(lr=1e-3), "mse")
    return model


def _data(dtype, features=784, rows=1200):
    rng = np.random.default_rng(3)
    return rng.random((rows, features)).astype(dtype), rng.integers(0, 10, rows)


def _train(make, dtype, threads, epochs=2):
    x, y = _data(dtype, 784 if make is _classifier else 196)
    model = make(dtype)
    with nnkernels.num_threads(threads):
        model.fit(x, y if make is _classifier else x, epochs=epochs, batch_size=100,
                  seed=0, verbose=0)
        probabilities = model.predict(x[:300], batch_size=64)
        scores = model.evaluate(x, y if make is _classifier else x, batch_size=64)
    return model.get_weights(), probabilities, scores


@pytest.fixture
def small_models_split(monkeypatch):
    monkeypatch.setattr(plan, "MIN_FLOPS_PER_THREAD", 0)


@pytest.mark.parametrize("make", [_classifier, _autoencoder], ids=["classifier", "autoencoder"])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_one_and_two_threads_give_the_same_bits(make, dtype, small_models_split):
    w1, p1, s1 = _train(make, dtype, 1)
    w2, p2, s2 = _train(make, dtype, 2)
    for u, v in zip(w1, w2):
        np.testing.assert_array_equal(u, v)
    np.testing.assert_array_equal(p1, p2)
    assert s1 == s2


def test_a_busy_machine_changes_no_bit(small_models_split):
    """Two processes spin on the two cores while two threads train: the threads are
    descheduled at random points and take over each other's blocks; the weights are
    those of an undisturbed run on one thread."""
    quiet = _train(_classifier, "float32", 1)[0]
    spinners = [subprocess.Popen([sys.executable, "-c", "while True: pass"])
                for _ in range(2)]
    try:
        busy = [_train(_classifier, "float32", 2)[0] for _ in range(2)]
    finally:
        for p in spinners:
            p.kill()
            p.wait()
    for weights in busy:
        for u, v in zip(weights, quiet):
            np.testing.assert_array_equal(u, v)


def test_every_thread_count_of_a_call_gives_the_same_bits(small_models_split):
    """Plan.train(threads=...) uses that many of the plan's threads (more is clamped),
    whether a waiting thread spins (for up to a second) or sleeps at once."""
    x, y = _data("float64")
    results = []
    for threads, spin_us in ((1, 30), (2, 30), (5, 30), (2, 0), (2, 1e6)):
        model = _classifier("float64")
        with nnkernels.num_threads(2):
            p = model.engine.plan(model, 100, training=True)
            assert p.n_threads == 2
            p.spin_us = spin_us
            losses, hits = np.empty(12), np.empty(12, np.int64)
            done = p.train(x, None, y, False, None, 0, 12, 0, losses, hits, threads)
        assert done == 12 and np.isfinite(losses).all()
        results.append((model.get_weights(), losses.copy(), hits.copy()))
    for weights, losses, hits in results[1:]:
        np.testing.assert_array_equal(losses, results[0][1])
        np.testing.assert_array_equal(hits, results[0][2])
        for u, v in zip(weights, results[0][0]):
            np.testing.assert_array_equal(u, v)


def test_the_cut_into_blocks_depends_on_the_shapes_alone(small_models_split):
    model = Sequential([Dense(784, 250, "relu"), Dense(250, 100, "relu"),
                        Dense(100, 10, None)])
    model.compile(RMSProp(), "softmax_cross_entropy")
    counts = []
    for threads in (1, 2):
        with nnkernels.num_threads(threads):
            counts.append(model.engine.plan(model, 100, training=True).block_counts())
    assert counts[0] == counts[1]
    assert counts[0]["forward"][0] > 1   # the large product is shared out


class _Clock:
    def __init__(self):
        self.now = 100.0

    def __call__(self):
        return self.now


@pytest.fixture
def clock(monkeypatch):
    c = _Clock()
    monkeypatch.setattr(_team.time, "monotonic", c)
    return c


def _measure(team, rates, clock, calls=1):
    """Run `calls` calls of 10 steps at rates[way] steps/s; returns the choices."""
    chosen = []
    for _ in range(calls):
        way = team.choose()
        chosen.append(way)
        team.record(way, 10, 10 / rates[way])
        clock.now += 10 / rates[way]
    return chosen


SPIN, NO_SPIN, ONE = (2, _team.TeamSize.SPIN_US), (2, _team.TeamSize.NO_SPIN_US), \
    (1, _team.TeamSize.SPIN_US)
QUIET = {SPIN: 2000, NO_SPIN: 1700, ONE: 1000}
BUSY = {SPIN: 500, NO_SPIN: 1200, ONE: 900}


def test_team_size_has_three_ways():
    assert _team.TeamSize(2).ways == [SPIN, NO_SPIN, ONE]


def test_team_size_measures_every_way_then_keeps_the_fastest(clock):
    team = _team.TeamSize(2)
    first = _measure(team, QUIET, clock, calls=5)
    # Several threads: a warm-up and a count; one thread counts at once.
    assert first == [SPIN, SPIN, NO_SPIN, NO_SPIN, ONE]
    assert _measure(team, QUIET, clock, calls=20) == [SPIN] * 20


def test_team_size_follows_the_machine_getting_busy_and_quiet_again(clock):
    team = _team.TeamSize(2)
    _measure(team, QUIET, clock, calls=6)
    # Another process takes a core: spinning threads run slower than sleeping ones.
    busy = _measure(team, BUSY, clock, calls=200)
    assert busy[-20:].count(NO_SPIN) >= 18   # the rest: a probe of another way
    # Worse: two threads run slower than one would.
    worse = _measure(team, {SPIN: 300, NO_SPIN: 600, ONE: 900}, clock, calls=200)
    assert worse[-20:].count(ONE) >= 16   # the rest: a probe of each of the others
    # It leaves: the periodic measurements notice.
    quiet = _measure(team, QUIET, clock, calls=300)
    assert quiet[-20:].count(SPIN) >= 18


def _probes(choices, way):
    """How many runs of `way` follow the first measurement of each way (each run two
    calls, one not counted, or one call for the one-thread way)."""
    runs = [w for i, w in enumerate(choices) if i < 5 or w != choices[i - 1]]
    calls = 1 if way[0] == 1 else 2
    assert choices[5:].count(way) == calls * runs[5:].count(way)
    return runs[5:].count(way)


def test_team_size_measures_the_other_ways_less_often_while_nothing_changes(clock):
    team = _team.TeamSize(2)
    choices = _measure(team, QUIET, clock, calls=12000)   # 60 s
    # Every 2 s, then 4, 8, 16 and 32 at most: 2 + 4 + 8 + 16 + 32 > 60.
    for way in (NO_SPIN, ONE):
        assert 3 <= _probes(choices, way) <= 5
    assert team.interval[ONE] == _team.TeamSize.MOST_PROBE_SECONDS


def test_team_size_notices_a_busier_machine_at_once_after_a_quiet_time(clock):
    team = _team.TeamSize(2)
    _measure(team, QUIET, clock, calls=12000)
    start = clock.now
    busy = _measure(team, BUSY, clock, calls=400)   # 10 steps at 500-1200/s a call
    switched = busy.index(NO_SPIN)
    assert clock.now - start < 5 and switched <= 3   # its slower calls are seen
    assert busy[-20:].count(NO_SPIN) >= 18


def test_team_size_on_a_machine_whose_speed_keeps_moving_measures_now_and_then(clock):
    """Each call of the way in use runs at half or full speed in turn: a change each
    time, but a way is measured again only QUICK_SECONDS after its last measurement."""
    team = _team.TeamSize(2)
    choices = []
    for i in range(3000):
        rates = {SPIN: 2000 if i % 2 else 1000, NO_SPIN: 800, ONE: 700}
        choices += _measure(team, rates, clock)
    seconds = clock.now - 100
    for way in (NO_SPIN, ONE):
        assert _probes(choices, way) <= seconds / _team.TeamSize.QUICK_SECONDS + 1
    assert choices.count(SPIN) > 0.8 * len(choices)


def test_team_size_keeps_measuring_more_threads_while_one_is_faster(clock):
    """A machine that gets quieter does not speed up a one-thread call: the ways of
    more threads are measured every PROBE_SECONDS while one thread leads."""
    team = _team.TeamSize(2)
    slow = {SPIN: 300, NO_SPIN: 600, ONE: 900}
    choices = _measure(team, slow, clock, calls=1800)   # 20 s
    seconds = 1800 * 10 / 900
    for way in (SPIN, NO_SPIN):
        assert _probes(choices, way) >= seconds / _team.TeamSize.PROBE_SECONDS - 2
    quiet = _measure(team, QUIET, clock, calls=1000)
    assert quiet[-20:].count(SPIN) >= 18


def test_team_size_of_one_thread_never_asks_for_more():
    team = _team.TeamSize(1)
    for _ in range(5):
        assert team.choose() == ONE
        team.record(ONE, 10, 0.01)


def test_plan_spin_time_is_checked():
    model = _classifier()
    p = model.engine.plan(model, 100, training=True)
    p.spin_us = 2.5
    assert p.spin_us == 2.5
    with pytest.raises(ValueError, match="spin_us must be a number >= 0; got -1"):
        p.spin_us = -1
    with pytest.raises(ValueError, match="got nan"):
        p.spin_us = float("nan")


def test_predict_and_evaluate_choose_their_team_and_keep_their_bits(small_models_split):
    """A two-thread inference plan measures both counts as fit's does (TeamSize); the
    outputs are those of one thread whichever count ran each call."""
    x, y = _data("float32", rows=600)
    model = _classifier("float32")
    with nnkernels.num_threads(1):
        one = model.predict(x, batch_size=300)
        scores_one = model.evaluate(x, y, batch_size=300)
    with nnkernels.num_threads(2):
        outputs = [model.predict(x, batch_size=300) for _ in range(6)]
        scores = [model.evaluate(x, y, batch_size=300) for _ in range(6)]
        p = model.engine.inference_plan(model, 300)
    assert p.n_threads == 2 and p.team is not None
    assert set(p.team.rate) == set(p.team.ways)   # warmed up, then measured, each
    for out in outputs:
        np.testing.assert_array_equal(out, one)
    assert all(s == scores_one for s in scores)


def test_a_call_runs_no_more_threads_than_its_widest_phase_has_blocks(small_models_split):
    """Inference of fewer rows than one block (128) has one block: a two-thread plan
    runs it on its calling thread alone, with the same bits."""
    x, _ = _data("float32", rows=50)
    model = _classifier("float32")
    with nnkernels.num_threads(2):
        p = model.engine.inference_plan(model, 50)
        assert p.n_threads == 2 and p.block_counts()["inference"] == 1
        out2 = model.predict(x)
    with nnkernels.num_threads(1):
        out1 = model.predict(x)
    np.testing.assert_array_equal(out1, out2)


@pytest.mark.parametrize("rows, blocks", [(1, 1), (128, 1), (129, 2), (300, 3),
                                          (1000, 4), (2048, 4), (2049, 5), (10000, 20)])
def test_inference_cuts_a_round_in_four_blocks_of_128_to_512_rows(rows, blocks):
    """Each block packs every weight matrix once: blocks of at least 128 rows, four a
    round while they stay under 512 rows (fewer blocks leave a thread idle on a busy
    machine; more, smaller blocks pack the weights more often)."""
    model = _classifier("float32")
    with nnkernels.num_threads(2):
        assert model.engine.inference_plan(model, rows).block_counts()["inference"] == blocks


def test_spreading_the_threads_over_the_cpus_changes_no_bit_and_no_affinity(
        small_models_split):
    """A call on as many threads as CPUs runs each on a CPU of its own (Plan.spread),
    then gives every thread back the CPUs it had: same bits, same affinity."""
    import os
    x, y = _data("float32")
    before = os.sched_getaffinity(0)
    results = []
    for spread in (True, False):
        model = _classifier("float32")
        with nnkernels.num_threads(len(before)):
            p = model.engine.plan(model, 100, training=True)
            p.spread = spread
            assert p.spread is spread
            losses, hits = np.empty(8), np.empty(8, np.int64)
            p.train(x, None, y, False, None, 0, 8, 0, losses, hits)
        results.append(model.get_weights())
        assert os.sched_getaffinity(0) == before
    for u, v in zip(*results):
        np.testing.assert_array_equal(u, v)
