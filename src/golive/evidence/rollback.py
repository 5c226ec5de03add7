"""Rollbacks: traffic put back on the stable versions, measured, or the reason it could not be."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from golive.evidence.base import OMIT, Record
from golive.evidence.registry import register


@dataclass(frozen=True, kw_only=True)
class RollbackRecord(Record):
    kind = "rollback"
    project: str = ""
    reason: str = ""
    region: str | None = field(default=None, metadata=OMIT)
    from_weight: float | None = field(default=None, metadata=OMIT)


@register
@dataclass(frozen=True, kw_only=True)
class RolledBack(RollbackRecord):
    """Every function back on its stable version: how long the alias update took, per function."""

    outcomes = ("rolled_back",)
    outcome: str | None = "rolled_back"
    seconds: float | None = field(default=None, metadata=OMIT)
    alias_seconds: float | None = field(default=None, metadata=OMIT)  # golive rollback: the alias update alone
    functions: tuple[Mapping[str, Any], ...] = ()


@register
@dataclass(frozen=True, kw_only=True)
class RollbackFailed(RollbackRecord):
    outcomes = ("rollback_failed",)
    outcome: str | None = "rollback_failed"
    error: str = ""
