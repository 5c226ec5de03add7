"""GitHub faults (``github:dispatch=lost@...``), parsed as ``--inject`` parses them and served by the local
GitHub over its real HTTP server: the client and the deploy action meet each one without a second run."""

from __future__ import annotations

import copy
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

import pytest
from test_github_support import DEPLOY, TOKEN, Sleeps

from golive.clock import VirtualClock
from golive.errors import GitHubUnreachable, UsageError
from golive.providers.github import DispatchInDoubt, GitHub
from golive.sandbox.faults import github_faults_at, parse_fault
from golive.sandbox.github_server import GitHubServer
from golive.steps.dispatch_doubt import settle_dispatch
from golive.steps.workflow import FIND_GRACE, DispatchUnconfirmed, dispatch_once, poll
from golive.store.store import StepSpec, Store

REPO = "acme/app"
WF = "deploy-prod.yml"
START = datetime.fromisoformat("2026-01-10T08:00:00+00:00")


class Faults:
    """The ``--inject`` values in force, resolved against a run that started at START."""

    def __init__(self) -> None:
        self.texts: list[str] = []

    def __call__(self, at: datetime) -> set[tuple[str, str]]:
        resolved = [parse_fault(t).resolve({"run": START}) for t in self.texts]
        return github_faults_at([r for r in resolved if r is not None], at)


@pytest.fixture
def faults() -> Faults:
    return Faults()


@pytest.fixture
def clock() -> VirtualClock:
    return VirtualClock(START)


@pytest.fixture
def server(clock: VirtualClock, faults: Faults) -> Iterator[GitHubServer]:
    with GitHubServer(clock, token=TOKEN, faults=faults, hold_s=1.0) as srv:
        srv.add_repo(REPO, {f".github/workflows/{WF}": DEPLOY})
        yield srv


@pytest.fixture
def github(server: GitHubServer, clock: VirtualClock) -> Iterator[GitHub]:
    client = GitHub(server.url, TOKEN, clock=clock, sleep=Sleeps(clock), timeout=0.5)
    yield client
    client.close()


def record_into(saved: dict[str, Any]) -> Any:
    def record(state: dict[str, Any]) -> None:
        saved.clear()
        saved.update(copy.deepcopy(state))
    return record


@pytest.mark.parametrize("fault", ["github:dispatch=lost", "github:dispatch=502"])
def test_a_created_run_whose_answer_is_lost_is_found_not_dispatched_again(
        fault: str, github: GitHub, server: GitHubServer, faults: Faults) -> None:
    faults.texts = [fault]
    state: dict[str, Any] = {}
    run_id = dispatch_once(github, state, REPO, WF, "main", {}, record_into({}))
    assert state["found"] == "found-after-lost-answer"
    assert [r["id"] for r in server.runs(REPO)] == [run_id]
    assert server.dispatch_count(REPO, WF) == 1


def test_lost_answer_of_a_workflow_without_the_id_is_a_doubt_then_found_by_elimination(
        github: GitHub, server: GitHubServer, clock: VirtualClock, faults: Faults) -> None:
    plain = DEPLOY.replace("run-name: Deploy to PROD ${{ inputs.golive_id }}\n", "")
    server.commit(REPO, {f".github/workflows/{WF}": plain})
    faults.texts = ["github:dispatch=lost@run..+1m"]
    saved: dict[str, Any] = {}
    with pytest.raises(DispatchInDoubt):
        dispatch_once(github, {}, REPO, WF, "main", {}, record_into(saved))
    clock.advance(timedelta(minutes=2))  # the engine tries again later: it looks, it does not post
    state = copy.deepcopy(saved)
    run_id = dispatch_once(github, state, REPO, WF, "main", {}, record_into(saved))
    assert run_id == server.runs(REPO)[0]["id"] and state["found"] == "after-restart"
    assert server.dispatch_count(REPO, WF) == 1


def test_runs_that_cannot_be_told_apart_stop_the_step_and_nothing_is_posted(
        github: GitHub, server: GitHubServer, clock: VirtualClock, faults: Faults) -> None:
    plain = DEPLOY.replace("run-name: Deploy to PROD ${{ inputs.golive_id }}\n", "")
    server.commit(REPO, {f".github/workflows/{WF}": plain})
    faults.texts = ["github:dispatch=lost@run..+1m"]
    saved: dict[str, Any] = {}
    with pytest.raises(DispatchInDoubt):
        dispatch_once(github, {}, REPO, WF, "main", {}, record_into(saved))
    faults.texts = []
    someone = GitHub(server.url, TOKEN, clock=clock)
    someone.dispatch_workflow(REPO, WF, "main", {"golive_id": "a-person"})  # a person's run in the same minutes
    clock.advance(FIND_GRACE + timedelta(seconds=1))
    with pytest.raises(DispatchUnconfirmed) as stopped:
        dispatch_once(github, copy.deepcopy(saved), REPO, WF, "main", {}, record_into(saved))
    assert stopped.value.exit_code == 3
    message = str(stopped.value)
    assert WF in message and "on main created 2026-01-10 07:58:00Z.." in message
    assert all(str(r["id"]) in message for r in server.runs(REPO))
    assert "--confirm-run ID" in message and "--redispatch --why" in message
    assert server.dispatch_count(REPO, WF) == 2  # ours and the person's; never a third


def test_any_429_is_waited_out_with_retry_after(github: GitHub, server: GitHubServer, clock: VirtualClock,
                                                faults: Faults) -> None:
    faults.texts = ["github:any=429@run..+1m"]
    before = clock.now()
    assert github.get_repo(REPO).full_name == REPO
    assert clock.now() - before >= timedelta(minutes=1)  # retry-after 30 s, twice, on the virtual clock
    assert [s for _, _, s in server.requests][:2] == [429, 429]


def test_any_503_and_timeout_are_unreachable_after_retries(github: GitHub, server: GitHubServer,
                                                           faults: Faults) -> None:
    for fault in ("github:any=503", "github:any=timeout"):
        faults.texts = [fault]
        with pytest.raises(GitHubUnreachable):
            github.get_repo(REPO)
    faults.texts = []
    assert github.get_repo(REPO).full_name == REPO


def test_timeout_on_the_dispatch_is_found_after_the_window(github: GitHub, server: GitHubServer,
                                                           clock: VirtualClock, faults: Faults) -> None:
    faults.texts = ["github:any=timeout@run..+1m"]
    saved: dict[str, Any] = {}
    with pytest.raises(GitHubUnreachable):
        dispatch_once(github, {}, REPO, WF, "main", {}, record_into(saved))
    clock.advance(timedelta(minutes=1))
    run_id = dispatch_once(github, copy.deepcopy(saved), REPO, WF, "main", {}, record_into(saved))
    assert run_id == server.runs(REPO)[0]["id"]
    assert server.dispatch_count(REPO, WF) == 1


def test_run_failure_makes_the_run_conclude_failure(github: GitHub, server: GitHubServer, clock: VirtualClock,
                                                    faults: Faults) -> None:
    faults.texts = ["github:run=failure"]
    state: dict[str, Any] = {}
    dispatch_once(github, state, REPO, WF, "main", {}, record_into({}))
    clock.advance(timedelta(minutes=5))
    progress = poll(github, state)
    assert (progress.conclusion, progress.failed_job) == ("failure", "Deploy")


@pytest.mark.parametrize("text", ["github:dispatch=503", "github:any=lost", "github:runs=failure", "github:any"])
def test_a_github_fault_that_matches_nothing_is_refused(text: str) -> None:
    with pytest.raises(UsageError, match=f"bad fault '{text}': no such GitHub fault"):
        parse_fault(text)


# -- the operator's answer: --confirm-run, --redispatch --why ------------------------------------------------


def doubtful_deploy(store: Store, github: GitHub, server: GitHubServer, clock: VirtualClock,
                    faults: Faults) -> tuple[int, dict[str, Any]]:
    """A deploy step whose dispatch answer was lost for a workflow whose runs do not show golive's id."""
    plain = DEPLOY.replace("run-name: Deploy to PROD ${{ inputs.golive_id }}\n", "")
    server.commit(REPO, {f".github/workflows/{WF}": plain})
    run = store.create_run("r", "prod", "deploy", "digest", [StepSpec(
        key="deploy.app", phase="deploy", kind="deploy", title="deploy app", group="batch.one", lane="app",
        params={})], clock.now())
    (step,) = store.steps(run.id)
    faults.texts = ["github:dispatch=lost"]
    saved: dict[str, Any] = {}
    with pytest.raises(DispatchInDoubt):
        dispatch_once(github, {}, REPO, WF, "main", {}, record_into(saved))
    store.update_step(step.id, state=saved)
    return step.id, saved


def test_confirm_run_is_checked_with_github_recorded_and_resumes_the_step(
        store: Store, github: GitHub, server: GitHubServer, clock: VirtualClock, faults: Faults) -> None:
    step_id, _ = doubtful_deploy(store, github, server, clock, faults)
    (ours,) = server.runs(REPO)
    with pytest.raises(UsageError, match="no deploy of other"):
        settle_dispatch(store, github, "r", "prod", "other", clock.now(), confirm_run=ours["id"])
    settle_dispatch(store, github, "r", "prod", "app", clock.now(), confirm_run=ours["id"])
    (step,) = [s for s in store.steps(store.runs("r")[0].id) if s.id == step_id]
    assert step.state["run_id"] == ours["id"] and step.state["found"] == "confirmed-by-operator"
    state = dict(step.state)
    assert dispatch_once(github, state, REPO, WF, "main", {}, record_into({})) == ours["id"]
    assert server.dispatch_count(REPO, WF) == 1
    (event,) = store.events(release="r", kind="override")
    assert (event.subject, event.data["run_id"]) == ("confirm-run", ours["id"])


def test_redispatch_posts_once_more_with_a_new_id_and_the_reason(
        store: Store, github: GitHub, server: GitHubServer, clock: VirtualClock, faults: Faults) -> None:
    doubtful_deploy(store, github, server, clock, faults)
    faults.texts = []
    settle_dispatch(store, github, "r", "prod", "app", clock.now(), redispatch_why="run 1 was cancelled by hand")
    (step,) = store.steps(store.runs("r")[0].id)
    state = dict(step.state)
    first = state["correlation_id"]
    run_id = dispatch_once(github, state, REPO, WF, "main", {}, record_into({}))
    assert server.dispatch_count(REPO, WF) == 2 and run_id == max(r["id"] for r in server.runs(REPO))
    assert state["correlation_id"] != first
    assert state["redispatched"][0]["why"] == "run 1 was cancelled by hand"
    assert dispatch_once(github, state, REPO, WF, "main", {}, record_into({})) == run_id  # and not a third
    assert server.dispatch_count(REPO, WF) == 2
    (event,) = store.events(release="r", kind="override")
    assert (event.subject, event.data["why"]) == ("redispatch", "run 1 was cancelled by hand")


def test_a_window_may_name_its_anchor_again() -> None:
    assert parse_fault("github:any=timeout@deploy..deploy+2m").window == parse_fault("github:any=timeout@deploy..+2m").window
