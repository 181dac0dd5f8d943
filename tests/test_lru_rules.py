"""The classic LRU (simulator/lru.py), rule by rule, against the kernel.

Each test builds a tiny machine (tests/helpers.py: one node, a handful of
folios made resident through the fault path), sets the state the rule looks
at (accessed bits, PG_* flags, list positions, costs) and calls the hook that
stands for the kernel function named in the test, then checks the kernel's
decision: which list, head or tail, which flags, which vmstat counters.

Kernel references: mm/swap.c (lru_add, folio_mark_accessed, lru_note_cost,
lru_move_tail), mm/vmscan.c (folio_check_references, shrink_folio_list,
shrink_active_list, inactive_is_low, prepare_scan_control, get_scan_count),
mm/workingset.c (workingset_refault, workingset_test_recent), about v6.15;
/work/shared/reference/kernel-reclaim.md sections 1 and 2.

The last tests run small machines end to end (Machine.run, invariants on).
"""

from __future__ import annotations

import numpy as np
import pytest
from helpers import ANON, DATA, LOG, SHARED, TEXT, run_machine, stream_config, tiny_machine

from hooks.types import (
    LRU_ANON,
    LRU_FILE,
    PG_dirty,
    PG_reclaim,
    PG_workingset,
    PG_writeback,
    PutbackReason,
    ReclaimReason,
    ReclaimStat,
)
from simulator.config import PAGE_SHIFT, RunConfig
from simulator.lru import PG_active, PG_referenced, SWAP_CLUSTER_MAX, inactive_is_low

ANON_AND_FILE = pytest.mark.parametrize("region, lru_type", [(ANON, LRU_ANON), (DATA, LRU_FILE)], ids=["anon", "file"])
GB = 1 << (30 - PAGE_SHIFT)  # pages in a GiB


def ids(*arrays) -> np.ndarray:
    return np.concatenate([np.atleast_1d(a) for a in arrays]).astype(np.int64)


# ===========================================================================
# 1. lru_add(): where a folio enters
# ===========================================================================


def test_lru_add_new_anon_and_file_folios_go_to_inactive_head():
    """folio_add_lru -> lru_add: new folios, anon (since v5.9) and file, go
    to the head of their inactive list."""
    t = tiny_machine()
    anon = t.fault(ANON, [0, 1, 2])
    mapped = t.fault(DATA, [0, 1])
    read = t.fault(LOG, [0])

    for f in anon:
        assert t.on(f, LRU_ANON, active=False) and not t.has(f, PG_active)
    for f in ids(mapped, read):
        assert t.on(f, LRU_FILE, active=False) and not t.has(f, PG_active)
    # at the head, the newest first
    assert t.head(LRU_ANON, False, 3) == anon[::-1].tolist()
    assert t.head(LRU_FILE, False, 3) == [read[0], mapped[1], mapped[0]]
    assert t.length(LRU_ANON, True) == t.length(LRU_FILE, True) == 0
    assert t.vmstat()["pgactivate"] == 0


def test_lru_add_refault_marked_active_by_workingset_refault_goes_to_active_list():
    """filemap_add_folio: workingset_refault() sets PG_active on a recent
    refault before folio_add_lru, so lru_add puts it on the ACTIVE head;
    that is WORKINGSET_ACTIVATE, not PGACTIVATE."""
    t = tiny_machine()
    t.fault(ANON, range(8))  # with swap, inactive anon counts in a file refault's workingset
    active_before = t.fault(DATA, [5])
    t.make_active(active_before)
    f = t.fault(DATA, [0])[0]
    t.evict(f)

    t.fault(DATA, [0])

    assert t.on(f, LRU_FILE, active=True) and t.has(f, PG_active)
    assert t.head(LRU_FILE, True, 1) == [f]
    st = t.vmstat()
    assert st["workingset_refault_file"] == 1
    assert st["workingset_activate_file"] == 1
    assert st["pgactivate"] == 0


# ===========================================================================
# 2. folio_mark_accessed(): read()/write() accesses (the folio_accessed hook)
# ===========================================================================


def test_folio_mark_accessed_two_steps():
    """inactive,unref -> inactive,ref -> active,unref (folio_activate:
    PGACTIVATE; workingset_activation ages nonresident_age) -> active,ref."""
    t = tiny_machine()
    f, older = t.fault(LOG, [0, 1])

    def access():
        t.m.policy.folio_accessed(t.ctx, np.array([f], np.int64))

    def state():
        return t.on(f, LRU_FILE, True), t.has(f, PG_active), t.has(f, PG_referenced)

    age = t.nonresident_age
    assert state() == (False, False, False)

    access()  # !PG_referenced: set it
    assert state() == (False, False, True)
    assert t.vmstat()["pgactivate"] == 0 and t.nonresident_age == age

    access()  # PG_referenced, !PG_active: folio_activate, clear PG_referenced
    assert state() == (True, True, False)
    assert t.head(LRU_FILE, True, 1) == [f]
    assert t.vmstat()["pgactivate"] == 1
    assert t.nonresident_age == age + 1  # workingset_activation

    access()  # active: only PG_referenced
    assert state() == (True, True, True)

    access()  # active,referenced is the last state
    assert state() == (True, True, True)
    assert t.vmstat()["pgactivate"] == 1 and t.nonresident_age == age + 1
    assert t.on(older, LRU_FILE, False) and not t.has(older, PG_referenced)


def test_folio_mark_accessed_twice_in_one_batch_activates():
    """The accesses of a batch apply one after another: two accesses of an
    unreferenced inactive folio activate it, three leave it active,ref."""
    t = tiny_machine()
    once, twice, thrice = t.fault(LOG, [0, 1, 2])
    age = t.nonresident_age

    t.m.policy.folio_accessed(t.ctx, ids(twice, once, thrice, twice, thrice, thrice))

    assert t.on(once, LRU_FILE, False) and t.has(once, PG_referenced) and not t.has(once, PG_active)
    assert t.on(twice, LRU_FILE, True) and t.has(twice, PG_active) and not t.has(twice, PG_referenced)
    assert t.on(thrice, LRU_FILE, True) and t.has(thrice, PG_active) and t.has(thrice, PG_referenced)
    assert t.vmstat()["pgactivate"] == 2
    assert t.nonresident_age == age + 2


# ===========================================================================
# 3. folio_check_references(): the inactive list's second chance
# ===========================================================================


@ANON_AND_FILE
def test_folio_check_references_mapped_young_once_keeps_then_activates(region, lru_type):
    """ptes == 1 and no PG_referenced: KEEP (inactive head, PG_referenced
    set: one more trip). Young again at the next scan: ref -> ACTIVATE."""
    t = tiny_machine()
    f, newer = t.fault(region, [0, 1])
    t.young(f, 1)
    t.young(newer, 0)

    v = t.select_victims(lru_type, 1)  # isolates f, the tail

    assert v.folios.tolist() == [] and v.nr_scanned == 1
    assert t.head(lru_type, False, 2) == [f, newer]  # rotated to the inactive head
    assert t.has(f, PG_referenced) and not t.has(f, PG_active)
    assert t.m.folios.young[f] == 0  # the rmap walk cleared the accessed bit
    assert t.vmstat()["pgactivate"] == 0

    t.young(f, 1)  # used again before the next scan reaches it
    v = t.select_victims(lru_type, 2)  # newer (the tail now), then f

    assert v.folios.tolist() == [newer] and v.nr_scanned == 2  # not young, unreferenced: RECLAIM
    assert t.on(f, lru_type, active=True) and t.head(lru_type, True, 1) == [f]
    assert t.has(f, PG_active) and t.has(f, PG_referenced)
    assert t.vmstat()["pgactivate"] == 1


def test_folio_check_references_mapped_twice_activates():
    """Young PTEs in two mappings (referenced_ptes == 2 > 1) activate at the
    first scan; one young PTE of the two mappings only keeps."""
    t = tiny_machine()
    both, one = t.fault(SHARED, [0, 1])
    assert t.ctx.folio_mapcount(both) == 2 and t.ctx.folio_mapcount(one) == 2
    t.young(both, 0b11)  # app's and peer's PTEs are young
    t.young(one, 0b10)  # only peer's

    v = t.select_victims(LRU_FILE, 2)

    assert v.folios.tolist() == []
    assert t.on(both, LRU_FILE, True) and t.has(both, PG_active)
    assert t.on(one, LRU_FILE, False) and t.has(one, PG_referenced) and not t.has(one, PG_active)
    assert t.vmstat()["pgactivate"] == 1


def test_folio_check_references_vm_exec_file_young_once_activates():
    """A young PTE of a VM_EXEC file mapping activates at once; the same
    single use of a data mapping only keeps."""
    t = tiny_machine()
    text = t.fault(TEXT, [0])[0]
    data = t.fault(DATA, [0])[0]
    t.young([text, data], 1)

    v = t.select_victims(LRU_FILE, 2)

    assert v.folios.tolist() == []
    assert t.on(text, LRU_FILE, True) and t.has(text, PG_active)
    assert t.on(data, LRU_FILE, False) and t.has(data, PG_referenced)
    assert t.vmstat()["pgactivate"] == 1


@ANON_AND_FILE
def test_folio_check_references_not_young_not_referenced_reclaims(region, lru_type):
    """ptes == 0 and no PG_referenced: RECLAIM, the folio is a victim."""
    t = tiny_machine()
    f, g = t.fault(region, [0, 1])
    t.young([f, g], 0)

    v = t.select_victims(lru_type, 2)

    assert v.folios.tolist() == [f, g] and v.nr_scanned == 2
    assert not t.has(f, PG_referenced) and not t.has(f, PG_active)
    assert t.vmstat()["pgactivate"] == 0


def test_folio_check_references_referenced_unmapped_file_reclaim_clean():
    """ptes == 0 with PG_referenced on a file folio (used once through
    read()): FOLIOREF_RECLAIM_CLEAN. A clean one is freed; a dirty one is
    not written for it: under kswapd, where an unreferenced dirty folio
    with PG_reclaim on a PGDAT_DIRTY node is written (pageout), the
    referenced one goes back to the inactive head (keep_locked)."""
    t = tiny_machine()
    clean, ref_dirty, unref_dirty = t.fault(LOG, [0, 1, 2])
    t.m.policy.folio_accessed(t.ctx, ids(clean, ref_dirty))  # PG_referenced
    t.m._mark_dirty(ids(ref_dirty, unref_dirty))
    # both dirty folios were seen by reclaim once already, and kswapd found
    # the node full of dirty folios the flushers have not reached
    t.m.folios.flags[[ref_dirty, unref_dirty]] |= np.uint16(PG_reclaim)
    t.m.nodes[0].dirty = True

    reclaimed = t.shrink_inactive_list(LRU_FILE, 3, reason=ReclaimReason.KSWAPD)

    assert reclaimed == 1 and t.m.folios.node[clean] < 0  # clean: freed
    assert t.has(unref_dirty, PG_writeback)  # RECLAIM: kswapd writes it
    assert not t.has(ref_dirty, PG_writeback) and t.has(ref_dirty, PG_dirty)  # RECLAIM_CLEAN: not written
    assert t.on(ref_dirty, LRU_FILE, False) and not t.has(ref_dirty, PG_active)
    assert not t.has(ref_dirty, PG_referenced)  # folio_test_clear_referenced
    st = t.vmstat()
    assert st["nr_vmscan_write"] == 1 and st["pgpgout"] == 4  # KiB, as /proc/vmstat counts it
    assert st["pgsteal_file"] == 1 and st["pgscan_file"] == 3


def test_shrink_folio_list_dirty_file_folio_activated_with_pg_reclaim():
    """Direct reclaim never writes a dirty file folio: whether the verdict
    was RECLAIM or RECLAIM_CLEAN, it gets PG_reclaim and is activated
    (NR_VMSCAN_IMMEDIATE), to be rotated back when the flushers wrote it."""
    t = tiny_machine()
    clean, ref_dirty, unref_dirty = t.fault(LOG, [0, 1, 2])
    t.m.policy.folio_accessed(t.ctx, ids(clean, ref_dirty))
    t.m._mark_dirty(ids(ref_dirty, unref_dirty))

    reclaimed = t.shrink_inactive_list(LRU_FILE, 3, reason=ReclaimReason.DIRECT)

    assert reclaimed == 1 and t.m.folios.node[clean] < 0
    for f in (ref_dirty, unref_dirty):
        assert t.on(f, LRU_FILE, True) and t.has(f, PG_active)
        assert t.has(f, PG_reclaim) and t.has(f, PG_dirty) and not t.has(f, PG_writeback)
    st = t.vmstat()
    assert st["nr_vmscan_immediate_reclaim"] == 2
    assert st["pgactivate"] == 2
    assert st["nr_vmscan_write"] == 0 and st["pgpgout"] == 0


def test_shrink_folio_list_writeback_folio_returned_without_checking_references():
    """shrink_folio_list handles folio_test_writeback before
    folio_check_references: the policy hands it over without an rmap walk
    (its accessed bit and PG_referenced stay), the core activates it with
    PG_reclaim."""
    t = tiny_machine()
    wb, checked = t.fault(DATA, [0, 1])
    t.young([wb, checked], 1)
    t.m.folios.flags[wb] |= np.uint16(PG_writeback | PG_referenced)

    v = t.select_victims(LRU_FILE, 2)

    assert v.folios.tolist() == [wb] and v.nr_scanned == 2  # despite young and referenced
    assert t.m.folios.young[wb] == 1 and t.has(wb, PG_referenced)  # references not checked
    assert t.m.folios.young[checked] == 0 and t.has(checked, PG_referenced)  # KEEP

    t.shrink_inactive_list(LRU_FILE, 1)  # through the core: wb is the tail again
    assert t.on(wb, LRU_FILE, True) and t.has(wb, PG_reclaim) and t.has(wb, PG_active)


# ===========================================================================
# 4. shrink_active_list(): deactivation
# ===========================================================================


def test_shrink_active_list_deactivates_referenced_and_unreferenced_anon():
    """Anon is deactivated whether referenced or not: PG_active cleared,
    PG_workingset set, to the inactive list; PGDEACTIVATE; no rotation."""
    t = tiny_machine()
    t.fault(ANON, range(2, 40))  # inactive ballast: the LRU is not tiny
    ref, unref = t.fault(ANON, [0, 1])
    t.make_active([ref, unref])
    t.young(ref, 1)
    t.young(unref, 0)
    age = t.nonresident_age

    nr = t.lru.shrink_active_list(t.ctx, t.lruvec, LRU_ANON, SWAP_CLUSTER_MAX)

    assert nr == 2
    for f in (ref, unref):
        assert t.on(f, LRU_ANON, False) and not t.has(f, PG_active) and t.has(f, PG_workingset)
    assert set(t.head(LRU_ANON, False, 2)) == {ref, unref}
    assert t.m.folios.young[ref] == 0  # folio_referenced cleared the accessed bit
    assert t.vmstat()["pgdeactivate"] == 2
    assert t.state.anon_cost == 0 and t.nonresident_age == age


def test_shrink_active_list_keeps_referenced_exec_file_active():
    """Referenced VM_EXEC file text gets one more trip around the active
    list (nr_rotated: lru_note_cost(file, 0, nr_rotated), and the putback of
    an active folio ages nonresident_age); unreferenced text and referenced
    non-exec file are deactivated with PG_workingset."""
    t = tiny_machine()
    t.fault(ANON, range(40))  # ballast: lru size / 4 above the costs noted
    text_ref, text_unref = t.fault(TEXT, [0, 1])
    data_ref = t.fault(DATA, [0])[0]
    t.make_active([text_ref, text_unref, data_ref])
    t.young([text_ref, data_ref], 1)
    t.young(text_unref, 0)
    age = t.nonresident_age

    nr = t.lru.shrink_active_list(t.ctx, t.lruvec, LRU_FILE, SWAP_CLUSTER_MAX)

    assert nr == 3
    assert t.on(text_ref, LRU_FILE, True) and t.has(text_ref, PG_active)
    assert t.head(LRU_FILE, True, 1) == [text_ref] and not t.has(text_ref, PG_workingset)
    for f in (text_unref, data_ref):
        assert t.on(f, LRU_FILE, False) and not t.has(f, PG_active) and t.has(f, PG_workingset)
    assert t.vmstat()["pgdeactivate"] == 2
    assert t.state.file_cost == 1 and t.state.anon_cost == 0
    assert t.nonresident_age == age + 1


# ===========================================================================
# 5. inactive_is_low()
# ===========================================================================


@pytest.mark.parametrize(
    "inactive, active, low",
    [
        # below 1 GiB: ratio 1, low iff inactive < active
        (131071, 131072, True),
        (131072, 131071, False),
        (10, 11, True),
        (0, 0, False),
        # 1 GiB: ratio int_sqrt(10) = 3, low iff 3 * inactive < active
        (65535, GB - 65535, True),  # 196605 < 196609
        (65536, GB - 65536, False),  # 196608 == 196608
        # 10 GiB: ratio int_sqrt(100) = 10
        (238312, 10 * GB - 238312, True),  # 2383120 < 2383128
        (238313, 10 * GB - 238313, False),  # 2383130 > 2383127
        # 4 GiB: ratio int_sqrt(40) = 6
        (149796, 4 * GB - 149796, True),  # 898776 < 898780
        (149797, 4 * GB - 149797, False),
    ],
)
def test_inactive_is_low_int_sqrt_ratio(inactive, active, low):
    """gb = (inactive + active) >> (30 - PAGE_SHIFT);
    ratio = gb ? int_sqrt(10 * gb) : 1; low <=> inactive * ratio < active."""
    assert inactive_is_low(inactive, active) is low


# ===========================================================================
# 6. prepare_scan_control() and get_scan_count()
# ===========================================================================


def decide(t, priority, reason=ReclaimReason.KSWAPD):
    return t.m.policy.should_reclaim(t.ctx, t.request(priority=priority, reason=reason))


@pytest.mark.parametrize("priority", [0, 2])
def test_get_scan_count_without_swap_scans_only_file(priority):
    """!can_reclaim_anon_pages (no swap): SCAN_FILE, before everything else
    (even prio 0's SCAN_EQUAL): neither anon list is scanned."""
    t = tiny_machine(swap_pages=0)
    anon = t.fault(ANON, range(48))
    t.make_active(anon[:16])
    t.fault(DATA, range(32))

    d = decide(t, priority)

    assert d.scan == (0, 32 >> priority)
    assert d.age[LRU_ANON] == 0


def test_get_scan_count_priority_zero_scans_equal():
    """prio 0 with swappiness > 0: SCAN_EQUAL, every list in full, even
    where cache_trim_mode would have spared anon and whatever the costs."""
    t = tiny_machine()
    anon = t.fault(ANON, range(40))
    t.make_active(anon[:8])
    data = t.fault(DATA, range(24))
    t.make_active(data[:4])
    t.state.anon_cost, t.state.file_cost = 1000, 0

    d = decide(t, 0)

    assert d.scan == (32, 20) and d.age == (8, 4)


def test_get_scan_count_priority_zero_swappiness_zero_is_not_equal():
    """SCAN_EQUAL needs swappiness > 0: with swappiness 0 at prio 0, global
    reclaim falls through (here to cache_trim_mode) and spares anon."""
    t = tiny_machine(swappiness=0)
    t.fault(ANON, range(40))
    t.fault(DATA, range(24))

    d = decide(t, 0)

    assert d.scan == (0, 24)


def test_get_scan_count_file_is_tiny_scans_only_anon():
    """file_is_tiny (global reclaim): file + free <= high watermark, anon not
    being deactivated, inactive_anon >> prio: SCAN_ANON, checked before
    cache_trim_mode. A refaulting anon workingset turns it off."""
    t = tiny_machine(anon_pages=450)
    t.fault(ANON, range(450))
    t.fault(DATA, range(4))
    sc = t.request(priority=2)
    assert sc.free_pages + 4 <= sc.high_wmark  # the file LRU is tiny

    d = t.m.policy.should_reclaim(t.ctx, sc)
    assert d.scan == (450 >> 2, 0) and d.age == (0, 0)
    # no deactivation allowed and inactive_file >> 2 == 1: cache_trim_mode
    # held as well, and lost to file_is_tiny
    assert t.state.may_deactivate == [False, False]

    # WORKINGSET_ACTIVATE_ANON since the last snapshot: may_deactivate anon
    t.m.vmscan.workingset_activate[t.lruvec, LRU_ANON] += 1
    d = decide(t, 2)
    assert d.scan == (0, 4 >> 2)  # not tiny any more: cache_trim_mode


def test_get_scan_count_cache_trim_mode_scans_only_file():
    """cache_trim_mode: inactive_file >> prio and no file deactivation
    allowed -> SCAN_FILE even when the costs favour anon. A file refault
    activation (may_deactivate file) ends it: SCAN_FRACT."""
    t = tiny_machine()
    t.fault(ANON, range(64))
    t.fault(DATA, range(64))
    t.state.anon_cost, t.state.file_cost = 0, 100

    d = decide(t, 4)
    assert d.scan == (0, 64 >> 4)

    t.m.vmscan.workingset_activate[t.lruvec, LRU_FILE] += 1
    d = decide(t, 4)
    assert d.scan[LRU_ANON] > 0


@pytest.mark.parametrize(
    "swappiness, anon_cost, file_cost, ap, fp, scan, age",
    [
        # T = 40, A = 50, F = 70, T' = 120: ap = 60*121/51, fp = 140*121/71
        (60, 10, 30, 142, 238, (32 * 142 // 380, 32 * 238 // 380), (8 * 142 // 380, 16 * 238 // 380)),
        # no costs: ap = 100*1/1, fp = 100*1/1, half each
        (100, 0, 0, 100, 100, (16, 16), (4, 8)),
        # swappiness 200: fp = 0, only anon
        (200, 10, 30, 474, 0, (32, 0), (8, 0)),
    ],
)
def test_get_scan_count_fract_arithmetic(swappiness, anon_cost, file_cost, ap, fp, scan, age):
    """SCAN_FRACT: T = ac + fc; A = T + ac; F = T + fc; T' = A + F;
    ap = sw*(T'+1)/(A+1); fp = (200-sw)*(T'+1)/(F+1);
    nr[lru] = (size >> prio) * fraction[type] / (ap + fp)."""
    total = anon_cost + file_cost
    a, f = total + anon_cost, total + file_cost
    assert swappiness * (a + f + 1) // (a + 1) == ap
    assert (200 - swappiness) * (a + f + 1) // (f + 1) == fp

    t = tiny_machine(swappiness=swappiness, anon_pages=80, file_pages=96)
    anon = t.fault(ANON, range(80))
    t.make_active(anon[:16])
    data = t.fault(DATA, range(96))
    t.make_active(data[:32])
    t.state.anon_cost, t.state.file_cost = anon_cost, file_cost
    # a file refault since the last snapshot: no cache_trim_mode
    t.m.vmscan.workingset_activate[t.lruvec, LRU_FILE] += 1

    d = decide(t, 1)

    assert d.scan == scan and d.age == age
    assert d.scan == ((64 >> 1) * ap // (ap + fp), (64 >> 1) * fp // (ap + fp))


def test_prepare_scan_control_may_deactivate_from_refaults_since_snapshot():
    """may_deactivate: a type's active list is aged (shrink_active_list)
    only if WORKINGSET_ACTIVATE of that type moved since snapshot_refaults()
    or its inactive list is low; otherwise shrink_list skips it."""
    t = tiny_machine()
    anon = t.fault(ANON, range(32))
    t.make_active(anon[:28])  # inactive anon 4 < active 28: low
    data = t.fault(DATA, range(32))
    t.make_active(data[:8])  # inactive file 24 >= active 8: not low

    def age_file():
        sc = t.request(LRU_FILE, SWAP_CLUSTER_MAX)
        t.m.policy.should_reclaim(t.ctx, sc)
        sc.lru_type, sc.nr_to_scan = LRU_FILE, SWAP_CLUSTER_MAX
        return sc, t.m.policy.age(t.ctx, sc)

    sc, nr = age_file()
    assert sc.refaults_since_snapshot == (0, 0)
    assert t.state.may_deactivate == [True, False]  # anon by inactive_is_low only
    assert nr == 0 and t.length(LRU_FILE, True) == 8 and t.vmstat()["pgdeactivate"] == 0

    # a recent file refault: WORKINGSET_ACTIVATE_FILE moves
    f = data[-1]  # inactive, the newest
    t.evict(f)
    t.fault(DATA, [31])
    assert t.on(f, LRU_FILE, True) and t.vmstat()["workingset_activate_file"] == 1
    assert not inactive_is_low(t.length(LRU_FILE, False), t.length(LRU_FILE, True))

    sc, nr = age_file()
    assert sc.refaults_since_snapshot == (0, 1)
    assert t.state.may_deactivate == [True, True]
    assert nr == 9 and t.length(LRU_FILE, True) == 0 and t.vmstat()["pgdeactivate"] == 9

    # end of the reclaim run: snapshot_refaults()
    t.m.vmscan.snapshot_refaults(0)
    sc, nr = age_file()
    assert sc.refaults_since_snapshot == (0, 0) and t.state.may_deactivate[LRU_FILE] is False


# ===========================================================================
# 7. lru_note_cost()
# ===========================================================================


def test_lru_note_cost_io_weighs_swap_cluster_max_to_the_right_type():
    """shrink_inactive_list: lru_note_cost(file, nr_pageout, nr_scanned -
    nr_reclaimed); cost = nr_io * SWAP_CLUSTER_MAX + nr_rotated, to the
    batch's type only."""
    t = tiny_machine(anon_pages=320)
    t.fault(ANON, range(320))  # lru size 320: decay above 80
    none = np.empty(0, np.int64)

    sc = t.request(LRU_ANON)
    sc.stat = ReclaimStat(nr_taken=10, nr_reclaimed=4, nr_pageout=2)
    t.m.policy.folio_putback(t.ctx, none, none.astype(np.int8), sc)
    assert (t.state.anon_cost, t.state.file_cost) == (2 * 32 + 6, 0)

    sc = t.request(LRU_FILE)
    sc.stat = ReclaimStat(nr_taken=5, nr_reclaimed=0, nr_pageout=0)
    t.m.policy.folio_putback(t.ctx, none, none.astype(np.int8), sc)
    assert (t.state.anon_cost, t.state.file_cost) == (70, 5)  # 75 <= 320 / 4: no decay


def test_lru_note_cost_halves_both_when_over_a_quarter_of_the_lru():
    """if (anon_cost + file_cost > lrusize / 4) both are halved."""
    t = tiny_machine(anon_pages=320)
    t.fault(ANON, range(320))
    t.state.anon_cost, t.state.file_cost = 70, 5
    none = np.empty(0, np.int64)

    sc = t.request(LRU_FILE)
    sc.stat = ReclaimStat(nr_taken=6, nr_reclaimed=0, nr_pageout=0)
    t.m.policy.folio_putback(t.ctx, none, none.astype(np.int8), sc)

    assert (t.state.anon_cost, t.state.file_cost) == (70 // 2, 11 // 2)  # 81 > 80


# ===========================================================================
# 8. workingset_refault()
# ===========================================================================


@pytest.mark.parametrize("beyond, recent", [(0, True), (1, False)], ids=["distance==workingset", "distance>workingset"])
def test_workingset_refault_activates_only_within_workingset_size(beyond, recent):
    """workingset_test_recent: a file refault is recent iff distance <=
    NR_ACTIVE_FILE (+ NR_ACTIVE_ANON + NR_INACTIVE_ANON with swap). Recent:
    PG_active, WORKINGSET_ACTIVATE; and a PG_workingset shadow restores
    (WORKINGSET_RESTORE). Not recent: neither, only WORKINGSET_REFAULT."""
    t = tiny_machine()
    t.fault(ANON, range(8))
    active = t.fault(DATA, range(8, 12))
    t.make_active(active)
    f = t.fault(DATA, [0])[0]
    t.m.folios.flags[f] |= np.uint16(PG_workingset)  # it was active before eviction
    t.evict(f)
    eviction = int(t.m.workingset.shadow_age[f])
    workingset = 4 + 0 + 8  # active file + active anon + inactive anon
    t.ctx.workingset_age_nonresident(t.lruvec, eviction + workingset + beyond - t.nonresident_age)
    assert t.nonresident_age - eviction == workingset + beyond  # the refault distance

    t.fault(DATA, [0])

    assert t.on(f, LRU_FILE, True) is recent and t.has(f, PG_active) is recent
    assert t.has(f, PG_workingset) is recent
    st = t.vmstat()
    assert st["workingset_refault_file"] == 1
    assert st["workingset_activate_file"] == int(recent)
    assert st["workingset_restore_file"] == int(recent)


@ANON_AND_FILE
def test_workingset_refault_restore_notes_cost(region, lru_type):
    """A recent refault of a folio evicted with PG_workingset sets
    PG_workingset again (WORKINGSET_RESTORE) and charges its type one I/O:
    lru_note_cost_refault -> lru_note_cost(type, nr_pages, 0)."""
    t = tiny_machine(anon_pages=160)
    t.fault(ANON, range(1, 160))  # lru size ~ 200: no decay for a cost of 32
    t.fault(DATA, range(1, 41))
    f = t.fault(region, [0])[0]
    t.m.folios.flags[f] |= np.uint16(PG_workingset)
    t.evict(f)
    t.state.anon_cost = t.state.file_cost = 0

    t.fault(region, [0])

    assert t.has(f, PG_workingset) and t.on(f, lru_type, True)
    name = "anon" if lru_type == LRU_ANON else "file"
    st = t.vmstat()
    assert st[f"workingset_restore_{name}"] == 1 and st[f"workingset_activate_{name}"] == 1
    costs = {LRU_ANON: t.state.anon_cost, LRU_FILE: t.state.file_cost}
    assert costs[lru_type] == 1 * SWAP_CLUSTER_MAX and costs[1 - lru_type] == 0


# ===========================================================================
# 9. move_folios_to_lru() and folio_rotate_reclaimable(): folio_putback
# ===========================================================================


def test_folio_putback_activate_goes_to_active_head():
    """activate_locked: PG_active, the active head, PGACTIVATE; the putback
    of an active folio ages nonresident_age (move_folios_to_lru)."""
    t = tiny_machine()
    f, g = t.fault(ANON, [0, 1])
    t.make_active(g)
    t.m.lists.delete(ids(f))  # isolated by reclaim
    age = t.nonresident_age

    t.m.policy.folio_putback(t.ctx, ids(f), np.array([PutbackReason.ACTIVATE], np.int8), t.request(LRU_ANON))

    assert t.on(f, LRU_ANON, True) and t.has(f, PG_active)
    assert t.head(LRU_ANON, True, 2) == [f, g]
    assert t.vmstat()["pgactivate"] == 1
    assert t.nonresident_age == age + 1


def test_folio_putback_keep_goes_to_inactive_head():
    """keep_locked (e.g. writeback just started by pageout): back to the
    head of the inactive list."""
    t = tiny_machine()
    f, g = t.fault(DATA, [0, 1])  # f is the tail
    t.m.lists.delete(ids(f))

    t.m.policy.folio_putback(t.ctx, ids(f), np.array([PutbackReason.KEEP], np.int8), t.request(LRU_FILE))

    assert t.on(f, LRU_FILE, False) and not t.has(f, PG_active)
    assert t.head(LRU_FILE, False, 2) == [f, g]
    assert t.vmstat()["pgactivate"] == 0


def test_folio_rotate_reclaimable_moves_to_inactive_tail():
    """folio_end_writeback of a PG_reclaim folio -> folio_rotate_reclaimable
    -> lru_move_tail: PG_active cleared, the inactive tail, PGROTATED; also
    for a folio that reclaim activated while it was dirty (c55e8d035b28).
    A folio without PG_reclaim, or dirtied again, is not rotated."""
    t = tiny_machine()
    oldest, plain, redirtied, inactive, active = t.fault(DATA, range(5))
    t.make_active(active)
    t.m.folios.flags[[inactive, active, redirtied]] |= np.uint16(PG_writeback | PG_reclaim)
    t.m.folios.flags[redirtied] |= np.uint16(PG_dirty)
    t.m.folios.flags[plain] |= np.uint16(PG_writeback)

    t.m.vmscan.writeback_done(ids(oldest, plain, redirtied, inactive, active))

    assert set(t.tail(LRU_FILE, False, 2)) == {inactive, active}
    assert t.on(active, LRU_FILE, False) and not t.has(active, PG_active)
    assert t.vmstat()["pgrotated"] == 2
    for f in (plain, redirtied, inactive, active):
        assert not t.has(f, PG_writeback) and not t.has(f, PG_reclaim)
    assert t.tail(LRU_FILE, False, 3)[2] == oldest and t.head(LRU_FILE, False, 2) == [redirtied, plain]


def test_dirty_file_folio_activated_until_written_then_reclaimed_first():
    """The path c55e8d035b28 built: reclaim meets a dirty file folio, sets
    PG_reclaim and activates it; the flusher writes it; at the end of
    writeback it rotates to the inactive tail and the next scan frees it."""
    t = tiny_machine()
    dirty = t.fault(LOG, [0])[0]
    others = t.fault(LOG, range(1, 8))
    t.m._mark_dirty(ids(dirty))

    t.shrink_inactive_list(LRU_FILE, 1, reason=ReclaimReason.DIRECT)
    assert t.on(dirty, LRU_FILE, True) and t.has(dirty, PG_reclaim)

    t.m.wakeup_flusher()  # the flushers write it (pageout outside reclaim)
    assert t.has(dirty, PG_writeback) and not t.has(dirty, PG_dirty)
    t.m.vmscan.writeback_done(ids(dirty))

    assert t.tail(LRU_FILE, False, 1) == [dirty] and not t.has(dirty, PG_active)
    assert t.shrink_inactive_list(LRU_FILE, 1, reason=ReclaimReason.DIRECT) == 1
    assert t.m.folios.node[dirty] < 0
    assert all(t.on(f, LRU_FILE, False) for f in others)


# ===========================================================================
# Behaviour of small machines, run end to end
# ===========================================================================


def test_streaming_read_does_not_push_out_reused_anon():
    """A file read() twice over, twice the size of memory, is use-once page
    cache: its refaults are too distant to activate, cache_trim_mode keeps
    reclaim on the file LRU, and the reused anon working set stays."""
    m = run_machine(stream_config(node_pages=1024, anon_pages=256, stream_pages=2048), RunConfig(seed=0, duration_ns=30_000_000))
    app, stream = m.processes
    st = m.vmstat.total_dict()

    assert stream.stats["accesses"] >= 2 * 2048  # streamed through at least twice
    assert stream.stats["refaults"] >= 2048  # the second pass refaults everything
    assert st["workingset_activate_file"] == 0  # distant refaults: not the workingset
    assert app.stats["accesses"] > 100 * 256  # the anon set is reused over and over
    assert app.stats["majflt"] <= 5  # and never comes back from swap
    assert st["pswpout"] <= 5


def test_without_swap_anon_is_never_scanned():
    """get_scan_count without swap: anon is never scanned, nor aged. (With
    swap the same machine does scan and swap anon.)"""
    cfg = dict(node_pages=1024, anon_pages=800, stream_pages=512)
    run = RunConfig(seed=0, duration_ns=20_000_000)
    with_swap = run_machine(stream_config(swap_pages=1024, **cfg), run).vmstat.total_dict()
    no_swap = run_machine(stream_config(swap_pages=0, **cfg), run).vmstat.total_dict()

    assert with_swap["pgscan_anon"] > 0  # the control: this machine reclaims anon when it can
    assert no_swap["pgscan_file"] > 0  # reclaim ran
    assert no_swap["pgscan_anon"] == 0 and no_swap["pgsteal_anon"] == 0 and no_swap["pswpout"] == 0


def test_same_config_and_seed_give_identical_vmstat():
    cfg = stream_config(node_pages=1024, anon_pages=800, stream_pages=512, swap_pages=1024)
    run = RunConfig(seed=7, duration_ns=15_000_000)
    a = run_machine(cfg, run)
    b = run_machine(cfg, run)

    assert a.vmstat.total_dict()["pgscan_anon"] > 0 and a.vmstat.total_dict()["pgscan_file"] > 0
    assert a.vmstat.total_dict() == b.vmstat.total_dict()
    assert [p.stats for p in a.processes] == [p.stats for p in b.processes]
    assert a.samples == b.samples
