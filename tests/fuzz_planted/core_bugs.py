"""Planted bugs in the core, for tests/test_fuzz.py: each breaks one rule
the oracles check, the way a plausible slip in the simulator would. Each
takes pytest's monkeypatch, so the bug lives only for one test.
"""

from __future__ import annotations

import pytest

import simulator.ejection
import simulator.page_alloc
from simulator.memcontrol import MemCgroups
from simulator.vmscan import Vmscan


def kswapd_stops_at_low_watermark(monkeypatch: pytest.MonkeyPatch) -> None:
    """pgdat_balanced() compares with the low watermark instead of the high
    one: kswapd stops as soon as the allocator can go on, and sleeps with
    the node below the high watermark."""
    monkeypatch.setattr(Vmscan, "pgdat_balanced", lambda self, nid: self.m.nodes[nid].nr_free > self.m.nodes[nid].wmark.low)


def kswapd_stops_at_min_watermark(monkeypatch: pytest.MonkeyPatch) -> None:
    """pgdat_balanced() compares with the min watermark: the allocator's
    wakeups find the node "balanced" and kswapd never wakes."""
    monkeypatch.setattr(Vmscan, "pgdat_balanced", lambda self, nid: self.m.nodes[nid].nr_free > self.m.nodes[nid].wmark.min)


def no_duplicate_victim_check(monkeypatch: pytest.MonkeyPatch) -> None:
    """The sandbox's answer check forgets duplicates among the victims."""
    monkeypatch.setattr(simulator.ejection, "_has_duplicates", lambda m, folios: False)


def no_reclaim_retry_limit(monkeypatch: pytest.MonkeyPatch) -> None:
    """The allocator's slow path retries reclaim without progress for ever
    instead of MAX_RECLAIM_RETRIES times before the OOM killer."""
    monkeypatch.setattr(simulator.page_alloc, "MAX_RECLAIM_RETRIES", 1 << 60)


def anon_freed_without_swap(monkeypatch: pytest.MonkeyPatch) -> None:
    """Reclaim frees anon folios without giving them a swap slot and
    writing them out: their data is gone."""
    monkeypatch.setattr(Vmscan, "_add_to_swap", lambda self, victims, reasons, sc: None)


def memcg_uncharge_forgotten(monkeypatch: pytest.MonkeyPatch) -> None:
    """Folios leaving memory keep their memcg charge: memory.current only
    grows."""
    monkeypatch.setattr(MemCgroups, "uncharge", lambda self, folios: None)
