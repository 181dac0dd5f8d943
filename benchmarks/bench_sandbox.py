"""What the sandbox costs: a policy run sandboxed against the same source run as trusted code.

Not a test: it measures and prints, it never asserts a time. Two parts:

  overhead  For each policy file, the same scenario runs twice in the same
            process, alternating, --repeat times (the best run of each side
            is reported):
              sandboxed  reclaim_ext.policies.load_policy(path): verified,
                         compiled by RestrictedPython with the guards, run
                         by SandboxedPolicy with a SandboxContext, and bound
                         through the core's ejection guard;
              trusted    the same source compiled with plain compile() and
                         exec'd in a namespace holding what the runtime
                         injects (surface.CONSTANTS, surface.TYPES, the map
                         classes) and the real builtins; its hook functions,
                         marked with hooks.hookimpl, make the plugin, which
                         the core binds unguarded and hands its CoreContext.
            Both runs must end with the same vmstat counters (the sandbox
            must not change what a policy does); a difference, or an
            ejection, is printed as a MISMATCH. A third and fourth run of
            each side time every call of the core into the policy's hooks,
            for the share of the run spent in them.
  verify    reclaim_ext.sandbox.verifier.verify_file on each policy file,
            best of 20.

    python benchmarks/bench_sandbox.py                       # both parts, every example + the built-in lfu_loop
    python benchmarks/bench_sandbox.py --accesses 1000000    # long enough for reclaim to run
    python benchmarks/bench_sandbox.py --policy my.py --only overhead
    python benchmarks/bench_sandbox.py --profile             # + cProfile of both sides, by layer

The policies, by default: every file of example_policies/ and lfu_loop, a
heavier policy written below in the sandbox language with per-folio loops
in folio_added, folio_accessed and select_victims, so that the guards'
per-iteration cost shows (`--policy lfu_loop` names it).
"""

from __future__ import annotations

import argparse
import ast
import builtins
import cProfile
import dataclasses
import gc
import os
import platform
import pstats
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path
from types import FunctionType
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
# Measure the tree this script lives in, not an installed copy.
sys.path.insert(0, str(ROOT))

import numpy as np

from hooks import hookimpl
from reclaim_ext.policies import EXAMPLES_DIR, load_policy
from reclaim_ext.report import format_table
from reclaim_ext.sandbox import surface
from reclaim_ext.sandbox.maps import MAP_TYPES
from reclaim_ext.sandbox.verifier import verify_file
from reclaim_ext.scenario import default_scenario, to_config
from simulator.lru import ClassicLRU
from simulator.machine import Machine
from simulator.policy import HOOK_NAMES

# The goals of the issue, printed beside the measurements (never asserted).
GOAL_SLOWDOWN = 1.3  # sandboxed run time / trusted run time, per policy
GOAL_VERIFY_MS = 50.0  # verify_file of the largest example policy
VERIFY_REPEAT = 20

HEAVY_NAME = "lfu_loop"
HEAVY_POLICY = '''\
"""LFU-ish: two lists per lruvec and type, with per-folio loops.

Each folio's use count lives in an LRU hash map keyed by folio id, and
outlives the folio's stay in memory. A new folio goes to the cold list, or
to the hot one if it came back with HOT_FREQ uses; select_victims looks at
the oldest cold folios one by one: one used since the last look (a young
PTE) counts a use and is promoted, one with uses left loses half and is
promoted too, the rest are evicted. The hot list refills the cold one from
its tail when the cold one runs short. The loops are per folio on purpose:
bench_sandbox's case for the guards' per-iteration cost.
"""

INTERFACE_VERSION = (1, 1)

MAX_LRUVECS = 64
SCAN_BATCH = 256  # the most folios one select_victims call looks at
MAX_FREQ = 7
HOT_FREQ = 2

# two lists per (lruvec, type): (lruvec * 2 + type) * 2 the cold one, + 1 the hot one
LISTS = ArrayMap(MAX_LRUVECS * 4)
FREQ = LruHashMap(1 << 19)


def policy_init(ctx):
    for i in range(min(len(ctx.lruvecs), MAX_LRUVECS)):
        lruvec = ctx.lruvecs[i]
        for lru_type in LRU_TYPES:
            key = (lruvec * 2 + lru_type) * 2
            LISTS.update(key, ctx.list_create(lruvec, lru_type, False, "cold"))
            LISTS.update(key + 1, ctx.list_create(lruvec, lru_type, True, "hot"))


def place(ctx, folios, hot, tail):
    """Each folio to the head (or the tail) of its cold or hot list."""
    keys = (ctx.folio_lruvec(folios) * 2 + ctx.folio_type(folios)) * 2 + hot
    for i in range(min(len(ctx.lruvecs), MAX_LRUVECS)):
        for lru_type in LRU_TYPES:
            key = (ctx.lruvecs[i] * 2 + lru_type) * 2
            ctx.list_add(LISTS.lookup(key), folios[keys == key], tail)
            ctx.list_add(LISTS.lookup(key + 1), folios[keys == key + 1], tail)


def folio_added(ctx, folios):
    hot = folios < 0
    for i in range(len(folios)):
        if FREQ.lookup(folios[i], 0) >= HOT_FREQ:
            hot[i] = True
    place(ctx, folios, hot, False)


def folio_accessed(ctx, folios):
    for i in range(len(folios)):
        folio = folios[i]
        freq = FREQ.lookup(folio, 0)
        if freq < MAX_FREQ:
            FREQ.update(folio, freq + 1)


def select_victims(ctx, request):
    key = (request.lruvec * 2 + request.lru_type) * 2
    cold = LISTS.lookup(key)
    hot = LISTS.lookup(key + 1)
    n = min(request.nr_to_scan, SCAN_BATCH)
    if ctx.list_len(cold) < n:
        ctx.list_add(cold, ctx.list_peek(hot, n))
    oldest = ctx.list_peek(cold, n)
    keep = ctx.folio_referenced(oldest) > 0
    for i in range(len(oldest)):
        folio = oldest[i]
        freq = FREQ.lookup(folio, 0)
        if keep[i]:
            if freq < MAX_FREQ:
                FREQ.update(folio, freq + 1)
        elif freq > 0:
            FREQ.update(folio, freq // 2)
            keep[i] = True
    ctx.list_add(hot, oldest[keep])
    return Victims(oldest[~keep], len(oldest))


def folio_putback(ctx, folios, reasons):
    """What reclaim could not free goes back to the cold head; a folio whose
    writeback ended goes to the cold tail, to be freed next."""
    rotate = reasons == PutbackReason.ROTATE
    cold = folios < 0
    place(ctx, folios[~rotate], cold[~rotate], False)
    place(ctx, folios[rotate], cold[rotate], True)
'''


# ----------------------------------------------------------------------
# the two ways of loading one source
# ----------------------------------------------------------------------
class TrustedPolicy:
    """A policy's own functions as a trusted plugin: each hook the module
    defines is an attribute marked with hookimpl (pluggy registers objects
    by attribute). No reclaim_ext_untrusted: the core binds it unguarded."""

    def __init__(self, name: str, namespace: dict[str, Any]) -> None:
        self.name = name
        self.INTERFACE_VERSION = tuple(namespace["INTERFACE_VERSION"])
        for hook in HOOK_NAMES:
            fn = namespace.get(hook)
            if type(fn) is FunctionType:
                setattr(self, hook, hookimpl(fn))

    def __repr__(self) -> str:
        return f"<TrustedPolicy {self.name!r}>"


def load_trusted(path: Path) -> TrustedPolicy:
    """The source compiled by Python's compile() and run in a namespace with
    the names the sandbox injects and the real builtins: no verifier, no
    RestrictedPython, no guards, fresh maps."""
    code = compile(path.read_text(encoding="utf-8"), str(path), "exec")
    namespace: dict[str, Any] = {"__builtins__": builtins, "__name__": f"bench_sandbox.trusted.{path.stem}"}
    namespace.update(surface.CONSTANTS)
    namespace.update(surface.TYPES)
    namespace.update(MAP_TYPES)
    exec(code, namespace)  # noqa: S102 - our own policy files, run as trusted code on purpose
    return TrustedPolicy(path.stem, namespace)


def load_sandboxed(path: Path) -> Any:
    return load_policy(str(path))


LOADERS = {"trusted": load_trusted, "sandboxed": load_sandboxed}


# ----------------------------------------------------------------------
# one run
# ----------------------------------------------------------------------
def machine_for(path: Path, side: str, seed: int, accesses: int) -> Machine:
    """The default scenario's machine with the policy attached, built as
    reclaim_ext.api.run builds it (fallback the classic LRU)."""
    machine_cfg, run_cfg = to_config(default_scenario())
    run_cfg = dataclasses.replace(run_cfg, seed=seed, accesses=accesses)
    plugin = LOADERS[side](path)
    return Machine(machine_cfg, run_cfg, path.stem, plugin, fallback=("lru", ClassicLRU))


def time_hooks(machine: Machine) -> dict[str, list]:
    """Wrap each bound hook of machine.policy (for a sandboxed policy: the
    ejection guard around the SandboxedPolicy wrapper) with a perf_counter
    accumulator: hook -> [calls, seconds]."""
    spent: dict[str, list] = {}
    policy = machine.policy
    for hook in HOOK_NAMES:
        fn = getattr(policy, hook, None)
        if fn is None:
            continue
        acc = spent.setdefault(hook, [0, 0.0])

        def timed(*args: Any, _fn=fn, _acc=acc) -> Any:
            t0 = time.perf_counter()
            try:
                return _fn(*args)
            finally:
                _acc[0] += 1
                _acc[1] += time.perf_counter() - t0

        setattr(policy, hook, timed)
    return spent


def run_once(path: Path, side: str, seed: int, accesses: int, hooks: bool = False) -> dict:
    gc.collect()
    t0 = time.perf_counter()
    m = machine_for(path, side, seed, accesses)
    t1 = time.perf_counter()
    spent = time_hooks(m) if hooks else None
    m.run()
    t2 = time.perf_counter()
    vm = m.vmstat.total_dict()
    return {
        "build_s": t1 - t0,
        "run_s": t2 - t1,
        "accesses": m.total_accesses,
        "vmstat": vm,
        "ejections": m.ejections,
        "policy": m.policy.name,
        "hooks": spent,
    }


def compare(trusted: dict, sandboxed: dict) -> list[str]:
    """What differs between the two runs of one source: nothing, or why not."""
    problems = [f"sandboxed run ejected in {e['hook']} ({e['kind']}): {e['message']}" for e in sandboxed["ejections"]]
    problems += [f"trusted run ejected in {e['hook']} ({e['kind']}): {e['message']}" for e in trusted["ejections"]]
    if trusted["accesses"] != sandboxed["accesses"]:
        problems.append(f"accesses: trusted {trusted['accesses']:,}, sandboxed {sandboxed['accesses']:,}")
    differ = [k for k in trusted["vmstat"] if trusted["vmstat"][k] != sandboxed["vmstat"].get(k)]
    if differ:
        shown = ", ".join(f"{k} {trusted['vmstat'][k]:,} vs {sandboxed['vmstat'].get(k, 0):,}" for k in differ[:6])
        problems.append(f"{len(differ)} vmstat counters differ (trusted vs sandboxed): {shown}"
                        + (" ..." if len(differ) > 6 else ""))
    return problems


def bench_overhead(path: Path, seed: int, accesses: int, repeat: int) -> dict:
    runs: dict[str, list[dict]] = {"trusted": [], "sandboxed": []}
    for i in range(repeat):
        # alternate which side goes first, so neither always runs warm
        for side in (("trusted", "sandboxed") if i % 2 == 0 else ("sandboxed", "trusted")):
            runs[side].append(run_once(path, side, seed, accesses))
    best = {side: min(rs, key=lambda r: r["run_s"]) for side, rs in runs.items()}
    problems: list[str] = []
    for t, s in zip(runs["trusted"], runs["sandboxed"]):
        problems += [p for p in compare(t, s) if p not in problems]
    # the hook share: one more run of each side with every hook call timed
    timed = {side: run_once(path, side, seed, accesses, hooks=True) for side in ("trusted", "sandboxed")}
    vm = best["trusted"]["vmstat"]
    return {
        "name": path.stem,
        "path": path,
        "trusted": best["trusted"],
        "sandboxed": best["sandboxed"],
        "ratio": best["sandboxed"]["run_s"] / best["trusted"]["run_s"],
        "problems": problems,
        "timed": timed,
        "pgscan": vm["pgscan_kswapd"] + vm["pgscan_direct"],
        "pgsteal": vm["pgsteal_kswapd"] + vm["pgsteal_direct"],
    }


def bench_verify(path: Path, repeat: int = VERIFY_REPEAT) -> dict:
    times = []
    verdict = None
    for _ in range(repeat):
        t0 = time.perf_counter()
        verdict = verify_file(path)
        times.append(time.perf_counter() - t0)
    source = path.read_text(encoding="utf-8")
    return {
        "name": path.stem,
        "path": path,
        "bytes": len(source.encode()),
        "lines": len(source.splitlines()),
        "ok": verdict.ok,
        "errors": len(verdict.errors),
        "best_ms": min(times) * 1e3,
        "median_ms": sorted(times)[len(times) // 2] * 1e3,
    }


# ----------------------------------------------------------------------
# profile (--profile): where the sandboxed run's time goes, by layer
# ----------------------------------------------------------------------
RUNTIME_PY = str(ROOT / "reclaim_ext" / "sandbox" / "runtime.py")
MAPS_PY = str(ROOT / "reclaim_ext" / "sandbox" / "maps.py")
EJECTION_PY = str(ROOT / "simulator" / "ejection.py")
LAYERS = (
    "policy code",
    "sandbox: guards (_getattr_, _tick_, ...)",
    "sandbox: helper checks (SandboxContext)",
    "sandbox: hook wrappers (SandboxedPolicy)",
    "core: ejection guard (answer checks)",
    "maps",
    "core (simulator, helpers' work)",
    "other (numpy's and the stdlib's Python code)",
)


def _runtime_layers() -> list[tuple[int, int, str]]:
    """Line ranges of runtime.py -> layer, by the file's order: what comes
    before SandboxContext is the guards' (the counter, the guards, their
    helpers), SandboxContext and _refuse the helper checks', what follows
    the hook wrappers' (SandboxedPolicy, the answer checks, batches)."""
    tree = ast.parse(Path(RUNTIME_PY).read_text(encoding="utf-8"))
    defs = [node for node in tree.body if isinstance(node, (ast.ClassDef, ast.FunctionDef))]
    context_line = next((node.lineno for node in defs if node.name == "SandboxContext"), 0)
    ranges = []
    for node in defs:
        if node.name in ("SandboxContext", "_refuse"):
            layer = LAYERS[2]
        elif node.lineno < context_line:
            layer = LAYERS[1]
        else:
            layer = LAYERS[3]
        ranges.append((node.lineno, node.end_lineno or node.lineno, layer))
    return ranges


def _layer_of(func: tuple[str, int, str], policy_file: str, runtime_ranges: list) -> str | None:
    filename, line, _ = func
    if filename == policy_file:
        return LAYERS[0]
    if filename == RUNTIME_PY:
        for lo, hi, layer in runtime_ranges:
            if lo <= line <= hi:
                return layer
        return LAYERS[3]
    if filename == EJECTION_PY:
        return LAYERS[4]
    if filename == MAPS_PY:
        return LAYERS[5]
    if filename.startswith((str(ROOT / "simulator"), str(ROOT / "hooks"))):
        return LAYERS[6]
    if filename == "~" or filename.startswith("<"):
        return None  # C functions: charged to their callers
    return LAYERS[7]


def layer_times(stats: pstats.Stats, policy_file: str) -> dict[str, float]:
    """tottime summed by layer; a C function's (numpy's, a builtin's) time
    goes to the layers of its callers, in proportion to each caller's share."""
    ranges = _runtime_layers()
    out: dict[str, float] = defaultdict(float)
    raw = stats.stats  # type: ignore[attr-defined]
    for func, (_cc, _nc, tt, _ct, callers) in raw.items():
        layer = _layer_of(func, policy_file, ranges)
        if layer is not None:
            out[layer] += tt
            continue
        edges = {c: e[2] for c, e in callers.items()}
        total = sum(edges.values())
        for caller, share in edges.items():
            caller_layer = _layer_of(caller, policy_file, ranges) or LAYERS[7]
            out[caller_layer] += tt * (share / total if total else 1 / len(edges))
        if not edges:
            out[LAYERS[7]] += tt
    return out


def profile_side(path: Path, side: str, seed: int, accesses: int) -> tuple[pstats.Stats, float]:
    m = machine_for(path, side, seed, accesses)
    prof = cProfile.Profile()
    gc.collect()
    t0 = time.perf_counter()
    prof.enable()
    m.run()
    prof.disable()
    return pstats.Stats(prof), time.perf_counter() - t0


def report_profile(path: Path, seed: int, accesses: int, top: int = 20) -> None:
    stats = {}
    layers = {}
    for side in ("trusted", "sandboxed"):
        st, _ = profile_side(path, side, seed, accesses)
        stats[side] = st
        layers[side] = layer_times(st, str(path))
    totals = {side: sum(layers[side].values()) for side in layers}
    print(f"Profile of {path.stem} (cProfile, tottime; C functions charged to their callers' layer)")
    rows = []
    for layer in LAYERS:
        t, s = layers["trusted"].get(layer, 0.0), layers["sandboxed"].get(layer, 0.0)
        if t or s:
            rows.append([layer, f"{t:.3f}", f"{s:.3f}", f"{s - t:+.3f}", f"{100 * s / totals['sandboxed']:.1f}%"])
    rows.append(["total (profiled)", f"{totals['trusted']:.3f}", f"{totals['sandboxed']:.3f}",
                 f"{totals['sandboxed'] - totals['trusted']:+.3f}", "100%"])
    print(format_table(["layer", "trusted s", "sandboxed s", "difference", "of sandboxed"], rows))
    print(f"Top {top} functions of the sandboxed run by tottime:")
    st = stats["sandboxed"]
    funcs = sorted(st.stats.items(), key=lambda kv: kv[1][2], reverse=True)[:top]  # type: ignore[attr-defined]
    rows = []
    for (filename, line, name), (cc, nc, tt, ct, _callers) in funcs:
        where = name if filename == "~" else f"{_short(filename)}:{line}({name})"
        rows.append([where, f"{nc:,}", f"{tt:.3f}", f"{ct:.3f}", f"{tt / nc * 1e6:.2f}"])
    print(format_table(["function", "calls", "tottime s", "cumtime s", "us a call"], rows))
    print()


def _short(filename: str) -> str:
    try:
        return str(Path(filename).resolve().relative_to(ROOT))
    except ValueError:
        return Path(filename).name


# ----------------------------------------------------------------------
# output
# ----------------------------------------------------------------------
def goal_status(ok: bool) -> str:
    return "met" if ok else "NOT MET"


def report_overhead(results: list[dict], accesses: int, seed: int) -> None:
    print(f"Overhead: the same policy source, trusted (plain compile, unguarded) against sandboxed (load_policy), "
          f"default scenario, seed {seed}, {accesses:,} accesses; Machine.run() only, best of each side")
    rows = []
    for r in results:
        t, s = r["trusted"], r["sandboxed"]
        ts, ss = r["timed"]["trusted"], r["timed"]["sandboxed"]
        t_hooks = sum(v[1] for v in ts["hooks"].values())
        s_hooks = sum(v[1] for v in ss["hooks"].values())
        status = "INVALID" if r["problems"] else goal_status(r["ratio"] <= GOAL_SLOWDOWN)
        rows.append([
            r["name"], f"{t['run_s']:.3f}", f"{s['run_s']:.3f}", f"{r['ratio']:.2f}x",
            f"<={GOAL_SLOWDOWN}x", status,
            f"{100 * t_hooks / ts['run_s']:.1f}%", f"{100 * s_hooks / ss['run_s']:.1f}%",
            f"{s_hooks / t_hooks:.2f}x" if t_hooks else "n/a",
            f"{r['pgscan']:,}", "MISMATCH" if r["problems"] else "same",
        ])
    print(format_table(["policy", "trusted s", "sandboxed s", "slowdown", "goal", "status",
                        "trusted in hooks", "sandboxed in hooks", "hook slowdown", "pgscan", "vmstat"], rows))
    print("('in hooks': the share of a run spent inside the policy's hooks, from a separate run of each side with"
          " every hook call timed; 'hook slowdown': sandboxed hook time / trusted hook time.)")
    for r in results:
        if r["pgscan"] == 0:
            print(f"NOTE {r['name']}: no reclaim ran in {accesses:,} accesses (pgscan 0): select_victims and"
                  " folio_putback were never called; try --accesses 1000000.")
    for r in results:
        for p in r["problems"]:
            print(f"!!! MISMATCH {r['name']}: {p}")
        if r["problems"]:
            print(f"!!! {r['name']}: the sandboxed run did not run the policy as the trusted one did; its times and"
                  " ratio measure something else (status INVALID).")
    print()
    print("Hook calls, per policy: calls (trusted / sandboxed where they differ), and time inside the hook (ms) on"
          " each side")
    rows = []
    for r in results:
        ts, ss = r["timed"]["trusted"]["hooks"], r["timed"]["sandboxed"]["hooks"]
        for hook in HOOK_NAMES:
            if hook not in ss and hook not in ts:
                continue
            tc, tt = ts.get(hook, [0, 0.0])
            sc, st = ss.get(hook, [0, 0.0])
            if not tc and not sc:
                continue
            calls = f"{sc:,}" if sc == tc else f"{tc:,} / {sc:,}"
            same = not r["problems"] and sc == tc
            rows.append([r["name"], hook, calls, f"{tt * 1e3:.1f}", f"{st * 1e3:.1f}",
                         f"{st / tt:.2f}x" if tt and same else "n/a",
                         f"{(st - tt) / sc * 1e6:.1f}" if sc and same else "n/a"])
    print(format_table(["policy", "hook", "calls", "trusted ms", "sandboxed ms", "ratio", "extra us a call"], rows, left=2))
    print()


def report_verify(results: list[dict]) -> None:
    print(f"Verification: reclaim_ext.sandbox.verifier.verify_file, best of {VERIFY_REPEAT}")
    rows = [[r["name"], f"{r['lines']:,}", f"{r['bytes']:,}", "loads" if r["ok"] else f"REJECTED ({r['errors']} errors)",
             f"{r['best_ms']:.2f}", f"{r['median_ms']:.2f}"] for r in results]
    print(format_table(["policy", "lines", "bytes", "verdict", "best ms", "median ms"], rows))
    print()


def report_goals(overhead: list[dict], verify: list[dict]) -> None:
    print("Goals")
    if overhead:
        valid = [r for r in overhead if not r["problems"]]
        bad = [r["name"] for r in overhead if r["problems"]]
        each = ", ".join(f"{r['name']} {r['ratio']:.2f}x" for r in valid)
        if valid:
            worst = max(valid, key=lambda r: r["ratio"])
            ok = worst["ratio"] <= GOAL_SLOWDOWN and not bad
            figure = f"worst {worst['name']} {worst['ratio']:.2f}x; {each}"
        else:
            ok, figure = False, "no policy ran the same sandboxed"
        if bad:
            figure += f"; not measured (INVALID): {', '.join(bad)}"
        print(f"  sandboxed/trusted run time <= {GOAL_SLOWDOWN}x for every policy: {goal_status(ok)} ({figure})")
        print(f"  same vmstat sandboxed and trusted: {'NOT MET (' + ', '.join(bad) + ')' if bad else 'met'}")
    examples = [r for r in verify if r["path"].parent == EXAMPLES_DIR]
    if examples:
        largest = max(examples, key=lambda r: r["bytes"])
        print(f"  verify_file of the largest example < {GOAL_VERIFY_MS:g} ms: "
              f"{goal_status(largest['best_ms'] < GOAL_VERIFY_MS)} ({largest['name']}, {largest['bytes']:,} bytes: "
              f"{largest['best_ms']:.2f} ms)")
    elif verify:
        largest = max(verify, key=lambda r: r["bytes"])
        print(f"  verify_file < {GOAL_VERIFY_MS:g} ms (no example policy measured; largest given: {largest['name']}): "
              f"{goal_status(largest['best_ms'] < GOAL_VERIFY_MS)} ({largest['best_ms']:.2f} ms)")
    print()


def tree_version() -> str:
    """The commit of the measured tree, '+modified' if the sources the
    figures depend on differ from it."""
    try:
        head = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"],
                              capture_output=True, text=True, check=True).stdout.strip()
        dirty = subprocess.run(["git", "-C", str(ROOT), "status", "--porcelain", "--",
                                "simulator", "hooks", "reclaim_ext", "example_policies"],
                               capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return head + ("+modified" if dirty else "")


def policy_paths(names: list[str] | None, heavy: Path) -> list[Path]:
    if not names:
        examples = sorted(p for p in EXAMPLES_DIR.glob("*.py") if not p.name.startswith("_"))
        return examples + [heavy]
    paths = []
    for name in names:
        path = heavy if name == HEAVY_NAME else Path(name)
        if not path.is_file():
            sys.exit(f"bench_sandbox: no policy file {name!r}")
        paths.append(path.resolve())
    return paths


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--policy", action="append", metavar="PATH",
                    help=f"a policy file to measure (repeatable; '{HEAVY_NAME}' is the built-in heavy one). "
                         f"Default: every file of example_policies/ and {HEAVY_NAME}")
    ap.add_argument("--accesses", type=int, default=1_000_000,
                    help="accesses of each run (default 1M: the default scenario starts reclaiming after ~400k)")
    ap.add_argument("--repeat", type=int, default=2, help="runs of each side, alternating; the fastest is reported")
    ap.add_argument("--seed", type=int, default=1, help="the scenario's seed (default 1)")
    ap.add_argument("--only", choices=("overhead", "verify"), help="run one part only")
    ap.add_argument("--profile", action="store_true",
                    help="also profile one run of each side per policy (cProfile) and show the time by layer")
    args = ap.parse_args(argv)

    print(f"bench_sandbox: python {platform.python_version()}, numpy {np.__version__}, "
          f"{platform.system()} {platform.machine()}, {os.cpu_count()} CPUs; tree {tree_version()}")
    print("Wall-clock figures depend on the machine and its load; the ratios compare runs in one process.")
    print()

    with tempfile.TemporaryDirectory(prefix="bench_sandbox.") as tmp:
        heavy = Path(tmp) / f"{HEAVY_NAME}.py"
        heavy.write_text(HEAVY_POLICY, encoding="utf-8")
        paths = policy_paths(args.policy, heavy)
        overhead: list[dict] = []
        verify: list[dict] = []
        if args.only in (None, "verify"):
            verify = [bench_verify(p) for p in paths]
            report_verify(verify)
        if args.only in (None, "overhead"):
            loadable = [p for p, v in zip(paths, verify or [bench_verify(p, 1) for p in paths]) if v["ok"]]
            for p in paths:
                if p not in loadable:
                    print(f"!!! {p.stem}: the verifier rejects it; not run (`reclaim-ext verify {p}`)")
            overhead = [bench_overhead(p, args.seed, args.accesses, args.repeat) for p in loadable]
            report_overhead(overhead, args.accesses, args.seed)
        report_goals(overhead, verify)
        if args.profile:
            for p in paths:
                report_profile(p, args.seed, args.accesses)


if __name__ == "__main__":
    main()
