"""A page's life: every recorded event of one folio, in order, each with what
it means (`reclaim-ext explain DIR --page ID`).

The events come from DIR/events.jsonl, which `reclaim-ext run --out DIR`
writes when asked to record (`--trace-page ID` for the pages of interest,
or `--trace` for whole tracepoints). A page is named by its folio id, or by
a process and the page's place in its address space: the process's regions
laid out one after another in the scenario's order.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from reclaim_ext.scenario import Scenario, load_scenario, to_config

EVENTS_FILE = "events.jsonl"
PAGE_SIZE = 4096


def page_of(directory: Path, process: str, address: int) -> int:
    """The folio id of page `address` of `process`'s address space in the
    run recorded in `directory` (its scenario.toml)."""
    scenario = load_scenario(directory / "scenario.toml")
    if not isinstance(scenario, Scenario):
        raise ValueError(f"{directory}: a replay has no processes; name the page with --page ID")
    from simulator.lru import ClassicLRU
    from simulator.machine import Machine

    machine_cfg, run_cfg = to_config(scenario)
    names = [p.name for p in machine_cfg.processes]
    if process not in names:
        raise ValueError(f"no process {process!r} in {directory}/scenario.toml (processes: {', '.join(names)})")
    pid = names.index(process)
    machine = Machine(machine_cfg, run_cfg, "lru", ClassicLRU())  # the layout is the machine's
    offset = address
    for region, base in zip(machine_cfg.processes[pid].regions, machine.region_base[pid]):
        if offset < region.pages:
            return base + offset
        offset -= region.pages
    total = sum(r.pages for r in machine_cfg.processes[pid].regions)
    raise ValueError(f"process {process!r} has {total} pages; page {address} is past its end")


def page_events(directory: Path, page: int) -> list[dict[str, Any]]:
    """The recorded events of one folio, in time order."""
    path = directory / EVENTS_FILE
    if not path.exists():
        raise ValueError(
            f"{path}: no events were recorded in {directory}. Record a page's life with "
            f"`reclaim-ext run SCENARIO --out {directory} --trace-page {page}` (or --trace '*' for every page)")
    return [event for event in _read(path) if event.get("pfn") == page]


def _read(path: Path) -> Iterator[dict[str, Any]]:
    with path.open() as lines:
        for number, line in enumerate(lines, start=1):
            try:
                yield json.loads(line)
            except json.JSONDecodeError as err:
                raise ValueError(f"{path}:{number}: not a JSON event ({err.msg})") from None


def _came_in(e: dict[str, Any]) -> str:
    return f"came into memory on node {e['nid']}, at the head of {e['lru']}"


def _refaulted(e: dict[str, Any]) -> str:
    verdict = "the policy activated it" if e["activate"] else "the policy did not activate it"
    restored = "; it was in the workingset (PG_workingset restored)" if e["workingset"] else ""
    return (f"refaulted ({e['comm']} touched it {e['distance']:,} evictions and activations after it left): "
            f"{verdict}{restored}")


def _evicted(e: dict[str, Any]) -> str:
    return f"{e['policy']} chose it as a victim on {e['list']}; reclaim freed it"


def _kept(e: dict[str, Any]) -> str:
    return f"{e['policy']} chose it as a victim on {e['list']}, but reclaim kept it ({e['reason']})"


def _written(e: dict[str, Any]) -> str:
    where = "to swap" if e["reclaim_flags"].endswith("ANON") else "back to its file"
    return f"reclaim wrote it out {where} (pageout)"


EXPLAIN: dict[str, Callable[[dict[str, Any]], str]] = {
    "mm_lru_insertion": _came_in,
    "refault": _refaulted,
    "folio_evicted": _evicted,
    "folio_putback": _kept,
    "mm_vmscan_write_folio": _written,
}


def format_life(page: int, events: list[dict[str, Any]]) -> str:
    """The story, as a table: time in ms of virtual time, the event, what it means."""
    if not events:
        return (f"page {page}: no event recorded (it was never touched, or its events were not recorded: "
                f"`reclaim-ext run SCENARIO --out DIR --trace-page {page}` records them)\n")
    times = [f"{e['ts'] / 1e6:,.3f}" for e in events]
    width = max(len("ms"), *(len(t) for t in times))
    name_width = max(len(e["name"]) for e in events)
    lines = [f"{'ms':>{width}}  {'event':<{name_width}}  what happened"]
    lines += [f"{t:>{width}}  {e['name']:<{name_width}}  {EXPLAIN.get(e['name'], _fields)(e)}"
              for t, e in zip(times, events)]
    return f"page {page}: {len(events)} events\n\n" + "\n".join(lines) + "\n"


def _fields(e: dict[str, Any]) -> str:
    return ", ".join(f"{k}={v}" for k, v in e.items() if k not in ("name", "ts", "pfn"))
