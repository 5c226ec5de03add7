"""``golive rollback``, ``abort`` and ``promote``: a person's hand on the canary; and a failed validation's rollback.

A rollback puts every function of a project back on its previous stable
version with the routing cleared, through the one restore (``restore.py``),
measured to the confirmed alias state (the runbook promises under a minute).
The stable versions come from the canary's own record in the store; failing
that, from an alias still carrying weights (its main version is the stable
one); never from a guess. ``--full`` then runs the plan's full-rollback
command, recorded on its own.
Abort and promote are recorded as operator events that the running canary
reads on its next pass, so they work from any terminal. A validation that
fails after promotion does the same for every canary its run promoted, when
the plan's ``on_validation_failure`` is ``rollback`` (the default for canary
projects): previous versions restored, measured, recorded.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from golive.engine.context import Services, StepContext
from golive.engine.outcome import Fail
from golive.errors import GoliveError, ReleaseStopped, UnknownNameError, UsageError
from golive.evidence.canary import OperatorCommand
from golive.evidence.rollback import FullRollbackRan, RollbackFailed, RolledBack
from golive.plan.dependencies import Graph, project_of_lane
from golive.plan.model import ApiRef
from golive.plan.variables import expand, variables
from golive.providers import shell
from golive.providers.aws import Aws
from golive.providers.lambdas import LambdaClient
from golive.routers.apigw_stage import ApiGatewayStageRouter
from golive.routers.base import Variants
from golive.routers.for_params import router_for
from golive.routers.lambda_alias import variants_of
from golive.steps.canary import KIND as CANARY
from golive.steps.restore import Ask, Routed, Waiting, lambda_aliases, restore


def _project(services: Services, project: str) -> Any:
    plan = services.plan
    if project not in plan.projects:
        raise UnknownNameError("project", project, list(plan.projects))
    return plan.projects[project]


def _given(aws: Aws) -> Callable[[], Aws]:
    return lambda: aws


def after_failed_validation(ctx: StepContext, reason: str, result: dict[str, Any]) -> Fail:
    """The validation failed: put every canary this run promoted back on its previous versions, each measured,
    each project before the projects it depends on.

    The intent (reason and checks) is saved first and each restored canary is recorded in the same
    transaction as the step's note that it is done, so a validation resumed after a crash finishes these
    rollbacks (it does not validate again the traffic it already moved back) and records none twice.
    """
    if "rollback" not in ctx.state:
        ctx.state["rollback"] = {"reason": reason, "result": result, "done": [], "outcomes": []}
        ctx.save()
    saved = dict(ctx.state["rollback"])
    reason, result = saved["reason"], dict(saved["result"])
    # Each project before those it depends on (the run's depends_on graph); without one, in the run's order.
    rank = Graph.from_data((ctx.run.meta.get("plan") or {}).get("dependencies")).undo_rank()
    steps = sorted(ctx.store.steps(ctx.run.id), key=lambda s: rank.get(project_of_lane(s.lane), len(rank)))
    for step in steps:
        if step.kind != "canary" or step.key in saved["done"] or step.state.get("phase") != "promoted" \
                or not step.state.get("versions"):
            continue
        params = CANARY.parse(step.params)
        why = f"validation failed after promotion: {reason}"
        aws = ctx.services.aws(ctx.run.env, params.region)
        router = Routed(router_for(params, _given(aws), ctx.services.clock), variants_of(step.state["versions"]))
        record = restore(router, Ask(project=params.project, reason=why, asked_by="validation", region=params.region,
                                     from_weight=100.0), waiting=None)
        ctx.record(record)
        saved = {**saved, "done": [*saved["done"], step.key], "outcomes": [*saved["outcomes"], record.to_data()]}
        ctx.state["rollback"] = saved
        ctx.save()
        if isinstance(record, RolledBack):
            ctx.store.update_step(step.id, state={**step.state, "phase": "rolled_back", "rollback_reason": why})
    outcomes: list[dict[str, Any]] = saved["outcomes"]
    if not outcomes:
        return Fail(reason, result)
    done = [r["project"] for r in outcomes if "error" not in r]
    failed = [r["project"] for r in outcomes if "error" in r]
    text = f"{reason}; rolled back {', '.join(done) or 'nothing'} to the previous versions"
    if failed:
        text += f"; could not roll back {', '.join(failed)}"
    return Fail(text, {**result, "rollbacks": outcomes}, rolled_back=bool(done))


def recorded_versions(services: Services, env: str, project: str,
                      region: str | None) -> tuple[dict[str, dict[str, str]], float | None]:
    """The versions the project's latest canary recorded, and the weight it had reached (or meant to)."""
    store, plan = services.store, services.plan
    for run in reversed(store.runs(plan.release, env)):
        for step in store.steps(run.id):
            if step.kind == "canary" and step.params.get("project") == project and step.state.get("versions") \
                    and step.params.get("region") in (None, region):
                state = step.state
                weight = state.get("shift_intent", state.get("last_weight"))
                return {fn: dict(v) for fn, v in state["versions"].items()}, None if weight is None else float(weight)
    return {}, None


def rollback(services: Services, env: str, project: str, *, full: bool = False, region: str | None = None,
             why: str = "golive rollback", by: str | None = None) -> dict[str, Any]:
    """``golive rollback``: the project's aliases back on their stable versions (the one restore), recorded."""
    spec = _project(services, project)
    canary = spec.rollout.lambda_canary if spec.rollout else None
    started = time.perf_counter()
    result: dict[str, Any] = {"project": project, "env": env}
    region = region or services.plan.environments[env].region
    release, now = services.plan.release, services.clock.now
    if canary is not None:
        aws = services.aws(env, region)
        versions, from_weight = recorded_versions(services, env, project, region)
        if not versions:
            lam = LambdaClient(aws)
            selector = expand(canary.functions.model_dump(exclude_none=True), variables(services.plan, env))
            for fn in lam.select(selector):
                state = lam.get_alias_routing(fn, canary.alias)
                if state.weights:
                    versions[fn] = {"stable": state.version, "canary": next(iter(state.weights))}
                    from_weight = max(from_weight or 0.0, round(100 * max(state.weights.values()), 3))
        if not versions:
            raise UsageError(f"{project}: no recorded canary and no alias carrying weights: nothing to roll back to")
        # A canary still running must not shift the traffic forward again on its next pass: it reads this.
        services.store.append_record(OperatorCommand(subject=project, outcome="abort", by=by, why=why),
                                     release=release, env=env, at=now())
        record = restore(lambda_aliases(aws, canary.alias, versions),
                         Ask(project=project, reason=why, asked_by="operator", region=region, from_weight=from_weight),
                         waiting=Waiting.of(services, env))
        services.store.append_record(record, release=release, env=env, at=now())
        if isinstance(record, RollbackFailed):
            raise ReleaseStopped(f"{project} could not be rolled back: {record.error}")
        result.update(functions=list(record.functions), alias_seconds=record.seconds)
    stage_canary = spec.rollout.apigw_canary if spec.rollout else None
    if stage_canary is not None and spec.api is not None:
        result.update(_stage_rollback(services, env, project, spec.api, region, why, by))
    if full:
        rb = services.plan.rollback.full
        if rb is None:
            raise UsageError("the plan has no rollback.full command")
        argv = expand(rb.command, {**variables(services.plan, env), "project": project})
        workdir = Path(services.extras.get("workdir", "."))
        began = time.perf_counter()
        try:
            outcome = shell.run(argv, timeout=rb.timeout.total_seconds(), cwd=str(workdir / (rb.cwd or ".")))
        except GoliveError as exc:
            raise UsageError(f"full rollback could not start: {exc}") from None
        output = services.redact((outcome.stdout + outcome.stderr)[-2000:])
        result["full"] = {"argv": argv, "exit_code": outcome.exit_code, "output": output}
        services.store.append_record(FullRollbackRan(subject=project, project=project, argv=tuple(argv),
                                                     exit_code=outcome.exit_code, output=output,
                                                     seconds=round(time.perf_counter() - began, 3)),
                                     release=release, env=env, at=now())
    result["seconds"] = round(time.perf_counter() - started, 3)
    return result


def _stage_rollback(services: Services, env: str, project: str, api: ApiRef, region: str,
                    why: str, by: str | None) -> dict[str, Any]:
    """``golive rollback`` of an API Gateway stage canary: the stage's canary settings removed (and the stage back
    on the deployment it served before, if the canary was promoted), from the recorded canary or the stage now."""
    release, now = services.plan.release, services.clock.now
    aws = services.aws(env, region)
    vars_ = variables(services.plan, env)
    router = ApiGatewayStageRouter(_given(aws), str(expand(api.rest_api, vars_)), str(expand(api.stage, vars_)),
                                   region=region)
    versions, from_weight = recorded_versions(services, env, project, region)
    if not versions:
        split = router.split([Variants(router.target, "", "")])[0]
        if split.canary is None or split.canary == split.stable:
            raise UsageError(f"{project}: no recorded canary and no canary settings on {router.target}: "
                             f"nothing to roll back to")
        versions = {router.target: {"stable": split.stable, "canary": split.canary}}
        from_weight = float(split.detail.get("canarySettings", {}).get("percentTraffic", 0.0))
    services.store.append_record(OperatorCommand(subject=project, outcome="abort", by=by, why=why),
                                 release=release, env=env, at=now())
    record = restore(Routed(router, variants_of(versions)),
                     Ask(project=project, reason=why, asked_by="operator", region=region, from_weight=from_weight),
                     waiting=Waiting.of(services, env))
    services.store.append_record(record, release=release, env=env, at=now())
    if isinstance(record, RollbackFailed):
        raise ReleaseStopped(f"{project} could not be rolled back: {record.error}")
    return {"functions": list(record.functions), "alias_seconds": record.seconds}


def operator(services: Services, env: str, project: str, action: str, by: str | None, why: str | None, *,
             run_id: int | None = None, step: str | None = None) -> int:
    spec = _project(services, project)
    if not (spec.rollout and (spec.rollout.lambda_canary or spec.rollout.apigw_canary)):
        raise UsageError(f"{project} has no canary to {action}")
    if action == "promote" and not why:
        raise UsageError("promote needs --why \"...\" (it is recorded)")
    return services.store.append_record(OperatorCommand(subject=project, outcome=action, by=by, why=why, step=step),
                                        release=services.plan.release, env=env, at=services.clock.now(),
                                        run_id=run_id)
