"""Step kinds: what ``golive plan`` prints is ``describe`` of the very parameters ``run`` receives.

Each test changes a step's parameter (in the plan, or in the frozen step itself) and sees the change both
in the dry run's lines and in the typed parameters the engine's handler parses from the same stored step.
"""

from __future__ import annotations

import copy
from typing import Any

import pytest
import yaml
from pydantic import ValidationError

from golive.engine.context import StepContext
from golive.engine.outcome import Done, Outcome
from golive.examples import example_path
from golive.plan.validate import load_plan_text
from golive.steps import canary, deploy, registry
from golive.steps.kind import StepKind, StepParams
from golive.steps.planner import build_release
from golive.store.store import StepSpec

EXAMPLE = example_path("bbws").read_text(encoding="utf-8")


def _steps(text: str = EXAMPLE, env: str = "prod") -> dict[str, StepSpec]:
    return {s.key: s for s in build_release(load_plan_text(text), env)}


def _with(change: Any) -> str:
    data = yaml.safe_load(EXAMPLE)
    change(data)
    return yaml.safe_dump(data, sort_keys=False)


def test_every_frozen_step_parses_as_its_kind_and_describes_itself() -> None:
    for spec in _steps().values():
        kind = registry.get(spec.kind)
        assert kind.parse(spec.params).model_dump(mode="json") == spec.params, spec.key
        assert "calls" not in spec.params  # derived, never stored
        assert all(isinstance(line, str) for line in registry.calls(spec))


def test_a_canary_weight_in_the_plan_changes_the_dry_run_and_the_run_alike() -> None:
    def ten_to_25(data: dict[str, Any]) -> None:
        data["projects"]["product_lambda"]["rollout"]["lambda_canary"]["steps"][0]["weight"] = 25

    before, after = _steps()["canary.product_lambda"], _steps(_with(ten_to_25))["canary.product_lambda"]
    assert any("{NEW: 0.10}" in line for line in registry.calls(before))
    assert any("{NEW: 0.25}" in line for line in registry.calls(after))
    assert not any("{NEW: 0.10}" in line for line in registry.calls(after))
    assert canary.KIND.parse(after.params).steps[0].weight == 25


def test_editing_the_frozen_params_is_what_both_see() -> None:
    spec = _steps()["canary.product_lambda"]
    params = copy.deepcopy(spec.params)
    params["alias"] = "blue"
    params["steps"][1]["bake_s"] = 1800
    edited = StepSpec(spec.key, spec.phase, spec.kind, spec.title, spec.group, spec.lane, params)
    lines = registry.calls(edited)
    assert all(" blue " in line for line in lines if line.startswith("lambda:UpdateAlias"))
    assert any(line.startswith("  bake 30m") for line in lines)
    typed = canary.KIND.parse(edited.params)
    assert (typed.alias, typed.steps[1].bake_s) == ("blue", 1800)


def test_a_deploy_ref_changes_the_dispatch_line() -> None:
    def pin(data: dict[str, Any]) -> None:
        data["projects"]["order_lambda"]["deploy"]["ref"] = "release/2026-01"

    spec = _steps(_with(pin))["deploy.order_lambda"]
    assert registry.calls(spec)[0].endswith("dispatches ref=release/2026-01")
    assert deploy.KIND.parse(spec.params).ref == "release/2026-01"


def test_freezing_refuses_parameters_the_kind_does_not_name() -> None:
    with pytest.raises(ValidationError):
        canary.KIND.parse({**_steps()["canary.product_lambda"].params, "wieght": 10})
    with pytest.raises(ValidationError):
        deploy.DeployParams(project="p", method="helm", timeout_s=1)  # type: ignore[arg-type]


def test_a_store_written_before_step_kinds_still_parses() -> None:
    spec = _steps()["deploy.order_lambda"]
    legacy = {**spec.params, "calls": ["the line golive used to store"]}
    assert deploy.KIND.parse(legacy) == deploy.KIND.parse(spec.params)


class _Count(StepParams):
    times: int


def test_the_handler_runs_with_the_parsed_params_and_compensates_with_them() -> None:
    seen: list[Any] = []

    def run(ctx: StepContext, params: _Count) -> Outcome:
        seen.append(params)
        return Done(f"{params.times}")

    def undo(ctx: StepContext, params: _Count, reason: str) -> None:
        seen.append((params.times, reason))

    kind = StepKind("count", _Count, run, lambda p: [f"count to {p.times}"], undo)
    spec = kind.freeze(_Count(times=3), key="k", phase="deploy", title="count", group="g", lane="l")
    assert kind.calls(spec.params) == ["count to 3"]
    handler = kind.handler()

    class Ctx:
        params = spec.params

    assert handler.run(Ctx()) == Done("3")  # type: ignore[arg-type]
    assert handler.compensate is not None
    handler.compensate(Ctx(), "batch failed")  # type: ignore[arg-type]
    assert seen == [_Count(times=3), (3, "batch failed")]


def test_unknown_kind_is_one_clear_error() -> None:
    from golive.errors import UsageError

    with pytest.raises(UsageError, match="no step kind 'teleport'"):
        registry.get("teleport")
