"""`reclaim-ext fuzz`: random scenarios, every run checked by every oracle,
each failure shrunk to a minimal scenario file that replays it.

Hypothesis draws scenarios (reclaim_ext.scenario.Scenario, so each is a
valid scenario file): one to --max-nodes small nodes, swap or none,
processes with anon and file regions and their access patterns, memory
cgroups with limits, protection and perhaps a policy of their own, a policy
from the ones given, a seed and a short run. Each runs with the core's
invariants and simulator.oracles checked between steps and on the event
stream. A failure is shrunk by Hypothesis and written to --out as a
scenario file whose comment header says what failed, with the command that
replays it:

    reclaim-ext fuzz --policy lru --policy mglru --time 60s --out failures/
    reclaim-ext fuzz --replay failures/unjustified-oom-....toml

The search goes on after a failure, for other kinds (another check, or
the same check under another policy), until --runs or --time is spent.
It is deterministic given --seed: the same seed draws the same scenarios,
in the same order. It goes in rounds of ROUND_EXAMPLES
Hypothesis examples, each round seeded from --seed and its number, until
--runs are done or --time is up; shrinking a failure then has
--shrink-time, after which the smallest failing scenario found is kept.
"""

from __future__ import annotations

import argparse
import hashlib
import sys
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import hypothesis
from hypothesis import HealthCheck, Verbosity, given, settings
from hypothesis import strategies as st
from hypothesis.errors import Flaky

from reclaim_ext.api import build_machine
from reclaim_ext.policies import (
    PolicyNotFound,
    PolicyRejected,
    load_policy,
)
from reclaim_ext.scenario import (
    ReplayScenario,
    Scenario,
    ScenarioError,
    load_scenario,
    resolved_toml,
)
from reclaim_ext.units import parse_duration
from simulator.config import NSEC_PER_SEC
from simulator.context import PolicyContextError
from simulator.errors import SimulationError
from simulator.invariants import InvariantError
from simulator.oracles import Oracles, OracleViolation
from simulator.policy import PolicyError
from simulator.vmscan import ReclaimError

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130
DEFAULT_POLICIES = ("lru", "mglru")
DEFAULT_TIME_S = 60.0
DEFAULT_SHRINK_TIME_S = 120.0
ROUND_EXAMPLES = 25
ROUND_SEED_STRIDE = 1_000_003  # neighbouring --seed values share no round's Hypothesis seed (in a million rounds)
PROGRESS_EVERY_S = 2.0

# Sizes in 4 KiB pages: nodes of 1 to 8 MiB keep a run well under a second.
DEFAULT_MAX_NODES = 2
MAX_NODES = 4
MIB = 256
NODE_PAGES = (MIB, 8 * MIB)
MIN_REGION_PAGES = 16
MIN_LIMIT_PAGES = 32
ACCESSES = (1_000, 30_000)
FILES = ("f0", "f1")


# ----------------------------------------------------------------------
# Scenarios. The strategies are built once: Hypothesis validates every new
# strategy object, which would cost more than the draws themselves, and
# shrinking draws thousands of scenarios.
# ----------------------------------------------------------------------
_PERMILLE = st.integers(0, 1000)
_BOOLEANS = st.booleans()
_SHARES = st.sampled_from([1.0, 3.0])
_WRITE_RATIOS = st.sampled_from([0.0, 0.3])
_SIMPLE_PATTERNS = st.sampled_from(["uniform", "zipf", "sequential", "loop", "hotcold"])
_ALPHAS = st.sampled_from([0.6, 0.9, 1.2])
_HOT_FRACTIONS = st.sampled_from([0.1, 0.2, 0.5])
_HOT_SHARES = st.sampled_from([0.5, 0.8, 0.95])
_PHASE_MS = st.integers(1, 200)
_START_MS = st.sampled_from([0, 0, 5, 50])
_MEMPOLICIES = st.sampled_from(["local", "interleave", "bind"])
_SWAPPINESS = st.sampled_from([60, 0, 100, 200])
_SCALE_FACTORS = st.sampled_from([10, 100, 1000])
_SEEDS = st.integers(0, 2**16)
_RECLAIM_MS = st.integers(1, 500)


def _between(draw: st.DrawFn, low: int, high: int) -> int:
    """A whole number in [low, high], about evenly, shrinking towards low."""
    return low + draw(_PERMILLE) * (high - low + 1) // 1001


def _choice(draw: st.DrawFn, options: Sequence[Any]) -> Any:
    """One of `options`, shrinking towards the first."""
    return options[_between(draw, 0, len(options) - 1)]


def _without_none(table: dict[str, Any]) -> dict[str, Any]:
    """A scenario table leaves out what it does not set ("max", the defaults)."""
    return {key: value for key, value in table.items() if value is not None}


def _simple_pattern(draw: st.DrawFn, pages: int) -> dict[str, Any]:
    kind = draw(_SIMPLE_PATTERNS)
    if kind == "zipf":
        return {"kind": kind, "alpha": draw(_ALPHAS)}
    if kind == "loop":
        return {"kind": kind, "loop_pages": _between(draw, 1, pages)}
    if kind == "hotcold":
        return {"kind": kind, "hot_fraction": draw(_HOT_FRACTIONS), "hot_share": draw(_HOT_SHARES)}
    return {"kind": kind}


def _pattern(draw: st.DrawFn, pages: int) -> dict[str, Any]:
    """A pattern, sometimes two in phases."""
    first = _simple_pattern(draw, pages)
    if not draw(_BOOLEANS):
        return first
    return {"kind": "phases", "phases": [{**first, "duration": f"{draw(_PHASE_MS)}ms"}, _simple_pattern(draw, pages)]}


def _region(draw: st.DrawFn, total_pages: int) -> dict[str, Any]:
    if draw(_BOOLEANS):
        size = _between(draw, MIN_REGION_PAGES, 3 * total_pages)
        access = "rw" if draw(_BOOLEANS) else "mmap"
        return _without_none({
            "kind": "file", "file": FILES[draw(_BOOLEANS)], "size": size, "access": access,
            "write_ratio": draw(_WRITE_RATIOS), "share": draw(_SHARES),
            "exec": draw(_BOOLEANS) if access == "mmap" else None, "pattern": _pattern(draw, size),
        })
    size = _between(draw, MIN_REGION_PAGES, 2 * total_pages)
    return {"kind": "anon", "size": size, "write_ratio": draw(_WRITE_RATIOS), "share": draw(_SHARES),
            "pattern": _pattern(draw, size)}


def _processes(draw: st.DrawFn, nr_nodes: int, cgroups: list[str], total_pages: int) -> list[dict[str, Any]]:
    return [_without_none({
        "name": f"p{i}",
        "node": _between(draw, 0, nr_nodes - 1),
        "mempolicy": draw(_MEMPOLICIES),
        "cgroup": _choice(draw, [None, *cgroups]),
        "start": f"{draw(_START_MS)}ms",
        "regions": [_region(draw, total_pages) for _ in range(_between(draw, 1, 3))],
    }) for i in range(_between(draw, 1, 3))]


def _limit(draw: st.DrawFn, total_pages: int) -> int | None:
    return _between(draw, MIN_LIMIT_PAGES, 2 * total_pages) if draw(_BOOLEANS) else None


def _cgroups(draw: st.DrawFn, total_pages: int, swap_pages: int, policies: Sequence[str]) -> list[dict[str, Any]]:
    """Up to three cgroups: "a" and "b" below the root, "a/c" below "a";
    each may have a policy of its own."""
    names = [name for name in ("a", "b") if draw(_BOOLEANS)]
    if "a" in names and draw(_BOOLEANS):
        names.append("a/c")
    return [_without_none({
        "name": name,
        "policy": _choice(draw, [None, *policies]),
        "memory_max": _limit(draw, total_pages),
        "memory_high": _limit(draw, total_pages),
        "memory_low": total_pages * _between(draw, 0, 2) // 4,
        "memory_min": total_pages * _between(draw, 0, 2) // 8,
        "swap_max": _between(draw, 0, swap_pages) if draw(_BOOLEANS) else None,
        "reclaim": [{"at": f"{draw(_RECLAIM_MS)}ms", "amount": _between(draw, 1, total_pages)}
                    for _ in range(_between(draw, 0, 2))],
    }) for name in names]


@st.composite
def scenarios(draw: st.DrawFn, policies: Sequence[str], *, max_nodes: int = DEFAULT_MAX_NODES,
              cgroup_policies: bool = True) -> Scenario:
    """Small random scenarios of 1 to `max_nodes` nodes run under one of
    `policies` (and, with `cgroup_policies`, cgroups with one of them of
    their own), every invariant checked (so `reclaim-ext run FILE` checks
    them too)."""
    nodes = [{"memory": _between(draw, *NODE_PAGES)} for _ in range(_between(draw, 1, max_nodes))]
    total = sum(node["memory"] for node in nodes)
    swap = total * _choice(draw, (0, 2, 4, 16)) // 4
    cgroups = _cgroups(draw, total, swap, policies if cgroup_policies else [])
    return Scenario.model_validate({
        "machine": {"nodes": nodes, "swap": {"size": swap}, "swappiness": draw(_SWAPPINESS),
                    "watermark_scale_factor": draw(_SCALE_FACTORS)},
        "cgroups": cgroups,
        "processes": _processes(draw, len(nodes), [group["name"] for group in cgroups], total),
        "run": {"policy": _choice(draw, policies), "seed": draw(_SEEDS),
                "accesses": _between(draw, *ACCESSES), "check_invariants": True},
    })


# ----------------------------------------------------------------------
# One checked run
# ----------------------------------------------------------------------
@dataclass(frozen=True)
class Failure:
    """What went wrong in a run: the oracle or error (`check`) and its message."""

    check: str
    message: str

    def __str__(self) -> str:
        return f"{self.check}: {self.message}"


_RUN_ERRORS = {SimulationError: "simulation-error", ReclaimError: "reclaim-error",
               PolicyContextError: "policy-context-error", InvariantError: "invariant"}


def run_checked(scenario: Scenario, *, allow_ejection: bool = False) -> Failure | None:
    """Run `scenario` with the core's invariants and every oracle checked;
    the first failure, or None. Any exception the run raises is a failure:
    an error the core reports, or a crash of the simulator itself.

    The run has a thread, and so a Python stack, of its own: under
    Hypothesis (and pytest) the caller's stack is deep, and a run that
    recurses deeply (a cascade of ejections) must fail the same way here
    as when `reclaim-ext fuzz --replay` runs it, or it would not replay."""
    outcome: list[Failure | None] = []
    thread = threading.Thread(target=lambda: outcome.append(_run_checked(scenario, allow_ejection)), daemon=True)
    thread.start()
    thread.join()
    return outcome[0]


def _run_checked(scenario: Scenario, allow_ejection: bool) -> Failure | None:
    try:
        machine = build_machine(scenario)
        Oracles.attach(machine, allow_ejection=allow_ejection)
        machine.run()
    except OracleViolation as violation:
        return Failure(violation.check, violation.detail)
    except tuple(_RUN_ERRORS) as err:
        check = next(name for kind, name in _RUN_ERRORS.items() if isinstance(err, kind))
        return Failure(check, f"{type(err).__name__}: {err}")
    except Exception as err:  # noqa: BLE001 - a crash of the core is what a fuzzer is for
        return Failure("crash", f"{type(err).__name__}: {err} ({_where(err)})")
    return None


def _where(err: BaseException) -> str:
    """file:line where an exception was raised."""
    tb = err.__traceback__
    while tb is not None and tb.tb_next is not None:
        tb = tb.tb_next
    return f"{Path(tb.tb_frame.f_code.co_filename).name}:{tb.tb_lineno}" if tb is not None else "?"


def reproduce(path: str | Path, *, allow_ejection: bool = False) -> Failure | None:
    """Run a saved scenario file (a reproducer) the way the fuzzer ran it."""
    scenario = load_scenario(path)
    if isinstance(scenario, ReplayScenario):
        raise ScenarioError(str(path), [("", "a replay scenario has no machine to fuzz; give a [machine] scenario")])
    return run_checked(scenario, allow_ejection=allow_ejection)


# ----------------------------------------------------------------------
# The search
# ----------------------------------------------------------------------
class FuzzFailure(AssertionError):
    """Raised inside Hypothesis for a failing scenario, so it shrinks it.
    Each check gets a subclass of its own: Hypothesis tells failures apart
    by type, and shrinks each without sliding from one bug to another."""

    def __init__(self, scenario: Scenario, failure: Failure) -> None:
        super().__init__(str(failure))
        self.scenario = scenario
        self.failure = failure


_FAILURE_TYPES: dict[str, type[FuzzFailure]] = {}


def _failure_type(check: str) -> type[FuzzFailure]:
    if check not in _FAILURE_TYPES:
        _FAILURE_TYPES[check] = type(f"FuzzFailure[{check}]", (FuzzFailure,), {})
    return _FAILURE_TYPES[check]


class _OutOfShrinkTime(BaseException):
    """Stops Hypothesis mid-shrink. Not an Exception: Hypothesis lets it
    through instead of taking it for another failure to shrink."""


@dataclass(frozen=True)
class Found:
    """A failure the search found: its scenario, as small as shrinking made
    it in the time it had (`shrunk`: Hypothesis finished), and the seed of
    the round that found it."""

    scenario: Scenario
    failure: Failure
    seed: int
    shrunk: bool = True


@dataclass
class FuzzResult:
    runs: int
    found: list[Found]


class Fuzzer:
    """The search over `strategy`'s scenarios (scenarios(policies)).
    `on_run(scenario, failure)` hears every run, the ones shrinking a
    failure too. Shrinking stops after `shrink_time_s` with the smallest
    failing scenario it had.

    With `keep_going` the search does not end at the first failures: each
    is handed to `on_found` and the search goes on, a failure of a kind
    already found (the same check under the same policy) counting as none,
    so that a long search finds distinct bugs rather than one bug again."""

    def __init__(self, strategy: st.SearchStrategy[Scenario], *, seed: int = 0, runs: int | None = None,
                 time_s: float | None = None, shrink_time_s: float = DEFAULT_SHRINK_TIME_S, allow_ejection: bool = False,
                 on_run: Callable[[Scenario, Failure | None], None] | None = None, keep_going: bool = False,
                 on_found: Callable[[Found], None] | None = None) -> None:
        self.strategy = strategy
        self.seed = seed
        self.max_runs = runs
        self.deadline = None if time_s is None else time.monotonic() + time_s
        self.shrink_time_s = shrink_time_s
        self.shrink_deadline: float | None = None  # set when a round's first failure is found
        self.allow_ejection = allow_ejection
        self.on_run = on_run
        self.keep_going = keep_going
        self.on_found = on_found
        self.known: set[tuple[str, str]] = set()  # the kinds of failure found: (check, policy)
        self.runs = 0
        # What each scenario run gave, by its JSON: Hypothesis draws the same
        # scenario more than once (each round starts from the simplest), and
        # a run is deterministic, so it runs once.
        self.outcomes: dict[str, Failure | None] = {}
        # The latest failing scenario of each check. Hypothesis's shrinker
        # only tries scenarios smaller than the best it has, so the latest
        # is the smallest found so far.
        self.smallest: dict[str, tuple[Scenario, Failure]] = {}

    def out_of_budget(self) -> bool:
        return (self.max_runs is not None and self.runs >= self.max_runs) or (
            self.deadline is not None and time.monotonic() >= self.deadline)

    def time_left(self) -> float | None:
        return None if self.deadline is None else max(0.0, self.deadline - time.monotonic())

    def run(self) -> FuzzResult:
        """Rounds until a failure is found (with keep_going: until the
        budget is spent), or a round draws no scenario that has not run yet
        (a small strategy can be exhausted)."""
        found_all: list[Found] = []
        round_number = 0
        while not self.out_of_budget():
            runs_before = self.runs
            found = self._round(self.seed * ROUND_SEED_STRIDE + round_number)
            for one in found:
                self.known.add(_kind(one.scenario, one.failure))
                if self.on_found is not None:
                    self.on_found(one)
            found_all.extend(found)
            if (found and not self.keep_going) or self.runs == runs_before:
                break
            self.shrink_deadline = None
            self.smallest.clear()
            round_number += 1
        return FuzzResult(self.runs, found_all)

    def _round(self, round_seed: int) -> list[Found]:
        try:
            self._hypothesis_test(round_seed)()
        except FuzzFailure as failure:
            return [Found(failure.scenario, failure.failure, round_seed)]
        except BaseExceptionGroup as group:  # several distinct failures, each shrunk on its own
            matched, rest = group.split(FuzzFailure)
            if rest is not None or matched is None:
                raise
            return [Found(f.scenario, f.failure, round_seed) for f in _leaves(matched)]
        except (_OutOfShrinkTime, Flaky):
            # out of time, or a failure that did not fail again (a wall-clock
            # budget): the smallest failing scenarios seen
            return [Found(scenario, failure, round_seed, shrunk=False) for scenario, failure in self.smallest.values()]
        return []

    def _hypothesis_test(self, round_seed: int) -> Callable[[], None]:
        @settings(max_examples=ROUND_EXAMPLES, deadline=None, database=None, derandomize=False, verbosity=Verbosity.quiet,
                  suppress_health_check=list(HealthCheck), report_multiple_bugs=True)
        @hypothesis.seed(round_seed)
        @given(self.strategy)
        def one_scenario(scenario: Scenario) -> None:
            failure = self._outcome(scenario)
            if failure is not None:
                raise _failure_type(failure.check)(scenario, failure)

        return one_scenario

    def _outcome(self, scenario: Scenario) -> Failure | None:
        """Run the scenario, unless it ran before, the search is out of
        budget (the rest of the round passes by) or shrinking is out of time
        (it stops)."""
        key = scenario.model_dump_json()
        if key in self.outcomes:
            return self._new(scenario, self.outcomes[key])
        if self.shrink_deadline is None and self.out_of_budget():
            return None
        if self.shrink_deadline is not None and time.monotonic() > self.shrink_deadline:
            raise _OutOfShrinkTime
        self.runs += 1
        self.outcomes[key] = run_checked(scenario, allow_ejection=self.allow_ejection)
        failure = self._new(scenario, self.outcomes[key])
        if self.on_run is not None:
            self.on_run(scenario, failure)
        if failure is not None:
            self.smallest[failure.check] = (scenario, failure)
            if self.shrink_deadline is None:
                self.shrink_deadline = time.monotonic() + self.shrink_time_s
        return failure

    def _new(self, scenario: Scenario, failure: Failure | None) -> Failure | None:
        """The failure, unless one of its kind was found already."""
        return None if failure is None or _kind(scenario, failure) in self.known else failure


def _kind(scenario: Scenario, failure: Failure) -> tuple[str, str]:
    return failure.check, scenario.run.policy


def _leaves(group: BaseExceptionGroup) -> list[FuzzFailure]:
    leaves = []
    for err in group.exceptions:
        leaves.extend(_leaves(err) if isinstance(err, BaseExceptionGroup) else [err])
    return leaves


# ----------------------------------------------------------------------
# Reproducers
# ----------------------------------------------------------------------
def replay_command(path: Path, allow_ejection: bool) -> str:
    return f"reclaim-ext fuzz --replay {path}" + (" --allow-ejection" if allow_ejection else "")


def save_reproducer(out: Path, found: Found, *, fuzz_seed: int, allow_ejection: bool) -> Path:
    """Write the failing scenario to `out` as a scenario file whose comment
    header says what failed and how to replay it; returns its path. The
    name is the check and a digest of the scenario: the same failure found
    twice is one file."""
    body = resolved_toml(found.scenario)
    digest = hashlib.sha256(body.encode()).hexdigest()[:10]
    path = out / f"{found.failure.check}-{digest}.toml"
    message = " ".join(str(found.failure).split())
    header = [
        f"# reclaim-ext fuzz: this scenario fails ({'shrunk by Hypothesis' if found.shrunk else 'partly shrunk: shrinking ran out of time'}).",
        f"# failure: {message}",
        f"# fuzz seed: {fuzz_seed} (round seed {found.seed}), policy: {found.scenario.run.policy}",
        f"# replay: {replay_command(path, allow_ejection)}",
    ]
    out.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(header) + "\n" + body, encoding="utf-8")
    return path


# ----------------------------------------------------------------------
# The command
# ----------------------------------------------------------------------
EPILOG = """\
Every run checks the core's invariants and the oracles of
simulator/oracles.py: no page lost or evicted twice, counters that agree
across nodes, memcgs and the total, OOM kills only when memory and swap
(or a memcg's limit) leave no choice, kswapd restoring the watermarks, no
livelock, and no policy ejected (unless --allow-ejection, for policies
meant to misbehave: then the run after the ejection must stay correct).

A failure is shrunk to a minimal scenario, written to --out with what failed
and the seed in its header, and the command that replays it is printed;
then the search goes on for other kinds of failure (another check, or
another policy) until --time or --runs is spent.
Exit status: 0 nothing found, 1 a failure found, 2 bad arguments,
130 interrupted (what was found by then is saved).

examples:
  reclaim-ext fuzz                                   lru and mglru for 60 s
  reclaim-ext fuzz --policy my_policy.py --runs 200 --seed 7
  reclaim-ext fuzz --policy tests/hostile/ --allow-ejection --time 5min
  reclaim-ext fuzz --replay fuzz-failures/unjustified-oom-0123456789.toml"""


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    """The `fuzz` subcommand, on the CLI's subparsers."""
    parser = subparsers.add_parser("fuzz", help="run random scenarios with every invariant and oracle checked",
                                   epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--policy", action="append", metavar="POLICY",
                        help="a policy to fuzz: a name, a file, or a directory of policy files; repeat for more "
                             "(default: lru and mglru)")
    parser.add_argument("--time", metavar="DURATION", help="how long to search: 60s, 5min (default: 60s, or none with --runs)")
    parser.add_argument("--runs", metavar="N", help="how many scenarios to search at most (shrinking a failure runs more)")
    parser.add_argument("--shrink-time", metavar="DURATION",
                        help="how long to shrink a failure before saving the smallest found so far (default: 2min)")
    parser.add_argument("--max-nodes", default=str(DEFAULT_MAX_NODES), metavar="N",
                        help=f"scenarios have 1 to N NUMA nodes, N at most {MAX_NODES} (default: {DEFAULT_MAX_NODES})")
    parser.add_argument("--seed", default="0", metavar="S", help="the search's seed: the same seed draws the same scenarios (default: 0)")
    parser.add_argument("--out", type=Path, default=Path("fuzz-failures"), metavar="DIR",
                        help="where failing scenarios are written (default: fuzz-failures)")
    parser.add_argument("--allow-ejection", action="store_true",
                        help="a policy ejected is expected (hostile policies); the run after it is still checked")
    parser.add_argument("--replay", type=Path, metavar="FILE", help="run one saved scenario with every oracle and say how it fails")
    parser.set_defaults(func=main)
    return parser


class _UsageError(ValueError):
    pass


@dataclass(frozen=True)
class _Options:
    policies: list[str]
    rejected: list[Path]  # files of a --policy directory the verifier refuses
    runs: int | None
    time_s: float | None
    shrink_time_s: float
    seed: int
    max_nodes: int


def _options(args: argparse.Namespace) -> _Options:
    """The arguments checked: the first problem is the error message."""
    runs = _whole(args.runs, "--runs", minimum=1) if args.runs is not None else None
    seed = _whole(args.seed, "--seed", minimum=0)
    time_s = _seconds(args.time, "--time") if args.time is not None else None if runs is not None else DEFAULT_TIME_S
    shrink_time_s = _seconds(args.shrink_time, "--shrink-time") if args.shrink_time is not None else DEFAULT_SHRINK_TIME_S
    max_nodes = _whole(args.max_nodes, "--max-nodes", minimum=1)
    if max_nodes > MAX_NODES:
        raise _UsageError(f"--max-nodes: at most {MAX_NODES}, got {max_nodes}")
    return _Options(*_policies(args.policy or list(DEFAULT_POLICIES)), runs, time_s, shrink_time_s, seed, max_nodes)


def _seconds(text: str, option: str) -> float:
    try:
        return parse_duration(text, positive=True) / NSEC_PER_SEC
    except ValueError as err:
        raise _UsageError(f"{option}: {err}") from None


def _whole(text: str, option: str, minimum: int) -> int:
    try:
        value = int(text.replace("_", ""))
    except ValueError:
        raise _UsageError(f"{option}: not a whole number: {text!r}") from None
    if value < minimum:
        raise _UsageError(f"{option}: must be at least {minimum}, got {value}")
    return value


def _policies(names: list[str]) -> tuple[list[str], list[Path]]:
    """The policies named, each loaded once now: one that cannot load is a
    usage error, not a failure of every run. A directory stands for its
    .py files, but those the verifier rejects (returned second) cannot run
    and are left out. A file is kept as an absolute path: the reproducer
    names it, and replays from anywhere."""
    policies, rejected = [], []
    for name in names:
        path = Path(name)
        if not path.is_dir():
            policy = str(path.resolve()) if name.endswith(".py") else name
            load_policy(policy)
            policies.append(policy)
            continue
        files = sorted(path.glob("*.py"))
        if not files:
            raise _UsageError(f"--policy: no policy files (*.py) in {name}")
        for file in files:
            try:
                load_policy(str(file.resolve()))
            except PolicyRejected:
                rejected.append(file)
                continue
            policies.append(str(file.resolve()))
    if not policies:
        raise _UsageError(f"--policy: the verifier rejects every policy in {', '.join(names)}")
    return policies, rejected


def main(args: argparse.Namespace) -> int:
    """`reclaim-ext fuzz`: search, or replay one file."""
    try:
        if args.replay is not None:
            return _replay(args.replay, args.allow_ejection)
        options = _options(args)
    except (_UsageError, ScenarioError, PolicyNotFound, PolicyRejected, PolicyError) as err:
        print(f"reclaim-ext fuzz: error: {_first_line(err)}", file=sys.stderr)
        return EXIT_USAGE
    if options.rejected:
        names = ", ".join(file.name for file in options.rejected[:3])
        more = f" and {len(options.rejected) - 3} more" if len(options.rejected) > 3 else ""
        print(f"reclaim-ext fuzz: {len(options.rejected)} policy files the verifier rejects are left out "
              f"({names}{more})", file=sys.stderr)
    progress = _Progress()

    def save(found: Found) -> None:
        _report_found(found, args.out, options.seed, args.allow_ejection)
        progress.searching()

    fuzzer = Fuzzer(scenarios(options.policies, max_nodes=options.max_nodes), seed=options.seed, runs=options.runs, time_s=options.time_s,
                    shrink_time_s=options.shrink_time_s, allow_ejection=args.allow_ejection,
                    on_run=lambda scenario, failure: progress(fuzzer, failure), keep_going=True, on_found=save)
    try:
        result = fuzzer.run()
    except KeyboardInterrupt:
        progress.done(fuzzer)
        print(f"reclaim-ext fuzz: interrupted after {fuzzer.runs} runs; what it found is saved", file=sys.stderr)
        return EXIT_INTERRUPTED
    progress.done(fuzzer)
    if not result.found:
        print(f"{result.runs} scenarios run, every invariant and oracle held")
        return EXIT_OK
    found = len(result.found)
    print(f"{result.runs} scenarios run, {found} failure{'s' if found > 1 else ''} found, saved in {args.out}")
    return EXIT_FAILED


def _first_line(err: Exception) -> str:
    return str(err).splitlines()[0] if str(err) else type(err).__name__


def _replay(path: Path, allow_ejection: bool) -> int:
    failure = reproduce(path, allow_ejection=allow_ejection)
    if failure is None:
        print(f"{path}: every invariant and oracle holds")
        return EXIT_OK
    print(f"{path}: {failure}")
    return EXIT_FAILED


def _report_found(found: Found, out: Path, seed: int, allow_ejection: bool) -> None:
    path = save_reproducer(out, found, fuzz_seed=seed, allow_ejection=allow_ejection)
    print(f"failure: {found.failure}")
    print(f"  scenario: {path}")
    print(f"  replay:   {replay_command(path, allow_ejection)}", flush=True)


class _Progress:
    """Runs, failures and time left on stderr: a line rewritten in place on
    a terminal, a line every PROGRESS_EVERY_S otherwise."""

    def __init__(self) -> None:
        self.tty = sys.stderr.isatty()
        self.last = 0.0
        self.found = 0
        self.shrinking = False

    def __call__(self, fuzzer: Fuzzer, failure: Failure | None) -> None:
        if failure is not None:
            if not self.shrinking:
                self.shrinking = True
                self._print(f"found {failure.check}: shrinking it", final=True)
        now = time.monotonic()
        if now - self.last >= (0.2 if self.tty else PROGRESS_EVERY_S):
            self.last = now
            self._print(self._status(fuzzer), final=False)

    def _status(self, fuzzer: Fuzzer) -> str:
        left = fuzzer.time_left()
        budget = f", {left:.0f}s left" if left is not None else ""
        state = ", shrinking" if self.shrinking else ""
        return f"{fuzzer.runs} runs, {self.found} failure{'' if self.found == 1 else 's'} found{state}{budget}"

    def searching(self) -> None:
        """A failure is saved: the search goes on."""
        self.found += 1
        self.shrinking = False

    def done(self, fuzzer: Fuzzer) -> None:
        self._print(self._status(fuzzer), final=True)

    def _print(self, text: str, final: bool) -> None:
        if self.tty:
            print(f"\rfuzz: {text}\033[K", end="\n" if final else "", file=sys.stderr, flush=True)
        else:
            print(f"fuzz: {text}", file=sys.stderr)
