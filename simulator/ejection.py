"""Ejecting a misbehaving policy, as sched_ext ejects a BPF scheduler.

An untrusted policy (one whose plugin says `reclaim_ext_untrusted`) has each
hook bound through a guard. The guard checks the answer against the core's
state; any exception the hook raises, or an answer the core cannot accept,
ejects the policy: the fault is recorded, every folio on the policy's lists
is handed to the fallback policy (a trusted built-in, as sched_ext hands
every task back to the fair class), and the fallback answers the very call
that failed, so the reclaim in progress completes.

Trusted policies (the built-ins) are bound without a guard: the hot paths
pay nothing for the sandbox unless a sandboxed policy is attached.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import numpy as np

from hooks.types import LRU_TYPES, POLICY_FLAGS, REFAULT_ACTIVATE, REFAULT_WORKINGSET, ScanDecision, Victims
from simulator.policy import BoundPolicy, ExitKind, PolicyFault

if TYPE_CHECKING:
    from simulator.host import PolicyDomain
    from simulator.machine import Machine

# an ejection's message is a sentence for a report, whatever the policy raised
MAX_MESSAGE = 512

# Hooks whose folios are in flight: not on any list while the hook runs
# (or leaving memory), so they are not adopted with the rest; the
# fallback's answer to the same call places them (or lets them go).
IN_FLIGHT_HOOKS = ("folio_added", "folio_putback", "folio_evicted", "folio_removed", "on_refault")


def guard_policy(m: Machine, policy: BoundPolicy) -> None:
    """Bind each of an untrusted policy's hooks through a guard."""
    policy.answers_checked = True
    for hook_name in policy.hooks_implemented:
        fn = getattr(policy, hook_name)
        check = _ANSWER_CHECKS.get(hook_name)
        setattr(policy, hook_name, _guarded(m, policy, hook_name, fn, check))


def _guarded(m: Machine, policy: BoundPolicy, hook_name: str, fn: Callable, check: Callable | None) -> Callable:
    def call(*args: Any) -> Any:
        try:
            answer = fn(*args)
            if check is not None:
                check(m, args, answer)
            return answer
        except PolicyFault as fault:
            failure = fault
        except Exception as err:  # noqa: BLE001 - any exception of an untrusted policy ejects it
            failure = PolicyFault(ExitKind.ERROR, f"{type(err).__name__}: {err}"[:MAX_MESSAGE])
        return eject(m, policy, failure, hook_name, args)

    return call


def eject(m: Machine, policy: BoundPolicy, fault: PolicyFault, hook_name: str, args: tuple) -> Any:
    """scx_ops_disable(): record the fault, attach the successor with every
    folio the ejected policy held, and let it answer the failed call."""
    if policy.successor is not None:  # a nested call of the same policy already ejected it
        return _redispatch(policy.successor, hook_name, args)
    domain = next(d for d in m.domains if d.policy is policy)
    successor_name, successor_factory = _successor(m, domain)
    dump = dict(fault.dump)
    plugin_dump = getattr(policy.plugin, "dump", None)
    if not dump and callable(plugin_dump):
        dump = plugin_dump()
    record = {
        "policy": policy.name,
        "kind": fault.kind.value,
        "message": fault.message,
        "hook": hook_name,
        "line": fault.line,
        "time_ns": m.now,
        "fallback": successor_name,
        "dump": dump,
    }
    if len(m.domains) > 1:
        record["cgroup"] = m.cfg.memcgs[domain.memcg].name or "/"
    m.ejections.append(record)
    m.events.emit("policy_ejected", m.now, **{k: v for k, v in record.items() if k != "time_ns"})
    in_flight = args[1] if hook_name in IN_FLIGHT_HOOKS else np.empty(0, np.int64)
    policy.successor = adopt_folios(m, domain, successor_name, successor_factory, np.asarray(in_flight, np.int64))
    if hook_name == "policy_init":  # the successor's own init has run
        return None
    return _redispatch(policy.successor, hook_name, args)


def _successor(m: Machine, domain: PolicyDomain) -> tuple[str, Callable[[], Any]]:
    """Who takes over an ejected policy's lruvecs: a fresh instance of the
    policy serving the nearest ancestor memcg (the chain a memcg without a
    policy of its own follows), and for the machine's policy the trusted
    fallback. A policy already ejected in this run is passed over: a fresh
    instance of it would answer the failed call the same way and be ejected
    in turn, without end (found by reclaim-ext fuzz)."""
    failed = {record["policy"] for record in m.ejections} | {domain.policy.name}
    memcg = domain.memcg
    while memcg != 0:
        memcg = m.cfg.memcgs[memcg].parent
        ancestor = m.domains[m.lruvec_domain[m.memcg_lruvec(memcg, 0)]]
        if ancestor.factory is not None and ancestor.policy.name not in failed:
            return ancestor.policy.name, ancestor.factory
    return m.fallback_name, m.fallback_factory


def _redispatch(policy: BoundPolicy, hook_name: str, args: tuple) -> Any:
    fn = getattr(policy, hook_name)
    if fn is None:
        return None
    return fn(policy.ctx, *args[1:])


def adopt_folios(m: Machine, domain: PolicyDomain, name: str, factory: Callable[[], Any],
                 in_flight: np.ndarray) -> BoundPolicy:
    """Hand the ejected policy's folios to its successor, coldest first: the
    inactive lists before the active ones, each from its tail, so the
    successor's own order starts close to the one it replaces. The policy's
    bits, per-folio data and shadow values were its own encoding and go."""
    lists = m.lists
    served = set(domain.lruvecs)
    own = [lst for lst, q in enumerate(lists.queues) if q.lruvec in served]
    held = [lists.live(lst) for lst in sorted(own, key=lambda lst: lists.queues[lst].active)]
    adopted = np.concatenate(held) if held else np.empty(0, np.int64)
    if in_flight.size:
        adopted = adopted[~np.isin(adopted, in_flight)]
    adopted = adopted[m.folios.node[adopted] >= 0]
    f = m.folios
    mine = np.isin(f.lruvec, domain.lruvecs)
    if len(m.domains) == 1:
        lists.reset()
    else:
        lists.release(own)
    f.flags[mine] &= np.uint16(~POLICY_FLAGS & 0xFFFF)
    f.data[mine] = 0
    m.workingset.shadow_value[np.isin(m.workingset.shadow_lruvec, domain.lruvecs)] = 0
    domain.factory = factory
    successor = m.bind(domain, name, factory())
    if adopted.size:
        successor.folio_added(successor.ctx, adopted)
    return successor


# ----------------------------------------------------------------------
# Answer checks: what the core would otherwise have to trust
# ----------------------------------------------------------------------
def _invalid(message: str) -> PolicyFault:
    return PolicyFault(ExitKind.INVALID, message)


def _check_placed(m: Machine, args: tuple, answer: Any) -> None:
    """folio_added and folio_putback must leave every folio on a list of its
    own lruvec and type: a resident folio on no list could never be
    reclaimed (the invariant the core keeps between steps)."""
    folios = np.asarray(args[1], np.int64)
    lost = folios[~m.lists.on_resident_list(folios)]
    if lost.size:
        raise _invalid(f"{lost.size} folios were left on no list but a ghost list (folio {int(lost[0])} first)")


def _check_gone(m: Machine, args: tuple, answer: Any) -> None:
    """folio_evicted and folio_removed: the folios are leaving memory; a
    policy that puts one back on a list (a ghost list aside) would leave a
    list entry pointing at a free frame."""
    folios = np.asarray(args[1], np.int64)
    kept = folios[m.lists.on_resident_list(folios)]
    if kept.size:
        raise _invalid(f"folio {int(kept[0])} is leaving memory but was put on a list")


def check_victims(m: Machine, args: tuple, answer: Any) -> None:
    """Each victim must be resident on the request's lruvec, of the type
    scanned, on one of the policy's lists, and named once; the counts must
    be counts of what the lruvec holds. A policy that has folios to give and
    keeps giving none is stalling reclaim (sched_ext's watchdog)."""
    sc = args[1]
    if isinstance(answer, Victims):
        folios, lru_type = answer.folios, sc.lru_type if answer.lru_type is None else answer.lru_type
        _check_scan_counts(m, sc, answer)
    else:
        folios, lru_type = answer, sc.lru_type
    folios = np.asarray(folios if folios is not None else np.empty(0, np.int64)).ravel()
    _watch_for_stall(m, sc, lru_type, folios.size)
    if folios.size == 0:
        return
    if folios.dtype != np.int64:
        if not np.issubdtype(folios.dtype, np.integer):
            raise _invalid(f"select_victims: victims must be folio ids, not {folios.dtype}")
        folios = folios.astype(np.int64)
    f = m.folios
    if folios.size == 1:  # exact cache mode's every call: scalars are cheaper than arrays
        victim = int(folios[0])
        if not 0 <= victim < f.nr_pages:
            raise _invalid("select_victims: a victim is not a folio id")
        if f.lruvec[victim] != sc.lruvec or f.type[victim] != lru_type or m.lists.page_list[victim] < 0:
            _name_the_bad_victim(m, sc, lru_type, folios)
        return
    if folios.min() < 0 or folios.max() >= f.nr_pages:
        raise _invalid("select_victims: a victim is not a folio id")
    # one pass for the common case (every victim fine); the reason only
    # when something is wrong
    if np.any((f.lruvec[folios] != sc.lruvec) | (f.type[folios] != lru_type) | (m.lists.page_list[folios] < 0)):
        _name_the_bad_victim(m, sc, lru_type, folios)
    if _has_duplicates(m, folios):
        raise _invalid("select_victims: a folio is named twice")


def _name_the_bad_victim(m: Machine, sc: Any, lru_type: int, folios: np.ndarray) -> None:
    f = m.folios
    for problem, bad in (
        ("is not resident", f.lruvec[folios] < 0),
        (f"is on another lruvec than {sc.lruvec}", f.lruvec[folios] != sc.lruvec),
        ("is of the other LRU type", f.type[folios] != lru_type),
        ("is on none of the policy's lists", m.lists.page_list[folios] < 0),
    ):
        if bad.any():
            raise _invalid(f"select_victims: folio {int(folios[bad][0])} {problem}")


def _has_duplicates(m: Machine, folios: np.ndarray) -> bool:
    """In O(n): each folio writes its position into a slot of its own; a
    folio named twice finds a later position in its slot."""
    if m.folio_slots is None:
        m.folio_slots = np.zeros(m.folios.nr_pages, np.int64)
    positions = np.arange(folios.size)
    m.folio_slots[folios] = positions
    return bool(np.any(m.folio_slots[folios] != positions))


def _check_scan_counts(m: Machine, sc: Any, answer: Victims) -> None:
    held = sum(m.lruvec_type_sizes(sc.lruvec))
    for name in ("nr_scanned", "nr_used"):
        value = getattr(answer, name)
        if value is None and name == "nr_used":
            continue
        if not isinstance(value, (int, np.integer)) or not 0 <= value <= max(held, sc.nr_to_scan):
            raise _invalid(f"select_victims: {name} {value!r} is not a count of what the lruvec holds ({held})")
    if answer.lru_type not in (None, *LRU_TYPES):
        raise _invalid(f"select_victims: lru_type {answer.lru_type!r} is not an LRU type")


# sched_ext's watchdog ejects a scheduler that leaves a runnable task
# unscheduled for 30 s. Reclaim's equivalent: a policy that answers nothing,
# call after call, while its list holds folios of the type asked, until the
# core has offered it every one of them STALL_PASSES times over (a CLOCK
# hand gives each folio one second chance per pass, so a working CLOCK
# yields victims within two passes).
STALL_PASSES = 4


def _watch_for_stall(m: Machine, sc: Any, lru_type: int, nr_victims: int) -> None:
    key = (sc.lruvec, lru_type)
    if nr_victims:
        m.stall_offered.pop(key, None)
        return
    held = m.lruvec_type_sizes(sc.lruvec)[lru_type]
    if held == 0:
        return
    offered = m.stall_offered.get(key, 0) + max(sc.nr_to_scan, 1)
    m.stall_offered[key] = offered
    if offered >= STALL_PASSES * held:
        raise PolicyFault(ExitKind.STALL, f"select_victims gave no victims while offered {offered} folios, "
                                          f"{STALL_PASSES} times the {held} its list of type {lru_type} held")


def _check_decision(m: Machine, args: tuple, answer: Any) -> None:
    if answer is None:
        return
    if not isinstance(answer, ScanDecision):
        raise _invalid(f"should_reclaim must return a ScanDecision or None, not {type(answer).__name__}")
    for name in ("scan", "age"):
        pair = getattr(answer, name)
        if len(pair) != 2 or any(not isinstance(v, (int, np.integer)) or v < 0 for v in pair):
            raise _invalid(f"should_reclaim: {name} must be two non-negative ints, not {pair!r}")
    # the kernel never scans more than an lruvec holds (size >> priority);
    # a policy asking more would keep shrink_lruvec looping on nothing
    sizes = m.lruvec_type_sizes(args[1].lruvec)
    for lru_type, size in enumerate(sizes):
        if answer.scan[lru_type] + answer.age[lru_type] > size:
            raise _invalid(f"should_reclaim: scan and age of type {lru_type} ({answer.scan[lru_type]} + "
                           f"{answer.age[lru_type]}) exceed the {size} folios the lruvec holds")
    if not isinstance(answer.batch, (int, np.integer)) or answer.batch < 1:
        raise _invalid(f"should_reclaim: batch must be a positive int, not {answer.batch!r}")


def _check_per_folio(hook_name: str, allowed_bits: int | None) -> Callable:
    def check(m: Machine, args: tuple, answer: Any) -> None:
        if answer is None:
            return
        values = np.asarray(answer)
        if values.shape != (len(args[1]),) or (values.size and not np.issubdtype(values.dtype, np.integer)):
            raise _invalid(f"{hook_name} must return one int per folio ({len(args[1])}), not {values.shape} {values.dtype}")
        if allowed_bits is not None and np.any(values & ~allowed_bits):
            raise _invalid(f"{hook_name}: only the REFAULT_* bits may be set")

    return check


def _check_count(m: Machine, args: tuple, answer: Any) -> None:
    if answer is None:
        return
    held = sum(m.lruvec_type_sizes(args[1].lruvec))
    if not isinstance(answer, (int, np.integer)) or not 0 <= answer <= held:
        raise _invalid(f"age must return how many of the lruvec's {held} folios it looked at, not {answer!r}")


_check_shadows = _check_per_folio("folio_evicted", None)


def _check_evicted(m: Machine, args: tuple, answer: Any) -> None:
    _check_gone(m, args, answer)
    _check_shadows(m, args, answer)

_ANSWER_CHECKS: dict[str, Callable[[Any, tuple, Any], None]] = {
    "folio_added": _check_placed,
    "folio_putback": _check_placed,
    "select_victims": check_victims,
    "should_reclaim": _check_decision,
    "age": _check_count,
    "folio_evicted": _check_evicted,
    "folio_removed": _check_gone,
    "on_refault": _check_per_folio("on_refault", REFAULT_ACTIVATE | REFAULT_WORKINGSET),
}
