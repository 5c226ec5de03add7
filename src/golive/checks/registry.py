"""Every check type golive knows, by the name a plan uses for it.

The plan validates each check entry against the parameters model found
here, and the engine runs checks through it; adding a check module means
adding it to ``_MODULES``.
"""

from __future__ import annotations

import importlib
from functools import cache
from typing import Any

from golive.checks.base import CheckParams, CheckType

_MODULES: tuple[str, ...] = tuple(
    f"golive.checks.{name}"
    for name in ("identity", "network", "iam", "storage", "lambdas", "alarms", "certificates", "http", "command",
                 "github", "incidents", "canary_sample", "api_alias")
)


# Modules whose checks read the environment's AWS account: worthless (or worse) with another account's credentials.
_AWS_MODULES = frozenset({"network", "iam", "storage", "lambdas", "alarms", "certificates", "api_alias"})

# Written without parameters in a plan, these run once per project, with the project's repository and workflow.
PER_PROJECT = frozenset({"github_workflow", "github_secrets", "github_tag"})


@cache
def check_types() -> dict[str, CheckType[Any]]:
    found: dict[str, CheckType[Any]] = {}
    for module_name in _MODULES:
        module = importlib.import_module(module_name)
        for check_type in module.CHECK_TYPES:
            found[check_type.name] = check_type
    return found


def reads_aws(name: str) -> bool:
    """Whether a check answers from the environment's AWS account (so a wrong account makes its answer wrong)."""
    found = get(name)
    return found is not None and found.run.__module__.rsplit(".", 1)[-1] in _AWS_MODULES


def get(name: str) -> CheckType[Any] | None:
    return check_types().get(name)


def parse_params(name: str, raw: Any) -> CheckParams:
    """Validate a check's raw plan parameters; raises KeyError (unknown) or pydantic.ValidationError."""
    check_type = check_types()[name]
    params: CheckParams = check_type.params.model_validate({} if raw is None else raw)
    return params
