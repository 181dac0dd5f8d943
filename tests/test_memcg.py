"""Memory cgroups: the hierarchy in scenario files, one lruvec per (memcg,
node), charging and memory.current, memory.max/high/low/min and swap.max,
proactive reclaim, memory.stat/events/pressure, and policies attached per
cgroup."""

from __future__ import annotations

import functools

import numpy as np
import pytest

from reclaim_ext.api import run
from reclaim_ext.scenario import ScenarioError, parse_scenario, to_config
from hooks.types import SWAP_CLUSTER_MAX
from simulator.lru import ClassicLRU
from simulator.config import PAGE_SIZE
from simulator.machine import Machine
from simulator.vmstat import VmEvent


def pages(group: dict) -> int:
    """memory.current is in bytes, as the kernel shows it."""
    return group["memory.current"] // PAGE_SIZE

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
    current = {name: pages(c) for name, c in result["memcgs"].items()}
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
    assert pages(groups["web"]) <= 64, "memory.max 256KiB is 64 pages"
    assert groups["web"]["memory.events"]["max"] > 0 and groups["web"]["memory.events"]["oom"] == 0
    assert result["vmstat"]["pswpout"] > 0, "db's anon went to swap"
    # the scan and init never met a limit: nothing of theirs was reclaimed
    footprint = result["processes"]["init"]["minflt"]
    assert pages(groups["batch"]) == result["processes"]["scan"]["majflt"]
    assert pages(groups["/"]) == pages(groups["web"]) + pages(groups["batch"]) + footprint
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
@functools.cache
def noisy_run(low: str = '"3MiB"', extra: str = "", policy: str = "lru") -> dict:
    """The noisy-neighbour scenario's result with the invariants checked, run
    once per arguments: a run is deterministic, and the tests only read it."""
    return run(parse_scenario(noisy_neighbour(low, extra)), policy=policy, check_invariants=True)


def noisy_neighbour(low: str = '"3MiB"', extra: str = "") -> str:
    from importlib import resources

    text = resources.files("reclaim_ext").joinpath("scenarios/noisy-neighbour.toml").read_text()
    return text.replace('memory_low = "3MiB"', f"memory_low = {low}").replace('name = "noisy"\n\n', f'name = "noisy"\n{extra}\n', 1)


@pytest.mark.parametrize("policy", ["lru", "mglru"])
def test_a_protected_group_is_left_alone_while_others_have_reclaimable_memory(policy):
    protected = noisy_run(policy=policy)
    exposed = noisy_run("0", policy=policy)
    assert protected["processes"]["victim"]["majflt"] == 0 < exposed["processes"]["victim"]["majflt"]
    assert pages(protected["memcgs"]["victim"]) == 768, "its whole working set stays"
    assert protected["memcgs"]["victim"]["memory.events"]["low"] == 0


def test_a_protected_group_is_reclaimed_once_nothing_else_is_reclaimable():
    # the neighbour protected too: every memcg is within memory.low, so a
    # reclaim pass that skipped them freed nothing and the next takes them
    both = noisy_run(extra='memory_low = "64MiB"')
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
    assert pages(result["memcgs"]["web"]) > 64, "high is no hard limit"


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
    exposed = noisy_run("0")
    assert result["processes"]["victim"]["majflt"] == 0 < exposed["processes"]["victim"]["majflt"]
    assert pages(result["memcgs"]["victim"]) == 768, "all of its anon stays"


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
    assert pages(result["memcgs"]["other"]) == result["processes"]["other"]["minflt"], "nothing of other's"


def test_each_cgroup_has_its_memory_pressure():
    result = noisy_run("0")
    victim = result["memcgs"]["victim"]["memory.pressure"]
    assert victim["some_total_us"] == result["processes"]["victim"]["stall_ns"] // 1000 > 0
    assert "memory.pressure" not in result["memcgs"]["/"], "the root's is /proc/pressure/memory"
    calm = noisy_run()
    assert calm["memcgs"]["victim"]["memory.pressure"]["some_total_us"] == 0, "protected: no stall"


# --------------------------------------------------------------------------
# proportional protection, and protection relative to the reclaim's target
# --------------------------------------------------------------------------
def _vmscan_with_protection(elow: int, emin: int, usage: int):
    """A Vmscan on a tiny machine with one memcg whose effective protection
    is given, as shrink_node_memcgs() has just computed it."""
    from types import SimpleNamespace

    from simulator.vmscan import Vmscan

    machine = SimpleNamespace(nr_lruvecs=2, nodes=[None], lruvec_memcg=[0, 1],
                              memcg=SimpleNamespace(usage=[usage, usage]))
    vmscan = Vmscan(machine)
    vmscan.protection = ([0, emin], [0, elow])
    return vmscan


def test_a_memcg_above_low_is_scanned_in_proportion_to_its_unprotected_part():
    from hooks.types import ReclaimReason, ScanDecision, ScanRequest

    vmscan = _vmscan_with_protection(elow=100, emin=0, usage=200)
    sc = ScanRequest(reason=ReclaimReason.KSWAPD, node=0, lruvec=1, priority=12, nr_to_reclaim=32)
    decision = vmscan._apply_proportional_protection(1, sc, ScanDecision(scan=(64, 128), age=(0, 20)))
    # scan -= scan * protection / (cgroup_size + 1): about half is protected
    assert decision.scan == (64 - 64 * 100 // 201, 128 - 128 * 100 // 201) == (33, 65)
    assert decision.age == (0, 20 - 20 * 100 // 201), "a list with nothing planned stays at nothing"
    assert vmscan.memcg_low_skipped, "scaling by memory.low counts as skipping: a retry comes before OOM"
    # the retry (memcg_low_reclaim) scales by memory.min alone, here nothing
    vmscan.memcg_low_reclaim, vmscan.memcg_low_skipped = True, False
    assert vmscan._apply_proportional_protection(1, sc, ScanDecision(scan=(64, 128))).scan == (64, 128)
    # an unprotected memcg (the root here) is scanned as planned
    assert vmscan._apply_proportional_protection(0, sc, ScanDecision(scan=(64, 128))).scan == (64, 128)


def test_proportional_protection_keeps_a_floor_of_swap_cluster_max_shifted():
    from hooks.types import ReclaimReason, ScanDecision, ScanRequest

    vmscan = _vmscan_with_protection(elow=0, emin=1000, usage=1000)
    sc = ScanRequest(reason=ReclaimReason.DIRECT, node=0, lruvec=1, priority=2, nr_to_reclaim=32)
    # min covers everything: 10 - 10 * 1000 / 1001 = 1, lifted to 32 >> 2
    assert vmscan._apply_proportional_protection(1, sc, ScanDecision(scan=(10, 10))).scan == (8, 8)


def test_a_group_just_above_its_low_loses_less_than_an_unprotected_one():
    # memory.low just under the victim's working set: it is not skipped,
    # but scanned only for the part above low
    partly = noisy_run('"2MiB"')
    exposed = noisy_run("0")
    stat, stat0 = partly["memcgs"]["victim"]["memory.stat"], exposed["memcgs"]["victim"]["memory.stat"]
    assert 0 < stat["pgscan"] < stat0["pgscan"]
    assert partly["processes"]["victim"]["majflt"] < exposed["processes"]["victim"]["majflt"]


def test_limit_reclaim_protects_a_child_within_its_low_relative_to_the_target():
    # web is over memory.max; its child db has memory.low 48 pages: web's
    # own reclaim takes the page cache of its other child and leaves db
    # its low, where without it db is emptied
    text = LIMITED.replace('[[cgroups]]\nname = "batch"', '[[cgroups]]\nname = "web/cache"\n\n[[cgroups]]\nname = "batch"').replace(
        'cgroup = "batch"', 'cgroup = "web/cache"').replace("12000", "60000")
    protected = run(parse_scenario(text.replace('memory_low = "1MiB"', 'memory_low = "192KiB"')), check_invariants=True)
    exposed = run(parse_scenario(text.replace('memory_low = "1MiB"', "memory_low = 0")), check_invariants=True)
    # db ends within one reclaim batch of its low: a memcg just above it is
    # still scanned by at least SWAP_CLUSTER_MAX (apply_proportional_protection),
    # and never once while below it (no memory.events low)
    assert pages(protected["memcgs"]["web/db"]) >= 48 - SWAP_CLUSTER_MAX > pages(exposed["memcgs"]["web/db"]) == 0
    assert protected["memcgs"]["web/db"]["memory.events"]["low"] == 0
    assert protected["memcgs"]["web/cache"]["memory.stat"]["pgsteal"] > protected["memcgs"]["web/db"]["memory.stat"]["pgsteal"] > 0
    assert protected["vmstat"]["pgscan_kswapd"] == 0, "no global reclaim: only web's limit"


# --------------------------------------------------------------------------
# memory.stat
# --------------------------------------------------------------------------
@pytest.mark.parametrize("policy", ["lru", "mglru"])
def test_memory_stat_agrees_with_memory_current_and_with_vmstat(policy):
    result = noisy_run("0", policy=policy)
    groups = result["memcgs"]
    for name, group in groups.items():
        stat = group["memory.stat"]
        assert stat["anon"] + stat["file"] == group["memory.current"], name
        assert stat["active_anon"] + stat["inactive_anon"] == stat["anon"], name
    from simulator.memcontrol import MEMORY_STAT_EVENTS

    root = groups["/"]["memory.stat"]
    for name, parts in MEMORY_STAT_EVENTS.items():
        assert root[name] == sum(result["vmstat"][part] for part in parts), f"the root's {name} is the machine's"
    # the root's subtree holds both groups: their events add up to no more than it
    assert groups["victim"]["memory.stat"]["pgmajfault"] == result["processes"]["victim"]["majflt"] > 0
    assert groups["victim"]["memory.stat"]["pgscan"] + groups["noisy"]["memory.stat"]["pgscan"] == root["pgscan"]


def test_the_results_directory_has_each_cgroups_files(tmp_path):
    from reclaim_ext.report import write_results

    result = noisy_run("0")
    write_results(tmp_path, result, "")
    victim = tmp_path / "cgroup" / "victim"
    assert int((victim / "memory.current").read_text()) == result["memcgs"]["victim"]["memory.current"]
    assert "pgscan " in (victim / "memory.stat").read_text() and "oom_kill 0" in (victim / "memory.events").read_text()
    assert (victim / "memory.pressure").read_text().startswith("some avg10=")


def test_an_lruvecs_nonresident_age_advances_its_ancestors():
    machine, run_cfg = to_config(parse_scenario(GROUPS))
    m = Machine(machine, run_cfg, "lru", ClassicLRU())
    db, web, root = (m.memcg_lruvec(memcg, 1) for memcg in (2, 1, 0))
    assert m.lruvec_ancestors(db) == [db, web, root]
    m.workingset.age_nonresident(db, 5)
    m.workingset.evict(np.array([0, 1]), web, np.zeros(2, bool), np.zeros(2, np.int64))
    # web's physical list aging ages the virtual lists of its ancestors, not of its children
    assert [int(m.workingset.nonresident_age[l]) for l in (db, web, root)] == [5, 7, 7]
    assert m.workingset.nonresident_age[m.memcg_lruvec(2, 0)] == 0, "another node's clocks stand still"
    assert m.workingset.shadow_age[[0, 1]].tolist() == [5, 6], "each eviction reads web's clock"


# --------------------------------------------------------------------------
# policies attached per cgroup
# --------------------------------------------------------------------------
CHAIN = """
[machine]
nodes = [{ memory = "8MiB" }]
swap = { size = "16MiB" }

[[cgroups]]
name = "web"
memory_max = "1MiB"

[[cgroups]]
name = "web/db"

[[processes]]
name = "db"
cgroup = "web/db"
regions = [{ kind = "anon", size = "2MiB", pattern = "zipf:0.6" }]

[[processes]]
name = "init"
regions = [{ kind = "file", file = "log", size = "1MiB", pattern = "sequential" }]

[run]
accesses = 20000
policy = "lru"
fallback = "mglru"
"""


def _with_policies(tmp_path, **policies: str) -> str:
    """CHAIN with a policy attached to each named cgroup ("web", "web_db");
    "crash" is FIFO that divides by zero when asked for victims."""
    from importlib import resources

    fifo = resources.files("example_policies").joinpath("fifo.py").read_text()
    crash = tmp_path / "crash.py"
    crash.write_text(fifo.replace("request.nr_to_scan)", "request.nr_to_scan // (len(ctx.lruvecs) - len(ctx.lruvecs)))"))
    text = CHAIN
    for group, policy in policies.items():
        name = group.replace("_", "/")
        policy = str(crash) if policy == "crash" else policy
        text = text.replace(f'name = "{name}"\n', f'name = "{name}"\npolicy = "{policy}"\n', 1)
    return text


def _list_names(m: Machine, memcg: int) -> set[str]:
    lruvec = m.memcg_lruvec(memcg, 0)
    return {q.name for q in m.lists.queues if q.lruvec == lruvec and q.length}


def test_a_cgroups_policy_serves_it_and_its_descendants_without_one(tmp_path):
    from reclaim_ext.api import memcg_policies

    scenario = parse_scenario(_with_policies(tmp_path, web="mglru"))
    machine_cfg, run_cfg = to_config(scenario)
    m = Machine(machine_cfg, run_cfg, "lru", ClassicLRU(), memcg_policies=memcg_policies(scenario))
    m.run()
    web, db = m.domains[1], m.domains[1]
    assert m.lruvec_policy(m.memcg_lruvec(2, 0)) is web.policy is db.policy, "db has none: its parent's serves it"
    assert m.lruvec_policy(m.memcg_lruvec(0, 0)).name == "lru"
    assert web.policy.ctx.lruvecs == (1, 2), "it sees the lruvecs of web and web/db only"
    assert all(name.startswith("gen") for name in _list_names(m, 2)), "db's folios are in MGLRU's generations"
    assert _list_names(m, 0) <= {"inactive_file", "active_file", "inactive_anon", "active_anon"}
    assert m.vmstat.memcg_events(2)[VmEvent.PGSCAN_DIRECT] > 0, "web's limit reclaimed db through MGLRU"


def test_an_ejected_cgroup_policy_falls_back_to_its_parents(tmp_path):
    result = run(parse_scenario(_with_policies(tmp_path, web="fifo", web_db="crash")), check_invariants=True)
    (ejection,) = result["ejections"]
    assert ejection["cgroup"] == "web/db" and ejection["fallback"] == "fifo" and "ZeroDivisionError" in ejection["message"]
    assert result["processes"]["db"]["exit"] == "", "the run completes"


def test_the_fallback_chain_ends_at_the_machines_policy_then_the_fallback(tmp_path):
    result = run(parse_scenario(_with_policies(tmp_path, web="crash")), check_invariants=True)
    assert [(e["cgroup"], e["fallback"]) for e in result["ejections"]] == [("web", "lru")], "run.policy, not run.fallback"
    text = _with_policies(tmp_path).replace('policy = "lru"', f'policy = "{tmp_path / "crash.py"}"')
    result = run(parse_scenario(text), check_invariants=True)
    assert [e["fallback"] for e in result["ejections"]] == ["mglru"], "the machine's own policy falls back to run.fallback"


def test_a_cgroups_policy_cannot_touch_another_cgroups_lruvecs(tmp_path):
    from importlib import resources

    fifo = resources.files("example_policies").joinpath("fifo.py").read_text()
    greedy = tmp_path / "greedy.py"  # makes lists for lruvec 0, the root's, which it does not serve
    greedy.write_text(fifo.replace("def policy_init(ctx):\n", "def policy_init(ctx):\n    ctx.list_create(0, 0, False, \"theirs\")\n"))
    result = run(parse_scenario(_with_policies(tmp_path, web=str(greedy))), check_invariants=True)
    (ejection,) = result["ejections"]
    assert ejection["hook"] == "policy_init" and "0 is not one of the lruvecs this policy serves" in ejection["message"]


def test_the_time_series_has_each_cgroup_and_the_nodes_lists_of_every_memcg(tmp_path):
    from reclaim_ext.plot_run import plot_run
    from reclaim_ext.report import write_results

    result = noisy_run("0")
    last = result["timeseries"][-1]
    assert last["cgroup_victim_current"] + last["cgroup_noisy_current"] <= \
        sum(last[f"node0_{lru}"] for lru in ("active_anon", "inactive_anon", "active_file", "inactive_file"))
    assert last["cgroup_victim_current"] > 0, "the node's lists include the victim's lruvec"
    write_results(tmp_path, result, "")
    assert tmp_path / "plots" / "cgroups.png" in plot_run(tmp_path)


def test_lru_gen_shows_each_memcg_with_its_path():
    result = noisy_run("0", policy="mglru")
    heads = [line for line in result["policy_state"]["lru_gen"].splitlines() if line.startswith("memcg")]
    assert heads == ["memcg     1 /", "memcg     2 /victim", "memcg     3 /noisy"]


def test_a_policy_learns_the_memcg_of_its_lruvecs(tmp_path):
    from importlib import resources

    fifo = resources.files("example_policies").joinpath("fifo.py").read_text()
    curious = tmp_path / "curious.py"  # says which memcgs it serves
    curious.write_text(fifo.replace("def policy_init(ctx):\n", "def policy_init(ctx):\n"
                                    "    for i in range(min(len(ctx.lruvecs), 4)):\n"
                                    "        ctx.trace(ctx.memcg_path(ctx.lruvec_memcg(ctx.lruvecs[i])))\n"))
    traced = []
    run(parse_scenario(_with_policies(tmp_path, web=str(curious))), events=lambda e: traced.append(e),
        accesses=10)
    assert [e["msg"] for e in traced if e["name"] == "bpf_trace_printk"] == ["web", "web/db"]
