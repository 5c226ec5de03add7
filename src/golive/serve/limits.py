"""How much one client may ask of ``golive serve``: login attempts, live streams, and the numbers behind them.

A guessing client is slowed per user name and per address (failures past a free allowance double the wait,
up to a cap, and the answer is 429 with ``Retry-After`` before any password is hashed); a flood of streams
is refused per user and in all. Every limit is a field of ``Limits`` so a test or a bench can lower it, and
``docs/serve.md`` states the defaults.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Limits:
    user_free_failures: int = 5  # wrong passwords for one user name before waits begin
    address_free_failures: int = 20  # wrong passwords from one address before waits begin
    backoff_first: float = 5.0  # seconds of the first wait; each further failure doubles it
    backoff_max: float = 900.0  # no wait is longer than 15 minutes
    forget_after: float = 3600.0  # a name or address quiet this long starts afresh
    hash_workers: int = 1  # passwords hashed at once (Argon2 takes 64 MiB and 4 threads each)
    hash_queue: int = 16  # logins waiting for a hasher; more are answered 503
    session_idle: float = 1800.0  # a session unused this long is closed
    session_max: float = 43200.0  # a session older than this is closed however busy
    sessions_max: int = 10000  # sessions held in memory; the oldest goes first
    login_body: int = 4096  # bytes
    action_body: int = 16384  # bytes
    other_body: int = 1024  # bytes: GET and the rest carry no body worth reading
    streams_per_user: int = 8  # live event streams per signed-in user (per address when anonymous)
    streams_total: int = 100
    text_in_view: int = 2000  # characters of any one string in the release document
    items_in_view: int = 500  # entries of any one list in the release document (the latest kept)


@dataclass
class _Tally:
    failures: int = 0
    last: float = 0.0


@dataclass
class LoginThrottle:
    """Counts login attempts per user name and per address; says how long to wait before the next one."""

    limits: Limits
    clock: Callable[[], float] = time.monotonic
    _users: dict[str, _Tally] = field(default_factory=dict)
    _addresses: dict[str, _Tally] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def _wait(self, tally: _Tally | None, free: int, now: float) -> float:
        if tally is None or tally.failures < free:
            return 0.0
        wait = min(self.limits.backoff_first * 2.0 ** (tally.failures - free), self.limits.backoff_max)
        return max(0.0, tally.last + wait - now)

    def begin(self, user: str, address: str) -> int:
        """Seconds to wait (0: go ahead). Going ahead counts as a failure until ``succeeded`` says otherwise,
        so parallel guesses cannot all slip in before the first one is judged."""
        now = self.clock()
        with self._lock:
            self._forget(now)
            wait = max(self._wait(self._users.get(user), self.limits.user_free_failures, now),
                       self._wait(self._addresses.get(address), self.limits.address_free_failures, now))
            if wait > 0:
                return max(1, math.ceil(wait))
            for book, key in ((self._users, user), (self._addresses, address)):
                tally = book.setdefault(key, _Tally())
                tally.failures += 1
                tally.last = now
            return 0

    def failed(self, user: str, address: str) -> None:
        """The attempt was judged wrong: waits count from now (a hash may take seconds)."""
        now = self.clock()
        with self._lock:
            for book, key in ((self._users, user), (self._addresses, address)):
                if key in book:
                    book[key].last = now

    def succeeded(self, user: str, address: str) -> None:
        with self._lock:
            self._users.pop(user, None)
            tally = self._addresses.get(address)
            if tally is not None:
                tally.failures = max(0, tally.failures - 1)

    def _forget(self, now: float) -> None:
        for book in (self._users, self._addresses):
            for key in [k for k, t in book.items() if now - t.last > self.limits.forget_after]:
                del book[key]


class TooManyStreams(Exception):
    """A live stream refused: the message says whose limit was reached."""


@dataclass
class StreamSlots:
    """Live event streams held, per user and in all."""

    limits: Limits
    _held: dict[str, int] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def take(self, who: str) -> None:
        with self._lock:
            if sum(self._held.values()) >= self.limits.streams_total:
                raise TooManyStreams(f"the server already holds {self.limits.streams_total} live streams, its limit: "
                                     "try again later")
            if self._held.get(who, 0) >= self.limits.streams_per_user:
                raise TooManyStreams(f"{who} already holds {self.limits.streams_per_user} live streams, the limit "
                                     "per user: close a tab")
            self._held[who] = self._held.get(who, 0) + 1

    def give_back(self, who: str) -> None:
        with self._lock:
            left = self._held.get(who, 0) - 1
            if left > 0:
                self._held[who] = left
            else:
                self._held.pop(who, None)
