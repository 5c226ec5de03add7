"""The handlers every run needs: checks, approvals, and a no-op.

``checks`` runs a step's check list (a gate: any failure fails the step; a
report: failures are recorded as "action required" and the run goes on, as
the runbook's prerequisites are). ``approval`` waits, as stored state, until
every required role has approved in the store. ``noop`` does nothing and is
what the engine benchmark runs.
"""

from __future__ import annotations

from typing import Any

from golive.checks.base import CheckContext, CheckResult
from golive.checks.runner import run_checks
from golive.engine.context import Services, StepContext
from golive.engine.outcome import Done, Fail, Handler, Outcome, Wait
from golive.evidence.checks import check_record, missing_secrets
from golive.plan.model import Plan
from golive.plan.variables import variables


def check_context(services: Services, env: str, alarms_at_start: frozenset[str] = frozenset()) -> CheckContext:
    plan = services.plan
    aws = services.aws(env) if services.aws_for is not None else None
    return CheckContext(
        env=env, aws=aws, http=services.http, github=services.github, clock=services.clock,
        redact=services.redact, variables=variables(plan, env), http_ok=frozenset(plan.http_ok),
        alarms_at_start=alarms_at_start, repos={n: p.repo for n, p in plan.projects.items()},
        workdir=services.extras.get("workdir"), params_expanded=True,
    )


def alarms_at_start(ctx: StepContext, env: str) -> frozenset[str]:
    return frozenset(ctx.run.meta.get("alarms_at_start", {}).get(env, []))


def _missing_secrets(result: CheckResult) -> list[str]:
    return missing_secrets([e.to_dict() for e in result.evidence])

def unreachable(result: CheckResult) -> str | None:
    """Why a result could not be had: an outside system gave no answer after retries (the call, region, endpoint)."""
    return None if result.unanswered is None else result.unanswered.message or result.summary


def preflight_summary(plan: Plan, entries: list[dict[str, Any]], results: list[CheckResult]) -> dict[str, Any]:
    """Failures split into what blocks a release and what the prep phase will fix itself.

    Prep sets a missing secret the plan gives a source for, and creates the release tags.
    """
    blocking: list[str] = []
    fixable: list[str] = []
    for entry, result in zip(entries, results, strict=True):
        if result.ok:
            continue
        line = f"{result.check} {result.target}: {result.summary}"
        project = plan.projects.get(entry.get("project", ""))
        if result.check == "github_tag":
            fixable.append(line)
        elif result.check == "github_secrets" and project is not None:
            missing = _missing_secrets(result)
            if missing and all(project.secrets.get(name) is not None for name in missing):
                fixable.append(line)
            else:
                blocking.append(line)
        else:
            blocking.append(line)
    return {"total": len(results), "passed": sum(r.ok for r in results), "blocking": blocking, "fixable": fixable,
            "unreachable": [why for r in results if (why := unreachable(r)) is not None],
            "results": [r.to_dict() for r in results]}


def run_step_checks(ctx: StepContext, *, raise_unanswered: bool = False) -> tuple[list[dict[str, Any]],
                                                                              list[CheckResult]]:
    """Run the step's checks and record each result; with ``raise_unanswered``, a check whose system gave no
    answer raises its error first (nothing recorded), so the runner retries the step and then exits 3."""
    env = ctx.run.env
    entries: list[dict[str, Any]] = ctx.params["checks"]
    results = run_checks(entries, lambda e: check_context(ctx.services, e or env, alarms_at_start(ctx, e or env)))
    silent = next((r.unanswered for r in results if r.unanswered is not None), None)
    if raise_unanswered and silent is not None:
        raise silent
    for entry, result in zip(entries, results, strict=True):
        ctx.record(check_record(result.to_dict(), entry.get("project")))
    return entries, results


def _checks(ctx: StepContext) -> Outcome:
    entries, results = run_step_checks(ctx, raise_unanswered=ctx.params.get("mode") != "report")
    bad = [f"{r.check} {r.target}: {r.summary}" for r in results if not r.ok]
    summary = {"passed": sum(r.ok for r in results), "failed": len(bad), "total": len(results)}
    if ctx.params.get("mode") == "report":
        pre = preflight_summary(ctx.services.plan, entries, results)
        text = f"{len(results)} checks passed" if not bad else \
            f"action required: {len(bad)} of {len(results)} checks failed ({len(pre['fixable'])} fixed by prep)"
        return Done(text, {**pre, "action": bad}, outcome="pass" if not bad else "warn", kind="preflight",
                    subject=f"preflight {ctx.run.env}")
    if not bad:
        return Done(f"{len(results)} checks passed", summary)
    if ctx.params.get("on_failure") == "rollback":
        from golive.rollout.rollback import after_failed_validation

        return after_failed_validation(ctx, "; ".join(bad), summary)
    return Fail("; ".join(bad), summary)


def _approval(ctx: StepContext) -> Outcome:
    gate = ctx.params["gate"]
    roles: list[str] = ctx.params.get("roles", [])
    approvals = ctx.store.approvals(ctx.run.release, ctx.run.env, gate)
    have = {a.role for a in approvals if a.at >= ctx.run.created_at}
    missing = [r for r in roles if r not in have]
    if missing and ctx.services.rehearsal:
        for role in missing:
            ctx.store.add_approval(ctx.run.release, ctx.run.env, gate, f"rehearsal-{role}", role,
                                   "granted by the rehearsal", ctx.now, rehearsal=True)
        missing = []
    if missing:
        return Wait(None, f"waiting for approval by {', '.join(missing)} (golive approve {gate} --by NAME --role ROLE)")
    return Done(f"approved by {', '.join(roles)}", {"roles": roles})


def _noop(ctx: StepContext) -> Outcome:
    return Done()


HANDLERS = [
    Handler("checks", _checks),
    Handler("approval", _approval),
    Handler("noop", _noop),
]
