"""The ``set_secrets`` step of the prep phase: set the deploy secrets that are missing.

The runbook's evening tasks 3 and 4, done by golive: each secret the plan
says a workflow needs is looked up in the repository (and its environment),
and only a missing one is written, sealed, with the value the plan names
(a known non-secret such as the deploy role's ARN, an environment variable
of the golive process, or an AWS lookup such as the CloudFront distribution
whose comment is "PROD Frontend"). Values are added to the redactor before
anything can print them. (Tagging every repository is ``steps/tag.py``.)
"""

from __future__ import annotations

import os
from typing import Any

from golive.analysis.units import counted
from golive.engine.context import StepContext
from golive.engine.outcome import Done, Fail, Outcome
from golive.evidence.runs import SecretSet
from golive.providers.aws import Aws
from golive.providers.cloudfront import distribution_by_comment
from golive.steps.kind import StepKind, StepParams


def cloudfront_id(aws: Aws, comment: str) -> str | None:
    """The id of the CloudFront distribution whose comment is ``comment`` (the runbook's --query)."""
    return distribution_by_comment(aws, comment)


def secret_value(ctx: StepContext, source: dict[str, Any]) -> tuple[str | None, str]:
    """The value for a missing secret and where it came from (never the value itself in the second part)."""
    if source.get("value") is not None:
        return str(source["value"]), "the plan"
    if source.get("from_env"):
        return os.environ.get(source["from_env"]), f"${source['from_env']}"
    if source.get("cloudfront_comment"):
        comment = source["cloudfront_comment"]
        return cloudfront_id(ctx.services.aws(ctx.run.env), comment), f"the CloudFront distribution with comment '{comment}'"
    return None, "nowhere"


def run(ctx: StepContext, params: SecretsParams) -> Outcome:
    github = ctx.services.require_github()
    written: list[dict[str, Any]] = []
    present: list[str] = []
    problems: list[str] = []
    by_repo: dict[str, set[str]] = {}
    for item in params.secrets:
        repo, name, source = item.repo, item.name, item.source
        env_name = (source or {}).get("environment")
        if repo not in by_repo:
            by_repo[repo] = github.list_repo_secrets(repo)
        have = by_repo[repo] | (github.list_environment_secrets(repo, env_name) if env_name else set())
        if name in have:
            present.append(f"{repo} {name}")
            continue
        if source is None:
            problems.append(f"{repo} lacks {name} and the plan gives no source for it")
            continue
        value, origin = secret_value(ctx, source)
        if not value:
            problems.append(f"{repo} lacks {name}; no value found in {origin}")
            continue
        ctx.services.redact.add(value)
        github.put_secret(repo, name, value, environment=env_name)
        written.append({"repo": repo, "name": name, "from": origin})
        ctx.record(SecretSet(subject=f"{repo} {name}", repo=repo, name=name, origin=origin))
    evidence = {"written": written, "already_present": present, "problems": problems}
    if problems:
        return Fail("; ".join(problems), evidence)
    return Done(f"{counted(len(written), 'secret')} set, {len(present)} already present", evidence)


class SecretItem(StepParams):
    project: str
    repo: str
    name: str
    source: dict[str, Any] | None = None  # the plan's SecretSource (value, from_env, cloudfront_comment, environment)


class SecretsParams(StepParams):
    secrets: list[SecretItem]


def describe(params: SecretsParams) -> list[str]:
    return [f"PUT /repos/{s.repo}/actions/secrets/{s.name} if missing (sealed)" for s in params.secrets]


KIND = StepKind("set_secrets", SecretsParams, run, describe)
