"""The reclaim_ext interface: hookspecs, the context API, the values that cross.

A policy is a module (or any object) whose functions are marked with
``hookimpl`` and named after the hooks of ``hooks.hookspec``; it states the
interface version it was written for in ``INTERFACE_VERSION``.
"""

import pluggy

# (major, minor): a policy written for (1, m) runs on any (1, n) with n >= m.
# 1.0: the classic LRU's needs. 1.1: MGLRU's page-table walk and
# look-around helpers, the age_node and policy_state hooks.
INTERFACE_VERSION = (1, 1)
PROJECT_NAME = "reclaim_ext"

hookimpl = pluggy.HookimplMarker(PROJECT_NAME)

# Hooks a policy must implement: without them nothing can be evicted.
REQUIRED_HOOKS = ("policy_init", "folio_added", "select_victims")

__all__ = ["INTERFACE_VERSION", "PROJECT_NAME", "REQUIRED_HOOKS", "hookimpl", "interface_compatible"]


def interface_compatible(stated: int | tuple[int, int]) -> bool:
    """Can a policy that states `stated` (an int means (int, 0)) run here?"""
    major, minor = (stated, 0) if isinstance(stated, int) else tuple(stated)
    return major == INTERFACE_VERSION[0] and minor <= INTERFACE_VERSION[1]
