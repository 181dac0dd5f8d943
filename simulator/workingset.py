"""Workingset detection: shadow entries and the refault distance.

The problem (mm/workingset.c): a workload whose working set is a little
larger than the inactive list thrashes. Its pages are evicted from the
inactive list before their second access can activate them, and every
access is a major fault, while the active list holds pages that are not
used any more. Reclaim needs to tell "this page was evicted and came back
soon" from "this page is new".

The solution: every lruvec keeps a clock, nonresident_age, that advances by
one for each eviction and each activation. When a page is evicted, the
clock's reading goes into a shadow entry left where the page was (the page
cache slot of a file page, the swap slot of an anon page). When the page
faults back in, the distance the clock moved since then

      refault_distance = nonresident_age(now) - nonresident_age(eviction)

is the minimum number of page slots the page would have needed, in
addition to the inactive list, to stay resident:

      evicted here               refault here
          |<-- refault_distance -->|
    ------+------------------------+-------> nonresident_age

If the distance is within the workingset the lruvec could give it (the
active file list, plus the inactive file list for anon, plus the anon lists
when swap is possible), the page is part of the workingset: it is activated
on refault (WORKINGSET_ACTIVATE), and if it was active before eviction
(PG_workingset) the refault counts as a workingset restore.

With memcgs, reclaiming a memcg reclaims its children in turn, so every
page has an LRU position in each ancestor too: an lruvec's clock advances
its ancestors' lruvecs' clocks on the same node with it (parent_lruvec()),
and a refault is measured on the clock of the lruvec it was evicted from.

Here: `nonresident_age` is one int per lruvec; a shadow is four per-folio
arrays (the clock at eviction, the eviction lruvec, PG_workingset at
eviction, and the policy's own value from folio_evicted). No bucket_order:
the simulator has 64 bits for the clock.
"""

from __future__ import annotations

import numpy as np

from hooks.types import LRU_FILE
from simulator.folios import group_by

NO_SHADOW = -1


class Workingset:
    def __init__(self, nr_pages: int, nr_lruvecs: int, lruvec_ancestors: list[list[int]] | None = None) -> None:
        """`lruvec_ancestors[l]`: lruvec l and its ancestors' lruvecs on its
        node, itself first (default: no memcgs, each lruvec its own root)."""
        self.nonresident_age = np.zeros(nr_lruvecs, np.int64)
        self.ancestors = [tuple(chain) for chain in lruvec_ancestors or [[l] for l in range(nr_lruvecs)]]
        self.shadow_age = np.full(nr_pages, NO_SHADOW, np.int64)
        self.shadow_lruvec = np.zeros(nr_pages, np.int32)
        self.shadow_workingset = np.zeros(nr_pages, bool)
        self.shadow_value = np.zeros(nr_pages, np.int64)

    def age_nonresident(self, lruvec: int, nr: int) -> None:
        """workingset_age_nonresident(): the lruvec's clock and its
        ancestors' advance together (a scalar add each: exact cache mode
        evicts one folio at a time)."""
        for ancestor in self.ancestors[lruvec]:
            self.nonresident_age[ancestor] += nr

    def evict(self, folios: np.ndarray, lruvec: int, workingset: np.ndarray, values: np.ndarray) -> None:
        """workingset_eviction(): each folio records the clock before it
        advances the clock by one page, in eviction order."""
        n = len(folios)
        base = self.nonresident_age[lruvec]
        self.shadow_age[folios] = base + np.arange(n, dtype=np.int64)
        self.shadow_lruvec[folios] = lruvec
        self.shadow_workingset[folios] = workingset
        self.shadow_value[folios] = values
        self.age_nonresident(lruvec, n)

    def has_shadow(self, folios: np.ndarray) -> np.ndarray:
        return self.shadow_age[folios] != NO_SHADOW

    def refault_distance(self, folios: np.ndarray) -> np.ndarray:
        return self.nonresident_age[self.shadow_lruvec[folios]] - self.shadow_age[folios]

    def test_recent(self, folios: np.ndarray, lru_type: np.ndarray, lruvec_sizes, can_swap: bool) -> np.ndarray:
        """workingset_test_recent() for each folio: is its refault distance
        within the workingset of the lruvec it was evicted from?
        `lruvec_sizes(lruvec)` gives its (active, inactive) pages per type."""
        distance = self.refault_distance(folios)
        key = self.shadow_lruvec[folios].astype(np.int64) * 2 + lru_type
        recent = np.zeros(len(folios), bool)
        for k, sel in group_by(key):
            active, inactive = lruvec_sizes(k // 2)
            recent[sel] = distance[sel] <= workingset_size(active, inactive, k % 2 == LRU_FILE, can_swap)
        return recent

    def forget(self, folios: np.ndarray) -> None:
        """Drop shadows: the folio refaulted, or its file or swap slot went away."""
        self.shadow_age[folios] = NO_SHADOW


def workingset_size(nr_active: tuple[int, int], nr_inactive: tuple[int, int], lru_file: bool, can_swap: bool) -> int:
    """workingset_test_recent()'s budget: how much of the lruvec a
    refaulting page of this type could have displaced. Indexed (anon, file)."""
    size = nr_active[1]
    if not lru_file:
        size += nr_inactive[1]
    if can_swap:
        size += nr_active[0]
        if lru_file:
            size += nr_inactive[0]
    return size
