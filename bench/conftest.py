"""Shared machinery of the kernel benchmarks: each kernel against its reference, in
the same process, timed the same way, and the ratio stored in ``benchmark.extra_info``.

Run with ``python -m pytest bench --benchmark-enable`` (pyproject's addopts disable
benchmarks; without ``--benchmark-enable`` every benchmark runs once as a smoke test
that ours and the reference agree). See bench/README.md.

Environment switches:
  NNKERNELS_BENCH_THREADS  thread count for the kernels and BLAS (default: nnkernels'
                           default, the number of usable cores)
  NNKERNELS_BENCH_BUDGET   seconds spent timing each side of one comparison (default 0.2)
  NNKERNELS_BENCH_QUIET    on a shared machine: before each benchmark, wait up to this many
                           seconds for other processes to leave the CPUs idle (default 0)
"""
import math
import os
import time

import numpy as np
import pytest
import threadpoolctl

import nnkernels

# Targets from the issue, as minimum ratios. Benchmarks report whether they are met;
# they never fail on it (tests/ asserts correctness, bench/ measures).
TARGETS = {
    "fused": 3.0,   # each fused elementwise kernel >= 3x faster than its NumPy expression
    "gemm": 0.95,   # GEMM within 5 % of calling scipy.linalg.blas.sgemm directly
    # issue 5, whole models (test_bench_training.py)
    "training_numpy": 1.8,    # training >= 1.8x the hand-written NumPy implementation
    "training_torch": 2.5,    # >= 2.5x PyTorch eager
    "gemm_ceiling": 0.8,      # >= 80 % of the step's GEMMs timed alone
    "inference_torch": 1.5,   # 10,000 test images in one batch >= 1.5x PyTorch
    "latency_torch": 1.0,     # one image: lower latency than PyTorch
    None: None,     # no target for this reference (reported only)
}

_ROUND_SECONDS = 5e-4   # in block mode, one round (timer reading) lasts at least this
# Pause between the timed blocks. Idle BLAS workers spin before they sleep (OpenBLAS
# for up to 2**28 cycles, about 0.1 s; libgomp briefly): the previous phase's pool
# would otherwise steal the second core from the next phase (OpenBLAS issue 3187,
# scikit-learn issue 17334). bench/README.md shows what that costs.
_SETTLE_SECONDS = 0.12
_MIN_ROUNDS, _MAX_BLOCK_ROUNDS, _MAX_INTERLEAVED_ROUNDS = 15, 400, 3000
_RESULTS = []           # (name, extra_info) for the terminal summary


def _threads():
    value = os.environ.get("NNKERNELS_BENCH_THREADS")
    return int(value) if value else nnkernels.get_num_threads()


def _quiet_wait():
    return float(os.environ.get("NNKERNELS_BENCH_QUIET", "0"))


def _wait_until_quiet(max_seconds, threshold=0.1):
    """Wait until other processes use < `threshold` cores over 0.25 s; seconds waited."""
    start = time.monotonic()
    while time.monotonic() - start < max_seconds:
        with _ForeignCpu() as foreign:
            time.sleep(0.25)
        if foreign.value is not None and foreign.value < threshold:
            break
    return round(time.monotonic() - start, 2)


def _budget():
    return float(os.environ.get("NNKERNELS_BENCH_BUDGET", "0.2"))


def _pools():
    """Compact description of every thread pool loaded in the process."""
    return [f"{p['internal_api']} {p.get('version') or ''} "
            f"{p.get('threading_layer') or ''} x{p['num_threads']} "
            f"({os.path.basename(p['filepath'])})".replace("  ", " ")
            for p in threadpoolctl.threadpool_info()]


class _ForeignCpu:
    """CPU used by other processes while a block runs, in cores (Linux /proc only).

    The load average is a slow moving average; this is the direct measurement: all
    busy CPU time minus this process's own, over the wall time.
    """

    def __enter__(self):
        self.value = None
        self._start = self._read()
        return self

    def __exit__(self, *exc):
        end = self._read()
        if self._start and end:
            total = end[0] - self._start[0]
            busy = (end[1] - self._start[1]) - (end[2] - self._start[2])
            cpus = end[3] or 1
            self.value = round(max(0.0, busy) / (total / cpus), 3) if total else None
        return False

    @staticmethod
    def _read():
        try:
            with open("/proc/stat") as f:
                fields = [int(v) for v in f.readline().split()[1:]]
            with open("/proc/self/stat") as f:
                own = f.read().rsplit(")", 1)[1].split()
            with open("/proc/stat") as f:
                cpus = sum(1 for line in f if line.startswith("cpu") and line[3].isdigit())
        except (OSError, IndexError, ValueError):
            return None
        total, idle = sum(fields[:8]), fields[3] + fields[4]
        # utime and stime of this process (all threads), fields 14 and 15 of stat
        return total, total - idle, int(own[11]) + int(own[12]), cpus


def _loadavg():
    try:
        return [round(v, 2) for v in os.getloadavg()]
    except OSError:  # not available on this platform
        return None


_START = {}


def pytest_configure(config):
    _START["loadavg"] = _loadavg()
    if os.environ.get("NNKERNELS_BENCH_THREADS"):
        nnkernels.set_num_threads(_threads())  # kernels' OpenMP loops and every BLAS pool


def pytest_benchmark_update_machine_info(config, machine_info):
    # Load every BLAS first so threadpool_info sees NumPy's and SciPy's pools.
    import scipy.linalg.blas  # noqa: F401
    machine_info["nnkernels_build_info"] = nnkernels.build_info()
    machine_info["threadpool_info"] = threadpoolctl.threadpool_info()
    machine_info["bench_threads"] = _threads()
    # This hook runs when the JSON is written, at the end of the session.
    machine_info["loadavg_at_start"] = _START.get("loadavg")
    machine_info["loadavg_at_end"] = _loadavg()
    busy = [e.get("other_processes_cpu") for _, e in _RESULTS]
    machine_info["other_processes_cpu_max"] = max((b for b in busy if b is not None),
                                                  default=None)
    machine_info["cpu_affinity"] = sorted(os.sched_getaffinity(0)) \
        if hasattr(os, "sched_getaffinity") else None


@pytest.fixture(scope="session")
def n_threads():
    """The thread count every kernel call in the benchmarks passes explicitly."""
    return _threads()


@pytest.fixture
def rng():
    return np.random.default_rng(0)


def _time_rounds(func, rounds, iterations):
    """Per-call seconds of `rounds` rounds of `iterations` back-to-back calls: the
    method pytest-benchmark's pedantic mode uses (one perf_counter pair per round)."""
    timer = time.perf_counter
    loop = range(iterations)
    samples = []
    for _ in range(rounds):
        start = timer()
        for _ in loop:
            func()
        samples.append((timer() - start) / iterations)
    return samples


def _per_call(func):
    """Rough seconds per call, after warming caches and thread pools."""
    func()
    calls, start = 0, time.perf_counter()
    while time.perf_counter() - start < 0.01 or calls < 3:
        func()
        calls += 1
    return (time.perf_counter() - start) / calls


def _rounds(per_round, low, high):
    return min(high, max(low, int(_budget() / per_round)))


def _interleaved(benchmark, ours, reference):
    """One call of `reference` before every round of `ours`, each timed by one
    perf_counter pair: both sides see the same machine, round by round.

    The reference runs in pytest-benchmark's `setup` hook, outside our timing.
    """
    per_call = _per_call(ours)
    _per_call(reference)
    rounds = _rounds(per_call, _MIN_ROUNDS, _MAX_INTERLEAVED_ROUNDS)
    warmup = max(1, rounds // 20)
    timer, samples = time.perf_counter, []

    def reference_round():
        start = timer()
        reference()
        samples.append(timer() - start)

    benchmark.pedantic(ours, setup=reference_round, rounds=rounds, warmup_rounds=warmup)
    return samples[warmup:], {"rounds": rounds, "iterations": 1, "mode": "interleaved"}


def _blocks(benchmark, ours, reference):
    """Reference, ours, reference, in blocks of rounds, with a pause between blocks.

    For references that run in another thread pool (NumPy's own OpenBLAS): two pools
    that alternate call by call spin against each other (see _SETTLE_SECONDS).
    """
    per_call = _per_call(ours)
    _per_call(reference)
    iterations = max(1, math.ceil(_ROUND_SECONDS / per_call))
    rounds = _rounds(per_call * iterations, _MIN_ROUNDS, _MAX_BLOCK_ROUNDS)
    first = rounds // 2
    time.sleep(_SETTLE_SECONDS)
    samples = _time_rounds(reference, first, iterations)
    time.sleep(_SETTLE_SECONDS)
    benchmark.pedantic(ours, rounds=rounds, iterations=iterations,
                       warmup_rounds=max(1, rounds // 10))
    time.sleep(_SETTLE_SECONDS)
    samples += _time_rounds(reference, rounds - first, iterations)
    return samples, {"rounds": rounds, "iterations": iterations, "mode": "blocks"}


@pytest.fixture
def compare(benchmark, request, n_threads):
    """Time `ours` with pytest-benchmark and `reference` the same way, then store

    extra_info: reference, reference_seconds, ours_seconds, ratio (reference time /
    our time, from the minima: > 1 means we are faster), ratio_median, target,
    meets_target (None where the issue sets no target), n_threads, the thread
    pools, the load average before and after, other_processes_cpu.

    By default the two sides alternate round by round (the machine's speed drifts by
    tens of per cent over fractions of a second, so timing them in separate stretches
    gives ratios off by as much). `same_pool=False` is for references that run in
    another thread pool than ours: they are timed in blocks, before and after ours.
    other_processes_cpu says how many cores other processes took meanwhile (> ~0.1:
    rerun on a quiet machine).
    """
    def run(ours, reference, *, reference_name, group, target, same_pool=True,
            flops=None, samples=None, **info):
        # target: "fused", "gemm" or None (see TARGETS); flops / samples per call of
        # `ours` add GFLOP/s and samples/s; **info goes into extra_info as is.
        benchmark.group = group
        extra = benchmark.extra_info
        extra.update(info)
        target = TARGETS[target]
        extra.update(group=group, reference=reference_name, n_threads=n_threads,
                     target=target, threadpools=_pools(), loadavg_before=_loadavg())
        if not benchmark.enabled:  # --benchmark-disable: one call each, no timing
            benchmark.pedantic(ours)
            reference()
            return
        if _quiet_wait() > 0:
            extra["waited_for_quiet_seconds"] = _wait_until_quiet(_quiet_wait())
        with _ForeignCpu() as foreign:
            ref, how = (_interleaved if same_pool else _blocks)(benchmark, ours, reference)
        ours_min = benchmark.stats.stats.min
        ours_median = benchmark.stats.stats.median
        ref_min, ref_median = min(ref), float(np.median(ref))
        extra.update(
            ours_seconds=ours_min,
            reference_seconds=ref_min,
            reference_median_seconds=ref_median,
            ratio=ref_min / ours_min,
            ratio_median=ref_median / ours_median,
            timing=how,
            loadavg_after=_loadavg(),
            # cores busy with other processes during this test; > ~0.1 spoils it
            other_processes_cpu=foreign.value,
        )
        if flops:
            extra["gflops"] = flops / ours_min / 1e9
            extra["reference_gflops"] = flops / ref_min / 1e9
        if samples:
            extra["samples_per_second"] = samples / ours_min
            extra["reference_samples_per_second"] = samples / ref_min
        extra["meets_target"] = None if target is None else bool(extra["ratio"] >= target)
        _RESULTS.append((request.node.name, dict(extra)))
    return run


def _fmt(value):
    return "?" if value is None else f"{value:.2f}"


@pytest.hookimpl(trylast=True)  # after pytest-benchmark's own tables
def pytest_terminal_summary(terminalreporter):
    if not _RESULTS:
        return
    tr = terminalreporter
    tr.section("nnkernels: ratio = reference time / our time (min of rounds; > 1: faster)")
    tr.write_line(f"threads={_threads()}  loadavg at start={_START.get('loadavg')} "
                  f"at end={_loadavg()}  'other': cores used by other processes")
    header = (f"{'benchmark':<46} {'ours us':>9} {'ref us':>9} {'ratio':>7} {'target':>7} "
              f"{'other':>6}  reference")
    tr.write_line(header)
    tr.write_line("-" * len(header))
    for name, e in sorted(_RESULTS, key=lambda r: (r[1]["group"], r[0])):
        flag = "  <-- below target" if e["meets_target"] is False else ""
        target = "-" if e["target"] is None else f"{e['target']:.2f}"
        tr.write_line(f"{name:<46} {e['ours_seconds'] * 1e6:9.2f} "
                      f"{e['reference_seconds'] * 1e6:9.2f} {e['ratio']:7.2f} "
                      f"{target:>7} {_fmt(e.get('other_processes_cpu')):>6}  "
                      f"{e['reference']}{flag}")
    busy = [e.get("other_processes_cpu") or 0 for _, e in _RESULTS]
    if max(busy) > 0.1:
        tr.write_line(f"WARNING: other processes used up to {max(busy):.2f} cores during "
                      f"some benchmarks ('other' column): those ratios are unreliable.")
