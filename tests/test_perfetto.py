"""The Perfetto/Chrome JSON trace, from hand-built events: no simulation."""

from __future__ import annotations

import json
from collections import defaultdict
from pathlib import Path
from typing import Any

from reclaim_ext.perfetto import (
    KSWAPD_PID_BASE,
    MACHINE_PID,
    PROCESS_PID_OFFSET,
    write_perfetto,
)

# Two processes, two nodes: direct reclaim, kswapd on node 0 (awake over two
# passes, then asleep) and node 1 (still awake when the trace ends), a major
# fault and an aging round with durations, and instants of every kind of track.
EVENTS: list[dict[str, Any]] = [
    {"name": "mm_vmscan_wakeup_kswapd", "ts": 1_000, "nid": 0, "order": 0},
    {"name": "mm_vmscan_kswapd_wake", "ts": 1_500, "nid": 0, "order": 0},
    {"name": "mm_vmscan_direct_reclaim_begin", "ts": 2_000, "pid": 0, "comm": "postgres", "order": 0},
    {"name": "mm_vmscan_lru_shrink_inactive", "ts": 2_500, "nid": 0, "nr_scanned": 32, "nr_reclaimed": 30},
    {"name": "mm_vmscan_direct_reclaim_end", "ts": 3_000, "pid": 0, "comm": "postgres", "nr_reclaimed": 30},
    {"name": "page_fault", "ts": 4_000, "pid": 1, "comm": "redis", "major": True, "nr": 1, "dur_ns": 250_000},
    {"name": "mm_vmscan_kswapd_wake", "ts": 5_000, "nid": 0, "order": 0},  # a second pass
    {"name": "lru_gen_aging", "ts": 6_000, "nid": 1, "dur_ns": 1_500},
    {"name": "mm_vmscan_kswapd_sleep", "ts": 7_000, "nid": 0},
    {"name": "mm_vmscan_kswapd_wake", "ts": 8_000, "nid": 1, "order": 0},
    {"name": "bpf_trace_printk", "ts": 9_000, "policy": "sieve", "msg": "hand moved"},
    {"name": "mark_victim", "ts": 9_500, "pid": 1, "comm": "redis", "points": 1234},
]
SAMPLES: list[dict[str, Any]] = [
    {"time_ns": 0, "node0_free": 1000, "node1_free": 2000, "refaults": 0},
    {"time_ns": 5_000, "node0_free": 800, "node1_free": 1900, "refaults": 3},
]


def _write(tmp_path: Path, events=EVENTS, samples=SAMPLES, nodes: int = 2) -> dict[str, Any]:
    path = tmp_path / "trace.json"
    write_perfetto(iter(events), samples, path, nodes)
    return json.loads(path.read_text(), parse_constant=_no_nan)


def _no_nan(constant: str) -> None:
    raise AssertionError(f"{constant} is not JSON")


def _track_names(trace: dict[str, Any]) -> dict[int, str]:
    return {e["pid"]: e["args"]["name"] for e in trace["traceEvents"]
            if e["ph"] == "M" and e["name"] == "process_name"}


def _of(trace: dict[str, Any], ph: str, name: str | None = None) -> list[dict[str, Any]]:
    return [e for e in trace["traceEvents"] if e["ph"] == ph and name in (None, e["name"])]


def test_valid_trace_event_format(tmp_path: Path) -> None:
    trace = _write(tmp_path)
    assert trace["displayTimeUnit"] == "ms"
    depth: dict[int, int] = defaultdict(int)
    for e in trace["traceEvents"]:
        assert {"ph", "ts", "pid", "tid", "name"} <= e.keys(), e
        assert isinstance(e["ts"], float)
        assert e["tid"] == e["pid"] and 0 < e["pid"] < 2**32
        if e["ph"] == "X":
            assert isinstance(e["dur"], float) and e["dur"] >= 0
        if e["ph"] in "BE":
            depth[e["pid"]] += 1 if e["ph"] == "B" else -1
            assert depth[e["pid"]] >= 0, "an end before its begin"
    assert all(d == 0 for d in depth.values()), "B/E unbalanced"
    # Microseconds: the instant at 9_000 ns is at 9 µs.
    (printk,) = _of(trace, "i", "bpf_trace_printk")
    assert printk["ts"] == 9.0


def test_tracks_per_process_kswapd_and_machine(tmp_path: Path) -> None:
    names = _track_names(_write(tmp_path))
    assert names == {
        MACHINE_PID: "machine",
        KSWAPD_PID_BASE: "kswapd0",
        KSWAPD_PID_BASE + 1: "kswapd1",
        0 + PROCESS_PID_OFFSET: "postgres",
        1 + PROCESS_PID_OFFSET: "redis",
    }
    # Synthetic pids are above any Linux pid, so they never clash.
    assert MACHINE_PID >= 1 << 22 and KSWAPD_PID_BASE > MACHINE_PID


def test_direct_reclaim_and_kswapd_slices(tmp_path: Path) -> None:
    trace = _write(tmp_path)
    postgres = 0 + PROCESS_PID_OFFSET
    assert [(e["ph"], e["ts"]) for e in _of(trace, "B", "direct reclaim") + _of(trace, "E", "direct reclaim")] \
        == [("B", 2.0), ("E", 3.0)]
    assert all(e["pid"] == postgres for e in _of(trace, "B", "direct reclaim"))
    assert _of(trace, "E", "direct reclaim")[0]["args"]["nr_reclaimed"] == 30

    kswapd0 = [e for e in trace["traceEvents"] if e["pid"] == KSWAPD_PID_BASE and e["ph"] in "BE"]
    assert [(e["ph"], e["ts"]) for e in kswapd0] == [("B", 1.5), ("E", 7.0)]
    # The second pass's wake did not nest a slice: it is an instant.
    (second,) = [e for e in _of(trace, "i", "mm_vmscan_kswapd_wake") if e["pid"] == KSWAPD_PID_BASE]
    assert second["ts"] == 5.0


def test_dur_ns_becomes_complete_event(tmp_path: Path) -> None:
    trace = _write(tmp_path)
    (fault,) = _of(trace, "X", "page_fault")
    assert fault["pid"] == 1 + PROCESS_PID_OFFSET
    assert (fault["ts"], fault["dur"]) == (4.0, 250.0)
    assert fault["args"]["major"] is True
    (aging,) = _of(trace, "X", "lru_gen_aging")
    assert (aging["pid"], aging["dur"]) == (KSWAPD_PID_BASE + 1, 1.5)


def test_instants_carry_their_fields(tmp_path: Path) -> None:
    trace = _write(tmp_path)
    (shrink,) = _of(trace, "i", "mm_vmscan_lru_shrink_inactive")
    assert shrink["s"] == "t" and shrink["pid"] == KSWAPD_PID_BASE
    assert shrink["args"] == {"nid": 0, "nr_scanned": 32, "nr_reclaimed": 30}
    (printk,) = _of(trace, "i", "bpf_trace_printk")
    assert printk["pid"] == MACHINE_PID
    assert printk["args"] == {"policy": "sieve", "msg": "hand moved"}
    (victim,) = _of(trace, "i", "mark_victim")
    assert victim["args"] == {"pid": 1, "comm": "redis", "points": 1234}


def test_free_page_counters_per_node(tmp_path: Path) -> None:
    trace = _write(tmp_path)
    counters = _of(trace, "C")
    assert all(c["pid"] == MACHINE_PID and c["name"] == "free pages" for c in counters)
    # Perfetto names a counter track "<name> <arg key>": "free pages node N".
    assert [(c["ts"], c["args"]) for c in counters] == [
        (0.0, {"node 0": 1000, "node 1": 2000}),
        (5.0, {"node 0": 800, "node 1": 1900}),
    ]


def test_open_slice_closed_at_last_timestamp(tmp_path: Path) -> None:
    trace = _write(tmp_path)
    kswapd1 = [e for e in trace["traceEvents"] if e["pid"] == KSWAPD_PID_BASE + 1 and e["ph"] in "BE"]
    # The trace ends where its last event does: the fault at 4 µs lasting 250.
    assert [(e["ph"], e["ts"]) for e in kswapd1] == [("B", 8.0), ("E", 254.0)]
    assert kswapd1[-1]["args"] == {"truncated": True}


def test_unmatched_end_is_an_instant(tmp_path: Path) -> None:
    # A trace that starts while a process is already in reclaim.
    events = [{"name": "mm_vmscan_direct_reclaim_end", "ts": 10, "pid": 3, "comm": "a", "nr_reclaimed": 1}]
    trace = _write(tmp_path, events, [], 1)
    assert not _of(trace, "E") and len(_of(trace, "i")) == 1


def test_nan_is_never_written(tmp_path: Path) -> None:
    events = [{"name": "refault", "ts": 1, "pid": 0, "comm": "a", "distance": float("nan")}]
    samples = [{"time_ns": 0, "node0_free": float("nan")}, {"time_ns": 1, "node0_free": 5}]
    trace = _write(tmp_path, events, samples, 1)  # json.loads would reject NaN
    assert [c["args"] for c in _of(trace, "C")] == [{"node 0": 5}]


def test_deterministic(tmp_path: Path) -> None:
    a, b = tmp_path / "a.json", tmp_path / "b.json"
    write_perfetto(EVENTS, SAMPLES, a, 2)
    write_perfetto(list(EVENTS), SAMPLES, b, 2)
    assert a.read_bytes() == b.read_bytes()
