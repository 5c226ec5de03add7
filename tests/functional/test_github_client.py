"""The GitHub client against the local GitHub over HTTP: dispatch in its three API dialects, errors,
rate limits, lost answers, tags, secrets, and the token lookup."""

from __future__ import annotations

import logging
import os
import socket
import stat
from datetime import timedelta
from pathlib import Path

import pytest
from test_github_support import *  # noqa: F403  (the shared fixtures)
from test_github_support import DEPLOY, TOKEN, Sleeps, ValidatingTransport

from golive.clock import VirtualClock
from golive.errors import GitHubRateLimited, GitHubRequestError, GitHubUnreachable
from golive.providers.github import DispatchInDoubt, GitHub, TagConflict, api_base_from_env, token_from_env
from golive.redact import Redactor
from golive.sandbox.github_server import GitHubServer

WF = ".github/workflows/deploy-prod.yml"
REPO = "acme/app"


@pytest.fixture
def repo(server: GitHubServer) -> str:
    server.add_repo(REPO, {WF: DEPLOY})
    return REPO


# -- dispatch ------------------------------------------------------------------------------------------------


def test_dispatch_answering_200_returns_the_run_id(github: GitHub, server: GitHubServer, repo: str) -> None:
    d = github.dispatch_workflow(repo, "deploy-prod.yml", "main", {"golive_id": "g-1"}, correlation="g-1")
    assert d.how == "returned"
    assert [r["id"] for r in server.runs(repo)] == [d.run_id]
    run = github.get_run(repo, d.run_id)
    assert run.status == "queued"
    assert run.display_title == "Deploy to PROD g-1"
    assert d.html_url == run.html_url


def test_dispatch_answering_204_is_found_by_listing(github: GitHub, server: GitHubServer, repo: str) -> None:
    server.dispatch_mode = "no_content"
    other = github.dispatch_workflow(repo, "deploy-prod.yml", "main", {"golive_id": "someone-else"},
                                     correlation="someone-else")
    d = github.dispatch_workflow(repo, "deploy-prod.yml", "main", {"golive_id": "g-2"}, correlation="g-2")
    assert d.how == "listed"
    assert d.run_id != other.run_id
    assert github.get_run(repo, d.run_id).display_title.endswith("g-2")
    assert server.dispatch_count(repo, "deploy-prod.yml") == 2


def test_server_rejecting_return_run_details_gets_the_call_again_without_it(github: GitHub, server: GitHubServer,
                                                                           repo: str) -> None:
    server.dispatch_mode = "reject_details"
    d = github.dispatch_workflow(repo, "deploy-prod.yml", "main", {"golive_id": "g-3"}, correlation="g-3")
    assert d.how == "listed"
    assert server.dispatch_count(repo, "deploy-prod.yml") == 1


def test_204_without_a_correlation_input_is_an_error_not_a_guess(github: GitHub, server: GitHubServer, repo: str) -> None:
    server.dispatch_mode = "no_content"
    with pytest.raises(DispatchInDoubt, match="did not return the run id"):
        github.dispatch_workflow(repo, "deploy-prod.yml", "main", {})
    assert server.dispatch_count(repo, "deploy-prod.yml") == 1


def test_workflow_without_dispatch_trigger_is_422_with_githubs_message(github: GitHub, server: GitHubServer) -> None:
    server.add_repo("acme/push-only", {WF: "name: CI\non: push\njobs:\n  build:\n    runs-on: ubuntu-latest\n"})
    with pytest.raises(GitHubRequestError) as err:
        github.dispatch_workflow("acme/push-only", "deploy-prod.yml", "main", {})
    assert err.value.status == 422
    assert "Workflow does not have 'workflow_dispatch' trigger" in str(err.value)
    assert server.dispatch_count("acme/push-only", "deploy-prod.yml") == 0


def test_trigger_missing_only_at_the_release_ref_is_422(github: GitHub, server: GitHubServer, repo: str) -> None:
    old = server.commit(repo, {WF: DEPLOY.replace("workflow_dispatch:", "push:")}, branch="old")
    with pytest.raises(GitHubRequestError, match="workflow_dispatch"):
        github.dispatch_workflow(repo, "deploy-prod.yml", old, {})


def test_unknown_repository_is_404(github: GitHub) -> None:
    with pytest.raises(GitHubRequestError) as err:
        github.dispatch_workflow("acme/nope", "deploy-prod.yml", "main", {})
    assert err.value.status == 404
    assert "Not Found" in str(err.value)


def test_workflow_only_on_another_branch_is_not_found(github: GitHub, server: GitHubServer) -> None:
    server.add_repo("acme/web", {".github/workflows/deploy-application.yml": DEPLOY})
    server.commit("acme/web", {WF: DEPLOY}, branch="feature")
    with pytest.raises(GitHubRequestError) as err:
        github.get_workflow("acme/web", "deploy-prod.yml")
    assert err.value.status == 404
    assert github.get_workflow("acme/web", "deploy-application.yml").state == "active"


def test_unexpected_input_is_422(github: GitHub, repo: str) -> None:
    with pytest.raises(GitHubRequestError, match=r"Unexpected inputs provided: \[\"nope\"\]"):
        github.dispatch_workflow(repo, "deploy-prod.yml", "main", {"nope": "1"})


# -- rate limits ----------------------------------------------------------------------------------------------


def test_429_with_retry_after_waits_that_long(github: GitHub, server: GitHubServer, sleeps: Sleeps, repo: str) -> None:
    server.rate_limit_next(1, status=429, kind="retry_after", seconds=37)
    assert github.get_repo(repo).default_branch == "main"
    assert sleeps.waits == [37.0]


def test_403_secondary_limit_with_retry_after_on_a_dispatch_does_not_dispatch_twice(
        github: GitHub, server: GitHubServer, sleeps: Sleeps, repo: str) -> None:
    server.rate_limit_next(2, status=403, kind="retry_after", seconds=20)
    github.dispatch_workflow(repo, "deploy-prod.yml", "main", {"golive_id": "g"}, correlation="g")
    assert sleeps.waits == [20.0, 20.0]
    assert server.dispatch_count(repo, "deploy-prod.yml") == 1


def test_403_secondary_limit_without_headers_waits_a_minute(github: GitHub, server: GitHubServer, sleeps: Sleeps,
                                                           repo: str) -> None:
    server.rate_limit_next(1, status=403, kind="secondary")
    github.get_repo(repo)
    assert sleeps.waits == [60.0]


def test_primary_limit_waits_until_the_reset(github: GitHub, server: GitHubServer, sleeps: Sleeps, repo: str) -> None:
    server.rate_limit_next(1, status=403, kind="primary", seconds=120)
    github.get_repo(repo)
    assert len(sleeps.waits) == 1
    assert 120.0 <= sleeps.waits[0] <= 122.0


def test_a_limit_longer_than_golive_waits_is_rate_limited(server: GitHubServer, clock: VirtualClock, sleeps: Sleeps,
                                                          repo: str) -> None:
    client = GitHub(server.url, TOKEN, clock=clock, sleep=sleeps, max_wait=300)
    server.rate_limit_next(1, status=429, kind="retry_after", seconds=3600)
    with pytest.raises(GitHubRateLimited, match="3600"):
        client.get_repo(repo)
    assert sleeps.waits == []


def test_unreachable_after_retries(clock: VirtualClock, sleeps: Sleeps) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # nothing listens there once the socket is closed
    client = GitHub(f"http://127.0.0.1:{port}", TOKEN, clock=clock, sleep=sleeps, max_attempts=3)
    with pytest.raises(GitHubUnreachable) as err:
        client.get_repo("acme/app")
    assert err.value.exit_code == 3
    assert sleeps.waits == [2.0, 4.0]


# -- lost answers: never a second dispatch or tag ----------------------------------------------------------


def test_dispatch_that_timed_out_but_was_created_is_not_dispatched_again(server: GitHubServer, clock: VirtualClock,
                                                                        sleeps: Sleeps, repo: str) -> None:
    client = GitHub(server.url, TOKEN, transport=ValidatingTransport(), clock=clock, sleep=sleeps, timeout=0.3)
    server.lose_next_answer("dispatch", delay=1.0)
    d = client.dispatch_workflow(repo, "deploy-prod.yml", "main", {"golive_id": "g-9"}, correlation="g-9")
    assert d.how == "found-after-lost-answer"
    assert server.dispatch_count(repo, "deploy-prod.yml") == 1
    assert [r["id"] for r in server.runs(repo)] == [d.run_id]


def test_dispatch_answered_502_after_creating_is_not_dispatched_again(github: GitHub, server: GitHubServer,
                                                                     repo: str) -> None:
    server.lose_next_answer("dispatch", status=502)
    d = github.dispatch_workflow(repo, "deploy-prod.yml", "main", {"golive_id": "g-10"}, correlation="g-10")
    assert d.how == "found-after-lost-answer"
    assert server.dispatch_count(repo, "deploy-prod.yml") == 1


def test_lost_dispatch_answer_without_correlation_is_not_retried(github: GitHub, server: GitHubServer,
                                                                 repo: str) -> None:
    server.lose_next_answer("dispatch", status=504)
    with pytest.raises(DispatchInDoubt, match="does not dispatch again"):
        github.dispatch_workflow(repo, "deploy-prod.yml", "main", {})
    assert server.dispatch_count(repo, "deploy-prod.yml") == 1


# -- tags ------------------------------------------------------------------------------------------------------


def test_tag_is_created_once_and_the_same_tag_on_the_same_commit_is_fine(github: GitHub, server: GitHubServer,
                                                                        repo: str) -> None:
    sha = github.resolve_commit(repo, "main")
    first = github.create_annotated_tag(repo, "v1.0.0-prod", sha, "PROD Release - Jan 10, 2026")
    again = github.create_annotated_tag(repo, "v1.0.0-prod", sha, "PROD Release - Jan 10, 2026")
    assert first.created and not again.created
    assert first.tag.commit == again.tag.commit == sha == server.tag_commit(repo, "v1.0.0-prod")
    assert first.tag.tag_sha is not None and first.tag.message == "PROD Release - Jan 10, 2026"


def test_tag_on_another_commit_is_an_error_naming_both(github: GitHub, server: GitHubServer, repo: str) -> None:
    old = github.resolve_commit(repo, "main")
    github.create_annotated_tag(repo, "v1.0.0-prod", old, "release")
    new = server.commit(repo, {"README.md": "changed"})
    with pytest.raises(TagConflict) as err:
        github.create_annotated_tag(repo, "v1.0.0-prod", new, "release")
    assert old in str(err.value) and new in str(err.value)
    assert server.tag_commit(repo, "v1.0.0-prod") == old


def test_tag_ref_whose_answer_was_lost_is_found_not_created_twice(github: GitHub, server: GitHubServer,
                                                                  repo: str) -> None:
    sha = github.resolve_commit(repo, "main")
    server.lose_next_answer("ref", status=502)
    result = github.create_annotated_tag(repo, "v2", sha, "release")
    assert result.created
    assert server.tag_commit(repo, "v2") == sha
    assert [r for r in server.requests if r[0] == "POST" and r[1].endswith("/git/refs")] == [
        ("POST", f"/repos/{repo}/git/refs", 502)
    ]


def test_missing_tag_is_none(github: GitHub, repo: str) -> None:
    assert github.get_tag(repo, "nope") is None


# -- runs -------------------------------------------------------------------------------------------------------


def test_run_moves_queued_in_progress_completed_on_the_clock(github: GitHub, server: GitHubServer,
                                                            clock: VirtualClock, repo: str) -> None:
    server.set_duration(repo, "deploy-prod.yml", 120)
    d = github.dispatch_workflow(repo, "deploy-prod.yml", "main", {"golive_id": "g"}, correlation="g")
    seen = []
    for _ in range(15):
        seen.append(github.get_run(repo, d.run_id).status)
        clock.advance(timedelta(seconds=10))
    assert seen[0] == "queued" and "in_progress" in seen and seen[-1] == "completed"
    assert github.get_run(repo, d.run_id).conclusion == "success"
    jobs = github.list_run_jobs(repo, d.run_id)
    assert [s.name for s in jobs[0].steps] == [
        "Set up job", "Run actions/checkout@v4", "Configure AWS credentials", "Terraform apply", "Complete job"]


def test_run_failure_names_the_job_and_step(github: GitHub, server: GitHubServer, clock: VirtualClock,
                                            repo: str) -> None:
    completed: list[tuple[str, str, str, dict[str, str], str]] = []
    server.on_completed = lambda *args: completed.append(args)
    server.script_failure(repo, "deploy-prod.yml", job="Deploy", step="Terraform apply")
    d = github.dispatch_workflow(repo, "deploy-prod.yml", "main", {"golive_id": "g"}, correlation="g")
    clock.advance(timedelta(minutes=5))
    assert github.get_run(repo, d.run_id).conclusion == "failure"
    job = github.list_run_jobs(repo, d.run_id)[0]
    assert job.conclusion == "failure"
    assert [(s.name, s.conclusion) for s in job.steps if s.conclusion != "success"] == [("Terraform apply", "failure")]
    assert completed == [(repo, "deploy-prod.yml", "main", {"golive_id": "g"}, "failure")]


def test_cancel_run(github: GitHub, clock: VirtualClock, repo: str) -> None:
    d = github.dispatch_workflow(repo, "deploy-prod.yml", "main", {"golive_id": "g"}, correlation="g")
    clock.advance(timedelta(seconds=30))
    assert github.cancel_run(repo, d.run_id) is True
    run = github.get_run(repo, d.run_id)
    assert (run.status, run.conclusion) == ("completed", "cancelled")
    assert github.cancel_run(repo, d.run_id) is False


# -- secrets and the token -------------------------------------------------------------------------------------


def test_put_secret_is_sealed_for_the_repository_and_never_shown(github: GitHub, server: GitHubServer,
                                                                  redactor: Redactor, repo: str,
                                                                  caplog: pytest.LogCaptureFixture) -> None:
    value = "arn:aws:iam::093646564004:role/2-1-bbws-tf-github-actions-prod"
    caplog.set_level(logging.DEBUG)
    assert github.put_secret(repo, "AWS_ROLE_PROD", value) is True
    assert github.put_secret(repo, "AWS_ROLE_PROD", value) is False
    assert server.decrypt_secret(repo, "AWS_ROLE_PROD") == value
    assert "AWS_ROLE_PROD" in github.list_repo_secrets(repo)
    with pytest.raises(GitHubRequestError) as err:
        github.put_secret("acme/missing", "AWS_ROLE_PROD", value + "-x")
    assert value not in caplog.text and value not in str(err.value)
    assert redactor(f"role {value}") == "role ***"
    assert TOKEN not in caplog.text


def test_environment_secret(github: GitHub, server: GitHubServer, repo: str) -> None:
    server.add_environment(repo, "prod")
    github.put_secret(repo, "CLOUDFRONT_DISTRIBUTION_ID_PROD", "E2ABCDEF", environment="prod")
    assert github.list_environment_secrets(repo, "prod") == {"CLOUDFRONT_DISTRIBUTION_ID_PROD"}
    assert server.decrypt_secret(repo, "CLOUDFRONT_DISTRIBUTION_ID_PROD", "prod") == "E2ABCDEF"
    assert github.list_repo_secrets(repo) == set()


def test_bad_token_is_401_and_the_token_is_not_in_the_error(server: GitHubServer, clock: VirtualClock,
                                                           repo: str) -> None:
    bad = "ghp_" + "WrongTokenWrongTokenWrongToken12"
    client = GitHub(server.url, bad, clock=clock)
    with pytest.raises(GitHubRequestError) as err:
        client.get_repo(repo)
    assert err.value.status == 401 and "Bad credentials" in str(err.value)
    assert bad not in str(err.value)


def test_token_from_env_prefers_github_token_then_gh_token_then_gh_cli(tmp_path: Path) -> None:
    assert token_from_env({"GITHUB_TOKEN": "a", "GH_TOKEN": "b", "PATH": ""}) == "a"
    assert token_from_env({"GH_TOKEN": "b", "PATH": ""}) == "b"
    assert token_from_env({"PATH": str(tmp_path)}) is None
    gh = tmp_path / "gh"
    gh.write_text("#!/bin/sh\n[ \"$1 $2\" = 'auth token' ] && echo gho_fromTheGhCli && exit 0\nexit 1\n")
    gh.chmod(gh.stat().st_mode | stat.S_IXUSR)
    assert token_from_env({"PATH": str(tmp_path)}) == "gho_fromTheGhCli"
    gh.write_text("#!/bin/sh\necho 'not logged in' >&2\nexit 1\n")
    assert token_from_env({"PATH": str(tmp_path)}) is None


def test_api_base_from_env() -> None:
    assert api_base_from_env({}) == "https://api.github.com"
    assert api_base_from_env({"GOLIVE_GITHUB_API": "https://ghe.example/api/v3/"}) == "https://ghe.example/api/v3"
    assert os.environ.get("GOLIVE_GITHUB_API") is None or api_base_from_env() == os.environ["GOLIVE_GITHUB_API"].rstrip("/")
