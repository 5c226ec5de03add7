"""Check results and preflight summaries, as checks/ produce them and steps record them."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from golive.evidence.base import OMIT, Record
from golive.evidence.registry import register


@register
@dataclass(frozen=True, kw_only=True)
class CheckRecord(Record):
    """One check's result (subject ``check target``, outcome its status), with the evidence it gathered."""

    kind = "check"
    check: str = ""
    target: str = ""
    status: str = ""
    summary: str = ""
    evidence: tuple[Mapping[str, Any], ...] = ()
    project: str | None = field(default=None, metadata=OMIT)

    @property
    def evidence_rows(self) -> tuple[dict[str, Any], ...]:
        return tuple(dict(e) for e in self.evidence if isinstance(e, Mapping))

    def missing_secrets(self) -> list[str]:
        """The secret names a ``github_secrets`` result reports missing (from its evidence table)."""
        return missing_secrets(self.evidence)


def missing_secrets(evidence: tuple[Mapping[str, Any], ...] | list[Mapping[str, Any]]) -> list[str]:
    names: list[str] = []
    for item in evidence:
        answered = item.get("answered")
        if isinstance(answered, Mapping) and isinstance(answered.get("secrets"), list):
            names += [str(row["name"]) for row in answered["secrets"]
                      if isinstance(row, Mapping) and row.get("status") == "missing" and "name" in row]
    return names


@register
@dataclass(frozen=True, kw_only=True)
class Preflight(Record):
    """A preflight's summary: what blocks the release, what the prep phase will fix, every result."""

    kind = "preflight"
    summary: str | None = field(default=None, metadata=OMIT)
    total: int | None = None
    passed: int | None = None
    blocking: tuple[str, ...] = ()
    fixable: tuple[str, ...] = ()
    unreachable: tuple[str, ...] = ()
    results: tuple[Mapping[str, Any], ...] = ()
    action: tuple[str, ...] | None = field(default=None, metadata=OMIT)

    def secret_rows(self) -> list[dict[str, Any]]:
        """The secret table of its github_secrets results (``preflight`` prints it)."""
        return secret_rows(self.results)


def secret_rows(results: tuple[Mapping[str, Any], ...] | list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One row per secret a ``github_secrets`` result saw (repo, name, status), and per hard-coded role ARN."""
    rows: list[dict[str, Any]] = []
    for result in results:
        if result.get("check") != "github_secrets":
            continue
        for item in result.get("evidence", []):
            answered = item.get("answered") if isinstance(item, Mapping) else None
            if isinstance(answered, Mapping) and "secrets" in answered:
                repo = result.get("target")
                rows += [{"repo": repo, **row} for row in answered["secrets"] if isinstance(row, Mapping)]
                rows += [{"repo": repo, "name": "(role ARN hard-coded)", "status": "hard-coded",
                          "lines": arn.get("lines") if isinstance(arn, Mapping) else None}
                         for arn in answered.get("hardcoded_role_arns", [])]
    return rows

def check_record(result: Mapping[str, Any], project: str | None = None) -> CheckRecord:
    """The record of a check result (``CheckResult.to_dict()``), for the project it was run for."""
    data = {**result, **({"project": project} if project is not None else {})} if isinstance(result, Mapping) else {}
    return CheckRecord.from_data(f"{data.get('check', '')} {data.get('target', '')}", str(data.get("status", "")),
                                 data)
