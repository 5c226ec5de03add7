"""The Terraform plan is part of GO (issue 26, item 3), end to end in the sandbox.

The bbws plan on its short timeline with ``terraform:`` on the DynamoDB schema project and ``terraform`` in the
gate's requirements. The plan workflow runs once at the release tag in the local GitHub, its artifact is
downloaded through the REST artifacts API, and:

- a fault that makes the plan replace the tenants table ends the rehearsal NO-GO, naming the table and the
  action, with the plan's SHA-256;
- approved by ``data_owner`` for that hash (the real ``golive approve`` command), the same rehearsal goes GO;
- a changed plan (it replaces another table) has another hash, and is NO-GO again.

The gate item's rules are also held directly against a store: the same hash keeps its approval, another hash
needs a new one, an approval by another role does not count.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import yaml

from golive.errors import UsageError
from golive.evidence.terraform import TerraformPlanSummary
from golive.plan.validate import load_plan
from golive.rehearsal.local import Rehearsal, rehearse
from golive.steps.terraform_gate import TerraformGate, record_plan_approval, terraform_item
from golive.store.store import Store
from short_plan import write_short_plan

GOLIVE = Path(sys.executable).with_name("golive")
TENANTS = "dynamodb_schemas:terraform=replace:tenants"
PRODUCTS = "dynamodb_schemas:terraform=replace:products"


def _terraform_plan(folder: Path) -> Path:
    path = write_short_plan(folder)
    data: dict[str, Any] = yaml.safe_load(path.read_text(encoding="utf-8"))
    data["projects"]["dynamodb_schemas"]["terraform"] = {"plan_workflow": "plan-prod.yml", "artifact": "tfplan-json",
                                                         "approver": "data_owner"}
    if "terraform" not in data["gates"]["go_no_go"]["requires"]:
        data["gates"]["go_no_go"]["requires"].append("terraform")
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return path


def _rehearse(plan_path: Path, out: Path, fault: str) -> Rehearsal:
    return rehearse(load_plan(plan_path), plan_path.parent, "prod", faults=[fault], seed=7, until="gate", out_dir=out)


def _plan_sha(out: Path) -> str:
    store = Store.open(f"sqlite:///{out / 'rehearsal.db'}")
    try:
        (plan,) = [e.record for e in store.records(TerraformPlanSummary) if e.record.project == "dynamodb_schemas"]
    finally:
        store.close()
    return plan.sha256


def _golive(plan_path: Path, out: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GOLIVE_", "AWS_"))}
    return subprocess.run([str(GOLIVE), "-f", str(plan_path), "--db", f"sqlite:///{out / 'rehearsal.db'}", *args],
                          capture_output=True, text=True, env=env, timeout=120, check=False)


def test_a_plan_replacing_a_table_is_no_go_until_data_owner_approves_that_plan(tmp_path: Path) -> None:
    plan_path = _terraform_plan(tmp_path / "plan")
    out = tmp_path / "out"

    first = _rehearse(plan_path, out, TENANTS)
    assert first.status == "no_go", first.reason
    sha = _plan_sha(out)
    (decision,) = first.summary["decisions"]
    assert decision.startswith("go_no_go: NO-GO (terraform dynamodb_schemas: plan ")
    assert "replace aws_dynamodb_table.tenants" in decision and f"--plan-sha {sha}" in decision
    assert first.summary["dispatches"]["plans_per_repo"]["BigBeardWebSolutions/2_1_bbws_dynamodb_schemas"] == 1
    assert first.summary["phases"]["prep"] == "cancelled"  # nothing deployed
    assert first.summary["terraform_unapproved"] == [{"project": "dynamodb_schemas", "sha256": sha,
                                                       "approver": "data_owner", "env": "prod"}]
    report = (out / "report.md").read_text(encoding="utf-8")
    assert "## Terraform plans" in report and sha in report and "nobody (data_owner needed)" in report

    refused = _golive(plan_path, out, "approve", "go_no_go", "--env", "prod", "--role", "devops", "--plan-sha", sha,
                      "--by", "dana")
    assert refused.returncode == 2, refused.stderr
    assert "is approved by role data_owner, not 'devops'" in refused.stderr and "Traceback" not in refused.stderr
    approved = _golive(plan_path, out, "approve", "go_no_go", "--env", "prod", "--role", "data_owner",
                       "--plan-sha", sha, "--by", "dana", "--note", "tenants holds no data in prod yet")
    assert approved.returncode == 0, approved.stderr
    assert f"approved the Terraform plan of dynamodb_schemas (sha256 {sha})" in approved.stdout

    again = _rehearse(plan_path, out, TENANTS)
    assert again.summary["decisions"] == ["go_no_go: GO"], again.reason
    assert again.status == "stopped"  # --until gate: GO, and stopped before prep
    assert _plan_sha(out) == sha  # the same plan made again: the same hash, so the approval holds
    assert again.summary["terraform_unapproved"] == []
    html = (out / "report.html").read_text(encoding="utf-8")
    assert "<h2>Terraform plans</h2>" in html and "dana (data_owner)" in html

    changed = _rehearse(plan_path, out, PRODUCTS)
    assert changed.status == "no_go", changed.reason
    new_sha = _plan_sha(out)
    assert new_sha != sha
    (decision,) = changed.summary["decisions"]
    assert "replace aws_dynamodb_table.products" in decision and f"--plan-sha {new_sha}" in decision


NOW = datetime(2026, 1, 9, 9, 0, tzinfo=UTC)


def _summary(sha: str, changes: bool) -> TerraformPlanSummary:
    data = ({"address": "aws_dynamodb_table.tenants", "type": "aws_dynamodb_table", "action": "replace"},) \
        if changes else ()
    return TerraformPlanSummary(subject="schemas", outcome="data_changes" if changes else "no_data_changes",
                                project="schemas", sha256=sha, source="test", format_version="1.2", creates=1,
                                replaces=int(changes), data_changes=data, approver="data_owner")


def test_the_same_hash_keeps_its_approval_and_another_needs_a_new_one(tmp_path: Path) -> None:
    plan = load_plan(_terraform_plan(tmp_path / "plan"))
    spec = TerraformGate(project="schemas", approver="data_owner")
    store = Store.open(f"sqlite:///{tmp_path / 'store.db'}")
    try:
        missing = terraform_item(store, "bbws", "prod", "go_no_go", spec)
        assert not missing.ok and "no Terraform plan of schemas is recorded" in missing.detail
        store.append_record(_summary("a" * 64, changes=False), release="bbws", env="prod", at=NOW)
        assert terraform_item(store, "bbws", "prod", "go_no_go", spec).ok  # nothing that holds data is lost
        store.append_record(_summary("b" * 64, changes=True), release="bbws", env="prod", at=NOW)
        item = terraform_item(store, "bbws", "prod", "go_no_go", spec)
        assert not item.ok and "replace aws_dynamodb_table.tenants" in item.detail
        record_plan_approval(store, plan, "go_no_go", "prod", "dana", "data_owner", "B" * 64, None, NOW)
        assert terraform_item(store, "bbws", "prod", "go_no_go", spec).ok  # the hash is read case-blind
        store.append_record(_summary("b" * 64, changes=True), release="bbws", env="prod", at=NOW)
        assert terraform_item(store, "bbws", "prod", "go_no_go", spec).ok  # made again, same hash: still approved
        store.append_record(_summary("c" * 64, changes=True), release="bbws", env="prod", at=NOW)
        assert not terraform_item(store, "bbws", "prod", "go_no_go", spec).ok  # another plan: a new approval
        for sha, role, says in [("d" * 64, "data_owner", "no recorded Terraform plan"),
                                ("c" * 12, "data_owner", "is not a SHA-256"),
                                ("c" * 64, None, "add --role data_owner")]:
            with pytest.raises(UsageError, match=re.escape(says)):
                record_plan_approval(store, plan, "go_no_go", "prod", "dana", role, sha, None, NOW)
    finally:
        store.close()
