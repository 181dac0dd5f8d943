"""MGLRU beside the classic LRU, and its lru_gen view from the command
line and in the results directory."""

from __future__ import annotations

import json

from reclaim_ext.cli import main
from reclaim_ext.policies import load_policy
from simulator.config import DeviceConfig, MachineConfig, NodeConfig, PatternConfig, ProcessConfig, RegionConfig, RunConfig, SwapConfig
from simulator.machine import Machine


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
    text = (out / "policy" / "lru_gen").read_text()
    assert text.startswith("memcg     1 /\n node     0\n")


def test_the_classic_lru_has_no_state_view(capsys, tmp_path):
    out = tmp_path / "r"
    assert main(["run", "--accesses", "50000", "--out", str(out), "--json"]) == 0
    assert not (out / "policy" / "lru_gen").exists()


def test_a_loop_slightly_larger_than_memory_refaults_less_under_mglru():
    """A loop 5% larger than memory is LRU's worst case: the page evicted is
    the one the loop needs next. MGLRU evicts the oldest generation as a
    whole and places refaulting workingset pages in the youngest, so part of
    the loop stays resident: fewer refaults than the active/inactive LRU,
    the direction MGLRU's evaluations report under memory pressure. (On
    machines of about a thousand pages, where MIN_LRU_BATCH and the
    watermarks are large against memory, the margin shrinks and can turn.)"""

    def majflt(policy: str) -> int:
        loop = RegionConfig(kind="anon", pages=4200, pattern=PatternConfig(kind="loop"))
        cfg = MachineConfig(nodes=(NodeConfig(4000),), processes=(ProcessConfig("loop", (loop,)),),
                            swap=SwapConfig(8400, DeviceConfig(50_000, 1 << 30)))
        m = Machine(cfg, RunConfig(accesses=4200 * 10), policy, load_policy(policy))
        m.run()
        return m.processes[0].stats["majflt"]

    assert majflt("mglru") < 0.8 * majflt("lru")
