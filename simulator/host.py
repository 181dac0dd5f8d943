"""What a machine does for its policies, in either mode: the simulated
machine (simulator/machine.py) and exact cache mode (simulator/cache.py).

Both attach a policy the same way (bound once, through the ejection guard
when untrusted), keep the state ejection needs, answer the size views the
answer checks and the default decisions read, and run workingset_refault()
the same way, so a policy meets one core whichever mode runs it.

Policies attach per memcg, as cache_ext attaches one to a cgroup. Each
attached policy serves a domain: the lruvecs of the memcg it was attached
to and of its descendants without a policy of their own. The machine's
policy is the root memcg's, and serves every lruvec when no memcg has one.
The core asks the policy of the lruvec a call is about (lruvec_policy), and
splits a batch of folios among their lruvecs' policies (by_policy), so a
policy sees only its own folios, through a context of its own lruvecs.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, fields
from typing import Any

import numpy as np

from hooks.types import (
    REFAULT_ACTIVATE,
    REFAULT_WORKINGSET,
    PG_workingset,
    RefaultBatch,
)
from simulator.context import CoreContext
from simulator.ejection import guard_policy
from simulator.folios import group_by
from simulator.policy import BoundPolicy
from simulator.vmstat import VmEvent

# WORKINGSET_{REFAULT,ACTIVATE,RESTORE} of each LRU type
WORKINGSET_EVENTS = (
    (VmEvent.WORKINGSET_REFAULT_ANON, VmEvent.WORKINGSET_ACTIVATE_ANON, VmEvent.WORKINGSET_RESTORE_ANON),
    (VmEvent.WORKINGSET_REFAULT_FILE, VmEvent.WORKINGSET_ACTIVATE_FILE, VmEvent.WORKINGSET_RESTORE_FILE),
)


@dataclass
class PolicyDomain:
    """The lruvecs one attached policy serves."""

    memcg: int  # the memcg it is attached to: the root (0) for the machine's policy
    lruvecs: tuple[int, ...]
    # a fresh instance of the policy, for a descendant's ejected policy to
    # fall back to; None: the machine's fallback built-in takes its place
    factory: Callable[[], Any] | None
    policy: BoundPolicy | None = None


class PolicyHost:
    """A base for the machines. A subclass sets, before attach_policies():
    events, folios, lists, workingset, vmstat, lruvec_node, nr_lruvecs and
    now; and, with memcg policies, lruvec_memcg and memcg.ancestors."""

    def init_policy_host(self, requested: str, fallback: tuple[str, Callable[[], Any]]) -> None:
        # the trusted built-in that takes over when a policy is ejected
        self.fallback_name, self.fallback_factory = fallback
        self.requested_policy = requested
        self.ejections: list[dict[str, Any]] = []
        self.stall_offered: dict[tuple[int, int], int] = {}  # the stall watchdog's (simulator/ejection.py)
        self.folio_slots: np.ndarray | None = None  # scratch for ejection's duplicate check, made on first use
        self.domains: list[PolicyDomain] = []
        self.lruvec_domain = np.zeros(self.nr_lruvecs, np.int64)

    def attach_policies(self, name: str, plugin: Any, factory: Callable[[], Any] | None = None,
                        memcg_policies: dict[int, tuple[str, Callable[[], Any]]] | None = None) -> None:
        """Attach the machine's policy and each memcg's own (memcg: its
        name and a factory of instances): a memcg's lruvecs go to the
        policy of its nearest ancestor-or-self that has one."""
        memcg_policies = memcg_policies or {}
        owners = [0, *sorted(memcg_policies)]
        served: dict[int, list[int]] = {memcg: [] for memcg in owners}
        for lruvec in range(self.nr_lruvecs):
            owner = next(m for m in self.memcg.ancestors[self.lruvec_memcg[lruvec]] if m in served) \
                if memcg_policies else 0
            served[owner].append(lruvec)
            self.lruvec_domain[lruvec] = owners.index(owner)
        self.domains = [PolicyDomain(memcg, tuple(served[memcg]), factory if memcg == 0 else memcg_policies[memcg][1])
                        for memcg in owners]
        self.bind(self.domains[0], name, plugin)
        for domain in self.domains[1:]:
            self.bind(domain, memcg_policies[domain.memcg][0], domain.factory())

    def bind(self, domain: PolicyDomain, name: str, plugin: Any) -> BoundPolicy:
        """Bind a policy's hooks to serve a domain (through the ejection
        guard unless it is trusted) and let it set up its lists."""
        policy = BoundPolicy(name, plugin)
        trusted = not getattr(plugin, "reclaim_ext_untrusted", False)
        if not trusted:
            guard_policy(self, policy)
        policy.ctx = CoreContext(self, name, None if len(self.domains) == 1 else domain.lruvecs)
        domain.policy = policy
        attached = {"cgroup": self.cfg.memcgs[domain.memcg].name or "/"} if len(self.domains) > 1 else {}
        self.events.emit("policy_attached", self.now, policy=name, trusted=trusted,
                         hooks=list(policy.hooks_implemented), **attached)
        policy.policy_init(policy.ctx)
        return policy

    @property
    def policy(self) -> BoundPolicy:
        """The machine's policy: the root memcg's."""
        return self.domains[0].policy

    @property
    def ctx(self) -> CoreContext:
        """The machine's policy's context."""
        return self.domains[0].policy.ctx

    @property
    def policies(self) -> list[BoundPolicy]:
        return [domain.policy for domain in self.domains]

    def lruvec_policy(self, lruvec: int) -> BoundPolicy:
        """The policy serving an lruvec."""
        return self.domains[self.lruvec_domain[lruvec]].policy

    def by_policy(self, folios: np.ndarray) -> list[tuple[BoundPolicy, np.ndarray | slice]]:
        """The folios (resident, or refaulting into their lruvec) split among
        the policies serving them: each policy and its part (an index
        array or a slice into `folios`)."""
        if len(self.domains) == 1:
            return [(self.domains[0].policy, slice(None))]
        domains = self.lruvec_domain[self.folios.lruvec[folios]]
        return [(self.domains[d].policy, sel) for d, sel in group_by(domains)]

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
        advice = np.zeros(len(folios), np.int64)
        for policy, sel in self.by_policy(folios):
            if policy.on_refault is not None:
                answer = policy.on_refault(policy.ctx, folios[sel], _part(batch, sel))
                if answer is not None:
                    advice[sel] = np.asarray(answer, np.int64)
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


def _part(batch: RefaultBatch, sel: np.ndarray | slice) -> RefaultBatch:
    """The refault facts of one policy's part of a batch."""
    if isinstance(sel, slice):
        return batch
    return RefaultBatch(**{field.name: getattr(batch, field.name)[sel] for field in fields(batch)})
