"""Which library computes float32 products: measured once per machine, then cached.

Two libraries can compute the kernels' float32 products (nnkernels/_blas.pyx): the
OpenBLAS of the ``scipy-openblas32`` wheel (always there; float64 always goes to it) and
oneDNN's ``dnnl_sgemm`` from the ``onednn-cpu-gomp`` wheel (the ``onednn`` extra). Which
is faster depends on the CPU, so it is measured: the classifier's eight products of one
training step at batch 100 (forward ``x @ W``, weight gradient ``x^T @ dy``, input
gradient ``dy @ W^T``), on one thread and split across the kernels' threads by columns
as the plans split them, and its three one-row products (one image's forward pass)
separately. Rounds alternate the libraries, each timing is the faster of two back to
back (one thread's products timed by the thread's CPU time, the split by the wall
clock), and the median of the round-by-round ratios decides (a shared machine is
noisy); it takes about 0.1-1 s. oneDNN must win by more than MARGIN to replace
OpenBLAS.

The result is cached per machine in ``$XDG_CACHE_HOME/nnkernels/gemm-choice.json``
(:func:`nnkernels._io.user_cache_dir`), one entry per key: CPU model, CPU flags, usable
cores, the OpenBLAS build and the oneDNN library file. A cache that cannot be read or
holds no entry for this machine is measured again and rewritten (atomically).

When: ``import nnkernels`` only reads the cache and the environment; the measurement runs
at the first :func:`ensure` (the first plan or layer product), or when asked for with
:func:`gemm_backend` or ``nnkernels info``. Until then products go to OpenBLAS.

Override: ``NNKERNELS_GEMM=openblas|onednn|auto`` in the environment, or
``nnkernels.gemm_backend("openblas" | "onednn" | "auto")`` in Python (``auto`` measures
again and rewrites the cache entry).
"""
import contextlib
import hashlib
import json
import os
import sys
import time

from nnkernels import _blas_loader
from nnkernels._gemm_timing import MARGIN, _products, measure  # noqa: F401 (re-exported)

ENV = "NNKERNELS_GEMM"
CHOICES = ("auto", "openblas", "onednn")
CACHE_NAME = "gemm-choice.json"
CACHE_FORMAT = 1
#: A measurement taken while the 1-minute load average exceeded this many runnable
#: tasks per usable core is cached as provisional: used, but measured again by the next
#: process that needs it, until one is taken on a calmer machine.
BUSY_LOAD_PER_CORE = 1.5
ONEDNN_EXTRA = "pip install 'nnkernels[onednn]' (the onednn-cpu-gomp wheel)"

# How the current choice came about: "default" (OpenBLAS until measured), "environment",
# "cache", "measured", "call"; and the measurement behind it, if any.
_source = "default"
_measurement = None
_pending = True
_onednn_error = None


class GemmChoiceError(RuntimeError):
    """The GEMM library asked for cannot be used."""


def onednn_library():
    """The oneDNN shared library of the ``onednn-cpu-gomp`` wheel, or None.

    The wheel installs ``libdnnl.so.3`` into ``<prefix>/lib`` (a data file, no Python
    package): the environment's prefix, or the user base for ``pip install --user``.
    """
    import site
    names = ("libdnnl.so.3", "libdnnl.so")
    bases = [sys.prefix, getattr(site, "USER_BASE", None) or site.getuserbase()]
    for base in bases:
        for name in names:
            path = os.path.join(base, "lib", name)
            if os.path.isfile(path):
                return path
    return None


def _load_onednn():
    """Load oneDNN once; None on success, else why it cannot be used."""
    global _onednn_error
    if _blas_loader.onednn_path() is not None:
        return None
    if _onednn_error is not None:
        return _onednn_error
    path = onednn_library()
    if path is None:
        _onednn_error = f"oneDNN is not installed ({ONEDNN_EXTRA})"
    else:
        _onednn_error = _blas_loader.use_onednn(path)
    return _onednn_error


def _cpu():
    """(model name, flags) of this CPU; from /proc/cpuinfo where there is one."""
    import platform
    model, flags = None, ""
    with contextlib.suppress(OSError):
        with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as f:
            for line in f:
                name, _, value = line.partition(":")
                name = name.strip()
                if name == "model name" and model is None:
                    model = value.strip()
                elif name in ("flags", "Features") and not flags:
                    flags = " ".join(sorted(value.split()))
                if not line.strip() and flags:
                    break  # the first processor's block is enough
    return model or platform.processor() or platform.machine(), flags


def _usable_cores():
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:
        return os.cpu_count() or 1


def _file_identity(path):
    if path is None:
        return None
    try:
        st = os.stat(path)
    except OSError:
        return None
    return {"path": os.path.realpath(path), "size": st.st_size}


def machine_key():
    """What the measurement depends on: the CPU and the libraries' builds."""
    model, flags = _cpu()
    return {
        "cpu": model,
        "cpu_flags_sha256": hashlib.sha256(flags.encode()).hexdigest()[:16],
        "cores": _usable_cores(),
        "openblas": _blas_loader.openblas_config(),
        "openblas_file": _file_identity(_blas_loader.library_path()),
        "onednn_file": _file_identity(onednn_library()),
    }


def _key_id(key):
    return hashlib.sha256(json.dumps(key, sort_keys=True).encode()).hexdigest()[:24]


def cache_path():
    """The cache file of the measured choice."""
    from nnkernels._io import user_cache_dir
    return user_cache_dir() / CACHE_NAME


def _read_entries():
    """The cache's entries, or {} when it is missing, unreadable or not ours."""
    try:
        with open(cache_path(), encoding="utf-8") as f:
            data = json.load(f)
    except (OSError, ValueError):
        return {}
    if (not isinstance(data, dict) or data.get("format") != CACHE_FORMAT
            or not isinstance(data.get("entries"), dict)):
        return {}
    return {k: v for k, v in data["entries"].items() if _valid_entry(v)}


def _valid_entry(entry):
    return (isinstance(entry, dict) and entry.get("gemm") in CHOICES[1:]
            and entry.get("gemv") in CHOICES[1:] and isinstance(entry.get("key"), dict))


def read_cache(key):
    """This machine's cached entry, or None."""
    entry = _read_entries().get(_key_id(key))
    if entry is None or entry["key"] != key:
        return None
    return entry


def write_cache(key, entry):
    """Add this machine's entry (keeping other machines' readable entries), atomically."""
    from nnkernels._io import atomic_output
    entries = _read_entries()
    entries[_key_id(key)] = {**entry, "key": key}
    with atomic_output(cache_path(), text=True) as f:
        json.dump({"format": CACHE_FORMAT, "entries": entries}, f, indent=1, sort_keys=True)
        f.write("\n")


def _apply(gemm, gemv, source, measurement=None):
    global _source, _measurement, _pending
    _blas_loader.set_float_backend(gemm, gemv)
    _source, _measurement, _pending = source, measurement, False


def _from_environment():
    """The override in NNKERNELS_GEMM ("auto" when unset or empty)."""
    value = os.environ.get(ENV, "").strip()
    if not value:
        return "auto"
    if value not in CHOICES:
        raise ValueError(f"environment variable {ENV} must be one of "
                         f"{', '.join(CHOICES)}; got {value!r}")
    return value


def _force(name, source, asker):
    if name == "onednn":
        why = _load_onednn()
        if why is not None:
            raise GemmChoiceError(f"{asker} asks for oneDNN, but {why}")
    _apply(name, name, source)


def select_at_import():
    """Apply the override or the cached choice; measure nothing (import stays quick)."""
    global _pending
    wanted = _from_environment()
    if wanted != "auto":
        _force(wanted, "environment", f"{ENV}={wanted}")
        return
    entry = read_cache(machine_key())
    if entry is not None and ("onednn" not in (entry["gemm"], entry["gemv"])
                              or _load_onednn() is None):
        _apply(entry["gemm"], entry["gemv"], "cache", entry.get("measurement"))
        if entry.get("provisional"):
            _pending = True  # measured on a busy machine: measure again at first use
        return
    _apply("openblas", "openblas", "default")
    _pending = True


def ensure():
    """Measure and cache the choice if this process has none yet (the first product
    of a plan or a layer calls this); cheap afterwards."""
    if _pending:
        remeasure()


def remeasure():
    """Measure now, apply the result and write it to the cache."""
    _load_onednn()   # timed if it loads
    result = measure()
    key = machine_key()
    load = result["load_average"]
    busy = (load is not None and load > BUSY_LOAD_PER_CORE * key["cores"]
            or result["split_not_timed_busy"])
    with contextlib.suppress(OSError):  # a read-only home still gets the measured choice
        write_cache(key, {"gemm": result["gemm"], "gemv": result["gemv"],
                          "measurement": result, "provisional": busy,
                          "measured_at": time.strftime("%Y-%m-%dT%H:%M:%S%z")})
    _apply(result["gemm"], result["gemv"], "measured", result)
    return result


def gemm_backend(name=None):
    """The library that computes float32 products, or choose it.

    Parameters
    ----------
    name : {None, "openblas", "onednn", "auto"}
        None: measure first if nothing is chosen yet (about 0.1-1 s, once per machine:
        the result is cached), then report. "openblas" or "onednn": use that library
        for every float32 product in this process. "auto": measure again now, use the
        faster and rewrite this machine's cache entry. float64 products always use
        OpenBLAS.

    Returns
    -------
    str
        "openblas" or "onednn": the library of products with several rows and
        columns (see :func:`nnkernels.build_info` for the one-row products).
    """
    if name is not None and name not in CHOICES:
        raise ValueError(f"gemm_backend: name must be None or one of {', '.join(CHOICES)}; "
                         f"got {name!r}")
    if name == "auto":
        remeasure()
    elif name is not None:
        _force(name, "call", f"gemm_backend({name!r})")
    else:
        ensure()
    return _blas_loader.float_backend()[0]


def describe():
    """The choice for build_info(): libraries, how they were chosen, what was measured."""
    gemm, gemv = _blas_loader.float_backend()
    return {
        "float32_gemm": gemm,
        "float32_gemv": gemv,
        "float64": "openblas",
        "chosen_by": _source if not _pending
        else "not measured yet (OpenBLAS until the first product)" if _source == "default"
        else f"{_source} (provisional, measured on a busy machine: again at first use)",
        "override": os.environ.get(ENV) or None,
        "onednn": ({"version": _blas_loader.onednn_version(), "path": _blas_loader.onednn_path()}
                   if _blas_loader.onednn_path() else _onednn_error or "not loaded"),
        "measurement": _measurement,
        "cache": str(cache_path()),
    }
