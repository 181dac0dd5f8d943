"""The hostile-policy corpus: every file of tests/hostile/ is a policy that
attacks the sandbox, and the first line of its docstring says what must
become of it (DESIGN.md, "The sandbox"):

- ``rejected@LINE: TEXT``: the verifier refuses it, with an error at LINE
  whose message contains TEXT;
- ``ejected[@LINE] KIND: TEXT``: it verifies and runs, and is ejected once,
  with that ExitKind and a message containing TEXT, at LINE of its own code
  when given; the run completes on the fallback;
- ``survives: WHAT``: it is not misbehaviour (a full map, a bad map key)
  and must not be ejected.

Lines after the first that begin with ``limits:`` (SandboxLimits for the
run), ``maps:`` (NAME=used/max, the occupancy of a map in the dump, or at
the end of a run that survives) or ``state:`` (key=value, what the
policy's policy_state reports at the end of the run) refine the check.

An attack that is neither refused nor ejected is a hole in the sandbox: its
file states what should happen and ESCAPES marks its test as an expected
failure, strict, so that closing the hole shows.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from reclaim_ext import api
from reclaim_ext.policies import load_policy
from reclaim_ext.sandbox.runtime import SandboxLimits
from reclaim_ext.sandbox.verifier import verify_file
from reclaim_ext.scenario import parse_scenario

HOSTILE = Path(__file__).resolve().parent / "hostile"
POLICIES = sorted(HOSTILE.glob("*.py"))

# Two nodes of 2 MiB (so victims on a foreign lruvec exist), an anon worker
# on node 0 that swaps and refaults, a reader and writer of a file on node 1
# whose dirty pages are written back, and a short process that exits (its
# memory leaves through folio_removed): 8,000 accesses bring reclaim, swap,
# refaults, writeback and an exit within the first few hundred milliseconds.
SCENARIO = parse_scenario("""
[machine]
nodes = [{ memory = "2MiB", cpus = 1 }, { memory = "2MiB", cpus = 1 }]
swap = { size = "16MiB" }

[[processes]]
name = "worker"
node = 0
[[processes.regions]]
kind = "anon"
size = "3MiB"
write_ratio = 0.2
pattern = "zipf:0.9"

[[processes]]
name = "reader"
node = 1
[[processes.regions]]
kind = "file"
file = "data"
size = "6MiB"
access = "rw"
write_ratio = 0.3
pattern = "sequential"

[[processes]]
name = "short"
node = 0
accesses = 1500
[[processes.regions]]
kind = "anon"
size = "512KiB"
pattern = "sequential"

[run]
seed = 7
accesses = 8000
""")
ACCESSES = 8000
# an ejection's message is a sentence, whatever the policy handed the core: what the policy's
# exception says is cut at 512 characters (runtime.MAX_MESSAGE_LEN), after the exception's name
MAX_MESSAGE = 512 + 64

# Attacks that get through: what each does instead of what its file says.
ESCAPES = {
}


class Expectation:
    """What the first lines of a hostile policy's docstring say."""

    FIRST = re.compile(r"(?P<verdict>rejected|ejected|survives)(?:@(?P<line>\d+))?(?: (?P<kind>[a-z]+))?: (?P<text>.+)")

    def __init__(self, path: Path) -> None:
        doc = ast.get_docstring(ast.parse(path.read_text(encoding="utf-8")), clean=False) or ""
        lines = doc.split("\n")
        match = self.FIRST.fullmatch(lines[0].strip())
        assert match, f"{path.name}: the docstring's first line is not an expectation: {lines[0]!r}"
        self.verdict, self.kind, self.text = match["verdict"], match["kind"], match["text"]
        self.line = int(match["line"]) if match["line"] else None
        assert len([line for line in lines[1:] if line.strip()]) >= 1, f"{path.name}: say what the attack is"
        fields = {}
        for line in lines[1:]:
            key, sep, value = line.strip().partition(": ")
            if sep and key in ("limits", "maps", "state"):
                fields[key] = dict(item.strip().split("=", 1) for item in value.split(","))
        self.limits = {key: int(value.replace("_", "")) for key, value in fields.get("limits", {}).items()}
        self.maps = {name: [int(n) for n in used.split("/")] for name, used in fields.get("maps", {}).items()}
        self.state = fields.get("state")
        if self.verdict == "rejected":
            assert self.line is not None and self.kind is None, f"{path.name}: write rejected@LINE: TEXT"
        if self.verdict == "ejected":
            assert self.kind is not None, f"{path.name}: write ejected KIND: TEXT"


def case(path: Path):
    reason = ESCAPES.get(path.stem)
    marks = [pytest.mark.xfail(strict=True, reason=reason)] if reason else []
    return pytest.param(path, id=path.stem, marks=marks)


def test_the_corpus_is_large_and_every_escape_has_a_file():
    assert len(POLICIES) >= 45
    assert set(ESCAPES) <= {path.stem for path in POLICIES}


@pytest.mark.parametrize("path", [case(p) for p in POLICIES if Expectation(p).verdict == "rejected"])
def test_the_verifier_rejects(path):
    expect = Expectation(path)
    verified = verify_file(path)
    assert not verified.ok and verified.code is None
    at_line = [d for d in verified.errors if d.line == expect.line]
    assert any(expect.text in d.message for d in at_line), (
        f"no error at line {expect.line} says {expect.text!r}; the errors are:\n"
        + "\n".join(str(d) for d in verified.errors))


def run_hostile(path: Path, monkeypatch, limits: dict[str, int]):
    """Run the shared scenario with the policy through the public API,
    loading it with the given limits and keeping the plugin to read its
    maps afterwards."""
    loaded = []

    def load(name, limits_=None):
        plugin = load_policy(name, limits=SandboxLimits(**limits))
        loaded.append(plugin)
        return plugin

    monkeypatch.setattr(api, "load_policy", load)
    result = api.run(SCENARIO, policy=str(path), check_invariants=True)
    assert result["accesses"] == ACCESSES and result["error"] is None
    (plugin,) = loaded
    return result, plugin


@pytest.mark.parametrize("path", [case(p) for p in POLICIES if Expectation(p).verdict == "ejected"])
def test_the_runtime_ejects_and_the_run_completes(path, monkeypatch):
    expect = Expectation(path)
    assert verify_file(path).ok, "an attack meant for the runtime must pass the verifier"
    result, plugin = run_hostile(path, monkeypatch, expect.limits)
    assert len(result["ejections"]) == 1, result["ejections"]
    (ejection,) = result["ejections"]
    assert (ejection["kind"], expect.text in ejection["message"]) == (expect.kind, True), ejection["message"]
    assert len(ejection["message"]) <= MAX_MESSAGE, f"a message of {len(ejection['message'])} characters"
    assert ejection["policy"] == path.stem and ejection["fallback"] == "lru"
    assert result["policy"] == path.stem
    dump = ejection["dump"]
    assert set(dump["maps"]) == set(plugin.maps), "the dump shows every map of the policy"
    for name, occupancy in expect.maps.items():
        assert dump["maps"][name] == occupancy
    if expect.line is not None:
        source = path.read_text(encoding="utf-8").splitlines()
        assert (ejection["line"], dump["source_line"]) == (expect.line, source[expect.line - 1].strip())


@pytest.mark.parametrize("path", [case(p) for p in POLICIES if Expectation(p).verdict == "survives"])
def test_what_is_not_misbehaviour_is_not_ejected(path, monkeypatch):
    expect = Expectation(path)
    result, plugin = run_hostile(path, monkeypatch, expect.limits)
    assert result["ejections"] == []
    assert result["vmstat"]["pgsteal_kswapd"] + result["vmstat"]["pgsteal_direct"] > 0, "the policy did reclaim"
    occupancy = plugin.dump()["maps"]
    for name, used in expect.maps.items():
        assert occupancy[name] == used, name
    if expect.state is not None:
        assert result["policy_state"] == expect.state
