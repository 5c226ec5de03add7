"""A plan changed under a running release, and an operator accepted the change (``--accept-plan-change``)."""

from __future__ import annotations

from dataclasses import dataclass

from golive.evidence.base import Record
from golive.evidence.registry import register


@register
@dataclass(frozen=True, kw_only=True)
class PlanChangeAccepted(Record):
    """Who accepted which change, and why: the steps given the new parameters, and the finished ones that kept theirs.

    Subject: the run's kind (``release``, ``deploy``...).
    """

    kind = "plan_change"
    outcomes = ("accepted",)
    outcome: str | None = "accepted"
    why: str = ""
    from_digest: str = ""
    to_digest: str = ""
    refrozen: tuple[str, ...] = ()  # unfinished steps now running from the new plan's parameters
    kept: tuple[str, ...] = ()  # finished steps whose parameters differ: what they did stands
