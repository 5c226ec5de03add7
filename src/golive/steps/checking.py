"""The one way a check context is made, for every caller: preflight, verify, validation, soak, gate.

A check is given its environment's AWS, GitHub, HTTP, clock, redactor and plan variables, the alarms that
already fired when the release started, and the release's open incidents read from the store, so the
``incidents`` check means the same wherever it runs (before, the preflight's context said "no incidents").
Also here: what a preflight's failures mean (blocking, or fixed by prep, or unanswered).
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from typing import Any

from golive.checks import registry
from golive.checks.base import CheckContext, CheckResult
from golive.checks.runner import run_checks
from golive.engine.context import Services, StepContext
from golive.evidence.checks import check_record, missing_secrets
from golive.plan.model import CheckEntry, Plan
from golive.plan.variables import expand, variables


def check_context(services: Services, env: str, alarms_at_start: frozenset[str] = frozenset()) -> CheckContext:
    """A context for checks of ``env``: every dependency from ``services``, incidents from its store."""
    plan, store = services.plan, services.store

    def open_incidents() -> list[dict[str, Any]]:
        return [{"id": i.id, "severity": i.severity, "title": i.title, "env": i.env}
                for i in store.incidents(plan.release, open_only=True)]

    aws = services.aws(env) if services.aws_for is not None else None
    return CheckContext(
        env=env, aws=aws, http=services.http, github=services.github, clock=services.clock,
        redact=services.redact, variables=variables(plan, env), http_ok=frozenset(plan.http_ok),
        alarms_at_start=alarms_at_start, repos={n: p.repo for n, p in plan.projects.items()},
        open_incidents=open_incidents, workdir=services.extras.get("workdir"), params_expanded=True,
    )


def alarms_at_start(ctx: StepContext, env: str) -> frozenset[str]:
    return frozenset(ctx.run.meta.get("alarms_at_start", {}).get(env, []))


def unreachable(result: CheckResult) -> str | None:
    """Why a result could not be had: an outside system gave no answer after retries (the call, region, endpoint)."""
    return None if result.unanswered is None else result.unanswered.message or result.summary


def sourced_secrets(plan: Plan) -> dict[str, list[str]]:
    """Per project, the secrets the plan gives a source for: prep sets them when missing (frozen into steps)."""
    return {name: sorted(s for s, source in project.secrets.items() if source is not None)
            for name, project in plan.projects.items()}


def preflight_summary(sourced: Mapping[str, Collection[str]], entries: list[dict[str, Any]],
                      results: list[CheckResult]) -> dict[str, Any]:
    """Failures split into what blocks a release and what the prep phase will fix itself.

    Prep sets a missing secret the plan gives a source for (``sourced``: ``sourced_secrets(plan)``, as the
    step froze it), and creates the release tags.
    """
    blocking: list[str] = []
    fixable: list[str] = []
    for entry, result in zip(entries, results, strict=True):
        if result.ok:
            continue
        line = f"{result.check} {result.target}: {result.summary}"
        project = sourced.get(entry.get("project", ""))
        if result.check == "github_tag":
            fixable.append(line)
        elif result.check == "github_secrets" and project is not None:
            missing = missing_secrets([e.to_dict() for e in result.evidence])
            if missing and all(name in project for name in missing):
                fixable.append(line)
            else:
                blocking.append(line)
        else:
            blocking.append(line)
    return {"total": len(results), "passed": sum(r.ok for r in results), "blocking": blocking, "fixable": fixable,
            "unreachable": [why for r in results if (why := unreachable(r)) is not None],
            "results": [r.to_dict() for r in results]}


def run_step_checks(ctx: StepContext, entries: list[dict[str, Any]], *,
                    raise_unanswered: bool = False) -> list[CheckResult]:
    """Run a step's checks and record each result; with ``raise_unanswered``, a check whose system gave no
    answer raises its error first (nothing recorded), so the runner retries the step and then exits 3."""
    env = ctx.run.env
    results = run_checks(entries, lambda e: check_context(ctx.services, e or env, alarms_at_start(ctx, e or env)))
    silent = next((r.unanswered for r in results if r.unanswered is not None), None)
    if raise_unanswered and silent is not None:
        raise silent
    for entry, result in zip(entries, results, strict=True):
        ctx.record(check_record(result.to_dict(), entry.get("project")))
    return results


def check_entries(plan: Plan, entries: list[CheckEntry], vars_: dict[str, str], *,
                  at_release_ref: bool = False) -> list[dict[str, Any]]:
    """Check entries with their parameters expanded; per-project GitHub checks become one per project.

    Before prep the release tag does not exist yet, so workflows are read on the default branch;
    ``at_release_ref`` reads them at the tag (the checklist, after prep).
    """
    out: list[dict[str, Any]] = []
    for entry in entries:
        if entry.kind in registry.PER_PROJECT and entry.params is None:
            for name, project in plan.projects.items():
                if project.deploy.github_workflow is None:
                    continue
                params: dict[str, Any] = {"repo": project.repo, "workflow": project.deploy.github_workflow}
                sent = sorted({*project.deploy.inputs, *([project.terraform.sha_input] if project.terraform is not None
                                                         and project.terraform.sha_input else [])})
                if entry.kind == "github_workflow" and sent:
                    params["inputs"] = sent
                if entry.kind == "github_secrets":
                    if at_release_ref:
                        params["ref"] = project.deploy.ref or plan.version
                    params["extra"] = sorted(project.secrets)
                if entry.kind == "github_tag":
                    params = {"repo": project.repo, "tag": plan.version}
                out.append({"kind": entry.kind, "params": expand(params, vars_), "project": name})
            continue
        out.append({"kind": entry.kind, "params": expand(entry.params, vars_)})
    return out


def preflight_checks(plan: Plan, env: str) -> list[dict[str, Any]]:
    """The plan's preflight checks for ``env``, expanded (``golive preflight``, and a gate refreshing it)."""
    return check_entries(plan, plan.preflight, variables(plan, env))
