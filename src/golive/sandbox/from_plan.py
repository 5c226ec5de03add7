"""From a plan to the sandbox's world: what each environment holds before the release.

The plan says what must exist (preflight checks name the VPC, the deploy
role, the state bucket and lock table, the hosted zone and certificates;
soaks and canaries name the Lambda functions; verify checks name tables and
buckets) and its ``sandbox:`` section says how the world differs from a
perfect one on the day the rehearsal starts (the order DLQ alarm already
firing, the secrets that are missing, the traffic). This module reads both
and produces one ``SandboxSpec`` per environment (and per DR region).

What a deploy creates (the schema tables, the templates bucket, a new
Lambda version) is *not* provisioned here: the local GitHub's workflow runs
create it (``golive.sandbox.github_seed``), so verify checks can fail.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from golive.analysis.units import parse_percent
from golive.plan.model import Plan, Project
from golive.plan.variables import expand, variables
from golive.sandbox.faults import PlanNames, check_faults, parse_faults
from golive.sandbox.spec import (
    AlarmSpec,
    ApiSpec,
    BucketSpec,
    CertificateSpec,
    FunctionSpec,
    RoleSpec,
    RouteSpec,
    SandboxSpec,
    TableSpec,
    TrafficSpec,
    VpcSpec,
)
from golive.steps.planner import PHASES

VERBS = ("get", "list", "create", "update", "delete", "cancel", "status", "payment", "refund", "webhook",
         "history", "search", "export", "import", "notify", "sync", "audit", "report", "archive", "restore")


def function_names(selector: dict[str, Any]) -> list[str]:
    """Concrete names for a selector: the listed names, or prefix + verb + suffix for ``count`` functions."""
    if selector.get("names"):
        return list(selector["names"])
    count = int(selector.get("count") or 3)
    prefix, suffix = selector.get("prefix", "fn-"), selector.get("suffix", "")
    return [f"{prefix}{VERBS[i] if i < len(VERBS) else f'fn{i}'}{suffix}" for i in range(count)]


def project_functions(plan: Plan, env: str) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    vars_ = variables(plan, env)
    for name, project in plan.projects.items():
        canary = project.rollout.lambda_canary if project.rollout else None
        if canary is not None:
            out[name] = function_names(expand(canary.functions.model_dump(exclude_none=True), vars_))
    return out


def plan_names(plan: Plan) -> PlanNames:
    """The projects, functions (in every environment), phases and batches, and Terraform resources a fault may
    name."""
    functions = {fn for env in plan.environments for names in project_functions(plan, env).values() for fn in names}
    return PlanNames(projects=frozenset(plan.projects), functions=frozenset(functions),
                     anchors=frozenset({*PHASES, *(b.name for b in plan.batches)}),
                     terraform=terraform_resource_names(plan))


def terraform_resources(project: Project, env_vars: dict[str, str]) -> list[tuple[str, str]]:
    """(type, name) of every resource a project's Terraform manages in the sandbox: its deploy's tables and buckets."""
    tables, buckets = deployed_by_workflow(project, env_vars)  # a bucket is named by each check of it: once here
    return list(dict.fromkeys([("aws_dynamodb_table", t) for t, _ in tables] + [("aws_s3_bucket", b) for b, _ in buckets]))


def terraform_resource_names(plan: Plan) -> dict[str, frozenset[str]]:
    """Per project with ``terraform:``, the names and addresses its sandbox plan has (in any environment)."""
    out: dict[str, frozenset[str]] = {}
    for name, project in plan.projects.items():
        if project.terraform is None:
            continue
        found = {r for env in plan.environments for r in terraform_resources(project, variables(plan, env))}
        out[name] = frozenset({n for _, n in found} | {f"{t}.{n}" for t, n in found})
    return out


def check_plan_faults(plan: Plan, faults: Sequence[str]) -> None:
    """Parse the faults and hold them against the plan, before anything starts: one that names what the plan
    does not have would never fire. (A world driven by hand, as in tests, may place anchors of its own.)"""
    check_faults(parse_faults(list(faults)), plan_names(plan))


def _check_params(plan: Plan, env: str, kind: str) -> list[dict[str, Any]]:
    vars_ = variables(plan, env)
    entries = [*plan.preflight, *plan.validation, *(c for s in plan.soak.values() for c in s.checks)]
    out = []
    for entry in entries:
        if entry.kind == kind and entry.params is not None:
            params = expand(entry.params, vars_)
            out.append(params if isinstance(params, dict) else {"value": params})
    return out


def _traffic(plan: Plan, project: str) -> TrafficSpec:
    t = plan.sandbox.function_traffic.get(project, plan.sandbox.traffic)
    return TrafficSpec(per_minute=t.rpm, error_rate=parse_percent(t.error_rate),
                       duration_p50_ms=t.p50.total_seconds() * 1000, duration_p95_ms=t.p95.total_seconds() * 1000)


def _certificates(plan: Plan, env: str, region: str) -> list[CertificateSpec]:
    certs = []
    for params in _check_params(plan, env, "acm_certificate"):
        domain = params.get("domain") or params.get("value")
        if not domain:
            continue
        parts = str(domain).split(".")
        wildcard = "*." + ".".join(parts[1:]) if len(parts) > 2 else "*." + str(domain)
        # The runbook requests every certificate in its own region, the CloudFront one included.
        certs.append(CertificateSpec(domain=str(domain), region=params.get("region") or region,
                                     alternative_names=(wildcard,)))
    unique = {(c.domain, c.region): c for c in certs}
    return list(unique.values())


def deployed_by_workflow(project: Project, env_vars: dict[str, str]) -> tuple[list[tuple[str, str]],
                                                                               list[tuple[str, int]]]:
    """What a project's deploy leaves behind, read from its verify checks: (table, hash key), (bucket, objects)."""
    tables: list[tuple[str, str]] = []
    buckets: list[tuple[str, int]] = []
    for entry in project.verify:
        params = expand(entry.params, env_vars)
        if entry.kind == "dynamodb_tables":
            names = params if isinstance(params, list) else params.get("names", [])
            prefix = "" if isinstance(params, list) else params.get("prefix", "")
            suffix = "" if isinstance(params, list) else params.get("suffix", "")
            tables += [(f"{prefix}{n}{suffix}", "id") for n in names]
        elif entry.kind == "dynamodb_table":
            table = params if isinstance(params, dict) else {"name": params}
            tables.append((str(table["name"]), str(table.get("hash_key") or "id")))
        elif entry.kind == "s3_objects" and isinstance(params, dict):
            buckets.append((params["bucket"], int(params.get("count", 0))))
        elif entry.kind == "s3_bucket" and isinstance(params, dict):
            buckets.append((params["name"], 0))
    return tables, buckets


def spec_for(plan: Plan, env: str, *, region: str | None = None, target_env: str | None = None) -> SandboxSpec:
    """The world of ``env`` (in ``region``, default its own) before the release reaches it.

    Environments other than ``target_env`` (SIT, already released there) also hold what the deploys create.
    """
    e = plan.environments[env]
    where = region or e.region
    vars_ = variables(plan, env)
    repos = tuple(p.repo for p in plan.projects.values())
    vpcs = [VpcSpec(p.get("name") or f"{env}-vpc", p["cidr"]) for p in _check_params(plan, env, "vpc") if p.get("cidr")]
    roles = [RoleSpec(p["name"], repos if p.get("github_oidc") else ()) for p in _check_params(plan, env, "iam_role")]
    buckets = [BucketSpec(p["name"], bool(p.get("versioning"))) for p in _check_params(plan, env, "s3_bucket")]
    tables = [TableSpec(p["name"], p.get("hash_key") or "id") for p in _check_params(plan, env, "dynamodb_table")]
    zones = [p.get("domain") or p.get("value") for p in _check_params(plan, env, "route53_zone")]
    functions = [
        FunctionSpec(name=fn, versions=1, alias=_alias(plan, project), project=project, traffic=_traffic(plan, project),
                     tags=(("Project", project), ("Environment", env)))
        for project, names in project_functions(plan, env).items() for fn in names
    ]
    alarms = [AlarmSpec(a.name, metric_name="ApproximateNumberOfMessagesVisible",
                        dimensions=(("QueueName", a.name),), state=a.state)
              for a in plan.sandbox.alarms if not a.envs or env in a.envs]
    if env != target_env:
        for project in plan.projects.values():
            made_tables, made_buckets = deployed_by_workflow(project, vars_)
            tables += [TableSpec(t, key) for t, key in made_tables]
            buckets += [BucketSpec(b, False, ()) for b, _ in made_buckets]
    if region is not None and region != e.region:
        return SandboxSpec(environment=env, account_id=e.account, region=where, profile=e.profile,
                           functions=tuple(functions))
    return SandboxSpec(
        environment=env, account_id=e.account, region=where, profile=e.profile,
        vpcs=tuple(vpcs), github_oidc_provider=any(r.github_repos for r in roles), roles=tuple(roles),
        buckets=tuple({b.name: b for b in buckets}.values()), tables=tuple({t.name: t for t in tables}.values()),
        functions=tuple(functions), alarms=tuple(alarms), hosted_zones=tuple(str(z) for z in zones if z),
        certificates=tuple(_certificates(plan, env, where)), apis=tuple(api_specs(plan, env)),
    )


def api_specs(plan: Plan, env: str) -> list[ApiSpec]:
    """Each project's REST API (``api:``) as the world holds it before the release: a route per function of the
    project's Lambda canary invoking its alias (the bare function for those ``sandbox.bypass_alias`` names; else
    one route to the API's own handler), on its stage."""
    vars_ = variables(plan, env)
    functions = project_functions(plan, env)
    out = []
    for name, project in plan.projects.items():
        if project.api is None:
            continue
        api_name, stage = str(expand(project.api.rest_api, vars_)), str(expand(project.api.stage, vars_))
        bypass = set(plan.sandbox.bypass_alias.get(name, []))
        routes = tuple(RouteSpec(f"/{fn}", "GET", fn, None if fn in bypass else _alias(plan, name))
                       for fn in functions.get(name, [])) or \
            (RouteSpec("/", "GET", f"{api_name}-handler", "live"),)
        out.append(ApiSpec(api_name, stage, name, routes, _traffic(plan, name)))
    return out


def _alias(plan: Plan, project: str) -> str:
    rollout = plan.projects[project].rollout
    return rollout.lambda_canary.alias if rollout and rollout.lambda_canary else "live"


def specs_from_plan(plan: Plan, target_env: str) -> list[SandboxSpec]:
    """Every environment of the plan (and the target's DR region), as the rehearsal of ``target_env`` needs it."""
    specs = [spec_for(plan, env, target_env=target_env) for env in plan.environments]
    dr = plan.environments[target_env].dr_region
    if dr:
        specs.append(spec_for(plan, target_env, region=dr, target_env=target_env))
    return specs
