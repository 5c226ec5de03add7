"""A plan edited between a run's start and its resume: exit 2 naming the steps, or accepted, re-frozen and reported.

For every step kind the planner makes, the short bbws plan is edited where that kind reads it, and the release
run started from the original plan is resumed from the edited one: ``PlanChanged`` (exit 2, one line) names the
kind's step; with the why, the unfinished changed steps run from the new parameters, a finished one keeps
its own, the run takes the new digest and the report shows the change. Then real processes: ``golive rehearse
--sandbox D`` stopped after the gate, the canary bakes edited, resumed (exit 2 naming the canaries), resumed
with ``--accept-plan-change --why`` to the end, and the report's "Plan changes accepted".
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml

from golive.clock import VirtualClock
from golive.errors import UsageError, exit_code_for
from golive.evidence.plan_change import PlanChangeAccepted
from golive.plan.model import Plan
from golive.plan.validate import load_plan
from golive.report.markdown import render_markdown
from golive.report.model import build
from golive.runs.plan_change import PlanChanged
from golive.runs.release import plan_digest, start_or_resume
from golive.sandbox import daemon
from golive.sandbox.daemon import SandboxInfo
from golive.steps import planner
from golive.steps.registry import get as kind_of
from golive.store.store import Store
from short_plan import write_short_plan

ENV = "prod"
T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
GOLIVE = Path(sys.executable).with_name("golive")

Edit = Callable[[dict[str, Any]], None]


def _canary_bake(d: dict[str, Any]) -> None:
    d["projects"]["order_lambda"]["rollout"]["lambda_canary"]["steps"][0]["bake"] = "4m"


def _health(d: dict[str, Any]) -> None:
    d["projects"]["web_public"]["health"] = ["{site_url}/status"]


EDITS: dict[str, tuple[Edit, str]] = {
    # kind: (the edit, a step of that kind it changes)
    "checks": (lambda d: d["validation"][0]["alarms"]["allow"].append("bbws-other-dlq"), "validation"),
    "soak_start": (lambda d: d["soak"]["sit"].update(duration="13h"), "soak.sit.start"),  # still 4 checkpoints
    "soak_checkpoint": (lambda d: d["soak"]["sit"]["criteria"].append("throttles < 5"), "soak.sit.checkpoint.2"),
    "gate": (lambda d: d["gates"]["go_no_go"].update(freshness="12h"), "gate.go_no_go"),
    "set_secrets": (lambda d: d["projects"]["dynamodb_schemas"]["secrets"]["AWS_ROLE_PROD"].update(
        value="arn:aws:iam::093646564004:role/other"), "prep.secrets"),
    "tag": (lambda d: d["projects"]["web_public"].update(ref="release-branch"), "prep.tags"),
    "deploy": (lambda d: d["projects"]["order_lambda"]["deploy"].update(inputs={"flag": "on"}), "deploy.order_lambda"),
    "canary": (_canary_bake, "canary.order_lambda"),
    "uptime_start": (lambda d: d.update(http_ok=[200, 401]), "uptime.start"),
    "uptime_end": (_health, "uptime.end"),
    "approval": (lambda d: d.update(signoff=["devops"]), "signoff"),
    "terraform_plan": (lambda d: d["projects"]["dynamodb_schemas"]["terraform"].update(artifact="plan-json"),
                       "terraform.dynamodb_schemas"),
}


def _edited(folder: Path, original: Path, edit: Edit) -> Plan:
    data = yaml.safe_load(original.read_text(encoding="utf-8"))
    edit(data)
    path = folder / "edited" / "golive.yaml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return load_plan(path)


@pytest.fixture(scope="module")
def short(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_short_plan(tmp_path_factory.mktemp("plan"))


def test_the_edits_cover_every_kind_the_planner_makes(short: Path) -> None:
    made = {spec.kind for spec in planner.build_release(load_plan(short), ENV)}
    # soak_end changes only with the number of checkpoints: the steps-added case below covers it.
    assert made - set(EDITS) == {"soak_end"}


@pytest.mark.parametrize("kind", sorted(EDITS))
def test_an_edited_plan_stops_the_resume_naming_the_step_until_accepted(kind: str, short: Path, tmp_path: Path,
                                                                        store: Store) -> None:
    edit, key = EDITS[kind]
    plan, edited = load_plan(short), _edited(tmp_path, short, edit)
    clock = VirtualClock(T0)
    run, resumed = start_or_resume(store, plan, ENV, "release", lambda: planner.build_release(plan, ENV), clock)
    assert not resumed
    stored = {s.key: s for s in store.steps(run.id)}
    first = next(iter(stored.values()))
    store.update_step(first.id, status="done", ended_at=T0)  # a finished step keeps its parameters

    with pytest.raises(PlanChanged) as refused:
        start_or_resume(store, edited, ENV, "release", lambda: planner.build_release(edited, ENV), clock)
    line = str(refused.value)
    assert "\n" not in line and exit_code_for(refused.value) == 2 and isinstance(refused.value, UsageError)
    assert line.startswith(f"the plan changed since release run {run.id} started: parameters of ")
    assert f"{key} (" in line, line
    assert "--accept-plan-change --why" in line
    assert {s.key: s.params for s in store.steps(run.id)} == {k: s.params for k, s in stored.items()}  # untouched

    clock.advance(timedelta(minutes=5))
    again, resumed = start_or_resume(store, edited, ENV, "release", lambda: planner.build_release(edited, ENV), clock,
                                     accept_change=f"edit of {kind} reviewed")
    assert resumed and again.id == run.id and again.plan_digest == plan_digest(edited)
    fresh = {spec.key: spec for spec in planner.build_release(edited, ENV)}
    now = {s.key: s for s in store.steps(run.id)}
    assert kind_of(now[key].kind).parse(now[key].params) == kind_of(now[key].kind).parse(fresh[key].params)
    assert now[key].params != stored[key].params
    assert now[first.key].params == stored[first.key].params  # finished: what it did stands
    (accepted,) = store.records(PlanChangeAccepted, run_id=run.id)
    assert accepted.record.why == f"edit of {kind} reviewed" and key in accepted.record.refrozen
    assert first.key not in accepted.record.refrozen
    # The same plan again resumes without asking; the report shows the change.
    start_or_resume(store, edited, ENV, "release", lambda: planner.build_release(edited, ENV), clock)
    text = render_markdown(build(store, run.id, plan.release))
    assert "## Plan changes accepted" in text and f"edit of {kind} reviewed" in text and key in text


def test_steps_added_or_removed_are_named_and_cannot_join_the_running_run(short: Path, tmp_path: Path,
                                                                          store: Store) -> None:
    plan = load_plan(short)
    edited = _edited(tmp_path, short, lambda d: d["soak"]["sit"].update(duration="15h"))  # 4 checkpoints -> 5
    clock = VirtualClock(T0)
    run, _ = start_or_resume(store, plan, ENV, "release", lambda: planner.build_release(plan, ENV), clock)
    for why in (None, "longer soak"):
        with pytest.raises(PlanChanged) as refused:
            start_or_resume(store, edited, ENV, "release", lambda: planner.build_release(edited, ENV), clock,
                            accept_change=why)
        assert "soak.sit.end (checkpoints)" in str(refused.value)
        assert "1 step added (soak.sit.checkpoint.5)" in str(refused.value)
    assert "--restart" in str(refused.value)
    assert store.get_run(run.id).plan_digest == plan_digest(plan) and not store.records(PlanChangeAccepted)


def test_accepting_a_change_needs_a_why(short: Path) -> None:
    for argv in (["run", "--env", ENV, "--yes", "--accept-plan-change"],
                 ["deploy", "--env", ENV, "--yes", "--accept-plan-change"]):
        done = subprocess.run([str(GOLIVE), "-f", str(short), *argv], check=False, capture_output=True, text=True,
                              timeout=120)
        assert done.returncode == 2 and "Traceback" not in done.stderr, done.stderr
        assert done.stderr.strip() == 'golive: error: --accept-plan-change needs --why "..." (it is recorded)'


# -- real processes: golive rehearse --sandbox D ---------------------------------------------------------------
@pytest.fixture
def world(tmp_path: Path) -> Iterator[tuple[Path, SandboxInfo]]:
    plan = write_short_plan(tmp_path / "plan")
    info = daemon.start_world_detached(tmp_path / "sandbox", plan, ENV, seed=7, realtime=False, follow_release=True)
    try:
        yield plan, info
    finally:
        daemon.stop(tmp_path / "sandbox")


def test_rehearse_resumed_with_an_edited_plan_exits_2_then_goes_on_when_accepted(
        world: tuple[Path, SandboxInfo]) -> None:
    plan_path, info = world
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GOLIVE_", "AWS_"))}

    def rehearse(*extra: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([str(GOLIVE), "-f", str(plan_path), "rehearse", "--sandbox", str(info.state_dir),
                               "--env", ENV, *extra], check=False, capture_output=True, text=True, env=env,
                              timeout=600)

    first = rehearse("--until", "gate")
    assert "Traceback" not in first.stderr, first.stderr[-2000:]
    data = yaml.safe_load(plan_path.read_text(encoding="utf-8"))
    for project in data["projects"].values():
        canary = (project.get("rollout") or {}).get("lambda_canary")
        if canary:
            canary["steps"][0]["bake"] = "4m"
    plan_path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")

    refused = rehearse()
    errors = [line for line in refused.stderr.splitlines() if line.startswith("golive: error:")]
    assert refused.returncode == 2 and len(errors) == 1 and "Traceback" not in refused.stderr, refused.stderr[-2000:]
    assert "the plan changed since release run" in errors[0]
    for key in ("canary.product_lambda (steps)", "canary.order_lambda (steps)", "canary.campaigns_lambda (steps)"):
        assert key in errors[0], errors[0]

    accepted = rehearse("--accept-plan-change", "--why", "bakes of 4 minutes, agreed with the on-call")
    assert accepted.returncode == 0, (accepted.stdout[-2000:], accepted.stderr[-2000:])
    store = Store.open(f"sqlite:///{info.state_dir / 'rehearsal.db'}")
    try:
        (run,) = store.runs(kind="release")
        assert run.status == "succeeded"
        # The edit is to the Lambda canaries' bakes; the site's CloudFront canary keeps its own.
        canaries = [s for s in store.steps(run.id) if s.kind == "canary" and not s.params.get("cloudfront")]
        assert canaries and all(s.params["steps"][0]["bake_s"] == 240.0 for s in canaries)
        lambdas = {s.params["project"] for s in canaries}
        shifts = [e for e in store.events(run_id=run.id, kind="canary") if e.outcome == "shifted" and e.subject in lambdas]
        assert shifts and all(e.data["bake_s"] in (240.0, 180.0) for e in shifts)
        assert {e.data["bake_s"] for e in shifts if e.data["weight"] == 10.0} == {240.0}
        text = render_markdown(build(store, run.id, run.release))
        assert "## Plan changes accepted" in text and "bakes of 4 minutes, agreed with the on-call" in text
    finally:
        store.close()

# The module-scoped fixture is built once: every test of this module runs on one xdist worker.
pytestmark = pytest.mark.xdist_group("plan_change")
