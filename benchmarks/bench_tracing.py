"""What tracing costs: the same run with tracing off, against the tree before
the tracepoints existed, and with every tracepoint on.

Not a test: it measures and prints, it never asserts a time.

    python benchmarks/bench_tracing.py                        # the default scenario, 1M accesses, best of 3
    python benchmarks/bench_tracing.py --accesses 300000 --repeat 5
    python benchmarks/bench_tracing.py --before fdedff5       # the tree to compare "off" against

Sides, run alternately --repeat times (the best of each is reported):
  off          reclaim_ext.run() with no listener: every tracepoint is one
               test of EventStream.enabled, or one call that returns at once;
  before       the same run in a separate process on the tree of --before
               (a git revision before the tracepoints of issue 7), checked
               out in a temporary worktree; only run() is timed there too;
  on (null)    a listener that drops every event: the cost of building them;
  on (file)    every event written as JSON lines, as `run --trace '*'
               --trace-out FILE` does.
The goal of the issue: off within 3% of before.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # measure this tree, not an installed copy

from reclaim_ext.api import run
from reclaim_ext.report import format_table
from reclaim_ext.scenario import default_scenario

GOAL = 1.03
TIMED_RUN = """
import json, sys, time
from reclaim_ext.api import run
from reclaim_ext.scenario import default_scenario
start = time.perf_counter()
run(default_scenario(), accesses={accesses})
print(json.dumps(time.perf_counter() - start))
"""


def timed_run(accesses: int, listener=None) -> float:
    start = time.perf_counter()
    run(default_scenario(), accesses=accesses, events=listener)
    return time.perf_counter() - start


def timed_before(tree: Path, accesses: int) -> float:
    out = subprocess.run([sys.executable, "-c", TIMED_RUN.format(accesses=accesses)], cwd=tree, check=True,
                         capture_output=True, text=True, env={"PYTHONPATH": str(tree), "PATH": "/usr/bin:/bin"})
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--accesses", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--before", default="fdedff5", help="a revision before the tracepoints (default: fdedff5)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        tree = Path(tmp) / "before"
        subprocess.run(["git", "-C", str(ROOT), "worktree", "add", "--detach", str(tree), args.before],
                       check=True, capture_output=True)
        try:
            best = {"off": [], "before": [], "on (null)": [], "on (file)": []}
            events = 0
            for _ in range(args.repeat):
                best["off"].append(timed_run(args.accesses))
                best["before"].append(timed_before(tree, args.accesses))
                best["on (null)"].append(timed_run(args.accesses, lambda event: None))
                with (Path(tmp) / "events.jsonl").open("w") as sink:
                    counted = []

                    def write(event, sink=sink, counted=counted):
                        counted.append(1)
                        sink.write(json.dumps(event, default=str) + "\n")

                    best["on (file)"].append(timed_run(args.accesses, write))
                    events = len(counted)
        finally:
            subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force", str(tree)], capture_output=True)
    seconds = {side: min(times) for side, times in best.items()}
    rows = [[side, f"{s:.2f}", f"{s / seconds['off']:.3f}"] for side, s in seconds.items()]
    print(f"the default scenario, {args.accesses:,} accesses, best of {args.repeat}; "
          f"{events:,} events when all are on\n")
    print(format_table(["side", "seconds", "/ off"], rows))
    verdict = "met" if seconds["off"] / seconds["before"] <= GOAL else "MISSED"
    print(f"\noff / before = {seconds['off'] / seconds['before']:.3f} (goal <= {GOAL}: {verdict})")


if __name__ == "__main__":
    main()
