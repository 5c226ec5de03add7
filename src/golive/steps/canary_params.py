"""A canary step's frozen parameters: what the planner stores and both ``golive plan`` and the canary read.

Kept apart from the canary's state machine (``steps/canary.py``) so the modules it is split into (its
signals, its looks) and the router factory read the same typed parameters without importing the machine.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any, Literal

from pydantic import Field

from golive.analysis.units import parse_duration
from golive.steps.kind import StepParams


class CanaryStep(StepParams):
    weight: float  # percent of the alias's traffic on the new version; 100 promotes
    bake_s: float = 0.0
    header: bool = False  # a CloudFront canary's header smoke: only requests with the staging header (weight 0)


class CloudFrontTarget(StepParams):
    """A site's CloudFront canary (``routers/cloudfront.py``): its primary distribution and the new build's path."""

    distribution: str  # an id, or the project's variable whose source finds it
    source: dict[str, Any] | None = None  # the variable's SecretSource, as the plan gives it
    origin_path: str
    origin: str | None = None
    header: str = "aws-cf-cd-golive"
    header_value: str = "smoke"


class ApiStageTarget(StepParams):
    """An API Gateway REST API stage's canary (``routers/apigw_stage.py``): the plan's ``api:``, expanded."""

    rest_api: str  # the API's name or id
    stage: str


class CanaryParams(StepParams):
    project: str
    alias: str
    functions: dict[str, Any]  # the plan's selector, expanded: prefix/suffix, names or tag, and count
    steps: list[CanaryStep]
    region: str | None = None
    analysis: dict[str, Any] = Field(default_factory=dict)  # the plan's CanaryAnalysis, as JSON
    triggers: list[dict[str, Any]] = Field(default_factory=list)  # the plan's rollback triggers
    min_invocations: int = 300
    health: list[str] = Field(default_factory=list)
    http_ok: list[int] = Field(default_factory=lambda: [200])
    rollback_shifted: bool = True  # a failure elsewhere in the batch puts this canary's traffic back
    primary: bool = True  # in the environment's primary region (False: its DR region)
    metrics: dict[str, str] = Field(default_factory=dict)  # the triggers' metrics: name -> the plan's lambda expression
    undo_after_dependents: bool = False  # rollback_dependents and projects depend on this one: they are undone first
    # ``changed``: the functions the deploy left alone are listed as unchanged; ``all``: each one is a failure
    new_versions: Literal["changed", "all"] = "changed"
    apigw_stage: ApiStageTarget | None = None  # an API's canary: the router is its stage's (alias, functions empty)
    cloudfront: CloudFrontTarget | None = None  # a site's canary: the router is CloudFront's, not a Lambda alias

    def seconds(self, name: str, default: float) -> float:
        """An ``analysis`` duration (``interval``, ``delay``, ``max_extension``, ``history``) in seconds."""
        return seconds(self.analysis.get(name, default))

    @property
    def interval(self) -> timedelta:
        return timedelta(seconds=self.seconds("interval", 60))

    @property
    def delay(self) -> timedelta:
        return timedelta(seconds=self.seconds("delay", 60))


def seconds(value: Any) -> float:
    """A stored duration: seconds as a number, or the plan's text (``1m``)."""
    if isinstance(value, int | float):
        return float(value)
    return parse_duration(str(value)).total_seconds()
