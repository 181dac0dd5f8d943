"""MGLRU's lru_gen view from the command line and in the results directory."""

from __future__ import annotations

import json

from reclaim_ext.cli import main


def test_run_state_prints_the_lru_gen_view(capsys):
    code = main(["run", "--policy", "mglru", "--accesses", "300000", "--state"])
    out = capsys.readouterr().out
    assert code == 0
    view = out.split("== lru_gen ==\n", 1)[1].splitlines()
    assert view[0] == "memcg     1 /" and view[1] == " node     0"
    # each generation: sequence number, age in ms, anon and file pages
    assert all(int(field) >= 0 for field in view[2].split())


def test_results_directory_holds_the_lru_gen_file(capsys, tmp_path):
    out = tmp_path / "r"
    assert main(["run", "--policy", "mglru", "--accesses", "200000", "--out", str(out), "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["policy"] == "mglru"
    text = (out / "lru_gen").read_text()
    assert text.startswith("memcg     1 /\n node     0\n")


def test_the_classic_lru_has_no_state_view(capsys, tmp_path):
    out = tmp_path / "r"
    assert main(["run", "--accesses", "50000", "--out", str(out), "--json"]) == 0
    assert not (out / "lru_gen").exists()
