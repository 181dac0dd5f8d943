"""Finding policies by name.

The built-ins are the kernel's own algorithms, trusted like in-kernel code.
User policies (files, example_policies/, entry points) arrive with the
sandbox, which verifies them before they load.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from simulator.lru import ClassicLRU
from simulator.mglru import MultiGenLRU

BUILTIN_POLICIES: dict[str, tuple[Callable[[], Any], str]] = {
    "lru": (ClassicLRU, "the kernel's classic two-list LRU (active/inactive, workingset refaults)"),
    "mglru": (MultiGenLRU, "the kernel's multi-gen LRU (generations, tiers, PID controller, page-table walks)"),
}


class PolicyNotFound(LookupError):
    pass


def load_policy(name: str) -> Any:
    """A fresh instance of the named policy: policies keep per-machine state."""
    try:
        factory, _ = BUILTIN_POLICIES[name]
    except KeyError:
        known = ", ".join(sorted(BUILTIN_POLICIES))
        raise PolicyNotFound(f"unknown policy {name!r} (available: {known})") from None
    return factory()
