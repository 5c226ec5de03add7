"""``golive rollback``, ``abort`` and ``promote``: a person's hand on the canary.

A rollback puts every function of a project back on its previous stable
version with the routing cleared, and is measured from the command to the
confirmed alias state (the runbook promises under a minute). The stable
versions come from the canary's own record in the store; failing that, from
an alias still carrying weights (its main version is the stable one); never
from a guess. ``--full`` also runs the plan's full-rollback command.
Abort and promote are recorded as operator events that the running canary
reads on its next pass, so they work from any terminal. A validation that
fails after promotion does the same for every canary its run promoted, when
the plan's ``on_validation_failure`` is ``rollback`` (the default for canary
projects): previous versions restored, measured, recorded.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from golive.engine.context import Services, StepContext
from golive.engine.outcome import Fail
from golive.errors import GoliveError, UnknownNameError, UsageError
from golive.evidence.canary import OperatorCommand
from golive.evidence.rollback import RollbackFailed, RolledBack
from golive.plan.variables import expand, variables
from golive.providers import shell
from golive.providers.lambdas import LambdaClient
from golive.steps.canary import KIND as CANARY


def _project(services: Services, project: str) -> Any:
    plan = services.plan
    if project not in plan.projects:
        raise UnknownNameError("project", project, list(plan.projects))
    return plan.projects[project]


def after_failed_validation(ctx: StepContext, reason: str, result: dict[str, Any]) -> Fail:
    """The validation failed: put every canary this run promoted back on its previous versions, each measured."""
    restored: list[dict[str, Any]] = []
    for step in ctx.store.steps(ctx.run.id):
        if step.kind != "canary" or step.state.get("phase") != "promoted" or not step.state.get("versions"):
            continue
        params = CANARY.parse(step.params)
        project = params.project
        aws = ctx.services.aws(ctx.run.env, params.region)
        evidence: dict[str, Any] = {"project": project, "region": params.region, "from_weight": 100.0,
                                    "reason": f"validation failed after promotion: {reason}"}
        try:
            seconds, confirmed = LambdaClient(aws).restore(step.state["versions"], params.alias)
        except GoliveError as exc:
            ctx.record(RollbackFailed.from_data(project, "rollback_failed", {**evidence, "error": str(exc)}))
            restored.append({**evidence, "error": str(exc)})
            continue
        evidence.update(seconds=round(seconds, 3), functions=[s.to_dict() for s in confirmed])
        ctx.store.update_step(step.id, state={**step.state, "phase": "rolled_back",
                                              "rollback_reason": evidence["reason"]})
        ctx.record(RolledBack.from_data(project, "rolled_back", evidence))
        restored.append(evidence)
    if not restored:
        return Fail(reason, result)
    done = [r["project"] for r in restored if "error" not in r]
    failed = [r["project"] for r in restored if "error" in r]
    text = f"{reason}; rolled back {', '.join(done) or 'nothing'} to the previous versions"
    if failed:
        text += f"; could not roll back {', '.join(failed)}"
    return Fail(text, {**result, "rollbacks": restored}, rolled_back=bool(done))


def recorded_versions(services: Services, env: str, project: str, region: str | None) -> dict[str, dict[str, str]]:
    store, plan = services.store, services.plan
    for run in reversed(store.runs(plan.release, env)):
        for step in store.steps(run.id):
            if step.kind == "canary" and step.params.get("project") == project and step.state.get("versions") \
                    and step.params.get("region") in (None, region):
                return {fn: dict(v) for fn, v in step.state["versions"].items()}
    return {}


def rollback(services: Services, env: str, project: str, *, full: bool = False, region: str | None = None,
             why: str = "golive rollback") -> dict[str, Any]:
    spec = _project(services, project)
    canary = spec.rollout.lambda_canary if spec.rollout else None
    started = time.perf_counter()
    result: dict[str, Any] = {"project": project, "env": env}
    region = region or services.plan.environments[env].region
    if canary is not None:
        lam = LambdaClient(services.aws(env, region))
        versions = recorded_versions(services, env, project, region)
        if not versions:
            selector = expand(canary.functions.model_dump(exclude_none=True), variables(services.plan, env))
            for fn in lam.select(selector):
                state = lam.get_alias_routing(fn, canary.alias)
                if state.weights:
                    versions[fn] = {"stable": state.version, "canary": next(iter(state.weights))}
        if not versions:
            raise UsageError(f"{project}: no recorded canary and no alias carrying weights: nothing to roll back to")
        seconds, confirmed = lam.restore(versions, canary.alias)
        result.update(functions=[s.to_dict() for s in confirmed], alias_seconds=round(seconds, 3))
        # A canary still running must not shift the traffic forward again on its next pass: it reads this.
        services.store.append_record(OperatorCommand(subject=project, outcome="abort", by=None, why=why),
                                     release=services.plan.release, env=env, at=services.clock.now())
    if full:
        rb = services.plan.rollback.full
        if rb is None:
            raise UsageError("the plan has no rollback.full command")
        argv = expand(rb.command, {**variables(services.plan, env), "project": project})
        workdir = Path(services.extras.get("workdir", "."))
        try:
            outcome = shell.run(argv, timeout=rb.timeout.total_seconds(), cwd=str(workdir / (rb.cwd or ".")))
        except GoliveError as exc:
            raise UsageError(f"full rollback could not start: {exc}") from None
        result["full"] = {"argv": argv, "exit_code": outcome.exit_code,
                          "output": services.redact((outcome.stdout + outcome.stderr)[-2000:])}
    result["seconds"] = round(time.perf_counter() - started, 3)
    services.store.append_record(RolledBack.from_data(project, "rolled_back", {**result, "reason": why}),
                                 release=services.plan.release, env=env, at=services.clock.now())
    return result


def operator(services: Services, env: str, project: str, action: str, by: str | None, why: str | None, *,
             run_id: int | None = None) -> int:
    spec = _project(services, project)
    if not (spec.rollout and spec.rollout.lambda_canary):
        raise UsageError(f"{project} has no canary to {action}")
    if action == "promote" and not why:
        raise UsageError("promote needs --why \"...\" (it is recorded)")
    return services.store.append_record(OperatorCommand(subject=project, outcome=action, by=by, why=why),
                                        release=services.plan.release, env=env, at=services.clock.now(),
                                        run_id=run_id)
