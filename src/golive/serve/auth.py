"""Who may act on the page: users with roles from a file, sessions, tokens, CSRF.

The users file (``golive serve --users FILE``) holds, per user, an Argon2
password hash (``golive hash-password``) and roles; API tokens are stored as
their SHA-256 so the file itself holds nothing that logs in. A browser logs
in once and gets an opaque session cookie (HttpOnly, SameSite=Strict) and a
CSRF token that every action must send back in a header; a token caller sends
``Authorization: Bearer`` and needs no CSRF token (it carries no ambient
cookie). Sessions live in the server's memory, each closed when idle too
long or too old: a restart logs people out, it never loses a recorded
action. Passwords are checked on a small pool with a bounded queue, so a
flood of logins cannot hold more than a few Argon2 hashes in memory.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import os
import secrets
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from golive.errors import ConfigError

_hasher = PasswordHasher()


def hash_password(password: str) -> str:
    return _hasher.hash(password)


@dataclass(frozen=True)
class User:
    name: str
    roles: frozenset[str]


@dataclass(frozen=True)
class Session:
    id: str
    user: User
    csrf: str


@dataclass
class Users:
    passwords: dict[str, str] = field(default_factory=dict)
    roles: dict[str, frozenset[str]] = field(default_factory=dict)
    tokens: dict[str, User] = field(default_factory=dict)  # sha256 of the token -> who it is

    @classmethod
    def load(cls, path: Path) -> Users:
        try:
            data: Any = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        except OSError as exc:
            raise ConfigError(f"cannot read the users file {path}: {exc.strerror}") from None
        except yaml.YAMLError as exc:
            raise ConfigError(f"{path}: not YAML: {exc}") from None
        if not isinstance(data, dict) or set(data) - {"users", "tokens"}:
            raise ConfigError(f"{path}: expected the keys users: and tokens:")
        users = cls()
        for name, entry in (data.get("users") or {}).items():
            if not isinstance(entry, dict) or not str(entry.get("password", "")).startswith("$argon2"):
                raise ConfigError(f"{path}: users.{name}.password must be an Argon2 hash (golive hash-password)")
            users.passwords[str(name)] = str(entry["password"])
            users.roles[str(name)] = frozenset(str(r) for r in entry.get("roles") or [])
        for name, entry in (data.get("tokens") or {}).items():
            digest = str((entry or {}).get("sha256", "")).lower()
            if len(digest) != 64:
                raise ConfigError(f"{path}: tokens.{name}.sha256 must be the token's SHA-256 in hex")
            users.tokens[digest] = User(str(name), frozenset(str(r) for r in entry.get("roles") or []))
        return users

    def login(self, name: str, password: str) -> User | None:
        stored = self.passwords.get(name)
        if stored is None:
            _hasher.hash(password)  # the same work for an unknown name: no user enumeration by timing
            return None
        try:
            _hasher.verify(stored, password)
        except (VerificationError, InvalidHashError):
            return None
        return User(name, self.roles.get(name, frozenset()))

    def by_token(self, token: str) -> User | None:
        digest = hashlib.sha256(token.encode()).hexdigest()
        for known, user in self.tokens.items():
            if hmac.compare_digest(known, digest):
                return user
        return None


@dataclass
class _Held:
    session: Session
    opened: float
    used: float


class Sessions:
    """Sessions in memory, each closed after ``idle`` seconds unused or ``absolute`` seconds in all."""

    def __init__(self, idle: float, absolute: float, most: int, clock: Callable[[], float] = time.monotonic) -> None:
        self.idle, self.absolute, self.most, self.clock = idle, absolute, most, clock
        self._by_id: dict[str, _Held] = {}  # in opening order: the oldest is evicted first
        self._lock = threading.Lock()

    def open(self, user: User) -> Session:
        session = Session(secrets.token_urlsafe(32), user, secrets.token_urlsafe(32))
        now = self.clock()
        with self._lock:
            while len(self._by_id) >= self.most:
                del self._by_id[next(iter(self._by_id))]
            self._by_id[session.id] = _Held(session, now, now)
        return session

    def get(self, session_id: str | None) -> Session | None:
        if not session_id:
            return None
        now = self.clock()
        with self._lock:
            held = self._by_id.get(session_id)
            if held is None:
                return None
            if now - held.used > self.idle or now - held.opened > self.absolute:
                del self._by_id[session_id]
                return None
            held.used = now
            return held.session

    def close(self, session_id: str | None) -> None:
        if session_id:
            with self._lock:
                self._by_id.pop(session_id, None)


class HashersBusy(Exception):
    """Every password hasher is busy and the queue is full: the login is refused, to be tried again."""


class HashPool:
    """Password checks on a few threads with a bounded queue: a login flood waits or is refused, never
    hashes in parallel beyond ``workers`` (each Argon2 hash holds 64 MiB while it runs)."""

    def __init__(self, users: Users, workers: int, queue: int) -> None:
        self.users = users
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="golive-hash", initializer=_yield_cpu)
        self._slots = threading.BoundedSemaphore(workers + queue)

    async def login(self, name: str, password: str) -> User | None:
        if not self._slots.acquire(blocking=False):
            raise HashersBusy
        try:
            return await asyncio.wrap_future(self._pool.submit(self.users.login, name, password))
        finally:
            self._slots.release()


def _yield_cpu() -> None:
    """Run this hasher thread (and Argon2's own lanes, which inherit it) at a lower priority than the event
    loop, so a login flood slows the logins, not every page read."""
    with contextlib.suppress(OSError, AttributeError):
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), 10)


def csrf_ok(session: Session, sent: str | None) -> bool:
    return sent is not None and hmac.compare_digest(session.csrf.encode(), sent.encode("utf-8", "surrogateescape"))
