"""Data-parallel training on this machine: 2 MPI ranks x 1 thread against 1 process x
2 threads, the Allreduce of the models' gradients, and the compute time of one step
(the figures behind docs/distributed.md).

    python bench/data_parallel.py [--rounds 3] [--json FILE]

launches, in alternation for each round, ``mpiexec -n 2 ... --worker --threads 1`` and
``mpiexec -n 1 ... --worker --threads 2`` (each configuration in processes of its own)
and prints the medians over the rounds, with the CPU model and the load. A worker
prints one JSON object (rank 0):

- ``allreduce_us``: median time of one in-place ``Allreduce`` (SUM) of each model's
  float32 parameter count (classifier 222,360; autoencoder 418,334), 2+ ranks only;
- ``samples_per_second``: training throughput on 4,000 random MNIST-shaped samples,
  global batch 100, shuffled: ``fit`` (one process, the fused compiled step),
  ``distributed-plan`` (the gradient-only plan call, Allreduce, update-only call) and
  ``distributed-layers`` (layer-by-layer gradients, Allreduce, optimizer.step);
- ``step_ms``: one process, the time of one training step at each batch size (the
  compute a rank spends per step).
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

N_SAMPLES = 4000
BATCH = 100
STEP_BATCHES = (25, 100, 400)


def _median_time(fn, repeat):
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def _allreduce_us(comm, n_params, repeat=100):
    from mpi4py import MPI
    buf = np.ones(n_params, np.float32)
    for _ in range(20):
        comm.Allreduce(MPI.IN_PLACE, buf, op=MPI.SUM)
    times = []
    for _ in range(repeat):
        comm.Barrier()
        start = time.perf_counter()
        comm.Allreduce(MPI.IN_PLACE, buf, op=MPI.SUM)
        times.append(time.perf_counter() - start)
    times = np.array(times)  # the slowest rank's time is the step's
    comm.Allreduce(MPI.IN_PLACE, times, op=MPI.MAX)
    return statistics.median(times) * 1e6


def _throughput(kind, path, comm, epochs=2):
    from nnkernels import distributed
    from nnkernels.models import mnist_autoencoder, mnist_classifier
    rng = np.random.default_rng(0)
    x = rng.random((N_SAMPLES, 784), dtype=np.float32)
    y = rng.integers(0, 10, N_SAMPLES) if kind == "classifier" else x
    model = (mnist_classifier if kind == "classifier" else mnist_autoencoder)(seed=0)
    saved = distributed._PlanShard
    if path == "distributed-layers":
        distributed._PlanShard = distributed._LayerShard
    try:
        fit = dict(batch_size=BATCH, seed=1, verbose=0,
                   distributed=comm if path != "fit" else False)
        model.fit(x, y, epochs=1, **fit)  # warm-up: plans built, pages touched
        seconds = model.fit(x, y, epochs=epochs, **fit).history["seconds"]
    finally:
        distributed._PlanShard = saved
    return N_SAMPLES / statistics.median(seconds)


def _step_ms(kind):
    from nnkernels.models import mnist_autoencoder, mnist_classifier
    rng = np.random.default_rng(0)
    out = {}
    for b in STEP_BATCHES:
        n = max(10 * b, 2000)
        x = rng.random((n, 784), dtype=np.float32)
        y = rng.integers(0, 10, n) if kind == "classifier" else x
        model = (mnist_classifier if kind == "classifier" else mnist_autoencoder)(seed=0)
        model.fit(x, y, epochs=1, batch_size=b, seed=1, verbose=0)
        seconds = min(model.fit(x, y, epochs=2, batch_size=b, seed=1,
                                verbose=0).history["seconds"])
        out[str(b)] = seconds / -(-n // b) * 1e3
    return out


def worker(threads):
    import nnkernels
    from mpi4py import MPI
    nnkernels.set_num_threads(threads)
    comm = MPI.COMM_WORLD
    result = {"ranks": comm.size, "threads": threads, "samples_per_second": {},
              "allreduce_us": {}, "step_ms": {}}
    for kind, n_params in (("classifier", 222_360), ("autoencoder", 418_334)):
        if comm.size > 1:
            result["allreduce_us"][kind] = _allreduce_us(comm, n_params)
        paths = ["distributed-plan", "distributed-layers"] + (["fit"] if comm.size == 1
                                                               else [])
        result["samples_per_second"][kind] = {p: _throughput(kind, p, comm) for p in paths}
        if comm.size == 1:
            result["step_ms"][kind] = _step_ms(kind)
    if comm.rank == 0:
        print(json.dumps(result))


def _cpu_model():
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return "unknown"


def driver(rounds, json_path):
    here = Path(__file__).resolve()
    mpiexec = str(Path(sys.executable).parent / "mpiexec")
    configs = {"2 ranks x 1 thread": (2, 1), "1 process x 2 threads": (1, 2),
               "1 process x 1 thread": (1, 1)}
    runs = {name: [] for name in configs}
    loads = [os.getloadavg()[0]]
    for r in range(rounds):
        for name, (ranks, threads) in configs.items():
            out = subprocess.run([mpiexec, "-n", str(ranks), sys.executable, "-m", "mpi4py",
                                  str(here),
                                  "--worker", "--threads", str(threads)],
                                 capture_output=True, text=True, check=True, timeout=900)
            runs[name].append(json.loads(out.stdout.strip().splitlines()[-1]))
            print(f"round {r + 1}/{rounds}: {name} done", file=sys.stderr)
        loads.append(os.getloadavg()[0])

    def med(name, *keys):
        values = []
        for run in runs[name]:
            v = run
            for k in keys:
                v = v.get(k, {}) if isinstance(v, dict) else {}
            if isinstance(v, (int, float)):
                values.append(v)
        return statistics.median(values) if values else None

    summary = {"cpu": _cpu_model(), "cores": os.cpu_count(), "rounds": rounds,
               "load_1min": loads, "runs": runs}
    print(f"CPU {summary['cpu']}, {summary['cores']} cores; 1-minute load during the "
          f"rounds: {', '.join(f'{x:.2f}' for x in loads)}")
    for kind in ("classifier", "autoencoder"):
        print(f"\n{kind}: samples/s, global batch {BATCH} (median of {rounds} rounds)")
        for name in configs:
            for path in ("fit", "distributed-plan", "distributed-layers"):
                value = med(name, "samples_per_second", kind, path)
                if value is not None:
                    print(f"  {name:<24}{path:<22}{value:>10,.0f}")
        ar = med("2 ranks x 1 thread", "allreduce_us", kind)
        print(f"  Allreduce of the gradients between 2 ranks: {ar:.0f} us")
        for name in ("1 process x 1 thread", "1 process x 2 threads"):
            steps = {b: med(name, "step_ms", kind, b) for b in map(str, STEP_BATCHES)}
            print(f"  one step, {name}: " + ", ".join(
                f"b={b} {ms:.2f} ms" for b, ms in steps.items()))
    if json_path:
        Path(json_path).write_text(json.dumps(summary, indent=1))


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--json", help="write every figure to this file")
    args = parser.parse_args()
    if args.worker:
        worker(args.threads)
    else:
        driver(args.rounds, args.json)


if __name__ == "__main__":
    main()
