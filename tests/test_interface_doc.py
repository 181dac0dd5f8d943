"""The interface document (`reclaim-ext interface`): every hook and helper
in it with its version, a mail's layout in plain text, Markdown for the
docs, the whole version history, the same text every time."""

from __future__ import annotations

import dataclasses
import inspect
import re

import pytest

import hooks
from hooks import hookspec
from hooks.context import Context
from hooks.types import PutbackReason, ReclaimReason, ReclaimStat, RefaultBatch, ScanDecision, ScanRequest, Victims
from reclaim_ext.interface import render_interface
from reclaim_ext.sandbox import surface
from simulator.policy import HOOK_NAMES

VERSION = ".".join(map(str, hooks.INTERFACE_VERSION))

SINCE = re.compile(r"Since: (\d+)(?:\.(\d+))?\.")


@pytest.fixture(scope="module")
def plain() -> str:
    return render_interface()


@pytest.fixture(scope="module")
def markdown() -> str:
    return render_interface(markdown=True)


def entry(text: str, term_start: str) -> str:
    """The entry whose term starts a line with `term_start`: that line and
    the indented ones after it, up to the next line at column 0."""
    lines = text.splitlines()
    start = next(n for n, line in enumerate(lines) if line.startswith(term_start))
    end = next((n for n in range(start + 1, len(lines)) if lines[n][:1].strip()), len(lines))
    return "\n".join(lines[start:end])


def section(text: str, title: str) -> str:
    """A section of the plain text, from its underlined title to the next."""
    start = text.index(f"\n{title}\n{'=' * len(title)}\n")
    following = re.search(r"\n[^\n]+\n=+\n", text[start + 1 :])
    return text[start : start + 1 + following.start()] if following else text[start:]


def since_of(doc: str | None) -> str:
    match = SINCE.search(doc or "")
    return f"{match[1]}.{match[2] or 0}" if match else "1.0"


def context_helpers() -> list[str]:
    return list(surface.CONTEXT_ATTRIBUTES)


def test_every_hook_appears_in_order_with_its_version_and_whether_it_is_required(plain):
    hooks_text = section(plain, "Hooks")
    positions = [hooks_text.index(f"\n{name}(ctx") for name in HOOK_NAMES]
    declared = [name for name in vars(hookspec) if name in HOOK_NAMES]
    assert [name for _, name in sorted(zip(positions, HOOK_NAMES))] == declared
    for name in HOOK_NAMES:
        text = entry(hooks_text, f"{name}(ctx")
        assert f"Since: {since_of(inspect.getdoc(getattr(hookspec, name)))}." in text, name
        assert ("Required." in text) == (name in hooks.REQUIRED_HOOKS), name
        assert ("Optional" in text) == (name not in hooks.REQUIRED_HOOKS), name


def test_every_hook_parameter_appears_with_its_type(plain):
    for name in HOOK_NAMES:
        text = entry(plain, f"{name}(ctx")
        for parameter in list(inspect.signature(getattr(hookspec, name)).parameters)[1:]:
            assert f"\n        {parameter}: " in text, (name, parameter)


def test_every_context_helper_appears_with_its_version(plain):
    helpers_text = section(plain, "Helpers")
    for name in context_helpers():
        text = entry(helpers_text, f"ctx.{name}")
        member = getattr(Context, name, None)
        doc = inspect.getdoc(member) if callable(member) else None
        assert re.search(r"Since: \d+\.\d+\.", text), name
        if doc is not None:
            assert f"Since: {since_of(doc)}." in text, name
    assert "Since: 1.1." in entry(helpers_text, "ctx.walk_mm(")
    assert "Since: 1.0." in entry(helpers_text, "ctx.folio_referenced(")


def test_the_helpers_are_grouped_as_the_context_protocol_groups_them(plain):
    helpers_text = section(plain, "Helpers")
    for group, helper in [("The machine", "ctx.now("), ("Folio facts", "ctx.folio_type("), ("Lists stored by the core", "ctx.list_add(")]:
        assert helpers_text.index(group) < helpers_text.index(helper)
    assert helpers_text.index("The rmap") < helpers_text.index("ctx.walk_mm(") < helpers_text.index("Lists stored by the core")


def test_the_values_that_cross_appear_with_every_field_and_member(plain):
    values_text = section(plain, "The values that cross")
    for record in (ScanRequest, ScanDecision, ReclaimStat, RefaultBatch):
        for field in dataclasses.fields(record):
            assert f"\n{field.name}: " in values_text, (record.__name__, field.name)
    for name in Victims._fields:
        assert f"\n{name}: " in values_text, name
    for enum in (PutbackReason, ReclaimReason):
        for member in enum:
            assert f"\n{member.name} = {member.value}" in values_text, member
    assert "the kernel's reclaim batch" in entry(values_text, "SWAP_CLUSTER_MAX")  # an inline comment
    assert "prepare_scan_control's view" in entry(values_text, "free_pages")  # the comment above


def test_each_flag_says_whether_the_core_or_the_policy_owns_it(plain):
    values_text = section(plain, "The values that cross")
    assert "PG_dirty = 1 << 0 (the core's)" in values_text
    assert "PG_reclaim = 1 << 2 (the core's, the policy may change it)" in values_text
    assert "PG_policy7 = 1 << 15 (the policy's)" in values_text
    assert "REFAULT_ACTIVATE = 1" in values_text and "REFAULT_WORKINGSET = 2" in values_text


def test_the_sandbox_limits_appear(plain):
    sandbox_text = section(plain, "Sandboxed policies")
    for name in ("COST_LIMIT", "MAX_FOLIO_BATCH", "MAX_MAP_ENTRIES", "MAP_KINDS", "ERRNO", "SAFE_BUILTINS"):
        assert f"\n{name}" in sandbox_text, name
    for word in (*surface.SAFE_BUILTINS, *surface.MAP_KINDS, *surface.ERRNO):
        assert f'"{word}"' in sandbox_text, word


def test_the_plain_text_fits_a_mail(plain):
    assert plain.isascii()
    assert "`" not in plain  # no markup
    too_long = [line for line in plain.splitlines() if len(line) > 72]
    assert not too_long
    assert plain.startswith("=" * 39 + f"\nreclaim_ext hook interface, version {VERSION}\n")
    assert "\nfolio_added(ctx, folios: ndarray) -> None\n    Folios became resident" in plain
    assert "\nHelpers\n=======\n" in plain and "\nFolio facts\n-----------\n" in plain


def test_the_markdown_has_headings_and_code_spans(markdown):
    assert markdown.startswith(f"# reclaim_ext hook interface, version {VERSION}\n")
    for heading in ("## Hooks", "## Helpers", "### Folio facts", "### `ScanRequest`", "## Version history"):
        assert f"\n{heading}\n" in markdown, heading
    assert "\n- `folio_added(ctx, folios: ndarray) -> None`\n" in markdown
    assert "`ctx.folio_referenced`" in markdown  # the docstrings' ``code``
    assert "``" not in markdown


def test_the_history_names_every_version_and_ends_at_the_current_one(plain):
    versions = [version for version, _ in hooks.INTERFACE_HISTORY]
    assert versions[-1] == hooks.INTERFACE_VERSION
    assert versions == [(hooks.INTERFACE_VERSION[0], minor) for minor in range(hooks.INTERFACE_VERSION[1] + 1)]
    history_text = section(plain, "Version history")
    for major, minor in versions:
        assert f"\n{major}.{minor}\n    " in history_text


def test_each_later_version_names_what_it_added():
    added = dict(hooks.INTERFACE_HISTORY)
    members = {name: inspect.getdoc(getattr(hookspec, name)) for name in HOOK_NAMES}
    members |= {name: inspect.getdoc(getattr(Context, name)) for name in context_helpers() if callable(getattr(Context, name, None))}
    for name, doc in members.items():
        major, minor = map(int, since_of(doc).split("."))
        if (major, minor) != hooks.INTERFACE_HISTORY[0][0]:
            assert name in added[(major, minor)], name


def test_rendering_is_deterministic(plain, markdown):
    assert render_interface() == plain
    assert render_interface(markdown=True) == markdown
