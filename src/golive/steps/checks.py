"""The ``checks`` step: a list of typed checks, as a gate or as a report.

As a gate (the infrastructure and DNS of prep, the checklist, a project's verify, the validation), any
failure fails the step, and a check whose system gave no answer raises its error so the runner retries
and then exits 3. As a report (the prerequisites), failures are recorded as "action required" and the
run goes on, as the runbook's prerequisites are. A failed validation after promotion rolls the promoted
canaries back when the plan says so (``on_failure: rollback``).
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from golive.engine.context import StepContext
from golive.engine.outcome import Done, Fail, Outcome
from golive.steps.checking import preflight_summary, run_step_checks
from golive.steps.kind import StepKind, StepParams
from golive.steps.rollback import after_failed_validation


class ChecksParams(StepParams):
    # Each entry: {"kind": check name, "params": its parameters (expanded), "project"?: name, "env"?: name}.
    checks: list[dict[str, Any]]
    mode: Literal["gate", "report"] = "gate"
    on_failure: str | None = None  # "rollback": a failed validation puts promoted canaries back
    sourced_secrets: dict[str, list[str]] = Field(default_factory=dict)  # a report's: secrets prep sets if missing


def describe_check(check: dict[str, Any]) -> str:
    params = check.get("params")
    if params is None:
        return str(check["kind"])
    if isinstance(params, dict):
        shown = ", ".join(f"{k}={v}" for k, v in params.items())
        return f"{check['kind']}({shown})"
    return f"{check['kind']}({params})"


def describe(params: ChecksParams) -> list[str]:
    return [describe_check(c) for c in params.checks]


def run(ctx: StepContext, params: ChecksParams) -> Outcome:
    entries = params.checks
    if params.on_failure == "rollback" and "rollback" in ctx.state:
        # Resumed mid-rollback: the validation failed already; checking again the traffic it moved back would lie.
        saved = ctx.state["rollback"]
        return after_failed_validation(ctx, saved["reason"], dict(saved["result"]))
    results = run_step_checks(ctx, entries, raise_unanswered=params.mode != "report")
    bad = [f"{r.check} {r.target}: {r.summary}" for r in results if not r.ok]
    summary = {"passed": sum(r.ok for r in results), "failed": len(bad), "total": len(results)}
    if params.mode == "report":
        pre = preflight_summary(params.sourced_secrets, entries, results)
        text = f"{len(results)} checks passed" if not bad else \
            f"action required: {len(bad)} of {len(results)} checks failed ({len(pre['fixable'])} fixed by prep)"
        return Done(text, {**pre, "action": bad}, outcome="pass" if not bad else "warn", kind="preflight",
                    subject=f"preflight {ctx.run.env}")
    if not bad:
        return Done(f"{len(results)} checks passed", summary)
    if params.on_failure == "rollback":
        return after_failed_validation(ctx, "; ".join(bad), summary)
    return Fail("; ".join(bad), summary)


KIND = StepKind("checks", ChecksParams, run, describe)
