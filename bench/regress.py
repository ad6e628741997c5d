"""Compare the speed of two commits of nnkernels on this machine, in one run.

    python bench/regress.py BASE [NEW] [--quick] [--threshold 0.10] [--pairs N]

BASE and NEW are git revisions of the checkout this file sits in; NEW defaults to the
working tree (tracked and untracked, non-ignored files, as they are on disk).

1. Each side is exported (``git archive`` of its tree) into a folder of its own under
   the cache (``$XDG_CACHE_HOME/nnkernels-regress``, or ``--cache DIR``) and built there
   in place by the running interpreter (``setup.py build_ext --inplace -j 2``, no build
   isolation: the Cython, NumPy and SciPy of this environment). A build is kept under
   the side's git tree id, so the same source is built once, and the C that Cython
   generates is kept under the digest of the .pyx/.pxd files, so that two sides with
   the same Cython sources cythonize once (``--rebuild`` redoes both).
2. Each side gets a virtual environment of its own (``python -m venv --without-pip``)
   whose only path entries are that side's built tree and then this environment's
   site-packages (for NumPy, SciPy, pytest, pytest-benchmark). Each side's
   ``import nnkernels`` is checked to come from its own folder.
3. The suite (bench/regress_suite.py of this checkout, the same file for both sides) runs
   under pytest-benchmark in one process per side and pair, the sides alternating
   (BASE, NEW, then NEW, BASE, ...), so that both see the same machine, drift and
   neighbours included.
4. Timing: with one thread (the default), pytest-benchmark's timer is the CPU time of
   the process (``time.process_time``), not the wall clock: on a machine shared with
   other developers, a wall-clock round of a 10 ms ``fit`` is mostly a measure of the
   scheduler's share, which changed by 1.5-2x between processes a minute apart in
   this tool's first runs (bench/README.md). With ``--threads 2`` it is the wall
   clock (CPU time would add the threads' spinning).
5. For each benchmark and pair, the ratio NEW / BASE of the fastest round (the minimum
   is the statistic least moved by other processes taking the CPU); the table shows
   the geometric mean of the pairs' ratios and its 95 % confidence interval
   (Student's t on the log ratios of the pairs).

Exit status:
  1  some benchmark is slower beyond its measured noise AND beyond the threshold:
     the lower end of its confidence interval is above 1 + threshold (default 0.10,
     i.e. at least 10 % slower even at the optimistic end of the interval);
  0  no such benchmark;
  2  it cannot run or cannot see: a revision that does not resolve (a shallow clone
     without the parent), a failed build, a suite that fails on either side, or a
     benchmark measured on one side only (new benchmarks excepted: see below).

A benchmark skipped on both sides (the serving hook until ``nnkernels serve`` exists)
or skipped on BASE only (a feature BASE does not have) is listed under the table and
not compared. The threshold is a choice, documented in bench/README.md: the pairs of a
HEAD-against-HEAD run on this 2-core VM under load scatter by several per cent per
benchmark, and 10 % is well above what the confidence interval of 3-5 pairs lets
through, and well below the slowdowns worth stopping a merge for.

``--installed`` takes NEW to be the nnkernels already installed in the running
interpreter (no export, no build): CI uses it, having built HEAD for its tests.
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
SUITE = HERE / "regress_suite.py"
sys.path.insert(0, str(HERE))  # the modules beside this one, also when it is loaded by path
from regress_build import (CannotRun, build, check_import, environment, git,  # noqa: E402
                           tree_of)
from regress_stats import judge, median  # noqa: E402


def _run_suite(python, out_json, args, workdir):
    env = {**os.environ,
           "NNKERNELS_REGRESS_THREADS": str(args.threads),
           "NNKERNELS_REGRESS_BUDGET": str(args.budget),
           "NNKERNELS_REGRESS_QUICK": "1" if args.quick else "0",
           "OMP_NUM_THREADS": str(args.threads)}
    env.pop("PYTHONPATH", None)
    ini = workdir / "pytest.ini"
    ini.write_text("[pytest]\n")
    cmd = [str(python), "-m", "pytest", str(SUITE), "-c", str(ini), "--rootdir", str(workdir),
           "-p", "no:cacheprovider", "-q", "--benchmark-enable", "--benchmark-disable-gc",
           f"--benchmark-timer={'time.process_time' if args.threads == 1 else 'time.perf_counter'}",
           f"--benchmark-json={out_json}", "-rs"]
    if args.k:
        cmd += ["-k", args.k]
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=workdir)
    # pytest: 0 all passed, 1 some failed; anything else is a usage or internal error
    if proc.returncode not in (0, 1) or not out_json.exists():
        raise CannotRun(f"the suite did not run under {python} (pytest exit "
                        f"{proc.returncode}):\n{(proc.stdout + proc.stderr)[-3000:]}")
    failed = [line for line in proc.stdout.splitlines() if line.startswith(("FAILED", "ERROR"))]
    data = json.loads(out_json.read_text())
    return data, failed, proc.stdout


def _loadavg():
    try:
        return tuple(round(v, 2) for v in os.getloadavg())
    except OSError:
        return None


def _fmt_time(seconds):
    for unit, scale in (("s", 1), ("ms", 1e-3), ("us", 1e-6)):
        if seconds >= scale:
            return f"{seconds / scale:7.2f} {unit}"
    return f"{seconds / 1e-9:7.1f} ns"


def main(argv=None):
    parser = argparse.ArgumentParser(
        prog="python bench/regress.py",
        description="Build two revisions of nnkernels and compare their speed on this "
                    "machine (exit 1: a benchmark slower beyond noise and threshold; "
                    "2: cannot run).")
    parser.add_argument("base", metavar="BASE", help="git revision to compare against")
    parser.add_argument("new", metavar="NEW", nargs="?", default=None,
                        help="git revision (default: the working tree)")
    parser.add_argument("--installed", action="store_true",
                        help="NEW is the nnkernels installed in this interpreter (no build)")
    parser.add_argument("--quick", action="store_true",
                        help="3 pairs, 0.1 s per case, a 6,000-sample epoch "
                             "(under 10 minutes on 2 cores, both builds included)")
    parser.add_argument("--pairs", type=int, default=None,
                        help="processes per side, alternating (default 5; 3 with --quick)")
    parser.add_argument("--budget", type=float, default=None,
                        help="seconds of timed rounds per case and process "
                             "(default 0.3; 0.1 with --quick)")
    parser.add_argument("--threshold", type=float, default=0.10,
                        help="flag a benchmark only when even the lower end of its 95 %% "
                             "interval is more than this much slower (default 0.10)")
    parser.add_argument("--threads", type=int, default=1,
                        help="threads for the kernels and BLAS (default 1: a 2-thread "
                             "kernel on a shared 2-core machine waits at every barrier "
                             "for the core a neighbour holds, 10-100x)")
    parser.add_argument("-k", default=None, help="pytest -k expression to select cases")
    parser.add_argument("--cache", type=Path, default=None,
                        help="where builds are kept (default $XDG_CACHE_HOME/nnkernels-regress)")
    parser.add_argument("--rebuild", action="store_true", help="build even if cached")
    parser.add_argument("--json", type=Path, default=None, help="write every figure here")
    args = parser.parse_args(argv)
    args.pairs = args.pairs or (3 if args.quick else 5)
    args.budget = args.budget or (0.1 if args.quick else 0.3)
    if args.pairs < 2:
        parser.error("--pairs must be at least 2 (a confidence interval needs two)")
    if args.threshold < 0:
        parser.error("--threshold must be >= 0")
    if args.installed and args.new is not None:
        parser.error("--installed replaces NEW; give BASE only")
    try:
        return _compare(args)
    except CannotRun as exc:
        print(f"regress.py: cannot compare: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("regress.py: interrupted", file=sys.stderr)
        return 2


def _compare(args):
    start = time.monotonic()
    log = lambda msg: print(msg, flush=True)  # noqa: E731
    repo = Path(git(HERE, "rev-parse", "--show-toplevel"))
    cache = args.cache or Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) \
        / "nnkernels-regress"
    cache.mkdir(parents=True, exist_ok=True)
    load_start = _loadavg()
    log(f"regress.py: {repo}, load average {load_start}")
    sides = {}
    for name, rev in (("BASE", args.base), ("NEW", args.new)):
        if name == "NEW" and args.installed:
            python = Path(sys.executable)
            where = check_import(python, None)
            sides[name] = {"python": python, "what": f"installed ({where.parent})"}
            continue
        tree, what = tree_of(repo, rev)
        src = build(repo, tree, cache, args.rebuild, log)
        python = environment(src, src.parent)
        check_import(python, src / "python")
        sides[name] = {"python": python, "what": f"{what}, tree {tree[:10]}"}
    build_seconds = time.monotonic() - start
    for name, side in sides.items():
        log(f"{name}: {side['what']}")

    runs = {"BASE": [], "NEW": []}
    skipped = {"BASE": set(), "NEW": set()}
    with tempfile.TemporaryDirectory(prefix="nnkernels-regress-") as tmp:
        tmp = Path(tmp)
        for pair in range(args.pairs):
            order = ("BASE", "NEW") if pair % 2 == 0 else ("NEW", "BASE")
            for name in order:
                out = tmp / f"{name}-{pair}.json"
                t0 = time.monotonic()
                data, failed, stdout = _run_suite(sides[name]["python"], out, args, tmp)
                if failed:
                    raise CannotRun(f"the suite failed on {name} ({sides[name]['what']}):\n"
                                    + "\n".join(failed) + "\n" + stdout[-3000:])
                for line in stdout.splitlines():  # -rs: "SKIPPED [1] path:line: reason"
                    if line.startswith("SKIPPED"):
                        skipped[name].add(line.split("] ", 1)[-1])
                runs[name].append({b["name"]: b for b in data["benchmarks"]})
                log(f"  pair {pair + 1}/{args.pairs} {name:<4} {time.monotonic() - t0:5.1f} s"
                    f"  load {_loadavg()}")

    names_base = set(runs["BASE"][0])
    names_new = set(runs["NEW"][0])
    rows, regressions, noisy = [], [], []
    for name in sorted(names_base & names_new, key=_order):
        base = [r[name]["stats"]["min"] for r in runs["BASE"] if name in r]
        new = [r[name]["stats"]["min"] for r in runs["NEW"] if name in r]
        if len(base) != args.pairs or len(new) != args.pairs:
            raise CannotRun(f"{name} was not measured in every process")
        ratio, low, high, verdict = judge(base, new, args.threshold)
        if verdict == "SLOWER":
            regressions.append(name)
        elif verdict == "noisy":
            noisy.append(name)
        rows.append((name, median(base), median(new), ratio, low, high, verdict))

    print()
    print(f"BASE: {sides['BASE']['what']}")
    print(f"NEW:  {sides['NEW']['what']}")
    print(f"{args.pairs} pairs of processes, alternating; {args.threads} thread(s); times: "
          f"median over pairs of each process's fastest round, in "
          + ("CPU time of the process" if args.threads == 1 else "wall-clock time"))
    header = f"{'benchmark':<52} {'BASE':>10} {'NEW':>10} {'NEW/BASE':>8}  {'95% CI':<15} verdict"
    print(header)
    print("-" * len(header))
    for name, b, n, ratio, low, high, verdict in rows:
        print(f"{name:<52} {_fmt_time(b):>10} {_fmt_time(n):>10} {ratio:8.3f}  "
              f"[{low:.3f}, {high:.3f}]  {verdict}")
    only_base = sorted(names_base - names_new)
    only_new = sorted(names_new - names_base)
    for reason in sorted(skipped["NEW"] | skipped["BASE"]):
        print(f"not compared: {reason}")
    for name in only_new:
        print(f"not compared: {name} ran on NEW only (new benchmark or feature)")
    load_end = _loadavg()
    print(f"load average: {load_start} at start, {load_end} at the end; "
          f"{time.monotonic() - start:.0f} s in all ({build_seconds:.0f} s preparing the sides)")
    if args.json:
        args.json.write_text(json.dumps({
            "base": sides["BASE"]["what"], "new": sides["NEW"]["what"],
            "pairs": args.pairs, "threads": args.threads, "threshold": args.threshold,
            "loadavg": [load_start, load_end],
            "rows": [dict(zip(("name", "base_s", "new_s", "ratio", "ci_low", "ci_high",
                               "verdict"), row)) for row in rows],
            "mins": {side: [{k: v["stats"]["min"] for k, v in r.items()} for r in runs[side]]
                     for side in runs},
        }, indent=1))
    if only_base:
        raise CannotRun("measured on BASE but not on NEW (NEW skipped or lost them): "
                        + ", ".join(only_base))
    if regressions:
        print(f"\nSLOWER beyond noise and the {args.threshold:.0%} threshold: "
              + ", ".join(regressions))
        return 1
    print(f"\nno benchmark slower beyond noise and the {args.threshold:.0%} threshold"
          + (f" ({len(noisy)} too noisy to rule it out: {', '.join(noisy)})" if noisy else ""))
    return 0


def _order(name):
    groups = ("test_kernel", "test_step", "test_fit", "test_predict", "test_serve")
    return (next((i for i, g in enumerate(groups) if name.startswith(g)), len(groups)), name)


if __name__ == "__main__":
    sys.exit(main())
