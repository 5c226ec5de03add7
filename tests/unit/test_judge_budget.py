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
    stable_n, canary_n = 5400, 600
    lenient_level, strict_level = config_for("project").alpha(True), config_for("function").alpha(True)
    tolerance = next(p.tolerance for p in config_for("project").metrics if p.name == "errors")
    found = [(stable_errors, canary_errors) for stable_errors in range(40, 70) for canary_errors in range(6, 40)
             if lenient_level < rate_test([Stratum(canary_errors, canary_n, stable_errors, stable_n)],
                                          1.0 + tolerance).p_value < strict_level]
    assert found, "no count lands between the two final-look levels"
    stable_errors, borderline = found[0]
    canary, stable = _series("fn@2", canary_n, borderline), _series("fn@1", stable_n, stable_errors)
    lenient = judge(canary, stable, config_for("project"), final=True)
    strict = judge(canary, stable, config_for("function"), final=True)
    errors = [r for r in strict.results if r.metric == "errors"]
    assert errors and errors[0].outcome is MeasurementOutcome.FAILED
    assert next(r for r in lenient.results if r.metric == "errors").outcome is MeasurementOutcome.SUCCESSFUL
    assert config_for("project").alpha_final < config_for("function").alpha_final
