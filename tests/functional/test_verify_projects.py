"""Issue 27: ``golive verify`` runs each deployed project's own ``verify:`` and fails naming what is not deployed.

With only ``dynamodb_schemas`` deployed (by hand, past the gate), verify used to end ``succeeded`` on the
environment's validation alone, while ``s3_schemas``' own checks (the templates bucket and its objects) were
never run. A real sandbox, real ``golive`` processes.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from cli_user import OWNER, UserSandbox, running_sandbox

from golive.evidence.runs import DeployFinished, RunNote
from golive.examples import example_path
from golive.plan.validate import load_plan
from golive.runs.deployed import deployed_projects
from golive.store.store import Store

pytestmark = pytest.mark.xdist_group("verify_projects")


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[UserSandbox]:
    yield from running_sandbox(tmp_path_factory.mktemp("user"), "--github-run-seconds", "1")


@pytest.fixture(scope="module")
def partial(sandbox: UserSandbox) -> UserSandbox:
    """The release tagged, and only dynamodb_schemas deployed, past the gate with a reason."""
    for ran in (sandbox.golive("tag", "--yes", "--env", "prod"),
                sandbox.golive("deploy", "--yes", "--env", "prod", "--project", "dynamodb_schemas",
                               "--skip-gate", "--why", "only the tables tonight")):
        assert ran.code == 0, ran.explain()
    return sandbox


def test_a_partial_deploy_fails_verify_naming_the_projects_not_deployed(partial: UserSandbox) -> None:
    sandbox = partial
    ran = sandbox.golive("verify", "--env", "prod")
    assert ran.code == 1, ran.explain()
    last = ran.out.strip().splitlines()[-1]
    assert last.startswith("verify prod: failed") and "s3_schemas" in last, ran.out
    assert "dynamodb_schemas" not in last.split("not verified:")[1]
    assert "skipped (not deployed" in ran.out and "s3_schemas" in ran.out

    data = json.loads(sandbox.golive("verify", "--env", "prod", "--json").out)
    assert "s3_schemas" in data["not_deployed"] and "dynamodb_schemas" not in data["not_deployed"]
    # dynamodb_schemas' own verify: ran beside the validation; s3_schemas' did not (its bucket does not exist).
    targets = " ".join(str(c.get("target")) for c in data["checks"])
    checks = {c.get("check") for c in data["checks"]}
    assert "dynamodb_tables" in checks, data["checks"]
    assert "templates" not in targets


def test_skip_gate_belongs_to_its_deploy_run_and_shows_in_every_report(partial: UserSandbox) -> None:
    runs = json.loads(partial.golive("--json", "status").out)["history"]
    deploy = next(r["run"] for r in runs if r["kind"] == "deploy")

    own = partial.golive("report", "--run", str(deploy))
    assert own.code == 0, own.explain()
    overrides = own.out.split("## Overrides", 1)[1].split("##", 1)[0]
    assert "skip-gate" in overrides and "only the tables tonight" in overrides
    assert "(virtual)" not in own.out  # a deploy by hand runs on real time

    whole = partial.golive("report", "--release")
    assert whole.code == 0, whole.explain()
    listed = whole.out.split("## Overrides of the release", 1)[1].split("\n---\n", 1)[0]
    assert "skip-gate" in listed and "only the tables tonight" in listed and f"| {deploy} |" in listed
    # Every run of the release, in order: the tag, the deploy, the verifies.
    kinds = [line for line in whole.out.split("## Overrides", 1)[0].splitlines() if ": tag" in line or ": deploy" in line]
    assert kinds and ": tag" in kinds[0] and any(": deploy" in k for k in kinds[1:]), whole.out[:2000]

    data = json.loads(partial.golive("--json", "report", "--release").out)
    assert [o["guard"] for o in data["overrides"]] == ["skip-gate"] and data["overrides"][0]["run_id"] == deploy
    assert [r["run_id"] for r in data["runs"]] == sorted(r["run"] for r in runs)

    html = partial.golive("report", "--release", "--format", "html")
    assert html.code == 0 and "only the tables tonight" in html.out and html.out.count("<html") == 1

    status = partial.golive("status")
    assert "every run of the release, in order:" in status.out and f"run {deploy} deploy prod" in status.out


def test_a_deploy_of_an_earlier_version_does_not_count_as_deployed(tmp_path: Path) -> None:
    plan = load_plan(example_path("bbws"))
    store = Store.open(f"sqlite:///{tmp_path / 'state.db'}")
    at = datetime(2026, 1, 10, 9, 0, tzinfo=UTC)
    for version, project in (("v0.9.0-prod", "s3_schemas"), (plan.version, "dynamodb_schemas")):
        run = store.create_run(plan.release, "prod", "deploy", "digest", [], at)
        store.append_record(RunNote(subject="deploy", outcome="started", plan_version=version),
                            release=plan.release, env="prod", at=at, run_id=run.id)
        store.append_record(DeployFinished(subject=project, outcome="pass", project=project),
                            release=plan.release, env="prod", at=at, run_id=run.id)
        store.set_run(run.id, at, status="succeeded", ended=True)
    assert deployed_projects(store, plan, "prod") == {"dynamodb_schemas"}
    store.close()


def test_golive_gate_ticks_no_failing_preflight_and_sees_a_secret_set_since(sandbox: UserSandbox) -> None:
    assert sandbox.golive("preflight", "--env", "prod").code == 1  # the Jan-8 world: deploy secrets missing

    def preflight_line() -> str:
        gate = sandbox.golive("gate", "go_no_go", "--env", "prod")
        assert gate.code == 1, gate.explain()
        return next(line for line in gate.out.splitlines() if line.strip().split(" ", 1)[-1].startswith("preflight"))

    line = preflight_line()
    assert "✗" in line and "✓" not in line and "left to do before a deploy by hand" in line, line

    ran = sandbox.golive("--yes", "secrets", "set", "AWS_ROLE_PROD", "--repo", f"{OWNER}/2_1_bbws_dynamodb_schemas",
                         "--value-from", "plan:AWS_ROLE_PROD")
    assert ran.code == 0, ran.explain()
    line = preflight_line()
    assert "✗" in line and "predates secrets set since: AWS_ROLE_PROD" in line, line
