"""The vmscan core library: scan control, the shrink driver, kswapd, direct
reclaim, and the folio-list reclaim that unmaps, writes back and frees.

This is the half of mm/vmscan.c that upstream's pluggable reclaim keeps in
the core. Everything a replacement policy decides goes through the hooks
(hooks/hookspec.py): which folios to scan and how many of each type
(should_reclaim, age, select_victims), where survivors go (folio_putback),
and what a refault means (on_refault). What stays here is mechanism: the
shrink_lruvec loop and its proportional stop, writeback and swap-out,
freeing and shadow entries, and kswapd's balance_pgdat with its priorities
and failure counting.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from collections.abc import Callable
from typing import TYPE_CHECKING

import numpy as np

from hooks.types import (
    LRU_ANON,
    LRU_FILE,
    LRU_TYPE_NAMES,
    PG_dirty,
    PG_reclaim,
    PG_swapcache,
    PG_workingset,
    PG_writeback,
    PutbackReason,
    ReclaimReason,
    ReclaimStat,
    ScanDecision,
    ScanRequest,
    SWAP_CLUSTER_MAX,
    Victims,
)
from simulator.folios import group_by
from simulator.vmstat import VmEvent

if TYPE_CHECKING:
    from simulator.machine import Machine

DEF_PRIORITY = 12
MAX_RECLAIM_RETRIES = 16
KSWAPD_NAP_NS = 100_000_000  # HZ/10

FREED = -1

# a charging task's memcg reclaim counts as direct (reclaimer_offset())
PGSCAN = {ReclaimReason.KSWAPD: VmEvent.PGSCAN_KSWAPD, ReclaimReason.DIRECT: VmEvent.PGSCAN_DIRECT,
          ReclaimReason.MEMCG: VmEvent.PGSCAN_DIRECT, ReclaimReason.PROACTIVE: VmEvent.PGSCAN_DIRECT}
PGSTEAL = {ReclaimReason.KSWAPD: VmEvent.PGSTEAL_KSWAPD, ReclaimReason.DIRECT: VmEvent.PGSTEAL_DIRECT,
           ReclaimReason.MEMCG: VmEvent.PGSTEAL_DIRECT, ReclaimReason.PROACTIVE: VmEvent.PGSTEAL_DIRECT}
PGSCAN_TYPE = (VmEvent.PGSCAN_ANON, VmEvent.PGSCAN_FILE)
PGSTEAL_TYPE = (VmEvent.PGSTEAL_ANON, VmEvent.PGSTEAL_FILE)


class ReclaimError(RuntimeError):
    """The core caught itself in a state the kernel would never reach."""


@dataclass
class Kswapd:
    """A node's kswapd: "running" a balance_pgdat pass one priority step at
    a time, "napping" for HZ/10 after it, or "sleeping" until woken."""

    nid: int
    state: str = "sleeping"
    clock: int = 0
    next_time: int | None = None  # when it runs next; None while asleep
    generation: int = 0  # invalidates a scheduled step when it runs early
    in_pass: bool = False
    priority: int = DEF_PRIORITY
    pass_reclaimed: int = 0
    failures: int = 0  # pgdat->kswapd_failures
    low_skipped: bool = False  # this pass left memcgs within memory.low alone
    low_reclaim: bool = False  # ... and freed nothing: the next pass reclaims them too


class Vmscan:
    def __init__(self, machine: Machine) -> None:
        self.m = machine
        n = machine.nr_lruvecs
        # WORKINGSET_ACTIVATE_{ANON,FILE} per lruvec, and their value at the
        # end of the last reclaim run (lruvec->refaults: snapshot_refaults)
        self.workingset_activate = np.zeros((n, 2), np.int64)
        self.refaults_snapshot = np.zeros((n, 2), np.int64)
        self.kswapd = [Kswapd(nid) for nid in range(len(machine.nodes))]
        # scan_control's memcg_low_reclaim and memcg_low_skipped, for the
        # reclaim in progress (kept here, not in the policy's ScanRequest)
        self.memcg_low_reclaim = False
        self.memcg_low_skipped = False
        # each memcg's effective (memory.min, memory.low) in the reclaim in
        # progress, for apply_proportional_protection(); None: no memcgs
        self.protection: tuple[list[int], list[int]] | None = None
        # sc->nr.file_taken and sc->nr.unqueued_dirty of the current shrink_node()
        self.nr_file_taken = 0
        self.nr_unqueued_dirty = 0

    # ------------------------------------------------------------------
    # scan control
    # ------------------------------------------------------------------
    def scan_control(self, reason: ReclaimReason, nid: int, nr_to_reclaim: int, priority: int = DEF_PRIORITY,
                     target_memcg: int = 0) -> ScanRequest:
        return ScanRequest(
            reason=reason,
            node=nid,
            lruvec=-1,
            priority=priority,
            nr_to_reclaim=nr_to_reclaim,
            swappiness=self.m.cfg.swappiness,
            may_swap=True,
            target_memcg=target_memcg,
        )

    def _prepare(self, sc: ScanRequest, lruvec: int) -> None:
        """prepare_scan_control(): what the policy sees of the node and lruvec."""
        node = self.m.nodes[self.m.lruvec_node[lruvec]]
        sc.lruvec = lruvec
        sc.free_pages = node.nr_free
        sc.high_wmark = node.wmark.high
        # mem_cgroup_get_nr_swap_pages(): what swap.max leaves the memcg
        sc.nr_swap_pages = min(self.m.swap.nr_free, self.m.memcg.swap_headroom(self.m.lruvec_memcg[lruvec]))
        sc.node_dirty = node.dirty
        delta = self.workingset_activate[lruvec] - self.refaults_snapshot[lruvec]
        sc.refaults_since_snapshot = (int(delta[LRU_ANON]), int(delta[LRU_FILE]))

    def snapshot_refaults(self, nid: int) -> None:
        for lruvec in self.m.node_lruvecs[nid]:
            self.refaults_snapshot[lruvec] = self.workingset_activate[lruvec]

    # ------------------------------------------------------------------
    # shrink_node / shrink_lruvec
    # ------------------------------------------------------------------
    def shrink_node(self, nid: int, sc: ScanRequest) -> int:
        """shrink_node(): every lruvec of the node; returns pages reclaimed.
        Any progress tells a hopeless kswapd to try again."""
        before = sc.nr_reclaimed
        self.nr_file_taken = self.nr_unqueued_dirty = 0
        for lruvec in self._unprotected(self.m.node_lruvecs[nid], sc):
            self.shrink_lruvec(lruvec, sc)
        # PGDAT_DIRTY: every file folio kswapd took was dirty and not queued
        # for I/O: let kswapd write such folios itself from now on
        if sc.is_kswapd and self.nr_unqueued_dirty == self.nr_file_taken:
            self.m.nodes[nid].dirty = True
        reclaimed = sc.nr_reclaimed - before
        if reclaimed:
            self.kswapd[nid].failures = 0
        return reclaimed

    def _unprotected(self, lruvecs: list[int], sc: ScanRequest) -> list[int]:
        """shrink_node_memcgs()'s protection: reclaim skips a memcg whose
        usage is within its effective memory.min, and one within its
        effective memory.low unless a pass that skipped such memcgs freed
        nothing (memcg_low_reclaim), counting memory.events low when it
        reclaims one anyway. Protection is relative to the reclaim's
        target (mem_cgroup_calculate_protection(target, memcg)): the target
        itself is never protected from its own reclaim."""
        m = self.m
        if m.nr_memcgs == 1:
            self.protection = None
            return lruvecs
        emin, elow = self.protection = m.memcg.calculate_protection(sc.target_memcg)
        usage = m.memcg.usage
        chosen = []
        for lruvec in lruvecs:
            memcg = m.lruvec_memcg[lruvec]
            if emin[memcg] and usage[memcg] <= emin[memcg]:
                continue
            if elow[memcg] and usage[memcg] <= elow[memcg]:
                if not self.memcg_low_reclaim:
                    self.memcg_low_skipped = True
                    continue
                m.memcg.event(memcg, "low")
            chosen.append(lruvec)
        return chosen

    def _apply_proportional_protection(self, lruvec: int, sc: ScanRequest, decision: ScanDecision) -> ScanDecision:
        """apply_proportional_protection(), for any policy's decision (the
        kernel applies it in get_scan_count() and in MGLRU's
        get_nr_to_scan()): a memcg above its protection is scanned in
        proportion to its unprotected part, so reclaim pressure grows
        smoothly as usage leaves memory.low behind instead of jumping from
        nothing to everything. The kernel scales each list's size before
        the priority shift; scaling the planned scan is the same ratio.
        Each list keeps SWAP_CLUSTER_MAX >> priority, so reclaim moves on
        without dropping the priority further than it must."""
        if self.protection is None:
            return decision
        memcg = self.m.lruvec_memcg[lruvec]
        emin, elow = self.protection[0][memcg], self.protection[1][memcg]
        if not (emin or elow):
            return decision
        if not self.memcg_low_reclaim and elow > emin:
            protection = elow
            self.memcg_low_skipped = True  # memory.low scaling: retry before OOM
        else:
            protection = emin
        cgroup_size = max(self.m.memcg.usage[memcg], protection)
        floor = SWAP_CLUSTER_MAX >> sc.priority

        def scaled(nr: int) -> int:
            return max(nr - nr * protection // (cgroup_size + 1), floor) if nr else 0

        return replace(decision, scan=(scaled(decision.scan[0]), scaled(decision.scan[1])),
                       age=(scaled(decision.age[0]), scaled(decision.age[1])))

    def shrink_lruvec(self, lruvec: int, sc: ScanRequest) -> None:
        """shrink_lruvec(): walk the policy's scan decision in chunks of
        SWAP_CLUSTER_MAX per list, inactive anon, active anon, inactive file,
        active file, until done or, once enough is reclaimed, until the
        smaller type is stopped and the larger cut to the same proportion."""
        m = self.m
        m.charge(m.cfg.costs.shrink_lruvec_ns)
        self._prepare(sc, lruvec)
        policy = m.lruvec_policy(lruvec)
        decision = policy.should_reclaim(policy.ctx, sc) if policy.should_reclaim else None
        if decision is None:
            decision = self.default_decision(sc)
        decision = self._apply_proportional_protection(lruvec, sc, decision)
        # nr[] in the kernel's order: (type, is_age) pairs
        nr = [decision.scan[LRU_ANON], decision.age[LRU_ANON], decision.scan[LRU_FILE], decision.age[LRU_FILE]]
        targets = list(nr)
        nr_to_reclaim = sc.nr_to_reclaim
        nr_reclaimed = 0
        # Global direct reclaim at DEF_PRIORITY scans everything it planned:
        # the system is under memory pressure and reclaim must not stop early.
        # Everyone else stops once the target is met, after one nudge
        # towards proportionality (the round after the cut).
        proportional_reclaim = sc.reason == ReclaimReason.DIRECT and sc.priority == DEF_PRIORITY
        while nr[0] or nr[2] or nr[3]:
            rounds = self._rounds_at_once(lruvec, nr, nr_to_reclaim - nr_reclaimed, proportional_reclaim)
            chunk = max(decision.batch, SWAP_CLUSTER_MAX * rounds)
            for i in range(4):
                if not nr[i]:
                    continue
                n = min(nr[i], chunk)
                lru_type = LRU_ANON if i < 2 else LRU_FILE
                if i % 2:
                    self._age(lruvec, sc, lru_type, n, balance=False)
                    nr[i] -= n
                else:
                    reclaimed, used = self.shrink_inactive_list(lruvec, sc, lru_type, n)
                    nr_reclaimed += reclaimed
                    nr[i] -= min(nr[i], used) if used else nr[i]
            if nr_reclaimed < nr_to_reclaim or proportional_reclaim:
                continue
            nr_anon, nr_file = nr[0] + nr[1], nr[2] + nr[3]
            if not nr_anon or not nr_file:
                break
            # Stop the type with less left to scan; scan the other only as
            # much as the stopped one got through, in proportion.
            if nr_file > nr_anon:
                stop, other = 0, 2
                percentage = nr_anon * 100 // (targets[0] + targets[1] + 1)
            else:
                stop, other = 2, 0
                percentage = nr_file * 100 // (targets[2] + targets[3] + 1)
            nr[stop] = nr[stop + 1] = 0
            for i in (other, other + 1):
                scanned = targets[i] - nr[i]
                nr[i] = targets[i] * (100 - percentage) // 100
                nr[i] -= min(nr[i], scanned)
        # Even without evicting anon, keep the anon lists in balance
        # (can_age_anon_pages: swap exists, full or not).
        if self.m.swap.total > 0:
            self._age(lruvec, sc, LRU_ANON, SWAP_CLUSTER_MAX, balance=True)

    def _rounds_at_once(self, lruvec: int, nr: list[int], still_to_reclaim: int, proportional_reclaim: bool) -> int:
        """How many rounds of the shrink_lruvec loop can be scanned as one
        batch per list with the same outcome as round by round.

        Rounds differ only in where the loop may stop: after a round that
        brings the reclaimed total to the target. Until then, k rounds scan
        k * SWAP_CLUSTER_MAX folios from each list's tail, exactly what one
        batch of that size takes, provided nothing a round puts back (at a
        head) can reach a tail within the batch: every list scanned is at
        least twice the batch. Python pays per batch, not per folio, so this
        is what makes reclaim affordable at low priorities. What the kernel
        decides per 32-folio chunk is decided per batch here: waking the
        flusher, and lru_note_cost()'s halving of the costs."""
        rounds_left = max(-(-nr[i] // SWAP_CLUSTER_MAX) for i in (0, 2, 3))
        if proportional_reclaim:
            rounds = rounds_left
        else:
            most_per_round = sum(min(nr[i], SWAP_CLUSTER_MAX) for i in (0, 2))
            rounds = 1 + (still_to_reclaim - 1) // most_per_round if most_per_round and still_to_reclaim > 0 else 1
        active, inactive = self.m.lruvec_active_inactive(lruvec)
        sizes = (inactive[LRU_ANON], active[LRU_ANON], inactive[LRU_FILE], active[LRU_FILE])
        shortest = min((sizes[i] for i in range(4) if nr[i]), default=0)
        return max(1, min(rounds, rounds_left, shortest // (2 * SWAP_CLUSTER_MAX)))

    def default_decision(self, sc: ScanRequest) -> ScanDecision:
        """Without should_reclaim: each type's resident pages >> priority,
        anon only when it can go to swap."""
        resident = self.m.lruvec_type_sizes(sc.lruvec)
        anon = resident[LRU_ANON] >> sc.priority if sc.can_swap else 0
        return ScanDecision(scan=(anon, resident[LRU_FILE] >> sc.priority))

    def _age(self, lruvec: int, sc: ScanRequest, lru_type: int, nr: int, balance: bool) -> None:
        m = self.m
        policy = m.lruvec_policy(lruvec)
        if policy.age is None:
            return
        sc.lru_type, sc.nr_to_scan, sc.balance = lru_type, nr, balance
        scanned = int(policy.age(policy.ctx, sc) or 0)
        sc.balance = False
        if scanned:
            m.vmstat.count(sc.lruvec, VmEvent.PGREFILL, scanned)
            m.charge(scanned * m.cfg.costs.scan_ns)
        if m.events.enabled:
            m.events.emit("mm_vmscan_lru_shrink_active", m.now, nid=sc.node, nr_taken=scanned, nr_to_scan=nr,
                          priority=sc.priority, reclaim_flags=_reclaim_flags(lru_type, sc), balance=balance)

    # ------------------------------------------------------------------
    # shrink_inactive_list / shrink_folio_list
    # ------------------------------------------------------------------
    def shrink_inactive_list(self, lruvec: int, sc: ScanRequest, lru_type: int, nr_to_scan: int) -> tuple[int, int]:
        """Returns the pages reclaimed and how much of nr_to_scan was used."""
        m = self.m
        sc.lru_type, sc.nr_to_scan = lru_type, nr_to_scan
        policy = m.lruvec_policy(lruvec)
        answer = policy.select_victims(policy.ctx, sc)
        used = nr_to_scan
        if isinstance(answer, Victims):
            if answer.lru_type in (LRU_ANON, LRU_FILE):
                lru_type = sc.lru_type = answer.lru_type
            if answer.nr_used is not None:
                used = max(0, int(answer.nr_used))
        victims, nr_scanned = self._validate_victims(answer, lruvec, lru_type)
        if m.events.enabled:
            m.events.emit("mm_vmscan_lru_isolate", m.now, nid=sc.node, lruvec=lruvec, nr_requested=nr_to_scan,
                          nr_scanned=nr_scanned, nr_taken=len(victims), lru=LRU_TYPE_NAMES[lru_type])
        if nr_scanned == 0:
            return 0, used
        isolated_from = m.lists.page_list[victims].copy()
        m.lists.delete(victims)
        if sc.reason in PGSCAN:
            m.vmstat.count(lruvec, PGSCAN[sc.reason], nr_scanned)
        m.vmstat.count(lruvec, PGSCAN_TYPE[lru_type], nr_scanned)
        m.charge(nr_scanned * m.cfg.costs.scan_ns)
        sc.nr_scanned += nr_scanned

        stat, reasons = self.shrink_folio_list(victims, lruvec, lru_type, sc)
        stat.nr_taken = nr_scanned
        sc.nr_reclaimed += stat.nr_reclaimed
        if sc.reason in PGSTEAL:
            m.vmstat.count(lruvec, PGSTEAL[sc.reason], stat.nr_reclaimed)
        m.vmstat.count(lruvec, PGSTEAL_TYPE[lru_type], stat.nr_reclaimed)

        # Every folio taken was dirty and not queued for I/O: the flushers
        # are behind, wake them. (The kernel counts dirty folios among all
        # it isolated; the core sees only the victims, so it asks that the
        # policy kept none back.)
        if lru_type == LRU_FILE:
            self.nr_file_taken += nr_scanned
            self.nr_unqueued_dirty += stat.nr_unqueued_dirty
        if stat.nr_unqueued_dirty and stat.nr_unqueued_dirty == nr_scanned:
            m.wakeup_flusher()
        sc.stat = stat
        if m.events.enabled:
            m.events.emit("mm_vmscan_lru_shrink_inactive", m.now, nid=sc.node, nr_scanned=nr_scanned,
                          nr_reclaimed=stat.nr_reclaimed, nr_dirty=stat.nr_unqueued_dirty,
                          nr_writeback=stat.nr_writeback, nr_activate0=stat.nr_activate[0],
                          nr_activate1=stat.nr_activate[1], nr_pageout=stat.nr_pageout, priority=sc.priority,
                          reclaim_flags=_reclaim_flags(lru_type, sc))
        back = reasons != FREED
        if m.events.enabled:
            self._trace_fates(victims, reasons, isolated_from, policy.name)
        self.putback(victims[back], reasons[back], isolated_from[back], sc)
        return stat.nr_reclaimed, used

    def _trace_fates(self, victims: np.ndarray, reasons: np.ndarray, isolated_from: np.ndarray, policy: str) -> None:
        """Per victim, what reclaim did with it and the list it was taken
        from (the policy's name for it: inactive_file, gen2_anon...): the
        events a page's life story (reclaim-ext explain) is told with."""
        m = self.m
        queues = m.lists.queues
        for folio, reason, lst in zip(victims.tolist(), reasons.tolist(), isolated_from.tolist()):
            where = queues[lst].name if 0 <= lst < len(queues) else "?"
            if reason == FREED:
                m.events.emit("folio_evicted", m.now, pfn=folio, list=where, policy=policy)
            else:
                m.events.emit("folio_putback", m.now, pfn=folio, list=where, reason=PutbackReason(reason).name.lower(),
                              policy=policy)

    def _validate_victims(self, answer, lruvec: int, lru_type: int) -> tuple[np.ndarray, int]:
        """The core trusts no answer: each victim must be resident on this
        lruvec, of this type, on a list, and named once. An untrusted
        policy's answer was checked by its guard (simulator/ejection.py),
        which ejects rather than drops."""
        if isinstance(answer, Victims):
            folios, nr_scanned = answer.folios, int(answer.nr_scanned)
        else:
            folios = answer if answer is not None else np.empty(0, np.int64)
            nr_scanned = -1
        folios = np.asarray(folios, dtype=np.int64).ravel()
        if self.m.lruvec_policy(lruvec).answers_checked:
            return folios, max(nr_scanned, len(folios))
        f = self.m.folios
        in_range = (folios >= 0) & (folios < f.nr_pages)
        ok = in_range.copy()
        ok[in_range] = (
            (f.lruvec[folios[in_range]] == lruvec)
            & (f.type[folios[in_range]] == lru_type)
            & (self.m.lists.page_list[folios[in_range]] >= 0)
        )
        valid = folios[ok]
        if len(set(valid.tolist())) != len(valid):
            _, first = np.unique(valid, return_index=True)
            valid = valid[np.sort(first)]
        invalid = len(folios) - len(valid)
        if invalid:
            self.m.vmstat.count(lruvec, VmEvent.PGPOLICY_INVALID, invalid)
        if nr_scanned < 0:
            nr_scanned = len(valid)
        return valid, max(nr_scanned, len(valid))

    def shrink_folio_list(self, victims: np.ndarray, lruvec: int, lru_type: int, sc: ScanRequest) -> tuple[ReclaimStat, np.ndarray]:
        """shrink_folio_list(): free what can be freed now; for each victim
        FREED or the PutbackReason it comes back with."""
        m = self.m
        f = m.folios
        stat = ReclaimStat()
        reasons = np.full(len(victims), FREED, np.int8)
        flags = f.flags[victims]

        # Under writeback: mark for rotation when the I/O ends, activate.
        writeback = (flags & PG_writeback) != 0
        if writeback.any():
            f.flags[victims[writeback]] |= np.uint16(PG_reclaim)
            reasons[writeback] = PutbackReason.ACTIVATE
            stat.nr_writeback = int(writeback.sum())

        if lru_type == LRU_ANON:
            self._add_to_swap(victims, reasons, sc)

        flags = f.flags[victims]
        dirty = (reasons == FREED) & ((flags & PG_dirty) != 0)
        if dirty.any():
            self._reclaim_dirty(victims, dirty, flags, reasons, lru_type, sc, stat)

        freed = victims[reasons == FREED]
        if len(freed):
            self._free_folios(freed, lruvec)
        stat.nr_reclaimed = len(freed)
        activated = reasons == PutbackReason.ACTIVATE
        stat.nr_activate = (int(activated.sum()), 0) if lru_type == LRU_ANON else (0, int(activated.sum()))
        m.charge(len(freed) * m.cfg.costs.free_ns)
        return stat, reasons

    def _add_to_swap(self, victims: np.ndarray, reasons: np.ndarray, sc: ScanRequest) -> None:
        """add_to_swap(): an anon folio needs a swap slot before it can be
        written out; without one it is activated."""
        m = self.m
        f = m.folios
        need = (reasons == FREED) & ((f.flags[victims] & PG_swapcache) == 0)
        idx = np.flatnonzero(need)
        if len(idx) == 0:
            return
        # the memcg's swap.max first (a refused folio is activated, as when
        # no slot is free), then the device's slots
        allowed = m.memcg.try_charge_swap(victims[idx])
        reasons[idx[~allowed]] = PutbackReason.ACTIVATE
        idx = idx[allowed]
        granted = m.swap.alloc(len(idx))
        got, refused = victims[idx[:granted]], idx[granted:]
        m.memcg.uncharge_swap(victims[refused])
        f.flags[got] |= np.uint16(PG_swapcache | PG_dirty)
        f.in_swap[got] = True
        reasons[refused] = PutbackReason.ACTIVATE

    def _reclaim_dirty(self, victims, dirty, flags, reasons, lru_type: int, sc: ScanRequest, stat: ReclaimStat) -> None:
        """Dirty folios: anon goes to swap (pageout); a file folio is written
        only by kswapd once the node is known to be full of dirty folios the
        flushers have not reached, and only on its second pass (PG_reclaim).
        Otherwise it is marked PG_reclaim and activated."""
        m = self.m
        f = m.folios
        idx = np.flatnonzero(dirty)
        if lru_type == LRU_FILE:
            # only file folios count as dirty here (folio_check_dirty_writeback)
            stat.nr_unqueued_dirty = len(idx)
            writable = sc.is_kswapd and m.nodes[sc.node].dirty
            can_write = ((flags[idx] & PG_reclaim) != 0) & writable & sc.may_writepage
            deferred = victims[idx[~can_write]]
            f.flags[deferred] |= np.uint16(PG_reclaim)
            reasons[idx[~can_write]] = PutbackReason.ACTIVATE
            m.vmstat.count(sc.lruvec, VmEvent.NR_VMSCAN_IMMEDIATE_RECLAIM, len(deferred))
            idx = idx[can_write]
        elif not sc.may_writepage:
            reasons[idx] = PutbackReason.KEEP
            return
        if len(idx):
            m.pageout(victims[idx], sc.node, lru_type)
            reasons[idx] = PutbackReason.KEEP
            stat.nr_pageout = len(idx)

    def _free_folios(self, freed: np.ndarray, lruvec: int) -> None:
        """__remove_mapping(): the policy learns the eviction and gives a
        shadow value; the shadow entry takes the place of the folio."""
        m = self.m
        policy = m.lruvec_policy(lruvec)
        values = policy.folio_evicted(policy.ctx, freed) if policy.folio_evicted else None
        values = np.zeros(len(freed), np.int64) if values is None else np.asarray(values, np.int64)
        if values.shape != freed.shape:
            raise ReclaimError(f"policy {policy.name!r}: folio_evicted returned {values.shape[0]} values for {len(freed)} folios")
        workingset = (m.folios.flags[freed] & PG_workingset) != 0
        m.workingset.evict(freed, lruvec, workingset, values)
        m.release_frames(freed)

    # ------------------------------------------------------------------
    # putback
    # ------------------------------------------------------------------
    def putback(self, folios: np.ndarray, reasons: np.ndarray, isolated_from: np.ndarray, sc: ScanRequest | None) -> None:
        """move_folios_to_lru(): the policy places what came back; without a
        folio_putback hook each folio returns to the head of its list."""
        m = self.m
        policy = m.lruvec_policy(sc.lruvec)
        if policy.folio_putback is not None:
            policy.folio_putback(policy.ctx, folios, reasons, sc)
            return
        for lst, sel in group_by(isolated_from):
            m.lists.add(lst, folios[sel])

    def writeback_done(self, folios: np.ndarray) -> None:
        """folio_end_writeback(): PG_writeback clears; a folio reclaim marked
        PG_reclaim rotates to be freed next (folio_rotate_reclaimable)."""
        f = self.m.folios
        folios = folios[(f.flags[folios] & PG_writeback) != 0]
        f.flags[folios] &= np.uint16(~PG_writeback & 0xFFFF)
        reclaim = (f.flags[folios] & PG_reclaim) != 0
        rotate = folios[reclaim]
        f.flags[rotate] &= np.uint16(~PG_reclaim & 0xFFFF)
        rotate = rotate[((f.flags[rotate] & PG_dirty) == 0) & (self.m.lists.page_list[rotate] >= 0)]
        if len(rotate) == 0:
            return
        reasons = np.full(len(rotate), PutbackReason.ROTATE, np.int8)
        for policy, part in self.m.by_policy(rotate):
            if policy.folio_putback is not None:
                policy.folio_putback(policy.ctx, rotate[part], reasons[part], None)
                continue
            for lst, sel in group_by(self.m.lists.page_list[rotate[part]]):
                self.m.lists.add(lst, rotate[part][sel], tail=True)

    # ------------------------------------------------------------------
    # direct reclaim
    # ------------------------------------------------------------------
    def try_to_free_pages(self, nodes: tuple[int, ...], preferred: int) -> int:
        """try_to_free_pages(): global direct reclaim, every node of the
        zonelist, until SWAP_CLUSTER_MAX pages are reclaimed."""
        m = self.m
        m.vmstat.count(preferred, VmEvent.ALLOCSTALL_NORMAL)
        sc = self.scan_control(ReclaimReason.DIRECT, preferred, SWAP_CLUSTER_MAX)

        def shrink_zones(sc: ScanRequest) -> None:
            for nid in nodes:
                sc.node = nid
                self.shrink_node(nid, sc)

        self.do_try_to_free_pages(sc, shrink_zones)
        for nid in nodes:
            self.snapshot_refaults(nid)
        return sc.nr_reclaimed

    def try_to_free_mem_cgroup_pages(self, memcg: int, nr_pages: int,
                                     reason: ReclaimReason = ReclaimReason.MEMCG) -> int:
        """try_to_free_mem_cgroup_pages(): reclaim at least SWAP_CLUSTER_MAX
        pages from a memcg and its descendants, lruvec by lruvec on every
        node, stopping as soon as the goal is met (a partial walk). Counted
        as direct reclaim, as the kernel counts a charging task's reclaim."""
        lruvecs = self.m.memcg.lruvecs(memcg)
        sc = self.scan_control(reason, self.m.lruvec_node[lruvecs[0]], max(nr_pages, SWAP_CLUSTER_MAX),
                               target_memcg=memcg)

        def shrink_memcgs(sc: ScanRequest) -> None:
            for lruvec in self._unprotected(lruvecs, sc):
                sc.node = self.m.lruvec_node[lruvec]
                self.shrink_lruvec(lruvec, sc)
                if sc.nr_reclaimed >= sc.nr_to_reclaim:
                    return

        self.do_try_to_free_pages(sc, shrink_memcgs)
        return sc.nr_reclaimed

    def do_try_to_free_pages(self, sc: ScanRequest, shrink: Callable[[ScanRequest], None]) -> None:
        """do_try_to_free_pages(): shrink at decreasing priority until the
        goal is met. A run that freed nothing while memory.low kept memcgs
        out is repeated with them in (memcg_low_reclaim): untapped
        reserves before OOM."""
        self.memcg_low_skipped = False
        for low_reclaim in (False, True):
            self.memcg_low_reclaim = low_reclaim
            for priority in range(DEF_PRIORITY, -1, -1):
                sc.priority = priority
                sc.nr_scanned = 0
                shrink(sc)
                if sc.nr_reclaimed >= sc.nr_to_reclaim:
                    break
            if sc.nr_reclaimed or not self.memcg_low_skipped:
                break
            self.memcg_low_skipped = False
        self.memcg_low_reclaim = False

    # ------------------------------------------------------------------
    # kswapd
    # ------------------------------------------------------------------
    def pgdat_balanced(self, nid: int) -> bool:
        node = self.m.nodes[nid]
        return node.nr_free > node.wmark.high

    def wakeup_kswapd(self, nid: int, now: int) -> bool:
        """wakeup_kswapd(): wake a sleeping or napping kswapd unless the node
        is balanced or kswapd has failed MAX_RECLAIM_RETRIES times. Returns
        whether kswapd must be scheduled."""
        k = self.kswapd[nid]
        if k.state == "running" or k.failures >= MAX_RECLAIM_RETRIES or self.pgdat_balanced(nid):
            return False
        self.m.events.emit("mm_vmscan_wakeup_kswapd", now, nid=nid, order=0)
        if k.state == "napping":
            self.m.vmstat.count(nid, VmEvent.KSWAPD_LOW_WMARK_HIT_QUICKLY)
        k.state = "running"
        k.clock = max(k.clock, now)
        k.next_time = k.clock
        k.generation += 1
        return True

    def kswapd_step(self, k: Kswapd) -> int | None:
        """One iteration of balance_pgdat()'s priority loop, or the end of a
        nap. Returns how long after this step kswapd runs again (0: at once,
        KSWAPD_NAP_NS: after its nap), or None when it sleeps until woken."""
        if k.state == "napping":
            return self._kswapd_nap_end(k)
        if not k.in_pass:
            self._kswapd_start_pass(k)
        nid = k.nid
        if self.pgdat_balanced(nid):
            return self._kswapd_end_pass(k)  # goto out: no failure counted
        if self._kswapd_age_node(nid, k.priority):
            # min_ttl: the policy would rather OOM-kill than thrash
            self.m.out_of_memory(None, nid)
            return self._kswapd_end_pass(k)
        node = self.m.nodes[nid]
        sc = self.scan_control(ReclaimReason.KSWAPD, nid, max(node.wmark.high, SWAP_CLUSTER_MAX), k.priority)
        self.memcg_low_reclaim, self.memcg_low_skipped = k.low_reclaim, False
        self.shrink_node(nid, sc)
        k.low_skipped |= self.memcg_low_skipped
        self.memcg_low_reclaim = False
        # kswapd_shrink_node(): drop the priority unless this round
        # scanned as much as it wanted; always if it freed nothing.
        if sc.nr_scanned < sc.nr_to_reclaim or sc.nr_reclaimed == 0:
            k.priority -= 1
        k.pass_reclaimed += sc.nr_reclaimed
        if k.priority >= 1:
            return 0
        if k.pass_reclaimed == 0:
            k.failures += 1  # a whole pass without progress
        return self._kswapd_end_pass(k)

    def _kswapd_start_pass(self, k: Kswapd) -> None:
        self.m.vmstat.count(k.nid, VmEvent.PAGEOUTRUN)
        self.m.events.emit("mm_vmscan_kswapd_wake", k.clock, nid=k.nid, order=0)
        k.in_pass, k.priority, k.pass_reclaimed = True, DEF_PRIORITY, 0

    def _kswapd_age_node(self, nid: int, priority: int) -> bool:
        """kswapd_age_node(): each policy's background aging of the node.
        Without an age_node hook, keep the anon lists balanced even while
        only file pages are reclaimed (can_age_anon_pages: swap exists).
        Returns whether the policies declared the node out of memory: all
        of them, as lru_gen_age_node() OOM-kills only when no memcg has an
        old enough generation."""
        m = self.m
        sc = self.scan_control(ReclaimReason.KSWAPD, nid, SWAP_CLUSTER_MAX, priority)
        out_of_memory = True
        for domain in m.domains:
            policy = domain.policy
            if policy.age_node is not None:
                sc.free_pages, sc.high_wmark = m.nodes[nid].nr_free, m.nodes[nid].wmark.high
                sc.nr_swap_pages = m.swap.nr_free
                out_of_memory &= bool(policy.age_node(policy.ctx, sc))
                continue
            out_of_memory = False
            if m.swap.total > 0:
                for lruvec in domain.lruvecs:
                    if m.lruvec_node[lruvec] == nid:
                        self._prepare(sc, lruvec)
                        self._age(lruvec, sc, LRU_ANON, SWAP_CLUSTER_MAX, balance=True)
        return out_of_memory and not self.pgdat_balanced(nid)

    def _kswapd_end_pass(self, k: Kswapd) -> int:
        """The end of balance_pgdat(), then kswapd_try_to_sleep(): nap if the
        node is balanced (or hopeless), else start another pass."""
        nid = k.nid
        self.snapshot_refaults(nid)
        k.in_pass = False
        # balance_pgdat(): a pass that freed nothing while memory.low kept
        # memcgs out is followed by one that takes them in
        k.low_reclaim, k.low_skipped = k.pass_reclaimed == 0 and k.low_skipped, False
        if self.pgdat_balanced(nid):
            self.m.nodes[nid].dirty = False  # clear_pgdat_congested()
        if self.pgdat_balanced(nid) or k.failures >= MAX_RECLAIM_RETRIES:
            k.state = "napping"
            return KSWAPD_NAP_NS
        self.m.vmstat.count(nid, VmEvent.KSWAPD_HIGH_WMARK_HIT_QUICKLY)
        return 0

    def _kswapd_nap_end(self, k: Kswapd) -> int | None:
        """After the HZ/10 nap: sleep for good if still balanced, else go on."""
        if self.pgdat_balanced(k.nid) or k.failures >= MAX_RECLAIM_RETRIES:
            k.state = "sleeping"
            self.m.events.emit("mm_vmscan_kswapd_sleep", k.clock, nid=k.nid)
            return None
        self.m.vmstat.count(k.nid, VmEvent.KSWAPD_HIGH_WMARK_HIT_QUICKLY)
        k.state = "running"
        return 0


def _reclaim_flags(lru_type: int, sc: ScanRequest) -> str:
    """The tracepoints' reclaim_flags, as the kernel prints them."""
    return ("RECLAIM_WB_FILE" if lru_type == LRU_FILE else "RECLAIM_WB_ANON") + (
        "|RECLAIM_WB_SYNC" if sc.reason == ReclaimReason.DIRECT else "|RECLAIM_WB_ASYNC")
