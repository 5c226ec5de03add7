"""Benchmark: GetMetricData calls and wall time for a soak checkpoint, batched vs one call per series.

Issue 3's benchmark. For 20, 100 and 500 Lambda functions, fetch the soak's four Lambda metrics
(Sum Invocations, Sum Errors, Sum Throttles, p95 Duration) over a 6-hour window from a moto server
this script starts on 127.0.0.1 (with the sandbox's percentile extension, so ``Stat: p95`` is
answered), two ways:

- golive: ``evaluate`` of the soak criteria through ``CloudWatchLambdaSource`` (up to 500 queries
  a call, NextToken followed);
- naive: the loop a script would write, one ``GetMetricData`` call per metric per function.

Sparse synthetic data (one datapoint per function and metric every 30 minutes) keeps moto fast.

    python bench/metrics.py [--sizes 20,100,500]
"""

from __future__ import annotations

import argparse
import logging
import math
import os
import socket
import sys
import time
from datetime import UTC, datetime, timedelta
from typing import Any

from moto.server import ThreadedMotoServer

from golive.analysis.cloudwatch import CloudWatchLambdaSource
from golive.analysis.criteria import parse_criterion
from golive.analysis.evaluate import CriterionSpec, evaluate
from golive.analysis.metrics import DEFAULT_METRICS, Scope
from golive.clock import VirtualClock
from golive.providers.aws import Aws, AwsTarget
from golive.sandbox import percentiles

REGION = "af-south-1"
END = datetime(2025, 3, 2, 6, 0, tzinfo=UTC)
WINDOW = timedelta(hours=6)
CRITERIA = ("error_rate < 0.1%", "p95_duration < 2s", "throttles == 0")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def publish(aws: Aws, prefix: str, count: int) -> list[Scope]:
    client = aws.client("cloudwatch")
    scopes = [Scope(f"{prefix}-{i:04d}") for i in range(count)]
    batch: list[Any] = []
    for i, scope in enumerate(scopes):
        dims = scope.dimensions()
        for step in range(12):
            when = END - WINDOW + timedelta(minutes=30 * step + 1)
            batch.append({"MetricName": "Invocations", "Dimensions": dims, "Timestamp": when, "Value": 600.0})
            if (i + step) % 5 == 0:
                batch.append({"MetricName": "Errors", "Dimensions": dims, "Timestamp": when, "Value": 1.0})
            if (i + step) % 97 == 0:
                batch.append({"MetricName": "Throttles", "Dimensions": dims, "Timestamp": when, "Value": 2.0})
            batch.append({"MetricName": "Duration", "Dimensions": dims, "Timestamp": when,
                          "Values": [120.0, 250.0, 900.0], "Counts": [500.0, 90.0, 10.0], "Unit": "Milliseconds"})
            if len(batch) >= 900:
                client.put_metric_data(Namespace="AWS/Lambda", MetricData=batch)
                batch = []
    if batch:
        client.put_metric_data(Namespace="AWS/Lambda", MetricData=batch)
    return scopes


def batched(aws: Aws, scopes: list[Scope]) -> tuple[int, float, int]:
    source = CloudWatchLambdaSource(aws, VirtualClock(END + timedelta(minutes=2)), delay=timedelta(minutes=2))
    start, end = source.window(WINDOW)
    specs = [CriterionSpec(c, DEFAULT_METRICS[c.metric]) for c in map(parse_criterion, CRITERIA)]
    began = time.perf_counter()
    results = evaluate(specs, source, scopes, start, end, resolution=None)
    elapsed = time.perf_counter() - began
    failing = sum(1 for r in results for m in r.per_scope if m.outcome.value == "Failed")
    return source.calls, elapsed, failing


def naive(aws: Aws, scopes: list[Scope]) -> tuple[int, float]:
    client = aws.client("cloudwatch")
    period = int(WINDOW.total_seconds())
    calls = 0
    began = time.perf_counter()
    for scope in scopes:
        for name, stat in (("Invocations", "Sum"), ("Errors", "Sum"), ("Throttles", "Sum"), ("Duration", "p95")):
            client.get_metric_data(
                MetricDataQueries=[{"Id": "m", "MetricStat": {
                    "Metric": {"Namespace": "AWS/Lambda", "MetricName": name,
                               "Dimensions": [{"Name": d["Name"], "Value": d["Value"]} for d in scope.dimensions()]},
                    "Period": period, "Stat": stat}}],
                StartTime=END - WINDOW, EndTime=END)
            calls += 1
    return calls, time.perf_counter() - began


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="20,100,500")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    # moto accepts any credentials; never let the bench pick up a real profile
    os.environ.update(AWS_ACCESS_KEY_ID="testing", AWS_SECRET_ACCESS_KEY="testing")
    os.environ.pop("AWS_PROFILE", None)
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    percentiles.install()
    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    try:
        aws = Aws(AwsTarget(region=REGION, endpoint_url=f"http://127.0.0.1:{port}"))
        print(f"soak checkpoint: 4 Lambda metrics per function over {WINDOW}, moto on 127.0.0.1:{port}")
        print(f"{'functions':>9} {'batched calls':>13} {'target':>6} {'batched s':>9} {'naive calls':>11} "
              f"{'naive s':>8} {'calls ratio':>11} {'time ratio':>10}")
        for n in sizes:
            scopes = publish(aws, f"fn{n}", n)
            calls, seconds, failing = batched(aws, scopes)
            naive_calls, naive_seconds = naive(aws, scopes)
            target = math.ceil(4 * n / 500)
            print(f"{n:>9} {calls:>13} {target:>6} {seconds:>9.2f} {naive_calls:>11} {naive_seconds:>8.2f} "
                  f"{naive_calls / calls:>10.0f}x {naive_seconds / seconds:>9.1f}x   ({failing} failing measurements)")
    finally:
        server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
