"""Evidence of the run itself and of its other steps: run notes, step closings, soaks, deploys, the rest.

These records are written once per run or step; readers mostly want their
outcome and a field or two, so each names the fields read and keeps the rest
in ``extra`` exactly as written.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from golive.evidence.base import OMIT, Record
from golive.evidence.registry import register


@register
@dataclass(frozen=True, kw_only=True)
class RunNote(Record):
    """A run started, ended or was aborted (the outcome); subject: the run's kind."""

    kind = "run"
    reason: str | None = field(default=None, metadata=OMIT)
    plan_version: str | None = field(default=None, metadata={**OMIT, "key": "version"})  # the release version, not the schema
    steps: int | None = field(default=None, metadata=OMIT)


@register
@dataclass(frozen=True, kw_only=True)
class StepNote(Record):
    """A step closed without evidence of its own kind: its summary, or why it failed."""

    kind = "step"
    summary: str | None = field(default=None, metadata=OMIT)
    reason: str | None = field(default=None, metadata=OMIT)


@register
@dataclass(frozen=True, kw_only=True)
class Checkpoint(Record):
    """One soak checkpoint: every criterion measured over its window, the checks, the smoke tests."""

    kind = "checkpoint"
    summary: str | None = field(default=None, metadata=OMIT)
    env: str = ""
    index: int | None = None
    of: int | None = None
    due_at: str | None = None
    evaluated_at: str | None = None
    late: bool = False
    window: Mapping[str, Any] = field(default_factory=dict)
    criteria: tuple[Any, ...] = ()
    checks: tuple[Mapping[str, Any], ...] = ()
    smoke: tuple[Mapping[str, Any], ...] = ()
    failures: tuple[str, ...] = ()


@register
@dataclass(frozen=True, kw_only=True)
class SoakVerdict(Record):
    kind = "soak"
    summary: str | None = field(default=None, metadata=OMIT)
    env: str = ""
    checkpoints: int | None = None
    passed: int | None = None
    failed_at: int | None = None
    reasons: tuple[str, ...] = ()


@register
@dataclass(frozen=True, kw_only=True)
class DeployDispatched(Record):
    kind = "deploy"
    outcomes = ("dispatched",)
    outcome: str | None = "dispatched"
    project: str = ""
    repo: str = ""
    workflow: str = ""
    ref: str = ""
    run_id: int | None = None
    url: str | None = None


@register
@dataclass(frozen=True, kw_only=True)
class DeployFinished(Record):
    kind = "deploy"
    summary: str | None = field(default=None, metadata=OMIT)
    project: str = ""


@register
@dataclass(frozen=True, kw_only=True)
class SecretSet(Record):
    """A deploy secret written to a repository (never its value: where it came from)."""

    kind = "secret"
    outcomes = ("set",)
    outcome: str | None = "set"
    repo: str = ""
    name: str = ""
    origin: str = field(default="", metadata={"key": "from"})


@register
@dataclass(frozen=True, kw_only=True)
class Availability(Record):
    """What the uptime prober saw of one URL during the deploy."""

    kind = "availability"
    url: str = ""
    probes: int | None = field(default=None, metadata=OMIT)
    up: int | None = field(default=None, metadata=OMIT)
    availability: float | None = field(default=None, metadata=OMIT)
    observed_since: str | None = field(default=None, metadata=OMIT)


@register
@dataclass(frozen=True, kw_only=True)
class IncidentNote(Record):
    """An incident opened or resolved (subject: its title)."""

    kind = "incident"
    id: int | None = None
    severity: str | None = field(default=None, metadata=OMIT)
    title: str | None = field(default=None, metadata=OMIT)


@register
@dataclass(frozen=True, kw_only=True)
class AlarmsAtStart(Record):
    """The alarms already firing when the run began, so a check can tell new ones from old."""

    kind = "alarms_at_start"
    outcomes = ("recorded",)
    outcome: str | None = "recorded"
    alarms: Mapping[str, Any] = field(default_factory=dict)


@register
@dataclass(frozen=True, kw_only=True)
class WebAction(Record):
    """An action taken on the dashboard (subject: the action), by whom and from where."""

    kind = "web_action"
    by: str = ""
    source: str = field(default="", metadata={"key": "from"})
