"""The criterion language, units and metric definitions: what parses, what it means, and what the errors say."""

from __future__ import annotations

from datetime import timedelta

import pytest

from golive.analysis.criteria import Kind, Op, Unit, parse_criterion
from golive.analysis.metrics import DEFAULT_METRICS, Aggregation, parse_metric_def, resolve_metric
from golive.analysis.units import format_duration, parse_duration, parse_percent


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("10m", timedelta(minutes=10)),
        ("48h", timedelta(hours=48)),
        ("30s", timedelta(seconds=30)),
        ("1h30m", timedelta(hours=1, minutes=30)),
        ("2d", timedelta(days=2)),
        ("500ms", timedelta(milliseconds=500)),
        ("1.5s", timedelta(milliseconds=1500)),
        (" 6h ", timedelta(hours=6)),
    ],
)
def test_parse_duration(text: str, expected: timedelta) -> None:
    assert parse_duration(text) == expected


@pytest.mark.parametrize("text", ["", "10", "10x", "m10", "1h 30m", "-5m", "ten minutes", "1.h"])
def test_parse_duration_rejects(text: str) -> None:
    with pytest.raises(ValueError, match="invalid duration") as info:
        parse_duration(text)
    assert "e.g. 30s, 10m, 1h30m" in str(info.value)


def test_format_duration_round_trips() -> None:
    for text in ["1h30m", "10m", "2d", "500ms", "45s", "1d2h"]:
        assert format_duration(parse_duration(text)) == text


@pytest.mark.parametrize(("text", "fraction"), [("0.1%", 0.001), ("5%", 0.05), ("100%", 1.0), ("0%", 0.0)])
def test_parse_percent(text: str, fraction: float) -> None:
    assert parse_percent(text) == pytest.approx(fraction)


@pytest.mark.parametrize("text", ["0.1", "%", "five%", "-1%", "1 %"])
def test_parse_percent_rejects(text: str) -> None:
    with pytest.raises(ValueError, match="expected a number followed by %"):
        parse_percent(text)


def test_error_rate_percentage() -> None:
    c = parse_criterion("error_rate < 0.1%")
    assert (c.metric, c.op, c.kind, c.unit) == ("error_rate", Op.LT, Kind.ABSOLUTE, Unit.FRACTION)
    assert (c.window, c.immediate) == (None, False)
    assert c.threshold == pytest.approx(0.001)
    assert c.holds(0.0005)
    assert not c.holds(0.001)
    assert not c.holds(0.02)
    assert c.text == "error_rate < 0.1%"


def test_durations_are_seconds() -> None:
    assert parse_criterion("p95_duration < 2s").threshold == 2.0
    assert parse_criterion("p95_duration < 500ms").threshold == pytest.approx(0.5)
    assert parse_criterion("p95_duration < 1.5s").threshold == pytest.approx(1.5)
    c = parse_criterion("p95_duration < 500ms")
    assert c.unit is Unit.SECONDS
    assert c.holds(0.499)
    assert not c.holds(0.7)


def test_equality_with_zero() -> None:
    c = parse_criterion("throttles == 0")
    assert c.op is Op.EQ and c.unit is Unit.NUMBER
    assert c.holds(0.0)
    assert not c.holds(1.0)
    assert parse_criterion("throttles != 0").holds(3.0)


def test_comparisons_at_the_boundary() -> None:
    assert parse_criterion("x <= 5").holds(5.0)
    assert not parse_criterion("x < 5").holds(5.0)
    assert parse_criterion("x >= 5").holds(5.0)
    assert not parse_criterion("x > 5").holds(5.0)
    # 0.1% as a float is not exactly 0.001; the comparison must not depend on that
    assert parse_criterion("error_rate <= 0.1%").holds(1 / 1000)


def test_relative_criterion_needs_a_baseline() -> None:
    c = parse_criterion("p95_duration <= +10%")
    assert c.kind is Kind.RELATIVE and c.relative
    assert c.threshold == pytest.approx(0.10)
    assert c.bound(2.0) == pytest.approx(2.2)
    assert c.holds(2.1, baseline=2.0)
    assert not c.holds(2.3, baseline=2.0)
    with pytest.raises(ValueError, match="relative to a baseline"):
        c.holds(2.1)
    assert "+10% of 2s (2.2s)" in c.describe_threshold(2.0, Unit.SECONDS)


def test_negative_relative_change() -> None:
    c = parse_criterion("invocations >= -5%")
    assert c.threshold == pytest.approx(-0.05)
    assert c.holds(96.0, baseline=100.0)
    assert not c.holds(94.0, baseline=100.0)


def test_immediately_and_window() -> None:
    now = parse_criterion("error_rate > 5% immediately")
    assert now.immediate and now.window is None and now.threshold == pytest.approx(0.05)
    assert now.holds(0.08)
    sustained = parse_criterion("p95_duration > 5s for 15m")
    assert sustained.window == timedelta(minutes=15) and not sustained.immediate
    assert sustained.holds(6.0)


def test_whitespace_is_normalised() -> None:
    c = parse_criterion("  error_rate<0.1%  ")
    assert c.metric == "error_rate" and c.threshold == pytest.approx(0.001)
    assert c.text == "error_rate<0.1%"


def test_to_dict_is_json_ready() -> None:
    d = parse_criterion("p95_duration > 5s for 15m").to_dict()
    assert d == {"text": "p95_duration > 5s for 15m", "metric": "p95_duration", "op": ">", "threshold": 5.0,
                 "kind": "absolute", "unit": "seconds", "window_seconds": 900.0, "immediate": False,
                 "min_calls": None}


def test_min_calls_says_how_much_data_a_trigger_needs() -> None:
    c = parse_criterion("error_rate > 5% immediately min 300 calls")
    assert (c.immediate, c.min_calls, c.threshold) == (True, 300, pytest.approx(0.05))
    assert parse_criterion("p95_duration > 5s for 15m min 50 invocations").min_calls == 50
    assert parse_criterion("error_rate > 5% immediately").min_calls is None


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "empty criterion"),
        ("   ", "empty criterion"),
        ("< 5", "expected a metric name first"),
        ("error_rate", "expected a comparison (<, <=, >, >=, ==, !=) after 'error_rate', found 'nothing'"),
        ("error_rate is 5%", "found 'is'"),
        ("throttles = 0", "use '==' to compare for equality"),
        ("error_rate <", "missing a threshold after '<'"),
        ("error_rate < five", "invalid threshold 'five'"),
        ("p95_duration < 2 s", "write the unit next to the number, as in '2s'"),
        ("error_rate < 0.1 %", "as in '0.1%'"),
        ("p95_duration <= +10", "a relative threshold is a signed percentage"),
        ("p95_duration > 5s for", "'for' needs a duration"),
        ("p95_duration > 5s for ever", "invalid window 'ever'"),
        ("p95_duration > 5s for 0m", "longer than zero"),
        ("p95_duration > 5s for 5m for 6m", "'for' given twice"),
        ("error_rate > 5% soon", "unexpected 'soon' after the threshold"),
        ("error_rate > 5% immediately for 1m", "contradict each other"),
        ("error_rate > 5% min calls", "expected 'min N calls'"),
        ("error_rate > 5% min 300", "expected 'min N calls'"),
        ("error_rate > 5% min 0 calls", "at least 1 call"),
        ("error_rate > 5% min 3 calls min 4 calls", "'min' given twice"),
    ],
)
def test_errors_say_what_is_wrong(text: str, message: str) -> None:
    with pytest.raises(ValueError) as info:
        parse_criterion(text)
    assert message in str(info.value)
    assert "\n" not in str(info.value)


def test_non_string_is_refused() -> None:
    with pytest.raises(ValueError, match="a criterion is a string"):
        parse_criterion(5)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("text", "aggregation", "stat", "metric", "cloudwatch", "unit"),
    [
        ("sum(throttles)", Aggregation.SUM, "Sum", "throttles", "Throttles", Unit.NUMBER),
        ("avg(duration)", Aggregation.AVG, "Average", "duration", "Duration", Unit.SECONDS),
        ("max(concurrent_executions)", Aggregation.MAX, "Maximum", "concurrent_executions", "ConcurrentExecutions", Unit.NUMBER),
        ("p95(duration)", Aggregation.PERCENTILE, "p95", "duration", "Duration", Unit.SECONDS),
        ("p99.9( duration )", Aggregation.PERCENTILE, "p99.9", "duration", "Duration", Unit.SECONDS),
        ("errors / invocations", Aggregation.RATIO, "Sum", "errors", "Errors", Unit.FRACTION),
        ("sum(throttles)/sum(invocations)", Aggregation.RATIO, "Sum", "throttles", "Throttles", Unit.FRACTION),
    ],
)
def test_metric_definitions(text: str, aggregation: Aggregation, stat: str, metric: str, cloudwatch: str, unit: Unit) -> None:
    d = parse_metric_def(text, "m")
    assert (d.aggregation, d.stat, d.metric) == (aggregation, stat, metric)
    assert (d.cloudwatch_name, d.unit, d.name) == (cloudwatch, unit, "m")


def test_ratio_reads_both_metrics_and_durations_scale_to_seconds() -> None:
    ratio = parse_metric_def("errors / invocations")
    assert ratio.lambda_metrics == ("errors", "invocations")
    assert ratio.denominator_cloudwatch_name == "Invocations"
    assert ratio.scale == 1.0
    assert parse_metric_def("p95(duration)").scale == 0.001


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "empty metric definition"),
        ("errors", "say how to aggregate it: sum(errors)"),
        ("sum(requests)", "unknown Lambda metric 'requests'"),
        ("errors / ", "a ratio is 'X / Y'"),
        ("a / b / c", "a ratio is 'X / Y'"),
        ("avg(errors) / invocations", "each side of a ratio is a metric or sum(metric), not 'avg(errors)'"),
        ("median(duration)", "expected sum(X), avg(X), max(X), pNN(X) or X / Y"),
        ("p0(duration)", "between p0 and p100"),
        ("p101(duration)", "between p0 and p100"),
    ],
)
def test_metric_definition_errors(text: str, message: str) -> None:
    with pytest.raises(ValueError) as info:
        parse_metric_def(text)
    assert message in str(info.value)


def test_resolve_checks_units() -> None:
    assert resolve_metric(parse_criterion("error_rate < 0.1%"), DEFAULT_METRICS).name == "error_rate"
    assert resolve_metric(parse_criterion("error_rate == 0"), DEFAULT_METRICS).name == "error_rate"
    assert resolve_metric(parse_criterion("p95_duration <= +10%"), DEFAULT_METRICS).name == "p95_duration"
    with pytest.raises(ValueError, match="unknown metric 'latency'"):
        resolve_metric(parse_criterion("latency < 2s"), DEFAULT_METRICS)
    with pytest.raises(ValueError, match=r"compared with a percentage such as 0\.1%"):
        resolve_metric(parse_criterion("error_rate < 0.5"), DEFAULT_METRICS)
    with pytest.raises(ValueError, match="compared with a duration"):
        resolve_metric(parse_criterion("p95_duration < 2"), DEFAULT_METRICS)
    with pytest.raises(ValueError, match="compared with a plain number"):
        resolve_metric(parse_criterion("throttles < 5%"), DEFAULT_METRICS)
