"""``iam_role``: the deploy role exists and, for GitHub Actions, trusts exactly the plan's repositories.

Every workflow of the release assumes one role through GitHub's OIDC
provider. Two things go wrong in practice: the role (or the OIDC provider
its trust policy names) does not exist in this account, so every deploy
fails at "Configure AWS credentials"; or the trust policy is too broad
(``repo:*``, ``repo:Org/*``, no ``sub`` condition at all), so any repository
could deploy to production. Both are findings here. A repository of the plan
that the policy does not admit is a failure too (its workflow would be
refused).
"""

from __future__ import annotations

import json
import re
import urllib.parse
from dataclasses import dataclass, field
from typing import Any

from pydantic import model_validator

from golive.checks.base import CheckContext, CheckParams, CheckResult, CheckType
from golive.checks.support import Probe, guarded
from golive.errors import AwsRequestError

NAME = "iam_role"
GITHUB_OIDC_HOST = "token.actions.githubusercontent.com"
SUB_KEY = f"{GITHUB_OIDC_HOST}:sub"
AUD_KEY = f"{GITHUB_OIDC_HOST}:aud"
_REPO_IN_SUB = re.compile(r"^repo:([^:]*)(?::|$)")


class IamRoleParams(CheckParams):
    """``- iam_role: NAME`` or ``{name: NAME, github_oidc: true, repos: [Org/repo, ...]}``.

    With ``github_oidc: true`` and no ``repos``, the repositories are the plan's projects' (``ctx.repos``).
    """

    name: str
    github_oidc: bool = False
    repos: list[str] | None = None

    @model_validator(mode="before")
    @classmethod
    def _short(cls, data: Any) -> Any:
        return {"name": data} if isinstance(data, str) else data

    @property
    def wants_oidc(self) -> bool:
        return self.github_oidc or self.repos is not None


@dataclass
class GitHubTrust:
    """What a trust policy grants to GitHub Actions, read from its statements."""

    providers: list[str] = field(default_factory=list)
    sub_patterns: list[str] = field(default_factory=list)
    unrestricted: bool = False
    audiences: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "federated": self.providers,
            "sub": self.sub_patterns,
            "aud": self.audiences,
            "statement_without_sub_condition": self.unrestricted,
        }


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return list(value) if isinstance(value, list | tuple) else [value]


def policy_document(raw: Any) -> dict[str, Any]:
    """A trust policy as a dict, whether the SDK decoded it or handed back IAM's URL-encoded JSON."""
    if isinstance(raw, dict):
        return raw
    if isinstance(raw, str):
        text = raw if raw.lstrip().startswith("{") else urllib.parse.unquote(raw)
        loaded = json.loads(text)
        return loaded if isinstance(loaded, dict) else {}
    return {}


def github_trust(policy: dict[str, Any]) -> GitHubTrust:
    """The GitHub OIDC grants of ``policy``: providers federated, ``sub`` patterns allowed, audiences."""
    trust = GitHubTrust()
    for statement in _as_list(policy.get("Statement")):
        if not isinstance(statement, dict) or statement.get("Effect") != "Allow":
            continue
        actions = [str(a) for a in _as_list(statement.get("Action"))]
        if not any(a in ("sts:AssumeRoleWithWebIdentity", "sts:*", "*") for a in actions):
            continue
        principal = statement.get("Principal")
        federated = _as_list(principal.get("Federated")) if isinstance(principal, dict) else []
        github = [str(p) for p in federated if str(p).endswith(f"oidc-provider/{GITHUB_OIDC_HOST}")]
        if not github:
            continue
        trust.providers.extend(p for p in github if p not in trust.providers)
        subs: list[str] = []
        for operator, conditions in (statement.get("Condition") or {}).items():
            if not isinstance(conditions, dict) or "StringNotLike" in operator or "StringNotEquals" in operator:
                continue
            subs.extend(str(v) for v in _as_list(conditions.get(SUB_KEY)))
            trust.audiences.extend(str(v) for v in _as_list(conditions.get(AUD_KEY)))
        if subs:
            trust.sub_patterns.extend(subs)
        else:
            trust.unrestricted = True
    return trust


def repository_of(sub_pattern: str) -> str | None:
    """``repo:Org/name:ref:refs/heads/main`` → ``Org/name``; None when the pattern is not about a repository."""
    match = _REPO_IN_SUB.match(sub_pattern)
    return match.group(1) if match else None


def trust_findings(trust: GitHubTrust, repos: list[str]) -> list[str]:
    """Everything wrong with ``trust`` for a role meant for exactly ``repos`` (empty: nothing wrong)."""
    findings: list[str] = []
    if not trust.providers:
        return [f"trust policy does not federate {GITHUB_OIDC_HOST}"]
    if trust.unrestricted:
        findings.append(f"a statement has no {SUB_KEY} condition: any GitHub repository can assume the role")
    wanted = {r.lower() for r in repos}
    admitted: set[str] = set()
    for pattern in trust.sub_patterns:
        repo = repository_of(pattern)
        if repo is None or any(ch in repo for ch in "*?"):
            findings.append(f"trusts '{pattern}': not limited to the plan's repositories")
        elif repo.lower() not in wanted:
            findings.append(f"trusts another repository: {repo} ('{pattern}')")
        else:
            admitted.add(repo.lower())
    findings.extend(f"does not trust {r} (its workflow would be refused)" for r in repos if r.lower() not in admitted)
    return findings


def _oidc_client_ids(probe: Probe, arn: str) -> list[str]:
    aws = probe.aws
    iam = aws.client("iam")
    answer = aws.call("iam:GetOpenIDConnectProvider", lambda: iam.get_open_id_connect_provider(OpenIDConnectProviderArn=arn))
    return list(answer.get("ClientIDList", []))


def run(ctx: CheckContext, raw: IamRoleParams) -> CheckResult:
    params = raw.model_copy(update={
        "name": ctx.expand(raw.name),
        "repos": [ctx.expand(r) for r in raw.repos] if raw.repos is not None else None,
    })

    def body(probe: Probe) -> CheckResult:
        aws = probe.aws
        iam = aws.client("iam")
        try:
            role = aws.call("iam:GetRole", lambda: iam.get_role(RoleName=params.name)["Role"])
        except AwsRequestError as exc:
            if exc.code != "NoSuchEntity":
                raise
            probe.note(f"iam:GetRole RoleName={params.name}", {"error": exc.code})
            return probe.failed(f"role {params.name} does not exist")
        policy = policy_document(role.get("AssumeRolePolicyDocument"))
        probe.note(
            f"iam:GetRole RoleName={params.name}",
            {"Arn": role.get("Arn"), "AssumeRolePolicyDocument": policy},
        )
        if not params.wants_oidc:
            return probe.passed(f"role {role.get('Arn')} exists")
        repos = params.repos if params.repos is not None else sorted(set(ctx.repos.values()))
        trust = github_trust(policy)
        probe.note("GitHub OIDC trust in the policy", {**trust.to_dict(), "plan_repos": repos})
        findings = trust_findings(trust, repos)
        for arn in trust.providers:
            try:
                clients = _oidc_client_ids(probe, arn)
                probe.note(f"iam:GetOpenIDConnectProvider {arn}", {"ClientIDList": clients})
            except AwsRequestError as exc:
                if exc.code != "NoSuchEntity":
                    raise
                probe.note(f"iam:GetOpenIDConnectProvider {arn}", {"error": exc.code})
                findings.append(f"OIDC provider {arn} does not exist in this account")
        if findings:
            return probe.failed(f"role {params.name}: " + "; ".join(findings))
        return probe.passed(f"role {params.name} trusts GitHub OIDC for {len(repos)} repositories only")

    return guarded(ctx, NAME, f"role {params.name}", body)


def describe(params: IamRoleParams) -> str:
    extra = f", trust policy federates {GITHUB_OIDC_HOST} for the plan's repositories only" if params.wants_oidc else ""
    return f"iam:GetRole RoleName={params.name}{extra}"


CHECK_TYPES: list[CheckType[Any]] = [
    CheckType(NAME, IamRoleParams, run, describe,
              doc="An IAM role exists; a GitHub deploy role trusts only the plan's repositories."),
]
