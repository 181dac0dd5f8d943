"""Regression baselines: the project's own regression cases (regressions/),
the baseline functions (reclaim_ext.baseline), `reclaim-ext run
--save-baseline/--check-baseline`, and the pytest plugin
(reclaim_ext.testing).

After an intended change of the simulator, rewrite the regression cases'
baselines with `python -m pytest test_baseline.py --reclaim-update-baselines`
(see regressions/README.md)."""

from __future__ import annotations

import json
import re
import textwrap
from fractions import Fraction
from pathlib import Path

import pytest

from reclaim_ext import run
from reclaim_ext.api import as_scenario, with_overrides
from reclaim_ext.baseline import (ABSOLUTE_FLOOR, Baseline, BaselineError, check, counters, format_check,
                                  load_baseline, make_baseline, parse_tolerance, write_baseline)
from reclaim_ext.cli import main

pytest_plugins = ["pytester"]

REGRESSIONS = Path(__file__).parent / "regressions"
CASES = sorted(REGRESSIONS.glob("*.toml"))
POLICIES = ("lru", "mglru")
# the quickest regression case, with kswapd, direct and memcg reclaim
SMALL = REGRESSIONS / "memcg-limits.toml"
SMALL_SEED = 2


# --------------------------------------------------------------------------
# The project's regression cases
# --------------------------------------------------------------------------


@pytest.mark.parametrize("policy", POLICIES)
@pytest.mark.parametrize("scenario", CASES, ids=lambda path: path.stem)
def test_regression_case_keeps_its_baseline(reclaim_baseline, scenario, policy):
    result = reclaim_baseline.check(scenario, policy=policy, baseline=scenario.with_suffix(f".{policy}.json"))
    assert result["error"] is None


def test_every_regression_case_has_a_baseline_per_policy_and_no_baseline_is_orphaned():
    assert len(CASES) >= 4
    expected = {case.with_suffix(f".{policy}.json").name for case in CASES for policy in POLICIES}
    assert {path.name for path in REGRESSIONS.glob("*.json")} == expected


# --------------------------------------------------------------------------
# The baseline functions
# --------------------------------------------------------------------------


@pytest.fixture(scope="module")
def small():
    scenario = as_scenario(SMALL)
    return scenario, run(scenario)


def baseline_of(small, **counter_changes: int | None) -> Baseline:
    """The run's own baseline with some counters set (None: removed)."""
    scenario, result = small
    baseline = make_baseline(scenario, result, source="small")
    for name, value in counter_changes.items():
        if value is None:
            del baseline.counters[name]
        else:
            baseline.counters[name] = value
    return baseline


def test_the_counters_are_vmstat_per_process_per_memcg_and_ejections(small):
    _, result = small
    found = counters(result)
    assert found["vmstat.pgmajfault"] == result["vmstat"]["pgmajfault"]
    assert found["processes.capped.majflt"] == result["processes"]["capped"]["majflt"] > 0
    assert found["memcgs.capped.memory.events.max"] == result["memcgs"]["capped"]["memory.events"]["max"] > 0
    assert found["ejections"] == 0
    # times move with the cost model: not counters
    assert not any(name.endswith("_ns") for name in found)


def test_a_replay_has_its_hits_and_misses():
    result = {"policy": "lru", "hits": 90, "misses": 10, "ejections": [{"kind": "error"}]}
    assert counters(result) == {"hits": 90, "misses": 10, "ejections": 1}


def test_the_same_run_passes_at_zero_tolerance(small):
    scenario, result = small
    outcome = check(baseline_of(small), result, scenario=scenario, tolerance="0%")
    assert outcome.ok and outcome.mismatches == []
    assert not any(row.moved for row in outcome.rows)
    assert format_check(outcome, "b.json") == f"baseline b.json: {len(outcome.rows)} counters within 0%\n"


def test_a_moved_counter_fails_with_its_row(small):
    scenario, result = small
    now = result["vmstat"]["pgscan_kswapd"]
    assert now > 100, "the scenario must make kswapd scan"
    outcome = check(baseline_of(small, **{"vmstat.pgscan_kswapd": 2 * now}), result, scenario=scenario)
    assert not outcome.ok
    [row] = outcome.failed
    assert (row.counter, row.baseline, row.now, row.change, row.change_pct) == (
        "vmstat.pgscan_kswapd", 2 * now, now, -now, -50.0)
    assert row.allowed == 2 * now // 20 and not row.within
    text = format_check(outcome, "b.json")
    assert text.startswith(f"baseline b.json: 1 of {len(outcome.rows)} counters beyond 5%\n")
    [line] = [line for line in text.splitlines() if line.startswith("vmstat.pgscan_kswapd ")]
    assert line.split()[1:4] == ["BEYOND", f"{2 * now:,}", f"{now:,}"] and "(-50.0%)" in line


def test_a_counter_within_its_tolerance_passes_and_shows_as_moved(small):
    scenario, result = small
    now = result["vmstat"]["pgfault"]
    moved = baseline_of(small, **{"vmstat.pgfault": now + now * 4 // 100})
    outcome = check(moved, result, scenario=scenario, tolerance="5%")
    assert outcome.ok
    assert [row.counter for row in outcome.rows if row.moved] == ["vmstat.pgfault"]
    assert not check(moved, result, scenario=scenario, tolerance="3%").ok


def test_the_absolute_floor_lets_a_counter_near_zero_move_by_two_except_at_zero_tolerance(small):
    scenario, result = small
    assert result["vmstat"]["oom_kill"] == 0
    assert check(baseline_of(small, **{"vmstat.oom_kill": ABSOLUTE_FLOOR}), result, scenario=scenario).ok
    assert not check(baseline_of(small, **{"vmstat.oom_kill": ABSOLUTE_FLOOR + 1}), result, scenario=scenario).ok
    assert not check(baseline_of(small, **{"vmstat.oom_kill": 1}), result, scenario=scenario, tolerance="0").ok


def test_per_counter_tolerances_by_name_or_glob_callers_before_the_files(small):
    scenario, result = small
    moved = baseline_of(small, **{"vmstat.pgscan_kswapd": 2 * result["vmstat"]["pgscan_kswapd"]})
    moved.tolerances["vmstat.pgscan_*"] = "60%"
    outcome = check(moved, result, scenario=scenario)
    assert outcome.ok
    assert "(4 with a tolerance of their own)" in format_check(outcome, "b.json")
    assert not check(moved, result, scenario=scenario, tolerances={"vmstat.pgscan_kswapd": "10%"}).ok
    with pytest.raises(ValueError, match="tolerance in percent"):
        check(moved, result, scenario=scenario, tolerances={"vmstat.*": "lots"})


@pytest.mark.parametrize("missing, verdict", [
    ("baseline", "not in baseline"),
    ("run", "not in this run"),
])
def test_a_counter_on_one_side_only_fails(small, missing, verdict):
    scenario, result = small
    changes = {"vmstat.pgmajfault": None} if missing == "baseline" else {"vmstat.pgbogus": 0}
    outcome = check(baseline_of(small, **changes), result, scenario=scenario)
    [row] = outcome.failed
    assert row.counter == ("vmstat.pgmajfault" if missing == "baseline" else "vmstat.pgbogus")
    assert verdict in format_check(outcome, "b.json")


def test_another_policy_seed_or_scenario_is_a_mismatch_that_says_where(small):
    scenario, result = small
    other = with_overrides(scenario, accesses=scenario.run.accesses + 1, seed=scenario.run.seed + 1)
    baseline = baseline_of(small)
    baseline.policy = "mglru"
    outcome = check(baseline, result, scenario=other)
    assert not outcome.ok
    assert outcome.mismatches == [
        "the baseline is of policy mglru, this run of lru",
        f"the baseline is of seed {scenario.run.seed}, this run of seed {scenario.run.seed + 1}",
        "the scenario is not the baseline's (small): it differs at run.accesses",
    ]


@pytest.mark.parametrize("text, message", [
    ("", "b.json: line 1, column 1: not JSON"),
    ("[]", "b.json: expected a JSON object, got an array"),
    ('{"format": 2}', "b.json: format: this reclaim-ext reads baselines of format 1, not 2"),
    ("COUNTERS_STRING", 'counters.vmstat.pgfault: expected an integer, got "12"'),
    ("NO_POLICY", "policy: required, but missing"),
    ("BAD_TOLERANCE", 'tolerances.vmstat.*: expected a tolerance in percent such as "5%", got "lots"'),
    ("EXTRA", "colour: unknown key"),
])
def test_a_bad_file_is_an_error_naming_the_file_and_the_field(small, tmp_path, text, message):
    good = baseline_of(small).model_dump()
    edits = {
        "COUNTERS_STRING": lambda d: d["counters"].update({"vmstat.pgfault": "12"}),
        "NO_POLICY": lambda d: d.pop("policy"),
        "BAD_TOLERANCE": lambda d: d["tolerances"].update({"vmstat.*": "lots"}),
        "EXTRA": lambda d: d.update(colour="blue"),
    }
    if text in edits:
        edits[text](good)
        text = json.dumps(good)
    path = tmp_path / "b.json"
    path.write_text(text)
    with pytest.raises(BaselineError) as err:
        load_baseline(path)
    assert str(err.value).startswith(f"{path}: ") and message in str(err.value)
    assert "\n" not in str(err.value)


def test_a_missing_file_is_an_error_naming_it(tmp_path):
    with pytest.raises(BaselineError, match="nothing.json: cannot read: No such file"):
        load_baseline(tmp_path / "nothing.json")


def test_writing_again_keeps_the_files_tolerances_and_says_whether_it_changed(small, tmp_path):
    scenario, result = small
    path = tmp_path / "b.json"
    written, changed = write_baseline(path, scenario, result, source="small")
    assert changed and load_baseline(path) == written
    data = json.loads(path.read_text())
    data["tolerances"] = {"processes.*.majflt": "20%"}
    data["counters"]["vmstat.pgmajfault"] += 100
    path.write_text(json.dumps(data))
    rewritten, changed = write_baseline(path, scenario, result, source="small")
    assert changed and rewritten.tolerances == {"processes.*.majflt": "20%"}
    assert rewritten.counters == counters(result)
    assert write_baseline(path, scenario, result, source="small")[1] is False


@pytest.mark.parametrize("text, fraction", [("5%", Fraction(1, 20)), ("5", Fraction(1, 20)), ("0", 0),
                                            (" 12.5 % ", Fraction(1, 8))])
def test_a_tolerance_is_in_percent(text, fraction):
    assert parse_tolerance(text) == fraction


@pytest.mark.parametrize("text", ["-5%", "5x", "", "0.05 percent"])
def test_a_tolerance_that_is_no_percentage_is_refused(text):
    with pytest.raises(ValueError, match="tolerance in percent"):
        parse_tolerance(text)


# --------------------------------------------------------------------------
# The command line
# --------------------------------------------------------------------------


def run_cli(capsys, *args: str) -> tuple[int, str, str]:
    code = main(["run", str(SMALL), *args])
    out, err = capsys.readouterr()
    return code, out, err


def test_cli_save_then_check_passes_at_zero_tolerance(capsys, tmp_path):
    path = tmp_path / "b.json"
    code, _, err = run_cli(capsys, "--save-baseline", str(path))
    assert code == 0 and f"baseline of {len(load_baseline(path).counters)} counters in {path}" in err
    code, out, err = run_cli(capsys, "--check-baseline", str(path), "--tolerance", "0")
    assert code == 0, out + err
    assert out.endswith(f"\nbaseline {path}: {len(load_baseline(path).counters)} counters within 0%\n")


@pytest.mark.parametrize("change, mismatch", [
    (("--seed", "11"), f"the baseline is of seed {SMALL_SEED}, this run of seed 11"),
    (("--policy", "mglru"), "the baseline is of policy lru, this run of mglru"),
])
def test_cli_check_of_another_run_exits_1_with_a_table(capsys, tmp_path, change, mismatch):
    path = tmp_path / "b.json"
    assert run_cli(capsys, "--save-baseline", str(path))[0] == 0
    code, out, err = run_cli(capsys, "--check-baseline", str(path), *change)
    assert code == 1, err
    report = out[out.index(f"baseline {path}:"):]
    assert f"  {mismatch}\n" in report
    assert re.search(r"^counter +verdict +baseline +now +change +allowed$", report, re.MULTILINE)


def test_cli_check_with_json_keeps_stdout_one_json_object(capsys, tmp_path):
    path = tmp_path / "b.json"
    run_cli(capsys, "--save-baseline", str(path))
    code, out, err = run_cli(capsys, "--check-baseline", str(path), "--json", "--seed", "11")
    assert code == 1 and json.loads(out)["seed"] == 11
    assert f"baseline {path}:" in err


def test_cli_bad_baseline_exits_2_with_one_line_and_runs_nothing(capsys, tmp_path):
    path = tmp_path / "b.json"
    path.write_text('{"format": 1, "counters": []}')
    code, out, err = run_cli(capsys, "--check-baseline", str(path))
    assert code == 2 and out == ""
    assert err.count("\n") == 1 and str(path) in err and "counters: expected a JSON object" in err
    assert "Traceback" not in err


def test_cli_run_help_tells_of_the_baseline_options(capsys):
    with pytest.raises(SystemExit) as exit:
        main(["run", "--help"])
    out = capsys.readouterr().out
    assert exit.value.code == 0
    assert "--save-baseline FILE" in out and "--check-baseline FILE" in out and "(default: 5%; 0 is exact)" in out


def test_cli_tolerance_needs_check_baseline(capsys):
    code, out, err = run_cli(capsys, "--tolerance", "5%")
    assert code == 2 and out == "" and "--tolerance goes with --check-baseline" in err


# --------------------------------------------------------------------------
# The pytest plugin
# --------------------------------------------------------------------------


def run_inner(pytester, *args: str):
    # hypothesis's plugin would import hypothesis anew in every inner run (a
    # second each): pytester drops what an inner run imported
    return pytester.runpytest("-p", "no:hypothesispytest", *args)


def test_the_plugin_fails_without_a_baseline_writes_it_on_request_then_fails_on_a_moved_counter(pytester):
    # the suite in a directory of its own: its paths are relative to it, not to where pytest runs
    suite = pytester.mkdir("suite")
    (suite / "case.toml").write_text(SMALL.read_text())
    (suite / "my_fifo.py").write_text((Path(__file__).parents[1] / "example_policies" / "fifo.py").read_text())
    (suite / "test_case.py").write_text(textwrap.dedent("""
        def test_mglru(reclaim_baseline):
            result = reclaim_baseline.check("case.toml", policy="mglru", seed=5, baseline="baselines/case.json")
            assert result["policy"] == "mglru"

        def test_policy_file(reclaim_baseline):
            result = reclaim_baseline.check("case.toml", policy="my_fifo.py", baseline="baselines/fifo.json")
            assert result["ejections"] == []

        def test_the_scenarios_own_policy(reclaim_baseline):
            reclaim_baseline.check("case.toml", baseline="baselines/case.json")
    """))
    path = suite / "baselines" / "case.json"

    missing = run_inner(pytester, "-k", "test_mglru")
    missing.assert_outcomes(failed=1)
    missing.stdout.fnmatch_lines([f"*no baseline {path}: write it with `pytest --reclaim-update-baselines`*"])

    written = run_inner(pytester, "-k", "test_mglru or test_policy_file", "--reclaim-update-baselines")
    written.assert_outcomes(passed=2)
    written.stdout.fnmatch_lines(["*reclaim_ext: 2 baselines written*"])
    baseline = load_baseline(path)
    assert (baseline.policy, baseline.seed, baseline.source) == ("mglru", 5, "case.toml")
    assert load_baseline(suite / "baselines" / "fifo.json").policy == "my_fifo"

    checked = run_inner(pytester)
    checked.assert_outcomes(passed=2, failed=1)
    checked.stdout.fnmatch_lines(["*the baseline is of policy mglru, this run of lru*"])

    data = json.loads(path.read_text())
    data["counters"]["vmstat.pgfault"] *= 2
    path.write_text(json.dumps(data))
    moved = run_inner(pytester, "-k", "test_mglru")
    moved.assert_outcomes(failed=1)
    moved.stdout.fnmatch_lines([f"*baseline {path}: 1 of * counters beyond 5%*", "vmstat.pgfault *BEYOND*",
                                "*if the change is intended: pytest --reclaim-update-baselines*"])
