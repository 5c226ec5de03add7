"""Gates: approvals recorded by people, and the GO / NO-GO decision.

A gate is GO when every requirement holds: the required soaks passed, a
preflight ran within the freshness limit with nothing left that prep cannot
fix, each Terraform plan deletes or replaces no data-holding resource unless
its approver approved that plan's hash (``terraform_gate.py``), no P0/P1
incident is open, no freeze window is in force, each required role approved
(which confirms the checklist). Every item is kept with its
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

from golive import schedule
from golive.analysis.units import human_duration
from golive.checks.runner import run_checks
from golive.engine.context import StepContext
from golive.engine.outcome import Done, Fail, Outcome, Wait
from golive.errors import UnknownNameError, UsageError
from golive.evidence.checks import Preflight
from golive.evidence.gates import ApprovalRecord, GateDecisionRecord, GateItem
from golive.evidence.runs import Checkpoint, SecretSet, SoakVerdict
from golive.plan.model import FreezeWindow, Plan
from golive.steps.checking import check_context, preflight_checks, preflight_summary, sourced_secrets
from golive.steps.kind import StepKind, StepParams
from golive.steps.terraform_gate import TerraformGate, terraform_gates, terraform_item
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
    distinct = plan.gates[gate].distinct_approvers if gate in plan.gates else True
    other = next((a.role for a in store.approvals(plan.release, env, gate) if a.by == by and a.role != role), None)
    if distinct and other is not None:
        raise UsageError(f"{by} already approved {gate} for {env} as {other}: each role needs a different person "
                         f"(distinct_approvers)")
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


def _soak_item(store: Store, release: str, soak_env: str) -> GateItem:
    name = f"soak.{soak_env}"
    # A soak inside a release run is stamped with the run's environment; its record names the soak's.
    verdicts = [e for e in store.records(SoakVerdict, release=release) if e.record.env == soak_env]
    if not verdicts:
        cps = [e.record for e in store.records(Checkpoint, release=release) if e.record.env == soak_env]
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
                                f"checkpoints ({schedule.local(at)})", verdict.to_data())


def _preflight_item(store: Store, release: str, env: str, freshness: timedelta, now: datetime) -> GateItem:
    found = store.records(Preflight, release=release, env=env)
    if not found:
        return GateItem("preflight", False, f"no preflight has run for {env} (golive preflight --env {env})",
                        refreshable=True)
    preflight, at = found[-1].record, found[-1].at
    age = now - at
    if age > freshness:
        return GateItem("preflight", False, f"the last preflight is {human_duration(age)} old "
                                            f"(freshness {human_duration(freshness)})", {"at": at.isoformat()},
                        refreshable=True)
    changed = _changed_since(store, release, at)
    if changed:
        return GateItem("preflight", False, f"the last preflight ({human_duration(age)} ago) predates "
                                            f"{'; '.join(changed)} (golive preflight --env {env})",
                        {"at": at.isoformat()}, refreshable=True)
    if preflight.blocking:
        return GateItem("preflight", False, "; ".join(preflight.blocking), preflight.to_data())
    fixable = preflight.fixable
    note = f" ({len(fixable)} items left to prep: {'; '.join(fixable)})" if fixable else ""
    return GateItem("preflight", True, f"passed {human_duration(age)} ago{note}", preflight.to_data())


def _changed_since(store: Store, release: str, at: datetime) -> list[str]:
    """What a command changed since ``at`` that a preflight checks: secrets written, release tags created."""
    secrets = sorted({e.record.name for e in store.records(SecretSet, release=release) if e.at > at})
    tags = [r.id for r in store.runs(release, kind="tag") if r.ended_at is not None and r.ended_at > at]
    return ([f"secrets set since: {', '.join(secrets)}"] if secrets else []) + \
        ([f"tags created since (run {', '.join(map(str, tags))})"] if tags else [])


def by_hand(decision: Decision) -> Decision:
    """A decision for ``golive gate`` by hand, which no prep phase follows: items left to prep fail the preflight."""
    items = []
    for item in decision.items:
        fixable = (item.evidence or {}).get("fixable") if item.name == "preflight" and isinstance(item.evidence, dict) \
            else None
        items.append(GateItem("preflight", False, f"{len(fixable)} left to do before a deploy by hand (golive "
                                                  f"secrets set, golive tag): {'; '.join(fixable)}", item.evidence)
                     if item.ok and fixable else item)
    return Decision(decision.gate, decision.env, tuple(items))


def _approval_items(store: Store, release: str, gate: str, roles: list[str], env: str, freshness: timedelta,
                    now: datetime, since: datetime | None) -> list[GateItem]:
    approvals = [a for a in store.approvals(release, env, gate)
                 if now - a.at <= freshness and (since is None or a.at >= since)]
    items = []
    for role in roles:
        who = [a for a in approvals if a.role == role]
        if who:
            a = who[-1]
            kind = " (rehearsal)" if a.rehearsal else ""
            items.append(GateItem(f"approval {role}", True, f"{a.by}{kind} at {schedule.local(a.at)}"
                                  + (f": {a.note}" if a.note else ""), {"by": a.by, "note": a.note}))
        else:
            items.append(GateItem(f"approval {role}", False, f"no approval by role {role} "
                                  f"(golive approve {gate} --env {env} --role {role} --by NAME)", approval_only=True))
    return items


def _incident_item(store: Store, release: str) -> GateItem:
    open_ = [i for i in store.incidents(release, open_only=True) if i.severity in ("P0", "P1")]
    if open_:
        return GateItem("incidents", False, "; ".join(f"open {i.severity} #{i.id}: {i.title}" for i in open_),
                        [{"id": i.id, "severity": i.severity, "title": i.title} for i in open_])
    return GateItem("incidents", True, "no open P0 or P1 incident")


def freeze_item(plan: Plan, now: datetime) -> GateItem:
    return _freeze_item(freeze_spans(plan), now)


def freeze_spans(plan: Plan) -> list[FreezeSpan]:
    """The plan's freezes as a gate freezes them: dated windows, weekly rules (in the plan's zone), holidays."""
    tz = plan.tz
    out: list[FreezeSpan] = []
    for window in plan.freeze:
        if isinstance(window, FreezeWindow):
            out.append(FreezeSpan(start=window.start, end=window.end, reason=window.reason))
        else:
            out.append(FreezeSpan(days=list(window.days), weekly=(window.start, window.end), timezone=plan.timezone,
                                  reason=window.reason))
    for day in plan.holidays:
        span = schedule.holiday_span(day, tz)
        out.append(FreezeSpan(start=span.start, end=span.end, reason=f"public holiday {day:%b %d}"))
    return out


def _freeze_item(windows: list[FreezeSpan], now: datetime) -> GateItem:
    for window in windows:
        for span in window.spans(now):
            if span.holds(now):
                until = schedule.local(span.end, schedule.zone(window.timezone))
                return GateItem("freeze", False, f"freeze window in force until {until}: {window.reason}",
                                {"start": span.start.isoformat(), "end": span.end.isoformat()})
    return GateItem("freeze", True, "no freeze window in force")


def gate_params(plan: Plan, gate: str, env: str) -> GateParams:
    """A gate of the plan as its step freezes it: everything the decision weighs, read once."""
    if gate not in plan.gates:
        raise UnknownNameError("gate", gate, list(plan.gates))
    spec = plan.gates[gate]
    if spec.env is not None and spec.env != env:
        raise UsageError(f"gate '{gate}' is for environment '{spec.env}', not '{env}'")
    return GateParams(gate=gate, env=env, requires=list(spec.requires), approvals=list(spec.approvals),
                      checklist=list(spec.checklist), freshness_s=spec.freshness.total_seconds(),
                      freeze=freeze_spans(plan),
                      preflight=preflight_checks(plan, env)
                      if "preflight" in spec.requires and env in plan.environments else [],
                      sourced_secrets=sourced_secrets(plan),
                      terraform=terraform_gates(plan) if "terraform" in spec.requires else [])


def evaluate_gate(store: Store, plan: Plan, gate: str, env: str, now: datetime,
                  live_items: list[GateItem] | None = None, approvals_since: datetime | None = None) -> Decision:
    """GO when every requirement holds: soaks passed, preflight fresh, approvals, no P0/P1, no freeze."""
    return decide(store, plan.release, gate_params(plan, gate, env), now, live_items, approvals_since)


def decide(store: Store, release: str, params: GateParams, now: datetime, live_items: list[GateItem] | None = None,
           approvals_since: datetime | None = None) -> Decision:
    """The decision from a gate's frozen parameters and the store's evidence (nothing read from the plan)."""
    gate, env = params.gate, params.env
    freshness = timedelta(seconds=params.freshness_s)
    items: list[GateItem] = []
    for req in params.requires:
        if req == "preflight":
            items.append(_preflight_item(store, release, env, freshness, now))
        elif req.startswith("soak."):
            items.append(_soak_item(store, release, req.split(".", 1)[1]))
        elif req == "terraform":
            items += [terraform_item(store, release, env, gate, spec) for spec in params.terraform]
    items.append(_incident_item(store, release))
    items.append(_freeze_item(params.freeze, now))
    items += live_items or []
    items += _approval_items(store, release, gate, params.approvals, env, freshness, now, approvals_since)
    if params.checklist:
        approved = all(i.ok for i in items if i.name.startswith("approval "))
        items.append(GateItem(f"checklist ({len(params.checklist)} items)", approved,
                              "confirmed by the approvers" if approved else "confirmed when the approvers approve",
                              list(params.checklist), approval_only=True))
    return Decision(gate, env, tuple(items))


def record_decision(store: Store, release: str, decision: Decision, now: datetime, asked_by: str,
                    run_id: int | None = None) -> None:
    record = GateDecisionRecord.from_data(decision.gate, decision.verdict, {**decision.to_dict(), "asked_by": asked_by})
    store.append_record(record, release=release, env=decision.env, at=now, run_id=run_id)


def latest_decision(store: Store, plan: Plan, env: str) -> Event | None:
    return _latest([e for e in store.events(release=plan.release, env=env, kind="gate")])


def _fresh_preflight(ctx: StepContext, params: GateParams) -> None:
    """The last preflight is missing or too old for the gate: run it again now, as evidence for this decision."""
    env, entries = params.env, params.preflight
    results = run_checks(entries, lambda e: check_context(ctx.services, e or env))
    summary = preflight_summary(params.sourced_secrets, entries, results)
    record = Preflight.from_data(f"preflight {env} (re-run for the gate)",
                                 "pass" if not summary["blocking"] and not summary["fixable"] else "warn",
                                 ctx.services.redact.data(summary))
    ctx.store.append_record(record, release=ctx.run.release, env=env, run_id=ctx.run.id, step_key=ctx.step.key,
                            at=ctx.now)


class FreezeSpan(StepParams):
    """A freeze as a gate freezes it: dated (``start``, ``end``) or weekly (``days`` and local ``weekly`` times)."""

    start: datetime | None = None
    end: datetime | None = None
    days: list[str] | None = None
    weekly: tuple[str, str] | None = None
    timezone: str | None = None
    reason: str = ""

    def spans(self, around: datetime) -> list[schedule.Span]:
        if self.start is not None and self.end is not None:
            return [schedule.Span(self.start, self.end)]
        if self.days and self.weekly:
            return schedule.weekly_spans(self.days, *self.weekly, schedule.zone(self.timezone), around)
        return []


class GateParams(StepParams):
    gate: str
    env: str
    # What the gate weighs, as the plan said it when the step was frozen (the dry run prints these).
    requires: list[str] = Field(default_factory=list)
    approvals: list[str] = Field(default_factory=list)
    checklist: list[str] = Field(default_factory=list)
    freshness_s: float = 86400.0  # how old a passed preflight or an approval may be
    freeze: list[FreezeSpan] = Field(default_factory=list)  # the plan's freeze windows
    preflight: list[dict[str, Any]] = Field(default_factory=list)  # what a stale preflight is run again with
    sourced_secrets: dict[str, list[str]] = Field(default_factory=dict)  # per project: secrets prep can set
    terraform: list[TerraformGate] = Field(default_factory=list)  # projects whose Terraform plan is weighed


def describe(params: GateParams) -> list[str]:
    fresh = human_duration(timedelta(seconds=params.freshness_s))
    return [*(f"requires {r}" + (f" (at most {fresh} old)" if r == "preflight" else "") for r in params.requires),
            *(f"terraform {t.project}: its plan deletes or replaces no data-holding resource, or {t.approver} "
              "approved that plan's SHA-256" for t in params.terraform),
            *(f"approval by role {r} (within {fresh})" for r in params.approvals),
            *(f"checklist: {c}" for c in params.checklist),
            *(f"freeze {w.start:%b %d %H:%M}–{w.end:%b %d %H:%M}: {w.reason}" for w in params.freeze)]


def run(ctx: StepContext, params: GateParams) -> Outcome:
    release, store = ctx.run.release, ctx.store
    gate, env = params.gate, params.env
    decision = decide(store, release, params, ctx.now)
    if any(i.refreshable for i in decision.items):
        _fresh_preflight(ctx, params)
        decision = decide(store, release, params, ctx.now)
    if decision.only_approvals_missing:
        missing = [i.name.removeprefix("approval ") for i in decision.items if i.name.startswith("approval ") and not i.ok]
        if ctx.services.approver.settle(store, release, env, gate, missing, ctx.now) != missing:
            decision = decide(store, release, params, ctx.now)
    if decision.go:
        return Done(f"{gate}: GO", decision.to_dict(), outcome="GO", kind="gate", subject=gate)
    plans = [i for i in decision.items if i.name.startswith("terraform ") and not i.ok]
    if decision.only_approvals_missing and (ctx.services.approver.people or not plans):
        waiting = [i.name.removeprefix("approval ") for i in decision.items
                   if i.name.startswith("approval ") and not i.ok]
        waiting += [f"{(i.evidence or {}).get('approver')} of the Terraform plan of "
                    f"{(i.evidence or {}).get('project')} (--plan-sha {(i.evidence or {}).get('sha256')})"
                    for i in plans]
        return Wait(None, f"GO pending approvals by {', '.join(waiting)} "
                          f"(golive approve {gate} --env {env} --role ROLE --by NAME)")
    record_decision(store, release, decision, ctx.now, asked_by="golive run", run_id=ctx.run.id)
    return Fail(f"NO-GO: {'; '.join(decision.reasons)}", decision.to_dict(), ends_as=RunStatus.NO_GO)


KIND = StepKind("gate", GateParams, run, describe)
