"""API Gateway canary releases for the sandbox's moto: ``canarySettings`` on stages and deployments.

moto 5.2 serves REST APIs, stages and deployments, but a stage has no
``canarySettings``: ``CreateDeployment`` ignores them (and moves the stage),
``UpdateStage`` reads ``/canarySettings/deploymentId`` as the stage's own
``/deploymentId``, and ``GetStage`` never returns them. golive's API Gateway
router (``golive.routers.apigw_stage``) uses exactly those calls, so the
sandbox adds them as AWS documents them
(https://docs.aws.amazon.com/apigateway/latest/developerguide/create-canary-deployment.html,
promote-canary-deployment.html, delete-canary-deployment.html):

- ``CreateDeployment`` with ``canarySettings`` and an existing ``stageName``
  creates the deployment and points the stage's canary at it
  (``percentTraffic``, ``useStageCache``, ``stageVariableOverrides``); the
  stage's own ``deploymentId`` does not move. A missing stage is refused.
- ``UpdateStage`` patch operations: ``replace`` of ``/canarySettings/percentTraffic``
  (0..100), ``/canarySettings/deploymentId`` (a deployment of the API),
  ``/canarySettings/useStageCache``, ``/canarySettings/stageVariableOverrides/NAME``;
  ``remove`` of ``/canarySettings`` (and of one override); ``copy`` from
  ``/canarySettings/deploymentId`` to ``/deploymentId`` and from
  ``/canarySettings/stageVariableOverrides`` to ``/variables`` (the promotion).
  Adding ``percentTraffic`` to a stage without a canary creates one on the
  stage's own deployment, as AWS does.
- ``GetStage``/``GetStages``/``UpdateStage`` answer ``canarySettings``.

A deployment's ``createdDate`` keeps sub-second precision, so "the newest
deployment" is one deployment even when two are made in the same second.
The request and response shapes are held against botocore's service model in
``tests/unit/test_moto_apigw.py``. ``install()`` patches moto's classes in this
process, once; it is idempotent.
"""

from __future__ import annotations

import json
import time
from typing import Any

_installed: list[bool] = []  # one entry once installed
CANARY = "/canarySettings"


def _bad(message: str) -> Exception:
    from moto.apigateway.exceptions import BadRequestException

    return BadRequestException(message)


def _percent(value: Any) -> float:
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise _bad(f"Invalid percentTraffic: {value!r}") from None
    if not 0.0 <= number <= 100.0:
        raise _bad(f"percentTraffic must be between 0.0 and 100.0, not {number}")
    return number


def _bool(value: Any) -> bool:
    return value if isinstance(value, bool) else str(value).strip().lower() == "true"


def canary_of(stage: Any) -> dict[str, Any] | None:
    """The stage's canary settings as the sandbox keeps them (None: no canary)."""
    found = getattr(stage, "canary_settings", None)
    return found if isinstance(found, dict) else None


def _apply_canary_op(stage: Any, op: dict[str, Any], deployments: Any) -> bool:
    """Apply one canary patch operation to ``stage``; False when it is not one (moto's own code applies it)."""
    path = str(op.get("path") or "")
    kind = str(op.get("op") or "")
    source = str(op.get("from") or "")
    if kind == "copy" and source.startswith(CANARY):
        canary = canary_of(stage)
        if canary is None:
            raise _bad("The stage has no canary settings to copy from")
        if source == f"{CANARY}/deploymentId" and path == "/deploymentId":
            stage.deployment_id = canary["deploymentId"]
        elif source == f"{CANARY}/stageVariableOverrides" and path == "/variables":
            stage.variables = {**(stage.variables or {}), **canary.get("stageVariableOverrides", {})}
        else:
            raise _bad(f"Invalid patch path: copy from {source} to {path}")
        return True
    if not path.startswith(CANARY):
        return False
    if kind == "remove" and path == CANARY:
        stage.canary_settings = None
        return True
    field = path[len(CANARY):].lstrip("/")
    canary = canary_of(stage)
    if canary is None:
        if kind not in ("replace", "add"):
            raise _bad("The stage has no canary settings")
        canary = {"deploymentId": stage.deployment_id, "percentTraffic": 0.0, "useStageCache": False}
    if field.startswith("stageVariableOverrides/"):
        name = field.split("/", 1)[1]
        overrides = dict(canary.get("stageVariableOverrides") or {})
        if kind == "remove":
            overrides.pop(name, None)
        else:
            overrides[name] = str(op.get("value"))
        canary["stageVariableOverrides"] = overrides
    elif kind not in ("replace", "add"):
        raise _bad(f"Invalid patch operation {kind} on {path}")
    elif field == "percentTraffic":
        canary["percentTraffic"] = _percent(op.get("value"))
    elif field == "deploymentId":
        deployment = str(op.get("value") or "")
        if deployment not in deployments:
            raise _bad(f"Invalid deployment identifier specified: {deployment}")
        canary["deploymentId"] = deployment
    elif field == "useStageCache":
        canary["useStageCache"] = _bool(op.get("value"))
    else:
        raise _bad(f"Invalid patch path {path}")
    stage.canary_settings = canary
    return True


def install() -> None:
    """Patch moto's API Gateway models and handler in this process (once)."""
    if _installed:
        return
    from moto.apigateway import models, responses

    original_to_json = models.Stage.to_json
    original_apply = models.Stage.apply_operations
    original_deployment_init = models.Deployment.__init__
    original_update_stage = models.APIGatewayBackend.update_stage
    original_create_deployment = responses.APIGatewayResponse.create_deployment

    def stage_to_json(self: Any) -> dict[str, Any]:
        data = original_to_json(self)
        canary = canary_of(self)
        if canary is not None:
            data["canarySettings"] = dict(canary)
        return data

    def apply_operations(self: Any, patch_operations: list[dict[str, Any]]) -> Any:
        deployments = getattr(self, "_golive_deployments", {})
        rest = [op for op in patch_operations if not _apply_canary_op(self, op, deployments)]
        return original_apply(self, rest) if rest else self

    def update_stage(self: Any, function_id: str, stage_name: str, patch_operations: Any) -> Any:
        stage = self.get_stage(function_id, stage_name)
        stage._golive_deployments = self.get_rest_api(function_id).deployments
        return original_update_stage(self, function_id, stage_name, patch_operations)

    def deployment_init(self: Any, deployment_id: str, name: str, description: str = "") -> None:
        original_deployment_init(self, deployment_id, name, description)
        self.created_date = time.time()

    def create_deployment(self: Any) -> Any:
        settings = self._get_param("canarySettings")
        if settings is None:
            return original_create_deployment(self)
        function_id = self.path.replace("/restapis/", "", 1).split("/")[0]
        name = self._get_param("stageName")
        if not name:
            raise _bad("A canary deployment needs the stageName of an existing stage")
        stage = self.backend.get_stage(function_id, name)  # NotFound for a stage that does not exist
        # moto's create_deployment validates the API (methods, integrations); with no stage name it moves none.
        deployment = self.backend.create_deployment(function_id, "", self._get_param("description") or "")
        deployment.stage_name = name
        canary: dict[str, Any] = {"deploymentId": deployment.id,
                                  "percentTraffic": _percent(settings.get("percentTraffic", 0.0)),
                                  "useStageCache": _bool(settings.get("useStageCache", False))}
        if settings.get("stageVariableOverrides"):
            canary["stageVariableOverrides"] = {str(k): str(v) for k, v in settings["stageVariableOverrides"].items()}
        stage.canary_settings = canary
        return 201, {"status": 201}, json.dumps(deployment.to_json())

    models.Stage.to_json = stage_to_json  # type: ignore[method-assign]
    models.Stage.apply_operations = apply_operations  # type: ignore[method-assign]
    models.Deployment.__init__ = deployment_init  # type: ignore[method-assign]
    models.APIGatewayBackend.update_stage = update_stage  # type: ignore[method-assign]
    responses.APIGatewayResponse.create_deployment = create_deployment  # type: ignore[method-assign]
    _installed.append(True)
