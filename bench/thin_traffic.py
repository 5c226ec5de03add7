"""Benchmark: does golive know before the shift which canary criteria can decide, and does it keep its word?

Issue 24's targets. Healthy canaries at 600, 60 and 6 calls a minute per function (5 functions), the
runbook's steps (10% for 10 minutes, then 50% for 5; the extension cap 10 minutes) and triggers
(``error_rate > 5% immediately``) plus ``p95_duration > 5s for 2m``, each needing 300 calls, and the judge
needing 50 canary calls per function. Each run draws every function's calls per minute (Poisson around the
rate times the weight), errors at 1% and per-minute p95 durations around 320 ms, and looks every minute as the
canary does, with golive's own code: ``analysis.trigger_look.look`` over a metric source answering from the
drawn minutes (so the windows, their growth and the sustained rule are the canary's), the judge deciding once
each function has its 50 calls. A step is left when every trigger has judged a window of its own traffic and
the judge decided, at the bake's end or later; a step still waiting at the cap is inconclusive (the plan's
``on_inconclusive`` then applies: a fail-safe rollback before issue 24).

Beside it, ``analysis.sample.plan_samples`` on the same plan and rates, as ``golive preflight`` runs it:

- fail-safe: runs left inconclusive at a step where preflight said every criterion decides (target 0);
- flagged: of the criteria left inconclusive, the share preflight flagged before the first shift (target 100%);
- GetMetricData calls the triggers' part of a look made (500 queries a call), for 5, 20 and 100 functions.

False rollbacks and detection are the judge's and the error trigger's: ``bench/judge.py`` prints them.

    python bench/thin_traffic.py [--runs 100] [--seed 7]
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

import numpy as np

from golive.analysis.canary_sample import shape_of
from golive.analysis.evaluate import CriterionSpec
from golive.analysis.metrics import DEFAULT_METRICS, Fetch, Scope, Series, SeriesRequest
from golive.analysis.sample import Sample, Traffic, plan_samples
from golive.analysis.trigger_look import look

TRIGGERS = ["error_rate > 5% immediately", "p95_duration > 5s for 2m"]
STEPS = [{"weight": 10, "bake_s": 600}, {"weight": 50, "bake_s": 300}, {"weight": 100}]
FUNCTIONS = 5
SHIFT = datetime(2026, 1, 10, 12, 0, 5, tzinfo=UTC)
JUDGE_MIN = 50
MAX_QUERIES = 500


class SimSource:
    """A metric source answering from drawn minutes: invocations, errors and p95 duration per canary scope."""

    def __init__(self, calls: np.ndarray, errors: np.ndarray, p95: np.ndarray, scopes: Sequence[Scope],
                 first: datetime) -> None:
        self.calls, self.errors, self.p95 = calls, errors, p95
        self.index = {scope: i for i, scope in enumerate(scopes)}
        self.first = first
        self.api_calls = 0

    def fetch(self, requests: Sequence[SeriesRequest], start: datetime, end: datetime) -> Fetch:
        unique = list(dict.fromkeys(requests))
        self.api_calls += math.ceil(len(unique) / MAX_QUERIES)
        series = {}
        for r in unique:
            j = self.index[r.scope]
            table = {"invocations": self.calls, "errors": self.errors}.get(r.metric, self.p95)
            points = []
            at = start
            while at < end:
                m = int((at - self.first) / timedelta(minutes=1))
                if 0 <= m < table.shape[0] and self.calls[m, j] > 0:
                    points.append((at, float(table[m, j])))
                at += timedelta(minutes=1)
            series[r] = Series(r, tuple(points))
        return Fetch(series=series)

    def window(self, length: timedelta) -> tuple[datetime, datetime]:
        raise NotImplementedError


def _specs(shape_triggers: Sequence[tuple[str, int]]) -> list[CriterionSpec]:
    from golive.analysis.criteria import parse_criterion

    return [CriterionSpec(criterion=(c := parse_criterion(text)), metric=DEFAULT_METRICS[c.metric], trigger=True,
                          min_calls=need) for text, need in shape_triggers]


def step_outcome(rng: np.random.Generator, rate: float, weight: float, bake_min: int, cap_min: int,
                 specs: list[CriterionSpec], functions: int) -> tuple[str, set[str], int, int]:
    """('left' | 'inconclusive' | 'fail', criteria still waiting at the cap, looks, trigger API calls)."""
    minutes = bake_min + cap_min
    per_minute = rate * weight / 100
    calls = rng.poisson(per_minute, size=(minutes, functions)).astype(float)
    errors = rng.binomial(calls.astype(int), 0.01).astype(float)
    p95 = np.exp(rng.normal(math.log(320.0), 0.05, size=(minutes, functions)))
    scopes = [Scope(f"fn-{j}", "live", "2") for j in range(functions)]
    first = SHIFT.replace(second=0) + timedelta(minutes=1)
    source = SimSource(calls, errors, p95, scopes, first)
    last = max(bake_min - 2, 0)
    waiting: set[str] = set()
    j = 0
    for j in range(0, minutes - 1):
        end = first + timedelta(minutes=j)
        found = look(specs, source, scopes, first, end)
        if any(t.evaluation is not None and t.evaluation.outcome.value == "Failed" for t in found):
            return "fail", set(), j + 1, source.api_calls
        waiting = {t.name for t in found if t.evaluation is None}
        if j == 0 or calls[:j].sum(axis=0).min() < JUDGE_MIN:
            waiting.add("judge")
        if not waiting and j >= last:
            return "left", set(), j + 1, source.api_calls
    return "inconclusive", waiting, j + 1, source.api_calls


def flagged(samples: list[Sample], weight: float) -> set[str]:
    out = set()
    for s in samples:
        if s.weight == weight and not s.decides:
            out.add("judge" if s.criterion.startswith("judge") else s.criterion)
    return out


def decidability(rates: Sequence[float], runs: int, seed: int) -> None:
    params = {"project": "bench", "functions": {"prefix": "fn-"}, "alias": "live", "steps": STEPS,
              "triggers": [{"criterion": t} for t in TRIGGERS], "min_invocations": 300,
              "analysis": {"max_extension": "10m", "delay": "1m", "interval": "1m"}}
    shape = shape_of(params)
    specs = _specs([(t.criterion.text, t.min_calls) for t in shape.triggers])
    print(f"healthy canaries, {FUNCTIONS} functions, steps 10%/10m then 50%/5m, cap 10m, triggers "
          f"{' and '.join(TRIGGERS)} (300 calls each), judge 50 calls; {runs} runs a rate")
    print(f"{'calls/min/fn':>12} {'step':>5} {'preflight flags':<52} {'inconclusive':>12} {'fail-safe*':>10} "
          f"{'flagged':>8} {'median look':>11} {'trigger fired':>13}")
    for rate in rates:
        rng = np.random.default_rng(seed + int(rate))
        samples = plan_samples(shape, Traffic({f"fn-{j}": float(rate) for j in range(FUNCTIONS)}))
        for step in STEPS[:-1]:
            weight = float(step["weight"])
            flags = flagged(samples, weight)
            outcomes = [step_outcome(rng, rate, weight, int(step["bake_s"]) // 60, 10, specs, FUNCTIONS)
                        for _ in range(runs)]
            stuck = [o for o in outcomes if o[0] == "inconclusive"]
            unflagged = sum(1 for o in stuck if not o[1] <= flags)
            fail_safe = sum(1 for _ in stuck) if not flags else 0
            shown = ", ".join(sorted(flags)) or "none (every criterion decides)"
            share = f"{1 - unflagged / len(stuck):.0%}" if stuck else "-"
            looks = sorted(o[2] for o in outcomes if o[0] == "left")
            median = f"{looks[len(looks) // 2]}" if looks else "-"
            fired = sum(1 for o in outcomes if o[0] == "fail")
            print(f"{rate:>12g} {weight:>4g}% {shown[:52]:<52} {len(stuck):>12} {fail_safe:>10} {share:>8} "
                  f"{median:>11} {fired:>13}")
    print("* inconclusive runs at a step where preflight said every criterion decides (target 0); flagged: of the "
          "runs left inconclusive, the share whose waiting criteria preflight had all flagged (target 100%)")


def calls_per_look(sizes: Sequence[int]) -> None:
    print("\nGetMetricData calls of the triggers' part of one look (600 calls/min, 10%, 6 minutes in):")
    from golive.analysis.criteria import parse_criterion

    specs = [CriterionSpec(criterion=(c := parse_criterion(text)), metric=DEFAULT_METRICS[c.metric], trigger=True,
                           min_calls=300) for text in TRIGGERS]
    for n in sizes:
        rng = np.random.default_rng(n)
        calls = rng.poisson(60.0, size=(10, n)).astype(float)
        scopes = [Scope(f"fn-{j}", "live", "2") for j in range(n)]
        first = SHIFT.replace(second=0) + timedelta(minutes=1)
        source = SimSource(calls, np.zeros_like(calls), np.full_like(calls, 320.0), scopes, first)
        look(specs, source, scopes, first, first + timedelta(minutes=6))
        print(f"  {n:>3} functions: {source.api_calls} calls (every per-minute series of the triggers in one fetch)")
    print("  a whole look (these, the judge's counts and the latency tail's, asked together) is one call at 5 and 20"
          " functions, three at 100, plus the stable's history once a canary: bench/look_calls.py")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=100)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    started = time.perf_counter()
    decidability([600, 60, 6], args.runs, args.seed)
    calls_per_look([5, 20, 100])
    print(f"\n({time.perf_counter() - started:.1f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
