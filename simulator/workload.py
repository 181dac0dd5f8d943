"""Memory accesses of the simulated processes.

A process touches its regions (anon heaps, mapped or read files) according to
an access pattern per region (see PatternConfig). The core does not ask for
one access at a time: it asks a process's ProcessStream for a chunk of a few
hundred to a few thousand accesses, then runs faults, accessed bits and
reclaim over the chunk as whole arrays. At millions of simulated accesses a
second, a Python step per access would dominate the run, so every generator
here produces a chunk with a handful of numpy operations.

A Pattern yields page offsets within one region. Walks (sequential, loop,
trace) keep a position, so their output does not depend on how the stream is
cut into chunks; random patterns draw from the process's rng, so a run is
reproducible from its seed but a different chunking draws different pages.
A phases pattern changes behaviour over the process's virtual time, one
decision per chunk: a chunk lasts microseconds, a phase seconds.

ProcessStream mixes the regions by their share, turns offsets into global
page ids and decides which accesses are writes.
"""

from __future__ import annotations

import bisect
import itertools
from dataclasses import dataclass
from typing import Protocol, Sequence

import numpy as np

from simulator.config import PatternConfig, ProcessConfig

INT32_MAX = np.iinfo(np.int32).max


class Pattern(Protocol):
    def next(self, n: int, now_ns: int) -> np.ndarray:
        """The next n page offsets (int64) within the region, in [0, pages)."""
        ...


def _wrapping_walk(position: int, n: int, period: int) -> tuple[np.ndarray, int]:
    """n consecutive positions from `position` modulo `period`, and the
    position after them."""
    walk = (position + np.arange(n, dtype=np.int64)) % period
    return walk, (position + n) % period


class UniformPattern:
    """Every page equally likely: no locality at all."""

    def __init__(self, pages: int, rng: np.random.Generator) -> None:
        self._pages = pages
        self._rng = rng

    def next(self, n: int, now_ns: int) -> np.ndarray:
        return self._rng.integers(0, self._pages, n, dtype=np.int64)


class ZipfPattern:
    """Page of rank r (1-based) accessed with probability proportional to
    1/r^alpha, over a finite region and for any alpha > 0.

    numpy's zipf sampler is unbounded and needs alpha > 1, while measured
    working sets often have alpha below 1; so sample by inverting the
    precomputed CDF. Ranks are mapped to pages through a fixed random
    permutation: the hot pages of a real heap are scattered, not packed at
    its start, and packing them would flatter any policy that scans in order.
    Memory is the CDF (float64) plus the permutation (int32 when it fits),
    12 bytes a page, which matters for regions of 16M pages.
    """

    def __init__(self, pages: int, alpha: float, rng: np.random.Generator) -> None:
        if not alpha > 0:
            raise ValueError(f"zipf pattern: alpha must be > 0, got {alpha}")
        self._rng = rng
        self._cdf = self._rank_cdf(pages, alpha)
        self.page_of_rank = self._scatter(pages, rng)

    @staticmethod
    def _rank_cdf(pages: int, alpha: float) -> np.ndarray:
        # Built in place: a temporary per step would double the peak memory.
        cdf = np.arange(1, pages + 1, dtype=np.float64)
        np.power(cdf, -alpha, out=cdf)
        np.cumsum(cdf, out=cdf)
        # x / x is exactly 1.0, so a draw in [0, 1) always finds a rank.
        cdf /= cdf[-1]
        return cdf

    @staticmethod
    def _scatter(pages: int, rng: np.random.Generator) -> np.ndarray:
        dtype = np.int32 if pages <= INT32_MAX else np.int64
        page_of_rank = np.arange(pages, dtype=dtype)
        rng.shuffle(page_of_rank)
        return page_of_rank

    def next(self, n: int, now_ns: int) -> np.ndarray:
        draws = self._rng.random(n)
        # The same ranks as searching the draws as they come, but searching
        # them in increasing order walks the CDF from where the last search
        # ended, in cache: 1.2x to 2x faster for chunks of 256 and more.
        order = np.argsort(draws)
        rank = np.empty(n, dtype=np.intp)
        rank[order] = np.searchsorted(self._cdf, draws[order], side="right")
        return self.page_of_rank[rank].astype(np.int64)


class SequentialPattern:
    """A streaming reader: one page after the other from `start`, starting
    again from page 0 after the last one (it re-reads the file)."""

    def __init__(self, pages: int, start: int = 0) -> None:
        if not 0 <= start < pages:
            raise ValueError(f"sequential pattern: start {start} outside [0, {pages})")
        self._period = pages
        self._position = start

    def next(self, n: int, now_ns: int) -> np.ndarray:
        offsets, self._position = _wrapping_walk(self._position, n, self._period)
        return offsets


class LoopPattern(SequentialPattern):
    """A sequential walk confined to the first `loop_pages` pages: the
    classic loop slightly larger than memory that defeats LRU."""

    def __init__(self, pages: int, loop_pages: int) -> None:
        if not 0 <= loop_pages <= pages:
            raise ValueError(f"loop pattern: loop_pages {loop_pages} outside [0, {pages}]")
        super().__init__(loop_pages or pages)


class HotColdPattern:
    """A fraction `hot_share` of accesses spread uniformly over the first
    `hot_fraction` of the region, the rest uniformly over the remainder:
    the simplest working set with a sharp edge."""

    def __init__(
        self, pages: int, hot_fraction: float, hot_share: float, rng: np.random.Generator
    ) -> None:
        if not 0 < hot_fraction < 1:
            raise ValueError(f"hotcold pattern: hot_fraction {hot_fraction} outside (0, 1)")
        if not 0 <= hot_share <= 1:
            raise ValueError(f"hotcold pattern: hot_share {hot_share} outside [0, 1]")
        self._hot_pages = max(1, round(hot_fraction * pages))
        self._pages = pages
        self._hot_share = hot_share
        self._rng = rng

    def next(self, n: int, now_ns: int) -> np.ndarray:
        hot = self._rng.integers(0, self._hot_pages, n, dtype=np.int64)
        if self._hot_pages == self._pages:
            # A region too small for a cold part: everything is hot.
            return hot
        cold = self._rng.integers(self._hot_pages, self._pages, n, dtype=np.int64)
        return np.where(self._rng.random(n) < self._hot_share, hot, cold)


class PhasesPattern:
    """Sub-patterns one after the other, each for its duration of the
    process's virtual time counted from the first call (the process's start);
    the last one lasts for ever. Each sub-pattern keeps its own state, so a
    walk resumes where it was if a chunk boundary crosses a phase."""

    def __init__(self, phases: Sequence[Pattern], durations_ns: Sequence[int]) -> None:
        if not phases or len(phases) != len(durations_ns):
            raise ValueError("phases pattern: needs at least one phase, each with a duration")
        if any(d <= 0 for d in durations_ns[:-1]):
            raise ValueError("phases pattern: every phase but the last needs duration_ns > 0")
        self._phases = list(phases)
        self._ends_ns = list(itertools.accumulate(durations_ns[:-1]))
        self._start_ns: int | None = None

    def next(self, n: int, now_ns: int) -> np.ndarray:
        if self._start_ns is None:
            self._start_ns = now_ns
        phase = bisect.bisect_right(self._ends_ns, now_ns - self._start_ns)
        return self._phases[phase].next(n, now_ns)


class TracePattern:
    """Recorded page offsets replayed in order, from the start again after
    the last one."""

    def __init__(self, trace: np.ndarray | None, pages: int) -> None:
        # A copy: the replay must not change if the caller reuses its array.
        offsets = np.array(trace if trace is not None else [], dtype=np.int64)
        if offsets.ndim != 1 or offsets.size == 0:
            raise ValueError("trace pattern: needs a non-empty 1-D array of page offsets")
        if offsets.min() < 0 or offsets.max() >= pages:
            raise ValueError(
                f"trace pattern: offsets {offsets.min()}..{offsets.max()} outside [0, {pages})"
            )
        self._trace = offsets
        self._position = 0

    def next(self, n: int, now_ns: int) -> np.ndarray:
        index, self._position = _wrapping_walk(self._position, n, self._trace.size)
        return self._trace[index]


def make_pattern(cfg: PatternConfig, pages: int, rng: np.random.Generator) -> Pattern:
    """The pattern `cfg` describes over a region of `pages` pages."""
    if pages <= 0:
        raise ValueError(f"{cfg.kind} pattern: region has {pages} pages")
    if cfg.kind == "uniform":
        return UniformPattern(pages, rng)
    if cfg.kind == "zipf":
        return ZipfPattern(pages, cfg.alpha, rng)
    if cfg.kind == "sequential":
        return SequentialPattern(pages, cfg.start)
    if cfg.kind == "loop":
        return LoopPattern(pages, cfg.loop_pages)
    if cfg.kind == "hotcold":
        return HotColdPattern(pages, cfg.hot_fraction, cfg.hot_share, rng)
    if cfg.kind == "phases":
        phases = [make_pattern(phase, pages, rng) for phase in cfg.phases]
        return PhasesPattern(phases, [phase.duration_ns for phase in cfg.phases])
    if cfg.kind == "trace":
        return TracePattern(cfg.trace, pages)
    raise ValueError(f"unknown pattern kind {cfg.kind!r}")


@dataclass
class AccessChunk:
    """A run of one process's accesses, in order."""

    pages: np.ndarray  # int64 global page ids
    region: np.ndarray  # int8/int16 index into ProcessConfig.regions
    write: np.ndarray  # bool


class ProcessStream:
    """All the accesses of one process: which region each goes to (by the
    regions' shares), which page in it (by the region's pattern) and
    whether it writes (by the region's write_ratio)."""

    def __init__(
        self, proc: ProcessConfig, region_bases: Sequence[int], rng: np.random.Generator
    ) -> None:
        regions = proc.regions
        if not regions:
            raise ValueError(f"process {proc.name}: has no regions")
        if len(region_bases) != len(regions):
            raise ValueError(
                f"process {proc.name}: {len(region_bases)} region bases for {len(regions)} regions"
            )
        shares = np.array([r.share for r in regions], dtype=np.float64)
        if (shares < 0).any() or shares.sum() <= 0:
            raise ValueError(f"process {proc.name}: region shares must be >= 0, not all 0")
        write_ratios = np.array([r.write_ratio for r in regions], dtype=np.float64)
        if ((write_ratios < 0) | (write_ratios > 1)).any():
            raise ValueError(f"process {proc.name}: write_ratio outside [0, 1]")

        self._rng = rng
        self._patterns = [make_pattern(r.pattern, r.pages, rng) for r in regions]
        self._bases = [int(base) for base in region_bases]
        self._region_dtype = np.int8 if len(regions) <= np.iinfo(np.int8).max else np.int16
        share_cdf = np.cumsum(shares)
        self._share_cdf = share_cdf / share_cdf[-1]
        self._write_ratios = write_ratios
        self._never_writes = bool((write_ratios == 0).all())
        self._always_writes = bool((write_ratios == 1).all())

    def next_chunk(self, n: int, now_ns: int) -> AccessChunk:
        region = self._choose_regions(n)
        return AccessChunk(
            pages=self._pages_of(region, now_ns), region=region, write=self._writes_of(region)
        )

    def _choose_regions(self, n: int) -> np.ndarray:
        if len(self._patterns) == 1:
            return np.zeros(n, dtype=self._region_dtype)
        # The cdf ends at exactly 1.0 and a draw is below 1, so every draw
        # finds a region; side="right" skips regions of share 0.
        region = np.searchsorted(self._share_cdf, self._rng.random(n), side="right")
        return region.astype(self._region_dtype)

    def _pages_of(self, region: np.ndarray, now_ns: int) -> np.ndarray:
        if len(self._patterns) == 1:
            return self._bases[0] + self._patterns[0].next(region.size, now_ns)
        pages = np.empty(region.size, dtype=np.int64)
        for k, (pattern, base) in enumerate(zip(self._patterns, self._bases)):
            in_region = region == k
            # Called even for no access, so that a phases pattern's clock
            # starts with the process, not with its first access to the region.
            offsets = pattern.next(int(np.count_nonzero(in_region)), now_ns)
            # A boolean mask assigns in order: the i-th access to the region
            # gets the i-th offset of its pattern.
            pages[in_region] = base + offsets
        return pages

    def _writes_of(self, region: np.ndarray) -> np.ndarray:
        if self._never_writes:
            return np.zeros(region.size, dtype=bool)
        if self._always_writes:
            return np.ones(region.size, dtype=bool)
        return self._rng.random(region.size) < self._write_ratios[region]
