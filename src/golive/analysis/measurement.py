"""Measurements: one criterion evaluated once, with its outcome and the data behind it.

Borrowed from Argo Rollouts' analysis: a measurement is not a boolean but
one of four outcomes. ``Successful`` and ``Failed`` are answers;
``Inconclusive`` means the data cannot answer (a quiet Lambda with no
invocations); ``Error`` means the metric API failed after retries. An error
is data here, not an exception, so a soak checkpoint or a canary step can
record it and the limits below decide what it means (a canary fails safe).

Every measurement carries what a person needs to check the decision: the
criterion, the scope (function, alias, version), the window, the value and
the threshold, the query that produced it and the raw values.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from golive.clock import parse_instant


class MeasurementOutcome(StrEnum):
    SUCCESSFUL = "Successful"
    FAILED = "Failed"
    INCONCLUSIVE = "Inconclusive"
    ERROR = "Error"


# When several measurements answer one question (one per function), the worst decides.
_SEVERITY = {MeasurementOutcome.SUCCESSFUL: 0, MeasurementOutcome.INCONCLUSIVE: 1, MeasurementOutcome.ERROR: 2,
             MeasurementOutcome.FAILED: 3}


def worst(outcomes: Iterable[MeasurementOutcome]) -> MeasurementOutcome:
    """Failed beats Error beats Inconclusive beats Successful; no outcomes at all is Inconclusive."""
    found = list(outcomes)
    if not found:
        return MeasurementOutcome.INCONCLUSIVE
    return max(found, key=lambda outcome: _SEVERITY[outcome])


@dataclass(frozen=True)
class Measurement:
    """One evaluation of one criterion over one scope and window (JSON-able via ``to_dict``)."""

    criterion: str
    scope: str
    start: datetime
    end: datetime
    outcome: MeasurementOutcome
    value: float | None = None
    threshold: float | None = None
    baseline: float | None = None
    message: str = ""
    query: tuple[dict[str, Any], ...] = ()
    raw: dict[str, Any] = field(default_factory=dict)
    dry_run: bool = False
    late: bool = False

    @property
    def decides(self) -> bool:
        """False for a dry-run criterion: evaluated and reported, never acting."""
        return not self.dry_run

    def to_dict(self) -> dict[str, Any]:
        return {
            "criterion": self.criterion,
            "scope": self.scope,
            "start": self.start.isoformat(),
            "end": self.end.isoformat(),
            "outcome": self.outcome.value,
            "value": self.value,
            "threshold": self.threshold,
            "baseline": self.baseline,
            "message": self.message,
            "query": list(self.query),
            "raw": self.raw,
            "dry_run": self.dry_run,
            "late": self.late,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Measurement:
        return cls(
            criterion=str(data["criterion"]),
            scope=str(data["scope"]),
            start=parse_instant(str(data["start"])),
            end=parse_instant(str(data["end"])),
            outcome=MeasurementOutcome(data["outcome"]),
            value=None if data.get("value") is None else float(data["value"]),
            threshold=None if data.get("threshold") is None else float(data["threshold"]),
            baseline=None if data.get("baseline") is None else float(data["baseline"]),
            message=str(data.get("message", "")),
            query=tuple(data.get("query", ())),
            raw=dict(data.get("raw", {})),
            dry_run=bool(data.get("dry_run", False)),
            late=bool(data.get("late", False)),
        )


@dataclass(frozen=True)
class Limits:
    """How many bad measurements a run of them tolerates (Argo's limits; defaults as Argo's)."""

    failure_limit: int = 0
    inconclusive_limit: int = 0
    consecutive_error_limit: int = 4


@dataclass(frozen=True)
class Assessment:
    """The decision over a sequence of measurements, with the counts and the reason."""

    outcome: MeasurementOutcome
    reason: str
    failed: int
    inconclusive: int
    errors: int
    consecutive_errors: int
    successful: int

    def to_dict(self) -> dict[str, Any]:
        return {"outcome": self.outcome.value, "reason": self.reason, "failed": self.failed,
                "inconclusive": self.inconclusive, "errors": self.errors,
                "consecutive_errors": self.consecutive_errors, "successful": self.successful}


def assess(measurements: Sequence[Measurement], limits: Limits = Limits()) -> Assessment:
    """Argo's rule over measurements in time order (dry-run ones ignored).

    Error when the trailing run of errors exceeds ``consecutive_error_limit``; Failed when
    failures exceed ``failure_limit``; Inconclusive when inconclusive ones exceed
    ``inconclusive_limit``; otherwise Successful (no deciding measurement at all: Inconclusive).
    """
    deciding = [m for m in measurements if m.decides]
    failed = [m for m in deciding if m.outcome is MeasurementOutcome.FAILED]
    inconclusive = [m for m in deciding if m.outcome is MeasurementOutcome.INCONCLUSIVE]
    errors = [m for m in deciding if m.outcome is MeasurementOutcome.ERROR]
    successful = sum(1 for m in deciding if m.outcome is MeasurementOutcome.SUCCESSFUL)
    consecutive = 0
    for m in reversed(deciding):
        if m.outcome is not MeasurementOutcome.ERROR:
            break
        consecutive += 1

    def made(outcome: MeasurementOutcome, reason: str) -> Assessment:
        return Assessment(outcome, reason, len(failed), len(inconclusive), len(errors), consecutive, successful)

    if consecutive > limits.consecutive_error_limit:
        return made(MeasurementOutcome.ERROR, f"{consecutive} consecutive errors (limit {limits.consecutive_error_limit}): "
                                   f"{errors[-1].message or errors[-1].criterion}")
    if len(failed) > limits.failure_limit:
        last = failed[-1]
        return made(MeasurementOutcome.FAILED, f"{len(failed)} failed (limit {limits.failure_limit}): "
                                    f"{last.criterion} on {last.scope}: {last.message}".rstrip(": "))
    if len(inconclusive) > limits.inconclusive_limit:
        last = inconclusive[-1]
        return made(MeasurementOutcome.INCONCLUSIVE, f"{len(inconclusive)} inconclusive (limit {limits.inconclusive_limit}): "
                                          f"{last.criterion} on {last.scope}: {last.message}".rstrip(": "))
    if not deciding:
        return made(MeasurementOutcome.INCONCLUSIVE, "no deciding measurement")
    return made(MeasurementOutcome.SUCCESSFUL, f"{successful} successful")
