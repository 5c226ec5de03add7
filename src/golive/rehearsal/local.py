"""``golive rehearse``: the whole release, against the sandbox, on a virtual clock.

The rehearsal starts a ``SandboxWorld`` from the plan (its ``sandbox:``
section sets the day's state: missing secrets, the order DLQ alarm already
firing, traffic), then drives the very same ``golive run`` engine against
it, as fast as the work allows (or at ``--speed`` virtual seconds per wall
second). Approvals are granted by the rehearsal and recorded as such.
Faults (``--inject``) land at their anchors: the run start (``@30h``), a
phase (``@deploy``), a batch (``@apis``). Each rehearsal starts from a fresh
store in its folder, keeping only the Terraform plan approvals of the one
before (``golive --db sqlite:///FOLDER/rehearsal.db approve GATE --plan-sha
SHA``): they name a plan's hash, so the same plan made again is approved. At the end the report is written
(HTML and Markdown) and a summary says what happened and how long it took,
in virtual and in wall time. The exit code is the one a real run would end
with.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

from golive import schedule
from golive.clock import Clock, Listener, VirtualClock
from golive.engine.approver import AutoApprover
from golive.engine.context import Services
from golive.errors import GoliveError
from golive.evidence.terraform import PlanApproval, TerraformPlanSummary, approving
from golive.plan.model import Plan
from golive.redact import Redactor
from golive.runs import session
from golive.runs.incidents import IncidentInput, open_incident
from golive.runs.status import run_status
from golive.sandbox.faults import ResolvedFault
from golive.sandbox.from_plan import check_plan_faults
from golive.sandbox.world import SandboxWorld
from golive.steps.canary_inconclusive import PAUSED
from golive.store.statuses import RunStatus, exit_code_of
from golive.store.store import Store

Notify = Callable[[str, dict[str, Any]], None]
Anchor = Callable[[str, datetime], None]


class PacedClock:
    """A virtual clock that takes ``1/speed`` wall seconds per virtual second, so a person can watch."""

    def __init__(self, clock: VirtualClock, speed: float) -> None:
        self.clock = clock
        self.speed = speed

    def now(self) -> datetime:
        return self.clock.now()

    def sleep_until(self, when: datetime) -> None:
        delta = (when - self.clock.now()).total_seconds()
        if delta > 0:
            time.sleep(delta / self.speed)
        self.clock.sleep_until(when)


class PausingClock:
    """A rehearsal's clock that slows to ``speed`` virtual seconds per wall second while a canary is paused.

    A paused canary waits for a person (``golive promote --why`` or ``golive abort``, from another terminal, on
    the rehearsal's store); a virtual clock would pass its ``pause_timeout`` before anyone could type. Outside
    pauses the clock runs as ``clock`` does (as fast as the work allows, or paced).
    """

    CHUNK_S = 0.5  # wall seconds between looks at whether the pause is still on

    def __init__(self, clock: Clock, speed: float, paused: Callable[[], bool]) -> None:
        self.clock = clock
        self.speed = speed
        self.paused = paused

    def now(self) -> datetime:
        return self.clock.now()

    def sleep_until(self, when: datetime) -> None:
        while self.clock.now() < when and self.paused():
            step = min(when, self.clock.now() + timedelta(seconds=self.CHUNK_S * self.speed))
            time.sleep(self.CHUNK_S)
            self.clock.sleep_until(step)
        self.clock.sleep_until(when)


def canary_paused(store: Store, release: str, env: str) -> bool:
    """A canary of the release's active run is paused, waiting for an operator."""
    run = store.active_run(release, env, "release")
    return run is not None and any(s.kind == "canary" and s.state.get("phase") == PAUSED and s.ended_at is None
                                   for s in store.steps(run.id))


@dataclass
class Rehearsal:
    run_id: int
    status: str
    reason: str | None
    summary: dict[str, Any]
    reports: dict[str, str] = field(default_factory=dict)

    @property
    def exit_code(self) -> int:
        return exit_code_of(self.status)


def step_anchors(phase: str, group: str) -> list[str]:
    """The fault anchors a step's start places: its phase, and its batch (``@apis``) or DR batch."""
    names = [phase]
    if group.startswith(("batch.", "dr.")):
        names.append(group.split(".", 1)[1])
    return names


def anchoring(anchor: Anchor, clock: Clock, notify: Notify | None) -> Notify:
    """The engine's notify hook of a rehearsal: place anchors as steps start, then pass the event on."""
    def on_event(kind: str, data: dict[str, Any]) -> None:
        if kind == "step_started":
            now = clock.now()
            for name in step_anchors(str(data.get("phase")), str(data.get("group", ""))):
                anchor(name, now)
        if notify is not None:
            notify(kind, {**data, "virtual_now": clock.now()})
    return on_event


def placed_anchors(store: Store, run_id: int) -> dict[str, datetime]:
    """The anchors a run's started steps placed, from the store (what a resumed runner sends again)."""
    anchors: dict[str, datetime] = {}
    for step in store.steps(run_id):
        if step.started_at is None:
            continue
        for name in step_anchors(step.phase, step.group):
            if name not in anchors or step.started_at < anchors[name]:
                anchors[name] = step.started_at
    return anchors


def incident_opener(resolved: Callable[[], Sequence[ResolvedFault]], store: Store, plan: Plan,
                    env: str) -> Listener:
    """A clock listener that opens each injected incident once its time comes.

    Once means once per store: the incident's title says which fault it came from, so a runner killed
    and started again does not open it twice.
    """
    scopes = {b.name for b in plan.batches} | set(plan.projects)

    def listener(_old: datetime, new: datetime) -> None:
        due = [f for f in resolved() if f.kind == "incident" and (f.start is None or f.start <= new)]
        if not due:
            return
        known = {i.title for i in store.incidents(plan.release)}
        for fault in due:
            title = f"injected: {fault.fault.text}"
            if title in known:
                continue
            known.add(title)
            scope = fault.fault.target if fault.fault.target in scopes else None
            open_incident(store, plan, IncidentInput(severity=fault.fault.severity or "P0", title=title, env=env,
                                                     scope=scope, source="rehearsal"), new, by="rehearsal")
    return listener


def summarize(store: Store, run_id: int, started: datetime, ended: datetime, wall: float) -> dict[str, Any]:
    run = store.get_run(run_id)
    events = store.events(release=run.release)
    phases = {p["phase"]: p["status"] for p in run_status(store, run, ended)["phases"]}
    checkpoints = [e for e in events if e.kind == "checkpoint"]
    return {
        "run": run_id, "status": run.status, "reason": run.reason,
        "phases": phases,
        "checkpoints": {"evaluated": sum(e.outcome in ("pass", "fail") for e in checkpoints),
                        "passed": sum(e.outcome == "pass" for e in checkpoints),
                        "failed": [f"{e.subject}: {'; '.join(e.data.get('failures', []))}" for e in checkpoints
                                   if e.outcome == "fail"]},
        "decisions": [f"{e.subject}: {e.outcome}" + (f" ({'; '.join(e.data.get('reasons', []))})"
                                                    if e.data.get("reasons") else "")
                      for e in events if e.kind == "gate"],
        # Canaries put back and projects undone (a dependent redeployed at its previous tag), in the order done.
        "rollbacks": [{"project": e.subject, "seconds": e.data.get("seconds"),
                       "reason": e.data.get("reason") if e.kind == "rollback" else
                       f"undo: {e.data.get('reason')}" + (f"; {e.data['verify']}" if e.data.get("verify") else "")}
                      for e in events if (e.kind, e.outcome) in (("rollback", "rolled_back"), ("undo", "undone"))],
        "canaries": [f"{e.subject}: {e.outcome}" for e in events if e.kind == "canary" and e.outcome == "promoted"],
        "terraform_plans": [f"{e.subject}: {e.data.get('summary', '')}" for e in events if e.kind == "terraform_plan"],
        "terraform_unapproved": _unapproved(store, run.release),
        "availability": [{"url": e.subject, **e.data} for e in events if e.kind == "availability"],
        "virtual": {"start": started.isoformat(), "end": ended.isoformat(),
                    "hours": round((ended - started).total_seconds() / 3600, 2)},
        "wall_seconds": round(wall, 2),
    }


def rehearse(plan: Plan, plan_dir: Path, env: str, *, faults: Sequence[str] = (), seed: int = 7,
             until: str | None = None, speed: float | None = None, pause_speed: float | None = None, out_dir: Path,
             notify: Notify | None = None) -> Rehearsal:
    """The release rehearsed in this process. ``pause_speed``: while a canary is paused, virtual time runs at that
    many virtual seconds per wall second, so an operator can answer it (``golive --db STORE promote``)."""
    with schedule.shown_in(plan.tz):
        return _rehearse(plan, plan_dir, env, faults=faults, seed=seed, until=until, speed=speed,
                         pause_speed=pause_speed, out_dir=out_dir, notify=notify)


def _rehearse(plan: Plan, plan_dir: Path, env: str, *, faults: Sequence[str], seed: int, until: str | None,
              speed: float | None, pause_speed: float | None, out_dir: Path, notify: Notify | None) -> Rehearsal:
    wall = time.perf_counter()
    check_plan_faults(plan, faults)
    world = SandboxWorld(plan, env, seed_value=seed, faults=faults, follow_release=True)
    out_dir.mkdir(parents=True, exist_ok=True)
    db = out_dir / "rehearsal.db"
    kept = _plan_approvals(db, plan.release)
    for leftover in (db, db.with_suffix(".db-wal"), db.with_suffix(".db-shm")):
        leftover.unlink(missing_ok=True)
    # moto's backends belong to the process: without this, a second rehearsal in one process would read the
    # first one's metrics (same virtual instants) as its own.
    world.moto.reset()
    world.start()
    store = Store.open(f"sqlite:///{db}")
    try:
        for approval, approval_env, at in kept:
            store.append_record(approval, release=plan.release, env=approval_env, at=at)
        started = world.clock.now()
        clock: Clock = world.clock if speed is None else PacedClock(world.clock, speed)
        if pause_speed is not None:
            clock = PausingClock(clock, pause_speed, lambda: canary_paused(store, plan.release, env))
        redact = Redactor()
        services = Services(plan=world.plan, store=store, clock=clock, aws_for=world.aws, github=world.github(),
                            http=httpx.Client(timeout=5.0), redact=redact, rehearsal=True, approver=AutoApprover(),
                            extras={"workdir": str(plan_dir), "deploy_effect": world.command_deployed})

        services.notify = anchoring(world.anchor, world.clock, notify)
        world.clock.on_advance(incident_opener(world.resolved_faults, store, world.plan, env))
        driven = session.release(services, env, wait_external=False, until_phase=until)
        run = driven.run
        status = run.status
        if until is not None and RunStatus(status).active:
            status = RunStatus.STOPPED
        summary = summarize(store, run.id, started, world.clock.now(), time.perf_counter() - wall)
        summary["status"] = status
        counts = world.counts()
        summary["dispatches"] = {"workflows": len(counts["dispatches"]), "runs": counts["runs"],
                                 "per_repo": counts["dispatches"], "refs_per_repo": counts["refs"]}
        if counts["plan_dispatches"]:
            summary["dispatches"]["plans_per_repo"] = counts["plan_dispatches"]
        reports = _write_reports(store, run.id, plan.release, out_dir, redact)
        return Rehearsal(run.id, status, run.reason, summary, reports)
    finally:
        store.close()
        world.stop()


def _unapproved(store: Store, release: str) -> list[dict[str, str]]:
    """The recorded plans that lose data and whose approver has not approved their hash: what a NO-GO waits for."""
    approvals = [e.record for e in store.records(PlanApproval, release=release)]
    out: dict[str, dict[str, str]] = {}
    for e in store.records(TerraformPlanSummary, release=release):
        plan = e.record
        if plan.changes_data and not approving(plan, approvals):
            out[plan.sha256] = {"project": plan.project, "sha256": plan.sha256, "approver": plan.approver,
                                "env": e.env}
    return list(out.values())


def _plan_approvals(db: Path, release: str) -> list[tuple[PlanApproval, str, datetime]]:
    """The Terraform plan approvals a previous rehearsal's store in this folder holds: a rehearsal starts from a
    fresh store, but an approval names a plan's hash, not a run, so it holds for the same plan made again."""
    if not db.exists():
        return []
    try:
        old = Store.open(f"sqlite:///{db}")
    except GoliveError:
        return []  # not a store golive can read: nothing to keep
    try:
        return [(e.record, e.env, e.at) for e in old.records(PlanApproval, release=release)]
    finally:
        old.close()


def _write_reports(store: Store, run_id: int, release: str, out_dir: Path, redact: Redactor) -> dict[str, str]:
    from golive.report import render_many

    names = {"html": "report.html", "md": "report.md", "json": "report.json"}
    paths = {}
    for fmt, text in render_many(store, run_id, release, tuple(names), redact=redact).items():
        path = out_dir / names[fmt]
        path.write_text(text, encoding="utf-8")
        paths[fmt] = str(path)
    return paths

