"""Replay throughput: the sandboxed example policies in exact cache mode
against libCacheSim, driven by the same policy in Python hooks
(PluginCache) and by its native C policy, on the same trace in the same run.

Not a test: it measures and prints, it never asserts a time.

    python benchmarks/bench_replay.py                        # the issue's size: 10M requests, 1M ids, 100k pages
    python benchmarks/bench_replay.py --requests 1000000     # a quicker run
    python benchmarks/bench_replay.py --policy lru           # one policy: lru | s3fifo

The stream: Zipf(--alpha 0.9) over --ids page ids (rank r drawn with
probability proportional to r**-alpha, ids in rank order), --requests long,
drawn once with numpy from --seed and written as a text trace (one id per
line), which every side reads.

Sides, for each policy (lru: exact LRU, our example:lru and libCacheSim's
LRU; s3fifo: our s3fifo and libCacheSim's S3FIFO):
  reclaim-ext  reclaim_ext.replay.replay() of the ids with the example
               policy, verified and sandboxed, in exact cache mode; the
               trace is read with reclaim_ext.traces.read_trace, timed apart
               and added to the total, as libCacheSim's sides read it too;
  plugin       libCacheSim's PluginCache with the policy written as Python
               hooks (an OrderedDict LRU; S3-FIFO with deques and an
               OrderedDict ghost), over lcs.TraceReader of the text trace;
  native       libCacheSim's C policy over the same TraceReader.
Every side's misses are printed: the three must agree (a MISMATCH says
otherwise; the PluginCache S3-FIFO cannot refuse an insertion as the C one
does below 20 pages, which this size never meets).

Printed: requests/s of each side, and the ratios the issue sets goals for:
plugin time / reclaim-ext time (goal above 1) and reclaim-ext time / native
time (goal at most 3).
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import tempfile
import time
from collections import OrderedDict, deque
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # measure this tree, not an installed copy

import numpy as np

from reclaim_ext.replay import replay
from reclaim_ext.report import format_table
from reclaim_ext.traces import read_trace

GOAL_OVER_PLUGIN = 1.0  # plugin time / ours: above this
GOAL_OVER_NATIVE = 3.0  # ours / native time: at most this
POLICIES = {"lru": ("example:lru", "LRU"), "s3fifo": ("s3fifo", "S3FIFO")}


def zipf_stream(requests: int, ids: int, alpha: float, seed: int) -> np.ndarray:
    weights = np.arange(1, ids + 1, dtype=np.float64) ** -alpha
    cdf = np.cumsum(weights / weights.sum())
    return np.searchsorted(cdf, np.random.default_rng(seed).random(requests)).astype(np.int64)


# --------------------------------------------------------------------------
# the policies as PluginCache hooks
# --------------------------------------------------------------------------
def lru_hooks():
    def init(params):
        return OrderedDict()

    def hit(cache, req):
        cache.move_to_end(req.obj_id)

    def miss(cache, req):
        cache[req.obj_id] = True

    def evict(cache, req):
        return cache.popitem(last=False)[0]

    def remove(cache, obj_id):
        cache.pop(obj_id, None)

    return init, hit, miss, evict, remove


class S3fifoState:
    """libCacheSim's S3-FIFO (see example_policies/s3fifo.py's header)."""

    def __init__(self, pages: int) -> None:
        self.small_cap = int(pages * 0.1)
        self.main_cap = pages - self.small_cap
        self.ghost_cap = int(pages * 0.9)
        self.small: deque[int] = deque()  # newest on the left
        self.main: deque[int] = deque()
        self.ghost: OrderedDict[int, bool] = OrderedDict()  # oldest first
        self.freq: dict[int, int] = {}
        self.in_small: set[int] = set()
        self.has_evicted = False
        # the ghost lookup of the request being served, made at its first
        # eviction as libCacheSim's find() makes it before evicting
        self.looked_up: int | None = None
        self.ghost_hit = False

    def look_up_ghost(self, obj: int) -> None:
        if self.looked_up != obj:
            self.looked_up, self.ghost_hit = obj, self.ghost.pop(obj, None) is not None

    def add_ghost(self, obj: int) -> None:
        if len(self.ghost) >= self.ghost_cap:
            self.ghost.popitem(last=False)
        self.ghost[obj] = True

    def evict(self) -> int:
        self.has_evicted = True
        if len(self.main) > self.main_cap or not self.small:
            return self.evict_main()
        return self.evict_small()

    def evict_small(self) -> int:
        while self.small:
            obj = self.small.pop()
            self.in_small.discard(obj)
            if self.freq[obj] >= 2:
                self.main.appendleft(obj)
                self.freq[obj] = 0
            else:
                del self.freq[obj]
                self.add_ghost(obj)
                return obj
        return self.evict_main()

    def evict_main(self) -> int:
        while True:
            obj = self.main.pop()
            if self.freq[obj] >= 1:
                self.main.appendleft(obj)
                self.freq[obj] = min(self.freq[obj], 3) - 1
            else:
                del self.freq[obj]
                return obj


def s3fifo_hooks(pages: int):
    def init(params):
        return S3fifoState(pages)

    def hit(s, req):
        s.freq[req.obj_id] += 1

    def miss(s, req):
        obj = req.obj_id
        s.look_up_ghost(obj)
        s.looked_up = None
        if s.ghost_hit or (not s.has_evicted and len(s.small) >= s.small_cap):
            s.main.appendleft(obj)
        else:
            s.small.appendleft(obj)
            s.in_small.add(obj)
        s.freq[obj] = 0

    def evict(s, req):
        s.look_up_ghost(req.obj_id)
        return s.evict()

    def remove(s, obj_id):
        raise NotImplementedError("the replay never removes")

    return init, hit, miss, evict, remove


# --------------------------------------------------------------------------
def timed(fn):
    start = time.perf_counter()
    value = fn()
    return value, time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=10_000_000)
    parser.add_argument("--ids", type=int, default=1_000_000)
    parser.add_argument("--pages", type=int, default=100_000)
    parser.add_argument("--alpha", type=float, default=0.9)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--policy", choices=sorted(POLICIES), action="append")
    args = parser.parse_args()
    import libcachesim as lcs  # the optional extra: pip install '.[libcachesim]'

    ids = zipf_stream(args.requests, args.ids, args.alpha, args.seed)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "zipf.txt"
        np.savetxt(path, ids, fmt="%d")
        rows, ratios = [], []
        for name in args.policy or sorted(POLICIES):
            ours_name, lcs_name = POLICIES[name]
            read, read_s = timed(lambda: read_trace(path))
            ours, ours_s = timed(lambda: replay(read, args.pages, ours_name))
            ours_s += read_s
            hooks = lru_hooks() if name == "lru" else s3fifo_hooks(args.pages)
            plugin = lcs.PluginCache(args.pages, *hooks, lambda state: None)
            (plugin_ratio, _), plugin_s = timed(lambda: plugin.process_trace(
                lcs.TraceReader(str(path), lcs.TraceType.PLAIN_TXT_TRACE)))
            native = getattr(lcs, lcs_name)(cache_size=args.pages)
            (native_ratio, _), native_s = timed(lambda: native.process_trace(
                lcs.TraceReader(str(path), lcs.TraceType.PLAIN_TXT_TRACE)))
            counts = [ours["misses"], round(plugin_ratio * len(ids)), round(native_ratio * len(ids))]
            same = "" if len(set(counts)) == 1 else "  MISMATCH"
            for side, seconds, misses in zip(("reclaim-ext", "plugin", "native"), (ours_s, plugin_s, native_s), counts):
                rows.append([f"{name} {side}", round(len(ids) / seconds), misses, f"{seconds:.1f}"])
            ratios.append([name, f"{plugin_s / ours_s:.2f}", f"> {GOAL_OVER_PLUGIN:g}",
                           f"{ours_s / native_s:.2f}", f"<= {GOAL_OVER_NATIVE:g}", f"{read_s:.1f}{same}"])
    print(f"Zipf({args.alpha}) over {args.ids:,} ids, {args.requests:,} requests, {args.pages:,} pages; "
          f"{platform.python_implementation()} {platform.python_version()}, {os.cpu_count()} CPUs\n")
    print(format_table(["side", "requests/s", "misses", "seconds"], rows))
    print()
    print(format_table(["policy", "plugin/ours", "goal", "ours/native", "goal", "trace read s"], ratios))


if __name__ == "__main__":
    main()
