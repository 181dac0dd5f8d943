"""Oracles: what must hold of any run, whatever the policy, beyond the
core's own consistency checks (simulator/invariants.py).

The core's invariants say the state is well formed (each frame holds one
folio, each resident folio is on one list). An oracle says the run did
nothing the kernel never may: lose a page, evict one twice, kill a process
while memory or swap could still be freed, leave a node below its watermarks
while kswapd sleeps, or loop without progress. They observe a Machine and
never change it, in two ways:

- between steps, `Oracles.check(machine)` runs check_invariants and then the
  state oracles; install it as `machine.invariant_checker`;
- during a step, the oracles listen to the event stream, so they see the
  state at the moment of an OOM kill, a kswapd going to sleep, an eviction.
  Listening turns tracing on: every tracepoint is emitted.

`Oracles.attach(machine)` does both. A violation raises OracleViolation, an
InvariantError naming the oracle (`check`), which the runner reports as it
reports a broken invariant.

Livelock is a budget, not a proof: a run that takes more steps, virtual time
or consecutive reclaim scans without progress than any legitimate run of its
length could is a failure ("livelock") instead of a hang. Those budgets are
deterministic, so such a failure replays and shrinks. A run that is merely
slow beyond reason (more wall-clock time than a small scenario ever needs)
is stopped too ("slow-run"), the one check that depends on the host.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, NamedTuple

import numpy as np

from hooks.types import LRU_ANON, LRU_FILE, PG_dirty, PG_swapcache, PG_writeback
from simulator.config import NSEC_PER_SEC, PAGE_SIZE, RunConfig
from simulator.invariants import InvariantError, check_invariants
from simulator.machine import KIB_PER_PAGE
from simulator.memcontrol import MEMORY_STAT_EVENTS
from simulator.vmscan import KSWAPD_NAP_NS, MAX_RECLAIM_RETRIES, Kswapd
from simulator.vmstat import VM_EVENTS

if TYPE_CHECKING:
    from simulator.machine import Machine

# An OOM kill is unjustified when reclaim could still have freed more than
# this share of the memory in question (the allocating process's nodes, or
# the memcg's limit). Reclaim that fails MAX_RECLAIM_RETRIES times in a row
# with that much to take is not the kernel's OOM; the margin leaves room
# for what is legitimately out of reach at the moment (folios just faulted
# in, referenced ones sent round the list once more).
UNJUSTIFIED_OOM_SHARE = 0.25

# Reclaim may leave anon alone when fewer swap slots than this are free to
# its memcg: MGLRU's get_swappiness() treats swap as full below
# MIN_LRU_BATCH (the classic LRU as soon as none is free).
MIN_SWAP_ROOM = 64

# The kernel gives up after MAX_RECLAIM_RETRIES direct reclaims without
# progress (then throttles or OOMs); twice that in a row is a loop.
MAX_DIRECT_RECLAIMS_WITHOUT_PROGRESS = 2 * (MAX_RECLAIM_RETRIES + 1)


class OracleViolation(InvariantError):
    """The run did what the kernel never may; `check` names the oracle,
    `detail` says what happened."""

    def __init__(self, check: str, detail: str) -> None:
        super().__init__(f"{check}: {detail}")
        self.check = check
        self.detail = detail


@dataclass(frozen=True)
class RunBudget:
    """How much a run may take before it counts as a livelock. Every limit
    but the wall clock is deterministic, so a livelock shrinks and replays
    like any other failure; the wall clock stops a run that is merely slow
    beyond reason (or loops without a step or an event)."""

    max_steps: int
    max_virtual_ns: int
    max_scans_without_progress: int = 200_000
    wall_clock_s: float = 20.0

    @classmethod
    def for_run(cls, run: RunConfig) -> RunBudget:
        """Budgets that scale with the run's length: far above what lru and
        mglru take (a step runs at least one access unless the process
        sleeps; an access costs at most a major fault or a throttle)."""
        accesses, duration = run.accesses or 0, run.duration_ns or 0
        steps = 10_000 + 4 * accesses + duration // 100_000
        virtual = 120 * NSEC_PER_SEC + accesses * 10_000_000 + 2 * duration
        return cls(max_steps=steps, max_virtual_ns=virtual)


class Oracles:
    """Every oracle over one machine's run. Build with attach()."""

    def __init__(self, machine: Machine, budget: RunBudget, allow_ejection: bool) -> None:
        self.m = machine
        self.budget = budget
        self.allow_ejection = allow_ejection
        nr_pages = machine.folios.nr_pages
        self.ever_resident = np.zeros(nr_pages, bool)
        self.dirty_file = np.zeros(nr_pages, bool)  # resident, dirty, not yet written, at the last check
        self.pgpgout = 0
        self.steps = 0
        self.started = time.monotonic()
        self.checking_s = 0.0  # spent in check(): the wall clock is the simulator's own time
        self.evicted = np.zeros(nr_pages, bool)  # left memory through reclaim, not back since
        self.nr_evicted = 0
        self.nr_oom_kills = 0
        self.memcg_ooms = [0] * machine.nr_memcgs
        self.scans_without_progress = 0
        self.direct_without_progress: dict[int, int] = {}
        self.last_event = ""
        self.last_direct_reclaimer = -1
        self._handlers: dict[str, Callable[[dict[str, Any]], None]] = {
            "mm_lru_insertion": self._on_insertion,
            "folio_evicted": self._on_evicted,
            "page_fault": self._on_fault,
            "mm_vmscan_direct_reclaim_end": self._on_direct_reclaim_end,
            "mm_vmscan_lru_shrink_inactive": self._on_shrink_inactive,
            "mm_vmscan_lru_shrink_active": self._on_scan_without_progress,
            "mark_victim": self._on_oom_kill,
            "mm_vmscan_kswapd_sleep": self._on_kswapd_sleep,
            "policy_ejected": self._on_ejected,
        }

    @classmethod
    def attach(cls, machine: Machine, budget: RunBudget | None = None, *, allow_ejection: bool = False) -> Oracles:
        """Check `machine`'s run: between steps (its invariant_checker) and
        on its event stream. `allow_ejection`: a policy ejected is expected
        (a hostile policy), and what follows must still be correct;
        otherwise an ejection is itself a failure."""
        oracles = cls(machine, budget or RunBudget.for_run(machine.run_cfg), allow_ejection)
        machine.events.subscribe(oracles.on_event)
        machine.invariant_checker = oracles.check
        oracles._watch_kswapd_naps()
        return oracles

    def _watch_kswapd_naps(self) -> None:
        """kswapd naps only with its node balanced (kswapd_try_to_sleep()),
        but no event marks the end of its pass: watch the step that ends it.
        The wrapper only looks; it sits on this machine's Vmscan alone."""
        step = self.m.vmscan.kswapd_step

        def observed_step(k: Kswapd) -> int | None:
            delay = step(k)
            if delay == KSWAPD_NAP_NS:
                self._on_kswapd_nap(k)
            return delay

        self.m.vmscan.kswapd_step = observed_step

    # ------------------------------------------------------------------
    # between steps
    # ------------------------------------------------------------------
    def check(self, m: Machine) -> None:
        """check_invariants, then every state oracle. Their own time does
        not count against the wall-clock budget: it grows with the steps a
        run takes, and a run of many small steps is not a slow simulator."""
        started = time.monotonic()
        try:
            self._check(m)
        finally:
            self.checking_s += time.monotonic() - started

    def _check(self, m: Machine) -> None:
        check_invariants(m)
        self.steps += 1
        # a memcg OOM that killed no one (the charging task dies of it) is
        # no kill to attribute later
        self.memcg_ooms = self._memcg_oom_counts()
        for name, check in (
            ("livelock", self._within_budget),
            ("slow-run", self._wall_clock),
            ("lost-page", self._no_lost_page),
            ("counters", self._counters_agree),
            ("memcg-counters", self._memcg_counters_agree),
            ("ejection", self._ejected_policies_replaced),
        ):
            problem = check(m)
            if problem:
                raise OracleViolation(name, f"at {m.now} ns: {problem}")

    def _within_budget(self, m: Machine) -> str | None:
        b = self.budget
        if self.steps > b.max_steps:
            return f"{self.steps} steps, more than the {b.max_steps} a run of this length may take ({m.total_accesses} accesses done)"
        if m.now > b.max_virtual_ns:
            return f"virtual time {m.now} ns passed the budget of {b.max_virtual_ns} ns with {m.total_accesses} accesses done"
        return None

    def _wall_clock(self, m: Machine) -> str | None:
        if time.monotonic() - self.started - self.checking_s > self.budget.wall_clock_s:
            return (f"the run took more than {self.budget.wall_clock_s:g} s of wall-clock time, checks apart "
                    f"({self.steps} steps, {m.total_accesses} accesses done)")
        return None

    def _no_lost_page(self, m: Machine) -> str | None:
        """An anon page of a live process, once in memory, is in memory or in
        swap; a file page dirty at the last check and gone now was written
        (each write counts in pgpgout)."""
        f = m.folios
        resident = f.node >= 0
        self.ever_resident |= resident
        anon = f.type == LRU_ANON
        alive = np.array([p.alive for p in m.processes] + [False])  # owner -1 (a file page) indexes the False
        lost = anon & self.ever_resident & alive[f.owner] & ~resident & ~f.in_swap
        if lost.any():
            return f"{int(lost.sum())} anon pages of live processes are neither in memory nor in swap (folio {int(np.flatnonzero(lost)[0])} first)"
        pgpgout = int(m.vmstat.total_dict()["pgpgout"])
        gone_dirty = int(np.count_nonzero(self.dirty_file & ~resident))
        written = (pgpgout - self.pgpgout) // KIB_PER_PAGE
        self.pgpgout = pgpgout
        self.dirty_file = resident & (f.type == LRU_FILE) & ((f.flags & (PG_dirty | PG_writeback)) == PG_dirty)
        if gone_dirty > written:
            return f"{gone_dirty} dirty file pages left memory but only {written} pages were written since the last step"
        return None

    def _counters_agree(self, m: Machine) -> str | None:
        """The node views sum to the total; each node's allocations minus
        frees are its frames in use; scans and steals by reason sum to the
        same as by type; every OOM kill and eviction seen in the event
        stream is counted."""
        total = m.vmstat.total_dict()
        nodes = [m.vmstat.node_dict(node.nid) for node in m.nodes]
        for name in VM_EVENTS:
            if sum(n[name] for n in nodes) != total[name]:
                return f"{name}: the nodes' counts sum to {sum(n[name] for n in nodes)}, the total is {total[name]}"
        for node, counts in zip(m.nodes, nodes):
            in_use = node.pages - node.nr_free
            if counts["pgalloc_normal"] - counts["pgfree"] != in_use:
                return (f"node {node.nid}: pgalloc_normal {counts['pgalloc_normal']} - pgfree {counts['pgfree']} "
                        f"!= {in_use} frames in use")
        for what in ("pgscan", "pgsteal"):
            by_reason = total[f"{what}_kswapd"] + total[f"{what}_direct"]
            by_type = total[f"{what}_anon"] + total[f"{what}_file"]
            if by_reason != by_type:
                return f"{what}_kswapd + {what}_direct = {by_reason} but {what}_anon + {what}_file = {by_type}"
        if total["oom_kill"] != self.nr_oom_kills:
            return f"oom_kill is {total['oom_kill']} but {self.nr_oom_kills} processes were OOM-killed"
        if total["pgsteal_anon"] + total["pgsteal_file"] != self.nr_evicted:
            return f"pgsteal counts {total['pgsteal_anon'] + total['pgsteal_file']} pages, {self.nr_evicted} were evicted"
        return None

    def _memcg_counters_agree(self, m: Machine) -> str | None:
        """memory.current is the resident pages charged to the memcg and its
        descendants, and what memory.stat says their lists hold;
        memory.swap.current the swap slots of their processes' pages; the
        root's memory.stat events are /proc/vmstat's; a memory.events count
        is at least its children's."""
        f = m.folios
        resident = f.lruvec >= 0
        charged = np.bincount(np.asarray(m.lruvec_memcg)[f.lruvec[resident]], minlength=m.nr_memcgs)
        swapped = np.bincount(m.memcg.owner_memcg[f.owner[f.in_swap & (f.owner >= 0)]], minlength=m.nr_memcgs)
        for memcg in range(m.nr_memcgs):
            name = m.cfg.memcgs[memcg].name or "/"
            subtree = m.memcg.subtree[memcg]
            usage, stat = int(charged[subtree].sum()), m.memcg.stat(memcg)
            if m.memcg.usage[memcg] != usage:
                return f"memcg {name!r}: memory.current is {m.memcg.usage[memcg]} pages, {usage} resident pages are charged to it"
            if stat["anon"] + stat["file"] != usage * PAGE_SIZE:
                return (f"memcg {name!r}: memory.stat's anon + file is {stat['anon'] + stat['file']} bytes, "
                        f"{usage} resident pages are charged to it")
            if m.memcg.swap_usage[memcg] != int(swapped[subtree].sum()):
                return (f"memcg {name!r}: memory.swap.current is {m.memcg.swap_usage[memcg]} pages, its pages hold "
                        f"{int(swapped[subtree].sum())} swap slots")
            problem = self._memcg_events_agree(m, memcg)
            if problem:
                return problem
        return self._root_stat_is_vmstat(m)

    def _memcg_events_agree(self, m: Machine, memcg: int) -> str | None:
        children = [child for child in range(m.nr_memcgs) if m.cfg.memcgs[child].parent == memcg]
        if memcg == 0 or not children:
            return None
        for key, count in m.memcg.events[memcg].items():
            below = sum(m.memcg.events[child][key] for child in children)
            if count < below:
                return f"memcg {m.cfg.memcgs[memcg].name!r}: memory.events {key} is {count}, its children's sum to {below}"
        return None

    def _root_stat_is_vmstat(self, m: Machine) -> str | None:
        total, stat = m.vmstat.total_dict(), m.memcg.stat(0)
        for name, parts in MEMORY_STAT_EVENTS.items():
            if stat[name] != sum(total[part] for part in parts):
                return f"the root's memory.stat {name} is {stat[name]}, /proc/vmstat says {sum(total[part] for part in parts)}"
        return None

    def _ejected_policies_replaced(self, m: Machine) -> str | None:
        """After an ejection its successor serves the ejected policy's
        lruvecs for the rest of the run."""
        for domain in m.domains:
            if domain.policy.successor is not None:
                return (f"policy {domain.policy.name!r} was ejected but still serves memcg "
                        f"{m.cfg.memcgs[domain.memcg].name or '/'!r}")
        return None

    # ------------------------------------------------------------------
    # on the event stream
    # ------------------------------------------------------------------
    def on_event(self, event: dict[str, Any]) -> None:
        handler = self._handlers.get(event["name"])
        if handler is not None:
            handler(event)
        self.last_event = event["name"]

    def _violation(self, check: str, event: dict[str, Any], message: str) -> OracleViolation:
        return OracleViolation(check, f"at {event['ts']} ns: {message}")

    def _on_insertion(self, event: dict[str, Any]) -> None:
        """A page back in memory may be evicted again. A page placed on a
        node below its low watermark was allocated at the min watermark,
        which the allocator does only after waking kswapd: kswapd must be
        awake unless it has given up on the node."""
        self.evicted[event["pfn"]] = False
        nid = event["nid"]
        node, kswapd = self.m.nodes[nid], self.m.vmscan.kswapd[nid]
        if node.nr_free < node.wmark.low and kswapd.state == "sleeping" and kswapd.failures < MAX_RECLAIM_RETRIES:
            raise self._violation("watermark", event, f"node {nid} is below its low watermark ({node.nr_free} free < "
                                  f"{node.wmark.low}) and allocating, but kswapd sleeps")

    def _on_evicted(self, event: dict[str, Any]) -> None:
        pfn = event["pfn"]
        if self.evicted[pfn]:
            raise self._violation("double-eviction", event, f"folio {pfn} was evicted twice without coming back in between")
        if self.m.folios.node[pfn] >= 0:
            raise self._violation("double-eviction", event, f"folio {pfn} was evicted but is still in memory")
        self.evicted[pfn] = True
        self.nr_evicted += 1

    def _on_fault(self, event: dict[str, Any]) -> None:
        """Pages were allocated: progress for the faulting process and for
        reclaim as a whole."""
        self.direct_without_progress.pop(event["pid"], None)
        self.scans_without_progress = 0

    def _on_direct_reclaim_end(self, event: dict[str, Any]) -> None:
        pid = event["pid"]
        self.last_direct_reclaimer = pid
        if event["nr_reclaimed"]:
            self.direct_without_progress.pop(pid, None)
            return
        count = self.direct_without_progress.get(pid, 0) + 1
        self.direct_without_progress[pid] = count
        if count > MAX_DIRECT_RECLAIMS_WITHOUT_PROGRESS:
            raise self._violation("livelock", event, f"process {event['comm']!r} ran {count} direct reclaims in a row "
                                  "without progress, without allocating, throttling to an end or an OOM kill")

    def _on_shrink_inactive(self, event: dict[str, Any]) -> None:
        if event["nr_reclaimed"]:
            self.scans_without_progress = 0
        else:
            self._on_scan_without_progress(event)

    def _on_scan_without_progress(self, event: dict[str, Any]) -> None:
        self.scans_without_progress += 1
        if self.scans_without_progress > self.budget.max_scans_without_progress:
            raise self._violation("livelock", event, f"{self.scans_without_progress} reclaim scans in a row freed nothing "
                                  "while no page was allocated and no process was killed")
        if self.scans_without_progress % 1024 == 0:
            problem = self._wall_clock(self.m)
            if problem:
                raise self._violation("slow-run", event, problem)

    def _on_kswapd_nap(self, k: Kswapd) -> None:
        node = self.m.nodes[k.nid]
        if node.nr_free <= node.wmark.high and k.failures < MAX_RECLAIM_RETRIES:
            raise OracleViolation("watermark", f"at {k.clock} ns: kswapd of node {k.nid} ended its pass with "
                                  f"{node.nr_free} pages free, not above the high watermark {node.wmark.high}, "
                                  f"after {k.failures} failed passes")

    def _on_kswapd_sleep(self, event: dict[str, Any]) -> None:
        """kswapd sleeps only with its node above the high watermark, or
        after MAX_RECLAIM_RETRIES passes that freed nothing."""
        nid = event["nid"]
        node, kswapd = self.m.nodes[nid], self.m.vmscan.kswapd[nid]
        if node.nr_free <= node.wmark.high and kswapd.failures < MAX_RECLAIM_RETRIES:
            raise self._violation("watermark", event, f"kswapd of node {nid} went to sleep with {node.nr_free} pages free, "
                                  f"not above the high watermark {node.wmark.high}, after {kswapd.failures} failed passes")

    def _on_ejected(self, event: dict[str, Any]) -> None:
        if not self.allow_ejection:
            raise self._violation("policy-ejected", event, f"policy {event['policy']!r} was ejected ({event['kind']}) "
                                  f"in {event['hook']}: {event['message']}")

    # ------------------------------------------------------------------
    # OOM kills
    # ------------------------------------------------------------------
    def _on_oom_kill(self, event: dict[str, Any]) -> None:
        """An OOM kill must be forced: by a memcg's limit with nothing left
        to reclaim in it, or with the allocating process's nodes out of
        memory and of swap. (kswapd's OOM, MGLRU's min_ttl, is a policy's
        choice when lru_gen_min_ttl is set.)"""
        self.nr_oom_kills += 1
        self.direct_without_progress.clear()
        self.scans_without_progress = 0
        memcg = self._memcg_in_oom()
        # vm.swappiness = 0 asks reclaim to leave anon alone: MGLRU then never
        # swaps, the classic LRU only once file pages run out
        can_swap = self.m.cfg.swappiness > 0
        if memcg is not None:
            problem = self._memcg_oom_unjustified(memcg, can_swap)
        elif self.last_event == "mm_vmscan_direct_reclaim_end":
            p = self.m.processes[self.last_direct_reclaimer]
            problem = self._global_oom_unjustified(sorted({n for zl in p.zonelists.values() for n in zl}), can_swap)
        elif self.m.cfg.lru_gen_min_ttl_ms:
            problem = None
        else:
            problem = self._global_oom_unjustified(list(range(self.m.nr_nodes)), can_swap)
        if problem:
            raise self._violation("unjustified-oom", event, f"{event['comm']!r} was OOM-killed {problem}")

    def _memcg_in_oom(self) -> int | None:
        """The memcg whose OOM this is: the deepest whose memory.events oom
        has just grown (mem_cgroup_oom() counts it in the memcg and each
        ancestor); None for a global OOM."""
        counts = self._memcg_oom_counts()
        grown = [memcg for memcg, (now, before) in enumerate(zip(counts, self.memcg_ooms)) if now > before]
        self.memcg_ooms = counts
        return max(grown, key=lambda memcg: len(self.m.memcg.ancestors[memcg]), default=None)

    def _memcg_oom_counts(self) -> list[int]:
        return [self.m.memcg.events[memcg]["oom"] for memcg in range(self.m.nr_memcgs)]

    def _global_oom_unjustified(self, nodes: list[int], can_swap: bool) -> str | None:
        m = self.m
        memory = sum(m.nodes[nid].pages for nid in nodes)
        left = self._reclaimable(np.isin(m.folios.node, nodes), target=0, can_swap=can_swap)
        if left.total > UNJUSTIFIED_OOM_SHARE * memory:
            return (f"while nodes {nodes} ({memory} pages, {m.swap.nr_free} swap slots free) still held {left}: "
                    f"more than {UNJUSTIFIED_OOM_SHARE:.0%} of their memory")
        return None

    def _memcg_oom_unjustified(self, memcg: int, can_swap: bool) -> str | None:
        m = self.m
        limit = m.cfg.memcgs[memcg].max
        members = np.isin(np.asarray(m.lruvec_memcg), m.memcg.subtree[memcg])
        left = self._reclaimable(members[m.folios.lruvec] & (m.folios.lruvec >= 0), target=memcg, can_swap=can_swap)
        if limit is not None and left.total > UNJUSTIFIED_OOM_SHARE * limit:
            return (f"in memcg {m.cfg.memcgs[memcg].name!r} (memory.max {limit} pages) while it still held {left}: "
                    f"more than {UNJUSTIFIED_OOM_SHARE:.0%} of its limit")
        return None

    def _reclaimable(self, in_scope: np.ndarray, target: int, can_swap: bool) -> Reclaimable:
        """What reclaim of `target`'s subtree could free among the resident
        folios in scope: file pages, and anon pages of memcgs that may still
        swap (MIN_SWAP_ROOM free slots on the device within the memcg's
        swap.max), those with a swap slot already and as many others as
        there are slots. Memcgs within their effective memory.min are out
        of reach."""
        m, f = self.m, self.m.folios
        emin, _ = m.memcg.calculate_protection(target)
        lruvec_memcg = np.asarray(m.lruvec_memcg)
        protected = [memcg for memcg in range(m.nr_memcgs) if emin[memcg] and m.memcg.usage[memcg] <= emin[memcg]]
        reachable = in_scope & (f.node >= 0) & ~np.isin(lruvec_memcg[f.lruvec], protected)
        file = reachable & (f.type == LRU_FILE)
        dirty = int(np.count_nonzero(file & ((f.flags & PG_dirty) != 0)))
        anon = reachable & (f.type == LRU_ANON) if can_swap else np.zeros_like(reachable)
        anon_memcg = lruvec_memcg[f.lruvec[anon]]
        has_slot = (f.flags[anon] & PG_swapcache) != 0
        swappable = 0
        for memcg in np.unique(anon_memcg).tolist():
            room = min(m.swap.nr_free, m.memcg.swap_headroom(memcg))
            if room >= MIN_SWAP_ROOM:
                mine = anon_memcg == memcg
                swappable += int(np.count_nonzero(mine & has_slot)) + min(int(np.count_nonzero(mine & ~has_slot)), room)
        return Reclaimable(swappable, int(np.count_nonzero(file)), dirty)


class Reclaimable(NamedTuple):
    """Resident pages reclaim could still free, in pages."""

    anon: int  # could go to swap
    file: int
    dirty_file: int  # of the file pages: to be written first

    @property
    def total(self) -> int:
        return self.anon + self.file

    def __str__(self) -> str:
        return f"{self.anon} anon pages it could swap out and {self.file} file pages ({self.dirty_file} dirty)"

