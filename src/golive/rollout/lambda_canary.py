"""The Lambda canary: shift, bake, judge, and either promote or roll back.

The runbook's "shift 10%, monitor 10 minutes, if stable shift 50%, monitor
5, shift 100%" as a reconcile loop over the step's saved state. Each call
takes the next due action and returns when to come back:

- first, find the project's functions and, for each, the stable version
  (the alias's) and the canary (the newest version published above it; none
  is an error, never a guess); recorded before any traffic moves;
- shift: all functions of the project together (``UpdateAlias`` with
  ``AdditionalVersionWeights``; the last step moves ``FunctionVersion`` and
  clears the routing);
- bake: every analysis interval, over windows that end ``delay`` ago (Lambda
  metrics arrive late), the plan's rollback triggers on the canary version's
  own metrics (by ``ExecutedVersion``), open P0 incidents and trigger alarms,
  then the judge comparing canary with stable over the same minutes;
- Failed: roll back at once. Inconclusive at the end of a bake: extend it,
  up to ``max_extension``, then roll back. Error (metrics unreachable): roll
  back as soon as AWS answers, retrying; never forward.

``golive abort P`` and ``golive promote P --why`` are read from the store as
operator events. Every shift, analysis, promotion and rollback is an event
with its numbers, so a rollback always says which criterion, which value,
which threshold, which window.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from golive.analysis.cloudwatch import CloudWatchLambdaSource
from golive.analysis.criteria import parse_criterion
from golive.analysis.evaluate import CriterionSpec, evaluate
from golive.analysis.judge import Judgement, VersionSeries, config_for, judge
from golive.analysis.measurement import Outcome
from golive.analysis.metrics import Fetch, Scope, SeriesRequest, floor_minute, parse_metric_def
from golive.clock import parse_instant
from golive.engine.context import StepContext
from golive.engine.outcome import Done, Fail, Handler, Wait
from golive.engine.outcome import Outcome as StepOutcome
from golive.errors import ExternalError, GoliveError
from golive.providers.aws import Aws
from golive.rollout.alias import find_versions, restore, shift_all
from golive.rollout.functions import select_functions

RETRY = timedelta(seconds=30)


def _aws(ctx: StepContext) -> Aws:
    return ctx.services.aws(ctx.run.env, ctx.params.get("region"))


def _versions(ctx: StepContext) -> dict[str, dict[str, str]]:
    return {fn: dict(v) for fn, v in ctx.state["versions"].items()}


def _start(ctx: StepContext, aws: Aws) -> StepOutcome | None:
    p = ctx.params
    functions = select_functions(aws, p["functions"])
    expected = p["functions"].get("count")
    if not functions:
        return Fail(f"no Lambda functions match {p['functions']} in {p.get('region')}")
    if expected is not None and len(functions) != expected:
        return Fail(f"{len(functions)} functions match {p['functions']}, the plan expects {expected}: {functions}")
    versions = {}
    for fn in functions:
        try:
            stable, canary = find_versions(aws, fn, p["alias"])
        except GoliveError as exc:
            if isinstance(exc, ExternalError):
                raise
            return Fail(str(exc))
        versions[fn] = {"stable": stable, "canary": canary}
    ctx.state.update(versions=versions, index=0, phase="shift", started_at=ctx.now.isoformat(), weight=0.0,
                     consumed=[])
    ctx.save()
    ctx.event("canary", p["project"], {"project": p["project"], "versions": versions, "region": p.get("region")},
              outcome="versions")
    return None


def _operator_command(ctx: StepContext) -> tuple[str, dict[str, Any]] | None:
    consumed = set(ctx.state.get("consumed", []))
    since = parse_instant(ctx.state["started_at"])
    for event in ctx.store.events(release=ctx.run.release, env=ctx.run.env, kind="operator", since=since):
        if event.subject == ctx.params["project"] and event.id not in consumed and event.outcome in ("abort", "promote"):
            ctx.state["consumed"] = [*consumed, event.id]
            ctx.save()
            return event.outcome or "", event.data
    return None


def _rollback(ctx: StepContext, aws: Aws, reason: str) -> StepOutcome:
    p = ctx.params
    if ctx.state.get("phase") != "rolling_back":
        ctx.state.update(phase="rolling_back", rollback_reason=reason, rollback_asked_at=ctx.now.isoformat())
        ctx.save()
    try:
        seconds, confirmed = restore(aws, _versions(ctx), p["alias"])
    except ExternalError as exc:
        return Wait(ctx.now + RETRY, f"rollback pending, AWS did not answer ({exc}); retrying, never forward")
    ctx.state.update(phase="rolled_back", weight=0.0)
    evidence = {"project": p["project"], "reason": reason, "seconds": round(seconds, 3),
                "functions": [s.to_dict() for s in confirmed], "region": p.get("region"),
                "from_weight": ctx.state.get("last_weight")}
    ctx.save()
    ctx.event("rollback", p["project"], evidence, outcome="rolled_back")
    return Fail(f"{p['project']} rolled back: {reason}", evidence, rolled_back=True)


def _shift(ctx: StepContext, aws: Aws) -> StepOutcome:
    p = ctx.params
    step = p["steps"][ctx.state["index"]]
    weight = float(step["weight"])
    ctx.state["shift_intent"] = weight
    ctx.save()
    shift_all(aws, _versions(ctx), p["alias"], weight)
    ctx.state.update(weight=weight, last_weight=weight, shifted=True)
    if weight >= 100:
        ctx.state["phase"] = "promoted"
        ctx.save()
        ctx.event("canary", p["project"], {"project": p["project"], "weight": 100.0, "versions": _versions(ctx)},
                  outcome="promoted")
        return Done(f"{p['project']} promoted: {len(_versions(ctx))} functions on their new version",
                    {"project": p["project"], "versions": _versions(ctx)}, kind="canary", subject=p["project"])
    interval = timedelta(seconds=_interval_s(ctx))
    bake = timedelta(seconds=float(step.get("bake_s") or 0)) or interval
    first = _first_analysis(ctx, interval)
    ctx.state.update(phase="bake", bake_started=ctx.now.isoformat(), bake_until=(ctx.now + bake).isoformat(),
                     next_analysis=first.isoformat(), extended_s=0.0)
    ctx.save()
    ctx.event("canary", p["project"], {"project": p["project"], "weight": weight, "bake_s": bake.total_seconds(),
                                       "versions": _versions(ctx)}, outcome="shifted")
    return Wait(min(first, ctx.now + interval), f"{p['project']} at {weight:g}%, baking until {ctx.now + bake:%H:%M}")


def _first_analysis(ctx: StepContext, interval: timedelta) -> datetime:
    """The first look after a shift: as soon as the shift's minute is complete and its metrics delivered.

    Windows are whole minutes ending ``delay`` ago, so looking at shift + interval would read a window
    that ends before the shift; aligning to the minute boundary plus the delay reads the shift's minute
    at the earliest moment it can be read, and every later look comes one interval after the last.
    """
    delay = timedelta(seconds=_seconds(ctx.params["analysis"].get("delay", 60)))
    return max(floor_minute(ctx.now) + timedelta(minutes=1) + delay, ctx.now + interval)


def _interval_s(ctx: StepContext) -> float:
    return float(_seconds(ctx.params["analysis"].get("interval", 60)))


def _seconds(value: Any) -> float:
    if isinstance(value, int | float):
        return float(value)
    from golive.analysis.units import parse_duration

    return parse_duration(str(value)).total_seconds()


def _incident_trigger(ctx: StepContext) -> str | None:
    severities = {t["incident"] for t in ctx.params.get("triggers", []) if t.get("incident")}
    if not severities:
        return None
    batch = ctx.step.group.removeprefix("batch.").removeprefix("dr.")
    for incident in ctx.store.incidents(ctx.run.release, open_only=True):
        worse = int(incident.severity[1:]) <= max(int(s[1:]) for s in severities)
        scoped = incident.scope in (None, batch, ctx.params["project"])
        if worse and scoped and incident.env in (None, ctx.run.env):
            return f"open {incident.severity} incident #{incident.id}: {incident.title}"
    return None


def _alarm_trigger(ctx: StepContext, aws: Aws) -> str | None:
    names = [t["alarm"] for t in ctx.params.get("triggers", []) if t.get("alarm")]
    if not names:
        return None
    client = aws.client("cloudwatch")
    answer = aws.call("cloudwatch:DescribeAlarms", lambda: client.describe_alarms(AlarmNames=names))
    firing = [a["AlarmName"] for a in answer.get("MetricAlarms", []) if a.get("StateValue") == "ALARM"]
    return f"alarm {', '.join(firing)} in ALARM" if firing else None


def _trigger_specs(ctx: StepContext) -> list[CriterionSpec]:
    metrics = {n: parse_metric_def(m.lambda_, n) for n, m in ctx.services.plan.metrics.items()}
    specs = []
    for t in ctx.params.get("triggers", []):
        if t.get("criterion"):
            c = parse_criterion(t["criterion"])
            specs.append(CriterionSpec(criterion=c, metric=metrics[c.metric], trigger=True))
    return specs


def _series(fetched: Fetch, request: SeriesRequest, minutes: list[datetime], factor: float = 1.0) -> list[float]:
    values = fetched.get(request).values()
    return [values.get(m, 0.0) * factor for m in minutes]


def _judge(ctx: StepContext, source: CloudWatchLambdaSource, start: datetime, end: datetime,
           final: bool) -> tuple[Judgement | None, str | None]:
    versions = _versions(ctx)
    alias = ctx.params["alias"]
    minutes = []
    at = start
    while at < end:
        minutes.append(at)
        at += timedelta(minutes=1)
    if not minutes:
        return None, None
    requests: list[SeriesRequest] = []
    for fn, v in versions.items():
        for version in (v["canary"], v["stable"]):
            scope = Scope(fn, alias, version)
            requests += [SeriesRequest(scope, "invocations", "Sum"), SeriesRequest(scope, "errors", "Sum"),
                         SeriesRequest(scope, "duration", "p95")]
    fetched = source.fetch(requests, start, end)
    if fetched.error:
        return None, fetched.error
    canaries: list[VersionSeries] = []
    stables: list[VersionSeries] = []
    for fn, v in versions.items():
        for version, into in ((v["canary"], canaries), (v["stable"], stables)):
            scope = Scope(fn, alias, version)
            inv = _series(fetched, SeriesRequest(scope, "invocations", "Sum"), minutes)
            errors = _series(fetched, SeriesRequest(scope, "errors", "Sum"), minutes)
            p95 = fetched.get(SeriesRequest(scope, "duration", "p95")).values()
            durations = [p95[m] / 1000.0 if m in p95 else float("nan") for m in minutes]
            into.append(VersionSeries(scope.label, inv, {"errors": errors}, {"p95_duration": durations}))
    config = config_for(str(ctx.params["analysis"].get("false_rollbacks", "project")),
                        min_invocations=int(ctx.params["analysis"].get("min_invocations", 50)))
    return judge(canaries, stables, config, final=final), None


def _analyse(ctx: StepContext, aws: Aws) -> tuple[str, str, dict[str, Any]]:
    """One look at the canary: ('ok'|'fail'|'inconclusive'|'error', why, evidence)."""
    p = ctx.params
    delay = timedelta(seconds=_seconds(p["analysis"].get("delay", 60)))
    interval = timedelta(seconds=_interval_s(ctx))
    end = floor_minute(ctx.now - delay)
    canary_start = floor_minute(parse_instant(ctx.state["started_at"]))
    bake_start = floor_minute(parse_instant(ctx.state["bake_started"]))
    evidence: dict[str, Any] = {"project": p["project"], "weight": ctx.state.get("weight"),
                                "window": {"end": end.isoformat()}}
    why = _incident_trigger(ctx) or _alarm_trigger(ctx, aws)
    if why:
        return "fail", f"trigger: {why}", evidence
    source = CloudWatchLambdaSource(aws, ctx.services.clock, delay=delay, region=p.get("region"))
    specs = _trigger_specs(ctx)
    versions = _versions(ctx)
    scopes = [Scope(fn, p["alias"], v["canary"]) for fn, v in versions.items()]
    if specs and end > canary_start:
        measured = []
        for spec in specs:
            window = spec.criterion.window or interval
            start = max(canary_start, end - window)
            if end - start < window and spec.criterion.window is not None:
                continue  # a sustained trigger needs its whole window of canary data
            result = evaluate([spec], source, scopes, start, end)[0]
            measured.append(result.overall.to_dict())
            if result.outcome is Outcome.ERROR:
                return "error", f"metrics unavailable: {result.overall.message}", {**evidence, "triggers": measured}
            if result.outcome is Outcome.FAILED:
                return "fail", f"trigger {spec.criterion.text}: {result.overall.message}", \
                    {**evidence, "triggers": measured}
        evidence["triggers"] = measured
    if not p["analysis"].get("judge", True):
        return "ok", "triggers quiet (judge off)", evidence
    final = ctx.now >= parse_instant(ctx.state["bake_until"])
    judgement, error = _judge(ctx, source, bake_start, end, final)
    if error:
        return "error", f"metrics unavailable: {error}", evidence
    if judgement is None:
        return "inconclusive", "no complete minute of data yet", evidence
    evidence["judgement"] = judgement.to_dict()
    outcome = {Outcome.FAILED: "fail", Outcome.SUCCESSFUL: "ok", Outcome.INCONCLUSIVE: "inconclusive",
               Outcome.ERROR: "error"}[judgement.outcome]
    return outcome, f"judge: {judgement.reason}", evidence


def _bake(ctx: StepContext, aws: Aws) -> StepOutcome:
    p = ctx.params
    due = parse_instant(ctx.state["next_analysis"])
    if ctx.now < due:
        # Wake at least every interval, so an abort or promote from an operator is read promptly.
        wake = min(due, ctx.now + timedelta(seconds=_interval_s(ctx)))
        return Wait(wake, f"{p['project']} at {ctx.state['weight']:g}%, next analysis {due:%H:%M}")
    verdict, why, evidence = _analyse(ctx, aws)
    ctx.event("canary", p["project"], {**evidence, "verdict": verdict, "reason": why}, outcome="analysis")
    if verdict == "fail":
        return _rollback(ctx, aws, why)
    if verdict == "error":
        return _rollback(ctx, aws, f"fail safe: {why}")
    interval = timedelta(seconds=_interval_s(ctx))
    bake_until = parse_instant(ctx.state["bake_until"])
    if ctx.now >= bake_until:
        if verdict == "ok":
            ctx.state.update(index=ctx.state["index"] + 1, phase="shift")
            ctx.save()
            return Wait(ctx.now, "bake passed; shifting further")
        max_ext = _seconds(p["analysis"].get("max_extension", 600))
        if ctx.state.get("extended_s", 0.0) + interval.total_seconds() > max_ext:
            return _rollback(ctx, aws, f"fail safe: still inconclusive after extending the bake by "
                                       f"{ctx.state.get('extended_s', 0.0) / 60:g} min ({why})")
        ctx.state.update(bake_until=(bake_until + interval).isoformat(),
                         extended_s=ctx.state.get("extended_s", 0.0) + interval.total_seconds())
    ctx.state["next_analysis"] = (ctx.now + interval).isoformat()
    ctx.save()
    return Wait(ctx.now + interval, f"{p['project']} at {ctx.state['weight']:g}%: {verdict}")


def _canary(ctx: StepContext) -> StepOutcome:
    aws = _aws(ctx)
    phase = ctx.state.get("phase")
    if phase == "rolling_back":
        return _rollback(ctx, aws, ctx.state["rollback_reason"])
    if phase == "rolled_back":
        return Fail(f"{ctx.params['project']} rolled back: {ctx.state.get('rollback_reason')}", rolled_back=True)
    if phase == "promoted":
        return Done(f"{ctx.params['project']} promoted", kind="canary", subject=ctx.params["project"])
    if "versions" not in ctx.state:
        failed = _start(ctx, aws)
        if failed is not None:
            return failed
    command = _operator_command(ctx)
    if command is not None:
        kind, data = command
        if kind == "abort":
            return _rollback(ctx, aws, f"aborted by {data.get('by') or 'an operator'}: {data.get('why') or 'golive abort'}")
        ctx.state.update(index=len(ctx.params["steps"]) - 1, phase="shift")
        ctx.event("canary", ctx.params["project"], {"project": ctx.params["project"], **data}, outcome="promote_forced")
    try:
        if ctx.state["phase"] == "shift":
            return _shift(ctx, aws)
        return _bake(ctx, aws)
    except ExternalError as exc:
        return _rollback(ctx, aws, f"fail safe: AWS did not answer ({exc})")


def _compensate(ctx: StepContext, reason: str) -> None:
    """The batch stopped: put this project's shifted traffic back (the plan's rollback_shifted)."""
    if not ctx.params.get("rollback_shifted", True) or not ctx.state.get("shifted"):
        return
    if ctx.state.get("phase") == "rolled_back":
        return
    aws = _aws(ctx)
    ctx.state.update(phase="rolling_back", rollback_reason=reason)
    try:
        seconds, confirmed = restore(aws, _versions(ctx), ctx.params["alias"])
    except GoliveError as exc:
        ctx.event("rollback", ctx.params["project"], {"project": ctx.params["project"], "reason": reason,
                                                       "error": str(exc)}, outcome="rollback_failed")
        return
    ctx.state["phase"] = "rolled_back"
    ctx.event("rollback", ctx.params["project"], {"project": ctx.params["project"], "reason": reason,
                                                   "seconds": round(seconds, 3),
                                                   "functions": [s.to_dict() for s in confirmed]},
              outcome="rolled_back")


HANDLERS = [Handler("canary", _canary, compensate=_compensate)]
