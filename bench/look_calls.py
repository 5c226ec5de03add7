"""Benchmark: GetMetricData calls per canary look, for 5, 20 and 100 functions.

Issue 24's "one GetMetricData a look". The first shift's sample (``Canary.record_sample``: the stable's last
hour, with the judge's history in the same call), then the canary step's own looks (``steps.canary_look.analyse``
through the Lambda alias router: the triggers, the judge's counts, the latency tail's counts at the lines the
stable's history gives) run against a CloudWatch that answers every query with plausible numbers (calls,
errors, sample counts, percentiles, ``PR(x:)`` shares) and counts the ``GetMetricData`` calls and the queries
in each. The plan is the bbws example's canary with the issue's triggers (``error_rate > 5% immediately``,
``p95_duration > 5s for 2m``) and the judge's defaults (errors, the p95 tail); the function count is set per size.

    python bench/look_calls.py [--sizes 5,20,100] [--looks 3]

Before issue 24's batching a look made 2 calls for the triggers and 3 for the judge (counts, then the tail's two
rounds), plus the history's on the first look, each at least one call whatever the size; with the batching and the
tail's lines still read from the window itself, 2 (the tail's second round asked after the first).
"""

from __future__ import annotations

import argparse
import math
import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from golive.clock import VirtualClock
from golive.plan.validate import load_plan
from golive.routers.for_params import router_for
from golive.steps import canary, planner
from golive.steps.canary import Canary
from golive.steps.canary_look import analyse
from golive.steps.canary_state import CanaryState

PLAN = Path(__file__).resolve().parents[1] / "examples" / "bbws" / "golive.yaml"
T0 = datetime(2026, 1, 8, 7, 0, tzinfo=UTC)
TRIGGERS = [{"criterion": "error_rate > 5% immediately"}, {"criterion": "p95_duration > 5s for 2m"}]
_PR = re.compile(r"PR\(([0-9.eE+-]+):\)")


class CountingCloudWatch:
    """A CloudWatch client whose ``get_metric_data`` answers every query and counts calls and queries."""

    def __init__(self) -> None:
        self.calls: list[int] = []

    def get_metric_data(self, **kw: Any) -> dict[str, Any]:
        queries = kw["MetricDataQueries"]
        assert len(queries) <= 500, len(queries)
        self.calls.append(len(queries))
        start, end = kw["StartTime"], kw["EndTime"]
        results = []
        for q in queries:
            stat = q["MetricStat"]
            period = int(stat["Period"])
            dims = {d["Name"]: d["Value"] for d in stat["Metric"]["Dimensions"]}
            share = 0.1 if dims.get("ExecutedVersion") == "2" else 0.9
            stamps = []
            at = start
            while at + timedelta(seconds=period) <= end:
                stamps.append(at)
                at += timedelta(seconds=period)
            minutes = period / 60
            value = _value(stat["Metric"]["MetricName"], str(stat["Stat"]), 600 * share * minutes)
            results.append({"Id": q["Id"], "Timestamps": stamps, "Values": [value] * len(stamps)})
        return {"MetricDataResults": results}


def _value(metric: str, stat: str, calls: float) -> float:
    if metric == "Invocations":
        return calls
    if metric == "Errors":
        return calls * 0.0002
    if stat == "SampleCount":
        return calls
    found = _PR.fullmatch(stat)
    if found:
        return 4.0  # percent of calls above the threshold
    return 450.0 if stat.startswith("p95") else 600.0  # ms


class FakeAws:
    def __init__(self, cloudwatch: CountingCloudWatch) -> None:
        self.cloudwatch = cloudwatch

    def client(self, service: str, region: str | None = None) -> CountingCloudWatch:
        assert service == "cloudwatch", service
        return self.cloudwatch

    def call(self, what: str, fn: Callable[[], Any], *, region: str | None = None) -> Any:
        return fn()


def _params(functions: int) -> canary.CanaryParams:
    plan = load_plan(PLAN)
    step = next(s for s in planner.build_deploy(plan, "prod", project="product_lambda") if s.kind == "canary")
    params = canary.KIND.parse(step.params)
    metrics = {**params.metrics, "error_rate": "errors / invocations", "p95_duration": "p95(duration)"}
    return params.model_copy(update={"triggers": TRIGGERS, "health": [], "metrics": metrics,
                                     "functions": {**params.functions, "count": functions}})


def looks(functions: int, count: int) -> tuple[list[int], list[list[int]]]:
    """The queries of the first shift's sample call, then of each GetMetricData call of ``count`` looks."""
    p = _params(functions)
    clock = VirtualClock(T0)
    shifted = T0 + timedelta(seconds=20)
    state = CanaryState.load({
        "versions": {f"fn-{i:03d}": {"canary": "2", "stable": "1"} for i in range(functions)},
        "started_at": T0.isoformat(), "bake_started": shifted.isoformat(),
        "bake_until": (shifted + timedelta(minutes=10)).isoformat(), "weight": 10.0,
    })
    cloudwatch = CountingCloudWatch()
    aws = FakeAws(cloudwatch)
    router = router_for(p, lambda: aws, clock)  # type: ignore[arg-type,return-value]
    clock.sleep_until(shifted)
    saved: dict[str, Any] = {}
    ctx = SimpleNamespace(state=saved, now=clock.now(), services=SimpleNamespace(clock=clock),
                          save=lambda: None, record=lambda *_: None)
    Canary(ctx, p, state, router, lambda: aws).record_sample(10.0)  # type: ignore[arg-type]
    sample = cloudwatch.calls
    out = []
    for look in range(count):
        clock.sleep_until(shifted + timedelta(minutes=3 + look))
        cloudwatch.calls = []
        ctx = SimpleNamespace(state={}, now=clock.now(), services=SimpleNamespace(clock=clock))
        verdict, why, _ = analyse(ctx, p, state, router, lambda: aws)  # type: ignore[arg-type,return-value]
        assert verdict in ("ok", "inconclusive"), (verdict, why)
        out.append(cloudwatch.calls)
    return sample, out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", default="5,20,100")
    parser.add_argument("--looks", type=int, default=3)
    args = parser.parse_args()
    print(f"{'functions':>9}  {'look':>4}  {'GetMetricData calls':>19}  queries per call")
    for n in (int(x) for x in args.sizes.split(",")):
        sample, found = looks(n, args.looks)
        print(f"{n:>9}  {'shift':>4}  {len(sample):>19}  {sample} (the first shift's sample, with the history)")
        for i, calls in enumerate(found, 1):
            print(f"{n:>9}  {i:>4}  {len(calls):>19}  {calls}")
        queries = sum(found[-1])
        print(f"{'':>9}  a look: {queries} queries in {len(found[-1])} calls; "
              f"the fewest 500 queries a call allow: {math.ceil(queries / 500)}")

if __name__ == "__main__":
    main()
