"""The multi-gen LRU (mm/vmscan.c, CONFIG_LRU_GEN), as a set of hooks.

The problem with two lists: "active" and "inactive" say little about how
recently a page was used, and finding out means an rmap walk per page at
eviction, the most expensive moment. MGLRU keeps instead up to MAX_NR_GENS
generations per lruvec and type, numbered by sequence:

    min_seq[anon]  min_seq[file]                       max_seq
         |              |                                 |
         v              v                                 v
      +------+------+------+------+     the two youngest generations
      | gen0 | gen1 | gen2 | gen3 |     count as "active" (NR_ACTIVE_*),
      +------+------+------+------+     the others as inactive
       oldest                youngest

Aging is the producer (try_to_inc_max_seq): it walks the page tables of the
processes, and a folio found young for the second time is moved to the
youngest generation; then max_seq grows by one and the generations shift.
Eviction is the consumer (evict_folios): it takes only from the oldest
generation, where sort_folio() first moves on what must be kept (promoted,
in a protected tier, under writeback); when that generation is empty,
min_seq grows. Folios a process accessed through read()/write() collect
refs; refs (with PG_workingset) give tiers, and a PID controller compares
each tier's refault rate with tier 0's to protect the tiers that refault
more (get_tier_idx), and anon's with file's to choose the type to evict
(get_type_to_scan). A shadow token of (min_seq, refs) tells a refault within
MAX_NR_GENS generations of eviction from an old one.

Here: the generations are lists the core stores (gen = seq % MAX_NR_GENS),
a folio's seq and refs counter live in its policy integer (seq << 2 |
counter), PG_referenced and PG_active are this policy's flag bits. Not
modelled: zones, memcgs (one lruvec per node), Bloom filters (the walk visits
every mapped page and is charged for each), the mm_list, NR_HIST_GENS > 1.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from hooks import hookimpl
from hooks.types import (
    LRU_ANON,
    LRU_FILE,
    LRU_TYPE_NAMES,
    PG_dirty,
    PG_policy0,
    PG_policy1,
    PG_policy2,
    PG_reclaim,
    PG_swapcache,
    PG_workingset,
    PG_writeback,
    PutbackReason,
    REFAULT_ACTIVATE,
    REFAULT_WORKINGSET,
    ScanDecision,
    ScanRequest,
    Victims,
)
from simulator.folios import group_by

PG_active = PG_policy0
PG_referenced = PG_policy1
PG_counted = PG_policy2  # counted in nr_pages of the generation its data names

MIN_NR_GENS = 2
MAX_NR_GENS = 4
MAX_NR_TIERS = 4
LRU_REFS_WIDTH = 2
REFS_COUNTER_MAX = (1 << LRU_REFS_WIDTH) - 1  # the counter saturates at 3
MIN_LRU_BATCH = 64
MAX_LRU_BATCH = 4096
MAX_SWAPPINESS = 200
DEF_PRIORITY = 12
ROOT_MEMCG_ID = 1


# ----------------------------------------------------------------------
# refs and tiers, vectorised over folios
# ----------------------------------------------------------------------
def folio_seq(data: np.ndarray) -> np.ndarray:
    return data >> LRU_REFS_WIDTH


def refs_counter(data: np.ndarray) -> np.ndarray:
    return data & REFS_COUNTER_MAX


def folio_lru_refs(flags: np.ndarray, data: np.ndarray) -> np.ndarray:
    """folio_lru_refs(): 0 unless PG_referenced, else the counter plus one."""
    return np.where((flags & PG_referenced) != 0, refs_counter(data) + 1, 0)


ORDER_BASE_2 = np.array([0, 0, 1, 2, 2], np.int64)  # of refs 0..4


def lru_tier_from_refs(refs: np.ndarray, workingset: np.ndarray) -> np.ndarray:
    """PG_workingset folios are in the top tier; the others by
    order_base_2(refs): <=1 access tier 0, 2 tier 1, 3-4 tier 2."""
    return np.where(workingset, MAX_NR_TIERS - 1, ORDER_BASE_2[refs])


@dataclass
class CtrlPos:
    refaulted: int
    total: int
    gain: int


def positive_ctrl_err(sp: CtrlPos, pv: CtrlPos) -> bool:
    """The process variable (pv) has few refaults, or a refault rate no
    higher than the set point's (sp), weighted by the gains."""
    return pv.refaulted < MIN_LRU_BATCH or (
        pv.refaulted * (sp.total + MIN_LRU_BATCH) * sp.gain <= (sp.refaulted + 1) * pv.total * pv.gain
    )


@dataclass
class Sort:
    """sort_folio()'s masks over a window of the oldest generation."""

    flags: np.ndarray
    seq: np.ndarray
    tier: np.ndarray
    promoted: np.ndarray
    counted: np.ndarray  # protected, and counted as such (not the lazy workingset)
    protected: np.ndarray
    waiting: np.ndarray
    isolate: np.ndarray

    def upto(self, n: int) -> Sort:
        return Sort(*(getattr(self, name)[:n] for name in self.__dataclass_fields__))


@dataclass
class ScanCounts:
    """sc->nr of one isolate_folios(): the folios scan_folios() looked at
    and the dirty file folios among them that sort_folio() kept back."""

    taken: int = 0
    unqueued_dirty: int = 0


def _per_type_tier() -> list[list[int]]:
    return [[0] * MAX_NR_TIERS for _ in range(2)]


@dataclass
class Lrugen:
    """struct lru_gen_folio of one lruvec."""

    lists: list[list[int]]  # [type][gen] -> list id
    # nr_pages[type][gen]: the folios of each generation. Not the list
    # lengths: aging promotes a folio by its generation number alone, and
    # sort_folio() moves it to its list later, as in the kernel.
    nr_pages: list[list[int]] = field(default_factory=lambda: [[0] * MAX_NR_GENS for _ in range(2)])
    max_seq: int = MIN_NR_GENS + 1
    min_seq: list[int] = field(default_factory=lambda: [0, 0])
    timestamps: list[int] = field(default_factory=lambda: [0] * MAX_NR_GENS)
    # the PID controller's inputs per type and tier (NR_HIST_GENS == 1),
    # plain lists: they are read on every eviction batch
    avg_refaulted: list[list[int]] = field(default_factory=lambda: _per_type_tier())
    avg_total: list[list[int]] = field(default_factory=lambda: _per_type_tier())
    refaulted: list[list[int]] = field(default_factory=lambda: _per_type_tier())
    evicted: list[list[int]] = field(default_factory=lambda: _per_type_tier())
    protected: list[list[int]] = field(default_factory=lambda: _per_type_tier())

    def nr_gens(self, lru_type: int) -> int:
        return self.max_seq - self.min_seq[lru_type] + 1

    def read_ctrl_pos(self, lru_type: int, tier: int, gain: int) -> CtrlPos:
        """read_ctrl_pos(): tier MAX_NR_TIERS means all tiers together."""
        tiers = range(MAX_NR_TIERS) if tier == MAX_NR_TIERS else (tier,)
        refaulted = sum(self.avg_refaulted[lru_type][t] + self.refaulted[lru_type][t] for t in tiers)
        total = sum(self.avg_total[lru_type][t] + self.protected[lru_type][t] + self.evicted[lru_type][t] for t in tiers)
        return CtrlPos(refaulted, total, gain)

    def reset_ctrl_pos(self, lru_type: int) -> None:
        """reset_ctrl_pos(carryover): when min_seq advances, the averages take
        half the new figures and the counts start again."""
        for t in range(MAX_NR_TIERS):
            self.avg_refaulted[lru_type][t] = (self.avg_refaulted[lru_type][t] + self.refaulted[lru_type][t]) // 2
            self.avg_total[lru_type][t] = (
                self.avg_total[lru_type][t] + self.protected[lru_type][t] + self.evicted[lru_type][t]
            ) // 2
        self.refaulted[lru_type] = [0] * MAX_NR_TIERS
        self.evicted[lru_type] = [0] * MAX_NR_TIERS
        self.protected[lru_type] = [0] * MAX_NR_TIERS

    def count(self, counter: list[list[int]], lru_type: int, tiers: np.ndarray) -> None:
        """Add one per folio to a per-tier counter."""
        for t, n in enumerate(np.bincount(tiers, minlength=MAX_NR_TIERS).tolist()):
            counter[lru_type][t] += n


class MultiGenLRU:
    """The kernel's multi-gen LRU. One instance per attached machine."""

    INTERFACE_VERSION = (1, 1)

    def __init__(self) -> None:
        self.lruvecs: dict[int, Lrugen] = {}

    # ------------------------------------------------------------------
    # generations and placement
    # ------------------------------------------------------------------
    def _list(self, lrugen: Lrugen, lru_type: int, seq: int) -> int:
        return lrugen.lists[lru_type][seq % MAX_NR_GENS]

    def _place(self, ctx, lrugen: Lrugen, folios: np.ndarray, seqs: np.ndarray, lru_type: int, tail: bool = False) -> None:
        """Put folios on the lists of their generations, keeping each
        folio's refs counter."""
        self._set_gen(ctx, lrugen, folios, seqs, lru_type)
        for seq, sel in group_by(seqs):
            ctx.list_add(self._list(lrugen, lru_type, seq), folios[sel], tail)

    def _set_gen(self, ctx, lrugen: Lrugen, folios: np.ndarray, seqs: np.ndarray, lru_type: int) -> None:
        """Give folios a generation (lru_gen_update_size()): they count in
        its nr_pages, no longer in their old one's."""
        flags, data = ctx.folio_flags(folios), ctx.folio_data(folios)
        counted = (flags & PG_counted) != 0
        self._count_pages(lrugen, lru_type, folio_seq(data[counted]), -1)
        self._count_pages(lrugen, lru_type, seqs, +1)
        ctx.folio_set_flags(folios[~counted], PG_counted)
        ctx.folio_set_data(folios, (seqs << LRU_REFS_WIDTH) | refs_counter(data))

    def _uncount(self, ctx, lrugen: Lrugen, folios: np.ndarray, lru_type: int) -> None:
        """Folios leave their generations (eviction, unmap)."""
        counted = folios[(ctx.folio_flags(folios) & PG_counted) != 0]
        self._count_pages(lrugen, lru_type, folio_seq(ctx.folio_data(counted)), -1)
        ctx.folio_clear_flags(counted, PG_counted)

    @staticmethod
    def _count_pages(lrugen: Lrugen, lru_type: int, seqs: np.ndarray, delta: int) -> None:
        if len(seqs) == 0:
            return
        for gen, n in enumerate(np.bincount(seqs % MAX_NR_GENS, minlength=MAX_NR_GENS).tolist()):
            lrugen.nr_pages[lru_type][gen] += delta * n

    def _update_active(self, ctx, lrugen: Lrugen) -> None:
        """lru_gen_is_active(): the two youngest generations count as active."""
        for lru_type in (LRU_ANON, LRU_FILE):
            for seq in range(lrugen.max_seq - MAX_NR_GENS + 1, lrugen.max_seq + 1):
                ctx.list_set_active(self._list(lrugen, lru_type, seq), seq >= lrugen.max_seq - 1)

    def lru_gen_folio_seq(self, lrugen: Lrugen, flags: np.ndarray, lru_type: int, reclaiming: bool) -> np.ndarray:
        """lru_gen_folio_seq(): the generation a folio joins when added.
        Active (faulted in, or activated by reclaim): one of the two
        youngest; anon without a swap slot, or reclaim-marked under I/O:
        max_seq-1; otherwise (read(), readahead) the oldest, one younger
        for the workingset; reclaiming (rotation after writeback): oldest."""
        if reclaiming:
            return np.full(len(flags), max(lrugen.max_seq - MAX_NR_GENS + 1, lrugen.min_seq[lru_type]), np.int64)
        workingset = (flags & PG_workingset) != 0
        cold_io = ((flags & PG_reclaim) != 0) & ((flags & (PG_dirty | PG_writeback)) != 0)
        if lru_type == LRU_ANON:
            cold_io |= (flags & PG_swapcache) == 0
        gen = np.where(cold_io, MIN_NR_GENS, MAX_NR_GENS - workingset)
        gen = np.where((flags & PG_active) != 0, MIN_NR_GENS - workingset, gen)
        return np.maximum(lrugen.max_seq - gen + 1, lrugen.min_seq[lru_type])

    def _add(self, ctx, folios: np.ndarray, reclaiming: bool = False) -> None:
        """lru_gen_add_folio(): place each folio by lru_gen_folio_seq(), at
        the head (the tail when reclaiming); PG_active only chose the
        generation and is cleared."""
        key = ctx.folio_lruvec(folios).astype(np.int64) * 2 + ctx.folio_type(folios)
        for k, sel in group_by(key):
            lrugen, lru_type, batch = self.lruvecs[k // 2], k % 2, folios[sel]
            flags = ctx.folio_flags(batch)
            seqs = self.lru_gen_folio_seq(lrugen, flags, lru_type, reclaiming)
            ctx.folio_clear_flags(batch[(flags & PG_active) != 0], PG_active)
            self._place(ctx, lrugen, batch, seqs, lru_type, tail=reclaiming)

    # ------------------------------------------------------------------
    # hooks: attaching, adding, accessing
    # ------------------------------------------------------------------
    @hookimpl
    def policy_init(self, ctx) -> None:
        for lruvec in ctx.lruvecs:
            lists = [[ctx.list_create(lruvec, t, False, f"gen{gen}_{LRU_TYPE_NAMES[t]}") for gen in range(MAX_NR_GENS)]
                     for t in (LRU_ANON, LRU_FILE)]
            lrugen = Lrugen(lists, timestamps=[ctx.now()] * MAX_NR_GENS)
            self.lruvecs[lruvec] = lrugen
            self._update_active(ctx, lrugen)

    @hookimpl
    def folio_added(self, ctx, folios: np.ndarray) -> None:
        """folio_add_lru(): inside a page fault the folio is marked active
        (lru_gen_in_fault()); a mapped folio here came in by a fault."""
        faulted = folios[ctx.folio_mapcount(folios) > 0]
        if len(faulted):
            ctx.folio_set_flags(faulted, PG_active)
        self._add(ctx, folios)

    @hookimpl
    def folio_accessed(self, ctx, folios: np.ndarray) -> None:
        """lru_gen_inc_refs(): the first access sets PG_referenced, the next
        ones count up to the counter's limit, one more sets PG_workingset.
        No list moves: sort_folio() acts on the refs at eviction."""
        uniq, first, count = np.unique(folios, return_index=True, return_counts=True)
        flags, data = ctx.folio_flags(uniq), ctx.folio_data(uniq)
        referenced = (flags & PG_referenced) != 0
        # the first access of an unreferenced folio only sets the flag
        steps = count - (~referenced).astype(np.int64)
        # without PG_referenced the counter is stale: the first access starts
        # it over (set_mask_bits(LRU_REFS_MASK, BIT(PG_referenced)))
        counter = np.where(referenced, refs_counter(data), 0) + steps
        ctx.folio_set_flags(uniq[~referenced], PG_referenced)
        ctx.folio_set_flags(uniq[counter > REFS_COUNTER_MAX], PG_workingset)
        ctx.folio_set_data(uniq, (data & ~REFS_COUNTER_MAX) | np.minimum(counter, REFS_COUNTER_MAX))

    # ------------------------------------------------------------------
    # aging
    # ------------------------------------------------------------------
    def try_to_inc_max_seq(self, ctx, lruvec: int, swappiness: int) -> bool:
        """The page-table walk, then inc_max_seq()."""
        lrugen = self.lruvecs[lruvec]
        types = (LRU_FILE,) if swappiness == 0 else (LRU_ANON, LRU_FILE)
        young = ctx.walk_mm(lruvec, types)
        self.folio_update_gen(ctx, lrugen, young, lazy=True)
        self.inc_max_seq(ctx, lrugen, swappiness)
        # the generation change, in the event stream as the policy's own trace
        ctx.trace(f"lru_gen aging: lruvec={lruvec} max_seq={lrugen.max_seq} min_seq={lrugen.min_seq[LRU_ANON]},"
                  f"{lrugen.min_seq[LRU_FILE]} young={len(young)}")
        return True

    def folio_update_gen(self, ctx, lrugen: Lrugen, young: np.ndarray, lazy: bool) -> None:
        """folio_update_gen() for folios found young: the first time only
        PG_referenced is set; a folio already referenced (or in the
        workingset) joins the youngest generation with PG_workingset. The
        page-table walk only renumbers it (`lazy`: sort_folio() moves it);
        the look-around activates it at once (folio_activate())."""
        if len(young) == 0:
            return
        flags = ctx.folio_flags(young)
        first_time = (flags & (PG_referenced | PG_workingset)) == 0
        # set_mask_bits(LRU_REFS_MASK, BIT(PG_referenced)): a stale counter goes
        first = young[first_time]
        ctx.folio_set_flags(first, PG_referenced)
        ctx.folio_set_data(first, ctx.folio_data(first) & ~REFS_COUNTER_MAX)
        promoted = young[~first_time]
        if len(promoted) == 0:
            return
        ctx.folio_clear_flags(promoted, PG_referenced)
        ctx.folio_set_flags(promoted, PG_workingset)
        ctx.folio_set_data(promoted, ctx.folio_data(promoted) & ~REFS_COUNTER_MAX)
        types = ctx.folio_type(promoted)
        for lru_type, sel in group_by(types):
            batch = promoted[sel]
            youngest = np.full(len(batch), lrugen.max_seq, np.int64)
            if lazy:
                self._set_gen(ctx, lrugen, batch, youngest, lru_type)
            else:
                self._place(ctx, lrugen, batch, youngest, lru_type)

    def inc_max_seq(self, ctx, lrugen: Lrugen, swappiness: int) -> None:
        """inc_max_seq(): a type already at MAX_NR_GENS first moves its
        oldest generation into the next (inc_min_seq); then a new youngest
        generation is born."""
        for lru_type in (LRU_ANON, LRU_FILE):
            if lrugen.nr_gens(lru_type) == MAX_NR_GENS:
                self.inc_min_seq(ctx, lrugen, lru_type, swappiness)
        lrugen.max_seq += 1
        lrugen.timestamps[lrugen.max_seq % MAX_NR_GENS] = ctx.now()
        self._update_active(ctx, lrugen)

    def inc_min_seq(self, ctx, lrugen: Lrugen, lru_type: int, swappiness: int) -> None:
        """inc_min_seq(): the oldest generation's folios go to the tail of the
        next one (folio_inc_gen), counted as protected by tier unless they
        are workingset folios being promoted lazily."""
        evictable = swappiness <= MAX_SWAPPINESS if lru_type == LRU_FILE else swappiness > 0
        if evictable:
            oldest = self._list(lrugen, lru_type, lrugen.min_seq[lru_type])
            folios = ctx.list_peek(oldest, ctx.list_len(oldest))
            seqs = folio_seq(ctx.folio_data(folios))
            promoted = seqs != lrugen.min_seq[lru_type]
            # folio_inc_gen() leaves a folio aging promoted in its generation
            self._count_protected(ctx, lrugen, folios[promoted], lru_type)
            self._place(ctx, lrugen, folios[promoted], seqs[promoted], lru_type, tail=True)
            self._protect(ctx, lrugen, folios[~promoted], lru_type, count=True, tail=True)
        else:
            # The kernel keeps only seq % MAX_NR_GENS in a folio: the
            # generation left behind becomes the new youngest one.
            oldest = self._list(lrugen, lru_type, lrugen.min_seq[lru_type])
            stay = ctx.list_peek(oldest, ctx.list_len(oldest))
            self._set_gen(ctx, lrugen, stay, folio_seq(ctx.folio_data(stay)) + MAX_NR_GENS, lru_type)
        lrugen.reset_ctrl_pos(lru_type)
        lrugen.min_seq[lru_type] += 1

    def _protect(self, ctx, lrugen: Lrugen, folios: np.ndarray, lru_type: int, count: bool,
                 reclaiming: bool = False, tail: bool = False) -> None:
        """folio_inc_gen(): into min_seq+1, refs and PG_referenced cleared,
        PG_workingset kept (PG_reclaim set when reclaim waits for its I/O);
        with `count`, `protected` counts the tier unless it is the lazily
        promoted workingset."""
        if len(folios) == 0:
            return
        if count:
            self._count_protected(ctx, lrugen, folios, lru_type)
        data = ctx.folio_data(folios)
        ctx.folio_clear_flags(folios, PG_referenced)
        if reclaiming:
            ctx.folio_set_flags(folios, PG_reclaim)
        ctx.folio_set_data(folios, data & ~REFS_COUNTER_MAX)
        seq = lrugen.min_seq[lru_type] + 1
        self._place(ctx, lrugen, folios, np.full(len(folios), seq, np.int64), lru_type, tail=tail)

    @staticmethod
    def _count_protected(ctx, lrugen: Lrugen, folios: np.ndarray, lru_type: int) -> None:
        """`protected` counts the folios' tiers, unless they are workingset
        folios being promoted lazily."""
        flags, data = ctx.folio_flags(folios), ctx.folio_data(folios)
        refs = folio_lru_refs(flags, data)
        workingset = (flags & PG_workingset) != 0
        tiers = lru_tier_from_refs(refs, workingset)
        counted = refs + workingset != (1 << LRU_REFS_WIDTH) + 1
        lrugen.count(lrugen.protected, lru_type, tiers[counted])

    def try_to_inc_min_seq(self, ctx, lrugen: Lrugen, swappiness: int,
                           isolated: np.ndarray | None = None) -> bool:
        """try_to_inc_min_seq(): skip empty oldest generations (the folios
        just isolated are off their list in the kernel: they do not count);
        keep the two types within one generation of max_seq - MIN_NR_GENS
        of each other (the swappiness clamp). Returns whether it advanced."""
        on_list = ctx.folio_list(isolated) if isolated is not None and len(isolated) else np.empty(0, np.int64)
        min_seq = list(lrugen.min_seq)
        for lru_type in (LRU_FILE,) if swappiness == 0 else (LRU_ANON, LRU_FILE):
            while min_seq[lru_type] + MIN_NR_GENS <= lrugen.max_seq:
                lst = self._list(lrugen, lru_type, min_seq[lru_type])
                if ctx.list_len(lst) > np.count_nonzero(on_list == lst):
                    break
                min_seq[lru_type] += 1
        if 0 < swappiness <= MAX_SWAPPINESS:
            seq = lrugen.max_seq - MIN_NR_GENS
            if min_seq[LRU_ANON] > seq and min_seq[LRU_FILE] < seq:
                min_seq[LRU_ANON] = seq
            elif min_seq[LRU_FILE] > seq and min_seq[LRU_ANON] < seq:
                min_seq[LRU_FILE] = seq
        advanced = False
        for lru_type in (LRU_ANON, LRU_FILE):
            # min_seq only grows: the clamp never takes a type back
            if min_seq[lru_type] > lrugen.min_seq[lru_type]:
                lrugen.reset_ctrl_pos(lru_type)
                lrugen.min_seq[lru_type] = min_seq[lru_type]
                advanced = True
        return advanced

    # ------------------------------------------------------------------
    # how much to scan: get_nr_to_scan()
    # ------------------------------------------------------------------
    @staticmethod
    def get_swappiness(request: ScanRequest) -> int:
        """get_swappiness(): 0 when swap is not allowed or nearly full."""
        if not request.may_swap or request.nr_swap_pages < MIN_LRU_BATCH:
            return 0
        return request.swappiness

    @staticmethod
    def evictable_min_seq(lrugen: Lrugen, swappiness: int) -> int:
        return min(lrugen.min_seq) if swappiness else lrugen.min_seq[LRU_FILE]

    def _evictable_size(self, ctx, lrugen: Lrugen, swappiness: int) -> int:
        types = (LRU_ANON, LRU_FILE) if swappiness else (LRU_FILE,)
        return sum(lrugen.nr_pages[t][seq % MAX_NR_GENS]
                   for t in types for seq in range(lrugen.min_seq[t], lrugen.max_seq + 1))

    @hookimpl
    def should_reclaim(self, ctx, request: ScanRequest) -> ScanDecision:
        """get_nr_to_scan(): age first when eviction is impossible (fewer than
        MIN_NR_GENS generations above the oldest) or advisable (exactly
        MIN_NR_GENS), except at DEF_PRIORITY; a successful aging stops this
        round. The budget goes in the file slot: select_victims picks the
        type per batch."""
        lrugen = self.lruvecs[request.lruvec]
        swappiness = self.get_swappiness(request)
        min_seq = self.evictable_min_seq(lrugen, swappiness)
        must_age = min_seq + MIN_NR_GENS > lrugen.max_seq
        nr_to_scan = 0 if must_age else self._evictable_size(ctx, lrugen, swappiness)
        should_age = must_age or min_seq + MIN_NR_GENS == lrugen.max_seq
        if not should_age or request.priority == DEF_PRIORITY:
            return ScanDecision(scan=(0, nr_to_scan >> request.priority), batch=MAX_LRU_BATCH)
        self.try_to_inc_max_seq(ctx, request.lruvec, swappiness)
        return ScanDecision(scan=(0, 0))

    # ------------------------------------------------------------------
    # eviction: evict_folios()
    # ------------------------------------------------------------------
    def get_tier_idx(self, lrugen: Lrugen, lru_type: int) -> int:
        """get_tier_idx(): tiers whose refault rate is higher than tier 0's
        (with gains 2 : 3) are protected; evict the ones below."""
        sp = lrugen.read_ctrl_pos(lru_type, 0, 2)
        for tier in range(1, MAX_NR_TIERS):
            if not positive_ctrl_err(sp, lrugen.read_ctrl_pos(lru_type, tier, 3)):
                return tier - 1
        return MAX_NR_TIERS - 1

    def get_type_to_scan(self, lrugen: Lrugen, swappiness: int) -> int:
        """get_type_to_scan(): file if anon refaults more (by swappiness)."""
        if swappiness <= 1:
            return LRU_FILE
        if swappiness >= MAX_SWAPPINESS:
            return LRU_ANON
        sp = lrugen.read_ctrl_pos(LRU_ANON, MAX_NR_TIERS, swappiness)
        pv = lrugen.read_ctrl_pos(LRU_FILE, MAX_NR_TIERS, MAX_SWAPPINESS - swappiness)
        return LRU_FILE if positive_ctrl_err(sp, pv) else LRU_ANON

    @hookimpl
    def select_victims(self, ctx, request: ScanRequest) -> Victims:
        """isolate_folios(): the type the controller picks first, the other
        if that one has nothing to give; then folio_check_references() on
        what was isolated, with the look-around on young folios."""
        lrugen = self.lruvecs[request.lruvec]
        swappiness = self.get_swappiness(request)
        lru_type = self.get_type_to_scan(lrugen, swappiness)
        isolated, scanned = np.empty(0, np.int64), 0
        nr = ScanCounts()
        for _ in range(2 if swappiness else 1):
            if swappiness == 0:
                lru_type = LRU_FILE
            if lrugen.nr_gens(lru_type) > MIN_NR_GENS:  # else scan_folios() finds nothing
                isolated, scanned = self.scan_folios(ctx, lrugen, lru_type, self.get_tier_idx(lrugen, lru_type),
                                                     request.nr_to_scan, nr)
                if scanned:  # isolated some, or used up its budget sorting
                    break
            lru_type = 1 - lru_type
        # the file cache at the tail of the oldest generation is all dirty:
        # the flushers are behind, wake them (upstream 1bc542c6a0d1, which
        # fixed memcg OOMs with MGLRU and dirty page cache)
        if nr.unqueued_dirty and nr.unqueued_dirty == nr.taken:
            ctx.wakeup_flusher_threads()
        # evict_folios(): an advance counts as scanned; once eviction needs
        # aging, the round ends
        scanned += self.try_to_inc_min_seq(ctx, lrugen, swappiness, isolated)
        if self.evictable_min_seq(lrugen, swappiness) + MIN_NR_GENS > lrugen.max_seq:
            scanned = 0
        victims = self._check_references(ctx, lrugen, isolated, lru_type)
        return Victims(victims, len(isolated), lru_type, nr_used=scanned)

    def scan_folios(self, ctx, lrugen: Lrugen, lru_type: int, tier_idx: int,
                    nr_to_scan: int, nr: ScanCounts | None = None) -> tuple[np.ndarray, int]:
        """scan_folios(): from the tail of the oldest generation, sort what
        must stay and isolate the rest, looking at up to nr_to_scan folios
        (at most MAX_LRU_BATCH) and stopping once MIN_LRU_BATCH are isolated.
        Nothing while only MIN_NR_GENS generations are left (eviction waits
        for aging). Returns the isolated folios and, as the kernel's, how
        many were looked at: 0 when none was isolated and the budget was not
        used up (isolate_folios() then tries the other type). `nr`, as
        sc->nr, counts every folio looked at and the dirty ones kept."""
        if lrugen.nr_gens(lru_type) == MIN_NR_GENS:
            return np.empty(0, np.int64), 0
        lst = self._list(lrugen, lru_type, lrugen.min_seq[lru_type])
        budget = min(nr_to_scan, MAX_LRU_BATCH)
        window = ctx.list_peek(lst, budget)
        if len(window) == 0:
            return window, 0
        sort = self.sort_folio(ctx, lrugen, window, lru_type, tier_idx)
        # the MIN_LRU_BATCH-th isolated folio is the last one looked at
        enough = np.cumsum(sort.isolate) >= MIN_LRU_BATCH
        cut = int(np.argmax(enough)) + 1 if enough.any() else len(window)
        self.apply_sort(ctx, lrugen, window[:cut], lru_type, sort.upto(cut))
        if nr is not None:
            nr.taken += cut
            if lru_type == LRU_FILE:
                unqueued = (sort.flags[:cut] & (PG_dirty | PG_writeback)) == PG_dirty
                nr.unqueued_dirty += int(np.count_nonzero(sort.waiting[:cut] & unqueued))
        ctx.count_event("pgrefill", ctx.folio_lruvec(int(window[0])), int(np.count_nonzero(~sort.isolate[:cut])))
        isolated = window[:cut][sort.isolate[:cut]]
        return isolated, cut if len(isolated) or cut == budget else 0

    def sort_folio(self, ctx, lrugen: Lrugen, folios: np.ndarray, lru_type: int, tier_idx: int) -> Sort:
        """sort_folio()'s verdict on each folio, in the kernel's order:
        1. promoted by aging: move to its generation;
        2. in a tier above tier_idx (or the lazily promoted workingset):
           protected, to min_seq+1;
        3. under writeback, or dirty file: to min_seq+1 with PG_reclaim;
        4. otherwise isolate."""
        flags, data = ctx.folio_flags(folios), ctx.folio_data(folios)
        seq = folio_seq(data)
        promoted = seq != lrugen.min_seq[lru_type]
        refs = folio_lru_refs(flags, data)
        workingset = (flags & PG_workingset) != 0
        tier = lru_tier_from_refs(refs, workingset)
        lazy_workingset = refs + workingset == (1 << LRU_REFS_WIDTH) + 1
        protected = ~promoted & ((tier > tier_idx) | lazy_workingset)
        waiting = (flags & PG_writeback) != 0
        if lru_type == LRU_FILE:
            waiting |= (flags & PG_dirty) != 0
        waiting &= ~promoted & ~protected
        isolate = ~(promoted | protected | waiting)
        return Sort(flags, seq, tier, promoted, protected & ~lazy_workingset, protected, waiting, isolate)

    def apply_sort(self, ctx, lrugen: Lrugen, folios: np.ndarray, lru_type: int, sort: Sort) -> None:
        """Move the folios sort_folio() keeps; prepare the isolated ones
        (isolate_folio(): a stale refs counter and PG_reclaim cleared)."""
        for s, sel in group_by(sort.seq[sort.promoted]):
            ctx.list_add(self._list(lrugen, lru_type, s), folios[sort.promoted][sel])
        lrugen.count(lrugen.protected, lru_type, sort.tier[sort.counted])
        self._protect(ctx, lrugen, folios[sort.protected], lru_type, count=False)
        self._protect(ctx, lrugen, folios[sort.waiting], lru_type, count=False, reclaiming=True)
        stale = folios[sort.isolate & ((sort.flags & PG_referenced) == 0)]
        ctx.folio_set_data(stale, ctx.folio_data(stale) & ~REFS_COUNTER_MAX)
        ctx.folio_clear_flags(folios[sort.isolate], PG_reclaim)

    def _check_references(self, ctx, lrugen: Lrugen, isolated: np.ndarray, lru_type: int) -> np.ndarray:
        """folio_check_references() for MGLRU, with lru_gen_look_around():
        not young: reclaim; young once (no flags): PG_referenced, keep;
        young again: PG_workingset, activate. Kept and activated folios go
        back, never into the oldest generation."""
        if len(isolated) == 0:
            return isolated
        young = ctx.folio_referenced(isolated) > 0
        if young.any():
            self.folio_update_gen(ctx, lrugen, ctx.look_around(isolated[young]), lazy=False)
        rejected = isolated[young]
        flags = ctx.folio_flags(rejected)
        first_time = (flags & (PG_referenced | PG_workingset)) == 0
        ctx.folio_set_flags(rejected[first_time], PG_referenced)
        activate = rejected[~first_time]
        ctx.folio_clear_flags(activate, PG_referenced)
        ctx.folio_set_flags(activate, PG_workingset | PG_active)
        ctx.folio_set_data(rejected, ctx.folio_data(rejected) & ~REFS_COUNTER_MAX)
        if len(activate):
            ctx.count_event("pgactivate", ctx.folio_lruvec(int(activate[0])), len(activate))
        self._putback(ctx, lrugen, rejected, lru_type)
        return isolated[~young]

    def _putback(self, ctx, lrugen: Lrugen, folios: np.ndarray, lru_type: int) -> None:
        """evict_folios()' putback: a folio that would land in the oldest
        generation gets PG_active instead (max_seq - 1)."""
        if len(folios) == 0:
            return
        flags = ctx.folio_flags(folios)
        seqs = self.lru_gen_folio_seq(lrugen, flags, lru_type, reclaiming=False)
        oldest = seqs == lrugen.min_seq[lru_type]
        if oldest.any():
            again = folios[oldest]
            ctx.folio_set_data(again, ctx.folio_data(again) & ~REFS_COUNTER_MAX)
            flags[oldest] = (flags[oldest] & np.uint16(~PG_referenced & 0xFFFF)) | np.uint16(PG_active)
            seqs[oldest] = self.lru_gen_folio_seq(lrugen, flags[oldest], lru_type, reclaiming=False)
            ctx.folio_clear_flags(again, PG_referenced)
        ctx.folio_clear_flags(folios[(flags & PG_active) != 0], PG_active)
        self._place(ctx, lrugen, folios, seqs, lru_type)

    @hookimpl
    def folio_putback(self, ctx, folios: np.ndarray, reasons: np.ndarray, request: ScanRequest | None) -> None:
        """Victims the core kept (activate_locked sets PG_active; writeback
        started), and folios whose writeback ended: lru_move_tail() puts
        them at the tail of the oldest generation, to be reclaimed next."""
        for reason, sel in group_by(reasons):
            back = folios[sel]
            if reason == PutbackReason.ROTATE:
                ctx.list_del(back)
                ctx.folio_clear_flags(back, PG_active)
                self._add(ctx, back, reclaiming=True)
                for lruvec, same in group_by(ctx.folio_lruvec(back)):
                    ctx.count_event("pgrotated", lruvec, len(back[same]))
                continue
            if reason == PutbackReason.ACTIVATE:
                ctx.folio_set_flags(back, PG_active)
                ctx.count_event("pgactivate", request.lruvec, len(back))
            for lru_type, same in group_by(ctx.folio_type(back)):
                self._putback(ctx, self.lruvecs[request.lruvec], back[same], lru_type)

    # ------------------------------------------------------------------
    # shadows and refaults
    # ------------------------------------------------------------------
    @hookimpl
    def folio_evicted(self, ctx, folios: np.ndarray) -> np.ndarray:
        """lru_gen_eviction(): the token is (min_seq << LRU_REFS_WIDTH) |
        (refs - 1); the folio's tier is counted as evicted."""
        tokens = np.zeros(len(folios), np.int64)
        key = ctx.folio_lruvec(folios).astype(np.int64) * 2 + ctx.folio_type(folios)
        for k, sel in group_by(key):
            lrugen, lru_type, batch = self.lruvecs[k // 2], k % 2, folios[sel]
            flags, data = ctx.folio_flags(batch), ctx.folio_data(batch)
            refs = folio_lru_refs(flags, data)
            tiers = lru_tier_from_refs(refs, (flags & PG_workingset) != 0)
            lrugen.count(lrugen.evicted, lru_type, tiers)
            tokens[sel] = (lrugen.min_seq[lru_type] << LRU_REFS_WIDTH) | np.maximum(refs - 1, 0)
            self._uncount(ctx, lrugen, batch, lru_type)
        return tokens

    @hookimpl
    def folio_removed(self, ctx, folios: np.ndarray) -> None:
        """Folios unmapped for good (a process exited) leave their
        generations' counts."""
        key = ctx.folio_lruvec(folios).astype(np.int64) * 2 + ctx.folio_type(folios)
        for k, sel in group_by(key):
            self._uncount(ctx, self.lruvecs[k // 2], folios[sel], k % 2)

    @hookimpl
    def on_refault(self, ctx, folios: np.ndarray, refault) -> np.ndarray:
        """lru_gen_refault(): recent if the token's generation is within
        MAX_NR_GENS of max_seq; then the tier counts a refault; a folio that
        was in the workingset gets PG_workingset back (WORKINGSET_RESTORE,
        and WORKINGSET_ACTIVATE for any recent refault inside a fault),
        the others their refs counter without PG_referenced (as in the
        kernel, where the next access restarts the counter, so it shows only
        if the folio is evicted untouched)."""
        advice = np.zeros(len(folios), np.int64)
        in_fault = ctx.folio_mapcount(folios) > 0
        token_seq = refault.shadow >> LRU_REFS_WIDTH
        refs = (refault.shadow & REFS_COUNTER_MAX) + 1
        key = ctx.folio_lruvec(folios).astype(np.int64) * 2 + ctx.folio_type(folios)
        for k, sel in group_by(key):
            lrugen, lru_type = self.lruvecs[k // 2], k % 2
            idx = np.flatnonzero(sel) if not isinstance(sel, slice) else np.arange(len(folios))
            recent = idx[np.abs(lrugen.max_seq - token_seq[idx]) < MAX_NR_GENS]
            workingset = refault.workingset[recent]
            tiers = lru_tier_from_refs(refs[recent], workingset)
            lrugen.count(lrugen.refaulted, lru_type, tiers)
            restored = recent[workingset]
            advice[restored] |= REFAULT_WORKINGSET
            advice[recent[in_fault[recent]]] |= REFAULT_ACTIVATE
            counted_again = folios[recent[~workingset]]
            ctx.folio_set_data(counted_again, refs[recent[~workingset]] - 1)
        return advice

    # ------------------------------------------------------------------
    # kswapd: min_ttl, and the lru_gen view
    # ------------------------------------------------------------------
    @hookimpl
    def age_node(self, ctx, request: ScanRequest) -> bool:
        """lru_gen_age_node(): with min_ttl_ms set, if no lruvec of the node
        has an evictable oldest generation older than it (and big enough to
        scan at this priority), OOM-kill rather than thrash."""
        min_ttl_ns = ctx.sysctl("lru_gen.min_ttl_ms") * 1_000_000
        if not min_ttl_ns:
            return False
        swappiness = self.get_swappiness(request)
        for lruvec in ctx.lruvecs:
            if ctx.lruvec_node(lruvec) != request.node:
                continue
            lrugen = self.lruvecs[lruvec]
            sizable = self._evictable_size(ctx, lrugen, swappiness) >> request.priority
            birth = lrugen.timestamps[self.evictable_min_seq(lrugen, swappiness) % MAX_NR_GENS]
            if sizable and ctx.now() - birth > min_ttl_ns:
                return False
        return True

    @hookimpl
    def policy_state(self, ctx) -> dict[str, str]:
        """/sys/kernel/debug/lru_gen, as lru_gen_seq_show() prints it: each
        memcg it serves (the root's id is 1, the others follow) with its
        path, then per node each generation from the older min_seq on:
        sequence number, age in ms, and anon and file pages."""
        lines, previous = [], None
        for lruvec, lrugen in self.lruvecs.items():  # memcg by memcg, node by node: lruvec ids are in that order
            memcg = ctx.lruvec_memcg(lruvec)
            if memcg != previous:
                lines.append(f"memcg {ROOT_MEMCG_ID + memcg:5d} /{ctx.memcg_path(memcg)}")
                previous = memcg
            lines.append(f" node {ctx.lruvec_node(lruvec):5d}")
            for seq in range(min(lrugen.min_seq), lrugen.max_seq + 1):
                age_ms = (ctx.now() - lrugen.timestamps[seq % MAX_NR_GENS]) // 1_000_000
                sizes = "".join(f" {lrugen.nr_pages[t][seq % MAX_NR_GENS]:10d} " for t in (LRU_ANON, LRU_FILE))
                lines.append(f" {seq:10d} {age_ms:10d}{sizes}")
        return {"lru_gen": "\n".join(lines) + "\n"}
