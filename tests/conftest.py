"""Every machine a test builds checks the core's invariants after every
step: a test that passes with a broken core state would prove nothing."""

from __future__ import annotations

import pytest

from simulator.invariants import check_invariants
from simulator.machine import Machine


@pytest.fixture(autouse=True)
def invariants_always_on(monkeypatch):
    original_init = Machine.__init__

    def init_with_invariants(self, *args, **kwargs):
        original_init(self, *args, **kwargs)
        self.invariant_checker = check_invariants

    monkeypatch.setattr(Machine, "__init__", init_with_invariants)
