"""Which router a canary drives, from its frozen parameters: the one place a new router kind is added.

The canary (``steps/canary.py``) and ``golive plan`` (its ``describe``) ask this factory for the router of a
canary step's parameters, so both see the same router. A canary is a Lambda alias's unless its parameters name
another router: ``apigw_stage`` (an API Gateway REST API stage's canary settings, ``routers/apigw_stage.py``) or
``cloudfront`` (a site's distribution, ``routers/cloudfront.py``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import timedelta
from typing import Any, Protocol

from golive.clock import Clock
from golive.providers.aws import Aws
from golive.routers.apigw_stage import ApiGatewayStageRouter
from golive.routers.base import TrafficRouter
from golive.routers.cloudfront import CloudFrontRouter
from golive.routers.lambda_alias import LambdaAliasRouter


class RoutedParams(Protocol):
    """What the factory reads of a canary's parameters (``steps/canary_params.CanaryParams``)."""

    @property
    def alias(self) -> str: ...

    @property
    def functions(self) -> Mapping[str, Any]: ...

    @property
    def region(self) -> str | None: ...

    @property
    def delay(self) -> timedelta: ...

    @property
    def apigw_stage(self) -> Any: ...  # ``canary_params.ApiStageTarget`` or None

    @property
    def cloudfront(self) -> Any: ...  # ``canary_params.CloudFrontTarget`` or None


def router_for(params: RoutedParams, connect: Callable[[], Aws] | None, clock: Clock | None) -> TrafficRouter:
    """The router of these parameters; ``connect`` gives AWS when a call is made (None: describe only)."""
    stage = params.apigw_stage
    if stage is not None:
        return ApiGatewayStageRouter(connect, stage.rest_api, stage.stage, region=params.region)
    site = params.cloudfront
    if site is not None:
        return CloudFrontRouter(connect, site.distribution, site.origin_path, origin=site.origin, header=site.header,
                                header_value=site.header_value, source=site.source)
    return LambdaAliasRouter(connect, params.alias, params.functions, region=params.region, clock=clock,
                             delay=params.delay)
