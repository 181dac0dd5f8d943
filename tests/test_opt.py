"""Belady's MIN: hand-checked cases, and the minimum itself, found by
trying every eviction on small streams."""

from __future__ import annotations

from functools import lru_cache

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from reclaim_ext.replay import NEVER, next_use, opt_misses


def test_next_use():
    assert next_use(np.array([1, 2, 1, 3, 2, 1])).tolist() == [2, 4, 5, NEVER, NEVER, NEVER]


@pytest.mark.parametrize(
    "stream, pages, misses",
    [
        # 1 and 2 miss; 3 misses and evicts 2 (1 comes back first); 1 hits; 2 misses
        ([1, 2, 3, 1, 2], 2, 4),
        ([1, 2, 1, 2, 1, 2], 2, 2),  # both fit: only the cold misses
        # a loop one page larger than the cache: LRU misses all 8; OPT gives up
        # one page at a time (4 evicts 3, 3 evicts 1) and misses 5
        ([1, 2, 3, 4, 1, 2, 3, 4], 3, 5),
        ([7, 7, 7], 1, 1),
        ([1, 2, 3], 1, 3),
    ],
)
def test_hand_checked_cases(stream, pages, misses):
    assert opt_misses(np.array(stream), pages) == misses


def brute_force_minimum(stream: tuple[int, ...], pages: int) -> int:
    """The fewest misses any eviction choices give (every miss inserts)."""

    @lru_cache(maxsize=None)
    def best(i: int, cache: frozenset) -> int:
        if i == len(stream):
            return 0
        obj = stream[i]
        if obj in cache:
            return best(i + 1, cache)
        if len(cache) < pages:
            return 1 + best(i + 1, cache | {obj})
        return 1 + min(best(i + 1, (cache - {victim}) | {obj}) for victim in cache)

    return best(0, frozenset())


@settings(max_examples=200, deadline=None)
@given(st.lists(st.integers(0, 5), max_size=14), st.integers(1, 4))
def test_opt_is_the_minimum(stream, pages):
    assert opt_misses(np.array(stream, np.int64), pages) == brute_force_minimum(tuple(stream), pages)


def write_oracle_trace(ids: np.ndarray, path) -> None:
    """libCacheSim's oracleGeneral format: per request a u32 time, u64 id,
    u32 size and the i64 index of the next request for the id (-1: never),
    which its Belady reads."""
    record = np.dtype([("time", "<u4"), ("id", "<u8"), ("size", "<u4"), ("next", "<i8")])
    trace = np.zeros(len(ids), record)
    trace["time"], trace["id"], trace["size"] = np.arange(len(ids)), ids, 1
    upcoming = next_use(ids)
    trace["next"] = np.where(upcoming == NEVER, -1, upcoming)
    trace.tofile(path)


@pytest.mark.parametrize("seed", [1, 2])
@pytest.mark.parametrize("pages", [10, 100, 1000])
def test_opt_matches_libcachesim_belady(tmp_path, seed, pages):
    lcs = pytest.importorskip("libcachesim")
    rng = np.random.default_rng(seed)
    ids = (rng.zipf(1.2, 20000) % 5000).astype(np.int64)
    path = tmp_path / "stream.oracle"
    write_oracle_trace(ids, path)
    miss_ratio, _ = lcs.Belady(cache_size=pages).process_trace(lcs.TraceReader(str(path), lcs.TraceType.ORACLE_GENERAL_TRACE))
    assert opt_misses(ids, pages) == round(miss_ratio * len(ids))
