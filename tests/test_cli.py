"""The command line and the Python API: summaries, JSON, results
directories, determinism, and clean errors for bad input."""

from __future__ import annotations

import json
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from reclaim_ext import RunFailed, run
from reclaim_ext.cli import main
from reclaim_ext.scenario import parse_scenario
from simulator.errors import SimulationError

SMALL = """
[machine]
nodes = [{ memory = "8MiB", cpus = 1 }, { memory = "8MiB", cpus = 1 }]
swap = { size = "32MiB" }

[[processes]]
name = "worker"
node = 0
[[processes.regions]]
kind = "anon"
size = "12MiB"
write_ratio = 0.2
pattern = "zipf:0.9"

[[processes]]
name = "reader"
node = 1
[[processes.regions]]
kind = "file"
file = "data"
size = "24MiB"
access = "rw"
pattern = "sequential"

[run]
seed = 7
accesses = 60000
"""


@pytest.fixture
def small(tmp_path: Path) -> Path:
    path = tmp_path / "small.toml"
    path.write_text(SMALL)
    return path


def run_cli(capsys, *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def test_run_prints_tables_of_processes_and_vmstat(capsys, small):
    code, out, err = run_cli(capsys, "run", str(small))
    assert code == 0, err
    assert "policy lru, seed 7: 60,000 accesses" in out
    assert "worker" in out and "reader" in out
    assert "pgscan_kswapd" in out and "node1" in out


def test_json_has_the_documented_keys_and_is_byte_identical_across_runs(capsys, small):
    _, first, _ = run_cli(capsys, "run", str(small), "--json")
    _, second, _ = run_cli(capsys, "run", str(small), "--json")
    assert first == second
    summary = json.loads(first)
    assert {"policy", "seed", "accesses", "vmstat", "processes"} <= set(summary)
    assert summary["policy"] == "lru" and summary["seed"] == 7 and summary["accesses"] == 60000
    assert summary["vmstat"]["pgfault"] == sum(p["minflt"] + p["majflt"] for p in summary["processes"].values())


def test_seed_option_overrides_the_scenario(capsys, small):
    _, a, _ = run_cli(capsys, "run", str(small), "--json", "--seed", "1")
    _, b, _ = run_cli(capsys, "run", str(small), "--json", "--seed", "2")
    assert json.loads(a)["seed"] == 1 and json.loads(a)["vmstat"] != json.loads(b)["vmstat"]


def test_out_writes_a_results_directory(capsys, small, tmp_path):
    out = tmp_path / "results"
    code, _, err = run_cli(capsys, "run", str(small), "--out", str(out))
    assert code == 0 and "results in" in err
    summary = json.loads((out / "summary.json").read_text())
    vmstat = dict(line.split() for line in (out / "vmstat").read_text().splitlines())
    assert int(vmstat["pgfault"]) == summary["vmstat"]["pgfault"]
    node0 = dict(line.split() for line in (out / "node0" / "vmstat").read_text().splitlines())
    assert "nr_free_pages" in node0 and int(node0["pgfault"]) == summary["nodes"]["0"]["vmstat"]["pgfault"]
    assert (out / "processes.csv").read_text().startswith("process,")
    assert (out / "timeseries.csv").read_text().startswith("time_ns,")
    # the resolved scenario reproduces the run
    resolved = tomllib.loads((out / "scenario.toml").read_text())
    assert resolved["run"]["seed"] == 7
    again = run(parse_scenario((out / "scenario.toml").read_text()))
    assert again["vmstat"] == summary["vmstat"]


def test_python_api_matches_the_cli(capsys, small):
    _, out, _ = run_cli(capsys, "run", str(small), "--json")
    result = run(small, check_invariants=True)
    assert result["vmstat"] == json.loads(out)["vmstat"]


def test_scenario_show_and_schema(capsys, small):
    code, out, _ = run_cli(capsys, "scenario", "show", str(small))
    assert code == 0 and "min_free_kbytes" in tomllib.loads(out)["machine"]
    code, out, _ = run_cli(capsys, "scenario", "schema")
    assert code == 0 and "properties" in json.loads(out)


@pytest.mark.parametrize(
    "args, message",
    [
        (["run", "missing.toml"], "missing.toml"),
        (["run", "--policy", "nosuch"], "unknown policy 'nosuch'"),
    ],
)
def test_bad_input_exits_2_with_a_message(capsys, args, message):
    code, _, err = run_cli(capsys, *args)
    assert code == 2 and message in err and "Traceback" not in err


def test_an_unwritable_results_directory_is_an_error_after_the_summary(capsys, small, tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("")
    code, out, err = run_cli(capsys, "run", str(small), "--json", "--out", str(blocker / "results"))
    assert code == 1 and "error" in err and "Traceback" not in err
    assert json.loads(out)["accesses"] == 60000  # the numbers were printed all the same


def test_bad_scenario_file_names_the_field(capsys, tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text(SMALL.replace('size = "12MiB"', 'size = "-12MiB"'))
    code, _, err = run_cli(capsys, "run", str(bad))
    assert code == 2 and "processes[0].regions[0].size" in err


def test_a_run_that_fails_keeps_its_results(monkeypatch, capsys, small, tmp_path):
    from simulator import machine as machine_module

    def broken_sample(self):
        if self.total_accesses > 30_000:
            raise SimulationError("planted failure")
        self.samples.append({"time_ns": self.now})

    monkeypatch.setattr(machine_module.Machine, "_sample", broken_sample)
    with pytest.raises(RunFailed) as failed:
        run(small)
    assert failed.value.result["error"] == "planted failure" and failed.value.result["accesses"] > 30_000
    code, out, err = run_cli(capsys, "run", str(small), "--json", "--out", str(tmp_path / "r"))
    assert code == 1 and "planted failure" in err
    assert json.loads(out)["error"] == "planted failure"
    assert (tmp_path / "r" / "summary.json").exists()


def test_console_entry_point_runs_without_a_traceback(small):
    proc = subprocess.run([sys.executable, "-m", "reclaim_ext.cli", "run", str(small), "--accesses", "5000"],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == ""  # no progress bar when stderr is not a terminal


def test_a_reader_that_leaves_early_is_not_an_error(small):
    """`reclaim-ext run | head -1`: the pipe closes before the tables are out."""
    proc = subprocess.Popen([sys.executable, "-m", "reclaim_ext.cli", "run", str(small), "--accesses", "5000"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    proc.stdout.close()  # the reader is gone before the first line
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 0 and err == b""
