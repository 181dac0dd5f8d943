"""The values that cross the hook interface: folio flags, LRU types, the scan
request and the answers a policy gives.

Folios are named by integer ids (numpy int64 arrays when batched); a policy never
holds an object of the core. Everything here is plain data.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import IntEnum
from typing import NamedTuple

import numpy as np

# --------------------------------------------------------------------------
# LRU types, as the kernel's is_file_lru()/LRU_GEN_ANON/LRU_GEN_FILE
# --------------------------------------------------------------------------

LRU_ANON = 0
LRU_FILE = 1
LRU_TYPES = (LRU_ANON, LRU_FILE)
LRU_TYPE_NAMES = ("anon", "file")

SWAP_CLUSTER_MAX = 32  # the kernel's reclaim batch

# --------------------------------------------------------------------------
# Folio flags (a uint16 per folio)
#
# The low byte belongs to the core: the policy reads it and may change only
# PG_workingset and PG_reclaim (the two the kernel's LRU code itself sets).
# The high byte is the policy's own: the classic LRU keeps PG_active and
# PG_referenced there, MGLRU its own bits.
# --------------------------------------------------------------------------

PG_dirty = 1 << 0
PG_writeback = 1 << 1
PG_reclaim = 1 << 2
PG_swapbacked = 1 << 3  # anon (and shmem): written to swap, not to a file
PG_swapcache = 1 << 4  # has a swap slot while resident
PG_unevictable = 1 << 5
PG_workingset = 1 << 6
VM_EXEC = 1 << 7  # mapped by an executable mapping (the VM_EXEC file exception)

PG_policy0 = 1 << 8
PG_policy1 = 1 << 9
PG_policy2 = 1 << 10
PG_policy3 = 1 << 11
PG_policy4 = 1 << 12
PG_policy5 = 1 << 13
PG_policy6 = 1 << 14
PG_policy7 = 1 << 15

POLICY_FLAGS = 0xFF00
POLICY_WRITABLE_FLAGS = POLICY_FLAGS | PG_workingset | PG_reclaim


class ReclaimReason(IntEnum):
    """Who asked for reclaim: the kernel's current_is_kswapd(), a direct
    reclaimer in the allocator slow path, a memcg over its limit, or
    memory.reclaim."""

    KSWAPD = 0
    DIRECT = 1
    MEMCG = 2
    PROACTIVE = 3


class PutbackReason(IntEnum):
    """Why a victim came back from shrink_folio_list instead of being freed."""

    ACTIVATE = 0  # activate_locked: under writeback, dirty and not written, no swap space
    KEEP = 1  # keep: writeback just started (pageout), or writing is not allowed; stays inactive
    ROTATE = 2  # writeback ended on a PG_reclaim folio: folio_rotate_reclaimable (tail)


# on_refault's answer: what the policy did with a refaulting folio, bit flags.
REFAULT_ACTIVATE = 1  # placed it active: WORKINGSET_ACTIVATE, ages the nonresident clock
REFAULT_WORKINGSET = 2  # restored PG_workingset: WORKINGSET_RESTORE


@dataclass
class ReclaimStat:
    """The outcome of one shrink_folio_list batch (the kernel's struct
    reclaim_stat, the figures lru_note_cost and the tracepoints use)."""

    nr_taken: int = 0
    nr_reclaimed: int = 0
    nr_pageout: int = 0
    nr_activate: tuple[int, int] = (0, 0)  # per LRU type
    nr_writeback: int = 0
    nr_unqueued_dirty: int = 0


@dataclass
class ScanRequest:
    """One reclaim invocation on one lruvec as the policy sees it: the
    kernel's struct scan_control plus what prepare_scan_control derives.

    The core fills the fields before each hook call; `lru_type` and
    `nr_to_scan` describe the current call of age() or select_victims(), and
    `stat` the last shrink_folio_list batch when folio_putback() is called.
    A policy reads them; it does not change them.
    """

    reason: ReclaimReason
    node: int
    lruvec: int
    priority: int
    nr_to_reclaim: int
    nr_scanned: int = 0
    nr_reclaimed: int = 0
    may_swap: bool = True
    may_writepage: bool = True
    swappiness: int = 60
    # prepare_scan_control's view of the node and the lruvec
    free_pages: int = 0
    high_wmark: int = 0
    nr_swap_pages: int = 0
    # PGDAT_DIRTY: kswapd found the node's reclaimable file folios all dirty
    # and not queued for I/O, so it writes dirty file folios itself
    node_dirty: bool = False
    # WORKINGSET_ACTIVATE_{ANON,FILE} on this lruvec since the end of the last
    # reclaim run (the kernel's snapshot_refaults)
    refaults_since_snapshot: tuple[int, int] = (0, 0)
    # Since 1.3: the memcg whose subtree is reclaimed (the kernel's
    # sc->target_mem_cgroup): 0, the root, for kswapd and direct reclaim;
    # the memcg over memory.max or written memory.reclaim otherwise. The
    # core has already applied memory.min/low protection relative to it.
    target_memcg: int = 0
    # the current call
    lru_type: int = LRU_FILE
    nr_to_scan: int = 0
    balance: bool = False  # age(): only if the policy's lists are out of balance
    stat: ReclaimStat = field(default_factory=ReclaimStat)

    @property
    def is_kswapd(self) -> bool:
        return self.reason == ReclaimReason.KSWAPD

    @property
    def global_reclaim(self) -> bool:
        return self.reason in (ReclaimReason.KSWAPD, ReclaimReason.DIRECT)

    @property
    def can_swap(self) -> bool:
        """Anon can be reclaimed: swap is allowed and has free slots."""
        return self.may_swap and self.nr_swap_pages > 0


@dataclass(frozen=True)
class ScanDecision:
    """should_reclaim's answer: how many pages of each type to scan for
    eviction and how many to age this round, indexed by LRU type.

    For the classic LRU these are get_scan_count's nr[LRU_INACTIVE_*] and
    nr[LRU_ACTIVE_*]; the core walks them in SWAP_CLUSTER_MAX chunks the way
    shrink_lruvec does."""

    scan: tuple[int, int]
    age: tuple[int, int] = (0, 0)
    # Since 1.1: the least the core offers select_victims() in one call (it
    # may offer more when several rounds of the loop cannot reach the stop).
    # The classic LRU works in SWAP_CLUSTER_MAX chunks; MGLRU's
    # evict_folios() takes its whole budget and stops itself after
    # MIN_LRU_BATCH isolated.
    batch: int = SWAP_CLUSTER_MAX


class Victims(NamedTuple):
    """select_victims' answer when the policy looked at more folios than it
    returns: `nr_scanned` is what it isolated (pgscan).

    Since 1.1: `lru_type` says the policy scanned the other type than the
    request named (MGLRU picks the type per batch: get_type_to_scan,
    isolate_folios); `nr_used` says how much of ``request.nr_to_scan`` the
    call used up, when that is not all of it (MGLRU's scan_folios stops
    after MIN_LRU_BATCH isolated; its budget counts sorted folios too). A
    call that used nothing ends the scan of that list for the round."""

    folios: np.ndarray
    nr_scanned: int
    lru_type: int | None = None
    nr_used: int | None = None


@dataclass(frozen=True)
class RefaultBatch:
    """What on_refault learns of refaulting folios, one entry per folio.

    shadow: the value folio_evicted returned when the folio left memory;
    distance: the refault distance (nonresident_age now minus at eviction);
    recent: workingset_test_recent's verdict (distance <= the workingset size);
    workingset: the folio had PG_workingset when it was evicted;
    ghost (since 1.2): the ghost list the folio was on, -1 if none (the core
    has taken it off).
    """

    shadow: np.ndarray
    distance: np.ndarray
    recent: np.ndarray
    workingset: np.ndarray
    ghost: np.ndarray
