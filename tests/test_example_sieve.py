"""example_policies/sieve.py: SIEVE (Zhang et al., NSDI'24) in exact cache
mode, request by request on small cases worked out by hand, against a
pure-Python SIEVE on random streams, against libCacheSim's Sieve when it is
installed, and in the full simulated machine."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from reclaim_ext.api import run
from reclaim_ext.policies import load_policy
from reclaim_ext.replay import dense_ids, replay
from simulator.cache import ExactCache
from test_cli import small  # noqa: F401 (a fixture)


def misses(ids, pages: int) -> int:
    result = replay(np.asarray(ids, np.int64), pages, "sieve")
    assert result["ejections"] == []
    return result["misses"]


def by_hand(stream: str, pages: int) -> tuple[str, set[str]]:
    """For a stream of one-letter names: 'm' or 'h' per request, and the
    names in the cache at the end."""
    ids = dense_ids(np.array([ord(c) for c in stream]))
    cache = ExactCache(ids, pages, "sieve", load_policy("sieve"))
    outcome = []
    cache.run(after_request=lambda i, hit: outcome.append("h" if hit else "m"))
    assert cache.ejections == []
    names = dict(zip(ids.tolist(), stream))
    return "".join(outcome), {names[i] for i in np.flatnonzero(cache.folios.lruvec >= 0).tolist()}


def outcomes(stream: str, pages: int) -> str:
    return by_hand(stream, pages)[0]


def resident(stream: str, pages: int) -> set[str]:
    return by_hand(stream, pages)[1]


# --------------------------------------------------------------------------
# by hand. The queue is written newest first, the hand's folio in brackets;
# a lower-case name is visited.
# --------------------------------------------------------------------------
def test_a_worked_example_in_the_manner_of_the_papers_figure():
    # ABCDEFG fill 7 pages: G F E D C B [A]. A, B, D hit: G F E d C b [a].
    # H: the hand clears a and b, evicts C, rests on D: H G F E [d] B A.
    # A hits: H G F E [d] B a.
    # I: the hand clears d, evicts E, rests on F: I H G [F] D B a.
    # C (back again) evicts F at once: C I H [G] D B a. B hits: ... D b a.
    stream = "ABCDEFG" "ABD" "H" "A" "I" "C" "B"
    assert outcomes(stream, 7) == "mmmmmmm" "hhh" "m" "h" "m" "m" "h"
    assert resident(stream, 7) == set("ABCDGHI")
    # J, K, L evict G, H and I in turn, new and never used, while A and B,
    # kept when the hand passed them, stay: survivors gather at the tail
    assert resident(stream + "JKL", 7) == set("ABCDJKL")


def test_the_hand_stays_where_it_evicted():
    # ABC: C B [A]; A hits. D: a cleared, B evicted, the hand on C: D [C] A.
    # E evicts C, not A (a hand back at the tail, or on the older
    # neighbour, would take A): E [D] A. A hits; C evicts D.
    assert outcomes("ABC" "A" "D" "E" "A" "C", 3) == "mmm" "h" "m" "m" "h" "m"
    assert resident("ABCADE", 3) == set("ADE")


def test_past_the_newest_the_hand_wraps_to_the_oldest():
    # ABC: C B [A]; A, B hit. D: a and b cleared, C evicted; C was the
    # newest, so the hand wraps to the oldest: D B [A].
    # E evicts A, the oldest, not D, the newest: E D [B]. D hits.
    stream = "ABC" "AB" "D" "E"
    assert outcomes(stream + "D" "A", 3) == "mmm" "hh" "m" "m" "h" "m"
    assert resident(stream, 3) == set("BDE")


def test_when_all_are_visited_the_hand_goes_round_and_evicts_the_oldest():
    # ABC, every one visited: c b [a]. D: the hand clears a, b and c, wraps
    # to A and evicts it, resting on B: D C [B]. E evicts B: E D [C].
    # C hits. A: the hand clears c, evicts D, rests on E: A [E] C. E hits.
    stream = "ABC" "ABC" "D"
    assert outcomes(stream + "E" "C" "A" "E", 3) == "mmm" "hhh" "m" "m" "h" "m" "h"
    assert resident(stream, 3) == set("BCD")
    assert resident(stream + "E", 3) == set("CDE")


def test_one_page_holds_the_last_name():
    assert outcomes("AABAB", 1) == "mhmmm"


# --------------------------------------------------------------------------
# against a pure-Python SIEVE
# --------------------------------------------------------------------------
def sieve_misses(ids, pages: int) -> int:
    """SIEVE as the paper states it. `queue` is oldest first; `hand` is the
    index of the next folio to look at, None for the oldest."""
    queue: list[int] = []
    visited: dict[int, bool] = {}
    hand = None
    nr_misses = 0
    for x in ids:
        if x in visited:
            visited[x] = True
            continue
        nr_misses += 1
        if len(queue) == pages:
            i = 0 if hand is None else hand
            while visited[queue[i]]:
                visited[queue[i]] = False
                i = (i + 1) % len(queue)
            del visited[queue.pop(i)]
            hand = i if i < len(queue) else None  # the next newer now sits at i
        queue.append(x)
        visited[x] = False
    return nr_misses


def test_the_reference_is_sieve():
    # the hand-checked cases above, with A=0, B=1...
    def ids(stream):
        return [ord(c) - ord("A") for c in stream]
    assert sieve_misses(ids("ABCDEFGABDHAICB"), 7) == 10
    assert sieve_misses(ids("ABCADEAC"), 3) == 6
    assert sieve_misses(ids("ABCABDEDA"), 3) == 6
    assert sieve_misses(ids("ABCABCDECAE"), 3) == 6


def test_random_streams_match_the_reference():
    rng = np.random.default_rng(5)
    for _ in range(25):
        distinct = int(rng.integers(2, 60))
        pages = int(rng.integers(1, distinct + 2))
        if rng.random() < 0.5:
            ids = rng.integers(0, distinct, int(rng.integers(50, 500)))
        else:  # skewed: many hits, many visited folios for the hand to pass
            ids = rng.zipf(1.3, int(rng.integers(50, 500))) % distinct
        assert misses(ids, pages) == sieve_misses(ids.tolist(), pages), (distinct, pages, ids.tolist())


# --------------------------------------------------------------------------
# against libCacheSim's Sieve.c
# --------------------------------------------------------------------------
def streams():
    rng = np.random.default_rng(24)
    loop = np.tile(np.arange(30), 20)
    scan = np.arange(1000, 1000 + len(loop))
    loop_and_scan = np.ravel(np.column_stack([loop, scan]))  # a loop with a scan interleaved
    return {
        "uniform": rng.integers(0, 400, 2000),
        "zipf": rng.zipf(1.1, 3000) % 1000,
        "loop+scan": np.concatenate([loop_and_scan, np.tile(np.arange(250), 3)]),
    }


@pytest.mark.parametrize("name", ["uniform", "zipf", "loop+scan"])
def test_miss_counts_equal_libcachesim(name, tmp_path: Path):
    lcs = pytest.importorskip("libcachesim")
    ids = streams()[name]
    path = tmp_path / "trace.txt"
    np.savetxt(path, ids, fmt="%d")
    for pages in (1, 2, 3, 10, 37, 100, 500):
        ratio, _ = lcs.Sieve(cache_size=pages).process_trace(lcs.TraceReader(str(path), lcs.TraceType.PLAIN_TXT_TRACE))
        expected = round(ratio * len(ids))
        assert sieve_misses(ids.tolist(), pages) == expected, (name, pages, "the reference")
        assert misses(ids, pages) == expected, (name, pages)


# --------------------------------------------------------------------------
# in the full machine: two nodes, anon and file, mapped folios whose use
# only the page tables show, writeback and putback
# --------------------------------------------------------------------------
def test_runs_the_small_machine_without_ejection(small):  # noqa: F811 (the fixture)
    result = run(small, policy="sieve", accesses=30000)
    assert result["ejections"] == []
    vmstat = result["vmstat"]
    assert vmstat["pgsteal_anon"] > 0 and vmstat["pgsteal_file"] > 0, "it reclaimed both types"
