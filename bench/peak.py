"""The physical peak for float32 on T threads: a 2048^3 sgemm, best of 5, through the
BLAS nnkernels calls and through NumPy's (the reference peers' peak.py measures the
latter). Prints one JSON line: {"threads", "nnkernels_gflops", "numpy_gflops",
"gflops" (the higher), "blas": [(version, kernels), ...]}.

    python bench/peak.py 2
"""
import json
import os
import sys
import time


def best_gflops(fn, n, repeats=5):
    fn()
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return 2 * n ** 3 / best / 1e9


def main(threads):
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[var] = str(threads)
    import numpy as np
    from threadpoolctl import threadpool_info

    import nnkernels
    nnkernels.set_num_threads(threads)
    n = 2048
    a = np.random.default_rng(0).standard_normal((n, n), dtype=np.float32)
    c = np.empty_like(a)
    ours = best_gflops(lambda: nnkernels.kernels.gemm(a, a, c), n)
    numpy = best_gflops(lambda: np.matmul(a, a, out=c), n)
    print(json.dumps({"threads": threads, "nnkernels_gflops": ours, "numpy_gflops": numpy,
                      "gflops": max(ours, numpy),
                      "blas": [(p["version"], p.get("architecture"))
                               for p in threadpool_info() if p["user_api"] == "blas"]}))


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 2)
