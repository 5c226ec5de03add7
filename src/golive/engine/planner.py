"""From a plan to the ordered list of frozen steps a release run executes.

This is pure: no network, no store, no clock. It is what ``golive plan``
prints (every step, in order, with the API call or command it will make) and
what ``golive run`` stores as the run's instructions, so a dry run shows
exactly what will execute. Every string parameter is expanded here with the
environment's variables (``{env}``, ``{api_base}``, ``{site_url}``, ...), so
a stored step never depends on the plan file changing later.

Phases follow the runbook: prerequisites, soak of the pre-production
environments, the go/no-go gate, prep, the pre-deployment checklist, the
batches (deploy → verify → canary per project; projects of a batch run
side by side), validation, the production soak, sign-off.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from golive.checks import registry
from golive.errors import UnknownNameError
from golive.plan.model import CheckEntry, Plan, Project, SoakSpec
from golive.plan.variables import expand, variables
from golive.store.store import StepSpec

PHASES = (
    "prerequisites", "soak", "gate", "prep", "checklist", "deploy", "dr", "validation", "prod_soak", "signoff",
)


def _check_entries(plan: Plan, entries: list[CheckEntry], vars_: dict[str, str], *,
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


def _describe_check(check: dict[str, Any]) -> str:
    params = check.get("params")
    if params is None:
        return str(check["kind"])
    if isinstance(params, dict):
        shown = ", ".join(f"{k}={v}" for k, v in params.items())
        return f"{check['kind']}({shown})"
    return f"{check['kind']}({params})"


def _checks_step(key: str, phase: str, title: str, checks: list[dict[str, Any]], *, group: str,
                 mode: str = "gate", lane: str = "") -> StepSpec:
    return StepSpec(
        key=key, phase=phase, kind="checks", title=title, group=group, lane=lane or key,
        params={"checks": checks, "mode": mode, "calls": [_describe_check(c) for c in checks]},
    )


def _soak_steps(plan: Plan, env: str, soak: SoakSpec, phase: str) -> list[StepSpec]:
    vars_ = variables(plan, env)
    n = soak.checkpoints
    checks = _check_entries(plan, soak.checks, vars_)
    health = [url for p in plan.projects.values() for url in expand(p.health, vars_)] if soak.health else []
    smoke = [expand(argv, vars_) for p in plan.projects.values() for argv in p.smoke]
    group = f"soak.{env}"
    out = [StepSpec(
        key=f"{group}.start", phase=phase, kind="soak_start",
        title=f"start the {env} soak ({_hours(soak.duration)}, {n} checkpoints every {_hours(soak.every)})",
        group=group, lane=group,
        params={"env": env, "duration_s": soak.duration.total_seconds(), "every_s": soak.every.total_seconds(),
                "checkpoints": n, "calls": [f"record soak start; snapshot alarms already in ALARM in {env}"]},
    )]
    criteria = [c.model_dump() for c in soak.criteria]
    for i in range(1, n + 1):
        smoke_due = bool(soak.smoke_every) and soak.smoke_every is not None and \
            (soak.every * i) % soak.smoke_every == timedelta(0)
        out.append(StepSpec(
            key=f"{group}.checkpoint.{i}", phase=phase, kind="soak_checkpoint",
            title=f"{env} soak checkpoint {i} of {n} (at +{_hours(soak.every * i)})",
            group=group, lane=group,
            params={
                "env": env, "index": i, "of": n, "offset_s": (soak.every * i).total_seconds(),
                "window_s": soak.every.total_seconds(), "criteria": criteria, "checks": checks,
                "health": health, "smoke": smoke if smoke_due else [],
                "calls": [f"cloudwatch:GetMetricData {len(criteria)} criteria per function over the last "
                          f"{_hours(soak.every)}", *[_describe_check(c) for c in checks],
                          *(f"GET {u}" for u in health), *(" ".join(a) for a in (smoke if smoke_due else []))],
            },
        ))
    out.append(StepSpec(
        key=f"{group}.end", phase=phase, kind="soak_end", title=f"{env} soak verdict", group=group, lane=group,
        params={"env": env, "checkpoints": n, "calls": ["all checkpoints passed → soak passed"]},
    ))
    return out


def _hours(delta: timedelta) -> str:
    hours = delta.total_seconds() / 3600
    return f"{hours:g}h" if hours >= 1 else f"{delta.total_seconds() / 60:g}m"


def _project_steps(plan: Plan, env: str, name: str, project: Project, group: str, region: str,
                   phase: str, suffix: str = "") -> list[StepSpec]:
    vars_ = variables(plan, env)
    out: list[StepSpec] = []
    lane = name + suffix
    deploy = project.deploy
    if not suffix:
        if deploy.github_workflow:
            ref = deploy.ref or plan.version
            inputs = expand(deploy.inputs, vars_)
            call = f"POST /repos/{project.repo}/actions/workflows/{deploy.github_workflow}/dispatches ref={ref}"
            params: dict[str, Any] = {
                "project": name, "method": "github_workflow", "repo": project.repo,
                "workflow": deploy.github_workflow, "ref": ref, "inputs": inputs,
                "timeout_s": (deploy.timeout or timedelta(minutes=45)).total_seconds(),
                "calls": [call, f"GET /repos/{project.repo}/actions/runs/{{run_id}} every 5-10 s until completed"],
            }
        else:
            argv = expand(deploy.command, vars_)
            params = {"project": name, "method": "command", "argv": argv, "cwd": deploy.cwd,
                      "timeout_s": (deploy.timeout or timedelta(minutes=30)).total_seconds(),
                      "calls": [" ".join(argv or [])]}
        out.append(StepSpec(key=f"deploy.{name}", phase=phase, kind="deploy", title=f"deploy {name}",
                            group=group, lane=lane, params=params))
        if project.verify:
            checks = _check_entries(plan, project.verify, vars_)
            out.append(_checks_step(f"verify.{name}", phase, f"verify {name}", checks, group=group, lane=lane))
    canary = project.rollout.lambda_canary if project.rollout else None
    if canary is not None:
        selector = expand(canary.functions.model_dump(exclude_none=True), vars_)
        pattern = selector.get("prefix", "") + "*" + selector.get("suffix", "") if "prefix" in selector else \
            ",".join(selector.get("names", [])) or f"tag {selector.get('tag')}"
        calls = []
        for step in canary.steps:
            if step.weight < 100:
                calls.append(f"lambda:UpdateAlias {pattern} {canary.alias} "
                             f"RoutingConfig.AdditionalVersionWeights={{NEW: {step.weight / 100:.2f}}}")
            else:
                calls.append(f"lambda:UpdateAlias {pattern} {canary.alias} FunctionVersion=NEW RoutingConfig={{}}")
            if step.bake:
                calls.append(f"  bake {_hours(step.bake)}: every {_hours(canary.analysis.interval)} "
                             f"GetMetricData by ExecutedVersion, triggers + canary-vs-stable judge")
        out.append(StepSpec(
            key=f"canary.{name}{suffix}", phase=phase, kind="canary",
            title=f"canary {name}{' in ' + region if suffix else ''}: "
                  + " → ".join(f"{s.weight:g}%" for s in canary.steps),
            group=group, lane=lane,
            params={
                "project": name, "region": region, "functions": selector, "alias": canary.alias,
                "steps": [{"weight": s.weight, "bake_s": s.bake.total_seconds() if s.bake else 0}
                          for s in canary.steps],
                "analysis": canary.analysis.model_dump(mode="json"),
                "triggers": [t.model_dump(exclude_none=True) for t in plan.rollback.triggers],
                "min_invocations": plan.rollback.min_invocations,
                "health": expand(project.health, vars_), "http_ok": plan.http_ok,
                "rollback_shifted": plan.batch_of(name).rollback_shifted,
                "calls": calls,
            },
        ))
    return out


def build_release(plan: Plan, env: str, *, include_soaks: bool = True) -> list[StepSpec]:
    """Every step of ``golive run --env ENV``, in execution order."""
    vars_ = variables(plan, env)
    e = plan.environments[env]
    steps: list[StepSpec] = []
    if plan.preflight:
        steps.append(_checks_step("prerequisites", "prerequisites", f"prerequisites in {env} (report only)",
                                  _check_entries(plan, plan.preflight, vars_), group="prerequisites",
                                  mode="report"))
    if include_soaks:
        for pre in plan.preprod_envs(env):
            steps += _soak_steps(plan, pre, plan.soak[pre], "soak")
    for gate_name, gate in plan.gates.items():
        if gate.env not in (None, env):
            continue
        steps.append(StepSpec(
            key=f"gate.{gate_name}", phase="gate", kind="gate", title=f"{gate_name}: GO / NO-GO for {env}",
            group=f"gate.{gate_name}", lane=gate_name,
            params={"gate": gate_name, "env": env, "calls": [
                *(f"requires {r}" for r in gate.requires), *(f"approval by role {r}" for r in gate.approvals),
                *(f"checklist: {c}" for c in gate.checklist)]},
        ))
    # Prep (the runbook's evening tasks): infrastructure, IAM, secrets, tags, DNS/certificates.
    infra = [c for c in _check_entries(plan, plan.preflight, vars_)
             if c["kind"] in ("vpc", "s3_bucket", "dynamodb_table", "iam_role")]
    if infra:
        steps.append(_checks_step("prep.infrastructure", "prep", f"infrastructure and IAM role in {env}", infra,
                                  group="prep"))
    secrets = [(name, p.repo, secret, source.model_dump(exclude_none=True) if source else None)
               for name, p in plan.projects.items() for secret, source in p.secrets.items()]
    if secrets:
        steps.append(StepSpec(
            key="prep.secrets", phase="prep", kind="set_secrets", title="set the deploy secrets that are missing",
            group="prep", lane="prep.secrets",
            params={"secrets": [{"project": n, "repo": r, "name": s, "source": src} for n, r, s, src in secrets],
                    "calls": [f"PUT /repos/{r}/actions/secrets/{s} if missing (sealed)" for _, r, s, _ in secrets]},
        ))
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
    steps.append(StepSpec(key="uptime.start", phase="deploy", kind="uptime_start", title="start the uptime prober",
                          group="uptime.start", lane="uptime",
                          params={"urls": health, "ok": plan.http_ok,
                                  "calls": [f"GET {u} every 10 s until validation" for u in health]}))
    for batch in plan.batches:
        group = f"batch.{batch.name}"
        for name in batch.projects:
            steps += _project_steps(plan, env, name, plan.projects[name], group, e.region, "deploy")
    if e.dr_region:
        for batch in plan.batches:
            for name in batch.projects:
                project = plan.projects[name]
                if project.rollout and project.rollout.lambda_canary:
                    steps += _project_steps(plan, env, name, project, f"dr.{batch.name}", e.dr_region, "dr",
                                            suffix="@dr")
    steps.append(StepSpec(key="uptime.end", phase="validation", kind="uptime_end",
                          title="availability of every health URL during the deploy", group="uptime.end",
                          lane="uptime", params={"calls": ["availability per URL = probes up / probes"]}))
    steps.append(validation_step(plan, env))
    if env in plan.soak:
        # No gate reads the production soak's verdict after it: a failed soak ends the run itself.
        soak = _soak_steps(plan, env, plan.soak[env], "prod_soak")
        end = soak[-1]
        soak[-1] = StepSpec(end.key, end.phase, end.kind, end.title, end.group, end.lane,
                            {**end.params, "standalone": True})
        steps += soak
    if plan.signoff:
        steps.append(StepSpec(
            key="signoff", phase="signoff", kind="approval", title="final sign-off", group="signoff", lane="signoff",
            params={"gate": "signoff", "env": env, "roles": plan.signoff,
                    "calls": [f"approval by role {r}" for r in plan.signoff]},
        ))
    return steps


def validation_step(plan: Plan, env: str) -> StepSpec:
    """The runbook's post-deployment validation: health URLs, smoke tests, alarms, function counts."""
    vars_ = variables(plan, env)
    health = [url for p in plan.projects.values() for url in expand(p.health, vars_)]
    smoke = [expand(argv, vars_) for p in plan.projects.values() for argv in p.smoke]
    checks = [{"kind": "http", "params": {"url": u}} for u in health]
    checks += [{"kind": "command", "params": {"argv": a}} for a in smoke]
    checks += _check_entries(plan, plan.validation, vars_)
    step = _checks_step("validation", "validation", "post-deployment validation", checks, group="validation")
    step.params["on_failure"] = plan.validation_failure_policy
    return step


def tag_step(plan: Plan) -> StepSpec:
    repos = [(name, p.repo, p.ref) for name, p in plan.projects.items()]
    return StepSpec(
        key="prep.tags", phase="prep", kind="tag", title=f"annotated tag {plan.version} in every repository",
        group="prep", lane="prep.tags",
        params={"tag": plan.version, "message": f"{plan.release} {plan.version}",
                "repos": [{"project": n, "repo": r, "ref": ref} for n, r, ref in repos],
                "calls": [f"POST /repos/{r}/git/tags + /git/refs refs/tags/{plan.version}" for _, r, _ in repos]},
    )


def build_soak(plan: Plan, env: str) -> list[StepSpec]:
    """The steps of ``golive soak start --env ENV`` on its own."""
    variables(plan, env)
    if env not in plan.soak:
        raise UnknownNameError("soak", env, list(plan.soak))
    steps = _soak_steps(plan, env, plan.soak[env], "soak")
    end = steps[-1]
    steps[-1] = StepSpec(end.key, end.phase, end.kind, end.title, end.group, end.lane,
                         {**end.params, "standalone": True})
    return steps


def build_preflight(plan: Plan, env: str) -> list[StepSpec]:
    vars_ = variables(plan, env)
    return [_checks_step("preflight", "prerequisites", f"preflight in {env}",
                         _check_entries(plan, plan.preflight, vars_), group="preflight", mode="report")]


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
    return steps
