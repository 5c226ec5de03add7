"""The ``{name}`` values of a plan's strings, per environment.

A plan says ``{api_base}/products/health`` or ``bbws-templates-{env}`` once
and means a different string in each environment; this module is the one
place those placeholders are filled.
"""

from __future__ import annotations

import re
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


_PLACEHOLDER = re.compile(r"\{([^{}]+)\}")


def expand(value: Any, vars_: dict[str, str]) -> Any:
    """Fill ``{name}`` placeholders in every string of a JSON-like value; unknown names stay as written.

    One pass: a filled-in value is never scanned again, so a value holding ``{env}`` stays as written.
    """
    if isinstance(value, str):
        return _PLACEHOLDER.sub(lambda m: vars_.get(m.group(1), m.group(0)), value)
    if isinstance(value, dict):
        return {k: expand(v, vars_) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [expand(v, vars_) for v in value]
    return value
