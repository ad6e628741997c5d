"""nnkernels `fit` against the reference peers, whole epochs of MNIST, side by side.

    python bench/vs_peers.py --peers ../shared/peers [--rounds 3] [--batch 100]
        [--epochs 4] [--dtype float32] [--openblas-env keep|unset] [--busy 0,1]
        [--inference] [--json out.json]

The peers are the reference implementations kept outside this repository (a folder
with common.py, jax_peer.py, numpy_peer.py, torch_peer.py and peak.py; each prints one
JSON line). nnkernels runs under the same protocol, through the peers' own common.py:
the same MNIST arrays, the same Glorot-normal float32 weights, RMSProp (rho 0.9, lr
1e-3, eps 1e-8 outside the square root), the same thread settings (ANCHOR_THREADS set
before anything loads), whole epochs of shuffled minibatches, the median of the epochs
after the first. Every configuration runs in a process of its own, in rounds
(A B C ... A B C ...), so that drift of the machine's speed touches all alike; the
table gives the median over rounds.

--busy N (or a list, 0,1) runs every measurement with N other processes spinning on
the cores, started before the measurement and killed after it, the same for every
peer; with a list, each round measures every configuration under each load in turn,
and a table per load follows. --inference adds the pretrained classifier's
inference (bench/inference.py: nnkernels, onnxruntime, PyTorch; one image and 10,000)
to the rounds.

The physical peak is a 2048^3 sgemm on the same threads, best of 5, through NumPy's
OpenBLAS and through the BLAS nnkernels calls (bench/peak.py); the model's
GFLOP/s (0.940 MFLOP per classifier sample, 2.11 per autoencoder sample) are given
as a share of the higher of the two.

--openblas-env unset runs every process without OPENBLAS_CORETYPE and
OPENBLAS_L2_SIZE (some machines set them to keep old OpenBLAS builds off AVX-512
kernels; current OpenBLAS then picks its own); the table says which kernels each
OpenBLAS used. JAX and PyTorch do not use OpenBLAS.
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import textwrap

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from machine import cpu_description  # noqa: E402
FLOPS = {"w1": 0.940e6, "w2": 2.11e6}
NAMES = {"w1": "classifier 784-250-100-10", "w2": "autoencoder 784-250-50-250-784"}

NNKERNELS_WORKER = textwrap.dedent('''
    import sys
    sys.path.insert(0, sys.argv[1])
    import common  # noqa: F401  (thread settings first, as in every peer)
    from common import AE, MLP, N_TRAIN, Noise, emit, glorot_normal, load, summarize
    import numpy as np
    import nnkernels
    from nnkernels import Dense, RMSProp, Sequential
    from threadpoolctl import threadpool_info

    workload, batch, epochs, dtype = sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), sys.argv[5]
    nnkernels.set_num_threads(common.THREADS)
    noise = Noise()
    sizes = MLP if workload == "w1" else AE
    xtr, ytr, xte, yte = load()
    x = xtr.astype(dtype)
    acts = ["relu"] * (len(sizes) - 2) + ([None] if workload == "w1" else ["sigmoid"])
    model = Sequential([Dense(a, b, act, dtype=dtype) for a, b, act in zip(sizes, sizes[1:], acts)])
    model.set_weights([a for pair in glorot_normal(sizes) for a in pair])
    model.compile(RMSProp(lr=1e-3, rho=0.9, eps=1e-8),
                  "softmax_cross_entropy" if workload == "w1" else "mse")
    history = model.fit(x, ytr if workload == "w1" else x, epochs=epochs, batch_size=batch,
                        seed=1, verbose=0)
    out = {"peer": "nnkernels", "workload": workload, "batch": batch, "dtype": dtype,
           "threads": common.THREADS, **summarize(history.history["seconds"], N_TRAIN)}
    if workload == "w1":
        out["test_accuracy"] = model.evaluate(xte.astype(dtype), yte)["accuracy"]
    else:
        out["test_mse"] = model.evaluate(xte.astype(dtype), xte.astype(dtype))["loss"]
    ours = nnkernels._blas_loader.library_path()
    out["blas"] = [(p["version"], p["architecture"]) for p in threadpool_info()
                   if ours and os.path.realpath(p["filepath"]) == os.path.realpath(ours)]
    out.update(noise.report())
    emit(out)
''').replace("import sys\n", "import os\nimport sys\n", 1)



def run(cmd, env, busy=0, timeout=900):
    """Run one measurement with `busy` processes spinning beside it; its JSON line."""
    spinners = [subprocess.Popen([sys.executable, "-c", "while True: pass"])
                for _ in range(busy)]
    try:
        proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=timeout)
    finally:
        for spinner in spinners:
            spinner.kill()
            spinner.wait()
    lines = [line for line in proc.stdout.splitlines() if line.startswith("{")]
    if proc.returncode != 0 or not lines:
        print(f"FAILED: {' '.join(cmd)}\n{proc.stderr[-2000:]}", file=sys.stderr)
        return None
    return json.loads(lines[-1])


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--peers", required=True, help="folder of the reference peer scripts")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--batch", type=int, default=100)
    ap.add_argument("--epochs", type=int, default=4)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--dtype", default="float32", choices=["float32", "float64"])
    ap.add_argument("--workloads", default="w1,w2")
    ap.add_argument("--skip", default="", help="peers to leave out, e.g. torch,numpy")
    ap.add_argument("--openblas-env", default="keep", choices=["keep", "unset"])
    ap.add_argument("--busy", default="0",
                    help="spinning processes beside every measurement: N, or a list 0,1")
    ap.add_argument("--inference", action="store_true",
                    help="also the pretrained classifier's inference against onnxruntime "
                         "and PyTorch")
    ap.add_argument("--json", help="write every raw result here")
    args = ap.parse_args(argv)
    try:
        loads = [int(n) for n in args.busy.split(",")]
        if not loads or min(loads) < 0:
            raise ValueError
    except ValueError:
        ap.error(f"argument --busy: expected N or a list like 0,1 of integers >= 0; "
                 f"got {args.busy!r}")
    peers = os.path.abspath(args.peers)
    base_env = dict(os.environ)
    if args.openblas_env == "unset":
        base_env.pop("OPENBLAS_CORETYPE", None)
        base_env.pop("OPENBLAS_L2_SIZE", None)

    def env(threads):
        e = dict(base_env, ANCHOR_THREADS=str(threads))
        for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
            e.pop(var, None)
        return e

    skip = set(filter(None, args.skip.split(",")))
    configs = []
    for w in args.workloads.split(","):
        configs.append(("nnkernels", w, args.threads,
                        [sys.executable, "-c", NNKERNELS_WORKER, peers, w, str(args.batch),
                         str(args.epochs), args.dtype]))
        configs.append(("nnkernels@1", w, 1,
                        [sys.executable, "-c", NNKERNELS_WORKER, peers, w, str(args.batch),
                         str(args.epochs), args.dtype]))
        for name, script, extra in (("jax-scan", "jax_peer.py", ["--scan"]),
                                    ("numpy", "numpy_peer.py", []),
                                    ("torch", "torch_peer.py", [])):
            if name.split("-")[0] in skip:
                continue
            configs.append((name, w, args.threads,
                            [sys.executable, os.path.join(peers, script), "--workload", w,
                             "--batch", str(args.batch), "--epochs", str(args.epochs), *extra]))
    if args.inference:
        for engine in ("nnkernels", "onnxruntime", "torch"):
            for threads in sorted({1, args.threads}):
                configs.append((f"{engine}@{threads}", "inference", threads,
                                [sys.executable, os.path.join(HERE, "inference.py"), engine,
                                 str(threads)]))
    peak_cmd = [sys.executable, os.path.join(HERE, "peak.py"), str(args.threads)]
    print(cpu_description(), flush=True)
    print(f"batch {args.batch}, {args.dtype} (nnkernels; the peers are float32), "
          f"{args.threads} threads, OPENBLAS_CORETYPE "
          f"{base_env.get('OPENBLAS_CORETYPE', 'unset')}, load {os.getloadavg()}, "
          f"spinning processes beside each measurement: {args.busy}", flush=True)
    results = {}
    for r in range(args.rounds):
        out = run(peak_cmd, env(args.threads))
        if out:
            results.setdefault(("peak", "-"), []).append(out)
        for busy in loads:
            for name, w, threads, cmd in configs:
                out = run(cmd, env(threads), busy)
                if not out:
                    continue
                results.setdefault((name, w, busy), []).append(out)
                figure = (f"{out['images_per_s']:>10,.0f} images/s, one image "
                          f"{out['us_one']:.1f} us" if w == "inference" else
                          f"{out['samples_per_s_median']:>10,.0f} samples/s, steal "
                          f"{out.get('steal_fraction', 0):.1%}")
                print(f"round {r + 1}, busy {busy}: {name:14} {w} {figure}", file=sys.stderr,
                      flush=True)
    peaks = results.get(("peak", "-"), [{"gflops": float("nan"), "nnkernels_gflops": 0,
                                          "numpy_gflops": 0, "blas": []}])
    peak = statistics.median(o["gflops"] for o in peaks)
    steal = max((o.get("steal_fraction", 0) for v in results.values() for o in v), default=0)
    print(f"\nhypervisor steal, worst process: {steal:.1%} of the cores (above ~1 %, 2-thread "
          f"figures of that round are unreliable)")
    print(f"\npeak 2048^3 sgemm, {args.threads} threads (bench/peak.py): nnkernels' BLAS "
          f"{statistics.median(o['nnkernels_gflops'] for o in peaks):.0f} GFLOP/s, NumPy's "
          f"{statistics.median(o['numpy_gflops'] for o in peaks):.0f} GFLOP/s; "
          f"OpenBLAS kernels {sorted(set(map(tuple, peaks[-1]['blas'])))}")
    for busy in loads:
        for w in args.workloads.split(","):
            _training_table(results, w, busy, args, peak)
        if args.inference:
            _inference_table(results, busy, args)
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"|".join(map(str, k)): v for k, v in results.items()}, f, indent=1)


def _training_table(results, w, busy, args, peak):
    rows = {key[0]: statistics.median(o["samples_per_s_median"] for o in outs)
            for key, outs in results.items() if key[1:] == (w, busy)}
    if not rows:
        return
    best_peer = max((v for k, v in rows.items() if not k.startswith("nnkernels")), default=0)
    print(f"\n{NAMES[w]}, {busy} spinning process(es) beside, samples/s (median of "
          f"{args.rounds} rounds)")
    print("| | samples/s | vs best peer | GFLOP/s | share of peak |")
    print("| --- | --- | --- | --- | --- |")
    for name, value in sorted(rows.items(), key=lambda kv: -kv[1]):
        gflops = value * FLOPS[w] / 1e9
        ratio = value / best_peer if best_peer else float("nan")
        print(f"| {name} | {value:,.0f} | {ratio:.2f} | {gflops:.0f} | {gflops / peak:.0%} |")
    if "nnkernels@1" in rows and "nnkernels" in rows:
        print(f"1 -> {args.threads} threads: {rows['nnkernels'] / rows['nnkernels@1']:.2f}x")
    extra = results[("nnkernels", w, busy)][-1]
    print(f"nnkernels BLAS (version, kernels): {extra.get('blas')}; "
          + ", ".join(f"{k} {extra[k]:.4f}" for k in ("test_accuracy", "test_mse") if k in extra))


def _inference_table(results, busy, args):
    rows = {key[0]: outs for key, outs in results.items() if key[1:] == ("inference", busy)}
    if not rows:
        return
    print(f"\npretrained classifier inference, {busy} spinning process(es) beside (median "
          f"of {args.rounds} rounds)")
    print("| engine@threads | one image, us | 10,000 images, images/s |")
    print("| --- | ---: | ---: |")
    for name in sorted(rows):
        one = statistics.median(o["us_one"] for o in rows[name])
        many = statistics.median(o["images_per_s"] for o in rows[name])
        print(f"| {name} | {one:.1f} | {many:,.0f} |")


if __name__ == "__main__":
    main()
