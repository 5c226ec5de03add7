"""From a plan to the ordered list of frozen steps a release run executes.

This is pure: no network, no store, no clock. Every step is frozen by its
kind (``StepKind.freeze``: typed parameters, validated here); ``golive plan``
prints each kind's ``describe`` of those parameters and ``golive run`` stores
them as the run's instructions, so a dry run shows exactly what will execute. Every string parameter is expanded here with the
environment's variables (``{env}``, ``{api_base}``, ``{site_url}``, ...), so
a stored step never depends on the plan file changing later.

Phases follow the runbook: prerequisites, soak of the pre-production
environments, the go/no-go gate, prep, the pre-deployment checklist, the
batches (deploy → verify → canary per project; projects of a batch run
side by side), validation, the production soak, sign-off.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any, Literal

from golive.analysis.criteria import parse_criterion
from golive.analysis.units import counted
from golive.analysis.units import hours_or_minutes as _hours
from golive.errors import UnknownNameError
from golive.plan.dependencies import of_plan
from golive.plan.model import CheckEntry, CloudFrontCanary, Plan, Project, SoakSpec, Window
from golive.plan.undo import CommandUndo, RedeployUndo
from golive.plan.variables import expand, variables
from golive.steps import approval, canary, checks, deploy, deployed, prep, soak, tag, terraform_plan, undo, uptime, window
from golive.steps import gate as gate_kind
from golive.steps.canary_params import ApiStageTarget, CloudFrontTarget
from golive.steps.checking import check_entries, sourced_secrets
from golive.steps.terraform_gate import approving_gate
from golive.store.store import StepSpec
from golive.tfplan import DATA_TYPES

PHASES = (
    "prerequisites", "soak", "gate", "prep", "checklist", "deploy", "dr", "validation", "prod_soak", "signoff",
)



def _check_entries(plan: Plan, entries: list[CheckEntry], vars_: dict[str, str], *,
                   at_release_ref: bool = False) -> list[dict[str, Any]]:
    return check_entries(plan, entries, vars_, at_release_ref=at_release_ref)


def _checks_step(key: str, phase: str, title: str, entries: list[dict[str, Any]], *, group: str,
                 mode: Literal["gate", "report"] = "gate", lane: str = "", on_failure: str | None = None,
                 sourced: dict[str, list[str]] | None = None) -> StepSpec:
    return checks.KIND.freeze(checks.ChecksParams(checks=entries, mode=mode, on_failure=on_failure,
                                                  sourced_secrets=sourced or {}),
                              key=key, phase=phase, title=title, group=group, lane=lane or key)


def _soak_steps(plan: Plan, env: str, spec: SoakSpec, phase: str, *, standalone: bool = False) -> list[StepSpec]:
    vars_ = variables(plan, env)
    n = spec.checkpoints
    entries = _check_entries(plan, spec.checks, vars_)
    health = [url for p in plan.projects.values() for url in expand(p.health, vars_)] if spec.health else []
    smoke = [expand(argv, vars_) for p in plan.projects.values() for argv in p.smoke]
    group = f"soak.{env}"
    out = [soak.START.freeze(
        soak.SoakStartParams(env=env, duration_s=spec.duration.total_seconds(), every_s=spec.every.total_seconds(),
                             checkpoints=n),
        key=f"{group}.start", phase=phase, group=group, lane=group,
        title=f"start the {env} soak ({_hours(spec.duration)}, {counted(n, 'checkpoint')} every {_hours(spec.every)})")]
    criteria = [c.model_dump() for c in spec.criteria]
    for i in range(1, n + 1):
        smoke_due = bool(spec.smoke_every) and spec.smoke_every is not None and \
            (spec.every * i) % spec.smoke_every == timedelta(0)
        out.append(soak.CHECKPOINT.freeze(
            soak.CheckpointParams(env=env, index=i, of=n, offset_s=(spec.every * i).total_seconds(),
                                  window_s=spec.every.total_seconds(), criteria=criteria, checks=entries,
                                  health=health, smoke=smoke if smoke_due else [],
                                  metrics=_criteria_metrics(plan, [c.criterion for c in spec.criteria]),
                                  functions=soak.soak_selectors(plan, env) if criteria else []),
            key=f"{group}.checkpoint.{i}", phase=phase, group=group, lane=group,
            title=f"{env} soak checkpoint {i} of {n} (at +{_hours(spec.every * i)})"))
    out.append(soak.END.freeze(soak.SoakEndParams(env=env, checkpoints=n, standalone=standalone),
                               key=f"{group}.end", phase=phase, title=f"{env} soak verdict", group=group, lane=group))
    return out



def _criteria_metrics(plan: Plan, criteria: list[str | None]) -> dict[str, str]:
    """The plan's definitions of the metrics these criteria name (frozen with the step that judges them)."""
    named = {parse_criterion(c).metric for c in criteria if c}
    return {name: metric.lambda_ for name, metric in plan.metrics.items() if name in named}


def _window_step(plan: Plan, name: str, what: str, spec: Window | None, phase: str) -> list[StepSpec]:
    """The wait for ``spec`` (none without a window): its own group, so the phase after it starts inside it."""
    if spec is None:
        return []
    params = window.WindowParams(what=what, start=spec.start, end=spec.end, days=list(spec.days) if spec.days else None,
                                 timezone=plan.timezone)
    return [window.KIND.freeze(params, key=f"window.{name}", phase=phase, title=f"window for {what}",
                               group=f"window.{name}", lane=f"window.{name}")]


def _project_steps(plan: Plan, env: str, name: str, project: Project, group: str, region: str,
                   phase: str, suffix: str = "") -> list[StepSpec]:
    vars_ = variables(plan, env)
    out: list[StepSpec] = []
    lane = name + suffix
    how = project.deploy
    has_canary = bool(project.rollout and (project.rollout.lambda_canary or project.rollout.apigw_canary))
    if not suffix:
        if how.github_workflow:
            params = deploy.DeployParams(
                project=name, method="github_workflow", repo=project.repo, workflow=how.github_workflow,
                ref=how.ref or plan.version, inputs=expand(how.inputs, vars_),
                timeout_s=(how.timeout or timedelta(minutes=45)).total_seconds(), timeout_planned=how.timeout is not None,
                plan_sha_input=project.terraform.sha_input if project.terraform is not None else None,
                terraform=project.terraform is not None,
                plan_tag=plan.version if project.terraform is not None else None,
                approve_gate=approving_gate(plan), canary=has_canary)
        else:
            params = deploy.DeployParams(project=name, method="command", argv=expand(how.command, vars_), cwd=how.cwd,
                                         timeout_s=(how.timeout or timedelta(minutes=30)).total_seconds(),
                                         timeout_planned=how.timeout is not None, idempotent=how.idempotent,
                                         terraform=project.terraform is not None,
                                         plan_tag=plan.version if project.terraform is not None else None,
                approve_gate=approving_gate(plan), canary=has_canary)
        out.append(deploy.KIND.freeze(params, key=f"deploy.{name}", phase=phase, title=f"deploy {name}",
                                      group=group, lane=lane))
        if project.verify:
            entries = _check_entries(plan, project.verify, vars_)
            out.append(_checks_step(f"verify.{name}", phase, f"verify {name}", entries, group=group, lane=lane))
    spec = project.rollout.lambda_canary if project.rollout else None
    if spec is not None:
        out.append(canary.KIND.freeze(
            canary.CanaryParams(
                project=name, region=region, functions=expand(spec.functions.model_dump(exclude_none=True), vars_),
                alias=spec.alias, new_versions=spec.new_versions,
                steps=[canary.CanaryStep(weight=s.weight, bake_s=s.bake.total_seconds() if s.bake else 0)
                       for s in spec.steps],
                analysis=spec.analysis.model_dump(mode="json"),
                triggers=[t.model_dump(exclude_none=True) for t in plan.rollback.triggers],
                min_invocations=plan.rollback.min_invocations, health=expand(project.health, vars_),
                http_ok=plan.http_ok, rollback_shifted=plan.batch_of(name).rollback_shifted,
                primary=region == plan.environments[env].region,
                metrics=_criteria_metrics(plan, [t.criterion for t in plan.rollback.triggers]),
                undo_after_dependents=plan.rollback.rollback_dependents and bool(of_plan(plan).dependents(name))),
            key=f"canary.{name}{suffix}", phase=phase, group=group, lane=lane,
            title=f"canary {name}{' in ' + region if suffix else ''}: " + " → ".join(f"{s.weight:g}%" for s in spec.steps)))
    stage_canary = project.rollout.apigw_canary if project.rollout else None
    if stage_canary is not None and project.api is not None and not suffix:
        out.append(canary.KIND.freeze(
            canary.CanaryParams(
                project=name, region=region, alias="", functions={},
                apigw_stage=ApiStageTarget(rest_api=str(expand(project.api.rest_api, vars_)),
                                           stage=str(expand(project.api.stage, vars_))),
                steps=[canary.CanaryStep(weight=s.weight, bake_s=s.bake.total_seconds() if s.bake else 0)
                       for s in stage_canary.steps],
                analysis=stage_canary.analysis.model_dump(mode="json"),
                triggers=[t.model_dump(exclude_none=True) for t in plan.rollback.triggers],
                min_invocations=plan.rollback.min_invocations, health=expand(project.health, vars_),
                http_ok=plan.http_ok, rollback_shifted=plan.batch_of(name).rollback_shifted, primary=True,
                metrics=_criteria_metrics(plan, [t.criterion for t in plan.rollback.triggers])),
            key=f"canary.{name}", phase=phase, group=group, lane=lane,
            title=f"canary {name} (API Gateway stage {project.api.stage}): "
                  + " → ".join(f"{s.weight:g}%" for s in stage_canary.steps)))
    site = project.rollout.cloudfront_canary if project.rollout and not suffix else None
    if site is not None:
        out.append(_site_canary(plan, env, name, project, site, group, region, phase))
    return out


def _site_canary(plan: Plan, env: str, name: str, project: Project, site: CloudFrontCanary, group: str, region: str,
                 phase: str) -> StepSpec:
    """A site's CloudFront canary: the same canary step, its router CloudFront's (``routers/cloudfront.py``)."""
    vars_ = variables(plan, env)
    source = project.secrets.get(site.distribution)
    target = CloudFrontTarget(distribution=site.distribution,
                              source=source.model_dump(exclude_none=True) if source is not None else None,
                              origin_path=expand(site.origin_path, vars_), origin=site.origin,
                              header=site.header.name, header_value=expand(site.header.value, vars_))
    steps = [canary.CanaryStep(weight=0.0 if s.header else float(s.weight or 0.0), header=s.header,
                               bake_s=s.bake.total_seconds() if s.bake else 0) for s in site.steps]
    return canary.KIND.freeze(
        canary.CanaryParams(
            project=name, region=region, functions={}, alias="", steps=steps,
            analysis=site.analysis.model_dump(mode="json"),
            triggers=[t.model_dump(exclude_none=True) for t in plan.rollback.triggers],
            min_invocations=plan.rollback.min_invocations, health=expand(project.health, vars_),
            http_ok=plan.http_ok, rollback_shifted=plan.batch_of(name).rollback_shifted, primary=True,
            metrics=_criteria_metrics(plan, [t.criterion for t in plan.rollback.triggers]), cloudfront=target),
        key=f"canary.{name}", phase=phase, group=group, lane=name,
        title=f"canary {name} (CloudFront): " + " → ".join("header" if s.header else f"{s.weight:g}%"
                                                          for s in site.steps))


def build_release(plan: Plan, env: str, *, include_soaks: bool = True) -> list[StepSpec]:
    """Every step of ``golive run --env ENV``, in execution order."""
    vars_ = variables(plan, env)
    e = plan.environments[env]
    steps: list[StepSpec] = []
    prerequisites = _check_entries(plan, plan.preflight, vars_) + api_alias_entries(plan, env)
    if prerequisites:
        steps.append(_checks_step("prerequisites", "prerequisites", f"prerequisites in {env} (report only)",
                                  prerequisites, group="prerequisites",
                                  mode="report", sourced=sourced_secrets(plan)))
    if include_soaks:
        for pre in plan.preprod_envs(env):
            steps += _soak_steps(plan, pre, plan.soak[pre], "soak")
    steps += terraform_steps(plan, env, create_tag=True)
    for gate_name, spec in plan.gates.items():
        if spec.env not in (None, env):
            continue
        steps.append(gate_kind.KIND.freeze(
            gate_kind.gate_params(plan, gate_name, env),
            key=f"gate.{gate_name}", phase="gate", title=f"{gate_name}: GO / NO-GO for {env}",
            group=f"gate.{gate_name}", lane=gate_name))
    # Prep (the runbook's evening tasks): infrastructure, IAM, secrets, tags, DNS/certificates.
    steps += _window_step(plan, "prep", "prep", plan.windows.prep, "prep")
    infra = [c for c in _check_entries(plan, plan.preflight, vars_)
             if c["kind"] in ("vpc", "s3_bucket", "dynamodb_table", "iam_role")]
    if infra:
        steps.append(_checks_step("prep.infrastructure", "prep", f"infrastructure and IAM role in {env}", infra,
                                  group="prep"))
    secrets = [(name, p.repo, secret, source.model_dump(exclude_none=True) if source else None)
               for name, p in plan.projects.items() for secret, source in p.secrets.items()]
    if secrets:
        steps.append(prep.KIND.freeze(
            prep.SecretsParams(secrets=[prep.SecretItem(project=n, repo=r, name=s, source=src)
                                        for n, r, s, src in secrets]),
            key="prep.secrets", phase="prep", title="set the deploy secrets that are missing", group="prep",
            lane="prep.secrets"))
    steps.append(tag_step(plan))
    dns = [c for c in _check_entries(plan, plan.preflight, vars_) if c["kind"] in ("route53_zone", "acm_certificate")]
    if dns:
        steps.append(_checks_step("prep.dns", "prep", "DNS zone and certificates", dns, group="prep"))
    checklist: list[dict[str, Any]] = [{"kind": "aws_account", "params": None}] if "aws_account" in \
        {c.kind for c in plan.preflight} else []
    for pre in plan.preprod_envs(env):
        pre_vars = variables(plan, pre)
        checklist += [{"kind": "http", "params": {"url": u}, "env": pre}
                      for p in plan.projects.values() for u in expand(p.health, pre_vars)]
    # "GitHub secrets set", "Release tags created": verified after prep, not taken on trust.
    checklist += [c for c in _check_entries(plan, plan.preflight, vars_, at_release_ref=True)
                  if c["kind"] == "github_secrets"]
    if any(c.kind == "github_secrets" for c in plan.preflight):
        checklist += [{"kind": "github_tag", "params": {"repo": p.repo, "tag": plan.version}, "project": n}
                      for n, p in plan.projects.items()]
    if checklist:
        steps.append(_checks_step("checklist", "checklist", "pre-deployment checklist (SIT still stable, access)",
                                  checklist, group="checklist"))
    health = [url for p in plan.projects.values() for url in expand(p.health, vars_)]
    steps.append(uptime.START.freeze(uptime.UptimeStartParams(urls=health, ok=plan.http_ok), key="uptime.start",
                                     phase="deploy", title="start the uptime prober", group="uptime.start",
                                     lane="uptime"))
    for batch in plan.batches:
        group = f"batch.{batch.name}"
        steps += _window_step(plan, f"batch.{batch.name}", f"batch {batch.name}", batch.window, "deploy")
        for name in batch.projects:
            steps += _project_steps(plan, env, name, plan.projects[name], group, e.region, "deploy")
    if e.dr_region:
        for batch in plan.batches:
            for name in batch.projects:
                project = plan.projects[name]
                if project.rollout and project.rollout.lambda_canary:
                    steps += _project_steps(plan, env, name, project, f"dr.{batch.name}", e.dr_region, "dr",
                                            suffix="@dr")
    steps.append(uptime.END.freeze(uptime.UptimeEndParams(urls=health), key="uptime.end", phase="validation",
                                   title="availability of every health URL during the deploy", group="uptime.end",
                                   lane="uptime"))
    steps.append(validation_step(plan, env))
    if env in plan.soak:
        # No gate reads the production soak's verdict after it: a failed soak ends the run itself.
        steps += _soak_steps(plan, env, plan.soak[env], "prod_soak", standalone=True)
    if plan.signoff:
        steps += _window_step(plan, "signoff", "sign-off", plan.windows.signoff, "signoff")
        steps.append(approval.KIND.freeze(approval.ApprovalParams(gate="signoff", env=env, roles=list(plan.signoff)),
                                          key="signoff", phase="signoff", title="final sign-off", group="signoff",
                                          lane="signoff"))
    return steps


def terraform_steps(plan: Plan, env: str, *, phase: str = "gate", projects: set[str] | None = None,
                    create_tag: bool = False, tag: str | None = None) -> list[StepSpec]:
    """Each project's Terraform plan, made at the release tag before the gate weighs it (its own group): before
    the gate in a release, before the deploys in ``golive deploy`` (a plan already made at the tag is reused).
    Only a release run, whose own tag step comes after its gate, makes a missing tag (``create_tag``); by hand
    (``golive gate``, ``golive deploy``) the runbook tags first, and a missing tag fails the plan. ``tag``: another
    tag than the release's (an undo's redeploy of the previous release applies that tag's plan)."""
    vars_ = variables(plan, env)
    at = tag or plan.version
    out: list[StepSpec] = []
    for name, project in plan.projects.items():
        tf = project.terraform
        if tf is None or (projects is not None and name not in projects):
            continue
        common: dict[str, Any] = {"project": name, "tag": at, "approver": tf.approver,
                                  "data_types": list(dict.fromkeys([*DATA_TYPES, *tf.data_types])),
                                  "timeout_s": tf.timeout.total_seconds()}
        if tf.plan_workflow is not None:
            params = terraform_plan.TerraformPlanParams(
                **common, method="workflow", repo=project.repo, ref=project.ref,
                tag_message=f"{plan.release} {plan.version}", create_tag=create_tag,
                workflow=tf.plan_workflow, artifact=tf.artifact,
                file=tf.file, inputs=expand(tf.inputs, vars_))
        else:
            params = terraform_plan.TerraformPlanParams(**common, method="command",
                                                        argv=expand(tf.plan_command, vars_), cwd=tf.cwd)
        out.append(terraform_plan.KIND.freeze(params, key=f"terraform.{name}", phase=phase,
                                              title=f"Terraform plan of {name} at {at}",
                                              group="terraform", lane=f"terraform.{name}"))
    return out


def validation_step(plan: Plan, env: str) -> StepSpec:
    """The runbook's post-deployment validation: health URLs, smoke tests, alarms, function counts."""
    vars_ = variables(plan, env)
    health = [url for p in plan.projects.values() for url in expand(p.health, vars_)]
    smoke = [expand(argv, vars_) for p in plan.projects.values() for argv in p.smoke]
    entries = [{"kind": "http", "params": {"url": u}} for u in health]
    entries += [{"kind": "command", "params": {"argv": a}} for a in smoke]
    entries += _check_entries(plan, plan.validation, vars_)
    return _checks_step("validation", "validation", "post-deployment validation", entries, group="validation",
                        on_failure=plan.validation_failure_policy)


def build_verify(plan: Plan, env: str, deployed_projects: set[str]) -> list[StepSpec]:
    """``golive verify``: each deployed project's own ``verify:``, the validation, then whether every project
    was deployed (a project without a recorded deploy is named, not silently passed over)."""
    vars_ = variables(plan, env)
    steps = [_checks_step(f"verify.{name}", "validation", f"verify {name}",
                          _check_entries(plan, project.verify, vars_), group=f"verify.{name}")
             for name, project in plan.projects.items() if name in deployed_projects and project.verify]
    steps.append(validation_step(plan, env))
    names = list(plan.projects)
    steps.append(deployed.KIND.freeze(
        deployed.DeployedParams(env=env, deployed=[n for n in names if n in deployed_projects],
                                not_deployed=[n for n in names if n not in deployed_projects]),
        key="verify.deployed", phase="validation", title="every project deployed", group="verify.deployed",
        lane="verify.deployed"))
    return steps


def build_undo(plan: Plan, env: str, project: str, how: RedeployUndo | CommandUndo, tag: str | None) -> list[StepSpec]:
    """``golive rollback PROJECT`` of a project without a canary: its undo (``plan/undo.py``; a redeploy at ``tag``,
    looked up by the caller), then the project's own ``verify:``."""
    spec = plan.projects[project]
    planned: list[StepSpec] = []
    tf = spec.terraform if isinstance(how, RedeployUndo) else None
    params = undo.params_for(how, tag, terraform=tf, approve_gate=approving_gate(plan))
    if isinstance(how, RedeployUndo):
        title = f"undo {project}: {how.workflow} at {tag}"
        if tf is not None:
            # The earlier tag's apply is a reviewed plan too: made at that tag (once), weighed, its hash sent.
            planned = terraform_steps(plan, env, phase="undo", projects={project}, tag=tag)
    else:
        title = f"undo {project}: {' '.join(how.argv)}"
    group = f"undo.{project}"
    steps = [*planned,
             undo.KIND.freeze(params, key=f"undo.{project}", phase="undo", title=title, group=group, lane=group)]
    if spec.verify:
        steps.append(_checks_step(f"verify.{project}", "undo", f"verify {project}",
                                  _check_entries(plan, spec.verify, variables(plan, env)), group=f"verify.{project}"))
    return steps


def tag_step(plan: Plan) -> StepSpec:
    return tag.KIND.freeze(
        tag.TagParams(tag=plan.version, message=f"{plan.release} {plan.version}",
                      repos=[tag.TagRepo(project=n, repo=p.repo, ref=p.ref) for n, p in plan.projects.items()]),
        key="prep.tags", phase="prep", title=f"annotated tag {plan.version} in every repository", group="prep",
        lane="prep.tags")


def build_soak(plan: Plan, env: str) -> list[StepSpec]:
    """The steps of ``golive soak start --env ENV`` on its own."""
    variables(plan, env)
    if env not in plan.soak:
        raise UnknownNameError("soak", env, list(plan.soak))
    return _soak_steps(plan, env, plan.soak[env], "soak", standalone=True)


_SAMPLED = ("project", "functions", "alias", "region", "steps", "triggers", "min_invocations", "analysis")


def canary_sample_entries(plan: Plan, env: str) -> list[dict[str, Any]]:
    """One ``canary_sample`` check per canary of ``env``'s primary region, on the parameters its step will run with."""
    return [{"kind": "canary_sample", "params": {k: s.params[k] for k in _SAMPLED}, "project": s.params["project"]}
            for s in build_deploy(plan, env) if s.kind == "canary" and not s.params.get("apigw_stage")
            and not s.params.get("cloudfront")]


def api_alias_entries(plan: Plan, env: str) -> list[dict[str, Any]]:
    """One ``api_invokes_alias`` check per project with a Lambda canary and an ``api:`` (checks/api_alias.py)."""
    vars_ = variables(plan, env)
    out: list[dict[str, Any]] = []
    for name, project in plan.projects.items():
        canary = project.rollout.lambda_canary if project.rollout else None
        if canary is None or project.api is None:
            continue
        params = {"project": name, "rest_api": project.api.rest_api, "stage": project.api.stage,
                  "alias": canary.alias, "functions": canary.functions.model_dump(exclude_none=True)}
        out.append({"kind": "api_invokes_alias", "params": expand(params, vars_), "project": name})
    return out


def build_preflight(plan: Plan, env: str) -> list[StepSpec]:
    vars_ = variables(plan, env)
    entries = _check_entries(plan, plan.preflight, vars_) + api_alias_entries(plan, env) \
        + canary_sample_entries(plan, env)
    return [_checks_step("preflight", "prerequisites", f"preflight in {env}", entries, group="preflight",
                         mode="report", sourced=sourced_secrets(plan))]


def build_deploy(plan: Plan, env: str, batch: str | None = None, project: str | None = None) -> list[StepSpec]:
    """The batch phase alone (``golive deploy``), optionally narrowed to one batch or project."""
    e = plan.environments[env]
    if batch is not None and batch not in {b.name for b in plan.batches}:
        raise UnknownNameError("batch", batch, [b.name for b in plan.batches])
    if project is not None and project not in plan.projects:
        raise UnknownNameError("project", project, list(plan.projects))
    steps: list[StepSpec] = []
    for b in plan.batches:
        if batch is not None and b.name != batch:
            continue
        for name in b.projects:
            if project is not None and name != project:
                continue
            steps += _project_steps(plan, env, name, plan.projects[name], f"batch.{b.name}", e.region, "deploy")
    # A deploy sends the hash of its project's plan: made here when no gate made it at this tag before.
    deployed = {str(s.params["project"]) for s in steps if s.kind == "deploy"}
    return terraform_steps(plan, env, phase="deploy", projects=deployed) + steps
