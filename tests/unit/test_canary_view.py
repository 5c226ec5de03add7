"""The canary view's series, from the judge's real evidence: per-look rates are the minutes each look added."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from golive.analysis.judge import TailCount, VersionSeries, judge
from golive.report import formatting as f
from golive.report.canary_view import error_rates, rollback_minute, section, tail_counts, weights
from golive.report.model import Canary, CanaryStep

T0 = datetime(2026, 1, 8, 7, 0, tzinfo=UTC)
# Per minute, per function: (canary calls, canary errors, stable calls, stable errors).
MINUTES = [(100, 1, 900, 2), (100, 4, 900, 1), (100, 9, 900, 3)]


def _step(minute: float, outcome: str, weight: float | None, judgement: dict[str, object] | None = None) -> CanaryStep:
    return CanaryStep(at=T0 + timedelta(minutes=minute), outcome=outcome, weight=weight, reason="", stable="1",
                      canary="2", functions=("a", "b"), judgement=judgement, measurements=())


def _look(upto: int) -> dict[str, object]:
    """The judge over the bake's first ``upto`` minutes, two functions with the same traffic."""
    minutes = MINUTES[:upto]
    calls, stable_calls = sum(m[0] for m in minutes), sum(m[2] for m in minutes)
    tails = [TailCount(q, 0.2, 0.22, calls, calls * (1 - q), stable_calls, stable_calls * (1 - q), 0.3)
             for q in (0.95, 0.99)]
    canaries = [VersionSeries(fn, [float(m[0]) for m in minutes], {"errors": [float(m[1]) for m in minutes]},
                              {}, {"p95_duration": tails}) for fn in ("a", "b")]
    stables = [VersionSeries(fn, [float(m[2]) for m in minutes], {"errors": [float(m[3]) for m in minutes]},
                             {"p95_duration": [0.2] * upto}) for fn in ("a", "b")]
    return judge(canaries, stables, final=upto == len(MINUTES)).to_dict()


@pytest.fixture
def canary() -> Canary:
    steps = [_step(0, "versions", None), _step(0, "shifted", 10.0),
             *(_step(i + 1, "analysis", 10.0, _look(i + 1)) for i in range(len(MINUTES))),
             _step(3.5, "rolled_back", 10.0)]
    return Canary("order_lambda", tuple(steps), "eu-west-1")


def test_the_error_chart_draws_the_rate_the_test_decides_on_and_where_it_rejects(canary: Canary) -> None:
    ours, theirs, bound = error_rates(canary)
    assert [x for x, _ in ours] == [1, 2, 3]
    for upto, (_, rate) in enumerate(ours, 1):  # the bake so far, pooled over both functions
        minutes = MINUTES[:upto]
        assert rate == pytest.approx(sum(m[1] for m in minutes) / sum(m[0] for m in minutes))
    assert [y for _, y in theirs] == pytest.approx(
        [sum(m[3] for m in MINUTES[:u]) / sum(m[2] for m in MINUTES[:u]) for u in (1, 2, 3)])
    assert len(bound) == 3
    # The last look failed on errors: its canary rate is at or above the bound; the first passed: below it.
    assert ours[-1][1] >= bound[-1][1] and ours[0][1] < bound[0][1]
    assert all(b > s for (_, b), (_, s) in zip(bound, theirs, strict=True))  # the bound lies above the stable's rate


def test_a_new_bake_starts_its_counts_afresh(canary: Canary) -> None:
    steps = [*canary.steps[:3], _step(1.5, "shifted", 50.0), _step(2, "analysis", 50.0, _look(1))]
    ours, _, _ = error_rates(Canary("order_lambda", tuple(steps)))
    assert [y for _, y in ours] == pytest.approx([0.01, 0.01])


def test_the_tail_chart_counts_calls_above_the_stable_p95_against_the_most_allowed(canary: Canary) -> None:
    above, allowed, tolerance = tail_counts(canary)
    assert tolerance == pytest.approx(0.10)
    # Each function had 5% of its calls above the threshold: 5 of 100 a minute each, pooled over two functions.
    assert [y for _, y in above] == pytest.approx([10.0, 20.0, 30.0])
    assert len(allowed) == 3 and all(a >= c for (_, a), (_, c) in zip(allowed, above, strict=True))
    assert [a for _, a in allowed] == sorted(a for _, a in allowed)  # more calls, more allowed


def test_weights_drop_to_zero_at_the_rollback_minute(canary: Canary) -> None:
    assert weights(canary) == [(0, 10.0), (3.5, 10.0), (3.5, 0.0)]
    assert rollback_minute(canary) == 3.5


def test_one_row_per_analysis_with_the_worst_result(canary: Canary) -> None:
    rows = f.analysis_rows(canary)
    assert [r.minute for r in rows] == [1, 2, 3]
    last = rows[-1]
    assert last.verdict == "Failed" and last.metric == "errors" and last.p_value is not None
    assert last.boundary is not None and last.p_value < last.boundary and "<" in last.p_text
    html = section(canary)
    assert html.count('<tr class="analysis') == 3 and html.count("<svg") == 3 and "<details" in html
    assert html.count('<p class="legend">') == 2 and "rolls back above" in html and "tolerance ×1.10" not in html
    assert "calls above 220 ms (stable p95 200 ms x1.1)" in html  # the latency tail's threshold x in the numbers
