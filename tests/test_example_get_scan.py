"""The GET-SCAN example (example_policies/get_scan.py): the folios point
lookups keep reusing survive a scan that uses each folio once, in exact
cache mode and in the simulated machine."""

from __future__ import annotations

from collections import OrderedDict
from pathlib import Path

import numpy as np
import pytest

from reclaim_ext import run
from reclaim_ext.policies import available_policies
from reclaim_ext.replay import replay

CACHE_PAGES = 200
HOT_IDS = 120  # the lookups' set: fits in memory, and in the GET list (3/4 of it)
REQUESTS = 12_000
GET_SHARE = 0.5  # the other half of the requests is the scan


def get_scan_stream(seed: int) -> tuple[np.ndarray, int]:
    """Point lookups, zipf(1) over HOT_IDS ids, mixed at random with one
    sequential scan over ids never seen before (about 30 times the cache).
    Returns the ids and the number of scan requests, each of them a miss
    under any policy."""
    rng = np.random.default_rng(seed)
    weights = 1.0 / np.arange(1, HOT_IDS + 1)
    is_get = rng.random(REQUESTS) < GET_SHARE
    ids = np.empty(REQUESTS, np.int64)
    ids[is_get] = rng.choice(HOT_IDS, size=int(is_get.sum()), p=weights / weights.sum())
    ids[~is_get] = HOT_IDS + np.arange(int((~is_get).sum()))
    return ids, int((~is_get).sum())


def exact_lru_misses(ids: np.ndarray, cache_pages: int) -> int:
    """The misses of exact LRU, the reference the scan defeats."""
    cache: OrderedDict[int, None] = OrderedDict()
    misses = 0
    for obj in ids.tolist():
        if obj in cache:
            cache.move_to_end(obj)
            continue
        misses += 1
        if len(cache) == cache_pages:
            cache.popitem(last=False)
        cache[obj] = None
    return misses


def test_the_lookups_set_survives_the_scan_far_better_than_under_fifo_clock_and_lru():
    ids, nr_scan = get_scan_stream(seed=1)
    compulsory = len(np.unique(ids[ids < HOT_IDS]))  # each hot id's first request
    result = replay(ids, CACHE_PAGES, "get_scan")
    assert result["ejections"] == []
    hot_misses = {"get_scan": result["misses"] - nr_scan,
                  "exact LRU": exact_lru_misses(ids, CACHE_PAGES) - nr_scan}
    others = ["fifo", "clock"]
    if "example:lru" in {p.name for p in available_policies()}:
        others.append("example:lru")
    for policy in others:
        hot_misses[policy] = replay(ids, CACHE_PAGES, policy)["misses"] - nr_scan
    for policy, misses in hot_misses.items():
        if policy == "get_scan":
            continue
        # far fewer: beyond the compulsory misses, at most half of theirs
        assert hot_misses["get_scan"] - compulsory <= (misses - compulsory) // 2, hot_misses


def pattern(requests: str, cache_pages: int) -> str:
    """Each request of a stream of names followed by + (hit) or - (miss),
    as get_scan answers it in exact cache mode."""
    names = requests.split()
    dense: dict[str, int] = {}
    ids = np.array([dense.setdefault(name, len(dense)) for name in names], np.int64)
    misses = [0] + [replay(ids[: i + 1], cache_pages, "get_scan")["misses"] for i in range(len(ids))]
    return " ".join(name + ("-" if misses[i + 1] > misses[i] else "+") for i, name in enumerate(names))


def test_two_uses_protect_a_folio_from_a_scan_one_does_not():
    # Four pages: the GET list may hold 3, and a refault counts as a use
    # within a refault distance of 2. Hits between two misses are one batch,
    # and a batch is one use.
    #   a's two hits (3, and 5 in the batch [a b]) make it a GET folio; b
    #   is hit once. At e the SCAN list is, oldest first, a b c d: a moves
    #   to the GET list, b is evicted, then c at f, and a survives the scan.
    #   c comes back at refault distance 1: a GET folio at once (d, the
    #   oldest on the SCAN list, is evicted for it). b comes back at distance
    #   4 (c's and d's evictions, c's activation, its own): too late, a scan
    #   candidate again (e is evicted for it).
    assert (pattern("a b a c a b d e f a c b c a", 4)
            == "a- b- a+ c- a+ b+ d- e- f- a+ c- b- c+ a+")


def test_the_get_list_over_its_bound_gives_its_oldest_back_to_the_scan_list():
    # a, b, c, d each come back right after their eviction, to the GET
    # list, in that order; once d is in it holds all four pages. f finds the
    # SCAN list empty and the GET list over 3/4 of its pair: the oldest, a,
    # is demoted to the SCAN list and evicted, and the others stay.
    assert (pattern("a b c d e a b c d f b c d a", 4)
            == "a- b- c- d- e- a- b- c- d- f- b+ c+ d+ a-")


SCENARIO = """
[machine]
nodes = [{ memory = "2MiB", cpus = 1 }, { memory = "2MiB", cpus = 1 }]
swap = { size = "16MiB" }

# GETs: point lookups with read() on a small file
[[processes]]
name = "getter"
node = 0
[[processes.regions]]
kind = "file"
file = "db"
size = "1MiB"
access = "rw"
pattern = "zipf:1.0"

# SCAN: read() through a file 16 times its node, beside the lookups
[[processes]]
name = "scanner"
node = 0
[[processes.regions]]
kind = "file"
file = "table"
size = "32MiB"
access = "rw"
pattern = "sequential"

# anon and a mapped file on the other node: folios seen through PTEs only
[[processes]]
name = "worker"
node = 1
[[processes.regions]]
kind = "anon"
size = "2MiB"
write_ratio = 0.2
pattern = "zipf:0.9"
[[processes.regions]]
kind = "file"
file = "lib"
size = "1MiB"
pattern = "hotcold"

[run]
seed = 3
accesses = 12000
"""


@pytest.fixture
def get_scan_machine(tmp_path: Path) -> Path:
    path = tmp_path / "get_scan.toml"
    path.write_text(SCENARIO)
    return path


def test_runs_in_the_machine_and_keeps_the_lookups_pages_from_the_scan(get_scan_machine):
    result = run(get_scan_machine, policy="get_scan", check_invariants=True)
    assert result["ejections"] == [] and result["error"] is None
    vmstat = result["vmstat"]
    assert vmstat["pgsteal_anon"] > 0 and vmstat["pgsteal_file"] > 0
    assert vmstat["pgactivate"] > 0  # folios did move to the GET lists
    fifo = run(get_scan_machine, policy="fifo")
    assert result["processes"]["getter"]["refaults"] < fifo["processes"]["getter"]["refaults"]
