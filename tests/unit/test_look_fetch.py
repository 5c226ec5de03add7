"""A look's series asked for at once: the triggers, the judge's counts and the tail's counts in one fetch."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

import pytest

from golive.analysis.criteria import parse_criterion
from golive.analysis.evaluate import CriterionSpec
from golive.analysis.judge import JudgeConfig
from golive.analysis.look_fetch import LookSource, look_requests
from golive.analysis.metrics import Fetch, Scope, Series, SeriesRequest, parse_metric_def
from golive.analysis.tails import fetch_tails

START = datetime(2026, 1, 8, 7, 0, tzinfo=UTC)
END = START + timedelta(minutes=5)
PAIRS = [(Scope(f"fn-{i}", "live", "2"), Scope(f"fn-{i}", "live", "1")) for i in range(3)]


class _Counting:
    """A source that answers every request with one point a period and counts the fetches."""

    def __init__(self, error: str | None = None) -> None:
        self.fetches: list[tuple[list[SeriesRequest], datetime, datetime]] = []
        self.error = error

    def fetch(self, requests: Sequence[SeriesRequest], start: datetime, end: datetime) -> Fetch:
        self.fetches.append((list(requests), start, end))
        if self.error:
            return Fetch(error=self.error)
        series = {}
        for r in requests:
            stamps = []
            at = start
            while at + timedelta(seconds=r.period) <= end:
                stamps.append((at, float(len(stamps) + 1)))
                at += timedelta(seconds=r.period)
            series[r] = Series(r, tuple(stamps))
        return Fetch(series=series)

    def window(self, length: timedelta) -> tuple[datetime, datetime]:
        return END - length, END


def _specs() -> list[CriterionSpec]:
    return [CriterionSpec(parse_criterion(text), parse_metric_def(metric, name), trigger=True, min_calls=300)
            for text, metric, name in (("error_rate > 5% immediately", "errors / invocations", "error_rate"),
                                       ("p95_duration > 5s for 2m", "p95(duration)", "p95_duration"))]


def test_a_look_asks_once_for_triggers_judge_counts_and_the_tails_first_round() -> None:
    first = START + timedelta(minutes=1)
    wanted = look_requests(_specs(), PAIRS, JudgeConfig(), first, START, END)
    assert len(wanted) == len(set(wanted))
    for canary, stable in PAIRS:
        for scope in (canary, stable):
            assert SeriesRequest(scope, "invocations", "Sum") in wanted
            assert SeriesRequest(scope, "errors", "Sum") in wanted
            assert SeriesRequest(scope, "duration", "SampleCount", 300) in wanted
            assert SeriesRequest(scope, "duration", "p95", 300) in wanted
        assert SeriesRequest(canary, "duration", "p95") in wanted  # the sustained latency trigger's minutes
    source = _Counting()
    look = LookSource(source, START, END)
    look.prefetch(wanted)
    assert len(source.fetches) == 1

    trigger = look.fetch([SeriesRequest(PAIRS[0][0], "errors", "Sum")], first, END)
    assert [t for t, _ in trigger.get(SeriesRequest(PAIRS[0][0], "errors", "Sum")).points] == \
        [first + timedelta(minutes=m) for m in range(4)]  # the step's minutes, sliced from the bake's
    tail = SeriesRequest(PAIRS[1][1], "duration", "p95", 300)
    assert look.fetch([tail], START, END).get(tail).points == ((START, 1.0),)
    assert len(source.fetches) == 1  # both served from the one fetch

    other = SeriesRequest(PAIRS[0][0], "duration", "p95", 240)  # a whole window that is not the bake's
    look.fetch([other], first, END)
    ranks = [SeriesRequest(PAIRS[0][0], "duration", "PR(495:)", 300)]
    look.fetch(ranks, START, END)
    assert [f[0] for f in source.fetches[1:]] == [[other], ranks]


def test_a_failed_look_fetch_is_every_readers_failure() -> None:
    look = LookSource(_Counting(error="cloudwatch:GetMetricData did not answer"), START, END)
    look.prefetch(look_requests(_specs(), PAIRS, JudgeConfig(), START, START, END))
    fetched = look.fetch([SeriesRequest(PAIRS[0][1], "invocations", "Sum")], START, END)
    assert fetched.error == "cloudwatch:GetMetricData did not answer"


def test_with_the_stables_lines_from_before_the_shift_the_tails_counts_are_in_the_looks_one_fetch() -> None:
    history = {stable.label: {"invocations": 36000.0, "errors": 360.0, "minutes": 60.0, "p95": 450.0, "p99": 600.0}
               for _, stable in PAIRS[:2]}  # the third function had no duration before the shift
    wanted = look_requests(_specs(), PAIRS, JudgeConfig(), START, START, END, history)
    canary, stable = PAIRS[0]
    assert SeriesRequest(canary, "duration", "PR(495:)", 300) in wanted  # 450 ms x1.1
    assert SeriesRequest(stable, "duration", "PR(450:)", 300) in wanted
    assert SeriesRequest(stable, "duration", "p95", 300) in wanted  # the window's own, should the line have drifted
    source = _Counting()
    look = LookSource(source, START, END)
    look.prefetch(wanted)
    tails, error = fetch_tails(look, PAIRS[:2], (0.95, 0.99), 0.10, START, END, history)
    assert error is None and len(source.fetches) == 1  # the tails of both functions came with the look
    p95 = tails[canary][0]
    assert p95.before and p95.reference == 0.45 and p95.threshold == pytest.approx(0.495)
    # the third function reads its line from the window: the percentile, then the ranks (a second call)
    tails, error = fetch_tails(look, PAIRS, (0.95, 0.99), 0.10, START, END, history)
    assert error is None and len(source.fetches) == 2 and not tails[PAIRS[2][0]][0].before
    assert all(r.stat.startswith("PR(") and r.scope.function == "fn-2" for r in source.fetches[1][0])


class _Odd(_Counting):
    """A CloudWatch whose percentile ranks say 150% and whose sample counts are NaN for the stable."""

    def fetch(self, requests: Sequence[SeriesRequest], start: datetime, end: datetime) -> Fetch:
        fetched = super().fetch(requests, start, end)
        odd = {}
        for r, s in fetched.series.items():
            value = 150.0 if r.stat.startswith("PR(") else float("nan") if r.stat == "SampleCount" and \
                r.scope.version == "1" else 600.0 if r.stat == "SampleCount" else None
            odd[r] = s if value is None else Series(r, tuple((t, value) for t, _ in s.points))
        return Fetch(series=odd)


def test_an_impossible_percentile_rank_or_sample_count_is_no_answer_not_a_crash() -> None:
    from golive.analysis.judge import VersionSeries, judge

    history = {stable.label: {"p95": 450.0, "p99": 600.0} for _, stable in PAIRS}
    tails, error = fetch_tails(_Odd(), PAIRS, (0.95, 0.99), 0.10, START, END, history)
    assert error is None
    for canary, _ in PAIRS:
        for t in tails[canary]:
            assert (t.samples, t.above, t.stable_samples, t.stable_above) == (600.0, 0.0, 0.0, 0.0)
    canaries = [VersionSeries(c.label, [120.0] * 5, {}, {}, {"p95_duration": tails[c]}) for c, _ in PAIRS]
    stables = [VersionSeries(s.label, [480.0] * 5) for _, s in PAIRS]
    verdict = judge(canaries, stables, JudgeConfig(metrics=JudgeConfig().metrics[1:]), final=True)
    assert verdict.outcome.value == "Successful", verdict.reason


class _SlowHour(_Counting):
    """The stable was slower in its hour before the shift: 0.8% of its calls in the window lie above that hour's
    p95, its own p95 over the window is 150 ms, and the canary (x3) has 90% of its calls above either line."""

    def fetch(self, requests: Sequence[SeriesRequest], start: datetime, end: datetime) -> Fetch:
        fetched = super().fetch(requests, start, end)

        def value(r: SeriesRequest) -> float | None:
            canary = r.scope.version == "2"
            if r.stat == "SampleCount":
                return 120.0 if canary else 1080.0
            if r.stat.startswith("PR("):
                return 90.0 if canary else 0.8 if r.stat == "PR(866:)" else 5.0
            if r.stat == "p95":
                return 450.0 if canary else 150.0
            return None

        return Fetch(series={r: s if value(r) is None else Series(r, tuple((t, value(r) or 0.0) for t, _ in s.points))
                             for r, s in fetched.series.items()})


def test_a_line_from_a_slower_hour_before_the_shift_is_left_out_for_the_windows_own() -> None:
    from golive.analysis.judge import VersionSeries, judge

    history = {stable.label: {"p95": 866.0} for _, stable in PAIRS[:1]}
    source = _SlowHour()
    tails, error = fetch_tails(source, PAIRS[:1], (0.95,), 0.10, START, END, history)
    assert error is None and len(source.fetches) == 2  # the window's own line, then its ranks
    (t,) = tails[PAIRS[0][0]]
    assert not t.before and t.reference == 0.15 and "p95 before the shift (866 ms) left out: 0.8%" in t.note
    assert (t.above, t.stable_above) == (108.0, 54.0)
    canary = VersionSeries(PAIRS[0][0].label, [24.0] * 5, {}, {}, {"p95_duration": tails[PAIRS[0][0]]})
    verdict = judge(canary, VersionSeries(PAIRS[0][1].label, [216.0] * 5),
                    JudgeConfig(metrics=JudgeConfig().metrics[1:], min_invocations=10), final=False)
    assert verdict.outcome.value == "Failed" and "left out" in verdict.results[0].history
