"""The hook interface written out as a document: what `reclaim-ext interface`
prints.

render_interface() reads the contract between the core and a policy from the
code that defines it, so the document cannot drift from it: the hooks from
the hookspecs of hooks/hookspec.py (docstrings and signatures), the helpers
from the Context protocol of hooks/context.py (grouped by its banner
comments), the values that cross from hooks/types.py (fields, their types
and their comments), the sandbox's limits from reclaim_ext/sandbox/surface.py
and the version history from hooks.INTERFACE_HISTORY.

Plain text is for a mail to linux-mm: ASCII, 72 columns, laid out as the
kernel's Documentation/*.rst reads as text. Markdown is for the docs. Both
are rendered from one list of blocks (headings, paragraphs, entries).
"""

from __future__ import annotations

import ast
import dataclasses
import inspect
import io
import re
import textwrap
import tokenize
from dataclasses import dataclass
from enum import IntEnum
from types import FunctionType, ModuleType

import hooks
from hooks import context as context_module
from hooks import hookspec as hookspec_module
from hooks import types as types_module
from reclaim_ext.sandbox import surface

WIDTH = 72
INDENT = "    "

# A member whose docstring does not say since when has been there from the start.
FIRST_VERSION = hooks.INTERFACE_HISTORY[0][0]

MODEL = (
    "A reclaim policy is a small program that implements the hooks below; the core "
    "(the simulated vmscan) calls them on the kernel's reclaim paths. The policy owns "
    "the ordering of folios: it keeps them on lists that the core stores for it "
    "(cache_ext's eviction lists). Folios are integer ids: a policy never holds an "
    "object of the core, and whatever it learns or changes goes through the helpers "
    "of the context, ctx, which every hook is handed. The core binds each hook once, "
    "when the policy is attached (the kernel's static_call), so no call pays a dispatch."
)

# The limits of reclaim_ext/sandbox/surface.py a sandboxed policy lives within.
SANDBOX_LIMITS = ("COST_LIMIT", "MAX_FOLIO_BATCH", "MAX_MAP_ENTRIES", "MAP_KINDS", "ERRNO", "SAFE_BUILTINS", "BOUNDED_ITERATORS")

# Non-ASCII characters the code's docstrings use, as a mail writes them.
ASCII_SPELLINGS = str.maketrans({"→": "->", "←": "<-", "—": "--", "–": "-", "‘": "'", "’": "'", "“": '"', "”": '"', "…": "...", "≤": "<=", "≥": ">=", "×": "x", "µ": "u"})


def render_interface(markdown: bool = False) -> str:
    """The hook interface as plain text (72 columns, ASCII) or Markdown."""
    blocks = [*header(), *hooks_section(), *helpers_section(), *values_section(), *sandbox_section(), *history_section()]
    return render_markdown(blocks) if markdown else render_plain(blocks)


# --------------------------------------------------------------------------
# The document: headings, paragraphs and entries. Text uses the docstrings'
# markup (``code``, `name`), which each renderer turns into its own.
# --------------------------------------------------------------------------


@dataclass(frozen=True)
class Heading:
    level: int  # 1: the title, 2: a section, 3: a subsection
    text: str


@dataclass(frozen=True)
class Paragraph:
    text: str


@dataclass(frozen=True)
class Signature:
    name: str
    parameters: tuple[str, ...]
    returns: str

    def __str__(self) -> str:
        return f"{self.name}({', '.join(self.parameters)}) -> {self.returns}"


@dataclass(frozen=True)
class Entry:
    """A term (a signature, a field, a constant) and what is said of it;
    `code` says whether the term is code or a label such as "Returns:"."""

    term: str | Signature
    body: tuple[Paragraph | Entry, ...] = ()
    code: bool = True


Block = Heading | Paragraph | Entry


def paragraphs(text: str) -> tuple[Paragraph, ...]:
    return tuple(Paragraph(p) for p in split_paragraphs(text))


def split_paragraphs(text: str) -> list[str]:
    return [p.strip() for p in re.split(r"\n\s*\n", text) if p.strip()]


def one_line(text: str) -> str:
    return " ".join(text.split())


def version_text(version: tuple[int, int]) -> str:
    return f"{version[0]}.{version[1]}"


def type_text(annotation: object) -> str:
    """An annotation as the document writes it: numpy's types bare."""
    return re.sub(r"\b(?:np|numpy)\.", "", str(annotation))


# --------------------------------------------------------------------------
# Reading the source: comments are not in the syntax tree, so they are
# read with tokenize and matched to statements by line.
# --------------------------------------------------------------------------


@dataclass(frozen=True)
class Banner:
    """A comment between two rules of dashes that opens a part of a file."""

    line: int  # of the closing rule: what follows belongs to the banner
    title: str
    text: str


@dataclass(frozen=True)
class Assignment:
    """`name[: annotation] = value` at module or class level, with the
    comment lines right above it and the comment at the end of its line."""

    name: str
    annotation: str
    value: str
    comment_above: str
    comment_inline: str
    line: int

    @property
    def comment(self) -> str:
        return " ".join(c for c in (self.comment_above, self.comment_inline) if c)


class Source:
    """A module's syntax tree and its comments by line."""

    def __init__(self, module: ModuleType) -> None:
        text = inspect.getsource(module)
        self.tree = ast.parse(text)
        self.lines = text.splitlines()
        self.comments: dict[int, str] = {}
        self.comment_lines: set[int] = set()  # lines that hold nothing but a comment
        for token in tokenize.generate_tokens(io.StringIO(text).readline):
            if token.type == tokenize.COMMENT:
                line = token.start[0]
                self.comments[line] = token.string.lstrip("#").strip()
                if not token.line[: token.start[1]].strip():
                    self.comment_lines.add(line)
        self.banners = self.find_banners()

    def class_def(self, name: str) -> ast.ClassDef:
        return next(node for node in self.tree.body if isinstance(node, ast.ClassDef) and node.name == name)

    def find_banners(self) -> list[Banner]:
        found: list[Banner] = []
        opened: list[int] = []  # the line of the opening rule, while inside a banner
        for line in sorted(self.comment_lines):
            if not is_rule(self.comments[line]):
                continue
            if opened:
                text = [self.comments[n] for n in range(opened.pop() + 1, line)]
                found.append(Banner(line, text[0], "\n".join(text[1:]).strip()))
            else:
                opened.append(line)
        return found

    def banner(self, title_start: str) -> Banner:
        return next(b for b in self.banners if b.title.startswith(title_start))

    def banner_above(self, line: int) -> Banner:
        return [b for b in self.banners if b.line < line][-1]

    def comment_above(self, node: ast.stmt) -> str:
        line, lines = node.lineno - 1, []
        while line in self.comment_lines and not is_rule(self.comments[line]):
            lines.insert(0, self.comments[line])
            line -= 1
        return one_line(" ".join(lines))

    def comment_inline(self, node: ast.stmt) -> str:
        line = node.end_lineno or node.lineno
        return "" if line in self.comment_lines else self.comments.get(line, "")

    def assignments(self, body: list[ast.stmt]) -> list[Assignment]:
        found = []
        for node in body:
            if isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
                name, annotation, value = node.target.id, ast.unparse(node.annotation), node.value
            elif isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
                name, annotation, value = node.targets[0].id, "", node.value
            else:
                continue
            value_text = "" if value is None else self.default_text(value)
            found.append(Assignment(name, annotation, value_text, self.comment_above(node), self.comment_inline(node), node.lineno))
        return found

    def default_text(self, value: ast.expr) -> str:
        """A value as written, dataclasses.field(default_factory=X) as X()."""
        if isinstance(value, ast.Call) and ast.unparse(value.func) == "field":
            for keyword in value.keywords:
                if keyword.arg == "default_factory":
                    return f"{ast.unparse(keyword.value)}()"
                if keyword.arg == "default":
                    value = keyword.value
        return self.segment(value)

    def segment(self, node: ast.expr) -> str:
        """The source text of an expression, as written (0xFF00, not 65280)."""
        lines = [line.encode() for line in self.lines[node.lineno - 1 : node.end_lineno]]
        lines[-1] = lines[-1][: node.end_col_offset]  # offsets count UTF-8 bytes
        lines[0] = lines[0][node.col_offset :]
        return b"\n".join(lines).decode()


def is_rule(comment: str) -> bool:
    return len(comment) >= 10 and set(comment) == {"-"}


# --------------------------------------------------------------------------
# Docstrings: paragraphs, then ":param x:" and ":return:" fields, then
# "Since: 1.1." and what follows it ("Required.", "Optional; the default ...").
# --------------------------------------------------------------------------

SINCE = re.compile(r"(?:^|\s)Since: (\d+)(?:\.(\d+))?\.\s*(.*)\Z", re.DOTALL)
FIELD = re.compile(r":(?:param (\w+)|return):\s*(.*)", re.DOTALL)


@dataclass(frozen=True)
class Docstring:
    paragraphs: tuple[str, ...]
    params: dict[str, str]
    returns: str
    since: tuple[int, int]
    status: str


def parse_docstring(text: str) -> Docstring:
    since, status = FIRST_VERSION, ""
    if match := SINCE.search(text):
        text, since, status = text[: match.start()], (int(match[1]), int(match[2] or 0)), one_line(match[3])
    body, params, returns = [], {}, ""
    for paragraph in split_paragraphs(text):
        if not paragraph.startswith(":"):
            body.append(paragraph)
            continue
        for field in re.split(r"\n(?=:)", paragraph):
            match = FIELD.fullmatch(field)
            if match is None:
                raise ValueError(f"a docstring field the interface document does not know: {field!r}")
            name, description = match[1], one_line(match[2])
            if name:
                params[name] = description
            else:
                returns = description
    return Docstring(tuple(body), params, returns, since, status)


# --------------------------------------------------------------------------
# The sections
# --------------------------------------------------------------------------


def header() -> list[Block]:
    major = hooks.INTERFACE_VERSION[0]
    *others, last = hooks.REQUIRED_HOOKS
    rules = (
        f"A policy must implement {', '.join(others)} and {last}. Every other hook is "
        "optional: a policy that leaves one out gets the default its description gives "
        "(where none is given, the core acts as on an answer of None). A policy states "
        f"the interface version it was written for; one written for {major}.m runs on "
        f"any {major}.n with n >= m."
    )
    title = f"{hooks.PROJECT_NAME} hook interface, version {version_text(hooks.INTERFACE_VERSION)}"
    return [Heading(1, title), Paragraph(MODEL), Paragraph(rules)]


def hook_functions() -> list[FunctionType]:
    """The hookspecs, in the order hooks/hookspec.py declares them."""
    marker = f"{hooks.PROJECT_NAME}_spec"
    return [fn for fn in vars(hookspec_module).values() if inspect.isfunction(fn) and hasattr(fn, marker)]


def hooks_section() -> list[Block]:
    # The module docstring's first paragraph is about the file; the rest is about the hooks.
    intro = split_paragraphs(inspect.getdoc(hookspec_module) or "")[1:]
    return [Heading(2, "Hooks"), *map(Paragraph, intro), *map(hook_entry, hook_functions())]


def hook_entry(fn: FunctionType) -> Entry:
    doc = parse_docstring(inspect.getdoc(fn) or "")
    signature = inspect.signature(fn)
    parameters = [p for p in signature.parameters.values() if p.name != "ctx"]
    body: list[Paragraph | Entry] = list(map(Paragraph, doc.paragraphs))
    if parameters:
        listed = tuple(Entry(parameter_text(p), paragraphs(doc.params.get(p.name, ""))) for p in parameters)
        body.append(Entry("Parameters:", listed, code=False))
    if doc.returns:
        body.append(Entry("Returns:", paragraphs(doc.returns), code=False))
    body.append(Paragraph(f"Since: {version_text(doc.since)}. {doc.status}".rstrip()))
    return Entry(signature_of(fn.__name__, signature), tuple(body))


def signature_of(name: str, signature: inspect.Signature) -> Signature:
    parameters = tuple(parameter_text(p) for p in signature.parameters.values() if p.name != "self")
    return Signature(name, parameters, type_text(signature.return_annotation))


def parameter_text(parameter: inspect.Parameter) -> str:
    """`name: type = default`; ctx bare, as every hook takes it."""
    text = parameter.name
    if parameter.annotation is not parameter.empty and parameter.name != "ctx":
        text += f": {type_text(parameter.annotation)}"
    if parameter.default is not parameter.empty:
        text += f" = {parameter.default!r}"
    return text


def helpers_section() -> list[Block]:
    source = Source(context_module)
    # The module docstring's first paragraph is about the helpers; the rest about the code.
    intro = split_paragraphs(inspect.getdoc(context_module) or "")[0]
    folio_ids = f"In the signatures, FolioIds stands for {type_text(context_module.FolioIds)}."
    blocks: list[Block] = [Heading(2, "Helpers"), Paragraph(f"{intro}\n{folio_ids}")]
    banner = None
    for node, doc in context_members(source.class_def("Context")):
        if source.banner_above(node.lineno) != banner:
            banner = source.banner_above(node.lineno)
            blocks.append(Heading(3, banner.title))
        blocks.append(helper_entry(node, doc))
    return blocks


def context_members(protocol: ast.ClassDef) -> list[tuple[ast.AnnAssign | ast.FunctionDef, str]]:
    """The Context's attributes and helpers in source order, each with its
    docstring (an attribute's is the string right after it)."""
    members: list[tuple[ast.AnnAssign | ast.FunctionDef, str]] = []
    for node, following in zip(protocol.body, [*protocol.body[1:], None]):
        if isinstance(node, ast.FunctionDef):
            members.append((node, ast.get_docstring(node) or ""))
        elif isinstance(node, ast.AnnAssign):
            is_docstring = isinstance(following, ast.Expr) and isinstance(following.value, ast.Constant)
            members.append((node, inspect.cleandoc(following.value.value) if is_docstring else ""))
    return members


def helper_entry(node: ast.AnnAssign | ast.FunctionDef, doc: str) -> Entry:
    parsed = parse_docstring(doc)
    body = (*map(Paragraph, parsed.paragraphs), Paragraph(f"Since: {version_text(parsed.since)}."))
    if isinstance(node, ast.FunctionDef):
        term: str | Signature = signature_of(f"ctx.{node.name}", inspect.signature(getattr(context_module.Context, node.name)))
    else:
        term = f"ctx.{ast.unparse(node.target)}: {type_text(ast.unparse(node.annotation))}"
    return Entry(term, body)


def values_section() -> list[Block]:
    source = Source(types_module)
    blocks: list[Block] = [Heading(2, "The values that cross"), *paragraphs(inspect.getdoc(types_module) or "")]
    classes = [node for node in source.tree.body if isinstance(node, ast.ClassDef)]
    for node in classes:
        if is_record(getattr(types_module, node.name)):
            blocks += record_blocks(source, node)
    blocks += lru_type_blocks(source) + flag_blocks(source)
    for node in classes:
        if issubclass(getattr(types_module, node.name), IntEnum):
            blocks += enum_blocks(source, node)
    return blocks + refault_blocks(source)


def is_record(cls: type) -> bool:
    return dataclasses.is_dataclass(cls) or (issubclass(cls, tuple) and hasattr(cls, "_fields"))


def record_blocks(source: Source, node: ast.ClassDef) -> list[Block]:
    """A dataclass or NamedTuple: its docstring, its fields, its properties."""
    blocks: list[Block] = [Heading(3, f"``{node.name}``"), *paragraphs(ast.get_docstring(node) or "")]
    for field in source.assignments(node.body):
        default = f" = {field.value}" if field.value else ""
        blocks.append(Entry(f"{field.name}: {type_text(field.annotation)}{default}", paragraphs(field.comment)))
    for prop in node.body:
        if isinstance(prop, ast.FunctionDef) and any(ast.unparse(d) == "property" for d in prop.decorator_list):
            term = f"{prop.name}: {type_text(ast.unparse(prop.returns))} (read-only)"
            blocks.append(Entry(term, paragraphs(ast.get_docstring(prop) or "")))
    return blocks


def constant_entry(constant: Assignment, description: str, note: str = "") -> Entry:
    """`NAME = value (note)`, or the name alone with the value below it when
    that is too long for a line."""
    term = f"{constant.name} = {constant.value}" + (f" ({note})" if note else "")
    if len(term) <= WIDTH:
        return Entry(term, paragraphs(description))
    return Entry(constant.name, (Paragraph(f"``{constant.value}``"), *paragraphs(description)))


def lru_type_blocks(source: Source) -> list[Block]:
    banner = source.banner("LRU types")
    constants = [c for c in source.assignments(source.tree.body) if source.banner_above(c.line) == banner]
    return [Heading(3, banner.title), *(constant_entry(c, c.comment) for c in constants)]


def flag_blocks(source: Source) -> list[Block]:
    """The PG_* bits, each with who owns it, then the masks that say so."""
    banner = source.banner("Folio flags")
    constants = source.assignments(source.tree.body)
    flags = [c for c in constants if c.name.startswith(("PG_", "VM_"))]
    masks = [c for c in constants if c.name in ("POLICY_FLAGS", "POLICY_WRITABLE_FLAGS")]
    return [
        Heading(3, banner.title),
        *paragraphs(banner.text),
        *(constant_entry(c, c.comment, flag_owner(getattr(types_module, c.name))) for c in flags),
        *(constant_entry(c, c.comment) for c in masks),
    ]


def flag_owner(bit: int) -> str:
    if bit & types_module.POLICY_FLAGS:
        return "the policy's"
    if bit & types_module.POLICY_WRITABLE_FLAGS:
        return "the core's, the policy may change it"
    return "the core's"


def enum_blocks(source: Source, node: ast.ClassDef) -> list[Block]:
    members = source.assignments(node.body)
    return [Heading(3, f"``{node.name}``"), *paragraphs(ast.get_docstring(node) or ""), *(constant_entry(m, m.comment) for m in members)]


def refault_blocks(source: Source) -> list[Block]:
    """on_refault's answer: the comment above the first bit introduces them all."""
    bits = [c for c in source.assignments(source.tree.body) if c.name.startswith("REFAULT_")]
    return [Heading(3, "The ``REFAULT_*`` bits"), *paragraphs(bits[0].comment_above), *(constant_entry(b, b.comment_inline) for b in bits)]


def sandbox_section() -> list[Block]:
    source = Source(surface)
    # The module docstring's first paragraph is about the policy; the rest about the code.
    intro = split_paragraphs(inspect.getdoc(surface) or "")[0]
    limits = {a.name: a for a in source.assignments(source.tree.body) if a.name in SANDBOX_LIMITS}
    entries = [constant_entry(limits[name], limits[name].comment) for name in SANDBOX_LIMITS]
    return [Heading(2, "Sandboxed policies"), Paragraph(intro), *entries]


def history_section() -> list[Block]:
    entries = [Entry(version_text(version), paragraphs(f"{added}."), code=False) for version, added in hooks.INTERFACE_HISTORY]
    return [Heading(2, "Version history"), *entries]


# --------------------------------------------------------------------------
# Rendering. Blocks are separated by a blank line, except entries that
# follow an entry with nothing said of it (a list of fields reads as one).
# --------------------------------------------------------------------------


def needs_blank_line(previous: Block | None, block: Block) -> bool:
    if previous is None:
        return False
    return not (isinstance(previous, Entry) and not previous.body and isinstance(block, Entry))


def render_plain(blocks: list[Block]) -> str:
    text = "\n".join(plain_blocks(blocks, "")) + "\n"
    return ascii_only(text)


def plain_blocks(blocks: list[Block] | tuple[Block, ...], indent: str) -> list[str]:
    lines: list[str] = []
    for previous, block in zip([None, *blocks], blocks):
        if needs_blank_line(previous, block):
            lines.append("")
        lines += plain_block(block, indent)
    return lines


def plain_block(block: Block, indent: str) -> list[str]:
    match block:
        case Heading(level=1, text=text):
            rule = "=" * len(plain_markup(text))
            return [rule, plain_markup(text), rule]
        case Heading(level=level, text=text):
            return [plain_markup(text), ("=" if level == 2 else "-") * len(plain_markup(text))]
        case Paragraph(text=text):
            return fill(plain_markup(one_line(text)), indent).splitlines()
        case Entry(term=term, body=body):
            return term_lines(term, indent) + plain_blocks(body, indent + INDENT)
    raise TypeError(block)


def fill(text: str, indent: str) -> str:
    return textwrap.fill(text, WIDTH, initial_indent=indent, subsequent_indent=indent, break_long_words=False, break_on_hyphens=False)


def term_lines(term: str | Signature, indent: str) -> list[str]:
    """A term on its line; a signature too long for one broken after its
    commas, the parameters aligned under the first, as in a C prototype."""
    if len(indent + str(term)) <= WIDTH or not isinstance(term, Signature):
        return [indent + plain_markup(str(term))]
    lines = [f"{indent}{term.name}("]
    align = " " * len(lines[0])
    for n, parameter in enumerate(term.parameters, 1):
        piece = parameter + (", " if n < len(term.parameters) else f") -> {term.returns}")
        if not lines[-1].endswith("(") and len(lines[-1] + piece.rstrip()) > WIDTH:
            lines.append(align)
        lines[-1] += piece
    return [line.rstrip() for line in lines]


def plain_markup(text: str) -> str:
    return re.sub(r"`([^`]+)`", r"\1", text.replace("``", "`"))


def ascii_only(text: str) -> str:
    text = text.translate(ASCII_SPELLINGS)
    unknown = sorted({ch for ch in text if not ch.isascii()})
    if unknown:
        raise ValueError(f"no ASCII spelling for {unknown}: add them to ASCII_SPELLINGS")
    return text


def render_markdown(blocks: list[Block]) -> str:
    return "\n".join(markdown_blocks(blocks)) + "\n"


def markdown_blocks(blocks: list[Block] | tuple[Block, ...]) -> list[str]:
    lines: list[str] = []
    for previous, block in zip([None, *blocks], blocks):
        if needs_blank_line(previous, block):
            lines.append("")
        lines += markdown_block(block)
    return lines


def markdown_block(block: Block) -> list[str]:
    match block:
        case Heading(level=level, text=text):
            return [f"{'#' * level} {markdown_markup(text)}"]
        case Paragraph(text=text):
            return [markdown_markup(one_line(text))]
        case Entry(term=term, body=body, code=code):
            item = f"- `{term}`" if code else f"- {term}"
            nested = [f"  {line}" if line else "" for line in markdown_blocks(body)]
            return [item, *([""] if nested else []), *nested]
    raise TypeError(block)


def markdown_markup(text: str) -> str:
    """Code spans as Markdown writes them; outside them a "*" (the kernel's
    names use it as a glob: LRU_ACTIVE_*) is not emphasis."""
    pieces = re.split(r"(``.+?``|`[^`]+`)", text)
    return "".join(piece.replace("``", "`") if n % 2 else piece.replace("*", r"\*") for n, piece in enumerate(pieces))
