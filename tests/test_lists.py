"""The lists the core stores for policies: peeking past stale entries, a
folio named twice, ghost lists (interface 1.2), and the lists against a
plain Python model under random operations."""

from __future__ import annotations

import random

import numpy as np
import pytest
from helpers import DATA, tiny_machine

from hooks.types import LRU_ANON, LRU_FILE
from simulator.context import PolicyContextError
from simulator.folios import FolioTable, LruLists
from simulator.invariants import check_invariants


def lists_of(nr_pages: int = 64) -> tuple[LruLists, int]:
    lists = LruLists(FolioTable(nr_pages, np.full(nr_pages, LRU_FILE, np.int8)))
    return lists, lists.create(0, LRU_FILE, False, "l")


def newest_first(lists: LruLists, lst: int) -> list[int]:
    return lists.peek(lst, 1 << 20, tail=False).tolist()


def test_peek_finds_live_folios_beyond_a_window_of_stale_entries():
    """Found by reclaim-ext fuzz: peek() skipped the first window of stale
    tail entries, then compared the window with what was left and returned
    nothing while the list held folios further on. MGLRU's scan_folios()
    saw an empty oldest generation, isolated nothing, and the machine went
    OOM with anon pages resident and swap free."""
    lists, lst = lists_of(256)
    lists.add(lst, np.arange(100))
    lists.add(lst, np.array([7, 3]))  # the two live entries, past 100 stale ones...
    lists.delete(np.arange(100)[(np.arange(100) != 7) & (np.arange(100) != 3)])
    assert lists.length(lst) == 2
    assert lists.peek(lst, 2).tolist() == [7, 3]  # ...and past the first window of 64


@pytest.mark.parametrize("seed", range(20))
def test_the_lists_behave_as_python_lists_under_random_operations(seed):
    """add at the head or tail (a folio moves; named twice, its last
    occurrence wins), delete, and peek from either end, against a model
    of plain lists (tail first)."""
    rng = random.Random(seed)
    nr_pages, nr_lists = 40, 3
    lists = LruLists(FolioTable(nr_pages, np.full(nr_pages, LRU_FILE, np.int8)))
    ids = [lists.create(0, LRU_FILE, False, f"l{i}") for i in range(nr_lists)]
    model: list[list[int]] = [[] for _ in ids]
    where: dict[int, int] = {}
    for _ in range(1500):
        lst, op = rng.randrange(nr_lists), rng.random()
        if op < 0.4:
            folios, tail = [rng.randrange(nr_pages) for _ in range(rng.choice([1, 2, 5, 20]))], rng.random() < 0.5
            lists.add(ids[lst], np.array(folios, np.int64), tail)
            for folio in folios:
                if folio in where:
                    model[where[folio]].remove(folio)
                model[lst].insert(0, folio) if tail else model[lst].append(folio)
                where[folio] = lst
        elif op < 0.6:
            folios = sorted({rng.randrange(nr_pages) for _ in range(rng.choice([1, 3, 10]))})
            lists.delete(np.array(folios, np.int64))
            for folio in folios:
                if folio in where:
                    model[where.pop(folio)].remove(folio)
        else:
            n, tail = rng.choice([1, 2, 4, 50]), rng.random() < 0.7
            expected = model[lst][:n] if tail else model[lst][::-1][:n]
            assert lists.peek(ids[lst], n, tail).tolist() == expected
        assert [lists.length(i) for i in ids] == [len(m) for m in model]


def test_a_folio_added_twice_ends_where_its_last_occurrence_puts_it():
    lists, lst = lists_of()
    lists.add(lst, np.array([1, 2, 3]))
    lists.add(lst, np.array([4, 1, 5, 4, 2]))  # 1 moves, 4 twice: at its second place
    assert newest_first(lists, lst) == [2, 4, 5, 1, 3]
    assert lists.length(lst) == 5
    lists.add(lst, np.array([3, 3, 3]), tail=True)
    assert lists.peek(lst, 1).tolist() == [3] and lists.length(lst) == 5


def test_a_folio_deleted_twice_is_deleted_once():
    lists, lst = lists_of()
    lists.add(lst, np.arange(6))
    lists.delete(np.array([2, 2, 4, 2]))
    assert lists.length(lst) == 4 and sorted(newest_first(lists, lst)) == [0, 1, 3, 5]


def test_repeats_are_found_without_sorting_when_there_are_none(monkeypatch):
    """The common case, distinct folios, costs O(n): a scratch slot per folio."""
    lists, lst = lists_of(4096)
    rng = np.random.default_rng(1)
    ids = rng.permutation(4096)

    def no_unique(*args, **kwargs):
        raise AssertionError("sorted")

    monkeypatch.setattr(np, "unique", no_unique)
    lists.add(lst, ids)
    assert newest_first(lists, lst) == ids[::-1].tolist()


# --------------------------------------------------------------------------
# ghost lists in the simulated machine
# --------------------------------------------------------------------------
def test_a_ghost_list_takes_evicted_folios_and_counts_in_no_size():
    t = tiny_machine()
    folios = t.fault(DATA, range(4))
    ghost = t.ctx.ghost_list_create(0, LRU_FILE, "ghost")
    with pytest.raises(PolicyContextError, match="takes only folios that left memory"):
        t.ctx.list_add(ghost, folios[:1])  # resident, on the LRU's list
    sizes = t.m.lruvec_type_sizes(0)
    t.evict(folios[:2])
    t.ctx.list_add(ghost, folios[:2])
    assert t.ctx.folio_list(folios[0]) == ghost and t.ctx.list_len(ghost) == 2
    assert t.m.lruvec_type_sizes(0) == (sizes[0], sizes[1] - 2)
    with pytest.raises(PolicyContextError, match="another type"):
        t.ctx.list_add(t.ctx.ghost_list_create(0, LRU_ANON, "anon ghost"), folios[:1])
    with pytest.raises(PolicyContextError, match="ghost list"):
        t.ctx.list_set_active(ghost, True)
    check_invariants(t.m)


def test_a_refault_takes_the_folio_off_its_ghost_list_and_names_the_list():
    t = tiny_machine()
    folios = t.fault(DATA, range(3))
    ghost = t.ctx.ghost_list_create(0, LRU_FILE, "ghost")
    t.evict(folios)
    t.ctx.list_add(ghost, folios[[0, 2]])
    seen = {}
    lru_on_refault = t.m.policy.on_refault

    def on_refault(ctx, pages, refault):
        seen.update(zip(pages.tolist(), refault.ghost.tolist()))
        assert (t.m.lists.page_list[pages] < 0).all(), "off the ghost list before the policy hears of it"
        return lru_on_refault(ctx, pages, refault)

    t.m.policy.on_refault = on_refault
    t.fault(DATA, range(3))
    assert seen == {int(folios[0]): ghost, int(folios[1]): -1, int(folios[2]): ghost}
    assert t.ctx.list_len(ghost) == 0
    check_invariants(t.m)
