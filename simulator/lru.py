"""The classic two-list LRU (mm/vmscan.c, mm/swap.c), as a set of hooks.

Each lruvec has an inactive and an active list per type (anon, file). New
folios enter the inactive list at the head; reclaim takes from the inactive
tail. A folio earns the active list by being used twice: through read() /
write() (folio_mark_accessed: inactive,unref -> inactive,ref -> active), or
through page tables, which reclaim sees when it checks the accessed bits of an
inactive folio (folio_check_references). The active list is aged by
shrink_active_list, which moves folios back to the inactive list (referenced
or not, except executable file text) when the inactive list is too small
(inactive_is_low) or when refaults show the workingset is changing.

How much of each type to scan is get_scan_count's answer: anon only with
swap, and otherwise balanced by swappiness against the cost each type has
recently caused (lru_note_cost: I/O on reclaim and refaults, rotations).
Refaults recent enough to be part of the workingset (workingset.py) enter
the active list directly.

What follows the kernel rule by rule, with the kernel's names. What it leaves
out: unevictable and mlocked folios, lru_gen, the per-CPU batches' own
ordering, zones (each node has one), and MADV_COLD/FREE.

Policy flag bits: PG_active and PG_referenced are this policy's (the kernel
keeps them in page flags shared by all LRU code).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from math import isqrt

import numpy as np

from hooks import hookimpl
from hooks.types import (
    LRU_ANON,
    LRU_FILE,
    PG_policy0,
    PG_policy1,
    PG_reclaim,
    PG_writeback,
    PG_dirty,
    PG_workingset,
    PutbackReason,
    REFAULT_ACTIVATE,
    REFAULT_WORKINGSET,
    ScanDecision,
    ScanRequest,
    SWAP_CLUSTER_MAX,
    Victims,
    VM_EXEC,
)
from simulator.config import PAGE_SHIFT
from simulator.folios import group_by

PG_active = PG_policy0
PG_referenced = PG_policy1

MAX_SWAPPINESS = 200

# folio_check_references() verdicts
FOLIOREF_RECLAIM, FOLIOREF_RECLAIM_CLEAN, FOLIOREF_KEEP, FOLIOREF_ACTIVATE = range(4)


def inactive_is_low(inactive: int, active: int) -> bool:
    """inactive_is_low(): the inactive list should be at least
    1/int_sqrt(10 * size_in_GB) of the type's pages."""
    gb = (inactive + active) >> (30 - PAGE_SHIFT)
    ratio = isqrt(10 * gb) if gb else 1
    return inactive * ratio < active


def folio_check_references(referenced_ptes: np.ndarray, referenced_folio: np.ndarray, is_file: np.ndarray, is_exec: np.ndarray) -> np.ndarray:
    """folio_check_references(), vectorised, after the rmap walk returned
    `referenced_ptes` young PTEs and PG_referenced was tested and cleared."""
    verdict = np.full(len(referenced_ptes), FOLIOREF_RECLAIM, np.int8)
    mapped_young = referenced_ptes > 0
    # used more than once (again since the last scan, or by two mappings): activate
    activate = mapped_young & (referenced_folio | (referenced_ptes > 1))
    # executable file text is activated after its first use
    activate |= mapped_young & is_exec & is_file
    verdict[mapped_young] = FOLIOREF_KEEP  # one more trip around the inactive list
    verdict[activate] = FOLIOREF_ACTIVATE
    # a file folio used through read() but not mapped: reclaim it if clean
    verdict[~mapped_young & referenced_folio & is_file] = FOLIOREF_RECLAIM_CLEAN
    return verdict


@dataclass
class LruvecState:
    """What the classic LRU keeps per lruvec beside its four lists."""

    lists: dict[tuple[int, bool], int]  # (type, active) -> list id
    anon_cost: int = 0
    file_cost: int = 0
    may_deactivate: list[bool] = field(default_factory=lambda: [False, False])


class ClassicLRU:
    """The kernel's two-list LRU. One instance per attached machine."""

    INTERFACE_VERSION = (1, 0)

    def __init__(self) -> None:
        self.lruvecs: dict[int, LruvecState] = {}

    # ------------------------------------------------------------------
    # helpers
    # ------------------------------------------------------------------
    def _list(self, lruvec: int, lru_type: int, active: bool) -> int:
        return self.lruvecs[lruvec].lists[(lru_type, active)]

    def _size(self, ctx, lruvec: int, lru_type: int, active: bool) -> int:
        return ctx.list_len(self._list(lruvec, lru_type, active))

    def _add(self, ctx, folios: np.ndarray, active: np.ndarray, tail: bool = False) -> None:
        """lruvec_add_folio() for a batch: each folio to the head (or tail) of
        the list its type and PG_active name, keeping the batch order."""
        key = ctx.folio_lruvec(folios).astype(np.int64) * 4 + ctx.folio_type(folios) * 2 + active
        for k, sel in group_by(key):
            ctx.list_add(self._list(k // 4, (k // 2) % 2, bool(k % 2)), folios[sel], tail)

    def _activate(self, ctx, lruvec: int, folios: np.ndarray, lru_type: int | None = None) -> None:
        """Put folios of one lruvec on the active list (of `lru_type` when the
        caller knows it): PGACTIVATE, and the nonresident clock ages as
        move_folios_to_lru() does for active folios."""
        if len(folios) == 0:
            return
        ctx.folio_set_flags(folios, PG_active)
        if lru_type is None:
            self._add(ctx, folios, np.ones(len(folios), np.int64))
        else:
            ctx.list_add(self._list(lruvec, lru_type, True), folios)
        ctx.count_event("pgactivate", lruvec, len(folios))
        ctx.workingset_age_nonresident(lruvec, len(folios))

    def _note_cost(self, ctx, lruvec: int, lru_type: int, nr_io: int, nr_rotated: int) -> None:
        """lru_note_cost(): I/O weighs SWAP_CLUSTER_MAX times a rotation; both
        costs halve once they exceed a quarter of the lruvec."""
        st = self.lruvecs[lruvec]
        cost = nr_io * SWAP_CLUSTER_MAX + nr_rotated
        if lru_type == LRU_FILE:
            st.file_cost += cost
        else:
            st.anon_cost += cost
        lrusize = sum(ctx.list_len(lst) for lst in st.lists.values())
        if st.file_cost + st.anon_cost > lrusize // 4:
            st.file_cost //= 2
            st.anon_cost //= 2

    # ------------------------------------------------------------------
    # hooks
    # ------------------------------------------------------------------
    @hookimpl
    def policy_init(self, ctx) -> None:
        for lruvec in ctx.lruvecs:
            lists = {
                (t, active): ctx.list_create(lruvec, t, active, f"{'active' if active else 'inactive'}_{name}")
                for t, name in ((LRU_ANON, "anon"), (LRU_FILE, "file"))
                for active in (False, True)
            }
            self.lruvecs[lruvec] = LruvecState(lists)

    @hookimpl
    def folio_added(self, ctx, folios: np.ndarray) -> None:
        """lru_add(): new folios go to the inactive head unless they refaulted
        into the workingset (PG_active set by on_refault)."""
        active = (ctx.folio_flags(folios) & PG_active) != 0
        self._add(ctx, folios, active.astype(np.int64))

    @hookimpl
    def folio_accessed(self, ctx, folios: np.ndarray) -> None:
        """folio_mark_accessed(): inactive,unreferenced -> inactive,referenced
        -> active,unreferenced -> active,referenced, one step per access."""
        uniq, first, count = np.unique(folios, return_index=True, return_counts=True)
        uniq = uniq[np.argsort(first, kind="stable")]
        count = count[np.argsort(first, kind="stable")]
        flags = ctx.folio_flags(uniq)
        state = ((flags & PG_active) != 0) * 2 + ((flags & PG_referenced) != 0)
        new_state = np.minimum(state + count, 3)
        activate = (state < 2) & (new_state >= 2)
        referenced = (new_state & 1) != 0
        ctx.folio_set_flags(uniq[referenced], PG_referenced)
        ctx.folio_clear_flags(uniq[~referenced], PG_referenced)
        if activate.any():
            to_activate = uniq[activate]
            for lruvec, sel in group_by(ctx.folio_lruvec(to_activate)):
                # folio_activate() and workingset_activation()
                self._activate(ctx, lruvec, to_activate[sel])

    @hookimpl
    def should_reclaim(self, ctx, request: ScanRequest) -> ScanDecision:
        """prepare_scan_control() and get_scan_count()."""
        lruvec, prio = request.lruvec, request.priority
        st = self.lruvecs[lruvec]
        inactive = [self._size(ctx, lruvec, t, False) for t in (LRU_ANON, LRU_FILE)]
        active = [self._size(ctx, lruvec, t, True) for t in (LRU_ANON, LRU_FILE)]

        # Deactivate a type when its workingset is refaulting or its
        # inactive list is too small.
        for t in (LRU_ANON, LRU_FILE):
            st.may_deactivate[t] = request.refaults_since_snapshot[t] > 0 or inactive_is_low(inactive[t], active[t])
        cache_trim_mode = (inactive[LRU_FILE] >> prio) > 0 and not st.may_deactivate[LRU_FILE]
        file_is_tiny = (
            request.global_reclaim
            and inactive[LRU_FILE] + active[LRU_FILE] + request.free_pages <= request.high_wmark
            and not st.may_deactivate[LRU_ANON]
            and (inactive[LRU_ANON] >> prio) > 0
        )

        swappiness = request.swappiness
        if not request.can_swap:
            balance = "file"
        elif not request.global_reclaim and swappiness == 0:
            balance = "file"
        elif prio == 0 and swappiness > 0:
            balance = "equal"
        elif file_is_tiny:
            balance = "anon"
        elif cache_trim_mode:
            balance = "file"
        else:
            balance = "fract"
            total = st.anon_cost + st.file_cost
            anon_cost, file_cost = total + st.anon_cost, total + st.file_cost
            total = anon_cost + file_cost
            fraction = (swappiness * (total + 1) // (anon_cost + 1), (MAX_SWAPPINESS - swappiness) * (total + 1) // (file_cost + 1))
            denominator = fraction[0] + fraction[1]

        def scan(size: int, t: int) -> int:
            nr = size >> prio
            if balance == "fract":
                return nr * fraction[t] // denominator if denominator else 0
            if balance in ("anon", "file"):
                return nr if (balance == "file") == (t == LRU_FILE) else 0
            return nr

        return ScanDecision(
            scan=(scan(inactive[LRU_ANON], LRU_ANON), scan(inactive[LRU_FILE], LRU_FILE)),
            age=(scan(active[LRU_ANON], LRU_ANON), scan(active[LRU_FILE], LRU_FILE)),
        )

    @hookimpl
    def age(self, ctx, request: ScanRequest) -> int:
        """shrink_active_list(), when get_scan_count asked for it and
        prepare_scan_control allowed deactivation; in balance mode (end of
        shrink_lruvec, kswapd_age_node) only if the inactive list is low."""
        lruvec, t = request.lruvec, request.lru_type
        if request.balance:
            if not inactive_is_low(self._size(ctx, lruvec, t, False), self._size(ctx, lruvec, t, True)):
                return 0
        elif not self.lruvecs[lruvec].may_deactivate[t]:
            return 0  # sc->skipped_deactivate
        return self.shrink_active_list(ctx, lruvec, t, request.nr_to_scan)

    def shrink_active_list(self, ctx, lruvec: int, lru_type: int, nr_to_scan: int) -> int:
        folios = ctx.list_peek(self._list(lruvec, lru_type, True), nr_to_scan)
        if len(folios) == 0:
            return 0
        referenced = ctx.folio_referenced(folios) > 0
        flags = ctx.folio_flags(folios)
        # Referenced executable file text gets one more trip around the
        # active list; everything else, referenced or not, is deactivated.
        keep = referenced & ((flags & VM_EXEC) != 0) & (lru_type == LRU_FILE)
        rotated, deactivated = folios[keep], folios[~keep]
        ctx.list_add(self._list(lruvec, lru_type, True), rotated)
        ctx.folio_clear_flags(deactivated, PG_active)
        ctx.folio_set_flags(deactivated, PG_workingset)
        ctx.list_add(self._list(lruvec, lru_type, False), deactivated)
        ctx.count_event("pgdeactivate", lruvec, len(deactivated))
        if len(rotated):
            ctx.workingset_age_nonresident(lruvec, len(rotated))
            self._note_cost(ctx, lruvec, lru_type, 0, len(rotated))
        return len(folios)

    @hookimpl
    def select_victims(self, ctx, request: ScanRequest) -> Victims:
        """isolate_lru_folios() from the inactive tail, then the policy's part
        of shrink_folio_list(): folio_check_references() on each."""
        lruvec, t = request.lruvec, request.lru_type
        folios = ctx.list_peek(self._list(lruvec, t, False), request.nr_to_scan)
        flags = ctx.folio_flags(folios)
        # Folios under writeback go straight to the core, which activates
        # them (with PG_reclaim) without looking at their references.
        writeback = (flags & PG_writeback) != 0
        any_writeback = writeback.any()
        checked, cflags = (folios[~writeback], flags[~writeback]) if any_writeback else (folios, flags)
        referenced_ptes = ctx.folio_referenced(checked)
        referenced_folio = (cflags & PG_referenced) != 0
        ctx.folio_clear_flags(checked, PG_referenced)
        ctx.folio_set_flags(checked[referenced_ptes > 0], PG_referenced)
        is_file = np.full(len(checked), t == LRU_FILE)
        verdict = folio_check_references(referenced_ptes, referenced_folio, is_file, (cflags & VM_EXEC) != 0)
        # A dirty folio referenced through read() is not worth writing out:
        # shrink_folio_list keeps it only where it would otherwise write it
        # (kswapd, PG_reclaim, PGDAT_DIRTY). Elsewhere the core sets
        # PG_reclaim and activates it like any dirty file folio.
        kswapd_would_write = (request.is_kswapd and request.node_dirty) & ((cflags & PG_reclaim) != 0)
        keep = (verdict == FOLIOREF_KEEP) | ((verdict == FOLIOREF_RECLAIM_CLEAN) & ((cflags & PG_dirty) != 0) & kswapd_would_write)
        self._activate(ctx, lruvec, checked[verdict == FOLIOREF_ACTIVATE], t)
        if keep.any():
            ctx.list_add(self._list(lruvec, t, False), checked[keep])
        reclaim = (verdict == FOLIOREF_RECLAIM) | ((verdict == FOLIOREF_RECLAIM_CLEAN) & ~keep)
        victims = np.concatenate([folios[writeback], checked[reclaim]]) if any_writeback else checked[reclaim]
        return Victims(victims, len(folios))

    @hookimpl
    def folio_putback(self, ctx, folios: np.ndarray, reasons: np.ndarray, request: ScanRequest | None) -> None:
        """move_folios_to_lru() after shrink_folio_list(), with lru_note_cost();
        and folio_rotate_reclaimable() when writeback ends."""
        for reason, sel in group_by(reasons):
            back = folios[sel]
            if reason == PutbackReason.ACTIVATE:
                for lruvec, same in group_by(ctx.folio_lruvec(back)):
                    self._activate(ctx, lruvec, back[same])
            elif reason == PutbackReason.KEEP:
                ctx.folio_clear_flags(back, PG_active)
                self._add(ctx, back, np.zeros(len(back), np.int64))
            else:
                # lru_move_tail(): active or not, clear PG_active and go to
                # the inactive tail, to be reclaimed next (a dirty folio was
                # activated with PG_reclaim until its writeback ended)
                ctx.folio_clear_flags(back, PG_active)
                self._add(ctx, back, np.zeros(len(back), np.int64), tail=True)
                for lruvec, same in group_by(ctx.folio_lruvec(back)):
                    ctx.count_event("pgrotated", lruvec, len(back[same]))
        if request is not None:
            stat = request.stat
            self._note_cost(ctx, request.lruvec, request.lru_type, stat.nr_pageout, stat.nr_taken - stat.nr_reclaimed)

    @hookimpl
    def on_refault(self, ctx, folios: np.ndarray, refault) -> np.ndarray:
        """workingset_refault(): a recent refault is activated; if it was
        active before eviction it restores PG_workingset and costs its type
        one I/O (lru_note_cost_refault)."""
        advice = np.zeros(len(folios), np.int64)
        recent = refault.recent
        ctx.folio_set_flags(folios[recent], PG_active)
        advice[recent] = REFAULT_ACTIVATE
        restored = recent & refault.workingset
        advice[restored] |= REFAULT_WORKINGSET
        if restored.any():
            for f in folios[restored].tolist():
                self._note_cost(ctx, ctx.folio_lruvec(f), ctx.folio_type(f), 1, 0)
        return advice
