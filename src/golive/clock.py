"""The one source of time.

Every module that needs "now" or wants to wait takes a ``Clock``. The real
clock reads the system time; the virtual clock is moved forward by its
owner (tests, the sandbox, ``golive rehearse``), so a 48-hour soak rehearses
in seconds and a test controls exactly when a checkpoint falls due. Times
are always timezone-aware UTC.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Protocol


class Clock(Protocol):
    """What golive needs from time: the current instant, and a way to wait for a later one."""

    def now(self) -> datetime: ...

    def sleep_until(self, when: datetime) -> None: ...


class SystemClock:
    """Wall-clock time."""

    def now(self) -> datetime:
        return datetime.now(UTC)

    def sleep_until(self, when: datetime) -> None:
        delay = (when - self.now()).total_seconds()
        if delay > 0:
            time.sleep(delay)


Listener = Callable[[datetime, datetime], None]


class VirtualClock:
    """Time that moves only when told to.

    ``sleep_until`` jumps straight to the target. Listeners are called with
    (old, new) on every move, which is how the sandbox's traffic simulator
    fills in the minutes that passed.
    """

    def __init__(self, start: datetime) -> None:
        if start.tzinfo is None:
            raise ValueError("VirtualClock needs a timezone-aware start")
        self._now = start.astimezone(UTC)
        self._listeners: list[Listener] = []
        self._lock = threading.Lock()

    def now(self) -> datetime:
        return self._now

    def on_advance(self, listener: Listener) -> None:
        self._listeners.append(listener)

    def advance(self, delta: timedelta) -> None:
        self.sleep_until(self._now + delta)

    def sleep_until(self, when: datetime) -> None:
        with self._lock:
            if when <= self._now:
                return
            old, self._now = self._now, when.astimezone(UTC)
        for listener in self._listeners:
            listener(old, self._now)


def parse_instant(text: str) -> datetime:
    """An ISO-8601 instant; a naive one is taken as UTC."""
    value = datetime.fromisoformat(text)
    return value if value.tzinfo else value.replace(tzinfo=UTC)
