"""``golive secrets set``: write one secret to several repositories, sealed.

The value comes from ``env:VAR`` (an environment variable), ``file:PATH``
(a file's content, trailing newline dropped) or ``plan:NAME`` (the source
the plan gives for that secret: a known value or an AWS lookup). It is
added to the redactor first and is never printed, logged or stored.
"""

from __future__ import annotations

import os
from pathlib import Path

from golive.errors import UsageError
from golive.plan.model import Plan, SecretSource
from golive.providers.github import GitHub
from golive.redact import Redactor


def resolve_value(spec: str, plan: Plan, name: str) -> tuple[str, SecretSource | None]:
    """The value a ``--value-from`` names; for ``plan:`` also the plan's source (an AWS lookup needs AWS)."""
    kind, _, ref = spec.partition(":")
    if kind == "env":
        value = os.environ.get(ref)
        if not value:
            raise UsageError(f"--value-from env:{ref}: the environment variable is not set")
        return value, None
    if kind == "file":
        try:
            return Path(ref).read_text(encoding="utf-8").rstrip("\n"), None
        except OSError as exc:
            raise UsageError(f"--value-from file:{ref}: {exc.strerror}") from None
    if kind == "plan":
        key = ref or name
        for project in plan.projects.values():
            source = project.secrets.get(key)
            if source is not None:
                if source.value is not None:
                    return source.value, source
                if source.from_env is not None:
                    return resolve_value(f"env:{source.from_env}", plan, name)[0], source
                return "", source
        raise UsageError(f"--value-from plan:{key}: no project of the plan gives a source for {key}")
    raise UsageError(f"--value-from {spec}: use env:VAR, file:PATH or plan:NAME")


def set_secret(github: GitHub, repos: list[str], name: str, value: str, redact: Redactor,
               environment: str | None = None) -> list[dict[str, object]]:
    if not value:
        raise UsageError(f"the value for {name} is empty")
    redact.add(value)
    out: list[dict[str, object]] = []
    for repo in repos:
        created = github.put_secret(repo, name, value, environment=environment)
        out.append({"repo": repo, "name": name, "created": created})
    return out
