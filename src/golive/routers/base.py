"""What a canary needs from whatever splits traffic: the one contract every traffic router keeps.

A canary (``steps/canary.py``) shifts, bakes, judges, promotes or restores; it does not know what it shifts.
A Lambda alias, an API Gateway stage's canary settings and a CloudFront staging distribution all split a
surface's traffic between a stable and a new variant, report each variant's metrics to CloudWatch, can be
put fully on the new variant and can be put back. This module names those operations once (as
argo-rollouts' ``TrafficRoutingReconciler`` does) so the canary's state machine, its phase tests (with a
fake router and a fake metric source, no AWS) and ``golive plan`` (which prints ``describe``) use one shape.

Every write is confirmed by reading the split back; every method raises golive's errors (``ExternalError``
for no answer, which the engine retries on its budget; another ``GoliveError`` for a refusal). A router never
guesses: ``discover`` finding nothing new is a ``NothingNew``, with the reason in words.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any, Protocol, runtime_checkable

from golive.analysis.metrics import MetricSource, Scope
from golive.clock import Clock
from golive.errors import ConfigError, GoliveError
from golive.providers.aws import Aws


def connected(connect: Callable[[], Aws] | None) -> Aws:
    """AWS for a router's call; a router built only to describe its calls (``golive plan``) has none."""
    if connect is None:
        raise ConfigError("this command has no AWS access configured")
    return connect()


class NothingNew(GoliveError):
    """The router found no new variant to canary (a deploy that did not run, or published nothing)."""


@dataclass(frozen=True)
class Variants:
    """One routed target's two variants: its stable id and its new (canary) id.

    A target is what the router splits one by one: a Lambda function, an API Gateway stage, a CloudFront
    distribution. The ids are the router's own: Lambda versions, API Gateway deployment ids, distribution ids.
    """

    target: str
    stable: str
    canary: str


@dataclass(frozen=True)
class Split:
    """A target's split as read back from AWS: the weight (0..100) its canary variant gets now."""

    target: str
    stable: str
    canary: str | None
    weight: float
    detail: Mapping[str, Any] = field(default_factory=dict)  # the router's own read-back, kept as evidence

    def to_dict(self) -> dict[str, Any]:
        return {"target": self.target, "stable": self.stable, "canary": self.canary, "weight": self.weight,
                **dict(self.detail)}


@dataclass(frozen=True)
class Unchanged:
    """A target the deploy left alone (no new variant): listed, never shifted."""

    target: str
    version: str


@dataclass(frozen=True)
class Discovery:
    """What ``discover`` found: the targets to canary and those the deploy left alone."""

    changed: tuple[Variants, ...]
    unchanged: tuple[Unchanged, ...] = ()
    moved: str | None = None  # the deploy already moved the traffic itself: the one line that says so


class TrafficRouter(Protocol):
    """Something that splits a project's traffic between a stable and a new variant."""

    @property
    def kind(self) -> str:
        """``lambda_alias``, ``apigw_stage`` or ``cloudfront``: how plans, evidence and reports name it."""

    @property
    def max_weight(self) -> float | None:
        """The highest weight short of promotion this router can give a canary (CloudFront: 15), or None."""

    @property
    def restores_promoted(self) -> bool:
        """Whether ``restore`` puts a promoted canary back (an alias, a stage); False for a CloudFront site, whose
        primary then serves the new build itself: its previous build comes back by the project's undo."""

    def discover(self) -> Discovery:
        """Find each target's stable and new variant, before any traffic moves; ``NothingNew`` if none."""

    def split(self, variants: Sequence[Variants]) -> list[Split]:
        """The split now, read from AWS."""

    def set_weight(self, variants: Sequence[Variants], weight: float) -> list[Split]:
        """Give the canary variants ``weight`` percent (0 < weight < 100), confirmed by reading back."""

    def promote(self, variants: Sequence[Variants]) -> list[Split]:
        """Put all traffic on the canary variants and remove the split, confirmed by reading back."""

    def restore(self, variants: Sequence[Variants]) -> tuple[float, list[Split]]:
        """Put all traffic back on the stable variants (idempotent): the seconds it took and the read-back."""

    def scopes(self, variants: Sequence[Variants]) -> list[tuple[Scope, Scope]]:
        """Each target's (canary, stable) metric scopes, as ``metrics`` below understands them."""

    def metrics(self, clock: Clock, delay: timedelta) -> MetricSource:
        """Where the canary and stable variants' series come from (CloudWatch, by this router's dimensions)."""

    def describe(self, weights: Sequence[float]) -> list[str]:
        """The AWS calls each step makes, in words, for ``golive plan`` (the same parameters ``run`` uses)."""


@runtime_checkable
class RoutesHeader(Protocol):
    """A router that can first send only requests carrying a header to the new variant (CloudFront's
    ``SingleHeader`` policy): the smoke tests and health probes reach it before any user does (weight 0)."""

    def route_header(self, variants: Sequence[Variants]) -> list[Split]:
        """Only requests with the router's header reach the canary variants, confirmed by reading back."""
