"""Tracepoints fire where the kernel's would, with its fields, and add up to
the counters; `run --trace/--trace-out/--perfetto` record them."""

from __future__ import annotations

import json
from collections import Counter, defaultdict

import pytest
from test_cli import run_cli

from reclaim_ext.api import run

PRESSURE = """
[machine]
nodes = [{ memory = "3MiB" }]
swap = { size = "16MiB" }

[[processes]]
name = "worker"
regions = [{ kind = "anon", size = "3MiB", pattern = "zipf:0.9", write_ratio = 0.2 }]

[[processes]]
name = "reader"
regions = [{ kind = "file", file = "data", size = "8MiB", pattern = "sequential" }]

[run]
seed = 5
accesses = 8000
"""

OOM = """
[machine]
nodes = [{ memory = "2MiB" }]

[[processes]]
name = "hog"
regions = [{ kind = "anon", size = "4MiB", pattern = "sequential" }]

[run]
accesses = 4000
"""


def traced(tmp_path, text: str) -> tuple[dict, list[dict]]:
    path = tmp_path / "s.toml"
    path.write_text(text)
    events: list[dict] = []
    result = run(path, events=events.append)
    return result, events


@pytest.fixture(scope="module")
def pressure(tmp_path_factory):
    return traced(tmp_path_factory.mktemp("pressure"), PRESSURE)


def of(events, name):
    return [e for e in events if e["name"] == name]


def test_every_reclaim_tracepoint_fires_with_the_kernels_fields(pressure):
    _, events = pressure
    fields = {
        "mm_vmscan_wakeup_kswapd": {"nid", "order"},
        "mm_vmscan_kswapd_wake": {"nid", "order"},
        "mm_vmscan_lru_isolate": {"nid", "nr_requested", "nr_scanned", "nr_taken", "lru"},
        "mm_vmscan_lru_shrink_inactive": {"nid", "nr_scanned", "nr_reclaimed", "nr_dirty", "nr_writeback",
                                          "nr_activate0", "nr_activate1", "priority", "reclaim_flags"},
        "mm_vmscan_lru_shrink_active": {"nid", "nr_taken", "priority", "reclaim_flags"},
        "mm_vmscan_write_folio": {"pfn", "reclaim_flags"},
        "mm_vmscan_direct_reclaim_begin": {"pid", "comm", "order"},
        "mm_vmscan_direct_reclaim_end": {"pid", "comm", "nr_reclaimed"},
        "mm_lru_insertion": {"pfn", "lru"},
        "page_fault": {"pid", "comm", "nr_major", "nr_minor"},
        "refault": {"pid", "pfn", "distance", "activate", "workingset"},
        "policy_attached": {"policy", "trusted", "hooks"},
    }
    for name, expected in fields.items():
        found = of(events, name)
        assert found, f"{name} never fired"
        assert all(expected <= set(e) for e in found), name
    assert events[0]["name"] == "policy_attached"
    assert all(e["nr_taken"] <= e["nr_scanned"] for e in of(events, "mm_vmscan_lru_isolate"))
    assert {e["lru"] for e in of(events, "mm_lru_insertion")} <= {"inactive_anon", "inactive_file", "active_anon", "active_file"}
    assert all(e["distance"] >= 0 for e in of(events, "refault"))


def test_the_tracepoints_add_up_to_the_counters(pressure):
    result, events = pressure
    vm = result["vmstat"]
    shrink = of(events, "mm_vmscan_lru_shrink_inactive")
    assert sum(e["nr_scanned"] for e in shrink) == vm["pgscan_kswapd"] + vm["pgscan_direct"]
    assert sum(e["nr_reclaimed"] for e in shrink) == vm["pgsteal_kswapd"] + vm["pgsteal_direct"]
    assert len(of(events, "mm_vmscan_write_folio")) == vm["nr_vmscan_write"]
    assert len(of(events, "refault")) == vm["workingset_refault_anon"] + vm["workingset_refault_file"]
    assert sum(e["nr_major"] for e in of(events, "page_fault")) == vm["pgmajfault"]
    assert len(of(events, "mm_vmscan_direct_reclaim_begin")) == vm["allocstall_normal"]


def test_direct_reclaim_is_a_slice_on_the_stalled_process(pressure):
    result, events = pressure
    open_by_pid: dict[int, int] = {}
    lasted = defaultdict(int)
    for e in events:
        if e["name"] == "mm_vmscan_direct_reclaim_begin":
            assert e["pid"] not in open_by_pid
            open_by_pid[e["pid"]] = e["ts"]
        elif e["name"] == "mm_vmscan_direct_reclaim_end":
            begun = open_by_pid.pop(e["pid"])
            assert e["ts"] >= begun
            lasted[e["comm"]] += e["ts"] - begun
    assert not open_by_pid
    for name, ns in lasted.items():
        assert ns == result["processes"][name]["direct_reclaim_ns"]


def test_the_oom_killer_marks_its_victim(tmp_path):
    result, events = traced(tmp_path, OOM)
    (victim,) = of(events, "mark_victim")
    assert victim["comm"] == "hog" and victim["pid"] == 0 and result["vmstat"]["oom_kill"] == 1


def test_trace_out_writes_the_matching_events_as_json_lines(capsys, tmp_path):
    scenario = tmp_path / "s.toml"
    scenario.write_text(PRESSURE)
    out = tmp_path / "events.jsonl"
    code, _, _ = run_cli(capsys, "run", str(scenario), "--trace", "mm_vmscan_lru_*", "--trace", "refault",
                         "--trace-out", str(out))
    assert code == 0
    names = Counter(json.loads(line)["name"] for line in out.read_text().splitlines())
    assert set(names) == {"mm_vmscan_lru_isolate", "mm_vmscan_lru_shrink_inactive", "mm_vmscan_lru_shrink_active",
                          "refault"}


def test_perfetto_writes_a_timeline_with_a_track_per_process_and_kswapd(capsys, tmp_path):
    scenario = tmp_path / "s.toml"
    scenario.write_text(PRESSURE)
    path = tmp_path / "run.json"
    code, _, err = run_cli(capsys, "run", str(scenario), "--perfetto", str(path))
    assert code == 0 and "ui.perfetto.dev" in err
    trace = json.loads(path.read_text())["traceEvents"]
    tracks = {e["args"]["name"] for e in trace if e["ph"] == "M" and e["name"] == "process_name"}
    assert {"worker", "reader", "kswapd0"} <= tracks
    phases = Counter(e["ph"] for e in trace)
    assert phases["B"] == phases["E"] > 0 and phases["C"] > 0
    assert not any(e["name"] == "mm_lru_insertion" for e in trace), "per-folio events only when asked"


def test_trace_without_a_destination_is_a_usage_error(capsys, tmp_path):
    scenario = tmp_path / "s.toml"
    scenario.write_text(PRESSURE)
    code, _, err = run_cli(capsys, "run", str(scenario), "--trace", "refault")
    assert code == 2 and "--trace-out FILE" in err


def test_explain_tells_a_pages_life_from_its_recorded_events(capsys, tmp_path):
    scenario = tmp_path / "s.toml"
    scenario.write_text(PRESSURE)
    out = tmp_path / "run"
    # folio 100 is a page of the file "reader" streams: read, evicted, read again on the next pass
    assert run_cli(capsys, "run", str(scenario), "--out", str(out), "--trace-page", "100", "--accesses", "12000")[0] == 0
    lines = [json.loads(line) for line in (out / "events.jsonl").read_text().splitlines()]
    assert lines and all(e["pfn"] == 100 for e in lines)
    code, story, _ = run_cli(capsys, "explain", str(out), "--page", "100")
    assert code == 0 and story.startswith("page 100: ")
    events = [line.split()[1] for line in story.splitlines()[3:]]
    assert events[:2] == ["mm_lru_insertion", "folio_evicted"] and "refault" in events
    assert "chose it as a victim on inactive_file; reclaim freed it" in story
    # the same page named by its process and place: reader's only region starts at the file's first page
    code, again, _ = run_cli(capsys, "explain", str(out), "--process", "reader", "--address", hex(100 * 4096))
    assert code == 0 and again == story


def test_explain_without_recorded_events_says_how_to_record_them(capsys, tmp_path):
    scenario = tmp_path / "s.toml"
    scenario.write_text(PRESSURE)
    out = tmp_path / "run"
    run_cli(capsys, "run", str(scenario), "--out", str(out))
    code, _, err = run_cli(capsys, "explain", str(out), "--page", "7")
    assert code == 2 and "--trace-page 7" in err


def test_mglru_says_when_it_ages(tmp_path):
    path = tmp_path / "s.toml"
    path.write_text(PRESSURE)
    events: list[dict] = []
    run(path, policy="mglru", events=events.append)
    aging = [e["msg"] for e in of(events, "bpf_trace_printk") if e["msg"].startswith("lru_gen aging")]
    seqs = [int(m.split("max_seq=")[1].split()[0]) for m in aging]
    assert seqs and seqs == list(range(seqs[0], seqs[0] + len(seqs))), "each aging makes one new generation"


ROOMY = PRESSURE.replace('memory = "3MiB"', 'memory = "64MiB"')


def test_pressure_is_zero_without_memory_shortage_and_rises_with_it(tmp_path):
    calm, _ = traced(tmp_path, ROOMY)
    assert all(s["some_total_us"] == s["full_total_us"] == 0 for s in calm["pressure"].values())
    short, _ = traced(tmp_path, PRESSURE)
    total = short["pressure"]["total"]
    assert total["some_total_us"] > 0 and total["some_total_us"] >= total["full_total_us"]
    for name, process in short["processes"].items():
        mine = short["pressure"][name]
        # a process alone is fully stalled whenever it is stalled, and its
        # stall time is what PSI saw of it
        assert mine["some_total_us"] == mine["full_total_us"] == process["stall_ns"] // 1000
        assert total["some_total_us"] >= mine["some_total_us"]
    assert {"psi_some_avg10", "psi_full_avg10", "psi_some_total_us"} <= set(short["timeseries"][-1])


def test_the_results_directory_holds_the_pressure_files(capsys, tmp_path):
    scenario = tmp_path / "s.toml"
    scenario.write_text(PRESSURE)
    out = tmp_path / "run"
    code, printed, _ = run_cli(capsys, "run", str(scenario), "--out", str(out))
    memory = (out / "pressure" / "memory").read_text()
    assert code == 0 and memory.startswith("some avg10=") and "\nfull avg10=" in memory and memory in printed
    assert (out / "pressure" / "worker.memory.pressure").exists()
