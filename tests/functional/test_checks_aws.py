"""The AWS checks against a real moto server over HTTP: a provisioned environment passes, each breakage fails with evidence."""

from __future__ import annotations

import io
import json
import socket
import zipfile
from typing import Any

import moto.settings
import pytest
from moto.backends import get_backend
from pydantic import ValidationError

from golive.checks import alarms, certificates, iam, identity, lambdas, network, storage
from golive.checks.base import CheckContext, CheckResult, CheckType, Status
from golive.providers.aws import Aws, AwsTarget

REGION = "af-south-1"
MOTO_ACCOUNT = "123456789012"
PLAN_ACCOUNT = "093646564004"
REPOS = {
    "dynamodb_schemas": "BigBeardWebSolutions/2_1_bbws_dynamodb_schemas",
    "product_lambda": "BigBeardWebSolutions/2_bbws_product_lambda",
}
OIDC_ARN = f"arn:aws:iam::{MOTO_ACCOUNT}:oidc-provider/token.actions.githubusercontent.com"
DEPLOY_ROLE = "2-1-bbws-tf-github-actions-prod"
PRODUCT_FUNCTIONS = [f"2-1-bbws-tf-product-{n}-prod" for n in ("list", "get", "create", "update", "delete")]

CHECKS: dict[str, CheckType[Any]] = {
    c.name: c
    for module in (identity, network, iam, storage, lambdas, alarms, certificates)
    for c in module.CHECK_TYPES
}


def check(ctx: CheckContext, name: str, raw: Any = None) -> CheckResult:
    """Validate ``raw`` as the plan would, then run the check."""
    check_type = CHECKS[name]
    params = check_type.params.model_validate({} if raw is None else raw)
    assert check_type.describe(params)
    return check_type.run(ctx, params)


def evidence_text(result: CheckResult) -> str:
    return json.dumps(result.to_dict(), default=str)


@pytest.fixture
def aws(moto_reset: str) -> Aws:
    return Aws(AwsTarget(region=REGION, endpoint_url=moto_reset))


@pytest.fixture
def ctx(aws: Aws) -> CheckContext:
    variables = {"env": "prod", "account": MOTO_ACCOUNT, "vpc_cidr": "10.3.0.0/16"}
    return CheckContext(env="prod", aws=aws, variables=variables, repos=dict(REPOS))


def trust_policy(subs: list[str] | str | None) -> str:
    condition: dict[str, Any] = {"StringEquals": {"token.actions.githubusercontent.com:aud": "sts.amazonaws.com"}}
    if subs is not None:
        condition["StringLike"] = {"token.actions.githubusercontent.com:sub": subs}
    return json.dumps({
        "Version": "2012-10-17",
        "Statement": [{
            "Effect": "Allow",
            "Principal": {"Federated": OIDC_ARN},
            "Action": "sts:AssumeRoleWithWebIdentity",
            "Condition": condition,
        }],
    })


def make_deploy_role(aws: Aws, subs: list[str] | str | None, *, provider: bool = True) -> None:
    client = aws.client("iam")
    if provider:
        client.create_open_id_connect_provider(
            Url="https://token.actions.githubusercontent.com", ClientIDList=["sts.amazonaws.com"], ThumbprintList=["a" * 40]
        )
    client.create_role(RoleName=DEPLOY_ROLE, AssumeRolePolicyDocument=trust_policy(subs))


def make_bucket(aws: Aws, name: str, *, versioned: bool = False, region: str = REGION) -> None:
    s3 = aws.client("s3", region)
    if region == "us-east-1":
        s3.create_bucket(Bucket=name)
    else:
        s3.create_bucket(Bucket=name, CreateBucketConfiguration={"LocationConstraint": region})  # type: ignore[typeddict-item]
    if versioned:
        s3.put_bucket_versioning(Bucket=name, VersioningConfiguration={"Status": "Enabled"})


def make_table(aws: Aws, name: str, hash_key: str = "LockID") -> None:
    aws.client("dynamodb").create_table(
        TableName=name,
        KeySchema=[{"AttributeName": hash_key, "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": hash_key, "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )


def make_functions(aws: Aws, names: list[str], tags: dict[str, str] | None = None) -> None:
    role = aws.client("iam").create_role(
        RoleName=f"lambda-exec-{len(names)}-{abs(hash(tuple(names))) % 10000}",
        AssumeRolePolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": []}),
    )["Role"]["Arn"]
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("handler.py", "def handler(event, context):\n    return {}\n")
    for name in names:
        aws.client("lambda").create_function(
            FunctionName=name, Runtime="python3.12", Role=role, Handler="handler.handler",
            Code={"ZipFile": buf.getvalue()}, Tags=tags or {},
        )


def make_alarm(aws: Aws, name: str, state: str = "ALARM") -> None:
    cw = aws.client("cloudwatch")
    cw.put_metric_alarm(
        AlarmName=name, Namespace="AWS/SQS", MetricName="ApproximateNumberOfMessagesVisible", Statistic="Sum",
        Period=60, EvaluationPeriods=1, Threshold=0, ComparisonOperator="GreaterThanThreshold",
    )
    cw.set_alarm_state(AlarmName=name, StateValue=state, StateReason="test")  # type: ignore[arg-type]


def request_certificate(aws: Aws, domain: str, region: str) -> str:
    return aws.client("acm", region).request_certificate(DomainName=domain, ValidationMethod="DNS")["CertificateArn"]


@pytest.fixture
def acm_validates_at_once(monkeypatch: pytest.MonkeyPatch) -> None:
    """moto issues a requested certificate once MOTO_ACM_VALIDATION_WAIT seconds (default 60) have passed.

    The variable is read when moto is imported, so setting it in a test does nothing; but the fixture's
    server runs in this process and reads ``moto.settings.ACM_VALIDATION_WAIT`` on every describe.
    """
    monkeypatch.setattr(moto.settings, "ACM_VALIDATION_WAIT", 0)


def provision(aws: Aws) -> None:
    """The runbook's PROD prerequisites, done right."""
    ec2 = aws.client("ec2")
    vpc = ec2.create_vpc(CidrBlock="10.3.0.0/16")["Vpc"]["VpcId"]
    ec2.create_tags(Resources=[vpc], Tags=[{"Key": "Name", "Value": "prod-vpc"}])
    make_deploy_role(aws, [f"repo:{r}:*" for r in REPOS.values()])
    make_bucket(aws, "bbws-terraform-state-prod", versioned=True)
    make_table(aws, "terraform-state-lock-prod")
    for name in ("tenants", "products", "campaigns"):
        make_table(aws, f"{name}-prod", "id")
    make_bucket(aws, "bbws-templates-prod")
    for i in range(12):
        aws.client("s3").put_object(Bucket="bbws-templates-prod", Key=f"templates/t{i:02d}.json", Body=b"{}")
    make_functions(aws, PRODUCT_FUNCTIONS, tags={"Project": "product"})
    make_alarm(aws, "bbws-order-dlq")
    make_alarm(aws, "bbws-data-corruption", state="OK")
    aws.client("route53").create_hosted_zone(Name="kimmyai.io", CallerReference="golive-test")
    request_certificate(aws, "*.kimmyai.io", "us-east-1")
    request_certificate(aws, "*.kimmyai.io", REGION)


PREFLIGHT: list[tuple[str, Any]] = [
    ("aws_account", None),
    ("vpc", {"cidr": "10.3.0.0/16"}),
    ("vpc", {"name": "{env}-vpc", "cidr": "{vpc_cidr}"}),
    ("iam_role", {"name": "2-1-bbws-tf-github-actions-{env}", "github_oidc": True}),
    ("s3_bucket", {"name": "bbws-terraform-state-{env}", "versioning": True}),
    ("dynamodb_table", {"name": "terraform-state-lock-{env}", "hash_key": "LockID"}),
    ("dynamodb_tables", {"names": ["tenants", "products", "campaigns"], "suffix": "-{env}"}),
    ("s3_objects", {"bucket": "bbws-templates-prod", "prefix": "templates/", "count": 12}),
    ("lambda_active", {"prefix": "2-1-bbws-tf-product-", "suffix": "-{env}", "count": 5}),
    ("lambda_active", PRODUCT_FUNCTIONS),
    ("lambda_active", {"tag": {"Project": "product"}, "count": 5}),
    ("alarms", {"allow": ["bbws-order-dlq"]}),
    ("route53_zone", "kimmyai.io."),
    ("acm_certificate", {"domain": "api.kimmyai.io"}),
    ("acm_certificate", {"domain": "api.kimmyai.io", "for": "cloudfront"}),
]


@pytest.mark.usefixtures("acm_validates_at_once")
def test_a_correctly_provisioned_environment_passes_every_check(aws: Aws, ctx: CheckContext) -> None:
    provision(aws)
    results = [check(ctx, name, raw) for name, raw in PREFLIGHT]
    failures = [r.to_dict() for r in results if r.status is not Status.PASS]
    assert failures == []
    assert all(r.evidence for r in results)


# --- identity -------------------------------------------------------------------------------------------------


def test_wrong_account_names_both_numbers_and_the_profile(
    moto_reset: str, tmp_path: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = tmp_path / "config"
    config.write_text(
        "[profile Tebogo-prod]\nregion = af-south-1\naws_access_key_id = testing\naws_secret_access_key = testing\n"
    )
    monkeypatch.setenv("AWS_CONFIG_FILE", str(config))
    aws = Aws(AwsTarget(region=REGION, profile="Tebogo-prod", endpoint_url=moto_reset))
    ctx = CheckContext(env="prod", aws=aws, variables={"account": PLAN_ACCOUNT})
    result = check(ctx, "aws_account")
    assert result.status is Status.FAIL
    assert result.summary == f"credentials are for {MOTO_ACCOUNT}, plan says {PLAN_ACCOUNT} (profile Tebogo-prod)"
    assert result.evidence[0].asked == "sts:GetCallerIdentity"
    assert result.evidence[0].answered["Account"] == MOTO_ACCOUNT


def test_account_given_unquoted_in_yaml_keeps_its_leading_zero() -> None:
    params = identity.AwsAccountParams.model_validate({"account": 93646564004})
    assert params.account == PLAN_ACCOUNT


def test_no_account_in_the_plan_warns_with_the_callers(aws: Aws) -> None:
    result = check(CheckContext(env="prod", aws=aws), "aws_account")
    assert result.status is Status.WARN
    assert MOTO_ACCOUNT in result.summary


def test_aws_unreachable_is_an_error_naming_the_endpoint() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        endpoint = f"http://127.0.0.1:{s.getsockname()[1]}"  # bound, never listening: connections are refused
    aws = Aws(AwsTarget(region=REGION, endpoint_url=endpoint), max_attempts=1, connect_timeout=0.5)
    ctx = CheckContext(env="prod", aws=aws, variables={"account": PLAN_ACCOUNT})
    result = check(ctx, "aws_account")
    assert result.status is Status.ERROR
    assert endpoint in result.summary
    assert "sts:GetCallerIdentity" in result.summary


# --- vpc ---------------------------------------------------------------------------------------------------------


def test_vpc_with_another_cidr_fails_naming_both(aws: Aws, ctx: CheckContext) -> None:
    ec2 = aws.client("ec2")
    vpc = ec2.create_vpc(CidrBlock="10.4.0.0/16")["Vpc"]["VpcId"]
    ec2.create_tags(Resources=[vpc], Tags=[{"Key": "Name", "Value": "prod-vpc"}])

    by_name = check(ctx, "vpc", {"name": "prod-vpc", "cidr": "10.3.0.0/16"})
    assert by_name.status is Status.FAIL
    assert "10.4.0.0/16" in by_name.summary and "10.3.0.0/16" in by_name.summary
    assert by_name.evidence[0].asked == "ec2:DescribeVpcs Filters=[tag:Name=prod-vpc]"

    by_cidr = check(ctx, "vpc", {"cidr": "10.3.0.0/16"})
    assert by_cidr.status is Status.FAIL
    assert "no VPC with cidr=10.3.0.0/16" in by_cidr.summary
    assert vpc in evidence_text(by_cidr)  # the VPCs that do exist are listed


def test_vpc_by_id_missing_fails_and_found_passes(aws: Aws, ctx: CheckContext) -> None:
    vpc = aws.client("ec2").create_vpc(CidrBlock="10.3.0.0/16")["Vpc"]["VpcId"]
    assert check(ctx, "vpc", vpc).status is Status.PASS
    assert check(ctx, "vpc", {"id": vpc, "cidr": "10.9.0.0/16"}).status is Status.FAIL
    missing = check(ctx, "vpc", {"id": "vpc-0123456789abcdef0"})
    assert missing.status is Status.FAIL
    assert "InvalidVpcID.NotFound" in evidence_text(missing)


def test_vpc_cidr_from_a_variable_is_checked_once_expanded(ctx: CheckContext) -> None:
    ctx.variables["vpc_cidr"] = "10.3.0.0/33"
    result = check(ctx, "vpc", {"cidr": "{vpc_cidr}"})
    assert result.status is Status.ERROR
    assert result.summary == "invalid CIDR '10.3.0.0/33'"


def test_vpc_params_need_something_to_look_for() -> None:
    with pytest.raises(ValidationError):
        network.VpcParams.model_validate({})
    with pytest.raises(ValidationError):
        network.VpcParams.model_validate({"cidr": "10.3.0.0/33"})
    with pytest.raises(ValidationError):
        network.VpcParams.model_validate({"cidr": "10.3.0.0/16", "size": 3})


# --- iam_role ----------------------------------------------------------------------------------------------------


def test_missing_role_fails(ctx: CheckContext) -> None:
    result = check(ctx, "iam_role", {"name": DEPLOY_ROLE, "github_oidc": True})
    assert result.status is Status.FAIL
    assert result.summary == f"role {DEPLOY_ROLE} does not exist"
    assert result.evidence[0].answered == {"error": "NoSuchEntity"}


def test_role_trusting_another_repository_fails_naming_it(aws: Aws, ctx: CheckContext) -> None:
    make_deploy_role(aws, [*(f"repo:{r}:*" for r in REPOS.values()), "repo:SomeoneElse/fork:*"])
    result = check(ctx, "iam_role", {"name": DEPLOY_ROLE, "github_oidc": True})
    assert result.status is Status.FAIL
    assert "trusts another repository: SomeoneElse/fork" in result.summary


def test_role_trusting_any_repository_fails(aws: Aws, ctx: CheckContext) -> None:
    make_deploy_role(aws, "repo:*")
    result = check(ctx, "iam_role", {"name": DEPLOY_ROLE, "repos": list(REPOS.values())})
    assert result.status is Status.FAIL
    assert "'repo:*': not limited" in result.summary


def test_role_without_sub_condition_or_missing_a_repo_fails(aws: Aws, ctx: CheckContext) -> None:
    make_deploy_role(aws, None)
    result = check(ctx, "iam_role", {"name": DEPLOY_ROLE, "github_oidc": True})
    assert result.status is Status.FAIL
    assert "any GitHub repository can assume the role" in result.summary
    assert "does not trust BigBeardWebSolutions/2_bbws_product_lambda" in result.summary


def test_role_whose_oidc_provider_is_missing_fails(aws: Aws, ctx: CheckContext) -> None:
    make_deploy_role(aws, [f"repo:{r}:*" for r in REPOS.values()], provider=False)
    result = check(ctx, "iam_role", {"name": DEPLOY_ROLE, "github_oidc": True})
    assert result.status is Status.FAIL
    assert f"OIDC provider {OIDC_ARN} does not exist" in result.summary


def test_plain_role_only_needs_to_exist(aws: Aws, ctx: CheckContext) -> None:
    aws.client("iam").create_role(RoleName="ops", AssumeRolePolicyDocument=json.dumps({"Statement": []}))
    assert check(ctx, "iam_role", "ops").status is Status.PASS


def test_trust_rules_on_policy_shapes() -> None:
    policy = json.loads(trust_policy(["repo:Org/a:ref:refs/heads/main", "repo:Org/b:environment:prod"]))
    trust = iam.github_trust(policy)
    assert iam.trust_findings(trust, ["Org/a", "Org/b"]) == []
    assert iam.trust_findings(trust, ["Org/a"]) == ["trusts another repository: Org/b ('repo:Org/b:environment:prod')"]
    org_wide = iam.github_trust(json.loads(trust_policy("repo:Org/*:*")))
    assert iam.trust_findings(org_wide, ["Org/a"])[0].startswith("trusts 'repo:Org/*:*'")
    not_github = {
        "Statement": [{"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}]
    }
    assert iam.trust_findings(iam.github_trust(not_github), ["Org/a"]) == [
        "trust policy does not federate token.actions.githubusercontent.com"
    ]
    encoded = "%7B%22Statement%22%3A%5B%5D%7D"
    assert iam.policy_document(encoded) == {"Statement": []}


# --- s3 / dynamodb -------------------------------------------------------------------------------------------------


def test_missing_bucket_fails(ctx: CheckContext) -> None:
    result = check(ctx, "s3_bucket", {"name": "bbws-terraform-state-prod", "versioning": True})
    assert result.status is Status.FAIL
    assert result.summary == "bucket bbws-terraform-state-prod does not exist"


def test_state_bucket_without_versioning_fails(aws: Aws, ctx: CheckContext) -> None:
    make_bucket(aws, "bbws-terraform-state-prod")
    result = check(ctx, "s3_bucket", {"name": "bbws-terraform-state-prod", "versioning": True})
    assert result.status is Status.FAIL
    assert "versioning is not enabled" in result.summary
    assert result.evidence[1].asked == "s3:GetBucketVersioning Bucket=bbws-terraform-state-prod"


def test_bucket_region_us_east_1_is_read_from_an_empty_location(aws: Aws, ctx: CheckContext) -> None:
    make_bucket(aws, "bbws-state-virginia", region="us-east-1")
    assert check(ctx, "s3_bucket", {"name": "bbws-state-virginia", "region": "us-east-1"}).status is Status.PASS
    wrong = check(ctx, "s3_bucket", {"name": "bbws-state-virginia", "region": REGION})
    assert wrong.status is Status.FAIL
    assert "is in us-east-1, plan says af-south-1" in wrong.summary
    assert check(ctx, "s3_bucket", "bbws-state-virginia").status is Status.WARN  # not the environment's region


def test_lock_table_without_lockid_fails(aws: Aws, ctx: CheckContext) -> None:
    make_table(aws, "terraform-state-lock-prod", hash_key="id")
    result = check(ctx, "dynamodb_table", {"name": "terraform-state-lock-prod", "hash_key": "LockID"})
    assert result.status is Status.FAIL
    assert "hash key is id, plan says LockID" in result.summary


def test_missing_lock_table_fails(ctx: CheckContext) -> None:
    result = check(ctx, "dynamodb_table", {"name": "terraform-state-lock-prod", "hash_key": "LockID"})
    assert result.status is Status.FAIL
    assert result.summary == "table terraform-state-lock-prod does not exist"


def test_table_missing_from_the_expected_set_is_named(aws: Aws, ctx: CheckContext) -> None:
    make_table(aws, "tenants", "id")
    make_table(aws, "campaigns", "id")
    result = check(ctx, "dynamodb_tables", ["tenants", "products", "campaigns"])
    assert result.status is Status.FAIL
    assert result.summary == "2 of 3 tables; missing: products"
    assert result.evidence[0].answered["missing"] == ["products"]
    with_suffix = check(ctx, "dynamodb_tables", {"names": ["tenants"], "suffix": "-{env}"})
    assert with_suffix.status is Status.FAIL and "tenants-prod" in with_suffix.summary


def test_eleven_templates_instead_of_twelve_fails(aws: Aws, ctx: CheckContext) -> None:
    make_bucket(aws, "bbws-templates-prod")
    s3 = aws.client("s3")
    for i in range(11):
        s3.put_object(Bucket="bbws-templates-prod", Key=f"t{i:02d}.json", Body=b"{}")
    s3.put_object(Bucket="bbws-templates-prod", Key="drafts/", Body=b"")
    result = check(ctx, "s3_objects", {"bucket": "bbws-templates-{env}", "count": 12})
    assert result.status is Status.FAIL
    assert result.summary == "11 of 12 objects under s3://bbws-templates-prod/"
    s3.put_object(Bucket="bbws-templates-prod", Key="t11.json", Body=b"{}")
    assert check(ctx, "s3_objects", {"bucket": "bbws-templates-prod", "count": 12}).status is Status.PASS


def test_objects_in_a_missing_bucket_fail(ctx: CheckContext) -> None:
    result = check(ctx, "s3_objects", {"bucket": "nope-bucket", "count": 12})
    assert result.status is Status.FAIL
    assert "NoSuchBucket" in evidence_text(result)


# --- lambda_active -------------------------------------------------------------------------------------------------


def _set_moto_function_state(name: str, state: str) -> None:
    """moto's Lambda is always Active over its API; its in-process backend (the fixture's server) can be told otherwise."""
    function = get_backend("lambda")[MOTO_ACCOUNT][REGION].get_function(name)
    function.state = state


def test_function_not_active_is_named(aws: Aws, ctx: CheckContext) -> None:
    make_functions(aws, PRODUCT_FUNCTIONS)
    _set_moto_function_state(PRODUCT_FUNCTIONS[2], "Inactive")
    result = check(ctx, "lambda_active", {"prefix": "2-1-bbws-tf-product-", "count": 5})
    assert result.status is Status.FAIL
    assert result.summary == f"{PRODUCT_FUNCTIONS[2]} is Inactive"
    states = {f["FunctionName"]: f["State"] for f in result.evidence[-1].answered["functions"]}
    assert states[PRODUCT_FUNCTIONS[2]] == "Inactive"
    assert states[PRODUCT_FUNCTIONS[0]] == "Active"


def test_function_count_and_missing_names(aws: Aws, ctx: CheckContext) -> None:
    make_functions(aws, PRODUCT_FUNCTIONS[:4])
    short = check(ctx, "lambda_active", {"prefix": "2-1-bbws-tf-product-", "suffix": "-prod", "count": 5})
    assert short.status is Status.FAIL
    assert short.summary == "4 functions, plan expects 5"
    named = check(ctx, "lambda_active", PRODUCT_FUNCTIONS)
    assert named.status is Status.FAIL
    assert named.summary == f"missing: {PRODUCT_FUNCTIONS[4]}"
    nothing = check(ctx, "lambda_active", {"prefix": "2-1-bbws-tf-order-"})
    assert nothing.status is Status.FAIL and nothing.summary == "no function matches"


def test_lambda_judge_on_api_response_shapes() -> None:
    configs = [
        {"FunctionName": "a", "State": "Active", "LastUpdateStatus": "Successful"},
        {"FunctionName": "b", "State": "Pending", "StateReasonCode": "Creating"},
        {"FunctionName": "c", "State": "Failed", "StateReason": "The role cannot be assumed", "StateReasonCode": "InvalidRole"},
        {"FunctionName": "d"},
    ]
    states = [lambdas.FunctionState.from_configuration(c) for c in configs]
    ok, why = lambdas.judge(states, 4, [])
    assert not ok
    assert why == "b is Pending: Creating; c is Failed: The role cannot be assumed; d is in no reported state"
    assert lambdas.judge(states[:1], 1, []) == (True, "1 function, all Active")


def test_lambda_params_need_one_selector() -> None:
    with pytest.raises(ValidationError):
        lambdas.LambdaActiveParams.model_validate({"prefix": "a-", "names": ["a-1"]})
    with pytest.raises(ValidationError):
        lambdas.LambdaActiveParams.model_validate({"count": 3})


# --- alarms --------------------------------------------------------------------------------------------------------


def test_new_alarm_fails_allow_listed_passes_pre_existing_warns(aws: Aws, ctx: CheckContext) -> None:
    make_alarm(aws, "bbws-order-dlq")
    assert check(ctx, "alarms", {"allow": ["bbws-order-dlq"]}).status is Status.PASS
    assert check(ctx, "alarms").status is Status.FAIL

    make_alarm(aws, "bbws-product-errors")
    new = check(ctx, "alarms", {"allow": ["bbws-order-dlq"]})
    assert new.status is Status.FAIL
    assert new.summary == "1 new alarm(s) in ALARM: bbws-product-errors"

    ctx.alarms_at_start = frozenset({"bbws-product-errors"})
    old = check(ctx, "alarms", {"allow": ["bbws-order-dlq"]})
    assert old.status is Status.WARN
    assert old.evidence[0].answered["already_in_alarm_at_start"] == ["bbws-product-errors"]
    assert old.evidence[0].answered["allow_listed"] == ["bbws-order-dlq"]


def test_alarm_allow_list_rules() -> None:
    assert alarms.allowed("bbws-order-dlq-prod", ["bbws-order-dlq"])
    assert alarms.allowed("prod-order-dlq-depth", ["*order-dlq*"])
    assert not alarms.allowed("bbws-order-errors", ["bbws-order-dlq", "*-dlq"])


# --- route53 / acm -------------------------------------------------------------------------------------------------


def test_missing_zone_fails_and_trailing_dot_does_not_matter(aws: Aws, ctx: CheckContext) -> None:
    assert check(ctx, "route53_zone", "kimmyai.io").status is Status.FAIL
    aws.client("route53").create_hosted_zone(Name="kimmyai.io.", CallerReference="x")
    aws.client("route53").create_hosted_zone(Name="other.io", CallerReference="y")
    assert check(ctx, "route53_zone", {"domain": "KimmyAI.io."}).status is Status.PASS
    assert check(ctx, "route53_zone", {"domain": "kimmyai.io", "private": True}).status is Status.FAIL


def test_certificate_pending_validation_fails_saying_so(aws: Aws, ctx: CheckContext) -> None:
    request_certificate(aws, "*.kimmyai.io", REGION)
    result = check(ctx, "acm_certificate", {"domain": "api.kimmyai.io"})
    assert result.status is Status.FAIL
    assert "PENDING_VALIDATION" in result.summary


@pytest.mark.usefixtures("acm_validates_at_once")
def test_certificate_for_cloudfront_outside_us_east_1_warns(aws: Aws, ctx: CheckContext) -> None:
    request_certificate(aws, "*.kimmyai.io", REGION)  # what the runbook does
    result = check(ctx, "acm_certificate", {"domain": "api.kimmyai.io", "for": "cloudfront"})
    assert result.status is Status.WARN
    assert "CloudFront only uses certificates in us-east-1" in result.summary
    assert f"in {REGION}" in result.summary
    asked = [e.asked for e in result.evidence]
    assert asked[0].startswith("acm:ListCertificates + DescribeCertificate in us-east-1")
    explicit = check(ctx, "acm_certificate", {"domain": "api.kimmyai.io", "for": "cloudfront", "region": REGION})
    assert explicit.status is Status.WARN


@pytest.mark.usefixtures("acm_validates_at_once")
def test_certificate_must_cover_the_domain(aws: Aws, ctx: CheckContext) -> None:
    request_certificate(aws, "*.kimmyai.io", REGION)
    assert check(ctx, "acm_certificate", "api.kimmyai.io").status is Status.PASS
    apex = check(ctx, "acm_certificate", "kimmyai.io")
    assert apex.status is Status.FAIL
    assert apex.summary == f"no certificate covering kimmyai.io in {REGION}"
    assert check(ctx, "acm_certificate", "a.b.kimmyai.io").status is Status.FAIL


def test_wildcard_coverage_rules() -> None:
    assert certificates.covers("*.kimmyai.io", "api.kimmyai.io")
    assert certificates.covers("*.kimmyai.io.", "API.kimmyai.io")
    assert not certificates.covers("*.kimmyai.io", "kimmyai.io")
    assert not certificates.covers("*.kimmyai.io", "a.b.kimmyai.io")
    assert certificates.covers("*.kimmyai.io", "*.kimmyai.io")
    assert not certificates.covers("api.kimmyai.io", "*.kimmyai.io")
    assert certificates.covers("kimmyai.io", "kimmyai.io.")


def test_acm_params_take_for_as_written_in_the_plan() -> None:
    params = certificates.AcmCertificateParams.model_validate({"domain": "kimmyai.io", "for": "cloudfront"})
    assert params.for_ == "cloudfront"
    with pytest.raises(ValidationError):
        certificates.AcmCertificateParams.model_validate({"domain": "kimmyai.io", "for": "s3"})


def test_every_check_type_has_strict_params() -> None:
    for check_type in CHECKS.values():
        schema = check_type.params.model_json_schema()
        assert schema.get("additionalProperties") is False, check_type.name
        assert check_type.doc, check_type.name
