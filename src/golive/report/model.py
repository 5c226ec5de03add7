"""The report model: one run's evidence, read from the store and shaped for people.

Reports are views of stored events (DESIGN §3, "Evidence first"). This
module is the one place that reads them: it picks the run (the latest of the
release when none is named), gathers the events that belong to it, and turns
loosely shaped JSON into typed rows. Markdown, HTML, JUnit and JSON are
renderings of this model, so they always agree on what happened.

A release run reports the soaks of its environments even when a separate
``golive soak`` run recorded them (same release and version, started before
the release run ended); an older soak of the same environment is kept as
evidence and marked as superseded. Unknown or missing fields in an event are
tolerated: a report must never fail because a newer writer added a field.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, fields, is_dataclass
from datetime import datetime
from enum import Enum
from typing import Any

from golive.analysis.criteria import Unit, format_value
from golive.clock import parse_instant
from golive.errors import StoreError, UnknownNameError
from golive.store.store import Event, Run, Step, Store

FAILED = "Failed"
SUCCESSFUL = "Successful"
INCONCLUSIVE = "Inconclusive"
ERROR = "Error"


@dataclass(frozen=True)
class StepRow:
    key: str
    phase: str
    title: str
    status: str
    outcome: str | None
    summary: str
    started_at: datetime | None
    ended_at: datetime | None


@dataclass(frozen=True)
class CheckRow:
    check: str
    target: str
    status: str
    summary: str
    step_key: str | None = None
    phase: str | None = None
    project: str | None = None
    evidence: tuple[dict[str, Any], ...] = ()


@dataclass(frozen=True)
class Cell:
    """One criterion at one checkpoint: the overall measurement (the worst function)."""

    criterion: str
    unit: Unit
    op: str
    outcome: str
    value: float | None
    threshold: float | None
    scope: str
    message: str
    dry_run: bool = False

    @property
    def failed(self) -> bool:
        return self.outcome == FAILED and not self.dry_run

    @property
    def value_text(self) -> str:
        return "n/a" if self.value is None else format_value(self.value, self.unit)

    @property
    def threshold_text(self) -> str:
        return "" if self.threshold is None else f"{self.op} {format_value(self.threshold, self.unit)}".strip()


@dataclass(frozen=True)
class Checkpoint:
    index: int
    of: int
    outcome: str
    at: datetime
    due_at: datetime | None
    evaluated_at: datetime | None
    late: bool
    window_start: datetime | None
    window_end: datetime | None
    cells: tuple[Cell, ...]
    checks: tuple[CheckRow, ...]
    failures: tuple[str, ...]

    def cell(self, criterion: str) -> Cell | None:
        return next((c for c in self.cells if c.criterion == criterion), None)


@dataclass(frozen=True)
class CriterionInfo:
    text: str
    unit: Unit
    op: str


@dataclass(frozen=True)
class Soak:
    env: str
    run_id: int | None
    own: bool  # recorded by the reported run itself
    criteria: tuple[CriterionInfo, ...]
    checkpoints: tuple[Checkpoint, ...]
    verdict: str | None  # "pass" | "fail" once the soak ended
    planned: int | None
    failed_at: int | None
    reasons: tuple[str, ...]
    superseded_by: int | None = None

    @property
    def key(self) -> str:
        return f"{self.env}" if self.run_id is None else f"{self.env} (run {self.run_id})"


@dataclass(frozen=True)
class GateItem:
    name: str
    ok: bool
    detail: str
    evidence: Any = None


@dataclass(frozen=True)
class GateDecision:
    gate: str
    env: str
    decision: str
    at: datetime
    items: tuple[GateItem, ...]
    reasons: tuple[str, ...]
    latest: bool


@dataclass(frozen=True)
class ApprovalRow:
    gate: str
    env: str
    by: str
    role: str | None
    note: str | None
    at: datetime
    rehearsal: bool


@dataclass(frozen=True)
class IncidentRow:
    id: int | None
    env: str | None
    severity: str
    title: str
    status: str
    opened_at: datetime | None
    resolved_at: datetime | None


@dataclass(frozen=True)
class CanaryStep:
    at: datetime
    outcome: str
    weight: float | None
    reason: str
    stable: str | None
    canary: str | None
    functions: tuple[str, ...]
    judgement: dict[str, Any] | None
    measurements: tuple[dict[str, Any], ...]

    @property
    def decision(self) -> bool:
        return self.outcome in ("promoted", "rolled_back")


@dataclass(frozen=True)
class Canary:
    """One canary step of the run: a project in one region (its DR canary is a canary of its own)."""

    project: str
    steps: tuple[CanaryStep, ...]
    region: str | None = None

    @property
    def title(self) -> str:
        return f"{self.project} ({self.region})" if self.region else self.project

    @property
    def outcome(self) -> str:
        decided = [s for s in self.steps if s.decision]
        if decided:
            return decided[-1].outcome
        return "in progress" if self.steps else "not started"

    @property
    def final_weight(self) -> float | None:
        weights = [s.weight for s in self.steps if s.weight is not None]
        return weights[-1] if weights else None


@dataclass(frozen=True)
class RollbackRow:
    at: datetime
    project: str
    reason: str
    seconds: float | None
    functions: tuple[str, ...]


@dataclass(frozen=True)
class AvailabilityRow:
    url: str
    probes: int
    up: int
    availability: float | None
    at: datetime


@dataclass(frozen=True)
class Report:
    release: str
    version: str | None
    env: str
    envs: tuple[str, ...]
    run_id: int
    run_kind: str
    status: str
    reason: str | None
    started_at: datetime
    ended_at: datetime | None
    steps: tuple[StepRow, ...]
    soaks: tuple[Soak, ...]
    gates: tuple[GateDecision, ...]
    approvals: tuple[ApprovalRow, ...]
    incidents: tuple[IncidentRow, ...]
    canaries: tuple[Canary, ...]
    rollbacks: tuple[RollbackRow, ...]
    availability: tuple[AvailabilityRow, ...]
    checks: tuple[CheckRow, ...]

    @property
    def duration_s(self) -> float | None:
        return None if self.ended_at is None else (self.ended_at - self.started_at).total_seconds()

    @property
    def validation(self) -> tuple[CheckRow, ...]:
        return tuple(c for c in self.checks if c.phase == "validation")

    def to_dict(self) -> dict[str, Any]:
        """JSON-native data (ISO instants, no NaN or infinity): ``json.loads(json.dumps(d)) == d``."""
        data = _jsonable(self)
        assert isinstance(data, dict)
        data["duration_s"] = self.duration_s
        return data


def _jsonable(obj: Any) -> Any:
    if is_dataclass(obj) and not isinstance(obj, type):
        return {f.name: _jsonable(getattr(obj, f.name)) for f in fields(obj)}
    if isinstance(obj, datetime):
        return obj.isoformat()
    if isinstance(obj, Enum):
        return obj.value
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if isinstance(obj, Mapping):
        return {str(k): _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [_jsonable(v) for v in obj]
    if obj is None or isinstance(obj, str | int | bool):
        return obj
    return str(obj)


# -- reading loosely shaped event data ------------------------------------------
def _str(value: Any, default: str = "") -> str:
    return default if value is None else str(value)


def _float(value: Any) -> float | None:
    if isinstance(value, bool) or value is None:
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def _int(value: Any) -> int | None:
    if isinstance(value, bool) or value is None:
        return None
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _instant(value: Any) -> datetime | None:
    if isinstance(value, datetime):
        return value
    if isinstance(value, str) and value:
        try:
            return parse_instant(value)
        except ValueError:
            return None
    return None


def _dict(value: Any) -> dict[str, Any]:
    return dict(value) if isinstance(value, Mapping) else {}


def _list(value: Any) -> list[Any]:
    return list(value) if isinstance(value, list | tuple) else []


def _unit(criterion: Mapping[str, Any], metric: Mapping[str, Any]) -> Unit:
    """The unit of the measured values: the metric's, else what the threshold was written in, else a guess."""
    if metric:
        if metric.get("aggregation") == "ratio":
            return Unit.FRACTION
        if metric.get("metric") == "duration":
            return Unit.SECONDS
        if metric.get("aggregation"):
            return Unit.NUMBER
    written = criterion.get("unit")
    if criterion.get("kind") != "relative" and written in {u.value for u in Unit}:
        return Unit(written)
    name = _str(criterion.get("metric")) or _str(criterion.get("text")).split(" ", 1)[0]
    if name.endswith("_rate"):
        return Unit.FRACTION
    if "duration" in name or "latency" in name:
        return Unit.SECONDS
    return Unit.NUMBER


def _op_of(criterion: Mapping[str, Any]) -> str:
    if criterion.get("op"):
        return _str(criterion["op"])
    match = re.search(r"(<=|>=|==|!=|<|>)", _str(criterion.get("text")))
    return match.group(1) if match else ""


def check_row(data: Mapping[str, Any], *, step_key: str | None = None, phase: str | None = None,
              outcome: str | None = None, subject: str = "") -> CheckRow:
    evidence = tuple(_dict(e) for e in _list(data.get("evidence")))
    return CheckRow(check=_str(data.get("check"), subject.split(" ", 1)[0]),
                    target=_str(data.get("target"), subject.split(" ", 1)[-1]),
                    status=_str(data.get("status"), outcome or "unknown"),
                    summary=_str(data.get("summary") or data.get("reason")),
                    step_key=step_key, phase=phase,
                    project=None if data.get("project") is None else _str(data.get("project")),
                    evidence=evidence)


def _cell(entry: Any) -> Cell:
    if isinstance(entry, str):
        return Cell(entry, _unit({"text": entry}, {}), _op_of({"text": entry}), INCONCLUSIVE, None, None, "", "")
    raw = _dict(entry)
    criterion = _dict(raw.get("criterion")) if isinstance(raw.get("criterion"), Mapping) \
        else {"text": _str(raw.get("criterion"))}
    overall = _dict(raw.get("overall")) or raw
    text = _str(criterion.get("text") or overall.get("criterion"), "?")
    scope = _str(_dict(overall.get("raw")).get("worst") or overall.get("scope"))
    return Cell(criterion=text, unit=_unit(criterion, _dict(raw.get("metric"))), op=_op_of(criterion),
                outcome=_str(overall.get("outcome"), INCONCLUSIVE), value=_float(overall.get("value")),
                threshold=_float(overall.get("threshold", criterion.get("threshold"))), scope=scope,
                message=_str(overall.get("message")), dry_run=bool(overall.get("dry_run") or raw.get("dry_run")))


_INDEX = re.compile(r"(\d+)\s+of\s+(\d+)")


def _checkpoint(event: Event) -> Checkpoint:
    data = event.data
    found = _INDEX.search(event.subject)
    index = _int(data.get("index")) or (int(found.group(1)) if found else 0)
    of = _int(data.get("of")) or (int(found.group(2)) if found else 0)
    window = _dict(data.get("window"))
    cells = tuple(_cell(c) for c in _list(data.get("criteria")))
    checks = tuple(check_row(_dict(c)) for c in _list(data.get("checks")))
    return Checkpoint(index=index, of=of, outcome=_str(event.outcome, "unknown"), at=event.at,
                      due_at=_instant(data.get("due_at")), evaluated_at=_instant(data.get("evaluated_at")) or event.at,
                      late=bool(data.get("late")), window_start=_instant(window.get("start")),
                      window_end=_instant(window.get("end")), cells=cells, checks=checks,
                      failures=tuple(_str(f) for f in _list(data.get("failures"))))


def _env_of(event: Event) -> str:
    return _str(event.data.get("env"), event.env)


def _soaks(checkpoint_events: list[Event], verdict_events: list[Event], own_run: int) -> list[Soak]:
    """Checkpoints grouped by (run, env), in the order each soak began; later ones supersede earlier ones."""
    groups: dict[tuple[int | None, str], dict[int, Checkpoint]] = {}
    for event in checkpoint_events:
        checkpoint = _checkpoint(event)
        groups.setdefault((event.run_id, _env_of(event)), {})[checkpoint.index] = checkpoint
    verdicts: dict[tuple[int | None, str], Event] = {}
    for event in verdict_events:
        key = (event.run_id, _env_of(event))
        verdicts[key] = event
        groups.setdefault(key, {})
    soaks: list[Soak] = []
    for (run_id, env), by_index in groups.items():
        checkpoints = tuple(by_index[i] for i in sorted(by_index))
        criteria: dict[str, CriterionInfo] = {}
        for checkpoint in checkpoints:
            for cell in checkpoint.cells:
                criteria.setdefault(cell.criterion, CriterionInfo(cell.criterion, cell.unit, cell.op))
        verdict = verdicts.get((run_id, env))
        vdata = verdict.data if verdict else {}
        planned = _int(vdata.get("checkpoints")) or max((c.of for c in checkpoints), default=0) or None
        soaks.append(Soak(env=env, run_id=run_id, own=run_id == own_run, criteria=tuple(criteria.values()),
                          checkpoints=checkpoints, verdict=verdict.outcome if verdict else None, planned=planned,
                          failed_at=_int(vdata.get("failed_at")),
                          reasons=tuple(_str(r) for r in _list(vdata.get("reasons")))))
    latest: dict[str, Soak] = {}
    for soak in reversed(soaks):
        latest.setdefault(soak.env, soak)
    return [s if latest[s.env] is s else Soak(**{**_shallow(s), "superseded_by": latest[s.env].run_id})
            for s in soaks]


def _shallow(obj: Any) -> dict[str, Any]:
    return {f.name: getattr(obj, f.name) for f in fields(obj)}


def _gates(events: list[Event]) -> list[GateDecision]:
    decisions: list[GateDecision] = []
    last: dict[tuple[str, str], int] = {}
    for event in events:
        data = event.data
        gate, env = _str(data.get("gate"), event.subject), _env_of(event)
        items = tuple(GateItem(name=_str(_dict(i).get("name"), "?"), ok=bool(_dict(i).get("ok")),
                               detail=_str(_dict(i).get("detail")), evidence=_dict(i).get("evidence"))
                      for i in _list(data.get("items")))
        decisions.append(GateDecision(gate=gate, env=env, decision=_str(event.outcome, "?"), at=event.at, items=items,
                                      reasons=tuple(_str(r) for r in _list(data.get("reasons"))), latest=False))
        last[(gate, env)] = len(decisions) - 1
    latest = set(last.values())
    return [GateDecision(**{**_shallow(d), "latest": i in latest}) for i, d in enumerate(decisions)]


def _function_names(value: Any) -> tuple[str, ...]:
    """Function names from a list of names, of alias states (``{"function": ...}``), or a versions mapping."""
    if isinstance(value, Mapping):
        return tuple(str(k) for k in value)
    return tuple(_str(_dict(f).get("function") or _dict(f).get("name")) if isinstance(f, Mapping) else _str(f)
                 for f in _list(value))


def _versions_of(data: Mapping[str, Any]) -> tuple[str | None, str | None]:
    """Stable and canary versions: given directly, or from ``versions: {fn: {stable, canary}}`` when all agree."""
    stable, canary = data.get("stable"), data.get("canary")
    pairs = {(_str(_dict(v).get("stable")), _str(_dict(v).get("canary"))) for v in _dict(data.get("versions")).values()}
    if stable is None and canary is None and pairs:
        if len(pairs) == 1:
            stable, canary = next(iter(pairs))
        else:
            stable, canary = "several", "several"
    return (None if stable is None else _str(stable)), (None if canary is None else _str(canary))


def _canaries(events: list[Event]) -> list[Canary]:
    """Each canary's timeline: versions, shifts, analyses with the judge's numbers, the decision.

    A canary is one step (``canary.order_lambda``, ``canary.order_lambda@dr``): a project's DR canary is its
    own row with its region. Events of no canary step (an operator's ``golive rollback``) join the project's
    latest canary. A rollback event is the canary's ``rolled_back`` decision, at the weight the canary had
    reached; the step's own closing event (``pass``, repeating ``promoted``) is left out.
    """
    steps: dict[str, list[CanaryStep]] = {}
    projects: dict[str, str] = {}
    regions: dict[str, str] = {}
    latest_row: dict[str, str] = {}
    for event in events:
        data = event.data
        project = _str(data.get("project"), event.subject)
        own_step = event.step_key is not None and event.step_key.startswith("canary.")
        row = event.step_key if own_step and event.step_key else latest_row.get(project, project)
        latest_row[project] = row
        projects.setdefault(row, project)
        if data.get("region") and row not in regions:
            regions[row] = _str(data.get("region"))
        outcome = _str(event.outcome, "?")
        if event.kind == "canary" and outcome == "pass" and any(s.outcome == "promoted" for s in steps.get(row, [])):
            continue
        if event.kind == "rollback":
            outcome = "rollback_failed" if outcome == "rollback_failed" else "rolled_back"
            before = steps.get(row, [])
            if outcome == "rolled_back" and before and before[-1].outcome == "rolled_back":
                continue  # the canary already recorded its rollback decision
        judgement = data.get("judgement")
        stable, canary = _versions_of(data)
        weight = _float(data.get("weight"))
        if event.kind == "rollback" and weight is None:
            weight = _float(data.get("from_weight"))
            if weight is None:
                weight = next((s.weight for s in reversed(steps.get(row, [])) if s.weight is not None), 0.0)
        if weight is None and outcome == "analysis" and steps.get(row):
            weight = steps[row][-1].weight  # analysed at the weight it was shifted to
        steps.setdefault(row, []).append(CanaryStep(
            at=event.at, outcome=outcome, weight=weight,
            reason=_str(data.get("reason") or data.get("error")), stable=stable, canary=canary,
            functions=_function_names(data.get("functions") or data.get("versions")),
            judgement=_dict(judgement) if isinstance(judgement, Mapping) else None,
            measurements=tuple(_dict(m) for m in _list(data.get("measurements") or data.get("triggers")))))
    return [Canary(projects[row], tuple(found), regions.get(row)) for row, found in steps.items()]


def _availability(events: list[Event]) -> list[AvailabilityRow]:
    rows: dict[str, AvailabilityRow] = {}
    for event in events:
        data = event.data
        url = _str(data.get("url"), event.subject)
        probes, up = _int(data.get("probes")) or 0, _int(data.get("up")) or 0
        availability = _float(data.get("availability"))
        if availability is None and probes:
            availability = up / probes
        rows[url] = AvailabilityRow(url=url, probes=probes, up=up, availability=availability, at=event.at)
    return list(rows.values())


def _step_rows(steps: list[Step], events: list[Event]) -> list[StepRow]:
    last: dict[str, Event] = {}
    for event in events:
        if event.step_key:
            last[event.step_key] = event
    rows: list[StepRow] = []
    for step in steps:
        found = last.get(step.key)
        result = step.result or (found.data if found else {})
        summary = _str(result.get("summary") or result.get("reason") or step.wait_reason)
        rows.append(StepRow(key=step.key, phase=step.phase, title=step.title, status=step.status,
                            outcome=found.outcome if found else None, summary=summary, started_at=step.started_at,
                            ended_at=step.ended_at))
    return rows


def _within(at: datetime | None, start: datetime, end: datetime | None) -> bool:
    return at is not None and at >= start and (end is None or at <= end)


def _version(store: Store, run: Run) -> str | None:
    if run.meta.get("version"):
        return _str(run.meta["version"])
    for event in store.events(run_id=run.id, kind="run"):
        if event.outcome == "started" and event.data.get("version"):
            return _str(event.data["version"])
    return None


def pick_run(store: Store, run_id: int | None, release: str) -> Run:
    """The named run, or the latest run of the release."""
    if run_id is not None:
        try:
            return store.get_run(run_id)
        except StoreError:
            raise UnknownNameError("run", str(run_id), [str(r.id) for r in store.runs(release)]) from None
    runs = store.runs(release)
    if not runs:
        raise UnknownNameError("release", release, sorted({r.release for r in store.runs()}))
    return runs[-1]


def build(store: Store, run_id: int | None, release: str) -> Report:
    """The report model of a run (the latest run of ``release`` when ``run_id`` is None)."""
    run = pick_run(store, run_id, release)
    version = _version(store, run)
    steps = store.steps(run.id)
    envs = [run.env, *sorted({_str(s.params.get("env")) for s in steps if s.params.get("env")} - {run.env})]
    own = store.events(run_id=run.id)

    # Soaks recorded by other runs of the same release and version: a release run reports the soak of
    # its pre-production environment even when `golive soak` recorded it; a soak run only its own env.
    related = {run.id}
    for other in store.runs(run.release):
        if other.id == run.id or (run.ended_at is not None and other.created_at > run.ended_at):
            continue
        if (other.env != run.env) if run.kind == "soak" else (other.kind != "soak" and other.env not in envs):
            continue
        other_version = _version(store, other)
        if version and other_version and other_version != version:
            continue
        related.add(other.id)
        if other.env not in envs:
            envs.append(other.env)
    soak_events = [e for e in store.events(release=run.release, kind="checkpoint")
                   if e.run_id in related and _env_of(e) in envs]
    verdict_events = [e for e in store.events(release=run.release, kind="soak")
                      if e.run_id in related and _env_of(e) in envs]
    soaks = _soaks(soak_events, verdict_events, run.id)

    span_start = min([run.created_at, *(e.at for e in soak_events)])
    span_end = run.ended_at

    def loose(kind: str) -> list[Event]:
        """The run's own events of a kind, plus those recorded outside any run in its span and environments."""
        mine = [e for e in own if e.kind == kind]
        outside = [e for e in store.events(release=run.release, kind=kind)
                   if e.run_id is None and _env_of(e) in envs and _within(e.at, span_start, span_end)]
        return sorted(mine + outside, key=lambda e: (e.at, e.id))

    phase_of = {s.key: s.phase for s in steps}
    checks = [check_row(e.data, step_key=e.step_key,
                        phase=phase_of.get(e.step_key or "") or (e.step_key or "").split(".", 1)[0] or None,
                        outcome=e.outcome, subject=e.subject)
              for e in own if e.kind == "check"]

    approvals = [ApprovalRow(a.gate, a.env, a.by, a.role, a.note, a.at, a.rehearsal)
                 for env in envs for a in store.approvals(run.release, env)
                 if span_end is None or a.at <= span_end]
    approvals.sort(key=lambda a: a.at)

    incidents = [IncidentRow(i.id, i.env, i.severity, i.title, i.status, i.opened_at, i.resolved_at)
                 for i in store.incidents(run.release)
                 if (i.env is None or i.env in envs) and (span_end is None or i.opened_at <= span_end)
                 and (i.resolved_at is None or i.resolved_at >= span_start)]
    known = {i.id for i in incidents}
    incidents += _incident_events(e for e in loose("incident") if _int(e.data.get("id")) not in known)

    return Report(
        release=run.release, version=version, env=run.env, envs=tuple(envs), run_id=run.id, run_kind=run.kind,
        status=run.status, reason=run.reason, started_at=run.created_at, ended_at=run.ended_at,
        steps=tuple(_step_rows(steps, [e for e in own if e.kind == "step"])),
        soaks=tuple(soaks), gates=tuple(_gates(loose("gate"))), approvals=tuple(approvals),
        incidents=tuple(incidents), canaries=tuple(_canaries([e for e in own if e.kind in ("canary", "rollback")])),
        rollbacks=tuple(RollbackRow(at=e.at, project=_str(e.data.get("project"), e.subject),
                                    reason=_str(e.data.get("reason")), seconds=_float(e.data.get("seconds")),
                                    functions=_function_names(e.data.get("functions")))
                        for e in own if e.kind == "rollback"),
        availability=tuple(_availability(loose("availability"))),
        checks=tuple(checks),
    )


def _incident_events(events: Iterable[Event]) -> list[IncidentRow]:
    """Incidents known only from events (no row in the incidents table): the latest state of each."""
    rows: dict[str, IncidentRow] = {}
    for event in events:
        data = event.data
        key = _str(data.get("id"), f"event-{event.id}")
        before = rows.get(key)
        resolved = event.outcome == "resolved"
        rows[key] = IncidentRow(
            id=_int(data.get("id")), env=event.env, severity=_str(data.get("severity"), before.severity if before else "?"),
            title=_str(data.get("title"), before.title if before else ""),
            status="resolved" if resolved else "open",
            opened_at=before.opened_at if before else (None if resolved else event.at),
            resolved_at=event.at if resolved else None)
    return list(rows.values())
