"""Every phase of the canary with a fake router and a fake metric source passed in: no AWS, no moto.

The canary (``steps/canary.py``) drives a ``TrafficRouter`` and reads metrics only through it, so a fake router
that keeps its split in memory, and whose ``metrics`` is a fake source drawing each variant's calls and errors
from that split, is all a test needs. The step's context is the engine's (``StepContext`` over a real SQLite
store: its saves, its records, the operator events a canary reads); the clock is virtual and each ``Wait`` is
slept through. The cases: shift → bake → promote; a failing trigger rolls back; a crash between the router's
write and the next save is restored by the compensation; inconclusive pauses; an operator's abort and promote;
AWS not answering mid-bake is inconclusive, never forward; and the Lambda releases Terraform and SAM make
(unchanged functions listed, ``new_versions: all``, an alias the deploy moved watched at 100%).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from golive.analysis.metrics import Fetch, MetricSource, Scope, Series, SeriesRequest, floor_minute
from golive.clock import Clock, VirtualClock
from golive.engine.context import Services, StepContext
from golive.engine.outcome import Done, Fail, Outcome, Wait
from golive.errors import ExternalError
from golive.evidence.canary import OperatorCommand
from golive.plan.validate import load_plan_text
from golive.routers.base import Discovery, NothingNew, Split, Unchanged, Variants
from golive.steps import canary
from golive.steps.canary_params import CanaryParams
from golive.store.store import Store

START = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
PLAN = """\
release: r
version: v1
environments:
  prod: {account: "123456789012", region: eu-west-1}
projects:
  a:
    repo: owner/a
    deploy: {command: [make, deploy]}
batches:
  - {name: one, projects: [a]}
"""
CALLS_PER_MINUTE = 1000.0


class Crash(BaseException):
    """The process dies here (not an error golive handles)."""


@dataclass
class FakeSource:
    """Each variant's calls and errors per minute from the router's split; ``down`` answers nothing."""

    router: FakeRouter
    clock: Clock
    delay: timedelta

    def fetch(self, requests: Sequence[SeriesRequest], start: datetime, end: datetime) -> Fetch:
        if self.router.metrics_down == "error":
            return Fetch(error="cloudwatch:GetMetricData: no answer (fake)")
        if self.router.metrics_down == "raise":
            raise ExternalError("cloudwatch:GetMetricData: no answer (fake)")
        series = {}
        for request in requests:
            per_minute = self.router.per_minute(request.scope, request.metric, request.stat)
            points = []
            at = start
            while at < end:
                factor = request.period / 60 if request.stat == "Sum" else 1.0
                points.append((at, per_minute * factor))
                at += timedelta(seconds=request.period)
            series[request] = Series(request, tuple(points))
        self.router.fetches.append(len(requests))
        return Fetch(series=series, calls=1)

    def window(self, length: timedelta) -> tuple[datetime, datetime]:
        end = floor_minute(self.clock.now() - self.delay)
        return end - length, end


@dataclass
class FakeRouter:
    """A router whose split lives in memory; every write is kept in ``calls``."""

    discovery: Discovery
    canary_error_rate: float = 0.0
    calls_per_minute: float = CALLS_PER_MINUTE
    metrics_down: str | None = None  # "error": a Fetch with an error; "raise": ExternalError
    crash_on_weight: float | None = None
    weight: float = 0.0
    calls: list[tuple[str, float]] = field(default_factory=list)
    fetches: list[int] = field(default_factory=list)  # each GetMetricData-like fetch: its query count

    @property
    def kind(self) -> str:
        return "lambda_alias"

    @property
    def max_weight(self) -> float | None:
        return None

    @property
    def restores_promoted(self) -> bool:
        return True

    def discover(self) -> Discovery:
        if not self.discovery.changed:
            raise NothingNew("fn: no version newer than 7 (the one alias 'live' serves) was published; did the deploy run?")
        return self.discovery

    def _splits(self, variants: Sequence[Variants]) -> list[Split]:
        return [Split(v.target, v.stable, v.canary, self.weight) for v in variants]

    def split(self, variants: Sequence[Variants]) -> list[Split]:
        return self._splits(variants)

    def set_weight(self, variants: Sequence[Variants], weight: float) -> list[Split]:
        self.weight = weight
        self.calls.append(("set_weight", weight))
        if self.crash_on_weight == weight:
            raise Crash
        return self._splits(variants)

    def promote(self, variants: Sequence[Variants]) -> list[Split]:
        self.weight = 100.0
        self.calls.append(("promote", 100.0))
        return self._splits(variants)

    def restore(self, variants: Sequence[Variants]) -> tuple[float, list[Split]]:
        self.weight = 0.0
        self.calls.append(("restore", 0.0))
        return 0.01, [Split(v.target, v.stable, None, 0.0, {"function": v.target, "version": v.stable})
                      for v in variants]

    def scopes(self, variants: Sequence[Variants]) -> list[tuple[Scope, Scope]]:
        return [(Scope(v.target, "live", v.canary), Scope(v.target, "live", v.stable)) for v in variants]

    def metrics(self, clock: Clock, delay: timedelta) -> MetricSource:
        return FakeSource(self, clock, delay)

    def describe(self, weights: Sequence[float]) -> list[str]:
        return [f"fake weight {w:g}" for w in weights]

    def per_minute(self, scope: Scope, metric: str, stat: str) -> float:
        canaries = {v.canary for v in self.discovery.changed if v.target == scope.function}
        share = self.weight / 100 if scope.version in canaries else 1 - self.weight / 100
        calls = self.calls_per_minute * share
        if metric == "invocations":
            return calls
        if metric == "errors":
            return calls * (self.canary_error_rate if scope.version in canaries else 0.0)
        if metric == "duration":
            if stat == "SampleCount":
                return calls
            return 5.0 if stat.startswith("PR(") else 120.0  # 5% of the calls above a line; every percentile 120 ms
        return 0.0


ONE = Discovery(changed=(Variants("fn", "7", "8"),))


def params(**changes: Any) -> CanaryParams:
    base: dict[str, Any] = {
        "project": "a", "alias": "live", "functions": {"names": ["fn"]},
        "steps": [{"weight": 10, "bake_s": 120}, {"weight": 50, "bake_s": 120}, {"weight": 100}],
        "analysis": {"judge": False, "interval": 60, "delay": 60, "max_extension": 120},
        "triggers": [{"criterion": "error_rate > 1%", "min_invocations": 50}],
        "metrics": {"error_rate": "errors / invocations"},
    }
    return CanaryParams.model_validate({**base, **changes})


@dataclass
class Harness:
    store: Store
    clock: VirtualClock
    services: Services
    p: CanaryParams

    def __post_init__(self) -> None:
        spec = canary.KIND.freeze(self.p, key="canary.a", phase="batches", title="canary a", group="batch.one", lane="a")
        self.run = self.store.create_run("r", "prod", "run", "digest", [spec], self.clock.now())

    def another_run(self, kind: str) -> None:
        """A later run of the same release and environment (the earlier one's steps and state kept)."""
        spec = canary.KIND.freeze(self.p, key="canary.a", phase="batches", title="canary a", group="batch.one", lane="a")
        self.run = self.store.create_run("r", "prod", kind, "digest", [spec], self.clock.now())

    def context(self) -> StepContext:
        step = self.store.steps(self.run.id)[0]

        def save(state: dict[str, Any]) -> None:
            self.store.update_step(step.id, state=dict(state))

        def event(**kwargs: Any) -> None:
            self.store.append_event(release="r", env="prod", run_id=self.run.id, step_key=step.key,
                                    at=self.clock.now(), **kwargs)

        return StepContext(run=self.run, step=step, state=dict(step.state), services=self.services, _save=save,
                           _event=event)

    def once(self, router: FakeRouter) -> Outcome:
        """One pass as the engine makes it: the state the handler leaves is what the store keeps."""
        ctx = self.context()
        outcome = canary.run(ctx, self.p, router)
        self.store.update_step(ctx.step.id, state=dict(ctx.state))
        return outcome

    def drive(self, router: FakeRouter, *, until: Any = None, passes: int = 200) -> Outcome:
        for _ in range(passes):
            outcome = self.once(router)
            if not isinstance(outcome, Wait) or (until is not None and until()):
                return outcome
            self.clock.sleep_until(max(outcome.until or self.clock.now(), self.clock.now()))
        raise AssertionError("the canary never finished")

    @property
    def state(self) -> dict[str, Any]:
        return dict(self.store.steps(self.run.id)[0].state)

    def records(self, outcome: str | None = None) -> list[dict[str, Any]]:
        return [e.data for e in self.store.events(run_id=self.run.id) if outcome is None or e.outcome == outcome]

    def operator(self, action: str, why: str) -> None:
        self.store.append_record(OperatorCommand(subject="a", outcome=action, by="pat", why=why),
                                 release="r", env="prod", at=self.clock.now())


@pytest.fixture
def make(tmp_path: Path) -> Iterator[Any]:
    stores: list[Store] = []

    def build(p: CanaryParams | None = None) -> Harness:
        store = Store.open(f"sqlite:///{tmp_path / f'golive{len(stores)}.db'}")
        stores.append(store)
        clock = VirtualClock(START)
        return Harness(store, clock, Services(plan=load_plan_text(PLAN), store=store, clock=clock), p or params())

    yield build


def test_shift_bake_promote(make: Any) -> None:
    h = make()
    router = FakeRouter(ONE)
    outcome = h.drive(router)
    assert isinstance(outcome, Done), outcome
    assert router.calls == [("set_weight", 10.0), ("set_weight", 50.0), ("promote", 100.0)]
    assert h.state["phase"] == "promoted" and h.state["versions"] == {"fn": {"stable": "7", "canary": "8"}}
    analyses = h.records("analysis")
    assert analyses and all(a["verdict"] == "ok" for a in analyses)
    assert [r["weight"] for r in h.records("shifted")] == [10.0, 50.0]
    assert len(h.records("promoted")) == 1


def test_a_failing_trigger_restores_and_the_state_says_rolled_back(make: Any) -> None:
    h = make()
    router = FakeRouter(ONE, canary_error_rate=0.05)
    outcome = h.drive(router)
    assert isinstance(outcome, Fail) and outcome.rolled_back, outcome
    assert router.calls == [("set_weight", 10.0), ("restore", 0.0)]
    assert h.state["phase"] == "rolled_back" and h.state["rollback_reason"].startswith("trigger error_rate > 1%: error_rate = 5%")
    (record,) = h.records("rolled_back")
    assert (record["asked_by"], record["from_weight"]) == ("canary", 10.0)
    assert record["functions"] == [{"function": "fn", "version": "7"}]  # the router's read-back, as evidence


def test_a_crash_between_the_shift_and_its_save_is_restored_by_the_compensation(make: Any) -> None:
    h = make()
    router = FakeRouter(ONE, crash_on_weight=10.0)
    with pytest.raises(Crash):
        h.once(router)  # the router moved the traffic; the process died before the next save
    saved = h.state
    assert saved["shift_intent"] == 10.0 and not saved.get("shifted")
    ctx = h.context()
    canary.compensate(ctx, h.p, "another lane failed", router)
    assert router.calls[-1] == ("restore", 0.0) and router.weight == 0.0
    assert h.state["phase"] == "rolled_back"
    (record,) = h.records("rolled_back")
    assert (record["asked_by"], record["from_weight"]) == ("compensation", 10.0)
    canary.compensate(h.context(), h.p, "again", router)  # done: nothing restored or recorded twice
    assert len(h.records("rolled_back")) == 1 and router.calls.count(("restore", 0.0)) == 1


def test_a_compensation_before_any_shift_moves_nothing(make: Any) -> None:
    h = make()
    router = FakeRouter(ONE)
    h.store.update_step(h.store.steps(h.run.id)[0].id, state={"versions": {"fn": {"stable": "7", "canary": "8"}},
                                                              "phase": "shift", "index": 0})
    canary.compensate(h.context(), h.p, "another lane failed", router)
    assert router.calls == [] and h.state["phase"] == "shift"


def test_inconclusive_after_the_extension_pauses(make: Any) -> None:
    h = make()
    router = FakeRouter(ONE, calls_per_minute=1.0)  # too few calls for the trigger to judge
    outcome = h.drive(router, until=lambda: h.state.get("phase") == "paused")
    assert isinstance(outcome, Wait) and h.state["phase"] == "paused"
    assert router.calls == [("set_weight", 10.0)]
    (note,) = h.records("inconclusive")
    assert note["choice"] == "pause" and "golive promote --why" in note["reason"]
    h.operator("promote", "seen by eye")
    outcome = h.drive(router)
    assert isinstance(outcome, Done) and router.calls[-1] == ("promote", 100.0)


def test_a_paused_canary_nobody_answers_rolls_back(make: Any) -> None:
    h = make(params(analysis={"judge": False, "interval": 60, "delay": 60, "max_extension": 120,
                              "pause_timeout": 300}))
    router = FakeRouter(ONE, calls_per_minute=1.0)
    outcome = h.drive(router)
    assert isinstance(outcome, Fail) and outcome.rolled_back and router.calls[-1] == ("restore", 0.0)
    assert "nobody answered" in h.state["rollback_reason"]


def test_an_operator_abort_mid_bake_rolls_back(make: Any) -> None:
    h = make()
    router = FakeRouter(ONE)
    h.drive(router, until=lambda: h.state.get("phase") == "bake")
    h.operator("abort", "wrong build")
    outcome = h.once(router)
    assert isinstance(outcome, Fail) and outcome.rolled_back
    assert router.calls == [("set_weight", 10.0), ("restore", 0.0)]
    assert h.state["rollback_reason"] == "aborted by pat: wrong build"


def test_an_operator_promote_mid_bake_goes_to_100(make: Any) -> None:
    h = make()
    router = FakeRouter(ONE)
    h.drive(router, until=lambda: h.state.get("phase") == "bake")
    h.operator("promote", "the fix is urgent")
    outcome = h.once(router)
    assert isinstance(outcome, Done) and router.calls == [("set_weight", 10.0), ("promote", 100.0)]
    (forced,) = h.records("promote_forced")
    assert forced["why"] == "the fix is urgent"


@pytest.mark.parametrize("down", ["error", "raise"])
def test_aws_not_answering_mid_bake_is_inconclusive_never_forward(make: Any, down: str) -> None:
    h = make()
    router = FakeRouter(ONE)
    h.drive(router, until=lambda: h.state.get("phase") == "bake")
    router.metrics_down = down
    outcome = h.drive(router, until=lambda: h.state.get("phase") == "paused")
    assert isinstance(outcome, Wait) and h.state["phase"] == "paused"
    assert router.calls == [("set_weight", 10.0)]  # never forward
    (note,) = h.records("inconclusive")
    assert "AWS did not answer" in note["reason"]


def test_an_outage_with_on_inconclusive_promote_waits_for_aws_to_answer(make: Any) -> None:
    h = make(params(analysis={"judge": False, "interval": 60, "delay": 60, "on_inconclusive": "promote"}))
    router = FakeRouter(ONE)
    h.drive(router, until=lambda: h.state.get("phase") == "bake")
    router.metrics_down = "error"
    for _ in range(5):
        outcome = h.once(router)
        assert isinstance(outcome, Wait)
        h.clock.sleep_until(outcome.until or h.clock.now())
    assert router.calls == [("set_weight", 10.0)] and h.state.get("outage")
    router.metrics_down = None
    assert isinstance(h.drive(router), Done)


def test_a_resumed_rollback_finishes_it(make: Any) -> None:
    """A rollback's intent saved by a process that died before restoring: the next pass restores and fails."""
    h = make()
    router = FakeRouter(ONE)
    h.drive(router, until=lambda: h.state.get("phase") == "bake")
    step = h.store.steps(h.run.id)[0]
    h.store.update_step(step.id, state={**step.state, "phase": "rolling_back", "rollback_reason": "trigger: x"})
    outcome = h.once(router)
    assert isinstance(outcome, Fail) and outcome.rolled_back and router.calls[-1] == ("restore", 0.0)
    assert h.state["phase"] == "rolled_back"


def test_a_state_stored_before_the_typed_state_resumes(make: Any) -> None:
    """The JSON a canary wrote as a plain dict (its keys, ``+00:00`` instants) reads back and goes on."""
    h = make()
    router = FakeRouter(ONE, weight=10.0)
    at = START.isoformat()
    old = {"versions": {"fn": {"stable": "7", "canary": "8"}}, "index": 0, "phase": "bake", "started_at": at,
           "weight": 10.0, "consumed": [], "alarms_at_start": [], "shift_intent": 10.0, "last_weight": 10.0,
           "shifted": True, "bake_started": at, "bake_until": (START + timedelta(minutes=2)).isoformat(),
           "next_analysis": (START + timedelta(minutes=2)).isoformat(), "extended_s": 0.0, "health": {},
           "last_verdict": None, "forced": False}
    h.store.update_step(h.store.steps(h.run.id)[0].id, state=old)
    assert isinstance(h.once(router), Wait)
    saved = h.state
    assert saved["bake_until"] == old["bake_until"] and saved["phase"] == "bake" and saved["shift_intent"] == 10.0
    assert isinstance(h.drive(router), Done)


# -- Lambda releases as Terraform and SAM make them ------------------------------------------------------------

TERRAFORM = Discovery(changed=(Variants("fn1", "7", "8"), Variants("fn2", "3", "4")),
                      unchanged=(Unchanged("fn3", "7"), Unchanged("fn4", "2")))


def test_unchanged_functions_are_listed_and_left_alone(make: Any) -> None:
    h = make()
    router = FakeRouter(TERRAFORM)
    outcome = h.drive(router)
    assert isinstance(outcome, Done), outcome
    assert "fn3 unchanged (v7), fn4 unchanged (v2)" in outcome.summary
    (found,) = h.records("versions")
    assert found["unchanged"] == {"fn3": "7", "fn4": "2"} and set(found["versions"]) == {"fn1", "fn2"}
    assert set(h.state["versions"]) == {"fn1", "fn2"}


def test_new_versions_all_fails_naming_the_unchanged(make: Any) -> None:
    h = make(params(new_versions="all"))
    router = FakeRouter(TERRAFORM)
    outcome = h.once(router)
    assert isinstance(outcome, Fail) and not outcome.rolled_back
    assert outcome.reason == "a: no new version of fn3 (v7), fn4 (v2); the plan says new_versions: all"
    assert router.calls == []


def test_nothing_new_fails_as_before(make: Any) -> None:
    h = make()
    router = FakeRouter(Discovery(changed=(), unchanged=(Unchanged("fn", "7"),)))
    outcome = h.once(router)
    assert isinstance(outcome, Fail) and "did the deploy run?" in outcome.reason and router.calls == []


MOVED = Discovery(changed=(Variants("fn", "7", "8"),),
                  moved="the deploy moved the alias itself: fn alias 'live' already on v8 (was v7)")


def test_an_alias_the_deploy_moved_is_watched_at_100_not_shifted(make: Any) -> None:
    h = make()
    router = FakeRouter(MOVED, weight=100.0)
    first = h.once(router)
    assert isinstance(first, Wait) and "the deploy moved the alias itself" in first.reason
    outcome = h.drive(router)
    assert isinstance(outcome, Done) and "watched at 100%" in outcome.summary
    assert router.calls == []  # nothing shifted, nothing promoted: the deploy did it
    assert h.records("versions")[0]["moved"] == MOVED.moved
    assert h.records("shifted") == [] and h.state["weight"] == 100.0


def test_an_alias_the_deploy_moved_is_restored_on_a_failure(make: Any) -> None:
    h = make()
    router = FakeRouter(MOVED, weight=100.0, canary_error_rate=0.05)
    outcome = h.drive(router)
    assert isinstance(outcome, Fail) and outcome.rolled_back
    assert router.calls == [("restore", 0.0)]
    (record,) = h.records("rolled_back")
    assert record["versions"] == {"fn": {"stable": "7", "canary": "8"}} and record["from_weight"] == 100.0


def test_traffic_golive_itself_promoted_in_an_earlier_run_is_not_taken_for_a_moved_alias(make: Any) -> None:
    """A release run again within the hour: the alias is on the version golive promoted, the previous one served
    it lately; that is nothing new, not a deploy that moved the alias."""
    h = make()
    assert isinstance(h.drive(FakeRouter(ONE)), Done)
    first = h.run.id
    h.another_run("deploy")
    router = FakeRouter(MOVED, weight=100.0)
    outcome = h.once(router)
    assert isinstance(outcome, Fail) and not outcome.rolled_back and router.calls == []
    assert outcome.reason == (f"fn: no version newer than 8 (the one its traffic is on, which golive promoted in "
                              f"run #{first}) was published; did the deploy run?")


def test_the_judge_spends_its_final_boundary_once_at_the_look_that_ends_the_step(make: Any) -> None:
    # 100 canary calls a minute at 10%: the trigger's 350 calls take 4 complete minutes, past the 2-minute bake.
    h = make(params(analysis={"judge": {"metrics": ["errors"]}, "interval": 60, "delay": 60, "max_extension": 600},
                    triggers=[{"criterion": "error_rate > 1%", "min_invocations": 350}]))
    outcome = h.drive(FakeRouter(ONE))
    assert isinstance(outcome, Done), outcome
    looks = [(a["weight"], a["verdict"], a["judgement"]["final"]) for a in h.records("analysis") if "judgement" in a]
    at_10 = [look for look in looks if look[0] == 10.0]
    assert any(verdict == "inconclusive" for _, verdict, _ in at_10)  # the bake was extended for the trigger
    # The extension's looks, which could not end the step, judged at the interim level; only the last, final.
    assert [final for _, _, final in at_10] == [False] * (len(at_10) - 1) + [True]
    assert [final for weight, _, final in looks if weight == 50.0][-1] is True
    assert sum(final for weight, _, final in looks if weight == 50.0) == 1


def test_every_look_of_a_judged_canary_is_one_fetch_the_history_read_with_the_first_shifts_sample(make: Any) -> None:
    h = make(params(analysis={"judge": True, "interval": 60, "delay": 60, "max_extension": 120},
                    triggers=[{"criterion": "error_rate > 5% immediately", "min_invocations": 50}]))
    router = FakeRouter(ONE)
    per_pass: list[tuple[str, list[int]]] = []
    for _ in range(40):
        before = len(router.fetches)
        outcome = h.once(router)
        per_pass.append((h.state.get("phase", ""), router.fetches[before:]))
        if not isinstance(outcome, Wait):
            break
        h.clock.sleep_until(max(outcome.until or h.clock.now(), h.clock.now()))
    assert isinstance(outcome, Done), outcome
    looks = h.records("analysis")
    assert looks and all(a["verdict"] == "ok" for a in looks) and "judgement" in looks[0]
    # the first shift: one fetch for the sample and the judge's history (its errors and the tail's lines)
    assert h.state["history"]["fn:live@7"]["p95"] == 120.0 and h.state["history"]["fn:live@7"]["p99"] == 120.0
    fetched = [f for _, f in per_pass if f]
    assert fetched[0] == [fetched[0][0]] and len(fetched) >= len(looks) + 1
    assert all(len(f) == 1 for f in fetched), per_pass  # every pass that read CloudWatch read it once
