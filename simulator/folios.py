"""Folio state and the lists the core stores for policies.

Every page a workload can touch has an id from 0 to nr_pages-1, fixed at
start (anon regions and files are laid out one after another). Its state is a
set of numpy arrays indexed by that id, so the per-access work is vectorised.
A folio here is one base page: the simulator has no large folios.

The lists are the kernel's list_heads made vectorisable: each list is a
queue of (folio, stamp) entries in a numpy array, oldest (tail) first. A
folio's current list and stamp live in per-folio arrays; an entry is live only
if its stamp is the folio's current stamp, so deleting or moving a folio is
O(1) (the old entry goes stale) and adding a batch is one slice assignment.
Stale entries are skipped when the tail is read and dropped when a queue is
compacted. Head adds take increasing stamps, tail adds decreasing ones, so a
stamp is never reused and never ambiguous.

A ghost list (interface 1.2) is the same queue holding folios that left
memory: a policy's ordered view of its shadow entries. Its folios count in
no lruvec size.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

NO_LIST = -1
NOT_RESIDENT = -1


def group_by(keys: np.ndarray) -> list[tuple[int, np.ndarray | slice]]:
    """The distinct keys of a batch, each with the selection of its entries.
    A batch almost always has one key (one lruvec, one list), which costs a
    single comparison instead of a sort."""
    if len(keys) == 0:
        return []
    first = keys[0]
    if (keys == first).all():
        return [(int(first), slice(None))]
    return [(int(k), keys == k) for k in np.unique(keys).tolist()]


class FolioTable:
    """Per-folio state arrays."""

    def __init__(self, nr_pages: int, page_type: np.ndarray) -> None:
        self.nr_pages = nr_pages
        self.type = page_type.astype(np.int8)  # LRU_ANON / LRU_FILE, fixed
        self.node = np.full(nr_pages, NOT_RESIDENT, np.int16)  # resident node
        self.frame = np.full(nr_pages, -1, np.int64)
        self.lruvec = np.full(nr_pages, NOT_RESIDENT, np.int32)
        self.flags = np.zeros(nr_pages, np.uint16)
        self.young = np.zeros(nr_pages, np.uint8)  # one accessed bit per mapping process
        self.mapcount = np.zeros(nr_pages, np.int8)
        self.data = np.zeros(nr_pages, np.int64)  # the policy's integer
        self.in_swap = np.zeros(nr_pages, bool)  # owns a swap slot
        self.dirtied_at = np.zeros(nr_pages, np.int64)  # when it became dirty (for the flusher)
        self.owner = np.full(nr_pages, -1, np.int32)  # the process of an anon page, -1 for file


@dataclass
class _Queue:
    lruvec: int
    lru_type: int
    active: bool
    name: str
    pages: np.ndarray
    stamps: np.ndarray
    lo: int
    hi: int
    length: int = 0
    ghost: bool = False


class LruLists:
    """The policy-owned lists, stored by the core (cache_ext's eviction lists)."""

    _INITIAL = 1024

    def __init__(self, folios: FolioTable) -> None:
        self.folios = folios
        self.page_list = np.full(folios.nr_pages, NO_LIST, np.int32)
        self.page_stamp = np.zeros(folios.nr_pages, np.int64)
        self.queues: list[_Queue] = []
        self.is_ghost = np.zeros(0, bool)  # per list
        self._head_stamp = 0
        self._tail_stamp = 0
        self._slots: np.ndarray | None = None  # _last_occurrences' scratch, made on first use
        self._positions: np.ndarray | None = None

    # ------------------------------------------------------------------
    def create(self, lruvec: int, lru_type: int, active: bool, name: str, ghost: bool = False) -> int:
        size = self._INITIAL
        q = _Queue(lruvec, lru_type, active and not ghost, name, np.zeros(size, np.int64), np.zeros(size, np.int64),
                   size // 2, size // 2, ghost=ghost)
        self.queues.append(q)
        self.is_ghost = np.append(self.is_ghost, ghost)
        return len(self.queues) - 1

    def on_resident_list(self, folios: np.ndarray) -> np.ndarray:
        """Per folio: is it on a list that is not a ghost list?"""
        if len(folios) == 1:  # exact cache mode's every check
            lst = self.page_list[folios[0]]
            return np.array([lst != NO_LIST and not self.is_ghost[lst]])
        lists = self.page_list[folios]
        on = lists != NO_LIST
        on[on] = ~self.is_ghost[lists[on]]
        return on

    def type_sizes(self, lruvec: int) -> tuple[int, int]:
        """The folios on the lruvec's lists, per LRU type."""
        sizes = [0, 0]
        for q in self.queues:
            if q.lruvec == lruvec and not q.ghost:
                sizes[q.lru_type] += q.length
        return sizes[0], sizes[1]

    def active_inactive(self, lruvec: int) -> tuple[tuple[int, int], tuple[int, int]]:
        """NR_ACTIVE_{ANON,FILE} and NR_INACTIVE_{ANON,FILE} of an lruvec,
        from the activeness the policy gave its lists."""
        active, inactive = [0, 0], [0, 0]
        for q in self.queues:
            if q.lruvec == lruvec and not q.ghost:
                (active if q.active else inactive)[q.lru_type] += q.length
        return (active[0], active[1]), (inactive[0], inactive[1])

    def length(self, lst: int) -> int:
        return self.queues[lst].length

    def delete(self, folios: np.ndarray) -> None:
        """Take folios off their lists; their entries go stale. A folio
        named twice is taken off once."""
        self._unlink(self._last_occurrences(folios))

    def _unlink(self, folios: np.ndarray) -> None:
        """delete() of distinct folios."""
        if len(folios) == 1:
            self._unlink_one(int(folios[0]))
            return
        folios = folios[self.page_list[folios] != NO_LIST]
        if len(folios) == 0:
            return
        lists = self.page_list[folios]
        for lst, sel in group_by(lists):
            self.queues[lst].length -= len(folios) if isinstance(sel, slice) else int(np.count_nonzero(sel))
        self.page_list[folios] = NO_LIST
        self.page_stamp[folios] = 0  # stamps start at +-1: no entry matches 0

    def add(self, lst: int, folios: np.ndarray, tail: bool = False) -> None:
        """Add folios one after another at the head or the tail; a folio
        already on a list is moved, a folio named twice ends where its last
        occurrence puts it."""
        if len(folios) == 0:
            return
        if len(folios) == 1:
            self._add_one(lst, int(folios[0]), tail)
            return
        folios = self._last_occurrences(folios)
        n = len(folios)
        self._unlink(folios)
        q = self.queues[lst]
        if tail:
            if q.lo < n:
                self._make_room(q, n)
            stamps = np.arange(self._tail_stamp - 1, self._tail_stamp - 1 - n, -1, dtype=np.int64)
            self._tail_stamp -= n
            # the last folio added ends up at the very tail: store reversed
            q.pages[q.lo - n : q.lo] = folios[::-1]
            q.stamps[q.lo - n : q.lo] = stamps[::-1]
            q.lo -= n
        else:
            if len(q.pages) - q.hi < n:
                self._make_room(q, n)
            stamps = np.arange(self._head_stamp + 1, self._head_stamp + 1 + n, dtype=np.int64)
            self._head_stamp += n
            q.pages[q.hi : q.hi + n] = folios
            q.stamps[q.hi : q.hi + n] = stamps
            q.hi += n
        self.page_list[folios] = lst
        self.page_stamp[folios] = stamps
        q.length += n

    def peek(self, lst: int, n: int, tail: bool = True) -> np.ndarray:
        """Up to n live folios from the tail (oldest first) or from the head
        (newest first)."""
        q = self.queues[lst]
        n = min(n, q.length)
        if n <= 0:
            return np.empty(0, np.int64)
        if n == 1:
            return self._peek_one(q, tail)
        window = max(2 * n, 64)
        while True:
            if tail:
                sl = slice(q.lo, min(q.lo + window, q.hi))
                pages, stamps = q.pages[sl], q.stamps[sl]
                whole = sl.stop == q.hi
            else:
                sl = slice(max(q.hi - window, q.lo), q.hi)
                pages, stamps = q.pages[sl][::-1], q.stamps[sl][::-1]
                whole = sl.start == q.lo
            live = self.page_stamp[pages] == stamps
            if tail:
                # stale entries at the tail are never live again: skip them for good
                skip = int(np.argmax(live)) if live.any() else len(live)
                q.lo += skip
                pages, live = pages[skip:], live[skip:]
            found = pages[live]
            if len(found) >= n or whole:
                return found[:n].copy()
            window *= 4

    def reset(self) -> None:
        """Drop every list (a policy was ejected): no folio is on a list."""
        self.page_list[:] = NO_LIST
        self.page_stamp[:] = 0
        self.queues = []
        self.is_ghost = np.zeros(0, bool)

    def release(self, lists: list[int]) -> None:
        """Empty the lists of one ejected policy of several: their folios
        are on no list, the lists stay (empty) so other ids keep meaning."""
        for lst in lists:
            q = self.queues[lst]
            self.page_list[self.live(lst)] = NO_LIST
            q.lo = q.hi = len(q.pages) // 2
            q.length = 0

    def live(self, lst: int) -> np.ndarray:
        """Every folio on the list, tail first (for checks and dumps)."""
        q = self.queues[lst]
        pages = q.pages[q.lo : q.hi]
        live = self.page_stamp[pages] == q.stamps[q.lo : q.hi]
        return pages[live].copy()

    # ------------------------------------------------------------------
    # One folio at a time: exact cache mode moves one folio per miss, and
    # on one-element arrays numpy's per-call cost is all the cost.
    # ------------------------------------------------------------------
    def _unlink_one(self, folio: int) -> None:
        lst = self.page_list[folio]
        if lst != NO_LIST:
            self.queues[lst].length -= 1
            self.page_list[folio] = NO_LIST
            self.page_stamp[folio] = 0

    def _add_one(self, lst: int, folio: int, tail: bool) -> None:
        self._unlink_one(folio)
        q = self.queues[lst]
        if tail:
            if q.lo < 1:
                self._make_room(q, 1)
            self._tail_stamp -= 1
            stamp = self._tail_stamp
            q.lo -= 1
            q.pages[q.lo], q.stamps[q.lo] = folio, stamp
        else:
            if q.hi == len(q.pages):
                self._make_room(q, 1)
            self._head_stamp += 1
            stamp = self._head_stamp
            q.pages[q.hi], q.stamps[q.hi] = folio, stamp
            q.hi += 1
        self.page_list[folio] = lst
        self.page_stamp[folio] = stamp
        q.length += 1

    def _peek_one(self, q: _Queue, tail: bool) -> np.ndarray:
        """The live folio at the tail (or head) of a non-empty queue; the
        stale entries passed on the way are dropped for good (no entry
        beyond a live one is ever live again)."""
        pages, stamps, page_stamp = q.pages, q.stamps, self.page_stamp
        if tail:
            while page_stamp[pages[q.lo]] != stamps[q.lo]:
                q.lo += 1
            return pages[q.lo : q.lo + 1].copy()
        while page_stamp[pages[q.hi - 1]] != stamps[q.hi - 1]:
            q.hi -= 1
        return pages[q.hi - 1 : q.hi].copy()

    def _last_occurrences(self, folios: np.ndarray) -> np.ndarray:
        """The folios with only the last occurrence of each kept, in order.
        Finding whether any folio repeats is O(n): each writes its position
        into a slot of its own, and a repeated one reads back another
        position (whichever write won). Only then the O(n log n) way."""
        n = len(folios)
        if n < 2:
            return folios
        if n <= self.folios.nr_pages:  # more entries than folios certainly repeat
            if self._slots is None:
                self._slots = np.empty(self.folios.nr_pages, np.int64)
                self._positions = np.arange(self.folios.nr_pages, dtype=np.int64)
            positions = self._positions[:n]
            self._slots[folios] = positions
            if np.array_equal(self._slots[folios], positions):
                return folios
        _, last_from_end = np.unique(folios[::-1], return_index=True)
        return folios[np.sort(n - 1 - last_from_end)]

    def _make_room(self, q: _Queue, n: int) -> None:
        """Compact the live entries into a fresh array with room on both
        sides for at least n more."""
        pages = q.pages[q.lo : q.hi]
        stamps = q.stamps[q.lo : q.hi]
        live = self.page_stamp[pages] == stamps
        pages, stamps = pages[live], stamps[live]
        size = max(self._INITIAL, 2 * (len(pages) + n) + 2 * n)
        lo = (size - len(pages)) // 2
        q.pages = np.zeros(size, np.int64)
        q.stamps = np.zeros(size, np.int64)
        q.pages[lo : lo + len(pages)] = pages
        q.stamps[lo : lo + len(pages)] = stamps
        q.lo, q.hi = lo, lo + len(pages)
