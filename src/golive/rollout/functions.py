"""Which Lambda functions a project has in an environment.

A plan selects a project's functions by name prefix (and suffix), by an
explicit list, or by tag; soaks, canaries and rollbacks all need the same
answer, so it is computed here, through the AWS provider.
"""

from __future__ import annotations

from typing import Any

from golive.providers.aws import Aws


def list_function_names(aws: Aws) -> list[str]:
    client = aws.client("lambda")

    def list_all() -> list[str]:
        names: list[str] = []
        for page in client.get_paginator("list_functions").paginate():
            names.extend(f.get("FunctionName", "") for f in page.get("Functions", []))
        return names

    return aws.call("lambda:ListFunctions", list_all)


def select_functions(aws: Aws, selector: dict[str, Any]) -> list[str]:
    """Function names matching a plan selector (``prefix``/``suffix``, ``names`` or ``tag``), sorted."""
    if selector.get("names"):
        return sorted(selector["names"])
    if selector.get("tag"):
        client = aws.client("lambda")
        wanted: dict[str, str] = selector["tag"]
        found = []
        for name in list_function_names(aws):
            arn = aws.call("lambda:GetFunction", lambda n=name: client.get_function(FunctionName=n))  # type: ignore[misc]
            tags = arn.get("Tags", {})
            if all(tags.get(k) == v for k, v in wanted.items()):
                found.append(name)
        return sorted(found)
    prefix, suffix = selector.get("prefix", ""), selector.get("suffix", "")
    return sorted(n for n in list_function_names(aws) if n.startswith(prefix) and n.endswith(suffix))


def soak_selectors(plan_projects: dict[str, Any], expand_vars: dict[str, str]) -> list[dict[str, Any]]:
    """The function selectors of every project with a Lambda canary, expanded for one environment."""
    from golive.plan.variables import expand

    out = []
    for project in plan_projects.values():
        canary = project.rollout.lambda_canary if project.rollout else None
        if canary is not None:
            out.append(expand(canary.functions.model_dump(exclude_none=True), expand_vars))
    return out
