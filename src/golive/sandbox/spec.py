"""What the sandbox provisions for one environment, as plain frozen data.

The sandbox must not depend on the plan model: the plan is turned into a
``SandboxSpec`` (``from_plan`` lives with the plan), and everything here
(provisioning, traffic, the daemon) reads only this. ``to_dict``/``from_dict``
carry a spec to the detached daemon process as JSON.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Literal

AlarmState = Literal["OK", "ALARM", "INSUFFICIENT_DATA"]

GITHUB_OIDC_URL = "https://token.actions.githubusercontent.com"


@dataclass(frozen=True)
class VpcSpec:
    name: str
    cidr: str


@dataclass(frozen=True)
class RoleSpec:
    """An IAM role; with ``github_repos`` its trust policy federates GitHub's OIDC provider for those repos."""

    name: str
    github_repos: tuple[str, ...] = ()


@dataclass(frozen=True)
class ObjectSetSpec:
    prefix: str
    count: int


@dataclass(frozen=True)
class BucketSpec:
    name: str
    versioning: bool = False
    objects: tuple[ObjectSetSpec, ...] = ()


@dataclass(frozen=True)
class TableSpec:
    name: str
    hash_key: str = "id"


@dataclass(frozen=True)
class TrafficSpec:
    """The traffic model of one function (its stable behaviour; faults change a version's).

    ``daily_shape`` holds 24 multipliers of ``per_minute``, one per UTC hour;
    durations are log-normal with the given median and 95th percentile.
    """

    per_minute: float = 60.0
    daily_shape: tuple[float, ...] = (1.0,) * 24
    error_rate: float = 0.002
    duration_p50_ms: float = 120.0
    duration_p95_ms: float = 400.0
    throttles_per_minute: float = 0.0


@dataclass(frozen=True)
class FunctionSpec:
    name: str
    versions: int = 1
    alias: str = "live"
    runtime: str = "python3.12"
    project: str | None = None
    tags: tuple[tuple[str, str], ...] = ()
    traffic: TrafficSpec = field(default_factory=TrafficSpec)


@dataclass(frozen=True)
class AlarmSpec:
    name: str
    metric_name: str
    namespace: str = "AWS/SQS"
    dimensions: tuple[tuple[str, str], ...] = ()
    threshold: float = 1.0
    state: AlarmState = "OK"


@dataclass(frozen=True)
class CertificateSpec:
    """An ACM certificate for ``domain`` (plus SANs, e.g. a wildcard), ISSUED or PENDING_VALIDATION."""

    domain: str
    region: str = "us-east-1"
    alternative_names: tuple[str, ...] = ()
    issued: bool = True


@dataclass(frozen=True)
class RouteSpec:
    """One method of a REST API and the Lambda function its AWS_PROXY integration invokes.

    ``qualifier``: the alias (or version) in the integration's URI; None invokes the bare function (``$LATEST``).
    """

    path: str
    method: str
    function: str
    qualifier: str | None = None


@dataclass(frozen=True)
class ApiSpec:
    """A REST API with one stage on its first deployment, and the traffic its stage serves."""

    name: str
    stage: str = "prod"
    project: str | None = None
    routes: tuple[RouteSpec, ...] = ()
    traffic: TrafficSpec = field(default_factory=TrafficSpec)


@dataclass(frozen=True)
class SandboxSpec:
    """Everything one environment (one account, one region) holds in the sandbox."""

    environment: str
    account_id: str
    region: str
    profile: str | None = None
    vpcs: tuple[VpcSpec, ...] = ()
    github_oidc_provider: bool = False
    roles: tuple[RoleSpec, ...] = ()
    buckets: tuple[BucketSpec, ...] = ()
    tables: tuple[TableSpec, ...] = ()
    functions: tuple[FunctionSpec, ...] = ()
    alarms: tuple[AlarmSpec, ...] = ()
    hosted_zones: tuple[str, ...] = ()
    certificates: tuple[CertificateSpec, ...] = ()
    apis: tuple[ApiSpec, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> SandboxSpec:
        def pairs(items: Any) -> tuple[tuple[str, str], ...]:
            return tuple((str(k), str(v)) for k, v in items or ())

        def traffic(data: dict[str, Any]) -> TrafficSpec:
            return TrafficSpec(**{**data, "daily_shape": tuple(data.get("daily_shape", (1.0,) * 24))})

        return cls(
            environment=data["environment"],
            account_id=data["account_id"],
            region=data["region"],
            profile=data.get("profile"),
            vpcs=tuple(VpcSpec(**v) for v in data.get("vpcs", ())),
            github_oidc_provider=bool(data.get("github_oidc_provider", False)),
            roles=tuple(RoleSpec(r["name"], tuple(r.get("github_repos", ()))) for r in data.get("roles", ())),
            buckets=tuple(
                BucketSpec(b["name"], bool(b.get("versioning", False)),
                           tuple(ObjectSetSpec(**o) for o in b.get("objects", ())))
                for b in data.get("buckets", ())
            ),
            tables=tuple(TableSpec(**t) for t in data.get("tables", ())),
            functions=tuple(
                FunctionSpec(
                    name=f["name"], versions=int(f.get("versions", 1)), alias=f.get("alias", "live"),
                    runtime=f.get("runtime", "python3.12"), project=f.get("project"), tags=pairs(f.get("tags")),
                    traffic=traffic(f.get("traffic", {})),
                )
                for f in data.get("functions", ())
            ),
            alarms=tuple(
                AlarmSpec(a["name"], a["metric_name"], a.get("namespace", "AWS/SQS"), pairs(a.get("dimensions")),
                          float(a.get("threshold", 1.0)), a.get("state", "OK"))
                for a in data.get("alarms", ())
            ),
            hosted_zones=tuple(data.get("hosted_zones", ())),
            certificates=tuple(
                CertificateSpec(c["domain"], c.get("region", "us-east-1"), tuple(c.get("alternative_names", ())),
                                bool(c.get("issued", True)))
                for c in data.get("certificates", ())
            ),
            apis=tuple(
                ApiSpec(a["name"], a.get("stage", "prod"), a.get("project"),
                        tuple(RouteSpec(**r) for r in a.get("routes", ())), traffic(a.get("traffic", {})))
                for a in data.get("apis", ())
            ),
        )
