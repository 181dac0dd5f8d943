"""Plain-text tables and the results directory.

Tables are aligned plain text, numbers right-aligned with thousands
separators, so they read in a terminal and paste into a mail to a kernel
list unchanged.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from simulator.memcontrol import MEMORY_EVENTS
from simulator.psi import format_pressure

PROCESS_COLUMNS = (
    ("accesses", "accesses", 1),
    ("minflt", "minflt", 1),
    ("majflt", "majflt", 1),
    ("read_io", "read I/O", 1),
    ("refaults", "refaults", 1),
    ("allocstall", "allocstall", 1),
    ("stall_ns", "stall ms", 1e-6),
    ("io_wait_ns", "I/O wait ms", 1e-6),
)

VMSTAT_SUMMARY = (
    "pgfault", "pgmajfault", "pgscan_kswapd", "pgscan_direct", "pgsteal_kswapd", "pgsteal_direct",
    "pgrefill", "pgactivate", "pgdeactivate", "pgrotated", "pswpin", "pswpout", "pgpgin", "pgpgout",
    "workingset_refault_anon", "workingset_refault_file", "workingset_activate_anon",
    "workingset_activate_file", "workingset_restore_anon", "workingset_restore_file",
    "allocstall_normal", "pageoutrun", "kswapd_low_wmark_hit_quickly", "kswapd_high_wmark_hit_quickly",
    "oom_kill",
)


def format_number(value: float) -> str:
    if isinstance(value, float) and not value.is_integer():
        return f"{value:,.1f}"
    return f"{int(value):,}"


def format_table(headers: Sequence[str], rows: Sequence[Sequence[Any]], left: int = 1) -> str:
    """Left-align the first `left` columns (names), right-align the rest
    (figures)."""
    cells = [[str(h) for h in headers]] + [[r[0]] + [format_number(v) if isinstance(v, int | float) else str(v) for v in r[1:]] for r in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]

    def line(row: list[str]) -> str:
        return "  ".join(c.ljust(w) if i < left else c.rjust(w) for i, (c, w) in enumerate(zip(row, widths))).rstrip()

    rule = "  ".join("-" * w for w in widths)
    return "\n".join([line(cells[0]), rule] + [line(r) for r in cells[1:]])


def format_summary(result: dict[str, Any]) -> str:
    """The text `reclaim-ext run` prints."""
    seconds = result["virtual_time_ns"] / 1e9
    head = (
        f"policy {result['policy']}, seed {result['seed']}: {result['accesses']:,} accesses "
        f"in {seconds:.3f} s of virtual time"
    )
    procs = [
        [name] + [p[key] * scale if scale != 1 else p[key] for key, _, scale in PROCESS_COLUMNS] + [p["exit"] or "running"]
        for name, p in result["processes"].items()
    ]
    proc_table = format_table(["process"] + [title for _, title, _ in PROCESS_COLUMNS] + ["state"], procs)
    nodes = sorted(result["nodes"], key=int)
    vm_rows = [[name] + [result["nodes"][n]["vmstat"][name] for n in nodes] + [result["vmstat"][name]] for name in VMSTAT_SUMMARY]
    vm_table = format_table(["vmstat"] + [f"node{n}" for n in nodes] + ["total"], vm_rows)
    pressure = result.get("pressure")
    psi = f"\nmemory pressure (PSI, /proc/pressure/memory):\n{format_pressure(pressure['total'])}" if pressure else ""
    groups = result.get("memcgs", {})
    cgroups = f"\n{format_cgroups(groups)}\n" if len(groups) > 1 else ""
    return f"{head}\n{format_ejections(result.get('ejections', []))}\n{proc_table}\n{cgroups}\n{vm_table}\n{psi}"


def format_cgroups(groups: dict[str, dict[str, Any]]) -> str:
    """A row per cgroup below the root: its size, its reclaim, and its
    memory.events, each counted over its subtree as the kernel shows them."""
    rows = []
    for name, g in groups.items():
        if name == "/":
            continue
        stat = g["memory.stat"]
        rows.append([name, g["memory.current"] // 1024, stat["anon"] // 1024, stat["file"] // 1024,
                     stat["pgscan"], stat["pgsteal"], stat["pgmajfault"],
                     stat["workingset_refault_anon"] + stat["workingset_refault_file"],
                     *(g["memory.events"][e] for e in MEMORY_EVENTS)])
    headers = ["cgroup", "current KiB", "anon KiB", "file KiB", "pgscan", "pgsteal", "pgmajfault", "refaults",
               *MEMORY_EVENTS]
    return format_table(headers, rows)


def format_ejections(ejections: list[dict[str, Any]]) -> str:
    """One paragraph per ejection, as sched_ext prints its exit info."""
    text = ""
    for e in ejections:
        where = f" at line {e['line']}" if e.get("line") else ""
        source = e["dump"].get("source_line")
        when = f"request {e['request']:,}" if "request" in e else f"{e['time_ns'] / 1e9:.6f} s"
        text += (
            f"\npolicy {e['policy']} was ejected at {when} ({e['kind']}) in {e['hook']}{where}:\n"
            f"  {e['message']}\n" + (f"  > {source.strip()}\n" if source else "")
            + f"  {e['fallback']} took over.\n"
        )
    return text


def format_vmstat(counters: dict[str, int]) -> str:
    """/proc/vmstat's format: one "name value" per line."""
    return "".join(f"{name} {value}\n" for name, value in counters.items())


def format_replay(results: Sequence[dict[str, Any]], trace: str) -> str:
    """The text `reclaim-ext replay` prints: a row per policy."""
    first = results[0]
    head = (f"{trace}: {first['requests']:,} requests, {first['unique']:,} distinct ids; "
            f"exact cache mode, {first['cache_pages']:,} pages")
    rows = [[r["policy"], r["hits"], r["misses"], f"{100 * r['miss_ratio']:.2f} %"] for r in results]
    ejections = "".join(format_ejections(r["ejections"]) for r in results)
    return f"{head}\n{ejections}\n{format_table(['policy', 'hits', 'misses', 'miss ratio'], rows)}\n"


def write_replay_results(out: Path, results: Sequence[dict[str, Any]], scenario_toml: str) -> None:
    """A replay's results directory: the scenario and summary.json (one
    result, or a list of them)."""
    out.mkdir(parents=True, exist_ok=True)
    (out / "scenario.toml").write_text(scenario_toml)
    summary = results[0] if len(results) == 1 else list(results)
    (out / "summary.json").write_text(json.dumps(summary, indent=2, sort_keys=True) + "\n")


def summary_of(result: dict[str, Any]) -> dict[str, Any]:
    """What --json prints and summary.json holds: everything but the time
    series and the policy's state files, which have files of their own."""
    return {k: v for k, v in result.items() if k not in ("timeseries", "policy_state")}


def write_results(out: Path, result: dict[str, Any], scenario_toml: str) -> None:
    """A results directory later commands can read: the resolved scenario,
    the summary, the counters as the kernel shows them, per-process stats
    and the sampled time series."""
    out.mkdir(parents=True, exist_ok=True)
    (out / "scenario.toml").write_text(scenario_toml)
    summary = summary_of(result)
    # the policy's own files, like its debugfs directory: a directory of
    # their own, so no name a policy picks can replace one of ours
    state_dir = out / "policy"
    for name, text in result["policy_state"].items():
        state_dir.mkdir(exist_ok=True)
        (state_dir / Path(name).name).write_text(text)
    (out / "summary.json").write_text(json.dumps(summary, indent=2, sort_keys=True) + "\n")
    (out / "vmstat").write_text(format_vmstat(result["vmstat"]))
    # /proc/pressure/memory, and each process's as a cgroup's memory.pressure
    (out / "pressure").mkdir(exist_ok=True)
    for name, snapshot in result["pressure"].items():
        (out / "pressure" / ("memory" if name == "total" else f"{name}.memory.pressure")).write_text(
            format_pressure(snapshot))
    for name, group in result.get("memcgs", {}).items():
        _write_cgroup(out / "cgroup" / name.strip("/"), group)
    for nid, node in result["nodes"].items():
        (out / f"node{nid}").mkdir(exist_ok=True)
        (out / f"node{nid}" / "vmstat").write_text(format_vmstat({**node["gauges"], **node["vmstat"]}))
    _write_csv(out / "processes.csv", [{"process": name, **p} for name, p in result["processes"].items()])
    _write_csv(out / "timeseries.csv", result["timeseries"])


def _write_cgroup(directory: Path, group: dict[str, Any]) -> None:
    """A cgroup's memory.* files, in the kernel's formats."""
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "memory.current").write_text(f"{group['memory.current']}\n")
    (directory / "memory.swap.current").write_text(f"{group['memory.swap.current']}\n")
    (directory / "memory.stat").write_text(format_vmstat(group["memory.stat"]))
    (directory / "memory.events").write_text(format_vmstat(group["memory.events"]))
    if "memory.pressure" in group:
        (directory / "memory.pressure").write_text(format_pressure(group["memory.pressure"]))


def _write_csv(path: Path, rows: list[dict[str, Any]]) -> None:
    if not rows:
        path.write_text("")
        return
    # every column any row has, in the order they first appear: a policy
    # ejected mid-run brings the fallback's lists, and their columns
    columns = list(dict.fromkeys(key for row in rows for key in row))
    with path.open("w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=columns, restval="")
        writer.writeheader()
        writer.writerows(rows)
