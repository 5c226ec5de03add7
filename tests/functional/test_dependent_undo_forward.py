"""A dependent's undo never redeploys while its own forward dispatch may still run (``rollback_dependents``).

The site deploys by its workflow beside the API it depends on; the API's canary fails while the site's forward
dispatch is POSTed but its run id is not saved (GitHub did not show the run yet, or golive died between the POST
and saving the id). Before the site is redeployed at its previous release tag, the forward run is looked for as
``dispatch_once`` looks after a restart: found late, it is watched to its end first; runs that cannot be told to
be golive's leave the site not undone, with a line saying what a person settles; no run at all long after the
intent means the POST never landed, and the redeploy goes ahead.

Real parts: the local GitHub over HTTP on a virtual clock, the real deploy kind, the engine, a real store; the
forward intent is written by ``dispatch_once`` itself, cut off as a killed golive would be.
"""

from __future__ import annotations

import copy
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from golive.clock import VirtualClock
from golive.engine.context import Services
from golive.engine.outcome import Done, Handler
from golive.engine.runner import Engine
from golive.plan.validate import load_plan_text
from golive.providers.github import GitHub
from golive.runs.undo import ask
from golive.sandbox.github_server import GitHubServer
from golive.steps import deploy
from golive.steps.workflow import FIND_GRACE, dispatch_once
from golive.store.statuses import StepStatus
from golive.store.store import StepSpec, Store

T0 = datetime(2026, 1, 10, 8, 5, tzinfo=UTC)
REPO, WF = "owner/site", "deploy.yml"
PLAN = """\
release: r
version: v1.0.0
environments:
  prod: {account: "123456789012", region: eu-west-1}
projects:
  api: {repo: owner/api, deploy: {command: ["true"]}}
  site: {repo: owner/site, deploy: {github_workflow: deploy.yml}, depends_on: [api]}
batches:
  - {name: apis, projects: [api, site]}
rollback: {rollback_dependents: true}
"""
GRAPH = {"dependencies": {"projects": ["site", "api"], "depends_on": {"site": ["api"]}, "rollback_dependents": True}}
# Its runs' titles show golive's id: the run of an intent is told by its title.
TITLED = """\
name: Deploy
run-name: Deploy ${{ inputs.golive_id }}
on:
  workflow_dispatch:
    inputs:
      golive_id: {required: false}
jobs:
  deploy:
    runs-on: ubuntu-latest
    steps:
      - run: true
"""
# Its runs' titles do not: a run is golive's only when it is the one dispatch run on the ref since the intent.
PLAIN = "on:\n  workflow_dispatch:\njobs:\n  deploy:\n    runs-on: ubuntu-latest\n    steps:\n      - run: true\n"
QUEUED_S, RUNNING_S = 5, 300


class Killed(BaseException):
    """golive died at this save: nothing after it happened."""


def _intent(github: GitHub, *, posted: bool) -> dict[str, Any]:
    """The forward deploy's state as a killed golive left it: its intent saved, then killed before the POST
    (``posted=False``) or right after it, before the run id was saved."""
    saved: dict[str, Any] = {}
    saves = [0]

    def record(state: dict[str, Any]) -> None:
        saves[0] += 1
        if saves[0] == 2:
            raise Killed  # the run id's save never reached the store
        saved.clear()
        saved.update(copy.deepcopy(state))
        if not posted:
            raise Killed  # died right after the intent was saved

    with pytest.raises(Killed):
        dispatch_once(github, {}, REPO, WF, "v1.0.0", {}, record, timeout=timedelta(hours=1))
    assert saved["correlation_id"] and saved["intent_at"] and "run_id" not in saved
    return saved


def _fails_with_site_in_doubt(tmp_path: Path, workflow: str, *, posted: bool,
                              meanwhile: Callable[[GitHubServer, VirtualClock, dict[str, Any]], None] | None = None,
                              after: Callable[[Services], None] | None = None,
                              ) -> tuple[Store, int, list[dict[str, Any]], dict[str, Any]]:
    """The API's canary failed while the site's forward dispatch is in the state a killed golive left; the engine
    resumes the run and undoes the site (then ``after`` looks, GitHub still up). Returns the store, the run, the
    site's workflow runs and its intent."""
    clock = VirtualClock(T0)
    url = f"sqlite:///{tmp_path / 'run.db'}"
    site = deploy.DeployParams(project="site", method="github_workflow", repo=REPO, workflow=WF, ref="v1.0.0",
                               timeout_s=3600)
    specs = [deploy.KIND.freeze(site, key="deploy.site", phase="batch", title="deploy site", group="batch.apis",
                                lane="site"),
             StepSpec(key="canary.api", phase="batch", kind="w", title="canary api", group="batch.apis", lane="api",
                      params={})]
    store = Store.open(url)
    with GitHubServer(clock, token="t", queued_s=QUEUED_S, running_s=RUNNING_S) as server:
        server.add_repo(REPO, {f".github/workflows/{WF}": workflow})
        for tag in ("v0.9.0", "v1.0.0"):
            server.add_tag(REPO, tag)
        github = GitHub(server.url, "t", clock=clock)
        try:
            intent = _intent(github, posted=posted)
            run_id = store.create_run("r", "prod", "release", "0" * 64, specs, T0, meta={"plan": GRAPH}).id
            steps = {s.key: s for s in store.steps(run_id)}
            store.update_step(steps["deploy.site"].id, status=StepStatus.WAITING, state=intent,
                              wait_reason="dispatched; waiting for GitHub to show the run")
            store.update_step(steps["canary.api"].id, status=StepStatus.FAILED,
                              result={"reason": "error_rate 9% > 5%"})
            store.set_run(run_id, T0, status="running")
            if meanwhile is not None:
                meanwhile(server, clock, intent)
            services = Services(plan=load_plan_text(PLAN), store=store, clock=clock, github=github)
            engine = Engine(services, {"w": Handler("w", lambda ctx: Done("baked")),
                                       "deploy": deploy.KIND.handler()}, holder="test")
            engine.drive(run_id)
            if after is not None:
                after(services)
        finally:
            github.close()
        runs = server.runs(REPO)
    return store, run_id, runs, intent


def _at(run: dict[str, Any]) -> datetime:
    return datetime.fromisoformat(str(run["created_at"]).replace("Z", "+00:00"))


def _refs(runs: list[dict[str, Any]]) -> Counter[str]:
    return Counter(str(r["head_branch"]) for r in runs)


def _undone(store: Store, run_id: int) -> list[Any]:
    return list(store.events(run_id=run_id, kind="undo"))


def test_a_forward_run_github_shows_late_ends_before_the_redeploy(tmp_path: Path) -> None:
    """The POST landed but GitHub shows its run only 40 s after the intent: the undo looks again until it is
    there, saves its id, watches it to its end, then redeploys the previous tag once."""
    def late(server: GitHubServer, clock: VirtualClock, intent: dict[str, Any]) -> None:
        def appear(_old: datetime, new: datetime) -> None:
            if new >= T0 + timedelta(seconds=40) and not any(r["head_branch"] == "v1.0.0" for r in server.runs(REPO)):
                someone = GitHub(server.url, "t", clock=clock)
                try:
                    someone.dispatch_workflow(REPO, WF, "v1.0.0", {"golive_id": intent["correlation_id"]})
                finally:
                    someone.close()
        clock.on_advance(appear)

    store, run_id, runs, _ = _fails_with_site_in_doubt(tmp_path, TITLED, posted=False, meanwhile=late)
    try:
        assert _refs(runs) == Counter({"v1.0.0": 1, "v0.9.0": 1})
        by_ref = {str(r["head_branch"]): r for r in runs}
        forward, back = by_ref["v1.0.0"], by_ref["v0.9.0"]
        assert _at(forward) >= T0 + timedelta(seconds=40)
        assert _at(back) >= _at(forward) + timedelta(seconds=QUEUED_S + RUNNING_S)  # after the forward run ended
        assert forward["conclusion"] == "success"
        site = next(s for s in store.steps(run_id) if s.key == "deploy.site")
        assert (site.state["run_id"], site.state["found"]) == (forward["id"], "after-restart")
        undone = _undone(store, run_id)
        assert [(e.subject, e.outcome, e.data["tag"]) for e in undone] == [("site", "undone", "v0.9.0")]
    finally:
        store.close()


def test_runs_that_cannot_be_told_apart_leave_the_dependent_not_undone_with_what_to_do(tmp_path: Path) -> None:
    """Killed after the POST, the workflow's titles not showing golive's id, and a person's run on the same ref
    in the same minutes: nothing is redeployed; the site is recorded not undone, naming both runs and how to
    settle it."""
    def person(server: GitHubServer, clock: VirtualClock, intent: dict[str, Any]) -> None:
        clock.advance(timedelta(seconds=30))
        someone = GitHub(server.url, "t", clock=clock)
        try:
            someone.dispatch_workflow(REPO, WF, "v1.0.0", {})
        finally:
            someone.close()

    asked: list[Any] = []
    store, run_id, runs, intent = _fails_with_site_in_doubt(
        tmp_path, PLAIN, posted=True, meanwhile=person, after=lambda services: asked.append(ask(services, "prod", "site")))
    try:
        assert _refs(runs) == Counter({"v1.0.0": 2})  # golive's and the person's; never the previous tag
        (undone,) = _undone(store, run_id)
        assert (undone.subject, undone.outcome, undone.data["asked_by"]) == ("site", "undo_failed", "dependency")
        reason = undone.data["reason"]
        assert reason.startswith("could not be undone: its forward deploy's dispatch is in doubt: "), reason
        assert intent["correlation_id"] in reason and all(str(r["id"]) in reason for r in runs), reason
        assert "golive rollback site" in reason, reason
        site = next(s for s in store.steps(run_id) if s.key == "deploy.site")
        assert "run_id" not in site.state and site.state["dependency_undo"]["recorded"] is True
        # What the line says is so: golive rollback site would redeploy v0.9.0 (nothing says it is already undone).
        assert (asked[0].already, asked[0].resumes, asked[0].tag) == (None, None, "v0.9.0")
    finally:
        store.close()


def test_no_forward_run_long_after_the_intent_means_the_post_never_landed_and_the_redeploy_goes_ahead(
        tmp_path: Path) -> None:
    """Killed before the POST: GitHub shows no run on the ref, and once the intent's grace has passed the undo
    redeploys the previous tag, once."""
    store, run_id, runs, _ = _fails_with_site_in_doubt(tmp_path, TITLED, posted=False)
    try:
        assert _refs(runs) == Counter({"v0.9.0": 1})
        assert _at(runs[0]) >= T0 + FIND_GRACE  # it looked for the forward run for the whole grace first
        assert [(e.subject, e.outcome) for e in _undone(store, run_id)] == [("site", "undone")]
    finally:
        store.close()
