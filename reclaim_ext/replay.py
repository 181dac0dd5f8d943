"""Replaying traces in exact cache mode.

`opt`: Belady's MIN (Belady, "A study of replacement algorithms for a
virtual-storage computer", IBM Systems Journal 1966), the offline optimum
that every policy's miss count is compared against. It needs the future,
so it is part of the replay path, not a hook policy: on a miss with a full
cache it evicts the cached object whose next request lies furthest ahead
(or never comes). Like libCacheSim's Belady, every missed object is
inserted, even one that is never requested again.
"""

from __future__ import annotations

import heapq

import numpy as np

NEVER = np.iinfo(np.int64).max


def next_use(ids: np.ndarray) -> np.ndarray:
    """For each request, the index of the next request for the same id, or
    NEVER."""
    order = np.argsort(ids, kind="stable")
    following = np.full(len(ids), NEVER, np.int64)
    same = ids[order[1:]] == ids[order[:-1]]
    following[order[:-1][same]] = order[1:][same]
    return following


def opt_misses(ids: np.ndarray, cache_pages: int) -> int:
    """The misses of Belady's MIN on the request stream with a cache of
    `cache_pages` objects."""
    if cache_pages < 1:
        raise ValueError(f"a cache holds at least one page, not {cache_pages}")
    ids = np.asarray(ids, np.int64)
    upcoming = next_use(ids).tolist()
    cached: dict[int, int] = {}  # id -> the index of its next request
    furthest: list[tuple[int, int]] = []  # (-next request, id), stale entries skipped lazily
    misses = 0
    for i, obj in enumerate(ids.tolist()):
        if obj not in cached:
            misses += 1
            if len(cached) == cache_pages:
                _evict_furthest(cached, furthest)
        cached[obj] = upcoming[i]
        heapq.heappush(furthest, (-upcoming[i], obj))
    return misses


def _evict_furthest(cached: dict[int, int], furthest: list[tuple[int, int]]) -> None:
    while True:
        when, obj = heapq.heappop(furthest)
        if cached.get(obj) == -when:
            del cached[obj]
            return
