"""A failure is final whatever dies when: the engine killed before each of its commits resumes into the failure.

Each scenario runs once undisturbed to count its commits; then, for every commit N, a new run does it
again and the process "dies" just before its Nth commit (a listener on SQLAlchemy's engines raises a
``BaseException`` at that commit and every later one, as a killed process commits nothing more; on
PostgreSQL a pipelined write's COMMIT statement counts too), on SQLite and PostgreSQL, and a new
engine on a new store object resumes it. The invariants: no step after a failed step ever runs, every undo
the failure owes is done after the failure, and the run ends as the undisturbed one did. The real-process
version of this harness, against the sandbox, is ``tests/crash/``.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from golive.clock import VirtualClock
from golive.engine.context import Services, StepContext
from golive.engine.outcome import Done, Fail, Handler, Outcome, Wait
from golive.engine.runner import Engine
from golive.plan.validate import load_plan_text
from golive.providers.github import GitHub
from golive.sandbox.github_server import GitHubServer
from golive.steps import deploy
from golive.store.statuses import RunStatus, StepStatus
from golive.store.store import StepSpec, Store

T0 = datetime(2026, 1, 10, 8, 5, tzinfo=UTC)
PLAN = """\
release: r
version: v1
environments:
  prod: {account: "123456789012", region: eu-west-1}
projects:
  a: {repo: owner/a, deploy: {command: ["true"]}}
batches:
  - {name: one, projects: [a]}
"""


class Died(BaseException):
    """The process died before this commit: nothing of it, or of anything later, reaches the store."""


@dataclass
class World:
    """What the handlers did to the outside world, across every process of one scenario."""

    calls: list[str] = field(default_factory=list)
    shifted: set[str] = field(default_factory=set)  # canaries whose traffic moved (after their intent was saved)
    undone: list[str] = field(default_factory=list)
    failed_at: int | None = None  # index into calls when the failing step answered Fail

    def run(self, ctx: StepContext) -> Outcome:
        key = ctx.step.key
        self.calls.append(key)
        script = SCRIPTS[key]
        outcome = script(ctx, self.calls.count(key))
        if ctx.state.get("shifted") is not None:
            self.shifted.add(key)  # the intent is durable (save returned), so the shift was made
        if isinstance(outcome, Fail) and self.failed_at is None:
            self.failed_at = len(self.calls)
        return outcome

    def compensate(self, ctx: StepContext, reason: str) -> None:
        ctx.state["rolling_back"] = reason
        ctx.save()  # an intent, as a real rollback saves one: a crash point inside the compensation
        self.undone.append(ctx.step.key)


def _failing_api(ctx: StepContext, n: int) -> Outcome:
    """Shifts, then fails leaving its own undo to the engine, after its dependents' (rollback_dependents)."""
    if ctx.state.get("shifted") is None:
        ctx.state["shifted"] = 10
        ctx.save()
    return Wait(ctx.now + timedelta(minutes=1), "baking") if n < 2 else Fail("error_rate 9% > 5%", undo_self=True)


def _bake(ctx: StepContext, n: int) -> Outcome:
    if ctx.state.get("shifted") is None:
        ctx.state["shifted"] = 10
        ctx.save()
    return Wait(ctx.now + timedelta(minutes=5), "baking") if n < 3 else Done("promoted")


SCRIPTS: dict[str, Callable[[StepContext, int], Outcome]] = {
    "soak": lambda ctx, n: Done("soak passed"),
    "gate": lambda ctx, n: Fail("NO-GO: an open P1", ends_as=RunStatus.NO_GO),
    "tag": lambda ctx, n: Done("tagged"),
    "deploy": lambda ctx, n: Done("deployed"),
    "canary.a": _bake,
    "canary.b": lambda ctx, n: Wait(ctx.now + timedelta(minutes=1), "baking") if n < 2 else Fail("error_rate 9% > 5%"),
    "canary.c": _bake,
    "validation": lambda ctx, n: Done("valid"),
    "canary.site": _bake,
    "canary.api": lambda ctx, n: _failing_api(ctx, n),
    "canary.late": _bake,
}

# The site (promoted in an earlier batch) and "late" (a later batch) depend on the API whose canary fails.
DEPENDENTS = [("soak", "soak"), ("canary.site", "batch.web"), ("canary.a", "batch.apis"),
              ("canary.api", "batch.apis"), ("canary.late", "batch.later"), ("validation", "validation")]
GRAPH = {"dependencies": {"projects": ["site", "a", "api", "late"], "depends_on": {"site": ["api"], "late": ["api"]},
                          "rollback_dependents": True}}
NO_GO = [("soak", "soak"), ("gate", "gate"), ("tag", "prep"), ("deploy", "batch.one")]
CANARIES = [("soak", "soak"), ("canary.a", "batch.apis"), ("canary.b", "batch.apis"), ("canary.c", "batch.apis"),
            ("validation", "validation")]


def _specs(steps: list[tuple[str, str]]) -> list[StepSpec]:
    return [StepSpec(key=key, phase=group.split(".")[0], kind="w", title=key, group=group,
                     lane=key.split(".")[-1], params={}) for key, group in steps]


def _drive(url: str, world: World, run_id: int, clock: VirtualClock, die_at: int | None, *, plan: str = PLAN,
           github: GitHub | None = None) -> RunStatus | None:
    store = Store.open(url)
    commits = [0]

    def count(conn: Any) -> None:
        commits[0] += 1
        if die_at is not None and commits[0] >= die_at:
            raise Died(commits[0])

    def statement(conn: Any, cursor: Any, text: str, *args: Any) -> None:
        if text == "COMMIT":  # PostgreSQL's pipelined writes send their COMMIT as a statement
            count(conn)

    sa.event.listen(sa.engine.Engine, "commit", count)
    sa.event.listen(sa.engine.Engine, "before_cursor_execute", statement)
    services = Services(plan=load_plan_text(plan), store=store, clock=clock, github=github)
    engine = Engine(services, {"w": Handler("w", world.run, world.compensate), "deploy": deploy.KIND.handler()},
                    holder="test")
    try:
        return RunStatus(engine.drive(run_id).status)
    except Died:
        return None
    finally:
        sa.event.remove(sa.engine.Engine, "commit", count)
        sa.event.remove(sa.engine.Engine, "before_cursor_execute", statement)
        store.close()
        WRITES.append(commits[0])


WRITES: list[int] = []


def _scenario(url: str, steps: list[tuple[str, str]], die_at: int | None,
              plan: dict[str, Any] | None = None) -> tuple[RunStatus, World, Store, int]:
    store = Store.open(url)
    run_id = store.create_run(f"r{die_at}", "prod", "release", "0" * 64, _specs(steps), T0,
                              meta={"plan": plan} if plan else None).id
    store.close()
    world, clock = World(), VirtualClock(T0)
    status = _drive(url, world, run_id, clock, die_at)
    if status is None:
        status = _drive(url, world, run_id, clock, None)
    assert status is not None
    return status, world, Store.open(url), run_id


def _check(steps: list[tuple[str, str]], url: str, expected: RunStatus, after_failure_never: set[str],
           plan: dict[str, Any] | None = None, also: Callable[[World, Store, int], None] | None = None) -> int:
    WRITES.clear()
    status, world, store, _ = _scenario(url, steps, None, plan)
    store.close()
    assert status == expected
    total = WRITES[0]
    assert total >= 3
    for n in range(1, total + 1):
        status, world, store, run_id = _scenario(url, steps, n, plan)
        assert status == expected, f"died before commit {n}: ended {status}, not {expected}"
        assert world.failed_at is not None
        ran_after = set(world.calls[world.failed_at:]) & after_failure_never
        assert not ran_after, f"died before commit {n}: {sorted(ran_after)} ran after the failure"
        owed = world.shifted - {key for key in world.calls[world.failed_at - 1:world.failed_at]}
        assert owed <= set(world.undone), f"died before commit {n}: undos owed {sorted(owed - set(world.undone))}"
        statuses = {s.key: s.status for s in store.steps(run_id)}
        assert StepStatus.COMPENSATING not in statuses.values()
        assert all(statuses[key] in (StepStatus.CANCELLED, StepStatus.DONE, StepStatus.FAILED) for key in statuses)
        run = store.get_run(run_id)
        assert run.status == expected and run.ended_at is not None
        assert [e.outcome for e in store.events(run_id=run_id, kind="run")] == [expected.value]
        if also is not None:
            also(world, store, run_id)
        store.close()
    return total


def test_a_no_go_is_final_at_every_crash_point(store_url: str) -> None:
    points = _check(NO_GO, store_url, RunStatus.NO_GO, {"tag", "deploy"})
    print(f"NO-GO at the gate: {points} crash points, 0 invariant violations")


def test_a_failed_canary_rolls_its_batch_back_at_every_crash_point(store_url: str) -> None:
    points = _check(CANARIES, store_url, RunStatus.ROLLED_BACK, {"validation", "canary.a", "canary.c"})
    print(f"a canary failing in a batch of three: {points} crash points, 0 invariant violations")


def _dependents_first(world: World, store: Store, run_id: int) -> None:
    """The site (a dependent) is undone before the API's own undo; each undo recorded once, in its place."""
    assert "canary.api" in world.undone
    assert world.undone.index("canary.site") < world.undone.index("canary.api")
    held = [e.data for e in store.events(run_id=run_id, kind="dependents") if e.outcome == "held"]
    assert [(h["held"], h["undo"]) for h in held] == [(["site", "late"], ["canary.site", "canary.api", "canary.a"])]
    undone = [(e.data["step"], e.data["position"], e.data["owed_for"])
              for e in store.events(run_id=run_id, kind="dependents") if e.outcome == "undone"]
    assert undone == [("canary.site", 1, "dependency"), ("canary.api", 2, "self"), ("canary.a", 3, "batch")]
    site = next(s for s in store.steps(run_id) if s.key == "canary.site")
    assert (site.status, site.wait_reason) == (StepStatus.CANCELLED, "held: depends on api, which failed")
    late = next(s for s in store.steps(run_id) if s.key == "canary.late")
    assert (late.status, late.wait_reason) == (StepStatus.CANCELLED, "held: depends on api, which failed")


def test_a_failed_canary_undoes_its_dependents_first_at_every_crash_point(store_url: str) -> None:
    points = _check(DEPENDENTS, store_url, RunStatus.ROLLED_BACK, {"validation", "canary.late", "canary.a"},
                    plan=GRAPH, also=_dependents_first)
    print(f"a canary failing with dependents: {points} crash points, 0 invariant violations")


def test_a_failed_step_left_unhandled_in_an_active_run_is_failed_again_not_passed(tmp_path: Path) -> None:
    """A store written before failures were one write: the gate failed, the run still running."""
    url = f"sqlite:///{tmp_path / 'old.db'}"
    store = Store.open(url)
    run_id = store.create_run("r", "prod", "release", "0" * 64, _specs(NO_GO), T0).id
    soak, gate, *_ = store.steps(run_id)
    store.update_step(soak.id, status=StepStatus.DONE)
    store.update_step(gate.id, status=StepStatus.FAILED, result={"reason": "NO-GO: an open P1"})
    store.set_run(run_id, T0, status=RunStatus.RUNNING)
    store.close()
    world = World()
    status = _drive(url, world, run_id, VirtualClock(T0), None)
    assert status == RunStatus.FAILED  # it cannot know it was a gate; it never goes on
    assert world.calls == []
    store = Store.open(url)
    assert [s.status for s in store.steps(run_id)] == ["done", "failed", "cancelled", "cancelled"]
    assert store.get_run(run_id).reason == "gate: NO-GO: an open P1"
    store.close()


def test_a_failure_found_unhandled_still_undoes_its_dependents_then_itself(tmp_path: Path) -> None:
    """The failed canary's row says it left its undo to the engine: a resume that handles it owes that undo."""
    url = f"sqlite:///{tmp_path / 'unhandled.db'}"
    store = Store.open(url)
    run_id = store.create_run("r", "prod", "release", "0" * 64, _specs(DEPENDENTS), T0, meta={"plan": GRAPH}).id
    steps = {s.key: s for s in store.steps(run_id)}
    store.update_step(steps["soak"].id, status=StepStatus.DONE)
    store.update_step(steps["canary.site"].id, status=StepStatus.DONE, state={"shifted": 100})
    store.update_step(steps["canary.api"].id, status=StepStatus.FAILED, state={"shifted": 10},
                      result={"reason": "error_rate 9% > 5%", "undo_self": True})
    store.set_run(run_id, T0, status=RunStatus.RUNNING)
    store.close()
    world = World()
    assert _drive(url, world, run_id, VirtualClock(T0), None) == RunStatus.ROLLED_BACK
    assert world.calls == [] and world.undone == ["canary.site", "canary.api"]


# The site, deployed by its workflow a batch before the API it depends on, whose canary then fails.
SITE_PLAN = """\
release: r
version: v1.0.0
environments:
  prod: {account: "123456789012", region: eu-west-1}
projects:
  api: {repo: owner/api, deploy: {command: ["true"]}}
  site: {repo: owner/site, deploy: {github_workflow: deploy.yml}, depends_on: [api]}
batches:
  - {name: web, projects: [site]}
  - {name: apis, projects: [api]}
rollback: {rollback_dependents: true}
"""
SITE_WORKFLOW = "on:\n  workflow_dispatch:\njobs:\n  deploy:\n    runs-on: ubuntu-latest\n    steps:\n      - run: true\n"
RUNS: list[dict[str, Any]] = []  # the site's workflow runs in the last scenario
SITE_GRAPH = {"dependencies": {"projects": ["site", "api"], "depends_on": {"site": ["api"]},
                               "rollback_dependents": True}}


def _site_scenario(url: str, die_at: int | None, *, group: str = "batch.web", running_s: float = 30,
                   tags: tuple[str, ...] = ("v0.9.0", "v1.0.0")) -> tuple[RunStatus, World, Store, int, Counter[str]]:
    """The site deployed by the real deploy kind against the local GitHub (in ``group``, its workflow running
    ``running_s``); the API's canary fails."""
    clock = VirtualClock(T0)
    site = deploy.DeployParams(project="site", method="github_workflow", repo="owner/site", workflow="deploy.yml",
                               ref="v1.0.0", timeout_s=3600)
    specs = [deploy.KIND.freeze(site, key="deploy.site", phase="batch", title="deploy site", group=group,
                                lane="site"), *_specs([("canary.api", "batch.apis")])]
    store = Store.open(url)
    run_id = store.create_run(f"s{die_at}", "prod", "release", "0" * 64, specs, T0, meta={"plan": SITE_GRAPH}).id
    store.close()
    world = World()
    with GitHubServer(clock, token="t", queued_s=5, running_s=running_s) as server:
        server.add_repo("owner/site", {".github/workflows/deploy.yml": SITE_WORKFLOW})
        for tag in tags:
            server.add_tag("owner/site", tag)
        github = GitHub(server.url, "t", clock=clock)
        try:
            status = _drive(url, world, run_id, clock, die_at, plan=SITE_PLAN, github=github)
            if status is None:
                status = _drive(url, world, run_id, clock, None, plan=SITE_PLAN, github=github)
        finally:
            github.close()
        runs = server.runs("owner/site")
        refs = Counter(str(r["head_branch"]) for r in runs)
        RUNS[:] = runs
    assert status is not None
    return status, world, Store.open(url), run_id, refs


def test_a_workflow_deployed_dependent_is_redeployed_once_at_every_crash_point(store_url: str) -> None:
    """Died before each commit (the deploy's, the failure's, the redeploy's intent, its run id, its record): the
    site's workflow is dispatched once at the release tag and once at the previous one, before the API's undo;
    its undo is recorded once."""
    WRITES.clear()
    status, world, store, run_id, refs = _site_scenario(store_url, None)
    store.close()
    assert status == RunStatus.ROLLED_BACK
    assert refs == Counter({"v1.0.0": 1, "v0.9.0": 1})
    total = WRITES[0]
    for n in range(1, total + 1):
        status, world, store, run_id, refs = _site_scenario(store_url, n)
        try:
            assert status == RunStatus.ROLLED_BACK, f"died before commit {n}: ended {status}"
            assert refs == Counter({"v1.0.0": 1, "v0.9.0": 1}), f"died before commit {n}: dispatched {dict(refs)}"
            undone = [(e.subject, e.outcome, e.data["tag"]) for e in store.events(run_id=run_id, kind="undo")]
            assert undone == [("site", "undone", "v0.9.0")], f"died before commit {n}: {undone}"
            order = [(e.data["step"], e.data["owed_for"])
                     for e in store.events(run_id=run_id, kind="dependents") if e.outcome == "undone"]
            assert order == [("deploy.site", "dependency"), ("canary.api", "self")], f"died before commit {n}"
            assert "canary.api" in world.undone
            steps = {s.key: s for s in store.steps(run_id)}
            assert (steps["deploy.site"].status, steps["deploy.site"].wait_reason) == (
                StepStatus.CANCELLED, "held: depends on api, which failed")
        finally:
            store.close()
    print(f"a workflow-deployed dependent redeployed: {total} crash points, one dispatch each time")


def test_a_dependent_still_deploying_is_redeployed_only_after_its_run_ends(tmp_path: Path) -> None:
    """The site deploys beside the API (its workflow runs 10 minutes); the API's canary fails after one: the
    compensation watches the site's run to its end before dispatching the previous tag, so the old release is
    the last one applied."""
    status, _, store, _, refs = _site_scenario(f"sqlite:///{tmp_path / 'beside.db'}", None, group="batch.apis",
                                                   running_s=600)
    store.close()
    assert status == RunStatus.ROLLED_BACK
    assert refs == Counter({"v1.0.0": 1, "v0.9.0": 1})
    by_ref = {str(r["head_branch"]): r for r in RUNS}
    forward, back = by_ref["v1.0.0"], by_ref["v0.9.0"]
    forward_ended = datetime.fromisoformat(str(forward["created_at"]).replace("Z", "+00:00")) + timedelta(seconds=605)
    assert datetime.fromisoformat(str(back["created_at"]).replace("Z", "+00:00")) >= forward_ended
    assert forward["conclusion"] == "success"


def _command_site(tmp_path: Path, undo: str) -> tuple[RunStatus, Store, int]:
    """The site deployed by a command (the real deploy kind) a batch before the API whose canary fails."""
    plan = SITE_PLAN.replace("deploy: {github_workflow: deploy.yml}", f'deploy: {{command: ["true"]}}{undo}')
    url = f"sqlite:///{tmp_path / 'command.db'}"
    site = deploy.DeployParams(project="site", method="command", argv=["true"], timeout_s=60)
    specs = [deploy.KIND.freeze(site, key="deploy.site", phase="batch", title="deploy site", group="batch.web",
                                lane="site"), *_specs([("canary.api", "batch.apis")])]
    store = Store.open(url)
    run_id = store.create_run("c", "prod", "release", "0" * 64, specs, T0, meta={"plan": SITE_GRAPH}).id
    store.close()
    status = _drive(url, World(), run_id, VirtualClock(T0), None, plan=plan)
    assert status is not None
    return status, Store.open(url), run_id


def test_a_command_deployed_dependent_runs_its_undo_command_first(tmp_path: Path) -> None:
    marker = tmp_path / "undone"
    status, store, run_id = _command_site(tmp_path, f', undo: {{command: [sh, -c, "echo v0.9 > {marker}"]}}')
    try:
        assert status == RunStatus.ROLLED_BACK
        assert marker.read_text(encoding="utf-8") == "v0.9\n"
        undone = [(e.outcome, e.data["method"], e.data["asked_by"]) for e in store.events(run_id=run_id, kind="undo")]
        assert undone == [("undone", "command", "dependency")]
        order = [e.data["step"] for e in store.events(run_id=run_id, kind="dependents") if e.outcome == "undone"]
        assert order == ["deploy.site", "canary.api"]
    finally:
        store.close()


def test_a_dependent_without_an_undo_is_recorded_as_not_undone_in_words(tmp_path: Path) -> None:
    status, store, run_id = _command_site(tmp_path, "")
    try:
        assert status == RunStatus.ROLLED_BACK
        undone = [(e.outcome, e.data["method"], e.data["reason"]) for e in store.events(run_id=run_id, kind="undo")]
        assert undone == [("undo_failed", "none", "could not be undone: deployed by a command and the plan gives no "
                                                   "undo: {command: [...]}")]
        steps = {s.key: s for s in store.steps(run_id)}
        assert steps["deploy.site"].wait_reason == "held: depends on api, which failed"
    finally:
        store.close()


def test_a_dependent_with_no_earlier_tag_is_recorded_as_not_undone_and_the_run_ends(tmp_path: Path) -> None:
    status, _, store, run_id, refs = _site_scenario(f"sqlite:///{tmp_path / 'untagged.db'}", None, tags=("v1.0.0",))
    try:
        assert status == RunStatus.ROLLED_BACK
        assert refs == Counter({"v1.0.0": 1})
        undone = [(e.outcome, e.data["reason"]) for e in store.events(run_id=run_id, kind="undo")]
        assert undone == [("undo_failed", "could not be undone: site: owner/site has no release tag older than v1.0.0 "
                                          "(its tags: v1.0.0); name the one to redeploy in the plan: undo: {tag: ...}")]
    finally:
        store.close()
