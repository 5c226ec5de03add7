"""Gates: approvals recorded by people, and the GO / NO-GO decision.

A gate is GO when every requirement holds: the required soaks passed, a
preflight ran within the freshness limit with nothing left that prep cannot
fix, no P0/P1 incident is open, no freeze window is in force, each required
role approved (which confirms the checklist). Every item is kept with its
evidence, so a NO-GO lists each reason, and the decision is stored.

An approval is only accepted for a gate the plan has (or ``signoff``) and,
when the gate lists roles, for one of those roles: a typo in ``--role``
must not silently leave the gate closed.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from pydantic import Field

from golive.analysis.units import human_duration
from golive.checks.runner import run_checks
from golive.engine.context import StepContext
from golive.engine.outcome import Done, Fail, Outcome, Wait
from golive.errors import UnknownNameError, UsageError
from golive.evidence.checks import Preflight
from golive.evidence.gates import ApprovalRecord, GateDecisionRecord, GateItem
from golive.evidence.runs import Checkpoint, SoakVerdict
from golive.plan.model import Plan
from golive.steps.checking import check_context, preflight_checks, preflight_summary
from golive.steps.kind import StepKind, StepParams
from golive.store.statuses import RunStatus
from golive.store.store import Event, Store


def gate_roles(plan: Plan, gate: str) -> list[str]:
    if gate == "signoff":
        return list(plan.signoff)
    if gate not in plan.gates:
        raise UnknownNameError("gate", gate, [*plan.gates, "signoff"])
    return list(plan.gates[gate].approvals)


def record_approval(store: Store, plan: Plan, gate: str, env: str, by: str, role: str | None, note: str | None,
                    now: datetime) -> int:
    roles = gate_roles(plan, gate)
    if roles and role is None:
        raise UsageError(f"gate '{gate}' needs approvals by role ({', '.join(roles)}): add --role ROLE")
    if roles and role not in roles:
        raise UsageError(f"gate '{gate}' takes no approval from role '{role}' (roles: {', '.join(roles)})")
    approval_id = store.add_approval(plan.release, env, gate, by, role, note, now)
    store.append_record(ApprovalRecord(subject=gate, by=by, role=role, note=note, approval=approval_id),
                        release=plan.release, env=env, at=now)
    return approval_id


@dataclass(frozen=True)
class Decision:
    gate: str
    env: str
    items: tuple[GateItem, ...]

    @property
    def go(self) -> bool:
        return all(i.ok for i in self.items)

    @property
    def only_approvals_missing(self) -> bool:
        return not self.go and all(i.ok or i.approval_only for i in self.items)

    @property
    def verdict(self) -> str:
        return "GO" if self.go else "NO-GO"

    @property
    def reasons(self) -> list[str]:
        return [f"{i.name}: {i.detail}" for i in self.items if not i.ok and not i.name.startswith("checklist")]

    def to_dict(self) -> dict[str, Any]:
        return {"gate": self.gate, "env": self.env, "verdict": self.verdict,
                "items": [i.to_dict() for i in self.items], "reasons": self.reasons}


def _latest(events: list[Event]) -> Event | None:
    return events[-1] if events else None


def _soak_item(store: Store, plan: Plan, soak_env: str) -> GateItem:
    name = f"soak.{soak_env}"
    # A soak inside a release run is stamped with the run's environment; its record names the soak's.
    verdicts = [e for e in store.records(SoakVerdict, release=plan.release) if e.record.env == soak_env]
    if not verdicts:
        cps = [e.record for e in store.records(Checkpoint, release=plan.release) if e.record.env == soak_env]
        failed = [c for c in cps if c.outcome == "fail"]
        if failed:
            return GateItem(name, False, f"{failed[-1].subject} failed: " + "; ".join(failed[-1].failures),
                            list(failed[-1].failures))
        return GateItem(name, False, f"no completed {soak_env} soak ({len(cps)} checkpoints so far)")
    verdict, at = verdicts[-1].record, verdicts[-1].at
    if verdict.outcome != "pass":
        reasons = "; ".join(verdict.reasons)
        return GateItem(name, False, f"failed at checkpoint {verdict.failed_at} of {verdict.checkpoints}: {reasons}",
                        verdict.to_data())
    return GateItem(name, True, f"passed: {verdict.checkpoints} of {verdict.checkpoints} "
                                f"checkpoints ({at:%b %d %H:%M})", verdict.to_data())


def _preflight_item(store: Store, plan: Plan, env: str, freshness: timedelta, now: datetime) -> GateItem:
    found = store.records(Preflight, release=plan.release, env=env)
    if not found:
        return GateItem("preflight", False, f"no preflight has run for {env} (golive preflight --env {env})",
                        refreshable=True)
    preflight, at = found[-1].record, found[-1].at
    age = now - at
    if age > freshness:
        return GateItem("preflight", False, f"the last preflight is {human_duration(age)} old "
                                            f"(freshness {human_duration(freshness)})", {"at": at.isoformat()},
                        refreshable=True)
    if preflight.blocking:
        return GateItem("preflight", False, "; ".join(preflight.blocking), preflight.to_data())
    fixable = preflight.fixable
    note = f" ({len(fixable)} items left to prep: {'; '.join(fixable)})" if fixable else ""
    return GateItem("preflight", True, f"passed {human_duration(age)} ago{note}", preflight.to_data())


def _approval_items(store: Store, plan: Plan, gate: str, env: str, freshness: timedelta,
                    now: datetime, since: datetime | None) -> list[GateItem]:
    roles = gate_roles(plan, gate)
    approvals = [a for a in store.approvals(plan.release, env, gate)
                 if now - a.at <= freshness and (since is None or a.at >= since)]
    items = []
    for role in roles:
        who = [a for a in approvals if a.role == role]
        if who:
            a = who[-1]
            kind = " (rehearsal)" if a.rehearsal else ""
            items.append(GateItem(f"approval {role}", True, f"{a.by}{kind} at {a.at:%b %d %H:%M}"
                                  + (f": {a.note}" if a.note else ""), {"by": a.by, "note": a.note}))
        else:
            items.append(GateItem(f"approval {role}", False, f"no approval by role {role} "
                                  f"(golive approve {gate} --env {env} --role {role} --by NAME)", approval_only=True))
    return items


def _incident_item(store: Store, plan: Plan) -> GateItem:
    open_ = [i for i in store.incidents(plan.release, open_only=True) if i.severity in ("P0", "P1")]
    if open_:
        return GateItem("incidents", False, "; ".join(f"open {i.severity} #{i.id}: {i.title}" for i in open_),
                        [{"id": i.id, "severity": i.severity, "title": i.title} for i in open_])
    return GateItem("incidents", True, "no open P0 or P1 incident")


def freeze_item(plan: Plan, now: datetime) -> GateItem:
    for window in plan.freeze:
        if window.start <= now < window.end:
            return GateItem("freeze", False, f"freeze window in force until {window.end:%b %d %H:%M}: {window.reason}",
                            {"start": window.start.isoformat(), "end": window.end.isoformat()})
    return GateItem("freeze", True, "no freeze window in force")


def evaluate_gate(store: Store, plan: Plan, gate: str, env: str, now: datetime,
                  live_items: list[GateItem] | None = None, approvals_since: datetime | None = None) -> Decision:
    """GO when every requirement holds: soaks passed, preflight fresh, approvals, no P0/P1, no freeze."""
    if gate not in plan.gates:
        raise UnknownNameError("gate", gate, list(plan.gates))
    spec = plan.gates[gate]
    if spec.env is not None and spec.env != env:
        raise UsageError(f"gate '{gate}' is for environment '{spec.env}', not '{env}'")
    items: list[GateItem] = []
    for req in spec.requires:
        if req == "preflight":
            items.append(_preflight_item(store, plan, env, spec.freshness, now))
        elif req.startswith("soak."):
            items.append(_soak_item(store, plan, req.split(".", 1)[1]))
    items.append(_incident_item(store, plan))
    items.append(freeze_item(plan, now))
    items += live_items or []
    items += _approval_items(store, plan, gate, env, spec.freshness, now, approvals_since)
    if spec.checklist:
        approved = all(i.ok for i in items if i.name.startswith("approval "))
        items.append(GateItem(f"checklist ({len(spec.checklist)} items)", approved,
                              "confirmed by the approvers" if approved else "confirmed when the approvers approve",
                              list(spec.checklist), approval_only=True))
    return Decision(gate, env, tuple(items))


def record_decision(store: Store, plan: Plan, decision: Decision, now: datetime, asked_by: str,
                    run_id: int | None = None) -> None:
    record = GateDecisionRecord.from_data(decision.gate, decision.verdict, {**decision.to_dict(), "asked_by": asked_by})
    store.append_record(record, release=plan.release, env=decision.env, at=now, run_id=run_id)


def latest_decision(store: Store, plan: Plan, env: str) -> Event | None:
    return _latest([e for e in store.events(release=plan.release, env=env, kind="gate")])


def _fresh_preflight(ctx: StepContext, env: str) -> None:
    """The last preflight is missing or too old for the gate: run it again now, as evidence for this decision."""
    entries = preflight_checks(ctx.services.plan, env)
    results = run_checks(entries, lambda e: check_context(ctx.services, e or env))
    summary = preflight_summary(ctx.services.plan, entries, results)
    record = Preflight.from_data(f"preflight {env} (re-run for the gate)",
                                 "pass" if not summary["blocking"] and not summary["fixable"] else "warn",
                                 ctx.services.redact.data(summary))
    ctx.store.append_record(record, release=ctx.run.release, env=env, run_id=ctx.run.id, step_key=ctx.step.key,
                            at=ctx.now)


class GateParams(StepParams):
    gate: str
    env: str
    # What the gate weighs, as the plan said it when the step was frozen (the dry run prints these).
    requires: list[str] = Field(default_factory=list)
    approvals: list[str] = Field(default_factory=list)
    checklist: list[str] = Field(default_factory=list)


def describe(params: GateParams) -> list[str]:
    return [*(f"requires {r}" for r in params.requires), *(f"approval by role {r}" for r in params.approvals),
            *(f"checklist: {c}" for c in params.checklist)]


def run(ctx: StepContext, params: GateParams) -> Outcome:
    plan, store = ctx.services.plan, ctx.store
    gate, env = params.gate, params.env
    decision = evaluate_gate(store, plan, gate, env, ctx.now)
    if any(i.refreshable for i in decision.items):
        _fresh_preflight(ctx, env)
        decision = evaluate_gate(store, plan, gate, env, ctx.now)
    if decision.only_approvals_missing:
        missing = [i.name.removeprefix("approval ") for i in decision.items if i.name.startswith("approval ") and not i.ok]
        if ctx.services.approver.settle(store, plan.release, env, gate, missing, ctx.now) != missing:
            decision = evaluate_gate(store, plan, gate, env, ctx.now)
    if decision.go:
        return Done(f"{gate}: GO", decision.to_dict(), outcome="GO", kind="gate", subject=gate)
    if decision.only_approvals_missing:
        waiting = [i.name.removeprefix("approval ") for i in decision.items
                   if i.name.startswith("approval ") and not i.ok]
        return Wait(None, f"GO pending approvals by {', '.join(waiting)} "
                          f"(golive approve {gate} --env {env} --role ROLE --by NAME)")
    record_decision(store, plan, decision, ctx.now, asked_by="golive run", run_id=ctx.run.id)
    return Fail(f"NO-GO: {'; '.join(decision.reasons)}", decision.to_dict(), ends_as=RunStatus.NO_GO)


KIND = StepKind("gate", GateParams, run, describe)
