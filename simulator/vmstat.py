"""Event counters with the kernel's /proc/vmstat names, per lruvec.

Counters are plain int64 arrays indexed by the position of the name in
VM_EVENTS; vmscan and the fault paths bump them by index (cheap), reports
read them by name. As the kernel keeps its reclaim and fault events per
(memcg, node) (the lruvec's and the memcg's stats), so does this: a row per
lruvec. /proc/vmstat's per-node view sums a node's lruvecs, the
machine-wide one all of them, and a memcg's memory.stat its subtree's.
Events that belong to no memcg (kswapd's, allocstall) count in the node's
root lruvec, whose index is the node id.
"""

from __future__ import annotations

import numpy as np

VM_EVENTS = (
    "pgfault",
    "pgmajfault",
    "pgalloc_normal",
    "pgfree",
    "pgactivate",
    "pgdeactivate",
    "pgrefill",
    "pgrotated",
    "pgscan_kswapd",
    "pgscan_direct",
    "pgscan_anon",
    "pgscan_file",
    "pgsteal_kswapd",
    "pgsteal_direct",
    "pgsteal_anon",
    "pgsteal_file",
    "pgpgin",
    "pgpgout",
    "pswpin",
    "pswpout",
    "workingset_refault_anon",
    "workingset_refault_file",
    "workingset_activate_anon",
    "workingset_activate_file",
    "workingset_restore_anon",
    "workingset_restore_file",
    "pageoutrun",
    "kswapd_low_wmark_hit_quickly",
    "kswapd_high_wmark_hit_quickly",
    "allocstall_normal",
    "oom_kill",
    "nr_vmscan_write",
    "nr_vmscan_immediate_reclaim",
    "pgpolicy_invalid",  # victims the core refused (not a kernel counter: the policy misbehaved)
)
EVENT_INDEX = {name: i for i, name in enumerate(VM_EVENTS)}


class VmEvent:
    """VmEvent.PGSCAN_KSWAPD etc.: the index of each counter, as the kernel's
    enum vm_event_item (plain ints: they index arrays on hot paths)."""


for _i, _name in enumerate(VM_EVENTS):
    setattr(VmEvent, _name.upper(), _i)

# Events a policy may count itself through ctx.count_event(): the effects of
# its own list decisions, which the core cannot see.
POLICY_EVENTS = ("pgactivate", "pgdeactivate", "pgrotated", "pgrefill")


class VmStat:
    """Event counters per lruvec (lruvec = memcg * nr_nodes + nid)."""

    def __init__(self, nr_nodes: int, nr_memcgs: int = 1) -> None:
        self.nr_nodes = nr_nodes
        self.events = np.zeros((nr_memcgs * nr_nodes, len(VM_EVENTS)), np.int64)

    def count(self, lruvec: int, event: int, nr: int = 1) -> None:
        """Count in an lruvec; a node id names the node's root lruvec."""
        self.events[lruvec, event] += nr

    def node_events(self, node: int) -> np.ndarray:
        return self.events[node :: self.nr_nodes].sum(axis=0)

    def memcg_events(self, memcg: int) -> np.ndarray:
        """The memcg's own events, on every node (not its descendants')."""
        return self.events[memcg * self.nr_nodes : (memcg + 1) * self.nr_nodes].sum(axis=0)

    def node_dict(self, node: int) -> dict[str, int]:
        return dict(zip(VM_EVENTS, self.node_events(node).tolist()))

    def total_dict(self) -> dict[str, int]:
        return dict(zip(VM_EVENTS, self.events.sum(axis=0).tolist()))
