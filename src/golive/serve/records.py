"""What the page shows, read from the store: the one place ``golive serve`` reads release records.

Every view is built from the stored runs, steps and events (the evidence the
engine wrote), so the page tells exactly what ``golive status`` and the
report tell. Events are read as typed records (golive.evidence).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa

from golive import schedule
from golive.analysis.criteria import Unit, parse_criterion
from golive.errors import GoliveError
from golive.evidence import Record, read
from golive.evidence.canary import CanaryAnalysis, CanaryPromoted, CanaryRecord, CanaryShifted
from golive.evidence.gates import GateDecisionRecord
from golive.evidence.plan_change import PlanChangeAccepted
from golive.evidence.rollback import RollbackRecord, RolledBack
from golive.evidence.runs import Checkpoint, WebAction
from golive.plan.model import Plan
from golive.report.model import overrides_of
from golive.runs.release import plan_facts
from golive.runs.status import release_status
from golive.serve.timeline import abbreviations, instants, run_timeline, zone_name
from golive.steps.gate import Decision, GateParams, decide, evaluate_gate
from golive.store import tables as t
from golive.store.statuses import StepStatus
from golive.store.store import Event, Run, Step, Store


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


def _plain_name(params: dict[str, Any], fallback: str) -> str:
    """``product_lambda (DR, eu-west-1)``: the project, and where, as the canary step's parameters say."""
    project = str(params.get("project") or fallback)
    region = params.get("region")
    dr = params.get("primary") is False or fallback.endswith("@dr")
    where = ", ".join(w for w in ("DR" if dr else "", str(region or "")) if w)
    return f"{project} ({where})" if where else project


def _canary_card(key: str, project: str, step: Step | None) -> dict[str, Any]:
    params = step.params if step else {}
    state = step.state if step else {}
    planned = [float(s.get("weight", 0)) for s in params.get("steps", []) if isinstance(s, dict)]
    index = state.get("index")
    return {"project": project, "step": key, "name": _plain_name({"project": project, **params}, key),
            "weights": [], "analyses": [], "weight": 0.0, "state": StepStatus.PENDING, "planned": planned,
            "n": int(index) + 1 if isinstance(index, int) else None, "m": len(planned) or None,
            "phase": state.get("phase"), "step_status": step.status if step else None,
            "bake_until": state.get("bake_until"), "due_at": step.due_at.isoformat() if step and step.due_at else None,
            "wait_reason": step.wait_reason if step else None}


def _canaries(events: list[Event], steps: list[Step]) -> dict[str, dict[str, Any]]:
    canaries: dict[str, dict[str, Any]] = {}
    by_key = {s.key: s for s in steps if s.kind == "canary"}
    for e in read(events, CanaryRecord):
        r = e.record
        # One chart per canary step: a project canaried in two regions has two steps under one subject.
        key = e.step_key or r.subject
        c = canaries.get(key) or canaries.setdefault(key, _canary_card(key, r.subject, by_key.get(key)))
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
                                                "unit": _unit(tr.get("criterion") or tr.get("text")),
                                                "message": tr.get("message")} for tr in r.triggers or ()],
                                  "judgement": r.judgement})
    for b in read(events, RolledBack):
        key = b.step_key or b.record.subject
        if key in canaries:
            canaries[key]["weights"].append({"at": b.at.isoformat(), "weight": 0.0})
            canaries[key].update(weight=0.0, state="rolled_back")
    for key, step in by_key.items():  # a canary step of the latest run not begun yet: a line, not a chart
        canaries.setdefault(key, _canary_card(key, str(step.params.get("project") or key), step))
    return canaries


def _unit(text: object) -> str:
    """How a criterion's values read (``fraction``: a percentage, ``seconds``: a duration), from its text."""
    criterion = text.get("text") if isinstance(text, dict) else text
    try:
        return parse_criterion(str(criterion)).unit.value
    except ValueError:
        return Unit.NUMBER.value


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
                {"at": at, "value": tr["value"], "threshold": tr.get("threshold"), "unit": _unit(name)})
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


def _measured(criterion: Any) -> dict[str, Any] | None:
    """One criterion of a checkpoint as the page shows it: its text, unit, measured value, threshold, outcome.

    A checkpoint stores each criterion as the evaluation wrote it: the parsed criterion under ``criterion``
    and the measurement over the whole window under ``overall`` (older records: flat, ``value`` beside it).
    """
    if not isinstance(criterion, dict):
        return None
    parsed, overall = criterion.get("criterion"), criterion.get("overall")
    measured = overall if isinstance(overall, dict) else criterion
    text = parsed.get("text") if isinstance(parsed, dict) else parsed or criterion.get("text")
    value, threshold = measured.get("value"), measured.get("threshold")
    return {"text": str(text), "unit": _unit(text), "value": value if isinstance(value, int | float) else None,
            "threshold": threshold if isinstance(threshold, int | float) else None,
            "outcome": measured.get("outcome") or criterion.get("outcome"), "message": measured.get("message")}


def _checkpoint_series(events: list[Event]) -> dict[str, list[dict[str, Any]]]:
    """Each soak criterion's measured value at every checkpoint, for the checkpoint charts."""
    series: dict[str, list[dict[str, Any]]] = {}
    for p in read(events, Checkpoint):
        for c in map(_measured, p.record.criteria):
            if c is not None and c["value"] is not None:
                env = p.record.env or p.env
                series.setdefault(f"{env}: {c['text']}", []).append(
                    {"at": p.at.isoformat(), "value": c["value"], "threshold": c["threshold"], "unit": c["unit"],
                     "outcome": c["outcome"], "label": f"checkpoint {p.record.index or ''} of {p.record.of or ''}"})
    return series


PLANNING = "waiting for the Terraform plans"


def _state(decision: Decision) -> str:
    return "waiting for approval" if decision.only_approvals_missing else decision.verdict


def _live(decision: Decision, now: datetime) -> dict[str, Any]:
    return {**decision.to_dict(), "at": now.isoformat(), "live": True, "state": _state(decision),
            "items": [i.to_dict() | {"ok": i.ok} for i in decision.items],
            "reasons": [f"{i.name}: {i.detail}" for i in decision.items if not i.ok]}


def _gates(store: Store, plan: Plan | None, release: str, events: list[Event], runs: list[tuple[Run, list[Step]]],
           now: datetime) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Each gate's state now, from its evidence, and every decision recorded.

    A gate step that decided shows its decision; one still open in an active run is weighed now from its frozen
    parameters (waiting for approval when approvals are all it lacks, waiting for the Terraform plans while its
    run still makes them: an unmade plan is not a NO-GO yet); one its run never reached says so. Only
    a release with no gate step yet is weighed from the loaded plan, so a rolled-back release never shows a
    live GO beside its rollback.
    """
    decided = [{"gate": e.record.gate or e.record.subject, "env": e.record.env or e.env, "at": e.at.isoformat(),
                "verdict": e.record.outcome, "state": e.record.outcome, "reasons": list(e.record.reasons),
                "items": list(e.record.items), "live": False, "run": e.run_id}
               for e in read(events, GateDecisionRecord)]
    current: list[dict[str, Any]] = []
    for run, steps in runs:
        for step in steps:
            if step.kind != "gate":
                continue
            params = GateParams.model_validate(step.params)
            mine = [d for d in decided if d["gate"] == params.gate and d["env"] == params.env and d["run"] == run.id]
            if mine and StepStatus(step.status).finished:
                current.append(mine[-1])
            elif run.active and StepStatus(step.status).open:
                decision = decide(store, release, params, now)
                live = _live(decision, now)
                planning = [str(s.params.get("project")) for s in steps
                            if s.kind == "terraform_plan" and StepStatus(s.status).open]
                unmade = {f"terraform {p}" for p in planning}
                if planning and all(i.ok or i.approval_only or i.name in unmade for i in decision.items):
                    # Its run is still making the plans the gate weighs, and nothing else is wrong: not a NO-GO
                    # for a plan not made yet.
                    live["state"] = PLANNING
                    live["reasons"] = [f"the Terraform plan of {p} is being made" for p in planning]
                current.append({**live, "waiting": step.wait_reason})
            else:
                current.append({"gate": params.gate, "env": params.env, "at": None, "verdict": None, "live": False,
                                "state": "not reached", "items": [], "reasons": [f"the run {run.status}"]})
    if not current and plan is not None and plan.release == release:
        for name, spec in plan.gates.items():
            try:
                current.append(_live(evaluate_gate(store, plan, name, spec.env or "prod", now), now))
            except GoliveError:
                continue
    return current, decided


def _batches(store: Store, plan: Plan | None, release: str, steps: list[Step]) -> list[dict[str, Any]]:
    """The batches, from the loaded plan when it is this release's, else as the latest run recorded them (a run
    from before runs kept them: as its deploy steps are grouped)."""
    if plan is not None and plan.release == release:
        return list(plan_facts(plan)["batches"])
    for run in reversed(store.runs(release)):
        facts = run.meta.get("plan")
        if isinstance(facts, dict) and isinstance(facts.get("batches"), list):
            return list(facts["batches"])
    grouped: dict[str, list[str]] = {}
    for step in steps:
        if step.kind == "deploy" and step.group.startswith("batch."):
            grouped.setdefault(step.group.removeprefix("batch."), []).append(str(step.params.get("project") or step.key))
    return [{"name": name, "projects": projects, "window": None} for name, projects in grouped.items()]


def release_view(store: Store, plan: Plan | None, release: str, now: datetime) -> dict[str, Any]:
    """Everything the release page shows, as one JSON document."""
    zone = zone_name(store, plan, release)
    # The texts golive writes (what is due when, a gate item's detail) print times in the shown zone: the plan's,
    # for this release's view only (a store may hold releases of several zones).
    with schedule.shown_in(schedule.zone(zone)):
        return _release_view(store, plan, release, now, zone)


def _release_view(store: Store, plan: Plan | None, release: str, now: datetime, zone: str | None) -> dict[str, Any]:
    events = store.events(release=release)
    status = release_status(store, release, now)
    latest = [store.get_run(r["run"]) for r in status["runs"]]
    runs = [(run, store.steps(run.id)) for run in latest]
    timelines = [run_timeline(run, steps, now) for run, steps in runs]
    gates, decisions = _gates(store, plan, release, events, runs, now)
    every_step = [s for _, steps in runs for s in steps]
    envs = sorted({e.env for e in events} | {r["env"] for r in status["runs"]})
    approvals = [{"gate": a.gate, "env": a.env, "by": a.by, "role": a.role, "note": a.note, "at": a.at.isoformat(),
                  "rehearsal": a.rehearsal} for env in envs for a in store.approvals(release, env)]
    return {
        **status,
        "timezone": zone or "UTC",
        "abbreviations": abbreviations(schedule.zone(zone), [now, *instants(timelines)]),
        "timelines": timelines,
        "batches": _batches(store, plan, release, every_step),
        "canaries": list(_canaries(events, every_step).values()),
        "checkpoints": [{"subject": p.record.subject, "at": p.at.isoformat(), "outcome": p.record.outcome,
                         "failures": list(p.record.failures),
                         "index": p.record.index, "of": p.record.of, "env": p.record.env or p.env,
                         "criteria": [c for c in map(_measured, p.record.criteria) if c is not None]}
                        for p in read(events, Checkpoint)],
        "checkpoint_series": _checkpoint_series(events),
        "gates": gates,
        "decisions": decisions,
        "incidents": [{"id": i.id, "severity": i.severity, "title": i.title, "status": i.status, "env": i.env,
                       "opened_at": i.opened_at.isoformat(),
                       "resolved_at": i.resolved_at.isoformat() if i.resolved_at else None}
                      for i in store.incidents(release)],
        "approvals": approvals,
        "rollbacks": [{"project": b.record.subject, "at": b.at.isoformat(), "outcome": b.record.outcome,
                       "reason": b.record.reason, "seconds": _seconds(b.record), "step": b.step_key}
                      for b in read(events, RollbackRecord)],
        "actions": [{"at": a.at.isoformat(), "action": a.record.subject, "by": a.record.by, "from": a.record.source,
                     "outcome": a.record.outcome} for a in read(events, WebAction)],
        # Every time a person went past a guard (issue 27): --skip-gate, --override-freeze, --override-window,
        # --redispatch, promote, abort, an accepted plan change; who, why, which run.
        "overrides": [*({"at": o.at.isoformat(), "what": o.guard, "by": o.by, "why": o.why, "project": o.project,
                         "run": o.run_id} for o in overrides_of(read(events, Record))),
                      *({"at": p.at.isoformat(), "what": "accept-plan-change", "by": None, "why": p.record.why,
                         "project": None, "run": p.run_id} for p in read(events, PlanChangeAccepted))],
    }


def _seconds(record: RollbackRecord) -> float | None:
    return (record.seconds or record.alias_seconds) if isinstance(record, RolledBack) else None


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
