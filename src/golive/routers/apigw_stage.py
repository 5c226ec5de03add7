"""The API Gateway stage router: a REST API stage split between its deployment and its canary's.

An API change (a route, an authorizer, a mapping template) ships as a new *deployment* of the REST API. API
Gateway's canary release keeps the stage on its deployment and sends ``canarySettings.percentTraffic`` percent
of the stage's requests to the canary's deployment
(https://docs.aws.amazon.com/apigateway/latest/developerguide/canary-release.html). As a ``TrafficRouter``
(``routers/base.py``):

- ``discover``: the stage's ``deploymentId`` is the stable variant. The canary is the deployment the deploy
  workflow made without moving the stage: the stage's ``canarySettings.deploymentId`` when it differs (the
  deploy ran ``CreateDeployment`` with ``canarySettings``, or a canary is in progress), else the newest
  deployment of the API created after the stage's (``CreateDeployment`` without ``stageName``). None of them:
  ``NothingNew``, never a guess.
- ``set_weight``: ``UpdateStage`` ``replace /canarySettings/percentTraffic`` (and
  ``/canarySettings/deploymentId`` when the stage's canary is not on the new deployment yet, which creates
  the canary settings), as create-canary-deployment.html does it.
- ``promote``: ``copy /canarySettings/deploymentId`` to ``/deploymentId`` (and the canary's stage variable
  overrides to ``/variables``), as promote-canary-deployment.html does, then ``remove /canarySettings``
  (delete-canary-deployment.html): a promoted stage has no canary left.
- ``restore``: ``remove /canarySettings`` (and, after a promotion, ``/deploymentId`` back to the stable one).

Every write is read back with ``GetStage``; a stage that does not read back as written is an error naming
what it holds. The variants' metrics are AWS/ApiGateway's ``Count``, ``5XXError`` and ``Latency`` by
``ApiName`` and ``Stage``; the canary's requests are reported under the stage name with ``/Canary``
appended (``Stage=prod/Canary``; docs/plan-reference.md says what AWS documents of it), mapped to golive's
``invocations``, ``errors`` and ``duration`` (``analysis/metrics.py``) so the triggers and the judge read
them as they read a Lambda canary.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cached_property
from typing import Any

from golive.analysis.canary_sample import sample_from, shape_of
from golive.analysis.cloudwatch import CloudWatchLambdaSource
from golive.analysis.metrics import MetricSource, Scope
from golive.analysis.sample import Sample
from golive.clock import Clock
from golive.errors import AwsRequestError, GoliveError, UsageError
from golive.providers.aws import Aws
from golive.routers.base import Discovery, NothingNew, Split, Variants, connected

KIND = "apigw_stage"
CANARY = "/canarySettings"


class StageMismatch(GoliveError):
    """A stage did not read back as golive wrote it (somebody else is changing it, or API Gateway refused)."""


@dataclass(frozen=True)
class RestApi:
    id: str
    name: str

    @property
    def metric_name(self) -> str:
        """The ``ApiName`` dimension: the name without its non-ASCII characters, else the id (as AWS reports it)."""
        ascii_only = "".join(c for c in self.name if c.isascii())
        return ascii_only or self.id


def find_rest_api(aws: Aws, wanted: str, region: str | None = None) -> RestApi:
    """The REST API whose id or name is ``wanted``; a clear error for none, or for a name two APIs share."""
    client = aws.client("apigateway", region)

    def every() -> list[dict[str, Any]]:
        return [item for page in client.get_paginator("get_rest_apis").paginate() for item in page.get("items", [])]

    items = aws.call("apigateway:GetRestApis", every, region=region)
    by_id = [i for i in items if i.get("id") == wanted]
    found = by_id or [i for i in items if i.get("name") == wanted]
    where = region or aws.region
    if not found:
        known = ", ".join(sorted(f"{i.get('name')} ({i.get('id')})" for i in items)) or "none"
        raise UsageError(f"no REST API named or with id '{wanted}' in {where} (REST APIs there: {known})")
    if len(found) > 1:
        ids = ", ".join(sorted(str(i.get("id")) for i in found))
        raise UsageError(f"{len(found)} REST APIs are named '{wanted}' in {where} ({ids}): give the API's id as rest_api")
    return RestApi(str(found[0]["id"]), str(found[0].get("name") or found[0]["id"]))


def stage_sample(aws: Aws, clock: Clock, params: Mapping[str, Any]) -> tuple[list[Sample], str | None]:
    """What an API Gateway stage canary's criteria will get at each step (``golive plan``), from the stage's own
    requests over the last hour; ``params`` are the canary step's, with ``apigw_stage: {rest_api, stage}``."""
    target = params["apigw_stage"]
    router = ApiGatewayStageRouter(lambda: aws, str(target["rest_api"]), str(target["stage"]), params.get("region"))
    try:
        stables = [stable for _canary, stable in router.scopes([Variants(router.target, "", "")])]
    except GoliveError as exc:
        return [], str(exc)
    delay = timedelta(seconds=shape_of(params).delay_s)
    return sample_from(router.metrics(clock, delay), clock, params, stables)


def _stamp(value: Any) -> float:
    return value.timestamp() if isinstance(value, datetime) else float(value or 0)


@dataclass(frozen=True)
class ApiGatewayStageRouter:
    """One REST API stage (the plan's ``api: {rest_api, stage}``) in one environment's region.

    ``connect`` gives the environment's ``Aws`` when a call is made (``golive plan`` describes without any).
    """

    connect: Callable[[], Aws] | None
    rest_api: str  # the API's name or id, as the plan gives it
    stage: str
    region: str | None = None

    @property
    def aws(self) -> Aws:
        return connected(self.connect)

    @property
    def kind(self) -> str:
        return KIND

    @property
    def max_weight(self) -> float | None:
        return None

    @property
    def restores_promoted(self) -> bool:
        return True

    @cached_property
    def api(self) -> RestApi:
        return find_rest_api(self.aws, self.rest_api, self.region)

    @property
    def target(self) -> str:
        """How evidence names the stage: ``orders-api/prod``."""
        return f"{self.rest_api}/{self.stage}"

    @property
    def _client(self) -> Any:
        return self.aws.client("apigateway", self.region)

    def _get_stage(self) -> Mapping[str, Any]:
        api = self.api
        try:
            stage: Mapping[str, Any] = self.aws.call(
                "apigateway:GetStage", lambda: self._client.get_stage(restApiId=api.id, stageName=self.stage),
                region=self.region)
        except AwsRequestError as exc:
            if exc.code == "NotFoundException":
                raise UsageError(f"REST API {api.name} ({api.id}) has no stage '{self.stage}' in "
                                 f"{self.region or self.aws.region}") from exc
            raise
        return stage

    def _update(self, operations: list[dict[str, str]]) -> None:
        api = self.api
        self.aws.call("apigateway:UpdateStage", lambda: self._client.update_stage(
            restApiId=api.id, stageName=self.stage, patchOperations=operations), region=self.region)

    def discover(self) -> Discovery:
        stage = self._get_stage()
        stable = str(stage["deploymentId"])
        canary = stage.get("canarySettings") or {}
        if canary.get("deploymentId") and canary["deploymentId"] != stable:
            return Discovery(changed=(Variants(self.target, stable, str(canary["deploymentId"])),))
        api = self.api

        def every() -> list[dict[str, Any]]:
            pages = self._client.get_paginator("get_deployments").paginate(restApiId=api.id)
            return [item for page in pages for item in page.get("items", [])]

        deployments = self.aws.call("apigateway:GetDeployments", every, region=self.region)
        created = {str(d["id"]): _stamp(d.get("createdDate")) for d in deployments}
        since = created.get(stable, 0.0)
        newer = sorted((when, deployment) for deployment, when in created.items() if when > since)
        if not newer:
            raise NothingNew(f"{self.target}: no deployment of REST API {api.name} ({api.id}) is newer than "
                             f"{stable}, the one stage '{self.stage}' serves; did the deploy run? (a deploy that "
                             f"moves the stage itself leaves nothing to canary: create the deployment without "
                             f"stageName, or with canarySettings)")
        return Discovery(changed=(Variants(self.target, stable, newer[-1][1]),))

    def _split(self, stage: Mapping[str, Any], variants: Variants) -> Split:
        canary = stage.get("canarySettings")
        on = str(stage.get("deploymentId"))
        if canary and canary.get("deploymentId") == variants.canary and on != variants.canary:
            weight = float(canary.get("percentTraffic") or 0.0)
        else:
            weight = 100.0 if on == variants.canary else 0.0
        detail: dict[str, Any] = {"name": variants.target, "deploymentId": on}  # name: how reports list it
        if canary:
            detail["canarySettings"] = {k: canary[k] for k in ("deploymentId", "percentTraffic") if k in canary}
        return Split(target=variants.target, stable=on, canary=str(canary["deploymentId"]) if canary else None,
                     weight=weight, detail=detail)

    def split(self, variants: Sequence[Variants]) -> list[Split]:
        stage = self._get_stage()
        return [self._split(stage, v) for v in variants]

    def _one(self, variants: Sequence[Variants]) -> Variants:
        mine = [v for v in variants if v.target == self.target]
        if len(mine) != 1 or len(variants) != 1:
            raise ValueError(f"an API Gateway stage router splits one target ({self.target}), not {variants}")
        return mine[0]

    def set_weight(self, variants: Sequence[Variants], weight: float) -> list[Split]:
        if not 0 < weight < 100:
            raise ValueError(f"a canary weight is above 0 and below 100 (100 is promote), not {weight}")
        v = self._one(variants)
        stage = self._get_stage()
        if str(stage.get("deploymentId")) != v.stable:
            raise StageMismatch(f"{self.target} serves deployment {stage.get('deploymentId')}, not {v.stable} as "
                                f"when the canary started: not shifting")
        operations = []
        if (stage.get("canarySettings") or {}).get("deploymentId") != v.canary:
            operations.append({"op": "replace", "path": f"{CANARY}/deploymentId", "value": v.canary})
        operations.append({"op": "replace", "path": f"{CANARY}/percentTraffic", "value": f"{weight:g}"})
        self._update(operations)
        split = self._split(self._get_stage(), v)
        if split.stable != v.stable or split.canary != v.canary or abs(split.weight - weight) > 1e-6:
            raise StageMismatch(f"{self.target} reads back {split.to_dict()} after setting its canary "
                                f"({v.canary}) to {weight:g}%")
        return [split]

    def promote(self, variants: Sequence[Variants]) -> list[Split]:
        v = self._one(variants)
        stage = self._get_stage()
        canary = stage.get("canarySettings")
        if str(stage.get("deploymentId")) != v.canary:
            if canary and canary.get("deploymentId") == v.canary:
                operations = [{"op": "copy", "from": f"{CANARY}/deploymentId", "path": "/deploymentId"},
                              {"op": "replace", "path": f"{CANARY}/percentTraffic", "value": "0.0"}]
                if canary.get("stageVariableOverrides"):
                    operations.append({"op": "copy", "from": f"{CANARY}/stageVariableOverrides", "path": "/variables"})
            elif canary:
                raise StageMismatch(f"{self.target}'s canary is on deployment {canary.get('deploymentId')}, not "
                                    f"{v.canary}: not promoting")
            else:
                operations = [{"op": "replace", "path": "/deploymentId", "value": v.canary}]
            self._update(operations)
            stage = self._get_stage()
        if stage.get("canarySettings"):
            self._update([{"op": "remove", "path": CANARY}])
            stage = self._get_stage()
        split = self._split(stage, v)
        if split.stable != v.canary or stage.get("canarySettings"):
            raise StageMismatch(f"{self.target} reads back {split.to_dict()} after promoting deployment {v.canary}")
        return [split]

    def restore(self, variants: Sequence[Variants]) -> tuple[float, list[Split]]:
        v = self._one(variants)
        started = time.monotonic()
        stage = self._get_stage()
        operations = []
        if stage.get("canarySettings"):
            operations.append({"op": "remove", "path": CANARY})
        if str(stage.get("deploymentId")) != v.stable:
            operations.append({"op": "replace", "path": "/deploymentId", "value": v.stable})
        if operations:
            self._update(operations)
            stage = self._get_stage()
        split = self._split(stage, v)
        if split.stable != v.stable or stage.get("canarySettings"):
            raise StageMismatch(f"{self.target} reads back {split.to_dict()} after restoring deployment {v.stable}")
        return time.monotonic() - started, [split]

    def scopes(self, variants: Sequence[Variants]) -> list[tuple[Scope, Scope]]:
        name = self.api.metric_name
        return [(Scope.stage(name, self.stage, canary=True), Scope.stage(name, self.stage, canary=False))
                for _ in variants]

    def metrics(self, clock: Clock, delay: timedelta) -> MetricSource:
        return CloudWatchLambdaSource(self.aws, clock, delay=delay, region=self.region)

    def describe(self, weights: Sequence[float]) -> list[str]:
        out = []
        for weight in weights:
            if weight < 100:
                out.append(f"apigateway:UpdateStage {self.target} canarySettings/percentTraffic={weight:g} "
                           f"(canarySettings/deploymentId=NEW)")
            else:
                out.append(f"apigateway:UpdateStage {self.target} deploymentId=canarySettings/deploymentId, "
                           f"then remove canarySettings")
        return out
