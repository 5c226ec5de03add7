"""A canary's sample read from its plan and from AWS, before traffic moves.

``golive plan``, preflight's ``canary_sample`` check and the canary step at each shift all ask the same
question (``analysis.sample``): from the canary's stored parameters (the plan's steps, triggers, judge and
bake timing) and the stable versions' last hour in CloudWatch, can every criterion decide at every step?
This module turns the stored parameters into a ``Shape``, finds the stable versions (the alias's, or the
ones a started canary recorded), reads their traffic in one ``GetMetricData`` and says what it found, or
why it could not look.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import timedelta
from typing import Any

from golive.analysis.cloudwatch import CloudWatchLambdaSource
from golive.analysis.criteria import parse_criterion
from golive.analysis.judge import config_from_analysis
from golive.analysis.metrics import MetricSource, Scope, floor_minute
from golive.analysis.sample import Sample, Shape, Step, TriggerNeed, plan_samples, read_traffic
from golive.analysis.units import parse_duration
from golive.clock import Clock
from golive.errors import GoliveError, UsageError
from golive.providers.aws import Aws
from golive.providers.lambdas import LambdaClient


def seconds(value: Any, default: float) -> float:
    """A stored duration: seconds as a number, or the plan's text (``1m``)."""
    if value is None:
        return default
    if isinstance(value, int | float):
        return float(value)
    return parse_duration(str(value)).total_seconds()


def trigger_needs(triggers: Sequence[Mapping[str, Any]], default: int) -> tuple[TriggerNeed, ...]:
    """The criterion triggers with the calls each needs: its ``min N calls``, its ``min_invocations``, the plan's."""
    out = []
    for t in triggers:
        if t.get("criterion"):
            criterion = parse_criterion(t["criterion"])
            out.append(TriggerNeed(criterion, int(criterion.min_calls or t.get("min_invocations") or default)))
    return tuple(out)


def shape_of(params: Mapping[str, Any]) -> Shape:
    """A canary's ``Shape`` from its stored parameters (the canary step's, or the ``canary_sample`` check's)."""
    analysis: Mapping[str, Any] = params.get("analysis") or {}
    steps = tuple(Step(float(s["weight"]), float(s.get("bake_s") or 0.0)) for s in params["steps"])
    return Shape(project=str(params["project"]), steps=steps,
                 triggers=trigger_needs(params.get("triggers") or [], int(params.get("min_invocations") or 300)),
                 judge=config_from_analysis(analysis, sum(1 for s in steps if s.weight < 100)),
                 interval_s=seconds(analysis.get("interval"), 60.0), delay_s=seconds(analysis.get("delay"), 60.0),
                 max_extension_s=seconds(analysis.get("max_extension"), 600.0),
                 history_s=seconds(analysis.get("history"), 3600.0))


def stable_versions(aws: Aws, params: Mapping[str, Any]) -> dict[str, str]:
    """Each selected function's stable version: the one its alias serves now."""
    lam = LambdaClient(aws)
    functions = lam.select(params["functions"])
    if not functions:
        raise UsageError(f"no Lambda functions match {dict(params['functions'])}")
    return {fn: lam.get_alias_routing(fn, str(params["alias"])).version for fn in functions}


def read_sample(aws: Aws, clock: Clock, params: Mapping[str, Any],
                stable: Mapping[str, str] | None = None) -> tuple[list[Sample], str | None]:
    """Every criterion at every step with the calls the stable versions' last hour promises, or why not known.

    ``stable`` is the versions a started canary recorded; without it the aliases are read.
    """
    try:
        versions = dict(stable) if stable is not None else stable_versions(aws, params)
    except GoliveError as exc:
        return [], str(exc)
    delay = timedelta(seconds=shape_of(params).delay_s)
    source = CloudWatchLambdaSource(aws, clock, delay=delay, region=params.get("region"))
    scopes = [Scope(fn, str(params["alias"]), version) for fn, version in versions.items()]
    return sample_from(source, clock, params, scopes)


def sample_from(source: MetricSource, clock: Clock, params: Mapping[str, Any],
                scopes: Sequence[Scope]) -> tuple[list[Sample], str | None]:
    """``read_sample`` over a metric source and the stable variants' scopes (a canary's router gives both)."""
    shape = shape_of(params)
    try:
        traffic, error = read_traffic(source, scopes, floor_minute(clock.now() - timedelta(seconds=shape.delay_s)))
    except GoliveError as exc:
        return [], str(exc)
    if traffic is None:
        return [], error or "no answer"
    return plan_samples(shape, traffic), None


def undecided(samples: Sequence[Sample]) -> list[Sample]:
    return [s for s in samples if not s.decides]
