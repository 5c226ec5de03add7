"""A rehearsal of a plan whose API ships behind an API Gateway stage canary: a healthy change is promoted, one
that makes 8% of the canary's requests fail (``--inject 'shop_api:error_rate=8%@deploy'``) is rolled back,
and either way the stage is left with no ``canarySettings``. Real parts: the rehearsal in this process, its
moto server over HTTP, the local GitHub's deploy workflow (which makes the API's new deployment), the world's
API Gateway traffic."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from golive.plan.validate import load_plan_text
from golive.rehearsal.local import rehearse
from golive.sandbox.moto_apigw import canary_of

ACCOUNT, REGION = "210000000950", "eu-west-1"
PLAN = f"""\
release: shop-r1
version: v1.0.0
environments:
  prod: {{account: "{ACCOUNT}", region: {REGION}}}
metrics:
  error_rate: {{lambda: errors / invocations}}
projects:
  shop_api:
    repo: acme/shop-api
    kind: api
    deploy: {{github_workflow: deploy.yml}}
    api: {{rest_api: "shop-{{env}}", stage: prod}}
    rollout:
      apigw_canary:
        steps: [{{weight: 10, bake: 3m}}, {{weight: 50, bake: 3m}}, {{weight: 100}}]
batches:
  - {{name: apis, projects: [shop_api]}}
rollback:
  triggers: ["error_rate > 5%"]
  min_invocations: 100
"""


def _stage() -> tuple[Any, dict[str, Any]]:
    """The stage as moto holds it after the rehearsal, and the API's deployments by id (in this process)."""
    from moto.apigateway.models import apigateway_backends

    api = next(a for a in apigateway_backends[ACCOUNT][REGION].apis.values() if a.name == "shop-prod")
    return api.stages["prod"], dict(api.deployments)


def test_a_healthy_api_change_is_promoted_and_8_percent_errors_roll_it_back(tmp_path: Path) -> None:
    plan = load_plan_text(PLAN)
    healthy = rehearse(plan, tmp_path, "prod", out_dir=tmp_path / "healthy")
    assert healthy.status == "succeeded", healthy.reason
    assert healthy.summary["canaries"] == ["shop_api: promoted"]
    stage, deployments = _stage()
    assert canary_of(stage) is None
    assert deployments[stage.deployment_id].description == "shop_api v1.0.0"  # the release's deployment

    bad = rehearse(plan, tmp_path, "prod", faults=["shop_api:error_rate=8%@deploy"], out_dir=tmp_path / "bad")
    assert bad.status == "rolled_back", bad.reason
    (rollback,) = bad.summary["rollbacks"]
    assert rollback["project"] == "shop_api" and "shop-prod/prod/Canary" in rollback["reason"], rollback
    stage, deployments = _stage()
    assert canary_of(stage) is None
    assert deployments[stage.deployment_id].description == "before the release"
    report = Path(bad.reports["md"]).read_text(encoding="utf-8")
    assert "shop-prod/prod/Canary" in report
    assert "| shop-prod/prod |" in report  # the rollback's row names the stage it restored


def test_golive_rollback_removes_a_stage_canary_nobody_recorded(tmp_path: Path) -> None:
    from golive.engine.context import Services
    from golive.routers.apigw_stage import ApiGatewayStageRouter
    from golive.sandbox.world import SandboxWorld
    from golive.steps.rollback import rollback
    from golive.store.store import Store

    world = SandboxWorld(load_plan_text(PLAN), "prod")
    world.moto.reset()
    world.start()
    store = Store.open(f"sqlite:///{tmp_path / 'state.db'}")
    try:
        world.command_deployed("shop_api")  # the deploy: a new deployment, the stage left where it was
        aws = world.aws("prod")
        router = ApiGatewayStageRouter(lambda: aws, "shop-prod", "prod")
        variants = router.discover().changed
        router.set_weight(variants, 25)  # a canary shifted by hand, or by a run whose store is lost
        services = Services(plan=world.plan, store=store, clock=world.clock, aws_for=world.aws)
        result = rollback(services, "prod", "shop_api", why="stage canary by hand")
        stage, _ = _stage()
        assert canary_of(stage) is None and stage.deployment_id == variants[0].stable
        (record,) = [e for e in store.events(release=world.plan.release, env="prod", kind="rollback")]
        assert record.outcome == "rolled_back" and record.data["from_weight"] == 25.0, record.data
        assert result["project"] == "shop_api"
    finally:
        store.close()
        world.stop()
