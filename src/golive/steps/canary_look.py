"""One look at a baking canary: its signals, its rollback triggers, then the judge, as a verdict in words.

Every analysis interval the canary (``steps/canary.py``) asks for one look over complete minutes that end
``delay`` ago (metrics arrive late): the gate's signals (``steps/canary_signals.py``), the plan's rollback
triggers on the canary variants' own metrics over the step's own minutes (``analysis.trigger_look``: a window
short of its calls grows back; a trigger that has not judged is waiting, never quiet), then the judge comparing
canary with stable over the same minutes (at the final Haybittle-Peto boundary only at the look that can end
the step: past the bake, no trigger waiting, the judge with data for every test; the looks of an extended bake
are interim looks, so an extension never spends the final boundary again). The series come only from the
router: its ``metrics`` source and its ``scopes`` (which canary and stable scope each target has), so the look
is the same for every router.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any, Literal

from golive.analysis.criteria import parse_criterion
from golive.analysis.evaluate import CriterionSpec
from golive.analysis.history import fetch_history
from golive.analysis.judge import JudgeConfig, Judgement, MetricKind, TailCount, VersionSeries, config_from_analysis, judge
from golive.analysis.look_fetch import LookSource, look_requests
from golive.analysis.measurement import MeasurementOutcome
from golive.analysis.metrics import Fetch, MetricSource, Scope, SeriesRequest, floor_minute, parse_metric_def
from golive.analysis.tails import fetch_tails
from golive.analysis.trigger_look import look as look_triggers
from golive.engine.context import StepContext
from golive.routers.base import TrafficRouter
from golive.steps.canary_params import CanaryParams
from golive.steps.canary_signals import Connect, alarm_trigger, health_trigger, incident_trigger
from golive.steps.canary_state import CanaryState

Verdict = Literal["ok", "fail", "inconclusive", "error"]
SITE_METRICS = {"invocations", "errors"}  # what a CloudFront canary's triggers may read (requests, 5xx)


def trigger_specs(p: CanaryParams) -> list[CriterionSpec]:
    metrics = {n: parse_metric_def(text, n) for n, text in p.metrics.items()}
    default = int(p.min_invocations)
    specs = []
    for t in p.triggers:
        if t.get("criterion"):
            c = parse_criterion(t["criterion"])
            if p.cloudfront is not None and not site_reads(p, t["criterion"]):
                continue
            minimum = c.min_calls or t.get("min_invocations") or default
            specs.append(CriterionSpec(criterion=c, metric=metrics[c.metric], trigger=True, min_calls=int(minimum)))
    return specs


def site_reads(p: CanaryParams, criterion: str) -> bool:
    """Whether a site's canary can judge this trigger: a site has requests and errors (CloudFront reports no
    Lambda duration or throttle)."""
    metric = parse_metric_def(p.metrics[parse_criterion(criterion).metric])
    return set(metric.lambda_metrics) <= SITE_METRICS


def sampled_params(p: CanaryParams) -> dict[str, Any]:
    """The parameters the sample at a shift reads (``analysis.canary_sample``): a site's without the header step,
    the triggers it cannot judge, or a judge of durations."""
    params = p.model_dump(mode="json")
    if p.cloudfront is None:
        return params
    params["steps"] = [step for step in params["steps"] if not step.get("header")]
    params["triggers"] = [t for t in params["triggers"] if not t.get("criterion") or site_reads(p, t["criterion"])]
    judge = params["analysis"].get("judge", True)
    if judge is not False:
        params["analysis"] = {**params["analysis"], "judge": {**(judge if isinstance(judge, dict) else {}),
                                                              "metrics": ["errors"]}}
    return params


def ceil_minute(when: datetime) -> datetime:
    floor = floor_minute(when)
    return floor if floor == when else floor + timedelta(minutes=1)


def _series(fetched: Fetch, request: SeriesRequest, minutes: list[datetime], factor: float = 1.0) -> list[float]:
    values = fetched.get(request).values()
    return [values.get(m, 0.0) * factor for m in minutes]


def judge_config(p: CanaryParams) -> JudgeConfig | None:
    """The plan's judge (``analysis.judge``: true, false, or its metrics and minimum minutes); None when off.

    A site's canary is judged on its errors only: CloudFront reports no per-request duration by default.
    """
    config = config_from_analysis(p.analysis, sum(1 for step in p.steps if step.weight < 100 and not step.header))
    if config is not None and p.cloudfront is not None:
        config = replace(config, metrics=tuple(m for m in config.metrics if m.name == "errors"))
    return config


def _judge(config: JudgeConfig, p: CanaryParams, s: CanaryState, pairs: list[tuple[Scope, Scope]],
           source: MetricSource, history: dict[str, dict[str, float]], start: datetime, end: datetime,
           final: bool) -> tuple[Judgement | None, str | None]:
    """Canary against stable over [start, end); only the metrics the judge uses are queried.

    A metric that fails to answer is that metric's Error: a critical one fails safe at once; another is left
    out of this judgement, and fails safe only after the plan's ``consecutive_error_limit`` analyses in a row.
    ``history``: the stable versions' hour before the first shift (their error baseline, the tail's lines).
    """
    minutes = []
    at = start
    while at < end:
        minutes.append(at)
        at += timedelta(minutes=1)
    if not minutes:
        return None, None
    names = {policy.name for policy in config.metrics}
    critical = {policy.name for policy in config.metrics if policy.critical}
    scopes = [scope for pair in pairs for scope in pair]
    base = [SeriesRequest(scope, metric, "Sum") for scope in scopes
            for metric in ("invocations", *(("errors",) if "errors" in names else ()))]
    fetched = source.fetch(base, start, end)
    if fetched.error:
        return None, fetched.error
    durations: Fetch | None = None
    tails: dict[Scope, list[TailCount]] = {}
    errors = dict(s.metric_errors)
    if "p95_duration" in names:
        policy = next(m for m in config.metrics if m.name == "p95_duration")
        if policy.kind is MetricKind.TAIL:
            tails, failure = fetch_tails(source, pairs, policy.quantiles, policy.tolerance, start, end, history,
                                         config.drift_alpha)
        else:
            durations = source.fetch([SeriesRequest(scope, "duration", "p95") for scope in scopes], start, end)
            failure = durations.error
        if failure:
            errors["p95_duration"] = errors.get("p95_duration", 0) + 1
            settings = p.analysis.get("judge")
            limit = int(settings.get("consecutive_error_limit", 4)) if isinstance(settings, dict) else 4
            s.metric_errors = errors
            if "p95_duration" in critical or errors["p95_duration"] > limit:
                return None, f"p95_duration: {failure}"
            config = replace(config, metrics=tuple(m for m in config.metrics if m.name != "p95_duration"))
            durations = None
        else:
            errors["p95_duration"] = 0
    s.metric_errors = errors
    if not config.metrics:
        return None, None
    canaries: list[VersionSeries] = []
    stables: list[VersionSeries] = []
    for canary, stable in pairs:
        for scope, into in ((canary, canaries), (stable, stables)):
            inv = _series(fetched, SeriesRequest(scope, "invocations", "Sum"), minutes)
            counts = {"errors": _series(fetched, SeriesRequest(scope, "errors", "Sum"), minutes)} \
                if "errors" in names else {}
            values = {}
            if durations is not None:
                p95 = durations.get(SeriesRequest(scope, "duration", "p95")).values()
                values["p95_duration"] = [p95[m] / 1000.0 if m in p95 else float("nan") for m in minutes]
            into.append(VersionSeries(scope.label, inv, counts, values,
                                      {"p95_duration": tails[scope]} if scope in tails else {},
                                      history.get(scope.label) if scope is stable and "errors" in names else None))
    # Haybittle-Peto spends the final boundary once, at the look that ends the step: a look that cannot end
    # it (the judge short of data) is an interim look, and so are the extension's looks until one can.
    interim = judge(canaries, stables, config, final=False)
    if not final or interim.outcome is not MeasurementOutcome.SUCCESSFUL:
        return interim, None
    return judge(canaries, stables, config, final=True), None


def history_quantiles(config: JudgeConfig) -> tuple[float, ...] | None:
    """The duration percentiles the judge's history holds (its tail test's lines); None when it needs no history."""
    tail = next((m for m in config.metrics if m.kind is MetricKind.TAIL), None)
    if not any(m.name == "errors" for m in config.metrics) and tail is None:
        return None
    return tail.quantiles if tail is not None else ()


def read_history(config: JudgeConfig, p: CanaryParams, s: CanaryState, pairs: list[tuple[Scope, Scope]],
                 source: MetricSource, end: datetime | None = None) -> dict[str, dict[str, float]]:
    """The stable variants' calls, errors and duration percentiles (the tail test's lines) over
    ``analysis.history`` before the first shift (ending ``end``, the first shift's minute by default), read once a
    canary; empty when the judge needs neither."""
    quantiles = history_quantiles(config)
    if quantiles is None:
        return {}
    if s.history is None:
        seconds = p.seconds("history", 3600)
        assert s.started_at is not None
        end = end or floor_minute(s.started_at)
        scopes = [stable for _canary, stable in pairs]
        found, error = fetch_history(source, scopes, end - timedelta(seconds=seconds), end, quantiles) \
            if seconds else ({}, None)
        if error:
            return {}  # asked again at the next look
        s.history = found
    return dict(s.history)


def analyse(ctx: StepContext, p: CanaryParams, s: CanaryState, router: TrafficRouter,
            aws: Connect) -> tuple[Verdict, str, dict[str, Any]]:
    """One look at the canary: ('ok'|'fail'|'inconclusive'|'error', why, evidence)."""
    assert s.bake_started is not None and s.bake_until is not None
    delay = p.delay
    end = floor_minute(ctx.now - delay)
    # The step's first complete minute: the shift's own minute holds a few seconds of this weight's calls.
    first = ceil_minute(s.bake_started)
    bake_start = floor_minute(s.bake_started)
    evidence: dict[str, Any] = {"project": p.project, "weight": s.weight, "window": {"end": end.isoformat()},
                                "health": {url: tally.model_dump() for url, tally in s.health.items()}}
    why = incident_trigger(ctx, p) or alarm_trigger(aws, p.triggers, s.alarms_at_start) or health_trigger(p, s)
    if why:
        return "fail", f"trigger: {why}", evidence
    specs = trigger_specs(p)
    pairs = router.scopes(s.variants)
    scopes = [canary for canary, _stable in pairs]
    header = p.steps[s.index].header if s.index < len(p.steps) else False
    # At 100% there is no stable traffic to compare with; on the staging header only the probes reach the canary.
    config = None if s.moved or header else judge_config(p)
    # One GetMetricData for the look's triggers, judge counts and tail counts (analysis/look_fetch.py), at the
    # lines the stable's history gives (read once a canary, before its first look's call).
    metrics = router.metrics(ctx.services.clock, delay)
    history = read_history(config, p, s, pairs, metrics) if config is not None and end > bake_start else {}
    source = LookSource(metrics, bake_start, end)
    source.prefetch(look_requests(specs, pairs, config, first, bake_start, end, history))
    waiting: list[str] = []
    measured: list[dict[str, Any]] = []
    for trigger in look_triggers(specs, source, scopes, first, end):
        if trigger.error:
            return "error", f"metrics unavailable: {trigger.error}", {**evidence, "triggers": measured}
        found = trigger.measurement()
        if found is not None:
            measured.append(found.to_dict())
        if trigger.evaluation is None:
            waiting.append(trigger.waiting)
            continue
        result = trigger.evaluation
        if result.outcome is MeasurementOutcome.ERROR:
            return "error", f"metrics unavailable: {result.overall.message}", {**evidence, "triggers": measured}
        if result.outcome is MeasurementOutcome.FAILED:
            return "fail", f"{trigger.name}: {result.overall.message}", {**evidence, "triggers": measured}
        if result.outcome is MeasurementOutcome.INCONCLUSIVE:
            waiting.append(f"{trigger.name}: {result.overall.message}")
    if specs:
        evidence["triggers"] = measured
    if config is None or not config.metrics:
        if header:
            return "ok", "staging header only (the probes reach the new build, no viewer): health and triggers quiet", \
                evidence
        if waiting:
            return "inconclusive", "; ".join(waiting), evidence
        return "ok", "triggers quiet (judge off)", evidence
    # The bake's final look is the one that can end the step: past the bake, with no trigger still waiting.
    final = ctx.now >= s.bake_until and not waiting
    judgement, error = _judge(config, p, s, pairs, source, history, bake_start, end, final)
    if error:
        return "error", f"metrics unavailable: {error}", evidence
    if judgement is None:
        return "inconclusive", "no complete minute of data yet", evidence
    evidence["judgement"] = judgement.to_dict()
    evidence["summary"] = judgement.compact()
    outcome: Verdict = {MeasurementOutcome.FAILED: "fail", MeasurementOutcome.SUCCESSFUL: "ok",
                        MeasurementOutcome.INCONCLUSIVE: "inconclusive",
                        MeasurementOutcome.ERROR: "error"}[judgement.outcome]  # type: ignore[assignment]
    if outcome == "ok" and waiting:
        return "inconclusive", "; ".join(waiting), evidence
    return outcome, f"judge: {judgement.reason}", evidence
