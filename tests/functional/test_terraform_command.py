"""``terraform: {plan_command: [...]}``: a real local command prints the plan's JSON; the engine runs the plan step
and the gate from the planner's frozen steps. A replaced table waits at the gate until the approver approves that hash; a
command whose output is not a Terraform plan fails the step with one line, before any gate."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from golive.clock import VirtualClock
from golive.engine.context import Services
from golive.engine.runner import Engine
from golive.evidence.terraform import TerraformPlanSummary
from golive.plan.validate import load_plan_text
from golive.steps import planner
from golive.steps.gate import evaluate_gate
from golive.steps.registry import all_handlers
from golive.steps.terraform_gate import record_plan_approval
from golive.store.statuses import RunStatus
from golive.store.store import Store

GOLIVE = Path(sys.executable).with_name("golive")
T0 = datetime(2026, 1, 10, 8, 5, tzinfo=UTC)
PLAN = """\
release: r
version: v1
environments:
  prod: {account: "123456789012", region: eu-west-1}
projects:
  infra:
    repo: owner/infra
    deploy: {command: ["true"]}
    terraform: {plan_command: [PYTHON, print_plan.py], approver: dba, data_types: [aws_opensearch_domain]}
batches:
  - {name: one, projects: [infra]}
gates:
  go: {env: prod, requires: [terraform]}
"""
PRINT_PLAN = """\
import json, sys
changes = [{"address": a, "mode": "managed", "type": a.split(".")[0], "name": a.split(".")[1],
            "change": {"actions": acts}} for a, acts in json.load(open("changes.json"))]
print(json.dumps({"format_version": "1.2", "terraform_version": "1.9.8", "resource_changes": changes}))
"""


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    (tmp_path / "print_plan.py").write_text(PRINT_PLAN, encoding="utf-8")
    return tmp_path


@pytest.fixture
def store(folder: Path) -> Iterator[Store]:
    s = Store.open(f"sqlite:///{folder / 'state.db'}")
    yield s
    s.close()


def _release(folder: Path, store: Store, changes: list[tuple[str, list[str]]],
             version: str = "v1") -> tuple[str, str | None]:
    """The plan step and the gate of a release run, driven by the engine: (run status, reason); a run waiting at
    its gate (for approvals) is resumed, and its reason is then what the gate still lacks."""
    (folder / "changes.json").write_text(json.dumps(changes), encoding="utf-8")
    plan = load_plan_text(PLAN.replace("PYTHON", sys.executable).replace("version: v1", f"version: {version}"))
    steps = [s for s in planner.build_release(plan, "prod") if s.kind in ("terraform_plan", "gate")]
    clock = VirtualClock(T0)
    services = Services(plan=plan, store=store, clock=clock, extras={"workdir": str(folder)})
    run = store.active_run("r", "prod", "release") or store.create_run("r", "prod", "release", "0" * 64, steps,
                                                                          clock.now())
    Engine(services, all_handlers(), holder="test").drive(run.id)
    done = store.get_run(run.id)
    if done.status == RunStatus.WAITING:
        return done.status, "; ".join(evaluate_gate(store, plan, "go", "prod", clock.now()).reasons)
    return done.status, done.reason


def test_a_plan_command_replacing_a_table_waits_at_the_gate_until_its_hash_is_approved(folder: Path, store: Store) -> None:
    plan = load_plan_text(PLAN.replace("PYTHON", sys.executable))
    replaces = [("aws_dynamodb_table.tenants", ["create", "delete"]), ("aws_sqs_queue.jobs", ["create"])]
    status, reason = _release(folder, store, replaces)
    assert status == "waiting"  # a plan's missing approval is an approval like the others: the gate waits for it
    assert reason is not None and "replace aws_dynamodb_table.tenants" in reason and "needs an approval by dba" in reason
    (summary,) = [e.record for e in store.records(TerraformPlanSummary)]
    assert (summary.creates, summary.replaces, summary.source) == (1, 1, f"{sys.executable} print_plan.py")

    record_plan_approval(store, plan, "go", "prod", "ana", "dba", summary.sha256, "recreated on purpose", T0)
    search = [("aws_opensearch_domain.search", ["delete"])]  # a type the plan adds to golive's list
    # The next run weighs the plan made at v1 (once per tag), even though the command would print another now.
    assert _release(folder, store, search)[0] == "succeeded"
    assert {e.record.sha256 for e in store.records(TerraformPlanSummary)} == {summary.sha256}

    status, reason = _release(folder, store, search, version="v2")  # a new tag: planned anew, another hash
    assert status == "waiting" and reason is not None and "delete aws_opensearch_domain.search" in reason


def test_output_that_is_not_a_terraform_plan_fails_the_step_before_the_gate(folder: Path, store: Store) -> None:
    (folder / "print_plan.py").write_text("print('Terraform has no changes.')\n", encoding="utf-8")
    status, reason = _release(folder, store, [])
    assert status == "failed"
    assert reason is not None and "the Terraform plan of infra" in reason and "is not JSON" in reason
    assert store.records(TerraformPlanSummary) == []


def test_golive_gate_by_hand_makes_the_plan_once_per_tag_and_weighs_its_approval(folder: Path) -> None:
    plan_path = folder / "golive.yaml"
    plan_path.write_text(PLAN.replace("PYTHON", sys.executable), encoding="utf-8")
    (folder / "changes.json").write_text(json.dumps([("aws_dynamodb_table.tenants", ["delete"])]), encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GOLIVE_", "AWS_"))}

    def golive(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([str(GOLIVE), "-f", str(plan_path), "--db", f"sqlite:///{folder / 'state.db'}", *args],
                              capture_output=True, text=True, env=env, cwd=folder, timeout=120, check=False)

    reader = golive("gate", "go", "--env", "prod")  # by default the gate only reads the store: no plan yet
    assert reader.returncode == 1 and "golive gate go --env prod --plan-terraform" in reader.stdout, reader.stdout
    first = golive("gate", "go", "--env", "prod", "--plan-terraform")
    assert first.returncode == 1, first.stderr
    line = next(x for x in first.stdout.splitlines() if "terraform infra" in x)
    assert "✗" in line and "delete aws_dynamodb_table.tenants" in line
    sha = line.split("--plan-sha ")[1].split()[0]
    assert golive("approve", "go", "--env", "prod", "--role", "dba", "--plan-sha", sha, "--by", "ana").returncode == 0
    (folder / "changes.json").write_text(json.dumps([]), encoding="utf-8")  # the command would print another plan now
    second = golive("gate", "go", "--env", "prod", "--plan-terraform")
    assert second.returncode == 0, second.stdout + second.stderr
    assert "approved by ana (dba)" in second.stdout and sha[:12] in second.stdout  # the tag's plan, weighed again


def test_a_deploy_plans_if_needed_and_refuses_a_data_losing_plan_without_its_approval(folder: Path,
                                                                                    store: Store) -> None:
    (folder / "changes.json").write_text(json.dumps([("aws_dynamodb_table.tenants", ["delete", "create"])]),
                                         encoding="utf-8")
    plan = load_plan_text(PLAN.replace("PYTHON", sys.executable))
    steps = planner.build_deploy(plan, "prod", project="infra")  # golive deploy --project infra (a gate skipped)
    assert [s.kind for s in steps] == ["terraform_plan", "deploy"]

    def deploy() -> tuple[str, str | None]:
        clock = VirtualClock(T0)
        services = Services(plan=plan, store=store, clock=clock, extras={"workdir": str(folder)})
        run = store.create_run("r", "prod", "deploy", "0" * 64, steps, clock.now())
        Engine(services, all_handlers(), holder="test").drive(run.id)
        done = store.get_run(run.id)
        return done.status, done.reason

    status, reason = deploy()
    assert status == "failed" and reason is not None
    assert "replace aws_dynamodb_table.tenants: not deployed without an approval by dba" in reason
    (summary,) = [e.record for e in store.records(TerraformPlanSummary)]
    record_plan_approval(store, plan, "go", "prod", "ana", "dba", summary.sha256, None, T0)
    assert deploy()[0] == "succeeded"
    assert len(store.records(TerraformPlanSummary)) == 2  # the tag's plan, made once and weighed again
    assert {e.record.sha256 for e in store.records(TerraformPlanSummary)} == {summary.sha256}
