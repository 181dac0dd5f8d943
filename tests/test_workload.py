"""Access patterns and process streams: ranges, distributions, walk state,
phase timing, determinism."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from simulator.config import PatternConfig, ProcessConfig, RegionConfig
from simulator.workload import AccessChunk, ProcessStream, ZipfPattern, make_pattern


def rng(seed: int = 0) -> np.random.Generator:
    return np.random.default_rng(seed)


def draw(cfg: PatternConfig, pages: int, n: int, seed: int = 0) -> np.ndarray:
    return make_pattern(cfg, pages, rng(seed)).next(n, 0)


ALL_KINDS = [
    PatternConfig("uniform"),
    PatternConfig("zipf", alpha=1.2),
    PatternConfig("sequential", start=7),
    PatternConfig("loop", loop_pages=5),
    PatternConfig("hotcold", hot_fraction=0.1, hot_share=0.9),
    PatternConfig(
        "phases",
        phases=(PatternConfig("sequential", duration_ns=10), PatternConfig("uniform")),
    ),
    PatternConfig("trace", trace=np.array([3, 1, 4, 1, 5])),
]


@pytest.mark.parametrize("cfg", ALL_KINDS, ids=lambda c: c.kind)
@pytest.mark.parametrize("pages", [8, 1000])
def test_offsets_in_range(cfg: PatternConfig, pages: int) -> None:
    pattern = make_pattern(cfg, pages, rng())
    for now_ns, n in [(0, 0), (0, 1), (5, 300), (50, 2000)]:
        offsets = pattern.next(n, now_ns)
        assert offsets.dtype == np.int64
        assert offsets.shape == (n,)
        assert ((offsets >= 0) & (offsets < pages)).all()


@pytest.mark.parametrize("alpha", [0.9, 1.0, 1.5])
def test_zipf_frequencies_follow_rank(alpha: float) -> None:
    pages, n = 1000, 200_000
    pattern = make_pattern(PatternConfig("zipf", alpha=alpha), pages, rng())
    assert isinstance(pattern, ZipfPattern)
    counts = np.bincount(pattern.next(n, 0), minlength=pages)

    assert counts.argmax() == pattern.page_of_rank[0]
    weights = 1.0 / np.arange(1, pages + 1) ** alpha
    expected = weights / weights.sum()
    for rank in range(1, 11):
        seen = counts[pattern.page_of_rank[rank - 1]] / n
        assert seen == pytest.approx(expected[rank - 1], rel=0.1), rank


def test_zipf_hot_pages_are_scattered() -> None:
    pattern = make_pattern(PatternConfig("zipf"), 10_000, rng())
    assert isinstance(pattern, ZipfPattern)
    hottest = np.sort(pattern.page_of_rank[:100])
    assert not np.array_equal(hottest, np.arange(100))
    assert np.array_equal(np.sort(pattern.page_of_rank), np.arange(10_000))


def test_zipf_large_region_uses_int32_permutation() -> None:
    pattern = make_pattern(PatternConfig("zipf", alpha=0.8), 1 << 20, rng())
    assert isinstance(pattern, ZipfPattern)
    assert pattern.page_of_rank.dtype == np.int32
    offsets = pattern.next(1000, 0)
    assert offsets.dtype == np.int64
    assert ((offsets >= 0) & (offsets < 1 << 20)).all()


def test_sequential_wraps() -> None:
    offsets = draw(PatternConfig("sequential", start=3), pages=5, n=8)
    assert offsets.tolist() == [3, 4, 0, 1, 2, 3, 4, 0]


@pytest.mark.parametrize(
    "cfg",
    [
        PatternConfig("sequential", start=3),
        PatternConfig("loop", loop_pages=4),
        PatternConfig("trace", trace=np.array([2, 0, 2, 1, 6])),
    ],
    ids=lambda c: c.kind,
)
@given(cuts=st.lists(st.integers(0, 20), max_size=10))
@settings(max_examples=30, deadline=None)
def test_walks_independent_of_chunk_sizes(cfg: PatternConfig, cuts: list[int]) -> None:
    whole = draw(cfg, pages=7, n=sum(cuts))
    pattern = make_pattern(cfg, 7, rng())
    pieces = [pattern.next(n, 0) for n in cuts]
    assert np.concatenate([whole[:0], *pieces]).tolist() == whole.tolist()


def test_loop_cycles_over_first_pages() -> None:
    offsets = draw(PatternConfig("loop", loop_pages=3), pages=10, n=7)
    assert offsets.tolist() == [0, 1, 2, 0, 1, 2, 0]


def test_loop_of_zero_pages_is_whole_region() -> None:
    offsets = draw(PatternConfig("loop"), pages=4, n=6)
    assert offsets.tolist() == [0, 1, 2, 3, 0, 1]


def test_hotcold_share() -> None:
    pages, n = 1000, 100_000
    offsets = draw(PatternConfig("hotcold", hot_fraction=0.2, hot_share=0.7), pages, n)
    hot = offsets < 200
    assert hot.mean() == pytest.approx(0.7, abs=0.01)
    # Uniform inside each set: every page of both gets visited.
    assert np.unique(offsets[hot]).size == 200
    assert np.unique(offsets[~hot]).size == 800


def test_hotcold_without_cold_part_goes_to_hot_set() -> None:
    offsets = draw(PatternConfig("hotcold", hot_fraction=0.9, hot_share=0.5), pages=1, n=50)
    assert (offsets == 0).all()


def test_phases_switch_after_duration_from_first_call() -> None:
    cfg = PatternConfig(
        "phases",
        phases=(
            PatternConfig("sequential", duration_ns=1000),
            PatternConfig("sequential", start=500, duration_ns=1000),
            PatternConfig("loop", loop_pages=2, duration_ns=1),
        ),
    )
    pattern = make_pattern(cfg, 1000, rng())
    assert pattern.next(3, 100).tolist() == [0, 1, 2]  # the process starts at 100
    assert pattern.next(3, 1099).tolist() == [3, 4, 5]
    assert pattern.next(3, 1100).tolist() == [500, 501, 502]
    assert pattern.next(2, 2099).tolist() == [503, 504]
    assert pattern.next(3, 2100).tolist() == [0, 1, 0]
    assert pattern.next(1, 10**15).tolist() == [1]  # the last phase lasts for ever


def test_trace_replays_and_cycles() -> None:
    offsets = draw(PatternConfig("trace", trace=np.array([4, 0, 4, 2])), pages=5, n=10)
    assert offsets.tolist() == [4, 0, 4, 2, 4, 0, 4, 2, 4, 0]


@pytest.mark.parametrize(
    "cfg, pages",
    [
        (PatternConfig("random"), 10),
        (PatternConfig("zipf", alpha=0.0), 10),
        (PatternConfig("zipf", alpha=-1.0), 10),
        (PatternConfig("sequential", start=10), 10),
        (PatternConfig("loop", loop_pages=11), 10),
        (PatternConfig("hotcold", hot_fraction=0.0), 10),
        (PatternConfig("hotcold", hot_fraction=1.0), 10),
        (PatternConfig("hotcold", hot_share=1.5), 10),
        (PatternConfig("phases"), 10),
        (PatternConfig("phases", phases=(PatternConfig("uniform"), PatternConfig("uniform"))), 10),
        (PatternConfig("phases", phases=(PatternConfig("zipf", alpha=0),)), 10),
        (PatternConfig("trace", trace=np.array([0, 10])), 10),
        (PatternConfig("trace", trace=np.array([-1])), 10),
        (PatternConfig("trace", trace=np.array([], dtype=np.int64)), 10),
        (PatternConfig("trace"), 10),
        (PatternConfig("uniform"), 0),
    ],
)
def test_invalid_configs_raise(cfg: PatternConfig, pages: int) -> None:
    with pytest.raises(ValueError):
        make_pattern(cfg, pages, rng())


def region(pages: int, share: float = 1.0, write_ratio: float = 0.0, **pattern) -> RegionConfig:
    kind = pattern.pop("kind", "uniform")
    return RegionConfig(
        "anon", pages, PatternConfig(kind, **pattern), share=share, write_ratio=write_ratio
    )


def test_stream_single_region_adds_base() -> None:
    proc = ProcessConfig("p", (region(10, kind="sequential", start=8),))
    chunk = ProcessStream(proc, [1000], rng()).next_chunk(4, 0)
    assert isinstance(chunk, AccessChunk)
    assert chunk.pages.tolist() == [1008, 1009, 1000, 1001]
    assert chunk.region.tolist() == [0, 0, 0, 0]
    assert chunk.region.dtype == np.int8
    assert not chunk.write.any()


def test_stream_region_shares_bases_and_writes() -> None:
    proc = ProcessConfig(
        "p",
        (
            region(100, share=1.0, write_ratio=0.0),
            region(50, share=3.0, write_ratio=0.25),
            region(20, share=0.0, write_ratio=1.0),
            region(10, share=6.0, write_ratio=1.0),
        ),
    )
    bases = [0, 1000, 5000, 2000]
    n = 100_000
    chunk = ProcessStream(proc, bases, rng()).next_chunk(n, 0)

    share = np.bincount(chunk.region, minlength=4) / n
    assert share == pytest.approx([0.1, 0.3, 0.0, 0.6], abs=0.01)
    for k, (r, base) in enumerate(zip(proc.regions, bases)):
        pages = chunk.pages[chunk.region == k]
        assert ((pages >= base) & (pages < base + r.pages)).all()
    writes = [chunk.write[chunk.region == k].mean() for k in (0, 1, 3)]
    assert writes == pytest.approx([0.0, 0.25, 1.0], abs=0.01)


def test_stream_keeps_each_regions_walk_in_order() -> None:
    proc = ProcessConfig(
        "p",
        (region(1000, kind="sequential"), region(1000, kind="loop", loop_pages=3)),
    )
    stream = ProcessStream(proc, [0, 10_000], rng())
    chunks = [stream.next_chunk(n, 0) for n in (50, 7, 200)]
    pages = np.concatenate([c.pages for c in chunks])
    region_of = np.concatenate([c.region for c in chunks])
    first = pages[region_of == 0]
    second = pages[region_of == 1] - 10_000
    assert first.tolist() == list(range(first.size))
    assert second.tolist() == [i % 3 for i in range(second.size)]


def test_stream_starts_phase_clocks_with_the_process() -> None:
    phases = PatternConfig(
        "phases",
        phases=(
            PatternConfig("sequential", duration_ns=100),
            PatternConfig("sequential", start=50),
        ),
    )
    proc = ProcessConfig("p", (region(10), RegionConfig("anon", 100, phases)))
    stream = ProcessStream(proc, [0, 1000], rng())
    stream.next_chunk(0, 0)  # no access to the phased region, yet its clock starts
    chunk = stream.next_chunk(10, 200)
    phased = chunk.pages[chunk.region == 1]
    assert phased.tolist() == list(range(1050, 1050 + phased.size))
    assert phased.size > 0


@pytest.mark.parametrize("cfg", ALL_KINDS, ids=lambda c: c.kind)
def test_same_seed_same_chunks(cfg: PatternConfig) -> None:
    proc = ProcessConfig(
        "p",
        (
            RegionConfig("anon", 1000, cfg, share=2.0, write_ratio=0.3),
            region(500, kind="zipf", alpha=0.9, share=1.0, write_ratio=0.6),
        ),
    )

    def run(seed: int) -> list[AccessChunk]:
        stream = ProcessStream(proc, [0, 1000], rng(seed))
        return [stream.next_chunk(n, t) for t, n in enumerate([100, 3, 1000, 0, 17])]

    for a, b in zip(run(42), run(42)):
        assert np.array_equal(a.pages, b.pages)
        assert np.array_equal(a.region, b.region)
        assert np.array_equal(a.write, b.write)
    different = run(43)
    assert not all(np.array_equal(a.pages, b.pages) for a, b in zip(run(42), different))


def test_stream_rejects_mismatched_bases() -> None:
    proc = ProcessConfig("p", (region(10), region(10)))
    with pytest.raises(ValueError):
        ProcessStream(proc, [0], rng())
