"""The pictures of a comparison, with matplotlib, as PNG and SVG.

- per scenario, the chosen metric against memory size, one line per policy
  with the seeds' spread as error bars (a miss-ratio curve for a trace, with
  Belady's optimum drawn as the floor);
- per scenario and memory size, the time series of a machine run (the first
  seed's): free memory, the refault rate and the stall time, one line per
  policy.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from reclaim_ext.plot_run import rates, save

if TYPE_CHECKING:
    from reclaim_ext.compare import Comparison


def plot_comparison(c: Comparison, metric: str, out: Path) -> list[Path]:
    """Every plot of the comparison into `out`; the files written."""
    import matplotlib

    matplotlib.use("Agg")  # files only: no display needed, none opened
    written = []
    for scenario in c.grid.scenarios:
        written += _memory_curve(c, scenario, metric, out)
        for memory in c.grid.memory:
            written += _timeseries(c, scenario, memory, out)
    return written


def _memory_curve(c: Comparison, scenario: str, metric: str, out: Path) -> list[Path]:
    import matplotlib.pyplot as plt

    from reclaim_ext.compare import METRICS
    from reclaim_ext.stats import mean_std

    runs = [r for r in c.runs if r["cell"]["scenario"] == scenario and r.get("metrics") and r["error"] is None]
    if not runs or metric not in runs[0]["metrics"]:
        metric = next(iter(runs[0]["metrics"])) if runs else metric  # a trace has misses, not major faults
    if not runs:
        return []
    fig, ax = plt.subplots(figsize=(7, 4.5))
    for policy in c.grid.policies:
        points = []
        for memory in c.grid.memory:
            mine = [r for r in runs if r["cell"]["policy"] == policy and r["cell"]["memory"] == memory]
            if mine:
                mean, std = mean_std([r["metrics"][metric] for r in mine])
                points.append((mine[0]["memory_pages"], mean, std))
        if points:
            points.sort()
            ax.errorbar([p[0] for p in points], [p[1] for p in points], yerr=[p[2] for p in points],
                        marker="o", capsize=3, label=policy)
    floor = sorted({(r["memory_pages"], r["floor"][metric]) for r in runs if r.get("floor")})
    if floor:
        ax.plot([p[0] for p in floor], [p[1] for p in floor], "k--", label="opt (Belady)")
    ax.set_xlabel("memory (pages)")
    ax.set_ylabel(METRICS[metric].title)
    ax.set_title(f"{scenario}: {METRICS[metric].title} against memory")
    ax.grid(alpha=0.3)
    ax.legend()
    return save(fig, out / f"{scenario}-{metric}-by-memory")


def _timeseries(c: Comparison, scenario: str, memory: str, out: Path) -> list[Path]:
    import matplotlib.pyplot as plt

    first = {}
    for r in c.runs:
        cell = r["cell"]
        if (cell["scenario"], cell["memory"]) == (scenario, memory) and r.get("timeseries"):
            first.setdefault(cell["policy"], r)
    if not first:
        return []
    fig, axes = plt.subplots(3, 1, figsize=(7, 7.5), sharex=True)
    for policy, r in first.items():
        rows = r["timeseries"]
        seconds = [row["time_ns"] / 1e9 for row in rows]
        free = [sum(v for k, v in row.items() if k.endswith("_free")) for row in rows]
        refaults = [row["workingset_refault_anon"] + row["workingset_refault_file"] for row in rows]
        stall = [row.get("stall_ns", 0) / 1e6 for row in rows]
        axes[0].plot(seconds, free, label=policy)
        axes[1].plot(seconds[1:], rates(seconds, refaults), label=policy)
        axes[2].plot(seconds, stall, label=policy)
    for ax, title in zip(axes, ("free pages", "refaults / s", "stall time ms (cumulative)")):
        ax.set_ylabel(title)
        ax.grid(alpha=0.3)
    axes[0].set_title(f"{scenario}, memory {memory}, seed {c.grid.seeds[0]}")
    axes[0].legend()
    axes[-1].set_xlabel("virtual time (s)")
    return save(fig, out / f"{scenario}-{_safe(memory)}-timeseries")


def _safe(memory: str) -> str:
    return memory.replace("%", "pct").replace("/", "_")
