"""Where a release stands: its runs, their phases and steps, and what is due when.

A view of the store, nothing more: ``golive status`` renders it, ``--json``
prints it. "Due" is said the way a person reads a schedule: "checkpoint 4
of 8 due 14:00, in 5 h 55 min". Each canary of a run shows its current
weight and its last verdict, read from the run's canary and rollback events.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from golive import schedule
from golive.analysis.units import human_duration
from golive.evidence import Record, read
from golive.evidence.canary import CanaryAnalysis, CanaryPromoted, CanaryRecord, CanaryShifted
from golive.evidence.rollback import RollbackRecord
from golive.store.statuses import StepStatus
from golive.store.store import Event, Run, Step, Store


@dataclass(frozen=True)
class DueItem:
    step: str
    title: str
    due_at: datetime | None
    reason: str


def _due_text(item: DueItem, now: datetime) -> str:
    if item.due_at is None:
        return f"{item.title}: {item.reason}"
    delta = item.due_at - now
    when = schedule.local(item.due_at, fmt="%H:%M" if delta.total_seconds() < 86400 else "%b %d %H:%M")
    if delta.total_seconds() <= 0:
        return f"{item.title} due {when} (now)"
    return f"{item.title} due {when}, in {human_duration(delta)}"


def _failed_verdict(step: Step) -> bool:
    """A step that ended (done) on a failing verdict: a soak checkpoint or soak verdict inside a release run.

    Such steps are done, not failed, so the run can carry on to its decision; their phase still failed.
    """
    result = step.result or {}
    return step.status == StepStatus.DONE and bool(result.get("failed_at") or result.get("failures"))


def _phases(steps: list[Step]) -> list[dict[str, Any]]:
    phases: dict[str, dict[str, Any]] = {}
    for step in steps:
        phase = phases.setdefault(step.phase, {"phase": step.phase, "steps": [], "status": StepStatus.PENDING})
        phase["steps"].append({
            "key": step.key, "title": step.title, "status": step.status,
            "due_at": step.due_at.isoformat() if step.due_at else None, "wait_reason": step.wait_reason,
            "summary": (step.result or {}).get("summary") or (step.result or {}).get("reason"),
            "failed_verdict": _failed_verdict(step),
        })
    for phase in phases.values():
        statuses = {s["status"] for s in phase["steps"]}
        if StepStatus.FAILED in statuses or any(s["failed_verdict"] for s in phase["steps"]):
            phase["status"] = StepStatus.FAILED
        elif statuses <= {StepStatus.DONE, StepStatus.SKIPPED}:
            phase["status"] = StepStatus.DONE
        elif statuses <= {StepStatus.CANCELLED, StepStatus.PENDING} and StepStatus.CANCELLED in statuses:
            phase["status"] = StepStatus.CANCELLED
        elif statuses & {StepStatus.RUNNING, StepStatus.WAITING, StepStatus.COMPENSATING} or StepStatus.DONE in statuses:
            phase["status"] = StepStatus.RUNNING
    return list(phases.values())


def canaries(events: list[Event]) -> list[dict[str, Any]]:
    """Each canary's current weight and last verdict, from a run's canary and rollback records in order."""
    seen: dict[str, dict[str, Any]] = {}
    for e in read(events, Record):
        record = e.record
        if not isinstance(record, CanaryRecord | RollbackRecord):
            continue
        project = record.project or record.subject
        view = seen.setdefault(project, {"project": project, "weight": 0.0, "verdict": None, "reason": None,
                                         "verdict_at": None})
        if isinstance(record, RollbackRecord):
            view.update(weight=0.0, verdict="rolled_back", reason=record.reason, verdict_at=e.at.isoformat())
        elif isinstance(record, CanaryShifted | CanaryPromoted) and record.weight is not None:
            view["weight"] = record.weight
        elif isinstance(record, CanaryAnalysis):
            view.update(verdict=record.verdict, reason=record.reason, verdict_at=e.at.isoformat())
            if record.weight is not None:
                view["weight"] = record.weight
    return list(seen.values())


def run_status(store: Store, run: Run, now: datetime) -> dict[str, Any]:
    steps = store.steps(run.id)
    due = [DueItem(s.key, s.title, s.due_at, s.wait_reason or "") for s in steps if s.status == StepStatus.WAITING]
    if not due and run.active:
        nxt = next((s for s in steps if s.status == StepStatus.PENDING), None)
        if nxt is not None:
            due = [DueItem(nxt.key, nxt.title, None, "next")]
    return {
        "run": run.id, "release": run.release, "env": run.env, "kind": run.kind, "status": run.status,
        "reason": run.reason, "created_at": run.created_at.isoformat(),
        "ended_at": run.ended_at.isoformat() if run.ended_at else None,
        "steps_done": sum(s.status == StepStatus.DONE for s in steps), "steps_total": len(steps),
        "phases": _phases(steps),
        "canaries": canaries(sorted(store.events(run_id=run.id, kind="canary") + store.events(run_id=run.id, kind="rollback"),
                                    key=lambda e: e.id)),
        "due": [_due_text(d, now) for d in due],
    }


def release_status(store: Store, release: str, now: datetime, env: str | None = None) -> dict[str, Any]:
    """The latest run of each (environment, kind) of a release."""
    latest: dict[tuple[str, str], Run] = {}
    for run in store.runs(release, env):
        latest[(run.env, run.kind)] = run
    incidents = [
        {"id": i.id, "severity": i.severity, "title": i.title, "env": i.env, "opened_at": i.opened_at.isoformat()}
        for i in store.incidents(release, open_only=True)
    ]
    return {
        "release": release, "now": now.isoformat(),
        "runs": [run_status(store, run, now) for run in latest.values()],
        "open_incidents": incidents,
    }
