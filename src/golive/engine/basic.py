"""The handlers every run needs: checks, approvals, and a no-op.

``checks`` runs a step's check list (a gate: any failure fails the step; a
report: failures are recorded as "action required" and the run goes on, as
the runbook's prerequisites are). ``approval`` waits, as stored state, until
every required role has approved in the store. ``noop`` does nothing and is
what the engine benchmark runs.
"""

from __future__ import annotations

from typing import Any

from golive.checks.base import CheckContext
from golive.checks.runner import run_checks
from golive.engine.context import Services, StepContext
from golive.engine.outcome import Done, Fail, Handler, Outcome, Wait
from golive.plan.variables import variables


def check_context(services: Services, env: str, alarms_at_start: frozenset[str] = frozenset()) -> CheckContext:
    plan = services.plan
    aws = services.aws(env) if services.aws_for is not None else None
    return CheckContext(
        env=env, aws=aws, http=services.http, github=services.github, clock=services.clock,
        redact=services.redact, variables=variables(plan, env), http_ok=frozenset(plan.http_ok),
        alarms_at_start=alarms_at_start, repos={n: p.repo for n, p in plan.projects.items()},
    )


def alarms_at_start(ctx: StepContext, env: str) -> frozenset[str]:
    return frozenset(ctx.run.meta.get("alarms_at_start", {}).get(env, []))


def _checks(ctx: StepContext) -> Outcome:
    env = ctx.run.env
    entries: list[dict[str, Any]] = ctx.params["checks"]
    results = run_checks(entries, lambda e: check_context(ctx.services, e or env, alarms_at_start(ctx, e or env)))
    bad = []
    for entry, result in zip(entries, results, strict=True):
        data = result.to_dict()
        if "project" in entry:
            data["project"] = entry["project"]
        ctx.event("check", f"{result.check} {result.target}", data, outcome=result.status.value)
        if not result.ok:
            bad.append(f"{result.check} {result.target}: {result.summary}")
    summary = {"passed": sum(r.ok for r in results), "failed": len(bad), "total": len(results)}
    if not bad:
        return Done(f"{len(results)} checks passed", summary)
    if ctx.params.get("mode") == "report":
        return Done(f"action required: {len(bad)} of {len(results)} checks failed", {**summary, "action": bad},
                    outcome="warn")
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
