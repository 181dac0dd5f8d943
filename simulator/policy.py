"""Attaching a policy: pluggy registers and validates it, then each hook
implementation is bound once to a plain attribute (the kernel's static_call),
so the hot paths call a function, not pluggy's dispatch.

An implementation may take fewer parameters than its spec (pluggy's rule);
the binding adapts the call once here. A hook the policy leaves out is bound
to None and the core applies the documented default.
"""

from __future__ import annotations

from collections.abc import Callable
from enum import Enum
from typing import Any

import pluggy

from hooks import INTERFACE_VERSION, PROJECT_NAME, REQUIRED_HOOKS, interface_compatible
from hooks import hookspec as hookspec_module


class PolicyError(Exception):
    """A policy that cannot be attached: missing hooks, wrong signatures, or
    written for another interface version."""


class ExitKind(str, Enum):
    """Why a policy was ejected, as sched_ext's scx_exit_kind says why a BPF
    scheduler was: the text goes to the results and the event stream."""

    ERROR = "error"  # the policy's code raised (a bug: ZeroDivisionError, TypeError...)
    HELPER = "helper"  # a helper was called with arguments it refuses
    INVALID = "invalid"  # an answer the core cannot accept (victims, decision, shadow values)
    BUDGET = "budget"  # the back-edge counter ran out (may_goto)
    DEADLINE = "deadline"  # one call ran past its wall-clock deadline
    SLOW = "slow"  # too many calls ran slow
    STALL = "stall"  # select_victims keeps answering nothing while it holds folios (the watchdog)
    RESOURCE = "resource"  # an integer or an allocation beyond the sandbox's limits


class PolicyFault(Exception):
    """A policy misbehaved: the core ejects it and the fallback takes over.

    `line` is the line of the policy's own source the fault happened on, when
    known; `dump` is what the sandbox adds (map occupancy, counters)."""

    def __init__(self, kind: ExitKind, message: str, line: int | None = None, dump: dict | None = None) -> None:
        super().__init__(message)
        self.kind = ExitKind(kind)
        self.message = message
        self.line = line
        self.dump = dump or {}


HOOK_NAMES = tuple(
    name for name in dir(hookspec_module) if getattr(getattr(hookspec_module, name), "reclaim_ext_spec", None) is not None
)


def make_plugin_manager() -> pluggy.PluginManager:
    pm = pluggy.PluginManager(PROJECT_NAME)
    pm.add_hookspecs(hookspec_module)
    return pm


def spec_argnames(hook_name: str) -> tuple[str, ...]:
    fn = getattr(hookspec_module, hook_name)
    return tuple(fn.__code__.co_varnames[: fn.__code__.co_argcount])


class BoundPolicy:
    """A policy's hook implementations bound to attributes named after the
    hooks; None where the policy relies on the default."""

    name: str
    interface_version: int

    def __init__(self, name: str, plugin: Any) -> None:
        self.name = name
        self.plugin = plugin
        self.interface_version = getattr(plugin, "INTERFACE_VERSION", INTERFACE_VERSION)
        if not interface_compatible(self.interface_version):
            raise PolicyError(
                f"policy {name!r} was written for interface version {self.interface_version}, "
                f"this simulator implements version {'.'.join(map(str, INTERFACE_VERSION))}"
            )
        pm = make_plugin_manager()
        try:
            pm.register(plugin, name=name)
            pm.check_pending()
        except (pluggy.PluginValidationError, ValueError) as err:
            raise PolicyError(f"policy {name!r}: {err}") from None
        self.answers_checked = False  # set when bound through the ejection guard
        self.ctx: Any = None  # the context of the lruvecs it serves, set when attached
        self.successor: BoundPolicy | None = None  # who took over once it was ejected
        self.hooks_implemented: list[str] = []
        for hook_name in HOOK_NAMES:
            impls = getattr(pm.hook, hook_name).get_hookimpls()
            bound = _adapt(impls[-1].function, impls[-1].argnames, spec_argnames(hook_name)) if impls else None
            setattr(self, hook_name, bound)
            if impls:
                self.hooks_implemented.append(hook_name)
        missing = [h for h in REQUIRED_HOOKS if h not in self.hooks_implemented]
        if missing:
            raise PolicyError(f"policy {name!r} does not implement the required hooks: {', '.join(missing)}")


def _adapt(fn: Callable, argnames: tuple[str, ...], spec: tuple[str, ...]) -> Callable:
    """Call `fn` with the spec's arguments it asks for, by position."""
    if tuple(argnames) == spec:
        return fn
    picks = [spec.index(a) for a in argnames]
    return lambda *args: fn(*[args[i] for i in picks])
