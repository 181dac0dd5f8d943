"""example_policies/arc.py: ARC (Megiddo and Modha, FAST'03) as libCacheSim
0.3.5's ARC.c, in exact cache mode: request by request on small cases
worked out by hand (T1, T2, B1, B2 and p after every request), against a
pure-Python ARC on random streams, against libCacheSim's ARC when it is
installed; and in the full simulated machine."""

from __future__ import annotations

from collections import OrderedDict
from pathlib import Path

import numpy as np
import pytest

from hooks.types import LRU_FILE
from reclaim_ext.api import run
from reclaim_ext.policies import load_policy
from reclaim_ext.replay import dense_ids, replay
from simulator.cache import ExactCache


def misses(ids, pages: int) -> int:
    result = replay(np.asarray(ids, np.int64), pages, "arc")
    assert result["ejections"] == []
    return result["misses"]


class Traced(ExactCache):
    """Exact cache mode that notes, after every request, whether it hit and
    the policy's T1, T2, B1, B2 (folio ids, newest first) and p."""

    def __init__(self, ids: np.ndarray, pages: int) -> None:
        self.plugin = load_policy("arc")
        self.steps: list[tuple[str, tuple]] = []
        super().__init__(ids, pages, "arc", self.plugin)

    def note(self, index: int, hit: bool) -> None:
        self.steps.append(("h" if hit else "m", self.arc_state()))

    def arc_state(self) -> tuple:
        t1, t2, b1, b2 = self.plugin.maps["LISTS"].lookup(LRU_FILE)[:4]  # lruvec 0, page cache
        lists = tuple(self.lists.peek(lst, self.lists.length(lst), tail=False).tolist() for lst in (t1, t2, b1, b2))
        return (*lists, self.plugin.maps["P"].lookup(LRU_FILE))


def by_hand(stream: str, pages: int) -> list[tuple[str, str, str, str, str, float]]:
    """For a stream of one-letter names, per request: 'm' or 'h', then T1,
    T2, B1 and B2 as names newest first, and p."""
    ids = dense_ids(np.array([ord(c) for c in stream]))
    cache = Traced(ids, pages)
    cache.run(after_request=cache.note)
    assert cache.ejections == []
    names = dict(zip(ids.tolist(), stream))
    return [(outcome, *("".join(names[i] for i in lst) for lst in state[:4]), state[4])
            for outcome, state in cache.steps]


def outcomes(steps) -> str:
    return "".join(step[0] for step in steps)


# --------------------------------------------------------------------------
# by hand. Lists are written newest first; c is the cache's pages. A miss
# with the cache full evicts one page: after a ghost hit by REPLACE alone;
# else when |T1| + |B1| + 1 > c (case IV.A) by dropping B1's oldest ghost,
# then REPLACE (or, B1 being empty, by dropping T1's oldest with no ghost);
# else (case IV.B) by dropping B2's oldest ghost when all four lists hold
# 2c or more, then REPLACE. REPLACE takes T1's oldest to B1 when |T1| > p,
# or |T1| == p after a hit in B2, or T2 is empty; else T2's oldest to B2.
# --------------------------------------------------------------------------
def test_three_pages_every_rule_worked_by_hand():
    steps = by_hand("ABCCDEBDDCEAFEGB", 3)
    assert steps == [
        # outcome, T1, T2, B1, B2, p
        ("m", "A", "", "", "", 0),
        ("m", "BA", "", "", "", 0),
        ("m", "CBA", "", "", "", 0),
        ("h", "BA", "C", "", "", 0),  # a hit in T1 moves to T2
        # D: |T1| + |B1| + 1 = 3, not above c: case IV.B; the four lists
        # hold 3 < 6; REPLACE: |T1| = 2 > p = 0, so A goes to B1
        ("m", "DB", "C", "A", "", 0),
        # E: |T1| + |B1| + 1 = 4 > 3: case IV.A drops ghost A, then B to B1
        ("m", "ED", "C", "B", "", 0),
        # B, a ghost in B1: p += max(|B2| / |B1| = 0 / 1, 1) = 1 (B still
        # counted in B1); B goes to T2; REPLACE: |T1| = 2 > 1, D to B1
        ("m", "E", "BC", "D", "", 1),
        # D in B1: p = 2; REPLACE: |T1| = 1 < 2, T2's oldest C to B2
        ("m", "E", "DB", "", "C", 2),
        ("h", "E", "DB", "", "C", 2),  # a hit in T2 moves to its head
        # C in B2: p -= max(|B1| / |B2| = 0 / 1, 1), to 1; REPLACE: |T1| =
        # 1 == p after a hit in B2, so T1's E goes (T2's B without that rule)
        ("m", "", "CDB", "E", "", 1),
        # E in B1: p = 2; REPLACE: T1 is empty, T2's oldest B to B2
        ("m", "", "ECD", "", "B", 2),
        # A: its ghost was dropped (at E), a plain miss to T1; case IV.B:
        # 4 < 6; REPLACE: |T1| = 0, D to B2
        ("m", "A", "EC", "", "DB", 2),
        ("m", "FA", "E", "", "CDB", 2),  # IV.B: 5 < 6; |T1| = 1 < 2: C to B2
        ("h", "FA", "E", "", "CDB", 2),
        # G: case IV.B with the four lists at 6 = 2c: ghost B dropped;
        # REPLACE: |T1| = 2 == p but no hit in B2, so T2's E to B2
        ("m", "GFA", "", "", "ECD", 2),
        # B (its ghost dropped at G): case IV.A with B1 empty: T1 holds all
        # c pages, and its oldest, A, leaves with no ghost
        ("m", "BGF", "", "", "ECD", 2),
    ]
    assert outcomes(steps).count("m") == 13


def test_p_is_a_float_worked_by_hand():
    steps = by_hand("ABCADBEFGDCCHIJHHKJFBI", 5)
    assert outcomes(steps) == "mmmhmhm" "mmmmh" "mmmhh" "mhmm" "h"
    assert outcomes(steps).count("m") == 15
    assert steps[6] == ("m", "EDC", "BA", "", "", 0)  # E fills the cache
    # F, G: case IV.B, |T1| = 3 > p = 0: C, then D to B1
    # D in B1: p = 1, E to B1; C in B1: p = 2, |T1| = 2 is not above it: A to B2
    assert steps[10] == ("m", "GF", "CDB", "E", "A", 2)
    # H: |T1| = 2 < p: B to B2. I: |T1| = 3 > 2: F to B1. J: case IV.A
    # (3 + 2 + 1 > 5): ghost E dropped, G to B1
    assert steps[14] == ("m", "JIH", "CD", "GF", "BA", 2)
    # H hits twice (T1, then T2); K: |T1| = 2 < p: D to B2; J hits
    assert steps[18] == ("h", "KI", "JHC", "GF", "DBA", 2)
    # F in B1: p += |B2| / |B1| = 3 / 2 (F still counted): p = 3.5;
    # |T1| = 2 < 3.5: C to B2
    assert steps[19] == ("m", "KI", "FJH", "G", "CDBA", 3.5)
    # B in B2: p -= max(1 / 4, 1): p = 2.5; |T1| = 2 is neither above nor
    # equal: T2's H to B2. (p rounded down to an int would be 3, then 2,
    # and this REPLACE would take T1's I: the next I would miss.)
    assert steps[20] == ("m", "KI", "BFJ", "G", "HCDA", 2.5)
    assert steps[21] == ("h", "K", "IBFJ", "G", "HCDA", 2.5)


def test_one_page():
    steps = by_hand("AABABABC", 1)
    assert steps == [
        ("m", "A", "", "", "", 0),
        ("h", "", "A", "", "", 0),
        ("m", "B", "", "", "A", 0),  # IV.B: 2 < 2c; T1 empty: A to B2
        ("m", "", "A", "B", "", 0),  # A in B2: p stays 0; |T1| = 1 > 0: B to B1
        ("m", "", "B", "", "A", 1),  # B in B1: p = 1 = c; T1 empty: A to B2
        ("m", "", "A", "", "B", 0),  # A in B2: p = 0
        ("m", "", "B", "", "A", 0),
        # C: IV.B, the four lists hold 2 = 2c: ghost B dropped, then B to B2
        ("m", "C", "", "", "B", 0),
    ]


# --------------------------------------------------------------------------
# against a pure-Python ARC: libCacheSim's ARC.c (its find, evict and
# REPLACE), checked against libCacheSim itself below
# --------------------------------------------------------------------------
def arc_misses(ids: list[int], pages: int) -> int:
    t1, t2, b1, b2 = OrderedDict(), OrderedDict(), OrderedDict(), OrderedDict()  # oldest first
    p = 0.0
    nr_misses = 0

    def replace(from_b2: bool) -> None:
        if (t1 and (len(t1) > p or (len(t1) == p and from_b2))) or not t2:
            b1[t1.popitem(last=False)[0]] = True
        else:
            b2[t2.popitem(last=False)[0]] = True

    for x in ids:
        if x in t1:
            del t1[x]
            t2[x] = True
            continue
        if x in t2:
            t2.move_to_end(x)
            continue
        nr_misses += 1
        ghost = 0
        if x in b1:
            p = min(p + max(len(b2) / len(b1), 1), pages)
            del b1[x]
            ghost = 1
        elif x in b2:
            p = max(p - max(len(b1) / len(b2), 1), 0)
            del b2[x]
            ghost = 2
        if len(t1) + len(t2) == pages:
            if ghost:
                replace(ghost == 2)
            elif len(t1) + len(b1) + 1 > pages:
                if b1:
                    b1.popitem(last=False)
                    replace(False)
                else:
                    t1.popitem(last=False)
            else:
                if len(t1) + len(b1) + len(t2) + len(b2) >= 2 * pages and b2:
                    b2.popitem(last=False)
                replace(False)
        (t2 if ghost else t1)[x] = True
    return nr_misses


def test_the_reference_agrees_with_the_cases_worked_by_hand():
    assert arc_misses([ord(c) for c in "ABCCDEBDDCEAFEGB"], 3) == 13
    assert arc_misses([ord(c) for c in "ABCADBEFGDCCHIJHHKJFBI"], 5) == 15
    assert arc_misses([ord(c) for c in "AABABABC"], 1) == 7


@pytest.mark.parametrize("seed", range(4))
def test_miss_counts_equal_the_reference(seed):
    rng = np.random.default_rng(seed)
    for pages in (1, 2, 4, 7, 12):
        distinct = int(rng.integers(pages + 1, 4 * pages + 8))
        if seed % 2:  # skewed, so that T2 fills and both ghosts get hits
            ids = rng.zipf(1.3, 400) % distinct
        else:
            ids = rng.integers(0, distinct, 300)
        assert misses(ids, pages) == arc_misses(ids.tolist(), pages), (pages, ids.tolist())


# --------------------------------------------------------------------------
# against libCacheSim's ARC.c. Replaying costs a few hundred microseconds a
# miss, so each stream is checked at the sizes where it says most: small
# caches on a short uniform stream, large ones on a long skewed one.
# --------------------------------------------------------------------------
def zipf_like(rng: np.random.Generator, n: int, universe: int, alpha: float) -> np.ndarray:
    """n requests over a universe of ids whose ranks have weight 1/rank^alpha."""
    weights = 1.0 / np.arange(1, universe + 1) ** alpha
    return rng.permutation(universe)[rng.choice(universe, n, p=weights / weights.sum())]


def stream(name: str) -> np.ndarray:
    rng = np.random.default_rng(3)
    if name == "uniform":
        return rng.integers(0, 12, 2000)
    if name == "zipf":
        return zipf_like(rng, 20000, 2000, 1.3)
    # a loop the cache can hold, a scan, random requests, the loop again
    loop = np.arange(60)
    return np.concatenate([np.tile(loop, 15), np.arange(1000, 1300), rng.integers(0, 400, 600), np.tile(loop, 10)])


@pytest.mark.parametrize("name, sizes", [
    ("uniform", (1, 2, 3, 10, 37)),
    ("zipf", (100, 500)),
    ("loop+scan", (37, 100)),
])
def test_miss_counts_equal_libcachesim(name, sizes, tmp_path: Path):
    lcs = pytest.importorskip("libcachesim")
    ids = stream(name)
    path = tmp_path / "trace.txt"
    np.savetxt(path, ids, fmt="%d")
    for pages in sizes:
        ratio, _ = lcs.ARC(cache_size=pages).process_trace(lcs.TraceReader(str(path), lcs.TraceType.PLAIN_TXT_TRACE))
        expected = round(ratio * len(ids))
        assert arc_misses(ids.tolist(), pages) == expected, (name, pages, "the reference")
        assert misses(ids, pages) == expected, (name, pages)


# --------------------------------------------------------------------------
# in the full machine: two nodes, anon and file, mapped folios whose use
# only the page tables show, dirty folios that come back through putback
# --------------------------------------------------------------------------
TINY = """
[machine]
nodes = [{ memory = "1MiB", cpus = 1 }, { memory = "1MiB", cpus = 1 }]
swap = { size = "16MiB" }

[[processes]]
name = "worker"
node = 0
[[processes.regions]]
kind = "anon"
size = "2MiB"
write_ratio = 0.3
pattern = "zipf:0.9"

[[processes]]
name = "reader"
node = 1
[[processes.regions]]
kind = "file"
file = "data"
size = "3MiB"
access = "rw"
write_ratio = 0.1
pattern = "sequential"

[[processes]]
name = "service"
node = 1
[[processes.regions]]
kind = "file"
file = "db"
size = "2MiB"
pattern = { kind = "hotcold", hot_fraction = 0.1, hot_share = 0.9 }

[run]
seed = 3
"""


def test_runs_a_tiny_machine_without_ejection(tmp_path: Path):
    scenario = tmp_path / "tiny.toml"
    scenario.write_text(TINY)
    result = run(scenario, policy="arc", accesses=10000, check_invariants=True)
    assert result["ejections"] == []
    vmstat = result["vmstat"]
    assert vmstat["pgsteal_anon"] > 0 and vmstat["pgsteal_file"] > 0, "it reclaimed both types"
    # refaults found in B1 or B2 went to T2 (on_refault answers ACTIVATE)
    assert vmstat["workingset_activate_anon"] > 0 and vmstat["workingset_activate_file"] > 0
