"""Errors of the simulated machine."""


class SimulationError(RuntimeError):
    """The machine cannot go on (nothing left to OOM-kill, a livelock)."""
