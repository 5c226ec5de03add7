"""``canary_sample``: can every criterion of a canary decide at every step, on the traffic the stable gets now?

Preflight adds one per canary project (the planner's ``canary_sample_entries``): a criterion whose calls
cannot reach its minimum within its bake and the extension cap would leave the canary inconclusive, so it is
a warning before the first shift, naming the criterion, the step, the calls expected, the calls needed and
the window that would suffice (``analysis.sample``). Warn, not fail: the plan may be right to wait.
"""

from __future__ import annotations

from typing import Any

from pydantic import Field

from golive.analysis.canary_sample import read_sample, undecided
from golive.checks.base import CheckContext, CheckParams, CheckResult, CheckType
from golive.checks.support import Probe, guarded

NAME = "canary_sample"


class CanarySampleParams(CheckParams):
    """A canary as its step stores it: project, function selector, alias, steps, triggers and analysis."""

    project: str
    functions: dict[str, Any]
    alias: str = "live"
    region: str | None = None
    steps: list[dict[str, Any]] = Field(min_length=1)
    triggers: list[dict[str, Any]] = Field(default_factory=list)
    min_invocations: int = 300
    analysis: dict[str, Any] = Field(default_factory=dict)


def run(ctx: CheckContext, params: CanarySampleParams) -> CheckResult:
    def body(probe: Probe) -> CheckResult:
        if ctx.aws is None:
            return probe.warned("could not look at the traffic: no AWS for this environment")
        samples, error = read_sample(ctx.aws, ctx.clock, params.model_dump())
        probe.note("lambda:GetAlias per function; cloudwatch:GetMetricData (the stable versions' last hour)",
                   {"error": error} if error else {"lines": [s.line() for s in samples]})
        if error:
            return probe.warned(f"could not look at the traffic: {error}")
        if not samples:
            return probe.passed("no criterion to size")
        cannot = undecided(samples)
        if cannot:
            return probe.warned("; ".join(s.line() for s in cannot))
        return probe.passed(f"{len(samples)} criteria can decide at every step")

    return guarded(ctx, NAME, f"canary {params.project}", body)


def describe(params: CanarySampleParams) -> str:
    return (f"cloudwatch:GetMetricData the stable versions' last hour of {params.project}: can every trigger and "
            f"judge metric decide at each step within its bake and extension cap")


CHECK_TYPES: list[CheckType[Any]] = [
    CheckType(NAME, CanarySampleParams, run, describe,
              doc="Every criterion of a canary gets the calls it needs at every step (warns when it cannot)."),
]
