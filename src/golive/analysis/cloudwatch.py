"""AWS/Lambda metrics from CloudWatch, batched into as few GetMetricData calls as possible.

A soak checkpoint over 500 functions needs 2,000 series (invocations,
errors, throttles, p95 duration). A script asks for them one call each; this
source packs up to 500 queries into each ``GetMetricData`` call (the API's
limit) and follows ``NextToken``, so a checkpoint costs ⌈4N/500⌉ calls.

Lambda stamps a datapoint at invocation start and may deliver it minutes
later, so windows lag by a metric delay (the functions' timeout, say).
An AWS failure after retries comes back as ``Fetch.error``: the evaluation
turns it into measurements with outcome Error, and the caller (a canary)
fails safe.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from golive.analysis.metrics import Fetch, Series, SeriesRequest, floor_minute
from golive.clock import Clock
from golive.errors import AwsError, AwsRequestError
from golive.providers.aws import Aws

if TYPE_CHECKING:
    from mypy_boto3_cloudwatch.type_defs import GetMetricDataOutputTypeDef, MetricDataQueryTypeDef, MetricStatTypeDef

MAX_QUERIES_PER_CALL = 500


class CloudWatchLambdaSource:
    """A ``MetricSource`` over CloudWatch's AWS/Lambda namespace."""

    def __init__(self, aws: Aws, clock: Clock, *, delay: timedelta = timedelta(minutes=2),
                 max_queries: int = MAX_QUERIES_PER_CALL, region: str | None = None) -> None:
        if not 1 <= max_queries <= MAX_QUERIES_PER_CALL:
            raise ValueError(f"max_queries must be between 1 and {MAX_QUERIES_PER_CALL}")
        self.aws = aws
        self.clock = clock
        self.delay = delay
        self.max_queries = max_queries
        self.region = region
        self.calls = 0

    def window(self, length: timedelta) -> tuple[datetime, datetime]:
        end = floor_minute(self.clock.now() - self.delay)
        return end - length, end

    def fetch(self, requests: Sequence[SeriesRequest], start: datetime, end: datetime) -> Fetch:
        unique = list(dict.fromkeys(requests))
        ids = {f"q{number}": request for number, request in enumerate(unique)}
        queries = [_query(query_id, request) for query_id, request in ids.items()]
        evidence = tuple(_evidence(query, start, end) for query in queries)
        points: dict[str, dict[datetime, float]] = {query_id: {} for query_id in ids}
        calls = 0
        try:
            for offset in range(0, len(queries), self.max_queries):
                batch = queries[offset: offset + self.max_queries]
                token: str | None = None
                while True:
                    response = self._call(batch, start, end, token)
                    calls += 1
                    for result in response.get("MetricDataResults", []):
                        found = points[result["Id"]]
                        for stamp, value in zip(result.get("Timestamps", []), result.get("Values", []), strict=False):
                            found[stamp.astimezone(UTC)] = float(value)
                    token = response.get("NextToken")
                    if not token:
                        break
        except (AwsError, AwsRequestError) as exc:
            self.calls += calls
            return Fetch(queries=evidence, calls=calls, error=str(exc))
        self.calls += calls
        series = {
            request: Series(request, tuple(sorted(points[query_id].items())))
            for query_id, request in ids.items()
        }
        return Fetch(series=series, queries=evidence, calls=calls)

    def _call(self, batch: list[MetricDataQueryTypeDef], start: datetime, end: datetime,
              token: str | None) -> GetMetricDataOutputTypeDef:
        client = self.aws.client("cloudwatch", self.region)
        if token:
            return self.aws.call("cloudwatch:GetMetricData", lambda: client.get_metric_data(
                MetricDataQueries=batch, StartTime=start, EndTime=end, ScanBy="TimestampAscending", NextToken=token,
            ), region=self.region)
        return self.aws.call("cloudwatch:GetMetricData", lambda: client.get_metric_data(
            MetricDataQueries=batch, StartTime=start, EndTime=end, ScanBy="TimestampAscending",
        ), region=self.region)


def _query(query_id: str, request: SeriesRequest) -> MetricDataQueryTypeDef:
    stat: MetricStatTypeDef = {
        "Metric": {"Namespace": request.scope.namespace, "MetricName": request.cloudwatch_name,
                   "Dimensions": [{"Name": d["Name"], "Value": d["Value"]} for d in request.scope.dimensions()]},
        "Period": request.period,
        "Stat": request.stat,
    }
    return {"Id": query_id, "Label": request.label, "MetricStat": stat, "ReturnData": True}


def _evidence(query: MetricDataQueryTypeDef, start: datetime, end: datetime) -> dict[str, Any]:
    stat = query["MetricStat"]
    metric = stat["Metric"]
    return {
        "api": "cloudwatch:GetMetricData",
        "namespace": metric["Namespace"],
        "metric": metric["MetricName"],
        "dimensions": {d["Name"]: d["Value"] for d in metric["Dimensions"]},
        "stat": stat["Stat"],
        "period": stat["Period"],
        "start": start.isoformat(),
        "end": end.isoformat(),
    }
