#!/usr/bin/env bash
# Build the kernels with AddressSanitizer and UndefinedBehaviorSanitizer in a copy of
# the tree (the in-place .so files stay as they are) and run the kernel and layer tests
# against that build.
#
#   tools/sanitize.sh                  the kernel and layer tests (what .ci/run runs)
#   tools/sanitize.sh tests/test_plan.py -k odd   other pytest arguments instead
#   KEEP=1 tools/sanitize.sh           keep the build folder (printed) for a rerun
#   PYTHON=/path/to/python             the interpreter (default: python3 on PATH)
#
# Python itself is not built with ASan, so the runtime is preloaded: libasan must come
# first in the process. Any ASan report or UB (-fno-sanitize-recover) ends the run
# with a non-zero status. Before the tests, a planted heap overflow and a signed
# overflow must each be caught, so a setup that reports nothing cannot pass.
# No suppressions are needed: libgomp, OpenBLAS, NumPy and CPython are not
# instrumented, and only our kernels are.
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
python="${PYTHON:-python3}"
cc="${CC:-gcc}"
build="$(mktemp -d "${TMPDIR:-/tmp}/nnkernels-sanitize.XXXXXX")"
if [ "${KEEP:-0}" != 1 ]; then trap 'rm -rf "$build"' EXIT; fi
echo "sanitize: building in $build" >&2

# The working tree's files (tracked and new, modified ones as they are), no build output.
if git -C "$here" rev-parse --git-dir >/dev/null 2>&1; then
    (cd "$here" && git ls-files -z --cached --others --exclude-standard) \
        | (cd "$here" && xargs -0 cp --parents -t "$build" 2>/dev/null || true)
else  # not a git checkout: everything but what a build or a run leaves behind
    tar -C "$here" --exclude='*.so' --exclude='build' --exclude='.venv*' \
        --exclude='nnkernels/*.c' --exclude='__pycache__' -cf - . | tar -C "$build" -xf -
fi
[ -f "$build/setup.py" ] || { echo "sanitize: copying the tree failed" >&2; exit 1; }
(cd "$build" && NNKERNELS_SANITIZE=address,undefined NNKERNELS_REQUIRE_OPENMP=1 \
    "$python" setup.py -q build_ext --inplace -j "${JOBS:-2}" >build.log 2>&1) \
    || { tail -40 "$build/build.log"; exit 1; }

if [ "$#" -eq 0 ]; then
    # The tests of the compiled code: kernels, layers, losses, optimizers, the plan,
    # the model's training path, several Python threads at once. (Not the file readers'
    # fuzz tests: their memory cap (RLIMIT_AS) cannot coexist with ASan's shadow memory.)
    set -- tests/test_activations.py tests/test_blas.py tests/test_losses.py \
        tests/test_optim.py tests/test_online.py tests/test_validation.py \
        tests/test_layers.py tests/test_optimizers.py tests/test_plan.py \
        tests/test_model.py tests/test_kernel_stress.py tests/test_concurrency.py tests/test_checkpoints.py \
        tests/test_threads.py --deselect tests/test_threads.py::test_kernels_release_the_gil
fi

# detect_leaks=0: CPython frees little at exit, so LeakSanitizer reports are noise.
# A fixed cap on quarantine keeps memory use on a small CI machine in bounds.
export ASAN_OPTIONS="detect_leaks=0:abort_on_error=1:strict_init_order=1:quarantine_size_mb=64${ASAN_OPTIONS:+:$ASAN_OPTIONS}"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1${UBSAN_OPTIONS:+:$UBSAN_OPTIONS}"
preload="$("$cc" -print-file-name=libasan.so) $("$cc" -print-file-name=libubsan.so)"
cd "$build"

cat >canary.c <<'C'
#include <limits.h>
#include <stdlib.h>
int heap_overflow(int n) { volatile int *a = malloc(n * sizeof(int)); a[n] = 1; int r = a[n]; free((void *)a); return r; }
int signed_overflow(int x) { return x + INT_MAX; }
C
"$cc" -shared -fPIC -O1 -g -fsanitize=address,undefined -fno-sanitize-recover=undefined \
    canary.c -o canary.so
for call in "heap_overflow(10)" "signed_overflow(5)"; do
    # (the outer 2>/dev/null silences bash's "Aborted" line about the expected abort)
    if { LD_PRELOAD="$preload" "$python" -c "import ctypes; ctypes.CDLL('./canary.so').$call" \
            >canary.log 2>&1; } 2>/dev/null; then
        echo "sanitize: the planted $call went unnoticed: the setup is broken" >&2
        exit 1
    fi
done
echo "sanitize: planted errors caught; running the tests" >&2

LD_PRELOAD="$preload" PYTHONPATH="$build/python" \
    "$python" -m pytest -q -p no:cacheprovider "$@"
echo "sanitize: clean (AddressSanitizer, UndefinedBehaviorSanitizer)" >&2
