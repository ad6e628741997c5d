"""``nnkernels info``: the build, thread pools and BLAS in use."""
from nnkernels._gemm_choice import gemm_backend
from nnkernels._info import build_info
from nnkernels.cli._common import EXIT_OK


def add_parser(sub):
    p = sub.add_parser("info", help="show the build: version, OpenMP, threads, BLAS",
                       description="Print nnkernels.build_info() readably.")
    p.set_defaults(func=run)


def run(args):
    gemm_backend()  # measures the float32 GEMM choice if none is cached yet
    info = build_info()
    openmp = (f"yes (version {info.get('openmp_version')}, max threads "
              f"{info.get('openmp_max_threads')})" if info.get("openmp") else "no")
    print(f"nnkernels {info.get('version')}")
    print(f"  python {info.get('python')}, numpy {info.get('numpy')}, "
          f"scipy {info.get('scipy')}")
    print(f"  OpenMP: {openmp}")
    print(f"  threads: {info.get('num_threads')} (kernels), "
          f"{info.get('blas_num_threads')} (BLAS"
          + (", pinned: products are split across the kernels' threads)"
             if info.get("blas_num_threads") == 1 and info.get("num_threads", 1) > 1 else ")"))
    blas = info.get("blas") or []
    if not blas:
        print("  BLAS: none found by threadpoolctl")
    for lib in blas:
        details = ", ".join(f"{k} {lib[k]}" for k in ("threading_layer", "architecture",
                                                      "num_threads") if lib.get(k))
        print(f"  BLAS: {lib.get('internal_api')} {lib.get('version') or ''} ({details})")
        print(f"        {lib.get('filepath')}")
    _print_gemm(info.get("gemm") or {})
    shown = {"version", "python", "numpy", "scipy", "openmp", "openmp_version",
             "openmp_max_threads", "num_threads", "blas_num_threads", "blas", "gemm"}
    for key, value in info.items():
        if key not in shown:
            print(f"  {key}: {value}")
    return EXIT_OK



def _print_gemm(gemm):
    onednn = gemm.get("onednn")
    onednn = (f"oneDNN {onednn['version']} ({onednn['path']})" if isinstance(onednn, dict)
              else f"oneDNN: {onednn}")
    print(f"  GEMM float32: {gemm.get('float32_gemm')} (one-row products: "
          f"{gemm.get('float32_gemv')}), chosen by: {gemm.get('chosen_by')}"
          + (f", NNKERNELS_GEMM={gemm['override']}" if gemm.get("override") else ""))
    print(f"        {onednn}; float64: {gemm.get('float64')}")
    seconds = (gemm.get("measurement") or {}).get("seconds") or {}
    for lib, modes in sorted(seconds.items()):
        parts = ", ".join(f"{mode} {1e3 * value:.3f} ms" for mode, value in modes.items())
        print(f"        measured {lib}: {parts}")
    print(f"        cache: {gemm.get('cache')}")
