"""The plan's ``analysis.false_rollbacks`` budget changes what the judge decides on a borderline canary."""

from golive.analysis.judge import VersionSeries, config_for, judge
from golive.analysis.measurement import MeasurementOutcome
from golive.analysis.stats import Stratum, rate_test


def _series(scope: str, invocations: int, errors: int) -> VersionSeries:
    per_minute = [invocations / 10] * 10
    errs = [0.0] * 10
    errs[0] = float(errors)
    return VersionSeries(scope, per_minute, {"errors": errs}, {})


def test_function_budget_rolls_back_a_borderline_canary_the_project_budget_keeps() -> None:
    stable_n, canary_n, stable_errors = 5400, 600, 54  # 1% on stable
    borderline = None
    for canary_errors in range(6, 40):
        p = rate_test([Stratum(canary_errors, canary_n, stable_errors, stable_n)], 1.0).p_value
        if 0.003 < p < 0.008:
            borderline = canary_errors
            break
    assert borderline is not None, "no count lands between the two final-look levels"
    canary, stable = _series("fn@2", canary_n, borderline), _series("fn@1", stable_n, stable_errors)
    lenient = judge(canary, stable, config_for("project"), final=True)
    strict = judge(canary, stable, config_for("function"), final=True)
    errors = [r for r in strict.results if r.metric == "errors"]
    assert errors and errors[0].outcome is MeasurementOutcome.FAILED
    assert next(r for r in lenient.results if r.metric == "errors").outcome is MeasurementOutcome.SUCCESSFUL
    assert config_for("project").alpha_final < config_for("function").alpha_final
