"""Physical memory: frames per NUMA node, watermarks, and the zonelist.

Each node has one zone (ZONE_NORMAL) of `pages` frames. A frame is free or
holds exactly one folio; free frames are a stack, so allocating a batch is a
slice. The allocator's decisions (which node, which watermark, when to wake
kswapd or reclaim directly) are in machine.py, where the fault path is.
"""

from __future__ import annotations

import numpy as np

from simulator.config import MachineConfig
from simulator.watermarks import Watermarks, default_min_free_kbytes, setup_watermarks

LOCAL_DISTANCE = 10
REMOTE_DISTANCE = 20


class Node:
    """One NUMA node: its frames and its watermarks."""

    def __init__(self, nid: int, pages: int, cpus: int, wmark: Watermarks) -> None:
        self.nid = nid
        self.pages = pages
        self.cpus = cpus
        self.wmark = wmark
        self.frame_owner = np.full(pages, -1, np.int64)  # folio id in each frame, -1 free
        self._free_stack = np.arange(pages - 1, -1, -1, dtype=np.int64)
        self.nr_free = pages
        self.dirty = False  # PGDAT_DIRTY: kswapd found dirty file folios not queued for I/O

    def budget(self, mark: int) -> int:
        """How many frames an allocation may take before the node falls to
        `mark` (zone_watermark_ok: free must stay above the mark)."""
        return max(0, self.nr_free - mark)

    def alloc(self, folios: np.ndarray) -> np.ndarray:
        n = len(folios)
        frames = self._free_stack[self.nr_free - n : self.nr_free][::-1].copy()
        self.nr_free -= n
        self.frame_owner[frames] = folios
        return frames

    def free(self, frames: np.ndarray) -> None:
        n = len(frames)
        self.frame_owner[frames] = -1
        self._free_stack[self.nr_free : self.nr_free + n] = frames
        self.nr_free += n


def distance_matrix(cfg: MachineConfig) -> list[list[int]]:
    n = len(cfg.nodes)
    if cfg.distance:
        return [list(row) for row in cfg.distance]
    return [[LOCAL_DISTANCE if i == j else REMOTE_DISTANCE for j in range(n)] for i in range(n)]


def build_nodes(cfg: MachineConfig) -> list[Node]:
    pages = [n.pages for n in cfg.nodes]
    min_free_kbytes = cfg.min_free_kbytes if cfg.min_free_kbytes is not None else default_min_free_kbytes(sum(pages))
    marks = setup_watermarks(pages, min_free_kbytes, cfg.watermark_scale_factor)
    return [Node(i, n.pages, n.cpus, marks[i]) for i, n in enumerate(cfg.nodes)]


def zonelist(distance: list[list[int]], node: int, allowed: tuple[int, ...] | None = None) -> tuple[int, ...]:
    """build_zonelists(): the node itself, then the others by distance
    (ties by node id), restricted to `allowed` for MPOL_BIND."""
    order = sorted(range(len(distance)), key=lambda other: (distance[node][other], other))
    if allowed:
        order = [n for n in order if n in allowed]
    return tuple(order)
