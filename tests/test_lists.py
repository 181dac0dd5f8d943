"""The lists the core stores for policies: a folio named twice, and ghost
lists (interface 1.2)."""

from __future__ import annotations

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
