"""The report model: one run's evidence, read from the store and shaped for people.

Reports are views of stored evidence (DESIGN §3, "Evidence first"). This
module assembles them: it picks the run (the latest of the release when none
is named), gathers the records that belong to it (typed, from
``golive.evidence``) and turns them into the rows below. Markdown, HTML,
JUnit and JSON are renderings of this model, so they always agree on what
happened.

A release run reports the soaks of its environments even when a separate
``golive soak`` run recorded them (same release and version, started before
the release run ended); an older soak of the same environment is kept as
evidence and marked as superseded. A record golive cannot read (a newer
writer's) is left out rather than fail the report.
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
from golive.evidence import Evidence, Record, read, select, typed
from golive.evidence.canary import (
    CanaryAnalysis,
    CanaryGateBlocked,
    CanaryInconclusive,
    CanaryNote,
    CanaryPromoted,
    CanaryRecord,
    CanarySample,
    CanaryShifted,
    CanaryVersions,
    OperatorCommand,
)
from golive.evidence.checks import CheckRecord, check_record
from golive.evidence.dependencies import DependentsHeld, UndoDone
from golive.evidence.gates import GateDecisionRecord, GateItem, Override
from golive.evidence.plan_change import PlanChangeAccepted
from golive.evidence.rollback import RollbackFailed, RollbackRecord, RolledBack, Undone
from golive.evidence.runs import Availability, IncidentNote, RunNote, SoakVerdict, StepNote
from golive.evidence.runs import Checkpoint as CheckpointRecord
from golive.evidence.terraform import PlanApproval, TerraformPlanSummary, approving
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


# Why an undo was owed, in words (evidence/dependencies.UNDO_FOR).
OWED = {"dependency": "depends on the failed project", "batch": "its batch failed",
        "self": "the failed project, after its dependents"}


@dataclass(frozen=True)
class UndoRow:
    """One owed undo, done: its place in the order, why it was owed, when it ended and how long it took."""

    position: int
    project: str
    step: str
    owed_for: str  # "dependency", "batch" or "self" (evidence/dependencies.UNDO_FOR)
    at: datetime
    seconds: float | None


@dataclass(frozen=True)
class HoldRow:
    """A failed project's dependents held, and the undos its failure owed in the order they ran."""

    at: datetime
    failed: str
    step: str
    held: tuple[str, ...]
    order: tuple[str, ...]  # the owed undos' steps, in the order decided at the failure
    rollback_dependents: bool
    undone: tuple[UndoRow, ...]


def _holds(events: list[Evidence[Record]]) -> list[HoldRow]:
    """Each ``DependentsHeld`` with the ``UndoDone`` records written after it, in their order."""
    rows: list[HoldRow] = []
    for event in events:
        record = event.record
        if isinstance(record, DependentsHeld):
            rows.append(HoldRow(event.at, record.failed, record.step, record.held, record.undo,
                                record.rollback_dependents, ()))
        elif isinstance(record, UndoDone) and rows:
            row = UndoRow(record.position, record.project, record.step, record.owed_for, event.at, record.seconds)
            last = rows[-1]
            rows[-1] = HoldRow(last.at, last.failed, last.step, last.held, last.order, last.rollback_dependents,
                               tuple(sorted((*last.undone, row), key=lambda u: u.position)))
    return rows


@dataclass(frozen=True)
class PlanChangeRow:
    """A plan edited under the run and accepted: why, the steps that took the new parameters, those that kept theirs."""

    at: datetime
    why: str
    refrozen: tuple[str, ...]
    kept: tuple[str, ...]


@dataclass(frozen=True)
class TerraformPlanRow:
    """A project's Terraform plan as the gate weighed it: counts, data-holding deletes and replacements, its hash,
    and who approved that hash (None: nobody, or no approval was needed)."""

    at: datetime
    project: str
    sha256: str
    source: str
    creates: int
    updates: int
    deletes: int
    replaces: int
    data_changes: tuple[str, ...]  # "replace aws_dynamodb_table.tenants"
    approver: str
    approved_by: str | None


@dataclass(frozen=True)
class AvailabilityRow:
    url: str
    probes: int
    up: int
    availability: float | None
    at: datetime


@dataclass(frozen=True)
class OverrideRow:
    """A guard someone went past (``skip-gate``, ``freeze``, ``redispatch``, ...) or a hand on a canary
    (``abort``, ``promote``): who, why, in which run."""

    at: datetime
    guard: str
    by: str | None
    why: str | None
    project: str | None
    run_id: int | None


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
    plan_changes: tuple[PlanChangeRow, ...] = ()
    overrides: tuple[OverrideRow, ...] = ()
    rehearsal: bool = False  # times are the virtual clock's only in a rehearsal
    holds: tuple[HoldRow, ...] = ()  # dependents a failure held, and its undos in order (depends_on)
    terraform_plans: tuple[TerraformPlanRow, ...] = ()

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
        if not self.terraform_plans:
            del data["terraform_plans"]  # a release without Terraform reports as it did before the section existed
        return data


def _jsonable(obj: Any) -> Any:
    if isinstance(obj, GateItem):
        return _jsonable(obj.to_dict())  # as stored: what the gate weighed, not how the engine evaluated it
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


def check_row(record: CheckRecord, *, step_key: str | None = None, phase: str | None = None) -> CheckRow:
    return CheckRow(check=record.check or record.subject.split(" ", 1)[0],
                    target=record.target or record.subject.split(" ", 1)[-1],
                    status=record.status or record.outcome or "unknown", summary=record.summary,
                    step_key=step_key, phase=phase, project=record.project, evidence=record.evidence_rows)


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


def _checkpoint(event: Evidence[CheckpointRecord]) -> Checkpoint:
    record = event.record
    found = _INDEX.search(record.subject)
    index = record.index or (int(found.group(1)) if found else 0)
    of = record.of or (int(found.group(2)) if found else 0)
    return Checkpoint(index=index, of=of, outcome=_str(record.outcome, "unknown"), at=event.at,
                      due_at=_instant(record.due_at), evaluated_at=_instant(record.evaluated_at) or event.at,
                      late=record.late, window_start=_instant(record.window.get("start")),
                      window_end=_instant(record.window.get("end")), cells=tuple(_cell(c) for c in record.criteria),
                      checks=tuple(check_row(check_record(c)) for c in record.checks),
                      failures=record.failures)


def _env_of(event: Event) -> str:
    return _str(event.data.get("env"), event.env)


def _soaks(checkpoint_events: list[Event], verdict_events: list[Event], own_run: int) -> list[Soak]:
    """Checkpoints grouped by (run, env), in the order each soak began; later ones supersede earlier ones."""
    groups: dict[tuple[int | None, str], dict[int, Checkpoint]] = {}
    for point in read(checkpoint_events, CheckpointRecord):
        checkpoint = _checkpoint(point)
        groups.setdefault((point.run_id, point.record.env or point.env), {})[checkpoint.index] = checkpoint
    verdicts: dict[tuple[int | None, str], Evidence[SoakVerdict]] = {}
    for verdict_event in read(verdict_events, SoakVerdict):
        key = (verdict_event.run_id, verdict_event.record.env or verdict_event.env)
        verdicts[key] = verdict_event
        groups.setdefault(key, {})
    soaks: list[Soak] = []
    for (run_id, env), by_index in groups.items():
        checkpoints = tuple(by_index[i] for i in sorted(by_index))
        criteria: dict[str, CriterionInfo] = {}
        for checkpoint in checkpoints:
            for cell in checkpoint.cells:
                criteria.setdefault(cell.criterion, CriterionInfo(cell.criterion, cell.unit, cell.op))
        found = verdicts.get((run_id, env))
        verdict = found.record if found else SoakVerdict(subject="")
        planned = verdict.checkpoints or max((c.of for c in checkpoints), default=0) or None
        soaks.append(Soak(env=env, run_id=run_id, own=run_id == own_run, criteria=tuple(criteria.values()),
                          checkpoints=checkpoints, verdict=verdict.outcome if found else None, planned=planned,
                          failed_at=verdict.failed_at, reasons=verdict.reasons))
    latest: dict[str, Soak] = {}
    for soak in reversed(soaks):
        latest.setdefault(soak.env, soak)
    return [s if latest[s.env] is s else Soak(**{**_shallow(s), "superseded_by": latest[s.env].run_id})
            for s in soaks]


def _shallow(obj: Any) -> dict[str, Any]:
    return {f.name: getattr(obj, f.name) for f in fields(obj)}


def _gates(events: list[Evidence[GateDecisionRecord]]) -> list[GateDecision]:
    decisions: list[GateDecision] = []
    last: dict[tuple[str, str], int] = {}
    for event in events:
        record = event.record
        gate, env = record.gate or record.subject, record.env or event.env
        items = tuple(GateItem.from_data(i) for i in record.items)
        decisions.append(GateDecision(gate=gate, env=env, decision=_str(record.outcome, "?"), at=event.at, items=items,
                                      reasons=record.reasons, latest=False))
        last[(gate, env)] = len(decisions) - 1
    latest = set(last.values())
    return [GateDecision(**{**_shallow(d), "latest": i in latest}) for i, d in enumerate(decisions)]


def _function_names(value: Any) -> tuple[str, ...]:
    """Function names from a list of alias states (``{"function": ...}``) or names, or a versions mapping."""
    if isinstance(value, Mapping):
        return tuple(str(k) for k in value)
    return tuple(_str(_dict(f).get("function") or _dict(f).get("name")) if isinstance(f, Mapping) else _str(f)
                 for f in _list(value))


def _versions_of(versions: Mapping[str, Mapping[str, Any]] | None) -> tuple[str | None, str | None]:
    """Stable and canary versions from ``versions: {fn: {stable, canary}}`` when all functions agree."""
    pairs = {(_str(_dict(v).get("stable")), _str(_dict(v).get("canary"))) for v in (versions or {}).values()}
    if not pairs:
        return None, None
    return next(iter(pairs)) if len(pairs) == 1 else ("several", "several")


def _timeline(record: CanaryRecord | RollbackRecord) -> tuple[float | None, str, Mapping[str, Any] | None,
                                                              tuple[str, ...], Mapping[str, Any] | None,
                                                              tuple[Mapping[str, Any], ...]]:
    """What a canary's timeline shows of a record: weight, reason, versions, functions, judgement, measurements."""
    match record:
        case CanaryVersions():
            left = ", ".join(f"{fn} unchanged (v{version})" for fn, version in (record.unchanged or {}).items())
            told = "; ".join(text for text in (record.moved, left) if text)
            return None, told, record.versions, _function_names(record.versions), None, ()
        case CanaryNote():
            return None, "", record.versions, _function_names(record.versions), None, ()
        case CanaryShifted() | CanaryPromoted():
            return record.weight, "", record.versions, _function_names(record.versions), None, ()
        case CanaryGateBlocked() | CanaryInconclusive():
            return record.weight, record.reason, None, (), None, ()
        case CanarySample():
            said = record.error and f"could not look at the traffic: {record.error}"
            return record.weight, said or "; ".join(record.cannot_decide) or "every criterion can decide", None, (), \
                None, ()
        case CanaryAnalysis():
            return record.weight, record.reason, None, (), record.judgement, record.measured
        case RolledBack():
            return None, record.reason, None, _function_names(record.functions), None, ()
        case RollbackFailed():
            return None, record.reason or record.error, None, (), None, ()
    return None, "", None, (), None, ()


def _canaries(events: list[Evidence[Record]]) -> list[Canary]:
    """Each canary's timeline: versions, shifts, analyses with the judge's numbers, the decision.

    A canary is one step (``canary.order_lambda``, ``canary.order_lambda@dr``): a project's DR canary is its
    own row with its region. Records of no canary step (an operator's ``golive rollback``) join the project's
    latest canary. A rollback is the canary's ``rolled_back`` decision, at the weight the canary had
    reached; the step's own closing record (``pass``, repeating ``promoted``) is left out.
    """
    steps: dict[str, list[CanaryStep]] = {}
    projects: dict[str, str] = {}
    regions: dict[str, str] = {}
    latest_row: dict[str, str] = {}
    for event in events:
        record = event.record
        if not isinstance(record, CanaryRecord | RollbackRecord):
            continue
        project = record.project or record.subject
        own_step = event.step_key is not None and event.step_key.startswith("canary.")
        row = event.step_key if own_step and event.step_key else latest_row.get(project, project)
        latest_row[project] = row
        projects.setdefault(row, project)
        region = record.region if isinstance(record, CanaryVersions | RollbackRecord) else None
        if region and row not in regions:
            regions[row] = region
        outcome = _str(record.outcome, "?")
        rollback = isinstance(record, RollbackRecord)
        if not rollback and outcome == "pass" and any(s.outcome == "promoted" for s in steps.get(row, [])):
            continue
        if rollback:
            outcome = "rollback_failed" if outcome == "rollback_failed" else "rolled_back"
            before = steps.get(row, [])
            if outcome == "rolled_back" and before and before[-1].outcome == "rolled_back":
                continue  # the canary already recorded its rollback decision
        weight, reason, versions, functions, judgement, measured = _timeline(record)
        stable, canary = _versions_of(versions)
        if isinstance(record, RollbackRecord):
            weight = record.from_weight
            if weight is None:
                weight = next((s.weight for s in reversed(steps.get(row, [])) if s.weight is not None), 0.0)
        if weight is None and outcome == "analysis" and steps.get(row):
            weight = steps[row][-1].weight  # analysed at the weight it was shifted to
        steps.setdefault(row, []).append(CanaryStep(
            at=event.at, outcome=outcome, weight=weight, reason=reason, stable=stable, canary=canary,
            functions=functions, judgement=dict(judgement) if judgement is not None else None,
            measurements=tuple(dict(m) for m in measured)))
    return [Canary(projects[row], tuple(found), regions.get(row)) for row, found in steps.items()]


def _availability(events: list[Evidence[Availability]]) -> list[AvailabilityRow]:
    rows: dict[str, AvailabilityRow] = {}
    for event in events:
        record = event.record
        url = record.url or record.subject
        probes, up = record.probes or 0, record.up or 0
        availability = record.availability
        if availability is None and probes:
            availability = up / probes
        rows[url] = AvailabilityRow(url=url, probes=probes, up=up, availability=availability, at=event.at)
    return list(rows.values())


def _step_rows(steps: list[Step], notes: list[Evidence[StepNote]]) -> list[StepRow]:
    last: dict[str, StepNote] = {}
    for note in notes:
        if note.step_key:
            last[note.step_key] = note.record
    rows: list[StepRow] = []
    for step in steps:
        found = last.get(step.key)
        if step.result:
            said = step.result.get("summary") or step.result.get("reason")
        else:
            said = (found.summary or found.reason) if found else None
        rows.append(StepRow(key=step.key, phase=step.phase, title=step.title, status=step.status,
                            outcome=found.outcome if found else None, summary=_str(said or step.wait_reason),
                            started_at=step.started_at, ended_at=step.ended_at))
    return rows


def _within(at: datetime | None, start: datetime, end: datetime | None) -> bool:
    return at is not None and at >= start and (end is None or at <= end)


def _version(store: Store, run: Run) -> str | None:
    if run.meta.get("version"):
        return _str(run.meta["version"])
    for note in store.records(RunNote, run_id=run.id):
        if note.record.outcome == "started" and note.record.plan_version:
            return note.record.plan_version
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
    own_typed = [typed(e) for e in own]  # read once, selected by class below

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
    checks = [check_row(e.record, step_key=e.step_key,
                        phase=phase_of.get(e.step_key or "") or (e.step_key or "").split(".", 1)[0] or None)
              for e in select(own_typed, CheckRecord)]

    approvals = [ApprovalRow(a.gate, a.env, a.by, a.role, a.note, a.at, a.rehearsal)
                 for env in envs for a in store.approvals(run.release, env)
                 if span_end is None or a.at <= span_end]
    approvals.sort(key=lambda a: a.at)

    incidents = [IncidentRow(i.id, i.env, i.severity, i.title, i.status, i.opened_at, i.resolved_at)
                 for i in store.incidents(run.release)
                 if (i.env is None or i.env in envs) and (span_end is None or i.opened_at <= span_end)
                 and (i.resolved_at is None or i.resolved_at >= span_start)]
    known = {i.id for i in incidents}
    incidents += _incident_events(e for e in read(loose("incident"), IncidentNote) if e.record.id not in known)

    return Report(
        release=run.release, version=version, env=run.env, envs=tuple(envs), run_id=run.id, run_kind=run.kind,
        status=run.status, reason=run.reason, started_at=run.created_at, ended_at=run.ended_at,
        steps=tuple(_step_rows(steps, select(own_typed, StepNote))),
        soaks=tuple(soaks), gates=tuple(_gates(read(loose("gate"), GateDecisionRecord))), approvals=tuple(approvals),
        incidents=tuple(incidents), canaries=tuple(_canaries(select(own_typed, Record))),
        rollbacks=tuple(row for _, row in sorted(
            [((e.at, e.id), RollbackRow(at=e.at, project=e.record.project or e.record.subject, reason=e.record.reason,
                                        seconds=e.record.seconds if isinstance(e.record, RolledBack) else None,
                                        functions=_function_names(e.record.functions)
                                        if isinstance(e.record, RolledBack) else ()))
             for e in select(own_typed, RollbackRecord)]
            + [((e.at, e.id), RollbackRow(at=e.at, project=e.record.project or e.record.subject, seconds=e.record.seconds,
                                          reason=_undone_line(e.record), functions=()))
               for e in select(own_typed, Undone)], key=lambda pair: pair[0])),
        availability=tuple(_availability(read(loose("availability"), Availability))),
        checks=tuple(checks),
        plan_changes=tuple(PlanChangeRow(at=e.at, why=e.record.why, refrozen=e.record.refrozen, kept=e.record.kept)
                           for e in select(own_typed, PlanChangeAccepted)),
        overrides=tuple(overrides_of(sorted([*select(own_typed, Record)] + [typed(e) for k in ("override", "operator")
                                                                           for e in loose(k) if e.run_id is None],
                                            key=lambda e: (e.at, e.id)))),
        rehearsal=bool(run.meta.get("rehearsal")) or any(a.rehearsal for a in approvals),
        holds=tuple(_holds([e for e in select(own_typed, Record) if isinstance(e.record, DependentsHeld | UndoDone)])),
        terraform_plans=tuple(_terraform_plans(store, run.release, select(own_typed, TerraformPlanSummary))),
    )


def _undone_line(record: Undone) -> str:
    """A project's undo in the rollbacks table: how, which run, who asked inside a failed run, its verify."""
    run = f", run {record.run_id}" if record.run_id else ""
    asked = ", as a project it depends on failed" if record.asked_by == "dependency" else ""
    verify = f"; {record.verify}" if record.verify else ""
    outcome = "" if record.outcome == "undone" else f" ({record.outcome})"
    return f"undo: {record.reason}{run}{asked}{verify}{outcome}"


def _terraform_plans(store: Store, release: str, plans: list[Evidence[TerraformPlanSummary]]) -> list[TerraformPlanRow]:
    approvals = [e.record for e in store.records(PlanApproval, release=release)]
    rows = []
    for e in plans:
        plan = e.record
        by = [a.by for a in approving(plan, approvals)]
        rows.append(TerraformPlanRow(at=e.at, project=plan.project or plan.subject, sha256=plan.sha256,
                                     source=plan.source, creates=plan.creates, updates=plan.updates,
                                     deletes=plan.deletes, replaces=plan.replaces,
                                     data_changes=tuple(plan.change_lines()), approver=plan.approver,
                                     approved_by=by[-1] if by else None))
    return rows


def overrides_of(events: Iterable[Evidence[Record]]) -> list[OverrideRow]:
    """Every override and operator command among ``events``, in order."""
    rows = []
    for e in events:
        record = e.record
        if isinstance(record, Override):
            project = record.project or _str(record.extra.get("project")) or None
            rows.append(OverrideRow(e.at, record.subject, record.by, record.why, project, e.run_id))
        elif isinstance(record, OperatorCommand):
            rows.append(OverrideRow(e.at, record.outcome or "operator", record.by, record.why, record.subject,
                                    e.run_id))
    return rows


def _incident_events(events: Iterable[Evidence[IncidentNote]]) -> list[IncidentRow]:
    """Incidents known only from events (no row in the incidents table): the latest state of each."""
    rows: dict[str, IncidentRow] = {}
    for event in events:
        record = event.record
        key = f"event-{event.id}" if record.id is None else str(record.id)
        before = rows.get(key)
        resolved = record.outcome == "resolved"
        rows[key] = IncidentRow(
            id=record.id, env=event.env, severity=record.severity or (before.severity if before else "?"),
            title=record.title if record.title is not None else (before.title if before else ""),
            status="resolved" if resolved else "open",
            opened_at=before.opened_at if before else (None if resolved else event.at),
            resolved_at=event.at if resolved else None)
    return list(rows.values())
