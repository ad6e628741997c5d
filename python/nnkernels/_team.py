"""How a plan's next call runs: on how many of its threads, and how long a waiting
thread spins before it sleeps, chosen by measuring the calls as they go (TeamSize),
so that fit, predict and evaluate keep their speed when another process takes a
core."""
import time

import nnkernels._plan as _plan


class TeamSize:
    """How the next call of a plan runs, among its ways (threads, spin_us): all of its
    threads, a waiting thread spinning SPIN_US before it sleeps; all of them, a waiting
    thread sleeping at once; or one thread. The way that did the most work per second
    when last measured is used, and each other way is measured again from time to
    time: every PROBE_SECONDS at first, twice as long after each measurement that left
    it behind, up to MOST_PROBE_SECONDS. Backing off is safe only where the way in use
    shows the change itself: a machine that gets busier slows every multi-thread way;
    a machine that gets quieter does not speed up one thread. So a way of more threads
    than the one in use is measured every PROBE_SECONDS; and when CHANGED_CALLS calls
    in a row of the way in use run more than CHANGE faster or slower than it ran when
    the others were last measured, each is measured again as soon as QUICK_SECONDS
    have passed since its last measurement (so that a machine whose speed keeps
    moving does not make every call a measurement).
    The first call after a change to a way of several threads is not counted, and the
    way runs again: that call pays for the change (threads waking up, the
    scheduler's account of a thread that spun or slept under the way before), which is
    not the new way's own speed. A one-thread call runs on the calling thread, which
    was running anyway: its first call counts (it is the slowest way to probe).

    Spinning suits a quiet machine: waits between phases last a few microseconds, and
    waking a sleeper costs 10-50. On a core shared with another process, a spinning
    thread burns the time that the thread it waits for needs, and the scheduler runs
    a thread that slept sooner when it wakes: sleeping at once wins there.
    """

    PROBE_SECONDS = 2.0
    MOST_PROBE_SECONDS = 32.0
    CHANGE = 0.25
    CHANGED_CALLS = 3
    QUICK_SECONDS = 0.5
    SPIN_US = _plan.DEFAULT_SPIN_US
    NO_SPIN_US = 1.0

    def __init__(self, full):
        self.ways = ([(1, self.SPIN_US)] if full == 1 else
                     [(full, self.SPIN_US), (full, self.NO_SPIN_US), (1, self.SPIN_US)])
        self.rate = {}      # way -> work per second, last measured
        self.when = {}      # way -> time.monotonic() of that measurement
        self.interval = dict.fromkeys(self.ways, self.PROBE_SECONDS)
        self.reference = None   # the best way's rate when the others were measured
        self.changed = 0        # calls in a row of the best way that moved from it
        self.last = None    # the way of the last call
        self.again = None   # a way whose first call after a change was not counted

    def best(self):
        """The fastest way when last measured (None before each was measured)."""
        if len(self.rate) < len(self.ways):
            return None
        return max(self.rate, key=self.rate.get)

    def choose(self):
        if self.again is not None:
            return self.again
        best = self.best()
        if best is None:
            return next(way for way in self.ways if way not in self.rate)
        now = time.monotonic()
        stale = [w for w in self.ways
                 if w != best and now - self.when[w] > self.interval[w]]
        return min(stale, key=self.when.get) if stale else best

    def record(self, way, work, seconds):
        switched, self.last = way != self.last, way
        warming = switched and way[0] > 1
        self.again = way if warming else None
        if warming or not (work > 0 and seconds > 0):
            return
        before, rate, now = self.best(), work / seconds, time.monotonic()
        old = self.rate.get(way)
        recent = old is not None and now - self.when[way] < 0.5
        self.rate[way] = 0.5 * (old + rate) if recent else rate
        self.when[way] = now
        best = self.best()
        if best is None:
            return
        if before is None or best[0] != before[0]:   # first ranking, or a new count
            self._measure_again(best, self.PROBE_SECONDS)
        elif best != before:            # the other spin: no sign of a change
            self.reference, self.changed = self.rate[best], 0
        elif way != best:               # a measurement that left this way behind
            longer = min(max(2 * self.interval[way], self.PROBE_SECONDS),
                         self.MOST_PROBE_SECONDS)
            self.interval[way] = longer if way[0] <= best[0] else self.PROBE_SECONDS
            self.reference = self.rate[best]
        else:
            moved = abs(rate - self.reference) > self.CHANGE * self.reference
            self.changed = self.changed + 1 if moved else 0
            if self.changed >= self.CHANGED_CALLS:
                self._measure_again(best, self.QUICK_SECONDS)

    def _measure_again(self, best, seconds):
        """Each way measured again `seconds` after its last measurement."""
        self.reference, self.changed = self.rate[best], 0
        self.interval = dict.fromkeys(self.ways, seconds)


def measured(plan, call, work=None):
    """call(threads) run the way the plan's TeamSize chooses (its thread count, and
    how long a waiting thread spins), which then records how fast it ran. `work`: how
    much the call does (rows), or None when the call returns it (training steps
    applied). Returns what the call returns."""
    if plan.n_threads == 1:
        return call(1)
    if plan.team is None:
        plan.team = TeamSize(plan.n_threads)
    way = plan.team.choose()
    threads, plan.spin_us = way
    start = time.perf_counter()
    result = call(threads)
    plan.team.record(way, result if work is None else work, time.perf_counter() - start)
    return result
