"""A CloudFront distribution's requests and errors, as the canary judge counts them.

The judge compares calls and failed calls, minute by minute, of a canary and its stable variant. CloudFront
publishes ``Requests`` (Sum) and the error *rates* ``5xxErrorRate`` / ``4xxErrorRate`` (Average, in percent),
in us-east-1 only, under ``AWS/CloudFront`` with the dimensions ``Region=Global`` and ``DistributionId``
(Amazon CloudFront Developer Guide, "Types of metrics for CloudFront"). This source answers the judge's
``invocations`` / ``errors`` / ``client_errors`` Sum requests on a distribution's scope by reading those series
through CloudWatch (``CloudWatchLambdaSource``'s batching, in us-east-1) and turning each minute's rate into a
count: errors = requests x rate / 100. A rate without a request count in the same minute counts nothing.
Any other request (``Requests``, a rate as an ``Average``, ``OriginLatency`` percentiles, an additional
metric) is passed through as CloudWatch answers it.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from golive.analysis.cloudwatch import CloudWatchLambdaSource
from golive.analysis.metrics import Fetch, Series, SeriesRequest
from golive.clock import Clock
from golive.providers.aws import Aws

CLOUDFRONT_METRICS_REGION = "us-east-1"  # "To get CloudFront metrics from the CloudWatch API, you must use us-east-1"


class CloudFrontSource:
    """A ``MetricSource`` over two (or more) distributions' AWS/CloudFront metrics."""

    def __init__(self, aws: Aws, clock: Clock, *, delay: timedelta = timedelta(minutes=1)) -> None:
        self.raw = CloudWatchLambdaSource(aws, clock, delay=delay, region=CLOUDFRONT_METRICS_REGION)

    @property
    def calls(self) -> int:
        return self.raw.calls

    def window(self, length: timedelta) -> tuple[datetime, datetime]:
        return self.raw.window(length)

    def fetch(self, requests: Sequence[SeriesRequest], start: datetime, end: datetime) -> Fetch:
        raw: list[SeriesRequest] = []
        for request in requests:
            if request.scope.service != "cloudfront":
                return Fetch(error=f"{request.label}: not a CloudFront distribution's metric")
            if _derived(request):
                raw += [SeriesRequest(request.scope, "invocations", "Sum", request.period),
                        SeriesRequest(request.scope, request.metric, "Average", request.period)]
            else:
                raw.append(request)
        fetched = self.raw.fetch(raw, start, end)
        if fetched.error:
            return fetched
        series: dict[SeriesRequest, Series] = {}
        for request in dict.fromkeys(requests):
            if not _derived(request):
                series[request] = Series(request, fetched.get(request).points)
                continue
            counts = fetched.get(SeriesRequest(request.scope, "invocations", "Sum", request.period)).values()
            rates = fetched.get(SeriesRequest(request.scope, request.metric, "Average", request.period)).points
            series[request] = Series(request, tuple((minute, counts[minute] * rate / 100.0)
                                                    for minute, rate in rates if minute in counts))
        return Fetch(series=series, queries=fetched.queries, calls=fetched.calls)


def _derived(request: SeriesRequest) -> bool:
    """A count CloudFront reports as a rate: errors (5xx) or client errors (4xx), asked as a Sum."""
    return request.metric in ("errors", "client_errors") and request.stat == "Sum"
