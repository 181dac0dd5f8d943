"""Zone watermarks, computed as mm/page_alloc.c computes them.

Each simulated node has one zone (ZONE_NORMAL), so the per-zone share of
min_free_kbytes is the node's share of all memory.
"""

from __future__ import annotations

from dataclasses import dataclass
from math import isqrt

from simulator.config import PAGE_SHIFT

MIN_FREE_KBYTES_MIN = 128
MIN_FREE_KBYTES_MAX = 262144


def default_min_free_kbytes(total_pages: int) -> int:
    """calculate_min_free_kbytes(): int_sqrt(lowmem_kbytes * 16), clamped
    to [128, 262144] kB."""
    lowmem_kbytes = total_pages << (PAGE_SHIFT - 10)
    return max(MIN_FREE_KBYTES_MIN, min(MIN_FREE_KBYTES_MAX, isqrt(lowmem_kbytes * 16)))


@dataclass(frozen=True)
class Watermarks:
    min: int
    low: int
    high: int


def setup_watermarks(node_pages: list[int], min_free_kbytes: int, watermark_scale_factor: int) -> list[Watermarks]:
    """__setup_per_zone_wmarks(): min is the node's share of min_free_kbytes;
    low and high add max(min/4, managed * watermark_scale_factor / 10000)."""
    pages_min = min_free_kbytes >> (PAGE_SHIFT - 10)
    total = sum(node_pages)
    marks = []
    for managed in node_pages:
        tmp = pages_min * managed // total
        delta = max(tmp >> 2, managed * watermark_scale_factor // 10000)
        marks.append(Watermarks(min=tmp, low=tmp + delta, high=tmp + 2 * delta))
    return marks
