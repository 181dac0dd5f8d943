"""What a sandboxed policy may touch: the names in its module, the
attributes it may read, the builtins it may call, and the bounds the
verifier may assume. The verifier checks against these tables statically;
the runtime guards check them again on the objects they meet.

Everything here follows from the interface in hooks/: the context helpers
are the members of hooks.context.Context, the request fields those of
hooks.types. Extending the interface extends these tables by itself.
"""

from __future__ import annotations

import dataclasses
import typing

import numpy as np

from hooks import types as hook_types
from hooks.context import Context
from hooks.types import PutbackReason, ReclaimReason, ReclaimStat, RefaultBatch, ScanDecision, ScanRequest, Victims

# BPF's limit on the instructions the verifier walks, here statements times
# loop bounds over the call graph of one hook.
COST_LIMIT = 1_000_000

# BPF's limits on a program's shape. A policy defines at most MAX_FUNCTIONS
# top-level functions, hooks and helpers together (the kernel's
# BPF_MAX_SUBPROGS, the subprograms of one program), and its calls nest at
# most MAX_CALL_FRAMES deep along any path of its call graph: a hook and 7
# nested calls (the kernel's MAX_CALL_FRAMES).
MAX_FUNCTIONS = 256
MAX_CALL_FRAMES = 8

# The core hands a sandboxed policy folio batches of at most this many ids
# (larger batches are split), so a loop over a batch is bounded.
MAX_FOLIO_BATCH = 4096

# The lruvecs of one machine, one per (memcg, node): ctx.lruvecs holds at
# most this many. The runtime refuses to attach a policy to a bigger
# machine, so a loop over ctx.lruvecs is bounded.
MAX_LRUVECS = 4096
# The nodes of one machine (the kernel's MAX_NUMNODES at NODES_SHIFT 10):
# ctx.nr_nodes is at most this, and the runtime refuses a bigger machine,
# so range(ctx.nr_nodes) is bounded.
MAX_NUMNODES = 1024

# Maps are the only state that outlives a call; each declares its size.
MAX_MAP_ENTRIES = 1 << 22
MAX_TOTAL_MAP_ENTRIES = 1 << 22  # the sum over every map of one policy
MAP_KINDS = ("HashMap", "LruHashMap", "ArrayMap")

# Every int a policy states or computes stays below this in magnitude
# (|x| < 2**64): the verifier checks literals and module constants, the
# runtime's arithmetic guards and the maps check the rest.
INT_LIMIT = 1 << 64

# Error codes helpers return, as the kernel's (negated) errno values.
ERRNO = {"ENOENT": -2, "E2BIG": -7, "EINVAL": -22}

# Builtins a policy may call. Nothing that introspects, imports, or iterates
# in C over an argument of unbounded size (sorted, zip, sum, list, map...):
# min and max only with two or more arguments.
SAFE_BUILTINS = ("abs", "bool", "divmod", "enumerate", "float", "int", "len", "max", "min", "range", "round", "str")
BOUNDED_ITERATORS = ("range", "enumerate")


def _public(names) -> tuple[str, ...]:
    return tuple(sorted(n for n in names if not n.startswith("_")))


# ctx.<helper>: the members of the Context protocol
CONTEXT_ATTRIBUTES = _public(set(vars(Context)) | set(typing.get_type_hints(Context)))
# helpers whose result is an array as long as their `n` argument
BOUNDED_HELPERS = {"list_peek": 1}  # helper -> index of its bound argument

# the fields of the values that cross the interface
REQUEST_ATTRIBUTES = _public({f.name for f in dataclasses.fields(ScanRequest)} | {"is_kswapd", "global_reclaim", "can_swap"})
STAT_ATTRIBUTES = _public(f.name for f in dataclasses.fields(ReclaimStat))
REFAULT_ATTRIBUTES = _public(f.name for f in dataclasses.fields(RefaultBatch))
DECISION_ATTRIBUTES = _public(f.name for f in dataclasses.fields(ScanDecision))
VICTIMS_ATTRIBUTES = _public(Victims._fields)
MAP_ATTRIBUTES = ("delete", "lookup", "max_entries", "update")
ARRAY_ATTRIBUTES = ("size",)
ENUM_ATTRIBUTES = _public(set(PutbackReason.__members__) | set(ReclaimReason.__members__))

# attribute name -> the types it may be read from (the runtime guard's table)
ATTRIBUTES_BY_TYPE: dict[str, tuple[str, ...]] = {
    "context": CONTEXT_ATTRIBUTES,
    "request": REQUEST_ATTRIBUTES,
    "stat": STAT_ATTRIBUTES,
    "refault": REFAULT_ATTRIBUTES,
    "decision": DECISION_ATTRIBUTES,
    "victims": VICTIMS_ATTRIBUTES,
    "map": MAP_ATTRIBUTES,
    "array": ARRAY_ATTRIBUTES,
    "enum": ENUM_ATTRIBUTES,
}
ALLOWED_ATTRIBUTES = frozenset(a for names in ATTRIBUTES_BY_TYPE.values() for a in names)

# Names a policy module finds without defining them: the interface's
# constants and answer types, the map kinds, the error codes.
CONSTANTS: dict[str, object] = {
    name: value
    for name, value in vars(hook_types).items()
    if (name.isupper() or name.startswith("PG_")) and isinstance(value, (int, tuple, str)) and not isinstance(value, bool)
}
CONSTANTS.update(ERRNO)
CONSTANTS["INTERFACE_VERSION"] = None  # the policy states its own
TYPES = {"PutbackReason": PutbackReason, "ReclaimReason": ReclaimReason, "ScanDecision": ScanDecision, "Victims": Victims}

# Hook parameters that carry folio batches (arrays bounded by
# MAX_FOLIO_BATCH), and the parameters whose fields are such arrays.
BATCH_PARAMETERS = ("folios", "reasons")
BATCH_FIELD_PARAMETERS = ("refault",)
# The hook parameter that is the context (every hookspec's first): its
# lruvecs and nr_nodes are bounded by MAX_LRUVECS and MAX_NUMNODES.
CONTEXT_PARAMETER = "ctx"
# The hook parameters that hold the core's own objects, and the attributes
# those have: the runtime passes the core's ScanRequest as `request` (or
# None, to folio_putback) and its RefaultBatch as `refault`. The verifier
# compiles `request.nr_to_scan` and the like to plain attribute reads,
# without _getattr_, where the parameter is never rebound (so are the
# context's, the maps' and the enums').
OBJECT_PARAMETERS = {"request": REQUEST_ATTRIBUTES, "refault": REFAULT_ATTRIBUTES}

ARRAY_TYPES = (np.ndarray,)

# The guards the verifier's compiled code calls, all of which the runtime
# must provide: RestrictedPython's (attribute, item and iteration access,
# writes, in-place operators, unpacking) and the verifier's own (_tick_, the
# back-edge counter at the top of every loop body, and the operators: those
# that can build large ints, sequences or strings have guards of their own,
# the other binary operators share _binop_(op, a, b) and the comparisons
# _compare_(op, a, b), op being the operator's symbol: "-" "/" "//" "&" "|"
# "^" ">>", and "==" "!=" "<" "<=" ">" ">=" "in" "not in"; and the displays
# that hold a computed value, which keep containers flat: [a, b] is
# _list_(a, b), (a, b) is _tuple_(a, b), and {"k": v, 1: w} is
# _dict_(("k", 1), (v, w)), its keys constants). A list or tuple holds
# numbers, strings, None and arrays, never a list, tuple or dict.
GUARD_NAMES = (
    "_getattr_",
    "_getitem_",
    "_getiter_",
    "_write_",
    "_inplacevar_",
    "_iter_unpack_sequence_",
    "_unpack_sequence_",
    "_tick_",
    "_mul_",
    "_pow_",
    "_lshift_",
    "_mod_",
    "_add_",
    "_binop_",
    "_compare_",
    "_list_",
    "_tuple_",
    "_dict_",
)
