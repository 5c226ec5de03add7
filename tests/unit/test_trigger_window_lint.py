"""`golive check` says when a bake is shorter than a trigger's window, and what grows."""

from __future__ import annotations

from golive.examples import example_plan
from golive.plan.summary import lint
from golive.plan.validate import load_plan_text

EXAMPLE = example_plan("bbws")
STEPS = "steps: [{weight: 10, bake: 10m}, {weight: 50, bake: 5m}, {weight: 100}]"


def short_bakes(text: str) -> list[str]:
    return [w for w in lint(load_plan_text(text)) if "shorter than trigger" in w]


def test_a_bake_shorter_than_a_triggers_window_is_a_warning_naming_the_step_and_what_grows() -> None:
    assert EXAMPLE.count(STEPS) == 3
    longer = EXAMPLE.replace(STEPS, "steps: [{weight: 10, bake: 20m}, {weight: 50, bake: 20m}, {weight: 100}]")
    assert short_bakes(longer) == []
    one = longer.replace("steps: [{weight: 10, bake: 20m}", "steps: [{weight: 10, bake: 1m}", 1)
    assert short_bakes(one) == [
        "projects.product_lambda.rollout.lambda_canary.steps[0]: the 1m bake at 10% is shorter than trigger "
        "'p95_duration > 5s for 15m''s window: the trigger cannot fire within it; while every minute of the step "
        "breaches, the bake grows (up to analysis.max_extension, 10m); the 15m window needs more than the bake and "
        "its cap: a breach that lasts is inconclusive"]


def test_the_examples_bakes_are_both_shorter_than_its_15_minute_trigger() -> None:
    warnings = short_bakes(EXAMPLE)
    assert len(warnings) == 6  # 10m and 5m bakes of three canaries against 'for 15m'
    assert sum("needs more than the bake and its cap" in w for w in warnings) == 3  # the 5m bakes
