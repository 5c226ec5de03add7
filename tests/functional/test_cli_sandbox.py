"""Issue 3's "Done when", as a new user runs it: sandbox up, preflight, break AWS, sandbox down, preflight again.

One detached sandbox for the module (started by ``golive sandbox up --detach``
from a copy of the example plan, always stopped at the end). Every command is
a real ``golive`` process whose environment holds only the exports the
sandbox printed.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from cli_user import (
    OWNER,
    PROD_ACCOUNT,
    PROD_PROFILE,
    UserSandbox,
    process_running,
    processes_mentioning,
    running_sandbox,
    sandbox_down,
)

pytestmark = pytest.mark.xdist_group("cli_sandbox")

AWS_CHECKS = {"aws_account", "vpc", "iam_role", "s3_bucket", "dynamodb_table", "route53_zone", "acm_certificate"}
LOCK_TABLE = "terraform-state-lock-prod"


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[UserSandbox]:
    yield from running_sandbox(tmp_path_factory.mktemp("user"))


def _repo(target: str) -> str:
    return target.split(":", 1)[0].removeprefix(OWNER + "/")


def test_preflight_passes_every_aws_check_and_shows_the_runbooks_secret_status(sandbox: UserSandbox) -> None:
    exports = sandbox.exports
    for name in ("AWS_ENDPOINT_URL", "AWS_CONFIG_FILE", "AWS_SHARED_CREDENTIALS_FILE", "GOLIVE_GITHUB_API"):
        assert name in exports, sandbox.ran[0].explain()
    assert exports["AWS_ENDPOINT_URL"].startswith("http://127.0.0.1:")
    assert exports["GOLIVE_GITHUB_API"].startswith("http://127.0.0.1:")
    assert f"[profile {PROD_PROFILE}]" in Path(exports["AWS_CONFIG_FILE"]).read_text()

    ran = sandbox.golive("preflight", "--env", "prod", "--json")
    assert ran.code == 1, ran.explain()
    data = json.loads(ran.out)
    results: list[dict[str, Any]] = data["results"]

    aws = [r for r in results if r["check"] in AWS_CHECKS]
    assert {r["check"] for r in aws} == AWS_CHECKS
    account = next(r for r in aws if r["check"] == "aws_account")
    assert account["evidence"][0]["answered"]["Account"] == PROD_ACCOUNT
    certificates = [r for r in aws if r["check"] == "acm_certificate"]
    assert len(certificates) == 2
    cloudfront = next(r for r in certificates if r["target"] == "certificate kimmyai.io")
    assert cloudfront["status"] == "warn"
    assert "us-east-1" in cloudfront["summary"] and "CloudFront" in cloudfront["summary"]
    assert [(r["check"], r["target"]) for r in aws if r["status"] != "pass"] == [("acm_certificate", cloudfront["target"])]

    # The runbook's "Secret Status" table, found by reading the workflow files.
    table = {(_repo(row["repo"]), row["name"], row["status"]) for row in data["secrets"]}
    assert table == {
        ("2_1_bbws_dynamodb_schemas", "AWS_ROLE_PROD", "missing"),
        ("2_1_bbws_s3_schemas", "AWS_ROLE_PROD", "missing"),
        ("2_bbws_campaigns_lambda", "AWS_ROLE_ARN_PROD", "missing"),
        ("2_1_bbws_web_public", "AWS_ROLE_ARN_PROD", "configured"),
        ("2_1_bbws_web_public", "CLOUDFRONT_DISTRIBUTION_ID_PROD", "missing"),
        ("2_bbws_product_lambda", "(role ARN hard-coded)", "hard-coded"),
        ("2_bbws_order_lambda", "(role ARN hard-coded)", "hard-coded"),
    }
    failing = {(r["check"], _repo(r["target"])) for r in results if r["status"] in ("fail", "error")}
    assert failing == {("github_secrets", repo) for repo in (
        "2_1_bbws_dynamodb_schemas", "2_1_bbws_s3_schemas", "2_bbws_campaigns_lambda", "2_1_bbws_web_public")}
    assert data["passed"] is False and data["unreachable"] == []


def test_deleting_the_lock_table_makes_preflight_fail_naming_it(sandbox: UserSandbox) -> None:
    with sandbox.aws() as aws:
        assert aws.endpoint == sandbox.exports["AWS_ENDPOINT_URL"]
        assert aws.caller_account() == PROD_ACCOUNT
        ddb = aws.client("dynamodb")
        aws.call("dynamodb:DeleteTable", lambda: ddb.delete_table(TableName=LOCK_TABLE))

    ran = sandbox.golive("preflight", "--env", "prod")
    assert ran.code == 1, ran.explain()
    rows = [line for line in ran.out.splitlines() if "dynamodb_table" in line]
    assert len(rows) == 1 and "FAIL" in rows[0] and LOCK_TABLE in rows[0], ran.out
    others = [line for line in ran.out.splitlines() if line.startswith("│ ") and "FAIL" in line]
    assert {line.split("│")[1].strip() for line in others} == {"dynamodb_table", "github_secrets"}, ran.out
    assert "secret status" in ran.out and "AWS_ROLE_PROD" in ran.out


def test_sandbox_down_leaves_no_process_and_preflight_then_exits_3_naming_the_endpoint(sandbox: UserSandbox) -> None:
    pid = int(sandbox.status()["pid"])
    assert process_running(pid)

    down = sandbox_down(sandbox)
    assert down.code == 0, down.explain()
    assert not process_running(pid)
    assert processes_mentioning(str(sandbox.state_dir)) == []
    status = sandbox.golive("sandbox", "status")
    assert status.code == 1, status.explain()

    # Bounded by the plan's retry budget; the timeout only catches a hang (how long it takes is not asserted:
    # on a loaded machine a wall-time bound fails healthy code).
    ran = sandbox.golive("preflight", "--env", "prod", timeout=120)
    assert ran.code == 3, ran.explain()
    error = [line for line in ran.err.splitlines() if line.startswith("golive: error:")]
    assert len(error) == 1, ran.err
    assert sandbox.exports["AWS_ENDPOINT_URL"] in error[0]
    assert "sts:GetCallerIdentity" in error[0] and "af-south-1" in error[0]
    assert not os.path.exists(sandbox.state_dir / "sandbox.json")
