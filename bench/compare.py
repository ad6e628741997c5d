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
import math  # noqa: E402
import pickle  # noqa: E402
import statistics  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import peers as P  # noqa: E402
from machine import cpu_description  # noqa: E402

SETTLE = 0.2          # seconds between timed blocks of different peers
STEP_BLOCK = 0.25     # seconds per block of timed steps
STEP_ROUNDS = 3
INFER_ROUNDS = 3
LABELS = {"nnkernels": "nnkernels", "nnkernels@1": "nnkernels 1 thread", "numpy": "NumPy",
          "torch": "PyTorch eager", "jax": "JAX jit", "gemm": "GEMM-only ceiling"}


def log(msg):
    print(msg, file=sys.stderr, flush=True)


# -- machine state ------------------------------------------------------------------------

def loadavg():
    try:
        return [round(v, 2) for v in os.getloadavg()]
    except OSError:
        return None


def _proc_cpu(pid):
    """utime + stime of a process (all its threads), in clock ticks; None if gone."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return int(fields[11]) + int(fields[12])
    except (OSError, IndexError, ValueError):
        return None


def _system_cpu():
    """(total ticks, busy ticks, number of cpus) from /proc/stat."""
    with open("/proc/stat") as f:
        lines = f.readlines()
    fields = [int(v) for v in lines[0].split()[1:]]
    cpus = sum(1 for line in lines if line.startswith("cpu") and line[3].isdigit())
    total = sum(fields[:8])
    return total, total - fields[3] - fields[4], cpus


class OtherCpu:
    """Cores used by processes other than ours (this one and `pids`) while a block runs."""

    def __init__(self, pids=()):
        self.pids = [os.getpid(), *pids]
        self.value = None

    def _read(self):
        try:
            total, busy, cpus = _system_cpu()
        except (OSError, ValueError, IndexError):
            return None
        return total, busy, cpus, sum(_proc_cpu(p) or 0 for p in self.pids)

    def __enter__(self):
        self._start = self._read()
        return self

    def __exit__(self, *exc):
        end = self._read()
        if self._start and end and end[0] > self._start[0]:
            wall_cores = (end[0] - self._start[0]) / end[2]
            other = (end[1] - self._start[1]) - (end[3] - self._start[3])
            self.value = round(max(0.0, other) / wall_cores, 3)
        return False


def top_processes(seconds=1.0, count=3):
    """The processes that used the most CPU over `seconds`: [(cores, pid, name)]."""
    def snapshot():
        out = {}
        for name in os.listdir("/proc"):
            if name.isdigit():
                ticks = _proc_cpu(int(name))
                if ticks is not None:
                    out[int(name)] = ticks
        return out
    first = snapshot()
    time.sleep(seconds)
    second = snapshot()
    hz = os.sysconf("SC_CLK_TCK")
    busy = []
    for pid, ticks in second.items():
        delta = ticks - first.get(pid, ticks)
        if delta > 0 and pid != os.getpid():
            try:
                with open(f"/proc/{pid}/comm") as f:
                    comm = f.read().strip()
            except OSError:
                comm = "?"
            busy.append((round(delta / hz / seconds, 2), pid, comm))
    return sorted(busy, reverse=True)[:count]


def wait_until_quiet(max_wait, max_load, poll=5.0):
    """Poll /proc/loadavg (and per-process CPU) until the 1-minute load is below
    max_load; at most max_wait seconds. Returns what was seen."""
    start = time.monotonic()
    last_report = -1e9
    while True:
        load = loadavg()
        waited = time.monotonic() - start
        if load is None or load[0] < max_load:
            return {"waited_seconds": round(waited, 1), "loadavg": load, "quiet": True}
        if waited >= max_wait:
            return {"waited_seconds": round(waited, 1), "loadavg": load, "quiet": False,
                    "busy_processes": top_processes()}
        busy = top_processes(seconds=min(poll, 1.0))
        if waited - last_report >= 30:
            log(f"  waiting for a quiet machine: load {load}, busiest "
                f"{', '.join(f'{c} cores {n}[{p}]' for c, p, n in busy) or 'none'} "
                f"({waited:.0f}/{max_wait:.0f} s)")
            last_report = waited
        time.sleep(max(0.0, poll - 1.0))


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


# -- output -------------------------------------------------------------------------------

def run_peak(threads, env):
    """bench/peak.py's 2048^3 sgemm on `threads` threads, in a process of its own."""
    proc = subprocess.run([sys.executable, os.path.join(HERE, "peak.py"), str(threads)],
                          env=env, capture_output=True, text=True, timeout=600)
    lines = [line for line in proc.stdout.splitlines() if line.startswith("{")]
    if proc.returncode != 0 or not lines:
        log(f"  peak measurement failed: {proc.stderr[-500:]}")
        return None
    return json.loads(lines[-1])


def _fmt(value, spec, missing="-"):
    return missing if value is None else format(value, spec)


def print_report(report, unavailable):
    cfg, m = report["config"], report["machine"]
    print(f"nnkernels vs peers: {cfg['threads']} threads, batch {cfg['batch']}, "
          f"{cfg['dtype']}, {cfg['data']}")
    print(f"machine: {m['nproc']} cpus (affinity {m['affinity']}), loadavg before "
          f"{m['loadavg_before']} (waited {m['quiet_wait']['waited_seconds']} s), after "
          f"{m['loadavg_after']}; other processes used up to {m['other_cpu_max']} cores "
          f"while timing{'  <-- UNRELIABLE (> 0.1)' if (m['other_cpu_max'] or 0) > 0.1 else ''}")
    print(f"cpu: {m['cpu']}")
    if m.get("peak"):
        print(f"peak, 2048^3 sgemm on {cfg['threads']} threads: nnkernels' BLAS "
              f"{m['peak']['nnkernels_gflops']:.0f} GFLOP/s, NumPy's "
              f"{m['peak']['numpy_gflops']:.0f} GFLOP/s (OpenBLAS kernels "
              f"{sorted(set(map(tuple, m['peak']['blas'])))})")
    print(f"thread pools: nnkernels {m['pools'].get('nnkernels')}")
    for key in ("numpy", "torch", "jax"):
        if key in m["pools"]:
            print(f"              {key} {m['pools'][key]}")
    for res in report["models"].values():
        name = res["model"]
        sizes = "-".join([str(P.MODELS[name]["sizes"][0][0])]
                         + [str(o) for _, o, _ in P.MODELS[name]["sizes"]])
        print()
        print(f"{name} {sizes}: {res['flops_per_sample'] / 1e6:.3f} MFLOP/sample, "
              f"{res['gemms_per_step']} GEMMs/step; epochs: median of "
              f"{len(res['peers']['nnkernels']['epoch_seconds'])}; losses agree: "
              f"{res['check_ok']}")
        head = (f"  {'peer':<20} {'samples/s':>10} {'GFLOP/s':>8} {'nnk ratio':>9} "
                f"{'step us':>8} {'step ratio':>10}")
        print(head)
        print("  " + "-" * (len(head) - 2))
        for key, p in res["peers"].items():
            print(f"  {p['label']:<20} {p['samples_per_second']:10,.0f} {p['gflops']:8.1f} "
                  f"{p['nnkernels_ratio']:9.2f} {p['step_seconds_median'] * 1e6:8.0f} "
                  f"{p['nnkernels_step_ratio']:10.2f}")
        for key in unavailable:
            print(f"  {LABELS.get(key, key):<20} {unavailable[key]}")
        extra = []
        if "percent_of_gemm_ceiling" in res:
            extra.append(f"nnkernels = {res['percent_of_gemm_ceiling']:.0f} % of the GEMM-only "
                         f"ceiling (epochs; steps {res['step_percent_of_gemm_ceiling']:.0f} %)")
        if res.get("percent_of_peak") is not None:
            extra.append(f"{res['percent_of_peak']:.0f} % of the physical peak")
        if "speedup_threads" in res:
            extra.append(f"1 -> {cfg['threads']} threads: x{res['speedup_threads']:.2f}")
        extra.append(f"other cpu: {_fmt(res['other_cpu_epochs'], '.2f', '?')} (epochs), "
                     f"{_fmt(res['other_cpu_steps'], '.2f', '?')} (steps)")
        print("  " + "; ".join(extra))
        inf = res["inference"]
        print(f"  inference {'':<10} {'10k batch ms':>12} {'ratio':>6} {'1 image us':>11} "
              f"{'ratio':>6}")
        for key, e in inf.items():
            fwd = (f"  (forward only {e['latency_forward_seconds'] * 1e6:.0f} us)"
                   if "latency_forward_seconds" in e else "")
            print(f"  {e['label']:<20} {e['batch_seconds'] * 1e3:12.2f} "
                  f"{e['nnkernels_batch_ratio']:6.2f} {e['latency_seconds'] * 1e6:11.1f} "
                  f"{e['nnkernels_latency_ratio']:6.2f}{fwd}")
    imp = report["import_seconds"]
    print()
    print("import time (fresh interpreter, best of 5): " + ", ".join(
        f"{k} {_fmt(v and v * 1e3, '.0f', 'n/a')} ms" for k, v in imp.items()))
    print("ratio = peer time / nnkernels time (> 1: nnkernels faster); medians of paired "
          "rounds.")


def comparisons(report):
    """Flat list for bench/check_regression.py: name, reference, ratio (> 1: faster)."""
    fields = {"peers": (("epoch", "nnkernels_ratio"), ("step", "nnkernels_step_ratio")),
              "inference": (("predict10k", "nnkernels_batch_ratio"),
                            ("latency", "nnkernels_latency_ratio"))}
    return [{"name": f"compare/{name}/{what}/{key}", "reference": key, "ratio": entry[field]}
            for name, res in report["models"].items()
            for section, pairs in fields.items()
            for key, entry in res[section].items() if key != "nnkernels"
            for what, field in pairs]


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
