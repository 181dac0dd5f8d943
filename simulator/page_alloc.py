"""The page allocator (mm/page_alloc.c): which node a new page comes
from, and what happens when none has room.

get_page_from_freelist() takes pages above the low watermark, on the
process's preferred node first, then on the others by distance (its
zonelist). When no node has room, the slow path wakes every kswapd of the
zonelist and retries at the min watermark at once (the woken kswapd has not
run yet), then reclaims directly; a direct reclaim that freed nothing sleeps a
jiffy (reclaim_throttle) and is retried while should_reclaim_retry() allows,
and then the OOM killer runs.

A batch of faults is allocated at once, as a prefix of the pages asked for:
the caller runs the accesses up to the first page that got no frame, and
asks again.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from simulator.errors import SimulationError
from simulator.folios import group_by
from simulator.vmscan import MAX_RECLAIM_RETRIES
from simulator.vmstat import VmEvent

if TYPE_CHECKING:
    from simulator.machine import Machine, Process

JIFFY_NS = 4_000_000  # HZ=250: reclaim_throttle(VMSCAN_THROTTLE_NOPROGRESS) sleeps one jiffy


class PageAllocator:
    def __init__(self, machine: Machine) -> None:
        self.m = machine

    def preferred_nodes(self, p: Process, pages: np.ndarray) -> np.ndarray:
        if p.cfg.mempolicy == "interleave" and p.cfg.nodes:
            return np.asarray(p.cfg.nodes, np.int64)[pages % len(p.cfg.nodes)]
        return np.full(len(pages), next(iter(p.zonelists)), np.int64)

    def budget(self, p: Process, mark: str) -> int:
        nodes = {n for zl in p.zonelists.values() for n in zl}
        return sum(self.m.nodes[n].budget(getattr(self.m.nodes[n].wmark, mark)) for n in nodes)

    def allocate(self, p: Process, pages: np.ndarray) -> int:
        """get_page_from_freelist() at the low watermark over the zonelist;
        then the slow path: wake every kswapd, retry at min, reclaim directly.
        Returns how many of `pages` got frames (0 after a reclaim, so the
        caller re-checks residency)."""
        charged = self.m.memcg.try_charge(p, len(pages))  # the memcg's limit first, as mem_cgroup_charge() is
        if charged == 0 or not p.alive:
            return 0
        pages = pages[:charged]
        if self.budget(p, "low") > 0:
            p.no_progress_loops = 0
            return self.place(p, pages, "low")
        # wake_all_kswapds(), then at once the retry at the min watermark:
        # the woken kswapd has not run yet
        for nid in sorted({n for zl in p.zonelists.values() for n in zl}):
            self.m.wake_kswapd(nid)
        self.m.now = p.clock
        if self.budget(p, "min") > 0:
            p.no_progress_loops = 0
            return self.place(p, pages, "min")
        self.slowpath(p)
        return 0

    def place(self, p: Process, pages: np.ndarray, mark: str) -> int:
        """Frames for a prefix of `pages`, each page in order from the first
        node of its zonelist (its interleave node's, under MPOL_INTERLEAVE)
        with room above `mark`, as get_page_from_freelist() takes them one
        at a time. Returns the prefix's length.

        Vectorised by spans: up to the first page whose node runs out, every
        page's node is known at once; from there on that node is full, and
        so at most one span per node."""
        prefs = self.preferred_nodes(p, pages)
        room = {nid: self.m.nodes[nid].budget(getattr(self.m.nodes[nid].wmark, mark))
                for zl in p.zonelists.values() for nid in zl}
        placed = 0
        while placed < len(pages):
            dest = self._first_node_with_room(p, prefs[placed:], room)
            groups = group_by(dest)
            span = self._span_with_room(dest, groups, room)
            if span == 0:
                break
            window = pages[placed:placed + span]
            for nid, sel in groups:
                got = window if isinstance(sel, slice) else window[sel[:span]]
                if len(got):
                    self._take_frames(p, nid, got)
                    room[nid] -= len(got)
            placed += span
        return placed

    @staticmethod
    def _first_node_with_room(p: Process, prefs: np.ndarray, room: dict[int, int]) -> np.ndarray:
        """Each page's node: the first of its preferred node's zonelist with
        room left, -1 where there is none."""
        first = {pref: next((nid for nid in p.zonelists[pref] if room[nid] > 0), -1)
                 for pref, _ in group_by(prefs)}
        if len(first) == 1:
            return np.full(len(prefs), next(iter(first.values())), np.int64)
        lut = np.full(max(first) + 1, -1, np.int64)
        lut[list(first)] = list(first.values())
        return lut[prefs]

    @staticmethod
    def _span_with_room(dest: np.ndarray, groups: list[tuple[int, np.ndarray | slice]], room: dict[int, int]) -> int:
        """How many pages from the first get the node `dest` names (grouped
        by node in `groups`) before one finds no node, or its node full."""
        span = len(dest)
        for nid, sel in groups:
            # where this node's pages are: all of them (one node, the common
            # case) or the positions of the selection
            positions = None if isinstance(sel, slice) else np.flatnonzero(sel)
            count = len(dest) if positions is None else len(positions)
            limit = 0 if nid < 0 else room[nid]
            if count > limit:
                span = min(span, limit if positions is None else int(positions[limit]))
        return span

    def _take_frames(self, p: Process, nid: int, got: np.ndarray) -> None:
        """Frames on node `nid` for the pages `got`, charged to the faulting
        process's memcg (a file page to the first that brings it in, as the
        page cache is)."""
        node = self.m.nodes[nid]
        self.m.folios.frame[got] = node.alloc(got)
        self.m.folios.node[got] = nid
        self.m.folios.lruvec[got] = self.m.memcg_lruvec(p.cfg.memcg, nid)
        self.m.memcg.charge(p.cfg.memcg, len(got))
        p.pages_over_high += len(got)
        self.m.vmstat.count(nid, VmEvent.PGALLOC_NORMAL, len(got))

    def slowpath(self, p: Process) -> None:
        """__alloc_pages_slowpath() from direct reclaim on: reclaim; after a
        reclaim that freed nothing, sleep a jiffy (reclaim_throttle,
        VMSCAN_THROTTLE_NOPROGRESS: writeback may complete meanwhile) and
        retry while should_reclaim_retry() allows; then the OOM killer."""
        zl = next(iter(p.zonelists.values()))
        nodes = tuple(sorted({n for z in p.zonelists.values() for n in z}))
        while p.alive:
            progress = self._direct_reclaim(p, zl)
            if self.budget(p, "min") > 0:
                return
            p.no_progress_loops = 0 if progress else p.no_progress_loops + 1
            if p.no_progress_loops <= MAX_RECLAIM_RETRIES and self.should_reclaim_retry(nodes):
                if not progress:
                    p.sleep_until = p.clock + JIFFY_NS
                    self.m.memstall(p, p.clock, JIFFY_NS)
                    return
                continue
            if not self.m.out_of_memory(p):
                raise SimulationError("out of memory and no killable process left")
            p.no_progress_loops = 0
            if self.budget(p, "min") > 0:
                return

    def _direct_reclaim(self, p: Process, zl: tuple[int, ...]) -> int:
        """try_to_free_pages() in the allocating process's time: its cost is
        the process's stall."""
        events = self.m.events
        events.emit("mm_vmscan_direct_reclaim_begin", p.clock, pid=p.pid, comm=p.cfg.name, order=0)
        progress, spent = self.m.measure(self.m.vmscan.try_to_free_pages, zl, zl[0])
        events.emit("mm_vmscan_direct_reclaim_end", p.clock + spent, pid=p.pid, comm=p.cfg.name, nr_reclaimed=progress)
        self.m.memstall(p, p.clock, spent)
        p.clock += spent
        p.stats["direct_reclaim_ns"] += spent
        p.stats["allocstall"] += 1
        self.m.now = p.clock
        return progress

    def should_reclaim_retry(self, nodes: tuple[int, ...]) -> bool:
        """should_reclaim_retry(): would some node pass its min watermark if
        everything reclaimable were reclaimed?"""
        for nid in nodes:
            node = self.m.nodes[nid]
            anon, file = (sum(x) for x in zip(*(self.m.lruvec_type_sizes(lv) for lv in self.m.node_lruvecs[nid])))
            available = node.nr_free + file + (anon if self.m.swap.nr_free > 0 else 0)
            if available > node.wmark.min:
                return True
        return False
