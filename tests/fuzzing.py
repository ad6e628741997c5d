"""Shared fuzzing support for the file readers' tests (issue 14).

Every reader's fuzz test mutates a valid file with :func:`mutations`, feeds each case to
the reader under :func:`memory_cap`, and accepts exactly two outcomes (:func:`check_case`):
the reader returns, or it raises its own ``ValueError`` subclass. ``MemoryError``,
``OverflowError``, a NumPy or Pillow exception, or any other type fails the test.

The number of random cases per reader comes from ``NNKERNELS_FUZZ_CASES`` (default 200,
which keeps CI quick); the long run is::

    NNKERNELS_FUZZ_CASES=100000 python -m pytest tests -k fuzz -p no:randomly
"""
import contextlib
import os
import resource
import time

import numpy as np

#: random mutations per reader (the deterministic ones come on top)
CASES = int(os.environ.get("NNKERNELS_FUZZ_CASES", "200"))
#: values written into dimension and length fields
EDGE_VALUES = (0, 1, 2, 2**31 - 1, 2**31, 2**32 - 1)
#: one case may take this long before the test fails (a hang is a failure)
CASE_SECONDS = float(os.environ.get("NNKERNELS_FUZZ_CASE_SECONDS", "5"))


def _address_space():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[0]) * resource.getpagesize()


@contextlib.contextmanager
def memory_cap(extra_bytes=1 << 30):
    """Limit this process's address space to what it uses now plus `extra_bytes`.

    A reader that tries to allocate what a header claims, instead of checking the claim
    against the bytes present, gets a MemoryError here instead of the machine's memory.
    """
    soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    cap = _address_space() + extra_bytes
    if hard != resource.RLIM_INFINITY:
        cap = min(cap, hard)
    resource.setrlimit(resource.RLIMIT_AS, (cap, hard))
    try:
        yield
    finally:
        resource.setrlimit(resource.RLIMIT_AS, (soft, hard))


def put_int(data, offset, size, value, byteorder):
    """`data` with the unsigned `size`-byte integer at `offset` replaced by `value`
    (reduced modulo 2**(8*size))."""
    value %= 1 << (8 * size)
    return data[:offset] + value.to_bytes(size, byteorder) + data[offset + size:]


def mutations(data, *, seed=0, header_len=64, int_fields=(), cases=None):
    """Yield ``(name, mutated_bytes)`` cases derived from the valid file `data`.

    Deterministic cases: every truncation inside the first `header_len` bytes (and a few
    beyond), the empty file, each `int_fields` entry ``(offset, size, byteorder)`` set to
    every value of :data:`EDGE_VALUES`, and the file doubled. Then `cases` (default
    :data:`CASES`) random cases: 1-8 bit flips, a random byte run overwritten, a chunk
    deleted or duplicated.
    """
    data = bytes(data)
    n = len(data)
    yield "empty", b""
    for length in range(1, min(header_len, n)):
        yield f"truncated at {length}", data[:length]
    for length in sorted({n // 2, n - 1, max(n - 8, 0)}):
        yield f"truncated at {length}", data[:length]
    for offset, size, byteorder in int_fields:
        for value in EDGE_VALUES:
            yield f"field at {offset} = {value}", put_int(data, offset, size, value, byteorder)
    yield "doubled", data + data
    rng = np.random.default_rng(seed)
    for i in range(CASES if cases is None else cases):
        buf = bytearray(data)
        kind = i % 4
        if kind == 0 or n < 4:
            for _ in range(int(rng.integers(1, 9))):
                pos = int(rng.integers(0, max(n, 1)))
                if pos < n:
                    buf[pos] ^= 1 << int(rng.integers(0, 8))
            name = "bit flips"
        elif kind == 1:
            pos = int(rng.integers(0, min(n, header_len + 1)))
            run = rng.integers(0, 256, size=int(rng.integers(1, 9)), dtype=np.uint8).tobytes()
            buf[pos:pos + len(run)] = run
            name = "overwritten run in the header"
        elif kind == 2:
            a = int(rng.integers(0, n))
            b = min(n, a + int(rng.integers(1, 64)))
            del buf[a:b]
            name = "chunk deleted"
        else:
            a = int(rng.integers(0, n))
            b = min(n, a + int(rng.integers(1, 64)))
            buf[a:a] = buf[a:b]
            name = "chunk duplicated"
        yield f"random {i}: {name}", bytes(buf)


def check_case(read, name, error_type):
    """Call ``read()``; return None on success or on `error_type`, else a failure line."""
    start = time.perf_counter()
    try:
        read()
    except error_type:
        pass
    except BaseException as exc:  # noqa: BLE001 - anything else is the failure we hunt
        return f"{name}: {type(exc).__module__}.{type(exc).__name__}: {exc}"[:300]
    elapsed = time.perf_counter() - start
    if elapsed > CASE_SECONDS:
        return f"{name}: took {elapsed:.1f} s"
    return None

