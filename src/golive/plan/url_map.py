"""Pointing a plan's public URLs somewhere else: the sandbox's world server, for hand-run commands.

``golive sandbox up`` serves each environment's site and APIs on a local
port, but the plan names the real hosts (``https://api.kimmyai.io/v1.0``), so
``golive verify``, the health checks and the smoke scripts run by hand would
reach production. The sandbox therefore exports ``GOLIVE_URL_MAP``: pairs of
``PLAN_PREFIX=LOCAL_PREFIX`` separated by spaces. When it is set, every
environment URL of the plan (``api_base``, ``site_url``, URL-valued
``variables``) that starts with a mapped prefix is rewritten, longest prefix
first, before any command reads the plan: the checks, the smoke scripts'
arguments and ``golive plan`` all see the same local URL.
"""

from __future__ import annotations

from golive.errors import ConfigError
from golive.plan.model import Environment, Plan

ENV_VAR = "GOLIVE_URL_MAP"


def parse_url_map(text: str) -> dict[str, str]:
    """``"https://a=http://127.0.0.1:1/x https://b=http://127.0.0.1:1/y"`` as a prefix map."""
    found: dict[str, str] = {}
    for pair in text.split():
        plan_prefix, sep, local = pair.partition("=")
        if not sep or "://" not in plan_prefix or "://" not in local:
            raise ConfigError(f"{ENV_VAR}: '{pair}' is not PLAN_URL=LOCAL_URL (both with a scheme)")
        found[plan_prefix.rstrip("/")] = local.rstrip("/")
    return found


def rewrite(url: str, mapping: dict[str, str]) -> str:
    for prefix in sorted(mapping, key=len, reverse=True):
        if url == prefix or url.startswith(prefix + "/"):
            return mapping[prefix] + url[len(prefix):]
    return url


def apply_url_map(plan: Plan, mapping: dict[str, str]) -> Plan:
    """The plan with its environments' URLs rewritten (the plan itself is frozen, a copy is returned)."""
    if not mapping:
        return plan

    def env(e: Environment) -> Environment:
        return e.model_copy(update={
            "api_base": rewrite(e.api_base, mapping) if e.api_base else None,
            "site_url": rewrite(e.site_url, mapping) if e.site_url else None,
            "variables": {k: rewrite(v, mapping) for k, v in e.variables.items()},
        })

    return plan.model_copy(update={"environments": {name: env(e) for name, e in plan.environments.items()}})


def world_url_map(plan: Plan, world_url: str) -> dict[str, str]:
    """Each environment's site and API on the sandbox's world server (the layout its world serves)."""
    found: dict[str, str] = {}
    for name, e in plan.environments.items():
        if e.api_base:
            found[e.api_base.rstrip("/")] = f"{world_url}/{name}/api"
        if e.site_url:
            found[e.site_url.rstrip("/")] = f"{world_url}/{name}/site"
    return found


def format_url_map(mapping: dict[str, str]) -> str:
    return " ".join(f"{plan_prefix}={local}" for plan_prefix, local in mapping.items())
