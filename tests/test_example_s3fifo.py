"""example_policies/s3fifo.py: S3-FIFO (Yang et al., SOSP'23) as libCacheSim
0.3.5 runs it, in exact cache mode: request by request on small cases
worked out by hand, against a pure-Python S3-FIFO on random streams,
against libCacheSim's S3FIFO when it is installed; and in the full
simulated machine."""

from __future__ import annotations

from collections import OrderedDict, deque
from pathlib import Path

import numpy as np
import pytest

from reclaim_ext.api import run
from reclaim_ext.policies import load_policy
from reclaim_ext.replay import dense_ids, replay
from simulator.cache import ExactCache
from test_cli import small  # noqa: F401 (a fixture)


def misses(ids, pages: int) -> int:
    result = replay(np.asarray(ids, np.int64), pages, "s3fifo")
    assert result["ejections"] == []
    return result["misses"]


def outcomes(stream: list[int], pages: int) -> str:
    """'m' or 'h' per request, one request at a time; the same misses when
    replay() hands the hits between two misses over as one batch."""
    cache = ExactCache(dense_ids(np.array(stream)), pages, "s3fifo", load_policy("s3fifo"))
    outcome: list[str] = []
    cache.run(after_request=lambda i, hit: outcome.append("h" if hit else "m"))
    assert cache.ejections == []
    assert misses(stream, pages) == outcome.count("m")
    return "".join(outcome)


def ids(first: int, last: int) -> list[int]:
    return list(range(first, last + 1))


# --------------------------------------------------------------------------
# by hand. C = 20: S's share is 2, M's 18, G holds 18 ids. Queues are
# written newest first.
# --------------------------------------------------------------------------
WARM = ids(0, 19)  # 0 and 1 fill S; S full and nothing evicted yet, 2..19 go to M


def test_warm_up_fills_main_and_a_scan_passes_through_small():
    # 0..19: S = [1 0], M = [19..2] (the warm-up rule).
    # 100..139: S holds its share, so each miss evicts S's oldest, unused:
    # 0, 1, then the scan itself, into G. M is never touched.
    # 2..19 hit. 0 and 1 miss: the 40 ids after them pushed them out of G.
    stream = WARM + ids(100, 139) + ids(2, 19) + [0, 1]
    assert outcomes(stream, 20) == "m" * 20 + "m" * 40 + "h" * 18 + "mm"


def test_two_uses_in_small_earn_main_and_restart_at_zero():
    # 0 0: 0 hits twice in S (replay() hands both over in one batch: each
    # occurrence counts).
    # 100: from S's oldest: 0, used twice, moves to M's head with count 0;
    # 1, unused, is evicted into G. S = [100] is below its share, M holds 19,
    # 101: so the eviction is M's: its oldest, 2, unused, leaves (not into G).
    # 102..139 pass through S. 0 hits in M, 2 misses, 3 hits.
    stream = WARM + [0, 0] + ids(100, 139) + [0, 2, 3]
    assert outcomes(stream, 20) == "m" * 20 + "hh" + "m" * 40 + "h" + "m" + "h"


def test_a_ghost_hit_goes_to_main_whose_clock_spares_the_used():
    # 2 is used 5 times, 3 once, in M.
    # 100, 101 evict 0 and 1 from S into G: S = [101 100].
    # 0, found in G at lookup, goes to M; the eviction it causes is S's
    # (100 into G): S = [101], M = [0 19..2].
    # 1, in G: S is below its share, so M evicts: 2 goes back to the head
    # with min(5, 3) - 1 = 2 uses, 3 with 0, and 4, unused, leaves.
    # 1 to M: M = [1 3 2 0 19..5].
    # 4 misses (not in G: it left M) into S; S = [101] is below its share,
    # so M evicts its oldest, 5. 2 and 3 hit. 5 misses: S's 101 leaves.
    stream = WARM + [2] * 5 + [3] + [100, 101] + [0, 1] + [4] + [2, 3] + [5]
    assert outcomes(stream, 20) == "m" * 20 + "h" * 6 + "mm" + "mm" + "m" + "hh" + "m"


@pytest.mark.parametrize("scan, last", [(33, "h"), (34, "m")])
def test_the_ghost_holds_floor_nine_tenths_of_c(scan, last):
    # C = 37: S 3, M 34, G 33 ids (libCacheSim's floor(0.9 C), not |M|).
    # 0..36: S = [2 1 0], M = 3..36. A scan of k new ids evicts 0, 1, 2 and
    # the scan from S into G; k of them, 0 the oldest. With k = 33, 0 is
    # still in G: it comes back to M (evicting S's oldest), the next miss
    # takes M's oldest (3: S is below its share), and another scan of 37
    # passes through S: 0 hits at the end. With k = 34, G forgot 0: it
    # comes back to S and the scan evicts it.
    stream = ids(0, 36) + ids(100, 99 + scan) + [0] + ids(200, 236) + [0]
    assert outcomes(stream, 37) == "m" * 37 + "m" * scan + "m" + "m" * 37 + last


def test_small_memories_work_where_libcachesim_does_not():
    # libCacheSim aborts below C = 10 and caches nothing from 10 to 19.
    # C = 5: S 1, M 4, G 4. 0 to S, 1..4 to M. 5 evicts 0 into G.
    # 0, in G, goes to M; S's 5 is evicted: S = [], M = [0 4 3 2 1].
    # 1 hits. 6: S is empty, M evicts: 1 back with 0 uses, 2 leaves.
    # 1 hits; 2 misses (into S, evicting 6).
    assert outcomes(ids(0, 4) + [5, 0, 1, 6, 1, 2], 5) == "mmmmm" "mm" "h" "m" "h" "m"
    # C = 1: S 1, no G. A folio used once leaves from S; one used twice
    # moves to M, S is empty, and M evicts it (it has no use since).
    assert outcomes([0, 0, 1, 0, 1], 1) == "mhmmm"
    assert outcomes([0, 0, 0, 1, 1, 0], 1) == "mhhmhm"
    # C = 15: S 1, M 14, G 13: a warm set of 14 survives a scan
    assert outcomes(ids(0, 14) + ids(100, 129) + ids(1, 14), 15) == "m" * 15 + "m" * 30 + "h" * 14


# --------------------------------------------------------------------------
# against a pure-Python S3-FIFO
# --------------------------------------------------------------------------
def s3fifo_misses(ids, pages: int) -> int:
    """S3-FIFO as libCacheSim 0.3.5's S3FIFO.c runs it (unit sizes, its
    default parameters), with S of at least one object. Queues are deques
    whose left end is the newest; `uses` holds the resident objects."""
    small_share = max(1, pages // 10)
    main_share = pages - small_share
    ghost_size = pages * 9 // 10
    queue_s: deque[int] = deque()
    queue_m: deque[int] = deque()
    ghost: OrderedDict[int, None] = OrderedDict()  # newest last
    uses: dict[int, int] = {}
    evicted = False

    def evict_small() -> bool:
        """From S's oldest: promote what was used twice; evict the first
        that was not. False if S ran out first."""
        while queue_s:
            oldest = queue_s.pop()
            if uses[oldest] >= 2:
                queue_m.appendleft(oldest)
                uses[oldest] = 0
                continue
            del uses[oldest]
            if ghost_size:
                ghost[oldest] = None
                if len(ghost) > ghost_size:
                    ghost.popitem(last=False)
            return True
        return False

    def evict_main() -> None:
        while True:
            oldest = queue_m.pop()
            if uses[oldest] >= 1:
                queue_m.appendleft(oldest)
                uses[oldest] = min(uses[oldest], 3) - 1
                continue
            del uses[oldest]
            return

    nr_misses = 0
    for x in ids:
        if x in uses:
            uses[x] += 1
            continue
        nr_misses += 1
        ghost_hit = x in ghost  # looked up before the eviction
        if ghost_hit:
            del ghost[x]
        if len(uses) == pages:
            evicted = True
            if len(queue_m) > main_share or not queue_s:
                evict_main()
            elif not evict_small():
                evict_main()
        if ghost_hit or (not evicted and len(queue_s) >= small_share):
            queue_m.appendleft(x)
        else:
            queue_s.appendleft(x)
        uses[x] = 0
    return nr_misses


def test_the_reference_agrees_with_the_cases_by_hand():
    warm = WARM
    assert s3fifo_misses(warm + ids(100, 139) + ids(2, 19) + [0, 1], 20) == 62
    assert s3fifo_misses(warm + [0, 0] + ids(100, 139) + [0, 2, 3], 20) == 61
    assert s3fifo_misses(warm + [2] * 5 + [3, 100, 101, 0, 1, 4, 2, 3, 5], 20) == 26
    assert s3fifo_misses(ids(0, 36) + ids(100, 132) + [0] + ids(200, 236) + [0], 37) == 108
    assert s3fifo_misses(ids(0, 36) + ids(100, 133) + [0] + ids(200, 236) + [0], 37) == 110
    assert s3fifo_misses(ids(0, 4) + [5, 0, 1, 6, 1, 2], 5) == 9
    assert s3fifo_misses([0, 0, 0, 1, 1, 0], 1) == 3


def random_stream(rng) -> np.ndarray:
    distinct = int(rng.integers(30, 250))
    n = int(rng.integers(200, 800))
    kind = rng.integers(3)
    if kind == 0:
        return rng.integers(0, distinct, n)
    if kind == 1:  # skewed: promotions, M's clock at work, ghost hits
        return rng.zipf(1.2, n) % distinct
    loop = np.tile(np.arange(distinct // 3), n // max(distinct // 3, 1) + 1)[:n]  # a loop, some scans
    return np.where(rng.random(n) < 0.3, rng.integers(distinct, 4 * distinct, n), loop)


def test_random_streams_match_the_reference():
    rng = np.random.default_rng(3)
    for _ in range(10):
        stream = random_stream(rng)
        pages = int(rng.choice([20, 21, 29, 37, 50, 64, 100, 150]))
        assert misses(stream, pages) == s3fifo_misses(stream.tolist(), pages), (pages, stream.tolist())


def test_small_memories_match_the_reference():
    """Below C = 20 the policy is its own (S of at least one folio), and
    the reference says what it is."""
    rng = np.random.default_rng(4)
    for pages in (1, 2, 3, 5, 9, 10, 11, 15, 19):
        stream = random_stream(rng)[:200]
        assert misses(stream, pages) == s3fifo_misses(stream.tolist(), pages), (pages, stream.tolist())


def test_chunks_and_calls_change_nothing(tmp_path: Path):
    """select_victims walks a queue a chunk at a time and gives up after
    MAX_STEPS chunks; a sweep of S that found no victim goes on in the next
    call. With chunks of 2 folios and one chunk a call, every long sweep
    and every pass of M's clock spans calls: the misses are the same."""
    source = (Path(__file__).parent.parent / "example_policies" / "s3fifo.py").read_text()
    tiny = source.replace("\nCHUNK = 32 ", "\nCHUNK = 2 ").replace("\nMAX_STEPS = 256 ", "\nMAX_STEPS = 1 ")
    assert tiny.count("\nCHUNK = 2 ") == 1 and tiny.count("\nMAX_STEPS = 1 ") == 1
    path = tmp_path / "s3fifo_tiny.py"
    path.write_text(tiny)
    rng = np.random.default_rng(9)
    for pages in (1, 3, 10, 20, 37, 64):
        stream = random_stream(rng)[:400]
        result = replay(stream, pages, str(path))
        assert result["ejections"] == []
        assert result["misses"] == s3fifo_misses(stream.tolist(), pages), (pages, stream.tolist())


# --------------------------------------------------------------------------
# against libCacheSim's S3FIFO.c
# --------------------------------------------------------------------------
def streams() -> dict[str, np.ndarray]:
    rng = np.random.default_rng(35)
    loop = np.tile(np.arange(60), 6)
    scan = np.arange(1000, 1000 + len(loop))
    loop_and_scan = np.ravel(np.column_stack([loop, scan]))  # a loop with a scan interleaved
    return {
        "uniform": rng.integers(0, 400, 2000),
        "zipf": rng.zipf(1.6, 20000) % 1500,
        "loop+scan": np.concatenate([loop_and_scan, np.tile(np.arange(300), 3)]),
    }


@pytest.mark.parametrize("name", ["uniform", "zipf", "loop+scan"])
def test_miss_counts_equal_libcachesim(name, tmp_path: Path):
    lcs = pytest.importorskip("libcachesim")
    ids = streams()[name]
    path = tmp_path / "trace.txt"
    np.savetxt(path, ids, fmt="%d")
    for pages in (20, 37, 100, 500, 1000):
        ratio, _ = lcs.S3FIFO(cache_size=pages).process_trace(lcs.TraceReader(str(path), lcs.TraceType.PLAIN_TXT_TRACE))
        expected = round(ratio * len(ids))
        assert s3fifo_misses(ids.tolist(), pages) == expected, (name, pages, "the reference")
        assert misses(ids, pages) == expected, (name, pages)


# --------------------------------------------------------------------------
# in the full machine: two nodes, anon and file, mapped folios whose use
# only the page tables show, writeback and putback
# --------------------------------------------------------------------------
def test_runs_the_small_machine_without_ejection(small):  # noqa: F811 (the fixture)
    result = run(small, policy="s3fifo", accesses=30000)
    assert result["ejections"] == []
    vmstat = result["vmstat"]
    assert vmstat["pgsteal_anon"] > 0 and vmstat["pgsteal_file"] > 0, "it reclaimed both types"
    assert vmstat["workingset_activate_anon"] > 0, "refaults found in G went to M"
