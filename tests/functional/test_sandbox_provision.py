"""Provisioning two environments (two accounts) into one sandbox, idempotently, through golive's Aws."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from golive.errors import ConfigError
from golive.providers.aws import Aws
from golive.sandbox.accounts import mint_credentials, sandbox_aws
from golive.sandbox.moto_server import SandboxServer
from golive.sandbox.provision import provision
from golive.sandbox.spec import (
    AlarmSpec,
    BucketSpec,
    CertificateSpec,
    FunctionSpec,
    ObjectSetSpec,
    RoleSpec,
    SandboxSpec,
    TableSpec,
    VpcSpec,
)

PROD = "093646564004"
SIT = "210000000003"


def _spec(env: str, account: str, cidr: str) -> SandboxSpec:
    return SandboxSpec(
        environment=env, account_id=account, region="eu-west-1", profile=f"Tebogo-{env}",
        vpcs=(VpcSpec(f"bbws-{env}", cidr),),
        roles=(RoleSpec(f"github-deploy-{env}", ("BigBeardWebSolutions/2_bbws_product_lambda",)),),
        buckets=(BucketSpec(f"bbws-tfstate-{env}", versioning=True),
                 BucketSpec(f"bbws-templates-{env}", objects=(ObjectSetSpec("templates/", 12),))),
        tables=(TableSpec(f"bbws-tf-lock-{env}", "LockID"), TableSpec(f"orders-{env}")),
        functions=(FunctionSpec(f"product_lambda_{env}", versions=3), FunctionSpec(f"order_lambda_{env}")),
        alarms=(AlarmSpec(f"order-dlq-{env}", "ApproximateNumberOfMessagesVisible", state="ALARM"),
                AlarmSpec(f"product-errors-{env}", "Errors", namespace="AWS/Lambda")),
        hosted_zones=(f"{env}.bbws.example",),
        certificates=(CertificateSpec(f"{env}.bbws.example", alternative_names=(f"*.{env}.bbws.example",)),
                      CertificateSpec(f"api.{env}.bbws.example", region="eu-west-1", issued=False)),
    )


@pytest.fixture(scope="module")
def endpoint() -> Iterator[str]:
    server = SandboxServer()
    try:
        url = server.start()
        server.reset()  # moto's backends are the process's: start from none of another module's worlds
        yield url
    finally:
        server.stop()


def _snapshot(aws: Aws, spec: SandboxSpec) -> dict[str, object]:
    lam, cw, s3 = aws.client("lambda"), aws.client("cloudwatch"), aws.client("s3")
    alias = lam.get_alias(FunctionName=spec.functions[0].name, Name="live")
    return {
        "vpcs": sorted(v["CidrBlock"] for v in aws.client("ec2").describe_vpcs(
            Filters=[{"Name": "tag:Name", "Values": [spec.vpcs[0].name]}])["Vpcs"]),
        "tables": sorted(aws.client("dynamodb").list_tables()["TableNames"]),
        "lock_key": aws.client("dynamodb").describe_table(TableName=spec.tables[0].name)["Table"]["KeySchema"],
        "versions": sorted(v["Version"] for v in lam.list_versions_by_function(
            FunctionName=spec.functions[0].name)["Versions"]),
        "alias": alias["FunctionVersion"],
        "alarms": sorted((a["AlarmName"], a["StateValue"]) for a in cw.describe_alarms()["MetricAlarms"]),
        "templates": s3.list_objects_v2(Bucket=spec.buckets[1].name, Prefix="templates/")["KeyCount"],
        "versioning": s3.get_bucket_versioning(Bucket=spec.buckets[0].name).get("Status"),
        "zones": [z["Name"] for z in aws.client("route53").list_hosted_zones()["HostedZones"]],
        "certs": sorted((c["DomainName"], c["Status"]) for r in ("us-east-1", "eu-west-1")
                        for c in aws.client("acm", r).list_certificates()["CertificateSummaryList"]),
        "trust": aws.client("iam").get_role(RoleName=spec.roles[0].name)["Role"]["AssumeRolePolicyDocument"],
    }


def test_two_environments_live_in_one_sandbox_and_provisioning_is_idempotent(endpoint: str) -> None:
    specs = [_spec("sit", SIT, "10.20.0.0/16"), _spec("prod", PROD, "10.10.0.0/16")]
    for spec in specs:
        aws = sandbox_aws(endpoint, spec.account_id, spec.region)
        provision(aws, spec)
        first = _snapshot(aws, spec)
        provision(aws, spec)
        assert _snapshot(aws, spec) == first
        assert aws.caller_account() == spec.account_id
        assert first["vpcs"] == [spec.vpcs[0].cidr]
        assert first["tables"] == sorted(t.name for t in spec.tables)
        assert first["lock_key"] == [{"AttributeName": "LockID", "KeyType": "HASH"}]
        assert first["versions"] == ["$LATEST", "1", "2", "3"] and first["alias"] == "3"
        assert first["alarms"] == sorted([(f"order-dlq-{spec.environment}", "ALARM"),
                                          (f"product-errors-{spec.environment}", "OK")])
        assert first["templates"] == 12 and first["versioning"] == "Enabled"
        assert first["zones"] == [f"{spec.environment}.bbws.example."]
        assert first["certs"] == sorted([(f"{spec.environment}.bbws.example", "ISSUED"),
                                         (f"api.{spec.environment}.bbws.example", "PENDING_VALIDATION")])
        trust = first["trust"]
        statement = (json.loads(trust) if isinstance(trust, str) else trust)["Statement"][0]  # type: ignore[index]
        assert statement["Principal"]["Federated"].startswith(f"arn:aws:iam::{spec.account_id}:oidc-provider/")
        assert statement["Condition"]["StringLike"]["token.actions.githubusercontent.com:sub"] == [
            "repo:BigBeardWebSolutions/2_bbws_product_lambda:*"]
    sit_tables = sandbox_aws(endpoint, SIT, "eu-west-1").client("dynamodb").list_tables()["TableNames"]
    assert "orders-prod" not in sit_tables


def test_static_credentials_reach_their_account(endpoint: str, monkeypatch: pytest.MonkeyPatch) -> None:
    key = mint_credentials(endpoint, PROD, "eu-west-1")
    assert key.secret_access_key not in repr(key)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", key.access_key_id)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", key.secret_access_key)
    from golive.providers.aws import AwsTarget

    assert Aws(AwsTarget(region="eu-west-1", endpoint_url=endpoint)).caller_account() == PROD


def test_provisioning_with_credentials_of_another_account_is_refused(endpoint: str) -> None:
    spec = _spec("prod", PROD, "10.10.0.0/16")
    with pytest.raises(ConfigError) as caught:
        provision(sandbox_aws(endpoint, SIT, "eu-west-1"), spec)
    assert PROD in str(caught.value) and SIT in str(caught.value)

# The module-scoped fixture is built once: every test of this module runs on one xdist worker.
pytestmark = pytest.mark.xdist_group("sandbox_provision")
