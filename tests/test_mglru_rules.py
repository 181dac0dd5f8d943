"""MGLRU (simulator/mglru.py), rule by rule, against the kernel.

Each test builds a tiny machine (tests/mglru_helpers.py: the one-node
machine of tests/helpers.py with MultiGenLRU attached, folios made resident
through the fault path), sets the state the rule looks at (generations,
PG_* flags and the refs counter, accessed bits, the PID controller's
counters) and calls the function that stands for the kernel function named
in the test, then checks the kernel's decision: which generation (the seq a
folio is stamped with and the list it is on), which flags, which counters.

Kernel references: mm/vmscan.c (folio_update_gen, inc_min_seq,
inc_max_seq, try_to_inc_min_seq, get_nr_to_scan, sort_folio,
isolate_folio, scan_folios, isolate_folios, get_tier_idx,
get_type_to_scan, folio_check_references, lru_gen_age_node,
lru_gen_seq_show), mm/swap.c (lru_gen_inc_refs), include/linux/mm_inline.h
(lru_gen_folio_seq, lru_gen_add_folio, lru_tier_from_refs, folio_lru_refs),
mm/workingset.c (lru_gen_eviction, lru_gen_test_recent, lru_gen_refault),
v6.14 and later (the refs rework); /work/shared/reference/kernel-reclaim.md
section 3.

The last tests run small machines end to end (Machine.run, invariants on).
"""

from __future__ import annotations

import numpy as np
import pytest
from mglru_helpers import (
    anon_loop_config,
    ids,
    mixed_config,
    one_pass_stream_config,
    run_mglru,
    tiny_mglru,
)
from helpers import ANON, DATA, LOG

from hooks.types import (
    LRU_ANON,
    LRU_FILE,
    PG_dirty,
    PG_reclaim,
    PG_swapcache,
    PG_workingset,
    PG_writeback,
    PutbackReason,
)
from simulator.config import RunConfig
from simulator.mglru import (
    MAX_NR_GENS,
    MAX_NR_TIERS,
    MIN_LRU_BATCH,
    PG_active,
    PG_referenced,
    CtrlPos,
    folio_lru_refs,
    lru_tier_from_refs,
    positive_ctrl_err,
)

MS = 1_000_000


def u16(*flags: int) -> np.ndarray:
    return np.array(flags, np.uint16)


# ===========================================================================
# 1. State, refs and tiers
# ===========================================================================


def test_lru_gen_init_lruvec_initial_generations():
    """lru_gen_init_lruvec(): max_seq = MIN_NR_GENS + 1 = 3, min_seq = 0 for
    both types; the two youngest generations (max_seq-1, max_seq) count as
    active in NR_ACTIVE_* (lru_gen_is_active), the others as inactive."""
    t = tiny_mglru()
    g = t.lrugen
    assert (g.max_seq, g.min_seq) == (3, [0, 0])
    assert g.nr_gens(LRU_ANON) == g.nr_gens(LRU_FILE) == MAX_NR_GENS
    for lru_type in (LRU_ANON, LRU_FILE):
        assert [t.m.lists.queues[t.gen_list(lru_type, s)].active for s in range(4)] == [False, False, True, True]

    t.fault(ANON, range(5))  # faulted: max_seq - 1, active
    t.fault(LOG, range(3))  # read(): the oldest generation, inactive
    (active_anon, active_file), (inactive_anon, inactive_file) = t.m.lruvec_active_inactive(0)
    assert (active_anon, inactive_anon, active_file, inactive_file) == (5, 0, 0, 3)


@pytest.mark.parametrize(
    "referenced, counter, workingset, refs, tier",
    [
        (False, 0, False, 0, 0),
        (False, 3, False, 0, 0),  # the counter means nothing without PG_referenced
        (True, 0, False, 1, 0),
        (True, 1, False, 2, 1),
        (True, 2, False, 3, 2),
        (True, 3, False, 4, 2),
        (False, 0, True, 0, 3),  # PG_workingset: the last tier whatever the refs
        (True, 3, True, 4, 3),
    ],
)
def test_folio_lru_refs_and_lru_tier_from_refs(referenced, counter, workingset, refs, tier):
    """folio_lru_refs() = 0 without PG_referenced, else counter + 1;
    lru_tier_from_refs() = MAX_NR_TIERS-1 with PG_workingset, else
    order_base_2(refs): <=1 -> 0, 2 -> 1, 3..4 -> 2."""
    flags = u16(PG_referenced if referenced else 0)
    got_refs = folio_lru_refs(flags, np.array([(5 << 2) | counter]))
    assert got_refs.tolist() == [refs]
    assert lru_tier_from_refs(got_refs, np.array([workingset])).tolist() == [tier]


def test_lru_gen_inc_refs_referenced_then_counter_then_workingset():
    """folio_mark_accessed() -> lru_gen_inc_refs(): !PG_referenced -> set it
    (and start the counter over: set_mask_bits(LRU_REFS_MASK, PG_referenced));
    else the counter counts up to 3; once saturated, PG_workingset. The
    folio never moves: sort_folio() acts on the refs at eviction."""
    t = tiny_mglru()
    f, other = t.fault(LOG, [0, 1])
    tail_before = t.gen_tail(LRU_FILE, 0, 2)

    steps = []
    for _ in range(6):
        t.access(f)
        flags = t.flags(f)
        steps.append((bool(flags & PG_referenced), t.counter(f), bool(flags & PG_workingset)))
    assert steps == [
        (True, 0, False),  # refs 1: tier 0
        (True, 1, False),  # refs 2: tier 1
        (True, 2, False),  # refs 3: tier 2
        (True, 3, False),  # refs 4: tier 2, the counter is saturated
        (True, 3, True),  # PG_workingset: tier 3
        (True, 3, True),
    ]
    assert t.in_gen(f, 0) and t.gen_tail(LRU_FILE, 0, 2) == tail_before  # no list move
    assert t.flags(other) & (PG_referenced | PG_workingset) == 0
    assert t.vmstat()["pgactivate"] == 0

    # accesses in one batch apply one after another
    g, h = t.fault(LOG, [2, 3])
    t.access(g, h, g, g)
    assert (t.counter(g), t.counter(h)) == (2, 0)
    assert t.has(g, PG_referenced) and t.has(h, PG_referenced)

    # a counter left without PG_referenced (a refault restored it) is stale:
    # the first access sets PG_referenced and starts the counter from 0
    s = t.fault(LOG, [4])[0]
    t.set_refs(s, 0)
    t.m.folios.data[s] |= 2
    t.access(s)
    assert t.has(s, PG_referenced) and t.counter(s) == 0


# ===========================================================================
# 2. Placement: lru_gen_folio_seq() and lru_gen_add_folio()
# ===========================================================================


def test_lru_gen_folio_seq_fault_and_read_placement():
    """folio_add_lru() inside a page fault sets PG_active: a faulted folio,
    anon or mapped file, lands in max_seq - 1; a read() folio (no fault,
    not the workingset) in the oldest generation. lru_gen_add_folio()
    clears PG_active, and only that."""
    t = tiny_mglru()
    anon = t.fault(ANON, [0])[0]
    mapped = t.fault(DATA, [0])[0]
    read = t.fault(LOG, [0])[0]

    assert t.in_gen(anon, 2) and t.in_gen(mapped, 2)  # max_seq - 1
    assert t.in_gen(read, 0)  # max(max_seq - 4 + 1, min_seq) = 0
    for f in (anon, mapped, read):
        assert not t.has(f, PG_active) and not t.has(f, PG_referenced)
    assert t.gen_head(LRU_ANON, 2) == [anon]


@pytest.mark.parametrize(
    "lru_type, flags, reclaiming, seq",
    [
        # max_seq = 6, min_seq = [4, 3]: seq = max(max_seq - gen + 1, min_seq[type])
        (LRU_FILE, PG_active, False, 5),  # gen 2
        (LRU_FILE, PG_active | PG_workingset, False, 6),  # gen 1
        (LRU_ANON, PG_active, False, 5),
        (LRU_FILE, 0, True, 3),  # reclaiming: gen 4 -> 3
        (LRU_ANON, PG_swapcache, True, 4),  # clamped to min_seq[anon]
        (LRU_ANON, 0, False, 5),  # anon not in the swap cache: gen 2
        (LRU_ANON, PG_swapcache, False, 4),  # gen 4 -> 3, clamped to 4
        (LRU_ANON, PG_swapcache | PG_workingset, False, 4),  # gen 3
        (LRU_FILE, PG_reclaim | PG_dirty, False, 5),  # reclaim-marked, under I/O: gen 2
        (LRU_FILE, PG_reclaim | PG_writeback, False, 5),
        (LRU_FILE, PG_reclaim, False, 3),  # PG_reclaim alone: gen 4
        (LRU_FILE, PG_dirty, False, 3),
        (LRU_FILE, PG_workingset, False, 4),  # gen 3
        (LRU_FILE, 0, False, 3),  # gen 4
        (LRU_FILE, PG_referenced, False, 3),  # refs do not place
    ],
)
def test_lru_gen_folio_seq_table(lru_type, flags, reclaiming, seq):
    """lru_gen_folio_seq(): gen = 2 - workingset if PG_active; else 4 if
    reclaiming; else 2 for anon without a swap slot or PG_reclaim with
    dirty/writeback; else 4 - workingset; seq = max(max_seq - gen + 1,
    min_seq[type])."""
    t = tiny_mglru()
    t.lrugen.max_seq, t.lrugen.min_seq = 6, [4, 3]
    got = t.mglru.lru_gen_folio_seq(t.lrugen, u16(flags), lru_type, reclaiming)
    assert got.tolist() == [seq]


def test_lru_gen_add_folio_clears_only_pg_active():
    """An activated folio comes back (activate_locked: PG_active, PGACTIVATE)
    into max_seq - 1; lru_gen_add_folio() clears PG_active and keeps
    PG_referenced and the refs counter (set_mask_bits(LRU_GEN_MASK |
    BIT(PG_active)))."""
    t = tiny_mglru()
    f = t.fault(ANON, [0])[0]
    t.place(f, 0)
    t.set_refs(f, 3)  # PG_referenced, counter 2
    t.m.lists.delete(ids(f))  # isolated by reclaim

    t.m.policy.folio_putback(t.ctx, ids(f), np.array([PutbackReason.ACTIVATE], np.int8), t.request(LRU_ANON))

    assert t.in_gen(f, t.lrugen.max_seq - 1)
    assert not t.has(f, PG_active)
    assert t.has(f, PG_referenced) and t.counter(f) == 2
    assert t.vmstat()["pgactivate"] == 1


# ===========================================================================
# 3. Aging: folio_update_gen(), inc_max_seq(), inc_min_seq()
# ===========================================================================


def test_folio_update_gen_young_once_is_not_promoted_young_twice_is():
    """The aging walk clears each young PTE and calls folio_update_gen():
    without PG_referenced or PG_workingset it only sets PG_referenced (the
    folio stays in its generation, and a stale refs counter goes); the
    second time the folio joins max_seq's generation with PG_workingset,
    PG_referenced and the counter cleared (its number and the generation's
    nr_pages change; the list move waits for sort_folio()). inc_max_seq()
    then leaves it in max_seq - 1."""
    t = tiny_mglru()
    once, twice, never, stale = t.fault(ANON, [0, 1, 2, 3])
    t.young([never], 0)
    t.young([once, twice, stale], 1)
    t.m.folios.data[stale] |= 2  # a counter without PG_referenced

    t.age()  # max_seq 3 -> 4

    assert t.lrugen.max_seq == 4
    for f in (once, twice, stale):
        assert t.in_gen(f, 2) and t.has(f, PG_referenced) and not t.has(f, PG_workingset)
        assert t.m.folios.young[f] == 0  # the walk cleared the accessed bit
    assert t.counter(stale) == 0
    assert t.in_gen(never, 2) and t.flags(never) & (PG_referenced | PG_workingset) == 0

    t.young([twice], 1)
    t.age()  # max_seq 4 -> 5

    assert t.lrugen.max_seq == 5
    # promoted by its generation number alone: it counts in generation 4,
    # still sits on generation 2's list, and sort_folio() moves it later
    assert t.seq(twice) == t.lrugen.max_seq - 1
    assert t.m.lists.page_list[twice] == t.gen_list(LRU_ANON, 2)
    assert t.lrugen.nr_pages[LRU_ANON][4 % MAX_NR_GENS] == 1
    assert t.has(twice, PG_workingset) and not t.has(twice, PG_referenced) and t.counter(twice) == 0
    assert t.in_gen(once, 2) and t.has(once, PG_referenced)  # young only once: not promoted
    assert t.in_gen(never, 2)
    assert t.lrugen.min_seq == [2, 2]


def test_try_to_inc_max_seq_walk_skips_anon_at_swappiness_zero():
    """The aging walk skips anon VMAs when swappiness is 0 (should_skip_vma):
    their accessed bits stay, PG_referenced is not set; file mappings are
    walked."""
    t = tiny_mglru()
    a = t.fault(ANON, [0])[0]
    d = t.fault(DATA, [0])[0]
    t.young([a, d], 1)

    t.age(swappiness=0)

    assert t.m.folios.young[a] == 1 and not t.has(a, PG_referenced)
    assert t.m.folios.young[d] == 0 and t.has(d, PG_referenced)

    t.age(swappiness=60)
    assert t.m.folios.young[a] == 0 and t.has(a, PG_referenced)


def test_inc_max_seq_at_max_nr_gens_runs_inc_min_seq_first():
    """inc_max_seq(): a type with MAX_NR_GENS generations first runs
    inc_min_seq(): its oldest folios go to the tail of min_seq + 1
    (folio_inc_gen: refs counter and PG_referenced cleared, PG_workingset
    kept), each counted as protected by its tier unless it is the lazily
    promoted workingset (refs + workingset == 5); the counts carry into
    the averages (reset_ctrl_pos) and min_seq advances. Then max_seq++ and
    timestamps[max_seq % 4] = now."""
    t = tiny_mglru()
    f = t.fault(LOG, range(10))
    # f[0:2]: refs 0, tier 0
    q = f[2:4]  # refs 2: tier 1
    r = f[4:6]  # refs 3: tier 2
    s = f[6:8]  # PG_workingset, refs 0: tier 3
    w = f[8:10]  # PG_workingset and refs 4: the lazy workingset, not counted
    for x in q:
        t.set_refs(x, 2)
    for x in r:
        t.set_refs(x, 3)
    for x in s:
        t.set_refs(x, 0, workingset=True)
    for x in w:
        t.set_refs(x, 4, workingset=True)
    x1 = t.fault(LOG, [20])[0]
    t.place(x1, 1)  # already in min_seq + 1
    t.m.now = 7 * MS

    t.mglru.inc_max_seq(t.ctx, t.lrugen, 60)

    g = t.lrugen
    assert g.max_seq == 4 and g.min_seq == [1, 1]  # anon's oldest was empty: it advances too
    assert g.timestamps == [7 * MS, 0, 0, 0]  # the new generation 4 is list 0
    assert t.gen_len(LRU_FILE, 0) == 0
    # to the tail of min_seq + 1, oldest first: the last moved is the tail
    assert t.gen_tail(LRU_FILE, 1, 11) == [*f[::-1].tolist(), x1]
    for x in f:
        assert t.in_gen(x, 1) and not t.has(x, PG_referenced) and t.counter(x) == 0
    for x in ids(s, w):
        assert t.has(x, PG_workingset)
    # protected per tier was [2, 2, 2, 2] (w not counted), carried over:
    # avg_total = (0 + protected + evicted) // 2, and the counts reset
    assert g.avg_total[LRU_FILE] == [1, 1, 1, 1]
    assert g.protected[LRU_FILE] == [0, 0, 0, 0]
    assert t.vmstat()["pgrefill"] == 0 and t.vmstat()["pgactivate"] == 0


def test_inc_min_seq_does_not_move_anon_when_swappiness_is_zero():
    """inc_min_seq() skips the folios of a type that cannot be evicted
    (anon at swappiness 0): min_seq still advances, and the generation's
    list becomes the new youngest one (gen = seq % MAX_NR_GENS), nothing
    counted as protected."""
    t = tiny_mglru()
    a = t.fault(ANON, range(4))
    t.place(a, 0)

    t.mglru.inc_max_seq(t.ctx, t.lrugen, 0)

    g = t.lrugen
    assert g.max_seq == 4 and g.min_seq == [1, 1]
    for x in a:
        assert int(t.m.lists.page_list[x]) == t.gen_list(LRU_ANON, g.max_seq)
    assert g.protected[LRU_ANON] == [0, 0, 0, 0] and g.avg_total[LRU_ANON] == [0, 0, 0, 0]


# ===========================================================================
# 4. Eviction: sort_folio(), isolate_folio(), scan_folios(), isolate_folios()
# ===========================================================================


def test_sort_folio_in_kernel_order_then_isolate_folio():
    """sort_folio(), in order: 1. promoted (its generation is not min_seq):
    to its generation; 2. tier > tier_idx, or refs + workingset == 5:
    folio_inc_gen to min_seq + 1, counted as protected (not the lazy
    workingset); 3. writeback, or dirty file: min_seq + 1 with PG_reclaim;
    else isolate_folio(): an unreferenced folio's counter is cleared, and
    PG_reclaim. PGREFILL counts the sorted folios."""
    t = tiny_mglru()
    a, b, c, d, e, f, g, h = t.fault(LOG, range(8))  # oldest generation, a at the tail
    t.m.folios.data[a] = (2 << 2)  # promoted into generation 2 by an aging walk
    t.set_refs(b, 2)  # tier 1 > tier_idx 0: protected
    t.set_refs(c, 4, workingset=True)  # the lazy workingset
    t.m.folios.flags[d] |= PG_writeback
    t.m.folios.flags[e] |= PG_dirty
    t.set_refs(f, 2)
    t.m.folios.flags[f] |= PG_dirty  # protected wins over dirty: no PG_reclaim
    t.m.folios.data[g] |= 2  # a stale counter, no PG_referenced
    t.m.folios.flags[g] |= PG_reclaim
    t.set_refs(h, 1)  # tier 0: isolated, keeps PG_referenced

    isolated, scanned = t.mglru.scan_folios(t.ctx, t.lrugen, LRU_FILE, 0, 32)

    assert isolated.tolist() == [g, h] and scanned == 8
    assert t.in_gen(a, 2) and t.gen_head(LRU_FILE, 2) == [a]
    for x in (b, c, d, e, f):
        assert t.in_gen(x, 1) and t.counter(x) == 0 and not t.has(x, PG_referenced)
    assert t.has(c, PG_workingset)
    assert t.has(d, PG_reclaim) and t.has(e, PG_reclaim)
    assert not t.has(b, PG_reclaim) and not t.has(f, PG_reclaim)
    assert t.lrugen.protected[LRU_FILE] == [0, 2, 0, 0]  # b and f; c not counted
    assert t.counter(g) == 0 and not t.has(g, PG_reclaim)
    assert t.has(h, PG_referenced)
    assert t.vmstat()["pgrefill"] == 6


@pytest.mark.parametrize("all_dirty", [True, False])
def test_a_scan_that_finds_only_dirty_file_folios_wakes_the_flushers(all_dirty):
    """Upstream 1bc542c6a0d1 (the memcg OOM with dirty page cache):
    sort_folio() counts the dirty file folios not under writeback that it
    keeps back (sc->nr.unqueued_dirty), scan_folios() every folio it looked
    at (sc->nr.taken); when they are equal the flushers are woken and the
    folios go under writeback. One clean folio among them, and they sleep."""
    t = tiny_mglru()
    folios = ids(t.fault(LOG, range(8)))
    t.m.folios.flags[folios] |= PG_dirty
    if not all_dirty:
        t.m.folios.flags[folios[0]] &= np.uint16(~PG_dirty & 0xFFFF)

    t.select_victims(LRU_FILE, 32)

    under_writeback = (t.m.folios.flags[folios[1:]] & PG_writeback) != 0
    assert under_writeback.all() if all_dirty else not under_writeback.any()


def test_scan_folios_takes_only_the_oldest_generation_up_to_min_lru_batch():
    """scan_folios() looks at the oldest generation only, from its tail, at
    most nr_to_scan folios, and stops once MIN_LRU_BATCH are isolated."""
    t = tiny_mglru(file_pages=128)
    oldest = t.fault(LOG, range(100))
    younger = t.fault(LOG, range(100, 110))
    t.place(younger, 1)
    beyond = oldest[MIN_LRU_BATCH:MIN_LRU_BATCH + 6]
    t.m.folios.flags[beyond] |= PG_dirty  # would be sorted, if looked at

    isolated, scanned = t.mglru.scan_folios(t.ctx, t.lrugen, LRU_FILE, MAX_NR_TIERS - 1, 4096)
    assert isolated.tolist() == oldest[:MIN_LRU_BATCH].tolist() and scanned == MIN_LRU_BATCH
    assert all(t.in_gen(x, 0) and not t.has(x, PG_reclaim) for x in beyond)  # not looked at
    assert t.vmstat()["pgrefill"] == 0

    isolated, scanned = t.mglru.scan_folios(t.ctx, t.lrugen, LRU_FILE, MAX_NR_TIERS - 1, 10)
    assert isolated.tolist() == oldest[:10].tolist() and scanned == 10
    assert all(t.in_gen(x, 1) for x in younger)


def test_scan_folios_finds_nothing_with_min_nr_gens():
    """With only MIN_NR_GENS generations (min_seq == max_seq - 1) eviction
    waits for aging: scan_folios() returns nothing, even from a full oldest
    generation; after inc_max_seq() it isolates."""
    t = tiny_mglru()
    a = t.fault(ANON, range(8))  # generation 2 only
    t.mglru.try_to_inc_min_seq(t.ctx, t.lrugen, 60)
    assert t.lrugen.min_seq == [2, 2] and t.lrugen.nr_gens(LRU_ANON) == 2
    t.young(a, 0)

    isolated, scanned = t.mglru.scan_folios(t.ctx, t.lrugen, LRU_ANON, MAX_NR_TIERS - 1, 32)
    assert len(isolated) == 0 and scanned == 0
    v = t.select_victims(LRU_FILE, 32)
    assert len(v.folios) == 0 and v.nr_scanned == 0

    t.age()
    isolated, scanned = t.mglru.scan_folios(t.ctx, t.lrugen, LRU_ANON, MAX_NR_TIERS - 1, 32)
    assert isolated.tolist() == a.tolist()


def test_isolate_folios_tries_the_other_type_only_when_nothing_was_scanned():
    """isolate_folios(): the type get_type_to_scan() picks (file here: no
    refaults) is scanned; the other type only if scan_folios() returned 0,
    i.e. isolated nothing without using up its budget. A budget spent
    sorting (dirty file folios kept) ends the batch with nothing."""
    t = tiny_mglru()
    dirty = t.fault(LOG, range(40))
    t.m.folios.flags[dirty] |= PG_dirty
    anon = t.fault(ANON, range(8))
    t.place(anon, 0)
    t.young(anon, 0)

    v = t.select_victims(LRU_FILE, 32)  # 32 dirty folios sorted: budget used

    assert len(v.folios) == 0 and v.nr_scanned == 0 and v.lru_type == LRU_FILE
    assert all(t.in_gen(x, 1) and t.has(x, PG_reclaim) for x in dirty[:32])
    assert all(t.in_gen(x, 0) for x in anon)

    v = t.select_victims(LRU_FILE, 32)  # the 8 dirty left, budget not used: anon

    assert v.lru_type == LRU_ANON and v.folios.tolist() == anon.tolist() and v.nr_scanned == 8
    assert all(t.in_gen(x, 1) for x in dirty)


@pytest.mark.parametrize("swappiness", [0, 60])
def test_isolate_folios_at_swappiness_zero_never_falls_back_to_anon(swappiness):
    """for_each_evictable_type(): at swappiness 0 only file is tried, even
    when file has only MIN_NR_GENS generations (nothing to scan) and anon's
    oldest generation is full; at swappiness 60 anon is tried next."""
    t = tiny_mglru(swappiness=swappiness)
    anon = t.fault(ANON, range(8))
    t.place(anon, 0)
    t.young(anon, 0)
    file = t.fault(DATA, range(8))  # generation 2
    t.young(file, 0)
    t.mglru.try_to_inc_min_seq(t.ctx, t.lrugen, 0)  # file: min_seq 2, two generations
    assert t.lrugen.min_seq == [0, 2]

    v = t.select_victims(LRU_FILE, 32)

    if swappiness == 0:
        assert len(v.folios) == 0 and v.nr_scanned == 0
        assert all(t.in_gen(x, 0) for x in anon)
    else:
        assert v.lru_type == LRU_ANON and v.folios.tolist() == anon.tolist()


# ===========================================================================
# 5. try_to_inc_min_seq()
# ===========================================================================


def test_try_to_inc_min_seq_skips_empty_generations_and_clamps_by_swappiness():
    """Each evictable type's min_seq skips empty generations while
    min_seq + 2 <= max_seq; with 1 <= swappiness <= 200, if one type's
    min_seq passes max_seq - 2 while the other's is below it, the first is
    clamped to max_seq - 2. Each advance carries the PID counters:
    avg = (avg + current) / 2, current reset."""
    t = tiny_mglru()
    t.fault(ANON, range(4))  # generation 2
    t.fault(LOG, range(4))  # generation 0
    g = t.lrugen
    g.avg_refaulted[LRU_ANON][0], g.refaulted[LRU_ANON][0] = 10, 30
    g.avg_total[LRU_ANON][0], g.protected[LRU_ANON][0], g.evicted[LRU_ANON][0] = 100, 20, 40
    g.refaulted[LRU_FILE][1] = 7

    t.mglru.try_to_inc_min_seq(t.ctx, g, 60)

    assert g.min_seq == [1, 0]  # anon would reach 2, clamped to max_seq - 2
    assert g.avg_refaulted[LRU_ANON][0] == 20 and g.avg_total[LRU_ANON][0] == 80
    assert g.refaulted[LRU_ANON][0] == g.protected[LRU_ANON][0] == g.evicted[LRU_ANON][0] == 0
    assert g.refaulted[LRU_FILE][1] == 7  # file did not advance: untouched


def test_try_to_inc_min_seq_swappiness_zero_and_limits():
    """Swappiness 0: only file is evictable, anon's min_seq stays and no
    clamp. An empty lruvec keeps MIN_NR_GENS generations. min_seq never
    goes back: a clamp below the current min_seq changes nothing."""
    t = tiny_mglru()
    t.fault(ANON, range(4))  # generation 2; generation 0 and 1 empty
    t.mglru.try_to_inc_min_seq(t.ctx, t.lrugen, 0)
    assert t.lrugen.min_seq == [0, 2]  # file skipped to max_seq - 1, anon untouched

    t = tiny_mglru()
    t.mglru.try_to_inc_min_seq(t.ctx, t.lrugen, 60)
    assert t.lrugen.min_seq == [2, 2]  # nr_gens never below MIN_NR_GENS

    # file at max_seq - 1 (swappiness 0 advanced it), anon at max_seq - 3:
    # the clamp would set file to max_seq - 2, lower than it is
    t = tiny_mglru()
    a = t.fault(ANON, range(4))
    t.place(a, 0)
    t.mglru.try_to_inc_min_seq(t.ctx, t.lrugen, 0)
    assert t.lrugen.min_seq == [0, 2]
    t.lrugen.refaulted[LRU_FILE][0] = 5
    t.mglru.try_to_inc_min_seq(t.ctx, t.lrugen, 60)
    assert t.lrugen.min_seq == [0, 2]
    assert t.lrugen.refaulted[LRU_FILE][0] == 5  # no reset_ctrl_pos either


# ===========================================================================
# 6. The PID controller: get_tier_idx(), get_type_to_scan()
# ===========================================================================


@pytest.mark.parametrize(
    "pv_refaulted, pv_total, sp_refaulted, sp_total, sp_gain, pv_gain, positive",
    [
        (63, 63, 0, 1000, 2, 3, True),  # fewer than MIN_LRU_BATCH refaults
        (96, 128, 63, 64, 2, 3, True),  # 96*128*2 == 64*128*3
        (97, 128, 63, 64, 2, 3, False),
        (64, 1756, 0, 0, 60, 140, True),  # 64*64*60 <= 1*1756*140
        (64, 1755, 0, 0, 60, 140, False),
    ],
)
def test_positive_ctrl_err(pv_refaulted, pv_total, sp_refaulted, sp_total, sp_gain, pv_gain, positive):
    """positive_ctrl_err(sp, pv) = pv.refaulted < MIN_LRU_BATCH or
    pv.refaulted * (sp.total + MIN_LRU_BATCH) * sp.gain <=
    (sp.refaulted + 1) * pv.total * pv.gain."""
    sp = CtrlPos(sp_refaulted, sp_total, sp_gain)
    pv = CtrlPos(pv_refaulted, pv_total, pv_gain)
    assert positive_ctrl_err(sp, pv) is positive


def test_get_tier_idx_protects_a_tier_refaulting_beyond_the_margin():
    """get_tier_idx(): sp = tier 0 with gain 2; for tiers 1..3, pv with gain
    3; the first tier whose error is not positive and those above are
    protected. Tier 1 refaulting 96/128 against tier 0's 63/64 is exactly
    the margin (not protected); 97/128 is beyond it: tier_idx 0, and
    sort_folio() then moves a tier-1 folio to min_seq + 1 (protected[1])
    while a tier-0 folio is isolated. Averages count as the current
    figures (read_ctrl_pos)."""
    t = tiny_mglru()
    g = t.lrugen
    g.refaulted[LRU_FILE][0], g.evicted[LRU_FILE][0] = 63, 64
    g.refaulted[LRU_FILE][1], g.evicted[LRU_FILE][1] = 96, 128
    assert t.mglru.get_tier_idx(g, LRU_FILE) == MAX_NR_TIERS - 1  # nothing protected

    g.refaulted[LRU_FILE][1] = 97
    assert t.mglru.get_tier_idx(g, LRU_FILE) == 0

    # the same figures as averages
    g.refaulted[LRU_FILE][1], g.avg_refaulted[LRU_FILE][1] = 0, 97
    g.evicted[LRU_FILE][1], g.avg_total[LRU_FILE][1] = 0, 128
    assert t.mglru.get_tier_idx(g, LRU_FILE) == 0
    # tier 2 beyond the margin, tier 1 quiet: tiers 2 and 3 protected
    g.refaulted[LRU_FILE][2], g.evicted[LRU_FILE][2] = 97, 128
    g.avg_refaulted[LRU_FILE][1] = 0
    assert t.mglru.get_tier_idx(g, LRU_FILE) == 1
    g.refaulted[LRU_FILE][2] = 0
    g.avg_refaulted[LRU_FILE][1] = 97

    cold, hot = t.fault(LOG, [0, 1])
    t.set_refs(cold, 1)  # tier 0
    t.set_refs(hot, 2)  # tier 1
    oldest = g.min_seq[LRU_FILE]
    protected_before, evicted_before = g.protected[LRU_FILE][1], g.evicted[LRU_FILE][1]
    avg_total_before = g.avg_total[LRU_FILE][1]

    v = t.select_victims(LRU_FILE, 32)

    assert v.folios.tolist() == [cold] and v.lru_type == LRU_FILE
    assert t.in_gen(hot, oldest + 1) and not t.has(hot, PG_referenced) and t.counter(hot) == 0
    # the oldest generation is empty now: min_seq advanced in the same call
    # (try_to_inc_min_seq after isolation), carrying the tier-1 protection
    # into the average (reset_ctrl_pos)
    assert g.min_seq[LRU_FILE] == oldest + 1
    assert g.avg_total[LRU_FILE][1] == (avg_total_before + protected_before + 1 + evicted_before) // 2


@pytest.mark.parametrize(
    "swappiness, file_total, expected",
    [
        (0, 0, LRU_FILE),
        (1, 0, LRU_FILE),  # swappiness <= 1: file
        (200, 10**6, LRU_ANON),  # swappiness >= 200: anon
        (60, 1756, LRU_FILE),  # file refaults no more than anon's (weighted): file
        (60, 1755, LRU_ANON),
    ],
)
def test_get_type_to_scan(swappiness, file_total, expected):
    """get_type_to_scan(): sp = anon over all tiers with gain swappiness,
    pv = file over all tiers with gain 200 - swappiness; file iff
    positive_ctrl_err(sp, pv). Here anon has no history and file 64
    refaults: 64 * 64 * 60 <= 1 * total * 140 iff total >= 1756."""
    t = tiny_mglru()
    g = t.lrugen
    g.refaulted[LRU_FILE][2] = 64
    g.evicted[LRU_FILE][0] = file_total
    assert t.mglru.get_type_to_scan(g, swappiness) == expected


# ===========================================================================
# 7. folio_check_references() for MGLRU, with the look-around
# ===========================================================================


def test_folio_check_references_mglru():
    """Isolated folios: not young -> RECLAIM; young, neither PG_referenced
    nor PG_workingset -> set PG_referenced, KEEP; young with either ->
    clear the refs flags, set PG_workingset, ACTIVATE (PG_active: back into
    max_seq). A rejected folio that would land in min_seq gets PG_active
    (and loses PG_referenced): max_seq - 1. The look-around updates young
    neighbours as the aging walk does (folio_update_gen)."""
    t = tiny_mglru()
    d = t.fault(DATA, range(8))  # mapped file, one block of 64 pages
    t.young(d, 0)
    victim, keep, ref, ws, n_ref, n_new, n_old = d[:7]
    t.place([victim, keep, ref, ws], 0)  # the oldest generation, victim at the tail
    t.set_refs(ref, 1)
    t.set_refs(ws, 0, workingset=True)
    t.set_refs(n_ref, 1)  # a neighbour, in generation 2
    t.young([keep, ref, ws, n_ref, n_new], 1)
    g = t.lrugen

    v = t.select_victims(LRU_FILE, 4)

    assert v.folios.tolist() == [victim] and v.nr_scanned == 4
    assert t.m.folios.young[[keep, ref, ws, n_ref, n_new]].tolist() == [0] * 5
    # KEEP of a file folio would land in min_seq: PG_active instead
    assert t.in_gen(keep, g.max_seq - 1) and not t.has(keep, PG_referenced) and not t.has(keep, PG_active)
    for x in (ref, ws):  # ACTIVATE: PG_workingset and PG_active -> max_seq
        assert t.in_gen(x, g.max_seq) and t.has(x, PG_workingset)
        assert not t.has(x, PG_referenced) and not t.has(x, PG_active)
    assert t.vmstat()["pgactivate"] == 2
    # the look-around: a referenced neighbour is promoted, a new one referenced
    assert t.in_gen(n_ref, g.max_seq) and t.has(n_ref, PG_workingset) and not t.has(n_ref, PG_referenced)
    assert t.in_gen(n_new, 2) and t.has(n_new, PG_referenced) and not t.has(n_new, PG_workingset)
    assert t.in_gen(n_old, 2) and t.flags(n_old) & (PG_referenced | PG_workingset) == 0


def test_folio_check_references_kept_anon_stays_referenced():
    """KEEP of an anon folio without a swap slot: lru_gen_folio_seq gives
    it max_seq - 1 (not min_seq), so it keeps PG_referenced and no
    PG_active: young once more, it will be activated."""
    t = tiny_mglru(swappiness=200)  # get_type_to_scan: anon
    a, b, c = t.fault(ANON, [0, 1, 2])
    t.place([a, b], 0)
    t.place([c], 0)  # at the head: not reached, so generation 0 stays the oldest
    t.young(b, 0)
    t.young(a, 1)

    v = t.select_victims(LRU_ANON, 2)

    assert v.folios.tolist() == [b] and v.lru_type == LRU_ANON
    assert t.lrugen.min_seq[LRU_ANON] == 0
    assert t.in_gen(a, t.lrugen.max_seq - 1) and t.has(a, PG_referenced) and not t.has(a, PG_workingset)
    assert t.vmstat()["pgactivate"] == 0


def test_evict_folios_keeps_rejected_folios_out_of_the_new_oldest_generation():
    """try_to_inc_min_seq() runs after isolation, before the rejected folios
    go back: when the scan emptied the oldest generations, max_seq - 1 is
    the oldest now, so a kept folio that would land there gets PG_active
    instead (its refs flags cleared) and lands in max_seq - 1 as active."""
    t = tiny_mglru(swappiness=200)
    a, b = t.fault(ANON, [0, 1])
    t.place([a, b], 0)
    t.young(b, 0)
    t.young(a, 1)

    v = t.select_victims(LRU_ANON, 2)

    assert v.folios.tolist() == [b]
    assert t.lrugen.min_seq == [2, 2] == [t.lrugen.max_seq - 1] * 2
    assert t.in_gen(a, 2) and not t.has(a, PG_referenced) and not t.has(a, PG_active)


# ===========================================================================
# 8. Shadows: lru_gen_eviction() and lru_gen_refault()
# ===========================================================================


def test_lru_gen_eviction_token_round_trip_through_a_refault():
    """A folio read three times (refs 3, tier 2) is evicted by real reclaim:
    token = (min_seq << 2) | (refs - 1), evicted[file][2] += 1. It refaults
    within MAX_NR_GENS generations of the token: refaulted[file][2] += 1
    and the refs counter comes back (refs - 1 = 2) without PG_referenced;
    WORKINGSET_REFAULT only (no workingset to restore)."""
    t = tiny_mglru()
    f = t.fault(LOG, range(8))
    t.age()
    t.age()  # max_seq 5, file min_seq 2
    g = t.lrugen
    assert (g.max_seq, g.min_seq[LRU_FILE]) == (5, 2)
    target = f[0]
    t.access(target, target, target)
    evicted_before = list(g.evicted[LRU_FILE])

    reclaimed = t.shrink(1)

    assert reclaimed == 1 and not t.resident(target)
    assert int(t.m.workingset.shadow_value[target]) == (2 << 2) | 2
    assert g.evicted[LRU_FILE] == [evicted_before[0], evicted_before[1], evicted_before[2] + 1, evicted_before[3]]

    t.fault(LOG, [0])

    assert t.resident(target) and t.in_gen(target, g.min_seq[LRU_FILE])  # read(): the oldest
    assert g.refaulted[LRU_FILE] == [0, 0, 1, 0]
    assert t.counter(target) == 2 and not t.has(target, PG_referenced) and not t.has(target, PG_workingset)
    st = t.vmstat()
    assert st["workingset_refault_file"] == 1
    assert st["workingset_activate_file"] == st["workingset_restore_file"] == 0


def test_lru_gen_refault_max_nr_gens_after_the_token_is_not_recent():
    """lru_gen_test_recent(): |max_seq - token_seq| < MAX_NR_GENS. Evicted
    at min_seq 0 with max_seq 3, refaulting once max_seq is 4: only
    WORKINGSET_REFAULT, no tier counted, no refs restored. (The round trip
    above refaults at a distance of 3: recent.)"""
    t = tiny_mglru()
    f = t.fault(LOG, range(4))[0]
    t.access(f, f)  # refs 2
    assert t.shrink(1) == 1 and int(t.m.workingset.shadow_value[f]) == (0 << 2) | 1
    t.age()
    assert t.lrugen.max_seq == 4

    t.fault(LOG, [0])

    assert t.lrugen.refaulted[LRU_FILE] == [0, 0, 0, 0]
    assert t.counter(f) == 0
    assert t.vmstat()["workingset_refault_file"] == 1


def test_lru_gen_refault_restores_workingset_in_a_fault():
    """A PG_workingset folio evicted and refaulting recently through a page
    fault: PG_workingset restored (WORKINGSET_RESTORE and, in a fault,
    WORKINGSET_ACTIVATE), refaulted[type][3] += 1; folio_add_lru() in the
    fault makes it active: PG_active + PG_workingset -> max_seq. A folio
    without PG_workingset refaulting the same way counts in its tier, gets
    its counter back, counts WORKINGSET_ACTIVATE (any recent refault in a
    fault) but no RESTORE, and lands in max_seq - 1. The tokens carry the
    min_seq of eviction time: the scan emptied generations 0 and 1, so
    try_to_inc_min_seq() had advanced it to 2 before the folios were freed."""
    t = tiny_mglru()
    w, plain, other = t.fault(DATA, [0, 1, 2])
    t.young([w, plain, other], 0)
    t.place([w, plain], 0)
    t.set_refs(w, 0, workingset=True)
    t.set_refs(plain, 2)  # tier 1: protected only if tier_idx < 1

    assert t.shrink(2) == 2 and not t.resident(w) and not t.resident(plain)
    assert t.lrugen.min_seq[LRU_FILE] == 2
    assert int(t.m.workingset.shadow_value[w]) == 2 << 2  # min_seq 2, refs 0
    assert int(t.m.workingset.shadow_value[plain]) == (2 << 2) | 1
    assert t.lrugen.evicted[LRU_FILE] == [0, 1, 0, 1]

    t.fault(DATA, [0])

    assert t.has(w, PG_workingset) and t.in_gen(w, t.lrugen.max_seq) and not t.has(w, PG_active)
    assert t.lrugen.refaulted[LRU_FILE] == [0, 0, 0, 1]
    st = t.vmstat()
    assert st["workingset_refault_file"] == st["workingset_restore_file"] == st["workingset_activate_file"] == 1

    t.fault(DATA, [1])

    assert not t.has(plain, PG_workingset) and t.in_gen(plain, t.lrugen.max_seq - 1)
    assert t.counter(plain) == 1 and not t.has(plain, PG_referenced)
    assert t.lrugen.refaulted[LRU_FILE] == [0, 1, 0, 1]
    st = t.vmstat()
    assert st["workingset_refault_file"] == st["workingset_activate_file"] == 2
    assert st["workingset_restore_file"] == 1


# ===========================================================================
# 9. get_nr_to_scan() and get_swappiness()
# ===========================================================================


def test_get_nr_to_scan_ages_when_needed_except_at_def_priority():
    """Aging is a must when evictable min_seq + 2 > max_seq and advisable
    when == max_seq. At DEF_PRIORITY, or with no aging needed, the answer is
    the evictable pages >> priority (0 when aging is a must); otherwise the
    lruvec is aged (try_to_inc_max_seq) and nothing is scanned."""
    t = tiny_mglru(node_pages=8192, anon_pages=4096)
    t.fault(ANON, range(4096))  # generation 2
    g = t.lrugen

    def decide(priority):
        return t.m.policy.should_reclaim(t.ctx, t.request(priority=priority)).scan

    assert decide(2) == (0, 4096 >> 2) and g.max_seq == 3  # 0 + 2 < 3: no aging

    t.mglru.try_to_inc_min_seq(t.ctx, g, 60)
    assert g.min_seq == [2, 2]  # 2 + 2 > 3: must age
    assert decide(12) == (0, 0) and g.max_seq == 3  # not at DEF_PRIORITY
    assert decide(11) == (0, 0) and g.max_seq == 4 and g.min_seq == [2, 2]

    # 2 + 2 == 4: advisable
    assert decide(12) == (0, 4096 >> 12) and g.max_seq == 4
    assert decide(11) == (0, 0) and g.max_seq == 5

    assert decide(11) == (0, 4096 >> 11) and g.max_seq == 5  # 2 + 2 < 5


def test_get_swappiness_zero_without_swap_room():
    """get_swappiness(): 0 if !may_swap or fewer than MIN_LRU_BATCH swap
    pages are free; then only file counts (evictable_min_seq, sizes)."""
    t = tiny_mglru(swappiness=60)
    t.fault(ANON, range(64))
    t.fault(LOG, range(32))
    sc = t.request(priority=0)
    assert t.mglru.get_swappiness(sc) == 60
    sc.nr_swap_pages = MIN_LRU_BATCH - 1
    assert t.mglru.get_swappiness(sc) == 0
    assert t.m.policy.should_reclaim(t.ctx, sc).scan == (0, 32)  # file only
    sc.nr_swap_pages, sc.may_swap = MIN_LRU_BATCH, False
    assert t.mglru.get_swappiness(sc) == 0
    sc.may_swap = True
    assert t.m.policy.should_reclaim(t.ctx, sc).scan == (0, 96)


@pytest.mark.parametrize("swappiness", [0, 200])
def test_try_to_shrink_lruvec_swappiness_zero_evicts_no_anon_while_file_remains(swappiness):
    """Swappiness 0: reclaim runs round after round through the core's
    shrink_lruvec (get_nr_to_scan, aging, isolate_folios) at every
    priority, and not one anon folio is scanned while file folios remain,
    though the anon ones are older; the file is reclaimed to the last
    page. (At swappiness 200, the control, anon goes first.)"""
    t = tiny_mglru(swappiness=swappiness)
    anon = t.fault(ANON, range(64))
    t.place(anon, 0)
    t.young(anon, 0)
    file = t.fault(LOG, range(64))
    t.place(file[32:], 1)

    anon_while_file = 0
    for _ in range(4):
        for priority in range(12, -1, -1):
            file_left = int(np.count_nonzero(t.m.folios.node[file] >= 0))
            sc = t.request(priority=priority, nr_to_reclaim=16)
            t.m.vmscan.shrink_lruvec(t.lruvec, sc)
            if file_left:
                anon_while_file = max(anon_while_file, t.vmstat()["pgscan_anon"])
    st = t.vmstat()
    if swappiness == 0:
        assert anon_while_file == 0
        assert st["pgscan_anon"] == st["pgsteal_anon"] == st["pswpout"] == 0
        assert all(t.resident(a) for a in anon)
        assert st["pgsteal_file"] == 64  # reclaim did run, through all the file
    else:
        assert anon_while_file > 0


# ===========================================================================
# 10. min_ttl: lru_gen_age_node()
# ===========================================================================


def test_lru_gen_age_node_min_ttl_answers_oom():
    """lru_gen_age_node() with min_ttl: OOM (True) unless some lruvec of the
    node is sizable ((evictable pages >> priority) > 0) and its oldest
    evictable generation was born more than min_ttl ago. Without min_ttl,
    never. The oldest evictable generation follows swappiness."""
    t = tiny_mglru(min_ttl_ms=1000)
    anon = t.fault(ANON, range(64))
    t.place(anon, 0)
    file = t.fault(LOG, range(64))
    t.place(file, 1)
    t.mglru.try_to_inc_min_seq(t.ctx, t.lrugen, 60)
    assert t.lrugen.min_seq == [0, 1]
    t.lrugen.timestamps[0], t.lrugen.timestamps[1] = 0, 1400 * MS

    def age_node(now_ms, priority, nr_swap_pages=None):
        t.m.now = now_ms * MS
        sc = t.request(priority=priority)
        if nr_swap_pages is not None:
            sc.nr_swap_pages = nr_swap_pages
        return t.m.policy.age_node(t.ctx, sc)

    assert age_node(500, 6) is True  # everything younger than 1000 ms
    assert age_node(1500, 6) is False  # generation 0 born 1500 ms ago
    assert age_node(1500, 12) is True  # 128 >> 12 == 0: not sizable
    assert age_node(1500, 6, nr_swap_pages=0) is True  # file only: born 100 ms ago
    assert age_node(2500, 6, nr_swap_pages=0) is False

    t0 = tiny_mglru(min_ttl_ms=0)
    t0.fault(ANON, range(64))
    t0.m.now = 1
    assert not t0.m.policy.age_node(t0.ctx, t0.request(priority=12))


# ===========================================================================
# 11. The lru_gen view
# ===========================================================================


def _view_setup():
    t = tiny_mglru()
    t.fault(ANON, range(5))  # generation 2
    t.fault(LOG, range(3))  # generation 0
    t.m.now = 10 * MS
    t.age()  # max_seq 4 born at 10 ms; anon's oldest (empty) goes: min_seq [1, 1]
    t.m.now = 25 * MS
    return t


def test_lru_gen_seq_show_generations():
    """policy_state() gives /sys/kernel/debug/lru_gen: a memcg line, a node
    line, then per generation from min(min_seq) to max_seq: the sequence
    number, its age in ms and the anon and file pages in it."""
    t = _view_setup()
    state = t.m.policy.policy_state(t.ctx)
    assert set(state) == {"lru_gen"}
    lines = state["lru_gen"].splitlines()
    assert lines[0].split() == ["memcg", "1", "/"]
    assert lines[1].split() == ["node", "0"]
    rows = [line.split() for line in lines[2:]]
    # generation 1 holds the read() pages inc_min_seq moved from 0
    assert rows == [
        ["1", "25", "0", "3"],
        ["2", "25", "5", "0"],
        ["3", "25", "0", "0"],
        ["4", "15", "0", "0"],
    ]


def test_lru_gen_seq_show_exact_kernel_format():
    """The kernel's format strings: "memcg %5hu %s\\n" (the root memcg has
    id 1), " node %5d\\n", then per generation " %10lu %10u" and per type
    " %10lu%c" (mark ' '), from the older min_seq on."""
    t = tiny_mglru()
    t.fault(ANON, range(5))
    t.mglru.try_to_inc_min_seq(t.ctx, t.lrugen, 60)  # both types skip their empty gens 0 and 1
    assert t.lrugen.min_seq == [2, 2]
    t.m.now = 3 * MS
    text = t.m.policy.policy_state(t.ctx)["lru_gen"]
    expected = "memcg     1 /\n node     0\n"
    expected += "".join(f" {seq:10d} {3:10d} {anon:10d}  {0:10d} \n" for seq, anon in ((2, 5), (3, 0)))
    assert text == expected


# ===========================================================================
# Behaviour of small machines, run end to end
# ===========================================================================


def test_one_off_read_of_a_file_larger_than_memory_spares_reused_anon():
    """A file twice the size of memory read() once, start to end: its pages
    enter the oldest generation and are evicted from there, the faulted
    anon working set (max_seq - 1, young at every aging) is not touched:
    no anon major fault, nothing swapped."""
    m = run_mglru(one_pass_stream_config(node_pages=1024, anon_pages=512, stream_pages=2048),
                  RunConfig(seed=0, duration_ns=40 * MS))
    app, stream = m.processes
    st = m.vmstat.total_dict()

    assert stream.exit_reason == "exited" and stream.stats["accesses"] == 2048  # read through once
    assert st["pgsteal_file"] >= 2048 - 1024  # memory pressure: the stream was reclaimed
    assert app.stats["accesses"] > 100 * 512  # the anon set is used over and over
    assert app.stats["majflt"] <= 5
    assert st["pgscan_anon"] <= 5 and st["pswpout"] <= 5


def test_min_ttl_oom_kills_a_thrashing_anon_loop_instead_of_thrashing():
    """lru_gen.min_ttl_ms: a loop over an anon region larger than memory
    thrashes through swap. With min_ttl 20 ms, kswapd reclaims while the
    oldest generation is older than that (the loop starts at 100 ms, the
    first generations were born at boot), and once every generation is
    younger (lru_gen_age_node) the OOM killer ends the loop; with min_ttl 0
    it thrashes on. A loop that fits is left alone. (8192 pages:
    lruvec_is_sizable() shifts the pages by kswapd's priority, DEF_PRIORITY
    at first; a smaller node is never sizable, and would OOM at once.)"""
    big = dict(node_pages=8192, anon_pages=9000, swap_pages=16384, start_ns=100 * MS)
    run = RunConfig(seed=0, duration_ns=200 * MS)

    thrash = run_mglru(anon_loop_config(min_ttl_ms=0, **big), run)
    st = thrash.vmstat.total_dict()
    assert st["oom_kill"] == 0 and thrash.processes[0].alive
    assert thrash.processes[0].stats["majflt"] > 500 and st["pswpout"] > 0  # it does thrash

    valve = run_mglru(anon_loop_config(min_ttl_ms=20, **big), run)
    st = valve.vmstat.total_dict()
    assert st["oom_kill"] >= 1
    assert valve.processes[0].exit_reason == "oom-killed"
    assert st["pgscan_anon"] > 0 and st["pswpout"] > 0  # reclaim ran before the valve opened

    fits = run_mglru(anon_loop_config(min_ttl_ms=20, node_pages=8192, anon_pages=4096, start_ns=100 * MS), run)
    assert fits.vmstat.total_dict()["oom_kill"] == 0 and fits.processes[0].alive


def test_same_config_and_seed_give_identical_counters():
    cfg = mixed_config()
    run = RunConfig(seed=3, duration_ns=20 * MS)
    a = run_mglru(cfg, run)
    b = run_mglru(cfg, run)

    sa = a.vmstat.total_dict()
    assert sa["pgscan_anon"] > 0 and sa["pgscan_file"] > 0 and sa["workingset_refault_anon"] > 0
    assert sa == b.vmstat.total_dict()
    assert [p.stats for p in a.processes] == [p.stats for p in b.processes]
    assert a.samples == b.samples
    assert a.policy.policy_state(a.ctx) == b.policy.policy_state(b.ctx)
    la, lb = a.policy.plugin.lruvecs[0], b.policy.plugin.lruvecs[0]
    assert (la.max_seq, la.min_seq, la.refaulted, la.evicted, la.avg_total) == (
        lb.max_seq, lb.min_seq, lb.refaulted, lb.evicted, lb.avg_total
    )


def test_nr_pages_counts_every_resident_folio_in_one_generation():
    """lru_gen_update_size(): whatever aging promoted lazily, sort_folio()
    moved, eviction removed or a process's exit unmapped, each generation's
    nr_pages adds up to the folios resident of its type."""
    m = run_mglru(one_pass_stream_config(node_pages=1024, anon_pages=512, stream_pages=2048),
                  RunConfig(seed=0, duration_ns=20 * MS))
    lrugen = m.policy.plugin.lruvecs[0]
    resident = m.folios.node >= 0
    for lru_type in (LRU_ANON, LRU_FILE):
        assert sum(lrugen.nr_pages[lru_type]) == int(np.count_nonzero(resident & (m.folios.type == lru_type)))


def test_inc_min_seq_at_swappiness_zero_turns_the_oldest_anon_generation_into_the_youngest():
    """A folio keeps only seq % MAX_NR_GENS in the kernel: when aging at
    swappiness 0 moves min_seq[anon] past a generation it could not evict,
    that generation's folios belong to the new youngest one, not to a
    generation below min_seq. Later, with swappiness back, they are evicted
    like any others."""
    t = tiny_mglru(swappiness=200)
    anon = t.fault(ANON, [0, 1])
    t.place(anon, 0)
    for _ in range(3):
        t.age(swappiness=0)  # max_seq 3 -> 6; min_seq[anon] 0 -> 3
    g = t.lrugen
    for f in anon:
        assert g.min_seq[LRU_ANON] <= t.seq(f) <= g.max_seq
        assert t.seq(f) % MAX_NR_GENS == 0
    assert sum(g.nr_pages[LRU_ANON]) == 2
