"""The criterion language: ``error_rate < 0.1%``, ``p95_duration > 5s for 15m``.

Soak checkpoints, gates and rollback triggers all say "this metric compared
with this threshold", so they share one small parsed language instead of
free-form strings each reader interprets differently::

    METRIC OP VALUE [for DURATION] [immediately] [min N calls]

``OP`` is one of ``< <= > >= == !=``. ``VALUE`` is a plain number
(``throttles == 0``), a percentage (``0.1%``, kept as the fraction 0.001),
a duration (``2s``, ``500ms``, kept in seconds) or a signed percentage
(``+10%``, ``-5%``): a change relative to a baseline (the stable version or
the last passed soak), as Keptn does. ``for 15m`` asks that the comparison
hold over a sustained window; ``immediately`` that one evaluation suffices,
the first one whose window has enough data. ``min N calls`` is that amount:
below N invocations in its window a rollback trigger is Inconclusive (one
error in 18 calls is no 5.56% error rate); without it the plan's default
applies.

A ``Criterion`` only says whether a value satisfies the comparison. Whether
that is good (a soak criterion) or bad (a rollback trigger) is the caller's
reading. Parse errors are ``ValueError`` with a short message; the plan
loader adds file, line and key.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from datetime import timedelta
from enum import StrEnum
from typing import Any

from golive.analysis.units import DURATION_HINT, format_duration, is_duration, parse_duration, parse_percent

__all__ = [
    "Criterion",
    "Kind",
    "Op",
    "Unit",
    "format_duration",
    "parse_criterion",
    "parse_duration",
    "parse_percent",
]


class Op(StrEnum):
    LT = "<"
    LE = "<="
    GT = ">"
    GE = ">="
    EQ = "=="
    NE = "!="

    def compare(self, left: float, right: float) -> bool:
        if self is Op.EQ:
            return _close(left, right)
        if self is Op.NE:
            return not _close(left, right)
        if self is Op.LT:
            return left < right and not _close(left, right)
        if self is Op.LE:
            return left <= right or _close(left, right)
        if self is Op.GT:
            return left > right and not _close(left, right)
        return left >= right or _close(left, right)


class Kind(StrEnum):
    ABSOLUTE = "absolute"
    RELATIVE = "relative"


class Unit(StrEnum):
    """What the threshold was written as; values compared with it use the same base unit."""

    NUMBER = "number"
    FRACTION = "fraction"  # written as a percentage
    SECONDS = "seconds"  # written as a duration


def _close(left: float, right: float) -> bool:
    return math.isclose(left, right, rel_tol=1e-9, abs_tol=1e-12)


@dataclass(frozen=True)
class Criterion:
    """One parsed criterion. ``threshold`` is in base units (seconds, fraction), or the signed relative change."""

    metric: str
    op: Op
    threshold: float
    kind: Kind
    window: timedelta | None
    immediate: bool
    text: str
    unit: Unit = Unit.NUMBER
    min_calls: int | None = None

    @property
    def relative(self) -> bool:
        return self.kind is Kind.RELATIVE

    def bound(self, baseline: float | None = None) -> float:
        """The absolute value the metric is compared with (for a relative criterion: baseline × (1 + change))."""
        if self.kind is Kind.ABSOLUTE:
            return self.threshold
        if baseline is None:
            raise ValueError(f"'{self.text}' is relative to a baseline, and no baseline was given")
        return baseline * (1.0 + self.threshold)

    def holds(self, value: float, baseline: float | None = None) -> bool:
        """Whether ``value`` (in base units) satisfies ``METRIC OP VALUE``."""
        return self.op.compare(value, self.bound(baseline))

    def describe_threshold(self, baseline: float | None = None, unit: Unit | None = None) -> str:
        """``< 0.1%``, or ``<= +10% of 1.2s (1.32s)`` for a relative criterion with its baseline.

        ``unit`` is the metric's unit, needed to write a relative criterion's baseline.
        """
        if self.kind is Kind.ABSOLUTE:
            return f"{self.op.value} {format_value(self.threshold, self.unit)}"
        change = f"{self.threshold * 100:+g}%"
        if baseline is None:
            return f"{self.op.value} {change} of baseline"
        shown = unit or Unit.NUMBER
        return f"{self.op.value} {change} of {format_value(baseline, shown)} ({format_value(self.bound(baseline), shown)})"

    def to_dict(self) -> dict[str, Any]:
        return {
            "text": self.text,
            "metric": self.metric,
            "op": self.op.value,
            "threshold": self.threshold,
            "kind": self.kind.value,
            "unit": self.unit.value,
            "window_seconds": self.window.total_seconds() if self.window is not None else None,
            "immediate": self.immediate,
            "min_calls": self.min_calls,
        }

    def __str__(self) -> str:
        return self.text


def format_value(value: float, unit: Unit) -> str:
    """A base-unit value as a person reads it: ``0.12%``, ``1.85s``, ``340ms``, ``3``."""
    if math.isnan(value):
        return "n/a"
    if unit is Unit.FRACTION:
        return f"{value * 100:.3g}%"
    if unit is Unit.SECONDS:
        return f"{value * 1000:.3g}ms" if abs(value) < 1 else f"{value:.3g}s"
    return f"{value:g}"


_METRIC = re.compile(r"[A-Za-z_][A-Za-z0-9_.]*")
_OP = re.compile(r"<=|>=|==|!=|<|>|=")
_NUMBER = re.compile(r"\d+(?:\.\d+)?(?:[eE][+-]?\d+)?")
_RELATIVE = re.compile(r"([+-])(\d+(?:\.\d+)?)%")
_MIN_CALLS = "'min N calls', e.g. 'min 300 calls'"
_EXAMPLE = "e.g. 'error_rate < 0.1%' or 'p95_duration > 5s for 15m'"


def parse_criterion(text: str) -> Criterion:
    """Parse ``METRIC OP VALUE [for DURATION] [immediately] [min N calls]``; ``ValueError`` with a short message if not."""
    if not isinstance(text, str):
        raise ValueError(f"a criterion is a string, {_EXAMPLE}; got {type(text).__name__}")
    source = " ".join(text.split())
    if not source:
        raise ValueError(f"empty criterion: expected METRIC OP VALUE, {_EXAMPLE}")

    metric_match = _METRIC.match(source)
    if metric_match is None:
        raise ValueError(f"'{source}': expected a metric name first, {_EXAMPLE}")
    metric = metric_match.group(0)
    rest = source[metric_match.end():].lstrip()

    op_match = _OP.match(rest)
    if op_match is None:
        found = rest.split(" ", 1)[0] if rest else "nothing"
        raise ValueError(f"'{source}': expected a comparison (<, <=, >, >=, ==, !=) after '{metric}', found '{found}'")
    if op_match.group(0) == "=":
        raise ValueError(f"'{source}': use '==' to compare for equality")
    op = Op(op_match.group(0))
    tokens = rest[op_match.end():].split()
    if not tokens:
        raise ValueError(f"'{source}': missing a threshold after '{op.value}'")

    value_text = tokens.pop(0)
    if tokens and tokens[0] in ("%", "ms", "s", "m", "h", "d"):
        raise ValueError(f"'{source}': write the unit next to the number, as in '{value_text}{tokens[0]}'")
    threshold, kind, unit = _parse_value(source, value_text)

    window: timedelta | None = None
    immediate = False
    min_calls: int | None = None
    while tokens:
        word = tokens.pop(0)
        if word == "for":
            if window is not None:
                raise ValueError(f"'{source}': 'for' given twice")
            if not tokens:
                raise ValueError(f"'{source}': 'for' needs a duration, e.g. 'for 15m'")
            window_text = tokens.pop(0)
            try:
                window = parse_duration(window_text)
            except ValueError:
                raise ValueError(f"'{source}': invalid window '{window_text}': expected {DURATION_HINT}") from None
            if window <= timedelta(0):
                raise ValueError(f"'{source}': the window after 'for' must be longer than zero")
        elif word == "immediately":
            immediate = True
        elif word == "min":
            if min_calls is not None:
                raise ValueError(f"'{source}': 'min' given twice")
            if len(tokens) < 2 or not tokens[0].isdigit() or tokens[1] not in ("calls", "invocations"):
                raise ValueError(f"'{source}': expected {_MIN_CALLS}")
            min_calls = int(tokens.pop(0))
            tokens.pop(0)
            if min_calls < 1:
                raise ValueError(f"'{source}': 'min' needs at least 1 call")
        else:
            raise ValueError(f"'{source}': unexpected '{word}' after the threshold "
                             "(expected 'for DURATION', 'immediately' or 'min N calls')")
    if immediate and window is not None:
        raise ValueError(f"'{source}': 'immediately' and 'for {format_duration(window)}' contradict each other")

    return Criterion(metric=metric, op=op, threshold=threshold, kind=kind, window=window,
                     immediate=immediate, text=source, unit=unit, min_calls=min_calls)


def _parse_value(source: str, value: str) -> tuple[float, Kind, Unit]:
    relative = _RELATIVE.fullmatch(value)
    if relative is not None:
        sign = -1.0 if relative.group(1) == "-" else 1.0
        return sign * float(relative.group(2)) / 100.0, Kind.RELATIVE, Unit.NUMBER
    if value[:1] in "+-":
        raise ValueError(f"'{source}': a relative threshold is a signed percentage such as +10% or -5%, not '{value}'")
    if value.endswith("%"):
        try:
            return parse_percent(value), Kind.ABSOLUTE, Unit.FRACTION
        except ValueError:
            raise ValueError(f"'{source}': invalid percentage '{value}', e.g. 0.1% or 5%") from None
    if is_duration(value):
        return parse_duration(value).total_seconds(), Kind.ABSOLUTE, Unit.SECONDS
    if _NUMBER.fullmatch(value):
        return float(value), Kind.ABSOLUTE, Unit.NUMBER
    raise ValueError(f"'{source}': invalid threshold '{value}': expected a number (0), a percentage (0.1%), "
                     "a duration (2s, 500ms) or a relative change (+10%)")
