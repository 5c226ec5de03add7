"""Issue 26 with issue 26 item 3: the rollback of a project with ``terraform:`` applies a reviewed plan too.

In a detached sandbox whose Terraform plan of ``dynamodb_schemas`` replaces the ``tenants`` table at any tag,
``golive rollback dynamodb_schemas`` makes the plan at the previous release tag, then refuses in one line
naming the resource and the action and dispatches no deploy; once ``data_owner`` approved that plan's hash
(``golive approve go_no_go --plan-sha``), ``--again`` redeploys with that hash, and the plan is not made again.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from cli_user import OWNER, UserSandbox, running_sandbox

from golive.evidence.rollback import Undone
from golive.evidence.terraform import TerraformPlanSummary
from golive.store.store import Store

pytestmark = pytest.mark.xdist_group("undo_terraform")

SCHEMAS = f"{OWNER}/2_1_bbws_dynamodb_schemas"
PREVIOUS = "v0.9.0-prod"


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[UserSandbox]:
    yield from running_sandbox(tmp_path_factory.mktemp("user"), "--github-run-seconds", "2",
                               "--inject", "dynamodb_schemas:terraform=replace:tenants")


def _plans(sandbox: UserSandbox) -> list[TerraformPlanSummary]:
    store = Store.open(sandbox.store_url)
    try:
        return [e.record for e in store.records(TerraformPlanSummary, release="bbws", env="prod")
                if e.record.project == "dynamodb_schemas"]
    finally:
        store.close()


def test_a_data_losing_plan_at_the_previous_tag_is_not_redeployed_until_its_approver_approves_it(
        sandbox: UserSandbox) -> None:
    deploys, plans = sandbox.counts()["dispatches"][SCHEMAS], sandbox.counts()["plan_dispatches"][SCHEMAS]
    refused = sandbox.golive("rollback", "dynamodb_schemas", "--env", "prod", "--yes", "--why", "schema broke")
    assert refused.code == 1, refused.explain()
    assert "replace aws_dynamodb_table.tenants" in refused.out and "not redeployed without an approval by data_owner" \
        in refused.out, refused.explain()
    assert "Traceback" not in refused.err
    assert sandbox.counts()["dispatches"][SCHEMAS] == deploys  # nothing applied
    assert sandbox.counts()["plan_dispatches"][SCHEMAS] == plans + 1
    (plan,) = _plans(sandbox)
    assert plan.tag == PREVIOUS and plan.changes_data

    approved = sandbox.golive("approve", "go_no_go", "--env", "prod", "--role", "data_owner", "--plan-sha",
                              plan.sha256, "--by", "dana", "--note", "tenants is rebuilt from the backup")
    assert approved.code == 0, approved.explain()
    again = sandbox.golive("rollback", "dynamodb_schemas", "--env", "prod", "--yes", "--again", "--why",
                           "data_owner approved the plan")
    assert again.code == 0, again.explain()
    assert sandbox.counts()["dispatches"][SCHEMAS] == deploys + 1
    assert sandbox.counts()["plan_dispatches"][SCHEMAS] == plans + 1  # the plan of a tag is made once
    runs = sandbox.github_get(f"/repos/{SCHEMAS}/actions/workflows/deploy-prod.yml/runs").json()["workflow_runs"]
    assert [r["head_branch"] for r in runs] == [PREVIOUS]
    store = Store.open(sandbox.store_url)
    try:
        undone = [u.record for u in store.records(Undone, release="bbws", env="prod")]
    finally:
        store.close()
    assert [(u.project, u.outcome, u.tag) for u in undone] == [("dynamodb_schemas", "undone", PREVIOUS)]
