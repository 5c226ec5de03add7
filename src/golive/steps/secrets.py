"""``golive secrets set`` and ``secrets list``: write one secret to several repositories, sealed; say which
secrets the deploy workflows read, and which of them are set.

The value comes from ``env:VAR`` (an environment variable), ``file:PATH``
(a file's content, trailing newline dropped) or ``plan:NAME`` (the source
the plan gives for that secret: a known value or an AWS lookup). It is
added to the redactor first and is never printed, logged or stored.

What a workflow reads is what the ``github_secrets`` preflight check finds (every ``secrets.NAME`` of
the project's deploy workflow, plus the plan's own ``secrets:`` names), so ``secrets list`` and the
preflight's Secret Status table never disagree, and ``secrets set`` refuses a name none of them reads
(a typo such as ``AWS_ROLE_PRD``) unless told ``--force``.
"""

from __future__ import annotations

import os
from collections.abc import Collection
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from golive.errors import UsageError
from golive.plan.model import CheckEntry, Plan, SecretSource
from golive.providers.github import GitHub
from golive.redact import Redactor

if TYPE_CHECKING:
    from golive.engine.context import Services


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


@dataclass(frozen=True)
class WorkflowSecrets:
    """The secrets one project's deploy workflow reads (and the plan names for it), each set or missing."""

    project: str
    repo: str
    workflow: str
    status: str  # the github_secrets check's: pass, fail (a secret missing, or the file unreadable), error
    summary: str
    rows: tuple[dict[str, Any], ...]  # name, source (workflow | extra), lines, scope, status (configured | missing)

    def to_dict(self) -> dict[str, Any]:
        return {"project": self.project, "repo": self.repo, "workflow": self.workflow, "status": self.status,
                "summary": self.summary, "secrets": list(self.rows)}


def workflow_secrets(services: Services, env: str, repos: Collection[str] | None = None) -> list[WorkflowSecrets]:
    """Per project (of ``repos``' repositories, or all): what its workflow reads, set or missing. Reads GitHub only;
    an unanswered GitHub raises its error."""
    from golive.checks.runner import run_checks
    from golive.evidence.checks import secret_rows
    from golive.plan.variables import variables
    from golive.steps.checking import check_context, check_entries

    plan = services.plan
    entries = [e for e in check_entries(plan, [CheckEntry.model_validate("github_secrets")], variables(plan, env))
               if repos is None or e["params"]["repo"] in repos]
    results = run_checks(entries, lambda _env: check_context(services, env))
    out: list[WorkflowSecrets] = []
    for entry, result in zip(entries, results, strict=True):
        if result.unanswered is not None:
            raise result.unanswered
        rows = tuple(row for row in secret_rows([result.to_dict()]) if row.get("source") in ("workflow", "extra"))
        out.append(WorkflowSecrets(entry["project"], entry["params"]["repo"], entry["params"]["workflow"],
                                   result.status.value, result.summary, rows))
    return out


def refuse_unread(name: str, repos: list[str], read: list[WorkflowSecrets]) -> None:
    """Raise when a repository's workflow does not read ``name`` (or the repository is no project's of the plan)."""
    from golive.errors import closest

    for repo in repos:
        mine = [w for w in read if w.repo == repo]
        if not mine:
            raise UsageError(f"{repo} is the repository of no project of the plan, so no workflow golive knows reads "
                             f"{name} there: check --repo, or pass --force to write it anyway")
        names = sorted({str(row["name"]) for w in mine for row in w.rows})
        if name not in names:
            guess = closest(name, names)
            hint = f"did you mean {guess}? " if guess else ""
            workflows = ", ".join(w.workflow for w in mine)
            verb = "reads" if len(mine) == 1 else "read"
            raise UsageError(f"no workflow of {repo} reads {name} ({workflows} {verb} {', '.join(names) or 'no secret'}): "
                             f"{hint}pass --force to write it anyway")
