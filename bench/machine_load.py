"""How busy the machine is while bench/compare.py measures: the load average, the cores
other processes use during a block (OtherCpu), the busiest processes, and waiting for
a quiet machine; log() is the progress line on stderr that compare.py's parts write."""
import os
import sys
import time


def log(msg):
    print(msg, file=sys.stderr, flush=True)


def loadavg():
    try:
        return [round(v, 2) for v in os.getloadavg()]
    except OSError:
        return None


def _proc_cpu(pid):
    """utime + stime of a process (all its threads), in clock ticks; None if gone."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return int(fields[11]) + int(fields[12])
    except (OSError, IndexError, ValueError):
        return None


def _system_cpu():
    """(total ticks, busy ticks, number of cpus) from /proc/stat."""
    with open("/proc/stat") as f:
        lines = f.readlines()
    fields = [int(v) for v in lines[0].split()[1:]]
    cpus = sum(1 for line in lines if line.startswith("cpu") and line[3].isdigit())
    total = sum(fields[:8])
    return total, total - fields[3] - fields[4], cpus


class OtherCpu:
    """Cores used by processes other than ours (this one and `pids`) while a block runs."""

    def __init__(self, pids=()):
        self.pids = [os.getpid(), *pids]
        self.value = None

    def _read(self):
        try:
            total, busy, cpus = _system_cpu()
        except (OSError, ValueError, IndexError):
            return None
        return total, busy, cpus, sum(_proc_cpu(p) or 0 for p in self.pids)

    def __enter__(self):
        self._start = self._read()
        return self

    def __exit__(self, *exc):
        end = self._read()
        if self._start and end and end[0] > self._start[0]:
            wall_cores = (end[0] - self._start[0]) / end[2]
            other = (end[1] - self._start[1]) - (end[3] - self._start[3])
            self.value = round(max(0.0, other) / wall_cores, 3)
        return False


def top_processes(seconds=1.0, count=3):
    """The processes that used the most CPU over `seconds`: [(cores, pid, name)]."""
    def snapshot():
        out = {}
        for name in os.listdir("/proc"):
            if name.isdigit():
                ticks = _proc_cpu(int(name))
                if ticks is not None:
                    out[int(name)] = ticks
        return out
    first = snapshot()
    time.sleep(seconds)
    second = snapshot()
    hz = os.sysconf("SC_CLK_TCK")
    busy = []
    for pid, ticks in second.items():
        delta = ticks - first.get(pid, ticks)
        if delta > 0 and pid != os.getpid():
            try:
                with open(f"/proc/{pid}/comm") as f:
                    comm = f.read().strip()
            except OSError:
                comm = "?"
            busy.append((round(delta / hz / seconds, 2), pid, comm))
    return sorted(busy, reverse=True)[:count]


def wait_until_quiet(max_wait, max_load, poll=5.0):
    """Poll /proc/loadavg (and per-process CPU) until the 1-minute load is below
    max_load; at most max_wait seconds. Returns what was seen."""
    start = time.monotonic()
    last_report = -1e9
    while True:
        load = loadavg()
        waited = time.monotonic() - start
        if load is None or load[0] < max_load:
            return {"waited_seconds": round(waited, 1), "loadavg": load, "quiet": True}
        if waited >= max_wait:
            return {"waited_seconds": round(waited, 1), "loadavg": load, "quiet": False,
                    "busy_processes": top_processes()}
        busy = top_processes(seconds=min(poll, 1.0))
        if waited - last_report >= 30:
            log(f"  waiting for a quiet machine: load {load}, busiest "
                f"{', '.join(f'{c} cores {n}[{p}]' for c, p, n in busy) or 'none'} "
                f"({waited:.0f}/{max_wait:.0f} s)")
            last_report = waited
        time.sleep(max(0.0, poll - 1.0))
