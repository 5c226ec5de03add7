"""The resumable deploy action against the local GitHub: intent before the POST, one dispatch across
restarts, watching to the end, failures named, a spent time budget cancelling the run."""

from __future__ import annotations

import copy
from datetime import timedelta
from typing import Any

import pytest
from test_github_support import *  # noqa: F403  (the shared fixtures)
from test_github_support import DEPLOY

from golive.clock import VirtualClock
from golive.providers.github import GitHub
from golive.sandbox.github_server import GitHubServer
from golive.steps.workflow import FIND_GRACE, WorkflowProgress, dispatch_once, poll

REPO = "bbws/product_lambda"
WF = "deploy-prod.yml"


class Crash(Exception):
    """The golive process dying at a chosen moment."""


class Store:
    """What the engine keeps: the last recorded state (a deep copy, as if written to the database)."""

    def __init__(self, *, dies_after_write: int | None = None, dies_before_write: int | None = None,
                 server: GitHubServer | None = None) -> None:
        self.saved: dict[str, Any] = {}
        self.calls = 0
        self.dies_after_write = dies_after_write
        self.dies_before_write = dies_before_write
        self.server = server
        self.dispatches_at_record: list[int] = []

    def __call__(self, state: dict[str, Any]) -> None:
        self.calls += 1
        if self.calls == self.dies_before_write:
            raise Crash
        self.saved = copy.deepcopy(state)
        if self.server is not None:
            self.dispatches_at_record.append(self.server.dispatch_count(REPO, WF))
        if self.calls == self.dies_after_write:
            raise Crash


@pytest.fixture
def repo(server: GitHubServer) -> str:
    server.add_repo(REPO, {f".github/workflows/{WF}": DEPLOY})
    server.set_duration(REPO, WF, 90)
    return REPO


def watch(github: GitHub, clock: VirtualClock, state: dict[str, Any], every: int = 7,
          store: Store | None = None) -> list[WorkflowProgress]:
    seen = [poll(github, state, store)]
    while not seen[-1].done and len(seen) < 100:
        clock.advance(timedelta(seconds=every))
        seen.append(poll(github, state, store))
    return seen


def test_intent_is_recorded_before_the_post_and_the_run_id_right_after(github: GitHub, server: GitHubServer,
                                                                      repo: str) -> None:
    store = Store(server=server)
    state: dict[str, Any] = {}
    run_id = dispatch_once(github, state, repo, WF, "main", {}, store)
    assert store.dispatches_at_record == [0, 1]
    assert store.saved["run_id"] == run_id
    assert store.saved["correlation_id"].startswith("golive-")
    assert server.runs(repo)[0]["display_title"] == f"Deploy to PROD {store.saved['correlation_id']}"


def test_deploy_is_watched_to_success(github: GitHub, server: GitHubServer, clock: VirtualClock, repo: str) -> None:
    state: dict[str, Any] = {}
    dispatch_once(github, state, repo, WF, "main", {}, Store())
    seen = watch(github, clock, state)
    assert seen[0].status == "queued"
    assert "in_progress" in [p.status for p in seen]
    assert seen[-1].succeeded
    assert seen[-1].html_url in seen[-1].summary()
    assert server.dispatch_count(repo, WF) == 1


def test_failed_deploy_names_the_failed_job_and_step(github: GitHub, server: GitHubServer, clock: VirtualClock,
                                                     repo: str) -> None:
    server.script_failure(repo, WF, job="Deploy", step="Configure AWS credentials")
    state: dict[str, Any] = {}
    dispatch_once(github, state, repo, WF, "main", {}, Store())
    last = watch(github, clock, state)[-1]
    assert (last.conclusion, last.failed_job, last.failed_step) == ("failure", "Deploy", "Configure AWS credentials")
    assert "job 'Deploy', step 'Configure AWS credentials'" in last.summary()
    assert last.to_dict()["failed_step"] == "Configure AWS credentials"


def test_restart_after_the_post_finds_the_run_and_never_dispatches_again(github: GitHub, server: GitHubServer,
                                                                        clock: VirtualClock, repo: str) -> None:
    crashing = Store(dies_before_write=2)  # dies right after the POST, before the run id is stored
    with pytest.raises(Crash):
        dispatch_once(github, {}, repo, WF, "main", {}, crashing)
    assert "run_id" not in crashing.saved and server.dispatch_count(repo, WF) == 1
    clock.advance(timedelta(minutes=10))  # the restart comes much later
    state = copy.deepcopy(crashing.saved)
    again = Store()
    run_id = dispatch_once(github, state, repo, WF, "main", {}, again)
    assert run_id == server.runs(repo)[0]["id"]
    assert again.saved["found"] == "after-restart"
    assert server.dispatch_count(repo, WF) == 1
    assert dispatch_once(github, state, repo, WF, "main", {}, again) == run_id
    assert server.dispatch_count(repo, WF) == 1


def test_restart_before_the_post_waits_then_dispatches_once(github: GitHub, server: GitHubServer,
                                                            clock: VirtualClock, repo: str) -> None:
    crashing = Store(dies_after_write=1)  # dies after writing the intent, before the POST
    with pytest.raises(Crash):
        dispatch_once(github, {}, repo, WF, "main", {}, crashing)
    state = copy.deepcopy(crashing.saved)
    assert dispatch_once(github, state, repo, WF, "main", {}, Store()) is None
    assert server.dispatch_count(repo, WF) == 0
    clock.advance(FIND_GRACE + timedelta(seconds=1))
    run_id = dispatch_once(github, state, repo, WF, "main", {}, Store())
    assert run_id is not None and server.dispatch_count(repo, WF) == 1
    assert server.runs(repo)[0]["display_title"].endswith(crashing.saved["correlation_id"])


def test_restart_finds_the_run_of_a_workflow_without_the_correlation_input(github: GitHub, server: GitHubServer,
                                                                         clock: VirtualClock) -> None:
    plain = DEPLOY.replace("run-name: Deploy to PROD ${{ inputs.golive_id }}\n", "").replace(
        "    inputs:\n      golive_id:\n        description: correlation id\n        required: false\n", "")
    server.add_repo(REPO, {f".github/workflows/{WF}": plain})
    earlier = Store()
    dispatch_once(github, {}, REPO, WF, "main", {}, earlier)  # someone's earlier run must not be taken for ours
    crashing = Store(dies_before_write=2)
    clock.advance(timedelta(minutes=1))
    with pytest.raises(Crash):
        dispatch_once(github, {}, REPO, WF, "main", {}, crashing)
    assert crashing.saved["correlation_in_inputs"] is False
    run_id = dispatch_once(github, copy.deepcopy(crashing.saved), REPO, WF, "main", {}, Store())
    assert run_id == max(r["id"] for r in server.runs(REPO))
    assert run_id != earlier.saved["run_id"]
    assert server.dispatch_count(REPO, WF) == 2


def test_spent_time_budget_cancels_the_run(github: GitHub, server: GitHubServer, clock: VirtualClock,
                                           repo: str) -> None:
    server.set_duration(repo, WF, 3600)
    state: dict[str, Any] = {}
    store = Store()
    dispatch_once(github, state, repo, WF, "main", {}, store, timeout=timedelta(minutes=2))
    seen = watch(github, clock, state, every=10, store=store)
    last = seen[-1]
    assert last.timed_out and last.conclusion == "cancelled"
    assert store.saved["cancelled_for_timeout"] is True
    assert len(seen) <= 15
    assert server.runs(repo)[0]["conclusion"] == "cancelled"
    assert "cancelled" in last.summary()
