"""Who may act on the page: users with roles from a file, sessions, tokens, CSRF.

The users file (``golive serve --users FILE``) holds, per user, an Argon2
password hash (``golive hash-password``) and roles; API tokens are stored as
their SHA-256 so the file itself holds nothing that logs in. A browser logs
in once and gets an opaque session cookie (HttpOnly, SameSite=Strict) and a
CSRF token that every action must send back in a header; a token caller sends
``Authorization: Bearer`` and needs no CSRF token (it carries no ambient
cookie). Sessions live in the server's memory: a restart logs people out,
it never loses a recorded action.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
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


class Sessions:
    def __init__(self) -> None:
        self._by_id: dict[str, Session] = {}

    def open(self, user: User) -> Session:
        session = Session(secrets.token_urlsafe(32), user, secrets.token_urlsafe(32))
        self._by_id[session.id] = session
        return session

    def get(self, session_id: str | None) -> Session | None:
        return self._by_id.get(session_id) if session_id else None

    def close(self, session_id: str | None) -> None:
        if session_id:
            self._by_id.pop(session_id, None)


def csrf_ok(session: Session, sent: str | None) -> bool:
    return sent is not None and hmac.compare_digest(session.csrf, sent)
