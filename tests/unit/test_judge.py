"""The canary judge on hand-made data: decisions, sample-size rules, sequential looks, and its evidence."""

from __future__ import annotations

import json
import math

import pytest

from golive.analysis.judge import Direction, JudgeConfig, MetricKind, MetricPolicy, VersionSeries, config_for, judge
from golive.analysis.measurement import MeasurementOutcome


def series(scope: str, invocations: int, errors: list[int], p95: list[float]) -> VersionSeries:
    return VersionSeries(scope, [invocations] * len(errors), {"errors": errors}, {"p95_duration": p95})


STABLE_P95 = [0.30, 0.31, 0.29, 0.32, 0.30, 0.31, 0.30, 0.29, 0.31, 0.30]


def test_healthy_canary_is_successful_with_its_numbers() -> None:
    canary = series("fn-a", 60, [1, 0, 0, 1, 0, 0, 1, 0, 0, 0], [0.30, 0.29, 0.31, 0.30, 0.28, 0.32, 0.30, 0.31, 0.29, 0.30])
    stable = series("fn-a", 540, [5, 6, 4, 5, 6, 5, 4, 6, 5, 5], STABLE_P95)
    verdict = judge(canary, stable, final=True)
    assert verdict.outcome is MeasurementOutcome.SUCCESSFUL
    errors = next(r for r in verdict.results if r.metric == "errors")
    assert (errors.n_canary, errors.n_stable) == (600, 5400)
    assert errors.p_value is not None and errors.p_value > 0.5
    assert errors.alpha == JudgeConfig().alpha_final
    assert "canary 3 in 600" in errors.message
    json.dumps(verdict.to_dict())


def test_error_regression_fails_with_evidence() -> None:
    canary = series("fn-a", 60, [2, 3, 1, 2, 2, 3, 2, 1, 2, 2], STABLE_P95)
    stable = series("fn-a", 540, [5, 6, 4, 5, 6, 5, 4, 6, 5, 5], STABLE_P95)
    verdict = judge(canary, stable, final=True)
    assert verdict.outcome is MeasurementOutcome.FAILED
    assert "critical metric errors failed on fn-a" in verdict.reason
    errors = next(r for r in verdict.results if r.metric == "errors")
    assert errors.effect == pytest.approx((20 / 600) / (51 / 5400))
    assert errors.p_value is not None and errors.p_value < 0.003


def test_interim_looks_are_stricter_than_the_final_one() -> None:
    # borderline evidence: enough to fail at the end of the bake, not at an interim look
    canary = series("fn-a", 60, [2, 1, 2, 1, 2, 1, 2, 1, 2, 2], STABLE_P95)
    stable = series("fn-a", 540, [5, 6, 4, 5, 6, 5, 4, 6, 5, 5], STABLE_P95)
    interim, final = judge(canary, stable, final=False), judge(canary, stable, final=True)
    p = next(r for r in final.results if r.metric == "errors").p_value
    assert p is not None and JudgeConfig().alpha_interim < p < JudgeConfig().alpha_final
    assert interim.outcome is MeasurementOutcome.SUCCESSFUL
    assert final.outcome is MeasurementOutcome.FAILED


def test_latency_regression_needs_significance_and_effect_beyond_tolerance() -> None:
    zeros = [0] * 10
    stable = series("fn-a", 540, zeros, STABLE_P95)
    slow = series("fn-a", 60, zeros, [v * 1.3 for v in STABLE_P95])
    slightly = series("fn-a", 60, zeros, [v * 1.08 for v in STABLE_P95])
    failed = judge(slow, stable, final=True)
    assert failed.outcome is MeasurementOutcome.FAILED
    p95 = next(r for r in failed.results if r.metric == "p95_duration")
    assert p95.effect == pytest.approx(0.3, abs=0.05) and p95.low is not None and p95.low > 0
    assert "U=100" in p95.message and "10 vs 10 minutes" in p95.message
    # significant, but +8% is inside the 15% tolerance
    within = judge(slightly, stable, final=True)
    shifted = next(r for r in within.results if r.metric == "p95_duration")
    assert shifted.p_value is not None and shifted.p_value < 0.003
    assert within.outcome is MeasurementOutcome.SUCCESSFUL


def test_too_little_data_is_inconclusive() -> None:
    canary = series("fn-a", 6, [0, 0], [0.3, 0.3])
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
    assert math.isnan(float("nan"))


def test_the_plan_chooses_the_judged_metrics_and_their_minimum_minutes() -> None:
    canary = series("fn-a", 60, [0, 0, 1, 0, 0, 1, 0, 0, 0, 1], [p * 3 for p in STABLE_P95])  # p95 x3
    stable = series("fn-a", 540, [5, 6, 4, 5, 6, 5, 4, 6, 5, 5], STABLE_P95)
    both = judge(canary, stable, config_for("project"), final=True)
    assert {r.metric for r in both.results} == {"errors", "p95_duration"}
    errors_only = judge(canary, stable, config_for("project", metrics=["errors"]), final=True)
    assert {r.metric for r in errors_only.results} == {"errors"}
    assert errors_only.outcome is MeasurementOutcome.SUCCESSFUL
    assert both.outcome is MeasurementOutcome.FAILED and "p95_duration" in both.reason
    waiting = judge(canary, stable, config_for("project", min_minutes=11), final=True)
    p95 = next(r for r in waiting.results if r.metric == "p95_duration")
    assert p95.outcome is MeasurementOutcome.INCONCLUSIVE and "need 11" in p95.message
    critical = config_for("project", critical=["errors", "p95_duration"])
    assert all(p.critical for p in critical.metrics)
    assert judge(canary, stable, critical, final=True).reason.startswith("critical metric p95_duration failed")


def test_bigger_projects_and_more_bakes_share_the_false_rollback_budget() -> None:
    config = config_for("project")
    assert config.for_functions(5) == config
    ten = config.for_functions(10)
    assert ten.alpha_final == pytest.approx(config.alpha_final / 2)
    assert ten.alpha_interim == pytest.approx(config.alpha_interim / 2)
    assert config.split(2).alpha_final == pytest.approx(config.alpha_final / 2)
    # The judge applies the per-function share itself: ten functions test each at half the level.
    canaries = [series(f"fn-{i}", 60, [0, 0, 0], [0.3, 0.3, 0.3]) for i in range(10)]
    stables = [series(f"fn-{i}", 540, [5, 5, 5], [0.3, 0.3, 0.3]) for i in range(10)]
    verdict = judge(canaries, stables, config, final=True)
    alphas = [r.alpha for r in verdict.results if r.metric == "errors"]
    assert len(alphas) == 11 and alphas == pytest.approx([config.alpha_final / 2] * 11)
