"""What a failing run does to undo a dependent (``rollback_dependents``): its redeploy and verify, in that order,
or a line saying why not; never a Terraform plan run as if it were the redeploy."""

from __future__ import annotations

from golive.examples import example_path
from golive.plan.undo import RedeployUndo, undo_of
from golive.plan.validate import load_plan
from golive.steps.dependent_undo import undo_steps


def test_a_workflow_project_is_redeployed_then_verified() -> None:
    plan = load_plan(example_path("bbws"))
    how = undo_of(plan, "prod", "web_public")
    assert isinstance(how, RedeployUndo)
    steps = undo_steps(plan, "prod", "web_public", how, "v0.9.0-prod")
    assert isinstance(steps, list)
    assert [(s["kind"], s["key"]) for s in steps] == [("undo", "undo.web_public"), ("checks", "verify.web_public")]
    assert steps[0]["params"]["tag"] == "v0.9.0-prod"


def test_a_terraform_project_is_left_to_golive_rollback_with_why() -> None:
    plan = load_plan(example_path("bbws"))
    how = undo_of(plan, "prod", "dynamodb_schemas")
    assert isinstance(how, RedeployUndo)
    line = undo_steps(plan, "prod", "dynamodb_schemas", how, "v0.9.0-prod")
    assert line == ("its undo is a reviewed Terraform plan at v0.9.0-prod: run golive rollback dynamodb_schemas "
                    "(it makes the plan, waits for its approval, then applies)")
