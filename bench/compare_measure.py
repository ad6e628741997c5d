"""The measurements of bench/compare.py: each peer in a worker process of its own
(bench/peers.py --serve), the data, interleaved rounds, one model's training and
inference figures, the physical peak and import times."""
import json
import math
import os
import pickle
import statistics
import subprocess
import sys
import time

import peers as P
from machine_load import OtherCpu, log

HERE = os.path.dirname(os.path.abspath(__file__))

SETTLE = 0.2          # seconds between timed blocks of different peers
STEP_BLOCK = 0.25     # seconds per block of timed steps
STEP_ROUNDS = 3
INFER_ROUNDS = 3
LABELS = {"nnkernels": "nnkernels", "nnkernels@1": "nnkernels 1 thread", "numpy": "NumPy",
          "torch": "PyTorch eager", "jax": "JAX jit", "gemm": "GEMM-only ceiling"}


def import_seconds(module, env, repeats):
    """Best of `repeats` fresh interpreters: seconds `import module` takes."""
    code = ("import time; t = time.perf_counter(); import {m}; "
            "print(time.perf_counter() - t)").format(m=module)
    best = None
    for _ in range(repeats):
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                             env=env)
        if out.returncode != 0:
            return None
        value = float(out.stdout.strip().splitlines()[-1])
        best = value if best is None else min(best, value)
    return best


# -- workers ------------------------------------------------------------------------------

class Worker:
    """A peer in its own process (bench/peers.py --serve), driven by pickled commands."""

    def __init__(self, key, peer, threads, spec, env):
        self.key, self.peer, self.threads = key, peer, threads
        spec = dict(spec, peer=peer, threads=threads)
        self.proc = subprocess.Popen(
            [sys.executable, os.path.join(HERE, "peers.py"), "--serve", json.dumps(spec)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=env)
        self.pid = self.proc.pid

    def ready(self):
        return self._read()

    def _read(self):
        try:
            status, result = pickle.load(self.proc.stdout)
        except EOFError:
            raise RuntimeError(f"worker {self.key} died (exit code {self.proc.wait()})") \
                from None
        if status != "ok":
            raise RuntimeError(f"worker {self.key}: {result}")
        return result

    def call(self, *cmd):
        pickle.dump(cmd, self.proc.stdin)
        self.proc.stdin.flush()
        return self._read()

    def close(self):
        try:
            self.call("quit")
        except (RuntimeError, BrokenPipeError, OSError):
            pass
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()


def load_data(dtype):
    """(x, y, x_test, description): real MNIST if it is on disk, else random data."""
    import numpy as np
    from nnkernels.datasets import DatasetError, load_mnist
    try:
        (x, y), (x_test, _) = load_mnist(download=False)
    except DatasetError:
        x, y = P.random_data(60000, "classifier", dtype=dtype)
        x_test, _ = P.random_data(10000, "classifier", seed=2, dtype=dtype)
        return (x, y, np.asarray(x_test),
                "RANDOM data of MNIST's shape (MNIST not found: set NNKERNELS_DATA)")
    return (x.astype(dtype, copy=False), y, x_test.astype(dtype, copy=False),
            f"real MNIST ({x.shape[0]} training images)")


def median(values):
    return statistics.median(values) if values else None


# -- the measurements ---------------------------------------------------------------------

def interleaved(workers, rounds, cmd_for, monitor_pids):
    """rounds x (each worker in order: pause, one command). Returns {key: [results]} and
    the cores other processes used meanwhile."""
    results = {w.key: [] for w in workers}
    with OtherCpu(monitor_pids) as other:
        for r in range(rounds):
            for w in workers:
                time.sleep(SETTLE)
                results[w.key].append(w.call(*cmd_for(w, r)))
    return results, other.value


def paired_ratio(ours, theirs):
    """Median over rounds of theirs[r] / ours[r] (times: > 1 means ours is faster)."""
    return median([t / o for o, t in zip(ours, theirs) if o > 0])


def measure_model(model, workers, args, pids):
    res = {"model": model, "flops_per_sample": P.flops_per_sample(model),
           "gemms_per_step": len(P.gemm_shapes(model, args.batch)), "peers": {}}
    for w in workers:
        w.call("init", model)
    # correctness: every real peer starts from the same weights; compare 3 steps' losses
    checks = {w.key: w.call("check", model, 3)["losses"] for w in workers
              if w.peer not in ("gemm",) and w.key != "nnkernels@1"}
    ref = checks.get("numpy")
    res["check_losses"] = checks
    res["check_ok"] = all(
        all(abs(a - b) <= 2e-3 * max(1.0, abs(b)) for a, b in zip(v, ref))
        for v in checks.values()) if ref else None
    if not res["check_ok"]:
        log(f"  WARNING {model}: peers disagree on the first steps' losses: {checks}")

    # epochs: one warm-up epoch each, then R interleaved rounds
    log(f"  {model}: warm-up epochs")
    warm, _ = interleaved(workers, 1, lambda w, r: ("epoch", model, 100), pids)
    typical = median([v[0][0] for v in warm.values()])
    rounds = max(3, math.ceil(args.epochs_seconds / typical))
    log(f"  {model}: {rounds} timed epochs per peer (typical epoch {typical:.2f} s)")
    epochs, other_epochs = interleaved(workers, rounds, lambda w, r: ("epoch", model, r + 1),
                                       pids)
    # steps: blocks of individually timed steps on fixed batches (no gathering)
    step_est = {k: v[0][0] / (args.n_train / args.batch) for k, v in warm.items()}
    steps, other_steps = interleaved(
        workers, STEP_ROUNDS,
        lambda w, r: ("steps", model, max(20, int(STEP_BLOCK / max(step_est[w.key], 1e-6)))),
        pids)
    nnk = [t for t, _ in epochs["nnkernels"]]
    nnk_step = median([s for block in steps["nnkernels"] for s in block])
    for w in workers:
        times = [t for t, _ in epochs[w.key]]
        step_all = [s for block in steps[w.key] for s in block]
        med = median(times)
        sps = args.n_train / med
        res["peers"][w.key] = {
            "label": LABELS.get(w.key, w.key), "threads": w.threads,
            "epoch_seconds": times, "epoch_seconds_median": med,
            "samples_per_second": sps,
            "gflops": sps * res["flops_per_sample"] / 1e9,
            "final_loss": epochs[w.key][-1][1],
            "step_seconds_median": median(step_all),
            "step_samples_per_second": args.batch / median(step_all),
            # > 1: nnkernels faster than this peer
            "nnkernels_ratio": paired_ratio(nnk, times),
            "nnkernels_step_ratio": median(step_all) / nnk_step,
        }
    res["other_cpu_epochs"], res["other_cpu_steps"] = other_epochs, other_steps
    if "gemm" in res["peers"]:
        res["percent_of_gemm_ceiling"] = 100 * res["peers"]["gemm"]["nnkernels_ratio"]
        res["step_percent_of_gemm_ceiling"] = \
            100 * res["peers"]["gemm"]["nnkernels_step_ratio"]
    if "nnkernels@1" in res["peers"]:
        res["speedup_threads"] = res["peers"]["nnkernels@1"]["nnkernels_ratio"]

    # inference: the 10,000 test images in one batch, and one image
    infer = [w for w in workers if w.peer in ("nnkernels", "numpy", "torch", "jax")
             and w.key != "nnkernels@1"]
    log(f"  {model}: inference")
    batch_times, other_inf = interleaved(infer, INFER_ROUNDS,
                                         lambda w, r: ("predict", model, args.n_test, 5), pids)
    lat, _ = interleaved(infer, INFER_ROUNDS, lambda w, r: ("latency", model, 200), pids)
    inference = {}
    for w in infer:
        bt = median([min(block) for block in batch_times[w.key]])
        lp = median([median(block["predict"]) for block in lat[w.key]])
        entry = {"label": LABELS.get(w.key, w.key), "batch_seconds": bt,
                 "batch_samples_per_second": args.n_test / bt, "latency_seconds": lp}
        if "forward" in lat[w.key][0]:
            entry["latency_forward_seconds"] = median([median(b["forward"])
                                                       for b in lat[w.key]])
        inference[w.key] = entry
    n = inference["nnkernels"]
    for key, entry in inference.items():
        entry["nnkernels_batch_ratio"] = entry["batch_seconds"] / n["batch_seconds"]
        entry["nnkernels_latency_ratio"] = entry["latency_seconds"] / n["latency_seconds"]
    res["inference"] = inference
    res["other_cpu_inference"] = other_inf
    return res


def run_peak(threads, env):
    """bench/peak.py's 2048^3 sgemm on `threads` threads, in a process of its own."""
    proc = subprocess.run([sys.executable, os.path.join(HERE, "peak.py"), str(threads)],
                          env=env, capture_output=True, text=True, timeout=600)
    lines = [line for line in proc.stdout.splitlines() if line.startswith("{")]
    if proc.returncode != 0 or not lines:
        log(f"  peak measurement failed: {proc.stderr[-500:]}")
        return None
    return json.loads(lines[-1])
