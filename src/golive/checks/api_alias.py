"""``api_invokes_alias``: every integration of a project's REST API invokes the alias its Lambda canary shifts.

A Lambda canary shifts an alias's weights. An API Gateway integration that invokes the function unqualified
(``$LATEST``), or one of its versions, or another alias, bypasses them: every "10%" shifts nothing for the
requests through that route, and a bad build behind ``$LATEST`` reaches all of them at once. The preflight
adds one of these checks per project with a Lambda canary and an ``api:`` (the planner's
``api_alias_entries``); it reads the API's resources with their methods (``GetResources`` with
``embed=methods``), takes each ``AWS``/``AWS_PROXY`` integration whose URI invokes a canaried function
(``…/functions/arn:aws:lambda:REGION:ACCOUNT:function:NAME[:QUALIFIER]/invocations``; a
``${stageVariables.x}`` qualifier is read from the stage), and names each one that does not invoke the alias,
with its method and path.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from pydantic import Field

from golive.checks.base import CheckContext, CheckParams, CheckResult, CheckType
from golive.checks.support import Probe, guarded, listed
from golive.errors import UsageError
from golive.providers.lambdas import LambdaClient
from golive.routers.apigw_stage import find_rest_api

NAME = "api_invokes_alias"
_LAMBDA_URI = re.compile(r":lambda:path/[^/]+/functions/(?P<arn>arn:[^/]+:lambda:[^/]+:[^/]*:function:[^/]+)/invocations$")
_STAGE_VARIABLE = re.compile(r"^\$\{stageVariables\.([A-Za-z0-9_]+)\}$")


class ApiInvokesAliasParams(CheckParams):
    """A project's API (``rest_api``, ``stage``) and its Lambda canary (``functions`` selector, ``alias``)."""

    project: str
    rest_api: str
    stage: str
    alias: str
    functions: dict[str, Any] = Field(description="the canary's function selector: names, prefix/suffix or tag")
    region: str | None = None


def invoked(uri: str) -> tuple[str, str | None] | None:
    """The function and qualifier an integration URI invokes (``None`` qualifier: unqualified), or None."""
    match = _LAMBDA_URI.search(uri)
    if match is None:
        return None
    arn = match.group("arn")
    parts = arn.split(":function:", 1)[1].split(":")
    return parts[0], (parts[1] if len(parts) > 1 and parts[1] else None)


def problem(function: str, qualifier: str | None, alias: str, variables: Mapping[str, str]) -> str | None:
    """Why an integration invoking ``function:qualifier`` misses the canary's ``alias``, or None."""
    shown = qualifier
    if qualifier is not None:
        variable = _STAGE_VARIABLE.match(qualifier)
        if variable is not None:
            name = variable.group(1)
            if name not in variables:
                return f"invokes {function}:{qualifier}, and the stage has no variable '{name}'"
            qualifier, shown = variables[name], f"{qualifier} = {variables[name]}"
    if qualifier == alias:
        return None
    if qualifier is None or qualifier == "$LATEST":
        return f"invokes {function} unqualified ($LATEST), not alias {alias}"
    if qualifier.isdigit():
        return f"invokes {function} version {shown}, not alias {alias}"
    return f"invokes {function} alias {shown}, not alias {alias}"


def run(ctx: CheckContext, params: ApiInvokesAliasParams) -> CheckResult:
    target = f"{params.project}: {params.rest_api}/{params.stage}"

    def body(probe: Probe) -> CheckResult:
        aws = probe.aws
        try:
            api = find_rest_api(aws, params.rest_api, params.region)
        except UsageError as exc:
            return probe.failed(str(exc))
        client = aws.client("apigateway", params.region)
        stage = aws.call("apigateway:GetStage", lambda: client.get_stage(restApiId=api.id, stageName=params.stage),
                         region=params.region)
        variables = {str(k): str(v) for k, v in (stage.get("variables") or {}).items()}

        def resources() -> list[dict[str, Any]]:
            pages = client.get_paginator("get_resources").paginate(restApiId=api.id, embed=["methods"])
            return [item for page in pages for item in page.get("items", [])]

        found = aws.call("apigateway:GetResources", resources, region=params.region)
        canaried = set(LambdaClient(aws).select(params.functions))
        checked: list[str] = []
        wrong: list[str] = []
        for resource in sorted(found, key=lambda r: str(r.get("path"))):
            for method, spec in sorted((resource.get("resourceMethods") or {}).items()):
                integration = (spec or {}).get("methodIntegration") or {}
                target_fn = invoked(str(integration.get("uri") or ""))
                if target_fn is None or target_fn[0] not in canaried:
                    continue
                route = f"{method} {resource.get('path')}"
                checked.append(f"{route} -> {integration.get('uri')}")
                why = problem(target_fn[0], target_fn[1], params.alias, variables)
                if why is not None:
                    wrong.append(f"{route} {why}")
        probe.note(f"apigateway:GetResources {api.id} embed=methods; the integrations invoking "
                   f"{len(canaried)} canaried functions", {"integrations": listed(checked), "wrong": wrong,
                                                          "stage_variables": sorted(variables)})
        if wrong:
            return probe.failed("; ".join(wrong) + f" (the canary shifts alias {params.alias}: these routes "
                                                  f"would bypass it)")
        if not checked:
            return probe.warned(f"no integration of {api.name} invokes the canaried functions")
        return probe.passed(f"{len(checked)} integration{'s' if len(checked) != 1 else ''} invoke alias "
                            f"{params.alias}")

    return guarded(ctx, NAME, target, body)


def describe(params: ApiInvokesAliasParams) -> str:
    return (f"apigateway:GetResources {params.rest_api} embed=methods: every integration invoking "
            f"{params.project}'s canaried functions invokes alias {params.alias}")


CHECK_TYPES: list[CheckType[Any]] = [
    CheckType(NAME, ApiInvokesAliasParams, run, describe,
              doc="Every integration of a project's REST API invokes the alias its Lambda canary shifts "
                  "(added to the preflight for each project with a Lambda canary and an api:)."),
]
