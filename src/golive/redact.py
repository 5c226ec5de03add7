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
from dataclasses import dataclass
from typing import Any, Literal

MASK = "***"
_MIN_SECRET_LEN = 4


# What ``(?i)[a-z0-9+.-]`` matches, the scheme of a URL: ASCII, and the four letters Unicode folds onto it.
_SCHEME_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789+.-\u0130\u0131\u017f\u212a")
_USERINFO_RUN = re.compile(r"[^/\s@'\"<>]*")


@dataclass(frozen=True)
class _Shape:
    """A credential shape, the casefolded strings every match of it contains, and how far a match can reach.

    A report is megabytes, and most shapes occur in none of it: a shape whose needles the text lacks is not
    searched at all. ``scope`` says what the pattern must read when one is there: the whole ``text``; only the
    ``line``s holding a needle (no match, lookarounds included, crosses a line break); or, for a URL's
    userinfo, only the ``url``s whose ``://`` is followed by an ``@``.
    """

    pattern: re.Pattern[str]
    needles: tuple[str, ...]
    scope: Literal["text", "line", "url"] = "text"

    def sub(self, text: str, folded: str) -> str:
        if not any(needle in folded for needle in self.needles):
            return text
        if self.scope == "text" or len(folded) != len(text):
            return self.pattern.sub(_keep_prefix, text)
        spans = _lines_holding(text, folded, self.needles) if self.scope == "line" else _userinfo_urls(text)
        parts: list[str] = []
        last = 0
        changed = False
        for start, end in spans:
            span = text[start:end]
            masked = self.pattern.sub(_keep_prefix, span)
            changed = changed or masked is not span
            parts += [text[last:start], masked]
            last = end
        return "".join(parts) + text[last:] if changed else text


def _keep_prefix(match: re.Match[str]) -> str:
    return (match.group(1) if match.groups() else "") + MASK


def _lines_holding(text: str, folded: str, needles: tuple[str, ...]) -> list[tuple[int, int]]:
    """The lines of ``text`` (start, end) in which ``folded`` (its casefold, of the same length) holds a needle."""
    lines: set[tuple[int, int]] = set()
    for needle in needles:
        at = folded.find(needle)
        while at != -1:
            end = text.find("\n", at)
            end = len(text) if end == -1 else end
            lines.add((text.rfind("\n", 0, at) + 1, end))
            at = folded.find(needle, end)
    return sorted(lines)


def _userinfo_urls(text: str) -> list[tuple[int, int]]:
    """Spans around each ``scheme://userinfo@``: the scheme's run of characters, with the one before it (what
    ``\\b`` looks at), to the ``@``. A match holds one ``://`` (its userinfo has no ``/``), so none is missed."""
    spans: list[tuple[int, int]] = []
    last = 0
    at = text.find("://")
    while at != -1:
        end = _USERINFO_RUN.match(text, at + 3).end()  # type: ignore[union-attr]
        if not (at + 3 < end < len(text) and text[end] == "@"):
            at = text.find("://", at + 1)  # the next may start inside this run: userinfo allows ':'
            continue
        start = at
        while start > last and text[start - 1] in _SCHEME_CHARS:
            start -= 1
        spans.append((max(start - 1, last), end + 1))
        last = end + 1
        at = text.find("://", last)
    return spans


_QUERY_KEYS = ("token=", "key=", "secret=", "password=", "passwd=", "pwd=", "sig=", "signature=", "auth=", "code=",
               "x-amz-credential=")
_SHAPES = [
    _Shape(re.compile(r"gh[pousr]_[A-Za-z0-9]{20,}"), ("gh",)),
    _Shape(re.compile(r"github_pat_[A-Za-z0-9_]{20,}"), ("github_pat_",)),
    _Shape(re.compile(r"(?<![A-Za-z0-9/+=])[A-Za-z0-9/+=]{40}(?![A-Za-z0-9/+=])(?=.*(?:secret|Secret|SECRET))"),
           ("secret",), "line"),
    _Shape(re.compile(r"(?i)(authorization:\s*(?:bearer|token)\s+)\S+"), ("authorization",)),
    _Shape(re.compile(r"(?i)(aws_secret_access_key\s*[=:]\s*)\S+"), ("aws_secret_access_key",)),
    _Shape(re.compile(r"(?i)(aws_session_token\s*[=:]\s*)\S+"), ("aws_session_token",)),
    # scheme://user:password@host (or a token alone as the user): the whole userinfo goes.
    _Shape(re.compile(r"(?i)\b([a-z][a-z0-9+.-]*://)[^/\s@'\"<>]+(?=@)"), ("://",), "url"),
    # Webhook-like URLs carry their secret in the query or in the path.
    _Shape(re.compile(r"(?i)([?&;](?:access_token|token|api[_-]?key|key|secret|password|passwd|pwd|sig|signature|auth"
                      r"|code|x-amz-signature|x-amz-credential|x-amz-security-token)=)[^&#\s'\"<>]+"),
           _QUERY_KEYS, "line"),
    _Shape(re.compile(r"(?i)(hooks\.slack\.com/(?:services|workflows|triggers)/)[^\s'\"<>?#]+"), ("hooks.slack.com",)),
    _Shape(re.compile(r"(?i)(discord(?:app)?\.com/api/webhooks/\d+/)[^\s'\"<>?#/]+"), ("discord",)),
]
# Every shape's needles in one search: a text (most are short: a report's cells, a state's values) holding none
# of them is one no shape would touch.
_ANY_NEEDLE = re.compile("|".join(re.escape(needle) for shape in _SHAPES for needle in shape.needles))
MAX_REASON = 200
_TITLE = re.compile(r"(?is)<title[^>]*>(.*?)</title>")
_DROPPED = re.compile(r"(?is)<(script|style|head)\b.*?</\1\s*>|<!--.*?-->")
_TAG = re.compile(r"(?s)<[^>]*>")


class Redactor:
    """Replaces known secret values and credential-shaped strings with ``***``."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        self._values: set[str] = set()
        # The values longest first, sorted once per set of values (it only grows: a list as long as the set is
        # of the same values, even while another thread adds one).
        self._longest_first: list[str] = []
        for value in secrets:
            self.add(value)

    def add(self, value: str | None) -> None:
        """Remember a secret value; too-short values are ignored (they would mask ordinary words)."""
        if value and len(value) >= _MIN_SECRET_LEN:
            self._values.add(value)

    def __call__(self, text: str) -> str:
        ordered = self._longest_first
        if len(ordered) != len(self._values):
            ordered = self._longest_first = sorted(self._values, key=len, reverse=True)
        for value in ordered:
            text = text.replace(value, MASK)
        folded = text.casefold()
        if _ANY_NEEDLE.search(folded) is None:
            return text
        for shape in _SHAPES:
            masked = shape.sub(text, folded)
            if masked is not text:
                text, folded = masked, masked.casefold()
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
