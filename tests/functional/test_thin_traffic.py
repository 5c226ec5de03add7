"""Issue 24's world: a healthy canary is never rolled back because golive could not decide.

moto's own server over real HTTP, the traffic simulator splitting each function's calls by its alias's real
routing, the runbook's triggers plus ``p95_duration > 5s for 2m`` (which, at 10% of 600 calls a minute, never
holds 300 calls in 2 minutes), steps 10% -> 50% -> 100% with 1-minute bakes. golive says before the shift
what each criterion will get; the healthy release is promoted; 10% errors on the new version roll back.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from types import SimpleNamespace

import pytest
from canary_world import ENV, Harness, canary_plan, next_minute, with_canary

from golive.analysis.canary_sample import read_sample
from golive.cli.commands.plan import plan_cmd
from golive.plan.model import Plan, Trigger
from golive.providers.aws import Aws
from golive.runs import session
from golive.sandbox.world import SandboxWorld
from golive.steps import planner
from golive.steps.rollback import operator
from golive.store import outbox
from golive.store.store import Run
from golive.workspace import Workspace

pytestmark = pytest.mark.xdist_group("thin_traffic")

TRIGGERS = ["error_rate > 5% immediately", "p95_duration > 5s for 2m", "alarm bbws-data-corruption", "incident P0"]
SHORT = [{"weight": 10, "bake": "1m"}, {"weight": 50, "bake": "1m"}, {"weight": 100}]
PROJECTS = ("product_lambda", "campaigns_lambda")


def issue_plan() -> Plan:
    """The bbws APIs at 600 calls a minute (campaigns at 6), the issue's triggers and 1-minute bakes."""
    plan = canary_plan(function_traffic={"campaigns_lambda": {"rpm": 6}})
    plan = plan.model_copy(update={"rollback": plan.rollback.model_copy(
        update={"triggers": [Trigger.model_validate(t) for t in TRIGGERS]})})
    for project in PROJECTS:
        plan = with_canary(plan, project, steps=SHORT)
    return plan


@pytest.fixture(scope="module")
def world() -> Iterator[SandboxWorld]:
    world = SandboxWorld(issue_plan(), ENV, follow_release=False,
                         faults=["product_lambda:error_rate=10%@errors..+30m", "aws_down@aws_down..+3m"]).start()
    try:
        world.clock.advance(timedelta(hours=1))  # an hour of stable traffic before anything shifts
        yield world
    finally:
        world.stop()


def _canary_params(h: Harness, project: str) -> dict[str, object]:
    step = next(s for s in planner.build_deploy(h.plan, ENV, project=project) if s.kind == "canary")
    return step.params


def test_before_the_shift_each_criterion_says_what_it_will_get(h: Harness, world: SandboxWorld) -> None:
    samples, error = read_sample(world.aws(ENV), world.clock, _canary_params(h, "product_lambda"))
    assert error is None
    slow = next(s for s in samples if s.weight == 10 and s.criterion == "trigger p95_duration > 5s for 2m")
    assert 500 <= slow.per_minute / 0.1 <= 700  # the stable's last hour, about 600 a minute, read from CloudWatch
    assert slow.grows_to in (5, 6) and slow.decides, slow.line()  # 300 calls at about 60 a minute
    judged = next(s for s in samples if s.weight == 10 and s.criterion == "judge errors")
    assert "it catches errors x" in judged.detects or "no stable errors" in judged.detects

    quiet, error = read_sample(world.aws(ENV), world.clock, _canary_params(h, "campaigns_lambda"))
    assert error is None
    assert any(not s.decides for s in quiet if s.weight == 10)


class _WorldWorkspace(Workspace):
    """The CLI's workspace, its AWS and clock the world's (a command run by hand against the sandbox)."""

    world: SandboxWorld | None = None

    def aws_for(self, env: str, region: str | None = None) -> Aws:
        assert self.world is not None
        return self.world.aws(env, region)


def test_golive_plan_prints_each_canarys_expected_calls_and_detectable_effect_per_step(
        h: Harness, world: SandboxWorld, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    w = _WorldWorkspace(plan_path=tmp_path / "golive.yaml", clock=world.clock, json=True)
    w.world = world
    w.__dict__["plan"] = h.plan  # the loaded plan (a cached property)
    plan_cmd(SimpleNamespace(obj=w), ENV)  # type: ignore[arg-type]
    shown = json.loads(capsys.readouterr().out)
    samples = {s["key"]: s["sample"] for s in shown["steps"] if s["kind"] == "canary" and "sample" in s}  # not a site
    product = samples["canary.product_lambda"]["lines"]
    assert any(line.startswith("sample: product_lambda at 10%: trigger p95_duration > 5s for 2m: decides, window grows")
               for line in product), product
    assert any("judge errors" in line and "it catches errors x" in line for line in product), product
    assert any("judge p95_duration" in line and "above stable p95 x1.1" in line for line in product), product
    assert {line.split(":")[1].strip().split(" at ")[1] for line in product} == {"10%", "50%"}
    assert samples["canary.campaigns_lambda"]["cannot_decide"]  # 6 calls a minute


def test_preflight_flags_the_criteria_that_cannot_decide_before_the_first_shift(h: Harness) -> None:
    driven = session.preflight(h.services(), ENV)
    results = h.store.steps(driven.run.id)[0].result["results"]
    by_project = {r["target"]: r for r in results if r["check"] == "canary_sample"}
    assert by_project["canary product_lambda"]["status"] == "pass", by_project["canary product_lambda"]
    flagged = by_project["canary campaigns_lambda"]
    assert flagged["status"] == "warn"
    summary = flagged["summary"]
    # The criterion, the step, the calls expected, the calls needed and the window that would suffice.
    assert "campaigns_lambda at 10%: trigger p95_duration > 5s for 2m: cannot decide:" in summary
    assert "needs 300" in summary and "window would suffice" in summary


def test_the_healthy_release_is_promoted_without_a_rollback(h: Harness, world: SandboxWorld) -> None:
    h.publish("product_lambda")
    run = h.canary_run("product_lambda")
    h.drive(run)

    done = h.store.get_run(run.id)
    assert done.status == "succeeded", done.reason
    assert not h.events(run, "rollback")
    samples = h.events(run, "canary", "product_lambda", "sample")
    assert [e.data["weight"] for e in samples] == [10.0, 50.0]
    assert all(e.data["lines"] and not e.data["cannot_decide"] for e in samples)
    # Every trigger judged a window of each step's own traffic before the step was left.
    looks = h.events(run, "canary", "product_lambda", "analysis")
    for weight in (10.0, 50.0):
        last = [e for e in looks if e.data["weight"] == weight][-1]
        assert last.data["verdict"] == "ok"
        assert {m["criterion"] for m in last.data["triggers"]} == {"error_rate > 5% immediately",
                                                                   "p95_duration > 5s for 2m"}


def test_ten_percent_errors_on_the_new_version_roll_back_within_two_minutes_of_the_shift(
        h: Harness, world: SandboxWorld) -> None:
    h.publish("product_lambda")
    shifted: list[datetime] = []

    def start_fault(now: datetime) -> None:
        shifted.append(now)
        world.anchor("errors", next_minute(now) - timedelta(minutes=1))

    h.when_shifted("product_lambda", 10, start_fault)
    run = h.canary_run("product_lambda")
    h.drive(run)

    assert h.store.get_run(run.id).status == "rolled_back"
    (event,) = h.events(run, "rollback", "product_lambda")
    assert "error" in event.data["reason"], event.data["reason"]
    print(f"10% errors: shifted {shifted[0]:%H:%M:%S}, rolled back {event.at:%H:%M:%S} "
          f"({(event.at - shifted[0]).total_seconds():.0f} s): {event.data['reason'][:160]}")
    # The first look that can read a complete minute of the canary's traffic (the minute after the shift, delivered
    # a minute late) rolls it back: within two minutes of the shift.
    assert event.at - shifted[0] <= timedelta(minutes=2), (shifted[0], event.at)


# -- on_inconclusive: pause ------------------------------------------------------------------------
def _paused_run(h: Harness) -> Run:
    """campaigns at 6 calls a minute: its triggers cannot get 300 calls, so after a 2-minute cap it pauses."""
    h.plan = with_canary(h.plan, "campaigns_lambda", steps=SHORT,
                         analysis={"max_extension": "2m", "pause_timeout": "20m"})
    h.publish("campaigns_lambda")
    run = h.canary_run("campaigns_lambda")
    h.drive(run, until=lambda: h.step(run, "canary.campaigns_lambda").state.get("phase") == "paused")
    return run


def _pause_notes(h: Harness) -> list[dict[str, object]]:
    return [data for _, kind, data in h.notes if kind == "canary" and data.get("outcome") == "inconclusive"]


def test_a_canary_that_cannot_decide_pauses_notifies_and_goes_on_when_an_operator_promotes(
        h: Harness, world: SandboxWorld) -> None:
    run = _paused_run(h)
    (paused,) = h.events(run, "canary", "campaigns_lambda", "inconclusive")
    assert paused.data["choice"] == "pause" and paused.data["weight"] == 10.0
    assert paused.data["reason"].startswith("still inconclusive after extending the bake by 2 min (")
    assert "waiting for golive promote --why or golive abort until" in paused.data["reason"]
    assert [n["choice"] for n in _pause_notes(h)] == ["pause"]  # told: the notify hook, and the sinks' outbox
    with h.store.tx() as conn:
        queued = [row for row in outbox.rows(conn) if row["event_id"] == paused.id]
    assert [row["topic"] for row in queued] == ["canary_step"]
    for state in h.aliases("campaigns_lambda").values():
        assert set(state.weights.values()) == {0.1}  # still at 10%, neither back nor on

    world.clock.advance(timedelta(minutes=5))
    operator(h.services(), ENV, "campaigns_lambda", "promote", "ana", "6 calls a minute: the trigger never decides")
    h.drive(run)

    assert h.store.get_run(run.id).status == "succeeded"
    (forced,) = h.events(run, "canary", "campaigns_lambda", "promote_forced")
    assert forced.data["why"] == "6 calls a minute: the trigger never decides"
    assert not h.events(run, "rollback")


def test_a_paused_canary_nobody_answers_rolls_back_after_the_pause_timeout(h: Harness) -> None:
    run = _paused_run(h)
    (paused,) = h.events(run, "canary", "campaigns_lambda", "inconclusive")
    h.drive(run)

    assert h.store.get_run(run.id).status == "rolled_back"
    (event,) = h.events(run, "rollback", "campaigns_lambda")
    assert event.data["reason"].startswith("fail safe: paused at 10% for 20m and nobody answered"), event.data["reason"]
    assert event.at - paused.at >= timedelta(minutes=20)


def test_aws_not_answering_mid_bake_is_inconclusive_at_once_and_the_plan_pauses_never_forward(
        h: Harness, world: SandboxWorld) -> None:
    h.publish("product_lambda")
    run = h.canary_run("product_lambda")
    h.drive(run, until=h.at_weight(run, "product_lambda", 10))
    world.anchor("aws_down", next_minute(world.clock.now()))
    h.drive(run, until=lambda: h.step(run, "canary.product_lambda").state.get("phase") == "paused")

    (paused,) = h.events(run, "canary", "product_lambda", "inconclusive")
    assert paused.data["choice"] == "pause"
    assert paused.data["reason"].startswith("AWS did not answer"), paused.data["reason"]
    assert [e.data["weight"] for e in h.events(run, "canary", "product_lambda", "shifted")] == [10.0]
    world.clock.advance(timedelta(minutes=4))  # AWS answers again: still paused at 10%, neither back nor on
    for state in h.aliases("product_lambda").values():
        assert set(state.weights.values()) == {0.1}
    operator(h.services(), ENV, "product_lambda", "abort", "ana", "AWS was out")
    h.drive(run)
    assert h.store.get_run(run.id).status == "rolled_back"
