"""The sandbox at run time: a verified policy runs guarded, as a BPF
struct_ops program runs under the verifier's rewrites and sched_ext's
watchdog.

The verifier (reclaim_ext.sandbox.verifier) proves what it can statically
and compiles the policy with RestrictedPython, which turns every operation
it cannot prove safe into a call of a guard: ``obj.attr`` becomes
``_getattr_(obj, "attr")``, ``x * y`` becomes ``_mul_(x, y)``, and so on.
This module supplies those guards, the context the policy is handed, and
the plugin that wraps the policy's hooks for the core. Each guard exists
because of one way a policy could hurt the machine it runs in:

- ``_getattr_``: attributes are the way out of any Python sandbox
  (``__class__``, ``__globals__``, a frame, a module). Only the attributes
  of surface.ATTRIBUTES_BY_TYPE are readable, looked up by the exact type
  of the object: one dict probe, no isinstance chain.
- ``_getitem_``, ``_getiter_``, ``_write_``: indexing, iterating and
  writing only the plain containers a policy builds (lists, tuples, dicts,
  ranges, strings) and numpy arrays. An array is tested first, and is
  indexed by an int, a numpy int, a slice or an array of bools or ints
  only (no tuple, None or list: it stays 1-D). A write goes through a wrapper that
  writes items only, never attributes (``a.dtype = ...``), and keeps what
  it writes into flat as below: ``xs[i] = v`` and ``xs[a:b] = ys`` (ys a
  list or tuple, every element checked, the result within the list
  limit), ``d[k] = v`` (k a number, a str or None). Arrays are kept
  one-dimensional (no tuple, None or list index) and are set from numbers
  and arrays, never from a list, which numpy would expand in C.
- ``_list_``, ``_tuple_``, ``_dict_``: **containers in a policy are flat.**
  Work done in C is out of reach of the counter and the clock, and nested
  containers are how a policy gets C to do unbounded work: ``a = [x, x];
  b = [a, a]; ...`` doubles per statement, and then ``==``, ``max``,
  ``str`` or hashing walk 10**12 items. So a list or tuple holds numbers
  (int, float, bool, numpy scalars, the reason enums), strings, None and
  1-D numpy arrays of numbers, never a list, tuple, dict, range or
  anything else; a dict (a display with the verifier's constant keys)
  holds those and flat lists and tuples as its values; sets do not exist.
  The verifier compiles each display that holds a computed value into a
  call: ``[a, b]`` is ``_list_(a, b)``, ``(a, b)`` ``_tuple_(a, b)``,
  ``{"k": v}`` ``_dict_(("k",), (v,))``; each refuses (RESOURCE) what a
  flat container may not hold, with one type check per element.
  ScanDecision and Victims, which a policy builds too, take fields a dict
  may hold (their constructors are wrapped the same way). Every other way
  to build a container builds a flat one from flat ones: ``+`` and ``*``
  of lists and tuples, slices, unpacking, maps (tuples of numbers),
  enumerate (a pair of an index and an item: nesting enumerate in
  enumerate grows a value by one level per call in the source, never by
  doubling).
- ``_tick_``: the back-edge counter, BPF's may_goto. The verifier puts it
  at the top of every loop body; a loop whose bound the verifier could not
  see (``range(start, 10)`` with a huge negative start) runs out of budget
  instead of running forever. The counter is C code for 31 ticks out of
  32 (itertools.chain over ``repeat(None, 32)`` chunks); the Python code
  that hands out each chunk checks the budget and the wall clock.
- ``_mul_ _pow_ _lshift_ _add_``: Python integers grow without bound and
  their arithmetic slows with their size, so every int these produce must
  fit in 64 bits (|x| < 2**64), checked from the operands' bit lengths
  before any large product is computed (RESOURCE). Sequences repeated or
  concatenated are bounded in length before they are built.
- ``_mod_``: ``"%*d" % (10**9, 1)`` allocates a gigabyte; %-formatting of
  strings is refused outright.
- ``_unpack_sequence_``: unpacking pulls at most the sequence limit of
  items out of an iterator, never ``list()`` of an unbounded one.
- ``_binop_(op, a, b)``: ``-``, ``/``, ``//``, ``&``, ``|``, ``^``, ``>>``,
  the symbol as a str. None of them builds a large value from small ones,
  but ``-`` grows an int by a bit (checked as ``+`` is), and numpy meeting
  a list, tuple or range next to an array or a numpy number converts it to
  an array in C, however large: ``folios - range(2**40)`` is 8 TB that
  neither the counter nor the clock can stop. That refusal (RESOURCE) is
  shared by every arithmetic guard.
- ``_compare_(op, a, b)``: ``==``, ``!=``, ``<``, ``<=``, ``>``, ``>=``,
  ``in``, ``not in``. Comparisons do their work in C: numpy converts a
  list next to an array as above (``x in array`` too); two lists compare
  item by item, and flat is not small: a list of a million strings of
  65536 characters against an equal copy is 64 GB of memcmp, and a dict
  compares the lists it holds. So containers are weighed first (their
  items counted, a string by its length, an array by its size, shared
  structure each time it is reached; flat containers make it a walk of
  two levels at most) and refused (RESOURCE) past max_compare_items (a
  tuple looked up in a dict too: its hash is its items'); ``0.5 in
  range(10**18)`` walks the range in C, so a range is searched for an int
  only (a float or a numpy number as the int it equals, anything else is
  refused); and ``in`` searches only lists, tuples, dicts, sets, strings,
  ranges and arrays (``x in enumerate(range(10**18))`` walks it too).

  Both take a fast path first, a type test of each operand: two numbers
  (Python's, numpy's, the reason enums) or an array next to an array or a
  number get a dict lookup of the operator and the operation (numpy's is
  elementwise, in O(the arrays' size), into a fixed-width result, and
  converts nothing), plus, for an int result of ``_binop_``, the 64-bit
  check. ``_mul_`` and ``_add_`` test two Python ints first (with their
  own 64-bit check), then an array or a numpy number next to an array or
  a number, computed as it is (numpy's result: fixed-width).
- ``str``, ``max``, ``min``, ``divmod``: the builtins that work on their
  arguments in C (make_builtins). str() of a container is weighed as a
  comparison is, against max_str_len (``str([s] * 2**20)`` would build
  64 GB, ``str([array] * 2**20)`` run numpy's printing a million times);
  max() and min() against max_compare_items; and they and divmod()
  refuse a list, tuple or range next to numpy as above. A number, a str
  or an array (numpy summarizes a long one) takes a fast path, as two
  numbers do for max(), min() and divmod().

A guard that refuses raises PolicyFault: RESOURCE for a limit (a
container that is not flat included), ERROR for a forbidden operation. The
helpers of the context (SandboxContext) check their arguments before they
reach the core and raise HELPER: folio ids are an int or a 1-D numpy
integer array, never a list or tuple that numpy would convert, each in
[0, nr_pages) (one reduction), except the batch the call was handed,
which is the core's own array and read-only to the policy, and passes as
it is (an array the policy makes of it is checked as any other); a folio
named twice to list_add ends where its last occurrence puts it (the core
sorts that out, interface 1.2); an empty array is
nothing to do for list_add, list_del and the helpers that set flags or
data (their other arguments are still checked). A machine
with more lruvecs than surface.MAX_LRUVECS or more nodes than
MAX_NUMNODES, the bounds the verifier assumes for a loop over ctx.lruvecs
or range(ctx.nr_nodes), gets no context: a HELPER fault at the first call
(policy_init's) ejects the policy. The answers of the hooks are checked
before the core sees them (INVALID). For select_victims that is their
structure only: the folios (a list, tuple or array of ints, or a
Victims) become an int64 array and Victims' counts and type ints; what
they name (each victim resident, on the request's lruvec, of the type
scanned, on a list, named once; the counts and the type within what the
lruvec holds) is simulator.ejection.check_victims', made for every
untrusted policy, and is not made twice. policy_state's answer, which the
report and ``--json`` write out whole, is at most MAX_STATE_FILES (16)
files named by 1 to 64 characters of [A-Za-z0-9._-] (not . or ..), each
text at most 64 KiB of UTF-8. Whatever the policy's code raises
becomes a PolicyFault naming the line of the policy's own file, with a
dump of its maps and counters, and the core ejects it; the exception's
message is cut, and a value it carries (a KeyError's key) printed
briefly, never as its whole repr.

What the guards cannot see, the verifier refuses: comprehensions (their
loops do not tick), f-strings (a format spec allocates), min() and max()
over one iterable (a loop in C; the runtime refuses it too), set displays
and dict displays with computed keys. Displays of literals stay plain
(flat by construction), as does a display unpacked as it is built (``a, b
= b, a``): no name ever holds it. The verifier leaves an operator or a
comparison plain next to a literal (``i + 1``, ``n - 1``, ``x < 5``,
``x is None``): an int then grows by at most the literal, which the budget
and the clock bound, and numpy meets no list. ``in`` is the exception: a
literal float, str or None searched for in a range or an enumerate walks
it, so ``in`` and ``not in`` must reach ``_compare_`` whatever their
operands.
"""

from __future__ import annotations

import builtins
import dataclasses
import operator
import re
import reprlib
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from enum import EnumType
from functools import partial
from itertools import chain, compress, islice, repeat
from time import perf_counter_ns
from types import FunctionType, TracebackType
from typing import Any

import numpy as np

from hooks import hookimpl
from hooks.context import FolioIds
from hooks.types import (
    LRU_TYPES,
    POLICY_WRITABLE_FLAGS,
    REFAULT_ACTIVATE,
    REFAULT_WORKINGSET,
    PutbackReason,
    ReclaimReason,
    ReclaimStat,
    RefaultBatch,
    ScanDecision,
    ScanRequest,
    Victims,
)
from reclaim_ext.sandbox import surface
from reclaim_ext.sandbox.maps import MAP_TYPES, NUMPY_FLOATS, NUMPY_INTS
from simulator.context import PolicyContextError
from simulator.policy import ExitKind, PolicyError, PolicyFault, spec_argnames

CLOCK_CHECK_EVERY = 32  # ticks between two looks at the wall clock
MAX_NAME_LEN = 64  # list names, sysctl and event names, policy_state's file names
MAX_TRACE_LEN = 256  # a trace message is cut here, as bpf_printk's buffer
MAX_MESSAGE_LEN = 512  # what an exception of the policy's code says in its ejection, at most
MAX_EVENT_COUNT = 1 << 32  # count_event, workingset_age_nonresident
INT64_LIMIT = 1 << 63  # answers and per-folio data are int64
MAX_STATE_FILES = 16  # entries of policy_state's answer; names are MAX_NAME_LEN characters of _STATE_NAME
MAX_STATE_TEXT = 1 << 16  # bytes (UTF-8) of one of them
_STATE_NAME = re.compile(r"[A-Za-z0-9._-]+")

_INTS = frozenset({int}) | NUMPY_INTS  # an integer argument: not a bool, not a float
_BOOLS = frozenset({bool, np.bool_})
_INT64 = np.dtype(np.int64)
_UINT64 = np.dtype(np.uint64)
# what SandboxContext._folios makes of an empty array: the helpers that
# change something have nothing to do (read-only: the core never writes it)
_NO_IDS = np.empty(0, np.int64)
_NO_IDS.setflags(write=False)


@dataclass(frozen=True)
class SandboxLimits:
    """What one call of a policy may use. The defaults suit a real run;
    tests shrink them."""

    # The verifier bounds a call at COST_LIMIT statements, which checked
    # helpers in Python may take a second or two to run: the deadline is
    # above that, and a slow call (a naive per-folio loop over a full batch
    # takes some 30 ms) is one well above what a batch should cost.
    budget: int = surface.COST_LIMIT  # loop iterations (back edges) per call
    deadline_ns: int = 2_000_000_000  # wall time of one call before DEADLINE
    slow_ns: int = 100_000_000  # a call longer than this is slow...
    max_slow_calls: int = 16  # ...and this many slow calls...
    slow_window: int = 256  # ...among the last this many calls eject (SLOW)
    max_list_len: int = 1 << 20  # elements of a list or tuple a policy builds
    max_compare_items: int = 1 << 22  # items one comparison, `in`, max() or min() may touch (a str counts its length)
    max_str_len: int = 1 << 16  # characters of a string a policy builds; items and characters str() of a container prints
    int_bits: int = surface.INT_LIMIT.bit_length() - 1  # |x| < 2**int_bits for the ints *, **, <<, + produce
    max_lists: int = 4096  # lists a policy may create (each costs the core memory)
    max_peek: int = 1 << 20  # list_peek's n


def _brief(value: object) -> str:
    """A policy's value in a message: its repr, cut short (a list may hold a million items)."""
    return _SHORT_REPR.repr(value)


_SHORT_REPR = reprlib.Repr()
_SHORT_REPR.maxstring = _SHORT_REPR.maxother = 60


def _resource(message: str) -> PolicyFault:
    return PolicyFault(ExitKind.RESOURCE, message)


def _forbidden(message: str) -> PolicyFault:
    return PolicyFault(ExitKind.ERROR, message)


# ----------------------------------------------------------------------
# The back-edge counter
# ----------------------------------------------------------------------
class BackEdgeCounter:
    """``_tick_``: the budget of loop iterations of one call, and the
    deadline, BPF's may_goto with sched_ext's watchdog folded in.

    ``_tick_`` in the policy's namespace is the ``__next__`` of an
    itertools.chain that iterates ``repeat(None, n)`` chunks this object
    hands out: a tick is one C call, and every CLOCK_CHECK_EVERY ticks
    chain asks for the next chunk, which is where the budget and the clock
    are checked. ``arm()`` starts a call; a chain that was drawn from is
    replaced so no call inherits the rest of another's chunk.
    """

    def __init__(self, limits: SandboxLimits, namespace: dict[str, Any]) -> None:
        self._budget = limits.budget
        self._deadline_ns = limits.deadline_ns
        self._namespace = namespace
        self._left = 0
        self._until = 0
        self._drawn = True  # the namespace has no chain yet

    def arm(self, now_ns: int) -> None:
        """A new call starts at now_ns: a full budget, a fresh deadline."""
        self._left = self._budget
        self._until = now_ns + self._deadline_ns
        if self._drawn:
            self._drawn = False
            self._namespace["_tick_"] = chain.from_iterable(self).__next__

    def __iter__(self) -> BackEdgeCounter:
        return self

    def __next__(self) -> Iterator[None]:
        self._drawn = True
        if self._left <= 0:
            raise PolicyFault(ExitKind.BUDGET, f"more than {self._budget} loop iterations in one call "
                                               "(a loop bound the verifier could not see)")
        if perf_counter_ns() > self._until:
            raise PolicyFault(ExitKind.DEADLINE, f"one call ran past its deadline of {self._deadline_ns / 1e6:g} ms")
        n = min(self._left, CLOCK_CHECK_EVERY)
        self._left -= n
        return repeat(None, n)


# ----------------------------------------------------------------------
# Guards that need no limits: attributes, items, iteration, writes
# ----------------------------------------------------------------------
_SUBSCRIPTABLE = frozenset({list, tuple, dict, str, range})
_ARRAY_KEYS = frozenset({int, slice, np.ndarray}) | NUMPY_INTS  # no tuple, None or list: arrays stay 1-D
_ITERABLE = frozenset({range, list, tuple, np.ndarray, enumerate, dict})
_ENUM_CLASSES = (PutbackReason, ReclaimReason)
_ENUM_ATTRIBUTES = frozenset(surface.ATTRIBUTES_BY_TYPE["enum"])


def _getattr_(obj: object, name: str) -> object:
    allowed = _ATTRIBUTES_BY_TYPE.get(type(obj))
    if allowed is not None and name in allowed:
        return getattr(obj, name)
    if type(obj) is EnumType and obj in _ENUM_CLASSES and name in _ENUM_ATTRIBUTES:
        return getattr(obj, name)
    raise _forbidden(f"a policy may not read the attribute {name!r} of a {type(obj).__name__}")


def _getitem_(obj: object, key: object) -> object:
    """An array first (a policy indexes its batches far more than its
    lists): by an int, a slice, a numpy int, or an array of bools or ints;
    then the plain containers, by anything they take."""
    kind = type(obj)
    if kind is np.ndarray:
        tk = type(key)
        if tk is int or (tk is np.ndarray and key.dtype.kind in "biu") or tk is slice or tk in NUMPY_INTS:
            return obj[key]
        what = f"a {key.dtype} array" if tk is np.ndarray else f"a {tk.__name__}"
        raise _forbidden(f"an array is indexed by an int, a slice or an array of bools or ints, not by {what}")
    if kind in _SUBSCRIPTABLE:
        return obj[key]
    raise _forbidden(f"a policy may not index a {kind.__name__}")


def _getiter_(obj: object) -> object:
    if type(obj) in _ITERABLE:
        return obj
    raise _forbidden(f"a policy may not iterate over a {type(obj).__name__}")


class _ArrayItems:
    """What ``_write_`` hands out for an array: ``a[i] = v`` works,
    ``a.shape = ...`` does not, and a list value (which numpy would
    expand, however nested) is refused."""

    __slots__ = ("_array",)

    def __init__(self, array: np.ndarray) -> None:
        self._array = array

    def __setitem__(self, key: object, value: object) -> None:
        if type(value) is list or type(value) is tuple or type(key) not in _ARRAY_KEYS:
            raise _forbidden("an array item is set from a number or an array, at an int, a slice or an array")
        self._array[key] = value


# ----------------------------------------------------------------------
# Guards with limits: arithmetic, sequences, unpacking
# ----------------------------------------------------------------------
def _is_python_int(x: object) -> bool:
    return type(x) is int or type(x) is bool


def _is_numpy(x: object) -> bool:
    return isinstance(x, (np.ndarray, np.generic))


# what numpy converts to an array when it meets one next to an array: a
# nested list becomes an array of the product of its lengths, a range one
# of its length, in C
_SEQUENCES = (list, tuple, range)


def _no_list_into_numpy(a: object, b: object, symbol: str) -> None:
    """Refuse a list, tuple or range next to a numpy array or scalar (RESOURCE):
    numpy would convert it in C, however large, where neither the back-edge
    counter nor the clock can stop it (``[[0] * 1024] * 1048576`` is 8 GB).
    An array combines with arrays and numbers only."""
    if isinstance(b, _SEQUENCES) and _is_numpy(a):
        a, b = b, a
    elif not (isinstance(a, _SEQUENCES) and _is_numpy(b)):
        return
    raise _resource(f"{symbol}: an array combines with arrays and numbers, not with a {type(a).__name__} "
                    "(numpy would convert it, however large)")


# Operands a comparison or an arithmetic operator handles in O(1): Python's
# and numpy's numbers (numpy's are fixed-width: they wrap, they never grow).
_NUMBERS = frozenset({int, float, bool, np.bool_}) | NUMPY_INTS | NUMPY_FLOATS
_ENUMS = frozenset({PutbackReason, ReclaimReason})  # IntEnum members: ints
# What an operator or a comparison applies as it is, without a look at the
# values: numbers, and arrays next to arrays or numbers (elementwise, in
# O(their size), into a fixed-width result; numpy converts nothing). The
# guards test these first; anything else (a list, a str, None, ...) takes
# their generic path.
_SCALARS = _NUMBERS | _ENUMS
_OPERANDS = _SCALARS | {np.ndarray}
# numpy's side of an operation: its result is numpy's, fixed-width, so an
# int operand next to it cannot grow (an int beyond 64 bits is numpy's
# OverflowError)
_NUMPY_OPERANDS = frozenset({np.ndarray, np.bool_}) | NUMPY_INTS | NUMPY_FLOATS
# items a sequence may hold for it to be compared item by item in O(1) each
_FLAT_ITEMS = _NUMBERS | _ENUMS | {type(None)}
_NESTED_STEP = 64  # what walking one nested item in Python costs, in compared items


# ----------------------------------------------------------------------
# Flat containers
# ----------------------------------------------------------------------
# What a list or a tuple may hold, besides a 1-D array: never a list, a
# tuple, a dict, a range or anything else that holds or walks other values.
_FLAT_ELEMENTS = _FLAT_ITEMS | {str}
FLAT_MESSAGE = ("containers in a policy are flat: a list or tuple holds numbers, strings and arrays; "
                "keep structure in maps")
FLAT_VALUE_MESSAGE = ("containers in a policy are flat: {what} is a number, a string, an array or a list or tuple "
                      "of those; keep structure in maps")


def _flat_array(x: object) -> bool:
    """A 1-D array of numbers (numpy expands neither its items nor its shape)."""
    return type(x) is np.ndarray and x.ndim == 1 and not x.dtype.hasobject


def _not_flat(x: object) -> PolicyFault:
    return _resource(f"{FLAT_MESSAGE} (not a {type(x).__name__})")


def _check_elements(elements: tuple | list) -> None:
    """A display's few elements, one by one (faster than a C loop for two)."""
    for x in elements:
        if type(x) not in _FLAT_ELEMENTS and not _flat_array(x):
            raise _not_flat(x)


_FLAT = object()  # what _not_flat_element finds in a flat sequence


def _not_flat_element(elements: tuple | list) -> object:
    """The first element of a sequence of any length that a list may not
    hold, or _FLAT: a C loop over the types, then one by one only if
    something is not a number, a str or None (an array, or worse)."""
    if not _FLAT_ELEMENTS.issuperset(map(type, elements)):
        for x in elements:
            if type(x) not in _FLAT_ELEMENTS and not _flat_array(x):
                return x
    return _FLAT


def _check_value(value: object, what: str) -> None:
    """What a dict may hold as a value (and ScanDecision and Victims as a
    field): an element of a list, or a flat list or tuple."""
    kind = type(value)
    if kind in _FLAT_ELEMENTS or _flat_array(value):
        return
    message = FLAT_VALUE_MESSAGE.format(what=what)
    if kind is list or kind is tuple:
        inner = _not_flat_element(value)
        if inner is _FLAT:
            return
        raise _resource(f"{message} (not a {kind.__name__} holding a {type(inner).__name__})")
    raise _resource(f"{message} (not a {kind.__name__})")


def _check_key(key: object) -> None:
    """A dict key hashes in O(1): a number, a str or None."""
    if type(key) not in _FLAT_ITEMS and type(key) is not str:
        raise _resource(f"containers in a policy are flat: a dict's keys are numbers and strings, not a "
                        f"{type(key).__name__}; keep structure in maps")


def _list_(*elements: object) -> list:
    """``[a, b]``: a list of numbers, strings, None and 1-D arrays."""
    _check_elements(elements)
    return list(elements)


def _tuple_(*elements: object) -> tuple:
    """``(a, b)``: a tuple of numbers, strings, None and 1-D arrays."""
    _check_elements(elements)
    return elements


def _dict_(keys: tuple | list, values: tuple | list) -> dict:
    """``{"k": v, 1: w}`` as ``_dict_(("k", 1), (v, w))``: keys are the
    verifier's constants, values flat (no dict, no nested list or tuple)."""
    if len(keys) != len(values):
        raise _forbidden(f"a dict display of {len(keys)} keys and {len(values)} values")
    for key in keys:
        _check_key(key)
    for value in values:
        _check_value(value, "a dict's value")
    return dict(zip(keys, values))


class _ListItems:
    """What ``_write_`` hands out for a list: ``xs[i] = v`` with v what a
    list may hold, ``xs[a:b] = ys`` with ys a flat list or tuple and the
    result within the list limit (a list assigned an iterable would draw
    it whole, in C: ``xs[:] = range(10**18)``)."""

    __slots__ = ("_list",)
    _max_len = 0  # the list limit: make_guards subclasses this per policy

    def __setitem__(self, key: object, value: object) -> None:
        if type(value) in _FLAT_ELEMENTS and type(key) is not slice:  # xs[i] = 5
            self._list[key] = value
        elif type(key) is slice:
            self._set_slice(key, value)
        elif _flat_array(value):
            self._list[key] = value
        else:
            raise _not_flat(value)

    def _set_slice(self, key: slice, value: object) -> None:
        if type(value) is not list and type(value) is not tuple:
            raise _forbidden(f"a slice of a list is set from a list or a tuple, not a {type(value).__name__}")
        inner = _not_flat_element(value)
        if inner is not _FLAT:
            raise _not_flat(inner)
        items = self._list
        length = len(items) - len(range(*key.indices(len(items)))) + len(value)
        if length > self._max_len:
            raise _resource(f"slice assignment: a list of {length} elements, more than the {self._max_len} a "
                            "policy may build")
        items[key] = value


class _DictItems:
    """What ``_write_`` hands out for a dict: ``d[k] = v`` with k a number
    or a str and v what a dict display may hold."""

    __slots__ = ("_dict",)

    def __init__(self, items: dict) -> None:
        self._dict = items

    def __setitem__(self, key: object, value: object) -> None:
        _check_key(key)
        _check_value(value, "a dict's value")
        self._dict[key] = value


def _flat_fields(cls: type) -> Callable:
    """ScanDecision and Victims as a policy calls them: their fields hold
    what a dict may (a ScanDecision of ScanDecisions would nest as lists
    do); the object built is the interface's own."""
    what = f"a field of {cls.__name__}"

    def build(*args: object, **kwargs: object) -> object:
        for value in args:
            _check_value(value, what)
        for value in kwargs.values():
            _check_value(value, what)
        return cls(*args, **kwargs)

    build.__name__ = build.__qualname__ = cls.__name__
    return build


_FLAT_TYPES = {"ScanDecision": _flat_fields(ScanDecision), "Victims": _flat_fields(Victims)}


# ----------------------------------------------------------------------
# Weighing what C walks: comparisons, str(), max(), min()
# ----------------------------------------------------------------------
# what compares item by item (an array compares elementwise, in O(its size))
_COLLECTIONS = (list, tuple, set, frozenset)
_CONTAINERS = (*_COLLECTIONS, dict)


def _compared_items(x: object, left: int, symbol: str, doing: str = "compare") -> int:
    """`left` minus the items comparing, hashing or printing x can touch,
    in C: a list, tuple or dict counts its items (a dict its keys and its
    values) plus what they touch, a str its length, an array its size.
    Shared structure counts each time it is reached (``[s] * 1024`` with s
    a string of 60000 characters is some 60 million), as the comparison
    reaches it. Raises RESOURCE once `left` runs out, and each item that is not a
    number costs _NESTED_STEP more, so the walk in Python is short too.

    Containers are flat (a list or tuple holds numbers, strings, None and
    arrays; a dict those and flat lists), so the walk is two levels deep
    at most, but a length alone is not the weight: a list of a million
    long strings or of arrays is a flat one."""
    if isinstance(x, _COLLECTIONS):
        left -= len(x)
        if left >= 0 and not _FLAT_ITEMS.issuperset(map(type, x)):  # a C loop for the flat lists of numbers
            for item in compress(x, map(operator.not_, map(_FLAT_ITEMS.__contains__, map(type, x)))):
                left = _compared_items(item, left - _NESTED_STEP, symbol, doing)
    else:
        kind = type(x)
        if kind is str:
            left -= len(x)
        elif kind is dict:
            left = _compared_items(tuple(x.values()), _compared_items(tuple(x), left, symbol, doing), symbol, doing)
        elif kind is np.ndarray:
            left -= x.size
        elif kind is ScanDecision:  # a dataclass: == compares its fields, repr prints them
            left = _compared_items((x.scan, x.age, x.batch), left, symbol, doing)
        else:
            left -= 1
    if left < 0:
        what = "a comparison of more items" if doing == "compare" else "more items"
        raise _resource(f"{symbol}: {what} than a policy may {doing} at once (long lists, strings or arrays)")
    return left


def make_guards(limits: SandboxLimits) -> dict[str, Callable]:
    """The guards a policy's compiled code calls, bound to its limits.

    Each arithmetic guard takes the common case (two ints that fit, a
    float) in a few comparisons and leaves the rest to a slow path."""
    bits = limits.int_bits
    int_limit = 1 << bits
    neg_limit = -int_limit
    max_list, max_str = limits.max_list_len, limits.max_str_len

    def too_big(symbol: str) -> PolicyFault:
        return _resource(f"{symbol}: an integer beyond {bits} bits")

    def fits(value: int, symbol: str) -> int:
        if neg_limit < value < int_limit:
            return value
        raise too_big(symbol)

    def sequence_limit(x: object) -> int | None:
        if isinstance(x, str):
            return max_str
        if isinstance(x, (list, tuple)):
            return max_list
        return None

    def check_length(length: int, limit: int, symbol: str) -> None:
        if length > limit:
            raise _resource(f"{symbol}: a sequence of {length} elements, more than the {limit} a policy may build")

    # -- * -----------------------------------------------------------------
    def int_product(a: int, b: int) -> int:
        if a.bit_length() + b.bit_length() > 2 * bits:
            raise too_big("*")
        return fits(a * b, "*")

    def mul_other(a: object, b: object) -> object:
        if _is_python_int(a) and _is_python_int(b):
            return _mul_(int(a), int(b))
        for seq, n in ((a, b), (b, a)):
            limit = sequence_limit(seq)
            if limit is not None and isinstance(n, (int, np.integer)):
                check_length(len(seq) * int(n), limit, "*")
                return a * b
        _no_list_into_numpy(a, b, "*")
        return a * b

    def _mul_(a: object, b: object) -> object:
        ta = type(a)
        tb = type(b)
        if ta is int and tb is int:
            if a.bit_length() + b.bit_length() <= bits:
                return a * b
            return int_product(a, b)
        if (ta in _NUMPY_OPERANDS and tb in _OPERANDS) or (tb in _NUMPY_OPERANDS and ta in _OPERANDS):
            return a * b  # an array (or a numpy number) and a number or an array: fixed-width
        if ta is float or tb is float:
            return a * b
        return mul_other(a, b)

    # -- ** ----------------------------------------------------------------
    def int_power(a: int, b: int) -> int | float:
        if b < 0 or -1 <= a <= 1:  # a float, or 0 and ±1 at any power: small
            return a**b
        if b > bits or a.bit_length() > bits:
            raise too_big("**")
        return fits(a**b, "**")

    def _pow_(a: object, b: object) -> object:
        if type(a) is int and type(b) is int:
            return int_power(a, b)
        if type(a) is float or type(b) is float:
            return a**b
        if _is_python_int(a) and _is_python_int(b):
            return int_power(int(a), int(b))
        _no_list_into_numpy(a, b, "**")
        return a**b

    # -- << ----------------------------------------------------------------
    def _lshift_(a: object, b: object) -> object:
        if _is_python_int(a) and _is_python_int(b):
            a, b = int(a), int(b)
            if a != 0 and b > 0 and a.bit_length() + b > bits:
                raise too_big("<<")
            return a << b
        _no_list_into_numpy(a, b, "<<")
        return a << b

    # -- + -----------------------------------------------------------------
    def add_other(a: object, b: object) -> object:
        limit = sequence_limit(a)
        if limit is not None and sequence_limit(b) == limit:
            check_length(len(a) + len(b), limit, "+")
            return a + b
        if _is_python_int(a) and _is_python_int(b):
            return fits(int(a) + int(b), "+")
        _no_list_into_numpy(a, b, "+")
        return a + b

    def _add_(a: object, b: object) -> object:
        ta = type(a)
        tb = type(b)
        if ta is int and tb is int:
            total = a + b
            if neg_limit < total < int_limit:
                return total
            raise too_big("+")
        if (ta in _NUMPY_OPERANDS and tb in _OPERANDS) or (tb in _NUMPY_OPERANDS and ta in _OPERANDS):
            return a + b  # an array (or a numpy number) and a number or an array: fixed-width
        if ta is float or tb is float:
            return a + b
        return add_other(a, b)

    # -- % -----------------------------------------------------------------
    def _mod_(a: object, b: object) -> object:
        if type(a) is int and type(b) is int:
            return a % b
        if isinstance(a, (str, bytes)):
            raise _forbidden("%: a policy may not %-format strings (build them with + and str())")
        _no_list_into_numpy(a, b, "%")
        return a % b

    # -- - / // & | ^ >> ------------------------------------------------------
    binary = {"-": operator.sub, "/": operator.truediv, "//": operator.floordiv, "&": operator.and_,
              "|": operator.or_, "^": operator.xor, ">>": operator.rshift}

    def unknown(kind: str, op: object) -> PolicyFault:
        return _forbidden(f"the {kind} {_brief(op)} is not allowed")

    def binop_other(op: str, a: object, b: object) -> object:
        apply = binary.get(op)
        if apply is None:
            raise unknown("operator", op)
        _no_list_into_numpy(a, b, op)
        result = apply(a, b)
        return result if type(result) is not int else fits(result, op)

    def _binop_(op: str, a: object, b: object) -> object:
        """``a - b`` and the other operators that cannot build a large value
        from small ones: only an int result is checked (``-`` grows by a
        bit; ``&`` and ``^`` can reach -2**64; an int from int() of a huge
        float is caught when it is next computed with). Numbers and arrays
        (an array next to an array or a number) take the fast path."""
        ta = type(a)
        tb = type(b)
        if (ta is int or ta in _OPERANDS) and (tb is int or tb in _OPERANDS):
            if op == "-":  # the most common, inline
                result = a - b
            else:
                try:
                    apply = binary[op]
                except KeyError:
                    raise unknown("operator", op) from None
                result = apply(a, b)
            if type(result) is not int or neg_limit < result < int_limit:
                return result
            raise too_big(op)
        return binop_other(op, a, b)

    # -- == != < <= > >= in, not in --------------------------------------------
    comparisons = {"==": operator.eq, "!=": operator.ne, "<": operator.lt, "<=": operator.le, ">": operator.gt,
                   ">=": operator.ge}
    max_compare = limits.max_compare_items

    def contains(b: object, a: object, op: str) -> bool:
        """``a in b``, in a container whose search is bounded: a range
        searches by arithmetic for an int only (for anything else it walks
        every number in C, ``0.5 in range(10**18)``); a list or tuple
        compares `a` with each item; a dict or set hashes `a`."""
        kind = type(b)
        if kind is range:
            ta = type(a)
            if ta is int or ta is bool:
                return a in b
            if ta in NUMPY_INTS or ta is np.bool_:
                return int(a) in b
            if ta is float or ta in NUMPY_FLOATS:
                return float(a).is_integer() and int(a) in b
            raise _forbidden(f"{op}: a range holds ints only, not a {ta.__name__}")
        if isinstance(b, (list, tuple)):
            left = _compared_items(b, max_compare, op)
            if type(a) not in _FLAT_ITEMS and type(a) is not str:  # compared with each item in turn
                _compared_items(a, left // max(len(b), 1), op)
            return a in b
        if kind is dict or kind is set or kind is frozenset:
            if isinstance(a, tuple):  # a tuple's hash is its items' (not cached)
                _compared_items(a, max_compare, op)
            return a in b
        if kind is str:
            return a in b
        if kind is np.ndarray or isinstance(b, np.generic):
            _no_list_into_numpy(a, b, op)
            return a in b
        raise _forbidden(f"{op}: membership is tested in a list, tuple, dict, set, str, range or array only "
                         f"(here: a {kind.__name__})")

    def compare_other(op: str, a: object, b: object) -> object:
        if op == "in":
            return contains(b, a, op)
        if op == "not in":
            return not contains(b, a, op)
        apply = comparisons.get(op)
        if apply is None:
            raise unknown("comparison", op)
        ta, tb = type(a), type(b)
        if ta in _NUMBERS and tb in _NUMBERS:
            return apply(a, b)
        _no_list_into_numpy(a, b, op)
        if (isinstance(a, _CONTAINERS) or ta is ScanDecision) and (isinstance(b, _CONTAINERS) or tb is ScanDecision):
            # two containers compare item by item, however deeply nested
            _compared_items(b, _compared_items(a, max_compare, op), op)
        return apply(a, b)

    def _compare_(op: str, a: object, b: object) -> object:
        """``a < b`` and the other comparisons. Two numbers (Python's,
        numpy's, the reason enums) compare as they are (an int from int()
        of a huge float included: comparing it is cheap, and it is caught
        when it is next computed with), and so does an array next to an
        array or a number (elementwise)."""
        ta = type(a)
        tb = type(b)
        if (ta is int or ta in _OPERANDS) and (tb is int or tb in _OPERANDS):
            try:
                apply = comparisons[op]
            except KeyError:  # `in` and `not in`: a number is no container; or an unknown symbol
                return compare_other(op, a, b)
            return apply(a, b)
        return compare_other(op, a, b)

    # -- x op= y: the same guard as x = x op y --------------------------------
    inplace = {
        "+=": _add_, "*=": _mul_, "%=": _mod_, "**=": _pow_, "<<=": _lshift_,
        **{symbol + "=": partial(_binop_, symbol) for symbol in binary},
    }

    def _inplacevar_(op: str, a: object, b: object) -> object:
        """``x op= y`` rebinds x to ``x op y``: a list is not extended in
        place, which changes nothing for a policy (its lists are local)."""
        if op == "+=" and type(a) is int and type(b) is int:  # the loop counter
            total = a + b
            if neg_limit < total < int_limit:
                return total
        apply = inplace.get(op)
        if apply is None:
            raise _forbidden(f"the operator {op} is not allowed")
        return apply(a, b)

    # -- writes ----------------------------------------------------------------
    list_items = type("_ListItems", (_ListItems,), {"__slots__": (), "_max_len": max_list})
    new = object.__new__

    def _write_(obj: object) -> object:
        """``x[k] = v`` is ``_write_(x)[k] = v``: only into a list, a dict or
        an array, through a wrapper that keeps it flat (and an array 1-D)."""
        kind = type(obj)
        if kind is np.ndarray:  # a per-folio flag set in a loop
            items = new(_ArrayItems)
            items._array = obj
            return items
        if kind is list:
            items = new(list_items)
            items._list = obj
            return items
        if kind is dict:
            return _DictItems(obj)
        raise _forbidden(f"a policy may not change a {kind.__name__}")

    # -- unpacking -----------------------------------------------------------
    def _unpack_sequence_(it: object, spec: dict, getiter: Callable) -> object:
        """``a, (b, c) = it``: a tuple unpacks as it is; anything else is
        drawn through _getiter_, at most the list limit of items."""
        if type(it) is tuple and not spec["childs"]:
            return it
        items = list(islice(getiter(it), max_list + 1))
        check_length(len(items), max_list, "unpacking")
        if len(items) >= spec["min_len"]:  # shorter: Python's own unpacking raises
            for index, child in spec["childs"]:
                items[index] = _unpack_sequence_(items[index], child, getiter)
        return items

    def _iter_unpack_sequence_(it: object, spec: dict, getiter: Callable) -> Iterator[object]:
        """``for a, b in it``: each item unpacked as above."""
        for item in getiter(it):
            yield _unpack_sequence_(item, spec, getiter)

    return {
        "_mul_": _mul_, "_pow_": _pow_, "_lshift_": _lshift_, "_add_": _add_, "_mod_": _mod_,
        "_binop_": _binop_, "_compare_": _compare_, "_inplacevar_": _inplacevar_,
        "_unpack_sequence_": _unpack_sequence_, "_iter_unpack_sequence_": _iter_unpack_sequence_,
        "_getattr_": _getattr_, "_getitem_": _getitem_, "_getiter_": _getiter_, "_write_": _write_,
        "_list_": _list_, "_tuple_": _tuple_, "_dict_": _dict_,
    }


# ----------------------------------------------------------------------
# The builtins that walk their arguments in C: str, max, min, divmod
# ----------------------------------------------------------------------
_SAFE_BUILTINS = {name: getattr(builtins, name) for name in surface.SAFE_BUILTINS}
_PRINTS_IN_O1 = _FLAT_ELEMENTS | {np.ndarray}  # str of an array: numpy summarizes past 1000 items
_NOTHING = object()  # an argument not given


def make_builtins(limits: SandboxLimits) -> dict[str, Callable]:
    """The builtins a policy calls (surface.SAFE_BUILTINS), with str, max
    and min weighed first, and divmod, like max and min, refusing a list,
    tuple or range next to numpy (which would convert it in C).

    Flat containers are not enough to bound them: ``str([s] * 2**20)`` with
    s a string of 65536 characters builds 64 GB, ``str([a] * 2**20)`` with
    a an array runs numpy's printing a million times (20 s), and
    ``max(xs, ys)`` over two such lists of distinct equal strings compares
    for seconds, all in C. A number, a str or an array takes the fast path;
    a container is weighed as ``_compare_`` weighs one: str() against
    max_str_len (a container of that many items and characters prints in
    tens of milliseconds), max() and min() against max_compare_items."""
    max_str, max_compare = limits.max_str_len, limits.max_compare_items
    builtin_str, builtin_max, builtin_min, builtin_divmod = builtins.str, builtins.max, builtins.min, builtins.divmod

    def str_(value: object = "", *args: object, **kwargs: object) -> str:
        if type(value) not in _PRINTS_IN_O1:
            _compared_items(value, max_str, "str()", "print")
        if args or kwargs:
            raise _forbidden("str() takes one value (a policy has no bytes to decode)")
        return builtin_str(value)

    def ordered(fn: Callable, name: str) -> Callable:
        def guarded(a: object = _NOTHING, b: object = _NOTHING, *rest: object, **kwargs: object) -> object:
            if type(a) in _NUMBERS and type(b) in _NUMBERS and not rest and not kwargs:
                return fn(a, b)
            if b is _NOTHING or kwargs:
                raise _forbidden(f"{name}() takes two or more values and no keywords (over one iterable, or with a "
                                 "key, it loops in C)")
            args = (a, b, *rest)
            if any(map(_is_numpy, args)) and any(isinstance(x, _SEQUENCES) for x in args):
                raise _resource(f"{name}(): an array combines with arrays and numbers, not with a list, tuple or "
                                "range (numpy would convert it, however large)")
            _compared_items(args, max_compare, f"{name}()")
            return fn(*args)

        guarded.__name__ = guarded.__qualname__ = name
        return guarded

    def divmod_(a: object, b: object) -> tuple:
        if type(a) not in _NUMBERS or type(b) not in _NUMBERS:
            _no_list_into_numpy(a, b, "divmod()")
        return builtin_divmod(a, b)

    str_.__name__ = str_.__qualname__ = "str"
    divmod_.__name__ = divmod_.__qualname__ = "divmod"
    return {**_SAFE_BUILTINS, "str": str_, "max": ordered(builtin_max, "max"), "min": ordered(builtin_min, "min"),
            "divmod": divmod_}


# ----------------------------------------------------------------------
# The context a sandboxed policy is handed
# ----------------------------------------------------------------------
def _refuse(helper: str, what: str) -> PolicyFault:
    return PolicyFault(ExitKind.HELPER, f"{helper}: {what}")


class SandboxContext:
    """hooks.context.Context for an untrusted policy: each helper checks
    its arguments, then asks the core's CoreContext.

    The core's helpers trust their caller: a folio id out of range is an
    IndexError deep in numpy, a folio named twice in list_add corrupts a
    list's length, a negative count runs a counter backwards. Here each
    argument is checked against the machine (folio ids in [0, nr_pages),
    lruvecs the machine has, lists this policy created) and a refusal is a
    PolicyFault(HELPER) naming the helper and the argument.

    The context also notes the folios the policy takes off a list with
    list_del, and the lists they were on, so that the sandbox can check at
    the end of the call that each is on a list again (a move done in two
    steps), and put back where it was any that is not.
    """

    def __init__(self, core: Any, nr_pages: int, limits: SandboxLimits) -> None:
        self._core = core
        self._nr_pages = nr_pages
        self._limits = limits
        self.nr_nodes = int(core.nr_nodes)
        self.lruvecs = tuple(int(v) for v in core.lruvecs)
        # the verifier bounds a loop over ctx.lruvecs or range(ctx.nr_nodes) by the largest machine
        max_lruvecs = getattr(surface, "MAX_LRUVECS", 4096)
        max_nodes = getattr(surface, "MAX_NUMNODES", 1024)
        if len(self.lruvecs) > max_lruvecs or self.nr_nodes > max_nodes:
            raise PolicyFault(ExitKind.HELPER, f"the machine has {len(self.lruvecs)} lruvecs and {self.nr_nodes} nodes; "
                                               f"a sandboxed policy attaches to at most {max_lruvecs} lruvecs and "
                                               f"{max_nodes} nodes (the verifier bounds its loops over ctx.lruvecs "
                                               "and range(ctx.nr_nodes) by them)")
        self._lruvec_set = frozenset(self.lruvecs)
        self._lists: set[int] = set()
        self._detached: list[tuple[np.ndarray, np.ndarray]] = []  # (folios, their lists) list_del took them off, this call
        # The batch the running call was handed (SandboxedPolicy sets it): a
        # read-only view of the core's own array, so its ids are in range.
        self._batch: np.ndarray | None = None

    # -- argument checks ------------------------------------------------------
    def _resident(self, helper: str, ids: FolioIds) -> FolioIds:
        """Checked ids a setter may change: a folio out of memory has no
        state a policy may set (the page is gone; its shadow entry is the
        core's). The core's own context leaves this to the sandbox: the
        built-ins never ask, and it would cost every run a pass per batch."""
        lruvecs = np.atleast_1d(self._core.folio_lruvec(ids))
        if (lruvecs < 0).any():
            raise _refuse(helper, f"folio {int(np.atleast_1d(ids)[lruvecs < 0][0])} is not resident")
        return ids

    def _folios(self, helper: str, folios: object) -> FolioIds:
        """One folio id or a 1-D integer array of them, each in [0, nr_pages).

        The batch the call was handed is the core's (read-only: the policy
        cannot change an id in it) and passes as it is; an empty array is
        _NO_IDS, which list_add, list_del and the setters take as nothing
        to do."""
        if folios is self._batch:
            return folios
        if type(folios) is np.ndarray:
            dtype = folios.dtype
            if folios.ndim != 1 or (dtype.kind not in "iu" and folios.size):
                raise _refuse(helper, f"folios must be one id or a 1-D array of ids, not a {folios.ndim}-D {dtype} array")
            if not folios.size:
                return _NO_IDS
            ids = folios if dtype is _INT64 else folios.astype(np.int64)
            # negative ids become huge as uint64: one reduction checks both ends
            if np.maximum.reduce(ids.view(_UINT64)) >= self._nr_pages:
                bad = ids[(ids < 0) | (ids >= self._nr_pages)][0]
                raise _refuse(helper, f"{bad} is not a folio id (0..{self._nr_pages - 1})")
            return ids
        if type(folios) in _INTS:
            if 0 <= folios < self._nr_pages:
                return int(folios)
            raise _refuse(helper, f"{folios} is not a folio id (0..{self._nr_pages - 1})")
        raise _refuse(helper, f"folios must be an int or an array of ids, not a {type(folios).__name__}")

    def _lruvec(self, helper: str, lruvec: object) -> int:
        if type(lruvec) in _INTS and lruvec in self._lruvec_set:
            return int(lruvec)
        served = ", ".join(map(str, self.lruvecs))
        raise _refuse(helper, f"{_brief(lruvec)} is not one of the lruvecs this policy serves (ctx.lruvecs: {served})")

    def _list(self, helper: str, lst: object) -> int:
        if type(lst) in _INTS and lst in self._lists:
            return int(lst)
        raise _refuse(helper, f"{_brief(lst)} is not a list this policy created with list_create")

    @staticmethod
    def _count(helper: str, name: str, value: object, limit: int) -> int:
        if type(value) in _INTS and 0 <= value <= limit:
            return int(value)
        raise _refuse(helper, f"{name} must be an int in 0..{limit}, not {_brief(value)}")

    @staticmethod
    def _flag(helper: str, name: str, value: object) -> bool:
        if type(value) in _BOOLS or (type(value) in _INTS and value in (0, 1)):
            return bool(value)
        raise _refuse(helper, f"{name} must be a bool, not {_brief(value)}")

    @staticmethod
    def _text(helper: str, name: str, value: object, limit: int) -> str:
        if type(value) is str and len(value) <= limit:
            return value
        raise _refuse(helper, f"{name} must be a str of at most {limit} characters, not {type(value).__name__}")

    @staticmethod
    def _mask(helper: str, mask: object) -> int:
        if type(mask) in _INTS and 0 <= mask and not mask & ~POLICY_WRITABLE_FLAGS:
            return int(mask)
        raise _refuse(helper, f"mask {_brief(mask)} is not made of POLICY_WRITABLE_FLAGS bits ({POLICY_WRITABLE_FLAGS:#x})")

    @staticmethod
    def _data(helper: str, ids: FolioIds, value: object) -> FolioIds:
        if type(value) in _INTS and -INT64_LIMIT <= value < INT64_LIMIT:
            return int(value)
        if (type(value) is np.ndarray and type(ids) is np.ndarray and value.shape == ids.shape
                and (not value.size or value.dtype.kind in "iu")):
            return value
        raise _refuse(helper, "value must be an int64 or an integer array as long as folios")

    # -- the machine -----------------------------------------------------------
    def lruvec_node(self, lruvec: int) -> int:
        return self._core.lruvec_node(self._lruvec("lruvec_node", lruvec))

    def lruvec_memcg(self, lruvec: int) -> int:
        return self._core.lruvec_memcg(self._lruvec("lruvec_memcg", lruvec))

    def memcg_path(self, memcg: int) -> str:
        if type(memcg) in _INTS:
            return self._core.memcg_path(int(memcg))
        raise _refuse("memcg_path", f"{_brief(memcg)} is not a memcg id")

    def node_pages(self, nid: int) -> int:
        if type(nid) in _INTS and 0 <= nid < self.nr_nodes:
            return self._core.node_pages(int(nid))
        raise _refuse("node_pages", f"{_brief(nid)} is not a node of this machine (0..{self.nr_nodes - 1})")

    def now(self) -> int:
        return self._core.now()

    def sysctl(self, name: str) -> int:
        return self._core.sysctl(self._text("sysctl", "name", name, MAX_NAME_LEN))

    def random(self) -> float:
        return self._core.random()

    def trace(self, message: str) -> None:
        if type(message) is not str:
            raise _refuse("trace", f"message must be a str, not {type(message).__name__}")
        self._core.trace(message[:MAX_TRACE_LEN])

    # -- folio facts -------------------------------------------------------------
    def folio_type(self, folios: FolioIds) -> FolioIds:
        return self._core.folio_type(self._folios("folio_type", folios))

    def folio_lruvec(self, folios: FolioIds) -> FolioIds:
        return self._core.folio_lruvec(self._folios("folio_lruvec", folios))

    def folio_flags(self, folios: FolioIds) -> FolioIds:
        return self._core.folio_flags(self._folios("folio_flags", folios))

    def folio_set_flags(self, folios: FolioIds, mask: int) -> None:
        ids, mask = self._folios("folio_set_flags", folios), self._mask("folio_set_flags", mask)
        if ids is not _NO_IDS:
            self._core.folio_set_flags(self._resident("folio_set_flags", ids), mask)

    def folio_clear_flags(self, folios: FolioIds, mask: int) -> None:
        ids, mask = self._folios("folio_clear_flags", folios), self._mask("folio_clear_flags", mask)
        if ids is not _NO_IDS:
            self._core.folio_clear_flags(self._resident("folio_clear_flags", ids), mask)

    def folio_data(self, folios: FolioIds) -> FolioIds:
        return self._core.folio_data(self._folios("folio_data", folios))

    def folio_set_data(self, folios: FolioIds, value: FolioIds) -> None:
        ids = self._folios("folio_set_data", folios)
        value = self._data("folio_set_data", ids, value)
        if ids is not _NO_IDS:
            self._core.folio_set_data(self._resident("folio_set_data", ids), value)

    def folio_mapcount(self, folios: FolioIds) -> FolioIds:
        return self._core.folio_mapcount(self._folios("folio_mapcount", folios))

    # -- the rmap ------------------------------------------------------------------
    def folio_referenced(self, folios: FolioIds) -> FolioIds:
        return self._core.folio_referenced(self._folios("folio_referenced", folios))

    def walk_mm(self, lruvec: int, types: tuple[int, ...] = LRU_TYPES) -> np.ndarray:
        lruvec = self._lruvec("walk_mm", lruvec)
        if (type(types) not in (tuple, list) or not 1 <= len(types) <= len(LRU_TYPES)
                or any(type(t) not in _INTS or t not in LRU_TYPES for t in types) or len(set(types)) != len(types)):
            raise _refuse("walk_mm", f"types must be distinct LRU types out of {LRU_TYPES}, not {_brief(types)}")
        return self._core.walk_mm(lruvec, tuple(int(t) for t in types))

    def look_around(self, folios: FolioIds) -> np.ndarray:
        ids = self._folios("look_around", folios)
        if ids is _NO_IDS:  # the core would hand back the array it was given
            return np.empty(0, np.int64)
        return self._core.look_around(ids)

    # -- lists ---------------------------------------------------------------------
    def list_create(self, lruvec: int, lru_type: int, active: bool, name: str) -> int:
        lruvec = self._lruvec("list_create", lruvec)
        if type(lru_type) not in _INTS or lru_type not in LRU_TYPES:
            raise _refuse("list_create", f"lru_type must be LRU_ANON or LRU_FILE, not {_brief(lru_type)}")
        active = self._flag("list_create", "active", active)
        name = self._text("list_create", "name", name, MAX_NAME_LEN)
        if len(self._lists) >= self._limits.max_lists:
            raise _refuse("list_create", f"a policy may create at most {self._limits.max_lists} lists")
        lst = self._core.list_create(lruvec, int(lru_type), active, name)
        self._lists.add(lst)
        return lst

    def ghost_list_create(self, lruvec: int, lru_type: int, name: str) -> int:
        lruvec = self._lruvec("ghost_list_create", lruvec)
        if type(lru_type) not in _INTS or lru_type not in LRU_TYPES:
            raise _refuse("ghost_list_create", f"lru_type must be LRU_ANON or LRU_FILE, not {_brief(lru_type)}")
        name = self._text("ghost_list_create", "name", name, MAX_NAME_LEN)
        if len(self._lists) >= self._limits.max_lists:
            raise _refuse("ghost_list_create", f"a policy may create at most {self._limits.max_lists} lists")
        lst = self._core.ghost_list_create(lruvec, int(lru_type), name)
        self._lists.add(lst)
        return lst

    def list_set_active(self, lst: int, active: bool) -> None:
        self._core.list_set_active(self._list("list_set_active", lst), self._flag("list_set_active", "active", active))

    def list_add(self, lst: int, folios: FolioIds, tail: bool = False) -> None:
        if (type(folios) is np.ndarray and not folios.size and folios.ndim == 1 and (tail is False or tail is True)
                and type(lst) in _INTS and lst in self._lists):
            return  # most of a vectorised policy's calls, a selection of nothing, checked inline
        lst = self._list("list_add", lst)
        ids = self._folios("list_add", folios)
        tail = self._flag("list_add", "tail", tail)
        if ids is _NO_IDS:  # empty, of another dtype or with tail given as 0 or 1
            return
        self._core.list_add(lst, ids, tail)

    def list_del(self, folios: FolioIds) -> None:
        ids = self._folios("list_del", folios)
        if ids is _NO_IDS:
            return
        ids = np.atleast_1d(ids)
        lists = self._core.folio_list(ids)
        # a resident folio must be on a list again by the end of the call;
        # one out of memory leaves its ghost list for good
        detached = (lists >= 0) & (self._core.folio_lruvec(ids) >= 0)
        if detached.any():
            self._detached.append((ids[detached], lists[detached]))
        self._core.list_del(ids)

    def list_len(self, lst: int) -> int:
        return self._core.list_len(self._list("list_len", lst))

    def list_peek(self, lst: int, n: int, tail: bool = True) -> np.ndarray:
        lst = self._list("list_peek", lst)
        n = self._count("list_peek", "n", n, self._limits.max_peek)
        return self._core.list_peek(lst, n, self._flag("list_peek", "tail", tail))

    def folio_list(self, folios: FolioIds) -> FolioIds:
        return self._core.folio_list(self._folios("folio_list", folios))

    # -- accounting ------------------------------------------------------------------
    def count_event(self, name: str, lruvec: int, nr: int) -> None:
        self._core.count_event(self._text("count_event", "name", name, MAX_NAME_LEN), self._lruvec("count_event", lruvec),
                               self._count("count_event", "nr", nr, MAX_EVENT_COUNT))

    def workingset_age_nonresident(self, lruvec: int, nr: int) -> None:
        self._core.workingset_age_nonresident(self._lruvec("workingset_age_nonresident", lruvec),
                                              self._count("workingset_age_nonresident", "nr", nr, MAX_EVENT_COUNT))

    def wakeup_flusher_threads(self) -> None:
        self._core.wakeup_flusher_threads()


# attributes a policy may read, by the exact type of the object
_ATTRIBUTES_BY_TYPE: dict[type, frozenset[str]] = {
    SandboxContext: frozenset(surface.ATTRIBUTES_BY_TYPE["context"]),
    ScanRequest: frozenset(surface.ATTRIBUTES_BY_TYPE["request"]),
    ReclaimStat: frozenset(surface.ATTRIBUTES_BY_TYPE["stat"]),
    RefaultBatch: frozenset(surface.ATTRIBUTES_BY_TYPE["refault"]),
    ScanDecision: frozenset(surface.ATTRIBUTES_BY_TYPE["decision"]),
    Victims: frozenset(surface.ATTRIBUTES_BY_TYPE["victims"]),
    np.ndarray: frozenset(surface.ATTRIBUTES_BY_TYPE["array"]),
    **{kind: frozenset(surface.ATTRIBUTES_BY_TYPE["map"]) for kind in MAP_TYPES.values()},
}


# ----------------------------------------------------------------------
# Answers: what the core would otherwise have to trust
# ----------------------------------------------------------------------
class _InvalidAnswer(Exception):
    """An answer of the wrong shape; the wrapper turns it into INVALID."""


def _count(value: object, what: str) -> int:
    if type(value) in _INTS and 0 <= value < INT64_LIMIT:
        return int(value)
    raise _InvalidAnswer(f"{what} must be a non-negative int, not {_brief(value)}")


def _int_array(answer: object, what: str) -> np.ndarray:
    """An int64 array from an integer array, list or tuple."""
    kind = type(answer)
    if kind is np.ndarray:
        if answer.ndim == 1 and (not answer.size or answer.dtype.kind in "iu"):
            return answer.astype(np.int64, copy=False)
        raise _InvalidAnswer(f"{what} must be a 1-D array of ints, not a {answer.ndim}-D {answer.dtype} array")
    if kind is list or kind is tuple:
        if all(type(x) in _INTS for x in answer):
            try:
                return np.array(answer, np.int64)
            except OverflowError:
                pass
        raise _InvalidAnswer(f"{what} must hold ints of 64 bits only")
    raise _InvalidAnswer(f"{what} must be an array, a list or a tuple of ints, not a {kind.__name__}")


def _int_field(value: object, what: str, optional: bool = False) -> int | None:
    """A field of Victims as a Python int (or None where it may be)."""
    if type(value) in _INTS:
        return int(value)
    if value is None and optional:
        return None
    raise _InvalidAnswer(f"{what} must be an int{' or None' if optional else ''}, not {_brief(value)}")


def _check_victims(answer: object) -> np.ndarray | Victims:
    """Structure only: the folios as an int64 array, Victims' counts and
    type as ints. What they name is simulator.ejection.check_victims'
    check, made for every untrusted policy: each victim resident, on the
    request's lruvec, of the type scanned, on a list, named once, and the
    counts and the type within what the lruvec holds (INVALID there)."""
    if type(answer) is not Victims:
        return _int_array(answer, "the victims")
    return Victims(
        _int_array(answer.folios, "Victims.folios"),
        _int_field(answer.nr_scanned, "Victims.nr_scanned"),
        _int_field(answer.lru_type, "Victims.lru_type", optional=True),
        _int_field(answer.nr_used, "Victims.nr_used", optional=True),
    )


def _pair(value: object, what: str) -> tuple[int, int]:
    if type(value) in (tuple, list) and len(value) == 2:
        return _count(value[0], what), _count(value[1], what)
    raise _InvalidAnswer(f"{what} must be two non-negative ints (anon, file), not {_brief(value)}")


def _check_decision(answer: object) -> ScanDecision | None:
    if answer is None:
        return None
    if type(answer) is not ScanDecision:
        raise _InvalidAnswer(f"the answer must be a ScanDecision or None, not a {type(answer).__name__}")
    batch = _count(answer.batch, "ScanDecision.batch")
    if batch < 1:
        raise _InvalidAnswer("ScanDecision.batch must be at least 1")
    return ScanDecision(_pair(answer.scan, "ScanDecision.scan"), _pair(answer.age, "ScanDecision.age"), batch)


def _check_aged(answer: object) -> int | None:
    return None if answer is None else _count(answer, "the number of folios aged")


def _check_oom(answer: object) -> bool | None:
    if answer is None:
        return None
    if type(answer) in _BOOLS:
        return bool(answer)
    raise _InvalidAnswer(f"the answer must be a bool or None, not a {type(answer).__name__}")


def _check_state(answer: object) -> dict[str, str] | None:
    """At most MAX_STATE_FILES files, each named by up to MAX_NAME_LEN
    characters of [A-Za-z0-9._-] (not "." or "..": the names become files
    of the results directory), each text at most MAX_STATE_TEXT bytes of
    UTF-8. The report and ``--json`` write it all out: unbounded, a policy
    could hand back gigabytes."""
    if answer is None:
        return None
    if type(answer) is not dict:
        raise _InvalidAnswer(f"the answer must be a dict of file names to text (str to str), or None, not a "
                             f"{type(answer).__name__}")
    if len(answer) > MAX_STATE_FILES:
        raise _InvalidAnswer(f"{len(answer)} files, more than the {MAX_STATE_FILES} a policy's state may have")
    for name, text in answer.items():
        if type(name) is not str or type(text) is not str:
            raise _InvalidAnswer("the answer must be a dict of file names to text (str to str), or None")
        if len(name) > MAX_NAME_LEN or not _STATE_NAME.fullmatch(name) or not name.strip("."):
            raise _InvalidAnswer(f"the file name {_brief(name)} is not 1 to {MAX_NAME_LEN} characters of "
                                 "[A-Za-z0-9._-] (nor . or ..)")
        size = len(text)
        if size <= MAX_STATE_TEXT and not text.isascii():
            try:
                size = len(text.encode("utf-8"))
            except UnicodeEncodeError:  # a lone surrogate: no file can hold it
                raise _InvalidAnswer(f"the text of {name} is not UTF-8 (a lone surrogate)") from None
        if size > MAX_STATE_TEXT:
            raise _InvalidAnswer(f"the text of {name} is more than the {MAX_STATE_TEXT} bytes a state file may hold")
    return dict(answer)


def _check_per_folio(answer: object, n: int, what: str, highest: int | None = None) -> np.ndarray | None:
    if answer is None:
        return None
    values = _int_array(answer, what)
    if len(values) != n:
        raise _InvalidAnswer(f"{what}: {len(values)} values for {n} folios")
    if highest is not None and values.size and (values.min() < 0 or values.max() > highest):
        raise _InvalidAnswer(f"{what} must be in 0..{highest}")
    return values


REFAULT_BITS = REFAULT_ACTIVATE | REFAULT_WORKINGSET
_REFAULT_FIELDS = tuple(f.name for f in dataclasses.fields(RefaultBatch))


# ----------------------------------------------------------------------
# Batches
# ----------------------------------------------------------------------
def _spans(n: int) -> tuple[tuple[int, int], ...]:
    """[lo, hi) chunks of at most MAX_FOLIO_BATCH (one, maybe empty, when n fits)."""
    step = surface.MAX_FOLIO_BATCH
    if n <= step:
        return ((0, n),)
    return tuple((lo, min(lo + step, n)) for lo in range(0, n, step))


def _readonly(array: np.ndarray, lo: int, hi: int) -> np.ndarray:
    """A read-only view of array[lo:hi]: the policy reads the core's batch
    and cannot write into it."""
    view = array[lo:hi]
    view.setflags(write=False)
    return view


def _refault_part(refault: RefaultBatch, lo: int, hi: int) -> RefaultBatch:
    return RefaultBatch(**{name: _readonly(getattr(refault, name), lo, hi) for name in _REFAULT_FIELDS})


def _join(values: list[np.ndarray | None], spans: tuple[tuple[int, int], ...]) -> np.ndarray | None:
    """The per-chunk answers as one; a chunk answered None counts as zeros."""
    if all(v is None for v in values):
        return None
    return np.concatenate([np.zeros(hi - lo, np.int64) if v is None else v for v, (lo, hi) in zip(values, spans)])


# ----------------------------------------------------------------------
# The plugin
# ----------------------------------------------------------------------
_NO_FOLIOS = np.empty(0, np.int64)
_MAP_CLASSES = tuple(MAP_TYPES.values())


def _policy_line(tb: TracebackType | None, filename: str) -> int | None:
    """The line of the innermost frame of the policy's own file."""
    line = None
    while tb is not None:
        if tb.tb_frame.f_code.co_filename == filename:
            line = tb.tb_lineno
        tb = tb.tb_next
    return line


def _describe(err: Exception) -> str:
    """An exception's message, cut at MAX_MESSAGE_LEN. Only text is
    printed whole (then cut): a KeyError carries the policy's key, and
    str() of it is the key's repr, made in C however long (a tuple of a
    million long strings is 64 GB); any other value is printed briefly."""
    args = err.args
    if type(err) is not KeyError and all(type(arg) is str for arg in args):
        text = str(err)
    else:
        text = ", ".join(map(_brief, args))
    return text if len(text) <= MAX_MESSAGE_LEN else text[: MAX_MESSAGE_LEN - 3] + "..."


def _classify(err: Exception) -> PolicyFault:
    """The PolicyFault for an exception the policy's code raised."""
    message = f"{type(err).__name__}: {_describe(err)}"
    if isinstance(err, PolicyContextError):  # the core refused a helper call the checks let through
        return PolicyFault(ExitKind.HELPER, _describe(err))
    if isinstance(err, (MemoryError, OverflowError, RecursionError)):
        return PolicyFault(ExitKind.RESOURCE, message)
    return PolicyFault(ExitKind.ERROR, message)


class SandboxedPolicy:
    """A verified policy as a plugin of the core: each hook the policy
    defines is a hookimpl here, with the spec's full parameter list, that
    runs the policy's function under the sandbox.

    One instance per simulated machine: the policy's module is executed
    afresh in its own namespace, so its maps are its own. Per call, the
    wrapper hands the policy a SandboxContext (created on policy_init from
    the core's context) and read-only views of the batch arrays, split at
    MAX_FOLIO_BATCH so that a loop over a batch stays within what the
    verifier bounded; arms the budget and the deadline; times the call and
    counts slow ones over a sliding window of calls; checks that folios
    taken off a list with list_del are on one again; checks the answer; and
    turns anything the policy raises into a PolicyFault with the policy's
    line and a dump. What simulator.ejection checks itself for every
    untrusted policy (every folio on a list after folio_added and
    folio_putback; what select_victims' victims name) is not checked
    twice. The batch a call is handed is the context's `_batch` for the
    call, so that the helpers let it pass without the range check.
    """

    reclaim_ext_untrusted = True

    def __init__(self, verified: Any, name: str, limits: SandboxLimits = SandboxLimits()) -> None:
        if not verified.ok or verified.code is None:
            raise PolicyError(f"policy {name!r} did not pass the verifier")
        if verified.interface_version is None:
            raise PolicyError(f"policy {name!r} states no INTERFACE_VERSION")
        self.name = name
        self.filename = verified.filename
        self.INTERFACE_VERSION = tuple(verified.interface_version)
        self.limits = limits
        self.calls = 0
        self.slow_calls = 0  # in all, for the dump
        self._recent_slow: deque[int] = deque(maxlen=max(1, limits.max_slow_calls))  # call numbers of the last slow calls
        self._watch_ns = min(limits.slow_ns, limits.deadline_ns)  # a call longer than this is looked at
        self._code_filename = verified.code.co_filename
        self._source_lines = verified.source.splitlines()
        self._core: Any = None
        self._ctx: SandboxContext | None = None
        self._namespace = self._fresh_namespace()
        self._counter = BackEdgeCounter(limits, self._namespace)
        self._load(verified.code)
        # the policy's maps by name, for dumps (bpftool map dump)
        self.maps = {key: value for key, value in self._namespace.items() if type(value) in _MAP_CLASSES}
        total = sum(m.max_entries for m in self.maps.values())
        if total > surface.MAX_TOTAL_MAP_ENTRIES:
            raise PolicyError(f"policy {name!r} declares {total} map entries, more than the "
                              f"{surface.MAX_TOTAL_MAP_ENTRIES} a policy may have in all")
        for hook in verified.hooks:
            setattr(self, hook, hookimpl(self._wrap(hook)))

    def __repr__(self) -> str:
        return f"<SandboxedPolicy {self.name!r} from {self.filename}>"

    def dump(self) -> dict[str, Any]:
        """Map occupancy and call counters, for an ejection's report."""
        return {
            "maps": {name: list(m.occupancy()) for name, m in self.maps.items()},
            "calls": self.calls,
            "slow_calls": self.slow_calls,
        }

    # -- loading -------------------------------------------------------------------
    def _fresh_namespace(self) -> dict[str, Any]:
        namespace: dict[str, Any] = {"__builtins__": make_builtins(self.limits),
                                     "__name__": f"reclaim_ext.policy.{self.name}"}
        namespace.update(surface.CONSTANTS)
        namespace.update(surface.TYPES)
        namespace.update(_FLAT_TYPES)
        namespace.update(MAP_TYPES)
        namespace.update(make_guards(self.limits))
        return namespace

    def _load(self, code: Any) -> None:
        """Run the module's top level (constants, maps, functions) under the
        budget like any call."""
        self._counter.arm(perf_counter_ns())
        try:
            exec(code, self._namespace)  # noqa: S102 - the verified code, in its own namespace
        except Exception as err:
            raise PolicyError(f"policy {self.name!r} failed to load: {type(err).__name__}: {err}") from err

    def _wrap(self, hook: str) -> Callable:
        if hook not in _WRAPPERS:
            raise PolicyError(f"policy {self.name!r}: {hook} is not a hook")
        fn = self._namespace.get(hook)
        if type(fn) is not FunctionType:
            raise PolicyError(f"policy {self.name!r}: {hook} is not a function")
        spec = spec_argnames(hook)
        params = fn.__code__.co_varnames[: fn.__code__.co_argcount]
        unknown = [p for p in params if p not in spec]
        if unknown:
            raise PolicyError(f"policy {self.name!r}: {hook} takes {', '.join(unknown)}, not parameters of the hook ({', '.join(spec)})")
        pick = None if params == spec else tuple(spec.index(p) for p in params)
        wrapper = _WRAPPERS[hook](self, hook, fn, pick)
        wrapper.__name__ = hook
        return wrapper

    # -- one call --------------------------------------------------------------------
    def _attach(self, core: Any, fn: FunctionType) -> SandboxContext:
        """A fresh SandboxContext over the core's context. nr_pages comes from
        the core's folio table: this module is trusted and may look. A
        machine larger than the verifier assumed (surface.MAX_LRUVECS,
        MAX_NUMNODES) is refused: PolicyFault(HELPER) at the hook's def, on
        the first call (policy_init's, if the policy has one)."""
        try:
            ctx = SandboxContext(core, core._folios.nr_pages, self.limits)
        except PolicyFault as fault:
            raise self._located(fault, None, fn) from None
        self._core = core
        self._ctx = ctx
        return ctx

    def _context(self, core: Any, fn: FunctionType) -> SandboxContext:
        return self._ctx if core is self._core else self._attach(core, fn)

    def _run(self, hook: str, fn: FunctionType, pick: tuple[int, ...] | None, values: tuple) -> Any:
        """Call the policy's function with the parameters it takes, under the
        budget and the clock. `values` are the spec's, the context first."""
        args = values if pick is None else tuple([values[i] for i in pick])
        ctx = values[0]
        if ctx._detached:
            ctx._detached.clear()
        self.calls += 1
        start = perf_counter_ns()
        self._counter.arm(start)
        try:
            answer = fn(*args)
        except PolicyFault as fault:
            self._put_back(ctx)
            raise self._located(fault, _policy_line(fault.__traceback__, self._code_filename), fn) from None
        except Exception as err:  # any exception of the policy's code ejects it (KeyboardInterrupt is the user's)
            self._put_back(ctx)
            raise self._located(_classify(err), _policy_line(err.__traceback__, self._code_filename), fn) from err
        elapsed = perf_counter_ns() - start
        if ctx._detached:
            self._check_detached(hook, fn, ctx)
        if elapsed > self._watch_ns:
            self._overran(hook, fn, elapsed)
        return answer

    def _overran(self, hook: str, fn: FunctionType, elapsed: int) -> None:
        """A call past its deadline (one that ticked too little for the
        counter to see it) ejects; so do max_slow_calls slow calls within
        slow_window calls (a sliding window: a long run with a slow call now
        and then is not ejected for their sum)."""
        if elapsed > self.limits.deadline_ns:
            raise self._located(PolicyFault(ExitKind.DEADLINE, f"{hook} ran {elapsed / 1e6:.1f} ms, past its deadline of "
                                                               f"{self.limits.deadline_ns / 1e6:g} ms"), None, fn)
        if elapsed <= self.limits.slow_ns:
            return
        self.slow_calls += 1
        recent = self._recent_slow
        recent.append(self.calls)
        window = self.limits.slow_window
        if len(recent) == recent.maxlen and self.calls - recent[0] < window:
            raise self._located(PolicyFault(ExitKind.SLOW, f"{len(recent)} of the last {window} calls ran longer than "
                                                           f"{self.limits.slow_ns / 1e6:g} ms (the last: {hook}, "
                                                           f"{elapsed / 1e6:.1f} ms)"), None, fn)

    def _check_detached(self, hook: str, fn: FunctionType, ctx: SandboxContext) -> None:
        """Folios taken off a list with list_del must be on a list again by
        the end of the call: a resident folio on no list is never reclaimed.
        (In folio_removed too: the core takes the batch off its lists before
        the call, so what list_del finds on a list there is another folio.)"""
        lost = self._put_back(ctx)
        if lost.size:
            raise self._invalid(hook, fn, f"folio {lost[0]} was taken off its list with list_del and put on no list again")

    def _put_back(self, ctx: SandboxContext) -> np.ndarray:
        """Put each folio the call took off a list with list_del and left on
        none back on the list it was taken off (the last, if more than one),
        and return them. A call that fails halfway through a move leaves
        every folio on a list, where ejection finds it for the fallback."""
        if not ctx._detached:
            return _NO_FOLIOS
        ids = np.concatenate([folios for folios, _ in ctx._detached])
        lists = np.concatenate([lists for _, lists in ctx._detached])
        ctx._detached.clear()
        lost = self._core.folio_list(ids) < 0
        if not lost.any():
            return _NO_FOLIOS
        ids, lists = ids[lost][::-1], lists[lost][::-1]  # the last list_del of a folio first
        ids, last = np.unique(ids, return_index=True)
        lists = lists[last]
        for lst in np.unique(lists):
            self._core.list_add(int(lst), ids[lists == lst])
        return ids

    def _answer(self, hook: str, fn: FunctionType, check: Callable, answer: Any, *args: Any) -> Any:
        try:
            return check(answer, *args)
        except _InvalidAnswer as err:
            raise self._invalid(hook, fn, str(err)) from None

    # -- faults ------------------------------------------------------------------------
    def _invalid(self, hook: str, fn: FunctionType, message: str) -> PolicyFault:
        return self._located(PolicyFault(ExitKind.INVALID, f"{hook}: {message}"), None, fn)

    def _located(self, fault: PolicyFault, line: int | None, fn: FunctionType) -> PolicyFault:
        """Name the policy's line (the hook's def when the fault is in its
        answer or its timing) and add the dump."""
        if fault.line is None:
            fault.line = line if line is not None else fn.__code__.co_firstlineno
        source = self._source_lines[fault.line - 1].strip() if 0 < fault.line <= len(self._source_lines) else ""
        fault.dump = {"source_line": source, **self.dump()}
        return fault

    # -- the hooks, by their parameters -------------------------------------------------
    def _init_hook(self, hook: str, fn: FunctionType, pick: tuple[int, ...] | None) -> Callable:
        """policy_init(ctx): the SandboxContext is made here, over the core's."""
        def policy_init(ctx):
            self._run(hook, fn, pick, (self._attach(ctx, fn),))
        return policy_init

    def _state_hook(self, hook: str, fn: FunctionType, pick: tuple[int, ...] | None) -> Callable:
        def policy_state(ctx):
            return self._answer(hook, fn, _check_state, self._run(hook, fn, pick, (self._context(ctx, fn),)))
        return policy_state

    def _request_hook(self, hook: str, fn: FunctionType, pick: tuple[int, ...] | None) -> Callable:
        """should_reclaim, age, select_victims, age_node: (ctx, request)."""
        check = _REQUEST_ANSWERS[hook]

        def wrapper(ctx, request):
            return self._answer(hook, fn, check, self._run(hook, fn, pick, (self._context(ctx, fn), request)))
        return wrapper

    def _batch_hook(self, hook: str, fn: FunctionType, pick: tuple[int, ...] | None) -> Callable:
        """folio_added, folio_accessed, folio_removed: (ctx, folios). That
        folio_added (and folio_putback) leave every folio on a list is the
        core's check (simulator.ejection), made for any untrusted policy."""
        def wrapper(ctx, folios):
            sctx = self._context(ctx, fn)
            for lo, hi in _spans(len(folios)):
                batch = sctx._batch = _readonly(folios, lo, hi)
                self._run(hook, fn, pick, (sctx, batch))
            sctx._batch = None
        return wrapper

    def _putback_hook(self, hook: str, fn: FunctionType, pick: tuple[int, ...] | None) -> Callable:
        def folio_putback(ctx, folios, reasons, request):
            sctx = self._context(ctx, fn)
            for lo, hi in _spans(len(folios)):
                batch = sctx._batch = _readonly(folios, lo, hi)
                self._run(hook, fn, pick, (sctx, batch, _readonly(reasons, lo, hi), request))
            sctx._batch = None
        return folio_putback

    def _evicted_hook(self, hook: str, fn: FunctionType, pick: tuple[int, ...] | None) -> Callable:
        def folio_evicted(ctx, folios):
            sctx = self._context(ctx, fn)
            spans = _spans(len(folios))
            values = []
            for lo, hi in spans:
                batch = sctx._batch = _readonly(folios, lo, hi)
                answer = self._run(hook, fn, pick, (sctx, batch))
                values.append(self._answer(hook, fn, _check_per_folio, answer, hi - lo, "the shadow values"))
            sctx._batch = None
            return _join(values, spans)
        return folio_evicted

    def _refault_hook(self, hook: str, fn: FunctionType, pick: tuple[int, ...] | None) -> Callable:
        def on_refault(ctx, folios, refault):
            sctx = self._context(ctx, fn)
            spans = _spans(len(folios))
            values = []
            for lo, hi in spans:
                batch = sctx._batch = _readonly(folios, lo, hi)
                answer = self._run(hook, fn, pick, (sctx, batch, _refault_part(refault, lo, hi)))
                values.append(self._answer(hook, fn, _check_per_folio, answer, hi - lo, "the REFAULT_* advice", REFAULT_BITS))
            sctx._batch = None
            return _join(values, spans)
        return on_refault


_REQUEST_ANSWERS: dict[str, Callable[[Any], Any]] = {
    "should_reclaim": _check_decision,
    "age": _check_aged,
    "select_victims": _check_victims,
    "age_node": _check_oom,
}

# hook -> the SandboxedPolicy method that builds its wrapper
_WRAPPERS: dict[str, Callable] = {
    "policy_init": SandboxedPolicy._init_hook,
    "policy_state": SandboxedPolicy._state_hook,
    **{hook: SandboxedPolicy._request_hook for hook in _REQUEST_ANSWERS},
    "folio_added": SandboxedPolicy._batch_hook,
    "folio_accessed": SandboxedPolicy._batch_hook,
    "folio_removed": SandboxedPolicy._batch_hook,
    "folio_putback": SandboxedPolicy._putback_hook,
    "folio_evicted": SandboxedPolicy._evicted_hook,
    "on_refault": SandboxedPolicy._refault_hook,
}
