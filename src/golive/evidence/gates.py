"""Gate decisions, approvals and recorded overrides (``--skip-gate``, ``--override-freeze``, ``--confirm-run``)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from golive.evidence.base import OMIT, Record
from golive.evidence.registry import register


@register
@dataclass(frozen=True, kw_only=True)
class GateDecisionRecord(Record):
    """GO or NO-GO (the outcome) for a gate and environment, each requirement with its evidence."""

    kind = "gate"
    gate: str = ""
    env: str = ""
    verdict: str | None = field(default=None, metadata=OMIT)
    items: tuple[Mapping[str, Any], ...] = ()
    reasons: tuple[str, ...] = ()
    summary: str | None = field(default=None, metadata=OMIT)
    asked_by: str | None = field(default=None, metadata=OMIT)


@register
@dataclass(frozen=True, kw_only=True)
class ApprovalRecord(Record):
    kind = "approval"
    outcomes = ("approved",)
    outcome: str | None = "approved"
    by: str = ""
    role: str | None = None
    note: str | None = None
    approval: int | None = None


@register
@dataclass(frozen=True, kw_only=True)
class Override(Record):
    """An operator's recorded decision to go past a guard, with the why (subject: which guard)."""

    kind = "override"
    outcomes = ("recorded",)
    outcome: str | None = "recorded"
    why: str | None = field(default=None, metadata=OMIT)
    project: str | None = field(default=None, metadata=OMIT)
