"""The Lambda canary: shift, bake, judge, and either promote or roll back.

The runbook's "shift 10%, monitor 10 minutes, if stable shift 50%, monitor
5, shift 100%" as a reconcile loop over the step's saved state. Each call
takes the next due action and returns when to come back:

- first, find the project's functions and, for each, the stable version
  (the alias's) and the canary (the newest version published above it; none
  is an error, never a guess); recorded before any traffic moves;
- gate: before every weight change, the first and a single-step 100% one
  included, open incidents at the plan's severity, the trigger alarms, new
  alarms (``alarms: new``: in ALARM now and not when the run started, minus
  the allow-list), the health URLs and the last analysis; any of them and
  the canary rolls back (or, before the first shift, stays where it is),
  never forward;
- shift: all functions of the project together (``UpdateAlias`` with
  ``AdditionalVersionWeights``; the last step moves ``FunctionVersion`` and
  clears the routing);
- at each shift, the calls each criterion will get at this weight
  (``analysis.canary_sample``), recorded and printed;
- bake: every analysis interval, over complete minutes that end ``delay``
  ago (Lambda metrics arrive late), the gate's signals, the project's health
  URLs' availability over the bake, the plan's rollback triggers on the
  canary version's own metrics over the step's own minutes
  (``analysis.trigger_look``: a window short of its calls grows back; a
  trigger that has not judged is waiting, never quiet), then the judge
  comparing canary with stable over the same minutes; each look one line
  in words (``analysis.look_line``);
- Failed: roll back at once. Inconclusive at the end of a bake: extend it,
  up to ``max_extension``, then the plan's ``on_inconclusive``
  (``steps/canary_inconclusive``: pause by default, rollback, promote).
  AWS not answering mid-bake is inconclusive at once; never forward.

``golive abort P`` and ``golive promote P --why`` are read from the store as
operator events. Every shift, analysis, promotion and rollback is an event
with its numbers, so a rollback always says which criterion, which value,
which threshold, which window.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

from pydantic import Field

from golive.analysis.canary_sample import read_sample
from golive.analysis.cloudwatch import CloudWatchLambdaSource
from golive.analysis.criteria import parse_criterion
from golive.analysis.evaluate import CriterionSpec
from golive.analysis.history import fetch_history
from golive.analysis.judge import (
    JudgeConfig,
    Judgement,
    MetricKind,
    TailCount,
    VersionSeries,
    config_from_analysis,
    judge,
)
from golive.analysis.look_fetch import LookSource, look_requests
from golive.analysis.look_line import line as look_line
from golive.analysis.measurement import MeasurementOutcome
from golive.analysis.metrics import Fetch, MetricSource, Scope, SeriesRequest, floor_minute, parse_metric_def
from golive.analysis.tails import fetch_tails
from golive.analysis.trigger_look import look as look_triggers
from golive.analysis.units import hours_or_minutes
from golive.checks.alarms import sort_alarms
from golive.clock import parse_instant
from golive.engine.context import StepContext
from golive.engine.outcome import Done, Fail, Outcome, Wait
from golive.errors import ExternalError, GoliveError
from golive.evidence.canary import (
    CanaryAnalysis,
    CanaryGateBlocked,
    CanaryPromoted,
    CanaryPromoteForced,
    CanarySample,
    CanaryShifted,
    CanaryVersions,
)
from golive.evidence.rollback import RollbackFailed, RolledBack
from golive.providers.aws import Aws
from golive.providers.http import get
from golive.providers.lambdas import LambdaClient
from golive.steps import alarm_baseline, canary_inconclusive, restore
from golive.steps.kind import StepKind, StepParams

RETRY = timedelta(seconds=30)  # asking AWS again while a pause, or an outage the plan promotes after, waits


def _aws(ctx: StepContext, p: CanaryParams) -> Aws:
    return ctx.services.aws(ctx.run.env, p.region)


def _versions(ctx: StepContext) -> dict[str, dict[str, str]]:
    return {fn: dict(v) for fn, v in ctx.state["versions"].items()}


def _start(ctx: StepContext, p: CanaryParams, aws: Aws) -> Outcome | None:
    lam = LambdaClient(aws)
    functions = lam.select(p.functions)
    expected = p.functions.get("count")
    if not functions:
        return Fail(f"no Lambda functions match {p.functions} in {p.region}")
    if expected is not None and len(functions) != expected:
        return Fail(f"{len(functions)} functions match {p.functions}, the plan expects {expected}: {functions}")
    versions = {}
    for fn in functions:
        try:
            stable, canary = lam.find_versions(fn, p.alias)
        except GoliveError as exc:
            if isinstance(exc, ExternalError):
                raise
            return Fail(str(exc))
        versions[fn] = {"stable": stable, "canary": canary}
    ctx.state.update(versions=versions, index=0, phase="shift", started_at=ctx.now.isoformat(), weight=0.0,
                     consumed=[], alarms_at_start=_alarms_at_start(ctx, p, aws))
    ctx.save()
    ctx.record(CanaryVersions(subject=p.project, project=p.project, versions=versions, region=p.region))
    return None


def _operator_command(ctx: StepContext, p: CanaryParams) -> tuple[str, dict[str, Any]] | None:
    consumed = set(ctx.state.get("consumed", []))
    since = parse_instant(ctx.state["started_at"])
    for event in ctx.store.events(release=ctx.run.release, env=ctx.run.env, kind="operator", since=since):
        if (event.subject == p.project and event.id not in consumed and event.outcome in ("abort", "promote")
                and event.data.get("step") in (None, ctx.step.key)):
            ctx.state["consumed"] = [*consumed, event.id]
            ctx.save()
            return event.outcome or "", event.data
    return None


def _shifted(state: dict[str, Any]) -> bool:
    """Traffic may have moved: a shift was made, or only intended (a crash between the alias update and the
    next save leaves the intent alone; the restore reads the alias back either way)."""
    return bool(state.get("shifted")) or state.get("shift_intent") is not None


def _restore(ctx: StepContext, p: CanaryParams, reason: str, asked_by: str, *,
             waiting: restore.Waiting | None) -> RolledBack | RollbackFailed:
    router = restore.LambdaAliases(_aws(ctx, p), p.alias, _versions(ctx))
    ask = restore.Ask(project=p.project, reason=reason, asked_by=asked_by, region=p.region,
                      from_weight=ctx.state.get("shift_intent", ctx.state.get("last_weight")))
    return restore.restore(router, ask, waiting=waiting)


def _rollback(ctx: StepContext, p: CanaryParams, reason: str) -> Outcome:
    """The canary's own failure: the intent (and its reason) saved first, so a resumed handler finishes this
    rollback and fails instead of baking on; AWS not answering is the engine's to retry, never forward."""
    if ctx.state.get("phase") != "rolling_back":
        ctx.state.update(phase="rolling_back", rollback_reason=reason, rollback_asked_at=ctx.now.isoformat())
        ctx.save()
    record = _restore(ctx, p, reason, "canary", waiting=None)
    # The record, the state and the failure are written together by the engine as this returns.
    ctx.record(record)
    if isinstance(record, RollbackFailed):
        return Fail(f"{p.project} could not be rolled back: {record.error} ({reason})", record.to_data())
    ctx.state.update(phase="rolled_back", weight=0.0)
    return Fail(f"{p.project} rolled back: {reason}", record.to_data(), rolled_back=True)


def _gate(ctx: StepContext, p: CanaryParams, aws: Aws) -> str | None:
    """Why the canary must not move forward now, or None: the signals every weight change is gated on."""
    if ctx.state["index"] > 0 and not ctx.state.get("forced") and ctx.state.get("last_verdict") != "ok":
        return f"the last analysis was {ctx.state.get('last_verdict') or 'missing'}"
    why = _incident_trigger(ctx, p) or _alarm_trigger(ctx, p, aws)
    if why:
        return why
    down = [f"{url} answered {status}" for url, status in _probe_health(ctx, p, record=False).items()
            if status not in p.http_ok]
    return f"health: {'; '.join(down)}" if down else None


def _shift(ctx: StepContext, p: CanaryParams, aws: Aws) -> Outcome:
    step = p.steps[ctx.state["index"]]
    weight = step.weight
    blocked = _gate(ctx, p, aws)
    if blocked:
        ctx.record(CanaryGateBlocked(subject=p.project, project=p.project, weight=ctx.state.get("weight", 0.0),
                                     next_weight=weight, reason=blocked))
        return _rollback(ctx, p, f"not shifted to {weight:g}%: {blocked}")
    ctx.state["shift_intent"] = weight
    ctx.save()
    LambdaClient(aws).shift_all(_versions(ctx), p.alias, weight)
    ctx.state.update(weight=weight, last_weight=weight, shifted=True)
    if weight >= 100:
        ctx.state["phase"] = "promoted"
        ctx.save()
        ctx.record(CanaryPromoted(subject=p.project, project=p.project, weight=100.0, versions=_versions(ctx)))
        return Done(f"{p.project} promoted: {len(_versions(ctx))} functions on their new version",
                    {"project": p.project, "versions": _versions(ctx)}, kind="canary", subject=p.project)
    interval = timedelta(seconds=_interval_s(ctx, p))
    bake = timedelta(seconds=step.bake_s) or interval
    first = _first_analysis(ctx, p, interval)
    ctx.state.update(phase="bake", bake_started=ctx.now.isoformat(), bake_until=(ctx.now + bake).isoformat(),
                     next_analysis=first.isoformat(), extended_s=0.0, health={}, last_verdict=None, forced=False)
    ctx.save()
    ctx.record(CanaryShifted(subject=p.project, project=p.project, weight=weight, bake_s=bake.total_seconds(),
                             versions=_versions(ctx)))
    _record_sample(ctx, p, aws, weight)
    return Wait(min(first, ctx.now + interval), f"{p.project} at {weight:g}%, baking until {ctx.now + bake:%H:%M}")


def _record_sample(ctx: StepContext, p: CanaryParams, aws: Aws, weight: float) -> None:
    """The calls each criterion will get at this weight, from the stable versions' last hour (``analysis.sample``)."""
    stable = {fn: v["stable"] for fn, v in _versions(ctx).items()}
    samples, error = read_sample(aws, ctx.services.clock, p.model_dump(mode="json"), stable)
    here = [s for s in samples if s.weight == weight]
    ctx.record(CanarySample(subject=p.project, project=p.project, weight=weight, lines=tuple(s.line() for s in here),
                            cannot_decide=tuple(s.line() for s in here if not s.decides), error=error))


def _first_analysis(ctx: StepContext, p: CanaryParams, interval: timedelta) -> datetime:
    """The first look after a shift: as soon as the shift's minute is complete and its metrics delivered.

    Windows are whole minutes ending ``delay`` ago, so looking at shift + interval would read a window
    that ends before the shift; aligning to the minute boundary plus the delay reads the shift's minute
    at the earliest moment it can be read, and every later look comes one interval after the last.
    """
    delay = timedelta(seconds=_seconds(p.analysis.get("delay", 60)))
    return max(floor_minute(ctx.now) + timedelta(minutes=1) + delay, ctx.now + interval)


def _interval_s(ctx: StepContext, p: CanaryParams) -> float:
    return float(_seconds(p.analysis.get("interval", 60)))


def _seconds(value: Any) -> float:
    if isinstance(value, int | float):
        return float(value)
    from golive.analysis.units import parse_duration

    return parse_duration(str(value)).total_seconds()


def _incident_trigger(ctx: StepContext, p: CanaryParams) -> str | None:
    severities = {t["incident"] for t in p.triggers if t.get("incident")}
    if not severities:
        return None
    batch = ctx.step.group.removeprefix("batch.").removeprefix("dr.")
    for incident in ctx.store.incidents(ctx.run.release, open_only=True):
        worse = int(incident.severity[1:]) <= max(int(s[1:]) for s in severities)
        scoped = incident.scope in (None, batch, p.project)
        if worse and scoped and incident.env in (None, ctx.run.env):
            return f"open {incident.severity} incident #{incident.id}: {incident.title}"
    return None


def _alarm_trigger(ctx: StepContext, p: CanaryParams, aws: Aws) -> str | None:
    """A named alarm in ALARM, or (``alarms: new``) one in ALARM now that was not at the start and is not
    allow-listed: both from one read of the alarms in ALARM."""
    names = {t["alarm"] for t in p.triggers if t.get("alarm")}
    new_trigger = next((t for t in p.triggers if t.get("alarms") == "new"), None)
    if not names and new_trigger is None:
        return None
    firing = alarm_baseline.firing(aws)
    named = [n for n in firing if n in names]
    if named:
        return f"alarm {', '.join(named)} in ALARM"
    if new_trigger is None:
        return None
    _ok, _old, new = sort_alarms(firing, list(new_trigger.get("allow", [])),
                                 frozenset(ctx.state.get("alarms_at_start", [])))
    return f"new alarm{'s' if len(new) > 1 else ''} in ALARM since the start: {', '.join(new)}" if new else None


def _alarms_at_start(ctx: StepContext, p: CanaryParams, aws: Aws) -> list[str]:
    """The alarms in ALARM when the run started in this region; read now if the run did not record them."""
    found = alarm_baseline.at_start(ctx.run.meta, ctx.run.env, None if p.primary else p.region)
    if found is not None:
        return sorted(found)
    if not any(t.get("alarms") == "new" for t in p.triggers):
        return []
    return alarm_baseline.firing(aws)


def _probe_health(ctx: StepContext, p: CanaryParams, *, record: bool = True) -> dict[str, int | str]:
    """One GET of each of the project's health URLs: the status (or error); counted in the bake's tally."""
    answers: dict[str, int | str] = {}
    ok = set(p.http_ok)
    tally: dict[str, dict[str, int]] = ctx.state.setdefault("health", {})
    for url in p.health:
        answer = get(ctx.services.http, url, timeout=5.0)
        answers[url] = answer.status or str(answer.error)
        if record:
            counts = tally.setdefault(url, {"probes": 0, "up": 0})
            counts["probes"] += 1
            counts["up"] += 1 if answer.status in ok else 0
    return answers


def _health_trigger(ctx: StepContext, p: CanaryParams) -> str | None:
    """The bake's availability of each health URL below the plan's threshold, once enough probes were made."""
    threshold = float(p.analysis.get("health_availability", 0.99))
    minimum = int(p.analysis.get("health_min_probes", 3))
    for url, counts in ctx.state.get("health", {}).items():
        probes, up = counts["probes"], counts["up"]
        if probes >= minimum and up / probes < threshold:
            return (f"health {url} available {up / probes:.1%} of the bake ({up} of {probes} probes up), "
                    f"below {threshold:.1%}")
    return None


def _trigger_specs(ctx: StepContext, p: CanaryParams) -> list[CriterionSpec]:
    metrics = {n: parse_metric_def(text, n) for n, text in p.metrics.items()}
    default = int(p.min_invocations)
    specs = []
    for t in p.triggers:
        if t.get("criterion"):
            c = parse_criterion(t["criterion"])
            minimum = c.min_calls or t.get("min_invocations") or default
            specs.append(CriterionSpec(criterion=c, metric=metrics[c.metric], trigger=True, min_calls=int(minimum)))
    return specs


def _ceil_minute(when: datetime) -> datetime:
    floor = floor_minute(when)
    return floor if floor == when else floor + timedelta(minutes=1)


def _series(fetched: Fetch, request: SeriesRequest, minutes: list[datetime], factor: float = 1.0) -> list[float]:
    values = fetched.get(request).values()
    return [values.get(m, 0.0) * factor for m in minutes]


def _judge_config(ctx: StepContext, p: CanaryParams) -> JudgeConfig | None:
    """The plan's judge (``analysis.judge``: true, false, or its metrics and minimum minutes); None when off."""
    return config_from_analysis(p.analysis, sum(1 for step in p.steps if step.weight < 100))


def _judge(ctx: StepContext, p: CanaryParams, source: MetricSource, config: JudgeConfig, start: datetime, end: datetime,
           final: bool) -> tuple[Judgement | None, str | None]:
    """Canary against stable over [start, end); only the metrics the judge uses are queried.

    Each metric is fetched on its own, so one that fails to answer is that metric's Error: a critical one
    fails safe at once; another is left out of this judgement, and fails safe only after the plan's
    ``consecutive_error_limit`` analyses in a row.
    """
    versions = _versions(ctx)
    alias = p.alias
    minutes = []
    at = start
    while at < end:
        minutes.append(at)
        at += timedelta(minutes=1)
    if not minutes:
        return None, None
    names = {policy.name for policy in config.metrics}
    critical = {policy.name for policy in config.metrics if policy.critical}
    scopes = [Scope(fn, alias, version) for fn, v in versions.items() for version in (v["canary"], v["stable"])]
    base = [SeriesRequest(scope, metric, "Sum") for scope in scopes
            for metric in ("invocations", *(("errors",) if "errors" in names else ()))]
    fetched = source.fetch(base, start, end)
    if fetched.error:
        return None, fetched.error
    durations: Fetch | None = None
    tails: dict[Scope, list[TailCount]] = {}
    errors = dict(ctx.state.get("metric_errors", {}))
    if "p95_duration" in names:
        policy = next(p for p in config.metrics if p.name == "p95_duration")
        if policy.kind is MetricKind.TAIL:
            pairs = [(Scope(fn, alias, v["canary"]), Scope(fn, alias, v["stable"])) for fn, v in versions.items()]
            tails, failure = fetch_tails(source, pairs, policy.quantiles, policy.tolerance, start, end)
        else:
            durations = source.fetch([SeriesRequest(scope, "duration", "p95") for scope in scopes], start, end)
            failure = durations.error
        if failure:
            errors["p95_duration"] = errors.get("p95_duration", 0) + 1
            settings = p.analysis.get("judge")
            limit = int(settings.get("consecutive_error_limit", 4)) if isinstance(settings, dict) else 4
            ctx.state["metric_errors"] = errors
            if "p95_duration" in critical or errors["p95_duration"] > limit:
                return None, f"p95_duration: {failure}"
            config = replace(config, metrics=tuple(p for p in config.metrics if p.name != "p95_duration"))
            durations = None
        else:
            errors["p95_duration"] = 0
    ctx.state["metric_errors"] = errors
    if not config.metrics:
        return None, None
    history = _history(ctx, p, source) if "errors" in names else {}
    canaries: list[VersionSeries] = []
    stables: list[VersionSeries] = []
    for fn, v in versions.items():
        for version, into in ((v["canary"], canaries), (v["stable"], stables)):
            scope = Scope(fn, alias, version)
            inv = _series(fetched, SeriesRequest(scope, "invocations", "Sum"), minutes)
            counts = {"errors": _series(fetched, SeriesRequest(scope, "errors", "Sum"), minutes)} \
                if "errors" in names else {}
            values = {}
            if durations is not None:
                p95 = durations.get(SeriesRequest(scope, "duration", "p95")).values()
                values["p95_duration"] = [p95[m] / 1000.0 if m in p95 else float("nan") for m in minutes]
            into.append(VersionSeries(scope.label, inv, counts, values,
                                      {"p95_duration": tails[scope]} if scope in tails else {},
                                      history.get(scope.label) if version == v["stable"] else None))
    return judge(canaries, stables, config, final=final), None


def _history(ctx: StepContext, p: CanaryParams, source: MetricSource) -> dict[str, dict[str, float]]:
    """The stable versions' calls and errors over ``analysis.history`` before the first shift, read once."""
    if "history" not in ctx.state:
        seconds = _seconds(p.analysis.get("history", 3600))
        end = floor_minute(parse_instant(ctx.state["started_at"]))
        scopes = [Scope(fn, p.alias, v["stable"]) for fn, v in _versions(ctx).items()]
        found, error = fetch_history(source, scopes, end - timedelta(seconds=seconds), end) if seconds else ({}, None)
        if error:
            return {}  # asked again at the next look
        ctx.state["history"] = found
    return dict(ctx.state["history"])


def _analyse(ctx: StepContext, p: CanaryParams, aws: Aws) -> tuple[str, str, dict[str, Any]]:
    """One look at the canary: ('ok'|'fail'|'inconclusive'|'error', why, evidence)."""
    delay = timedelta(seconds=_seconds(p.analysis.get("delay", 60)))
    end = floor_minute(ctx.now - delay)
    # The step's first complete minute: the shift's own minute holds a few seconds of this weight's calls.
    first = _ceil_minute(parse_instant(ctx.state["bake_started"]))
    bake_start = floor_minute(parse_instant(ctx.state["bake_started"]))
    evidence: dict[str, Any] = {"project": p.project, "weight": ctx.state.get("weight"),
                                "window": {"end": end.isoformat()}, "health": ctx.state.get("health", {})}
    why = _incident_trigger(ctx, p) or _alarm_trigger(ctx, p, aws) \
        or _health_trigger(ctx, p)
    if why:
        return "fail", f"trigger: {why}", evidence
    specs = _trigger_specs(ctx, p)
    versions = _versions(ctx)
    scopes = [Scope(fn, p.alias, v["canary"]) for fn, v in versions.items()]
    config = _judge_config(ctx, p)
    # One GetMetricData for the look's triggers, judge counts and first tail round (analysis/look_fetch.py).
    source = LookSource(CloudWatchLambdaSource(aws, ctx.services.clock, delay=delay, region=p.region), bake_start, end)
    source.prefetch(look_requests(specs, [(Scope(fn, p.alias, v["canary"]), Scope(fn, p.alias, v["stable"]))
                                          for fn, v in versions.items()], config, first, bake_start, end))
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
        if waiting:
            return "inconclusive", "; ".join(waiting), evidence
        return "ok", "triggers quiet (judge off)", evidence
    final = ctx.now >= parse_instant(ctx.state["bake_until"])
    judgement, error = _judge(ctx, p, source, config, bake_start, end, final)
    if error:
        return "error", f"metrics unavailable: {error}", evidence
    if judgement is None:
        return "inconclusive", "no complete minute of data yet", evidence
    evidence["judgement"] = judgement.to_dict()
    evidence["summary"] = judgement.compact()
    outcome = {MeasurementOutcome.FAILED: "fail", MeasurementOutcome.SUCCESSFUL: "ok",
               MeasurementOutcome.INCONCLUSIVE: "inconclusive", MeasurementOutcome.ERROR: "error"}[judgement.outcome]
    if outcome == "ok" and waiting:
        return "inconclusive", "; ".join(waiting), evidence
    return outcome, f"judge: {judgement.reason}", evidence


def _bake(ctx: StepContext, p: CanaryParams, aws: Aws) -> Outcome:
    due = parse_instant(ctx.state["next_analysis"])
    _probe_health(ctx, p)
    ctx.save()
    if ctx.now < due:
        # Wake at least every interval, so an abort or promote from an operator is read promptly.
        wake = min(due, ctx.now + timedelta(seconds=_interval_s(ctx, p)))
        return Wait(wake, f"{p.project} at {ctx.state['weight']:g}%, next analysis {due:%H:%M}")
    verdict, why, evidence = _analyse(ctx, p, aws)
    said = look_line(p.project, ctx.state.get("weight"), verdict, why, evidence.get("judgement"))
    ctx.record(CanaryAnalysis.from_data(p.project, "analysis", {**evidence, "verdict": verdict, "reason": why,
                                                                "line": said}))
    ctx.state["last_verdict"] = verdict
    if verdict == "fail":
        return _rollback(ctx, p, why)
    if verdict == "error":
        return _on_inconclusive(ctx, p, aws, f"AWS did not answer: {why}", outage=True)
    if ctx.state.get("outage"):
        return _on_inconclusive(ctx, p, aws, f"AWS answered again after: {ctx.state['outage']}")
    interval = timedelta(seconds=_interval_s(ctx, p))
    bake_until = parse_instant(ctx.state["bake_until"])
    if ctx.now >= bake_until:
        if verdict == "ok":
            ctx.state.update(index=ctx.state["index"] + 1, phase="shift")
            ctx.save()
            return Wait(ctx.now, "bake passed; shifting further")
        max_ext = _seconds(p.analysis.get("max_extension", 600))
        if ctx.state.get("extended_s", 0.0) + interval.total_seconds() > max_ext:
            return _on_inconclusive(ctx, p, aws, f"still inconclusive after extending the bake by "
                                                 f"{ctx.state.get('extended_s', 0.0) / 60:g} min ({why})")
        ctx.state.update(bake_until=(bake_until + interval).isoformat(),
                         extended_s=ctx.state.get("extended_s", 0.0) + interval.total_seconds())
    ctx.state["next_analysis"] = (ctx.now + interval).isoformat()
    ctx.save()
    return Wait(ctx.now + interval, f"{p.project} at {ctx.state['weight']:g}%: {verdict}")


def _on_inconclusive(ctx: StepContext, p: CanaryParams, aws: Aws, why: str, *, outage: bool = False) -> Outcome:
    """The plan's ``on_inconclusive`` for a canary that could not decide (``steps/canary_inconclusive``)."""
    return _act(ctx, p, aws, canary_inconclusive.apply(ctx, p.project, p.analysis, why, outage=outage))


def _act(ctx: StepContext, p: CanaryParams, aws: Aws, action: canary_inconclusive.Action) -> Outcome:
    if action.kind == "rollback":
        return _rollback(ctx, p, f"fail safe: {action.reason}")
    if action.kind == "promote":
        ctx.state.update(index=ctx.state["index"] + 1, phase="shift", forced=True)
        ctx.save()
        return Wait(ctx.now, f"{p.project}: {action.reason}; shifting further")
    if action.kind == "wait":
        ctx.state["next_analysis"] = (ctx.now + RETRY).isoformat()
        ctx.save()
        return Wait(ctx.now + RETRY, f"{p.project}: {action.reason}")
    until = action.until or ctx.now
    return Wait(min(until, ctx.now + timedelta(seconds=_interval_s(ctx, p))), f"{p.project}: {action.reason}")


def _paused(ctx: StepContext, p: CanaryParams, aws: Aws) -> Outcome:
    """A paused canary: an incident or alarm trigger still rolls it back; otherwise it waits for an operator."""
    why = _incident_trigger(ctx, p) or _alarm_trigger(ctx, p, aws)
    if why:
        return _rollback(ctx, p, f"trigger while paused: {why}")
    return _act(ctx, p, aws, canary_inconclusive.paused(ctx, p.analysis))


def run(ctx: StepContext, p: CanaryParams) -> Outcome:
    aws = _aws(ctx, p)
    phase = ctx.state.get("phase")
    if phase == "rolling_back":
        return _rollback(ctx, p, ctx.state["rollback_reason"])
    if phase == "rolled_back":
        return Fail(f"{p.project} rolled back: {ctx.state.get('rollback_reason')}", rolled_back=True)
    if phase == "promoted":
        return Done(f"{p.project} promoted", kind="canary", subject=p.project)
    if "versions" not in ctx.state:
        failed = _start(ctx, p, aws)
        if failed is not None:
            return failed
    command = _operator_command(ctx, p)
    if command is not None:
        kind, data = command
        if kind == "abort":
            return _rollback(ctx, p, f"aborted by {data.get('by') or 'an operator'}: {data.get('why') or 'golive abort'}")
        ctx.state.update(index=len(p.steps) - 1, phase="shift", forced=True)
        ctx.record(CanaryPromoteForced.from_data(p.project, "promote_forced",
                                                 {"project": p.project, **data}))
    try:
        if ctx.state["phase"] == "shift":
            return _shift(ctx, p, aws)
        if ctx.state["phase"] == canary_inconclusive.PAUSED:
            return _paused(ctx, p, aws)
        return _bake(ctx, p, aws)
    except ExternalError as exc:
        if ctx.state.get("phase") == "rolling_back":
            raise  # the rollback itself met no answer: the engine tries the step again, on the retry budget
        if ctx.state["phase"] == "bake":
            return _on_inconclusive(ctx, p, aws, f"AWS did not answer ({exc})", outage=True)
        if ctx.state["phase"] == canary_inconclusive.PAUSED:
            return Wait(ctx.now + RETRY, f"{p.project}: paused; AWS did not answer ({exc}), asking again")
        return _rollback(ctx, p, f"fail safe: AWS did not answer ({exc})")


def compensate(ctx: StepContext, p: CanaryParams, reason: str) -> None:
    """The batch stopped: put this project's shifted traffic back (the plan's rollback_shifted).

    Idempotent: the engine calls it again after a crash until it returns. The record and the state that says
    it is done are written in one transaction (``ctx.save``), so a second call finds it done and records
    nothing twice; before that, a second call restores again (an alias already on stable reads back so).
    """
    if not p.rollback_shifted or ctx.state.get("phase") in ("rolled_back", "rollback_failed") \
            or "versions" not in ctx.state:
        return
    if not _shifted(ctx.state) and ctx.state.get("phase") != "rolling_back":
        return
    reason = ctx.state.get("rollback_reason") or reason
    if ctx.state.get("phase") != "rolling_back":
        ctx.state.update(phase="rolling_back", rollback_reason=reason, rollback_asked_at=ctx.now.isoformat())
        ctx.save()
    record = _restore(ctx, p, reason, "compensation", waiting=restore.Waiting.of(ctx.services, ctx.run.env))
    if isinstance(record, RolledBack):
        ctx.state.update(phase="rolled_back", weight=0.0)
    else:
        ctx.state["phase"] = "rollback_failed"
    ctx.record(record)
    ctx.save()


class CanaryStep(StepParams):
    weight: float  # percent of the alias's traffic on the new version; 100 promotes
    bake_s: float = 0.0


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


def describe(p: CanaryParams) -> list[str]:
    selector = p.functions
    pattern = selector.get("prefix", "") + "*" + selector.get("suffix", "") if "prefix" in selector else \
        ",".join(selector.get("names", [])) or f"tag {selector.get('tag')}"
    every = hours_or_minutes(timedelta(seconds=_seconds(p.analysis.get("interval", 60))))
    calls = []
    for step in p.steps:
        if step.weight < 100:
            calls.append(f"lambda:UpdateAlias {pattern} {p.alias} "
                         f"RoutingConfig.AdditionalVersionWeights={{NEW: {step.weight / 100:.2f}}}")
        else:
            calls.append(f"lambda:UpdateAlias {pattern} {p.alias} FunctionVersion=NEW RoutingConfig={{}}")
        if step.bake_s:
            calls.append(f"  bake {hours_or_minutes(timedelta(seconds=step.bake_s))}: every {every} "
                         f"GetMetricData by ExecutedVersion, triggers + canary-vs-stable judge")
    for trigger in p.triggers:
        shown = ", ".join(f"{k}={v}" for k, v in trigger.items() if v not in (None, [], {}))
        name = parse_criterion(trigger["criterion"]).metric if trigger.get("criterion") else None
        calls.append(f"  roll back on {shown}" + (f" ({name} = {p.metrics[name]})" if name in p.metrics else ""))
    return calls


KIND = StepKind("canary", CanaryParams, run, describe, compensate)
