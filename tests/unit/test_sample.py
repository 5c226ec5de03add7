"""Knowing a canary's sample before the shift: calls per window, whether each criterion decides, what it detects."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from golive.analysis.canary_sample import shape_of
from golive.analysis.metrics import Fetch, Scope, Series, SeriesRequest
from golive.analysis.sample import Sample, Traffic, plan_samples, read_traffic

RUNBOOK = ["error_rate > 5% immediately", "p95_duration > 5s for 2m", "alarm bbws-data-corruption", "incident P0"]


def params(*, bake_s: float = 60.0, extension: str = "10m", triggers: list[str] | None = None,
           judge: object = True) -> dict[str, object]:
    stored = [{"criterion": t} if " " in t and not t.startswith(("alarm", "incident")) else {"alarm": t}
              for t in (triggers if triggers is not None else RUNBOOK)]
    return {"project": "cart", "functions": {"prefix": "cart-"}, "alias": "live",
            "steps": [{"weight": 10, "bake_s": bake_s}, {"weight": 50, "bake_s": bake_s}, {"weight": 100}],
            "triggers": stored, "min_invocations": 300,
            "analysis": {"max_extension": extension, "delay": "1m", "interval": "1m", "judge": judge}}


def traffic(rate: float, functions: int = 3, error_rate: float = 0.01) -> Traffic:
    names = [f"cart-{i}" for i in range(functions)]
    return Traffic({n: rate for n in names}, 60.0, {n: rate * 60 * error_rate for n in names},
                   {n: 0.12 for n in names}, {n: 0.45 for n in names})


def by(samples: list[Sample], weight: float, criterion: str) -> Sample:
    return next(s for s in samples if s.weight == weight and s.criterion == criterion)


def test_the_issue_trigger_at_10_percent_of_600_a_minute_grows_its_window_to_5_minutes_within_the_cap() -> None:
    samples = plan_samples(shape_of(params()), traffic(600))
    slow = by(samples, 10, "trigger p95_duration > 5s for 2m")
    assert slow.expected == pytest.approx(120)  # 60 canary calls a minute in a 2-minute window
    assert (slow.needed, slow.minutes_needed, slow.grows_to) == (300, 5, 5)
    assert slow.decides  # 5 minutes of the step's traffic fit in the 1m bake and its 10m cap
    assert "decides, window grows to 5m (the bake extends): 120 calls per 2m window" in slow.line()
    assert by(samples, 50, "trigger p95_duration > 5s for 2m").grows_to is None  # 300/min: 600 calls in 2m


def test_without_an_extension_cap_the_same_trigger_cannot_decide_and_says_what_window_would() -> None:
    samples = plan_samples(shape_of(params(extension="0s")), traffic(600))
    slow = by(samples, 10, "trigger p95_duration > 5s for 2m")
    assert not slow.decides
    assert slow.line() == ("cart at 10%: trigger p95_duration > 5s for 2m: cannot decide: 120 calls per 2m window "
                           "(60/min on cart-0), needs 300; a 5m window would suffice, the bake and its cap allow 0m")


def test_at_6_calls_a_minute_every_criterion_of_the_first_step_is_flagged() -> None:
    samples = plan_samples(shape_of(params(bake_s=600)), traffic(6))
    first = [s for s in samples if s.weight == 10]
    assert {s.criterion for s in first} == {"trigger error_rate > 5% immediately", "trigger p95_duration > 5s for 2m",
                                            "judge errors", "judge p95_duration"}
    assert not any(s.decides for s in first)
    assert by(samples, 10, "judge errors").minutes_needed == 84  # 50 calls at 0.6 a minute


def test_the_quietest_function_decides() -> None:
    mixed = Traffic({"cart-a": 600.0, "cart-b": 20.0}, 60.0)
    sample = by(plan_samples(shape_of(params()), mixed), 10, "trigger error_rate > 5% immediately")
    assert (sample.function, sample.per_minute) == ("cart-b", pytest.approx(2.0))
    assert not sample.decides


def test_the_judge_says_what_it_can_catch_and_catches_less_with_less_traffic() -> None:
    shape = shape_of(params(bake_s=600))
    busy = by(plan_samples(shape, traffic(600, 5)), 10, "judge errors").detects
    quiet = by(plan_samples(shape, traffic(60, 5)), 10, "judge errors").detects
    ratio = [float(text.split(" x")[1].split(" ")[0]) for text in (busy, quiet)]
    assert 1 < ratio[0] < 3 < ratio[1]  # 1% -> 3% is caught at 600/min, not at 60/min in one bake
    tail = by(plan_samples(shape, traffic(600, 5)), 10, "judge p95_duration").detects
    assert "above stable p95 x1.1" in tail and "latency x" in tail


def test_a_plan_with_the_judge_off_has_only_its_triggers() -> None:
    samples = plan_samples(shape_of(params(judge=False)), traffic(600))
    assert {s.criterion.split(" ")[0] for s in samples} == {"trigger"}
    assert {s.weight for s in samples} == {10, 50}  # the promotion has no bake


class _Source:
    def __init__(self, answer: Fetch) -> None:
        self.answer = answer
        self.asked: list[SeriesRequest] = []

    def fetch(self, requests: list[SeriesRequest], start: datetime, end: datetime) -> Fetch:
        self.asked += requests
        return self.answer

    def window(self, length: timedelta) -> tuple[datetime, datetime]:
        raise AssertionError


def test_reading_traffic_asks_once_for_the_stable_hour_and_reports_a_failure() -> None:
    end = datetime(2026, 1, 10, 12, tzinfo=UTC)
    scope = Scope("cart-0", "live", "3")
    calls = SeriesRequest(scope, "invocations", "Sum", 60)
    hour = tuple((end - timedelta(minutes=m), 600.0) for m in range(60, 0, -1))
    source = _Source(Fetch(series={calls: Series(calls, hour)}))
    found, error = read_traffic(source, [scope], end)
    assert error is None and found is not None
    assert found.per_minute == {"cart-0": 600.0} and found.minutes == 60
    assert len(source.asked) == 4  # calls, errors, p50, p95 of one function, in one fetch
    failed, why = read_traffic(_Source(Fetch(error="cloudwatch:GetMetricData did not answer")), [scope], end)
    assert failed is None and why == "cloudwatch:GetMetricData did not answer"


def test_a_world_younger_than_the_hour_is_read_over_the_minutes_it_has() -> None:
    end = datetime(2026, 1, 10, 12, tzinfo=UTC)
    busy, quiet = Scope("cart-0", "live", "3"), Scope("cart-1", "live", "3")
    ten = tuple((end - timedelta(minutes=m), 600.0) for m in range(10, 0, -1))
    late = ((end - timedelta(minutes=2), 6.0),)  # a quiet function's first call came late: the span is the world's
    series = {SeriesRequest(busy, "invocations", "Sum", 60): ten, SeriesRequest(quiet, "invocations", "Sum", 60): late}
    found, error = read_traffic(_Source(Fetch(series={r: Series(r, p) for r, p in series.items()})), [busy, quiet], end)
    assert error is None and found is not None
    assert found.minutes == 10
    assert found.per_minute == {"cart-0": 600.0, "cart-1": 0.6}
