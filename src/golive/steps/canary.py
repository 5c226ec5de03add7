"""The canary: shift, bake, judge, and either promote or roll back, over whatever router splits the traffic.

The runbook's "shift 10%, monitor 10 minutes, if stable shift 50%, monitor 5, shift 100%" as a reconcile
loop over the step's saved state (``steps/canary_state.py``). It drives a ``TrafficRouter``
(``routers/base.py``, built from the parameters by ``routers/for_params.py``) and reads metrics only through
it, so a Lambda alias, an API Gateway stage or a CloudFront distribution are canaried alike. Each call takes
the next due action and returns when to come back:

- first, ``discover``: each target's stable and new variant, recorded before any traffic moves (none new is
  an error, never a guess); targets the deploy left alone are listed as unchanged, and a deploy that moved the
  traffic itself is said in one line and watched at 100%;
- gate: before every weight change, the first and a single-step 100% one included, open incidents at the
  plan's severity, the trigger alarms, new alarms (``alarms: new``: in ALARM now and not when the run started,
  minus the allow-list), the health URLs and the last analysis (``steps/canary_signals.py``); any of them and
  the canary rolls back (or, before the first shift, stays where it is), never forward;
- shift: every target together (``set_weight``; the last step ``promote``s), its intent saved first;
- at each shift, the calls each criterion will get at this weight (``analysis.canary_sample``), recorded;
- bake: every analysis interval one look (``steps/canary_look.py``), one line in words
  (``analysis.look_line``);
- Failed: roll back at once (``steps/restore.py``, the one rollback). Inconclusive at the end of a bake:
  extend it, up to ``max_extension``, then the plan's ``on_inconclusive`` (``steps/canary_inconclusive``:
  pause by default, rollback, promote). AWS not answering mid-bake is inconclusive at once; never forward.

``golive abort P`` and ``golive promote P --why`` are read from the store as operator events. Every shift,
analysis, promotion and rollback is an event with its numbers, so a rollback always says which criterion,
which value, which threshold, which window.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from golive.analysis.canary_sample import sample_from
from golive.analysis.criteria import parse_criterion
from golive.analysis.history import history_requests
from golive.analysis.look_fetch import LookSource
from golive.analysis.look_line import line as look_line
from golive.analysis.metrics import MetricSource, floor_minute
from golive.analysis.sample import SAMPLE_MINUTES, traffic_requests
from golive.analysis.units import hours_or_minutes
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
from golive.routers.base import RoutesHeader, TrafficRouter, Variants
from golive.routers.for_params import router_for
from golive.steps import canary_inconclusive, restore
from golive.steps.canary_look import analyse, history_quantiles, judge_config, read_history, sampled_params, site_reads
from golive.steps.canary_params import CanaryParams, CanaryStep
from golive.steps.canary_signals import alarm_trigger, alarms_at_start, incident_trigger, probe_health
from golive.steps.canary_state import CanaryState, Phase
from golive.steps.kind import StepKind

__all__ = ["KIND", "CanaryParams", "CanaryStep", "compensate", "describe", "run"]

RETRY = timedelta(seconds=30)  # asking AWS again while a pause, or an outage the plan promotes after, waits


@dataclass
class Canary:
    """One pass of one canary: its context, parameters, state, router, and how to reach AWS for its alarms."""

    ctx: StepContext
    p: CanaryParams
    s: CanaryState
    router: TrafficRouter
    aws: Callable[[], Aws]  # one connection a pass, shared with the router (an assumed role is assumed once)

    def save(self) -> None:
        self.s.store(self.ctx.state)
        self.ctx.save()

    @property
    def versions(self) -> dict[str, dict[str, str]]:
        return {t: dict(v) for t, v in (self.s.versions or {}).items()}

    @property
    def noun(self) -> str:
        return "functions" if self.router.kind == "lambda_alias" else "targets"

    # -- the start -------------------------------------------------------------------------------------------

    def start(self) -> Outcome | None:
        ctx, p, s = self.ctx, self.p, self.s
        try:
            found = self.router.discover()
        except GoliveError as exc:
            if isinstance(exc, ExternalError):
                raise
            return Fail(str(exc))
        if found.moved:
            earlier = self.promoted_before(found.changed)
            if earlier is not None:
                first = found.changed[0]
                return Fail(f"{first.target}: no version newer than {first.canary} (the one its traffic is on, "
                            f"which golive promoted in run #{earlier}) was published; did the deploy run?")
        if p.new_versions == "all" and found.unchanged:
            left = ", ".join(f"{u.target} (v{u.version})" for u in found.unchanged)
            return Fail(f"{p.project}: no new version of {left}; the plan says new_versions: all")
        s.versions = {v.target: {"stable": v.stable, "canary": v.canary} for v in found.changed}
        if found.unchanged:
            s.unchanged = {u.target: u.version for u in found.unchanged}
        if found.moved:
            s.moved = found.moved
        s.index, s.phase, s.started_at, s.weight, s.consumed = 0, Phase.SHIFT, ctx.now, 0.0, []
        s.alarms_at_start = alarms_at_start(ctx, p, self.aws)
        self.save()
        ctx.record(CanaryVersions(subject=p.project, project=p.project, versions=self.versions, region=p.region,
                                  unchanged=dict(s.unchanged) or None, moved=s.moved))
        return None

    def promoted_before(self, variants: Sequence[Variants]) -> int | None:
        """The earlier run of this release whose canary of this project promoted every one of ``variants``: then
        the traffic was moved by golive, not by the deploy (a release run again within the hour)."""
        ctx = self.ctx
        wanted = {(v.target, v.canary) for v in variants}
        for earlier in reversed(ctx.store.runs(ctx.run.release, ctx.run.env)):
            if earlier.id == ctx.run.id:
                continue
            for step in ctx.store.steps(earlier.id):
                if step.kind != "canary" or step.params.get("project") != self.p.project \
                        or step.state.get("phase") != Phase.PROMOTED:
                    continue
                promoted = {(t, str(v.get("canary"))) for t, v in dict(step.state.get("versions") or {}).items()}
                if wanted <= promoted:
                    return earlier.id
        return None

    def unchanged_text(self) -> str:
        shown = ", ".join(f"{t} unchanged (v{v})" for t, v in self.s.unchanged.items())
        return f"; {shown}" if shown else ""

    def operator_command(self) -> tuple[str, dict[str, Any]] | None:
        ctx, p, s = self.ctx, self.p, self.s
        consumed = set(s.consumed)
        for event in ctx.store.events(release=ctx.run.release, env=ctx.run.env, kind="operator", since=s.started_at):
            if (event.subject == p.project and event.id not in consumed and event.outcome in ("abort", "promote")
                    and event.data.get("step") in (None, ctx.step.key)):
                s.consumed = [*s.consumed, event.id]
                self.save()
                return event.outcome or "", event.data
        return None

    # -- rolling back ----------------------------------------------------------------------------------------

    def restore(self, reason: str, asked_by: str, *, waiting: restore.Waiting | None) -> RolledBack | RollbackFailed:
        routed = restore.Routed(self.router, self.s.variants)
        ask = restore.Ask(project=self.p.project, reason=reason, asked_by=asked_by, region=self.p.region,
                          from_weight=self.s.from_weight)
        return restore.restore(routed, ask, waiting=waiting)

    def ask_rollback(self, reason: str) -> None:
        if self.s.phase is not Phase.ROLLING_BACK:
            self.s.phase, self.s.rollback_reason, self.s.rollback_asked_at = Phase.ROLLING_BACK, reason, self.ctx.now
            self.save()

    def rollback(self, reason: str) -> Outcome:
        """The canary's own failure: the intent (and its reason) saved first, so a resumed handler finishes this
        rollback and fails instead of baking on; AWS not answering is the engine's to retry, never forward."""
        p = self.p
        self.ask_rollback(reason)
        if p.undo_after_dependents:  # rollback_dependents: the engine undoes the projects that depend on this one first
            return Fail(f"{p.project} failed: {reason}", {"rollback": "after the projects that depend on it"},
                        undo_self=True)
        record = self.restore(reason, "canary", waiting=None)
        # The record, the state and the failure are written together by the engine as this returns.
        self.ctx.record(record)
        if isinstance(record, RollbackFailed):
            return Fail(f"{p.project} could not be rolled back: {record.error} ({reason})", record.to_data())
        self.s.phase, self.s.weight = Phase.ROLLED_BACK, 0.0
        return Fail(f"{p.project} rolled back: {reason}", record.to_data(), rolled_back=True)

    # -- shifting --------------------------------------------------------------------------------------------

    def gate(self) -> str | None:
        """Why the canary must not move forward now, or None: the signals every weight change is gated on."""
        s, p = self.s, self.p
        if s.index > 0 and not s.forced and s.last_verdict != "ok":
            return f"the last analysis was {s.last_verdict or 'missing'}"
        why = incident_trigger(self.ctx, p) or alarm_trigger(self.aws, p.triggers, s.alarms_at_start)
        if why:
            return why
        down = [f"{url} answered {status}" for url, status in probe_health(self.ctx, p, s, record=False).items()
                if status not in p.http_ok]
        return f"health: {'; '.join(down)}" if down else None

    def promoted(self, text: str) -> Outcome:
        p = self.p
        self.s.phase = Phase.PROMOTED
        self.save()
        self.ctx.record(CanaryPromoted(subject=p.project, project=p.project, weight=100.0, versions=self.versions))
        return Done(text + self.unchanged_text(), {"project": p.project, "versions": self.versions}, kind="canary",
                    subject=p.project)

    def shift(self) -> Outcome:
        ctx, p, s = self.ctx, self.p, self.s
        if s.moved:
            return self.watch()
        step = p.steps[s.index]
        weight = 0.0 if step.header else step.weight
        blocked = self.gate()
        if blocked:
            ctx.record(CanaryGateBlocked(subject=p.project, project=p.project, weight=s.weight, next_weight=weight,
                                         reason=blocked))
            return self.rollback(f"not shifted to {weight:g}%: {blocked}")
        s.shift_intent = weight
        self.save()
        if step.header:
            if not isinstance(self.router, RoutesHeader):
                return Fail(f"{p.project}: a {self.router.kind} canary has no header step")
            self.router.route_header(s.variants)
        elif weight >= 100:
            self.router.promote(s.variants)
        else:
            self.router.set_weight(s.variants, weight)
        s.weight, s.last_weight, s.shifted = weight, weight, True
        if weight >= 100:
            return self.promoted(f"{p.project} promoted: {len(self.versions)} {self.noun} on their new version")
        interval = p.interval
        bake = timedelta(seconds=p.steps[s.index].bake_s) or interval
        first = self.first_analysis(interval)
        self.begin_bake(bake, first)
        ctx.record(CanaryShifted(subject=p.project, project=p.project, weight=weight, bake_s=bake.total_seconds(),
                                 versions=self.versions))
        if not step.header:  # only the probes reach staging: no criterion is sampled at the header step
            self.record_sample(weight)
        at = "on the staging header only" if step.header else f"at {weight:g}%"
        return Wait(min(first, ctx.now + interval), f"{p.project} {at}, baking until {ctx.now + bake:%H:%M}")

    def begin_bake(self, bake: timedelta, first: datetime) -> None:
        s, now = self.s, self.ctx.now
        s.phase, s.bake_started, s.bake_until, s.next_analysis = Phase.BAKE, now, now + bake, first
        s.extended_s, s.health, s.last_verdict, s.forced = 0.0, {}, None, False
        self.save()

    def watch(self) -> Outcome:
        """The deploy moved the traffic itself: no shift, the triggers watched at 100% for the plan's whole bake."""
        ctx, p, s = self.ctx, self.p, self.s
        if s.shifted:
            return self.promoted(f"{p.project}: watched at 100% after the deploy moved the traffic; "
                                 f"{len(self.versions)} {self.noun} kept on their new version")
        s.weight, s.last_weight, s.shifted, s.index = 100.0, 100.0, True, len(p.steps) - 1
        interval = p.interval
        bake = timedelta(seconds=sum(step.bake_s for step in p.steps)) or interval
        first = self.first_analysis(interval)
        self.begin_bake(bake, first)
        return Wait(min(first, ctx.now + interval), f"{p.project}: {s.moved}; watching until {ctx.now + bake:%H:%M}")

    def record_sample(self, weight: float) -> None:
        """The calls each criterion will get at this weight, from the stable variants' last hour (``analysis.sample``).

        At the first shift that hour is the judge's history too (when the plan's ``history`` is the hour): asked in
        the sample's one call, so the canary's first look asks only for its own window.
        """
        p, s, clock = self.p, self.s, self.ctx.services.clock
        source: MetricSource = self.router.metrics(clock, p.delay)
        pairs = self.router.scopes(s.variants)
        stables = [stable for _canary, stable in pairs]
        config = judge_config(p)
        quantiles = history_quantiles(config) if config is not None else None
        if s.history is None and config is not None and quantiles is not None and \
                p.seconds("history", 3600) == SAMPLE_MINUTES * 60:
            end = floor_minute(clock.now() - p.delay)
            look = LookSource(source, end - timedelta(minutes=SAMPLE_MINUTES), end)
            try:
                look.prefetch([*traffic_requests(stables, SAMPLE_MINUTES),
                               *history_requests(stables, SAMPLE_MINUTES * 60, quantiles)])
                read_history(config, p, s, pairs, look, end)
            except GoliveError:
                pass  # the sample below says why it could not look; the first look reads the history again
            else:
                self.save()
                source = look
        samples, error = sample_from(source, clock, sampled_params(p), stables)
        here = [sample for sample in samples if sample.weight == weight]
        self.ctx.record(CanarySample(subject=p.project, project=p.project, weight=weight,
                                     lines=tuple(sample.line() for sample in here),
                                     cannot_decide=tuple(sample.line() for sample in here if not sample.decides),
                                     error=error))

    def first_analysis(self, interval: timedelta) -> datetime:
        """The first look after a shift: as soon as the shift's minute is complete and its metrics delivered.

        Windows are whole minutes ending ``delay`` ago, so looking at shift + interval would read a window
        that ends before the shift; aligning to the minute boundary plus the delay reads the shift's minute
        at the earliest moment it can be read, and every later look comes one interval after the last.
        """
        now = self.ctx.now
        return max(floor_minute(now) + timedelta(minutes=1) + self.p.delay, now + interval)

    # -- baking ----------------------------------------------------------------------------------------------

    def bake(self) -> Outcome:
        ctx, p, s = self.ctx, self.p, self.s
        assert s.next_analysis is not None and s.bake_until is not None
        due = s.next_analysis
        probe_health(ctx, p, s)
        self.save()
        interval = p.interval
        if ctx.now < due:
            # Wake at least every interval, so an abort or promote from an operator is read promptly.
            return Wait(min(due, ctx.now + interval), f"{p.project} at {s.weight:g}%, next analysis {due:%H:%M}")
        verdict, why, evidence = analyse(ctx, p, s, self.router, self.aws)
        said = look_line(p.project, s.weight, verdict, why, evidence.get("judgement"))
        ctx.record(CanaryAnalysis.from_data(p.project, "analysis", {**evidence, "verdict": verdict, "reason": why,
                                                                    "line": said}))
        s.last_verdict = verdict
        if verdict == "fail":
            return self.rollback(why)
        if verdict == "error":
            return self.on_inconclusive(f"AWS did not answer: {why}", outage=True)
        if s.outage:
            return self.on_inconclusive(f"AWS answered again after: {s.outage}")
        if ctx.now >= s.bake_until:
            if verdict == "ok":
                s.index, s.phase = s.index + 1, Phase.SHIFT
                self.save()
                return Wait(ctx.now, "bake passed; shifting further")
            max_ext = p.seconds("max_extension", 600)
            if s.extended_s + interval.total_seconds() > max_ext:
                return self.on_inconclusive(f"still inconclusive after extending the bake by "
                                            f"{s.extended_s / 60:g} min ({why})")
            s.bake_until, s.extended_s = s.bake_until + interval, s.extended_s + interval.total_seconds()
        s.next_analysis = ctx.now + interval
        self.save()
        return Wait(ctx.now + interval, f"{p.project} at {s.weight:g}%: {verdict}")

    def on_inconclusive(self, why: str, *, outage: bool = False) -> Outcome:
        """The plan's ``on_inconclusive`` for a canary that could not decide (``steps/canary_inconclusive``)."""
        return self.act(canary_inconclusive.apply(self.ctx, self.s, self.p.project, self.p.analysis, why,
                                                  outage=outage))

    def act(self, action: canary_inconclusive.Action) -> Outcome:
        ctx, p, s = self.ctx, self.p, self.s
        if action.kind == "rollback":
            return self.rollback(f"fail safe: {action.reason}")
        if action.kind == "promote":
            s.index, s.phase, s.forced = s.index + 1, Phase.SHIFT, True
            self.save()
            return Wait(ctx.now, f"{p.project}: {action.reason}; shifting further")
        if action.kind == "wait":
            s.next_analysis = ctx.now + RETRY
            self.save()
            return Wait(ctx.now + RETRY, f"{p.project}: {action.reason}")
        until = action.until or ctx.now
        return Wait(min(until, ctx.now + p.interval), f"{p.project}: {action.reason}")

    def paused(self) -> Outcome:
        """A paused canary: an incident or alarm trigger still rolls it back; otherwise it waits for an operator."""
        why = incident_trigger(self.ctx, self.p) or alarm_trigger(self.aws, self.p.triggers, self.s.alarms_at_start)
        if why:
            return self.rollback(f"trigger while paused: {why}")
        return self.act(canary_inconclusive.paused(self.ctx, self.s, self.p.analysis))

    # -- one pass --------------------------------------------------------------------------------------------

    def run(self) -> Outcome:
        p, s = self.p, self.s
        if s.phase is Phase.ROLLING_BACK:
            return self.rollback(s.rollback_reason or "")
        if s.phase is Phase.ROLLED_BACK:
            return Fail(f"{p.project} rolled back: {s.rollback_reason}", rolled_back=True)
        if s.phase is Phase.PROMOTED:
            return Done(f"{p.project} promoted", kind="canary", subject=p.project)
        if not s.started:
            failed = self.start()
            if failed is not None:
                return failed
        command = self.operator_command()
        if command is not None:
            kind, data = command
            if kind == "abort":
                return self.rollback(f"aborted by {data.get('by') or 'an operator'}: "
                                     f"{data.get('why') or 'golive abort'}")
            s.index, s.phase, s.forced = len(p.steps) - 1, Phase.SHIFT, True
            self.ctx.record(CanaryPromoteForced.from_data(p.project, "promote_forced", {"project": p.project, **data}))
        try:
            if s.phase is Phase.SHIFT:
                return self.shift()
            if s.phase is Phase.PAUSED:
                return self.paused()
            return self.bake()
        except ExternalError as exc:
            if s.phase is Phase.ROLLING_BACK:
                raise  # the rollback itself met no answer: the engine tries the step again, on the retry budget
            if s.phase is Phase.BAKE:
                return self.on_inconclusive(f"AWS did not answer ({exc})", outage=True)
            if s.phase is Phase.PAUSED:
                return Wait(self.ctx.now + RETRY, f"{p.project}: paused; AWS did not answer ({exc}), asking again")
            return self.rollback(f"fail safe: AWS did not answer ({exc})")

    def compensate(self, reason: str) -> None:
        s = self.s
        if not self.p.rollback_shifted and self.ctx.owed_for == "batch":
            return
        if s.phase in (Phase.ROLLED_BACK, Phase.ROLLBACK_FAILED) or not s.started:
            return
        if not s.may_have_moved and s.phase is not Phase.ROLLING_BACK:
            return
        if s.phase is Phase.PROMOTED and not self.router.restores_promoted:
            return  # nothing this router can put back: the project's undo redeploys its previous build
        reason = s.rollback_reason or reason
        self.ask_rollback(reason)
        asked_by = {"dependency": "dependency", "self": "canary"}.get(self.ctx.owed_for, "compensation")
        record = self.restore(reason, asked_by, waiting=restore.Waiting.of(self.ctx.services, self.ctx.run.env))
        if isinstance(record, RolledBack):
            s.phase, s.weight = Phase.ROLLED_BACK, 0.0
        else:
            s.phase = Phase.ROLLBACK_FAILED
        self.ctx.record(record)
        self.save()


def _canary(ctx: StepContext, p: CanaryParams, router: TrafficRouter | None) -> Canary:
    s = CanaryState.load(ctx.state)
    connect = functools.cache(lambda: ctx.services.aws(ctx.run.env, p.region))
    if router is None:
        router = router_for(p, connect, ctx.services.clock)
    return Canary(ctx, p, s, router, connect)


def run(ctx: StepContext, p: CanaryParams, router: TrafficRouter | None = None) -> Outcome:
    """One pass of the canary; ``router`` is the parameters' own unless one is passed in (a test's fake)."""
    canary = _canary(ctx, p, router)
    try:
        return canary.run()
    finally:
        canary.s.store(ctx.state)


def compensate(ctx: StepContext, p: CanaryParams, reason: str, router: TrafficRouter | None = None) -> None:
    """Put this project's shifted traffic back: its batch stopped (the plan's rollback_shifted), a project it
    depends on failed (rollback_dependents), or it failed itself and waited for its dependents' undos.

    Idempotent: the engine calls it again after a crash until it returns. The record and the state that says
    it is done are written in one transaction (``ctx.save``), so a second call finds it done and records
    nothing twice; before that, a second call restores again (a split already on stable reads back so).
    """
    canary = _canary(ctx, p, router)
    try:
        canary.compensate(reason)
    finally:
        canary.s.store(ctx.state)


def describe(p: CanaryParams) -> list[str]:
    router = router_for(p, None, None)
    every = hours_or_minutes(p.interval)
    calls = router.describe([])  # what discover does, for a router that does more than read (CloudFront)
    stage = p.apigw_stage.stage if p.apigw_stage is not None else None
    by = "AWS/CloudFront by DistributionId (us-east-1)" if p.cloudfront is not None else \
        f"by Stage {stage} and {stage}/Canary" if stage is not None else "by ExecutedVersion"
    for step in p.steps:
        calls += router.describe([0.0] if step.header else [step.weight])
        if step.bake_s:
            watched = "health + triggers (only the probes reach staging: no judge)" if step.header else \
                "triggers + canary-vs-stable judge"
            calls.append(f"  bake {hours_or_minutes(timedelta(seconds=step.bake_s))}: every {every} "
                         f"GetMetricData {by}, {watched}")
    for trigger in p.triggers:
        if p.cloudfront is not None and trigger.get("criterion") and not site_reads(p, trigger["criterion"]):
            continue
        shown = ", ".join(f"{k}={v}" for k, v in trigger.items() if v not in (None, [], {}))
        name = parse_criterion(trigger["criterion"]).metric if trigger.get("criterion") else None
        calls.append(f"  roll back on {shown}" + (f" ({name} = {p.metrics[name]})" if name in p.metrics else ""))
    if p.new_versions == "all":
        calls.append("  every selected function must have a new version (new_versions: all)")
    return calls


KIND = StepKind("canary", CanaryParams, run, describe, compensate)
