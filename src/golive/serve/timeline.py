"""The release on a time axis, for the page: each phase (and each batch) as a bar, windows as spans, the team's zone.

Built from the stored runs and their steps only (a run keeps what it needs of its plan in ``meta["plan"]``:
``golive.runs.release.plan_facts``), so ``golive serve`` draws the same timeline with or without ``-f``.
A bar runs from its first step's start to its last step's end (to "now" while a step is still open); a
phase not yet begun has no bar, and the page says so. Windows come from the run's ``window`` steps.
Times are ISO 8601 in UTC; the page prints them in the plan's zone with the abbreviations listed here
(``SAST``), which a browser's own formatter does not know for most zones.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, tzinfo
from typing import Any

from golive import schedule
from golive.plan.model import Plan, Window
from golive.store.statuses import StepStatus
from golive.store.store import Run, Step, Store

_OPEN = {StepStatus.RUNNING, StepStatus.WAITING, StepStatus.COMPENSATING}


def _utc(at: datetime) -> datetime:
    return at if at.tzinfo else at.replace(tzinfo=UTC)


def zone_name(store: Store, plan: Plan | None, release: str) -> str | None:
    """The plan's zone: the loaded plan's when it is this release's, else the latest run's recorded one."""
    if plan is not None and plan.release == release:
        return plan.timezone
    for run in reversed(store.runs(release)):
        facts = run.meta.get("plan")
        if isinstance(facts, dict) and "timezone" in facts:
            return str(facts["timezone"]) if facts["timezone"] else None
    return None


def abbreviations(tz: tzinfo, instants: list[datetime]) -> dict[str, str]:
    """Each UTC offset (in minutes, as text) the zone has at these instants, with its abbreviation."""
    found: dict[str, str] = {}
    for at in instants:
        local = _utc(at).astimezone(tz)
        offset = local.utcoffset() or timedelta(0)
        found[str(int(offset.total_seconds() // 60))] = local.tzname() or "UTC"
    return found


def _bar(label: str, steps: list[Step], now: datetime | None) -> dict[str, Any]:
    """``now`` is None for a run that has ended: its bars end with its last step, whatever stayed pending."""
    starts = [_utc(s.started_at) for s in steps if s.started_at]
    ends = [_utc(s.ended_at) for s in steps if s.ended_at]
    statuses = {s.status for s in steps}
    still_open = now is not None and (bool(statuses & _OPEN) or (bool(starts) and StepStatus.PENDING in statuses))
    if StepStatus.FAILED in statuses:
        status = StepStatus.FAILED
    elif statuses <= {StepStatus.DONE, StepStatus.SKIPPED}:
        status = StepStatus.DONE
    elif StepStatus.WAITING in statuses and not statuses & {StepStatus.RUNNING, StepStatus.COMPENSATING}:
        status = StepStatus.WAITING
    elif starts:
        status = StepStatus.RUNNING
    elif StepStatus.CANCELLED in statuses:
        status = StepStatus.CANCELLED
    else:
        status = StepStatus.PENDING
    start = min(starts) if starts else None
    end = now if still_open and now is not None and start is not None else (max(ends) if ends else start)
    due = [_utc(s.due_at) for s in steps if s.due_at and s.status == StepStatus.WAITING]
    return {"label": label, "status": status, "start": start.isoformat() if start else None,
            "end": end.isoformat() if end else None, "due": min(due).isoformat() if due else None,
            "steps": len(steps), "done": sum(s.status == StepStatus.DONE for s in steps)}


def _label(phase: str, group: str) -> str:
    for prefix, what in (("batch.", "batch"), ("dr.", "DR batch")):
        if group.startswith(prefix):
            return f"{what} {group.removeprefix(prefix)}"
    return phase.replace("_", " ")


def _windows(steps: list[Step], now: datetime) -> list[dict[str, Any]]:
    spans: list[dict[str, Any]] = []
    for step in steps:
        if step.kind != "window":
            continue
        p = step.params
        try:
            window = Window.model_validate({"start": p["start"], "end": p["end"], "days": p.get("days")})
            occurrences = window.spans(schedule.zone(p.get("timezone")), now)
        except (KeyError, ValueError):
            continue
        spans += [{"label": str(p.get("what") or step.title), "start": s.start.isoformat(), "end": s.end.isoformat()}
                  for s in occurrences]
    return spans


def run_timeline(run: Run, steps: list[Step], now: datetime) -> dict[str, Any]:
    """One run's bars (a row per phase, and per batch inside the deploy and DR phases) and its windows."""
    rows: dict[str, list[Step]] = {}
    for step in steps:
        if step.kind == "window":
            continue
        grouped = step.group.startswith(("batch.", "dr."))
        rows.setdefault(_label(step.phase, step.group if grouped else ""), []).append(step)
    bars = [_bar(label, group, now if run.active else None) for label, group in rows.items()]
    return {"run": run.id, "env": run.env, "kind": run.kind, "status": run.status, "bars": bars,
            "windows": _windows(steps, now)}


def instants(timelines: list[dict[str, Any]]) -> list[datetime]:
    """Every instant a timeline shows (for the zone's abbreviations)."""
    found: list[datetime] = []
    for line in timelines:
        for item in [*line["bars"], *line["windows"]]:
            found += [datetime.fromisoformat(item[k]) for k in ("start", "end") if item.get(k)]
    return found
