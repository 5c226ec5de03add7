"""Keeping secrets out of everything golive writes.

A ``Redactor`` knows the secret values a run has touched (GitHub tokens,
secret values being set, anything the plan marks secret) plus the shapes of
well-known credentials, and replaces them with ``***`` in text and in nested
data before it reaches the terminal, a log, a report or the store.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

MASK = "***"
_MIN_SECRET_LEN = 4
_PATTERNS = [
    re.compile(r"gh[pousr]_[A-Za-z0-9]{20,}"),
    re.compile(r"github_pat_[A-Za-z0-9_]{20,}"),
    re.compile(r"(?<![A-Za-z0-9/+=])[A-Za-z0-9/+=]{40}(?![A-Za-z0-9/+=])(?=.*(?:secret|Secret|SECRET))"),
    re.compile(r"(?i)(authorization:\s*(?:bearer|token)\s+)\S+"),
    re.compile(r"(?i)(aws_secret_access_key\s*[=:]\s*)\S+"),
    re.compile(r"(?i)(aws_session_token\s*[=:]\s*)\S+"),
]


class Redactor:
    """Replaces known secret values and credential-shaped strings with ``***``."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        self._values: set[str] = set()
        for value in secrets:
            self.add(value)

    def add(self, value: str | None) -> None:
        """Remember a secret value; too-short values are ignored (they would mask ordinary words)."""
        if value and len(value) >= _MIN_SECRET_LEN:
            self._values.add(value)

    def __call__(self, text: str) -> str:
        for value in sorted(self._values, key=len, reverse=True):
            text = text.replace(value, MASK)
        for pattern in _PATTERNS:
            text = pattern.sub(lambda m: (m.group(1) if m.groups() else "") + MASK, text)
        return text

    def data(self, obj: Any) -> Any:
        """The same, through dicts, lists and tuples; other values are returned unchanged."""
        if isinstance(obj, str):
            return self(obj)
        if isinstance(obj, dict):
            return {k: self.data(v) for k, v in obj.items()}
        if isinstance(obj, list | tuple):
            return [self.data(v) for v in obj]
        return obj
