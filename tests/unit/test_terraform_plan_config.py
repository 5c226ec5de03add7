"""A project's ``terraform:`` and the gate requirement ``terraform``: typed, checked with file:line, frozen as steps;
the sandbox's ``terraform`` fault parsed with one clear line for bad syntax."""

from __future__ import annotations

import pytest

from golive.errors import PlanError, UsageError
from golive.plan.validate import load_plan_text
from golive.sandbox.faults import PlanNames, check_faults, parse_fault
from golive.steps import planner, registry
from golive.steps.gate import KIND as GATE
from golive.steps.terraform_plan import KIND as TERRAFORM_PLAN

PLAN = """\
release: r
version: v1
environments:
  prod: {account: "123456789012", region: eu-west-1}
projects:
  schemas:
    repo: owner/schemas
    deploy: {github_workflow: deploy.yml}
    terraform: {plan_workflow: plan-prod.yml, artifact: tfplan-json, data_types: [aws_opensearch_domain]}
  infra:
    repo: owner/infra
    deploy: {command: [make, apply]}
    terraform: {plan_command: [sh, -c, "terraform show -json tfplan"], approver: dba}
batches:
  - {name: one, projects: [schemas, infra]}
gates:
  go: {requires: [terraform]}
"""


def test_terraform_projects_are_planned_before_the_gate_which_weighs_them() -> None:
    plan = load_plan_text(PLAN)
    steps = planner.build_release(plan, "prod")
    kinds = [s.kind for s in steps]
    assert kinds.index("terraform_plan") < kinds.index("gate")
    schemas, infra = [TERRAFORM_PLAN.parse(s.params) for s in steps if s.kind == "terraform_plan"]
    assert (schemas.method, schemas.workflow, schemas.artifact, schemas.tag) == \
        ("workflow", "plan-prod.yml", "tfplan-json", "v1")
    assert "aws_opensearch_domain" in schemas.data_types and "aws_dynamodb_table" in schemas.data_types
    assert (infra.method, infra.argv, infra.approver) == ("command", ["sh", "-c", "terraform show -json tfplan"], "dba")
    (gate,) = [GATE.parse(s.params) for s in steps if s.kind == "gate"]
    assert [(t.project, t.approver, t.tag) for t in gate.terraform] == [("schemas", "data_owner", "v1"),
                                                                         ("infra", "dba", "v1")]
    deploy = next(s for s in steps if s.key == "deploy.schemas")
    assert deploy.params["plan_sha_input"] == "tfplan_sha256"
    lines = registry.calls(next(s for s in steps if s.key == "terraform.schemas"))
    assert any("actions/artifacts/{artifact_id}/zip" in line for line in lines)
    assert any("input tfplan_sha256" in line for line in registry.calls(deploy))


@pytest.mark.parametrize(("old", "new", "marker", "says"), [
    ("terraform: {plan_workflow: plan-prod.yml, artifact: tfplan-json, data_types: [aws_opensearch_domain]}",
     "terraform: {plan_workflow: plan-prod.yml}", "terraform: {plan_workflow", "needs artifact"),
    ("terraform: {plan_workflow: plan-prod.yml, artifact: tfplan-json, data_types: [aws_opensearch_domain]}",
     "terraform: {plan_workflow: plan-prod.yml, artifact: x, plan_command: [x]}", "terraform: {plan_workflow",
     "exactly one of plan_workflow"),
    ("terraform: {plan_workflow: plan-prod.yml, artifact: tfplan-json, data_types: [aws_opensearch_domain]}",
     "terraform: {plan_workflow: plans/plan.yml, artifact: x}", "terraform: {plan_workflow", "not a workflow file"),
    ("approver: dba}", "approver: dba, artifcat: x}", "terraform: {plan_command", "unknown key"),
])
def test_a_bad_terraform_block_is_one_line_with_file_and_line(old: str, new: str, marker: str, says: str) -> None:
    text = PLAN.replace(old, new)
    with pytest.raises(PlanError) as caught:
        load_plan_text(text, "golive.yaml")
    line = text[:text.index(marker)].count("\n") + 1
    assert str(caught.value).startswith(f"golive.yaml:{line} projects.")
    assert says in str(caught.value)


def test_a_gate_requiring_terraform_without_a_terraform_project_names_the_line() -> None:
    text = PLAN.replace("    terraform: {plan_workflow: plan-prod.yml, artifact: tfplan-json, "
                        "data_types: [aws_opensearch_domain]}\n", "") \
               .replace('    terraform: {plan_command: [sh, -c, "terraform show -json tfplan"], approver: dba}\n', "")
    with pytest.raises(PlanError) as caught:
        load_plan_text(text, "golive.yaml")
    line = text[:text.index("requires: [terraform]")].count("\n") + 1
    assert str(caught.value).startswith(f"golive.yaml:{line} gates.go.requires")
    assert "needs a project with terraform" in str(caught.value)


NAMES = PlanNames(projects=frozenset({"schemas", "api"}), functions=frozenset(), anchors=frozenset({"deploy"}),
                  terraform={"schemas": frozenset({"tenants", "aws_dynamodb_table.tenants"})})


def test_a_terraform_fault_names_the_project_the_action_and_the_resource() -> None:
    fault = parse_fault("schemas:terraform=replace:tenants")
    assert (fault.kind, fault.target, fault.mode, fault.resource) == ("terraform", "schemas", "replace", "tenants")
    check_faults([fault, parse_fault("schemas:terraform=delete:aws_dynamodb_table.tenants")], NAMES)


@pytest.mark.parametrize(("text", "says"), [
    ("schemas:terraform=drop:tenants", "expected terraform=ACTION:RESOURCE with ACTION one of replace, delete, update"),
    ("schemas:terraform=replace", "expected terraform=ACTION:RESOURCE, RESOURCE a table"),
    ("schemas:terraform=replace:", "expected terraform=ACTION:RESOURCE, RESOURCE a table"),
    ("schemas:terraform=replace:tenants@deploy", "a terraform fault has no window"),
])
def test_a_malformed_terraform_fault_is_one_usage_line(text: str, says: str) -> None:
    with pytest.raises(UsageError) as caught:
        parse_fault(text)
    assert str(caught.value).startswith(f"bad fault '{text}': {says}")


@pytest.mark.parametrize(("text", "says"), [
    ("api:terraform=replace:tenants", "project 'api' has no terraform: plan (projects with one: schemas)"),
    ("schemas:terraform=replace:tenats", "schemas's plan has no resource 'tenats' (resources: tenants)"),
])
def test_a_terraform_fault_the_plan_cannot_fire_is_refused(text: str, says: str) -> None:
    with pytest.raises(UsageError) as caught:
        check_faults([parse_fault(text)], NAMES)
    assert str(caught.value) == f"bad fault '{text}': {says}"
