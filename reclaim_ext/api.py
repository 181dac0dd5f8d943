"""The public Python API: run a scenario, get plain data back.

    >>> from reclaim_ext import run
    >>> result = run(policy="lru", seed=1)          # the built-in default scenario
    >>> result["vmstat"]["pgmajfault"], result["processes"]["zipf-worker"]["majflt"]

The same function backs `reclaim-ext run`; its result is what `--json`
prints (without the time series) and what `--out` writes.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

from reclaim_ext.policies import BUILTIN_POLICIES, load_policy
from reclaim_ext.replay import replay
from reclaim_ext.scenario import ReplayScenario, Scenario, default_scenario, load_scenario, to_config
from reclaim_ext.traces import read_trace
from simulator.context import PolicyContextError
from simulator.invariants import InvariantError
from simulator.invariants import check_invariants as _check_invariants
from simulator.vmscan import ReclaimError
from simulator.config import PAGE_SIZE
from simulator.errors import SimulationError
from simulator.events import EventStream
from simulator.machine import Machine
from simulator.policy import PolicyError

ScenarioLike = Scenario | ReplayScenario | str | Path | None


class RunFailed(RuntimeError):
    """The run stopped before its end; `result` holds what it had measured."""

    def __init__(self, message: str, result: dict[str, Any]) -> None:
        super().__init__(message)
        self.result = result


def as_scenario(scenario: ScenarioLike) -> Scenario | ReplayScenario:
    if scenario is None:
        return default_scenario()
    if isinstance(scenario, (Scenario, ReplayScenario)):
        return scenario
    return load_scenario(scenario)


def with_overrides(scenario: Scenario | ReplayScenario, **run_fields: Any) -> Scenario | ReplayScenario:
    """The scenario with the given [run] fields replaced (None leaves one
    as it is): what a results directory records is what actually ran."""
    update = {k: v for k, v in run_fields.items() if v is not None and k in type(scenario.run).model_fields}
    if not update:
        return scenario
    copy = scenario.model_copy(update={"run": scenario.run.model_copy(update=update)})
    return copy


def run(
    scenario: ScenarioLike = None,
    *,
    policy: str | None = None,
    seed: int | None = None,
    accesses: int | None = None,
    check_invariants: bool | None = None,
    fallback: str | None = None,
    progress: Callable[[float], None] | None = None,
    events: Callable[[dict[str, Any]], None] | None = None,
) -> dict[str, Any]:
    """Run a scenario (a Scenario, a path to a TOML file, or None for the
    built-in default) and return its results as plain data. Keyword
    arguments override the scenario's [run] table.

    `events(event)` hears every tracepoint of the run (a dict: "name", "ts"
    in virtual ns, the fields); with no listener the core emits nothing.

    `policy` is a built-in, an example, an installed policy or a path to a
    policy file; user policies are verified and run sandboxed. A policy that
    misbehaves is ejected and `fallback` (a built-in, default the
    scenario's run.fallback) takes over: the result's "ejections" say so.

    A replay scenario (a [replay] table) returns run_replay()'s result.

    Raises ScenarioError for a bad scenario, PolicyNotFound/PolicyError
    (PolicyRejected with the verifier's log) for a policy that cannot be
    attached, and RunFailed (with the partial result) when the machine
    cannot go on or an invariant breaks.
    """
    sc = with_overrides(as_scenario(scenario), policy=policy, seed=seed, accesses=accesses,
                        check_invariants=check_invariants, fallback=fallback)
    if isinstance(sc, ReplayScenario):
        return run_replay(sc, progress=progress)
    stream = EventStream()
    if events is not None:
        stream.subscribe(events)
    machine = build_machine(sc, stream)
    if machine.run_cfg.check_invariants:
        machine.invariant_checker = _check_invariants
    try:
        machine.run(progress)
    except (SimulationError, InvariantError, ReclaimError, PolicyContextError) as err:
        # the machine cannot go on, or the policy broke a rule: what was
        # measured up to here is kept
        raise RunFailed(f"{type(err).__name__}: {err}", collect_results(machine, error=str(err))) from err
    return collect_results(machine)


def build_machine(sc: Scenario, events: EventStream | None = None) -> Machine:
    """The machine a scenario describes, with its policies attached and not
    yet run. Raises as run() does for a policy that cannot be attached."""
    machine_cfg, run_cfg = to_config(sc)
    policy_name, fallback_name = sc.run.policy, sc.run.fallback
    if fallback_name not in BUILTIN_POLICIES:
        raise PolicyError(f"the fallback policy must be a built-in ({', '.join(BUILTIN_POLICIES)}), not {fallback_name!r}")
    plugin = load_policy(policy_name)
    return Machine(machine_cfg, run_cfg, getattr(plugin, "name", policy_name), plugin,
                   fallback=(fallback_name, BUILTIN_POLICIES[fallback_name][0]),
                   events=events if events is not None else EventStream(),
                   policy_factory=partial(load_policy, policy_name), memcg_policies=memcg_policies(sc))


def memcg_policies(scenario: Scenario) -> dict[int, tuple[str, Callable[[], Any]]]:
    """The policies the scenario attaches to cgroups, by memcg index (the
    root is 0, the cgroups follow in order), each loaded once here so a
    policy that cannot be attached is reported before the run starts, and
    named as the machine's policy is: by the name the policy gives itself."""
    attached = {}
    for memcg, group in enumerate(scenario.cgroups, start=1):
        if group.policy is not None:
            plugin = load_policy(group.policy)
            attached[memcg] = (getattr(plugin, "name", group.policy), partial(load_policy, group.policy))
    return attached


def run_replay(scenario: ReplayScenario, progress: Callable[[float], None] | None = None) -> dict[str, Any]:
    """A replay scenario's run: its trace in exact cache mode (see
    reclaim_ext.replay.replay for the result). Raises TraceError for a
    trace that cannot be read."""
    table = scenario.replay
    ids = read_trace(scenario.trace_path(), table.format, table.column)
    return replay(ids, table.cache, scenario.run.policy, seed=scenario.run.seed, fallback=scenario.run.fallback,
                  progress=progress)


def collect_results(machine: Machine, error: str | None = None) -> dict[str, Any]:
    """Everything a run measured, as JSON-ready plain data."""
    nodes = {}
    for node in machine.nodes:
        active, inactive = machine.lruvec_active_inactive(node.nid)
        nodes[str(node.nid)] = {
            "pages": node.pages,
            "watermarks": {"min": node.wmark.min, "low": node.wmark.low, "high": node.wmark.high},
            "gauges": {
                "nr_free_pages": node.nr_free,
                "nr_inactive_anon": inactive[0],
                "nr_active_anon": active[0],
                "nr_inactive_file": inactive[1],
                "nr_active_file": active[1],
            },
            "vmstat": machine.vmstat.node_dict(node.nid),
        }
    return {
        "policy": machine.requested_policy,
        "ejections": machine.ejections,
        "seed": machine.run_cfg.seed,
        "accesses": machine.total_accesses,
        "virtual_time_ns": machine.virtual_time(),
        "vmstat": machine.vmstat.total_dict(),
        "nodes": nodes,
        "processes": {p.cfg.name: {**p.stats, "exit": p.exit_reason} for p in machine.processes},
        "swap": {"total_pages": machine.swap.total, "used_pages": machine.swap.used},
        "error": error,
        "pressure": machine.pressure(),
        "memcgs": memcg_results(machine),
        "timeseries": machine.samples,
        "policy_state": policy_state(machine),
    }


def memcg_results(machine: Machine) -> dict[str, dict[str, Any]]:
    """Each cgroup's files as the kernel shows them, sizes in bytes ("/" is
    the root, which has no memory.pressure of its own: /proc/pressure/memory
    is its)."""
    now = machine.virtual_time()
    groups = {}
    for i, memcg in enumerate(machine.cfg.memcgs):
        group = {"memory.current": machine.memcg.usage[i] * PAGE_SIZE,
                 "memory.swap.current": machine.memcg.swap_usage[i] * PAGE_SIZE,
                 "memory.stat": machine.memcg.stat(i),
                 "memory.events": machine.memcg.events[i],
                 "memory.reclaim": machine.memcg.proactive[i]}
        if i:
            group["memory.pressure"] = machine.memcg_psi[i].snapshot(now)
        groups[memcg.name or "/"] = group
    return groups


def policy_state(machine: Machine) -> dict[str, str]:
    """Each policy's own view of its state (MGLRU: the lru_gen file); a
    memcg's policy's files are named after the cgroup (web.lru_gen)."""
    state = {}
    for domain in machine.domains:
        policy = domain.policy
        if policy.policy_state is None:
            continue
        prefix = machine.cfg.memcgs[domain.memcg].name.replace("/", "-") + "." if domain.memcg else ""
        state.update({prefix + name: text for name, text in (policy.policy_state(policy.ctx) or {}).items()})
    return state
