"""Rollbacks: traffic put back on the stable versions, measured, or the reason it could not be.

Every rollback, whoever asks for it (a canary's own failure, a batch's compensation, a failed validation,
``golive rollback``), is restored by ``steps/restore.py`` and recorded as one ``RolledBack``: the project,
the region, the weight the new versions had, the versions, how long the restore took and who or what asked.
"""

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
    # function -> {"stable": version, "canary": version}: what was put back, and from what
    versions: Mapping[str, Any] | None = field(default=None, metadata=OMIT)
    asked_by: str | None = field(default=None, metadata=OMIT)  # "canary", "compensation", "validation", "operator"


@register
@dataclass(frozen=True, kw_only=True)
class RolledBack(RollbackRecord):
    """Every function back on its stable version: how long the restore took, confirmed per function."""

    outcomes = ("rolled_back",)
    outcome: str | None = "rolled_back"
    seconds: float | None = field(default=None, metadata=OMIT)  # the restore, from the first call to the last read-back
    alias_seconds: float | None = field(default=None, metadata=OMIT)  # stores before one rollback: golive rollback's
    functions: tuple[Mapping[str, Any], ...] = ()


@register
@dataclass(frozen=True, kw_only=True)
class RollbackFailed(RollbackRecord):
    outcomes = ("rollback_failed",)
    outcome: str | None = "rollback_failed"
    error: str = ""


@register
@dataclass(frozen=True, kw_only=True)
class FullRollbackRan(Record):
    """``golive rollback --full``: the plan's full-rollback command, after the aliases were restored."""

    kind = "rollback_command"
    project: str = ""
    argv: tuple[str, ...] = ()
    exit_code: int | None = None
    output: str = ""
    seconds: float | None = field(default=None, metadata=OMIT)


@register
@dataclass(frozen=True, kw_only=True)
class Undone(Record):
    """``golive rollback`` of a project without a canary: its workflow re-dispatched at an earlier tag, or its undo
    command run (subject: the project). Outcome ``undone`` or ``undo_failed``. Who asked is the run's
    ``OperatorCommand`` (outcome ``rollback``); inside a failed release run, ``asked_by: dependency`` (a project
    it depends on failed and the plan says ``rollback_dependents``). ``method: none``: it has no undo (``reason``
    says why), so it was left as deployed."""

    kind = "undo"
    outcomes = ("undone", "undo_failed")
    outcome: str | None = "undone"
    project: str = ""
    method: str = ""  # "redeploy" or "command"
    reason: str = ""
    tag: str | None = field(default=None, metadata=OMIT)  # redeploy: the tag dispatched
    workflow: str | None = field(default=None, metadata=OMIT)
    run_id: int | None = field(default=None, metadata=OMIT)
    url: str | None = field(default=None, metadata=OMIT)
    argv: tuple[str, ...] | None = field(default=None, metadata=OMIT)  # command
    exit_code: int | None = field(default=None, metadata=OMIT)
    output: str | None = field(default=None, metadata=OMIT)
    seconds: float | None = field(default=None, metadata=OMIT)  # from the dispatch (or start) to its end
    # Inside a failed run: "dependency" (a project it depends on failed and the plan says rollback_dependents)
    asked_by: str | None = field(default=None, metadata=OMIT)
    verify: str | None = field(default=None, metadata=OMIT)  # its verify's outcome after the undo, in words
