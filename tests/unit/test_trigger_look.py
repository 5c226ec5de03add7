"""Every trigger looks at the step's own minutes, its window grown to the calls it needs, in one fetch a look."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

from golive.analysis.criteria import parse_criterion
from golive.analysis.evaluate import CriterionSpec
from golive.analysis.measurement import MeasurementOutcome
from golive.analysis.metrics import DEFAULT_METRICS, Fetch, Scope, Series, SeriesRequest
from golive.analysis.trigger_look import look

FIRST = datetime(2026, 1, 10, 12, 1, tzinfo=UTC)
SCOPES = [Scope("cart-a", "live", "2"), Scope("cart-b", "live", "2")]
MINUTE = timedelta(minutes=1)


class Minutes:
    """Per-minute calls (60 a minute), no errors, and a p95 per minute (ms) from ``p95``; counts its fetches."""

    def __init__(self, p95: Sequence[float]) -> None:
        self.p95 = p95
        self.fetches = 0

    def fetch(self, requests: Sequence[SeriesRequest], start: datetime, end: datetime) -> Fetch:
        self.fetches += 1
        series = {}
        for r in requests:
            points = []
            at = start
            while at < end:
                m = int((at - FIRST) / MINUTE)
                value = {"invocations": 60.0, "errors": 0.0}.get(r.metric, self.p95[m] if m < len(self.p95) else 300.0)
                points.append((at, value))
                at += MINUTE
            series[r] = Series(r, tuple(points))
        return Fetch(series=series)

    def window(self, length: timedelta) -> tuple[datetime, datetime]:
        raise AssertionError


def spec(text: str, min_calls: int = 300) -> CriterionSpec:
    c = parse_criterion(text)
    return CriterionSpec(criterion=c, metric=DEFAULT_METRICS[c.metric], trigger=True, min_calls=min_calls)


def test_a_two_minute_trigger_waits_for_its_300_calls_then_judges_a_grown_window_in_one_fetch() -> None:
    source = Minutes([300.0] * 10)
    slow = spec("p95_duration > 5s for 2m")
    (early,) = look([slow], source, SCOPES, FIRST, FIRST + 3 * MINUTE)
    assert early.evaluation is None
    assert early.waiting == "trigger p95_duration > 5s for 2m has 180 of 300 calls on cart-a:live@2 (window grows to 5m)"
    assert early.measurement() is not None and "fewer than the 300 it needs" in early.measurement().message
    found = look([slow, spec("error_rate > 5% immediately")], source, SCOPES, FIRST, FIRST + 5 * MINUTE)
    assert all(t.evaluation is not None and t.evaluation.outcome is MeasurementOutcome.SUCCESSFUL for t in found)
    assert found[0].start == FIRST  # grown back to the step's first minute: 300 calls
    assert source.fetches == 2  # one a look


def test_no_complete_minute_of_the_step_yet_is_waiting_not_quiet() -> None:
    source = Minutes([])
    (t,) = look([spec("error_rate > 5% immediately")], source, SCOPES, FIRST, FIRST)
    assert t.evaluation is None and "first complete minute" in t.waiting and source.fetches == 0


def test_a_sustained_trigger_longer_than_the_step_waits_while_every_minute_breaches_and_is_quiet_otherwise() -> None:
    long = spec("p95_duration > 5s for 15m", min_calls=60)
    (breaching,) = look([long], Minutes([6000.0] * 5), SCOPES, FIRST, FIRST + 5 * MINUTE)
    assert breaching.evaluation is None and "breached in every minute of this step so far (5m of its 15m)" in \
        breaching.waiting
    (quiet,) = look([long], Minutes([6000.0, 300.0, 6000.0, 6000.0, 6000.0]), SCOPES, FIRST, FIRST + 5 * MINUTE)
    assert quiet.evaluation is not None and quiet.evaluation.outcome is MeasurementOutcome.SUCCESSFUL
    (fired,) = look([long], Minutes([6000.0] * 15), SCOPES, FIRST, FIRST + 15 * MINUTE)
    assert fired.evaluation is not None and fired.evaluation.outcome is MeasurementOutcome.FAILED
