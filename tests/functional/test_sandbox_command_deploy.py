"""A Lambda project deployed by a command (``sam deploy``) rehearses: the sandbox plays the command's effect."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import yaml

from golive.plan.model import Plan
from golive.plan.validate import load_plan
from golive.rehearsal.local import rehearse
from golive.steps import planner
from golive.steps.deploy import KIND as DEPLOY
from golive.steps.deploy import DeployParams, command_timeout
from golive.store.store import Store
from short_plan import write_short_plan


def _command_plan(folder: Path) -> Path:
    path = write_short_plan(folder)
    data: dict[str, Any] = yaml.safe_load(path.read_text(encoding="utf-8"))
    # A stand-in for `sam deploy`: a real process that succeeds and says what it would deploy.
    data["projects"]["order_lambda"]["deploy"] = {"command": ["sh", "-c", "echo sam deploy --stack-name bbws-order-$0",
                                                              "{env}"]}
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return path


def test_a_command_deployed_lambda_project_rehearses_green(tmp_path: Path) -> None:
    plan_path = _command_plan(tmp_path / "plan")
    out = tmp_path / "out"
    result = rehearse(load_plan(plan_path), plan_path.parent, "prod", seed=7, until="deploy", out_dir=out)
    assert result.status == "stopped", (result.reason, result.summary["rollbacks"])
    assert "order_lambda: promoted" in result.summary["canaries"]
    store = Store.open(f"sqlite:///{out / 'rehearsal.db'}")
    try:
        deploys = [e for e in store.events(release="bbws") if e.kind == "deploy" and e.subject == "order_lambda"]
    finally:
        store.close()
    assert deploys and deploys[-1].data["exit_code"] == 0
    assert "sam deploy --stack-name bbws-order-prod" in deploys[-1].data["output"]
    assert deploys[-1].data["sandbox_effect"] is True


def test_a_deploy_command_without_timeout_gets_minutes_in_a_rehearsal_and_the_plans_otherwise(tmp_path: Path) -> None:
    plan = load_plan(_command_plan(tmp_path / "plan"))

    def frozen(of: Plan) -> DeployParams:
        (spec,) = [s for s in planner.build_deploy(of, "prod", project="order_lambda") if s.kind == "deploy"]
        return DEPLOY.parse(spec.params)

    assert command_timeout(frozen(plan), rehearsal=True) == 300.0
    assert command_timeout(frozen(plan), rehearsal=False) == 1800.0
    timed = plan.model_copy(update={"projects": {**plan.projects, "order_lambda": plan.projects["order_lambda"].model_copy(
        update={"deploy": plan.projects["order_lambda"].deploy.model_copy(update={"timeout": timedelta(minutes=20)})})}})
    assert command_timeout(frozen(timed), rehearsal=True) == 1200.0  # the plan said so
