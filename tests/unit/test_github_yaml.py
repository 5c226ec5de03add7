"""Reading workflow files: triggers (YAML's ``on`` as True), dispatch inputs, secrets used, hard-coded ARNs."""

from __future__ import annotations

import pytest

from golive.providers.github_yaml import (
    WorkflowFileError,
    correlation_line,
    parse_workflow,
    role_arns,
    run_name_shows,
    secrets_used,
)


@pytest.mark.parametrize(
    ("on_block", "triggers"),
    [
        ("on: workflow_dispatch", {"workflow_dispatch"}),
        ("on: [push, workflow_dispatch]", {"push", "workflow_dispatch"}),
        ("'on':\n  push:\n    branches: [main]", {"push"}),
        ("on:\n  workflow_dispatch:\n    inputs:\n      version:\n        required: true", {"workflow_dispatch"}),
        ("name: no triggers", set()),
    ],
)
def test_triggers_in_every_spelling(on_block: str, triggers: set[str]) -> None:
    parsed = parse_workflow(f"{on_block}\njobs: {{}}\n")
    assert parsed.triggers == triggers
    assert parsed.dispatchable == ("workflow_dispatch" in triggers)


def test_dispatch_inputs_jobs_environments() -> None:
    text = """\
name: Deploy
run-name: Deploy ${{ inputs.golive_id }} to ${{ github.event.inputs.env }}
on:
  workflow_dispatch:
    inputs:
      golive_id: {}
      env: {default: prod}
jobs:
  plan:
    runs-on: ubuntu-latest
    steps:
      - run: terraform plan
  apply:
    name: Apply
    environment: {name: prod, url: https://x}
    steps:
      - name: Apply it
        run: terraform apply
"""
    parsed = parse_workflow(text)
    assert set(parsed.dispatch_inputs) == {"golive_id", "env"}
    assert [(j.name, j.environment, j.steps) for j in parsed.jobs] == [
        ("plan", None, ("Step 1",)), ("Apply", "prod", ("Apply it",))]
    assert parsed.environments == {"prod"}
    assert run_name_shows(parsed.run_name, "golive_id")
    assert not run_name_shows(parsed.run_name, "golive")


@pytest.mark.parametrize(("run_name", "shows"), [
    ("deploy ${{ inputs.golive_id || github.ref_name }}", True),
    ("${{ format('Deploy {0} by {1}', github.event.inputs.golive_id, github.actor) }}", True),
    ("Deploy ${{inputs.golive_id}}", True),
    ("deploy ${{ github.ref_name || inputs.golive_id }}", False),  # the ref is never empty: the id never shows
    ("deploy ${{ github.ref_name }}", False),
    ("deploy ${{ inputs.golive_id_old }}", False),
    ("inputs.golive_id, outside an expression", False),
    (None, False),
])
def test_whether_a_run_name_shows_the_correlation_input(run_name: str | None, shows: bool) -> None:
    assert run_name_shows(run_name, "golive_id") is shows


def test_the_line_to_add_shows_the_id() -> None:
    line = correlation_line("golive_id")
    assert line.startswith("run-name: ")
    assert run_name_shows(line.removeprefix("run-name: "), "golive_id")


def test_secrets_used_skips_comments_and_githubs_token() -> None:
    text = """\
env:
  A: ${{ secrets.AWS_ROLE_PROD }}   # not secrets.IN_COMMENT
  B: ${{ secrets['CLOUDFRONT_DISTRIBUTION_ID_PROD'] }}
  C: ${{ secrets.GITHUB_TOKEN }}
# secrets.OLD_ONE
  D: ${{ format('{0}', secrets.AWS_ROLE_PROD) }}
"""
    used = secrets_used(text)
    assert [(u.name, u.lines) for u in used] == [("AWS_ROLE_PROD", (2, 6)), ("CLOUDFRONT_DISTRIBUTION_ID_PROD", (3,))]


def test_role_arns() -> None:
    text = "role-to-assume: arn:aws:iam::093646564004:role/2-1-bbws-tf-github-actions-prod\nx: arn:aws:iam::12:role/short\n"
    [arn] = role_arns(text)
    assert (arn.account, arn.line) == ("093646564004", 1)
    assert arn.arn.endswith("role/2-1-bbws-tf-github-actions-prod")


@pytest.mark.parametrize("text", ["- a list", "key: [unclosed", "just text"])
def test_not_a_workflow(text: str) -> None:
    with pytest.raises(WorkflowFileError):
        parse_workflow(text)
