"""nnkernels against its peers, side by side: training and inference of the talk's two
MNIST models (issue 5).

    NNKERNELS_DATA=../shared/data python bench/compare.py [--threads 2] [--batch 100]
        [--dtype float32] [--epochs-seconds 3] [--json out.json]

Peers (bench/peers.py): hand-written NumPy, PyTorch eager, JAX (when installed), and
the GEMM-only ceiling (the step's GEMMs alone, through the BLAS nnkernels calls). Each
runs in a worker process of its own (its thread pools and environment untouched by the
others), with the thread count asked for; nnkernels also runs with 1 thread for the
speed-up. Measurements are interleaved (A B C A B C ...) with a pause between blocks
(idle BLAS threads spin for up to 0.1 s), and medians are reported, so drift of the
machine's speed affects every peer alike. Ratios are medians of per-round ratios:
ratio = peer time / nnkernels time (> 1: nnkernels is faster).

Before timing, the script waits (up to --max-wait seconds) until the 1-minute load
average is below --max-load, and it reports how many cores other processes used while
it measured ("other cpu"; above ~0.1 the numbers are not usable).

Training throughput is whole epochs over shuffled minibatches (np.take into buffers),
on real MNIST when nnkernels.datasets.load_mnist(download=False) finds it, else on
random data of MNIST's shape (said in the output). A full run takes about 4 minutes.
"""
import os

# The thread-pool environment the user gave us, recorded with the results and handed
# unchanged to the peers' workers, so NumPy and PyTorch run with their own defaults.
_WAIT_VARS = ("OMP_WAIT_POLICY", "OPENBLAS_THREAD_TIMEOUT")
_USER_ENV = {k: os.environ.get(k) for k in _WAIT_VARS}

import argparse  # noqa: E402
import importlib.util  # noqa: E402
import json  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import peers as P  # noqa: E402
from machine import cpu_description  # noqa: E402
from compare_measure import (Worker, import_seconds, load_data, measure_model,  # noqa: E402
                             run_peak)
from compare_report import comparisons, print_report  # noqa: E402
from machine_load import loadavg, log, wait_until_quiet  # noqa: E402


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--batch", type=int, default=100)
    ap.add_argument("--dtype", default="float32", choices=["float32", "float64"])
    ap.add_argument("--epochs-seconds", type=float, default=3.0,
                    help="about how many seconds of timed epochs per peer and model "
                         "(at least 3 epochs each, after a warm-up epoch)")
    ap.add_argument("--json", help="write every number here")
    ap.add_argument("--models", default="classifier,autoencoder")
    ap.add_argument("--peers", default="numpy,torch,jax,gemm",
                    help="peers besides nnkernels")
    ap.add_argument("--samples", type=int, default=0,
                    help="train on the first N samples only (a quick smoke test)")
    ap.add_argument("--max-wait", type=float, default=600,
                    help="seconds to wait for a quiet machine (0: don't wait)")
    ap.add_argument("--max-load", type=float, default=0.5,
                    help="quiet = 1-minute load average below this")
    args = ap.parse_args(argv)
    models = [m for m in args.models.split(",") if m]
    for m in models:
        if m not in P.MODELS:
            ap.error(f"unknown model {m!r}")

    quiet = {"waited_seconds": 0, "loadavg": loadavg(), "quiet": None}
    if args.max_wait > 0:
        log(f"waiting for 1-minute load < {args.max_load} (now {loadavg()})")
        quiet = wait_until_quiet(args.max_wait, args.max_load)
        if not quiet["quiet"]:
            log(f"WARNING: still busy after {args.max_wait:.0f} s: {quiet}")
    load_before = loadavg()
    start = time.monotonic()

    x, y, x_test, data_desc = load_data(args.dtype)
    if args.samples:
        x, y = x[:args.samples], y[:args.samples]
        data_desc += f", first {x.shape[0]} only"
    args.n_train, args.n_test = x.shape[0], x_test.shape[0]
    env = dict(os.environ)
    for k, v in _USER_ENV.items():
        if v is None:
            env.pop(k, None)
        else:
            env[k] = v

    unavailable, wanted = {}, []
    for name in [p for p in args.peers.split(",") if p]:
        if name not in P.PEERS or name == "nnkernels":
            ap.error(f"unknown peer {name!r}")
        if name in ("torch", "jax") and importlib.util.find_spec(name) is None:
            unavailable[name] = "not installed"
        else:
            wanted.append(name)

    workers = []
    with tempfile.TemporaryDirectory(prefix="nnk-compare-",
                                     dir="/dev/shm" if os.path.isdir("/dev/shm") else None) as tmp:
        import numpy as np
        data_path = os.path.join(tmp, "data.npz")
        np.savez(data_path, x=x, y=y, x_test=x_test)
        del x, y, x_test
        spec = {"batch": args.batch, "dtype": args.dtype, "data": data_path, "seed": 0}
        keys = [("nnkernels", "nnkernels", args.threads)]
        keys += [(name, name, args.threads) for name in wanted]
        if args.threads != 1:
            keys.append(("nnkernels@1", "nnkernels", 1))
        try:
            for key, peer, threads in keys:
                workers.append(Worker(key, peer, threads, spec, env))
            alive = []
            for w in workers:
                try:
                    w.ready()
                    alive.append(w)
                except RuntimeError as exc:
                    unavailable[w.key] = f"failed to start ({exc})"
            workers = alive
            pids = [w.pid for w in workers]
            pools, build = {}, None
            for w in workers:
                info = w.call("info")
                if w.key == "nnkernels":
                    build = info["build_info"]
                    blas = next((p for p in build["blas"] if p.get("used_by_kernels")),
                                build["blas"][0] if build["blas"] else {})
                    pools[w.key] = (f"OpenMP {build['openmp']} x{build['num_threads']}, "
                                    f"BLAS x{build['blas_num_threads']} "
                                    f"({blas.get('internal_api')} {blas.get('version')}), "
                                    f"OMP_WAIT_POLICY={info['env']['OMP_WAIT_POLICY']}")
                elif w.key in ("numpy", "torch", "jax"):
                    extra = info.get("torch") or info.get("jax")
                    pools[w.key] = "; ".join(info["threadpools"]) + (
                        f"; {extra}" if extra else "")
            results = {}
            for model in models:
                log(f"measuring {model} ...")
                results[model] = measure_model(model, workers, args, pids)
        finally:
            for w in workers:
                w.close()

    log("physical peak (2048^3 sgemm) ...")
    peak = run_peak(args.threads, env)
    for res in results.values():
        gflops = res["peers"]["nnkernels"]["gflops"]
        res["percent_of_peak"] = 100 * gflops / peak["gflops"] if peak else None

    log("import times ...")
    imports = {"nnkernels": import_seconds("nnkernels", env, 5),
               "numpy": import_seconds("numpy", env, 5)}
    if "torch" in wanted:
        imports["torch"] = import_seconds("torch", env, 3)

    others = [v for r in results.values() for v in
              (r["other_cpu_epochs"], r["other_cpu_steps"], r["other_cpu_inference"])
              if v is not None]
    report = {
        "config": {"threads": args.threads, "batch": args.batch, "dtype": args.dtype,
                   "epochs_seconds": args.epochs_seconds, "data": data_desc,
                   "n_train": args.n_train, "n_test": args.n_test},
        "machine": {"nproc": os.cpu_count(),
                    "affinity": len(os.sched_getaffinity(0))
                    if hasattr(os, "sched_getaffinity") else None,
                    "loadavg_before": load_before, "loadavg_after": loadavg(),
                    "quiet_wait": quiet, "other_cpu_max": max(others) if others else None,
                    "pools": pools, "nnkernels_build_info": build, "cpu": cpu_description(),
                    "peak": peak,
                    "seconds": round(time.monotonic() - start, 1),
                    "time": time.strftime("%Y-%m-%dT%H:%M:%S%z")},
        "unavailable": unavailable,
        "models": results,
        "import_seconds": imports,
    }
    report["comparisons"] = comparisons(report)
    print_report(report, unavailable)
    log(f"(run took {report['machine']['seconds']:.0f} s after the quiet wait)")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(report, f, indent=1)
        log(f"wrote {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
