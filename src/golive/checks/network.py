"""``vpc``: the network the release deploys into exists, with the address range the plan expects.

The runbook checks "VPC exists in af-south-1 (vpc-080991bf9615e8c65,
prod-vpc, 10.3.0.0/16)" by eye in ``aws ec2 describe-vpcs``. Here the VPC
is found by id, by its ``Name`` tag or by CIDR; when a CIDR is given with an
id or a name, the VPC found must also have that CIDR (a prod-vpc on
10.4.0.0/16 is the wrong network). When nothing matches, the evidence lists
the VPCs that do exist, which is usually the quickest way to see the mistake.
"""

from __future__ import annotations

import ipaddress
from typing import TYPE_CHECKING, Any

from pydantic import field_validator, model_validator

from golive.checks.base import CheckContext, CheckParams, CheckResult, CheckType, Status
from golive.checks.support import Probe, guarded, shorthand

if TYPE_CHECKING:
    from mypy_boto3_ec2.type_defs import FilterTypeDef, VpcTypeDef

NAME = "vpc"


class VpcParams(CheckParams):
    """``- vpc: {cidr: 10.3.0.0/16}``, ``{name: prod-vpc}``, ``{id: vpc-...}``, or several of them together."""

    id: str | None = None
    name: str | None = None
    cidr: str | None = None

    @model_validator(mode="before")
    @classmethod
    def _short(cls, data: Any) -> Any:
        if isinstance(data, str):
            return {"id": data} if data.startswith("vpc-") else {"name": data}
        return shorthand(data, "name")

    @field_validator("cidr")
    @classmethod
    def _cidr(cls, value: str | None) -> str | None:
        if value is None or "{" in value:  # a plan variable such as {vpc_cidr}, checked once expanded
            return value
        return normal_cidr(value)

    @model_validator(mode="after")
    def _something(self) -> VpcParams:
        if not (self.id or self.name or self.cidr):
            raise ValueError("vpc needs at least one of id, name, cidr")
        return self


def normal_cidr(value: str) -> str:
    try:
        return str(ipaddress.ip_network(value, strict=False))
    except ValueError as exc:
        raise ValueError(f"invalid CIDR '{value}'") from exc


def expanded(ctx: CheckContext, params: VpcParams) -> VpcParams:
    """``params`` with plan variables filled in; raises ValueError for a CIDR that is still not one."""
    values = {k: ctx.expand(v) for k, v in (("id", params.id), ("name", params.name), ("cidr", params.cidr)) if v}
    if "cidr" in values:
        values["cidr"] = normal_cidr(values["cidr"])
    return params.model_copy(update=values)


def _name_of(vpc: VpcTypeDef) -> str | None:
    return next((t.get("Value") for t in vpc.get("Tags", []) if t.get("Key") == "Name"), None)


def _cidrs_of(vpc: VpcTypeDef) -> list[str]:
    cidrs = [vpc.get("CidrBlock", "")]
    for assoc in vpc.get("CidrBlockAssociationSet", []):
        block = assoc.get("CidrBlock", "")
        if block and block not in cidrs and assoc.get("CidrBlockState", {}).get("State", "associated") == "associated":
            cidrs.append(block)
    return [c for c in cidrs if c]


def _summary(vpc: VpcTypeDef) -> dict[str, Any]:
    return {"VpcId": vpc.get("VpcId"), "Name": _name_of(vpc), "Cidrs": _cidrs_of(vpc), "State": vpc.get("State")}


def _label(vpc: VpcTypeDef) -> str:
    name = _name_of(vpc)
    return f"{vpc.get('VpcId')}{f' ({name})' if name else ''} {', '.join(_cidrs_of(vpc))}"


def _target(params: VpcParams) -> str:
    return " ".join(f"{k}={v}" for k, v in (("id", params.id), ("name", params.name), ("cidr", params.cidr)) if v)


def _query(params: VpcParams) -> tuple[list[str], list[FilterTypeDef], str]:
    if params.id:
        return [params.id], [], f"ec2:DescribeVpcs VpcIds=[{params.id}]"
    if params.name:
        return [], [{"Name": "tag:Name", "Values": [params.name]}], f"ec2:DescribeVpcs Filters=[tag:Name={params.name}]"
    cidr = params.cidr or ""
    return (
        [],
        [{"Name": "cidr-block-association.cidr-block", "Values": [cidr]}],
        f"ec2:DescribeVpcs Filters=[cidr={cidr}]",
    )


def run(ctx: CheckContext, raw: VpcParams) -> CheckResult:
    try:
        params = expanded(ctx, raw)
    except ValueError as exc:
        return Probe(ctx, NAME, f"vpc {_target(raw)}").result(Status.ERROR, str(exc))

    def body(probe: Probe) -> CheckResult:
        aws = probe.aws
        ec2 = aws.client("ec2")
        ids, filters, asked = _query(params)
        found = aws.call("ec2:DescribeVpcs", lambda: ec2.describe_vpcs(VpcIds=ids, Filters=filters)["Vpcs"])
        probe.note(asked, [_summary(v) for v in found])
        if params.name and params.id:
            found = [v for v in found if _name_of(v) == params.name]
        if not found:
            others = aws.call("ec2:DescribeVpcs", lambda: ec2.describe_vpcs()["Vpcs"])
            probe.note(f"ec2:DescribeVpcs (all, {aws.region})", [_summary(v) for v in others])
            return probe.failed(f"no VPC with {_target(params)} in {aws.region}")
        if params.cidr:
            wrong = [v for v in found if params.cidr not in _cidrs_of(v)]
            if wrong:
                return probe.failed(f"{_label(wrong[0])}: plan says {params.cidr}")
        return probe.passed("; ".join(_label(v) for v in found))

    return guarded(ctx, NAME, f"vpc {_target(params)}", body)


def describe(params: VpcParams) -> str:
    asked = _query(params)[2]
    extra = f", expect CIDR {params.cidr}" if params.cidr and (params.id or params.name) else ""
    return asked + extra


CHECK_TYPES: list[CheckType[Any]] = [
    CheckType(NAME, VpcParams, run, describe, doc="A VPC exists (by id, Name tag or CIDR) with the plan's CIDR."),
]
