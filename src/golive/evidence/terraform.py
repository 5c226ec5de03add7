"""Terraform plans weighed before GO: each project's plan summary, and approvals of a plan by its SHA-256.

``TerraformPlanSummary`` is what the plan step records once it has read the plan's JSON: the counts, every
delete or replacement of a resource type that holds data, and the hash of the JSON. ``PlanApproval`` is a
person's approval of one plan, by hash: the gate's ``terraform`` requirement holds for a plan with data
changes only when the role the project names approved that very hash.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from golive.evidence.base import OMIT, Record
from golive.evidence.registry import register


@register
@dataclass(frozen=True, kw_only=True)
class TerraformPlanSummary(Record):
    """A project's Terraform plan, summarized (subject: the project; outcome: whether it changes data)."""

    kind = "terraform_plan"
    outcomes = ("data_changes", "no_data_changes")
    project: str = ""
    sha256: str = ""
    tag: str | None = field(default=None, metadata=OMIT)  # the release tag the plan ran at
    source: str = ""  # "workflow run ID (URL)" or the command
    format_version: str = ""
    terraform_version: str | None = field(default=None, metadata=OMIT)
    creates: int = 0
    updates: int = 0
    deletes: int = 0
    replaces: int = 0
    data_changes: tuple[Mapping[str, Any], ...] = ()  # {address, type, action}
    approver: str = ""

    @property
    def changes_data(self) -> bool:
        return bool(self.data_changes)

    def change_lines(self) -> list[str]:
        return [f"{c.get('action')} {c.get('address')}" for c in self.data_changes]


@register
@dataclass(frozen=True, kw_only=True)
class PlanApproval(Record):
    """A person's approval of one Terraform plan by its SHA-256 (subject: the project)."""

    kind = "plan_approval"
    outcomes = ("approved",)
    outcome: str | None = "approved"
    sha256: str = ""
    role: str = ""
    by: str = ""
    gate: str = ""
    note: str | None = field(default=None, metadata=OMIT)


def approving(summary: TerraformPlanSummary, approvals: Iterable[PlanApproval]) -> list[PlanApproval]:
    """The approvals that let this plan through: of its SHA-256, by the role its project names."""
    return [a for a in approvals if a.sha256 == summary.sha256 and a.role == summary.approver]
