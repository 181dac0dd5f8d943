"""Loading user policies from the command line: `policies`, `verify`,
`interface`, and `run --policy FILE` with its ejection report."""

from __future__ import annotations

import importlib.metadata
import json
import sys
from pathlib import Path

import pytest

import hooks

from reclaim_ext import policies
from reclaim_ext.policies import PolicyRejected, available_policies, load_policy
from test_cli import run_cli, small  # noqa: F401 (a fixture)

CLOCK = Path(policies.EXAMPLES_DIR) / "clock.py"

CRASHES = '''"""Evicts like CLOCK until its fifth reclaim batch, then divides by zero."""
INTERFACE_VERSION = (1, 1)
CALLS = ArrayMap(1)
LISTS = ArrayMap(128)


def policy_init(ctx):
    for i in range(min(len(ctx.lruvecs), 64)):
        for lru_type in LRU_TYPES:
            LISTS.update(ctx.lruvecs[i] * 2 + lru_type, ctx.list_create(ctx.lruvecs[i], lru_type, False, "fifo"))


def folio_added(ctx, folios):
    keys = ctx.folio_lruvec(folios) * 2 + ctx.folio_type(folios)
    for key in range(min(len(ctx.lruvecs), 64) * 2):
        ctx.list_add(LISTS.lookup(key), folios[keys == key])


def select_victims(ctx, request):
    calls = CALLS.lookup(0) + 1
    CALLS.update(0, calls)
    if calls == 5:
        return calls // 0
    return ctx.list_peek(LISTS.lookup(request.lruvec * 2 + request.lru_type), min(request.nr_to_scan, 1024))
'''

REJECTED = '''INTERFACE_VERSION = (1, 1)
import os


def policy_init(ctx):
    while True:
        pass
'''


@pytest.fixture
def crashes(tmp_path: Path) -> Path:
    path = tmp_path / "crashes.py"
    path.write_text(CRASHES)
    return path


def test_policies_lists_built_ins_and_examples_with_version_and_hooks(capsys):
    code, out, _ = run_cli(capsys, "policies")
    assert code == 0
    table = out.split("hooks:")[0]
    rows = {line.split()[0]: line.split() for line in table.splitlines() if line and line.split()[0] in ("lru", "mglru", "clock")}
    assert rows["lru"][1:4] == ["built-in", ".".join(map(str, hooks.INTERFACE_VERSION)), "trusted"]
    assert rows["clock"][1:4] == ["example", "1.1", "verified"]
    assert "select_victims" in out.split("hooks:")[1]
    code, out, _ = run_cli(capsys, "policies", "--json")
    listed = {d["name"]: d for d in json.loads(out)}
    assert listed["clock"]["hooks"][:2] == ["policy_init", "folio_added"]


def test_verify_a_good_policy_exits_0_with_the_summary(capsys):
    code, out, _ = run_cli(capsys, "verify", str(CLOCK))
    assert code == 0
    assert "verdict:   loads" in out and "LISTS (ArrayMap, 128 entries)" in out and "/ 1,000,000" in out
    assert run_cli(capsys, "verify", "clock")[0] == 0, "an example by name"


def test_verify_a_bad_policy_exits_1_naming_file_line_and_column(capsys, tmp_path):
    bad = tmp_path / "bad.py"
    bad.write_text(REJECTED)
    code, out, _ = run_cli(capsys, "verify", str(bad))
    assert code == 1
    assert f"{bad}:2:1: error:" in out and f"{bad}:6:5: error:" in out
    assert "verdict:   rejected" in out


def test_run_refuses_a_rejected_policy_and_says_how_to_see_why(capsys, small, tmp_path):
    bad = tmp_path / "bad.py"
    bad.write_text(REJECTED)
    code, _, err = run_cli(capsys, "run", str(small), "--policy", str(bad))
    assert code == 2 and "rejected by the verifier" in err and "reclaim-ext verify" in err
    assert "Traceback" not in err
    with pytest.raises(PolicyRejected) as info:
        load_policy(str(bad))
    assert "verdict:   rejected" in info.value.log


def test_a_user_policy_runs_sandboxed(capsys, small):
    code, out, err = run_cli(capsys, "run", str(small), "--policy", "clock", "--json")
    assert code == 0, err
    summary = json.loads(out)
    assert summary["policy"] == "clock" and summary["ejections"] == []
    assert summary["vmstat"]["pgsteal_kswapd"] + summary["vmstat"]["pgsteal_direct"] > 0


def test_an_ejected_policy_is_reported_and_the_run_completes(capsys, small, crashes):
    code, out, err = run_cli(capsys, "run", str(small), "--policy", str(crashes))
    assert code == 0, err
    assert "policy crashes was ejected at" in out and "(error) in select_victims at line 23" in out
    assert "ZeroDivisionError" in out and "> return calls // 0" in out and "lru took over" in out
    assert "60,000 accesses" in out
    code, out, _ = run_cli(capsys, "run", str(small), "--policy", str(crashes), "--fallback", "mglru", "--json")
    (ejection,) = json.loads(out)["ejections"]
    assert ejection["fallback"] == "mglru" and ejection["kind"] == "error" and ejection["line"] == 23
    assert ejection["dump"]["maps"]["CALLS"] == [1, 1]


def test_installed_policies_are_found_through_entry_points(monkeypatch, tmp_path, crashes):
    package = tmp_path / "site" / "mypolicies"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "crashy.py").write_text(CRASHES)
    monkeypatch.syspath_prepend(str(tmp_path / "site"))
    entry = importlib.metadata.EntryPoint("crashy", "mypolicies.crashy", policies.ENTRY_POINT_GROUP)
    monkeypatch.setattr(policies.importlib.metadata, "entry_points",
                        lambda group: [entry] if group == policies.ENTRY_POINT_GROUP else [])
    found = {s.name: s for s in available_policies()}
    assert found["crashy"].kind == "entry point" and found["crashy"].description.startswith("Evicts like CLOCK")
    assert getattr(load_policy("crashy"), "reclaim_ext_untrusted", False)
    assert "mypolicies.crashy" not in sys.modules, "a policy's source is read, never imported"


def test_interface_prints_every_hook(capsys):
    code, out, _ = run_cli(capsys, "interface")
    assert code == 0 and f"reclaim_ext hook interface, version {'.'.join(map(str, hooks.INTERFACE_VERSION))}" in out
    assert "select_victims(" in out and "folio_referenced(" in out
    code, out, _ = run_cli(capsys, "interface", "--markdown")
    assert out.startswith("#")


def test_a_policys_state_files_cannot_replace_the_results(capsys, small, tmp_path):
    policy = Path(__file__).parent / "hostile" / "policy_state_reserved_name.py"
    out = tmp_path / "results"
    code, _, err = run_cli(capsys, "run", str(small), "--policy", str(policy), "--out", str(out))
    assert code == 0, err
    recorded = (out / "scenario.toml").read_text()
    assert "forged" not in recorded and f'policy = "{policy}"' in recorded, "what ran, options included"
    assert (out / "policy" / "scenario.toml").read_text() == "forged = true\n"
