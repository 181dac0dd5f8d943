"""A pytest plugin for regression baselines in a policy's own test suite.

Installing reclaim-ext registers it (entry point pytest11). A test runs a
scenario and checks its counters against a baseline file, which is the
test's expectation; the test fails with a table of what moved when a
counter is beyond its tolerance:

    def test_my_policy_on_the_noisy_neighbour(reclaim_baseline):
        reclaim_baseline.check("scenarios/noisy.toml", policy="my_policy.py", seed=1,
                               baseline="baselines/noisy.my_policy.json", tolerance="5%")

Relative paths (the scenario, the baseline, a policy file) are taken from
the directory of the test's file. A
baseline is written, or rewritten after an intended change, with

    pytest --reclaim-update-baselines

which runs the same tests, writes every baseline they check instead of
comparing, and lists the files it changed. A baseline keeps the
per-counter "tolerances" written into it across rewrites.
reclaim_ext.baseline describes the file, the counters and the tolerance
rule; `reclaim-ext run SCENARIO --check-baseline FILE` checks one by hand.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from reclaim_ext.api import ScenarioLike

UPDATE_OPTION = "--reclaim-update-baselines"
_UPDATED = pytest.StashKey[list[Path]]()


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.getgroup("reclaim_ext").addoption(
        UPDATE_OPTION, action="store_true",
        help="write the baseline of every reclaim_baseline.check() instead of comparing with it")


def pytest_configure(config: pytest.Config) -> None:
    config.stash[_UPDATED] = []


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter, config: pytest.Config) -> None:
    updated = config.stash.get(_UPDATED, [])
    if updated:
        terminalreporter.write_sep("-", f"reclaim_ext: {len(updated)} baselines written")
        for path in updated:
            terminalreporter.write_line(str(path))


class ReclaimBaseline:
    """What the reclaim_baseline fixture gives a test."""

    def __init__(self, directory: Path, update: bool, updated: list[Path]) -> None:
        self.directory = directory
        self.update = update
        self._updated = updated

    def check(self, scenario: ScenarioLike, *, baseline: str | Path, policy: str | None = None,
              seed: int | None = None, tolerance: str | None = None,
              tolerances: Mapping[str, str] | None = None) -> dict[str, Any]:
        """Run `scenario` (a path, a Scenario, or None for the built-in one)
        under `policy` and `seed` (default: the scenario's) and compare its
        counters with the baseline file: fail the test with a table of what
        moved when one is beyond `tolerance` (default 5%), or beyond its own tolerance
        (`tolerances`: a counter's name or glob, and a percentage; these win
        over the file's). With --reclaim-update-baselines, write the file
        instead. Returns the run's result."""
        # imported here, not at the top: the plugin loads in every pytest
        # run of the environment, most of which never run a simulation
        from reclaim_ext.api import as_scenario, run, with_overrides
        from reclaim_ext.baseline import DEFAULT_TOLERANCE, BaselineError, format_check, load_baseline, write_baseline
        from reclaim_ext.baseline import check as check_counters

        if isinstance(scenario, str | Path):
            scenario = self.directory / scenario
            # relative to the test's directory: the same wherever the suite is checked out
            source = os.path.relpath(scenario, self.directory)
        else:
            source = "the built-in scenario" if scenario is None else "a Scenario object"
        if policy is not None and (self.directory / policy).is_file():
            policy = str(self.directory / policy)
        path = self.directory / baseline
        ran = with_overrides(as_scenario(scenario), policy=policy, seed=seed)
        result = run(ran)
        if self.update:
            if write_baseline(path, ran, result, source=source)[1]:
                self._updated.append(path)
            return result
        if not path.exists():
            pytest.fail(f"no baseline {path}: write it with `pytest {UPDATE_OPTION}`", pytrace=False)
        try:
            expected = load_baseline(path)
        except BaselineError as err:
            pytest.fail(str(err), pytrace=False)
        outcome = check_counters(expected, result, scenario=ran, tolerance=tolerance or DEFAULT_TOLERANCE,
                                 tolerances=tolerances)
        if not outcome.ok:
            pytest.fail(f"{format_check(outcome, str(path))}\nif the change is intended: pytest {UPDATE_OPTION}",
                        pytrace=False)
        return result


@pytest.fixture
def reclaim_baseline(request: pytest.FixtureRequest) -> ReclaimBaseline:
    """Run a scenario and check its counters against a baseline file:
    reclaim_baseline.check(scenario, policy=..., seed=..., baseline=path,
    tolerance="5%"). See reclaim_ext.testing."""
    config = request.config
    return ReclaimBaseline(request.path.parent, config.getoption(UPDATE_OPTION), config.stash[_UPDATED])
