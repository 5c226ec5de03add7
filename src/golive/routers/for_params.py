"""Which router a canary drives, from its frozen parameters: the one place a new router kind is added.

The canary (``steps/canary.py``) and ``golive plan`` (its ``describe``) ask this factory for the router of a
canary step's parameters, so both see the same router. Today every canary is a Lambda alias's; an API Gateway
stage's or a CloudFront distribution's canary is chosen here by the parameters that name it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import timedelta
from typing import Any, Protocol

from golive.clock import Clock
from golive.providers.aws import Aws
from golive.routers.base import TrafficRouter
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


def router_for(params: RoutedParams, connect: Callable[[], Aws] | None, clock: Clock | None) -> TrafficRouter:
    """The router of these parameters; ``connect`` gives AWS when a call is made (None: describe only)."""
    return LambdaAliasRouter(connect, params.alias, params.functions, region=params.region, clock=clock,
                             delay=params.delay)
