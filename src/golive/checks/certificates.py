"""DNS and TLS checks: the hosted zone the release's names live in, and a certificate that covers them.

``route53_zone`` finds the public (or private) hosted zone for a domain.
``acm_certificate`` finds a certificate whose names cover the domain, by the
rules ACM and browsers use (``*.kimmyai.io`` covers ``api.kimmyai.io`` but
neither ``kimmyai.io`` nor ``a.b.kimmyai.io``), and requires it ISSUED: a
certificate still ``PENDING_VALIDATION`` is a failure that says so. For
``for: cloudfront`` the certificate must be in us-east-1, the only region
CloudFront reads: the runbook requests ``*.kimmyai.io`` in af-south-1, and
that certificate would be issued and still unusable, so it is a warning.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from pydantic import ConfigDict, Field, model_validator

from golive.checks.base import CheckContext, CheckParams, CheckResult, CheckType
from golive.checks.support import Probe, guarded

ROUTE53_ZONE = "route53_zone"
ACM_CERTIFICATE = "acm_certificate"
CLOUDFRONT_REGION = "us-east-1"


def normalise(domain: str) -> str:
    """Lower case, no trailing dot: how two DNS names are compared."""
    return domain.strip().rstrip(".").lower()


def covers(name: str, domain: str) -> bool:
    """True if a certificate name (``api.x.io`` or ``*.x.io``) covers ``domain``.

    A wildcard stands for exactly one label; a wildcard ``domain`` is covered only by the same wildcard.
    """
    name, domain = normalise(name), normalise(domain)
    if name == domain:
        return True
    if not name.startswith("*.") or domain.startswith("*."):
        return False
    label, _, rest = domain.partition(".")
    return bool(label) and rest == name[2:]


class Route53ZoneParams(CheckParams):
    """``- route53_zone: kimmyai.io`` or ``{domain: kimmyai.io, private: false}``."""

    domain: str
    private: bool | None = None

    @model_validator(mode="before")
    @classmethod
    def _short(cls, data: Any) -> Any:
        return {"domain": data} if isinstance(data, str) else data


def run_route53_zone(ctx: CheckContext, params: Route53ZoneParams) -> CheckResult:
    domain = normalise(ctx.expand(params.domain))

    def body(probe: Probe) -> CheckResult:
        aws = probe.aws
        r53 = aws.client("route53")
        zones = aws.call(
            "route53:ListHostedZonesByName",
            lambda: r53.list_hosted_zones_by_name(DNSName=f"{domain}.", MaxItems="100")["HostedZones"],
        )
        matching = [z for z in zones if normalise(z.get("Name", "")) == domain]
        if params.private is not None:
            matching = [z for z in matching if bool(z.get("Config", {}).get("PrivateZone")) == params.private]
        probe.note(
            f"route53:ListHostedZonesByName DNSName={domain}.",
            [{"Id": z.get("Id"), "Name": z.get("Name"), "Private": z.get("Config", {}).get("PrivateZone")} for z in zones[:10]],
        )
        kind = {True: "private ", False: "public ", None: ""}[params.private]
        if not matching:
            return probe.failed(f"no {kind}hosted zone for {domain}")
        ids = ", ".join(str(z.get("Id", "")).rsplit("/", 1)[-1] for z in matching)
        if len(matching) > 1:
            return probe.warned(f"{len(matching)} {kind}hosted zones for {domain} ({ids}): which one is delegated?")
        return probe.passed(f"{kind}hosted zone {domain} ({ids})")

    return guarded(ctx, ROUTE53_ZONE, f"zone {domain}", body)


def describe_route53_zone(params: Route53ZoneParams) -> str:
    return f"route53:ListHostedZonesByName DNSName={normalise(params.domain)}., expect a zone of that name"


class AcmCertificateParams(CheckParams):
    """``- acm_certificate: {domain: "*.kimmyai.io", for: cloudfront}`` (``region``: default the environment's).

    With ``for: cloudfront`` and no region, us-east-1 is searched, then the environment's region
    (a certificate found only there is the runbook's mistake: a warning).
    """

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    domain: str
    region: str | None = None
    for_: Literal["cloudfront", "regional"] | None = Field(default=None, alias="for")

    @model_validator(mode="before")
    @classmethod
    def _short(cls, data: Any) -> Any:
        return {"domain": data} if isinstance(data, str) else data


@dataclass(frozen=True)
class Certificate:
    arn: str
    region: str
    names: tuple[str, ...]
    status: str
    not_after: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"CertificateArn": self.arn, "Region": self.region, "Names": list(self.names), "Status": self.status,
                "NotAfter": self.not_after}


def _certificates(probe: Probe, region: str, domain: str) -> list[Certificate]:
    """Certificates in ``region`` whose names cover ``domain``."""
    aws = probe.aws
    acm = aws.client("acm", region)

    def list_and_describe() -> list[Certificate]:
        found: list[Certificate] = []
        for page in acm.get_paginator("list_certificates").paginate():
            for summary in page.get("CertificateSummaryList", []):
                arn = summary.get("CertificateArn", "")
                cert = acm.describe_certificate(CertificateArn=arn)["Certificate"]
                names = (cert.get("DomainName", ""), *cert.get("SubjectAlternativeNames", []))
                if any(covers(n, domain) for n in names):
                    after = cert.get("NotAfter")
                    found.append(Certificate(arn, region, tuple(dict.fromkeys(names)), str(cert.get("Status", "?")),
                                             after.isoformat() if after else None))
        return found

    certs = aws.call("acm:ListCertificates", list_and_describe, region=region)
    probe.note(f"acm:ListCertificates + DescribeCertificate in {region}, covering {domain}", [c.to_dict() for c in certs])
    return certs


def _best(certs: list[Certificate]) -> Certificate | None:
    issued = [c for c in certs if c.status == "ISSUED"]
    ordered = issued or certs
    return ordered[0] if ordered else None


def run_acm_certificate(ctx: CheckContext, params: AcmCertificateParams) -> CheckResult:
    domain = normalise(ctx.expand(params.domain))
    for_cloudfront = params.for_ == "cloudfront"

    def body(probe: Probe) -> CheckResult:
        env_region = probe.aws.region
        if params.region:
            regions = [ctx.expand(params.region)]
        else:
            regions = [CLOUDFRONT_REGION, env_region] if for_cloudfront else [env_region]
        candidates: list[Certificate] = []
        for region in dict.fromkeys(regions):
            best = _best(_certificates(probe, region, domain))
            if best is not None:
                candidates.append(best)
                if best.status == "ISSUED":
                    break
        cert = _best(candidates)
        if cert is None:
            return probe.failed(f"no certificate covering {domain} in {' or '.join(dict.fromkeys(regions))}")
        where = f"{cert.arn} ({', '.join(cert.names)}) in {cert.region}"
        if cert.status == "PENDING_VALIDATION":
            return probe.failed(f"certificate {where} is PENDING_VALIDATION: its DNS validation record is not in place yet")
        if cert.status != "ISSUED":
            return probe.failed(f"certificate {where} is {cert.status}, not ISSUED")
        if for_cloudfront and cert.region != CLOUDFRONT_REGION:
            return probe.warned(
                f"certificate {where} is ISSUED, but CloudFront only uses certificates in {CLOUDFRONT_REGION}: "
                f"request it there"
            )
        return probe.passed(f"certificate {where} ISSUED")

    return guarded(ctx, ACM_CERTIFICATE, f"certificate {domain}", body)


def describe_acm_certificate(params: AcmCertificateParams) -> str:
    where = params.region or (f"{CLOUDFRONT_REGION} (CloudFront)" if params.for_ == "cloudfront" else "the environment's region")
    return f"acm:ListCertificates + DescribeCertificate in {where}, expect ISSUED covering {normalise(params.domain)}"


CHECK_TYPES: list[CheckType[Any]] = [
    CheckType(ROUTE53_ZONE, Route53ZoneParams, run_route53_zone, describe_route53_zone,
              doc="A hosted zone for the domain exists."),
    CheckType(ACM_CERTIFICATE, AcmCertificateParams, run_acm_certificate, describe_acm_certificate,
              doc="An ISSUED certificate covers the domain, in us-east-1 when it is for CloudFront."),
]
