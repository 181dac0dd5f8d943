"""The policy verifier: a policy's source is checked, bounded and compiled
before it may load, as the BPF verifier checks a struct_ops program.

A policy is one file of restricted Python (DESIGN.md, "The sandbox").
verify() runs six passes over it and collects every finding of all of them,
each with file:line:col and a sentence saying what to write instead:

1. parse: the source becomes a syntax tree, no deeper than _MAX_NESTING
   (every later pass, RestrictedPython and CPython's compiler recurse on it).
2. module: the top level holds only the docstring, INTERFACE_VERSION,
   constants (evaluated here, within the sandbox's integer limit; tuples
   are flat), map declarations and plain def statements, at most
   surface.MAX_FUNCTIONS of them (256, BPF's BPF_MAX_SUBPROGS; beyond it
   the passes that follow do not run, so that no pass's time grows with
   more functions than that). A def named after a hook takes its
   parameters from the hookspec's, in order; the required hooks exist.
3. allowlist and names, per function: only the statements and expressions
   of the policy language; no name or attribute beginning with an
   underscore, attributes only from the interface's tables
   (surface.ALLOWED_ATTRIBUTES), every name defined, no builtin that
   introspects or works in C out of the loop counter's reach (sorted, min
   of one sequence, round with a computed ndigits); functions are called,
   never passed around, and hooks are called by the core only (a hook's
   parameters are what the core passes, within the bounds pass 5 assumes:
   a policy calling on_refault could hand it a batch of any length);
   module-level names are never assigned (state that outlives a call lives
   in maps); a chained assignment that unpacks (`a, b = c = f()`) is
   refused, as RestrictedPython evaluates its value once per target.
   Containers are flat, so that nothing nests them into a structure C
   walks for minutes (`==`, str(), hash, numpy's conversion): a list or
   tuple display holds no list, tuple or dict display; a dict display has
   constant str or int keys, no dict display among its values and no **
   unpacking; sets do not exist. (The runtime checks what the displays
   hold when they are built, pass 6.)
   The pass records what the next ones need: the calls between the
   policy's functions, its loops, how each local gets its values, what
   may hand on a reference to a list or dict, and the attributes read.
4. call graph, in time linear in the calls: no recursion, direct or mutual
   (an error at each call site on a cycle, naming the shortest way back);
   calls nest at most surface.MAX_CALL_FRAMES deep along any path (8, BPF's
   MAX_CALL_FRAMES: a hook and 7 nested calls; an error at the call that
   makes the ninth frame, naming the chain); a function that is neither a
   hook nor called is a warning.
5. bounds and cost: every for loop has an upper bound on its iterations
   (range(), the folio batches, ctx.list_peek, constants, min() and len(),
   ctx.lruvecs and ctx.nr_nodes, bounded by the largest machine the
   runtime attaches a policy to, the displays a local is assigned),
   and each hook's worst case, statements times loop bounds over its call
   graph, stays within COST_LIMIT, BPF's one million instructions. A
   container that grows in place has no bound from its display: a dict
   that is assigned an item, a list that is assigned a slice, through any
   name that may share it (_find_growing).
6. compile: RestrictedPython's transformer, extended by PolicyTransformer
   with the runtime's back-edge counter (_tick_, BPF's may_goto) and a
   guard on every operator that can build a large value or hand numpy a
   list to convert in C, compiles the tree: * ** << % + have guards of
   their own (_mul_ _pow_ _lshift_ _mod_ _add_), the other binary
   operators share _binop_(op, a, b) and comparisons _compare_(op, a, b),
   op being the operator's symbol. With a literal operand, `i + 1`,
   `n - 1` and `x == 0` stay plain (* ** << % never do), as do `is` and
   `is not`; `in` and `not in` never do (`0.5 in range(10**18)` walks the
   range in C); @ is refused in pass 3. Displays that hold a computed value
   are built by guards that keep containers flat: [a, b] becomes
   _list_(a, b), (a, b) _tuple_(a, b) and {"k": v} _dict_(("k",), (v,));
   displays of literals stay plain, flat by construction, as do the
   targets of an unpacking and a display unpacked as it is built
   (`a, b = b, a`). Attributes are read through _getattr_ (the runtime's
   allowlist by type), except where the verifier has proved the object one
   of the interface's own, whose attributes of that name are the
   interface: ctx (the context parameter of a hook, or of a helper every
   caller hands the context), a hook's request and refault, a module-level
   map, the reason enums (_plain_attributes). Those compile to plain
   reads.

Passes 2-5 are the verifier's own. RestrictedPython says of itself that it
is not a sandbox: every published escape from it (frames through
generators, str.format walking attributes, string.Formatter,
AttributeError.obj, except*, guard names rebound through parameters,
builtins that iterate in C) is refused here, before it compiles; its own
checks run afterwards as a second line of defence.
"""

from __future__ import annotations

import ast
import builtins
import copy
import difflib
import enum
import inspect
import operator
import re
import time
import types
import warnings
from collections import deque
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from RestrictedPython import compile_restricted_exec
from RestrictedPython.transformer import FORBIDDEN_FUNC_NAMES, RestrictingNodeTransformer, copy_locations

import hooks
from hooks.context import Context
from reclaim_ext.sandbox import surface
from simulator.policy import HOOK_NAMES, spec_argnames

COST_LIMIT = surface.COST_LIMIT

__all__ = ["COST_LIMIT", "Diagnostic", "MapDecl", "PolicyTransformer", "VerifiedPolicy", "format_log", "verify", "verify_file"]

# The syntax tree may be this deep. Real policies stay below 30; the limit
# keeps every recursive walk far from Python's recursion limit.
_MAX_NESTING = 100

_INT_LIMIT = surface.INT_LIMIT
_LITERAL_TYPES = (int, float, str, bool, type(None))
_MAX_ROUND_DIGITS = 64  # round(x, n) with |n| beyond this is refused
_MAX_CONSTANT_STRING = 4096  # module-level strings joined with +

_VERSION_HINT = f"State the interface version the policy was written for: INTERFACE_VERSION = {hooks.INTERFACE_VERSION}."
_INT_HINT = "The sandbox's integers are 64-bit: |x| < 2**64."
_FORMAT_HINT = 'Pass values to ctx.trace via str() and +: ctx.trace("scanned " + str(n)).'
_FORMATTING_MESSAGE = "'%' formatting is not allowed."
_STATE_HINT = ("State that outlives a call lives only in maps: declare NAME = HashMap(N) at the top of the file "
               "and use NAME.update(key, value) and NAME.lookup(key).")
_LOOP_HINT = "Write a for loop over a bounded range: for i in range(N)."
_NO_EXCEPTIONS = ("A policy does not handle exceptions: one ejects it and the default policy takes over. "
                  "Check values before using them.")
_SYNCHRONOUS = "Hooks and helpers are plain def functions, called synchronously."
_PLAIN_PARAMETERS = "List plain parameters: def f(ctx, folios):"
_CALLABLE_HINT = "Only module functions, builtins, interface types and ctx helpers can be called."
_LOOP_BOUND_HINT = ("Iterate over range(N) with N a constant, range(min(x, N)), a folio batch parameter, "
                    "ctx.lruvecs, range(ctx.nr_nodes) or ctx.list_peek(lst, N).")
_FLAT_MESSAGE = ("containers in a policy are flat: a list or tuple holds no list, tuple or dict, and a dict "
                 "holds no dict.")
_FLAT_HINT = ("Nested containers grow into values that C walks for minutes (==, str(), numpy's conversion), out of "
              "reach of the loop counter: keep parallel values in separate lists (xs[i], ys[i]) and keyed state "
              "in a map.")
_DICT_KEY_MESSAGE = "dict keys in a policy are constants; keep keyed state in a map."
_DICT_KEY_HINT = ("A dict display takes str or int literals (or constants) as keys, {'scanned': n}; state indexed "
                  "by a computed key lives in a HashMap: NAME.update(key, value), NAME.lookup(key).")
_SET_MESSAGE = "sets are not available in a policy; use a HashMap."
_SET_HINT = ("Keep the members as the keys of a map declared at module level: NAME.update(x, 1), "
             "NAME.lookup(x) is not None; or test a few values with ==.")
_CHAINED_UNPACKING_MESSAGE = ("a chained assignment that unpacks: the sandbox evaluates the value once per target, "
                              "so a call in it runs twice.")
_CHAINED_UNPACKING_HINT = "Assign once, then copy: v = value, then a, b = v and c = v."

# --------------------------------------------------------------------------
# What the verifier reports
# --------------------------------------------------------------------------


@dataclass(frozen=True)
class Diagnostic:
    """One finding: where, what is wrong, and what to write instead."""

    file: str
    line: int
    col: int  # 1-based, in characters, as compilers print it
    message: str
    hint: str
    severity: str  # "error" | "warning"

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.col}: {self.severity}: {self.message} {self.hint}"


@dataclass(frozen=True)
class MapDecl:
    """A map the policy declares at module level: NAME = Kind(max_entries)."""

    name: str
    kind: str
    max_entries: int
    line: int


@dataclass
class VerifiedPolicy:
    """The verifier's verdict on one policy and what the runtime loads:
    `code` is set only when `ok`."""

    filename: str
    source: str
    ok: bool
    diagnostics: list[Diagnostic]
    interface_version: tuple[int, int] | None = None
    hooks: dict[str, tuple[str, ...]] = field(default_factory=dict)  # hook -> the parameters its def takes
    functions: tuple[str, ...] = ()  # helpers: the functions that are not hooks
    maps: dict[str, MapDecl] = field(default_factory=dict)
    constants: dict[str, object] = field(default_factory=dict)
    cost: dict[str, int] = field(default_factory=dict)  # hook -> worst-case statements per call
    code: types.CodeType | None = None
    elapsed_ns: int = 0

    @property
    def errors(self) -> list[Diagnostic]:
        return [d for d in self.diagnostics if d.severity == "error"]

    @property
    def warnings(self) -> list[Diagnostic]:
        return [d for d in self.diagnostics if d.severity == "warning"]


class _Report:
    """The diagnostics of one verification. Positions come from syntax
    nodes, or (lineno, col_offset) pairs in the same convention: CPython
    counts columns in UTF-8 bytes, the log in characters from 1."""

    def __init__(self, filename: str, source: str) -> None:
        self.filename = filename
        self.lines = re.split(r"\r\n|\r|\n", source)
        self.diagnostics: list[Diagnostic] = []
        self.error_count = 0

    def error(self, where: ast.AST | tuple[int, int] | None, message: str, hint: str) -> None:
        self.add(where, message, hint, "error")

    def warning(self, where: ast.AST | tuple[int, int] | None, message: str, hint: str) -> None:
        self.add(where, message, hint, "warning")

    def add(self, where: ast.AST | tuple[int, int] | None, message: str, hint: str, severity: str) -> None:
        self.add_at(*self._position(where), message, hint, severity)

    def add_at(self, line: int, col: int, message: str, hint: str, severity: str) -> None:
        """A diagnostic at a position already in the log's convention."""
        self.diagnostics.append(Diagnostic(self.filename, line, col, message, hint, severity))
        self.error_count += severity == "error"

    def _position(self, where: ast.AST | tuple[int, int] | None) -> tuple[int, int]:
        if where is None:  # the file as a whole
            return 1, 1
        line, offset = where if isinstance(where, tuple) else (where.lineno, where.col_offset)
        text = self.lines[line - 1] if 0 < line <= len(self.lines) else ""
        if not text.isascii():
            offset = len(text.encode()[:offset].decode("utf-8", "replace"))
        return line, offset + 1


@contextmanager
def _python_warnings(report: _Report) -> Iterator[None]:
    """CPython's own warnings while parsing or compiling the policy (an
    invalid escape, `x is 1`) become the verifier's, with their line,
    instead of going to stderr or, under -W error, raising."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            yield
        finally:  # those before a syntax error count too
            for warning in caught:
                report.add_at(warning.lineno or 1, 1, f"{warning.message}.", "Python warns about this line; fix it.",
                              "warning")


# --------------------------------------------------------------------------
# Pass 1: parse
# --------------------------------------------------------------------------


def _parse(source: str, report: _Report) -> ast.Module | None:
    try:
        with _python_warnings(report):
            tree = ast.parse(source, report.filename)
    except SyntaxError as err:
        report.add_at(err.lineno or 1, err.offset or 1, f"{err.msg}.", "The policy must be valid Python first.", "error")
        return None
    except (ValueError, RecursionError, MemoryError) as err:
        report.error(None, f"cannot parse the policy ({type(err).__name__}: {err}).",
                     "Split long expressions into statements with local variables.")
        return None
    too_deep = _too_deeply_nested(tree)
    if too_deep is not None:
        report.error(too_deep, f"the code nests more than {_MAX_NESTING} levels deep here.",
                     "Split the expression into statements with local variables.")
        return None
    return tree


def _too_deeply_nested(tree: ast.Module) -> ast.AST | None:
    """The nearest positioned node above the first one found deeper than
    _MAX_NESTING, or None. Iterative: this pass must not recurse."""
    stack: list[tuple[ast.AST, int, ast.AST]] = [(tree, 0, tree)]
    while stack:
        node, depth, positioned = stack.pop()
        if depth > _MAX_NESTING:
            return positioned
        for child in ast.iter_child_nodes(node):
            stack.append((child, depth + 1, child if hasattr(child, "lineno") else positioned))
    return None


# --------------------------------------------------------------------------
# What the passes know of the policy
# --------------------------------------------------------------------------

# How a local gets its values, for the bounds of pass 5: ("value", expr) is
# an assignment, ("element", iterable) a loop variable, ("index", call) the
# counter of `for i, x in enumerate(...)`, and ("unknown", None) anything
# else (an augmented assignment, unpacking an opaque value).
_Binding = tuple[str, ast.AST | None]
_UNKNOWN: _Binding = ("unknown", None)


@dataclass
class _CallSite:
    callee: str
    node: ast.Call
    arguments: dict[str, ast.expr]  # parameter -> the expression passed
    statement: ast.stmt | None = None  # the statement it is part of (a for's or an if's header: the for, the if)


@dataclass
class _Function:
    """A top-level def and what the passes learn of it."""

    node: ast.FunctionDef
    params: tuple[str, ...]
    defaults: dict[str, object]
    is_hook: bool
    assigned: set[str] = field(default_factory=set)  # its locals other than the parameters
    stored: set[str] = field(default_factory=set)  # every name it binds, parameters it rebinds included
    bindings: dict[str, list[_Binding]] = field(default_factory=dict)
    loops: list[ast.For] = field(default_factory=list)
    calls: list[_CallSite] = field(default_factory=list)  # calls of the policy's own functions
    # what may carry a reference to a list or dict, for the containers that grow (pass 5)
    flows: list[tuple[str, ast.expr]] = field(default_factory=list)  # name = expr, an unpacking's too
    item_stores: list[tuple[str, ast.Subscript, ast.expr]] = field(default_factory=list)  # name[key] = expr
    returns: list[ast.expr] = field(default_factory=list)
    attributes: list[ast.Attribute] = field(default_factory=list)  # name.attr read, for pass 6's plain reads
    clean: bool = True  # pass 3 found nothing wrong in it, so pass 5 may cost it
    loop_bounds: dict[ast.For, int | None] = field(default_factory=dict)
    contexts: frozenset[str] = frozenset()  # the parameters that hold the context throughout (pass 5)

    @property
    def name(self) -> str:
        return self.node.name


@dataclass
class _Module:
    constants: dict[str, object] = field(default_factory=dict)  # the policy's own, evaluated
    maps: dict[str, MapDecl] = field(default_factory=dict)
    functions: dict[str, _Function] = field(default_factory=dict)
    definitions: dict[str, tuple[str, int]] = field(default_factory=dict)  # module-level name -> (kind, line)
    known: dict[str, object] = field(default_factory=dict)  # the constants a constant expression may name
    interface_version: tuple[int, int] | None = None
    too_many_functions: bool = False  # more than surface.MAX_FUNCTIONS: passes 3-6 do not run
    growing: dict[str, set[str]] = field(default_factory=dict)  # function -> its locals a growing container may be


def _is_docstring(stmt: ast.stmt) -> bool:
    return isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Constant) and isinstance(stmt.value.value, str)


def _is_call_to(node: ast.AST, name: str) -> bool:
    return isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == name


def _argument(call: ast.Call, index: int, keyword: str) -> ast.expr | None:
    """A call's argument, by position or by keyword."""
    if len(call.args) > index:
        return call.args[index]
    return next((kw.value for kw in call.keywords if kw.arg == keyword), None)


def _plural(n: int, noun: str) -> str:
    return f"{n:,} {noun}" + ("" if n == 1 else "s")


# --------------------------------------------------------------------------
# The policy language: names, attributes and constructs it refuses
# --------------------------------------------------------------------------

# Names the policy's namespace provides; none may be rebound.
_PROVIDED_NAMES: dict[str, str] = {
    **{name: "builtin" for name in surface.SAFE_BUILTINS},
    **{name: "interface constant" for name in surface.CONSTANTS if name != "INTERFACE_VERSION"},
    **{name: "interface type" for name in surface.TYPES},
    **{name: "map kind" for name in surface.MAP_KINDS},
    **{name: "name RestrictedPython reserves" for name in FORBIDDEN_FUNC_NAMES},
}

_ITERATES_IN_C = ("It iterates in C over a value of unbounded size, where the loop counter cannot see it: "
                  "write a for loop over a bounded range, and build lists and dicts as literals.")
_REACHES_OUT = ("It reaches past the policy's values into Python's objects, modules or files; "
                "a policy works only with ctx, its arguments, its locals and its maps.")
_UNAVAILABLE_HINTS: dict[str, str] = {
    **dict.fromkeys(("sorted", "zip", "sum", "map", "filter", "any", "all", "list", "dict", "tuple", "iter", "next",
                     "reversed", "bytes", "bytearray", "aiter", "anext"), _ITERATES_IN_C),
    **dict.fromkeys(("set", "frozenset"), _SET_HINT),
    **dict.fromkeys(("getattr", "setattr", "delattr", "hasattr", "type", "vars", "dir", "globals", "locals", "eval",
                     "exec", "compile", "open", "input", "id", "isinstance", "issubclass", "callable", "super",
                     "object", "memoryview", "classmethod", "staticmethod", "property", "help", "exit", "quit",
                     "breakpoint", "builtins"), _REACHES_OUT),
    **dict.fromkeys(("print", "printed"), "Use ctx.trace(message), the policy's bpf_printk."),
    **dict.fromkeys(("format", "repr", "ascii"), _FORMAT_HINT),
}

# Attributes that walk out of the sandbox get a hint saying so.
_FRAME_PREFIXES = ("f_", "gi_", "cr_", "ag_", "co_", "tb_")
_ATTRIBUTE_HINTS: dict[str, str] = {
    **dict.fromkeys(("format", "format_map"), "str.format walks the attributes of its arguments ('{0.__class__}'), "
                    "a known escape. " + _FORMAT_HINT),
    "obj": "AttributeError.obj hands out the object an attribute was looked up on, a known escape; "
           "a policy never sees an exception.",
    **dict.fromkeys(("append", "extend", "insert", "pop", "remove", "clear", "sort", "reverse", "copy", "keys",
                     "values", "items", "get", "setdefault"),
                    "Lists and dicts have no methods in a policy: write xs = xs + [x], or preallocate xs = [0] * N "
                    "and assign xs[i] = x; keep what outlives a call in maps (lookup, update, delete)."),
}

_REJECTED: dict[type, tuple[str, str]] = {
    ast.Import: ("import is not allowed.", "The interface's constants and types are already in scope and the helpers "
                 "are methods of ctx: nothing needs importing."),
    ast.While: ("while loops are not allowed.", "Every loop needs a bound the verifier can see. " + _LOOP_HINT),
    ast.Try: ("try statements are not allowed.", _NO_EXCEPTIONS),
    ast.TryStar: ("try/except* is not allowed.", _NO_EXCEPTIONS),
    ast.With: ("with statements are not allowed.", "A policy holds no resources to manage; call the helpers directly."),
    ast.ClassDef: ("class definitions are not allowed.", "Keep state in maps and logic in top-level functions."),
    ast.Lambda: ("lambda is not allowed.", "Define a top-level function and call it."),
    ast.AsyncFunctionDef: ("async functions are not allowed.", _SYNCHRONOUS),
    ast.AsyncFor: ("async for is not allowed.", _SYNCHRONOUS),
    ast.AsyncWith: ("async with is not allowed.", _SYNCHRONOUS),
    ast.Await: ("await is not allowed.", _SYNCHRONOUS),
    ast.Yield: ("yield is not allowed: a policy has no generators.", "Return a value (a list, a tuple, an array)."),
    ast.YieldFrom: ("yield from is not allowed: a policy has no generators.", "Return a value (a list, a tuple, an array)."),
    ast.GeneratorExp: ("generator expressions are not allowed.", _LOOP_HINT),
    ast.ListComp: ("list comprehensions are not allowed.", _LOOP_HINT),
    ast.SetComp: ("set comprehensions are not allowed.", _LOOP_HINT),
    ast.DictComp: ("dict comprehensions are not allowed.", _LOOP_HINT),
    ast.Global: ("global is not allowed.", _STATE_HINT),
    ast.Nonlocal: ("nonlocal is not allowed.", _STATE_HINT),
    ast.Delete: ("del is not allowed.", "Drop a map entry with NAME.delete(key); a local needs no deleting."),
    ast.Raise: ("raise is not allowed.", "Return early instead; state what must hold with assert."),
    ast.NamedExpr: ("the walrus operator := is not allowed.", "Assign the value on a line of its own."),
    ast.Match: ("match statements are not allowed.", "Write if/elif/else."),
    ast.Starred: ("starred expressions (*x) are not allowed.", "Pass and unpack values one by one."),
    ast.JoinedStr: ("f-strings are not allowed.", _FORMAT_HINT),
    ast.AnnAssign: ("annotated assignments are not allowed.", "Write name = value."),
}
_REJECTED[ast.ImportFrom] = _REJECTED[ast.Import]


def _rejection(node: ast.AST) -> tuple[str, str]:
    return _REJECTED.get(type(node), (f"{type(node).__name__} is not part of the policy language.",
                                      "Write it with assignments, if, for over a bounded range, calls and return."))


def _naming_problem(name: str) -> tuple[str, str] | None:
    """Why a name the policy defines (anywhere) cannot be used, if it cannot."""
    if name.startswith("_"):
        return (f"'{name}' begins with an underscore.", "Names beginning with _ belong to the sandbox "
                "(its guards are _getattr_, _getitem_ and the like); choose another name.")
    what = _PROVIDED_NAMES.get(name)
    if what:
        return f"'{name}' would shadow the {what} '{name}'.", "Choose another name."
    return None


def _unavailable_hint(name: str) -> str:
    if name in _UNAVAILABLE_HINTS:
        return _UNAVAILABLE_HINTS[name]
    value = getattr(builtins, name, None)
    if isinstance(value, type) and issubclass(value, BaseException):
        return "A policy neither raises nor catches exceptions; an unexpected one ejects it."
    return f"The builtins a policy may call are {', '.join(surface.SAFE_BUILTINS)}."


def _attribute_hint(attr: str) -> str:
    if attr in _ATTRIBUTE_HINTS:
        return _ATTRIBUTE_HINTS[attr]
    if attr.startswith(_FRAME_PREFIXES):
        return ("It reaches a frame, a code object or a generator's internals, the classic escape from "
                "RestrictedPython; a policy never needs it.")
    close = difflib.get_close_matches(attr, surface.ALLOWED_ATTRIBUTES, n=1)
    known = ("A policy reads only the documented attributes of ctx, the request, the refault batch, maps and answers "
             "(reclaim_ext/sandbox/surface.py).")
    return f"Did you mean '{close[0]}'? {known}" if close else known


def _is_string_formatting(node: ast.BinOp) -> bool:
    return isinstance(node.op, ast.Mod) and isinstance(node.left, ast.Constant) and isinstance(node.left.value, str)


# --------------------------------------------------------------------------
# Pass 2: the module level
# --------------------------------------------------------------------------

_CONSTANT_HINT = ("Module-level names are constants built from literals, the interface's constants and constants "
                  "defined above them; state that changes lives in maps.")
_BINARY_OPERATORS = {
    ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul, ast.Div: operator.truediv,
    ast.FloorDiv: operator.floordiv, ast.Mod: operator.mod, ast.Pow: operator.pow, ast.LShift: operator.lshift,
    ast.RShift: operator.rshift, ast.BitOr: operator.or_, ast.BitXor: operator.xor, ast.BitAnd: operator.and_,
}
_UNARY_OPERATORS = {ast.USub: operator.neg, ast.UAdd: operator.pos, ast.Invert: operator.invert, ast.Not: operator.not_}


class _NotConstant(Exception):
    """A value the verifier cannot evaluate as a constant, and why."""

    def __init__(self, node: ast.AST, message: str, hint: str = _CONSTANT_HINT) -> None:
        super().__init__(message)
        self.node, self.message, self.hint = node, message, hint


def _evaluate_constant(node: ast.AST, known: dict[str, object]) -> object:
    """The value of a constant expression, computed without running the
    policy: literals, tuples, names in `known`, and arithmetic on numbers
    whose ints stay within the sandbox's limit."""
    if isinstance(node, ast.Constant):
        if type(node.value) not in _LITERAL_TYPES:
            raise _NotConstant(node, f"{type(node.value).__name__} literals are not allowed.", "Use int, float, str, bool or None.")
        return _within_int_limit(node, node.value)
    if isinstance(node, ast.Name):
        if node.id in known:
            return known[node.id]
        raise _NotConstant(node, f"'{node.id}' is not a constant defined above.")
    if isinstance(node, ast.Tuple):
        values = tuple(_evaluate_constant(element, known) for element in node.elts)
        for element, value in zip(node.elts, values):
            if isinstance(value, tuple):  # (1, (2, 3)), or (1, PAIR) with PAIR a tuple
                raise _NotConstant(element, _FLAT_MESSAGE, _FLAT_HINT)
        return values
    if isinstance(node, ast.UnaryOp) and type(node.op) in _UNARY_OPERATORS:
        operand = _evaluate_constant(node.operand, known)
        _require_numbers(node, operand)
        return _apply(node, _UNARY_OPERATORS[type(node.op)], operand)
    if isinstance(node, ast.BinOp) and type(node.op) in _BINARY_OPERATORS:
        if _is_string_formatting(node):
            raise _NotConstant(node, _FORMATTING_MESSAGE, _FORMAT_HINT)
        left, right = _evaluate_constant(node.left, known), _evaluate_constant(node.right, known)
        if isinstance(node.op, ast.Add) and type(left) is str and type(right) is str:
            if len(left) + len(right) > _MAX_CONSTANT_STRING:
                raise _NotConstant(node, f"this string is longer than {_MAX_CONSTANT_STRING} characters.", "Shorten it.")
            return left + right
        _require_numbers(node, left, right)
        _refuse_huge_results(node, left, right)
        return _apply(node, _BINARY_OPERATORS[type(node.op)], left, right)
    raise _NotConstant(node, "this is not a constant expression.")


def _require_numbers(node: ast.AST, *values: object) -> None:
    if not all(type(v) in (int, float, bool) for v in values):
        raise _NotConstant(node, "arithmetic in a constant works on numbers only.",
                           "Strings may be joined with +; tuples are written out as literals.")


def _refuse_huge_results(node: ast.BinOp, left: object, right: object) -> None:
    """** and << can make ints of any size: refuse them before computing
    one that cannot fit (the others stay within a few bits of their
    operands)."""
    if not (isinstance(left, int) and isinstance(right, int)):
        return
    if isinstance(node.op, ast.Pow) and right > 0 and abs(left) > 1 and (abs(left).bit_length() - 1) * right >= 64:
        raise _NotConstant(node, "this integer does not fit in 64 bits.", _INT_HINT)
    if isinstance(node.op, ast.LShift) and left != 0 and right >= 64:
        raise _NotConstant(node, "this integer does not fit in 64 bits.", _INT_HINT)


def _apply(node: ast.AST, function, *operands: object) -> object:
    try:
        value = function(*operands)
    except (ArithmeticError, ValueError, TypeError) as err:
        raise _NotConstant(node, f"cannot evaluate this constant: {err}.", "Constants are evaluated when the policy is "
                           "verified; fix the expression.") from None
    return _within_int_limit(node, value)


def _within_int_limit(node: ast.AST, value: object) -> object:
    if type(value) is int and not -_INT_LIMIT < value < _INT_LIMIT:
        raise _NotConstant(node, "this integer does not fit in 64 bits.", _INT_HINT)
    return value


def _read_module(tree: ast.Module, report: _Report) -> _Module:
    module = _Module()
    known = module.known
    known.update((name, value) for name, value in surface.CONSTANTS.items() if name != "INTERFACE_VERSION")
    body = tree.body[1:] if tree.body and _is_docstring(tree.body[0]) else tree.body
    defs = [stmt for stmt in body if isinstance(stmt, ast.FunctionDef)]
    if len(defs) > surface.MAX_FUNCTIONS:
        module.too_many_functions = True
        report.error(defs[surface.MAX_FUNCTIONS], f"the policy defines {len(defs):,} functions, more than the "
                     f"{surface.MAX_FUNCTIONS} a policy may have (BPF's BPF_MAX_SUBPROGS); this is the "
                     f"{surface.MAX_FUNCTIONS + 1}th.", "Merge small helpers into their callers.")
    for stmt in body:
        if isinstance(stmt, ast.FunctionDef):
            _read_def(stmt, module, known, report)
        elif isinstance(stmt, ast.Assign) and len(stmt.targets) == 1 and isinstance(stmt.targets[0], ast.Name):
            _read_assignment(stmt, module, known, report)
        else:
            report.error(stmt, *_module_statement_problem(stmt))
    _check_module_complete(module, report)
    return module


def _module_statement_problem(stmt: ast.stmt) -> tuple[str, str]:
    if type(stmt) in _REJECTED:
        return _REJECTED[type(stmt)]
    if isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Call):
        return ("module-level code does not run in a policy.",
                "Do set-up work in policy_init, which the core calls once when the policy is attached.")
    if isinstance(stmt, (ast.Assign, ast.AugAssign)):
        return "assign one name per statement at module level.", "Write NAME = value."
    return (f"{type(stmt).__name__} statements are not allowed at module level.",
            "The module level holds the docstring, INTERFACE_VERSION, constants, map declarations and def "
            "statements; put code in policy_init.")


def _declare(module: _Module, node: ast.AST, name: str, kind: str, report: _Report) -> bool:
    """Enter a module-level name; False (with an error) if it cannot be."""
    problem = _naming_problem(name)
    if problem:
        report.error(node, *problem)
        return False
    if name in module.definitions:
        report.error(node, f"'{name}' is defined twice (first at line {module.definitions[name][1]}).",
                     "Give each module-level name one definition.")
        return False
    if name in HOOK_NAMES and kind != "function":
        report.error(node, f"'{name}' is a hook: it must be a def.", f"Write def {name}({', '.join(spec_argnames(name))}):")
        return False
    module.definitions[name] = (kind, node.lineno)
    return True


def _read_assignment(stmt: ast.Assign, module: _Module, known: dict[str, object], report: _Report) -> None:
    target, value = stmt.targets[0], stmt.value
    name = target.id
    is_map = isinstance(value, ast.Call) and isinstance(value.func, ast.Name) and value.func.id in surface.MAP_KINDS
    if not _declare(module, target, name, "map" if is_map else "constant", report):
        return
    if name == "INTERFACE_VERSION":
        module.interface_version = _read_interface_version(value, known, report)
    elif is_map:
        decl = _read_map(name, value, known, report)
        if decl:
            module.maps[name] = decl
    elif isinstance(value, ast.Call):
        report.error(value, "calls at module level are not allowed, except map declarations.",
                     "Declare maps as NAME = HashMap(N); do set-up work in policy_init.")
    else:
        try:
            known[name] = module.constants[name] = _evaluate_constant(value, known)
        except _NotConstant as err:
            report.error(err.node, err.message, err.hint)


def _read_interface_version(value: ast.expr, known: dict[str, object], report: _Report) -> tuple[int, int] | None:
    try:
        version = _evaluate_constant(value, known)
    except _NotConstant as err:
        report.error(err.node, err.message, _VERSION_HINT)
        return None
    if type(version) is int:
        version = (version, 0)
    if not (type(version) is tuple and len(version) == 2 and all(type(part) is int for part in version)):
        report.error(value, f"INTERFACE_VERSION must be (major, minor) or an int major, not {version!r}.", _VERSION_HINT)
        return None
    if not hooks.interface_compatible(version):
        report.error(value, f"interface version {version} cannot run on this simulator, which implements "
                     f"{hooks.INTERFACE_VERSION} (the same major, a minor no newer).", _VERSION_HINT)
    return version


def _read_map(name: str, call: ast.Call, known: dict[str, object], report: _Report) -> MapDecl | None:
    kind = call.func.id
    sizes = list(call.args) + [keyword.value for keyword in call.keywords if keyword.arg == "max_entries"]
    if len(sizes) != 1 or len(call.args) + len(call.keywords) != 1:
        report.error(call, f"{kind} takes one argument, its number of entries.",
                     f"Write {name} = {kind}(N) or {kind}(max_entries=N).")
        return None
    try:
        size = _evaluate_constant(sizes[0], known)
    except _NotConstant as err:
        report.error(err.node, err.message, err.hint)
        return None
    if type(size) is not int or not 1 <= size <= surface.MAX_MAP_ENTRIES:
        report.error(sizes[0], f"a map holds 1 to {surface.MAX_MAP_ENTRIES:,} entries, not {size!r}.",
                     "Give its size as a positive constant int.")
        return None
    return MapDecl(name, kind, size, call.lineno)


def _read_def(node: ast.FunctionDef, module: _Module, known: dict[str, object], report: _Report) -> None:
    if not _declare(module, node, node.name, "function", report):
        return
    for decorator in node.decorator_list:
        report.error(decorator, "decorators are not allowed.",
                     "Hooks are found by their names: a plain def is enough, hookimpl is not needed.")
    params, defaults = _read_parameters(node, known, report)
    is_hook = node.name in HOOK_NAMES
    if is_hook:
        _check_hook_parameters(node, params, report)
    module.functions[node.name] = _Function(node, params, defaults, is_hook)


def _read_parameters(node: ast.FunctionDef, known: dict[str, object], report: _Report) -> tuple[tuple[str, ...], dict[str, object]]:
    """A def's plain parameters and their constant defaults. The other kinds
    of parameters are refused: a hook is called by position, and `/` would
    let a parameter rebind a guard's name unseen (def f(_getattr_, /))."""
    args = node.args
    if args.posonlyargs:
        report.error(args.posonlyargs[0], "positional-only parameters (/) are not allowed.", _PLAIN_PARAMETERS)
    if args.vararg:
        report.error(args.vararg, "*args is not allowed.", _PLAIN_PARAMETERS)
    if args.kwonlyargs:
        report.error(args.kwonlyargs[0], "keyword-only parameters are not allowed.", _PLAIN_PARAMETERS)
    if args.kwarg:
        report.error(args.kwarg, "**kwargs is not allowed.", _PLAIN_PARAMETERS)
    every_arg = [*args.posonlyargs, *args.args, *args.kwonlyargs, *filter(None, (args.vararg, args.kwarg))]
    for annotation in [arg.annotation for arg in every_arg] + [node.returns]:
        if annotation is not None:
            report.error(annotation, "annotations are not allowed.",
                         "Leave them out: annotations run as code when the def does.")
    positional = [*args.posonlyargs, *args.args]
    params = tuple(arg.arg for arg in positional)
    defaults: dict[str, object] = {}
    for arg, default in zip(positional[len(positional) - len(args.defaults):], args.defaults):
        try:
            defaults[arg.arg] = _evaluate_constant(default, known)
        except _NotConstant as err:
            report.error(err.node, f"a default value must be a constant: {err.message}", err.hint)
    return params, defaults


def _check_hook_parameters(node: ast.FunctionDef, params: tuple[str, ...], report: _Report) -> None:
    """pluggy's rule: a hook takes the spec's parameters or fewer, by name
    and in the spec's order."""
    spec = spec_argnames(node.name)
    unknown = [p for p in params if p not in spec]
    if unknown:
        report.error(node, f"hook {node.name} has no parameter '{unknown[0]}'.",
                     f"Its parameters are ({', '.join(spec)}); a hook may take fewer, in that order.")
        return
    remaining = iter(spec)
    if not all(p in remaining for p in params):  # a subsequence of the spec
        report.error(node, f"hook {node.name} takes its parameters in the order ({', '.join(spec)}).",
                     "Take them in that order; a hook may leave out the ones it does not use.")


def _check_module_complete(module: _Module, report: _Report) -> None:
    if "INTERFACE_VERSION" not in module.definitions:
        report.error(None, "the policy does not state its interface version.", _VERSION_HINT)
    for hook in hooks.REQUIRED_HOOKS:
        if hook not in module.functions:
            report.error(None, f"the required hook {hook} is not defined.",
                         f"Define def {hook}({', '.join(spec_argnames(hook))}):")
    total = 0
    for decl in module.maps.values():
        total += decl.max_entries
        if total > surface.MAX_TOTAL_MAP_ENTRIES:
            report.error((decl.line, 0), f"the maps declare {total:,} entries up to here, more than the "
                         f"{surface.MAX_TOTAL_MAP_ENTRIES:,} a policy may have in all.", "Make the maps smaller.")
            return


# --------------------------------------------------------------------------
# Pass 3: the allowlist and the names, function by function
# --------------------------------------------------------------------------

# Expressions that are allowed as they are: pass 3 only looks inside them.
_PLAIN_EXPRESSIONS = frozenset((ast.BoolOp, ast.UnaryOp, ast.Compare, ast.IfExp, ast.Subscript, ast.Slice))
# The containers a policy can write out (a set is refused), and those a
# dict may hold as values: flat lists and tuples, no dict.
_DISPLAYS = (ast.List, ast.Tuple, ast.Dict)
_NOT_DICT_VALUES = (ast.Dict,)


def _is_unpacked_display(targets: list[ast.expr], value: ast.expr) -> bool:
    """Whether an assignment unpacks its value, a display, as it builds it,
    item by item into names: `a, b = b, a`, `lo, hi = [], []`. No name ever
    holds such a display, so it need not be flat."""
    sequences = (ast.Tuple, ast.List)
    return (isinstance(value, sequences) and not any(isinstance(e, ast.Starred) for e in value.elts)
            and all(isinstance(target, sequences) and len(target.elts) == len(value.elts)
                    and all(isinstance(e, ast.Name) for e in target.elts) for target in targets))


def _constant_key(node: ast.expr, known: dict[str, object]) -> bool:
    """A dict key the verifier knows: a str or int literal (-1 too), or the
    name of a constant holding one."""
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
        node = node.operand
        return isinstance(node, ast.Constant) and type(node.value) is int
    if isinstance(node, ast.Constant):
        return type(node.value) in (int, str)
    return isinstance(node, ast.Name) and type(known.get(node.id)) in (int, str)


class _FunctionChecker:
    """Pass 3 for one function. Besides reporting, it records what passes 4
    and 5 need: the calls of the policy's functions, the loops, and how each
    local gets its values."""

    def __init__(self, module: _Module, fn: _Function, report: _Report) -> None:
        self.module, self.fn, self.report = module, fn, report
        self.loop_depth = 0
        self.current: ast.stmt | None = None  # the statement whose own expressions are being checked
        self.unpacked: set[int] = set()  # the displays assignments unpack as they build them

    def run(self) -> None:
        errors_before = self.report.error_count
        node = self.fn.node
        self.fn.stored = {n.id for n in ast.walk(node) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store)}
        self.fn.assigned = self.fn.stored - set(self.fn.params)
        for arg in [*node.args.posonlyargs, *node.args.args]:
            self._check_local_name(arg, arg.arg, parameter=True)
        self._statements(node.body[1:] if _is_docstring(node.body[0]) else node.body)
        self.fn.clean = self.report.error_count == errors_before

    # -- statements --------------------------------------------------------
    def _statements(self, statements: list[ast.stmt]) -> None:
        for stmt in statements:
            self._statement(stmt)

    def _statement(self, stmt: ast.stmt) -> None:
        self.current = stmt  # a for's or an if's body comes after its header
        kind = type(stmt)
        if kind is ast.Assign:
            if len(stmt.targets) > 1 and any(isinstance(t, (ast.Tuple, ast.List)) for t in stmt.targets):
                self.report.error(stmt, _CHAINED_UNPACKING_MESSAGE, _CHAINED_UNPACKING_HINT)
            for target in stmt.targets:
                self._target(target)
            if _is_unpacked_display(stmt.targets, stmt.value):
                self.unpacked.add(id(stmt.value))
            self._expr(stmt.value)
            self._bind_assignment(stmt)
        elif kind is ast.AugAssign:
            self._augmented_target(stmt.target)
            self._expr(stmt.value)
        elif kind is ast.For:
            self._for(stmt)
        elif kind is ast.If:
            self._expr(stmt.test)
            self._statements(stmt.body)
            self._statements(stmt.orelse)
        elif kind is ast.Return:
            if stmt.value is not None:
                self._expr(stmt.value)
                self.fn.returns.append(stmt.value)
        elif kind is ast.Break or kind is ast.Continue:
            if self.loop_depth == 0:
                self.report.error(stmt, f"'{kind.__name__.lower()}' outside a loop.", "Use it in a for loop, or return.")
        elif kind is ast.Expr:
            if isinstance(stmt.value, ast.Call) or type(stmt.value) in _REJECTED:  # a call, or yield, await...
                self._expr(stmt.value)
            else:
                self.report.error(stmt, "an expression statement does nothing unless it is a call.",
                                  "Assign the value to a name, or remove the line.")
        elif kind is ast.Assert:
            self._expr(stmt.test)
            if stmt.msg is not None:
                self._expr(stmt.msg)
        elif kind is ast.FunctionDef:
            self.report.error(stmt, "nested functions are not allowed.", "Define it at the top level and call it.")
        elif kind is not ast.Pass:
            self.report.error(stmt, *_rejection(stmt))

    def _for(self, stmt: ast.For) -> None:
        self._target(stmt.target, loop=True)
        self._expr(stmt.iter)
        self.fn.loops.append(stmt)
        self._bind_loop_target(stmt)
        self.loop_depth += 1
        self._statements(stmt.body)
        self.loop_depth -= 1
        self._statements(stmt.orelse)  # the else clause is outside the loop: break there is the outer loop's

    def _target(self, target: ast.expr, loop: bool = False) -> None:
        if isinstance(target, ast.Name):
            self._check_local_name(target, target.id)
        elif isinstance(target, (ast.Tuple, ast.List)):
            for element in target.elts:
                if isinstance(element, ast.Name):
                    self._check_local_name(element, element.id)
                elif isinstance(element, ast.Starred):
                    self.report.error(element, *_rejection(element))
                else:
                    self.report.error(element, "unpack into plain names only.",
                                      "Unpack into names, then assign items on lines of their own.")
        elif isinstance(target, ast.Attribute):
            self.report.error(target, f"attribute '{target.attr}' cannot be assigned: attributes are read-only in a policy.",
                              "Keep values in locals, and in maps what must outlive the call.")
        elif isinstance(target, ast.Subscript) and not loop:
            self._item_target(target)
        elif isinstance(target, ast.Starred):
            self.report.error(target, *_rejection(target))
        else:
            self.report.error(target, "a loop variable must be a name.", "Write for x in ...: and assign x where it is needed.")

    def _item_target(self, target: ast.Subscript) -> None:
        """x[i] = v: only into a list or dict the function built itself.
        What the core hands a policy (its parameters) stays read-only."""
        base = target.value
        name = base.id if isinstance(base, ast.Name) else None
        if name in self.fn.assigned:
            self._expr(target.slice)
        elif name in self.fn.params:
            self.report.error(target, f"'{name}' is a parameter: what the core hands a policy is read-only.",
                              "Copy what you need into a local list ([0] * N) and write to that.")
        elif self.module.definitions.get(name, ("",))[0] == "map":
            self.report.error(target, "map entries are written with update.", f"Write {name}.update(key, value).")
        else:
            self.report.error(target, "only items of a local list or dict can be assigned.",
                              "Build the list or dict in a local and write x[i] = v.")

    def _augmented_target(self, target: ast.expr) -> None:
        if isinstance(target, ast.Name):
            self._check_local_name(target, target.id)
            self._bind(target.id, _UNKNOWN)
        elif isinstance(target, ast.Subscript):
            self.report.error(target, "augmented assignment to an item is not allowed.", "Write x[i] = x[i] + v.")
        else:
            self._target(target)

    def _check_local_name(self, node: ast.AST, name: str, parameter: bool = False) -> None:
        problem = _naming_problem(name)
        if problem:
            self.report.error(node, *problem)
            return
        if name not in self.module.definitions:
            return
        kind, line = self.module.definitions[name]
        if parameter:
            self.report.error(node, f"parameter '{name}' would shadow the module-level {kind} '{name}' (line {line}).",
                              "Choose another name.")
        elif kind == "function":
            self.report.error(node, f"'{name}' is a module-level function; a function cannot assign it.",
                              "Choose another name for the local.")
        else:
            self.report.error(node, f"'{name}' is a module-level {kind}; a function cannot assign it.", _STATE_HINT)

    # -- expressions -------------------------------------------------------
    def _expr(self, node: ast.expr) -> None:
        kind = type(node)
        if kind is ast.Name:
            self._load_name(node, callee=False)
        elif kind is ast.Attribute:
            self._attribute(node)
        elif kind is ast.Call:
            self._call(node)
        elif kind is ast.Constant:
            self._literal(node)
        elif kind is ast.BinOp:
            if _is_string_formatting(node):
                self.report.error(node, _FORMATTING_MESSAGE, _FORMAT_HINT)
            elif isinstance(node.op, ast.MatMult):
                self.report.error(node, "the matrix multiplication operator @ is not allowed.",
                                  "A policy has no use for it, and numpy would multiply in C, out of reach of the "
                                  "loop counter; write the loop.")
            self._expr(node.left)
            self._expr(node.right)
        elif kind is ast.List or kind is ast.Tuple:
            self._display(node, node.elts)
        elif kind is ast.Dict:
            self._dict(node)
        elif kind is ast.Set:
            self.report.error(node, _SET_MESSAGE, _SET_HINT)
            for element in node.elts:
                self._expr(element)
        elif kind in _PLAIN_EXPRESSIONS:
            for child in ast.iter_child_nodes(node):
                if isinstance(child, ast.expr):
                    self._expr(child)
        else:
            self.report.error(node, *_rejection(node))

    def _display(self, node: ast.expr, elements: list[ast.expr], nested: tuple[type, ...] = _DISPLAYS) -> None:
        """The items of a display: no `nested` display among them, unless
        an assignment unpacks the display as it builds it."""
        for element in elements:
            if isinstance(element, nested) and id(node) not in self.unpacked:
                self.report.error(element, _FLAT_MESSAGE, _FLAT_HINT)
            self._expr(element)

    def _dict(self, node: ast.Dict) -> None:
        """Constant keys (a local never bears a constant's name: pass 3
        refuses it), values that are no dict, no ** unpacking."""
        for key in node.keys:
            if key is not None and not _constant_key(key, self.module.known):
                self.report.error(key, _DICT_KEY_MESSAGE, _DICT_KEY_HINT)
        if None in node.keys:
            self.report.error(node, "** unpacking in a dict literal is not allowed.", "Write the keys out one by one.")
        for key in node.keys:
            if key is not None:
                self._expr(key)
        self._display(node, node.values, _NOT_DICT_VALUES)

    def _load_name(self, node: ast.Name, callee: bool) -> None:
        name, fn, report = node.id, self.fn, self.report
        definition = self.module.definitions.get(name)
        if name.startswith("_"):
            report.error(node, *_naming_problem(name))
        elif name in fn.params or name in fn.assigned:
            if callee:
                report.error(node, f"'{name}' is a local value, not a function.", _CALLABLE_HINT)
        elif definition is not None:
            if definition[0] == "function" and not callee:
                report.error(node, f"function '{name}' is used as a value.", f"Functions can only be called: {name}(...).")
            elif definition[0] != "function" and callee:
                report.error(node, f"'{name}' is a module-level {definition[0]}, not a function.", _CALLABLE_HINT)
        elif name in surface.TYPES:
            return
        elif name in surface.CONSTANTS:
            if callee:
                report.error(node, f"'{name}' is an interface constant, not a function.", _CALLABLE_HINT)
        elif name in surface.MAP_KINDS:
            report.error(node, "maps are declared at module level, not inside a function.",
                         f"Declare NAME = {name}(N) at the top of the file.")
        elif name in surface.SAFE_BUILTINS:
            if not callee:
                report.error(node, f"builtin '{name}' is used as a value.", f"Builtins can only be called: {name}(...).")
        elif name in FORBIDDEN_FUNC_NAMES or hasattr(builtins, name):
            report.error(node, f"'{name}' is not available in a policy.", _unavailable_hint(name))
        else:
            report.error(node, f"name '{name}' is not defined.", self._undefined_hint(name))

    def _undefined_hint(self, name: str) -> str:
        visible = [*self.fn.params, *self.fn.assigned, *self.module.definitions, *surface.CONSTANTS, *surface.TYPES,
                   *surface.SAFE_BUILTINS]
        close = difflib.get_close_matches(name, visible, n=1)
        if close:
            return f"Did you mean '{close[0]}'?"
        return ("A name is a parameter, a local, a module-level constant, map or function, an interface constant "
                "or type, or a builtin.")

    def _attribute(self, node: ast.Attribute) -> None:
        attr = node.attr
        # point at the attribute's name, not at the start of the expression
        where = (node.end_lineno, node.end_col_offset - len(attr.encode()))
        if attr.startswith("_"):
            self.report.error(where, f"attribute '{attr}' begins with an underscore.",
                              "Underscore attributes reach Python's internals (__class__, __globals__); "
                              "a policy reads only the interface's documented attributes.")
        elif attr not in surface.ALLOWED_ATTRIBUTES:
            self.report.error(where, f"attribute '{attr}' is not part of the policy interface.", _attribute_hint(attr))
        if isinstance(node.value, ast.Name) and isinstance(node.ctx, ast.Load):
            self.fn.attributes.append(node)
        self._expr(node.value)

    def _call(self, node: ast.Call) -> None:
        func = node.func
        if isinstance(func, ast.Name):
            self._load_name(func, callee=True)
            local = func.id in self.fn.params or func.id in self.fn.assigned
            if func.id in self.module.functions and not local:
                self._record_call(node)
            elif func.id in ("min", "max") and (len(node.args) < 2 or node.keywords):
                self.report.error(node, f"{func.id}() takes two or more values here, and no keywords.",
                                  f"Write {func.id}(a, b, ...): over one sequence it would iterate in C, out of "
                                  "reach of the loop counter.")
            elif func.id == "round":
                self._check_round_digits(node)
        elif isinstance(func, ast.Attribute):
            self._attribute(func)
        else:
            self.report.error(func, "only functions and helpers can be called.", _CALLABLE_HINT)
            self._expr(func)
        for arg in node.args:
            self._expr(arg)
        for keyword in node.keywords:
            if keyword.arg is None:
                self.report.error(keyword, "**kwargs in a call is not allowed.", "Pass keyword arguments one by one: f(n=3).")
            else:
                self._expr(keyword.value)

    def _check_round_digits(self, node: ast.Call) -> None:
        """round(5, -10**8) computes 10**(10**8) in C, where neither the
        loop counter nor the clock can stop it: ndigits must be a small
        constant."""
        ndigits = _argument(node, 1, "ndigits")
        if ndigits is None:
            return
        try:
            value = _evaluate_constant(ndigits, self.module.known)
        except _NotConstant:
            value = None
        if type(value) is not int or not -_MAX_ROUND_DIGITS <= value <= _MAX_ROUND_DIGITS:
            self.report.error(ndigits, f"round()'s ndigits must be a constant from -{_MAX_ROUND_DIGITS} to "
                              f"{_MAX_ROUND_DIGITS}.", "A computed one could make round() work in C for minutes, "
                              "out of reach of the loop counter and the clock.")

    def _record_call(self, node: ast.Call) -> None:
        """A call of one of the policy's functions: check it against the def
        (a TypeError caught now, not at run time) and keep which expression
        each parameter receives, for the bounds of pass 5."""
        callee = self.module.functions[node.func.id]
        if callee.is_hook:
            # The verifier bounds a hook's parameters by what the core passes
            # (batches of MAX_FOLIO_BATCH, the core's own request and context);
            # a call from the policy could pass anything.
            self.report.error(node, f"{callee.name} is a hook: hooks are called by the core.",
                              "Move the shared code into a helper function both call.")
            return
        params = callee.params
        signature = f"It is def {callee.name}({', '.join(params)}) at line {callee.node.lineno}."
        positional = [arg for arg in node.args if not isinstance(arg, ast.Starred)]
        if len(positional) > len(params):
            self.report.error(node, f"{callee.name}() takes {_plural(len(params), 'argument')}, "
                              f"{len(positional)} given.", signature)
        arguments = dict(zip(params, positional))
        for keyword in node.keywords:
            if keyword.arg is None:
                continue
            if keyword.arg not in params:
                self.report.error(keyword, f"{callee.name}() has no parameter '{keyword.arg}'.", signature)
            elif keyword.arg in arguments:
                self.report.error(keyword, f"{callee.name}() is given '{keyword.arg}' twice.", signature)
            else:
                arguments[keyword.arg] = keyword.value
        for param in params:
            if param not in arguments and param not in callee.defaults:
                self.report.error(node, f"{callee.name}() is missing its argument '{param}'.", signature)
        self.fn.calls.append(_CallSite(callee.name, node, arguments, self.current))

    def _literal(self, node: ast.Constant) -> None:
        value = node.value
        if type(value) not in _LITERAL_TYPES:
            self.report.error(node, f"{type(value).__name__} literals are not allowed.", "Use int, float, str, bool and None.")
        elif type(value) is int and not -_INT_LIMIT < value < _INT_LIMIT:
            self.report.error(node, "this integer does not fit in 64 bits.", _INT_HINT)

    # -- bindings, for pass 5 -----------------------------------------------
    def _bind(self, name: str, binding: _Binding) -> None:
        self.fn.bindings.setdefault(name, []).append(binding)

    def _bind_assignment(self, stmt: ast.Assign) -> None:
        value, fn = stmt.value, self.fn
        for target in stmt.targets:
            if isinstance(target, ast.Name):
                self._bind(target.id, ("value", value))
                fn.flows.append((target.id, value))
            elif isinstance(target, (ast.Tuple, ast.List)):
                # a, b = x, y pairs up; unpacking anything else tells nothing
                pairs = isinstance(value, (ast.Tuple, ast.List)) and len(value.elts) == len(target.elts)
                for i, element in enumerate(target.elts):
                    if isinstance(element, ast.Name):
                        self._bind(element.id, ("value", value.elts[i]) if pairs else _UNKNOWN)
                        fn.flows.append((element.id, value.elts[i] if pairs else value))
            elif isinstance(target, ast.Subscript) and isinstance(target.value, ast.Name) and target.value.id in fn.assigned:
                fn.item_stores.append((target.value.id, target, value))

    def _bind_loop_target(self, stmt: ast.For) -> None:
        target, iterable = stmt.target, stmt.iter
        if isinstance(target, ast.Name):
            self._bind(target.id, ("element", iterable))
            return
        names = target.elts if isinstance(target, (ast.Tuple, ast.List)) else []
        if (len(names) == 2 and all(isinstance(n, ast.Name) for n in names) and _is_call_to(iterable, "enumerate")
                and iterable.args):
            self._bind(names[0].id, ("index", iterable))
            self._bind(names[1].id, ("element", iterable.args[0]))
            return
        for element in names:
            if isinstance(element, ast.Name):
                self._bind(element.id, _UNKNOWN)


# --------------------------------------------------------------------------
# Pass 4: the call graph
# --------------------------------------------------------------------------


def _check_call_graph(module: _Module, report: _Report) -> tuple[list[str], set[int]]:
    """Report recursion, calls nested deeper than MAX_CALL_FRAMES and
    functions nothing calls. Returns the functions callers first, and the
    ids of the call nodes that lie on a cycle. Linear in the calls but for
    the paths named in the recursion errors."""
    functions = module.functions
    callees = {name: list(dict.fromkeys(site.callee for site in fn.calls)) for name, fn in functions.items()}
    component = _strongly_connected(callees)
    cyclic_calls: set[int] = set()
    paths_to: dict[str, dict[str, str | None]] = {}  # goal -> the next function on a shortest path to it
    for fn in functions.values():
        for site in fn.calls:
            # a call lies on a cycle exactly when the callee leads back to the
            # caller: both in one strongly connected component
            if component[site.callee] == component[fn.name]:
                cyclic_calls.add(id(site.node))
                if fn.name not in paths_to:
                    paths_to[fn.name] = _shortest_paths_to(callees, component, fn.name)
                cycle = [fn.name, *_follow(paths_to[fn.name], site.callee)]
                report.error(site.node, f"recursion: {' -> '.join(cycle)}.",
                             "A policy's call graph must be acyclic, as BPF's is: turn the recursion into a for loop "
                             "over a bounded range.")
    order = _callers_first(functions, cyclic_calls)
    _check_call_depth(functions, order, cyclic_calls, report)
    _warn_uncalled(module, report)
    return order, cyclic_calls


def _strongly_connected(graph: dict[str, list[str]]) -> dict[str, int]:
    """Each node's strongly connected component (Tarjan's algorithm,
    iterative: a chain of calls must not exhaust Python's stack)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    component: dict[str, int] = {}
    for root in graph:
        if root in index:
            continue
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        work = [(root, iter(graph[root]))]
        while work:
            node, children = work[-1]
            for child in children:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(graph[child])))
                    break
                if child in on_stack:
                    low[node] = min(low[node], index[child])
            else:
                work.pop()
                if work:
                    parent = work[-1][0]
                    low[parent] = min(low[parent], low[node])
                if low[node] == index[node]:
                    while True:
                        member = stack.pop()
                        on_stack.discard(member)
                        component[member] = index[node]
                        if member == node:
                            break
    return component


def _shortest_paths_to(graph: dict[str, list[str]], component: dict[str, int], goal: str) -> dict[str, str | None]:
    """For every function of goal's component, the next one on a shortest
    chain of calls to goal (a breadth-first search backwards from it)."""
    callers: dict[str, list[str]] = {}
    for name, called in graph.items():
        if component[name] == component[goal]:
            for callee in called:
                callers.setdefault(callee, []).append(name)
    next_hop: dict[str, str | None] = {goal: None}
    queue = deque([goal])
    while queue:
        name = queue.popleft()
        for caller in callers.get(name, ()):
            if caller not in next_hop:
                next_hop[caller] = name
                queue.append(caller)
    return next_hop


def _follow(next_hop: dict[str, str | None], start: str) -> list[str]:
    """The chain from start to the goal of next_hop, both included; a
    function calling itself is its own goal: walk -> walk."""
    path = [start]
    hop = next_hop[start]
    while hop is not None:
        path.append(hop)
        hop = next_hop[hop]
    return path


def _check_call_depth(functions: dict[str, _Function], order: list[str], cyclic_calls: set[int],
                      report: _Report) -> None:
    """Calls nest at most MAX_CALL_FRAMES deep along any path of the call
    graph (BPF's MAX_CALL_FRAMES): the longest chain of callers of each
    function, callers first; an error at each call that makes the frame
    after the last."""
    limit = surface.MAX_CALL_FRAMES
    frames = dict.fromkeys(functions, 1)  # the longest chain of calls that reaches the function, itself included
    deepest_caller: dict[str, str] = {}
    for name in order:
        for site in functions[name].calls:
            if id(site.node) in cyclic_calls:
                continue
            if frames[name] == limit:
                chain = [name]
                while chain[-1] in deepest_caller:
                    chain.append(deepest_caller[chain[-1]])
                report.error(site.node, f"calls nest more than {limit} deep here: "
                             f"{' -> '.join([*reversed(chain), site.callee])}.",
                             f"A hook and {limit - 1} nested calls are the most a policy may nest, as BPF's "
                             "MAX_CALL_FRAMES: call the helpers one after another from a shallower function, or "
                             "merge one into its caller.")
            if frames[name] + 1 > frames[site.callee]:
                frames[site.callee] = frames[name] + 1
                deepest_caller[site.callee] = name


def _warn_uncalled(module: _Module, report: _Report) -> None:
    called = {site.callee for fn in module.functions.values() for site in fn.calls}
    for fn in module.functions.values():
        if fn.is_hook or fn.name in called:
            continue
        close = difflib.get_close_matches(fn.name, HOOK_NAMES, n=1)
        hint = f"Did you mean {close[0]}? Hooks are found by their exact names." if close else "Call it from a hook, or remove it."
        report.warning(fn.node, f"function '{fn.name}' is neither a hook nor called.", hint)


def _callers_first(functions: dict[str, _Function], cyclic_calls: set[int]) -> list[str]:
    """A topological order of the call graph without its cyclic calls (what
    remains is acyclic: an edge not on a cycle cannot close one)."""
    callers_left = dict.fromkeys(functions, 0)
    for fn in functions.values():
        for site in fn.calls:
            if id(site.node) not in cyclic_calls:
                callers_left[site.callee] += 1
    ready = [name for name, n in callers_left.items() if n == 0]
    order = []
    while ready:
        name = ready.pop()
        order.append(name)
        for site in functions[name].calls:
            if id(site.node) not in cyclic_calls:
                callers_left[site.callee] -= 1
                if callers_left[site.callee] == 0:
                    ready.append(site.callee)
    return order


# --------------------------------------------------------------------------
# Pass 5: loop bounds and the worst-case cost
# --------------------------------------------------------------------------

# An interval of ints, None for an end that is not bounded.
_Interval = tuple[int | None, int | None]
_ANY_INT: _Interval = (None, None)

# ctx.list_peek(lst, n) answers at most n folios: the bound argument by
# position (surface.BOUNDED_HELPERS) or by its keyword, read off the
# Context protocol's signature (skipping self).
_BOUND_KEYWORDS = {helper: list(inspect.signature(getattr(Context, helper)).parameters)[index + 1]
                   for helper, index in surface.BOUNDED_HELPERS.items()}

# The context's attributes that the machine bounds: the runtime attaches a
# policy only to a machine of at most MAX_LRUVECS lruvecs and MAX_NUMNODES
# nodes. ctx.lruvecs is as long as the first, ctx.nr_nodes within the second.
_CONTEXT_LENGTHS = {"lruvecs": surface.MAX_LRUVECS}
_CONTEXT_INTERVALS: dict[str, _Interval] = {"nr_nodes": (0, surface.MAX_NUMNODES)}


def _hull(intervals: Iterable[_Interval]) -> _Interval:
    """The smallest interval holding all of them (nothing known of none)."""
    intervals = list(intervals)
    los, his = [lo for lo, _ in intervals], [hi for _, hi in intervals]
    return (None if not los or None in los else min(los)), (None if not his or None in his else max(his))


def _longest(lengths: Iterable[int | None]) -> int | None:
    lengths = list(lengths)
    return None if not lengths or None in lengths else max(lengths)


def _fits(value: int | None) -> int | None:
    """A bound beyond the integer limit bounds nothing a policy can hold."""
    return value if value is None or -_INT_LIMIT < value < _INT_LIMIT else None


def _constant_bounds(value: object) -> tuple[_Interval, int | None]:
    """(the interval, the length) of a constant."""
    if isinstance(value, int):
        return (value, value), None
    return _ANY_INT, len(value) if isinstance(value, (tuple, str)) else None


class _Bounds:
    """What pass 5 knows of one function's values: the interval of its
    ints and the length of its sequences, from constants, the bounds of its
    parameters and its assignments. It is flow-insensitive: a local is
    bounded by the hull of every value assigned to it anywhere in the
    function (so n = min(n, 64) after n = request.nr_to_scan bounds
    nothing; write n = min(request.nr_to_scan, 64))."""

    def __init__(self, module: _Module, fn: _Function, parameters: dict[str, tuple[_Interval, int | None]],
                 contexts: frozenset[str] = frozenset()) -> None:
        self.module, self.fn, self.parameters = module, fn, parameters
        self.contexts = contexts  # the parameters that hold the context
        self._intervals: dict[str, _Interval] = {}
        self._lengths: dict[str, int | None] = {}
        # the locals that may hold a container growing in place: no length
        self._growing = module.growing.get(fn.name, set())

    def _is_local(self, name: str) -> bool:
        return name in self.fn.params or name in self.fn.assigned

    def is_context(self, node: ast.expr) -> bool:
        return isinstance(node, ast.Name) and node.id in self.contexts

    def _constant(self, name: str) -> object:
        return self.module.constants.get(name, surface.CONSTANTS.get(name))

    # -- ints ----------------------------------------------------------------
    def interval(self, node: ast.expr) -> _Interval:
        if isinstance(node, ast.Constant):
            return _constant_bounds(node.value)[0]
        if isinstance(node, ast.Name):
            return self._name_interval(node.id)
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
            lo, hi = self.interval(node.operand)
            if isinstance(node.op, ast.UAdd):
                return lo, hi
            return (None if hi is None else -hi), (None if lo is None else -lo)
        if isinstance(node, ast.BinOp):
            lo, hi = self._binop_interval(node)
            return _fits(lo), _fits(hi)
        if isinstance(node, ast.IfExp):
            return _hull([self.interval(node.body), self.interval(node.orelse)])
        if isinstance(node, ast.Attribute) and node.attr in _CONTEXT_INTERVALS and self.is_context(node.value):
            return _CONTEXT_INTERVALS[node.attr]
        if _is_call_to(node, "len") and len(node.args) == 1:
            return 0, self.length(node.args[0])
        if (_is_call_to(node, "min") or _is_call_to(node, "max")) and len(node.args) >= 2 and not node.keywords:
            return self._min_max_interval(node.func.id, [self.interval(arg) for arg in node.args])
        return _ANY_INT

    def _min_max_interval(self, which: str, intervals: list[_Interval]) -> _Interval:
        """min() is bounded above by any argument that is; max() below."""
        los = [lo for lo, _ in intervals]
        his = [hi for _, hi in intervals]
        known_los = [lo for lo in los if lo is not None]
        known_his = [hi for hi in his if hi is not None]
        if which == "min":
            return (None if None in los else min(los)), (min(known_his) if known_his else None)
        return (max(known_los) if known_los else None), (None if None in his else max(his))

    def _binop_interval(self, node: ast.BinOp) -> _Interval:
        (alo, ahi), (blo, bhi) = self.interval(node.left), self.interval(node.right)
        op = node.op
        divisor = blo if blo is not None and blo == bhi and blo > 0 else None  # a positive constant
        if isinstance(op, ast.Add):
            return (None if None in (alo, blo) else alo + blo), (None if None in (ahi, bhi) else ahi + bhi)
        if isinstance(op, ast.Sub):
            return (None if None in (alo, bhi) else alo - bhi), (None if None in (ahi, blo) else ahi - blo)
        if isinstance(op, ast.Mult) and None not in (alo, ahi, blo, bhi):
            corners = (alo * blo, alo * bhi, ahi * blo, ahi * bhi)
            return min(corners), max(corners)
        if isinstance(op, ast.FloorDiv) and divisor:
            return (None if alo is None else alo // divisor), (None if ahi is None else ahi // divisor)
        if isinstance(op, ast.Mod) and divisor:
            return 0, divisor - 1
        if isinstance(op, (ast.RShift, ast.LShift, ast.Pow)) and blo is not None and blo == bhi and 0 <= blo <= 64:
            if isinstance(op, ast.Pow) and (alo is None or alo < 0):
                return _ANY_INT  # x ** c rises with x only where x >= 0
            monotone = {ast.RShift: operator.rshift, ast.LShift: operator.lshift, ast.Pow: operator.pow}[type(op)]
            return (None if alo is None else monotone(alo, blo)), (None if ahi is None else monotone(ahi, blo))
        if isinstance(op, ast.BitAnd):
            # x & m lies in [0, m] for any m >= 0, whatever x is
            masks = [hi for lo, hi in ((alo, ahi), (blo, bhi)) if lo is not None and lo >= 0]
            known = [mask for mask in masks if mask is not None]
            if masks:
                return 0, (min(known) if known else None)
        return _ANY_INT

    def _name_interval(self, name: str) -> _Interval:
        if name in self._intervals:
            return self._intervals[name]
        if not self._is_local(name):
            return _constant_bounds(self._constant(name))[0]
        self._intervals[name] = _ANY_INT  # meanwhile: a local defined through itself is unbounded
        parts = [self.parameters[name][0]] if name in self.parameters else []
        parts += [self._binding_interval(binding) for binding in self.fn.bindings.get(name, ())]
        self._intervals[name] = _hull(parts) if parts else _ANY_INT
        return self._intervals[name]

    def _binding_interval(self, binding: _Binding) -> _Interval:
        kind, node = binding
        if kind == "value":
            return self.interval(node)
        if kind == "element":
            return self._element_interval(node)
        if kind == "index":
            start = _argument(node, 1, "start")
            lo, hi = self.interval(start) if start is not None else (0, 0)
            n = self.length(node.args[0])
            return lo, (None if hi is None or n is None else hi + max(n - 1, 0))
        return _ANY_INT

    def _element_interval(self, iterable: ast.expr) -> _Interval:
        """The ints a for loop's variable takes."""
        if _is_call_to(iterable, "range"):
            parts = _range_parts(iterable)
            if parts is None:
                return _ANY_INT
            start, stop, step = parts
            if step is not None and self._positive_constant(step) is None:
                return _ANY_INT
            lo = 0 if start is None else self.interval(start)[0]
            hi = self.interval(stop)[1]
            return lo, (None if hi is None else hi - 1)
        if isinstance(iterable, (ast.Tuple, ast.List, ast.Set)):
            return _hull(self.interval(element) for element in iterable.elts)
        if isinstance(iterable, ast.Name) and not self._is_local(iterable.id):
            value = self._constant(iterable.id)
            if isinstance(value, tuple) and value and all(isinstance(v, int) for v in value):
                return min(value), max(value)
        return _ANY_INT

    def _positive_constant(self, node: ast.expr) -> int | None:
        lo, hi = self.interval(node)
        return lo if lo is not None and lo == hi and lo > 0 else None

    # -- sequences -----------------------------------------------------------
    def length(self, node: ast.expr) -> int | None:
        """An upper bound on the items of a sequence, None if unknown: this
        is also a for loop's bound."""
        if isinstance(node, ast.Constant):
            return _constant_bounds(node.value)[1]
        if isinstance(node, (ast.Tuple, ast.List, ast.Set)):
            return len(node.elts)
        if isinstance(node, ast.Dict):
            return len(node.keys)
        if isinstance(node, ast.Name):
            return self._name_length(node.id)
        if isinstance(node, ast.Attribute):
            return self._field_length(node)
        if isinstance(node, ast.Subscript) and isinstance(node.slice, ast.Slice):
            return self._slice_length(node)
        if isinstance(node, ast.Call):
            return self._call_length(node)
        if isinstance(node, ast.BinOp):
            return self._binop_length(node)
        if isinstance(node, ast.IfExp):
            return _longest([self.length(node.body), self.length(node.orelse)])
        return None

    def _name_length(self, name: str) -> int | None:
        if name in self._lengths:
            return self._lengths[name]
        if not self._is_local(name):
            return _constant_bounds(self._constant(name))[1]
        if name in self._growing:  # d = {} then d[k] = v; xs[:0] = ys; or an alias of one
            return None
        self._lengths[name] = None  # meanwhile: a list grown from itself is unbounded
        parts = [self.parameters[name][1]] if name in self.parameters else []
        parts += [self.length(node) if kind == "value" else None for kind, node in self.fn.bindings.get(name, ())]
        self._lengths[name] = _longest(parts)
        return self._lengths[name]

    def _field_length(self, node: ast.Attribute) -> int | None:
        """refault.shadow and the other fields of a batch-field parameter are
        arrays of the batch's length. Only the core builds a RefaultBatch and
        the runtime reads these fields from nothing else. ctx.lruvecs holds
        the machine's lruvecs."""
        base = node.value
        if node.attr in _CONTEXT_LENGTHS and self.is_context(base):
            return _CONTEXT_LENGTHS[node.attr]
        if (isinstance(base, ast.Name) and self.fn.is_hook and base.id in self.fn.params
                and base.id in surface.BATCH_FIELD_PARAMETERS and base.id not in self.fn.stored):
            return surface.MAX_FOLIO_BATCH
        return None

    def _slice_length(self, node: ast.Subscript) -> int | None:
        """x[a:b] is no longer than x, nor than b when b >= 0 and the step
        is positive (a negative start only counts from the end)."""
        whole = self.length(node.value)
        part = node.slice
        upto = None
        if part.upper is not None and (part.step is None or self._positive_constant(part.step) is not None):
            lo, hi = self.interval(part.upper)
            if lo is not None and lo >= 0:
                upto = hi
        known = [n for n in (whole, upto) if n is not None]
        return min(known) if known else None

    def _call_length(self, node: ast.Call) -> int | None:
        if _is_call_to(node, "range"):
            return self._range_length(node)
        if _is_call_to(node, "enumerate"):
            return self.length(node.args[0]) if node.args else None
        func = node.func
        if isinstance(func, ast.Attribute) and func.attr in surface.BOUNDED_HELPERS:
            bound = _argument(node, surface.BOUNDED_HELPERS[func.attr], _BOUND_KEYWORDS[func.attr])
            hi = self.interval(bound)[1] if bound is not None else None
            return None if hi is None else max(hi, 0)
        return None

    def _range_length(self, call: ast.Call) -> int | None:
        """range(start, stop, step) runs at most ceil((ub(stop) - lb(start)) /
        step) times, for a positive constant step."""
        parts = _range_parts(call)
        if parts is None:
            return None
        start, stop, step = parts
        hi = self.interval(stop)[1]
        lo = 0 if start is None else self.interval(start)[0]
        stride = 1 if step is None else self._positive_constant(step)
        if hi is None or lo is None or stride is None:
            return None
        return max(0, -(-(hi - lo) // stride))

    def _binop_length(self, node: ast.BinOp) -> int | None:
        if isinstance(node.op, ast.Add):
            left, right = self.length(node.left), self.length(node.right)
            return None if left is None or right is None else left + right
        if isinstance(node.op, ast.Mult):
            for sequence, count in ((node.left, node.right), (node.right, node.left)):
                n, hi = self.length(sequence), self.interval(count)[1]
                if n is not None and hi is not None:
                    return n * max(hi, 1)  # an array times an int keeps its length
        return None


def _range_parts(call: ast.Call) -> tuple[ast.expr | None, ast.expr, ast.expr | None] | None:
    """(start, stop, step) of range(...), None if it is not called plainly."""
    args = call.args
    if call.keywords or not 1 <= len(args) <= 3 or any(isinstance(arg, ast.Starred) for arg in args):
        return None
    if len(args) == 1:
        return None, args[0], None
    return args[0], args[1], args[2] if len(args) == 3 else None


# Attributes of what a policy builds that hand back what it was built from:
# Victims(xs, n).folios is xs.
_HOLDING_ATTRIBUTES = frozenset(surface.VICTIMS_ATTRIBUTES) | frozenset(surface.DECISION_ATTRIBUTES)
# Builtins that return one of their arguments: max(xs, ys) is xs or ys.
_RETURNING_AN_ARGUMENT = ("min", "max")
_Holder = tuple[str, str | None] | int  # (function, local), (function, None) its return value, id() of a dict display


def _find_growing(module: _Module) -> dict[str, set[str]]:
    """The locals that may hold a list or dict that grows in place: their
    length bound is not what they were assigned. A dict grows by d[k] = v,
    a list by a slice assignment xs[a:b] = ys (xs[i] = v replaces an item;
    xs += ys and xs = xs + ys build another list, as the runtime's
    _inplacevar_ does), and either may be reached through another name:
    e = d, an argument and the parameter it binds, a return value, min()
    and max(), a value held in a dict or a Victims. So the names that may
    share an object fall into classes (union-find over every such flow,
    across functions), and a whole class grows if one of its names has a
    slice assigned, or has an item assigned while the class may hold a
    dict display (where a dict bounded by its display comes from). Loop
    variables share nothing: containers are flat, a list's items and a
    dict's keys are never a list or dict. Linear in the policy's size."""
    parent: dict[_Holder, _Holder] = {}

    def find(key: _Holder) -> _Holder:
        parent.setdefault(key, key)
        while parent[key] != key:
            parent[key] = parent[parent[key]]
            key = parent[key]
        return key

    def join(key: _Holder, sources: list[_Holder]) -> None:
        root = find(key)
        for source in sources:
            other = find(source)
            if other != root:
                parent[other] = root

    slices, items = [], []
    for fn in module.functions.values():
        for name, value in fn.flows:
            join((fn.name, name), _holders(value, fn, module))
        for name, target, value in fn.item_stores:
            join((fn.name, name), _holders(value, fn, module))  # the container holds the value
            is_slice = any(isinstance(n, ast.Slice) for n in ast.walk(target.slice))
            (slices if is_slice else items).append((fn.name, name))
        for value in fn.returns:
            join((fn.name, None), _holders(value, fn, module))
        for site in fn.calls:
            for param, argument in site.arguments.items():
                join((site.callee, param), _holders(argument, fn, module))
    dicts = {find(key) for key in list(parent) if isinstance(key, int)}
    grown = {find(key) for key in slices} | ({find(key) for key in items} & dicts)
    growing: dict[str, set[str]] = {}
    for key in list(parent):
        if isinstance(key, tuple) and key[1] is not None and find(key) in grown:
            growing.setdefault(key[0], set()).add(key[1])
    return growing


def _holders(node: ast.expr, fn: _Function, module: _Module) -> list[_Holder]:
    """What a value may share an object with: the locals it reads, the
    return values of the functions it calls, the dict displays it holds."""
    found: list[_Holder] = []
    pending = [node]
    while pending:
        node = pending.pop()
        if isinstance(node, ast.Name):
            if node.id in fn.params or node.id in fn.assigned:
                found.append((fn.name, node.id))
        elif isinstance(node, ast.Dict):
            found.append(id(node))
            pending.extend(value for value in node.values if value is not None)
        elif isinstance(node, (ast.List, ast.Tuple)):
            pending.extend(node.elts)
        elif isinstance(node, ast.IfExp):
            pending += [node.body, node.orelse]
        elif isinstance(node, ast.BoolOp):
            pending.extend(node.values)
        elif isinstance(node, ast.Subscript):
            if not isinstance(node.slice, ast.Slice):  # xs[a:b] is a copy (of an array a view, which never grows)
                pending.append(node.value)  # d["k"] may be what d holds
        elif isinstance(node, ast.Attribute) and node.attr in _HOLDING_ATTRIBUTES:
            pending.append(node.value)
        elif isinstance(node, ast.Starred):
            pending.append(node.value)
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
            name = node.func.id
            if name in fn.params or name in fn.assigned:
                continue
            if name in module.functions:
                found.append((name, None))
            elif name in _RETURNING_AN_ARGUMENT or name in surface.TYPES:
                pending += [*node.args, *(keyword.value for keyword in node.keywords)]
    return found


def _context_parameters(fn: _Function, call_sites: list[set[str]]) -> frozenset[str]:
    """The parameters that hold the context throughout a function: a
    hook's ctx, which the core passes (only the core calls a hook), and a
    helper's parameter to which every call site passes the context; never
    one the function rebinds. A helper nothing calls knows nothing of its
    parameters."""
    if fn.is_hook:
        candidates = {surface.CONTEXT_PARAMETER} & set(fn.params)
    elif call_sites:
        candidates = set(fn.params)
        for passed in call_sites:
            candidates &= passed
    else:
        return frozenset()
    return frozenset(candidates - fn.stored)


def _parameter_bounds(fn: _Function, call_sites: list[dict[str, tuple[_Interval, int | None]]]) -> dict[str, tuple[_Interval, int | None]]:
    """A parameter is bounded by the hull of what its callers pass, and a
    hook's also by what the core passes: batches of MAX_FOLIO_BATCH. A
    helper nothing calls knows nothing of its parameters."""
    bounds = {}
    for param in fn.params:
        seen = []
        for site in call_sites:
            if param in site:
                seen.append(site[param])
            elif param in fn.defaults:
                seen.append(_constant_bounds(fn.defaults[param]))
        if fn.is_hook:
            seen.append((_ANY_INT, surface.MAX_FOLIO_BATCH if param in surface.BATCH_PARAMETERS else None))
        bounds[param] = (_hull(iv for iv, _ in seen), _longest(n for _, n in seen))
    return bounds


@dataclass(frozen=True)
class _Cost:
    total: int
    worst_loop: tuple[int, int] = (0, 0)  # (cost, line) of the costliest loop, here or in a callee


class _Unbounded(Exception):
    """A cost that cannot be computed: an unbounded loop, a callee on a
    cycle or with errors."""


class _CostCounter:
    """Worst-case statements of one function: each statement costs 1, a
    call of a policy function adds the callee's cost, an if its test and
    its costlier branch, a for its bound times (1 + its body)."""

    def __init__(self, fn: _Function, costs: dict[str, _Cost | None]) -> None:
        self.fn, self.costs = fn, costs
        self.callees: dict[int, list[str]] = {}  # statement -> the functions its own expressions call
        for site in fn.calls:
            self.callees.setdefault(id(site.statement), []).append(site.callee)

    def statements(self, statements: list[ast.stmt]) -> _Cost:
        parts = [self.statement(stmt) for stmt in statements]
        return _Cost(sum(p.total for p in parts), max((p.worst_loop for p in parts), default=(0, 0)))

    def statement(self, stmt: ast.stmt) -> _Cost:
        if isinstance(stmt, ast.For):
            bound = self.fn.loop_bounds[stmt]
            if bound is None:
                raise _Unbounded
            header, body, orelse = self.calls(stmt), self.statements(stmt.body), self.statements(stmt.orelse)
            loop = bound * (1 + body.total)
            return _Cost(header.total + loop + orelse.total,
                         max((loop, stmt.lineno), header.worst_loop, body.worst_loop, orelse.worst_loop))
        if isinstance(stmt, ast.If):
            test, body, orelse = self.calls(stmt), self.statements(stmt.body), self.statements(stmt.orelse)
            return _Cost(1 + test.total + max(body.total, orelse.total),
                         max(test.worst_loop, body.worst_loop, orelse.worst_loop))
        calls = self.calls(stmt)
        return _Cost(1 + calls.total, calls.worst_loop)

    def calls(self, stmt: ast.stmt) -> _Cost:
        """What the calls of policy functions in the statement's own
        expressions add (a for's iterable, an if's test)."""
        total, worst = 0, (0, 0)
        for callee in self.callees.get(id(stmt), ()):
            cost = self.costs.get(callee)
            if cost is None:
                raise _Unbounded
            total, worst = total + cost.total, max(worst, cost.worst_loop)
        return _Cost(total, worst)


def _bound_and_cost(module: _Module, order: list[str], cyclic_calls: set[int], report: _Report) -> dict[str, int]:
    """Bound every loop (callers first, so a helper's parameters are
    bounded by its call sites), then cost every function (callees first).
    Returns each hook's worst-case cost, for the hooks it is known of."""
    functions = module.functions
    passed: dict[str, list[dict[str, tuple[_Interval, int | None]]]] = {name: [] for name in functions}
    contexts_passed: dict[str, list[set[str]]] = {name: [] for name in functions}  # the parameters given ctx
    for name in order:
        fn = functions[name]
        fn.contexts = _context_parameters(fn, contexts_passed[name])
        bounds = _Bounds(module, fn, _parameter_bounds(fn, passed[name]), fn.contexts)
        for loop in fn.loops:
            fn.loop_bounds[loop] = bounds.length(loop.iter)
            if fn.loop_bounds[loop] is None:
                report.error(loop, "cannot bound this loop.", _LOOP_BOUND_HINT)
        for site in fn.calls:
            if id(site.node) not in cyclic_calls:
                passed[site.callee].append({param: (bounds.interval(arg), bounds.length(arg))
                                            for param, arg in site.arguments.items()})
                contexts_passed[site.callee].append({param for param, arg in site.arguments.items()
                                                     if bounds.is_context(arg)})
    costs: dict[str, _Cost | None] = {}
    for name in reversed(order):
        fn = functions[name]
        costs[name] = None
        if fn.clean and not any(id(site.node) in cyclic_calls for site in fn.calls):
            try:
                costs[name] = _CostCounter(fn, costs).statements(fn.node.body)
            except _Unbounded:
                pass  # reported where it is: the loop, the recursion, the callee's errors
    hook_costs = {}
    for fn in functions.values():
        cost = costs.get(fn.name)
        if not fn.is_hook or cost is None:
            continue
        hook_costs[fn.name] = cost.total
        if cost.total > COST_LIMIT:
            loop_cost, line = cost.worst_loop
            report.error(fn.node, f"hook {fn.name} may run {cost.total:,} statements in the worst case, more than "
                         f"the limit of {COST_LIMIT:,}.",
                         f"Its costliest loop, at line {line}, may run {loop_cost:,}: bound it tighter (a smaller N "
                         "in range(min(n, N)) or ctx.list_peek(lst, N)) or move work out of nested loops.")
    return hook_costs


# --------------------------------------------------------------------------
# Pass 6: compile with RestrictedPython
# --------------------------------------------------------------------------

# Attribute reads the verifier has proved safe compile to plain attribute
# reads instead of _getattr_(obj, "name") (a call of ~100 ns, the largest
# part of the sandbox's overhead). Pass 3 has checked every attribute
# against the interface's tables; what is proved here is the object, so
# that the runtime guard could only have said yes:
# - ctx.<name>, name in surface.CONTEXT_ATTRIBUTES, ctx a hook's context
#   parameter or a helper's parameter every caller hands the context, never
#   rebound: the runtime passes its SandboxContext, whose attributes of
#   these names are the interface, and only the core calls a hook;
# - request.<name> and refault.<name> in a hook, the parameter never
#   rebound, name in REQUEST_ATTRIBUTES or REFAULT_ATTRIBUTES
#   (surface.OBJECT_PARAMETERS): the runtime passes the core's ScanRequest
#   and RefaultBatch (or None as folio_putback's request, on which a plain
#   read fails as the guard would, an error that ejects the policy);
# - MAP.<method>, MAP a module-level map (a function can never assign the
#   name), method in surface.MAP_ATTRIBUTES: the runtime's map object;
# - PutbackReason.X and ReclaimReason.X, X in surface.ENUM_ATTRIBUTES (the
#   names cannot be rebound): the interface's enums.
# Everything else keeps _getattr_.
_ENUM_TYPES = frozenset(name for name, kind in surface.TYPES.items() if isinstance(kind, enum.EnumMeta))


def _plain_attributes(module: _Module) -> set[int]:
    """The ids of the attribute nodes that compile to plain reads."""
    plain: set[int] = set()
    for fn in module.functions.values():
        objects: dict[str, tuple[str, ...]] = dict.fromkeys(fn.contexts, surface.CONTEXT_ATTRIBUTES)
        if fn.is_hook:
            objects.update((param, attributes) for param, attributes in surface.OBJECT_PARAMETERS.items()
                           if param in fn.params and param not in fn.stored)
        for node in fn.attributes:  # every name.attr read pass 3 saw; any other keeps _getattr_
            name = node.value.id
            if name in fn.params or name in fn.assigned:
                allowed = objects.get(name, ())
            elif name in module.maps:
                allowed = surface.MAP_ATTRIBUTES
            elif name in _ENUM_TYPES and name not in module.definitions:
                allowed = surface.ENUM_ATTRIBUTES
            else:
                allowed = ()
            if node.attr in allowed:
                plain.add(id(node))
    return plain


# Binary operators go through the runtime's guards, which check sizes
# before computing and refuse a list or tuple next to a numpy array (numpy
# would convert it in C, however large its nested lists make it).
# Operators that can build a large value even from a literal have guards of
# their own, always called: a huge int (*, **, <<), a long sequence (*) or
# a formatted string (%).
_ALWAYS_GUARDED = {ast.Mult: "_mul_", ast.Pow: "_pow_", ast.LShift: "_lshift_", ast.Mod: "_mod_"}
# The others stay plain next to a number literal (`i + 1`, `n - 1`, `a >> 3`):
# it keeps numpy from meeting a list, and an int from growing by more than
# the literal. + has its own guard (concatenation); the rest share _binop_,
# which takes the operator's symbol. @ is refused in pass 3.
_ADD_GUARD = "_add_"
_BINOP_GUARD = "_binop_"
_BINOP_SYMBOLS = {ast.Sub: "-", ast.Div: "/", ast.FloorDiv: "//", ast.BitAnd: "&", ast.BitOr: "|", ast.BitXor: "^",
                  ast.RShift: ">>"}
# Comparisons go through _compare_ (numpy compares an array with a list
# after converting it), unless one side is a literal; `is` and `is not`
# compare identities and stay plain; `in` and `not in` are always guarded: a
# literal searched for in a range or an enumerate walks it in C
# (`None in range(10**7)`, `0.5 in range(10**18)`).
_COMPARE_GUARD = "_compare_"
_COMPARE_SYMBOLS = {ast.Eq: "==", ast.NotEq: "!=", ast.Lt: "<", ast.LtE: "<=", ast.Gt: ">", ast.GtE: ">=",
                    ast.In: "in", ast.NotIn: "not in"}
_IDENTITY_OPERATORS = (ast.Is, ast.IsNot)
_MEMBERSHIP_OPERATORS = (ast.In, ast.NotIn)
# Displays holding a computed value are built by guards that refuse to nest
# a container in another (containers in a policy are flat): a literal's
# items are flat by construction.
_DISPLAY_GUARDS = {ast.List: "_list_", ast.Tuple: "_tuple_"}
_DICT_GUARD = "_dict_"
# the temporaries that keep a chained comparison's operands evaluated once:
# locals no policy can name, since its names never begin with an underscore
_CHAIN_TEMPORARY = "_chain{}_"
_RESTRICTED_MESSAGE = re.compile(r"Line (\d+)(?::(\d+))?: (.*)", re.DOTALL)


def _is_number_literal(node: ast.expr) -> bool:
    """An int or float literal, signed or not: 2, -1, 0.5, ~4095."""
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd, ast.Invert)):
        node = node.operand
    return isinstance(node, ast.Constant) and type(node.value) in (int, float)


def _is_literal(node: ast.expr) -> bool:
    """A number, str, bool or None literal."""
    return _is_number_literal(node) or (isinstance(node, ast.Constant) and type(node.value) in _LITERAL_TYPES)


def _guard_call(guard: str, args: list[ast.expr], like: ast.AST) -> ast.Call:
    call = ast.Call(func=ast.Name(guard, ast.Load()), args=args, keywords=[])
    copy_locations(call, like)
    return call


def _symbol(symbol: str, like: ast.AST) -> ast.Constant:
    """The operator's symbol, the first argument of _binop_ and _compare_."""
    constant = ast.Constant(symbol)
    copy_locations(constant, like)
    return constant


class PolicyTransformer(RestrictingNodeTransformer):
    """RestrictedPython's transformer, plus what the runtime needs: the
    back-edge counter at the top of every loop body, and guards on the
    operators and comparisons. The additions are made after the children
    are visited, so RestrictedPython never sees (and refuses) the
    underscore names they introduce. The attribute reads whose ids are in
    plain_attributes (the verifier's proof, _plain_attributes) stay plain;
    _compile makes a subclass holding them."""

    plain_attributes: frozenset[int] = frozenset()

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.chain_temporaries = 0  # the temporaries of chained comparisons made so far
        self.unpacked: set[int] = set()  # the displays assignments unpack as they build them

    def error(self, node: ast.AST, info: str) -> None:
        # RestrictedPython's format, with the column: the verifier reports file:line:col
        self.errors.append(f"Line {getattr(node, 'lineno', None)}:{getattr(node, 'col_offset', 0)}: {info}")

    def visit_Attribute(self, node: ast.Attribute) -> ast.AST:
        if id(node) in self.plain_attributes and isinstance(node.ctx, ast.Load):
            return self.node_contents_visit(node)  # the object's name still goes through visit_Name
        return super().visit_Attribute(node)

    def visit_Assign(self, node: ast.Assign) -> ast.AST | list[ast.AST]:
        if len(node.targets) > 1 and any(isinstance(t, (ast.Tuple, ast.List)) for t in node.targets):
            # refused in pass 3: RestrictedPython would evaluate the value once per target; fail closed
            self.error(node, _CHAINED_UNPACKING_MESSAGE)
        node.targets = [_as_tuple(target) for target in node.targets]
        if _is_unpacked_display(node.targets, node.value):
            self.unpacked.add(id(node.value))
        return super().visit_Assign(node)

    def visit_List(self, node: ast.List) -> ast.AST:
        return self._display(node, super().visit_List)

    def visit_Tuple(self, node: ast.Tuple) -> ast.AST:
        return self._display(node, super().visit_Tuple)

    def _display(self, node: ast.List | ast.Tuple, visit) -> ast.AST:
        """[a, b] becomes _list_(a, b) and (a, b) _tuple_(a, b), unless
        every item is a literal, the display is an unpacking's target, an
        assignment unpacks it as it builds it, or it is an index holding a
        slice (x[i, 1:3]: a slice is no value)."""
        unpacked = id(node) in self.unpacked
        node = visit(node)
        if (not isinstance(node.ctx, ast.Load) or unpacked or all(_is_literal(e) for e in node.elts)
                or any(isinstance(e, ast.Slice) for e in node.elts)):
            return node
        return _guard_call(_DISPLAY_GUARDS[type(node)], node.elts, node)

    def visit_Dict(self, node: ast.Dict) -> ast.AST:
        """{k: v} becomes _dict_((k,), (v,)) unless every value is a
        literal; pass 3 has made sure the keys are constants."""
        node = super().visit_Dict(node)
        if None in node.keys:  # ** unpacking, refused in pass 3; fail closed
            self.error(node, "** unpacking in a dict literal is not allowed.")
            return node
        if all(_is_literal(value) for value in node.values):
            return node
        keys, values = ast.Tuple(list(node.keys), ast.Load()), ast.Tuple(list(node.values), ast.Load())
        copy_locations(keys, node)
        copy_locations(values, node)
        return _guard_call(_DICT_GUARD, [keys, values], node)

    def visit_Set(self, node: ast.Set) -> ast.AST:
        self.error(node, "sets are not available in a policy.")  # refused in pass 3; fail closed
        return super().visit_Set(node)

    def visit_For(self, node: ast.For) -> ast.AST:
        node.target = _as_tuple(node.target)
        node = super().visit_For(node)
        tick = ast.Expr(_guard_call("_tick_", [], node))
        copy_locations(tick, node)  # a loop out of budget is reported at its for line
        node.body.insert(0, tick)
        return node

    def visit_BinOp(self, node: ast.BinOp) -> ast.AST:
        node = super().visit_BinOp(node)
        op = type(node.op)
        if op in _ALWAYS_GUARDED:
            return _guard_call(_ALWAYS_GUARDED[op], [node.left, node.right], node)
        if _is_number_literal(node.left) or _is_number_literal(node.right):
            return node  # `i + 1`, `n - 1`: a plain operator, as fast as Python's
        if op is ast.Add:
            return _guard_call(_ADD_GUARD, [node.left, node.right], node)
        if op in _BINOP_SYMBOLS:
            return _guard_call(_BINOP_GUARD, [_symbol(_BINOP_SYMBOLS[op], node), node.left, node.right], node)
        self.error(node, f"the operator {op.__name__} is not allowed.")  # @, refused before; fail closed
        return node

    def visit_Compare(self, node: ast.Compare) -> ast.AST:
        """`a < b` becomes _compare_("<", a, b). A chain `a < b < c` becomes
        `_compare_("<", a, (t := b)) and _compare_("<", t, c)`: each operand
        is evaluated once, and none after a false comparison, as in Python.
        A name or a literal needs no temporary: it is read twice."""
        node = super().visit_Compare(node)
        operands = [node.left, *node.comparators]
        if not any(_needs_compare_guard(op, a, b) for op, a, b in zip(node.ops, operands, operands[1:])):
            return node
        if len(node.ops) == 1:
            op, left, right = node.ops[0], node.left, node.comparators[0]
            return _comparison(op, left, right, node, _needs_compare_guard(op, left, right))
        comparisons = []
        left = node.left  # how the next comparison reads its left operand
        for i, op in enumerate(node.ops):
            operand, right = operands[i], operands[i + 1]
            guarded = _needs_compare_guard(op, operand, right)  # decided on the operands, not on temporaries
            if i == len(node.ops) - 1 or isinstance(right, ast.Name) or _is_literal(right):
                comparisons.append(_comparison(op, left, right, node, guarded))
                left = copy.deepcopy(right)
                continue
            temporary = self._chain_temporary()
            stored = ast.NamedExpr(ast.Name(temporary, ast.Store()), right)
            copy_locations(stored, right)
            comparisons.append(_comparison(op, left, stored, node, guarded))
            left = ast.Name(temporary, ast.Load())
            copy_locations(left, right)
        chain = ast.BoolOp(ast.And(), comparisons)
        copy_locations(chain, node)
        return chain

    def _chain_temporary(self) -> str:
        self.chain_temporaries += 1
        return _CHAIN_TEMPORARY.format(self.chain_temporaries)


def _needs_compare_guard(op: ast.cmpop, left: ast.expr, right: ast.expr) -> bool:
    if isinstance(op, _MEMBERSHIP_OPERATORS):
        return True
    return not isinstance(op, _IDENTITY_OPERATORS) and not (_is_literal(left) or _is_literal(right))


def _comparison(op: ast.cmpop, left: ast.expr, right: ast.expr, like: ast.AST, guarded: bool) -> ast.expr:
    """One comparison: a call of _compare_, or a plain Compare of one operator."""
    if guarded:
        return _guard_call(_COMPARE_GUARD, [_symbol(_COMPARE_SYMBOLS[type(op)], like), left, right], like)
    comparison = ast.Compare(left, [op], [right])
    copy_locations(comparison, like)
    return comparison


def _as_tuple(target: ast.expr) -> ast.expr:
    """[a, b] = x unpacks like (a, b) = x, but RestrictedPython guards only
    the tuple form."""
    if not isinstance(target, ast.List):
        return target
    as_tuple = ast.Tuple(elts=target.elts, ctx=target.ctx)
    copy_locations(as_tuple, target)
    return as_tuple


def _compile(tree: ast.Module, report: _Report, plain_attributes: set[int] = frozenset()) -> types.CodeType | None:
    # compile_restricted_exec takes a class and makes the instance itself
    policy = type("PolicyTransformer", (PolicyTransformer,), {"plain_attributes": frozenset(plain_attributes)})
    try:
        with _python_warnings(report):
            result = compile_restricted_exec(tree, report.filename, policy=policy)
    except SyntaxError as err:  # CPython's compiler's own limits, e.g. too many nested blocks
        report.add_at(err.lineno or 1, err.offset or 1, f"{err.msg}.", "Move nested blocks into helper functions.", "error")
        return None
    except (RecursionError, MemoryError) as err:
        report.error(None, f"the policy is too large to compile ({type(err).__name__}).", "Split it into smaller functions.")
        return None
    for severity, messages in (("error", result.errors), ("warning", result.warnings)):
        for text in messages:
            match = _RESTRICTED_MESSAGE.match(text)
            line, offset, info = (int(match[1]), int(match[2] or 0), match[3]) if match else (1, 0, text)
            report.add((line, offset), f"RestrictedPython: {info}",
                       "It checks the tree again after the verifier; write this construct plainly.", severity)
    return None if result.errors else result.code


# --------------------------------------------------------------------------
# The API
# --------------------------------------------------------------------------


def verify(source: str, filename: str = "<policy>") -> VerifiedPolicy:
    """Verify a policy's source. Never raises: whatever is wrong with the
    source becomes a diagnostic, and `code` is set only when it loads."""
    started = time.perf_counter_ns()
    report = _Report(filename, source)
    result = VerifiedPolicy(filename, source, ok=False, diagnostics=[])
    try:
        _run_passes(source, report, result)
    except Exception as err:  # fail closed: a verifier bug rejects the policy, it never crashes the caller
        report.error(None, f"the verifier failed on this policy ({type(err).__name__}: {err}).",
                     "This is a bug in the verifier: please report it with the policy.")
    result.diagnostics = sorted(report.diagnostics, key=lambda d: (d.line, d.col))
    result.ok = result.code is not None and not report.error_count
    result.elapsed_ns = time.perf_counter_ns() - started
    return result


def _run_passes(source: str, report: _Report, result: VerifiedPolicy) -> None:
    tree = _parse(source, report)
    if tree is None:
        return
    module = _read_module(tree, report)
    result.interface_version = module.interface_version
    result.hooks = {name: fn.params for name, fn in module.functions.items() if fn.is_hook}
    result.functions = tuple(name for name, fn in module.functions.items() if not fn.is_hook)
    result.maps = dict(module.maps)
    result.constants = dict(module.constants)
    if module.too_many_functions:  # the passes that follow grow with the number of functions
        return
    for fn in module.functions.values():
        _FunctionChecker(module, fn, report).run()
    order, cyclic_calls = _check_call_graph(module, report)
    module.growing = _find_growing(module)
    result.cost = _bound_and_cost(module, order, cyclic_calls, report)
    if report.error_count == 0:
        result.code = _compile(tree, report, _plain_attributes(module))


def verify_file(path: str | Path) -> VerifiedPolicy:
    """Verify a policy file; a file that cannot be read is a diagnostic too."""
    filename = str(path)
    try:
        source = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as err:
        diagnostic = Diagnostic(filename, 1, 1, f"cannot read the policy: {err}.",
                                "Give the path of a readable UTF-8 Python file.", "error")
        return VerifiedPolicy(filename, "", ok=False, diagnostics=[diagnostic])
    return verify(source, filename)


_LABEL_WIDTH = len("verdict:   ")


def format_log(v: VerifiedPolicy) -> str:
    """The verifier's log, in the BPF verifier's spirit: every diagnostic,
    then a summary of what loads (or would). Plain text for a terminal or a
    mail."""
    costs = [f"{hook} {v.cost[hook]:,} / {COST_LIMIT:,} (worst case)" if hook in v.cost
             else f"{hook} not computed (see the errors above)" for hook in v.hooks]
    maps = ", ".join(f"{m.name} ({m.kind}, {m.max_entries} entries)" for m in v.maps.values())
    lines = [str(d) for d in v.diagnostics]
    lines.append(f"{v.filename}: {_plural(len(v.errors), 'error')}, {_plural(len(v.warnings), 'warning')}")
    lines += _summary_field("hooks", [", ".join(v.hooks)])
    lines += _summary_field("maps", [maps])
    lines += _summary_field("cost", costs)
    lines += _summary_field("verdict", ["loads" if v.ok else "rejected"])
    return "\n".join(lines) + "\n"


def _summary_field(label: str, values: list[str]) -> list[str]:
    """`label:` and the first value, the others aligned under it."""
    first, *rest = [value for value in values if value] or ["none"]
    return [f"{label + ':':<{_LABEL_WIDTH}}{first}", *(" " * _LABEL_WIDTH + value for value in rest)]
