"""pNN statistics through GetMetricData, over HTTP, against the sandbox's extended moto."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
import pytest

from golive.errors import AwsRequestError
from golive.providers.aws import Aws
from golive.sandbox.accounts import sandbox_aws
from golive.sandbox.moto_server import SandboxServer

T0 = datetime(2026, 3, 1, 10, 0, tzinfo=UTC)
ACCOUNT = "210000000001"


@pytest.fixture(scope="module")
def aws() -> Iterator[Aws]:
    server = SandboxServer()
    endpoint = server.start()
    try:
        yield sandbox_aws(endpoint, ACCOUNT, "eu-west-1")
    finally:
        server.stop()


def _query(qid: str, name: str, stat: str, dims: list[tuple[str, str]], period: int = 3600,
           namespace: str = "AWS/Lambda") -> dict[str, Any]:
    return {"Id": qid, "MetricStat": {"Metric": {"Namespace": namespace, "MetricName": name,
                                                 "Dimensions": [{"Name": k, "Value": v} for k, v in dims]},
                                      "Period": period, "Stat": stat}}


def _values(aws: Aws, queries: list[dict[str, Any]], start: datetime = T0, hours: int = 1) -> dict[str, list[float]]:
    cw = aws.client("cloudwatch")
    answer = aws.call("cloudwatch:GetMetricData", lambda: cw.get_metric_data(
        MetricDataQueries=queries, StartTime=start, EndTime=start + timedelta(hours=hours)))  # type: ignore[arg-type]
    return {r["Id"]: list(r["Values"]) for r in answer["MetricDataResults"]}


def test_p95_of_raw_values_matches_numpy(aws: Aws) -> None:
    rng = np.random.default_rng(42)
    cw = aws.client("cloudwatch")
    dims = [{"Name": "FunctionName", "Value": "raw_fn"}]
    samples: list[float] = []
    for minute in range(30):
        values = np.round(rng.lognormal(5.0, 0.6, 120), 1)
        samples.extend(values.tolist())
        cw.put_metric_data(Namespace="AWS/Lambda", MetricData=[{
            "MetricName": "Duration", "Dimensions": dims, "Timestamp": T0 + timedelta(minutes=minute),
            "Values": values.tolist(), "Unit": "Milliseconds"}])  # type: ignore[list-item]
    got = _values(aws, [_query("p95", "Duration", "p95", [("FunctionName", "raw_fn")]),
                        _query("p999", "Duration", "p99.9", [("FunctionName", "raw_fn")]),
                        _query("p50", "Duration", "p50", [("FunctionName", "raw_fn")]),
                        _query("n", "Duration", "SampleCount", [("FunctionName", "raw_fn")])])
    assert got["p95"] == [pytest.approx(float(np.percentile(samples, 95, method="inverted_cdf")))]
    assert got["p999"] == [pytest.approx(float(np.percentile(samples, 99.9, method="inverted_cdf")))]
    assert got["p50"] == [pytest.approx(float(np.percentile(samples, 50, method="inverted_cdf")))]
    assert got["n"] == [3600.0]


def test_p95_of_per_minute_values_and_counts_matches_numpy_within_the_grid(aws: Aws) -> None:
    rng = np.random.default_rng(7)
    cw = aws.client("cloudwatch")
    dims = [{"Name": "FunctionName", "Value": "binned_fn"}]
    samples = rng.lognormal(np.log(150.0), 0.7, 60 * 300)
    grid = np.log(1.02)
    data = []
    for minute in range(60):
        chunk = samples[minute * 300:(minute + 1) * 300]
        buckets, counts = np.unique(np.floor(np.log(chunk) / grid), return_counts=True)
        assert len(buckets) <= 150
        data.append({"MetricName": "Duration", "Dimensions": dims, "Timestamp": T0 + timedelta(minutes=minute),
                     "Values": np.exp((buckets + 0.5) * grid).tolist(), "Counts": counts.astype(float).tolist()})
    cw.put_metric_data(Namespace="AWS/Lambda", MetricData=data)  # type: ignore[arg-type]
    got = _values(aws, [_query("p95", "Duration", "p95", [("FunctionName", "binned_fn")]),
                        _query("p95_5m", "Duration", "p95", [("FunctionName", "binned_fn")], period=300)])
    expected = float(np.percentile(samples, 95))
    assert got["p95"][0] == pytest.approx(expected, rel=0.02)
    assert len(got["p95_5m"]) == 12
    for i, value in enumerate(reversed(got["p95_5m"])):  # newest first by default
        window = samples[i * 1500:(i + 1) * 1500]
        assert value == pytest.approx(float(np.percentile(window, 95)), rel=0.02)


def test_dimension_queries_respect_namespace_and_the_exact_dimension_set(aws: Aws) -> None:
    cw = aws.client("cloudwatch")
    fn = [{"Name": "FunctionName", "Value": "ns_fn"}]
    version = [*fn, {"Name": "ExecutedVersion", "Value": "2"}]
    cw.put_metric_data(Namespace="AWS/Lambda", MetricData=[
        {"MetricName": "Errors", "Dimensions": fn, "Timestamp": T0, "Value": 3.0},
        {"MetricName": "Errors", "Dimensions": version, "Timestamp": T0, "Value": 2.0}])  # type: ignore[list-item]
    cw.put_metric_data(Namespace="Custom/App", MetricData=[
        {"MetricName": "Errors", "Dimensions": fn, "Timestamp": T0, "Value": 100.0}])  # type: ignore[list-item]
    got = _values(aws, [
        _query("lambda", "Errors", "Sum", [("FunctionName", "ns_fn")]),
        _query("custom", "Errors", "Sum", [("FunctionName", "ns_fn")], namespace="Custom/App"),
        _query("version", "Errors", "Sum", [("FunctionName", "ns_fn"), ("ExecutedVersion", "2")]),
        _query("none", "Errors", "Sum", [("FunctionName", "ns_fn"), ("ExecutedVersion", "9")]),
    ])
    assert got == {"lambda": [3.0], "custom": [100.0], "version": [2.0], "none": []}


def test_statistic_sets_give_basic_statistics_but_percentiles_only_when_exact(aws: Aws) -> None:
    cw = aws.client("cloudwatch")
    dims = [{"Name": "FunctionName", "Value": "stats_fn"}]
    cw.put_metric_data(Namespace="AWS/Lambda", MetricData=[
        {"MetricName": "Invocations", "Dimensions": dims, "Timestamp": T0,
         "StatisticValues": {"SampleCount": 40, "Sum": 40, "Minimum": 1, "Maximum": 1}},
        {"MetricName": "Latency", "Dimensions": dims, "Timestamp": T0,
         "StatisticValues": {"SampleCount": 10, "Sum": 55, "Minimum": 1, "Maximum": 10}}])  # type: ignore[list-item]
    got = _values(aws, [_query("sum", "Invocations", "Sum", [("FunctionName", "stats_fn")]),
                        _query("p90", "Invocations", "p90", [("FunctionName", "stats_fn")]),
                        _query("avg", "Latency", "Average", [("FunctionName", "stats_fn")]),
                        _query("lat_p90", "Latency", "p90", [("FunctionName", "stats_fn")])])
    assert got == {"sum": [40.0], "p90": [1.0], "avg": [5.5], "lat_p90": []}


def test_an_unknown_statistic_is_refused(aws: Aws) -> None:
    with pytest.raises(AwsRequestError) as caught:
        _values(aws, [_query("bad", "Duration", "p95x", [("FunctionName", "raw_fn")])])
    assert "p95x" in str(caught.value)


def test_percentile_ranks_count_the_share_in_a_half_open_interval(aws: Aws) -> None:
    rng = np.random.default_rng(7)
    cw = aws.client("cloudwatch")
    dims = [{"Name": "FunctionName", "Value": "rank_fn"}]
    samples: list[float] = []
    for minute in range(20):
        values = np.round(rng.lognormal(5.0, 0.6, 90), 0)
        samples.extend(values.tolist())
        cw.put_metric_data(Namespace="AWS/Lambda", MetricData=[{
            "MetricName": "Duration", "Dimensions": dims, "Timestamp": T0 + timedelta(minutes=minute),
            "Values": values.tolist(), "Unit": "Milliseconds"}])  # type: ignore[list-item]
    raw = np.asarray(samples)
    a, b = float(np.percentile(raw, 50)), float(np.percentile(raw, 95))
    fn = [("FunctionName", "rank_fn")]
    got = _values(aws, [_query("above", "Duration", f"PR({b:g}:)", fn), _query("upto", "Duration", f"PR(:{a:g})", fn),
                        _query("between", "Duration", f"PR({a:g}:{b:g})", fn),
                        _query("minutes", "Duration", f"PR({b:g}:)", fn, period=60)])
    # CloudWatch's definition: the percentage of datapoints with a < value <= b (a value equal to a is out).
    assert got["above"] == [pytest.approx(100 * float(np.mean(raw > b)))]
    assert got["upto"] == [pytest.approx(100 * float(np.mean(raw <= a)))]
    assert got["between"] == [pytest.approx(100 * float(np.mean((raw > a) & (raw <= b))))]
    assert got["above"][0] + got["upto"][0] + got["between"][0] == pytest.approx(100.0)
    per_minute = [100 * float(np.mean(raw[m * 90:(m + 1) * 90] > b)) for m in range(20)]
    assert got["minutes"] == pytest.approx(per_minute[::-1])  # newest first: GetMetricData's default order


def test_a_percentile_rank_without_bounds_is_refused(aws: Aws) -> None:
    with pytest.raises(AwsRequestError, match="PR"):
        _values(aws, [_query("bad", "Duration", "PR(:)", [("FunctionName", "rank_fn")])])

# The module-scoped fixture is built once: every test of this module runs on one xdist worker.
pytestmark = pytest.mark.xdist_group("sandbox_percentiles")
