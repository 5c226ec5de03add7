"""The gate's ``terraform`` requirement, and approvals of a Terraform plan by its SHA-256.

For each project with ``terraform:``, the latest plan summary recorded for the release and environment is
weighed: a plan that deletes or replaces nothing holding data passes; one that does passes only when the
role the project names (``approver``, say ``data_owner``) approved that plan's hash. The approval names the
hash, not the run: the same plan made again (same hash) keeps it, any other plan needs a new one. A project
whose plan was never recorded fails the requirement. A plan waiting for its approver's approval is an approval
like the others: the gate waits for it (``approval_only``), and the page offers the role.

``golive approve GATE --role ROLE --plan-sha SHA`` records a ``PlanApproval`` (``record_plan_approval``); it
is refused for a hash no recorded plan of the release has, or a role that is not that plan's approver.
"""

from __future__ import annotations

from datetime import datetime

from golive.errors import UsageError
from golive.evidence.gates import GateItem
from golive.evidence.terraform import PlanApproval, TerraformPlanSummary, approving
from golive.plan.model import Plan
from golive.steps.kind import StepParams
from golive.store.store import Store

SHA_SHOWN = 12  # a plan's hash as lines show it; approvals take the whole hash


class TerraformGate(StepParams):
    """A project whose Terraform plan the gate weighs, and the role that approves its data changes."""

    project: str
    approver: str
    tag: str | None = None  # the release tag whose plan is weighed (None: the latest plan, whatever its tag)


def terraform_gates(plan: Plan) -> list[TerraformGate]:
    return [TerraformGate(project=name, approver=p.terraform.approver, tag=plan.version)
            for name, p in plan.projects.items() if p.terraform is not None]


def latest_summary(store: Store, release: str, env: str, project: str,
                   tag: str | None = None) -> TerraformPlanSummary | None:
    found = [e.record for e in store.records(TerraformPlanSummary, release=release, env=env)
             if e.record.project == project and (tag is None or e.record.tag == tag)]
    return found[-1] if found else None


def plan_approvals(store: Store, release: str, summary: TerraformPlanSummary) -> list[PlanApproval]:
    return approving(summary, (e.record for e in store.records(PlanApproval, release=release)))


def terraform_item(store: Store, release: str, env: str, gate: str, spec: TerraformGate) -> GateItem:
    name = f"terraform {spec.project}"
    summary = latest_summary(store, release, env, spec.project, spec.tag)
    if summary is None:
        at = f" at {spec.tag}" if spec.tag else ""
        return GateItem(name, False, f"no Terraform plan of {spec.project}{at} is recorded for {env} (a release run "
                                     f"makes it before its gate; by hand: golive gate {gate} --env {env} "
                                     "--plan-terraform)")
    counts = f"{summary.creates} to create, {summary.updates} to update, {summary.deletes} to delete, " \
             f"{summary.replaces} to replace"
    head = f"plan {summary.sha256[:SHA_SHOWN]} ({counts})"
    evidence = {"project": spec.project, "sha256": summary.sha256, "data_changes": list(summary.data_changes),
                "approver": spec.approver}
    if not summary.changes_data:
        return GateItem(name, True, f"{head}: deletes or replaces nothing that holds data", evidence)
    changes = "; ".join(summary.change_lines())
    approved = plan_approvals(store, release, summary)
    if approved:
        a = approved[-1]
        return GateItem(name, True, f"{head}: {changes}; approved by {a.by} ({a.role}) for this plan"
                        + (f": {a.note}" if a.note else ""), {**evidence, "approved_by": a.by})
    # An approval like the others: the gate waits for it (people) and the page offers the role.
    return GateItem(name, False, f"{head}: {changes}; needs an approval by {spec.approver} of plan sha256 "
                                 f"{summary.sha256} (golive approve {gate} --env {env} --role {spec.approver} "
                                 f"--plan-sha {summary.sha256} --by NAME)", evidence, approval_only=True)


def approving_gate(plan: Plan) -> str | None:
    """The gate whose ``golive approve GATE --plan-sha`` approves a plan: the first that weighs Terraform plans."""
    return next((g for g, spec in plan.gates.items() if "terraform" in spec.requires), None)


def plan_to_apply(store: Store, release: str, env: str, project: str, tag: str | None, *, made_before: str,
                  refused: str, gate: str | None = None) -> TerraformPlanSummary | str:
    """The recorded plan of ``project`` at ``tag`` an apply may run with, or why not (one line): none recorded, or
    it deletes or replaces data without an approval of its hash by its approver (``refused``: "not deployed")."""
    summary = latest_summary(store, release, env, project, tag)
    at = f" at {tag}" if tag else ""
    if summary is None:
        return f"no Terraform plan of {project}{at} is recorded for {env} (its plan step makes it before {made_before})"
    approved = bool(plan_approvals(store, release, summary))
    if summary.changes_data and not approved:
        return (f"the Terraform plan of {project}{at} ({summary.sha256[:SHA_SHOWN]}) would "
                f"{'; '.join(summary.change_lines())}: {refused} without an approval by {summary.approver} of plan "
                f"sha256 {summary.sha256} (golive approve {gate or 'GATE'} --env {env} --role {summary.approver} "
                f"--plan-sha {summary.sha256} --by NAME)")
    return summary


def record_plan_approval(store: Store, plan: Plan, gate: str, env: str, by: str, role: str | None, sha: str,
                         note: str | None, now: datetime) -> PlanApproval:
    """A person's approval of the recorded Terraform plan whose SHA-256 is ``sha`` (the whole hash)."""
    if gate not in plan.gates or "terraform" not in plan.gates[gate].requires:
        weighing = [g for g, spec in plan.gates.items() if "terraform" in spec.requires]
        raise UsageError(f"gate '{gate}' does not weigh Terraform plans (gates that do: "
                         f"{', '.join(weighing) or 'none: add terraform to a gate requires:'})")
    wanted = sha.strip().lower()
    if len(wanted) != 64 or any(c not in "0123456789abcdef" for c in wanted):
        raise UsageError(f"--plan-sha '{sha}' is not a SHA-256 (64 hexadecimal digits, as the NO-GO line gives it)")
    plans = [e.record for e in store.records(TerraformPlanSummary, release=plan.release, env=env)
             if e.record.sha256 == wanted]
    if not plans:
        raise UsageError(f"no recorded Terraform plan of {plan.release} in {env} has sha256 {wanted[:SHA_SHOWN]}...: "
                         "approve the hash a gate's NO-GO named")
    summary = plans[-1]
    if role is None:
        raise UsageError(f"the plan of {summary.project} is approved by role {summary.approver}: add --role "
                         f"{summary.approver}")
    if role != summary.approver:
        raise UsageError(f"the plan of {summary.project} is approved by role {summary.approver}, not '{role}'")
    approval = PlanApproval(subject=summary.project, sha256=wanted, role=role, by=by, gate=gate, note=note)
    store.append_record(approval, release=plan.release, env=env, at=now)
    return approval
