"""A plan's ``api:`` and ``rollout.apigw_canary``: typed, and every mistake one line naming file and line."""

from __future__ import annotations

import pytest

from golive.errors import PlanError
from golive.plan.validate import load_plan_text
from golive.steps.planner import api_alias_entries

PLAN = """\
release: r
version: v1
environments:
  prod: {account: "123456789012", region: eu-west-1}
metrics:
  error_rate: {lambda: errors / invocations}
  throttle_rate: {lambda: throttles / invocations}
projects:
  orders:
    repo: owner/orders
    deploy: {github_workflow: deploy.yml}
    api: {rest_api: orders-api, stage: prod}
    rollout:
      apigw_canary:
        steps: [{weight: 10, bake: 10m}, {weight: 100}]
  billing:
    repo: owner/billing
    deploy: {github_workflow: deploy.yml}
    api: {rest_api: billing-api, stage: "{env}"}
    rollout:
      lambda_canary:
        functions: {prefix: billing-}
        steps: [{weight: 10, bake: 10m}, {weight: 100}]
batches:
  - {name: one, projects: [orders, billing]}
rollback:
  triggers: ["error_rate > 1%"]
"""


def _error(text: str) -> str:
    with pytest.raises(PlanError) as info:
        load_plan_text(text)
    message = str(info.value)
    assert "\n" not in message and message.startswith("golive.yaml:"), message
    return message


def test_an_api_stage_canary_is_typed() -> None:
    plan = load_plan_text(PLAN)
    orders = plan.projects["orders"]
    assert orders.api is not None and (orders.api.rest_api, orders.api.stage) == ("orders-api", "prod")
    assert orders.rollout is not None and orders.rollout.apigw_canary is not None
    assert [s.weight for s in orders.rollout.apigw_canary.steps] == [10, 100]
    assert plan.validation_failure_policy == "rollback"


def test_a_lambda_canary_behind_an_api_gets_the_preflight_alias_check() -> None:
    entries = api_alias_entries(load_plan_text(PLAN), "prod")
    assert entries == [{"kind": "api_invokes_alias", "project": "billing",
                        "params": {"project": "billing", "rest_api": "billing-api", "stage": "prod", "alias": "live",
                                   "functions": {"prefix": "billing-"}}}]


@pytest.mark.parametrize(("old", "new", "marker", "expected"), [
    ("    api: {rest_api: orders-api, stage: prod}\n", "", "apigw_canary:",
     "projects.orders.rollout.apigw_canary: an API Gateway canary shifts the project's REST API stage: add api:"),
    ("stage: prod}", "stage: pr od}", "stage: pr od",
     "projects.orders.api.stage: 'pr od' (prod) is not an API Gateway stage name"),
    ("{rest_api: orders-api, stage: prod}", "{rest_api: orders-api}", "{rest_api: orders-api}",
     "projects.orders.api.stage: required key is missing"),
    ('["error_rate > 1%"]', '["throttle_rate > 1%"]', '["throttle_rate',
     "rollback.triggers[0]: 'throttle_rate > 1%': throttle_rate (throttles / invocations) reads what an API Gateway "
     "stage does not report"),
    ("        steps: [{weight: 10, bake: 10m}, {weight: 100}]\n  billing:",
     "        steps: [{weight: 10, bake: 10m}, {weight: 100}]\n      lambda_canary:\n"
     "        functions: {prefix: orders-}\n        steps: [{weight: 100}]\n  billing:", "    rollout:",
     "projects.orders.rollout: a project has one canary, not lambda_canary and apigw_canary"),
])
def test_mistakes_are_one_line_each(old: str, new: str, marker: str, expected: str) -> None:
    assert old in PLAN
    text = PLAN.replace(old, new, 1)
    line = text[:text.index(marker)].count("\n") + 1
    assert _error(text).startswith(f"golive.yaml:{line} {expected}")


def test_two_projects_cannot_canary_one_stage() -> None:
    text = PLAN.replace("billing:\n    repo: owner/billing\n    deploy: {github_workflow: deploy.yml}\n"
                        "    api: {rest_api: billing-api, stage: \"{env}\"}\n    rollout:\n      lambda_canary:\n"
                        "        functions: {prefix: billing-}\n",
                        "billing:\n    repo: owner/billing\n    deploy: {github_workflow: deploy.yml}\n"
                        "    api: {rest_api: orders-api, stage: prod}\n    rollout:\n      apigw_canary:\n")
    assert "two canaries would drive one stage" in _error(text)


def test_lint_reads_a_stage_canary_as_it_reads_a_lambda_one() -> None:
    from golive.plan.summary import lint

    plan = load_plan_text(PLAN.replace("steps: [{weight: 10, bake: 10m}, {weight: 100}]\n  billing",
                                       "steps: [{weight: 10, bake: 1m}, {weight: 100}]\n  billing"))
    assert "projects.orders.rollout.apigw_canary.steps[0]: a bake shorter than 3 analysis intervals gives the judge " \
           "too little data" in lint(plan)


def test_golive_plan_shows_the_stage_calls_the_canary_makes() -> None:
    from golive.steps.planner import build_release
    from golive.steps.registry import calls

    steps = {s.key: s for s in build_release(load_plan_text(PLAN), "prod")}
    canary = steps["canary.orders"]
    assert canary.params["apigw_stage"] == {"rest_api": "orders-api", "stage": "prod"}
    shown = calls(canary)
    assert shown[0] == "apigateway:UpdateStage orders-api/prod canarySettings/percentTraffic=10 " \
                       "(canarySettings/deploymentId=NEW)"
    assert "GetMetricData by Stage prod and prod/Canary" in shown[1]
    assert shown[2] == "apigateway:UpdateStage orders-api/prod deploymentId=canarySettings/deploymentId, then " \
                       "remove canarySettings"
    # The Lambda canary behind an API is checked against the API's integrations before the release.
    assert [c["kind"] for c in steps["prerequisites"].params["checks"]] == ["api_invokes_alias"]


def test_an_api_stage_canary_is_undone_by_its_stage_not_a_redeploy() -> None:
    from golive.plan.undo import RouterUndo, undo_of

    undo = undo_of(load_plan_text(PLAN), "prod", "orders")
    assert isinstance(undo, RouterUndo) and undo.stage
    assert undo.line() == ("stage prod of REST API orders-api: canary settings removed (back on its previous "
                           "deployment if promoted)")
