"""What ``golive check`` says about a valid plan: a summary, and lint.

The summary is the plan read back in the runbook's terms (environments,
projects per batch, soak schedules, gates) so a person can see that golive
understood it. Lint finds plans that are valid but probably wrong, the
mistakes releases like the reference one are known to make.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

from golive.analysis.criteria import parse_criterion
from golive.analysis.units import format_duration
from golive.plan.model import Plan


def summarize(plan: Plan, folder: Path | None = None) -> dict[str, Any]:
    """The summary; with the plan's ``folder``, lint also names command paths that do not exist there."""
    return {
        "release": plan.release,
        "version": plan.version,
        "environments": {
            name: {"account": e.account, "region": e.region, "profile": e.profile, "dr_region": e.dr_region}
            for name, e in plan.environments.items()
        },
        "projects": len(plan.projects),
        "batches": [
            {"name": b.name, "projects": [
                {"name": p, "deploy": plan.projects[p].deploy.github_workflow or " ".join(plan.projects[p].deploy.command or []),
                 "canary": [s.weight for s in c.steps] if (c := _canary(plan, p)) else None,
                 "cloudfront_canary": ["header" if s.header else s.weight for s in site.steps]
                 if (site := _site_canary(plan, p)) else None}
                for p in b.projects
            ]}
            for b in plan.batches
        ],
        "soaks": {
            env: {"duration": format_duration(s.duration), "every": format_duration(s.every),
                  "checkpoints": s.checkpoints, "criteria": [c.criterion for c in s.criteria],
                  "smoke_every": format_duration(s.smoke_every) if s.smoke_every else None}
            for env, s in plan.soak.items()
        },
        "gates": {name: {"env": g.env, "requires": g.requires, "approvals": g.approvals, "checklist": len(g.checklist)}
                  for name, g in plan.gates.items()},
        "rollback_triggers": [t.criterion or (f"incident {t.incident}" if t.incident else f"alarm {t.alarm}")
                              for t in plan.rollback.triggers],
        "lint": lint(plan) + (missing_commands(plan, folder) if folder is not None else []),
    }


def _canary(plan: Plan, project: str) -> Any:
    rollout = plan.projects[project].rollout
    return (rollout.lambda_canary or rollout.apigw_canary) if rollout else None


def _canary_key(plan: Plan, project: str) -> str:
    rollout = plan.projects[project].rollout
    return "apigw_canary" if rollout is not None and rollout.apigw_canary is not None else "lambda_canary"


def _site_canary(plan: Plan, project: str) -> Any:
    rollout = plan.projects[project].rollout
    return rollout.cloudfront_canary if rollout else None


def lint(plan: Plan) -> list[str]:
    """Warnings about a valid plan that is likely to hurt."""
    out: list[str] = []
    for name, project in plan.projects.items():
        canary = _canary(plan, name)
        if canary is not None:
            for i, step in enumerate(canary.steps[:-1]):
                if step.bake is None or step.bake < canary.analysis.interval * 3:
                    out.append(f"projects.{name}.rollout.{_canary_key(plan, name)}.steps[{i}]: a bake shorter than 3 analysis "
                               f"intervals gives the judge too little data")
            out += _short_bakes(plan, name, canary)
            if canary.analysis.delay < timedelta(minutes=1):
                out.append(f"projects.{name}: analysis.delay under 1m reads metrics AWS has not delivered yet")
        if project.deploy.github_workflow and not project.secrets and not project.role_arn_in_workflow:
            out.append(f"projects.{name}: no deploy secrets listed and no hard-coded role: how does the workflow "
                       f"assume its AWS role?")
        if project.kind == "api" and not project.health:
            out.append(f"projects.{name}: an API without health URLs cannot be probed during the deploy")
    for env, soak in plan.soak.items():
        if soak.duration % soak.every:
            out.append(f"soak.{env}: duration is not a multiple of every; the last partial interval is not checked")
        if not soak.criteria:
            out.append(f"soak.{env}: no criteria; the soak only runs checks")
    certs = [c for c in plan.preflight if c.kind == "acm_certificate" and isinstance(c.params, dict)]
    for c in certs:
        params = c.params if isinstance(c.params, dict) else {}
        if params.get("for") == "cloudfront" and params.get("region") not in (None, "us-east-1"):
            out.append(f"preflight acm_certificate {c.params.get('domain')}: CloudFront only uses certificates in us-east-1")
    places: dict[tuple[str, str], str] = {}
    for env_name, e in plan.environments.items():
        first = places.setdefault((e.account, e.region), env_name)
        if first != env_name:
            out.append(f"environments.{env_name}: same account and region as {first} ({e.account}, {e.region}): "
                       f"a release to one changes the other")
    if not plan.rollback.triggers:
        out.append("rollback.triggers is empty: canaries are judged by the statistical judge only")
    for gate_name, gate in plan.gates.items():
        if not gate.approvals:
            out.append(f"gates.{gate_name}: no approvals required; nobody signs the GO")
    return out


def _short_bakes(plan: Plan, name: str, canary: Any) -> list[str]:
    """A bake shorter than a trigger's ``for`` window: the trigger cannot fire within it, and the bake grows while
    every minute of the step breaches (``analysis.trigger_look``), up to ``max_extension``."""
    out = []
    windows = [(t.criterion, parse_criterion(t.criterion).window) for t in plan.rollback.triggers if t.criterion]
    for i, step in enumerate(canary.steps[:-1]):
        bake = step.bake or canary.analysis.interval
        for text, window in windows:
            if window is not None and bake < window:
                cap = bake + canary.analysis.max_extension
                reach = "" if cap >= window + canary.analysis.delay + timedelta(minutes=1) else \
                    (f"; the {format_duration(window)} window needs more than the bake and its cap: a breach that "
                     f"lasts is inconclusive")
                out.append(f"projects.{name}.rollout.{_canary_key(plan, name)}.steps[{i}]: the {format_duration(bake)} bake at "
                           f"{step.weight:g}% is shorter than trigger '{text}''s window: the trigger cannot fire "
                           f"within it; while every minute of the step breaches, the bake grows (up to "
                           f"analysis.max_extension, {format_duration(canary.analysis.max_extension)}){reach}")
    return out


def missing_commands(plan: Plan, folder: Path) -> list[str]:
    """Commands given by path (``./scripts/smoke.sh``) that are not there, relative to the plan's folder.

    A bare program name (``terraform``) is looked up on PATH when it runs, and a templated one (``{tool}``) is
    known only then, so neither is checked here.
    """
    argvs: list[tuple[str, list[str], str | None]] = []
    for name, project in plan.projects.items():
        argvs += [(f"projects.{name}.smoke[{i}]", argv, None) for i, argv in enumerate(project.smoke)]
        if project.deploy.command:
            argvs.append((f"projects.{name}.deploy.command", project.deploy.command, project.deploy.cwd))
    if plan.rollback.full is not None:
        argvs.append(("rollback.full.command", plan.rollback.full.command, plan.rollback.full.cwd))
    out = []
    for where, argv, cwd in argvs:
        program = argv[0] if argv else ""
        if "/" not in program or "{" in program:
            continue
        base = folder / cwd if cwd else folder
        if not (base / program).exists():
            out.append(f"{where}: {program} does not exist (relative to {base})")
    return out
