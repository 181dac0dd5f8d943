"""Regression baselines: the counters of one run, kept in a JSON file, and a
check of a later run against them.

    >>> from reclaim_ext import run
    >>> from reclaim_ext.api import as_scenario
    >>> from reclaim_ext.baseline import check, format_check, load_baseline, write_baseline
    >>> scenario = as_scenario("my.toml")
    >>> write_baseline("my.lru.json", scenario, run(scenario), source="my.toml")
    >>> outcome = check(load_baseline("my.lru.json"), run(scenario), scenario=scenario, tolerance="5%")
    >>> outcome.ok, print(format_check(outcome, "my.lru.json"))

`reclaim-ext run SCENARIO --save-baseline FILE | --check-baseline FILE` and
the pytest plugin reclaim_ext.testing are built on these functions.

What a baseline holds: the format version; the scenario as written (every
key left at its default left out, the policy and seed apart), so a check
against another scenario says where it differs; the policy and seed; the
counters; and, optionally, tolerances of its own per counter.

The counters, each named by where it is in the result of
reclaim_ext.api.run() (vmstat.pgmajfault is result["vmstat"]["pgmajfault"]):
- vmstat.*: the machine-wide /proc/vmstat counters a reclaim summary shows
  (reclaim_ext.report.VMSTAT_SUMMARY) and the anon/file split of scanning
  and stealing;
- processes.NAME.*: every count per process (faults, refaults, allocation
  stalls, ...), but not its times (*_ns);
- memcgs.NAME.memory.events.*: each cgroup's memory.events;
- ejections: how many times the policy was ejected.
A replay in exact cache mode has hits, misses and ejections.
Times are left out: virtual time moves with every change of the cost model,
and the counts that cause stalls (majflt, allocstall) are there.

The tolerance rule: a counter passes when it moved from its baseline by at
most tolerance x baseline (rounded down), or by at most ABSOLUTE_FLOOR (2),
whichever is more, so that 0 -> 1 is no failure at 5%. A tolerance of 0 is
exact: no floor. A tolerance may be set per counter, in the file's
"tolerances" or by the caller, keyed by the counter's name or a glob
("processes.*.majflt"): an exact name first, then the first glob that
matches, the caller's before the file's; every other counter takes the
tolerance of the check. A counter on one side only fails.
"""

from __future__ import annotations

import fnmatch
import json
import math
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError
from pydantic_core import ErrorDetails

from reclaim_ext.report import VMSTAT_SUMMARY, format_number, format_table
from reclaim_ext.scenario import ReplayScenario, Scenario
from reclaim_ext.units import describe

FORMAT = 1
DEFAULT_TOLERANCE = "5%"
# events a counter at or near 0 may gain or lose at any tolerance above 0
ABSOLUTE_FLOOR = 2
# which way reclaim leaned between anon and file (the swappiness balance),
# which the summary's totals do not show
VMSTAT_COUNTERS = VMSTAT_SUMMARY + ("pgscan_anon", "pgscan_file", "pgsteal_anon", "pgsteal_file")
# the run's own knobs: recorded as the baseline's policy and seed, or not
# changing what is counted
_RUN_IDENTITY = ("policy", "seed", "check_invariants")
_TOLERANCE = re.compile(r"\s*(\d+(?:\.\d+)?)\s*%?\s*")
_DIFFERENCES_SHOWN = 3
# pydantic's wording where it speaks of Python rather than of the file
_MESSAGES = {"missing": "required, but missing", "extra_forbidden": "unknown key"}
_EXPECTED = {"int_type": "an integer", "string_type": "a string", "model_type": "a JSON object",
             "dict_type": "a JSON object"}


class BaselineError(ValueError):
    """A baseline file that cannot be read or is not a baseline. str() is
    one line naming the file and, where one is to blame, the field."""

    def __init__(self, path: str | Path, problems: list[tuple[str, str]]) -> None:
        self.path = str(path)
        self.problems = problems
        told = "; ".join(f"{where}: {what}" if where else what for where, what in problems)
        super().__init__(f"{self.path}: {told}")


def parse_tolerance(text: str) -> Fraction:
    """"5%" (or "5": a tolerance is always in percent) as the fraction 1/20.
    Raises ValueError for anything else, negative numbers included."""
    match = _TOLERANCE.fullmatch(text) if isinstance(text, str) else None
    if match is None:
        raise ValueError(f"expected a tolerance in percent such as \"5%\", got {describe(text)}")
    return Fraction(match[1]) / 100


def _valid_tolerance(text: str) -> str:
    parse_tolerance(text)
    return text


_Tolerance = Annotated[str, AfterValidator(_valid_tolerance)]


class Baseline(BaseModel):
    """A baseline file, as read and as written."""

    # strict: a hand-edited "12" or 12.5 where a count belongs is a mistake, not a count
    model_config = ConfigDict(extra="forbid", strict=True)

    format: Literal[1] = Field(description="The version of this file's layout.")
    source: str = Field(description="Where the scenario came from, for the people reading the file.")
    scenario: dict[str, Any] = Field(
        description="The scenario: keys at their defaults, the policy and the seed left out.")
    policy: str
    seed: int
    tolerances: dict[str, _Tolerance] = Field(
        default_factory=dict, description="Per-counter tolerances: a counter's name or a glob, and a percentage.")
    counters: dict[str, int]


def load_baseline(path: str | Path) -> Baseline:
    """The baseline in the file at `path`; BaselineError if it cannot be
    read or is no baseline."""
    try:
        text = Path(path).read_text("utf-8")
    except (OSError, UnicodeDecodeError) as err:
        raise BaselineError(path, [("", f"cannot read: {getattr(err, 'strerror', None) or err}")]) from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as err:
        raise BaselineError(path, [(f"line {err.lineno}, column {err.colno}", f"not JSON: {err.msg}")]) from None
    try:
        return Baseline.model_validate(data)
    except ValidationError as err:
        problems = [(".".join(str(part) for part in e["loc"]), _message(e)) for e in err.errors(include_url=False)]
        raise BaselineError(path, problems) from None


def _message(error: ErrorDetails) -> str:
    if error["type"] == "value_error":
        return str(error["ctx"]["error"])
    if error["loc"] == ("format",):
        return f"this reclaim-ext reads baselines of format {FORMAT}, not {describe(error['input'])}"
    if error["type"] in _EXPECTED:
        return f"expected {_EXPECTED[error['type']]}, got {describe(error['input'])}"
    return _MESSAGES.get(error["type"], error["msg"])


def scenario_settings(scenario: Scenario | ReplayScenario) -> dict[str, Any]:
    """What identifies a scenario in a baseline: its keys as written, those
    at their defaults left out so that a key the schema gains later does
    not make every baseline another scenario's; the policy and seed apart."""
    settings = scenario.model_dump(mode="json", exclude_defaults=True)
    run = settings.get("run", {})
    for key in _RUN_IDENTITY:
        run.pop(key, None)
    if "run" in settings and not run:
        del settings["run"]
    return settings


def counters(result: dict[str, Any]) -> dict[str, int]:
    """The counters of a result of reclaim_ext.api.run() that a baseline
    keeps, by name (see the module's docstring)."""
    if "vmstat" not in result:  # a replay in exact cache mode
        found = {"hits": result["hits"], "misses": result["misses"]}
    else:
        found = {f"vmstat.{name}": result["vmstat"][name] for name in VMSTAT_COUNTERS if name in result["vmstat"]}
        for process, stats in result["processes"].items():
            found.update({f"processes.{process}.{key}": value for key, value in stats.items()
                          if isinstance(value, int) and not isinstance(value, bool) and not key.endswith("_ns")})
        for memcg, files in (result.get("memcgs") or {}).items():
            found.update({f"memcgs.{memcg}.memory.events.{key}": value
                          for key, value in files["memory.events"].items()})
    found["ejections"] = len(result["ejections"])
    return found


def make_baseline(scenario: Scenario | ReplayScenario, result: dict[str, Any], *, source: str,
                  tolerances: Mapping[str, str] | None = None) -> Baseline:
    """The baseline of `result`, the run of `scenario` (as run: with its
    policy and seed); `source` says where the scenario came from."""
    return Baseline(format=FORMAT, source=source, scenario=scenario_settings(scenario), policy=result["policy"],
                    seed=scenario.run.seed, tolerances=dict(tolerances or {}), counters=counters(result))


def write_baseline(path: str | Path, scenario: Scenario | ReplayScenario, result: dict[str, Any], *,
                   source: str) -> tuple[Baseline, bool]:
    """Write the baseline of `result` to `path`, and say whether the file
    changed. A valid baseline already there keeps its tolerances:
    regenerating the numbers must not lose what someone wrote by hand."""
    path = Path(path)
    try:
        tolerances = load_baseline(path).tolerances
    except BaselineError:
        tolerances = {}
    baseline = make_baseline(scenario, result, source=source, tolerances=tolerances)
    text = json.dumps(baseline.model_dump(), indent=2) + "\n"
    try:
        changed = path.read_text("utf-8") != text
    except (OSError, UnicodeDecodeError):
        changed = True
    if changed:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, "utf-8")
    return baseline, changed


@dataclass(frozen=True)
class Row:
    """One counter of a check. `baseline` or `now` is None when the counter
    is on the other side only."""

    counter: str
    baseline: int | None
    now: int | None
    tolerance: Fraction
    allowed: int

    @property
    def change(self) -> int | None:
        return None if self.baseline is None or self.now is None else self.now - self.baseline

    @property
    def change_pct(self) -> float | None:
        change = self.change
        return None if change is None or not self.baseline else 100 * change / self.baseline

    @property
    def within(self) -> bool:
        change = self.change
        return change is not None and abs(change) <= self.allowed

    @property
    def moved(self) -> bool:
        return self.change != 0


@dataclass(frozen=True)
class Check:
    """A check's outcome: a row per counter of either side, and what makes
    the run another one than the baseline's (policy, seed, scenario)."""

    rows: list[Row]
    mismatches: list[str]
    tolerance: Fraction  # the check's, for the counters without one of their own

    @property
    def failed(self) -> list[Row]:
        return [row for row in self.rows if not row.within]

    @property
    def ok(self) -> bool:
        return not self.mismatches and not self.failed


def allowance(baseline: int, tolerance: Fraction) -> int:
    """How far a counter at `baseline` may move (the module's rule)."""
    if tolerance == 0:
        return 0
    return max(math.floor(tolerance * abs(baseline)), ABSOLUTE_FLOOR)


def check(baseline: Baseline, result: dict[str, Any], *, scenario: Scenario | ReplayScenario | None = None,
          tolerance: str = DEFAULT_TOLERANCE, tolerances: Mapping[str, str] | None = None) -> Check:
    """Compare `result` (of reclaim_ext.api.run()) with `baseline`. With
    `scenario`, the scenario that ran, a different scenario is a mismatch
    too; without, only the policy and seed are compared. `tolerances`
    (counter name or glob: percentage) win over the file's. Raises
    ValueError for a tolerance that is not a percentage."""
    default = parse_tolerance(tolerance)
    mine = dict(tolerances or {})
    for text in mine.values():
        parse_tolerance(text)  # a bad one fails even if no counter matches it
    overrides = {**baseline.tolerances, **mine}
    # globs are tried in this order: the caller's, then the file's
    ordered = [*mine, *(k for k in baseline.tolerances if k not in mine)]
    now = counters(result)
    rows = []
    for name in dict.fromkeys([*baseline.counters, *now]):
        tol = _tolerance_of(name, ordered, overrides, default)
        base = baseline.counters.get(name)
        rows.append(Row(name, base, now.get(name), tol, allowance(base or 0, tol)))
    return Check(rows, _mismatches(baseline, result, scenario), default)


def _tolerance_of(name: str, ordered: list[str], overrides: dict[str, str], default: Fraction) -> Fraction:
    if name in overrides:
        return parse_tolerance(overrides[name])
    pattern = next((p for p in ordered if fnmatch.fnmatchcase(name, p)), None)
    return default if pattern is None else parse_tolerance(overrides[pattern])


def _mismatches(baseline: Baseline, result: dict[str, Any], scenario: Scenario | ReplayScenario | None) -> list[str]:
    found = []
    if result["policy"] != baseline.policy:
        found.append(f"the baseline is of policy {baseline.policy}, this run of {result['policy']}")
    seed = scenario.run.seed if scenario is not None else result.get("seed")
    if seed is not None and seed != baseline.seed:
        found.append(f"the baseline is of seed {baseline.seed}, this run of seed {seed}")
    if scenario is not None:
        where = list(_differences(baseline.scenario, scenario_settings(scenario)))
        if where:
            shown = ", ".join(where[:_DIFFERENCES_SHOWN]) + (", ..." if len(where) > _DIFFERENCES_SHOWN else "")
            found.append(f"the scenario is not the baseline's ({baseline.source}): it differs at {shown}")
    return found


def _differences(old: Any, new: Any, path: str = "") -> Iterator[str]:
    """The keys at which two scenarios' settings differ, as a scenario
    error names them: processes[1].regions[0].size."""
    if isinstance(old, dict) and isinstance(new, dict):
        for key in dict.fromkeys([*old, *new]):
            yield from _differences(old.get(key), new.get(key), f"{path}.{key}" if path else key)
    elif isinstance(old, list) and isinstance(new, list) and len(old) == len(new):
        for i, (a, b) in enumerate(zip(old, new)):
            yield from _differences(a, b, f"{path}[{i}]")
    elif old != new:
        yield path or "the whole scenario"


def _percent(tolerance: Fraction) -> str:
    return f"{float(tolerance * 100):g}%"


def format_check(outcome: Check, name: str) -> str:
    """What a check found, in plain text for a terminal or a mail: one
    line when every counter is within its tolerance, else the mismatches
    and a table of every counter that moved."""
    own = sum(1 for row in outcome.rows if row.tolerance != outcome.tolerance)
    own_text = f" ({own} with a tolerance of their own)" if own else ""
    if outcome.ok:
        return f"baseline {name}: {len(outcome.rows)} counters within {_percent(outcome.tolerance)}{own_text}\n"
    if outcome.failed:
        head = (f"baseline {name}: {len(outcome.failed)} of {len(outcome.rows)} counters beyond "
                f"{_percent(outcome.tolerance)}{own_text}")
    else:
        head = (f"baseline {name}: {len(outcome.rows)} counters within {_percent(outcome.tolerance)}{own_text}, "
                "but this is not the baseline's run:")
    lines = [head, *(f"  {m}" for m in outcome.mismatches)]
    moved = [row for row in outcome.rows if row.moved]
    if moved:
        table = [[row.counter, _verdict(row), _figure(row.baseline), _figure(row.now), _change(row),
                  f"±{format_number(row.allowed)}"] for row in moved]
        lines += ["", format_table(["counter", "verdict", "baseline", "now", "change", "allowed"], table, left=2)]
    return "\n".join(lines) + "\n"


def _verdict(row: Row) -> str:
    if row.baseline is None:
        return "not in baseline"
    if row.now is None:
        return "not in this run"
    return "within" if row.within else "BEYOND"


def _figure(value: int | None) -> str:
    return "-" if value is None else format_number(value)


def _change(row: Row) -> str:
    if row.change is None:
        return "-"
    pct = row.change_pct
    return f"{row.change:+,}" + ("" if pct is None else f" ({pct:+.1f}%)")
