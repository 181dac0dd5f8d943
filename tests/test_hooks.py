"""The interface itself: every hook documented, the order of hook calls on a
tiny run, binding without pluggy's per-call dispatch, and the refusals."""

from __future__ import annotations

import inspect

import numpy as np
import pytest

import hooks
from hooks import hookspec
from simulator.config import FileConfig, MachineConfig, NodeConfig, PatternConfig, ProcessConfig, RegionConfig, RunConfig, SwapConfig, DeviceConfig
from simulator.context import PolicyContextError
from simulator.lru import ClassicLRU
from simulator.machine import Machine
from simulator.policy import HOOK_NAMES, BoundPolicy, PolicyError


def test_every_hook_is_documented_the_same_way():
    for name in HOOK_NAMES:
        doc = inspect.getdoc(getattr(hookspec, name))
        assert doc and ("Since: 1." in doc or "Since: 1.1." in doc), name
        assert ("Required." in doc) == (name in hooks.REQUIRED_HOOKS), name


def test_the_classic_lru_implements_the_version_1_0_hooks_but_folio_evicted_and_removed():
    bound = BoundPolicy("lru", ClassicLRU())
    since_1_1 = {"age_node", "policy_state"}
    assert set(bound.hooks_implemented) == set(HOOK_NAMES) - {"folio_evicted", "folio_removed"} - since_1_1
    assert all("Since: 1.1." in inspect.getdoc(getattr(hookspec, name)) for name in since_1_1)


class Recorder(ClassicLRU):
    """The classic LRU, noting every hook call in order (with the batch size
    where there is a batch)."""

    def __init__(self) -> None:
        super().__init__()
        self.calls: list[tuple[str, int]] = []

    @hooks.hookimpl
    def policy_init(self, ctx):
        self.calls.append(("policy_init", -1))
        return super().policy_init(ctx)

    @hooks.hookimpl
    def folio_added(self, ctx, folios):
        self.calls.append(("folio_added", len(folios)))
        return super().folio_added(ctx, folios)

    @hooks.hookimpl
    def folio_accessed(self, ctx, folios):
        self.calls.append(("folio_accessed", len(folios)))
        return super().folio_accessed(ctx, folios)

    @hooks.hookimpl
    def should_reclaim(self, ctx, request):
        self.calls.append(("should_reclaim", -1))
        return super().should_reclaim(ctx, request)

    @hooks.hookimpl
    def age(self, ctx, request):
        self.calls.append(("age", -1))
        return super().age(ctx, request)

    @hooks.hookimpl
    def select_victims(self, ctx, request):
        self.calls.append(("select_victims", -1))
        return super().select_victims(ctx, request)

    @hooks.hookimpl
    def folio_putback(self, ctx, folios, reasons, request):
        # a putback without a request is a rotation after writeback, not a shrink batch
        self.calls.append(("folio_putback" if request is not None else "folio_putback:rotate", len(folios)))
        return super().folio_putback(ctx, folios, reasons, request)

    @hooks.hookimpl
    def on_refault(self, ctx, folios, refault):
        self.calls.append(("on_refault", len(folios)))
        return super().on_refault(ctx, folios, refault)


def tiny_machine(policy, accesses: int = 20000, **kwargs) -> Machine:
    cfg = MachineConfig(
        nodes=(NodeConfig(pages=600),),
        processes=(
            ProcessConfig("anon", (RegionConfig(kind="anon", pages=500, pattern=PatternConfig(kind="loop")),)),
            ProcessConfig("reader", (RegionConfig(kind="file", file="f", pages=400, access="rw", pattern=PatternConfig(kind="sequential")),)),
        ),
        files=(FileConfig("f", 400),),
        swap=SwapConfig(2000, DeviceConfig(10_000, 1 << 30)),
    )
    return Machine(cfg, RunConfig(accesses=accesses), "recorder", policy, **kwargs)


def test_the_order_of_hook_calls_on_a_tiny_run():
    rec = Recorder()
    m = tiny_machine(rec)
    m.run()
    names = [name for name, _ in rec.calls]
    assert names[0] == "policy_init" and names.count("policy_init") == 1
    first = {name: names.index(name) for name in set(names)}
    # pages are added before anything is accessed, reclaimed or refaulted
    assert first["folio_added"] < first["folio_accessed"] < first["should_reclaim"]
    # each round decides before it ages or selects, and every shrink batch ends in putback
    assert first["should_reclaim"] < first["select_victims"] < first["folio_putback"]
    assert names.count("select_victims") == names.count("folio_putback")
    # a refault is announced before the refaulting folios are added
    i = first["on_refault"]
    assert names[i + 1] == "folio_added" and rec.calls[i][1] <= rec.calls[i + 1][1]


def test_binding_calls_the_implementation_directly():
    policy = ClassicLRU()
    bound = BoundPolicy("lru", policy)
    assert bound.select_victims.__func__ is ClassicLRU.select_victims
    assert bound.folio_evicted is None


def test_an_implementation_may_take_fewer_arguments_than_its_spec():
    class Minimal(ClassicLRU):
        @hooks.hookimpl
        def folio_accessed(self, folios):  # no ctx
            self.seen = len(folios)

    bound = BoundPolicy("minimal", Minimal())
    bound.folio_accessed("ctx", np.arange(3))
    assert bound.plugin.seen == 3


def test_a_policy_for_another_interface_version_is_refused():
    class Future(ClassicLRU):
        INTERFACE_VERSION = 2

    class NewerMinor(ClassicLRU):
        INTERFACE_VERSION = (1, 9)

    class Older(ClassicLRU):
        INTERFACE_VERSION = 1  # (1, 0): runs on 1.1

    with pytest.raises(PolicyError, match="interface version 2"):
        BoundPolicy("future", Future())
    with pytest.raises(PolicyError, match=r"\(1, 9\)"):
        BoundPolicy("newer", NewerMinor())
    assert BoundPolicy("older", Older()).interface_version == 1


def test_a_policy_without_the_required_hooks_is_refused():
    class Empty:
        @hooks.hookimpl
        def folio_added(self, ctx, folios):
            pass

    with pytest.raises(PolicyError, match="policy_init, select_victims"):
        BoundPolicy("empty", Empty())


def test_a_hook_with_an_unknown_argument_is_refused():
    class Wrong(ClassicLRU):
        @hooks.hookimpl
        def folio_added(self, ctx, pages):
            pass

    with pytest.raises(PolicyError, match="pages"):
        BoundPolicy("wrong", Wrong())


def test_helpers_refuse_what_belongs_to_the_core():
    m = tiny_machine(ClassicLRU())
    m.run()
    folio = int(np.flatnonzero(m.folios.node >= 0)[0])
    with pytest.raises(PolicyContextError, match="belong to the core"):
        m.ctx.folio_set_flags(folio, hooks.types.PG_dirty)
    with pytest.raises(PolicyContextError, match="may count only"):
        m.ctx.count_event("pgsteal_kswapd", 0, 1)
    other_type_list = m.policy.plugin.lruvecs[0].lists[(1 - m.ctx.folio_type(folio), False)]
    with pytest.raises(PolicyContextError, match="another lruvec or type"):
        m.ctx.list_add(other_type_list, folio)


def test_invalid_victims_are_dropped_and_counted():
    class Sloppy(ClassicLRU):
        @hooks.hookimpl
        def select_victims(self, ctx, request):
            victims = ClassicLRU.select_victims(self, ctx, request)
            return np.concatenate([victims.folios, victims.folios[:1], [10**9, -5]])

    m = tiny_machine(Sloppy())
    m.run()
    assert m.vmstat.total_dict()["pgpolicy_invalid"] > 0
