"""What the page shows, read from the store: the one place ``golive serve`` reads release records.

Every view is built from the stored runs, steps and events (the evidence the
engine wrote), so the page tells exactly what ``golive status`` and the
report tell. Events are read as typed records (golive.evidence).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa

from golive.errors import GoliveError
from golive.evidence import read
from golive.evidence.canary import CanaryAnalysis, CanaryPromoted, CanaryRecord, CanaryShifted
from golive.evidence.gates import GateDecisionRecord
from golive.evidence.rollback import RollbackRecord, RolledBack
from golive.evidence.runs import Checkpoint, WebAction
from golive.plan.model import Plan
from golive.runs.status import release_status
from golive.steps.gate import evaluate_gate
from golive.store import tables as t
from golive.store.store import Event, Store


def latest_event_id(store: Store) -> int:
    """A cursor that moves whenever anything is recorded (the SSE stream's change signal)."""
    with store.tx() as conn:
        last = conn.execute(sa.select(sa.func.max(t.events.c.id))).scalar()
        updated = conn.execute(sa.select(sa.func.max(t.runs.c.updated_at))).scalar()
    return int(last or 0) + (int(updated.timestamp()) if updated else 0)


def recorded_now(store: Store, release: str, wall: datetime) -> datetime:
    """The release's own "now": the latest instant its runs recorded, the wall clock when it has no run.

    A rehearsal's store runs on a virtual clock (days ahead of, or months
    behind, the wall clock), so its gates are evaluated as of the run's clock,
    not the server's: a preflight the run took a virtual minute ago is fresh.
    Only what the engine wrote counts (the runs and their events, which carry
    a run id); an approval or a page action is stamped with the wall clock and
    would drag a virtual run's "now" months away.
    """
    with store.tx() as conn:
        instants = [
            conn.execute(sa.select(sa.func.max(t.events.c.at)).where(
                t.events.c.release == release, t.events.c.run_id.is_not(None))).scalar(),
            conn.execute(sa.select(sa.func.max(t.runs.c.updated_at)).where(t.runs.c.release == release)).scalar(),
        ]
    known = [i if i.tzinfo else i.replace(tzinfo=UTC) for i in instants if i is not None]
    return max(known) if known else wall


def releases(store: Store) -> list[dict[str, Any]]:
    seen: dict[str, dict[str, Any]] = {}
    for run in store.runs():
        seen[run.release] = {"release": run.release, "env": run.env, "kind": run.kind, "status": run.status,
                             "updated_at": run.updated_at.isoformat(), "run": run.id}
    return list(seen.values())


def _canaries(events: list[Event]) -> dict[str, dict[str, Any]]:
    canaries: dict[str, dict[str, Any]] = {}
    for e in read(events, CanaryRecord):
        r = e.record
        # One chart per canary step: a project canaried in two regions has two steps under one subject.
        key = e.step_key or r.subject
        c = canaries.setdefault(key, {"project": r.subject, "step": key, "weights": [], "analyses": [],
                                      "weight": 0.0, "state": "pending"})
        if isinstance(r, CanaryShifted | CanaryPromoted) and r.weight is not None:
            c["weights"].append({"at": e.at.isoformat(), "weight": r.weight})
            c["weight"] = r.weight
            c["state"] = r.outcome
        elif isinstance(r, CanaryAnalysis):
            _series_of_analysis(c, e.at.isoformat(), r)
            c["analyses"].append({"at": e.at.isoformat(), "verdict": r.verdict, "reason": r.reason,
                                  "weight": c["weight"],
                                  "triggers": [{"criterion": tr.get("criterion") or tr.get("text"),
                                                "value": tr.get("value"), "threshold": tr.get("threshold"),
                                                "message": tr.get("message")} for tr in r.triggers or ()],
                                  "judgement": r.judgement})
    for b in read(events, RolledBack):
        key = b.step_key or b.record.subject
        if key in canaries:
            canaries[key]["weights"].append({"at": b.at.isoformat(), "weight": 0.0})
            canaries[key].update(weight=0.0, state="rolled_back")
    return canaries


def _relative(result: dict[str, Any], key: str) -> float | None:
    """A judge's effect as canary against stable in percent: a count's rate ratio, a continuous metric's shift."""
    value = result.get(key)
    if not isinstance(value, int | float):
        return None
    return (value - 1.0) * 100 if "Poisson" in str(result.get("test", "")) else value * 100


def _series_of_analysis(canary: dict[str, Any], at: str, r: CanaryAnalysis) -> None:
    """Each analysis as points: every trigger's value against its threshold, every judged metric canary vs stable."""
    for tr in r.triggers or ():
        if isinstance(tr, dict) and isinstance(tr.get("value"), int | float):
            name = str(tr.get("criterion") or tr.get("text"))
            canary.setdefault("triggers", {}).setdefault(name, []).append(
                {"at": at, "value": tr["value"], "threshold": tr.get("threshold")})
    judgement = r.judgement
    worst: dict[str, dict[str, Any]] = {}  # per metric, the function whose canary fares worst against its stable
    for result in judgement.get("results", []) if judgement is not None else []:
        value = _relative(result, "effect") if isinstance(result, dict) else None
        if value is None:
            continue
        metric = str(result.get("metric"))
        if metric not in worst or value > worst[metric]["value"]:
            worst[metric] = {"at": at, "value": value, "low": _relative(result, "low"),
                             "high": _relative(result, "high"), "outcome": result.get("outcome"),
                             "scope": result.get("scope"), "n_canary": result.get("n_canary"),
                             "n_stable": result.get("n_stable")}
    for metric, point in worst.items():
        canary.setdefault("versus", {}).setdefault(metric, []).append(point)


def _checkpoint_series(events: list[Event]) -> dict[str, list[dict[str, Any]]]:
    """Each soak criterion's measured value at every checkpoint, for the checkpoint charts."""
    series: dict[str, list[dict[str, Any]]] = {}
    for p in read(events, Checkpoint):
        for c in p.record.criteria:
            if isinstance(c, dict) and isinstance(c.get("value"), int | float):
                series.setdefault(str(c.get("criterion") or c.get("text")), []).append(
                    {"at": p.at.isoformat(), "value": c["value"], "outcome": c.get("outcome")})
    return series


def _gates(store: Store, plan: Plan | None, release: str, events: list[Event], now: datetime) -> list[dict[str, Any]]:
    decided = [{"gate": e.record.subject, "env": e.env, "at": e.at.isoformat(), "verdict": e.record.outcome,
                "reasons": list(e.record.reasons), "items": list(e.record.items), "live": False}
               for e in read(events, GateDecisionRecord)]
    live: list[dict[str, Any]] = []
    if plan is not None and plan.release == release:
        for name, spec in plan.gates.items():
            try:
                decision = evaluate_gate(store, plan, name, spec.env or "prod", now)
            except GoliveError:
                continue
            live.append({**decision.to_dict(), "at": now.isoformat(), "live": True,
                         "items": [i.to_dict() | {"ok": i.ok} for i in decision.items],
                         "reasons": [f"{i.name}: {i.detail}" for i in decision.items if not i.ok]})
    return live + decided


def release_view(store: Store, plan: Plan | None, release: str, now: datetime) -> dict[str, Any]:
    """Everything the release page shows, as one JSON document."""
    events = store.events(release=release)
    status = release_status(store, release, now)
    envs = sorted({e.env for e in events} | {r["env"] for r in status["runs"]})
    approvals = [{"gate": a.gate, "env": a.env, "by": a.by, "role": a.role, "note": a.note, "at": a.at.isoformat(),
                  "rehearsal": a.rehearsal} for env in envs for a in store.approvals(release, env)]
    return {
        **status,
        "batches": _batches(plan, release),
        "canaries": list(_canaries(events).values()),
        "checkpoints": [{"subject": p.record.subject, "at": p.at.isoformat(), "outcome": p.record.outcome,
                         "failures": list(p.record.failures),
                         "criteria": [{"text": c.get("criterion") or c.get("text"), "value": c.get("value"),
                                       "outcome": c.get("outcome")} for c in p.record.criteria
                                      if isinstance(c, dict)]}
                        for p in read(events, Checkpoint)],
        "checkpoint_series": _checkpoint_series(events),
        "gates": _gates(store, plan, release, events, now),
        "incidents": [{"id": i.id, "severity": i.severity, "title": i.title, "status": i.status, "env": i.env,
                       "opened_at": i.opened_at.isoformat(),
                       "resolved_at": i.resolved_at.isoformat() if i.resolved_at else None}
                      for i in store.incidents(release)],
        "approvals": approvals,
        "rollbacks": [{"project": b.record.subject, "at": b.at.isoformat(), "outcome": b.record.outcome,
                       "reason": b.record.reason, "seconds": _seconds(b.record)}
                      for b in read(events, RollbackRecord)],
        "actions": [{"at": a.at.isoformat(), "action": a.record.subject, "by": a.record.by, "from": a.record.source,
                     "outcome": a.record.outcome} for a in read(events, WebAction)],
    }


def _seconds(record: RollbackRecord) -> float | None:
    return (record.seconds or record.alias_seconds) if isinstance(record, RolledBack) else None


def _batches(plan: Plan | None, release: str) -> list[dict[str, Any]]:
    if plan is None or plan.release != release:
        return []
    return [{"name": b.name, "projects": list(b.projects)} for b in plan.batches]


def trim(value: Any, text_max: int, items_max: int) -> Any:
    """The document with every string cut to ``text_max`` characters and every list to its last ``items_max``
    entries, so one huge record (a 20 MB title) cannot make every fetch of the release huge."""
    if isinstance(value, str):
        if len(value) <= text_max:
            return value
        return value[:text_max] + f"… ({len(value) - text_max:,} characters not shown)"
    if isinstance(value, list):
        return [trim(v, text_max, items_max) for v in value[-items_max:]]
    if isinstance(value, dict):
        return {k: trim(v, text_max, items_max) for k, v in value.items()}
    return value
