"""The ``{name}`` values of a plan's strings, per environment.

A plan says ``{api_base}/products/health`` or ``bbws-templates-{env}`` once
and means a different string in each environment; this module is the one
place those placeholders' values are named (``golive.expansion`` fills them).
"""

from __future__ import annotations

from golive.errors import UnknownNameError
from golive.expansion import expand
from golive.plan.model import Plan

__all__ = ["expand", "variables"]


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
