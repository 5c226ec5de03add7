"""Benchmark: one soak checkpoint over 20, 100 and 500 functions against the sandbox.

Issue 4's benchmark. For each size N this provisions N Lambda functions in a
sandbox account (the in-process sandbox moto server, with its percentile
support), simulates 6 hours of Lambda traffic minute by minute with the
sandbox's traffic simulator, and then evaluates one checkpoint's criteria the
way ``golive.steps.soak`` does: the functions are found through ListFunctions
with a plan selector, the criteria of the bbws example's SIT soak are parsed
from the plan, and ``evaluate(..., resolution=None)`` runs over
``CloudWatchLambdaSource`` for the 6 h window. It prints the series the
checkpoint asks for per function, the GetMetricData calls made (the target
is ⌈4N/500⌉) and the wall time of each part.

    python bench/checkpoint.py [--sizes 20,100,500] [--hours 6]
"""

from __future__ import annotations

import argparse
import math
import os
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

from golive.analysis.cloudwatch import CloudWatchLambdaSource
from golive.analysis.criteria import parse_criterion
from golive.analysis.evaluate import CriterionSpec, evaluate, requests_for
from golive.analysis.measurement import MeasurementOutcome as Outcome
from golive.analysis.metrics import Scope, parse_metric_def
from golive.clock import VirtualClock
from golive.plan.validate import load_plan
from golive.providers.lambdas import select_functions
from golive.sandbox.accounts import sandbox_aws
from golive.sandbox.moto_server import SandboxServer
from golive.sandbox.provision import provision
from golive.sandbox.spec import FunctionSpec, SandboxSpec, TrafficSpec
from golive.sandbox.traffic import IngestSink, TrafficSimulator

PLAN = Path(__file__).resolve().parents[1] / "examples" / "bbws" / "golive.yaml"
T0 = datetime(2026, 1, 7, 18, 40, tzinfo=UTC)
REGION = "eu-west-1"


def soak_specs() -> list[CriterionSpec]:
    """The SIT soak's criteria, parsed from the example plan as ``golive.steps.soak.criterion_specs`` does."""
    plan = load_plan(PLAN)
    metrics = {name: parse_metric_def(m.lambda_, name) for name, m in plan.metrics.items()}
    specs = []
    for entry in plan.soak["sit"].criteria:
        criterion = parse_criterion(entry.criterion)
        specs.append(CriterionSpec(criterion=criterion, metric=metrics[criterion.metric],
                                   aggregate=entry.scope == "aggregate", dry_run=bool(entry.dry_run)))
    return specs


def one_size(endpoint: str, n: int, hours: int, index: int) -> dict[str, object]:
    account = f"40000000{index:04d}"
    traffic = TrafficSpec(per_minute=600, error_rate=0.0002, duration_p50_ms=120, duration_p95_ms=450)
    functions = tuple(FunctionSpec(f"2-1-bbws-tf-fn{i:03d}-sit", traffic=traffic) for i in range(n))
    spec = SandboxSpec(environment="sit", account_id=account, region=REGION, functions=functions)
    aws = sandbox_aws(endpoint, account, REGION)
    provision(aws, spec)
    end = T0 + timedelta(hours=hours)

    started = time.perf_counter()
    TrafficSimulator(aws, functions, seed=7, sink=IngestSink.for_aws(aws)).simulate(T0, end)
    simulate_s = time.perf_counter() - started

    clock = VirtualClock(end + timedelta(minutes=2))
    specs = soak_specs()
    started = time.perf_counter()
    names = select_functions(aws, {"prefix": "2-1-bbws-tf-", "suffix": "-sit"})
    list_s = time.perf_counter() - started
    scopes = [Scope(name) for name in names]
    requests = requests_for(specs, scopes, T0, end, resolution=None)
    source = CloudWatchLambdaSource(aws, clock)
    started = time.perf_counter()
    evaluations = evaluate(specs, source, scopes, T0, end, resolution=None)
    evaluate_s = time.perf_counter() - started
    outcomes = Counter(e.outcome.value for e in evaluations)
    assert len(names) == n, f"listed {len(names)} functions, expected {n}"
    assert all(e.outcome is Outcome.SUCCESSFUL for e in evaluations), outcomes
    per_function = Counter(f"{r.cloudwatch_name}/{r.stat}" for r in requests if r.scope == scopes[0])
    return {"n": n, "series": len(requests), "per_function": dict(per_function), "calls": source.calls,
            "target": math.ceil(4 * n / 500), "simulate_s": simulate_s, "list_s": list_s, "evaluate_s": evaluate_s,
            "outcomes": dict(outcomes)}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", default="20,100,500")
    parser.add_argument("--hours", type=int, default=6)
    args = parser.parse_args()
    os.environ.setdefault("AWS_ACCESS_KEY_ID", "bench")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "bench")
    sizes = [int(s) for s in args.sizes.split(",")]
    server = SandboxServer()
    endpoint = server.start()
    rows = []
    try:
        for index, n in enumerate(sizes):
            rows.append(one_size(endpoint, n, args.hours, index))
            row = rows[-1]
            print(f"N={n}: {row['series']} series ({row['per_function']} per function), "
                  f"{row['calls']} GetMetricData call(s), criteria {row['outcomes']}", flush=True)
    finally:
        server.stop()
    print()
    print(f"one soak checkpoint ({args.hours} h window, criteria of the SIT soak, resolution=None)")
    print(f"{'functions':>9} {'series':>7} {'GetMetricData':>13} {'target':>6} {'evaluate s':>10} "
          f"{'ListFunctions s':>15} {'simulate s':>10}")
    for row in rows:
        ok = "ok" if row["calls"] == row["target"] else "MISSED"
        print(f"{row['n']:>9} {row['series']:>7} {row['calls']:>10} {ok:>2} {row['target']:>6} "
              f"{row['evaluate_s']:>10.2f} {row['list_s']:>15.2f} {row['simulate_s']:>10.1f}")


if __name__ == "__main__":
    main()
