"""Fail when a speed ratio drops more than 10 % below the committed baseline.

Absolute times drift from hour to hour on a shared machine and differ between
machines; the ratio of nnkernels to a reference timed in the same run (NumPy,
PyTorch, SciPy's sgemm) is what stays comparable, so that is what is tracked.

    for i in 1 2 3; do python -m pytest bench --benchmark-enable --benchmark-json=b$i.json; done
    python bench/compare.py --json compare.json              # optional
    python bench/check_regression.py b1.json b2.json b3.json [compare.json]
    python bench/check_regression.py --update b1.json b2.json b3.json   # new baseline

Inputs: pytest-benchmark JSON files (each benchmark's extra_info["ratio"]) and
bench/compare.py --json files (its comparisons). A name found in several files gets
the median of its ratios: on a shared VM a single run's ratios wander by +-20 %, so
give it three runs (and build the baseline from three). Baseline: bench/baseline.json,
{"ratios": {name: ratio}, "runs": count, "machine": ...}; > 1 means nnkernels is faster.
Exit status: 0 when no ratio fell below (1 - tolerance) x baseline, 1 otherwise,
2 on unusable input. Names missing on either side are listed, not failed.
"""
import argparse
import json
import os
import statistics
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
BASELINE = os.path.join(HERE, "baseline.json")


def ratios_from(path):
    """{name: ratio} from a pytest-benchmark or a compare.py JSON file."""
    with open(path) as f:
        data = json.load(f)
    out = {}
    if "benchmarks" in data:  # pytest-benchmark
        for bench in data["benchmarks"]:
            ratio = bench.get("extra_info", {}).get("ratio")
            if ratio is not None:
                out[bench["fullname"].split("/")[-1]] = float(ratio)
    elif "comparisons" in data:  # bench/compare.py --json
        for item in data["comparisons"]:
            out[item["name"]] = float(item["ratio"])
    else:
        raise ValueError(f"{path}: neither a pytest-benchmark JSON (no 'benchmarks') nor "
                         f"a bench/compare.py JSON (no 'comparisons')")
    if not out:
        raise ValueError(f"{path}: no ratios in it (was the run made with "
                         f"--benchmark-enable?)")
    return out


def machine_of(path):
    with open(path) as f:
        data = json.load(f)
    info = data.get("machine_info") or data.get("machine") or {}
    keep = ("node", "cpu", "loadavg_at_start", "loadavg_at_end", "other_processes_cpu_max",
            "bench_threads", "nproc", "loadavg_before", "loadavg_after", "other_cpu_max")
    return {k: info[k] for k in keep if k in info}


def check(current, baseline, tolerance):
    """(failures, report lines): a failure is a ratio below (1 - tolerance) x baseline."""
    failures, lines = [], []
    for name in sorted(set(current) | set(baseline)):
        now, base = current.get(name), baseline.get(name)
        if now is None or base is None:
            lines.append(f"  {name}: {'not in this run' if now is None else 'no baseline'}")
            continue
        change = now / base - 1
        bad = now < (1 - tolerance) * base
        lines.append(f"  {name}: {now:.3f} vs baseline {base:.3f} ({change:+.1%})"
                     f"{'  <-- REGRESSION' if bad else ''}")
        if bad:
            failures.append(name)
    return failures, lines


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("results", nargs="+", help="pytest-benchmark or compare.py JSON files")
    ap.add_argument("--baseline", default=BASELINE)
    ap.add_argument("--tolerance", type=float, default=0.10,
                    help="allowed drop below the baseline ratio (default 0.10 = 10 %%)")
    ap.add_argument("--update", action="store_true",
                    help="write these ratios as the new baseline instead of checking")
    args = ap.parse_args(argv)
    runs, machines = {}, []
    try:
        for path in args.results:
            for name, ratio in ratios_from(path).items():
                runs.setdefault(name, []).append(ratio)
            machines.append(machine_of(path))
    except (OSError, ValueError) as exc:
        print(f"check_regression: {exc}", file=sys.stderr)
        return 2
    current = {name: statistics.median(values) for name, values in runs.items()}
    if args.update:
        tmp = args.baseline + ".tmp"
        with open(tmp, "w") as f:
            json.dump({"ratios": dict(sorted(current.items())), "runs": len(args.results),
                       "machine": machines}, f, indent=1)
            f.write("\n")
        os.replace(tmp, args.baseline)
        print(f"wrote {len(current)} ratios to {args.baseline}")
        return 0
    try:
        with open(args.baseline) as f:
            baseline = json.load(f)["ratios"]
    except (OSError, ValueError, KeyError) as exc:
        print(f"check_regression: cannot read the baseline {args.baseline}: {exc}",
              file=sys.stderr)
        return 2
    failures, lines = check(current, baseline, args.tolerance)
    print(f"ratios (> 1: nnkernels faster) against {args.baseline}, tolerance "
          f"{args.tolerance:.0%}:")
    print("\n".join(lines))
    if failures:
        print(f"{len(failures)} regression(s): {', '.join(failures)}")
        return 1
    print("no regression")
    return 0


if __name__ == "__main__":
    sys.exit(main())
