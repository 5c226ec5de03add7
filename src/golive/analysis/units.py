"""Durations and percentages as people write them in a plan.

The plan says ``48h``, ``every: 6h``, ``bake: 10m``, ``error_rate < 0.1%``;
everything inside golive works in base units (a ``timedelta``, seconds, a
fraction). These parsers are the one place that conversion happens, so the
plan model, criteria and the CLI agree on what ``1h30m`` or ``0.1%`` mean.
They raise ``ValueError`` with a short message the plan loader turns into
``file:line key: message``.
"""

from __future__ import annotations

import re
from datetime import timedelta

_UNIT_SECONDS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}
_PART = re.compile(r"(\d+(?:\.\d+)?)(ms|d|h|m|s)")
_DURATION = re.compile(r"(?:\d+(?:\.\d+)?(?:ms|d|h|m|s))+")
_PERCENT = re.compile(r"(\d+(?:\.\d+)?)%")

DURATION_HINT = "a number with a unit (ms, s, m, h, d), e.g. 30s, 10m, 1h30m"


def is_duration(text: str) -> bool:
    """True if ``text`` is written like a duration (``2s``, ``1h30m``)."""
    return _DURATION.fullmatch(text.strip()) is not None


def parse_duration(text: str) -> timedelta:
    """``"10m"``, ``"48h"``, ``"1h30m"``, ``"2d"``, ``"500ms"``, ``"1.5s"`` as a ``timedelta``."""
    value = text.strip() if isinstance(text, str) else text
    if not isinstance(value, str) or not value:
        raise ValueError(f"invalid duration {text!r}: expected {DURATION_HINT}")
    if _DURATION.fullmatch(value) is None:
        raise ValueError(f"invalid duration '{value}': expected {DURATION_HINT}")
    seconds = sum(float(number) * _UNIT_SECONDS[unit] for number, unit in _PART.findall(value))
    return timedelta(seconds=seconds)


def parse_percent(text: str) -> float:
    """``"0.1%"`` as the fraction 0.001; a number without ``%`` is refused (ambiguous)."""
    value = text.strip() if isinstance(text, str) else text
    if not isinstance(value, str):
        raise ValueError(f"invalid percentage {text!r}: expected a number followed by %, e.g. 0.1%")
    match = _PERCENT.fullmatch(value)
    if match is None:
        raise ValueError(f"invalid percentage '{value}': expected a number followed by %, e.g. 0.1%")
    return float(match.group(1)) / 100.0


def format_duration(delta: timedelta) -> str:
    """The shortest plan-style spelling of a duration: ``1h30m``, ``10m``, ``500ms``."""
    total = delta.total_seconds()
    if total < 1 and total != 0:
        return f"{total * 1000:g}ms"
    parts: list[str] = []
    remaining = total
    for unit in ("d", "h", "m"):
        size = _UNIT_SECONDS[unit]
        count = int(remaining // size)
        if count:
            parts.append(f"{count}{unit}")
            remaining -= count * size
    if remaining or not parts:
        parts.append(f"{remaining:g}s")
    return "".join(parts)


def counted(n: int, noun: str, plural: str | None = None) -> str:
    """``1 check``, ``2 checks``, ``0 checks``: a count with its noun in the right number."""
    return f"{n} {noun if n == 1 else plural or noun + 's'}"


def human_duration(delta: timedelta) -> str:
    """How golive says a duration to a person: ``5 h 55 min``, ``45 s``, ``2 d 3 h`` (two units at most)."""
    seconds = round(delta.total_seconds())
    sign = "-" if seconds < 0 else ""
    seconds = abs(seconds)
    if seconds < 60:
        return f"{sign}{seconds} s"
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes = rest // 60
    shown = [f"{n} {u}" for n, u in ((days, "d"), (hours, "h"), (minutes, "min")) if n][:2]
    return sign + " ".join(shown)


def hours_or_minutes(delta: timedelta) -> str:
    """A span as the plan's dry run says it: ``6h``, ``1.5h``, ``10m``."""
    hours = delta.total_seconds() / 3600
    return f"{hours:g}h" if hours >= 1 else f"{delta.total_seconds() / 60:g}m"
