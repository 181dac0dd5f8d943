"""A run's events as a Chrome/Perfetto JSON trace, to open in ui.perfetto.dev.

The Trace Event Format: {"traceEvents": [...], "displayTimeUnit": "ms"},
every timestamp and duration in microseconds as a float (the simulator's
nanoseconds / 1000). Each timeline row is a trace-event "process" with a
single thread (tid == pid), named by "M" metadata events:

- a simulated process: pid + PROCESS_PID_OFFSET, named by its comm. The
  simulator numbers processes from 0, but Perfetto treats pid 0 as the
  kernel's swapper and special-cases it, so every process moves up by one;
  the simulator's own pid stays in each event's args;
- kswapd of node N: KSWAPD_PID_BASE + N, named "kswapdN";
- the machine (events with neither pid nor nid, and the free-page
  counters): MACHINE_PID, named "machine".

The synthetic pids start at PID_MAX_LIMIT (1 << 22), which no Linux pid can
reach, so they cannot clash with a process however many there are, and they
stay well inside the uint32 Perfetto stores pids in.

Slices: direct reclaim (B/E on the process), kswapd awake (B/E on its node's
kswapd), and every event carrying dur_ns as a complete "X" event. Everything
else is a thread-scoped instant "i" with the event's fields as args.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

# include/linux/threads.h: PID_MAX_LIMIT on 64-bit. Real pids are below it.
PID_MAX_LIMIT = 1 << 22
MACHINE_PID = PID_MAX_LIMIT
KSWAPD_PID_BASE = PID_MAX_LIMIT + 1
# MAX_NUMNODES with the largest NODES_SHIFT (10): a nid outside [0, this)
# is not a node, and must not land on some other synthetic pid.
MAX_NUMNODES = 1 << 10
PROCESS_PID_OFFSET = 1  # pid 0 is the swapper to Perfetto: see above

# Tracepoint pairs that bound a slice: event name -> (slice name, phase).
# kswapd_wake fires at the start of every balance_pgdat() pass, also when
# kswapd goes straight into another pass without sleeping, so a wake while
# the slice is already open is a pass boundary, not a new slice.
_SLICE_EDGES: dict[str, tuple[str, str]] = {
    "mm_vmscan_direct_reclaim_begin": ("direct reclaim", "B"),
    "mm_vmscan_direct_reclaim_end": ("direct reclaim", "E"),
    "mm_vmscan_kswapd_wake": ("kswapd awake", "B"),
    "mm_vmscan_kswapd_sleep": ("kswapd awake", "E"),
}

FREE_PAGES_COUNTER = "free pages"


def _us(ns: float) -> float:
    return ns / 1000.0


def _jsonable(value: Any) -> Any:
    """A field value JSON can carry without NaN: numpy scalars unwrapped,
    non-finite floats and unknown objects as their text."""
    if value is None or isinstance(value, (bool, int, str)):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else str(value)
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if hasattr(value, "item"):  # numpy scalar
        return _jsonable(value.item())
    return str(value)


def _args(event: dict[str, Any]) -> dict[str, Any]:
    return {k: _jsonable(v) for k, v in event.items() if k not in ("name", "ts")}


def _finite_number(value: Any) -> bool:
    """Whether a sample can be a counter value: a NaN (a node with no data
    yet) is skipped rather than written as invalid JSON."""
    if isinstance(value, bool):
        return False
    try:
        return math.isfinite(float(value))
    except (TypeError, ValueError):
        return False


def _track(event: dict[str, Any]) -> tuple[int, str]:
    """The (trace pid, track name) an event belongs on."""
    if "pid" in event:
        pid = int(event["pid"])
        if not 0 <= pid < MACHINE_PID - PROCESS_PID_OFFSET:
            raise ValueError(f"pid {pid} would clash with the synthetic tracks")
        return pid + PROCESS_PID_OFFSET, str(event.get("comm") or f"pid {pid}")
    nid = event.get("nid")
    if isinstance(nid, int) and 0 <= nid < MAX_NUMNODES:
        return KSWAPD_PID_BASE + nid, f"kswapd{nid}"
    return MACHINE_PID, "machine"


def _phase(ph: str, name: str, pid: int, ts_us: float, **extra: Any) -> dict[str, Any]:
    return {"ph": ph, "name": name, "pid": pid, "tid": pid, "ts": ts_us, **extra}


def trace_events(events: Iterable[dict[str, Any]], samples: Sequence[dict[str, Any]],
                 nodes: int) -> list[dict[str, Any]]:
    """The traceEvents list: metadata first, then the events in input order,
    the closing ends of slices still open, and the counters."""
    names: dict[int, str] = {MACHINE_PID: "machine"}
    names.update({KSWAPD_PID_BASE + nid: f"kswapd{nid}" for nid in range(nodes)})
    out: list[dict[str, Any]] = []
    open_slices: set[tuple[int, str]] = set()
    last_ns = 0

    for event in events:
        pid, track_name = _track(event)
        # The first comm seen names the process: deterministic, and a
        # process does not rename itself in the simulator.
        names.setdefault(pid, track_name)
        ts_ns = int(event["ts"])
        ts, args = _us(ts_ns), _args(event)
        last_ns = max(last_ns, ts_ns)
        name = str(event["name"])
        edge = _SLICE_EDGES.get(name)
        if edge is not None:
            slice_name, ph = edge
            key = (pid, slice_name)
            # Only a begin on a closed slice or an end on an open one is an
            # edge; anything else (a trace started mid-reclaim, a repeated
            # wake) stays visible as an instant and the file stays balanced.
            if ph == "B" and key not in open_slices:
                open_slices.add(key)
                out.append(_phase("B", slice_name, pid, ts, args=args))
                continue
            if ph == "E" and key in open_slices:
                open_slices.remove(key)
                out.append(_phase("E", slice_name, pid, ts, args=args))
                continue
        if "dur_ns" in event:
            dur_ns = int(event["dur_ns"])
            last_ns = max(last_ns, ts_ns + dur_ns)
            out.append(_phase("X", name, pid, ts, dur=_us(dur_ns), args=args))
            continue
        out.append(_phase("i", name, pid, ts, s="t", args=args))

    counters = []
    for row in samples:
        values = {f"node {nid}": row[f"node{nid}_free"] for nid in range(nodes)
                  if f"node{nid}_free" in row}
        values = {k: v for k, v in values.items() if _finite_number(v)}
        if not values:
            continue
        ts_ns = int(row["time_ns"])
        last_ns = max(last_ns, ts_ns)
        # One event for all nodes: Perfetto names a counter track
        # "<name> <arg key>", i.e. "free pages node N", one per node.
        counters.append(_phase("C", FREE_PAGES_COUNTER, MACHINE_PID, _us(ts_ns),
                               args={k: _jsonable(v) for k, v in values.items()}))

    # A slice still open when the run stopped (kswapd awake, a process in
    # reclaim) ends with the trace, marked so it is not read as an exit.
    for pid, slice_name in sorted(open_slices):
        out.append(_phase("E", slice_name, pid, _us(last_ns), args={"truncated": True}))

    meta = []
    for pid in sorted(names):
        for kind in ("process_name", "thread_name"):
            meta.append(_phase("M", kind, pid, 0.0, args={"name": names[pid]}))
    return meta + out + counters


def write_perfetto(events: Iterable[dict[str, Any]], samples: Sequence[dict[str, Any]],
                   path: Path, nodes: int) -> None:
    """Write the run as a Trace Event Format JSON file at `path`."""
    trace = {"traceEvents": trace_events(events, samples, nodes), "displayTimeUnit": "ms"}
    # Sorted keys and fixed separators: the same run gives the same bytes.
    # allow_nan=False: NaN is not JSON and the UI's parser rejects it.
    text = json.dumps(trace, allow_nan=False, sort_keys=True, separators=(",", ":"))
    Path(path).write_text(text + "\n", encoding="utf-8")
