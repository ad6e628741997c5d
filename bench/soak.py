"""Soak: many training steps of the MNIST classifier with the process's memory measured
throughout. After the warm-up, resident memory must stay within 5 % and the number of
Python objects must not grow.

    python bench/soak.py                       100,000 steps, batch 100, real MNIST
                                               ($NNKERNELS_DATA/mnist), else synthetic
    python bench/soak.py --steps 2000 --synthetic --json soak.json

Measured every --every steps, between the plan's calls (a callback): resident memory
(/proc/self/statm), Python objects tracked by the garbage collector (gc.get_objects,
after a collection), and, with --tracemalloc, the bytes Python allocated and still holds
(tracemalloc slows Python's allocations, not the kernels). Each epoch also evaluates the
validation set and writes the history CSV, as ``nnkernels train`` does. Exit status 1 if
a limit is broken. Linux only (statm).
"""
import argparse
import gc
import json
import math
import os
import sys
import tempfile
import time
import tracemalloc

import numpy as np

RSS_TOLERANCE = 0.05


def resident_bytes():
    """This process's resident set size, from /proc/self/statm."""
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def python_objects():
    gc.collect()
    return len(gc.get_objects())


def load(synthetic, n=None):
    """(x_train, y_train), (x_val, y_val): MNIST's (float32 in [0, 1]) or random data of
    its shape; `n` training rows (default: MNIST's 55,000 after the validation split)."""
    if not synthetic:
        from nnkernels import datasets
        (x, y), _ = datasets.load_mnist(download=False)
        source = "MNIST"
    else:
        rng = np.random.default_rng(0)
        x = rng.random((60000 if n is None else n + 1000, 784), dtype=np.float32)
        y = rng.integers(0, 10, len(x))
        source = "synthetic"
    n_val = 5000 if n is None else min(1000, len(x) // 10)
    n = len(x) - n_val if n is None else n
    return (x[:n], y[:n]), (x[-n_val:], y[-n_val:]), source


def soak(steps, batch_size, train, val, *, every, warmup=None, use_tracemalloc=False,
         progress=None):
    """Train the classifier for `steps` steps (rounded up to whole epochs); returns the
    samples and the verdict.

    Samples (one per `every` steps, and at the end): step, rss_bytes, objects and, with
    tracemalloc, traced_bytes. The verdict compares the samples after `warmup` steps
    (default: a tenth of them, at least two epochs: the first validation builds the
    inference plan and its buffers).
    """
    import nnkernels
    from nnkernels import callbacks

    x, y = train
    per_epoch = math.ceil(len(x) / batch_size)
    epochs = math.ceil(steps / per_epoch)  # whole epochs: `steps` rounded up
    total = epochs * per_epoch
    if warmup is None:
        warmup = max(steps // 10, 2 * per_epoch)
    samples = []
    if use_tracemalloc:
        tracemalloc.start()

    class Sampler(callbacks.Callback):
        def __init__(self):
            self.epoch, self.next = 0, 0

        def on_epoch_begin(self, epoch, logs):
            self.epoch = epoch

        def on_batch_end(self, batch, logs):
            step = self.epoch * per_epoch + batch + 1
            if step >= self.next or step == total:
                self.next = step + every
                sample = {"step": step, "rss_bytes": resident_bytes(),
                          "objects": python_objects()}
                if use_tracemalloc:
                    sample["traced_bytes"] = tracemalloc.get_traced_memory()[0]
                samples.append(sample)
                if progress:
                    progress(sample)

    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        model = nnkernels.models.mnist_classifier(seed=0)
        model.fit(x, y, epochs=epochs, batch_size=batch_size, seed=0, verbose=0,
                  validation_data=val,
                  callbacks=[Sampler(), callbacks.CSVLogger(os.path.join(tmp, "h.csv"))])
    seconds = time.perf_counter() - started
    if use_tracemalloc:
        tracemalloc.stop()
    return {"steps": samples[-1]["step"], "batch_size": batch_size, "seconds": seconds,
            "warmup": warmup, "samples": samples, **verdict(samples, warmup)}


def verdict(samples, warmup):
    """Flat resident memory (max/min - 1 <= RSS_TOLERANCE) and no growth of Python
    objects (last <= first) over the samples taken after `warmup` steps."""
    after = [s for s in samples if s["step"] > warmup]
    if len(after) < 2:
        return {"ok": False, "why": f"fewer than 2 samples after the warm-up ({warmup} steps)"}
    rss = [s["rss_bytes"] for s in after]
    objects = [s["objects"] for s in after]
    spread = max(rss) / min(rss) - 1
    growth = objects[-1] - objects[0]
    result = {"rss_first_mb": rss[0] / 2**20, "rss_min_mb": min(rss) / 2**20,
              "rss_max_mb": max(rss) / 2**20, "rss_last_mb": rss[-1] / 2**20,
              "rss_spread": spread, "objects_first": objects[0], "objects_last": objects[-1],
              "objects_max": max(objects), "objects_growth": growth}
    if "traced_bytes" in after[0]:
        result["traced_growth_bytes"] = after[-1]["traced_bytes"] - after[0]["traced_bytes"]
    problems = []
    if spread > RSS_TOLERANCE:
        problems.append(f"resident memory varies by {100 * spread:.1f} % after the warm-up "
                        f"(limit {100 * RSS_TOLERANCE:.0f} %)")
    if growth > 0:
        problems.append(f"Python objects grew by {growth} after the warm-up")
    return {**result, "ok": not problems, "why": "; ".join(problems)}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--steps", type=int, default=100_000)
    parser.add_argument("--batch-size", type=int, default=100)
    parser.add_argument("--every", type=int, default=1000, help="steps between samples")
    parser.add_argument("--warmup", type=int, default=None,
                        help="steps not judged (default: a tenth of --steps, at least two "
                             "epochs)")
    parser.add_argument("--synthetic", action="store_true",
                        help="random data of MNIST's shape instead of MNIST")
    parser.add_argument("--tracemalloc", action="store_true")
    parser.add_argument("--json", help="write every sample and the verdict here")
    args = parser.parse_args(argv)
    import nnkernels
    from nnkernels import datasets
    synthetic = args.synthetic
    if not synthetic:
        try:
            datasets.load_mnist(download=False)
        except datasets.DatasetError as error:
            print(f"soak: {error}; using synthetic data", file=sys.stderr)
            synthetic = True
    train, val, source = load(synthetic)
    print(f"soak: {args.steps} steps of batch {args.batch_size} on {source} data, "
          f"{nnkernels.get_num_threads()} thread(s); load {os.getloadavg()[0]:.2f}",
          file=sys.stderr)

    def show(s):
        traced = f"  traced {s['traced_bytes'] / 1024:8.1f} KiB" if "traced_bytes" in s else ""
        print(f"step {s['step']:>7}  rss {s['rss_bytes'] / 2**20:8.1f} MiB  "
              f"objects {s['objects']:>7}{traced}", file=sys.stderr)

    result = soak(args.steps, args.batch_size, train, val, every=args.every,
                  warmup=args.warmup, use_tracemalloc=args.tracemalloc, progress=show)
    result.update(data=source, threads=nnkernels.get_num_threads(),
                  load_average=os.getloadavg()[0])
    summary = {k: v for k, v in result.items() if k != "samples"}
    print(json.dumps(summary, indent=1))
    if args.json:
        with open(args.json, "w") as f:
            json.dump(result, f, indent=1)
    if not result["ok"]:
        print(f"soak: FAILED: {result['why']}", file=sys.stderr)
    return 0 if result["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
