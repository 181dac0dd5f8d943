"""The policy verifier (reclaim_ext.sandbox.verifier): a small valid policy
loads; every rule of the policy language refuses what it should, at the
right line, with a message that says so; recursion, loop bounds and the
worst-case cost; the published RestrictedPython escapes; the compiled
code's contract with the runtime; the log; and an API that never raises."""

from __future__ import annotations

import ast
import builtins
import dis
import itertools
import operator
import textwrap
import types

import pytest
from RestrictedPython import compile_restricted_exec
from RestrictedPython.Guards import guarded_iter_unpack_sequence, guarded_unpack_sequence

import hooks
from reclaim_ext.sandbox import surface, verifier
from reclaim_ext.sandbox.verifier import (COST_LIMIT, Diagnostic, MapDecl, PolicyTransformer, VerifiedPolicy, format_log,
                                          verify, verify_file)

FIFO = '''\
"""FIFO: evict folios in the order they arrived."""

INTERFACE_VERSION = (1, 1)

MAX_LRUVECS = 64
# the list of each (lruvec, type), keyed lruvec * 2 + type
LISTS = ArrayMap(MAX_LRUVECS * 2)


def policy_init(ctx):
    for i in range(min(len(ctx.lruvecs), MAX_LRUVECS)):
        lruvec = ctx.lruvecs[i]
        for lru_type in LRU_TYPES:
            LISTS.update(lruvec * 2 + lru_type, ctx.list_create(lruvec, lru_type, False, "fifo"))


def folio_added(ctx, folios):
    for folio in folios:
        key = ctx.folio_lruvec(folio) * 2 + ctx.folio_type(folio)
        ctx.list_add(LISTS.lookup(key), folio)


def select_victims(ctx, request):
    lst = LISTS.lookup(request.lruvec * 2 + request.lru_type)
    return ctx.list_peek(lst, min(request.nr_to_scan, 4096))
'''

REQUIRED = {
    "policy_init": "def policy_init(ctx):\n    pass\n",
    "folio_added": "def folio_added(ctx, folios):\n    pass\n",
    "select_victims": "def select_victims(ctx, request):\n    return ctx.list_peek(0, 32)\n",
}


def policy(snippet: str = "") -> str:
    """A policy: INTERFACE_VERSION on line 1, the snippet from line 2, then
    the required hooks the snippet does not define."""
    snippet = textwrap.dedent(snippet).strip("\n")
    missing = [source for name, source in REQUIRED.items() if f"def {name}(" not in snippet]
    return "\n".join(["INTERFACE_VERSION = (1, 1)", snippet, "", *missing])


def hook(body: str, signature: str = "folio_accessed(ctx, folios)") -> str:
    """A snippet defining an optional hook; its body starts on line 3 of the policy."""
    return f"def {signature}:\n" + textwrap.indent(textwrap.dedent(body).strip("\n"), "    ") + "\n"


def assert_refused(source: str, message: str, line: int) -> VerifiedPolicy:
    v = verify(source, "p.py")
    assert not v.ok and v.code is None
    found = [(d.line, d.message) for d in v.errors]
    assert any(at == line and message in text for at, text in found), found
    return v


# --------------------------------------------------------------------------
# A valid policy
# --------------------------------------------------------------------------


def test_fifo_verifies_and_compiles():
    v = verify(FIFO, "fifo.py")
    assert v.ok, format_log(v)
    assert v.diagnostics == []
    assert isinstance(v.code, types.CodeType) and v.code.co_filename == "fifo.py"
    assert v.interface_version == (1, 1)
    assert v.hooks == {"policy_init": ("ctx",), "folio_added": ("ctx", "folios"), "select_victims": ("ctx", "request")}
    assert v.functions == ()
    assert v.maps == {"LISTS": MapDecl("LISTS", "ArrayMap", 128, 7)}
    assert v.constants == {"MAX_LRUVECS": 64}
    # policy_init: 64 lruvecs x (1 + the assignment + 2 types x (1 + the update))
    assert v.cost == {"policy_init": 64 * (1 + 1 + 2 * 2), "folio_added": 4096 * 3, "select_victims": 2}
    assert v.elapsed_ns > 0


def test_the_required_hooks_alone_verify():
    v = verify(policy(), "p.py")
    assert v.ok, format_log(v)


ALLOWED = [
    pytest.param("type = ctx.folio_type(folios)", id="a local may be named type"),
    pytest.param("a, b = 1, 2\n[c, d] = (a, b)", id="unpacking into names"),
    pytest.param("xs = [0] * 4\nxs[0] = 1\nd = {}\nd[1] = xs[0]", id="items of local containers"),
    pytest.param("n = 0\nn += 1\nn = n - 1 if n else -1", id="augmented assignment, if-expressions"),
    pytest.param("assert len(folios) >= 0, 'never'", id="assert"),
    pytest.param("ctx.trace('n=' + str(len(folios)))", id="tracing with str() and +"),
    pytest.param("x = PutbackReason.ACTIVATE\ny = (x, not x, x is None, 1 in (1,), folios)\nz = [x, 1.5, 'a', None, y]",
                 id="literals, flat displays"),
    pytest.param("x = {'a': len(folios), 1: -1, -2: folios, LRU_ANON: 'anon', 'b': None, 'c': [folios, 1], 'd': ()}",
                 id="dicts with constant keys, flat values"),
    pytest.param("lo, hi = [], []\nlo, hi = hi, lo\n[a, b] = lo, {}", id="displays unpacked as they are built"),
    pytest.param("for i, folio in enumerate(folios):\n    if i > 3:\n        break\n    continue", id="enumerate, break, continue"),
    pytest.param("for i in range(3):\n    pass\nelse:\n    pass", id="for-else"),
    pytest.param("x = divmod(abs(-3), 2)\ny = round(float(int('3')), -2) + max(1, 2) + min(3, 4) + round(1.5)",
                 id="safe builtins"),
    pytest.param("'''a docstring'''\nctx.list_add(0, folios, tail=True)", id="docstring, keyword arguments"),
]


@pytest.mark.parametrize("body", ALLOWED)
def test_the_language_allows(body):
    v = verify(policy(hook(body)), "p.py")
    assert v.ok, format_log(v)


def test_helpers_with_constant_defaults_verify():
    v = verify(policy("def count(ctx, folios, step=2):\n    return len(folios) * step\n"
                      + hook("ctx.trace(str(count(ctx, folios)) + str(count(ctx, folios, step=3)))")))
    assert v.ok, format_log(v)
    assert v.functions == ("count",)
    assert v.hooks["folio_accessed"] == ("ctx", "folios")


def test_hooks_may_take_fewer_parameters_in_order():
    v = verify(policy(hook("pass", "folio_putback(ctx, reasons)") + hook("pass", "on_refault(refault)")))
    assert v.ok, format_log(v)
    assert v.hooks["folio_putback"] == ("ctx", "reasons") and v.hooks["on_refault"] == ("refault",)


# --------------------------------------------------------------------------
# The module level
# --------------------------------------------------------------------------

MODULE_RULES = [
    ("import os", "import is not allowed", 2),
    ("from string import Formatter", "import is not allowed", 2),
    ("print('hello')", "module-level code does not run", 2),
    ("for i in range(3):\n    pass", "For statements are not allowed at module level", 2),
    ("if True:\n    X = 1", "If statements are not allowed at module level", 2),
    ("A, B = 1, 2", "one name per statement", 2),
    ("X = Y = 1", "one name per statement", 2),
    ("X: int = 1", "annotated assignments are not allowed", 2),
    ("X = [1, 2]", "not a constant expression", 2),
    ("X = (1, (2, 3))", "containers in a policy are flat", 2),
    ("A = (1, 2)\nB = (0, A)", "containers in a policy are flat", 3),
    ("X = (LRU_TYPES, 1)", "containers in a policy are flat", 2),
    ("def f(a=(1, (2,))):\n    pass", "a default value must be a constant: containers in a policy are flat", 2),
    ("X = ctx", "'ctx' is not a constant defined above", 2),
    ("X = Y\nY = 1", "'Y' is not a constant defined above", 2),
    ("X = 1 << 70", "does not fit in 64 bits", 2),
    ("X = 2 ** 64", "does not fit in 64 bits", 2),
    ("X = 18446744073709551616", "does not fit in 64 bits", 2),
    ("X = 1 // 0", "cannot evaluate this constant", 2),
    ("X = 'a' * 3", "works on numbers only", 2),
    ("X = '%s' % 3", "'%' formatting is not allowed", 2),
    ("X = b'bytes'", "bytes literals are not allowed", 2),
    ("X = len('abc')", "calls at module level are not allowed", 2),
    ("M = HashMap(0)", "a map holds 1 to", 2),
    ("M = HashMap(1 << 23)", "a map holds 1 to", 2),
    ("M = HashMap()", "HashMap takes one argument", 2),
    ("M = LruHashMap(4, 5)", "LruHashMap takes one argument", 2),
    ("M = ArrayMap(size=4)", "ArrayMap takes one argument", 2),
    ("A = HashMap(1 << 21)\nB = HashMap(1 << 21)\nC = ArrayMap(1)", "more than the 4,194,304 a policy may have in all", 4),
    ("LRU_ANON = 3", "would shadow the interface constant 'LRU_ANON'", 2),
    ("len = 3", "would shadow the builtin 'len'", 2),
    ("HashMap = 3", "would shadow the map kind 'HashMap'", 2),
    ("Victims = 3", "would shadow the interface type 'Victims'", 2),
    ("printed = 3", "would shadow the name RestrictedPython reserves", 2),
    ("_secret = 1", "'_secret' begins with an underscore", 2),
    ("X = 1\nX = 2", "'X' is defined twice (first at line 2)", 3),
    ("age = 3", "'age' is a hook: it must be a def", 2),
    ("class C:\n    pass", "class definitions are not allowed", 2),
    ("try:\n    X = 1\nexcept Exception:\n    pass", "try statements are not allowed", 2),
    ("while True:\n    pass", "while loops are not allowed", 2),
    ("async def f():\n    pass", "async functions are not allowed", 2),
    ("@decorator\ndef f(ctx):\n    pass", "decorators are not allowed", 2),
    ("def f(a, /, b):\n    pass", "positional-only parameters (/) are not allowed", 2),
    ("def f(*args):\n    pass", "*args is not allowed", 2),
    ("def f(**kwargs):\n    pass", "**kwargs is not allowed", 2),
    ("def f(a, *, b):\n    pass", "keyword-only parameters are not allowed", 2),
    ("def f(a=[]):\n    pass", "a default value must be a constant", 2),
    ("def f(a: int):\n    pass", "annotations are not allowed", 2),
    ("def f(a) -> int:\n    pass", "annotations are not allowed", 2),
    ("def folio_evicted(ctx, batch):\n    pass", "hook folio_evicted has no parameter 'batch'", 2),
    ("def on_refault(refault, folios):\n    pass", "takes its parameters in the order (ctx, folios, refault)", 2),
]


@pytest.mark.parametrize(("snippet", "message", "line"), MODULE_RULES)
def test_module_level_rules(snippet, message, line):
    assert_refused(policy(snippet), message, line)


def test_interface_version_is_required():
    source = policy().replace("INTERFACE_VERSION = (1, 1)", "X = 1")
    v = assert_refused(source, "does not state its interface version", 1)
    assert f"INTERFACE_VERSION = {hooks.INTERFACE_VERSION}" in v.errors[0].hint


@pytest.mark.parametrize(("stated", "message"), [
    ("(2, 0)", "interface version (2, 0) cannot run on this simulator"),
    ("(1, 9)", "interface version (1, 9) cannot run on this simulator"),
    ("'1.1'", "must be (major, minor) or an int major"),
    ("(1,)", "must be (major, minor) or an int major"),
    ("LISTS", "'LISTS' is not a constant defined above"),
])
def test_incompatible_or_malformed_interface_versions(stated, message):
    v = assert_refused(policy().replace("(1, 1)", stated, 1), message, 1)
    assert v.errors[0].hint == f"State the interface version the policy was written for: INTERFACE_VERSION = {hooks.INTERFACE_VERSION}."


def test_an_int_major_states_minor_zero():
    v = verify(policy().replace("(1, 1)", "1", 1))
    assert v.ok and v.interface_version == (1, 0)


def test_missing_required_hooks_each_an_error():
    v = verify("INTERFACE_VERSION = (1, 1)\n")
    assert [d.message for d in v.errors] == [f"the required hook {h} is not defined." for h in
                                             ("policy_init", "folio_added", "select_victims")]


def test_constants_are_evaluated():
    v = verify(policy("""
        MY_BITS = PG_policy0 | PG_policy1
        NEG = -(1 << 62) + ~3
        HALF = 1 / 2
        NAME = "fifo" + "-" + "x"
        PAIR = (LRU_ANON, LRU_FILE, None, True)
        MAP = HashMap(max_entries=MY_BITS)
    """))
    assert v.ok, format_log(v)
    assert v.constants == {"MY_BITS": 768, "NEG": -(1 << 62) - 4, "HALF": 0.5, "NAME": "fifo-x",
                           "PAIR": (0, 1, None, True)}
    assert v.maps["MAP"] == MapDecl("MAP", "HashMap", 768, 7)


def test_uncalled_function_is_a_warning_with_the_closest_hook():
    v = verify(policy("def select_victim(ctx, request):\n    pass\n\ndef unused():\n    pass"))
    assert v.ok, format_log(v)
    [typo, unused] = v.warnings
    assert (typo.line, typo.message) == (2, "function 'select_victim' is neither a hook nor called.")
    assert typo.hint.startswith("Did you mean select_victims?")
    assert unused.line == 5 and "did you mean" not in unused.hint.lower()


# --------------------------------------------------------------------------
# Inside functions
# --------------------------------------------------------------------------

FUNCTION_RULES = [
    ("import os", "import is not allowed", 3),
    ("while True:\n    pass", "while loops are not allowed", 3),
    ("try:\n    pass\nexcept Exception:\n    pass", "try statements are not allowed", 3),
    ("try:\n    pass\nfinally:\n    pass", "try statements are not allowed", 3),
    ("with ctx:\n    pass", "with statements are not allowed", 3),
    ("class C:\n    pass", "class definitions are not allowed", 3),
    ("f = lambda: 1", "lambda is not allowed", 3),
    ("def inner():\n    pass", "nested functions are not allowed", 3),
    ("yield 1", "yield is not allowed", 3),
    ("yield from folios", "yield from is not allowed", 3),
    ("x = (f for f in folios)", "generator expressions are not allowed", 3),
    ("x = [f for f in folios]", "list comprehensions are not allowed", 3),
    ("x = {f for f in folios}", "set comprehensions are not allowed", 3),
    ("x = {f: 1 for f in folios}", "dict comprehensions are not allowed", 3),
    ("global LISTS", "global is not allowed", 3),
    ("nonlocal x", "nonlocal is not allowed", 3),
    ("x = 1\ndel x", "del is not allowed", 4),
    ("raise ValueError", "raise is not allowed", 3),
    ("if (n := len(folios)):\n    pass", "the walrus operator := is not allowed", 3),
    ("match folios:\n    case _:\n        pass", "match statements are not allowed", 3),
    ("ctx.trace(*folios)", "starred expressions (*x) are not allowed", 3),
    ("a, *b = folios", "starred expressions (*x) are not allowed", 3),
    ("ctx.list_add(**folios)", "**kwargs in a call is not allowed", 3),
    ("x = {**folios}", "** unpacking in a dict literal is not allowed", 3),
    ("x = {'a': 1, **folios}", "** unpacking in a dict literal is not allowed", 3),
    ("x = {1, 2}", "sets are not available in a policy; use a HashMap", 3),
    ("x = {folios}", "sets are not available in a policy; use a HashMap", 3),
    ("x = set()", "'set' is not available in a policy", 3),
    ("x = {len(folios): 1}", "dict keys in a policy are constants; keep keyed state in a map", 3),
    ("n = 1\nx = {'a': 1, n: 2}", "dict keys in a policy are constants; keep keyed state in a map", 4),
    ("x = {folios[0]: 1}", "dict keys in a policy are constants; keep keyed state in a map", 3),
    ("x = {(1, 2): 1}", "dict keys in a policy are constants; keep keyed state in a map", 3),
    ("x = {1.5: 1}", "dict keys in a policy are constants; keep keyed state in a map", 3),
    ("x = {None: 1}", "dict keys in a policy are constants; keep keyed state in a map", 3),
    ("x = {LRU_TYPES: 1}", "dict keys in a policy are constants; keep keyed state in a map", 3),
    ("x = {\n    'a': 1,\n    -len(folios): 2,\n}", "dict keys in a policy are constants; keep keyed state in a map", 5),
    ("x = [[0], 1]", "containers in a policy are flat", 3),
    ("x = (folios, [folios])", "containers in a policy are flat", 3),
    ("x = [(), 1]", "containers in a policy are flat", 3),
    ("x = [{'a': 1}]", "containers in a policy are flat", 3),
    ("x = {'a': {'b': 1}}", "containers in a policy are flat", 3),
    ("x = {'a': [[1]]}", "containers in a policy are flat", 3),
    ("x = [\n    1,\n    (2, folios),\n]", "containers in a policy are flat", 5),
    ("return [folios], 1", "containers in a policy are flat", 3),
    ("x = y = [], []", "containers in a policy are flat", 3),
    ("for x in ([1], [2]):\n    pass", "containers in a policy are flat", 3),
    ("ctx.trace(f'{folios}')", "f-strings are not allowed", 3),
    ("ctx.trace('%d' % len(folios))", "'%' formatting is not allowed", 3),
    ("x: int = 1", "annotated assignments are not allowed", 3),
    ("_x = 1", "'_x' begins with an underscore", 3),
    ("x = _getattr_", "'_getattr_' begins with an underscore", 3),
    ("x = ctx._core", "attribute '_core' begins with an underscore", 3),
    ("x = ctx.__class__", "attribute '__class__' begins with an underscore", 3),
    ("x = ctx.core", "attribute 'core' is not part of the policy interface", 3),
    ("xs = []\nxs.append(1)", "attribute 'append' is not part of the policy interface", 4),
    ("ctx.trace(ctx.lruvec_node.f_back)", "attribute 'f_back' is not part of the policy interface", 3),
    ("x = print", "'print' is not available in a policy", 3),
    ("x = sorted(folios)", "'sorted' is not available in a policy", 3),
    ("x = zip(folios, folios)", "'zip' is not available in a policy", 3),
    ("x = list(folios)", "'list' is not available in a policy", 3),
    ("x = dict()", "'dict' is not available in a policy", 3),
    ("x = type(ctx)", "'type' is not available in a policy", 3),
    ("x = eval('1')", "'eval' is not available in a policy", 3),
    ("exec('1')", "'exec' is not available in a policy", 3),
    ("x = open('/etc/passwd')", "'open' is not available in a policy", 3),
    ("x = vars()", "'vars' is not available in a policy", 3),
    ("x = next(iter(folios))", "'next' is not available in a policy", 3),
    ("x = format(1, 'x')", "'format' is not available in a policy", 3),
    ("x = ValueError", "'ValueError' is not available in a policy", 3),
    ("x = folio_count", "name 'folio_count' is not defined", 3),
    ("x = min(folios)", "min() takes two or more values here", 3),
    ("x = round(5, -len(folios))", "round()'s ndigits must be a constant", 3),
    ("x = round(5, ndigits=-100)", "round()'s ndigits must be a constant", 3),
    ("x = max(1, 2, key=abs)", "max() takes two or more values here", 3),
    ("x = len", "builtin 'len' is used as a value", 3),
    ("x = folios(1)", "'folios' is a local value, not a function", 3),
    ("x = LRU_ANON(1)", "'LRU_ANON' is an interface constant, not a function", 3),
    ("x = ctx.list_peek(0, 1)[0](1)", "only functions and helpers can be called", 3),
    ("m = HashMap(4)", "maps are declared at module level", 3),
    ("len = 3", "would shadow the builtin 'len'", 3),
    ("LRU_FILE = 3", "would shadow the interface constant 'LRU_FILE'", 3),
    ("ctx.lruvecs = ()", "attribute 'lruvecs' cannot be assigned", 3),
    ("folios[0] = 1", "'folios' is a parameter", 3),
    ("x = [0]\nx[0] += 1", "augmented assignment to an item is not allowed", 4),
    ("x.y, z = 1, 2", "unpack into plain names only", 3),
    ("for x[0] in folios:\n    pass", "a loop variable must be a name", 3),
    ("folios", "an expression statement does nothing unless it is a call", 3),
    ("break", "'break' outside a loop", 3),
    ("continue", "'continue' outside a loop", 3),
    ("x = b'1'", "bytes literals are not allowed", 3),
    ("x = ...", "ellipsis literals are not allowed", 3),
    ("x = 18446744073709551616", "does not fit in 64 bits", 3),
    ("x = folios @ folios", "the matrix multiplication operator @ is not allowed", 3),
]


@pytest.mark.parametrize(("body", "message", "line"), FUNCTION_RULES)
def test_function_rules(body, message, line):
    assert_refused(policy(hook(body)), message, line)


MODULE_NAME_RULES = [
    ("LIMIT = 4\n" + hook("LIMIT = 5"), "'LIMIT' is a module-level constant; a function cannot assign it", 4),
    ("SEEN = HashMap(4)\n" + hook("SEEN = 5"), "'SEEN' is a module-level map; a function cannot assign it", 4),
    ("SEEN = HashMap(4)\n" + hook("SEEN[1] = 5"), "map entries are written with update", 4),
    ("LIMIT = (1, 2)\n" + hook("LIMIT[0] = 5"), "only items of a local list or dict can be assigned", 4),
    ("LIMIT = 4\n" + hook("for LIMIT in folios:\n    pass"), "'LIMIT' is a module-level constant", 4),
    ("def helper():\n    return 1\n" + hook("helper = 2"), "'helper' is a module-level function; a function cannot assign it", 5),
    ("def helper():\n    return 1\n" + hook("x = helper"), "function 'helper' is used as a value", 5),
    ("def helper():\n    return 1\n" + hook("ctx.trace(helper)"), "function 'helper' is used as a value", 5),
    ("def helper(len):\n    return len\n" + hook("helper(1)"), "would shadow the builtin 'len'", 2),
    ("LIMIT = 4\ndef helper(LIMIT):\n    return 1\n" + hook("helper(1)"), "parameter 'LIMIT' would shadow the module-level", 3),
    ("def helper(_getattr_):\n    return 1\n" + hook("helper(1)"), "'_getattr_' begins with an underscore", 2),
    ("SEEN = HashMap(4)\n" + hook("SEEN(1)"), "'SEEN' is a module-level map, not a function", 4),
    ("def helper(a, b=1):\n    return a\n" + hook("helper(1, 2, 3)"), "helper() takes 2 arguments, 3 given", 5),
    ("def helper(a, b=1):\n    return a\n" + hook("helper()"), "helper() is missing its argument 'a'", 5),
    ("def helper(a, b=1):\n    return a\n" + hook("helper(1, c=2)"), "helper() has no parameter 'c'", 5),
    ("def helper(a, b=1):\n    return a\n" + hook("helper(1, a=2)"), "helper() is given 'a' twice", 5),
]


@pytest.mark.parametrize(("snippet", "message", "line"), MODULE_NAME_RULES)
def test_module_names_inside_functions(snippet, message, line):
    assert_refused(policy(snippet), message, line)


def test_attribute_errors_point_at_the_attribute_and_suggest():
    v = assert_refused(policy(hook("x = ctx.list_pek(0, 3)")), "attribute 'list_pek'", 3)
    [error] = v.errors
    assert error.col == len("    x = ctx.") + 1
    assert error.hint.startswith("Did you mean 'list_peek'?")


def test_columns_count_characters_on_non_ascii_lines():
    v = verify(policy(hook("ctx.trace('é' + str(ctx.gi_frame))")), "p.py")
    [error] = v.errors
    assert error.col == len("    ctx.trace('é' + str(ctx.") + 1


def test_every_error_is_collected_sorted_by_line():
    v = verify(policy(hook("import os\nwhile True:\n    pass\nx = sorted(folios)\nx = ctx.gi_frame")), "p.py")
    assert [(d.line, d.message.split()[0]) for d in v.errors] == [
        (3, "import"), (4, "while"), (6, "'sorted'"), (7, "attribute")]


# --------------------------------------------------------------------------
# The published RestrictedPython escapes
# --------------------------------------------------------------------------

ESCAPES = [
    pytest.param(hook("g = (f for f in folios)\nctx.trace(str(g.gi_frame.f_back.f_globals))"),
                 "generator expressions are not allowed", 3, id="generator frame"),
    pytest.param(hook("ctx.trace(str(folios.gi_frame))"), "attribute 'gi_frame'", 3, id="gi_frame"),
    pytest.param(hook("ctx.trace(str(folios.gi_code))"), "attribute 'gi_code'", 3, id="gi_code"),
    pytest.param(hook("ctx.trace(str(folios.cr_frame))"), "attribute 'cr_frame'", 3, id="cr_frame"),
    pytest.param(hook("ctx.trace(str(folios.f_back))"), "attribute 'f_back'", 3, id="f_back"),
    pytest.param(hook("ctx.trace(str(folios.f_globals))"), "attribute 'f_globals'", 3, id="f_globals"),
    pytest.param(hook("ctx.trace('{0.__class__}'.format(folios))"), "attribute 'format'", 3, id="str.format"),
    pytest.param(hook("ctx.trace('{0.__class__}'.format_map({0: folios}))"), "attribute 'format_map'", 3,
                 id="str.format_map"),
    pytest.param("from string import Formatter", "import is not allowed", 2, id="string.Formatter"),
    pytest.param(hook("try:\n    folios.missing\nexcept AttributeError as e:\n    ctx.trace(str(e.obj))"),
                 "try statements are not allowed", 3, id="AttributeError.obj"),
    pytest.param(hook("ctx.trace(str(request.obj))", "should_reclaim(ctx, request)"), "attribute 'obj'", 3, id="obj"),
    pytest.param(hook("try:\n    pass\nexcept* Exception:\n    pass"), "try/except* is not allowed", 3, id="except*"),
    pytest.param("def f(_getattr_, /):\n    return 1", "positional-only parameters (/) are not allowed", 2,
                 id="guard name through a positional-only parameter"),
    pytest.param("def f(_getattr_, /):\n    return 1", "'_getattr_' begins with an underscore", 2,
                 id="the guard name itself"),
    *[pytest.param(hook(f"x = {name}(folios, folios)"), f"'{name}' is not available in a policy", 3, id=name)
      for name in ("sorted", "zip", "map", "filter", "sum", "any", "all")],
    pytest.param(hook("x = getattr(ctx, '__class__')"), "'getattr' is not available in a policy", 3, id="getattr"),
    pytest.param(hook("x = ctx.trace.__self__"), "attribute '__self__' begins with an underscore", 3, id="bound method"),
    pytest.param(hook("x = __builtins__"), "'__builtins__' begins with an underscore", 3, id="__builtins__"),
    pytest.param(hook("x = printed"), "'printed' is not available in a policy", 3, id="RestrictedPython's printed"),
]


@pytest.mark.parametrize(("snippet", "message", "line"), ESCAPES)
def test_published_escapes_are_refused_by_the_verifier(snippet, message, line):
    v = assert_refused(policy(snippet), message, line)
    # refused by the verifier's own checks: RestrictedPython never compiled it
    assert not any(d.message.startswith("RestrictedPython") for d in v.diagnostics)


def test_restricted_python_checks_again_after_the_verifier():
    # a name RestrictedPython refuses that the verifier's rules let through
    v = assert_refused(policy(hook("x__roles__ = 1")), "RestrictedPython: ", 3)
    [error] = v.errors
    assert "__roles__" in error.message and error.col == 5


# --------------------------------------------------------------------------
# Recursion
# --------------------------------------------------------------------------


def test_direct_recursion_is_an_error_at_the_call():
    v = assert_refused(policy("def walk(n):\n    return walk(n - 1)\n" + hook("walk(3)")), "recursion: walk -> walk.", 3)
    assert v.errors[0].col == len("    return ") + 1


def test_mutual_recursion_is_an_error_at_each_call_on_the_cycle():
    v = verify(policy("def ping(n):\n    return pong(n)\ndef pong(n):\n    return ping(n)\n" + hook("ping(3)")), "p.py")
    assert [(d.line, d.message) for d in v.errors] == [(3, "recursion: ping -> pong -> ping."),
                                                       (5, "recursion: pong -> ping -> pong.")]


def test_hooks_are_called_by_the_core_only():
    # a call could hand on_refault a batch far beyond MAX_FOLIO_BATCH, which its loops are bounded by
    on_refault = hook("for f in refault.distance:\n    pass\nreturn None", "on_refault(ctx, folios, refault)")
    v = assert_refused(policy(on_refault + hook("on_refault(ctx, folios, Victims([0] * (1 << 20), 0))")),
                       "on_refault is a hook: hooks are called by the core.", 7)
    assert v.errors[0].hint == "Move the shared code into a helper function both call."
    assert (v.errors[0].col, len(v.errors)) == (len("    ") + 1, 1)
    helper = "def helper(ctx, folios):\n    return folio_accessed(ctx, folios)\n"
    assert_refused(policy(helper + hook("pass")), "folio_accessed is a hook: hooks are called by the core.", 3)
    assert_refused(policy(hook("folio_accessed(ctx, folios)")), "folio_accessed is a hook", 3)  # itself too
    # what they share goes into a helper
    shared = "def count(ctx, folios):\n    ctx.trace(str(len(folios)))\n    return 0\n"
    v = verify(policy(shared + hook("count(ctx, folios)") + hook("count(ctx, folios)", "folio_evicted(ctx, folios)")))
    assert v.ok, format_log(v)


def test_calls_without_cycles_are_not_recursion():
    v = verify(policy("def leaf(n):\n    return n\ndef middle(n):\n    return leaf(n) + leaf(n)\n"
                      + hook("middle(1)\nleaf(2)")))
    assert v.ok, format_log(v)


def test_each_call_on_a_long_cycle_names_its_shortest_way_back():
    # a -> b -> c -> a, and a shortcut c -> b
    helpers = "def a(n):\n    return b(n)\ndef b(n):\n    return c(n)\ndef c(n):\n    return a(n) + b(n)\n"
    v = verify(policy(helpers + hook("a(1)")), "p.py")
    assert [(d.line, d.message) for d in v.errors] == [(3, "recursion: a -> b -> c -> a."),
                                                       (5, "recursion: b -> c -> b."),
                                                       (7, "recursion: c -> a -> b -> c."),
                                                       (7, "recursion: c -> b -> c.")]


# --------------------------------------------------------------------------
# The program's shape: BPF's limits on subprograms and call frames
# --------------------------------------------------------------------------


def chain_of_calls(helpers: int) -> str:
    """folio_accessed calls f0, which calls f1, and so on: helpers + 1 frames."""
    defs = [f"def f{i}(ctx, n):\n    return f{i + 1}(ctx, n + 1)\n" for i in range(helpers - 1)]
    defs.append(f"def f{helpers - 1}(ctx, n):\n    ctx.trace(str(n))\n    return n\n")
    return policy(hook("f0(ctx, 0)") + "".join(defs))


def test_calls_nest_at_most_max_call_frames_deep():
    assert surface.MAX_CALL_FRAMES == 8
    v = verify(chain_of_calls(surface.MAX_CALL_FRAMES - 1), "p.py")  # the hook and 7 nested calls
    assert v.ok, format_log(v)
    v = verify(chain_of_calls(surface.MAX_CALL_FRAMES), "p.py")
    [error] = v.errors
    # at the call that makes the ninth frame: f6's, f0's def being on line 4
    assert (error.line, error.col) == (4 + 6 * 2 + 1, len("    return ") + 1)
    assert error.message == ("calls nest more than 8 deep here: folio_accessed -> f0 -> f1 -> f2 -> f3 -> f4 -> f5 "
                             "-> f6 -> f7.")
    assert "MAX_CALL_FRAMES" in error.hint


def test_a_long_chain_of_calls_is_refused_once_not_by_python():
    # 1,200 frames: this ran out of Python's stack when called
    v = verify(chain_of_calls(surface.MAX_FUNCTIONS - 4), "p.py")
    [error] = v.errors
    assert error.message.startswith("calls nest more than 8 deep here: folio_accessed -> f0 -> ")
    many = chain_of_calls(1200)
    v = verify(many, "p.py")
    assert not v.ok and [e.message for e in v.errors] == [
        ("the policy defines 1,204 functions, more than the 256 a policy may have (BPF's BPF_MAX_SUBPROGS); this "
         "is the 257th.")]


def test_the_depth_is_that_of_the_longest_path():
    # the hook calls leaf directly (the second frame) and through g0..g4 (the seventh): the longest counts
    defs = "".join(f"def g{i}(n):\n    return g{i + 1}(n)\n" for i in range(4)) + "def g4(n):\n    return leaf(n)\n"
    defs += "def leaf(n):\n    return deeper(n)\ndef deeper(n):\n    return deepest(n)\ndef deepest(n):\n    return n\n"
    v = verify(policy(hook("leaf(1)\ng0(1)") + defs), "p.py")
    [error] = v.errors
    assert error.message == ("calls nest more than 8 deep here: folio_accessed -> g0 -> g1 -> g2 -> g3 -> g4 -> leaf "
                             "-> deeper -> deepest.")
    assert error.line == 18  # deeper's call, the eighth frame's
    assert verify(policy(hook("leaf(1)\ng1(1)") + defs.replace("def g0(n):\n    return g1(n)\n", "")), "p.py").ok


def test_at_most_max_functions_functions():
    assert surface.MAX_FUNCTIONS == 256
    helpers = surface.MAX_FUNCTIONS - len(REQUIRED) - 1  # and folio_accessed calls each
    defs = "".join(f"def f{i}(ctx):\n    return 0\n" for i in range(helpers))
    calls = hook("".join(f"f{i}(ctx)\n" for i in range(helpers)))
    v = verify(policy(calls + defs), "p.py")
    assert v.ok, format_log(v)
    source = policy(calls + defs + "def extra(ctx):\n    return 0\n")
    v = verify(source, "p.py")
    [error] = v.diagnostics  # the passes after the module's do not run: no warning that extra is never called
    assert error.message == ("the policy defines 257 functions, more than the 256 a policy may have "
                             "(BPF's BPF_MAX_SUBPROGS); this is the 257th.")
    assert error.line == source.splitlines().index("def select_victims(ctx, request):") + 1  # the last def


# --------------------------------------------------------------------------
# Loop bounds and the worst-case cost
# --------------------------------------------------------------------------


def loop_bound(iterable: str, before: str = "", signature: str = "select_victims(ctx, request)", module: str = "") -> int:
    """The bound the verifier infers for `for x in <iterable>`: each extra
    statement in the loop's body adds the bound to the hook's cost."""
    costs = []
    for body in ("pass", "pass\n    pass"):
        snippet = module + "\n" + hook(f"{before}\nfor x in {iterable}:\n    {body}\nreturn None", signature)
        v = verify(policy(snippet), "p.py")
        assert v.ok, format_log(v)
        costs.append(v.cost[signature.split("(")[0]])
    return costs[1] - costs[0]


BATCH = "folio_evicted(ctx, folios)"
LOOP_BOUNDS = [
    ("range(10)", "", BATCH, "", 10),
    ("range(2, 10)", "", BATCH, "", 8),
    ("range(0, 10, 3)", "", BATCH, "", 4),
    ("range(N)", "", BATCH, "N = 100", 100),
    ("range(N // 4 + 1)", "", BATCH, "N = 100", 26),
    ("range(2 ** 5)", "", BATCH, "", 32),
    ("range(1 << 5)", "", BATCH, "", 32),
    ("range(min(request.nr_to_scan, 64))", "", "select_victims(ctx, request)", "", 64),
    ("range(min(100, request.nr_to_scan, 64))", "", "select_victims(ctx, request)", "", 64),
    ("range(request.priority % 8)", "", "select_victims(ctx, request)", "", 7),
    ("range(request.priority & 15)", "", "select_victims(ctx, request)", "", 15),
    ("range(max(request.priority, 0), 10)", "", "select_victims(ctx, request)", "", 10),
    ("range(len(folios))", "", BATCH, "", 4096),
    ("folios", "", BATCH, "", 4096),
    ("enumerate(folios)", "", BATCH, "", 4096),
    ("reasons", "", "folio_putback(ctx, folios, reasons, request)", "", 4096),
    ("refault.shadow", "", "on_refault(ctx, folios, refault)", "", 4096),
    ("ctx.list_peek(0, 32)", "", "select_victims(ctx, request)", "", 32),
    ("ctx.list_peek(0, n=16)", "", "select_victims(ctx, request)", "", 16),
    ("ctx.list_peek(0, min(request.nr_to_scan, 100))", "", "select_victims(ctx, request)", "", 100),
    ("folios[:10]", "", BATCH, "", 10),
    ("folios[2:]", "", BATCH, "", 4096),
    ("ctx.walk_mm(0)[:64]", "", BATCH, "", 64),
    ("(1, 2, 3)", "", BATCH, "", 3),
    ("LRU_TYPES", "", BATCH, "", 2),
    ("'abc'", "", BATCH, "", 3),
    ("[0] * 8", "", BATCH, "", 8),
    ("range(n)", "n = 5\nif len(folios):\n    n = 7", BATCH, "", 7),
    ("range(3, n)", "n = min(len(folios), 10)", BATCH, "", 7),
    ("range(a + b)", "a, b = 3, 4", BATCH, "", 7),
    ("xs", "xs = folios[:5]", BATCH, "", 5),
    ("ctx.lruvecs", "", "policy_init(ctx)", "", surface.MAX_LRUVECS),
    ("ctx.lruvecs", "", BATCH, "", surface.MAX_LRUVECS),
    ("enumerate(ctx.lruvecs)", "", BATCH, "", surface.MAX_LRUVECS),
    ("range(len(ctx.lruvecs))", "", BATCH, "", surface.MAX_LRUVECS),
    ("range(min(len(ctx.lruvecs), 64))", "", BATCH, "", 64),
    ("ctx.lruvecs[:8]", "", BATCH, "", 8),
    ("range(ctx.nr_nodes)", "", "policy_init(ctx)", "", surface.MAX_NUMNODES),
    ("range(ctx.nr_nodes * 2)", "", BATCH, "", 2 * surface.MAX_NUMNODES),
    ("range(min(ctx.nr_nodes, 4))", "", BATCH, "", 4),
    # containers bound to displays: a dict no one assigns an item of, a list assigned items (not slices)
    ("d", "d = {'a': 1, 'b': len(folios)}", BATCH, "", 2),
    ("d", "d = {'a': 1} if len(folios) else {'a': 2, 'b': 3}", BATCH, "", 2),
    ("xs", "xs = [0] * 4\nxs[1] = 5", BATCH, "", 4),
    ("xs", "xs = [0] * 4\nys = xs\nys[3] = 5", BATCH, "", 4),
    ("xs", "xs = [0, 0, 0]\nd = {}\nd[1] = 2", BATCH, "", 3),  # another container grows
    ("xs", "xs = [0, 0, 0]\nys = xs[0:2]\nys[0:0] = [5]", BATCH, "", 3),  # a slice is a copy
]


@pytest.mark.parametrize(("iterable", "before", "signature", "module", "bound"), LOOP_BOUNDS)
def test_loop_bounds(iterable, before, signature, module, bound):
    assert loop_bound(iterable, before, signature, module) == bound


UNBOUNDED = [
    ("range(request.nr_to_scan)", ""),
    ("ctx.walk_mm(request.lruvec)", ""),
    ("range(request.priority, 10)", ""),  # a start that may be negative
    ("range(10, 0, -1)", ""),
    ("range(0, 10, request.priority)", ""),
    ("range(min(request.nr_to_scan, request.priority))", ""),
    ("range(n)", "n = 5\nif request.priority:\n    n = request.nr_to_scan"),
    ("range(n)", "n = request.nr_to_scan\nn = min(n, 64)"),  # flow-insensitive: n is every value it is given
    ("range(n)", "n = 0\nn += 1"),
    ("xs", "xs = [0]\nxs = xs + [1]"),
    ("range(i)", "i = ctx.list_peek(0, 8)[0]"),  # an element of a bounded array is any int
    ("request.refaults_since_snapshot", ""),
    ("request.lruvecs", ""),  # lruvecs of something other than the context
    ("range(request.nr_nodes)", ""),
    ("c.lruvecs", "c = ctx"),  # parameters are known to hold the context, not the locals it is copied into
    ("ctx.lruvecs", "ctx = request"),  # a context parameter the function assigns holds anything
    ("ctx.lruvecs", "for ctx in range(2):\n    pass"),
    # containers that grow in place: a dict by an item, a list by a slice, or either through another name
    ("d", "d = {}\nd[request.lru_type] = 1"),
    ("d", "d = {'a': 1} if request.lru_type else {}\nd['b'] = 2"),
    ("d", "d = {}\ne = d\ne[1] = 0"),
    ("e", "d = {}\ne = d\nd[1] = 0"),
    ("d", "d = {}\ne = max(d, request.lru_type)\ne[1] = 0"),
    ("range(len(d))", "d = {'a': 1}\nd['b'] = 2"),
    ("xs", "xs = [0, 0]\nxs[0:0] = [1, 2, 3]"),
    ("xs", "xs = [0, 0]\nys = xs if request.lru_type else [1]\nys[:1] = [1, 2, 3]"),
    ("xs", "xs = [0]\nh = {'xs': xs}\nys = h['xs']\nys[0:0] = [1, 2]"),  # held in a dict
    ("xs", "xs = [0]\nh = {}\nh['xs'] = xs\nys = h['xs']\nys[0:0] = [1, 2]"),
    ("xs", "xs = [0]\nv = Victims(xs, 0)\nys = v.folios\nys[0:0] = [1, 2]"),  # held in a Victims
]


@pytest.mark.parametrize(("iterable", "before"), UNBOUNDED)
def test_unbounded_loops_are_errors_at_the_for(iterable, before):
    snippet = hook(f"{before}\nfor x in {iterable}:\n    pass\nreturn None", "select_victims(ctx, request)")
    line = 3 + len(before.splitlines()) if before else 3
    v = assert_refused(policy(snippet), "cannot bound this loop.", line)
    assert "range(min(x, N))" in v.errors[0].hint
    assert "select_victims" not in v.cost


def test_nested_loop_bounded_by_the_outer_variable():
    v = verify(policy(hook("for i in range(10):\n    for j in range(i):\n        pass")), "p.py")
    assert v.cost["folio_accessed"] == 10 * (1 + 9 * (1 + 1))


def test_helper_parameters_are_bounded_by_their_call_sites():
    helper = "def scan(ctx, batch):\n    for f in batch:\n        ctx.trace(str(f))\n    return 0\n"
    peek = hook("return ctx.list_peek(0, scan(ctx, ctx.list_peek(0, 8)))", "select_victims(ctx, request)")
    v = verify(policy(helper + peek), "p.py")
    assert v.ok, format_log(v)
    assert v.cost["select_victims"] == 1 + (8 * 2 + 1)
    v = verify(policy(helper + peek + hook("scan(ctx, folios)")), "p.py")
    assert v.cost["select_victims"] == 1 + (4096 * 2 + 1)
    assert_refused(policy(helper + peek + hook("scan(ctx, ctx.walk_mm(0))")), "cannot bound this loop.", 3)


def test_a_loop_over_the_lruvecs_verifies():
    source = FIFO.replace("for i in range(min(len(ctx.lruvecs), MAX_LRUVECS)):\n        lruvec = ctx.lruvecs[i]\n",
                          "for lruvec in ctx.lruvecs:\n")
    source = source.replace("MAX_LRUVECS = 64", "MAX_LRUVECS = 4096")
    assert "for lruvec in ctx.lruvecs:" in source
    v = verify(source, "fifo.py")
    assert v.ok, format_log(v)
    # MAX_LRUVECS lruvecs x (1 + 2 types x (1 + the update))
    assert v.cost["policy_init"] == surface.MAX_LRUVECS * (1 + 2 * 2)


def test_helpers_given_the_context_know_its_bounds():
    # the context passed on through two helpers, under other names
    helpers = textwrap.dedent("""
        def each(c, tag):
            for lruvec in c.lruvecs:
                c.trace(tag)
            return show(c, tag)
        def show(context, tag):
            for node in range(context.nr_nodes):
                context.trace(tag)
            return 0
    """)
    v = verify(policy(helpers + hook("each(ctx, 'a')\nshow(ctx, 'b')")), "p.py")
    assert v.ok, format_log(v)
    show = surface.MAX_NUMNODES * 2 + 1
    each = surface.MAX_LRUVECS * 2 + (1 + show)
    assert v.cost["folio_accessed"] == (1 + each) + (1 + show)


def test_a_helper_knows_the_context_only_if_every_caller_passes_it():
    helper = "def each(c):\n    for lruvec in c.lruvecs:\n        pass\n    return 0\n"
    assert verify(policy(helper + hook("each(ctx)")), "p.py").ok
    assert_refused(policy(helper + hook("each(ctx)\neach(folios)")), "cannot bound this loop.", 3)
    assert_refused(policy(helper + hook("each(ctx)", "select_victims(ctx, request)") + hook("c = ctx\neach(c)")),
                   "cannot bound this loop.", 3)
    reassigned = "def each(c):\n    c = 3\n    for lruvec in c.lruvecs:\n        pass\n    return 0\n"
    assert_refused(policy(reassigned + hook("each(ctx)")), "cannot bound this loop.", 4)


def test_containers_grown_through_a_helper_have_no_bound():
    # the helper grows its caller's dict or list through a parameter, or hands it back to be grown
    grow = "def grow(p):\n    q = p\n    q[1] = 0\n    return 0\n"
    assert_refused(policy(grow + hook("d = {}\ngrow(d)\nfor k in d:\n    pass")), "cannot bound this loop.", 9)
    same = "def same(p):\n    return p if len(p) else p\n"
    assert_refused(policy(same + hook("d = {}\ne = same(d)\ne[1] = 0\nfor k in d:\n    pass")),
                   "cannot bound this loop.", 8)
    stretch = "def stretch(p):\n    q = p\n    q[0:0] = [1, 2]\n    return 0\n"
    assert_refused(policy(stretch + hook("xs = [0]\nstretch(xs)\nfor x in xs:\n    pass")),
                   "cannot bound this loop.", 9)
    # the helper's own loop over its grown parameter, too
    scan = "def scan(p):\n    p2 = p\n    p2[7] = 1\n    for k in p:\n        pass\n    return 0\n"
    assert_refused(policy(scan + hook("scan({'a': 1})")), "cannot bound this loop.", 5)
    # a helper that only reads keeps the bound
    read = "def read(p):\n    for k in p:\n        pass\n    return 0\n"
    v = verify(policy(read + hook("d = {'a': 1, 'b': 2}\nread(d)")), "p.py")
    assert v.ok, format_log(v)
    assert v.cost["folio_accessed"] == 1 + (1 + 2 * 2 + 1)


def test_helper_defaults_bound_their_parameters():
    v = verify(policy("def spin(n=8):\n    for i in range(n):\n        pass\n" + hook("spin()")), "p.py")
    assert v.cost["folio_accessed"] == 1 + 8 * 2


def test_a_helper_nothing_calls_knows_nothing_of_its_parameters():
    v = assert_refused(policy("def spin(n):\n    for i in range(n):\n        pass"), "cannot bound this loop.", 3)
    assert [w.message for w in v.warnings] == ["function 'spin' is neither a hook nor called."]


def test_cost_counts_statements_branches_and_callees():
    v = verify(policy(textwrap.dedent("""
        def work(ctx):
            for i in range(100):
                ctx.trace("x")
            return 1
        """) + hook("""
        if len(folios):
            for i in range(10):
                pass
        else:
            pass
        work(ctx)
        x = work(ctx) + work(ctx)
        """)), "p.py")
    assert v.ok, format_log(v)
    work = 100 * 2 + 1
    assert v.cost["folio_accessed"] == (1 + max(10 * 2, 1)) + (1 + work) + (1 + 2 * work)


def test_a_loop_over_range_1000_is_fine():
    v = verify(policy(hook("for i in range(1000):\n    ctx.trace(str(i))")), "p.py")
    assert v.ok and v.cost["folio_accessed"] == 2000


def test_nested_loops_over_batches_exceed_the_cost_limit():
    v = assert_refused(policy(hook("for f in folios:\n    for g in folios:\n        ctx.trace('x')")),
                       "hook folio_accessed may run 33,558,528 statements in the worst case", 2)
    assert f"more than the limit of {COST_LIMIT:,}" in v.errors[0].message
    assert v.errors[0].hint.startswith("Its costliest loop, at line 3,")
    assert v.cost["folio_accessed"] == 4096 * (1 + 4096 * 2)


def test_the_cost_limit_counts_through_helpers():
    v = assert_refused(policy("def inner(ctx):\n    for i in range(1000):\n        ctx.trace('x')\n"
                              + hook("for f in folios:\n    inner(ctx)")), "hook folio_accessed may run", 5)
    assert "costliest loop, at line 6" in v.errors[0].hint


# --------------------------------------------------------------------------
# The compiled code: the contract with the runtime
# --------------------------------------------------------------------------


def _underscore_names(code: types.CodeType) -> set[str]:
    names = {n for n in code.co_names if n.startswith("_") and not n.startswith("__")}
    for const in code.co_consts:
        if isinstance(const, types.CodeType):
            names |= _underscore_names(const)
    return names


def test_compiled_code_references_exactly_the_guard_names():
    v = verify(policy(hook("""
        xs = [0] * len(folios)
        xs[0] = ctx.folio_flags(folios[0]) ** 2 << 1
        n = ctx.list_peek(0, 4).size
        a, b = xs[0] % 3, xs[0] + xs[0]
        a += 1
        for i, f in enumerate(folios):
            b = b + i
        c = a - b if a < b <= len(folios) else a
        d = [a, b]
        e = {"a": a, "b": (c,)[0] in d}
    """)), "p.py")
    assert v.ok, format_log(v)
    assert _underscore_names(v.code) == set(surface.GUARD_NAMES)


def test_policy_transformer_adds_the_counter_and_the_arithmetic_guards():
    tree = ast.parse("for i in range(3):\n    y = i * 2 + x ** 2 % 3 << 1\n    z = i + 1\n    w = 1.5 + i\n    s = a + b\n")
    text = ast.unparse(PolicyTransformer().visit(tree))
    body = text.splitlines()
    assert body[0] == "for i in _getiter_(range(3)):"
    assert body[1].strip() == "_tick_()"
    assert "y = _lshift_(_add_(_mul_(i, 2), _mod_(_pow_(x, 2), 3)), 1)" in text
    assert "z = i + 1" in text and "w = 1.5 + i" in text and "s = _add_(a, b)" in text


def transformed(source: str) -> str:
    return ast.unparse(PolicyTransformer().visit(ast.parse(source)))


def unchanged(source: str) -> str:
    return ast.unparse(ast.parse(source))


# the guards' symbols, as the runtime's _binop_ and _compare_ take them
BINOP_SYMBOLS = ("-", "/", "//", "&", "|", "^", ">>")
ORDER_SYMBOLS = ("==", "!=", "<", "<=", ">", ">=")
MEMBERSHIP_SYMBOLS = ("in", "not in")
COMPARE_SYMBOLS = (*ORDER_SYMBOLS, *MEMBERSHIP_SYMBOLS)
NUMBER_LITERALS = ("3", "-1", "0.5", "~4095", "+2")
LITERALS = (*NUMBER_LITERALS, "'s'", "None", "True")


@pytest.mark.parametrize("symbol", BINOP_SYMBOLS)
def test_the_other_binary_operators_go_through_binop(symbol):
    assert transformed(f"y = a {symbol} b") == f"y = _binop_({symbol!r}, a, b)"
    assert transformed(f"y = f(a) {symbol} xs[0]") == f"y = _binop_({symbol!r}, f(a), _getitem_(xs, 0))"
    for literal in NUMBER_LITERALS:  # `n - 1`, `a >> 3`: plain and fast
        for source in (f"y = a {symbol} {literal}", f"y = {literal} {symbol} a"):
            assert transformed(source) == unchanged(source)
    assert transformed(f"y = a {symbol} 's'") == f"y = _binop_({symbol!r}, a, 's')"  # a number literal only


@pytest.mark.parametrize(("source", "expected"), [
    ("y = x * 2", "y = _mul_(x, 2)"),  # [0] * N, 'a' * N: a long sequence from a literal
    ("y = 2 ** x", "y = _pow_(2, x)"),
    ("y = 1 << x", "y = _lshift_(1, x)"),
    ("y = x % 3", "y = _mod_(x, 3)"),  # a str formats
    ("y = a + b", "y = _add_(a, b)"),
    ("y = a + -1", "y = a + -1"),
    ("y = 'a' + b", "y = _add_('a', b)"),
])
def test_the_operators_with_guards_of_their_own_keep_them(source, expected):
    assert transformed(source) == expected


@pytest.mark.parametrize("symbol", COMPARE_SYMBOLS)
def test_comparisons_go_through_compare(symbol):
    assert transformed(f"y = a {symbol} b") == f"y = _compare_({symbol!r}, a, b)"
    assert transformed(f"if f(a) {symbol} xs:\n    pass") == f"if _compare_({symbol!r}, f(a), xs):\n    pass"


@pytest.mark.parametrize("symbol", ORDER_SYMBOLS)
def test_comparisons_with_a_literal_stay_plain(symbol):
    for literal in LITERALS:  # `x == 0`, `x != None`: plain
        for source in (f"y = a {symbol} {literal}", f"y = {literal} {symbol} a"):
            assert transformed(source) == unchanged(source)


@pytest.mark.parametrize("symbol", MEMBERSHIP_SYMBOLS)
def test_membership_is_always_guarded(symbol):
    # `None in range(10**7)`, `0.5 in range(10**18)`: a literal searched for in a range walks it in C
    for literal in LITERALS:
        written = ast.unparse(ast.parse(literal, mode="eval"))
        assert transformed(f"y = {literal} {symbol} a") == f"y = _compare_({symbol!r}, {written}, a)"
        assert transformed(f"y = a {symbol} {literal}") == f"y = _compare_({symbol!r}, a, {written})"
    assert transformed(f"y = 1 {symbol} (1, 2)") == f"y = _compare_({symbol!r}, 1, (1, 2))"
    assert transformed(f"y = 0 <= i {symbol} xs") == f"y = 0 <= i and _compare_({symbol!r}, i, xs)"
    v = verify(policy(hook(f"y = None {symbol} range(10 ** 7)\nz = 0.5 {symbol} range(1 << 60)")), "p.py")
    assert v.ok, format_log(v)
    code = _hook_code(v)
    assert "_compare_" in code.co_names
    assert "CONTAINS_OP" not in {i.opname for i in dis.get_instructions(code)}


@pytest.mark.parametrize("source", ["y = a is b", "y = a is not b", "y = a is b is not c"])
def test_identity_comparisons_stay_plain(source):
    assert transformed(source) == unchanged(source)


@pytest.mark.parametrize(("source", "expected"), [
    ("y = a < b < c", "y = _compare_('<', a, b) and _compare_('<', b, c)"),
    ("y = 0 <= i < n", "y = 0 <= i and _compare_('<', i, n)"),
    ("y = 0 <= i < 10", "y = 0 <= i < 10"),
    ("y = a < -1 < f(b)", "y = a < -1 < f(b)"),
    ("y = a is b < c", "y = a is b and _compare_('<', b, c)"),
    ("y = 1 in xs < 3", "y = _compare_('in', 1, xs) and xs < 3"),
    ("y = f(a) < f(b) <= f(c)", "y = _compare_('<', f(a), (_chain1_ := f(b))) and _compare_('<=', _chain1_, f(c))"),
    ("y = a < f(b) < 3", "y = _compare_('<', a, (_chain1_ := f(b))) and _chain1_ < 3"),
])
def test_chained_comparisons_evaluate_each_operand_once(source, expected):
    assert transformed(source) == expected


REFERENCE_BINOPS = {"-": operator.sub, "/": operator.truediv, "//": operator.floordiv, "&": operator.and_,
                    "|": operator.or_, "^": operator.xor, ">>": operator.rshift}
REFERENCE_COMPARISONS = {"==": operator.eq, "!=": operator.ne, "<": operator.lt, "<=": operator.le, ">": operator.gt,
                         ">=": operator.ge, "in": lambda a, b: a in b, "not in": lambda a, b: a not in b}


def reference_binop(op, a, b):
    return REFERENCE_BINOPS[op](a, b)


def reference_compare(op, a, b):
    return REFERENCE_COMPARISONS[op](a, b)


def reference_list(*items):
    return list(items)


def reference_tuple(*items):
    return items


def reference_dict(keys, values):
    return dict(zip(keys, values, strict=True))


REFERENCE_GUARDS = {"_binop_": reference_binop, "_compare_": reference_compare, "_list_": reference_list,
                    "_tuple_": reference_tuple, "_dict_": reference_dict}


CHAINS = [
    "v(a) < v(b) < v(c)",
    "v(a) < v(b) <= v(c) != v(d)",
    "0 <= v(a) < v(b) < 2",
    "a < v(b) == c",
    "v(a) <= 1 < v(b) < v(c)",
    "v(a) is v(b) < v(c)",
    "v(a) not in v((b, c)) != v(d)",
    "v(a) in (0, 1) != v(b)",
    "v(a) < (v(b) < v(c) < v(d)) <= v(a)",
    "v(a) < v(b) < v(c) and v(b) < v(c) < v(d)",
]


@pytest.mark.parametrize("chain", CHAINS)
def test_chained_comparisons_keep_pythons_semantics(chain):
    """The rewritten chain evaluates the same operands, in the same order,
    as many times, stops at the same false comparison and gives the same
    result as Python's."""
    source = f"def chain(v, a, b, c, d):\n    return {chain}\n"
    result = compile_restricted_exec(source, policy=PolicyTransformer)
    assert not result.errors, result.errors
    compared = []
    guarded = {"__builtins__": {}, **REFERENCE_GUARDS,
               "_compare_": lambda op, x, y: compared.append(op) or reference_compare(op, x, y)}
    exec(result.code, guarded)
    plain: dict = {}
    exec(compile(source, "<chain>", "exec"), plain)
    for values in itertools.product((0, 1, 2), repeat=4):
        seen_plain, seen_guarded = [], []
        expected = plain["chain"](lambda x: seen_plain.append(x) or x, *values)
        assert guarded["chain"](lambda x: seen_guarded.append(x) or x, *values) == expected, values
        assert seen_guarded == seen_plain, values
    assert compared  # the comparisons between computed values went through the guard


def _hook_code(v: VerifiedPolicy, name: str = "folio_accessed") -> types.CodeType:
    return next(c for c in v.code.co_consts if isinstance(c, types.CodeType) and c.co_name == name)


# the instructions of the operators the guards stand for
_OPERATOR_INSTRUCTIONS = {"BINARY_OP", "COMPARE_OP", "CONTAINS_OP"}


@pytest.mark.parametrize(("expression", "guard"), [
    ("folios - x", "_binop_"),
    ("folios & x", "_binop_"),
    ("folios // x", "_binop_"),
    ("folios == x", "_compare_"),
    ("folios < x", "_compare_"),
    ("x in folios", "_compare_"),
    ("folios <= folios != x", "_compare_"),
])
def test_an_array_meets_a_nested_list_only_in_a_guard(expression, guard):
    # numpy would convert x into an ~8 GB array, in C, out of reach of the counter and the clock
    v = verify(policy(hook(f"x = [[0] * 1024] * 1048576\ny = {expression}")), "p.py")
    assert v.ok, format_log(v)
    code = _hook_code(v)
    assert guard in code.co_names
    assert not _OPERATOR_INSTRUCTIONS & {i.opname for i in dis.get_instructions(code)}


def test_an_int_cannot_double_through_a_plain_operator():
    # one bit per `-`, past the 64-bit limit: the outer `-` has no literal operand
    body = "n = len(folios)\nfor i in range(100):\n    n = n - (0 - n)"
    assert "n = _binop_('-', n, 0 - n)" in transformed(hook(body))
    v = verify(policy(hook(body)), "p.py")
    assert v.ok, format_log(v)
    assert "_binop_" in _hook_code(v).co_names


@pytest.mark.parametrize(("source", "expected"), [
    ("y = [a, b]", "y = _list_(a, b)"),
    ("y = [a]", "y = _list_(a)"),
    ("y = (a, 1)", "y = _tuple_(a, 1)"),
    ("y = a, 'b', None", "y = _tuple_(a, 'b', None)"),
    ("y = [f(a), xs[0], -n]", "y = _list_(f(a), _getitem_(xs, 0), -n)"),
    ("y = [[a]]", "y = _list_(_list_(a))"),  # refused in pass 3; the runtime refuses it all the same
    ("y = [[1]]", "y = _list_([1])"),
    ("return a, b", "return _tuple_(a, b)"),
    ("f([a], (b,))", "f(_list_(a), _tuple_(b))"),
    ("y = [a] * n", "y = _mul_(_list_(a), n)"),
    ("xs += [a]", "xs = _inplacevar_('+=', xs, _list_(a))"),
    ("for x in (a, b):\n    pass", "for x in _getiter_(_tuple_(a, b)):\n    _tick_()\n    pass"),
    ("y = xs[i, j]", "y = _getitem_(xs, _tuple_(i, j))"),
    ("y = {'k': v, 1: w}", "y = _dict_(('k', 1), (v, w))"),
    ("y = {'k': 1, 'n': n}", "y = _dict_(('k', 'n'), (1, n))"),
    ("y = {LRU_ANON: a}", "y = _dict_((LRU_ANON,), (a,))"),
    ("y = {'k': (a, b)}", "y = _dict_(('k',), (_tuple_(a, b),))"),
    ("y = x = (a, b)", "y = x = _tuple_(a, b)"),
])
def test_displays_of_computed_values_go_through_their_guards(source, expected):
    assert transformed(source) == expected


@pytest.mark.parametrize("source", [
    "y = [1, 'a', None, -1, 0.5, True, ~4095]",
    "y = (1, 2)",
    "y = ()",
    "y = []",
    "y = {}",
    "y = {'a': 1, 2: -3, -4: None}",
    "y = {'k': 'v'}",
])
def test_displays_of_literals_stay_plain(source):
    # flat by construction, and built by CPython as constants
    assert transformed(source) == unchanged(source)


def test_an_index_holding_a_slice_stays_plain():
    # x[i, 1:2]: a slice is no value, and cannot be passed to a guard
    tree = PolicyTransformer().visit(ast.parse("y = xs[i, 1:2]"))
    call = tree.body[0].value
    assert isinstance(call, ast.Call) and call.func.id == "_getitem_"
    assert isinstance(call.args[1], ast.Tuple) and isinstance(call.args[1].elts[1], ast.Slice)


@pytest.mark.parametrize(("source", "expected"), [
    # targets stay as they are, and so does a display unpacked as it is built: no name ever holds it
    ("a, b = f(x)", "a, b = _unpack_sequence_(f(x), {'childs': (), 'min_len': 2}, _getiter_)"),
    ("[a, b] = x", "a, b = _unpack_sequence_(x, {'childs': (), 'min_len': 2}, _getiter_)"),
    ("a, b = b, a", "a, b = _unpack_sequence_((b, a), {'childs': (), 'min_len': 2}, _getiter_)"),
    ("lo, hi = [], [x]", "lo, hi = _unpack_sequence_(([], _list_(x)), {'childs': (), 'min_len': 2}, _getiter_)"),
    ("for a, b in xs:\n    pass",
     "for a, b in _iter_unpack_sequence_(xs, {'childs': (), 'min_len': 2}, _getiter_):\n    _tick_()\n    pass"),
])
def test_unpacking_keeps_its_displays_plain(source, expected):
    assert transformed(source) == expected


def test_the_display_guards_build_the_same_values():
    source = textwrap.dedent("""
        def build(a, b):
            lo, hi = [], [a]
            lo, hi = hi, lo
            return [a, b], (a,), (b, 1, 'c'), {'a': a, 2: b, -3: None}, {'k': 1}, [1, 2], lo, hi
    """)
    result = compile_restricted_exec(source, policy=PolicyTransformer)
    assert not result.errors, result.errors
    built: list[str] = []

    def counted(name, guard):
        def call(*args):
            built.append(name)
            return guard(*args)
        return call

    guarded = {"__builtins__": {}, "_getiter_": iter, "_unpack_sequence_": guarded_unpack_sequence,
               **{name: counted(name, guard) for name, guard in REFERENCE_GUARDS.items()}}
    exec(result.code, guarded)
    plain: dict = {}
    exec(compile(source, "<build>", "exec"), plain)
    for a, b in ((1, 2.5), ("x", None)):
        expected = plain["build"](a, b)
        got = guarded["build"](a, b)
        assert got == expected and [type(v) for v in got] == [type(v) for v in expected]
    assert sorted(set(built)) == ["_dict_", "_list_", "_tuple_"]


@pytest.mark.parametrize("body", [
    "a, b = c, d = ctx.list_peek(0, 2)",
    "n = (a, b) = ctx.list_peek(0, 2)",
    "[a, b] = n = ctx.list_peek(0, 2)",
])
def test_a_chained_assignment_that_unpacks_is_refused(body):
    # RestrictedPython evaluates the value once per target: the call would run twice
    v = assert_refused(policy(hook(body)), "a chained assignment that unpacks", 3)
    assert v.errors[0].hint == "Assign once, then copy: v = value, then a, b = v and c = v."
    transformer = PolicyTransformer()
    transformer.visit(ast.parse(body))
    assert transformer.errors == [f"Line 1:0: {verifier._CHAINED_UNPACKING_MESSAGE}"]  # fails closed too


def test_a_chained_assignment_to_names_evaluates_once():
    assert transformed("y = x = f(a)") == "y = x = f(a)"
    assert verify(policy(hook("y = x = ctx.list_peek(0, 2)\na, b = x"))).ok


def test_sets_and_dict_unpacking_fail_closed_in_the_transformer():
    transformer = PolicyTransformer()
    transformer.visit(ast.parse("y = {a, b}\nz = {**a}"))
    assert transformer.errors == ["Line 1:4: sets are not available in a policy.",
                                  "Line 2:4: ** unpacking in a dict literal is not allowed."]


def test_dict_and_set_refusals_point_at_the_key_and_the_set():
    v = verify(policy(hook("x = {'a': 1, len(folios): 2}\ny = {1, 2}")), "p.py")
    assert not v.ok
    [key, a_set] = v.errors
    assert (key.line, key.col, key.message) == (3, len("    x = {'a': 1, ") + 1, verifier._DICT_KEY_MESSAGE)
    assert "HashMap" in key.hint
    assert (a_set.line, a_set.col, a_set.message) == (4, len("    y = ") + 1,
                                                      "sets are not available in a policy; use a HashMap.")


def test_a_nested_display_is_refused_at_the_inner_one():
    v = verify(policy(hook("x = (folios, [folios])")), "p.py")
    [error] = v.errors
    assert (error.line, error.col) == (3, len("    x = (folios, ") + 1)
    assert error.message == ("containers in a policy are flat: a list or tuple holds no list, tuple or dict, and a "
                             "dict holds no dict.")


class FakeContext:
    """Just enough of the context for the FIFO policy."""

    lruvecs = (0, 1)

    def __init__(self):
        self.lists: dict[int, list[int]] = {}

    def list_create(self, lruvec, lru_type, active, name):
        self.lists[len(self.lists)] = []
        return len(self.lists) - 1

    def folio_lruvec(self, folio):
        return folio // 100

    def folio_type(self, folio):
        return folio % 2

    def list_add(self, lst, folio):
        self.lists[lst].insert(0, folio)

    def list_peek(self, lst, n):
        return self.lists[lst][::-1][:n]


class FakeMap(dict):
    def __init__(self, max_entries):
        super().__init__()
        self.max_entries = max_entries

    def lookup(self, key, default=None):
        return self.get(key, default)

    def update(self, key, value):
        self[key] = value
        return 0


def test_compiled_fifo_runs_under_plain_guards_and_ticks_every_iteration():
    v = verify(FIFO, "fifo.py")
    ticks = []
    namespace = {
        "__builtins__": {name: getattr(builtins, name) for name in surface.SAFE_BUILTINS},
        **surface.CONSTANTS, **surface.TYPES, "ArrayMap": FakeMap,
        "_getattr_": getattr, "_getitem_": operator.getitem, "_getiter_": iter, "_write_": lambda x: x,
        "_inplacevar_": None, "_iter_unpack_sequence_": guarded_iter_unpack_sequence,
        "_unpack_sequence_": guarded_unpack_sequence, "_tick_": lambda: ticks.append(1),
        "_mul_": operator.mul, "_pow_": operator.pow, "_lshift_": operator.lshift, "_mod_": operator.mod,
        "_add_": operator.add, **REFERENCE_GUARDS,
    }
    exec(v.code, namespace)
    ctx = FakeContext()
    namespace["policy_init"](ctx)
    assert len(ticks) == 2 + 2 * 2  # the lruvecs, then the types of each
    namespace["folio_added"](ctx, [1, 2, 3, 101])
    assert len(ticks) == 6 + 4
    request = types.SimpleNamespace(lruvec=0, lru_type=1, nr_to_scan=8)
    assert namespace["select_victims"](ctx, request) == [1, 3]


# --------------------------------------------------------------------------
# Attribute reads the verifier has proved compile plain, without _getattr_
# --------------------------------------------------------------------------


@pytest.fixture
def compiled_source(monkeypatch):
    """verify(source), which must load; the tree pass 6 compiled, as source."""
    trees = []
    compile_restricted = verifier.compile_restricted_exec

    def capture(tree, *args, **kwargs):
        result = compile_restricted(tree, *args, **kwargs)  # transforms the tree in place
        trees.append(tree)
        return result

    monkeypatch.setattr(verifier, "compile_restricted_exec", capture)

    def run(source: str) -> str:
        trees.clear()
        v = verify(source, "p.py")
        assert v.ok, format_log(v)
        [tree] = trees
        return ast.unparse(tree)

    return run


INTERFACE_OBJECTS = """
COUNTS = HashMap(64)
def folio_putback(ctx, folios, reasons, request):
    n = COUNTS.lookup(1)
    COUNTS.update(1, n)
    m = COUNTS.max_entries
    r = PutbackReason.ROTATE
    k = ReclaimReason.KSWAPD
    s = request.stat
    t = request.stat.nr_taken
    u = folios.size
    w = ctx.nr_to_scan
    q = request.lookup
    p = PutbackReason.nr_to_scan
    for lruvec in ctx.lruvecs:
        ctx.trace(str(lruvec))
def on_refault(ctx, folios, refault):
    for d in refault.distance:
        pass
    return None
"""


def test_the_interface_objects_own_attributes_compile_plain(compiled_source):
    text = compiled_source(policy(INTERFACE_OBJECTS))
    for plain in ("n = COUNTS.lookup(1)", "COUNTS.update(1, n)", "m = COUNTS.max_entries", "r = PutbackReason.ROTATE",
                  "k = ReclaimReason.KSWAPD", "s = request.stat", "for lruvec in _getiter_(ctx.lruvecs):",
                  "ctx.trace(str(lruvec))", "for d in _getiter_(refault.distance):",
                  "return ctx.list_peek(0, 32)"):  # and in the required hooks
        assert plain in text, plain
    # anything else keeps the guard: a field of a field, an array's, names of another object's attributes
    for guarded in ("t = _getattr_(request.stat, 'nr_taken')", "u = _getattr_(folios, 'size')",
                    "w = _getattr_(ctx, 'nr_to_scan')", "q = _getattr_(request, 'lookup')",
                    "p = _getattr_(PutbackReason, 'nr_to_scan')"):
        assert guarded in text, guarded
    assert text.count("_getattr_") == 5


@pytest.mark.parametrize(("snippet", "plain", "guarded"), [
    # a helper every caller hands the context, under any name
    ("def show(c, tag):\n    c.trace(tag)\n    return 0\n" + hook("show(ctx, 'a')\nshow(ctx, 'b')"),
     "c.trace(tag)", None),
    # ... but not one that some caller hands something else
    ("def show(c, tag):\n    c.trace(tag)\n    return 0\n" + hook("show(ctx, 'a')\nshow(folios, 'b')"),
     None, "_getattr_(c, 'trace')(tag)"),
    # a helper nothing calls
    ("def show(c, tag):\n    c.trace(tag)\n    return 0\n", None, "_getattr_(c, 'trace')(tag)"),
    # nor the context rebound, in a hook or a helper, or copied into a local
    (hook("ctx.trace('a')\nif len(folios):\n    ctx = ctx"), None, "_getattr_(ctx, 'trace')('a')"),
    ("def show(c):\n    c.trace('a')\n    c = c\n    return 0\n" + hook("show(ctx)"), None,
     "_getattr_(c, 'trace')('a')"),
    (hook("c = ctx\nc.trace('a')"), "ctx", "_getattr_(c, 'trace')('a')"),
    # a hook's request, rebound or not, and one a helper is handed
    (hook("return request.nr_to_scan", "select_victims(ctx, request)"), "return request.nr_to_scan", None),
    (hook("request = request\nreturn request.nr_to_scan", "select_victims(ctx, request)"), None,
     "return _getattr_(request, 'nr_to_scan')"),
    ("def scan(request):\n    return request.nr_to_scan\n" + hook("scan(request)", "age(ctx, request)"), None,
     "return _getattr_(request, 'nr_to_scan')"),
    (hook("for refault in range(2):\n    pass\nx = refault.distance", "on_refault(ctx, folios, refault)"), None,
     "x = _getattr_(refault, 'distance')"),
])
def test_plain_attributes_only_where_the_object_is_proved(compiled_source, snippet, plain, guarded):
    text = compiled_source(policy(snippet))
    if plain:
        assert plain in text
    if guarded:
        assert guarded in text


def test_plain_attributes_run_as_the_guarded_ones():
    # the same policy, its attributes read plainly or all through _getattr_: the same answers
    source = policy(INTERFACE_OBJECTS.replace("    w = ctx.nr_to_scan\n", "").replace("    q = request.lookup\n", "")
                    .replace("    p = PutbackReason.nr_to_scan\n", ""))
    v = verify(source, "p.py")
    assert v.ok, format_log(v)
    guarded = compile_restricted_exec(ast.parse(source), policy=PolicyTransformer).code
    seen = {}
    for name, code in (("plain", v.code), ("guarded", guarded)):
        reads, traced = [], []
        namespace = {"__builtins__": {"str": str, "len": len}, **surface.CONSTANTS, **surface.TYPES,
                     "HashMap": FakeMap, "_getattr_": lambda obj, attr: reads.append(attr) or getattr(obj, attr),
                     "_getiter_": iter, "_tick_": lambda: None}
        exec(code, namespace)
        ctx = types.SimpleNamespace(lruvecs=(3, 4), trace=traced.append)
        request = types.SimpleNamespace(stat=types.SimpleNamespace(nr_taken=5))
        namespace["folio_putback"](ctx, types.SimpleNamespace(size=2), None, request)
        namespace["on_refault"](ctx, None, types.SimpleNamespace(distance=(1, 2)))
        seen[name] = reads, traced
    assert seen["plain"][1] == seen["guarded"][1] == ["3", "4"]
    assert seen["plain"][0] == ["nr_taken", "size"]
    assert seen["guarded"][0] == ["lookup", "update", "max_entries", "ROTATE", "KSWAPD", "stat", "stat", "nr_taken",
                                  "size", "lruvecs", "trace", "trace", "distance"]


# --------------------------------------------------------------------------
# The log
# --------------------------------------------------------------------------


def test_diagnostics_print_like_a_compiler():
    d = Diagnostic("p.py", 3, 5, "while loops are not allowed.", "Write a for loop.", "error")
    assert str(d) == "p.py:3:5: error: while loops are not allowed. Write a for loop."


def test_log_of_a_rejected_policy():
    source = policy("GHOST = LruHashMap(65536)\nFREQ = HashMap(4096)\n" + hook("import os\nwhile True:\n    pass")
                    + "def unused():\n    pass\n")
    v = verify(source, "policy.py")
    log = format_log(v)
    lines = log.splitlines()
    assert lines[:3] == [str(d) for d in v.diagnostics]
    assert lines[0].startswith("policy.py:5:5: error: import is not allowed.")
    assert lines[2].startswith("policy.py:8:1: warning: function 'unused' is neither a hook nor called.")
    assert lines[3:] == [
        "policy.py: 2 errors, 1 warning",
        "hooks:     folio_accessed, policy_init, folio_added, select_victims",
        "maps:      GHOST (LruHashMap, 65536 entries), FREQ (HashMap, 4096 entries)",
        "cost:      folio_accessed not computed (see the errors above)",
        "           policy_init 1 / 1,000,000 (worst case)",
        "           folio_added 1 / 1,000,000 (worst case)",
        "           select_victims 1 / 1,000,000 (worst case)",
        "verdict:   rejected",
    ]
    assert log.endswith("\n")


def test_log_of_a_policy_that_loads():
    log = format_log(verify(FIFO, "fifo.py"))
    assert log == ("fifo.py: 0 errors, 0 warnings\n"
                   "hooks:     policy_init, folio_added, select_victims\n"
                   "maps:      LISTS (ArrayMap, 128 entries)\n"
                   "cost:      policy_init 384 / 1,000,000 (worst case)\n"
                   "           folio_added 12,288 / 1,000,000 (worst case)\n"
                   "           select_victims 2 / 1,000,000 (worst case)\n"
                   "verdict:   loads\n")


def test_python_warnings_become_diagnostics():
    v = verify(policy(hook("x = '\\d'\nif x is 1:\n    pass")), "p.py")
    assert v.ok, format_log(v)
    assert [(w.line, w.message.split()[0]) for w in v.warnings] == [(3, "invalid"), (4, '"is"')]


# --------------------------------------------------------------------------
# The API never raises
# --------------------------------------------------------------------------

GARBAGE = [
    pytest.param("", id="empty"),
    pytest.param("def", id="syntax error"),
    pytest.param("x = 1\x00", id="null byte"),
    pytest.param("x = " + "(" * 300 + ")" * 300, id="too many parentheses"),
    pytest.param("x = " + "+".join(["1"] * 100_000), id="too deep for the parser"),
    pytest.param("x = " + "-" * 150 + "1", id="too deep for the verifier"),
    pytest.param("x = 1" + "0" * 5000, id="too many digits"),
    pytest.param("def f(a, a):\n    pass", id="duplicate parameter"),
    pytest.param("return 1", id="module-level return"),
    pytest.param("\ufeffINTERFACE_VERSION = (1, 1)\n\xe9 = 1", id="BOM and non-ASCII names"),
    pytest.param(policy(hook("\n".join("    " * i + "for i in range(1):" for i in range(25)) + "\n" + "    " * 25 + "pass")),
                 id="too many nested blocks for CPython"),
]


@pytest.mark.parametrize("source", GARBAGE)
def test_verify_never_raises(source):
    v = verify(source, "p.py")
    assert isinstance(v, VerifiedPolicy)
    assert not v.ok and v.code is None and v.errors
    assert all(d.line >= 1 and d.col >= 1 for d in v.diagnostics)
    assert not any("the verifier failed" in d.message for d in v.diagnostics), format_log(v)
    format_log(v)


def test_syntax_errors_keep_their_position():
    [error] = verify("INTERFACE_VERSION = (1, 1)\nx = = 1\n", "p.py").errors
    assert (error.line, error.col) == (2, 5)


def test_verify_file_reads_and_reports(tmp_path):
    good = tmp_path / "fifo.py"
    good.write_text(FIFO, encoding="utf-8")
    v = verify_file(good)
    assert v.ok and v.filename == str(good)
    binary = tmp_path / "binary.py"
    binary.write_bytes(b"\xff\xfe\x00")
    for path in (tmp_path / "missing.py", tmp_path, binary):
        v = verify_file(path)
        assert not v.ok and v.code is None
        [error] = v.errors
        assert error.message.startswith("cannot read the policy") and error.file == str(path)


def test_verifier_internal_failure_fails_closed(monkeypatch):
    def broken(*args):
        raise RuntimeError("boom")

    monkeypatch.setattr(verifier, "_check_call_graph", broken)
    v = verify(FIFO)
    assert not v.ok and v.code is None
    assert v.errors[-1].message == "the verifier failed on this policy (RuntimeError: boom)."
