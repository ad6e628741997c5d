"""What machine a benchmark ran on, printed with every table (bench/compare.py,
bench/vs_peers.py): the CPU generation and flags decide which GEMM kernels run."""
import os


def cpu_description():
    """Model, family/model and the SIMD flags that decide the GEMM kernels."""
    info = {}
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                key, _, value = line.partition(":")
                info.setdefault(key.strip(), value.strip())
    except OSError:
        return "unknown CPU"
    flags = set(info.get("flags", "").split())
    simd = [f for f in ("avx2", "fma", "avx512f", "avx512bw", "avx512_bf16", "avx512_vp2intersect")
            if f in flags]
    return (f"{info.get('model name', '?')} (family {info.get('cpu family', '?')}, model "
            f"{info.get('model', '?')}), flags: {' '.join(simd)}; OPENBLAS_CORETYPE="
            f"{os.environ.get('OPENBLAS_CORETYPE', '(unset)')}")
