"""The page's gate and the Terraform plans it weighs: waiting while they are made, then for their approvals.

An unmade plan fails the gate's ``terraform`` requirement when the gate decides; a run makes each plan before
its gate, so while a plan step is still open the page says the gate waits for the plans. Once they are
recorded (no data changes here), only the approvals are missing: waiting for approval. A plan that replaces
a table waits for its approver's approval of its hash like any approval, and the page's action records it.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from golive.clock import VirtualClock
from golive.evidence.terraform import TerraformPlanSummary
from golive.examples import example_path
from golive.plan.validate import load_plan
from golive.runs.release import plan_digest, plan_facts
from golive.serve.actions import Actor, perform
from golive.serve.auth import User
from golive.serve.records import PLANNING, release_view
from golive.steps import planner
from golive.steps.gate import evaluate_gate
from golive.store.statuses import RunStatus, StepStatus
from golive.store.store import Store

AT = datetime(2026, 1, 9, 9, 0, tzinfo=UTC)


def _gate_state(store: Store, release: str) -> str:
    plan = load_plan(example_path("bbws"))
    (gate,) = [g for g in release_view(store, plan, release, AT + timedelta(minutes=5))["gates"]
               if g["gate"] == "go_no_go"]
    return str(gate["state"])


def test_a_gate_whose_run_still_plans_waits_for_the_plans_then_for_approvals(tmp_path: Path) -> None:
    plan = load_plan(example_path("bbws"))
    store = Store.open(f"sqlite:///{tmp_path / 'state.db'}")
    try:
        run = store.create_run(plan.release, "prod", "release", plan_digest(plan), planner.build_release(plan, "prod"),
                               AT, meta={"plan": plan_facts(plan)})
        for kind, subject, data in (("soak", "sit soak", {"env": "sit", "checkpoints": 8}),
                                    ("preflight", "preflight prod", {"blocking": [], "fixable": []})):
            store.append_event(release=plan.release, env="prod", kind=kind, subject=subject, outcome="pass", at=AT,
                               data=data)
        store.set_run(run.id, AT, status=RunStatus.RUNNING)
        steps = {s.key: s for s in store.steps(run.id)}
        planned = [n for n, p in plan.projects.items() if p.terraform is not None]
        assert planned
        assert _gate_state(store, plan.release) == PLANNING

        for name in planned:
            spec = plan.projects[name].terraform
            assert spec is not None
            store.append_record(TerraformPlanSummary(
                subject=name, outcome="no_data_changes", project=name, sha256="ab" * 32, tag=plan.version,
                source="test", format_version="1.2", creates=1, approver=spec.approver),
                release=plan.release, env="prod", at=AT, run_id=run.id)
            store.update_step(steps[f"terraform.{name}"].id, status=StepStatus.DONE, started_at=AT, ended_at=AT)
        assert _gate_state(store, plan.release) == "waiting for approval"
    finally:
        store.close()


def test_a_data_losing_plan_waits_for_its_approver_and_the_page_approves_its_hash(tmp_path: Path) -> None:
    plan = load_plan(example_path("bbws"))
    store = Store.open(f"sqlite:///{tmp_path / 'state.db'}")
    try:
        for kind, subject, data in (("soak", "sit soak", {"env": "sit", "checkpoints": 8}),
                                    ("preflight", "preflight prod", {"blocking": [], "fixable": []})):
            store.append_event(release=plan.release, env="prod", kind=kind, subject=subject, outcome="pass", at=AT,
                               data=data)
        for role in ("devops", "tech_lead"):
            store.add_approval(plan.release, "prod", "go_no_go", f"a-{role}", role, None, AT)
        shas = {}
        for name, project in plan.projects.items():
            if project.terraform is None:
                continue
            data_losing = name == "dynamodb_schemas"
            shas[name] = ("cd" if data_losing else "ab") * 32
            store.append_record(TerraformPlanSummary(
                subject=name, outcome="data_changes" if data_losing else "no_data_changes", project=name,
                sha256=shas[name], tag=plan.version, source="test", format_version="1.2", replaces=int(data_losing),
                data_changes=({"address": "aws_dynamodb_table.tenants", "type": "aws_dynamodb_table",
                               "action": "replace"},) if data_losing else (),
                approver=project.terraform.approver), release=plan.release, env="prod", at=AT)
        waiting = evaluate_gate(store, plan, "go_no_go", "prod", AT)
        assert not waiting.go and waiting.only_approvals_missing  # an approval like the others
        (item,) = [i for i in waiting.items if not i.ok]
        assert item.name == "terraform dynamodb_schemas" and "replace aws_dynamodb_table.tenants" in item.detail

        owner = Actor(User("dana", frozenset({"data_owner"})), "127.0.0.1")
        done = perform(store, plan, VirtualClock(AT), owner, "approve",
                       {"gate": "go_no_go", "env": "prod", "role": "data_owner", "plan_sha": shas["dynamodb_schemas"]})
        assert done["plan_sha"] == shas["dynamodb_schemas"]
        assert evaluate_gate(store, plan, "go_no_go", "prod", AT).go
    finally:
        store.close()
