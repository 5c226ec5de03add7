"""Text that comes in from outside, checked at the door.

A plan, an operator on the command line, the page and incident JSON all hand golive text that it stores and
prints later. A NUL byte crashes PostgreSQL's driver, other control characters rewrite a terminal, and a
20 MB title makes every later read huge; deep JSON exhausts Python's stack before any field is looked at.
Every door checks with these functions, so the limits and the wording are the same everywhere: one line
naming the field, exit 2 on the command line (``UsageError``) and 400 on the page.
"""

from __future__ import annotations

import json
import re
from typing import Any

from golive.errors import UsageError

TITLE_MAX = 200
NOTE_MAX = 2000
JSON_DEPTH_MAX = 64
JSON_MAX_CHARS = 1_000_000  # a JSON document on stdin (an incident from an alerting tool)

# C0 controls but tab and newline, DEL, and C1 controls (ESC-less CSI, etc.).
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")
_CONTROL_NO_NEWLINE = re.compile(r"[\x00-\x08\x0a-\x1f\x7f-\x9f]")


class TextRefused(UsageError):
    """Text refused at a door: it names the field and why (exit 2, or 400 on the page)."""

    def __init__(self, field: str, reason: str) -> None:
        self.field = field
        self.reason = reason
        super().__init__(f"{field}: {reason}")


def _describe(char: str) -> str:
    return "a NUL byte" if char == "\x00" else f"the control character U+{ord(char):04X}"


def check_characters(field: str, value: str, *, multiline: bool = True) -> str:
    """``value`` unchanged if it holds no NUL or other control character (newline and tab allowed where
    ``multiline``, tab alone otherwise), else ``TextRefused`` naming ``field``; no length limit (a plan's
    commands and descriptions are as long as the plan file allows)."""
    found = (_CONTROL if multiline else _CONTROL_NO_NEWLINE).search(value)
    if found is not None:
        raise TextRefused(field, f"contains {_describe(found.group())} at character {found.start() + 1}; "
                                 "remove it")
    return value


def check_text(field: str, value: str, *, limit: int = NOTE_MAX, multiline: bool = True) -> str:
    """``value`` unchanged if it may be stored, else ``TextRefused`` naming ``field``.

    Refused: NUL and other control characters (newline and tab are allowed where ``multiline``, tab
    alone otherwise), and more than ``limit`` characters.
    """
    check_characters(field, value, multiline=multiline)
    if len(value) > limit:
        raise TextRefused(field, f"is {len(value):,} characters long; at most {limit:,} are accepted")
    return value


def check_title(field: str, value: str) -> str:
    """A one-line title: no line breaks, at most ``TITLE_MAX`` characters."""
    return check_text(field, value, limit=TITLE_MAX, multiline=False)


def check_note(field: str, value: str) -> str:
    """A note or reason: line breaks allowed, at most ``NOTE_MAX`` characters."""
    return check_text(field, value, limit=NOTE_MAX, multiline=True)


def json_depth_exceeds(text: str | bytes, limit: int = JSON_DEPTH_MAX) -> bool:
    """Whether JSON text nests deeper than ``limit``, told by scanning brackets outside strings (no recursion)."""
    data = text.encode("utf-8", "surrogatepass") if isinstance(text, str) else text
    depth = 0
    in_string = escaped = False
    for byte in data:
        if in_string:
            if escaped:
                escaped = False
            elif byte == 0x5C:  # backslash
                escaped = True
            elif byte == 0x22:  # quote
                in_string = False
        elif byte == 0x22:
            in_string = True
        elif byte in (0x5B, 0x7B):  # [ {
            depth += 1
            if depth > limit:
                return True
        elif byte in (0x5D, 0x7D):
            depth -= 1
    return False


def load_json(what: str, text: str | bytes, *, depth: int = JSON_DEPTH_MAX) -> Any:
    """Parse JSON from outside: longer than ``JSON_MAX_CHARS``, nesting deeper than ``depth`` and malformed text
    are ``TextRefused``."""
    if len(text) > JSON_MAX_CHARS:
        raise TextRefused(what, f"is more than {JSON_MAX_CHARS:,} characters long")
    if json_depth_exceeds(text, depth):
        raise TextRefused(what, f"JSON nests deeper than {depth} levels")
    try:
        return json.loads(text)
    except (ValueError, RecursionError) as exc:
        raise TextRefused(what, f"is not JSON ({exc})") from None
