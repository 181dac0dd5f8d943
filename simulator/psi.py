"""Memory pressure stall information, as /proc/pressure/memory reports it.

Follows kernel/sched/psi.c for one resource (memory) and one runqueue:

- State (test_state): PSI_MEM_SOME while at least one task is in a memory
  stall; PSI_MEM_FULL while some task is stalled and every non-idle task of
  the group is (the kernel's tasks[NR_RUNNING] == tasks[NR_MEMSTALL_RUNNING]:
  no productive task left). A stalled task is non-idle (PSI_NONIDLE counts
  NR_MEMSTALL), so with a single non-idle task full == some.
- total (record_times, psi_show): the time spent in each state, reported in
  microseconds, truncated (div_u64 by NSEC_PER_USEC), including the time of
  the period still in progress.
- avg10/avg60/avg300 (update_averages, calc_avgs, psi_avgs_work): at the end
  of every PSI_FREQ period, sample = total - avg_total clamped to the period
  (the overage is carried to later periods, as the kernel does), pct =
  sample * 100 / period in FIXED_1 fixed point, folded with the kernel's
  integer calc_load() and EXP_10s/EXP_60s/EXP_300s. The arithmetic is the
  kernel's, in exact integers, not floating point.

Simplifications, and why:

- One runqueue: the kernel weighs per-CPU states by their non-idle time; the
  simulator has no CPUs to place tasks on, so "full" means every non-idle
  task of the group is stalled at the same time.
- PSI_FREQ is exactly 2 s (the kernel's 2*HZ+1 jiffies is 2.004 s at HZ=250)
  and the averaging worker is never late, so every period is sampled on its
  own and calc_load_n()'s catch-up after idle is never needed.
- Non-idle: explicit task_start()/task_exit() calls (a process is non-idle
  from its start until it exits; call them again around sleeps if sleeping
  should count as idle). A stall also makes its task non-idle: a stall
  reported for an unknown task starts it at the stall's start, and a stall
  reaching past a task's exit extends its non-idle time over the stall.
- A task's stalls are reported when they end, in order per task, possibly
  out of order across tasks (each process runs ahead on its own clock). The
  group therefore keeps the step function of (non-idle, stalled) task counts
  as a sorted list of segments and places every report exactly, however late.
  Time already folded into the averages is never revised: a late report
  raises total at once and reaches the averages in the next period's sample,
  which is the kernel's own rule for time that slips across a period.
- Segments older than history_ns behind the last folded period are dropped
  to bound memory; a stall reported even later than that counts its part
  before the kept history as "some" only (the other tasks' state then is no
  longer known).

Cost: task_stall/task_start/task_exit touch O(log n + k) segments, k being
the boundaries inside the interval (a few per task for the short stalls the
simulator reports); snapshot is O(log n) per elapsed period plus the
segments it walks. n is bounded by the kept history.
"""

from __future__ import annotations

from bisect import bisect_right
from dataclasses import dataclass

NSEC_PER_USEC = 1_000
# PSI_FREQ: the averages are updated every 2 s.
PSI_FREQ_NS = 2_000_000_000

# include/linux/sched/loadavg.h fixed point.
FSHIFT = 11
FIXED_1 = 1 << FSHIFT
# kernel/sched/psi.c: 1/exp(2s/10s), 1/exp(2s/60s), 1/exp(2s/300s) as
# fixed-point.
EXP_10s = 1677
EXP_60s = 1981
EXP_300s = 2034
_EXPS = (EXP_10s, EXP_60s, EXP_300s)

# How much of the past stays placeable for late reports.
PSI_HISTORY_NS = 30_000_000_000

PSI_MEM_SOME = 0
PSI_MEM_FULL = 1
_STATES = (PSI_MEM_SOME, PSI_MEM_FULL)
_STATE_NAMES = ("some", "full")


def calc_load(load: int, exp: int, active: int) -> int:
    """a1 = a0 * e + a * (1 - e), rounding up while rising (loadavg.h)."""
    newload = load * exp + active * (FIXED_1 - exp)
    # Without the round-up a steady 100% would settle just under 100.00.
    if active >= load:
        newload += FIXED_1 - 1
    return newload // FIXED_1


def calc_avgs(avg: list[int], time_ns: int, period_ns: int) -> None:
    """Fold one period's stall time into avg10/avg60/avg300 (psi.c)."""
    pct = time_ns * 100 // period_ns * FIXED_1
    for i, exp in enumerate(_EXPS):
        avg[i] = calc_load(avg[i], exp, pct)


def load_int(x: int) -> int:
    return x >> FSHIFT


def load_frac(x: int) -> int:
    return load_int((x & (FIXED_1 - 1)) * 100)


@dataclass
class _Task:
    since: int  # start of the current (or last) non-idle stretch
    until: int | None  # exit of the last stretch; None while non-idle
    last_end: int  # end of the last stall reported


class PsiGroup:
    """A psi_group for memory: the tasks of the machine or of one group."""

    def __init__(self, name: str, start_ns: int = 0,
                 history_ns: int = PSI_HISTORY_NS) -> None:
        self.name = name
        self.history_ns = history_ns
        self._tasks: dict[int, _Task] = {}
        # Segment i covers [_t[i], _t[i+1]); the last one runs forever.
        self._t: list[int] = [start_ns]
        self._nonidle: list[int] = [0]
        self._stalled: list[int] = [0]
        # Stall time per state over [start, _folded): the periods folded so
        # far, plus late reports that landed before _folded.
        self._folded = start_ns
        self._total = [0, 0]
        # group->avg_total, group->avg[state][3], group->avg_next_update.
        self._avg_total = [0, 0]
        self._avg = [[0, 0, 0], [0, 0, 0]]
        self._avg_next_update = start_ns + PSI_FREQ_NS

    # --- task state -------------------------------------------------------

    def task_start(self, pid: int, start_ns: int) -> None:
        """The task is non-idle from start_ns until task_exit()."""
        task = self._tasks.get(pid)
        if task is None:
            self._tasks[pid] = _Task(start_ns, None, start_ns)
            self._apply(start_ns, None, 1, 0)
        elif task.until is not None:
            # Woken again; its calls come in order, so not before its exit.
            start_ns = max(start_ns, task.until)
            task.since, task.until = start_ns, None
            self._apply(start_ns, None, 1, 0)

    def task_exit(self, pid: int, end_ns: int) -> None:
        """The task is idle from end_ns (exited, or asleep)."""
        task = self._tasks.get(pid)
        if task is None or task.until is not None:
            return
        end_ns = max(end_ns, task.since, task.last_end)
        task.until = end_ns
        self._apply(end_ns, None, -1, 0)

    def task_alive(self, pid: int, start_ns: int, end_ns: int | None) -> None:
        """task_start() and, when end_ns is given, task_exit()."""
        self.task_start(pid, start_ns)
        if end_ns is not None:
            self.task_exit(pid, end_ns)

    def task_stall(self, pid: int, start_ns: int, end_ns: int) -> None:
        """The task was in a memory stall over [start_ns, end_ns)."""
        task = self._tasks.get(pid)
        if task is None:
            self.task_start(pid, start_ns)
            task = self._tasks[pid]
        # Overlap with its own previous stall counts once, like a nested
        # psi_memstall_enter(); touching stalls simply join.
        start_ns = max(start_ns, task.last_end)
        if end_ns <= start_ns:
            return
        if start_ns < task.since:
            # Stalled before the start we were told: it was non-idle then.
            self._apply(start_ns, task.since, 1, 0)
            task.since = start_ns
        if task.until is not None and end_ns > task.until:
            # A stall after its exit: non-idle for the stall's length.
            lo = max(start_ns, task.until)
            self._apply(lo, end_ns, 1, 0)
            if start_ns >= task.until:
                task.since = start_ns
            task.until = end_ns
        self._apply(start_ns, end_ns, 0, 1)
        task.last_end = end_ns

    # --- reading ----------------------------------------------------------

    def snapshot(self, now_ns: int) -> dict[str, int | float]:
        """What /proc/pressure/memory reads at now_ns (psi_show).

        Averages are updated for every whole PSI_FREQ period that has ended
        by now_ns, as psi_avgs_work() would have; totals include the time of
        the period in progress. now_ns should not go backwards.
        """
        while self._avg_next_update <= now_ns:
            self._update_averages(self._avg_next_update)
            self._avg_next_update += PSI_FREQ_NS
        self._prune()
        live = self._between(self._folded, now_ns)
        snap: dict[str, int | float] = {}
        for s in _STATES:
            name = _STATE_NAMES[s]
            snap[f"{name}_total_us"] = (self._total[s] + live[s]) // NSEC_PER_USEC
            for w, window in enumerate(("avg10", "avg60", "avg300")):
                # Exact: a multiple of 1/2048 is a binary fraction.
                snap[f"{name}_{window}"] = self._avg[s][w] / FIXED_1
        return snap

    def _update_averages(self, now_ns: int) -> None:
        """update_averages() for one period that ended at now_ns."""
        period = now_ns - self._folded
        fresh = self._between(self._folded, now_ns)
        self._folded = now_ns
        for s in _STATES:
            self._total[s] += fresh[s]
            # Over the period (late reports landing all at once) is carried
            # to later periods; under zero (a late task_start taking full
            # time back) is owed by later periods.
            sample = min(max(self._total[s] - self._avg_total[s], 0), period)
            self._avg_total[s] += sample
            calc_avgs(self._avg[s], sample, period)

    # --- the step function of task counts ---------------------------------

    @staticmethod
    def _state(nonidle: int, stalled: int) -> tuple[int, int]:
        """test_state() for PSI_MEM_SOME and PSI_MEM_FULL."""
        some = 1 if stalled else 0
        full = 1 if stalled and stalled == nonidle else 0
        return some, full

    def _split(self, t: int) -> int:
        """Make t a segment boundary; return its segment index."""
        i = bisect_right(self._t, t) - 1
        if self._t[i] == t:
            return i
        self._t.insert(i + 1, t)
        self._nonidle.insert(i + 1, self._nonidle[i])
        self._stalled.insert(i + 1, self._stalled[i])
        return i + 1

    def _apply(self, lo: int, hi: int | None, d_nonidle: int,
               d_stalled: int) -> None:
        """Add to the task counts over [lo, hi) (hi None: forever)."""
        floor = self._t[0]
        if lo < floor:
            # Before the kept history: the others' state there is gone.
            if d_stalled:
                self._total[PSI_MEM_SOME] += (min(hi, floor) if hi is not None
                                              else floor) - lo
            lo = floor
        if hi is not None and hi <= lo:
            return
        i0 = self._split(lo)
        i1 = self._split(hi) if hi is not None else len(self._t)
        for i in range(i0, i1):
            old = self._state(self._nonidle[i], self._stalled[i])
            self._nonidle[i] += d_nonidle
            self._stalled[i] += d_stalled
            new = self._state(self._nonidle[i], self._stalled[i])
            if old != new and self._t[i] < self._folded:
                # A late report changes time already counted in total.
                end = self._t[i + 1] if i + 1 < len(self._t) else self._folded
                span = min(end, self._folded) - self._t[i]
                for s in _STATES:
                    self._total[s] += (new[s] - old[s]) * span
        # Only the two ends can have become equal to their neighbours.
        if i1 < len(self._t):
            self._merge(i1)
        self._merge(i0)

    def _merge(self, i: int) -> None:
        if (0 < i < len(self._t) and self._nonidle[i] == self._nonidle[i - 1]
                and self._stalled[i] == self._stalled[i - 1]):
            del self._t[i], self._nonidle[i], self._stalled[i]

    def _between(self, lo: int, hi: int) -> tuple[int, int]:
        """Time in PSI_MEM_SOME and PSI_MEM_FULL over [lo, hi)."""
        times = [0, 0]
        if hi <= lo:
            return times[0], times[1]
        i = max(bisect_right(self._t, lo) - 1, 0)
        n = len(self._t)
        while i < n and self._t[i] < hi:
            start = max(self._t[i], lo)
            end = min(self._t[i + 1], hi) if i + 1 < n else hi
            some, full = self._state(self._nonidle[i], self._stalled[i])
            times[0] += some * (end - start)
            times[1] += full * (end - start)
            i += 1
        return times[0], times[1]

    def _prune(self) -> None:
        """Drop segments wholly older than history_ns before _folded."""
        cutoff = self._folded - self.history_ns
        i = bisect_right(self._t, cutoff) - 1
        # In batches: deleting from the front of a list moves all of it.
        if i >= 64:
            del self._t[:i], self._nonidle[:i], self._stalled[:i]


def format_pressure(snapshot: dict[str, int | float]) -> str:
    """The text of /proc/pressure/memory for a snapshot (psi_show)."""
    lines = []
    for name in _STATE_NAMES:
        fields = []
        for window in ("avg10", "avg60", "avg300"):
            x = int(snapshot[f"{name}_{window}"] * FIXED_1)
            fields.append(f"{window}={load_int(x)}.{load_frac(x):02d}")
        total = int(snapshot[f"{name}_total_us"])
        lines.append(f"{name} {' '.join(fields)} total={total}\n")
    return "".join(lines)
