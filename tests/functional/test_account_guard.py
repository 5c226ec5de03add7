"""Issue 27: when ``aws_account`` fails, the checks that would read the wrong account say so instead of passing.

A real moto server over HTTP: the credentials are moto's account, the plan names another. Before, the bucket,
table and Lambda checks passed against moto's account as if they had checked the plan's.
"""

from __future__ import annotations

from golive.checks.base import CheckContext, Status
from golive.checks.runner import run_checks
from golive.providers.aws import Aws, AwsTarget

REGION = "af-south-1"
MOTO_ACCOUNT = "123456789012"
PLAN_ACCOUNT = "093646564004"


def test_checks_reading_aws_are_not_run_with_another_account_s_credentials(moto_reset: str) -> None:
    aws = Aws(AwsTarget(region=REGION, endpoint_url=moto_reset))
    aws.client("s3").create_bucket(Bucket="bbws-templates-prod",
                                   CreateBucketConfiguration={"LocationConstraint": REGION})  # type: ignore[typeddict-item]
    entries = [
        {"kind": "s3_bucket", "params": {"name": "bbws-templates-prod"}},
        {"kind": "aws_account", "params": None},
        {"kind": "incidents", "params": None},
    ]

    def context(account: str) -> CheckContext:
        return CheckContext(env="prod", aws=aws, variables={"env": "prod", "account": account},
                            open_incidents=lambda: [])

    right = run_checks(entries, lambda _env: context(MOTO_ACCOUNT))
    assert [r.status for r in right] == [Status.PASS, Status.PASS, Status.PASS]

    wrong = run_checks(entries, lambda _env: context(PLAN_ACCOUNT))
    bucket, account, incidents = wrong
    assert account.status == Status.FAIL
    assert bucket.status == Status.FAIL, bucket
    assert bucket.summary.startswith("not checked: credentials are for 123456789012, plan says 093646564004")
    assert incidents.status == Status.PASS  # a check that reads no AWS still runs
