"""Finding and loading policies.

Four places hold policies, searched in this order:
- the built-ins, the kernel's own algorithms, trusted like in-kernel code;
- the files of example_policies/, by their name without ".py" (prefixed
  "example:" where a built-in has the name);
- installed packages, through the entry-point group ``reclaim_ext.policies``:
  each entry names a module whose source file is a policy
  (``[project.entry-points."reclaim_ext.policies"] mine = "mypkg.mine"``);
- a path to a ``.py`` file.

Everything but the built-ins is a user policy: its source is verified
before it loads and it runs sandboxed (reclaim_ext.sandbox). The source is
read, never imported: a policy's module is not trusted to run as Python.
"""

from __future__ import annotations

import ast
import dataclasses
import importlib.metadata
import importlib.util
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hooks import INTERFACE_VERSION, hookspec
from reclaim_ext.sandbox.runtime import SandboxedPolicy, SandboxLimits
from reclaim_ext.sandbox.verifier import VerifiedPolicy, format_log, verify_file
from simulator.lru import ClassicLRU
from simulator.mglru import MultiGenLRU
from simulator.policy import HOOK_NAMES, BoundPolicy, PolicyError

ENTRY_POINT_GROUP = "reclaim_ext.policies"
# the hooks in the order hookspec.py declares them (the order a reader knows)
HOOK_NAMES_IN_ORDER = tuple(name for name in vars(hookspec) if name in HOOK_NAMES)
EXAMPLES_DIR = Path(__file__).resolve().parent.parent / "example_policies"

BUILTIN_POLICIES: dict[str, tuple[Callable[[], Any], str]] = {
    "lru": (ClassicLRU, "the kernel's classic two-list LRU (active/inactive, workingset refaults)"),
    "mglru": (MultiGenLRU, "the kernel's multi-gen LRU (generations, tiers, PID controller, page-table walks)"),
}


class PolicyNotFound(LookupError):
    pass


class PolicyRejected(PolicyError):
    """The verifier refused a policy; `log` is its full report."""

    def __init__(self, name: str, verified: VerifiedPolicy) -> None:
        errors = verified.errors
        super().__init__(f"policy {name!r} was rejected by the verifier ({len(errors)} errors; "
                         f"`reclaim-ext verify {verified.filename}` shows them all):\n  {errors[0]}")
        self.log = format_log(verified)


@dataclass(frozen=True)
class PolicySource:
    """Where a policy comes from. `path` is the source of a user policy,
    `factory` the class of a built-in."""

    name: str
    kind: str  # "built-in", "example", "entry point" or "file"
    description: str
    path: Path | None = None
    factory: Callable[[], Any] | None = None

    @property
    def trusted(self) -> bool:
        return self.factory is not None


def available_policies() -> list[PolicySource]:
    """Every policy that can be loaded by name, in search order. A name
    found twice is the first place's; the later one answers to its name
    qualified by its kind: the exact LRU of example_policies/lru.py is
    "example:lru", the built-in classic LRU "lru"."""
    found: dict[str, PolicySource] = {}
    for source in (*_builtins(), *_examples(), *_entry_points()):
        if source.name in found:
            source = dataclasses.replace(source, name=f"{source.kind.replace(' ', '-')}:{source.name}")
        found.setdefault(source.name, source)
    return list(found.values())


def find_policy(name: str) -> PolicySource:
    """The policy a name or a path denotes."""
    if name.endswith(".py") or "/" in name:
        path = Path(name)
        if not path.is_file():
            raise PolicyNotFound(f"no policy file {name!r}")
        return PolicySource(path.stem, "file", _first_docstring_line(path), path=path)
    for source in available_policies():
        if source.name == name:
            return source
    if name == "opt":
        raise PolicyNotFound("opt, Belady's optimum, needs the future: it runs only in `reclaim-ext replay`")
    known = ", ".join(s.name for s in available_policies())
    raise PolicyNotFound(f"unknown policy {name!r} (available: {known}; or give a path to a .py file)")


def verify_policy(source: PolicySource) -> VerifiedPolicy:
    """Run the verifier on a user policy's source."""
    if source.path is None:
        raise PolicyError(f"policy {source.name!r} is a built-in: it is trusted, not verified")
    return verify_file(source.path)


def load_policy(name: str, limits: SandboxLimits | None = None) -> Any:
    """A fresh instance of the named policy (policies keep per-machine
    state): a built-in as it is, a user policy verified and sandboxed.
    Raises PolicyNotFound, or PolicyRejected with the verifier's log."""
    source = find_policy(name)
    if source.trusted:
        return source.factory()
    verified = verify_policy(source)
    if not verified.ok:
        raise PolicyRejected(source.name, verified)
    return SandboxedPolicy(verified, source.name, limits or SandboxLimits())


def describe(source: PolicySource) -> dict[str, Any]:
    """What `reclaim-ext policies` shows of one policy: its interface
    version and hooks, or why it does not load."""
    if source.trusted:
        bound = BoundPolicy(source.name, source.factory())
        version, hooks, status = INTERFACE_VERSION, bound.hooks_implemented, "trusted"
        hooks = [h for h in HOOK_NAMES_IN_ORDER if h in hooks]
    else:
        verified = verify_policy(source)
        version, hooks = verified.interface_version, [h for h in HOOK_NAMES_IN_ORDER if h in verified.hooks]
        status = "verified" if verified.ok else f"rejected ({len(verified.errors)} errors)"
    return {
        "name": source.name,
        "kind": source.kind,
        "interface": ".".join(map(str, version)) if version else "-",
        "status": status,
        "hooks": hooks,
        "description": source.description,
        "path": str(source.path) if source.path else None,
    }


# ----------------------------------------------------------------------
def _builtins() -> list[PolicySource]:
    return [PolicySource(name, "built-in", text, factory=factory) for name, (factory, text) in BUILTIN_POLICIES.items()]


def _examples() -> list[PolicySource]:
    return [
        PolicySource(path.stem, "example", _first_docstring_line(path), path=path)
        for path in sorted(EXAMPLES_DIR.glob("*.py"))
        if not path.name.startswith("_")
    ]


def _entry_points() -> list[PolicySource]:
    sources = []
    for ep in importlib.metadata.entry_points(group=ENTRY_POINT_GROUP):
        spec = importlib.util.find_spec(ep.module)
        if spec is None or not spec.origin or not spec.origin.endswith(".py"):
            continue
        path = Path(spec.origin)
        sources.append(PolicySource(ep.name, "entry point", _first_docstring_line(path), path=path))
    return sources


def _first_docstring_line(path: Path) -> str:
    """The policy's own one-line description, read without running it."""
    try:
        doc = ast.get_docstring(ast.parse(path.read_text(encoding="utf-8")))
    except (OSError, SyntaxError, UnicodeDecodeError, ValueError):
        return ""
    return doc.strip().splitlines()[0] if doc else ""
