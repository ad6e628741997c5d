"""Timing the float32 GEMM libraries on the classifier's products, for the choice that
nnkernels._gemm_choice caches (see there): rounds that alternate the libraries, each
timing the faster of two back to back, decided on the median of the round-by-round
ratios."""
import os
import time

import nnkernels._blas_loader as _blas_loader
import nnkernels._blas_probe as _blas_probe
import nnkernels._threads as _threads

#: oneDNN replaces OpenBLAS only if its median time is below (1 - MARGIN) of OpenBLAS's.
MARGIN = 0.03
#: The products timed: the classifier's layers (784-250-100-10) at batch 100.
LAYERS = (784, 250, 100, 10)
BATCH = 100
#: Timing rounds (each times every library and mode once, in alternating order), and the
#: time after which no new round starts (at least MIN_ROUNDS run).
ROUNDS, MIN_ROUNDS, TIME_BUDGET = 15, 5, 0.5
#: After two rounds, the split across threads is no longer timed if it takes more than
#: this many times as long as one thread: the machine is not giving the process its
#: cores (on a 2-core VM at load 10 a split pass took 30x one thread's, mostly waiting at
#: barriers for a descheduled thread), and those timings would only be noise.
SPLIT_BUSY_FACTOR = 3.0

def _products(rng_seed=0):
    """The classifier step's eight products and one image's three, as
    (trans_a, trans_b, a, b, c) with c = op(a) @ op(b)."""
    import numpy as np
    rng = np.random.default_rng(rng_seed)
    step, one_row = [], []

    def arr(*shape):
        return rng.standard_normal(shape, dtype=np.float32)

    for i, (fi, fo) in enumerate(zip(LAYERS[:-1], LAYERS[1:])):
        x, w, dy = arr(BATCH, fi), arr(fi, fo), arr(BATCH, fo)
        step.append((False, False, x, w, np.empty((BATCH, fo), np.float32)))   # forward
        step.append((True, False, x, dy, np.empty((fi, fo), np.float32)))      # dW = x^T dy
        if i > 0:
            step.append((False, True, dy, w, np.empty((BATCH, fi), np.float32)))  # dx = dy W^T
        one_row.append((False, False, arr(1, fi), w, np.empty((1, fo), np.float32)))
    return step, one_row


def measure(n_threads=None, rounds=ROUNDS, time_budget=TIME_BUDGET):
    """Time the usable libraries on the classifier's products.

    Returns
    -------
    dict
        ``gemm`` and ``gemv``: the faster library for products of several rows and of
        one row; ``seconds``: {library: {mode: median seconds of one pass}} with modes
        ``one`` (one thread), ``split`` (n_threads threads, if more than one) and
        ``gemv``; ``onednn_over_openblas``: the median round-by-round time ratio per
        mode; ``threads``, ``rounds``, ``elapsed``, ``load_average``, and
        ``split_not_timed_busy`` (the split took over SPLIT_BUSY_FACTOR times one
        thread's time after two rounds: left out of the decision).
    """
    nt = _threads.get_num_threads() if n_threads is None else n_threads
    # oneDNN is timed when loaded (nnkernels._gemm_choice loads it, and says why not).
    libraries = ["openblas"] + (["onednn"] if _blas_loader.onednn_path() is not None else [])
    step, one_row = _products()
    modes = [("one", step, 1)] + ([("split", step, nt)] if nt > 1 else [])
    modes.append(("gemv", one_row, 1))
    runs = {(lib, mode): [] for lib in libraries for mode, _, _ in modes}
    started = time.perf_counter()
    for lib in libraries:  # warm-up: oneDNN generates its kernels, OpenBLAS primes
        for mode, products, threads in modes:
            _blas_probe.time_products(products, lib, threads, "one" if mode == "gemv" else
                                 mode, 1)
    done, split_busy = 0, False
    for r in range(rounds):
        order = libraries if r % 2 == 0 else libraries[::-1]
        for mode, products, threads in modes:
            if mode == "split" and split_busy:
                continue
            # A pass of the step takes 1-5 ms on an idle machine; one row 20-50 us.
            repeats = 1 if mode != "gemv" else 20
            for lib in order:
                # the faster of two back-to-back timings: being descheduled only ever
                # adds time, and on a busy machine it hits one timing in a few
                runs[lib, mode].append(min(_timed(products, lib, threads, mode, repeats)
                                           for _ in range(2)) / repeats)
        done = r + 1
        if (r == 1 and nt > 1 and _median(runs["openblas", "split"])
                > SPLIT_BUSY_FACTOR * _median(runs["openblas", "one"])):
            split_busy = True
        if done >= MIN_ROUNDS and time.perf_counter() - started > time_budget:
            break
    if split_busy:  # decide on one thread's timings
        modes = [m for m in modes if m[0] != "split"]
    seconds = {lib: {mode: _median(runs[lib, mode]) for mode, _, _ in modes}
               for lib in libraries}
    # The decision compares each round's two timings, taken back to back: the median of
    # those ratios is robust to load that changes between rounds.
    ratios = ({mode: _median([o / b for o, b in zip(runs["onednn", mode],
                                                     runs["openblas", mode])])
               for mode, _, _ in modes} if "onednn" in libraries else {})

    def winner(step_modes):
        if not ratios:
            return "openblas"
        ratio = 1.0
        for mode in step_modes:
            ratio *= ratios[mode]
        ratio **= 1 / len(step_modes)  # the geometric mean over the modes
        return "onednn" if ratio < 1 - MARGIN else "openblas"

    return {"gemm": winner([m for m, _, _ in modes if m != "gemv"]),
            "gemv": winner(["gemv"]), "seconds": seconds, "onednn_over_openblas": ratios,
            "threads": nt, "split_not_timed_busy": split_busy,
            "rounds": done, "elapsed": round(time.perf_counter() - started, 3),
            "load_average": _load_average()}


def _timed(products, lib, threads, mode, repeats):
    """Seconds of `repeats` passes: the calling thread's CPU time where the products
    run on it alone (one thread, one row: what they cost when the thread has a core,
    without the time a busy machine makes it wait for one), the wall clock for the split
    across threads (where waiting for each other at barriers is part of the cost)."""
    if mode == "split":
        return _blas_probe.time_products(products, lib, threads, "split", repeats)
    start = time.thread_time()
    _blas_probe.time_products(products, lib, threads, "one", repeats)
    return time.thread_time() - start


def _median(values):
    values = sorted(values)
    n = len(values)
    return values[n // 2] if n % 2 else (values[n // 2 - 1] + values[n // 2]) / 2


def _load_average():
    """The 1-minute load average when measured (a busy machine makes noisy timings)."""
    try:
        return round(os.getloadavg()[0], 2)
    except (AttributeError, OSError):
        return None


