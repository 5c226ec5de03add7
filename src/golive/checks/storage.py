"""Storage checks: the S3 buckets and DynamoDB tables the release needs, and what is in them.

``s3_bucket`` and ``dynamodb_table`` are the Terraform backend (the state
bucket must be versioned, the lock table must be keyed on ``LockID``, or
``terraform init`` fails halfway through a deploy); ``dynamodb_tables`` and
``s3_objects`` are the runbook's "Expected: 3 tables" and "1 bucket, 12
templates" after the foundation batch.

Table names: ``dynamodb_tables`` looks for ``prefix + name + suffix`` exactly,
with ``{env}`` and other plan variables expanded in all three, so
``{names: [tenants], suffix: "-{env}"}`` expects ``tenants-prod``. Without
prefix or suffix the names are matched exactly.
"""

from __future__ import annotations

from typing import Any

from pydantic import Field, model_validator

from golive.analysis.units import counted
from golive.checks.base import CheckContext, CheckParams, CheckResult, CheckType
from golive.checks.support import Probe, guarded, listed, shorthand
from golive.errors import AwsRequestError

S3_BUCKET = "s3_bucket"
S3_OBJECTS = "s3_objects"
DYNAMODB_TABLE = "dynamodb_table"
DYNAMODB_TABLES = "dynamodb_tables"


def _by_name(data: Any) -> Any:
    return {"name": data} if isinstance(data, str) else data


class S3BucketParams(CheckParams):
    """``- s3_bucket: NAME`` or ``{name, region, versioning: true}``; region defaults to the environment's."""

    name: str
    region: str | None = None
    versioning: bool = False

    @model_validator(mode="before")
    @classmethod
    def _short(cls, data: Any) -> Any:
        return _by_name(data)


class S3ObjectsParams(CheckParams):
    """``- s3_objects: {bucket, prefix: "", count: 12}``: exactly ``count`` objects under the prefix."""

    bucket: str
    prefix: str = ""
    count: int = Field(ge=0)


class DynamoDbTableParams(CheckParams):
    """``- dynamodb_table: NAME`` or ``{name, hash_key: LockID}``."""

    name: str
    hash_key: str | None = None

    @model_validator(mode="before")
    @classmethod
    def _short(cls, data: Any) -> Any:
        return _by_name(data)


class DynamoDbTablesParams(CheckParams):
    """``- dynamodb_tables: [tenants, products]`` or ``{names: [...], prefix: "", suffix: "-{env}"}``."""

    names: list[str] = Field(min_length=1)
    prefix: str = ""
    suffix: str = ""

    @model_validator(mode="before")
    @classmethod
    def _short(cls, data: Any) -> Any:
        return shorthand(data, "names")


def _bucket_region(location: str | None) -> str:
    # GetBucketLocation answers None (or "") for us-east-1, and "EU" for old eu-west-1 buckets.
    if not location:
        return "us-east-1"
    return "eu-west-1" if location == "EU" else location


def run_s3_bucket(ctx: CheckContext, params: S3BucketParams) -> CheckResult:
    name = ctx.expand(params.name)

    def body(probe: Probe) -> CheckResult:
        aws = probe.aws
        s3 = aws.client("s3")
        try:
            location = aws.call("s3:GetBucketLocation", lambda: s3.get_bucket_location(Bucket=name).get("LocationConstraint"))
        except AwsRequestError as exc:
            if exc.code not in ("NoSuchBucket", "404", "NotFound"):
                raise
            probe.note(f"s3:GetBucketLocation Bucket={name}", {"error": exc.code})
            return probe.failed(f"bucket {name} does not exist")
        region = _bucket_region(location)
        probe.note(f"s3:GetBucketLocation Bucket={name}", {"LocationConstraint": location, "region": region})
        expected = ctx.expand(params.region) if params.region else aws.region
        problems: list[str] = []
        if params.versioning:
            status = aws.call("s3:GetBucketVersioning", lambda: s3.get_bucket_versioning(Bucket=name).get("Status"))
            probe.note(f"s3:GetBucketVersioning Bucket={name}", {"Status": status})
            if status != "Enabled":
                problems.append(f"versioning is {status or 'not enabled'} (a state bucket needs it Enabled)")
        if region != expected and params.region:
            problems.append(f"is in {region}, plan says {expected}")
        if problems:
            return probe.failed(f"bucket {name} " + "; ".join(problems))
        if region != expected:
            return probe.warned(f"bucket {name} exists but is in {region}, not the environment's {expected}")
        versioned = ", versioned" if params.versioning else ""
        return probe.passed(f"bucket {name} in {region}{versioned}")

    return guarded(ctx, S3_BUCKET, f"bucket {name}", body)


def describe_s3_bucket(params: S3BucketParams) -> str:
    versioning = f"; s3:GetBucketVersioning Bucket={params.name}, expect Enabled" if params.versioning else ""
    return f"s3:GetBucketLocation Bucket={params.name}{versioning}"


def run_s3_objects(ctx: CheckContext, params: S3ObjectsParams) -> CheckResult:
    bucket = ctx.expand(params.bucket)
    prefix = ctx.expand(params.prefix)

    def body(probe: Probe) -> CheckResult:
        aws = probe.aws
        s3 = aws.client("s3")

        def list_keys() -> list[str]:
            keys: list[str] = []
            for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
                keys.extend(o.get("Key", "") for o in page.get("Contents", []))
            return keys

        keys = aws.call("s3:ListObjectsV2", list_keys)
        objects = [k for k in keys if not k.endswith("/")]  # "folder" markers are not objects anyone uploaded
        probe.note(f"s3:ListObjectsV2 Bucket={bucket} Prefix={prefix!r}", {"count": len(objects), "keys": listed(objects)})
        where = f"s3://{bucket}/{prefix}"
        if len(objects) != params.count:
            return probe.failed(f"{len(objects)} of {counted(params.count, 'object')} under {where}")
        return probe.passed(f"{counted(len(objects), 'object')} under {where}")

    return guarded(ctx, S3_OBJECTS, f"s3://{bucket}/{prefix}", body)


def describe_s3_objects(params: S3ObjectsParams) -> str:
    return f"s3:ListObjectsV2 Bucket={params.bucket} Prefix={params.prefix!r}, expect {params.count} objects"


def run_dynamodb_table(ctx: CheckContext, params: DynamoDbTableParams) -> CheckResult:
    name = ctx.expand(params.name)

    def body(probe: Probe) -> CheckResult:
        aws = probe.aws
        ddb = aws.client("dynamodb")
        try:
            table = aws.call("dynamodb:DescribeTable", lambda: ddb.describe_table(TableName=name)["Table"])
        except AwsRequestError as exc:
            if exc.code != "ResourceNotFoundException":
                raise
            probe.note(f"dynamodb:DescribeTable TableName={name}", {"error": exc.code})
            return probe.failed(f"table {name} does not exist")
        keys = {k.get("KeyType"): k.get("AttributeName") for k in table.get("KeySchema", [])}
        status = table.get("TableStatus")
        probe.note(f"dynamodb:DescribeTable TableName={name}", {"TableStatus": status, "KeySchema": keys})
        problems: list[str] = []
        if status != "ACTIVE":
            problems.append(f"status is {status}, not ACTIVE")
        if params.hash_key and keys.get("HASH") != params.hash_key:
            problems.append(f"hash key is {keys.get('HASH')}, plan says {params.hash_key}")
        if problems:
            return probe.failed(f"table {name}: " + "; ".join(problems))
        key = f", hash key {keys.get('HASH')}" if params.hash_key else ""
        return probe.passed(f"table {name} ACTIVE{key}")

    return guarded(ctx, DYNAMODB_TABLE, f"table {name}", body)


def describe_dynamodb_table(params: DynamoDbTableParams) -> str:
    key = f", hash key {params.hash_key}" if params.hash_key else ""
    return f"dynamodb:DescribeTable TableName={params.name}, expect ACTIVE{key}"


def expected_tables(ctx: CheckContext, params: DynamoDbTablesParams) -> list[str]:
    prefix, suffix = ctx.expand(params.prefix), ctx.expand(params.suffix)
    return [f"{prefix}{ctx.expand(n)}{suffix}" for n in params.names]


def run_dynamodb_tables(ctx: CheckContext, params: DynamoDbTablesParams) -> CheckResult:
    wanted = expected_tables(ctx, params)

    def body(probe: Probe) -> CheckResult:
        aws = probe.aws
        ddb = aws.client("dynamodb")

        def list_tables() -> list[str]:
            names: list[str] = []
            for page in ddb.get_paginator("list_tables").paginate():
                names.extend(page.get("TableNames", []))
            return names

        existing = aws.call("dynamodb:ListTables", list_tables)
        missing = [n for n in wanted if n not in set(existing)]
        probe.note("dynamodb:ListTables", {"TableNames": listed(existing), "expected": wanted, "missing": missing})
        if missing:
            return probe.failed(f"{len(wanted) - len(missing)} of {counted(len(wanted), 'table')}; missing: {', '.join(missing)}")
        return probe.passed(f"{counted(len(wanted), 'table')}: {', '.join(wanted)}")

    return guarded(ctx, DYNAMODB_TABLES, f"tables {', '.join(wanted)}", body)


def describe_dynamodb_tables(params: DynamoDbTablesParams) -> str:
    names = ", ".join(f"{params.prefix}{n}{params.suffix}" for n in params.names)
    return f"dynamodb:ListTables, expect {names}"


CHECK_TYPES: list[CheckType[Any]] = [
    CheckType(S3_BUCKET, S3BucketParams, run_s3_bucket, describe_s3_bucket,
              doc="A bucket exists in the right region; versioned when it holds Terraform state."),
    CheckType(S3_OBJECTS, S3ObjectsParams, run_s3_objects, describe_s3_objects,
              doc="Exactly N objects under a bucket prefix."),
    CheckType(DYNAMODB_TABLE, DynamoDbTableParams, run_dynamodb_table, describe_dynamodb_table,
              doc="A table exists, ACTIVE, with the given hash key (LockID for a Terraform lock table)."),
    CheckType(DYNAMODB_TABLES, DynamoDbTablesParams, run_dynamodb_tables, describe_dynamodb_tables,
              doc="Every expected table exists."),
]
