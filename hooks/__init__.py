"""The reclaim_ext interface: hookspecs, the context API, the values that cross.

A policy is a module (or any object) whose functions are marked with
``hookimpl`` and named after the hooks of ``hooks.hookspec``; it states the
interface version it was written for in ``INTERFACE_VERSION``.
"""

import pluggy

# (major, minor): a policy written for (1, m) runs on any (1, n) with n >= m.
INTERFACE_VERSION = (1, 4)

# What each version added, oldest first; the last is INTERFACE_VERSION. The
# docstrings and comments in hooks/ mark each addition ("Since: 1.1").
INTERFACE_HISTORY: tuple[tuple[tuple[int, int], str], ...] = (
    (
        (1, 0),
        (
            "the classic LRU's needs: the hooks policy_init, folio_added, folio_accessed, "
            "should_reclaim, age, select_victims, folio_putback, folio_evicted, on_refault "
            "and folio_removed; the helpers on the machine, folio facts, the rmap "
            "(folio_referenced), the lists stored by the core, and accounting "
            "(count_event, workingset_age_nonresident)"
        ),
    ),
    (
        (1, 1),
        (
            "MGLRU's page-table walk (ctx.walk_mm) and look-around (ctx.look_around) "
            "helpers, ctx.sysctl, the age_node and policy_state hooks, ScanDecision.batch, "
            "Victims.lru_type and nr_used, count_event('pgrefill')"
        ),
    ),
    (
        (1, 2),
        (
            "ghost lists (ctx.ghost_list_create, RefaultBatch.ghost): ordered lists of evicted "
            "folios, ARC's B1/B2 and S3-FIFO's G; ctx.node_pages; list_add takes a folio "
            "named twice"
        ),
    ),
    (
        (1, 3),
        (
            "memory cgroups: policies attached per memcg, each seeing only its own lruvecs "
            "in ctx.lruvecs; ctx.lruvec_memcg and ctx.memcg_path; ScanRequest.target_memcg; the core scales any policy's scan "
            "decision by the memcg's unprotected part (apply_proportional_protection)"
        ),
    ),
    (
        (1, 4),
        (
            "ctx.wakeup_flusher_threads(): a policy that keeps dirty file folios on its lists "
            "(MGLRU's sort_folio) wakes the flushers when all it looked at was dirty"
        ),
    ),
)

PROJECT_NAME = "reclaim_ext"

hookimpl = pluggy.HookimplMarker(PROJECT_NAME)

# Hooks a policy must implement: without them nothing can be evicted.
REQUIRED_HOOKS = ("policy_init", "folio_added", "select_victims")

__all__ = ["INTERFACE_HISTORY", "INTERFACE_VERSION", "PROJECT_NAME", "REQUIRED_HOOKS", "hookimpl", "interface_compatible"]


def interface_compatible(stated: int | tuple[int, int]) -> bool:
    """Can a policy that states `stated` (an int means (int, 0)) run here?"""
    major, minor = (stated, 0) if isinstance(stated, int) else tuple(stated)
    return major == INTERFACE_VERSION[0] and minor <= INTERFACE_VERSION[1]
