"""Memory cgroups: charging and the hard limit (mm/memcontrol.c).

Every resident folio is charged to the memcg of its lruvec, and its usage
counts in that memcg and in each ancestor (page_counter's hierarchy). A
charge that would take a memcg or an ancestor over memory.max is
try_charge()'s slow path: reclaim from the memcg over its limit
(try_to_free_mem_cgroup_pages(): its own and its descendants' lruvecs, on
every node) in the allocating process's time, up to MAX_RECLAIM_RETRIES
times, then the OOM killer inside that memcg (mem_cgroup_oom()).
memory.events counts each step as the kernel does.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from simulator.config import PAGE_SIZE
from simulator.page_alloc import JIFFY_NS
from simulator.vmstat import EVENT_INDEX
from simulator.vmscan import MAX_RECLAIM_RETRIES

if TYPE_CHECKING:
    from simulator.machine import Machine, Process

MEMORY_EVENTS = ("low", "high", "max", "oom", "oom_kill")
# memory.stat's events (memcg_vm_event_stat[]), each the vmstat counters it sums
MEMORY_STAT_EVENTS = {
    "workingset_refault_anon": ("workingset_refault_anon",),
    "workingset_refault_file": ("workingset_refault_file",),
    "workingset_activate_anon": ("workingset_activate_anon",),
    "workingset_activate_file": ("workingset_activate_file",),
    "workingset_restore_anon": ("workingset_restore_anon",),
    "workingset_restore_file": ("workingset_restore_file",),
    "pgscan": ("pgscan_kswapd", "pgscan_direct"),
    "pgsteal": ("pgsteal_kswapd", "pgsteal_direct"),
    "pgscan_kswapd": ("pgscan_kswapd",),
    "pgscan_direct": ("pgscan_direct",),
    "pgsteal_kswapd": ("pgsteal_kswapd",),
    "pgsteal_direct": ("pgsteal_direct",),
    "pgfault": ("pgfault",),
    "pgmajfault": ("pgmajfault",),
    "pgrefill": ("pgrefill",),
    "pgactivate": ("pgactivate",),
    "pgdeactivate": ("pgdeactivate",),
}
HZ = 250
MEMCG_CHARGE_BATCH = 64
MEMCG_DELAY_PRECISION_SHIFT = 20
MEMCG_DELAY_SCALING_SHIFT = 14
MEMCG_MAX_HIGH_DELAY_JIFFIES = 2 * HZ


class MemCgroups:
    def __init__(self, machine: Machine) -> None:
        self.m = machine
        self.cfg = machine.cfg.memcgs
        n = len(self.cfg)
        # each memcg with its ancestors (itself first), and its subtree
        self.ancestors: list[list[int]] = []
        for memcg, c in enumerate(self.cfg):
            chain = [memcg]
            while self.cfg[chain[-1]].parent >= 0:
                chain.append(self.cfg[chain[-1]].parent)
            self.ancestors.append(chain)
        self.subtree = [[d for d in range(n) if memcg in self.ancestors[d]] for memcg in range(n)]
        self.usage = [0] * n  # memory.current, in pages, descendants included
        self.swap_usage = [0] * n  # memory.swap.current
        self.owner_memcg = np.array([p.memcg for p in machine.cfg.processes] or [0], np.int64)
        self.events = [dict.fromkeys(MEMORY_EVENTS, 0) for _ in range(n)]
        self.proactive: list[list[dict[str, int]]] = [[] for _ in range(n)]  # memory.reclaim writes and results
        self.lruvec_memcg = np.asarray(machine.lruvec_memcg, np.int64)

    # -- the page counters ------------------------------------------------
    def charge(self, memcg: int, nr: int) -> None:
        for ancestor in self.ancestors[memcg]:
            self.usage[ancestor] += nr

    def uncharge(self, folios: np.ndarray) -> None:
        """Folios leaving memory give their charge back (before their lruvec
        is forgotten)."""
        lruvecs = self.m.folios.lruvec[folios]
        counts = np.bincount(self.lruvec_memcg[lruvecs[lruvecs >= 0]], minlength=len(self.cfg))
        for memcg in np.flatnonzero(counts).tolist():
            self.charge(memcg, -int(counts[memcg]))

    # -- swap: memory.swap.max -------------------------------------------------
    def swap_headroom(self, memcg: int) -> int:
        """mem_cgroup_get_nr_swap_pages() without the global part: the swap
        slots the memcg may still take under its and its ancestors' swap.max."""
        room = 1 << 62
        for ancestor in self.ancestors[memcg]:
            limit = self.cfg[ancestor].swap_max
            if limit is not None:
                room = min(room, limit - self.swap_usage[ancestor])
        return max(room, 0)

    def try_charge_swap(self, anon: np.ndarray) -> np.ndarray:
        """__mem_cgroup_try_charge_swap() for anon folios about to get swap
        slots: per folio, whether its memcg (its process's) may take one."""
        memcgs = self.owner_memcg[self.m.folios.owner[anon]]
        granted = np.zeros(len(anon), bool)
        for memcg in np.unique(memcgs).tolist():
            mine = np.flatnonzero(memcgs == memcg)
            take = mine[: self.swap_headroom(memcg)]
            granted[take] = True
            for ancestor in self.ancestors[memcg]:
                self.swap_usage[ancestor] += len(take)
        return granted

    def uncharge_swap(self, anon: np.ndarray) -> None:
        """Swap slots freed: their charge goes back."""
        counts = np.bincount(self.owner_memcg[self.m.folios.owner[anon]], minlength=len(self.cfg))
        for memcg in np.flatnonzero(counts).tolist():
            for ancestor in self.ancestors[memcg]:
                self.swap_usage[ancestor] -= int(counts[memcg])

    def headroom(self, memcg: int) -> tuple[int, int]:
        """How many pages the memcg can still be charged, and the ancestor
        (or itself) whose limit is the tightest (-1 when none has one)."""
        room, tightest = 1 << 62, -1
        for ancestor in self.ancestors[memcg]:
            limit = self.cfg[ancestor].max
            if limit is not None and limit - self.usage[ancestor] < room:
                room, tightest = limit - self.usage[ancestor], ancestor
        return max(room, 0), tightest

    # -- memory.high ----------------------------------------------------------
    def handle_over_high(self, p: Process, nr_pages: int) -> None:
        """mem_cgroup_handle_over_high(), on the way back to user space after
        charging `nr_pages`: reclaim what the memcgs over memory.high exceed
        it by (reclaim_high()); if that freed nothing and the overage earns
        a penalty worth sleeping for (calculate_high_delay()), the process
        sleeps it, throttled rather than killed."""
        over = [a for a in self.ancestors[p.cfg.memcg] if self.cfg[a].high is not None
                and self.usage[a] > self.cfg[a].high]
        if not over:
            return
        reclaimed = 0
        for memcg in over:
            self.event(memcg, "high")
            reclaimed += self.m.reclaim_memcg(p, memcg, self.usage[memcg] - self.cfg[memcg].high)
        penalty = high_delay_jiffies(self.max_overage(p.cfg.memcg), nr_pages)
        if reclaimed or penalty <= HZ // 100:  # progress, or an overage too small to be worth a sleep
            return
        self.m.memstall(p, p.clock, penalty * JIFFY_NS)
        p.clock += penalty * JIFFY_NS

    def max_overage(self, memcg: int) -> int:
        """mem_find_max_overage(): the largest (usage - high) / high of the
        memcg and its ancestors, in 1/2^20ths."""
        overage = 0
        for ancestor in self.ancestors[memcg]:
            high = self.cfg[ancestor].high
            if high is not None and self.usage[ancestor] > high:
                overage = max(overage, ((self.usage[ancestor] - high) << MEMCG_DELAY_PRECISION_SHIFT) // max(high, 1))
        return overage

    # -- protection: memory.min and memory.low ------------------------------
    def calculate_protection(self, root: int = 0) -> tuple[list[int], list[int]]:
        """mem_cgroup_calculate_protection() for reclaim of `root`'s subtree
        (the root memcg: global reclaim): each memcg's effective min and
        low. A child of `root` gets its settings; deeper ones
        effective_protection(): its usage up to its setting, shared out in
        proportion to usage when its siblings together claim more than the
        parent's effective value. `root` itself, the target of the
        reclaim, and memcgs outside its subtree are unprotected."""
        n = len(self.cfg)
        emin, elow = [0] * n, [0] * n
        children_min, children_low = [0] * n, [0] * n  # page_counter's children_{min,low}_usage
        for memcg in range(1, n):
            c = self.cfg[memcg]
            children_min[c.parent] += min(self.usage[memcg], c.min)
            children_low[c.parent] += min(self.usage[memcg], c.low)
        for memcg in self.subtree[root]:  # parents before children
            c = self.cfg[memcg]
            if memcg == root or not self.usage[memcg]:
                continue
            if c.parent == root:
                emin[memcg], elow[memcg] = c.min, c.low
                continue
            emin[memcg] = _effective(self.usage[memcg], c.min, emin[c.parent], children_min[c.parent])
            elow[memcg] = _effective(self.usage[memcg], c.low, elow[c.parent], children_low[c.parent])
        return emin, elow

    # -- memory.stat -----------------------------------------------------------
    def stat(self, memcg: int) -> dict[str, int]:
        """memory.stat as memory_stat_format() prints it, for the memcg and
        its descendants: the LRU sizes in bytes (MGLRU's generations map
        to active and inactive as lru_gen_is_active() says), then the
        events counted in its lruvecs."""
        lruvecs = self.lruvecs(memcg)
        active, inactive = [0, 0], [0, 0]
        for lruvec in lruvecs:
            (a_anon, a_file), (i_anon, i_file) = self.m.lruvec_active_inactive(lruvec)
            active[0] += a_anon
            active[1] += a_file
            inactive[0] += i_anon
            inactive[1] += i_file
        stat = {
            "anon": (active[0] + inactive[0]) * PAGE_SIZE,
            "file": (active[1] + inactive[1]) * PAGE_SIZE,
            "inactive_anon": inactive[0] * PAGE_SIZE,
            "active_anon": active[0] * PAGE_SIZE,
            "inactive_file": inactive[1] * PAGE_SIZE,
            "active_file": active[1] * PAGE_SIZE,
        }
        events = sum(self.m.vmstat.memcg_events(member) for member in self.subtree[memcg])
        for name, parts in MEMORY_STAT_EVENTS.items():
            stat[name] = int(sum(events[EVENT_INDEX[part]] for part in parts))
        return stat

    def lruvecs(self, memcg: int) -> list[int]:
        """The lruvecs of a memcg and its descendants, node by node."""
        members = set(self.subtree[memcg])
        return [lruvec for lruvec, owner in enumerate(self.m.lruvec_memcg) if owner in members]

    # -- try_charge ---------------------------------------------------------
    def try_charge(self, p: Process, nr: int) -> int:
        """How many of `nr` new pages the process's memcg may take now: after
        reclaim from the memcg over its limit, or 0 once the OOM killer ran
        in it (the caller looks again, as a faulting task retries)."""
        memcg = p.cfg.memcg
        room, over = self.headroom(memcg)
        if room > 0:
            p.memcg_retries = 0
            return min(room, nr)
        while p.memcg_retries < MAX_RECLAIM_RETRIES:
            self.event(over, "max")
            self.m.reclaim_memcg(p, over, nr)
            if self.headroom(memcg)[0] > 0:
                # reclaim may have taken the process's own pages: it looks
                # again at what is resident before it charges
                p.memcg_retries = 0
                return 0
            p.memcg_retries += 1
            if self.m.writeback_in_flight():
                # Reclaim started writes (anon to swap): those folios free
                # when they end. The charging task sleeps for them
                # (reclaim_throttle(VMSCAN_THROTTLE_WRITEBACK)), then retries.
                p.sleep_until = p.clock + JIFFY_NS
                self.m.memstall(p, p.clock, JIFFY_NS)
                return 0
        p.memcg_retries = 0
        self.oom(p, over)
        return 0

    def event(self, memcg: int, name: str) -> None:
        """memcg_memory_event(): memory.events counts in the memcg and every
        ancestor below the root, as cgroup v2 shows them."""
        for ancestor in self.ancestors[memcg]:
            if ancestor != 0:
                self.events[ancestor][name] += 1

    def oom(self, p: Process, memcg: int) -> None:
        """mem_cgroup_oom(): the OOM killer, among the memcg's processes;
        with none to kill, the allocating process dies of its fault."""
        self.event(memcg, "oom")
        members = set(self.subtree[memcg])
        victim = self.m.out_of_memory(p, candidates=[q for q in self.m.processes if q.cfg.memcg in members])
        if victim is None:
            victim = p
            self.m.exit_process(p, "oom-killed")
        self.event(victim.cfg.memcg, "oom_kill")


def _effective(usage: int, setting: int, parent_effective: int, siblings_protected: int) -> int:
    """effective_protection() without memory_recursiveprot."""
    protected = min(usage, setting)
    if siblings_protected > parent_effective:
        return protected * parent_effective // siblings_protected
    return protected


def high_delay_jiffies(max_overage: int, nr_pages: int) -> int:
    """calculate_high_delay(): the square of the overage, scaled, times the
    share of a charge batch these pages are; clamped to 2 s per return."""
    if not max_overage:
        return 0
    penalty = (max_overage * max_overage * HZ) >> MEMCG_DELAY_PRECISION_SHIFT >> MEMCG_DELAY_SCALING_SHIFT
    return min(penalty * nr_pages // MEMCG_CHARGE_BATCH, MEMCG_MAX_HIGH_DELAY_JIFFIES)
