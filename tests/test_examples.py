"""Every example policy loads through the verifier, says in its header what
it does and what it uses, and runs a machine without being ejected; the
rejected examples get exactly the errors recorded here."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from reclaim_ext.api import run
from reclaim_ext.policies import EXAMPLES_DIR, available_policies, describe
from reclaim_ext.sandbox.verifier import verify_file

EXAMPLES = [s for s in available_policies() if s.kind == "example"]
REJECTED_DIR = Path(__file__).resolve().parent.parent / "example_policies" / "rejected"

# anon and mapped file memory beside a file streamed with read(): every
# kind of folio and of access, and memory short enough that reclaim runs
TIGHT = """
[machine]
nodes = [{ memory = "4MiB" }]
swap = { size = "16MiB" }

[[processes]]
name = "worker"
regions = [{ kind = "anon", size = "3MiB", pattern = "zipf:0.9", write_ratio = 0.2 },
           { kind = "file", file = "lib", size = "1MiB", pattern = "uniform" }]

[[processes]]
name = "reader"
regions = [{ kind = "file", file = "data", size = "8MiB", access = "rw", pattern = "sequential" }]

[run]
accesses = 15000
"""


def test_the_literature_is_there():
    names = {s.path.stem for s in EXAMPLES}
    assert {"fifo", "clock", "lru", "mru", "lfu"} <= names
    assert {s.name for s in EXAMPLES if s.path.stem == "lru"} == {"example:lru"}, "the built-in keeps the name lru"


@pytest.mark.parametrize("source", EXAMPLES, ids=lambda s: s.name)
def test_an_example_loads_and_its_header_says_what_it_uses(source):
    described = describe(source)
    assert described["status"] == "verified", verify_file(source.path).errors
    header = ast.get_docstring(ast.parse(source.path.read_text()))
    assert "Hooks:" in header and "Helpers:" in header
    hooks_named = header.split("Hooks:")[1].split("Helpers:")[0].replace("\n", " ")
    for hook in described["hooks"]:
        assert hook in hooks_named, f"{source.name}: the header does not name {hook}"


@pytest.mark.parametrize("source", EXAMPLES, ids=lambda s: s.name)
def test_an_example_runs_a_machine_without_ejection(source, tmp_path):
    scenario = tmp_path / "small.toml"
    scenario.write_text(TIGHT)
    result = run(scenario, policy=source.name, check_invariants=True)
    assert result["ejections"] == [] and result["policy"] == source.name
    assert result["vmstat"]["pgsteal_kswapd"] + result["vmstat"]["pgsteal_direct"] > 0, "it reclaimed"


# Each rejected example with the first error its verifier log gives.
REJECTED = {
    "clock_with_while.py": "30:5: error: while loops are not allowed.",
    "recursive_search.py": "29:12: error: recursion: find_victims -> find_victims.",
    "lfu_per_folio_loop.py": "31:5: error: cannot bound this loop.",
    "random_with_import.py": "10:1: error: import is not allowed.",
}


def test_every_rejected_example_is_recorded():
    assert sorted(p.name for p in REJECTED_DIR.glob("*.py")) == sorted(REJECTED)
    assert not (EXAMPLES_DIR / "rejected" / "__init__.py").exists(), "the rejected are no package to load by name"


@pytest.mark.parametrize("name", sorted(REJECTED))
def test_a_rejected_example_gets_its_error(name):
    verified = verify_file(REJECTED_DIR / name)
    assert not verified.ok
    first = verified.errors[0]
    assert f"{first.line}:{first.col}: error: {first.message}".startswith(REJECTED[name])
    assert first.hint, "every error says what to change"
