"""The canary's evidence: versions found, shifts, analyses with the judge's numbers, the decision.

Each class is one event a Lambda canary writes (kind ``canary``, told apart
by outcome); ``CanaryNote`` reads any other canary outcome, such as the
step's closing ``pass``. Operator commands (``golive abort`` / ``promote``)
are here too: the running canary reads them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from golive.evidence.base import OMIT, Record
from golive.evidence.registry import register

Versions = Mapping[str, Mapping[str, Any]]


@dataclass(frozen=True, kw_only=True)
class CanaryRecord(Record):
    """Every record of a canary's timeline names its project."""

    kind = "canary"
    project: str = ""


@register
@dataclass(frozen=True, kw_only=True)
class CanaryVersions(CanaryRecord):
    outcomes = ("versions",)
    outcome: str | None = "versions"
    versions: Versions = field(default_factory=dict)
    region: str | None = None
    unchanged: Mapping[str, str] | None = field(default=None, metadata=OMIT)  # target -> the version left alone
    moved: str | None = field(default=None, metadata=OMIT)  # the deploy moved the traffic itself, in one line


@register
@dataclass(frozen=True, kw_only=True)
class CanaryGateBlocked(CanaryRecord):
    outcomes = ("gate_blocked",)
    outcome: str | None = "gate_blocked"
    weight: float | None = None
    next_weight: float | None = None
    reason: str = ""


@register
@dataclass(frozen=True, kw_only=True)
class CanaryShifted(CanaryRecord):
    outcomes = ("shifted",)
    outcome: str | None = "shifted"
    weight: float | None = None
    bake_s: float | None = None
    versions: Versions = field(default_factory=dict)


@register
@dataclass(frozen=True, kw_only=True)
class CanarySample(CanaryRecord):
    """At a step's start: the calls each criterion will get at this weight (``analysis.sample``), or why not known."""

    outcomes = ("sample",)
    outcome: str | None = "sample"
    weight: float | None = None
    lines: tuple[str, ...] = ()
    cannot_decide: tuple[str, ...] = ()
    error: str | None = field(default=None, metadata=OMIT)


@register
@dataclass(frozen=True, kw_only=True)
class CanaryInconclusive(CanaryRecord):
    """The plan's ``on_inconclusive`` applied: the choice (pause, rollback, promote), why in words, and until when a
    pause waits for an operator (``until``)."""

    outcomes = ("inconclusive",)
    outcome: str | None = "inconclusive"
    weight: float | None = None
    choice: str = ""
    reason: str = ""
    until: str | None = field(default=None, metadata=OMIT)


@register
@dataclass(frozen=True, kw_only=True)
class CanaryPromoted(CanaryRecord):
    outcomes = ("promoted",)
    outcome: str | None = "promoted"
    weight: float | None = 100.0
    versions: Versions = field(default_factory=dict)


@register
@dataclass(frozen=True, kw_only=True)
class CanaryAnalysis(CanaryRecord):
    """One look at the canary: the verdict, why, and the measurements (or the triggers) it rests on."""

    outcomes = ("analysis",)
    outcome: str | None = "analysis"
    weight: float | None = None
    verdict: str = ""
    reason: str = ""
    judgement: Mapping[str, Any] | None = field(default=None, metadata=OMIT)
    summary: str | None = field(default=None, metadata=OMIT)  # the judgement in one line (Judgement.compact)
    measurements: tuple[Mapping[str, Any], ...] | None = field(default=None, metadata=OMIT)
    triggers: tuple[Mapping[str, Any], ...] | None = field(default=None, metadata=OMIT)
    line: str | None = field(default=None, metadata=OMIT)  # the look in words (analysis.look_line)

    @property
    def measured(self) -> tuple[Mapping[str, Any], ...]:
        """What the verdict rests on: the judge's measurements, or the triggers that decided first."""
        return self.measurements or self.triggers or ()


@register
@dataclass(frozen=True, kw_only=True)
class CanaryPromoteForced(CanaryRecord):
    outcomes = ("promote_forced",)
    outcome: str | None = "promote_forced"
    by: str | None = None
    why: str | None = None


@register
@dataclass(frozen=True, kw_only=True)
class CanaryNote(CanaryRecord):
    """Any other canary outcome: the step's closing event (``pass`` after ``promoted``)."""

    summary: str | None = field(default=None, metadata=OMIT)
    versions: Versions | None = field(default=None, metadata=OMIT)


@register
@dataclass(frozen=True, kw_only=True)
class OperatorCommand(Record):
    """``golive abort`` / ``golive promote`` for a running canary (subject: the project)."""

    kind = "operator"
    by: str | None = None
    why: str | None = None
    # The canary step running when it was given (None: whichever canary of the project runs).
    step: str | None = field(default=None, metadata=OMIT)
