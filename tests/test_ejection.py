"""Ejection, as sched_ext ejects a BPF scheduler: an untrusted policy that
raises or answers what the core cannot accept is replaced by the trusted
fallback within the same call, every folio it held is adopted, and the run
completes with its invariants intact (conftest checks them every step)."""

from __future__ import annotations

import numpy as np
import pytest

import hooks
from hooks.types import PG_policy7, ScanDecision
from reclaim_ext.sandbox.runtime import SandboxContext, SandboxLimits
from simulator.lru import ClassicLRU
from simulator.mglru import MultiGenLRU
from simulator.policy import ExitKind, PolicyFault
from test_hooks import tiny_machine


class Untrusted(ClassicLRU):
    """The classic LRU loaded as if it were a user's policy."""

    reclaim_ext_untrusted = True


def ejected(policy, accesses: int = 20000, **kwargs):
    m = tiny_machine(policy, accesses, **kwargs)
    m.run()
    assert m.total_accesses == accesses, "the run completes"
    assert len(m.ejections) == 1, m.ejections
    return m, m.ejections[0]


def test_a_well_behaved_untrusted_policy_runs_like_the_trusted_one():
    trusted, untrusted = tiny_machine(ClassicLRU()), tiny_machine(Untrusted())
    trusted.run()
    untrusted.run()
    assert untrusted.ejections == []
    assert untrusted.vmstat.total_dict() == trusted.vmstat.total_dict()


def test_an_exception_ejects_and_the_fallback_answers_the_same_call():
    class Crashes(Untrusted):
        calls = 0

        @hooks.hookimpl
        def select_victims(self, ctx, request):
            self.calls += 1
            if self.calls == 3:
                return 1 // 0
            return super().select_victims(ctx, request)

    m, record = ejected(Crashes())
    assert record["kind"] == ExitKind.ERROR.value
    assert record["hook"] == "select_victims"
    assert "ZeroDivisionError" in record["message"]
    assert record["fallback"] == "lru" and m.policy.name == "lru"
    assert m.vmstat.total_dict()["pgsteal_kswapd"] + m.vmstat.total_dict()["pgsteal_direct"] > 0


@pytest.mark.parametrize(
    "answer, problem",
    [
        (lambda v, m: np.concatenate([v, v[:1]]), "named twice"),
        (lambda v, m: np.append(v, np.flatnonzero(m.folios.node < 0)[0]), "not resident"),
        (lambda v, m: np.array([-1]), "not a folio id"),
        (lambda v, m: np.array([1.5]), "folio ids"),
    ],
    ids=["duplicated", "not-resident", "not-an-id", "not-ints"],
)
def test_invalid_victims_eject(answer, problem):
    class Lies(Untrusted):
        @hooks.hookimpl
        def select_victims(self, ctx, request):
            return answer(super().select_victims(ctx, request).folios, ctx._m)

    _, record = ejected(Lies())
    assert record["kind"] == ExitKind.INVALID.value and problem in record["message"]


def test_a_victim_of_another_type_ejects():
    class WrongType(Untrusted):
        @hooks.hookimpl
        def select_victims(self, ctx, request):
            m = ctx._m
            other = np.flatnonzero((m.folios.type != request.lru_type) & (m.lists.page_list >= 0))[:1]
            return other

    _, record = ejected(WrongType())
    assert record["kind"] == ExitKind.INVALID.value and "other LRU type" in record["message"]


def test_folios_left_on_no_list_eject():
    class Drops(Untrusted):
        @hooks.hookimpl
        def folio_added(self, ctx, folios):
            super().folio_added(ctx, folios[1:])

    _, record = ejected(Drops())
    assert record["kind"] == ExitKind.INVALID.value and "on no list" in record["message"]


def test_a_failing_init_leaves_the_fallback_attached_from_the_start():
    class NoInit(Untrusted):
        @hooks.hookimpl
        def policy_init(self, ctx):
            raise RuntimeError("cannot set up")

    m, record = ejected(NoInit())
    assert record["hook"] == "policy_init" and record["time_ns"] == 0


def test_wrong_shadow_values_and_refault_bits_eject():
    class ShortShadows(Untrusted):
        @hooks.hookimpl
        def folio_evicted(self, ctx, folios):
            return np.zeros(len(folios) + 1, np.int64)

    class BadBits(Untrusted):
        @hooks.hookimpl
        def on_refault(self, ctx, folios, refault):
            return np.full(len(folios), 8)

    for policy, hook in ((ShortShadows(), "folio_evicted"), (BadBits(), "on_refault")):
        _, record = ejected(policy)
        assert (record["kind"], record["hook"]) == (ExitKind.INVALID.value, hook)


def test_adoption_hands_every_held_folio_to_the_fallback_coldest_first():
    class Marks(Untrusted):
        """Sets a policy bit it owns, then fails in the middle of a run."""

        accesses = 0

        @hooks.hookimpl
        def folio_added(self, ctx, folios):
            super().folio_added(ctx, folios)
            ctx.folio_set_flags(folios, PG_policy7)

        @hooks.hookimpl
        def folio_accessed(self, ctx, folios):
            self.accesses += 1
            if self.accesses == 50:
                raise ValueError("tired")
            super().folio_accessed(ctx, folios)

    m, record = ejected(Marks())
    assert record["hook"] == "folio_accessed"
    resident = m.folios.node >= 0
    assert np.all(m.lists.page_list[resident] >= 0)
    # the fallback put its own lists in place; the ejected policy's bits are gone
    assert len(m.lists.queues) == 4 and not np.any(m.folios.flags & PG_policy7)


def test_the_fallback_may_be_mglru():
    class Crashes(Untrusted):
        @hooks.hookimpl
        def should_reclaim(self, ctx, request):
            raise KeyError("no")

    m, record = ejected(Crashes(), fallback=("mglru", MultiGenLRU))
    assert record["fallback"] == "mglru" and m.policy.name == "mglru"


def test_an_ejection_is_an_event():
    class Crashes(Untrusted):
        @hooks.hookimpl
        def folio_accessed(self, ctx, folios):
            raise IndexError("out")

    m = tiny_machine(Crashes())
    seen = []
    m.events.subscribe(seen.append)
    m.run()
    names = [e["name"] for e in seen]
    assert "policy_ejected" in names
    ejection = seen[names.index("policy_ejected")]
    assert ejection["kind"] == "error" and ejection["hook"] == "folio_accessed"
    # the fallback's attachment follows the ejection
    assert names[names.index("policy_ejected") + 1] == "policy_attached"


def test_a_scan_beyond_the_lruvec_ejects_instead_of_looping():
    class Greedy(Untrusted):
        @hooks.hookimpl
        def should_reclaim(self, ctx, request):
            return ScanDecision(scan=(10**12, 10**12))

    _, record = ejected(Greedy())
    assert record["kind"] == ExitKind.INVALID.value and "exceed" in record["message"]


def test_a_policy_that_keeps_giving_no_victims_is_ejected_by_the_watchdog():
    class Hoards(Untrusted):
        @hooks.hookimpl
        def select_victims(self, ctx, request):
            return np.empty(0, np.int64)

    m, record = ejected(Hoards(), accesses=40000)
    assert record["kind"] == ExitKind.STALL.value and "4 times the" in record["message"]
    assert m.vmstat.total_dict()["oom_kill"] == 0, "the fallback reclaims instead of the OOM killer"


def test_folios_put_back_on_a_list_as_they_leave_memory_eject():
    class Clings(Untrusted):
        @hooks.hookimpl
        def folio_evicted(self, ctx, folios):
            self.folio_added(ctx, folios)

    _, record = ejected(Clings())
    assert (record["kind"], record["hook"]) == (ExitKind.INVALID.value, "folio_evicted")
    assert "leaving memory" in record["message"]


@pytest.mark.parametrize("field", ["nr_scanned", "nr_used"])
def test_counts_beyond_what_the_lruvec_holds_eject(field):
    class Inflates(Untrusted):
        @hooks.hookimpl
        def select_victims(self, ctx, request):
            return super().select_victims(ctx, request)._replace(**{field: 1 << 62})

    _, record = ejected(Inflates())
    assert record["kind"] == ExitKind.INVALID.value and field in record["message"]


def test_state_cannot_be_set_on_a_folio_out_of_memory():
    m = tiny_machine(ClassicLRU())
    ctx = SandboxContext(m.ctx, m.folios.nr_pages, SandboxLimits())
    gone = int(np.flatnonzero(m.folios.node < 0)[0])
    for helper in (ctx.folio_set_flags, ctx.folio_clear_flags, ctx.folio_set_data):
        with pytest.raises(PolicyFault, match="not resident") as info:
            helper(gone, PG_policy7)
        assert info.value.kind == ExitKind.HELPER
