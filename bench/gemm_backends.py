"""OpenBLAS against oneDNN on the MNIST models' step products, in one interleaved run.

The classifier's 8 and the autoencoder's 11 products of one training step at batch 100
(forward x @ W, weight gradient x^T dy, input gradient dy W^T), float32, through the
kernels' own GEMM entry (nnkernels/_blas_probe.pyx, time_products: the loops run in C):

- ``one``: one thread, each product whole (gemm_rows);
- ``split``: one parallel region of THREADS OpenMP threads, each product split by
  columns (rows when taller than wide) with a barrier after each, as the plans do;
- ``cpu``: the ``one`` runs timed by the thread's CPU time instead of the wall clock
  (what the products cost when the thread has a core; on a busy machine the wall clock
  also counts the time spent waiting for one);
- ``library``: the library's own threads (OpenBLAS set to THREADS; oneDNN given THREADS
  OpenMP threads of the same GNU OpenMP pool), called from one thread: a product whose
  shared operand the library packs once for all its threads.

Every round times every (library, mode) once, in an order that alternates; medians of
the rounds are printed as GFLOP/s and as classifier/autoencoder samples/s of GEMM time,
with the CPU, its flags and the load average. Then the thread check: threads in
/proc/self/task and process CPU time during a 2-thread split with oneDNN, and CPU time
while the process sleeps right after it (threads spinning between calls show there).

Usage: python bench/gemm_backends.py [--rounds 15] [--threads 2] [--repeats 5]
"""
import argparse
import os
import resource
import statistics
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from machine import cpu_description  # noqa: E402

import nnkernels  # noqa: E402
from nnkernels import _blas_loader, _blas_probe, _gemm_choice  # noqa: E402

MODELS = {"classifier": (784, 250, 100, 10), "autoencoder": (784, 250, 50, 250, 784)}
BATCH = 100


def step_products(layers, rng):
    products = []
    for i, (fi, fo) in enumerate(zip(layers[:-1], layers[1:])):
        x = rng.standard_normal((BATCH, fi), dtype=np.float32)
        w = rng.standard_normal((fi, fo), dtype=np.float32)
        dy = rng.standard_normal((BATCH, fo), dtype=np.float32)
        products.append((False, False, x, w, np.empty((BATCH, fo), np.float32)))
        products.append((True, False, x, dy, np.empty((fi, fo), np.float32)))
        if i > 0:
            products.append((False, True, dy, w, np.empty((BATCH, fi), np.float32)))
    flops = sum(2 * c.shape[0] * c.shape[1] * (a.shape[0] if ta else a.shape[1])
                for ta, _, a, _, c in products)
    return products, flops


def cpu_seconds():
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def thread_check(products, threads, repeats=200):
    """Threads and CPU time of a plan-like split with oneDNN, then of an idle pause."""
    # From the main thread, with the OpenMP thread count at `threads`: held to the
    # calling thread, oneDNN uses one CPU's time.
    c0, t0 = cpu_seconds(), time.perf_counter()
    _blas_probe.time_products(products, "onednn", 1, "one", repeats // 2)
    one = (cpu_seconds() - c0) / (time.perf_counter() - t0)
    tasks_before = len(os.listdir("/proc/self/task"))
    c0, t0 = cpu_seconds(), time.perf_counter()
    _blas_probe.time_products(products, "onednn", threads, "split", repeats)
    c1, t1 = cpu_seconds(), time.perf_counter()
    tasks_after = len(os.listdir("/proc/self/task"))
    time.sleep(0.5)
    c2, t2 = cpu_seconds(), time.perf_counter()
    with open("/proc/self/maps") as f:
        gomp = sorted({line.split()[-1] for line in f if "libgomp" in line})
    return {"CPU time / wall time, gemm_rows from the main thread": round(one, 2),
            "threads before": tasks_before, "threads after": tasks_after,
            "CPU time / wall time, split run": round((c1 - c0) / (t1 - t0), 2),
            "CPU time / wall time, 0.5 s sleep after it": round((c2 - c1) / (t2 - t1), 3),
            "libgomp files mapped": gomp}


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=15)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--repeats", type=int, default=5, help="passes over the products per timing")
    args = ap.parse_args()
    why = _gemm_choice._load_onednn()
    if why is not None:
        sys.exit(f"gemm_backends.py: {why}")
    nnkernels.set_num_threads(args.threads)
    print(f"CPU: {cpu_description()}")
    print(f"load average before: {os.getloadavg()}")
    print(f"OpenBLAS: {_blas_loader.openblas_config()} ({_blas_loader.library_path()})")
    print(f"oneDNN: {_blas_loader.onednn_version()} ({_blas_loader.onednn_path()})")
    rng = np.random.default_rng(0)
    sets = {name: step_products(layers, rng) for name, layers in MODELS.items()}
    libs = ("openblas", "onednn")
    modes = [("one", 1), ("split", args.threads), ("library", args.threads)]
    runs = {}
    for name, (products, _) in sets.items():  # warm-up: JIT, priming, page faults
        for lib in libs:
            for mode, nt in modes:
                _blas_probe.time_products(products, lib, nt, mode, 2)
    for r in range(args.rounds):
        for name, (products, _) in sets.items():
            for mode, nt in modes:
                for lib in (libs if r % 2 == 0 else libs[::-1]):
                    cpu0 = time.thread_time()
                    s = _blas_probe.time_products(products, lib, nt, mode, args.repeats)
                    runs.setdefault((name, mode, lib), []).append(s / args.repeats)
                    if mode == "one":  # the calling thread's CPU time: the work alone,
                        # without the time it waited for a core on a busy machine
                        runs.setdefault((name, "cpu", lib), []).append(
                            (time.thread_time() - cpu0) / args.repeats)
                    if mode == "library" and lib == "openblas":
                        # OpenBLAS's idle workers spin up to ~0.1 s (bench/README.md,
                        # "Thread pools that spin"): let them sleep before the next timing
                        time.sleep(0.12)
    print(f"load average after: {os.getloadavg()}")
    print(f"\nmedians of {args.rounds} interleaved rounds, {args.repeats} passes each; "
          f"threads = {args.threads} for split/library\n")
    print("| model | mode | OpenBLAS GFLOP/s | oneDNN GFLOP/s | oneDNN / OpenBLAS | "
          "samples/s of GEMM time (OpenBLAS / oneDNN) |")
    print("| --- | --- | ---: | ---: | ---: | ---: |")
    for name, (products, flops) in sets.items():
        for mode, nt in modes + [("cpu", 1)]:
            med = {lib: statistics.median(runs[name, mode, lib]) for lib in libs}
            g = {lib: flops / med[lib] / 1e9 for lib in libs}
            sps = {lib: BATCH / med[lib] for lib in libs}
            label = {"one": "1 thread", "split": f"{nt} threads, column split (plan)",
                     "library": f"{nt} threads, library's own",
                     "cpu": "1 thread, by its CPU time"}[mode]
            print(f"| {name} | {label} | {g['openblas']:.1f} | {g['onednn']:.1f} | "
                  f"{g['onednn'] / g['openblas']:.2f} | {sps['openblas']:,.0f} / "
                  f"{sps['onednn']:,.0f} |")
    print("\nthreads, oneDNN in a", args.threads, "thread split:",
          thread_check(sets["classifier"][0], args.threads))
    t0 = time.perf_counter()
    choice = _gemm_choice.measure()
    print(f"\nthe first-use measurement: {time.perf_counter() - t0:.2f} s, "
          f"{choice['rounds']} rounds -> gemm {choice['gemm']}, gemv {choice['gemv']}")
    for lib, modes_s in choice["seconds"].items():
        print(f"  {lib}: " + ", ".join(f"{m} {1e3 * v:.3f} ms" for m, v in modes_s.items()))


if __name__ == "__main__":
    main()
