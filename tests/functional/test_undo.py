"""Issue 26: every project has an undo, and no undo loses data by accident.

In a detached sandbox (real ``golive`` processes, the local GitHub), the site is released and then rolled back:
its workflow is dispatched once more, at the previous release tag, and its own ``verify:`` passes; asked again,
golive says it already did and dispatches nothing. ``golive plan`` lists every project's undo, and ``golive
check`` refuses the example's old ``terraform destroy`` rollback and a placeholder nothing fills.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from cli_user import GOLIVE, OWNER, UserSandbox, copy_example, running_sandbox, user_env, wait_for

from golive.evidence.canary import OperatorCommand
from golive.evidence.rollback import Undone
from golive.store.store import Store

pytestmark = pytest.mark.xdist_group("undo")

SITE = f"{OWNER}/2_1_bbws_web_public"
WORKFLOW = "deploy-application.yml"


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[UserSandbox]:
    # Runs long enough (queued and running 6 s each) that a rollback can be killed while it watches its run.
    # The site deployed by its workflow alone: by hand, a CloudFront canary's bakes take real minutes.
    yield from running_sandbox(tmp_path_factory.mktemp("user"), "--github-run-seconds", "6",
                               edit=lambda plan: plan["projects"]["web_public"].pop("rollout", None))


@pytest.fixture(scope="module")
def released(sandbox: UserSandbox) -> UserSandbox:
    """v1.0.0-prod tagged and the site deployed at it (past the gate, with a reason)."""
    for ran in (sandbox.golive("tag", "--yes", "--env", "prod"),
                sandbox.golive("deploy", "--yes", "--env", "prod", "--project", "web_public",
                               "--skip-gate", "--why", "the site alone tonight")):
        assert ran.code == 0, ran.explain()
    return sandbox


def _site_runs(sandbox: UserSandbox) -> list[dict[str, object]]:
    answer = sandbox.github_get(f"/repos/{SITE}/actions/workflows/{WORKFLOW}/runs")
    assert answer.status_code == 200, answer.text
    runs: list[dict[str, object]] = answer.json()["workflow_runs"]
    return runs


def test_rollback_redeploys_the_site_at_the_previous_tag_once_and_verifies_it(released: UserSandbox) -> None:
    sandbox = released
    before = sandbox.counts()["dispatches"][SITE]
    assert [r["head_branch"] for r in _site_runs(sandbox)] == ["v1.0.0-prod"]

    ran = sandbox.golive("rollback", "web_public", "--env", "prod", "--yes", "--by", "tebogo",
                         "--why", "the new site breaks checkout")
    assert ran.code == 0, ran.explain()
    assert sandbox.counts()["dispatches"][SITE] == before + 1
    newest = _site_runs(sandbox)[0]
    assert newest["head_branch"] == "v0.9.0-prod" and newest["conclusion"] == "success", newest
    assert "undo.web_public run" in ran.out and "succeeded" in ran.out, ran.out

    store = Store.open(sandbox.store_url)
    undone = store.records(Undone, release="bbws", env="prod")
    assert [(u.record.outcome, u.record.tag, u.record.run_id) for u in undone] == \
        [("undone", "v0.9.0-prod", newest["id"])]
    run = store.get_run(undone[0].run_id or 0)
    assert run.kind == "undo.web_public" and run.status == "succeeded"
    steps = {s.key: s.status for s in store.steps(run.id)}
    assert steps == {"undo.web_public": "done", "verify.web_public": "done"}  # the site's own verify passed
    asked = [e.record for e in store.records(OperatorCommand, run_id=run.id)]
    assert [(a.outcome, a.by, a.why) for a in asked] == [("rollback", "tebogo", "the new site breaks checkout")]

    report = sandbox.golive("report", "--run", str(run.id))
    assert report.code == 0, report.explain()
    rollbacks = report.out.split("## Rollbacks", 1)[1].split("##", 1)[0]
    assert f"undo: redeploy v0.9.0-prod, run {newest['id']}" in rollbacks, rollbacks
    overrides = report.out.split("## Overrides", 1)[1].split("##", 1)[0]
    assert "rollback" in overrides and "tebogo" in overrides and "the new site breaks checkout" in overrides

    again = sandbox.golive("rollback", "web_public", "--env", "prod", "--yes")
    assert again.code == 0, again.explain()
    assert "already undone" in again.out and f"undo run {run.id}" in again.out, again.out
    assert sandbox.counts()["dispatches"][SITE] == before + 1


def test_a_rollback_killed_while_it_watches_resumes_the_same_run(sandbox: UserSandbox, tmp_path: Path) -> None:
    schemas = f"{OWNER}/2_1_bbws_dynamodb_schemas"
    before = sandbox.counts()["dispatches"][schemas]
    killed = sandbox.start("rollback", "dynamodb_schemas", "--env", "prod", "--yes", log=tmp_path / "killed.log")
    try:
        wait_for(lambda: sandbox.counts()["dispatches"][schemas] == before + 1, "the undo's dispatch", timeout=120)
    finally:
        killed.kill()
        killed.wait(timeout=30)
    resumed = sandbox.golive("rollback", "dynamodb_schemas", "--env", "prod", "--yes")
    assert resumed.code == 0, resumed.explain()
    assert "undo.dynamodb_schemas run" in resumed.out and "(resumed): succeeded" in resumed.out, resumed.out
    assert sandbox.counts()["dispatches"][schemas] == before + 1
    store = Store.open(sandbox.store_url)
    undone = [u.record for u in store.records(Undone, release="bbws", env="prod") if u.record.project ==
              "dynamodb_schemas"]
    assert [(u.outcome, u.tag) for u in undone] == [("undone", "v0.9.0-prod")]


def test_without_a_terminal_and_without_yes_rollback_refuses_in_one_line(sandbox: UserSandbox) -> None:
    before = sandbox.counts()["dispatches"][SITE]
    done = subprocess.run([str(GOLIVE), "rollback", "web_public", "--env", "prod", "-f", str(sandbox.plan)],
                          capture_output=True, text=True, env=sandbox.env, cwd=sandbox.plan.parent,
                          stdin=subprocess.DEVNULL, timeout=120, check=False)
    assert done.returncode == 2, done.stderr
    assert done.stderr.strip().count("\n") == 0 and "--yes" in done.stderr
    assert sandbox.counts()["dispatches"][SITE] == before


def test_plan_lists_every_projects_undo_and_whether_it_is_reversible(sandbox: UserSandbox) -> None:
    ran = sandbox.golive("plan", "--env", "prod", "--offline")
    assert ran.code == 0, ran.explain()
    lines = [line.strip() for line in ran.out.splitlines() if "↶ undo" in line]
    assert len(lines) == 6, ran.out
    assert any("re-dispatch deploy-application.yml" in line and "previous release tag" in line for line in lines)
    assert sum("alias live of 2-1-bbws-tf-" in line for line in lines) == 3
    schemas = [line for line in lines if "2_1_bbws_dynamodb_schemas" in line]  # its earlier tag's plan, approved first
    assert len(schemas) == 1 and "after its Terraform plan at that tag (plan-prod.yml) is approved" in schemas[0]

    data = json.loads(sandbox.golive("plan", "--env", "prod", "--offline", "--json").out)
    undo = data["undo"]
    assert set(undo) == {"dynamodb_schemas", "s3_schemas", "web_public", "product_lambda", "order_lambda",
                         "campaigns_lambda"}
    assert {name: (u["method"], u["reversible"]) for name, u in undo.items()} == {
        "dynamodb_schemas": ("redeploy", True), "s3_schemas": ("redeploy", True), "web_public": ("redeploy", True),
        "product_lambda": ("router", True), "order_lambda": ("router", True), "campaigns_lambda": ("router", True)}


# -- golive check: no data loss by accident, no placeholder left unfilled (no sandbox needed) ------------------


def _check(plan: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(GOLIVE), "check", "-f", str(plan)], capture_output=True, text=True,
                          env=user_env(), cwd=plan.parent, timeout=120, check=False)


def _line_of(plan: Path, text: str) -> int:
    return next(i for i, line in enumerate(plan.read_text().splitlines(), 1) if text in line)


def test_check_refuses_the_old_terraform_destroy_rollback_with_its_line(tmp_path: Path) -> None:
    plan = copy_example(tmp_path)
    plan.write_text(plan.read_text().replace(
        "    - incident P0\n",
        "    - incident P0\n  full:\n    command: [terraform, destroy, \"-target=aws_dynamodb_table.tenants\"]\n"
        "    cwd: terraform\n"))
    done = _check(plan)
    assert done.returncode == 2, done.stdout + done.stderr
    line = _line_of(plan, "command: [terraform, destroy")
    assert f"golive.yaml:{line} rollback.full.command" in done.stderr, done.stderr
    assert "terraform destroy -target=aws_dynamodb_table.tenants" in done.stderr
    assert "allow_data_loss" in done.stderr and "Traceback" not in done.stderr

    allowed = plan.read_text().replace("    cwd: terraform\n", "    cwd: terraform\n"
                                       "    allow_data_loss: {why: \"the tables are rebuilt from the nightly export\"}\n")
    plan.write_text(allowed)
    assert _check(plan).returncode == 0


def test_check_refuses_an_undo_command_that_destroys_inside_a_shell_string(tmp_path: Path) -> None:
    plan = copy_example(tmp_path)
    plan.write_text(plan.read_text().replace(
        "    deploy: {github_workflow: deploy-prod.yml}\n    secrets:\n      AWS_ROLE_PROD: {value: \"arn:aws:iam::"
        "093646564004:role/2-1-bbws-tf-github-actions-prod\"}\n    verify:\n      - dynamodb_tables",
        "    deploy: {github_workflow: deploy-prod.yml}\n    undo: {command: [bash, -c, \"cd tf && terraform apply "
        "-destroy -auto-approve\"]}\n    secrets:\n      AWS_ROLE_PROD: {value: \"arn:aws:iam::"
        "093646564004:role/2-1-bbws-tf-github-actions-prod\"}\n    verify:\n      - dynamodb_tables", 1))
    done = _check(plan)
    assert done.returncode == 2, done.stdout + done.stderr
    line = _line_of(plan, "undo: {command: [bash")
    assert f"golive.yaml:{line} projects.dynamodb_schemas.undo.command" in done.stderr, done.stderr
    assert "apply -destroy" in done.stderr


def test_check_names_an_unknown_placeholder_and_the_variables_that_exist(tmp_path: Path) -> None:
    plan = copy_example(tmp_path)
    text = plan.read_text().replace('smoke: [["./scripts/smoke_test_orders.sh", "{env}", "{api_base}"]]',
                                    'smoke: [["./scripts/smoke_test_orders.sh", "{env}", "{resource}"]]')
    plan.write_text(text)
    done = _check(plan)
    assert done.returncode == 2, done.stdout + done.stderr
    line = _line_of(plan, "{resource}")
    assert f"golive.yaml:{line} projects.order_lambda.smoke[0][2]: unknown placeholder {{resource}}" in done.stderr
    assert "account, api_base, env, region, release, site_url, version, vpc_cidr" in done.stderr, done.stderr


COMMAND_PLAN = """\
release: jobs
version: v2.0.0
environments:
  prod: {account: "123456789012", region: eu-west-1}
projects:
  job:
    repo: o/job
    deploy: {command: [sh, -c, "echo v2 > version.txt"]}
    undo: {command: [sh, -c, "echo v1 > version.txt; echo undone $0 >> undo.log", "{env}"]}
    verify:
      - command: [grep, -qx, v1, version.txt]
  cron:
    repo: o/cron
    deploy: {command: [sh, -c, "true"]}
batches:
  - {name: one, projects: [job, cron]}
"""


def test_a_command_project_runs_its_undo_once_then_its_verify(tmp_path: Path) -> None:
    (tmp_path / "golive.yaml").write_text(COMMAND_PLAN)

    def golive(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([str(GOLIVE), *args], capture_output=True, text=True, env=user_env(), cwd=tmp_path,
                              timeout=120, check=False)

    first = golive("rollback", "job", "--env", "prod", "--yes", "--by", "ana")
    assert first.returncode == 0, first.stdout + first.stderr
    assert (tmp_path / "version.txt").read_text() == "v1\n"
    assert (tmp_path / "undo.log").read_text() == "undone prod\n"
    again = golive("rollback", "job", "--env", "prod", "--yes")
    assert again.returncode == 0 and "already undone" in again.stdout, again.stdout + again.stderr
    assert (tmp_path / "undo.log").read_text() == "undone prod\n"
    forced = golive("rollback", "job", "--env", "prod", "--yes", "--again", "--why", "the cache came back")
    assert forced.returncode == 0, forced.stdout + forced.stderr
    assert (tmp_path / "undo.log").read_text() == "undone prod\nundone prod\n"

    store = Store.open(f"sqlite:///{tmp_path / '.golive' / 'state.db'}")
    assert [u.record.argv for u in store.records(Undone, release="jobs")] == [("sh", "-c", "echo v1 > version.txt; "
                                                                            "echo undone $0 >> undo.log", "prod")] * 2
    none = golive("rollback", "cron", "--env", "prod", "--yes")
    assert none.returncode == 2 and "cron has no undo" in none.stderr, none.stderr


def test_every_tag_is_read_past_the_first_page(tmp_path: Path) -> None:
    from datetime import UTC, datetime

    from golive.clock import VirtualClock
    from golive.plan.undo import previous_tag
    from golive.providers.github import GitHub
    from golive.sandbox.github_server import GitHubServer

    clock = VirtualClock(datetime(2026, 1, 8, tzinfo=UTC))
    with GitHubServer(clock, token="t") as server:
        server.add_repo("o/site", {"README.md": "x"})
        for minor in range(250):
            server.add_tag("o/site", f"v0.{minor}.0-prod")
        client = GitHub(server.url, "t", clock=clock)
        names = [name for name, _ in client.list_tags("o/site")]
        client.close()
    assert len(names) == 250
    assert previous_tag("v1.0.0-prod", names) == "v0.249.0-prod"


def test_an_undo_dispatch_in_doubt_is_settled_like_a_deploys(tmp_path: Path) -> None:
    from datetime import UTC, datetime

    from golive.clock import VirtualClock
    from golive.plan.undo import RedeployUndo, undo_of
    from golive.plan.validate import load_plan_text
    from golive.providers.github import GitHub
    from golive.runs.release import start_or_resume
    from golive.sandbox.github_server import GitHubServer
    from golive.steps import planner
    from golive.steps.dispatch_doubt import settle_dispatch

    plan = load_plan_text(COMMAND_PLAN.replace("deploy: {command: [sh, -c, \"true\"]}",
                                               "deploy: {github_workflow: deploy.yml}"))
    how = undo_of(plan, "prod", "cron")
    assert isinstance(how, RedeployUndo)
    clock = VirtualClock(datetime(2026, 1, 8, tzinfo=UTC))
    store = Store.open(f"sqlite:///{tmp_path / 'state.db'}")
    run, _ = start_or_resume(store, plan, "prod", "undo.cron",
                             lambda: planner.build_undo(plan, "prod", "cron", how, "v1.9.0"), clock)
    step = next(s for s in store.steps(run.id) if s.key == "undo.cron")
    store.update_step(step.id, state={"repo": "o/cron", "workflow": "deploy.yml", "ref": "v1.9.0",
                                      "correlation_id": "golive-x", "intent_at": clock.now().isoformat()})
    workflow = "on:\n  workflow_dispatch:\njobs:\n  deploy:\n    runs-on: ubuntu-latest\n    steps:\n      - run: true\n"
    with GitHubServer(clock, token="t") as server:
        server.add_repo("o/cron", {".github/workflows/deploy.yml": workflow})
        server.add_tag("o/cron", "v1.9.0")
        client = GitHub(server.url, "t", clock=clock)
        theirs = client.dispatch_workflow("o/cron", "deploy.yml", "v1.9.0", correlation="golive-x")
        settled = settle_dispatch(store, client, "jobs", "prod", "cron", clock.now(), confirm_run=theirs.run_id, by="ana")
        client.close()
    assert settled["run_id"] == theirs.run_id
    assert store.steps(run.id)[0].state["run_id"] == theirs.run_id


def test_a_command_projects_full_rollback_is_run_said_and_its_failure_is_the_exit_code(tmp_path: Path) -> None:
    full = 'rollback:\n  full: {command: [sh, -c, "echo full $0 >> full.log; exit $1", "{project}", "%s"]}\n'
    plan = tmp_path / "golive.yaml"

    def golive(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([str(GOLIVE), *args], capture_output=True, text=True, env=user_env(), cwd=tmp_path,
                              timeout=120, check=False)

    plan.write_text(COMMAND_PLAN + full % "0")
    ok = golive("rollback", "job", "--env", "prod", "--yes", "--full")
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert "full rollback sh -c" in ok.stdout and ": exit 0" in ok.stdout, ok.stdout
    plan.write_text(COMMAND_PLAN + full % "3")
    failed = golive("rollback", "job", "--env", "prod", "--yes", "--full", "--again", "--why", "the cache again")
    assert failed.returncode == 1, failed.stdout + failed.stderr
    assert ": exit 3" in failed.stdout, failed.stdout
    assert (tmp_path / "full.log").read_text() == "full job\nfull job\n"
    assert (tmp_path / "undo.log").read_text() == "undone prod\nundone prod\n"
