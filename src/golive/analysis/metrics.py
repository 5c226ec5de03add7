"""Named metrics: what ``error_rate`` or ``p95_duration`` means, in CloudWatch terms.

The plan's ``metrics:`` section gives each name a small expression over the
AWS/Lambda metrics (``error_rate: {lambda: errors / invocations}``,
``p95_duration: {lambda: p95(duration)}``). Criteria refer to these names,
and metric sources turn a definition into queries. The expression set is
deliberately tiny: ``sum(X)``, ``avg(X)``, ``max(X)``, ``pNN(X)`` and
``X / Y`` (a ratio of sums, which is how an error rate must be computed:
``Sum(Errors)/Sum(Invocations)``, never an average of per-minute rates).

Values are in base units: Lambda reports ``Duration`` in milliseconds, a
definition over ``duration`` yields seconds, so ``p95_duration < 2s`` means
what it says.

Where the numbers come from is a ``MetricSource``: it is asked for raw
series (one Lambda metric, one statistic, one scope, one period) over a
window, all at once, so a source can batch them (CloudWatch first, see
``golive.analysis.cloudwatch``; tests and benchmarks pass their own). A
source that cannot answer says so in ``Fetch.error`` instead of raising:
a failed metric API is a measurement with outcome Error, not a crash.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any, Literal, Protocol

from golive.analysis.criteria import Criterion, Kind, Unit

LAMBDA_NAMESPACE = "AWS/Lambda"
APIGATEWAY_NAMESPACE = "AWS/ApiGateway"
CANARY_STAGE_SUFFIX = "/Canary"  # an API Gateway stage's canary requests: Stage=prod/Canary (routers/apigw_stage)
CLOUDFRONT_NAMESPACE = "AWS/CloudFront"

# golive's name for an AWS/Lambda metric -> (CloudWatch name, factor to base units)
LAMBDA_METRICS: dict[str, tuple[str, float]] = {
    "invocations": ("Invocations", 1.0),
    "errors": ("Errors", 1.0),
    "throttles": ("Throttles", 1.0),
    "duration": ("Duration", 0.001),
    "concurrent_executions": ("ConcurrentExecutions", 1.0),
}


# The same golive names for a CloudFront distribution's viewer requests (``golive.analysis.cloudfront_metrics``):
# CloudFront reports error *rates* in percent, so a source turns them into counts (requests x rate / 100).
CLOUDFRONT_METRICS: dict[str, tuple[str, float]] = {
    "invocations": ("Requests", 1.0),
    "errors": ("5xxErrorRate", 1.0),
    "client_errors": ("4xxErrorRate", 1.0),
    # An additional metric (reported only once the distribution's additional metrics are turned on, at a cost):
    # the origin's latency in milliseconds; a source that finds none says there is no datapoint.
    "duration": ("OriginLatency", 0.001),
}


class Aggregation(StrEnum):
    SUM = "sum"
    AVG = "avg"
    MAX = "max"
    PERCENTILE = "percentile"
    RATIO = "ratio"


@dataclass(frozen=True)
class MetricDef:
    """One named metric: an aggregation over one AWS/Lambda metric, or a ratio of two sums."""

    name: str
    text: str
    aggregation: Aggregation
    metric: str
    denominator: str | None = None
    percentile: float | None = None

    @property
    def cloudwatch_name(self) -> str:
        return LAMBDA_METRICS[self.metric][0]

    @property
    def denominator_cloudwatch_name(self) -> str | None:
        return LAMBDA_METRICS[self.denominator][0] if self.denominator else None

    @property
    def scale(self) -> float:
        """Factor from CloudWatch's unit to golive's base unit (ms -> s for durations)."""
        return 1.0 if self.aggregation is Aggregation.RATIO else LAMBDA_METRICS[self.metric][1]

    @property
    def stat(self) -> str:
        """The CloudWatch statistic of the numerator: ``Sum``, ``Average``, ``Maximum``, ``p95``."""
        if self.aggregation is Aggregation.PERCENTILE:
            return f"p{self.percentile:g}"
        return {Aggregation.AVG: "Average", Aggregation.MAX: "Maximum"}.get(self.aggregation, "Sum")

    @property
    def unit(self) -> Unit:
        if self.aggregation is Aggregation.RATIO:
            return Unit.FRACTION
        if self.metric == "duration":
            return Unit.SECONDS
        return Unit.NUMBER

    @property
    def lambda_metrics(self) -> tuple[str, ...]:
        """The golive names of the Lambda metrics this definition reads."""
        return (self.metric, self.denominator) if self.denominator else (self.metric,)

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "text": self.text, "aggregation": self.aggregation.value, "metric": self.metric,
                "denominator": self.denominator, "percentile": self.percentile, "stat": self.stat}


# golive's name -> the AWS/ApiGateway metric a REST API stage reports for it (requests, 5xx, latency in ms),
# so the triggers and the judge read an API Gateway canary with the Lambda names they know.
APIGATEWAY_METRICS: dict[str, tuple[str, float]] = {
    "invocations": ("Count", 1.0),
    "errors": ("5XXError", 1.0),
    "duration": ("Latency", 0.001),
}

Service = Literal["lambda", "apigateway", "cloudfront"]

_KNOWN = ", ".join(LAMBDA_METRICS)
_CALL = re.compile(r"(sum|avg|max|p(\d+(?:\.\d+)?))\(\s*([A-Za-z_]+)\s*\)")
_SUMMED = re.compile(r"(?:sum\(\s*([A-Za-z_]+)\s*\)|([A-Za-z_]+))")


def _lambda_metric(name: str, text: str) -> str:
    if name not in LAMBDA_METRICS:
        raise ValueError(f"'{text}': unknown Lambda metric '{name}' (known: {_KNOWN})")
    return name


def parse_metric_def(text: str, name: str = "") -> MetricDef:
    """Parse ``sum(X)``, ``avg(X)``, ``max(X)``, ``pNN(X)`` or ``X / Y``; ``ValueError`` with a short message otherwise."""
    if not isinstance(text, str):
        raise ValueError(f"a metric definition is a string such as 'errors / invocations', got {type(text).__name__}")
    source = " ".join(text.split())
    if not source:
        raise ValueError("empty metric definition: expected sum(X), avg(X), max(X), pNN(X) or X / Y")
    if "/" in source:
        parts = [part.strip() for part in source.split("/")]
        if len(parts) != 2 or not all(parts):
            raise ValueError(f"'{source}': a ratio is 'X / Y', e.g. 'errors / invocations'")
        names: list[str] = []
        for part in parts:
            match = _SUMMED.fullmatch(part)
            if match is None:
                raise ValueError(f"'{source}': each side of a ratio is a metric or sum(metric), not '{part}'")
            names.append(_lambda_metric(match.group(1) or match.group(2), source))
        return MetricDef(name=name, text=source, aggregation=Aggregation.RATIO, metric=names[0], denominator=names[1])
    match = _CALL.fullmatch(source)
    if match is None:
        if source in LAMBDA_METRICS:
            raise ValueError(f"'{source}': say how to aggregate it: sum({source}), avg({source}), max({source}) or p95({source})")
        raise ValueError(f"'{source}': expected sum(X), avg(X), max(X), pNN(X) or X / Y with X one of {_KNOWN}")
    function, percentile, metric = match.group(1), match.group(2), _lambda_metric(match.group(3), source)
    if percentile is not None:
        value = float(percentile)
        if not 0 < value <= 100:
            raise ValueError(f"'{source}': a percentile is between p0 and p100 (exclusive of 0)")
        return MetricDef(name=name, text=source, aggregation=Aggregation.PERCENTILE, metric=metric, percentile=value)
    return MetricDef(name=name, text=source, aggregation=Aggregation(function), metric=metric)


DEFAULT_METRICS: dict[str, MetricDef] = {
    name: parse_metric_def(text, name)
    for name, text in {
        "error_rate": "errors / invocations",
        "throttle_rate": "throttles / invocations",
        "p50_duration": "p50(duration)",
        "p95_duration": "p95(duration)",
        "p99_duration": "p99(duration)",
        "avg_duration": "avg(duration)",
        "max_duration": "max(duration)",
        "invocations": "sum(invocations)",
        "errors": "sum(errors)",
        "throttles": "sum(throttles)",
    }.items()
}
"""Metrics every plan may use without defining them; the plan's ``metrics:`` section adds to or overrides these."""


def resolve_metric(criterion: Criterion, metrics: Mapping[str, MetricDef]) -> MetricDef:
    """The definition a criterion refers to, checking its threshold is written in the metric's unit.

    ``ValueError`` for an unknown name, or ``error_rate < 0.5`` (a fraction written as a bare number),
    ``p95_duration < 2`` (a duration without its unit), ``throttles < 5%``.
    """
    definition = metrics.get(criterion.metric)
    if definition is None:
        known = ", ".join(sorted(metrics))
        raise ValueError(f"'{criterion.text}': unknown metric '{criterion.metric}' (known: {known}; define it under metrics:)")
    if criterion.kind is Kind.RELATIVE or criterion.unit is definition.unit:
        return definition
    if criterion.unit is Unit.NUMBER and criterion.threshold == 0:
        return definition
    wanted = {Unit.FRACTION: "a percentage such as 0.1%", Unit.SECONDS: "a duration such as 2s or 500ms",
              Unit.NUMBER: "a plain number such as 0"}[definition.unit]
    raise ValueError(f"'{criterion.text}': {criterion.metric} ({definition.text}) is compared with {wanted}")


@dataclass(frozen=True, order=True)
class Scope:
    """Whose metrics: a function, optionally through an alias, optionally one executed version behind it.

    These are AWS/Lambda's three dimension sets: ``FunctionName``; ``FunctionName`` + ``Resource``
    (``function:alias``); ``FunctionName`` + ``Resource`` + ``ExecutedVersion`` (how a canary
    version is told apart from the stable one behind a weighted alias).

    With ``service="apigateway"`` the scope is a REST API stage (``Scope.stage``): ``function`` is the API's
    name (``ApiName``), ``alias`` the stage, and ``version`` ``Canary`` for the requests the stage's canary
    served (``Stage=prod/Canary``) or None for the stage's own (``Stage=prod``).

    With ``service="cloudfront"`` the scope is a CloudFront distribution (``function`` holds its id, ``role``
    says ``staging`` or ``primary``): AWS/CloudFront's one dimension set, ``Region=Global`` +
    ``DistributionId``.
    """

    function: str
    alias: str | None = None
    version: str | None = None
    service: Service = "lambda"
    role: str | None = None

    def __post_init__(self) -> None:
        if self.service == "apigateway":
            if self.alias is None or self.version not in (None, CANARY_STAGE_SUFFIX.strip("/")):
                raise ValueError("an API Gateway scope is an API's stage, or its canary (version 'Canary')")
            return
        if self.service == "cloudfront":
            if self.alias is not None or self.version is not None:
                raise ValueError("a CloudFront scope is a distribution: no alias, no version")
            return
        if self.version is not None and self.alias is None:
            raise ValueError("a version scope needs the alias it runs behind (Lambda publishes ExecutedVersion per Resource)")

    @classmethod
    def stage(cls, api_name: str, stage: str, *, canary: bool) -> Scope:
        """A REST API stage's own requests, or (``canary``) its canary's."""
        return cls(api_name, stage, CANARY_STAGE_SUFFIX.strip("/") if canary else None, service="apigateway")

    @classmethod
    def distribution(cls, distribution_id: str, role: str | None = None) -> Scope:
        """A CloudFront distribution's scope (``role``: ``staging`` or ``primary``, shown in its label)."""
        return cls(distribution_id, service="cloudfront", role=role)

    @property
    def namespace(self) -> str:
        return {"apigateway": APIGATEWAY_NAMESPACE, "cloudfront": CLOUDFRONT_NAMESPACE}.get(self.service, LAMBDA_NAMESPACE)

    @property
    def label(self) -> str:
        """``fn``, ``fn:live`` or ``fn:live@7``; an API stage ``api/prod`` or ``api/prod/Canary``; ``staging
        distribution E2AB`` for CloudFront."""
        if self.service == "apigateway":
            return f"{self.function}/{self._stage}"
        if self.service == "cloudfront":
            return f"{self.role} distribution {self.function}" if self.role else f"distribution {self.function}"
        text = self.function
        if self.alias is not None:
            text += f":{self.alias}"
        if self.version is not None:
            text += f"@{self.version}"
        return text

    @property
    def _stage(self) -> str:
        return f"{self.alias}{CANARY_STAGE_SUFFIX if self.version else ''}"

    def cloudwatch_name(self, metric: str) -> str:
        """The CloudWatch name of golive's ``metric`` for this scope (``errors``: Errors, or 5XXError)."""
        table = {"apigateway": APIGATEWAY_METRICS, "cloudfront": CLOUDFRONT_METRICS}.get(self.service, LAMBDA_METRICS)
        return table[metric][0]

    def dimensions(self) -> list[dict[str, str]]:
        if self.service == "apigateway":
            return [{"Name": "ApiName", "Value": self.function}, {"Name": "Stage", "Value": self._stage}]
        if self.service == "cloudfront":
            return [{"Name": "Region", "Value": "Global"}, {"Name": "DistributionId", "Value": self.function}]
        dims = [{"Name": "FunctionName", "Value": self.function}]
        if self.alias is not None:
            dims.append({"Name": "Resource", "Value": f"{self.function}:{self.alias}"})
        if self.version is not None:
            dims.append({"Name": "ExecutedVersion", "Value": self.version})
        return dims

    def __str__(self) -> str:
        return self.label


@dataclass(frozen=True, order=True)
class SeriesRequest:
    """One raw series to fetch: a Lambda metric (golive's name), a CloudWatch statistic, a scope, a period."""

    scope: Scope
    metric: str
    stat: str
    period: int = 60

    def __post_init__(self) -> None:
        if self.scope.service == "apigateway":
            if self.metric not in APIGATEWAY_METRICS:
                raise ValueError(f"no API Gateway metric for '{self.metric}' (known: {', '.join(APIGATEWAY_METRICS)})")
        elif self.scope.service == "cloudfront":
            if self.metric not in CLOUDFRONT_METRICS:
                raise ValueError(f"no CloudFront metric for '{self.metric}' (known: {', '.join(CLOUDFRONT_METRICS)})")
        elif self.metric not in LAMBDA_METRICS:
            raise ValueError(f"unknown Lambda metric '{self.metric}' (known: {_KNOWN})")
        if self.period < 60 or self.period % 60:
            raise ValueError(f"a period is a positive multiple of 60 seconds, not {self.period}")

    @property
    def cloudwatch_name(self) -> str:
        return self.scope.cloudwatch_name(self.metric)

    @property
    def label(self) -> str:
        return f"{self.scope.label} {self.cloudwatch_name} {self.stat}/{self.period}s"


@dataclass(frozen=True)
class Series:
    """Datapoints of one request in CloudWatch's own unit, oldest first; a missing period has no point."""

    request: SeriesRequest
    points: tuple[tuple[datetime, float], ...] = ()

    def values(self) -> dict[datetime, float]:
        return dict(self.points)

    @property
    def total(self) -> float:
        return sum(value for _, value in self.points)


@dataclass(frozen=True)
class Fetch:
    """What a source answered: the series it found, the queries it sent (evidence), and any failure."""

    series: dict[SeriesRequest, Series] = field(default_factory=dict)
    queries: tuple[dict[str, Any], ...] = ()
    calls: int = 0
    error: str | None = None

    def get(self, request: SeriesRequest) -> Series:
        return self.series.get(request) or Series(request)


class MetricSource(Protocol):
    """Where metric values come from (CloudWatch; a fake in tests; a simulator in benchmarks)."""

    def fetch(self, requests: Sequence[SeriesRequest], start: datetime, end: datetime) -> Fetch:
        """Every requested series over [start, end), as few API calls as possible; failures in ``error``."""
        ...

    def window(self, length: timedelta) -> tuple[datetime, datetime]:
        """The latest complete window of ``length`` that the metric delay allows, aligned to the minute."""
        ...


def floor_minute(when: datetime) -> datetime:
    return when.astimezone(UTC).replace(second=0, microsecond=0)
