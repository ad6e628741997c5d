"""Build the Cython kernels in nnkernels/ as extension modules of the package
whose Python half lives in python/nnkernels/.

Environment switches:
  NNKERNELS_REQUIRE_OPENMP=1  a compiler without OpenMP is a build error (CI sets it);
                              otherwise the kernels build single-threaded, with a warning.
  NNKERNELS_SANITIZE=address,undefined
                              build with these gcc/clang sanitizers (-O1 -g, frame
                              pointers kept, undefined behaviour fatal); tools/sanitize.sh
                              builds such a copy in a temporary folder and runs the tests.
"""
import os
import shutil
import tempfile
import warnings
from pathlib import Path

from Cython.Build import cythonize
from setuptools import Extension, find_packages, setup
from setuptools.command.build_ext import build_ext
from setuptools.command.build_py import build_py

HERE = Path(__file__).parent
KERNEL_MODULES = ["_blas", "_blas_loader", "_blas_probe", "_activations", "_losses",
                  "_optim", "_online", "_openmp", "_validation", "_kernels_dense",
                  "_kernels_losses", "_kernels_optim", "kernels", "_steps", "_plan"]
# Modules that read arrays through NumPy's C API (argument checks, the checked entry points).
NUMPY_MODULES = {"_validation", "_kernels_dense", "_kernels_losses", "_kernels_optim",
                 "_plan"}
OPENMP_FLAG = "-fopenmp"


def _compiler_has_openmp(compiler):
    """Compile and link a tiny OpenMP program with the build's own compiler."""
    with tempfile.TemporaryDirectory() as tmp:
        src = Path(tmp) / "check_openmp.c"
        src.write_text("#include <omp.h>\nint main(void) { return omp_get_max_threads() < 1; }\n")
        try:
            objects = compiler.compile([str(src)], output_dir=tmp, extra_postargs=[OPENMP_FLAG])
            compiler.link_executable(objects, "check_openmp", output_dir=tmp,
                                     extra_postargs=[OPENMP_FLAG])
        except Exception:
            return False
    return True


class BuildExtWithOpenMP(build_ext):
    def build_extensions(self):
        if self.compiler.compiler_type == "msvc":
            flags = ["/openmp"]
            has_openmp = True
        else:
            flags = [OPENMP_FLAG]
            has_openmp = _compiler_has_openmp(self.compiler)
        if not has_openmp:
            message = ("nnkernels: the C compiler has no OpenMP; the kernels will run "
                       "single-threaded (install libomp, or use gcc).")
            if os.environ.get("NNKERNELS_REQUIRE_OPENMP") == "1":
                raise RuntimeError(message + " NNKERNELS_REQUIRE_OPENMP=1 makes this an error.")
            warnings.warn(message)
            flags = []
        for ext in self.extensions:
            ext.extra_compile_args += flags
            ext.extra_link_args += [] if self.compiler.compiler_type == "msvc" else flags
        super().build_extensions()


class BuildPyWithPxd(build_py):
    """Install the .pxd contracts next to the extension modules, and the C headers
    they include in src/ (nnkernels.get_include()), for cimport."""

    def run(self):
        super().run()
        target = Path(self.build_lib) / "nnkernels"
        target.mkdir(parents=True, exist_ok=True)
        for pxd in (HERE / "nnkernels").glob("*.pxd"):
            shutil.copy2(pxd, target / pxd.name)
        (target / "src").mkdir(exist_ok=True)
        for header in (HERE / "nnkernels" / "src").glob("*.h"):
            shutil.copy2(header, target / "src" / header.name)


# -fno-math-errno lets gcc vectorise sqrt (the optimizers) instead of calling sqrtf for
# errno's sake; nothing here reads errno. -ffp-contract=off: no a * b + c fused into
# an FMA in the AVX-512 and AVX2 clones (src/nk_base.h), so every clone gives the bits
# of the baseline code. No -ffast-math: it would reassociate sums and break the
# bitwise determinism the kernels promise.
COMPILE_ARGS = (["-O3", "-fno-math-errno", "-ffp-contract=off"] if os.name != "nt"
                else ["/O2"])
LINK_ARGS = []
SANITIZERS = {"address", "undefined", "thread", "leak"}


def _sanitize_flags(value):
    """(compile args, link args) for NNKERNELS_SANITIZE, e.g. 'address,undefined'."""
    names = [n.strip() for n in value.split(",") if n.strip()]
    unknown = set(names) - SANITIZERS
    if not names or unknown or os.name == "nt":
        raise RuntimeError(f"NNKERNELS_SANITIZE={value!r}: expected a comma-separated "
                           f"subset of {sorted(SANITIZERS)} (gcc or clang)")
    flags = [f"-fsanitize={','.join(names)}"]
    compile_args = ["-O1", "-g", "-fno-omit-frame-pointer", "-fno-math-errno",
                    "-ffp-contract=off", *flags]
    if "undefined" in names:  # a report is a failure, not a line in a log
        compile_args.append("-fno-sanitize-recover=undefined")
    return compile_args, flags


if os.environ.get("NNKERNELS_SANITIZE"):
    COMPILE_ARGS, LINK_ARGS = _sanitize_flags(os.environ["NNKERNELS_SANITIZE"])


def _extension(name):
    include_dirs, macros = ["nnkernels/src"], []
    if name in NUMPY_MODULES:
        import numpy
        include_dirs.append(numpy.get_include())
        macros.append(("NPY_NO_DEPRECATED_API", "NPY_1_7_API_VERSION"))
    return Extension(f"nnkernels.{name}", [f"nnkernels/{name}.pyx"], include_dirs=include_dirs,
                     define_macros=macros, extra_compile_args=list(COMPILE_ARGS),
                     extra_link_args=list(LINK_ARGS),
                     depends=[str(h) for h in (HERE / "nnkernels" / "src").glob("*.h")])


extensions = [_extension(name) for name in KERNEL_MODULES]

setup(
    package_dir={"": "python"},
    packages=find_packages(where="python"),
    # the pretrained model (nnkernels.pretrained), made by bench/make_pretrained.py
    package_data={"nnkernels": ["_data/*.safetensors"]},
    ext_modules=cythonize(extensions, include_path=[str(HERE)],
                          compiler_directives={"language_level": 3}),
    cmdclass={"build_ext": BuildExtWithOpenMP, "build_py": BuildPyWithPxd},
    zip_safe=False,
)
