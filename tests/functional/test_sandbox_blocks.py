"""Metric datapoints kept in columns answer as datapoints kept one by one, and every way in stores the same."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np

from golive.sandbox.accounts import sandbox_aws
from golive.sandbox.blocks import Block, ColumnSeries, decode, encode
from golive.sandbox.moto_server import SandboxServer
from golive.sandbox.percentiles import statistic, weighted_percentile
from golive.sandbox.provision import provision
from golive.sandbox.spec import FunctionSpec, SandboxSpec, TrafficSpec
from golive.sandbox.traffic import IngestSink, InProcessSink, TrafficSimulator

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
DIMS = (("FunctionName", "f"),)


def _random_block(rng: np.random.Generator, start: float, n: int, with_values: bool) -> Block:
    ts = start + 60.0 * np.sort(rng.integers(0, 30, n))  # ties within a block, and blocks that overlap
    count = rng.integers(1, 5, n).astype(float)
    total = rng.random(n) * 100
    low, high = rng.random(n), 1 + rng.random(n)
    if not with_values:
        high = np.where(rng.random(n) < 0.5, low, high)  # some statistic sets count towards a percentile
        return Block("Duration", DIMS, "Milliseconds", ts, count, total, low, high)
    sizes = rng.integers(1, 6, n)
    offsets = np.r_[0, np.cumsum(sizes)].astype(np.int64)
    return Block("Duration", DIMS, "Milliseconds", ts, count, total, low, high, offsets=offsets,
                 values=rng.random(int(offsets[-1])) * 500, counts=rng.integers(1, 4, int(offsets[-1])).astype(float))


def _one_by_one(blocks: list[Block]) -> list[tuple[float, float, float, float, float, Any]]:
    points = [(float(b.ts[i]), float(b.count[i]), float(b.total[i]), float(b.minimum[i]), float(b.maximum[i]),
               b.distribution(i)) for b in blocks for i in range(len(b))]
    return sorted(points, key=lambda p: p[0])  # stable: ties in arrival order


def test_columns_answer_every_statistic_as_points_kept_one_by_one_would() -> None:
    rng = np.random.default_rng(4)
    blocks = [_random_block(rng, 1_800_000_000.0 + 600.0 * k, 12, with_values=k % 3 != 2) for k in range(40)]
    series = ColumnSeries()
    for block in blocks:
        series.append(block)
    points = _one_by_one(blocks)
    assert len(series) == len(points)
    t0, t1, period = 1_800_000_000.0 + 300, 1_800_000_000.0 + 20_000, 300
    expected: dict[int, list[Any]] = {}
    for p in points:
        if t0 <= p[0] < t1:
            expected.setdefault(int((p[0] - t0) // period), []).append(p)
    answered = dict(series.periods(t0, t1, period, None))
    assert sorted(answered) == sorted(expected)
    for index, chosen in expected.items():
        got = answered[index]
        assert statistic(got, "SampleCount") == sum(p[1] for p in chosen)
        assert statistic(got, "Sum") == sum(p[2] for p in chosen)
        assert statistic(got, "Average") == sum(p[2] for p in chosen) / sum(p[1] for p in chosen)
        assert statistic(got, "Minimum") == min(p[3] for p in chosen)
        assert statistic(got, "Maximum") == max(p[4] for p in chosen)
        values = [p[5][0] if p[5] is not None else np.array([p[3]]) for p in chosen
                  if p[5] is not None or p[1] == 1 or p[3] == p[4]]
        counts = [p[5][1] if p[5] is not None else np.array([p[1]]) for p in chosen
                  if p[5] is not None or p[1] == 1 or p[3] == p[4]]
        want = weighted_percentile(np.concatenate(values), np.concatenate(counts), 95) if values else None
        assert statistic(got, "p95") == want
    assert list(series.periods(t0, t1, period, "Count")) == []  # another unit: nothing


def test_the_wire_form_carries_blocks_unchanged() -> None:
    rng = np.random.default_rng(9)
    blocks = [_random_block(rng, 1_800_000_000.0, 7, with_values=True), _random_block(rng, 0.0, 3, with_values=False)]
    header, back = decode(encode("123456789012", "eu-west-1", "AWS/Lambda", blocks))
    assert (header["account"], header["region"], header["namespace"]) == ("123456789012", "eu-west-1", "AWS/Lambda")
    for a, b in zip(blocks, back, strict=True):
        assert (a.name, a.dims, a.unit, len(a)) == (b.name, b.dims, b.unit, len(b))
        for column in ("ts", "count", "total", "minimum", "maximum", "offsets", "values", "counts"):
            x, y = getattr(a, column), getattr(b, column)
            assert (x is None and y is None) or np.array_equal(x, y)


def test_in_process_sink_stores_what_the_bulk_path_stores(server: SandboxServer) -> None:
    function = FunctionSpec("blocks_lambda", versions=2, project="blocks",
                            traffic=TrafficSpec(per_minute=300.0, error_rate=0.05))
    answers = []
    for account, sink_for in (("210000000081", lambda a, acc: IngestSink.for_aws(a)),
                              ("210000000082", lambda a, acc: InProcessSink(acc, "eu-west-1"))):
        aws = sandbox_aws(server.endpoint, account, "eu-west-1")
        provision(aws, SandboxSpec("prod", account, "eu-west-1", functions=(function,)))
        aws.client("lambda").update_alias(FunctionName=function.name, Name="live", FunctionVersion="1",
                                          RoutingConfig={"AdditionalVersionWeights": {"2": 0.3}})
        simulator = TrafficSimulator(aws, [function], seed=5, sink=sink_for(aws, account))
        for minutes in (1, 4, 33, 2):  # uneven clock steps, as a rehearsal makes them
            simulator.simulate(T0, T0 + timedelta(minutes=minutes))
        queries: list[Any] = []
        for version in ("1", "2", None):
            dims = [{"Name": "FunctionName", "Value": function.name}]
            if version is not None:
                dims += [{"Name": "Resource", "Value": f"{function.name}:live"},
                         {"Name": "ExecutedVersion", "Value": version}]
            for metric, stat in (("Invocations", "Sum"), ("Errors", "Sum"), ("Duration", "p95"),
                                 ("Duration", "Average")):
                queries.append({"Id": f"q{len(queries)}", "MetricStat": {"Metric": {
                    "Namespace": "AWS/Lambda", "MetricName": metric, "Dimensions": dims}, "Period": 300, "Stat": stat}})
        result = aws.client("cloudwatch").get_metric_data(MetricDataQueries=queries, StartTime=T0,
                                                          EndTime=T0 + timedelta(hours=1))["MetricDataResults"]
        answers.append([(r["Id"], r["Values"], r["Timestamps"]) for r in result])
    assert answers[0] == answers[1]
    assert all(values for _, values, _ in answers[0][:3])  # invocations, errors and p95 of version 1 are there
