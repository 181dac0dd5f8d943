"""The reclaim_ext hook specifications: the whole contract between the
simulated vmscan core and a reclaim policy.

The built-in classic LRU (simulator/lru.py) and MGLRU implement exactly these
hooks, as user policies do. Every hook is named after the kernel path it
stands for; each says when the core calls it, what its return means, its
parameters, since which interface version it exists, and whether it is
required (an optional hook left out gets the default it names).

The core checks every answer. A user policy (verified and sandboxed by
reclaim_ext) that raises, overruns its budget or gives an answer the core
cannot accept is ejected, as sched_ext ejects a BPF scheduler: the built-in
fallback adopts its folios and answers the call that failed.

Folios arrive in batches (numpy int64 arrays) the way the kernel's per-CPU
folio batches deliver them; a policy may implement a hook with fewer
parameters than the spec (pluggy allows it), so adding a parameter never
breaks a policy. The core binds each implementation once when the policy is
attached (the kernel's static_call) and never pays pluggy's dispatch per call.
"""

from __future__ import annotations

import numpy as np
import pluggy

from hooks.context import Context
from hooks.types import RefaultBatch, ScanDecision, ScanRequest, Victims

hookspec = pluggy.HookspecMarker("reclaim_ext")

# --------------------------------------------------------------------------
# Attaching
# --------------------------------------------------------------------------


@hookspec(firstresult=True)
def policy_init(ctx: Context) -> None:
    """Set up the policy's lists and state when it is attached.

    Called once, before any other hook, with the lruvecs the policy serves
    in ``ctx.lruvecs``: every lruvec of the machine, or, for a policy
    attached to a memcg (a scenario's ``[[cgroups]] policy``, as cache_ext
    attaches one to a cgroup), those of the memcg and of its descendants
    without a policy of their own. Every later call concerns only those
    lruvecs and their folios; helpers refuse the others. Create the lists
    here (``ctx.list_create``).

    A policy that takes over (after an ejection) is a fresh instance and is
    initialised the same way, then given the folios already resident.

    Since: 1. Attached per memcg since 1.3. Required.
    """


# --------------------------------------------------------------------------
# Folios entering memory and being used
# --------------------------------------------------------------------------


@hookspec(firstresult=True)
def folio_added(ctx: Context, folios: np.ndarray) -> None:
    """Folios became resident and must be placed on the policy's lists.

    The kernel's folio_add_lru() → lru_add(): after an anon fault, a file
    fault, a read(), a swap-in or a refault. Folios arrive in the order they
    were added; a batch is always flushed before the core calls age(),
    select_victims() or should_reclaim(). For a refault, on_refault() has been
    called for the folio before this hook.

    :param folios: the new folios, each on no list yet, with folio_data 0
        and none of the policy's flags but what on_refault() just set
        (what a folio had before it left memory is gone; what the policy
        wants to remember goes in the shadow value folio_evicted returns).

    Since: 1. Required.
    """


@hookspec(firstresult=True)
def folio_accessed(ctx: Context, folios: np.ndarray) -> None:
    """Accesses the kernel itself sees: read() and write() on a file, the
    kernel's folio_mark_accessed().

    Accesses through a mapping never reach this hook: the hardware only sets
    the accessed bit in the page table, which the policy reads (and clears)
    with ``ctx.folio_referenced``. A folio accessed twice in the batch appears
    twice, in order.

    The read() or write() that brings a folio in is passed here too, right
    after folio_added(), as the kernel marks a folio it just added accessed
    (and a fault through a mapping leaves a young PTE). In exact cache mode
    (reclaim-ext replay) it is not: there, as in cache simulators, the
    request that brings a folio in is no use of it, and only hits arrive.

    Since: 1. Optional; the default does nothing.
    """


# --------------------------------------------------------------------------
# Reclaim
# --------------------------------------------------------------------------


@hookspec(firstresult=True)
def should_reclaim(ctx: Context, request: ScanRequest) -> ScanDecision | None:
    """Decide how much of an lruvec to scan this round: the kernel's
    get_scan_count(), including the anon/file balance from swappiness.

    Called once per lruvec per shrink_node() round, before the core starts
    its shrink_lruvec loop. The core then walks the decision in chunks of
    SWAP_CLUSTER_MAX pages (``ScanDecision.batch`` since 1.1), calling age()
    and select_victims(), and stops early once ``request.nr_to_reclaim`` is
    met (except global direct reclaim at DEF_PRIORITY), cutting the
    remaining scan proportionally as the kernel does. MGLRU does its
    get_nr_to_scan() here, aging first when it must.

    :return: a ScanDecision, or None for the default: each type's resident
        pages shifted right by the priority, anon only when it can be swapped.

    Since: 1. Optional; the default scans each type's resident pages >>
    priority, anon only when it can be swapped.
    """


@hookspec(firstresult=True)
def age(ctx: Context, request: ScanRequest) -> int | None:
    """Age the lruvec: make cold candidates out of folios that were not used
    (the kernel's shrink_active_list(); MGLRU's try_to_inc_max_seq()).

    Called with ``request.lru_type`` and ``request.nr_to_scan`` from the
    shrink_lruvec loop when the decision asked for aging, and with
    ``request.balance`` set at the end of shrink_lruvec and from kswapd's
    kswapd_age_node() (unless the policy implements age_node()): then age
    only if the lists are out of balance (inactive_is_low).

    :return: the number of folios looked at (pgrefill), or None for 0.

    Since: 1. Optional; the default does not age.
    """


@hookspec(firstresult=True)
def select_victims(ctx: Context, request: ScanRequest) -> np.ndarray | Victims:
    """Choose up to ``request.nr_to_scan`` folios of ``request.lru_type`` (or,
    since 1.1, of the type the answer names) on ``request.lruvec`` to
    reclaim: isolate_lru_folios() and the policy's half of
    shrink_folio_list() (folio_check_references).

    Folios the policy decides to keep it places itself; the folios it returns
    are isolated by the core (taken off their list) and handed to the core's
    shrink_folio_list(), which unmaps, writes back or frees them. The core
    validates each (resident, on this lruvec, of this type, on a list, not
    repeated): a user policy that names an invalid victim is ejected; the
    trusted built-ins' invalid victims are dropped and counted
    (pgpolicy_invalid).

    :return: the victims, or Victims(folios, nr_scanned) when the policy
        isolated more folios than it returns (pgscan counts nr_scanned).
        Since 1.1 Victims may also name the type actually scanned
        (``lru_type``: MGLRU chooses per batch) and how much of
        ``request.nr_to_scan`` the call used (``nr_used``; 0 ends the scan
        of that list for the round).

    Since: 1. Required.
    """


@hookspec(firstresult=True)
def folio_putback(ctx: Context, folios: np.ndarray, reasons: np.ndarray, request: ScanRequest | None) -> None:
    """Victims that could not be freed come back, and the outcome of the
    batch is known: the kernel's move_folios_to_lru() after
    shrink_folio_list(), and folio_rotate_reclaimable() when writeback ends.

    Called after every shrink_folio_list() batch, possibly with no folios,
    with ``request.stat`` holding the batch's reclaim_stat (where the classic
    LRU calls lru_note_cost); and when writeback of PG_reclaim folios
    completes (reason ROTATE, outside any reclaim: ``request`` is None).

    :param reasons: a PutbackReason per folio.

    Since: 1. Optional; the default puts each folio back at the head of the
    list it was isolated from (at the tail for ROTATE).
    """


@hookspec(firstresult=True)
def age_node(ctx: Context, request: ScanRequest) -> bool | None:
    """kswapd's background aging of a node (kswapd_age_node()), at every
    priority step of balance_pgdat() before the node is shrunk;
    ``request.node`` is the node, ``request.priority`` the step's priority.

    MGLRU checks ``min_ttl_ms`` here (lru_gen_age_node): when every lruvec's
    oldest generation is younger than it, reclaim would only thrash.

    :return: True to declare the node out of memory: the core invokes the
        OOM killer instead of reclaiming (it ignores the answer unless the
        node is below its high watermark). None or False: go on.

    Since: 1.1. Optional; the default ages each lruvec's anon lists through
    age() with ``request.balance`` set (the classic inactive_is_low check).
    """


@hookspec(firstresult=True)
def policy_state(ctx: Context) -> dict[str, str] | None:
    """A snapshot of the policy's own state for reports, as the kernel's
    debugfs views show it (MGLRU: ``/sys/kernel/debug/lru_gen``).

    Called when a run ends (and by ``reclaim-ext run --state``).

    :return: file names and their text, written into the results directory.

    Since: 1.1. Optional; the default shows nothing.
    """


@hookspec(firstresult=True)
def folio_evicted(ctx: Context, folios: np.ndarray) -> np.ndarray | None:
    """Folios the policy chose have left memory (__remove_mapping()).

    The policy may put them on a ghost list (``ctx.ghost_list_create``,
    since 1.2) and nowhere else: after this hook none is on a resident list.

    :return: one small integer per folio that the core keeps in its shadow
        entry and hands back to on_refault() (MGLRU keeps its generation
        token there), or None for zeros.

    Since: 1. Optional; the default keeps 0 in every shadow entry.
    """


@hookspec(firstresult=True)
def on_refault(ctx: Context, folios: np.ndarray, refault: RefaultBatch) -> np.ndarray | None:
    """Folios evicted earlier are coming back: workingset_refault().

    Called before folio_added() for the same folios, so the policy can mark
    them for placement. The core has computed the refault distance and the
    kernel's recency verdict, and taken each folio off the ghost list it was
    on (``refault.ghost``, since 1.2); the policy decides.

    :return: per folio the REFAULT_* bits of what the policy did (the core
        counts WORKINGSET_ACTIVATE/RESTORE, sets PG_workingset and ages the
        nonresident clock accordingly), or None for neither: the refault is
        only counted (WORKINGSET_REFAULT).

    Since: 1. Optional; the default does neither.
    """


@hookspec(firstresult=True)
def folio_removed(ctx: Context, folios: np.ndarray) -> None:
    """Folios left memory without reclaim: a process exited, was OOM-killed,
    or a file was truncated. The core has already taken them off their lists.

    Since: 1. Optional; the default does nothing.
    """
