"""Print name / our time / reference time / ratio from a pytest-benchmark JSON file.

    python -m pytest bench --benchmark-enable --benchmark-json=bench.json
    python bench/ratios.py bench.json [--markdown]

ratio = reference time / our time (minimum over rounds of each): > 1 means nnkernels is
faster. "target" is the minimum ratio the issue asks for ("-": none, reported only).
"other cpu" is how many cores other processes used during that benchmark: above about
0.1 the ratio is unreliable (rerun on a quiet machine).
"""
import argparse
import json
import sys


def rows(data):
    for bench in data["benchmarks"]:
        extra = bench.get("extra_info", {})
        if "ratio" not in extra:  # run without --benchmark-enable, or not a comparison
            continue
        yield {
            "name": bench["name"],
            "group": bench.get("group") or "",
            "ours_us": extra["ours_seconds"] * 1e6,
            "ref_us": extra["reference_seconds"] * 1e6,
            "ratio": extra["ratio"],
            "ratio_median": extra.get("ratio_median"),
            "target": extra.get("target"),
            "met": extra.get("meets_target"),
            "reference": extra["reference"],
            "other": extra.get("other_processes_cpu"),
        }


def format_table(data, markdown=False):
    table = sorted(rows(data), key=lambda r: (r["group"], r["name"]))
    head = ["benchmark", "ours (us)", "reference (us)", "ratio", "ratio (median)",
            "target", "other cpu", "reference"]
    lines = []
    for r in table:
        target = "-" if r["target"] is None else f"{r['target']:.2f}"
        if r["met"] is False:
            target += " MISSED"
        median = "-" if r["ratio_median"] is None else f"{r['ratio_median']:.2f}"
        lines.append([r["name"], f"{r['ours_us']:.2f}", f"{r['ref_us']:.2f}",
                      f"{r['ratio']:.2f}", median, target,
                      "?" if r["other"] is None else f"{r['other']:.2f}", r["reference"]])
    if markdown:
        out = ["| " + " | ".join(head) + " |", "|" + " --- |" * len(head)]
        out += ["| " + " | ".join(line) + " |" for line in lines]
    else:
        widths = [max(len(x) for x in col) for col in zip(head, *lines)]
        fmt = lambda cells: "  ".join(  # noqa: E731
            c.ljust(w) if i in (0, len(cells) - 1) else c.rjust(w)
            for i, (c, w) in enumerate(zip(cells, widths)))
        out = [fmt(head), "-" * len(fmt(head))] + [fmt(line) for line in lines]
    return "\n".join(out)


def machine_summary(data):
    info = data.get("machine_info", {})
    build = info.get("nnkernels_build_info", {})
    pools = ", ".join(f"{p.get('internal_api')} x{p.get('num_threads')}"
                      for p in info.get("threadpool_info", []))
    return (f"{info.get('cpu', {}).get('brand_raw', info.get('processor', '?'))}; "
            f"threads={info.get('bench_threads')}; loadavg at start "
            f"{info.get('loadavg_at_start')}, at end {info.get('loadavg_at_end')}; "
            f"other processes used up to {info.get('other_processes_cpu_max')} cores; "
            f"nnkernels {build.get('version')}; pools: {pools}; {data.get('datetime', '')}")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("json_file", help="output of pytest --benchmark-json=FILE")
    parser.add_argument("--markdown", action="store_true", help="a Markdown table")
    args = parser.parse_args(argv)
    with open(args.json_file) as f:
        data = json.load(f)
    print(machine_summary(data))
    table = format_table(data, markdown=args.markdown)
    if not table.strip():
        print("no ratios in this file: was it run with --benchmark-enable?", file=sys.stderr)
        return 1
    print(table)
    return 0


if __name__ == "__main__":
    sys.exit(main())
