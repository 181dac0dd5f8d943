"""Replaying traces in exact cache mode (simulator/cache.py).

    >>> from reclaim_ext.replay import replay
    >>> replay(ids, "10%", policy="example:lru")["miss_ratio"]

`replay()` backs `reclaim-ext replay` and the scenario files that have a
[replay] table. Any policy runs: the built-ins, the examples, a policy file,
and `opt`.

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
from collections.abc import Callable
from typing import Any

import numpy as np

from reclaim_ext.policies import BUILTIN_POLICIES, load_policy
from simulator.cache import CacheLivelock, ExactCache
from simulator.policy import PolicyError

NEVER = np.iinfo(np.int64).max
OPT = "opt"


class ReplayFailed(RuntimeError):
    """The replay stopped before the end; `result` holds what it measured."""

    def __init__(self, message: str, result: dict[str, Any]) -> None:
        super().__init__(message)
        self.result = result


def dense_ids(ids: np.ndarray) -> np.ndarray:
    """The ids renumbered 0, 1, 2... in order of first request (a folio id
    per distinct object)."""
    ids = np.asarray(ids, np.int64)
    if ids.size == 0:
        return ids
    _, first, inverse = np.unique(ids, return_index=True, return_inverse=True)
    renumber = np.empty(len(first), np.int64)
    renumber[np.argsort(first, kind="stable")] = np.arange(len(first))
    return renumber[inverse]


def cache_pages_of(size: int | str, unique: int) -> int:
    """A cache size in pages: a count, or a percentage of the distinct ids
    ("10%", at least one page)."""
    if isinstance(size, str) and size.strip().endswith("%"):
        try:
            percent = float(size.strip()[:-1])
        except ValueError:
            raise ValueError(f"cache size {size!r}: a percentage is a number followed by %") from None
        if not 0 < percent <= 100:
            raise ValueError(f"cache size {size!r}: a percentage must be in (0, 100]")
        return max(1, int(unique * percent / 100))
    try:
        pages = int(str(size).replace("_", ""))
    except ValueError:
        raise ValueError(f"cache size {size!r}: a number of pages or a percentage of the distinct ids (10%)") from None
    if pages < 1:
        raise ValueError(f"cache size {size!r}: a cache holds at least one page")
    return pages


def replay(
    ids: np.ndarray,
    cache_pages: int | str,
    policy: str = "lru",
    *,
    seed: int = 0,
    fallback: str = "lru",
    progress: Callable[[float], None] | None = None,
) -> dict[str, Any]:
    """Replay a request stream in exact cache mode and return
    {"requests", "unique", "hits", "misses", "miss_ratio", "policy",
    "cache_pages", "ejections"}. `policy` is any loadable policy or "opt".

    Raises PolicyNotFound/PolicyError as run() does, ValueError for a bad
    cache size, and ReplayFailed (with the partial result) when a trusted
    policy stops naming victims."""
    ids = dense_ids(ids)
    unique = int(ids.max()) + 1 if ids.size else 0
    pages = cache_pages_of(cache_pages, unique)
    if policy == OPT:
        misses = opt_misses(ids, pages)
        return _result(len(ids), unique, misses, OPT, pages, [])
    if fallback not in BUILTIN_POLICIES:
        raise PolicyError(f"the fallback policy must be a built-in ({', '.join(BUILTIN_POLICIES)}), not {fallback!r}")
    cache = ExactCache(ids, pages, policy, load_policy(policy), fallback=(fallback, BUILTIN_POLICIES[fallback][0]),
                       seed=seed)
    try:
        cache.run(progress)
    except CacheLivelock as err:
        result = _result(cache.now, unique, cache.misses, policy, pages, _ejections(cache))
        raise ReplayFailed(str(err), result) from err
    return _result(len(ids), unique, cache.misses, policy, pages, _ejections(cache))


def _ejections(cache: ExactCache) -> list[dict[str, Any]]:
    """The ejection records, timed by request (virtual time counts
    requests in exact cache mode)."""
    return [{**record, "request": record["time_ns"]} for record in cache.ejections]


def _result(requests: int, unique: int, misses: int, policy: str, cache_pages: int, ejections: list) -> dict[str, Any]:
    return {
        "requests": requests,
        "unique": unique,
        "hits": requests - misses,
        "misses": misses,
        "miss_ratio": misses / requests if requests else 0.0,
        "policy": policy,
        "cache_pages": cache_pages,
        "ejections": ejections,
    }


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
