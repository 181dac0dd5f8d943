"""The simulator's implementation of hooks.context.Context: the helpers a
policy calls, on folio ids, over the core's arrays."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from hooks.context import FolioIds
from hooks.types import POLICY_WRITABLE_FLAGS
from simulator.vmstat import EVENT_INDEX, POLICY_EVENTS

if TYPE_CHECKING:
    from simulator.machine import Machine

LOOK_AROUND_PAGES = 64  # MIN_LRU_BATCH: the neighbours lru_gen_look_around() scans

# popcount of the per-mapping accessed bits
_POPCOUNT = np.array([bin(i).count("1") for i in range(256)], np.int64)


def _ids(folios: FolioIds) -> np.ndarray:
    return np.asarray(folios, dtype=np.int64)


def _answer(folios: FolioIds, values: np.ndarray) -> FolioIds:
    """Scalars in, scalars out: a policy asking about one folio gets an int."""
    return values if isinstance(folios, np.ndarray) else values.item()


class PolicyContextError(ValueError):
    """A policy asked a helper for something it may not do."""


class CoreContext:
    """The helpers of one attached policy, over the lruvecs it serves: all
    of them, or with per-memcg policies those of its memcgs."""

    def __init__(self, machine: Machine, policy_name: str, lruvecs: tuple[int, ...] | None = None) -> None:
        self._m = machine
        self._folios = machine.folios
        self._lists = machine.lists
        self._policy_name = policy_name
        self.nr_nodes = machine.nr_nodes
        self.lruvecs = tuple(range(machine.nr_lruvecs)) if lruvecs is None else tuple(lruvecs)
        self._served = frozenset(self.lruvecs)

    # -- the machine ----------------------------------------------------
    def lruvec_node(self, lruvec: int) -> int:
        return self._m.lruvec_node[lruvec]

    def node_pages(self, nid: int) -> int:
        return self._m.node_pages(nid)

    def lruvec_memcg(self, lruvec: int) -> int:
        return self._m.lruvec_memcg[lruvec]

    def memcg_path(self, memcg: int) -> str:
        memcgs = self._m.cfg.memcgs
        if not 0 <= memcg < len(memcgs):
            raise PolicyContextError(f"memcg_path: {memcg} is not a memcg of this machine (0..{len(memcgs) - 1})")
        return memcgs[memcg].name

    def now(self) -> int:
        return self._m.now

    def sysctl(self, name: str) -> int:
        cfg = self._m.cfg
        values = {
            "vm.swappiness": cfg.swappiness,
            "vm.watermark_scale_factor": cfg.watermark_scale_factor,
            "lru_gen.min_ttl_ms": cfg.lru_gen_min_ttl_ms,
        }
        if name not in values:
            raise PolicyContextError(f"sysctl: no tunable {name!r} (known: {', '.join(values)})")
        return values[name]

    def random(self) -> float:
        return float(self._m.policy_rng.random())

    def trace(self, message: str) -> None:
        self._m.events.emit("bpf_trace_printk", self._m.now, policy=self._policy_name, msg=str(message))

    # -- folio facts ------------------------------------------------------
    def folio_type(self, folios: FolioIds) -> FolioIds:
        return _answer(folios, self._folios.type[_ids(folios)])

    def folio_lruvec(self, folios: FolioIds) -> FolioIds:
        return _answer(folios, self._folios.lruvec[_ids(folios)])

    def folio_flags(self, folios: FolioIds) -> FolioIds:
        return _answer(folios, self._folios.flags[_ids(folios)])

    def folio_set_flags(self, folios: FolioIds, mask: int) -> None:
        self._check_writable(mask)
        self._folios.flags[_ids(folios)] |= np.uint16(mask)

    def folio_clear_flags(self, folios: FolioIds, mask: int) -> None:
        self._check_writable(mask)
        self._folios.flags[_ids(folios)] &= np.uint16(~mask & 0xFFFF)

    def folio_data(self, folios: FolioIds) -> FolioIds:
        return _answer(folios, self._folios.data[_ids(folios)])

    def folio_set_data(self, folios: FolioIds, value: FolioIds) -> None:
        self._folios.data[_ids(folios)] = value

    def folio_mapcount(self, folios: FolioIds) -> FolioIds:
        return _answer(folios, self._folios.mapcount[_ids(folios)].astype(np.int64))

    # -- the rmap ---------------------------------------------------------
    def folio_referenced(self, folios: FolioIds) -> FolioIds:
        ids = _ids(folios)
        young = self._folios.young[ids]
        self._folios.young[ids] = 0
        self._m.charge_rmap(ids.size)
        return _answer(folios, _POPCOUNT[young])

    def walk_mm(self, lruvec: int, types: tuple[int, ...] = (0, 1)) -> np.ndarray:
        f = self._folios
        mapped = np.flatnonzero((f.lruvec == lruvec) & (f.mapcount > 0))
        if len(types) < 2:
            mapped = mapped[np.isin(f.type[mapped], types)]
        young = mapped[f.young[mapped] != 0]
        f.young[young] = 0
        self._m.charge(len(mapped) * self._m.cfg.costs.walk_ns)
        return young

    def look_around(self, folios: FolioIds) -> np.ndarray:
        f = self._folios
        ids = np.atleast_1d(_ids(folios))
        if ids.size == 0:
            return ids
        starts = np.unique(ids // LOOK_AROUND_PAGES) * LOOK_AROUND_PAGES
        block = (starts[:, None] + np.arange(LOOK_AROUND_PAGES)).ravel()
        block = block[block < f.nr_pages]
        block = block[(f.lruvec[block] == f.lruvec[ids[0]]) & (f.mapcount[block] > 0)]
        young = block[f.young[block] != 0]
        f.young[young] = 0
        self._m.charge(len(block) * self._m.cfg.costs.walk_ns)
        return young

    # -- lists --------------------------------------------------------------
    def list_create(self, lruvec: int, lru_type: int, active: bool, name: str) -> int:
        return self._lists.create(self._serves(lruvec, "list_create"), lru_type, bool(active), str(name))

    def ghost_list_create(self, lruvec: int, lru_type: int, name: str) -> int:
        return self._lists.create(self._serves(lruvec, "ghost_list_create"), lru_type, False, str(name), ghost=True)

    def _serves(self, lruvec: int, helper: str) -> int:
        """A policy attached to a memcg keeps to its lruvecs, as a cgroup's
        program sees only its cgroup's folios."""
        if lruvec not in self._served:
            raise PolicyContextError(f"{helper}: lruvec {lruvec} is not one this policy serves (ctx.lruvecs)")
        return lruvec

    def list_set_active(self, lst: int, active: bool) -> None:
        q = self._lists.queues[lst]
        if q.ghost:
            raise PolicyContextError(f"list_set_active: {q.name!r} is a ghost list, whose folios are out of memory")
        q.active = bool(active)

    def list_add(self, lst: int, folios: FolioIds, tail: bool = False) -> None:
        ids = np.atleast_1d(_ids(folios))
        if ids.size == 0:
            return
        q = self._lists.queues[lst]
        if q.ghost:
            self._check_ghosts(q, ids)
        elif ids.size == 1:  # exact cache mode's every call: scalars are cheaper than arrays
            folio = ids[0]
            if self._folios.lruvec[folio] != q.lruvec or self._folios.type[folio] != q.lru_type:
                raise PolicyContextError(f"list_add: folio {folio} is of another lruvec or type than list {q.name!r}")
        elif ((self._folios.lruvec[ids] != q.lruvec) | (self._folios.type[ids] != q.lru_type)).any():
            raise PolicyContextError(f"list_add: folios of another lruvec or type than list {q.name!r}")
        self._lists.add(lst, ids, tail)

    def _check_ghosts(self, q, ids: np.ndarray) -> None:
        """A ghost list takes folios out of memory or leaving it (handed to
        folio_evicted, so on no resident list), of its type."""
        if (self._folios.type[ids] != q.lru_type).any():
            raise PolicyContextError(f"list_add: folios of another type than ghost list {q.name!r}")
        if self._lists.on_resident_list(ids).any():
            raise PolicyContextError(f"list_add: ghost list {q.name!r} takes only folios that left memory, "
                                     "not folios on a resident list")

    def list_del(self, folios: FolioIds) -> None:
        self._lists.delete(np.atleast_1d(_ids(folios)))

    def list_len(self, lst: int) -> int:
        return self._lists.length(lst)

    def list_peek(self, lst: int, n: int, tail: bool = True) -> np.ndarray:
        return self._lists.peek(lst, int(n), tail)

    def folio_list(self, folios: FolioIds) -> FolioIds:
        return _answer(folios, self._lists.page_list[_ids(folios)].astype(np.int64))

    # -- accounting ---------------------------------------------------------
    def count_event(self, name: str, lruvec: int, nr: int) -> None:
        if name not in POLICY_EVENTS:
            raise PolicyContextError(f"count_event: a policy may count only {', '.join(POLICY_EVENTS)}, not {name!r}")
        self._m.vmstat.count(self._serves(lruvec, "count_event"), EVENT_INDEX[name], int(nr))
        if name == "pgrefill":  # folios sorted while scanning cost what scanned ones do
            self._m.charge(int(nr) * self._m.cfg.costs.scan_ns)
        if name == "pgactivate" and self._m.events.enabled:  # the kernel's trace_mm_lru_activate, per batch here
            self._m.events.emit("mm_lru_activate", self._m.now, lruvec=lruvec, nr=int(nr), policy=self._policy_name)

    def workingset_age_nonresident(self, lruvec: int, nr: int) -> None:
        self._m.workingset.age_nonresident(self._serves(lruvec, "workingset_age_nonresident"), int(nr))

    def wakeup_flusher_threads(self) -> None:
        self._m.wakeup_flusher()

    # ----------------------------------------------------------------------
    @staticmethod
    def _check_writable(mask: int) -> None:
        if mask & ~POLICY_WRITABLE_FLAGS:
            raise PolicyContextError(f"folio flags {mask & ~POLICY_WRITABLE_FLAGS:#x} belong to the core")
