"""Loading a plan: YAML → located data → the pydantic model → cross-checks.

Every failure is a ``PlanError`` naming the file, the line and the key
path, whatever layer found it: YAML syntax, a wrong type or unknown key
(pydantic), or a reference that does not resolve (a batch naming a missing
project, a criterion naming a metric the plan does not define, a check's
parameters). This is the only place plan errors are produced. A layer reports
all it finds at once (``PlanErrors``: one line each), so two typos need one
fix-and-check, not two; an unknown key, project, environment or check names
the closest known one ("did you mean").
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from golive.analysis.criteria import parse_criterion
from golive.analysis.metrics import APIGATEWAY_METRICS, DEFAULT_METRICS, parse_metric_def
from golive.checks import registry
from golive.errors import PlanError, PlanErrors, closest
from golive.plan import commands
from golive.plan.dependencies import of_plan
from golive.plan.loader import Located, PathKey, format_path, load_file, load_text
from golive.plan.model import CheckEntry, Plan, plan_json_schema
from golive.plan.variables import expand, variables

_TYPE_TAGS = {"str", "int", "float", "bool", "list", "dict", "none", "json-or-python",
              "lax-or-strict"}


def _data_path(data: Any, loc: tuple[str | int, ...]) -> PathKey:
    """The real key path behind a pydantic ``loc``: union/type tags dropped, a missing key kept last."""
    out: list[str | int] = []
    node = data
    for part in loc:
        in_dict = isinstance(node, dict) and part in node
        in_list = isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node)
        if in_dict or in_list:
            out.append(part)
            node = node[part]
        elif isinstance(part, str) and ("[" in part or part in _TYPE_TAGS):
            continue
        else:
            if isinstance(node, dict):
                out.append(part)
            break
    return tuple(out)


def _message(error: Any) -> str:
    msg = str(error["msg"])
    for prefix in ("Value error, ", "Assertion failed, "):
        if msg.startswith(prefix):
            msg = msg[len(prefix):]
    if error["type"] == "extra_forbidden":
        return "unknown key"
    if error["type"] == "missing":
        return "required key is missing"
    return msg


def did_you_mean(name: str, known: Any) -> str:
    """`` (did you mean 'product_lambda'?)`` when a known name is close to ``name``, else ""."""
    close = closest(name, known)
    return f" (did you mean '{close}'?)" if close else ""


@cache
def _schema() -> dict[str, Any]:
    return plan_json_schema()


def _schema_nodes(nodes: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The schema nodes behind ``nodes``: references followed, unions and intersections opened."""
    out: list[dict[str, Any]] = []
    todo = list(nodes)
    while todo:
        node = todo.pop()
        if "$ref" in node:
            todo.append(_schema()["$defs"][node["$ref"].rsplit("/", 1)[-1]])
            continue
        for group in ("anyOf", "oneOf", "allOf"):
            todo += [n for n in node.get(group, []) if isinstance(n, dict)]
        out.append(node)
    return out


def _known_keys(path: PathKey) -> list[str]:
    """The keys the plan's schema allows in the mapping at ``path`` (for "did you mean" on an unknown key)."""
    nodes = [_schema()]
    for part in path:
        below: list[dict[str, Any]] = []
        for node in _schema_nodes(nodes):
            if isinstance(part, int) and isinstance(node.get("items"), dict):
                below.append(node["items"])
            elif isinstance(part, str) and part in node.get("properties", {}):
                below.append(node["properties"][part])
            elif isinstance(part, str) and isinstance(node.get("additionalProperties"), dict):
                below.append(node["additionalProperties"])
        nodes = below
    return sorted({key for node in _schema_nodes(nodes) for key in node.get("properties", {})})


_found: list[list[PlanError]] = []  # the errors of the plan being parsed (parse_plan collects; alone, _fail raises)


@contextmanager
def _collecting(located: Located) -> Iterator[None]:
    """Collect every error ``_fail`` reports inside; raise them all together (one alone as itself) on the way out."""
    _found.append([])
    try:
        yield
    finally:
        errors = _found.pop()
    if len(errors) == 1:
        raise errors[0]
    if errors:
        raise PlanErrors(located.file, errors)


def _raise_all(located: Located, exc: ValidationError, base: PathKey = (), data: Any = None) -> None:
    """Each place pydantic refused, once, at its most specific path."""
    found: dict[PathKey, Any] = {}
    for error in exc.errors():
        path = (*base, *_data_path(data if data is not None else located.data, tuple(error["loc"])))
        # At one path an unknown key beats whatever else a union's branches said about it.
        if path not in found or error["type"] == "extra_forbidden":
            found[path] = error
    unknown_under = {path[:-1] for path, error in found.items() if error["type"] == "extra_forbidden"}
    reported = False
    for path, error in found.items():
        # A path inside another one is the more specific; `stepz:` is the typo of the `steps:` pydantic calls missing.
        if any(other[:len(path)] == path and other != path for other in found):
            continue
        if error["type"] == "missing" and path[:-1] in unknown_under:
            continue
        reason = _message(error)
        if error["type"] == "extra_forbidden" and path:
            reason += did_you_mean(str(path[-1]), _known_keys(path[:-1]))
        _fail(located, path, reason)
        reported = True
    if not reported:  # never silent, whatever the filtering dropped
        _fail(located, base, _message(exc.errors()[0]))


def _fail(located: Located, path: PathKey, reason: str) -> None:
    error = PlanError(located.file, located.line_of(path), format_path(path), reason)
    if not _found:
        raise error
    if all(e.path != error.path for e in _found[-1]):  # one error a key: the same fault in each environment once
        _found[-1].append(error)


def _check_entries(located: Located, plan: Plan, entries: list[CheckEntry], base: PathKey,
                   envs: list[str] | None = None) -> None:
    """Each entry names a known check, and its parameters are valid once expanded for each environment."""
    known = registry.check_types()
    for i, entry in enumerate(entries):
        where = (*base, i)
        if entry.kind not in known:
            names = ", ".join(sorted(known)) or "none registered"
            close = did_you_mean(entry.kind, known)
            _fail(located, (*where, entry.kind), f"unknown check '{entry.kind}'{close or f' (known: {names})'}")
            continue
        if entry.kind in registry.PER_PROJECT and entry.params is None:
            continue
        try:
            for env in envs or list(plan.environments):
                registry.parse_params(entry.kind, expand(entry.params, variables(plan, env)))
        except ValidationError as exc:
            raw: Any = located.data
            for part in (*where, entry.kind):
                if isinstance(raw, dict):
                    raw = raw.get(part)
                elif isinstance(raw, list) and isinstance(part, int):
                    raw = raw[part]
            _raise_all(located, exc, (*where, entry.kind), raw if raw is not None else {})


def _cross_check(located: Located, plan: Plan) -> None:
    metric_names = set(plan.metrics)
    for name, spec in plan.metrics.items():
        try:
            parse_metric_def(spec.lambda_, name)
        except ValueError as exc:
            _fail(located, ("metrics", name, "lambda"), str(exc))

    def criterion(text: str, path: PathKey) -> None:
        try:
            parsed = parse_criterion(text)
        except ValueError as exc:
            _fail(located, path, str(exc))
            return
        if parsed.metric not in metric_names:
            known = ", ".join(sorted(metric_names)) or "none defined under metrics:"
            _fail(located, path, f"criterion names no metric '{parsed.metric}' (known: {known})")

    seen: dict[str, int] = {}
    for b, batch in enumerate(plan.batches):
        if batch.name in {x.name for x in plan.batches[:b]}:
            _fail(located, ("batches", b, "name"), f"batch name '{batch.name}' is used twice")
        for p, member in enumerate(batch.projects):
            if member not in plan.projects:
                _fail(located, ("batches", b, "projects", p), f"no project '{member}'"
                      + (did_you_mean(member, plan.projects) or f" (known: {', '.join(sorted(plan.projects))})"))
            if member in seen:
                _fail(located, ("batches", b, "projects", p),
                      f"project '{member}' is already in batch '{plan.batches[seen[member]].name}'")
            seen[member] = b
    unknown_members = any(m not in plan.projects for batch in plan.batches for m in batch.projects)
    for name in plan.projects:
        if name not in seen and not unknown_members:  # else most likely the project the unknown name misspells
            _fail(located, ("projects", name), "project is in no batch")

    for env_name, env in plan.environments.items():
        if env.dr_region and env.dr_region == env.region:
            _fail(located, ("environments", env_name, "dr_region"), "dr_region is the same as region")
    for env_name, soak in plan.soak.items():
        if env_name not in plan.environments:
            _fail(located, ("soak", env_name), f"no environment '{env_name}'{did_you_mean(env_name, plan.environments)}")
            continue
        for i, entry in enumerate(soak.criteria):
            criterion(entry.criterion, ("soak", env_name, "criteria", i))
        _check_entries(located, plan, soak.checks, ("soak", env_name, "checks"), [env_name])
    for gate_name, gate in plan.gates.items():
        if gate.env is not None and gate.env not in plan.environments:
            _fail(located, ("gates", gate_name, "env"), f"no environment '{gate.env}'{did_you_mean(gate.env, plan.environments)}")
        for i, req in enumerate(gate.requires):
            kind, _, target = req.partition(".")
            if req == "preflight" or (kind == "soak" and target in plan.soak):
                continue
            if req == "terraform":
                if not any(p.terraform is not None for p in plan.projects.values()):
                    _fail(located, ("gates", gate_name, "requires", i),
                          "'terraform' needs a project with terraform: {plan_workflow: ..., artifact: ...} "
                          "or {plan_command: [...]}")
                continue
            _fail(located, ("gates", gate_name, "requires", i),
                  f"'{req}' is not a requirement (use preflight, terraform or soak.ENV with a soak defined for ENV)")
    for i, trigger in enumerate(plan.rollback.triggers):
        if trigger.criterion is not None:
            criterion(trigger.criterion, ("rollback", "triggers", i))
    _check_entries(located, plan, plan.preflight, ("preflight",))
    _check_entries(located, plan, plan.validation, ("validation",))
    for project_name, project in plan.projects.items():
        _check_entries(located, plan, project.verify, ("projects", project_name, "verify"))
    _dependencies(located, plan)
    for name in plan.sandbox.function_traffic:
        if name not in plan.projects:
            _fail(located, ("sandbox", "function_traffic", name), f"no project '{name}'{did_you_mean(name, plan.projects)}")
    for name in plan.sandbox.missing_secrets:
        if name not in plan.projects:
            _fail(located, ("sandbox", "missing_secrets", name), f"no project '{name}'{did_you_mean(name, plan.projects)}")
    for name in plan.sandbox.bypass_alias:
        if name not in plan.projects:
            _fail(located, ("sandbox", "bypass_alias", name), f"no project '{name}'{did_you_mean(name, plan.projects)}")
    for name in plan.sandbox.command_publishes:
        if name not in plan.projects:
            _fail(located, ("sandbox", "command_publishes", name), f"no project '{name}'{did_you_mean(name, plan.projects)}")
    for index, name in enumerate(plan.sandbox.deploy_moves_alias):
        if name not in plan.projects:
            _fail(located, ("sandbox", "deploy_moves_alias", index), f"no project '{name}'{did_you_mean(name, plan.projects)}")
    for name in plan.sandbox.release_tags:
        if name not in plan.projects:
            _fail(located, ("sandbox", "release_tags", name), f"no project '{name}'{did_you_mean(name, plan.projects)}")
    _undo(located, plan)
    for path, reason in commands.problems(plan):
        _fail(located, path, reason)


_STAGE_NAME = re.compile(r"^[A-Za-z0-9_-]{1,128}$")  # API Gateway's rule for a stage name


def _api_canaries(located: Located, plan: Plan) -> None:
    """An API Gateway canary names its stage (``api:``), no two projects canary one stage, and the rollback
    triggers read only what a stage reports (requests, 5xx, latency: no throttles)."""
    stages: dict[tuple[str, str], str] = {}
    canaried: list[str] = []
    for name, project in plan.projects.items():
        for env in plan.environments if project.api is not None else ():
            stage = str(expand(project.api.stage, variables(plan, env))) if project.api else ""
            if not _STAGE_NAME.match(stage):
                _fail(located, ("projects", name, "api", "stage"), f"'{stage}' ({env}) is not an API Gateway stage "
                                                                   "name: 1-128 characters of A-Z a-z 0-9 - _")
        if project.rollout is None or project.rollout.apigw_canary is None:
            continue
        where = ("projects", name, "rollout", "apigw_canary")
        if project.api is None:
            _fail(located, where, "an API Gateway canary shifts the project's REST API stage: add "
                                  "api: {rest_api: NAME or ID, stage: prod} to the project")
            continue
        key = (project.api.rest_api, project.api.stage)
        if key in stages:
            _fail(located, ("projects", name, "api"), f"project '{stages[key]}' already canaries stage "
                                                      f"{key[1]} of REST API {key[0]}: two canaries would drive one stage")
        stages[key] = name
        canaried.append(name)
    if not canaried:
        return
    for i, trigger in enumerate(plan.rollback.triggers):
        if trigger.criterion is None:
            continue
        try:
            metric = parse_criterion(trigger.criterion).metric
            spec = plan.metrics.get(metric)
            definition = parse_metric_def(spec.lambda_, metric) if spec else DEFAULT_METRICS.get(metric)
        except ValueError:
            continue  # reported by the cross-check
        if definition is not None and any(m not in APIGATEWAY_METRICS for m in definition.lambda_metrics):
            _fail(located, ("rollback", "triggers", i),
                  f"'{trigger.criterion}': {metric} ({definition.text}) reads what an API Gateway stage does not "
                  f"report (project {', '.join(canaried)} has an apigw_canary, read from Count, 5XXError and "
                  f"Latency: {', '.join(APIGATEWAY_METRICS)})")


def _dependencies(located: Located, plan: Plan) -> None:
    """Every ``depends_on`` names another project, and no chain of them comes back to where it started."""
    for name, project in plan.projects.items():
        for i, needed in enumerate(project.depends_on):
            where = ("projects", name, "depends_on", i)
            if needed == name:
                _fail(located, where, f"depends_on cycle: {name} -> {name}")
            elif needed not in plan.projects:
                _fail(located, where, f"no project '{needed}'"
                      + (did_you_mean(needed, plan.projects) or f" (known: {', '.join(sorted(plan.projects))})"))
    for cycle in of_plan(plan).cycles():
        if len(cycle) > 2:  # a project naming itself is reported above, at its entry
            _fail(located, ("projects", cycle[0], "depends_on"), f"depends_on cycle: {' -> '.join(cycle)}")


def _undo(located: Located, plan: Plan) -> None:
    """An undo fits its project: a canary is undone by its alias, a tag is a workflow's."""
    for name, project in plan.projects.items():
        if project.undo is None:
            continue
        if project.rollout is not None and project.rollout.lambda_canary is not None:
            _fail(located, ("projects", name, "undo"), "a project with a canary is undone by putting its alias back on "
                                                       "the stable version: remove undo")
        elif project.undo.tag is not None and project.deploy.github_workflow is None:
            _fail(located, ("projects", name, "undo", "tag"), "undo.tag redeploys a workflow, and this project is "
                                                              "deployed by a command: give undo.command")


# AWS Lambda's rule for a function name (not an ARN): CreateFunction's FunctionName, at most 64 characters.
_FUNCTION_NAME = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


def _function_names(located: Located, plan: Plan) -> None:
    """Canary function names by AWS's rules, and no function driven by two projects' canaries."""
    for env in plan.environments:
        vars_ = variables(plan, env)
        owners: dict[str, dict[str, Any]] = {}
        for name, project in plan.projects.items():
            canary = project.rollout.lambda_canary if project.rollout else None
            if canary is None:
                continue
            where = ("projects", name, "rollout", "lambda_canary", "functions")
            selector: dict[str, Any] = expand(canary.functions.model_dump(exclude_none=True), vars_)
            for i, fn in enumerate(selector.get("names") or []):
                if not _FUNCTION_NAME.match(fn):
                    _fail(located, (*where, "names", i), f"'{fn}' ({env}) is not a Lambda function name: "
                                                         "1-64 characters of A-Z a-z 0-9 - _")
            if selector.get("prefix") is not None:
                fixed = selector["prefix"] + selector.get("suffix", "")
                if not re.fullmatch(r"[A-Za-z0-9_-]*", fixed) or len(fixed) >= 64:
                    _fail(located, (*where, "prefix"), f"'{fixed}' ({env}, prefix and suffix) cannot be part of a "
                                                       "Lambda function name: 1-64 characters of A-Z a-z 0-9 - _")
            for other, theirs in owners.items():
                shared = _overlap(selector, theirs)
                if shared:
                    _fail(located, where, f"project '{name}' and project '{other}' both select {shared} "
                                          f"in {env}: two canaries would drive one alias")
            owners[name] = selector


def _overlap(a: dict[str, Any], b: dict[str, Any]) -> str | None:
    """What two function selectors may both match (a description), or None when they cannot overlap."""
    def matches(selector: dict[str, Any], fn: str) -> bool:
        return fn.startswith(selector.get("prefix", "")) and fn.endswith(selector.get("suffix", ""))

    names_a, names_b = set(a.get("names") or []), set(b.get("names") or [])
    if names_a and names_b:
        both = sorted(names_a & names_b)
        return f"function {', '.join(both)}" if both else None
    if names_a or names_b:
        names, other = (names_a, b) if names_a else (names_b, a)
        if other.get("prefix") is None:
            return None
        both = sorted(fn for fn in names if matches(other, fn))
        return f"function {', '.join(both)}" if both else None
    if a.get("tag") is not None or b.get("tag") is not None:
        return f"functions tagged {a['tag']}" if a.get("tag") == b.get("tag") else None
    pa, pb = a.get("prefix", ""), b.get("prefix", "")
    sa, sb = a.get("suffix", ""), b.get("suffix", "")
    if (pa.startswith(pb) or pb.startswith(pa)) and (sa.endswith(sb) or sb.endswith(sa)):
        return f"functions named {max(pa, pb, key=len)}*{max(sa, sb, key=len)}"
    return None


def _cloudfront_canaries(located: Located, plan: Plan) -> None:
    """CloudFront's own limits on a site's canary: 15% at most before promotion, a distribution golive can find."""
    from golive.providers.cloudfront import DISTRIBUTION_ID
    from golive.providers.cloudfront import MAX_STAGING_WEIGHT as MAX_WEIGHT

    for name, project in plan.projects.items():
        canary = project.rollout.cloudfront_canary if project.rollout else None
        if canary is None:
            continue
        where = ("projects", name, "rollout", "cloudfront_canary")
        for i, step in enumerate(canary.steps):
            if step.weight is not None and MAX_WEIGHT < step.weight < 100:
                _fail(located, (*where, "steps", i, "weight"),
                      f"{step.weight:g}% is above CloudFront's {MAX_WEIGHT:g}%: a continuous deployment policy sends "
                      f"at most {MAX_WEIGHT:g}% of requests to the staging distribution (SingleWeight 0..0.15); "
                      f"the step after {MAX_WEIGHT:g} is weight 100 (the promotion)")
        if canary.distribution not in project.secrets and not DISTRIBUTION_ID.match(canary.distribution):
            known = ", ".join(sorted(project.secrets)) or "none"
            _fail(located, (*where, "distribution"), f"'{canary.distribution}' is neither a distribution id (E...) "
                                                     f"nor one of the project's secrets (known: {known})")
        judge = canary.analysis.judge
        if not isinstance(judge, bool) and "p95_duration" in judge.metrics:
            _fail(located, (*where, "analysis", "judge", "metrics"),
                  "CloudFront reports no per-request duration: judge a site's canary on errors only")


def parse_plan(located: Located) -> Plan:
    with _collecting(located):
        try:
            plan = Plan.model_validate(located.data)
        except ValidationError as exc:
            _raise_all(located, exc)
    with _collecting(located):
        _cross_check(located, plan)
        _function_names(located, plan)
        _api_canaries(located, plan)
        _cloudfront_canaries(located, plan)
    return plan


def load_plan(path: Path) -> Plan:
    """The plan at ``path``, fully validated, or a PlanError naming file, line and key."""
    return parse_plan(load_file(path))


def load_plan_text(text: str, file: str = "golive.yaml") -> Plan:
    return parse_plan(load_text(text, file))
