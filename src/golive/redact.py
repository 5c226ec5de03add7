"""Keeping secrets out of everything golive writes.

A ``Redactor`` knows the secret values a run has touched (GitHub tokens,
secret values being set, anything the plan marks secret) plus the shapes of
well-known credentials, and replaces them with ``***`` in text and in nested
data before it reaches the terminal, a log, a report or the store.

Credentials ride inside URLs too (``http://user:pass@host``, a webhook's
``?token=`` or its secret path), and an endpoint is quoted by every error
that names it, so URL credentials are among the shapes masked. ``scrub`` is
the session-free form, for the last lines of defence (the store's event
writer, the CLI's error line) that cannot know a run's secret values.

A response body is no reason either: ``body_line`` cuts one to the line a
person reads (status, the HTML title or the first text, at most 200
characters, on a word boundary), never raw markup.
"""

from __future__ import annotations

import html
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
    # scheme://user:password@host (or a token alone as the user): the whole userinfo goes.
    re.compile(r"(?i)\b([a-z][a-z0-9+.-]*://)[^/\s@'\"<>]+(?=@)"),
    # Webhook-like URLs carry their secret in the query or in the path.
    re.compile(r"(?i)([?&;](?:access_token|token|api[_-]?key|key|secret|password|passwd|pwd|sig|signature|auth"
               r"|code|x-amz-signature|x-amz-credential|x-amz-security-token)=)[^&#\s'\"<>]+"),
    re.compile(r"(?i)(hooks\.slack\.com/(?:services|workflows|triggers)/)[^\s'\"<>?#]+"),
    re.compile(r"(?i)(discord(?:app)?\.com/api/webhooks/\d+/)[^\s'\"<>?#/]+"),
]
MAX_REASON = 200
_TITLE = re.compile(r"(?is)<title[^>]*>(.*?)</title>")
_DROPPED = re.compile(r"(?is)<(script|style|head)\b.*?</\1\s*>|<!--.*?-->")
_TAG = re.compile(r"(?s)<[^>]*>")


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


_PLAIN = Redactor()


def scrub(text: str) -> str:
    """Mask credential shapes (URL userinfo, webhook secrets, tokens) without knowing any run's secrets."""
    return _PLAIN(text)


def scrub_data(obj: Any) -> Any:
    return _PLAIN.data(obj)


def cut(text: str, limit: int = MAX_REASON) -> str:
    """``text`` on one line, at most ``limit`` characters, cut at a word boundary with an ellipsis."""
    flat = " ".join(text.split())
    if len(flat) <= limit:
        return flat
    head = flat[: limit - 1]
    space = head.rfind(" ")
    return (head[:space] if space > limit // 2 else head).rstrip(" ,;:.") + "…"


def body_line(status: int | None, body: str, reason: str = "") -> str:
    """What a response said, for a reason: ``503 Service Unavailable: <title or first text>``, one line, ≤ 200."""
    head = " ".join(str(part) for part in (status, reason) if part)
    title = _TITLE.search(body)
    if title is not None:
        text = html.unescape(_TAG.sub(" ", title.group(1)))
    elif "<" in body and _TAG.search(body):
        text = html.unescape(_TAG.sub(" ", _DROPPED.sub(" ", body)))
    else:
        text = body
    text = " ".join(text.split())
    line = f"{head}: {text}" if head and text and text != reason else (head or text)
    return scrub(cut(line))
