"""How several AWS accounts (SIT, PROD) live in one sandbox, and which credentials reach each.

moto picks the account of a request from its access key: a key that belongs
to an IAM user or to an assumed role of account A is served by account A,
and an unknown key by moto's default account 123456789012 (unless
``MOTO_ACCOUNT_ID`` is set in the server's environment, which would pin every
request to one account: the sandbox daemon removes it). ``sts:AssumeRole``
into ``arn:aws:iam::<account>:role/<anything>`` works without the role
existing and returns credentials of that account.

So each environment of the sandbox is reached in one of two ways:

- **role**: any credentials plus ``role_arn = sandbox_role_arn(account)``;
  golive's ``Aws(AwsTarget(role_arn=...))`` assumes it (used in tests and by
  ``mint_credentials``);
- **static keys**: ``mint_credentials`` creates the IAM user
  ``golive-sandbox`` in the account (through that role) and an access key
  for it; those keys go into the sandbox's AWS credentials file under the
  plan's profile name (e.g. ``Tebogo-prod``), so the AWS CLI and golive
  reach the right account with nothing but a profile.

The keys are emulator-only and exist only as long as the sandbox runs, but
they are still credentials: never printed, only written to files in the
sandbox's state folder (mode 0600).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING

from golive.errors import AwsRequestError
from golive.providers.aws import Aws, AwsTarget

if TYPE_CHECKING:
    from golive.plan.model import Plan

SANDBOX_ROLE = "golive-sandbox"
SANDBOX_USER = "golive-sandbox"


def sandbox_role_arn(account_id: str) -> str:
    """The role whose assumption switches a client into ``account_id`` inside the sandbox."""
    return f"arn:aws:iam::{account_id}:role/{SANDBOX_ROLE}"


def sandbox_aws(endpoint: str, account_id: str, region: str) -> Aws:
    """An ``Aws`` for one account of the sandbox (base credentials from the environment, then AssumeRole)."""
    return Aws(AwsTarget(region=region, endpoint_url=endpoint, role_arn=sandbox_role_arn(account_id), account=account_id,
                         static_keys=("golive-sandbox", "golive-sandbox")))


def sandbox_aws_for(plan: Plan, endpoint: str) -> Callable[[str, str | None], Aws]:
    """``Services.aws_for`` for a plan's environments in the sandbox at ``endpoint``: one ``Aws`` per (env, region)."""
    cache: dict[tuple[str, str], Aws] = {}

    def aws_for(name: str, region: str | None = None) -> Aws:
        e = plan.environments[name]
        key = (name, region or e.region)
        if key not in cache:
            cache[key] = sandbox_aws(endpoint, e.account, key[1])
        return cache[key]

    return aws_for


@dataclass(frozen=True)
class Credentials:
    """Static access keys of the sandbox user in one account."""

    account_id: str
    access_key_id: str
    secret_access_key: str = ""

    def __repr__(self) -> str:
        return f"Credentials(account_id={self.account_id!r}, access_key_id={self.access_key_id!r}, secret_access_key='***')"


def mint_credentials(endpoint: str, account_id: str, region: str) -> Credentials:
    """Create (or reuse) the sandbox IAM user of ``account_id`` and return a fresh access key for it."""
    aws = sandbox_aws(endpoint, account_id, region)
    iam = aws.client("iam")
    try:
        aws.call("iam:GetUser", lambda: iam.get_user(UserName=SANDBOX_USER))
    except AwsRequestError as exc:
        if exc.code != "NoSuchEntity":
            raise
        aws.call("iam:CreateUser", lambda: iam.create_user(UserName=SANDBOX_USER))
    existing = aws.call("iam:ListAccessKeys", lambda: iam.list_access_keys(UserName=SANDBOX_USER))["AccessKeyMetadata"]
    for old in existing[1:]:
        aws.call("iam:DeleteAccessKey", partial(iam.delete_access_key, UserName=SANDBOX_USER, AccessKeyId=old["AccessKeyId"]))
    key = aws.call("iam:CreateAccessKey", lambda: iam.create_access_key(UserName=SANDBOX_USER))["AccessKey"]
    return Credentials(account_id, key["AccessKeyId"], key["SecretAccessKey"])
