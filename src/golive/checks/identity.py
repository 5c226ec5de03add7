"""``aws_account``: are these credentials for the account the plan deploys to?

The classic release mistake is a wrong profile: everything "works", in the
wrong account. This check asks STS who the caller is and compares it with
the environment's account, naming both numbers and the profile when they
differ. The evidence says where the credentials came from (a profile, the
environment, GitHub's OIDC web identity, an assumed role), in botocore's words.
"""

from __future__ import annotations

from typing import Any

from pydantic import field_validator, model_validator

from golive.checks.base import CheckContext, CheckParams, CheckResult, CheckType
from golive.checks.support import Probe, guarded, shorthand

NAME = "aws_account"


def _account_id(value: Any) -> Any:
    # YAML reads an unquoted 093646564004 as the integer 93646564004: put the leading zeros back.
    if isinstance(value, int) and not isinstance(value, bool):
        return f"{value:012d}"
    return value


class AwsAccountParams(CheckParams):
    """``- aws_account`` (the environment's account) or ``- aws_account: {account: "0936..."}``."""

    account: str | None = None

    @model_validator(mode="before")
    @classmethod
    def _short(cls, data: Any) -> Any:
        if isinstance(data, int | str) and not isinstance(data, bool):
            return {"account": data}
        return shorthand(data, "account")

    @field_validator("account", mode="before")
    @classmethod
    def _digits(cls, value: Any) -> Any:
        return _account_id(value)


def _expected(ctx: CheckContext, params: AwsAccountParams) -> str | None:
    raw = ctx.expand(params.account) if params.account else ctx.variables.get("account")
    return str(_account_id(raw)) if raw else None


def run(ctx: CheckContext, params: AwsAccountParams) -> CheckResult:
    expected = _expected(ctx, params)

    def body(probe: Probe) -> CheckResult:
        actual = probe.aws.caller_account()
        source = probe.aws.credential_source()
        profile = probe.aws.target.profile or ctx.variables.get("profile")
        probe.note("sts:GetCallerIdentity", {"Account": actual, "profile": profile, "expected": expected,
                                             "credentials": source})
        via = f" (profile {profile})" if profile and "not configured" not in source else f" (from {source})"
        if expected is None:
            return probe.warned(f"credentials are for {actual}; the plan names no account to compare with")
        if actual != expected:
            return probe.failed(f"credentials are for {actual}, plan says {expected}{via}")
        return probe.passed(f"credentials are for {actual}{via}")

    return guarded(ctx, NAME, f"account {expected or '?'}", body)


def describe(params: AwsAccountParams) -> str:
    expected = params.account or "the environment's account"
    return f"sts:GetCallerIdentity, expect Account == {expected}"


CHECK_TYPES: list[CheckType[Any]] = [
    CheckType(NAME, AwsAccountParams, run, describe, doc="The credentials belong to the plan's AWS account."),
]
