"""Build one environment's AWS in the sandbox from a ``SandboxSpec``, through golive's own ``Aws``.

Provisioning uses the same boto3-over-HTTP path as every golive check, and
converges instead of scripting: each resource is looked up first and only
created when missing, so running it twice changes nothing. A resource that
exists is left alone even when it differs from the spec (an alias already
shifted by a rehearsal, an alarm whose state moved), because the sandbox's
world may have moved on since it was provisioned.

The ``Aws`` must reach the spec's account (``accounts.sandbox_aws``); a
mismatch is refused before anything is created, naming both accounts.
"""

from __future__ import annotations

import datetime as dt
import io
import json
import zipfile
from typing import TYPE_CHECKING

from golive.errors import AwsRequestError, ConfigError
from golive.providers.aws import Aws
from golive.sandbox.spec import (
    GITHUB_OIDC_URL,
    AlarmSpec,
    BucketSpec,
    CertificateSpec,
    FunctionSpec,
    RoleSpec,
    SandboxSpec,
)

if TYPE_CHECKING:
    from golive.sandbox.moto_lambda import LambdaWriter

LAMBDA_ROLE = "golive-sandbox-lambda"
_GITHUB_THUMBPRINT = "6938fd4d98bab03faadb97b34396831e3780aea1"


def provision(aws: Aws, spec: SandboxSpec, *, lambdas: LambdaWriter | None = None) -> None:
    """Create whatever of ``spec`` is missing in the account ``aws`` reaches; idempotent.

    With ``lambdas`` (the world, in moto's process) the functions are written on moto's backend directly.
    """
    account = aws.caller_account()
    if account != spec.account_id:
        raise ConfigError(
            f"sandbox environment '{spec.environment}' is account {spec.account_id}, "
            f"but the credentials given reach account {account}"
        )
    for vpc in spec.vpcs:
        _vpc(aws, vpc.name, vpc.cidr)
    if spec.github_oidc_provider or any(r.github_repos for r in spec.roles):
        _oidc_provider(aws)
    for role in spec.roles:
        _role(aws, spec.account_id, role)
    for bucket in spec.buckets:
        _bucket(aws, bucket)
    for table in spec.tables:
        _table(aws, table.name, table.hash_key)
    if spec.functions:
        role_arn = _lambda_role(aws)
        for function in spec.functions:
            if lambdas is not None:
                lambdas.ensure_function(function, role_arn)
            else:
                _function(aws, function, role_arn)
    for alarm in spec.alarms:
        _alarm(aws, alarm)
    for zone in spec.hosted_zones:
        _zone(aws, zone)
    for cert in spec.certificates:
        _certificate(aws, cert)
    for api in spec.apis:
        from golive.sandbox.apigw import ensure_api

        ensure_api(aws, api, spec.account_id)


def _missing(exc: AwsRequestError, *codes: str) -> bool:
    return exc.code in codes or exc.code.startswith("NoSuch") or exc.code.endswith("NotFound") or exc.code == "404"


def _vpc(aws: Aws, name: str, cidr: str) -> None:
    ec2 = aws.client("ec2")
    found = aws.call("ec2:DescribeVpcs", lambda: ec2.describe_vpcs(Filters=[{"Name": "tag:Name", "Values": [name]}]))
    if found["Vpcs"]:
        return
    vpc_id = aws.call("ec2:CreateVpc", lambda: ec2.create_vpc(CidrBlock=cidr))["Vpc"]["VpcId"]
    aws.call("ec2:CreateTags", lambda: ec2.create_tags(Resources=[vpc_id], Tags=[{"Key": "Name", "Value": name}]))


def _oidc_provider(aws: Aws) -> None:
    iam = aws.client("iam")
    host = GITHUB_OIDC_URL.removeprefix("https://")
    listed = aws.call("iam:ListOpenIDConnectProviders", iam.list_open_id_connect_providers)
    if any(p["Arn"].endswith(f"/{host}") for p in listed["OpenIDConnectProviderList"]):
        return
    aws.call(
        "iam:CreateOpenIDConnectProvider",
        lambda: iam.create_open_id_connect_provider(
            Url=GITHUB_OIDC_URL, ClientIDList=["sts.amazonaws.com"], ThumbprintList=[_GITHUB_THUMBPRINT]
        ),
    )


def github_trust_policy(account_id: str, repos: tuple[str, ...]) -> dict[str, object]:
    """The trust policy of a GitHub Actions deploy role limited to ``repos`` (``owner/name``)."""
    host = GITHUB_OIDC_URL.removeprefix("https://")
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"Federated": f"arn:aws:iam::{account_id}:oidc-provider/{host}"},
                "Action": "sts:AssumeRoleWithWebIdentity",
                "Condition": {
                    "StringEquals": {f"{host}:aud": "sts.amazonaws.com"},
                    "StringLike": {f"{host}:sub": [f"repo:{repo}:*" for repo in repos]},
                },
            }
        ],
    }


def _ensure_role(aws: Aws, name: str, policy: dict[str, object]) -> str:
    iam = aws.client("iam")
    try:
        return aws.call("iam:GetRole", lambda: iam.get_role(RoleName=name))["Role"]["Arn"]
    except AwsRequestError as exc:
        if not _missing(exc):
            raise
    created = aws.call("iam:CreateRole", lambda: iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(policy)))
    return created["Role"]["Arn"]


def _role(aws: Aws, account_id: str, role: RoleSpec) -> None:
    if role.github_repos:
        policy = github_trust_policy(account_id, role.github_repos)
    else:
        policy = {"Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{account_id}:root"}, "Action": "sts:AssumeRole"}]}
    _ensure_role(aws, role.name, policy)


def _lambda_role(aws: Aws) -> str:
    return _ensure_role(aws, LAMBDA_ROLE, {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}]})


def create_bucket(aws: Aws, name: str) -> None:
    """Create bucket ``name`` in the session's region; a create that botocore retried after it succeeded is done."""
    s3 = aws.client("s3")
    where = {} if aws.region == "us-east-1" else {"CreateBucketConfiguration": {"LocationConstraint": aws.region}}
    try:
        aws.call("s3:CreateBucket", lambda: s3.create_bucket(Bucket=name, **where))  # type: ignore[arg-type]
    except AwsRequestError as exc:
        if exc.code != "BucketAlreadyOwnedByYou":
            raise


def _bucket(aws: Aws, bucket: BucketSpec) -> None:
    s3 = aws.client("s3")
    try:
        aws.call("s3:HeadBucket", lambda: s3.head_bucket(Bucket=bucket.name))
    except AwsRequestError as exc:
        if not _missing(exc):
            raise
        create_bucket(aws, bucket.name)
        if bucket.versioning:
            aws.call("s3:PutBucketVersioning", lambda: s3.put_bucket_versioning(
                Bucket=bucket.name, VersioningConfiguration={"Status": "Enabled"}))
    for objects in bucket.objects:
        listed = aws.call("s3:ListObjectsV2", lambda objects=objects: s3.list_objects_v2(  # type: ignore[misc]
            Bucket=bucket.name, Prefix=objects.prefix))
        have = {o["Key"] for o in listed.get("Contents", [])}
        for i in range(objects.count):
            key = f"{objects.prefix}object-{i + 1:03d}.json"
            if key not in have:
                body = json.dumps({"key": key}).encode()
                aws.call("s3:PutObject", lambda key=key, body=body: s3.put_object(  # type: ignore[misc]
                    Bucket=bucket.name, Key=key, Body=body))


def _table(aws: Aws, name: str, hash_key: str) -> None:
    ddb = aws.client("dynamodb")
    try:
        aws.call("dynamodb:DescribeTable", lambda: ddb.describe_table(TableName=name))
        return
    except AwsRequestError as exc:
        if not _missing(exc, "ResourceNotFoundException"):
            raise
    aws.call("dynamodb:CreateTable", lambda: ddb.create_table(
        TableName=name,
        KeySchema=[{"AttributeName": hash_key, "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": hash_key, "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    ))


def function_zip(name: str, version: int) -> bytes:
    """A tiny deployment package; the version number makes each publish a code change."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("index.py", f"VERSION = {version}\nNAME = {name!r}\n\n"
                                     "def handler(event, context):\n    return {'version': VERSION}\n")
    return buffer.getvalue()


def _function(aws: Aws, function: FunctionSpec, role_arn: str) -> None:
    lam = aws.client("lambda")
    try:
        aws.call("lambda:GetFunction", lambda: lam.get_function(FunctionName=function.name))
    except AwsRequestError as exc:
        if not _missing(exc, "ResourceNotFoundException"):
            raise
        aws.call("lambda:CreateFunction", lambda: lam.create_function(
            FunctionName=function.name, Runtime=function.runtime, Role=role_arn,  # type: ignore[arg-type]
            Handler="index.handler", Code={"ZipFile": function_zip(function.name, 0)},
            Tags=dict(function.tags) | ({"project": function.project} if function.project else {}),
        ))
    versions = aws.call("lambda:ListVersionsByFunction", lambda: lam.list_versions_by_function(FunctionName=function.name))
    published = sorted(int(v["Version"]) for v in versions["Versions"] if v["Version"] != "$LATEST")
    for number in range(len(published) + 1, function.versions + 1):
        aws.call("lambda:UpdateFunctionCode", lambda number=number: lam.update_function_code(  # type: ignore[misc]
            FunctionName=function.name, ZipFile=function_zip(function.name, number)))
        new = aws.call("lambda:PublishVersion", lambda: lam.publish_version(FunctionName=function.name))["Version"]
        published.append(int(new))
    try:
        aws.call("lambda:GetAlias", lambda: lam.get_alias(FunctionName=function.name, Name=function.alias))
    except AwsRequestError as exc:
        if not _missing(exc, "ResourceNotFoundException"):
            raise
        target = str(max(published)) if published else "$LATEST"
        aws.call("lambda:CreateAlias", lambda: lam.create_alias(
            FunctionName=function.name, Name=function.alias, FunctionVersion=target))


def _alarm(aws: Aws, alarm: AlarmSpec) -> None:
    cw = aws.client("cloudwatch")
    found = aws.call("cloudwatch:DescribeAlarms", lambda: cw.describe_alarms(AlarmNames=[alarm.name]))
    if found["MetricAlarms"]:
        return
    aws.call("cloudwatch:PutMetricAlarm", lambda: cw.put_metric_alarm(
        AlarmName=alarm.name, Namespace=alarm.namespace, MetricName=alarm.metric_name,
        Dimensions=[{"Name": k, "Value": v} for k, v in alarm.dimensions],
        Statistic="Sum", Period=60, EvaluationPeriods=1, Threshold=alarm.threshold,
        ComparisonOperator="GreaterThanOrEqualToThreshold",
    ))
    if alarm.state != "OK":
        aws.call("cloudwatch:SetAlarmState", lambda: cw.set_alarm_state(
            AlarmName=alarm.name, StateValue=alarm.state, StateReason="provisioned by the golive sandbox"))


def _zone(aws: Aws, name: str) -> None:
    r53 = aws.client("route53")
    fqdn = name.rstrip(".") + "."
    listed = aws.call("route53:ListHostedZonesByName", lambda: r53.list_hosted_zones_by_name(DNSName=fqdn))
    if any(z["Name"] == fqdn for z in listed["HostedZones"]):
        return
    aws.call("route53:CreateHostedZone", lambda: r53.create_hosted_zone(Name=fqdn, CallerReference=f"golive-{fqdn}"))


def _certificate(aws: Aws, cert: CertificateSpec) -> None:
    acm = aws.client("acm", cert.region)
    listed = aws.call("acm:ListCertificates", acm.list_certificates, region=cert.region)
    if any(c.get("DomainName") == cert.domain for c in listed["CertificateSummaryList"]):
        return
    if cert.issued:
        body, key = self_signed(cert.domain, cert.alternative_names)
        aws.call("acm:ImportCertificate", lambda: acm.import_certificate(Certificate=body, PrivateKey=key),
                 region=cert.region)
    else:
        aws.call("acm:RequestCertificate", lambda: acm.request_certificate(
            DomainName=cert.domain, SubjectAlternativeNames=[cert.domain, *cert.alternative_names],
            ValidationMethod="DNS"), region=cert.region)


def self_signed(domain: str, alternative_names: tuple[str, ...]) -> tuple[bytes, bytes]:
    """A self-signed certificate (PEM) and its key for ``domain`` and its SANs: imported, it is ISSUED."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, domain)])
    now = dt.datetime.now(dt.UTC)
    names = [x509.DNSName(n) for n in dict.fromkeys((domain, *alternative_names))]
    certificate = (
        x509.CertificateBuilder()
        .subject_name(subject).issuer_name(subject).public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1)).not_valid_after(now + dt.timedelta(days=365))
        .add_extension(x509.SubjectAlternativeName(names), critical=False)
        .sign(key, hashes.SHA256())
    )
    pem_key = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL,
                                serialization.NoEncryption())
    return certificate.public_bytes(serialization.Encoding.PEM), pem_key
