"""Soak runs: checkpoints evaluated on time, with their numbers kept.

The runbook's 48-hour SIT soak is eight checkpoints a person looks at;
here each checkpoint is a step due at a fixed time (soak start + n × every).
When due (plus the metric delay) it evaluates the soak's criteria for every
function over its own window, runs the soak's checks (functions active,
alarms against the allow-list and those already firing at soak start, open
incidents), probes health URLs and, every ``smoke_every``, runs the smoke
commands. A checkpoint found overdue after golive was not running is
evaluated late, over its own window, and marked late. The evidence of each
checkpoint is written in the same transaction that marks it done, so no
checkpoint is ever evaluated twice.

A failed checkpoint fails the soak (the runbook's rule): the remaining
checkpoints are skipped and the verdict says which checkpoint failed and
why. In a release run the verdict is recorded and the go/no-go gate turns it
into NO-GO; a standalone soak run (``golive soak start``) ends failed.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from pydantic import Field

from golive import schedule
from golive.analysis.cloudwatch import CloudWatchLambdaSource
from golive.analysis.criteria import parse_criterion
from golive.analysis.evaluate import CriterionSpec, Evaluation, evaluate
from golive.analysis.measurement import MeasurementOutcome
from golive.analysis.metrics import Scope, parse_metric_def
from golive.analysis.units import hours_or_minutes
from golive.checks.base import CheckResult
from golive.checks.runner import run_checks
from golive.clock import parse_instant
from golive.engine.context import StepContext
from golive.engine.outcome import Done, Fail, Outcome, Wait
from golive.errors import GoliveError
from golive.evidence.runs import SoakVerdict
from golive.plan.model import Plan
from golive.plan.variables import expand, variables
from golive.providers import shell
from golive.providers.lambdas import LambdaClient
from golive.steps.alarm_baseline import firing
from golive.steps.checking import check_context
from golive.steps.checks import describe_check
from golive.steps.kind import StepKind, StepParams

METRIC_DELAY = timedelta(minutes=2)
LATE_AFTER = timedelta(minutes=10)


def soak_meta(ctx: StepContext, env: str) -> dict[str, Any]:
    return dict(ctx.run.meta.get("soak", {}).get(env, {}))


def _update_meta(ctx: StepContext, env: str, **values: Any) -> None:
    meta = dict(ctx.run.meta)
    soaks = dict(meta.get("soak", {}))
    soaks[env] = {**soaks.get(env, {}), **values}
    meta["soak"] = soaks
    if "alarms_at_start" in values:
        # A run that recorded its alarms when it started keeps them: the soak compares with the same start.
        at_start = dict(meta.get("alarms_at_start", {}))
        at_start.setdefault(env, values["alarms_at_start"])
        meta["alarms_at_start"] = at_start
    ctx.store.set_run(ctx.run.id, ctx.now, meta=meta)
    ctx.run = replace(ctx.run, meta=meta)


def _alarms_in_alarm(ctx: StepContext, env: str) -> list[str]:
    return firing(ctx.services.aws(env))


def run_start(ctx: StepContext, params: SoakStartParams) -> Outcome:
    env = params.env
    started = ctx.state.get("started_at") or ctx.now.isoformat()
    alarms = _alarms_in_alarm(ctx, env) if ctx.services.aws_for is not None else []
    ctx.state["started_at"] = started
    _update_meta(ctx, env, start=started, alarms_at_start=alarms, failed_at=None)
    ends = parse_instant(started) + timedelta(seconds=params.duration_s)
    return Done(f"{env} soak started; {params.checkpoints} checkpoints; ends {schedule.local(ends)}",
                {"env": env, "started_at": started, "alarms_at_start": alarms, "ends_at": ends.isoformat()})


def criterion_specs(definitions: dict[str, str], entries: list[dict[str, Any]]) -> list[CriterionSpec]:
    metrics = {name: parse_metric_def(text, name) for name, text in definitions.items()}
    specs = []
    for entry in entries:
        criterion = parse_criterion(entry["criterion"])
        specs.append(CriterionSpec(criterion=criterion, metric=metrics[criterion.metric],
                                   aggregate=entry.get("scope") == "aggregate", dry_run=bool(entry.get("dry_run"))))
    return specs


def soak_selectors(plan: Plan, env: str) -> list[dict[str, Any]]:
    """The function selectors of every project with a Lambda canary, expanded for one environment."""
    out = []
    for project in plan.projects.values():
        canary = project.rollout.lambda_canary if project.rollout else None
        if canary is not None:
            out.append(expand(canary.functions.model_dump(exclude_none=True), variables(plan, env)))
    return out


def _evaluate_criteria(ctx: StepContext, params: CheckpointParams, start: datetime,
                       end: datetime) -> tuple[list[Evaluation], str]:
    env = params.env
    specs = criterion_specs(params.metrics, params.criteria)
    if not specs:
        return [], ""
    aws = ctx.services.aws(env)
    lam = LambdaClient(aws)
    functions: list[str] = []
    for selector in params.functions:
        functions += lam.select(selector)
    if not functions:
        return [], "no Lambda functions found to evaluate"
    source = CloudWatchLambdaSource(aws, ctx.services.clock)
    return evaluate(specs, source, [Scope(f) for f in functions], start, end, resolution=None), ""


def _smoke(ctx: StepContext, argv: list[str]) -> dict[str, Any]:
    workdir = Path(ctx.services.extras.get("workdir", "."))
    try:
        result = shell.run(argv, timeout=300, cwd=str(workdir))
    except GoliveError as exc:
        return {"argv": argv, "ok": False, "summary": str(exc)}
    output = ctx.services.redact((result.stdout + result.stderr)[-2000:])
    return {"argv": argv, "ok": result.ok, "exit_code": result.exit_code, "output": output,
            "summary": "passed" if result.ok else f"exit {result.exit_code}"}


def run_checkpoint(ctx: StepContext, params: CheckpointParams) -> Outcome:
    env, index, of = params.env, params.index, params.of
    meta = soak_meta(ctx, env)
    if not meta.get("start"):
        return Fail(f"the {env} soak has not started")
    if meta.get("failed_at"):
        return Done(f"skipped: the soak failed at checkpoint {meta['failed_at']}", {"skipped": True}, outcome="skip")
    start = parse_instant(meta["start"])
    due = start + timedelta(seconds=params.offset_s)
    evaluate_at = due + METRIC_DELAY
    if ctx.now < evaluate_at:
        return Wait(evaluate_at, f"checkpoint {index} of {of} due {schedule.local(due, fmt='%H:%M')}")
    late = ctx.now > evaluate_at + LATE_AFTER
    window_start = due - timedelta(seconds=params.window_s)
    failures: list[str] = []
    evaluations, note = _evaluate_criteria(ctx, params, window_start, due)
    if note:
        failures.append(note)
    window = f"window {window_start:%b %d %H:%M}–{due:%H:%M}, +{_hours_since(meta['start'], window_start)}.." \
             f"+{_hours_since(meta['start'], due)}"
    for ev in evaluations:
        if ev.spec.dry_run:
            continue
        if ev.outcome is MeasurementOutcome.FAILED:
            failures.append(f"{ev.spec.criterion.text}: {ev.overall.message} ({window})")
        elif ev.outcome is MeasurementOutcome.ERROR:
            failures.append(f"{ev.spec.criterion.text}: could not be measured ({ev.overall.message})")
    checks = [*params.checks, *({"kind": "http", "params": {"url": u}} for u in params.health)]
    alarms_start = frozenset(meta.get("alarms_at_start", []))
    results: list[CheckResult] = run_checks(checks, lambda e: check_context(ctx.services, e or env, alarms_start))
    failures += [f"{r.check} {r.target}: {r.summary}" for r in results if not r.ok]
    smoke = [_smoke(ctx, argv) for argv in params.smoke]
    failures += [f"smoke {' '.join(s['argv'])}: {s['summary']}" for s in smoke if not s["ok"]]
    passed = not failures
    data = {
        "env": env, "index": index, "of": of, "due_at": due.isoformat(), "evaluated_at": ctx.now.isoformat(),
        "late": late, "window": {"start": window_start.isoformat(), "end": due.isoformat()},
        "criteria": [_marked(e.to_dict(), late) for e in evaluations], "checks": [r.to_dict() for r in results],
        "smoke": smoke, "failures": failures,
    }
    if not passed:
        _update_meta(ctx, env, failed_at=index, failures=failures)
    late_note = " (late)" if late else ""
    summary = f"checkpoint {index} of {of}{late_note}: " + ("pass" if passed else "FAIL: " + "; ".join(failures))
    return Done(summary, data, outcome="pass" if passed else "fail", kind="checkpoint",
                subject=f"{env} checkpoint {index} of {of}")


def _marked(evaluation: dict[str, Any], late: bool) -> dict[str, Any]:
    """An evaluation's measurements carry the checkpoint's lateness too (they are read on their own)."""
    for measurement in [evaluation["overall"], *evaluation["per_scope"]]:
        measurement["late"] = late
    return evaluation


def _hours_since(start: str, at: datetime) -> str:
    hours = (at - parse_instant(start)).total_seconds() / 3600
    return f"{hours:g}h"



def run_end(ctx: StepContext, params: SoakEndParams) -> Outcome:
    env = params.env
    meta = soak_meta(ctx, env)
    failed_at = meta.get("failed_at")
    n = params.checkpoints
    data = {"env": env, "checkpoints": n, "passed": n if not failed_at else failed_at - 1, "failed_at": failed_at,
            "reasons": meta.get("failures", [])}
    if failed_at:
        summary = f"{env} soak FAILED at checkpoint {failed_at} of {n}: " + "; ".join(meta.get("failures", []))
        if params.standalone:
            ctx.store.append_record(SoakVerdict.from_data(f"{env} soak", "fail", data), release=ctx.run.release,
                                    env=env, run_id=ctx.run.id, step_key=ctx.step.key, at=ctx.now)
            return Fail(summary, data)
        return Done(summary, data, outcome="fail", kind="soak", subject=f"{env} soak")
    return Done(f"{env} soak passed: {n} of {n} checkpoints", data, outcome="pass", kind="soak", subject=f"{env} soak")


class SoakStartParams(StepParams):
    env: str
    duration_s: float
    every_s: float
    checkpoints: int


class CheckpointParams(StepParams):
    env: str
    index: int
    of: int
    offset_s: float  # due this long after the soak started
    window_s: float  # the criteria are judged over the window ending at the due time
    criteria: list[dict[str, Any]] = Field(default_factory=list)  # CriterionEntry dumps: criterion, dry_run, scope
    checks: list[dict[str, Any]] = Field(default_factory=list)
    health: list[str] = Field(default_factory=list)
    smoke: list[list[str]] = Field(default_factory=list)
    metrics: dict[str, str] = Field(default_factory=dict)  # the criteria's metrics: name -> the plan's lambda expression
    functions: list[dict[str, Any]] = Field(default_factory=list)  # the canary projects' function selectors, expanded


class SoakEndParams(StepParams):
    env: str
    checkpoints: int
    standalone: bool = False  # no gate reads this verdict: a failed soak fails the run itself


def describe_start(params: SoakStartParams) -> list[str]:
    return [f"record soak start; snapshot alarms already in ALARM in {params.env}"]


def describe_checkpoint(params: CheckpointParams) -> list[str]:
    every = hours_or_minutes(timedelta(seconds=params.window_s))
    criteria = [f"  {c['criterion']}" + "".join(f" ({name} = {text})" for name, text in params.metrics.items()
                                               if name == parse_criterion(c["criterion"]).metric)
                for c in params.criteria]
    return [f"cloudwatch:GetMetricData {len(params.criteria)} criteria per function over the last {every}", *criteria,
            *(describe_check(c) for c in params.checks), *(f"GET {u}" for u in params.health),
            *(" ".join(a) for a in params.smoke)]


def describe_end(params: SoakEndParams) -> list[str]:
    return ["all checkpoints passed → soak passed"]


START = StepKind("soak_start", SoakStartParams, run_start, describe_start)
CHECKPOINT = StepKind("soak_checkpoint", CheckpointParams, run_checkpoint, describe_checkpoint)
END = StepKind("soak_end", SoakEndParams, run_end, describe_end)
