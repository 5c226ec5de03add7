"""``terraform: {plan_workflow: ..., artifact: ...}`` against the local GitHub over real HTTP: the plan step makes
sure of the release tag, dispatches the plan workflow once at it, downloads the artifact through the REST
artifacts API and records the summary; every way the plan cannot be had fails the step with one line."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from golive.checks.base import CheckContext, Status
from golive.checks.github import GithubWorkflowParams, run_workflow
from golive.clock import VirtualClock
from golive.engine.context import Services
from golive.engine.runner import Engine
from golive.evidence.terraform import TerraformPlanSummary
from golive.plan.model import CheckEntry
from golive.plan.validate import load_plan_text
from golive.providers.github import GitHub
from golive.sandbox.github_server import GitHubServer
from golive.steps import planner
from golive.steps.checking import check_entries
from golive.steps.registry import all_handlers
from golive.store.store import Store

TOKEN = "ghp_" + "TerraformPlanTest0123456789abcdef"
T0 = datetime(2026, 1, 9, 18, 0, tzinfo=UTC)
REPO = "acme/schemas"
PLAN = """\
release: r
version: v2.0.0
environments:
  prod: {account: "123456789012", region: eu-west-1}
projects:
  schemas:
    repo: acme/schemas
    deploy: {github_workflow: deploy.yml}
    terraform: {plan_workflow: plan.yml, artifact: tfplan-json}
batches:
  - {name: one, projects: [schemas]}
gates:
  go: {requires: [terraform]}
"""
WORKFLOW = """\
name: Terraform Plan
run-name: plan ${{ inputs.golive_id || github.ref_name }}
on:
  workflow_dispatch:
    inputs:
      golive_id: {required: false}
jobs:
  plan:
    runs-on: ubuntu-latest
    steps:
      - name: Terraform plan
        run: terraform plan -out=tfplan && terraform show -json tfplan > tfplan.json
"""
PLAN_JSON = json.dumps({"format_version": "1.2", "resource_changes": [
    {"address": "aws_dynamodb_table.tenants", "mode": "managed", "type": "aws_dynamodb_table", "name": "tenants",
     "change": {"actions": ["delete"]}}]}).encode()
Maker = Callable[[str, str, dict[str, str]], dict[str, dict[str, bytes]]]


@pytest.fixture
def clock() -> VirtualClock:
    return VirtualClock(T0)


@pytest.fixture
def server(clock: VirtualClock) -> Iterator[GitHubServer]:
    with GitHubServer(clock, token=TOKEN, running_s=120.0) as srv:
        srv.add_repo(REPO, {".github/workflows/plan.yml": WORKFLOW})
        yield srv


def _plan_step(tmp_path: Path, server: GitHubServer, clock: VirtualClock) -> tuple[Store, str, str | None]:
    plan = load_plan_text(PLAN)
    steps = [s for s in planner.build_release(plan, "prod") if s.kind == "terraform_plan"]
    store = Store.open(f"sqlite:///{tmp_path / 'state.db'}")
    github = GitHub(server.url, TOKEN, clock=clock, sleep=lambda s: clock.advance(timedelta(seconds=s)))
    services = Services(plan=plan, store=store, clock=clock, github=github)
    run = store.create_run("r", "prod", "release", "0" * 64, steps, clock.now())
    Engine(services, all_handlers(), holder="test").drive(run.id)
    done = store.get_run(run.id)
    github.close()
    return store, done.status, done.reason


def test_the_plan_is_made_once_at_the_release_tag_and_its_artifact_read(tmp_path: Path, server: GitHubServer,
                                                                         clock: VirtualClock) -> None:
    refs: list[str] = []

    def maker(repo: str, ref: str, inputs: dict[str, str]) -> dict[str, dict[str, bytes]]:
        refs.append(ref)
        return {"tfplan-json": {"tfplan": b"saved plan", "tfplan.json": PLAN_JSON}}

    server.set_artifacts(REPO, "plan.yml", maker)
    store, status, reason = _plan_step(tmp_path, server, clock)
    try:
        assert status == "succeeded", reason
        assert server.tag_commit(REPO, "v2.0.0") is not None  # the tag the plan ran at, created as prep would
        assert refs == ["v2.0.0"] and server.dispatch_count(REPO, "plan.yml") == 1
        (summary,) = [e.record for e in store.records(TerraformPlanSummary)]
        assert (summary.tag, summary.deletes, summary.change_lines()) == \
            ("v2.0.0", 1, ["delete aws_dynamodb_table.tenants"])
        assert summary.source.startswith("plan.yml run ")
    finally:
        store.close()


@pytest.mark.parametrize(("maker", "says"), [
    (None, "uploaded no artifact tfplan-json"),
    (lambda r, f, i: {"tfplan-json": {"a.json": PLAN_JSON, "b.json": PLAN_JSON}},
     "holds 2 .json files (a.json, b.json): name the plan's with terraform.file"),
    (lambda r, f, i: {"tfplan-json": {"tfplan.json": b"Error: no valid credential sources"}},
     "the Terraform plan is not JSON"),
])
def test_a_plan_that_cannot_be_read_fails_the_step_with_one_line(tmp_path: Path, server: GitHubServer,
                                                                  clock: VirtualClock, maker: Maker | None,
                                                                  says: str) -> None:
    if maker is not None:
        server.set_artifacts(REPO, "plan.yml", maker)
    store, status, reason = _plan_step(tmp_path, server, clock)
    store.close()
    assert status == "failed" and reason is not None and says in reason, reason


def test_a_failed_plan_run_names_its_job_and_step(tmp_path: Path, server: GitHubServer, clock: VirtualClock) -> None:
    server.script_failure(REPO, "plan.yml", step="Terraform plan")
    store, status, reason = _plan_step(tmp_path, server, clock)
    store.close()
    assert status == "failed" and reason is not None
    assert "the Terraform plan of schemas did not succeed" in reason and "step 'Terraform plan'" in reason


def test_preflight_fails_a_deploy_workflow_that_does_not_declare_the_plan_hash_input(server: GitHubServer,
                                                                                     clock: VirtualClock) -> None:
    plan = load_plan_text(PLAN)
    (entry,) = check_entries(plan, [CheckEntry.model_validate("github_workflow")], {})
    assert entry["params"]["inputs"] == ["tfplan_sha256"]
    deploy = WORKFLOW.replace("name: Terraform Plan", "name: Deploy")
    server.commit(REPO, {".github/workflows/deploy.yml": deploy})
    github = GitHub(server.url, TOKEN, clock=clock)
    try:
        params = GithubWorkflowParams.model_validate(entry["params"])
        result = run_workflow(CheckContext(env="prod", github=github), params)
        assert result.status == Status.FAIL
        assert result.summary == "deploy.yml does not declare the input golive sends: tfplan_sha256 " \
                                 "(add under on.workflow_dispatch.inputs)"
        server.commit(REPO, {".github/workflows/deploy.yml": deploy.replace(
            "      golive_id: {required: false}", "      golive_id: {required: false}\n      tfplan_sha256: {required: true}")})
        assert run_workflow(CheckContext(env="prod", github=github), params).status == Status.PASS
    finally:
        github.close()
