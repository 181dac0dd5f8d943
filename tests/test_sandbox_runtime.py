"""The sandbox at run time: maps, guards, the checked context, the hook
wrappers, and every way a policy is stopped (reclaim_ext/sandbox/runtime.py).

Most policies here are compiled by the verifier's own transformer
(RestrictedPython's, plus the ticks and the operator guards) without its
static passes: a test may write a loop whose bound no verifier would
accept, or recursion, to see the runtime stop it. A FIFO policy goes
through the whole verifier and runs a machine."""

from __future__ import annotations

import ast
import inspect
import operator
import textwrap
import time
from dataclasses import dataclass, field
from functools import partial
from types import CodeType

import numpy as np
import pytest
from helpers import ANON, tiny_machine
from RestrictedPython import compile_restricted
from test_hooks import tiny_machine as running_machine

from hooks.context import Context
from hooks.types import (
    PG_dirty,
    PG_policy0,
    PutbackReason,
    ReclaimReason,
    RefaultBatch,
    ScanDecision,
    Victims,
)
from reclaim_ext.sandbox import runtime, surface
from reclaim_ext.sandbox.maps import (
    E2BIG,
    EINVAL,
    ENOENT,
    ArrayMap,
    HashMap,
    LruHashMap,
)
from reclaim_ext.sandbox.runtime import (
    SandboxContext,
    SandboxedPolicy,
    SandboxLimits,
    make_guards,
)
from reclaim_ext.sandbox.verifier import PolicyTransformer, verify
from simulator.ejection import check_victims
from simulator.policy import (
    HOOK_NAMES,
    BoundPolicy,
    ExitKind,
    PolicyError,
    PolicyFault,
    spec_argnames,
)


# ----------------------------------------------------------------------
# Compiling a policy as the verifier does, without its static checks
# ----------------------------------------------------------------------
@dataclass
class Verified:
    """What the runtime reads of the verifier's VerifiedPolicy: what
    `compiled` makes of a policy that the verifier need not accept."""

    filename: str
    source: str
    code: CodeType
    hooks: dict[str, tuple[str, ...]]
    interface_version: tuple[int, int] | None
    ok: bool = True
    diagnostics: list = field(default_factory=list)


def compiled(source: str, filename: str = "policy.py") -> Verified:
    """The policy compiled by the verifier's own transformer (ticks and
    operator guards included), skipping its static passes."""
    source = textwrap.dedent(source)
    tree = ast.parse(source, filename)
    hooks = {n.name: tuple(a.arg for a in n.args.args) for n in tree.body if isinstance(n, ast.FunctionDef) and n.name in HOOK_NAMES}
    [version] = [ast.literal_eval(n.value) for n in tree.body
                 if isinstance(n, ast.Assign) and [ast.unparse(t) for t in n.targets] == ["INTERFACE_VERSION"]]
    code = compile_restricted(tree, filename, "exec", policy=PolicyTransformer)
    return Verified(filename, source, code, hooks, interface_version=version)


def load(source: str, t=None, limits: SandboxLimits | None = None) -> SandboxedPolicy:
    """A sandboxed policy, attached to the tiny machine `t` if given."""
    policy = SandboxedPolicy(compiled(source), "p", limits or SandboxLimits())
    if t is not None and hasattr(policy, "policy_init"):
        policy.policy_init(t.ctx)
    return policy


def fault_of(call, *args) -> PolicyFault:
    with pytest.raises(PolicyFault) as info:
        call(*args)
    return info.value


@pytest.fixture
def t():
    """A tiny machine (the classic LRU attached, nothing run)."""
    return tiny_machine()


def off_lists(t, region: int = ANON, n: int = 8) -> np.ndarray:
    """Resident folios on no list: what folio_added is handed."""
    folios = t.fault(region, range(n))
    t.m.lists.delete(folios)
    return folios


# A policy with one FIFO list per type on lruvec 0: every hook takes the
# folios off whatever list they are on and puts them at the head.
FIFO = """
    INTERFACE_VERSION = (1, 1)
    LISTS = ArrayMap(2)

    def policy_init(ctx):
        for lru_type in range(2):
            LISTS.update(lru_type, ctx.list_create(0, lru_type, False, "fifo"))

    def place(ctx, folios):
        for folio in folios:
            ctx.list_add(LISTS.lookup(ctx.folio_type(folio)), folio)

    def folio_added(ctx, folios):
        place(ctx, folios)

    def folio_putback(ctx, folios):
        place(ctx, folios)

    def select_victims(ctx, request):
        return ctx.list_peek(LISTS.lookup(request.lru_type), request.nr_to_scan)
"""


# ----------------------------------------------------------------------
# Maps
# ----------------------------------------------------------------------
def test_a_hash_map_refuses_a_new_key_when_full_and_bad_data_with_einval():
    m = HashMap(2)
    assert m.update(1, 10) == 0 and m.update((1, 2), (1, 2.5, True)) == 0
    assert m.update(3, 30) == E2BIG, "full, and the key is new"
    assert m.update(1, 11) == 0, "an existing key is updated when full"
    assert m.lookup(1) == 11 and m.lookup(np.int64(1)) == 11 and m.lookup((np.int32(1), 2)) == (1, 2.5, True)
    assert m.lookup(3) is None and m.lookup(3, -1) == -1 and m.lookup([1]) is None
    for key, value in (([1], 1), (1.5, 1), ((1, 2, 3, 4, 5), 1), (1, [1]), (1, None), (1, tuple(range(9))), (1, 1 << 64), (1 << 64, 1)):
        assert m.update(key, value) == EINVAL, (key, value)
    assert m.delete(7) == ENOENT and m.delete([1]) == ENOENT
    assert m.delete(1) == 0 and m.lookup(1) is None
    assert len(m) == 1 and m.occupancy() == (1, 2) and m.max_entries == 2


def test_numpy_scalars_are_stored_as_python_values():
    m = HashMap(4)
    assert m.update(np.uint8(3), (np.int64(5), np.float32(0.5), np.bool_(True))) == 0
    value = m.lookup(3)
    assert value == (5, 0.5, True) and [type(v) for v in value] == [int, float, bool]


def test_an_lru_hash_map_evicts_its_least_recently_used_entry():
    m = LruHashMap(3)
    for key in (1, 2, 3):
        m.update(key, key)
    m.lookup(1)  # a lookup is a use...
    m.update(2, 20)  # ...and so is an update
    assert m.update(4, 4) == 0, "a full LRU map makes room"
    assert m.lookup(3) is None, "3 was the least recently used"
    m.update(5, 5)
    assert m.lookup(1) is None and [m.lookup(k) for k in (2, 4, 5)] == [20, 4, 5]
    assert m.occupancy() == (3, 3)


def test_an_array_map_has_every_index_from_the_start():
    m = ArrayMap(4)
    assert len(m) == 4 and m.lookup(3) == 0 and m.lookup(4) is None and m.lookup(-1, "none") == "none"
    assert m.update(3, 7) == 0 and m.lookup(np.int64(3)) == 7
    assert m.update(4, 1) == E2BIG and m.update(-1, 1) == E2BIG
    assert m.update("1", 1) == EINVAL and m.update(0, "x") == EINVAL
    assert m.delete(3) == EINVAL, "array entries cannot be deleted"
    assert m.occupancy() == (4, 4)


@pytest.mark.parametrize("size", [0, -1, 1.5, surface.MAX_MAP_ENTRIES + 1])
def test_a_map_size_is_checked(size):
    with pytest.raises(ValueError, match="max_entries"):
        HashMap(size)


# ----------------------------------------------------------------------
# Guards
# ----------------------------------------------------------------------
G = make_guards(SandboxLimits(max_list_len=100, max_str_len=50))


def refusal(guard: str, *args) -> ExitKind:
    return fault_of(G[guard], *args).kind


def test_a_policy_finds_every_guard_the_compiled_code_calls():
    policy = load(BUDGET)
    assert set(surface.GUARD_NAMES) <= set(policy._namespace)
    assert set(policy._namespace["__builtins__"]) == set(surface.SAFE_BUILTINS)


def test_getattr_reads_only_the_surface_by_type(t):
    ctx = load(FIFO, t)._ctx
    request = t.request()
    assert callable(G["_getattr_"](ctx, "list_add")) and G["_getattr_"](request, "nr_to_scan") == 32
    assert G["_getattr_"](PutbackReason, "ROTATE") is PutbackReason.ROTATE
    assert G["_getattr_"](np.arange(3), "size") == 3 and G["_getattr_"](HashMap(1), "max_entries") == 1
    for obj, name in ((ctx, "_core"), (ctx, "__class__"), (request, "__dict__"), (1, "real"), (np.arange(3), "flags"),
                      (HashMap(1), "occupancy"), (PutbackReason.ROTATE, "value"), (ExitKind, "ERROR"), (G, "get")):
        assert refusal("_getattr_", obj, name) is ExitKind.ERROR, (obj, name)


def test_getitem_getiter_and_write_allow_only_plain_containers_and_arrays():
    a = np.arange(5)
    assert G["_getitem_"]([1, 2], 1) == 2 and G["_getitem_"](a, slice(1, 3)).tolist() == [1, 2]
    assert G["_getitem_"](a, np.array([True, False] * 2 + [True])).tolist() == [0, 2, 4]
    for obj, key in ((a, None), (a, (0, 0)), (a, [0, 1]), (a, True), ({1}, 0), (b"ab", 0), (HashMap(1), 0)):
        assert refusal("_getitem_", obj, key) is ExitKind.ERROR, (obj, key)
    for obj in (range(3), [1], (1,), a, enumerate([1]), {1: 2}):
        assert G["_getiter_"](obj) is obj
    for obj in ("abc", {1}, HashMap(1), iter([1])):
        assert refusal("_getiter_", obj) is ExitKind.ERROR
    G["_write_"](a)[0] = 9
    assert a[0] == 9
    assert refusal("_write_", (1,)) is ExitKind.ERROR and refusal("_write_", Victims(a, 1)) is ExitKind.ERROR
    with pytest.raises(PolicyFault):
        G["_write_"](a)[0:2] = [1, 2]  # numpy would expand a nested list
    with pytest.raises(AttributeError):
        G["_write_"](a).shape = (5, 1)  # an array's items are writable, not its attributes


@pytest.mark.parametrize(
    "guard, a, b",
    [
        ("_mul_", 1 << 40, 1 << 30),
        ("_mul_", -(1 << 63), 2),
        ("_mul_", 3, 1 << 10_000),
        ("_pow_", 2, 64),
        ("_pow_", 3, 10**100),
        ("_pow_", 1 << 70, 1),
        ("_lshift_", 1, 64),
        ("_lshift_", 3, 10**30),
        ("_add_", 1 << 63, 1 << 63),
        ("_mul_", True, 1 << 64),
    ],
)
def test_integers_beyond_64_bits_are_refused_before_they_are_computed(guard, a, b):
    start = time.perf_counter()
    assert refusal(guard, a, b) is ExitKind.RESOURCE
    assert time.perf_counter() - start < 0.01, "refused from the bit lengths, not by computing"


def test_integers_within_64_bits_compute_as_python_does():
    assert G["_mul_"]((1 << 32) - 1, (1 << 32) + 1) == (1 << 64) - 1
    assert G["_pow_"](2, 63) == 1 << 63 and G["_pow_"](-1, 10**100) == 1 and G["_pow_"](2, -1) == 0.5
    assert G["_lshift_"](1, 63) == 1 << 63 and G["_lshift_"](0, 10**30) == 0
    assert G["_add_"](1 << 62, 1 << 62) == 1 << 63 and G["_mod_"](7, 3) == 1 and G["_mul_"](2.5, 1 << 70) == 2.5 * (1 << 70)
    assert G["_inplacevar_"]("-=", 5, 7) == -2 and G["_inplacevar_"]("**=", 3, 3) == 27
    assert refusal("_inplacevar_", "*=", 1 << 40, 1 << 40) is ExitKind.RESOURCE
    assert refusal("_inplacevar_", "@=", 1, 1) is ExitKind.ERROR


def test_sequences_are_bounded_before_they_are_built():
    assert G["_mul_"]([0], 100) == [0] * 100 and G["_mul_"](3, (1,)) == (1, 1, 1) and G["_add_"]("a", "b") == "ab"
    for guard, *args in (("_mul_", [0], 101), ("_mul_", 1 << 60, [0]), ("_mul_", "ab", 26), ("_add_", [0] * 60, [0] * 41),
                         ("_add_", "a" * 50, "b"), ("_inplacevar_", "+=", (0,) * 100, (0,))):
        assert refusal(guard, *args) is ExitKind.RESOURCE, (guard, args)


class Tripwire:
    """An item numpy must look at to convert a list holding it: a guard or
    a helper that lets numpy convert the list fails the test here, not by
    allocating gigabytes."""

    def __array__(self, *args, **kwargs):
        raise AssertionError("numpy converted a list")

    def __index__(self):
        raise AssertionError("numpy converted a list")

    __int__ = __float__ = __len__ = __index__


def test_no_percent_formatting():
    assert refusal("_mod_", "%s", 1) is ExitKind.ERROR and refusal("_mod_", "%*d", (10**9, 1)) is ExitKind.ERROR


# the operators of _binop_ and _compare_, as Python computes them
PYTHON = {"-": operator.sub, "/": operator.truediv, "//": operator.floordiv, "&": operator.and_, "|": operator.or_,
          "^": operator.xor, ">>": operator.rshift, "==": operator.eq, "!=": operator.ne, "<": operator.lt,
          "<=": operator.le, ">": operator.gt, ">=": operator.ge}
BINOPS = ("-", "/", "//", "&", "|", "^", ">>")
COMPARISONS = ("==", "!=", "<", "<=", ">", ">=")


def as_python(guard, op, a, b):
    """What the guard answers is what Python answers, its exceptions included."""
    try:
        expected = PYTHON[op](a, b)
    except (TypeError, ZeroDivisionError) as err:
        with pytest.raises(type(err)):
            G[guard](op, a, b)
        return None
    result = G[guard](op, a, b)
    assert result == expected and type(result) is type(expected), (op, a, b, result)
    return expected


@pytest.mark.parametrize(
    "guard, op",
    [("_mul_", None), ("_add_", None), ("_pow_", None), ("_lshift_", None), ("_mod_", None)]
    + [("_binop_", op) for op in BINOPS] + [("_compare_", op) for op in COMPARISONS]
    + [("_inplacevar_", op + "=") for op in BINOPS],
)
@pytest.mark.parametrize("numpy_value", [np.arange(3), np.int64(3), np.float64(0.5)], ids=["array", "int64", "float64"])
@pytest.mark.parametrize("sequence", [[Tripwire()], (Tripwire(),), [[Tripwire()] * 4] * 4, range(10**12)],
                         ids=["list", "tuple", "nested", "range"])
def test_a_list_tuple_or_range_next_to_numpy_is_refused_before_numpy_converts_it(guard, op, numpy_value, sequence):
    """`[[0] * 1024] * 1048576` next to an array is 8 GB made in C."""
    args = () if op is None else (op,)
    if guard == "_mul_" and type(numpy_value) is np.int64 and type(sequence) is not range:
        assert G[guard](numpy_value, sequence) == sequence * 3, "a numpy int repeats a sequence, bounded as an int does"
        return
    for a, b in ((numpy_value, sequence), (sequence, numpy_value)):
        assert refusal(guard, *args, a, b) is ExitKind.RESOURCE, (a, b)


@pytest.mark.parametrize("op", ["in", "not in"])
@pytest.mark.parametrize("item", [[Tripwire()], (Tripwire(),), range(10**12)], ids=["list", "tuple", "range"])
def test_a_list_or_tuple_is_not_searched_for_in_an_array(op, item):
    assert refusal("_compare_", op, item, np.arange(3)) is ExitKind.RESOURCE


@pytest.mark.parametrize("op", BINOPS)
@pytest.mark.parametrize("a, b", [(12345, 678), (-7, 2), (2.5, 4), (True, 3), (True, False), (-(1 << 63), 5), (7, 0.25)])
def test_binop_computes_numbers_as_python_does(op, a, b):
    expected = as_python("_binop_", op, a, b)
    if expected is not None:
        assert G["_inplacevar_"](op + "=", a, b) == expected


def test_binop_refuses_an_int_result_beyond_64_bits():
    limit = 1 << 64
    for op, a, b in (("-", -(limit - 1), 1), ("-", limit - 1, -(limit - 1)), ("&", -(limit - 1), -2), ("^", 5, 5 - limit),
                     ("//", int(1e300), 3), ("|", int(1e300), 1)):
        assert refusal("_binop_", op, a, b) is ExitKind.RESOURCE, (op, a, b)
    assert refusal("_inplacevar_", "-=", -(limit - 1), 1) is ExitKind.RESOURCE
    assert G["_binop_"]("-", -(limit - 2), 1) == -(limit - 1) and G["_binop_"]("//", -(limit - 1), -1) == limit - 1
    assert G["_binop_"](">>", int(1e300), 1000) == int(1e300) >> 1000, "a small result of a huge int is not refused"


def test_binop_leaves_numpy_and_other_operands_to_python():
    a = np.arange(4)
    assert G["_binop_"]("-", a, 1).tolist() == [-1, 0, 1, 2] and G["_binop_"]("&", a, a).tolist() == [0, 1, 2, 3]
    assert G["_binop_"]("-", np.int64(5), 7) == -2 and type(G["_binop_"]("-", np.int64(5), 7)) is np.int64
    assert G["_binop_"]("-", {1, 2}, {2}) == {1} and G["_binop_"]("|", {1: 2}, {3: 4}) == {1: 2, 3: 4}
    with pytest.raises(TypeError):
        G["_binop_"]("-", "a", "b")  # Python's own error, which ejects as ERROR


def test_binop_and_compare_refuse_an_operator_they_do_not_know():
    for guard, op in (("_binop_", "+"), ("_binop_", "@"), ("_compare_", "is"), ("_compare_", "~")):
        for a, b in ((1, 2), ([1], [2])):
            assert refusal(guard, op, a, b) is ExitKind.ERROR, (guard, op, a, b)


@pytest.mark.parametrize("op", COMPARISONS)
@pytest.mark.parametrize("a, b", [(1, 2), (2, 2), (1.5, 1), (True, 1), (-(1 << 63), 1 << 63), (1 << 70, 1), (np.int64(3), 3),
                                  (np.uint8(3), np.float32(2.5)), ((1, 2), (1, 3)), ([1, 2], [1, 2]), ("ab", "b"),
                                  (ScanDecision((1, 2)), ScanDecision((1, 2)))])
def test_compare_computes_as_python_does(op, a, b):
    as_python("_compare_", op, a, b)


def test_compare_of_arrays_and_numbers_is_elementwise():
    a = np.arange(4)
    assert G["_compare_"]("<", a, 2).tolist() == [True, True, False, False]
    assert G["_compare_"]("==", a, np.arange(4)).all() and G["_compare_"](">=", 2.5, a).tolist() == [True] * 3 + [False]


ARRAY_OPERANDS = [np.arange(4), np.array([0.5, 1.5, 2.5, -1.0]), np.array([True, False, True, True]),
                  np.arange(4).astype(np.uint8), 3, -2, 2.5, True, np.int64(3), np.uint16(2), np.float32(0.5),
                  np.bool_(True), PutbackReason.ROTATE]


def operate(guard, op, a, b):
    return G[guard](a, b) if op is None else G[guard](op, a, b)


@pytest.mark.parametrize("guard, op", [("_mul_", None), ("_add_", None)] + [("_binop_", op) for op in BINOPS]
                         + [("_compare_", op) for op in COMPARISONS])
@pytest.mark.parametrize("other", ARRAY_OPERANDS, ids=repr)
def test_an_array_next_to_an_array_or_a_number_is_computed_directly(monkeypatch, guard, op, other):
    """The fast path: numpy's answer (its values, its type, its errors),
    without a look at the values; the generic path (the list-next-to-numpy
    check) is never reached."""
    def generic(*args):
        raise AssertionError("the generic path")

    monkeypatch.setattr(runtime, "_no_list_into_numpy", generic)
    python = {None: operator.mul if guard == "_mul_" else operator.add, **PYTHON}[op]
    array = np.array([3, 1, 0, 2]) if op not in ("/", "//") else np.array([3, 1, 5, 2])
    for a, b in ((array, other), (other, array)):
        with np.errstate(all="ignore"):
            try:
                expected = python(a, b)
            except TypeError as err:  # numpy's own refusal (a bool array minus one), as Python raises it
                with pytest.raises(type(err)):
                    operate(guard, op, a, b)
                continue
            result = operate(guard, op, a, b)
        assert type(result) is np.ndarray and result.dtype == expected.dtype, (a, b)
        assert np.array_equal(result, expected, equal_nan=result.dtype.kind == "f"), (a, b)


@pytest.mark.parametrize("op", COMPARISONS)
@pytest.mark.parametrize("a, b", [(np.int64(3), np.uint8(3)), (np.float32(0.5), 1), (np.int64(2), PutbackReason.ROTATE),
                                  (PutbackReason.ROTATE, ReclaimReason.KSWAPD), (np.bool_(True), 1.0), (-(1 << 70), np.int64(1))])
def test_numpy_numbers_and_enums_compare_on_the_fast_path(op, a, b):
    assert as_python("_compare_", op, a, b) is not None


def test_numpy_numbers_next_to_python_ones_compute_as_numpy_does():
    assert type(G["_mul_"](np.int64(3), 4)) is np.int64 and G["_add_"](2.5, np.float32(1)) == 3.5
    assert type(G["_binop_"]("&", np.uint8(7), 3)) is np.uint8
    for guard, a, b in (("_mul_", np.int64(3), 1 << 70), ("_add_", 1 << 64, np.int64(1))):
        with pytest.raises(OverflowError):  # numpy's refusal of an int beyond its width: RESOURCE (_classify)
            G[guard](a, b)
    assert refusal("_mul_", True, 1 << 64) is ExitKind.RESOURCE, "bools are Python ints: checked as ints"


@pytest.mark.parametrize("key", [2, np.int64(2), np.uint8(2), slice(1, 3), np.array([True, False, True, False, True]),
                                 np.array([4, 0]), np.array([1], np.uint32), np.array([], np.int64), np.zeros(0, bool)],
                         ids=repr)
def test_an_array_is_indexed_by_an_int_a_slice_or_an_array_of_bools_or_ints(key):
    a = np.arange(5) * 10
    assert np.array_equal(G["_getitem_"](a, key), a[key])


@pytest.mark.parametrize("key", [None, (0,), [0, 1], True, np.bool_(True), 1.0, np.array([0.0]), np.array([], float),
                                 np.array(["a"]), "a"], ids=repr)
def test_an_array_is_not_indexed_by_anything_else(key):
    fault = fault_of(G["_getitem_"], np.arange(5), key)
    assert fault.kind is ExitKind.ERROR and "an array is indexed by" in fault.message


@pytest.mark.parametrize(
    "item, container, found",
    [
        (3, [1, 2, 3], True), (4, (1, 2, 3), False), ("fifo", ("fifo", "lru"), True), ((1, 2), {(1, 2): 0}, True),
        (1, {1, 2}, True), (3, frozenset({1}), False), ("ab", "cab", True), (2, np.arange(3), True),
        (np.int64(5), np.arange(3), False), (None, [1, None], True), ([1], [[1], [2]], True),
    ],
)
def test_in_and_not_in(item, container, found):
    assert G["_compare_"]("in", item, container) is found and G["_compare_"]("not in", item, container) is not found


def test_a_range_is_searched_for_an_int_only():
    """`x in range(...)` is arithmetic for an int and a walk in C over the
    whole range for anything else: a float or a numpy number is searched
    for as the int it equals, anything else refused (these ranges would
    take hours to walk)."""
    huge = range(0, 1 << 62, 2)
    for item, found in ((2, True), (True, False), (2.0, True), (2.5, False), (float("nan"), False), (float("inf"), False),
                        (np.int64(4), True), (np.uint8(3), False), (np.float32(6), True), (np.bool_(False), True)):
        assert G["_compare_"]("in", item, huge) is found, item
        assert G["_compare_"]("not in", item, huge) is not found, item
    for item in ("a", None, (1,), Tripwire()):
        assert refusal("_compare_", "in", item, huge) is ExitKind.ERROR, item


def test_in_searches_only_containers_of_bounded_search():
    for container in (enumerate(range(1 << 62)), 5, HashMap(4), PutbackReason):
        assert refusal("_compare_", "in", 1, container) is ExitKind.ERROR, container


C = make_guards(SandboxLimits(max_compare_items=1000))


def test_comparing_nested_containers_is_bounded():
    """Two lists compare item by item, however nested: `[[0] * 2**20] *
    2**20` against an equal copy is 10**12 comparisons in C. A comparison
    is weighed first, shared structure counted each time it is reached."""
    compare = C["_compare_"]
    assert compare("==", [0] * 400, [0] * 400) and compare("<", ((1, 2), (3, "a")), ((1, 2), (3, "b")))
    assert compare("==", {1: (1, 2)}, {1: (1, 2)}) and compare("in", (1, 2), [(0, 1), (1, 2)])
    nested, copy = [[0] * 40] * 40, [[0] * 40 for _ in range(40)]
    for op, a, b in (("==", nested, copy), ("!=", (nested,), (copy,)), ("<", [nested], [copy]),
                     ("==", {1: nested}, {1: copy}), ("==", ScanDecision(nested), ScanDecision(copy)),
                     ("in", copy[0], nested), ("not in", nested, [copy]), ("in", ((0,) * 40,) * 40, {}),
                     ("in", 7, [np.arange(100)] * 10), ("==", ["a" * 600] * 2, ["a" * 600] * 2)):
        assert fault_of(compare, op, a, b).kind is ExitKind.RESOURCE, (op, a, b)
    # the real thing, with the default limits: refused, not compared
    big = [[0] * 4096] * 4096
    assert refusal("_compare_", "==", big, [list(big[0])] * 4096) is ExitKind.RESOURCE


# ----------------------------------------------------------------------
# Flat containers
# ----------------------------------------------------------------------
FLAT_ELEMENTS = [0, -(1 << 63), 1.5, True, None, "", "fifo", np.int64(3), np.uint8(1), np.float32(0.5), np.bool_(False),
                 PutbackReason.ROTATE, np.arange(3), np.zeros(0), np.array([0.5])]
NOT_FLAT = [[1], (1,), [], (), {}, {1: 2}, range(3), enumerate([1]), {1}, np.zeros((2, 2)), np.array([None, 1]),
            np.array(5), HashMap(1), ScanDecision((1, 2)), Victims(np.arange(2), 2), b"ab", Tripwire(), print]


def is_flat_refusal(fault: PolicyFault) -> bool:
    return fault.kind is ExitKind.RESOURCE and "containers in a policy are flat" in fault.message and "maps" in fault.message


def test_lists_and_tuples_hold_numbers_strings_none_and_arrays():
    built = G["_list_"](*FLAT_ELEMENTS)
    assert type(built) is list and all(a is b for a, b in zip(built, FLAT_ELEMENTS, strict=True))
    built = G["_tuple_"](*FLAT_ELEMENTS)
    assert type(built) is tuple and all(a is b for a, b in zip(built, FLAT_ELEMENTS, strict=True))
    assert G["_list_"]() == [] and G["_tuple_"]() == ()
    for guard in ("_list_", "_tuple_"):
        for bad in NOT_FLAT:
            fault = fault_of(G[guard], 1, bad, "a")
            assert is_flat_refusal(fault) and type(bad).__name__ in fault.message, (guard, bad, fault.message)


def test_dict_displays_have_flat_values():
    a = np.arange(3)
    d = G["_dict_"](("n", 1, "xs", "t", "a", "none"), (5, "x", [1, "a", a], (0.5, None), a, None))
    assert d == {"n": 5, 1: "x", "xs": [1, "a", a], "t": (0.5, None), "a": a, "none": None}
    for bad in ({}, {"a": 1}, [[1]], ([],), [(1, 2)], [{}], (1, [2]), range(3), enumerate([1]), ScanDecision((1, 2)),
                np.zeros((2, 2)), HashMap(1), {1}):
        fault = fault_of(G["_dict_"], ("k",), (bad,))
        assert is_flat_refusal(fault) and "a dict's value" in fault.message, (bad, fault.message)
    for key in ((1, 2), [1], None.__class__, frozenset()):
        assert refusal("_dict_", (key,), (1,)) is ExitKind.RESOURCE, key
    assert refusal("_dict_", ("a", "b"), (1,)) is ExitKind.ERROR


def test_writes_keep_lists_and_dicts_flat():
    """`xs[i] = v`, `xs[a:b] = ys` and `d[k] = v` through _write_: what a
    display may hold, and no list beyond the limit (G's is 100)."""
    xs = [0, 1, 2, 3]
    write = G["_write_"]
    write(xs)[0] = "a"
    write(xs)[np.int64(1)] = np.arange(2)
    write(xs)[-1] = None
    write(xs)[1:3] = (5, 6, 7)
    write(xs)[::2] = [8, 9, None]
    assert xs == [8, 5, 9, 7, None]
    for bad in NOT_FLAT:
        fault = fault_of(write(xs).__setitem__, 0, bad)
        assert is_flat_refusal(fault), (bad, fault.message)
        fault = fault_of(write(xs).__setitem__, slice(0, 1), [1, bad])
        assert is_flat_refusal(fault), (bad, fault.message)
    assert len(xs) == 5, "nothing written by a refused write"
    for iterable in (range(10**18), "abc", np.arange(3), enumerate([1]), {1: 2}, iter([1])):
        assert fault_of(write(xs).__setitem__, slice(0, 0), iterable).kind is ExitKind.ERROR, iterable
    write(xs)[5:] = [0] * 95
    assert len(xs) == 100
    write(xs)[0:10] = [1] * 10  # the same length
    for key, value in ((slice(0, 0), [0]), (slice(99, 100), (0, 0)), (slice(-1, None), [0] * 2)):
        assert fault_of(write(xs).__setitem__, key, value).kind is ExitKind.RESOURCE, key
    assert len(xs) == 100
    with pytest.raises(IndexError):
        write(xs)[100] = 1  # Python's own error, which ejects as ERROR
    with pytest.raises(AttributeError):
        write(xs).append = 1
    d = {"a": 1}
    write(d)["b"] = [1, 2]
    write(d)[3] = np.arange(2)
    assert list(d) == ["a", "b", 3]
    for bad in ({}, [[1]], ((1,),), range(3), ScanDecision((1, 2))):
        assert is_flat_refusal(fault_of(write(d).__setitem__, "c", bad)), bad
    for key in ((1, 2), Victims(np.arange(1), 1)):  # a tuple hashes its items
        assert fault_of(write(d).__setitem__, key, 1).kind is ExitKind.RESOURCE, key
    assert list(d) == ["a", "b", 3]


def test_tuples_are_bounded_as_lists_are():
    for guard, *args in (("_mul_", (0,), 101), ("_mul_", 101, (0,)), ("_mul_", (0,) * 2, np.int64(51)),
                         ("_add_", (0,) * 60, (0,) * 41), ("_inplacevar_", "*=", (0,), 101),
                         ("_inplacevar_", "+=", (0,) * 100, (0,))):
        assert refusal(guard, *args) is ExitKind.RESOURCE, (guard, args)
    assert G["_mul_"]((1, "a"), 50) == (1, "a") * 50 and G["_add_"]((0,) * 60, (0,) * 40) == (0,) * 100
    assert G["_inplacevar_"]("*=", (1,), 3) == (1, 1, 1)


def test_scan_decision_and_victims_take_flat_fields(t):
    """A policy builds these too: a ScanDecision of ScanDecisions would nest
    as lists do. The object built is the interface's own."""
    ns = load(FIFO)._namespace
    decision = ns["ScanDecision"]((1, 2), age=[0, 0], batch=np.int64(4))
    assert type(decision) is ScanDecision and decision == ScanDecision((1, 2), [0, 0], np.int64(4))
    victims = ns["Victims"](np.arange(2), 2, lru_type=None)
    assert type(victims) is Victims and victims.nr_scanned == 2
    for call in (lambda: ns["ScanDecision"](decision), lambda: ns["ScanDecision"]((1, 2), age=((1, 2),)),
                 lambda: ns["Victims"](victims, 1), lambda: ns["Victims"]([np.arange(1)], nr_scanned=[[1]]),
                 lambda: ns["ScanDecision"]({1: 2})):
        assert is_flat_refusal(fault_of(call)), call
    with pytest.raises(TypeError):
        ns["ScanDecision"]()  # Python's own error


B = runtime.make_builtins(SandboxLimits(max_str_len=1000, max_compare_items=1000))


def test_str_max_min_and_divmod_are_guarded_before_they_work_in_c():
    """Flat is not small: `str([s] * 2**20)` with s a string of 65536
    characters is 64 GB, `str([array] * 2**20)` runs numpy's printing a
    million times, and max() of two lists of distinct equal long strings
    compares for seconds."""
    assert set(B) == set(surface.SAFE_BUILTINS)
    text, top, bottom = B["str"], B["max"], B["min"]
    long = np.arange(10**6)
    for value in (5, 0.5, None, "abc", np.int64(3), long, [1, 2], (1, "a"), {"a": [1, 2]}, ScanDecision((1, 2)),
                  PutbackReason.ROTATE, range(10**18), enumerate([1])):
        assert text(value) == str(value), value
    assert text() == "" and fault_of(lambda: text(object=5)).kind is ExitKind.ERROR
    assert fault_of(text, "a", "utf-8").kind is ExitKind.ERROR
    for value in ([0] * 1001, ["a" * 500] * 2, [np.arange(500)] * 2, {"a": [0] * 1000}, ScanDecision([0] * 999),
                  (np.arange(1),) * 20):
        fault = fault_of(text, value)
        assert fault.kind is ExitKind.RESOURCE and "str()" in fault.message, value
    assert top(1, 2) == 2 and bottom(1.5, np.int64(1)) == 1 and top(1, 5, 3) == 5 and bottom("b", "a") == "a"
    assert top([1, 2], [1, 3]) == [1, 3] and bottom((1, "a"), (1, "b")) == (1, "a")
    nearly = ["a" * 200, "b"]
    assert top(nearly, list(nearly)) == nearly
    for fn in (top, bottom):
        for args in ((["a" * 600], ["a" * 599 + "a"]), ([0] * 600, [0] * 600), ([0] * 300, [0] * 300, [0] * 300)):
            assert fault_of(fn, *args).kind is ExitKind.RESOURCE
        for args in ((np.arange(3), [Tripwire()]), ((Tripwire(),), np.int64(1)), (range(10**12), np.arange(3))):
            assert fault_of(fn, *args).kind is ExitKind.RESOURCE, args
        for args, kwargs in (((range(10**18),), {}), (([1, 2],), {}), ((1, 2), {"key": abs}), ((), {"default": 1})):
            assert fault_of(partial(fn, *args, **kwargs)).kind is ExitKind.ERROR, (args, kwargs)
    assert B["divmod"](7, 2) == (3, 1) and B["divmod"](np.arange(4), 3)[1].tolist() == [0, 1, 2, 0]
    for args in ((np.arange(3), [Tripwire()]), ((Tripwire(),), np.int64(1)), (np.arange(3), range(10**12))):
        assert fault_of(B["divmod"], *args).kind is ExitKind.RESOURCE, args
    # with the default limits
    big = runtime.make_builtins(SandboxLimits())
    s = "a" * 65536
    start = time.perf_counter()
    assert fault_of(big["str"], [s] * (1 << 20)).kind is ExitKind.RESOURCE
    assert fault_of(big["max"], [s] * (1 << 20), [s[:-1] + "a"] * (1 << 20)).kind is ExitKind.RESOURCE
    assert fault_of(big["str"], [np.arange(3)] * (1 << 20)).kind is ExitKind.RESOURCE
    assert time.perf_counter() - start < 0.5, "weighed, not walked"


DOUBLING = FIFO + """
    def policy_state(ctx):
        x = ctx.nr_nodes
        a = [x, x]
        b = [a, a]
        c = [b, b]
        return {"c": str(c)}
"""


def verified(source: str, name: str = "policy") -> SandboxedPolicy:
    """A policy through the whole verifier, sandboxed."""
    result = verify(textwrap.dedent(source), f"{name}.py")
    assert result.ok, result.diagnostics
    return SandboxedPolicy(result, name)


def line_of(source: str, text: str) -> int:
    return textwrap.dedent(source).splitlines().index(text) + 1


def test_the_doubling_attack_is_refused_at_the_first_nesting(t):
    """`a = [x, x]; b = [a, a]; ...` doubles per statement, then `==`,
    max(), str() or numpy walk 10**12 items in C. The verifier cannot see
    that `a` is a list; the runtime refuses `[a, a]`."""
    fault = fault_of(verified(DOUBLING).policy_state, t.ctx)
    assert is_flat_refusal(fault) and fault.dump["source_line"] == "b = [a, a]"
    assert fault.line == line_of(DOUBLING, "    b = [a, a]")
    for line in ("b = (a, x)", "b = {'a': a}; b = (b, x)", "b = ScanDecision(a, (a,))", "b = [x]; b[0] = a"):
        source = DOUBLING.replace("b = [a, a]", line).replace("c = [b, b]", "c = b")
        fault = fault_of(verified(source).policy_state, t.ctx)
        assert is_flat_refusal(fault) and fault.line == line_of(source, "    " + line), (line, fault.message)


def test_flat_containers_run_through_the_verifier(t):
    policy = verified(FIFO + """
    def policy_state(ctx):
        n = ctx.nr_nodes
        xs = [n, n + 1, "a", None]
        xs[0] = 7
        xs[1:2] = (8, 9)
        pair = (n, ctx.lruvecs[0])
        d = {"xs": xs, "pair": pair, "n": n}
        d["m"] = max(n, 3)
        return {"state": str(d), "same": str(xs == [7, 8, 9, "a", None]), "in": str(n in pair)}
""")
    assert policy.policy_state(t.ctx) == {
        "state": str({"xs": [7, 8, 9, "a", None], "pair": (1, 0), "n": 1, "m": 3}), "same": "True", "in": "True"}


ARITHMETIC = """
    INTERFACE_VERSION = (1, 1)
    SEVEN = 7
    HALF = 0.5

    def policy_state(ctx):
        n = ctx.nr_nodes + 31
        m = SEVEN
        values = (n - m, n / m, n // m, n & m, n | m, n ^ m, n >> m, n < m, n == m, n != m, m <= n <= 40, n > m >= n,
                  m in (1, m), n not in (m,), HALF in range(n), m in range(n))
        m -= n
        m //= 2
        return {"values": str(values), "m": str(m)}
"""


def test_compiled_operators_and_comparisons_go_through_the_guards(t):
    policy = load(ARITHMETIC)
    calls = []
    for guard in ("_binop_", "_compare_"):
        real = policy._namespace[guard]
        policy._namespace[guard] = lambda op, a, b, real=real: calls.append(op) or real(op, a, b)
    state = policy.policy_state(t.ctx)
    n, m = t.ctx.nr_nodes + 31, 7
    values = (n - m, n / m, n // m, n & m, n | m, n ^ m, n >> m, n < m, n == m, n != m, m <= n <= 40, n > m >= n,
              m in (1, m), n not in (m,), 0.5 in range(n), m in range(n))
    assert state == {"values": str(values), "m": str((m - n) // 2)}
    assert sorted(calls) == sorted(["-", "/", "//", "&", "|", "^", ">>", "<", "==", "!=", "<=", ">", ">=", "in", "not in",
                                    "in", "in"]), "every operation without a literal operand, once"


GUARDED = """
    INTERFACE_VERSION = (1, 1)
    LIST = [0] * 4
    LONG = ["a" * 60000] * 100
    COPY = ["a" * 59999 + "a"] * 100
    BIG = 18446744073709551615
    LOW = -18446744073709551615
    ONE = 1

    def folio_accessed(ctx, folios):
        x = {line}
"""


@pytest.mark.parametrize(
    "line, kind",
    [
        ("folios - LIST", ExitKind.RESOURCE),
        ("folios[0] & LIST", ExitKind.RESOURCE),
        ("LIST == folios", ExitKind.RESOURCE),
        ("LIST in folios", ExitKind.RESOURCE),
        ("folios[0] <= folios[1] == LIST", ExitKind.RESOURCE),
        ("folios; x -= LIST", ExitKind.RESOURCE),
        ("LOW - BIG", ExitKind.RESOURCE),
        ("LOW - ONE", ExitKind.RESOURCE),
        ("LONG == COPY", ExitKind.RESOURCE),
        ("max(LONG, COPY)", ExitKind.RESOURCE),
        ("str(LONG)", ExitKind.RESOURCE),
        ("ONE in enumerate(folios)", ExitKind.ERROR),
        ("[ONE, ONE]; x = [x, x]", ExitKind.RESOURCE),
        ("(ONE, folios); x = (x, ONE)", ExitKind.RESOURCE),
        ("[ONE]; x = {'a': [x, x]}", ExitKind.RESOURCE),
        ("[ONE]; x[0] = LIST", ExitKind.RESOURCE),
    ],
)
def test_compiled_operators_and_comparisons_are_refused_at_their_line(t, line, kind):
    policy = load(GUARDED.replace("{line}", line), t)
    fault = fault_of(policy.folio_accessed, t.ctx, t.fault(ANON, range(3)))
    assert fault.kind is kind and fault.line == 11, fault.message
    assert fault.dump["source_line"] == f"x = {line}"


def test_unpacking_draws_a_bounded_number_of_items():
    spec = {"childs": (), "min_len": 2}
    assert G["_unpack_sequence_"]((1, 2), spec, G["_getiter_"]) == (1, 2)
    assert G["_unpack_sequence_"]([1, (2, 3)], {"childs": ((1, spec),), "min_len": 2}, G["_getiter_"]) == [1, (2, 3)]
    assert refusal("_unpack_sequence_", range(10**18), spec, G["_getiter_"]) is ExitKind.RESOURCE
    assert refusal("_unpack_sequence_", "ab", spec, G["_getiter_"]) is ExitKind.ERROR
    assert list(G["_iter_unpack_sequence_"](enumerate([5, 6]), spec, G["_getiter_"])) == [(0, 5), (1, 6)]


def test_guards_through_compiled_code_name_the_line(t):
    policy = load("""
        INTERFACE_VERSION = (1, 1)

        def policy_init(ctx):
            x = ctx.now() + 1
            y = x << 70
    """, None)
    fault = fault_of(policy.policy_init, t.ctx)
    assert fault.kind is ExitKind.RESOURCE and fault.line == 6 and fault.dump["source_line"] == "y = x << 70"


# ----------------------------------------------------------------------
# The context's argument checks
# ----------------------------------------------------------------------
@pytest.fixture
def ctx(t):
    return SandboxContext(t.ctx, t.m.folios.nr_pages, SandboxLimits(max_lists=2, max_peek=64))


def test_the_sandbox_context_has_every_helper_of_the_interface_with_its_signature(ctx):
    for name in surface.CONTEXT_ATTRIBUTES:
        assert hasattr(ctx, name), name
        if callable(getattr(Context, name, None)):
            ours, theirs = (inspect.signature(getattr(cls, name)).parameters.values() for cls in (SandboxContext, Context))
            assert [(p.name, p.default) for p in ours] == [(p.name, p.default) for p in theirs], name


@pytest.mark.parametrize(
    "call, words",
    [
        (lambda c, n: c.folio_type(-1), ("folio_type", "-1")),
        (lambda c, n: c.folio_type(n), ("folio_type", "not a folio id")),
        (lambda c, n: c.folio_flags(np.array([0, n])), ("folio_flags", str(224))),
        (lambda c, n: c.folio_data(np.array([-5, 0])), ("folio_data", "-5")),
        (lambda c, n: c.folio_type([1, 2]), ("folio_type", "list")),
        (lambda c, n: c.folio_flags([[Tripwire()] * 1024] * 1024), ("folio_flags", "list")),
        (lambda c, n: c.folio_referenced((Tripwire(), 1)), ("folio_referenced", "tuple")),
        (lambda c, n: c.look_around(range(10**12)), ("look_around", "range")),
        (lambda c, n: c.list_add(c.list_create(0, 0, False, "a"), [Tripwire()]), ("list_add", "list")),
        (lambda c, n: c.list_del((0, 1)), ("list_del", "tuple")),
        (lambda c, n: c.folio_set_data(np.array([0]), [Tripwire()]), ("folio_set_data", "as long as folios")),
        (lambda c, n: c.folio_type(np.empty(2, object)), ("folio_type", "object")),
        (lambda c, n: c.folio_type(np.array([0.0])), ("folio_type", "float64")),
        (lambda c, n: c.folio_type(np.zeros((2, 2), np.int64)), ("folio_type", "2-D")),
        (lambda c, n: c.folio_lruvec(True), ("folio_lruvec", "bool")),
        (lambda c, n: c.lruvec_node(1), ("lruvec_node", "lruvec")),
        (lambda c, n: c.lruvec_node(0.0), ("lruvec_node", "lruvec")),
        (lambda c, n: c.folio_set_flags(0, PG_dirty), ("folio_set_flags", "POLICY_WRITABLE_FLAGS")),
        (lambda c, n: c.folio_clear_flags(0, -1), ("folio_clear_flags", "mask")),
        (lambda c, n: c.folio_set_data(np.array([0, 1]), np.array([1])), ("folio_set_data", "as long as folios")),
        (lambda c, n: c.folio_set_data(0, 1 << 63), ("folio_set_data", "int64")),
        (lambda c, n: c.walk_mm(0, (2,)), ("walk_mm", "types")),
        (lambda c, n: c.walk_mm(0, (0, 0)), ("walk_mm", "types")),
        (lambda c, n: c.list_create(0, 2, False, "x"), ("list_create", "lru_type")),
        (lambda c, n: c.list_create(0, 0, "yes", "x"), ("list_create", "active")),
        (lambda c, n: c.list_create(0, 0, False, "x" * 65), ("list_create", "name")),
        (lambda c, n: c.list_add(0, 1), ("list_add", "list_create")),
        (lambda c, n: c.list_len(c.list_create(0, 0, False, "a") + 1), ("list_len", "list_create")),
        (lambda c, n: c.list_peek(c.list_create(0, 0, False, "a"), 65), ("list_peek", "n")),
        (lambda c, n: c.list_peek(c.list_create(0, 0, False, "a"), -1), ("list_peek", "n")),
        (lambda c, n: [c.list_create(0, 0, False, "a") for _ in range(3)], ("list_create", "at most 2")),
        (lambda c, n: c.count_event("pgactivate", 0, -1), ("count_event", "nr")),
        (lambda c, n: c.count_event(1, 0, 1), ("count_event", "name")),
        (lambda c, n: c.sysctl(None), ("sysctl", "name")),
        (lambda c, n: c.trace(5), ("trace", "str")),
        (lambda c, n: c.workingset_age_nonresident(0, 1 << 40), ("workingset_age_nonresident", "nr")),
    ],
)
def test_each_helper_refuses_bad_arguments_naming_itself(ctx, t, call, words):
    fault = fault_of(call, ctx, t.m.folios.nr_pages)
    assert fault.kind is ExitKind.HELPER
    assert all(w in str(fault) for w in words), str(fault)


def test_helpers_answer_as_the_core_does(ctx, t):
    folios = t.fault(ANON, range(4))
    assert ctx.folio_type(np.int64(folios[0])) == 0 and ctx.folio_type(folios.astype(np.int32)).tolist() == [0] * 4
    lst = ctx.list_create(0, 0, True, "mine")
    ctx.list_add(lst, folios, tail=1)
    assert ctx.list_len(lst) == 4 and ctx.list_peek(lst, 2, True).tolist() == folios[-1:-3:-1].tolist()
    ctx.folio_set_flags(folios, PG_policy0)
    ctx.folio_set_data(folios, np.arange(4))
    assert (ctx.folio_flags(folios) & PG_policy0).all() and ctx.folio_data(folios).tolist() == [0, 1, 2, 3]
    assert ctx.walk_mm(0, [0]).dtype == np.int64 and ctx.lruvec_node(0) == 0 and ctx.lruvecs == (0,)


class CoreSpy:
    """The core's context, counting the helper calls that reach it."""

    def __init__(self, core):
        self._core, self.calls = core, []

    def __getattr__(self, name):
        attr = getattr(self._core, name)
        if not callable(attr):
            return attr

        def call(*args, **kwargs):
            self.calls.append(name)
            return attr(*args, **kwargs)
        return call


@pytest.mark.parametrize("empty", [np.empty(0, np.int64), np.empty(0, np.int32), np.empty(0), np.empty(0, object)],
                         ids=["int64", "int32", "float", "object"])
def test_an_empty_array_is_nothing_to_do_for_the_helpers_that_change_something(t, empty):
    spy = CoreSpy(t.ctx)
    ctx = SandboxContext(spy, t.m.folios.nr_pages, SandboxLimits())
    lst = ctx.list_create(0, 0, False, "a")
    spy.calls.clear()
    ctx.list_add(lst, empty)
    ctx.list_add(lst, empty, True)
    ctx.list_del(empty)
    ctx.folio_set_flags(empty, PG_policy0)
    ctx.folio_clear_flags(empty, PG_policy0)
    ctx.folio_set_data(empty, 5)
    ctx.folio_set_data(empty, np.empty(0, np.int64))
    assert spy.calls == [] and ctx.list_len(lst) == 0
    # the other arguments are still checked
    for call, words in ((lambda: ctx.list_add(lst + 1, empty), "list_create"), (lambda: ctx.list_add(lst, empty, "yes"), "tail"),
                        (lambda: ctx.folio_set_flags(empty, PG_dirty), "POLICY_WRITABLE_FLAGS"),
                        (lambda: ctx.folio_set_data(empty, np.zeros(1, np.int64)), "as long as folios"),
                        (lambda: ctx.folio_set_data(empty, 1 << 63), "int64"),
                        (lambda: ctx.list_add(lst, np.empty((0, 2), np.int64)), "2-D")):
        fault = fault_of(call)
        assert fault.kind is ExitKind.HELPER and words in fault.message, fault.message
    # the helpers that answer answer as the core does, in its types
    for name in ("folio_type", "folio_lruvec", "folio_flags", "folio_data", "folio_mapcount", "folio_referenced",
                 "folio_list"):
        ours, theirs = getattr(ctx, name)(empty), getattr(t.ctx, name)(np.empty(0, np.int64))
        assert type(ours) is np.ndarray and ours.shape == (0,) and ours.dtype == theirs.dtype, name
    around = ctx.look_around(empty)
    assert around.shape == (0,) and around.dtype == np.int64 and around.flags.writeable


def test_the_batch_a_call_is_handed_passes_as_it_is_and_nothing_else_does(t):
    """The batch is the core's own array, read-only to the policy: its ids
    are folio ids. An array the policy makes of it, or any other array it is
    handed (a refault's shadow values), is checked."""
    policy = load("""
        INTERFACE_VERSION = (1, 1)

        def folio_accessed(ctx, folios):
            ctx.folio_set_flags(folios, PG_policy0)
            ctx.folio_type(folios + 0)
    """, t)
    folios = t.fault(ANON, range(3))
    policy.folio_accessed(t.ctx, folios)
    assert (t.m.folios.flags[folios] & PG_policy0).all() and policy._ctx._batch is None
    # an id out of range in a batch only the core could hand over: it reaches the core as it is...
    beyond = np.array([t.m.folios.nr_pages + 5])
    fault = fault_of(policy.folio_accessed, t.ctx, beyond)
    assert fault.kind is ExitKind.ERROR and "IndexError" in fault.message
    # ...what the policy computes from the batch is checked
    policy = load(FIFO.replace("def folio_added(ctx, folios):\n        place(ctx, folios)",
                               "def folio_added(ctx, folios):\n        ctx.folio_type(folios - 1)"), t)
    fault = fault_of(policy.folio_added, t.ctx, np.array([0, 1]))
    assert fault.kind is ExitKind.HELPER and "-1 is not a folio id" in fault.message
    policy = load(FIFO + """
    def on_refault(ctx, folios, refault):
        ctx.folio_type(folios)
        ctx.folio_type(refault.shadow)
""", t)
    refault = RefaultBatch(shadow=np.array([1 << 40, 0, 0]), distance=np.zeros(3, np.int64), recent=np.zeros(3, bool), ghost=np.full(3, -1),
                           workingset=np.zeros(3, bool))
    fault = fault_of(policy.on_refault, t.ctx, folios, refault)
    assert fault.kind is ExitKind.HELPER and f"{1 << 40} is not a folio id" in fault.message
    assert fault.dump["source_line"] == "ctx.folio_type(refault.shadow)"


def test_a_trace_message_is_cut_at_256_characters(ctx, t):
    events = []
    t.m.events.subscribe(events.append)
    ctx.trace("x" * 1000)
    assert [len(e["msg"]) for e in events if e["name"] == "bpf_trace_printk"] == [256]


def test_what_the_core_refuses_is_a_helper_fault_at_the_policy_line(t):
    policy = load("""
        INTERFACE_VERSION = (1, 1)
        L = ArrayMap(1)

        def policy_init(ctx):
            L.update(0, ctx.list_create(0, LRU_FILE, False, "file"))

        def folio_added(ctx, folios):
            ctx.list_add(L.lookup(0), folios)
    """, t)
    fault = fault_of(policy.folio_added, t.ctx, off_lists(t, ANON, 2))
    assert fault.kind is ExitKind.HELPER and "list_add" in fault.message and fault.line == 9


# ----------------------------------------------------------------------
# The plugin: hooks, parameters, batches, answers
# ----------------------------------------------------------------------
EVERY_HOOK = """
    INTERFACE_VERSION = (1, 0)

    def policy_init(ctx): pass
    def folio_added(folios, ctx): pass
    def folio_accessed(ctx): pass
    def should_reclaim(request): return None
    def age(ctx, request): return 0
    def select_victims(ctx, request): return []
    def folio_putback(request, reasons): pass
    def age_node(request): return False
    def policy_state(ctx): return {}
    def folio_evicted(folios): return None
    def on_refault(refault, ctx, folios): return None
    def folio_removed(ctx, folios): pass
"""


def test_every_hook_is_a_hookimpl_with_the_full_spec_parameters():
    policy = load(EVERY_HOOK)
    assert set(compiled(EVERY_HOOK).hooks) == set(HOOK_NAMES), "the test covers every hook"
    for hook in HOOK_NAMES:
        fn = getattr(policy, hook)
        assert fn.__code__.co_varnames[: fn.__code__.co_argcount] == spec_argnames(hook), hook
    bound = BoundPolicy("p", policy)
    assert set(bound.hooks_implemented) == set(HOOK_NAMES)
    assert policy.INTERFACE_VERSION == (1, 0) and policy.reclaim_ext_untrusted and policy.name == "p"
    assert policy.filename == "policy.py"


def test_a_hook_gets_the_parameters_it_asks_for_in_its_order(t):
    policy = load("""
        INTERFACE_VERSION = (1, 1)
        SEEN = HashMap(4)

        def folio_putback(request, reasons, folios, ctx):
            SEEN.update(0, (request.priority, len(reasons), len(folios), ctx.nr_nodes))
            for folio in folios:
                ctx.list_add(ctx.list_create(0, ctx.folio_type(folio), False, "x"), folio)
    """)
    folios = off_lists(t, ANON, 3)
    policy.folio_putback(t.ctx, folios, np.zeros(3, np.int8), t.request(priority=5))
    assert policy.maps["SEEN"].lookup(0) == (5, 3, 3, 1)


def test_a_policy_cannot_write_into_the_arrays_it_is_handed(t):
    policy = load("""
        INTERFACE_VERSION = (1, 1)

        def folio_accessed(ctx, folios):
            folios[0] = 0
    """, t)
    folios = t.fault(ANON, range(3))
    before = folios.copy()
    fault = fault_of(policy.folio_accessed, t.ctx, folios)
    assert fault.kind is ExitKind.ERROR and "read-only" in fault.message and fault.line == 5
    assert (folios == before).all() and folios.flags.writeable, "the core's own array is untouched"


BATCHES = """
    INTERFACE_VERSION = (1, 1)
    SIZES = ArrayMap(16)
    CALLS = ArrayMap(1)

    def note(n):
        SIZES.update(CALLS.lookup(0), n)
        CALLS.update(0, CALLS.lookup(0) + 1)

    def folio_accessed(ctx, folios):
        note(len(folios))

    def folio_putback(ctx, folios, reasons):
        note(len(reasons))
        for folio in folios:
            ctx.list_add(ctx.list_create(0, ctx.folio_type(folio), False, "x"), folio)

    def folio_evicted(ctx, folios):
        note(len(folios))
        if CALLS.lookup(0) == 2:
            return None
        return folios

    def on_refault(ctx, folios, refault):
        note(len(refault.shadow))
        return refault.shadow
"""


def sizes(policy) -> list[int]:
    return [policy.maps["SIZES"].lookup(i) for i in range(policy.maps["CALLS"].lookup(0))]


def test_batches_are_split_and_answers_joined(t, monkeypatch):
    monkeypatch.setattr(surface, "MAX_FOLIO_BATCH", 4)
    folios = np.resize(t.fault(ANON, range(10)), 10)

    policy = load(BATCHES)
    policy.folio_accessed(t.ctx, np.resize(folios, 9))
    assert sizes(policy) == [4, 4, 1] and policy.calls == 3

    policy = load(BATCHES)
    shadow = policy.folio_evicted(t.ctx, folios)
    assert sizes(policy) == [4, 4, 2]
    assert shadow.tolist() == folios[:4].tolist() + [0] * 4 + folios[8:].tolist(), "the second chunk said None: zeros"

    policy = load(BATCHES)
    refault = RefaultBatch(shadow=np.arange(10) % 4, distance=np.zeros(10, np.int64), recent=np.zeros(10, bool), ghost=np.full(10, -1),
                           workingset=np.zeros(10, bool))
    assert policy.on_refault(t.ctx, folios, refault).tolist() == (np.arange(10) % 4).tolist()
    assert sizes(policy) == [4, 4, 2]

    policy = load(BATCHES)
    t.m.lists.delete(folios)
    policy.folio_putback(t.ctx, folios, np.zeros(10, np.int8), None)
    assert sizes(policy) == [4, 4, 2]


def test_an_empty_putback_is_still_a_call(t):
    policy = load(BATCHES)
    policy.folio_putback(t.ctx, np.empty(0, np.int64), np.empty(0, np.int8), t.request())
    assert sizes(policy) == [0]


@pytest.mark.parametrize(
    "hook, answer, words",
    [
        ("select_victims", "'x'", "array, a list or a tuple"),
        ("select_victims", "[1.5]", "ints"),
        ("select_victims", "None", "NoneType"),
        ("select_victims", "['1']", "ints"),
        ("select_victims", "[1 << 63]", "64 bits"),
        ("select_victims", "Victims([1], 1.0)", "nr_scanned"),
        ("select_victims", "Victims([1], 1, 1.0)", "lru_type"),
        ("select_victims", "Victims([1], 1, None, '2')", "nr_used"),
        ("select_victims", "Victims(5, 1)", "Victims.folios"),
        ("should_reclaim", "5", "ScanDecision"),
        ("should_reclaim", "ScanDecision((1,))", "scan"),
        ("should_reclaim", "ScanDecision((1, -1))", "scan"),
        ("should_reclaim", "ScanDecision((1, 1), (0, 0), 0)", "batch"),
        ("age", "-1", "non-negative"),
        ("age", "'3'", "non-negative"),
        ("age_node", "1", "bool"),
        ("policy_state", "{1: 'a'}", "str to str"),
        ("policy_state", "'text'", "dict"),
    ],
)
def test_an_answer_of_the_wrong_shape_is_invalid(t, hook, answer, words):
    params = ", ".join(spec_argnames(hook))
    policy = load(f"""
        INTERFACE_VERSION = (1, 1)

        def {hook}({params}):
            return {answer}
    """)
    fault = fault_of(getattr(policy, hook), t.ctx, *([t.request()] if "request" in params else []))
    assert fault.kind is ExitKind.INVALID and hook in fault.message and words in fault.message, fault.message
    assert fault.line == 4, "an answer is blamed on its hook's def"


@pytest.mark.parametrize(
    "hook, answer, words",
    [("folio_evicted", "[1]", "1 values for 3 folios"), ("on_refault", "[0, 4, 1]", "0..3"), ("on_refault", "'abc'", "str")],
)
def test_per_folio_answers_have_one_int_per_folio(t, hook, answer, words):
    params = ", ".join(spec_argnames(hook))
    policy = load(f"""
        INTERFACE_VERSION = (1, 1)

        def {hook}({params}):
            return {answer}
    """)
    folios = t.fault(ANON, range(3))
    extra = [RefaultBatch(*(np.zeros(3, np.int64) for _ in range(5)))] if hook == "on_refault" else []
    fault = fault_of(getattr(policy, hook), t.ctx, folios, *extra)
    assert fault.kind is ExitKind.INVALID and words in fault.message, fault.message


def test_answers_are_handed_to_the_core_in_its_types(t):
    policy = load("""
        INTERFACE_VERSION = (1, 1)

        def select_victims(ctx, request):
            return Victims([3, 4], 5, LRU_ANON)

        def should_reclaim(ctx, request):
            return ScanDecision([1, 2], (3, 4))

        def age(ctx, request):
            return request.nr_to_scan

        def age_node(ctx, request):
            return True

        def policy_state(ctx):
            return {"lists": "a" + str(ctx.nr_nodes)}
    """)
    request = t.request()
    victims = policy.select_victims(t.ctx, request)
    assert type(victims) is Victims and victims.folios.dtype == np.int64 and victims[1:] == (5, 0, None)
    assert policy.should_reclaim(t.ctx, request) == ScanDecision((1, 2), (3, 4))
    assert policy.age(t.ctx, request) == 32 and policy.age_node(t.ctx, request) is True
    assert policy.policy_state(t.ctx) == {"lists": "a1"}


@pytest.mark.parametrize(
    "answer, words",
    [
        ("[-1]", "not a folio id"),
        ("[1 << 40]", "not a folio id"),
        ("np_peek[:1] * 0 + 300", "not a folio id"),
        ("[np_peek[0], np_peek[0]]", "named twice"),
        ("Victims(np_peek, -1)", "nr_scanned"),
        ("Victims(np_peek, 1, 2)", "lru_type"),
        ("Victims(np_peek, 1, None, 1 << 40)", "nr_used"),
        ("ctx.list_peek(L.lookup(0), 1)", "is of the other LRU type"),
        ("[OFF_LIST]", "on none of the policy's lists"),
        ("[FREE]", "is not resident"),
    ],
)
def test_what_the_victims_name_is_checked_by_the_core_not_twice(t, answer, words):
    """The sandbox hands the answer over in the core's types (int64 folios,
    int counts); simulator.ejection.check_victims, which guards every
    untrusted policy, finds what is wrong with it and ejects (INVALID)."""
    added = np.concatenate([off_lists(t, ANON, 2), off_lists(t, 1, 3)])
    off_list = t.fault(1, range(3, 5))
    t.m.lists.delete(off_list)
    free = int(np.flatnonzero(t.m.folios.lruvec < 0)[0])
    answer = answer.replace("OFF_LIST", str(off_list[0])).replace("FREE", str(free))
    policy = load(f"""
        INTERFACE_VERSION = (1, 1)
        L = ArrayMap(2)

        def policy_init(ctx):
            L.update(0, ctx.list_create(0, LRU_ANON, False, "anon"))
            L.update(1, ctx.list_create(0, LRU_FILE, False, "file"))

        def folio_added(ctx, folios):
            for folio in folios:
                ctx.list_add(L.lookup(ctx.folio_type(folio)), folio)

        def select_victims(ctx, request):
            np_peek = ctx.list_peek(L.lookup(1), 2)
            return {answer}
    """, t)
    policy.folio_added(t.ctx, added)
    request = t.request(lru_type=1)
    checked = policy.select_victims(t.ctx, request)  # the sandbox lets it through...
    folios = checked.folios if type(checked) is Victims else checked
    assert type(folios) is np.ndarray and folios.dtype == np.int64
    with pytest.raises(PolicyFault) as info:  # ...the core's guard does not
        check_victims(t.m, (t.ctx, request), checked)
    assert info.value.kind is ExitKind.INVALID and words in info.value.message, info.value.message


def test_a_policy_naming_a_victim_twice_is_ejected_by_the_core(t):
    m = running_machine(SandboxedPolicy(compiled(FIFO.replace(
        "return ctx.list_peek(LISTS.lookup(request.lru_type), request.nr_to_scan)",
        "oldest = ctx.list_peek(LISTS.lookup(request.lru_type), 1)\n"
        "        return oldest if len(oldest) == 0 else [oldest[0], oldest[0]]")), "twice"))
    m.run()
    [record] = m.ejections
    assert record["kind"] == "invalid" and record["hook"] == "select_victims" and "named twice" in record["message"]
    assert m.total_accesses == 20000


STATE = """
    INTERFACE_VERSION = (1, 1)
    N = ArrayMap(1)

    def policy_state(ctx):
        state = {}
        for i in range(N.lookup(0)):
            state["f" + str(i)] = "x"
        state[NAME] = TEXT
        return state
"""


@pytest.mark.parametrize(
    "files, name, text, words",
    [
        (0, '"lru_gen"', '"a" * 65536', None),
        (15, '"a" * 64', '"é" * 32768', None),
        (0, '"A-z_0.9"', '"\\n" * 10', None),
        (16, '"x"', '""', "17 files"),
        (0, '"a" * 65', '""', "file name"),
        (0, '""', '""', "file name"),
        (0, '"."', '""', "file name"),
        (0, '".."', '""', "file name"),
        (0, '"a/b"', '""', "file name"),
        (0, '"é"', '""', "file name"),
        (0, '"x"', '"a" * 65537', "65536 bytes"),
        (0, '"x"', '"é" * 32769', "65536 bytes"),
        (0, '"x"', '"\\ud800"', "UTF-8"),
    ],
)
def test_policy_state_is_bounded(t, files, name, text, words):
    """At most 16 files, names of 1 to 64 characters of [A-Za-z0-9._-],
    texts of at most 64 KiB: the results directory and --json hold it
    all (a thousand texts of 64 Ki characters was 64 MB)."""
    policy = load(STATE.replace("NAME", name).replace("TEXT", text), limits=SandboxLimits(max_str_len=1 << 20))
    policy.maps["N"].update(0, files)
    if words is None:
        state = policy.policy_state(t.ctx)
        assert len(state) == files + 1 and state[eval(name)] == eval(text)
    else:
        fault = fault_of(policy.policy_state, t.ctx)
        assert fault.kind is ExitKind.INVALID and "policy_state" in fault.message and words in fault.message, fault.message


def test_folio_added_must_leave_every_folio_on_a_list_which_the_core_checks(t):
    """simulator.ejection checks it for every untrusted policy; the sandbox
    does not check it a second time."""
    source = FIFO.replace("def folio_added(ctx, folios):\n        place(ctx, folios)", "def folio_added(ctx, folios):\n        pass")
    assert source != FIFO
    load(source, t).folio_added(t.ctx, off_lists(t))  # the sandbox lets it through...
    m = running_machine(SandboxedPolicy(compiled(source), "loses"))  # ...the core does not
    m.run()
    [record] = m.ejections
    assert record["kind"] == "invalid" and record["hook"] == "folio_added" and "left on no list" in record["message"]
    assert m.policy.name == record["fallback"] and m.total_accesses == 20000


MOVES = """
    INTERFACE_VERSION = (1, 1)
    L = ArrayMap(1)

    def policy_init(ctx):
        L.update(0, ctx.list_create(0, LRU_ANON, True, "active"))

    def folio_accessed(ctx, folios):
        ctx.list_del(folios)
        if len(folios) > 1:
            ctx.list_add(L.lookup(0), folios)

    def folio_removed(ctx, folios):
        ctx.list_del(folios)
"""


def test_a_folio_taken_off_a_list_must_be_put_back_within_the_call(t):
    policy = load(MOVES, t)
    folios = t.fault(ANON, range(4))
    active = policy.maps["L"].lookup(0)
    policy.folio_accessed(t.ctx, folios)  # a move in two steps
    assert (t.m.lists.page_list[folios] == active).all()
    fault = fault_of(policy.folio_accessed, t.ctx, folios[:1])
    assert fault.kind is ExitKind.INVALID and "list_del" in fault.message and fault.line == 8
    assert t.m.lists.page_list[folios[0]] == active, "put back where it was, for the fallback to adopt"
    t.m.lists.delete(folios)  # leaving memory: the core takes them off their lists...
    policy.folio_removed(t.ctx, folios)  # ...and the policy's list_del finds them on none


def test_folio_removed_may_not_take_other_folios_off_their_lists(t):
    policy = load(MOVES, t)
    staying, leaving = t.fault(ANON, range(4)), t.fault(ANON, range(4, 6))
    t.m.lists.delete(leaving)
    fault = fault_of(policy.folio_removed, t.ctx, staying)
    assert fault.kind is ExitKind.INVALID and "list_del" in fault.message and fault.line == 13
    assert (t.m.lists.page_list[staying] >= 0).all()


def test_a_call_that_fails_halfway_through_a_move_leaves_every_folio_on_its_list(t):
    policy = load("""
        INTERFACE_VERSION = (1, 1)
        L = ArrayMap(1)

        def policy_init(ctx):
            L.update(0, ctx.list_create(0, LRU_ANON, True, "active"))

        def folio_accessed(ctx, folios):
            ctx.list_del(folios)
            ctx.list_add(L.lookup(0), folios[:1])
            ctx.list_del(folios[:1])
            return 1 // 0
    """, t)
    folios = t.fault(ANON, range(3))
    before = t.m.lists.page_list[folios].copy()
    fault = fault_of(policy.folio_accessed, t.ctx, folios)
    assert fault.kind is ExitKind.ERROR and fault.line == 12
    after = t.m.lists.page_list[folios]
    assert after[0] == policy.maps["L"].lookup(0), "the list it was last taken off"
    assert (after[1:] == before[1:]).all()


def test_a_policy_ejected_for_a_folio_it_took_off_its_list_hands_every_folio_to_the_fallback():
    """Folios other than the batch's: the fallback's answer to the same call
    would not place them. The invariants (checked after every step) hold."""
    policy = SandboxedPolicy(compiled(FIFO + """
    def folio_accessed(ctx, folios):
        ctx.list_del(ctx.list_peek(LISTS.lookup(LRU_ANON), 8))
"""), "leaves")
    m = running_machine(policy)
    m.run()
    [record] = m.ejections
    assert record["kind"] == "invalid" and "list_del" in record["message"] and record["hook"] == "folio_accessed"
    assert m.total_accesses == 20000
    resident = np.flatnonzero(m.folios.lruvec >= 0)
    assert (m.lists.page_list[resident] >= 0).all()


def test_a_verified_fifo_runs_a_machine_to_the_end():
    verified = verify(textwrap.dedent(FIFO), "fifo.py")
    assert verified.ok, verified.diagnostics
    policy = SandboxedPolicy(verified, "fifo")
    m = running_machine(policy)
    m.run()
    assert m.ejections == [] and m.policy.name == "recorder"
    assert m.vmstat.total_dict()["pgsteal_kswapd"] + m.vmstat.total_dict()["pgsteal_direct"] > 0
    dump = policy.dump()
    assert dump["maps"] == {"LISTS": [2, 2]} and dump["calls"] > 100


# ----------------------------------------------------------------------
# Faults: lines, dumps, kinds
# ----------------------------------------------------------------------
def test_an_exception_names_the_innermost_line_of_the_policy_with_a_dump(t):
    policy = load("""
        INTERFACE_VERSION = (1, 1)
        HOT = LruHashMap(8)

        def ratio(a, b):
            return a // b

        def folio_accessed(ctx, folios):
            HOT.update(1, 2)
            ratio(len(folios), 0)
    """, t)
    fault = fault_of(policy.folio_accessed, t.ctx, t.fault(ANON, range(2)))
    assert fault.kind is ExitKind.ERROR and fault.message == "ZeroDivisionError: integer division or modulo by zero"
    assert fault.line == 6
    assert fault.dump == {"source_line": "return a // b", "maps": {"HOT": [1, 8]}, "calls": 1, "slow_calls": 0}


@pytest.mark.parametrize(
    "body, kind",
    [
        ("x = 2.0 ** 5000", ExitKind.RESOURCE),
        ("x = deeper(1)", ExitKind.RESOURCE),
        ("x = [1][5]", ExitKind.ERROR),
        ("x = request.stat.nr_taken.real", ExitKind.ERROR),
        ("x = 'a' + 1", ExitKind.ERROR),
    ],
)
def test_what_the_policy_raises_maps_to_an_exit_kind(t, body, kind):
    policy = load(f"""
        INTERFACE_VERSION = (1, 1)

        def deeper(n):
            return deeper(n + 1)

        def age(ctx, request):
            {body}
    """)
    fault = fault_of(policy.age, t.ctx, t.request())
    assert fault.kind is kind and fault.line in (5, 8), fault.message


def test_an_exception_message_is_cut_and_a_key_printed_briefly(t):
    """A KeyError carries the policy's key: str() of it is the key's repr,
    made in C, 64 GB for a tuple of a million strings of 65536 characters."""
    policy = load("""
        INTERFACE_VERSION = (1, 1)

        def age(ctx, request):
            key = ("a" * 65536,) * 1048576
            seen = {"a": 1}
            return seen[key]

        def policy_state(ctx):
            return {"x": str([1][2 + ctx.nr_nodes])}
    """)
    start = time.perf_counter()
    fault = fault_of(policy.age, t.ctx, t.request())
    assert time.perf_counter() - start < 1
    assert fault.kind is ExitKind.ERROR and fault.message.startswith("KeyError: ('aaaa") and len(fault.message) < 600
    fault = fault_of(policy.policy_state, t.ctx)
    assert fault.message == "IndexError: list index out of range"
    long = runtime._describe(ValueError("x" * 10_000))
    assert len(long) == runtime.MAX_MESSAGE_LEN and long.endswith("...")


BUDGET = """
    INTERFACE_VERSION = (1, 1)

    def age(ctx, request):
        n = 0
        for i in range(request.nr_to_scan):
            n += 1
        return n
"""


def test_the_budget_counts_loop_iterations_exactly(t):
    policy = load(BUDGET, limits=SandboxLimits(budget=40))
    assert policy.age(t.ctx, t.request(nr_to_scan=40)) == 40
    assert policy.age(t.ctx, t.request(nr_to_scan=40)) == 40, "each call has the whole budget"
    fault = fault_of(policy.age, t.ctx, t.request(nr_to_scan=41))
    assert fault.kind is ExitKind.BUDGET and fault.line == 6
    assert fault.dump["source_line"] == "for i in range(request.nr_to_scan):"


def test_a_loop_bound_the_verifier_could_not_see_runs_out_of_budget(t):
    policy = load("""
        INTERFACE_VERSION = (1, 1)

        def age(ctx, request):
            for i in range(-ctx.now() - (1 << 62), 10):
                pass
    """, limits=SandboxLimits(budget=10_000))
    assert fault_of(policy.age, t.ctx, t.request()).kind is ExitKind.BUDGET


def test_a_long_loop_hits_the_deadline(t):
    policy = load(BUDGET, limits=SandboxLimits(budget=1 << 40, deadline_ns=2_000_000))
    start = time.perf_counter()
    fault = fault_of(policy.age, t.ctx, t.request(nr_to_scan=1 << 40))
    assert fault.kind is ExitKind.DEADLINE and "2 ms" in fault.message
    assert time.perf_counter() - start < 1.0


def test_a_call_without_loops_that_overruns_is_caught_when_it_returns(t, monkeypatch):
    monkeypatch.setattr(type(t.ctx), "now", lambda self: time.sleep(0.003) or 0)
    policy = load("""
        INTERFACE_VERSION = (1, 1)

        def age(ctx, request):
            return ctx.now()
    """, limits=SandboxLimits(deadline_ns=1_000_000))
    fault = fault_of(policy.age, t.ctx, t.request())
    assert fault.kind is ExitKind.DEADLINE and fault.line == 4


def test_repeated_slow_calls_eject(t):
    policy = load(BUDGET, limits=SandboxLimits(slow_ns=0, max_slow_calls=3))
    policy.age(t.ctx, t.request())
    policy.age(t.ctx, t.request())
    fault = fault_of(policy.age, t.ctx, t.request())
    assert fault.kind is ExitKind.SLOW and fault.dump["slow_calls"] == 3 and fault.dump["calls"] == 3


class FakeClock:
    """The runtime's perf_counter_ns, moving only when the policy calls
    ctx.now(), by `step` ns: a call lasts exactly what the test says."""

    def __init__(self) -> None:
        self.ns = 0
        self.step = 0

    def __call__(self) -> int:
        return self.ns

    def advance(self) -> int:
        self.ns += self.step
        return 0


NOW = """
    INTERFACE_VERSION = (1, 1)

    def age(ctx, request):
        return ctx.now()
"""


@pytest.fixture
def clock(t, monkeypatch):
    fake = FakeClock()
    monkeypatch.setattr(runtime, "perf_counter_ns", fake)
    monkeypatch.setattr(type(t.ctx), "now", lambda self: fake.advance())
    return fake


def calls_lasting(policy, t, clock, durations_ns) -> None:
    for ns in durations_ns:
        clock.step = ns
        policy.age(t.ctx, t.request())


def test_slow_calls_eject_only_when_many_fall_in_a_window_of_calls(t, clock):
    policy = load(NOW, limits=SandboxLimits(slow_ns=10, deadline_ns=1000, max_slow_calls=3, slow_window=5))
    calls_lasting(policy, t, clock, [11, 0, 10, 11, 0, 0, 11])  # slow: calls 1, 4, 7 (10 is not slow)
    assert policy.slow_calls == 3, "3 slow calls in all, never 3 within 5 calls"
    fault = fault_of(calls_lasting, policy, t, clock, [11])  # slow: 4, 7, 8
    assert fault.kind is ExitKind.SLOW and "3 of the last 5 calls" in fault.message
    assert fault.dump["calls"] == 8 and fault.dump["slow_calls"] == 4


def test_the_default_limits_fit_the_verifier_cost_bound(t, clock):
    """COST_LIMIT statements with checked helpers take a second or two: the
    deadline is 2 s, a slow call one over 100 ms, and SLOW 16 slow calls
    within 256. A naive per-folio loop over a full batch (some 30 ms) is
    never slow."""
    limits = SandboxLimits()
    assert (limits.deadline_ns, limits.slow_ns, limits.max_slow_calls, limits.slow_window) == (2 * 10**9, 10**8, 16, 256)
    assert limits.budget == surface.COST_LIMIT
    policy = load(NOW)
    calls_lasting(policy, t, clock, [30_000_000] * 300 + [1_900_000_000])
    assert policy.slow_calls == 1
    calls_lasting(policy, t, clock, ([0] * 17 + [150_000_000]) * 60)  # at most 15 slow calls in any 256: it goes on
    assert policy.slow_calls == 61
    fault = fault_of(calls_lasting, policy, t, clock, [150_000_000] * 16)
    assert fault.kind is ExitKind.SLOW and "16 of the last 256 calls" in fault.message
    fault = fault_of(calls_lasting, load(NOW), t, clock, [2_000_000_001])
    assert fault.kind is ExitKind.DEADLINE and "2000 ms" in fault.message


def test_a_policy_that_cannot_load_is_a_policy_error():
    with pytest.raises(PolicyError, match="failed to load: ValueError"):
        load("INTERFACE_VERSION = (1, 1)\nM = HashMap(0)\n")
    with pytest.raises(PolicyError, match="failed to load: PolicyFault"):
        load("INTERFACE_VERSION = (1, 1)\nfor i in range(-(1 << 62), 0):\n    pass\n", limits=SandboxLimits(budget=100))
    with pytest.raises(PolicyError, match="INTERFACE_VERSION"):
        SandboxedPolicy(Verified("p.py", "", compile("", "p.py", "exec"), {}, None), "p")


def test_the_maps_of_a_policy_are_bounded_in_all(monkeypatch):
    monkeypatch.setattr(surface, "MAX_TOTAL_MAP_ENTRIES", 10)
    with pytest.raises(PolicyError, match="12 map entries"):
        load("INTERFACE_VERSION = (1, 1)\nA = HashMap(6)\nB = ArrayMap(6)\n")


@pytest.mark.parametrize("limit", ["MAX_LRUVECS", "MAX_NUMNODES"])
def test_a_policy_is_not_attached_to_a_machine_larger_than_the_verifier_assumes(t, monkeypatch, limit):
    """The verifier bounds a loop over ctx.lruvecs by MAX_LRUVECS and
    range(ctx.nr_nodes) by MAX_NUMNODES: a bigger machine gets no context,
    a HELPER fault at the first call, blamed on the hook's def."""
    assert len(t.ctx.lruvecs) == t.ctx.nr_nodes == 1
    monkeypatch.setattr(surface, limit, 1)
    assert load(FIFO, t)._ctx is not None, "a machine as large as the bound is fine"
    monkeypatch.setattr(surface, limit, 0)
    fault = fault_of(load(FIFO).policy_init, t.ctx)
    assert fault.kind is ExitKind.HELPER and "1 lruvecs and 1 nodes" in fault.message and fault.line == 5
    assert fault.dump["source_line"] == "def policy_init(ctx):"
    policy = load("INTERFACE_VERSION = (1, 1)\n\ndef age(ctx, request):\n    return 0\n")
    fault = fault_of(policy.age, t.ctx, t.request())
    assert fault.kind is ExitKind.HELPER and fault.line == 3 and policy._ctx is None
    m = running_machine(SandboxedPolicy(compiled(FIFO), "fifo"))
    m.run()
    [record] = m.ejections
    assert record["kind"] == "helper" and record["hook"] == "policy_init" and record["time_ns"] == 0


def test_an_ejected_sandboxed_policy_leaves_its_line_and_dump_in_the_results():
    policy = SandboxedPolicy(compiled(FIFO.replace("return ctx.list_peek", "return 1 // 0 + ctx.list_peek")), "fifo")
    m = running_machine(policy)
    m.run()
    [record] = m.ejections
    assert record["kind"] == "error" and record["hook"] == "select_victims" and record["line"] == 20
    assert record["dump"]["source_line"].startswith("return 1 // 0") and record["dump"]["maps"] == {"LISTS": [2, 2]}
