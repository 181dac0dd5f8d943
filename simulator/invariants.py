"""Consistency checks of the core's state, run between steps.

Always on in the project's tests, `--check-invariants` for users. Each check
is vectorised over all folios and frames, so it costs a few passes over the
arrays: fine for small machines, slow for big ones.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from hooks.types import PG_swapcache
from simulator.vmstat import VM_EVENTS, VmEvent

if TYPE_CHECKING:
    from simulator.machine import Machine


class InvariantError(AssertionError):
    """The simulated kernel reached a state the real one never may."""


def check_invariants(m: Machine) -> None:
    for check in (_frames_hold_one_folio, _resident_folios_on_one_list, _nonresident_folios_are_untouched,
                  _list_lengths, _swap, _counters):
        problem = check(m)
        if problem:
            raise InvariantError(f"at {m.now} ns: {problem}")


def _frames_hold_one_folio(m: Machine) -> str | None:
    f = m.folios
    for node in m.nodes:
        used = np.flatnonzero(node.frame_owner >= 0)
        owners = node.frame_owner[used]
        if len(used) + node.nr_free != node.pages:
            return f"node {node.nid}: {len(used)} frames in use + {node.nr_free} free != {node.pages}"
        if len(np.unique(owners)) != len(owners):
            return f"node {node.nid}: a folio occupies two frames"
        if np.any(f.node[owners] != node.nid) or np.any(f.frame[owners] != used):
            return f"node {node.nid}: a frame's folio does not point back at it"
        resident = int(np.count_nonzero(f.node == node.nid))
        if resident != len(used):
            return f"node {node.nid}: {resident} resident folios but {len(used)} frames in use"
    return None


def _resident_folios_on_one_list(m: Machine) -> str | None:
    """Each resident folio on one list of its lruvec and type; a folio out
    of memory on none, or on a ghost list of its type."""
    resident = m.folios.node >= 0
    on_list = m.lists.page_list >= 0
    on_resident_list = m.lists.on_resident_list(np.arange(m.folios.nr_pages))
    if np.any(resident & ~on_resident_list):
        return f"{int(np.count_nonzero(resident & ~on_resident_list))} resident folios are on no list but a ghost list"
    if np.any(~resident & on_resident_list):
        return f"{int(np.count_nonzero(~resident & on_resident_list))} folios on a list are not resident"
    lists = m.lists.page_list[on_list]
    queues = m.lists.queues
    wrong_type = m.folios.type[on_list] != np.array([q.lru_type for q in queues])[lists]
    wrong_lruvec = on_resident_list[on_list] & (m.folios.lruvec[on_list] != np.array([q.lruvec for q in queues])[lists])
    if np.any(wrong_type | wrong_lruvec):
        return f"{int(np.count_nonzero(wrong_type | wrong_lruvec))} folios are on a list of another lruvec or type"
    return None


def _nonresident_folios_are_untouched(m: Machine) -> str | None:
    """A page that is not in memory has no flags and no accessed bit: an
    access the core counted as a hit landed on an evicted page otherwise."""
    gone = m.folios.node < 0
    touched = gone & ((m.folios.flags != 0) | (m.folios.young != 0))
    if np.any(touched):
        return f"{int(np.count_nonzero(touched))} folios out of memory have flags or accessed bits"
    return None


def _list_lengths(m: Machine) -> str | None:
    counts = np.bincount(m.lists.page_list[m.lists.page_list >= 0], minlength=len(m.lists.queues))
    for lst, q in enumerate(m.lists.queues):
        live = m.lists.live(lst)
        if q.length != counts[lst] or len(live) != q.length:
            return f"list {q.name!r} of lruvec {q.lruvec}: length {q.length}, {counts[lst]} folios point at it, {len(live)} live entries"
    return None


def _swap(m: Machine) -> str | None:
    f = m.folios
    both = (f.node >= 0) & f.in_swap & ((f.flags & PG_swapcache) == 0)
    if np.any(both):
        return f"{int(np.count_nonzero(both))} folios are resident and in swap without being in the swap cache"
    if int(np.count_nonzero(f.in_swap)) != m.swap.used:
        return f"{int(np.count_nonzero(f.in_swap))} folios own swap slots but {m.swap.used} slots are used"
    return None


def _counters(m: Machine) -> str | None:
    ev = m.vmstat.events.sum(axis=0)
    for scan, steal in (
        (VmEvent.PGSCAN_KSWAPD, VmEvent.PGSTEAL_KSWAPD),
        (VmEvent.PGSCAN_DIRECT, VmEvent.PGSTEAL_DIRECT),
        (VmEvent.PGSCAN_ANON, VmEvent.PGSTEAL_ANON),
        (VmEvent.PGSCAN_FILE, VmEvent.PGSTEAL_FILE),
    ):
        if ev[steal] > ev[scan]:
            return f"{VM_EVENTS[steal]} {ev[steal]} exceeds {VM_EVENTS[scan]} {ev[scan]}"
    return None
