"""The pictures of one machine run, from its results directory, with
matplotlib, as PNG and SVG.

`reclaim-ext run SCENARIO --out DIR` leaves DIR/timeseries.csv: one row per
sample, the gauges of each node and the machine's cumulative counters. From
it, with virtual time in seconds on the x axis:

- memory: per node, free pages and the four LRU lists, with the watermarks
  when the run recorded them;
- reclaim: per-second rates of pages scanned and stolen (kswapd and direct),
  refaults (anon and file) and major faults;
- pressure: stall time in ms per s and, when present, the psi_* averages.

Columns this module does not know are ignored, so a run that records more
still plots; a known column that is absent is simply not drawn.
"""

from __future__ import annotations

import csv
import json
import math
import re
from pathlib import Path

FORMATS = ("png", "svg")

# Per-node gauges, in drawing order; the watermarks come dashed after them.
LRU_GAUGES = ("free", "active_anon", "inactive_anon", "active_file", "inactive_file")
WATERMARKS = ("wmark_min", "wmark_low", "wmark_high")

# (axis label, counters drawn on it): the reclaim figure's panels.
RECLAIM_PANELS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("pages / s", ("pgscan_kswapd", "pgscan_direct", "pgsteal_kswapd", "pgsteal_direct")),
    ("refaults / s", ("workingset_refault_anon", "workingset_refault_file")),
    ("major faults / s", ("pgmajfault",)),
)

HOW_TO_GET_ONE = "make one with `reclaim-ext run SCENARIO --out DIR`"

Columns = dict[str, list[float]]


def plot_run(directory: Path, out: Path | None = None) -> list[Path]:
    """The memory, reclaim and pressure plots of the run in `directory`,
    into `out` (default DIRECTORY/plots); the files written."""
    import matplotlib

    matplotlib.use("Agg")  # files only: no display needed, none opened
    directory = Path(directory)
    out = directory / "plots" if out is None else Path(out)
    columns = read_timeseries(directory / "timeseries.csv")
    # resolve(): a run given as "." would otherwise be titled ""
    title = f"{directory.resolve().name} ({_policy(directory)})"
    seconds = [t / 1e9 for t in columns["time_ns"]]
    return (_memory(columns, seconds, title, out)
            + _cgroups(columns, seconds, title, out)
            + _reclaim(columns, seconds, title, out)
            + _pressure(columns, seconds, title, out))


def read_timeseries(path: Path) -> Columns:
    """timeseries.csv as columns of floats; ValueError if it is missing,
    empty or has no time_ns column, since there is then nothing to plot."""
    if not path.is_file():
        raise ValueError(f"no {path.name} in {path.parent}: {HOW_TO_GET_ONE}")
    with path.open(newline="") as fh:
        reader = csv.DictReader(fh)
        rows = list(reader)
        header = reader.fieldnames or []
    if not rows:
        # write_results writes an empty file when the run took no sample
        raise ValueError(f"{path} has no samples: {HOW_TO_GET_ONE}")
    if "time_ns" not in header:
        raise ValueError(f"{path} has no time_ns column: {HOW_TO_GET_ONE}")
    return {name: [_number(row.get(name)) for row in rows] for name in header}


def rates(seconds: list[float], cumulative: list[float]) -> list[float]:
    """Per-second rates of a cumulative counter between consecutive
    samples: one fewer than the samples, each belonging to the interval
    that ends at seconds[1:]. An interval of no time has no rate (NaN, a gap
    in the line) rather than an invented 0."""
    return [(b - a) / (t1 - t0) if t1 > t0 else math.nan
            for a, b, t0, t1 in zip(cumulative, cumulative[1:], seconds, seconds[1:])]


def nodes(columns: Columns) -> list[int]:
    """The node ids the time series has gauges for, in order."""
    found = {int(m.group(1)) for name in columns if (m := re.fullmatch(r"node(\d+)_\w+", name))}
    return sorted(found)


def _memory(columns: Columns, seconds: list[float], title: str, out: Path) -> list[Path]:
    import matplotlib.pyplot as plt

    ids = nodes(columns) or [0]
    # Lines, not a stack: free has to be read against the watermarks, which
    # a stack would bury under the LRU lists.
    fig, axes = plt.subplots(len(ids), 1, figsize=(8.5, 3.2 * len(ids)), sharex=True, squeeze=False)
    for ax, nid in zip(axes[:, 0], ids):
        for gauge in LRU_GAUGES:
            if (name := f"node{nid}_{gauge}") in columns:
                ax.plot(seconds, columns[name], label=gauge.replace("_", " "))
        # grey, told apart by dash: no colour of the cycle is taken from a list
        for gauge, style in zip(WATERMARKS, (":", "-.", "--")):
            if (name := f"node{nid}_{gauge}") in columns:
                ax.plot(seconds, columns[name], style, color="0.35", linewidth=1,
                        label=gauge.replace("_", " "))
        ax.set_ylabel(f"node {nid} pages")
        _finish(ax)
    axes[0, 0].set_title(f"{title}: memory per node")
    axes[-1, 0].set_xlabel("virtual time (s)")
    return save(fig, out / "memory")


def _cgroups(columns: Columns, seconds: list[float], title: str, out: Path) -> list[Path]:
    """Each cgroup's memory.current over time (a run with cgroups only)."""
    import matplotlib.pyplot as plt

    groups = [name for name in columns if re.fullmatch(r"cgroup_.+_current", name)]
    if not groups:
        return []
    fig, ax = plt.subplots(figsize=(8.5, 3.2))
    for name in groups:
        ax.plot(seconds, columns[name], label=name.removeprefix("cgroup_").removesuffix("_current"))
    ax.set_ylabel("memory.current (pages)")
    ax.set_title(f"{title}: memory per cgroup")
    ax.set_xlabel("virtual time (s)")
    _finish(ax)
    return save(fig, out / "cgroups")


def _reclaim(columns: Columns, seconds: list[float], title: str, out: Path) -> list[Path]:
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(len(RECLAIM_PANELS), 1, figsize=(8.5, 7.5), sharex=True)
    for ax, (ylabel, counters) in zip(axes, RECLAIM_PANELS):
        for name in counters:
            if name in columns:
                ax.plot(seconds[1:], rates(seconds, columns[name]), label=name)
        ax.set_ylabel(ylabel)
        _finish(ax)
    axes[0].set_title(f"{title}: reclaim rates")
    axes[-1].set_xlabel("virtual time (s)")
    return save(fig, out / "reclaim")


def _pressure(columns: Columns, seconds: list[float], title: str, out: Path) -> list[Path]:
    import matplotlib.pyplot as plt

    psi = sorted(name for name in columns if name.startswith("psi_"))
    fig, axes = plt.subplots(2 if psi else 1, 1, figsize=(8.5, 6 if psi else 3.5), sharex=True, squeeze=False)
    stall_ax = axes[0, 0]
    if "stall_ns" in columns:
        # ns of stall per s of virtual time / 1e6 = ms per s
        stall_ax.plot(seconds[1:], [r / 1e6 for r in rates(seconds, columns["stall_ns"])], label="stall")
    stall_ax.set_ylabel("stall (ms / s)")
    _finish(stall_ax)
    if psi:
        psi_ax = axes[1, 0]
        for name in psi:  # already averages, drawn as recorded
            psi_ax.plot(seconds, columns[name], label=name)
        psi_ax.set_ylabel("psi")
        _finish(psi_ax)
    stall_ax.set_title(f"{title}: pressure")
    axes[-1, 0].set_xlabel("virtual time (s)")
    return save(fig, out / "pressure")


def _finish(ax) -> None:
    ax.grid(alpha=0.3)
    if ax.get_lines():  # a legend with no entries only warns
        # beside the panel: inside, with up to eight lines, it hides data
        ax.legend(fontsize="small", loc="upper left", bbox_to_anchor=(1.01, 1.0))
    else:
        ax.text(0.5, 0.5, "not recorded", ha="center", va="center", transform=ax.transAxes, color="grey")


def _policy(directory: Path) -> str:
    """summary.json's policy; a title without one is still useful."""
    try:
        summary = json.loads((directory / "summary.json").read_text())
    except (OSError, ValueError):
        return "policy unknown"
    return str(summary.get("policy", "policy unknown")) if isinstance(summary, dict) else "policy unknown"


def _number(text: str | None) -> float:
    # A blank or foreign cell is a gap, not a crash: the row's other
    # columns still plot.
    try:
        return float(text) if text not in (None, "") else math.nan
    except ValueError:
        return math.nan


def save(fig, base: Path) -> list[Path]:
    """The figure as BASE.png and BASE.svg, the SVG reproducible."""
    import matplotlib
    import matplotlib.pyplot as plt

    base.parent.mkdir(parents=True, exist_ok=True)
    paths = [base.with_suffix(f".{fmt}") for fmt in FORMATS]
    fig.tight_layout()
    # SVG ids (clip paths) hash a random salt unless one is fixed, and the
    # SVG carries a date unless told not to: both would change the bytes.
    with matplotlib.rc_context({"svg.hashsalt": "reclaim-ext"}):
        for path in paths:
            fig.savefig(path, metadata={"Date": None} if path.suffix == ".svg" else {})
    plt.close(fig)
    return paths
