"""Tiny hand-built machines for rule-by-rule tests of a reclaim policy.

`tiny_machine()` builds a real Machine (one node, the classic LRU attached,
nothing run) with one process "app" whose regions cover every kind of folio
the classic LRU treats differently, and a second process "peer" that maps
one file too (so its folios have two mappings). Folios are made resident the
way the fault path does it (`allocator.place`, then `_fault_in`); flags and accessed
bits are then set by hand, and the policy's hooks are called directly.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from hooks.types import LRU_ANON, LRU_FILE, ReclaimReason, ScanRequest, Victims
from simulator.config import (
    DeviceConfig,
    FileConfig,
    MachineConfig,
    NodeConfig,
    PatternConfig,
    ProcessConfig,
    RegionConfig,
    RunConfig,
    SwapConfig,
)
from simulator.lru import PG_active, ClassicLRU
from simulator.machine import Machine
from simulator.vmscan import DEF_PRIORITY

# the regions of process "app", by index
ANON, DATA, SHARED, TEXT, LOG = range(5)
REGION_TYPE = {ANON: LRU_ANON, DATA: LRU_FILE, SHARED: LRU_FILE, TEXT: LRU_FILE, LOG: LRU_FILE}

SHARED_PAGES = 16
TEXT_PAGES = 16

DEVICE = DeviceConfig(latency_ns=100_000, bandwidth=1_000_000_000)


def tiny_config(
    *,
    node_pages: int = 512,
    anon_pages: int = 64,
    file_pages: int = 64,
    swap_pages: int = 256,
    swappiness: int = 60,
) -> MachineConfig:
    uniform = PatternConfig("uniform")
    app = ProcessConfig(
        name="app",
        regions=(
            RegionConfig("anon", anon_pages, uniform),  # private anon, mapped
            RegionConfig("file", file_pages, uniform, file="data"),  # mapped file, one mapping
            RegionConfig("file", SHARED_PAGES, uniform, file="shared"),  # mapped by app and peer
            RegionConfig("file", TEXT_PAGES, uniform, file="text", exec=True),  # VM_EXEC text
            RegionConfig("file", file_pages, uniform, access="rw", file="log"),  # read()/write()
        ),
    )
    peer = ProcessConfig(name="peer", regions=(RegionConfig("file", SHARED_PAGES, uniform, file="shared"),))
    return MachineConfig(
        nodes=(NodeConfig(node_pages),),
        processes=(app, peer),
        files=(
            FileConfig("data", file_pages),
            FileConfig("shared", SHARED_PAGES),
            FileConfig("text", TEXT_PAGES),
            FileConfig("log", file_pages),
        ),
        swappiness=swappiness,
        swap=SwapConfig(swap_pages, DEVICE),
        backing=DEVICE,
    )


@dataclass
class Tiny:
    """A machine and the handles a rule test needs. Lruvec 0 is node 0."""

    m: Machine
    lruvec: int = 0

    # -- the machine's parts --------------------------------------------------
    @property
    def app(self):
        return self.m.processes[0]

    @property
    def peer(self):
        return self.m.processes[1]

    @property
    def ctx(self):
        return self.m.ctx

    @property
    def lru(self) -> ClassicLRU:
        return self.m.policy.plugin

    @property
    def state(self):
        """The classic LRU's per-lruvec state (lists, anon_cost, file_cost)."""
        return self.lru.lruvecs[self.lruvec]

    # -- folios ----------------------------------------------------------------
    def pages(self, region: int, offsets) -> np.ndarray:
        """Global folio ids of `offsets` in a region of "app"."""
        return self.m.region_base[0][region] + np.atleast_1d(np.asarray(offsets, np.int64))

    def fault(self, region: int, offsets, proc=None) -> np.ndarray:
        """Make folios resident as a fault (or read()) does: frames, then
        _fault_in (workingset refault, folio_added)."""
        p = proc if proc is not None else self.app
        pages = self.pages(region, offsets) if p is self.app else self.m.region_base[p.pid][region] + np.atleast_1d(offsets)
        placed = self.m.allocator.place(p, pages, "min")
        assert placed == len(pages), "tiny machine out of frames"
        self.m._fault_in(p, pages, np.full(len(pages), region, np.int64), np.zeros(len(pages), bool))
        return pages

    def flags(self, folio) -> int:
        return int(self.m.folios.flags[folio])

    def has(self, folio, flag: int) -> bool:
        return bool(self.flags(folio) & flag)

    def young(self, folios, bits: int) -> None:
        """Set the accessed bits of the PTEs mapping the folios (bit k: the
        k-th process mapping the file)."""
        self.m.folios.young[np.atleast_1d(folios)] = bits

    # -- lists ------------------------------------------------------------------
    def lst(self, lru_type: int, active: bool) -> int:
        return self.state.lists[(lru_type, active)]

    def on(self, folio, lru_type: int, active: bool) -> bool:
        return int(self.m.lists.page_list[folio]) == self.lst(lru_type, active)

    def length(self, lru_type: int, active: bool) -> int:
        return self.m.lists.length(self.lst(lru_type, active))

    def head(self, lru_type: int, active: bool, n: int = 1) -> list[int]:
        """The n newest folios of a list, head first."""
        return self.m.lists.peek(self.lst(lru_type, active), n, tail=False).tolist()

    def tail(self, lru_type: int, active: bool, n: int = 1) -> list[int]:
        """The n oldest folios of a list, tail first."""
        return self.m.lists.peek(self.lst(lru_type, active), n, tail=True).tolist()

    def make_active(self, folios) -> None:
        """Put resident folios on their active list (as an earlier activation
        would have), PG_active set."""
        folios = np.atleast_1d(folios)
        self.ctx.folio_set_flags(folios, PG_active)
        for t in (LRU_ANON, LRU_FILE):
            sel = folios[self.m.folios.type[folios] == t]
            if len(sel):
                self.ctx.list_add(self.lst(t, True), sel)

    def evict(self, folios) -> None:
        """__remove_mapping() of clean, isolated folios: off the lists, a
        shadow entry (workingset_eviction), frames freed."""
        folios = np.atleast_1d(folios)
        anon = folios[self.m.folios.type[folios] == LRU_ANON]
        if len(anon):
            # an anon folio leaves memory only with its copy in swap
            # (add_to_swap, pageout): the slot outlives the folio
            assert self.m.swap.alloc(len(anon)) == len(anon), "tiny machine out of swap"
            self.m.folios.in_swap[anon] = True
        self.m.lists.delete(folios)
        self.m.vmscan._free_folios(folios, self.lruvec)

    # -- reclaim ----------------------------------------------------------------
    def request(
        self,
        lru_type: int = LRU_FILE,
        nr_to_scan: int = 32,
        priority: int = DEF_PRIORITY,
        reason: ReclaimReason = ReclaimReason.KSWAPD,
        nr_to_reclaim: int = 32,
    ) -> ScanRequest:
        """A scan_control prepared for lruvec 0 (prepare_scan_control)."""
        sc = self.m.vmscan.scan_control(reason, 0, nr_to_reclaim, priority)
        self.m.vmscan._prepare(sc, self.lruvec)
        sc.lru_type, sc.nr_to_scan = lru_type, nr_to_scan
        return sc

    def select_victims(self, lru_type: int, nr_to_scan: int, **kw) -> Victims:
        return self.m.policy.select_victims(self.ctx, self.request(lru_type, nr_to_scan, **kw))

    def shrink_inactive_list(self, lru_type: int, nr_to_scan: int, **kw) -> int:
        """The core's shrink_inactive_list on lruvec 0: select_victims, then
        shrink_folio_list, putback and lru_note_cost."""
        sc = self.request(lru_type, nr_to_scan, **kw)
        reclaimed, _ = self.m.vmscan.shrink_inactive_list(self.lruvec, sc, lru_type, nr_to_scan)
        return reclaimed

    def vmstat(self) -> dict[str, int]:
        return self.m.vmstat.total_dict()

    @property
    def nonresident_age(self) -> int:
        return int(self.m.workingset.nonresident_age[self.lruvec])


def tiny_machine(**kw) -> Tiny:
    """A one-node machine with the classic LRU attached; see tiny_config."""
    return Tiny(Machine(tiny_config(**kw), RunConfig(seed=0), "lru", ClassicLRU()))


def stream_config(
    *,
    node_pages: int = 1024,
    anon_pages: int = 256,
    stream_pages: int = 2048,
    swap_pages: int = 1024,
    swappiness: int = 60,
) -> MachineConfig:
    """Two processes on one node: "app" reuses a private anon working set
    uniformly through its page tables, "stream" read()s a file from start to
    end again and again (a use-once stream, `stream_pages` long)."""
    app = ProcessConfig(name="app", regions=(RegionConfig("anon", anon_pages, PatternConfig("uniform")),))
    stream = ProcessConfig(
        name="stream",
        regions=(RegionConfig("file", stream_pages, PatternConfig("sequential"), access="rw", file="big"),),
    )
    return MachineConfig(
        nodes=(NodeConfig(node_pages),),
        processes=(app, stream),
        files=(FileConfig("big", stream_pages),),
        swappiness=swappiness,
        swap=SwapConfig(swap_pages, DEVICE),
        backing=DeviceConfig(latency_ns=10_000, bandwidth=4_000_000_000),
    )


def run_machine(cfg: MachineConfig, run: RunConfig) -> Machine:
    """Run a machine with the classic LRU (tests/conftest.py checks the
    core's invariants after every step)."""
    m = Machine(cfg, run, "lru", ClassicLRU())
    m.run()
    return m
