"""Issue 5's "Done when", as a new user runs it: prep sets the missing secrets, tag, deploy, kill and resume.

One detached sandbox for the module whose local GitHub runs a dispatched
workflow for about a second (``--github-run-seconds 1``) instead of four
minutes. Every command is a real ``golive`` process whose environment holds
only the exports the sandbox printed; every output is kept and searched for
the secret values and the token.
"""

from __future__ import annotations

import json
import signal
from collections.abc import Iterator
from pathlib import Path

import pytest
from cli_user import OWNER, UserSandbox, running_sandbox, wait_for

from golive.sandbox.world import SANDBOX_TOKEN
from golive.store.store import Store

pytestmark = pytest.mark.xdist_group("cli_github")

SCHEMAS = f"{OWNER}/2_1_bbws_dynamodb_schemas"
REPOS = [f"{OWNER}/{name}" for name in ("2_1_bbws_dynamodb_schemas", "2_1_bbws_s3_schemas", "2_1_bbws_web_public",
                                        "2_bbws_product_lambda", "2_bbws_order_lambda", "2_bbws_campaigns_lambda")]
DEPLOY = ("deploy", "--yes", "--env", "prod", "--project", "dynamodb_schemas", "--skip-gate", "--why", "test")


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[UserSandbox]:
    yield from running_sandbox(tmp_path_factory.mktemp("user"), "--github-run-seconds", "1")


@pytest.fixture(scope="module")
def cloudfront_id(sandbox: UserSandbox) -> str:
    """The value the runbook looks up by hand: the PROD frontend distribution's id."""
    with sandbox.aws(region="us-east-1") as aws:
        client = aws.client("cloudfront")
        items = aws.call("cloudfront:ListDistributions", lambda: client.list_distributions())["DistributionList"]["Items"]
    found = [str(i["Id"]) for i in items if i.get("Comment") == "PROD Frontend"]
    assert len(found) == 1
    return found[0]


def _assert_nothing_leaked(sandbox: UserSandbox, secret: str, logs: tuple[Path, ...] = ()) -> None:
    """Neither the secret value nor the token in any output (``sandbox up`` prints the token as an export)."""
    outputs = [(" ".join(r.argv), r.text) for r in sandbox.ran if r.argv[:2] != ("sandbox", "up")]
    outputs += [(str(log), log.read_text(errors="replace")) for log in logs]
    assert outputs
    for what, text in outputs:
        assert secret not in text, f"the secret value appears in the output of {what}"
        assert SANDBOX_TOKEN not in text, f"the GitHub token appears in the output of {what}"


def test_prep_sets_the_missing_secrets_and_preflight_then_passes(sandbox: UserSandbox, cloudfront_id: str) -> None:
    for ran in (
        sandbox.golive("--yes", "secrets", "set", "AWS_ROLE_PROD", "--repo", f"{OWNER}/2_1_bbws_dynamodb_schemas",
                       "--repo", f"{OWNER}/2_1_bbws_s3_schemas", "--value-from", "plan:AWS_ROLE_PROD"),
        sandbox.golive("--yes", "secrets", "set", "AWS_ROLE_ARN_PROD", "--repo", f"{OWNER}/2_bbws_campaigns_lambda",
                       "--value-from", "plan:AWS_ROLE_ARN_PROD"),
        sandbox.golive("--yes", "secrets", "set", "CLOUDFRONT_DISTRIBUTION_ID_PROD", "--repo", f"{OWNER}/2_1_bbws_web_public",
                       "--value-from", "plan:CLOUDFRONT_DISTRIBUTION_ID_PROD", "--env", "prod"),
    ):
        assert ran.code == 0, ran.explain()
        assert "created" in ran.out

    ran = sandbox.golive("preflight", "--env", "prod", "--json")
    assert ran.code == 0, ran.explain()
    data = json.loads(ran.out)
    results = data["results"]
    assert [r for r in results if r["status"] in ("fail", "error")] == []
    github = [r for r in results if r["check"].startswith("github_")]
    campaigns = "BigBeardWebSolutions/2_bbws_campaigns_lambda:promote-prod.yml"
    assert len(github) == 12 and {r["status"] for r in github if r["target"] != campaigns} == {"pass"}
    assert {row["status"] for row in data["secrets"]} == {"configured", "hard-coded"}
    # The seeded promote-prod.yml neither takes nor shows golive's correlation id: a warning, and the line to add.
    # (The canaries' sample checks pass or warn by the sandbox's traffic; they are not this test's subject.)
    warned = {r["target"]: r["summary"] for r in results if r["status"] == "warn" and r["check"] != "canary_sample"}
    assert set(warned) == {"certificate kimmyai.io", campaigns}
    assert "run-name: ${{ inputs.golive_id || github.ref_name }}" in warned[campaigns]
    _assert_nothing_leaked(sandbox, cloudfront_id)
    assert cloudfront_id.encode() not in (sandbox.plan.parent / ".golive" / "state.db").read_bytes()


def test_tag_creates_the_release_tag_in_all_six_repositories_and_again_is_fine(sandbox: UserSandbox) -> None:
    first = sandbox.golive("tag", "--yes", "--env", "prod", "--json")
    assert first.code == 0, first.explain()
    again = sandbox.golive("tag", "--yes", "--env", "prod", "--json")
    assert again.code == 0, again.explain()
    created = {t["repo"]: (t["tag"], t["commit"], t["created"]) for t in json.loads(first.out)["tagged"]}
    repeated = {t["repo"]: (t["tag"], t["commit"], t["created"]) for t in json.loads(again.out)["tagged"]}
    assert sorted(created) == sorted(REPOS)
    assert {tag for tag, _, _ in created.values()} == {"v1.0.0-prod"}
    assert all(made for _, _, made in created.values())
    assert repeated == {repo: (tag, commit, False) for repo, (tag, commit, _) in created.items()}


def test_deploy_without_a_go_exits_2_saying_to_run_the_gate(sandbox: UserSandbox) -> None:
    before = sandbox.counts()["dispatches"][SCHEMAS]
    ran = sandbox.golive("deploy", "--yes", "--env", "prod", "--project", "dynamodb_schemas")
    assert ran.code == 2, ran.explain()
    assert ran.out == ""
    lines = ran.err.strip().splitlines()
    assert len(lines) == 1 and "golive gate" in lines[0], ran.err
    assert sandbox.counts()["dispatches"][SCHEMAS] == before


def test_deploy_dispatches_once_watches_to_the_end_and_resumes_after_sigkill(sandbox: UserSandbox,
                                                                            tmp_path: Path, cloudfront_id: str) -> None:
    if sandbox.github_get(f"/repos/{SCHEMAS}/git/ref/tags/v1.0.0-prod").status_code != 200:
        tagged = sandbox.golive("tag", "--yes", "--env", "prod")  # the release ref the workflow runs on
        assert tagged.code == 0, tagged.explain()
    before = sandbox.counts()["dispatches"][SCHEMAS]

    ran = sandbox.golive(*DEPLOY)
    assert ran.code == 0, ran.explain()
    counts = sandbox.counts()
    assert counts["dispatches"][SCHEMAS] == before + 1
    assert "dynamodb_schemas" in counts["deploys_applied"]
    assert "succeeded" in ran.out
    store = Store.open(sandbox.store_url)
    first = [e for e in store.events(kind="deploy") if e.outcome == "dispatched"][-1]
    assert f"run {first.data['run_id']} succeeded" in ran.err and str(first.data["url"]) in ran.err
    assert "✓ verify dynamodb_schemas" in ran.err

    # Killed while it watches (after the dispatch is recorded), then started again: still one dispatch.
    dispatched = len([e for e in store.events(kind="deploy") if e.outcome == "dispatched"])
    log = tmp_path / "killed.log"
    watcher = sandbox.start(*DEPLOY, log=log)
    try:
        wait_for(lambda: len([e for e in store.events(kind="deploy") if e.outcome == "dispatched"]) > dispatched
                 or watcher.poll() is not None, "the deploy to record its dispatch")
        assert watcher.poll() is None, log.read_text()
    finally:
        watcher.send_signal(signal.SIGKILL)
        watcher.wait()
    assert watcher.returncode == -signal.SIGKILL
    assert sandbox.counts()["dispatches"][SCHEMAS] == before + 2
    second = [e for e in store.events(kind="deploy") if e.outcome == "dispatched"][-1]
    assert second.data["run_id"] != first.data["run_id"]
    # The run ends at GitHub while golive is dead; the restarted golive finds the recorded run at its next poll.
    wait_for(lambda: sandbox.github_get(f"/repos/{SCHEMAS}/actions/runs/{second.data['run_id']}").json()["status"]
             == "completed", "the workflow run to complete")

    resumed = sandbox.golive(*DEPLOY)
    assert resumed.code == 0, resumed.explain()
    assert "(resumed)" in resumed.out and "succeeded" in resumed.out
    assert f"run {second.data['run_id']} succeeded" in resumed.err
    assert sandbox.counts()["dispatches"][SCHEMAS] == before + 2
    _assert_nothing_leaked(sandbox, cloudfront_id, (log,))
    store.close()
