"""How fast the simulator's classic LRU runs, against a plain OrderedDict LRU.

Not a test: it measures and prints, it never asserts a time. Both sides
replay the same access stream (page ids drawn once with numpy from a fixed
seed) in the same process, so the ratio sim/OrderedDict says how the
simulator compares with the simplest LRU Python can run on this machine,
whatever the machine's own speed.

    python benchmarks/bench_lru.py                     # everything, 10M accesses a stream
    python benchmarks/bench_lru.py --accesses 1000000  # a quicker run
    python benchmarks/bench_lru.py --only memory       # only the memory check

Streams (each over 1M pages, replayed against ~100k pages of memory):
  zipf     Zipf(0.9) ranks mapped to pages through a random permutation;
  hotcold  a 20k-page hot set that fits in memory and a cold remainder, the
           hot share chosen so that exact LRU hits ~95% at the stream's length.
The simulator side is a one-node machine whose usable memory (node pages
less the high watermark) is the OrderedDict's capacity, one process with one
mmap'ed anon region replaying the stream ("trace" pattern), and swap for all
of it, so the LRU can evict anon pages (--region file maps a file instead:
clean page cache, evicted without swap I/O). Only Machine.run() is timed as
the simulator's speed; the construction is timed and reported apart. A run
the simulator does not finish (its process OOM-killed) is flagged
INCOMPLETE and given no ratio.

The memory check builds a 4 x 16 GiB machine whose processes map more than
its memory, runs 1M accesses in a child process (so the peak RSS is its own)
and reports the peak against the 2 GiB goal.
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import platform
import resource
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# Measure the tree this script lives in, not an installed copy.
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402

from simulator.config import (  # noqa: E402
    PAGE_SHIFT,
    DeviceConfig,
    FileConfig,
    MachineConfig,
    NodeConfig,
    PatternConfig,
    ProcessConfig,
    RegionConfig,
    RunConfig,
    SwapConfig,
)
from simulator.lru import ClassicLRU  # noqa: E402
from reclaim_ext.policies import load_policy  # noqa: E402
from simulator.machine import Machine  # noqa: E402
from simulator.watermarks import default_min_free_kbytes, setup_watermarks  # noqa: E402
from simulator.policy import BoundPolicy, make_plugin_manager  # noqa: E402
from reclaim_ext.report import format_table  # noqa: E402
from hooks import hookimpl  # noqa: E402

# The goals of the issue, printed beside the measurements (never asserted).
GOAL_RATIO = {"zipf": 0.3, "hotcold": 1.5}
GOAL_PEAK_RSS_MIB = 2048

MEMORY_PAGES = 100_000  # usable memory of the stream benchmarks, in pages
STREAM_PAGES = 1_000_000  # pages a stream ranges over
ZIPF_ALPHA = 0.9
HOT_PAGES = 20_000
HOT_TARGET_HIT = 0.95

GIB_PAGES = 1 << (30 - PAGE_SHIFT)
SWAP_DEVICE = DeviceConfig(latency_ns=100_000, bandwidth=1_000_000_000)


# ----------------------------------------------------------------------
# streams
# ----------------------------------------------------------------------
def zipf_stream(n: int, pages: int, alpha: float, seed: int) -> np.ndarray:
    """n page ids: rank r drawn with probability ~ 1/r^alpha (inverse CDF,
    finite, any alpha > 0), ranks scattered over pages by a permutation."""
    rng = np.random.default_rng(seed)
    cdf = np.arange(1, pages + 1, dtype=np.float64)
    np.power(cdf, -alpha, out=cdf)
    np.cumsum(cdf, out=cdf)
    cdf /= cdf[-1]
    page_of_rank = rng.permutation(pages)
    rank = np.searchsorted(cdf, rng.random(n), side="right")
    return page_of_rank[rank].astype(np.int64)


def hotcold_share(n: int, hot: int, pages: int, cap: int, target: float) -> float:
    """The hot share at which exact LRU of `cap` pages hits about `target`
    over n accesses: hot pages always hit once loaded (hot/n compulsory
    misses), a cold access hits with the chance that its page is among the
    cap - hot cold pages resident."""
    q = (cap - hot) / (pages - hot)
    return min(1.0, max(0.0, (target + hot / n - q) / (1 - q)))


def hotcold_stream(n: int, hot: int, pages: int, share: float, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    hot_ids = rng.integers(0, hot, n, dtype=np.int64)
    cold_ids = rng.integers(hot, pages, n, dtype=np.int64)
    return np.where(rng.random(n) < share, hot_ids, cold_ids)


# ----------------------------------------------------------------------
# the two sides
# ----------------------------------------------------------------------
def node_pages_for(usable: int, watermark_scale_factor: int = 10) -> tuple[int, int]:
    """The size of a lone node with `usable` pages above its high watermark
    (kswapd keeps that much free), and that watermark."""
    pages = usable
    while True:
        high = setup_watermarks([pages], default_min_free_kbytes(pages), watermark_scale_factor)[0].high
        if pages - high >= usable:
            return pages, high
        pages = usable + high


def sim_config(stream: np.ndarray, pages: int, usable: int, region_kind: str) -> tuple[MachineConfig, RunConfig, int]:
    """One node of `usable` pages above its high watermark, one process
    replaying the stream through a mapping: of an anon region with swap for
    all of it (the brief's setup), or of a file (clean page cache, evicted
    without I/O)."""
    node_pages, high = node_pages_for(usable)
    pattern = PatternConfig(kind="trace", trace=stream)
    if region_kind == "anon":
        region = RegionConfig("anon", pages, pattern, access="mmap")
        files: tuple[FileConfig, ...] = ()
        swap = SwapConfig(pages, SWAP_DEVICE)
    else:
        region = RegionConfig("file", pages, pattern, access="mmap", file="replay")
        files = (FileConfig("replay", pages),)
        swap = SwapConfig(0, SWAP_DEVICE)
    cfg = MachineConfig(
        nodes=(NodeConfig(node_pages),),
        processes=(ProcessConfig("replay", (region,)),),
        files=files,
        swap=swap,
    )
    return cfg, RunConfig(seed=0, accesses=len(stream)), high


def run_sim(stream: np.ndarray, pages: int, usable: int, region_kind: str, policy: str) -> dict:
    cfg, run, high = sim_config(stream, pages, usable, region_kind)
    t0 = time.perf_counter()
    m = Machine(cfg, run, policy, load_policy(policy))
    t1 = time.perf_counter()
    m.run()
    t2 = time.perf_counter()
    vm = m.vmstat.total_dict()
    node = m.nodes[0]
    proc = m.processes[0]
    return {
        # a run cut short (the process OOM-killed) measures something else
        "complete": m.total_accesses == len(stream),
        "exit_reason": proc.exit_reason,
        "build_s": t1 - t0,
        "run_s": t2 - t1,
        "accesses": m.total_accesses,
        "faults": vm["pgfault"],
        "hit": 1 - vm["pgfault"] / m.total_accesses,
        "node_pages": node.pages,
        "high_wmark": high,
        "resident_end": node.pages - node.nr_free,
        "pswpout": vm["pswpout"],
        "pgscan": vm["pgscan_kswapd"] + vm["pgscan_direct"],
        "pgsteal": vm["pgsteal_kswapd"] + vm["pgsteal_direct"],
        "allocstall": vm["allocstall_normal"],
        "oom_kill": vm["oom_kill"],
    }


def run_ordered_dict(ids: list[int], cap: int) -> dict:
    """The plain LRU: move to the end on a hit; on a miss insert, and drop the
    oldest once over capacity."""
    od: collections.OrderedDict[int, None] = collections.OrderedDict()
    misses = 0
    t0 = time.perf_counter()
    for k in ids:
        if k in od:
            od.move_to_end(k)
        else:
            misses += 1
            od[k] = None
            if len(od) > cap:
                od.popitem(last=False)
    t1 = time.perf_counter()
    return {"run_s": t1 - t0, "misses": misses, "hit": 1 - misses / len(ids)}


def bench_stream(name: str, stream: np.ndarray, pages: int, usable: int, region_kind: str, repeat: int,
                 policy: str) -> dict:
    # The OrderedDict replays Python ints (what a dict-based LRU would be
    # given); the conversion is not timed, as the stream is not for the sim.
    ids = stream.tolist()
    sims = [run_sim(stream, pages, usable, region_kind, policy) for _ in range(repeat)]
    ods = [run_ordered_dict(ids, usable) for _ in range(repeat)]
    sim = min(sims, key=lambda r: r["run_s"])
    sim["build_s"] = min(r["build_s"] for r in sims)
    od = min(ods, key=lambda r: r["run_s"])
    n = len(stream)
    return {
        "name": name,
        "policy": policy,
        "region": region_kind,
        "accesses": n,
        "pages": pages,
        "usable": usable,
        "sim": sim,
        "od": od,
        # over the accesses the simulator did run, in case it stopped early
        "sim_rate": sim["accesses"] / sim["run_s"],
        "od_rate": n / od["run_s"],
        "ratio": od["run_s"] / sim["run_s"] if sim["complete"] else None,
    }


# ----------------------------------------------------------------------
# the memory check (in a child process)
# ----------------------------------------------------------------------
MEM_NODES = 4
MEM_NODE_PAGES = 16 * GIB_PAGES  # 4194304
MEM_PROCS = 4
MEM_ANON_PAGES = 12 * GIB_PAGES
MEM_FILE_PAGES = 6 * GIB_PAGES


def memory_config(accesses: int) -> tuple[MachineConfig, RunConfig]:
    """4 nodes of 16 GiB (64 GiB); 4 processes, one per node, each with a
    12 GiB anon heap and a private 6 GiB mapped file, both Zipf(0.9):
    72 GiB mapped, more than memory. Swap holds all the anon memory."""
    files = tuple(FileConfig(f"data{i}", MEM_FILE_PAGES) for i in range(MEM_PROCS))
    procs = tuple(
        ProcessConfig(
            f"p{i}",
            (
                RegionConfig("anon", MEM_ANON_PAGES, PatternConfig("zipf", alpha=ZIPF_ALPHA), write_ratio=0.3, share=2.0),
                RegionConfig("file", MEM_FILE_PAGES, PatternConfig("zipf", alpha=ZIPF_ALPHA), file=f"data{i}"),
            ),
            cpu_node=i % MEM_NODES,
        )
        for i in range(MEM_PROCS)
    )
    cfg = MachineConfig(
        nodes=tuple(NodeConfig(MEM_NODE_PAGES) for _ in range(MEM_NODES)),
        processes=procs,
        files=files,
        swap=SwapConfig(MEM_PROCS * MEM_ANON_PAGES, SWAP_DEVICE),
    )
    return cfg, RunConfig(seed=0, accesses=accesses)


def maxrss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB


def peak_rss_mib() -> float:
    """The process's own peak RSS. ru_maxrss is not quite that on Linux: a
    child forked from a big parent starts with the parent's high-water mark
    (kept across exec in signal->maxrss); VmHWM belongs to the child's own
    address space. ru_maxrss where there is no /proc."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024  # kB
    except OSError:
        pass
    return maxrss_mib()


def memory_child(accesses: int) -> None:
    cfg, run = memory_config(accesses)
    base = peak_rss_mib()
    t0 = time.perf_counter()
    m = Machine(cfg, run, "lru", ClassicLRU())
    t1 = time.perf_counter()
    built = peak_rss_mib()
    m.run()
    t2 = time.perf_counter()
    vm = m.vmstat.total_dict()
    print(json.dumps({
        "mapped_pages": int(m.folios.nr_pages),
        "memory_pages": sum(n.pages for n in cfg.nodes),
        "accesses": m.total_accesses,
        "build_s": t1 - t0,
        "run_s": t2 - t1,
        "rss_base_mib": base,
        "rss_built_mib": built,
        "rss_peak_mib": peak_rss_mib(),
        "ru_maxrss_mib": maxrss_mib(),
        "resident_end": sum(n.pages - n.nr_free for n in m.nodes),
        "pgscan": vm["pgscan_kswapd"] + vm["pgscan_direct"],
    }))


def bench_memory(accesses: int) -> dict:
    out = subprocess.run(
        [sys.executable, str(Path(__file__).resolve()), "--memory-child", "--memory-accesses", str(accesses)],
        capture_output=True, text=True, check=False,
    )
    if out.returncode != 0:
        raise RuntimeError(f"memory check failed (exit {out.returncode}):\n{out.stderr}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def bench_dispatch(calls: int = 200_000) -> dict:
    """One hook call through pluggy's dispatch against the same call through
    the implementation bound once at attach time (what the core does)."""

    class Noop:
        @hookimpl
        def policy_init(self, ctx):
            pass

        @hookimpl
        def folio_added(self, ctx, folios):
            pass

        @hookimpl
        def select_victims(self, ctx, request):
            pass

        @hookimpl
        def folio_accessed(self, ctx, folios):
            pass

    plugin = Noop()
    pm = make_plugin_manager()
    pm.register(plugin)
    via_pluggy = pm.hook.folio_accessed
    bound = BoundPolicy("noop", plugin).folio_accessed
    folios = np.arange(4)
    t0 = time.perf_counter()
    for _ in range(calls):
        via_pluggy(ctx=None, folios=folios)
    t1 = time.perf_counter()
    for _ in range(calls):
        bound(None, folios)
    t2 = time.perf_counter()
    return {"pluggy_ns": (t1 - t0) / calls * 1e9, "bound_ns": (t2 - t1) / calls * 1e9}


def report_dispatch(r: dict) -> None:
    print("Hook dispatch: one folio_accessed call to an empty implementation")
    print(format_table(["path", "ns a call"], [["pluggy pm.hook", f"{r['pluggy_ns']:,.0f}"],
                                        ["bound once (the core)", f"{r['bound_ns']:,.0f}"]]))
    print(f"(pluggy costs {r['pluggy_ns'] / r['bound_ns']:.1f}x the bound call)")
    print()


# ----------------------------------------------------------------------
# output
# ----------------------------------------------------------------------
def goal_status(ok: bool) -> str:
    return "meets" if ok else "BELOW"


def report_streams(results: list[dict]) -> None:
    print("Speed: the simulator's classic LRU (Machine.run) against an OrderedDict LRU, same stream, same process")
    rows = []
    for r in results:
        goal = GOAL_RATIO[r["name"]]
        s = r["sim"]
        if r["ratio"] is None:
            ratio, state = "n/a", f"INCOMPLETE: {s['exit_reason'] or 'stopped'} after {s['accesses']:,}"
        else:
            ratio, state = f"{r['ratio']:.2f}x", goal_status(r["ratio"] >= goal)
        rows.append([
            r["name"], r["policy"], r["region"], f"{r['accesses']:,}", f"{r['usable']:,}",
            f"{s['run_s']:.2f}", f"{r['sim_rate']:,.0f}",
            f"{r['od']['run_s']:.2f}", f"{r['od_rate']:,.0f}",
            ratio, f">={goal}x", state, f"{s['build_s']:.3f}",
        ])
    print(format_table(["stream", "policy", "region", "accesses", "memory pg", "sim s", "sim acc/s", "OD s", "OD acc/s",
                 "sim/OD", "goal", "status", "sim build s"], rows))
    print()
    print("Hit ratios (not equal by design: the kernel's LRUs are not exact LRU) and the simulator's reclaim")
    rows = []
    for r in results:
        s, o = r["sim"], r["od"]
        rows.append([
            r["name"], r["policy"], f"{s['hit']:.4f}", f"{o['hit']:.4f}", f"{s['faults']:,}", f"{o['misses']:,}",
            f"{s['node_pages']:,}", f"{s['high_wmark']:,}", f"{s['resident_end']:,}",
            f"{s['pgscan']:,}", f"{s['pgsteal']:,}", f"{s['pswpout']:,}", f"{s['allocstall']:,}", f"{s['oom_kill']:,}",
        ])
    print(format_table(["stream", "policy", "sim hit", "OD hit", "sim faults", "OD misses", "node pg", "high wmark",
                 "resident end", "pgscan", "pgsteal", "pswpout", "allocstall", "oom_kill"], rows))
    if any(r["ratio"] is None for r in results):
        print("INCOMPLETE: the simulated process did not finish the stream (its rate and hit ratio are over the"
              " accesses it ran; no ratio is given). Try --region file.")
    print()


def report_memory(r: dict) -> None:
    print("Memory: peak RSS of a child process running a large machine")
    gib = lambda pages: f"{pages / GIB_PAGES:.0f}"  # noqa: E731
    row = [
        f"{MEM_NODES}x{MEM_NODE_PAGES:,}pg", gib(r["memory_pages"]), gib(r["mapped_pages"]),
        f"{r['accesses']:,}", f"{r['build_s']:.2f}", f"{r['run_s']:.2f}",
        f"{r['rss_base_mib']:,.0f}", f"{r['rss_built_mib']:,.0f}", f"{r['rss_peak_mib']:,.0f}",
        f"{r['ru_maxrss_mib']:,.0f}", f"<={GOAL_PEAK_RSS_MIB:,}", goal_status(r["rss_peak_mib"] <= GOAL_PEAK_RSS_MIB),
    ]
    print(format_table(["machine", "mem GiB", "mapped GiB", "accesses", "build s", "run s",
                 "RSS import MiB", "RSS built MiB", "peak RSS MiB", "ru_maxrss MiB", "goal MiB", "status"], [row]))
    print(f"(resident pages at end {r['resident_end']:,}, pages scanned by reclaim {r['pgscan']:,}. RSS columns are"
          " the child's high-water mark (VmHWM) after imports, after building, at the end: interpreter and numpy"
          " included. ru_maxrss also counts the parent's RSS at the fork, so it can read higher.)")
    print()


def tree_version() -> str:
    """The commit of the measured tree, '+modified' if the simulator's
    sources differ from it (the figures are for what was on disk)."""
    try:
        head = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"],
                              capture_output=True, text=True, check=True).stdout.strip()
        dirty = subprocess.run(["git", "-C", str(ROOT), "status", "--porcelain", "--", "simulator", "hooks"],
                               capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return head + ("+modified" if dirty else "")


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--accesses", type=int, default=10_000_000, help="accesses per stream (default 10M)")
    ap.add_argument("--only", choices=("zipf", "hotcold", "memory", "dispatch"), help="run one part only")
    ap.add_argument("--seed", type=int, default=1, help="seed of the streams (default 1)")
    ap.add_argument("--policy", default="lru",
                    help="built-in policies to measure, comma-separated (default lru; e.g. lru,mglru)")
    ap.add_argument("--region", choices=("anon", "file"), default="anon",
                    help="what the simulated process maps: an anon region with swap (default) or a file")
    ap.add_argument("--repeat", type=int, default=1, help="runs of each side; the fastest is reported")
    ap.add_argument("--memory-accesses", type=int, default=1_000_000, help="accesses of the memory check (default 1M)")
    ap.add_argument("--memory-child", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)

    if args.memory_child:
        memory_child(args.memory_accesses)
        return

    print(f"bench_lru: python {platform.python_version()}, numpy {np.__version__}, "
          f"{platform.system()} {platform.machine()}, {os.cpu_count()} CPUs; tree {tree_version()}; seed {args.seed}")
    print("Wall-clock figures depend on the machine and its load; the ratios compare two runs in one process.")
    print()

    parts = [args.only] if args.only else ["dispatch", "zipf", "hotcold", "memory"]
    if "dispatch" in parts:
        report_dispatch(bench_dispatch())
    results = []
    for part in parts:
        if part == "zipf":
            stream = zipf_stream(args.accesses, STREAM_PAGES, ZIPF_ALPHA, args.seed)
            results += [bench_stream("zipf", stream, STREAM_PAGES, MEMORY_PAGES, args.region, args.repeat, policy)
                        for policy in args.policy.split(",")]
        elif part == "hotcold":
            share = hotcold_share(args.accesses, HOT_PAGES, STREAM_PAGES, MEMORY_PAGES, HOT_TARGET_HIT)
            stream = hotcold_stream(args.accesses, HOT_PAGES, STREAM_PAGES, share, args.seed)
            results += [bench_stream("hotcold", stream, STREAM_PAGES, MEMORY_PAGES, args.region, args.repeat, policy)
                        for policy in args.policy.split(",")]
    if results:
        report_streams(results)
        share = hotcold_share(args.accesses, HOT_PAGES, STREAM_PAGES, MEMORY_PAGES, HOT_TARGET_HIT)
        print(f"Streams: zipf alpha {ZIPF_ALPHA} over {STREAM_PAGES:,} pages; hotcold {HOT_PAGES:,} hot pages of "
              f"{STREAM_PAGES:,}, hot share {share:.4f}. OD = collections.OrderedDict LRU of 'memory pg' entries.")
        print()
    if "memory" in parts:
        report_memory(bench_memory(args.memory_accesses))


if __name__ == "__main__":
    main()
