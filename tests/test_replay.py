"""Exact cache mode and `reclaim-ext replay`: the mode's rules, the simple
examples (fifo, example:lru, clock, mru, lfu) and opt against hand-checked
cases, small references written here, and libCacheSim when installed."""

from __future__ import annotations

import json
from collections import OrderedDict, deque

import numpy as np
import pytest
from test_cli import run_cli

from hooks import hookimpl
from hooks.types import Victims
from reclaim_ext.replay import cache_pages_of, dense_ids, replay
from simulator.cache import ExactCache

# Belady's anomaly stream: FIFO misses more with 4 pages than with 3
BELADY = [1, 2, 3, 4, 1, 2, 5, 1, 2, 3, 4, 5]


def misses(ids, pages: int, policy: str) -> int:
    result = replay(np.asarray(ids), pages, policy)
    assert result["ejections"] == [], result["ejections"]
    assert result["hits"] + result["misses"] == result["requests"] == len(ids)
    return result["misses"]


# --------------------------------------------------------------------------
# hand-checked
# --------------------------------------------------------------------------
@pytest.mark.parametrize(("policy", "pages", "expected"), [
    ("fifo", 3, 9), ("fifo", 4, 10),  # the anomaly
    ("example:lru", 3, 10), ("example:lru", 4, 8),
    ("opt", 3, 7), ("opt", 4, 6),
    # 4, 1, 2, 5 each evict the oldest (nothing was used twice); the hits on
    # 1 and 2 give them second chances, so 3 evicts 5, then 4 evicts 1 and
    # 5 evicts 2: 10 misses
    ("clock", 3, 10),
    # the most recently used goes: 4 evicts 3, 1 and 2 hit, 5 evicts 2 (just
    # used), 1 hits, 2 evicts 1, 3 evicts 2, 4 and 5 hit: 7 misses
    ("mru", 3, 7),
])
def test_belady_anomaly_stream(policy, pages, expected):
    assert misses(BELADY, pages, policy) == expected


def test_mru_keeps_the_start_of_a_loop_larger_than_memory_where_lru_misses_everything():
    loop = list(range(10)) * 5
    assert misses(loop, 5, "example:lru") == 50
    # the first pass misses all 10 and leaves 0-3 and 9; from then on each
    # pass misses half: a miss evicts the page just brought in
    assert misses(loop, 5, "mru") == 10 + 4 * 5


def test_lfu_evicts_the_least_used_and_the_first_to_reach_its_count():
    # 1 is used three times, 2 twice, 3 once: 4 evicts 3; then 5 evicts 4
    # (count 1, the only one); 3 comes back and evicts 5 (count 1, reached
    # it before 3 did)
    assert misses([1, 1, 1, 2, 2, 3, 4, 5, 3], 3, "lfu") == 6


# --------------------------------------------------------------------------
# against references written here, on random streams
# --------------------------------------------------------------------------
def ref_fifo(ids, pages):
    queue, cached, nr = deque(), set(), 0
    for x in ids:
        if x not in cached:
            nr += 1
            if len(cached) == pages:
                cached.discard(queue.popleft())
            queue.append(x)
            cached.add(x)
    return nr


def ref_lru(ids, pages, mru=False):
    order, nr = OrderedDict(), 0
    for x in ids:
        if x in order:
            order.move_to_end(x)
            continue
        nr += 1
        if len(order) == pages:
            order.popitem(last=mru)
        order[x] = True
    return nr


def ref_clock(ids, pages):
    queue, referenced, nr = deque(), {}, 0
    for x in ids:
        if x in referenced:
            referenced[x] = True
            continue
        nr += 1
        while len(referenced) == pages:
            oldest = queue.popleft()
            if referenced[oldest]:
                referenced[oldest] = False
                queue.append(oldest)
            else:
                del referenced[oldest]
        queue.append(x)
        referenced[x] = False
    return nr


def ref_lfu(ids, pages):
    count, reached, nr, now = {}, {}, 0, 0
    for x in ids:
        now += 1
        if x in count:
            count[x] += 1
            reached[x] = now
            continue
        nr += 1
        if len(count) == pages:
            victim = min(count, key=lambda y: (count[y], reached[y]))
            del count[victim], reached[victim]
        count[x], reached[x] = 1, now
    return nr


REFERENCES = {
    "fifo": ref_fifo,
    "example:lru": ref_lru,
    "mru": lambda ids, pages: ref_lru(ids, pages, mru=True),
    "clock": ref_clock,
    "lfu": ref_lfu,
}


def streams():
    rng = np.random.default_rng(7)
    zipf = rng.zipf(1.3, 1500) % 200
    uniform = rng.integers(0, 60, 1500)
    loop_and_scan = np.concatenate([np.tile(np.arange(40), 15), np.arange(1000, 1400), np.tile(np.arange(40), 5)])
    return {"zipf": zipf, "uniform": uniform, "loop+scan": loop_and_scan}


@pytest.mark.parametrize("policy", sorted(REFERENCES))
@pytest.mark.parametrize("stream", ["zipf", "uniform", "loop+scan"])
def test_examples_match_their_reference(policy, stream):
    ids = streams()[stream]
    for pages in (1, 2, 7, 30):
        assert misses(ids, pages, policy) == REFERENCES[policy](ids.tolist(), pages), pages


# --------------------------------------------------------------------------
# against libCacheSim
# --------------------------------------------------------------------------
# (opt against libCacheSim's Belady: tests/test_opt.py)
LIBCACHESIM = {"fifo": "FIFO", "example:lru": "LRU", "clock": "Clock", "lfu": "LFU"}


def libcachesim_misses(lcs, tmp_path, ids: np.ndarray, pages: int, policy: str) -> int:
    path = tmp_path / "trace.txt"
    np.savetxt(path, ids, fmt="%d")
    ratio, _ = getattr(lcs, LIBCACHESIM[policy])(cache_size=pages).process_trace(
        lcs.TraceReader(str(path), lcs.TraceType.PLAIN_TXT_TRACE))
    return round(ratio * len(ids))


@pytest.mark.parametrize("policy", sorted(LIBCACHESIM))
def test_miss_counts_equal_libcachesim(policy, tmp_path):
    lcs = pytest.importorskip("libcachesim")
    rng = np.random.default_rng(11)
    cases = [
        (rng.zipf(1.2, 4000) % 2000, (1, 10, 200)),
        (rng.integers(0, 300, 2000), (3, 37)),
        (np.concatenate([np.tile(np.arange(150), 6), rng.integers(0, 3000, 600)]), (149, 151)),
    ]
    for ids, sizes in cases:
        for pages in sizes:
            assert misses(ids, pages, policy) == libcachesim_misses(lcs, tmp_path, ids, pages, policy), (policy, pages)


# --------------------------------------------------------------------------
# the mode's rules
# --------------------------------------------------------------------------
class Recorder:
    """A trusted FIFO that records every call, to see the order of hooks."""

    def __init__(self):
        self.calls = []

    @hookimpl
    def policy_init(self, ctx):
        self.lst = ctx.list_create(0, 1, False, "fifo")
        self.ghost = ctx.ghost_list_create(0, 1, "ghost")

    @hookimpl
    def folio_added(self, ctx, folios):
        self.calls.append(("added", folios.tolist()))
        ctx.list_add(self.lst, folios)

    @hookimpl
    def folio_accessed(self, ctx, folios):
        self.calls.append(("accessed", folios.tolist()))

    @hookimpl
    def select_victims(self, ctx, request):
        assert (request.nr_to_scan, request.nr_to_reclaim) == (1, 1)
        victims = ctx.list_peek(self.lst, 1)
        self.calls.append(("select", victims.tolist()))
        return Victims(victims, 1)

    @hookimpl
    def folio_evicted(self, ctx, folios):
        ctx.list_add(self.ghost, folios)
        return folios * 10

    @hookimpl
    def on_refault(self, ctx, folios, refault):
        self.calls.append(("refault", folios.tolist(), refault.shadow.tolist(), refault.ghost.tolist()))


def test_hits_come_in_order_between_misses_and_a_refault_before_the_eviction_it_causes():
    recorder = Recorder()
    # ids renumbered in order of first request: 7->0, 8->1, 9->2
    cache = ExactCache(dense_ids(np.array([7, 8, 8, 7, 9, 7, 8])), 2, "recorder", recorder)
    cache.run()
    assert recorder.calls == [
        ("added", [0]), ("added", [1]),
        ("accessed", [1, 0]),
        ("select", [0]), ("added", [2]),  # 9 evicts 7 (FIFO)
        ("refault", [0], [0], [recorder.ghost]), ("select", [1]), ("added", [0]),  # 7 was on the ghost list
        ("refault", [1], [10], [recorder.ghost]), ("select", [2]), ("added", [1]),
    ]
    assert cache.misses == 5 and cache.vmstat.total_dict()["workingset_refault_file"] == 2


def test_a_policy_that_names_nothing_is_asked_again_until_it_does():
    class Stubborn(Recorder):
        refusals = 3

        @hookimpl
        def select_victims(self, ctx, request):
            if self.refusals:
                self.refusals -= 1
                return Victims(np.empty(0, np.int64), 1)
            return ctx.list_peek(self.lst, 1)

    stubborn = Stubborn()
    cache = ExactCache(np.array([0, 1, 2]), 2, "stubborn", stubborn)
    cache.run()
    assert stubborn.refusals == 0 and cache.misses == 3 and cache.vmstat.total_dict()["pgscan_direct"] == 4


def test_the_built_ins_replay_too():
    ids = streams()["zipf"]
    for policy in ("lru", "mglru"):
        result = replay(ids, 30, policy)
        assert result["ejections"] == [] and result["misses"] > misses(ids, 30, "opt")


def test_a_sandboxed_policy_that_misbehaves_is_ejected_and_the_replay_completes(tmp_path):
    bad = tmp_path / "bad.py"
    bad.write_text('"""Names a victim that is not resident."""\nINTERFACE_VERSION = (1, 2)\n'
                   "LISTS = ArrayMap(1)\n\n"
                   "def policy_init(ctx):\n    LISTS.update(0, ctx.list_create(0, LRU_FILE, False, 'l'))\n\n"
                   "def folio_added(ctx, folios):\n    ctx.list_add(LISTS.lookup(0), folios)\n\n"
                   "def select_victims(ctx, request):\n    return ctx.list_peek(LISTS.lookup(0), 1) + 1000\n")
    ids = streams()["uniform"]
    result = replay(ids, 10, str(bad))
    (ejection,) = result["ejections"]
    first_eviction = int(np.argmax(dense_ids(ids) == 10))  # the 11th distinct id finds memory full
    assert ejection["kind"] == "invalid" and ejection["hook"] == "select_victims"
    assert ejection["request"] == first_eviction
    assert "not a folio id" in ejection["message"] or "not resident" in ejection["message"]
    assert result["requests"] == len(ids) and result["misses"] > 10


def test_the_same_replay_twice_gives_the_same_result():
    ids = streams()["zipf"]
    assert replay(ids, 25, "clock") == replay(ids, 25, "clock")


def test_one_request_at_a_time_gives_the_same_misses_as_the_batched_run():
    from reclaim_ext.policies import load_policy
    ids = dense_ids(streams()["zipf"])
    outcome = []
    stepped = ExactCache(ids, 25, "clock", load_policy("clock"))
    stepped.run(after_request=lambda i, hit: outcome.append(hit))
    assert outcome.count(False) == stepped.misses == misses(ids, 25, "clock") and len(outcome) == len(ids)


def test_cache_sizes():
    assert cache_pages_of("10%", 1234) == 123 and cache_pages_of("0.01%", 50) == 1
    assert cache_pages_of(64, 5) == 64 and cache_pages_of("1_000", 5) == 1000
    for bad in ("0", "-3", "150%", "ten", "%"):
        with pytest.raises(ValueError, match="cache size"):
            cache_pages_of(bad, 100)


# --------------------------------------------------------------------------
# the command
# --------------------------------------------------------------------------
@pytest.fixture
def trace(tmp_path):
    path = tmp_path / "trace.txt"
    path.write_text("\n".join(map(str, BELADY)) + "\n")
    return path


def test_replay_prints_a_row_per_policy(capsys, trace):
    code, out, _ = run_cli(capsys, "replay", str(trace), "--cache-pages", "3", "--policy", "fifo", "--policy", "opt")
    assert code == 0
    head, _, header, rule, fifo, opt = out.splitlines()
    assert head == f"{trace}: 12 requests, 5 distinct ids; exact cache mode, 3 pages"
    assert header.split() == ["policy", "hits", "misses", "miss", "ratio"]
    assert fifo.split() == ["fifo", "3", "9", "75.00", "%"] and opt.split() == ["opt", "5", "7", "58.33", "%"]


def test_replay_json_has_the_documented_keys(capsys, trace):
    code, out, _ = run_cli(capsys, "replay", str(trace), "--cache-pages", "60%", "--policy", "example:lru", "--json")
    assert code == 0
    result = json.loads(out)
    assert {"requests", "unique", "hits", "misses", "miss_ratio", "policy", "cache_pages"} <= set(result)
    assert (result["cache_pages"], result["misses"], result["policy"]) == (3, 10, "example:lru")


@pytest.mark.parametrize(("args", "message"), [
    (["--cache-pages", "0"], "a cache holds at least one page"),
    (["--cache-pages", "3", "--policy", "nosuch"], "unknown policy 'nosuch'"),
    (["--cache-pages", "3", "--format", "lis"], "request 1 is not 'start n_blocks ...'"),
])
def test_replay_errors_exit_2_with_one_line(capsys, trace, args, message):
    code, out, err = run_cli(capsys, "replay", str(trace), *args)
    assert code == 2 and out == "" and message in err and "Traceback" not in err


def test_a_replay_scenario_runs_with_reclaim_ext_run(capsys, trace, tmp_path):
    scenario = tmp_path / "replay.toml"
    scenario.write_text(f'[replay]\ntrace = "{trace.name}"\ncache = 3\n\n[run]\npolicy = "fifo"\n')
    code, out, _ = run_cli(capsys, "run", str(scenario), "--json", "--out", str(tmp_path / "out"))
    assert code == 0 and json.loads(out)["misses"] == 9
    assert json.loads((tmp_path / "out" / "summary.json").read_text())["misses"] == 9
    assert "[replay]" in (tmp_path / "out" / "scenario.toml").read_text()
    code, out, _ = run_cli(capsys, "run", str(scenario), "--policy", "opt")
    assert code == 0 and out.splitlines()[-1].split()[:3] == ["opt", "5", "7"]


def test_a_replay_scenario_names_its_bad_keys(capsys, tmp_path):
    scenario = tmp_path / "replay.toml"
    scenario.write_text('[replay]\ntrace = "t.txt"\ncache = "200%"\nformat = "bin"\n')
    code, _, err = run_cli(capsys, "run", str(scenario))
    assert code == 2 and "replay.cache" in err and "replay.format" in err
