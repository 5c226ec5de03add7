"""One rollback: every asker restores through ``steps/restore.py`` and writes the same record; a saved shift intent
counts as shifted; a compensation and the canary's own rollback survive a crash mid-way.

Real boto3 against the sandbox's moto server over HTTP, on the virtual clock, with a real store. A crash is
the stored state it leaves: a shift intent saved and the alias moved but not the state after it, or a
rolling-back intent saved and nothing after it.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from canary_world import ENV, Harness, canary_plan, with_canary

from golive.engine.context import StepContext
from golive.runs.release import start_or_resume
from golive.sandbox.world import SandboxWorld
from golive.steps import planner
from golive.steps.canary import KIND as CANARY
from golive.steps.rollback import operator, rollback
from golive.store.store import Run

pytestmark = pytest.mark.xdist_group("one_rollback")

SRC = Path(__file__).resolve().parents[2] / "src" / "golive"
RECORD_KEYS = {"project", "reason", "region", "from_weight", "versions", "asked_by", "seconds", "functions"}


@pytest.fixture(scope="module")
def world() -> Iterator[SandboxWorld]:
    world = SandboxWorld(canary_plan(), ENV, follow_release=False).start()
    try:
        yield world
    finally:
        world.stop()


def _stable(h: Harness, run: Run, project: str) -> bool:
    versions = h.step(run, f"canary.{project}").state["versions"]
    return all((s.version, s.weights) == (versions[fn]["stable"], {}) for fn, s in h.aliases(project).items())


def _context(h: Harness, run: Run, key: str) -> StepContext:
    """What the engine hands a compensation: the stored step, saving its state and recording into the store."""
    step = h.step(run, key)
    services = h.services()

    def save(state: dict[str, Any]) -> None:
        h.store.update_step(step.id, state=dict(state))

    def event(**kwargs: Any) -> None:
        h.store.append_event(release=run.release, env=run.env, run_id=run.id, step_key=step.key,
                             at=services.clock.now(), **kwargs)

    return StepContext(run=run, step=step, state=dict(step.state), services=services, _save=save, _event=event)


def test_a_shift_intent_saved_before_a_crash_is_rolled_back_when_another_lane_fails(h: Harness) -> None:
    for project in ("product_lambda", "order_lambda"):
        h.publish(project)
    run = h.canary_run("product_lambda", "order_lambda")
    h.drive(run, until=lambda: h.at_weight(run, "product_lambda", 10)() and h.at_weight(run, "order_lambda", 10)())
    # The order canary's process died between UpdateAlias (its traffic is at 10%) and the save after it: the
    # stored state holds the versions and the intent, nothing of the shift itself.
    order = h.step(run, "canary.order_lambda")
    crashed = {k: v for k, v in order.state.items() if k in ("versions", "started_at", "consumed", "alarms_at_start")}
    crashed.update(index=0, phase="shift", weight=0.0, shift_intent=10.0)
    far = h.world.clock.now() + timedelta(days=1)
    h.store.update_step(order.id, state=crashed, status="waiting", due_at=far, wait_reason="(crashed)")
    assert all(s.weights for s in h.aliases("order_lambda").values())

    operator(h.services(), ENV, "product_lambda", "abort", "ana", "checkout errors")
    h.drive(run)

    assert h.store.get_run(run.id).status == "rolled_back"
    assert _stable(h, run, "product_lambda") and _stable(h, run, "order_lambda")
    records = {e.subject: e for e in h.events(run, "rollback", outcome="rolled_back")}
    assert set(records) == {"product_lambda", "order_lambda"}
    own, compensated = records["product_lambda"].data, records["order_lambda"].data
    assert set(own) >= RECORD_KEYS and set(compensated) >= RECORD_KEYS  # one record, whoever asked
    assert (own["asked_by"], own["from_weight"], own["region"]) == ("canary", 10.0, h.plan.environments[ENV].region)
    assert (compensated["asked_by"], compensated["from_weight"]) == ("compensation", 10.0)
    assert "canary.product_lambda failed" in compensated["reason"]
    assert compensated["versions"] == crashed["versions"]


def test_a_compensation_called_again_after_a_crash_restores_and_records_once(h: Harness) -> None:
    h.publish("campaigns_lambda")
    run = h.canary_run("campaigns_lambda")
    h.drive(run, until=h.at_weight(run, "campaigns_lambda", 10))
    step = h.step(run, "canary.campaigns_lambda")
    params = CANARY.parse(step.params)
    assert CANARY.compensate is not None

    # First call: the intent is saved, then the process dies before the restore (simulated: the saved state).
    h.store.update_step(step.id, state={**step.state, "phase": "rolling_back", "rollback_reason": "batch failed"})
    for _ in range(3):  # the engine calls it again until it returns; after that, a call changes nothing
        CANARY.compensate(_context(h, run, step.key), params, "canary.other failed")

    assert _stable(h, run, "campaigns_lambda")
    (record,) = h.events(run, "rollback", "campaigns_lambda")
    assert record.data["reason"] == "batch failed" and record.data["asked_by"] == "compensation"
    assert h.step(run, step.key).state["phase"] == "rolled_back"


def test_the_canarys_own_rollback_resumed_from_its_intent_finishes_and_fails(h: Harness) -> None:
    h.publish("product_lambda")
    run = h.canary_run("product_lambda")
    h.drive(run, until=h.at_weight(run, "product_lambda", 10))
    step = h.step(run, "canary.product_lambda")
    # Killed right after saving "rolling back" (the reason), before touching an alias.
    h.store.update_step(step.id, state={**step.state, "phase": "rolling_back", "rollback_reason": "judge: errors"})
    shifted_before = len(h.events(run, "canary", "product_lambda", "shifted"))

    h.drive(run)

    ended = h.store.get_run(run.id)
    assert ended.status == "rolled_back" and "judge: errors" in (ended.reason or "")
    assert _stable(h, run, "product_lambda")
    assert len(h.events(run, "canary", "product_lambda", "shifted")) == shifted_before  # never forward
    (record,) = h.events(run, "rollback", "product_lambda")
    assert record.data["asked_by"] == "canary" and record.data["from_weight"] == 10.0


def test_a_validation_resumed_mid_rollback_finishes_it_without_checking_again(h: Harness) -> None:
    h.plan = with_canary(h.plan, "campaigns_lambda", steps=[{"weight": 100}])
    published = h.publish("campaigns_lambda")
    steps = [s for s in planner.build_deploy(h.plan, ENV, project="campaigns_lambda") if s.kind == "canary"]
    validation = planner.validation_step(h.plan, ENV)
    run, _ = start_or_resume(h.store, h.plan, ENV, "deploy", lambda: [*steps, validation], h.world.clock)
    h.drive(run, until=lambda: h.step(run, "canary.campaigns_lambda").state.get("phase") == "promoted")
    assert {fn: s.version for fn, s in h.aliases("campaigns_lambda").items()} == published
    # The validation failed and saved its intent, then the process died before any alias moved.
    step = h.step(run, "validation")
    intent = {"reason": "http https://api/health: 503", "result": {"failed": 1}, "done": [], "outcomes": []}
    h.store.update_step(step.id, status="running", state={"rollback": intent})

    h.drive(run)

    ended = h.store.get_run(run.id)
    assert ended.status == "rolled_back" and "503" in (ended.reason or ""), ended.reason
    assert _stable(h, run, "campaigns_lambda")
    assert not h.events(run, "check")  # the traffic it moved back was not validated again
    (record,) = h.events(run, "rollback", "campaigns_lambda")
    assert (record.data["asked_by"], record.data["from_weight"]) == ("validation", 100.0)


def test_golive_rollback_writes_the_same_record(h: Harness) -> None:
    h.publish("order_lambda")
    run = h.canary_run("order_lambda")
    h.drive(run, until=h.at_weight(run, "order_lambda", 10))

    result = rollback(h.services(), ENV, "order_lambda", why="operator saw 5xx")

    assert _stable(h, run, "order_lambda") and result["alias_seconds"] is not None
    (record,) = [e for e in h.store.events(kind="rollback") if e.run_id is None and e.subject == "order_lambda"]
    assert set(record.data) >= RECORD_KEYS
    assert (record.data["asked_by"], record.data["from_weight"], record.data["reason"]) == \
        ("operator", 10.0, "operator saw 5xx")


def test_one_module_restores_traffic() -> None:
    """The grep of the issue: alias restores happen in the Lambda router only (the provider call aside), which
    ``steps/restore.py`` alone asks to restore."""
    callers = []
    for path in SRC.rglob("*.py"):
        text = path.read_text(encoding="utf-8")
        if re.search(r"point_alias\(|LambdaClient\(.*\)\.restore\(|\b(lam|client)\.restore\(", text):
            callers.append(str(path.relative_to(SRC)))
    assert sorted(callers) == ["providers/lambdas.py", "routers/lambda_alias.py"], callers
