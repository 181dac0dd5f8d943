"""Exact cache mode: a trace of page-cache reads against a memory of exactly
N pages, one request at a time, as a cache simulator runs it.

There are no watermarks, no kswapd, no devices and no processes. Each
request is a read() of one page of one file; the page ids are the trace's
ids renumbered densely in order of first request. A request for a resident
page is a hit: the kernel sees the read (folio_mark_accessed), so hits go
to folio_accessed, in order, in batches between misses. A miss brings the
page in:

  1. lookup: the shadow entry is found, the folio taken off the ghost list
     it was on, and on_refault() called with the folio already holding its
     new frame (so the policy may mark it), before any room is made, as a
     cache simulator's find() comes before its evict(). (The kernel calls
     workingset_refault() after the allocation that reclaimed; here a
     ghost hit can steer the eviction it causes, as ARC's and S3-FIFO's
     do.)
  2. eviction, when the other N pages are all resident: select_victims()
     with nr_to_scan = nr_to_reclaim = 1, called again until it names a
     victim; when it names none, age() (if the policy has it) is asked to
     rebalance its lists (request.balance), as at the end of shrink_lruvec. Every victim it names leaves
     memory (folio_evicted, a shadow entry).
  3. folio_added().

A miss is not also an access: the request that brings a page in is not a
use of it, as in cache simulators (libCacheSim inserts an object with no
hit counted). The kernel differs here: read() marks the folio it just added
accessed (folio_mark_accessed), which is why its inactive list needs two
uses to activate a folio; a policy that counts uses sees one fewer here.

Virtual time counts requests. The policy meets the same core it meets in
the simulated machine: the same context, lists, shadow entries, answer
checks and ejection.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from hooks.types import LRU_FILE, SWAP_CLUSTER_MAX, ReclaimReason, ScanRequest, Victims
from simulator.config import MachineConfig, NodeConfig
from simulator.errors import SimulationError
from simulator.events import EventStream
from simulator.folios import FolioTable, LruLists
from simulator.host import PolicyHost
from simulator.lru import ClassicLRU
from simulator.vmscan import DEF_PRIORITY
from simulator.vmstat import VmEvent, VmStat
from simulator.workingset import NO_SHADOW, Workingset

LRUVEC = 0  # one node, one lruvec
# select_victims() and age() calls one eviction may take before the run
# stops as a livelock: far above what a CLOCK hand needs (one call per
# second chance, a pass over memory at most) for the memories a trace fits
MAX_CALLS_PER_EVICTION = 1 << 22
NO_GHOST = np.full(1, -1, np.int64)
FIRST_WINDOW = 64  # requests looked at for the next miss, doubled while all hit


class CacheLivelock(SimulationError):
    """A trusted policy gave no victim for a whole pass and more."""


class ExactCache(PolicyHost):
    """A memory of `cache_pages` frames replaying page ids `ids` (dense,
    0..max) under a policy."""

    def __init__(
        self,
        ids: np.ndarray,
        cache_pages: int,
        policy_name: str,
        policy_plugin: Any,
        fallback: tuple[str, Callable[[], Any]] = ("lru", ClassicLRU),
        seed: int = 0,
    ) -> None:
        if cache_pages < 1:
            raise ValueError(f"a cache holds at least one page, not {cache_pages}")
        self.ids = np.ascontiguousarray(ids, np.int64)
        nr_pages = int(self.ids.max()) + 1 if self.ids.size else 0
        self.cache_pages = cache_pages
        self.cfg = MachineConfig(nodes=(NodeConfig(cache_pages),), processes=())
        self.now = 0
        self.nr_nodes = 1
        self.nr_lruvecs = 1
        self.lruvec_node = [0]
        self.lruvec_memcg = [0]
        self.events = EventStream()
        self.policy_rng = np.random.default_rng(np.random.SeedSequence(seed).spawn(1)[0])
        self.folios = FolioTable(nr_pages, np.full(nr_pages, LRU_FILE, np.int8))
        self.lists = LruLists(self.folios)
        self.workingset = Workingset(nr_pages, 1)
        self.vmstat = VmStat(1)
        self.nr_resident = 0
        # counted as plain ints while the run goes, into vmstat at its end
        self.misses = self.nr_scanned = self.nr_evicted = self.nr_refaults = 0
        self.init_policy_host(policy_name, fallback)
        self.attach_policies(policy_name, policy_plugin)
        self._request = ScanRequest(ReclaimReason.DIRECT, node=0, lruvec=LRUVEC, priority=DEF_PRIORITY,
                                    nr_to_reclaim=1, may_swap=False, lru_type=LRU_FILE, nr_to_scan=1)

    # -- what the core context and the ejection guard ask of a machine ------
    def node_pages(self, nid: int) -> int:
        return self.cache_pages

    def charge(self, ns: int) -> None:
        """Work costs no virtual time here: time counts requests."""

    def charge_rmap(self, nr: int) -> None:
        """As charge()."""

    # ----------------------------------------------------------------------
    def run(self, progress: Callable[[float], None] | None = None,
            after_request: Callable[[int, bool], None] | None = None) -> None:
        """Replay every request. `after_request(index, hit)`, for tests and
        debugging, is called after each request, hits then delivered one
        at a time so that the policy's state can be looked at between them."""
        if after_request is not None:
            self._step(after_request)
            return
        ids, n = self.ids, len(self.ids)
        lruvec = self.folios.lruvec
        i, window = 0, FIRST_WINDOW
        next_report = 0
        while i < n:
            chunk = ids[i : i + window]
            missing = lruvec[chunk] < 0
            first_miss = int(missing.argmax()) if missing.any() else len(chunk)
            if first_miss:
                self._hits(chunk[:first_miss])
            i += first_miss
            if first_miss == len(chunk):
                window *= 2
                continue
            self.now = i
            self._miss(int(chunk[first_miss]))
            i += 1
            window = max(FIRST_WINDOW, 2 * first_miss)
            if progress is not None and i >= next_report:
                progress(i / n)
                next_report = i + max(n // 100, 1)
        self.now = n
        self._count_events()

    def _step(self, after_request: Callable[[int, bool], None]) -> None:
        """run(), one request at a time."""
        for i, folio in enumerate(self.ids.tolist()):
            self.now = i
            hit = self.folios.lruvec[folio] >= 0
            if hit:
                self._hits(self.ids[i : i + 1])
            else:
                self._miss(folio)
            after_request(i, bool(hit))
        self.now = len(self.ids)
        self._count_events()

    def _hits(self, folios: np.ndarray) -> None:
        if self.policy.folio_accessed is not None:
            self.policy.folio_accessed(self.policy.ctx, folios)

    def _miss(self, folio: int) -> None:
        self.misses += 1
        batch = np.array([folio], np.int64)
        f, ws = self.folios, self.workingset
        if self.lists.page_list[folio] >= 0:  # on a ghost list: nothing else is out of memory on a list
            ghost = self.take_off_ghost_lists(batch)
        else:
            ghost = NO_GHOST
        f.node[folio], f.lruvec[folio], f.flags[folio], f.data[folio] = 0, LRUVEC, 0, 0
        if ws.shadow_age[folio] != NO_SHADOW:
            if self.policy.on_refault is not None:
                self.workingset_refault(batch, ghost, can_swap=False)
            else:  # the verdict would go unheard: count the refault only
                self.nr_refaults += 1
            ws.shadow_age[folio] = NO_SHADOW
        if self.nr_resident == self.cache_pages:
            self._evict_one()
        self.nr_resident += 1
        self.policy.folio_added(self.policy.ctx, batch)

    def _evict_one(self) -> None:
        """Ask until the policy names a victim; evict what it names."""
        sc = self._request
        for _ in range(MAX_CALLS_PER_EVICTION):
            sc.lru_type, sc.nr_to_scan, sc.balance = LRU_FILE, 1, False
            victims, nr_scanned = self._victims(self.policy.select_victims(self.policy.ctx, sc))
            self.nr_scanned += nr_scanned
            if victims.size:
                self._evict(victims)
                return
            if self.policy.age is not None:  # shrink_lruvec's closing aging, when the lists are out of balance
                sc.nr_to_scan, sc.balance = SWAP_CLUSTER_MAX, True
                self.policy.age(self.policy.ctx, sc)
        raise CacheLivelock(f"policy {self.policy.name!r} named no victim in {MAX_CALLS_PER_EVICTION} calls")

    def _victims(self, answer: np.ndarray | Victims | None) -> tuple[np.ndarray, int]:
        """The victims and how many folios the policy looked at. An
        untrusted policy's answer was checked by its guard; a trusted
        one's bad answer is a bug of the simulator."""
        folios, nr_scanned = (answer.folios, answer.nr_scanned) if isinstance(answer, Victims) else (answer, None)
        folios = np.asarray(folios if folios is not None else (), np.int64).ravel()
        if folios.size and not self.policy.answers_checked:
            if folios.size == 1:
                bad = self.folios.lruvec[folios[0]] != LRUVEC or self.lists.page_list[folios[0]] < 0
            else:
                bad = ((self.folios.lruvec[folios] != LRUVEC) | (self.lists.page_list[folios] < 0)).any()
                bad = bad or np.unique(folios).size != folios.size
            if bad:
                raise SimulationError(f"policy {self.policy.name!r} named victim {int(folios[0])} "
                                      "that is not resident on a list, or a victim twice")
        return folios, max(int(nr_scanned or 0), len(folios))

    def _evict(self, victims: np.ndarray) -> None:
        """Isolate, free, leave shadow entries: shrink_folio_list() of
        clean page cache, which always succeeds."""
        f = self.folios
        self.lists.delete(victims)
        values = self.policy.folio_evicted(self.policy.ctx, victims) if self.policy.folio_evicted else None
        values = np.zeros(len(victims), np.int64) if values is None else np.asarray(values, np.int64)
        self.workingset.evict(victims, LRUVEC, np.zeros(len(victims), bool), values)
        gone = int(victims[0]) if len(victims) == 1 else victims  # a scalar index is cheaper
        f.node[gone], f.lruvec[gone], f.flags[gone], f.data[gone], f.young[gone] = -1, -1, 0, 0, 0
        self.nr_resident -= len(victims)
        self.nr_evicted += len(victims)

    def _count_events(self) -> None:
        """The vmstat counters of the run, counted once at its end (a
        count per miss would cost the replay a tenth of its time): every
        miss a major fault, every eviction direct reclaim of page cache."""
        for events, nr in (((VmEvent.PGFAULT, VmEvent.PGMAJFAULT), self.misses),
                           ((VmEvent.PGSCAN_DIRECT, VmEvent.PGSCAN_FILE), self.nr_scanned),
                           ((VmEvent.PGSTEAL_DIRECT, VmEvent.PGSTEAL_FILE), self.nr_evicted),
                           ((VmEvent.WORKINGSET_REFAULT_FILE,), self.nr_refaults)):
            for event in events:
                self.vmstat.count(0, event, nr)
