"""The API Gateway stage router against the sandbox's moto server, over HTTP, and the canary settings the
sandbox adds to moto held against botocore's service model (so golive's calls and moto's answers have AWS's shapes)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import botocore.session
import pytest

from golive.errors import UsageError
from golive.providers.aws import Aws
from golive.routers.apigw_stage import ApiGatewayStageRouter, StageMismatch
from golive.routers.base import NothingNew, Variants
from golive.sandbox.accounts import sandbox_aws
from golive.sandbox.apigw import ensure_api, new_deployment
from golive.sandbox.moto_server import SandboxServer
from golive.sandbox.spec import ApiSpec, RouteSpec

REGION = "eu-west-1"
_accounts = iter(range(210000000500, 210000000600))


@pytest.fixture
def aws(server: SandboxServer) -> Aws:
    return sandbox_aws(server.endpoint, str(next(_accounts)), REGION)


def _api(aws: Aws, name: str = "orders") -> str:
    spec = ApiSpec(name, routes=(RouteSpec("/orders", "GET", "orders-get", "live"),))
    return ensure_api(aws, spec, aws.caller_account())


def _stage(aws: Aws, api_id: str) -> dict[str, Any]:
    found: dict[str, Any] = aws.client("apigateway").get_stage(restApiId=api_id, stageName="prod")
    return found


def test_discover_finds_the_deployment_the_deploy_made_without_moving_the_stage(aws: Aws) -> None:
    api_id = _api(aws)
    router = ApiGatewayStageRouter(lambda: aws, "orders", "prod")
    with pytest.raises(NothingNew, match=r"no deployment of REST API orders .* newer than"):
        router.discover()
    first = new_deployment(aws, "orders")
    second = new_deployment(aws, "orders")
    found = router.discover().changed
    stable = _stage(aws, api_id)["deploymentId"]
    assert found == (Variants("orders/prod", stable, second),) and first != second
    # By id as well as by name; an unknown API or stage is one clear error.
    assert ApiGatewayStageRouter(lambda: aws, api_id, "prod").discover().changed[0].canary == second
    with pytest.raises(UsageError, match="no REST API named or with id 'billing'"):
        ApiGatewayStageRouter(lambda: aws, "billing", "prod").discover()
    with pytest.raises(UsageError, match="has no stage 'live'"):
        ApiGatewayStageRouter(lambda: aws, "orders", "live").discover()


def test_a_deployment_made_with_canary_settings_is_the_canary_and_the_stage_stays(aws: Aws) -> None:
    api_id = _api(aws)
    stable = _stage(aws, api_id)["deploymentId"]
    canary = new_deployment(aws, "orders", stage="prod", canary_percent=0.0)
    stage = _stage(aws, api_id)
    assert stage["deploymentId"] == stable
    assert stage["canarySettings"] == {"deploymentId": canary, "percentTraffic": 0.0, "useStageCache": False}
    assert ApiGatewayStageRouter(lambda: aws, "orders", "prod").discover().changed == (Variants("orders/prod", stable, canary),)


def test_shift_promote_and_restore_are_each_read_back(aws: Aws) -> None:
    api_id = _api(aws)
    canary = new_deployment(aws, "orders")
    router = ApiGatewayStageRouter(lambda: aws, "orders", "prod")
    variants = router.discover().changed
    stable = variants[0].stable
    assert router.split(variants)[0].weight == 0.0
    assert router.set_weight(variants, 10)[0].weight == 10.0
    assert _stage(aws, api_id)["canarySettings"]["deploymentId"] == canary
    assert router.set_weight(variants, 50)[0].weight == 50.0
    assert _stage(aws, api_id)["canarySettings"]["percentTraffic"] == 50.0
    seconds, splits = router.restore(variants)
    assert seconds >= 0 and splits[0].weight == 0.0 and splits[0].stable == stable
    stage = _stage(aws, api_id)
    assert "canarySettings" not in stage and stage["deploymentId"] == stable
    router.restore(variants)  # idempotent
    router.set_weight(variants, 25)
    promoted = router.promote(variants)[0]
    stage = _stage(aws, api_id)
    assert promoted.weight == 100.0 and stage["deploymentId"] == canary and "canarySettings" not in stage
    assert router.promote(variants)[0].weight == 100.0  # again: nothing left to do
    # After a promotion, a restore (a failed validation) puts the stage back on its previous deployment.
    router.restore(variants)
    stage = _stage(aws, api_id)
    assert stage["deploymentId"] == stable and "canarySettings" not in stage


def test_a_stage_moved_by_someone_else_is_not_shifted(aws: Aws) -> None:
    api_id = _api(aws)
    new_deployment(aws, "orders")
    router = ApiGatewayStageRouter(lambda: aws, "orders", "prod")
    variants = router.discover().changed
    other = new_deployment(aws, "orders")
    aws.client("apigateway").update_stage(restApiId=api_id, stageName="prod", patchOperations=[
        {"op": "replace", "path": "/deploymentId", "value": other}])
    with pytest.raises(StageMismatch, match=f"serves deployment {other}"):
        router.set_weight(variants, 10)


def test_bad_canary_writes_are_refused_as_aws_refuses_them(aws: Aws) -> None:
    api_id = _api(aws)
    client = aws.client("apigateway")
    for value, path in (("150", "/canarySettings/percentTraffic"), ("nosuch", "/canarySettings/deploymentId")):
        with pytest.raises(client.exceptions.BadRequestException):
            client.update_stage(restApiId=api_id, stageName="prod",
                                patchOperations=[{"op": "replace", "path": path, "value": value}])
    with pytest.raises(client.exceptions.NotFoundException):
        client.create_deployment(restApiId=api_id, stageName="beta", canarySettings={"percentTraffic": 5})


@pytest.fixture
def raw(aws: Aws) -> Iterator[dict[str, Any]]:
    """The JSON bodies moto answered, by operation, as they came over the wire (before botocore parsed them)."""
    seen: dict[str, Any] = {}
    client = aws.client("apigateway")

    def keep(http_response: Any, model: Any, **_: Any) -> None:
        seen[model.name] = json.loads(http_response.content or b"{}")

    client.meta.events.register("after-call.api-gateway.*", keep)
    yield seen
    client.meta.events.unregister("after-call.api-gateway.*", keep)


def test_the_canary_shapes_are_botocores(aws: Aws, raw: dict[str, Any]) -> None:
    model = botocore.session.get_session().get_service_model("apigateway")
    _api(aws)
    new_deployment(aws, "orders", stage="prod", canary_percent=5.0)
    router = ApiGatewayStageRouter(lambda: aws, "orders", "prod")
    variants = router.discover().changed
    router.set_weight(variants, 10)
    stage = raw["GetStage"]
    assert set(stage) <= set(model.shape_for("Stage").members)
    assert set(stage["canarySettings"]) <= set(model.shape_for("CanarySettings").members)
    assert model.shape_for("Stage").members["canarySettings"].name == "CanarySettings"
    assert set(raw["UpdateStage"]["canarySettings"]) <= set(model.shape_for("CanarySettings").members)
    assert set(raw["CreateDeployment"]) - {"stageName"} <= set(model.shape_for("Deployment").members)
    # What the sandbox reads from a CreateDeployment's canarySettings is what the model lets a caller send.
    assert {"percentTraffic", "useStageCache", "stageVariableOverrides"} <= \
        set(model.shape_for("DeploymentCanarySettings").members)
    assert set(model.shape_for("PatchOperation").members) == {"op", "path", "value", "from"}
