"""Benchmark: how fast the sandbox simulates Lambda traffic, and how fast GetMetricData answers afterwards.

Simulates a 48-hour soak of N functions (canary split 10 %/90 %) through the bulk
ingest path and, for a shorter span, through PutMetricData; then times golive-style
GetMetricData calls (4 metrics x 2 versions x N functions, p95 for Duration, 5-minute
periods over 6 hours, up to 500 queries a call). Run with the sandbox in this process
(default) or in the detached daemon (--daemon), which gives the server its own core.

    python bench/sandbox_traffic.py [--functions 20] [--hours 48] [--daemon]
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from golive.sandbox import daemon
from golive.sandbox.accounts import sandbox_aws
from golive.sandbox.moto_server import SandboxServer
from golive.sandbox.provision import provision
from golive.sandbox.spec import FunctionSpec, SandboxSpec
from golive.sandbox.traffic import IngestSink, PutMetricDataSink, TrafficSimulator

T0 = datetime(2026, 3, 1, tzinfo=UTC)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--functions", type=int, default=20)
    parser.add_argument("--hours", type=int, default=48)
    parser.add_argument("--api-hours", type=int, default=2)
    parser.add_argument("--daemon", action="store_true")
    args = parser.parse_args()
    os.environ.setdefault("AWS_ACCESS_KEY_ID", "bench")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "bench")
    functions = tuple(FunctionSpec(f"fn_{i:03d}", versions=2) for i in range(args.functions))
    spec = SandboxSpec("bench", "300000000001", "eu-west-1", functions=functions)
    api_spec = SandboxSpec("bench-api", "300000000002", "eu-west-1", functions=functions)
    server: SandboxServer | None = None
    state = Path(tempfile.mkdtemp(prefix="golive-bench-"))
    if args.daemon:
        endpoint = daemon.start_detached(state, [spec, api_spec]).endpoint
    else:
        server = SandboxServer()
        endpoint = server.start()
    try:
        aws = sandbox_aws(endpoint, spec.account_id, spec.region)
        api_aws = sandbox_aws(endpoint, api_spec.account_id, api_spec.region)
        for env_aws, env in ((aws, spec), (api_aws, api_spec)):
            provision(env_aws, env)
            lam = env_aws.client("lambda")
            for f in functions:
                lam.update_alias(FunctionName=f.name, Name="live", FunctionVersion="1",
                                 RoutingConfig={"AdditionalVersionWeights": {"2": 0.1}})
        where = "daemon process" if args.daemon else "same process"
        started = time.perf_counter()
        stats = TrafficSimulator(aws, functions, seed=1, sink=IngestSink.for_aws(aws)).simulate(
            T0, T0 + timedelta(hours=args.hours))
        took = time.perf_counter() - started
        print(f"ingest sink ({where}): {args.hours} h x {args.functions} functions = {stats.minutes} minutes, "
              f"{stats.datums} datums, {stats.calls} requests in {took:.2f} s -> {stats.minutes / took:.0f} minutes/s "
              f"({stats.minutes * args.functions / took:.0f} function-minutes/s)")
        started = time.perf_counter()
        stats = TrafficSimulator(api_aws, functions, seed=1, sink=PutMetricDataSink(api_aws)).simulate(
            T0, T0 + timedelta(hours=args.api_hours))
        took = time.perf_counter() - started
        print(f"PutMetricData sink ({where}): {args.api_hours} h = {stats.minutes} minutes, {stats.datums} datums, "
              f"{stats.calls} calls in {took:.2f} s -> {stats.minutes / took:.1f} minutes/s")

        queries: list[Any] = []
        for f in functions:
            for version in ("1", "2"):
                dims = [{"Name": "FunctionName", "Value": f.name}, {"Name": "Resource", "Value": f"{f.name}:live"},
                        {"Name": "ExecutedVersion", "Value": version}]
                for metric, stat in (("Invocations", "Sum"), ("Errors", "Sum"), ("Throttles", "Sum"), ("Duration", "p95")):
                    queries.append({"Id": f"q{len(queries)}", "MetricStat": {"Metric": {
                        "Namespace": "AWS/Lambda", "MetricName": metric, "Dimensions": dims}, "Period": 300, "Stat": stat}})
        cw = aws.client("cloudwatch")
        end = T0 + timedelta(hours=args.hours)
        for label, start in (("last 6 h", end - timedelta(hours=6)), ("whole soak", T0)):
            started = time.perf_counter()
            calls = 0
            points = 0
            for i in range(0, len(queries), 500):
                answer = cw.get_metric_data(MetricDataQueries=queries[i:i + 500], StartTime=start, EndTime=end)
                calls += 1
                points += sum(len(r["Values"]) for r in answer["MetricDataResults"])
            took = time.perf_counter() - started
            print(f"GetMetricData after {args.hours} h of data, {label}: {len(queries)} queries in {calls} call(s), "
                  f"{points} datapoints, {took * 1000:.0f} ms")
    finally:
        if server is not None:
            server.stop()
        if args.daemon:
            daemon.stop(state)


if __name__ == "__main__":
    main()
