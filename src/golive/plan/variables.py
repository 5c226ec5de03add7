"""The ``{name}`` values of a plan's strings, per environment.

A plan says ``{api_base}/products/health`` or ``bbws-templates-{env}`` once
and means a different string in each environment; this module is the one
place those placeholders are filled.
"""

from __future__ import annotations

from typing import Any

from golive.errors import UnknownNameError
from golive.plan.model import Plan


def variables(plan: Plan, env: str) -> dict[str, str]:
    """The ``{name}`` values a plan's strings may use in environment ``env``."""
    if env not in plan.environments:
        raise UnknownNameError("environment", env, list(plan.environments))
    e = plan.environments[env]
    out = {"env": env, "release": plan.release, "version": plan.version, "account": e.account, "region": e.region}
    if e.api_base:
        out["api_base"] = e.api_base
    if e.site_url:
        out["site_url"] = e.site_url
    out.update(e.variables)
    return out


def expand(value: Any, vars_: dict[str, str]) -> Any:
    """Fill ``{name}`` placeholders in every string of a JSON-like value; unknown names stay as written."""
    if isinstance(value, str):
        out = value
        for name, text in vars_.items():
            out = out.replace("{" + name + "}", text)
        return out
    if isinstance(value, dict):
        return {k: expand(v, vars_) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [expand(v, vars_) for v in value]
    return value
