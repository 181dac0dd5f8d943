"""The event stream: tracepoints with the kernel's names.

Emitting is free when nothing listens: callers test `events.enabled` (or
call emit, which returns at once). Listeners are callables taking one event
dict; the tracing issue adds filters, JSON lines and Perfetto output.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

Event = dict[str, Any]


class EventStream:
    def __init__(self) -> None:
        self._listeners: list[Callable[[Event], None]] = []
        self.enabled = False

    def subscribe(self, listener: Callable[[Event], None]) -> None:
        self._listeners.append(listener)
        self.enabled = True

    def emit(self, name: str, time_ns: int, **fields: Any) -> None:
        if not self.enabled:
            return
        event = {"name": name, "ts": int(time_ns), **fields}
        for listener in self._listeners:
            listener(event)
