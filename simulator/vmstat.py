"""Event counters with the kernel's /proc/vmstat names, per node.

Counters are plain int64 arrays indexed by the position of the name in
VM_EVENTS; vmscan and the fault paths bump them by index (cheap), reports
read them by name. The machine-wide /proc/vmstat is the sum over nodes, as
the kernel sums its per-node and per-cpu counters.
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
    """Per-node event counters."""

    def __init__(self, nr_nodes: int) -> None:
        self.events = np.zeros((nr_nodes, len(VM_EVENTS)), np.int64)

    def count(self, node: int, event: int, nr: int = 1) -> None:
        self.events[node, event] += nr

    def node_dict(self, node: int) -> dict[str, int]:
        return dict(zip(VM_EVENTS, self.events[node].tolist()))

    def total_dict(self) -> dict[str, int]:
        return dict(zip(VM_EVENTS, self.events.sum(axis=0).tolist()))
