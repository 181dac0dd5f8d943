"""The `reclaim-ext` command: a thin layer over reclaim_ext.api.

Results go to stdout, status and progress to stderr. Bad input exits 2 with
one message naming the file and field; a run that cannot finish exits 1
after writing what it measured.
"""

from __future__ import annotations

import argparse
import fnmatch
import json
import os
import sys
import textwrap
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from reclaim_ext.api import RunFailed, as_scenario, run, with_overrides
from reclaim_ext.baseline import (DEFAULT_TOLERANCE, Baseline, check, format_check, load_baseline, parse_tolerance,
                                  write_baseline)
from reclaim_ext.compare import METRICS, Comparison, compare, load_comparison, render_tables
from reclaim_ext import fuzz
from reclaim_ext.explain import EVENTS_FILE, PAGE_SIZE, format_life, page_events, page_of
from reclaim_ext.perfetto import write_perfetto
from reclaim_ext.plot_run import plot_run
from reclaim_ext.plots import plot_comparison
from reclaim_ext.interface import render_interface
from reclaim_ext.policies import (BUILTIN_POLICIES, PolicyNotFound, PolicyRejected, available_policies, describe,
                                  find_policy, verify_policy)
from reclaim_ext.replay import ReplayFailed, replay
from reclaim_ext.report import (format_replay, format_summary, format_table, summary_of, write_replay_results,
                                write_results)
from reclaim_ext.sandbox.verifier import format_log
from reclaim_ext.scenario import ReplayScenario, Scenario, ScenarioError, json_schema, resolved_toml
from reclaim_ext.traces import FORMATS as TRACE_FORMATS
from reclaim_ext.traces import TraceError, read_trace
from simulator.policy import PolicyError

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2
EXIT_INTERRUPTED = 130  # 128 + SIGINT, as a shell reports it
# what a timeline shows unless --trace says otherwise: not the per-folio events
TIMELINE_EVENTS = ["mm_vmscan_kswapd_*", "mm_vmscan_wakeup_kswapd", "mm_vmscan_direct_reclaim_*",
                   "mm_vmscan_lru_shrink_*", "page_fault", "mark_victim", "policy_*", "bpf_trace_printk"]


class UsageError(ValueError):
    """Options that do not go together."""
REPORT_FORMATS = ("text", "markdown", "csv", "json")
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
  reclaim-ext scenario schema                every key a scenario file may hold
  reclaim-ext policies                       the policies you can load
  reclaim-ext verify my_policy.py            check your own policy before running it
  reclaim-ext run --policy my_policy.py      run it (sandboxed; ejected to lru if it misbehaves)
  reclaim-ext replay trace.txt --cache-pages 10% --policy s3fifo --policy opt
                                             a trace in exact cache mode, against Belady's optimum
  reclaim-ext interface                      the hook interface, as text for a mail
  reclaim-ext plot results/                  the run's memory, reclaim and pressure over time
  reclaim-ext compare --policy lru --policy mglru --policy my_policy.py --seeds 3
                                             policies side by side: a table for a mail, plots
  reclaim-ext fuzz --time 10min              random scenarios with every invariant checked; a
                                             failure is shrunk and saved with its replay command"""

RUN_EPILOG = """\
examples:
  reclaim-ext run                          the built-in default scenario, classic LRU
  reclaim-ext run my.toml --seed 3         another scenario and seed
  reclaim-ext run --json | jq .vmstat      the summary as one JSON object
  reclaim-ext run my.toml --out results/   keep a results directory
  reclaim-ext run my.toml --save-baseline my.lru.json
                                           keep the counters that matter as a regression baseline
  reclaim-ext run my.toml --check-baseline my.lru.json --tolerance 10%
                                           exit 1, with a table of what moved, when a counter
                                           moved beyond 10% of its baseline (or beyond 2 near 0)

The same scenario and seed always give the same numbers, so a check of the
same scenario, policy and seed passes even with --tolerance 0. A baseline's
own per-counter "tolerances" win over --tolerance; reclaim_ext/baseline.py
describes the file and the rule."""


REPLAY_EPILOG = """\
exact cache mode: the trace's requests are page-cache reads of one file
against a memory of exactly --cache-pages pages, with no watermarks and no
kswapd: a hit goes to the policy's folio_accessed, a miss evicts one page
(select_victims until it names one) and brings the page in. Any policy
runs, and "opt", Belady's offline optimum, the floor of every comparison.

trace formats (--format, default auto by extension):
  text            one id per line (its first field; blank and * lines skipped)
  lis             the ARC paper's traces: "start n_blocks ..." per line
  csv             one column, by index or header name (--column)
  u32le u32be u64le u64be
                  raw fixed-width ids
  npy             a numpy array file
  .gz, .xz and .zst files are read directly (zst: pip install 'reclaim-ext[traces]')

examples:
  reclaim-ext replay trace.txt --cache-pages 10% --policy lru --policy opt
  reclaim-ext replay w106.u32be.xz --format u32be --cache-pages 4096 --policy s3fifo
  reclaim-ext replay requests.csv --column key --cache-pages 1000 --policy sieve --json

A scenario file with a [replay] table (trace, cache, format, column) runs the
same way: reclaim-ext run replay.toml."""

COMPARE_EPILOG = """\
Every policy runs every scenario at every memory size and seed, in -j
worker processes, with one progress bar over the grid. Each finished run is
kept in --out as it ends: an interrupted compare loses nothing, and the same
compare again runs only what is missing.

The table, per scenario and memory size, gives each metric's mean (± the
standard deviation over the seeds) and each policy's change against the
baseline (the first --policy unless --baseline), marked ~ when Welch's
t-test over the seeds finds it not significant (p >= 0.05). The same table
is in DIR/tables.txt (markdown: tables.md), the plots in DIR/plots/.

memory sizes (--memory, comma-separated): a percentage scales every node's
memory (a trace's cache), a size (64MiB, or pages) sets it in all, shared
among the nodes as their memory is.

--cgroup NAME attaches each --policy to that cgroup of every scenario, as
cache_ext attaches a policy to a cgroup, while the rest of the machine keeps
the scenario's run.policy; the table adds the cgroup's own major faults,
refaults, pgscan and stall time.

examples:
  reclaim-ext compare --policy lru --policy mglru --policy clock --seeds 3
  reclaim-ext compare a.toml b.toml --policy lru --policy sieve --memory 50%,75%,100% -j 2 --out cmp/
  reclaim-ext compare reclaim_ext/scenarios/noisy-neighbour.toml --cgroup noisy --policy lru --policy s3fifo
  reclaim-ext report cmp/ --format markdown"""

EXPLAIN_EPILOG = """\
Every recorded event of the page, in order, with what it means: when it came
into memory and on which list, which list reclaim took it from and whether
it was freed or kept (and why), when it was written out, when it refaulted
and what the policy made of the refault distance. Record a page with
`reclaim-ext run SCENARIO --out DIR --trace-page ID` (or every page with
--trace '*', a large file).

examples:
  reclaim-ext run my.toml --out run/ --trace-page 1234
  reclaim-ext explain run/ --page 1234
  reclaim-ext explain run/ --process looper --address 0x2000"""

REPORT_EPILOG = """\
Reads DIR/compare.json and DIR/runs/ (what `reclaim-ext compare --out DIR`
wrote) and prints the tables again; writes the plots again into DIR/plots/.
Nothing is run."""

POLICIES_EPILOG = """\
Built-ins are the kernel's algorithms, trusted. Examples (example_policies/),
policies of installed packages (entry-point group reclaim_ext.policies) and
files are user policies: verified before they load, sandboxed while they run.
Run one with `reclaim-ext run --policy NAME` or `--policy path/to/policy.py`."""

VERIFY_EPILOG = """\
The log lists every error as FILE:LINE:COL with what to change, then a
summary: the hooks found, the maps and their sizes, and each hook's
worst-case cost against the limit of 1,000,000 (statements times loop
bounds, like the BPF verifier's instruction limit).
Exit status: 0 when the policy loads, 1 when it does not."""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="reclaim-ext", description=DESCRIPTION, epilog=MAIN_EPILOG,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    p_run = sub.add_parser("run", help="run a scenario and print its counters", epilog=RUN_EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    p_run.add_argument("scenario", nargs="?", help="scenario file (TOML); default: the built-in scenario")
    p_run.add_argument("--policy", help="reclaim policy: a name (see `reclaim-ext policies`) or a policy file; "
                       "default: the scenario's run.policy")
    p_run.add_argument("--fallback", choices=sorted(BUILTIN_POLICIES),
                       help="the built-in that takes over if the policy is ejected (default: the scenario's run.fallback)")
    p_run.add_argument("--seed", type=int, help="random seed (default: the scenario's run.seed)")
    p_run.add_argument("--accesses", type=_positive_int, help="stop after this many accesses in all (overrides run.accesses)")
    p_run.add_argument("--out", type=Path, metavar="DIR", help="write a results directory (scenario, summary.json, vmstat, CSVs)")
    p_run.add_argument("--json", action="store_true", help="print the summary as one JSON object instead of tables")
    p_run.add_argument("--check-invariants", action="store_true", help="check the core's consistency after every step (slow)")
    p_run.add_argument("--state", action="store_true",
                       help="print the policy's own view of its state at the end (mglru: the lru_gen debugfs file)")
    p_run.add_argument("--trace", action="append", metavar="GLOB",
                       help="record the events whose name matches (mm_vmscan_*, refault, ...); repeat for more")
    p_run.add_argument("--trace-out", type=Path, metavar="FILE",
                       help="write the recorded events as JSON lines (default with --out: DIR/events.jsonl)")
    p_run.add_argument("--trace-page", type=int, action="append", metavar="ID",
                       help="record every event of this folio, for `reclaim-ext explain DIR --page ID` (needs --out)")
    p_run.add_argument("--perfetto", type=Path, metavar="FILE",
                       help="write a Chrome/Perfetto trace that opens as a timeline in ui.perfetto.dev "
                            "(default events: " + " ".join(TIMELINE_EVENTS) + ")")
    baselines = p_run.add_mutually_exclusive_group()
    baselines.add_argument("--save-baseline", type=Path, metavar="FILE",
                           help="write the run's counters (vmstat, per process, per cgroup) as a regression baseline "
                                "(JSON); per-counter tolerances already in FILE are kept")
    baselines.add_argument("--check-baseline", type=Path, metavar="FILE",
                           help="compare the run's counters with a baseline: exit 1 with a table of what moved "
                                "when one is beyond its tolerance")
    p_run.add_argument("--tolerance", type=_tolerance, metavar="PCT",
                       help="with --check-baseline: how far a counter may move, in percent "
                            f"(default: {DEFAULT_TOLERANCE.replace('%', '%%')}; 0 is exact)")
    p_run.set_defaults(func=cmd_run)

    p_replay = sub.add_parser("replay", help="replay a trace in exact cache mode and print its misses",
                              epilog=REPLAY_EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    p_replay.add_argument("trace", type=Path, help="the trace file")
    p_replay.add_argument("--cache-pages", required=True, metavar="N|P%",
                          help="memory in pages, or a share of the trace's distinct ids (10%%)")
    p_replay.add_argument("--policy", action="append", metavar="POLICY",
                          help="a policy name or file, or opt; repeat to compare several (default: lru)")
    p_replay.add_argument("--format", default="auto", choices=TRACE_FORMATS, help="the trace's format (default: auto)")
    p_replay.add_argument("--column", default="0", help="a CSV trace's column: an index or a header name (default: 0)")
    p_replay.add_argument("--fallback", choices=sorted(BUILTIN_POLICIES), default="lru",
                          help="the built-in that takes over if a policy is ejected (default: lru)")
    p_replay.add_argument("--seed", type=int, default=0, help="seed of the policy's ctx.random() (default: 0)")
    p_replay.add_argument("--json", action="store_true",
                          help="print the result as JSON: one object, or a list of them for several policies")
    p_replay.set_defaults(func=cmd_replay)

    p_cmp = sub.add_parser("compare", help="run policies side by side over scenarios, memory sizes and seeds",
                           epilog=COMPARE_EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    p_cmp.add_argument("scenarios", nargs="*", metavar="SCENARIO", help="scenario files; default: the built-in scenario")
    p_cmp.add_argument("--policy", action="append", metavar="POLICY", required=True,
                       help="a policy to compare; repeat for each (the first is the baseline)")
    p_cmp.add_argument("--baseline", metavar="POLICY", help="the policy changes are measured against (default: the first)")
    p_cmp.add_argument("--cgroup", metavar="NAME",
                       help="attach the policies to this cgroup only (its path: web/db); the rest keep run.policy")
    p_cmp.add_argument("--memory", default="100%", metavar="SIZES",
                       help="memory sizes, comma-separated: 50%%,75%%,100%% or 256MiB,512MiB (default: 100%%)")
    p_cmp.add_argument("--seeds", type=_positive_int, default=1, metavar="N",
                       help="seeds per cell, from the scenario's run.seed on (default: 1)")
    p_cmp.add_argument("-j", "--jobs", type=_positive_int, default=os.cpu_count() or 1, metavar="JOBS",
                       help="worker processes (default: one per CPU)")
    p_cmp.add_argument("--out", type=Path, default=Path("compare-results"), metavar="DIR",
                       help="the results directory (default: compare-results)")
    p_cmp.add_argument("--metric", default="major_faults", choices=sorted(METRICS), metavar="METRIC",
                       help="the metric plotted against memory: " + ", ".join(sorted(METRICS))
                       + " (default: major_faults; misses for a trace)")
    p_cmp.add_argument("--format", default="text", choices=REPORT_FORMATS, help="how to print the tables (default: text)")
    p_cmp.set_defaults(func=cmd_compare)

    p_exp = sub.add_parser("explain", help="tell one page's life from a run's recorded events",
                           epilog=EXPLAIN_EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    p_exp.add_argument("dir", type=Path, help="a results directory of `reclaim-ext run --out DIR --trace-page ID`")
    p_exp.add_argument("--page", type=int, metavar="ID", help="the folio id")
    p_exp.add_argument("--process", metavar="NAME", help="with --address: a process of the scenario")
    p_exp.add_argument("--address", type=_page_address, metavar="N",
                       help="the page's place in the process's address space: a page number, or a 0x byte address")
    p_exp.set_defaults(func=cmd_explain)

    p_plot = sub.add_parser("plot", help="draw a run's time series (memory, reclaim, pressure) as PNG and SVG")
    p_plot.add_argument("dir", type=Path, help="a results directory of `reclaim-ext run --out DIR`")
    p_plot.add_argument("--out", type=Path, metavar="DIR", help="where the plots go (default: DIR/plots)")
    p_plot.set_defaults(func=cmd_plot)

    p_rep = sub.add_parser("report", help="print a comparison's tables again from its results directory",
                           epilog=REPORT_EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    p_rep.add_argument("dir", type=Path, help="a directory `reclaim-ext compare --out` wrote")
    p_rep.add_argument("--format", default="text", choices=REPORT_FORMATS, help="text, markdown, csv or json (default: text)")
    p_rep.add_argument("--metric", default="major_faults", choices=sorted(METRICS), metavar="METRIC",
                       help="the metric plotted against memory, as for compare (default: major_faults)")
    p_rep.set_defaults(func=cmd_report)

    p_pol = sub.add_parser("policies", help="list the policies that can be loaded", epilog=POLICIES_EPILOG,
                           formatter_class=argparse.RawDescriptionHelpFormatter)
    p_pol.add_argument("--json", action="store_true", help="print the list as JSON")
    p_pol.set_defaults(func=cmd_policies)

    p_verify = sub.add_parser("verify", help="run the verifier on a policy and print its log", epilog=VERIFY_EPILOG,
                              formatter_class=argparse.RawDescriptionHelpFormatter)
    p_verify.add_argument("policy", help="a policy file (.py), or the name of an example or installed policy")
    p_verify.set_defaults(func=cmd_verify)

    p_iface = sub.add_parser("interface", help="print the hook interface (for a mail or the docs)")
    p_iface.add_argument("--markdown", action="store_true", help="Markdown instead of plain text")
    p_iface.set_defaults(func=cmd_interface)

    p_sc = sub.add_parser("scenario", help="inspect scenario files")
    sc_sub = p_sc.add_subparsers(dest="scenario_command", metavar="SUBCOMMAND")
    p_show = sc_sub.add_parser("show", help="print a scenario with every default resolved (TOML)")
    p_show.add_argument("file", nargs="?", help="scenario file; default: the built-in scenario")
    p_show.set_defaults(func=cmd_scenario_show)
    p_schema = sc_sub.add_parser("schema", help="print the JSON schema of scenario files")
    p_schema.set_defaults(func=cmd_scenario_schema)
    p_sc.set_defaults(func=lambda args: _usage(p_sc))

    fuzz.add_parser(sub)
    return parser


def _positive_int(text: str) -> int:
    try:
        value = int(text.replace("_", ""))
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be positive, got {value}")
    return value


def _tolerance(text: str) -> str:
    try:
        parse_tolerance(text)
    except ValueError as err:
        raise argparse.ArgumentTypeError(str(err)) from None
    return text


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
    if args.tolerance is not None and args.check_baseline is None:
        raise UsageError("--tolerance goes with --check-baseline FILE")
    # read before the run: a bad baseline file should not cost a run first
    baseline = load_baseline(args.check_baseline) if args.check_baseline else None
    scenario = with_overrides(as_scenario(args.scenario), policy=args.policy, seed=args.seed, accesses=args.accesses,
                              check_invariants=args.check_invariants or None, fallback=args.fallback)
    if isinstance(scenario, ReplayScenario):
        return _run_replay_scenario(args, scenario, baseline)
    progress = Progress()
    status = EXIT_OK
    recorder = EventRecorder.for_args(args)
    try:
        result = run(scenario, progress=progress, events=recorder)
    except RunFailed as failed:
        result, status = failed.result, EXIT_FAILED
        print(f"reclaim-ext: the run stopped early: {failed}", file=sys.stderr)
    finally:
        progress.close()
        if recorder is not None:
            recorder.close()
    if recorder is not None and args.perfetto:
        write_perfetto(recorder.timeline, result.get("timeseries", []), args.perfetto, len(result.get("nodes", {})))
        print(f"reclaim-ext: timeline in {args.perfetto} (open it in https://ui.perfetto.dev)", file=sys.stderr)
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
    return max(status, _baseline(args, scenario, result, baseline, status))


def _baseline(args: argparse.Namespace, scenario: Scenario | ReplayScenario, result: dict[str, Any],
              baseline: Baseline | None, status: int) -> int:
    """--save-baseline and --check-baseline, after the run: the exit
    status they call for. The check's report goes to stdout after the
    summary, or to stderr with --json so stdout stays one JSON object."""
    if args.save_baseline:
        if status != EXIT_OK:
            print(f"reclaim-ext: no baseline written to {args.save_baseline}: the run did not finish", file=sys.stderr)
            return EXIT_FAILED
        saved, _ = write_baseline(args.save_baseline, scenario, result, source=args.scenario or "the built-in scenario")
        print(f"reclaim-ext: baseline of {len(saved.counters)} counters in {args.save_baseline}", file=sys.stderr)
        return EXIT_OK
    if baseline is None:
        return EXIT_OK
    outcome = check(baseline, result, scenario=scenario, tolerance=args.tolerance or DEFAULT_TOLERANCE)
    report = format_check(outcome, str(args.check_baseline))
    print(("" if args.json else "\n") + report, end="", file=sys.stderr if args.json else sys.stdout)
    return EXIT_OK if outcome.ok else EXIT_FAILED


def cmd_replay(args: argparse.Namespace) -> int:
    ids = read_trace(args.trace, args.format, int(args.column) if args.column.isdigit() else args.column)
    results, status = [], EXIT_OK
    for policy in args.policy or ["lru"]:
        result, policy_status = _with_progress(lambda progress, policy=policy: replay(
            ids, args.cache_pages, policy, seed=args.seed, fallback=args.fallback, progress=progress))
        results.append(result)
        status = max(status, policy_status)
    if args.json:
        print(json.dumps(results[0] if len(results) == 1 else results, sort_keys=True))
    else:
        print(format_replay(results, str(args.trace)), end="")
    return status


def _run_replay_scenario(args: argparse.Namespace, scenario: ReplayScenario, baseline: Baseline | None) -> int:
    result, status = _with_progress(lambda progress: run(scenario, progress=progress))
    print(json.dumps(result, sort_keys=True) if args.json else format_replay([result], scenario.replay.trace), end="")
    if args.json:
        print()
    if args.out:
        write_replay_results(args.out, [result], resolved_toml(scenario))
        print(f"reclaim-ext: results in {args.out}", file=sys.stderr)
    return max(status, _baseline(args, scenario, result, baseline, status))


def _with_progress(replay_one: Callable[[Progress], dict[str, Any]]) -> tuple[dict[str, Any], int]:
    """One replay under a progress bar: its result and exit status (a
    replay that stopped early keeps what it measured)."""
    progress = Progress()
    try:
        return replay_one(progress), EXIT_OK
    except ReplayFailed as failed:
        print(f"reclaim-ext: the replay stopped early: {failed}", file=sys.stderr)
        return failed.result, EXIT_FAILED
    finally:
        progress.close()


def cmd_compare(args: argparse.Namespace) -> int:
    memory = [m for m in args.memory.split(",") if m.strip()]
    bar = Progress()
    try:
        comparison = compare(args.scenarios, args.policy, memory=memory, seeds=args.seeds, baseline=args.baseline,
                             cgroup=args.cgroup, jobs=args.jobs, out=args.out,
                             progress=lambda done, total: bar(done / total))
    except KeyboardInterrupt:
        bar.close()
        print(f"reclaim-ext: interrupted; every finished run is kept in {args.out}: "
              "the same compare again runs only the rest", file=sys.stderr)
        return EXIT_INTERRUPTED
    finally:
        bar.close()
    return _report(comparison, args.format, args.metric)


def cmd_explain(args: argparse.Namespace) -> int:
    if args.page is None:
        if args.process is None or args.address is None:
            raise UsageError("name the page: --page ID, or --process NAME --address N")
        args.page = page_of(args.dir, args.process, args.address)
    print(format_life(args.page, page_events(args.dir, args.page)), end="")
    return EXIT_OK


def _page_address(text: str) -> int:
    """A page number, or a byte address (0x...) turned into one."""
    try:
        return int(text, 16) // PAGE_SIZE if text.lower().startswith("0x") else int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a page number or a 0x address: {text!r}") from None


def cmd_plot(args: argparse.Namespace) -> int:
    written = plot_run(args.dir, args.out)
    print("\n".join(str(path) for path in written))
    return EXIT_OK


def cmd_report(args: argparse.Namespace) -> int:
    return _report(load_comparison(args.dir), args.format, args.metric)


def _report(comparison: Comparison, fmt: str, metric: str) -> int:
    """Print the tables, keep them and the plots in the directory."""
    print(render_tables(comparison, fmt), end="")
    out = comparison.out
    (out / "tables.txt").write_text(render_tables(comparison, "text"))
    (out / "tables.md").write_text(render_tables(comparison, "markdown"))
    plots = plot_comparison(comparison, metric, out / "plots")
    print(f"reclaim-ext: tables and {len(plots)} plots in {out}", file=sys.stderr)
    failed = [r for r in comparison.runs if r["error"]]
    return EXIT_FAILED if failed else EXIT_OK


class EventRecorder:
    """The listener of `run --trace/--trace-out/--perfetto`: events whose
    name matches a glob go to a JSON-lines file as they come; those for the
    timeline are kept for the Perfetto file written at the end."""

    def __init__(self, globs: list[str], out: Path | None, timeline_globs: list[str] | None,
                 pages: frozenset[int] = frozenset()) -> None:
        self.globs = globs
        self.pages = pages
        self.timeline_globs = timeline_globs
        self.timeline: list[dict[str, Any]] = []
        self._file = out.open("w") if out is not None else None

    @classmethod
    def for_args(cls, args: argparse.Namespace) -> EventRecorder | None:
        if not (args.trace or args.trace_out or args.perfetto or args.trace_page):
            return None
        recording = args.trace or args.trace_page
        out = args.trace_out or (args.out / EVENTS_FILE if args.out and recording else None)
        if recording and out is None and not args.perfetto:
            raise UsageError("--trace and --trace-page record events: say where with --trace-out FILE, "
                             "--out DIR or --perfetto FILE")
        if out is not None:
            out.parent.mkdir(parents=True, exist_ok=True)
        # --trace-page alone records those pages' every event; with --trace, the named tracepoints too
        globs = args.trace or ([] if args.trace_page else ["*"])
        return cls(globs, out, (args.trace or TIMELINE_EVENTS) if args.perfetto else None,
                   frozenset(args.trace_page or ()))

    def __call__(self, event: dict[str, Any]) -> None:
        name = event["name"]
        if self._file is not None and (any(fnmatch.fnmatchcase(name, g) for g in self.globs)
                                       or event.get("pfn") in self.pages):
            self._file.write(json.dumps(event, sort_keys=True, default=_plain) + "\n")
        if self.timeline_globs is not None and any(fnmatch.fnmatchcase(name, g) for g in self.timeline_globs):
            self.timeline.append(event)

    def close(self) -> None:
        if self._file is not None:
            self._file.close()


def _plain(value: Any) -> Any:
    """numpy scalars and the like as JSON numbers or text."""
    return value.item() if hasattr(value, "item") else str(value)


def cmd_policies(args: argparse.Namespace) -> int:
    described = [describe(source) for source in available_policies()]
    if args.json:
        print(json.dumps(described, indent=2))
        return EXIT_OK
    rows = [[d["name"], d["kind"], d["interface"], d["status"], d["description"]] for d in described]
    print(format_table(["policy", "from", "interface", "status", "description"], rows, left=5))
    print("\nhooks:")
    width = max(len(d["name"]) for d in described)
    for d in described:
        print(textwrap.fill(", ".join(d["hooks"]), 79, initial_indent=f"  {d['name']:<{width}}  ",
                            subsequent_indent=" " * (width + 4)))
    return EXIT_OK


def cmd_verify(args: argparse.Namespace) -> int:
    verified = verify_policy(find_policy(args.policy))
    print(format_log(verified), end="")
    return EXIT_OK if verified.ok else EXIT_FAILED


def cmd_interface(args: argparse.Namespace) -> int:
    print(render_interface(markdown=args.markdown), end="")
    return EXIT_OK


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
    except PolicyRejected as err:
        print(f"reclaim-ext: error: {err}", file=sys.stderr)
        return EXIT_USAGE
    except (ScenarioError, PolicyNotFound, PolicyError, TraceError) as err:
        print(f"reclaim-ext: error: {err}", file=sys.stderr)
        return EXIT_USAGE
    except ValueError as err:  # a cache size that is no size
        print(f"reclaim-ext: error: {err}", file=sys.stderr)
        return EXIT_USAGE
    except BrokenPipeError:
        # `reclaim-ext run | head`: the reader left; that is not an error
        # (before OSError, of which it is one)
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_OK
    except OSError as err:
        print(f"reclaim-ext: error: {err.filename or ''}: {err.strerror or err}", file=sys.stderr)
        return EXIT_FAILED


if __name__ == "__main__":
    sys.exit(main())
