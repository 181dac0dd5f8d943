"""Tiny hand-built machines for rule-by-rule tests of MGLRU
(simulator/mglru.py), in the manner of tests/helpers.py.

`tiny_mglru()` builds the same one-node machine as `helpers.tiny_machine()`
(process "app" with an anon region, a mapped file, a file shared with
"peer", VM_EXEC text and a file used through read()/write()), with
MultiGenLRU attached instead of the classic LRU. Folios are made resident
the way the fault path does it; generations, flags, accessed bits and the
PID controller's counters are then set by hand where a rule needs them,
and the policy's functions are called directly.
"""

from __future__ import annotations

import dataclasses

import numpy as np
from helpers import Tiny, tiny_config

from hooks.types import LRU_ANON, LRU_FILE, PG_workingset
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
from simulator.machine import Machine
from simulator.mglru import MAX_NR_GENS, PG_referenced, REFS_COUNTER_MAX, Lrugen, MultiGenLRU, folio_seq

DEVICE = DeviceConfig(latency_ns=100_000, bandwidth=1_000_000_000)


def ids(*arrays) -> np.ndarray:
    return np.concatenate([np.atleast_1d(np.asarray(a, np.int64)) for a in arrays]).astype(np.int64)


@dataclasses.dataclass
class MTiny(Tiny):
    """A tiny machine with MGLRU attached. Lruvec 0 is node 0."""

    @property
    def mglru(self) -> MultiGenLRU:
        return self.m.policy.plugin

    @property
    def lrugen(self) -> Lrugen:
        return self.mglru.lruvecs[self.lruvec]

    # -- generations ------------------------------------------------------
    def seq(self, folio) -> int:
        """The generation (sequence number) stored in the folio."""
        return int(folio_seq(self.m.folios.data[folio]))

    def counter(self, folio) -> int:
        """The refs counter (LRU_REFS_MASK) stored in the folio."""
        return int(self.m.folios.data[folio] & REFS_COUNTER_MAX)

    def gen_list(self, lru_type: int, seq: int) -> int:
        return self.lrugen.lists[lru_type][seq % MAX_NR_GENS]

    def in_gen(self, folio, seq: int) -> bool:
        """On the list of generation `seq` of its type, and stamped with it."""
        lru_type = int(self.m.folios.type[folio])
        return int(self.m.lists.page_list[folio]) == self.gen_list(lru_type, seq) and self.seq(folio) == seq

    def gen_tail(self, lru_type: int, seq: int, n: int = 1) -> list[int]:
        return self.m.lists.peek(self.gen_list(lru_type, seq), n, tail=True).tolist()

    def gen_head(self, lru_type: int, seq: int, n: int = 1) -> list[int]:
        return self.m.lists.peek(self.gen_list(lru_type, seq), n, tail=False).tolist()

    def gen_len(self, lru_type: int, seq: int) -> int:
        return self.m.lists.length(self.gen_list(lru_type, seq))

    def place(self, folios, seq: int, tail: bool = False) -> None:
        """Put resident folios into generation `seq` of their type (as an
        earlier aging or eviction would have), keeping flags and counter."""
        folios = np.atleast_1d(np.asarray(folios, np.int64))
        for t in (LRU_ANON, LRU_FILE):
            sel = folios[self.m.folios.type[folios] == t]
            if len(sel):
                self.mglru._place(self.ctx, self.lrugen, sel, np.full(len(sel), seq, np.int64), t, tail)

    def set_refs(self, folio, refs: int, workingset: bool = False) -> None:
        """Give a folio `refs` accesses through file descriptors (0: no
        PG_referenced; n >= 1: PG_referenced and a counter of n - 1)."""
        self.m.folios.flags[folio] &= np.uint16(~(PG_referenced | PG_workingset) & 0xFFFF)
        if refs:
            self.m.folios.flags[folio] |= np.uint16(PG_referenced)
        if workingset:
            self.m.folios.flags[folio] |= np.uint16(PG_workingset)
        data = int(self.m.folios.data[folio])
        self.m.folios.data[folio] = (data & ~REFS_COUNTER_MAX) | max(refs - 1, 0)

    def access(self, *folios) -> None:
        """read()/write() accesses: folio_mark_accessed, in order."""
        self.m.policy.folio_accessed(self.ctx, ids(*folios))

    def age(self, swappiness: int = 60) -> None:
        """try_to_inc_max_seq(): the page-table walk, then inc_max_seq()."""
        self.mglru.try_to_inc_max_seq(self.ctx, self.lruvec, swappiness)

    def shrink(self, nr_to_scan: int = 32, **kw) -> int:
        """The core's shrink_inactive_list on lruvec 0 with MGLRU choosing
        the type: isolation, shrink_folio_list, putback. Returns reclaimed."""
        return self.shrink_inactive_list(LRU_FILE, nr_to_scan, **kw)

    def resident(self, folio) -> bool:
        return bool(self.m.folios.node[folio] >= 0)


def tiny_mglru(min_ttl_ms: int = 0, **kw) -> MTiny:
    """The tiny machine of helpers.tiny_config with MGLRU attached."""
    cfg = dataclasses.replace(tiny_config(**kw), lru_gen_min_ttl_ms=min_ttl_ms)
    return MTiny(Machine(cfg, RunConfig(seed=0), "mglru", MultiGenLRU()))


def run_mglru(cfg: MachineConfig, run: RunConfig) -> Machine:
    """Run a machine with MGLRU (tests/conftest.py checks the core's
    invariants after every step)."""
    m = Machine(cfg, run, "mglru", MultiGenLRU())
    m.run()
    return m


def one_pass_stream_config(
    *,
    node_pages: int = 1024,
    anon_pages: int = 256,
    stream_pages: int = 2048,
    swap_pages: int = 1024,
    swappiness: int = 60,
) -> MachineConfig:
    """Process "app" reuses a private anon working set through its page tables;
    "stream" read()s a file larger than memory once, start to end, and
    exits (a one-off sequential read, e.g. a backup or a grep)."""
    app = ProcessConfig(name="app", regions=(RegionConfig("anon", anon_pages, PatternConfig("uniform")),))
    stream = ProcessConfig(
        name="stream",
        regions=(RegionConfig("file", stream_pages, PatternConfig("sequential"), access="rw", file="big"),),
        accesses=stream_pages,
    )
    return MachineConfig(
        nodes=(NodeConfig(node_pages),),
        processes=(app, stream),
        files=(FileConfig("big", stream_pages),),
        swappiness=swappiness,
        swap=SwapConfig(swap_pages, DEVICE),
        backing=DeviceConfig(latency_ns=10_000, bandwidth=4_000_000_000),
    )


def anon_loop_config(
    *,
    node_pages: int = 512,
    anon_pages: int = 640,
    swap_pages: int = 1024,
    min_ttl_ms: int = 0,
    start_ns: int = 0,
) -> MachineConfig:
    """One process looping over a private anon region larger than memory:
    every pass swaps what the previous pass needed (thrashing)."""
    app = ProcessConfig(name="loop", regions=(RegionConfig("anon", anon_pages, PatternConfig("loop")),),
                        start_ns=start_ns)
    return MachineConfig(
        nodes=(NodeConfig(node_pages),),
        processes=(app,),
        swap=SwapConfig(swap_pages, DEVICE),
        backing=DEVICE,
        lru_gen_min_ttl_ms=min_ttl_ms,
    )


def mixed_config(*, node_pages: int = 768) -> MachineConfig:
    """Both types under pressure on one node: "app" maps a zipf-used anon
    heap and a shared library uniformly, "stream" read()s and sometimes
    writes a file start to end, again and again."""
    app = ProcessConfig(
        name="app",
        regions=(
            RegionConfig("anon", 640, PatternConfig("zipf", alpha=0.8)),
            RegionConfig("file", 256, PatternConfig("uniform"), file="lib"),
        ),
    )
    stream = ProcessConfig(
        name="stream",
        regions=(RegionConfig("file", 512, PatternConfig("sequential"), access="rw", file="big", write_ratio=0.1),),
    )
    return MachineConfig(
        nodes=(NodeConfig(node_pages),),
        processes=(app, stream),
        files=(FileConfig("big", 512), FileConfig("lib", 256)),
        swap=SwapConfig(1024, DEVICE),
        backing=DEVICE,
    )
