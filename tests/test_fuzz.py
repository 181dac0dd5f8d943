"""reclaim-ext fuzz and the oracles (simulator/oracles.py).

The built-in policies pass every oracle on fixed scenarios that exercise
what each oracle watches; each bug planted in tests/fuzz_planted/ (broken
policies, and broken core rules patched in for one test) is found by the
fuzzer within a small budget, by the oracle meant to catch it; a saved
reproducer loads, runs and fails the same way; the same seed draws the
same scenarios; bad arguments get one line and exit 2.

The planted searches draw one-node machines: the fuzzer has found real
bugs of the core on two nodes (tests/regressions/ keeps them fixed), and
a test of one planted bug must not depend on whether such bugs exist.
"""

from __future__ import annotations

import argparse
import shutil
from pathlib import Path

import pytest
from fuzz_planted import core_bugs

from reclaim_ext import fuzz
from reclaim_ext.api import build_machine, run
from reclaim_ext.fuzz import Found, Fuzzer, reproduce, scenarios
from reclaim_ext.policies import PolicyRejected
from reclaim_ext.scenario import load_scenario, parse_scenario, resolved_toml
from simulator.machine import Machine
from simulator.oracles import Oracles

PLANTED = Path(__file__).resolve().parent / "fuzz_planted" / "policies"
NEVER_EVICT_ANON = str(PLANTED / "never_evict_anon.py")
SAME_VICTIM_TWICE = str(PLANTED / "same_victim_twice.py")
REJECTED = Path(__file__).resolve().parent.parent / "example_policies" / "rejected"

FIXED = {
    # anon that swaps and refaults on node 0, a file read and written on
    # node 1 (dirty pages written back), a process that exits early
    "swap": """
[machine]
nodes = [{ memory = "2MiB" }, { memory = "2MiB" }]
swap = { size = "16MiB" }
[[processes]]
name = "worker"
regions = [{ kind = "anon", size = "3MiB", write_ratio = 0.2, pattern = "zipf:0.9" }]
[[processes]]
name = "reader"
node = 1
regions = [{ kind = "file", file = "data", size = "3MiB", access = "rw", write_ratio = 0.3, pattern = "uniform" }]
[[processes]]
name = "short"
accesses = 2000
regions = [{ kind = "anon", size = "512KiB", pattern = "uniform" }]
[run]
accesses = 20000
""",
    # a memcg over its memory.max swaps its own pages; a protected one keeps its
    "memcg": """
[machine]
nodes = [{ memory = "4MiB" }]
swap = { size = "16MiB" }
[[cgroups]]
name = "capped"
memory_max = "1MiB"
[[cgroups]]
name = "protected"
memory_low = "1MiB"
[[processes]]
name = "capped"
cgroup = "capped"
regions = [{ kind = "anon", size = "2MiB", pattern = "zipf:0.8" }]
[[processes]]
name = "protected"
cgroup = "protected"
regions = [{ kind = "anon", size = "1MiB", pattern = "uniform" }]
[[processes]]
name = "streamer"
regions = [{ kind = "file", file = "big", size = "8MiB", access = "rw", pattern = "sequential" }]
[run]
accesses = 20000
""",
    # no swap, and a process that wants more anon memory than the machine
    # has: once it has pushed out the reader's small file, the OOM kill is
    # forced
    "oom": """
[machine]
nodes = [{ memory = "1MiB" }]
[[processes]]
name = "reader"
accesses = 2000
regions = [{ kind = "file", file = "data", size = "128KiB", pattern = "uniform" }]
[[processes]]
name = "hog"
start = "1ms"
regions = [{ kind = "anon", size = "2MiB", pattern = "sequential" }]
[run]
accesses = 10000
""",
}


def with_policy(text: str, policy: str):
    scenario = parse_scenario(text)
    return scenario.model_copy(update={"run": scenario.run.model_copy(update={"policy": policy})})


def search(policy: str, *, runs: int, **options) -> list[Found]:
    """What the fuzzer finds in `runs` one-node scenarios under `policy`,
    shrinking for a second."""
    return Fuzzer(scenarios([policy], max_nodes=1), runs=runs, shrink_time_s=1.0, **options).run().found


def only(found: list[Found]) -> Found:
    assert len(found) == 1, [str(f.failure) for f in found]
    return found[0]


# ----------------------------------------------------------------------
# correct runs
# ----------------------------------------------------------------------
def run_with_oracles(text: str, policy: str) -> tuple[Machine, Oracles]:
    machine = build_machine(with_policy(text, policy))
    oracles = Oracles.attach(machine)
    machine.run()
    return machine, oracles


@pytest.mark.parametrize("policy", ["lru", "mglru"])
@pytest.mark.parametrize("name", ["swap", "memcg"])
def test_builtin_policies_pass_every_oracle(name, policy):
    _, oracles = run_with_oracles(FIXED[name], policy)
    # the oracles had something to watch
    assert oracles.nr_evicted > 1000
    assert oracles.steps > 100


@pytest.mark.parametrize("policy", ["lru", "mglru"])
def test_a_forced_oom_kill_passes_the_oom_oracle(policy):
    machine, oracles = run_with_oracles(FIXED["oom"], policy)
    assert oracles.nr_oom_kills == 1
    assert [p.exit_reason for p in machine.processes] == ["exited", "oom-killed"]


def test_a_policy_ejected_leaves_a_correct_run():
    machine = build_machine(with_policy(FIXED["swap"], SAME_VICTIM_TWICE))
    Oracles.attach(machine, allow_ejection=True)
    machine.run()
    assert [e["message"] for e in machine.ejections] == ["select_victims: a folio is named twice"]
    assert machine.policy.name == "lru"
    assert machine.total_accesses == 20000


def test_fuzzing_a_hostile_policy_with_ejection_allowed_finds_nothing():
    # machine-wide only: see the next test for a cgroup's policy
    strategy = scenarios([SAME_VICTIM_TWICE], max_nodes=1, cgroup_policies=False)
    assert Fuzzer(strategy, runs=12, allow_ejection=True).run().found == []


CASCADE = f"""
[machine]
nodes = [{{ memory = "2MiB" }}]
[[cgroups]]
name = "a"
policy = "{SAME_VICTIM_TWICE}"
[[processes]]
name = "reader"
cgroup = "a"
regions = [{{ kind = "file", file = "data", size = "4MiB", access = "rw", pattern = "uniform" }}]
[run]
accesses = 5000
policy = "{SAME_VICTIM_TWICE}"
"""


def test_a_cgroup_policy_ejected_where_its_parent_runs_the_same_policy_leaves_a_correct_run():
    """Found by reclaim-ext fuzz: the ejected cgroup policy's successor was
    a fresh instance of its parent's policy, here the same failing one,
    ejected in turn without end. A policy already ejected is passed over."""
    machine = build_machine(parse_scenario(CASCADE))
    Oracles.attach(machine, allow_ejection=True)
    machine.run()
    assert [(r["policy"], r["cgroup"], r["fallback"]) for r in machine.ejections] == [
        ("same_victim_twice", "a", "lru")]
    assert [p.name for p in machine.policies] == ["same_victim_twice", "lru"]


# ----------------------------------------------------------------------
# planted policies
# ----------------------------------------------------------------------
@pytest.fixture(scope="module")
def never_evict_anon() -> tuple[Found, Found]:
    """The first failing scenario of never_evict_anon.py and the one
    shrinking made of it."""
    failing = []

    def on_run(scenario, failure):
        if failure is not None:
            failing.append(Found(scenario, failure, 0))

    found = Fuzzer(scenarios([NEVER_EVICT_ANON], max_nodes=1), runs=40, shrink_time_s=3.0, on_run=on_run).run()
    return failing[0], only(found.found)


def test_a_policy_that_never_evicts_anon_is_an_unjustified_oom(never_evict_anon):
    _, found = never_evict_anon
    assert found.failure.check == "unjustified-oom"
    assert "anon pages it could swap out" in found.failure.message
    assert found.scenario.machine.swap.size > 0


def test_shrinking_makes_the_failing_scenario_smaller(never_evict_anon):
    first, shrunk = never_evict_anon
    assert shrunk.failure.check == first.failure.check
    assert len(resolved_toml(shrunk.scenario)) < len(resolved_toml(first.scenario))


def test_a_policy_naming_a_victim_twice_is_ejected():
    found = only(search(SAME_VICTIM_TWICE, runs=20))
    assert found.failure.check == "policy-ejected"
    assert "named twice" in found.failure.message


# ----------------------------------------------------------------------
# planted core bugs
# ----------------------------------------------------------------------
def test_a_victim_named_twice_past_the_sandbox_is_a_double_eviction(monkeypatch):
    core_bugs.no_duplicate_victim_check(monkeypatch)
    found = only(search(SAME_VICTIM_TWICE, runs=20))
    assert found.failure.check == "double-eviction"


@pytest.mark.parametrize("bug, seen", [
    # kswapd naps with the node between its low and high watermarks
    (core_bugs.kswapd_stops_at_low_watermark, "ended its pass with"),
    # the allocator's wakeups find the node balanced: it falls below low with kswapd asleep
    (core_bugs.kswapd_stops_at_min_watermark, "below its low watermark"),
])
def test_a_kswapd_that_stops_early_breaks_the_watermarks(monkeypatch, bug, seen):
    bug(monkeypatch)
    found = only(search("lru", runs=20))
    assert found.failure.check == "watermark"
    assert seen in found.failure.message


def test_reclaim_retried_for_ever_is_a_livelock_not_a_hang(monkeypatch):
    core_bugs.no_reclaim_retry_limit(monkeypatch)
    found = only(search(NEVER_EVICT_ANON, runs=20))
    assert found.failure.check == "livelock"
    assert "direct reclaims in a row without progress" in found.failure.message


def test_anon_pages_freed_without_swap_are_lost_pages(monkeypatch):
    core_bugs.anon_freed_without_swap(monkeypatch)
    # the lost pages' refaults can crash the core too: a second failure,
    # shrunk on its own
    assert "lost-page" in {found.failure.check for found in search("lru", runs=20)}


def test_a_memcg_charge_never_given_back_breaks_memory_current(monkeypatch):
    core_bugs.memcg_uncharge_forgotten(monkeypatch)
    found = only(search("lru", runs=20))
    assert found.failure.check == "memcg-counters"
    assert "memory.current" in found.failure.message


# ----------------------------------------------------------------------
# reproducers and the command
# ----------------------------------------------------------------------
def fuzz_command(*argv: str) -> int:
    """`reclaim-ext fuzz ARGV` through add_parser and main, as the CLI wires them."""
    parser = argparse.ArgumentParser(prog="reclaim-ext")
    fuzz.add_parser(parser.add_subparsers())
    args = parser.parse_args(["fuzz", *argv])
    return args.func(args)


def test_a_saved_reproducer_loads_and_reproduces_the_failure(never_evict_anon, tmp_path, capsys):
    _, found = never_evict_anon
    path = fuzz.save_reproducer(tmp_path, found, fuzz_seed=0, allow_ejection=False)
    header = path.read_text().splitlines()[:4]
    assert header[1] == f"# failure: {found.failure}"
    assert header[2].startswith("# fuzz seed: 0 ")
    assert header[3] == f"# replay: reclaim-ext fuzz --replay {path}"
    assert resolved_toml(load_scenario(path)) == resolved_toml(found.scenario)
    assert reproduce(path) == found.failure
    assert fuzz_command("--replay", str(path)) == fuzz.EXIT_FAILED
    assert capsys.readouterr().out == f"{path}: {found.failure}\n"
    # a scenario file like any other: `reclaim-ext run` runs it
    assert run(path)["vmstat"]["oom_kill"] >= 1


def test_the_command_saves_what_it_finds_and_prints_how_to_replay_it(tmp_path, capsys):
    out = tmp_path / "failures"
    assert fuzz_command("--policy", NEVER_EVICT_ANON, "--max-nodes", "1", "--runs", "20", "--shrink-time", "1s",
                        "--out", str(out)) == 1
    saved = list(out.glob("unjustified-oom-*.toml"))
    assert len(saved) == 1
    captured = capsys.readouterr()
    assert f"  replay:   reclaim-ext fuzz --replay {saved[0]}\n" in captured.out
    assert captured.out.endswith(f"scenarios run, 1 failure found, saved in {out}\n")  # the search went on to its end
    assert "fuzz: found unjustified-oom: shrinking it" in captured.err
    assert reproduce(saved[0]).check == "unjustified-oom"


def test_the_command_says_when_everything_held(capsys):
    assert fuzz_command("--policy", "lru", "--runs", "2") == 0
    assert capsys.readouterr().out == "2 scenarios run, every invariant and oracle held\n"


def test_a_directory_of_policies_leaves_out_the_rejected_ones(tmp_path, capsys):
    shutil.copy(SAME_VICTIM_TWICE, tmp_path)
    shutil.copy(next(REJECTED.glob("*.py")), tmp_path)
    assert fuzz_command("--policy", str(tmp_path), "--allow-ejection", "--runs", "2") == 0
    assert "1 policy files the verifier rejects are left out" in capsys.readouterr().err


@pytest.mark.parametrize("argv, message", [
    (["--runs", "0"], "--runs: must be at least 1, got 0"),
    (["--time", "soon"], "--time: "),
    (["--shrink-time", "0s"], "--shrink-time: must be positive"),
    (["--seed", "x"], "--seed: not a whole number: 'x'"),
    (["--max-nodes", "5"], "--max-nodes: at most 4, got 5"),
    (["--policy", "no-such-policy"], "unknown policy 'no-such-policy'"),
    (["--policy", str(REJECTED / "random_with_import.py")], "was rejected by the verifier"),
    (["--replay", "no-such-file.toml"], "no-such-file.toml: cannot read"),
])
def test_bad_arguments_get_one_line_and_exit_2(argv, message, capsys):
    assert fuzz_command(*argv) == fuzz.EXIT_USAGE
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert err.startswith("reclaim-ext fuzz: error: ")
    assert message in err


def test_the_same_seed_draws_the_same_scenarios(monkeypatch):
    # what is drawn, not how it runs: every run passes at once
    monkeypatch.setattr(fuzz, "run_checked", lambda scenario, allow_ejection: None)

    def drawn(seed: int) -> list[str]:
        seen: list[str] = []
        Fuzzer(scenarios(["lru", "mglru"]), seed=seed, runs=2 * fuzz.ROUND_EXAMPLES,
               on_run=lambda scenario, failure: seen.append(resolved_toml(scenario))).run()
        return seen

    first = drawn(5)
    assert len(set(first)) == len(first) == 2 * fuzz.ROUND_EXAMPLES
    assert drawn(5) == first
    assert drawn(6) != first
