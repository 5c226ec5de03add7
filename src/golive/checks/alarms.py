"""``alarms``: no CloudWatch alarm is firing that the release did not expect.

The runbook's rule is "all alarms green (except 1 pre-existing order DLQ)".
Alarms in ALARM fall into three groups: allow-listed in the plan (exact
name, name prefix, or a glob such as ``*order-dlq*``), already in ALARM when
the release began (``ctx.alarms_at_start``: reported as a warning, not a
failure, since this release did not cause them), and new ones, each of
which is named in the failure.
"""

from __future__ import annotations

import fnmatch
from typing import Any

from pydantic import Field, model_validator

from golive.checks.base import CheckContext, CheckParams, CheckResult, CheckType
from golive.checks.support import Probe, guarded, listed

NAME = "alarms"
_GLOB = set("*?[")


class AlarmsParams(CheckParams):
    """``- alarms`` or ``{allow: [order-dlq, "*-dlq-*"], prefix: bbws-}`` (``prefix``: only alarms so named)."""

    allow: list[str] = Field(default_factory=list)
    prefix: str | None = None

    @model_validator(mode="before")
    @classmethod
    def _short(cls, data: Any) -> Any:
        if data is None:
            return {}
        return {"allow": data} if isinstance(data, list) else data


def allowed(name: str, allow: list[str]) -> bool:
    """True if an allow-list entry names ``name`` exactly, is a prefix of it, or is a glob matching it."""
    for entry in allow:
        if _GLOB & set(entry):
            if fnmatch.fnmatchcase(name, entry):
                return True
        elif name == entry or name.startswith(entry):
            return True
    return False


def sort_alarms(firing: list[str], allow: list[str], at_start: frozenset[str]) -> tuple[list[str], list[str], list[str]]:
    """Split alarms in ALARM into (allow-listed, already firing at the start, new)."""
    ok, old, new = [], [], []
    for name in sorted(firing):
        if allowed(name, allow):
            ok.append(name)
        elif name in at_start:
            old.append(name)
        else:
            new.append(name)
    return ok, old, new


def run(ctx: CheckContext, params: AlarmsParams) -> CheckResult:
    allow = [ctx.expand(a) for a in params.allow]
    prefix = ctx.expand(params.prefix) if params.prefix else None

    def body(probe: Probe) -> CheckResult:
        aws = probe.aws
        cw = aws.client("cloudwatch")

        def firing() -> list[tuple[str, str]]:
            found: list[tuple[str, str]] = []
            kwargs: dict[str, Any] = {"StateValue": "ALARM"}
            if prefix:
                kwargs["AlarmNamePrefix"] = prefix
            for page in cw.get_paginator("describe_alarms").paginate(**kwargs):
                for alarm in [*page.get("MetricAlarms", []), *page.get("CompositeAlarms", [])]:
                    found.append((str(alarm.get("AlarmName", "")), str(alarm.get("StateReason", ""))))
            return found

        alarms = aws.call("cloudwatch:DescribeAlarms", firing)
        names = [n for n, _ in alarms]
        ok, old, new = sort_alarms(names, allow, ctx.alarms_at_start)
        reasons = dict(alarms)
        probe.note(
            f"cloudwatch:DescribeAlarms StateValue=ALARM{f' AlarmNamePrefix={prefix}' if prefix else ''}",
            {
                "in_alarm": listed(names),
                "allow_listed": ok,
                "already_in_alarm_at_start": old,
                "new": [{"AlarmName": n, "StateReason": reasons.get(n, "")[:300]} for n in new],
            },
        )
        if new:
            return probe.failed(f"{len(new)} new alarm(s) in ALARM: {', '.join(new)}")
        if old:
            return probe.warned(f"in ALARM since before the release: {', '.join(old)}")
        if ok:
            return probe.passed(f"no alarm in ALARM except allow-listed {', '.join(ok)}")
        return probe.passed("no alarm in ALARM")

    return guarded(ctx, NAME, f"alarms{f' {prefix}*' if prefix else ''}", body)


def describe(params: AlarmsParams) -> str:
    allow = f", allowed: {', '.join(params.allow)}" if params.allow else ""
    return f"cloudwatch:DescribeAlarms StateValue=ALARM, expect none{allow}"


CHECK_TYPES: list[CheckType[Any]] = [
    CheckType(NAME, AlarmsParams, run, describe, doc="No alarm in ALARM but the allow-list and those firing before the release."),
]
