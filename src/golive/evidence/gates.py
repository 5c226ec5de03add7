"""Gate decisions, approvals and recorded overrides (``--skip-gate``, ``--override-freeze``, ``--confirm-run``, ...)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from golive.evidence.base import OMIT, Record
from golive.evidence.registry import register


@dataclass(frozen=True)
class GateItem:
    """One requirement of a gate (a soak, the preflight, an approval, a checklist line) and whether it holds."""

    name: str
    ok: bool
    detail: str
    evidence: Any = None
    approval_only: bool = False
    refreshable: bool = False  # missing or too old: running the check again could settle it

    def to_dict(self) -> dict[str, Any]:
        """The stored shape, one entry of ``GateDecisionRecord.items``."""
        return {"name": self.name, "ok": self.ok, "detail": self.detail, "evidence": self.evidence}

    @classmethod
    def from_data(cls, data: Mapping[str, Any]) -> GateItem:
        name, detail = data.get("name"), data.get("detail")
        return cls(name="?" if name is None else str(name), ok=bool(data.get("ok")),
                   detail="" if detail is None else str(detail), evidence=data.get("evidence"))


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
    by: str | None = field(default=None, metadata=OMIT)  # the verified identity that gave it, when known
