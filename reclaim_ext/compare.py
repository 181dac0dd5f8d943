"""Policies side by side: every policy on every scenario at every memory size
and seed, in parallel worker processes, kept run by run in a results
directory, and summed up in tables (and plots, reclaim_ext.plots).

    >>> from reclaim_ext.compare import compare
    >>> c = compare(["my.toml"], ["lru", "mglru"], memory=["75%", "100%"], seeds=3, out="cmp/")
    >>> print(c.text())

The directory is the comparison: compare.json names the grid, runs/ holds
one JSON file per finished run, named by a digest of what it ran (the
resolved scenario, the policy, the memory and the seed), so running the same
comparison again skips what is done, and an interrupted one keeps every run
that finished. `reclaim-ext report DIR` renders it again without running.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from dataclasses import asdict, dataclass
from multiprocessing import get_context
from pathlib import Path
from typing import Any

from reclaim_ext.api import RunFailed, as_scenario, run, with_overrides
from reclaim_ext.policies import find_policy
from reclaim_ext.replay import OPT, ReplayFailed
from reclaim_ext.report import format_number, format_table
from reclaim_ext.scenario import ReplayScenario, Scenario, ScenarioError, resolved_toml
from reclaim_ext.stats import mean_std, welch_t_test
from reclaim_ext.units import format_size, parse_size
from simulator.policy import PolicyError

GRID_FILE = "compare.json"
RUNS_DIR = "runs"
ALPHA = 0.05  # Welch's t-test: a difference with p >= ALPHA is marked not significant
NOT_SIGNIFICANT = "~"


# --------------------------------------------------------------------------
# What is measured
# --------------------------------------------------------------------------
@dataclass(frozen=True)
class Metric:
    key: str
    title: str
    value: Callable[[dict[str, Any]], float]


def _vm(*names: str) -> Callable[[dict[str, Any]], float]:
    return lambda r: float(sum(r["vmstat"][name] for name in names))


def _efficiency(r: dict[str, Any]) -> float:
    scanned = _vm("pgscan_kswapd", "pgscan_direct")(r)
    return 100.0 * _vm("pgsteal_kswapd", "pgsteal_direct")(r) / scanned if scanned else 0.0


MACHINE_METRICS = (
    Metric("major_faults", "major faults", _vm("pgmajfault")),
    Metric("refaults", "refaults", _vm("workingset_refault_anon", "workingset_refault_file")),
    Metric("pgscan", "pgscan", _vm("pgscan_kswapd", "pgscan_direct")),
    Metric("pgsteal", "pgsteal", _vm("pgsteal_kswapd", "pgsteal_direct")),
    Metric("efficiency", "reclaim efficiency %", _efficiency),
    Metric("allocstall", "direct reclaim stalls", _vm("allocstall_normal")),
    Metric("pswpin", "swap in", _vm("pswpin")),
    Metric("pswpout", "swap out", _vm("pswpout")),
    Metric("oom_kill", "OOM kills", _vm("oom_kill")),
    Metric("stall_ms", "stall time ms", lambda r: sum(p["stall_ns"] for p in r["processes"].values()) / 1e6),
    Metric("run_time_ms", "run time ms", lambda r: r["virtual_time_ns"] / 1e6),
)


def cgroup_metrics(cgroup: str) -> tuple[Metric, ...]:
    """What a policy attached to one cgroup did for it: its own counters,
    from its memory.stat and memory.pressure."""
    def stat(*names: str) -> Callable[[dict[str, Any]], float]:
        return lambda r: float(sum(r["memcgs"][cgroup]["memory.stat"][name] for name in names))

    return (
        Metric("cgroup_major_faults", f"{cgroup} major faults", stat("pgmajfault")),
        Metric("cgroup_refaults", f"{cgroup} refaults", stat("workingset_refault_anon", "workingset_refault_file")),
        Metric("cgroup_pgscan", f"{cgroup} pgscan", stat("pgscan")),
        Metric("cgroup_stall_ms", f"{cgroup} stall time ms",
               lambda r: r["memcgs"][cgroup]["memory.pressure"]["some_total_us"] / 1000),
    )


REPLAY_METRICS = (
    Metric("misses", "misses", lambda r: float(r["misses"])),
    Metric("miss_ratio", "miss ratio %", lambda r: 100.0 * r["miss_ratio"]),
    Metric("hits", "hits", lambda r: float(r["hits"])),
)
METRICS = {m.key: m for m in MACHINE_METRICS + cgroup_metrics("the cgroup") + REPLAY_METRICS}


# --------------------------------------------------------------------------
# The grid
# --------------------------------------------------------------------------
@dataclass(frozen=True)
class Cell:
    """One run of the grid."""

    scenario: str  # its name in the comparison
    policy: str
    memory: str  # as given: "100%", "64MiB", "4096" (pages)
    seed: int

    def label(self) -> str:
        return f"{self.scenario} {self.policy} memory {self.memory} seed {self.seed}"


@dataclass(frozen=True)
class Grid:
    scenarios: dict[str, str]  # name -> the scenario as resolved TOML
    directories: dict[str, str]  # name -> the directory a replay's trace is found from
    policies: tuple[str, ...]
    memory: tuple[str, ...]
    seeds: tuple[int, ...]
    baseline: str
    # the cgroup the policies are attached to, the rest of the machine
    # keeping the scenario's; None: the policies run the whole machine
    cgroup: str | None = None

    def cells(self) -> list[Cell]:
        return [Cell(name, policy, memory, seed) for name in self.scenarios for memory in self.memory
                for policy in self.policies for seed in self.seeds]

    def digest(self, cell: Cell) -> str:
        """The name of a run's file: what it ran, and nothing else."""
        what = json.dumps([self.scenarios[cell.scenario], cell.policy, cell.memory, cell.seed]
                          + ([self.cgroup] if self.cgroup else []))
        return hashlib.sha256(what.encode()).hexdigest()[:16]

    def to_json(self) -> dict[str, Any]:
        return {**asdict(self), "policies": list(self.policies), "memory": list(self.memory), "seeds": list(self.seeds)}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Grid:
        return cls(data["scenarios"], data["directories"], tuple(data["policies"]), tuple(data["memory"]),
                   tuple(data["seeds"]), data["baseline"], data.get("cgroup"))

    def machine_metrics(self) -> tuple[Metric, ...]:
        return MACHINE_METRICS + (cgroup_metrics(self.cgroup) if self.cgroup else ())


def make_grid(scenarios: Sequence[str | Path | None], policies: Sequence[str], memory: Sequence[str],
              seeds: int, baseline: str | None, cgroup: str | None = None) -> Grid:
    """The grid of a comparison; ScenarioError or ValueError for what does not make one."""
    if not policies:
        raise ValueError("compare needs at least one --policy")
    if len(set(policies)) != len(policies):
        raise ValueError("a policy is named twice")
    if baseline is not None and baseline not in policies:
        raise ValueError(f"the baseline {baseline!r} is not one of the policies compared ({', '.join(policies)})")
    for policy in policies:  # a name that loads nothing is the user's mistake: say so before any run
        if policy != OPT:
            find_policy(policy)
    if seeds < 1:
        raise ValueError(f"--seeds must be at least 1, not {seeds}")
    for spec in memory:
        memory_factor(spec)  # checks it
    resolved, directories = {}, {}
    for source in scenarios or [None]:
        sc = as_scenario(source)
        name = Path(source).stem if source is not None else "default"
        if name in resolved:
            raise ValueError(f"two scenarios are named {name!r}: rename one file")
        if cgroup is not None and (isinstance(sc, ReplayScenario) or cgroup not in {g.name for g in sc.cgroups}):
            raise ValueError(f"scenario {name!r} has no cgroup {cgroup!r} to attach the policies to")
        resolved[name] = resolved_toml(sc)
        directories[name] = str(Path(source).resolve().parent) if source is not None else "."
    first_seed = as_scenario(scenarios[0] if scenarios else None).run.seed
    return Grid(resolved, directories, tuple(policies), tuple(memory or ["100%"]),
                tuple(range(first_seed, first_seed + seeds)), baseline or policies[0], cgroup)


def with_cgroup_policy(scenario: Scenario, cgroup: str, policy: str) -> Scenario:
    """The scenario with `policy` attached to one cgroup."""
    groups = [g.model_copy(update={"policy": policy}) if g.name == cgroup else g for g in scenario.cgroups]
    return scenario.model_copy(update={"cgroups": groups})


def memory_factor(spec: str) -> tuple[float | None, int | None]:
    """A --memory entry: (fraction, None) for a percentage of the
    scenario's memory, (None, pages) for a size."""
    text = spec.strip()
    if text.endswith("%"):
        try:
            percent = float(text[:-1])
        except ValueError:
            raise ValueError(f"memory {spec!r}: a percentage is a number followed by %") from None
        if percent <= 0:
            raise ValueError(f"memory {spec!r}: a percentage must be positive")
        return percent / 100, None
    try:
        return None, parse_size(int(text) if text.isdigit() else text)
    except ValueError as err:
        raise ValueError(f"memory {spec!r}: {err}") from None


def sized(scenario: Scenario | ReplayScenario, spec: str) -> Scenario | ReplayScenario:
    """The scenario with its memory set by a --memory entry: each node's
    memory scaled (a size is shared among the nodes as their memory is),
    or a replay's cache."""
    fraction, pages = memory_factor(spec)
    if isinstance(scenario, ReplayScenario):
        return scenario  # a replay's cache is sized by run_cell, which knows the trace
    nodes = scenario.machine.nodes
    total = sum(node.memory for node in nodes)
    scale = fraction if fraction is not None else pages / total
    machine = scenario.machine.model_copy(update={
        "nodes": [node.model_copy(update={"memory": max(1, int(node.memory * scale))}) for node in nodes],
    })
    return scenario.model_copy(update={"machine": machine})


# --------------------------------------------------------------------------
# Running
# --------------------------------------------------------------------------
def run_cell(grid_json: dict[str, Any], cell_json: dict[str, Any]) -> dict[str, Any]:
    """One run, in a worker process: its record (metrics, the summary, the
    time series, or the error that stopped it)."""
    from reclaim_ext.replay import cache_pages_of, replay
    from reclaim_ext.scenario import parse_scenario
    from reclaim_ext.traces import read_trace

    grid, cell = Grid.from_json(grid_json), Cell(**cell_json)
    started = time.perf_counter()
    record: dict[str, Any] = {"cell": asdict(cell), "error": None}
    try:
        scenario = parse_scenario(grid.scenarios[cell.scenario], cell.scenario)
        if isinstance(scenario, ReplayScenario):
            table = scenario.replay
            ids = read_trace(Path(grid.directories[cell.scenario]) / table.trace, table.format, table.column)
            unique = len(set(ids.tolist()))
            fraction, pages = memory_factor(cell.memory)
            cache = pages if pages is not None else max(1, int(cache_pages_of(table.cache, unique) * fraction))
            result = replay(ids, cache, cell.policy, seed=cell.seed, fallback=scenario.run.fallback)
            floor = replay(ids, cache, "opt")  # Belady's: the floor of every plot of the trace
            record.update(kind="replay", memory_pages=cache, floor={m.key: m.value(floor) for m in REPLAY_METRICS})
        else:
            scenario = sized(scenario, cell.memory)
            if grid.cgroup:
                scenario = with_overrides(with_cgroup_policy(scenario, grid.cgroup, cell.policy), seed=cell.seed)
            else:
                scenario = with_overrides(scenario, policy=cell.policy, seed=cell.seed)
            result = run(scenario)
            record.update(kind="machine", memory_pages=sum(n.memory for n in scenario.machine.nodes))
    except (RunFailed, ReplayFailed) as failed:
        result, record["error"] = failed.result, str(failed)
        record["kind"] = "replay" if "misses" in result else "machine"
    except (ScenarioError, PolicyError, ValueError, OSError) as err:  # a policy the verifier rejects, say
        record["error"] = str(err)
        record["kind"] = "error"
        result = {}
    record["wall_s"] = round(time.perf_counter() - started, 3)
    if result:
        metrics = REPLAY_METRICS if record["kind"] == "replay" else grid.machine_metrics()
        record["metrics"] = {m.key: m.value(result) for m in metrics}
        record["ejections"] = result.get("ejections", [])
        record["timeseries"] = result.get("timeseries", [])
    return record


def compare(
    scenarios: Sequence[str | Path | None] = (),
    policies: Sequence[str] = ("lru", "mglru"),
    *,
    memory: Sequence[str] = ("100%",),
    seeds: int = 1,
    baseline: str | None = None,
    cgroup: str | None = None,
    jobs: int = 1,
    out: str | Path = "compare-results",
    progress: Callable[[int, int], None] | None = None,
) -> Comparison:
    """Run the grid (what `out` already holds is kept, not run again) and
    return the comparison. `progress(done, total)` after each run.
    With `cgroup`, each policy is attached to that cgroup of every scenario
    and the rest of the machine keeps the scenario's policy: the table
    adds the cgroup's own counters. KeyboardInterrupt stops it with every
    finished run kept."""
    grid = make_grid(list(scenarios), list(policies), list(memory), seeds, baseline, cgroup)
    out = Path(out)
    (out / RUNS_DIR).mkdir(parents=True, exist_ok=True)
    (out / GRID_FILE).write_text(json.dumps(grid.to_json(), indent=2) + "\n")
    cells = grid.cells()
    todo = [cell for cell in cells if not (out / RUNS_DIR / f"{grid.digest(cell)}.json").exists()]
    done = len(cells) - len(todo)
    if progress:
        progress(done, len(cells))
    for record in _records(grid, todo, jobs):
        cell = Cell(**record["cell"])
        _write_atomically(out / RUNS_DIR / f"{grid.digest(cell)}.json", json.dumps(record))
        done += 1
        if progress:
            progress(done, len(cells))
    return load_comparison(out)


def _records(grid: Grid, cells: list[Cell], jobs: int) -> Iterable[dict[str, Any]]:
    """Each cell's record as it finishes: in this process for one job, in
    worker processes (spawned: nothing of this one leaks in) for more."""
    grid_json = grid.to_json()
    if jobs <= 1:
        for cell in cells:
            yield run_cell(grid_json, asdict(cell))
        return
    with ProcessPoolExecutor(max_workers=jobs, mp_context=get_context("spawn")) as pool:
        pending = {pool.submit(run_cell, grid_json, asdict(cell)) for cell in cells}
        try:
            while pending:
                finished, pending = wait(pending, return_when=FIRST_COMPLETED)
                for future in finished:
                    yield future.result()
        finally:
            for future in pending:
                future.cancel()


def _write_atomically(path: Path, text: str) -> None:
    """A run's file is there whole or not at all: an interrupt between
    the two steps leaves only a temporary file, which is run again."""
    partial = path.with_suffix(".part")
    partial.write_text(text)
    partial.replace(path)


# --------------------------------------------------------------------------
# The results
# --------------------------------------------------------------------------
@dataclass
class Comparison:
    grid: Grid
    runs: list[dict[str, Any]]  # the records of the finished runs
    out: Path

    def records(self, scenario: str, memory: str, policy: str) -> list[dict[str, Any]]:
        return [r for r in self.runs if (r["cell"]["scenario"], r["cell"]["memory"], r["cell"]["policy"])
                == (scenario, memory, policy)]

    def values(self, scenario: str, memory: str, policy: str, metric: str) -> list[float]:
        return [r["metrics"][metric] for r in self.records(scenario, memory, policy) if "metrics" in r
                and r["error"] is None and metric in r["metrics"]]

    def missing(self) -> int:
        return len(self.grid.cells()) - len(self.runs)

    def text(self) -> str:
        return render_tables(self, "text")

    def to_pandas(self):  # pandas is optional: no annotation that imports it
        """One row per run and metric (needs pandas)."""
        import pandas as pd

        return pd.DataFrame(self.rows())

    def rows(self) -> list[dict[str, Any]]:
        """One row per run and metric: plain data for anything tabular."""
        return [{**r["cell"], "memory_pages": r.get("memory_pages"), "metric": key, "value": value,
                 "error": r["error"]} for r in self.runs for key, value in r.get("metrics", {}).items()]


def load_comparison(out: str | Path) -> Comparison:
    """A comparison from its results directory (what `report` reads)."""
    out = Path(out)
    try:
        grid = Grid.from_json(json.loads((out / GRID_FILE).read_text()))
    except FileNotFoundError:
        raise ValueError(f"{out}: no {GRID_FILE}: not a directory `reclaim-ext compare --out` wrote") from None
    digests = {grid.digest(cell): cell for cell in grid.cells()}
    runs = []
    for path in sorted((out / RUNS_DIR).glob("*.json")):
        if path.stem in digests:  # a run of another grid in the same directory is not this comparison's
            runs.append(json.loads(path.read_text()))
    order = {cell: i for i, cell in enumerate(grid.cells())}
    runs.sort(key=lambda r: order[Cell(**r["cell"])])
    return Comparison(grid, runs, out)


# --------------------------------------------------------------------------
# Tables
# --------------------------------------------------------------------------
def summary_rows(c: Comparison, scenario: str, memory: str) -> tuple[list[Metric], list[dict[str, Any]]]:
    """Per metric and policy: mean, std, n, and against the baseline the
    change in percent and Welch's p-value."""
    kinds = {r.get("kind") for r in c.runs if r["cell"]["scenario"] == scenario}
    metrics = list(REPLAY_METRICS if "replay" in kinds else c.grid.machine_metrics())
    rows = []
    for metric in metrics:
        base = c.values(scenario, memory, c.grid.baseline, metric.key)
        for policy in c.grid.policies:
            values = c.values(scenario, memory, policy, metric.key)
            row = {"scenario": scenario, "memory": memory, "metric": metric.key, "policy": policy, "n": len(values),
                   "mean": None, "std": None, "change_pct": None, "p_value": None}
            if values:
                row["mean"], row["std"] = mean_std(values)
            if values and base and policy != c.grid.baseline:
                base_mean = mean_std(base)[0]
                row["change_pct"] = 100.0 * (row["mean"] - base_mean) / base_mean if base_mean else None
                row["p_value"] = welch_t_test(values, base)
            rows.append(row)
    return metrics, rows


def render_tables(c: Comparison, fmt: str = "text") -> str:
    """Every scenario and memory size: a table per pair (text, markdown),
    or all the summary rows (csv, json)."""
    blocks, flat = [], []
    for scenario in c.grid.scenarios:
        for memory in c.grid.memory:
            metrics, rows = summary_rows(c, scenario, memory)
            flat += rows
            if fmt in ("text", "markdown"):
                blocks.append(_table(c, scenario, memory, metrics, rows, fmt))
    if fmt == "json":
        return json.dumps(flat, indent=2) + "\n"
    if fmt == "csv":
        return _csv(flat)
    missing = c.missing()
    tail = f"\n{missing} of {len(c.grid.cells())} runs are not done: run the same compare again to finish.\n" if missing else ""
    return "\n".join(blocks) + tail


def _table(c: Comparison, scenario: str, memory: str, metrics: list[Metric], rows: list[dict[str, Any]], fmt: str) -> str:
    seeds = len(c.grid.seeds)
    mine = [r for r in c.runs if (r["cell"]["scenario"], r["cell"]["memory"]) == (scenario, memory)]
    head = (f"{scenario}, memory {memory}{_size(mine)}, "
            + (f"{seeds} seeds ({c.grid.seeds[0]}..{c.grid.seeds[-1]}); mean ± std" if seeds > 1
               else f"seed {c.grid.seeds[0]}")
            + f", change against {c.grid.baseline}"
            + (f"; the policy is cgroup {c.grid.cgroup}'s, the rest run the scenario's" if c.grid.cgroup else ""))
    headers = ["metric"]
    for policy in c.grid.policies:
        headers += [policy] if policy == c.grid.baseline else [policy, "change"]
    by_key = {(r["metric"], r["policy"]): r for r in rows}
    body = []
    for metric in metrics:
        line = [metric.title]
        for policy in c.grid.policies:
            r = by_key[(metric.key, policy)]
            line.append(_figure(r, seeds))
            if policy != c.grid.baseline:
                line.append(_change(r))
        body.append(line)
    note = (f"{NOT_SIGNIFICANT}: not significant over the seeds (Welch's t-test, p >= {ALPHA:g})" if seeds > 1
            else "one seed: no significance test (--seeds N for one)")
    failed = [r for r in c.runs if r["error"] and (r["cell"]["scenario"], r["cell"]["memory"]) == (scenario, memory)]
    failures = "".join(f"\nfailed: {Cell(**r['cell']).label()}: {r['error']}" for r in failed)
    if fmt == "markdown":
        return f"### {head}\n\n{_markdown(headers, body)}\n\n{note}{failures}\n"
    return f"{head}\n\n{format_table(headers, body)}\n{note}{failures}\n"


def _size(runs: list[dict[str, Any]]) -> str:
    """What the memory size came to: a machine's in bytes, a trace's cache
    in pages."""
    pages = {r.get("memory_pages") for r in runs}
    if len(pages) != 1 or None in pages:
        return ""
    size = pages.pop()
    return f" = {size:,} pages" if runs[0].get("kind") == "replay" else f" = {format_size(size)}"


def _figure(r: dict[str, Any], seeds: int) -> str:
    if r["mean"] is None:
        return "-"
    figure = _number(r["mean"])
    return f"{figure} ±{_number(r['std'])}" if seeds > 1 and r["n"] > 1 else figure


def _number(value: float) -> str:
    """Three significant figures or more: 0.42, 5.40, 61.9, 72,161."""
    if abs(value) >= 100:
        return format_number(round(value))
    return f"{value:.2f}" if abs(value) < 10 else f"{value:.1f}"


def _change(r: dict[str, Any]) -> str:
    if r["change_pct"] is None:
        return "-"
    mark = f" {NOT_SIGNIFICANT}" if r["p_value"] is not None and r["p_value"] >= ALPHA else ""
    return f"{r['change_pct']:+.1f}%{mark}"


def _markdown(headers: list[str], body: list[list[str]]) -> str:
    lines = ["| " + " | ".join(headers) + " |", "|" + "|".join("---:" if i else "---" for i in range(len(headers))) + "|"]
    lines += ["| " + " | ".join(row) + " |" for row in body]
    return "\n".join(lines)


def _csv(rows: list[dict[str, Any]]) -> str:
    import csv
    import io

    buffer = io.StringIO()
    if rows:
        writer = csv.DictWriter(buffer, fieldnames=list(rows[0]), lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
    return buffer.getvalue()
