"""The page as a release team keeps it open, in Chromium: a healthy, a rolled-back and a waiting-for-approval release.

One SQLite store holds the three releases of the bbws plan with the runbook's zone and windows
(``timezone: Africa/Johannesburg``, batches at 09:00, 10:30 and 12:00 SAST): their runs are frozen from the
planner's real steps and carry the evidence the engine writes (soak checkpoints shaped as the soak step
stores them, canary shifts and analyses, a rollback, gate decisions), advanced by hand to three moments.
``golive serve`` runs on that store WITHOUT ``-f``: what the page shows comes from the store alone. Each
release is opened once; the page must log no console error and show the timeline (bars, windows, the
current moment), a canary's step ``n of m`` with its countdown, and the soak chart's points.
Screenshots go to the test's tmp_path (or ``GOLIVE_PAGE_SHOTS`` when set); the test prints their paths.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml

from golive.evidence.canary import CanaryAnalysis, CanaryShifted
from golive.evidence.gates import GateDecisionRecord, Override
from golive.evidence.rollback import RolledBack
from golive.evidence.runs import Checkpoint
from golive.evidence.terraform import TerraformPlanSummary
from golive.examples import example_path
from golive.plan.model import Plan
from golive.plan.validate import load_plan
from golive.runs.release import plan_digest, plan_facts
from golive.steps import planner
from golive.store.statuses import RunStatus, StepStatus
from golive.store.store import Step, Store
from loopback import free_port
from serve_helpers import Served

CHROMIUM = Path("/usr/bin/chromium")

pytestmark = [pytest.mark.skipif(not CHROMIUM.exists() and not os.environ.get("CI"),
                                 reason="Debian's chromium is not installed (.ci/run installs it)"),
              pytest.mark.xdist_group("dashboard")]  # one served release for the module

WINDOWS = {"foundation": ("09:00", "10:00"), "backend": ("10:30", "11:30"), "apis": ("12:00", "14:00")}
SOAK_START = datetime(2026, 1, 7, 7, 0, tzinfo=UTC)
ERROR_RATES = [0.00021, 0.00026, 0.00019, 0.00031, 0.00024, 0.00022, 0.00028, 0.00023]


def _plan(folder: Path) -> Path:
    source = example_path("bbws")
    data = yaml.safe_load(source.read_text(encoding="utf-8"))
    data["timezone"] = "Africa/Johannesburg"
    for batch in data["batches"]:
        start, end = WINDOWS[batch["name"]]
        batch["window"] = {"start": f"2026-01-10 {start}", "end": end}
    data["windows"] = {"prep": {"start": "2026-01-09 19:00", "end": "22:00"},
                       "signoff": {"start": "2026-01-11 15:00", "end": "18:00"}}
    folder.mkdir()
    for item in source.parent.iterdir():
        if item.name != source.name:
            (folder / item.name).symlink_to(item)
    path = folder / "golive.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return path


def _criterion(text: str, metric: str, unit: str, threshold: float, value: float) -> dict[str, Any]:
    """A criterion as the soak checkpoint stores it: the parsed criterion, and the window's overall measurement."""
    return {"criterion": {"text": text, "metric": metric, "op": "<", "threshold": threshold, "kind": "absolute",
                          "unit": unit},
            "trigger": False, "aggregate": False,
            "overall": {"criterion": text, "scope": "20 functions", "outcome": "Successful", "value": value,
                        "threshold": threshold, "message": f"{text}: holds"}}


@dataclass
class Release:
    store: Store
    plan: Plan
    run_id: int

    @property
    def steps(self) -> dict[str, Step]:
        return {s.key: s for s in self.store.steps(self.run_id)}

    def step(self, key: str, status: str, start: datetime | None, end: datetime | None = None, **values: Any) -> None:
        self.store.update_step(self.steps[key].id, status=status, started_at=start, ended_at=end, **values)

    def record(self, record: Any, at: datetime, step_key: str | None = None) -> None:
        self.store.append_record(record, release=self.plan.release, env="prod", at=at, run_id=self.run_id,
                                 step_key=step_key)

    def until(self, status: str, predicate: Any, start: datetime | None, end: datetime | None) -> None:
        for key, step in self.steps.items():
            if predicate(key, step):
                self.step(key, status, start, end)


def _release(store: Store, base: Plan, name: str) -> Release:
    plan = base.model_copy(update={"release": name})
    run = store.create_run(name, "prod", "release", plan_digest(plan), planner.build_release(plan, "prod"), SOAK_START,
                           meta={"plan": plan_facts(plan)})
    release = Release(store, plan, run.id)
    store.append_event(release=name, env="prod", kind="soak", subject="sit soak", outcome="pass",
                       at=SOAK_START + timedelta(hours=48), data={"env": "sit", "checkpoints": 8})
    store.append_event(release=name, env="prod", kind="preflight", subject="preflight prod", outcome="pass",
                       at=SOAK_START + timedelta(hours=48), data={"blocking": [], "fixable": []})
    release.step("prerequisites", StepStatus.DONE, SOAK_START, SOAK_START + timedelta(minutes=1))
    # A run makes each schema project's Terraform plan before its gate (none deletes or replaces data here).
    for project, spec in plan.projects.items():
        if spec.terraform is not None:
            planned = SOAK_START + timedelta(hours=48)
            release.record(TerraformPlanSummary(subject=project, outcome="no_data_changes", project=project,
                                                sha256=f"{len(project):02d}" * 32, tag=plan.version, source="test",
                                                format_version="1.2", creates=1, approver=spec.terraform.approver),
                           planned, f"terraform.{project}")
            release.step(f"terraform.{project}", StepStatus.DONE, planned, planned)
    release.until(StepStatus.DONE, lambda k, s: k.startswith("soak.sit"), SOAK_START, SOAK_START + timedelta(hours=48))
    for i, rate in enumerate(ERROR_RATES, start=1):
        at = SOAK_START + timedelta(hours=6 * i)
        release.record(Checkpoint(subject=f"sit checkpoint {i} of 8", outcome="pass", env="sit", index=i, of=8,
                                  criteria=(_criterion("error_rate < 0.1%", "error_rate", "fraction", 0.001, rate),
                                            _criterion("p95_duration < 2s", "p95_duration", "seconds", 2.0,
                                                       0.45 + i / 100))), at, f"soak.sit.checkpoint.{i}")
    return release


def _past_the_gate(release: Release) -> datetime:
    """GO at the end of the soak, prep in its window, the foundation and backend batches deployed in theirs."""
    go = SOAK_START + timedelta(hours=48)
    release.step("gate.go_no_go", StepStatus.DONE, go, go)
    release.record(GateDecisionRecord(subject="go_no_go", outcome="GO", gate="go_no_go", env="prod",
                                      items=({"name": "soak.sit", "ok": True, "detail": "passed: 8 of 8 checkpoints"},
                                             {"name": "approval tech_lead", "ok": True, "detail": "by tom"})),
                   go, "gate.go_no_go")
    prep = datetime(2026, 1, 9, 17, 0, tzinfo=UTC)  # 19:00 SAST
    release.until(StepStatus.DONE, lambda k, s: s.phase in ("prep", "checklist") or k == "window.prep", prep,
                  prep + timedelta(minutes=20))
    for batch, (start, _) in WINDOWS.items():
        hour, minute = map(int, start.split(":"))
        began = datetime(2026, 1, 10, hour - 2, minute, tzinfo=UTC)
        if batch != "apis":
            release.until(StepStatus.DONE, lambda k, s, b=batch: s.group == f"batch.{b}" or k == f"window.batch.{b}",
                          began, began + timedelta(minutes=25))
    release.step("uptime.start", StepStatus.DONE, datetime(2026, 1, 10, 7, 0, tzinfo=UTC),
                 datetime(2026, 1, 10, 7, 0, tzinfo=UTC))
    apis = datetime(2026, 1, 10, 10, 0, tzinfo=UTC)  # 12:00 SAST
    release.until(StepStatus.DONE, lambda k, s: k == "window.batch.apis" or (s.group == "batch.apis" and s.kind != "canary"),
                  apis, apis + timedelta(minutes=4))
    return apis + timedelta(minutes=5)


def _healthy(store: Store, plan: Plan) -> None:
    release = _release(store, plan, "bbws-healthy")
    at = _past_the_gate(release)
    key = "canary.product_lambda"
    release.record(CanaryShifted(subject="product_lambda", project="product_lambda", weight=10.0, bake_s=600), at, key)
    for minute, rate in ((2, 0.0011), (4, 0.0016), (6, 0.0013), (8, 0.0012)):
        release.record(CanaryAnalysis(subject="product_lambda", project="product_lambda", weight=10.0, verdict="ok",
                                      reason="triggers quiet", triggers=({"criterion": "error_rate > 5%", "value": rate,
                                                                         "threshold": 0.05},)),
                       at + timedelta(minutes=minute), key)
    shifted = at + timedelta(minutes=10)
    release.record(CanaryShifted(subject="product_lambda", project="product_lambda", weight=50.0, bake_s=300), shifted, key)
    until = shifted + timedelta(minutes=5)
    release.step(key, StepStatus.WAITING, at, None, due_at=shifted + timedelta(minutes=2),
                 wait_reason="product_lambda at 50%, baking", state={"index": 1, "phase": "bake", "weight": 50.0,
                                                                     "bake_until": until.isoformat()})
    store.set_run(release.run_id, shifted + timedelta(minutes=1), status=RunStatus.WAITING)


def _rolled_back(store: Store, plan: Plan) -> None:
    release = _release(store, plan, "bbws-rolled-back")
    at = _past_the_gate(release)
    key = "canary.product_lambda"
    release.record(CanaryShifted(subject="product_lambda", project="product_lambda", weight=10.0, bake_s=600), at, key)
    failed = at + timedelta(minutes=2)
    trigger = {"criterion": "error_rate > 5%", "value": 0.08, "threshold": 0.05}
    release.record(CanaryAnalysis(subject="product_lambda", project="product_lambda", weight=10.0, verdict="fail",
                                  reason="error_rate 8% > 5%", triggers=(trigger,)), failed, key)
    release.record(RolledBack(subject="product_lambda", project="product_lambda", reason="error_rate 8% > 5%",
                              seconds=0.52, from_weight=10.0), failed, key)
    release.record(Override(subject="window", why="the <b>API</b> team asked for an hour", by="alice"),
                   at - timedelta(minutes=1))
    release.step(key, StepStatus.FAILED, at, failed, state={"index": 0, "phase": "rolled_back", "weight": 0.0})
    release.until(StepStatus.CANCELLED, lambda k, s: s.status == StepStatus.PENDING, None, None)
    store.set_run(release.run_id, failed, status=RunStatus.ROLLED_BACK, reason="canary product_lambda rolled back",
                  ended=True)


def _waiting_for_approval(store: Store, plan: Plan) -> None:
    release = _release(store, plan, "bbws-waiting")
    asked = SOAK_START + timedelta(hours=48)
    store.add_approval("bbws-waiting", "prod", "go_no_go", "dana", "devops", None, asked)
    release.step("gate.go_no_go", StepStatus.WAITING, asked, None,
                 wait_reason="GO pending approvals by tech_lead (golive approve go_no_go --env prod --role ROLE --by NAME)")
    store.set_run(release.run_id, asked, status=RunStatus.WAITING)


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Served, Path]]:
    folder = tmp_path_factory.mktemp("dashboard")
    plan = load_plan(_plan(folder / "bbws"))
    url = f"sqlite:///{folder / 'state.db'}"
    store = Store.open(url)
    try:
        for build in (_healthy, _rolled_back, _waiting_for_approval):
            build(store, plan)
    finally:
        store.close()
    server = Served(None, url, free_port(), log=folder / "serve.log").start()
    shots = Path(os.environ.get("GOLIVE_PAGE_SHOTS") or folder)
    shots.mkdir(parents=True, exist_ok=True)
    try:
        yield server, shots
    finally:
        server.stop()


def _open(browser: object, served: tuple[Served, Path], release: str) -> tuple[Any, list[str]]:
    """The release's page, drawn, with every console error and page error it logged; a screenshot saved."""
    from playwright.sync_api import Browser

    assert isinstance(browser, Browser)
    server, shots = served
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(f"{server.url}/?release={release}")
    page.wait_for_selector("#live.on", timeout=30_000)
    page.wait_for_selector(".timeline svg", timeout=30_000)
    shot = shots / f"{release}.png"
    page.screenshot(path=str(shot), full_page=True)
    print(f"screenshot: {shot}")
    return page, errors


def _timeline(page: Any) -> None:
    timeline = page.locator(".timeline").first
    assert timeline.locator("rect.bar").count() >= 6, timeline.inner_html()
    # prep, signoff and the three batches: each window shaded, in the plan's zone
    windows = timeline.locator("rect.window")
    assert windows.count() >= 5
    titles = [windows.nth(i).locator("title").text_content() for i in range(windows.count())]
    assert "batch apis window: Jan 10 12:00 SAST to Jan 10 14:00 SAST" in titles, titles
    assert timeline.locator("line.now").count() >= 1


def test_a_healthy_release_shows_its_timeline_a_baking_canary_and_the_soak_charts(browser: object,
                                                                                   served: tuple[Served, Path]) -> None:
    page, errors = _open(browser, served, "bbws-healthy")
    try:
        assert errors == []
        _timeline(page)
        assert "SAST" in page.locator("#clock").inner_text()
        card = page.locator('.canary[data-step="canary.product_lambda"]')
        assert card.locator("h3").inner_text() == "product_lambda (af-south-1)"
        assert card.locator(".stepof").inner_text() == "step 2 of 3"
        assert card.locator(".countdown").inner_text().startswith("in "), card.inner_html()
        trigger = card.locator('figure.series[data-series="error_rate > 5%"]')
        assert trigger.locator("circle").count() == 4
        assert trigger.locator("path[stroke-dasharray]").count() == 1  # the threshold
        assert "5 %" in trigger.locator("text.tick").all_text_contents()
        assert "product_lambda (DR, eu-west-1)" in page.locator("#canaries").inner_text()
        soak = page.locator('figure.series[data-series="sit: error_rate < 0.1%"]')
        assert soak.locator("circle").count() == 8
        assert [float(v) for v in (soak.get_attribute("data-values") or "").split()] == ERROR_RATES
        assert any(t.endswith("%") for t in soak.locator("text.tick").all_text_contents())
        assert "0.021 %" in page.locator("#checkpoints").inner_text()
        assert page.locator("#incidents").inner_text() == "No incidents."
    finally:
        page.close()


def test_a_rolled_back_release_shows_the_rollback_and_the_gate_as_decided(browser: object,
                                                                          served: tuple[Served, Path]) -> None:
    page, errors = _open(browser, served, "bbws-rolled-back")
    try:
        assert errors == []
        _timeline(page)
        assert page.locator('.timeline rect.bar.failed[data-label="batch apis"]').count() >= 1
        gate = page.locator('.gate[data-gate="go_no_go"]')
        assert gate.count() == 1 and gate.get_attribute("data-live") == "false"
        assert gate.locator(".verdict").inner_text() == "GO" and "decided Jan 09 09:00 SAST" in gate.inner_text()
        card = page.locator('.canary[data-step="canary.product_lambda"]')
        assert card.locator(".stepof").inner_text() == "step 1 of 3"
        assert "rolled back" in card.inner_text() and card.locator(".countdown").count() == 0
        assert "error_rate > 5%: 8 % (threshold 5 %)" in card.inner_text()
        assert "520 ms" in page.locator("#rollbacks").inner_text()
        overrides = page.locator("#overrides").inner_text()  # every override of the release, shown as written
        assert "window" in overrides and "alice" in overrides and "the <b>API</b> team asked for an hour" in overrides
        assert "SAST" in overrides
        assert page.locator('figure.series[data-series="sit: error_rate < 0.1%"] circle').count() == 8
    finally:
        page.close()


def test_a_release_waiting_for_approval_says_so_and_offers_the_missing_role(browser: object,
                                                                            served: tuple[Served, Path]) -> None:
    page, errors = _open(browser, served, "bbws-waiting")
    try:
        assert errors == []
        timeline = page.locator(".timeline").first
        assert timeline.locator('rect.bar.waiting[data-label="gate"]').count() >= 1
        assert timeline.locator("line.now").count() >= 1
        gate = page.locator('.gate[data-gate="go_no_go"]')
        assert gate.get_attribute("data-state") == "waiting for approval"
        assert gate.locator(".verdict").inner_text() == "WAITING"
        assert gate.locator('button[data-role="tech_lead"]').count() == 1
        assert "✓ approval devops" in gate.inner_text()
        assert page.locator("#canaries").inner_text().startswith("No canary has started.")
        assert page.locator('figure.series[data-series="sit: error_rate < 0.1%"] circle').count() == 8
    finally:
        page.close()
