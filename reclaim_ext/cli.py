"""The `reclaim-ext` command: a thin layer over reclaim_ext.api.

Results go to stdout, status and progress to stderr. Bad input exits 2 with
one message naming the file and field; a run that cannot finish exits 1
after writing what it measured.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

from reclaim_ext.api import RunFailed, as_scenario, run
from reclaim_ext.policies import BUILTIN_POLICIES, PolicyNotFound
from reclaim_ext.report import format_summary, summary_of, write_results
from reclaim_ext.scenario import ScenarioError, json_schema, resolved_toml
from simulator.policy import PolicyError

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2
PROGRESS_AFTER_S = 2.0

DESCRIPTION = """\
A userland laboratory for Linux memory reclaim: a simulated vmscan core runs
a machine described in a scenario file (NUMA nodes, memory, processes, swap)
under a reclaim policy, and reports the kernel's counters."""

MAIN_EPILOG = """\
getting started:
  reclaim-ext run                            the built-in scenario under the classic LRU
  reclaim-ext scenario show > my.toml        the built-in scenario, every default spelled out, to edit
  reclaim-ext run my.toml --out results/     your scenario, with a results directory
  reclaim-ext scenario schema                every key a scenario file may hold"""

RUN_EPILOG = """\
examples:
  reclaim-ext run                          the built-in default scenario, classic LRU
  reclaim-ext run my.toml --seed 3         another scenario and seed
  reclaim-ext run --json | jq .vmstat      the summary as one JSON object
  reclaim-ext run my.toml --out results/   keep a results directory

The same scenario and seed always give the same numbers."""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="reclaim-ext", description=DESCRIPTION, epilog=MAIN_EPILOG,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    p_run = sub.add_parser("run", help="run a scenario and print its counters", epilog=RUN_EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    p_run.add_argument("scenario", nargs="?", help="scenario file (TOML); default: the built-in scenario")
    p_run.add_argument("--policy", help=f"reclaim policy (default: the scenario's run.policy; built-in: {', '.join(BUILTIN_POLICIES)})")
    p_run.add_argument("--seed", type=int, help="random seed (default: the scenario's run.seed)")
    p_run.add_argument("--accesses", type=_positive_int, help="stop after this many accesses in all (overrides run.accesses)")
    p_run.add_argument("--out", type=Path, metavar="DIR", help="write a results directory (scenario, summary.json, vmstat, CSVs)")
    p_run.add_argument("--json", action="store_true", help="print the summary as one JSON object instead of tables")
    p_run.add_argument("--check-invariants", action="store_true", help="check the core's consistency after every step (slow)")
    p_run.add_argument("--state", action="store_true",
                       help="print the policy's own view of its state at the end (mglru: the lru_gen debugfs file)")
    p_run.set_defaults(func=cmd_run)

    p_sc = sub.add_parser("scenario", help="inspect scenario files")
    sc_sub = p_sc.add_subparsers(dest="scenario_command", metavar="SUBCOMMAND")
    p_show = sc_sub.add_parser("show", help="print a scenario with every default resolved (TOML)")
    p_show.add_argument("file", nargs="?", help="scenario file; default: the built-in scenario")
    p_show.set_defaults(func=cmd_scenario_show)
    p_schema = sc_sub.add_parser("schema", help="print the JSON schema of scenario files")
    p_schema.set_defaults(func=cmd_scenario_schema)
    p_sc.set_defaults(func=lambda args: _usage(p_sc))
    return parser


def _positive_int(text: str) -> int:
    try:
        value = int(text.replace("_", ""))
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be positive, got {value}")
    return value


def _usage(parser: argparse.ArgumentParser) -> int:
    parser.print_help(sys.stderr)
    return EXIT_USAGE


class Progress:
    """A progress bar on stderr, shown only on a terminal and only once a run
    has taken longer than a couple of seconds."""

    def __init__(self) -> None:
        self.enabled = sys.stderr.isatty()
        self.start = time.monotonic()
        self._bar: Any = None
        self._task: Any = None

    def __call__(self, fraction: float) -> None:
        if not self.enabled:
            return
        if self._bar is None:
            if time.monotonic() - self.start < PROGRESS_AFTER_S:
                return
            from rich.console import Console
            from rich.progress import BarColumn, Progress as RichProgress, TaskProgressColumn, TimeRemainingColumn

            self._bar = RichProgress("running", BarColumn(), TaskProgressColumn(), TimeRemainingColumn(), console=Console(stderr=True), transient=True)
            self._bar.start()
            self._task = self._bar.add_task("run", total=1.0)
        self._bar.update(self._task, completed=fraction)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.stop()


def cmd_run(args: argparse.Namespace) -> int:
    scenario = as_scenario(args.scenario)
    progress = Progress()
    status = EXIT_OK
    try:
        result = run(scenario, policy=args.policy, seed=args.seed, accesses=args.accesses,
                     check_invariants=args.check_invariants or None, progress=progress)
    except RunFailed as failed:
        result, status = failed.result, EXIT_FAILED
        print(f"reclaim-ext: the run stopped early: {failed}", file=sys.stderr)
    finally:
        progress.close()
    # print first: a results directory that cannot be written loses nothing
    if args.json:
        print(json.dumps(summary_of(result), sort_keys=True))
    else:
        print(format_summary(result), end="")
    if args.state:
        for name, text in result["policy_state"].items():
            print(f"\n== {name} ==\n{text}", end="" if text.endswith("\n") else "\n")
    if args.out:
        write_results(args.out, result, resolved_toml(scenario))
        print(f"reclaim-ext: results in {args.out}", file=sys.stderr)
    return status


def cmd_scenario_show(args: argparse.Namespace) -> int:
    print(resolved_toml(as_scenario(args.file)), end="")
    return EXIT_OK


def cmd_scenario_schema(args: argparse.Namespace) -> int:
    print(json.dumps(json_schema(), indent=2))
    return EXIT_OK


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not hasattr(args, "func"):
        return _usage(parser)
    try:
        return args.func(args)
    except (ScenarioError, PolicyNotFound, PolicyError) as err:
        print(f"reclaim-ext: error: {err}", file=sys.stderr)
        return EXIT_USAGE
    except OSError as err:
        print(f"reclaim-ext: error: {err.filename or ''}: {err.strerror or err}", file=sys.stderr)
        return EXIT_FAILED
    except BrokenPipeError:
        # `reclaim-ext run | head`: the reader left; that is not an error
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
