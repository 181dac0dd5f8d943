"""Memory cgroups: the hierarchy in scenario files, one lruvec per (memcg,
node), and memory.current. (Limits, protection and reclaim from a group:
issue 8, to come.)"""

from __future__ import annotations

import numpy as np
import pytest

from reclaim_ext.api import run
from reclaim_ext.scenario import ScenarioError, parse_scenario, to_config
from simulator.lru import ClassicLRU
from simulator.machine import Machine

GROUPS = """
[machine]
nodes = [{ memory = "4MiB" }, { memory = "4MiB" }]
swap = { size = "16MiB" }

[[cgroups]]
name = "web"
memory_max = "2MiB"

[[cgroups]]
name = "web/db"
memory_low = "1MiB"

[[cgroups]]
name = "batch"

[[processes]]
name = "db"
cgroup = "web/db"
regions = [{ kind = "anon", size = "3MiB", pattern = "zipf:0.9" }]

[[processes]]
name = "scan"
cgroup = "batch"
node = 1
regions = [{ kind = "file", file = "data", size = "8MiB", pattern = "sequential" }]

[[processes]]
name = "init"
regions = [{ kind = "anon", size = "1MiB", pattern = "uniform" }]

[run]
accesses = 12000
"""


def test_the_hierarchy_resolves_parents_first_with_limits_in_pages():
    machine, _ = to_config(parse_scenario(GROUPS))
    names = [(m.name, m.parent) for m in machine.memcgs]
    assert names == [("", -1), ("web", 0), ("web/db", 1), ("batch", 0)]
    web, db = machine.memcgs[1], machine.memcgs[2]
    assert (web.max, web.high, web.low) == (512, None, 0) and db.low == 256
    assert [p.memcg for p in machine.processes] == [2, 3, 0]


@pytest.mark.parametrize(("change", "where", "what"), [
    ('name = "web/db"', "cgroups[0].name", 'its parent "web" is not declared before it'),
    ('cgroup = "batch"', "processes[1].cgroup", 'no cgroup "nosuch"'),
    ('memory_max = "2MiB"', "cgroups[0].memory_max", "size"),
])
def test_bad_hierarchies_name_the_key(change, where, what):
    broken = {
        'name = "web/db"': GROUPS.replace('name = "web"\nmemory_max = "2MiB"\n\n[[cgroups]]\nname = "web/db"',
                                          'name = "web/db"\n\n[[cgroups]]\nname = "web"'),
        'cgroup = "batch"': GROUPS.replace('cgroup = "batch"', 'cgroup = "nosuch"'),
        'memory_max = "2MiB"': GROUPS.replace('memory_max = "2MiB"', 'memory_max = "lots"'),
    }[change]
    with pytest.raises(ScenarioError) as err:
        parse_scenario(broken)
    assert where in str(err.value) and what in str(err.value)


def test_each_memcg_has_an_lruvec_on_each_node_and_a_process_charges_its_own():
    machine_cfg, run_cfg = to_config(parse_scenario(GROUPS))
    m = Machine(machine_cfg, run_cfg, "lru", ClassicLRU())
    assert m.nr_lruvecs == 4 * 2 and m.node_lruvecs == [[0, 2, 4, 6], [1, 3, 5, 7]]
    assert [m.lruvec_memcg[lv] for lv in m.node_lruvecs[1]] == [0, 1, 2, 3]
    m.run()
    f = m.folios
    resident = f.lruvec >= 0
    memcg_of = np.asarray(m.lruvec_memcg)[f.lruvec[resident]]
    node_of = np.asarray(m.lruvec_node)[f.lruvec[resident]]
    assert set(memcg_of.tolist()) == {0, 2, 3}, "each process's pages in its own group, none in web itself"
    assert (node_of == f.node[resident]).all(), "an lruvec's folios are on its node"


def test_memory_current_counts_descendants():
    result = run(parse_scenario(GROUPS), check_invariants=True)
    current = {name: c["memory.current"] for name, c in result["memcgs"].items()}
    assert current["web"] == current["web/db"] > 0, "web's only pages are db's"
    # the root holds its children's pages and its own process's ("init")
    assert current["/"] > current["web"] + current["batch"] > 0
    assert result["ejections"] == []


# memory is plentiful: only web's limit makes anything be reclaimed
LIMITED = GROUPS.replace('memory = "4MiB" }, { memory = "4MiB" }', 'memory = "64MiB" }, { memory = "64MiB" }').replace(
    'memory_max = "2MiB"', 'memory_max = "256KiB"')


def test_a_group_over_its_max_reclaims_only_its_own_pages():
    result = run(parse_scenario(LIMITED), check_invariants=True)
    groups = result["memcgs"]
    assert groups["web"]["memory.current"] <= 64, "memory.max 256KiB is 64 pages"
    assert groups["web"]["memory.events"]["max"] > 0 and groups["web"]["memory.events"]["oom"] == 0
    assert result["vmstat"]["pswpout"] > 0, "db's anon went to swap"
    # the scan and init never met a limit: nothing of theirs was reclaimed
    footprint = result["processes"]["init"]["minflt"]
    assert groups["batch"]["memory.current"] == result["processes"]["scan"]["majflt"]
    assert groups["/"]["memory.current"] == groups["web"]["memory.current"] + groups["batch"]["memory.current"] + footprint
    assert result["vmstat"]["pgscan_kswapd"] == 0, "no global reclaim"


def test_a_group_that_cannot_reclaim_kills_inside_itself():
    no_swap = LIMITED.replace('swap = { size = "16MiB" }', "swap = { size = 0 }").replace("12000", "40000")
    result = run(parse_scenario(no_swap), check_invariants=True)
    assert result["processes"]["db"]["exit"] == "oom-killed"
    assert result["processes"]["scan"]["exit"] == result["processes"]["init"]["exit"] == ""
    for group in ("web", "web/db"):
        assert result["memcgs"][group]["memory.events"]["oom_kill"] == 1
    assert result["memcgs"]["web"]["memory.events"]["oom"] == 1 and result["vmstat"]["oom_kill"] == 1


# --------------------------------------------------------------------------
# protection
# --------------------------------------------------------------------------
def noisy_neighbour(low: str = '"3MiB"', extra: str = "") -> str:
    from importlib import resources

    text = resources.files("reclaim_ext").joinpath("scenarios/noisy-neighbour.toml").read_text()
    return text.replace('memory_low = "3MiB"', f"memory_low = {low}").replace('name = "noisy"\n\n', f'name = "noisy"\n{extra}\n', 1)


@pytest.mark.parametrize("policy", ["lru", "mglru"])
def test_a_protected_group_is_left_alone_while_others_have_reclaimable_memory(policy):
    protected = run(parse_scenario(noisy_neighbour()), policy=policy, check_invariants=True)
    exposed = run(parse_scenario(noisy_neighbour("0")), policy=policy, check_invariants=True)
    assert protected["processes"]["victim"]["majflt"] == 0 < exposed["processes"]["victim"]["majflt"]
    assert protected["memcgs"]["victim"]["memory.current"] == 768, "its whole working set stays"
    assert protected["memcgs"]["victim"]["memory.events"]["low"] == 0


def test_a_protected_group_is_reclaimed_once_nothing_else_is_reclaimable():
    # the neighbour protected too: every memcg is within memory.low, so a
    # reclaim pass that skipped them freed nothing and the next takes them
    both = run(parse_scenario(noisy_neighbour(extra='memory_low = "64MiB"')), check_invariants=True)
    assert both["memcgs"]["victim"]["memory.events"]["low"] > 0
    assert both["memcgs"]["noisy"]["memory.events"]["low"] > 0
    assert both["vmstat"]["oom_kill"] == 0


def test_memory_min_is_never_reclaimed():
    text = noisy_neighbour("0", extra='memory_low = "64MiB"').replace(
        '[[cgroups]]\nname = "victim"\n', '[[cgroups]]\nname = "victim"\nmemory_min = "3MiB"\n')
    result = run(parse_scenario(text), check_invariants=True)
    assert result["processes"]["victim"]["majflt"] == 0 and result["memcgs"]["noisy"]["memory.events"]["low"] > 0


def test_effective_low_is_shared_among_siblings_in_proportion():
    from types import SimpleNamespace

    from simulator.config import MemcgConfig
    from simulator.memcontrol import MemCgroups

    memcgs = (MemcgConfig(""), MemcgConfig("p", 0, low=100), MemcgConfig("p/a", 1, low=80),
              MemcgConfig("p/b", 1, low=80), MemcgConfig("p/c", 1, low=80))
    machine = SimpleNamespace(cfg=SimpleNamespace(memcgs=memcgs, processes=()), lruvec_memcg=[0, 1, 2, 3, 4])
    groups = MemCgroups(machine)
    groups.usage = [400, 300, 100, 150, 50]  # a and b claim 80 each, c its 50 of usage
    emin, elow = groups.calculate_protection()
    assert elow[1] == 100, "a top-level memcg gets its setting"
    # the children claim min(usage, low) = 80 + 80 + 50 = 210 > the parent's 100:
    # each gets its claim * 100 / 210, rounded down as the kernel's division
    assert elow[2:] == [80 * 100 // 210, 80 * 100 // 210, 50 * 100 // 210]
    groups.usage = [400, 300, 30, 40, 20]  # claims 30 + 40 + 20 = 90 fit in 100: each keeps its own
    assert groups.calculate_protection()[1][2:] == [30, 40, 20]
    assert emin == [0] * 5


def test_memory_high_throttles_rather_than_kills():
    text = LIMITED.replace('memory_max = "256KiB"', 'memory_high = "256KiB"').replace(
        'swap = { size = "16MiB" }', "swap = { size = 0 }")
    result = run(parse_scenario(text), check_invariants=True)
    db = result["processes"]["db"]
    assert result["memcgs"]["web"]["memory.events"]["high"] > 0 and result["memcgs"]["web"]["memory.events"]["oom"] == 0
    assert db["exit"] == "" and db["stall_ns"] > 0, "throttled: a memory stall, no kill"
    assert result["memcgs"]["web"]["memory.current"] > 64, "high is no hard limit"


def test_the_high_delay_is_the_kernels():
    from simulator.memcontrol import HZ, MEMCG_MAX_HIGH_DELAY_JIFFIES, high_delay_jiffies

    tenth = (1 << 20) // 10  # usage 10% over memory.high, in the kernel's 1/2^20ths
    assert high_delay_jiffies(0, 64) == 0
    # penalty = overage^2 * HZ >> 20 >> 14, for a batch of 64 pages: 159 jiffies, 0.64 s
    assert high_delay_jiffies(tenth, 64) == (tenth * tenth * HZ) >> 34 == 159
    assert high_delay_jiffies(tenth, 32) == 79, "in proportion to the pages charged (rounded down)"
    # twice memory.high would cost 64 s: a return to user space sleeps 2 s at most
    assert high_delay_jiffies(1 << 20, 64) == MEMCG_MAX_HIGH_DELAY_JIFFIES == 2 * HZ


def test_swap_max_0_keeps_a_groups_anon_in_memory():
    text = noisy_neighbour("0").replace('[[cgroups]]\nname = "victim"\n', '[[cgroups]]\nname = "victim"\nswap_max = 0\n')
    result = run(parse_scenario(text), check_invariants=True)
    exposed = run(parse_scenario(noisy_neighbour("0")), check_invariants=True)
    assert result["processes"]["victim"]["majflt"] == 0 < exposed["processes"]["victim"]["majflt"]
    assert result["memcgs"]["victim"]["memory.current"] == 768, "all of its anon stays"


def test_memory_reclaim_frees_what_was_asked_of_the_group_alone():
    text = """
[machine]
nodes = [{ memory = "64MiB" }]
swap = { size = "16MiB" }

[[cgroups]]
name = "job"
reclaim = [{ at = "1ms", amount = "1MiB" }]

[[cgroups]]
name = "other"

[[processes]]
name = "job"
cgroup = "job"
regions = [{ kind = "file", file = "data", size = "4MiB", access = "rw", pattern = "sequential" }]

[[processes]]
name = "other"
cgroup = "other"
regions = [{ kind = "anon", size = "1MiB", pattern = "sequential" }]

[run]
accesses = 6000
"""
    result = run(parse_scenario(text), check_invariants=True)
    # the write lands at the first step boundary after 1ms: after job's
    # first timeslice (4ms), whose 1MiB of reads it had by then
    (write,) = result["memcgs"]["job"]["memory.reclaim"]
    assert write["requested"] == 256 and write["reclaimed"] >= 256, "a batch at a time until the amount is met"
    assert result["vmstat"]["pgsteal_direct"] == write["reclaimed"] and result["vmstat"]["pgscan_kswapd"] == 0
    assert result["memcgs"]["other"]["memory.current"] == result["processes"]["other"]["minflt"], "nothing of other's"


def test_each_cgroup_has_its_memory_pressure():
    result = run(parse_scenario(noisy_neighbour("0")), check_invariants=True)
    victim = result["memcgs"]["victim"]["memory.pressure"]
    assert victim["some_total_us"] == result["processes"]["victim"]["stall_ns"] // 1000 > 0
    assert "memory.pressure" not in result["memcgs"]["/"], "the root's is /proc/pressure/memory"
    calm = run(parse_scenario(noisy_neighbour()), check_invariants=True)
    assert calm["memcgs"]["victim"]["memory.pressure"]["some_total_us"] == 0, "protected: no stall"
