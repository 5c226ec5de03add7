"""The ``incidents`` check: the runbook's "No P0 or P1 incidents".

Incidents are opened by people or alerting tools (``golive incident
open``); this check reads the open ones for the release and fails when any
is at or above the plan's severity (``fail_at: P1`` fails on P0 and P1),
naming each. Lower severities are reported as a warning.
"""

from __future__ import annotations

from typing import Any, Literal

from golive.checks.base import CheckContext, CheckParams, CheckResult, CheckType, Evidence, Status


class IncidentsParams(CheckParams):
    fail_at: Literal["P0", "P1", "P2", "P3"] = "P1"


def _rank(severity: str) -> int:
    return int(severity[1:])


def run(ctx: CheckContext, params: IncidentsParams) -> CheckResult:
    found = [i for i in ctx.open_incidents() if i.get("env") in (None, ctx.env)]
    target = f"open incidents in {ctx.env} (fail at {params.fail_at} or worse)"
    evidence = (Evidence("open incidents of the release", found),)
    blocking = [i for i in found if _rank(i["severity"]) <= _rank(params.fail_at)]
    if blocking:
        names = "; ".join(f"#{i['id']} {i['severity']} {i['title']}" for i in blocking)
        return CheckResult("incidents", target, Status.FAIL, f"{len(blocking)} open: {names}", evidence)
    if found:
        return CheckResult("incidents", target, Status.WARN, f"{len(found)} open below {params.fail_at}", evidence)
    return CheckResult("incidents", target, Status.PASS, "no open incidents", evidence)


def describe(params: IncidentsParams) -> str:
    return f"open incidents at {params.fail_at} or worse"


CHECK_TYPES: list[CheckType[Any]] = [
    CheckType("incidents", IncidentsParams, run, describe, doc="No open incident at `fail_at` severity or worse."),
]
