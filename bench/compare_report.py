"""bench/compare.py's output: the printed table and the flat list of ratios."""
import peers as P
from compare_measure import LABELS


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
