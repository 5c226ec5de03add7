"""The traffic simulator: metrics follow the alias's real weights, faults hit the canary, all on the virtual clock."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
import pytest

from golive.clock import VirtualClock
from golive.providers.aws import Aws
from golive.sandbox.accounts import sandbox_aws
from golive.sandbox.faults import parse_fault
from golive.sandbox.moto_server import SandboxServer
from golive.sandbox.provision import provision
from golive.sandbox.spec import FunctionSpec, SandboxSpec, TrafficSpec
from golive.sandbox.traffic import IngestSink, PutMetricDataSink, TrafficSimulator

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
TRAFFIC = TrafficSpec(per_minute=200.0, error_rate=0.002, duration_p50_ms=120.0, duration_p95_ms=400.0)
PRODUCT = FunctionSpec("product_lambda", versions=2, project="product", traffic=TRAFFIC)
ORDER = FunctionSpec("order_lambda", versions=1, project="order", traffic=TrafficSpec(per_minute=30.0))


def _environment(server: SandboxServer, account: str, canary_weight: float | None) -> Aws:
    aws = sandbox_aws(server.endpoint, account, "eu-west-1")
    provision(aws, SandboxSpec("prod", account, "eu-west-1", functions=(PRODUCT, ORDER)))
    if canary_weight is not None:
        lam = aws.client("lambda")
        lam.update_alias(FunctionName=PRODUCT.name, Name="live", FunctionVersion="1",
                         RoutingConfig={"AdditionalVersionWeights": {"2": canary_weight}})
    return aws


def _sums(aws: Aws, function: str, metric: str, versions: list[str | None], start: datetime, end: datetime,
          stat: str = "Sum") -> dict[str | None, float]:
    queries: list[Any] = []
    for i, version in enumerate(versions):
        dims = [{"Name": "FunctionName", "Value": function}]
        if version is not None:
            dims += [{"Name": "Resource", "Value": f"{function}:live"}, {"Name": "ExecutedVersion", "Value": version}]
        queries.append({"Id": f"q{i}", "MetricStat": {"Metric": {"Namespace": "AWS/Lambda", "MetricName": metric,
                                                                 "Dimensions": dims},
                                                      "Period": int((end - start).total_seconds()), "Stat": stat}})
    cw = aws.client("cloudwatch")
    results = cw.get_metric_data(MetricDataQueries=queries, StartTime=start, EndTime=end)["MetricDataResults"]
    return {versions[int(r["Id"][1:])]: (r["Values"][0] if r["Values"] else 0.0) for r in results}


def test_split_follows_alias_weights_and_an_error_fault_hits_the_canary(server: SandboxServer) -> None:
    aws = _environment(server, "210000000011", canary_weight=0.1)
    clock = VirtualClock(T0)
    fault = parse_fault("product:error_rate=8%@deploy").resolve({"run": T0, "deploy": T0}, {"product": [PRODUCT.name]})
    assert fault is not None
    simulator = TrafficSimulator(aws, [PRODUCT, ORDER], seed=11, sink=IngestSink.for_aws(aws), faults=[fault])
    simulator.attach(clock)
    clock.advance(timedelta(hours=3))
    clock.advance(timedelta(hours=3))
    end = T0 + timedelta(hours=6)

    invocations = _sums(aws, PRODUCT.name, "Invocations", ["1", "2", None], T0, end)
    total = invocations[None]
    assert total == invocations["1"] + invocations["2"]
    assert abs(total - 200 * 360) < 5 * np.sqrt(200 * 360)
    share = invocations["2"] / total
    assert abs(share - 0.1) < 4 * np.sqrt(0.1 * 0.9 / total)

    errors = _sums(aws, PRODUCT.name, "Errors", ["1", "2"], T0, end)
    canary_rate = errors["2"] / invocations["2"]
    stable_rate = errors["1"] / invocations["1"]
    assert abs(canary_rate - 0.08) < 4 * np.sqrt(0.08 * 0.92 / invocations["2"])
    assert stable_rate < 0.006

    order = _sums(aws, ORDER.name, "Errors", ["1", None], T0, end)
    order_inv = _sums(aws, ORDER.name, "Invocations", ["1", None], T0, end)
    assert order_inv["1"] == order_inv[None] > 0
    assert order[None] / order_inv[None] < 0.02  # the fault named another project's function only

    p95 = _sums(aws, PRODUCT.name, "Duration", ["1"], T0, end, stat="p95")["1"]
    assert p95 == pytest.approx(400.0, rel=0.05)


def test_latency_fault_without_routing_hits_the_whole_function_in_its_window(server: SandboxServer) -> None:
    aws = _environment(server, "210000000012", canary_weight=None)
    fault = parse_fault("order_lambda:latency=6s@1h..2h").resolve({"run": T0})
    assert fault is not None
    simulator = TrafficSimulator(aws, [ORDER], seed=3, sink=IngestSink.for_aws(aws), faults=[fault])
    simulator.simulate(T0, T0 + timedelta(hours=3))
    during = _sums(aws, ORDER.name, "Duration", ["1"], T0 + timedelta(hours=1), T0 + timedelta(hours=2), stat="p50")
    after = _sums(aws, ORDER.name, "Duration", ["1"], T0 + timedelta(hours=2), T0 + timedelta(hours=3), stat="p50")
    assert during["1"] == pytest.approx(6000.0, rel=0.1)
    assert after["1"] == pytest.approx(120.0, rel=0.1)


def test_same_seed_same_metrics_through_either_sink(server: SandboxServer) -> None:
    ingest_aws = _environment(server, "210000000013", canary_weight=0.5)
    api_aws = _environment(server, "210000000014", canary_weight=0.5)
    other_aws = _environment(server, "210000000015", canary_weight=0.5)
    end = T0 + timedelta(minutes=30)
    TrafficSimulator(ingest_aws, [PRODUCT], seed=5, sink=IngestSink.for_aws(ingest_aws)).simulate(T0, end)
    api_stats = TrafficSimulator(api_aws, [PRODUCT], seed=5, sink=PutMetricDataSink(api_aws)).simulate(T0, end)
    TrafficSimulator(other_aws, [PRODUCT], seed=6, sink=IngestSink.for_aws(other_aws)).simulate(T0, end)
    assert api_stats.minutes == 30 and api_stats.calls >= 1

    def per_minute(aws: Aws) -> list[float]:
        cw = aws.client("cloudwatch")
        result = cw.get_metric_data(MetricDataQueries=[{"Id": "i", "MetricStat": {"Metric": {
            "Namespace": "AWS/Lambda", "MetricName": "Invocations",
            "Dimensions": [{"Name": "FunctionName", "Value": PRODUCT.name}, {"Name": "Resource", "Value": f"{PRODUCT.name}:live"},
                           {"Name": "ExecutedVersion", "Value": "2"}]}, "Period": 60, "Stat": "Sum"}}],
            StartTime=T0, EndTime=end)["MetricDataResults"][0]
        return list(result["Values"])

    assert len(per_minute(ingest_aws)) == 30
    assert per_minute(ingest_aws) == per_minute(api_aws)
    assert per_minute(ingest_aws) != per_minute(other_aws)
    p95 = _sums(ingest_aws, PRODUCT.name, "Duration", [None], T0, end, stat="p95")[None]
    assert p95 == pytest.approx(_sums(api_aws, PRODUCT.name, "Duration", [None], T0, end, stat="p95")[None])


def test_aws_down_window_switches_the_endpoint_while_metrics_keep_flowing(server: SandboxServer) -> None:
    aws = _environment(server, "210000000016", canary_weight=None)
    down = parse_fault("aws_down@1h..2h").resolve({"run": T0})
    assert down is not None
    clock = VirtualClock(T0)
    simulator = TrafficSimulator(aws, [ORDER], seed=1, sink=IngestSink.for_aws(aws), faults=[down],
                                 on_aws_down=server.set_down)
    simulator.attach(clock)
    try:
        clock.advance(timedelta(minutes=30))
        assert not server.down
        clock.advance(timedelta(hours=1))
        assert server.down
        clock.advance(timedelta(hours=1))
        assert not server.down
    finally:
        server.set_down(False)
    minutes = _sums(aws, ORDER.name, "Invocations", [None], T0, T0 + timedelta(minutes=150), stat="SampleCount")
    assert minutes[None] > 0
    counted = _sums(aws, ORDER.name, "Invocations", [None], T0 + timedelta(hours=1), T0 + timedelta(hours=2))
    assert counted[None] == pytest.approx(30 * 60, rel=0.15)


@pytest.mark.parametrize(("text", "account", "canary_hurt", "stable_hurt"), [
    ("product:error_rate=20%@deploy", "210000000017", True, False),
    ("product:error_rate=20%,version=all@deploy", "210000000018", True, True),
    ("product:error_rate=20%,version=stable@deploy", "210000000019", False, True),
])
def test_deploy_fault_active_before_the_canary_exists_hurts_the_canary_only_unless_told(
        server: SandboxServer, text: str, account: str, canary_hurt: bool, stable_hurt: bool) -> None:
    aws = _environment(server, account, canary_weight=None)
    lam = aws.client("lambda")
    lam.update_alias(FunctionName=PRODUCT.name, Name="live", FunctionVersion="1")
    fault = parse_fault(text).resolve({"run": T0, "deploy": T0}, {"product": [PRODUCT.name]})
    assert fault is not None
    clock = VirtualClock(T0)
    TrafficSimulator(aws, [PRODUCT], seed=13, sink=IngestSink.for_aws(aws), faults=[fault]).attach(clock)
    clock.advance(timedelta(minutes=10))  # the deploy phase has started; version 2 exists but gets no traffic
    lam.update_alias(FunctionName=PRODUCT.name, Name="live", FunctionVersion="1",
                     RoutingConfig={"AdditionalVersionWeights": {"2": 0.5}})
    shifted = clock.now()
    clock.advance(timedelta(hours=1))

    invocations = _sums(aws, PRODUCT.name, "Invocations", ["1", "2"], shifted, clock.now())
    errors = _sums(aws, PRODUCT.name, "Errors", ["1", "2"], shifted, clock.now())
    canary_rate = errors["2"] / invocations["2"]
    stable_rate = errors["1"] / invocations["1"]
    for hurt, rate, n in ((canary_hurt, canary_rate, invocations["2"]), (stable_hurt, stable_rate, invocations["1"])):
        if hurt:
            assert abs(rate - 0.2) < 4 * np.sqrt(0.2 * 0.8 / n)
        else:
            assert rate < 0.01
