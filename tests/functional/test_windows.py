"""Time as the team lives it: windows in the plan's zone, waits as stored state, an override past the end.

The window step runs in the real engine on a virtual clock, with a real SQLite store; the freeze rules are
held to instants written out by hand in the team's zone; the bbws release with the runbook's windows is
rehearsed whole (``test_bbws_batches_start_at_their_windows``).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
import yaml

from golive import schedule
from golive.clock import VirtualClock
from golive.engine.context import Services
from golive.engine.runner import Engine
from golive.errors import PlanError
from golive.evidence.gates import Override
from golive.examples import example_path
from golive.plan.validate import load_plan, load_plan_text
from golive.rehearsal.local import rehearse
from golive.steps import planner
from golive.steps.gate import freeze_item
from golive.steps.registry import all_handlers
from golive.store.statuses import RunStatus, StepStatus
from golive.store.store import Store

SAST = schedule.zone("Africa/Johannesburg")
PLAN = """\
release: shop
version: v1.0.0
timezone: Africa/Johannesburg
environments:
  prod: {account: "123456789012", region: af-south-1}
projects:
  cart: {repo: owner/cart, deploy: {command: ["true"]}}
batches:
  - name: one
    projects: [cart]
    window: {start: "2026-01-10 09:00", end: "10:00"}
freeze:
  - {days: [fri], start: "15:00", end: "23:59", reason: no Friday deploys}
holidays: [2026-01-01]
"""


def _engine_run(tmp_path: Path, now: datetime) -> tuple[Engine, Store, int, VirtualClock]:
    plan = load_plan_text(PLAN)
    store = Store.open(f"sqlite:///{tmp_path / 'state.db'}")
    specs = [s for s in planner.build_release(plan, "prod") if s.kind in ("window", "noop")]
    assert [s.key for s in specs] == ["window.batch.one"]
    run_id = store.create_run("shop", "prod", "release", "0" * 64, specs, now).id
    clock = VirtualClock(now)
    return Engine(Services(plan=plan, store=store, clock=clock), all_handlers(), holder="t"), store, run_id, clock


def test_a_window_is_read_in_the_plans_zone_and_waited_for_as_stored_state(tmp_path: Path) -> None:
    engine, store, run_id, clock = _engine_run(tmp_path, datetime(2026, 1, 10, 5, 0, tzinfo=UTC))  # 07:00 SAST
    result = engine.drive(run_id)
    assert result.status == RunStatus.SUCCEEDED
    assert clock.now() == datetime(2026, 1, 10, 7, 0, tzinfo=UTC)  # 09:00 SAST: the engine slept to it
    (step,) = store.steps(run_id)
    assert step.result["summary"] == "batch one: inside its window (until Jan 10 10:00 SAST)"


def test_past_its_end_a_window_waits_for_a_person_who_overrides_it_on_the_record(tmp_path: Path) -> None:
    engine, store, run_id, _ = _engine_run(tmp_path, datetime(2026, 1, 10, 9, 0, tzinfo=UTC))  # 11:00 SAST
    result = engine.drive(run_id)
    assert result.status == RunStatus.WAITING
    (step,) = store.steps(run_id)
    assert step.status == StepStatus.WAITING and step.due_at is None
    assert step.wait_reason == ("batch one: its window ended Jan 10 10:00 SAST; to start it anyway: "
                                "golive run --override-window --why \"...\"")
    store.append_record(Override(subject="window", why="the API team asked for an hour"), release="shop", env="prod",
                        at=datetime(2026, 1, 10, 9, 5, tzinfo=UTC), run_id=run_id)
    assert engine.drive(run_id).status == RunStatus.SUCCEEDED
    (step,) = store.steps(run_id)
    assert "overridden: the API team asked for an hour" in step.result["summary"]


def test_an_override_of_another_run_does_not_open_this_ones_window(tmp_path: Path) -> None:
    engine, store, run_id, _ = _engine_run(tmp_path, datetime(2026, 1, 10, 9, 0, tzinfo=UTC))
    other = store.create_run("shop", "prod", "deploy", "0" * 64, [], datetime(2026, 1, 10, 9, 1, tzinfo=UTC)).id
    store.append_record(Override(subject="window", why="another run"), release="shop", env="prod",
                        at=datetime(2026, 1, 10, 9, 5, tzinfo=UTC), run_id=other)
    assert engine.drive(run_id).status == RunStatus.WAITING


def test_freezes_recur_weekly_and_on_public_holidays_in_the_plans_zone() -> None:
    plan = load_plan_text(PLAN)
    friday = datetime(2026, 1, 9, 13, 0, tzinfo=UTC)  # Fri 15:00 SAST
    assert not freeze_item(plan, friday).ok
    assert "until Jan 09 23:59 SAST: no Friday deploys" in freeze_item(plan, friday).detail
    assert freeze_item(plan, friday - timedelta(minutes=1)).ok  # 14:59 SAST
    assert not freeze_item(plan, datetime(2025, 12, 31, 22, 30, tzinfo=UTC)).ok  # Jan 01 00:30 SAST
    assert freeze_item(plan, datetime(2025, 12, 31, 21, 30, tzinfo=UTC)).ok  # Dec 31 23:30 SAST
    assert schedule.holiday_span(date(2026, 1, 1), SAST).start == datetime(2025, 12, 31, 22, 0, tzinfo=UTC)


@pytest.mark.parametrize(("key", "value", "says"), [
    ("timezone", "Mars/Olympus", "unknown time zone 'Mars/Olympus'"),
    ("batches[0].window", {"start": "09:00", "end": "10:00"}, "needs a date"),
    ("batches[0].window", {"start": "2026-01-10 9h", "end": "10:00"}, "not a local date and time"),
    ("batches[0].window", {"start": "2026-01-10 09:00", "end": "2026-01-09 10:00"}, "is not after its start"),
])
def test_a_bad_window_or_zone_is_a_plan_error_naming_the_key(key: str, value: object, says: str) -> None:
    data = yaml.safe_load(PLAN)
    if key == "timezone":
        data["timezone"] = value
    else:
        data["batches"][0]["window"] = value
    with pytest.raises(PlanError) as err:
        load_plan_text(yaml.safe_dump(data))
    assert says in str(err.value)
    assert key.split("[", maxsplit=1)[0] in str(err.value)


def test_bbws_batches_start_at_their_windows_in_the_teams_zone(tmp_path: Path) -> None:
    source = example_path("bbws")
    data = yaml.safe_load(source.read_text(encoding="utf-8"))
    data["timezone"] = "Africa/Johannesburg"
    windows = {"foundation": ("09:00", "10:00"), "backend": ("10:30", "11:30"), "apis": ("12:00", "14:00")}
    for batch in data["batches"]:
        start, end = windows[batch["name"]]
        batch["window"] = {"start": f"2026-01-10 {start}", "end": end}
    data["windows"] = {"prep": {"start": "2026-01-09 19:00", "end": "22:00"},
                       "signoff": {"start": "2026-01-11 15:00", "end": "18:00"}}
    plan_dir = tmp_path / "bbws"
    plan_dir.mkdir()
    for item in source.parent.iterdir():
        if item.name != source.name:
            (plan_dir / item.name).symlink_to(item)
    plan_path = plan_dir / "golive.yaml"
    plan_path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")

    out = tmp_path / "out"
    result = rehearse(load_plan(plan_path), plan_dir, "prod", seed=7, out_dir=out)
    assert result.status == RunStatus.SUCCEEDED, result.reason
    store = Store.open(f"sqlite:///{out / 'rehearsal.db'}")
    steps = {s.key: s for s in store.steps(result.run_id)}
    store.close()
    for batch, (start, _) in windows.items():
        first = next(s for key, s in steps.items() if s.group == f"batch.{batch}")
        assert first.started_at is not None
        assert schedule.local(first.started_at, SAST, fmt="%H:%M") == f"{start} SAST", first.key
    assert schedule.local(steps["signoff"].started_at, SAST, fmt="%H:%M") == "15:00 SAST"  # type: ignore[arg-type]
    report = (out / "report.md").read_text(encoding="utf-8")
    firsts = {"foundation": "dynamodb_schemas", "backend": "web_public", "apis": "product_lambda"}
    for batch, (start, _) in windows.items():
        row = next(line for line in report.splitlines() if f"| deploy {firsts[batch]} |" in line)
        assert f"| 2026-01-10 {start} SAST |" in row, row
