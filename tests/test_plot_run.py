"""plot_run on a results directory built by hand: no machine is run, so
these stay fast and pin the file format rather than the simulator."""

from __future__ import annotations

import json
import math
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from reclaim_ext.plot_run import nodes, plot_run, rates, read_timeseries

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
EXPECTED = [f"{name}.{fmt}" for name in ("memory", "reclaim", "pressure") for fmt in ("png", "svg")]

# Two nodes, every known column, and one a later version might add.
HEADER = ("time_ns,node0_free,node0_active_anon,node0_active_file,node0_inactive_anon,node0_inactive_file,"
          "node1_free,node1_active_anon,node1_active_file,node1_inactive_anon,node1_inactive_file,"
          "pgscan_kswapd,pgscan_direct,pgsteal_kswapd,pgsteal_direct,pgmajfault,"
          "workingset_refault_anon,workingset_refault_file,allocstall_normal,stall_ns,future_counter")
ROWS = [
    "0,1000,0,0,10,20,900,0,0,0,50,0,0,0,0,0,0,0,0,0,7",
    "500000000,200,5,3,600,150,100,0,1,20,700,400,10,300,8,4,2,6,1,2000000,oops",
    "1000000000,150,9,4,610,170,90,0,2,25,720,900,30,700,20,10,5,9,3,5000000,",
]


def write_run(directory: Path, header: str = HEADER, rows: list[str] = ROWS, policy: str = "lru") -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "timeseries.csv").write_text("\n".join([header, *rows]) + "\n")
    (directory / "summary.json").write_text(json.dumps({"policy": policy}))
    return directory


def test_rates_are_differences_over_time():
    seconds = [0.0, 0.5, 1.5]
    assert rates(seconds, [0, 100, 400]) == [200.0, 300.0]


def test_rates_of_one_sample_are_none_and_of_no_time_a_gap():
    assert rates([1.0], [5]) == []
    gap = rates([1.0, 1.0, 2.0], [0, 5, 15])
    assert math.isnan(gap[0]) and gap[1] == 10.0


@pytest.fixture(scope="module")
def plotted(tmp_path_factory) -> tuple[Path, list[Path]]:
    """One run plotted once, shared: drawing is most of these tests' time."""
    run = write_run(tmp_path_factory.mktemp("runs") / "my-run", policy="mglru")
    return run, plot_run(run)


def test_writes_valid_png_and_svg_into_plots_by_default(plotted):
    run, written = plotted
    assert [p.name for p in written] == EXPECTED
    assert all(p.parent == run / "plots" for p in written)
    for path in written:
        if path.suffix == ".png":
            assert path.read_bytes()[:8] == PNG_MAGIC
        else:
            ET.parse(path)  # raises on malformed XML


def test_titles_name_the_directory_and_the_policy(plotted):
    for path in plotted[1]:
        if path.suffix == ".svg":
            # matplotlib draws text as glyph paths and keeps it in a comment
            assert "my-run (mglru)" in path.read_text()


def test_unknown_columns_are_ignored_and_known_ones_optional(tmp_path):
    # future_counter (with junk in it) is in HEADER; here also drop node1
    # and most counters, and add watermarks and psi: all still plots
    header = "time_ns,node0_free,node0_wmark_min,node0_wmark_low,node0_wmark_high,stall_ns,psi_some_avg10,mystery"
    rows = ["0,100,10,20,30,0,0.0,x", "1000000000,50,10,20,30,1000000,1.5,y"]
    written = plot_run(write_run(tmp_path / "run", header, rows), tmp_path / "out")
    assert [p.name for p in written] == EXPECTED
    assert all(p.stat().st_size > 0 for p in written)
    svg = (tmp_path / "out" / "memory.svg").read_text()
    assert "wmark low" in svg and "psi_some_avg10" in (tmp_path / "out" / "pressure.svg").read_text()


def test_read_timeseries_parses_numbers_and_marks_junk_as_gaps(tmp_path):
    columns = read_timeseries(write_run(tmp_path / "run") / "timeseries.csv")
    assert columns["pgscan_kswapd"] == [0.0, 400.0, 900.0]
    assert columns["future_counter"][0] == 7.0
    assert all(math.isnan(v) for v in columns["future_counter"][1:])
    assert nodes(columns) == [0, 1]


def test_missing_timeseries_says_which_file_and_how_to_get_it(tmp_path):
    (tmp_path / "summary.json").write_text('{"policy": "lru"}')
    with pytest.raises(ValueError, match=r"timeseries\.csv.*reclaim-ext run SCENARIO --out DIR"):
        plot_run(tmp_path)


@pytest.mark.parametrize("text", ["", HEADER + "\n"])
def test_empty_timeseries_is_a_value_error(tmp_path, text):
    (tmp_path / "timeseries.csv").write_text(text)
    with pytest.raises(ValueError, match=r"timeseries\.csv.*reclaim-ext run SCENARIO --out DIR"):
        plot_run(tmp_path)


def test_svg_is_the_same_bytes_twice(plotted, tmp_path):
    run, written = plotted
    first = {p.name: p.read_bytes() for p in written if p.suffix == ".svg"}
    second = {p.name: p.read_bytes() for p in plot_run(run, tmp_path / "again") if p.suffix == ".svg"}
    assert first == second and len(first) == 3


def test_the_plot_command_draws_a_runs_directory(capsys, tmp_path):
    from test_cli import run_cli
    from test_tracepoints import PRESSURE

    scenario = tmp_path / "s.toml"
    scenario.write_text(PRESSURE)
    out = tmp_path / "run"
    assert run_cli(capsys, "run", str(scenario), "--out", str(out), "--accesses", "12000")[0] == 0
    code, printed, _ = run_cli(capsys, "plot", str(out))
    assert code == 0 and {Path(line).name for line in printed.split()} == {
        f"{name}.{fmt}" for name in ("memory", "reclaim", "pressure") for fmt in ("png", "svg")}
    code, _, err = run_cli(capsys, "plot", str(tmp_path))
    assert code == 2 and "timeseries.csv" in err
