"""The simulated machine: memory, processes, kswapd, the flusher, devices,
and the virtual clock that runs them side by side.

Time is discrete-event, as in SimPy: every actor (a process, a node's
kswapd, the flusher, a writeback completion, the sampler) has an entry in one
heap keyed by (virtual time, sequence number), so ties always resolve the
same way and a run is a pure function of scenario and seed. A process runs a
chunk of accesses per step; kswapd runs one balance_pgdat priority step per
step. Each advances its own clock by the cost of what it did, so kswapd can
fall behind allocators and direct reclaim happens when it would.

A chunk of accesses is handled with numpy: accesses to resident pages only
set bits (the accessed bit for mappings, the policy's folio_accessed for
read()/write()). Faults are batched: the distinct missing pages of a chunk
are allocated together as long as the allocator's fast path has room; when
it has none, the chunk is cut at that fault and the slow path runs (wake
kswapd, allocate down to the min watermark, direct reclaim, OOM), after
which residency is recomputed for the rest of the chunk.
"""

from __future__ import annotations

import heapq
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from hooks.types import (
    LRU_ANON,
    LRU_FILE,
    LRU_TYPE_NAMES,
    SWAP_CLUSTER_MAX,
    VM_EXEC,
    PG_dirty,
    PG_reclaim,
    PG_swapbacked,
    PG_swapcache,
    PG_writeback,
    ReclaimReason,
)
from simulator.config import NSEC_PER_SEC, MachineConfig, ProcessConfig, RunConfig
from simulator.devices import BlockDevice, SwapSpace
from simulator.errors import SimulationError
from simulator.events import EventStream
from simulator.folios import FolioTable, LruLists, group_by
from simulator.host import PolicyHost
from simulator.lru import ClassicLRU
from simulator.memcontrol import MemCgroups
from simulator.memory import Node, build_nodes, distance_matrix, zonelist
from simulator.page_alloc import PageAllocator
from simulator.psi import PsiGroup
from simulator.vmscan import MAX_RECLAIM_RETRIES, Vmscan
from simulator.vmstat import EVENT_INDEX, VmEvent, VmStat
from simulator.workingset import Workingset
from simulator.workload import AccessChunk, ProcessStream

CHUNK = 1024  # accesses generated at a time
TIMESLICE_NS = 4_000_000  # a process runs this long before other processes get their turn
DIRTY_EXPIRE_NS = 30 * NSEC_PER_SEC  # dirty_expire_centisecs
DIRTY_WRITEBACK_NS = 5 * NSEC_PER_SEC  # dirty_writeback_centisecs
READAHEAD_PAGES = 32  # the default 128 KiB readahead window
KIB_PER_PAGE = 4  # pgpgin/pgpgout count KiB

MAX_SLOWPATH_LOOPS = 10_000  # a livelock guard, far above the kernel's retry rules

# event kinds, in the order they win a tie at the same time and sequence
PROCESS, KSWAPD, WRITEBACK, FLUSHER, SAMPLE, MEMORY_RECLAIM = range(6)


@dataclass
class Process:
    pid: int
    cfg: ProcessConfig
    stream: ProcessStream
    zonelists: dict[int, tuple[int, ...]]  # preferred node -> fallback order
    region_rw: np.ndarray  # per region: accessed through read()/write()
    region_young_bit: np.ndarray  # per region: this mapping's accessed bit
    anon_pages: np.ndarray  # the ids of its anon pages (freed at exit)
    clock: int = 0
    pending: AccessChunk | None = None  # the rest of a chunk cut short (timeslice, sleep)
    sleep_until: int | None = None  # the allocator sent the process to sleep
    no_progress_loops: int = 0  # direct reclaims without progress in this slow path
    memcg_retries: int = 0  # try_charge's reclaims of the memcg without room made
    pages_over_high: int = 0  # charged since the last return to user space (memcg_nr_pages_over_high)
    alive: bool = True
    started: bool = False
    exit_reason: str = ""
    stats: dict[str, int] = field(
        default_factory=lambda: dict.fromkeys(
            ("accesses", "minflt", "majflt", "read_io", "refaults", "workingset_refaults", "allocstall",
             "direct_reclaim_ns", "io_wait_ns", "stall_ns", "exit_ns"),
            0,
        )
    )


class Machine(PolicyHost):
    def __init__(
        self,
        cfg: MachineConfig,
        run: RunConfig,
        policy_name: str,
        policy_plugin: Any,
        fallback: tuple[str, Callable[[], Any]] = ("lru", ClassicLRU),
        events: EventStream | None = None,
        policy_factory: Callable[[], Any] | None = None,
        memcg_policies: dict[int, tuple[str, Callable[[], Any]]] | None = None,
    ) -> None:
        """`policy_plugin` serves the machine (the root memcg);
        `memcg_policies` maps a memcg to its own policy's name and a
        factory of instances. `policy_factory` makes fresh instances of the
        machine's policy, for a memcg's ejected policy to fall back to
        (without it, `fallback` does)."""
        self.cfg = cfg
        self.run_cfg = run
        self.now = 0
        self._pending_ns = 0
        self._seq = 0
        self._heap: list[tuple[int, int, int, int, int]] = []
        self.events = events if events is not None else EventStream()
        seeds = np.random.SeedSequence(run.seed).spawn(len(cfg.processes) + 1)
        self.policy_rng = np.random.default_rng(seeds[-1])

        self.nodes: list[Node] = build_nodes(cfg)
        self.nr_nodes = len(self.nodes)
        self.distance = distance_matrix(cfg)
        # one lruvec per (memcg, node), as the kernel's mem_cgroup_lruvec():
        # lruvec id = memcg * nr_nodes + node, so with the root alone lruvec
        # id == node id
        self.nr_memcgs = len(cfg.memcgs)
        self.nr_lruvecs = self.nr_memcgs * self.nr_nodes
        self.lruvec_node = [lruvec % self.nr_nodes for lruvec in range(self.nr_lruvecs)]
        self.lruvec_memcg = [lruvec // self.nr_nodes for lruvec in range(self.nr_lruvecs)]
        self.node_lruvecs = [[memcg * self.nr_nodes + nid for memcg in range(self.nr_memcgs)]
                             for nid in range(self.nr_nodes)]
        self.memcg = MemCgroups(self)

        self._layout_pages()
        self.lists = LruLists(self.folios)
        self.workingset = Workingset(self.folios.nr_pages, self.nr_lruvecs,
                                     [self.lruvec_ancestors(lruvec) for lruvec in range(self.nr_lruvecs)])
        self.vmstat = VmStat(len(self.nodes), self.nr_memcgs)
        self.swap = SwapSpace(cfg.swap.pages)
        self.swap_dev = BlockDevice(cfg.swap.device, "swap")
        self.backing_dev = BlockDevice(cfg.backing, "backing")
        self.processes = [self._make_process(i, p, seeds[i]) for i, p in enumerate(cfg.processes)]
        # memory pressure as PSI computes it, machine-wide and per process
        self.psi = PsiGroup("total")
        self.process_psi = [PsiGroup(p.name) for p in cfg.processes]
        self.memcg_psi = [PsiGroup(m.name) for m in cfg.memcgs]  # memory.pressure of each cgroup but the root
        self.vmscan = Vmscan(self)
        self.allocator = PageAllocator(self)
        self.init_policy_host(policy_name, fallback)
        self.attach_policies(policy_name, policy_plugin, policy_factory, memcg_policies)
        self.total_accesses = 0
        self.samples: list[dict[str, int]] = []
        self._writeback: dict[int, np.ndarray] = {}  # folios under writeback, by request
        self._writeback_heap: list[tuple[int, int]] = []  # (completion time, request)
        self._writeback_seq = 0
        self.invariant_checker = None

    # ------------------------------------------------------------------
    # layout: every page of every anon region and file gets an id
    # ------------------------------------------------------------------
    def _layout_pages(self) -> None:
        cfg = self.cfg
        self.file_base: dict[str, int] = {}
        next_id = 0
        for f in cfg.files:
            self.file_base[f.name] = next_id
            next_id += f.pages
        self.region_base: list[list[int]] = []
        for pid, proc in enumerate(cfg.processes):
            bases = []
            for region in proc.regions:
                if region.kind == "anon":
                    bases.append(next_id)
                    next_id += region.pages
                elif region.file in self.file_base:
                    bases.append(self.file_base[region.file] + region.file_offset)
                else:
                    raise ValueError(f"process {proc.name!r} maps file {region.file!r}, which MachineConfig.files does not declare")
            self.region_base.append(bases)
        page_type = np.full(next_id, LRU_FILE, np.int8)
        self.folios = FolioTable(next_id, page_type)
        self.static_flags = np.zeros(next_id, np.uint16)  # VM_EXEC, PG_swapbacked
        self._mapper_count: dict[str, int] = {}
        for pid, proc in enumerate(cfg.processes):
            for region, base in zip(proc.regions, self.region_base[pid]):
                span = slice(base, base + region.pages)
                if region.kind == "anon":
                    page_type[span] = LRU_ANON
                    self.folios.owner[span] = pid
                    self.static_flags[span] |= PG_swapbacked
                    self.folios.mapcount[span] = 1
                elif region.access == "mmap":
                    self.folios.mapcount[span] += 1
                    if region.exec:
                        self.static_flags[span] |= VM_EXEC
        self.folios.type[:] = page_type

    def _make_process(self, pid: int, proc: ProcessConfig, seed: np.random.SeedSequence) -> Process:
        bases = self.region_base[pid]
        young_bits = []
        for region in proc.regions:
            if region.kind == "file" and region.access == "mmap":
                k = self._mapper_count.get(region.file, 0)
                self._mapper_count[region.file] = k + 1
                young_bits.append(1 << (k % 8))
            else:
                young_bits.append(1)
        anon = [np.arange(b, b + r.pages) for r, b in zip(proc.regions, bases) if r.kind == "anon"]
        return Process(
            pid=pid,
            cfg=proc,
            stream=ProcessStream(proc, bases, np.random.default_rng(seed)),
            zonelists=self._zonelists(proc),
            region_rw=np.array([r.access == "rw" for r in proc.regions]),
            region_young_bit=np.array(young_bits, np.uint8),
            anon_pages=np.concatenate(anon) if anon else np.empty(0, np.int64),
            clock=proc.start_ns,
        )

    def _zonelists(self, proc: ProcessConfig) -> dict[int, tuple[int, ...]]:
        """The fallback order for each node a process allocates on first.
        local: its CPU's node, then the others by distance; bind: the allowed
        node nearest its CPU, then the other allowed ones; interleave: each
        node of the set (chosen by page offset), then the others."""
        if proc.mempolicy == "interleave" and proc.nodes:
            return {n: zonelist(self.distance, n) for n in sorted(set(proc.nodes))}
        if proc.mempolicy == "bind":
            order = zonelist(self.distance, proc.cpu_node, proc.nodes)
            return {order[0]: order}
        return {proc.cpu_node: zonelist(self.distance, proc.cpu_node)}

    # ------------------------------------------------------------------
    # the event loop
    # ------------------------------------------------------------------
    def _schedule(self, time: int, kind: int, ident: int = 0, gen: int = 0) -> None:
        self._seq += 1
        heapq.heappush(self._heap, (int(time), self._seq, kind, ident, gen))

    def measure(self, work, *args):
        """Run `work` and return its result and the CPU time it charged, which
        the caller adds to its own clock (kswapd's, or a process's in direct
        reclaim)."""
        start = self._pending_ns
        result = work(*args)
        spent = self._pending_ns - start
        self._pending_ns = start
        return result, spent

    def node_pages(self, nid: int) -> int:
        return self.nodes[nid].pages

    def memcg_lruvec(self, memcg: int, nid: int) -> int:
        """mem_cgroup_lruvec(): the lruvec of a memcg on a node."""
        return memcg * self.nr_nodes + nid

    def lruvec_ancestors(self, lruvec: int) -> list[int]:
        """The lruvec, then parent_lruvec() of it up to the root's, on its node."""
        nid = self.lruvec_node[lruvec]
        return [self.memcg_lruvec(memcg, nid) for memcg in self.memcg.ancestors[self.lruvec_memcg[lruvec]]]

    def _memory_reclaim(self, memcg: int, nr_pages: int) -> None:
        """A write to memory.reclaim (memory_reclaim()): reclaim from the
        memcg a batch at a time until `nr_pages` are freed or
        MAX_RECLAIM_RETRIES batches in a row free nothing."""
        reclaimed, retries, spent = 0, MAX_RECLAIM_RETRIES, 0
        while reclaimed < nr_pages:
            batch, cost = self.measure(self.vmscan.try_to_free_mem_cgroup_pages, memcg,
                                       min(nr_pages - reclaimed, SWAP_CLUSTER_MAX), ReclaimReason.PROACTIVE)
            spent += cost
            if not batch:
                retries -= 1
                if retries < 0:
                    break
            reclaimed += batch
        record = {"at_ns": self.now, "requested": nr_pages, "reclaimed": reclaimed, "cpu_ns": spent}
        self.memcg.proactive[memcg].append(record)
        self.events.emit("memory_reclaim", self.now, memcg=self.cfg.memcgs[memcg].name, **record)

    def writeback_in_flight(self) -> bool:
        """Is any write to swap or a file under way?"""
        return bool(self._writeback)

    def reclaim_memcg(self, p: Process, memcg: int, nr_pages: int) -> int:
        """try_charge()'s reclaim from a memcg over its limit, in the
        charging process's time: a memory stall, as direct reclaim is."""
        reclaimed, spent = self.measure(self.vmscan.try_to_free_mem_cgroup_pages, memcg, nr_pages)
        self.memstall(p, p.clock, spent)
        p.clock += spent
        self.now = p.clock
        return reclaimed

    def memstall(self, p: Process, start_ns: int, duration_ns: int) -> None:
        """The process was stalled on memory from start for duration (in
        direct reclaim, throttled, or waiting for a workingset refault's
        I/O): its stall time and pressure (PSI), its own and the machine's."""
        if duration_ns <= 0:
            return
        p.stats["stall_ns"] += duration_ns
        for group in self._psi_groups(p):
            group.task_stall(p.pid, start_ns, start_ns + duration_ns)

    def _psi_groups(self, p: Process) -> list[PsiGroup]:
        """The PSI groups a process's stalls count in: the machine's, its
        own, and its cgroup's and each ancestor's below the root."""
        return [self.psi, self.process_psi[p.pid],
                *(self.memcg_psi[m] for m in self.memcg.ancestors[p.cfg.memcg] if m != 0)]

    def pressure(self) -> dict[str, dict[str, int | float]]:
        """PSI's memory figures now: the machine's ("total") and each process's."""
        now = self.virtual_time()
        return {"total": self.psi.snapshot(now), **{p.cfg.name: self.process_psi[p.pid].snapshot(now)
                                                     for p in self.processes}}

    def charge(self, ns: int) -> None:
        """Charge CPU time to whoever is running (a process in direct
        reclaim, kswapd)."""
        self._pending_ns += ns

    def charge_rmap(self, nr: int) -> None:
        self._pending_ns += nr * self.cfg.costs.rmap_ns

    def run(self, progress=None) -> None:
        """Run until the scenario's length is reached or every process exits.
        `progress(done_fraction)` is called now and then."""
        for p in self.processes:
            self._schedule(p.cfg.start_ns, PROCESS, p.pid)
        self._schedule(DIRTY_WRITEBACK_NS, FLUSHER)
        self._schedule(0, SAMPLE)
        for memcg, c in enumerate(self.cfg.memcgs):
            for at, pages in c.reclaim:
                self._schedule(at, MEMORY_RECLAIM, memcg, pages)
        limit_accesses = self.run_cfg.accesses
        limit_ns = self.run_cfg.duration_ns
        steps = 0
        while self._heap:
            time, _, kind, ident, gen = heapq.heappop(self._heap)
            if limit_ns is not None and time > limit_ns:
                break
            self.now = max(self.now, time)
            if kind == PROCESS:
                self._process_step(self.processes[ident])
            elif kind == KSWAPD:
                if gen == self.vmscan.kswapd[ident].generation:  # else superseded
                    self._run_kswapd(ident, time)
            elif kind == WRITEBACK:
                self._complete_writeback_until(time)
            elif kind == FLUSHER:
                self._flusher(periodic=True)
            elif kind == MEMORY_RECLAIM:
                self._memory_reclaim(ident, gen)
            elif kind == SAMPLE:
                self._sample()
                if any(p.alive for p in self.processes):
                    self._schedule(self.now + self.run_cfg.sample_interval_ns, SAMPLE)
            if self.invariant_checker is not None:
                self.invariant_checker(self)
            steps += 1
            if progress is not None and steps % 64 == 0:
                progress(self._progress_fraction())
            if limit_accesses is not None and self.total_accesses >= limit_accesses:
                break
            if not any(p.alive for p in self.processes):
                break
        self._sample()

    def virtual_time(self) -> int:
        """How far the run got: the latest clock of the processes."""
        return max([self.now] + [p.clock for p in self.processes if p.started])

    def _progress_fraction(self) -> float:
        if self.run_cfg.accesses:
            return min(1.0, self.total_accesses / self.run_cfg.accesses)
        if self.run_cfg.duration_ns:
            return min(1.0, self.now / self.run_cfg.duration_ns)
        return 0.0

    # ------------------------------------------------------------------
    # processes
    # ------------------------------------------------------------------
    def _cpu_share(self, p: Process) -> float:
        """Processes share their node's CPUs: with more runnable processes
        than CPUs, each access takes proportionally longer."""
        node = p.cfg.cpu_node
        running = sum(1 for q in self.processes if q.alive and q.started and q.cfg.cpu_node == node)
        return max(1.0, running / self.nodes[node].cpus)

    def _process_step(self, p: Process) -> None:
        if not p.alive:
            return
        if not p.started:
            p.started = True
            for group in self._psi_groups(p):
                group.task_start(p.pid, p.clock)
        self.now = p.clock
        n = CHUNK
        if p.cfg.accesses is not None:
            n = min(n, p.cfg.accesses - p.stats["accesses"])
        if self.run_cfg.accesses is not None:
            n = min(n, self.run_cfg.accesses - self.total_accesses)
        if n > 0:
            self._run_chunk(p, n)
        if p.pages_over_high and p.alive:  # the return to user space
            nr, p.pages_over_high = p.pages_over_high, 0
            self.memcg.handle_over_high(p, nr)
        if p.alive and (
            (p.cfg.accesses is not None and p.stats["accesses"] >= p.cfg.accesses)
            or (p.cfg.stop_ns is not None and p.clock >= p.cfg.stop_ns)
        ):
            self.exit_process(p, "exited")
        if p.alive:
            self._schedule(p.clock, PROCESS, p.pid)

    def _run_chunk(self, p: Process, n: int) -> None:
        """Run accesses until the chunk ends, the process has used its
        timeslice, or the allocator sends it to sleep; what is left of the
        chunk waits in p.pending for the next step."""
        chunk, p.pending = p.pending or p.stream.next_chunk(n, p.clock), None
        pages, region, write = chunk.pages, chunk.region, chunk.write
        # the run's or the process's end may have come closer since this
        # chunk was generated: what lies beyond it is never run
        pages, region, write = pages[:n], region[:n], write[:n]
        n = len(pages)
        folios = self.folios
        slice_end = p.clock + TIMESLICE_NS
        pos = 0
        loops = 0
        while pos < n and p.alive:
            if p.clock >= slice_end:
                p.pending = AccessChunk(pages[pos:], region[pos:], write[pos:])
                break
            # kswapd and writeback run beside the process: bring them to its
            # time before it looks at what is resident
            self._catch_up(p.clock)
            self.now = p.clock
            rest = pages[pos:]
            missing = np.flatnonzero(folios.node[rest] < 0)
            uniq, first = np.unique(rest[missing], return_index=True)
            order = np.argsort(first)
            new, new_pos = uniq[order], missing[first[order]]
            cut = self._timeslice_cut(p, rest, new, new_pos, slice_end - p.clock)
            new, new_pos = new[new_pos < cut], new_pos[new_pos < cut]
            if len(new):
                got = self.allocator.allocate(p, new)
                if got == 0 and p.sleep_until is not None:
                    # it yields (to a woken kswapd) or sleeps (on writeback): resume here later
                    p.pending = AccessChunk(pages[pos:], region[pos:], write[pos:])
                    p.clock, p.sleep_until = p.sleep_until, None
                    break
                if got == 0:
                    loops += 1
                    if loops > MAX_SLOWPATH_LOOPS:
                        raise SimulationError(f"process {p.cfg.name!r}: the allocator looped {loops} times without progress")
                    continue  # reclaim ran: residency changed, look again
                if got < len(new):
                    cut = int(new_pos[got])
                new, new_pos = new[:got], new_pos[:got]
                self._fault_in(p, new, region[pos + new_pos], write[pos + new_pos])
            self._account_accesses(p, pages[pos : pos + cut], region[pos : pos + cut], write[pos : pos + cut], len(new))
            pos += cut
        p.stats["accesses"] += pos
        self.total_accesses += pos

    def _timeslice_cut(self, p: Process, rest: np.ndarray, new: np.ndarray, new_pos: np.ndarray, budget_ns: int) -> int:
        """How many of the accesses in `rest` fit in what is left of the
        timeslice, counting the expected cost of each first fault."""
        f = self.folios
        costs = self.cfg.costs
        per_access = np.full(len(rest), costs.access_ns, np.float64)
        if len(new):
            anon = f.type[new] == LRU_ANON
            swapin = anon & f.in_swap[new]
            per_access[new_pos] = np.where(
                swapin, self.swap_dev.latency_ns + self.swap_dev.ns_per_page,
                np.where(anon, costs.minor_fault_ns, self.backing_dev.latency_ns / READAHEAD_PAGES + self.backing_dev.ns_per_page),
            )
        elapsed = np.cumsum(per_access)
        # at least one access, so that a process always makes progress
        return max(1, int(np.searchsorted(elapsed, budget_ns, side="left")) + 1) if elapsed[-1] > budget_ns else len(rest)

    def _account_accesses(self, p: Process, pages: np.ndarray, region: np.ndarray, write: np.ndarray, nr_faults: int) -> None:
        """Hits only set bits: the accessed bit of the process's mapping, or
        folio_accessed for read()/write(); writes dirty the page."""
        f = self.folios
        rw = p.region_rw[region]
        mapped = ~rw
        if mapped.all():
            f.young[pages] |= p.region_young_bit[region]
        elif mapped.any():
            f.young[pages[mapped]] |= p.region_young_bit[region[mapped]]
        if write.any():
            self._mark_dirty(pages[write])
        if rw.any():
            self._folio_accessed(pages[rw])
        cost = (len(pages) - nr_faults) * self.cfg.costs.access_ns * self._cpu_share(p)
        p.clock += int(cost)

    def _mark_dirty(self, pages: np.ndarray) -> None:
        """A write dirties a file page; an anon page in the swap cache loses
        its swap slot (its copy in swap is stale now)."""
        f = self.folios
        newly = pages[(f.flags[pages] & PG_dirty) == 0]
        swapped = newly[f.in_swap[newly]]
        if len(swapped):
            swapped = np.unique(swapped)
            self.swap.free(len(swapped))
            self.memcg.uncharge_swap(swapped)
            f.in_swap[swapped] = False
            f.flags[swapped] &= np.uint16(~PG_swapcache & 0xFFFF)
        files = newly[f.type[newly] == LRU_FILE]
        f.flags[files] |= np.uint16(PG_dirty)
        f.dirtied_at[files] = self.now

    def wake_kswapd(self, nid: int) -> None:
        """wakeup_kswapd(), and the woken kswapd's first step on the heap."""
        if self.vmscan.wakeup_kswapd(nid, self.now):
            k = self.vmscan.kswapd[nid]
            self._schedule(k.next_time, KSWAPD, nid, k.generation)

    # ------------------------------------------------------------------
    # concurrency: kswapd and writeback run on their own, and are brought
    # up to a process's time whenever it allocates (so their work up to
    # that time is done before the allocation looks at free memory)
    # ------------------------------------------------------------------
    def _catch_up(self, until: int) -> None:
        """Run every kswapd step and writeback completion due by `until`,
        in time order."""
        while True:
            due = [(k.next_time, k.nid) for k in self.vmscan.kswapd if k.next_time is not None and k.next_time <= until]
            wb = self._writeback_heap[0][0] if self._writeback_heap else None
            if due and (wb is None or min(due)[0] <= wb):
                self._run_kswapd(min(due)[1], min(due)[0])
            elif wb is not None and wb <= until:
                self._complete_writeback_until(wb)
            else:
                return

    def _run_kswapd(self, nid: int, until: int) -> None:
        """kswapd's steps due by `until`; then its next step goes on the heap."""
        k = self.vmscan.kswapd[nid]
        while k.next_time is not None and k.next_time <= until:
            self.now = k.clock = max(k.clock, k.next_time)
            delay, spent = self.measure(self.vmscan.kswapd_step, k)
            k.clock += spent
            k.next_time = None if delay is None else k.clock + delay
        k.generation += 1
        if k.next_time is not None:
            self._schedule(k.next_time, KSWAPD, nid, k.generation)

    def _complete_writeback_until(self, until: int) -> None:
        while self._writeback_heap and self._writeback_heap[0][0] <= until:
            _, seq = heapq.heappop(self._writeback_heap)
            self.vmscan.writeback_done(self._writeback.pop(seq))

    # ------------------------------------------------------------------
    # faults
    # ------------------------------------------------------------------
    def _fault_in(self, p: Process, pages: np.ndarray, region: np.ndarray, write: np.ndarray) -> None:
        """The pages have frames: read them in (swap or file), tell the
        workingset code and the policy, and charge the fault. `region` and
        `write` describe each page's first access."""
        f = self.folios
        anon = f.type[pages] == LRU_ANON
        rw = p.region_rw[region]
        swapin = anon & f.in_swap[pages]
        minor = anon & ~swapin
        file_read = ~anon
        major = swapin | (file_read & ~rw)  # read() and write() are no faults
        f.flags[pages] = self.static_flags[pages] | np.where(swapin, PG_swapcache, 0).astype(np.uint16)
        f.data[pages] = 0
        f.young[pages] = np.where(rw, 0, p.region_young_bit[region])
        self._count_faults(p, pages, minor, major, swapin, file_read, rw)

        # A page write() brings in is no refault: filemap_add_folio() skips
        # workingset_refault() for __GFP_WRITE.
        refaulting = self.workingset.has_shadow(pages) & ~(file_read & rw & write)
        ghost = self.take_off_ghost_lists(pages)
        restored = self._refault(p, pages[refaulting], ghost[refaulting]) if refaulting.any() else 0
        self.workingset.forget(pages)
        for policy, sel in self.by_policy(pages):
            policy.folio_added(policy.ctx, pages[sel])

        nr_minor, nr_swapin, nr_file = (int(np.count_nonzero(m)) for m in (minor, swapin, file_read))
        p.clock += int(nr_minor * self.cfg.costs.minor_fault_ns * self._cpu_share(p))
        io_start = p.clock
        if nr_swapin:
            p.clock = self.swap_dev.read_sync(p.clock, nr_swapin, nr_swapin)
        if nr_file:
            # file faults and reads come with readahead: one request a window
            p.clock = self.backing_dev.read_sync(p.clock, nr_file, nr_file / READAHEAD_PAGES)
        wait = p.clock - io_start
        p.stats["io_wait_ns"] += wait
        if self.events.enabled:
            self._trace_fault_in(p, pages, major, minor, io_start, wait)
        # PSI counts the wait for refaults of the workingset (the restored
        # ones: PG_workingset set on refault) as a memory stall
        if restored:
            self.memstall(p, io_start, wait * restored // (nr_swapin + nr_file))
        self.now = p.clock

    def _trace_fault_in(self, p: Process, pages: np.ndarray, major: np.ndarray, minor: np.ndarray,
                        start: int, wait: int) -> None:
        """page_fault for the batch, lasting the I/O the process waited for
        (a slice on its timeline), then mm_lru_insertion per folio (the
        kernel's trace_mm_lru_insertion in lru_add)."""
        self.events.emit("page_fault", start, pid=p.pid, comm=p.cfg.name, nr_major=int(np.count_nonzero(major)),
                         nr_minor=int(np.count_nonzero(minor)), nr=len(pages), dur_ns=wait)
        f = self.folios
        for folio, lru_type, lst in zip(pages.tolist(), f.type[pages].tolist(), self.lists.page_list[pages].tolist()):
            active = lst >= 0 and self.lists.queues[lst].active
            self.events.emit("mm_lru_insertion", self.now, pfn=folio, nid=int(f.node[folio]),
                             lru=("active_" if active else "inactive_") + LRU_TYPE_NAMES[lru_type])

    def _folio_accessed(self, folios: np.ndarray) -> None:
        """read()/write() accesses: folio_mark_accessed(), the policy's to see."""
        for policy, sel in self.by_policy(folios):
            if policy.folio_accessed is not None:
                policy.folio_accessed(policy.ctx, folios[sel])

    def _count_faults(self, p: Process, pages, minor, major, swapin, file_read, rw) -> None:
        p.stats["minflt"] += int(np.count_nonzero(minor))
        p.stats["majflt"] += int(np.count_nonzero(major))
        p.stats["read_io"] += int(np.count_nonzero(file_read & rw))
        for nid, sel in group_by(self.folios.node[pages]):
            nr_minor, nr_major = int(np.count_nonzero(minor[sel])), int(np.count_nonzero(major[sel]))
            nr_swapin, nr_read = int(np.count_nonzero(swapin[sel])), int(np.count_nonzero(file_read[sel]))
            # faults count in the faulting task's memcg (count_memcg_event_mm)
            lruvec = self.memcg_lruvec(p.cfg.memcg, nid)
            self.vmstat.count(lruvec, VmEvent.PGFAULT, nr_minor + nr_major)
            self.vmstat.count(lruvec, VmEvent.PGMAJFAULT, nr_major)
            self.vmstat.count(nid, VmEvent.PSWPIN, nr_swapin)
            self.vmstat.count(nid, VmEvent.PGPGIN, (nr_swapin + nr_read) * KIB_PER_PAGE)

    def _refault(self, p: Process, pages: np.ndarray, ghost: np.ndarray) -> int:
        """workingset_refault() for pages that had a shadow, charged to the
        faulting process. Returns how many had PG_workingset restored
        (thrashing, for PSI)."""
        activate, restore = self.workingset_refault(pages, ghost, self.swap.nr_free > 0)
        if self.events.enabled:
            distance = self.workingset.refault_distance(pages)
            for folio, dist, act, res in zip(pages.tolist(), distance.tolist(), activate.tolist(), restore.tolist()):
                self.events.emit("refault", self.now, pid=p.pid, comm=p.cfg.name, pfn=folio, distance=dist,
                                 activate=act, workingset=res)
        p.stats["refaults"] += len(pages)
        p.stats["workingset_refaults"] += int(np.count_nonzero(restore))
        key = self.folios.lruvec[pages].astype(np.int64) * 2 + self.folios.type[pages]
        for k, sel in group_by(key[activate]):
            self.vmscan.workingset_activate[k // 2, k % 2] += len(key[activate][sel])
        return int(np.count_nonzero(restore))

    # ------------------------------------------------------------------
    # freeing, writeback, the flusher
    # ------------------------------------------------------------------
    def release_frames(self, folios: np.ndarray) -> None:
        """Give the frames of folios back to their nodes."""
        f = self.folios
        self.memcg.uncharge(folios)
        for nid, sel in group_by(f.node[folios]):
            frames = f.frame[folios[sel]]
            self.nodes[nid].free(frames)
            self.vmstat.count(nid, VmEvent.PGFREE, len(frames))
        f.node[folios] = -1
        f.frame[folios] = -1
        f.lruvec[folios] = -1
        f.flags[folios] = 0
        f.young[folios] = 0

    def pageout(self, folios: np.ndarray, nid: int, lru_type: int, reclaim: bool = True) -> None:
        """pageout(): start writeback to swap or to the file; the completion
        is an event on the device's timeline."""
        f = self.folios
        f.flags[folios] &= np.uint16(~PG_dirty & 0xFFFF)
        f.flags[folios] |= np.uint16(PG_writeback | (PG_reclaim if reclaim else 0))
        device = self.swap_dev if lru_type == LRU_ANON else self.backing_dev
        done = device.write_async(self.now, len(folios))
        if lru_type == LRU_ANON:
            self.vmstat.count(nid, VmEvent.PSWPOUT, len(folios))
        self.vmstat.count(nid, VmEvent.PGPGOUT, len(folios) * KIB_PER_PAGE)
        if reclaim:
            self.vmstat.count(nid, VmEvent.NR_VMSCAN_WRITE, len(folios))
            if self.events.enabled:
                for folio in folios.tolist():
                    self.events.emit("mm_vmscan_write_folio", self.now, pfn=folio, nid=nid,
                                     reclaim_flags="RECLAIM_WB_ANON" if lru_type == LRU_ANON else "RECLAIM_WB_FILE")
        self._writeback_seq += 1
        self._writeback[self._writeback_seq] = folios.copy()
        heapq.heappush(self._writeback_heap, (done, self._writeback_seq))
        self._schedule(done, WRITEBACK)

    def wakeup_flusher(self) -> None:
        """wakeup_flusher_threads(WB_REASON_VMSCAN): write every dirty file
        page now."""
        self._flusher(periodic=False)

    def _flusher(self, periodic: bool) -> None:
        f = self.folios
        dirty = np.flatnonzero(((f.flags & (PG_dirty | PG_writeback)) == PG_dirty) & (f.type == LRU_FILE) & (f.node >= 0))
        if periodic:
            dirty = dirty[f.dirtied_at[dirty] <= self.now - DIRTY_EXPIRE_NS]
            if any(p.alive for p in self.processes):
                self._schedule(self.now + DIRTY_WRITEBACK_NS, FLUSHER)
        nodes = f.node[dirty]
        for nid in np.unique(nodes).tolist():
            self.pageout(dirty[nodes == nid], nid, LRU_FILE, reclaim=False)

    # ------------------------------------------------------------------
    # OOM and exit
    # ------------------------------------------------------------------
    def out_of_memory(self, current: Process | None, nid: int | None = None,
                      candidates: list[Process] | None = None) -> Process | None:
        """out_of_memory(): kill the process with the largest footprint
        (oom_badness: resident pages plus swap entries) among `candidates`
        (a memcg's processes; default all). Returns it, None if none.
        `current` is the allocating process, None when kswapd calls it
        (MGLRU's min_ttl) for node `nid`."""
        f = self.folios
        best, best_points = None, -1
        for p in self.processes if candidates is None else candidates:
            if not p.alive or not p.started:
                continue
            anon = p.anon_pages
            points = int(np.count_nonzero(f.node[anon] >= 0)) + int(np.count_nonzero(f.in_swap[anon]))
            if points > best_points:
                best, best_points = p, points
        if best is None:
            return None
        nid = next(iter(current.zonelists)) if current is not None else nid
        self.vmstat.count(nid, VmEvent.OOM_KILL)
        self.events.emit("mark_victim", self.now, pid=best.pid, comm=best.cfg.name, points=best_points)
        self.exit_process(best, "oom-killed")
        return best

    def exit_process(self, p: Process, reason: str) -> None:
        """exit_mmap(): the process's anon memory and swap entries go away;
        file pages stay in the page cache."""
        f = self.folios
        p.alive = False
        p.exit_reason = reason
        p.stats["exit_ns"] = p.clock
        if p.started:
            for group in self._psi_groups(p):
                group.task_exit(p.pid, p.clock)
        anon = p.anon_pages
        resident = anon[f.node[anon] >= 0]
        if len(resident):
            self.lists.delete(resident)
            for policy, sel in self.by_policy(resident):
                if policy.folio_removed is not None:
                    policy.folio_removed(policy.ctx, resident[sel])
        swapped = anon[f.in_swap[anon]]
        self.swap.free(len(swapped))
        self.memcg.uncharge_swap(swapped)
        f.in_swap[anon] = False
        self.workingset.forget(anon)
        if len(resident):
            self.release_frames(resident)

    def _sample(self) -> None:
        row = {"time_ns": self.now}
        for node in self.nodes:
            row[f"node{node.nid}_free"] = node.nr_free
            row[f"node{node.nid}_wmark_min"] = node.wmark.min
            row[f"node{node.nid}_wmark_low"] = node.wmark.low
            row[f"node{node.nid}_wmark_high"] = node.wmark.high
            sizes = np.array([self.lruvec_active_inactive(lruvec) for lruvec in self.node_lruvecs[node.nid]]).sum(axis=0)
            row[f"node{node.nid}_active_anon"], row[f"node{node.nid}_active_file"] = sizes[0].tolist()
            row[f"node{node.nid}_inactive_anon"], row[f"node{node.nid}_inactive_file"] = sizes[1].tolist()
        for memcg, cfg in enumerate(self.cfg.memcgs[1:], start=1):
            row[f"cgroup_{cfg.name}_current"] = self.memcg.usage[memcg]
        totals = self.vmstat.events.sum(axis=0)
        for name in ("pgscan_kswapd", "pgscan_direct", "pgsteal_kswapd", "pgsteal_direct", "pgmajfault",
                     "workingset_refault_anon", "workingset_refault_file", "allocstall_normal"):
            row[name] = int(totals[EVENT_INDEX[name]])
        row["stall_ns"] = sum(p.stats["stall_ns"] for p in self.processes)
        psi = self.psi.snapshot(self.now)
        for state in ("some", "full"):
            row[f"psi_{state}_avg10"] = psi[f"{state}_avg10"]
            row[f"psi_{state}_total_us"] = psi[f"{state}_total_us"]
        for p, group in zip(self.processes, self.process_psi):
            row[f"psi_{p.cfg.name}_some_total_us"] = group.snapshot(self.now)["some_total_us"]
        # each of the policy's resident lists by its own name (MGLRU's are
        # its generations): a picture of what the policy is doing
        for q in self.lists.queues:
            if not q.ghost:
                row[f"lruvec{q.lruvec}_{q.name}"] = row.get(f"lruvec{q.lruvec}_{q.name}", 0) + q.length
        self.samples.append(row)
