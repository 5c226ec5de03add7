"""CloudWatchLambdaSource and criterion evaluation against a real moto server over HTTP.

The percentile path (``Stat: "p95"``) needs the sandbox's percentile extension of moto's
CloudWatch backend; it runs in this process (the moto server is threaded), so it is installed
here when available, and the p95 tests are skipped without it.
"""

from __future__ import annotations

import socket
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from golive.analysis.cloudwatch import CloudWatchLambdaSource
from golive.analysis.criteria import parse_criterion
from golive.analysis.evaluate import CriterionSpec, evaluate
from golive.analysis.measurement import MeasurementOutcome
from golive.analysis.metrics import DEFAULT_METRICS, Scope, SeriesRequest
from golive.clock import VirtualClock
from golive.providers.aws import Aws, AwsTarget

try:
    from golive.sandbox import percentiles
except ImportError:  # pragma: no cover - the sandbox module is built alongside
    percentiles = None  # type: ignore[assignment]

def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


T0 = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)
REGION = "eu-west-1"


@pytest.fixture
def cw(moto_reset: str) -> Iterator[tuple[Aws, str]]:
    if percentiles is not None:
        percentiles.install()
    yield Aws(AwsTarget(region=REGION, endpoint_url=moto_reset)), moto_reset


def spec(text: str, *, trigger: bool = False, aggregate: bool = False) -> CriterionSpec:
    criterion = parse_criterion(text)
    return CriterionSpec(criterion, DEFAULT_METRICS[criterion.metric], trigger=trigger, aggregate=aggregate)


def put(aws: Aws, scope: Scope, minute: int, **metrics: Any) -> None:
    """Write one minute of AWS/Lambda metrics as Lambda does: only non-zero values."""
    data: list[Any] = []
    when = T0 + timedelta(minutes=minute)
    for name in ("Invocations", "Errors", "Throttles"):
        value = metrics.get(name.lower(), 0)
        if value:
            data.append({"MetricName": name, "Dimensions": scope.dimensions(), "Timestamp": when,
                         "Value": float(value), "Unit": "Count"})
    durations: dict[float, float] | None = metrics.get("durations")
    if durations:
        data.append({"MetricName": "Duration", "Dimensions": scope.dimensions(), "Timestamp": when,
                     "Values": list(durations), "Counts": list(durations.values()), "Unit": "Milliseconds"})
    if data:
        client = aws.client("cloudwatch")
        client.put_metric_data(Namespace="AWS/Lambda", MetricData=data)


def source(aws: Aws, minutes: int = 10) -> CloudWatchLambdaSource:
    return CloudWatchLambdaSource(aws, VirtualClock(T0 + timedelta(minutes=minutes, seconds=150)),
                                  delay=timedelta(minutes=2))


def test_window_lags_by_the_metric_delay(cw: tuple[Aws, str]) -> None:
    start, end = source(cw[0], minutes=10).window(timedelta(minutes=10))
    assert (start, end) == (T0 + timedelta(seconds=0), T0 + timedelta(minutes=10))


def test_error_rate_per_function_names_the_worst(cw: tuple[Aws, str]) -> None:
    aws, _ = cw
    quiet, noisy, idle = Scope("api-orders"), Scope("api-products"), Scope("api-idle")
    for minute in range(10):
        put(aws, quiet, minute, invocations=600, errors=1 if minute % 2 else 0)
        put(aws, noisy, minute, invocations=600, errors=12)
    src = source(aws)
    start, end = src.window(timedelta(minutes=10))
    [result] = evaluate([spec("error_rate < 0.1%")], src, [quiet, noisy, idle], start, end)

    by_scope = {m.scope: m for m in result.per_scope}
    # the minutes without an Errors datapoint count as zero errors, not as missing data
    assert by_scope["api-orders"].value == pytest.approx(5 / 6000)
    assert by_scope["api-orders"].outcome is MeasurementOutcome.SUCCESSFUL
    assert by_scope["api-orders"].raw["errors"] == 5 and by_scope["api-orders"].raw["invocations"] == 6000
    assert by_scope["api-products"].value == pytest.approx(0.02)
    assert by_scope["api-products"].outcome is MeasurementOutcome.FAILED
    assert by_scope["api-idle"].outcome is MeasurementOutcome.INCONCLUSIVE
    assert "no invocations" in by_scope["api-idle"].message
    assert result.outcome is MeasurementOutcome.FAILED
    assert result.overall.raw["worst"] == "api-products"
    assert "api-products" in result.overall.message and "2%" in result.overall.message
    assert {q["metric"] for q in by_scope["api-products"].query} == {"Invocations", "Errors"}
    assert src.calls == 1


def test_aggregate_hides_what_per_function_catches(cw: tuple[Aws, str]) -> None:
    aws, _ = cw
    scopes = [Scope(f"fn-{i}") for i in range(5)]
    for minute in range(10):
        for i, scope in enumerate(scopes):
            put(aws, scope, minute, invocations=1000, errors=6 if i == 0 else 0)
    src = source(aws)
    start, end = src.window(timedelta(minutes=10))
    per_fn, aggregate = evaluate([spec("error_rate < 0.5%"), spec("error_rate < 0.5%", aggregate=True)],
                                 src, scopes, start, end)
    assert per_fn.outcome is MeasurementOutcome.FAILED and per_fn.overall.raw["worst"] == "fn-0"
    assert aggregate.outcome is MeasurementOutcome.SUCCESSFUL
    assert aggregate.overall.value == pytest.approx(60 / 50000)
    assert src.calls == 1


def test_throttles_and_immediate_trigger(cw: tuple[Aws, str]) -> None:
    aws, _ = cw
    a, b = Scope("fn-a"), Scope("fn-b")
    for minute in range(5):
        put(aws, a, minute, invocations=100)
        put(aws, b, minute, invocations=100, errors=8, throttles=2 if minute == 3 else 0)
    src = source(aws, minutes=5)
    start, end = src.window(timedelta(minutes=5))
    throttles, trigger = evaluate([spec("throttles == 0"), spec("error_rate > 5% immediately", trigger=True)],
                                  src, [a, b], start, end)
    assert {m.scope: m.value for m in throttles.per_scope} == {"fn-a": 0.0, "fn-b": 2.0}
    assert throttles.outcome is MeasurementOutcome.FAILED and throttles.overall.raw["worst"] == "fn-b"
    assert {m.scope: m.outcome for m in trigger.per_scope} == {"fn-a": MeasurementOutcome.SUCCESSFUL,
                                                                  "fn-b": MeasurementOutcome.FAILED}
    assert "fires" in trigger.overall.message


def test_queries_are_batched_500_a_call(cw: tuple[Aws, str]) -> None:
    aws, _ = cw
    scopes = [Scope(f"fn-{i:03d}") for i in range(130)]
    put(aws, scopes[-1], 1, invocations=10, errors=1)
    src = source(aws)
    start, end = src.window(timedelta(minutes=10))
    specs = [spec("error_rate < 0.1%"), spec("throttles == 0")]
    results = evaluate(specs, src, scopes, start, end)
    # 130 functions x (invocations, errors, throttles) = 390 queries: one call
    assert src.calls == 1
    assert results[0].overall.raw["worst"] == "fn-129"
    fetch = src.fetch([SeriesRequest(s, m, "Sum") for s in scopes for m in ("invocations", "errors", "throttles", "duration")],
                      start, end)
    assert fetch.calls == 2 and fetch.error is None and len(fetch.queries) == 520


def test_aws_unreachable_is_an_error_measurement(cw: tuple[Aws, str]) -> None:
    dead = Aws(AwsTarget(region=REGION, endpoint_url=f"http://127.0.0.1:{free_port()}"), max_attempts=1, connect_timeout=0.5)
    src = CloudWatchLambdaSource(dead, VirtualClock(T0 + timedelta(minutes=12)))
    start, end = src.window(timedelta(minutes=10))
    [result] = evaluate([spec("error_rate > 5% immediately", trigger=True)], src, [Scope("fn-a")], start, end)
    assert result.outcome is MeasurementOutcome.ERROR
    assert "cloudwatch:GetMetricData" in result.overall.message and "no answer" in result.overall.message
    assert result.overall.to_dict()["outcome"] == "Error"


needs_percentiles = pytest.mark.skipif(percentiles is None, reason="golive.sandbox.percentiles not available")


@needs_percentiles
def test_canary_version_p95_relative_to_stable(cw: tuple[Aws, str]) -> None:
    aws, _ = cw
    stable, canary = Scope("fn-a", "live", "6"), Scope("fn-a", "live", "7")
    for minute in range(10):
        put(aws, stable, minute, invocations=540, durations={100.0: 500, 1000.0: 40})
        put(aws, canary, minute, invocations=60, durations={150.0: 50, 1500.0: 10})
    src = source(aws)
    start, end = src.window(timedelta(minutes=10))
    [relative] = evaluate([spec("p95_duration <= +10%")], src, [canary], start, end, compare_to={canary: stable})
    assert relative.overall.baseline == pytest.approx(1.0)  # stable p95: 1000 ms
    assert relative.overall.value == pytest.approx(1.5)
    assert relative.outcome is MeasurementOutcome.FAILED
    assert relative.overall.threshold == pytest.approx(1.1)
    assert {q["stat"] for q in relative.overall.query} >= {"p95"}
    assert relative.overall.query[0]["dimensions"]["ExecutedVersion"] == "7"


@needs_percentiles
def test_sustained_trigger_ignores_a_blip(cw: tuple[Aws, str]) -> None:
    aws, _ = cw
    blip, sustained = Scope("fn-blip"), Scope("fn-slow")
    for minute in range(20):
        slow = {6000.0: 60} if 5 <= minute < 8 else {200.0: 60}
        put(aws, blip, minute, invocations=60, durations=slow)
        put(aws, sustained, minute, invocations=60, durations={200.0: 60} if minute < 4 else {6000.0: 60})
    src = source(aws, minutes=20)
    start, end = src.window(timedelta(minutes=20))
    [result] = evaluate([spec("p95_duration > 5s for 15m", trigger=True)], src, [blip, sustained], start, end)
    outcomes = {m.scope: m.outcome for m in result.per_scope}
    assert outcomes == {"fn-blip": MeasurementOutcome.SUCCESSFUL, "fn-slow": MeasurementOutcome.FAILED}
    fired = next(m for m in result.per_scope if m.scope == "fn-slow")
    assert "15 of 15 minutes" in fired.message and fired.value == pytest.approx(6.0)
    assert fired.start == end - timedelta(minutes=15)
