"""Block devices (swap, and the backing store of files) and swap slots.

A device serves requests with a fixed latency; transfers share its bandwidth
one after another. A process waiting for a read pays both, so a burst of
major faults slows every reader of the device, and writeback queued by
reclaim delays the faults behind it.
"""

from __future__ import annotations

from simulator.config import NSEC_PER_SEC, PAGE_SIZE, DeviceConfig


class BlockDevice:
    def __init__(self, cfg: DeviceConfig, name: str) -> None:
        self.name = name
        self.latency_ns = cfg.latency_ns
        self.ns_per_page = PAGE_SIZE * NSEC_PER_SEC / cfg.bandwidth
        self.busy_until = 0.0
        self.pages_read = 0
        self.pages_written = 0

    def _transfer(self, now: int, nr: int) -> float:
        start = max(float(now), self.busy_until)
        self.busy_until = start + nr * self.ns_per_page
        return self.busy_until

    def read_sync(self, now: int, nr: int, nr_requests: float) -> int:
        """A process reads nr pages in nr_requests requests and waits for
        each request in turn (readahead makes one request of many pages, so
        a page's share of a request can be a fraction)."""
        self.pages_read += nr
        return int(self._transfer(now, nr) + nr_requests * self.latency_ns)

    def write_async(self, now: int, nr: int) -> int:
        """Writeback of nr pages submitted together; when they complete."""
        self.pages_written += nr
        return int(self._transfer(now, nr) + self.latency_ns)


class SwapSpace:
    """Swap slots (get_swap_pages / swap_free), counted, not placed."""

    def __init__(self, pages: int) -> None:
        self.total = pages
        self.used = 0

    @property
    def nr_free(self) -> int:
        return self.total - self.used

    def alloc(self, nr: int) -> int:
        got = min(nr, self.nr_free)
        self.used += got
        return got

    def free(self, nr: int) -> None:
        self.used -= nr
