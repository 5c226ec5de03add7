"""The engine with a virtual clock and handlers passed in: order, lanes, waits, failure, approvals, status.

The store is a real SQLite file; handlers are small functions that record
what they were asked and when, so the tests read the engine's decisions back.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from golive.clock import VirtualClock
from golive.engine.context import Services, StepContext
from golive.engine.outcome import Done, Fail, Handler, Outcome, Wait
from golive.engine.runner import Engine, lease_name
from golive.errors import AwsError, UnknownNameError, UsageError
from golive.plan.model import Plan
from golive.plan.validate import load_plan_text
from golive.runs.status import release_status
from golive.steps.gate import record_approval
from golive.steps.registry import all_handlers
from golive.store.statuses import RunStatus
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
gates:
  go_no_go: {env: prod, approvals: [devops, tech_lead]}
signoff: [devops]
"""

Script = Callable[[StepContext, int], Outcome]


@dataclass
class Recorder:
    """A ``rec`` handler whose answers are scripted per step key; it logs (key, call number, virtual time)."""

    clock: VirtualClock
    scripts: dict[str, Script] = field(default_factory=dict)
    calls: list[tuple[str, int, datetime]] = field(default_factory=list)
    compensated: list[tuple[str, str]] = field(default_factory=list)

    def run(self, ctx: StepContext) -> Outcome:
        n = sum(1 for key, _, _ in self.calls if key == ctx.step.key) + 1
        self.calls.append((ctx.step.key, n, self.clock.now()))
        script = self.scripts.get(ctx.step.key)
        return script(ctx, n) if script else Done(f"{ctx.step.key} done")

    def compensate(self, ctx: StepContext, reason: str) -> None:
        self.compensated.append((ctx.step.key, reason))

    def called(self) -> list[str]:
        return [key for key, _, _ in self.calls]


def wait_once(delta: timedelta | None, reason: str = "waiting") -> Script:
    def script(ctx: StepContext, n: int) -> Outcome:
        if n == 1:
            return Wait(None if delta is None else ctx.now + delta, reason)
        return Done()
    return script


@pytest.fixture
def plan() -> Plan:
    return load_plan_text(PLAN)


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    s = Store.open(f"sqlite:///{tmp_path / 'state.db'}")
    yield s
    s.close()


@pytest.fixture
def clock() -> VirtualClock:
    return VirtualClock(T0)


@pytest.fixture
def services(plan: Plan, store: Store, clock: VirtualClock) -> Services:
    return Services(plan=plan, store=store, clock=clock)


@pytest.fixture
def rec(clock: VirtualClock) -> Recorder:
    return Recorder(clock)


def spec(key: str, group: str, lane: str | None = None, kind: str = "rec", title: str | None = None,
         params: dict[str, object] | None = None) -> StepSpec:
    return StepSpec(key=key, phase=group.split(".", maxsplit=1)[0], kind=kind, title=title or key, group=group,
                    lane=lane or key, params=dict(params or {}))


def engine_for(services: Services, rec: Recorder, *, compensate: bool = False,
               concurrency: dict[str, int] | None = None) -> Engine:
    handlers = {"rec": Handler("rec", rec.run, rec.compensate if compensate else None),
                "gate": Handler("gate", rec.run), **{k: all_handlers()[k] for k in ("checks", "approval", "noop")}}
    return Engine(services, handlers, holder="test", concurrency=concurrency)


def new_run(store: Store, steps: list[StepSpec], at: datetime = T0) -> int:
    return store.create_run("r", "prod", "release", "0" * 64, steps, at).id


def test_groups_run_in_order(services: Services, store: Store, rec: Recorder, clock: VirtualClock) -> None:
    run_id = new_run(store, [spec("a1", "g1", "a"), spec("b1", "g1", "b"), spec("c1", "g2"), spec("d1", "g3")])
    rec.scripts["a1"] = wait_once(timedelta(hours=1))
    result = engine_for(services, rec).drive(run_id)
    assert (result.finished, result.status) == (True, "succeeded")
    assert rec.called() == ["a1", "b1", "a1", "c1", "d1"]
    times = {key: at for key, n, at in rec.calls}
    assert times["c1"] == T0 + timedelta(hours=1)  # g2 waited for g1's waiting step
    assert store.get_run(run_id).status == "succeeded"
    assert {s.status for s in store.steps(run_id)} == {"done"}


def test_lanes_of_a_group_interleave(services: Services, store: Store, rec: Recorder) -> None:
    steps = [spec(f"{lane}{i}", "g", lane) for lane in "abc" for i in (1, 2)]
    run_id = new_run(store, steps)
    for s in steps:
        rec.scripts[s.key] = wait_once(timedelta(minutes=10))
    engine_for(services, rec).drive(run_id)
    first_three = rec.calls[:3]
    assert [k for k, _, _ in first_three] == ["a1", "b1", "c1"]  # all lanes start before any finishes
    assert {at for _, _, at in first_three} == {T0}
    # each lane's second step follows its first, and the lanes' second steps also overlap in time
    second_steps = [(k, at) for k, n, at in rec.calls if k.endswith("2") and n == 1]
    assert [k for k, _ in second_steps] == ["a2", "b2", "c2"]
    assert {at for _, at in second_steps} == {T0 + timedelta(minutes=10)}
    assert len(rec.calls) == 12


def test_concurrency_limit_is_respected(services: Services, store: Store, rec: Recorder) -> None:
    lanes = "abcde"
    steps = [spec(f"{lane}{i}", "batch.apis", lane) for lane in lanes for i in (1, 2)]
    run_id = new_run(store, steps)
    for s in steps:
        rec.scripts[s.key] = wait_once(timedelta(minutes=5))
    engine_for(services, rec, concurrency={"batch.apis": 2}).drive(run_id)

    active: set[str] = set()
    peak = 0
    seen = {key: 0 for key in (s.key for s in steps)}
    for key, _, _ in rec.calls:
        seen[key] += 1
        lane = key[0]
        active.add(lane)
        peak = max(peak, len(active))
        if key.endswith("2") and seen[key] == 2:  # the lane's last step just finished
            active.discard(lane)
    assert peak == 2
    assert store.get_run(run_id).status == "succeeded"
    assert sorted(seen.values()) == [2] * 10


def test_wait_until_makes_drive_jump_the_virtual_clock(services: Services, store: Store, rec: Recorder,
                                                       clock: VirtualClock) -> None:
    run_id = new_run(store, [spec("soak.checkpoint.1", "soak", "sit"), spec("soak.checkpoint.2", "soak", "sit")])
    rec.scripts["soak.checkpoint.1"] = wait_once(timedelta(hours=6), "checkpoint 1 of 8")
    rec.scripts["soak.checkpoint.2"] = wait_once(timedelta(hours=6), "checkpoint 2 of 8")
    result = engine_for(services, rec).drive(run_id)
    assert result.status == "succeeded"
    assert clock.now() == T0 + timedelta(hours=12)
    assert [(k, n, at) for k, n, at in rec.calls] == [
        ("soak.checkpoint.1", 1, T0), ("soak.checkpoint.1", 2, T0 + timedelta(hours=6)),
        ("soak.checkpoint.2", 1, T0 + timedelta(hours=6)), ("soak.checkpoint.2", 2, T0 + timedelta(hours=12))]


def test_wait_none_makes_drive_return_waiting(services: Services, store: Store, rec: Recorder,
                                              clock: VirtualClock) -> None:
    run_id = new_run(store, [spec("ask", "gate"), spec("after", "deploy")])
    rec.scripts["ask"] = lambda ctx, n: Wait(None, "a human must decide")
    engine = engine_for(services, rec)
    result = engine.drive(run_id)
    assert (result.finished, result.status, result.next_due) == (False, "waiting", None)
    assert result.waiting_on == ["ask: a human must decide"]
    assert clock.now() == T0
    assert store.get_run(run_id).status == "waiting"
    ask, after = store.steps(run_id)
    assert (ask.status, ask.wait_reason, after.status) == ("waiting", "a human must decide", "pending")
    assert store.lease(lease_name(store.get_run(run_id))) is None  # drive let go of the lease
    assert engine.drive(run_id).status == "waiting"
    assert rec.called() == ["ask", "ask"]


def test_fail_cancels_the_rest_and_compensates_started_steps(services: Services, store: Store,
                                                              rec: Recorder) -> None:
    run_id = new_run(store, [
        spec("deploy.done_before", "batch.foundation"),
        spec("canary.product", "batch.apis", "product"), spec("canary.order", "batch.apis", "order"),
        spec("deploy.campaigns", "batch.apis", "campaigns"), spec("canary.campaigns", "batch.apis", "campaigns"),
        spec("validation", "validation"),
    ])
    rec.scripts["canary.product"] = lambda ctx, n: Wait(ctx.now + timedelta(minutes=10), "baking at 10%")
    rec.scripts["canary.order"] = lambda ctx, n: Fail("error_rate 8% > 5%", {"observed": 0.08})
    result = engine_for(services, rec, compensate=True).drive(run_id)

    assert (result.finished, result.status) == (True, "rolled_back")
    assert rec.compensated == [("canary.product", "canary.order failed: error_rate 8% > 5%")]
    assert "deploy.campaigns" not in rec.called()  # the failure came first in the pass: it never started
    statuses = {s.key: s.status for s in store.steps(run_id)}
    assert statuses == {"deploy.done_before": "done", "canary.product": "cancelled", "canary.order": "failed",
                        "deploy.campaigns": "cancelled", "canary.campaigns": "cancelled", "validation": "cancelled"}
    run = store.get_run(run_id)
    assert run.status == "rolled_back" and run.ended_at is not None
    assert run.reason == "canary.order: error_rate 8% > 5%"
    failed = [e for e in store.events(run_id=run_id) if e.outcome == "fail"]
    assert [(e.step_key, e.data["reason"], e.data["observed"]) for e in failed] == [
        ("canary.order", "error_rate 8% > 5%", 0.08)]
    assert store.events(run_id=run_id, kind="run")[-1].outcome == "rolled_back"
    # A finished run is not advanced again.
    assert engine_for(services, rec, compensate=True).drive(run_id).status == "rolled_back"


def test_fail_without_compensation_is_failed(services: Services, store: Store, rec: Recorder) -> None:
    run_id = new_run(store, [spec("one", "g", "x"), spec("two", "g", "y"), spec("three", "h")])
    rec.scripts["two"] = lambda ctx, n: Fail("broken")
    assert engine_for(services, rec).drive(run_id).status == "failed"
    assert rec.compensated == []
    assert store.get_run(run_id).reason == "two: broken"


def test_fail_that_rolled_back_itself(services: Services, store: Store, rec: Recorder) -> None:
    run_id = new_run(store, [spec("canary", "g")])
    rec.scripts["canary"] = lambda ctx, n: Fail("p95 6s > 5s", rolled_back=True)
    assert engine_for(services, rec).drive(run_id).status == "rolled_back"


def test_a_failed_gate_is_no_go(services: Services, store: Store, rec: Recorder) -> None:
    run_id = new_run(store, [spec("gate.go_no_go", "gate", kind="gate"), spec("deploy", "batch.one")])
    rec.scripts["gate.go_no_go"] = lambda ctx, n: Fail("soak.sit did not pass", ends_as=RunStatus.NO_GO)
    assert engine_for(services, rec).drive(run_id).status == "no_go"
    assert [s.status for s in store.steps(run_id)] == ["failed", "cancelled"]


def test_the_engine_knows_no_step_kind_a_failure_is_what_its_outcome_says(services: Services, store: Store,
                                                                          rec: Recorder) -> None:
    run_id = new_run(store, [spec("gate.go_no_go", "gate", kind="gate"), spec("deploy", "batch.one")])
    rec.scripts["gate.go_no_go"] = lambda ctx, n: Fail("a check failed")
    assert engine_for(services, rec).drive(run_id).status == "failed"


def test_external_error_retries_later_and_usage_error_fails(services: Services, store: Store, rec: Recorder,
                                                            clock: VirtualClock) -> None:
    def flaky(ctx: StepContext, n: int) -> Outcome:
        if n == 1:
            raise AwsError("lambda:GetAlias", "af-south-1", "connection refused")
        return Done()

    def wrong(ctx: StepContext, n: int) -> Outcome:
        raise UsageError("bad parameter")

    run_id = new_run(store, [spec("flaky", "g1"), spec("wrong", "g2")])
    rec.scripts.update(flaky=flaky, wrong=wrong)
    result = engine_for(services, rec).drive(run_id)
    assert [(k, n) for k, n, _ in rec.calls] == [("flaky", 1), ("flaky", 2), ("wrong", 1)]
    assert rec.calls[1][2] == T0 + timedelta(seconds=30)
    assert result.status == "failed"
    assert store.get_run(run_id).reason == "wrong: bad parameter"


def test_unknown_step_kind_fails_the_run(services: Services, store: Store, rec: Recorder) -> None:
    run_id = new_run(store, [spec("mystery", "g", kind="teleport")])
    assert engine_for(services, rec).drive(run_id).status == "failed"
    assert "cannot execute 'teleport'" in (store.get_run(run_id).reason or "")


def test_state_saved_by_a_handler_survives_a_new_engine(services: Services, store: Store, rec: Recorder) -> None:
    def remember(ctx: StepContext, n: int) -> Outcome:
        if n == 1:
            ctx.state["dispatched"] = 42
            ctx.save()
            return Wait(None, "workflow running")
        return Done(f"run {ctx.state['dispatched']} finished")

    run_id = new_run(store, [spec("deploy", "g")])
    rec.scripts["deploy"] = remember
    engine_for(services, rec).drive(run_id)
    assert store.steps(run_id)[0].state == {"dispatched": 42}
    assert engine_for(services, rec).drive(run_id).status == "succeeded"  # a fresh engine reads it back
    assert store.steps(run_id)[0].result == {"summary": "run 42 finished"}


def test_approval_waits_for_every_role(services: Services, store: Store, plan: Plan, rec: Recorder,
                                       clock: VirtualClock) -> None:
    run_id = new_run(store, [
        spec("gate.go_no_go", "gate", kind="approval", params={"gate": "go_no_go", "roles": ["devops", "tech_lead"]}),
        spec("deploy", "batch.one"),
    ])
    record_approval(store, plan, "go_no_go", "prod", "early", "tech_lead", "before the run", T0 - timedelta(hours=1))
    engine = engine_for(services, rec)
    result = engine.drive(run_id)
    assert result.status == "waiting"
    assert "devops, tech_lead" in result.waiting_on[0]  # an approval older than the run does not count

    clock.advance(timedelta(minutes=5))
    record_approval(store, plan, "go_no_go", "prod", "alice", "devops", "soak green", clock.now())
    result = engine.drive(run_id)
    assert result.status == "waiting"
    assert "tech_lead" in result.waiting_on[0] and "devops" not in result.waiting_on[0]
    assert rec.called() == []

    with pytest.raises(UsageError, match="role 'qa'"):
        record_approval(store, plan, "go_no_go", "prod", "mallory", "qa", None, clock.now())
    with pytest.raises(UsageError, match="--role"):
        record_approval(store, plan, "go_no_go", "prod", "mallory", None, None, clock.now())
    with pytest.raises(UnknownNameError, match="gate 'go_nogo'"):
        record_approval(store, plan, "go_nogo", "prod", "mallory", "devops", None, clock.now())
    assert [a.by for a in store.approvals("r", "prod", "go_no_go")] == ["early", "alice"]

    record_approval(store, plan, "go_no_go", "prod", "bob", "tech_lead", None, clock.now())
    result = engine.drive(run_id)
    assert result.status == "succeeded"
    assert rec.called() == ["deploy"]
    gate = store.steps(run_id)[0]
    assert gate.result == {"summary": "approved by devops, tech_lead", "roles": ["devops", "tech_lead"]}
    assert [e.data["by"] for e in store.events(kind="approval")] == ["early", "alice", "bob"]


def test_signoff_takes_the_plan_signoff_roles(store: Store, plan: Plan) -> None:
    record_approval(store, plan, "signoff", "prod", "alice", "devops", None, T0)
    with pytest.raises(UsageError):
        record_approval(store, plan, "signoff", "prod", "bob", "tech_lead", None, T0)


def test_release_status_says_what_is_due_when(services: Services, store: Store, rec: Recorder,
                                              clock: VirtualClock) -> None:
    title = "sit soak checkpoint 4 of 8 (at +24h)"
    run_id = new_run(store, [
        spec("soak.sit.checkpoint.3", "soak.sit", "soak", title="sit soak checkpoint 3 of 8 (at +18h)"),
        spec("soak.sit.checkpoint.4", "soak.sit", "soak", title=title),
        spec("deploy.a", "batch.one"),
    ])
    due = datetime(2026, 1, 10, 14, 0, tzinfo=UTC)
    rec.scripts["soak.sit.checkpoint.4"] = lambda ctx, n: Wait(due, "checkpoint 4 of 8")
    engine = engine_for(services, rec)
    engine.advance(run_id)
    engine.advance(run_id)

    status = release_status(store, "r", clock.now())
    (run,) = status["runs"]
    assert run["due"] == [f"{title} due 14:00 UTC, in 5 h 55 min"]
    assert (run["status"], run["steps_done"], run["steps_total"]) == ("waiting", 1, 3)
    assert [(p["phase"], p["status"]) for p in run["phases"]] == [("soak", "running"), ("batch", "pending")]
    assert status["open_incidents"] == []

    later = release_status(store, "r", due + timedelta(minutes=1))
    assert later["runs"][0]["due"] == [f"{title} due 14:00 UTC (now)"]
    earlier = release_status(store, "r", due - timedelta(days=2, hours=3))
    assert earlier["runs"][0]["due"] == [f"{title} due Jan 10 14:00 UTC, in 2 d 3 h"]

    store.open_incident("r", "prod", "P1", "orders slow", clock.now())
    assert [i["severity"] for i in release_status(store, "r", clock.now())["open_incidents"]] == ["P1"]


def test_release_status_of_a_run_waiting_for_people_and_of_a_fresh_run(services: Services, store: Store,
                                                                        rec: Recorder, clock: VirtualClock) -> None:
    run_id = new_run(store, [spec("ask", "gate", title="go/no-go")])
    fresh = store.create_run("r", "prod", "soak", "0" * 64, [spec("soak.start", "soak", title="start soak")], T0)
    rec.scripts["ask"] = lambda ctx, n: Wait(None, "waiting for approval by devops")
    engine_for(services, rec).drive(run_id)
    runs = {r["kind"]: r for r in release_status(store, "r", clock.now())["runs"]}
    assert runs["release"]["due"] == ["go/no-go: waiting for approval by devops"]
    assert runs["soak"]["due"] == ["start soak: next"]
    assert runs["soak"]["run"] == fresh.id
    assert release_status(store, "other", clock.now())["runs"] == []


RETRY_PLAN = PLAN.replace('prod: {account: "123456789012", region: eu-west-1}',
                          'prod: {account: "123456789012", region: eu-west-1, retry: {attempts: 3, every: 5s}}')


def test_unreachable_system_is_retried_within_the_budget_visibly_then_exit_3(store: Store, rec: Recorder,
                                                                             clock: VirtualClock) -> None:
    from golive.errors import RetriesExhausted

    seen: list[tuple[str, dict[str, object]]] = []
    services = Services(plan=load_plan_text(RETRY_PLAN), store=store, clock=clock,
                        notify=lambda kind, data: seen.append((kind, data)))

    def down(ctx: StepContext, n: int) -> Outcome:
        raise AwsError("lambda:GetAlias", "af-south-1", "no answer (EndpointConnectionError)", "http://aws.test:4566")

    run_id = new_run(store, [spec("canary", "g1", title="canary a")])
    rec.scripts["canary"] = down
    with pytest.raises(RetriesExhausted) as info:
        engine_for(services, rec).drive(run_id)
    # Three tries on the virtual clock, every 5 s, then exit 3 naming system, endpoint and step.
    assert [(k, n, at) for k, n, at in rec.calls] == [("canary", 1, T0), ("canary", 2, T0 + timedelta(seconds=5)),
                                                      ("canary", 3, T0 + timedelta(seconds=10))]
    assert info.value.exit_code == 3
    assert str(info.value).startswith("AWS unreachable at http://aws.test:4566 after 3 attempts while canary a "
                                      "(canary): lambda:GetAlias in af-south-1")
    assert [d["line"] for k, d in seen if k == "retry"] == [
        "AWS unreachable at http://aws.test:4566: attempt 1 of 3, next in 5 s",
        "AWS unreachable at http://aws.test:4566: attempt 2 of 3, next in 5 s",
    ]
    # The run is kept, not failed: the same command later resumes it with a fresh budget.
    (step,) = store.steps(run_id)
    assert step.status == "waiting" and store.get_run(run_id).ended_at is None
    rec.scripts.pop("canary")
    assert engine_for(services, rec).drive(run_id).status == "succeeded"


def test_no_wait_returns_at_a_plan_wait_but_not_at_a_retry(services: Services, store: Store, rec: Recorder,
                                                           clock: VirtualClock) -> None:
    from golive.runs.session import at_plan_wait

    def flaky(ctx: StepContext, n: int) -> Outcome:
        if n == 1:
            raise AwsError("lambda:GetAlias", "af-south-1", "connection refused")
        return Done()

    run_id = new_run(store, [spec("flaky", "g1"), spec("soak", "g2"), spec("after", "g3")])
    rec.scripts.update(flaky=flaky, soak=wait_once(timedelta(hours=6), "next checkpoint"))
    result = engine_for(services, rec).drive(run_id, stop_when=at_plan_wait)
    # The retry ran (30 s later on the virtual clock); the 6-hour wait was not slept through.
    assert [(k, n) for k, n, _ in rec.calls] == [("flaky", 1), ("flaky", 2), ("soak", 1)]
    assert clock.now() == T0 + timedelta(seconds=30)
    assert (result.status, result.next_due) == ("waiting", T0 + timedelta(seconds=30, hours=6))
