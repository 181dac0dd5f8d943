"""The reclaim_ext interface: hookspecs, the context API, the values that cross.

A policy is a module (or any object) whose functions are marked with
``hookimpl`` and named after the hooks of ``hooks.hookspec``; it states the
interface version it was written for in ``INTERFACE_VERSION``.
"""

import pluggy

INTERFACE_VERSION = 1
PROJECT_NAME = "reclaim_ext"

hookimpl = pluggy.HookimplMarker(PROJECT_NAME)

# Hooks a policy must implement: without them nothing can be evicted.
REQUIRED_HOOKS = ("policy_init", "folio_added", "select_victims")

__all__ = ["INTERFACE_VERSION", "PROJECT_NAME", "REQUIRED_HOOKS", "hookimpl"]
