"""`reclaim-ext compare` and `report`: the grid, resumption, seeds, the
significance marks, the table (a golden file), and the plots."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from test_cli import run_cli

from reclaim_ext.api import run
from reclaim_ext.scenario import load_scenario

from reclaim_ext import compare as compare_module
from reclaim_ext.compare import (
    Cell,
    Comparison,
    Grid,
    compare,
    load_comparison,
    render_tables,
)

GOLDEN = Path(__file__).parent / "golden" / "compare_table.txt"

TINY = """
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
accesses = 5000
"""


@pytest.fixture
def tiny(tmp_path) -> Path:
    path = tmp_path / "tiny.toml"
    path.write_text(TINY)
    return path


def run_files(out: Path) -> list[Path]:
    return sorted((out / "runs").glob("*.json"))


def test_the_grid_is_every_policy_scenario_memory_and_seed(tiny, tmp_path):
    c = compare([tiny], ["lru", "clock"], memory=["75%", "100%"], seeds=2, out=tmp_path / "out")
    assert len(c.runs) == len(run_files(tmp_path / "out")) == 2 * 2 * 2 and c.missing() == 0
    cells = {(r["cell"]["policy"], r["cell"]["memory"], r["cell"]["seed"]) for r in c.runs}
    assert cells == {(p, m, s) for p in ("lru", "clock") for m in ("75%", "100%") for s in (5, 6)}
    pages = {r["cell"]["memory"]: r["memory_pages"] for r in c.runs}
    assert pages == {"100%": 768, "75%": 576}
    by_seed = {r["cell"]["seed"]: r["metrics"] for r in c.runs
               if (r["cell"]["policy"], r["cell"]["memory"]) == ("lru", "100%")}
    assert by_seed[5] != by_seed[6], "each seed is its own run"


def test_a_second_compare_runs_only_what_is_missing(tiny, tmp_path, monkeypatch):
    out = tmp_path / "out"
    compare([tiny], ["lru", "fifo"], seeds=2, out=out)
    first = {p.name: p.read_text() for p in run_files(out)}
    ran = []
    real = compare_module.run_cell
    monkeypatch.setattr(compare_module, "run_cell", lambda g, cell: ran.append(cell) or real(g, cell))
    compare([tiny], ["lru", "fifo"], seeds=2, out=out)
    assert ran == []
    run_files(out)[0].unlink()
    again = compare([tiny], ["lru", "fifo"], seeds=2, out=out)
    assert len(ran) == 1 and {p.name: p.read_text() for p in run_files(out)}.keys() == first.keys()
    assert len(again.runs) == 4


def test_an_interrupted_compare_keeps_its_finished_runs(tiny, tmp_path):
    out = tmp_path / "out"

    def interrupt_after_two(done, total):
        if done == 2:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        compare([tiny], ["lru", "fifo"], seeds=2, out=out, progress=interrupt_after_two)
    assert len(run_files(out)) == 2 and not list((out / "runs").glob("*.part"))
    assert load_comparison(out).missing() == 2
    assert "2 of 4 runs are not done" in render_tables(load_comparison(out))
    assert len(compare([tiny], ["lru", "fifo"], seeds=2, out=out).runs) == 4


def synthetic(values: dict[str, list[float]]) -> Comparison:
    """A comparison of made-up major fault counts, one per seed."""
    seeds = len(next(iter(values.values())))
    grid = Grid({"s": ""}, {"s": "."}, tuple(values), ("100%",), tuple(range(seeds)), next(iter(values)))
    runs = [{"cell": {"scenario": "s", "policy": p, "memory": "100%", "seed": i}, "error": None, "kind": "machine",
             "memory_pages": 1024, "metrics": {"major_faults": v}} for p, vs in values.items() for i, v in enumerate(vs)]
    return Comparison(grid, runs, Path("."))


def change_of(table: str) -> str:
    """The last policy's change in major faults."""
    line = next(line for line in table.splitlines() if line.startswith("major faults"))
    return line.split("  ")[-1].strip()


def test_a_change_within_the_seeds_noise_is_marked_not_significant():
    noisy = render_tables(synthetic({"base": [100, 120, 80, 110], "new": [105, 90, 125, 100]}))
    clear = render_tables(synthetic({"base": [100, 101, 99, 100], "new": [50, 51, 49, 50]}))
    assert change_of(noisy).endswith("~") and "(Welch's t-test, p >= 0.05)" in noisy
    assert change_of(clear) == "-50.0%"


def test_one_seed_gets_no_test_and_says_so():
    table = render_tables(synthetic({"base": [100], "new": [50]}))
    assert change_of(table) == "-50.0%" and "one seed: no significance test" in table


def test_the_table_of_a_fixed_scenario_is_the_golden_one(tiny, tmp_path):
    """Regenerate with UPDATE_GOLDEN=1 when a change of the simulator
    changes the numbers on purpose."""
    c = compare([tiny], ["lru", "mglru", "clock"], seeds=2, out=tmp_path / "out")
    table = c.text()
    if os.environ.get("UPDATE_GOLDEN"):
        GOLDEN.parent.mkdir(exist_ok=True)
        GOLDEN.write_text(table)
    assert table == GOLDEN.read_text()


def test_report_renders_the_same_tables_and_the_plots_again(tiny, tmp_path, capsys):
    out = tmp_path / "out"
    code, printed, _ = run_cli(capsys, "compare", str(tiny), "--policy", "lru", "--policy", "fifo",
                               "--memory", "50%,100%", "-j", "1", "--out", str(out))
    assert code == 0 and printed == (out / "tables.txt").read_text()
    plots = sorted(p.name for p in (out / "plots").iterdir())
    assert "tiny-major_faults-by-memory.png" in plots and "tiny-100pct-timeseries.svg" in plots
    for p in (out / "plots").iterdir():
        p.unlink()
    code, again, _ = run_cli(capsys, "report", str(out))
    assert code == 0 and again == printed and len(list((out / "plots").iterdir())) == len(plots)
    code, markdown, _ = run_cli(capsys, "report", str(out), "--format", "markdown")
    assert markdown.startswith("### tiny, memory 50%") and "| major faults |" in markdown
    code, rows, _ = run_cli(capsys, "report", str(out), "--format", "json")
    rows = json.loads(rows)
    assert {r["policy"] for r in rows} == {"lru", "fifo"} and {r["memory"] for r in rows} == {"50%", "100%"}
    code, csv_text, _ = run_cli(capsys, "report", str(out), "--format", "csv")
    assert csv_text.splitlines()[0] == "scenario,memory,metric,policy,n,mean,std,change_pct,p_value"


def test_workers_in_parallel_give_what_one_process_gives(tiny, tmp_path):
    one = compare([tiny], ["lru", "fifo"], out=tmp_path / "one", jobs=1)
    two = compare([tiny], ["lru", "fifo"], out=tmp_path / "two", jobs=2)
    assert [r["metrics"] for r in one.runs] == [r["metrics"] for r in two.runs]


def test_a_trace_compares_misses_with_the_opt_floor(tmp_path):
    (tmp_path / "t.txt").write_text("\n".join(str(i % 7 + (i // 50) * 3) for i in range(400)))
    scenario = tmp_path / "trace.toml"
    scenario.write_text('[replay]\ntrace = "t.txt"\ncache = 4\n')
    c = compare([scenario], ["fifo", "example:lru"], memory=["50%", "100%"], out=tmp_path / "out")
    assert {r["memory_pages"] for r in c.runs} == {2, 4}
    assert all(r["floor"]["misses"] <= r["metrics"]["misses"] for r in c.runs)
    assert "miss ratio %" in c.text()


@pytest.mark.parametrize(("args", "message"), [
    (["--policy", "lru", "--baseline", "mglru"], "the baseline 'mglru' is not one of the policies"),
    (["--policy", "lru", "--memory", "lots"], "memory 'lots'"),
    (["--policy", "lru", "--policy", "lru"], "a policy is named twice"),
])
def test_compare_errors_exit_2_with_one_line(capsys, tiny, tmp_path, args, message):
    code, _, err = run_cli(capsys, "compare", str(tiny), *args, "--out", str(tmp_path / "out"))
    assert code == 2 and message in err and "Traceback" not in err


def test_report_of_a_directory_that_is_no_comparison(capsys, tmp_path):
    code, _, err = run_cli(capsys, "report", str(tmp_path))
    assert code == 2 and "no compare.json" in err


def test_the_rows_for_notebooks(tiny, tmp_path):
    c = compare([tiny], ["lru"], out=tmp_path / "out")
    rows = c.rows()
    assert {"scenario", "policy", "memory", "seed", "metric", "value"} <= set(rows[0])
    assert {r["metric"] for r in rows} >= {"major_faults", "pgscan", "stall_ms"}
    pd = pytest.importorskip("pandas")
    assert isinstance(c.to_pandas(), pd.DataFrame)


def test_cells_are_named_by_what_they_ran(tiny, tmp_path):
    c = compare([tiny], ["lru"], out=tmp_path / "out")
    other = Grid.from_json({**c.grid.to_json(), "scenarios": {"tiny": TINY.replace("5000", "6000")}})
    cell = Cell("tiny", "lru", "100%", 5)
    assert c.grid.digest(cell) != other.digest(cell)


def test_a_policy_that_does_not_exist_is_named_before_anything_runs(capsys, tiny, tmp_path):
    code, _, err = run_cli(capsys, "compare", str(tiny), "--policy", "lru", "--policy", "nosuch",
                           "--out", str(tmp_path / "out"))
    assert code == 2 and "unknown policy 'nosuch'" in err and not (tmp_path / "out").exists()


def test_a_policy_the_verifier_rejects_is_a_failed_run_not_a_crash(tmp_path, tiny):
    bad = tmp_path / "bad.py"
    bad.write_text('"""Rejected."""\nimport os\n')
    c = compare([tiny], ["lru", str(bad)], out=tmp_path / "out")
    (failed,) = [r for r in c.runs if r["error"]]
    assert "rejected by the verifier" in failed["error"] and "failed:" in c.text()


def test_compare_can_vary_one_cgroups_policy_while_the_rest_stay_fixed(tmp_path):
    from importlib import resources

    neighbours = resources.files("reclaim_ext").joinpath("scenarios/noisy-neighbour.toml")
    c = compare([str(neighbours)], ["lru", "fifo"], cgroup="noisy", out=tmp_path / "out")
    assert [r["metrics"]["cgroup_pgscan"] > 0 for r in c.runs] == [True, True]
    attached = compare_module.with_cgroup_policy(load_scenario(str(neighbours)), "noisy", "fifo")
    assert run(attached)["policy"] == "lru" and [g.policy for g in attached.cgroups] == [None, "fifo"]
    text = c.text()
    assert "the policy is cgroup noisy's" in text and "noisy major faults" in text
    # what ran: the machine kept the scenario's lru, the cgroup got each policy
    from reclaim_ext.compare import Cell, run_cell

    record = run_cell(c.grid.to_json(), {"scenario": "noisy-neighbour", "policy": "fifo", "memory": "100%", "seed": 0})
    assert record["metrics"] == c.runs[1]["metrics"]
    assert c.grid.digest(Cell("noisy-neighbour", "fifo", "100%", 0)) != \
        compare_module.Grid(**{**c.grid.__dict__, "cgroup": None}).digest(Cell("noisy-neighbour", "fifo", "100%", 0))
    with pytest.raises(ValueError, match="has no cgroup 'web'"):
        compare([str(neighbours)], ["lru"], cgroup="web", out=tmp_path / "bad")


def test_compare_cgroup_on_the_command_line(tmp_path, capsys):
    from importlib import resources

    neighbours = str(resources.files("reclaim_ext").joinpath("scenarios/noisy-neighbour.toml"))
    code, out, err = run_cli(capsys, "compare", neighbours, "--cgroup", "noisy", "--policy", "lru", "--policy", "fifo",
                             "--out", str(tmp_path / "out"), "-j", "1")
    assert code == 0 and "noisy pgscan" in out, err
    code, _, err = run_cli(capsys, "compare", "--cgroup", "web", "--policy", "lru", "--out", str(tmp_path / "bad"))
    assert code == 2 and "scenario 'default' has no cgroup 'web'" in err
