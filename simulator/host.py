"""What a machine does for its policy, in either mode: the simulated machine
(simulator/machine.py) and exact cache mode (simulator/cache.py).

Both attach a policy the same way (bound once, through the ejection guard
when untrusted), keep the state ejection needs, answer the size views the
answer checks and the default decisions read, and run workingset_refault()
the same way, so a policy meets one core whichever mode runs it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from hooks.types import (
    REFAULT_ACTIVATE,
    REFAULT_WORKINGSET,
    PG_workingset,
    RefaultBatch,
)
from simulator.ejection import guard_policy
from simulator.folios import group_by
from simulator.policy import BoundPolicy
from simulator.vmstat import VmEvent

# WORKINGSET_{REFAULT,ACTIVATE,RESTORE} of each LRU type
WORKINGSET_EVENTS = (
    (VmEvent.WORKINGSET_REFAULT_ANON, VmEvent.WORKINGSET_ACTIVATE_ANON, VmEvent.WORKINGSET_RESTORE_ANON),
    (VmEvent.WORKINGSET_REFAULT_FILE, VmEvent.WORKINGSET_ACTIVATE_FILE, VmEvent.WORKINGSET_RESTORE_FILE),
)


class PolicyHost:
    """A base for the machines. A subclass sets, before attach_policy():
    ctx, events, folios, lists, workingset, vmstat, lruvec_node and now."""

    def init_policy_host(self, requested: str, fallback: tuple[str, Callable[[], Any]]) -> None:
        # the trusted built-in that takes over when a policy is ejected
        self.fallback_name, self.fallback_factory = fallback
        self.requested_policy = requested
        self.ejections: list[dict[str, Any]] = []
        self.stall_offered: dict[tuple[int, int], int] = {}  # the stall watchdog's (simulator/ejection.py)
        self.folio_slots: np.ndarray | None = None  # scratch for ejection's duplicate check, made on first use

    def attach_policy(self, name: str, plugin: Any, trusted: bool) -> None:
        """Bind the policy's hooks (through the ejection guard unless it is
        trusted) and let it set up its lists."""
        self.policy = BoundPolicy(name, plugin)
        if not trusted:
            guard_policy(self, self.policy)
        self.events.emit("policy_attached", self.now, policy=name, trusted=trusted,
                         hooks=list(self.policy.hooks_implemented))
        self.policy.policy_init(self.ctx)

    def lruvec_type_sizes(self, lruvec: int) -> tuple[int, int]:
        return self.lists.type_sizes(lruvec)

    def lruvec_active_inactive(self, lruvec: int) -> tuple[tuple[int, int], tuple[int, int]]:
        return self.lists.active_inactive(lruvec)

    def take_off_ghost_lists(self, folios: np.ndarray) -> np.ndarray:
        """Folios coming back into memory leave the ghost lists they were on;
        returns the list of each (-1 for none), for refault.ghost."""
        ghost = self.lists.page_list[folios].astype(np.int64)
        if (ghost >= 0).any():
            self.lists.delete(folios[ghost >= 0])
        return ghost

    def workingset_refault(self, folios: np.ndarray, ghost: np.ndarray, can_swap: bool) -> tuple[np.ndarray, np.ndarray]:
        """workingset_refault() for folios that had a shadow entry: the
        kernel's verdict, the policy's answer, PG_workingset, the counters
        and the nonresident clock. Returns per folio whether the policy
        activated it and whether it restored PG_workingset."""
        f, ws = self.folios, self.workingset
        recent = ws.test_recent(folios, f.type[folios], self.lruvec_active_inactive, can_swap)
        batch = RefaultBatch(shadow=ws.shadow_value[folios].copy(), distance=ws.refault_distance(folios),
                             recent=recent, workingset=ws.shadow_workingset[folios].copy(), ghost=ghost)
        advice = self.policy.on_refault(self.ctx, folios, batch) if self.policy.on_refault else None
        advice = np.zeros(len(folios), np.int64) if advice is None else np.asarray(advice, np.int64)
        activate = (advice & REFAULT_ACTIVATE) != 0
        restore = (advice & REFAULT_WORKINGSET) != 0
        f.flags[folios[restore]] |= np.uint16(PG_workingset)
        key = f.lruvec[folios].astype(np.int64) * 2 + f.type[folios]
        for k, sel in group_by(key):
            lruvec, lru_type = k // 2, k % 2
            nr_activate = int(np.count_nonzero(activate[sel]))
            self.vmstat.count(lruvec, WORKINGSET_EVENTS[lru_type][0], len(folios[sel]))
            self.vmstat.count(lruvec, WORKINGSET_EVENTS[lru_type][1], nr_activate)
            self.vmstat.count(lruvec, WORKINGSET_EVENTS[lru_type][2], int(np.count_nonzero(restore[sel])))
            if nr_activate:
                ws.age_nonresident(lruvec, nr_activate)
        return activate, restore
