"""The canary judge on hand-made data: decisions, sample-size rules, sequential looks, and its evidence."""

from __future__ import annotations

import json
import math
from dataclasses import replace

import pytest

from golive.analysis.judge import (
    Direction,
    JudgeConfig,
    MetricKind,
    MetricPolicy,
    TailCount,
    VersionSeries,
    config_for,
    judge,
    tolerances,
)
from golive.analysis.measurement import MeasurementOutcome
from golive.analysis.measurement import MeasurementOutcome as Outcome


def series(scope: str, invocations: int, errors: list[int], p95: list[float], *, above: tuple[float, float] | None = None,
           stable_calls: int = 5400) -> VersionSeries:
    """A version's minutes; ``above``: the canary's calls above the stable's p95 and p99 (x1.1) over the window."""
    calls = invocations * len(errors)
    tails = [] if above is None else [
        TailCount(0.95, 0.30, 0.33, calls, above[0], stable_calls, round(stable_calls * 0.05), 0.30),
        TailCount(0.99, 0.60, 0.66, calls, above[1], stable_calls, round(stable_calls * 0.01), 0.60)]
    return VersionSeries(scope, [invocations] * len(errors), {"errors": errors}, {"p95_duration": p95},
                         {"p95_duration": tails} if tails else {})


STABLE_P95 = [0.30, 0.31, 0.29, 0.32, 0.30, 0.31, 0.30, 0.29, 0.31, 0.30]


def test_healthy_canary_is_successful_with_its_numbers() -> None:
    canary = series("fn-a", 60, [1, 0, 0, 1, 0, 0, 1, 0, 0, 0], [0.30, 0.29, 0.31, 0.30, 0.28, 0.32, 0.30, 0.31, 0.29, 0.30],
                    above=(22, 4))
    stable = series("fn-a", 540, [5, 6, 4, 5, 6, 5, 4, 6, 5, 5], STABLE_P95)
    verdict = judge(canary, stable, final=True)
    assert verdict.outcome is MeasurementOutcome.SUCCESSFUL
    errors = next(r for r in verdict.results if r.metric == "errors")
    assert (errors.n_canary, errors.n_stable) == (600, 5400)
    assert errors.p_value is not None and errors.p_value > 0.5
    assert errors.alpha == JudgeConfig().alpha_final
    assert "canary 3 in 600" in errors.message
    tail = next(r for r in verdict.results if r.metric == "p95_duration" and r.quantile == 0.95)
    assert tail.threshold == pytest.approx(0.33) and tail.expected == pytest.approx(0.05)
    assert tail.statistic == 22 and tail.n_canary == 600 and tail.look == "final"
    assert "22 of 600 calls above 330 ms" in tail.message
    json.dumps(verdict.to_dict())


def test_error_regression_fails_with_evidence() -> None:
    canary = series("fn-a", 60, [2, 3, 1, 2, 2, 3, 2, 1, 2, 2], STABLE_P95)
    stable = series("fn-a", 540, [5, 6, 4, 5, 6, 5, 4, 6, 5, 5], STABLE_P95)
    verdict = judge(canary, stable, final=True)
    assert verdict.outcome is MeasurementOutcome.FAILED
    assert "critical metric errors failed on fn-a" in verdict.reason
    errors = next(r for r in verdict.results if r.metric == "errors")
    assert errors.effect == pytest.approx((20 / 600) / (51 / 5400))
    assert errors.p_value is not None and errors.p_value < JudgeConfig().alpha_final


def test_interim_looks_are_stricter_than_the_final_one() -> None:
    # borderline evidence: enough to fail at the end of the bake, not at an interim look
    canary = series("fn-a", 60, [2, 1, 2, 1, 2, 1, 2, 1, 2, 2], STABLE_P95, above=(30, 6))
    stable = series("fn-a", 540, [5, 6, 4, 5, 6, 5, 4, 6, 5, 5], STABLE_P95)
    interim, final = judge(canary, stable, final=False), judge(canary, stable, final=True)
    p = next(r for r in final.results if r.metric == "errors").p_value
    assert p is not None and JudgeConfig().alpha_interim < p < JudgeConfig().alpha_final
    assert interim.outcome is MeasurementOutcome.SUCCESSFUL
    assert final.outcome is MeasurementOutcome.FAILED


def test_a_slow_canary_fails_by_its_calls_above_the_stable_percentile() -> None:
    zeros = [0] * 10
    stable = series("fn-a", 540, zeros, STABLE_P95)
    slow = series("fn-a", 60, zeros, STABLE_P95, above=(60, 12))  # 10% above the stable's p95 x1.1, 2% above p99
    usual = series("fn-a", 60, zeros, STABLE_P95, above=(33, 7))
    failed = judge(slow, stable, final=True)
    assert failed.outcome is Outcome.FAILED and "p95_duration" in failed.reason
    p95 = next(r for r in failed.results if r.metric == "p95_duration" and r.quantile == 0.95)
    assert p95.effect == pytest.approx(2.0) and p95.low is not None and p95.low > 1.0
    assert p95.p_value is not None and p95.alpha is not None and p95.p_value < p95.alpha
    assert judge(usual, stable, final=True).outcome is Outcome.SUCCESSFUL
    scipy_stats = pytest.importorskip("scipy.stats")
    # the exact placement test: beta-binomial (n, stable above + 1, stable calls - stable above)
    assert p95.p_value == pytest.approx(float(scipy_stats.betabinom.sf(59, 600, 271, 5130)), rel=1e-4)


def test_the_stable_percentiles_own_noise_is_in_the_tail_test() -> None:
    # 30 stable calls: its p95 is nearly its maximum, 1 call above; 6 of 30 canary calls above it is not rare
    stable = series("fn-a", 30, [0], [0.3])
    canary = series("fn-a", 30, [0], [0.3], above=(6, 1), stable_calls=30)
    tail = next(r for r in judge(canary, stable, JudgeConfig(min_invocations=10), final=True).results
                if r.metric == "p95_duration" and r.quantile == 0.95)
    assert tail.p_value is not None and tail.p_value > 0.01
    scipy_stats = pytest.importorskip("scipy.stats")
    assert scipy_stats.binom.sf(5, 30, 0.05) < 0.01 < tail.p_value


def test_a_line_from_before_the_shift_compares_both_versions_shares_above_it() -> None:
    # The stable's p95 over its hour before the shift (300 ms) is a fixed line: the stable's calls above it in the
    # window (270 of 5,400, 5%) against the canary's above 330 ms, given both counts (a conditional binomial).
    stable = series("fn-a", 540, [0] * 10, STABLE_P95)

    def tail(above: float, stable_above: float) -> TailCount:
        return TailCount(0.95, 0.30, 0.33, 600, above, 5400, stable_above, 0.31, before=True)

    def judged(above: float, stable_above: float) -> tuple[Outcome, float | None, str]:
        canary = VersionSeries("fn-a", [60] * 10, {"errors": [0] * 10}, {},
                               {"p95_duration": [tail(above, stable_above), replace(tail(6, 54), quantile=0.99)]})
        found = judge(canary, stable, final=True)
        r = next(r for r in found.results if r.metric == "p95_duration" and r.quantile == 0.95)
        return r.outcome, r.p_value, r.message

    outcome, p, message = judged(60, 270)
    assert outcome is Outcome.FAILED and "(stable p95 before the shift 300 ms x1.1)" in message
    scipy_stats = pytest.importorskip("scipy.stats")
    assert p == pytest.approx(float(scipy_stats.binom.sf(59, 330, 600 / 6000)), rel=1e-6)
    # the same canary count where the stable itself now has 12% of its calls above the line: no worse than stable
    outcome, p, _ = judged(60, 650)
    assert outcome is Outcome.SUCCESSFUL and p is not None and p > 0.5


def test_a_projects_tail_from_lines_before_the_shift_sums_the_functions_counts() -> None:
    stable = [series(f"fn-{i}", 540, [0] * 10, STABLE_P95) for i in range(4)]

    def canary(i: int, above: float) -> VersionSeries:
        tails = [TailCount(q, 0.3, 0.33, 600, above * (1 - q) / 0.05, 5400, 5400 * (1 - q), 0.3, before=True)
                 for q in (0.95, 0.99)]
        return VersionSeries(f"fn-{i}", [60] * 10, {"errors": [0] * 10}, {}, {"p95_duration": tails})

    # each function a little above the stable's 5% (40 of 600 = 6.7%): no function alone, the project together
    verdict = judge([canary(i, 40) for i in range(4)], stable, final=True)
    results = [r for r in verdict.results if r.metric == "p95_duration" and r.quantile == 0.95]
    pooled = next(r for r in results if r.scope.startswith("pooled"))
    assert all(r.outcome is Outcome.SUCCESSFUL for r in results if r is not pooled)
    assert pooled.outcome is Outcome.FAILED and pooled.before and pooled.statistic == 160
    healthy = judge([canary(i, 30) for i in range(4)], stable, final=True)
    assert healthy.outcome is Outcome.SUCCESSFUL


def test_too_little_data_is_inconclusive() -> None:
    canary = series("fn-a", 6, [0, 0], [0.3, 0.3], above=(1, 0))
    stable = series("fn-a", 54, [1, 0], [0.3, 0.3])
    verdict = judge(canary, stable, final=True)
    assert verdict.outcome is MeasurementOutcome.INCONCLUSIVE
    assert {r.outcome for r in verdict.results} == {MeasurementOutcome.INCONCLUSIVE}
    assert "too little data" in verdict.reason


def test_pooled_test_sees_a_project_wide_regression() -> None:
    stable = [series(f"fn-{i}", 540, [5, 5, 5], [0.3, 0.3, 0.3]) for i in range(5)]
    canary = [series(f"fn-{i}", 60, [2, 2, 2], [0.3, 0.3, 0.3]) for i in range(5)]  # 3.3% vs 0.93%
    verdict = judge(canary, stable, final=False)
    assert verdict.outcome is MeasurementOutcome.FAILED
    pooled = next(r for r in verdict.results if r.scope.startswith("pooled"))
    per_function = [r for r in verdict.results if r.metric == "errors" and not r.scope.startswith("pooled")]
    assert pooled.outcome is MeasurementOutcome.FAILED
    assert all(r.outcome is MeasurementOutcome.SUCCESSFUL for r in per_function)
    assert pooled.n_canary == 900 and pooled.n_stable == 8100


def test_decrease_direction_and_non_critical_pass_share() -> None:
    policies = (
        MetricPolicy("throughput", MetricKind.CONTINUOUS, direction=Direction.DECREASE, tolerance=0.1),
        MetricPolicy("p95_duration", MetricKind.CONTINUOUS, tolerance=0.15),
        MetricPolicy("cold_starts", MetricKind.CONTINUOUS, tolerance=0.15),
        MetricPolicy("memory", MetricKind.CONTINUOUS, tolerance=0.15),
    )
    base = [100.0, 101.0, 99.0, 102.0, 98.0, 100.0]
    names = ("throughput", "p95_duration", "cold_starts", "memory")
    stable = VersionSeries("fn", [540] * 6, values=dict.fromkeys(names, base))
    canary = VersionSeries("fn", [60] * 6, values={"throughput": [v * 0.5 for v in base], "p95_duration": base,
                                                   "cold_starts": base, "memory": base})
    verdict = judge(canary, stable, JudgeConfig(metrics=policies), final=True)
    # one non-critical metric of four failed: 3/4 pass, at the pass share
    assert verdict.outcome is MeasurementOutcome.SUCCESSFUL and "throughput failed" in verdict.reason
    critical = tuple(MetricPolicy(p.name, p.kind, p.direction, critical=p.name == "throughput", tolerance=p.tolerance)
                     for p in policies)
    assert judge(canary, stable, JudgeConfig(metrics=critical), final=True).outcome is MeasurementOutcome.FAILED


def test_bad_input_is_refused() -> None:
    with pytest.raises(ValueError, match="same non-zero number"):
        judge([], [])
    with pytest.raises(ValueError, match="increases only"):
        MetricPolicy("errors", MetricKind.COUNT, direction=Direction.DECREASE)
    with pytest.raises(ValueError, match="tail metric"):
        MetricPolicy("p95_duration", MetricKind.TAIL, quantiles=(95,))
    assert tolerances(["p95_duration <= +10%"]) == {"p95_duration": pytest.approx(0.10)}
    with pytest.raises(ValueError, match="judge tolerance"):
        tolerances(["p95_duration < 2s"])
    assert math.isnan(float("nan"))


def test_the_plan_chooses_the_judged_metrics_and_their_minimum_minutes() -> None:
    canary = series("fn-a", 60, [0, 0, 1, 0, 0, 1, 0, 0, 0, 1], STABLE_P95, above=(290, 120))  # p95 x3
    stable = series("fn-a", 540, [5, 6, 4, 5, 6, 5, 4, 6, 5, 5], STABLE_P95)
    both = judge(canary, stable, config_for("project"), final=True)
    assert {r.metric for r in both.results} == {"errors", "p95_duration"}
    errors_only = judge(canary, stable, config_for("project", metrics=["errors"]), final=True)
    assert {r.metric for r in errors_only.results} == {"errors"}
    assert errors_only.outcome is Outcome.SUCCESSFUL
    assert both.outcome is Outcome.FAILED and "p95_duration" in both.reason
    loose = judge(canary, stable, config_for("project", tolerances={"p95_duration": 0.5}), final=True)
    assert {r.tolerance for r in loose.results if r.metric == "p95_duration"} == {0.5}
    critical = config_for("project", critical=["errors", "p95_duration"])
    assert all(p.critical for p in critical.metrics)
    assert judge(canary, stable, critical, final=True).reason.startswith("critical metric p95_duration failed")


def test_bigger_projects_and_more_bakes_share_the_false_rollback_budget() -> None:
    config = config_for("project")
    assert config.split(2).alpha_final == pytest.approx(config.alpha_final / 2)
    # Bonferroni over the project's functions: half of a metric's level on the pooled test, the rest split.
    for n in (5, 10, 20):
        canaries = [series(f"fn-{i}", 60, [0, 0, 0], [0.3] * 3, above=(9, 2)) for i in range(n)]
        stables = [series(f"fn-{i}", 540, [5, 5, 5], [0.3] * 3) for i in range(n)]
        verdict = judge(canaries, stables, config, final=True)
        errors = [r for r in verdict.results if r.metric == "errors"]
        assert len(errors) == n + 1
        assert [r.alpha for r in errors[:-1]] == pytest.approx([config.alpha_final / 2 / n] * n)
        assert errors[-1].scope.startswith("pooled") and errors[-1].alpha == pytest.approx(config.alpha_final / 2)
        tails = [r for r in verdict.results if r.metric == "p95_duration"]
        assert len(tails) == 2 * (n + 1)
        assert sum(r.alpha or 0.0 for r in tails) == pytest.approx(config.alpha_final)
    one = judge(series("fn", 60, [0], [0.3]), series("fn", 540, [5], [0.3]), config, final=False)
    assert next(r for r in one.results if r.metric == "errors").alpha == config.alpha_interim
    per_function = config_for("function")
    assert per_function.alpha(True, 10) == per_function.alpha_final


def test_one_compact_line_per_look_names_each_metrics_nearest_test() -> None:
    canaries = [series(f"fn-{i}", 60, [2, 3, 1, 2, 2, 3, 2, 1, 2, 2] if i == 0 else [0] * 10, STABLE_P95, above=(30, 6))
                for i in range(3)]
    stables = [series(f"fn-{i}", 540, [5, 6, 4, 5, 6, 5, 4, 6, 5, 5], STABLE_P95) for i in range(3)]
    verdict = judge(canaries, stables, final=True)
    line = verdict.compact()
    assert line.startswith("Failed (final): errors fn-0 20/600 x")
    assert "p95 tail pooled 90/1800 above" in line and "p99 tail pooled 18/1800 above" in line
    worst = min((r for r in verdict.results if r.metric == "errors"), key=lambda r: (r.p_value or 1) / (r.alpha or 1))
    assert f"p={worst.p_value:.2g}<{worst.alpha:.2g}" in line
    assert "\n" not in line and len(line) < 260


def test_the_stable_history_joins_the_baseline_unless_it_drifted() -> None:
    canary = series("fn-a", 60, [2, 1, 2, 1, 2, 1, 2, 1, 2, 2], STABLE_P95, above=(30, 6))  # 16 in 600: 2.7%
    stable = series("fn-a", 540, [5, 6, 4, 5, 6, 5, 4, 6, 5, 5], STABLE_P95)  # 51 in 5400: 0.94%
    alone = next(r for r in judge(canary, stable, final=True).results if r.metric == "errors")
    same = replace(stable, history={"invocations": 36000.0, "errors": 360.0, "minutes": 60.0})  # 1%: the same rate
    joined = next(r for r in judge(canary, same, final=True).results if r.metric == "errors")
    assert joined.n_stable == 5400 + 36000 and joined.history.startswith("joined stable history: 60 min")
    assert joined.p_value is not None and alone.p_value is not None and joined.p_value < alone.p_value
    drifted = replace(stable, history={"invocations": 36000.0, "errors": 90.0, "minutes": 60.0})  # 0.25%
    left_out = next(r for r in judge(canary, drifted, final=True).results if r.metric == "errors")
    assert left_out.n_stable == 5400 and left_out.p_value == alone.p_value
    assert left_out.history.startswith("history left out") and "drifted" in left_out.history
    scipy_stats = pytest.importorskip("scipy.stats")
    expected = 2 * scipy_stats.binom.cdf(90, 141, 36000 / 41400)  # two-sided by doubling the smaller tail
    assert f"p={expected:.2g}" in left_out.history


def test_a_confidence_level_is_shown_with_the_digits_that_tell_it_from_100_percent() -> None:
    from golive.analysis.judge import confidence

    assert confidence(0.95) == "95.00%"
    assert confidence(1 - 2 * 2.5e-6) == "99.9995%"
    assert confidence(0.9996) == "99.96%"


def test_a_function_whose_stable_had_no_calls_adds_nothing_to_the_pooled_tail_count() -> None:
    # fn-b's stable served nothing in the window: its canary calls above the line have no baseline to meet.
    stable = [series("fn-a", 540, [0] * 10, STABLE_P95), series("fn-b", 540, [0] * 10, STABLE_P95)]

    def pooled_p(b_above: float) -> float | None:
        a = [TailCount(q, 0.3, 0.33, 600, 600 * (1 - q), 5400, 5400 * (1 - q), 0.3, before=True) for q in (0.95, 0.99)]
        b = [TailCount(q, 0.3, 0.33, 40, b_above, 0, 0, 0.3, before=True) for q in (0.95, 0.99)]
        canaries = [VersionSeries(f"fn-{x}", [6.0] * 10, {"errors": [0] * 10}, {}, {"p95_duration": tails})
                    for x, tails in (("a", a), ("b", b))]
        found = judge(canaries, stable, JudgeConfig(min_invocations=10), final=True)
        pooled = next(r for r in found.results if r.metric == "p95_duration" and r.quantile == 0.95
                      and r.scope.startswith("pooled"))
        assert pooled.n_canary == 600 and pooled.statistic == 30
        return pooled.p_value

    assert pooled_p(0) == pooled_p(8) == pooled_p(40)


def test_the_charts_tail_bound_counts_a_function_with_too_little_data_as_the_pooled_test_does() -> None:
    from golive.report.canary_view import _decided
    from golive.report.decision_bounds import tail_allowed

    sizes = [600, 600, 30]  # the third function's canary has too little data for a test of its own
    stable = [series(f"fn-{i}", 540, [0] * 10, STABLE_P95) for i in range(3)]

    def judged(total: int) -> tuple[Outcome, float | None]:
        aboves = [total - 20 - (total - 20) // 2, (total - 20) // 2, 20]
        canaries = [VersionSeries(f"fn-{i}", [n / 10] * 10, {"errors": [0] * 10}, {}, {"p95_duration": [
            TailCount(q, 0.3, 0.33, n, a if q == 0.95 else 0, 5400, 5400 * (1 - q), 0.3, before=True)
            for q in (0.95, 0.99)]}) for i, (a, n) in enumerate(zip(aboves, sizes, strict=True))]
        found = judge(canaries, stable, final=True)
        chosen, functions = _decided([r.to_dict() for r in found.results], "p95_duration", 0.95)
        assert chosen is not None and len(functions) == 3
        pooled = next(r for r in found.results if r.quantile == 0.95 and r.scope.startswith("pooled"))
        return pooled.outcome, tail_allowed(chosen, functions)

    _, allowed = judged(60)
    assert allowed is not None
    assert judged(round(allowed))[0] is Outcome.SUCCESSFUL and judged(round(allowed) + 1)[0] is Outcome.FAILED
