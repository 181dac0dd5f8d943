"""The machine the core runs, as plain resolved data.

reclaim_ext's scenario schema (pydantic, what a user writes) resolves every
default and unit and produces these; the simulator never sees a file format.
Sizes are in pages of 4 KiB, times in nanoseconds.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

PAGE_SIZE = 4096
PAGE_SHIFT = 12
NSEC_PER_SEC = 1_000_000_000


@dataclass(frozen=True)
class NodeConfig:
    pages: int
    cpus: int = 1


@dataclass(frozen=True)
class DeviceConfig:
    """A block device: each request waits `latency_ns`, and transfers share
    `bandwidth` (bytes per second) one after another."""

    latency_ns: int
    bandwidth: int


@dataclass(frozen=True)
class SwapConfig:
    pages: int  # 0: no swap
    device: DeviceConfig


@dataclass(frozen=True)
class CostConfig:
    """Virtual CPU time of the work the core models."""

    access_ns: int = 100  # one memory access by a process
    minor_fault_ns: int = 1_000  # allocate and map a zeroed or cached page
    scan_ns: int = 100  # reclaim isolates one folio and decides on it
    rmap_ns: int = 100  # the rmap walk of one folio (folio_referenced)
    walk_ns: int = 20  # one page-table entry in a page-table walk (MGLRU aging, look-around)
    free_ns: int = 300  # reclaim unmaps and frees one folio
    # shrink_lruvec() once, whatever it scans: get_scan_count(), the loop
    # around the lists, shrink_slab(). Without it a reclaim pass over lists
    # too short to scan at its priority would take no time at all.
    shrink_lruvec_ns: int = 1_000


@dataclass(frozen=True)
class PatternConfig:
    """An access pattern over the pages of a region.

    kind: "uniform" | "zipf" | "sequential" | "loop" | "hotcold" | "phases" | "trace"
    - zipf: `alpha`; page ranks are a fixed random permutation of the region;
    - sequential: one page after the other from `start`, wrapping at the end;
    - loop: cycles over the first `loop_pages` pages (the whole region if 0);
    - hotcold: a fraction `hot_share` of accesses goes uniformly to the first
      `hot_fraction` of the region, the rest uniformly to the remainder;
    - phases: `phases` in order, each lasting `duration_ns` of the process's
      virtual time (the last one lasts for ever);
    - trace: the page offsets in `trace`, replayed in order and cycled.
    """

    kind: str
    alpha: float = 1.0
    start: int = 0
    loop_pages: int = 0
    hot_fraction: float = 0.2
    hot_share: float = 0.8
    duration_ns: int = 0  # of this pattern when it is a phase
    phases: tuple[PatternConfig, ...] = ()
    trace: np.ndarray | None = field(default=None, compare=False)


@dataclass(frozen=True)
class RegionConfig:
    """A region of a process's address space.

    kind "anon" is private anonymous memory; kind "file" maps or reads the
    named file (regions naming one file share its pages, from `file_offset`).
    access "mmap" touches pages through the page table (sets the accessed bit
    only); access "rw" uses read()/write(), which the kernel sees
    (folio_mark_accessed). `share` weighs how often the process accesses this
    region against its other regions."""

    kind: str
    pages: int
    pattern: PatternConfig
    access: str = "mmap"
    file: str | None = None
    file_offset: int = 0
    write_ratio: float = 0.0
    share: float = 1.0
    exec: bool = False  # a VM_EXEC mapping (text): the classic LRU protects it


@dataclass(frozen=True)
class MemcgConfig:
    """A memory cgroup of the v2 hierarchy. `parent` is the index of its
    parent in MachineConfig.memcgs (the root, index 0, has -1); the limits
    and protections are in pages, None for "max" (no limit)."""

    name: str  # its path: "" for the root, "a", "a/b"
    parent: int = -1
    max: int | None = None
    high: int | None = None
    low: int = 0
    min: int = 0
    swap_max: int | None = None
    # memory.reclaim written at these times: (virtual time ns, pages)
    reclaim: tuple[tuple[int, int], ...] = ()


ROOT_MEMCG = MemcgConfig("")


@dataclass(frozen=True)
class ProcessConfig:
    """A process. mempolicy "local" allocates on `cpu_node` first and falls
    back by distance; "bind" allocates only on `nodes`, nearest first;
    "interleave" spreads pages round-robin over `nodes` by page offset."""

    name: str
    regions: tuple[RegionConfig, ...]
    cpu_node: int = 0
    mempolicy: str = "local"
    nodes: tuple[int, ...] = ()
    start_ns: int = 0
    stop_ns: int | None = None  # exits at this virtual time
    accesses: int | None = None  # exits after this many accesses
    memcg: int = 0  # its memory cgroup, an index into MachineConfig.memcgs


@dataclass(frozen=True)
class FileConfig:
    name: str
    pages: int


@dataclass(frozen=True)
class MachineConfig:
    nodes: tuple[NodeConfig, ...]
    processes: tuple[ProcessConfig, ...]
    files: tuple[FileConfig, ...] = ()
    distance: tuple[tuple[int, ...], ...] = ()  # default: 10 local, 20 remote
    min_free_kbytes: int | None = None  # None: the kernel's default for the size
    watermark_scale_factor: int = 10
    swappiness: int = 60
    lru_gen_min_ttl_ms: int = 0  # /sys/kernel/mm/lru_gen/min_ttl_ms: 0 = off
    swap: SwapConfig = SwapConfig(0, DeviceConfig(100_000, 1_000_000_000))
    backing: DeviceConfig = DeviceConfig(100_000, 1_000_000_000)
    costs: CostConfig = CostConfig()
    # the cgroup v2 hierarchy, parents before children; the root first
    memcgs: tuple[MemcgConfig, ...] = (ROOT_MEMCG,)


@dataclass(frozen=True)
class RunConfig:
    """How long to run and what to record. The run ends at the first of
    `accesses` (over all processes), `duration_ns` of virtual time, or when
    every process has exited."""

    seed: int = 0
    accesses: int | None = None
    duration_ns: int | None = None
    sample_interval_ns: int = 100_000_000
    check_invariants: bool = False
